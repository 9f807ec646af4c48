import { Col, Form, Row, Tooltip } from 'antd';
import { LockOutlined } from '@ant-design/icons';
import { lbl, t } from '../lib/i18n';
import type { FieldAccess, FieldDef, ObjectDef } from '../lib/types';
import { FieldInput, isInputField } from './fields';

const WIDE = new Set(['long_text', 'rich_text', 'json', 'address', 'multi_lookup', 'attachment']);

/**
 * The form generated from an object's fields. Hidden fields are not rendered at all;
 * read-only ones are shown disabled. `errors` are server problems keyed by field.
 */
export function GeneratedForm({ fields, values, onChange, errors, access, objects, columns = 2 }: {
  fields: FieldDef[];
  values: Record<string, unknown>;
  onChange: (name: string, v: unknown) => void;
  errors: Record<string, string[]>;
  access: (f: FieldDef) => FieldAccess;
  objects?: Record<string, ObjectDef>;
  columns?: 1 | 2;
}) {
  const shown = fields.filter((f) => isInputField(f) && access(f) !== 'hidden');
  return (
    <Form layout="vertical" component="div">
      <Row gutter={16}>
        {shown.map((f) => {
          const ro = access(f) === 'read' || !!f.locked_by_job;
          const err = errors[f.api_name];
          const help = err?.join('; ') ?? (f.help ? lbl(f.help) : undefined);
          return (
            <Col key={f.api_name} xs={24} md={columns === 2 && !WIDE.has(f.type) ? 12 : 24}>
              <Form.Item
                label={<span>{lbl(f.label, f.api_name)}{ro && <Tooltip title={t('readOnly')}> <LockOutlined /></Tooltip>}</span>}
                required={f.required}
                validateStatus={err ? 'error' : undefined}
                help={help}
                htmlFor={`f-${f.api_name}`}
                data-testid={`form-item-${f.api_name}`}
              >
                <FieldInput id={`f-${f.api_name}`} f={f} value={values[f.api_name]} disabled={ro} objects={objects}
                  onChange={(v) => onChange(f.api_name, v)} />
              </Form.Item>
            </Col>
          );
        })}
      </Row>
    </Form>
  );
}

/** Initial values for a new record: the fields' literal defaults (the server fills `$today` etc.). */
export function defaultsOf(fields: FieldDef[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.default === undefined || f.default === null) continue;
    if (typeof f.default === 'string' && f.default.startsWith('$')) continue;
    out[f.api_name] = f.type === 'currency' && typeof f.default !== 'object' ? { amount: String(f.default), currency: f.default_currency ?? 'CNY' } : f.default;
  }
  return out;
}
