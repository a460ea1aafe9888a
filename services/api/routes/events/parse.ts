import { parseJsonEvent } from '../../../events/codec.js';

/**
 * Reading the body of POST /v1/events in slices: a reader hands out the items of about `budget`
 * characters at a time, so that the route can let the event loop run between slices. No item
 * is parsed whole when it is larger than any event can be (MAX_ITEM_CHARS): JSON.parse of 8 MiB
 * of nested arrays holds the loop for seconds (measured 2.9 s on Node 20), of 8 MiB of `[1,1,…]`
 * 0.3 s, so a JSON array is split into its elements by a scan of its structure and each element
 * is parsed on its own.
 */

/** One item of a request body: a parsed value, or why it is not one. */
export type BodyItem = { index: number; value: unknown } | { index: number; problem: string };

/** The body as a whole cannot be read (not valid JSON, not UTF-8): the request is refused (400). */
export class BodyError extends Error {
  override name = 'BodyError';
}

/** Longest item parsed, in characters: an event of the contract is far smaller (about 300 characters, at most a few KiB escaped). */
export const MAX_ITEM_CHARS = 64 * 1024;
/** Characters an item counts for in a slice's budget besides its own (its validation costs too). */
const ITEM_COST = 256;
/** Characters of a parser's message kept in a problem (V8's quote at most 10 characters of the input). */
const MESSAGE_CHARS = 100;

export interface ItemReader {
  /** Reads on until about `budget` characters were passed or the body ends; returns the items found. Throws BodyError. */
  read(budget: number): BodyItem[];
  readonly done: boolean;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

const message = (error: unknown) => (error as Error).message.slice(0, MESSAGE_CHARS);
const tooLong = (what: string, length: number) => `${what} is ${length} characters long; an event is at most ${MAX_ITEM_CHARS}`;

/** The body as text, or undefined when it is not valid UTF-8 (never read with U+FFFD in place of its bytes). */
export function decodeBody(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Blank as a line of NDJSON (any white space, `\r` included). */
function isBlank(text: string): boolean {
  return text.trim() === '';
}

/** Only JSON's white space (RFC 8259: space, tab, line feed, carriage return). */
const JSON_BLANK = /^[ \t\n\r]*$/;

/** NDJSON as text: one event per line (index = 0-based line number); blank lines are skipped. */
class NdjsonText implements ItemReader {
  private position = 0;
  private line = 0;
  done = false;

  constructor(private readonly text: string) {}

  read(budget: number): BodyItem[] {
    const items: BodyItem[] = [];
    const text = this.text;
    let spent = 0;
    while (!this.done && spent < budget) {
      const newline = text.indexOf('\n', this.position);
      const end = newline === -1 ? text.length : newline;
      const index = this.line++;
      const length = end - this.position;
      if (length > MAX_ITEM_CHARS) {
        items.push({ index, problem: tooLong('line', length) });
        spent += ITEM_COST;
      } else if (length > 0) {
        const line = text.slice(this.position, end);
        if (!isBlank(line)) {
          try {
            items.push({ index, value: JSON.parse(line) as unknown });
          } catch (error) {
            items.push({ index, problem: `line is not JSON: ${message(error)}` });
          }
          spent += length + ITEM_COST;
        }
      }
      spent += 1;
      this.position = end + 1;
      if (newline === -1) this.done = true;
    }
    return items;
  }
}

/** NDJSON whose bytes are not all valid UTF-8: line by line, each line that is not refused, naming its fields. */
class NdjsonBytes implements ItemReader {
  private position = 0;
  private line = 0;
  done = false;

  constructor(private readonly bytes: Buffer) {}

  read(budget: number): BodyItem[] {
    const items: BodyItem[] = [];
    const bytes = this.bytes;
    let spent = 0;
    while (!this.done && spent < budget) {
      const newline = bytes.indexOf(0x0a, this.position);
      const end = newline === -1 ? bytes.length : newline;
      const index = this.line++;
      const length = end - this.position;
      if (length > MAX_ITEM_CHARS) {
        items.push({ index, problem: tooLong('line', length) });
        spent += ITEM_COST;
      } else if (length > 0) {
        const line = bytes.subarray(this.position, end);
        const text = decodeBody(line);
        if (text === undefined || !isBlank(text)) {
          const parsed = parseJsonEvent(line);
          if (parsed.ok) items.push({ index, value: parsed.value });
          else items.push({ index, problem: parsed.kind === 'utf8' ? parsed.problem : `line is not JSON: ${parsed.problem}` });
          spent += length + ITEM_COST;
        }
      }
      spent += 1;
      this.position = end + 1;
      if (newline === -1) this.done = true;
    }
    return items;
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
 * by a scan that follows strings and nesting only; every element is then parsed by JSON.parse,
 * so that anything the scan lets through that is not JSON is still refused (400).
 */
class JsonText implements ItemReader {
  private position: number;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start: number;
  private index = 0;
  private readonly array: boolean;
  done = false;

  constructor(private readonly text: string) {
    let first = 0;
    while (first < text.length && JSON_BLANK.test(text[first]!)) first += 1;
    this.array = text.charCodeAt(first) === OPEN_ARRAY;
    this.position = this.array ? first + 1 : first;
    this.start = this.position;
    this.depth = this.array ? 1 : 0;
  }

  read(budget: number): BodyItem[] {
    if (!this.array) return this.single();
    const items: BodyItem[] = [];
    const text = this.text;
    const stop = Math.min(text.length, this.position + budget);
    let i = this.position;
    for (; i < stop; i++) {
      const code = text.charCodeAt(i);
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
          if (!JSON_BLANK.test(text.slice(i + 1))) throw new BodyError('body: is not valid JSON (text follows the array)');
          this.done = true;
          this.position = text.length;
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
    if (i >= text.length) throw new BodyError('body: is not valid JSON (the array is not closed)');
    return items;
  }

  /** The element from `start` to `end`; the last one (before `]`) may be absent (an empty array). */
  private element(end: number, last: boolean, items: BodyItem[]): void {
    const index = this.index;
    const length = end - this.start;
    if (length > MAX_ITEM_CHARS) {
      items.push({ index, problem: tooLong('event', length) });
    } else {
      const text = this.text.slice(this.start, end);
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
    const length = this.text.length - this.position;
    if (JSON_BLANK.test(this.text)) return [];
    if (length > MAX_ITEM_CHARS) return [{ index: 0, problem: tooLong('event', length) }];
    try {
      return [{ index: 0, value: JSON.parse(this.text) as unknown }];
    } catch (error) {
      throw new BodyError(`body: is not valid JSON (${message(error)})`);
    }
  }
}

/** The reader of a JSON body (one value or an array of them). Throws BodyError when the body is not UTF-8. */
export function jsonItems(bytes: Uint8Array): ItemReader {
  const text = decodeBody(bytes);
  if (text === undefined) throw new BodyError('body: is not valid UTF-8 (JSON is UTF-8; no event was read)');
  return new JsonText(text);
}

/** The reader of an NDJSON body: one event per line; a line that is not valid UTF-8 is rejected on its own. */
export function ndjsonItems(bytes: Buffer): ItemReader {
  const text = decodeBody(bytes);
  return text === undefined ? new NdjsonBytes(bytes) : new NdjsonText(text);
}
