import { useEffect, useMemo, useState } from 'react';
import { Alert, Button, Drawer, Input, InputNumber, Modal, Popover, Radio, Select, Space, Switch, Table, Tag, Typography } from 'antd';
import { BranchesOutlined, ClockCircleOutlined, CloseOutlined, PlusOutlined, SendOutlined, ThunderboltOutlined, UserOutlined } from '@ant-design/icons';
import { lbl, useLang } from '../lib/i18n';
import { ApiError, api } from '../lib/api';
import type { FlowRow, Schemas } from '../lib/api';
import type { Problem } from '../lib/types';
import { useApp } from '../app/ctx';
import { addBranch, emptyFlow, findNode, fromDefinition, insertNode, makeNode, removeBranch, removeNode, toDefinition, updateBranch, updateNode, validate } from './tree';
import type { AssigneeRule, Branch, FlowTree, Mode, NodeType, Slot, TNode, TreeProblem } from './tree';
import './flow.css';

const L = (zh: string, en: string) => lbl({ zh, en });

/**
 * The approval-tree designer: 发起人 → nodes → 结束, a "+" between nodes, branches side by side.
 * It validates on the client (problems on their nodes), then saves the `crm.workflow/1`
 * definition as a draft and publishes it as an immutable version; the server's own publish
 * checks come back as a list.
 */
export default function FlowDesigner() {
  useLang();
  const { objects, order } = useApp();
  const [tree, setTree] = useState<FlowTree>(() => emptyFlow('approval', order.includes('opportunity') ? 'opportunity' : order[0] ?? ''));
  const [open, setOpen] = useState<string | null>(null);
  const [shown, setShown] = useState<TreeProblem[] | null>(null);
  const [json, setJson] = useState<string | null>(null);
  const [server, setServer] = useState<{ ok: boolean; text: string[] } | null>(null);
  const [publishing, setPublishing] = useState(false);
  const [flows, setFlows] = useState<FlowRow[]>([]);
  const [lost, setLost] = useState<string[]>([]);
  const [versions, setVersions] = useState<FlowVersion[] | null>(null);
  const loadFlows = () => { api.flows().then((r) => setFlows(r.flows)).catch(() => setFlows([])); };
  useEffect(loadFlows, []);
  /** Edit a stored definition: the draft of `key`, or one of its published versions. */
  const openDefinition = (def: Record<string, unknown> | null | undefined) => {
    // A stored definition is open JSON in the document; fromDefinition keeps what it does not know.
    const r = fromDefinition((def ?? {}) as StoredDefinition);
    setTree(r.tree); setLost(r.lost); setShown(null); setServer(null); setOpen(null);
  };
  const openFlow = async (key: string) => {
    if (key === '__new__') { setTree(emptyFlow('approval', order.includes('opportunity') ? 'opportunity' : order[0] ?? '')); setLost([]); setServer(null); return; }
    try {
      const r = await api.flow(key);
      openDefinition(r.definition);
    } catch (e) { setServer({ ok: false, text: [e instanceof Error ? e.message : String(e)] }); }
  };
  const showVersions = async () => {
    try {
      const r = await api.flowVersions(tree.key);
      setVersions(r.versions);
    } catch (e) {
      setServer({ ok: false, text: [e instanceof ApiError && e.status === 404 ? L('这个流程还没有保存过', 'This flow has not been saved yet') : e instanceof Error ? e.message : String(e)] });
    }
  };
  const publish = async () => {
    const local = validate(tree);
    setShown(local);
    setServer(null);
    if (local.length) return;
    setPublishing(true);
    try {
      const def = toDefinition(tree);
      await api.saveFlow(tree.key, def, await api.flowExists(tree.key));
      const v = await api.publishFlow(tree.key);
      setServer({ ok: true, text: [L(`已发布第 ${v.version} 版`, `Published version ${v.version}`)] });
      loadFlows();
    } catch (e) {
      const details = e instanceof ApiError ? e.details as (Problem & { node?: string | null })[] : [];
      setServer({ ok: false, text: details.length ? details.map((d) => `${d.node ?? d.path}: ${d.message}`) : [e instanceof Error ? e.message : String(e)] });
    } finally {
      setPublishing(false);
    }
  };
  const problems = useMemo(() => (shown ? validate(tree) : []), [tree, shown]);
  const pOf = (id: string) => problems.filter((p) => p.node === id);
  const fields = (objects[tree.object]?.fields ?? []).filter((f) => !f.deleted_at);
  const ctx: Ctx = {
    insert: (slot, type) => { const n = makeNode(type); setTree((t) => insertNode(t, slot, n)); if (type !== 'condition' && type !== 'parallel') setOpen(n.id); },
    remove: (id) => setTree((t) => removeNode(t, id)),
    open: setOpen,
    addBranch: (id) => setTree((t) => addBranch(t, id)),
    removeBranch: (id) => setTree((t) => removeBranch(t, id)),
    editBranch: (id) => setOpen(id),
    problems: pOf,
  };
  const node = open ? findNode(tree.children, open) : undefined;
  const branch = open && !node ? findBranch(tree.children, open) : undefined;

  return (
    <div data-testid="flow-designer">
      <Space wrap style={{ marginBottom: 12 }}>
        <Select style={{ width: 200 }} value={flows.some((f) => f.key === tree.key) ? tree.key : '__new__'} onChange={openFlow} data-testid="flow-open"
          options={[{ value: '__new__', label: L('+ 新建流程', '+ New flow') }, ...flows.map((f) => ({
            value: f.key, label: `${lbl(f.definition?.name, f.key)}${f.latest_version ? ` · v${f.latest_version}` : ` · ${L('草稿', 'draft')}`}`,
          }))]} />
        <Input style={{ width: 160 }} prefix="key:" data-testid="flow-key" value={tree.key} onChange={(e) => setTree({ ...tree, key: e.target.value })} />
        <Input style={{ width: 180 }} placeholder={L('流程名称', 'Flow name')} value={tree.name.zh ?? ''} onChange={(e) => setTree({ ...tree, name: { ...tree.name, zh: e.target.value } })} />
        <Select style={{ width: 180 }} value={tree.object || undefined} onChange={(v) => setTree({ ...tree, object: v })}
          options={order.map((o) => ({ value: o, label: lbl(objects[o].label, o) }))} placeholder={L('所属对象', 'Object')} />
        <Button onClick={() => setShown(validate(tree))} data-testid="flow-validate">{L('校验', 'Validate')}</Button>
        <Button onClick={() => setJson(JSON.stringify(toDefinition(tree), null, 2))}>{L('查看定义 JSON', 'Definition JSON')}</Button>
        <Button onClick={showVersions} data-testid="flow-versions">{L('版本', 'Versions')}</Button>
        <Button type="primary" loading={publishing} onClick={publish} data-testid="flow-publish">{L('发布', 'Publish')}</Button>
      </Space>
      {lost.length > 0 && <Alert type="warning" style={{ marginBottom: 12 }} data-testid="flow-lost" closable onClose={() => setLost([])}
        title={L('这些部分不能在审批树中编辑；再次发布时会按树的结构重写，请在发布前确认：', 'These parts cannot be edited in the tree; publishing again rewrites them as the tree shows. Check before publishing:')}
        description={<ul style={{ margin: 0 }}>{lost.map((t) => <li key={t}>{t}</li>)}</ul>} />}
      {server && <Alert type={server.ok ? 'success' : 'error'} style={{ marginBottom: 12 }} data-testid="flow-publish-result"
        title={server.text[0]} description={server.text.length > 1 ? <ul style={{ margin: 0 }}>{server.text.slice(1).map((t) => <li key={t}>{t}</li>)}</ul> : undefined} />}
      {shown && (problems.length
        ? <Alert type="error" style={{ marginBottom: 12 }} title={L(`发现 ${problems.length} 个问题，已在节点上标出`, `${problems.length} problem(s), marked on their nodes`)} />
        : <Alert type="success" style={{ marginBottom: 12 }} title={L('校验通过', 'No problems')} />)}
      <div className="wf-canvas">
        <div className="wf-col">
          <NodeCard kind="start" title={L('发起人', 'Initiator')} body={L('所有人可发起', 'Anyone can submit')} problems={pOf('start')} onOpen={() => setOpen('start')} />
          <List list={tree.children} branch={null} ctx={ctx} />
          <div className="wf-end">{L('流程结束', 'End')}</div>
        </div>
      </div>
      <Drawer open={!!open} size={480} onClose={() => setOpen(null)} title={node ? lbl(node.name) : branch ? lbl(branch.name) : L('发起人', 'Initiator')}>
        {node && <NodePanel node={node} fields={fields.map((f) => ({ value: f.api_name, label: lbl(f.label, f.api_name) }))}
          onChange={(p) => setTree((t) => updateNode(t, node.id, p))} />}
        {branch && <BranchPanel branch={branch} onChange={(p) => setTree((t) => updateBranch(t, branch.id, p))} />}
        {open === 'start' && <Typography.Paragraph>{L('发起人提交记录后流程开始。', 'The flow starts when the initiator submits a record.')}</Typography.Paragraph>}
      </Drawer>
      <Drawer open={versions !== null} onClose={() => setVersions(null)} size={640} title={L(`${tree.key} 的已发布版本`, `Published versions of ${tree.key}`)} data-testid="flow-versions-drawer">
        <Table<FlowVersion> size="small" rowKey="version" pagination={false} dataSource={versions ?? []}
          columns={[
            { title: L('版本', 'Version'), dataIndex: 'version', render: (v: number) => <b>v{v}</b> },
            { title: L('发布时间', 'Published'), dataIndex: 'published_at', render: (v: string) => new Date(v).toLocaleString() },
            { title: L('内容指纹', 'Content hash'), dataIndex: 'hash', render: (h: string) => <Typography.Text code>{h.slice(0, 12)}</Typography.Text> },
            { title: '', key: 'actions', render: (_: unknown, v: FlowVersion) => (
              <Space>
                <Button size="small" onClick={() => setJson(JSON.stringify(v.definition, null, 2))}>JSON</Button>
                <Button size="small" onClick={() => { openDefinition(v.definition); setVersions(null); }} data-testid={`flow-version-open-${v.version}`}>{L('以此为草稿', 'Edit as draft')}</Button>
              </Space>
            ) },
          ]} />
      </Drawer>
      <Modal open={json !== null} onCancel={() => setJson(null)} footer={null} width={720} title="crm.workflow/1">
        <pre style={{ maxHeight: 480, overflow: 'auto', fontSize: 12 }}>{json}</pre>
      </Modal>
    </div>
  );
}

type FlowVersion = Schemas['FlowVersionView'];
type StoredDefinition = Parameters<typeof fromDefinition>[0];

interface Ctx {
  insert: (slot: Slot, type: NodeType) => void;
  remove: (id: string) => void;
  open: (id: string) => void;
  addBranch: (id: string) => void;
  removeBranch: (id: string) => void;
  editBranch: (id: string) => void;
  problems: (id: string) => TreeProblem[];
}

function findBranch(list: TNode[], id: string): Branch | undefined {
  for (const n of list) {
    if (n.type === 'condition' || n.type === 'parallel') {
      for (const b of n.branches) { if (b.id === id) return b; const f = findBranch(b.children, id); if (f) return f; }
    }
  }
  return undefined;
}

function List({ list, branch, ctx }: { list: TNode[]; branch: string | null; ctx: Ctx }) {
  return (
    <>
      <AddButton slot={{ branch, index: 0 }} ctx={ctx} />
      {list.map((n, i) => (
        <div key={n.id} className="wf-col">
          {n.type === 'condition' || n.type === 'parallel' ? <Gateway n={n} ctx={ctx} /> : (
            <NodeCard kind={n.type} title={lbl(n.name)} body={summary(n)} problems={ctx.problems(n.id)}
              onOpen={() => ctx.open(n.id)} onRemove={() => ctx.remove(n.id)} testid={`wf-node-${n.type}`} />
          )}
          <AddButton slot={{ branch, index: i + 1 }} ctx={ctx} />
        </div>
      ))}
    </>
  );
}

function Gateway({ n, ctx }: { n: Extract<TNode, { type: 'condition' | 'parallel' }>; ctx: Ctx }) {
  return (
    <div className="wf-gateway" data-testid={`wf-gateway-${n.type}`}>
      <Space className="wf-gateway-bar">
        <Button size="small" onClick={() => ctx.addBranch(n.id)} data-testid="wf-add-branch">{n.type === 'condition' ? L('添加条件', 'Add condition') : L('添加分支', 'Add branch')}</Button>
        <Button size="small" type="text" danger icon={<CloseOutlined />} onClick={() => ctx.remove(n.id)} />
      </Space>
      <div className="wf-branches">
        {n.branches.map((b, i) => (
          <div key={b.id} className="wf-branch">
            <div className={`wf-cond${ctx.problems(b.id).length ? ' bad' : ''}`} onClick={() => ctx.editBranch(b.id)}>
              <Space style={{ justifyContent: 'space-between', width: '100%' }}>
                <b>{lbl(b.name)}</b>
                {n.type === 'condition' && <Tag>{b.isDefault ? L('默认', 'default') : `${L('优先级', 'priority')} ${i + 1}`}</Tag>}
                <Button size="small" type="text" icon={<CloseOutlined />} onClick={(e) => { e.stopPropagation(); ctx.removeBranch(b.id); }} />
              </Space>
              <div className="wf-sub">{n.type === 'condition' ? (b.isDefault ? L('其他条件进入此流程', 'When no other condition holds') : <code>{b.when}</code>) : L('同时进行', 'Runs in parallel')}</div>
              {ctx.problems(b.id).map((p, k) => <div key={k} className="wf-problem">{lbl(p.message)}</div>)}
            </div>
            <List list={b.children} branch={b.id} ctx={ctx} />
          </div>
        ))}
      </div>
    </div>
  );
}

const ICON: Record<string, React.ReactNode> = {
  start: <UserOutlined />, approver: <UserOutlined />, cc: <SendOutlined />, action: <ThunderboltOutlined />, wait: <ClockCircleOutlined />,
};

function NodeCard({ kind, title, body, problems, onOpen, onRemove, testid }: {
  kind: string; title: string; body: React.ReactNode; problems: TreeProblem[]; onOpen: () => void; onRemove?: () => void; testid?: string;
}) {
  return (
    <div className={`wf-node wf-${kind}${problems.length ? ' bad' : ''}`} onClick={onOpen} data-testid={testid}>
      <div className="wf-head"><span>{ICON[kind]} {title}</span>
        {onRemove && <Button size="small" type="text" icon={<CloseOutlined />} style={{ color: '#fff' }} onClick={(e) => { e.stopPropagation(); onRemove(); }} />}
      </div>
      <div className="wf-body">{body}{problems.map((p, i) => <div key={i} className="wf-problem">{lbl(p.message)}</div>)}</div>
    </div>
  );
}

function AddButton({ slot, ctx }: { slot: Slot; ctx: Ctx }) {
  const [open, setOpen] = useState(false);
  const add = (t: NodeType) => { setOpen(false); ctx.insert(slot, t); };
  return (
    <div className="wf-add">
      <Popover open={open} onOpenChange={setOpen} trigger="click" content={
        <Space wrap style={{ width: 240 }}>
          <Button icon={<UserOutlined />} onClick={() => add('approver')} data-testid="wf-add-approver">{L('审批人', 'Approver')}</Button>
          <Button icon={<SendOutlined />} onClick={() => add('cc')} data-testid="wf-add-cc">{L('抄送人', 'CC')}</Button>
          <Button icon={<BranchesOutlined />} onClick={() => add('condition')} data-testid="wf-add-condition">{L('条件分支', 'Condition')}</Button>
          <Button icon={<BranchesOutlined rotate={90} />} onClick={() => add('parallel')} data-testid="wf-add-parallel">{L('并行分支', 'Parallel')}</Button>
          <Button icon={<ThunderboltOutlined />} onClick={() => add('action')}>{L('动作', 'Action')}</Button>
          <Button icon={<ClockCircleOutlined />} onClick={() => add('wait')}>{L('延时', 'Wait')}</Button>
        </Space>
      }>
        <Button shape="circle" size="small" type="primary" icon={<PlusOutlined />} aria-label={L('添加节点', 'Add node')} data-testid="wf-plus" />
      </Popover>
    </div>
  );
}

function ruleText(a: AssigneeRule): string {
  switch (a.kind) {
    case 'users': return L(`指定成员 (${a.ids.length})`, `Members (${a.ids.length})`);
    case 'role': return L(`角色：${a.role || '?'}`, `Role: ${a.role || '?'}`);
    case 'manager_of': return L(`第 ${a.level ?? 1} 级主管`, `Manager, level ${a.level ?? 1}`);
    case 'department_leader': return L(`部门负责人（第 ${a.level ?? 1} 级）`, `Department leader (level ${a.level ?? 1})`);
    case 'field': return L(`表单字段：${a.field || '?'}`, `Form field: ${a.field || '?'}`);
    case 'initiator_chooses': return L('发起人自选', 'Chosen by the initiator');
    case 'initiator': return L('发起人本人', 'The initiator');
  }
}
const MODES: Record<Mode['kind'], () => string> = {
  sequential: () => L('依次审批', 'Sequential'), all: () => L('会签', 'All must approve'), any: () => L('或签', 'Any one'), ratio: () => L('按比例', 'By ratio'),
};
function summary(n: TNode): React.ReactNode {
  switch (n.type) {
    case 'approver': return <>{n.assignees.map(ruleText).join('、') || L('未设置', 'not set')} · {MODES[n.mode.kind]()}</>;
    case 'cc': return n.recipients.map(ruleText).join('、') || L('未设置', 'not set');
    case 'action': return L(`更新 ${Object.keys(n.action.set).length} 个字段`, `Sets ${Object.keys(n.action.set).length} field(s)`);
    case 'wait': return n.until.duration;
    default: return null;
  }
}

function RulesEditor({ rules, onChange, fields }: { rules: AssigneeRule[]; onChange: (r: AssigneeRule[]) => void; fields: { value: string; label: string }[] }) {
  const kinds = [
    { value: 'users', label: L('指定成员', 'Members') }, { value: 'role', label: L('角色', 'Role') },
    { value: 'manager_of', label: L('第 N 级主管', 'Manager at level N') }, { value: 'department_leader', label: L('部门负责人', 'Department leader') },
    { value: 'field', label: L('表单内成员字段', 'Form field') }, { value: 'initiator_chooses', label: L('发起人自选', 'Chosen by initiator') },
    { value: 'initiator', label: L('发起人本人', 'Initiator') },
  ];
  const set = (i: number, r: AssigneeRule) => onChange(rules.map((x, j) => (j === i ? r : x)));
  const blank = (k: string): AssigneeRule => (k === 'users' ? { kind: 'users', ids: [] } : k === 'role' ? { kind: 'role', role: '' } : k === 'field' ? { kind: 'field', field: '' }
    : k === 'manager_of' || k === 'department_leader' ? { kind: k, of: 'initiator', level: 1 } : { kind: k as 'initiator' });
  return (
    <div>
      {rules.map((r, i) => (
        <Space key={i} style={{ marginBottom: 6 }} wrap>
          <Select style={{ width: 150 }} value={r.kind} options={kinds} onChange={(k) => set(i, blank(k))} />
          {r.kind === 'users' && <Select mode="tags" style={{ width: 200 }} value={r.ids} onChange={(ids) => set(i, { ...r, ids })} placeholder={L('成员 ID', 'User ids')} />}
          {r.kind === 'role' && <Input style={{ width: 160 }} value={r.role} onChange={(e) => set(i, { ...r, role: e.target.value })} placeholder="sales_director" />}
          {(r.kind === 'manager_of' || r.kind === 'department_leader') && <InputNumber min={1} max={10} value={r.level ?? 1} onChange={(v) => set(i, { ...r, level: v ?? 1 })} prefix={L('级', 'level')} />}
          {r.kind === 'field' && <Select style={{ width: 180 }} value={r.field || undefined} options={fields} onChange={(v) => set(i, { ...r, field: v })} />}
          <Button size="small" icon={<CloseOutlined />} onClick={() => onChange(rules.filter((_, j) => j !== i))} />
        </Space>
      ))}
      <Button size="small" icon={<PlusOutlined />} onClick={() => onChange([...rules, { kind: 'manager_of', of: 'initiator', level: 1 }])}>{L('添加', 'Add')}</Button>
    </div>
  );
}

function NodePanel({ node, onChange, fields }: { node: TNode; onChange: (p: Partial<TNode>) => void; fields: { value: string; label: string }[] }) {
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      <Input prefix={L('名称：', 'Name: ')} value={node.name.zh ?? ''} onChange={(e) => onChange({ name: { ...node.name, zh: e.target.value } })} />
      {node.type === 'approver' && (
        <>
          <Typography.Text strong>{L('审批人', 'Approvers')}</Typography.Text>
          <RulesEditor rules={node.assignees} fields={fields} onChange={(assignees) => onChange({ assignees } as Partial<TNode>)} />
          <Typography.Text strong>{L('多人审批方式', 'Multi-approver mode')}</Typography.Text>
          <Radio.Group value={node.mode.kind} onChange={(e) => onChange({ mode: e.target.value === 'ratio' ? { kind: 'ratio', approve_ratio: 0.5 } : { kind: e.target.value } } as Partial<TNode>)}
            options={(Object.keys(MODES) as Mode['kind'][]).map((k) => ({ value: k, label: MODES[k]() }))} />
          {node.mode.kind === 'ratio' && (
            <InputNumber min={1} max={100} suffix="%" value={Math.round(node.mode.approve_ratio * 100)}
              onChange={(v) => onChange({ mode: { kind: 'ratio', approve_ratio: (v ?? 50) / 100 } } as Partial<TNode>)} />
          )}
          <Typography.Text strong>{L('审批人为空时', 'When nobody is found')}</Typography.Text>
          <Select value={node.on_empty?.kind ?? 'incident'} style={{ width: 220 }} onChange={(k) => onChange({ on_empty: { kind: k } } as Partial<TNode>)}
            options={[{ value: 'auto_approve', label: L('自动通过', 'Auto-approve') }, { value: 'auto_reject', label: L('自动拒绝', 'Auto-reject') }, { value: 'incident', label: L('转交管理员处理', 'Hand to an admin') }]} />
          <Typography.Text strong>{L('超时处理', 'Timeout')}</Typography.Text>
          <Space>
            <Switch checked={!!node.timers?.length} onChange={(on) => onChange({ timers: on ? [{ id: 't1', duration: 'P2D', interrupting: false, do: { kind: 'notify' } }] : [] } as Partial<TNode>)} />
            {node.timers?.[0] && (
              <>
                <Input style={{ width: 90 }} value={node.timers[0].duration} onChange={(e) => onChange({ timers: [{ ...node.timers![0], duration: e.target.value }] } as Partial<TNode>)} />
                <Select style={{ width: 140 }} value={node.timers[0].do?.kind ?? 'notify'}
                  onChange={(k) => onChange({ timers: [{ ...node.timers![0], do: { kind: k }, interrupting: k !== 'notify' }] } as Partial<TNode>)}
                  options={[{ value: 'notify', label: L('提醒', 'Remind') }, { value: 'auto_approve', label: L('自动通过', 'Auto-approve') }, { value: 'auto_reject', label: L('自动拒绝', 'Auto-reject') }]} />
              </>
            )}
          </Space>
          <Typography.Text strong>{L('字段权限', 'Field permissions')}</Typography.Text>
          <Table size="small" pagination={false} rowKey="value" dataSource={fields}
            columns={[
              { title: L('字段', 'Field'), dataIndex: 'label' },
              {
                title: L('权限', 'Access'), key: 'a', render: (_: unknown, f: { value: string }) => {
                  const form = node.form ?? {};
                  const cur = form.editable?.includes(f.value) ? 'edit' : form.hidden?.includes(f.value) ? 'hidden' : 'read';
                  return (
                    <Radio.Group size="small" value={cur} onChange={(e) => {
                      const editable = (form.editable ?? []).filter((x) => x !== f.value);
                      const hidden = (form.hidden ?? []).filter((x) => x !== f.value);
                      if (e.target.value === 'edit') editable.push(f.value);
                      if (e.target.value === 'hidden') hidden.push(f.value);
                      onChange({ form: { editable, hidden } } as Partial<TNode>);
                    }} options={[{ value: 'edit', label: L('可编辑', 'Edit') }, { value: 'read', label: L('只读', 'Read') }, { value: 'hidden', label: L('隐藏', 'Hidden') }]} />
                  );
                },
              },
            ]} />
        </>
      )}
      {node.type === 'cc' && <RulesEditor rules={node.recipients} fields={fields} onChange={(recipients) => onChange({ recipients } as Partial<TNode>)} />}
      {node.type === 'wait' && <Input prefix={L('时长：', 'Duration: ')} value={node.until.duration} onChange={(e) => onChange({ until: { kind: 'duration', duration: e.target.value } } as Partial<TNode>)} />}
      {node.type === 'action' && (
        <Input.TextArea rows={4} value={Object.entries(node.action.set).map(([k, v]) => `${k} = ${v}`).join('\n')}
          placeholder="stage = &quot;won&quot;"
          onChange={(e) => onChange({ action: { kind: 'update_record', set: Object.fromEntries(e.target.value.split('\n').map((l) => l.split('=')).filter((p) => p.length >= 2).map(([k, ...v]) => [k.trim(), v.join('=').trim()])) } } as Partial<TNode>)} />
      )}
    </Space>
  );
}

function BranchPanel({ branch, onChange }: { branch: Branch; onChange: (p: Partial<Branch>) => void }) {
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      <Input prefix={L('名称：', 'Name: ')} value={branch.name.zh ?? ''} onChange={(e) => onChange({ name: { ...branch.name, zh: e.target.value } })} />
      {!branch.isDefault && branch.when !== undefined && (
        <>
          <Typography.Text strong>{L('条件（rhai 表达式）', 'Condition (rhai)')}</Typography.Text>
          <Input.TextArea rows={3} value={branch.when} onChange={(e) => onChange({ when: e.target.value })} placeholder="record.amount > 500000" data-testid="wf-branch-when" />
          <Typography.Text type="secondary">{L('语法检查与字段补全等待规则 API', 'Syntax check and field completion wait for the rules API')}</Typography.Text>
        </>
      )}
    </Space>
  );
}
