// The phone pages: a landing listing the objects the user may create, and a one-column
// create/edit form with large touch targets and a save bar stuck to the bottom. No desktop
// navigation. The form is the generated one (GeneratedForm + useRecordForm, as on the
// desktop), so permissions and server problems at their fields behave the same.
import { useEffect, useRef, useState } from 'react';
import { Alert, Button, ConfigProvider, Empty, Result, Spin, Typography } from 'antd';
import { CheckSquareOutlined, LeftOutlined, PlusOutlined, RightOutlined } from '@ant-design/icons';
import { lbl, setLang, t, useLang } from '../lib/i18n';
import { match } from '../lib/router';
import type { RecordData } from '../lib/types';
import { permsOf, useApp } from '../app/ctx';
import { titleOf } from '../app/fields';
import { GeneratedForm, defaultsOf } from '../app/GeneratedForm';
import { useRecordForm } from '../app/RecordForm';
import { MobileInbox, MobileTask } from './MobileInbox';
import './mobile.css';

const L = (zh: string, en: string) => lbl({ zh, en });

/** `/m`, `/m/o/:object/new`, `/m/o/:object/:id/edit`, `/m/inbox`, `/m/inbox/:instance/:task`. */
export default function MobileApp({ path }: { path: string }) {
  useLang();
  let m: Record<string, string> | null;
  let body: React.ReactNode;
  if ((m = match('/m/o/:object/new', path))) body = <MobileForm key={path} object={m.object} />;
  else if ((m = match('/m/o/:object/:id/edit', path))) body = <MobileForm key={path} object={m.object} id={m.id} />;
  else if (path === '/m/inbox') body = <><Bar title={L('待我审批', 'To approve')} back="/m" /><main className="m-main"><MobileInbox /></main></>;
  else if ((m = match('/m/inbox/:instance/:task', path))) {
    body = <><Bar title={L('审批', 'Approval')} back="/m/inbox" /><main className="m-main"><MobileTask key={path} instance={m.instance} task={m.task} /></main></>;
  }
  else body = <MobileHome />;
  return (
    <ConfigProvider componentSize="large">
      <div className="m-app" data-testid="mobile">{body}</div>
    </ConfigProvider>
  );
}

function Bar({ title, back }: { title: string; back?: string }) {
  const { session } = useApp();
  return (
    <header className="m-bar">
      {back ? <a href={back} className="m-back" aria-label={L('返回', 'Back')} data-testid="m-back"><LeftOutlined /></a> : <span className="m-back" />}
      <span className="m-title">{title || session.tenant?.name || 'Weft'}</span>
      <button type="button" className="m-lang" onClick={() => setLang(t('language') === 'English' ? 'en' : 'zh')}>{t('language')}</button>
    </header>
  );
}

/** The objects this user may create records of, as big buttons. */
function MobileHome() {
  const { session, objects, order } = useApp();
  const creatable = order.filter((o) => permsOf(session, o).create);
  return (
    <>
      <Bar title={session.tenant?.name ?? 'Weft'} />
      <main className="m-main">
        <nav className="m-list" style={{ marginBottom: 20 }}>
          <a href="/m/inbox" className="m-item" data-testid="m-inbox-link"><CheckSquareOutlined /> <span className="m-grow">{L('待我审批', 'To approve')}</span> <RightOutlined /></a>
        </nav>
        <Typography.Title level={4} style={{ marginTop: 0 }}>{L('填写表单', 'Fill in a form')}</Typography.Title>
        {creatable.length === 0 ? <Empty description={L('没有可新建的对象', 'Nothing you may create')} /> : (
          <nav className="m-list">
            {creatable.map((o) => (
              <a key={o} href={`/m/o/${o}/new`} className="m-item" data-testid={`m-new-${o}`}>
                <PlusOutlined /> <span className="m-grow">{t('new')} {lbl(objects[o].label, o)}</span> <RightOutlined />
              </a>
            ))}
          </nav>
        )}
        <p className="m-foot"><a href="/" data-testid="m-desktop">{L('电脑版', 'Desktop version')}</a> · {session.user?.name}</p>
      </main>
    </>
  );
}

function MobileForm({ object, id }: { object: string; id?: string }) {
  const { objects } = useApp();
  const f = useRecordForm(object, id);
  const [saved, setSaved] = useState<RecordData | null>(null);
  const top = useRef<HTMLDivElement>(null);
  // After a refused save, bring the first field with a problem (or the summary) into view.
  useEffect(() => {
    const first = Object.keys(f.errors).find(Boolean);
    const el = first ? document.querySelector(`[data-testid="form-item-${first}"]`) : f.formError ? top.current : null;
    el?.scrollIntoView?.({ block: 'center' });
  }, [f.errors, f.formError]);
  if (!f.obj) return <><Bar title="" back="/m" /><Result status="404" title={object} /></>;
  if (f.loading) return <Spin fullscreen />;
  const title = id ? `${t('edit')} · ${titleOf(f.obj, f.rec ?? undefined)}` : `${t('new')} ${lbl(f.obj.label, object)}`;

  if (saved) {
    return (
      <>
        <Bar title={title} back="/m" />
        <main className="m-main">
          <Result status="success" title={t('saved')} subTitle={titleOf(f.obj, saved)} data-testid="m-saved"
            extra={[
              <Button key="open" type="primary" block href={`/o/${object}/${saved.id}`} data-testid="m-open-record">{L('查看记录', 'Open the record')}</Button>,
              ...(id ? [] : [<Button key="again" block onClick={() => { f.setValues(defaultsOf(f.fields)); setSaved(null); }} data-testid="m-another">{L('再填一条', 'Fill in another')}</Button>]),
              <Button key="home" type="link" block href="/m">{L('返回首页', 'Back to start')}</Button>,
            ]} />
        </main>
      </>
    );
  }

  return (
    <>
      <Bar title={title} back="/m" />
      <main className="m-main m-form" data-testid="m-form" ref={top}>
        {f.formError && <Alert type="error" title={f.formError} style={{ marginBottom: 16 }} data-testid="form-error" />}
        <GeneratedForm fields={f.fields} values={f.values} errors={f.errors} access={f.access} objects={objects} columns={1} layout={f.obj.layout}
          onChange={(n, v) => { f.setValues((s) => ({ ...s, [n]: v })); f.setErrors((e) => { const c = { ...e }; delete c[n]; return c; }); }} />
      </main>
      <footer className="m-savebar">
        <Button type="primary" block loading={f.busy} disabled={!f.allowed} data-testid="form-save"
          onClick={async () => { const out = await f.save(); if (out) setSaved(out); }}>{t('save')}</Button>
      </footer>
    </>
  );
}
