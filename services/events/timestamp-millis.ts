import avro from 'avsc';
import { canonicalMillis, formatInstant } from './instant.js';

/**
 * avsc logical type for `{"type":"long","logicalType":"timestamp-millis"}` whose JavaScript
 * value is the event contract's UTC instant string (`2026-11-27T10:15:00.123Z`), so events
 * are written and read without an intermediate Date or copy.
 */
class IsoTimestampMillis extends avro.types.LogicalType {
  protected override _fromValue(millis: number): string {
    return formatInstant(millis);
  }

  /** NaN for an unparseable instant, which the long writer then refuses. */
  protected override _toValue(instant: unknown): number {
    if (typeof instant !== 'string') return Number.NaN;
    const millis = canonicalMillis(instant);
    return Number.isNaN(millis) ? Date.parse(instant) : millis;
  }

  protected override _resolve(writer: avro.Type): ((value: unknown) => unknown) | undefined {
    if (writer instanceof IsoTimestampMillis) return (value) => value;
    if (avro.Type.isType(writer, 'long')) return (millis) => this._fromValue(millis as number);
    return undefined;
  }
}

export const LOGICAL_TYPES = { 'timestamp-millis': IsoTimestampMillis };
