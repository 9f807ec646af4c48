import { useEffect, useMemo, useState } from 'react';
import { Alert, App, Button, Card, Col, Descriptions, Empty, Popconfirm, Row, Space, Spin, Table, Tag, Timeline, Typography } from 'antd';
import { DeleteOutlined, EditOutlined } from '@ant-design/icons';
import dayjs from 'dayjs';
import { ApiError, api } from '../lib/api';
import type { HistoryEntry, Relationship } from '../lib/api';
import { lbl, t } from '../lib/i18n';
import { navigate } from '../lib/router';
import type { FieldDef, RecordData } from '../lib/types';
import { accessOf, permsOf, useApp } from './ctx';
import { FieldValue, liveFields, titleOf } from './fields';
import { sectionsOf } from '../lib/layout';
import { ManualActions, RecordApprovals, SubmitForApproval } from './Approvals';

const LONG = new Set(['long_text', 'rich_text', 'json', 'address', 'attachment', 'multi_lookup']);

/** Everything about one record: fields in sections, related lists, and the change history. */
export function RecordPage({ object, id }: { object: string; id: string }) {
  const { objects, session } = useApp();
  const { message } = App.useApp();
  const obj = objects[object];
  const perms = permsOf(session, object);
  const fields = useMemo(() => liveFields(obj).filter((f) => accessOf(perms, f, session.permissions.is_admin) !== 'hidden'), [obj, perms, session]);
  const [rec, setRec] = useState<RecordData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [hist, setHist] = useState<HistoryEntry[] | null>(null);
  const [rels, setRels] = useState<Relationship[]>([]);

  useEffect(() => {
    const expand = fields.filter((f) => f.type === 'lookup' || f.type === 'master_detail').map((f) => f.api_name);
    api.getExpanded(object, id, expand).then(setRec).catch((e) => setError(e instanceof ApiError ? e.message : String(e)));
    api.history(object, id).then((h) => setHist(h.changes)).catch(() => setHist([]));
    api.relationships(object, id).then((r) => setRels(r.relationships)).catch(() => setRels([]));
  }, [object, id, fields]);

  if (error) return <Alert type="error" title={error} />;
  if (!rec) return <Spin />;

  const main = fields.filter((f) => !LONG.has(f.type));
  const more = fields.filter((f) => LONG.has(f.type));
  const item = (f: FieldDef) => ({ key: f.api_name, label: lbl(f.label, f.api_name), children: <FieldValue f={f} v={rec[f.api_name]} rec={rec} objects={objects} /> });
  const label = (name: string) => { const f = obj.fields.find((x) => x.api_name === name); return f ? lbl(f.label, name) : name; };

  const Val = ({ name, v }: { name: string; v: unknown }) => {
    const f = obj.fields.find((x) => x.api_name === name);
    if (f && (f.type === 'single_select' || f.type === 'multi_select' || f.type === 'boolean' || f.type === 'currency')) {
      return v == null ? <span>∅</span> : <FieldValue f={f} v={v} objects={objects} />;
    }
    return <span>{show(v)}</span>;
  };
  const remove = async () => {
    try { await api.remove(object, id); navigate(`/o/${object}`, true); } catch (e) { message.error(e instanceof Error ? e.message : String(e)); }
  };

  return (
    <div data-testid="record-page">
      <Space style={{ display: 'flex', justifyContent: 'space-between', marginBottom: 12 }}>
        <Space orientation="vertical" size={0}>
          <Typography.Text type="secondary"><a href={`/o/${object}`}>{lbl(obj.plural_label ?? obj.label, object)}</a></Typography.Text>
          <Typography.Title level={3} style={{ margin: 0 }} data-testid="record-title">{titleOf(obj, rec)}</Typography.Title>
        </Space>
        <Space wrap>
          <SubmitForApproval object={object} id={id} />
          {perms.update && <ManualActions object={object} id={id} />}
          {perms.update && <Button icon={<EditOutlined />} onClick={() => navigate(`/o/${object}/${id}/edit`)} data-testid="record-edit">{t('edit')}</Button>}
          {perms.delete && (
            <Popconfirm title={t('confirmDelete')} onConfirm={remove}>
              <Button danger icon={<DeleteOutlined />} data-testid="record-delete">{t('delete')}</Button>
            </Popconfirm>
          )}
        </Space>
      </Space>
      <Row gutter={16}>
        <Col xs={24} lg={16}>
          {obj.layout?.sections.length ? sectionsOf(fields, obj.layout).map((sec) => (
            <Card key={sec.key} title={lbl(sec.label, sec.key)} size="small" style={{ marginBottom: 16 }} data-testid={`record-section-${sec.key}`}>
              <Descriptions column={{ xs: 1, sm: Math.min(2, sec.columns), lg: sec.columns }} size="small"
                items={sec.fields.map((f) => ({ ...item(f), span: LONG.has(f.type) ? 'filled' as const : undefined }))} />
            </Card>
          )) : (
            <>
              <Card title={t('details')} size="small" style={{ marginBottom: 16 }}>
                <Descriptions column={{ xs: 1, sm: 2 }} size="small" items={main.map(item)} />
              </Card>
              {more.length > 0 && (
                <Card size="small" style={{ marginBottom: 16 }}>
                  <Descriptions column={1} size="small" items={more.map(item)} />
                </Card>
              )}
            </>
          )}
          <Card title={t('system')} size="small" style={{ marginBottom: 16 }}>
            <Descriptions column={{ xs: 1, sm: 3 }} size="small" items={[
              { key: 'created_at', label: t('createdAt'), children: fmt(rec.created_at) },
              { key: 'updated_at', label: t('updatedAt'), children: fmt(rec.updated_at) },
              { key: 'version', label: 'version', children: String(rec.version) },
            ]} />
          </Card>
          {rels.map((r) => <RelatedList key={`${r.object}.${r.field}`} parent={object} id={id} rel={r} />)}
        </Col>
        <Col xs={24} lg={8}>
          <RecordApprovals object={object} id={id} />
          <Card title={t('history')} size="small" data-testid="history">
            {hist === null ? <Spin /> : hist.length === 0 ? <Empty /> : (
              <Timeline items={hist.map((h) => ({
                color: h.op === 'create' ? 'green' : h.op === 'delete' ? 'red' : 'blue',
                content: (
                  <div>
                    <div><Tag>{opLabel(h.op)}</Tag><Typography.Text type="secondary">{fmt(h.at)} · v{h.version}</Typography.Text></div>
                    {Object.entries(h.changes ?? {}).filter(([k]) => !k.startsWith('_')).slice(0, 8).map(([k, v]) => (
                      <div key={k} style={{ fontSize: 12 }}>
                        <b>{label(k)}</b>: <Val name={k} v={change(v).old} /> → <Val name={k} v={change(v).new} />
                      </div>
                    ))}
                  </div>
                ),
              }))} />
            )}
          </Card>
        </Col>
      </Row>
    </div>
  );
}

function RelatedList({ parent, id, rel }: { parent: string; id: string; rel: Relationship }) {
  const { objects } = useApp();
  const child = objects[rel.object];
  const [rows, setRows] = useState<RecordData[] | null>(null);
  useEffect(() => { api.related(parent, id, rel.object, rel.field).then((p) => setRows(p.records)).catch(() => setRows([])); }, [parent, id, rel.object, rel.field]);
  if (!child) return null;
  const cols = liveFields(child).filter((f) => f.api_name !== rel.field && !LONG.has(f.type)).slice(0, 4);
  const f = child.fields.find((x) => x.api_name === rel.field);
  return (
    <Card size="small" style={{ marginBottom: 16 }} data-testid={`related-${rel.object}-${rel.field}`}
      title={<span>{lbl(rel.label ?? child.plural_label ?? child.label, rel.object)}{f ? ` · ${lbl(rel.field_label ?? f.label, f.api_name)}` : ''} <Tag>{rel.count}</Tag></span>}>
      {rel.count > 0 && <Table<RecordData> size="small" rowKey="id" pagination={false} loading={rows === null} dataSource={rows ?? []}
        columns={cols.map((c, i) => ({
          key: c.api_name, dataIndex: c.api_name, title: lbl(c.label, c.api_name), ellipsis: true,
          render: (v: unknown, r: RecordData) => (i === 0 ? <a href={`/o/${rel.object}/${r.id}`}>{titleOf(child, r)}</a> : <FieldValue f={c} v={v} rec={r} objects={objects} />),
        }))} />}
    </Card>
  );
}

function fmt(v: unknown): string { return v ? dayjs(String(v)).format('YYYY-MM-DD HH:mm') : '—'; }
function opLabel(op: string): string {
  return ({ create: t('created'), update: t('updated'), delete: t('deleted'), restore: t('restored') } as Record<string, string>)[op] ?? op;
}
function change(v: unknown): { old?: unknown; new?: unknown } {
  if (Array.isArray(v) && v.length === 2) return { old: v[0], new: v[1] };
  if (v && typeof v === 'object' && ('old' in v || 'new' in v)) return v as { old?: unknown; new?: unknown };
  return { new: v };
}
function show(v: unknown): string {
  if (v === undefined || v === null || v === '') return '∅';
  if (typeof v === 'object') { const o = v as { amount?: string }; return o.amount ?? JSON.stringify(v).slice(0, 40); }
  return String(v).slice(0, 40);
}
