// Drives the node's web console in Debian's headless Chromium (playwright-core,
// no downloaded browser). Started by tests/integration/console_test.cpp
// (ConsoleBrowser) after it deployed the "onboarding" journey and sent the events below
// (and the "promo" journey of the results step):
//   usage: node console.mjs <base url> <screenshot dir> <people JSON>
// people: {"admin"|"editor"|"approver"|"viewer": {"name","token"}}, the node's
// auth.admin_tokens, with auth.require_approval (every deploy is a draft until
// another person approves it). Everything runs against that real node.
// Exit 0 when every check passed; otherwise the failed check on stderr.
//
// Figures worked out by hand from the scenario (see the C++ test):
//   onboarding = welcome (send email) -> wait 1d -> nudge (send email) -> done (exit)
//   u1, u2 have an email, u3 has none; all three did "Signed Up":
//     entered 3, active 3; welcome visited 3, sent 2, suppressed 1 (no_address); wait: 3 here.
//   This script then identifies u4 with an email, u4 signs up, and the clock moves 1d:
//     entered 4, active 0; nudge visited 4, sent 3, suppressed 1; done visited 4.
// Roles and approval, by hand: the C++ test deployed the templates and the
// onboarding draft 1 as the admin, and the approver made it live. This script,
// as the admin, moves the clock, pauses and resumes onboarding, drafts "broken"
// 1 and is refused approving it herself (403, role approver); the editor drafts
// onboarding 2 (wait 2d); the approver approves it (live 2); the viewer sees no
// action and is refused a pause and a deploy over the API (403). The audit log
// then holds exactly the 12 entries listed in the audit step.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const [base, shots, peopleJson] = process.argv.slice(2);
if (!base || !shots || !peopleJson) {
  console.error('usage: node console.mjs <base url> <screenshot dir> <people JSON>');
  process.exit(2);
}
const origin = new URL(base).origin;
const people = JSON.parse(peopleJson);
const { admin, editor, approver, viewer } = people;
const token = admin.token;

async function apiAs(person, method, path, body) {
  const res = await fetch(origin + path, { method, body, headers: { Authorization: `Bearer ${person.token}` } });
  return { status: res.status, json: await res.json() };
}
const adminApi = (method, path, body) => apiAs(admin, method, path, body);
async function ingest(kind, event) {
  const res = await fetch(`${origin}/v1/${kind}`, { method: 'POST', body: JSON.stringify(event) });
  assert.equal(res.status, 200, `POST /v1/${kind}`);
}

const profile = mkdtempSync(join(tmpdir(), 'waymark-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 860 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
context.setDefaultTimeout(10000);
const page = context.pages()[0] || await context.newPage();

// Every request must go to the node; every console error is a failure except
// the browser's own line for an API answer the test provokes on purpose
// (401 for the wrong token, 403 for the approval refused on purpose, 422 for
// the invalid journey).
const foreign = [];
const errors = [];
page.on('request', (r) => { if (!r.url().startsWith(origin + '/') && !r.url().startsWith('data:')) foreign.push(r.url()); });
page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  if (/^Failed to load resource: the server responded with a status of (401|403|422)\b/.test(m.text())) return;
  errors.push(`console error: ${m.text()}`);
});

const text = (sel) => page.locator(sel).first().innerText();  // HTML
const svgText = async (sel) => (await page.locator(sel).first().textContent()).trim();
async function step(name, f) {
  try {
    await f();
    console.log(`ok   ${name}`);
  } catch (err) {
    await page.screenshot({ path: join(shots, 'console-failure.png'), fullPage: true }).catch(() => {});
    throw new Error(`${name}: ${err.message}`);
  }
}

/** Opens `hash`, drawing the page again when it is shown already. */
async function go(hash) {
  await page.evaluate((h) => {
    if (location.hash === h) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = h;
  }, hash);
}
/** A table row's cells (innerText separates them with tabs). */
const cells = (row) => row.split('\t').map((c) => c.trim());
/**
 * Opens `hash`, logs out and in again there as people[role], and waits for the
 * role the page learnt from GET /api/whoami.
 */
async function logInAs(role, hash) {
  await go(hash);
  await page.click('#logout');
  await page.locator('input[name="token"]').waitFor();
  await page.fill('input[name="token"]', people[role].token);
  await page.click('form.login button[type="submit"]');
  await page.waitForFunction((r) => document.body.dataset.role === r, role);
}

try {
  await step('the page loads, titled Waymark, with the login form', async () => {
    await page.goto(`${origin}/`);
    assert.match(await page.title(), /Waymark/);
    await page.locator('input[name="token"]').waitFor();
  });

  await step('a wrong token is refused with a message', async () => {
    await page.fill('input[name="token"]', 'not-the-token');
    await page.click('form.login button[type="submit"]');
    await page.locator('.login-status .error', { hasText: 'refused' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('waymark.token')), null);
  });

  await step('the right token shows the journeys list with the entered count', async () => {
    await page.fill('input[name="token"]', token);
    await page.click('form.login button[type="submit"]');
    const row = page.locator('tr[data-journey="onboarding"]');
    await row.waitFor();
    assert.equal(await row.locator('.col-entered').innerText(), '3');
    assert.equal(await row.locator('.col-active').innerText(), '3');
    assert.equal(await row.locator('.col-owner').innerText(), 'lifecycle-team');
    assert.equal(await row.locator('.col-version').innerText(), '1');
    assert.match(await row.innerText(), /active/);
    await page.screenshot({ path: join(shots, 'console-journeys.png') });
  });

  const count = (stepId, what) => svgText(`svg.graph g[data-step="${stepId}"] .n-${what}`);
  await step('the step graph shows the per-step counts the API gives', async () => {
    await page.click('tr[data-journey="onboarding"] a');
    await page.locator('svg.graph g[data-step="done"]').waitFor();
    const api = (await adminApi('GET', '/api/journeys/onboarding')).json.stats.steps;
    assert.equal(await count('welcome', 'visited'), '3');
    assert.equal(await count('welcome', 'sent'), '2');
    assert.equal(await count('welcome', 'suppressed'), '1');
    assert.equal(await count('wait', 'active'), '3');
    assert.equal(await count('nudge', 'visited'), '0');
    assert.equal(await count('welcome', 'visited'), String(api.welcome.visited));
    assert.equal(await count('welcome', 'sent'), String(api.welcome.sent));
    assert.equal(await count('wait', 'active'), String(api.wait.active));
    assert.match(await text('table.steps'), /no_address: 1/);
  });

  await step('the graph follows new events and the clock without a reload', async () => {
    await ingest('identify', { userId: 'u4', traits: { email: 'u4@example.com' } });
    await ingest('track', { userId: 'u4', event: 'Signed Up' });
    const clock = await adminApi('POST', '/api/clock', JSON.stringify({ advance: '1d' }));
    assert.equal(clock.status, 200);
    // Polled with a deadline on a figure that cannot be true before the refresh.
    await page.waitForFunction(() => {
      const n = document.querySelector('svg.graph g[data-step="done"] .n-visited');
      return n && n.textContent === '4';
    }, null, { timeout: 10000 });
    const api = (await adminApi('GET', '/api/journeys/onboarding')).json.stats;
    assert.equal(api.entered, 4);
    assert.equal(await count('nudge', 'visited'), '4');
    assert.equal(await count('nudge', 'sent'), '3');
    assert.equal(await count('nudge', 'suppressed'), '1');
    assert.equal(await count('wait', 'active'), '0');
    assert.equal(await count('nudge', 'sent'), String(api.steps.nudge.sent));
    await page.screenshot({ path: join(shots, 'console-journey.png'), fullPage: true });
  });

  // Results and attribution of "promo", which the C++ test deployed with a 30 %
  // holdout and the goal "Order Completed" within 7d (value properties.revenue):
  // of its entrants c1..c6, c1, c4, c5 are held out and c2, c3, c6 got one email
  // each, a day before now. Here c1 orders for 20, c2 for 100 and c3 for 50.
  // By hand, results (rates as the page shows them):
  //   all      6 entered, 3 converted (50.0 %), value 170, 28.33 per entrant
  //   treated  3, 2 (66.7 %), 150, 50.00; vs holdout: 2/3 - 1/3 = 33.3 %, pooled
  //            rate 1/2, z = (1/3) / sqrt(1/2 * 1/2 * (1/3 + 1/3)) = 0.8165, p = 0.414
  //   holdout  3, 1 (33.3 %), 20, 6.67
  // attribution by channel, `last` and `linear` alike (each buyer who had a touch
  // had one, an email): 3 conversions, 1 unattributed (c1, held out, no touch),
  // email credited with 2 conversions worth 150.
  const orders = [['c1', 20], ['c2', 100], ['c3', 50]];
  const pct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : '–');  // as dom.js fmtPct
  const two = (x) => String(Number(x.toFixed(2)));  // as reports.js
  const armCells = (a) => [a.arm, String(a.entered), String(a.converted), pct(a.rate), String(a.value),
    a.value_per_entrant.toFixed(2), ...(a.uplift ? [a.uplift.vs, pct(a.uplift.diff),
      `[${pct(a.uplift.ci[0])}, ${pct(a.uplift.ci[1])}]`, a.uplift.p.toFixed(3)] : ['', '', '', ''])];
  /** Polls `f` until it answers something truthy (deadline 5 s), then returns it. */
  async function until(what, f) {
    for (const end = Date.now() + 5000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
      const v = await f();
      if (v) return v;
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  await step('the results tab shows what GET /api/journeys/promo/results answers, and the figures by hand', async () => {
    for (const [c, revenue] of orders)
      await ingest('track', { userId: c, event: 'Order Completed', properties: { revenue } });
    // Polled on a figure that cannot be true before the third order is counted.
    const api = await until('3 conversions in the results', async () => {
      const r = (await adminApi('GET', '/api/journeys/promo/results')).json;
      return r.arms && r.arms[0].converted === 3 && r;
    });
    await go('#/journey/promo');
    await page.click('nav.tabs a:has-text("Results")');
    const rows = page.locator('table.results tbody tr');
    await rows.nth(2).waitFor();
    assert.equal(await rows.count(), api.arms.length);
    assert.deepEqual((await rows.allInnerTexts()).map(cells), api.arms.map(armCells));
    assert.equal(await text('section:has(table.results) p.meta'), 'version: all');
    assert.deepEqual((await rows.allInnerTexts()).map((r) => cells(r).slice(0, 8).join('|')), [
      'all|6|3|50.0 %|170|28.33||', 'treated|3|2|66.7 %|150|50.00|holdout|33.3 %',
      'holdout|3|1|33.3 %|20|6.67||']);
    assert.equal(cells(await rows.nth(1).innerText())[9], '0.414');
    await page.screenshot({ path: join(shots, 'console-results.png'), fullPage: true });
  });

  await step('the attribution page shows what GET /api/attribution answers (last, then linear), and the figures by hand', async () => {
    const now = new Date((await adminApi('GET', '/api/stats')).json.now);
    const from = new Date(now - 7 * 864e5).toISOString();
    const to = new Date(now.getTime() + 864e5).toISOString();
    await go(`#/attribution?${new URLSearchParams({ model: 'last', by: 'channel', from, to })}`);
    for (const model of ['last', 'linear']) {
      if (model !== 'last') {
        await page.selectOption('form.filters select[name="model"]', model);
        await page.click('form.filters button[type="submit"]');
      }
      await page.locator('main h2', { hasText: `Credit by channel (${model})` }).waitFor();
      const q = new URLSearchParams({ model, by: 'channel', from, to });
      const api = (await adminApi('GET', `/api/attribution?${q}`)).json;
      const rows = (await page.locator('table.attribution tbody tr').allInnerTexts()).map(cells);
      assert.deepEqual(rows, api.groups.map((g) => [g.group, two(g.conversions), two(g.value)]), model);
      assert.deepEqual(rows, [['email', '2', '150']], model);
      assert.equal(await text('main p.meta'), `${api.conversions} conversions, ${api.unattributed} unattributed`);
      assert.equal(await text('main p.meta'), '3 conversions, 1 unattributed');
    }
    await page.screenshot({ path: join(shots, 'console-attribution.png'), fullPage: true });
  });

  await step('pause and resume from the journey page', async () => {
    await go('#/journey/onboarding');
    await page.click('.title-row button:has-text("pause")');
    await page.locator('.title-row .badge', { hasText: 'paused' }).waitFor();
    assert.equal((await adminApi('GET', '/api/journeys/onboarding')).json.status, 'paused');
    await page.click('.title-row button:has-text("resume")');
    await page.locator('.title-row .badge', { hasText: 'active' }).waitFor();
    assert.equal((await adminApi('GET', '/api/journeys/onboarding')).json.status, 'active');
  });

  await step('an invalid journey in the editor shows the error on its line', async () => {
    await page.click('#nav a[href="#/deploy"]');
    const bad = [
      '{',
      '  "id": "broken",',
      '  "entry": {"event": "Signed Up"},',
      '  "start": "hello",',
      '  "steps": {',
      '    "hello": {"type": "send", "channel": "email", "template": "welcome",',
      '              "next": "nowhere"},',
      '    "bye": {"type": "exit"}',
      '  }',
      '}',
    ].join('\n');
    await page.fill('textarea[name="journey"]', bad);
    await page.click('button.deploy');
    // "hello" is on line 6; the validator names steps.hello.next (its key is on line 7).
    const item = page.locator('.validation-errors li[data-path="steps.hello.next"]');
    await item.waitFor();
    assert.match(await item.innerText(), /line 7 steps\.hello\.next unknown step 'nowhere'/);
    assert.equal(await page.locator('.gutter div[data-line="7"]').getAttribute('class'), 'err');
    assert.equal(await page.locator('.gutter div.err').count(),
      new Set(await page.locator('.validation-errors li').evaluateAll((l) => l.map((e) => e.dataset.line))).size);
    assert.equal((await adminApi('GET', '/api/journeys/broken')).status, 404, 'nothing was deployed');
    await page.screenshot({ path: join(shots, 'console-deploy-error.png') });
    // Fixed, it deploys, and the marks go.
    await page.fill('textarea[name="journey"]', bad.replace('nowhere', 'bye'));
    await page.click('button.deploy');
    // With require_approval it is a draft of the admin's: stored, not live.
    await page.locator('.deploy-result .ok', { hasText: 'Deployed broken, version 1 (draft)' }).waitFor();
    assert.equal(await page.locator('.gutter div.err').count(), 0);
    const broken = (await adminApi('GET', '/api/journeys/broken')).json;
    assert.deepEqual([broken.version, broken.latest], [0, 1]);
  });

  await step('approving her own draft is refused by the node with a 403 naming the role needed', async () => {
    // Nobody approves their own draft (PRODUCT.md §11), admins included.
    await go('#/journey/broken/versions');
    const row = page.locator('table.versions tbody tr');
    await row.first().waitFor();
    assert.equal(cells(await row.first().innerText()).slice(0, 4).join('|'), `v1|draft|${admin.name}|`);
    await page.click('table.versions button.approve');
    assert.equal(await text('.forbidden .role-needed'), 'approver');
    const versions = (await adminApi('GET', '/api/journeys/broken/versions')).json;
    assert.equal(versions.live, null);
    assert.equal(versions.versions[0].status, 'draft');
  });

  await step('a customer shows the profile, deliveries and trace', async () => {
    await page.click('#nav a[href="#/customers"]');
    await page.fill('input[name="customer"]', 'u1');
    await page.click('form.search button');
    await page.locator('table.deliveries tbody tr').nth(1).waitFor();
    assert.match(await text('table.profile'), /email\s+u1@example\.com/);
    const steps = await page.locator('table.deliveries tbody tr td:nth-child(4)').allInnerTexts();
    assert.deepEqual(steps.sort(), ['nudge', 'welcome']);
    assert.equal(await page.locator('table.deliveries tbody tr').count(), 2);
    assert.match(await text('table.trace'), /onboarding/);
    await page.screenshot({ path: join(shots, 'console-customer.png'), fullPage: true });
  });

  await step('the editor drafts version 2 in the editor; pause and approve are not offered', async () => {
    await logInAs('editor', '#/journey/onboarding/edit');
    const area = page.locator('textarea[name="journey"]');
    await area.waitFor();
    assert.equal(await page.locator('.title-row button:has-text("pause")').isVisible(), false);
    assert.equal(await page.locator('#nav a[href="#/deploy"]').isVisible(), true);
    const source = await area.inputValue();
    assert.match(source, /"duration": "1d"/);
    await area.fill(source.replace('"duration": "1d"', '"duration": "2d"'));
    await page.click('button.deploy');
    await page.locator('.deploy-result .ok', { hasText: 'Deployed onboarding, version 2 (draft)' }).waitFor();
    const j = (await adminApi('GET', '/api/journeys/onboarding')).json;
    assert.deepEqual([j.version, j.latest], [1, 2], 'version 1 stays live');
    await go('#/journey/onboarding/versions');
    await page.locator('table.versions tbody tr').nth(1).waitFor();
    assert.equal(await page.locator('table.versions button.approve').isVisible(), false);
  });

  await step('the approver approves it in the versions tab: version 2 is live, by ed, approved by april', async () => {
    await logInAs('approver', '#/journey/onboarding/versions');
    const rows = page.locator('table.versions tbody tr');
    await rows.nth(1).waitFor();
    assert.equal(cells(await rows.nth(0).innerText()).slice(0, 4).join('|'), `v1|live|${admin.name}|${approver.name}`);
    assert.equal(cells(await rows.nth(1).innerText()).slice(0, 4).join('|'), `v2|draft|${editor.name}|`);
    await page.click('table.versions button.approve');
    await rows.nth(1).locator('.badge', { hasText: 'live' }).waitFor();
    await page.locator('.title-row .meta', { hasText: 'version 2' }).waitFor();
    assert.equal(cells(await rows.nth(0).innerText()).slice(0, 4).join('|'),
      `v1|superseded|${admin.name}|${approver.name}`);
    assert.equal(cells(await rows.nth(1).innerText()).slice(0, 4).join('|'), `v2|live|${editor.name}|${approver.name}`);
    assert.equal(await page.locator('table.versions button.approve').count(), 0);
    const api = (await apiAs(approver, 'GET', '/api/journeys/onboarding/versions')).json;
    assert.equal(api.live, 2);
    assert.deepEqual(api.versions.map((v) => [v.version, v.status, v.author, v.approver]),
      [[1, 'superseded', admin.name, approver.name], [2, 'live', editor.name, approver.name]]);
    const j = (await adminApi('GET', '/api/journeys/onboarding')).json;
    assert.equal(j.version, 2);
    assert.equal(j.definition.steps.wait.duration, '2d');
    await page.screenshot({ path: join(shots, 'console-versions.png'), fullPage: true });
  });

  await step('the audit log shows what was done, by whom, as the API has it', async () => {
    // By hand: the C++ test's 2 templates, onboarding's and promo's drafts 1 and
    // their approvals, then this
    // script's clock, pause, resume, the "broken" draft, ed's draft and april's
    // approval. The refused approval (403) left nothing.
    const expected = [
      [admin.name, 'template', 'template:welcome'], [admin.name, 'template', 'template:nudge'],
      [admin.name, 'draft', 'journey:onboarding'], [approver.name, 'approve', 'journey:onboarding'],
      [admin.name, 'draft', 'journey:promo'], [approver.name, 'approve', 'journey:promo'],
      [admin.name, 'clock', 'clock'], [admin.name, 'pause', 'journey:onboarding'],
      [admin.name, 'resume', 'journey:onboarding'], [admin.name, 'draft', 'journey:broken'],
      [editor.name, 'draft', 'journey:onboarding'], [approver.name, 'approve', 'journey:onboarding']];
    const api = (await apiAs(approver, 'GET', '/api/audit')).json.entries;
    assert.deepEqual(api.map((e) => [e.who, e.action, e.object]), expected);
    assert.deepEqual(api.slice(7, 9).map((e) => [e.before, e.after]), [['active', 'paused'], ['paused', 'active']]);
    assert.deepEqual(api.slice(10).map((e) => [e.before, e.after]), [[1, 2], [1, 2]]);
    await page.click('#nav a[href="#/audit"]');
    const rows = page.locator('table.audit tbody tr');
    await rows.nth(expected.length - 1).waitFor();
    assert.equal(await rows.count(), expected.length);
    const shown = (await rows.allInnerTexts()).map((r) => cells(r));
    assert.deepEqual(shown.map((c) => c.slice(1, 4)), expected);
    assert.deepEqual(shown.map((c) => c[0]), api.map((e) => e.at));
    assert.deepEqual(shown[7].slice(4), ['active', 'paused']);
    assert.deepEqual(shown[11].slice(4), ['1', '2']);
    await page.screenshot({ path: join(shots, 'console-audit.png'), fullPage: true });
  });

  await step('the viewer is offered no deploy, edit, pause or approve, and the node refuses them (403)', async () => {
    await logInAs('viewer', '#/journey/onboarding');
    await page.locator('svg.graph g[data-step="done"]').waitFor();
    assert.equal(await page.locator('#nav a[href="#/deploy"]').isVisible(), false);
    assert.equal(await page.locator('#nav a[href="#/audit"]').isVisible(), true);
    assert.equal(await page.locator('.title-row button:has-text("pause")').count(), 1, 'drawn, not offered');
    assert.equal(await page.locator('.title-row button:has-text("pause")').isVisible(), false);
    assert.equal(await page.locator('nav.tabs a:has-text("Edit")').isVisible(), false);
    await go('#/journey/broken/versions');
    await page.locator('table.versions tbody tr').first().waitFor();
    assert.equal(await page.locator('table.versions button.approve').count(), 1, 'a draft is there');
    assert.equal(await page.locator('table.versions button.approve').isVisible(), false);
    // Straight to the API with the viewer's token: refused, nothing changes.
    const pause = await apiAs(viewer, 'POST', '/api/journeys/onboarding/pause');
    assert.deepEqual([pause.status, pause.json.role_needed], [403, 'approver']);
    const deploy = await apiAs(viewer, 'PUT', '/api/journeys/onboarding', '{"id":"onboarding"}');
    assert.deepEqual([deploy.status, deploy.json.role_needed], [403, 'editor']);
    const approve = await apiAs(viewer, 'POST', '/api/journeys/broken/versions/1/approve');
    assert.deepEqual([approve.status, approve.json.role_needed], [403, 'approver']);
    assert.equal((await adminApi('GET', '/api/journeys/onboarding')).json.status, 'active');
    assert.equal((await adminApi('GET', '/api/audit')).json.entries.length, 12);
    const me = await apiAs(viewer, 'GET', '/api/whoami');
    assert.deepEqual(me.json, { name: viewer.name, role: 'viewer', teams: [] });
  });

  await step('a 401 later (token gone from the node) goes back to the login form', async () => {
    await page.evaluate(() => sessionStorage.setItem('waymark.token', 'revoked'));
    await page.click('#nav a[href="#/journeys"]');
    await page.locator('input[name="token"]').waitFor();
    await page.locator('.login-status', { hasText: 'log in again' }).waitFor();
  });

  await step('no console errors and no request left the node', async () => {
    assert.deepEqual(errors, []);
    assert.deepEqual(foreign, []);
  });
} catch (err) {
  console.error(`FAILED ${err.message}`);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
