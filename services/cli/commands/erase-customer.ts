import os from 'node:os';
import { pino } from 'pino';
import { UsageError, type Command } from '../command.js';
import { resolveJwtSecret } from '../../api/auth/secret.js';
import { downloadStorageFromConfig } from '../../downloads/index.js';
import { ErasureService } from '../../privacy/index.js';
import { openClickHouse } from '../../platform/clickhouse.js';
import { loadConfig, TENANT_ID_PATTERN } from '../../platform/config.js';
import { messageOf } from '../../platform/errors.js';
import { createLogger } from '../../platform/logger.js';

/**
 * `sending-metrics erase-customer --tenant T --customer C`: the customer's identifiers replaced in
 * the raw events by an irreversible token, the download files holding them deleted, the request
 * recorded (without the id in clear); counts unchanged. Needs ClickHouse (with the embedded
 * engine, stop the service first: one process at a time opens its data).
 */

export const eraseCustomerCommand: Command = {
  summary:
    "erase a customer's identifiers from a tenant's raw events (replaced by an irreversible token) and download files; every count stays the same. Exit 0 done (also when nothing was left), 1 failed",
  usage: 'erase-customer --tenant T --customer C',
  options: { tenant: { type: 'string' }, customer: { type: 'string' } },
  async run(values) {
    const tenant = values.tenant;
    const customer = values.customer;
    if (typeof tenant !== 'string' || tenant === '') throw new UsageError('--tenant is required');
    if (!TENANT_ID_PATTERN.test(tenant)) throw new UsageError(`--tenant ${JSON.stringify(tenant)} is not a valid tenant id`);
    if (typeof customer !== 'string' || customer === '') throw new UsageError('--customer is required');
    if (customer.length > 200) throw new UsageError('--customer is longer than 200 characters');
    const config = loadConfig();
    const logger = createLogger('error', pino.destination(2));
    const clickhouse = await openClickHouse(config, logger);
    try {
      const erasures = new ErasureService({
        client: clickhouse.client,
        config,
        storage: downloadStorageFromConfig(config),
        secret: resolveJwtSecret(config).secret,
        logger,
      });
      const earlier = (await erasures.history(tenant, customer)).filter((record) => record.state === 'done');
      const record = await erasures.erase({ tenantId: tenant, customerId: customer, requestedBy: `cli:${os.userInfo().username}` });
      if (record.state !== 'done') {
        console.error(`erasure ${record.id} failed: ${record.error}; running it again is safe`);
        return 1;
      }
      const again =
        record.rowsChanged === 0 && record.filesDeleted === 0
          ? earlier.length > 0
            ? ` (already erased on ${new Date(earlier[0]!.doneAt ?? earlier[0]!.requestedAt).toISOString()}: nothing was left)`
            : ' (nothing of this customer was stored)'
          : '';
      console.log(
        `erasure ${record.id} of tenant ${tenant}: ${record.rowsChanged} raw rows changed, ${record.filesDeleted} download files deleted${again}`,
      );
      return 0;
    } catch (error) {
      const message = messageOf(error);
      if (/UNKNOWN_TABLE|privacy_erasures.*does not exist|doesn't exist/i.test(message)) {
        console.error('the privacy_erasures table does not exist yet: run `npx sending-metrics migrate` (or start the service once) first');
        return 1;
      }
      throw error;
    } finally {
      await clickhouse.close();
    }
  },
};
