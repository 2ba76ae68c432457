/**
 * The DICOM data dictionary: tag -> VR, VM, keyword. The entries are generated from the standard
 * (dictionary-data.ts, by dicom/scripts/gen-dictionary.ts); this module parses them once, lazily.
 */
import type { Tag } from './dataset.ts';
import { PACKED_DICTIONARY as PACKED } from './dictionary-data.ts';

export interface DictEntry {
  readonly tag: Tag;
  /** The VR to use when none is in the file (the first of `vrs`); 'NONE' for item delimiters. */
  readonly vr: string;
  /** All VRs the standard allows, e.g. ['US', 'SS'] for 'US or SS'. */
  readonly vrs: readonly string[];
  readonly vm: string;
  readonly keyword: string;
  readonly retired: boolean;
  /** For repeating-group entries (60xx,3000): the bits of the tag that are fixed. */
  readonly mask?: number;
}

let exact: Map<Tag, DictEntry> | undefined;
let repeating: DictEntry[] = [];
let byKeyword: Map<string, Tag> | undefined;
const inOrder: DictEntry[] = [];

function load(): Map<Tag, DictEntry> {
  if (exact) return exact;
  exact = new Map();
  byKeyword = new Map();
  for (const line of PACKED.split('\n')) {
    if (line === '') continue;
    const [key = '', vrField = 'UN', vm = '1', retired = '-', keyword = ''] = line.split(' ');
    let mask = 0;
    let value = 0;
    for (const ch of key) {
      mask = mask * 16 + (ch === 'X' ? 0 : 15);
      value = value * 16 + (ch === 'X' ? 0 : Number.parseInt(ch, 16));
    }
    const vrs = vrField.split('|');
    const base = { tag: value >>> 0, vr: vrs[0] ?? 'UN', vrs, vm, keyword, retired: retired === 'R' };
    const entry: DictEntry = mask === 0xffffffff ? base : { ...base, mask: mask >>> 0 };
    if (mask === 0xffffffff) exact.set(base.tag, entry);
    else repeating.push(entry);
    inOrder.push(entry);
    if (keyword !== '' && !byKeyword.has(keyword)) byKeyword.set(keyword, base.tag);
  }
  // Most specific masks first, so (0028,04X0) wins over broader patterns.
  repeating = repeating.sort((a, b) => popcount(b.mask ?? 0) - popcount(a.mask ?? 0));
  return exact;
}

function popcount(n: number): number {
  let c = 0;
  for (let v = n >>> 0; v !== 0; v >>>= 1) c += v & 1;
  return c;
}

const GROUP_LENGTH: Omit<DictEntry, 'tag'> = { vr: 'UL', vrs: ['UL'], vm: '1', keyword: '', retired: false };
const PRIVATE_CREATOR: Omit<DictEntry, 'tag'> = {
  vr: 'LO',
  vrs: ['LO'],
  vm: '1',
  keyword: '',
  retired: false,
};

/**
 * The dictionary entry of a tag. Repeating groups (50xx, 60xx, ...) match through their mask
 * (even groups only); group lengths (gggg,0000) are UL and private creators (odd gggg,0010-00FF)
 * LO. Other private tags are unknown.
 */
export function lookupTag(t: Tag): DictEntry | undefined {
  const tagNum = t >>> 0;
  const hit = load().get(tagNum);
  if (hit) return hit;
  const group = tagNum >>> 16;
  const element = tagNum & 0xffff;
  if (element === 0) return { tag: tagNum, ...GROUP_LENGTH };
  if ((group & 1) === 1) {
    return element >= 0x10 && element <= 0xff && group > 8 ? { tag: tagNum, ...PRIVATE_CREATOR } : undefined;
  }
  for (const e of repeating) {
    if ((tagNum & (e.mask ?? 0)) >>> 0 === e.tag) return e;
  }
  return undefined;
}

/** Every entry of the dictionary, in tag order; a repeating group's tag has its xx at 00. */
export function dictionaryEntries(): readonly DictEntry[] {
  load();
  return inOrder;
}

/** The tag of a dictionary keyword ('PatientName' -> 0x00100010); repeating groups give the xx=00 tag. */
export function keywordToTag(keyword: string): Tag | undefined {
  load();
  return byKeyword?.get(keyword);
}

/**
 * The VR to use for an element whose VR the file does not carry (implicit VR): the dictionary's
 * choice, with 'US or SS' resolved by Pixel Representation (1 = signed) when it is known.
 */
export function resolveVr(t: Tag, pixelRepresentation?: number): string {
  const e = lookupTag(t);
  if (!e || e.vr === 'NONE') return 'UN';
  if (e.vrs.includes('SS') && e.vr === 'US' && pixelRepresentation === 1) return 'SS';
  return e.vr;
}
