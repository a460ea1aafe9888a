import avro from 'avsc';
import { canonicalMillis } from './instant.js';

/**
 * A writer of the Avro binary body of one record schema, for the field types the event records
 * use (string, enum, ["null", "string"] and timestamp-millis read from a canonical instant),
 * writing the bytes avsc writes. It returns where the body ends, or -1 for anything it does not
 * write itself — a value of another type, a symbol not in an enum, a non-canonical instant, no
 * room left — and the caller then lets avsc write the record (which also names what is wrong).
 * Strings of ASCII characters, nearly all of them, are written without measuring them first.
 */
export type RecordWriter = (record: Record<string, unknown>, target: Buffer, offset: number) => number;

const NOT_WRITTEN = -1;

/** avsc's Tap.writeLong: zig-zag varint, floating arithmetic past 30 bits. */
function writeLong(n: number, target: Buffer, offset: number): number {
  let pos = offset;
  if (n >= -1073741824 && n < 1073741824) {
    let m = n >= 0 ? n << 1 : (~n << 1) | 1;
    do {
      if (pos >= target.length) return NOT_WRITTEN;
      target[pos] = m & 0x7f;
      m >>= 7;
    } while (m && (target[pos++]! |= 0x80));
  } else {
    let f = n >= 0 ? n * 2 : -n * 2 - 1;
    do {
      if (pos >= target.length) return NOT_WRITTEN;
      target[pos] = f & 0x7f;
      f /= 128;
    } while (f >= 1 && (target[pos++]! |= 0x80));
  }
  return pos + 1;
}

/** avsc's Tap.writeString: the UTF-8 length, then the bytes. */
function writeString(text: string, target: Buffer, offset: number): number {
  const length = text.length;
  if (length < 64 && offset + 1 + length <= target.length) {
    // All ASCII (checked as it is copied): the byte length is the length, one varint byte.
    let pos = offset + 1;
    let i = 0;
    for (; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) break;
      target[pos++] = code;
    }
    if (i === length) {
      target[offset] = length << 1;
      return pos;
    }
  }
  const bytes = Buffer.byteLength(text);
  const start = writeLong(bytes, target, offset);
  if (start < 0 || start + bytes > target.length) return NOT_WRITTEN;
  // avsc copies strings of up to 64 bytes itself; a lone surrogate then differs from Buffer#write.
  if (bytes > 64) return start + target.write(text, start, bytes, 'utf8');
  return avsc(text, target, offset);
}

/** What avsc writes for a string of at most 64 bytes that is not all ASCII. */
function avsc(text: string, target: Buffer, offset: number): number {
  const end = STRING.encode(text, target, offset);
  return end < 0 ? NOT_WRITTEN : end;
}

const STRING = avro.Type.forSchema('string');

/** The statement that writes one field's value (`value`) at `pos`, or undefined for a type this module does not write. */
function fieldStatement(type: avro.Type, enums: Map<string, number>[]): string | undefined {
  if (type.typeName === 'string') return `pos = typeof value === 'string' ? writeString(value, target, pos) : -1;`;
  if (type.typeName === 'enum') {
    enums.push(new Map((type as avro.types.EnumType).symbols.map((symbol, index) => [symbol, index])));
    return `index = typeof value === 'string' ? enums[${enums.length - 1}].get(value) : undefined;
      pos = index === undefined ? -1 : writeLong(index, target, pos);`;
  }
  if (type.typeName === 'logical:timestamp-millis') {
    return `millis = typeof value === 'string' ? canonicalMillis(value) : NaN;
      pos = millis === millis ? writeLong(millis, target, pos) : -1;`;
  }
  if (type.typeName === 'union:unwrapped') {
    const branches = (type as avro.types.UnwrappedUnionType).types.map((branch) => branch.typeName);
    const nullIndex = branches.indexOf('null');
    const stringIndex = branches.indexOf('string');
    if (branches.length !== 2 || nullIndex < 0 || stringIndex < 0) return undefined;
    return `if (value === null) pos = writeLong(${nullIndex}, target, pos);
      else if (typeof value !== 'string') pos = -1;
      else {
        pos = writeLong(${stringIndex}, target, pos);
        if (pos >= 0) pos = writeString(value, target, pos);
      }`;
  }
  return undefined;
}

/**
 * The writer of a record type, or undefined when one of its fields has a type this module does
 * not write. Its code is generated once per schema, as avsc does for its own writers: each field
 * read by a constant name, each type's write inlined.
 */
export function recordWriter(type: avro.types.RecordType): RecordWriter | undefined {
  const enums: Map<string, number>[] = [];
  const statements: string[] = [];
  for (const field of type.fields) {
    const statement = fieldStatement(field.type, enums);
    if (statement === undefined) return undefined;
    statements.push(`value = record[${JSON.stringify(field.name)}];
      ${statement}
      if (pos < 0) return -1;`);
  }
  const body = `return function writeRecord(record, target, offset) {
      let pos = offset, value, index, millis;
      ${statements.join('\n      ')}
      return pos;
    };`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated once from a schema this build ships, never from input
  const factory = new Function('writeString', 'writeLong', 'canonicalMillis', 'enums', body) as (...args: unknown[]) => RecordWriter;
  return factory(writeString, writeLong, canonicalMillis, enums);
}
