import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/react';
import { GeneratedForm, defaultsOf } from './GeneratedForm';
import type { FieldAccess, FieldDef } from '../lib/types';

const fields: FieldDef[] = [
  { api_name: 'name', type: 'text', label: { zh: '名称', en: 'Name' }, required: true },
  { api_name: 'discount', type: 'percent', label: { zh: '折扣', en: 'Discount' } },
  { api_name: 'cost', type: 'decimal', label: { zh: '成本', en: 'Cost' } },
  { api_name: 'no', type: 'auto_number', label: { zh: '编号' }, pattern: 'N-{0000}' },
  { api_name: 'stage', type: 'single_select', label: { zh: '阶段' }, default: 'new', options: [{ value: 'new' }] },
];
const access = (f: FieldDef): FieldAccess => (f.api_name === 'cost' ? 'hidden' : f.api_name === 'discount' ? 'read' : 'edit');

describe('GeneratedForm', () => {
  it('never renders hidden fields, disables read-only ones, skips auto numbers', () => {
    render(<GeneratedForm fields={fields} values={{}} onChange={() => {}} errors={{}} access={access} />);
    expect(screen.queryByText('成本')).toBeNull();
    expect(screen.queryByText('编号')).toBeNull();
    expect(screen.getByText('名称')).toBeTruthy();
    expect((document.getElementById('f-discount') as HTMLInputElement).disabled).toBe(true);
    expect((document.getElementById('f-name') as HTMLInputElement).disabled).toBe(false);
  });

  it('shows server problems at the field and reports edits', () => {
    const onChange = vi.fn();
    render(<GeneratedForm fields={fields} values={{ name: 'x' }} onChange={onChange} errors={{ name: ['is too short'] }} access={access} />);
    expect(screen.getByTestId('form-item-name').textContent).toContain('is too short');
    fireEvent.change(document.getElementById('f-name')!, { target: { value: 'Acme' } });
    expect(onChange).toHaveBeenCalledWith('name', 'Acme');
  });

  it('prefills literal defaults only', () => {
    expect(defaultsOf([...fields, { api_name: 'd', type: 'date', default: '$today' }])).toEqual({ stage: 'new' });
  });
});
