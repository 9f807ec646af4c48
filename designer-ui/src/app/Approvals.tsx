// Approvals for end users: submit a record to a published flow (提交审批), the inbox with
// 待我审批 / 已办 / 我发起的 / 抄送我的, a task drawer to approve, reject, return, transfer and
// comment (the server decides what is allowed and answers 409/422 otherwise), the in-app
// notifications bell, and a record's manual rule actions.
import { Suspense, lazy, useCallback, useEffect, useState } from 'react';
import { App, Button, Card, Drawer, Dropdown, Empty, Input, List, Segmented, Select, Space, Spin, Tabs, Tag, Timeline, Typography } from 'antd';
import dayjs from 'dayjs';
import { ApiError, api } from '../lib/api';
import type { FlowInstance, InboxItem, Schemas } from '../lib/api';
import { lbl } from '../lib/i18n';
import { navigate } from '../lib/router';
import { useApp } from './ctx';
import { loadUsers, titleOf, useOrgNames } from './fields';

// The read-only approval tree of an instance (and the flow editor's CSS): loaded on first view.
const InstanceTree = lazy(() => import('../flow/InstanceTree'));

const L = (zh: string, en: string) => lbl({ zh, en });
const fmt = (v?: string | null) => (v ? dayjs(v).format('YYYY-MM-DD HH:mm') : '—');
const errText = (e: unknown) => (e instanceof ApiError ? (e.details[0]?.message ?? e.message) : String(e));

const STATUS: Record<string, [string, string, string]> = {
  running: ['审批中', 'In approval', 'processing'],
  approved: ['已通过', 'Approved', 'success'],
  rejected: ['已驳回', 'Rejected', 'error'],
  withdrawn: ['已撤回', 'Withdrawn', 'default'],
  terminated: ['已终止', 'Terminated', 'default'],
  incident: ['异常', 'Incident', 'warning'],
};

export function StatusTag({ status }: { status: string }) {
  const s = STATUS[status] ?? [status, status, 'default'];
  return <Tag color={s[2]} data-testid="flow-status">{L(s[0], s[1])}</Tag>;
}

/** The record page's 提交审批 button: one entry per published flow of the object. */
export function SubmitForApproval({ object, id }: { object: string; id: string }) {
  const { message } = App.useApp();
  const [flows, setFlows] = useState<Schemas['StartableFlow'][]>([]);
  const [busy, setBusy] = useState(false);
  useEffect(() => { api.startable(object).then((r) => setFlows(r.flows)).catch(() => setFlows([])); }, [object]);
  if (!flows.length) return null;
  const submit = async (key: string) => {
    setBusy(true);
    try {
      const inst = await api.startFlow(key, id);
      message.success(L('已提交审批', 'Submitted for approval'));
      navigate(`/inbox?box=started&instance=${inst.id}`);
    } catch (e) {
      message.error(errText(e));
    } finally {
      setBusy(false);
    }
  };
  if (flows.length === 1) {
    return <Button type="primary" loading={busy} onClick={() => submit(flows[0].key)} data-testid="submit-approval">{L('提交审批', 'Submit for approval')}</Button>;
  }
  return (
    <Dropdown trigger={['click']} menu={{ items: flows.map((f) => ({ key: f.key, label: lbl(f.name, f.key), onClick: () => submit(f.key) })) }}>
      <Button type="primary" loading={busy} data-testid="submit-approval">{L('提交审批', 'Submit for approval')}</Button>
    </Dropdown>
  );
}

/** Manual rule actions of the object (rules with `on: ["manual"]`), as buttons. */
export function ManualActions({ object, id }: { object: string; id: string }) {
  const { message } = App.useApp();
  const [actions, setActions] = useState<{ rule: string; label: string; allowed: boolean }[]>([]);
  useEffect(() => { api.manualActions(object).then((r) => setActions(r.actions.filter((a) => a.allowed))).catch(() => setActions([])); }, [object]);
  return (
    <>
      {actions.map((a) => (
        <Button key={a.rule} data-testid={`manual-${a.rule}`} onClick={async () => {
          try {
            await api.runManual(object, id, a.rule, `${a.rule}:${id}:${Date.now()}`);
            message.success(L('已执行，稍后生效', 'Queued; it takes effect in a moment'));
          } catch (e) { message.error(errText(e)); }
        }}>{a.label}</Button>
      ))}
    </>
  );
}

type Box = 'todo' | 'done' | 'started' | 'cc';

/** 审批中心: the four boxes, and the drawer of the selected item. */
export function Inbox() {
  const { objects } = useApp();
  const params = new URLSearchParams(typeof location === 'undefined' ? '' : location.search);
  const [box, setBox] = useState<Box>((params.get('box') as Box) || 'todo');
  const [items, setItems] = useState<InboxItem[] | null>(null);
  const [open, setOpen] = useState<{ instance: string; task?: string; name?: InboxItem['flow_name'] } | null>(
    params.get('instance') ? { instance: params.get('instance') as string } : null);
  const load = useCallback(() => { setItems(null); api.inbox(box).then((r) => setItems(r.items)).catch(() => setItems([])); }, [box]);
  useEffect(load, [load]);
  const boxes: [Box, string, string][] = [['todo', '待我审批', 'To approve'], ['done', '我已审批', 'Done'], ['started', '我发起的', 'Submitted by me'], ['cc', '抄送我的', 'CC to me']];
  return (
    <div data-testid="inbox">
      <Typography.Title level={3} style={{ marginTop: 0 }}>{L('审批中心', 'Approvals')}</Typography.Title>
      <Tabs activeKey={box} onChange={(k) => setBox(k as Box)}
        items={boxes.map(([k, zh, en]) => ({ key: k, label: <span data-testid={`box-${k}`}>{L(zh, en)}</span> }))} />
      {items === null ? <Spin /> : items.length === 0 ? <Empty description={L('没有事项', 'Nothing here')} /> : (
        <List<InboxItem> bordered dataSource={items} renderItem={(it) => {
          const o = objects[it.object];
          return (
            <List.Item data-testid="inbox-item" style={{ cursor: 'pointer' }}
              onClick={() => setOpen({ instance: it.instance ?? it.id ?? '', task: box === 'todo' ? it.id : undefined, name: it.flow_name })}
              actions={[<Typography.Text key="at" type="secondary">{fmt(it.created_at)}</Typography.Text>]}>
              <List.Item.Meta
                title={<Space>{lbl(it.flow_name ?? undefined, it.flow)}{it.status && box === 'started' && <StatusTag status={it.status} />}{it.node && <Tag>{it.node}</Tag>}</Space>}
                description={<span>{o ? lbl(o.label, it.object) : it.object} · <a href={`/o/${it.object}/${it.record_id}`} onClick={(e) => e.stopPropagation()}><RecordTitle object={it.object} id={it.record_id} /></a></span>} />
            </List.Item>
          );
        }} />
      )}
      {open && open.instance && <TaskDrawer instance={open.instance} task={open.task} name={open.name} onClose={() => setOpen(null)} onDone={() => { setOpen(null); load(); }} />}
    </div>
  );
}

const titles = new Map<string, Promise<string>>();
/** A record's title (its name field), fetched once per record; the short id while loading. */
export function RecordTitle({ object, id }: { object: string; id: string }) {
  const { objects } = useApp();
  const [title, setTitle] = useState(id.slice(0, 8));
  useEffect(() => {
    const o = objects[object];
    if (!o) return;
    let p = titles.get(id);
    if (!p) { p = api.getExpanded(object, id, []).then((r) => titleOf(o, r)).catch(() => id.slice(0, 8)); titles.set(id, p); }
    let live = true;
    p.then((t) => { if (live) setTitle(t); });
    return () => { live = false; };
  }, [object, id, objects]);
  return <span data-testid="record-title-link">{title}</span>;
}

/** One instance: where it is, who did what, and the caller's actions on their open task. */
const EVENTS: Record<string, [string, string]> = {
  started: ['发起审批', 'Submitted'], gateway_evaluated: ['按条件分支', 'Branch chosen'], task_decided: ['审批', 'Decided'],
  node_decided: ['节点完成', 'Step decided'], completed: ['审批完成', 'Completed'], end_reached: ['流程结束', 'Ended'],
  cc: ['抄送', 'CC sent'], commented: ['评论', 'Comment'], returned: ['退回', 'Returned'], resubmitted: ['重新提交', 'Resubmitted'],
  signer_added: ['加签', 'Signer added'], withdrawn: ['撤回', 'Withdrawn'], urged: ['催办', 'Urged'], cancelled: ['已取消', 'Cancelled'],
  timer_fired: ['定时到达', 'Timer fired'], timeout_auto_decided: ['超时自动处理', 'Decided on timeout'], auto_approved: ['自动通过', 'Auto-approved'],
  empty_assignees: ['审批人为空', 'No approver found'], join_fired: ['分支汇合', 'Branches joined'], record_changed: ['记录已修改', 'Record changed'],
  action_done: ['动作完成', 'Action done'], action_failed: ['动作失败', 'Action failed'], action_retry: ['动作重试', 'Action retried'],
  incident_retry: ['异常重试', 'Incident retried'], incident_skip: ['异常跳过', 'Incident skipped'], implicit_reject_end: ['驳回结束', 'Rejected'],
};
const DECISIONS: Record<string, [string, string]> = {
  approve: ['同意', 'approved'], reject: ['驳回', 'rejected'], transfer: ['转交', 'transferred'], delegate: ['委托', 'delegated'],
};

/** A timeline event in words: 审批 · 同意 rather than `task_decided`. */
export function eventText(event: string, data?: Record<string, unknown> | null): string {
  const e = EVENTS[event];
  const base = e ? L(e[0], e[1]) : event;
  const d = typeof data?.decision === 'string' ? DECISIONS[data.decision] : undefined;
  return d ? `${base} · ${L(d[0], d[1])}` : base;
}

type SignerPlace = Schemas['SignerPlace'];
const PLACES: readonly SignerPlace[] = ['before', 'after', 'parallel'];
/** The strings of a JSON array (`ops` is open JSON in the document). */
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * What the task's node offers, from the instance's graph: 退回 targets the instance has
 * already passed through, the 加签 positions, and whether 转交 is allowed (it is unless the
 * node says otherwise). Operations the node does not offer are not shown; the server still
 * checks every one.
 */
export function taskOps(inst: Pick<FlowInstance, 'graph' | 'tasks'>, taskId?: string): { returnTo: { id: string; name: string }[]; addSigner: SignerPlace[]; transfer: boolean } {
  const nodes = inst.graph?.nodes ?? [];
  const t = inst.tasks?.find((x) => x.id === taskId);
  const node = nodes.find((n) => n.id === t?.node);
  const ops = node?.ops ?? {};
  const returnTo = strings(ops.return_to)
    .map((id) => nodes.find((n) => n.id === id))
    .filter((n): n is (typeof nodes)[number] => !!n && n.visited)
    .map((n) => ({ id: n.id, name: n.id === 'start' ? L('发起人', 'Initiator') : lbl(n.name, n.id) }));
  const addSigner = strings(ops.add_signer).filter((p): p is SignerPlace => (PLACES as string[]).includes(p));
  return { returnTo, addSigner, transfer: ops.transfer !== false };
}

/** A task action with the approver's comment, on the actions that carry one. */
export function withComment(body: Schemas['TaskActionBody'], comment: string): Schemas['TaskActionBody'] {
  if (!comment || body.action === 'delegate' || body.action === 'resubmit' || body.action === 'comment') return body;
  return { ...body, comment };
}

function TaskDrawer({ instance, task, name, onClose, onDone, tab = 'detail' }: {
  instance: string; task?: string; name?: InboxItem['flow_name']; onClose: () => void; onDone: () => void; tab?: 'detail' | 'flow';
}) {
  const { session } = useApp();
  const { message } = App.useApp();
  const [inst, setInst] = useState<FlowInstance | null>(null);
  const [comment, setComment] = useState('');
  const [transferTo, setTransferTo] = useState<string | undefined>();
  const [signers, setSigners] = useState<string[]>([]);
  const [signPos, setSignPos] = useState<'before' | 'after' | 'parallel'>('before');
  const [returnTo, setReturnTo] = useState<string | undefined>();
  const [users, setUsers] = useState<{ id: string; name: string }[]>([]);
  // Everyone's names, for the timeline (the pickers below leave out the caller).
  const names = useOrgNames();
  const [busy, setBusy] = useState(false);
  useEffect(() => { api.instance(instance).then(setInst).catch((e) => message.error(errText(e))); }, [instance, message]);
  useEffect(() => {
    if (!task) return;
    loadUsers().then((list) => setUsers(list.filter((u) => u.status !== 'disabled' && u.id !== session.user?.id)));
  }, [task, session]);
  const act = async (body: Schemas['TaskActionBody']) => {
    if (!task) return;
    setBusy(true);
    try {
      await api.actOnTask(task, withComment(body, comment));
      message.success(L('已提交', 'Done'));
      onDone();
    } catch (e) {
      message.error(errText(e));
    } finally {
      setBusy(false);
    }
  };
  const mine = inst?.initiator === session.user?.id && inst?.status === 'running';
  const ops = inst ? taskOps(inst, task) : { returnTo: [], addSigner: [], transfer: true };
  const signPosition = ops.addSigner.includes(signPos) ? signPos : ops.addSigner[0];
  return (
    <Drawer open onClose={onClose} size="large" title={inst ? <Space>{lbl(name ?? undefined, inst.flow)}<StatusTag status={inst.status} /></Space> : L('审批', 'Approval')} data-testid="task-drawer">
      {!inst ? <Spin /> : (
        <Tabs defaultActiveKey={tab} items={[{ key: 'detail', label: <span data-testid="tab-detail">{L('审批详情', 'Details')}</span>, children: (
        <Space orientation="vertical" style={{ width: '100%' }} size="large">
          <div>
            <a href={`/o/${inst.object}/${inst.record_id}`} data-testid="drawer-record">{L('查看记录', 'Open the record')}</a>
            {inst.positions && inst.positions.length > 0 && <span> · {L('当前节点', 'Now at')}: {inst.positions.map((p) => <Tag key={p}>{p}</Tag>)}</span>}
          </div>
          {task && (
            <Space orientation="vertical" style={{ width: '100%' }}>
              <Input.TextArea rows={2} value={comment} onChange={(e) => setComment(e.target.value)} placeholder={L('审批意见（可选）', 'Comment (optional)')} data-testid="task-comment" />
              <Space wrap>
                <Button type="primary" loading={busy} onClick={() => act({ action: 'approve' })} data-testid="task-approve">{L('同意', 'Approve')}</Button>
                <Button danger loading={busy} onClick={() => act({ action: 'reject' })} data-testid="task-reject">{L('驳回', 'Reject')}</Button>
                {ops.returnTo.length > 0 && (
                  <Space.Compact>
                    <Select style={{ width: 150 }} value={returnTo ?? ops.returnTo[0].id} onChange={setReturnTo} data-testid="task-return-to"
                      options={ops.returnTo.map((n) => ({ value: n.id, label: n.name }))} />
                    <Button loading={busy} onClick={() => act({ action: 'return', to_node: returnTo ?? ops.returnTo[0].id })} data-testid="task-return">{L('退回', 'Return')}</Button>
                  </Space.Compact>
                )}
                <Button loading={busy} disabled={!comment} onClick={() => act({ action: 'comment', text: comment })} data-testid="task-comment-send">{L('评论', 'Comment')}</Button>
              </Space>
              {ops.transfer && <Space>
                <Select style={{ width: 200 }} placeholder={L('转交给…', 'Transfer to…')} value={transferTo} onChange={setTransferTo}
                  options={users.map((u) => ({ value: u.id, label: u.name }))} showSearch optionFilterProp="label" data-testid="task-transfer-to" />
                <Button disabled={!transferTo} loading={busy} onClick={() => transferTo && act({ action: 'transfer', to: transferTo })} data-testid="task-transfer">{L('转交', 'Transfer')}</Button>
              </Space>}
              {signPosition && <Space wrap>
                <Select mode="multiple" style={{ width: 260 }} placeholder={L('加签给…', 'Add signers…')} value={signers} onChange={setSigners}
                  options={users.map((u) => ({ value: u.id, label: u.name }))} showSearch optionFilterProp="label" data-testid="task-signers" />
                <Segmented value={signPosition} onChange={(v) => setSignPos(v as typeof signPos)} data-testid="task-sign-position"
                  options={([['before', '前加签', 'Before me'], ['after', '后加签', 'After me'], ['parallel', '并加签', 'Alongside']] as const)
                    .filter(([v]) => ops.addSigner.includes(v)).map(([v, zh, en]) => ({ value: v, label: L(zh, en) }))} />
                <Button disabled={!signers.length} loading={busy} onClick={() => act({ action: 'add_signer', position: signPosition, users: signers })} data-testid="task-add-signer">{L('加签', 'Add signer')}</Button>
              </Space>}
            </Space>
          )}
          {mine && (
            <Space>
              <Button onClick={async () => { try { await api.actOnInstance(inst.id, { action: 'urge' }); message.success(L('已催办', 'Reminder sent')); } catch (e) { message.error(errText(e)); } }} data-testid="instance-urge">{L('催办', 'Urge')}</Button>
              <Button onClick={async () => { try { await api.actOnInstance(inst.id, { action: 'withdraw' }); onDone(); } catch (e) { message.error(errText(e)); } }} data-testid="instance-withdraw">{L('撤回', 'Withdraw')}</Button>
            </Space>
          )}
          <Timeline data-testid="instance-history" items={(inst.history ?? []).map((h) => ({
            content: (
              <div>
                <Typography.Text strong>{eventText(h.event, h.data)}</Typography.Text>{h.node && <Tag style={{ marginLeft: 8 }}>{h.node}</Tag>}
                <div>
                  {h.actor && <span>{names.get(h.actor) ?? h.actor.slice(0, 8)} · </span>}
                  <Typography.Text type="secondary">{fmt(h.at)}</Typography.Text>
                  {typeof h.data?.comment === 'string' && h.data.comment && <span> · “{h.data.comment}”</span>}
                  {typeof h.data?.text === 'string' && h.data.text && <span> · “{h.data.text}”</span>}
                </div>
              </div>
            ),
          }))} />
        </Space>
        ) }, {
          key: 'flow', label: <span data-testid="tab-flow">{L('流程图', 'Flow')}</span>,
          children: <Suspense fallback={<Spin />}><InstanceTree inst={inst} /></Suspense>,
        }]} />
      )}
    </Drawer>
  );
}

/**
 * The record page's approvals: the instances of this record the user can see (as initiator,
 * approver or CC — gathered from their four boxes, there is no per-record list in the API),
 * newest first; each opens the instance drawer, on its details or on its flow tree.
 */
export function RecordApprovals({ object, id }: { object: string; id: string }) {
  const [rows, setRows] = useState<{ instance: string; task?: string; name?: InboxItem['flow_name']; canOpen: boolean; inst: Schemas['InstanceView'] }[] | null>(null);
  const [open, setOpen] = useState<{ instance: string; task?: string; tab: 'detail' | 'flow' } | null>(null);
  const load = useCallback(async () => {
    // Every approval of the record (anyone who may read it sees them), and the caller's open
    // tasks on them, to act from here.
    const [list, todo, flows] = await Promise.all([
      api.recordInstances(object, id).then((r) => r.instances),
      api.inbox('todo').then((r) => r.items, () => [] as InboxItem[]),
      api.startable(object).then((r) => r.flows, () => [] as Schemas['StartableFlow'][]),
    ]);
    const tasks = new Map(todo.filter((t) => t.record_id === id).map((t) => [t.instance, t]));
    setRows(list.map((inst) => ({
      instance: inst.id, inst, canOpen: inst.can_open !== false,
      task: tasks.get(inst.id)?.id, name: tasks.get(inst.id)?.flow_name ?? flows.find((f) => f.key === inst.flow)?.name,
    })));
  }, [object, id]);
  useEffect(() => { load().catch(() => setRows([])); }, [load]);
  if (!rows || rows.length === 0) return null;
  return (
    <Card title={L('审批', 'Approvals')} size="small" style={{ marginBottom: 16 }} data-testid="record-approvals">
      <List size="small" dataSource={rows} renderItem={(r) => (
        <List.Item data-testid="record-approval" actions={r.canOpen ? [
          <a key="flow" onClick={() => setOpen({ instance: r.instance, task: r.task, tab: 'flow' })} data-testid="record-approval-flow">{L('流程图', 'Flow')}</a>,
        ] : []}>
          {(() => {
            const summary = (
              <Space wrap size={4}>
                {lbl(r.name ?? undefined, r.inst.flow)}<StatusTag status={r.inst.status} />
                {r.inst.status === 'running' && (r.inst.positions ?? []).map((p) => <Tag key={p}>{p}</Tag>)}
                {r.task && <Tag color="orange">{L('待我审批', 'To approve')}</Tag>}
                {r.inst.created_at && <Typography.Text type="secondary">{fmt(r.inst.created_at)}</Typography.Text>}
              </Space>
            );
            // Details (timeline, comments) are for participants; others see where it stands.
            return r.canOpen ? <a onClick={() => setOpen({ instance: r.instance, task: r.task, tab: 'detail' })}>{summary}</a> : summary;
          })()}
        </List.Item>
      )} />
      {open && <TaskDrawer instance={open.instance} task={open.task} name={rows.find((r) => r.instance === open.instance)?.name} tab={open.tab} onClose={() => setOpen(null)} onDone={() => { setOpen(null); load().catch(() => {}); }} />}
    </Card>
  );
}

