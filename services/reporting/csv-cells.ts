/**
 * CSV formula injection (OWASP, "CSV Injection"): a spreadsheet opening an export runs a cell
 * that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula
 * (`=HYPERLINK(…)`, `=cmd|' /C calc'!A0`). Every CSV the product writes therefore prefixes such a
 * text cell with a single quote and keeps it quoted; numeric columns (counts) are written as
 * numbers and never touched.
 *
 * So that the rule can be undone exactly (the export's keyset cursor reads event ids back from
 * the CSV), a text that already starts with single quotes followed by one of those characters
 * gets one more quote too: strip one leading quote from a cell matching
 * `^'+[=+\-@\t\r]` to get the stored text back.
 */

/** A text cell a spreadsheet would take for a formula, or one that already looks escaped. */
const NEEDS_QUOTE = /^'*[=+\-@\t\r]/;
const ESCAPED = /^'+[=+\-@\t\r]/;

/** The text as it is written into a CSV cell. */
export function neutralizeCell(text: string): string {
  return NEEDS_QUOTE.test(text) ? `'${text}` : text;
}

/** The stored text of a cell written by {@link neutralizeCell} (or by {@link neutralizeSql}). */
export function restoreCell(cell: string): string {
  return ESCAPED.test(cell) ? cell.slice(1) : cell;
}

/** The same rule in ClickHouse SQL, for a String (or Nullable(String)) expression. */
export function neutralizeSql(expression: string): string {
  return `if(match(${expression}, '^\\'*[=+\\\\-@\\t\\r]'), concat('\\'', ${expression}), ${expression})`;
}
