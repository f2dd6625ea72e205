#!/usr/bin/env node
// Approves (or denies) a device-flow login, or a browser login (authorization code to authd's
// loopback redirect), in real headless Chromium, clicking the provider's buttons like a user.
// Usable as the $BROWSER that `tb login` runs:
//
//   APPROVE_USER=alice APPROVE_ACTION=approve|deny|deny-code node approve-browser.js URI
//
// URI is verification_uri_complete (or verification_uri; then APPROVE_CODE gives the code), or
// the authorization URL of a browser login: then the end is authd's page on 127.0.0.1.
// Environment: APPROVE_USER (default alice), APPROVE_PASSWORD (default x), APPROVE_ACTION
// (approve: default; deny: Cancel on the consent page; deny-code: Abort on the code page),
// APPROVE_TIMEOUT seconds (default 60), CHROMIUM (default /usr/bin/chromium), APPROVE_RECORD
// (a file to write the last page's address to on success).
// Exit 0 on "Sign-in Success" (or when the denial went through), 1 otherwise, 2 on bad usage.
// Progress goes to stderr, one line per step; closed or broken stdout/stderr are tolerated.
// Only loopback hosts are reachable: DNS for every other host fails and every request to
// another host is aborted (the pages @import a web font).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { chromium } from 'playwright-core';

for (const s of [process.stdout, process.stderr]) s.on('error', () => {});
const T0 = Date.now();
function say(m) {
  try {
    process.stderr.write(`approve-browser: [${((Date.now() - T0) / 1000).toFixed(2)}s] ${m}\n`);
  } catch { /* stderr closed */ }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const uri = process.argv[2];
const user = process.env.APPROVE_USER || 'alice';
const password = process.env.APPROVE_PASSWORD || 'x';
const action = process.env.APPROVE_ACTION || 'approve';
const code = process.env.APPROVE_CODE || '';
const timeoutMs = (Number(process.env.APPROVE_TIMEOUT) || 60) * 1000;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

if (!uri || process.argv.length > 3) {
  say('usage: approve-browser.js URI   (env APPROVE_USER, APPROVE_ACTION=approve|deny|deny-code)');
  process.exit(2);
}
if (!['approve', 'deny', 'deny-code'].includes(action)) {
  say(`APPROVE_ACTION must be approve, deny or deny-code, not ${action}`);
  process.exit(2);
}
let start;
try {
  start = new URL(uri);
} catch {
  say(`not a URL: ${uri}`);
  process.exit(2);
}
if (!LOOPBACK.has(start.hostname)) {
  say(`refusing a non-loopback URL: ${start.hostname}`);
  process.exit(2);
}

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];

let context;
let userDataDir;
let watchdog;
let finished = false;
const blocked = new Set();

async function cleanup() {
  clearTimeout(watchdog);
  if (context) {
    const c = context;
    context = undefined;
    await c.close().catch(() => {});
  }
  if (userDataDir) {
    try { fs.rmSync(userDataDir, { recursive: true, force: true }); } catch { /* best effort */ }
    userDataDir = undefined;
  }
}

async function finish(rc, msg) {
  if (finished) return;
  finished = true;
  say(msg);
  await cleanup();
  say(`closed (${rc === 0 ? 'ok' : 'failed'})`);
  process.exit(rc);
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => { finish(1, `stopped by ${sig}`); });
}

async function main() {
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'approve-browser-'));
  watchdog = setTimeout(() => { finish(1, `FAILED: timed out after ${timeoutMs / 1000} s`); }, timeoutMs);

  say(`launching ${executablePath}`);
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: FLAGS,
    timeout: timeoutMs,
    // Keep the browser's own output out of our stdio (we may run detached).
    env: { ...process.env, CHROME_LOG_FILE: '/dev/null' },
  });
  await context.route('**/*', (route) => {
    let host;
    try { host = new URL(route.request().url()).hostname; } catch { host = ''; }
    if (LOOPBACK.has(host) || route.request().url().startsWith('data:')) return route.continue();
    if (!blocked.has(host)) {
      blocked.add(host);
      say(`blocked a request to ${host || route.request().url().slice(0, 40)}`);
    }
    return route.abort('blockedbyclient');
  });

  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(timeoutMs);

  say(`open ${start.origin}${start.pathname}`);
  await page.goto(start.href, { waitUntil: 'domcontentloaded' });

  // Walk whatever page comes, until a terminal one.
  const seen = new Map();
  for (let step = 0; step < 20; step += 1) {
    // Let the auto-submitting "Submitting Callback" page move on.
    await page.waitForFunction(() => document.readyState !== 'loading'
      && !/Submitting Callback/i.test(document.title), null, { timeout: timeoutMs });
    const kind = await page.evaluate(() => {
      const text = document.body ? document.body.innerText : '';
      if (/Sign-in Success/i.test(text)) return 'success';
      // authd's loopback redirect page (the browser login's end).
      if (document.title === 'authd') {
        return /authd has received the login/.test(text) ? 'success' : 'redirect-refused';
      }
      if (/Sign-in request was interrupted/i.test(text)) return 'interrupted';
      if (/code you entered is incorrect/i.test(text)) return 'badcode';
      if (document.getElementById('op.deviceConfirmForm')) return 'confirm';
      if (document.getElementById('op.deviceInputForm')) return 'input';
      const p = document.querySelector('input[name="prompt"]');
      if (p) return p.value;
      return `unknown:${document.title}:${(document.querySelector('h1')?.innerText || '').trim()}`;
    });
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
    if (seen.get(kind) > 3) return finish(1, `FAILED: stuck on page ${kind}`);

    switch (kind) {
      case 'success':
        if (action !== 'approve') return finish(1, 'FAILED: the login succeeded although a denial was asked for');
        // APPROVE_RECORD=FILE: the address of the last page (a browser login's redirect), for
        // a test that replays it.
        if (process.env.APPROVE_RECORD) fs.writeFileSync(process.env.APPROVE_RECORD, `${page.url()}\n`);
        return finish(0, `Sign-in Success: approved as ${user} in ${Date.now() - T0} ms`);
      case 'interrupted':
        if (action !== 'approve') return finish(0, `denied (${action}) in ${Date.now() - T0} ms`);
        return finish(1, 'FAILED: the provider says the sign-in request was interrupted');
      case 'redirect-refused':
        if (action !== 'approve') return finish(0, `denied (${action}) in ${Date.now() - T0} ms`);
        return finish(1, 'FAILED: authd refused the redirect');
      case 'badcode':
        return finish(1, 'FAILED: the provider says: The code you entered is incorrect (wrong or expired user code)');
      case 'input': {
        if (!code) return finish(1, 'FAILED: the page asks for the user code: pass verification_uri_complete or APPROVE_CODE');
        say('code page: typing the user code, Continue');
        await page.locator('input[name="user_code"]:not([type=hidden])').fill(code);
        await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Continue' }).click()]);
        break;
      }
      case 'confirm':
        if (action === 'deny-code') {
          say('code page: Abort');
          await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: /Abort/ }).click()]);
        } else {
          say('code page: Continue');
          await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Continue' }).click()]);
        }
        break;
      case 'login':
        say(`sign-in page: ${user}, Sign-in`);
        await page.locator('input[name="login"]').fill(user);
        await page.locator('input[name="password"]').fill(password);
        await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign-in' }).click()]);
        break;
      case 'consent':
        if (action === 'deny') {
          say('consent page: Cancel');
          await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: /Cancel/ }).click()]);
        } else {
          say('consent page: Continue');
          await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Continue' }).click()]);
        }
        break;
      default:
        return finish(1, `FAILED: unexpected page ${kind}`);
    }
  }
  return finish(1, 'FAILED: too many steps');
}

main().catch((err) => finish(1, `FAILED: ${(err?.message ?? String(err)).split('\n')[0]}`));
