import { useEffect, useReducer, useState } from 'react';
import { Alert, App, Button, Card, Input, Modal, Segmented, Select, Space, Tag, Tooltip, Typography } from 'antd';
import { ArrowDownOutlined, ArrowUpOutlined, DeleteOutlined, HolderOutlined, PlusOutlined, RedoOutlined, UndoOutlined } from '@ant-design/icons';
import {
  DndContext, DragOverlay, KeyboardSensor, PointerSensor, closestCenter, pointerWithin, useDraggable, useDroppable, useSensor, useSensors,
} from '@dnd-kit/core';
import type { CollisionDetection, DragEndEvent, DragStartEvent } from '@dnd-kit/core';
import { SortableContext, rectSortingStrategy, sortableKeyboardCoordinates, useSortable } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { ApiError, api } from '../lib/api';
import type { RuleRow, Schemas } from '../lib/api';
import { lbl, t as tt, useLang } from '../lib/i18n';
import { navigate, useLocation } from '../lib/router';
import type { FieldType, ObjectDef, Problem } from '../lib/types';
import { useApp } from '../app/ctx';
import { GeneratedForm } from '../app/GeneratedForm';
import { PALETTE, fieldPatch, fromObject, init, problemsByField, reduce, toFieldDoc, toLayout, toObjectDoc } from './model';
import type { Action, DField, DSection } from './model';
import { WIDE, clampCols } from '../lib/layout';
import { PropertyPanel } from './PropertyPanel';
import { ConditionButton } from './Conditions';

const L = (zh: string, en: string) => lbl({ zh, en });

/**
 * Where a drop lands: under the pointer, the innermost target (a field, else the section's
 * empty space, else the canvas: the end of the last section). Keyboard drags have no pointer
 * and use the closest centre.
 */
const collide: CollisionDetection = (args) => {
  const within = pointerWithin(args);
  if (!within.length) return closestCenter(args);
  const id = (c: { id: unknown }) => String(c.id);
  const field = within.find((c) => id(c) !== 'canvas' && !id(c).startsWith('section:'));
  return [field ?? within.find((c) => id(c).startsWith('section:')) ?? within[0]];
};

/**
 * The form designer: palette → canvas by drag and drop (or click / Enter), reorder by drag or
 * Alt+↑/↓, a property panel, a live preview, undo/redo, and publish through the metadata API.
 */
export default function Designer() {
  useLang();
  const { objects, order, reloadObjects } = useApp();
  const { message } = App.useApp();
  const loc = useLocation();
  const objName = loc.path.split('/')[2];
  const [s, dispatch] = useReducer(reduce, undefined, () => init(objName && objects[objName] ? fromObject(objects[objName]) : undefined));
  const [mode, setMode] = useState<'design' | 'preview' | 'mobile'>('design');
  const [problems, setProblems] = useState<Record<string, Problem[]>>({});
  const [busy, setBusy] = useState(false);
  const [dragging, setDragging] = useState<string | null>(null);
  const [preview, setPreview] = useState<Record<string, unknown>>({});
  // The tenant's rules, to list the conditional rules of the selected field.
  const [fieldRules, setFieldRules] = useState<RuleRow[]>([]);
  useEffect(() => { api.rules().then((r) => setFieldRules(r.rules)).catch(() => setFieldRules([])); }, [objName]);
  const doc = s.present;
  const sel = doc.fields.find((f) => f.uid === s.selected) ?? null;
  const targets = order;

  useEffect(() => {
    dispatch({ t: 'load', doc: objName && objects[objName] ? fromObject(objects[objName]) : init().present });
    setProblems({});
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [objName]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const el = e.target as HTMLElement;
      const typing = el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.isContentEditable;
      if ((e.ctrlKey || e.metaKey) && !typing && e.key.toLowerCase() === 'z') { e.preventDefault(); dispatch({ t: e.shiftKey ? 'redo' : 'undo' }); }
      if ((e.ctrlKey || e.metaKey) && !typing && e.key.toLowerCase() === 'y') { e.preventDefault(); dispatch({ t: 'redo' }); }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 4 } }),
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }),
  );

  const onDragStart = (e: DragStartEvent) => setDragging(String(e.active.id));
  const onDragEnd = (e: DragEndEvent) => {
    setDragging(null);
    const id = String(e.active.id);
    const over = e.over ? String(e.over.id) : null;
    if (!over) return;
    const overIdx = doc.fields.findIndex((f) => f.uid === over);
    const overSection = over.startsWith('section:') ? over.slice('section:'.length) : undefined;
    if (id.startsWith('palette:')) {
      const type = id.slice('palette:'.length) as FieldType;
      dispatch({ t: 'add', type, index: overIdx >= 0 ? overIdx : undefined, targets, section: overSection });
      return;
    }
    const from = doc.fields.findIndex((f) => f.uid === id);
    if (from >= 0 && overIdx >= 0 && from !== overIdx) dispatch({ t: 'move', from, to: overIdx });
    else if (from >= 0 && overSection) dispatch({ t: 'toSection', uid: id, section: overSection });
  };

  const publish = async () => {
    setBusy(true); setProblems({});
    try {
      if (doc.isNew) {
        await api.createObject(toObjectDoc(doc));
      } else {
        const cur = objects[doc.api_name];
        const errs: Record<string, Problem[]> = {};
        const o = cur;
        for (const old of o.fields.filter((f) => !f.deleted_at)) {
          if (!doc.fields.some((f) => f.published && f.api_name === old.api_name)) await api.deleteField(doc.api_name, old.api_name);
        }
        for (const f of doc.fields) {
          try {
            if (!f.published) await api.addField(doc.api_name, toFieldDoc(f));
            else {
              const before = o.fields.find((x) => x.api_name === f.api_name);
              const p = before && fieldPatch(before, f);
              if (p) await api.updateField(doc.api_name, f.api_name, p);
            }
          } catch (e) {
            if (e instanceof ApiError && e.details.length) Object.assign(errs, problemsByField(doc, e.details, { uid: f.uid }));
            else throw e;
          }
        }
        if (Object.keys(errs).length) {
          setProblems(errs);
          await reloadObjects();
          message.error(L('部分字段未能发布，请查看标红的字段', 'Some fields were not published; see the marked fields'));
          return;
        }
        // Labels and the layout (sections, columns, the order of fields) in one new version,
        // after the fields it places exist.
        const patch: Schemas['ObjectPatch'] = {};
        if (JSON.stringify(o.label) !== JSON.stringify(doc.label)) patch.label = doc.label;
        const layout = toLayout(doc);
        if (JSON.stringify(o.layout ?? null) !== JSON.stringify(layout)) patch.layout = layout;
        if (Object.keys(patch).length) await api.updateObject(doc.api_name, patch);
      }
      await reloadObjects();
      const fresh = await api.object(doc.api_name);
      dispatch({ t: 'published', doc: fromObject(fresh) });
      message.success(L('已发布', 'Published'));
      if (doc.isNew) navigate(`/designer/${doc.api_name}`, true);
    } catch (e) {
      if (e instanceof ApiError && e.details.length) {
        setProblems(problemsByField(doc, e.details));
        message.error(L('发布失败，请修正标出的问题', 'Publish failed; fix the marked problems'));
      } else message.error(e instanceof Error ? e.message : String(e));
    } finally { setBusy(false); }
  };

  const objProblems = problems[''] ?? [];
  const objErr = (path: string) => objProblems.filter((p) => p.path === path).map((p) => p.message).join('; ') || undefined;
  const moveSel = (delta: number) => {
    if (!sel) return;
    const i = doc.fields.indexOf(sel);
    dispatch({ t: 'move', from: i, to: i + delta });
  };

  return (
    <div data-testid="designer">
      <Space wrap style={{ marginBottom: 12, display: 'flex', justifyContent: 'space-between' }}>
        <Space wrap>
          <Select style={{ width: 220 }} value={objName ?? '__new__'} data-testid="designer-object"
            onChange={(v) => navigate(v === '__new__' ? '/designer' : `/designer/${v}`)}
            options={[{ value: '__new__', label: L('+ 新建对象', '+ New object') }, ...order.map((o) => ({ value: o, label: `${lbl(objects[o].label, o)} (${o})` }))]} />
          <Tooltip title={doc.isNew ? undefined : L('API 名称发布后不可修改', 'The API name cannot change once published')}>
            <Input style={{ width: 160 }} placeholder="api_name" value={doc.api_name} disabled={!doc.isNew} status={objErr('/api_name') ? 'error' : undefined}
              onChange={(e) => dispatch({ t: 'object', patch: { api_name: e.target.value } })} data-testid="object-api-name" />
          </Tooltip>
          <Input style={{ width: 140 }} placeholder={L('名称（中文）', 'Name (zh)')} value={doc.label.zh ?? ''}
            onChange={(e) => dispatch({ t: 'object', patch: { label: { ...doc.label, zh: e.target.value } } })} data-testid="object-label-zh" />
          <Input style={{ width: 140 }} placeholder={L('名称（英文）', 'Name (en)')} value={doc.label.en ?? ''}
            onChange={(e) => dispatch({ t: 'object', patch: { label: { ...doc.label, en: e.target.value } } })} data-testid="object-label-en" />
        </Space>
        <Space wrap>
          <Tooltip title="Ctrl+Z"><Button icon={<UndoOutlined />} disabled={!s.past.length} onClick={() => dispatch({ t: 'undo' })} data-testid="undo">{L('撤销', 'Undo')}</Button></Tooltip>
          <Tooltip title="Ctrl+Shift+Z"><Button icon={<RedoOutlined />} disabled={!s.future.length} onClick={() => dispatch({ t: 'redo' })} data-testid="redo">{L('重做', 'Redo')}</Button></Tooltip>
          <Segmented value={mode} onChange={(v) => setMode(v as typeof mode)} data-testid="designer-mode"
            options={[{ value: 'design', label: L('设计', 'Design') }, { value: 'preview', label: L('预览', 'Preview') }, { value: 'mobile', label: L('手机预览', 'Mobile') }]} />
          <Button type="primary" loading={busy} onClick={publish} disabled={!doc.fields.length} data-testid="publish">{L('发布', 'Publish')}</Button>
        </Space>
      </Space>
      {objProblems.length > 0 && (
        <Alert type="error" style={{ marginBottom: 12 }} data-testid="designer-errors"
          title={objProblems.map((p) => `${p.path || '/'}: ${p.message}`).join('; ')} />
      )}
      <DndContext sensors={sensors} collisionDetection={collide} onDragStart={onDragStart} onDragEnd={onDragEnd} onDragCancel={() => setDragging(null)}>
        <div className="weft-designer">
          <div data-testid="palette">
            <Typography.Text type="secondary">{L('拖动字段到画布，或点击添加', 'Drag a field onto the canvas, or click to add')}</Typography.Text>
            <div style={{ marginTop: 8 }}>
              {PALETTE.map((p) => <PaletteEntry key={p.type} type={p.type} label={lbl(p.label)}
                onAdd={() => dispatch({ t: 'add', type: p.type, targets })} />)}
            </div>
          </div>
          <div>
            {mode === 'design' ? (
              <Canvas fields={doc.fields} sections={doc.sections} dispatch={dispatch} objects={objects} selected={s.selected} problems={problems}
                onSelect={(uid) => dispatch({ t: 'select', uid })}
                onRemove={(uid) => dispatch({ t: 'remove', uid })}
                onKeyMove={(uid, delta) => { const i = doc.fields.findIndex((f) => f.uid === uid); dispatch({ t: 'move', from: i, to: i + delta }); }} />
            ) : (
              <Card size="small" style={{ maxWidth: mode === 'mobile' ? 390 : undefined, margin: mode === 'mobile' ? '0 auto' : undefined }} data-testid="designer-preview"
                title={lbl(doc.label, doc.api_name)}>
                <GeneratedForm fields={doc.fields} values={preview} errors={{}} access={() => 'edit'} objects={objects}
                  layout={toLayout(doc)} columns={mode === 'mobile' ? 1 : undefined} onChange={(n, v) => setPreview((p) => ({ ...p, [n]: v }))} />
              </Card>
            )}
          </div>
          <div data-testid="property-panel">
            {sel ? (
              <PropertyPanel key={sel.uid} field={sel} problems={problems[sel.uid] ?? []} targets={targets} objects={objects}
                onChange={(patch) => {
                  dispatch({ t: 'update', uid: sel.uid, patch });
                  // A property the author changed no longer carries the server's complaint.
                  setProblems((ps) => {
                    const mine = (ps[sel.uid] ?? []).filter((p) => !Object.keys(patch).some((k) => p.path === `/${k}` || p.path.startsWith(`/${k}/`)));
                    return { ...ps, [sel.uid]: mine };
                  });
                }}
                onMove={moveSel}
                sections={doc.sections} section={sel.section}
                others={doc.fields.filter((x) => x.uid !== sel.uid).map(toFieldDoc)}
                object={doc.isNew ? undefined : doc.api_name}
                rules={fieldRules.filter((r) => r.object === doc.api_name && r.doc.field === sel.api_name)}
                onSection={(key) => dispatch({ t: 'toSection', uid: sel.uid, section: key })}
                isNameField={toObjectDoc(doc).name_field === sel.api_name}
                onNameField={() => dispatch({ t: 'object', patch: { name_field: sel.api_name } })} />
            ) : (
              <Typography.Text type="secondary">{L('选择一个字段以编辑属性', 'Select a field to edit its properties')}</Typography.Text>
            )}
          </div>
        </div>
        <DragOverlay>
          {dragging?.startsWith('palette:') ? <div className="weft-palette-item">{lbl(PALETTE.find((p) => `palette:${p.type}` === dragging)?.label)}</div> : null}
        </DragOverlay>
      </DndContext>
    </div>
  );
}

function PaletteEntry({ type, label, onAdd }: { type: FieldType; label: string; onAdd: () => void }) {
  const { attributes, listeners, setNodeRef } = useDraggable({ id: `palette:${type}` });
  return (
    <div ref={setNodeRef} className="weft-palette-item" {...listeners} {...attributes} role="button"
      onClick={onAdd} onKeyDown={(e) => { if (e.key === 'Enter') { e.preventDefault(); onAdd(); } else listeners?.onKeyDown?.(e); }}
      data-testid={`palette-${type}`}>{label} <Typography.Text type="secondary" style={{ fontSize: 11 }}>{type}</Typography.Text></div>
  );
}

function Canvas({ fields, sections, dispatch, objects, selected, problems, onSelect, onRemove, onKeyMove }: {
  fields: DField[]; sections: DSection[]; dispatch: (a: Action) => void; objects: Record<string, ObjectDef>; selected: string | null; problems: Record<string, Problem[]>;
  onSelect: (uid: string) => void; onRemove: (uid: string) => void; onKeyMove: (uid: string, delta: number) => void;
}) {
  const { setNodeRef, isOver } = useDroppable({ id: 'canvas' });
  return (
    <div ref={setNodeRef} className={`weft-canvas${isOver ? ' over' : ''}`} data-testid="canvas">
      <SortableContext items={fields.map((f) => f.uid)} strategy={rectSortingStrategy}>
        {sections.map((sec, i) => (
          <CanvasSection key={sec.key} sec={sec} all={fields} objects={objects} first={i === 0} last={i === sections.length - 1} only={sections.length === 1} dispatch={dispatch}>
            {fields.filter((f) => f.section === sec.key).map((f) => <CanvasField key={f.uid} f={f} wide={WIDE.has(f.type)} selected={selected === f.uid} problems={problems[f.uid]}
              onSelect={() => onSelect(f.uid)} onRemove={() => onRemove(f.uid)} onKeyMove={(d) => onKeyMove(f.uid, d)} />)}
          </CanvasSection>
        ))}
      </SortableContext>
      {fields.length === 0 && <div className="weft-canvas-empty">{L('把左侧的字段拖到这里', 'Drop fields from the palette here')}</div>}
      <Button size="small" type="dashed" icon={<PlusOutlined />} onClick={() => dispatch({ t: 'addSection' })} data-testid="add-section" style={{ marginTop: 8 }}>
        {L('添加分组', 'Add section')}
      </Button>
    </div>
  );
}

/** One section of the canvas: its title, its column count, and its fields in that many columns. */
function CanvasSection({ sec, all, objects, first, last, only, dispatch, children }: {
  sec: DSection; all: DField[]; objects: Record<string, ObjectDef>; first: boolean; last: boolean; only: boolean; dispatch: (a: Action) => void; children: React.ReactNode;
}) {
  const { setNodeRef, isOver } = useDroppable({ id: `section:${sec.key}` });
  const cols = clampCols(sec.columns);
  return (
    <div ref={setNodeRef} className={`weft-canvas-section${isOver ? ' over' : ''}`} data-testid={`section-${sec.key}`}>
      <div className="weft-canvas-section-head">
        <Input size="small" style={{ width: 140 }} value={sec.label.zh ?? ''} placeholder={L('分组名称', 'Section title')} aria-label={L('分组名称（中文）', 'Section title (zh)')}
          onChange={(e) => dispatch({ t: 'updateSection', key: sec.key, patch: { label: { ...sec.label, zh: e.target.value } } })} data-testid={`section-label-zh-${sec.key}`} />
        <Input size="small" style={{ width: 120 }} value={sec.label.en ?? ''} placeholder="Title (en)" aria-label={L('分组名称（英文）', 'Section title (en)')}
          onChange={(e) => dispatch({ t: 'updateSection', key: sec.key, patch: { label: { ...sec.label, en: e.target.value } } })} data-testid={`section-label-en-${sec.key}`} />
        <Tooltip title={L('列数', 'Columns')}>
          <Segmented size="small" value={cols} options={[1, 2, 3, 4]} data-testid={`section-columns-${sec.key}`}
            onChange={(v) => dispatch({ t: 'updateSection', key: sec.key, patch: { columns: Number(v) } })} />
        </Tooltip>
        <Tooltip title={L('默认折叠', 'Folded by default')}>
          <Button size="small" type={sec.collapsed ? 'primary' : 'default'} onClick={() => dispatch({ t: 'updateSection', key: sec.key, patch: { collapsed: !sec.collapsed } })}
            data-testid={`section-collapsed-${sec.key}`}>{L('折叠', 'Fold')}</Button>
        </Tooltip>
        <ConditionButton value={sec.visible_when} fields={all.filter((f) => f.section !== sec.key).map(toFieldDoc)} objects={objects}
          testid={`section-visible-when-${sec.key}`} title={L(`何时显示分组「${lbl(sec.label, sec.key)}」`, `When to show the section "${lbl(sec.label, sec.key)}"`)}
          onChange={(c) => dispatch({ t: 'updateSection', key: sec.key, patch: { visible_when: c } })} />
        <span className="grow" />
        <Button size="small" type="text" icon={<ArrowUpOutlined />} disabled={first} aria-label={L('上移分组', 'Move section up')} onClick={() => dispatch({ t: 'moveSection', key: sec.key, delta: -1 })} />
        <Button size="small" type="text" icon={<ArrowDownOutlined />} disabled={last} aria-label={L('下移分组', 'Move section down')} onClick={() => dispatch({ t: 'moveSection', key: sec.key, delta: 1 })} />
        <Tooltip title={L('删除分组（字段并入相邻分组）', 'Remove the section (its fields join the next one)')}>
          <Button size="small" type="text" danger icon={<DeleteOutlined />} disabled={only} aria-label={L('删除分组', 'Remove section')}
            onClick={() => dispatch({ t: 'removeSection', key: sec.key })} data-testid={`section-remove-${sec.key}`} />
        </Tooltip>
      </div>
      <div className="weft-canvas-grid" style={{ gridTemplateColumns: `repeat(${cols}, minmax(0, 1fr))` }}>
        {children}
      </div>
    </div>
  );
}

function CanvasField({ f, wide, selected, problems, onSelect, onRemove, onKeyMove }: {
  f: DField; wide: boolean; selected: boolean; problems?: Problem[]; onSelect: () => void; onRemove: () => void; onKeyMove: (d: number) => void;
}) {
  const { attributes, listeners, setNodeRef, transform, transition, isDragging } = useSortable({ id: f.uid });
  const style = { transform: CSS.Translate.toString(transform), transition, opacity: isDragging ? 0.5 : 1, gridColumn: wide ? '1 / -1' : undefined };
  const p = PALETTE.find((x) => x.type === f.type);
  return (
    <div ref={setNodeRef} style={style} className={`weft-canvas-field${selected ? ' selected' : ''}${problems?.length ? ' error' : ''}`}
      onClick={onSelect} tabIndex={0} data-testid={`canvas-field-${f.api_name}`}
      onKeyDown={(e) => {
        if (e.altKey && e.key === 'ArrowUp') { e.preventDefault(); onKeyMove(-1); }
        else if (e.altKey && e.key === 'ArrowDown') { e.preventDefault(); onKeyMove(1); }
        else if (e.key === 'Delete' && !f.published) { onRemove(); }
        else if (e.key === 'Enter') onSelect();
      }}>
      <span className="handle" {...listeners} {...attributes} aria-label="drag" data-testid={`handle-${f.api_name}`}><HolderOutlined /></span>
      <div className="grow">
        <div><b>{lbl(f.label, f.api_name)}</b>{f.required && <span style={{ color: '#ff4d4f' }}> *</span>} <Typography.Text type="secondary" code>{f.api_name}</Typography.Text></div>
        {problems?.map((pr, i) => <div key={i} style={{ color: '#ff4d4f', fontSize: 12 }} data-testid="field-problem">{pr.path ? `${pr.path}: ` : ''}{pr.message}</div>)}
      </div>
      <Tag>{lbl(p?.label, f.type)}</Tag>
      {!f.published && <Tag color="blue">{L('未发布', 'draft')}</Tag>}
      <Button size="small" type="text" danger icon={<DeleteOutlined />} aria-label={tt('delete')}
        onClick={(e) => { e.stopPropagation(); if (f.published) confirmRemove(onRemove); else onRemove(); }} />
    </div>
  );
}

function confirmRemove(onOk: () => void) {
  Modal.confirm({ title: L('删除已发布的字段？发布后数据进入回收站。', 'Delete a published field? Its data is kept until purged.'), onOk });
}
