/**
 * A generated, deterministic set of images with burned-in text and without (for the tests and
 * `npm run bench`; not production code, not sample-dicom). Several kinds and sizes: ultrasound-like
 * 8-bit grey (native and RLE-compressed), a multi-frame angiography-like cine, 12-bit radiographs
 * (MONOCHROME2 with a window, and MONOCHROME1), and colour photographs. Text lines carry fake names,
 * IDs, dates in several written forms, accession numbers and institutions, in DejaVu fonts of
 * several families, weights, sizes, colours and places (border bands, corners, over the image).
 * No image is flagged Burned In Annotation; the modalities are ones the old rules let through.
 *
 * Each case knows where its text was drawn (a per-pixel mask per frame), so that "the text is gone"
 * is judged against the truth, not against the detector under test.
 */

import { mulberry32 } from '@medimg/common/testing/random.ts';
import { type DataElement, type DicomFile, stringElement } from '@medimg/dicom';
import sharp from 'sharp';
import { imageFile, pack } from '../../imaging/testing.ts';

export type ImageKind = 'us' | 'us-rle' | 'xa-cine' | 'dx' | 'cr-mono1' | 'vl-colour';

export interface TextImageCase {
  readonly name: string;
  readonly kind: ImageKind;
  readonly rows: number;
  readonly columns: number;
  readonly frames: number;
  readonly file: DicomFile;
  /** Text lines drawn (0 for a clean image). */
  readonly lines: number;
  /** Per frame, the pixel indexes where text was drawn with at least half coverage, visibly. */
  readonly textPixels: readonly Int32Array[];
}

/** Deterministic PRNG (mulberry32, shared by the test data generators). */
export const rng: (seed: number) => () => number = mulberry32;

const FIRST = [
  'John',
  'Marie',
  'Ahmed',
  'Sofia',
  'Li',
  'Francois',
  'Olga',
  'Kwame',
  'Ines',
  'Peter',
  'Hana',
  'Luis',
];
const LAST = [
  'Dupont',
  'Smith',
  'Okafor',
  'Nguyen',
  'Garcia',
  'Moreau',
  'Kowalski',
  'Haddad',
  'Larsen',
  'Rossi',
];
const PLACES = [
  'St Mary Hospital',
  'Clinique du Parc',
  'Riverside Medical Center',
  'Hopital Saint Louis',
  'Northgate Imaging',
  'Lakeview Clinic',
];
const FONTS: readonly { family: string; weight: string; stretch: string }[] = [
  { family: 'DejaVu Sans', weight: 'normal', stretch: 'normal' },
  { family: 'DejaVu Sans', weight: 'bold', stretch: 'normal' },
  { family: 'DejaVu Serif', weight: 'normal', stretch: 'normal' },
  { family: 'DejaVu Sans Mono', weight: 'normal', stretch: 'normal' },
  { family: 'DejaVu Sans Mono', weight: 'bold', stretch: 'normal' },
  { family: 'DejaVu Sans', weight: 'normal', stretch: 'condensed' },
];
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

interface Identity {
  readonly first: string;
  readonly last: string;
  readonly id: string;
  readonly accession: string;
  readonly institution: string;
  readonly birth: { y: number; m: number; d: number };
  readonly study: { y: number; m: number; d: number };
}

function identity(r: () => number): Identity {
  const date = (y0: number, span: number) => ({
    y: y0 + Math.floor(r() * span),
    m: 1 + Math.floor(r() * 12),
    d: 1 + Math.floor(r() * 28),
  });
  return {
    first: pick(r, FIRST),
    last: pick(r, LAST),
    id: String(10_000_000 + Math.floor(r() * 89_999_999)),
    accession: `A${2024}${pad(Math.floor(r() * 1e6), 6)}`,
    institution: pick(r, PLACES),
    birth: date(1935, 70),
    study: date(2019, 6),
  };
}

const da = (d: Identity['birth']): string => `${d.y}${pad(d.m)}${pad(d.d)}`;

/** A date in one of the written forms seen on images. */
function written(r: () => number, d: Identity['birth']): string {
  switch (Math.floor(r() * 5)) {
    case 0:
      return `${d.y}-${pad(d.m)}-${pad(d.d)}`;
    case 1:
      return `${pad(d.d)}/${pad(d.m)}/${d.y}`;
    case 2:
      return `${pad(d.d)}.${pad(d.m)}.${d.y}`;
    case 3:
      return `${pad(d.d)}-${MONTHS[d.m - 1]}-${d.y}`;
    default:
      return `${pad(d.m)}/${pad(d.d)}/${d.y}`;
  }
}

/** Two to four lines of identifying text for one image. */
function textLines(r: () => number, p: Identity): string[] {
  const name = pick(r, [
    `${p.last.toUpperCase()}^${p.first.toUpperCase()}`,
    `${p.first} ${p.last}`,
    `${p.last}, ${p.first}`,
  ]);
  const all = [
    name,
    `${pick(r, ['ID', 'PID', 'MRN:', 'Patient ID'])} ${p.id}`,
    `${pick(r, ['DOB', 'Born', 'Ne le'])} ${written(r, p.birth)}`,
    p.institution,
    `${pick(r, ['ACC', 'Acc#'])} ${p.accession}`,
    `${written(r, p.study)} ${pad(Math.floor(r() * 24))}:${pad(Math.floor(r() * 60))}`,
  ];
  const n = 2 + Math.floor(r() * 3);
  const out = [all[0]!];
  while (out.length < n) {
    const l = pick(r, all.slice(1));
    if (!out.includes(l)) out.push(l);
  }
  return out;
}

const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');

interface DrawnLine {
  readonly text: string;
  readonly x: number;
  readonly y: number; // baseline
  readonly size: number;
  readonly font: (typeof FONTS)[number];
}

/** Alpha coverage (0..1) of the lines, rendered by librsvg through sharp. */
async function coverage(width: number, height: number, lines: readonly DrawnLine[]): Promise<Float32Array> {
  const texts = lines
    .map(
      (l) =>
        `<text x="${l.x}" y="${l.y}" font-family="${l.font.family}" font-weight="${l.font.weight}" font-stretch="${l.font.stretch}" font-size="${l.size}" fill="#fff">${escapeXml(l.text)}</text>`,
    )
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${texts}</svg>`;
  const alpha = await sharp(Buffer.from(svg)).ensureAlpha().extractChannel(3).raw().toBuffer();
  return Float32Array.from(alpha, (v) => v / 255);
}

/** Places lines in a corner band, or over the image; sizes 11-24 px. */
function layout(r: () => number, width: number, height: number, texts: readonly string[]): DrawnLine[] {
  const size = 11 + Math.floor(r() * 14);
  const font = pick(r, FONTS);
  const place = pick(r, ['top-left', 'top-right', 'bottom-left', 'bottom-right', 'middle']);
  const step = Math.round(size * 1.35);
  const estWidth = (t: string) => Math.ceil(t.length * size * (font.family.includes('Mono') ? 0.62 : 0.6));
  return texts.map((text, i) => {
    const w = estWidth(text);
    const left = place.endsWith('right')
      ? Math.max(4, width - w - 8)
      : place === 'middle'
        ? Math.max(4, Math.floor(width * 0.3))
        : 6;
    const top = place.startsWith('bottom')
      ? height - 8 - (texts.length - 1 - i) * step
      : place === 'middle'
        ? Math.floor(height * 0.45) + i * step
        : 6 + size + i * step;
    return { text, x: left, y: top, size, font };
  });
}

// ---------------------------------------------------------------------------------------------
// Backgrounds (value ranges of the kind's stored pixels)

function speckleSector(r: () => number, width: number, height: number): Float64Array {
  const out = new Float64Array(width * height);
  const cx = width / 2;
  const cy = height * 0.08;
  const radius = height * 0.95;
  const half = (Math.PI / 180) * 38;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const d = Math.hypot(dx, dy);
      const a = Math.atan2(dx, dy);
      if (dy <= 0 || d > radius || Math.abs(a) > half || d < height * 0.06) continue;
      const depth = d / radius;
      const organ = Math.hypot(x - cx * 1.1, y - height * 0.55) < height * 0.18 ? 0.45 : 1;
      const sp = -Math.log(r() + 1e-9);
      out[y * width + x] = Math.min(255, 70 * sp * (1 - 0.5 * depth) * organ);
    }
  }
  // Depth ticks on the right edge of the sector and a grey bar: non-text marks every device draws.
  for (let k = 1; k < 10; k++) {
    const y = Math.round(cy + (k * radius) / 10);
    if (y >= height) break;
    for (let x = width - 30; x < width - 22; x++) out[y * width + x] = 200;
  }
  for (let y = Math.floor(height * 0.3); y < Math.floor(height * 0.7); y++) {
    for (let x = 8; x < 16; x++) out[y * width + x] = Math.round(((y - height * 0.3) / (height * 0.4)) * 255);
  }
  return smooth(out, width, height);
}

/** 3x3 box blur: speckle grains a few pixels wide, as an ultrasound's. */
function smooth(v: Float64Array, width: number, height: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
          s += v[yy * width + xx]!;
          n++;
        }
      }
      out[y * width + x] = s / n;
    }
  }
  return out;
}

/** A chest-like radiograph, 12-bit: body, two lungs, spine and ribs, noise. */
function radiograph(r: () => number, width: number, height: number): Float64Array {
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const nx = (x - width / 2) / (width * 0.42);
      const ny = (y - height * 0.55) / (height * 0.48);
      let v = 300;
      if (nx * nx + ny * ny < 1) v = 2600;
      for (const side of [-1, 1]) {
        const lx = (x - width / 2 - side * width * 0.17) / (width * 0.13);
        const ly = (y - height * 0.5) / (height * 0.3);
        if (lx * lx + ly * ly < 1) v = 1200 + 300 * Math.cos(((y + side * x * 0.3) / height) * 40) ** 8;
      }
      if (Math.abs(x - width / 2) < width * 0.035 && ny > -1) v = 3300;
      out[y * width + x] = Math.max(0, Math.min(4095, v + (r() - 0.5) * 120));
    }
  }
  return out;
}

/** Colour photograph-like: smooth coloured blobs on a dark field, interleaved RGB, 0..255. */
function photograph(r: () => number, width: number, height: number): Float64Array {
  const out = new Float64Array(width * height * 3);
  const blobs = Array.from({ length: 6 }, () => ({
    x: r() * width,
    y: r() * height,
    s: 40 + r() * 120,
    c: [120 + r() * 135, 60 + r() * 120, 50 + r() * 100],
  }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 25;
        for (const b of blobs) v += b.c[c]! * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.s * b.s));
        out[(y * width + x) * 3 + c] = Math.min(255, v + (r() - 0.5) * 6);
      }
    }
  }
  return out;
}

/** A vessel-like angiography frame, 8-bit: bright field, dark branching vessels, moving with t. */
function angio(r: () => number, width: number, height: number, t: number): Float64Array {
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d1 = Math.abs(x - width * 0.5 - 60 * Math.sin(y / 60 + t * 0.3));
      const d2 = Math.abs(y - height * 0.4 - 40 * Math.sin(x / 50 + t * 0.2));
      let v = 170 + (r() - 0.5) * 20;
      if (d1 < 6) v -= 90 * (1 - d1 / 6);
      if (d2 < 4) v -= 70 * (1 - d2 / 4);
      out[y * width + x] = Math.max(1, Math.min(255, v));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/** PackBits-compressed RLE (one segment per 8-bit grey frame), DICOM PS3.5 Annex G. */
function rleFrame(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    let run = 1;
    while (i + run < bytes.length && run < 128 && bytes[i + run] === bytes[i]) run++;
    if (run >= 2) {
      out.push(257 - run, bytes[i]!);
      i += run;
      continue;
    }
    let lit = 1;
    while (
      i + lit < bytes.length &&
      lit < 128 &&
      !(i + lit + 1 < bytes.length && bytes[i + lit] === bytes[i + lit + 1])
    )
      lit++;
    out.push(lit - 1, ...bytes.subarray(i, i + lit));
    i += lit;
  }
  if (out.length % 2) out.push(0x80); // no-op byte keeps the segment even
  const header = new Uint8Array(64);
  const view = new DataView(header.buffer);
  view.setUint32(0, 1, true);
  view.setUint32(4, 64, true);
  const frame = new Uint8Array(64 + out.length);
  frame.set(header);
  frame.set(out, 64);
  return frame;
}

function headerOf(kind: ImageKind, p: Identity, name: string): DataElement[] {
  const modality = {
    us: 'US',
    'us-rle': 'OT',
    'xa-cine': 'XA',
    dx: 'DX',
    'cr-mono1': 'CR',
    'vl-colour': 'XC',
  }[kind];
  const els: DataElement[] = [
    stringElement(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.7'),
    stringElement(0x00080018, 'UI', `2.25.${hash(`${name}sop`)}`),
    stringElement(0x0020000d, 'UI', `2.25.${hash(`${name}study`)}`),
    stringElement(0x0020000e, 'UI', `2.25.${hash(`${name}series`)}`),
    stringElement(0x00080020, 'DA', da(p.study)),
    stringElement(0x00080050, 'SH', p.accession),
    stringElement(0x00080060, 'CS', modality),
    stringElement(0x00080080, 'LO', p.institution),
    stringElement(0x00100010, 'PN', `${p.last}^${p.first}`),
    stringElement(0x00100020, 'LO', p.id),
    stringElement(0x00100030, 'DA', da(p.birth)),
  ];
  // Not Secondary Capture for the kinds the old rules let through (they read the SOP class too).
  if (kind !== 'vl-colour') {
    els[0] = stringElement(
      0x00080016,
      'UI',
      kind === 'xa-cine' ? '1.2.840.10008.5.1.4.1.1.12.1' : '1.2.840.10008.5.1.4.1.1.1.1',
    );
  }
  return els;
}

function hash(s: string): string {
  let h = 1469598103934665603n;
  for (const c of s) h = ((h ^ BigInt(c.charCodeAt(0))) * 1099511628211n) % (1n << 64n);
  return h.toString();
}

export interface SetOptions {
  /** Text images of each kind. */
  readonly textPerKind: number;
  /** Clean images of each kind. */
  readonly cleanPerKind: number;
  readonly kinds?: readonly ImageKind[];
  readonly seed?: number;
}

const SIZES: Record<ImageKind, { width: number; height: number; frames: number }> = {
  us: { width: 640, height: 480, frames: 1 },
  'us-rle': { width: 800, height: 600, frames: 1 },
  'xa-cine': { width: 384, height: 384, frames: 4 },
  dx: { width: 768, height: 640, frames: 1 },
  'cr-mono1': { width: 512, height: 640, frames: 1 },
  'vl-colour': { width: 640, height: 480, frames: 1 },
};

export const ALL_KINDS: readonly ImageKind[] = ['us', 'us-rle', 'xa-cine', 'dx', 'cr-mono1', 'vl-colour'];

/** The generated set: for each kind, text images then clean ones. */
export async function textImageSet(o: SetOptions): Promise<TextImageCase[]> {
  const out: TextImageCase[] = [];
  for (const kind of o.kinds ?? ALL_KINDS) {
    for (let i = 0; i < o.textPerKind + o.cleanPerKind; i++) {
      const withText = i < o.textPerKind;
      out.push(await makeCase(kind, i, withText, o.seed ?? 12));
    }
  }
  return out;
}

async function makeCase(
  kind: ImageKind,
  index: number,
  withText: boolean,
  seed: number,
): Promise<TextImageCase> {
  const name = `${kind}-${withText ? 'text' : 'clean'}-${index}`;
  const r = rng(Number(BigInt.asUintN(32, BigInt(hash(`${seed}:${name}`)))));
  const { width, height, frames } = SIZES[kind];
  const p = identity(r);
  const lines = withText ? layout(r, width, height, textLines(r, p)) : [];
  const base = lines.length > 0 ? await coverage(width, height, lines) : undefined;
  const textPixels: Int32Array[] = [];
  const frameValues: Float64Array[] = [];
  for (let f = 0; f < frames; f++) {
    let alpha = base;
    if (kind === 'xa-cine' && withText) {
      // A per-frame counter besides the static overlay.
      const counter = await coverage(width, height, [
        { text: `Frame ${f + 1}/${frames}`, x: width - 130, y: height - 10, size: 14, font: FONTS[0]! },
      ]);
      alpha = Float32Array.from(base!, (a, k) => Math.max(a, counter[k]!));
    }
    const bg =
      kind === 'us' || kind === 'us-rle'
        ? speckleSector(r, width, height)
        : kind === 'xa-cine'
          ? angio(r, width, height, f)
          : kind === 'vl-colour'
            ? photograph(r, width, height)
            : radiograph(r, width, height);
    const channels = kind === 'vl-colour' ? 3 : 1;
    const max = kind === 'dx' || kind === 'cr-mono1' ? 4095 : 255;
    // Text colour in stored values: bright on dark kinds; on bright angiography dark or white.
    const colour: number[] =
      kind === 'vl-colour'
        ? pick(r, [
            [255, 255, 0],
            [0, 255, 0],
            [255, 255, 255],
            [0, 220, 255],
          ])
        : kind === 'xa-cine'
          ? [pick(r, [10, 250])]
          : kind === 'cr-mono1'
            ? [pick(r, [1, 4095])] // MONOCHROME1: 1 shows white, 4095 black
            : [pick(r, [max, Math.round(max * 0.85), Math.round(max * 0.7)])];
    const pixels: number[] = [];
    if (alpha) {
      // The truth: pixels drawn at half coverage or more that differ visibly (3 % of the range) from
      // what was under them; white text on a white-saturated field carries nothing to remove.
      for (let k = 0; k < alpha.length; k++) {
        if (alpha[k]! < 0.5) continue;
        let visible = false;
        for (let c = 0; c < channels; c++)
          if (Math.abs(colour[c]! - bg[k * channels + c]!) >= 0.03 * max) visible = true;
        if (visible) pixels.push(k);
      }
      for (let k = 0; k < alpha.length; k++) {
        const a = alpha[k]!;
        if (a === 0) continue;
        for (let c = 0; c < channels; c++) {
          const i = k * channels + c;
          bg[i] = bg[i]! * (1 - a) + colour[c]! * a;
        }
      }
    }
    for (let k = 0; k < bg.length; k++) bg[k] = Math.max(1, Math.min(max, Math.round(bg[k]!)));
    textPixels.push(Int32Array.from(pixels));
    frameValues.push(bg);
  }
  const header = headerOf(kind, p, name);
  const all = new Float64Array(frameValues.reduce((n, f) => n + f.length, 0));
  let off = 0;
  for (const f of frameValues) {
    all.set(f, off);
    off += f.length;
  }
  let file: DicomFile;
  if (kind === 'dx' || kind === 'cr-mono1') {
    file = imageFile({
      rows: height,
      columns: width,
      bitsAllocated: 16,
      bitsStored: 12,
      photometric: kind === 'dx' ? 'MONOCHROME2' : 'MONOCHROME1',
      pixels: pack([...all], 'u16'),
      extra: [
        ...header,
        ...(kind === 'dx'
          ? [stringElement(0x00281050, 'DS', '1800'), stringElement(0x00281051, 'DS', '3000')]
          : []),
      ],
    });
  } else if (kind === 'us-rle') {
    file = imageFile({
      rows: height,
      columns: width,
      pixels: { basicOffsetTable: new Uint8Array(0), fragments: [rleFrame(Uint8Array.from(all))] },
      transferSyntax: '1.2.840.10008.1.2.5',
      extra: header,
    });
  } else {
    file = imageFile({
      rows: height,
      columns: width,
      samplesPerPixel: kind === 'vl-colour' ? 3 : 1,
      pixelVr: 'OB',
      pixels: Uint8Array.from(all),
      ...(frames > 1 ? { frames } : {}),
      extra: header,
    });
  }
  return { name, kind, rows: height, columns: width, frames, file, lines: lines.length, textPixels };
}
