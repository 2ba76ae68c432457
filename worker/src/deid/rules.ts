/**
 * Which action applies to an attribute: Table E.1-1 lookup and the resolution of the table's
 * Basic Profile action against the enabled options. Pure functions of the table and the options.
 */
import type { Tag } from '@medimg/dicom';
import type { DeidOptions } from './options.ts';
import { type BasicAction, type OptionColumn, PROFILE_TABLE, type ProfileTableRow } from './profile-table.ts';

/** A resolved action: remove, zero length, dummy, keep, clean, replace UID. */
export type Action = 'X' | 'Z' | 'D' | 'K' | 'C' | 'U';

export interface ProfileRow {
  readonly tag: string;
  readonly basic: BasicAction;
  readonly options: ProfileTableRow[3];
  /** VR from the data dictionary ('' when the table's row has none, 'OB or OW' style for several). */
  readonly vr: string;
  readonly name: string;
}

const toRow = (r: ProfileTableRow): ProfileRow => ({
  tag: r[0],
  basic: r[1],
  options: r[3],
  vr: r[4],
  name: r[5],
});

const exact = new Map<number, ProfileRow>();
let curve: ProfileRow | undefined;
const overlay = new Map<number, ProfileRow>(); // element -> row for (60xx,eeee)
let privateRow: ProfileRow | undefined;
for (const r of PROFILE_TABLE) {
  const row = toRow(r);
  if (row.tag === 'private') privateRow = row;
  else if (row.tag === '50xxxxxx') curve = row;
  else if (row.tag.startsWith('60xx')) overlay.set(Number.parseInt(row.tag.slice(4), 16), row);
  else if (/^[0-9a-f]{8}$/.test(row.tag)) exact.set(Number.parseInt(row.tag, 16) >>> 0, row);
  else throw new Error(`profile table: unhandled tag pattern ${row.tag}`);
}

export const PRIVATE_ATTRIBUTES_ROW: ProfileRow = privateRow!;

/** True for a repeating overlay group 6000-60FE. */
export const isOverlayGroup = (group: number): boolean => (group & 0xff00) === 0x6000 && (group & 1) === 0;
/** True for a repeating curve group 5000-50FE. */
export const isCurveGroup = (group: number): boolean => (group & 0xff00) === 0x5000 && (group & 1) === 0;

/** The Table E.1-1 row of a standard (even-group) tag, repeating groups included. */
export function profileRowOf(t: Tag): ProfileRow | undefined {
  const hit = exact.get(t >>> 0);
  if (hit) return hit;
  const group = t >>> 16;
  if (isCurveGroup(group)) return curve;
  if (isOverlayGroup(group)) return overlay.get(t & 0xffff);
  return undefined;
}

/** Which option columns the options enable. */
export function enabledColumns(o: DeidOptions): ReadonlySet<OptionColumn> {
  const s = new Set<OptionColumn>();
  if (o.retainSafePrivate) s.add('rtnSafePrivOpt');
  if (o.retainUids) s.add('rtnUIDsOpt');
  if (o.retainDeviceIdentity) s.add('rtnDevIdOpt');
  if (o.retainInstitutionIdentity) s.add('rtnInstIdOpt');
  if (o.retainPatientCharacteristics) s.add('rtnPatCharsOpt');
  if (o.retainLongitudinal === 'full') s.add('rtnLongFullDatesOpt');
  if (o.retainLongitudinal === 'modified') s.add('rtnLongModifDatesOpt');
  if (o.cleanDescriptors) s.add('cleanDescOpt');
  if (o.cleanStructuredContent) s.add('cleanStructContOpt');
  if (o.cleanGraphics) s.add('cleanGraphOpt');
  return s;
}

const TEMPORAL_COLUMNS: readonly OptionColumn[] = ['rtnLongFullDatesOpt', 'rtnLongModifDatesOpt'];

/**
 * The action an option column set gives a row, or undefined when no enabled option covers it.
 * Several enabled options on one row: for DA/DT/TM the temporal option decides (so a device
 * calibration date is still shifted under Modified Dates); otherwise K (retain) wins over C.
 */
export function optionAction(
  row: ProfileRow,
  enabled: ReadonlySet<OptionColumn>,
  vr: string,
): 'K' | 'C' | undefined {
  if (vr === 'DA' || vr === 'DT' || vr === 'TM') {
    for (const c of TEMPORAL_COLUMNS) {
      const a = row.options[c];
      if (a && enabled.has(c)) return a;
    }
  }
  let result: 'K' | 'C' | undefined;
  for (const [c, a] of Object.entries(row.options) as [OptionColumn, 'K' | 'C'][]) {
    if (!enabled.has(c)) continue;
    if (a === 'K') return 'K';
    result = 'C';
  }
  return result;
}

/**
 * Resolves the Basic Profile action of a present element without per-IOD Type information:
 *   X/Z -> Z            (a zero-length value is valid for Type 2 and Type 3)
 *   X/D -> D when the element has a value (valid for Type 1 and 3), else X
 *   Z/D, X/Z/D -> D when the element has a value, else Z
 *   X/Z/U* -> U         (keep the sequence, replace every UID inside it)
 * An absent attribute is never added. A dummy value carries no information, so choosing D over X
 * or Z costs no privacy and keeps Type 1 attributes valid.
 */
export function resolveBasic(basic: BasicAction, hasValue: boolean): Action {
  switch (basic) {
    case 'X/Z':
      return 'Z';
    case 'X/D':
      return hasValue ? 'D' : 'X';
    case 'Z/D':
    case 'X/Z/D':
      return hasValue ? 'D' : 'Z';
    case 'X/Z/U*':
      return 'U';
    default:
      return basic;
  }
}

/** The action for a standard attribute listed in the table. */
export function actionFor(
  row: ProfileRow,
  enabled: ReadonlySet<OptionColumn>,
  vr: string,
  hasValue: boolean,
): { action: Action; basic: Action } {
  const basic = resolveBasic(row.basic, hasValue);
  return { action: optionAction(row, enabled, vr) ?? basic, basic };
}
