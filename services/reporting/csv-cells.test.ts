import { describe, expect, it } from 'vitest';
import { neutralizeCell, restoreCell } from './csv-cells.js';

describe('csv cells', () => {
  it.each([
    ['=1+1', "'=1+1"],
    ['+1', "'+1"],
    ['-5', "'-5"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['\rx', "'\rx"],
    ["'=x", "''=x"],
    ["''-x", "'''-x"],
    ["'plain", "'plain"],
    ['plain', 'plain'],
    ['a=b', 'a=b'],
    ['', ''],
  ])('%j is written as %j and read back exactly', (text, cell) => {
    expect(neutralizeCell(text)).toBe(cell);
    expect(restoreCell(cell)).toBe(text);
  });
});
