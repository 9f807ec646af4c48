import { useState } from 'react';
import { Button, Segmented, Select, Space } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { lbl, t } from '../lib/i18n';
import type { Key } from '../lib/i18n';
import { needsValue, opsFor } from '../lib/filter';
import type { Cond, FilterState } from '../lib/filter';
import type { FieldDef, ObjectDef } from '../lib/types';
import { FieldInput } from './fields';

/** Rows of field / operator / value joined by AND or OR. Applied on demand. */
export function FilterBuilder({ fields, value, onApply, objects }: {
  fields: FieldDef[]; value: FilterState; onApply: (s: FilterState) => void; objects: Record<string, ObjectDef>;
}) {
  const [s, setS] = useState<FilterState>(value);
  const setCond = (i: number, c: Partial<Cond>) => setS({ ...s, conds: s.conds.map((x, j) => (j === i ? { ...x, ...c } : x)) });
  const filterable = fields.filter((f) => opsFor(f).length > 0 && f.type !== 'multi_lookup' && f.type !== 'attachment' && f.type !== 'json' && f.type !== 'address');
  return (
    <div style={{ width: 640 }} data-testid="filter-builder">
      <Space style={{ marginBottom: 8 }}>
        <Segmented size="small" value={s.rel} onChange={(v) => setS({ ...s, rel: v as 'and' | 'or' })}
          options={[{ value: 'and', label: 'AND / 且' }, { value: 'or', label: 'OR / 或' }]} />
      </Space>
      {s.conds.map((c, i) => {
        const f = fields.find((x) => x.api_name === c.field);
        const ops = f ? opsFor(f) : [];
        const valueField: FieldDef | undefined = f && (c.op === 'in' ? { ...f, type: 'multi_select' } : f.type === 'multi_select' ? { ...f, type: 'single_select' } : f);
        return (
          <Space key={i} style={{ display: 'flex', marginBottom: 8 }} align="start" data-testid={`filter-row-${i}`}>
            <Select style={{ width: 160 }} value={c.field} showSearch={{ optionFilterProp: 'label' }}
              options={filterable.map((x) => ({ value: x.api_name, label: lbl(x.label, x.api_name) }))}
              onChange={(v) => { const nf = fields.find((x) => x.api_name === v)!; setCond(i, { field: v, op: opsFor(nf)[0], value: undefined }); }} />
            <Select style={{ width: 120 }} value={c.op} options={ops.map((o) => ({ value: o, label: t(`op_${o}` as Key) }))}
              onChange={(v) => setCond(i, { op: v, value: undefined })} />
            <div style={{ width: 260 }}>
              {valueField && needsValue(c.op) && (
                <FieldInput f={valueField} value={c.value} objects={objects} onChange={(v) => setCond(i, { value: v })} />
              )}
            </div>
            <Button icon={<DeleteOutlined />} onClick={() => setS({ ...s, conds: s.conds.filter((_, j) => j !== i) })} />
          </Space>
        );
      })}
      <Space>
        <Button icon={<PlusOutlined />} disabled={!filterable.length} data-testid="filter-add"
          onClick={() => { const f = filterable[0]; setS({ ...s, conds: [...s.conds, { field: f.api_name, op: opsFor(f)[0] }] }); }}>
          {t('addCondition')}
        </Button>
        <Button onClick={() => { const e: FilterState = { rel: 'and', conds: [] }; setS(e); onApply(e); }}>{t('clear')}</Button>
        <Button type="primary" onClick={() => onApply(s)} data-testid="filter-apply">{t('apply')}</Button>
      </Space>
    </div>
  );
}
