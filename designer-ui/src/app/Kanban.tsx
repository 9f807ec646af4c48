import { useEffect, useMemo, useState } from 'react';
import { Alert, App, Select, Space, Spin, Typography } from 'antd';
import { DndContext, KeyboardSensor, PointerSensor, useDraggable, useDroppable, useSensor, useSensors } from '@dnd-kit/core';
import type { DragEndEvent } from '@dnd-kit/core';
import { ApiError, api } from '../lib/api';
import { lbl, t } from '../lib/i18n';
import type { FieldDef, Filter, ObjectDef, RecordData } from '../lib/types';
import { accessOf, permsOf, useApp } from './ctx';
import { FieldValue, liveFields, titleOf } from './fields';

const NONE = '__none__';

/**
 * Records grouped by a single-select field; dragging a card writes the new value (server rules
 * apply). A saved view brings its filter and group field; a changed group field is reported.
 */
export default function Kanban({ object, filter, groupField, onGroupField }: {
  object: string; filter?: Filter | null; groupField?: string | null; onGroupField?: (f: string) => void;
}) {
  const { objects, session } = useApp();
  const { message } = App.useApp();
  const obj = objects[object];
  const perms = permsOf(session, object);
  const isAdmin = session.permissions.is_admin;
  const selects = liveFields(obj).filter((f) => f.type === 'single_select' && accessOf(perms, f, isAdmin) !== 'hidden');
  const fallback = selects.find((f) => f.api_name === 'stage')?.api_name ?? selects[0]?.api_name;
  const valid = (g?: string | null) => (g && selects.some((f) => f.api_name === g) ? g : undefined);
  const [groupBy, setGroupBy] = useState(valid(groupField) ?? fallback);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => { setGroupBy(valid(groupField) ?? fallback); }, [groupField]);
  const filterKey = JSON.stringify(filter ?? null);
  const field = selects.find((f) => f.api_name === groupBy);
  const [rows, setRows] = useState<RecordData[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const canMove = !!field && perms.update && accessOf(perms, field, isAdmin) === 'edit';
  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 5 } }), useSensor(KeyboardSensor));
  const extra = useMemo(() => liveFields(obj).filter((f) => ['currency', 'date', 'lookup'].includes(f.type) && accessOf(perms, f, isAdmin) !== 'hidden').slice(0, 2), [obj, perms, isAdmin]);

  useEffect(() => {
    if (!groupBy) return;
    setRows(null);
    api.query(object, { filter: filter ?? undefined, limit: 200, expand: extra.filter((f) => f.type === 'lookup').map((f) => f.api_name) })
      .then((p) => setRows(p.records)).catch((e) => setError(String(e.message ?? e)));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [object, groupBy, extra, filterKey]);

  if (!field) return <Alert type="info" title={t('noSelect')} />;
  if (error) return <Alert type="error" title={error} />;
  if (!rows) return <Spin />;

  const onDragEnd = async (e: DragEndEvent) => {
    if (!e.over) return;
    const to = String(e.over.id) === NONE ? null : String(e.over.id);
    const rec = rows.find((r) => r.id === e.active.id);
    if (!rec || (rec[field.api_name] ?? null) === to) return;
    const before = rows;
    setRows(rows.map((r) => (r.id === rec.id ? { ...r, [field.api_name]: to } : r)));
    try {
      const out = await api.update(object, rec.id, { [field.api_name]: to }, rec.version);
      setRows((rs) => (rs ?? []).map((r) => (r.id === rec.id ? { ...r, ...out } : r)));
    } catch (err) {
      setRows(before);
      const msg = err instanceof ApiError ? (err.details.map((d) => d.message).join('; ') || err.message) : String(err);
      message.error(`${t('moveFailed')}: ${msg}`);
    }
  };

  const columns = [...(field.options ?? []).map((o) => ({ key: o.value, label: lbl(o.label, o.value), color: o.color })), { key: NONE, label: t('empty'), color: undefined }];
  return (
    <div data-testid="kanban">
      <Space style={{ marginBottom: 8 }}>
        <span>{t('groupBy')}:</span>
        <Select style={{ width: 180 }} value={groupBy} onChange={(v) => { setGroupBy(v); onGroupField?.(v); }} data-testid="kanban-group"
          options={selects.map((f) => ({ value: f.api_name, label: lbl(f.label, f.api_name) }))} />
      </Space>
      <DndContext sensors={sensors} onDragEnd={onDragEnd}>
        <div className="weft-kanban">
          {columns.map((c) => {
            const items = rows.filter((r) => ((r[field.api_name] as string | null) ?? NONE) === c.key);
            if (c.key === NONE && items.length === 0) return null;
            return (
              <Column key={c.key} id={c.key} label={c.label} count={items.length}>
                {items.map((r) => <Card key={r.id} rec={r} obj={obj} extra={extra} object={object} disabled={!canMove} objects={objects} />)}
              </Column>
            );
          })}
        </div>
      </DndContext>
    </div>
  );
}

function Column({ id, label, count, children }: { id: string; label: string; count: number; children: React.ReactNode }) {
  const { setNodeRef, isOver } = useDroppable({ id });
  return (
    <div ref={setNodeRef} className={`weft-kanban-col${isOver ? ' over' : ''}`} data-testid={`kanban-col-${id}`}>
      <h4><span>{label}</span><Typography.Text type="secondary">{count}</Typography.Text></h4>
      {children}
    </div>
  );
}

function Card({ rec, obj, extra, object, disabled, objects }: { rec: RecordData; obj: ObjectDef; extra: FieldDef[]; object: string; disabled: boolean; objects: Record<string, ObjectDef> }) {
  const { attributes, listeners, setNodeRef, transform, isDragging } = useDraggable({ id: rec.id, disabled });
  const style = transform ? { transform: `translate3d(${transform.x}px, ${transform.y}px, 0)`, zIndex: 10, position: 'relative' as const } : undefined;
  return (
    <div ref={setNodeRef} style={style} className={`weft-card${isDragging ? ' dragging' : ''}`} {...listeners} {...attributes} data-testid={`kanban-card-${rec.id}`}>
      <div className="title"><a href={`/o/${object}/${rec.id}`} onPointerDown={(e) => e.stopPropagation()}>{titleOf(obj, rec)}</a></div>
      {extra.map((f) => <div key={f.api_name} className="meta">{lbl(f.label)}: <FieldValue f={f} v={rec[f.api_name]} rec={rec} objects={objects} /></div>)}
    </div>
  );
}
