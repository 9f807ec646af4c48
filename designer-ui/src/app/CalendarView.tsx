import { useEffect, useState } from 'react';
import { Alert, Calendar, Select, Space } from 'antd';
import dayjs from 'dayjs';
import type { Dayjs } from 'dayjs';
import { api } from '../lib/api';
import { lbl, t } from '../lib/i18n';
import type { Filter, RecordData } from '../lib/types';
import { accessOf, permsOf, useApp } from './ctx';
import { liveFields, titleOf } from './fields';

/**
 * Records placed on a month calendar by a date or datetime field. A saved view brings its
 * filter and date field; a changed date field is reported.
 */
export default function CalendarView({ object, filter, dateField, onDateField }: {
  object: string; filter?: Filter | null; dateField?: string | null; onDateField?: (f: string) => void;
}) {
  const { objects, session } = useApp();
  const obj = objects[object];
  const perms = permsOf(session, object);
  const dates = liveFields(obj).filter((f) => (f.type === 'date' || f.type === 'datetime') && accessOf(perms, f, session.permissions.is_admin) !== 'hidden');
  const valid = (d?: string | null) => (d && dates.some((f) => f.api_name === d) ? d : undefined);
  const [field, setField] = useState(valid(dateField) ?? dates[0]?.api_name);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => { setField(valid(dateField) ?? dates[0]?.api_name); }, [dateField]);
  const filterKey = JSON.stringify(filter ?? null);
  const [month, setMonth] = useState<Dayjs>(dayjs());
  const [rows, setRows] = useState<RecordData[]>([]);
  const f = dates.find((x) => x.api_name === field);

  useEffect(() => {
    if (!f) return;
    const start = month.startOf('month').subtract(7, 'day');
    const end = month.endOf('month').add(7, 'day');
    const lo = f.type === 'date' ? start.format('YYYY-MM-DD') : start.toISOString();
    const hi = f.type === 'date' ? end.format('YYYY-MM-DD') : end.toISOString();
    const between: Filter = { field: f.api_name, op: 'between', value: [lo, hi] };
    api.query(object, { filter: filter ? { and: [filter, between] } : between, limit: 200, sort: [f.api_name] })
      .then((p) => setRows(p.records)).catch(() => setRows([]));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [object, f, month, filterKey]);

  if (!f) return <Alert type="info" title={t('noDate')} />;
  const byDay = new Map<string, RecordData[]>();
  for (const r of rows) {
    const v = r[f.api_name];
    if (!v) continue;
    const k = dayjs(String(v)).format('YYYY-MM-DD');
    byDay.set(k, [...(byDay.get(k) ?? []), r]);
  }
  return (
    <div data-testid="calendar">
      <Space style={{ marginBottom: 8 }}>
        <span>{t('dateField')}:</span>
        <Select style={{ width: 200 }} value={field} onChange={(v) => { setField(v); onDateField?.(v); }} data-testid="calendar-field" options={dates.map((d) => ({ value: d.api_name, label: lbl(d.label, d.api_name) }))} />
      </Space>
      <Calendar value={month} onPanelChange={(d) => setMonth(d)} onSelect={(d) => setMonth(d)}
        cellRender={(d, info) => {
          if (info.type !== 'date') return info.originNode;
          const items = byDay.get(d.format('YYYY-MM-DD')) ?? [];
          return (
            <div>
              {items.slice(0, 3).map((r) => <div key={r.id} className="weft-cal-item"><a href={`/o/${object}/${r.id}`}>{titleOf(obj, r)}</a></div>)}
              {items.length > 3 && <div className="weft-cal-item">+{items.length - 3}</div>}
            </div>
          );
        }} />
    </div>
  );
}
