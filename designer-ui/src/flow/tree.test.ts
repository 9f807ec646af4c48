import { describe, expect, it } from 'vitest';
import { addBranch, emptyFlow, findNode, fromDefinition, insertNode, makeNode, removeBranch, removeNode, toDefinition, updateBranch, validate } from './tree';
import type { FlowTree, TNode } from './tree';

function twoLevelWithCondition(): FlowTree {
  let t = emptyFlow('big_deal', 'opportunity');
  t = insertNode(t, { branch: null, index: 0 }, makeNode('approver', 'mgr'));
  t = insertNode(t, { branch: null, index: 1 }, makeNode('condition', 'amt'));
  t = updateBranch(t, 'amt_b1', { when: 'record.amount > 500000' });
  t = insertNode(t, { branch: 'amt_b1', index: 0 }, { ...makeNode('approver', 'dir'), assignees: [{ kind: 'role', role: 'sales_director' }] } as TNode);
  t = insertNode(t, { branch: null, index: 2 }, makeNode('cc', 'fin'));
  return t;
}

describe('approval tree', () => {
  it('reads its own definition back: the same tree, the same definition', () => {
    const t = twoLevelWithCondition();
    let p = insertNode(t, { branch: null, index: 3 }, makeNode('parallel', 'par'));
    p = insertNode(p, { branch: 'par_b1', index: 0 }, makeNode('approver', 'legal'));
    p = insertNode(p, { branch: 'par_b2', index: 0 }, makeNode('approver', 'fin2'));
    const def = toDefinition(p);
    const { tree, lost } = fromDefinition(def as never);
    expect(lost).toEqual([]);
    expect(tree.children.map((n) => n.id)).toEqual(['mgr', 'amt', 'fin', 'par']);
    expect(toDefinition(tree)).toEqual(def);
  });

  it('reads a hand-written definition: branches by merge point, node settings kept, the rest listed', () => {
    const def = {
      key: 'opportunity_approval', object: 'opportunity', name: { zh: '商机审批' }, settings: { calendar: 'cn' },
      nodes: [
        { id: 'start', kind: 'start' },
        { id: 'route', kind: 'exclusive', default: 'e_small' },
        { id: 'manager', kind: 'approval', assignees: [{ kind: 'manager_of', of: 'initiator', level: 1 }], mode: { kind: 'any' }, ops: { return_to: ['start'] } },
        { id: 'director', kind: 'approval', assignees: [{ kind: 'role', role: 'sales_director' }], mode: { kind: 'any' } },
        { id: 'cc_finance', kind: 'cc', recipients: [{ kind: 'role', role: 'finance' }] },
        { id: 'escalate', kind: 'approval', assignees: [{ kind: 'initiator' }], mode: { kind: 'any' } },
        { id: 'end_ok', kind: 'end', outcome: 'approved' },
        { id: 'end_rej', kind: 'end', outcome: 'rejected' },
      ],
      edges: [
        { id: 'e0', from: 'start', to: 'route' },
        { id: 'e_big', from: 'route', to: 'director', order: 1, when: { lang: 'rhai', expr: 'record.amount > 500000' } },
        { id: 'e_small', from: 'route', to: 'manager' },
        { id: 'm_ok', from: 'manager', to: 'cc_finance', on: 'approved' },
        { id: 'm_no', from: 'manager', to: 'end_rej', on: 'rejected' },
        { id: 'd_ok', from: 'director', to: 'cc_finance', on: 'approved' },
        { id: 'd_late', from: 'director', to: 'escalate', on: 'timer:sla' },
        { id: 'e_end', from: 'cc_finance', to: 'end_ok' },
      ],
    };
    const { tree, lost } = fromDefinition(def as never);
    expect(tree.children.map((n) => `${n.type}:${n.id}`)).toEqual(['condition:route', 'cc:cc_finance']);
    const g = tree.children[0] as Extract<TNode, { type: 'condition' }>;
    expect(g.branches.map((b) => [b.when ?? null, !!b.isDefault, b.children.map((c) => c.id)])).toEqual([
      ['record.amount > 500000', false, ['director']], [null, true, ['manager']],
    ]);
    expect(lost.length).toBe(1);
    expect(lost[0]).toMatch(/^escalate/);
    // Keys the tree does not edit are written back as they were.
    const out = toDefinition(tree);
    expect(out.settings).toEqual({ calendar: 'cn' });
    expect(out.nodes.find((n) => n.id === 'manager')?.ops).toEqual({ return_to: ['start'] });
  });

  it('inserts into the root and into branches, and finds nodes', () => {
    const t = twoLevelWithCondition();
    expect(t.children.map((n) => n.id)).toEqual(['mgr', 'amt', 'fin']);
    expect(findNode(t.children, 'dir')?.type).toBe('approver');
  });

  it('adds a condition branch before the default branch and dissolves a gateway left with one branch', () => {
    let t = twoLevelWithCondition();
    t = addBranch(t, 'amt');
    const g = findNode(t.children, 'amt');
    expect(g?.type === 'condition' && g.branches.map((b) => !!b.isDefault)).toEqual([false, false, true]);
    t = removeBranch(t, (g as Extract<TNode, { type: 'condition' }>).branches[1].id);
    t = removeBranch(t, 'amt_b2');
    expect(t.children.map((n) => n.id)).toEqual(['mgr', 'dir', 'fin']);
    expect(removeNode(t, 'dir').children.map((n) => n.id)).toEqual(['mgr', 'fin']);
  });

  it('validates every problem on its node', () => {
    let t = emptyFlow('Bad Key', '');
    expect(validate(t).map((p) => p.node)).toEqual(['start', 'start', 'start']);
    t = twoLevelWithCondition();
    expect(validate(t)).toEqual([]);
    t = updateBranch(t, 'amt_b1', { when: ' ' });
    t = insertNode(t, { branch: null, index: 0 }, { ...makeNode('approver', 'nobody'), assignees: [] } as TNode);
    expect(validate(t).map((p) => p.node)).toEqual(['nobody', 'amt_b1']);
  });

  it('compiles to the crm.workflow/1 graph with gateways, joins and outcome edges', () => {
    const d = toDefinition(twoLevelWithCondition());
    expect(d.schema).toBe('crm.workflow/1');
    const kinds = Object.fromEntries(d.nodes.map((n) => [n.id, n.kind]));
    expect(kinds).toEqual({
      start: 'start', mgr: 'approval', end_rejected: 'end', amt: 'exclusive', amt_join: 'exclusive',
      dir: 'approval', fin: 'cc', end: 'end',
    });
    const e = (from: string, to: string) => d.edges.find((x) => x.from === from && x.to === to);
    expect(e('start', 'mgr')).toBeTruthy();
    expect(e('mgr', 'amt')?.on).toBe('approved');
    expect(e('mgr', 'end_rejected')?.on).toBe('rejected');
    expect(e('amt', 'dir')?.when).toEqual({ lang: 'rhai', expr: 'record.amount > 500000' });
    expect(e('dir', 'amt_join')?.on).toBe('approved');
    const dflt = e('amt', 'amt_join');
    expect(dflt?.when).toBeUndefined();
    expect(d.nodes.find((n) => n.id === 'amt')?.default).toBe(dflt?.id);
    expect(e('amt_join', 'fin')).toBeTruthy();
    expect(e('fin', 'end')).toBeTruthy();
    // every edge id is unique and every edge joins two existing nodes
    expect(new Set(d.edges.map((x) => x.id)).size).toBe(d.edges.length);
    const ids = new Set(d.nodes.map((n) => n.id));
    expect(d.edges.every((x) => ids.has(x.from as string) && ids.has(x.to as string))).toBe(true);
  });

  it('compiles parallel branches to a split and a join', () => {
    let t = emptyFlow('p', 'opportunity');
    t = insertNode(t, { branch: null, index: 0 }, makeNode('parallel', 'par'));
    t = insertNode(t, { branch: 'par_b1', index: 0 }, makeNode('approver', 'a'));
    t = insertNode(t, { branch: 'par_b2', index: 0 }, makeNode('approver', 'b'));
    const d = toDefinition(t);
    expect(d.nodes.filter((n) => n.kind === 'parallel').map((n) => n.id)).toEqual(['par', 'par_join']);
    expect(d.edges.filter((x) => x.to === 'par_join').map((x) => x.from).sort()).toEqual(['a', 'b']);
  });
});
