/**
 * Test support: the pipeline app as the tests synthesize it, with cdk.json's feature flags (a bare
 * `new App()` does not read cdk.json) and the repository's own sources, falling back to the
 * fixtures in infra/test-fixtures/ for a deployable that does not exist yet.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { readPipelineConfig } from './config.ts';
import { PipelineStack } from './pipeline-stack.ts';
import { type PipelineSources, REPO_ROOT, repositorySources } from './sources.ts';

const FIXTURES = 'infra/test-fixtures';

export function featureFlags(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'infra', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

export function testSources(): PipelineSources {
  const real = repositorySources();
  const orFixture = (file: string) =>
    existsSync(path.join(REPO_ROOT, file)) ? file : `${FIXTURES}/Dockerfile`;
  return {
    ...real,
    workerImage: { ...real.workerImage, file: orFixture(real.workerImage.file) },
    modelImage: { ...real.modelImage, file: orFixture(real.modelImage.file) },
    trigger: {
      ...real.trigger,
      entry: existsSync(real.trigger.entry)
        ? real.trigger.entry
        : path.join(REPO_ROOT, FIXTURES, 'trigger-handler.ts'),
    },
  };
}

/**
 * A fresh app with one pipeline stack; `context` adds to or overrides cdk.json's. Tests that do not
 * care about recipients get `allowNoRecipients`; pass `allowNoRecipients: false` to test the refusal.
 */
export function synthPipeline(context: Record<string, unknown> = {}): { app: App; stack: PipelineStack } {
  const app = new App({ context: { ...featureFlags(), allowNoRecipients: true, ...context } });
  const config = readPipelineConfig(app.node);
  const stack = new PipelineStack(app, config.stackName, { config, sources: testSources() });
  return { app, stack };
}
