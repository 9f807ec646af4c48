import { describe, expect, it } from 'vitest';
import { addBranch, emptyFlow, findNode, insertNode, makeNode, removeBranch, removeNode, toDefinition, updateBranch, validate } from './tree';
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
