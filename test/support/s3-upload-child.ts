import { Readable } from 'node:stream';
import { S3DownloadStorage } from '../../services/downloads/s3-storage.js';

/**
 * A download's upload in a process of its own, to be killed with SIGKILL mid-upload by a test:
 * writes `<mb>` MB of CSV lines as the file of download `<id>` of `<tenant>` through the real
 * S3 storage, slowly enough (one 64 KB chunk a millisecond) that the test can catch it after its
 * first parts went up. Arguments: <s3 url> <endpoint> <tenant> <id> <mb>.
 */
const [url, endpoint, tenant, id, mb] = process.argv.slice(2);
const storage = new S3DownloadStorage({ url: new URL(url!), endpoint, partBytes: 5 * 1024 * 1024, queueSize: 1 });
const chunk = Buffer.from('2026-11-01T00:00:00.000Z,killed-upload-row,customer,playbook,Playbook,campaign,Campaign,entered\n'.repeat(640));
let left = Number(mb) * 1024 * 1024;
const source = new Readable({
  read() {
    if (left <= 0) return void this.push(null);
    left -= chunk.length;
    setTimeout(() => this.push(chunk), 1);
  },
});
await storage.write(tenant!, id!, source, new AbortController().signal);
process.stdout.write('complete\n');
