import { parseInstant } from '../../events/instant.js';
import { badRequest } from '../errors.js';

/**
 * Parses the `from`/`to` pair of a request: ISO-8601 with an offset, from <= to, at most
 * maxRangeDays long. Errors name the parameters as found in the request's `source`.
 */
export function parseRange(
  query: { from: string; to: string },
  maxRangeDays: number,
  source: 'query' | 'body' = 'query',
): { fromMs: number; toMs: number } {
  const parsed = { from: parseInstant(query.from), to: parseInstant(query.to) };
  for (const key of ['from', 'to'] as const) {
    const result = parsed[key];
    if (!result.ok) throw badRequest(`${source} parameter ${key}: ${JSON.stringify(query[key])} ${result.problem}`);
  }
  const fromMs = (parsed.from as { millis: number }).millis;
  const toMs = (parsed.to as { millis: number }).millis;
  if (fromMs > toMs) throw badRequest(`${source} parameters from and to: from (${query.from}) is after to (${query.to})`);
  if (toMs - fromMs > maxRangeDays * 86_400_000) {
    throw badRequest(`${source} parameters from and to: the range is longer than ${maxRangeDays} days; ask for a shorter one`);
  }
  return { fromMs, toMs };
}
