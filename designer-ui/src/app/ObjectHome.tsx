import { Suspense, lazy, useEffect, useState } from 'react';
import { Button, Segmented, Space, Spin, Typography } from 'antd';
import { AppstoreOutlined, CalendarOutlined, PlusOutlined, UnorderedListOutlined } from '@ant-design/icons';
import { api } from '../lib/api';
import type { ViewDefinition } from '../lib/api';
import { lbl, t } from '../lib/i18n';
import { navigate, useLocation } from '../lib/router';
import { permsOf, useApp } from './ctx';
import { ListView } from './ListView';
import { useSavedViews } from './savedViews';
import { ViewBar } from './ViewBar';

const Kanban = lazy(() => import('./Kanban'));
const CalendarView = lazy(() => import('./CalendarView'));

type Mode = 'list' | 'kanban' | 'calendar';

/**
 * An object's home: list, kanban or calendar (`?view=`), the saved views (`?vid=`; the list
 * draws its own bar with filter, sort and columns, kanban and calendar save their mode and
 * group/date field with the view's filter), and the New button if allowed.
 */
export function ObjectHome({ object }: { object: string }) {
  const { objects, session } = useApp();
  const loc = useLocation();
  const sv = useSavedViews(object);
  const cur = sv.current;
  // The kanban's group field or the calendar's date field when changed from the view's.
  const [group, setGroup] = useState<string | null>(null);
  useEffect(() => { setGroup(null); }, [object, cur?.id, cur?.version]);
  const obj = objects[object];
  if (!obj) return <Typography.Text type="danger">{object}?</Typography.Text>;
  const view = (loc.query.get('view') ?? 'list') as Mode;
  const perms = permsOf(session, object);
  const viewGroup = cur && cur.definition.mode === view ? cur.definition.group_field ?? null : null;
  const definition = (): ViewDefinition => ({
    filter: cur?.definition.filter ?? null, sort: cur?.definition.sort ?? [], columns: cur?.definition.columns ?? [],
    page_size: cur?.definition.page_size ?? null, mode: view, group_field: group ?? viewGroup,
  });
  const dirty = !!cur && ((cur.definition.mode ?? 'list') !== view || (group !== null && group !== viewGroup));
  const modeBar = view !== 'list' && sv.views && (
    <div style={{ marginBottom: 8 }}>
      <ViewBar
        views={sv.views} current={cur} dirty={dirty} canShare={session.permissions.is_admin}
        onPick={(id) => sv.pick(id)}
        onSaveAs={async ({ name, shared, default: def }) => {
          const v = await api.createView({ object, name, shared, default: def, definition: definition() });
          sv.pick(v.id, false, await sv.reload());
        }}
        onSave={async () => { if (cur) sv.replace(await api.updateView(cur.id, { definition: definition(), version: cur.version })); }}
        onRename={async (name) => { if (cur) sv.replace(await api.updateView(cur.id, { name, version: cur.version })); }}
        onDefault={async (on) => { if (cur) { await api.updateView(cur.id, { default: on }); await sv.reload(); } }}
        onDelete={async () => { if (cur) { await api.deleteView(cur.id); await sv.reload(); sv.pick(null); } }}
      />
    </div>
  );
  return (
    <div>
      <Space style={{ display: 'flex', justifyContent: 'space-between', marginBottom: 12 }}>
        <Typography.Title level={4} style={{ margin: 0 }}>{lbl(obj.plural_label ?? obj.label, object)}</Typography.Title>
        <Space>
          <Segmented value={view} onChange={(v) => {
            // The saved view (`vid`) stays selected across list, kanban and calendar.
            const q = new URLSearchParams();
            if (v !== 'list') q.set('view', String(v));
            const vid = loc.query.get('vid');
            if (vid) q.set('vid', vid);
            navigate(`/o/${object}${q.size ? `?${q}` : ''}`, true);
          }}
            options={[
              { value: 'list', label: t('list'), icon: <UnorderedListOutlined /> },
              { value: 'kanban', label: t('kanban'), icon: <AppstoreOutlined /> },
              { value: 'calendar', label: t('calendar'), icon: <CalendarOutlined /> },
            ]} data-testid="view-switch" />
          {perms.create && (
            <Button type="primary" icon={<PlusOutlined />} onClick={() => navigate(`/o/${object}/new`)} data-testid="new-record">{t('new')}</Button>
          )}
        </Space>
      </Space>
      {modeBar}
      <Suspense fallback={<Spin />}>
        {view !== 'list' && sv.vid && !sv.views ? <Spin /> : view === 'kanban' ? <Kanban object={object} filter={cur?.definition.filter ?? null} groupField={group ?? viewGroup} onGroupField={setGroup} />
          : view === 'calendar' ? <CalendarView object={object} filter={cur?.definition.filter ?? null} dateField={group ?? viewGroup} onDateField={setGroup} />
            : <ListView object={object} sv={sv} />}
      </Suspense>
    </div>
  );
}
