/**
 * The worker killed at each named step, then re-run by the dispatcher: every input accounted for
 * exactly once, no notification sent twice. `npm test` kills at four steps (one per kind of state
 * the kill leaves: files half-recorded, assessed but not notified, notified but not recorded,
 * recorded but not finished); `npm run soak:kill` kills at every step of STEP_NAMES.
 * test/src/e2e/crash-rerun.test.ts covers the store step with the whole CT study.
 */
import { STEP_NAMES, type StepName } from '@medimg/worker/pipeline/status.ts';
import { describe, expect, it } from 'vitest';
import { killAtEveryStep } from './kill-steps.ts';

const QUICK: readonly StepName[] = ['fetch', 'assess', 'notify', 'record'];
const steps = process.env.MEDIMG_KILL_STEPS === 'all' ? STEP_NAMES : QUICK;
/** Steps after which the killed task had already sent the findings email. */
const SENT_BEFORE_KILL = new Set<StepName>(['notify', 'record']);

describe(`the worker killed after each of: ${steps.join(', ')}`, () => {
  it('re-runs every killed job to the end: each input once, each finding notified once', {
    timeout: 900_000,
  }, async () => {
    const run = await killAtEveryStep(steps);
    const n = run.filesPerBatch;

    expect(run.jobs.map((j) => j.step).sort()).toEqual([...steps].sort());
    for (const job of run.jobs) {
      const sentBefore = SENT_BEFORE_KILL.has(job.step);
      expect({
        step: job.step,
        exitCodes: job.exitCodes,
        state: job.state,
        processed: job.processed,
      }).toEqual({
        step: job.step,
        exitCodes: [137, 0],
        state: 'succeeded',
        processed: n,
      });
      // Killed after notify: the re-run finds the email sent (dedup record) and does not send it again.
      expect({
        step: job.step,
        mails: job.mails,
        published: job.published,
        skipped: job.duplicatesSkipped,
      }).toEqual({ step: job.step, mails: 1, published: sentBefore ? 0 : 1, skipped: sentBefore ? 1 : 0 });
    }
    expect(run.account).toMatchObject({
      jobs: steps.length,
      inputs: steps.length * n,
      processed: steps.length * n,
      quarantined: 0,
      failed: 0,
      instances: steps.length * n,
      duplicateInstances: 0,
      findingsMails: steps.length,
      duplicateMails: 0,
    });
  });
});
