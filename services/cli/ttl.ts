/** `--ttl` of the token command: a whole number with s, m, h or d, e.g. 1h, at most `max` (ms, named by maxText). */
export function parseTtl(text: string, max: number, maxText: string): number {
  const match = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (!match) throw new Error(`--ttl ${JSON.stringify(text)} is not a duration; expected a number with s, m, h or d, e.g. 1h`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  const ms = Number(match[1]) * unit;
  if (ms <= 0) throw new Error(`--ttl ${JSON.stringify(text)} must be longer than zero`);
  if (ms > max) throw new Error(`--ttl ${JSON.stringify(text)} is longer than the maximum of ${maxText}`);
  return ms;
}
