import { describe, expect, it } from 'vitest';
import { nextState } from './state-machine.js';

const bounce = { warningPpm: 20_000, criticalPpm: 50_000, source: 'test' };
const spam = { warningPpm: 1_000, criticalPpm: 3_000, source: 'test' };

describe('nextState', () => {
  it('goes up at once, at exactly the lines (inclusive)', () => {
    expect(nextState('ok', 20, 1000, bounce, 100)).toEqual({ state: 'warning' });
    expect(nextState('ok', 19, 1000, bounce, 100)).toEqual({ state: 'ok' });
    expect(nextState('ok', 50, 1000, bounce, 100)).toEqual({ state: 'critical' });
    expect(nextState('warning', 50, 1000, bounce, 100)).toEqual({ state: 'critical' });
    expect(nextState('ok', 3, 1000, spam, 100)).toEqual({ state: 'critical' });
    expect(nextState('ok', 2, 1000, spam, 100)).toEqual({ state: 'warning' });
  });

  it('comes down only below 90 % of the line (hysteresis): a rate on the line never flaps', () => {
    // critical at 5 %: holds down to 4.5 % inclusive.
    expect(nextState('critical', 45, 1000, bounce, 100)).toEqual({ state: 'critical' });
    expect(nextState('critical', 449, 10_000, bounce, 100)).toEqual({ state: 'warning' });
    // warning at 2 %: holds down to 1.8 % inclusive.
    expect(nextState('warning', 18, 1000, bounce, 100)).toEqual({ state: 'warning' });
    expect(nextState('warning', 179, 10_000, bounce, 100)).toEqual({ state: 'ok' });
    // critical straight to ok when under the lowered warning line too.
    expect(nextState('critical', 17, 1000, bounce, 100)).toEqual({ state: 'ok' });
    // Between the warning line and 90 % of it, coming from critical: warning.
    expect(nextState('critical', 19, 1000, bounce, 100)).toEqual({ state: 'warning' });
    // A rate oscillating around the line: up once, then it stays.
    let state = nextState('ok', 20, 1000, bounce, 100).state;
    for (const bounced of [19, 20, 19, 21, 19, 18]) state = nextState(state, bounced, 1000, bounce, 100).state;
    expect(state).toBe('warning');
  });

  it('holds its state below the minimum volume and with nothing sent (missing data)', () => {
    expect(nextState('ok', 99, 99, bounce, 100)).toEqual({ state: 'ok', held: 'insufficient_volume' });
    expect(nextState('critical', 0, 99, bounce, 100)).toEqual({ state: 'critical', held: 'insufficient_volume' });
    expect(nextState('warning', 0, 0, bounce, 1)).toEqual({ state: 'warning', held: 'insufficient_volume' });
    expect(nextState('ok', 5, 100, bounce, 100)).toEqual({ state: 'critical' });
  });
});
