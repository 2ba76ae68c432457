/**
 * Fault injection through the real adapters (the short scenarios of `npm test`; `npm run soak`
 * runs more, at random): S3 500 and 503 SlowDown, SNS throttling, a slow model endpoint, the model
 * endpoint down then back, S3, SNS and the model endpoint silent (connection accepted, no answer,
 * ever), the trigger's RunTask throttled. After the faults clear and retries or
 * re-runs happen, every input is accounted for exactly once and no notification is sent twice.
 */
import { WORKER_ENV } from '@medimg/common';
import { afterEach, describe, expect, it } from 'vitest';
import { account, type FaultStack, is, rerunUnfinished, startFaultStack, uploadStudy } from './scenarios.ts';

let stack: FaultStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

describe('faults injected in front of the local services', () => {
  it('rides out S3 500s and SlowDowns, SNS throttling and a slow model with retries, and notifies once', {
    timeout: 300_000,
  }, async () => {
    stack = await startFaultStack({ sameKeysEveryRun: true });
    // Each distinct S3 request (method and path: an SDK retry sends the same) is picked or not by a
    // seeded hash of it, and a picked one fails its first attempt only: its retry always passes, and
    // with a fixed batch id and de-identification key the worker asks for the same 264 distinct
    // requests in every run, so the same ones fail, in any arrival order. Today's picks: 30
    // SlowDowns (one request in about ten: the job spec, inputs, instances, the dedup HEAD) and 13
    // 500s (one PUT in about twelve, instances).
    // The SDK's standard retry quota (500 tokens per client; @smithy/core 3.41: 5 per throttling
    // retry, 14 per other retry (10 before), given back when the retry succeeds) is a circuit
    // breaker: a counter-based rule ("every 10th request") could hit a retry again, and the faults
    // in flight together once drained it (one run in three, when denser). Here, even if no token
    // came back, the faults cost 29 x 5 + 14 (a HEAD's answer has no body to name SlowDown, so that
    // one counts as a 5xx) + 13 x 14 = 341 tokens, asserted below to stay under 500.
    stack.s3.rules = [
      {
        name: 's3 503 SlowDown',
        match: is.any,
        distinct: { seed: 's3 503 SlowDown', oneIn: 10 },
        fault: { kind: 'status', status: 503, code: 'SlowDown' },
      },
      {
        name: 's3 500',
        match: is.s3Put,
        distinct: { seed: 's3 500', oneIn: 12 },
        fault: { kind: 'status', status: 500, code: 'InternalError' },
      },
    ];
    // SNS throttled for two attempts in all and the model slowed for one (`times`, whichever come
    // first): no call fails more than twice, under the SDK's 5 attempts; 2 x 5 of SNS's tokens.
    stack.aws.rules = [
      {
        name: 'sns throttled',
        match: is.snsPublish,
        times: 2,
        fault: { kind: 'status', status: 400, code: 'Throttling', protocol: 'query' },
      },
    ];
    stack.model.rules = [
      { name: 'model slow', match: is.invoke, times: 1, fault: { kind: 'delay', ms: 2000 } },
    ];

    const files = await uploadStudy(stack);
    await stack.pipeline.settle();
    const result = await account(stack);

    // Enough faults to mean something, each request failed once and then let through by its retry,
    // and under the retry quota even with no token given back.
    expect(stack.s3.counts.faults['s3 503 SlowDown']).toBeGreaterThanOrEqual(20);
    expect(stack.s3.counts.faults['s3 500']).toBeGreaterThanOrEqual(8);
    const picked = [...stack.s3.picked];
    expect(picked.filter(([, p]) => p.faults !== 1 || p.passed < 1)).toEqual([]);
    const cost = picked.reduce(
      (sum, [identity, p]) =>
        sum + p.faults * (p.rule === 's3 503 SlowDown' && !identity.startsWith('HEAD ') ? 5 : 14),
      0,
    );
    expect(cost).toBeLessThan(500);
    expect(stack.aws.counts.faults['sns throttled']).toBe(2);
    expect(stack.model.counts.faults['model slow']).toBe(1);
    expect(result).toMatchObject({
      jobs: 1,
      tasks: 1,
      inputs: files.length,
      processed: files.length,
      failed: 0,
    });
    expect(result.instances).toBe(files.length);
    expect(result.duplicateInstances).toBe(0);
    expect(result.findingsMails).toBe(1);
    expect(result.states).toEqual(['succeeded']);
  });

  it('keeps the processed files when the model endpoint is down, and a re-run after it is back notifies once', {
    timeout: 300_000,
  }, async () => {
    stack = await startFaultStack();
    // An outage, not a density: every request fails until the rule is lifted.
    stack.model.rules = [{ name: 'model down', match: is.any, fault: { kind: 'reset' } }];

    const files = await uploadStudy(stack);
    await stack.pipeline.settle();
    const during = await account(stack);
    stack.model.rules = [];
    const reruns = await rerunUnfinished(stack);
    const after = await account(stack);

    expect(stack.model.counts.faults['model down']).toBeGreaterThan(0);
    expect(during).toMatchObject({ processed: files.length, findingsMails: 0, states: ['failed'] });
    expect(reruns).toBe(1);
    expect(after).toMatchObject({
      jobs: 1,
      tasks: 2,
      processed: files.length,
      failed: 0,
      states: ['succeeded'],
    });
    expect(after.instances).toBe(files.length);
    expect(after.duplicateInstances).toBe(0);
    expect(after.findingsMails).toBe(1);
  });

  it('starts the job once when RunTask is throttled: the message comes back and the task starts then', {
    timeout: 300_000,
  }, async () => {
    stack = await startFaultStack({ visibilityTimeoutSeconds: 2 });
    const { runner } = stack.pipeline;
    const runTask = runner.runTask.bind(runner);
    let throttled = 0;
    runner.runTask = async (input) => {
      if (throttled < 2) {
        throttled += 1;
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      }
      return runTask(input);
    };

    const files = await uploadStudy(stack, undefined, 6);
    await stack.pipeline.settle();
    const result = await account(stack);

    expect(throttled).toBe(2);
    expect(result).toMatchObject({
      jobs: 1,
      tasks: 1,
      inputs: files.length,
      failed: 0,
      states: ['succeeded'],
    });
    expect(result.processed + result.quarantined).toBe(files.length);
    expect(result.duplicateInstances).toBe(0);
  });

  it('ends every call to a silent S3, SNS or model endpoint: the task fails with a reason instead of hanging, and re-runs after the silence account for every input once with one notification', {
    timeout: 400_000,
  }, async () => {
    // Short bounds keep the test short; production has 10 s idle (AWS_IDLE_TIMEOUT_MS) and 30 s per inference.
    stack = await startFaultStack({
      workerEnvironment: {
        [WORKER_ENV.AWS_IDLE_TIMEOUT_MS]: '1000',
        [WORKER_ENV.INFERENCE_TIMEOUT_MS]: '2000',
      },
    });
    const { pipeline } = stack;
    const ops = () => pipeline.mail.filter((m) => m.topicArn === pipeline.servers.opsTopicArn);

    // 1. S3 silent for everything (an outage: every attempt of every call fails, so no retry may
    // pass): the job spec cannot be read; the task gives up and says why. Steps 2 and 3 fail a
    // fixed number of calls (`times`) or every Publish (SNS silent until lifted).
    stack.s3.rules = [{ name: 's3 silent', match: is.any, fault: { kind: 'silent' } }];
    const files = await uploadStudy(stack);
    await pipeline.settle();
    expect(pipeline.runner.tasks.map((t) => t.exitCode)).toEqual([1]);
    expect(stack.s3.counts.faults['s3 silent']).toBe(5); // the standard strategy's 5 attempts
    expect(ops().map((m) => [m.subject, JSON.parse(m.body).errorCode])).toEqual([
      ['[medimg ops] job aborted', 'STORE_UNAVAILABLE'],
    ]);

    // 2. Re-run: short S3 and model silences are ridden out by retries; SNS stays silent, so the
    // notify step fails with its code and the job ends failed (files kept, no email).
    stack.s3.rules = [{ name: 's3 silent GET', match: is.s3Get, times: 2, fault: { kind: 'silent' } }];
    stack.model.rules = [{ name: 'model silent', match: is.invoke, times: 1, fault: { kind: 'silent' } }];
    stack.aws.rules = [{ name: 'sns silent', match: is.snsPublish, fault: { kind: 'silent' } }];
    expect(await rerunUnfinished(stack)).toBe(1);
    const [, second] = pipeline.runner.tasks;
    expect(second?.exitCode).toBe(1);
    const during = await pipeline.jobStatus(second!.jobId);
    expect(stack.s3.counts.faults['s3 silent GET']).toBe(2);
    expect(stack.model.counts.faults['model silent']).toBe(1);
    expect(stack.aws.counts.faults['sns silent']).toBeGreaterThanOrEqual(5);
    expect(during.state).toBe('failed');
    expect(during.counts).toMatchObject({ processed: files.length, failed: 0 });
    expect(during.steps.notify).toMatchObject({ state: 'failed', errorCode: 'NOTIFY_FAILED' });
    expect(during.inference.state).not.toBe('failed');

    // 3. The silence clears; a re-run finishes the job: every input once, one notification.
    stack.aws.rules = [];
    expect(await rerunUnfinished(stack)).toBe(1);
    const after = await account(stack);
    expect(after).toMatchObject({
      jobs: 1,
      tasks: 3,
      inputs: files.length,
      processed: files.length,
      failed: 0,
      instances: files.length,
      duplicateInstances: 0,
      findingsMails: 1,
      duplicateMails: 0,
      states: ['succeeded'],
    });
  });
});
