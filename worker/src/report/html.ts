/**
 * The run report as one self-contained HTML page: inline CSS, images as data: URIs, no script, and
 * a Content-Security-Policy that forbids any fetch, so it opens the same from a bucket, a mail
 * link or a local folder. Every value on it is a pseudonymous id, a code, a number or the model's
 * own metadata (intended use, measured rates), escaped.
 */
import {
  type DecisionSupport,
  decisionSupportStatement,
  falseAlarmText,
  pct,
} from '../pipeline/decision-support.ts';
import { boxRegion, scoreText as score } from '../pipeline/notification.ts';
import { BOX_COLOUR_NAME } from './annotate.ts';
import type {
  ReportFinding,
  ReportJob,
  ReportSeries,
  ReportStudy,
  ReportTextCheck,
  RunReport,
} from './model.ts';

const escapeHtml = (value: unknown): string =>
  String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** Only PNG data URIs are ever put in an src attribute. */
const imageSrc = (src: string): string => (/^data:image\/png;base64,[A-Za-z0-9+/=]+$/.test(src) ? src : '');

const TEXT_CHECK_ACTIONS: ReadonlySet<string> = new Set(['none', 'redacted', 'quarantined']);
const count = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/**
 * An input's burned-in text check: two counts and the action, each checked to be a count or a word
 * of the closed vocabulary (the job record is read back from a bucket), so that no text can pass.
 */
function textCheckCell(check: ReportTextCheck | undefined): string {
  if (!check || !count(check.textBoxes) || !count(check.phiMatches) || !TEXT_CHECK_ACTIONS.has(check.action))
    return '<td>-</td>';
  return `<td data-text-check="${check.action}" data-text-boxes="${check.textBoxes}" data-phi-matches="${check.phiMatches}">${check.textBoxes} region(s), ${check.phiMatches} matching the header: ${check.action}</td>`;
}

const label = (l: string) => escapeHtml(l.replace(/_/g, ' '));
const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}h3{font-size:15px;margin:18px 0 6px}
.muted{color:#5b6470}.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;word-break:break-all}
.meaning{color:#3d4551;font-size:13px}
.summary{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}
.summary div{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:8px 12px}
.summary b{display:block;font-size:20px}
.critical{background:#fff;border:2px solid #d92d20;border-radius:8px;padding:12px;margin:10px 0;display:flex;gap:16px;flex-wrap:wrap}
.critical .about{max-width:560px;padding-left:18px;font-size:14px}
.critical img{max-width:420px;width:100%;height:auto;border:1px solid #444;background:#000}
.badge{display:inline-block;border-radius:4px;padding:1px 6px;font-size:12px;font-weight:600}
.badge.crit{background:#d92d20;color:#fff}.badge.ok{background:#e6f4ea;color:#1e6b34}.badge.na{background:#eceff3;color:#444}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0}
th,td{border:1px solid #dde1e6;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eef1f4}
.thumbs{display:flex;flex-wrap:wrap;gap:4px;margin:6px 0 14px}
.thumbs figure{margin:0}.thumbs img{height:72px;width:auto;background:#000;border:2px solid transparent}
.thumbs img.flagged{border-color:#d92d20}
footer{margin-top:32px;font-size:12px;color:#5b6470}
`;

/** The model's intended use, measured false alarm rate and decision-support statement, beside its finding. */
function aboutTheAlert(ds: DecisionSupport | undefined, f: ReportFinding): string {
  const region = f.box
    ? `<li>The ${BOX_COLOUR_NAME} box marks where the model points: ${escapeHtml(boxRegion(f.box))} of the image.</li>`
    : '';
  if (!ds) {
    return `<ul class="about">${region}<li>${escapeHtml(decisionSupportStatement('reference'))} The image and the box must be read by a clinician.</li></ul>`;
  }
  const far = falseAlarmText(ds.falseAlarmsPer100Studies);
  return `<ul class="about" data-about-alert>
${region}
<li><b>Intended use:</b> ${escapeHtml(ds.intendedUse)}</li>
<li><b>Measured false alarm rate:</b> <span data-false-alarm-rate>${escapeHtml(far.rate)}</span> (${escapeHtml(far.interval)}; ${escapeHtml(far.basis)}).</li>
<li><b>Sensitivity on synthetic lesions</b> at this threshold: ${pct(ds.syntheticSensitivity * 100)} %.</li>
<li><b>${escapeHtml(ds.statement)}</b> The image and the box must be read by a clinician.</li>
</ul>`;
}

function findingCard(study: ReportStudy, f: ReportFinding): string {
  const where =
    f.imagesInSeries > 1 ? `image ${f.position} of ${f.imagesInSeries}` : 'the single image of the series';
  return `<section class="critical" data-finding="${escapeHtml(f.label)}">
${f.preview ? `<img src="${imageSrc(f.preview.src)}" alt="Preview of ${escapeHtml(where)} with the finding's box drawn">` : '<p>No preview for this image.</p>'}
<div>
<p><span class="badge crit">critical</span> <b>${label(f.label)}</b></p>
<p>Score <b data-score>${score(f.score)}</b> (critical threshold ${score(f.threshold)})</p>
<p>Study <span class="mono">${escapeHtml(study.study)}</span><br>Series <span class="mono">${escapeHtml(f.series)}</span><br>${escapeHtml(where)}</p>
${aboutTheAlert(study.decisionSupport, f)}
</div>
</section>`;
}

function seriesRows(s: ReportSeries): string {
  const findings = s.findings.length
    ? s.findings
        .map(
          (f) =>
            `${label(f.label)} ${score(f.score)} / ${score(f.threshold)} ${f.critical ? '<span class="badge crit">critical</span>' : '<span class="badge ok">below threshold</span>'}`,
        )
        .join('<br>')
    : '<span class="badge na">no score</span>';
  return `<tr data-series="${escapeHtml(s.series)}"><td class="mono">${escapeHtml(s.series)}</td><td>${escapeHtml(s.modality ?? '-')}</td><td>${escapeHtml(s.bodyPart ?? '-')}</td><td>${s.instances}</td><td>${escapeHtml(s.assessment)}</td><td>${findings}</td></tr>`;
}

function thumbnails(s: ReportSeries): string {
  const flagged = new Set(s.findings.filter((f) => f.critical).map((f) => f.sop));
  const imgs = s.thumbnails
    .map(
      (t) =>
        `<img src="${imageSrc(t.src)}" alt="thumbnail"${flagged.has(t.sop) ? ' class="flagged" title="image with the finding"' : ''}>`,
    )
    .join('');
  const more = s.thumbnailsOmitted > 0 ? `<span class="muted">+${s.thumbnailsOmitted} more</span>` : '';
  return `<div class="thumbs" aria-label="thumbnails of series ${escapeHtml(s.series)}">${imgs}${more}</div>`;
}

function studySection(study: ReportStudy): string {
  const thresholds = Object.entries(study.thresholds)
    .map(([l, t]) => `${label(l)} ${score(t)}`)
    .join(', ');
  return `<section class="study" data-study="${escapeHtml(study.study)}">
<h3>Study <span class="mono">${escapeHtml(study.study)}</span></h3>
<p class="muted">Model: ${study.model ? `${escapeHtml(study.model.name)} ${escapeHtml(study.model.version)}` : 'none'}; inference ${escapeHtml(study.inference)}; critical thresholds: ${thresholds || 'none'}</p>
<table><thead><tr><th>series</th><th>modality</th><th>body part</th><th>images</th><th>assessment</th><th>score / threshold</th></tr></thead>
<tbody>${study.series.map(seriesRows).join('\n')}</tbody></table>
${study.series.map((s) => `<p class="muted">Series <span class="mono">${escapeHtml(s.series)}</span></p>${thumbnails(s)}`).join('\n')}
</section>`;
}

function jobSection(job: ReportJob): string {
  const rows = job.steps
    .map(
      (s) =>
        `<tr><td>${escapeHtml(s.name)}</td><td>${escapeHtml(s.state)}</td><td>${s.ok}</td><td>${s.failed}</td><td>${ms(s.durationMs)}</td></tr>`,
    )
    .join('');
  return `<section class="job"><h3>Job <span class="mono">${escapeHtml(job.jobId)}</span>: ${escapeHtml(job.state)}</h3>
<p class="muted">${job.counts.inputs} input(s): ${job.counts.processed} processed, ${job.counts.quarantined} quarantined, ${job.counts.failed} failed${job.batchRef ? `; upload batch ref ${escapeHtml(job.batchRef)}` : ''}; inference ${escapeHtml(job.inference.state)}${job.inference.errorCode ? ` (${escapeHtml(job.inference.errorCode)})` : ''}</p>
<table><thead><tr><th>step</th><th>state</th><th>ok</th><th>not ok</th><th>time (summed over files)</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

export function renderReportHtml(report: RunReport): string {
  const critical = report.studies.flatMap((s) => s.critical.map((f) => ({ study: s, f })));
  const series = report.studies.reduce((n, s) => n + s.series.length, 0);
  const sum = (k: 'quarantined' | 'failed') => report.jobs.reduce((n, j) => n + j.counts[k], 0);
  // Files of the studies shown (a study's own report shows its study; the jobs' other counts stay job-wide).
  const images = report.studies.reduce((n, s) => n + s.series.reduce((m, x) => m + x.instances, 0), 0);
  const setAside = report.setAside.length
    ? `<table><thead><tr><th>job</th><th>input #</th><th>input id</th><th>outcome</th><th>reason</th><th>step</th><th>burned-in text</th></tr></thead><tbody>${report.setAside
        .map(
          (i) =>
            `<tr data-set-aside="${escapeHtml(i.reason)}"><td class="mono">${escapeHtml(i.jobId)}</td><td>${i.index}</td><td class="mono">${escapeHtml(i.inputId)}</td><td>${escapeHtml(i.status)}</td><td><span class="mono">${escapeHtml(i.reason)}</span>${i.meaning ? `<br><span class="meaning">${escapeHtml(i.meaning)}</span>` : ''}</td><td>${escapeHtml(i.step ?? '-')}</td>${textCheckCell(i.textCheck)}</tr>`,
        )
        .join('')}</tbody></table>`
    : '<p>None.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(report.title)}</title><style>${CSS}</style></head>
<body><main>
<h1>${escapeHtml(report.title)}</h1>
<p class="muted">Pseudonymous identifiers only: study and series ids are the de-identified UIDs; inputs set aside are named by keyed input id (the CLI's restricted inputs.json, or the job spec in the raw bucket, maps them back).</p>
<div class="summary">
<div><b data-count="studies">${report.studies.length}</b>studies</div>
<div><b data-count="series">${series}</b>series</div>
<div><b data-count="processed">${images}</b>files processed</div>
<div><b data-count="quarantined">${sum('quarantined')}</b>quarantined in the job${report.jobs.length > 1 ? 's' : ''}</div>
<div><b data-count="failed">${sum('failed')}</b>failed in the job${report.jobs.length > 1 ? 's' : ''}</div>
<div><b data-count="critical">${critical.length}</b>critical findings</div>
</div>
<h2>Critical findings</h2>
${critical.length ? critical.map(({ study, f }) => findingCard(study, f)).join('\n') : '<p>None.</p>'}
<h2>Studies and series</h2>
${report.studies.length ? report.studies.map(studySection).join('\n') : '<p>No study was processed.</p>'}
<h2>Inputs set aside (quarantined or failed)</h2>
${setAside}
<h2>Jobs and step timings</h2>
${report.jobs.map(jobSection).join('\n')}
<footer>${escapeHtml(decisionSupportStatement(report.studies.find((s) => s.decisionSupport)?.decisionSupport?.kind ?? 'reference'))} Scores are the series maximum; a finding is critical at or above its threshold.</footer>
</main></body></html>
`;
}
