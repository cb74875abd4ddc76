import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { freshStream, proposed } from '../support/events.js';

/** Where the browser test leaves its screenshot (CI keeps it as an artifact). */
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

describe('The live dashboard in headless Chromium', function () {
  this.timeout(60_000);
  let t: TestApp;
  let browser: Browser;
  before(async () => {
    // The page as this checkout's sources make it (npm ci bundles it too; an edit since would be missed).
    execFileSync(process.execPath, [fileURLToPath(new URL('../../dashboard/build.mjs', import.meta.url))]);
    t = await startTestApp();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('shows events within a second of their append, with no request leaving the service', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const foreign: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(t.app.url)) foreign.push(request.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // The key an operator would type into the page's form (kept in sessionStorage).
    await page.addInitScript(`sessionStorage.setItem('auren.dashboard.key', '${t.adminKey}')`);
    await page.goto(`${t.app.url}/dashboard/`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });

    const stream = freshStream('dashboard');
    const decisionStream = freshStream('dashboard-decision');
    const appended = Date.now();
    await t.events.appendToStream({ streamId: stream, events: [proposed({ type: 'sleep_logged' }), proposed({ type: 'sleep_logged' })] });
    await t.events.appendToStream({
      streamId: decisionStream,
      events: [proposed({ type: 'decision_recorded', data: { agent_id: 'coach' } })],
    });
    // Evaluated in the page (a string: this file is compiled without the DOM's types).
    await page.waitForFunction(
      `document.querySelectorAll('#events tr[data-stream="${stream}"]').length === 2 && !!document.querySelector('#events tr[data-stream="${decisionStream}"]')`,
      undefined,
      { timeout: 1_000 },
    );
    const seenAfterMs = Date.now() - appended;
    assert.ok(seenAfterMs < 1_000, `seen after ${seenAfterMs} ms`);
    assert.match((await page.textContent('#decisions')) ?? '', /coach/);
    assert.match((await page.textContent('#total')) ?? '', /^3 events seen$/);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
    assert.deepEqual(foreign, [], 'every request went to the service itself (no CDN)');
    assert.deepEqual(errors, []);
  });
});
