#!/usr/bin/env node
// Entry of `npx sending-metrics`: runs the TypeScript sources directly through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../services/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
