import { useEffect, useMemo, useState } from 'react';
import { Tag, Typography } from 'antd';
import { CheckCircleFilled, ClockCircleOutlined, CloseCircleFilled, RollbackOutlined, SendOutlined, ThunderboltOutlined, UserOutlined } from '@ant-design/icons';
import dayjs from 'dayjs';
import { api } from '../lib/api';
import { lbl, useLang } from '../lib/i18n';
import { endOutcome, graphToTree, nodeStates } from './instance';
import type { Act, GNode, InstanceView, Item, NodeStatus } from './instance';
import './flow.css';
import './instance.css';

const L = (zh: string, en: string) => lbl({ zh, en });
const when = (v?: string | null) => (v ? dayjs(v).format('MM-DD HH:mm') : '');

let directory: Promise<Map<string, string>> | null = null;
/** User id → name, from the directory (fetched once per page load). */
function useNames(): Map<string, string> {
  const [names, setNames] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    directory ??= api.users()
      .then((r) => new Map(r.users.map((u) => [u.id, u.name])))
      .catch(() => { directory = null; return new Map<string, string>(); });
    let live = true;
    directory.then((m) => { if (live) setNames(m); });
    return () => { live = false; };
  }, []);
  return names;
}

const CSS_KIND: Record<string, string> = { start: 'start', approval: 'approver', cc: 'cc', action: 'action', wait: 'wait' };
const ICON: Record<string, React.ReactNode> = {
  start: <UserOutlined />, approval: <UserOutlined />, cc: <SendOutlined />, action: <ThunderboltOutlined />, wait: <ClockCircleOutlined />,
};
const KIND_NAME: Record<string, [string, string]> = {
  start: ['发起人', 'Initiator'], approval: ['审批人', 'Approver'], cc: ['抄送人', 'CC'], action: ['动作', 'Action'], wait: ['延时', 'Wait'],
  exclusive: ['条件分支', 'Condition'], parallel: ['并行分支', 'Parallel'], inclusive: ['包容分支', 'Inclusive'],
};
const STATE: Record<NodeStatus['state'], [string, string, string]> = {
  current: ['进行中', 'In progress', 'processing'], done: ['已完成', 'Done', 'success'], pending: ['未到达', 'Not reached', 'default'], skipped: ['未经过', 'Skipped', 'default'],
};
const OUTCOME: Record<string, [string, string, string]> = {
  approved: ['已通过', 'Approved', 'success'], rejected: ['已驳回', 'Rejected', 'error'], returned: ['已退回', 'Returned', 'warning'],
  cc: ['已抄送', 'Copied', 'blue'], passed: ['已完成', 'Done', 'success'], failed: ['失败', 'Failed', 'error'],
};
const DECISION: Record<string, [string, string]> = {
  approved: ['同意', 'approved'], rejected: ['驳回', 'rejected'], returned: ['退回', 'returned'], submitted: ['提交', 'submitted'],
  resubmitted: ['重新提交', 'resubmitted'], cc: ['已抄送', 'copied'],
};

/**
 * A flow instance drawn read-only as the approval tree of its published version: the current
 * node highlighted with its open assignees, done nodes with who acted and when, nodes not
 * reached or skipped dimmed. `inst` is `GET /flows/instances/{id}` as it comes.
 */
export default function InstanceTree({ inst }: { inst: InstanceView }) {
  useLang();
  const names = useNames();
  const nodes = useMemo(() => inst.graph?.nodes ?? [], [inst]);
  const tree = useMemo(() => graphToTree(nodes, inst.graph?.edges ?? []), [nodes, inst]);
  const states = useMemo(() => nodeStates(inst, tree), [inst, tree]);
  const byId = useMemo(() => new Map(nodes.map((n) => [n.id, n])), [nodes]);
  if (!nodes.length) return <Typography.Text type="secondary">{L('没有流程图', 'No flow graph')}</Typography.Text>;
  // Users see names, never ids: until the directory has loaded (or for a user no longer in
  // it) a neutral placeholder stands in.
  const who = (u: string | null) => (u ? names.get(u) ?? (names.size ? L('已删除的用户', 'removed user') : '…') : L('系统', 'system'));

  const card = (id: string) => {
    const n = byId.get(id) as GNode;
    const s = states[id];
    const o = s.outcome ? OUTCOME[s.outcome] : null;
    const st = o && s.state === 'done' ? o : STATE[s.state];
    return (
      <div key={id} className={`wf-node wf-${CSS_KIND[n.kind] ?? 'action'} wf-st-${s.state}${s.outcome ? ` wf-out-${s.outcome}` : ''}`}
        data-testid={`inst-node-${id}`} data-state={s.state} data-outcome={s.outcome ?? ''}>
        <div className="wf-head">
          <span>{ICON[n.kind] ?? <ThunderboltOutlined />} {lbl(n.name ?? undefined, L(...(KIND_NAME[n.kind] ?? [n.kind, n.kind])))}</span>
          <Tag color={st[2]} style={{ marginInlineEnd: 0 }} data-testid="inst-node-state">{L(st[0], st[1])}</Tag>
        </div>
        <div className="wf-body">
          {s.state === 'current' && (
            s.open.length
              ? <div data-testid="inst-open">{L('待处理：', 'Waiting for: ')}{s.open.map((u) => <Tag key={u} color="blue">{who(u)}</Tag>)}</div>
              : <div>{n.kind === 'start' ? L('等待发起人重新提交', 'Waiting for the initiator to resubmit') : L('处理中', 'In progress')}</div>
          )}
          {s.acts.length > 0 && s.state !== 'pending' && s.state !== 'skipped' && <Acts acts={s.acts} who={who} />}
          {s.state === 'pending' && <Typography.Text type="secondary">{L('尚未到达', 'Not reached yet')}</Typography.Text>}
          {s.state === 'skipped' && <Typography.Text type="secondary">{L('未经过此节点', 'Not taken')}</Typography.Text>}
        </div>
      </div>
    );
  };

  const seq = (items: Item[]): React.ReactNode => items.map((it) => {
    if (it.type === 'end') {
      const s = states[it.id];
      const ok = endOutcome(it.id, inst) === 'approved';
      return (
        <div key={it.id} className="wf-col">
          <div className="wf-line" />
          <div className={`wf-end wf-st-${s?.state ?? 'pending'}`} data-testid={`inst-node-${it.id}`} data-state={s?.state ?? 'pending'}>
            {ok ? L('流程结束', 'End') : L('结束（驳回）', 'End (rejected)')}
          </div>
        </div>
      );
    }
    if (it.type === 'node') return <div key={it.id} className="wf-col"><div className="wf-line" />{card(it.id)}</div>;
    const g = byId.get(it.id) as GNode;
    const gs = states[it.id];
    return (
      <div key={it.id} className="wf-col">
        <div className="wf-line" />
        <div className={`wf-gateway wf-st-gw-${gs?.state ?? 'pending'}`} data-testid={`inst-gateway-${it.id}`}>
          <span className="wf-gateway-label">{lbl(g.name ?? undefined, L(...(KIND_NAME[g.kind] ?? [g.kind, g.kind])))}</span>
          <div className="wf-branches">
            {it.branches.map((b, i) => (
              <div key={b.edge} className="wf-branch">
                <div className="wf-cond" style={{ cursor: 'default' }}>
                  <b>{lbl(b.name ?? undefined, it.kind === 'parallel' ? L(`分支${i + 1}`, `Branch ${i + 1}`) : b.isDefault ? L('其他情况', 'Otherwise') : L(`条件${i + 1}`, `Condition ${i + 1}`))}</b>
                  <div className="wf-sub">{b.when ? <code>{b.when}</code> : it.kind === 'parallel' ? L('同时进行', 'Runs in parallel') : L('其他条件进入此流程', 'When no other condition holds')}</div>
                </div>
                {seq(b.items)}
                <div className="wf-fill" />
              </div>
            ))}
          </div>
        </div>
      </div>
    );
  });

  return (
    <div className="wf-canvas wf-readonly" data-testid="instance-tree">
      <div className="wf-col">
        {tree.start && card(tree.start)}
        {seq(tree.items)}
      </div>
      {tree.others.length > 0 && (
        <div style={{ marginTop: 24 }}>
          <Typography.Text type="secondary">{L('超时或异常路线上的节点', 'Nodes on timeout or error routes')}</Typography.Text>
          <div className="wf-others">{tree.others.map(card)}</div>
        </div>
      )}
    </div>
  );
}

function Acts({ acts, who }: { acts: Act[]; who: (u: string | null) => string }) {
  return (
    <div className="wf-acts">
      {acts.map((a, i) => {
        const d = DECISION[a.decision];
        const icon = a.decision === 'approved' ? <CheckCircleFilled style={{ color: '#52c41a' }} />
          : a.decision === 'rejected' ? <CloseCircleFilled style={{ color: '#ff4d4f' }} />
            : a.decision === 'returned' ? <RollbackOutlined style={{ color: '#faad14' }} /> : null;
        return (
          <div key={i} data-testid="inst-act">
            {icon} <b>{who(a.user)}</b> {d ? L(d[0], d[1]) : a.decision} <span className="wf-when">{when(a.at)}</span>
            {a.comment && <div className="wf-comment">“{a.comment}”</div>}
          </div>
        );
      })}
    </div>
  );
}
