import type { Type } from 'avsc';

/**
 * CRC-64-AVRO, the Rabin fingerprint the Avro specification defines for schema identity
 * ("Schema Fingerprints"), over a schema's Parsing Canonical Form. Single-object encoding
 * carries it little-endian after the 0xC3 0x01 marker.
 */
const EMPTY = 0xc15d213aa4d7a795n;
const MASK = 0xffffffffffffffffn;

const TABLE = (() => {
  const table = new BigUint64Array(256);
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let bit = 0; bit < 8; bit++) fp = (fp >> 1n) ^ (EMPTY & (-(fp & 1n) & MASK));
    table[i] = fp;
  }
  return table;
})();

/** The 64-bit fingerprint of `data` as an unsigned integer. */
export function crc64Avro(data: Uint8Array): bigint {
  let fp = EMPTY;
  for (const byte of data) fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] as bigint);
  return fp;
}

/**
 * Parsing Canonical Form: full names, only the attributes that affect parsing, in the
 * specification's order, no whitespace — what avsc writes for a schema without its attributes.
 */
export function canonicalForm(type: Type): string {
  return JSON.stringify(type.schema());
}

/** The 8 bytes that follow 0xC3 0x01 in a single-object encoded record of this schema. */
export function schemaFingerprint(type: Type): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(crc64Avro(Buffer.from(canonicalForm(type), 'utf8')));
  return bytes;
}
