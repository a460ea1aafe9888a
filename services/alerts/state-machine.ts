import type { RateThreshold } from '../reporting/index.js';

/**
 * The alert state of one rule, from one evaluation of its rate (exact integers, as the rates
 * are judged):
 *
 * - Up at once: a rate at or above critical is critical, at or above warning is warning
 *   (boundaries inclusive, as the rates' health).
 * - Down with hysteresis: a state is left only when the rate is below 90 % of its line
 *   (CLEAR_RATIO): critical at 5 % holds until the rate is under 4.5 %, warning at 2 % until
 *   under 1.8 %. A rate sitting on a line therefore never flaps. On the way down the new state
 *   is judged against the lowered lines too (critical → warning when under 4.5 % but at or
 *   above 1.8 %; straight to ok when under 1.8 %).
 * - No judgement without volume: below the rule's minimum volume (or with nothing sent at all)
 *   the state holds, neither firing nor resolving, and the evaluation says why.
 */

export type AlertState = 'ok' | 'warning' | 'critical';

/** A state is left only below this share of its line. */
export const CLEAR_NUMERATOR = 9n;
export const CLEAR_DENOMINATOR = 10n;

export interface Evaluation {
  state: AlertState;
  /** Why the state holds without judging, if it does. */
  held?: 'insufficient_volume';
}

const LEVEL: Record<AlertState, number> = { ok: 0, warning: 1, critical: 2 };

/** numerator / denominator ≥ ppm / 10⁶, exactly. */
function atLeast(numerator: number, denominator: number, ppm: number, scale = 1n, divisor = 1n): boolean {
  return BigInt(numerator) * 1_000_000n * divisor >= BigInt(denominator) * BigInt(ppm) * scale;
}

export function nextState(
  current: AlertState,
  numerator: number,
  denominator: number,
  threshold: RateThreshold,
  minimumVolume: number,
): Evaluation {
  if (denominator === 0 || denominator < minimumVolume) return { state: current, held: 'insufficient_volume' };
  const up: AlertState = atLeast(numerator, denominator, threshold.criticalPpm)
    ? 'critical'
    : atLeast(numerator, denominator, threshold.warningPpm)
      ? 'warning'
      : 'ok';
  if (LEVEL[up] >= LEVEL[current]) return { state: up };
  // Going down: judged against the lowered lines, and never below what the raw lines say.
  const holdsCritical = atLeast(numerator, denominator, threshold.criticalPpm, CLEAR_NUMERATOR, CLEAR_DENOMINATOR);
  const holdsWarning = atLeast(numerator, denominator, threshold.warningPpm, CLEAR_NUMERATOR, CLEAR_DENOMINATOR);
  if (current === 'critical' && holdsCritical) return { state: 'critical' };
  if (holdsWarning) return { state: 'warning' };
  return { state: 'ok' };
}
