import { useEffect, useMemo, useState } from 'react';
import { Alert, App, Button, Card, Space, Spin, Typography } from 'antd';
import { ApiError, api } from '../lib/api';
import { lbl, t } from '../lib/i18n';
import { navigate } from '../lib/router';
import type { RecordData } from '../lib/types';
import { accessOf, permsOf, useApp } from './ctx';
import { liveFields, titleOf } from './fields';
import { GeneratedForm, defaultsOf } from './GeneratedForm';

/**
 * The state of a create (`id` absent) or edit form and its save, shared by the desktop form
 * page and the mobile one (`src/mobile`). `save` resolves to the saved record, or to null
 * with the server's problems put at their fields (`errors`) and a summary (`formError`).
 */
export function useRecordForm(object: string, id?: string) {
  const { objects, session } = useApp();
  const obj = objects[object];
  const perms = permsOf(session, object);
  const fields = useMemo(() => (obj ? liveFields(obj) : []), [obj]);
  const [rec, setRec] = useState<RecordData | null>(null);
  const [values, setValues] = useState<Record<string, unknown>>(() => (id ? {} : defaultsOf(fields)));
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!id) return;
    api.getExpanded(object, id, []).then((r) => { setRec(r); setValues(r); }).catch((e) => setFormError(String(e.message ?? e)));
  }, [object, id]);

  const allowed = id ? perms.update : perms.create;
  const access = (f: (typeof fields)[number]) => {
    const a = accessOf(perms, f, session.permissions.is_admin);
    return a === 'edit' && !allowed ? 'read' : a;
  };

  const save = async (): Promise<RecordData | null> => {
    setBusy(true); setErrors({}); setFormError(null);
    try {
      const body: Record<string, unknown> = {};
      for (const f of fields) {
        if (access(f) !== 'edit' || f.type === 'auto_number') continue;
        const v = values[f.api_name];
        if (id) {
          if (JSON.stringify(v ?? null) !== JSON.stringify(rec?.[f.api_name] ?? null)) body[f.api_name] = v ?? null;
        } else if (v !== undefined && v !== null && v !== '') body[f.api_name] = v;
      }
      return id ? await api.update(object, id, body, rec?.version) : await api.create(object, body);
    } catch (e) {
      if (e instanceof ApiError && e.details.length) {
        const by = e.byField();
        setErrors(by);
        const general = by[''];
        setFormError(general ? general.join('; ') : t('fixErrors'));
      } else setFormError(e instanceof Error ? e.message : String(e));
      return null;
    } finally { setBusy(false); }
  };
  return { obj, fields, rec, values, setValues, errors, setErrors, formError, busy, allowed, access, save, loading: !!id && !rec && !formError };
}

/** Create (`id` absent) or edit a record. Server validation problems are shown at their fields. */
export function RecordFormPage({ object, id }: { object: string; id?: string }) {
  const { objects } = useApp();
  const { message } = App.useApp();
  const { obj, fields, rec, values, setValues, errors, setErrors, formError, busy, allowed, access, save: submit, loading } = useRecordForm(object, id);
  if (loading) return <Spin />;
  const save = async () => {
    const out = await submit();
    if (!out) return;
    message.success(t('saved'));
    navigate(`/o/${object}/${out.id}`, true);
  };

  return (
    <Card title={<Typography.Text strong>{id ? `${t('edit')} · ${titleOf(obj, rec ?? undefined)}` : `${t('new')} ${lbl(obj.label, object)}`}</Typography.Text>}
      style={{ maxWidth: 960 }} data-testid="record-form">
      {formError && <Alert type="error" title={formError} style={{ marginBottom: 16 }} data-testid="form-error" />}
      <GeneratedForm fields={fields} values={values} errors={errors} access={access} objects={objects} layout={obj.layout}
        onChange={(n, v) => { setValues((s) => ({ ...s, [n]: v })); setErrors((e) => { const c = { ...e }; delete c[n]; return c; }); }} />
      <Space>
        <Button type="primary" onClick={save} loading={busy} disabled={!allowed} data-testid="form-save">{t('save')}</Button>
        <Button onClick={() => history.back()}>{t('cancel')}</Button>
      </Space>
    </Card>
  );
}
