import { rawKeys } from '@medimg/common';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { classifyKey } from './batching.ts';
import { mapLimit } from './concurrency.ts';
import type { TriggerConfig } from './config.ts';
import { errorCode } from './errors.ts';
import { isObjectCreated, parseMessageBody } from './events.ts';
import {
  buildJobSpec,
  type JobPlan,
  planFromManifest,
  type StartOutcome,
  startJob,
  toJobObject,
} from './jobs.ts';
import { hashKey, type Logger, silentLogger } from './logger.ts';
import type { RawStore, TaskRunner } from './ports.ts';

export interface HandlerDeps {
  readonly store: RawStore;
  readonly runner: TaskRunner;
  readonly config: TriggerConfig;
  readonly logger?: Logger;
  readonly clock?: () => Date;
}

export type SqsBatchHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** Messages that feed one job: when the job fails, all of them go back to the queue. */
interface Work {
  readonly source: 'manifest' | 'prefix';
  readonly messageIds: ReadonlySet<string>;
  /** Undefined when there is nothing left to start (every loose object gone). */
  readonly plan: () => Promise<JobPlan | undefined>;
}

type Counts = Record<
  | 'records'
  | 'objectEvents'
  | 'testEvents'
  | 'ignoredEvents'
  | 'otherBucket'
  | 'manifests'
  | 'unmanagedManifests'
  | 'awaitingManifest'
  | 'loose'
  | 'looseGone'
  | StartOutcome
  | 'jobsFailed'
  | 'invalidRecords'
  | 'failedRecords',
  number
>;

/**
 * The trigger: an SQS batch of S3 event notifications in, job specs and task starts out. Answers
 * with the messages to retry (partial batch response); it never throws.
 */
export function createHandler(deps: HandlerDeps): SqsBatchHandler {
  const { store, runner, config } = deps;
  const logger = deps.logger ?? silentLogger;
  const clock = deps.clock ?? (() => new Date());
  const bucket = config.rawBucket;

  return async (event) => {
    const records = event.Records ?? [];
    const counts: Counts = {
      records: records.length,
      objectEvents: 0,
      testEvents: 0,
      ignoredEvents: 0,
      otherBucket: 0,
      manifests: 0,
      unmanagedManifests: 0,
      awaitingManifest: 0,
      loose: 0,
      looseGone: 0,
      started: 0,
      resumed: 0,
      duplicate: 0,
      jobsFailed: 0,
      invalidRecords: 0,
      failedRecords: 0,
    };
    const failed = new Set<string>();
    const fail = (ids: Iterable<string>) => {
      for (const id of ids) failed.add(id);
    };

    try {
      // 1. Parse and classify every object event.
      const manifests = new Map<string, Set<string>>(); // batch id -> message ids
      const batchFiles = new Map<string, Map<string, Set<string>>>(); // b- folder -> key -> message ids
      const looseGroups = new Map<string, Map<string, Set<string>>>(); // prefix -> key -> message ids
      const addTo = <K>(map: Map<K, Map<string, Set<string>>>, group: K, key: string, id: string) => {
        const keys = map.get(group) ?? new Map<string, Set<string>>();
        map.set(group, keys);
        const ids = keys.get(key) ?? new Set<string>();
        keys.set(key, ids);
        ids.add(id);
      };

      for (const record of records) {
        const id = record.messageId;
        let parsed: ReturnType<typeof parseMessageBody>;
        try {
          parsed = parseMessageBody(record.body, { keysUrlEncoded: config.keysUrlEncoded });
        } catch (err) {
          counts.invalidRecords++;
          failed.add(id);
          logger.warn('message rejected', { messageId: id, code: errorCode(err) });
          continue;
        }
        if (parsed.kind === 'test') {
          counts.testEvents++;
          continue;
        }
        if (parsed.kind === 'ignored') {
          counts.ignoredEvents++;
          continue;
        }
        for (const ev of parsed.events) {
          counts.objectEvents++;
          if (ev.bucket !== bucket) {
            counts.otherBucket++;
            continue;
          }
          if (!isObjectCreated(ev)) {
            counts.ignoredEvents++;
            continue;
          }
          const c = classifyKey(ev.key, config.managedBatchIdPattern);
          switch (c.kind) {
            case 'ignored':
              counts.ignoredEvents++;
              break;
            case 'manifest': {
              counts.manifests++;
              const ids = manifests.get(c.batchId) ?? new Set<string>();
              manifests.set(c.batchId, ids);
              ids.add(id);
              break;
            }
            case 'managed-file':
              addTo(batchFiles, c.batchId, ev.key, id);
              break;
            case 'folder-file':
              addTo(looseGroups, c.prefix, ev.key, id);
              break;
            case 'root-file':
              addTo(looseGroups, c.prefix, ev.key, id);
              break;
          }
        }
      }

      // 2. Files in a `b-` folder wait for the manifest when the upload API issued that batch (its
      //    record exists); otherwise they came by other means and are loose.
      await mapLimit([...batchFiles], config.headConcurrency, async ([batchId, files]) => {
        try {
          const record = await store.headObject(bucket, rawKeys.batchRecord(batchId));
          if (record !== undefined) {
            counts.awaitingManifest += files.size;
            return;
          }
          for (const [key, ids] of files)
            for (const id of ids) addTo(looseGroups, `incoming/${batchId}/`, key, id);
        } catch (err) {
          for (const ids of files.values()) fail(ids);
          logger.warn('batch check failed', { code: errorCode(err), counts: { objects: files.size } });
        }
      });

      const planFromLoose = async (keys: string[]): Promise<JobPlan | undefined> => {
        const heads = await mapLimit(keys, config.headConcurrency, async (key) => ({
          key,
          head: await store.headObject(bucket, key),
        }));
        const objects = [];
        for (const { key, head } of heads) {
          if (head === undefined) {
            // Deleted since the event (or a key that does not decode to a real one): nothing to do.
            counts.looseGone++;
            logger.warn('loose object not found', { keyHash: hashKey(key) });
            continue;
          }
          objects.push(toJobObject(key, head.size, head));
        }
        return objects.length > 0 ? { source: 'prefix', objects } : undefined;
      };

      // 3. One job per manifest, one per loose prefix.
      const work: Work[] = [];
      for (const [batchId, ids] of manifests) {
        work.push({
          source: 'manifest',
          messageIds: ids,
          plan: async () => {
            const plan = await planFromManifest(store, bucket, batchId, {
              headConcurrency: config.headConcurrency,
              logger,
            });
            if (plan === undefined) counts.unmanagedManifests++;
            return plan;
          },
        });
      }
      for (const files of looseGroups.values()) {
        const ids = new Set<string>();
        for (const s of files.values()) for (const id of s) ids.add(id);
        counts.loose += files.size;
        work.push({ source: 'prefix', messageIds: ids, plan: () => planFromLoose([...files.keys()]) });
      }

      const deps = { store, runner, rawBucket: bucket, clock, logger };
      await mapLimit(work, config.jobConcurrency, async (w) => {
        let jobId: string | undefined;
        try {
          const plan = await w.plan();
          if (plan === undefined) return;
          const spec = buildJobSpec(plan, bucket, clock());
          jobId = spec.jobId;
          counts[await startJob(deps, spec)]++;
        } catch (err) {
          counts.jobsFailed++;
          fail(w.messageIds);
          logger.warn('job not started', {
            ...(jobId !== undefined ? { jobId } : {}),
            code: errorCode(err),
            source: w.source,
            counts: { messages: w.messageIds.size },
          });
        }
      });
    } catch (err) {
      // A bug, not a bad input: retry the whole batch rather than lose it.
      logger.error('batch failed', { code: errorCode(err) });
      fail(records.map((r) => r.messageId));
    }

    counts.failedRecords = failed.size;
    logger.info('batch handled', { counts });
    return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
  };
}
