import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DownloadFiles } from './download-files.js';
import { messageOf } from '../platform/errors.js';

/**
 * Where the files of downloads are kept. Every implementation writes a file so that it is never
 * seen partly written: the local disk writes `<id>.csv.tmp` and renames it; S3 completes a
 * multipart upload only when the whole stream was sent (and aborts it on failure).
 */
export interface DownloadStorage {
  /** Says where files go (for logs; never a secret). */
  readonly description: string;
  /** Before the first job: creates what is needed and removes what a stopped process left (returns how many). */
  prepare(): Promise<number>;
  /** Writes the whole of `source` as the file of the job; resolves with its size in bytes. */
  write(tenantId: string, id: string, source: Readable, signal: AbortSignal): Promise<number>;
  /** The file of the job, opened; undefined when there is none. */
  open(tenantId: string, id: string): Promise<Readable | undefined>;
  remove(tenantId: string, id: string): Promise<void>;
  /** The file's name as stored with the job (a path under DATA_DIR, or an s3:// URL). */
  locator(tenantId: string, id: string): string;
  /** For /readyz: can files be written and read now? */
  check(): Promise<{ ok: boolean; detail?: string }>;
}

/** DATA_DIR/downloads/<tenant>/<id>.csv (DOWNLOADS_URL unset). */
export class LocalDownloadStorage implements DownloadStorage {
  readonly files: DownloadFiles;
  readonly description: string;

  constructor(dataDir: string) {
    this.files = new DownloadFiles(dataDir);
    this.description = this.files.root;
  }

  async prepare(): Promise<number> {
    await fs.promises.mkdir(this.files.root, { recursive: true });
    return this.files.removeTemporaryFiles();
  }

  async write(tenantId: string, id: string, source: Readable, signal: AbortSignal): Promise<number> {
    const file = this.files.file(tenantId, id);
    const temporary = this.files.temporary(tenantId, id);
    try {
      await fs.promises.mkdir(this.files.tenantDirectory(tenantId), { recursive: true });
      await pipeline(source, fs.createWriteStream(temporary, { flush: true }), { signal });
      // An export stopped by the signal ends early but quietly: never take it for a whole file.
      signal.throwIfAborted();
      await fs.promises.rename(temporary, file);
      return (await fs.promises.stat(file)).size;
    } catch (error) {
      await this.files.remove(temporary);
      throw error;
    }
  }

  async open(tenantId: string, id: string): Promise<Readable | undefined> {
    try {
      const handle = await fs.promises.open(this.files.file(tenantId, id), 'r');
      return handle.createReadStream();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async remove(tenantId: string, id: string): Promise<void> {
    await this.files.remove(this.files.file(tenantId, id));
  }

  locator(tenantId: string, id: string): string {
    return this.files.relative(this.files.file(tenantId, id));
  }

  async check(): Promise<{ ok: boolean; detail?: string }> {
    try {
      await fs.promises.mkdir(this.files.root, { recursive: true });
      await fs.promises.access(this.files.root, fs.constants.W_OK);
      return { ok: true };
    } catch (error) {
      return { ok: false, detail: `download directory ${this.files.root} is not writable: ${messageOf(error)}` };
    }
  }
}
