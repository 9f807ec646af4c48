import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/react';
import { App } from 'antd';
import Designer from './Designer';
import { AppCtx } from '../app/ctx';
import type { AppState } from '../app/ctx';

const state: AppState = {
  session: {
    user: { id: 'u', name: 'Admin', email: 'a@x', is_admin: true, departments: [] },
    tenant: { id: 't', name: 'T' }, csrf_token: 'c', view_as: false,
    permissions: { is_admin: true, objects: {} },
  },
  objects: { account: { api_name: 'account', label: { zh: '客户' }, fields: [] } },
  order: ['account'],
  reloadObjects: async () => {},
};

function order() {
  return screen.queryAllByTestId(/^canvas-field-/).map((e) => e.dataset.testid!.replace('canvas-field-', ''));
}

describe('form designer', () => {
  it('adds from the palette by click and Enter, reorders by keyboard, undoes and redoes', () => {
    history.replaceState(null, '', '/designer');
    render(<App><AppCtx.Provider value={state}><Designer /></AppCtx.Provider></App>);
    fireEvent.click(screen.getByTestId('palette-text'));
    fireEvent.keyDown(screen.getByTestId('palette-lookup'), { key: 'Enter' });
    fireEvent.click(screen.getByTestId('palette-single_select'));
    expect(order()).toEqual(['text_1', 'lookup_2', 'single_select_3']);
    // the new field is selected: its properties are shown, including the lookup target
    fireEvent.click(screen.getByTestId('canvas-field-lookup_2'));
    expect(screen.getByTestId('property-panel').textContent).toContain('客户 (account)');
    fireEvent.keyDown(screen.getByTestId('canvas-field-text_1'), { key: 'ArrowDown', altKey: true });
    expect(order()).toEqual(['lookup_2', 'text_1', 'single_select_3']);
    fireEvent.click(screen.getByTestId('undo'));
    expect(order()).toEqual(['text_1', 'lookup_2', 'single_select_3']);
    fireEvent.click(screen.getByTestId('redo'));
    expect(order()).toEqual(['lookup_2', 'text_1', 'single_select_3']);
    // live preview renders the generated form
    fireEvent.click(screen.getByText('预览'));
    expect(screen.getByTestId('designer-preview').textContent).toContain('单行文本1');
  });
});
