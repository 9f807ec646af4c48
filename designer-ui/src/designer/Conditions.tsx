// A display condition edited with the list's filter builder: "show this field (or section)
// only when …". Saved in the object's layout; the generated form evaluates it as values change.
import { useState } from 'react';
import { Badge, Button, Modal, Typography } from 'antd';
import { EyeOutlined } from '@ant-design/icons';
import { FilterBuilder } from '../app/FilterBuilder';
import { fromFilter, toFilter } from '../lib/filter';
import { lbl } from '../lib/i18n';
import type { FieldDef, Filter, ObjectDef } from '../lib/types';

const L = (zh: string, en: string) => lbl({ zh, en });

export function ConditionButton({ value, fields, objects, onChange, testid, title }: {
  value?: Filter | null; fields: FieldDef[]; objects: Record<string, ObjectDef>;
  onChange: (f: Filter | undefined) => void; testid: string; title: string;
}) {
  const [open, setOpen] = useState(false);
  const state = fromFilter(value ?? null, fields) ?? { rel: 'and' as const, conds: [] };
  return (
    <>
      <Badge dot={!!value}>
        <Button size="small" icon={<EyeOutlined />} onClick={() => setOpen(true)} data-testid={testid}>{L('显示条件', 'Show when')}</Button>
      </Badge>
      <Modal open={open} onCancel={() => setOpen(false)} footer={null} width={700} title={title} destroyOnHidden data-testid={`${testid}-modal`}>
        <Typography.Paragraph type="secondary">
          {L('填写表单时，满足条件才显示；不设条件则总是显示。', 'Shown while the form’s values match; with no condition it is always shown.')}
        </Typography.Paragraph>
        <FilterBuilder fields={fields} value={state} objects={objects}
          onApply={(s) => { onChange(toFilter(s, fields)); setOpen(false); }} />
      </Modal>
    </>
  );
}
