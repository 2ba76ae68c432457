import { bodyPartTerm, modalityTerm } from '../deid/vocabularies.ts';
import type { CriticalFinding } from './assess.ts';

/**
 * The clinician notification (DESIGN D6). SNS email is not a secure channel: the message names only
 * the pseudonymous study, what was found and where an authorized clinician resolves it. It is built
 * from de-identified values and pipeline ids only; nothing from the original headers reaches it.
 */
export interface NotificationContext {
  readonly modality?: string;
  readonly bodyPart?: string;
  /** Keyed reference of the upload batch (never the uploader's batch id); absent for loose uploads. */
  readonly batchRef?: string;
  readonly jobId: string;
  readonly detectedAt: Date;
  /** Short-lived link to the de-identified preview of the image that carries the finding. */
  readonly previewUrl?: string;
  readonly previewTtlMinutes?: number;
}

export interface NotificationMessage {
  readonly subject: string;
  readonly message: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** Only defined terms of the standard are shown; anything else is the fallback. */
const term = (
  value: string | undefined,
  vocabulary: (v: string | undefined) => string | undefined,
  fallback: string,
) => vocabulary(value) ?? fallback;

export function composeCriticalNotification(
  finding: CriticalFinding,
  ctx: NotificationContext,
): NotificationMessage {
  const modality = term(ctx.modality, modalityTerm, 'unspecified modality');
  const bodyPart = term(ctx.bodyPart, bodyPartTerm, 'unspecified');
  const label = finding.label.replace(/_/g, ' ');
  const subject = `[medimg] Critical finding: ${label} (${modality}) score ${finding.score.toFixed(2)}`.slice(
    0,
    100,
  );
  const where =
    finding.imagesInSeries > 1
      ? `image ${finding.position} of ${finding.imagesInSeries} in the series`
      : 'the single image of the series';
  const lines = [
    'The medimg pipeline flagged a critical finding that needs review by the clinical team.',
    '',
    `Finding:        ${label}`,
    `Score:          ${finding.score.toFixed(3)} (critical threshold ${finding.threshold?.toFixed(2) ?? 'n/a'})`,
    `Modality:       ${modality}`,
    `Body part:      ${bodyPart}`,
    `Study:          ${finding.study} (pseudonymous Study Instance UID)`,
    `Series:         ${finding.series}`,
    `Image:          ${where}`,
    `Model:          ${finding.model.name} ${finding.model.version}`,
    `Detected at:    ${ctx.detectedAt.toISOString()}`,
    `Pipeline job:   ${ctx.jobId}`,
    ...(ctx.batchRef && /^b-[0-9a-f]{20}$/.test(ctx.batchRef) ? [`Upload batch:   ${ctx.batchRef}`] : []),
    '',
    ctx.previewUrl
      ? `De-identified preview (link valid ${ctx.previewTtlMinutes ?? 60} minutes):\n${ctx.previewUrl}`
      : 'De-identified preview: in the processed bucket under the study above.',
    '',
    'To identify the patient, an authorized clinician resolves the pseudonymous study through the',
    'restricted linkage store (by upload batch reference or study). This message carries no patient identifiers.',
    'Decision support from a reference model: not a diagnosis and not a medical device.',
  ];
  return {
    subject,
    message: lines.join('\n'),
    attributes: {
      kind: 'critical-finding',
      label: finding.label,
      study: finding.study,
      modality,
      dedupKey: `${finding.study}/${finding.label}`,
    },
  };
}
