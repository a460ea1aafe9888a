import { describe, expect, it } from 'vitest';
import {
  BodyError,
  jsonItems,
  MAX_ITEM_BYTES,
  ndjsonItems,
  type BodyItem,
  type ItemReader,
} from '../../services/api/routes/events/parse.js';

/** Every item of a reader, read `budget` bytes at a time (small budgets split elements across slices). */
function readAll(reader: ItemReader, budget: number): { items: BodyItem[]; slices: number } {
  const items: BodyItem[] = [];
  let slices = 0;
  while (!reader.done) {
    items.push(...reader.read(budget));
    slices += 1;
  }
  return { items, slices };
}

const json = (text: string, budget = 1 << 20) => readAll(jsonItems(Buffer.from(text)), budget);
const ndjson = (body: string | Buffer, budget = 1 << 20) => readAll(ndjsonItems(Buffer.from(body)), budget);

function bodyError(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    if (error instanceof BodyError) return error.message;
    throw error;
  }
  throw new Error('no BodyError');
}

describe('JSON bodies', () => {
  const tricky = [
    { a: 'a string with ] and } and , and [ and {' },
    { b: 'escaped \\" quote, \\\\ backslash and "quotes"', c: [1, [2, { d: ']' }]] },
    'a top-level string, with a comma',
    [],
    {},
    null,
    12.5e3,
    { e: '\u{1F600} \\u005d' },
  ];

  it('splits an array into exactly the elements JSON.parse sees, at any slice size', () => {
    const text = JSON.stringify(tricky, null, 1);
    const expected = (JSON.parse(text) as unknown[]).map((value, index) => ({ index, value }));
    for (const budget of [1, 2, 3, 7, 64, 1 << 20]) {
      const { items, slices } = json(text, budget);
      expect(items, `budget ${budget}`).toEqual(expected);
      if (budget < 8) expect(slices).toBeGreaterThan(10);
    }
  });

  it('one value is item 0; blanks around are fine; an empty array or body holds no item', () => {
    expect(json(' \n{"a":1}\r\n').items).toEqual([{ index: 0, value: { a: 1 } }]);
    expect(json('[]').items).toEqual([]);
    expect(json(' [ \n ] ').items).toEqual([]);
    expect(json('  ').items).toEqual([]);
  });

  it('a UTF-8 byte order mark is skipped; text beyond ASCII is read whole', () => {
    expect(json('\ufeff[{"a":"é ü \u{1F600}"}]').items).toEqual([{ index: 0, value: { a: 'é ü \u{1F600}' } }]);
    expect(json('\ufeff{"a":1}').items).toEqual([{ index: 0, value: { a: 1 } }]);
    expect(ndjson('\ufeff{"a":1}\n{"b":"ß"}').items).toEqual([
      { index: 0, value: { a: 1 } },
      { index: 1, value: { b: 'ß' } },
    ]);
  });

  it('refuses what is not JSON as a whole', () => {
    expect(bodyError(() => json('[1,]'))).toBe('body: is not valid JSON (element 1 is empty)');
    expect(bodyError(() => json('[,1]'))).toBe('body: is not valid JSON (element 0 is empty)');
    expect(bodyError(() => json('[1 2]'))).toMatch(/^body: is not valid JSON \(element 0: /);
    expect(bodyError(() => json('[1]]'))).toBe('body: is not valid JSON (text follows the array)');
    expect(bodyError(() => json('["]'))).toBe('body: is not valid JSON (the array is not closed)');
    expect(bodyError(() => json('[{"a":1}'))).toBe('body: is not valid JSON (the array is not closed)');
    expect(bodyError(() => json('{"a":'))).toMatch(/^body: is not valid JSON \(/);
    expect(bodyError(() => json('[{]}]'))).toMatch(/^body: is not valid JSON/);
  });

  it('an element or a value larger than any event is rejected without being parsed', () => {
    const big = `"${'x'.repeat(MAX_ITEM_BYTES)}"`;
    expect(json(`[1,${big},2]`).items).toEqual([
      { index: 0, value: 1 },
      { index: 1, problem: `event is ${big.length} bytes long; an event is at most ${MAX_ITEM_BYTES}` },
      { index: 2, value: 2 },
    ]);
    expect(json(big).items).toEqual([{ index: 0, problem: `event is ${big.length} bytes long; an event is at most ${MAX_ITEM_BYTES}` }]);
  });

  it('a body that is not UTF-8 is refused as a whole', () => {
    const bytes = Buffer.concat([Buffer.from('[{"eventId":"'), Buffer.from([0xff]), Buffer.from('"}]')]);
    expect(bodyError(() => jsonItems(bytes))).toBe('body: is not valid UTF-8 (JSON is UTF-8; no event was read)');
  });
});

describe('NDJSON bodies', () => {
  it('one item per line, indexed by line number; blank lines skipped; any slice size', () => {
    const body = '{"a":1}\n\n  \r\n[2]\nnot json\n"last"';
    for (const budget of [1, 5, 1 << 20]) {
      expect(ndjson(body, budget).items).toEqual([
        { index: 0, value: { a: 1 } },
        { index: 3, value: [2] },
        { index: 4, problem: expect.stringMatching(/^line is not JSON: /) as string },
        { index: 5, value: 'last' },
      ]);
    }
  });

  it('a line of invalid UTF-8 is rejected on its own, naming its field; the others are read', () => {
    const body = Buffer.concat([
      Buffer.from('{"eventId":"ok"}\n{"eventId":"'),
      Buffer.from([0xc0, 0xaf]),
      Buffer.from('-x","customerId":"c"}\n\n{"eventId":"\u00e9"}\n'),
    ]);
    expect(ndjson(body).items).toEqual([
      { index: 0, value: { eventId: 'ok' } },
      { index: 1, problem: 'eventId: invalid UTF-8' },
      { index: 3, value: { eventId: 'é' } },
    ]);
  });

  it('a line longer than any event is rejected without being parsed', () => {
    const long = `[${'['.repeat(MAX_ITEM_BYTES)}`;
    expect(ndjson(`1\n${long}\n2`).items).toEqual([
      { index: 0, value: 1 },
      { index: 1, problem: `line is ${long.length} bytes long; an event is at most ${MAX_ITEM_BYTES}` },
      { index: 2, value: 2 },
    ]);
  });
});
