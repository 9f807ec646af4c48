// Approving on a phone (how most DingTalk / Feishu users approve): 待我审批 as a list, and one
// task per page with the record's main fields, the timeline in words, a comment and large
// 同意 / 驳回 / 退回 buttons. The same API and the same checks as the desktop drawer.
import { useCallback, useEffect, useState } from 'react';
import { Alert, Button, Empty, Input, Result, Spin, Typography } from 'antd';
import { RightOutlined } from '@ant-design/icons';
import { ApiError, api } from '../lib/api';
import type { FlowInstance, InboxItem, Schemas } from '../lib/api';
import { lbl } from '../lib/i18n';
import { sectionsOf } from '../lib/layout';
import type { RecordData } from '../lib/types';
import { useApp } from '../app/ctx';
import { FieldValue, liveFields, titleOf, useOrgNames } from '../app/fields';
import { RecordTitle, eventText, taskOps, withComment } from '../app/Approvals';

const L = (zh: string, en: string) => lbl({ zh, en });
const when = (s: string) => new Date(s).toLocaleString();

/** 待我审批: the caller's open tasks, newest first. */
export function MobileInbox() {
  const { objects } = useApp();
  const [items, setItems] = useState<InboxItem[] | null>(null);
  useEffect(() => { api.inbox('todo').then((r) => setItems(r.items)).catch(() => setItems([])); }, []);
  if (items === null) return <Spin />;
  if (!items.length) return <Empty description={L('没有待审批的事项', 'Nothing to approve')} data-testid="m-inbox-empty" />;
  return (
    <nav className="m-list" data-testid="m-inbox">
      {items.map((it) => (
        <a key={it.id} href={`/m/inbox/${it.instance}/${it.id}`} className="m-item m-task" data-testid="m-inbox-item">
          <span className="m-grow">
            <b>{lbl(it.flow_name ?? undefined, it.flow)}</b>
            <span className="m-sub">{lbl(objects[it.object]?.label, it.object)} · <RecordTitle object={it.object} id={it.record_id} /></span>
            <span className="m-sub">{when(it.created_at)}</span>
          </span>
          <RightOutlined />
        </a>
      ))}
    </nav>
  );
}

/** One task: what is asked, and the decision. */
export function MobileTask({ instance, task }: { instance: string; task: string }) {
  const { objects } = useApp();
  const [inst, setInst] = useState<FlowInstance | null>(null);
  const [rec, setRec] = useState<RecordData | null>(null);
  const names = useOrgNames();
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const load = useCallback(async () => {
    const i = await api.instance(instance);
    setInst(i);
    const o = objects[i.object];
    const expand = o ? liveFields(o).filter((f) => f.type === 'lookup' || f.type === 'master_detail').map((f) => f.api_name) : [];
    api.getExpanded(i.object, i.record_id, expand).then(setRec).catch(() => setRec(null));
  }, [instance, objects]);
  useEffect(() => { load().catch((e) => setError(e instanceof Error ? e.message : String(e))); }, [load]);
  if (error && !inst) return <Alert type="error" title={error} />;
  if (!inst) return <Spin />;
  const obj = objects[inst.object];
  const open = inst.tasks?.some((t) => t.id === task && t.status === 'open');
  const ops = taskOps(inst, task);
  const act = async (body: Schemas['TaskActionBody'], what: string) => {
    setBusy(true); setError(null);
    try {
      await api.actOnTask(task, withComment(body, comment));
      setDone(what);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally { setBusy(false); }
  };
  if (done) {
    return (
      <Result status="success" title={done} data-testid="m-task-done"
        extra={[<Button key="back" type="primary" block href="/m/inbox" data-testid="m-task-next">{L('返回待办', 'Back to my tasks')}</Button>]} />
    );
  }
  // What the approver decides on: the record's filled-in fields in layout order, at most ten.
  const fields = obj ? liveFields(obj) : [];
  const filled = (v: unknown) => v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0);
  const main = sectionsOf(fields, obj?.layout).flatMap((sec) => sec.fields)
    .filter((f) => f.type !== 'json' && f.type !== 'attachment' && rec && filled(rec[f.api_name])).slice(0, 10);
  return (
    <div data-testid="m-task">
      <div className="m-card">
        <Typography.Title level={5} style={{ marginTop: 0 }}>{obj && rec ? titleOf(obj, rec) : ''}</Typography.Title>
        {rec && main.map((f) => (
          <div key={f.api_name} className="m-field"><span className="m-label">{lbl(f.label, f.api_name)}</span><span><FieldValue f={f} v={rec[f.api_name]} rec={rec} objects={objects} /></span></div>
        ))}
        <a href={`/o/${inst.object}/${inst.record_id}`}>{L('查看完整记录', 'Open the full record')}</a>
      </div>
      <div className="m-card" data-testid="m-timeline">
        {(inst.history ?? []).filter((h) => h.event !== 'gateway_evaluated').map((h) => (
          <div key={h.seq} className="m-event">
            <b>{eventText(h.event, h.data)}</b>{h.actor && <span> · {names.get(h.actor) ?? h.actor.slice(0, 8)}</span>}
            <div className="m-sub">{when(h.at)}{typeof h.data?.comment === 'string' && h.data.comment ? ` · “${h.data.comment}”` : ''}</div>
          </div>
        ))}
      </div>
      {error && <Alert type="error" title={error} style={{ margin: '12px 0' }} data-testid="m-task-error" />}
      {open ? (
        <>
          <Input.TextArea rows={3} value={comment} onChange={(e) => setComment(e.target.value)} placeholder={L('审批意见（可选）', 'Comment (optional)')}
            style={{ marginTop: 12, fontSize: 16 }} data-testid="m-comment" />
          <footer className="m-savebar m-decide">
            <Button danger block loading={busy} onClick={() => act({ action: 'reject' }, L('已驳回', 'Rejected'))} data-testid="m-reject">{L('驳回', 'Reject')}</Button>
            {ops.returnTo.length > 0 && (
              <Button block loading={busy} onClick={() => act({ action: 'return', to_node: ops.returnTo[0].id }, L('已退回', 'Returned'))} data-testid="m-return">
                {L(`退回${ops.returnTo[0].name}`, `Return to ${ops.returnTo[0].name}`)}
              </Button>
            )}
            <Button type="primary" block loading={busy} onClick={() => act({ action: 'approve' }, L('已同意', 'Approved'))} data-testid="m-approve">{L('同意', 'Approve')}</Button>
          </footer>
        </>
      ) : <Alert type="info" title={L('这项审批已处理', 'This task is already decided')} style={{ marginTop: 12 }} />}
    </div>
  );
}
