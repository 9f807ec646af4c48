// The notifications bell in the header: unread in-app notifications (rules, approvals), newest
// first; a click reads one and opens its record. Its own module, so the approval screens stay
// out of the first load.
import { useCallback, useEffect, useState } from 'react';
import { Badge, Button, Dropdown, Empty, List, Typography } from 'antd';
import { BellOutlined } from '@ant-design/icons';
import dayjs from 'dayjs';
import { api } from '../lib/api';
import type { Notice } from '../lib/api';
import { lbl } from '../lib/i18n';
import { navigate } from '../lib/router';

const L = (zh: string, en: string) => lbl({ zh, en });
const fmt = (v: string) => dayjs(v).format('YYYY-MM-DD HH:mm');

/** The bell: unread in-app notifications (rules, approvals), newest first; click reads. */
export function NotificationBell() {
  const [items, setItems] = useState<Notice[]>([]);
  const load = useCallback(() => { api.notifications().then((r) => setItems(r.notifications)).catch(() => setItems([])); }, []);
  useEffect(() => { load(); const h = setInterval(load, 30_000); return () => clearInterval(h); }, [load]);
  const unread = items.filter((n) => !n.read_at).length;
  return (
    <Dropdown trigger={['click']} onOpenChange={(o) => { if (o) load(); }}
      popupRender={() => (
        <div style={{ background: '#fff', width: 360, maxHeight: 420, overflow: 'auto', boxShadow: '0 6px 16px rgba(0,0,0,.12)', borderRadius: 8 }} data-testid="notifications">
          {items.length === 0 ? <Empty style={{ padding: 16 }} description={L('没有通知', 'No notifications')} /> : (
            <List<Notice> size="small" dataSource={items} renderItem={(n) => (
              <List.Item data-testid="notification" style={{ cursor: 'pointer', paddingInline: 12, opacity: n.read_at ? 0.6 : 1 }}
                onClick={async () => {
                  if (!n.read_at) await api.readNotification(n.id).catch(() => {});
                  load();
                  if (n.object && n.record_id) navigate(`/o/${n.object}/${n.record_id}`);
                }}>
                <List.Item.Meta title={n.title} description={<Typography.Text type="secondary">{fmt(n.created_at)}</Typography.Text>} />
              </List.Item>
            )} />
          )}
        </div>
      )}>
      <Button type="text" style={{ color: '#fff' }} data-testid="bell">
        <Badge count={unread} size="small" offset={[4, -2]}><BellOutlined style={{ color: '#fff', fontSize: 16 }} /></Badge>
      </Button>
    </Dropdown>
  );
}
