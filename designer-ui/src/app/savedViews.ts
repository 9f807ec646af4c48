// The saved views of an object's home (list, kanban, calendar): loaded once per object, the
// chosen one named by `?vid=` in the URL, the user's default when the URL names none.
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../lib/api';
import type { SavedView } from '../lib/api';
import { navigate, useLocation } from '../lib/router';

export interface SavedViews {
  /** null until loaded. */
  views: SavedView[] | null;
  /** The view `?vid=` names, if the user may see it. */
  current: SavedView | null;
  /** The id in the URL (set even when no such view is visible). */
  vid: string | null;
  /** Go to a view (in its mode: list, kanban or calendar), or to none (全部, same mode).
   * `list` is the views to look the mode up in, when they changed since this render. */
  pick: (id: string | null, replace?: boolean, list?: SavedView[]) => void;
  reload: () => Promise<SavedView[]>;
  /** Put a changed view in place without a reload. */
  replace: (v: SavedView) => void;
}

export function useSavedViews(object: string): SavedViews {
  const loc = useLocation();
  const vid = loc.query.get('vid');
  const [views, setViews] = useState<SavedView[] | null>(null);
  const first = useRef(true);

  const go = useCallback((id: string | null, list: SavedView[], replace = false) => {
    const q = new URLSearchParams(location.search);
    if (id) {
      q.set('vid', id);
      const mode = list.find((v) => v.id === id)?.definition.mode ?? 'list';
      if (mode === 'list') q.delete('view'); else q.set('view', mode);
    } else q.delete('vid');
    const s = q.toString();
    navigate(`/o/${object}${s ? `?${s}` : ''}`, replace);
  }, [object]);

  useEffect(() => {
    let live = true;
    first.current = true;
    setViews(null);
    api.views(object).then((r) => {
      if (!live) return;
      if (first.current && !new URLSearchParams(location.search).get('vid') && r.default_view) go(r.default_view, r.views, true);
      first.current = false;
      setViews(r.views);
    }).catch(() => { if (live) setViews([]); });
    return () => { live = false; };
  }, [object, go]);

  const reload = useCallback(async () => {
    const r = await api.views(object);
    setViews(r.views);
    return r.views;
  }, [object]);

  return {
    views,
    current: views?.find((v) => v.id === vid) ?? null,
    vid,
    pick: (id, replace, list) => go(id, list ?? views ?? [], replace),
    reload,
    replace: (v) => setViews((vs) => (vs ?? []).map((x) => (x.id === v.id ? v : x))),
  };
}
