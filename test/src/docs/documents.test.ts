/**
 * The documentation as a reader meets it: English and French cover the same sections and show the
 * same identifiers and commands, the reason code tables match common/, every relative link resolves inside the repository (no document needs
 * a file outside it), and the README shows the structure diagram and links every document.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CODES, REASON_CODES } from '@medimg/common';
import { describe, expect, it } from 'vitest';
import {
  BILINGUAL_DOCUMENTS,
  codeBlocks,
  codeSpans,
  outline,
  REPO_ROOT,
  readDoc,
  relativeLinks,
  spansMissingFrom,
} from './docs.ts';
import {
  ERROR_CODE_TEXTS_FR,
  errorCodeTable,
  otherErrorCodes,
  REASON_CODE_DOCS,
  REASON_CODE_TEXTS,
  reasonCodeTable,
  withGeneratedTable,
} from './reason-codes.ts';

/** Markdown files a reader of the repository opens (not dependencies, not generated outputs). */
function markdownFiles(dir = REPO_ROOT): string[] {
  const skip = new Set(['node_modules', '.git', 'cdk.out', '.demo-data', 'dist', 'out', '.work', 'coverage']);
  return readdirSync(dir).flatMap((name) => {
    if (skip.has(name) || name.startsWith('.')) return [];
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return markdownFiles(full);
    return name.endsWith('.md') ? [full] : [];
  });
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inFence = !inFence;
    const h = !inFence && /^#{1,6} (.+)$/.exec(line);
    if (h) {
      anchors.add(
        h[1]!
          .toLowerCase()
          .replace(/[^\p{L}\p{N} _-]/gu, '')
          .replace(/ /g, '-'),
      );
    }
  }
  return anchors;
}

describe('English and French documents', () => {
  it('have the same heading structure, with the same tables and diagrams under each heading', () => {
    for (const pair of BILINGUAL_DOCUMENTS) {
      expect(outline(readDoc(pair.fr)), `${pair.fr} against ${pair.en}`).toEqual(outline(readDoc(pair.en)));
    }
  });

  it('each link to the other language at the top', () => {
    for (const pair of BILINGUAL_DOCUMENTS) {
      const head = (doc: string) => readDoc(doc).split('\n').slice(0, 4).join('\n');
      expect(head(pair.en), pair.en).toContain(
        `(${path.posix.relative(path.posix.dirname(pair.en), pair.fr)})`,
      );
      expect(head(pair.fr), pair.fr).toContain(
        `(${path.posix.relative(path.posix.dirname(pair.fr), pair.en)})`,
      );
    }
  });

  it('keep every identifier, command, path and value that the English version shows as code', () => {
    for (const pair of BILINGUAL_DOCUMENTS) {
      expect(
        spansMissingFrom(readDoc(pair.en), readDoc(pair.fr), pair.fr),
        `${pair.fr} lacks these spans of ${pair.en}`,
      ).toEqual([]);
    }
  });

  it('show the same commands and code, in the same order (comments and placeholders may be translated)', () => {
    for (const pair of BILINGUAL_DOCUMENTS) {
      expect(codeBlocks(readDoc(pair.fr)), `${pair.fr} against ${pair.en}`).toEqual(
        codeBlocks(readDoc(pair.en)),
      );
    }
  });

  it('are real documents, not placeholders: each has several sections and the French one French words', () => {
    for (const pair of BILINGUAL_DOCUMENTS) {
      expect(outline(readDoc(pair.en)).length, pair.en).toBeGreaterThanOrEqual(3);
      expect(readDoc(pair.fr), pair.fr).toMatch(/\b(les|des|une|est|pour)\b/);
    }
  });
});

describe('code spans, as the pair test sees them', () => {
  const english = [
    '# Replay',
    '',
    'Replay the failed files with `npm run replay --',
    '--since 2024-01-01` from the repository root, then check `worker/`.',
  ].join('\n');

  it('include a span split over two lines of a paragraph, its line break read as a space', () => {
    expect(codeSpans(english)).toEqual(['npm run replay -- --since 2024-01-01', 'worker/']);
  });

  it('compare white space collapsed, never cross a blank line or a list item, and leave fenced code out', () => {
    const markdown = [
      '- first `a',
      '  b`, then `c   d` and ``e `f` g``',
      '- second ` x',
      '- y` ends the item',
      '',
      'an escaped \\`tick` is no span',
      '',
      '```sh',
      'echo `date` `and',
      'more`',
      '```',
      '',
      'a lone ` tick',
      '',
      'and another` one',
    ].join('\n');
    expect(codeSpans(markdown)).toEqual(['a b', 'c d', 'e `f` g']);
  });

  it('fail a French text that drops the split span, and pass one that keeps it, however wrapped', () => {
    const kept = [
      '# Rejouer',
      '',
      'Rejouez les fichiers en échec avec `npm run replay -- --since',
      '2024-01-01` depuis la racine du dépôt, puis vérifiez `worker/`.',
    ].join('\n');
    const dropped = [
      '# Rejouer',
      '',
      'Rejouez les fichiers en échec depuis la racine du dépôt, puis vérifiez `worker/`.',
    ].join('\n');
    const changed = kept.replace('--since\n2024', '--depuis\n2024');
    const fr = 'docs/fr/example.md';
    expect(spansMissingFrom(english, kept, fr)).toEqual([]);
    expect(spansMissingFrom(english, dropped, fr)).toEqual(['npm run replay -- --since 2024-01-01']);
    expect(spansMissingFrom(english, changed, fr)).toEqual(['npm run replay -- --since 2024-01-01']);
  });

  it('fail a French text that shows a span fewer times than the English one', () => {
    const twice = `${english}\n\nAgain: \`npm run replay -- --since 2024-01-01\`.`;
    expect(spansMissingFrom(twice, english, 'docs/fr/example.md')).toEqual([
      'npm run replay -- --since 2024-01-01 (2 times in English, 1 in French)',
    ]);
  });
});

describe('reason codes', () => {
  it('have advice and French text for every code of common/, and none for codes that no longer exist', () => {
    expect(Object.keys(REASON_CODE_TEXTS).sort()).toEqual(Object.keys(REASON_CODES).sort());
  });

  it('are documented by the generated tables, up to date in both languages', () => {
    for (const lang of ['en', 'fr'] as const) {
      const doc = readDoc(REASON_CODE_DOCS[lang]);
      expect(doc, `${REASON_CODE_DOCS[lang]}: run npm run docs:reason-codes`).toBe(
        withGeneratedTable(doc, lang),
      );
      expect(doc).toContain(reasonCodeTable(lang));
      expect(doc).toContain(errorCodeTable(lang));
    }
  });

  it('have French text for every other code of the error registry, and none for codes that no longer exist', () => {
    expect(Object.keys(ERROR_CODE_TEXTS_FR).sort()).toEqual(otherErrorCodes().sort());
  });

  it('list every code of the error registry exactly once across the two tables', () => {
    const rows = `${reasonCodeTable('en')}\n${errorCodeTable('en')}`
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    expect(rows.map((line) => /^\| `([A-Z0-9_]+)`/.exec(line)?.[1]).sort()).toEqual(
      Object.keys(ERROR_CODES).sort(),
    );
  });

  it('list every code, one row each', () => {
    const table = reasonCodeTable('en');
    for (const code of Object.keys(REASON_CODES)) expect(table).toContain(`| \`${code}\` |`);
    expect(table.split('\n')).toHaveLength(Object.keys(REASON_CODES).length + 2);
  });
});

describe('links', () => {
  it('resolve to files and headings inside the repository, from every Markdown file', () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      const markdown = readFileSync(file, 'utf8');
      for (const href of relativeLinks(markdown)) {
        const [target = '', anchor] = href.split('#');
        const resolved = target ? path.resolve(path.dirname(file), decodeURIComponent(target)) : file;
        const where = `${path.relative(REPO_ROOT, file)}: ${href}`;
        if (path.relative(REPO_ROOT, resolved).startsWith('..'))
          broken.push(`${where} (outside the repository)`);
        else if (!existsSync(resolved)) broken.push(`${where} (missing)`);
        else if (
          anchor &&
          resolved.endsWith('.md') &&
          !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)
        ) {
          broken.push(`${where} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('never send a reader to the design file outside the repository', () => {
    const offenders = markdownFiles()
      .filter((file) =>
        /\.\.\/shared\/DESIGN\.md|`DESIGN\.md`|\bDESIGN\.md\b/.test(readFileSync(file, 'utf8')),
      )
      .map((file) => path.relative(REPO_ROOT, file));
    expect(offenders).toEqual([]);
  });
});

/** A decision record (English or French), not the decision index: README.md links the index, not each record. */
function isDecisionRecord(doc: string): boolean {
  return /^docs\/(?:fr\/)?decisions\/(?!README\.md$)[^/]+\.md$/.test(doc);
}

describe('README', () => {
  const readme = () => readDoc('README.md');

  it('shows the structure diagram as an image', () => {
    expect(readme()).toMatch(/!\[[^\]]+\]\(docs\/diagrams\/structure\.svg\)/);
  });

  it('links every document in both languages, the worker guide and the decision records', () => {
    const links = new Set(relativeLinks(readme()).map((href) => href.split('#')[0]));
    // Every pair but the README itself, which links its French version and need not link itself.
    const expected = [
      ...BILINGUAL_DOCUMENTS.flatMap((pair) => [pair.en, pair.fr]).filter(
        (doc) => !isDecisionRecord(doc) && doc !== 'README.md',
      ),
      'worker/README.md',
      'docs/decisions/README.md',
    ];
    expect(expected.filter((doc) => !links.has(doc))).toEqual([]);
  });

  it('reaches every decision record through the decision index (each record links its French version)', () => {
    const index = 'docs/decisions/README.md';
    const linked = new Set(
      relativeLinks(readDoc(index)).map((href) => path.posix.join('docs/decisions', href.split('#')[0]!)),
    );
    const records = readdirSync(path.join(REPO_ROOT, 'docs/decisions'))
      .map((name) => `docs/decisions/${name}`)
      .filter(isDecisionRecord);
    expect(
      records.filter((record) => !linked.has(record)),
      `${index} lacks these records`,
    ).toEqual([]);
  });
});
