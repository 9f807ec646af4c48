// The filter builder's rows and their translation to the API's JSON filter language.
import type { FieldDef, Filter } from './types';

export interface Cond { field: string; op: string; value?: unknown }
export interface FilterState { rel: 'and' | 'or'; conds: Cond[] }

/** Operators offered for a field type (a subset of what the API accepts). */
export function opsFor(f: FieldDef): string[] {
  switch (f.type) {
    case 'integer': case 'decimal': case 'currency': case 'percent':
    case 'date': case 'datetime': case 'time':
      return ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'is_null', 'not_null'];
    case 'single_select':
      return ['eq', 'ne', 'in', 'is_null', 'not_null'];
    case 'multi_select':
      return ['contains', 'is_null', 'not_null'];
    case 'boolean':
      return ['eq'];
    case 'lookup': case 'master_detail': case 'user': case 'department':
      return ['eq', 'ne', 'is_null', 'not_null'];
    case 'text': case 'long_text': case 'email': case 'phone': case 'url': case 'auto_number': case 'rich_text':
      return ['contains', 'starts_with', 'eq', 'ne', 'is_null', 'not_null'];
    default:
      return ['is_null', 'not_null'];
  }
}

export function needsValue(op: string): boolean {
  return op !== 'is_null' && op !== 'not_null';
}

/** Rows with an operator that needs a value but has none are left out (still being edited). */
export function toFilter(s: FilterState, fields: FieldDef[]): Filter | undefined {
  const parts: Filter[] = [];
  for (const c of s.conds) {
    const f = fields.find((x) => x.api_name === c.field);
    if (!f) continue;
    if (c.op === 'is_null' || c.op === 'not_null') {
      parts.push({ field: c.field, op: 'is_null', value: c.op === 'is_null' });
      continue;
    }
    const v = c.value;
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    let value: unknown = v;
    if (f.type === 'currency' && typeof v === 'object' && v && 'amount' in v) value = (v as { amount: string }).amount;
    parts.push({ field: c.field, op: c.op, value });
  }
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0];
  return s.rel === 'and' ? { and: parts } : { or: parts };
}

/**
 * The builder's rows for an API filter (a saved view's): one condition or one AND / OR list
 * of conditions on known fields. `null` when the filter has another shape (nested groups,
 * NOT, unknown fields): the caller then applies it as it is.
 */
export function fromFilter(f: Filter | null | undefined, fields: FieldDef[]): FilterState | null {
  if (!f) return { rel: 'and', conds: [] };
  let rel: 'and' | 'or' = 'and';
  let parts: Filter[];
  if ('and' in f) parts = f.and;
  else if ('or' in f) { rel = 'or'; parts = f.or; } else parts = [f];
  const conds: Cond[] = [];
  for (const p of parts) {
    if (!('field' in p) || !fields.some((x) => x.api_name === p.field)) return null;
    if (p.op === 'is_null') conds.push({ field: p.field, op: p.value === false ? 'not_null' : 'is_null' });
    else if (p.op === 'not_null') conds.push({ field: p.field, op: 'not_null' });
    else conds.push({ field: p.field, op: p.op, value: p.value });
  }
  return { rel, conds };
}
