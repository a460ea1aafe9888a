import { describe, expect, it } from 'vitest';
import { AlertRuleError, defaultRules, parseRules, ruleFingerprint, ruleThreshold, windowMs } from './rules.js';

const parse = (rules: unknown) => parseRules(rules, 100);
const problem = (rules: unknown) => {
  try {
    parse(rules);
  } catch (error) {
    if (error instanceof AlertRuleError) return `${error.details.field}: ${error.message}`;
    throw error;
  }
  return undefined;
};

describe('alert rules', () => {
  it('fills the documented lines and the default volume', () => {
    const [rule] = parse([{ id: 'spam', rate: 'email.spamComplaintRate' }]);
    expect(rule).toEqual({
      id: 'spam',
      rate: 'email.spamComplaintRate',
      scope: {},
      window: '24h',
      warning: 0.001,
      critical: 0.003,
      minimumVolume: 100,
    });
    expect(ruleThreshold(rule!).source).toMatch(/Gmail/);
    expect(ruleThreshold({ ...rule!, warning: 0.002 }).source).toBe("the tenant's alert rule");
    expect(defaultRules(100).map((r) => r.rate)).toEqual(['email.spamComplaintRate', 'email.bounceRate']);
  });

  it('names the field of every problem', () => {
    expect(problem({})).toMatch(/^rules: must be an array/);
    expect(problem([{ id: 'a', rate: 'email.openRate' }])).toMatch(/^rules\[0\]\.rate: "email.openRate" is not one of email.bounceRate/);
    expect(problem([{ id: 'a', rate: 'email.deliveryRate' }])).toMatch(/^rules\[0\]\.rate/);
    expect(problem([{ id: 'a b', rate: 'email.bounceRate' }])).toMatch(/^rules\[0\]\.id/);
    expect(problem([{ id: 'a', rate: 'email.bounceRate', window: '2m' }])).toMatch(
      /^rules\[0\]\.window: must be minutes, hours or days from 5m to 7d/,
    );
    expect(problem([{ id: 'a', rate: 'email.bounceRate', window: '8d' }])).toMatch(/^rules\[0\]\.window/);
    expect(problem([{ id: 'a', rate: 'email.bounceRate', warning: 0.05, critical: 0.02 }])).toMatch(
      /^rules\[0\]\.warning: must be below critical/,
    );
    expect(problem([{ id: 'a', rate: 'email.bounceRate', warning: 1.5 }])).toMatch(/^rules\[0\]\.warning: must be a fraction/);
    expect(problem([{ id: 'a', rate: 'email.bounceRate', warning: 0.0000001 }])).toMatch(/whole parts per million/);
    expect(problem([{ id: 'a', rate: 'email.bounceRate', minimumVolume: 0 }])).toMatch(/^rules\[0\]\.minimumVolume/);
    expect(problem([{ id: 'a', rate: 'email.bounceRate', scope: { campaignId: 'c' } }])).toMatch(
      /^rules\[0\]\.scope\.campaignId: needs scope\.playbookId/,
    );
    expect(problem([{ id: 'a', rate: 'email.bounceRate', colour: 'red' }])).toMatch(/^rules\[0\]\.colour: is not a rule field/);
    expect(
      problem([
        { id: 'a', rate: 'email.bounceRate' },
        { id: 'a', rate: 'sms.failureRate' },
      ]),
    ).toMatch(/^rules\[1\]\.id: "a" is used by another rule/);
  });

  it('parses windows and fingerprints definitions, not webhook URLs', () => {
    expect(windowMs('30m')).toBe(1_800_000);
    expect(windowMs('24h')).toBe(86_400_000);
    expect(windowMs('1w')).toBeUndefined();
    const [rule] = parse([{ id: 'b', rate: 'email.bounceRate', window: '1h' }]);
    expect(ruleFingerprint({ ...rule!, webhookUrl: 'https://example.com/x' })).toBe(ruleFingerprint(rule!));
    expect(ruleFingerprint({ ...rule!, warning: 0.03 })).not.toBe(ruleFingerprint(rule!));
    expect(ruleFingerprint({ ...rule!, scope: { playbookId: 'p' } })).not.toBe(ruleFingerprint(rule!));
  });
});
