/**
 * Pauses the consumer loudly when too many records are invalid (a wrong topic, a broken producer)
 * instead of dead-lettering everything. The ratio is over the last `window` records. Once an
 * operator has acknowledged a breach (resume), the guard lets the burst through (to the
 * dead-letter topic) and arms itself again when the invalid share is back within the limit.
 */
export class InvalidRatioGuard {
  private readonly marks: Uint8Array;
  private next = 0;
  private filled = 0;
  private invalid = 0;
  private acknowledged = false;

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
    if (this.acknowledged) {
      if (this.invalid / this.window <= this.maxRatio) this.acknowledged = false;
      return undefined;
    }
    if (this.filled === this.window && this.invalid / this.window > this.maxRatio) {
      return `${this.invalid} of the last ${this.window} records were invalid (limit ${Math.round(this.maxRatio * 100)}%); pausing instead of dead-lettering everything`;
    }
    return undefined;
  }

  /** The operator has seen the breach: let the burst through until the share is back within the limit. */
  acknowledge(): void {
    this.acknowledged = true;
  }
}
