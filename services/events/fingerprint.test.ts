import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { canonicalForm, crc64Avro, schemaFingerprint } from './fingerprint.js';

/** Signed 64-bit values as published in Apache Avro's share/test/data/schema-tests.txt. */
const VECTORS: { input: unknown; canonical: string; fingerprint: bigint }[] = [
  { input: 'null', canonical: '"null"', fingerprint: 7195948357588979594n },
  { input: { type: 'boolean' }, canonical: '"boolean"', fingerprint: -6970731678124411036n },
  { input: 'int', canonical: '"int"', fingerprint: 8247732601305521295n },
  { input: 'long', canonical: '"long"', fingerprint: -3434872931120570953n },
  { input: 'string', canonical: '"string"', fingerprint: -8142146995180207161n },
  {
    input: { type: 'fixed', name: 'foo', size: 15 },
    canonical: '{"name":"foo","type":"fixed","size":15}',
    fingerprint: 1756455273707447556n,
  },
  {
    input: { type: 'record', name: 'foo', doc: 'dropped', fields: [{ name: 'f1', type: 'boolean', doc: 'dropped' }] },
    canonical: '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}',
    fingerprint: 7843277075252814651n,
  },
  {
    input: { type: 'enum', name: 'foo', symbols: ['A1'] },
    canonical: '{"name":"foo","type":"enum","symbols":["A1"]}',
    fingerprint: -6342190197741309591n,
  },
];

describe('CRC-64-AVRO schema fingerprints', () => {
  it.each(VECTORS)('matches the Avro specification for $canonical', ({ input, canonical, fingerprint }) => {
    const type = avro.Type.forSchema(input as avro.Schema);
    expect(canonicalForm(type)).toBe(canonical);
    expect(crc64Avro(Buffer.from(canonical))).toBe(BigInt.asUintN(64, fingerprint));
    expect(schemaFingerprint(type).readBigInt64LE()).toBe(fingerprint);
  });

  it('uses full names and drops logical types, defaults and docs from the canonical form', () => {
    const type = avro.Type.forSchema({
      type: 'record',
      name: 'Thing',
      namespace: 'io.example',
      fields: [
        { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' }, doc: 'when' },
        { name: 'note', type: ['null', 'string'], default: null },
      ],
    });
    expect(canonicalForm(type)).toBe(
      '{"name":"io.example.Thing","type":"record","fields":[{"name":"at","type":"long"},{"name":"note","type":["null","string"]}]}',
    );
  });
});
