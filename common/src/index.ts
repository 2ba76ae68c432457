export * from './env.ts';
export * from './errors.ts';
export * from './inference.ts';
export * from './job-spec.ts';
export * from './keys.ts';
export * from './logger.ts';
export * from './object-store.ts';
export * from './outcomes.ts';
