/**
 * The value encodings the event topics carry, told apart per record by their first bytes:
 *  - `single-object`: Avro single-object encoding (0xC3 0x01, 8-byte fingerprint, body), what
 *    this project's producer writes without a schema registry;
 *  - `confluent`: the Confluent wire format (0x00, 4-byte big-endian schema id, Avro body), what
 *    the stock Confluent serializers of any language write, the writer schema in a registry;
 *  - `json`: one event as a JSON object (the event JSON contract), first non-blank byte `{`;
 *  - `unknown`: anything else.
 */
export type ValueEncoding = 'single-object' | 'confluent' | 'json' | 'unknown';

export const CONFLUENT_MAGIC = 0x00;
/** Magic byte and the 4-byte schema id. */
export const CONFLUENT_HEADER_BYTES = 5;

const OPEN_BRACE = 0x7b;

function isJsonWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

export function detectEncoding(bytes: Buffer): ValueEncoding {
  const first = bytes[0];
  if (first === 0xc3 && bytes[1] === 0x01) return 'single-object';
  if (first === CONFLUENT_MAGIC) return bytes.length >= CONFLUENT_HEADER_BYTES ? 'confluent' : 'unknown';
  for (let i = 0; i < bytes.length; i += 1) {
    const byte = bytes[i]!;
    if (isJsonWhitespace(byte)) continue;
    return byte === OPEN_BRACE ? 'json' : 'unknown';
  }
  return 'unknown';
}

/** The schema id of a Confluent-framed value (detectEncoding said `confluent`). */
export function confluentSchemaId(bytes: Buffer): number {
  return bytes.readUInt32BE(1);
}

/** Frames an Avro body as the Confluent serializers do: magic 0, the schema id (big-endian), the body. */
export function confluentFrame(schemaId: number, body: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(CONFLUENT_HEADER_BYTES + body.length);
  framed[0] = CONFLUENT_MAGIC;
  framed.writeUInt32BE(schemaId, 1);
  body.copy(framed, CONFLUENT_HEADER_BYTES);
  return framed;
}
