import { useState } from 'react';
import { Alert, Button, Checkbox, Dropdown, Form, Input, Modal, Popconfirm, Select, Space, Switch, Tooltip } from 'antd';
import { DeleteOutlined, EditOutlined, MoreOutlined, SaveOutlined, StarOutlined } from '@ant-design/icons';
import type { ButtonProps } from 'antd';
import { ApiError } from '../lib/api';
import type { SavedView } from '../lib/api';
import { t } from '../lib/i18n';

export interface ViewBarProps {
  views: SavedView[];
  current: SavedView | null;
  /** The list's filter, sort or columns differ from the current view's. */
  dirty: boolean;
  /** Tenant admins may share views. */
  canShare: boolean;
  onPick: (id: string | null) => void;
  onSaveAs: (v: { name: string; shared: boolean; default: boolean }) => Promise<void>;
  onSave: () => Promise<void>;
  onRename: (name: string) => Promise<void>;
  onDefault: (on: boolean) => Promise<void>;
  onDelete: () => Promise<void>;
}

/** Problems of a failed save: the name's at the name input, the rest above the form. */
function problemsOf(e: unknown): { name?: string; other?: string } {
  if (e instanceof ApiError) {
    const by = e.byField();
    const name = by.name?.join('; ');
    const other = Object.entries(by).filter(([k]) => k !== 'name').flatMap(([, v]) => v).join('; ');
    return { name, other: other || (name ? undefined : e.message) };
  }
  return { other: String(e) };
}

/** The saved views of a list: pick one ("全部" = none), save the list as a new view, save
 * changes to the current one, rename, make default, delete. */
export function ViewBar(p: ViewBarProps) {
  const [dialog, setDialog] = useState<'saveAs' | 'rename' | null>(null);
  const [name, setName] = useState('');
  const [shared, setShared] = useState(false);
  const [makeDefault, setMakeDefault] = useState(false);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<{ name?: string; other?: string }>({});
  const mine = p.views.filter((v) => !v.shared);
  const common = p.views.filter((v) => v.shared);
  const label = (v: SavedView) => (v.default ? `${v.name} · ${t('viewDefault')}` : v.name);
  const open = (d: 'saveAs' | 'rename') => {
    setDialog(d); setErr({}); setShared(false); setMakeDefault(false);
    setName(d === 'rename' ? p.current?.name ?? '' : '');
  };
  const run = async (f: () => Promise<void>) => {
    setBusy(true); setErr({});
    try { await f(); setDialog(null); } catch (e) { setErr(problemsOf(e)); } finally { setBusy(false); }
  };
  const menu = p.current ? [
    { key: 'rename', icon: <EditOutlined />, label: t('viewRename'), disabled: !p.current.editable },
    { key: 'default', icon: <StarOutlined />, label: p.current.default ? t('viewUnsetDefault') : t('viewSetDefault') },
  ] : [];
  return (
    <Space data-testid="view-bar">
      <Select
        style={{ minWidth: 200 }}
        value={p.current?.id ?? ''}
        onChange={(v) => p.onPick(v || null)}
        popupMatchSelectWidth={false}
        data-testid="view-select"
        options={[
          { value: '', label: t('viewAll') },
          ...(mine.length ? [{ label: t('viewMine'), options: mine.map((v) => ({ value: v.id, label: label(v), title: v.name })) }] : []),
          ...(common.length ? [{ label: t('viewSharedGroup'), options: common.map((v) => ({ value: v.id, label: label(v), title: v.name })) }] : []),
        ]}
      />
      {p.current?.editable && p.dirty && (
        <Button icon={<SaveOutlined />} loading={busy} data-testid="view-save" onClick={() => run(p.onSave)}>{t('viewSave')}</Button>
      )}
      <Button data-testid="view-save-as" onClick={() => open('saveAs')}>{t('viewSaveAs')}</Button>
      {p.current && (
        <Dropdown trigger={['click']} menu={{
          items: menu,
          onClick: ({ key }) => {
            if (key === 'rename') open('rename');
            else if (key === 'default') void run(() => p.onDefault(!p.current?.default));
          },
        }}>
          <Button icon={<MoreOutlined />} data-testid="view-actions" />
        </Dropdown>
      )}
      {p.current?.editable && (
        <Popconfirm title={t('viewConfirmDelete', { name: p.current.name })} onConfirm={() => run(p.onDelete)}
          okButtonProps={{ danger: true, 'data-testid': 'view-delete-ok' } as ButtonProps}>
          <Tooltip title={t('viewDelete')}><Button icon={<DeleteOutlined />} danger data-testid="view-delete" /></Tooltip>
        </Popconfirm>
      )}
      {p.current?.restricted && <Alert type="warning" showIcon title={t('viewRestricted')} style={{ padding: '2px 8px' }} />}
      {err.other && !dialog && <Alert type="error" title={err.other} style={{ padding: '2px 8px' }} />}
      <Modal
        open={dialog !== null}
        title={dialog === 'rename' ? t('viewRename') : t('viewSaveAs')}
        okText={t('save')} cancelText={t('cancel')}
        confirmLoading={busy}
        okButtonProps={{ 'data-testid': 'view-dialog-ok' } as ButtonProps}
        onCancel={() => setDialog(null)}
        onOk={() => run(() => (dialog === 'rename' ? p.onRename(name) : p.onSaveAs({ name, shared, default: makeDefault })))}
        destroyOnHidden
      >
        {err.other && <Alert type="error" title={err.other} style={{ marginBottom: 12 }} />}
        <Form layout="vertical">
          <Form.Item label={t('viewName')} required validateStatus={err.name ? 'error' : undefined} help={err.name}>
            <Input value={name} maxLength={80} autoFocus onChange={(e) => setName(e.target.value)} data-testid="view-name"
              onPressEnter={() => run(() => (dialog === 'rename' ? p.onRename(name) : p.onSaveAs({ name, shared, default: makeDefault })))} />
          </Form.Item>
          {dialog === 'saveAs' && p.canShare && (
            <Form.Item label={t('viewShared')}>
              <Switch checked={shared} onChange={setShared} data-testid="view-shared" />
            </Form.Item>
          )}
          {dialog === 'saveAs' && (
            <Checkbox checked={makeDefault} onChange={(e) => setMakeDefault(e.target.checked)} data-testid="view-default">{t('viewSetDefault')}</Checkbox>
          )}
        </Form>
      </Modal>
    </Space>
  );
}
