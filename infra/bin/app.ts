#!/usr/bin/env -S npx tsx
/**
 * The CDK app: reads the context once, builds the pipeline stack, applies the cdk-nag packs.
 * `npm run synth` (offline, no credentials) and `npx cdk deploy` both start here.
 */
import { App } from 'aws-cdk-lib';
import { readPipelineConfig } from '../lib/config.ts';
import { applyNagPacks } from '../lib/nag.ts';
import { PipelineStack } from '../lib/pipeline-stack.ts';
import { repositorySources } from '../lib/sources.ts';

const app = new App();
const config = readPipelineConfig(app.node);
new PipelineStack(app, config.stackName, {
  config,
  sources: repositorySources(),
  description:
    'Medical imaging pipeline: DICOM de-identification, normalization, anomaly detection, notification',
});
applyNagPacks(app);
app.synth();
