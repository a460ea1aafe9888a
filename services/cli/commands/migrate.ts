import type { Command } from '../command.js';
import { openClickHouse } from '../../platform/clickhouse.js';
import { loadConfig } from '../../platform/config.js';
import { createLogger } from '../../platform/logger.js';
import { applyMigrations, MigrationError, planMigrations, renderPlan, schemaShapeOf } from '../../migrations/migrate.js';

/**
 * `sending-metrics migrate`: applies the ClickHouse migrations not yet applied, then exits.
 * `--print`: prints the DDL of every migration in the form the environment asks for (one server,
 * replicated or sharded: CLICKHOUSE_CLUSTER, CLICKHOUSE_SHARDING) and applies nothing; it does
 * not connect to ClickHouse.
 */
export const migrateCommand: Command = {
  summary: 'apply ClickHouse migrations (--print: show the DDL, apply nothing)',
  usage: 'migrate [--print]',
  options: { print: { type: 'boolean' } },
  async run(values) {
    const config = loadConfig();
    const shape = schemaShapeOf(config);
    if (values.print === true) {
      try {
        process.stdout.write(renderPlan(await planMigrations(shape, undefined, config.rawRetentionDays, config.ingest.dedupWindowHours)));
        return 0;
      } catch (error) {
        if (!(error instanceof MigrationError)) throw error;
        console.error(`migration error: ${error.message}`);
        return 1;
      }
    }
    const logger = createLogger(config.logLevel);
    const clickhouse = await openClickHouse(config, logger);
    try {
      const { applied } = await applyMigrations(clickhouse.client, logger, {
        shape,
        rawRetentionDays: config.rawRetentionDays,
        dedupWindowHours: config.ingest.dedupWindowHours,
      });
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
