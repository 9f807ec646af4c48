// The rule editor's form face: every part of a `weft.rule/1` document as form controls —
// trigger events, watched fields, condition and expressions with field completion (type
// `record.`), actions with template editing (type `{{`). It edits the same document as the
// JSON face; anything the form does not model is kept as is.
import { useEffect, useState } from 'react';
import { Button, Card, Checkbox, Col, Form, Input, InputNumber, Mentions, Row, Select, Space, Switch, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { api } from '../lib/api';
import type { RuleProblem } from '../lib/api';
import { lbl } from '../lib/i18n';
import type { FieldDef, ObjectDef } from '../lib/types';
import { liveFields } from './fields';

const L = (zh: string, en: string) => lbl({ zh, en });

export type RuleDoc = Record<string, unknown>;
type Action = Record<string, unknown>;

export const KINDS = ['trigger', 'validation', 'required', 'read_only', 'formula', 'default', 'rollup'] as const;
const KIND_LABEL: Record<string, [string, string]> = {
  trigger: ['触发动作（保存后）', 'Trigger (after save)'], validation: ['校验（保存前）', 'Validation (before save)'],
  required: ['条件必填', 'Required when'], read_only: ['条件只读', 'Read-only when'], formula: ['计算字段', 'Formula'],
  default: ['默认值', 'Default value'], rollup: ['汇总（子记录）', 'Roll-up of child records'],
};
const EVENTS: [string, string, string][] = [
  ['create', '新建', 'Create'], ['update', '修改', 'Update'], ['delete', '删除', 'Delete'],
  ['schedule', '定时', 'Schedule'], ['date', '日期到期', 'Date'], ['manual', '手动按钮', 'Manual button'],
];
const ACTIONS: [string, string, string][] = [
  ['notify', '站内通知', 'Notify'], ['email', '发送邮件', 'Email'], ['webhook', 'Webhook', 'Webhook'],
  ['update_record', '更新本记录', 'Update this record'], ['create_record', '新建记录', 'Create a record'],
  ['update_related', '更新关联记录', 'Update related'], ['assign_owner', '分配负责人', 'Assign owner'],
];

/** The keys each kind carries besides the common ones; switching kind drops the others. */
const KIND_KEYS: Record<string, string[]> = {
  trigger: ['on', 'fields', 'transition', 'condition', 'actions', 'reentrant', 'max_attempts', 'run_as', 'cron', 'date', 'timezone', 'button'],
  validation: ['condition', 'message', 'field'], required: ['field', 'condition', 'message'], read_only: ['field', 'condition'],
  formula: ['field', 'expression'], default: ['field', 'expression'], rollup: ['field', 'child', 'via', 'op', 'of', 'filter'],
};
const COMMON = ['format', 'api_name', 'object', 'label', 'description', 'active', 'kind'];

/** The document after switching to `kind`: keys of the old kind go, the new kind's needs come. */
export function withKind(doc: RuleDoc, kind: string): RuleDoc {
  const keep = new Set([...COMMON, ...(KIND_KEYS[kind] ?? [])]);
  const out: RuleDoc = {};
  for (const [k, v] of Object.entries(doc)) if (keep.has(k)) out[k] = v;
  out.kind = kind;
  if (kind === 'trigger') { out.on ??= ['create', 'update']; out.actions ??= []; }
  if (kind === 'validation') { out.condition ??= ''; out.message ??= ''; }
  if (kind === 'required' || kind === 'read_only') out.condition ??= '';
  if (kind === 'formula' || kind === 'default') out.expression ??= '';
  if (kind === 'rollup') out.op ??= 'count';
  return out;
}

/** A new action of `type` with the keys the server requires. */
export function newAction(type: string): Action {
  switch (type) {
    case 'notify': return { type, owner: true, title: '', body: '' };
    case 'email': return { type, to: [], subject: '', body: '' };
    case 'webhook': return { type, url: 'https://', secret: '' };
    case 'update_record': return { type, values: {} };
    case 'create_record': return { type, object: '', values: {} };
    case 'update_related': return { type, via: '', values: {} };
    default: return { type, strategy: 'round_robin', users: [] };
  }
}

/** A `values` entry as one line of text: `=expr` for an expression, JSON otherwise. */
export function valueText(v: unknown): string {
  if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { expr?: unknown }).expr === 'string') {
    return `=${(v as { expr: string }).expr}`;
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The inverse of `valueText`: `=…` is an expression, valid JSON is itself, the rest a string. */
export function parseValueText(s: string): unknown {
  if (s.startsWith('=')) return { expr: s.slice(1) };
  try { return JSON.parse(s); } catch { return s; }
}

function useRoles(): string[] {
  const [roles, setRoles] = useState<string[]>([]);
  useEffect(() => {
    api.roles().then((r) => setRoles(r.roles.map((x) => x.key).filter(Boolean))).catch(() => setRoles([]));
  }, []);
  return roles;
}

export function RuleForm({ doc, onChange, objects, problems }: {
  doc: RuleDoc; onChange: (d: RuleDoc) => void; objects: Record<string, ObjectDef>; problems: RuleProblem[];
}) {
  const roles = useRoles();
  const obj = objects[String(doc.object ?? '')];
  const fields = obj ? liveFields(obj) : [];
  const kind = String(doc.kind ?? 'trigger');
  const set = (k: string, v: unknown) => {
    const next = { ...doc };
    if (v === undefined || v === null || (Array.isArray(v) && v.length === 0 && k !== 'actions' && k !== 'on')) delete next[k];
    else next[k] = v;
    onChange(next);
  };
  /** Problems at `path` (and below it), for the form item there. */
  const err = (path: string) => {
    const ms = problems.filter((p) => p.path === path || p.path.startsWith(`${path}/`)).map((p) => p.message + (p.line ? ` (${L('行', 'line')} ${p.line}${p.column ? `:${p.column}` : ''})` : ''));
    return ms.length ? { validateStatus: 'error' as const, help: ms.join('; ') } : {};
  };
  const fieldOpts = (fs: FieldDef[]) => fs.map((f) => ({ value: f.api_name, label: `${lbl(f.label, f.api_name)} (${f.api_name})` }));
  const str = (k: string) => (typeof doc[k] === 'string' ? (doc[k] as string) : '');
  const on = Array.isArray(doc.on) ? (doc.on as string[]) : [];
  const actions = Array.isArray(doc.actions) ? (doc.actions as Action[]) : [];
  const setAction = (i: number, a: Action) => set('actions', actions.map((x, j) => (j === i ? a : x)));
  const child = objects[str('child')];

  return (
    <Form layout="vertical" size="small" data-testid="rule-form">
      <Row gutter={12}>
        <Col xs={24} md={8}>
          <Form.Item label={L('API 名称', 'API name')} required {...err('/api_name')}>
            <Input value={str('api_name')} onChange={(e) => set('api_name', e.target.value)} data-testid="rf-api-name" />
          </Form.Item>
        </Col>
        <Col xs={24} md={16}>
          <Form.Item label={L('说明', 'Label')} {...err('/label')}>
            <Input value={str('label')} onChange={(e) => set('label', e.target.value || undefined)} data-testid="rf-label" />
          </Form.Item>
        </Col>
        <Col xs={24} md={8}>
          <Form.Item label={L('对象', 'Object')} required {...err('/object')}>
            <Select value={str('object') || undefined} onChange={(v) => set('object', v)} data-testid="rf-object" showSearch
              options={Object.values(objects).map((o) => ({ value: o.api_name, label: `${lbl(o.label, o.api_name)} (${o.api_name})` }))} />
          </Form.Item>
        </Col>
        <Col xs={24} md={10}>
          <Form.Item label={L('规则类型', 'Kind')} required {...err('/kind')}>
            <Select value={kind} onChange={(v) => onChange(withKind(doc, v))} data-testid="rf-kind"
              options={KINDS.map((k) => ({ value: k, label: L(...KIND_LABEL[k]) }))} />
          </Form.Item>
        </Col>
        <Col xs={24} md={6}>
          <Form.Item label={L('启用', 'Active')}>
            <Switch checked={doc.active !== false} onChange={(v) => set('active', v ? undefined : false)} data-testid="rf-active" />
          </Form.Item>
        </Col>
      </Row>

      {kind === 'trigger' && (
        <>
          <Form.Item label={L('何时触发', 'Runs on')} required {...err('/on')}>
            <Checkbox.Group value={on} onChange={(v) => set('on', v)} data-testid="rf-on"
              options={EVENTS.map(([v, zh, en]) => ({ value: v, label: L(zh, en) }))} />
          </Form.Item>
          {(on.includes('update') || on.includes('create')) && (
            <Form.Item label={L('仅当这些字段变化时', 'Only when these fields change')} {...err('/fields')}>
              <Select mode="multiple" allowClear value={(doc.fields as string[] | undefined) ?? []} onChange={(v) => set('fields', v)}
                options={fieldOpts(fields)} data-testid="rf-fields" placeholder={L('任意字段', 'any field')} />
            </Form.Item>
          )}
          {on.includes('schedule') && (
            <Row gutter={12}>
              <Col span={12}><Form.Item label={L('Cron（分 时 日 月 周）', 'Cron (min hour day month weekday)')} {...err('/cron')}>
                <Input value={str('cron')} placeholder="0 9 * * 1-5" onChange={(e) => set('cron', e.target.value || undefined)} data-testid="rf-cron" />
              </Form.Item></Col>
              <Col span={12}><Form.Item label={L('时区', 'Time zone')} {...err('/timezone')}>
                <Input value={str('timezone')} placeholder="Asia/Shanghai" onChange={(e) => set('timezone', e.target.value || undefined)} />
              </Form.Item></Col>
            </Row>
          )}
          {on.includes('date') && (
            <DateSpecEditor value={(doc.date as Record<string, unknown> | undefined) ?? {}} fields={fields.filter((f) => f.type === 'date' || f.type === 'datetime')}
              onChange={(d) => set('date', d)} err={err} timezone={str('timezone')} onTimezone={(z) => set('timezone', z || undefined)} />
          )}
          {on.includes('manual') && (
            <Form.Item label={L('按钮文字', 'Button label')} {...err('/button')}>
              <Input value={str('button')} onChange={(e) => set('button', e.target.value || undefined)} />
            </Form.Item>
          )}
          <Form.Item label={L('条件（留空则总是执行）', 'Condition (empty: always)')} {...err('/condition')}>
            <ScriptInput value={str('condition')} fields={fields} onChange={(v) => set('condition', v || undefined)} testid="rf-condition" />
          </Form.Item>
          <Typography.Text strong>{L('动作', 'Actions')}</Typography.Text>
          {err('/actions').help && actions.length === 0 && <Typography.Paragraph type="danger">{err('/actions').help}</Typography.Paragraph>}
          {actions.map((a, i) => (
            <ActionEditor key={i} i={i} a={a} objects={objects} obj={obj} roles={roles} err={err}
              onChange={(x) => setAction(i, x)} onRemove={() => set('actions', actions.filter((_, j) => j !== i))} />
          ))}
          <Select style={{ width: 200, marginTop: 8 }} value={null} placeholder={<span><PlusOutlined /> {L('添加动作', 'Add an action')}</span>}
            onChange={(t: string) => set('actions', [...actions, newAction(t)])} data-testid="rf-add-action"
            options={ACTIONS.map(([v, zh, en]) => ({ value: v, label: L(zh, en) }))} />
        </>
      )}

      {(kind === 'validation' || kind === 'required' || kind === 'read_only') && (
        <>
          <Form.Item label={kind === 'validation' ? L('出错时标在字段', 'Show the error at field') : L('字段', 'Field')} required={kind !== 'validation'} {...err('/field')}>
            <Select allowClear={kind === 'validation'} value={str('field') || undefined} onChange={(v) => set('field', v)} options={fieldOpts(fields)} data-testid="rf-field" />
          </Form.Item>
          <Form.Item label={kind === 'validation' ? L('必须成立的条件', 'Condition that must hold') : L('条件', 'When')} required {...err('/condition')}>
            <ScriptInput value={str('condition')} fields={fields} onChange={(v) => set('condition', v)} testid="rf-condition" />
          </Form.Item>
          {kind !== 'read_only' && (
            <Form.Item label={L('提示信息', 'Message')} required={kind === 'validation'} {...err('/message')}>
              <Input value={str('message')} onChange={(e) => set('message', e.target.value)} data-testid="rf-message" />
            </Form.Item>
          )}
        </>
      )}

      {(kind === 'formula' || kind === 'default') && (
        <>
          <Form.Item label={L('字段', 'Field')} required {...err('/field')}>
            <Select value={str('field') || undefined} onChange={(v) => set('field', v)} options={fieldOpts(fields)} data-testid="rf-field" />
          </Form.Item>
          <Form.Item label={L('表达式', 'Expression')} required {...err('/expression')}>
            <ScriptInput value={str('expression')} fields={fields} onChange={(v) => set('expression', v)} testid="rf-expression" />
          </Form.Item>
        </>
      )}

      {kind === 'rollup' && (
        <Row gutter={12}>
          <Col span={12}><Form.Item label={L('汇总到字段', 'Into field')} required {...err('/field')}>
            <Select value={str('field') || undefined} onChange={(v) => set('field', v)} options={fieldOpts(fields)} data-testid="rf-field" />
          </Form.Item></Col>
          <Col span={12}><Form.Item label={L('子对象', 'Child object')} required {...err('/child')}>
            <Select value={str('child') || undefined} onChange={(v) => set('child', v)}
              options={Object.values(objects).map((o) => ({ value: o.api_name, label: `${lbl(o.label, o.api_name)} (${o.api_name})` }))} />
          </Form.Item></Col>
          <Col span={8}><Form.Item label={L('经由关联字段', 'Via lookup field')} required {...err('/via')}>
            <Select value={str('via') || undefined} onChange={(v) => set('via', v)}
              options={fieldOpts(child ? liveFields(child).filter((f) => (f.type === 'lookup' || f.type === 'master_detail') && f.target === doc.object) : [])} />
          </Form.Item></Col>
          <Col span={8}><Form.Item label={L('方式', 'Operation')} required {...err('/op')}>
            <Select value={str('op') || 'count'} onChange={(v) => set('op', v)}
              options={[['count', '计数', 'Count'], ['sum', '求和', 'Sum'], ['min', '最小', 'Min'], ['max', '最大', 'Max'], ['avg', '平均', 'Average']].map(([v, zh, en]) => ({ value: v, label: L(zh, en) }))} />
          </Form.Item></Col>
          <Col span={8}><Form.Item label={L('汇总字段', 'Of field')} {...err('/of')}>
            <Select allowClear value={str('of') || undefined} onChange={(v) => set('of', v)} options={fieldOpts(child ? liveFields(child) : [])} />
          </Form.Item></Col>
          <Col span={24}><Form.Item label={L('子记录条件', 'Child filter')} {...err('/filter')}>
            <ScriptInput value={str('filter')} fields={child ? liveFields(child) : []} onChange={(v) => set('filter', v || undefined)} testid="rf-filter" />
          </Form.Item></Col>
        </Row>
      )}
    </Form>
  );
}

function DateSpecEditor({ value, fields, onChange, err, timezone, onTimezone }: {
  value: Record<string, unknown>; fields: FieldDef[]; onChange: (v: Record<string, unknown>) => void;
  err: (p: string) => object; timezone: string; onTimezone: (z: string) => void;
}) {
  return (
    <Row gutter={12}>
      <Col span={8}><Form.Item label={L('日期字段', 'Date field')} required {...err('/date/field')}>
        <Select value={(value.field as string) || undefined} onChange={(f) => onChange({ ...value, field: f })}
          options={fields.map((f) => ({ value: f.api_name, label: lbl(f.label, f.api_name) }))} data-testid="rf-date-field" />
      </Form.Item></Col>
      <Col span={5}><Form.Item label={L('偏移天数', 'Offset days')} {...err('/date/offset_days')}>
        <InputNumber value={(value.offset_days as number) ?? 0} onChange={(n) => onChange({ ...value, offset_days: n ?? 0 })} style={{ width: '100%' }} />
      </Form.Item></Col>
      <Col span={5}><Form.Item label={L('时间', 'At')} {...err('/date/at')}>
        <Input value={(value.at as string) ?? '09:00'} onChange={(e) => onChange({ ...value, at: e.target.value })} />
      </Form.Item></Col>
      <Col span={6}><Form.Item label={L('时区', 'Time zone')} {...err('/timezone')}>
        <Input value={timezone} placeholder="Asia/Shanghai" onChange={(e) => onTimezone(e.target.value)} />
      </Form.Item></Col>
    </Row>
  );
}

/** A rhai script with completion: typing after `record.` (or `old.`) offers the matching fields. */
export function ScriptInput({ value, fields, onChange, testid }: { value: string; fields: FieldDef[]; onChange: (v: string) => void; testid?: string }) {
  return (
    <Mentions value={value} onChange={onChange} prefix={['record.', 'old.']} split="" autoSize={{ minRows: 2, maxRows: 8 }} data-testid={testid}
      style={{ fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace' }} placeholder='record.amount > 500000 && record.stage != "lost"'
      options={fields.map((f) => ({ value: f.api_name, key: f.api_name, label: <span>{f.api_name} <Typography.Text type="secondary">{lbl(f.label, '')} · {f.type}</Typography.Text></span> }))} />
  );
}

/** A handlebars template with completion: typing after `{{` offers the matching fields. */
export function TemplateInput({ value, fields, onChange, rows = 1, testid }: { value: string; fields: FieldDef[]; onChange: (v: string) => void; rows?: number; testid?: string }) {
  return (
    <Mentions value={value} onChange={onChange} prefix={['{{']} split="" autoSize={{ minRows: rows, maxRows: 8 }} data-testid={testid}
      options={fields.map((f) => ({ value: `record.${f.api_name}}}`, key: f.api_name, label: <span>record.{f.api_name} <Typography.Text type="secondary">{lbl(f.label, '')}</Typography.Text></span> }))} />
  );
}

function ActionEditor({ i, a, objects, obj, roles, err, onChange, onRemove }: {
  i: number; a: Action; objects: Record<string, ObjectDef>; obj?: ObjectDef; roles: string[];
  err: (p: string) => object; onChange: (a: Action) => void; onRemove: () => void;
}) {
  const type = String(a.type ?? '');
  const base = `/actions/${i}`;
  const fields = obj ? liveFields(obj) : [];
  const s = (k: string) => (typeof a[k] === 'string' ? (a[k] as string) : '');
  const set = (k: string, v: unknown) => {
    const next = { ...a };
    if (v === undefined || (Array.isArray(v) && v.length === 0 && k !== 'to' && k !== 'users')) delete next[k];
    else next[k] = v;
    onChange(next);
  };
  const [raw, setRaw] = useState(() => JSON.stringify(a, null, 2));
  const [rawErr, setRawErr] = useState<string | null>(null);
  const title = ACTIONS.find(([v]) => v === type);
  const target = type === 'create_record' ? objects[s('object')] : obj;
  return (
    <Card size="small" style={{ marginTop: 8 }} data-testid={`rf-action-${i}`}
      title={<Space><span>{i + 1}.</span><span>{title ? L(title[1], title[2]) : type}</span></Space>}
      extra={<Button size="small" type="text" danger icon={<DeleteOutlined />} onClick={onRemove} aria-label={L('删除动作', 'Remove action')} />}>
      {type === 'notify' && (
        <>
          <Row gutter={12}>
            <Col span={16}><Form.Item label={L('通知角色', 'Roles')} {...err(`${base}/roles`)}>
              <Select mode="tags" value={(a.roles as string[] | undefined) ?? []} onChange={(v) => set('roles', v)}
                options={roles.map((r) => ({ value: r, label: r }))} data-testid={`rf-action-${i}-roles`} />
            </Form.Item></Col>
            <Col span={8}><Form.Item label={L('通知负责人', 'The owner')}>
              <Checkbox checked={!!a.owner} onChange={(e) => set('owner', e.target.checked)} data-testid={`rf-action-${i}-owner`} />
            </Form.Item></Col>
          </Row>
          <Form.Item label={L('标题（模板）', 'Title (template)')} required {...err(`${base}/title`)}>
            <TemplateInput value={s('title')} fields={fields} onChange={(v) => set('title', v)} testid={`rf-action-${i}-title`} />
          </Form.Item>
          <Form.Item label={L('正文（模板）', 'Body (template)')} required {...err(`${base}/body`)}>
            <TemplateInput value={s('body')} fields={fields} rows={3} onChange={(v) => set('body', v)} testid={`rf-action-${i}-body`} />
          </Form.Item>
        </>
      )}
      {type === 'email' && (
        <>
          <Form.Item label={L('收件人', 'To')} required {...err(`${base}/to`)}>
            <Select mode="tags" value={(a.to as string[] | undefined) ?? []} onChange={(v) => set('to', v)} tokenSeparators={[',', ' ']} />
          </Form.Item>
          <Form.Item label={L('主题（模板）', 'Subject (template)')} required {...err(`${base}/subject`)}>
            <TemplateInput value={s('subject')} fields={fields} onChange={(v) => set('subject', v)} />
          </Form.Item>
          <Form.Item label={L('正文（模板）', 'Body (template)')} required {...err(`${base}/body`)}>
            <TemplateInput value={s('body')} fields={fields} rows={3} onChange={(v) => set('body', v)} />
          </Form.Item>
        </>
      )}
      {type === 'webhook' && (
        <>
          <Row gutter={12}>
            <Col span={16}><Form.Item label="URL" required {...err(`${base}/url`)}>
              <Input value={s('url')} onChange={(e) => set('url', e.target.value)} />
            </Form.Item></Col>
            <Col span={8}><Form.Item label={L('方法', 'Method')} {...err(`${base}/method`)}>
              <Select value={s('method') || 'POST'} onChange={(v) => set('method', v === 'POST' ? undefined : v)} options={['POST', 'PUT', 'PATCH'].map((m) => ({ value: m, label: m }))} />
            </Form.Item></Col>
          </Row>
          <Form.Item label={L('签名密钥', 'Signing secret')} {...err(`${base}/secret`)}>
            <Input.Password value={s('secret')} onChange={(e) => set('secret', e.target.value)} />
          </Form.Item>
          <Form.Item label={L('请求体（模板，留空发送整条记录）', 'Body (template; empty sends the record)')} {...err(`${base}/body`)}>
            <TemplateInput value={s('body')} fields={fields} rows={3} onChange={(v) => set('body', v || undefined)} />
          </Form.Item>
        </>
      )}
      {type === 'create_record' && (
        <Form.Item label={L('新建的对象', 'Object to create')} required {...err(`${base}/object`)}>
          <Select value={s('object') || undefined} onChange={(v) => set('object', v)}
            options={Object.values(objects).map((o) => ({ value: o.api_name, label: `${lbl(o.label, o.api_name)} (${o.api_name})` }))} />
        </Form.Item>
      )}
      {(type === 'update_record' || type === 'create_record') && (
        <ValuesEditor values={(a.values as Record<string, unknown> | undefined) ?? {}} fields={target ? liveFields(target) : []} source={fields}
          onChange={(v) => set('values', v)} err={err} base={`${base}/values`} testid={`rf-action-${i}-values`} />
      )}
      {(type === 'update_related' || type === 'assign_owner') && (
        <Form.Item label={L('设置（JSON）', 'Settings (JSON)')} {...(rawErr ? { validateStatus: 'error' as const, help: rawErr } : err(base))}>
          <Input.TextArea value={raw} autoSize={{ minRows: 3, maxRows: 12 }} style={{ fontFamily: 'ui-monospace, monospace', fontSize: 12 }}
            onChange={(e) => {
              setRaw(e.target.value);
              try { const v = JSON.parse(e.target.value); setRawErr(null); if (v && typeof v === 'object') onChange({ ...v, type }); } catch (x) { setRawErr(String(x instanceof Error ? x.message : x)); }
            }} />
        </Form.Item>
      )}
    </Card>
  );
}

/** Field → value rows. A value starting with `=` is an expression over the triggering record. */
function ValuesEditor({ values, fields, source, onChange, err, base, testid }: {
  values: Record<string, unknown>; fields: FieldDef[]; source: FieldDef[]; onChange: (v: Record<string, unknown>) => void;
  err: (p: string) => object; base: string; testid: string;
}) {
  const rows = Object.entries(values);
  const put = (i: number, k: string, v: unknown) => {
    const next: Record<string, unknown> = {};
    rows.forEach(([rk, rv], j) => { if (j === i) next[k] = v; else next[rk] = rv; });
    if (i >= rows.length) next[k] = v;
    onChange(next);
  };
  return (
    <Form.Item label={L('字段值（以 = 开头为表达式）', 'Values (start with = for an expression)')} {...err(base)}>
      <div data-testid={testid}>
        {rows.map(([k, v], i) => (
          <Space.Compact key={i} style={{ width: '100%', marginBottom: 4 }}>
            <Select style={{ width: '40%' }} value={k || undefined} onChange={(nk: string) => put(i, nk, v)}
              options={fields.map((f) => ({ value: f.api_name, label: `${lbl(f.label, f.api_name)} (${f.api_name})` }))} />
            <Input style={{ width: '55%' }} value={valueText(v)} onChange={(e) => put(i, k, parseValueText(e.target.value))}
              placeholder={source.length ? `=record.${source[0].api_name}` : ''} />
            <Button icon={<DeleteOutlined />} onClick={() => onChange(Object.fromEntries(rows.filter((_, j) => j !== i)))} />
          </Space.Compact>
        ))}
        <Button size="small" icon={<PlusOutlined />} onClick={() => put(rows.length, '', '')}>{L('添加字段', 'Add a field')}</Button>
      </div>
    </Form.Item>
  );
}
