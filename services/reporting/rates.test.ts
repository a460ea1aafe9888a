import { describe, expect, it } from 'vitest';
import { judge, rate, rateDefinition, rateOf, ratesOf, RATE_DEFINITIONS, describeRates } from './rates.js';
import type { OutreachCounts } from './outreach-query.js';

const spam = rateDefinition('email.spamComplaintRate')!.threshold!;
const bounce = rateDefinition('email.bounceRate')!.threshold!;

function counts(sms: Partial<OutreachCounts['sms']>, email: Partial<OutreachCounts['email']>): OutreachCounts {
  return {
    sms: { sent: 0, failed: 0, rejected: 0, expired: 0, ...sms },
    email: { sent: 0, failed: 0, rejected: 0, expired: 0, delivered: 0, bounced: 0, blocked: 0, spamReported: 0, ...email },
  };
}

describe('judge', () => {
  it('is inclusive and exact at the spam-complaint lines (0.1 %, 0.3 %)', () => {
    expect(judge(3, 1000, spam, 100)).toBe('critical');
    expect(judge(2, 1000, spam, 100)).toBe('warning');
    expect(judge(1, 1000, spam, 100)).toBe('warning');
    expect(judge(0, 1000, spam, 100)).toBe('ok');
    // 0.3 % of 1,000,001 is 3,000.003: 3,000 complaints are just below the line.
    expect(judge(3000, 1_000_001, spam, 100)).toBe('warning');
    expect(judge(3001, 1_000_001, spam, 100)).toBe('critical');
    expect(judge(999, 1_000_000, spam, 100)).toBe('ok');
    expect(judge(1000, 1_000_000, spam, 100)).toBe('warning');
  });

  it('is inclusive and exact at the bounce lines (2 %, 5 %)', () => {
    expect(judge(5, 100, bounce, 100)).toBe('critical');
    expect(judge(4, 100, bounce, 100)).toBe('warning');
    expect(judge(2, 100, bounce, 100)).toBe('warning');
    expect(judge(1, 100, bounce, 100)).toBe('ok');
    expect(judge(49_999, 1_000_000, bounce, 100)).toBe('warning');
    expect(judge(50_000, 1_000_000, bounce, 100)).toBe('critical');
  });

  it('says insufficient_volume below the minimum denominator, and judges at it', () => {
    expect(judge(99, 99, bounce, 100)).toBe('insufficient_volume');
    expect(judge(0, 0, bounce, 0)).toBe('insufficient_volume');
    expect(judge(5, 100, bounce, 100)).toBe('critical');
    expect(judge(0, 100, bounce, 100)).toBe('ok');
    expect(judge(1, 10, bounce, 10)).toBe('critical');
  });

  it('stays exact beyond 2^53 / 10^6 events', () => {
    const big = 9_000_000_000_000; // × 10^6 is far beyond Number.MAX_SAFE_INTEGER
    expect(judge(big * 0.02, big, bounce, 100)).toBe('warning');
    expect(judge(big * 0.02 - 1, big, bounce, 100)).toBe('ok');
  });
});

describe('ratesOf', () => {
  it('takes each rate’s numerator and denominator from the statuses its definition names', () => {
    const rates = ratesOf(
      counts(
        { sent: 90, failed: 5, rejected: 3, expired: 2 },
        { sent: 1000, failed: 10, rejected: 0, expired: 0, delivered: 950, bounced: 30, blocked: 20, spamReported: 3 },
      ),
      100,
    );
    expect(rates.sms.failureRate).toMatchObject({ numerator: 10, denominator: 100, value: 0.1, health: 'critical' });
    expect(rates.email.deliveryRate).toMatchObject({ numerator: 950, denominator: 1000, value: 0.95, health: null, threshold: null });
    expect(rates.email.bounceRate).toMatchObject({ numerator: 30, denominator: 1000, value: 0.03, health: 'warning' });
    expect(rates.email.blockRate).toMatchObject({ numerator: 20, denominator: 1000, value: 0.02, health: 'warning' });
    expect(rates.email.spamComplaintRate).toMatchObject({ numerator: 3, denominator: 950, health: 'critical' });
    expect(rates.email.spamComplaintRate.value).toBe(3 / 950);
    expect(rates.email.sendFailureRate).toMatchObject({ numerator: 10, denominator: 1010, health: 'ok' });
    expect(rates.email.spamComplaintRate.threshold).toMatchObject({ warning: 0.001, critical: 0.003, minimumVolume: 100 });
    expect(rates.email.spamComplaintRate.threshold!.source).toMatch(/Gmail/);
  });

  it('gives a null value, never NaN, when nothing was sent', () => {
    const rates = ratesOf(counts({}, {}), 100);
    for (const definition of RATE_DEFINITIONS) {
      const judged = (rates as unknown as Record<string, Record<string, ReturnType<typeof rate>>>)[definition.channel]![definition.key]!;
      expect(judged).toMatchObject({ numerator: 0, denominator: 0, value: null });
    }
    expect(rates.email.bounceRate.health).toBe('insufficient_volume');
  });

  it('documents every rate with its formula and lines', () => {
    const text = describeRates();
    for (const definition of RATE_DEFINITIONS) expect(text).toContain(`${definition.id} = ${definition.formula}`);
    expect(text).toContain('warning ≥ 0.1 %, critical ≥ 0.3 %');
  });
});

describe('rateOf', () => {
  it('finds every defined rate in an answer, with the parts its definition names', () => {
    const answer = ratesOf(
      counts({ sent: 7, failed: 1, rejected: 1, expired: 1 }, { sent: 50, delivered: 40, bounced: 3, blocked: 2, spamReported: 1 }),
    );
    const found = RATE_DEFINITIONS.map((definition) => [definition.id, rateOf(answer, definition)] as const);
    expect(found.every(([, judged]) => judged !== undefined)).toBe(true);
    expect(Object.fromEntries(found.map(([id, judged]) => [id, `${judged.numerator}/${judged.denominator}`]))).toEqual({
      'email.deliveryRate': '40/50',
      'email.bounceRate': '3/50',
      'email.blockRate': '2/50',
      'email.spamComplaintRate': '1/40',
      'email.sendFailureRate': '0/50',
      'sms.failureRate': '3/10',
    });
  });
});
