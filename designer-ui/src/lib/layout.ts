// An object's form layout resolved against its fields: the sections to draw, in order, each
// with its fields. Used by the generated form, the record page and the designer's preview.
import type { FieldDef, Filter, FormLayout, Label } from './types';

export interface ResolvedSection<F extends FieldDef = FieldDef> {
  key: string;
  visible_when?: Filter | null;
  label?: Label;
  columns: number;
  collapsed: boolean;
  fields: F[];
  /** False for the implicit section of an object without a layout (drawn without a header). */
  titled: boolean;
}

export const REST_KEY = '__rest';

/**
 * Sections with their fields in layout order. Fields the layout does not place (added later
 * through the API, or the object has no layout) follow in one more section; names the layout
 * holds but `fields` lacks (hidden, deleted) are skipped. Empty sections are dropped unless
 * `keepEmpty` (the designer shows them as drop targets).
 */
export function sectionsOf<F extends FieldDef>(fields: F[], layout?: FormLayout | null, keepEmpty = false): ResolvedSection<F>[] {
  const byName = new Map(fields.map((f) => [f.api_name, f]));
  const placed = new Set<string>();
  const out: ResolvedSection<F>[] = [];
  for (const s of layout?.sections ?? []) {
    const fs: F[] = [];
    for (const n of s.fields) {
      const f = byName.get(n);
      if (f && !placed.has(n)) { placed.add(n); fs.push(f); }
    }
    if (fs.length || keepEmpty) {
      out.push({ key: s.key, label: s.label, columns: clampCols(s.columns), collapsed: !!s.collapsed, fields: fs, titled: true, visible_when: s.visible_when });
    }
  }
  const rest = fields.filter((f) => !placed.has(f.api_name));
  if (rest.length) {
    const titled = (layout?.sections.length ?? 0) > 0;
    out.push({ key: REST_KEY, label: titled ? { zh: '其他', en: 'More' } : undefined, columns: 2, collapsed: false, fields: rest, titled });
  }
  return out;
}

export function clampCols(n: number | undefined): number {
  return Math.min(4, Math.max(1, Math.round(n ?? 2)));
}

/** antd grid span (of 24) for a field in a section of `columns`; wide types take the row. */
export const WIDE = new Set(['long_text', 'rich_text', 'json', 'address', 'multi_lookup', 'attachment']);
export function spanOf(f: FieldDef, columns: number): number {
  return WIDE.has(f.type) ? 24 : Math.floor(24 / clampCols(columns));
}

/**
 * Whether the values being entered match a display condition (the list filter language:
 * and / or / not, eq ne gt gte lt lte in contains starts_with is_null). Unknown operators
 * match, so a condition this client does not understand never hides a field.
 */
export function matches(f: Filter | null | undefined, values: Record<string, unknown>): boolean {
  if (!f) return true;
  if ('and' in f) return f.and.every((x) => matches(x, values));
  if ('or' in f) return f.or.some((x) => matches(x, values));
  if ('not' in f) return !matches(f.not, values);
  const v = plain(values[f.field]);
  const want = f.value;
  const empty = v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
  switch (f.op) {
    case 'is_null': return want === false ? !empty : empty;
    case 'eq': return !empty && same(v, want);
    case 'ne': return empty || !same(v, want);
    case 'in': return !empty && Array.isArray(want) && want.some((w) => same(v, w));
    case 'gt': return !empty && cmp(v, want) > 0;
    case 'gte': return !empty && cmp(v, want) >= 0;
    case 'lt': return !empty && cmp(v, want) < 0;
    case 'lte': return !empty && cmp(v, want) <= 0;
    case 'contains':
      return !empty && (Array.isArray(v) ? v.some((x) => same(x, want)) : String(v).toLowerCase().includes(String(want).toLowerCase()));
    case 'starts_with': return !empty && String(v).toLowerCase().startsWith(String(want).toLowerCase());
    default: return true;
  }
}

/** A currency value compares by its amount. */
function plain(v: unknown): unknown {
  return v && typeof v === 'object' && !Array.isArray(v) && 'amount' in v ? (v as { amount: unknown }).amount : v;
}
function same(a: unknown, b: unknown): boolean {
  const na = Number(a); const nb = Number(plain(b));
  if (typeof a !== 'boolean' && a !== '' && !Number.isNaN(na) && !Number.isNaN(nb) && typeof plain(b) !== 'boolean') return na === nb;
  return String(a) === String(plain(b));
}
function cmp(a: unknown, b: unknown): number {
  const na = Number(a); const nb = Number(plain(b));
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  const sa = String(a); const sb = String(plain(b));
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}
