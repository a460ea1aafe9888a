import { describe, expect, it } from 'vitest';
import { InsertCoalescer } from './insert-coalescer.js';

describe('InsertCoalescer', () => {
  it('rows handed in while an insert runs go together in the next; each call resolves after its rows are in', async () => {
    const inserts: number[][] = [];
    let release: () => void = () => undefined;
    const coalescer = new InsertCoalescer<number>(async (rows) => {
      inserts.push(rows);
      if (inserts.length === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    const first = coalescer.add([1]);
    const later = [coalescer.add([2]), coalescer.add([3, 4])];
    await Promise.resolve();
    expect(inserts).toEqual([[1]]);
    release();
    await Promise.all([first, ...later]);
    expect(inserts).toEqual([[1], [2, 3, 4]]);
  });

  it('a failed insert rejects every call it held, and the next call is inserted anew', async () => {
    let fail = true;
    const inserted: number[] = [];
    const coalescer = new InsertCoalescer<number>(async (rows) => {
      if (fail) throw new Error('engine down');
      inserted.push(...rows);
    });
    await expect(coalescer.add([1])).rejects.toThrow('engine down');
    fail = false;
    await coalescer.add([1]);
    expect(inserted).toEqual([1]);
  });
});
