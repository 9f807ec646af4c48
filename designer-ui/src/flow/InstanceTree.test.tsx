import { describe, expect, it, vi } from 'vitest';
import { act, render, screen } from '@testing-library/react';
import { api, type Schemas } from '../lib/api';
import InstanceTree from './InstanceTree';
import type { InstanceView } from './instance';

const user = (id: string, name: string): Schemas['UserView'] => ({
  id, name, created_at: '2026-01-01T00:00:00Z', departments: [], has_password: true, is_admin: false, roles: [], status: 'active',
});

const inst: InstanceView = {
  id: 'i1', status: 'running', initiator: 'u-zhang', created_at: '2026-12-02T10:00:00Z',
  graph: {
    nodes: [
      { id: 'start', kind: 'start', visited: true }, { id: 'route', kind: 'exclusive', name: { zh: '按金额' }, visited: true },
      { id: 'director', kind: 'approval', name: { zh: '销售总监审批' }, visited: true, active: true },
      { id: 'manager', kind: 'approval', name: { zh: '直属经理审批' } }, { id: 'cc', kind: 'cc' }, { id: 'end', kind: 'end' },
    ],
    edges: [
      { id: 'e0', from: 'start', to: 'route' }, { id: 'big', from: 'route', to: 'director', when: { expr: 'record.amount > 500000' } },
      { id: 'small', from: 'route', to: 'manager' }, { id: 'd', from: 'director', to: 'cc', on: 'approved' },
      { id: 'm', from: 'manager', to: 'cc', on: 'approved' }, { id: 'x', from: 'cc', to: 'end' },
    ],
  },
  tasks: [{ id: 't', node: 'director', assignee: 'u-wang', status: 'open', created_at: '2026-12-02T10:00:01Z' }],
  history: [{ seq: 1, at: '2026-12-02T10:00:00Z', actor: 'u-zhang', event: 'started', node: null, data: {} }],
};

describe('InstanceTree', () => {
  it('draws the branches with the current node, its assignee by name, and the untaken branch dimmed', async () => {
    vi.spyOn(api, 'users').mockResolvedValue({ users: [user('u-wang', '王总监'), user('u-zhang', '张销售')] });
    render(<InstanceTree inst={inst} />);
    await act(async () => {});
    const state = (id: string) => screen.getByTestId(`inst-node-${id}`).getAttribute('data-state');
    expect([state('start'), state('director'), state('manager'), state('cc'), state('end')]).toEqual(['done', 'current', 'skipped', 'pending', 'pending']);
    expect(screen.getByTestId('inst-open').textContent).toContain('王总监');
    expect(screen.getByTestId('inst-node-start').textContent).toContain('张销售');
    expect(screen.getByTestId('inst-gateway-route').textContent).toContain('record.amount > 500000');
  });
});
