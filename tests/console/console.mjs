// Drives the node's web console in Debian's headless Chromium (playwright-core,
// no downloaded browser). Started by tests/integration/console_browser_test.cpp
// after it deployed the "onboarding" journey and sent the events below:
//   usage: node console.mjs <base url> <admin token> <screenshot dir>
// Exit 0 when every check passed; otherwise the failed check on stderr.
//
// Figures worked out by hand from the scenario (see the C++ test):
//   onboarding = welcome (send email) -> wait 1d -> nudge (send email) -> done (exit)
//   u1, u2 have an email, u3 has none; all three did "Signed Up":
//     entered 3, active 3; welcome visited 3, sent 2, suppressed 1 (no_address); wait: 3 here.
//   This script then identifies u4 with an email, u4 signs up, and the clock moves 1d:
//     entered 4, active 0; nudge visited 4, sent 3, suppressed 1; done visited 4.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const [base, token, shots] = process.argv.slice(2);
if (!base || !token || !shots) {
  console.error('usage: node console.mjs <base url> <admin token> <screenshot dir>');
  process.exit(2);
}
const origin = new URL(base).origin;

async function adminApi(method, path, body) {
  const res = await fetch(origin + path, { method, body, headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, json: await res.json() };
}
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
// (401 for the wrong token, 403 made up below, 404 for a route this node
// lacks, 422 for the invalid journey).
const foreign = [];
const errors = [];
page.on('request', (r) => { if (!r.url().startsWith(origin + '/') && !r.url().startsWith('data:')) foreign.push(r.url()); });
page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  if (/^Failed to load resource: the server responded with a status of (401|403|404|422)\b/.test(m.text())) return;
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

  // Routes other slices add (PRODUCT.md §10/§11): their table, or "not
  // available on this node" where this node answers the router's 404.
  for (const [name, click, sel] of [
    ['results', 'nav.tabs a:has-text("Results")', 'table.results'],
    ['versions', 'nav.tabs a:has-text("Versions")', 'table.versions'],
    ['attribution', '#nav a[href="#/attribution"]', 'table.attribution'],
    ['audit log', '#nav a[href="#/audit"]', 'table.audit'],
  ]) {
    await step(`${name}: a table, or "not available on this node"`, async () => {
      await page.click(click);
      await page.locator(`${sel}, .unavailable`).first().waitFor();
      const shown = await page.locator('.unavailable').count() ? 'unavailable' : 'table';
      console.log(`     (${name}: ${shown})`);
    });
  }

  await step('a 403 shows the role needed', async () => {
    // The node has no roles yet (issue #15 adds them): this answer is made up
    // in the browser, to check how the page shows one.
    const pause = `${origin}/api/journeys/onboarding/pause`;
    await page.route(pause, (r) => r.fulfill({ status: 403, contentType: 'application/json',
      body: JSON.stringify({ error: 'forbidden', role_needed: 'approver' }) }));
    await page.click('#nav a[href="#/journeys"]');
    await page.click('tr[data-journey="onboarding"] a');
    await page.click('.title-row button:has-text("pause")');
    assert.equal(await text('.forbidden .role-needed'), 'approver');
    await page.unroute(pause);
    assert.equal((await adminApi('GET', '/api/journeys/onboarding')).json.status, 'active');
  });

  await step('pause and resume from the journey page', async () => {
    await page.click('.title-row button:has-text("pause")');
    await page.locator('.title-row .badge', { hasText: 'paused' }).waitFor();
    assert.equal((await adminApi('GET', '/api/journeys/onboarding')).json.status, 'paused');
    await page.click('.title-row button:has-text("resume")');
    await page.locator('.title-row .badge', { hasText: 'active' }).waitFor();
    assert.equal((await adminApi('GET', '/api/journeys/onboarding')).json.status, 'active');
  });

  await step('results, versions (approve), attribution and audit render the shapes of PRODUCT.md §10/§11', async () => {
    // Answers made up in the browser, in the contract's shapes, to check the
    // pages read them right whatever this node has built yet.
    const fixtures = {
      '/api/journeys/onboarding/results': { journey: 'onboarding', version: null, arms: [
        { arm: 'treated', entered: 180, converted: 29, rate: 0.16111, value: 2900, value_per_entrant: 16.111,
          uplift: { vs: 'holdout', diff: 0.11111, ci: [-0.02, 0.24], p: 0.2104 } },
        { arm: 'holdout', entered: 20, converted: 1, rate: 0.05, value: 100, value_per_entrant: 5 }] },
      '/api/attribution': { model: 'linear', by: 'channel', from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z',
        conversions: 3, unattributed: 1, groups: [{ group: 'email', conversions: 1.5, value: 206.666 },
          { group: 'sms', conversions: 0.5, value: 43.333 }] },
      '/api/audit': { entries: [{ at: '2026-12-01T10:00:00.000Z', who: 'alice', action: 'deploy',
        object: 'journey onboarding', before: null, after: 2 }] },
    };
    let approved = 0;
    const versions = () => ({ versions: [
      { version: 1, status: approved ? 'retired' : 'live', author: 'alice', approver: 'bob' },
      { version: 2, status: approved ? 'live' : 'draft', author: 'carol', approver: approved ? 'dave' : null }] });
    const fake = (url) => url.origin === origin && (fixtures[url.pathname] ||
      url.pathname.startsWith('/api/journeys/onboarding/versions'));
    await page.route(fake, (r) => {
      const path = new URL(r.request().url()).pathname;
      if (r.request().method() === 'POST' && path === '/api/journeys/onboarding/versions/2/approve') approved++;
      const body = fixtures[path] || (path.endsWith('/approve') ? { version: 2, status: 'live' } : versions());
      return r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
    });
    await page.click('nav.tabs a:has-text("Results")');
    const treated = page.locator('table.results tbody tr', { hasText: 'treated' });
    assert.equal((await treated.innerText()).split('\t').map((c) => c.trim()).join('|'),
      'treated|180|29|16.1 %|2900|16.11|holdout|11.1 %|[-2.0 %, 24.0 %]|0.210');
    await page.click('nav.tabs a:has-text("Versions")');
    await page.click('table.versions button.approve');
    await page.locator('table.versions tbody tr', { hasText: 'dave' }).waitFor();
    assert.equal(approved, 1);
    assert.equal(await page.locator('table.versions button.approve').count(), 0);
    await page.click('#nav a[href="#/attribution"]');
    assert.match(await text('table.attribution'), /email\s+1\.5\s+206\.67\s+sms\s+0\.5\s+43\.33/);
    assert.match(await text('main'), /3 conversions, 1 unattributed/);
    await page.click('#nav a[href="#/audit"]');
    assert.match(await text('table.audit'), /alice\s+deploy\s+journey onboarding/);
    await page.unroute(fake);
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
    await page.locator('.deploy-result .ok', { hasText: 'Deployed broken, version 1' }).waitFor();
    assert.equal(await page.locator('.gutter div.err').count(), 0);
    assert.equal((await adminApi('GET', '/api/journeys/broken')).json.version, 1);
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

  await step('a viewer (per GET /api/whoami) is offered no deploy, edit, pause or approve', async () => {
    // This node has no /api/whoami yet (the roles slice of issue #15): made up here.
    const who = `${origin}/api/whoami`;
    await page.route(who, (r) => r.fulfill({ status: 200, contentType: 'application/json',
      body: JSON.stringify({ name: 'vic', role: 'viewer', teams: [] }) }));
    await page.goto(`${origin}/#/journey/onboarding`);
    await page.reload();
    await page.locator('svg.graph g[data-step="done"]').waitFor();
    await page.waitForFunction(() => document.body.dataset.role === 'viewer');
    assert.equal(await page.locator('#nav a[href="#/deploy"]').isVisible(), false);
    assert.equal(await page.locator('.title-row button:has-text("pause")').isVisible(), false);
    assert.equal(await page.locator('nav.tabs a:has-text("Edit")').isVisible(), false);
    await page.unroute(who);
    await page.reload();
    await page.locator('svg.graph g[data-step="done"]').waitFor();
    assert.equal(await page.locator('#nav a[href="#/deploy"]').isVisible(), true, 'no whoami: every action shows');
    assert.equal(await page.locator('.title-row button:has-text("pause")').isVisible(), true);
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
