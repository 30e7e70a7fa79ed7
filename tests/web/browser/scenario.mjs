// Breakwater's pages in headless Chromium, against a running `breakwater serve`
// (BASE_URL, ADMIN_KEY; screenshots to SCREENSHOTS). Every step waits for what the page
// shows; nothing sleeps in place of synchronisation.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const BASE = process.env.BASE_URL;
const KEY = process.env.ADMIN_KEY;
const SHOTS = process.env.SCREENSHOTS || 'screenshots';
const TIMEOUT = 30000;
const started = Date.now();
const pageErrors = [];

function log(...args) { console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...args); }
function check(ok, message) { if (!ok) throw new Error('assertion failed: ' + message); }

async function adminApi(method, p, body) {
  const res = await fetch(BASE + p, {
    method,
    headers: { authorization: 'Bearer ' + KEY, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { /* empty */ }
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return json;
}

// Waits until the element `selector` is visible and its text includes `text`.
async function waitText(page, selector, text, timeout = TIMEOUT) {
  try {
    await page.waitForFunction(([sel, want]) => {
      const el = document.querySelector(sel);
      return !!el && !el.closest('[hidden]') && el.textContent.includes(want);
    }, [selector, text], { timeout, polling: 100 });
  } catch (error) {
    const seen = await page.locator(selector).first().textContent().catch(() => '(missing)');
    throw new Error(`waiting for ${selector} to show "${text}" on ${page.url()}: it shows "${seen}"`);
  }
}

async function shot(page, name) {
  const file = path.join(SHOTS, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  log('screenshot', file);
}

// axe-core on the page: no serious or critical violation.
async function axe(page, name) {
  // Evaluated through DevTools, so the pages' strict CSP stays on and is tested too.
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) log(`axe ${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`);
  check(bad.length === 0, `axe found ${bad.length} serious/critical violations on the ${name} page`);
  log(`axe ${name}: no serious or critical violation (${result.violations.length} minor)`);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update'],
});

async function person(name, options = {}) {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 360, height: 780 }, ...options });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) pageErrors.push(`${name} console: ${msg.text()}`); });
  return { name, context, page };
}

async function joinLine(buyer, event) {
  await buyer.page.goto(`${BASE}/events/${event}`);
  await buyer.page.getByRole('button', { name: 'Join the line' }).click();
  await buyer.page.waitForFunction(() => !document.getElementById('room').hidden && !document.getElementById('waiting').hidden);
}

try {
  // ---- the operator signs in and creates the sale: 4 seats, one buyer inside at a
  // time; pauses it while the line forms
  const op = await person('operator', { viewport: { width: 1280, height: 900 } });
  await op.page.goto(BASE + '/admin');
  await op.page.getByLabel('Admin key').fill(KEY);
  await op.page.getByRole('button', { name: 'Sign in' }).click();
  await waitText(op.page, '#events', 'demo');
  check(!op.page.url().includes(KEY) && await op.page.evaluate(() => sessionStorage.getItem('bw.adminKey')) === KEY, 'the key is kept in sessionStorage, not the URL');
  await op.page.fill('#c-id', 'rush');
  await op.page.fill('#c-name', 'Rush Night');
  await op.page.fill('#c-rate', '5');
  await op.page.fill('#c-cap', '1');
  await op.page.fill('#c-venue', 'Front; 12000; 1; 4');
  await op.page.getByRole('button', { name: 'Create' }).click();
  await waitText(op.page, '#live-h', 'Rush Night');
  await waitText(op.page, '#live-state', 'On sale');
  await op.page.getByRole('button', { name: 'Pause' }).click();
  await waitText(op.page, '#live-state', 'Paused');
  const lastY = () => op.page.evaluate(() => {
    const points = document.querySelector('.chart[data-name="waiting"] polyline').getAttribute('points').trim().split(' ');
    return Number(points[points.length - 1].split(',')[1]);
  });
  const emptyLineY = await lastY();
  log('the operator created and paused the sale');

  const a = await person('A');
  await a.page.goto(BASE + '/');
  await waitText(a.page, 'main', 'Rush Night');
  await a.page.getByRole('link', { name: 'Rush Night' }).click();
  await waitText(a.page, '#ev-state', 'Paused');
  await axe(a.page, 'event');
  await shot(a.page, 'event-page');
  await a.page.getByRole('button', { name: 'Join the line' }).click();
  await waitText(a.page, '#position', 'You are next');
  log('A is first in line');

  const b = await person('B');
  await joinLine(b, 'rush');
  await waitText(b.page, '#position', '1 person ahead of you');
  await waitText(b.page, '#paused', 'paused');
  log('B is second, and told the sale is paused');

  // C arrives cold: measure everything the waiting page transfers.
  const c = await person('C');
  const requests = [];
  c.page.on('request', (r) => requests.push(r.url().replace(BASE, '')));
  await joinLine(c, 'rush');
  await waitText(c.page, '#position', '2 people ahead of you');
  const bytes = await c.page.evaluate(() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
    .reduce((sum, e) => sum + e.transferSize, 0));
  log(`waiting page transfer size (cold, gzip): ${bytes} bytes over ${requests.length} requests: ${requests.join(' ')}`);
  check(bytes <= 30 * 1024, `the waiting page transfers ${bytes} bytes, over 30 KB`);
  check(requests.every((u) => u.startsWith('/events/') || u.startsWith('/assets/') || u.startsWith('/api/')), 'only the page, its assets and API calls');
  await axe(c.page, 'waiting');
  await shot(c.page, 'waiting-room');
  // C's tab goes to the background: from now on a worker times C's polls.
  await c.page.evaluate(() => Object.defineProperty(document, 'hidden', { configurable: true, get: () => true }));

  const d = await person('D');
  await joinLine(d, 'rush');
  await waitText(d.page, '#position', '3 people ahead of you');

  // An overloaded gateway (503 + Retry-After): D is told, waits as long as asked, and
  // keeps the place.
  const polls = [];
  let refused = 0;
  await d.page.route('**/api/v1/events/rush/queue', async (route) => {
    if (route.request().method() !== 'GET') return route.continue();
    polls.push(Date.now());
    if (refused++ === 0) {
      return route.fulfill({ status: 503, headers: { 'retry-after': '2', 'content-type': 'application/json' }, body: '{"error":"overloaded","message":"busy"}' });
    }
    return route.continue();
  });
  await waitText(d.page, '#problem', 'trying again in 2 s', 40000);
  await d.page.waitForFunction(() => document.getElementById('problem').hidden, null, { timeout: TIMEOUT });
  await waitText(d.page, '#position', '3 people ahead of you');
  check(polls.length >= 2 && polls[1] - polls[0] >= 2000, `the next poll waited for Retry-After (${polls[1] - polls[0]} ms)`);
  await d.page.unroute('**/api/v1/events/rush/queue');
  log(`D got a 503 with Retry-After: 2 and polled again ${polls[1] - polls[0]} ms later, place kept`);

  // A reload and a second tab keep B's one place.
  const token = await b.page.evaluate(() => localStorage.getItem('bw.line.rush'));
  await b.page.reload();
  await waitText(b.page, '#position', '1 person ahead of you');
  check(await b.page.evaluate(() => localStorage.getItem('bw.line.rush')) === token, 'the reload kept the token');
  const tab = await b.context.newPage();
  await tab.goto(`${BASE}/events/rush`);
  await waitText(tab, '#position', '1 person ahead of you');
  await tab.close();
  const stats = await adminApi('GET', '/admin/v1/events/rush/stats');
  check(stats.joined_total === 4 && stats.waiting === 4, `four places, no more: ${JSON.stringify(stats)}`);
  log('B reloaded and opened a second tab: still one place, 1 ahead');

  // ---- the dashboard saw the line form; the operator resumes: A's turn
  await waitText(op.page, '.fig[data-name="m_waiting"] b', '4');
  await op.page.waitForFunction((y) => {
    const points = document.querySelector('.chart[data-name="waiting"] polyline').getAttribute('points').trim().split(' ');
    return Number(points[points.length - 1].split(',')[1]) < y;
  }, emptyLineY, { timeout: TIMEOUT });
  log(`the line-length chart moved (last point from y=${emptyLineY} to y=${await lastY()})`);
  await op.page.getByRole('button', { name: 'Resume' }).click();
  await waitText(op.page, '#live-state', 'On sale');
  await waitText(a.page, '#ready', "It's your turn!");
  check((await a.page.title()).includes('Your turn!'), 'the tab title says it is your turn');
  await waitText(a.page, '#ev-state', 'On sale');
  await waitText(a.page, '#deadline', 'Enter within');
  await shot(a.page, 'your-turn');
  await waitText(b.page, '#position', 'You are next');
  await waitText(c.page, '#position', '1 person ahead of you');
  log('A admitted; B and C moved up');

  await a.page.getByRole('button', { name: 'Enter the sale now' }).click();
  await a.page.waitForURL('**/events/rush/seats');
  await waitText(a.page, '#tiers', '4 available');
  await axe(a.page, 'seat map');
  await shot(a.page, 'seat-map');
  await a.page.selectOption('#qty', '2');
  await a.page.getByRole('button', { name: 'Best available' }).click();
  await waitText(a.page, '#hold', 'Your seats are held');
  await waitText(a.page, '#hold-total', '$240.00');
  await waitText(a.page, '#hold-left', 'Held for');
  await axe(a.page, 'checkout');
  await shot(a.page, 'checkout');
  await a.page.getByRole('button', { name: 'Pay' }).click();
  await waitText(a.page, '#done', 'Order confirmed');
  await waitText(a.page, '#order', '$240.00');
  await shot(a.page, 'confirmation');
  log('A bought two seats');

  await waitText(op.page, '.fig[data-name="m_sold"] b', '2');
  await waitText(op.page, '.fig[data-name="m_revenue"] b', '$240.00');
  await axe(op.page, 'dashboard');
  await shot(op.page, 'dashboard');
  log('the dashboard shows two seats sold and the revenue');

  await a.page.getByRole('link', { name: 'My orders' }).first().click();
  await waitText(a.page, '#orders', 'Confirmed');
  await shot(a.page, 'my-orders');

  // ---- B is admitted next; a declined payment gives the seats back
  await waitText(b.page, '#ready', "It's your turn!");
  await b.page.getByRole('button', { name: 'Enter the sale now' }).click();
  await b.page.waitForURL('**/events/rush/seats');
  await waitText(b.page, '#tiers', '2 available');
  await b.page.selectOption('#qty', '2');
  await b.page.getByRole('button', { name: 'Best available' }).click();
  await waitText(b.page, '#hold', 'Your seats are held');
  await b.page.getByLabel('Test card: declined').check();
  await b.page.getByRole('button', { name: 'Pay' }).click();
  await waitText(b.page, '#status', 'seats were released');
  await waitText(b.page, '#tiers', '2 available');
  await shot(b.page, 'declined');
  log('B was declined; the seats are available again');
  await b.page.getByRole('button', { name: 'Best available' }).click();
  await waitText(b.page, '#hold', 'Your seats are held');
  await b.page.getByLabel('Test card: approved').check();
  await b.page.getByRole('button', { name: 'Pay' }).click();
  await waitText(b.page, '#done', 'Order confirmed');
  log('B bought the last two seats');

  // ---- sold out: everyone still waiting is told
  await waitText(c.page, '#soldout', 'Sold out');
  await waitText(d.page, '#soldout', 'Sold out');
  await shot(d.page, 'sold-out');
  log('C and D were told: sold out');
  check(await c.page.evaluate(() => performance.getEntriesByType('resource').some((e) => e.name.includes('/assets/tick.'))), 'the hidden tab polled through its worker');
  log('C, in a hidden tab, kept polling through a worker timer');

  await waitText(op.page, '.fig[data-name="m_sold"] b', '4');
  await op.page.getByLabel('Admissions per second').first().fill('7.5');
  await op.page.getByLabel('Claim window (s)').first().fill('45');
  await op.page.getByRole('button', { name: 'Save' }).click();
  await waitText(op.page, '#status', 'Saved.');
  const edited = await adminApi('GET', '/admin/v1/events/rush');
  check(edited.admission_rate_per_second === 7.5 && edited.claim_window_seconds === 45, 'the edit reached the event: ' + JSON.stringify(edited));
  await waitText(op.page, '.fig[data-name="m_admits"]', 'rate 7.5');
  log('the operator edited the rate and the claim window');

  // ---- before the opening: a countdown, the pre-queue, the lottery said
  const soon = new Date(Date.now() + 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  await adminApi('POST', '/admin/v1/events', { id: 'later', name: 'Later Night', opens_at: soon });
  const e = await person('E');
  await e.page.goto(`${BASE}/events/later`);
  await waitText(e.page, '#countdown', 'Opens in 59:');
  await waitText(e.page, '#prequeue', 'drawn by lot');
  await e.page.getByRole('button', { name: 'Join the line' }).click();
  await waitText(e.page, '#prequeued', 'pre-queue');
  await shot(e.page, 'pre-queue');
  log('before the opening: countdown, lottery note, pre-queue');

  // ---- without JavaScript: a form joins, the waiting page refreshes itself
  await adminApi('POST', '/admin/v1/events', { id: 'quiet', name: 'Quiet Night', paused: true, max_active_users: 1 });
  const f = await person('F (no JavaScript)', { javaScriptEnabled: false });
  await f.page.goto(`${BASE}/events/quiet`);
  await f.page.getByRole('button', { name: 'Join the line' }).click();
  await f.page.waitForURL('**/events/quiet/wait');
  await f.page.locator('p.big', { hasText: 'You are next' }).waitFor({ timeout: TIMEOUT });
  check(await f.page.locator('meta[http-equiv="refresh"]').count() === 1, 'the waiting page refreshes itself');
  await shot(f.page, 'waiting-no-js');
  await adminApi('PATCH', '/admin/v1/events/quiet', { paused: false });
  await f.page.locator('h1', { hasText: "It's your turn!" }).waitFor({ timeout: TIMEOUT });
  await f.page.getByRole('button', { name: 'Enter the sale now' }).click();
  await f.page.locator('main', { hasText: 'You are in' }).waitFor({ timeout: TIMEOUT });
  log('without JavaScript: joined, waited (self-refreshing page), entered');

  // ---- an event that asks a proof of work: the page solves it in a worker and joins;
  // without JavaScript the buyer is told plainly why they cannot join
  const bits = 16;
  await adminApi('POST', '/admin/v1/events', { id: 'guarded', name: 'Guarded Night', paused: true, join_proof_bits: bits });
  const g = await person('G');
  await g.page.goto(`${BASE}/events/guarded`);
  const solving = Date.now();
  await g.page.getByRole('button', { name: 'Join the line' }).click();
  await waitText(g.page, '#position', 'You are next');
  log(`a ${bits}-bit proof of work solved in the page and joined in ${Date.now() - solving} ms`);
  const h = await person('H (no JavaScript)', { javaScriptEnabled: false });
  await h.page.goto(`${BASE}/events/guarded`);
  await h.page.getByRole('button', { name: 'Join the line' }).click();
  await h.page.locator('main', { hasText: 'needs JavaScript' }).waitFor({ timeout: TIMEOUT });
  const guardedStats = await adminApi('GET', '/admin/v1/events/guarded/stats');
  check(guardedStats.joined_total === 1, `only the proven join took a place: ${JSON.stringify(guardedStats)}`);
  log('without JavaScript the proof-of-work event says why, and takes no place');

  // ---- Korean, by Accept-Language, and the switch back to English
  const k = await person('K', { locale: 'ko-KR' });
  await k.page.goto(BASE + '/');
  await waitText(k.page, 'h1', '공연 목록');
  await k.page.goto(`${BASE}/events/demo`);
  await k.page.getByRole('button', { name: '대기열 들어가기' }).click();
  await waitText(k.page, '#room-h', '대기실');
  await axe(k.page, 'Korean waiting');
  await shot(k.page, 'waiting-ko');
  await k.page.getByRole('link', { name: 'English' }).click();
  await waitText(k.page, '#room-h', 'Waiting room');
  log('Korean and English both render; the switch works');

  // ---- the demo's 4,000 seats on a phone
  await waitText(k.page, '#ready', "It's your turn!");
  await k.page.getByRole('button', { name: 'Enter the sale now' }).click();
  await k.page.waitForURL('**/events/demo/seats');
  await waitText(k.page, '#tiers', 'Upper bowl');
  const seats = await k.page.locator('#map rect[data-id]').count();
  check(seats === 3200, `the seated sections draw every seat (${seats})`);
  await axe(k.page, '4,000-seat map');
  await shot(k.page, 'seat-map-demo-phone');
  log(`the demo's seat map draws ${seats} seats plus standing on a 360 px phone`);
  await k.page.locator('#map').focus();
  await k.page.keyboard.press('ArrowRight');
  await waitText(k.page, '#cursor', 'Floor, row 1, seat 2, available, $150.00');
  await k.page.keyboard.press('Space');
  await waitText(k.page, '#picked', '1 picked');
  await k.page.getByLabel('Larger seats').check();
  await k.page.locator('#map rect.a').first().click();
  await waitText(k.page, '#picked', '2 picked');
  await k.page.getByRole('button', { name: 'Hold the picked seats' }).click();
  await waitText(k.page, '#hold-seats', 'Floor, row 1, seat 1');
  await waitText(k.page, '#hold-seats', 'Floor, row 1, seat 2');
  log('a seat picked with the keyboard and one tapped are held');
  await k.page.getByLabel('Test card: no answer (timeout)').check();
  await k.page.getByRole('button', { name: 'Pay' }).click();
  await waitText(k.page, '#status', 'Payment pending');
  await shot(k.page, 'payment-pending');
  log('a payment the provider does not answer is shown as pending');

  check(pageErrors.length === 0, 'script errors: ' + pageErrors.join('; '));
  log('all browser checks passed');
} finally {
  await browser.close();
}
