import { useState } from 'react';
import { Col, Form, Row, Tooltip, Typography } from 'antd';
import { DownOutlined, LockOutlined, RightOutlined } from '@ant-design/icons';
import { lbl, t } from '../lib/i18n';
import { matches, sectionsOf, spanOf } from '../lib/layout';
import type { FieldAccess, FieldDef, FormLayout, ObjectDef } from '../lib/types';
import { FieldInput, isInputField } from './fields';

/**
 * The form generated from an object's fields, in the sections and columns of its layout.
 * Hidden fields are not rendered at all; read-only ones are shown disabled. `errors` are
 * server problems keyed by field. `columns` caps the columns (1 on a phone); below the `md`
 * breakpoint every field takes the full row anyway.
 */
export function GeneratedForm({ fields, values, onChange, errors, access, objects, columns, layout }: {
  fields: FieldDef[];
  values: Record<string, unknown>;
  onChange: (name: string, v: unknown) => void;
  errors: Record<string, string[]>;
  access: (f: FieldDef) => FieldAccess;
  objects?: Record<string, ObjectDef>;
  columns?: number;
  layout?: FormLayout | null;
}) {
  // Hidden by permission: never rendered. Hidden by a display condition: not rendered while
  // the values being entered do not match it (their values are kept).
  const shown = fields.filter((f) => isInputField(f) && access(f) !== 'hidden' && matches(layout?.visible_when?.[f.api_name], values));
  const sections = sectionsOf(shown, layout).filter((sec) => matches(sec.visible_when, values));
  const [open, setOpen] = useState<Record<string, boolean>>({});
  return (
    <Form layout="vertical" component="div">
      {sections.map((sec) => {
        const cols = Math.min(sec.columns, columns ?? 4);
        // A folded section still opens by itself when the server complains about its fields.
        const folded = sec.collapsed && !open[sec.key] && !sec.fields.some((f) => errors[f.api_name]);
        return (
          <section key={sec.key} data-testid={`form-section-${sec.key}`} className="weft-form-section">
            {sec.titled && (
              <Typography.Title level={5} className="weft-form-section-title" style={{ cursor: sec.collapsed ? 'pointer' : undefined }}
                onClick={() => sec.collapsed && setOpen((o) => ({ ...o, [sec.key]: !o[sec.key] }))}>
                {sec.collapsed && (folded ? <RightOutlined /> : <DownOutlined />)} {lbl(sec.label, sec.key)}
              </Typography.Title>
            )}
            {!folded && (
              <Row gutter={16}>
                {sec.fields.map((f) => {
                  const ro = access(f) === 'read' || !!f.locked_by_job;
                  const err = errors[f.api_name];
                  const help = err?.join('; ') ?? (f.help ? lbl(f.help) : undefined);
                  return (
                    <Col key={f.api_name} xs={24} md={spanOf(f, cols)}>
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
            )}
          </section>
        );
      })}
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
