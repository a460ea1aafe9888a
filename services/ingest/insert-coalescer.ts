/**
 * Inserts the rows of one bookkeeping table in as few statements as its callers allow (a group
 * commit): rows handed in while an insert runs go together in the next one. On the embedded
 * engine every statement costs tens of milliseconds whatever its size, and a dozen partitions
 * record their intents and written marks at about the same moments. Each call resolves once an
 * insert holding its rows succeeded, or rejects with that insert's error (its caller retries).
 */
export class InsertCoalescer<Row> {
  private waiting: { rows: Row[]; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private running = false;

  constructor(private readonly insert: (rows: Row[]) => Promise<void>) {}

  add(rows: Row[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ rows, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.waiting.length > 0) {
      const calls = this.waiting;
      this.waiting = [];
      try {
        await this.insert(calls.flatMap((call) => call.rows));
        for (const call of calls) call.resolve();
      } catch (error) {
        for (const call of calls) call.reject(error);
      }
    }
    this.running = false;
  }
}
