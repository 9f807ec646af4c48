// A running (or finished) instance drawn as the approval tree: the published graph of the
// instance's version (`GET /flows/instances/{id}` → `graph`) is folded back into the
// designer's vertical tree (start → nodes → branches side by side → end), and every node gets
// its state from the instance's position, visited nodes, tasks, CC rows and timeline.
// Pure functions: tested without a browser (instance.test.ts).
import type { FlowLabel } from './tree';

/** A name as the instance view sends it: open JSON in the document, a label in practice. */
type Name = FlowLabel | Record<string, unknown> | null;

export interface GNode { id: string; kind: string; name?: Name; active?: boolean; visited?: boolean; outcome?: string | null }
export interface GEdge { id: string; from: string; to: string; on?: string | null; when?: { expr?: string } | null; name?: Name; order?: number | null }

export interface ViewTask { id: string; node: string; assignee: string; status: string; reason?: string | null; kind?: string; created_at: string; closed_at?: string | null }
export interface ViewEvent { seq: number; at: string; actor?: string | null; event: string; node?: string | null; data: Record<string, unknown> | null }

/** The part of the instance view (`GET /flows/instances/{id}`) the drawing needs. */
export interface InstanceView {
  id: string;
  status: string;
  initiator: string;
  created_at?: string;
  graph?: { nodes: GNode[]; edges: GEdge[] | null };
  tasks?: ViewTask[];
  cc?: { user: string; node: string; at: string }[];
  history?: ViewEvent[];
}

export type Item =
  | { type: 'node'; id: string; kind: string }
  | { type: 'gateway'; id: string; kind: string; branches: BranchView[] }
  | { type: 'end'; id: string };

export interface BranchView { edge: string; name?: Name; when?: string; isDefault: boolean; items: Item[] }

export interface TreeView {
  start: string | null;
  items: Item[];
  /** Nodes off the main path (timeout or error routes): listed so a position there is still shown. */
  others: string[];
}

const GATEWAYS = new Set(['exclusive', 'parallel', 'inclusive']);
/** Edges of the normal continuation; `rejected`, `error` and `timer:*` are exception routes. */
const isMain = (e: GEdge) => !e.on || e.on === 'approved' || e.on === 'done';

/** Fold the graph into a tree. Splits become gateways whose branches run to the first node
 * every branch reaches (their merge); joins are not drawn; cycles stop where they close. */
export function graphToTree(nodes: GNode[], edges: GEdge[]): TreeView {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const index = new Map(edges.map((e, i) => [e.id, i]));
  const outs = new Map<string, GEdge[]>();
  for (const e of edges) {
    if (!isMain(e) || !byId.has(e.to)) continue;
    const l = outs.get(e.from) ?? [];
    l.push(e);
    outs.set(e.from, l);
  }
  // Branch order as the engine evaluates it: `order`, then definition order, the default last.
  for (const l of outs.values()) {
    l.sort((a, b) => (a.when ? 0 : 1) - (b.when ? 0 : 1) || (a.order ?? 1e9) - (b.order ?? 1e9) || index.get(a.id)! - index.get(b.id)!);
  }
  const reachMemo = new Map<string, Set<string>>();
  const reach = (id: string): Set<string> => {
    const hit = reachMemo.get(id);
    if (hit) return hit;
    const seen = new Set<string>([id]);
    const stack = [id];
    while (stack.length) {
      const c = stack.pop()!;
      for (const e of outs.get(c) ?? []) if (!seen.has(e.to)) { seen.add(e.to); stack.push(e.to); }
    }
    reachMemo.set(id, seen);
    return seen;
  };
  const mergeOf = (targets: string[]): string | null => {
    const sets = targets.map(reach);
    const common = [...sets[0]].filter((id) => sets.every((s) => s.has(id)));
    if (!common.length) return null;
    // The first common node: the one from which every other common node is reachable.
    return common.find((c) => common.every((d) => reach(c).has(d)))
      ?? common.reduce((a, b) => (reach(b).size > reach(a).size ? b : a));
  };
  const placed = new Set<string>();
  const seq = (from: string | null, stop: string | null): Item[] => {
    const items: Item[] = [];
    let cur = from;
    while (cur && cur !== stop && !placed.has(cur)) {
      const n = byId.get(cur);
      if (!n) break;
      placed.add(cur);
      const next = outs.get(cur) ?? [];
      if (n.kind === 'end') { items.push({ type: 'end', id: cur }); break; }
      if (next.length >= 2) {
        const merge = mergeOf(next.map((e) => e.to));
        const branches = next.map((e): BranchView => ({
          edge: e.id, name: e.name, when: e.when?.expr, isDefault: !e.when && n.kind !== 'parallel',
          items: seq(e.to, merge),
        }));
        items.push({ type: 'gateway', id: cur, kind: n.kind, branches });
        cur = merge;
        continue;
      }
      if (!GATEWAYS.has(n.kind) && n.kind !== 'start') items.push({ type: 'node', id: cur, kind: n.kind });
      cur = next[0]?.to ?? null;
    }
    return items;
  };
  const start = nodes.find((n) => n.kind === 'start')?.id ?? null;
  const items = seq(start, null);
  const others = nodes.filter((n) => !placed.has(n.id) && n.kind !== 'end' && !GATEWAYS.has(n.kind)).map((n) => n.id);
  return { start, items, others };
}

export type NodeState = 'current' | 'done' | 'pending' | 'skipped';
export type Outcome = 'approved' | 'rejected' | 'returned' | 'cc' | 'passed' | 'failed';

export interface Act { user: string | null; at: string; decision: string; comment?: string }

export interface NodeStatus {
  state: NodeState;
  outcome?: Outcome;
  /** Open assignees while current. */
  open: string[];
  /** Who did what there, oldest first. */
  acts: Act[];
}

const RUNNING = new Set(['running', 'incident']);
const DECIDED: Record<string, string> = { approve: 'approved', reject: 'rejected' };

/** Each node's state: current (a token or open task there), done (visited; with the outcome and
 * who acted when), skipped (not taken: on an untaken branch or the instance ended) or pending. */
export function nodeStates(view: InstanceView, tree?: TreeView): Record<string, NodeStatus> {
  const nodes = view.graph?.nodes ?? [];
  const tasks = view.tasks ?? [];
  const history = [...(view.history ?? [])].sort((a, b) => a.seq - b.seq);
  const running = RUNNING.has(view.status);
  const out: Record<string, NodeStatus> = {};
  for (const n of nodes) {
    const mine = tasks.filter((t) => t.node === n.id);
    const open = mine.filter((t) => t.status === 'open').map((t) => t.assignee);
    const events = history.filter((h) => h.node === n.id);
    const acts: Act[] = [];
    let outcome: Outcome | undefined;
    if (n.kind === 'start') {
      for (const h of history) {
        if (h.event === 'started' || h.event === 'resubmitted') acts.push({ user: h.actor ?? view.initiator, at: h.at, decision: h.event === 'started' ? 'submitted' : 'resubmitted' });
      }
      if (!acts.length && view.created_at) acts.push({ user: view.initiator, at: view.created_at, decision: 'submitted' });
      outcome = 'passed';
    } else if (n.kind === 'approval') {
      for (const h of events) {
        const d = h.data ?? {};
        const comment = typeof d.comment === 'string' && d.comment ? d.comment : undefined;
        // The engine logs the command (`approve` / `reject`); the drawing speaks in outcomes.
        if (h.event === 'task_decided') acts.push({ user: h.actor ?? null, at: h.at, decision: DECIDED[String(d.decision)] ?? String(d.decision ?? ''), comment });
        if (h.event === 'returned') acts.push({ user: h.actor ?? null, at: h.at, decision: 'returned', comment });
        if (h.event === 'auto_approved' || h.event === 'timeout_auto_decided') acts.push({ user: null, at: h.at, decision: String(d.outcome ?? 'approved') });
      }
      if (!acts.length) {
        for (const t of mine) if ((t.status === 'approved' || t.status === 'rejected') && t.closed_at) acts.push({ user: t.assignee, at: t.closed_at, decision: t.status });
      }
      // The node's last word: its decision, or a 退回 after it.
      const last = [...events].reverse().find((h) => h.event === 'node_decided' || h.event === 'returned' || h.event === 'auto_approved');
      if (last?.event === 'returned') outcome = 'returned';
      else if (last?.event === 'node_decided') outcome = String(last.data?.outcome) === 'rejected' ? 'rejected' : 'approved';
      else if (last) outcome = 'approved';
      else if (mine.some((t) => t.status === 'rejected')) outcome = 'rejected';
      else if (mine.some((t) => t.status === 'approved')) outcome = 'approved';
      else if (mine.some((t) => t.reason === 'returned')) outcome = 'returned';
    } else if (n.kind === 'cc') {
      for (const c of view.cc ?? []) if (c.node === n.id) acts.push({ user: c.user, at: c.at, decision: 'cc' });
      outcome = 'cc';
    } else {
      const failed = events.some((h) => h.event.endsWith('failed'));
      for (const h of events) acts.push({ user: h.actor ?? null, at: h.at, decision: h.event });
      outcome = failed ? 'failed' : 'passed';
    }
    const current = running && (!!n.active || open.length > 0);
    const state: NodeState = current ? 'current' : n.visited ? 'done' : running ? 'pending' : 'skipped';
    out[n.id] = { state, outcome: state === 'done' ? outcome : undefined, open: current ? open : [], acts };
  }
  if (tree && running) {
    // Untaken branches of a decided exclusive/inclusive gateway are skipped, not pending.
    const touched = (items: Item[]): boolean => items.some((it) => {
      const s = out[it.id]?.state;
      if (s === 'current' || s === 'done') return true;
      return it.type === 'gateway' && it.branches.some((b) => touched(b.items));
    });
    const skip = (items: Item[]) => items.forEach((it) => {
      if (out[it.id]?.state === 'pending') out[it.id].state = 'skipped';
      if (it.type === 'gateway') it.branches.forEach((b) => skip(b.items));
    });
    const walk = (items: Item[]) => items.forEach((it) => {
      if (it.type !== 'gateway') return;
      const decided = it.kind !== 'parallel' && (out[it.id]?.state === 'done' || it.branches.some((b) => touched(b.items)));
      for (const b of it.branches) {
        if (decided && !touched(b.items)) skip(b.items); else walk(b.items);
      }
    });
    walk(tree.items);
  }
  return out;
}

/** Best guess at an end node's outcome: the `end_reached` event, else its incoming routes. */
export function endOutcome(id: string, view: InstanceView): 'approved' | 'rejected' {
  const n = view.graph?.nodes.find((x) => x.id === id);
  if (n?.outcome === 'approved' || n?.outcome === 'rejected') return n.outcome;
  const reached = (view.history ?? []).find((h) => h.event === 'end_reached' && h.node === id);
  if (reached) return reached.data?.outcome === 'rejected' ? 'rejected' : 'approved';
  const into = (view.graph?.edges ?? []).filter((e) => e.to === id);
  return into.length > 0 && into.every((e) => e.on === 'rejected' || e.on === 'error') ? 'rejected' : 'approved';
}
