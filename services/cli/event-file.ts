import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { SendingEvent } from '../events/types.js';
import { validateEvent } from '../events/validate.js';
import { messageOf } from '../platform/errors.js';

/**
 * Events given as JSON lines (NDJSON): one event per line, blank lines ignored, lines
 * numbered from 1 as an editor shows them. Files are streamed, never held whole in memory.
 */
export interface EventLine {
  number: number;
  text: string;
}

export type LineVerdict = { ok: true; event: SendingEvent } | { ok: false; reason: string };

/** The non-blank lines of a file, with their numbers. */
export async function* eventLines(file: string): AsyncGenerator<EventLine> {
  const lines = readline.createInterface({ input: fs.createReadStream(file, { highWaterMark: 1024 * 1024 }), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number++;
    const text = number === 1 && line.startsWith('\uFEFF') ? line.slice(1) : line;
    if (text.trim() !== '') yield { number, text };
  }
}

/** One line parsed and validated; the reason lists every problem, joined with "; ". */
export function checkLine(text: string): LineVerdict {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not valid JSON (${messageOf(error)})` };
  }
  const result = validateEvent(input);
  return result.ok ? result : { ok: false, reason: result.errors.join('; ') };
}

/**
 * Standard input copied to a temporary file, so that it can be read twice like a file:
 * once to check every line, once to publish. `remove` deletes the copy.
 */
export async function spoolToFile(input: Readable): Promise<{ file: string; remove(): void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sending-metrics-produce-'));
  const file = path.join(dir, 'stdin.ndjson');
  const remove = (): void => fs.rmSync(dir, { recursive: true, force: true });
  try {
    await pipeline(input, fs.createWriteStream(file));
  } catch (error) {
    remove();
    throw error;
  }
  return { file, remove };
}
