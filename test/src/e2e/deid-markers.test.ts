/**
 * Safe by default (issue 11): a unique marker in every free-text attribute of the DICOM data
 * dictionary (LO, SH, LT, ST, UT, UC, UR, PN, AE), at the top level and three levels deep in a
 * sequence that Table E.1-1 does not list, and in made-up tags, run through `medimg process` as a
 * user runs it. Every file under `--out` is scanned: the only markers found are those of device
 * attributes kept by Retain Device Identity (the safe list's device entries and the table's device
 * rows), in the de-identified DICOM only; under `--profile safe-harbor`, none at all. The input's
 * folder and file names are markers too: they appear in the restricted folder only.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runBounded } from '@medimg/common/testing/child.ts';
import { writePart10 } from '@medimg/dicom';
import { profileRowOf } from '@medimg/worker/deid/rules.ts';
import {
  freeTextAttributes,
  keptUnderDeviceIdentity,
  MADE_UP_TAGS,
  MARKER_NEST,
  type Marker,
  markerFile,
} from '@medimg/worker/deid/testing/marker-fixture.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../local/task-runner.ts';

const PATH_MARKERS = ['MRKPATH0001Z', 'MRKFILE0001Z'];

async function walk(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(full)));
    else if (e.isFile()) out.push(full);
  }
  return out;
}

interface Scan {
  /** Marker texts found, per file (relative path). */
  readonly byFile: ReadonlyMap<string, readonly string[]>;
  readonly exitCode: number | null;
  readonly stderr: string;
}

describe('markers in every free-text attribute, through medimg process', () => {
  let work: string;
  let input: string;
  const markers: Marker[] = [];
  const runs = new Map<string, { out: Scan; restricted: Scan }>();

  const texts = () => [...markers.map((m) => m.text), ...PATH_MARKERS];

  async function scan(dir: string, exitCode: number | null, stderr: string): Promise<Scan> {
    const byFile = new Map<string, string[]>();
    for (const file of await walk(dir)) {
      const rel = path.relative(dir, file);
      const body = `${rel}\n${(await readFile(file)).toString('latin1')}`.toLowerCase();
      const hits = texts().filter((t) => body.includes(t.toLowerCase()));
      byFile.set(rel, hits);
    }
    return { byFile, exitCode, stderr };
  }

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'medimg-markers-'));
    input = path.join(work, 'in', PATH_MARKERS[0]!, `${PATH_MARKERS[1]}.dcm`);
    await mkdir(path.dirname(input), { recursive: true });
    await writeFile(input, writePart10(markerFile(markers)));
    const keyFile = path.join(work, 'key.hex');
    await writeFile(keyFile, 'b2'.repeat(32));
    for (const profile of ['research', 'safe-harbor']) {
      const out = path.join(work, `out-${profile}`);
      const restricted = path.join(work, `restricted-${profile}`);
      // Bounded (one small file: a few seconds), below the hook's 120 s for both profiles.
      const run = runBounded(
        process.execPath,
        [
          path.join(REPO_ROOT, 'worker/bin/medimg.js'),
          'process',
          path.join(work, 'in'),
          '--out',
          out,
          '--restricted',
          restricted,
          '--profile',
          profile,
          '--key-file',
          keyFile,
        ],
        { name: 'the medimg CLI', timeoutMs: 50_000, exit: 'any' },
      );
      runs.set(profile, {
        out: await scan(out, run.status, run.stderr),
        restricted: await scan(restricted, run.status, run.stderr),
      });
    }
  }, 120_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('plants a marker in every free-text attribute of the dictionary, at two depths, and in made-up tags', () => {
    const attributes = freeTextAttributes();
    expect(attributes.length).toBeGreaterThan(700);
    expect(markers).toHaveLength(2 * (attributes.length + MADE_UP_TAGS.length));
    expect(new Set(markers.map((m) => m.text)).size).toBe(markers.length);
    // The nesting sequence is one the table does not list: the rule "outside the table" is what is tested.
    expect(profileRowOf(MARKER_NEST)).toBeUndefined();
    for (const keyword of ['ContactDisplayName', 'TextValue', 'DocumentTitle', 'OwnerID', 'CodeMeaning'])
      expect(
        attributes.some((a) => a.keyword === keyword),
        keyword,
      ).toBe(true);
  });

  for (const [profile, deviceIdentity] of [
    ['research', true],
    ['safe-harbor', false],
  ] as const) {
    it(`${profile}: processes the object, and --out holds only the markers Retain Device Identity keeps, in the DICOM only`, () => {
      const { out } = runs.get(profile)!;
      expect(out.exitCode, out.stderr).toBe(0);
      const dicom = [...out.byFile.keys()].filter((f) => f.endsWith('.dcm'));
      expect(dicom).toHaveLength(1);
      const expected = markers.filter((m) => keptUnderDeviceIdentity(m, deviceIdentity)).map((m) => m.text);
      if (deviceIdentity) expect(expected.length).toBeGreaterThan(40);
      else expect(expected).toEqual([]);
      for (const [file, hits] of out.byFile) {
        expect([...hits].sort(), file).toEqual(file.endsWith('.dcm') ? [...expected].sort() : []);
      }
      expect(out.byFile.has('report.json')).toBe(true);
    });
  }

  it('names the input by index and keyed hash in report.json, and keeps its path in the restricted folder', async () => {
    const { out, restricted } = runs.get('research')!;
    expect(out.byFile.get('report.json')).toEqual([]);
    expect(restricted.byFile.get('inputs.json')).toEqual(expect.arrayContaining(PATH_MARKERS));
    // The linkage record holds the original Patient ID marker: the scan sees what it looks for.
    const patientId = markers.find((m) => m.keyword === 'PatientID' && m.depth === 0)!;
    const linkage = [...restricted.byFile.entries()].filter(([f]) => f.startsWith('linkage/'));
    expect(linkage.length).toBe(1);
    expect(linkage[0]![1]).toContain(patientId.text);
    expect(out.stderr).toContain('RESTRICTED');
  });
});
