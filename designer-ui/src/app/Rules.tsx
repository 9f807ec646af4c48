// The rule editor (admins): every rule of the tenant, and an editor for one rule with two
// faces on the same document — a form (RuleForm: trigger, condition with field completion,
// actions with templates) and the JSON — check (every problem with its path, line and column, scripts and templates included),
// dry run over real records (nothing is written or sent), save as a new version.
import { useCallback, useEffect, useState } from 'react';
import { Alert, App, Button, Col, Empty, Input, List, Row, Segmented, Space, Tag, Typography } from 'antd';
import { ApiError, api } from '../lib/api';
import type { DryRun, RuleProblem, RuleRow } from '../lib/api';
import { lbl } from '../lib/i18n';
import { useLocation } from '../lib/router';
import { useApp } from './ctx';
import { DryRunPanel } from './DryRun';
import { RuleForm } from './RuleForm';
import type { RuleDoc } from './RuleForm';

const L = (zh: string, en: string) => lbl({ zh, en });

/** A new rule to start from: "an opportunity over 500,000 notifies the sales director". */
const TEMPLATE = {
  format: 'weft.rule/1',
  api_name: 'new_rule',
  object: 'opportunity',
  kind: 'trigger',
  label: '大额商机通知总监 / Big deal alert',
  on: ['create', 'update'],
  fields: ['amount'],
  condition: 'record.amount > 500000',
  actions: [{ type: 'notify', roles: ['sales_director'], title: '大额商机：{{record.name}}', body: '<p>{{record.name}}</p>' }],
};

export default function Rules() {
  const { message } = App.useApp();
  const { objects } = useApp();
  const [rules, setRules] = useState<RuleRow[] | null>(null);
  const [sel, setSel] = useState<RuleRow | null>(null);
  const [text, setText] = useState('');
  const [doc, setDoc] = useState<RuleDoc | null>(null);
  const [face, setFace] = useState<'form' | 'json'>('form');
  const [problems, setProblems] = useState<RuleProblem[] | null>(null);
  const [dry, setDry] = useState<DryRun | null>(null);
  const [busy, setBusy] = useState(false);
  const load = useCallback(() => { api.rules().then((r) => setRules(r.rules)).catch(() => setRules([])); }, []);
  useEffect(load, [load]);
  // Deep links from the form designer: `?rule=<api_name>` opens a rule, `?new=<kind>&object=&field=`
  // starts one for a field (conditional required / read-only).
  const { query } = useLocation();
  const [linked, setLinked] = useState(false);
  useEffect(() => {
    if (linked || rules === null) return;
    const name = query.get('rule');
    const kind = query.get('new');
    if (name) { const r = rules.find((x) => x.api_name === name); if (r) open(r); }
    else if (kind && query.get('object') && query.get('field')) {
      const field = query.get('field')!;
      setSel(null);
      const d: RuleDoc = { format: 'weft.rule/1', api_name: `${field}_${kind}`.slice(0, 60), object: query.get('object')!, kind, field, condition: '' };
      if (kind === 'required') d.message = '';
      setDoc(d); setText(JSON.stringify(d, null, 2)); setProblems(null); setDry(null);
    }
    setLinked(true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rules, linked]);

  const open = (r: RuleRow | null) => {
    setSel(r);
    const d = (r ? r.doc : TEMPLATE) as RuleDoc;
    setDoc(d);
    setText(JSON.stringify(d, null, 2));
    setProblems(null);
    setDry(null);
  };
  /** The document, or the JSON syntax problem at its line. */
  const parse = (): RuleDoc | undefined => {
    if (face === 'form') return doc ?? undefined;
    try {
      return JSON.parse(text) as RuleDoc;
    } catch (e) {
      const m = /line (\d+)/.exec(String(e)) ?? /position (\d+)/.exec(String(e));
      setProblems([{ path: '', code: 'json', message: String(e instanceof Error ? e.message : e), line: m ? Number(m[1]) : undefined }]);
      return undefined;
    }
  };
  /** Switch faces; JSON that does not parse keeps the JSON face, with the problem shown. */
  const switchFace = (to: 'form' | 'json') => {
    if (to === face) return;
    if (to === 'json') { setText(JSON.stringify(doc, null, 2)); setFace('json'); return; }
    const d = parse();
    if (d === undefined) return;
    if (!d || typeof d !== 'object' || Array.isArray(d)) {
      setProblems([{ path: '', code: 'type', message: L('规则必须是 JSON 对象', 'A rule is a JSON object') }]);
      return;
    }
    setDoc(d);
    setFace('form');
  };
  const run = async (what: 'check' | 'dry' | 'save') => {
    const doc = parse();
    if (doc === undefined) return;
    setBusy(true);
    setDry(null);
    try {
      if (what === 'check') {
        const r = await api.checkRule(doc);
        setProblems(r.problems);
      } else if (what === 'dry') {
        setProblems([]);
        setDry(await api.dryRun(doc));
      } else {
        const saved = sel ? await api.updateRule(sel.id, doc) : await api.createRule(doc);
        setProblems([]);
        message.success(L(`已保存（第 ${saved.version} 版）`, `Saved (version ${saved.version})`));
        setSel(saved);
        load();
      }
    } catch (e) {
      if (e instanceof ApiError && e.details.length) setProblems(e.details as RuleProblem[]);
      else message.error(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Row gutter={16} data-testid="rules">
      <Col xs={24} md={8}>
        <Space style={{ marginBottom: 8 }}>
          <Typography.Title level={4} style={{ margin: 0 }}>{L('规则', 'Rules')}</Typography.Title>
          <Button onClick={() => open(null)} data-testid="rule-new">{L('新建规则', 'New rule')}</Button>
        </Space>
        {rules && rules.length === 0 ? <Empty /> : (
          <List<RuleRow> bordered loading={rules === null} dataSource={rules ?? []} renderItem={(r) => (
            <List.Item data-testid={`rule-${r.api_name}`} style={{ cursor: 'pointer', background: sel?.id === r.id ? '#e6f4ff' : undefined }} onClick={() => open(r)}>
              <Space orientation="vertical" size={0}>
                <Space><b>{r.api_name}</b><Tag>{r.kind}</Tag>{!r.active && <Tag>{L('停用', 'off')}</Tag>}</Space>
                <Typography.Text type="secondary">{r.object} · v{r.version}{typeof r.doc.label === 'string' ? ` · ${r.doc.label}` : ''}</Typography.Text>
              </Space>
            </List.Item>
          )} />
        )}
      </Col>
      <Col xs={24} md={16}>
        {!doc ? <Empty description={L('选择或新建一条规则', 'Pick a rule or start a new one')} /> : (
          <Space orientation="vertical" style={{ width: '100%' }}>
            <Segmented value={face} onChange={(v) => switchFace(v as 'form' | 'json')} data-testid="rule-face"
              options={[{ value: 'form', label: L('表单', 'Form') }, { value: 'json', label: 'JSON' }]} />
            {face === 'form' ? (
              <RuleForm doc={doc} objects={objects} problems={problems ?? []}
                onChange={(d) => { setDoc(d); setProblems(null); setDry(null); }} />
            ) : <Input.TextArea value={text} onChange={(e) => { setText(e.target.value); setProblems(null); setDry(null); }} autoSize={{ minRows: 14, maxRows: 32 }}
              spellCheck={false} style={{ fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace', fontSize: 13 }} data-testid="rule-doc" />}
            <Space>
              <Button loading={busy} onClick={() => run('check')} data-testid="rule-check">{L('检查', 'Check')}</Button>
              <Button loading={busy} onClick={() => run('dry')} data-testid="rule-dry-run">{L('试运行（不写入）', 'Dry run (changes nothing)')}</Button>
              <Button type="primary" loading={busy} onClick={() => run('save')} data-testid="rule-save">{sel ? L('保存新版本', 'Save a new version') : L('保存', 'Save')}</Button>
            </Space>
            {problems && (problems.length === 0 && !dry
              ? <Alert type="success" title={L('没有问题', 'No problems')} data-testid="rule-ok" />
              : problems.length > 0 && (
                <Alert type="error" data-testid="rule-problems" title={L(`${problems.length} 个问题`, `${problems.length} problem(s)`)}
                  description={<ul style={{ margin: 0 }}>{problems.map((p, i) => (
                    <li key={i} data-testid="rule-problem"><code>{p.path || '/'}</code>{p.line ? ` (${L('行', 'line')} ${p.line}${p.column ? `:${p.column}` : ''})` : ''} — {p.message}</li>
                  ))}</ul>} />
              ))}
            {dry && <DryRunPanel job={dry} obj={objects[dry.report.object]} />}
          </Space>
        )}
      </Col>
    </Row>
  );
}
