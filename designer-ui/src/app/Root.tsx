import { Suspense, lazy, useCallback, useEffect, useState } from 'react';
import type { MouseEvent } from 'react';
import { App as AntApp, Button, ConfigProvider, Dropdown, Layout, Menu, Result, Space, Spin } from 'antd';
import zhCN from 'antd/locale/zh_CN';
import enUS from 'antd/locale/en_US';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { ApiError, api, setCsrf } from '../lib/api';
import { lbl, setLang, t, useLang } from '../lib/i18n';
import { match, navigate, useLocation } from '../lib/router';
import type { ObjectDef, Session } from '../lib/types';
import { AppCtx, permsOf } from './ctx';
import type { AppState } from './ctx';
import { Login } from './Login';
import { ObjectHome } from './ObjectHome';
import { NotificationBell } from './NotificationBell';
import { ChangePassword } from './ChangePassword';
import { MobileHint } from '../mobile/MobileHint';

// The designer pulls in dnd-kit and the property panel: end users never download it.
const Designer = lazy(() => import('../designer/Designer'));
const FlowDesigner = lazy(() => import('../flow/FlowDesigner'));
const Rules = lazy(() => import('./Rules'));
// The record page, the record form and the approval inbox load on first use: the first
// screen (a list) does not wait for them.
const RecordPage = lazy(() => import('./RecordPage').then((m) => ({ default: m.RecordPage })));
const RecordFormPage = lazy(() => import('./RecordForm').then((m) => ({ default: m.RecordFormPage })));
const Inbox = lazy(() => import('./Approvals').then((m) => ({ default: m.Inbox })));
// Phone pages (`/m/...`): no desktop navigation, their own small chunk.
const MobileApp = lazy(() => import('../mobile/Mobile'));

// Started before React renders: the first paint needs the session and the metadata.
const boot = typeof window === 'undefined' || import.meta.env.MODE === 'test'
  ? Promise.resolve([{ status: 'rejected', reason: null }, { status: 'rejected', reason: null }] as PromiseSettledResult<never>[])
  : Promise.allSettled([api.session(), api.objects()]);

export function Root() {
  const lang = useLang();
  useEffect(() => { dayjs.locale(lang === 'zh' ? 'zh-cn' : 'en'); document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en'; }, [lang]);
  return (
    <ConfigProvider locale={lang === 'zh' ? zhCN : enUS} button={{ autoInsertSpace: false }} theme={{ zeroRuntime: true }}>
      <AntApp>
        <Shell key={lang} />
      </AntApp>
    </ConfigProvider>
  );
}

function Shell() {
  const [session, setSession] = useState<Session | null | 'loading'>('loading');
  const [objects, setObjects] = useState<{ map: Record<string, ObjectDef>; order: string[] } | null>(null);
  const [pwOpen, setPwOpen] = useState(false);
  const loc = useLocation();

  const apply = useCallback((s: Session, r: { objects: ObjectDef[] }) => {
    setCsrf(s.csrf_token ?? null);
    setSession(s);
    const map: Record<string, ObjectDef> = {};
    for (const o of r.objects) map[o.api_name] = o;
    setObjects({ map, order: r.objects.map((o) => o.api_name) });
  }, []);
  // Session, permissions and metadata in one round trip; permissions cover new objects only
  // once reloaded, so the designer calls this after publishing.
  const reloadObjects = useCallback(async () => {
    try {
      const [s, r] = await Promise.all([api.session(), api.objects()]);
      apply(s, r);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) { setSession(null); setObjects(null); } else throw e;
    }
  }, [apply]);

  useEffect(() => {
    // The first load uses the requests started when the script was evaluated.
    boot.then(([s, r]) => {
      if (s.status === 'fulfilled' && r.status === 'fulfilled') apply(s.value, r.value);
      else reloadObjects();
    });
  }, [apply, reloadObjects]);

  // Same-origin links navigate inside the app without a page load.
  const onClick = (e: MouseEvent) => {
    const a = (e.target as HTMLElement).closest('a');
    if (!a || a.target || e.metaKey || e.ctrlKey || e.shiftKey) return;
    const href = a.getAttribute('href');
    if (href && href.startsWith('/') && !href.startsWith('/api')) { e.preventDefault(); navigate(href); }
  };

  if (session === 'loading') return <Spin fullscreen />;
  if (!session || !session.user) return <Login onDone={reloadObjects} />;
  if (!objects) return <Spin fullscreen />;

  const state: AppState = { session, objects: objects.map, order: objects.order, reloadObjects };
  const readable = objects.order.filter((o) => permsOf(session, o).read);
  const isAdmin = session.permissions.is_admin;
  const logout = async () => { await api.logout().catch(() => {}); setCsrf(null); setSession(null); setObjects(null); navigate('/', true); };

  if (loc.path === '/m' || loc.path.startsWith('/m/')) {
    return (
      <AppCtx.Provider value={state}>
        <div style={{ height: '100%' }} onClick={onClick}><Suspense fallback={<Spin fullscreen />}><MobileApp path={loc.path} /></Suspense></div>
      </AppCtx.Provider>
    );
  }

  let body: React.ReactNode;
  let m: Record<string, string> | null;
  if (loc.path === '/inbox') {
    body = <Suspense fallback={<Spin />}><Inbox key={loc.query.toString()} /></Suspense>;
  } else if (loc.path === '/rules') {
    body = isAdmin ? <Suspense fallback={<Spin />}><Rules /></Suspense> : <Result status="403" title={t('notAllowed')} />;
  } else if (loc.path === '/flows') {
    body = isAdmin ? <Suspense fallback={<Spin />}><FlowDesigner /></Suspense> : <Result status="403" title={t('notAllowed')} />;
  } else if (loc.path.startsWith('/designer')) {
    body = isAdmin ? <Suspense fallback={<Spin />}><Designer /></Suspense> : <Result status="403" title={t('notAllowed')} />;
  } else if ((m = match('/o/:object/new', loc.path))) {
    body = <Suspense fallback={<Spin />}><RecordFormPage key={loc.path} object={m.object} /></Suspense>;
  } else if ((m = match('/o/:object/:id/edit', loc.path))) {
    body = <Suspense fallback={<Spin />}><RecordFormPage key={loc.path} object={m.object} id={m.id} /></Suspense>;
  } else if ((m = match('/o/:object/:id', loc.path))) {
    body = <Suspense fallback={<Spin />}><RecordPage key={loc.path} object={m.object} id={m.id} /></Suspense>;
  } else if ((m = match('/o/:object', loc.path))) {
    body = <ObjectHome key={m.object} object={m.object} />;
  } else if (readable.length) {
    body = <ObjectHome key={readable[0]} object={readable[0]} />;
  } else {
    body = <Result status="info" title={t('notAllowed')} />;
  }
  const current = loc.path === '/inbox' ? 'inbox' : loc.path === '/rules' ? 'rules' : loc.path === '/flows' ? 'flows' : loc.path.startsWith('/designer') ? 'designer' : (match('/o/:object', loc.path) ?? match('/o/:object/:x', loc.path) ?? match('/o/:object/:x/:y', loc.path))?.object ?? readable[0];

  return (
    <AppCtx.Provider value={state}>
      <Layout style={{ minHeight: '100vh' }} onClick={onClick}>
        <Layout.Header style={{ display: 'flex', alignItems: 'center', gap: 16, paddingInline: 16 }}>
          <a className="weft-logo" href="/">{session.tenant?.name ?? 'Weft'}</a>
          <Menu theme="dark" mode="horizontal" selectedKeys={[current ?? '']} style={{ flex: 1, minWidth: 0 }}
            items={[
              ...readable.map((o) => ({ key: o, label: <a href={`/o/${o}`} data-testid={`nav-${o}`}>{lbl(objects.map[o].plural_label ?? objects.map[o].label, o)}</a> })),
              { key: 'inbox', label: <a href="/inbox" data-testid="nav-inbox">{lbl({ zh: '审批', en: 'Approvals' })}</a> },
              ...(isAdmin ? [
                { key: 'designer', label: <a href="/designer" data-testid="nav-designer">{t('designer')}</a> },
                { key: 'flows', label: <a href="/flows" data-testid="nav-flows">{t('flowDesigner')}</a> },
                { key: 'rules', label: <a href="/rules" data-testid="nav-rules">{lbl({ zh: '规则', en: 'Rules' })}</a> },
              ] : []),
            ]} />
          <Space>
            <NotificationBell />
            <Button type="text" style={{ color: '#fff' }} onClick={() => setLang(t('language') === 'English' ? 'en' : 'zh')}>{t('language')}</Button>
            <Dropdown menu={{ items: [
              { key: 'password', label: lbl({ zh: '修改密码', en: 'Change password' }), onClick: () => setPwOpen(true) },
              { key: 'logout', label: t('logout'), onClick: logout },
            ] }}>
              <Button type="text" style={{ color: '#fff' }} data-testid="user-menu">{session.user.name}</Button>
            </Dropdown>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: 16 }}><MobileHint path={loc.path} />{body}</Layout.Content>
        <ChangePassword open={pwOpen} onClose={() => setPwOpen(false)} />
      </Layout>
    </AppCtx.Provider>
  );
}
