/**
 * The reference side of the conformance suite: dcmtk's and GDCM's command-line converters (to write
 * each transfer syntax) and renderers (to draw the reference image), a PNM reader, and the metrics.
 * Debian packages `dcmtk` and `libgdcm-tools`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TS = '1.2.840.10008.1.2';

export interface Variant {
  readonly name: string;
  readonly ts: string;
  readonly lossy: boolean;
  /** Lossy, but the project's decoder gives exactly dcmtk's values (IJG's integer IDCT, 8 and 12-bit),
   * so the rendering is held to the lossless tolerance rather than the PSNR floor. */
  readonly exact?: boolean;
  /** Command and arguments writing `output` from the uncompressed explicit-LE `input`; none when no tool
   * here writes this transfer syntax. */
  readonly make?: (input: string, output: string) => readonly [string, readonly string[]];
}

export const VARIANTS: readonly Variant[] = [
  { name: 'explicit VR LE', ts: `${TS}.1`, lossy: false, make: (i, o) => ['dcmconv', ['+te', i, o]] },
  { name: 'implicit VR LE', ts: TS, lossy: false, make: (i, o) => ['dcmconv', ['+ti', i, o]] },
  { name: 'explicit VR BE', ts: `${TS}.2`, lossy: false, make: (i, o) => ['dcmconv', ['+tb', i, o]] },
  { name: 'deflated', ts: `${TS}.1.99`, lossy: false, make: (i, o) => ['dcmconv', ['+td', i, o]] },
  { name: 'RLE', ts: `${TS}.5`, lossy: false, make: (i, o) => ['dcmcrle', [i, o]] },
  { name: 'JPEG baseline', ts: `${TS}.4.50`, lossy: true, make: (i, o) => ['dcmcjpeg', ['+eb', i, o]] },
  {
    // 12-bit precision (process 4) from sources with more than 8 bits stored, 8-bit (process 2) otherwise.
    name: 'JPEG extended',
    ts: `${TS}.4.51`,
    lossy: true,
    exact: true,
    make: (i, o) => ['dcmcjpeg', ['+ee', i, o]],
  },
  { name: 'JPEG lossless SV1', ts: `${TS}.4.70`, lossy: false, make: (i, o) => ['dcmcjpeg', ['+e1', i, o]] },
  {
    name: 'JPEG lossless P14 SV6',
    ts: `${TS}.4.57`,
    lossy: false,
    make: (i, o) => ['dcmcjpeg', ['+el', i, o]],
  },
  { name: 'JPEG-LS lossless', ts: `${TS}.4.80`, lossy: false, make: (i, o) => ['dcmcjpls', ['+el', i, o]] },
  {
    name: 'JPEG-LS near-lossless',
    ts: `${TS}.4.81`,
    lossy: true,
    make: (i, o) => ['dcmcjpls', ['+en', i, o]],
  },
  {
    name: 'JPEG 2000 lossless',
    ts: `${TS}.4.90`,
    lossy: false,
    make: (i, o) => ['gdcmconv', ['--j2k', i, o]],
  },
  {
    name: 'JPEG 2000 lossy',
    ts: `${TS}.4.91`,
    lossy: true,
    make: (i, o) => ['gdcmconv', ['--j2k', '--lossy', '-q', '50', i, o]],
  },
  { name: 'HTJ2K lossless', ts: `${TS}.4.201`, lossy: false },
  { name: 'HTJ2K', ts: `${TS}.4.203`, lossy: true },
];

export interface ToolResult {
  readonly ok: boolean;
  readonly output: string;
}

/**
 * Runs a reference tool; a failure (a non-zero exit, or a tool that is not installed) is `ok: false`.
 * Bounded: a tool still running after 120 s (a second or two per file; 120 s on a loaded machine) is
 * killed and, like one killed by a signal, fails the test by name instead of hanging the run.
 */
export function run(command: string, args: readonly string[]): ToolResult {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT')
    throw new Error(`${command} ran past its 120000 ms bound and was killed`);
  if (!r.error && r.status === null) throw new Error(`${command} was killed by ${r.signal ?? 'a signal'}`);
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  return { ok: r.status === 0 && !r.error, output: r.error ? String(r.error) : output };
}

export const toolsAvailable = (): string[] =>
  [
    'dcmconv',
    'dcmcrle',
    'dcmcjpeg',
    'dcmcjpls',
    'dcm2pnm',
    'dcmj2pnm',
    'dcml2pnm',
    'gdcmconv',
    'dcmdump',
  ].filter((t) => !run(t, ['--version']).ok && !run(t, ['-v']).ok);

/** The window dcmtk should use, matching the one the project used. */
export type WindowChoice =
  | { readonly kind: 'first-header' }
  | { readonly kind: 'first-voi-lut' }
  | { readonly kind: 'explicit'; readonly center: number; readonly width: number; readonly sigmoid: boolean }
  | { readonly kind: 'none' };

export interface PnmImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly pixels: Uint8Array;
}

/** Reads binary PGM (P5) or PPM (P6), 8-bit. */
export function readPnm(bytes: Uint8Array): PnmImage {
  let i = 0;
  const token = (): string => {
    for (;;) {
      while (i < bytes.length && /\s/.test(String.fromCharCode(bytes[i]!))) i++;
      if (bytes[i] === 0x23) {
        while (i < bytes.length && bytes[i] !== 0x0a) i++;
        continue;
      }
      break;
    }
    let s = '';
    while (i < bytes.length && !/\s/.test(String.fromCharCode(bytes[i]!)))
      s += String.fromCharCode(bytes[i++]!);
    return s;
  };
  const magic = token();
  if (magic !== 'P5' && magic !== 'P6') throw new Error(`not a binary PNM (${magic})`);
  const width = Number(token());
  const height = Number(token());
  const max = Number(token());
  if (max !== 255) throw new Error(`only 8-bit PNM is read here (max ${max})`);
  i++; // the single whitespace after maxval
  const channels = magic === 'P5' ? 1 : 3;
  return { width, height, channels, pixels: bytes.subarray(i, i + width * height * channels) };
}

/** Renders frame `frameIndex` (0-based) with dcmtk; J2K goes through GDCM's decoder first, as dcmtk has
 * no JPEG 2000 decoder. Returns the image and which tool drew it. */
export function dcmtkRender(
  path: string,
  ts: string,
  frameIndex: number,
  window: WindowChoice,
): { image?: PnmImage; reference: string; error?: string } {
  const dir = mkdtempSync(join(tmpdir(), 'conformance-ref-'));
  try {
    let input = path;
    let tool = 'dcm2pnm';
    let reference = 'dcm2pnm';
    if (ts.startsWith(`${TS}.4.5`) || ts.startsWith(`${TS}.4.6`) || ts.startsWith(`${TS}.4.70`)) {
      tool = 'dcmj2pnm';
      reference = 'dcmj2pnm';
    } else if (ts.startsWith(`${TS}.4.8`)) {
      tool = 'dcml2pnm';
      reference = 'dcml2pnm';
    } else if (ts.startsWith(`${TS}.4.9`) || ts.startsWith(`${TS}.4.20`)) {
      input = join(dir, 'raw.dcm');
      const d = run('gdcmconv', ['-w', path, input]);
      if (!d.ok) return { reference: 'gdcmconv -w', error: d.output };
      reference = 'gdcmconv -w + dcm2pnm';
    }
    const args = ['+op', '+F', String(frameIndex + 1)];
    if (window.kind === 'first-header') args.push('+Wi', '1');
    else if (window.kind === 'first-voi-lut') args.push('+Wl', '1');
    else if (window.kind === 'explicit') {
      args.push('+Ww', String(window.center), String(window.width), window.sigmoid ? '+Wfs' : '+Wfl');
    }
    const out = join(dir, 'out.pnm');
    const r = run(tool, [...args, input, out]);
    if (!r.ok || !existsSync(out)) return { reference, error: r.output || 'no output' };
    return { image: readPnm(readFileSync(out)), reference };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Comparison {
  readonly maxDiff: number;
  readonly psnr: number;
}

export function compare(a: Uint8Array, b: Uint8Array): Comparison {
  if (a.length !== b.length) throw new Error('images differ in size');
  let maxDiff = 0;
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    const ad = Math.abs(d);
    if (ad > maxDiff) maxDiff = ad;
    se += d * d;
  }
  const mse = se / a.length;
  return { maxDiff, psnr: mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse) };
}
