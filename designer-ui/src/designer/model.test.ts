import { describe, expect, it } from 'vitest';
import { PALETTE, fieldPatch, fromObject, init, problemsByField, reduce, toLayout, toObjectDoc } from './model';
import type { DesignerState } from './model';

function run(s: DesignerState, ...as: Parameters<typeof reduce>[1][]): DesignerState {
  return as.reduce(reduce, s);
}

describe('designer model', () => {
  it('offers every field type of the server', () => {
    expect(PALETTE.map((p) => p.type).sort()).toEqual([
      'address', 'attachment', 'auto_number', 'boolean', 'currency', 'date', 'datetime', 'decimal', 'department',
      'email', 'integer', 'json', 'long_text', 'lookup', 'master_detail', 'multi_lookup', 'multi_select', 'percent',
      'phone', 'rich_text', 'single_select', 'text', 'time', 'url', 'user',
    ]);
  });

  it('sections: add, move a field across a boundary by keyboard, move to a section, remove, reorder', () => {
    let s = run(init(), { t: 'add', type: 'text' }, { t: 'add', type: 'integer' }, { t: 'addSection' }, { t: 'add', type: 'date', section: 'section_2' });
    const names = () => s.present.fields.map((f) => `${f.section}:${f.api_name}`);
    expect(names()).toEqual(['main:text_1', 'main:integer_2', 'section_2:date_3']);
    // Alt+↓ on the last field of a section: it becomes the first of the next one, in place.
    s = run(s, { t: 'move', from: 1, to: 2 });
    expect(names()).toEqual(['main:text_1', 'section_2:integer_2', 'section_2:date_3']);
    s = run(s, { t: 'toSection', uid: s.present.fields[2].uid, section: 'main' });
    expect(names()).toEqual(['main:text_1', 'main:date_3', 'section_2:integer_2']);
    s = run(s, { t: 'updateSection', key: 'section_2', patch: { columns: 3, label: { zh: '金额', en: 'Money' } } }, { t: 'moveSection', key: 'section_2', delta: -1 });
    expect(names()).toEqual(['section_2:integer_2', 'main:text_1', 'main:date_3']);
    expect(toLayout(s.present)).toEqual({ sections: [
      { key: 'section_2', label: { zh: '金额', en: 'Money' }, columns: 3, fields: ['integer_2'] },
      { key: 'main', label: { zh: '基本信息', en: 'Details' }, columns: 2, fields: ['text_1', 'date_3'] },
    ] });
    // Removing a section hands its fields to a neighbour; the last section cannot go.
    s = run(s, { t: 'removeSection', key: 'section_2' });
    expect(names()).toEqual(['main:integer_2', 'main:text_1', 'main:date_3']);
    expect(run(s, { t: 'removeSection', key: 'main' }).present.sections).toHaveLength(1);
    // The object document carries the layout; no designer-only keys reach the field documents.
    const doc = toObjectDoc({ ...s.present, api_name: 'deal' });
    expect(doc.layout?.sections[0].fields).toEqual(['integer_2', 'text_1', 'date_3']);
    expect(doc.fields.some((f) => 'section' in f || 'uid' in f)).toBe(false);
  });

  it('reads a stored layout back in its order, with unplaced fields in the last section', () => {
    const d = fromObject({
      api_name: 'deal', label: { en: 'Deal' },
      fields: [{ api_name: 'a', type: 'text' }, { api_name: 'b', type: 'text' }, { api_name: 'c', type: 'text' }, { api_name: 'd', type: 'text', deleted_at: 'x' }],
      layout: { sections: [{ key: 'x', fields: ['c', 'd'] }, { key: 'y', columns: 1, fields: ['a'] }] },
    } as never);
    expect(d.fields.map((f) => `${f.section}:${f.api_name}`)).toEqual(['x:c', 'y:a', 'y:b']);
    expect(d.sections.map((x) => x.columns)).toEqual([2, 1]);
  });

  it('adds fields at a position with unique api names and selects the new one', () => {
    const s = run(init(), { t: 'add', type: 'text' }, { t: 'add', type: 'text' }, { t: 'add', type: 'date', index: 0 });
    expect(s.present.fields.map((f) => f.api_name)).toEqual(['date_3', 'text_1', 'text_2']);
    expect(s.selected).toBe(s.present.fields[0].uid);
  });

  it('fills required options for selects, references and auto numbers', () => {
    const s = run(init(), { t: 'add', type: 'single_select' }, { t: 'add', type: 'lookup', targets: ['account'] }, { t: 'add', type: 'auto_number' });
    const [sel, look, auto] = s.present.fields;
    expect(sel.options?.length).toBe(2);
    expect(look.target).toBe('account');
    expect(auto.pattern).toContain('{0000}');
  });

  it('moves, undoes and redoes', () => {
    let s = run(init(), { t: 'add', type: 'text' }, { t: 'add', type: 'integer' }, { t: 'add', type: 'date' });
    s = reduce(s, { t: 'move', from: 2, to: 0 });
    expect(s.present.fields.map((f) => f.type)).toEqual(['date', 'text', 'integer']);
    s = reduce(s, { t: 'undo' });
    expect(s.present.fields.map((f) => f.type)).toEqual(['text', 'integer', 'date']);
    s = reduce(s, { t: 'undo' });
    expect(s.present.fields.length).toBe(2);
    s = run(s, { t: 'redo' }, { t: 'redo' });
    expect(s.present.fields.map((f) => f.type)).toEqual(['date', 'text', 'integer']);
    expect(reduce(s, { t: 'redo' })).toBe(s);
    // a new edit clears the redo stack
    s = run(s, { t: 'undo' }, { t: 'remove', uid: s.present.fields[0].uid });
    expect(s.future).toEqual([]);
  });

  it('ignores moves out of range and selection is not an undo step', () => {
    const s = run(init(), { t: 'add', type: 'text' });
    expect(reduce(s, { t: 'move', from: 0, to: 5 })).toBe(s);
    const sel = reduce(s, { t: 'select', uid: null });
    expect(sel.past.length).toBe(s.past.length);
  });

  it('updates drop empty values', () => {
    let s = run(init(), { t: 'add', type: 'text' });
    const uid = s.present.fields[0].uid;
    s = run(s, { t: 'update', uid, patch: { max_length: 20, pattern: '^a' } }, { t: 'update', uid, patch: { pattern: '' } });
    expect(s.present.fields[0].max_length).toBe(20);
    expect('pattern' in s.present.fields[0]).toBe(false);
  });

  it('builds the object document and picks a name field', () => {
    let s = run(init(), { t: 'add', type: 'integer' }, { t: 'add', type: 'text' });
    s = reduce(s, { t: 'object', patch: { api_name: 'ticket', label: { zh: '工单', en: 'Ticket' } } });
    const doc = toObjectDoc(s.present);
    expect(doc.schema).toBe('weft.object/1');
    expect(doc.name_field).toBe('text_2');
    expect(doc.fields.every((f) => !('uid' in f))).toBe(true);
  });

  it('maps server problems to fields', () => {
    const s = run(init(), { t: 'add', type: 'text' }, { t: 'add', type: 'single_select' });
    const by = problemsByField(s.present, [
      { path: '/fields/1/options/0/value', code: 'invalid', message: 'bad' },
      { path: '/api_name', code: 'required', message: 'missing' },
    ]);
    expect(by[s.present.fields[1].uid]).toEqual([{ path: '/options/0/value', code: 'invalid', message: 'bad' }]);
    expect(by[''][0].path).toBe('/api_name');
  });

  it('computes a merge patch for a published field', () => {
    const o = { api_name: 'deal', fields: [{ id: 'x', api_name: 'name', type: 'text' as const, label: { zh: '名称' }, max_length: 10 }] };
    const d = fromObject(o);
    const f = { ...d.fields[0], label: { zh: '名称', en: 'Name' } } as typeof d.fields[0];
    delete (f as { max_length?: number }).max_length;
    expect(fieldPatch(o.fields[0], f)).toEqual({ label: { zh: '名称', en: 'Name' }, max_length: null });
    expect(fieldPatch(o.fields[0], d.fields[0])).toBeNull();
  });
});
