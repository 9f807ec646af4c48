import { describe, expect, it } from 'vitest';
import { fromFilter, opsFor, toFilter } from './filter';
import type { FieldDef } from './types';

const fields: FieldDef[] = [
  { api_name: 'name', type: 'text' },
  { api_name: 'amount', type: 'currency' },
  { api_name: 'stage', type: 'single_select', options: [{ value: 'won' }] },
];

describe('filter builder', () => {
  it('offers operators by type', () => {
    expect(opsFor(fields[0])).toContain('contains');
    expect(opsFor(fields[1])).toContain('gte');
    expect(opsFor(fields[2])).toContain('in');
  });
  it('translates rows to the API filter language', () => {
    expect(toFilter({ rel: 'and', conds: [] }, fields)).toBeUndefined();
    expect(toFilter({ rel: 'and', conds: [{ field: 'name', op: 'contains', value: '华' }] }, fields))
      .toEqual({ field: 'name', op: 'contains', value: '华' });
    expect(toFilter({ rel: 'or', conds: [
      { field: 'amount', op: 'gte', value: { amount: '1000', currency: 'CNY' } },
      { field: 'stage', op: 'not_null' },
      { field: 'name', op: 'eq', value: '' },
    ] }, fields)).toEqual({ or: [
      { field: 'amount', op: 'gte', value: '1000' },
      { field: 'stage', op: 'is_null', value: false },
    ] });
  });
  it('reads a saved filter back into rows (round trip), or says it cannot', () => {
    const rows = { rel: 'or' as const, conds: [{ field: 'name', op: 'contains', value: '华' }, { field: 'stage', op: 'not_null' }, { field: 'amount', op: 'is_null' }] };
    const f = toFilter(rows, fields);
    expect(fromFilter(f, fields)).toEqual(rows);
    expect(toFilter(fromFilter(f, fields)!, fields)).toEqual(f);
    expect(fromFilter(null, fields)).toEqual({ rel: 'and', conds: [] });
    expect(fromFilter({ field: 'stage', op: 'eq', value: 'won' }, fields)).toEqual({ rel: 'and', conds: [{ field: 'stage', op: 'eq', value: 'won' }] });
    expect(fromFilter({ not: { field: 'stage', op: 'eq', value: 'won' } }, fields)).toBeNull();
    expect(fromFilter({ and: [{ or: [] }] }, fields)).toBeNull();
    expect(fromFilter({ field: 'secret', op: 'eq', value: 1 }, fields)).toBeNull();
  });
});
