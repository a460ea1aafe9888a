/** One item of a request body: a parsed value, or why its line is not JSON. */
export type BodyItem = { index: number; value: unknown } | { index: number; problem: string };

/** The events of a JSON body: an array's items, or one object as item 0. */
export function jsonItems(value: unknown): BodyItem[] {
  return Array.isArray(value) ? value.map((item: unknown, index) => ({ index, value: item })) : [{ index: 0, value }];
}

/** The events of an NDJSON body: one per line (index = 0-based line number); blank lines are skipped. */
export function ndjsonItems(text: string): BodyItem[] {
  const items: BodyItem[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.trim() === '') continue;
    try {
      items.push({ index, value: JSON.parse(line) as unknown });
    } catch (error) {
      items.push({ index, problem: `line is not JSON: ${(error as Error).message}` });
    }
  }
  return items;
}
