// Contract inventory: the generated client (src/lib/api/client.ts over schema.d.ts) calls every
// operation of crates/api/openapi.json at least once against a live `weft demo`, and every
// response must (1) have a status the document lists for the operation, (2) parse, and (3)
// match the schema the document gives that status. Fails when an operation in the document is
// not exercised. Run by scripts/contract (CONTRACT_BASE, CONTRACT_KEY: the demo's URL and API key).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { expect, test } from 'vitest';
import { makeClient } from '../src/lib/api/client';

type Json = Record<string, unknown>;
interface Param { name: string; in: string; required?: boolean; schema?: Json }
interface Operation { operationId: string; parameters?: Param[]; requestBody?: { content: Record<string, unknown> }; responses: Record<string, { content?: Record<string, { schema?: Json }> }> }

const doc = JSON.parse(readFileSync(resolve(__dirname, '../../crates/api/openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Json> };
};
const base = process.env.CONTRACT_BASE ?? 'http://127.0.0.1:8080';
const key = process.env.CONTRACT_KEY ?? '';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
type Method = (typeof METHODS)[number];

const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ $id: 'doc', components: doc.components } as Json);
const resolveRefs = (s: Json): Json => JSON.parse(JSON.stringify(s).replaceAll('"#/components/', '"doc#/components/'));

interface Seen { op: string; method: string; path: string; status: number; problem?: string; note?: string }
const seen: Seen[] = [];
const byTemplate = new Map<string, { path: string; method: string; op: Operation }>();
for (const [path, item] of Object.entries(doc.paths)) {
  for (const m of METHODS) if (item[m]) byTemplate.set(`${m.toUpperCase()} ${path}`, { path, method: m, op: item[m] });
}

// Every response of the generated client is checked against the document.
const client = makeClient(base);
client.use({
  onRequest({ request }) { if (key) request.headers.set('Authorization', `Bearer ${key}`); return request; },
  async onResponse({ request, response, schemaPath }) {
    const hit = byTemplate.get(`${request.method} ${schemaPath}`);
    if (!hit) return;
    const rec: Seen = { op: hit.op.operationId, method: request.method, path: new URL(request.url).pathname, status: response.status };
    seen.push(rec);
    const declared = hit.op.responses[String(response.status)] ?? hit.op.responses.default;
    if (!declared) { rec.problem = `status ${response.status} is not in the document (${Object.keys(hit.op.responses).join(', ')})`; return; }
    const media = Object.keys(declared.content ?? {});
    const ctype = (response.headers.get('content-type') ?? '').split(';')[0].trim();
    if (media.length === 0) return;
    const matches = (m: string) => m === ctype || m === '*/*' || (m.endsWith('/*') && ctype.startsWith(m.slice(0, -1)));
    if (!media.some(matches)) { rec.problem = `content type ${ctype || '(none)'} is not one of ${media.join(', ')}`; return; }
    const schema = (declared.content?.[ctype] ?? declared.content?.[media.find(matches) ?? ''])?.schema;
    if (ctype !== 'application/json') return;
    const text = await response.clone().text();
    let body: unknown;
    try { body = JSON.parse(text); } catch { rec.problem = `body does not parse as JSON: ${text.slice(0, 120)}`; return; }
    if (response.status >= 300) rec.note = ((body as { error?: { code?: string; message?: string } }).error?.message ?? '').slice(0, 100);
    if (schema && !ajv.validate(resolveRefs(schema), body)) rec.problem = `schema mismatch: ${ajv.errorsText(ajv.errors)}`;
  },
});

// Ids of the demo tenant's things (and scratch things the run creates and deletes).
const ids: Record<string, string> = {};
const docs: { flow?: Json; rule?: Json } = {};
const uuid0 = '00000000-0000-7000-8000-000000000000';

function pathFor(template: string, name: string): string {
  if (name === 'object') return template.includes('/automation/manual/') ? 'opportunity' : ids.object;
  if (name === 'child') return 'opportunity';
  if (name === 'field') return template.includes('/related/') ? 'account' : ids.field;
  if (name === 'rule') return ids.manualRule ?? 'none';
  if (name === 'key') return ids.flowKey;
  if (name === 'name') return ids.calendar;
  // `{id}`: what it names depends on the collection.
  const table: [string, string][] = [
    ['/auth/api-keys/', 'apiKey'], ['/automation/deliveries/', 'delivery'], ['/automation/runs/', 'run'],
    ['/automation/manual/', 'opportunity'], ['/data/', 'record'], ['/files/', 'file'], ['/flows/instances/', 'instance'],
    ['/flows/tasks/', 'task'], ['/jobs/', 'job'], ['/meta/rules/', 'ruleId'], ['/notifications/', 'notification'],
    ['/org/departments/', 'department'], ['/org/roles/', 'role'], ['/org/users/', 'user'], ['/views/', 'view'],
  ];
  for (const [prefix, k] of table) if (template.includes(prefix)) return ids[k] ?? uuid0;
  return uuid0;
}

function queryFor(template: string, name: string): string | number | boolean | undefined {
  switch (name) {
    case 'user': case 'actor': return ids.user;
    case 'object': return template.includes('/access/explain') ? 'account' : template.includes('/flows/') ? 'opportunity' : 'account';
    case 'record': return template.includes('/flows/') ? ids.opportunity : ids.account;
    case 'limit': return 5;
    case 'level': return 1;
    case 'box': return 'todo';
    case 'name': return 'contract.txt';
    case 'mode': return 'create';
    case 'dry_run': return true;
    default: return undefined;
  }
}

const now = Date.now().toString(36);
function bodyFor(template: string, method: Method): unknown {
  const t = template.replace('/api/v1', '');
  const table: Record<string, unknown> = {
    'POST /auth/api-keys': { name: `contract ${now}` },
    'POST /auth/login': { email: 'admin@demo.weft', password: 'wrong password' },
    'POST /data/{object}': { name: `contract ${now}` },
    'POST /data/{object}/bulk': { records: [{ name: `bulk ${now}` }], all_or_none: false },
    'PATCH /data/{object}/bulk': { records: [{ id: ids.account, description: 'bulk' }], all_or_none: false },
    'POST /data/{object}/query': { limit: 2, count: true },
    'PATCH /data/{object}/{id}': { description: `patched ${now}` },
    'POST /data/{object}/{id}/transfer': { owner: ids.user },
    'POST /flows/instances': { flow: 'opportunity_approval', record: ids.opportunity },
    'POST /flows/instances/{id}/actions': { action: 'comment', text: 'contract' },
    'POST /flows/tasks/{id}/actions': { action: 'comment', text: 'contract' },
    'PUT /meta/calendars/{name}': { name: ids.calendar, time_zone: 'Asia/Shanghai', holidays: ['2026-10-01'] },
    'POST /meta/flows': { ...(docs.flow ?? {}), key: ids.flowKey },
    'PUT /meta/flows/{key}': { ...(docs.flow ?? {}), key: ids.flowKey },
    'POST /meta/flows/{key}/migrate': { to_version: 1, instances: [] },
    'POST /meta/objects': { api_name: ids.object, label: { en: 'Contract' }, fields: [{ api_name: 'name', type: 'text', label: { en: 'Name' } }] },
    'PATCH /meta/objects/{object}': { description: 'contract' },
    'POST /meta/objects/{object}/fields': { api_name: ids.field, type: 'text', label: { en: 'Note' } },
    'PATCH /meta/objects/{object}/fields/{field}': { label: { en: 'Note 2' } },
    'POST /meta/objects/{object}/fields/{field}/change-type': { type: 'long_text' },
    'POST /meta/rules': docs.rule,
    'PATCH /meta/rules/{id}': { active: false },
    'POST /meta/rules/check': docs.rule,
    'POST /meta/rules/dry-run': { rule: docs.rule, limit: 10, samples: 1 },
    'POST /org/departments': { name: `contract ${now}` },
    'PATCH /org/departments/{id}': { name: `contract 2 ${now}` },
    'POST /org/roles': { key: `contract_${now}`, label: { en: 'Contract' } },
    'PATCH /org/roles/{id}': { label: { en: 'Contract 2' } },
    'POST /org/users': { name: 'Contract', email: `contract-${now}@demo.weft`, password: 'contract-pass-2026' },
    'PATCH /org/users/{id}': { name: 'Contract 2' },
    'PATCH /tenant/settings': {},
    'POST /views': { object: 'account', name: `contract ${now}`, definition: { sort: ['name'] } },
    'PATCH /views/{id}': { name: `contract 2 ${now}` },
  };
  return table[`${method.toUpperCase()} ${t}`] ?? {};
}

async function call(method: Method, template: string): Promise<unknown> {
  const { op } = byTemplate.get(`${method.toUpperCase()} ${template}`)!;
  const path: Record<string, string> = {};
  const query: Record<string, string | number | boolean> = {};
  for (const p of op.parameters ?? []) {
    if (p.in === 'path') path[p.name] = pathFor(template, p.name);
    else if (p.in === 'query') { const v = queryFor(template, p.name); if (v !== undefined) query[p.name] = v; }
  }
  // Read every body as text (CSV and file downloads too); the middleware checks it against the document.
  const init: Json = { params: { path, query }, parseAs: 'text' };
  const content = Object.keys(op.requestBody?.content ?? {});
  if (content.includes('application/octet-stream')) {
    Object.assign(init, { body: 'contract bytes', bodySerializer: (b: unknown) => b, headers: { 'Content-Type': 'text/plain' } });
  } else if (content.length) init.body = bodyFor(template, method);
  if (template.endsWith('/automation/manual/{object}/{id}/{rule}')) init.headers = { 'Idempotency-Key': `contract-${now}` };
  const r = await (client.request as (m: string, u: string, i: Json) => Promise<{ data?: unknown; response: Response }>)(method, template, init);
  if (!r.response.ok || typeof r.data !== 'string' || !r.response.headers.get('content-type')?.includes('json')) return undefined;
  try { return JSON.parse(r.data); } catch { return undefined; }
}

const get = async (template: string) => (await call('get', template)) as Json | undefined;
const list = (x: Json | undefined, k: string) => ((x?.[k] ?? []) as Json[]);

test('every operation in the document is called by the generated client and answers as documented', async () => {
  // Fixtures from the demo tenant.
  ids.user = String(list(await get('/api/v1/org/users'), 'users')[0]?.id ?? uuid0);
  ids.department = String(list(await get('/api/v1/org/departments'), 'departments')[0]?.id ?? uuid0);
  ids.object = 'account';
  const accounts = list((await call('post', '/api/v1/data/{object}/query')) as Json, 'records');
  ids.account = String(accounts[0]?.id ?? uuid0);
  ids.record = ids.account;
  ids.object = 'opportunity';
  ids.opportunity = String(list((await call('post', '/api/v1/data/{object}/query')) as Json, 'records')[0]?.id ?? uuid0);
  ids.object = 'account';
  ids.flowKey = 'opportunity_approval';
  docs.flow = (await get('/api/v1/meta/flows/{key}'))?.definition as Json | undefined;
  const manual = list(await get('/api/v1/automation/manual/{object}'), 'actions');
  ids.manualRule = String(manual[0]?.rule ?? 'none');
  docs.rule = { format: 'weft.rule/1', api_name: `contract_${now}`, object: 'account', kind: 'validation', label: 'Contract', condition: 'true', message: 'never shown' };
  ids.calendar = `contract_${now}`;

  // Reads and writes on the demo's own things, then scratch things created and removed here.
  const order: Method[] = ['get', 'post', 'put', 'patch', 'delete'];
  const templates = [...byTemplate.values()].sort((a, b) => order.indexOf(a.method as Method) - order.indexOf(b.method as Method));
  // Scratch object, field, record, view, role, department, rule and key for the destructive calls.
  ids.object = `contract_${now}`;
  ids.field = 'note';
  await call('post', '/api/v1/meta/objects');
  await call('post', '/api/v1/meta/objects/{object}/fields');
  ids.record = String(((await call('post', '/api/v1/data/{object}')) as Json | undefined)?.id ?? uuid0);
  ids.view = String(((await call('post', '/api/v1/views')) as Json | undefined)?.id ?? uuid0);
  ids.role = String(((await call('post', '/api/v1/org/roles')) as Json | undefined)?.id ?? uuid0);
  ids.department = String(((await call('post', '/api/v1/org/departments')) as Json | undefined)?.id ?? ids.department);
  ids.ruleId = String(((await call('post', '/api/v1/meta/rules')) as Json | undefined)?.id ?? uuid0);
  ids.apiKey = String(((await call('post', '/api/v1/auth/api-keys')) as Json | undefined)?.id ?? uuid0);
  ids.file = String(((await call('post', '/api/v1/files')) as Json | undefined)?.id ?? uuid0);
  const started = (await call('post', '/api/v1/flows/instances')) as Json | undefined;
  ids.instance = String(started?.id ?? uuid0);
  ids.task = String(list(await get('/api/v1/flows/tasks'), 'items')[0]?.id ?? uuid0);
  for (const { path, method } of templates) {
    if (path.endsWith('/auth/logout')) continue; // last of all
    await call(method as Method, path);
  }
  await call('post', '/api/v1/auth/logout');

  const exercised = new Set(seen.map((s) => s.op));
  const missing = [...byTemplate.values()].map((t) => t.op.operationId).filter((op) => !exercised.has(op));
  const problems = seen.filter((s) => s.problem).map((s) => `${s.op} ${s.method} ${s.path} → ${s.status}: ${s.problem}`);
  const no2xx = [...exercised].filter((op) => !seen.some((s) => s.op === op && s.status < 300));
  console.log(`inventory: ${exercised.size}/${byTemplate.size} operations exercised, ${seen.length} calls, ${no2xx.length} never answered 2xx:`);
  for (const op of no2xx.sort()) {
    const last = seen.filter((s) => s.op === op).pop();
    console.log(`  ${op}: ${last?.status} ${last?.note ?? ''}`);
  }
  for (const p of [...new Set(problems)]) console.log(`  problem: ${p}`);
  expect(missing, 'operations in the document the inventory did not call').toEqual([]);
  expect([...new Set(problems)], 'responses that do not match the document').toEqual([]);
});
