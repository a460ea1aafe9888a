import { PassThrough, Readable, Transform } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { DownloadFiles } from './download-files.js';
import type { DownloadStorage } from './download-storage.js';
import { messageOf } from '../platform/errors.js';

/**
 * Download files in S3 or an S3-compatible store (DOWNLOADS_URL=s3://bucket/prefix), through the
 * AWS SDK v3 with its usual variables (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, …)
 * and DOWNLOADS_S3_ENDPOINT for another store (path-style addressing then).
 *
 * - A file is `<prefix><tenant>/<id>.csv`: a job run again writes the same key.
 * - The CSV is streamed into a multipart upload of PART_BYTES parts, QUEUE_SIZE at a time, so a
 *   worker holds at most a few parts of it whatever the file's size (5 MB parts, S3's smallest:
 *   files up to 48 GB in S3's 10,000 parts, far above DOWNLOADS_MAX_STORED_BYTES_PER_TENANT). The
 *   object exists only once the upload completes; a failed upload is aborted.
 * - An upload left by a worker that died (kill -9) is aborted by whoever runs the job again
 *   (before it starts its own), and any older than a day under the prefix at every start.
 */
export interface S3StorageOptions {
  url: URL;
  endpoint?: string;
  region?: string;
  /** Attempts per S3 request, the first included (DOWNLOADS_S3_MAX_ATTEMPTS). */
  maxAttempts?: number;
  partBytes?: number;
  queueSize?: number;
  /** A client to use instead of one built from the options (tests). */
  client?: S3Client;
}

const PART_BYTES = 5 * 1024 * 1024;
/**
 * One part in flight while the next is filled. Measured with `make bench-export` (2M rows, 234 MB):
 * 8 MB parts gave +69 MB peak RSS on a warm store and +114 to +123 MB on a slow one (a store that
 * had just started), 5 MB parts +85 MB on the slow one; a synthetic 200 MB stream gave 71 MB/s and
 * +59 MB with one part in flight, 114 MB/s and +84 MB with two.
 */
const QUEUE_SIZE = 1;
const DAY_MS = 86_400_000;

const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'CredentialsProviderError',
  'InvalidToken',
  'ExpiredToken',
  'Forbidden',
]);

/** One line that says what went wrong with S3 and which variable to look at; never a secret. */
export function describeS3Error(error: unknown, where: { bucket: string; endpoint: string | undefined }): Error {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  if (CREDENTIAL_ERRORS.has(name) || status === 403) {
    return new Error(
      `S3 refused the credentials for bucket ${where.bucket} (${name}); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the AWS profile)`,
    );
  }
  const code = e.code ?? (e as { errno?: string }).errno;
  if (code && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/.test(code)) {
    return new Error(
      `S3 endpoint ${where.endpoint ?? '(AWS default)'} cannot be reached (${code}); check DOWNLOADS_S3_ENDPOINT and the network`,
    );
  }
  if (name === 'TimeoutError' || name === 'RequestTimeout') {
    return new Error(
      `S3 endpoint ${where.endpoint ?? '(AWS default)'} did not answer in time; check DOWNLOADS_S3_ENDPOINT and the network`,
    );
  }
  if (name === 'NoSuchBucket' || status === 404) return new Error(`S3 bucket ${where.bucket} does not exist; check DOWNLOADS_URL`);
  return new Error(`S3 ${name}${status ? ` (HTTP ${status})` : ''}: ${messageOf(error)}`);
}

export class S3DownloadStorage implements DownloadStorage {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly description: string;
  private readonly endpoint: string | undefined;
  private readonly partBytes: number;
  private readonly queueSize: number;

  constructor(options: S3StorageOptions) {
    if (options.url.protocol !== 's3:' || options.url.hostname === '') throw new Error('DOWNLOADS_URL must look like s3://bucket/prefix');
    this.bucket = options.url.hostname;
    const path = decodeURIComponent(options.url.pathname.replace(/^\/+/, ''));
    this.prefix = path === '' || path.endsWith('/') ? path : `${path}/`;
    this.endpoint = options.endpoint;
    this.partBytes = options.partBytes ?? PART_BYTES;
    this.queueSize = options.queueSize ?? QUEUE_SIZE;
    this.description = `s3://${this.bucket}/${this.prefix}${options.endpoint ? ` at ${options.endpoint}` : ''}`;
    this.client =
      options.client ??
      new S3Client({
        region: options.region ?? 'us-east-1',
        endpoint: options.endpoint,
        forcePathStyle: options.endpoint !== undefined,
        maxAttempts: options.maxAttempts ?? 3,
        // The SDK's default CRC32 of every part and of every object read is computed in JavaScript:
        // it made uploads 10 times slower (11.6 against 113.5 MB/s). Integrity still holds: every
        // request is signed with the SHA-256 of its body (computed natively), and TLS carries it
        // to AWS; S3 still checks each part against that hash.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: { connectionTimeout: 3000, requestTimeout: 60_000 },
      });
  }

  key(tenantId: string, id: string): string {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new Error(`not a download id: ${JSON.stringify(id)}`);
    return `${this.prefix}${DownloadFiles.directoryName(tenantId)}/${id}.csv`;
  }

  private fail(error: unknown): Error {
    return describeS3Error(error, { bucket: this.bucket, endpoint: this.endpoint });
  }

  async prepare(): Promise<number> {
    return this.abortUploads(this.prefix, Date.now() - DAY_MS);
  }

  /** Aborts the multipart uploads under `prefix` started before `beforeMs`; returns how many. */
  async abortUploads(prefix: string, beforeMs = Number.POSITIVE_INFINITY): Promise<number> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      for (;;) {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
        for (const upload of page.Uploads ?? []) {
          if (!upload.Key || !upload.UploadId) continue;
          if (upload.Initiated && upload.Initiated.getTime() >= beforeMs) continue;
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key, UploadId: upload.UploadId }));
          aborted += 1;
        }
        if (!page.IsTruncated) break;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
      }
    } catch (error) {
      throw this.fail(error);
    }
    return aborted;
  }

  /** Multipart uploads not completed or aborted under `prefix` (tests and operators). */
  async pendingUploads(prefix = this.prefix): Promise<string[]> {
    const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix }));
    return (page.Uploads ?? []).map((upload) => upload.Key ?? '');
  }

  async write(tenantId: string, id: string, source: Readable, signal: AbortSignal): Promise<number> {
    const key = this.key(tenantId, id);
    // A worker that died while running this job may have left its upload: nobody else runs it now.
    await this.abortUploads(key);
    let bytes = 0;
    const counted = source.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          callback(null, chunk);
        },
      }),
    );
    source.on('error', (error) => counted.destroy(error));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: counted, ContentType: 'text/csv; charset=utf-8' },
      partSize: this.partBytes,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    const onAbort = () => void upload.abort().catch(() => undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
      // An export stopped by the signal ends early but quietly: never take it for a whole file.
      if (signal.aborted) {
        await this.remove(tenantId, id).catch(() => undefined);
        signal.throwIfAborted();
      }
      return bytes;
    } catch (error) {
      signal.throwIfAborted();
      throw this.fail(error);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async open(tenantId: string, id: string): Promise<Readable | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(tenantId, id) }));
      const body = object.Body;
      if (!body) return undefined;
      return body instanceof Readable ? body : Readable.from(body as AsyncIterable<Uint8Array>).pipe(new PassThrough());
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
      throw this.fail(error);
    }
  }

  async remove(tenantId: string, id: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(tenantId, id) }));
    } catch (error) {
      throw this.fail(error);
    }
  }

  locator(tenantId: string, id: string): string {
    return `s3://${this.bucket}/${this.key(tenantId, id)}`;
  }

  async check(): Promise<{ ok: boolean; detail?: string }> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return { ok: true };
    } catch (error) {
      return { ok: false, detail: this.fail(error).message };
    }
  }
}
