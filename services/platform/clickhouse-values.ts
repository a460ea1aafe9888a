/**
 * The one place where JS values become ClickHouse text: query parameters and inserted time
 * columns. Every time is UTC; DateTime64(3) keeps milliseconds, DateTime drops them.
 */

/** Query parameters as sent with a query (`{name:Type}` placeholders). */
export type QueryParams = Record<string, string | number>;

/** `YYYY-MM-DD hh:mm:ss.mmm` in UTC: a DateTime64(3, 'UTC') value. */
export function dateTime64Text(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
}

/** `YYYY-MM-DD hh:mm:ss` in UTC: a DateTime('UTC') value (milliseconds dropped). */
export function dateTimeText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * `2026-11-27T10:15:00.123Z` → `2026-11-27 10:15:00.123`: the DateTime64(3) text of an instant
 * already normalised to UTC with milliseconds (as validated events are), without a Date on the
 * ingest's hot path.
 */
export function utcIsoToDateTime64Text(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}
