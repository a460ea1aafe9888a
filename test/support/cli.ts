import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
/** The command line from the TypeScript sources (tsx): tests run the tree as it is, built or not. */
export const BIN = path.join(ROOT, 'scripts/cli-from-source.mjs');

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `sending-metrics <args>` as a user would, with extra environment variables. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  input?: string,
  timeoutMs = 120_000,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/** Starts a long-running `sending-metrics run ...` and resolves once its stderr says it is ready. */
export function startCli(
  args: string[],
  env: Record<string, string | undefined>,
  readyPattern = /sending-metrics ready/,
): Promise<{ child: ChildProcess; output: () => string; url?: string; token?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(new Error(`not ready within 90 s:\n${out.slice(-4000)}`));
    }, 90_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (!settled && readyPattern.test(out)) {
        settled = true;
        clearTimeout(timer);
        // Give the banner's following lines a moment to arrive.
        setTimeout(() => {
          const url = /dashboard: (\S+?)\/?\s/.exec(out)?.[1];
          const token = /dev token \([^)]*\): (\S+)/.exec(out)?.[1];
          resolve({ child, output: () => out, url, token });
        }, 50);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready:\n${out.slice(-4000)}`));
    });
  });
}

export function waitForExit(child: ChildProcess, timeoutMs = 60_000): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('process did not exit in time')), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal ? -1 : null));
    });
  });
}
