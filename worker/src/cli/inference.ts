import { existsSync } from 'node:fs';
import path from 'node:path';
import type { InferenceClient } from '../ports/inference.port.ts';
import { defaultModelDir } from './build-info.ts';
import { CliError, type CliIo, EXIT } from './command.ts';

export type ClosableInference = InferenceClient & { close?: () => Promise<void> };

/**
 * The model for `medimg process --infer`: the production SageMaker adapter pointed at --endpoint
 * (any server speaking the SageMaker runtime protocol, e.g. the model container), or the reference
 * model in this process. Both answer the same contract; the worker's assess step does the rest.
 */
export async function openInference(options: {
  endpoint?: string;
  modelDir?: string;
  io: CliIo;
}): Promise<ClosableInference> {
  if (options.endpoint) {
    const { SageMakerRuntimeClient } = await import('@aws-sdk/client-sagemaker-runtime');
    const { SageMakerInferenceClient, sagemakerClientConfig } = await import(
      '../adapters/sagemaker-inference.ts'
    );
    const client = new SageMakerRuntimeClient({
      ...sagemakerClientConfig(),
      endpoint: options.endpoint,
      region: options.io.env.AWS_REGION ?? 'us-east-1',
      // A local model server checks no signature; these are never sent to AWS.
      credentials: { accessKeyId: 'medimg-local', secretAccessKey: 'medimg-local' },
    });
    return Object.assign(
      new SageMakerInferenceClient({ endpointName: 'medimg-local', client, maxAttempts: 2 }),
      {
        close: async () => client.destroy(),
      },
    );
  }
  const dir = path.resolve(options.modelDir ?? (await defaultModelDir()));
  if (!existsSync(path.join(dir, 'model.json')))
    throw new CliError(`no model.json in the model folder ${dir}`, EXIT.noInput);
  const { loadInProcessInference } = await import('../adapters/in-process-inference.ts');
  try {
    return await loadInProcessInference(dir);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new CliError(`cannot load the model from ${dir} (${typeof code === 'string' ? code : 'error'})`);
  }
}
