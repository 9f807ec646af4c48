import { Button, Checkbox, Form, Input, InputNumber, Select, Space, Tag, Typography } from 'antd';
import { ArrowDownOutlined, ArrowUpOutlined, DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { lbl } from '../lib/i18n';
import { navigate } from '../lib/router';
import type { FieldDef, ObjectDef, Problem, SelectOption } from '../lib/types';
import { FieldInput } from '../app/fields';
import { COLORS } from './model';
import type { DField, DSection } from './model';
import { ConditionButton } from './Conditions';

const L = (zh: string, en: string) => lbl({ zh, en });
const NUM = new Set(['integer', 'decimal', 'currency', 'percent']);
const TEXTY = new Set(['text']);
const LEN = new Set(['text', 'long_text', 'rich_text']);
const REF = new Set(['lookup', 'master_detail', 'multi_lookup']);

/** Every property of one field; problems from the server appear at the property they concern. */
export function PropertyPanel({ field: f, problems, targets, objects, onChange, onMove, isNameField, onNameField, sections, section, onSection, others, object, rules }: {
  field: DField; problems: Problem[]; targets: string[]; objects: Record<string, ObjectDef>;
  onChange: (patch: Partial<DField>) => void; onMove: (delta: number) => void; isNameField: boolean; onNameField: () => void;
  sections: DSection[]; section: string; onSection: (key: string) => void;
  /** The form's other fields: what a display condition can test. */
  others: FieldDef[];
  /** The published object's API name (rules need one) and the rules that name this field. */
  object?: string;
  rules?: { api_name: string; kind: string; active: boolean }[];
}) {
  const err = (prop: string) => {
    const ms = problems.filter((p) => p.path === `/${prop}` || p.path.startsWith(`/${prop}/`)).map((p) => p.message);
    return ms.length ? { validateStatus: 'error' as const, help: ms.join('; ') } : {};
  };
  const other = problems.filter((p) => !KNOWN.some((k) => p.path === `/${k}` || p.path.startsWith(`/${k}/`)));
  const num = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : v);
  return (
    <Form layout="vertical" size="small" data-testid="props">
      <Space style={{ marginBottom: 8 }}>
        <Tag color="blue">{f.type}</Tag>
        <Button size="small" icon={<ArrowUpOutlined />} onClick={() => onMove(-1)} aria-label={L('上移', 'Move up')} />
        <Button size="small" icon={<ArrowDownOutlined />} onClick={() => onMove(1)} aria-label={L('下移', 'Move down')} />
        <ConditionButton value={f.visible_when} fields={others} objects={objects} testid="prop-visible-when"
          title={L(`何时显示「${lbl(f.label, f.api_name)}」`, `When to show "${lbl(f.label, f.api_name)}"`)}
          onChange={(c) => onChange({ visible_when: c })} />
        {sections.length > 1 && (
          <Select size="small" style={{ width: 140 }} value={section} onChange={onSection} data-testid="prop-section" aria-label={L('所属分组', 'Section')}
            options={sections.map((x) => ({ value: x.key, label: lbl(x.label, x.key), title: lbl(x.label, x.key) }))} />
        )}
      </Space>
      {other.map((p, i) => <Typography.Paragraph key={i} type="danger" data-testid="prop-problem">{p.path}: {p.message}</Typography.Paragraph>)}
      <Form.Item label={L('标签（中文）', 'Label (zh)')} {...err('label')}>
        <Input value={f.label?.zh ?? ''} onChange={(e) => onChange({ label: { ...f.label, zh: e.target.value } })} data-testid="prop-label-zh" />
      </Form.Item>
      <Form.Item label={L('标签（英文）', 'Label (en)')}>
        <Input value={f.label?.en ?? ''} onChange={(e) => onChange({ label: { ...f.label, en: e.target.value } })} data-testid="prop-label-en" />
      </Form.Item>
      <Form.Item label={L('API 名称', 'API name')} {...err('api_name')} extra={f.published ? L('发布后不可修改', 'Fixed once published') : L('小写字母、数字和下划线', 'lowercase letters, digits, _')}>
        <Input value={f.api_name} disabled={f.published} onChange={(e) => onChange({ api_name: e.target.value })} data-testid="prop-api-name" />
      </Form.Item>
      <Space wrap>
        <Checkbox checked={!!f.required} onChange={(e) => onChange({ required: e.target.checked })} data-testid="prop-required">{L('必填', 'Required')}</Checkbox>
        <Checkbox checked={!!f.unique} onChange={(e) => onChange({ unique: e.target.checked })} data-testid="prop-unique">{L('不允许重复', 'Unique')}</Checkbox>
        <Checkbox checked={!!f.indexed} onChange={(e) => onChange({ indexed: e.target.checked })}>{L('索引', 'Indexed')}</Checkbox>
        {f.type === 'text' && <Checkbox checked={isNameField} onChange={() => onNameField()}>{L('作为记录名称', 'Record name')}</Checkbox>}
      </Space>
      {(err('required').help || err('unique').help) && <Typography.Paragraph type="danger">{err('required').help} {err('unique').help}</Typography.Paragraph>}
      {object && f.published && (
        <div style={{ margin: '8px 0' }} data-testid="prop-rules">
          <Typography.Text type="secondary">{L('条件规则（保存时由服务器执行）', 'Conditional rules (enforced by the server on save)')}</Typography.Text>
          <div>
            {(rules ?? []).map((r) => (
              <Tag key={r.api_name} color={r.active ? 'blue' : undefined} style={{ cursor: 'pointer' }}
                onClick={() => navigate(`/rules?rule=${encodeURIComponent(r.api_name)}`)}>{r.kind} · {r.api_name}</Tag>
            ))}
          </div>
          <Space size={4} style={{ marginTop: 4 }}>
            <Button size="small" onClick={() => navigate(`/rules?new=required&object=${encodeURIComponent(object)}&field=${encodeURIComponent(f.api_name)}`)} data-testid="prop-required-when">{L('条件必填…', 'Required when…')}</Button>
            <Button size="small" onClick={() => navigate(`/rules?new=read_only&object=${encodeURIComponent(object)}&field=${encodeURIComponent(f.api_name)}`)}>{L('条件只读…', 'Read-only when…')}</Button>
          </Space>
        </div>
      )}
      {NUM.has(f.type) && (
        <Space>
          <Form.Item label={L('最小值', 'Min')} {...err('min')}>
            <InputNumber<string> stringMode value={num(f.min) as string | undefined} onChange={(v) => onChange({ min: f.type === 'integer' ? (v == null ? undefined : Number(v)) : (v ?? undefined) })} data-testid="prop-min" />
          </Form.Item>
          <Form.Item label={L('最大值', 'Max')} {...err('max')}>
            <InputNumber<string> stringMode value={num(f.max) as string | undefined} onChange={(v) => onChange({ max: f.type === 'integer' ? (v == null ? undefined : Number(v)) : (v ?? undefined) })} data-testid="prop-max" />
          </Form.Item>
        </Space>
      )}
      {(f.type === 'decimal' || f.type === 'currency' || f.type === 'percent') && (
        <Space>
          {f.type !== 'percent' && (
            <Form.Item label={L('精度', 'Precision')} {...err('precision')}>
              <InputNumber min={1} max={38} value={f.precision} onChange={(v) => onChange({ precision: v ?? undefined })} disabled={f.published} />
            </Form.Item>
          )}
          <Form.Item label={L('小数位', 'Scale')} {...err('scale')}>
            <InputNumber min={0} max={10} value={f.scale} onChange={(v) => onChange({ scale: v ?? undefined })} disabled={f.published} />
          </Form.Item>
        </Space>
      )}
      {LEN.has(f.type) && (
        <Space>
          {TEXTY.has(f.type) && (
            <Form.Item label={L('最小长度', 'Min length')} {...err('min_length')}>
              <InputNumber min={0} value={f.min_length} onChange={(v) => onChange({ min_length: v ?? undefined })} data-testid="prop-min-length" />
            </Form.Item>
          )}
          <Form.Item label={L('最大长度', 'Max length')} {...err('max_length')}>
            <InputNumber min={1} value={f.max_length} onChange={(v) => onChange({ max_length: v ?? undefined })} data-testid="prop-max-length" />
          </Form.Item>
        </Space>
      )}
      {(f.type === 'text' || f.type === 'auto_number') && (
        <Form.Item label={f.type === 'text' ? L('格式（正则表达式）', 'Pattern (regex)') : L('编号规则', 'Number pattern')} {...err('pattern')}
          extra={f.type === 'auto_number' ? 'QT-{YYYY}-{0000}' : undefined}>
          <Input value={f.pattern ?? ''} onChange={(e) => onChange({ pattern: e.target.value })} data-testid="prop-pattern" />
        </Form.Item>
      )}
      {f.type === 'phone' && (
        <Checkbox checked={!!f.cn_mobile} onChange={(e) => onChange({ cn_mobile: e.target.checked })}>{L('仅中国大陆手机号', 'Mainland China mobile only')}</Checkbox>
      )}
      {REF.has(f.type) && (
        <Form.Item label={L('关联对象', 'Target object')} {...err('target')}>
          <Select value={f.target} disabled={f.published} onChange={(v) => onChange({ target: v })}
            options={targets.map((o) => ({ value: o, label: `${lbl(objects[o]?.label, o)} (${o})` }))} data-testid="prop-target" />
        </Form.Item>
      )}
      {(f.type === 'single_select' || f.type === 'multi_select') && (
        <Form.Item label={L('选项', 'Options')} {...err('options')}>
          <OptionsEditor options={f.options ?? []} onChange={(options) => onChange({ options })} problems={problems} />
        </Form.Item>
      )}
      {!['auto_number', 'attachment', 'multi_lookup', 'lookup', 'master_detail', 'department', 'json', 'address'].includes(f.type) && (
        <Form.Item label={L('默认值', 'Default')} {...err('default')}>
          <FieldInput f={{ ...f, required: false }} value={f.default} objects={objects} onChange={(v) => onChange({ default: v === '' ? undefined : v })} />
        </Form.Item>
      )}
      <Form.Item label={L('帮助文字（中文）', 'Help (zh)')}>
        <Input value={f.help?.zh ?? ''} onChange={(e) => onChange({ help: e.target.value || f.help?.en ? { ...f.help, zh: e.target.value || undefined } : undefined })} data-testid="prop-help-zh" />
      </Form.Item>
      <Form.Item label={L('帮助文字（英文）', 'Help (en)')}>
        <Input value={f.help?.en ?? ''} onChange={(e) => onChange({ help: e.target.value || f.help?.zh ? { ...f.help, en: e.target.value || undefined } : undefined })} />
      </Form.Item>
    </Form>
  );
}

const KNOWN = ['label', 'api_name', 'required', 'unique', 'min', 'max', 'precision', 'scale', 'min_length', 'max_length', 'pattern', 'target', 'options', 'default'];

function OptionsEditor({ options, onChange, problems }: { options: SelectOption[]; onChange: (o: SelectOption[]) => void; problems: Problem[] }) {
  const set = (i: number, patch: Partial<SelectOption>) => onChange(options.map((o, j) => (j === i ? { ...o, ...patch } : o)));
  return (
    <div data-testid="options-editor">
      {options.map((o, i) => {
        const bad = problems.some((p) => p.path.startsWith(`/options/${i}`));
        return (
          <Space.Compact key={i} style={{ marginBottom: 4, width: '100%' }}>
            <Input style={{ width: '30%' }} status={bad ? 'error' : undefined} placeholder="value" value={o.value} onChange={(e) => set(i, { value: e.target.value })} data-testid={`opt-value-${i}`} />
            <Input style={{ width: '25%' }} placeholder="中文" value={o.label?.zh ?? ''} onChange={(e) => set(i, { label: { ...o.label, zh: e.target.value } })} data-testid={`opt-zh-${i}`} />
            <Input style={{ width: '25%' }} placeholder="English" value={o.label?.en ?? ''} onChange={(e) => set(i, { label: { ...o.label, en: e.target.value } })} />
            <Select style={{ width: 90 }} value={o.color ?? 'default'} onChange={(c) => set(i, { color: c })}
              options={COLORS.map((c) => ({ value: c, label: <Tag color={c === 'default' ? undefined : c} style={{ margin: 0 }}>{c}</Tag> }))} />
            <Button icon={<DeleteOutlined />} onClick={() => onChange(options.filter((_, j) => j !== i))} />
          </Space.Compact>
        );
      })}
      <Button size="small" icon={<PlusOutlined />} data-testid="opt-add"
        onClick={() => onChange([...options, { value: `option_${options.length + 1}`, label: { zh: `选项${options.length + 1}`, en: `Option ${options.length + 1}` }, color: COLORS[(options.length + 1) % COLORS.length] }])}>
        {L('添加选项', 'Add option')}
      </Button>
    </div>
  );
}
