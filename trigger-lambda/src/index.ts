export { EcsTaskRunner, type EcsTaskRunnerOptions } from './adapters/ecs-task-runner.ts';
export { classifyKey, type KeyClass } from './batching.ts';
export {
  type EcsTaskConfig,
  type LambdaConfig,
  loadConfigFromEnv,
  MANAGED_BATCH_ID_PATTERN,
  type TriggerConfig,
  triggerConfig,
} from './config.ts';
export {
  ConfigError,
  TaskLaunchError,
  type TaskLaunchErrorCode,
  TriggerError,
  type TriggerErrorCode,
} from './errors.ts';
export { decodeEventKey, parseMessageBody, type S3ObjectEvent } from './events.ts';
export { createHandlerFromEnv, handler } from './handler.ts';
export { jobSpecUri, jobStartedKey } from './jobs.ts';
export { createLogger, hashKey, type LogFields, type Logger, type LogLevel } from './logger.ts';
export type { RunTaskInput, TaskRunner } from './ports.ts';
export { type ReceivedMessage, sqsEventFromMessages } from './sqs-event.ts';
export { createHandler, type HandlerDeps, type SqsBatchHandler } from './trigger.ts';
