import { useEffect, useReducer, useState } from 'react';
import { Alert, App, Button, Card, Input, Modal, Segmented, Select, Space, Tag, Tooltip, Typography } from 'antd';
import { DeleteOutlined, HolderOutlined, RedoOutlined, UndoOutlined } from '@ant-design/icons';
import {
  DndContext, DragOverlay, KeyboardSensor, PointerSensor, closestCenter, useDraggable, useDroppable, useSensor, useSensors,
} from '@dnd-kit/core';
import type { DragEndEvent, DragStartEvent } from '@dnd-kit/core';
import { SortableContext, sortableKeyboardCoordinates, useSortable, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { ApiError, api } from '../lib/api';
import { lbl, t as tt, useLang } from '../lib/i18n';
import { navigate, useLocation } from '../lib/router';
import type { FieldType, Problem } from '../lib/types';
import { useApp } from '../app/ctx';
import { GeneratedForm } from '../app/GeneratedForm';
import { PALETTE, fieldPatch, fromObject, init, problemsByField, reduce, toFieldDoc, toObjectDoc } from './model';
import type { DField } from './model';
import { PropertyPanel } from './PropertyPanel';

const L = (zh: string, en: string) => lbl({ zh, en });

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
    if (id.startsWith('palette:')) {
      const type = id.slice('palette:'.length) as FieldType;
      dispatch({ t: 'add', type, index: overIdx >= 0 ? overIdx : undefined, targets });
      return;
    }
    const from = doc.fields.findIndex((f) => f.uid === id);
    if (from >= 0 && overIdx >= 0 && from !== overIdx) dispatch({ t: 'move', from, to: overIdx });
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
        if (JSON.stringify(o.label) !== JSON.stringify(doc.label)) await api.updateObject(doc.api_name, { label: doc.label });
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
      {!doc.isNew && (
        <Typography.Paragraph type="secondary" style={{ marginTop: -4 }}>
          {L('已发布字段的新顺序暂不保存：服务器尚无表单布局接口。', 'A new order of published fields is not saved yet: the server has no form-layout API.')}
        </Typography.Paragraph>
      )}
      <DndContext sensors={sensors} collisionDetection={closestCenter} onDragStart={onDragStart} onDragEnd={onDragEnd} onDragCancel={() => setDragging(null)}>
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
              <Canvas fields={doc.fields} selected={s.selected} problems={problems}
                onSelect={(uid) => dispatch({ t: 'select', uid })}
                onRemove={(uid) => dispatch({ t: 'remove', uid })}
                onKeyMove={(uid, delta) => { const i = doc.fields.findIndex((f) => f.uid === uid); dispatch({ t: 'move', from: i, to: i + delta }); }} />
            ) : (
              <Card size="small" style={{ maxWidth: mode === 'mobile' ? 390 : undefined, margin: mode === 'mobile' ? '0 auto' : undefined }} data-testid="designer-preview"
                title={lbl(doc.label, doc.api_name)}>
                <GeneratedForm fields={doc.fields} values={preview} errors={{}} access={() => 'edit'} objects={objects}
                  columns={mode === 'mobile' ? 1 : 2} onChange={(n, v) => setPreview((p) => ({ ...p, [n]: v }))} />
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

function Canvas({ fields, selected, problems, onSelect, onRemove, onKeyMove }: {
  fields: DField[]; selected: string | null; problems: Record<string, Problem[]>;
  onSelect: (uid: string) => void; onRemove: (uid: string) => void; onKeyMove: (uid: string, delta: number) => void;
}) {
  const { setNodeRef, isOver } = useDroppable({ id: 'canvas' });
  return (
    <div ref={setNodeRef} className={`weft-canvas${isOver ? ' over' : ''}`} data-testid="canvas">
      <SortableContext items={fields.map((f) => f.uid)} strategy={verticalListSortingStrategy}>
        {fields.map((f) => <CanvasField key={f.uid} f={f} selected={selected === f.uid} problems={problems[f.uid]}
          onSelect={() => onSelect(f.uid)} onRemove={() => onRemove(f.uid)} onKeyMove={(d) => onKeyMove(f.uid, d)} />)}
      </SortableContext>
      {fields.length === 0 && <div className="weft-canvas-empty">{L('把左侧的字段拖到这里', 'Drop fields from the palette here')}</div>}
    </div>
  );
}

function CanvasField({ f, selected, problems, onSelect, onRemove, onKeyMove }: {
  f: DField; selected: boolean; problems?: Problem[]; onSelect: () => void; onRemove: () => void; onKeyMove: (d: number) => void;
}) {
  const { attributes, listeners, setNodeRef, transform, transition, isDragging } = useSortable({ id: f.uid });
  const style = { transform: CSS.Transform.toString(transform), transition, opacity: isDragging ? 0.5 : 1 };
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
