/**
 * The layout's rules that the compiler does not check: libraries are used through their public
 * face only, and no workspace exports its whole source tree (docs/decisions/010-...).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './local/task-runner.ts';

const WORKSPACES: readonly string[] = JSON.parse(
  readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'),
).workspaces;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mts|js|mjs)$/.test(e.name) && !e.parentPath.includes('node_modules'))
    .map((e) => path.join(e.parentPath, e.name));
}

const importsOf = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1] ?? '');

describe('the repository layout', () => {
  it('has no file outside dicom/ that imports the DICOM library other than through @medimg/dicom', () => {
    const dicomSrc = path.join(REPO_ROOT, 'dicom', 'src');
    const offenders: string[] = [];
    for (const ws of WORKSPACES.filter((w) => w !== 'dicom')) {
      for (const file of sourceFiles(path.join(REPO_ROOT, ws))) {
        for (const spec of importsOf(file)) {
          const deep = spec.startsWith('@medimg/dicom/');
          const relative =
            spec.startsWith('.') && path.resolve(path.dirname(file), spec).startsWith(dicomSrc);
          if (deep || relative) offenders.push(`${path.relative(REPO_ROOT, file)} -> ${spec}`);
        }
      }
    }

    expect(offenders).toEqual([]);
  });

  it('gives the DICOM library and the worker no wildcard export', () => {
    const exportsOf = (ws: string): Record<string, string> =>
      JSON.parse(readFileSync(path.join(REPO_ROOT, ws, 'package.json'), 'utf8')).exports;

    expect(Object.keys(exportsOf('dicom'))).toEqual(['.']);
    expect(Object.keys(exportsOf('worker')).filter((k) => k.includes('*'))).toEqual([]);
    expect(Object.keys(exportsOf('worker')).length).toBeGreaterThan(0);
  });

  describe('the Dockerfiles', () => {
    const DOCKERFILES = ['worker/Dockerfile', 'models/Dockerfile', 'test/Dockerfile'];
    const read = (f: string): string => readFileSync(path.join(REPO_ROOT, f), 'utf8');
    /** Instructions with their continuation lines joined, comments dropped. */
    const instructions = (text: string): string[] =>
      text
        .replace(/\\\n/g, ' ')
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
    const stages = (text: string): string[][] => {
      const out: string[][] = [];
      for (const line of instructions(text)) {
        if (/^FROM\s/i.test(line)) out.push([line]);
        else out.at(-1)?.push(line);
      }
      return out;
    };

    it('share one manifests stage and keep no list of workspace package.json files', () => {
      const manifestStages = DOCKERFILES.map((f) =>
        stages(read(f)).find((s) => /^FROM \S+ AS manifests$/.test(s[0] ?? '')),
      );

      for (const stage of manifestStages) expect(stage).toEqual(manifestStages[0]);
      for (const f of DOCKERFILES) expect(read(f)).not.toMatch(/^COPY\s+[\w-]+\/package\.json/m);
    });

    it('build the worker image from sources that had their tests and test helpers removed', () => {
      const all = stages(read('worker/Dockerfile'));
      const final = all.at(-1)!;
      const sources = all.find((s) => / AS sources$/.test(s[0] ?? ''))!;

      const build = all.find((s) => / AS build$/.test(s[0] ?? ''))!;

      expect(final.filter((l) => l.startsWith('COPY')).every((l) => l.startsWith('COPY --from='))).toBe(true);
      // The image holds the bundle and the external node_modules made in the build stage, which
      // bundles the stripped sources; it runs plain JavaScript (no tsx).
      expect(final).toContain('COPY --from=build /out/ ./');
      expect(build).toContain('COPY --from=sources /app/ ./');
      expect(final.join('\n')).not.toMatch(/tsx|\.ts"/);
      expect(sources.join('\n')).toContain("-name testing -o -name testing.ts -o -name '*.test.ts'");
      expect(sources.join('\n')).toContain("test -z \"$(find /app -name 'testing*' -o -name '*.test.ts')\"");
    });
  });
});
