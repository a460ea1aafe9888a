import {
  CHANNELS,
  DELIVERY_STATUS_HELP,
  DELIVERY_STATUSES,
  SMS_STATUSES as SMS,
  statusKey,
  type Channel,
  type DeliveryStatus,
} from '../../../events/types.js';
import { RATE_DEFINITIONS, type RateDefinition } from '../../../reporting/rates.js';

/**
 * The page's vocabulary, made from the server's own constants: the statuses of each channel with
 * their meanings (events/types.ts) and the rates with their parts and lines (reporting/rates.ts).
 * Every export of this module is served to the page as `/assets/vocabulary.js` (an ES module of the
 * same exports, index.ts), and the page's type check reads this file for that module's types
 * (services/api/web/tsconfig.json, rootDirs): one definition, no copy. Values are plain JSON.
 */

/** A delivery status as the page shows it. */
export interface StatusWords {
  /** The key of API answers: spamReported. */
  key: string;
  /** Spam reported */
  label: string;
  /** What it means, as a sentence. */
  meaning: string;
}

/** A rate as the page shows it. */
export interface RateWords {
  /** email.bounceRate: as in answers and time-series metrics. */
  id: string;
  channel: Channel;
  /** bounceRate */
  key: string;
  /** Bounce rate */
  label: string;
  /** What it counts, shortly: "bounced, of those sent". */
  counts: string;
  /** The word for its denominator, so that the parts read "251 of 4,124 sent". */
  word: string;
  /** bounced / sent */
  formula: string;
  /** The lines it is judged against by default (fractions: 0.02 = 2 %); null for a rate without one. */
  threshold: { warning: number; critical: number; source: string } | null;
}

const sentence = (text: string) => `${text[0]!.toUpperCase()}${text.slice(1)}.`;
/** spam_reported → Spam reported */
const statusLabel = (status: DeliveryStatus) => sentence(status.replace(/_/g, ' ')).slice(0, -1);

const statusWords = (status: DeliveryStatus): StatusWords => ({
  key: statusKey(status),
  label: statusLabel(status),
  meaning: sentence(DELIVERY_STATUS_HELP[status]),
});

/** "failed, rejected or expired" */
function either(statuses: readonly DeliveryStatus[]): string {
  const words = statuses.map((status) => statusLabel(status).toLowerCase());
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words.at(-1)}` : words.join('');
}

/**
 * A denominator of one status is named by it ("sent", "delivered"); one of several (sent + failed +
 * rejected + expired: every message a send was tried for) counts the messages attempted.
 */
const denominatorWord = (definition: RateDefinition) =>
  definition.denominator.length === 1 ? statusLabel(definition.denominator[0]!).toLowerCase() : 'attempted';

function rateWords(definition: RateDefinition): RateWords {
  const word = denominatorWord(definition);
  const threshold = definition.threshold;
  return {
    id: definition.id,
    channel: definition.channel,
    key: definition.key,
    // deliveryRate → Delivery rate
    label: sentence(definition.key.replace(/[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`)).slice(0, -1),
    counts: `${either(definition.numerator)}, of those ${word}`,
    word,
    formula: definition.formula,
    threshold: threshold
      ? { warning: threshold.warningPpm / 1_000_000, critical: threshold.criticalPpm / 1_000_000, source: threshold.source }
      : null,
  };
}

/** The statuses a text message takes, in the order of the API's answers. */
export const SMS_STATUSES: readonly StatusWords[] = SMS.map(statusWords);
/** Every status an email takes. */
export const EMAIL_STATUSES: readonly StatusWords[] = DELIVERY_STATUSES.map(statusWords);
/** Every rate of /v1/metrics/rates, text messages first (the order of CHANNELS). */
export const RATES: readonly RateWords[] = CHANNELS.flatMap((channel) =>
  RATE_DEFINITIONS.filter((definition) => definition.channel === channel).map(rateWords),
);
