import { messageOf } from '../../services/platform/errors.js';

/**
 * Waits for a condition instead of sleeping a fixed time: asks `probe` every `everyMs` until it
 * answers a value (not undefined, not false) and returns that value; after `timeoutMs` it throws,
 * naming `what` and the probe's last error. The timeout only bounds a failing run: a passing test
 * never depends on it.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 120_000,
  everyMs = 250,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${messageOf(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
