import { parseArgs } from 'node:util';
import { ConfigError } from '../platform/config.js';
import { UsageError, type Command } from './command.js';
import { messageOf } from '../platform/errors.js';

/** `sending-metrics <command>`: every command is a file of commands/, loaded when it is asked for. */

const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  migrate: async () => (await import('./commands/migrate.js')).migrateCommand,
  produce: async () => (await import('./commands/produce.js')).produceCommand,
  simulate: async () => (await import('./commands/simulate.js')).simulateCommand,
  token: async () => (await import('./commands/token.js')).tokenCommand,
  'api-key': async () => (await import('./commands/api-key.js')).apiKeyCommand,
  'ingest-resume': async () => (await import('./commands/ingest-resume.js')).ingestResumeCommand,
  'dead-letters': async () => (await import('./commands/dead-letters.js')).deadLettersCommand,
  verify: async () => (await import('./commands/rollups.js')).verifyCommand,
  'rebuild-rollups': async () => (await import('./commands/rollups.js')).rebuildRollupsCommand,
  replay: async () => (await import('./commands/replay.js')).replayCommand,
  'erase-customer': async () => (await import('./commands/erase-customer.js')).eraseCustomerCommand,
};

async function usage(): Promise<string> {
  const lines = ['usage: sending-metrics <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    try {
      const command = await load();
      lines.push(`  ${command.usage}`, `      ${command.summary}`);
    } catch {
      lines.push(`  ${name}`);
    }
  }
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`unknown command ${JSON.stringify(name)}\n\n${await usage()}`);
    return 2;
  }
  const command = await load();
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    });
  } catch (error) {
    console.error(`${messageOf(error)}\nusage: sending-metrics ${command.usage}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(`usage: sending-metrics ${command.usage}\n${command.summary}`);
    return 0;
  }
  try {
    return await command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      return 78;
    }
    if (error instanceof UsageError) {
      console.error(`${error.message}\nusage: sending-metrics ${command.usage}`);
      return 2;
    }
    throw error;
  }
}
