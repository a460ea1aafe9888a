/**
 * Stops the consumer loudly when too many records are invalid (a wrong topic, a broken producer)
 * instead of dead-lettering everything. The ratio is over the last `window` records.
 */
export class InvalidRatioGuard {
  private readonly marks: Uint8Array;
  private next = 0;
  private filled = 0;
  private invalid = 0;

  constructor(
    private readonly maxRatio: number,
    private readonly window: number,
  ) {
    this.marks = new Uint8Array(window);
  }

  /** Records one outcome; returns an error message when the limit is exceeded. */
  observe(isInvalid: boolean): string | undefined {
    const mark = isInvalid ? 1 : 0;
    if (this.filled === this.window) this.invalid -= this.marks[this.next]!;
    else this.filled += 1;
    this.marks[this.next] = mark;
    this.invalid += mark;
    this.next = (this.next + 1) % this.window;
    if (this.filled === this.window && this.invalid / this.window > this.maxRatio) {
      return `${this.invalid} of the last ${this.window} records were invalid (limit ${Math.round(this.maxRatio * 100)}%); stopping instead of dead-lettering everything`;
    }
    return undefined;
  }
}
