/**
 * `medimg reidentify`: the break-glass way back from a pseudonymous study to the patient. The
 * request's checks, the audit record and the read live in ../reidentify.ts; this module gives it
 * its place, options and help among the CLI's commands.
 */
import { defineCommand } from '../command.ts';

export const reidentifyCommand = defineCommand({
  name: 'reidentify',
  summary: 'Print the original identifiers of a pseudonymous study, recording who asked and why first.',
  positionals: { usage: '<pseudonymous study UID>', min: 1, max: 1 },
  details: `Every request is recorded first, with who asked and why, under audit/reidentify/ in the
linkage store; nothing is read when that record cannot be written (docs/runbook.md).`,
  options: {
    reason: {
      type: 'string',
      value: '<text>',
      required: true,
      description: "why the identity is needed (a ticket, a tumour board, a clinician's request)",
    },
    'linkage-dir': {
      type: 'string',
      value: '<dir>',
      description:
        'a local linkage store: the restricted folder of medimg process (default <out>-RESTRICTED-PHI)',
    },
    bucket: {
      type: 'string',
      value: '<name>',
      description: "the linkage bucket, with the re-identification role's credentials (e.g. AWS_PROFILE)",
    },
  },
  // Loaded when it runs (it brings the AWS SDK): `medimg process` starts without it.
  run: async ({ options, positionals }, io) =>
    (await import('../reidentify.ts')).runReidentify(
      {
        study: positionals[0] ?? '',
        reason: options.reason,
        linkageDir: options['linkage-dir'],
        bucket: options.bucket,
      },
      { stdout: io.stdout, stderr: io.stderr },
    ),
});
