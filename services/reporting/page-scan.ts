import { restoreCell } from './csv-cells.js';

/**
 * Reads just enough of one CSV page written by ClickHouse to continue after it: how many rows
 * it holds and the sort key of its last row. The page itself is passed on untouched.
 *
 * Every row of an event page starts with `"<occurredAt>","<eventId>",`: ClickHouse's CSV
 * output puts every String in double quotes and doubles the quotes inside. So a row starts at
 * offset 0 or right after a line feed followed by a quote and a digit (the year of
 * occurredAt). Inside a quoted field a line feed can only be followed by an escaped quote
 * (`""`), the closing quote (then `,` or the end of the row) or other text, never by a lone
 * quote and a digit — whatever the names, ids and reasons contain.
 */

const LINE_FEED_QUOTE = Buffer.from('\n"');
const QUOTE = 0x22;
const COMMA = 0x2c;

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x30 && byte <= 0x39;
}

/** The sort key of a row: its values and its exact CSV text up to the end of the eventId field. */
export interface RowKey {
  /** `2026-11-27T10:15:00.123Z` */
  occurredAt: string;
  eventId: string;
  /** `"2026-11-27T10:15:00.123Z","e-1"` as written, for comparing keys without decoding. */
  text: Buffer;
}

export interface PageScan {
  rows: number;
  /** Key of the last row (absent for an empty page). */
  lastKey?: RowKey;
  /** How many rows at the end of the page share the last row's key (1 unless an event was stored twice). */
  tailTies: number;
}

export class PageFormatError extends Error {
  override name = 'PageFormatError';
}

/** Offset just past the closing quote of the quoted field starting at `start`. */
function quotedFieldEnd(page: Buffer, start: number): number {
  if (page[start] !== QUOTE) throw new PageFormatError(`expected a quoted field at byte ${start} of a CSV page`);
  let at = start + 1;
  for (;;) {
    const quote = page.indexOf(QUOTE, at);
    if (quote === -1) throw new PageFormatError(`unterminated quoted field at byte ${start} of a CSV page`);
    if (page[quote + 1] === QUOTE) {
      at = quote + 2;
      continue;
    }
    return quote + 1;
  }
}

function unquote(field: Buffer): string {
  return field
    .subarray(1, field.length - 1)
    .toString('utf8')
    .replaceAll('""', '"');
}

/** The key of the row starting at `start`. */
export function rowKeyAt(page: Buffer, start: number): RowKey {
  const atEnd = quotedFieldEnd(page, start);
  if (page[atEnd] !== COMMA) throw new PageFormatError(`expected a comma after occurredAt at byte ${atEnd} of a CSV page`);
  const idEnd = quotedFieldEnd(page, atEnd + 1);
  return {
    occurredAt: unquote(page.subarray(start, atEnd)),
    // The id as stored (the page escapes formula-like cells), for the next page's cursor.
    eventId: restoreCell(unquote(page.subarray(atEnd + 1, idEnd))),
    text: Buffer.from(page.subarray(start, idEnd)),
  };
}

/** True when the row starting at `start` has the key whose text is `key`. */
function hasKey(page: Buffer, start: number, key: Buffer): boolean {
  const end = start + key.length;
  return end < page.length && page[end] === COMMA && page.compare(key, 0, key.length, start, end) === 0;
}

/** Start of the row before the one starting at `start` (> 0). */
function previousRowStart(page: Buffer, start: number): number {
  let from = start - 2;
  while (from >= 0) {
    const at = page.lastIndexOf(LINE_FEED_QUOTE, from);
    if (at === -1) return 0;
    if (isDigit(page[at + 2])) return at + 1;
    from = at - 1;
  }
  return 0;
}

export function scanCsvPage(page: Buffer): PageScan {
  if (page.length === 0) return { rows: 0, tailTies: 0 };
  let rows = 1;
  let lastStart = 0;
  for (let at = page.indexOf(LINE_FEED_QUOTE); at !== -1; at = page.indexOf(LINE_FEED_QUOTE, at + 2)) {
    if (isDigit(page[at + 2])) {
      rows += 1;
      lastStart = at + 1;
    }
  }
  const lastKey = rowKeyAt(page, lastStart);
  let tailTies = 1;
  for (let start = lastStart; start > 0; ) {
    const previous = previousRowStart(page, start);
    if (!hasKey(page, previous, lastKey.text)) break;
    tailTies += 1;
    start = previous;
  }
  return { rows, lastKey, tailTies };
}
