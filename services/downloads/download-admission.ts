import type { DownloadSubmissionRow } from './download-submission-store.js';

/**
 * The decision on a download submission, made the same way by every replica from the tenant's
 * submissions of the last hour in (submitted_at, id) order (see 013_download_submissions.sql):
 *
 * - decided rows are facts: an accepted one counts against the quota (and, while its job is live,
 *   is what an identical request is answered with); refused, duplicate and withdrawn ones count for
 *   nothing;
 * - an undecided row is decided in order: the duplicate of an earlier accepted-and-live or
 *   undecided-and-accepted row with the same request key; else accepted while fewer than
 *   `perHour` were; else refused;
 * - undecided rows older than `staleUs` before the submission being decided are skipped: their
 *   replica died between recording and deciding them.
 */
export type Admission =
  | { kind: 'accepted' }
  /** `jobId` is an accepted job's id, or (pending) the id of an undecided submission its owner is deciding now. */
  | { kind: 'duplicate'; jobId: string; pending: boolean }
  | { kind: 'refused'; accepted: number; oldestMs: number | undefined };

export const STALE_SUBMISSION_US = 30_000_000;

type Row = Pick<DownloadSubmissionRow, 'id' | 'requestKey' | 'submittedUs' | 'decision' | 'jobId' | 'jobLive'>;

export function admission(rows: readonly Row[], self: string, perHour: number | undefined, staleUs = STALE_SUBMISSION_US): Admission {
  const mine = rows.find((row) => row.id === self);
  if (!mine) throw new Error('the download submission just recorded could not be read back');
  let accepted = 0;
  let oldestUs: number | undefined;
  /** request key → [job id, is it an undecided submission]. */
  const live = new Map<string, [string, boolean]>();
  for (const row of rows) {
    if (row.decision === 'accepted') {
      accepted += 1;
      oldestUs ??= row.submittedUs;
      if (row.jobLive && !live.has(row.requestKey)) live.set(row.requestKey, [row.jobId, false]);
      continue;
    }
    if (row.id !== self && (row.decision !== '' || row.submittedUs < mine.submittedUs - staleUs)) continue;
    let outcome: Admission;
    const same = live.get(row.requestKey);
    if (same) {
      outcome = { kind: 'duplicate', jobId: same[0], pending: same[1] };
    } else if (perHour === undefined || accepted < perHour) {
      outcome = { kind: 'accepted' };
      accepted += 1;
      oldestUs ??= row.submittedUs;
      live.set(row.requestKey, [row.id, true]);
    } else {
      outcome = { kind: 'refused', accepted, oldestMs: oldestUs === undefined ? undefined : Math.floor(oldestUs / 1000) };
    }
    if (row.id === self) return outcome;
  }
  throw new Error('unreachable: the submission is among the rows');
}
