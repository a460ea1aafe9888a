#!/usr/bin/env node
// Entry of `npx sending-metrics`: runs the TypeScript sources directly through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../services/cli/main.ts');
// Exit as soon as the command is done: a client still retrying a dependency that never came
// up must not keep a stopped process alive.
process.exit(await main(process.argv.slice(2)));
