import { App, Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { applyNagPacks } from '../lib/nag.ts';
const app = new App();
const s = new Stack(app, 'Bad');
new sqs.Queue(s, 'Q', { encryption: sqs.QueueEncryption.UNENCRYPTED });
applyNagPacks(app);
app.synth();
