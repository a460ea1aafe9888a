import type { ClickHouseClient } from '../platform/clickhouse.js';
import { UnknownTimeZoneError } from './errors.js';

/**
 * The time zones the engine knows (`system.time_zones`), read once per client and kept: a
 * zone name reaches the SQL only after it is found in this list, so an unknown zone is a 400
 * and never an engine error.
 */
const zonesByClient = new WeakMap<ClickHouseClient, Promise<Set<string>>>();

export function knownTimeZones(client: ClickHouseClient): Promise<Set<string>> {
  let zones = zonesByClient.get(client);
  if (!zones) {
    zones = client
      .query({ query: 'SELECT time_zone FROM system.time_zones', format: 'JSONEachRow' })
      .then((result) => result.json<{ time_zone: string }>())
      .then((rows) => new Set(rows.map((row) => row.time_zone)));
    zonesByClient.set(client, zones);
    // A failed read is not kept: the next call asks again.
    zones.catch(() => zonesByClient.delete(client));
  }
  return zones;
}

export async function assertKnownTimeZone(client: ClickHouseClient, tz: string): Promise<void> {
  if (typeof tz !== 'string' || !(await knownTimeZones(client)).has(tz)) throw new UnknownTimeZoneError(String(tz));
}
