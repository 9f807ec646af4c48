// A rule's dry run as the admin watches it: the server runs it as a background job over real
// records (nothing is written or sent). Progress with a cancel button while it runs; then the
// counts, and every matched record by its name with what the rule would do, page by page.
import { useEffect, useState } from 'react';
import { Alert, Button, Progress, Space, Table, Typography } from 'antd';
import { api } from '../lib/api';
import type { DryRun, DryRunMatch } from '../lib/api';
import { getLang, lbl } from '../lib/i18n';
import type { ObjectDef } from '../lib/types';

const L = (zh: string, en: string) => lbl({ zh, en });
const PAGE = 10;
const running = (d: DryRun) => d.status === 'queued' || d.status === 'running';

const ACTIONS: Record<string, [string, string]> = {
  notify: ['站内通知', 'notification'],
  email: ['邮件', 'e-mail'],
  webhook: ['Webhook', 'webhook'],
  update_record: ['更新本记录', 'update this record'],
  update_related: ['更新相关记录', 'update related records'],
  create_record: ['新建记录', 'create a record'],
  assign_owner: ['分配负责人', 'assign the owner'],
};

const shown = (v: unknown) => (v === null || v === undefined || v === '' ? L('（空）', '(empty)') : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** What the rule would do to one record, in words. */
export function describeOutcome(o: Record<string, unknown>, obj?: ObjectDef): string {
  const label = (f: string) => lbl(obj?.fields.find((x) => x.api_name === f)?.label, f);
  const reject = o.would_reject as { path?: string; message?: string } | undefined;
  if (reject) return L(`将拒绝保存：${reject.message ?? ''}`, `Would refuse the save: ${reject.message ?? ''}`);
  if (typeof o.field === 'string') {
    return L(`「${label(o.field)}」${shown(o.before)} → ${shown(o.after)}`, `${label(o.field)}: ${shown(o.before)} → ${shown(o.after)}`);
  }
  if (typeof o.locked === 'string') return L(`「${label(o.locked)}」将变为只读`, `${label(o.locked)} would become read-only`);
  const acts = Array.isArray(o.actions) ? (o.actions as { type?: string }[]) : [];
  if (acts.length) {
    const names = acts.map((a) => { const n = ACTIONS[a.type ?? '']; return n ? L(n[0], n[1]) : a.type; });
    return L(`将执行：${names.join('、')}`, `Would run: ${names.join(', ')}`);
  }
  return L('条件成立', 'The condition holds');
}

export function DryRunPanel({ job: first, obj, onDone }: { job: DryRun; obj?: ObjectDef; onDone?: () => void }) {
  const [job, setJob] = useState<DryRun>(first);
  const [rows, setRows] = useState<DryRunMatch[]>([]);
  const [page, setPage] = useState(1);
  const [stopping, setStopping] = useState(false);
  useEffect(() => { setJob(first); setPage(1); setRows([]); }, [first]);
  // Watch the job until it ends.
  useEffect(() => {
    if (!running(job)) { onDone?.(); return; }
    const t = setTimeout(() => { api.dryRunJob(job.id).then(setJob).catch(() => undefined); }, 400);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [job]);
  // The page of matched records shown.
  useEffect(() => {
    if (running(job) || job.kept === 0) return;
    api.dryRunMatches(job.id, (page - 1) * PAGE, PAGE).then((m) => setRows(m.matches)).catch(() => setRows([]));
  }, [job, page]);

  const r = job.report;
  if (running(job)) {
    const pct = Math.min(99, Math.round((r.scanned / Math.max(1, job.limit)) * 100));
    return (
      <Space orientation="vertical" style={{ width: '100%' }} data-testid="rule-dry-progress">
        <Typography.Text>{L(`试运行中：已扫描 ${r.scanned} 条，命中 ${r.matched} 条`, `Dry run in progress: ${r.scanned} scanned, ${r.matched} match`)}</Typography.Text>
        <Progress percent={pct} status="active" />
        <Button danger loading={stopping} onClick={() => { setStopping(true); api.cancelDryRun(job.id).then(setJob).finally(() => setStopping(false)); }}>
          {L('取消试运行', 'Cancel the dry run')}
        </Button>
      </Space>
    );
  }
  const counts = L(`扫描 ${r.scanned} 条，命中 ${r.matched} 条${r.errors ? `，${r.errors} 条出错` : ''}（未写入、未发送）`,
    `${r.matched} of ${r.scanned} records match${r.errors ? `, ${r.errors} errors` : ''} (nothing written or sent)`);
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      {job.status === 'failed' && (
        <Alert type="error" data-testid="rule-dry-failed" title={L('试运行已停止', 'The dry run stopped')}
          description={job.error ? (getLang() === 'zh' ? job.error.message_zh : job.error.message) : undefined} />
      )}
      {job.status === 'cancelled' && <Alert type="warning" title={L(`试运行已取消（已扫描 ${r.scanned} 条）`, `Dry run cancelled (${r.scanned} scanned)`)} />}
      {job.status === 'done' && <Alert type="info" data-testid="rule-dry-result" title={counts} />}
      {job.kept > 0 && (
        <Table<DryRunMatch> size="small" rowKey="id" dataSource={rows}
          pagination={{ current: page, pageSize: PAGE, total: Number(job.kept), onChange: setPage, showSizeChanger: false,
            showTotal: (t) => (job.kept < r.matched ? L(`显示前 ${t} 条命中记录`, `First ${t} matching records`) : L(`共 ${t} 条命中记录`, `${t} matching records`)) }}
          columns={[
            { title: L('记录', 'Record'), dataIndex: 'title', render: (t: string) => t || L('（未命名）', '(untitled)') },
            { title: L('规则将会', 'The rule would'), render: (_: unknown, m: DryRunMatch) => describeOutcome(m.outcome as Record<string, unknown>, obj) },
          ]} />
      )}
    </Space>
  );
}
