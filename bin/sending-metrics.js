#!/usr/bin/env node
// Entry of `npx sending-metrics`: the compiled JavaScript under dist/ (`make install` builds it;
// `npm run build` does too). Development, tests and benchmarks run the TypeScript sources through
// scripts/cli-from-source.mjs instead.
import fs from 'node:fs';

const entry = new URL('../dist/services/cli/main.js', import.meta.url);
if (!fs.existsSync(entry)) {
  console.error('sending-metrics: dist/ is not built; run `make install` (or `npm run build`) first');
  process.exit(78);
}
const { main } = await import(entry.href);
// Exit as soon as the command is done: a client still retrying a dependency that never came
// up must not keep a stopped process alive.
process.exit(await main(process.argv.slice(2)));
