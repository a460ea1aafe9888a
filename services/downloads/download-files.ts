import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Where download files live: `DATA_DIR/downloads/<tenant>/<id>.csv`, written as
 * `<id>.csv.tmp` and renamed when complete, so a file that exists is always whole.
 */
export class DownloadFiles {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'downloads');
  }

  /**
   * A tenant's directory name: the tenant id with every character other than letters, digits,
   * `_` and `-` written as %XX, so that ids such as `..` or `a:b` stay one plain directory.
   */
  static directoryName(tenantId: string): string {
    return tenantId.replace(/[^A-Za-z0-9_-]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  }

  tenantDirectory(tenantId: string): string {
    return path.join(this.root, DownloadFiles.directoryName(tenantId));
  }

  /** The finished file of a job (job ids are UUIDs the service made). */
  file(tenantId: string, id: string): string {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new Error(`not a download id: ${JSON.stringify(id)}`);
    return path.join(this.tenantDirectory(tenantId), `${id}.csv`);
  }

  temporary(tenantId: string, id: string): string {
    return `${this.file(tenantId, id)}.tmp`;
  }

  /** The path as stored with the job: relative to DATA_DIR. */
  relative(file: string): string {
    return path.relative(path.dirname(this.root), file);
  }

  async remove(file: string): Promise<void> {
    await fs.rm(file, { force: true });
  }

  /** Deletes the `.tmp` files a stopped process left behind. */
  async removeTemporaryFiles(): Promise<number> {
    let removed = 0;
    const tenants = await fs.readdir(this.root, { withFileTypes: true }).catch(() => []);
    for (const tenant of tenants) {
      if (!tenant.isDirectory()) continue;
      const directory = path.join(this.root, tenant.name);
      for (const name of await fs.readdir(directory)) {
        if (!name.endsWith('.tmp')) continue;
        await fs.rm(path.join(directory, name), { force: true });
        removed += 1;
      }
    }
    return removed;
  }
}
