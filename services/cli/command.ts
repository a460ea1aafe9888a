import type { ParseArgsConfig } from 'node:util';

/**
 * One `sending-metrics <command>`: its node:util parseArgs `options` and `run(values, positionals)`
 * → exit code. The commands live in commands/, one file each; main.ts dispatches to them.
 */
export interface Command {
  summary: string;
  usage: string;
  options: ParseArgsConfig['options'];
  /** Takes words after the command (a sub-command such as `dead-letters list`). */
  allowPositionals?: boolean;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

/** A command line that does not say what the command needs: exit code 2 with the usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}
