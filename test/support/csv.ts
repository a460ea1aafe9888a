import { parse } from 'csv-parse/sync';

/**
 * Reads CSV strictly as RFC 4180 with CRLF record ends (what the exports promise): a stray
 * quote, an unterminated field or a bare LF between records fails or shows up in a value.
 */
export function parseCsv(text: string): string[][] {
  return parse(text, { record_delimiter: '\r\n', relax_quotes: false, relax_column_count: false, skip_empty_lines: false }) as string[][];
}
