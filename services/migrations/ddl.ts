/**
 * The migration files' DDL as a small structure: the statement kinds the files use (CREATE TABLE,
 * CREATE MATERIALIZED VIEW, DROP VIEW / TABLE, INSERT … SELECT), parsed
 * into their parts (name, columns, engine, clauses, settings; view name, target, source), so
 * that the cluster forms are produced by changing parts, never by patching strings. The parser
 * knows exactly the subset of ClickHouse DDL the files use and refuses anything else with an
 * error naming the statement: a new kind of statement extends this file (and its tests) first.
 *
 * Over 300 lines on purpose: one small parser (each statement kind and its printer) whose parts
 * are read, changed and tested together.
 */

export class DdlError extends Error {
  override name = 'DdlError';
}

export interface Setting {
  name: string;
  /** The value as written (a number, or a quoted string). */
  value: string;
}

export interface Engine {
  /** e.g. `MergeTree`, `ReplacingMergeTree`. */
  name: string;
  /** The arguments as written, split at top-level commas (`[]` for `MergeTree` and `MergeTree()`). */
  args: string[];
}

/** A clause after ENGINE, in the order written, e.g. `{ keyword: 'ORDER BY', text: '(tenant_id, bucket)' }`. */
export interface Clause {
  keyword: 'PARTITION BY' | 'PRIMARY KEY' | 'ORDER BY' | 'SAMPLE BY' | 'TTL';
  text: string;
}

export interface CreateTable {
  kind: 'create-table';
  name: string;
  /** The text between the column list's parentheses, verbatim (layout and comments kept). */
  columns: string;
  columnNames: string[];
  engine: Engine;
  clauses: Clause[];
  settings: Setting[];
}

export interface CreateMaterializedView {
  kind: 'create-materialized-view';
  name: string;
  /** The target table (`TO target`): the files never use a view's inner table. */
  to: string;
  /** The SELECT, split around the one table it reads: `${selectHead}${from}${selectTail}`. */
  selectHead: string;
  from: string;
  selectTail: string;
}

/** `DROP VIEW|TABLE IF EXISTS name`: a view or table a later migration replaces. */
export interface Drop {
  kind: 'drop';
  object: 'VIEW' | 'TABLE';
  name: string;
}

/**
 * `INSERT INTO target … SELECT …`: a one-off copy of rows (a backfill), run once on the node the
 * migrations run on, in every form as written (into a Distributed table when sharded).
 */
export interface InsertSelect {
  kind: 'insert-select';
  into: string;
  text: string;
}

export type Statement = CreateTable | CreateMaterializedView | Drop | InsertSelect;

const IDENTIFIER = '[A-Za-z_][A-Za-z0-9_]*';
const CLAUSE_KEYWORDS = ['PARTITION BY', 'PRIMARY KEY', 'ORDER BY', 'SAMPLE BY', 'TTL', 'SETTINGS'] as const;

/**
 * Visits the characters of `text` that are code: not inside a quoted string, a quoted identifier
 * or a comment. `visit(index, depth)` gets the parenthesis depth before the character; it may
 * return true to stop.
 */
function scanCode(text: string, visit: (index: number, depth: number) => boolean | void): void {
  let depth = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === "'" || c === '"' || c === '`') {
      for (i += 1; i < text.length && text[i] !== c; i += 1) if (text[i] === '\\') i += 1;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i += 1;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
      continue;
    }
    if (visit(i, depth)) return;
    if (c === '(') depth += 1;
    else if (c === ')') depth -= 1;
  }
}

/** Splits at commas outside parentheses, quotes and comments; pieces trimmed, empty ones dropped. */
function splitTopLevel(text: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  scanCode(text, (i, depth) => {
    if (text[i] === ',' && depth === 0) {
      pieces.push(text.slice(start, i));
      start = i + 1;
    }
  });
  pieces.push(text.slice(start));
  return pieces.map((piece) => piece.trim()).filter((piece) => withoutComments(piece) !== '');
}

/** The text with its comments removed (used to read names and to check, never for output). */
function withoutComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] ?? '';
    if (c === "'" || c === '"' || c === '`') {
      const begin = i;
      for (i += 1; i < text.length && text[i] !== c; i += 1) if (text[i] === '\\') i += 1;
      out += text.slice(begin, i + 1);
    } else if (c === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i += 1;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
      out += ' ';
    } else {
      out += c;
    }
  }
  return out.trim();
}

/** Index of the parenthesis closing the one at `open`. */
function closingParenthesis(text: string, open: number, statement: string): number {
  let found = -1;
  scanCode(text.slice(open), (i, depth) => {
    if (text[open + i] === ')' && depth === 1) {
      found = open + i;
      return true;
    }
    return false;
  });
  if (found === -1) throw new DdlError(`unbalanced parentheses in: ${summary(statement)}`);
  return found;
}

function summary(statement: string): string {
  const code = withoutComments(statement).replace(/\s+/g, ' ');
  return code.length > 80 ? `${code.slice(0, 80)}…` : code;
}

/** Positions of the top-level clause keywords after ENGINE (outside parentheses, quotes, comments). */
function clauseStarts(text: string): { keyword: (typeof CLAUSE_KEYWORDS)[number]; at: number; end: number }[] {
  const starts: { keyword: (typeof CLAUSE_KEYWORDS)[number]; at: number; end: number }[] = [];
  scanCode(text, (i, depth) => {
    if (depth !== 0 || (i > 0 && /[A-Za-z0-9_]/.test(text[i - 1] ?? ''))) return;
    for (const keyword of CLAUSE_KEYWORDS) {
      const pattern = new RegExp(`^${keyword.replace(' ', '\\s+')}(?![A-Za-z0-9_])`, 'i');
      const match = pattern.exec(text.slice(i));
      if (match) {
        starts.push({ keyword, at: i, end: i + match[0].length });
        return;
      }
    }
  });
  return starts;
}

/** Parses one statement of a migration file (leading comment lines allowed). */
export function parseStatement(statement: string): Statement {
  const code = statement.replace(/^(?:\s*--[^\n]*\n)*/, '').trim();
  const table = new RegExp(`^CREATE\\s+TABLE\\s+IF\\s+NOT\\s+EXISTS\\s+(${IDENTIFIER})\\s*\\(`, 'i').exec(code);
  if (table) return parseCreateTable(code, table[1] ?? '', table[0].length - 1, statement);
  const view = new RegExp(
    `^CREATE\\s+MATERIALIZED\\s+VIEW\\s+IF\\s+NOT\\s+EXISTS\\s+(${IDENTIFIER})\\s+TO\\s+(${IDENTIFIER})\\s+AS\\s+(SELECT\\b[\\s\\S]*)$`,
    'i',
  ).exec(code);
  if (view) return parseMaterializedView(view[1] ?? '', view[2] ?? '', view[3] ?? '', statement);
  const drop = new RegExp(`^DROP\\s+(VIEW|TABLE)\\s+IF\\s+EXISTS\\s+(${IDENTIFIER})$`, 'i').exec(code);
  if (drop) return { kind: 'drop', object: (drop[1] ?? '').toUpperCase() as Drop['object'], name: drop[2] ?? '' };
  const insert = new RegExp(`^INSERT\\s+INTO\\s+(${IDENTIFIER})\\s*(?:\\([^)]*\\))?\\s*SELECT\\b`, 'i').exec(code);
  if (insert) return { kind: 'insert-select', into: insert[1] ?? '', text: code };
  throw new DdlError(
    'the cluster translation knows CREATE TABLE IF NOT EXISTS name (…) ENGINE = …, ' +
      'CREATE MATERIALIZED VIEW IF NOT EXISTS name TO target AS SELECT …, DROP VIEW|TABLE IF EXISTS name and ' +
      `INSERT INTO name (…) SELECT …; not: ${summary(statement)}`,
  );
}

function parseCreateTable(code: string, name: string, open: number, statement: string): CreateTable {
  const close = closingParenthesis(code, open, statement);
  const columns = code.slice(open + 1, close);
  const columnNames = splitTopLevel(columns).map((definition) => {
    const match = new RegExp(`^(?:\`([^\`]+)\`|(${IDENTIFIER}))\\s`).exec(withoutComments(definition) + ' ');
    if (!match) throw new DdlError(`cannot read the column definition ${JSON.stringify(definition)} of table ${name}`);
    return match[1] ?? match[2] ?? '';
  });
  const rest = code.slice(close + 1).trim();
  const engineMatch = new RegExp(`^ENGINE\\s*=\\s*(${IDENTIFIER})`, 'i').exec(rest);
  if (!engineMatch) throw new DdlError(`table ${name} has no ENGINE = … right after its columns: ${summary(statement)}`);
  let afterEngine = engineMatch[0].length;
  let args: string[] = [];
  const argsOpen = /^\s*\(/.exec(rest.slice(afterEngine));
  if (argsOpen) {
    const openAt = afterEngine + argsOpen[0].length - 1;
    const closeAt = closingParenthesis(rest, openAt, statement);
    args = splitTopLevel(rest.slice(openAt + 1, closeAt));
    afterEngine = closeAt + 1;
  }
  const tail = rest.slice(afterEngine);
  const starts = clauseStarts(tail);
  const leading = withoutComments(tail.slice(0, starts[0]?.at ?? tail.length));
  if (leading !== '') throw new DdlError(`table ${name}: unexpected ${JSON.stringify(leading)} after the engine`);
  const clauses: Clause[] = [];
  let settings: Setting[] = [];
  starts.forEach((start, index) => {
    const text = tail.slice(start.end, starts[index + 1]?.at ?? tail.length).trim();
    if (start.keyword === 'SETTINGS') {
      settings = splitTopLevel(text).map((item) => {
        const match = new RegExp(`^(${IDENTIFIER})\\s*=\\s*(\\S[\\s\\S]*)$`).exec(item);
        if (!match) throw new DdlError(`table ${name}: cannot read the setting ${JSON.stringify(item)}`);
        return { name: match[1] ?? '', value: (match[2] ?? '').trim() };
      });
    } else {
      clauses.push({ keyword: start.keyword, text });
    }
  });
  return { kind: 'create-table', name, columns, columnNames, engine: { name: engineMatch[1] ?? '', args }, clauses, settings };
}

function parseMaterializedView(name: string, to: string, select: string, statement: string): CreateMaterializedView {
  const froms: { at: number; end: number; table: string }[] = [];
  scanCode(select, (i, depth) => {
    if (i > 0 && /[A-Za-z0-9_]/.test(select[i - 1] ?? '')) return;
    const match = new RegExp(`^FROM\\s+(${IDENTIFIER})(?![A-Za-z0-9_.])`, 'i').exec(select.slice(i));
    if (match) {
      if (depth !== 0) froms.push({ at: -1, end: -1, table: '' });
      else froms.push({ at: i + match[0].length - (match[1] ?? '').length, end: i + match[0].length, table: match[1] ?? '' });
    } else if (/^(JOIN|FROM)\b/i.test(select.slice(i))) {
      froms.push({ at: -1, end: -1, table: '' });
    }
  });
  const [from] = froms;
  if (froms.length !== 1 || !from || from.at < 0) {
    throw new DdlError(`materialized view ${name} must read exactly one table (FROM name, no JOIN or subquery): ${summary(statement)}`);
  }
  return {
    kind: 'create-materialized-view',
    name,
    to,
    selectHead: select.slice(0, from.at),
    from: from.table,
    selectTail: select.slice(from.end),
  };
}

/** Options of a rendered statement beyond its parts. */
export interface RenderOptions {
  /** `ON CLUSTER 'name'` after the object's name. */
  onCluster?: string;
}

function quote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function onCluster(options: RenderOptions): string {
  return options.onCluster === undefined ? '' : ` ON CLUSTER ${quote(options.onCluster)}`;
}

/** Renders a parsed statement back to DDL (without the trailing `;`). */
export function renderStatement(statement: Statement, options: RenderOptions = {}): string {
  if (statement.kind === 'drop') return `DROP ${statement.object} IF EXISTS ${statement.name}${onCluster(options)}`;
  // Run once, where the migrations run: on a cluster the rows reach the other nodes by replication or the Distributed table.
  if (statement.kind === 'insert-select') return statement.text;
  if (statement.kind === 'create-materialized-view') {
    return (
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${statement.name}${onCluster(options)} TO ${statement.to}\n` +
      `AS ${statement.selectHead}${statement.from}${statement.selectTail}`
    );
  }
  const engine =
    statement.engine.args.length === 0 ? statement.engine.name : `${statement.engine.name}(${statement.engine.args.join(', ')})`;
  const lines = [
    `CREATE TABLE IF NOT EXISTS ${statement.name}${onCluster(options)}`,
    `(${statement.columns})`,
    `ENGINE = ${engine}`,
    ...statement.clauses.map((clause) => `${clause.keyword} ${clause.text}`),
  ];
  if (statement.settings.length > 0) lines.push(`SETTINGS ${statement.settings.map((s) => `${s.name} = ${s.value}`).join(', ')}`);
  return lines.join('\n');
}

/** `CREATE TABLE IF NOT EXISTS name ON CLUSTER … AS local ENGINE = Distributed(…)`. */
export function renderDistributedTable(
  name: string,
  local: string,
  cluster: string,
  shardingKey: string,
  options: RenderOptions = {},
): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${name}${onCluster(options)} AS ${local}\n` +
    `ENGINE = Distributed(${quote(cluster)}, currentDatabase(), ${quote(local)}, ${shardingKey})`
  );
}

export { quote as quoteString };
