import { synthPipeline } from '../lib/testing.ts';
import { nagPacks } from '../lib/nag.ts';
import { Template } from 'aws-cdk-lib/assertions';
const t0 = Date.now();
const { app, stack } = synthPipeline(JSON.parse(process.argv[2] ?? '{}'));
Template.fromStack(stack);
console.error('synth ms', Date.now() - t0);
for (const pack of nagPacks()) {
  const r = pack.validateScope(app);
  for (const v of r.violations) {
    console.log(v.severity, v.ruleName, '|', v.violatingResources.map((x) => x.constructPath.replace(/^MedimgPipeline\//, '')).join(', '));
  }
}
