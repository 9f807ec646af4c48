// The form designer's state: an object definition being edited, with undo/redo. Pure functions,
// so every edit (add, move, change, remove) is tested without a browser.
import type { FieldDef, FieldType, Label, ObjectDef, Problem } from '../lib/types';

export interface DField extends FieldDef { uid: string; published?: boolean }

export interface Doc {
  api_name: string;
  label: Label;
  plural_label?: Label;
  name_field?: string;
  fields: DField[];
  isNew: boolean;
}

export interface DesignerState {
  past: Doc[];
  present: Doc;
  future: Doc[];
  selected: string | null;
  seq: number;
}

export interface PaletteItem { type: FieldType; label: Label; group: 'basic' | 'number' | 'choice' | 'date' | 'contact' | 'relation' | 'other' }

/** Every field type the server knows (`/api/v1/meta/field-types`), in palette order. */
export const PALETTE: PaletteItem[] = [
  { type: 'text', label: { zh: '单行文本', en: 'Text' }, group: 'basic' },
  { type: 'long_text', label: { zh: '多行文本', en: 'Long text' }, group: 'basic' },
  { type: 'rich_text', label: { zh: '富文本', en: 'Rich text' }, group: 'basic' },
  { type: 'integer', label: { zh: '整数', en: 'Integer' }, group: 'number' },
  { type: 'decimal', label: { zh: '小数', en: 'Decimal' }, group: 'number' },
  { type: 'currency', label: { zh: '金额', en: 'Currency' }, group: 'number' },
  { type: 'percent', label: { zh: '百分比', en: 'Percent' }, group: 'number' },
  { type: 'boolean', label: { zh: '复选框', en: 'Checkbox' }, group: 'choice' },
  { type: 'single_select', label: { zh: '单选', en: 'Single select' }, group: 'choice' },
  { type: 'multi_select', label: { zh: '多选', en: 'Multi select' }, group: 'choice' },
  { type: 'date', label: { zh: '日期', en: 'Date' }, group: 'date' },
  { type: 'datetime', label: { zh: '日期时间', en: 'Date & time' }, group: 'date' },
  { type: 'time', label: { zh: '时间', en: 'Time' }, group: 'date' },
  { type: 'email', label: { zh: '邮箱', en: 'Email' }, group: 'contact' },
  { type: 'phone', label: { zh: '手机/电话', en: 'Phone' }, group: 'contact' },
  { type: 'url', label: { zh: '链接', en: 'URL' }, group: 'contact' },
  { type: 'address', label: { zh: '地址', en: 'Address' }, group: 'contact' },
  { type: 'lookup', label: { zh: '关联记录', en: 'Lookup' }, group: 'relation' },
  { type: 'master_detail', label: { zh: '主从关联', en: 'Master-detail' }, group: 'relation' },
  { type: 'multi_lookup', label: { zh: '多条关联', en: 'Multi lookup' }, group: 'relation' },
  { type: 'user', label: { zh: '成员', en: 'User' }, group: 'relation' },
  { type: 'department', label: { zh: '部门', en: 'Department' }, group: 'relation' },
  { type: 'auto_number', label: { zh: '流水号', en: 'Auto number' }, group: 'other' },
  { type: 'attachment', label: { zh: '附件', en: 'Attachment' }, group: 'other' },
  { type: 'json', label: { zh: 'JSON', en: 'JSON' }, group: 'other' },
];

export const COLORS = ['default', 'blue', 'cyan', 'green', 'orange', 'red', 'purple', 'gold', 'magenta'];

export function emptyDoc(): Doc {
  return { api_name: '', label: { zh: '', en: '' }, fields: [], isNew: true };
}

export function fromObject(o: ObjectDef): Doc {
  return {
    api_name: o.api_name, label: { ...o.label }, plural_label: o.plural_label, name_field: o.name_field, isNew: false,
    fields: o.fields.filter((f) => !f.deleted_at).map((f) => ({ ...f, uid: f.api_name, published: true })),
  };
}

export function init(doc: Doc = emptyDoc()): DesignerState {
  return { past: [], present: doc, future: [], selected: null, seq: doc.fields.length };
}

/** A new field of `type` with the options the server requires filled in. */
export function newField(type: FieldType, n: number, targets: string[]): DField {
  const p = PALETTE.find((x) => x.type === type)!;
  const f: DField = {
    uid: `new_${n}`, api_name: `${type}_${n}`, type,
    label: { zh: `${p.label.zh}${n}`, en: `${p.label.en} ${n}` },
  };
  if (type === 'single_select' || type === 'multi_select') {
    f.options = [
      { value: 'option_1', label: { zh: '选项1', en: 'Option 1' }, color: 'blue' },
      { value: 'option_2', label: { zh: '选项2', en: 'Option 2' }, color: 'green' },
    ];
  }
  if (type === 'lookup' || type === 'master_detail' || type === 'multi_lookup') f.target = targets[0];
  if (type === 'auto_number') f.pattern = 'NO-{YYYY}-{0000}';
  return f;
}

export type Action =
  | { t: 'add'; type: FieldType; index?: number; targets?: string[] }
  | { t: 'move'; from: number; to: number }
  | { t: 'update'; uid: string; patch: Partial<FieldDef> }
  | { t: 'remove'; uid: string }
  | { t: 'object'; patch: Partial<Pick<Doc, 'api_name' | 'label' | 'plural_label' | 'name_field'>> }
  | { t: 'select'; uid: string | null }
  | { t: 'undo' } | { t: 'redo' }
  | { t: 'load'; doc: Doc }
  | { t: 'published'; doc: Doc };

function edit(s: DesignerState, next: Doc, selected = s.selected, seq = s.seq): DesignerState {
  return { past: [...s.past.slice(-99), s.present], present: next, future: [], selected, seq };
}

export function reduce(s: DesignerState, a: Action): DesignerState {
  const d = s.present;
  switch (a.t) {
    case 'add': {
      const seq = s.seq + 1;
      let n = seq;
      while (d.fields.some((f) => f.api_name === `${a.type}_${n}` || f.uid === `new_${n}`)) n++;
      const f = newField(a.type, n, a.targets ?? []);
      const fields = [...d.fields];
      fields.splice(a.index ?? fields.length, 0, f);
      return edit(s, { ...d, fields }, f.uid, Math.max(seq, n));
    }
    case 'move': {
      if (a.from === a.to || a.from < 0 || a.to < 0 || a.from >= d.fields.length || a.to >= d.fields.length) return s;
      const fields = [...d.fields];
      const [f] = fields.splice(a.from, 1);
      fields.splice(a.to, 0, f);
      return edit(s, { ...d, fields });
    }
    case 'update': {
      const fields = d.fields.map((f) => (f.uid === a.uid ? clean({ ...f, ...a.patch }) : f));
      return edit(s, { ...d, fields });
    }
    case 'remove': {
      const fields = d.fields.filter((f) => f.uid !== a.uid);
      return edit(s, { ...d, fields }, s.selected === a.uid ? null : s.selected);
    }
    case 'object':
      return edit(s, { ...d, ...a.patch });
    case 'select':
      return { ...s, selected: a.uid };
    case 'undo': {
      if (!s.past.length) return s;
      const prev = s.past[s.past.length - 1];
      return { ...s, past: s.past.slice(0, -1), present: prev, future: [d, ...s.future], selected: keepSel(prev, s.selected) };
    }
    case 'redo': {
      if (!s.future.length) return s;
      const [next, ...rest] = s.future;
      return { ...s, past: [...s.past, d], present: next, future: rest, selected: keepSel(next, s.selected) };
    }
    case 'load':
      return init(a.doc);
    case 'published':
      return { ...init(a.doc), selected: s.selected && a.doc.fields.some((f) => f.uid === s.selected) ? s.selected : null };
  }
}

function keepSel(d: Doc, sel: string | null) { return sel && d.fields.some((f) => f.uid === sel) ? sel : null; }

/** Drop empty optional values so the document sent to the server carries only what was set. */
function clean(f: DField): DField {
  const out = { ...f } as Record<string, unknown>;
  for (const [k, v] of Object.entries(out)) if (v === undefined || v === '' || (v === null && k !== 'default')) delete out[k];
  if (out.default === null) delete out.default;
  return out as unknown as DField;
}

/** The field as the metadata API expects it (no designer-only keys). */
export function toFieldDoc(f: DField): FieldDef {
  const { uid: _u, published: _p, id: _id, ...rest } = f;
  void _u; void _p; void _id;
  return rest;
}

/** The whole object for `POST /meta/objects`. */
export function toObjectDoc(d: Doc): ObjectDef {
  const nameField = d.name_field && d.fields.some((f) => f.api_name === d.name_field)
    ? d.name_field : d.fields.find((f) => f.type === 'text')?.api_name;
  return {
    schema: 'weft.object/1', api_name: d.api_name, label: d.label,
    plural_label: d.plural_label ?? d.label, name_field: nameField, fields: d.fields.map(toFieldDoc),
  };
}

/** Changed keys of an existing field as a merge patch (removed keys become null). */
export function fieldPatch(before: FieldDef, after: DField): Record<string, unknown> | null {
  const a = toFieldDoc(after) as unknown as Record<string, unknown>;
  const b = { ...(before as unknown as Record<string, unknown>) };
  delete b.id; delete b.deleted_at; delete b.locked_by_job;
  const patch: Record<string, unknown> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (k === 'api_name' || k === 'type') continue;
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) patch[k] = a[k] === undefined ? null : a[k];
  }
  return Object.keys(patch).length ? patch : null;
}

/**
 * Server problems of a whole-object publish, keyed by field uid ('' = the object itself).
 * `/fields/3/max_length` → the fourth field, property `max_length`.
 */
export function problemsByField(doc: Doc, problems: Problem[], prefix?: { uid: string }): Record<string, Problem[]> {
  const out: Record<string, Problem[]> = {};
  for (const p of problems) {
    let uid = '';
    let path = p.path;
    if (prefix) { uid = prefix.uid; }
    else {
      const m = /^\/fields\/(\d+)(\/.*)?$/.exec(p.path);
      if (m) { uid = doc.fields[Number(m[1])]?.uid ?? ''; path = m[2] ?? ''; }
    }
    (out[uid] ??= []).push({ ...p, path });
  }
  return out;
}
