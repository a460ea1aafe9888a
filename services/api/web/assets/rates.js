// @ts-check
/**
 * The rates and the metrics of the chart, from the server's vocabulary, and how a judged rate is
 * drawn: its value and parts, its health badge, its table.
 */
import { block, twoLines, $ } from './dom.js';
import { line, numbers, percent, rateChange } from './format.js';
import { EMAIL_STATUSES, RATES, SMS_STATUSES } from './vocabulary.js';

/** @typedef {import('./types.js').JudgedRate} JudgedRate */
/** @typedef {import('./types.js').RatesAnswer} RatesAnswer */
/** @typedef {import('./vocabulary.js').RateWords} RateWords */

/** @type {Record<import('./types.js').Health, [string, string]>} */
const HEALTH = {
  ok: ['OK', 'Below the warning line.'],
  warning: ['Warning', 'At or above the warning line.'],
  critical: ['Critical', 'At or above the critical line.'],
  insufficient_volume: ['Too few to judge', 'Too few messages to judge.'],
};

/** @param {'sms' | 'email'} channel */
const channelWords = (channel) => (channel === 'sms' ? 'Text messages' : 'Emails');

/** The counts the chart draws as bars: [metric, label]. @type {[string, string][]} */
export const COUNT_METRICS = [
  ['entries', 'Campaign entries'],
  ['exits', 'Campaign exits'],
  ...SMS_STATUSES.map(({ key, label }) => /** @type {[string, string]} */ ([`sms.${key}`, `Text messages: ${label.toLowerCase()}`])),
  ...EMAIL_STATUSES.map(({ key, label }) => /** @type {[string, string]} */ ([`email.${key}`, `Emails: ${label.toLowerCase()}`])),
];
/** The rates the chart draws as lines. @type {[string, string][]} */
export const RATE_METRICS = RATES.map((rate) => [rate.id, `${channelWords(rate.channel)}: ${rate.label.toLowerCase()}`]);
const METRICS = [...COUNT_METRICS, ...RATE_METRICS];

/** The rate of a metric (`email.bounceRate`), or undefined for a count. @param {string} metric */
export const rateInfo = (metric) => RATES.find((rate) => rate.id === metric);

/** The word for a rate's denominator ("sent"); '' for an unknown rate. @param {string} id */
export const rateWord = (id) => rateInfo(id)?.word ?? '';

/** "Emails: bounce rate"; the metric itself when unknown. @param {string} metric */
export const chartLabel = (metric) => METRICS.find(([key]) => key === metric)?.[1] ?? metric;

/**
 * The judged rate of an answer's channel: answers carry every rate of the vocabulary.
 * @param {Pick<RatesAnswer, 'sms' | 'email'>} figures
 * @param {RateWords} rate
 * @returns {JudgedRate}
 */
export function judged(figures, rate) {
  const found = /** @type {Partial<Record<string, JudgedRate>>} */ (figures[rate.channel])[rate.key];
  if (!found) throw new Error(`the answer has no ${rate.id}`);
  return found;
}

/**
 * The health badge: its text says what the colour does.
 * @param {JudgedRate} rate
 */
export function badge(rate) {
  if (!rate.health) return block('no threshold', 'badge none');
  const [text, meaning] = HEALTH[rate.health] ?? [rate.health, ''];
  const span = block(text, `badge health-${rate.health}`);
  if (rate.threshold) {
    span.title = `${meaning} Warning at ${line(rate.threshold.warning)}, critical at ${line(rate.threshold.critical)}, judged from ${numbers.format(rate.threshold.minimumVolume)} messages. ${rate.threshold.source}`;
  }
  return span;
}

/**
 * "251 of 4,124 sent"
 * @param {{ numerator?: number, denominator?: number }} rate
 * @param {string} word
 */
export const parts = (rate, word) => `${numbers.format(rate.numerator ?? 0)} of ${numbers.format(rate.denominator ?? 0)} ${word}`;

/**
 * @param {JudgedRate} rate
 * @param {string} word
 */
function rateValueCell(rate, word) {
  const td = twoLines(rate.value === null ? `– (no messages ${word})` : percent(rate.value), parts(rate, word), 'num value');
  td.dataset.numerator = String(rate.numerator);
  td.dataset.denominator = String(rate.denominator);
  return td;
}

/** @param {JudgedRate} rate */
function healthCell(rate) {
  const td = document.createElement('td');
  td.className = 'health';
  td.append(badge(rate));
  if (rate.health === 'insufficient_volume' && rate.threshold) {
    td.append(block(`fewer than ${numbers.format(rate.threshold.minimumVolume)}`, 'sub'));
  }
  td.dataset.health = rate.health ?? '';
  return td;
}

/**
 * A channel's table of rates: what each counts and its lines, value and parts, health, change.
 * @param {string} selector
 * @param {'sms' | 'email'} channel
 * @param {RatesAnswer} body
 */
export function renderRates(selector, channel, body) {
  $(`${selector} tbody`).replaceChildren(
    ...RATES.filter((rate) => rate.channel === channel).map((info) => {
      const rate = judged(body, info);
      const tr = document.createElement('tr');
      tr.dataset.rate = info.id;
      const name = document.createElement('td');
      name.append(block(info.label, 'main'));
      const lines = rate.threshold ? `; warning at ${line(rate.threshold.warning)}, critical at ${line(rate.threshold.critical)}` : '';
      name.append(block(`${info.counts}${lines}`, 'sub'));
      const before = body.previous ? judged(body.previous, info) : undefined;
      const was = before ? (before.value === null ? `none ${info.word} before` : `was ${percent(before.value)}`) : '';
      const change = body.change ? /** @type {Record<string, import('./types.js').Change>} */ (body.change[channel])[info.key] : undefined;
      tr.append(
        name,
        rateValueCell(rate, info.word),
        healthCell(rate),
        twoLines(body.change ? rateChange(change) : '–', was, 'num change'),
      );
      return tr;
    }),
  );
}

/**
 * A rate in a cell of the per-campaign table: value, parts and badge.
 * @param {JudgedRate} rate
 * @param {RateWords} info
 */
export function rateCell(rate, info) {
  const td = rateValueCell(rate, info.word);
  if (rate.health) td.append(badge(rate));
  td.dataset.health = rate.health ?? '';
  td.dataset.rate = info.id;
  return td;
}
