import { useState } from 'react';
import { Alert, Button, Card, Form, Input } from 'antd';
import { ApiError, api, setCsrf } from '../lib/api';
import { setLang, t, useLang } from '../lib/i18n';

export function Login({ onDone }: { onDone: () => void }) {
  useLang();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (v: { email: string; password: string }) => {
    setBusy(true); setError(null);
    try {
      const r = await api.login(v.email, v.password);
      setCsrf(r.csrf_token);
      onDone();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally { setBusy(false); }
  };
  return (
    <div style={{ display: 'flex', justifyContent: 'center', alignItems: 'center', minHeight: '100%', background: '#f0f2f5' }}>
      <Card title="Weft" style={{ width: 360 }} extra={<Button type="link" onClick={() => setLang(t('language') === 'English' ? 'en' : 'zh')}>{t('language')}</Button>}>
        {error && <Alert type="error" title={`${t('loginFailed')}: ${error}`} style={{ marginBottom: 16 }} />}
        <Form layout="vertical" onFinish={submit}>
          <Form.Item name="email" label={t('email')} rules={[{ required: true }]}>
            <Input autoComplete="username" data-testid="login-email" />
          </Form.Item>
          <Form.Item name="password" label={t('password')} rules={[{ required: true }]}>
            <Input.Password autoComplete="current-password" data-testid="login-password" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={busy} data-testid="login-submit">{t('login')}</Button>
        </Form>
      </Card>
    </div>
  );
}
