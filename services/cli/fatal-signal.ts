/**
 * A process's fatal reasons, told to every listener — also to a listener that registers after
 * the first reason came (a part that fails while the rest of the process is still starting must
 * not be dropped because nobody listened yet).
 */
export class FatalSignal {
  private readonly listeners: ((reason: string) => void)[] = [];
  private first: string | undefined;

  /** Reports a reason: to every listener now, and to every later one. */
  raise(reason: string): void {
    this.first ??= reason;
    for (const listener of this.listeners) listener(reason);
  }

  /** Registers a listener; told at once (on the next microtask) when a reason came before. */
  listen(listener: (reason: string) => void): void {
    this.listeners.push(listener);
    const first = this.first;
    if (first !== undefined) queueMicrotask(() => listener(first));
  }
}
