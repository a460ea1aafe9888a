#!/usr/bin/env node
// The command line from the TypeScript sources, through tsx: what tests and benchmarks run (so
// that they test the tree as it is, built or not). `npx sending-metrics` runs dist/ instead.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../services/cli/main.ts');
process.exit(await main(process.argv.slice(2)));
