// A small fetch wrapper: session cookie + CSRF header on writes, the error envelope as ApiError.
import type { Label, ObjectDef, Problem, RecordData, RecordPage, Session, Filter } from './types';

export class ApiError extends Error {
  status: number;
  code: string;
  details: Problem[];
  constructor(status: number, code: string, message: string, details: Problem[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
  /** Problems keyed by their top-level field (`/amount` → `amount`). */
  byField(prefix = ''): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const d of this.details) {
      let p = d.path;
      if (prefix && p.startsWith(prefix)) p = p.slice(prefix.length);
      const key = p.split('/').filter(Boolean)[0] ?? '';
      (out[key] ??= []).push(d.message);
    }
    return out;
  }
}

let csrf: string | null = null;
export function setCsrf(token: string | null) { csrf = token; }

export async function request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const h: Record<string, string> = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) h['X-CSRF-Token'] = csrf;
  const res = await fetch(`/api/v1${path}`, {
    method, headers: h, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const e = json?.error ?? {};
    throw new ApiError(res.status, e.code ?? 'http_' + res.status, e.message ?? res.statusText, e.details ?? []);
  }
  return json as T;
}

const enc = encodeURIComponent;

export interface FileRef { id: string; name: string; size: number; content_type: string }

/** Upload one file's bytes (`POST /files?name=`); the result goes into an attachment field. */
export async function uploadFile(file: File): Promise<FileRef> {
  const h: Record<string, string> = { Accept: 'application/json', 'Content-Type': file.type || 'application/octet-stream' };
  if (csrf) h['X-CSRF-Token'] = csrf;
  const res = await fetch(`/api/v1/files?name=${enc(file.name)}`, { method: 'POST', headers: h, credentials: 'same-origin', body: file });
  const json = await res.json().catch(() => undefined);
  if (!res.ok) {
    const e = json?.error ?? {};
    throw new ApiError(res.status, e.code ?? 'http_' + res.status, e.message ?? res.statusText, e.details ?? []);
  }
  return { id: json.id, name: json.name, size: json.size, content_type: json.content_type };
}

export const api = {
  login: (email: string, password: string) =>
    request<{ csrf_token: string }>('POST', '/auth/login', { email, password }),
  logout: () => request<void>('POST', '/auth/logout'),
  session: () => request<Session>('GET', '/auth/session'),
  objects: () => request<{ objects: ObjectDef[]; version: number }>('GET', '/meta/objects'),
  object: (name: string) => request<ObjectDef>('GET', `/meta/objects/${enc(name)}`),
  createObject: (def: ObjectDef) => request<ObjectDef>('POST', '/meta/objects', def),
  updateObject: (name: string, patch: Partial<ObjectDef>) => request<ObjectDef>('PATCH', `/meta/objects/${enc(name)}`, patch),
  addField: (obj: string, f: unknown) => request<ObjectDef>('POST', `/meta/objects/${enc(obj)}/fields`, f),
  updateField: (obj: string, name: string, f: unknown) => request<ObjectDef>('PATCH', `/meta/objects/${enc(obj)}/fields/${enc(name)}`, f),
  deleteField: (obj: string, name: string) => request<ObjectDef>('DELETE', `/meta/objects/${enc(obj)}/fields/${enc(name)}`),
  query: (obj: string, q: { filter?: Filter; sort?: string[]; limit?: number; cursor?: string | null; fields?: string[]; expand?: string[]; count?: boolean }) =>
    request<RecordPage>('POST', `/data/${enc(obj)}/query`, q),
  getExpanded: (obj: string, id: string, expand: string[]) =>
    request<RecordData>('GET', `/data/${enc(obj)}/${enc(id)}${expand.length ? `?expand=${expand.map(enc).join(',')}` : ''}`),
  create: (obj: string, data: Record<string, unknown>) => request<RecordData>('POST', `/data/${enc(obj)}`, data),
  update: (obj: string, id: string, data: Record<string, unknown>, version?: number) =>
    request<RecordData>('PATCH', `/data/${enc(obj)}/${enc(id)}`, data, version ? { 'If-Match': `"${version}"` } : {}),
  remove: (obj: string, id: string) => request<void>('DELETE', `/data/${enc(obj)}/${enc(id)}`),
  history: (obj: string, id: string) => request<{ changes: HistoryEntry[] }>('GET', `/data/${enc(obj)}/${enc(id)}/history`),
  relationships: (obj: string, id: string) => request<{ relationships?: Relationship[] } | Relationship[]>('GET', `/data/${enc(obj)}/${enc(id)}/related`),
  related: (obj: string, id: string, child: string, field: string) =>
    request<RecordPage>('GET', `/data/${enc(obj)}/${enc(id)}/related/${enc(child)}/${enc(field)}?limit=20`),
  users: () => request<unknown>('GET', '/org/users'),
  // Approvals (待我审批 / 已办 / 我发起的 / 抄送我的) and the flows a record can be submitted to.
  startable: (obj: string) => request<{ flows: { key: string; name?: Label; version: number }[] }>('GET', `/flows/startable?object=${enc(obj)}`),
  startFlow: (flow: string, record: string) => request<FlowInstance>('POST', '/flows/instances', { flow, record }),
  inbox: (box: 'todo' | 'done' | 'started' | 'cc') => request<{ items: InboxItem[] }>('GET', `/flows/tasks?box=${box}`),
  instance: (id: string) => request<FlowInstance>('GET', `/flows/instances/${enc(id)}`),
  /** A record's approvals, for anyone who may read it; `can_open`: the caller may open the details. */
  recordInstances: (obj: string, id: string) =>
    request<{ instances: (FlowInstance & { created_at?: string; can_open?: boolean })[] }>('GET', `/flows/instances?object=${enc(obj)}&record=${enc(id)}`),
  actOnTask: (task: string, body: Record<string, unknown>) => request<FlowInstance>('POST', `/flows/tasks/${enc(task)}/actions`, body),
  actOnInstance: (id: string, body: Record<string, unknown>) => request<FlowInstance>('POST', `/flows/instances/${enc(id)}/actions`, body),
  saveFlow: (key: string, def: unknown, exists: boolean) =>
    request<unknown>(exists ? 'PUT' : 'POST', exists ? `/meta/flows/${enc(key)}` : '/meta/flows', def),
  flowExists: (key: string) => request<unknown>('GET', `/meta/flows/${enc(key)}`).then(() => true, (e) => { if (e instanceof ApiError && e.status === 404) return false; throw e; }),
  publishFlow: (key: string) => request<{ version: number }>('POST', `/meta/flows/${enc(key)}/publish`, {}),
  rules: () => request<{ rules: RuleRow[] }>('GET', '/meta/rules'),
  createRule: (doc: unknown) => request<RuleRow>('POST', '/meta/rules', doc),
  updateRule: (id: string, doc: unknown) => request<RuleRow>('PATCH', `/meta/rules/${enc(id)}`, doc),
  checkRule: (doc: unknown) => request<{ ok: boolean; problems: RuleProblem[] }>('POST', '/meta/rules/check', doc),
  dryRun: (doc: unknown) => request<DryRun>('POST', '/meta/rules/dry-run', { rule: doc, limit: 10000, samples: 5 }),
  notifications: () => request<{ notifications: Notice[] }>('GET', '/notifications?limit=20'),
  readNotification: (id: string) => request<unknown>('POST', `/notifications/${enc(id)}/read`, {}),
  // Saved list views: the caller's own and the shared ones of an object.
  views: (obj: string) => request<{ views: SavedView[]; default_view: string | null }>('GET', `/views?object=${enc(obj)}`),
  createView: (v: { object: string; name: string; shared?: boolean; default?: boolean; definition: ViewDefinition }) =>
    request<SavedView>('POST', '/views', v),
  updateView: (id: string, patch: { name?: string; shared?: boolean; default?: boolean; definition?: ViewDefinition; version?: number }) =>
    request<SavedView>('PATCH', `/views/${enc(id)}`, patch),
  deleteView: (id: string) => request<void>('DELETE', `/views/${enc(id)}`),
  manualActions: (obj: string) => request<{ actions: { rule: string; label: string; allowed: boolean }[] }>('GET', `/automation/manual/${enc(obj)}`),
  runManual: (obj: string, id: string, rule: string, key: string) =>
    request<unknown>('POST', `/automation/manual/${enc(obj)}/${enc(id)}/${enc(rule)}`, {}, { 'Idempotency-Key': key }),
};

export interface ViewDefinition {
  filter?: Filter | null; sort?: string[]; columns?: string[]; page_size?: number | null;
  mode?: 'list' | 'kanban' | 'calendar'; group_field?: string | null;
}

export interface SavedView {
  id: string; object: string; name: string; shared: boolean; owner: string; mine: boolean; editable: boolean;
  default: boolean; restricted: boolean; definition: ViewDefinition; version: number; created_at: string; updated_at: string;
}

export interface InboxItem {
  id?: string; instance: string; node?: string; flow: string; flow_name?: Label | null; object: string; record_id: string;
  status?: string; created_at: string; closed_at?: string | null; positions?: string[];
}

export interface FlowTask { id: string; task: number; node: string; assignee: string; status: string; kind: string; created_at: string; closed_at?: string | null }

export interface FlowInstance {
  id: string; flow: string; object: string; record_id: string; initiator: string; status: string;
  positions?: string[]; tasks?: FlowTask[];
  history?: { seq: number; at: string; actor: string | null; event: string; node: string | null; data: Record<string, unknown> }[];
}

export interface Notice { id: string; title: string; body: string; object?: string | null; record_id?: string | null; read_at?: string | null; created_at: string }

export interface HistoryEntry {
  id: string; op: string; actor: string | null; source: string; at: string; version: number;
  changes: Record<string, { old?: unknown; new?: unknown } | unknown>;
}

export interface Relationship { object: string; field: string; count: number; label?: Label; field_label?: Label }

export interface RuleRow { id: string; api_name: string; object: string; kind: string; active: boolean; version: number; doc: Record<string, unknown> }
export interface RuleProblem { path: string; code: string; message: string; line?: number; column?: number }
export interface DryRun { scanned: number; matched: number; errors: number; samples: unknown[]; actions_would_fire?: unknown; truncated: boolean }
