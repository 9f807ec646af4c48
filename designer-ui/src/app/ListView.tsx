import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Alert, Badge, Button, Checkbox, Popover, Space, Table, Typography } from 'antd';
import type { TableProps } from 'antd';
import { FilterOutlined, SettingOutlined } from '@ant-design/icons';
import { ApiError, api } from '../lib/api';
import type { SavedView, ViewDefinition } from '../lib/api';
import { lbl, t } from '../lib/i18n';
import { fromFilter, toFilter } from '../lib/filter';
import type { FilterState } from '../lib/filter';
import type { FieldDef, Filter, RecordData } from '../lib/types';
import { accessOf, permsOf, useApp } from './ctx';
import { FieldValue, liveFields, titleOf } from './fields';
import { FilterBuilder } from './FilterBuilder';
import { ViewBar } from './ViewBar';
import type { SavedViews } from './savedViews';

const PAGE = 200;
const colsKey = (o: string) => `weft.cols.${o}`;
const EMPTY: FilterState = { rel: 'and', conds: [] };

/** JSON with object keys sorted, to compare definitions whatever order the database keeps. */
export function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/**
 * A virtualized table over the query API: server-side filter and sort, cursor pagination, and
 * saved views (`?vid=<view id>` in the URL; without one, the user's default view if any).
 */
export function ListView({ object, sv }: { object: string; sv: SavedViews }) {
  const { objects, session } = useApp();
  const { views, current, vid } = sv;
  const obj = objects[object];
  const perms = permsOf(session, object);
  const visible = useMemo(() => liveFields(obj).filter((f) => accessOf(perms, f, session.permissions.is_admin) !== 'hidden'), [obj, perms, session]);
  const storedCols = useCallback((): string[] => {
    try { const s = JSON.parse(localStorage.getItem(colsKey(object)) ?? 'null'); if (Array.isArray(s)) return s; } catch { /* ignore */ }
    return visible.filter((f) => !['json', 'long_text', 'rich_text', 'attachment', 'multi_lookup'].includes(f.type)).slice(0, 7).map((f) => f.api_name);
  }, [object, visible]);
  const [cols, setCols] = useState<string[]>(storedCols);
  const [filter, setFilter] = useState<FilterState>(EMPTY);
  // A saved view's filter the builder cannot show as rows (nested groups, NOT): applied as is.
  const [raw, setRaw] = useState<Filter | null>(null);
  const [sort, setSort] = useState<string[]>([]);
  const [pageSize, setPageSize] = useState(PAGE);
  const applied = useRef<string | null>(null);
  const [rows, setRows] = useState<RecordData[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [total, setTotal] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [filterOpen, setFilterOpen] = useState(false);

  // Selecting a view (or 全部) applies its filter, sort, columns and page size.
  useEffect(() => {
    if (!views) return;
    const key = current ? `${current.id}:${current.version}` : null;
    if (key === applied.current) return;
    applied.current = key;
    if (!current) { setFilter(EMPTY); setRaw(null); setSort([]); setCols(storedCols()); setPageSize(PAGE); return; }
    const d = current.definition;
    const rows = fromFilter(d.filter ?? null, visible);
    setFilter(rows ?? EMPTY);
    setRaw(rows ? null : (d.filter ?? null));
    setSort(d.sort ?? []);
    const c = (d.columns ?? []).filter((n) => visible.some((f) => f.api_name === n));
    setCols(c.length ? c : storedCols());
    setPageSize(d.page_size ?? PAGE);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [views, current?.id, current?.version]);

  const shown = cols.map((n) => visible.find((f) => f.api_name === n)).filter((f): f is FieldDef => !!f);
  const expand = shown.filter((f) => f.type === 'lookup' || f.type === 'master_detail').map((f) => f.api_name);
  const apiFilter = raw ?? toFilter(filter, visible);
  const definition: ViewDefinition = { filter: apiFilter ?? null, sort, columns: cols, page_size: current?.definition.page_size ?? null, mode: 'list' };
  const dirty = !!current && stable([definition.filter, sort, cols]) !== stable([
    current.definition.filter ?? null, current.definition.sort ?? [],
    (current.definition.columns ?? []).filter((n) => visible.some((f) => f.api_name === n)).length
      ? (current.definition.columns ?? []).filter((n) => visible.some((f) => f.api_name === n)) : cols,
  ]);
  // Without `?vid=` the list does not wait for the views to load: it shows 全部 at once (the
  // first load's critical path), and a default view, if the user has one, applies when the
  // views arrive.
  const ready = (views !== null || !vid) && (applied.current ?? null) === (current ? `${current.id}:${current.version}` : null);

  const load = useCallback(async (after: string | null) => {
    if (!ready) return;
    setLoading(true); setError(null);
    try {
      const page = await api.query(object, { filter: apiFilter, sort: sort.length ? sort : undefined, limit: pageSize, cursor: after ?? undefined, expand, count: after === null });
      setRows((r) => (after ? [...r, ...page.records] : page.records));
      setCursor(page.next_cursor ?? null);
      if (after === null) setTotal(page.total ?? null);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally { setLoading(false); }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, object, JSON.stringify(apiFilter), sort.join(','), expand.join(','), pageSize]);

  useEffect(() => { load(null); }, [load]);

  const columns: TableProps<RecordData>['columns'] = shown.map((f: FieldDef, i) => ({
    key: f.api_name,
    dataIndex: f.api_name,
    title: lbl(f.label, f.api_name),
    width: i === 0 ? 220 : 160,
    ellipsis: true,
    sorter: !['multi_select', 'multi_lookup', 'json', 'attachment', 'address', 'long_text', 'rich_text'].includes(f.type),
    sortOrder: sort[0] === f.api_name ? 'ascend' : sort[0] === `-${f.api_name}` ? 'descend' : null,
    render: (v: unknown, rec: RecordData) => {
      const inner = <FieldValue f={f} v={v} rec={rec} objects={objects} />;
      return i === 0 ? <a href={`/o/${object}/${rec.id}`}>{v == null || v === '' ? titleOf(obj, rec) : inner}</a> : inner;
    },
  }));

  const onChange: TableProps<RecordData>['onChange'] = (_p, _f, sorter) => {
    const s = Array.isArray(sorter) ? sorter[0] : sorter;
    if (!s || !s.order || !s.columnKey) setSort([]);
    else setSort([`${s.order === 'descend' ? '-' : ''}${String(s.columnKey)}`]);
  };

  const saveCols = (c: string[]) => { setCols(c); if (!current) localStorage.setItem(colsKey(object), JSON.stringify(c)); };

  const replaceView = (v: SavedView) => {
    applied.current = `${v.id}:${v.version}`;
    sv.replace(v);
  };
  const viewBar = views && (
    <ViewBar
      views={views} current={current} dirty={dirty} canShare={session.permissions.is_admin}
      onPick={(id) => sv.pick(id)}
      onSaveAs={async ({ name, shared, default: def }) => {
        const v = await api.createView({ object, name, shared, default: def, definition });
        applied.current = `${v.id}:${v.version}`;
        sv.pick(v.id, false, await sv.reload());
      }}
      onSave={async () => { if (current) replaceView(await api.updateView(current.id, { definition, version: current.version })); }}
      onRename={async (name) => { if (current) replaceView(await api.updateView(current.id, { name, version: current.version })); }}
      onDefault={async (on) => {
        if (!current) return;
        await api.updateView(current.id, { default: on });
        await sv.reload();
      }}
      onDelete={async () => {
        if (!current) return;
        await api.deleteView(current.id);
        await sv.reload();
        sv.pick(null);
      }}
    />
  );

  return (
    <div data-testid="list-view">
      <Space style={{ marginBottom: 8 }} wrap>
        {viewBar}
        <Popover trigger="click" open={filterOpen} onOpenChange={setFilterOpen} placement="bottomLeft"
          content={<FilterBuilder key={stable(filter)} fields={visible} value={filter} objects={objects} onApply={(s) => { setFilter(s); setRaw(null); setFilterOpen(false); }} />}>
          <Badge count={raw ? 1 : toFilter(filter, visible) ? filter.conds.length : 0} size="small">
            <Button icon={<FilterOutlined />} data-testid="filter-button">{t('filter')}</Button>
          </Badge>
        </Popover>
        <Popover trigger="click" placement="bottomLeft" content={
          <Checkbox.Group style={{ display: 'flex', flexDirection: 'column', maxHeight: 360, overflowY: 'auto' }} value={cols}
            onChange={(v) => saveCols([...cols.filter((n) => (v as string[]).includes(n)), ...visible.map((f) => f.api_name).filter((n) => (v as string[]).includes(n) && !cols.includes(n))])}
            options={visible.map((f) => ({ value: f.api_name, label: lbl(f.label, f.api_name) }))} data-testid="column-chooser" />
        }>
          <Button icon={<SettingOutlined />} data-testid="columns-button">{t('columns')}</Button>
        </Popover>
        {total !== null && <Typography.Text type="secondary" data-testid="list-total">{t('total', { n: total })}</Typography.Text>}
      </Space>
      {vid && views && !current && <Alert type="warning" title={t('viewGone')} style={{ marginBottom: 8 }} data-testid="view-gone" />}
      {error && <Alert type="error" title={error} style={{ marginBottom: 8 }} />}
      <Table<RecordData>
        virtual
        rowKey="id"
        size="small"
        columns={columns}
        dataSource={rows}
        loading={loading}
        pagination={false}
        scroll={{ x: shown.length * 160 + 60, y: 560 }}
        onChange={onChange}
        showSorterTooltip={false}
        onScroll={(e) => {
          // Infinite scroll: fetch the next page before the end of the rendered rows.
          const el = e.currentTarget;
          if (cursor && !loading && el.scrollTop + el.clientHeight > el.scrollHeight - 400) load(cursor);
        }}
      />
      {cursor && (
        <div style={{ textAlign: 'center', marginTop: 8 }}>
          <Button onClick={() => load(cursor)} loading={loading} data-testid="load-more">
            {t('loadMore')} ({rows.length}{total !== null ? ` / ${total}` : ''})
          </Button>
        </div>
      )}
    </div>
  );
}
