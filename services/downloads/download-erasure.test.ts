import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fileContains } from './download-erasure.js';

const chunks = (...parts: string[]) => Readable.from(parts.map((part) => Buffer.from(part)));

describe('fileContains', () => {
  it('finds an id inside a chunk, split across chunks, and not where it is absent', async () => {
    expect(await fileContains(chunks('a,b,ann@example.com,c\r\n'), ['ann@example.com'])).toBe(true);
    expect(await fileContains(chunks('a,b,ann@exa', 'mple.com,c\r\n'), ['ann@example.com'])).toBe(true);
    expect(await fileContains(chunks('a', 'n', 'n', '@', 'x'), ['ann@x'])).toBe(true);
    expect(await fileContains(chunks('a,b,ann@example.org,c\r\n', 'ann@example.co'), ['ann@example.com'])).toBe(false);
    expect(await fileContains(chunks('é,ü,ann', '@x'), ['ann@x', ''])).toBe(true);
    expect(await fileContains(chunks('anything'), [''])).toBe(false);
  });

  it('finds an id with quotes as CSV writes it (quotes doubled)', async () => {
    const id = 'say "hi"';
    expect(await fileContains(chunks('x,"say ""hi""",y\r\n'), [id, id.replaceAll('"', '""')])).toBe(true);
  });
});
