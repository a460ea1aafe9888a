import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * The project's S3-compatible server (SeaweedFS, deploy/s3/s3.sh) for a test file: built from the
 * Go module proxy the first time, started unless one already answers, and stopped at the end if
 * this file started it.
 */
const root = path.resolve(import.meta.dirname, '../..');
const script = path.join(root, 'deploy/s3/s3.sh');

export const S3_PORT = Number(process.env.S3_PORT ?? 18333);
export const S3_ENDPOINT = `http://127.0.0.1:${S3_PORT}`;
export const S3_ACCESS_KEY = process.env.S3_ACCESS_KEY ?? 'sending-metrics-test';
export const S3_SECRET_KEY = process.env.S3_SECRET_KEY ?? 'sending-metrics-test-secret';

export interface TestS3 {
  endpoint: string;
  client: S3Client;
  /** Creates a bucket (if missing) and returns its name. */
  bucket(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestS3(): Promise<TestS3> {
  const alreadyUp = spawnSync('bash', [script, 'status'], { stdio: 'ignore' }).status === 0;
  execFileSync('bash', [script, 'start'], { stdio: 'inherit', timeout: 900_000 });
  process.env.AWS_ACCESS_KEY_ID = S3_ACCESS_KEY;
  process.env.AWS_SECRET_ACCESS_KEY = S3_SECRET_KEY;
  process.env.AWS_REGION = 'us-east-1';
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: S3_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
  });
  return {
    endpoint: S3_ENDPOINT,
    client,
    async bucket(name) {
      for (let attempt = 1; ; attempt += 1) {
        try {
          await client.send(new CreateBucketCommand({ Bucket: name }));
          return name;
        } catch (error) {
          const code = (error as { name?: string }).name;
          if (code === 'BucketAlreadyOwnedByYou' || code === 'BucketAlreadyExists') return name;
          // The filer may still be starting behind the S3 port.
          if (attempt >= 40) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    },
    async stop() {
      client.destroy();
      if (!alreadyUp && process.env.TEST_KEEP_S3 !== '1') execFileSync('bash', [script, 'stop'], { stdio: 'inherit' });
    },
  };
}
