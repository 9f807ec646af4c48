import { useCallback, useEffect, useMemo, useState } from 'react';
import { Alert, Badge, Button, Checkbox, Popover, Space, Table, Typography } from 'antd';
import type { TableProps } from 'antd';
import { FilterOutlined, SettingOutlined } from '@ant-design/icons';
import { ApiError, api } from '../lib/api';
import { lbl, t } from '../lib/i18n';
import { toFilter } from '../lib/filter';
import type { FilterState } from '../lib/filter';
import type { FieldDef, RecordData } from '../lib/types';
import { accessOf, permsOf, useApp } from './ctx';
import { FieldValue, liveFields, titleOf } from './fields';
import { FilterBuilder } from './FilterBuilder';

const PAGE = 200;
const colsKey = (o: string) => `weft.cols.${o}`;

/** A virtualized table over the query API: server-side filter and sort, cursor pagination. */
export function ListView({ object }: { object: string }) {
  const { objects, session } = useApp();
  const obj = objects[object];
  const perms = permsOf(session, object);
  const visible = useMemo(() => liveFields(obj).filter((f) => accessOf(perms, f, session.permissions.is_admin) !== 'hidden'), [obj, perms, session]);
  const [cols, setCols] = useState<string[]>(() => {
    try { const s = JSON.parse(localStorage.getItem(colsKey(object)) ?? 'null'); if (Array.isArray(s)) return s; } catch { /* ignore */ }
    return visible.filter((f) => !['json', 'long_text', 'rich_text', 'attachment', 'multi_lookup'].includes(f.type)).slice(0, 7).map((f) => f.api_name);
  });
  const [filter, setFilter] = useState<FilterState>({ rel: 'and', conds: [] });
  const [sort, setSort] = useState<string[]>([]);
  const [rows, setRows] = useState<RecordData[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [total, setTotal] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [filterOpen, setFilterOpen] = useState(false);

  const shown = visible.filter((f) => cols.includes(f.api_name));
  const expand = shown.filter((f) => f.type === 'lookup' || f.type === 'master_detail').map((f) => f.api_name);
  const apiFilter = toFilter(filter, visible);

  const load = useCallback(async (after: string | null) => {
    setLoading(true); setError(null);
    try {
      const page = await api.query(object, { filter: apiFilter, sort: sort.length ? sort : undefined, limit: PAGE, cursor: after ?? undefined, expand, count: after === null });
      setRows((r) => (after ? [...r, ...page.records] : page.records));
      setCursor(page.next_cursor);
      if (after === null) setTotal(page.total ?? null);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally { setLoading(false); }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [object, JSON.stringify(apiFilter), sort.join(','), expand.join(',')]);

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

  const saveCols = (c: string[]) => { setCols(c); localStorage.setItem(colsKey(object), JSON.stringify(c)); };

  return (
    <div data-testid="list-view">
      <Space style={{ marginBottom: 8 }}>
        <Popover trigger="click" open={filterOpen} onOpenChange={setFilterOpen} placement="bottomLeft"
          content={<FilterBuilder fields={visible} value={filter} objects={objects} onApply={(s) => { setFilter(s); setFilterOpen(false); }} />}>
          <Badge count={toFilter(filter, visible) ? filter.conds.length : 0} size="small">
            <Button icon={<FilterOutlined />} data-testid="filter-button">{t('filter')}</Button>
          </Badge>
        </Popover>
        <Popover trigger="click" placement="bottomLeft" content={
          <Checkbox.Group style={{ display: 'flex', flexDirection: 'column', maxHeight: 360, overflowY: 'auto' }} value={cols}
            onChange={(v) => saveCols(visible.map((f) => f.api_name).filter((n) => (v as string[]).includes(n)))}
            options={visible.map((f) => ({ value: f.api_name, label: lbl(f.label, f.api_name) }))} data-testid="column-chooser" />
        }>
          <Button icon={<SettingOutlined />} data-testid="columns-button">{t('columns')}</Button>
        </Popover>
        {total !== null && <Typography.Text type="secondary" data-testid="list-total">{t('total', { n: total })}</Typography.Text>}
      </Space>
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
