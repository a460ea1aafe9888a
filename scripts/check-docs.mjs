#!/usr/bin/env node
// Checks the documentation (README.md and docs/*.md), run by `make lint`:
// - every relative link points to a file that exists, and its `#anchor` to a heading of that file
//   (GitHub's slugs: lower case, punctuation dropped, spaces to `-`, repeats numbered `-1`, `-2`);
// - every `make <target>` named in code (a code span or block) is a target of the Makefile;
// - every `npx sending-metrics <command>` named in code is a command of services/cli/main.ts.
// Usage: node scripts/check-docs.mjs [ROOT] (default: the repository this script is in).
// Prints one line per problem and exits 1 if there is any.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const docsDir = join(root, 'docs');
const files = [join(root, 'README.md')];
if (existsSync(docsDir)) {
  for (const name of readdirSync(docsDir).sort()) if (name.endsWith('.md')) files.push(join(docsDir, name));
}

/** The text of a Markdown file without its fenced code blocks (their lines kept blank, so line numbers hold). */
function withoutFences(text) {
  let fence = null;
  return text.split('\n').map((line) => {
    const match = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence === null && match) {
      fence = match[1];
      return '';
    }
    if (fence !== null) {
      if (line.trim().startsWith(fence)) fence = null;
      return '';
    }
    return line;
  });
}

/** GitHub's anchor of a heading's text. */
function slug(heading) {
  return heading
    .replace(/<[^>]*>/g, '')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*_`]/g, (c) => (c === '_' ? '_' : ''))
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const anchorCache = new Map();
function anchorsOf(file) {
  if (!anchorCache.has(file)) {
    const anchors = new Set();
    const seen = new Map();
    for (const line of withoutFences(readFileSync(file, 'utf8'))) {
      const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
      if (!heading) continue;
      const base = slug(heading[1]);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const line of withoutFences(readFileSync(file, 'utf8'))) {
      for (const m of line.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(m[1]);
    }
    anchorCache.set(file, anchors);
  }
  return anchorCache.get(file);
}

function makeTargets() {
  const targets = new Set();
  for (const line of readFileSync(join(root, 'Makefile'), 'utf8').split('\n')) {
    const rule = /^([A-Za-z0-9_.\-/ ]+?)\s*:(?!=)/.exec(line);
    if (rule && !line.startsWith('\t')) for (const name of rule[1].split(/\s+/)) if (name && !name.startsWith('.')) targets.add(name);
  }
  return targets;
}

function cliCommands() {
  const source = readFileSync(join(root, 'services', 'cli', 'main.ts'), 'utf8');
  const table = /const\s+COMMANDS\b[^\n]*?=\s*\{([\s\S]*?)\n\};/i.exec(source);
  if (!table) throw new Error('services/cli/main.ts: the command table (const COMMANDS = { … }) was not found');
  return new Set([...table[1].matchAll(/^\s*'?([a-z][a-z0-9-]*)'?\s*:/gm)].map((m) => m[1]));
}

const targets = makeTargets();
const commands = cliCommands();
const problems = [];

for (const file of files) {
  const name = relative(root, file);
  const text = readFileSync(file, 'utf8');
  const prose = withoutFences(text);
  // Links: checked outside code blocks and code spans.
  prose.forEach((line, index) => {
    const visible = line.replace(/`[^`]*`/g, '');
    for (const m of visible.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue; // absolute URL, mailto:
      const [path, anchor] = target.split('#', 2);
      const dest = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
      const where = `${name}:${index + 1}`;
      if (!existsSync(dest)) {
        problems.push(`${where}: link to ${target}: ${relative(root, dest)} does not exist`);
        continue;
      }
      if (anchor !== undefined && anchor !== '') {
        if (!statSync(dest).isFile() || !dest.endsWith('.md')) {
          problems.push(`${where}: link to ${target}: an anchor into a file that is not Markdown`);
        } else if (!anchorsOf(dest).has(decodeURIComponent(anchor))) {
          problems.push(`${where}: link to ${target}: ${relative(root, dest)} has no heading #${anchor}`);
        }
      }
    }
  });
  // `make <target>` and `npx sending-metrics <command>`, in code (spans and fenced blocks), where
  // "make" is the command and not the English verb; `make bench-*` is a family, not a target.
  const proseLines = new Set(prose.map((line, index) => (line === '' ? -1 : index)));
  text.split('\n').forEach((line, index) => {
    const where = `${name}:${index + 1}`;
    const code = proseLines.has(index) ? [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]).join('\0') : line;
    for (const m of code.matchAll(/(?<![\w-])make\s+([a-z][a-z0-9-]*)(\*?)/g)) {
      if (m[2] !== '*' && !targets.has(m[1])) problems.push(`${where}: make ${m[1]}: no such target in the Makefile`);
    }
    for (const m of code.matchAll(/npx\s+sending-metrics\s+([a-z][a-z0-9-]*)/g)) {
      if (!commands.has(m[1])) problems.push(`${where}: npx sending-metrics ${m[1]}: no such command in services/cli/main.ts`);
    }
  });
}

if (problems.length > 0) {
  process.stdout.write(`${problems.join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`docs: ${files.length} files, every link, anchor, make target and command exists\n`);
