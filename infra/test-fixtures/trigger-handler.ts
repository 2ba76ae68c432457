/** Stand-in for trigger-lambda/src/handler.ts in the CDK tests (bundled, never run). */
export const handler = async (): Promise<{ batchItemFailures: [] }> => ({ batchItemFailures: [] });
