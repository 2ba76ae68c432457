/**
 * `npm run docs:diagrams`: renders every named Mermaid diagram of the bilingual documents to the SVG
 * beside its Markdown file (`docs/diagrams/<name>.svg`, `docs/fr/diagrams/<name>.svg`), stamped with
 * the hash of its source so that a test can tell a stale SVG without a browser.
 *
 * The renderer is @mermaid-js/mermaid-cli from docs/tools/mermaid (its own package and lockfile,
 * outside the root workspaces), installed on first use with PUPPETEER_SKIP_DOWNLOAD=1 and without
 * install scripts: nothing is downloaded but npm packages. The browser is Debian's chromium
 * (`apt-get install chromium`), or CHROMIUM_PATH.
 *
 *   npm run docs:diagrams             render the diagrams whose SVG is missing or stale
 *   npm run docs:diagrams -- --all    render every diagram
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  BILINGUAL_DOCUMENTS,
  countMermaidFences,
  type Diagram,
  extractDiagrams,
  MERMAID_CONFIG,
  REPO_ROOT,
  readDoc,
  readStamp,
  sourceHash,
  stampSvg,
  svgPathOf,
} from './docs.ts';

const TOOL_DIR = path.join(REPO_ROOT, 'docs/tools/mermaid');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The part of mermaid-cli's API used here (its types live in docs/tools, outside the type-check). */
type RenderMermaid = (
  browser: unknown,
  definition: string,
  format: 'svg',
  options: { backgroundColor: string; mermaidConfig: object },
) => Promise<{ data: Uint8Array }>;

function ensureRenderer(): void {
  if (existsSync(path.join(TOOL_DIR, 'node_modules/@mermaid-js/mermaid-cli/package.json'))) return;
  console.log('docs:diagrams: installing the renderer in docs/tools/mermaid (npm ci, no browser download)');
  execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: TOOL_DIR,
    stdio: 'inherit',
    env: { ...process.env, PUPPETEER_SKIP_DOWNLOAD: '1' },
  });
}

interface Manifest {
  readonly version: string;
  readonly exports?: { readonly '.'?: { readonly import?: string | { readonly default?: string } } };
}

function manifestOf(pkg: string): Manifest {
  return JSON.parse(
    readFileSync(path.join(TOOL_DIR, 'node_modules', pkg, 'package.json'), 'utf8'),
  ) as Manifest;
}

/** The ES module entry of a package installed in docs/tools/mermaid (both packages export `import` only). */
function esmEntry(pkg: string): string {
  const entry = manifestOf(pkg).exports?.['.']?.import;
  const file = typeof entry === 'string' ? entry : entry?.default;
  if (!file) throw new Error(`${pkg}: no ES module entry in its package.json`);
  return pathToFileURL(path.join(TOOL_DIR, 'node_modules', pkg, file)).href;
}

function allDiagrams(): Diagram[] {
  const out: Diagram[] = [];
  for (const pair of BILINGUAL_DOCUMENTS) {
    for (const doc of [pair.en, pair.fr]) {
      const text = readDoc(doc);
      const diagrams = extractDiagrams(text, doc);
      if (diagrams.length !== countMermaidFences(text)) {
        throw new Error(`${doc}: every mermaid fence needs a "<!-- diagram: name -->" line just before it`);
      }
      out.push(...diagrams);
    }
  }
  return out;
}

function isFresh(d: Diagram): boolean {
  const file = path.join(REPO_ROOT, svgPathOf(d));
  if (!existsSync(file)) return false;
  return readStamp(readFileSync(file, 'utf8'))?.sourceSha256 === sourceHash(d.source);
}

async function main(): Promise<void> {
  const all = process.argv.includes('--all');
  const todo = allDiagrams().filter((d) => all || !isFresh(d));
  if (todo.length === 0) {
    console.log('docs:diagrams: every SVG is up to date with its Mermaid source');
    return;
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  }
  ensureRenderer();
  const cliVersion = manifestOf('@mermaid-js/mermaid-cli').version;
  const mermaidVersion = manifestOf('mermaid').version;
  const { renderMermaid } = (await import(esmEntry('@mermaid-js/mermaid-cli'))) as {
    renderMermaid: RenderMermaid;
  };
  const puppeteer = (await import(esmEntry('puppeteer'))) as {
    default: { launch(o: object): Promise<{ close(): Promise<void> }> };
  };
  const browser = await puppeteer.default.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    for (const d of todo) {
      const started = Date.now();
      const { data } = await renderMermaid(browser, d.source, 'svg', {
        backgroundColor: 'white',
        mermaidConfig: MERMAID_CONFIG,
      });
      const out = path.join(REPO_ROOT, svgPathOf(d));
      mkdirSync(path.dirname(out), { recursive: true });
      const svg = Buffer.from(data).toString('utf8');
      writeFileSync(
        out,
        `${stampSvg(svg, d.source, `mermaid-cli@${cliVersion}+mermaid@${mermaidVersion}`)}\n`,
      );
      console.log(`docs:diagrams: ${svgPathOf(d)} (${Date.now() - started} ms)`);
    }
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  console.error(`docs:diagrams: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
