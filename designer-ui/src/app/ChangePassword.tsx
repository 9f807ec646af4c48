// 修改密码: the signed-in user changes their own password. The current one is required; other
// devices are signed out and this browser's session is renewed (new CSRF token).
import { App as AntApp, Form, Input, Modal } from 'antd';
import { useState } from 'react';
import { ApiError, api, setCsrf } from '../lib/api';
import { lbl } from '../lib/i18n';

interface Values { current_password: string; new_password: string; confirm: string }

export function ChangePassword({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const { message } = AntApp.useApp();
  const submit = async () => {
    const v = await form.validateFields();
    setBusy(true);
    try {
      const r = await api.changePassword(v.current_password, v.new_password);
      if (r.csrf_token) setCsrf(r.csrf_token);
      message.success(lbl({ zh: '密码已修改，其他设备已退出登录', en: 'Password changed; other devices are signed out' }));
      form.resetFields();
      onClose();
    } catch (e) {
      if (e instanceof ApiError && e.details.length) {
        const by = e.byField();
        form.setFields(Object.entries(by).map(([name, errors]) => ({ name: name as keyof Values, errors })));
      } else {
        message.error(e instanceof Error ? e.message : String(e));
      }
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal open={open} title={lbl({ zh: '修改密码', en: 'Change password' })} onCancel={onClose} onOk={submit}
      okText={lbl({ zh: '保存', en: 'Save' })} cancelText={lbl({ zh: '取消', en: 'Cancel' })} confirmLoading={busy} destroyOnHidden>
      <Form form={form} layout="vertical" preserve={false}>
        <Form.Item name="current_password" label={lbl({ zh: '当前密码', en: 'Current password' })}
          rules={[{ required: true, message: lbl({ zh: '请输入当前密码', en: 'Enter your current password' }) }]}>
          <Input.Password autoComplete="current-password" />
        </Form.Item>
        <Form.Item name="new_password" label={lbl({ zh: '新密码', en: 'New password' })}
          rules={[{ required: true, min: 8, message: lbl({ zh: '新密码至少 8 个字符', en: 'At least 8 characters' }) }]}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item name="confirm" label={lbl({ zh: '确认新密码', en: 'Confirm new password' })} dependencies={['new_password']}
          rules={[{ required: true, message: lbl({ zh: '请再次输入新密码', en: 'Enter the new password again' }) },
            ({ getFieldValue }) => ({ validator: (_, value) => (!value || getFieldValue('new_password') === value ? Promise.resolve()
              : Promise.reject(new Error(lbl({ zh: '两次输入的新密码不一致', en: 'The two passwords differ' })))) })]}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
