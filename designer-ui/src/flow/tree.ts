// The DingTalk/Feishu-style approval tree (发起人 → 审批人 → 抄送人, with 条件分支 and 并行分支),
// edited as a tree and compiled to the graph definition `crm.workflow/1`
// (crates/flow/src/definition.rs): nodes + edges, gateways for branches and their joins.
// Pure functions: the editor's every operation is tested without a browser.
import { lbl } from '../lib/i18n';
import { graphToTree } from './instance';
import type { Item } from './instance';

export type FlowLabel = { zh?: string; en?: string };

export type AssigneeRule =
  | { kind: 'users'; ids: string[] }
  | { kind: 'role'; role: string }
  | { kind: 'department_leader'; of?: string; level?: number }
  | { kind: 'manager_of'; of?: string; level?: number }
  | { kind: 'field'; field: string }
  | { kind: 'initiator_chooses' }
  | { kind: 'initiator' };

export type Mode =
  | { kind: 'sequential' } | { kind: 'all' } | { kind: 'any' }
  | { kind: 'ratio'; approve_ratio: number; early_reject?: boolean };

export interface NodeForm { editable?: string[]; hidden?: string[] }
export interface Timer { id: string; duration: string; interrupting: boolean; do?: { kind: 'notify' | 'auto_approve' | 'auto_reject' } }

export interface Branch { id: string; name: FlowLabel; when?: string; isDefault?: boolean; children: TNode[] }

/** `raw`: the node as it was read from a stored definition; keys the tree does not edit
 * (operations, reminders, calendars…) are written back unchanged. */
export type TNode = (
  | { id: string; type: 'approver'; name: FlowLabel; assignees: AssigneeRule[]; mode: Mode; on_empty?: { kind: 'auto_approve' | 'auto_reject' | 'incident' }; form?: NodeForm; timers?: Timer[] }
  | { id: string; type: 'cc'; name: FlowLabel; recipients: AssigneeRule[] }
  | { id: string; type: 'condition'; name: FlowLabel; branches: Branch[] }
  | { id: string; type: 'parallel'; name: FlowLabel; branches: Branch[] }
  | { id: string; type: 'action'; name: FlowLabel; action: { kind: 'update_record'; set: Record<string, string> } }
  | { id: string; type: 'wait'; name: FlowLabel; until: { kind: 'duration'; duration: string } }
) & { raw?: Record<string, unknown> };

/** Node keys the tree owns; everything else in `raw` passes through. */
const OWNED = new Set(['id', 'name', 'kind', 'assignees', 'mode', 'on_empty', 'form', 'timers', 'recipients', 'action', 'until']);
function passThrough(n: TNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(n.raw ?? {})) if (!OWNED.has(k)) out[k] = v;
  return out;
}

export type NodeType = TNode['type'];

export interface FlowTree {
  key: string;
  name: FlowLabel;
  object: string;
  start: { form?: NodeForm };
  children: TNode[];
  /** The definition's `settings`, kept as read (calendar and other defaults). */
  settings?: Record<string, unknown>;
}

let counter = 0;
export function newId(prefix: string): string {
  counter += 1;
  return `${prefix}_${Date.now().toString(36)}${counter.toString(36)}`;
}

export function emptyFlow(key = 'approval', object = ''): FlowTree {
  return { key, name: { zh: '审批流程', en: 'Approval' }, object, start: {}, children: [] };
}

/** A new node of `type` with what the definition requires. */
export function makeNode(type: NodeType, id = newId(type)): TNode {
  switch (type) {
    case 'approver':
      return { id, type, name: { zh: '审批人', en: 'Approver' }, assignees: [{ kind: 'manager_of', of: 'initiator', level: 1 }], mode: { kind: 'sequential' } };
    case 'cc':
      return { id, type, name: { zh: '抄送人', en: 'CC' }, recipients: [{ kind: 'initiator' }] };
    case 'condition':
      return {
        id, type, name: { zh: '条件分支', en: 'Condition' }, branches: [
          { id: `${id}_b1`, name: { zh: '条件1', en: 'Condition 1' }, when: 'true', children: [] },
          { id: `${id}_b2`, name: { zh: '其他情况', en: 'Otherwise' }, isDefault: true, children: [] },
        ],
      };
    case 'parallel':
      return {
        id, type, name: { zh: '并行分支', en: 'Parallel' }, branches: [
          { id: `${id}_b1`, name: { zh: '分支1', en: 'Branch 1' }, children: [] },
          { id: `${id}_b2`, name: { zh: '分支2', en: 'Branch 2' }, children: [] },
        ],
      };
    case 'action':
      return { id, type, name: { zh: '更新记录', en: 'Update record' }, action: { kind: 'update_record', set: {} } };
    case 'wait':
      return { id, type, name: { zh: '延时', en: 'Wait' }, until: { kind: 'duration', duration: 'P1D' } };
  }
}

/** Where a "+" inserts: a list (the root or a branch) and a position in it. */
export interface Slot { branch: string | null; index: number }

function mapLists(list: TNode[], branch: string | null, f: (list: TNode[], branch: string | null) => TNode[]): TNode[] {
  const mapped = f(list, branch);
  return mapped.map((n) => (n.type === 'condition' || n.type === 'parallel'
    ? { ...n, branches: n.branches.map((b) => ({ ...b, children: mapLists(b.children, b.id, f) })) }
    : n));
}

export function insertNode(t: FlowTree, slot: Slot, node: TNode): FlowTree {
  return {
    ...t,
    children: mapLists(t.children, null, (list, branch) => {
      if (branch !== slot.branch) return list;
      const out = [...list];
      out.splice(Math.min(slot.index, out.length), 0, node);
      return out;
    }),
  };
}

export function removeNode(t: FlowTree, id: string): FlowTree {
  return { ...t, children: mapLists(t.children, null, (list) => list.filter((n) => n.id !== id)) };
}

export function updateNode(t: FlowTree, id: string, patch: Partial<TNode>): FlowTree {
  return { ...t, children: mapLists(t.children, null, (list) => list.map((n) => (n.id === id ? ({ ...n, ...patch } as TNode) : n))) };
}

/** Add a branch before the default one (conditions) or at the end (parallel). */
export function addBranch(t: FlowTree, gatewayId: string): FlowTree {
  return {
    ...t,
    children: mapLists(t.children, null, (list) => list.map((n) => {
      if (n.id !== gatewayId || (n.type !== 'condition' && n.type !== 'parallel')) return n;
      const k = n.branches.length + 1;
      const b: Branch = n.type === 'condition'
        ? { id: newId(`${n.id}_b`), name: { zh: `条件${k - 1}`, en: `Condition ${k - 1}` }, when: 'true', children: [] }
        : { id: newId(`${n.id}_b`), name: { zh: `分支${k}`, en: `Branch ${k}` }, children: [] };
      const branches = [...n.branches];
      const at = n.type === 'condition' ? Math.max(0, branches.findIndex((x) => x.isDefault)) : branches.length;
      branches.splice(n.type === 'condition' && branches.some((x) => x.isDefault) ? at : branches.length, 0, b);
      return { ...n, branches };
    })),
  };
}

/** Remove a branch; a gateway left with one branch dissolves into that branch's nodes. */
export function removeBranch(t: FlowTree, branchId: string): FlowTree {
  return {
    ...t,
    children: mapLists(t.children, null, (list) => list.flatMap((n) => {
      if ((n.type !== 'condition' && n.type !== 'parallel') || !n.branches.some((b) => b.id === branchId)) return [n];
      const branches = n.branches.filter((b) => b.id !== branchId);
      if (branches.length >= 2) return [{ ...n, branches }];
      return branches[0]?.children ?? [];
    })),
  };
}

export function updateBranch(t: FlowTree, branchId: string, patch: Partial<Branch>): FlowTree {
  return {
    ...t,
    children: mapLists(t.children, null, (list) => list.map((n) => (n.type === 'condition' || n.type === 'parallel')
      ? { ...n, branches: n.branches.map((b) => (b.id === branchId ? { ...b, ...patch } : b)) }
      : n)),
  };
}

export function findNode(list: TNode[], id: string): TNode | undefined {
  for (const n of list) {
    if (n.id === id) return n;
    if (n.type === 'condition' || n.type === 'parallel') {
      for (const b of n.branches) { const f = findNode(b.children, id); if (f) return f; }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Validation: every problem, each on its node (shown there by the editor).

export interface TreeProblem { node: string; message: FlowLabel }

export function validate(t: FlowTree): TreeProblem[] {
  const out: TreeProblem[] = [];
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(t.key)) out.push({ node: 'start', message: { zh: '流程标识须为小写字母开头的字母、数字、下划线', en: 'The key must be lowercase letters, digits and _' } });
  if (!t.object) out.push({ node: 'start', message: { zh: '请选择流程所属对象', en: 'Choose the object the flow runs on' } });
  if (!t.children.some(function has(n: TNode): boolean { return n.type === 'approver' || ((n.type === 'condition' || n.type === 'parallel') && n.branches.some((b) => b.children.some(has))); })) {
    out.push({ node: 'start', message: { zh: '至少需要一个审批人节点', en: 'At least one approver node is needed' } });
  }
  const walk = (list: TNode[]) => {
    for (const n of list) {
      if (n.type === 'approver') {
        if (!n.assignees.length) out.push({ node: n.id, message: { zh: '请设置审批人', en: 'Choose who approves' } });
        for (const a of n.assignees) {
          if (a.kind === 'users' && !a.ids.length) out.push({ node: n.id, message: { zh: '请选择成员', en: 'Choose members' } });
          if (a.kind === 'role' && !a.role) out.push({ node: n.id, message: { zh: '请选择角色', en: 'Choose a role' } });
          if (a.kind === 'field' && !a.field) out.push({ node: n.id, message: { zh: '请选择表单字段', en: 'Choose a form field' } });
        }
        if (n.mode.kind === 'ratio' && !(n.mode.approve_ratio > 0 && n.mode.approve_ratio <= 1)) out.push({ node: n.id, message: { zh: '通过比例须在 0 到 100% 之间', en: 'The approval ratio must be between 0 and 100%' } });
      }
      if (n.type === 'cc' && !n.recipients.length) out.push({ node: n.id, message: { zh: '请设置抄送人', en: 'Choose CC recipients' } });
      if (n.type === 'condition') {
        if (n.branches.filter((b) => b.isDefault).length > 1) out.push({ node: n.id, message: { zh: '只能有一个“其他情况”分支', en: 'Only one default branch' } });
        for (const b of n.branches) if (!b.isDefault && !(b.when ?? '').trim()) out.push({ node: b.id, message: { zh: '请设置条件', en: 'Set a condition' } });
      }
      if (n.type === 'wait' && !/^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/.test(n.until.duration)) {
        out.push({ node: n.id, message: { zh: '时长格式如 P1D、PT4H', en: 'Duration like P1D or PT4H' } });
      }
      if (n.type === 'condition' || n.type === 'parallel') n.branches.forEach((b) => walk(b.children));
    }
  };
  walk(t.children);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Compilation to the graph definition.

/** The definition as stored (`Schemas['FlowDefinition']`, whose other keys are open JSON). A type
 * alias, so it is assignable to the document's open object. */
export type Definition = {
  schema: 'crm.workflow/1';
  key: string;
  version: number;
  name: FlowLabel;
  object: string;
  trigger: { kind: 'manual' };
  nodes: Record<string, unknown>[];
  edges: Record<string, unknown>[];
  settings?: Record<string, unknown>;
};

export function toDefinition(t: FlowTree): Definition {
  const nodes: Record<string, unknown>[] = [];
  const edges: Record<string, unknown>[] = [];
  let rejectedEnd = false;
  let e = 0;
  const edge = (from: string, to: string, extra: Record<string, unknown> = {}) => {
    e += 1;
    const id = `e${e}`;
    edges.push({ id, from, to, ...extra });
    return id;
  };
  nodes.push({ id: 'start', kind: 'start', ...(t.start.form ? { form: t.start.form } : {}) });
  // A definition read back keeps its settings (calendar, reminders defaults…).
  const settings = t.settings;

  /** Emits a sequence after `from` (with `out` on the first edge); returns the last node and its out-label. */
  const seq = (list: TNode[], from: string, firstEdge: Record<string, unknown>): { last: string; out: Record<string, unknown> } => {
    let prev = from;
    let pending = firstEdge;
    for (const n of list) {
      switch (n.type) {
        case 'approver': {
          nodes.push({
            ...passThrough(n), id: n.id, name: n.name, kind: 'approval', assignees: n.assignees, mode: n.mode,
            ...(n.on_empty ? { on_empty: n.on_empty } : {}), ...(n.form ? { form: n.form } : {}),
            ...(n.timers?.length ? { timers: n.timers } : {}),
          });
          edge(prev, n.id, pending);
          if (!rejectedEnd) { nodes.push({ id: 'end_rejected', kind: 'end', outcome: 'rejected' }); rejectedEnd = true; }
          edge(n.id, 'end_rejected', { on: 'rejected' });
          prev = n.id; pending = { on: 'approved' };
          break;
        }
        case 'cc':
          nodes.push({ ...passThrough(n), id: n.id, name: n.name, kind: 'cc', recipients: n.recipients });
          edge(prev, n.id, pending); prev = n.id; pending = {};
          break;
        case 'action':
          nodes.push({ ...passThrough(n), id: n.id, name: n.name, kind: 'action', action: n.action });
          edge(prev, n.id, pending); prev = n.id; pending = { on: 'done' };
          break;
        case 'wait':
          nodes.push({ ...passThrough(n), id: n.id, name: n.name, kind: 'wait', until: n.until });
          edge(prev, n.id, pending); prev = n.id; pending = {};
          break;
        case 'condition': case 'parallel': {
          const kind = n.type === 'condition' ? 'exclusive' : 'parallel';
          const split: Record<string, unknown> = { id: n.id, name: n.name, kind };
          const join = `${n.id}_join`;
          nodes.push(split);
          edge(prev, n.id, pending);
          nodes.push({ id: join, kind });
          n.branches.forEach((b, i) => {
            const first: Record<string, unknown> = { name: b.name };
            if (n.type === 'condition' && !b.isDefault) { first.when = { lang: 'rhai', expr: b.when ?? 'true' }; first.order = i + 1; }
            const before = e;
            const r = seq(b.children, n.id, first);
            edge(r.last, join, r.out);
            if (n.type === 'condition' && b.isDefault) split.default = `e${before + 1}`;
          });
          prev = join; pending = {};
          break;
        }
      }
    }
    return { last: prev, out: pending };
  };

  const r = seq(t.children, 'start', {});
  nodes.push({ id: 'end', kind: 'end', outcome: 'approved' });
  edge(r.last, 'end', r.out);
  return {
    schema: 'crm.workflow/1', key: t.key, version: 0, name: t.name, object: t.object, trigger: { kind: 'manual' }, nodes, edges,
    ...(settings ? { settings } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Reading a stored definition back into the tree (to edit a published flow and publish again).

type DefNode = Record<string, unknown> & { id: string; kind: string };
type DefEdge = { id: string; from: string; to: string; on?: string | null; when?: { expr?: string } | null; name?: FlowLabel | null; order?: number | null };

/**
 * The tree of a stored definition, and what the tree cannot express (listed, never silently
 * dropped: the editor shows the list before anyone saves). Node ids are kept, so running
 * instances can be migrated node for node.
 */
export function fromDefinition(def: { key?: string; name?: FlowLabel; object?: string; nodes?: DefNode[]; edges?: DefEdge[]; settings?: Record<string, unknown> }): { tree: FlowTree; lost: string[] } {
  const nodes = def.nodes ?? [];
  const edges = def.edges ?? [];
  const lost: string[] = [];
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const view = graphToTree(nodes.map((n) => ({ id: n.id, kind: n.kind, name: n.name as FlowLabel | undefined })), edges);
  for (const id of view.others) lost.push(`${id}: ${L2('不在主路径上（超时/异常路由）', 'off the main path (timeout or error route)')}`);
  for (const e of edges) {
    if (e.on === 'rejected' && byId.get(e.to)?.kind !== 'end') lost.push(`${e.from}: ${L2('驳回后不结束的路由', 'a rejection route that does not end the flow')}`);
  }
  const start = byId.get('start') ?? nodes.find((n) => n.kind === 'start');
  const convert = (items: Item[]): TNode[] => items.flatMap((it): TNode[] => {
    if (it.type === 'end') return [];
    if (it.type === 'gateway') {
      const n = byId.get(it.id)!;
      if (it.kind === 'inclusive') lost.push(`${it.id}: ${L2('包容分支画成条件分支', 'inclusive gateway drawn as a condition')}`);
      const branches: Branch[] = it.branches.map((b, i) => ({
        id: `${it.id}_b${i + 1}`, name: b.name ?? { zh: `分支${i + 1}`, en: `Branch ${i + 1}` },
        ...(it.kind === 'parallel' ? {} : b.isDefault ? { isDefault: true } : { when: b.when ?? 'true' }),
        children: convert(b.items),
      }));
      return [{ id: it.id, type: it.kind === 'parallel' ? 'parallel' : 'condition', name: (n.name as FlowLabel) ?? {}, branches } as TNode];
    }
    const n = byId.get(it.id);
    if (!n) return [];
    const name = (n.name as FlowLabel) ?? { zh: n.id, en: n.id };
    switch (n.kind) {
      case 'approval':
        return [{
          id: n.id, type: 'approver', name, raw: n, assignees: (n.assignees as AssigneeRule[]) ?? [], mode: (n.mode as Mode) ?? { kind: 'sequential' },
          ...(n.on_empty ? { on_empty: n.on_empty as { kind: 'auto_approve' } } : {}), ...(n.form ? { form: n.form as NodeForm } : {}),
          ...(Array.isArray(n.timers) && n.timers.length ? { timers: n.timers as Timer[] } : {}),
        }];
      case 'cc':
        return [{ id: n.id, type: 'cc', name, raw: n, recipients: (n.recipients as AssigneeRule[]) ?? [] }];
      case 'action': {
        const a = n.action as { kind?: string; set?: Record<string, string> } | undefined;
        if (a?.kind !== 'update_record') lost.push(`${n.id}: ${L2(`动作 ${a?.kind ?? '?'} 只能在 JSON 中编辑`, `action ${a?.kind ?? '?'} is edited in JSON only`)}`);
        return [{ id: n.id, type: 'action', name, raw: n, action: { kind: 'update_record', set: a?.set ?? {} } }];
      }
      case 'wait': {
        const u = n.until as { kind?: string; duration?: string } | undefined;
        if (u?.kind !== 'duration') lost.push(`${n.id}: ${L2('等待条件只能在 JSON 中编辑', 'this wait is edited in JSON only')}`);
        return [{ id: n.id, type: 'wait', name, raw: n, until: { kind: 'duration', duration: u?.duration ?? 'P1D' } }];
      }
      default:
        lost.push(`${n.id}: ${L2(`节点类型 ${n.kind} 不能在树中编辑`, `node kind ${n.kind} cannot be edited in the tree`)}`);
        return [];
    }
  });
  const tree: FlowTree = {
    key: def.key ?? 'approval', name: def.name ?? {}, object: def.object ?? '',
    start: start?.form ? { form: start.form as NodeForm } : {},
    children: convert(view.items),
    ...(def.settings ? { settings: def.settings } : {}),
  };
  return { tree, lost };
}

function L2(zh: string, en: string): string {
  return lbl({ zh, en });
}
