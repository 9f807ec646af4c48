import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { ViewBar } from './ViewBar';
import type { ViewBarProps } from './ViewBar';
import { ApiError } from '../lib/api';
import type { SavedView } from '../lib/api';

const view = (id: string, name: string, o: Partial<SavedView> = {}): SavedView => ({
  id, object: 'opportunity', name, shared: false, owner: 'u1', mine: true, editable: true, default: false,
  restricted: false, definition: { filter: null, sort: [], columns: [] }, version: 1, created_at: '', updated_at: '', ...o,
});

function props(o: Partial<ViewBarProps> = {}): ViewBarProps {
  return {
    views: [view('a', 'My deals'), view('b', 'Team', { shared: true, mine: false, editable: false })],
    current: null, dirty: false, canShare: false,
    onPick: vi.fn(), onSaveAs: vi.fn(async () => {}), onSave: vi.fn(async () => {}), onRename: vi.fn(async () => {}),
    onDefault: vi.fn(async () => {}), onDelete: vi.fn(async () => {}),
    ...o,
  };
}

describe('ViewBar', () => {
  it('offers save only for an editable view with changes, delete only when editable', () => {
    const { rerender } = render(<ViewBar {...props()} />);
    expect(screen.queryByTestId('view-save')).toBeNull();
    expect(screen.queryByTestId('view-delete')).toBeNull();
    const shared = view('b', 'Team', { shared: true, mine: false, editable: false });
    rerender(<ViewBar {...props({ current: shared, dirty: true })} />);
    expect(screen.queryByTestId('view-save')).toBeNull();
    expect(screen.queryByTestId('view-delete')).toBeNull();
    const mine = view('a', 'My deals');
    rerender(<ViewBar {...props({ current: mine, dirty: true })} />);
    expect(screen.getByTestId('view-save')).toBeTruthy();
    expect(screen.getByTestId('view-delete')).toBeTruthy();
    rerender(<ViewBar {...props({ current: mine, dirty: false })} />);
    expect(screen.queryByTestId('view-save')).toBeNull();
  });

  it('saves as a new view, shows the server problem at the name, and offers sharing only to admins', async () => {
    const onSaveAs = vi.fn()
      .mockRejectedValueOnce(new ApiError(422, 'validation_failed', '1 problem', [{ path: '/name', code: 'duplicate', message: 'a view named X already exists' }]))
      .mockResolvedValueOnce(undefined);
    render(<ViewBar {...props({ onSaveAs })} />);
    fireEvent.click(screen.getByTestId('view-save-as'));
    await screen.findByTestId('view-name');
    expect(screen.queryByTestId('view-shared')).toBeNull();
    fireEvent.change(screen.getByTestId('view-name'), { target: { value: 'My deals' } });
    fireEvent.click(screen.getByTestId('view-dialog-ok'));
    await screen.findByText('a view named X already exists');
    expect(onSaveAs).toHaveBeenCalledWith({ name: 'My deals', shared: false, default: false });
    fireEvent.change(screen.getByTestId('view-name'), { target: { value: 'Big deals' } });
    fireEvent.click(screen.getByTestId('view-default'));
    fireEvent.click(screen.getByTestId('view-dialog-ok'));
    await waitFor(() => expect(onSaveAs).toHaveBeenLastCalledWith({ name: 'Big deals', shared: false, default: true }));
  });

  it('lets admins share', async () => {
    const onSaveAs = vi.fn(async () => {});
    render(<ViewBar {...props({ onSaveAs, canShare: true })} />);
    fireEvent.click(screen.getByTestId('view-save-as'));
    fireEvent.change(await screen.findByTestId('view-name'), { target: { value: 'Pipeline' } });
    fireEvent.click(screen.getByTestId('view-shared'));
    fireEvent.click(screen.getByTestId('view-dialog-ok'));
    await waitFor(() => expect(onSaveAs).toHaveBeenCalledWith({ name: 'Pipeline', shared: true, default: false }));
  });
});
