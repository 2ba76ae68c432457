/**
 * The documentation's machine-readable parts: which documents exist in both languages, the Mermaid
 * diagrams inside them (named by a `<!-- diagram: NAME -->` comment before the fence), their SVG
 * renderings and the stamp that ties an SVG to the exact source it was rendered from, the
 * resource annotations that tie a diagram to the CDK template, and heading outlines.
 *
 * Rendering (`npm run docs:diagrams`) and the tests both use this module; the tests need no browser.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lexer, type Token, type Tokens } from 'marked';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Decision records with a French version: `docs/fr/decisions/` holds each under its English file name
 * (`docs/decisions/`).
 */
export const TRANSLATED_DECISION_RECORDS = [
  'README.md',
  '000-design-baseline.md',
  '001-common-workspace-and-tsx.md',
  '002-quarantine-and-notification-dedup.md',
  '003-jpeg-12-bit-decoder.md',
  '010-aws-adapter-workspace.md',
  '010-contracts-and-config.md',
  '010-dicom-library-workspace.md',
  '010-dockerfile-manifests-stage.md',
  '011-safe-by-default-deidentification.md',
  '012-burned-in-text-ocr.md',
  '013-upload-api.md',
  '014-job-dispatch-and-retries.md',
  '015-local-cli-report.md',
  '016-documentation-and-diagrams.md',
  '017-model-scope-ood-and-calibration.md',
  '018-bench-and-throughput.md',
  '019-per-file-time-bound-and-fuzzing.md',
] as const;

/** Every document that exists in English and in French (paths relative to the repository root). */
export const BILINGUAL_DOCUMENTS = [
  { en: 'docs/architecture.md', fr: 'docs/fr/architecture.md' },
  { en: 'docs/clinicians.md', fr: 'docs/fr/clinicians.md' },
  { en: 'docs/operators.md', fr: 'docs/fr/operators.md' },
  { en: 'docs/reason-codes.md', fr: 'docs/fr/reason-codes.md' },
  { en: 'docs/deidentification.md', fr: 'docs/fr/deidentification.md' },
  { en: 'docs/runbook.md', fr: 'docs/fr/runbook.md' },
  { en: 'docs/cost.md', fr: 'docs/fr/cost.md' },
  { en: 'infra/README.md', fr: 'docs/fr/deployment.md' },
  { en: 'worker/README.md', fr: 'docs/fr/worker.md' },
  { en: 'trigger-lambda/README.md', fr: 'docs/fr/trigger.md' },
  { en: 'upload-api/README.md', fr: 'docs/fr/upload-api.md' },
  { en: 'models/README.md', fr: 'docs/fr/models.md' },
  { en: 'models/MODEL_CARD.md', fr: 'docs/fr/model-card.md' },
  { en: 'models/REPLACING.md', fr: 'docs/fr/replacing-the-model.md' },
  { en: 'docs/burned-in-text.md', fr: 'docs/fr/burned-in-text.md' },
  { en: 'docs/performance.md', fr: 'docs/fr/performance.md' },
  { en: 'README.md', fr: 'README.fr.md' },
  ...TRANSLATED_DECISION_RECORDS.map((name) => ({
    en: `docs/decisions/${name}`,
    fr: `docs/fr/decisions/${name}`,
  })),
] as const;

/** The four diagrams of the architecture, in the order they appear. */
export const DIAGRAM_NAMES = ['structure', 'sequence', 'failures', 'deployment'] as const;
export type DiagramName = (typeof DIAGRAM_NAMES)[number];

export interface Diagram {
  readonly name: string;
  /** The Markdown file that holds it, relative to the repository root. */
  readonly document: string;
  readonly source: string;
}

const DIAGRAM_BLOCK = /<!--\s*diagram:\s*([a-z0-9-]+)\s*-->\s*\n```mermaid\n([\s\S]*?)\n```/g;

/** The named Mermaid diagrams of one Markdown text, in order. */
export function extractDiagrams(markdown: string, document: string): Diagram[] {
  return [...markdown.matchAll(DIAGRAM_BLOCK)].map((m) => ({ name: m[1]!, document, source: m[2]! }));
}

/** Mermaid fences without a name: each must be named, or the renderer would miss it. */
export function countMermaidFences(markdown: string): number {
  return (markdown.match(/^```mermaid$/gm) ?? []).length;
}

export function readDoc(relative: string): string {
  return readFileSync(path.join(REPO_ROOT, relative), 'utf8');
}

/** Where a diagram's SVG lives: `diagrams/<name>.svg` beside its Markdown file. */
export function svgPathOf(d: Pick<Diagram, 'name' | 'document'>): string {
  return path.posix.join(path.posix.dirname(d.document), 'diagrams', `${d.name}.svg`);
}

/**
 * Mermaid settings shared by every diagram: a neutral theme, and plain SVG text (no HTML in
 * foreignObject), so that viewers without HTML support in SVG (rsvg, PDF converters, some
 * previewers) show the labels. Part of each SVG's stamp: changing them makes every SVG stale.
 */
export const MERMAID_CONFIG = {
  theme: 'neutral',
  htmlLabels: false,
  flowchart: { htmlLabels: false, curve: 'basis', nodeSpacing: 30, rankSpacing: 45 },
  sequence: { mirrorActors: false, wrap: true, width: 170 },
  themeVariables: { fontSize: '15px' },
} as const;

/**
 * The hash an SVG records of what it was rendered from: the Mermaid source (line endings
 * normalised) and the shared settings.
 */
export function sourceHash(source: string): string {
  return createHash('sha256')
    .update(source.replace(/\r\n/g, '\n').trim())
    .update('\n')
    .update(JSON.stringify(MERMAID_CONFIG))
    .digest('hex');
}

const STAMP = /^<!-- medimg-diagram source-sha256=([0-9a-f]{64}) renderer=(\S+) -->\n/;

/** Prefixes an SVG with the stamp naming its source's hash and the renderer that drew it. */
export function stampSvg(svg: string, source: string, renderer: string): string {
  return `<!-- medimg-diagram source-sha256=${sourceHash(source)} renderer=${renderer} -->\n${svg.replace(STAMP, '')}`;
}

export function readStamp(svg: string): { sourceSha256: string; renderer: string } | undefined {
  const m = STAMP.exec(svg);
  return m ? { sourceSha256: m[1]!, renderer: m[2]! } : undefined;
}

/**
 * Resource annotations, as Mermaid comments inside a diagram:
 *   `%% @resource NODE AWS::Type Construct/Path`  the node is this resource of the CDK stack
 *   `%% @planned NODE AWS::Type`                  the node is planned: drawn dashed, not deployed yet
 * The construct path is relative to the stack (`Storage/RawBucket`).
 */
export interface ResourceAnnotation {
  readonly node: string;
  readonly type: string;
  readonly constructPath: string;
}
export interface PlannedAnnotation {
  readonly node: string;
  readonly type: string;
}

export function resourceAnnotations(source: string): ResourceAnnotation[] {
  return [...source.matchAll(/^\s*%% @resource (\S+) (AWS::\S+) (\S+)\s*$/gm)].map((m) => ({
    node: m[1]!,
    type: m[2]!,
    constructPath: m[3]!,
  }));
}

export function plannedAnnotations(source: string): PlannedAnnotation[] {
  return [...source.matchAll(/^\s*%% @planned (\S+) (AWS::\S+)\s*$/gm)].map((m) => ({
    node: m[1]!,
    type: m[2]!,
  }));
}

/** Nodes given the `planned` class (`class A,B planned` or `A:::planned`). */
export function nodesClassedPlanned(source: string): Set<string> {
  const out = new Set<string>();
  for (const m of source.matchAll(/^\s*class ([\w,]+) planned\s*$/gm)) {
    for (const id of m[1]!.split(',')) out.add(id);
  }
  for (const m of source.matchAll(/(\w+)(?:\[[^\]]*\]|\([^)]*\)|\{[^}]*\})?:::planned\b/g)) out.add(m[1]!);
  return out;
}

/** The diagram's lines without comments (what Mermaid draws). */
export function drawnLines(source: string): string[] {
  return source
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('%%'));
}

/**
 * AWS services a diagram can name in its text, with the resource type whose presence in the template
 * makes the name true. A line that names a service and is not about a planned node must be backed by
 * the template.
 */
export const SERVICE_VOCABULARY: readonly { readonly pattern: RegExp; readonly type: string }[] = [
  { pattern: /\bS3\b/, type: 'AWS::S3::Bucket' },
  { pattern: /\bSQS\b/, type: 'AWS::SQS::Queue' },
  { pattern: /\bLambda\b/, type: 'AWS::Lambda::Function' },
  { pattern: /\bFargate\b|\bECS\b/, type: 'AWS::ECS::TaskDefinition' },
  { pattern: /\bSageMaker\b/, type: 'AWS::SageMaker::Endpoint' },
  { pattern: /\bSNS\b/, type: 'AWS::SNS::Topic' },
  { pattern: /\bKMS\b/, type: 'AWS::KMS::Key' },
  { pattern: /Secrets Manager/, type: 'AWS::SecretsManager::Secret' },
  { pattern: /CloudWatch (?:alarm|alarme)/i, type: 'AWS::CloudWatch::Alarm' },
  { pattern: /\bdashboard\b|tableau de bord/i, type: 'AWS::CloudWatch::Dashboard' },
  { pattern: /CloudWatch Logs/, type: 'AWS::Logs::LogGroup' },
  { pattern: /EventBridge/, type: 'AWS::Events::Rule' },
  { pattern: /API Gateway|HTTP API/, type: 'AWS::ApiGatewayV2::Api' },
  { pattern: /CloudTrail/, type: 'AWS::CloudTrail::Trail' },
  { pattern: /Step Functions/, type: 'AWS::StepFunctions::StateMachine' },
  { pattern: /\bVPC\b/, type: 'AWS::EC2::VPC' },
  {
    pattern: /\bendpoint (?:gateway|interface)|(?:gateway|interface) endpoint/i,
    type: 'AWS::EC2::VPCEndpoint',
  },
  { pattern: /flow logs?/i, type: 'AWS::EC2::FlowLog' },
  { pattern: /\bIAM\b|\brole\b|\brôle\b/i, type: 'AWS::IAM::Role' },
];

/** Service types a diagram names on lines that do not concern a planned node. */
export function namedServiceTypes(source: string, plannedNodes: ReadonlySet<string>): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of drawnLines(source)) {
    if ([...plannedNodes].some((id) => new RegExp(`\\b${id}\\b`).test(line))) continue;
    if (/\bplanned\b|\bprévu/i.test(line)) continue;
    for (const { pattern, type } of SERVICE_VOCABULARY) {
      if (pattern.test(line) && !found.has(type)) found.set(type, line);
    }
  }
  return found;
}

/** Heading levels and the number of tables and diagrams under each heading, code fences skipped. */
export function outline(markdown: string): string[] {
  const out: string[] = [];
  let inFence = false;
  let tables = 0;
  let diagrams = 0;
  let current: string | undefined;
  const flush = () => {
    if (current !== undefined) out.push(`${current} tables=${tables} diagrams=${diagrams}`);
  };
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) {
      if (!inFence && line === '```mermaid') diagrams += 1;
      inFence = !inFence;
      continue;
    }
    if (inFence) continue;
    const h = /^(#{1,6}) /.exec(line);
    if (h) {
      flush();
      current = `h${h[1]!.length}`;
      tables = 0;
      diagrams = 0;
    } else if (/^\|\s*:?-{3,}/.test(line)) {
      tables += 1;
    }
  }
  flush();
  return out;
}

/** Relative links of a Markdown text, outside code fences and inline code. */
export function relativeLinks(markdown: string): string[] {
  const text = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((href) => !/^[a-z]+:/i.test(href));
}

/**
 * A placeholder (`<log group>`, `{name}`) is prose a reader replaces, and so is an example address
 * under the reserved `.example` domain (RFC 2606): a translation may translate them. Spans and code
 * lines are compared with each of them blanked to `<>`. Braces holding code (JSON, `${...}`) are not
 * placeholders and stay compared.
 */
export function blankPlaceholders(code: string): string {
  return code.replace(/<[^<>\n"$|]*>|\{[^{}\n":$]*\}|[\w.+-]+@[\w.-]+\.example\b/g, '<>');
}

/**
 * Inline code spans (identifiers, commands, paths, values) of a Markdown text, outside fenced code,
 * as marked's CommonMark lexer reads them: a span may continue on the paragraph's next line (its line
 * break read as a space), never past a block; an unclosed or escaped backtick is no span. Runs of
 * white space are collapsed to one space, so that a span re-wrapped in a translation compares equal.
 */
export function codeSpans(markdown: string): string[] {
  const spans: string[] = [];
  walkTokens(new Lexer().lex(markdown), (token) => {
    if (token.type === 'codespan') spans.push(token.text.replace(/\s+/g, ' '));
  });
  return spans;
}

/** Every token of a lexed document, depth first (inline tokens, list items, table cells). */
function walkTokens(tokens: readonly Token[], visit: (token: Token) => void): void {
  for (const token of tokens) {
    visit(token);
    if ('tokens' in token && token.tokens) walkTokens(token.tokens, visit);
    if (token.type === 'list') walkTokens((token as Tokens.List).items, visit);
    if (token.type === 'table') {
      const table = token as Tokens.Table;
      for (const cell of [...table.header, ...table.rows.flat()]) walkTokens(cell.tokens, visit);
    }
  }
}

/**
 * The code spans of an English text that its French version lacks, placeholders blanked: each span
 * must appear in the French text at least as many times as in the English one. A repository path
 * shown as code may instead become a link in the French text, to the file or to its French version.
 * A span the French text lacks entirely is named as it is; one it shows fewer times is named with
 * both counts.
 */
export function spansMissingFrom(english: string, french: string, frenchDoc: string): string[] {
  const count = (markdown: string) => {
    const counts = new Map<string, number>();
    for (const span of codeSpans(markdown)) {
      const key = blankPlaceholders(span);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  };
  const frenchOf = (doc: string) => BILINGUAL_DOCUMENTS.find((pair) => pair.en === doc)?.fr;
  const linked = relativeLinks(french).map((href) =>
    path.posix.join(path.posix.dirname(frenchDoc), href.split('#')[0]!),
  );
  const isLinked = (span: string) =>
    linked.some(
      (target) =>
        target === span || target === frenchOf(span) || (span.endsWith('/') && target.startsWith(span)),
    );
  const inFrench = count(french);
  const missing: string[] = [];
  for (const [span, times] of count(english)) {
    const found = inFrench.get(span) ?? 0;
    if (found >= times || isLinked(span)) continue;
    missing.push(found === 0 ? span : `${span} (${times} times in English, ${found} in French)`);
  }
  return missing;
}

/**
 * The code of the fenced blocks that carry a language (`sh`, `ini`, `json`...), comments and blank
 * lines dropped, placeholders blanked: what a reader copies, the same in every language. Mermaid
 * diagrams (checked by their own tests) and unlabelled fences (text drawings such as a directory
 * tree with its descriptions) are prose and are left out.
 */
export function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^( *)```(\w+)\n([\s\S]*?)^\1```$/gm)]
    .filter((m) => m[2] !== 'mermaid')
    .map((m) =>
      [
        m[2]!,
        ...m[3]!
          .split('\n')
          .map((line) => blankPlaceholders(line.replace(/(^|\s)#.*$/, '')).trim())
          .filter((line) => line.length > 0),
      ].join('\n'),
    );
}
