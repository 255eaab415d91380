#!/usr/bin/env node
// The reviewers' console in a real browser: Debian's chromium, headless, driven by puppeteer-core
// (which never downloads a browser), against a real `shiplog serve` that console_browser_test.cc
// seeded and started.
//
//   node browser_test.mjs --url URL --ledger-key HEX --reader-key FILE --screenshots DIR
//                         --seed seed.json [--live live.json] [--chromium PATH]
//
// It checks, and prints "ok"/"FAIL" per check:
//   - the connect panel: the pinned key and the reader's key file, and the server's claim shown
//     beside the pinned key; a wrong pinned key makes every record fail verification;
//   - the list filters (app, environment, status, actor, since) give exactly the seeded
//     deployments, newest first, through the URL and through the form;
//   - deployment pages show the decisions and each rule's reason and sentence, soaks and canary
//     phases, denials and waivers marked, and "replay at this point" by keyboard and by button;
//   - every record shown (list rows, entries, audit rows) is verified in the browser;
//   - the live list: an event appended while it is open updates its row, a new request adds one,
//     and nothing polls;
//   - a tampering proxy in front of the server (a timeline's field, a list row's field, a
//     record's bytes) makes the page flag the row and raise its banner;
//   - script-injection payloads in event fields show as text and never run (window.__pwned);
//   - no console error and no Content-Security-Policy violation on any page;
//   - a phone width (375 px) does not overflow the page.
// Screenshots at 1280 and 375 px go to --screenshots. Timings are printed as METRIC lines:
// first_load_ms (navigation to the list on screen, cold), render_1000_ms (a 1,000-event
// deployment on screen), verify_1000_ms (and all its records verified), live_update_ms.
// Exit status 0 when every check passed.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const TIMEOUT_MS = 60000;
const OVERALL_MS = 540000;
// Generous sanity bounds only: the real figures go to BENCHMARKS.md, not into assertions.
const FIRST_LOAD_BOUND_MS = 15000;
const RENDER_1000_BOUND_MS = 30000;

// ---- arguments and reporting ----

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`bad argument ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const required of ['url', 'ledger-key', 'reader-key', 'screenshots', 'seed']) {
    if (!out[required]) throw new Error(`--${required} is required`);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const base = args.url.replace(/\/$/, '');
const ledgerKey = args['ledger-key'].toLowerCase();
const readerKeyPath = args['reader-key'];
const readerKeyText = fs.readFileSync(readerKeyPath, 'utf8');
const seed = JSON.parse(fs.readFileSync(args.seed, 'utf8'));
const live = args.live ? JSON.parse(fs.readFileSync(args.live, 'utf8')) : null;
const shots = args.screenshots;
fs.mkdirSync(shots, {recursive: true});

const failures = [];
const metrics = {};

function check(name, ok, detail = '') {
  if (ok) {
    console.log(`ok   ${name}`);
  } else {
    failures.push(`${name}${detail ? `: ${detail}` : ''}`);
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ''}`);
  }
  return ok;
}

function checkEqual(name, actual, expected) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  return check(name, a === e, `got ${a}, want ${e}`);
}

// Runs one group of checks; an exception fails the group and the run goes on.
async function group(name, fn) {
  console.log(`---- ${name}`);
  try {
    await fn();
  } catch (e) {
    check(`${name} (finished)`, false, e && e.stack ? e.stack.split('\n').slice(0, 4).join(' | ') : String(e));
  }
}

function metric(name, value) {
  metrics[name] = Math.round(value);
  console.log(`METRIC ${name}=${Math.round(value)}`);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// ---- the browser ----

// Everything a page logs as an error, fails to run, or the CSP refuses, by page label.
const pageProblems = [];

function watch(page, label) {
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content Security Policy|Refused to/.test(message.text())) {
      pageProblems.push(`${label}: console ${message.type()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => pageProblems.push(`${label}: page error: ${error.message}`));
}

async function newPage(browser, {label, origin = base, pinned = ledgerKey, preload = true, width = 1280, height = 900}) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  await page.setViewport({width, height});
  watch(page, label);
  // Violations are also collected in the page, where a test can read them.
  await page.evaluateOnNewDocument(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  if (preload) {
    // The keys as the connect panel stores them: the pinned key in localStorage, the reader's
    // key file in sessionStorage (a fresh context has neither).
    await page.evaluateOnNewDocument((key, reader) => {
      localStorage.setItem('shiplog.console.pinnedLedgerKey', key);
      sessionStorage.setItem('shiplog.console.readerKey', reader);
    }, pinned, readerKeyText);
  }
  return {page, context, origin};
}

// Waits until the view on screen finished rendering (main[data-ready]).
async function waitReady(page) {
  await page.waitForFunction(() => {
    const ready = document.querySelector('main')?.dataset.ready;
    return ready === 'true' || ready === 'error';
  });
  const state = await page.$eval('main', (m) => m.dataset.ready);
  if (state === 'error') throw new Error(`the view failed: ${await page.$eval('main', (m) => m.innerText.slice(0, 400))}`);
}

// ... and until every verification it started is done.
async function waitVerified(page) {
  await page.waitForFunction(() => document.querySelector('main')?.dataset.verification !== 'pending',
    {timeout: 180000});
}

// Moves the open console to `hash` and waits for the view; the same hash again reloads the page
// (a view may keep itself on screen for a route it shows already).
async function go(page, hash) {
  const same = await page.evaluate((h) => {
    const main = document.querySelector('main');
    delete main.dataset.ready;
    delete main.dataset.verification;
    if (location.hash === h) return true;
    location.hash = h;
    return false;
  }, hash);
  if (same) await page.reload({waitUntil: 'domcontentloaded'});
  await waitReady(page);
}

async function open(view, hash) {
  await view.page.goto(`${view.origin}/ui/${hash}`, {waitUntil: 'domcontentloaded'});
  await waitReady(view.page);
}

// {rows, verified, failed: [{seq, text}], pending} for the table rows with data-seq on screen.
async function verification(page) {
  return page.$$eval('main tr[data-seq], main [role=row][data-seq]', (rows) => ({
    rows: rows.length,
    verified: rows.filter((r) => r.dataset.verified === 'true').length,
    failed: rows.filter((r) => r.dataset.verified === 'false')
      .map((r) => ({seq: r.dataset.seq, text: r.querySelector('.verify')?.innerText || ''})),
    unmarked: rows.filter((r) => !['true', 'false'].includes(r.dataset.verified)).map((r) => r.dataset.seq),
  }));
}

async function checkAllVerified(page, name) {
  await waitVerified(page);
  const v = await verification(page);
  check(`${name}: every record shown is verified (${v.verified}/${v.rows})`,
    v.rows > 0 && v.verified === v.rows, JSON.stringify(v).slice(0, 600));
  const banner = await page.$eval('#banner', (b) => (b.hidden ? '' : b.innerText));
  check(`${name}: no verification banner`, banner === '', banner.slice(0, 300));
  return v;
}

async function listedDeployments(page) {
  return page.$$eval('table.deployments tbody tr', (rows) => rows.map((r) => r.dataset.deployment));
}

async function screenshot(page, name) {
  // The whole page where Chromium can capture it in one image, else what the window shows.
  // Print media draws the rows that are off screen too (the entries skip them on screen).
  await page.emulateMediaType('print');
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.screenshot({path: path.join(shots, `${name}.png`), fullPage: height < 12000});
  await page.emulateMediaType(null);
  console.log(`screenshot ${name}.png`);
}

function query(params) {
  const pairs = Object.entries(params).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return pairs.length ? `?${pairs.join('&')}` : '';
}

async function postEvent(body) {
  const response = await fetch(`${base}/v1/events`, {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(body)});
  const text = await response.text();
  if (!response.ok) throw new Error(`POST /v1/events: ${response.status} ${text}`);
  return JSON.parse(text);
}

// ---- the tampering proxy ----

// A plain HTTP proxy in front of the server. `tamper(url)` returns null to pass an answer
// through untouched (streams included), or a function that rewrites its JSON body.
function startProxy(tamper) {
  const target = new URL(base);
  const server = http.createServer((req, res) => {
    const upstream = http.request({hostname: target.hostname, port: target.port, path: req.url,
      method: req.method, headers: {...req.headers, host: target.host}}, (answer) => {
      const rewrite = answer.statusCode === 200 ? tamper(req.url) : null;
      if (!rewrite) {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks = [];
      answer.on('data', (c) => chunks.push(c));
      answer.on('end', () => {
        const body = Buffer.from(JSON.stringify(rewrite(JSON.parse(Buffer.concat(chunks).toString('utf8')))));
        const headers = {...answer.headers, 'content-length': String(body.length)};
        delete headers['transfer-encoding'];
        res.writeHead(answer.statusCode, headers);
        res.end(body);
      });
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({server, url: `http://127.0.0.1:${server.address().port}`,
      close: () => new Promise((done) => { server.closeAllConnections(); server.close(done); })});
  }));
}

// ---- the checks ----

async function connectPanel(browser) {
  const view = await newPage(browser, {label: 'connect', preload: false});
  const {page} = view;
  await open(view, '');
  checkEqual('connect: with no keys the console opens the keys panel', await page.$eval('main h1', (h) => h.textContent), 'Keys & trust');
  await page.type('input[name=pinned]', ledgerKey);
  await Promise.all([page.waitForSelector('.connect-status .ok'), page.click('form[aria-labelledby=pin-title] button[type=submit]')]);
  const upload = await page.$('input[type=file][name=keyfile]');
  await upload.uploadFile(readerKeyPath);
  await page.waitForFunction(() => document.querySelector('textarea[name=keytext]').value.includes('ed25519'));
  await page.click('form[aria-labelledby=reader-title] button[type=submit]');
  await page.waitForSelector('.whoami .ok, .whoami .error');
  const whoami = await page.$eval('.whoami', (w) => w.innerText);
  check('connect: the server knows the reader key (GET /v1/whoami, signed in the browser)', /audrey/.test(whoami), whoami);
  await page.waitForSelector('.claimed-key .ok, .claimed-key .warn');
  const claim = await page.$eval('.claimed-key', (c) => c.innerText);
  check('connect: the server\'s claimed key is shown beside the pinned one and matches', claim.includes(ledgerKey) && /It is the key you pinned/.test(claim), claim);
  const stored = await page.evaluate(() => ({local: Object.keys(localStorage), session: Object.keys(sessionStorage)}));
  check('connect: the reader key is kept in sessionStorage only', !stored.local.some((k) => /reader/i.test(k)) && stored.session.some((k) => /reader/i.test(k)), JSON.stringify(stored));
  await page.click('a.button-link');
  await waitReady(page);
  checkEqual('connect: continuing shows the deployments', await page.$eval('main h1', (h) => h.textContent), 'Deployments');
  await screenshot(page, 'connect-done-1280');
  await view.context.close();
}

async function firstLoad(browser) {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const view = await newPage(browser, {label: `first-load-${i}`});
    await open(view, '#/deployments');
    times.push(await view.page.evaluate(() => performance.getEntriesByName('shiplog:list-rendered')[0].startTime));
    await view.context.close();
  }
  console.log(`first loads: ${times.map(Math.round).join(', ')} ms`);
  metric('first_load_ms', median(times));
  check('first load renders the list within the sanity bound', median(times) < FIRST_LOAD_BOUND_MS, `${median(times)} ms`);
}

async function listFilters(page) {
  for (const {params, expect} of seed.filters) {
    await go(page, `#/deployments${query(params)}`);
    checkEqual(`list ${JSON.stringify(params)}`, await listedDeployments(page), expect);
  }
  // The same through the labelled form.
  await go(page, '#/deployments');
  await checkAllVerified(page, 'list');
  const statuses = await page.$$eval('table.deployments tbody tr', (rows) => Object.fromEntries(rows.map((r) => [r.dataset.deployment, r.dataset.status])));
  for (const [id, d] of Object.entries(seed.deployments)) checkEqual(`list: ${id}'s status`, statuses[id], d.status);
  const labelled = await page.$$eval('form.filters input, form.filters select', (controls) =>
    controls.every((c) => c.id && document.querySelector(`label[for="${c.id}"]`)));
  check('list: every filter has a label', labelled);
  await page.type('form.filters input[name=app]', 'web');
  await page.select('form.filters select[name=status]', 'completed');
  await page.evaluate(() => { delete document.querySelector('main').dataset.ready; });
  await page.click('form.filters button[type=submit]');
  await waitReady(page);
  checkEqual('list: the form filters app=web, status=completed', await listedDeployments(page), ['web-1042']);
  check('list: the filters are in the URL', /app=web/.test(await page.evaluate(() => location.hash)));
}

// Clicks `selector` in record `seq`'s row as a user would, once the row is on screen and drawn
// (rows off screen are laid out only when they come into view).
async function clickInRow(page, seq, selector) {
  await page.$eval(`#seq-${seq}`, (r) => new Promise((resolve) => {
    r.scrollIntoView({block: 'center'});
    requestAnimationFrame(() => requestAnimationFrame(resolve));
  }));
  await page.click(`#seq-${seq} ${selector}`);
}

// A record's row as a reader sees it. Rows off screen skip rendering (content-visibility), and
// innerText is of what is rendered: the row is scrolled into view first.
async function rowText(page, seq) {
  return page.$eval(`#seq-${seq}`, (r) => new Promise((resolve) => {
    r.scrollIntoView({block: 'center'});
    requestAnimationFrame(() => requestAnimationFrame(() =>
      resolve({text: r.innerText, classes: r.className, verified: r.dataset.verified})));
  }));
}

async function deploymentPage(page, id) {
  const d = seed.deployments[id];
  await go(page, `#/deployment/${encodeURIComponent(id)}`);
  const v = await checkAllVerified(page, `deployment ${id}`);
  const marks = await page.$$eval('.timeline-svg .mark', (m) => m.length);
  checkEqual(`deployment ${id}: a mark per record`, marks, v.rows);
  for (const denied of d.denied || []) {
    const row = await rowText(page, denied.seq);
    check(`deployment ${id}: #${denied.seq} is marked denied by ${denied.rule} with its reason`,
      /denied/.test(row.classes) && row.text.includes('DENIED') && row.text.includes(denied.rule) && /\w+: |\n/.test(row.text), JSON.stringify(row).slice(0, 400));
  }
  for (const allowed of d.allowed || []) {
    const row = await rowText(page, allowed.seq);
    check(`deployment ${id}: #${allowed.seq} is allowed with rules ${allowed.rules.join(', ')}`,
      row.text.includes('allowed') && allowed.rules.every((r) => row.text.includes(`${r} `)), row.text.slice(0, 600));
  }
  return v;
}

async function deploymentChecks(page) {
  const web = seed.deployments['web-1042'];
  await deploymentPage(page, 'web-1042');
  const allowedRow = await rowText(page, web.allowed[0].seq);
  check('web-1042: each rule\'s sentence from the recorded policy is shown',
    allowedRow.text.includes('production needs staging READY for 15 minutes'), allowedRow.text.slice(0, 600));
  const measures = await page.$eval('section.measures', (s) => s.innerText);
  check('web-1042: the staging soak is given in words', measures.includes(web.soak), measures);
  const soaks = await page.$$eval('.timeline-svg rect.soak', (r) => r.map((x) => Number(x.getAttribute('width'))));
  check('web-1042: the soak is drawn to scale', soaks.length >= 1 && soaks.some((w) => w > 20), JSON.stringify(soaks));
  const lanes = await page.$$eval('.timeline-svg .lane-name', (t) => t.map((x) => x.firstChild.textContent));
  check('web-1042: a lane per step', ['orchestrate', 'build', 'staging', 'production'].every((s) => lanes.includes(s)), JSON.stringify(lanes));

  // Evidence links move to the record on this page, leaving the route alone.
  const before = await page.evaluate(() => location.hash);
  const target = await page.$eval(`#seq-${web.allowed[0].seq} a.seq-link`, (a) => a.getAttribute('href'));
  await clickInRow(page, web.allowed[0].seq, 'a.seq-link');
  const focused = await page.evaluate(() => document.activeElement?.id);
  check('web-1042: an evidence link focuses its record', `#${focused}` === target, `${focused} vs ${target}`);
  checkEqual('web-1042: following evidence keeps the route', await page.evaluate(() => location.hash), before);

  // Replay by keyboard: Tab reaches the marks, Enter replays.
  const replay = web.replay;
  // (SVG elements: focused in the page, page.focus() takes HTML elements only.)
  await page.$eval('.timeline-svg .mark', (m) => m.focus());
  await page.keyboard.press('Tab');
  check('web-1042: Tab moves from mark to mark', await page.evaluate(() => document.activeElement?.classList.contains('mark')));
  await page.$eval(`.timeline-svg .mark[data-seq="${replay.seq}"]`, (m) => m.focus());
  await page.keyboard.press('Enter');
  await page.waitForSelector(`section.replay[data-seq="${replay.seq}"][data-state="done"]`);
  checkEqual('web-1042: Enter on a mark opens the replay route',
    await page.evaluate(() => location.hash), `#/deployment/web-1042/at/${replay.seq}`);
  const panel = await page.$eval('section.replay', (s) => s.innerText);
  check(`web-1042: replay at #${replay.seq} says starting ${replay.step} would be denied by ${replay.rule}`,
    new RegExp(`step\\.started ${replay.step}: would be DENIED`).test(panel) && panel.includes(replay.rule), panel.slice(0, 800));
  check('web-1042: the replay heading takes focus', await page.evaluate(() => document.activeElement?.id === 'replay-title'));
  await screenshot(page, 'deployment-replay-1280');
  // ... and by the row's button.
  const at = web.allowed[0].seq;
  await clickInRow(page, at, 'button[data-replay]');
  await page.waitForSelector(`section.replay[data-seq="${at}"][data-state="done"]`);
  check('web-1042: a row\'s Replay button replays there', (await page.$eval('section.replay', (s) => s.innerText)).includes(`#${at}`));

  const api = seed.deployments['api-77'];
  await deploymentPage(page, 'api-77');
  const waiverRow = await rowText(page, api.waiver.seq);
  check('api-77: the waiver is marked with its rule, holder and reason',
    /waiver/.test(waiverRow.classes) && waiverRow.text.includes(`WAIVER ${api.waiver.rule}`) && waiverRow.text.includes(api.waiver.reason), JSON.stringify(waiverRow).slice(0, 500));
  const waived = await rowText(page, api.allowed[0].seq);
  check('api-77: the production start cites the waiver', waived.text.includes('WAIVED') && waived.text.includes(api.waiver.reason), waived.text.slice(0, 500));
  const canary = await page.$eval('section.measures', (s) => s.innerText);
  check('api-77: the canary phases are given in words', api.canary.every((c) => canary.includes(c)), canary);
  const phases = await page.$$eval('.timeline-svg rect.phase', (r) => r.map((x) => Number(x.getAttribute('width'))));
  check('api-77: the canary phases are drawn to scale (25% held twice as long as 5%)',
    phases.length >= 3 && phases[1] > phases[0] * 1.5, JSON.stringify(phases));
  checkEqual('api-77: the header says rolled back', await page.$eval('.deployment-header .status', (s) => s.textContent), 'rolled back');
  await screenshot(page, 'deployment-1280');
}

async function injection(page) {
  const id = seed.injection;
  await go(page, `#/deployment/${encodeURIComponent(id)}`);
  await checkAllVerified(page, `deployment ${id}`);
  // Open every event's fields: the payloads are rendered there too.
  const opened = await page.$$eval('main button.link-button[aria-expanded="false"]', (all) => all.map((b) => b.click()).length);
  check('injection: every event\'s fields can be opened', opened > 0);
  await new Promise((r) => setTimeout(r, 300));
  const result = await page.evaluate(() => ({
    pwned: window.__pwned,
    images: document.querySelectorAll('img').length,
    scripts: [...document.scripts].map((s) => s.getAttribute('src')),
    // textContent: every row, on screen or not; a payload found here is a text node.
    text: document.body.textContent,
  }));
  checkEqual('injection: the payload never ran (window.__pwned)', result.pwned, undefined);
  checkEqual('injection: no <img> was made from event text', result.images, 0);
  checkEqual('injection: no <script> but the console\'s own', result.scripts, ['app.js']);
  check('injection: the <img onerror> payload shows as text', result.text.includes('<img src=x onerror="window.__pwned=1">'));
  check('injection: the </script> payload shows as text', result.text.includes('</script><script>window.__pwned=1</script>'));
  await go(page, '#/audit/waivers');
  await checkAllVerified(page, 'waivers');
  const waivers = await page.evaluate(() => ({pwned: window.__pwned, text: document.body.innerText, images: document.querySelectorAll('img').length}));
  check('injection: a waiver reason with a payload shows as text in the waivers view',
    waivers.pwned === undefined && waivers.images === 0 && waivers.text.includes('<img src=x onerror='), JSON.stringify({...waivers, text: ''}));
}

async function auditViews(page) {
  // Waivers (checked above for verification): both are listed.
  await go(page, '#/audit/waivers');
  const waiverText = await page.$eval('main', (m) => m.innerText);
  check('waivers: the R10 and R16 waivers with their holders', /R10/.test(waiverText) && /R16/.test(waiverText) && /\brm\b/.test(waiverText), waiverText.slice(0, 400));

  await go(page, '#/audit/denials');
  await checkAllVerified(page, 'denials');
  for (const [id, d] of Object.entries(seed.deployments)) {
    for (const denied of d.denied || []) {
      const found = await page.$$eval(`section.rule-group[data-rule="${denied.rule}"] tr[data-seq="${denied.seq}"]`, (r) => r.length);
      check(`denials: ${id}'s #${denied.seq} is listed under ${denied.rule}`, found === 1);
    }
  }
  await screenshot(page, 'denials-1280');

  await go(page, `#/audit/images${query({image: seed.image})}`);
  await checkAllVerified(page, 'images');
  const reach = await page.$eval('ul.reach', (u) => u.innerText);
  check('images: the web image reached staging and production', /step staging/.test(reach) && /step production/.test(reach), reach);

  await go(page, '#/audit/keys');
  await checkAllVerified(page, 'keys');
  const revoked = await page.$$eval('main tr[data-seq], main [role=row][data-seq]', (rows) => rows.filter((r) => r.innerText.includes('revoked')).map((r) => r.innerText));
  check(`keys: ${seed.revoked}'s revocation is listed`, revoked.some((t) => t.includes(seed.revoked)), JSON.stringify(revoked));
}

async function dora(page) {
  await go(page, `#/dora${query({since: seed.dora.since})}`);
  const figures = await page.$$eval('.figure', (all) => Object.fromEntries(all.map((f) =>
    [f.querySelector('.figure-label').textContent, f.querySelector('.figure-value').textContent])));
  checkEqual('dora: deployments completed', figures['deployments completed'], String(seed.dora.deployments));
  checkEqual('dora: median time to restore', figures['median time to restore'], seed.dora.restore);
  const charts = await page.$$eval('svg.chart', (c) => c.map((x) => x.getAttribute('aria-labelledby')));
  check('dora: charts are drawn with titles', charts.length >= 3 && charts.every(Boolean), JSON.stringify(charts));
  check('dora: the numbers are also a table', (await page.$$('table')).length >= 2);
  await screenshot(page, 'dora-1280');
}

async function bigDeployment(page) {
  const id = seed.big;
  const t0 = await page.evaluate(() => {
    performance.clearMarks('shiplog:deployment-fetched');
    performance.clearMarks('shiplog:deployment-rendered');
    return performance.now();
  });
  await go(page, `#/deployment/${encodeURIComponent(id)}`);
  const [fetched, rendered] = await page.evaluate(() => ['shiplog:deployment-fetched', 'shiplog:deployment-rendered']
    .map((name) => performance.getEntriesByName(name).pop().startTime));
  await waitVerified(page);
  const verified = await page.evaluate(() => performance.now());
  metric('fetch_1000_ms', fetched - t0);
  metric('render_1000_ms', rendered - t0);
  metric('verify_1000_ms', verified - t0);
  check('1,000-event deployment renders within the sanity bound', rendered - t0 < RENDER_1000_BOUND_MS, `${rendered - t0} ms`);
  const v = await checkAllVerified(page, `deployment ${id}`);
  checkEqual(`deployment ${id}: every event is a row`, v.rows, seed.deployments[id].events);
  checkEqual(`deployment ${id}: every event is a mark`, await page.$$eval('.timeline-svg .mark', (m) => m.length), seed.deployments[id].events);
  // A viewport shot: the whole page of 1,000 rows is past what a screenshot can hold.
  await page.screenshot({path: path.join(shots, 'deployment-1000-1280.png')});
}

async function liveList(page) {
  await go(page, '#/deployments');
  await waitVerified(page);
  await page.waitForSelector('.live-status[data-live="live"]');
  // Nothing polls: while nothing is appended, no request goes out.
  let requests = 0;
  const count = (request) => { if (request.url().includes('/v1/')) requests += 1; };
  page.on('request', count);
  await new Promise((r) => setTimeout(r, 3000));
  page.off('request', count);
  checkEqual('live: no request while nothing happens (no polling)', requests, 0);

  const id = live.update.deployment;
  const before = await page.$eval(`tr[data-deployment="${id}"]`, (r) => r.dataset.lastSeq);
  const started = Date.now();
  const receipt = await postEvent(live.update.body);
  await page.waitForFunction((d, seq) => document.querySelector(`tr[data-deployment="${d}"]`)?.dataset.lastSeq === String(seq),
    {timeout: 20000}, id, receipt.seq);
  metric('live_update_ms', Date.now() - started);
  check(`live: ${id}'s row moved from #${before} to #${receipt.seq}`, true);

  const added = await postEvent(live.new.body);
  await page.waitForFunction((d) => document.querySelector('table.deployments tbody tr')?.dataset.deployment === d,
    {timeout: 20000}, live.new.deployment);
  check(`live: the new request ${live.new.deployment} (#${added.seq}) appears first`, true);
  await waitVerified(page);
  const row = await page.$eval(`tr[data-deployment="${live.new.deployment}"]`, (r) => r.dataset.verified);
  checkEqual('live: the new row is verified', row, 'true');
  const said = await page.waitForFunction((d) => document.querySelector('#announcer').textContent.includes(d),
    {timeout: 5000}, live.new.deployment).then(() => true, () => false);
  check('live: the new deployment is announced to screen readers (aria-live)', said,
    await page.$eval('#announcer', (a) => a.textContent));
}

async function tampering(browser) {
  const webDenied = seed.deployments['web-1042'].denied[0].seq;
  let mode = null;
  const proxy = await startProxy((url) => {
    if (mode === 'timeline' && url.startsWith('/v1/deployments/web-1042/timeline')) {
      return (body) => {
        const entry = body.entries.find((e) => e.seq === webDenied);
        if (entry) entry.decision.reasons[0].message = 'nothing was wrong';
        return body;
      };
    }
    if (mode === 'signer' && url.startsWith('/v1/deployments/web-1042/timeline')) {
      return (body) => {
        const entry = body.entries.find((e) => e.seq === webDenied);
        if (entry) entry.who.name = 'marta';
        return body;
      };
    }
    if (mode === 'list' && url.startsWith('/v1/deployments?')) {
      return (body) => {
        const row = body.deployments.find((d) => d.deployment === 'web-1042');
        if (row) row.version = '9.9.9';
        return body;
      };
    }
    if (mode === 'records' && url.startsWith('/v1/records?')) {
      return (body) => {
        const record = body.records.find((r) => r.seq === webDenied);
        if (record) {
          const bytes = Buffer.from(record.entry, 'base64');
          bytes[bytes.length - 3] ^= 0x01;
          record.entry = bytes.toString('base64');
        }
        return body;
      };
    }
    return null;
  });
  try {
    const view = await newPage(browser, {label: 'tamper', origin: proxy.url});
    const {page} = view;
    await open(view, '#/deployments');
    await waitVerified(page);
    check('tamper: through an honest proxy everything verifies', (await verification(page)).failed.length === 0);

    mode = 'timeline';
    await go(page, '#/deployment/web-1042');
    await waitVerified(page);
    let v = await verification(page);
    check(`tamper: an altered timeline entry (#${webDenied}'s reason) is flagged`,
      v.failed.length === 1 && v.failed[0].seq === String(webDenied), JSON.stringify(v.failed));
    let banner = await page.$eval('#banner', (b) => (b.hidden ? '' : b.innerText));
    check('tamper: the page says the response was altered', banner.includes('This response was altered or does not verify'), banner);
    await screenshot(page, 'tampered-timeline-1280');

    mode = 'records';
    await go(page, '#/deployment/web-1042');
    await waitVerified(page);
    v = await verification(page);
    check(`tamper: an altered record (#${webDenied}'s bytes) is flagged`,
      v.failed.length === 1 && v.failed[0].seq === String(webDenied), JSON.stringify(v.failed));

    mode = 'signer';
    await go(page, '#/deployment/web-1042');
    await waitVerified(page);
    v = await verification(page);
    check(`tamper: a signer renamed in the timeline (#${webDenied}) is flagged against the key's enrolment`,
      v.failed.length === 1 && v.failed[0].seq === String(webDenied), JSON.stringify(v.failed));

    mode = 'list';
    await go(page, '#/deployments');
    await waitVerified(page);
    v = await verification(page);
    const row = await page.$eval('tr[data-deployment="web-1042"]', (r) => ({verified: r.dataset.verified, text: r.querySelector('.verify').innerText}));
    check('tamper: an altered list row (web-1042\'s version) is flagged', row.verified === 'false' && /version/.test(row.text), JSON.stringify(row));
    banner = await page.$eval('#banner', (b) => (b.hidden ? '' : b.innerText));
    check('tamper: the list says the response was altered', banner.includes('This response was altered or does not verify'), banner);
    await view.context.close();
  } finally {
    mode = null;
    await proxy.close();
  }

  // A ledger key other than the server's: nothing verifies, whatever the server says.
  const wrong = `${ledgerKey.slice(0, 63)}${ledgerKey[63] === '0' ? '1' : '0'}`;
  const view = await newPage(browser, {label: 'wrong-key', pinned: wrong});
  await open(view, '#/deployments');
  await waitVerified(view.page);
  const v = await verification(view.page);
  check('wrong pinned key: every row fails verification', v.rows > 0 && v.failed.length === v.rows, JSON.stringify(v).slice(0, 300));
  await view.context.close();
}

async function phoneWidth(browser) {
  const view = await newPage(browser, {label: 'phone', width: 375, height: 812});
  const {page} = view;
  const at = seed.deployments['api-77'].allowed[0].seq;
  for (const [name, hash] of [['list', '#/deployments'], ['deployment', `#/deployment/api-77/at/${at}`],
    ['dora', `#/dora${query({since: seed.dora.since})}`]]) {
    await open(view, hash);
    await waitVerified(page);
    if (name === 'deployment') await page.waitForSelector(`section.replay[data-seq="${at}"][data-state="done"]`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(`375 px: the ${name} page does not overflow sideways`, overflow <= 1, `${overflow}px`);
    await screenshot(page, `${name}-375`);
  }
  await view.context.close();
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: args.chromium || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
  });
  try {
    await group('connect panel', () => connectPanel(browser));
    await group('first load', () => firstLoad(browser));
    const view = await newPage(browser, {label: 'main'});
    await open(view, '#/deployments');
    const {page} = view;
    await group('list filters', () => listFilters(page));
    await group('deployment pages', () => deploymentChecks(page));
    await group('script injection', () => injection(page));
    await group('auditor views', () => auditViews(page));
    await group('DORA', () => dora(page));
    await group('1,000-event deployment', () => bigDeployment(page));
    await group('screenshots of the list', async () => {
      await go(page, '#/deployments');
      await waitVerified(page);
      await screenshot(page, 'list-1280');
    });
    if (live) await group('live list', () => liveList(page));
    await group('tampering', () => tampering(browser));
    await group('phone width', () => phoneWidth(browser));
    const csp = await page.evaluate(() => window.__cspViolations);
    checkEqual('no CSP violation on the main page', csp, []);
    await view.context.close();
  } finally {
    await browser.close();
  }
  checkEqual('no console error, page error or CSP refusal on any page', pageProblems, []);
}

const timer = setTimeout(() => {
  console.log(`FAIL the browser test did not finish in ${OVERALL_MS / 1000}s`);
  process.exit(2);
}, OVERALL_MS);

main().then(() => {
  clearTimeout(timer);
  console.log(failures.length ? `\n${failures.length} check(s) FAILED:\n  ${failures.join('\n  ')}` : '\nall checks passed');
  process.exit(failures.length ? 1 : 0);
}, (e) => {
  clearTimeout(timer);
  console.log(`FAIL ${e.stack || e}`);
  process.exit(1);
});
