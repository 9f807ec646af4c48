import { describe, expect, it } from 'vitest';
import { REST_KEY, matches, sectionsOf, spanOf } from './layout';
import type { FieldDef } from './types';

const f = (api_name: string, type = 'text'): FieldDef => ({ api_name, type } as FieldDef);
const fields = [f('name'), f('amount', 'currency'), f('notes', 'long_text'), f('stage', 'single_select')];

describe('sectionsOf', () => {
  it('without a layout, one untitled section in field order', () => {
    const s = sectionsOf(fields, undefined);
    expect(s).toHaveLength(1);
    expect(s[0].titled).toBe(false);
    expect(s[0].fields.map((x) => x.api_name)).toEqual(['name', 'amount', 'notes', 'stage']);
  });

  it('follows the layout, skips unknown and repeated names, and puts unplaced fields last', () => {
    const s = sectionsOf(fields, { sections: [
      { key: 'a', columns: 3, fields: ['stage', 'ghost', 'name', 'stage'] },
      { key: 'empty', fields: [] },
      { key: 'b', columns: 1, collapsed: true, fields: ['notes'] },
    ] });
    expect(s.map((x) => x.key)).toEqual(['a', 'b', REST_KEY]);
    expect(s[0].fields.map((x) => x.api_name)).toEqual(['stage', 'name']);
    expect(s[0].columns).toBe(3);
    expect(s[1].collapsed).toBe(true);
    expect(s[2].fields.map((x) => x.api_name)).toEqual(['amount']);
    expect(s[2].titled).toBe(true);
  });

  it('keeps empty sections for the designer', () => {
    expect(sectionsOf([], { sections: [{ key: 'x', fields: [] }] }, true).map((x) => x.key)).toEqual(['x']);
  });

  it('spans: wide types take the row, others share it', () => {
    expect(spanOf(f('notes', 'long_text'), 3)).toBe(24);
    expect(spanOf(f('name'), 3)).toBe(8);
    expect(spanOf(f('name'), 9)).toBe(6);
  });
});

describe('matches (display conditions)', () => {
  const v = { stage: 'lost', amount: { amount: '600000.00', currency: 'CNY' }, tags: ['vip'], name: 'Acme Shanghai', close: '2026-12-31', empty: null };
  it('compares like the list filter', () => {
    expect(matches({ field: 'stage', op: 'eq', value: 'lost' }, v)).toBe(true);
    expect(matches({ field: 'stage', op: 'in', value: ['won', 'lost'] }, v)).toBe(true);
    expect(matches({ field: 'amount', op: 'gt', value: 500000 }, v)).toBe(true);
    expect(matches({ field: 'amount', op: 'lte', value: '500000' }, v)).toBe(false);
    expect(matches({ field: 'tags', op: 'contains', value: 'vip' }, v)).toBe(true);
    expect(matches({ field: 'name', op: 'starts_with', value: 'acme' }, v)).toBe(true);
    expect(matches({ field: 'close', op: 'gte', value: '2026-12-01' }, v)).toBe(true);
    expect(matches({ field: 'empty', op: 'is_null', value: true }, v)).toBe(true);
    expect(matches({ field: 'stage', op: 'is_null', value: false }, v)).toBe(true);
    expect(matches({ field: 'empty', op: 'eq', value: 'x' }, v)).toBe(false);
    expect(matches({ field: 'empty', op: 'ne', value: 'x' }, v)).toBe(true);
  });
  it('and / or / not; no condition shows', () => {
    expect(matches({ and: [{ field: 'stage', op: 'eq', value: 'lost' }, { not: { field: 'name', op: 'contains', value: 'beijing' } }] }, v)).toBe(true);
    expect(matches({ or: [{ field: 'stage', op: 'eq', value: 'won' }, { field: 'tags', op: 'contains', value: 'x' }] }, v)).toBe(false);
    expect(matches(undefined, v)).toBe(true);
  });
});
