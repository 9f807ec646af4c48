// The web app's API: one function per call the screens make, over the generated client
// (client.ts; paths and schemas from crates/api/openapi.json). Components and tests use `api.*`.
import type { Filter, Label, ObjectDef, RecordData, RecordPage, Session } from '../types';
import { body, client, loose, looseQuery, ok, type Schemas } from './client';

export { ApiError, client, makeClient, setCsrf, type Problem, type Schemas } from './client';

export type FileRef = Pick<Schemas['FileInfo'], 'id' | 'name' | 'size' | 'content_type'>;

/** Upload one file's bytes (`POST /files?name=`); the result goes into an attachment field. */
export async function uploadFile(file: File): Promise<FileRef> {
  const f = await ok(client.POST('/api/v1/files', {
    params: looseQuery({ name: file.name }),
    body: file as never,
    bodySerializer: (b: unknown) => b as BodyInit,
    headers: { 'Content-Type': file.type || 'application/octet-stream' },
  }));
  return { id: f.id, name: f.name, size: f.size, content_type: f.content_type };
}

// TODO(typed-api): every `loose<…>` below names a local type because the document's response
// is a bare `{type: object}`; switch to the generated type after the document is complete.
export const api = {
  login: (email: string, password: string) =>
    loose<{ csrf_token: string }>(client.POST('/api/v1/auth/login', { body: { email, password } })),
  logout: () => ok(client.POST('/api/v1/auth/logout')).then(() => undefined),
  session: () => loose<Session>(client.GET('/api/v1/auth/session')),
  objects: () => loose<{ objects: ObjectDef[]; version: number }>(client.GET('/api/v1/meta/objects')),
  object: (name: string) => loose<ObjectDef>(client.GET('/api/v1/meta/objects/{object}', { params: { path: { object: name } } })),
  createObject: (def: ObjectDef) => loose<ObjectDef>(client.POST('/api/v1/meta/objects', { body: body(def) })),
  updateObject: (name: string, patch: Partial<ObjectDef>) =>
    loose<ObjectDef>(client.PATCH('/api/v1/meta/objects/{object}', { params: { path: { object: name } }, body: body(patch) })),
  addField: (obj: string, f: object) =>
    loose<ObjectDef>(client.POST('/api/v1/meta/objects/{object}/fields', { params: { path: { object: obj } }, body: body(f) })),
  updateField: (obj: string, name: string, f: object) =>
    loose<ObjectDef>(client.PATCH('/api/v1/meta/objects/{object}/fields/{field}', { params: { path: { object: obj, field: name } }, body: body(f) })),
  deleteField: (obj: string, name: string) =>
    loose<ObjectDef>(client.DELETE('/api/v1/meta/objects/{object}/fields/{field}', { params: looseQuery({}, { object: obj, field: name }) })),
  query: (obj: string, q: { filter?: Filter; sort?: string[]; limit?: number; cursor?: string | null; fields?: string[]; expand?: string[]; count?: boolean }) =>
    loose<RecordPage>(client.POST('/api/v1/data/{object}/query', { params: { path: { object: obj } }, body: body(q) })),
  getExpanded: (obj: string, id: string, expand: string[]) =>
    loose<RecordData>(client.GET('/api/v1/data/{object}/{id}', {
      params: looseQuery({ expand: expand.length ? expand.join(',') : undefined }, { object: obj, id }),
    })),
  create: (obj: string, data: Record<string, unknown>) =>
    loose<RecordData>(client.POST('/api/v1/data/{object}', { params: { path: { object: obj } }, body: data })),
  update: (obj: string, id: string, data: Record<string, unknown>, version?: number) =>
    loose<RecordData>(client.PATCH('/api/v1/data/{object}/{id}', {
      params: { path: { object: obj, id }, header: version ? { 'If-Match': `"${version}"` } : undefined }, body: data,
    })),
  remove: (obj: string, id: string) =>
    ok(client.DELETE('/api/v1/data/{object}/{id}', { params: { path: { object: obj, id } } })).then(() => undefined),
  history: (obj: string, id: string) =>
    loose<{ changes: HistoryEntry[] }>(client.GET('/api/v1/data/{object}/{id}/history', { params: looseQuery({}, { object: obj, id }) })),
  relationships: (obj: string, id: string) =>
    loose<{ relationships?: Relationship[] } | Relationship[]>(client.GET('/api/v1/data/{object}/{id}/related', { params: { path: { object: obj, id } } })),
  related: (obj: string, id: string, child: string, field: string) =>
    loose<RecordPage>(client.GET('/api/v1/data/{object}/{id}/related/{child}/{field}', {
      params: looseQuery({ limit: 20 }, { object: obj, id, child, field }),
    })),
  users: () => loose<{ users?: OrgEntry[] } | OrgEntry[]>(client.GET('/api/v1/org/users')),
  departments: () => loose<{ departments?: OrgEntry[] } | OrgEntry[]>(client.GET('/api/v1/org/departments')),
  roles: () => loose<{ roles?: { key?: string }[] } | { key?: string }[]>(client.GET('/api/v1/org/roles')),
  // Approvals (待我审批 / 已办 / 我发起的 / 抄送我的) and the flows a record can be submitted to.
  startable: (obj: string) =>
    loose<{ flows: { key: string; name?: Label; version: number }[] }>(client.GET('/api/v1/flows/startable', { params: looseQuery({ object: obj }) })),
  startFlow: (flow: string, record: string) => loose<FlowInstance>(client.POST('/api/v1/flows/instances', { body: { flow, record } })),
  inbox: (box: 'todo' | 'done' | 'started' | 'cc') =>
    loose<{ items: InboxItem[] }>(client.GET('/api/v1/flows/tasks', { params: looseQuery({ box }) })),
  instance: (id: string) => loose<FlowInstance>(client.GET('/api/v1/flows/instances/{id}', { params: { path: { id } } })),
  /** A record's approvals, for anyone who may read it; `can_open`: the caller may open the details. */
  recordInstances: (obj: string, id: string) =>
    loose<{ instances: (FlowInstance & { created_at?: string; can_open?: boolean })[] }>(
      client.GET('/api/v1/flows/instances', { params: looseQuery({ object: obj, record: id }) })),
  actOnTask: (task: string, b: Record<string, unknown>) =>
    loose<FlowInstance>(client.POST('/api/v1/flows/tasks/{id}/actions', { params: { path: { id: task } }, body: b })),
  actOnInstance: (id: string, b: Record<string, unknown>) =>
    loose<FlowInstance>(client.POST('/api/v1/flows/instances/{id}/actions', { params: { path: { id } }, body: b })),
  flows: () => loose<{ flows: FlowRow[] }>(client.GET('/api/v1/meta/flows')),
  flow: <D = unknown>(key: string) => loose<{ definition: D }>(client.GET('/api/v1/meta/flows/{key}', { params: { path: { key } } })),
  flowVersions: <V = unknown>(key: string) =>
    loose<{ versions: V[] }>(client.GET('/api/v1/meta/flows/{key}/versions', { params: { path: { key } } })),
  saveFlow: (key: string, def: object, exists: boolean) => exists
    ? loose<unknown>(client.PUT('/api/v1/meta/flows/{key}', { params: { path: { key } }, body: body(def) }))
    : loose<unknown>(client.POST('/api/v1/meta/flows', { body: body(def) })),
  flowExists: (key: string) => ok(client.GET('/api/v1/meta/flows/{key}', { params: { path: { key } } })).then(() => true, (e) => {
    if (e instanceof Error && (e as { status?: number }).status === 404) return false;
    throw e;
  }),
  publishFlow: (key: string) => loose<{ version: number }>(client.POST('/api/v1/meta/flows/{key}/publish', { params: { path: { key } } })),
  rules: () => loose<{ rules: RuleRow[] }>(client.GET('/api/v1/meta/rules', { params: looseQuery({}) })),
  createRule: (doc: object) => loose<RuleRow>(client.POST('/api/v1/meta/rules', { body: body(doc) })),
  updateRule: (id: string, doc: object) => loose<RuleRow>(client.PATCH('/api/v1/meta/rules/{id}', { params: { path: { id } }, body: body(doc) })),
  checkRule: (doc: object) => loose<{ ok: boolean; problems: RuleProblem[] }>(client.POST('/api/v1/meta/rules/check', { body: body(doc) })),
  dryRun: (doc: object) => loose<DryRun>(client.POST('/api/v1/meta/rules/dry-run', { body: { rule: doc, limit: 10000, samples: 5 } })),
  notifications: () => loose<{ notifications: Notice[] }>(client.GET('/api/v1/notifications', { params: looseQuery({ limit: 20 }) })),
  readNotification: (id: string) => loose<unknown>(client.POST('/api/v1/notifications/{id}/read', { params: { path: { id } } })),
  // Saved list views: the caller's own and the shared ones of an object.
  views: (obj: string) =>
    loose<{ views: SavedView[]; default_view: string | null }>(client.GET('/api/v1/views', { params: looseQuery({ object: obj }) })),
  createView: (v: { object: string; name: string; shared?: boolean; default?: boolean; definition: ViewDefinition }) =>
    loose<SavedView>(client.POST('/api/v1/views', { body: body(v) })),
  updateView: (id: string, patch: { name?: string; shared?: boolean; default?: boolean; definition?: ViewDefinition; version?: number }) =>
    loose<SavedView>(client.PATCH('/api/v1/views/{id}', { params: { path: { id } }, body: body(patch) })),
  deleteView: (id: string) => ok(client.DELETE('/api/v1/views/{id}', { params: { path: { id } } })).then(() => undefined),
  manualActions: (obj: string) =>
    loose<{ actions: { rule: string; label: string; allowed: boolean }[] }>(client.GET('/api/v1/automation/manual/{object}', { params: { path: { object: obj } } })),
  runManual: (obj: string, id: string, rule: string, key: string) =>
    loose<unknown>(client.POST('/api/v1/automation/manual/{object}/{id}/{rule}', {
      params: { path: { object: obj, id, rule }, header: { 'Idempotency-Key': key } },
    })),
};

/** A member, department or role of the tenant as the pickers need it. */
export interface OrgEntry { id: string; name: string; status?: string }

export interface FlowRow { key: string; latest_version?: number | null; definition?: { name?: Label } }

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
