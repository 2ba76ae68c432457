/**
 * The dispatcher Lambda: one function, two event sources. SQS batches from the dispatch queue
 * (start and time-limit messages, partial batch responses) and EventBridge "ECS Task State
 * Change" events of stopped worker tasks. The demo wires local adapters to the same functions.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { errorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { silentLogger } from '../logger.ts';
import type { Dispatcher, StoppedOutcome } from './core.ts';
import { DispatchMessageSchema } from './model.ts';
import { isTaskStateChange, parseTaskStopped } from './task-event.ts';

export interface DispatchHandlers {
  readonly onQueueBatch: (event: SQSEvent) => Promise<SQSBatchResponse>;
  /** Resolves to undefined for an event that is not a stopped worker task. */
  readonly onTaskStateChange: (event: unknown) => Promise<StoppedOutcome | undefined>;
}

export function createDispatchHandlers(
  dispatcher: Dispatcher,
  options: { readonly containerName: string; readonly logger?: Logger },
): DispatchHandlers {
  const log = options.logger ?? silentLogger;
  const handlers: DispatchHandlers = {
    async onQueueBatch(event) {
      const failures: { itemIdentifier: string }[] = [];
      for (const record of event.Records ?? []) {
        let json: unknown;
        try {
          json = JSON.parse(record.body);
        } catch {
          json = undefined;
        }
        // A stopped-task event that failed every asynchronous invocation lands in the dispatch DLQ;
        // redriving that DLQ into the dispatch queue replays it here.
        if (isTaskStateChange(json)) {
          try {
            await handlers.onTaskStateChange(json);
          } catch (err) {
            log.warn('replayed stopped-task event failed', {
              messageId: record.messageId,
              code: errorCode(err),
            });
            failures.push({ itemIdentifier: record.messageId });
          }
          continue;
        }
        const parsed = DispatchMessageSchema.safeParse(json);
        if (!parsed.success) {
          // Not ours and never will be: dropping it beats redriving it forever.
          log.warn('dispatch message rejected', { messageId: record.messageId, code: 'EVENT_INVALID' });
          continue;
        }
        try {
          const msg = parsed.data;
          const outcome =
            msg.kind === 'start' ? await dispatcher.start(msg) : await dispatcher.timeLimit(msg);
          // At the cap the message stays on the queue; it comes back after the visibility timeout.
          if (outcome === 'deferred') failures.push({ itemIdentifier: record.messageId });
        } catch (err) {
          log.warn('dispatch failed', { messageId: record.messageId, code: errorCode(err) });
          failures.push({ itemIdentifier: record.messageId });
        }
      }
      return { batchItemFailures: failures };
    },
    async onTaskStateChange(event) {
      const stopped = parseTaskStopped(event, options.containerName);
      if (!stopped) return undefined;
      return dispatcher.taskStopped(stopped);
    },
  };
  return handlers;
}

/** Routes a Lambda event: SQS records or an EventBridge event. */
export async function routeDispatchEvent(
  handlers: DispatchHandlers,
  event: unknown,
): Promise<SQSBatchResponse | { outcome: string }> {
  if (isTaskStateChange(event)) {
    return { outcome: (await handlers.onTaskStateChange(event)) ?? 'ignored' };
  }
  return handlers.onQueueBatch(event as SQSEvent);
}
