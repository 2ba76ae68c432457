/**
 * Shifting DA and DT values by whole days (Retain Longitudinal Temporal Information with Modified
 * Dates). Intervals between dates of one patient are kept; times of day are not touched.
 */

const MS_PER_DAY = 86_400_000;

function shiftYmd(y: number, m: number, d: number, days: number): [number, number, number] | undefined {
  if (m < 1 || m > 12 || d < 1 || d > 31) return undefined;
  const t = Date.UTC(y, m - 1, d);
  const check = new Date(t);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d)
    return undefined;
  const s = new Date(t + days * MS_PER_DAY);
  return [s.getUTCFullYear(), s.getUTCMonth() + 1, s.getUTCDate()];
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** One DA value: YYYYMMDD (or the ACR-NEMA form YYYY.MM.DD). Undefined when not a valid date. */
export function shiftDA(value: string, days: number): string | undefined {
  const v = value.trim();
  const m = /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec(v);
  if (!m) return undefined;
  const r = shiftYmd(Number(m[1]), Number(m[2]), Number(m[3]), days);
  if (!r || r[0] < 1 || r[0] > 9999) return undefined;
  return `${pad(r[0], 4)}${pad(r[1], 2)}${pad(r[2], 2)}`;
}

/**
 * One DT value: YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]. The date part is shifted (a partial date as if
 * it were the first of its month/year, keeping its precision); time and offset stay as they are.
 */
export function shiftDT(value: string, days: number): string | undefined {
  const v = value.trim();
  const m = /^(\d{4})(\d{2})?(\d{2})?([0-9.]*)([+-]\d{4})?$/.exec(v);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = m[2] === undefined ? 1 : Number(m[2]);
  const d = m[3] === undefined ? 1 : Number(m[3]);
  const r = shiftYmd(y, mo, d, days);
  if (!r || r[0] < 1 || r[0] > 9999) return undefined;
  let date = pad(r[0], 4);
  if (m[2] !== undefined) date += pad(r[1], 2);
  if (m[3] !== undefined) date += pad(r[2], 2);
  return `${date}${m[4] ?? ''}${m[5] ?? ''}`;
}

/** Shifts every value of a (backslash-separated) DA or DT element; undefined if any is invalid. */
export function shiftDateValues(
  values: readonly string[],
  vr: 'DA' | 'DT',
  days: number,
): string[] | undefined {
  const out: string[] = [];
  for (const v of values) {
    if (v.trim() === '') {
      out.push('');
      continue;
    }
    const s = vr === 'DA' ? shiftDA(v, days) : shiftDT(v, days);
    if (s === undefined) return undefined;
    out.push(s);
  }
  return out;
}
