import { bodyPartTerm, modalityTerm } from '../deid/vocabularies.ts';
import { BOX_COLOUR_NAME } from '../report/annotate.ts';
import type { CriticalFinding } from './assess.ts';
import { decisionSupportStatement, falseAlarmText, pct } from './decision-support.ts';

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
  /** Short-lived link to the de-identified preview of the image that carries the finding, box drawn. */
  readonly previewUrl?: string;
  /** Short-lived link to the study's HTML report (scores, thumbnails, the finding's preview). */
  readonly reportUrl?: string;
  readonly previewTtlMinutes?: number;
  /** Whether the linked image has the model's box drawn on it. */
  readonly boxDrawn?: boolean;
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

/** Model metadata text (the model package's words, never patient data), kept to printable ASCII. */
const plain = (value: string, max: number) =>
  value
    .replace(/[^\x20-\x7e]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, max);

/** Where the box is, in words a reader can check on the image: thirds of the image, e.g. "upper left". */
export function boxRegion(box: { x: number; y: number; width: number; height: number }): string {
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const v = cy < 1 / 3 ? 'upper' : cy < 2 / 3 ? 'middle' : 'lower';
  const h = cx < 1 / 3 ? 'left' : cx < 2 / 3 ? 'centre' : 'right';
  return v === 'middle' && h === 'centre' ? 'centre' : `${v} ${h}`;
}

/** The scope in defined terms only (modality and body part vocabularies), e.g. "CT CHEST; CR/DX CHEST". */
function scopeWords(
  rules: readonly { modalities: readonly string[]; bodyParts: readonly string[] }[],
): string {
  return rules
    .map((r) => {
      const modalities = r.modalities.map((m) => modalityTerm(m)).filter(Boolean);
      const part = r.bodyParts.map((b) => bodyPartTerm(b)).find(Boolean);
      return [modalities.join('/') || 'unspecified modality', part ?? ''].join(' ').trim();
    })
    .join('; ');
}

/** The "about this alert" lines: intended use, measured false alarm rate, decision support. */
export function explanationLines(finding: CriticalFinding): string[] {
  const ds = finding.decisionSupport;
  const lines = ['About this alert:'];
  if (ds) {
    const far = falseAlarmText(ds.performance.falseAlarmsPer100Studies);
    lines.push(
      `- Intended use: ${plain(ds.intendedUse, 300)}`,
      `- Assesses only: ${scopeWords(ds.scope.rules)}. Other series are`,
      '  recorded as "not assessed (out of scope)" and never alert.',
      `- Measured false alarm rate: ${far.rate} (${far.interval};`,
      `  ${far.basis}).`,
      `- Sensitivity on synthetic lesions at this threshold: ${pct(ds.performance.syntheticSensitivity * 100)} %.`,
    );
  }
  lines.push(
    `- ${decisionSupportStatement(ds?.kind ?? 'reference')}`,
    '  The image and the box must be read by a clinician.',
  );
  return lines;
}

/**
 * A score or threshold as people read it, in the email and the report alike: three decimals, or
 * 'n/a'. One precision for both, so a score at or above its threshold never reads below it.
 */
export const scoreText = (v: number | undefined): string => (v === undefined ? 'n/a' : v.toFixed(3));

export function composeCriticalNotification(
  finding: CriticalFinding,
  ctx: NotificationContext,
): NotificationMessage {
  const modality = term(ctx.modality, modalityTerm, 'unspecified modality');
  const bodyPart = term(ctx.bodyPart, bodyPartTerm, 'unspecified');
  const label = finding.label.replace(/_/g, ' ');
  const subject = `[medimg] Critical finding: ${label} (${modality}) score ${scoreText(finding.score)}`.slice(
    0,
    100,
  );
  const where =
    finding.imagesInSeries > 1
      ? `image ${finding.position} of ${finding.imagesInSeries} in the series`
      : 'the single image of the series';
  const box = finding.box
    ? `${boxRegion(finding.box)} of the image (${BOX_COLOUR_NAME} box on the linked image)`
    : 'none';
  const lines = [
    'The medimg pipeline flagged a critical finding that needs review by the clinical team.',
    '',
    `Finding:        ${label}`,
    `Score:          ${scoreText(finding.score)} (critical threshold ${scoreText(finding.threshold)})`,
    `Modality:       ${modality}`,
    `Body part:      ${bodyPart}`,
    `Study:          ${finding.study} (pseudonymous Study Instance UID)`,
    `Series:         ${finding.series}`,
    `Image:          ${where}`,
    `Region:         ${box}`,
    `Model:          ${finding.model.name} ${finding.model.version}`,
    `Detected at:    ${ctx.detectedAt.toISOString()}`,
    `Pipeline job:   ${ctx.jobId}`,
    ...(ctx.batchRef && /^b-[0-9a-f]{20}$/.test(ctx.batchRef) ? [`Upload batch:   ${ctx.batchRef}`] : []),
    '',
    ctx.previewUrl
      ? `De-identified image${ctx.boxDrawn ? ' with the box' : ''} (link valid ${ctx.previewTtlMinutes ?? 60} minutes):\n${ctx.previewUrl}`
      : 'De-identified image: in the processed bucket under the study above (findings/).',
    ...(ctx.reportUrl
      ? ['', `Study report (link valid ${ctx.previewTtlMinutes ?? 60} minutes):\n${ctx.reportUrl}`]
      : []),
    '',
    ...explanationLines(finding),
    '',
    'To identify the patient, an authorized clinician resolves the pseudonymous study through the',
    'restricted linkage store (by upload batch reference or study). This message carries no patient identifiers.',
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
