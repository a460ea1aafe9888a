/** Plain progress lines for the producer commands: counts, elapsed seconds and rates. */

/** `10000 events in 1.2 s (8300 events/s)` */
export function describeRate(events: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? Math.round((events * 1000) / elapsedMs) : 0;
  return `${events} events in ${(elapsedMs / 1000).toFixed(1)} s (${rate} events/s)`;
}

/** Calls `write` with a fresh line at most once per `everyMs`; small jobs print nothing. */
export function createProgress(write: (line: string) => void, everyMs: number): { report(line: () => string): void } {
  let last = performance.now();
  return {
    report(line) {
      const now = performance.now();
      if (now - last < everyMs) return;
      last = now;
      write(line());
    },
  };
}
