import type { ObjectStore } from '@medimg/common';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { classifyKey, manifestKeyOfFolder } from './batching.ts';
import { mapLimit } from './concurrency.ts';
import type { TriggerConfig } from './config.ts';
import { errorCode } from './errors.ts';
import { isObjectCreated, parseMessageBody } from './events.ts';
import {
  buildJobSpec,
  type JobPlan,
  planFromManifest,
  type StartDeps,
  type StartOutcome,
  startJob,
  toJobObject,
} from './jobs.ts';
import { hashKey, type Logger, silentLogger } from './logger.ts';
import type { TaskRunner } from './ports.ts';

export interface HandlerDeps {
  readonly store: ObjectStore;
  readonly runner: TaskRunner;
  readonly config: TriggerConfig;
  readonly logger?: Logger;
  readonly clock?: () => Date;
}

export type SqsBatchHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** Messages that feed one job: when the job fails, all of them go back to the queue. */
export interface Work {
  readonly source: 'manifest' | 'prefix';
  readonly messageIds: ReadonlySet<string>;
  /** Undefined when there is nothing left to start (every loose object gone). */
  readonly plan: () => Promise<JobPlan | undefined>;
}

export type BatchCounts = Record<
  | 'records'
  | 'objectEvents'
  | 'testEvents'
  | 'ignoredEvents'
  | 'otherBucket'
  | 'manifests'
  | 'awaitingManifest'
  | 'covered'
  | 'loose'
  | 'looseGone'
  | StartOutcome
  | 'jobsFailed'
  | 'invalidRecords'
  | 'failedRecords',
  number
>;

export const newBatchCounts = (records: number): BatchCounts => ({
  records,
  objectEvents: 0,
  testEvents: 0,
  ignoredEvents: 0,
  otherBucket: 0,
  manifests: 0,
  awaitingManifest: 0,
  covered: 0,
  loose: 0,
  looseGone: 0,
  started: 0,
  resumed: 0,
  duplicate: 0,
  jobsFailed: 0,
  invalidRecords: 0,
  failedRecords: 0,
});

/** key -> ids of the messages that carried its events, per group (folder or loose prefix). */
type KeysByGroup = Map<string, Map<string, Set<string>>>;

/** The object events of one batch, sorted by what they can start. */
export interface SortedEvents {
  /** batch id -> message ids */
  readonly manifests: Map<string, Set<string>>;
  /** Files of unmanaged folders, by folder: covered by a manifest or loose (resolveFolders decides). */
  readonly folderFiles: KeysByGroup;
  /** Loose files, by prefix: one job each. */
  readonly looseGroups: KeysByGroup;
  /** Messages that are not S3 event notifications: they go back to the queue (and on to the DLQ). */
  readonly rejected: readonly { readonly messageId: string; readonly code: string }[];
}

function addTo(map: KeysByGroup, group: string, key: string, id: string): void {
  const keys = map.get(group) ?? new Map<string, Set<string>>();
  map.set(group, keys);
  const ids = keys.get(key) ?? new Set<string>();
  keys.set(key, ids);
  ids.add(id);
}

/** Phase 1: parse every message and sort its object events by the batching rules (batching.ts). */
export function classifyRecords(
  records: readonly SQSRecord[],
  config: Pick<TriggerConfig, 'rawBucket' | 'keysUrlEncoded' | 'managedBatchIdPattern'>,
  counts: BatchCounts,
): SortedEvents {
  const sorted = {
    manifests: new Map<string, Set<string>>(),
    folderFiles: new Map() as KeysByGroup,
    looseGroups: new Map() as KeysByGroup,
    rejected: [] as { messageId: string; code: string }[],
  };
  for (const record of records) {
    const id = record.messageId;
    let parsed: ReturnType<typeof parseMessageBody>;
    try {
      parsed = parseMessageBody(record.body, { keysUrlEncoded: config.keysUrlEncoded });
    } catch (err) {
      counts.invalidRecords++;
      sorted.rejected.push({ messageId: id, code: errorCode(err) });
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
      if (ev.bucket !== config.rawBucket) {
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
          const ids = sorted.manifests.get(c.batchId) ?? new Set<string>();
          sorted.manifests.set(c.batchId, ids);
          ids.add(id);
          break;
        }
        case 'managed-file':
          counts.awaitingManifest++;
          break;
        case 'folder-file':
          addTo(sorted.folderFiles, c.folder, ev.key, id);
          break;
        case 'root-file':
          addTo(sorted.looseGroups, c.prefix, ev.key, id);
          break;
      }
    }
  }
  return sorted;
}

/**
 * Phase 2: files of an unmanaged folder are covered when the folder has a manifest now (its own
 * event starts the job), else they join the loose groups. Resolves to the folders whose check
 * failed: their messages go back to the queue.
 */
export async function resolveFolders(
  sorted: SortedEvents,
  deps: { readonly store: ObjectStore; readonly bucket: string; readonly headConcurrency: number },
  counts: BatchCounts,
): Promise<{ readonly messageIds: ReadonlySet<string>; readonly objects: number; readonly code: string }[]> {
  const failures: { messageIds: Set<string>; objects: number; code: string }[] = [];
  await mapLimit([...sorted.folderFiles], deps.headConcurrency, async ([folder, files]) => {
    try {
      const manifest = await deps.store.head(deps.bucket, manifestKeyOfFolder(folder));
      if (manifest !== undefined) {
        counts.covered += files.size;
        return;
      }
      for (const [key, ids] of files)
        for (const id of ids) addTo(sorted.looseGroups, `incoming/${folder}/`, key, id);
    } catch (err) {
      const messageIds = new Set<string>();
      for (const ids of files.values()) for (const id of ids) messageIds.add(id);
      failures.push({ messageIds, objects: files.size, code: errorCode(err) });
    }
  });
  return failures;
}

/** How a job's objects are found: from its manifest, or by heading the loose keys. */
export interface Planners {
  manifest(batchId: string): Promise<JobPlan | undefined>;
  loose(keys: readonly string[]): Promise<JobPlan | undefined>;
}

/** Phase 3: one job per manifest, one per loose group, each with the messages that feed it. */
export function planWork(sorted: SortedEvents, planners: Planners, counts: BatchCounts): Work[] {
  const work: Work[] = [];
  for (const [batchId, ids] of sorted.manifests) {
    work.push({ source: 'manifest', messageIds: ids, plan: () => planners.manifest(batchId) });
  }
  for (const files of sorted.looseGroups.values()) {
    const ids = new Set<string>();
    for (const s of files.values()) for (const id of s) ids.add(id);
    counts.loose += files.size;
    work.push({ source: 'prefix', messageIds: ids, plan: () => planners.loose([...files.keys()]) });
  }
  return work;
}

/** The plan of a loose group: the objects still there, with their size and ETag now. */
export async function planLoose(
  keys: readonly string[],
  deps: {
    readonly store: ObjectStore;
    readonly bucket: string;
    readonly headConcurrency: number;
    readonly logger: Logger;
  },
  counts: BatchCounts,
): Promise<JobPlan | undefined> {
  const heads = await mapLimit(keys, deps.headConcurrency, async (key) => ({
    key,
    head: await deps.store.head(deps.bucket, key),
  }));
  const objects = [];
  for (const { key, head } of heads) {
    if (head === undefined) {
      // Deleted since the event (or a key that does not decode to a real one): nothing to do.
      counts.looseGone++;
      deps.logger.warn('loose object not found', { keyHash: hashKey(key) });
      continue;
    }
    objects.push(toJobObject(key, head.size, head));
  }
  return objects.length > 0 ? { source: 'prefix', objects } : undefined;
}

/**
 * Phase 4: plan, write the spec of and start each job, a few at a time. Resolves to the messages
 * of the jobs that failed: they go back to the queue.
 */
export async function startJobs(
  work: readonly Work[],
  deps: StartDeps & { readonly jobConcurrency: number },
  counts: BatchCounts,
): Promise<Set<string>> {
  const failed = new Set<string>();
  await mapLimit(work, deps.jobConcurrency, async (w) => {
    let jobId: string | undefined;
    try {
      const plan = await w.plan();
      if (plan === undefined) return;
      const spec = buildJobSpec(plan, deps.rawBucket, deps.clock());
      jobId = spec.jobId;
      counts[await startJob(deps, spec)]++;
    } catch (err) {
      counts.jobsFailed++;
      for (const id of w.messageIds) failed.add(id);
      deps.logger.warn('job not started', {
        ...(jobId !== undefined ? { jobId } : {}),
        code: errorCode(err),
        source: w.source,
        counts: { messages: w.messageIds.size },
      });
    }
  });
  return failed;
}

/**
 * The trigger: an SQS batch of S3 event notifications in, job specs and task starts out. Answers
 * with the messages to retry (partial batch response); it never throws.
 */
export function createHandler(deps: HandlerDeps): SqsBatchHandler {
  const { store, runner, config } = deps;
  const logger = deps.logger ?? silentLogger;
  const clock = deps.clock ?? (() => new Date());
  const bucket = config.rawBucket;
  const { headConcurrency, jobConcurrency } = config;

  return async (event) => {
    const records = event.Records ?? [];
    const counts = newBatchCounts(records.length);
    const failed = new Set<string>();
    const fail = (ids: Iterable<string>) => {
      for (const id of ids) failed.add(id);
    };

    try {
      const sorted = classifyRecords(records, config, counts);
      for (const { messageId, code } of sorted.rejected) {
        failed.add(messageId);
        logger.warn('message rejected', { messageId, code });
      }
      for (const f of await resolveFolders(sorted, { store, bucket, headConcurrency }, counts)) {
        fail(f.messageIds);
        logger.warn('manifest check failed', { code: f.code, counts: { objects: f.objects } });
      }
      const work = planWork(
        sorted,
        {
          manifest: (batchId) => planFromManifest(store, bucket, batchId, { headConcurrency, logger }),
          loose: (keys) => planLoose(keys, { store, bucket, headConcurrency, logger }, counts),
        },
        counts,
      );
      fail(
        await startJobs(work, { store, runner, rawBucket: bucket, clock, logger, jobConcurrency }, counts),
      );
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
