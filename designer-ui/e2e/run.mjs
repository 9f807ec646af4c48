// Browser tests: a real `weft demo` (fresh SQLite data dir, free port) driven through Debian's
// chromium by playwright-core. Usage: node e2e/run.mjs <path to weft binary>
// Prints one line per test and a closing "N passed, N failed" line; exits 1 on any failure.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { tests } from './tests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const bin = resolve(process.argv[2] ?? join(repo, 'target', 'debug', 'weft'));
const shots = join(repo, 'docs', 'screenshots');
mkdirSync(shots, { recursive: true });

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

async function waitHealthy(base, proc, log) {
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`weft exited (${proc.exitCode}):\n${log()}`);
    try { const r = await fetch(`${base}/healthz`); if (r.ok) return; } catch { /* not yet */ }
    try { const r = await fetch(`${base}/api/v1/auth/session`); if (r.status === 401) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`weft did not become healthy:\n${log()}`);
}

const data = mkdtempSync(join(tmpdir(), 'weft-ui-e2e-'));
const port = await freePort();
// `localhost` (not 127.0.0.1): chromium treats it as a secure context, so the server's
// `__Host-` Secure session cookie is accepted over plain http. E2E_BASE points the tests at
// an already running server instead (development only).
const base = process.env.E2E_BASE ?? `http://localhost:${port}`;
let out = '';
const weft = process.env.E2E_BASE
  ? spawn('sleep', ['3600'])
  : spawn(bin, ['demo', '--data-dir', data, '--host', '127.0.0.1', '--port', String(port)], {
    cwd: repo, env: { ...process.env, WEFT_LOG: process.env.WEFT_LOG ?? 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
weft.stdout?.on('data', (d) => { out += d; });
weft.stderr?.on('data', (d) => { out += d; });

/**
 * First load of the end-user app, reported (not asserted): a signed-in user opens a list with
 * a cold HTTP cache; measured from navigation start to the list's total being shown.
 */
async function measureFirstLoad(browser, base) {
  const login = await browser.newContext({ baseURL: base });
  const p = await login.newPage();
  await p.goto('/');
  const r = await p.evaluate(async () => (await fetch('/api/v1/auth/login', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'director@demo.weft', password: 'weft-demo-2026' }),
  })).status);
  if (r !== 200) throw new Error(`measure: login ${r}`);
  const state = await login.storageState();
  await login.close();
  const runs = [];
  let bytes = 0;
  for (let i = 0; i < 5; i++) {
    const ctx = await browser.newContext({ baseURL: base, storageState: state, viewport: { width: 1440, height: 900 } });
    const page = await ctx.newPage();
    await page.goto('/o/opportunity');
    await page.getByTestId('list-total').waitFor();
    const m = await page.evaluate(() => ({
      shown: performance.now(),
      bytes: performance.getEntriesByType('resource').filter((e) => e.name.includes('/assets/')).reduce((n, e) => n + (e.decodedBodySize || 0), 0),
    }));
    runs.push(m.shown);
    bytes = m.bytes;
    await ctx.close();
  }
  runs.sort((a, b) => a - b);
  console.log(`first load, signed in, cold cache, /o/opportunity list shown: median ${runs[2].toFixed(0)} ms (min ${runs[0].toFixed(0)}, max ${runs[4].toFixed(0)}; ${(bytes / 1024).toFixed(0)} KiB of assets)`);
}

let browser;
let passed = 0;
let skipped = 0;
let failed = 0;
try {
  await waitHealthy(base, weft, () => out);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  const only = process.env.E2E_ONLY;
  for (const [name, fn] of tests) {
    if (only && !name.includes(only)) continue;
    if (name.startsWith('SKIP:')) { skipped++; console.log(`skip ${name.slice(5).trim()}`); continue; }
    const context = await browser.newContext({ baseURL: base, viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    const page = await context.newPage();
    page.setDefaultTimeout(15000);
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const t0 = Date.now();
    try {
      await fn({ page, context, base, shots, shot: (n) => page.screenshot({ path: join(shots, `${n}.png`) }) });
      if (errors.length) throw new Error(`uncaught errors in the page:\n${errors.join('\n')}`);
      passed++;
      console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}\n     ${String(e?.stack ?? e).split('\n').slice(0, 8).join('\n     ')}`);
      await page.screenshot({ path: join(tmpdir(), `weft-e2e-fail-${name.replace(/\W+/g, '_')}.png`) }).catch(() => {});
    } finally {
      await context.close();
    }
  }
  if (!only && !failed) await measureFirstLoad(browser, base);
} catch (e) {
  failed++;
  console.log(`FAIL setup: ${e?.stack ?? e}`);
} finally {
  await browser?.close();
  weft.kill('SIGTERM');
  await new Promise((r) => { if (weft.exitCode !== null) r(); else weft.once('exit', r); });
  rmSync(data, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
