import xxhash from 'xxhash-wasm';

let hasher: Promise<(text: string) => bigint> | undefined;
/** xxHash64 of a string's UTF-8 bytes, seed 0: the engine's xxHash64(). */
function xxHash64(): Promise<(text: string) => bigint> {
  hasher ??= xxhash().then((hashes) => (text: string) => hashes.h64(text));
  return hasher;
}

/** The key of an id in ingest_event_id_hashes: xxHash64(concat(tenant_id, '\0', event_id)) (migration 011). */
export async function eventIdHashes(rows: readonly { tenantId: string; eventId: string }[]): Promise<bigint[]> {
  const h64 = await xxHash64();
  return rows.map((row) => h64(`${row.tenantId}\u0000${row.eventId}`));
}

/** The same hashes as two unsigned 32-bit halves each (what the in-memory window keeps). */
export interface HashHalves {
  high: Uint32Array;
  low: Uint32Array;
}

export async function eventIdHashHalves(rows: readonly { tenantId: string; eventId: string }[]): Promise<HashHalves> {
  const h64 = await xxHash64();
  const high = new Uint32Array(rows.length);
  const low = new Uint32Array(rows.length);
  for (let i = 0; i < rows.length; i += 1) {
    const hash = h64(`${rows[i]!.tenantId}\u0000${rows[i]!.eventId}`);
    high[i] = Number(hash >> 32n);
    low[i] = Number(hash & 0xffffffffn);
  }
  return { high, low };
}
