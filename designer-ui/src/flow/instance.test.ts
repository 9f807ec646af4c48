import { describe, expect, it } from 'vitest';
import { endOutcome, graphToTree, nodeStates } from './instance';
import type { GEdge, GNode, InstanceView, Item } from './instance';
import { emptyFlow, insertNode, makeNode, toDefinition, updateBranch } from './tree';
import type { TNode } from './tree';

// The CRM example's flow (examples/crm/flows/opportunity_approval.json) as the instance view
// returns it: an exclusive split without a join, both branches meeting at the CC node.
const demoNodes = (): GNode[] => [
  { id: 'start', kind: 'start' }, { id: 'route', kind: 'exclusive' }, { id: 'manager', kind: 'approval' },
  { id: 'director', kind: 'approval' }, { id: 'cc_finance', kind: 'cc' }, { id: 'end_ok', kind: 'end' }, { id: 'end_rej', kind: 'end' },
];
const demoEdges: GEdge[] = [
  { id: 'e0', from: 'start', to: 'route' },
  { id: 'e_big', from: 'route', to: 'director', order: 1, when: { expr: 'record.amount > 500000' } },
  { id: 'e_small', from: 'route', to: 'manager' },
  { id: 'm_ok', from: 'manager', to: 'cc_finance', on: 'approved' },
  { id: 'm_no', from: 'manager', to: 'end_rej', on: 'rejected' },
  { id: 'd_ok', from: 'director', to: 'cc_finance', on: 'approved' },
  { id: 'd_no', from: 'director', to: 'end_rej', on: 'rejected' },
  { id: 'e_end', from: 'cc_finance', to: 'end_ok' },
];

/** A compact picture of a tree: node ids, gateways as `id[branch|branch]`. */
function shape(items: Item[]): string {
  return items.map((it) => (it.type === 'gateway' ? `${it.id}[${it.branches.map((b) => shape(b.items)).join('|')}]` : it.id)).join(' ');
}

function view(over: Partial<InstanceView> & { at?: Record<string, Partial<GNode>> }): InstanceView {
  const nodes = demoNodes().map((n) => ({ ...n, ...(over.at?.[n.id] ?? {}) }));
  return { id: 'i1', status: 'running', initiator: 'zhang', created_at: '2026-12-02T10:00:00Z', graph: { nodes, edges: demoEdges }, tasks: [], cc: [], history: [], ...over };
}

describe('graph → tree', () => {
  it('folds a split without a join back into branches that meet at their first common node', () => {
    const t = graphToTree(demoNodes(), demoEdges);
    expect(t.start).toBe('start');
    expect(shape(t.items)).toBe('route[director|manager] cc_finance end_ok');
    const g = t.items[0];
    expect(g.type === 'gateway' && g.branches.map((b) => [b.when, b.isDefault])).toEqual([['record.amount > 500000', false], [undefined, true]]);
    expect(t.others).toEqual([]);
  });

  it('gives back the designer tree of a definition the designer compiled (joins not drawn)', () => {
    let f = emptyFlow('big_deal', 'opportunity');
    f = insertNode(f, { branch: null, index: 0 }, makeNode('approver', 'mgr'));
    f = insertNode(f, { branch: null, index: 1 }, makeNode('condition', 'amt'));
    f = updateBranch(f, 'amt_b1', { when: 'record.amount > 500000' });
    f = insertNode(f, { branch: 'amt_b1', index: 0 }, { ...makeNode('approver', 'dir') } as TNode);
    f = insertNode(f, { branch: null, index: 2 }, makeNode('parallel', 'par'));
    f = insertNode(f, { branch: 'par_b1', index: 0 }, makeNode('cc', 'fin'));
    f = insertNode(f, { branch: 'par_b2', index: 0 }, makeNode('action', 'act'));
    const d = toDefinition(f);
    const t = graphToTree(d.nodes as unknown as GNode[], d.edges as unknown as GEdge[]);
    expect(shape(t.items)).toBe('mgr amt[dir|] par[fin|act] end');
  });

  it('stops at a cycle and lists nodes reached only by exception routes', () => {
    const nodes: GNode[] = [{ id: 'start', kind: 'start' }, { id: 'a', kind: 'approval' }, { id: 'esc', kind: 'approval' }, { id: 'end', kind: 'end' }];
    const edges: GEdge[] = [
      { id: '1', from: 'start', to: 'a' }, { id: '2', from: 'a', to: 'end', on: 'approved' },
      { id: '3', from: 'a', to: 'esc', on: 'timer:t1' }, { id: '4', from: 'esc', to: 'a', on: 'approved' },
    ];
    const t = graphToTree(nodes, edges);
    expect(shape(t.items)).toBe('a end');
    expect(t.others).toEqual(['esc']);
  });
});

describe('node states of an instance', () => {
  it('running at the manager: current with its open assignee, the other branch skipped, the rest pending', () => {
    const v = view({
      at: { start: { visited: true }, route: { visited: true }, manager: { visited: true, active: true } },
      tasks: [{ id: 't1', node: 'manager', assignee: 'li', status: 'open', created_at: '2026-12-02T10:00:01Z' }],
      history: [{ seq: 1, at: '2026-12-02T10:00:00Z', actor: 'zhang', event: 'started', node: null, data: {} }],
    });
    const s = nodeStates(v, graphToTree(v.graph!.nodes, demoEdges));
    expect(s.start).toMatchObject({ state: 'done', outcome: 'passed', acts: [{ user: 'zhang', decision: 'submitted' }] });
    expect(s.manager).toMatchObject({ state: 'current', open: ['li'] });
    expect(s.manager.outcome).toBeUndefined();
    expect(s.director.state).toBe('skipped');
    expect(s.cc_finance.state).toBe('pending');
    expect(s.end_ok.state).toBe('pending');
  });

  it('approved: the node is done with who decided, when, and the comment; untaken nodes are skipped', () => {
    const v = view({
      status: 'approved',
      at: { start: { visited: true }, route: { visited: true }, manager: { visited: true }, cc_finance: { visited: true }, end_ok: { visited: true } },
      tasks: [{ id: 't1', node: 'manager', assignee: 'li', status: 'approved', created_at: '2026-12-02T10:00:01Z', closed_at: '2026-12-02T11:00:00Z' }],
      cc: [{ user: 'zhao', node: 'cc_finance', at: '2026-12-02T11:00:00Z' }],
      history: [
        { seq: 5, at: '2026-12-02T11:00:00Z', actor: 'li', event: 'task_decided', node: 'manager', data: { decision: 'approve', comment: '同意' } },
        { seq: 6, at: '2026-12-02T11:00:00Z', actor: null, event: 'node_decided', node: 'manager', data: { outcome: 'approved' } },
        { seq: 7, at: '2026-12-02T11:00:00Z', actor: null, event: 'end_reached', node: 'end_ok', data: { outcome: 'approved' } },
      ],
    });
    const s = nodeStates(v, graphToTree(v.graph!.nodes, demoEdges));
    expect(s.manager).toMatchObject({ state: 'done', outcome: 'approved', open: [], acts: [{ user: 'li', at: '2026-12-02T11:00:00Z', decision: 'approved', comment: '同意' }] });
    expect(s.cc_finance).toMatchObject({ state: 'done', outcome: 'cc', acts: [{ user: 'zhao' }] });
    expect(s.director.state).toBe('skipped');
    expect(s.end_rej.state).toBe('skipped');
    expect(endOutcome('end_ok', v)).toBe('approved');
    expect(endOutcome('end_rej', v)).toBe('rejected');
  });

  it('rejected, and returned to the initiator (the start is current again)', () => {
    const rejected = nodeStates(view({
      status: 'rejected', at: { start: { visited: true }, route: { visited: true }, manager: { visited: true }, end_rej: { visited: true } },
      tasks: [{ id: 't1', node: 'manager', assignee: 'li', status: 'rejected', created_at: 'x', closed_at: 'y' }],
    }));
    expect(rejected.manager).toMatchObject({ state: 'done', outcome: 'rejected', acts: [{ user: 'li', decision: 'rejected' }] });
    const returned = nodeStates(view({
      at: { start: { visited: true, active: true }, route: { visited: true }, manager: { visited: true } },
      tasks: [{ id: 't1', node: 'manager', assignee: 'li', status: 'cancelled', reason: 'returned', created_at: 'x', closed_at: 'y' }],
      history: [{ seq: 3, at: '2026-12-02T11:00:00Z', actor: 'li', event: 'returned', node: 'manager', data: { to: 'start', comment: '补充附件' } }],
    }));
    expect(returned.start.state).toBe('current');
    expect(returned.manager).toMatchObject({ state: 'done', outcome: 'returned', acts: [{ user: 'li', decision: 'returned', comment: '补充附件' }] });
  });

  it('a withdrawn instance shows nothing current', () => {
    const s = nodeStates(view({ status: 'withdrawn', at: { start: { visited: true }, route: { visited: true }, manager: { visited: true, active: true } } }));
    expect(Object.values(s).some((x) => x.state === 'current')).toBe(false);
    expect(s.manager.state).toBe('done');
    expect(s.cc_finance.state).toBe('skipped');
  });

  it('parallel branches not reached yet stay pending', () => {
    const nodes: GNode[] = [{ id: 'start', kind: 'start', visited: true }, { id: 'a', kind: 'approval', visited: true, active: true },
      { id: 'p', kind: 'parallel' }, { id: 'x', kind: 'approval' }, { id: 'y', kind: 'cc' }, { id: 'j', kind: 'parallel' }, { id: 'end', kind: 'end' }];
    const edges: GEdge[] = [{ id: '1', from: 'start', to: 'a' }, { id: '2', from: 'a', to: 'p', on: 'approved' }, { id: '3', from: 'p', to: 'x' },
      { id: '4', from: 'p', to: 'y' }, { id: '5', from: 'x', to: 'j', on: 'approved' }, { id: '6', from: 'y', to: 'j' }, { id: '7', from: 'j', to: 'end' }];
    const v: InstanceView = { id: 'i', status: 'running', initiator: 'u', graph: { nodes, edges } };
    const t = graphToTree(nodes, edges);
    expect(shape(t.items)).toBe('a p[x|y] end');
    const s = nodeStates(v, t);
    expect([s.a.state, s.x.state, s.y.state]).toEqual(['current', 'pending', 'pending']);
  });
});
