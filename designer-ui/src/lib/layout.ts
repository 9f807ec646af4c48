// An object's form layout resolved against its fields: the sections to draw, in order, each
// with its fields. Used by the generated form, the record page and the designer's preview.
import type { FieldDef, FormLayout, Label } from './types';

export interface ResolvedSection<F extends FieldDef = FieldDef> {
  key: string;
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
      out.push({ key: s.key, label: s.label, columns: clampCols(s.columns), collapsed: !!s.collapsed, fields: fs, titled: true });
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
