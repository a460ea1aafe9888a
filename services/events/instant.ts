/**
 * ISO-8601 instants with an explicit offset — the contract's form of every time, in event
 * JSON and in API ranges: `2026-11-27T10:15:00Z`, `2026-11-27T11:15:00.123+01:00`. At most
 * millisecond precision.
 *
 * The supported instants are one window everywhere (event validation, the ingest's dead
 * letters, query ranges, docs/architecture.md): 2000-01-01T00:00:00.000Z to
 * 2099-12-31T23:59:59.999Z. It is
 * chosen, not inherited: a messaging event dated before 2000 or after 2099 is a bug upstream
 * (an unset clock, seconds taken for milliseconds), and the window lies well inside what every
 * stored type holds — DateTime64(3) in the raw tables and the rollups' 32-bit DateTime buckets
 * (1970 to 2106), which would otherwise wrap into another year. A fixed window, not one relative
 * to now, so that replaying old records gives the same answer as the first time.
 */
export const INSTANT_MIN = '2000-01-01T00:00:00.000Z';
export const INSTANT_MAX = '2099-12-31T23:59:59.999Z';
export const INSTANT_MIN_MS = Date.parse(INSTANT_MIN);
export const INSTANT_MAX_MS = Date.parse(INSTANT_MAX);
const MIN_MILLIS = INSTANT_MIN_MS;
const MAX_MILLIS = INSTANT_MAX_MS;

/** `is outside the supported range … to …`: the phrase every refusal of an instant ends with. */
export const OUTSIDE_WINDOW = `is outside the supported range ${INSTANT_MIN} to ${INSTANT_MAX}`;

export type ParsedInstant = { ok: true; millis: number } | { ok: false; problem: string };

const PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function problem(text: string): ParsedInstant {
  return { ok: false, problem: text };
}

/** Epoch milliseconds of the instant, or why the text is not one (a phrase to follow the quoted text). */
export function parseInstant(text: string): ParsedInstant {
  const match = PATTERN.exec(text);
  if (!match) return problem('is not an ISO-8601 instant with an offset (Z or ±hh:mm)');
  const [, y, mo, d, h, mi, s, fraction = '', zulu, sign, offsetHours = '00', offsetMinutes = '00'] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (fraction.length > 3) return problem('has more than 3 fractional digits; the precision is milliseconds');
  if (month < 1 || month > 12) return problem(`is not a real date (there is no month ${mo})`);
  if (day < 1 || day > daysIn(year, month)) {
    return problem(`is not a real date (${MONTHS[month - 1]} ${year} has ${daysIn(year, month)} days)`);
  }
  if (hour > 23 || minute > 59 || second > 59) return problem('is not a real time of day (00:00:00 to 23:59:59)');
  if (zulu === undefined && (Number(offsetHours) > 23 || Number(offsetMinutes) > 59)) {
    return problem(`has an impossible offset ${sign}${offsetHours}:${offsetMinutes}`);
  }
  const offset = zulu === undefined ? (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) : 0;
  // Years 0-99 would be taken as 1900-1999 by Date.UTC; they are out of range anyway.
  const millis =
    year < 1000 ? Number.NaN : Date.UTC(year, month - 1, day, hour, minute, second, Number(fraction.padEnd(3, '0'))) - offset * 60_000;
  if (!(millis >= MIN_MILLIS && millis <= MAX_MILLIS)) return problem(OUTSIDE_WINDOW);
  return { ok: true, millis };
}

const DAY_MS = 86_400_000;
const TWO_DIGITS = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));
/** The date part (`2026-11-27T`) of the last day formatted: the events of a batch mostly share a few days. */
let cachedDay = Number.NaN;
let cachedDate = '';

/** `2026-11-27T` for a day counted from 1970-01-01 (a year of four digits), by H. Hinnant's civil-from-days. */
function dateOfDay(day: number): string {
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153); // 0 = March
  const dayOfMonth = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${year}-${TWO_DIGITS[month]}-${TWO_DIGITS[dayOfMonth]}T`;
}

/**
 * The canonical form: UTC, `Z`, milliseconds — `2026-11-27T10:15:00.000Z`, as Date's
 * toISOString writes it. Inside the supported window it is put together from digits, without
 * a Date (the ingest formats every Avro event's occurredAt); outside it, toISOString.
 */
export function formatInstant(millis: number): string {
  if (!(millis >= MIN_MILLIS && millis <= MAX_MILLIS) || !Number.isInteger(millis)) return new Date(millis).toISOString();
  const day = Math.floor(millis / DAY_MS);
  if (day !== cachedDay) {
    cachedDate = dateOfDay(day);
    cachedDay = day;
  }
  let rest = millis - day * DAY_MS;
  const ms = rest % 1000;
  rest = (rest - ms) / 1000;
  const second = rest % 60;
  rest = (rest - second) / 60;
  const minute = rest % 60;
  const hour = (rest - minute) / 60;
  return `${cachedDate}${TWO_DIGITS[hour]}:${TWO_DIGITS[minute]}:${TWO_DIGITS[second]}.${THREE_DIGITS[ms]}Z`;
}

export type NormalisedInstant = { ok: true; instant: string } | { ok: false; problem: string };

/** Days from 1970-01-01 to the first of the month (proleptic Gregorian; month 1-12). */
function daysToMonth(year: number, month: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5);
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The ASCII digit at `at` as a number; outside 0-9 when it is not one. */
function digit(text: string, at: number): number {
  return text.charCodeAt(at) - 48;
}

/** The two digits at `at` as a number, or -1 if either is not an ASCII digit. */
function twoDigits(text: string, at: number): number {
  const tens = digit(text, at);
  const ones = digit(text, at + 1);
  return tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9 ? tens * 10 + ones : -1;
}

/**
 * Epoch milliseconds of an instant in canonical form (`2026-11-27T10:15:00.123Z`) that is a real
 * time within the supported window; NaN for any other text (parseInstant says what is wrong with
 * it, or reads another form). Read character by character: nearly every event's instant is
 * canonical, and this runs for each one when it is validated and again when it is encoded.
 */
export function canonicalMillis(text: string): number {
  if (
    text.length !== 24 ||
    text.charCodeAt(4) !== 45 || // -
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 || // T
    text.charCodeAt(13) !== 58 || // :
    text.charCodeAt(16) !== 58 ||
    text.charCodeAt(19) !== 46 || // .
    text.charCodeAt(23) !== 90 // Z
  ) {
    return Number.NaN;
  }
  const century = twoDigits(text, 0);
  const yearOfCentury = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  const hundreds = digit(text, 20);
  const milliRest = twoDigits(text, 21);
  const year = century * 100 + yearOfCentury;
  if (
    century < 0 ||
    yearOfCentury < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59 ||
    hundreds < 0 ||
    hundreds > 9 ||
    milliRest < 0
  ) {
    return Number.NaN;
  }
  const milli = hundreds * 100 + milliRest;
  const millis = ((daysToMonth(year, month) + day - 1) * 86_400 + hour * 3600 + minute * 60 + second) * 1000 + milli;
  return millis >= MIN_MILLIS && millis <= MAX_MILLIS ? millis : Number.NaN;
}

/**
 * The instant in canonical form, or why the text is not an instant. Text already in canonical
 * form — nearly every event — is returned as it is (canonicalMillis checks it).
 */
export function normaliseInstant(text: string): NormalisedInstant {
  if (canonicalMillis(text) >= MIN_MILLIS) return { ok: true, instant: text };
  const parsed = parseInstant(text);
  return parsed.ok ? { ok: true, instant: formatInstant(parsed.millis) } : parsed;
}
