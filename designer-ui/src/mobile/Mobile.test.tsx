import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { App } from 'antd';
import { ApiError, api } from '../lib/api';
import type { ObjectDef, Session } from '../lib/types';
import { AppCtx } from '../app/ctx';
import MobileApp from './Mobile';
import { mobilePathOf } from './MobileHint';

const ticket: ObjectDef = {
  api_name: 'ticket', label: { zh: '工单', en: 'Ticket' }, name_field: 'title',
  fields: [
    { api_name: 'title', type: 'text', label: { zh: '标题' }, required: true },
    { api_name: 'hours', type: 'integer', label: { zh: '工时' } },
  ],
};
const report: ObjectDef = { api_name: 'report', label: { zh: '报表' }, fields: [] };
const perms = (create: boolean) => ({ create, read: true, update: true, delete: false, export: false, import: false, scope: 'own', fields: { title: 'edit' as const, hours: 'edit' as const } });
const session: Session = {
  user: { id: 'u1', name: '张销售', email: 'z@x', is_admin: false, departments: [] }, tenant: { id: 't', name: 'Demo' }, csrf_token: 'c', view_as: false,
  permissions: { is_admin: false, objects: { ticket: perms(true), report: perms(false) } },
};

function renderAt(path: string) {
  return render(
    <App>
      <AppCtx.Provider value={{ session, objects: { ticket, report }, order: ['ticket', 'report'], reloadObjects: async () => {} }}>
        <MobileApp path={path} />
      </AppCtx.Provider>
    </App>,
  );
}

afterEach(() => { cleanup(); vi.restoreAllMocks(); });

describe('mobile pages', () => {
  it('the landing lists only the objects the user may create', () => {
    renderAt('/m');
    expect(screen.getByTestId('m-new-ticket').getAttribute('href')).toBe('/m/o/ticket/new');
    expect(screen.queryByTestId('m-new-report')).toBeNull();
  });

  it('a refused save shows the server problem at its field; the next save confirms with a link to the record', async () => {
    const create = vi.spyOn(api, 'create')
      .mockRejectedValueOnce(new ApiError(422, 'validation_failed', 'invalid', [{ path: '/title', code: 'too_short', message: '至少 5 个字' }]))
      .mockResolvedValueOnce({ id: 'r1', version: 1, title: 'Printer on fire' });
    renderAt('/m/o/ticket/new');
    fireEvent.change(document.getElementById('f-title')!, { target: { value: 'abc' } });
    await act(async () => { fireEvent.click(screen.getByTestId('form-save')); });
    expect(create).toHaveBeenLastCalledWith('ticket', { title: 'abc' });
    expect(screen.getByTestId('form-item-title').textContent).toContain('至少 5 个字');
    fireEvent.change(document.getElementById('f-title')!, { target: { value: 'Printer on fire' } });
    await act(async () => { fireEvent.click(screen.getByTestId('form-save')); });
    expect(create).toHaveBeenLastCalledWith('ticket', { title: 'Printer on fire' });
    expect(screen.getByTestId('m-saved').textContent).toContain('Printer on fire');
    expect(screen.getByTestId('m-open-record').getAttribute('href')).toBe('/o/ticket/r1');
  });

  it('edits send only the changed fields with the version read', async () => {
    vi.spyOn(api, 'getExpanded').mockResolvedValue({ id: 'r1', version: 3, title: 'Printer on fire', hours: 2 });
    const update = vi.spyOn(api, 'update').mockResolvedValue({ id: 'r1', version: 4, title: 'Printer on fire', hours: 5 });
    renderAt('/m/o/ticket/r1/edit');
    await act(async () => {});
    expect((document.getElementById('f-title') as HTMLInputElement).value).toBe('Printer on fire');
    fireEvent.change(document.getElementById('f-hours')!, { target: { value: '5' } });
    await act(async () => { fireEvent.click(screen.getByTestId('form-save')); });
    expect(update).toHaveBeenCalledWith('ticket', 'r1', { hours: 5 }, 3);
    expect(screen.getByTestId('m-open-record').getAttribute('href')).toBe('/o/ticket/r1');
    expect(screen.queryByTestId('m-another')).toBeNull();
  });

  it('maps desktop form paths to their phone pages', () => {
    expect(mobilePathOf('/o/ticket/new')).toBe('/m/o/ticket/new');
    expect(mobilePathOf('/o/ticket/abc/edit')).toBe('/m/o/ticket/abc/edit');
    expect(mobilePathOf('/o/ticket')).toBe('/m');
  });
});
