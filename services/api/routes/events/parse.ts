import { isUtf8 } from 'node:buffer';
import { parseJsonEvent } from '../../../events/codec.js';
import { DomainError, messageOf } from '../../../platform/errors.js';

/**
 * Reading the body of POST /v1/events in slices: a reader hands out the items of about `budget`
 * bytes at a time, so that the route can let the event loop run between slices. No item
 * is parsed whole when it is larger than any event can be (MAX_ITEM_BYTES): JSON.parse of 8 MiB
 * of nested arrays holds the loop for seconds (measured 2.9 s on Node 20), of 8 MiB of `[1,1,…]`
 * 0.3 s, so a JSON array is split into its elements by a scan of its structure and each element
 * is parsed on its own.
 */

/** One item of a request body: a parsed value, or why it is not one. */
export type BodyItem = { index: number; value: unknown } | { index: number; problem: string };

/** The body as a whole cannot be read (not valid JSON, not UTF-8): the request is refused (invalid, 400). */
export class BodyError extends DomainError {
  override name = 'BodyError';
  constructor(message: string) {
    super('invalid', 'EVENTS_BODY_INVALID', message);
  }
}

/** Longest item parsed, in bytes: an event of the contract is far smaller (about 300 bytes, at most a few KiB escaped). */
export const MAX_ITEM_BYTES = 64 * 1024;
/** Bytes an item counts for in a slice's budget besides its own (its validation costs too). */
const ITEM_COST = 256;
/** Characters of a parser's message kept in a problem (V8's quote at most 10 characters of the input). */
const MESSAGE_CHARS = 100;

export interface ItemReader {
  /** Reads on until about `budget` bytes were passed or the body ends; returns the items found. Throws BodyError. */
  read(budget: number): BodyItem[];
  readonly done: boolean;
}

const message = (error: unknown) => messageOf(error).slice(0, MESSAGE_CHARS);
const tooLong = (what: string, length: number) => `${what} is ${length} bytes long; an event is at most ${MAX_ITEM_BYTES}`;

/** Where the text starts: after a UTF-8 byte order mark, if any (RFC 8259 lets a reader ignore it). */
function afterBom(bytes: Buffer): number {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
}

/** Blank as a line of NDJSON (any white space, `\r` included). */
function isBlank(text: string): boolean {
  return text.trim() === '';
}

/** Only JSON's white space (RFC 8259: space, tab, line feed, carriage return). */
function isJsonBlank(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/**
 * NDJSON: one event per line (index = 0-based line number); blank lines are skipped. Lines are
 * found by their 0x0A byte (never part of a multi-byte character) and decoded one at a time, so
 * that no slice decodes the whole body. In a body that is not all valid UTF-8 (isUtf8, checked
 * once), each line is read strictly: one that is not UTF-8 is rejected naming its fields.
 */
class NdjsonReader implements ItemReader {
  private position: number;
  private line = 0;
  done = false;

  constructor(
    private readonly bytes: Buffer,
    private readonly valid: boolean,
  ) {
    this.position = afterBom(bytes);
    this.done = this.position >= bytes.length;
  }

  read(budget: number): BodyItem[] {
    const items: BodyItem[] = [];
    const bytes = this.bytes;
    let spent = 0;
    while (!this.done && spent < budget) {
      const newline = bytes.indexOf(0x0a, this.position);
      const end = newline === -1 ? bytes.length : newline;
      const index = this.line++;
      const length = end - this.position;
      if (length > MAX_ITEM_BYTES) {
        items.push({ index, problem: tooLong('line', length) });
        spent += ITEM_COST;
      } else if (length > 0) {
        const item = this.item(index, this.position, end);
        if (item) {
          items.push(item);
          spent += length + ITEM_COST;
        }
      }
      spent += 1;
      this.position = end + 1;
      if (newline === -1 || this.position >= bytes.length) this.done = true;
    }
    return items;
  }

  /** The item of one line, or undefined for a blank line. */
  private item(index: number, start: number, end: number): BodyItem | undefined {
    if (this.valid) {
      const text = this.bytes.toString('utf8', start, end);
      if (isBlank(text)) return undefined;
      try {
        return { index, value: JSON.parse(text) as unknown };
      } catch (error) {
        return { index, problem: `line is not JSON: ${message(error)}` };
      }
    }
    const line = this.bytes.subarray(start, end);
    if (isUtf8(line) && isBlank(line.toString('utf8'))) return undefined;
    const parsed = parseJsonEvent(line);
    if (parsed.ok) return { index, value: parsed.value };
    return { index, problem: parsed.kind === 'utf8' ? parsed.problem : `line is not JSON: ${parsed.problem}` };
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * A JSON body: one value (item 0), or an array whose elements are the items. The array is split
 * by a scan of its bytes that follows strings and nesting only (the structural characters are
 * ASCII, never part of a multi-byte character); every element is then decoded and parsed by
 * JSON.parse, so that anything the scan lets through that is not JSON is still refused (400).
 */
class JsonReader implements ItemReader {
  private position: number;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start: number;
  private index = 0;
  private readonly array: boolean;
  done = false;

  constructor(private readonly bytes: Buffer) {
    let first = afterBom(bytes);
    while (first < bytes.length && isJsonBlank(bytes[first]!)) first += 1;
    this.array = bytes[first] === OPEN_ARRAY;
    this.position = this.array ? first + 1 : first;
    this.start = this.position;
    this.depth = this.array ? 1 : 0;
  }

  read(budget: number): BodyItem[] {
    if (!this.array) return this.single();
    const items: BodyItem[] = [];
    const bytes = this.bytes;
    const stop = Math.min(bytes.length, this.position + budget);
    let i = this.position;
    for (; i < stop; i++) {
      const code = bytes[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (code === BACKSLASH) this.escaped = true;
        else if (code === QUOTE) this.inString = false;
        continue;
      }
      if (code === QUOTE) this.inString = true;
      else if (code === OPEN_ARRAY || code === OPEN_OBJECT) this.depth += 1;
      else if (code === CLOSE_ARRAY || code === CLOSE_OBJECT) {
        this.depth -= 1;
        if (this.depth === 0) {
          this.element(i, true, items);
          for (let after = i + 1; after < bytes.length; after++) {
            if (!isJsonBlank(bytes[after]!)) throw new BodyError('body: is not valid JSON (text follows the array)');
          }
          this.done = true;
          this.position = bytes.length;
          return items;
        }
      } else if (code === COMMA && this.depth === 1) {
        this.element(i, false, items);
        if (items.length * ITEM_COST > budget) {
          i += 1;
          break;
        }
      }
    }
    this.position = i;
    if (i >= bytes.length) throw new BodyError('body: is not valid JSON (the array is not closed)');
    return items;
  }

  /** The element from `start` to `end`; the last one (before `]`) may be absent (an empty array). */
  private element(end: number, last: boolean, items: BodyItem[]): void {
    const index = this.index;
    const length = end - this.start;
    if (length > MAX_ITEM_BYTES) {
      items.push({ index, problem: tooLong('event', length) });
    } else {
      const text = this.bytes.toString('utf8', this.start, end);
      if (JSON_BLANK.test(text)) {
        if (!(last && index === 0)) throw new BodyError(`body: is not valid JSON (element ${index} is empty)`);
      } else {
        try {
          items.push({ index, value: JSON.parse(text) as unknown });
        } catch (error) {
          throw new BodyError(`body: is not valid JSON (element ${index}: ${message(error)})`);
        }
      }
    }
    this.index += 1;
    this.start = end + 1;
  }

  private single(): BodyItem[] {
    this.done = true;
    const length = this.bytes.length - this.position;
    if (length === 0) return [];
    if (length > MAX_ITEM_BYTES) return [{ index: 0, problem: tooLong('event', length) }];
    const text = this.bytes.toString('utf8', this.position);
    if (JSON_BLANK.test(text)) return [];
    try {
      return [{ index: 0, value: JSON.parse(text) as unknown }];
    } catch (error) {
      throw new BodyError(`body: is not valid JSON (${message(error)})`);
    }
  }
}

/** Only JSON's white space. */
const JSON_BLANK = /^[ \t\n\r]*$/;

/** The reader of a JSON body (one value or an array of them). Throws BodyError when the body is not UTF-8. */
export function jsonItems(bytes: Buffer): ItemReader {
  if (!isUtf8(bytes)) throw new BodyError('body: is not valid UTF-8 (JSON is UTF-8; no event was read)');
  return new JsonReader(bytes);
}

/** The reader of an NDJSON body: one event per line; a line that is not valid UTF-8 is rejected on its own. */
export function ndjsonItems(bytes: Buffer): ItemReader {
  return new NdjsonReader(bytes, isUtf8(bytes));
}
