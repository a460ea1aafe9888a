import type { Command } from '../command.js';
import { openClickHouse } from '../../platform/clickhouse.js';
import { loadConfig } from '../../platform/config.js';
import { createLogger } from '../../platform/logger.js';
import { applyMigrations, MigrationError } from '../../migrations/migrate.js';

/** `sending-metrics migrate`: applies the ClickHouse migrations not yet applied, then exits. */
export const migrateCommand: Command = {
  summary: 'apply ClickHouse migrations',
  usage: 'migrate',
  options: {},
  async run() {
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const clickhouse = await openClickHouse(config, logger);
    try {
      const { applied } = await applyMigrations(clickhouse.client, logger);
      if (applied.length === 0) {
        console.log(`ClickHouse schema is up to date (${clickhouse.target})`);
      } else {
        console.log(`applied ${applied.length} migration(s) to ${clickhouse.target}:`);
        for (const name of applied) console.log(`  ${name}`);
      }
      return 0;
    } catch (error) {
      if (!(error instanceof MigrationError)) throw error;
      console.error(`migration error: ${error.message}`);
      return 1;
    } finally {
      await clickhouse.close();
    }
  },
};
