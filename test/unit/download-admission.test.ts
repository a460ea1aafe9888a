import { describe, expect, it } from 'vitest';
import { admission, STALE_SUBMISSION_US } from '../../services/downloads/download-admission.js';
import type { DownloadSubmissionRow } from '../../services/downloads/download-submission-store.js';

type Row = Pick<DownloadSubmissionRow, 'id' | 'requestKey' | 'submittedUs' | 'decision' | 'jobId' | 'jobLive'>;
const row = (id: string, requestKey: string, submittedUs: number, decision: Row['decision'] = '', jobLive = false): Row => ({
  id,
  requestKey,
  submittedUs,
  decision,
  jobId: decision === 'accepted' ? id : '',
  jobLive,
});

describe('download admission (the walk over a tenant’s submissions)', () => {
  it('accepts undecided submissions in order up to the quota and refuses the rest, naming how many and the oldest', () => {
    const rows = [row('a', 'k1', 1000, 'accepted', true), row('b', 'k2', 2000), row('c', 'k3', 3000), row('d', 'k4', 4000)];
    expect(admission(rows, 'b', 3)).toEqual({ kind: 'accepted' });
    expect(admission(rows, 'c', 3)).toEqual({ kind: 'accepted' });
    expect(admission(rows, 'd', 3)).toEqual({ kind: 'refused', accepted: 3, oldestMs: 1 });
    // Every replica computes the same answer for each row, whichever row it is deciding.
    expect(admission(rows, 'd', undefined)).toEqual({ kind: 'accepted' });
  });

  it('an identical request is the duplicate of the first live or undecided one, and takes no place in the quota', () => {
    const rows = [row('a', 'same', 1000), row('b', 'same', 2000), row('c', 'other', 3000)];
    expect(admission(rows, 'a', 2)).toEqual({ kind: 'accepted' });
    expect(admission(rows, 'b', 2)).toEqual({ kind: 'duplicate', jobId: 'a', pending: true });
    expect(admission(rows, 'c', 2)).toEqual({ kind: 'accepted' });
    // An accepted job that failed or expired since is no answer for an identical request.
    const after = [row('a', 'same', 1000, 'accepted', false), row('b', 'same', 2000)];
    expect(admission(after, 'b', 5)).toEqual({ kind: 'accepted' });
    const live = [row('a', 'same', 1000, 'accepted', true), row('b', 'same', 2000)];
    expect(admission(live, 'b', 5)).toEqual({ kind: 'duplicate', jobId: 'a', pending: false });
  });

  it('refused, duplicate and withdrawn rows count for nothing; an undecided row left by a dead replica is skipped once stale', () => {
    const rows = [
      row('dead', 'k0', 0),
      row('r', 'k1', STALE_SUBMISSION_US + 1, 'refused'),
      row('w', 'k2', STALE_SUBMISSION_US + 2, 'withdrawn'),
      row('d', 'k3', STALE_SUBMISSION_US + 3, 'duplicate'),
      row('me', 'k4', STALE_SUBMISSION_US + 10),
    ];
    expect(admission(rows, 'me', 1)).toEqual({ kind: 'accepted' });
    // Within the stale time the undecided row still holds its place.
    expect(admission(rows, 'me', 1, STALE_SUBMISSION_US + 100)).toEqual({ kind: 'refused', accepted: 1, oldestMs: 0 });
  });

  it('throws when the submission is not among the rows (its insert not visible where it was read)', () => {
    expect(() => admission([row('a', 'k', 1)], 'b', 1)).toThrow(/could not be read back/);
  });
});
