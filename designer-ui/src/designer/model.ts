// The form designer's state: an object definition being edited, with undo/redo. Pure functions,
// so every edit (add, move, change, remove) is tested without a browser.
import type { FieldDef, FieldType, Filter, FormLayout, Label, ObjectDef, Problem } from '../lib/types';

export interface DField extends FieldDef {
  uid: string; published?: boolean; /** section key */ section: string;
  /** Display condition, saved in the layout (not in the field document). */
  visible_when?: Filter | null;
}

/** A section of the form being designed; its fields are those whose `section` is its key. */
export interface DSection { key: string; label: Label; columns: number; collapsed?: boolean; visible_when?: Filter | null }

export interface Doc {
  api_name: string;
  label: Label;
  plural_label?: Label;
  name_field?: string;
  /** Invariant: fields are grouped by section, in section order (see `normalize`). */
  fields: DField[];
  sections: DSection[];
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

export const MAIN_SECTION: DSection = { key: 'main', label: { zh: '基本信息', en: 'Details' }, columns: 2 };

export function emptyDoc(): Doc {
  return { api_name: '', label: { zh: '', en: '' }, fields: [], sections: [{ ...MAIN_SECTION }], isNew: true };
}

/** Fields grouped by section in section order, keeping their order within a section; a field
 * whose section is gone joins the last section. */
export function normalize(d: Doc): Doc {
  const keys = d.sections.map((x) => x.key);
  const last = keys[keys.length - 1];
  const fields = d.fields.map((f) => (keys.includes(f.section) ? f : { ...f, section: last }));
  const idx = (f: DField) => keys.indexOf(f.section);
  const sorted = fields.map((f, i) => ({ f, i })).sort((a, b) => idx(a.f) - idx(b.f) || a.i - b.i).map((x) => x.f);
  return { ...d, fields: sorted };
}

/** The layout document saved with the object. */
export function toLayout(d: Doc): FormLayout {
  const conds: Record<string, Filter> = {};
  for (const f of d.fields) if (f.visible_when) conds[f.api_name] = f.visible_when;
  return {
    sections: d.sections.map((x) => ({
      key: x.key, label: x.label, columns: x.columns, ...(x.collapsed ? { collapsed: true } : {}),
      fields: d.fields.filter((f) => f.section === x.key).map((f) => f.api_name),
      ...(x.visible_when ? { visible_when: x.visible_when } : {}),
    })),
    ...(Object.keys(conds).length ? { visible_when: conds } : {}),
  };
}

export function fromObject(o: ObjectDef): Doc {
  const sections: DSection[] = (o.layout?.sections ?? []).map((x) => ({
    key: x.key, label: { zh: x.label?.zh ?? '', en: x.label?.en ?? '' }, columns: x.columns ?? 2, ...(x.collapsed ? { collapsed: true } : {}),
    ...(x.visible_when ? { visible_when: x.visible_when } : {}),
  }));
  if (!sections.length) sections.push({ ...MAIN_SECTION });
  const home = new Map<string, string>();
  for (const x of o.layout?.sections ?? []) for (const n of x.fields) if (!home.has(n)) home.set(n, x.key);
  const live = o.fields.filter((f) => !f.deleted_at);
  // Within a section, the layout's order; fields it does not place follow in field order.
  const pos = new Map<string, number>();
  for (const x of o.layout?.sections ?? []) x.fields.forEach((n, i) => pos.set(n, i));
  const ordered = live.map((f, i) => ({ f, i, p: pos.get(f.api_name) ?? 1e6 + i })).sort((a, b) => a.p - b.p).map((x) => x.f);
  return normalize({
    api_name: o.api_name, label: { ...o.label }, plural_label: o.plural_label, name_field: o.name_field, isNew: false, sections,
    fields: ordered.map((f) => ({
      ...f, uid: f.api_name, published: true, section: home.get(f.api_name) ?? sections[sections.length - 1].key,
      ...(o.layout?.visible_when?.[f.api_name] ? { visible_when: o.layout.visible_when[f.api_name] } : {}),
    })),
  });
}

export function init(doc: Doc = emptyDoc()): DesignerState {
  return { past: [], present: doc, future: [], selected: null, seq: doc.fields.length };
}

/** A new field of `type` with the options the server requires filled in. */
export function newField(type: FieldType, n: number, targets: string[], section = 'main'): DField {
  const p = PALETTE.find((x) => x.type === type)!;
  const f: DField = {
    uid: `new_${n}`, api_name: `${type}_${n}`, type, section,
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
  | { t: 'add'; type: FieldType; index?: number; targets?: string[]; section?: string }
  | { t: 'move'; from: number; to: number }
  | { t: 'toSection'; uid: string; section: string }
  | { t: 'addSection' }
  | { t: 'updateSection'; key: string; patch: Partial<Omit<DSection, 'key'>> }
  | { t: 'removeSection'; key: string }
  | { t: 'moveSection'; key: string; delta: number }
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
      // Dropped on a field: before it, in its section; else at the end of the given (or last) section.
      const at = a.index !== undefined ? d.fields[a.index] : undefined;
      const section = at?.section ?? (d.sections.some((x) => x.key === a.section) ? a.section! : d.sections[d.sections.length - 1].key);
      const f = newField(a.type, n, a.targets ?? [], section);
      const fields = [...d.fields];
      if (at) fields.splice(a.index!, 0, f);
      else fields.push(f);
      return edit(s, normalize({ ...d, fields }), f.uid, Math.max(seq, n));
    }
    case 'move': {
      if (a.from === a.to || a.from < 0 || a.to < 0 || a.from >= d.fields.length || a.to >= d.fields.length) return s;
      const fields = [...d.fields];
      const target = fields[a.to].section;
      if (Math.abs(a.from - a.to) === 1 && fields[a.from].section !== target) {
        // One step over a section boundary: the field changes section and keeps its place.
        fields[a.from] = { ...fields[a.from], section: target };
        return edit(s, { ...d, fields });
      }
      const [f] = fields.splice(a.from, 1);
      fields.splice(a.to, 0, { ...f, section: target });
      return edit(s, normalize({ ...d, fields }));
    }
    case 'toSection': {
      const f = d.fields.find((x) => x.uid === a.uid);
      if (!f || f.section === a.section || !d.sections.some((x) => x.key === a.section)) return s;
      const fields = [...d.fields.filter((x) => x.uid !== a.uid), { ...f, section: a.section }];
      return edit(s, normalize({ ...d, fields }));
    }
    case 'addSection': {
      let n = d.sections.length + 1;
      while (d.sections.some((x) => x.key === `section_${n}`)) n++;
      const sec: DSection = { key: `section_${n}`, label: { zh: `分组${n}`, en: `Section ${n}` }, columns: 2 };
      return edit(s, { ...d, sections: [...d.sections, sec] });
    }
    case 'updateSection': {
      const sections = d.sections.map((x) => (x.key === a.key ? { ...x, ...a.patch } : x));
      return edit(s, { ...d, sections });
    }
    case 'removeSection': {
      const i = d.sections.findIndex((x) => x.key === a.key);
      if (i < 0 || d.sections.length < 2) return s;
      // Its fields join the section before it (or after it, for the first).
      const heir = d.sections[i === 0 ? 1 : i - 1].key;
      const sections = d.sections.filter((x) => x.key !== a.key);
      const fields = d.fields.map((f) => (f.section === a.key ? { ...f, section: heir } : f));
      return edit(s, normalize({ ...d, sections, fields }));
    }
    case 'moveSection': {
      const i = d.sections.findIndex((x) => x.key === a.key);
      const j = i + a.delta;
      if (i < 0 || j < 0 || j >= d.sections.length) return s;
      const sections = [...d.sections];
      const [x] = sections.splice(i, 1);
      sections.splice(j, 0, x);
      return edit(s, normalize({ ...d, sections }));
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
  const { uid: _u, published: _p, id: _id, section: _s, visible_when: _v, ...rest } = f;
  void _u; void _p; void _id; void _s; void _v;
  return rest;
}

/** The whole object for `POST /meta/objects`. */
export function toObjectDoc(d: Doc): ObjectDef {
  const nameField = d.name_field && d.fields.some((f) => f.api_name === d.name_field)
    ? d.name_field : d.fields.find((f) => f.type === 'text')?.api_name;
  return {
    schema: 'weft.object/1', api_name: d.api_name, label: d.label,
    plural_label: d.plural_label ?? d.label, name_field: nameField, fields: d.fields.map(toFieldDoc), layout: toLayout(d),
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
