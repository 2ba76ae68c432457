/**
 * The diagrams cannot drift from the infrastructure or from their SVGs:
 * - every resource a diagram draws as existing is in the synthesized CDK template (by type and
 *   construct path), every AWS service it names exists there, and what it draws as planned does not;
 * - every major resource of the template appears in the structure diagram;
 * - every committed SVG was rendered from the Mermaid source now in the Markdown (its stamp);
 * - the English and French versions of a diagram annotate the same resources.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { synthPipeline } from '@medimg/infra/testing.ts';
import { CfnResource, Stack } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BILINGUAL_DOCUMENTS,
  countMermaidFences,
  DIAGRAM_NAMES,
  type Diagram,
  drawnLines,
  extractDiagrams,
  namedServiceTypes,
  nodesClassedPlanned,
  plannedAnnotations,
  REPO_ROOT,
  readDoc,
  readStamp,
  resourceAnnotations,
  sourceHash,
  svgPathOf,
} from './docs.ts';

interface TemplateResource {
  readonly type: string;
  /** Construct path relative to the stack, e.g. `Storage/RawBucket/Resource`. */
  readonly path: string;
}

/** The resource types the structure diagram must show, every one of them. */
const MAJOR_TYPES = [
  'AWS::S3::Bucket',
  'AWS::SQS::Queue',
  'AWS::Lambda::Function',
  'AWS::ECS::TaskDefinition',
  'AWS::SageMaker::Endpoint',
  'AWS::SNS::Topic',
  'AWS::SecretsManager::Secret',
  'AWS::Events::Rule',
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGateway::RestApi',
  'AWS::StepFunctions::StateMachine',
  'AWS::CloudTrail::Trail',
];

/** CDK's own deployment-time machinery (custom resource handlers), not part of the pipeline. */
const CDK_INTERNAL =
  /^(BucketNotificationsHandler|Custom::|CustomVpcRestrictDefaultSG|AWS679f53fac|LogRetention)/;

const architectureDiagrams = (lang: 'en' | 'fr'): Diagram[] => {
  const doc = BILINGUAL_DOCUMENTS.find((pair) => pair.en === 'docs/architecture.md')![lang];
  return extractDiagrams(readDoc(doc), doc);
};
const allDiagrams = (): Diagram[] =>
  BILINGUAL_DOCUMENTS.flatMap((pair) => [pair.en, pair.fr]).flatMap((doc) =>
    extractDiagrams(readDoc(doc), doc),
  );

const label = (d: Diagram) => `${d.document} "${d.name}"`;
const pathMatches = (resourcePath: string, annotated: string) =>
  resourcePath === annotated || resourcePath.startsWith(`${annotated}/`);

let resources: TemplateResource[];

beforeAll(() => {
  const { stack } = synthPipeline({ findingsEmails: 'radiology@example.org', opsEmails: 'ops@example.org' });
  const prefix = `${stack.node.path}/`;
  resources = stack.node
    .findAll()
    .filter((c): c is CfnResource => CfnResource.isCfnResource(c) && Stack.of(c) === stack)
    .map((c) => ({ type: c.cfnResourceType, path: c.node.path.slice(prefix.length) }));
});

describe('diagram sources', () => {
  it('names every Mermaid fence of every bilingual document, so that each one is rendered', () => {
    for (const pair of BILINGUAL_DOCUMENTS) {
      for (const doc of [pair.en, pair.fr]) {
        const text = readDoc(doc);
        expect(extractDiagrams(text, doc).length, doc).toBe(countMermaidFences(text));
      }
    }
  });

  it('gives the architecture the four diagrams, in the same order in English and French', () => {
    expect(architectureDiagrams('en').map((d) => d.name)).toEqual([...DIAGRAM_NAMES]);
    expect(architectureDiagrams('fr').map((d) => d.name)).toEqual([...DIAGRAM_NAMES]);
  });

  it('annotates the same resources and planned elements in the English and French version of each diagram', () => {
    const fr = architectureDiagrams('fr');
    for (const en of architectureDiagrams('en')) {
      const other = fr.find((d) => d.name === en.name)!;
      expect(resourceAnnotations(other.source), label(other)).toEqual(resourceAnnotations(en.source));
      expect(plannedAnnotations(other.source), label(other)).toEqual(plannedAnnotations(en.source));
    }
  });
});

describe('committed SVGs', () => {
  it('exist for every diagram and were rendered from the Mermaid source now in the Markdown', () => {
    const stale: string[] = [];
    for (const d of allDiagrams()) {
      const file = path.join(REPO_ROOT, svgPathOf(d));
      const stamp = existsSync(file) ? readStamp(readFileSync(file, 'utf8')) : undefined;
      if (stamp?.sourceSha256 !== sourceHash(d.source)) stale.push(svgPathOf(d));
    }
    expect(stale, 'stale or missing SVGs: run `npm run docs:diagrams` and commit them').toEqual([]);
  });

  it('are SVG documents drawn by mermaid-cli, with the text of their diagram', () => {
    for (const d of allDiagrams()) {
      const svg = readFileSync(path.join(REPO_ROOT, svgPathOf(d)), 'utf8');
      expect(readStamp(svg)?.renderer, svgPathOf(d)).toMatch(
        /^mermaid-cli@\d+\.\d+\.\d+\+mermaid@\d+\.\d+\.\d+$/,
      );
      expect(svg, svgPathOf(d)).toMatch(/<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      // A word of the first drawn label reaches the SVG as text (htmlLabels off: plain SVG text).
      const firstLabel = /\[([^\]<"]{4,})/.exec(d.source)?.[1] ?? /as ([^\n]{4,})/.exec(d.source)?.[1];
      const word = firstLabel?.split(/[\s,:]+/).find((w) => w.length >= 4);
      expect(word, `${label(d)}: no label found`).toBeDefined();
      expect(svg, svgPathOf(d)).toContain(word!);
    }
  });
});

describe('diagrams against the synthesized CDK template', () => {
  it('draws as existing only resources the template creates, at the construct path they name', () => {
    const missing: string[] = [];
    for (const d of allDiagrams()) {
      for (const a of resourceAnnotations(d.source)) {
        if (!resources.some((r) => r.type === a.type && pathMatches(r.path, a.constructPath))) {
          missing.push(`${label(d)}: ${a.node} = ${a.type} at ${a.constructPath}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('draws every annotated node, and no annotated node as planned', () => {
    for (const d of allDiagrams()) {
      const drawn = drawnLines(d.source).join('\n');
      const planned = nodesClassedPlanned(d.source);
      for (const a of resourceAnnotations(d.source)) {
        expect(drawn, `${label(d)}: ${a.node}`).toMatch(new RegExp(`\\b${a.node}\\b`));
        expect(planned.has(a.node), `${label(d)}: ${a.node} exists but is classed planned`).toBe(false);
      }
    }
  });

  it('draws planned elements dashed and labelled, and fails once the template creates them', () => {
    for (const d of allDiagrams()) {
      const classed = nodesClassedPlanned(d.source);
      const annotated = plannedAnnotations(d.source);
      expect([...classed].sort(), `${label(d)}: planned class vs @planned`).toEqual(
        annotated.map((a) => a.node).sort(),
      );
      if (classed.size > 0) expect(d.source, label(d)).toMatch(/classDef planned [^\n]*stroke-dasharray/);
      for (const a of annotated) {
        const definition = drawnLines(d.source).find((l) => new RegExp(`^${a.node}\\s*[[({]`).test(l));
        expect(definition, `${label(d)}: ${a.node} has no label`).toMatch(/planned|prévu/i);
        const built = resources.filter((r) => r.type === a.type).map((r) => r.path);
        expect(built, `${label(d)}: ${a.node} (${a.type}) now exists: draw it solid and annotate it`).toEqual(
          [],
        );
      }
    }
  });

  it('names only AWS services that the template creates, outside planned elements', () => {
    const types = new Set(resources.map((r) => r.type));
    const unbacked: string[] = [];
    for (const d of allDiagrams()) {
      const planned = new Set(plannedAnnotations(d.source).map((a) => a.node));
      for (const [type, line] of namedServiceTypes(d.source, planned)) {
        if (!types.has(type)) unbacked.push(`${label(d)}: ${type} named in "${line}"`);
      }
    }
    expect(unbacked).toEqual([]);
  });

  it('shows every major resource of the template in the structure diagram', () => {
    for (const lang of ['en', 'fr'] as const) {
      const structure = architectureDiagrams(lang).find((d) => d.name === 'structure')!;
      const annotations = resourceAnnotations(structure.source);
      const absent = resources
        .filter((r) => MAJOR_TYPES.includes(r.type) && !CDK_INTERNAL.test(r.path))
        .filter((r) => !annotations.some((a) => a.type === r.type && pathMatches(r.path, a.constructPath)))
        .map((r) => `${r.type} ${r.path}`);
      expect(absent, `${structure.document}: add these to the structure diagram`).toEqual([]);
    }
  });

  it('finds the resources the checks rely on in the template (the synthesis is not empty)', () => {
    expect(resources.filter((r) => r.type === 'AWS::S3::Bucket').length).toBeGreaterThanOrEqual(4);
    expect(resources.some((r) => r.type === 'AWS::SageMaker::Endpoint')).toBe(true);
  });
});
