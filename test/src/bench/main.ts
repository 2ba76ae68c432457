/**
 * `npm run bench [-- options]`: the worker side by side with the reference tools on generated
 * corpora (corpus.ts), plus the worker's steps measured one by one in process. Prints a table and
 * writes it as JSON and Markdown. Nothing is asserted; tests never assert on time.
 *
 *   --large              also the 2 GB study (slow: generating it alone takes minutes)
 *   --corpus a,b         only these corpora (ct-300, ct-300-jpegls, mf-100, cr-1000, large)
 *   --no-in-process      skip the in-process section
 *   --runs <n>           side by side, every tool n times, interleaved; rows give the median (default 3)
 *   --corpus-dir <dir>   where corpora are cached (default <tmp>/medimg-bench-corpus)
 *   --out <dir>          where results.json and results.md go (default bench-results/)
 *   --scale <0..1>       shrink the corpora (a quick look; figures are then not comparable)
 *   --burned-in-only     only the burned-in text figures (burned-in.ts: recall, false alarms, OCR time)
 *   --no-burned-in       skip them
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../local/task-runner.ts';
import { benchBurnedIn } from './burned-in.ts';
import { type CorpusName, corpusSpecs, ensureCorpus } from './corpus.ts';
import { inProcess } from './in-process.ts';
import { environment, markdownReport, textTable } from './report.ts';
import type { Row } from './rows.ts';
import { type Corpus, deidKeyFile, gdcmanonCertificate, sideBySide } from './side-by-side.ts';

const { values } = parseArgs({
  options: {
    large: { type: 'boolean', default: false },
    corpus: { type: 'string' },
    'no-in-process': { type: 'boolean', default: false },
    'corpus-dir': { type: 'string', default: path.join(os.tmpdir(), 'medimg-bench-corpus') },
    out: { type: 'string', default: path.join(REPO_ROOT, 'bench-results') },
    scale: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    'burned-in-only': { type: 'boolean', default: false },
    'no-burned-in': { type: 'boolean', default: false },
  },
});
const printLine = (line: string) => void process.stdout.write(`${line}\n`);
if (values['burned-in-only']) {
  await benchBurnedIn(printLine);
  process.exit(0);
}
const scale = Number(values.scale);
if (!(scale > 0 && scale <= 1)) throw new Error('--scale must be in (0, 1]');
const runs = Number(values.runs);
if (!(Number.isInteger(runs) && runs >= 1)) throw new Error('--runs must be a whole number, 1 or more');
const specs = corpusSpecs(scale);
const wanted: CorpusName[] = values.corpus
  ? (values.corpus.split(',') as CorpusName[])
  : ['ct-300', 'ct-300-jpegls', 'mf-100', 'cr-1000', ...(values.large ? (['large'] as const) : [])];
for (const name of wanted) if (!(name in specs)) throw new Error(`unknown corpus ${name}`);

const before = environment();
process.stdout.write(
  `medimg bench on ${before.machine.cpuModel} x${before.machine.cpus}, load ${before.machine.loadAverage.join(' ')}\n`,
);
const work = await mkdtemp(path.join(os.tmpdir(), 'medimg-bench-'));
const rows: Row[] = [];
const corpora: { name: string; description: string; files: number; mb: number }[] = [];
try {
  const keyFile = await deidKeyFile(work);
  const cert = await gdcmanonCertificate(work);
  for (const name of wanted) {
    const spec = specs[name];
    process.stdout.write(`corpus ${name}: ${spec.description} ...\n`);
    const c = await ensureCorpus(values['corpus-dir'], spec, specs, scale);
    const corpus: Corpus = { name, ...c, jpegLs: name === 'ct-300-jpegls' };
    corpora.push({ name, description: spec.description, files: c.files.length, mb: c.bytes / 1e6 });
    rows.push(...(await sideBySide(corpus, work, keyFile, cert, runs)));
    if (!values['no-in-process'] && name === 'ct-300') rows.push(...(await inProcess(corpus)));
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
const after = environment();
const result = { date: new Date().toISOString(), scale, runs, environment: { before, after }, corpora, rows };
process.stdout.write(`\n${textTable(rows)}\n`);
await mkdir(values.out, { recursive: true });
await writeFile(path.join(values.out, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
await writeFile(path.join(values.out, 'results.md'), markdownReport(result));
process.stdout.write(`\nwritten: ${path.join(values.out, 'results.json')} and results.md\n`);
if (!values['no-burned-in']) await benchBurnedIn(printLine);
