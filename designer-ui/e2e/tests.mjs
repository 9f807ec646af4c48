// The browser scenarios. Each gets a fresh browser context (no shared cookies) against the
// same demo server; the order matters where a later test uses what an earlier one published.
import assert from 'node:assert/strict';

const PASSWORD = 'weft-demo-2026';

async function login(page, email) {
  await page.goto('/');
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('user-menu').waitFor();
}

/** Calls the API from inside the page, with the page's session (reads only). */
async function apiGet(page, path) {
  return page.evaluate(async (p) => {
    const r = await fetch(`/api/v1${p}`);
    return { status: r.status, body: await r.json() };
  }, path);
}

/** A write from inside the page with the page's session and its CSRF token. */
async function apiPost(page, path, body) {
  return page.evaluate(async ([p, b]) => {
    const csrf = (await (await fetch('/api/v1/auth/session')).json()).csrf_token;
    const r = await fetch(`/api/v1${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify(b) });
    return { status: r.status, body: await r.json() };
  }, [path, body]);
}

/** A pointer drag in small steps, as a person does it (dnd-kit needs real pointer moves). */
async function drag(page, from, to, { dx = 0, dy = 0 } = {}) {
  await from.scrollIntoViewIfNeeded();
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  assert.ok(a && b, 'drag source and target are visible');
  const sx = a.x + a.width / 2;
  const sy = a.y + a.height / 2;
  const tx = b.x + b.width / 2 + dx;
  const ty = b.y + b.height / 2 + dy;
  await page.mouse.move(sx, sy);
  await page.mouse.down();
  await page.mouse.move(sx + 8, sy + 8, { steps: 4 });
  // dnd-kit measures the drop targets once the drag has started: let it, then move on.
  await page.waitForTimeout(100);
  await page.mouse.move(tx, ty, { steps: 16 });
  await page.mouse.move(tx + 2, ty + 2, { steps: 2 });
  await page.waitForTimeout(150);
  await page.mouse.up();
}

/** Click a "+" of the approval tree and pick a node type from its popover. The popover keeps
 * moving (and briefly sits outside the viewport) while antd positions it, so the button is
 * clicked as the DOM element it is, without Playwright's pointer checks. */
async function addFlowNode(page, plus, kind) {
  await plus.click();
  const pop = page.locator('.ant-popover:not(.ant-popover-hidden)').last();
  const btn = pop.getByTestId(`wf-add-${kind}`);
  await btn.waitFor();
  await btn.evaluate((el) => el.click());
  await pop.waitFor({ state: 'hidden' }).catch(() => {});
}

async function closeDrawer(page) {
  await page.locator('.ant-drawer-open .ant-drawer-close').click();
  await page.locator('.ant-drawer-open').waitFor({ state: 'detached' });
}

async function fieldOrder(page) {
  return page.locator('[data-testid^="canvas-field-"]').evaluateAll((els) => els.map((e) => e.dataset.testid.replace('canvas-field-', '')));
}

async function pickOption(page, field, text) {
  const sel = page.getByTestId(`form-item-${field}`).locator('.ant-select');
  await sel.click();
  if (text) await page.keyboard.type(text);
  const opt = page.locator('.ant-select-dropdown:visible .ant-select-item-option').first();
  await opt.waitFor();
  await opt.click();
}

export const tests = [
  ['business user builds an object with 9 fields by drag and drop and publishes it', async ({ page, shot }) => {
    await login(page, 'admin@demo.weft');
    await page.getByTestId('nav-designer').click();
    await page.getByTestId('canvas').waitFor();
    await page.getByTestId('object-api-name').fill('ticket');
    await page.getByTestId('object-label-zh').fill('工单');
    await page.getByTestId('object-label-en').fill('Ticket');
    const canvas = page.getByTestId('canvas');
    const types = ['text', 'email', 'phone', 'single_select', 'integer', 'date', 'currency', 'boolean', 'long_text'];
    for (const [i, type] of types.entries()) {
      // Drop onto the empty part of the canvas, below the fields already there.
      // On a loaded machine dnd-kit may miss a drop (it measures targets after activation):
      // a missed drop adds nothing, so dragging again is safe.
      for (let attempt = 0; ; attempt++) {
        const box = await canvas.boundingBox();
        await drag(page, page.getByTestId(`palette-${type}`), canvas, { dy: box.height / 2 - 20 });
        try { await page.locator('[data-testid^="canvas-field-"]').nth(i).waitFor({ timeout: 4000 }); break; } catch (e) { if (attempt >= 2) throw e; }
      }
    }
    assert.equal((await fieldOrder(page)).length, 9);

    // Properties of the title field, including a pattern the server rejects.
    await page.getByTestId('canvas-field-text_1').click();
    await page.getByTestId('prop-label-zh').fill('标题');
    await page.getByTestId('prop-label-en').fill('Title');
    await page.getByTestId('prop-api-name').fill('title');
    await page.getByTestId('prop-required').check();
    await page.getByTestId('prop-min-length').fill('5');
    await page.getByTestId('prop-pattern').fill('([a-z');
    await page.getByTestId('canvas-field-single_select_4').click();
    await page.getByTestId('prop-label-zh').fill('优先级');
    await page.getByTestId('prop-label-en').fill('Priority');
    await page.getByTestId('prop-api-name').fill('priority');
    await page.getByTestId('opt-value-0').fill('high');
    await page.getByTestId('opt-zh-0').fill('高');
    await page.getByTestId('opt-value-1').fill('low');
    await page.getByTestId('opt-zh-1').fill('低');
    await page.getByTestId('opt-add').click();
    await page.getByTestId('canvas-field-integer_5').click();
    await page.getByTestId('prop-api-name').fill('hours');
    await page.getByTestId('prop-label-zh').fill('工时');
    await page.getByTestId('prop-min').fill('0');
    await page.getByTestId('prop-max').fill('100');

    // Reorder: drag the long text to the top, move it back down by keyboard, undo, redo.
    await drag(page, page.getByTestId('handle-long_text_9'), page.getByTestId('canvas-field-title'), { dy: -10 });
    assert.equal((await fieldOrder(page))[0], 'long_text_9');
    await page.getByTestId('canvas-field-long_text_9').focus();
    await page.keyboard.press('Alt+ArrowDown');
    assert.deepEqual((await fieldOrder(page)).slice(0, 2), ['title', 'long_text_9']);
    await page.getByTestId('undo').click();
    assert.equal((await fieldOrder(page))[0], 'long_text_9');
    await page.getByTestId('redo').click();
    assert.deepEqual((await fieldOrder(page)).slice(0, 2), ['title', 'long_text_9']);

    // Layout: a second section in three columns; hours moves there from the property panel,
    // the date by dragging it onto the new section's empty space.
    await page.getByTestId('add-section').click();
    await page.getByTestId('section-label-zh-section_2').fill('处理信息');
    await page.getByTestId('section-label-en-section_2').fill('Handling');
    await page.getByTestId('section-columns-section_2').getByText('3', { exact: true }).click();
    await page.getByTestId('canvas-field-hours').click();
    await page.getByTestId('prop-section').click();
    await page.locator('.ant-select-item-option[title="处理信息"]').click();
    await page.getByTestId('section-section_2').getByTestId('canvas-field-hours').waitFor();
    await drag(page, page.getByTestId('handle-date_6'), page.getByTestId('section-section_2'), { dx: 120 });
    await page.getByTestId('section-section_2').getByTestId('canvas-field-date_6').waitFor();
    // Hours show only for high-priority tickets (a display condition, in the list's filter builder).
    await page.getByTestId('canvas-field-hours').click();
    await page.getByTestId('prop-visible-when').click();
    const cond = page.getByTestId('prop-visible-when-modal');
    await cond.getByTestId('filter-add').click();
    await cond.getByTestId('filter-row-0').locator('.ant-select').first().click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option').filter({ hasText: '优先级' }).click();
    await cond.locator('[data-field="priority"]').click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option').filter({ hasText: /^高$/ }).click();
    await cond.getByTestId('filter-apply').click();
    await cond.waitFor({ state: 'hidden' });

    // Publish: the server refuses the bad pattern, and says so at the field.
    await page.getByTestId('publish').click();
    const problem = page.getByTestId('canvas-field-title').getByTestId('field-problem');
    await problem.waitFor();
    await page.getByTestId('canvas-field-title').click();
    await page.getByTestId('prop-pattern').fill('');
    await page.getByTestId('canvas-field-title').click();
    await shot('designer');
    await page.getByTestId('designer-mode').getByText('预览', { exact: true }).click();
    await page.getByTestId('designer-preview').waitFor();
    await shot('designer-preview');
    await page.getByTestId('designer-mode').getByText('设计', { exact: true }).click();
    await page.getByTestId('publish').click();
    await page.waitForURL('**/designer/ticket');
    const obj = await apiGet(page, '/meta/objects/ticket');
    assert.equal(obj.status, 200);
    assert.deepEqual(obj.body.fields.map((f) => f.api_name).slice(0, 3), ['title', 'long_text_9', 'email_2']);
    assert.equal(obj.body.fields.length, 9);
    const title = obj.body.fields.find((f) => f.api_name === 'title');
    assert.equal(title.required, true);
    assert.equal(title.min_length, 5);
    assert.deepEqual(obj.body.fields.find((f) => f.api_name === 'priority').options.map((o) => o.value), ['high', 'low', 'option_3']);
    assert.deepEqual(obj.body.layout.sections.map((x) => [x.key, x.columns, x.label.zh]), [['main', 2, '基本信息'], ['section_2', 3, '处理信息']]);
    assert.deepEqual(obj.body.layout.sections[1].fields, ['hours', 'date_6']);
    assert.deepEqual(obj.body.layout.visible_when, { hours: { field: 'priority', op: 'eq', value: 'high' } });
    assert.equal(obj.body.layout.sections[0].fields.length, 7);
    // Colleagues use it the same minute: the new object is in the navigation.
    await page.getByTestId('nav-ticket').waitFor();
  }],

  ['the new object form: a server validation error shows at the field, fix and save', async ({ page }) => {
    await login(page, 'admin@demo.weft');
    await page.goto('/o/ticket/new');
    // The form follows the published layout: hours sits in the second section, and shows
    // once the priority is high.
    await page.getByTestId('form-section-section_2').locator('#f-date_6').waitFor();
    assert.equal(await page.locator('#f-hours').count(), 0, 'hours is hidden until the priority is high');
    await page.locator('[data-field="priority"]').click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option').filter({ hasText: /^高$/ }).click();
    await page.getByTestId('form-section-section_2').locator('#f-hours').waitFor();
    await page.locator('#f-title').fill('abc');
    await page.locator('#f-hours').fill('12');
    await page.getByTestId('form-save').click();
    const item = page.getByTestId('form-item-title');
    await item.locator('.ant-form-item-explain-error').waitFor();
    await page.locator('#f-title').fill('Printer on fire');
    await page.getByTestId('form-save').click();
    await page.getByTestId('record-page').waitFor();
    assert.equal(await page.getByTestId('record-title').textContent(), 'Printer on fire');
  }],

  ['sales rep fills an opportunity: server error at the field, fix, save; read-only field not editable', async ({ page, shot }) => {
    await login(page, 'zhang@demo.weft');
    await page.getByTestId('nav-opportunity').click();
    await page.getByTestId('new-record').click();
    await page.getByTestId('record-form').waitFor();
    assert.equal(await page.locator('#f-discount').isDisabled(), true, 'discount is read-only for sales reps');
    await page.locator('#f-name').fill('华为云 年度框架');
    await pickOption(page, 'account', '');
    await page.locator('#f-probability').fill('150');
    await page.getByTestId('form-save').click();
    const err = page.getByTestId('form-item-probability').locator('.ant-form-item-explain-error');
    await err.waitFor();
    await shot('form-validation');
    await page.locator('#f-probability').fill('60');
    // The contract sits in a folded section; open it and attach a PDF.
    await page.getByTestId('form-section-files').getByText('附件与扩展').click();
    await page.getByTestId('form-item-contract').locator('input[type=file]').setInputFiles({
      name: '框架协议.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% weft e2e\n%%EOF\n'),
    });
    await page.getByTestId('form-item-contract').getByText('框架协议.pdf').waitFor();
    await page.getByTestId('form-save').click();
    await page.getByTestId('record-page').waitFor();
    assert.equal(await page.getByTestId('record-title').textContent(), '华为云 年度框架');
    // The record shows the file, and its link downloads the same bytes.
    const link = page.getByTestId('record-page').getByRole('link', { name: /框架协议\.pdf/ });
    const href = await link.getAttribute('href');
    const body = await page.evaluate(async (u) => (await fetch(u)).text(), href);
    assert.match(body, /weft e2e/);
    await page.getByTestId('history').getByText('创建').waitFor();
  }],

  ['kanban: dragging a card to another column changes the stage', async ({ page, shot }) => {
    await login(page, 'director@demo.weft');
    await page.goto('/o/opportunity?view=kanban');
    await page.getByTestId('kanban').waitFor();
    const card = page.locator('[data-testid^="kanban-card-"]').first();
    await card.waitFor();
    const id = (await card.getAttribute('data-testid')).replace('kanban-card-', '');
    const before = (await apiGet(page, `/data/opportunity/${id}`)).body.stage;
    const target = before === 'negotiation' ? 'proposal' : 'negotiation';
    await shot('kanban');
    const saved = page.waitForResponse((r) => r.url().includes(`/data/opportunity/${id}`) && r.request().method() === 'PATCH');
    await drag(page, card, page.getByTestId(`kanban-col-${target}`));
    assert.equal((await saved).status(), 200);
    await page.getByTestId(`kanban-col-${target}`).getByTestId(`kanban-card-${id}`).waitFor();
    assert.equal((await apiGet(page, `/data/opportunity/${id}`)).body.stage, target);
  }],

  ['list view: filter, sort, columns, load more; record page with related lists and history', async ({ page, shot }) => {
    await login(page, 'admin@demo.weft');
    await page.goto('/o/opportunity');
    await page.getByTestId('list-total').waitFor();
    const all = await page.getByTestId('list-total').textContent();
    await page.getByTestId('filter-button').click();
    await page.getByTestId('filter-add').click();
    const row = page.getByTestId('filter-row-0');
    await row.locator('.ant-select').nth(0).click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="销售阶段"]').click();
    // The value input appears once an operator is chosen; pick it again if the first pick
    // landed while the field's dropdown was still closing.
    for (let i = 0; i < 3; i++) {
      await row.locator('.ant-select').nth(1).click();
      await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="等于"]').click();
      if (await row.locator('.ant-select').nth(2).waitFor({ timeout: 3000 }).then(() => true, () => false)) break;
    }
    await row.locator('.ant-select').nth(2).click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="赢单"]').click();
    await page.getByTestId('filter-apply').click();
    await page.waitForFunction((t) => document.querySelector('[data-testid="list-total"]')?.textContent !== t, all);
    const rows = page.locator('.ant-table-tbody .ant-table-row, .ant-table-tbody-virtual-holder-inner > div');
    await page.locator('.ant-table-row').first().waitFor().catch(() => {});
    void rows;
    // sort by amount, descending
    await page.locator('.ant-table-thead th', { hasText: '金额' }).click();
    await page.locator('.ant-table-thead th', { hasText: '金额' }).click();
    await shot('list');
    // column chooser
    await page.getByTestId('columns-button').click();
    await page.getByTestId('column-chooser').getByText('下一步').click();
    await page.locator('.ant-table-thead th', { hasText: '下一步' }).waitFor();

    // record page of an account: related lists and the history timeline
    await page.goto('/o/account');
    await page.locator('.ant-table-tbody a[href^="/o/account/"]').first().click();
    await page.getByTestId('record-page').waitFor();
    await page.locator('[data-testid^="related-"]').first().waitFor();
    await page.getByTestId('history').locator('.ant-timeline-item').first().waitFor();
    await shot('record');
    await page.goto('/o/opportunity?view=calendar');
    await page.getByTestId('calendar').waitFor();
    await shot('calendar');
  }],

  ['permissions are visible: finance reads without hidden fields or write actions; logout', async ({ page }) => {
    await login(page, 'zhao@demo.weft');
    await page.goto('/o/opportunity');
    await page.getByTestId('list-total').waitFor();
    assert.equal(await page.getByTestId('new-record').count(), 0, 'no New button without create');
    assert.equal(await page.getByTestId('nav-designer').count(), 0, 'no designer for non-admins');
    await page.locator('.ant-table-tbody a[href^="/o/opportunity/"]').first().click();
    await page.getByTestId('record-page').waitFor();
    assert.equal(await page.getByTestId('record-edit').count(), 0);
    assert.equal(await page.getByTestId('record-delete').count(), 0);
    assert.equal(await page.getByText('下一步').count(), 0, 'hidden field not rendered');
    await page.getByTestId('user-menu').hover();
    await page.getByText('退出登录').click();
    await page.getByTestId('login-submit').waitFor();
    assert.equal((await apiGet(page, '/auth/session')).status, 401);
  }],

  // Skipped since the flow/rules merge of 2026-12-02: the condition branch's "+" popover never
  // becomes stable for Playwright (it keeps repositioning), so its 审批人 button cannot be clicked.
  // The tree logic and its JSON are covered by Vitest (src/flow); fix the popover, then drop SKIP.
  ['process admin draws a two-level approval with a condition branch, sees the problems on their nodes, publishes it', async ({ page, shot }) => {
    await login(page, 'admin@demo.weft');
    await page.getByTestId('nav-flows').click();
    await page.getByTestId('flow-designer').waitFor();
    const plus = page.getByTestId('wf-plus');
    // 发起人 → 直属主管 (level 1)
    await addFlowNode(page, plus.nth(0), 'approver');
    await page.locator('.ant-drawer').waitFor();
    await closeDrawer(page);
    // → 条件分支: amount > 500000 goes to the manager at level 2 as well
    await addFlowNode(page, plus.nth(1), 'condition');
    await page.getByTestId('wf-gateway-condition').waitFor();
    await addFlowNode(page, plus.nth(2), 'approver');
    await page.locator('.ant-drawer .ant-input-number input').fill('2');
    await closeDrawer(page);
    await page.getByTestId('wf-gateway-condition').locator('.wf-cond').first().click();
    await page.getByTestId('wf-branch-when').fill('');
    await closeDrawer(page);
    await page.getByTestId('flow-validate').click();
    await page.locator('.wf-cond.bad').waitFor();
    await page.getByTestId('wf-gateway-condition').locator('.wf-cond').first().click();
    await page.getByTestId('wf-branch-when').fill('record.amount > 500000');
    await closeDrawer(page);
    await page.locator('.ant-alert-success').waitFor();
    assert.equal(await page.getByTestId('wf-node-approver').count(), 2);
    assert.match(await page.getByTestId('wf-node-approver').nth(1).textContent(), /2/);
    await page.getByTestId('wf-node-approver').nth(0).click();
    await closeDrawer(page);
    await shot('flow-designer');
    // Publish: the draft is saved and version 1 is published on the server.
    await page.getByTestId('flow-key').fill('two_level');
    await page.getByTestId('flow-publish').click();
    const result = page.getByTestId('flow-publish-result');
    await result.waitFor();
    assert.match(await result.textContent(), /已发布第 1 版/, await result.textContent());
    const versions = await apiGet(page, '/meta/flows/two_level/versions');
    assert.equal(versions.status, 200);
    assert.equal(versions.body.versions.length, 1);
    await page.getByTestId('flow-versions').click();
    await page.getByTestId('flow-versions-drawer').getByText('v1', { exact: true }).waitFor();
    await page.getByTestId('flow-versions-drawer').locator('.ant-drawer-close').click();

    // A published flow opens again in the tree: the CRM's own approval flow, with its branch.
    await page.getByTestId('flow-open').click();
    // The dropdown is still animating in when it appears: click the option as the DOM element.
    const option = page.locator('.ant-select-item-option').filter({ hasText: '商机审批' });
    await option.waitFor();
    await option.evaluate((el) => el.click());
    await page.getByTestId('flow-designer').getByText('总监与财务会签').waitFor();
    await page.getByTestId('flow-designer').getByText('直属经理审批').waitFor();
    assert.equal(await page.getByTestId('flow-key').inputValue(), 'opportunity_approval');
    assert.equal(await page.getByTestId('flow-lost').count(), 0, 'the CRM flow is fully editable as a tree');
  }],

  ['a sales rep submits an opportunity for approval; the manager approves it from the inbox', async ({ page, context, shot }) => {
    await login(page, 'zhang@demo.weft');
    await page.getByTestId('nav-opportunity').click();
    await page.getByRole('link', { name: '明月门店数字化' }).first().click();
    await page.getByTestId('record-page').waitFor();
    await page.getByTestId('submit-approval').click();
    // With more than one published flow (the designer test publishes one) a menu asks which.
    const which = page.locator('.ant-dropdown-menu-item', { hasText: '商机审批' });
    await Promise.race([
      which.waitFor().then(() => which.click()).catch(() => {}),
      page.getByTestId('task-drawer').waitFor().catch(() => {}),
    ]);
    await page.getByTestId('task-drawer').waitFor();
    await page.getByTestId('task-drawer').getByTestId('flow-status').getByText('审批中').waitFor();
    const started = await apiGet(page, '/flows/tasks?box=started');
    const inst = started.body.items.find((i) => i.flow === 'opportunity_approval' && i.status === 'running');
    assert.ok(inst, 'the instance is in 我发起的');

    await context.clearCookies();
    await login(page, 'li@demo.weft');
    await page.getByTestId('nav-inbox').click();
    await page.getByTestId('inbox').waitFor();
    const item = page.getByTestId('inbox-item').first();
    await item.waitFor();
    await item.getByText('明月门店数字化').waitFor();
    await item.getByText('商机审批').waitFor();
    await shot('approval-inbox');
    await item.click();
    await page.getByTestId('task-drawer').waitFor();
    await page.getByTestId('task-comment').fill('同意，注意回款节点');
    await page.getByTestId('task-approve').click();
    await page.getByTestId('inbox').getByText(/没有事项|Nothing here/).waitFor();
    const done = await apiGet(page, `/flows/instances/${inst.id}`);
    assert.equal(done.status, 200);
    assert.equal(done.body.status, 'approved');
    assert.ok(done.body.history.some((h) => h.data?.comment === '同意，注意回款节点'), 'the comment is on the timeline');
    const mine = await apiGet(page, '/flows/tasks?box=done');
    assert.ok(mine.body.items.some((t) => t.instance === inst.id), 'the task moved to 我已审批');
  }],

  ['the approver adds a signer before himself (前加签); the new signer approves first, then the approver', async ({ page, context }) => {
    await login(page, 'liu@demo.weft');
    await page.getByTestId('nav-opportunity').click();
    await page.getByRole('link', { name: '云帆 SaaS 集成' }).first().click();
    await page.getByTestId('record-page').waitFor();
    await page.getByTestId('submit-approval').click();
    const which = page.locator('.ant-dropdown-menu-item', { hasText: '商机审批' });
    await Promise.race([
      which.waitFor().then(() => which.click()).catch(() => {}),
      page.getByTestId('task-drawer').waitFor().catch(() => {}),
    ]);
    await page.getByTestId('task-drawer').getByTestId('flow-status').getByText('审批中').waitFor();
    const inst = (await apiGet(page, '/flows/tasks?box=started')).body.items.find((i) => i.flow === 'opportunity_approval' && i.status === 'running');
    assert.ok(inst, 'the instance is in 我发起的');

    const openTask = async (email) => {
      await context.clearCookies();
      await login(page, email);
      await page.getByTestId('nav-inbox').click();
      const item = page.getByTestId('inbox-item').filter({ hasText: '云帆 SaaS 集成' }).first();
      await item.click();
      await page.getByTestId('task-drawer').waitFor();
    };
    await openTask('chen@demo.weft');
    await page.getByTestId('task-signers').click();
    await page.locator('.ant-select-item-option').filter({ hasText: '王总监' }).click();
    await page.keyboard.press('Escape');
    await page.getByTestId('task-sign-position').getByText('前加签', { exact: true }).click();
    await page.getByTestId('task-comment').fill('请王总先看');
    const added = page.waitForResponse((r) => r.url().includes('/actions') && r.request().method() === 'POST');
    await page.getByTestId('task-add-signer').click();
    const res = await added;
    assert.equal(res.status(), 200, await res.text());
    await page.getByTestId('inbox').getByText(/没有事项|Nothing here/).waitFor();

    await openTask('director@demo.weft');
    await page.getByTestId('task-approve').click();
    await page.getByTestId('task-drawer').waitFor({ state: 'detached' });

    await openTask('chen@demo.weft');
    // The timeline says what happened, by whom, in words.
    const history = page.getByTestId('instance-history');
    await history.getByText('加签', { exact: true }).waitFor();
    await history.getByText('审批 · 同意').waitFor();
    await history.getByText(/王总监/).first().waitFor();
    await history.getByText('“请王总先看”').waitFor();
    await page.getByTestId('task-approve').click();
    await page.getByTestId('task-drawer').waitFor({ state: 'detached' });
    const done = await apiGet(page, `/flows/instances/${inst.id}`);
    assert.equal(done.body.status, 'approved');
    assert.ok(done.body.history.some((h) => h.data?.comment === '请王总先看'), 'the add-signer comment is on the timeline');
  }],

  ['admin writes a rule: the check shows the script error at its line, dry run on real records, save', async ({ page, shot }) => {
    await login(page, 'admin@demo.weft');
    await page.getByTestId('nav-rules').click();
    await page.getByTestId('rules').waitFor();
    await page.getByTestId('rule-close_date_not_past').waitFor();
    await page.getByTestId('rule-new').click();
    await page.getByTestId('rule-face').getByText('JSON', { exact: true }).click();
    const doc = (condition) => JSON.stringify({
      format: 'weft.rule/1', api_name: 'amount_positive', object: 'opportunity', kind: 'validation',
      field: 'amount', message: '金额必须大于 0 / the amount must be positive', condition,
    }, null, 2);
    await page.getByTestId('rule-doc').fill(doc('record.amount >>> 0'));
    await page.getByTestId('rule-check').click();
    const problem = page.getByTestId('rule-problem').first();
    await problem.waitFor();
    assert.match(await problem.textContent(), /\/condition/);
    await page.getByTestId('rule-doc').fill(doc('is_blank(record.amount) || record.amount > 0'));
    await page.getByTestId('rule-check').click();
    await page.getByTestId('rule-ok').waitFor();
    await page.getByTestId('rule-dry-run').click();
    const dry = page.getByTestId('rule-dry-result');
    await dry.waitFor();
    assert.match(await dry.textContent(), /扫描 \d+ 条/);
    await shot('rule-editor');
    // A condition every opportunity with an amount fails: the dry run (a background job)
    // lists each one by its name with what the rule would do, page by page.
    await page.getByTestId('rule-doc').fill(doc('is_blank(record.amount) || record.amount > 100000000000'));
    await page.getByRole('button', { name: '试运行（不写入）' }).click();
    await page.getByText(/扫描 \d+ 条，命中 [1-9]\d* 条/).waitFor();
    const hit = page.locator('.ant-table-row').first();
    await hit.waitFor();
    const hitText = await hit.textContent();
    assert.match(hitText, /将拒绝保存：金额必须大于 0/);
    assert.doesNotMatch(hitText, /[0-9a-f]{8}-[0-9a-f]{4}-/, 'records are shown by name, not id');
    await shot('rule-dry-run');
    await page.getByTestId('rule-doc').fill(doc('is_blank(record.amount) || record.amount > 0'));
    await page.getByTestId('rule-save').click();
    await page.getByTestId('rule-amount_positive').waitFor();
    const rules = await apiGet(page, '/meta/rules');
    assert.ok(rules.body.rules.some((r) => r.api_name === 'amount_positive' && r.kind === 'validation'));
  }],

  ['admin builds a rule in the form: field completion in the condition and the template, problem at the field, save', async ({ page, shot }) => {
    await login(page, 'admin@demo.weft');
    await page.getByTestId('nav-rules').click();
    await page.getByTestId('rule-new').click();
    await page.getByTestId('rule-form').waitFor();
    await page.getByTestId('rf-api-name').fill('huge_deal_alert');
    await page.getByTestId('rf-label').fill('超大商机通知总监');
    // The condition: typing after `record.` offers the opportunity's matching fields.
    const cond = page.locator('textarea[data-testid="rf-condition"], [data-testid="rf-condition"] textarea').first();
    await cond.fill('');
    await cond.pressSequentially('record.amo');
    await page.locator('.ant-mentions-dropdown-menu-item').filter({ hasText: /^amount/ }).first().click();
    await cond.pressSequentially(' >>> 2000000');
    await page.getByTestId('rule-check').click();
    // The script error shows under the condition itself, with its line.
    const condItem = page.getByTestId('rule-form').locator('.ant-form-item-has-error').filter({ has: cond });
    await condItem.locator('.ant-form-item-explain-error').waitFor();
    await cond.fill('record.amount > 2000000');
    // The notification title: typing after `{{` offers the record's fields as placeholders.
    const title = page.locator('textarea[data-testid="rf-action-0-title"], [data-testid="rf-action-0-title"] textarea').first();
    await title.fill('超大商机：');
    await title.pressSequentially('{{nam');
    await page.locator('.ant-mentions-dropdown-menu-item').filter({ hasText: /^record\.name/ }).first().click();
    await page.getByTestId('rule-check').click();
    await page.getByTestId('rule-ok').waitFor();
    await page.getByTestId('rule-dry-run').click();
    await page.getByTestId('rule-dry-result').waitFor();
    await shot('rule-form');
    // The JSON face shows the same document.
    await page.getByTestId('rule-face').getByText('JSON', { exact: true }).click();
    const json = JSON.parse(await page.getByTestId('rule-doc').inputValue());
    assert.equal(json.condition, 'record.amount > 2000000');
    await page.getByTestId('rule-face').getByText('表单', { exact: true }).click();
    await page.getByTestId('rule-save').click();
    await page.getByTestId('rule-huge_deal_alert').waitFor();
    const saved = (await apiGet(page, '/meta/rules')).body.rules.find((r) => r.api_name === 'huge_deal_alert');
    assert.equal(saved.kind, 'trigger');
    assert.equal(saved.doc.condition, 'record.amount > 2000000');
    assert.equal(saved.doc.actions[0].title, '超大商机：{{record.name}}');
    assert.deepEqual(saved.doc.actions[0].roles, ['sales_director']);
  }],

  ['designer → rules: a field lists its conditional rules and starts a read-only-when rule for itself', async ({ page }) => {
    await login(page, 'admin@demo.weft');
    await page.goto('/designer/opportunity');
    await page.getByTestId('canvas-field-next_step').click();
    await page.getByTestId('prop-rules').getByText('required · lost_needs_next_step').waitFor();
    await page.getByTestId('prop-rules').getByText('条件只读…').click();
    await page.getByTestId('rule-form').waitFor();
    assert.equal(await page.getByTestId('rf-api-name').inputValue(), 'next_step_read_only');
    const cond = page.locator('textarea[data-testid="rf-condition"], [data-testid="rf-condition"] textarea').first();
    await cond.fill('record.stage == "won"');
    await page.getByTestId('rule-save').click();
    await page.getByTestId('rule-next_step_read_only').waitFor();
    const saved = (await apiGet(page, '/meta/rules')).body.rules.find((r) => r.api_name === 'next_step_read_only');
    assert.deepEqual([saved.kind, saved.object, saved.doc.field, saved.doc.condition], ['read_only', 'opportunity', 'next_step', 'record.stage == "won"']);
  }],

  ['10,000 records: the list stays virtualized and loads pages as it scrolls', async ({ page }) => {
    await login(page, 'admin@demo.weft');
    const made = await page.evaluate(async () => {
      const { csrf_token: csrf } = await (await fetch('/api/v1/auth/session')).json();
      let ok = 0;
      for (let b = 0; b < 10; b++) {
        const records = Array.from({ length: 1000 }, (_, i) => ({ subject: `跟进 #${b * 1000 + i}`, kind: 'call', duration_minutes: i % 90 }));
        const r = await fetch('/api/v1/data/activity/bulk', {
          method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify({ records }),
        });
        ok += (await r.json()).succeeded ?? 0;
      }
      return ok;
    });
    assert.equal(made, 10000);
    await page.goto('/o/activity');
    await page.getByTestId('list-total').waitFor();
    assert.ok(Number(/\d+/.exec(await page.getByTestId('list-total').textContent())[0]) >= 10000);
    const holder = page.locator('.ant-table-tbody-virtual-holder');
    await holder.hover();
    for (let i = 0; i < 3; i++) {
      const before = await page.getByTestId('load-more').textContent();
      await holder.evaluate((el) => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event('scroll')); });
      await page.waitForFunction((t) => document.querySelector('[data-testid="load-more"]')?.textContent !== t, before);
    }
    const loaded = Number(/\((\d+) \//.exec(await page.getByTestId('load-more').textContent())[1]);
    assert.ok(loaded >= 800, `pages were fetched while scrolling (${loaded} rows loaded)`);
    const rendered = await page.locator('.ant-table-row').count();
    assert.ok(rendered < 60, `only the visible rows are in the DOM (${rendered})`);
  }],
  ['approval tree: a submitted opportunity is drawn with its current node; after approval the node shows done', async ({ page, context, shot }) => {
    const deal = '华信 2026 年度设备采购'; // 860,000: the sales director and finance, both (会签)
    await login(page, 'zhang@demo.weft');
    await page.getByTestId('nav-opportunity').click();
    await page.getByRole('link', { name: deal }).first().click();
    await page.getByTestId('record-page').waitFor();
    await page.getByTestId('submit-approval').click();
    const which = page.locator('.ant-dropdown-menu-item', { hasText: '商机审批' });
    await Promise.race([
      which.waitFor().then(() => which.click()).catch(() => {}),
      page.getByTestId('task-drawer').waitFor().catch(() => {}),
    ]);
    const drawer = page.getByTestId('task-drawer');
    await drawer.getByTestId('flow-status').getByText('审批中').waitFor();
    await drawer.getByTestId('tab-flow').click();
    const tree = drawer.getByTestId('instance-tree');
    const node = (id) => tree.getByTestId(`inst-node-${id}`);
    await node('director').waitFor();
    assert.equal(await node('director').getAttribute('data-state'), 'current');
    await node('director').getByTestId('inst-open').getByText(/王总监/).waitFor();
    assert.match(await node('director').getByTestId('inst-open').textContent(), /王总监/);
    assert.equal(await node('manager').getAttribute('data-state'), 'skipped', 'the small-deal branch is not taken');
    assert.equal(await node('start').getAttribute('data-state'), 'done');
    await node('start').getByText(/张销售/).first().waitFor();
    assert.match(await node('start').textContent(), /张销售/);
    assert.equal(await node('cc_finance').getAttribute('data-state'), 'skipped', 'finance approves instead of being copied');
    assert.equal(await node('mark').getAttribute('data-state'), 'pending');

    await context.clearCookies();
    await login(page, 'director@demo.weft');
    await page.getByTestId('nav-inbox').click();
    const item = page.getByTestId('inbox-item').filter({ hasText: deal }).first();
    await item.click();
    await drawer.getByTestId('tab-flow').click();
    await node('director').waitFor();
    assert.equal(await node('director').getAttribute('data-state'), 'current');
    await node('director').scrollIntoViewIfNeeded();
    await shot('instance-tree');
    await drawer.getByTestId('tab-detail').click();
    await drawer.getByTestId('task-comment').fill('同意，大单优先排产');
    await drawer.getByTestId('task-approve').click();
    await drawer.waitFor({ state: 'detached' });

    // 会签: finance approves too.
    await context.clearCookies();
    await login(page, 'zhao@demo.weft');
    await page.getByTestId('nav-inbox').click();
    await page.getByTestId('inbox-item').filter({ hasText: deal }).first().click();
    await drawer.getByTestId('task-approve').click();
    await drawer.waitFor({ state: 'detached' });
    await context.clearCookies();
    await login(page, 'director@demo.weft');
    await page.getByTestId('nav-inbox').click();

    // Done: from 我已审批, and from the record page's approvals.
    await page.getByTestId('box-done').click();
    await page.getByTestId('inbox-item').filter({ hasText: deal }).first().click();
    await drawer.getByTestId('tab-flow').click();
    await node('director').waitFor();
    assert.equal(await node('director').getAttribute('data-state'), 'done');
    assert.equal(await node('director').getAttribute('data-outcome'), 'approved');
    await node('director').getByTestId('inst-act').first().getByText('王总监 Wang').waitFor();
    assert.match(await node('director').getByTestId('inst-act').first().textContent(), /王总监 Wang 同意 \d\d-\d\d \d\d:\d\d“同意，大单优先排产”/);
    assert.equal(await node('mark').getAttribute('data-state'), 'done');
    assert.equal(await node('manager').getAttribute('data-state'), 'skipped');
    assert.equal(await tree.locator('[data-state="current"]').count(), 0);
    await closeDrawer(page);
    await page.getByTestId('inbox-item').filter({ hasText: deal }).first().getByTestId('record-title-link').click();
    await page.getByTestId('record-page').waitFor();
    const approvals = page.getByTestId('record-approvals');
    await approvals.getByTestId('flow-status').getByText('已通过').first().waitFor();
    await approvals.getByTestId('record-approval-flow').first().click();
    assert.equal(await page.getByTestId('instance-tree').getByTestId('inst-node-director').getAttribute('data-state'), 'done');
    // The approval updated the opportunity.
    const rec = (await apiPost(page, '/data/opportunity/query', { filter: { field: 'name', op: 'eq', value: deal } })).body.records[0];
    assert.equal(rec.discount_approved, true);
  }],

  ['mobile form at 390x844: one column, sticky save, server error at the field, fix, save, link to the record', async ({ page, shot }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await login(page, 'zhang@demo.weft');
    // The desktop app offers the phone pages on a narrow screen.
    await page.getByTestId('mobile-link').click();
    await page.getByTestId('mobile').waitFor();
    await page.getByTestId('m-new-opportunity').click();
    await page.getByTestId('m-form').waitFor();
    assert.equal(await page.getByTestId('nav-opportunity').count(), 0, 'no desktop navigation');
    const lefts = await page.locator('[data-testid^="form-item-"]').evaluateAll((els) => [...new Set(els.map((e) => Math.round(e.getBoundingClientRect().left)))]);
    assert.equal(lefts.length, 1, `one column (${lefts})`);
    assert.ok(await page.locator('[data-testid^="form-section-"]').count() > 1, 'the object layout\'s sections, stacked');
    const save = page.getByTestId('form-save');
    const inView = async () => { const b = await save.boundingBox(); return b.y >= 0 && b.y + b.height <= 844 && b.height >= 44; };
    assert.ok(await page.evaluate(() => document.documentElement.scrollHeight > 844), 'the form is longer than the screen');
    assert.ok(await inView(), 'the save bar is on screen, with a large button');
    await page.locator('#f-name').fill('移动端 现场签约');
    await pickOption(page, 'account', '');
    await page.locator('#f-probability').fill('150');
    await page.evaluate(() => window.scrollTo(0, 0));
    assert.ok(await inView(), 'the save bar stays at the bottom');
    await save.click();
    const err = page.getByTestId('form-item-probability').locator('.ant-form-item-explain-error');
    await err.waitFor();
    // The help text slides in: let antd's motion finish before the screenshot.
    await page.waitForFunction(() => !document.querySelector('[class*="show-help-appear"], [class*="show-help-enter"]'));
    await shot('mobile-form');
    await page.locator('#f-probability').fill('60');
    await save.click();
    await page.getByTestId('m-saved').waitFor();
    const href = await page.getByTestId('m-open-record').getAttribute('href');
    assert.match(href, /^\/o\/opportunity\/[0-9a-f-]{36}$/);
    await page.getByTestId('m-open-record').click();
    await page.getByTestId('record-page').waitFor();
    assert.equal(await page.getByTestId('record-title').textContent(), '移动端 现场签约');
  }],
  ['saved views: filter + sort saved as a view survive a reload; another user does not see it', async ({ page, context, shot }) => {
    await login(page, 'director@demo.weft');
    await page.goto('/o/opportunity');
    const total = page.getByTestId('list-total');
    await total.waitFor();
    const all = await total.textContent();
    await page.getByTestId('filter-button').click();
    await page.getByTestId('filter-add').click();
    const row = page.getByTestId('filter-row-0');
    await row.locator('.ant-select').nth(0).click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="销售阶段"]').click();
    for (let i = 0; i < 3; i++) {
      await row.locator('.ant-select').nth(1).click();
      await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="等于"]').click();
      if (await row.locator('.ant-select').nth(2).waitFor({ timeout: 3000 }).then(() => true, () => false)) break;
    }
    await row.locator('.ant-select').nth(2).click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="赢单"]').click();
    await page.getByTestId('filter-apply').click();
    await page.waitForFunction((t) => document.querySelector('[data-testid="list-total"]')?.textContent !== t, all);
    const filtered = await total.textContent();
    const amount = page.locator('.ant-table-thead th', { hasText: '金额' });
    await amount.click();
    await amount.click();
    await page.waitForFunction(() => document.querySelector('.ant-table-thead th[aria-sort="descending"]') !== null);

    // Save as a personal view: the URL names it.
    await page.getByTestId('view-save-as').click();
    await page.getByTestId('view-name').fill('赢单 金额从高到低');
    await page.getByTestId('view-dialog-ok').click();
    await page.waitForURL(/[?&]vid=/);
    const vid = new URL(page.url()).searchParams.get('vid');
    const saved = await apiGet(page, `/views/${vid}`);
    assert.equal(saved.status, 200);
    assert.deepEqual(saved.body.definition.filter, { field: 'stage', op: 'eq', value: 'won' });
    assert.deepEqual(saved.body.definition.sort, ['-amount']);
    assert.equal(saved.body.shared, false);

    // A reload keeps the view: same filter, same total, same sort.
    await page.reload();
    await total.waitFor();
    await page.waitForFunction((t) => document.querySelector('[data-testid="list-total"]')?.textContent === t, filtered);
    await page.getByTestId('view-select').getByText('赢单 金额从高到低').waitFor();
    assert.equal(await page.locator('.ant-table-thead th[aria-sort="descending"]').textContent(), '金额');
    await shot('saved-view');

    // 全部 shows everything again; picking the view brings its filter back.
    await page.getByTestId('view-select').click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="全部"]').click();
    await page.waitForFunction((t) => document.querySelector('[data-testid="list-total"]')?.textContent === t, all);
    assert.equal(new URL(page.url()).searchParams.get('vid'), null);
    await page.getByTestId('view-select').click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="赢单 金额从高到低"]').click();
    await page.waitForFunction((t) => document.querySelector('[data-testid="list-total"]')?.textContent === t, filtered);
    assert.equal(new URL(page.url()).searchParams.get('vid'), vid);

    // Another user neither lists it nor opens it by its id.
    await context.clearCookies();
    await login(page, 'li@demo.weft');
    await page.goto(`/o/opportunity?vid=${vid}`);
    await page.getByTestId('view-gone').waitFor();
    await page.getByTestId('list-total').waitFor();
    await page.getByTestId('view-select').click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="全部"]').waitFor();
    assert.equal(await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="赢单 金额从高到低"]').count(), 0);
    const list = await apiGet(page, '/views?object=opportunity');
    assert.equal(list.status, 200);
    assert.ok(!list.body.views.some((v) => v.id === vid), 'a personal view is not listed for others');
    assert.equal((await apiGet(page, `/views/${vid}`)).status, 404);
  }],
  ['saved views: a kanban view keeps the filter and its group field across a reload', async ({ page }) => {
    await login(page, 'director@demo.weft');
    const won = await page.evaluate(async () => {
      const { csrf_token: csrf } = await (await fetch('/api/v1/auth/session')).json();
      const h = { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf };
      const q = await (await fetch('/api/v1/data/opportunity/query', { method: 'POST', headers: h, body: JSON.stringify({ filter: { field: 'stage', op: 'eq', value: 'won' }, count: true }) })).json();
      const v = await (await fetch('/api/v1/views', { method: 'POST', headers: h, body: JSON.stringify({ object: 'opportunity', name: '赢单看板', definition: { filter: { field: 'stage', op: 'eq', value: 'won' } } }) })).json();
      return { total: q.total, id: v.id };
    });
    assert.ok(won.total > 0 && won.id);
    // A list view opened as a kanban: only the view's records are on the board.
    await page.goto(`/o/opportunity?vid=${won.id}`);
    await page.getByTestId('list-total').waitFor();
    await page.getByTestId('view-switch').getByText('看板').click();
    await page.getByTestId('kanban').waitFor();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid^="kanban-card-"]').length === n, won.total);
    assert.equal(await page.getByTestId('kanban-col-won').locator('[data-testid^="kanban-card-"]').count(), won.total);
    // Group by 来源 and save: the view becomes a kanban view grouped by source.
    await page.getByTestId('kanban-group').click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="来源"]').click();
    await page.getByTestId('kanban-col-web').waitFor();
    await page.getByTestId('view-save').click();
    await page.getByTestId('view-save').waitFor({ state: 'detached' });
    const saved = await apiGet(page, `/views/${won.id}`);
    assert.equal(saved.body.definition.mode, 'kanban');
    assert.equal(saved.body.definition.group_field, 'source');
    assert.deepEqual(saved.body.definition.filter, { field: 'stage', op: 'eq', value: 'won' });
    // Picked from the list, the view opens as its kanban again, grouped by source.
    await page.goto('/o/opportunity');
    await page.getByTestId('list-total').waitFor();
    await page.getByTestId('view-select').click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="赢单看板"]').click();
    await page.getByTestId('kanban').waitFor();
    assert.equal(new URL(page.url()).searchParams.get('view'), 'kanban');
    await page.getByTestId('kanban-col-web').waitFor();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid^="kanban-card-"]').length === n, won.total);
    assert.equal(await page.getByTestId('kanban-col-won').count(), 0, 'grouped by source, not stage');
  }],

  ['phone approval at 390x844: the manager approves a rep\'s deal from 待我审批 on the phone pages', async ({ page, context, shot }) => {
    await login(page, 'zhang@demo.weft');
    // The deal the phone form test created; zhang submits it.
    const q = await apiPost(page, '/data/opportunity/query', { filter: { field: 'name', op: 'eq', value: '移动端 现场签约' } });
    assert.equal(q.status, 200, JSON.stringify(q.body));
    const rec = q.body.records[0].id;
    const started = await apiPost(page, '/flows/instances', { flow: 'opportunity_approval', record: rec });
    assert.equal(started.status, 201, JSON.stringify(started.body));

    await context.clearCookies();
    await page.setViewportSize({ width: 390, height: 844 });
    await login(page, 'li@demo.weft');
    await page.goto('/m');
    await page.getByTestId('m-inbox-link').click();
    await page.getByTestId('m-inbox-item').filter({ hasText: '移动端 现场签约' }).click();
    await page.getByTestId('m-task').waitFor();
    await page.getByTestId('m-timeline').getByText(/发起审批/).waitFor();
    await page.getByTestId('m-comment').fill('同意，尽快签约');
    const approve = page.getByTestId('m-approve');
    const b = await approve.boundingBox();
    assert.ok(b && b.height >= 44 && b.y + b.height <= 844, 'a large approve button on screen');
    await shot('mobile-approval');
    await approve.click();
    await page.getByTestId('m-task-done').waitFor();
    const done = await apiGet(page, `/flows/instances/${started.body.id}`);
    assert.equal(done.body.status, 'approved');
    assert.ok(done.body.history.some((h) => h.data?.comment === '同意，尽快签约'));
  }],
  ['a user changes their own password from the user menu: the wrong current password shows at its field; then the new one signs in', async ({ page, shot }) => {
    await login(page, 'chen@demo.weft');
    await page.getByTestId('user-menu').hover();
    await page.getByText('修改密码').click();
    const dlg = page.getByRole('dialog', { name: '修改密码' });
    await dlg.getByLabel('当前密码').fill('not-my-password');
    await dlg.getByLabel('新密码', { exact: true }).fill('chen-new-pass-2027');
    await dlg.getByLabel('确认新密码').fill('chen-new-pass-2027');
    await dlg.getByRole('button', { name: /保\s*存/ }).click();
    await dlg.getByText('当前密码不正确').waitFor();
    await shot('change-password');
    await dlg.getByLabel('当前密码').fill(PASSWORD);
    await dlg.getByRole('button', { name: /保\s*存/ }).click();
    await page.getByText('密码已修改，其他设备已退出登录').waitFor();
    await page.mouse.move(10, 400);
    await page.getByTestId('user-menu').hover();
    await page.getByRole('menuitem', { name: '退出登录' }).click();
    await page.getByTestId('login-email').fill('chen@demo.weft');
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.locator('.ant-alert-error').waitFor();
    assert.equal(await page.getByTestId('user-menu').count(), 0, 'the old password no longer signs in');
    await page.getByTestId('login-password').fill('chen-new-pass-2027');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('user-menu').waitFor();
  }],
];
