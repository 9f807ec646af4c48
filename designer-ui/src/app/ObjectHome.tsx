import { Suspense, lazy } from 'react';
import { Button, Segmented, Space, Spin, Typography } from 'antd';
import { AppstoreOutlined, CalendarOutlined, PlusOutlined, UnorderedListOutlined } from '@ant-design/icons';
import { lbl, t } from '../lib/i18n';
import { navigate, useLocation } from '../lib/router';
import { permsOf, useApp } from './ctx';
import { ListView } from './ListView';

const Kanban = lazy(() => import('./Kanban'));
const CalendarView = lazy(() => import('./CalendarView'));

/** An object's home: list, kanban or calendar (`?view=`), and the New button if allowed. */
export function ObjectHome({ object }: { object: string }) {
  const { objects, session } = useApp();
  const loc = useLocation();
  const obj = objects[object];
  if (!obj) return <Typography.Text type="danger">{object}?</Typography.Text>;
  const view = loc.query.get('view') ?? 'list';
  const perms = permsOf(session, object);
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
      <Suspense fallback={<Spin />}>
        {view === 'kanban' ? <Kanban object={object} /> : view === 'calendar' ? <CalendarView object={object} /> : <ListView object={object} />}
      </Suspense>
    </div>
  );
}
