#!/usr/bin/env node
// Scripted approval of a device-flow login over plain HTTP (no browser), one cookie jar.
//
//   node approve-http.js URI [--code XXXX-XXXX] [--user alice] [--password x]
//                            [--deny-at code|consent] [--timeout SECONDS] [--verbose]
//
// URI is verification_uri_complete, or verification_uri with --code. It walks the provider's
// pages as a user would: code confirmation (Continue, or Abort with --deny-at code), sign-in
// with any login and password, consent (Continue, or Cancel with --deny-at consent).
// Exit 0 on "Sign-in Success" (or when the denial went through); 1 with a message otherwise;
// 2 on bad usage.

const USAGE = 'usage: node approve-http.js URI [--code XXXX-XXXX] [--user alice] [--password x] '
  + '[--deny-at code|consent] [--timeout SECONDS] [--verbose]';

function usage(msg) {
  process.stderr.write(`approve-http: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

const args = { uri: null, code: null, user: 'alice', password: 'x', denyAt: null, timeout: 30, verbose: false };
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      i += 1;
      return argv[i];
    };
    if (a === '--code') args.code = v();
    else if (a === '--user') args.user = v();
    else if (a === '--password') args.password = v();
    else if (a === '--deny-at') args.denyAt = v();
    else if (a === '--timeout') args.timeout = Number(v());
    else if (a === '--verbose' || a === '-v') args.verbose = true;
    else if (a === '-h' || a === '--help') { process.stdout.write(`${USAGE}\n`); process.exit(0); }
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else if (!args.uri) args.uri = a;
    else usage(`unexpected argument ${a}`);
  }
  if (!args.uri) usage('missing URI');
  if (args.denyAt && !['code', 'consent'].includes(args.denyAt)) usage('--deny-at must be code or consent');
  if (!(args.timeout > 0)) usage('--timeout must be a positive number');
  if (!args.user) usage('--user must not be empty');
}

for (const s of [process.stdout, process.stderr]) s.on('error', () => {});
const say = (m) => { try { process.stderr.write(`approve-http: ${m}\n`); } catch { /* closed */ } };
const trace = (m) => { if (args.verbose) say(m); };
function fail(msg) {
  say(`FAILED: ${msg}`);
  process.exit(1);
}

// ---------------------------------------------------------------- HTTP with a cookie jar

const jar = new Map(); // cookie name -> value (one host, loopback)

function storeCookies(res) {
  const list = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
  for (const c of list) {
    const [pair, ...attrs] = c.split(';');
    const eq = pair.indexOf('=');
    if (eq < 1) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a)
      || (/^\s*expires\s*=/i.test(a) && Date.parse(a.split('=').slice(1).join('=')) < Date.now()));
    if (expired || value === '') jar.delete(name); else jar.set(name, value);
  }
}

async function request(method, url, form) {
  const headers = { 'user-agent': 'authd-test-approve-http' };
  if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const u = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) {
    fail(`refusing to contact non-loopback host ${u.hostname}`);
  }
  const res = await fetch(url, {
    method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(args.timeout * 1000),
  });
  storeCookies(res);
  const text = await res.text();
  trace(`${method} ${u.pathname} -> ${res.status}`);
  return { status: res.status, location: res.headers.get('location'), text, url };
}

// ---------------------------------------------------------------- HTML scraping

const decode = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function attrs(tag) {
  const out = {};
  const re = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;
  let m;
  const inner = tag.replace(/^<\s*[a-zA-Z]+/, '').replace(/\/?>$/, '');
  while ((m = re.exec(inner))) out[m[1].toLowerCase()] = decode(m[2] ?? m[3] ?? m[4] ?? '');
  return out;
}

// Forms with their action and named <input>s (including inputs after </form> tied by form=ID).
function forms(html) {
  const list = [];
  const re = /<form\b[^>]*>([\s\S]*?)<\/form>/gi;
  let m;
  while ((m = re.exec(html))) {
    const a = attrs(m[0].match(/<form\b[^>]*>/i)[0]);
    const fields = {};
    for (const t of m[1].match(/<input\b[^>]*>/gi) ?? []) {
      const ia = attrs(t);
      if (ia.name) fields[ia.name] = ia.value ?? '';
    }
    list.push({ id: a.id, action: a.action, method: (a.method || 'get').toLowerCase(), fields });
  }
  return list;
}

const title = (html) => decode((html.match(/<title>([\s\S]*?)<\/title>/i)?.[1] ?? '').trim());
const heading = (html) => decode((html.match(/<h1>([\s\S]*?)<\/h1>/i)?.[1] ?? '').replace(/<[^>]+>/g, '').trim());

// ---------------------------------------------------------------- the walk

async function main() {
  let start;
  try {
    start = new URL(args.uri);
  } catch {
    usage(`not a URL: ${args.uri}`);
  }
  if (args.code && !start.searchParams.has('user_code')) start.searchParams.set('user_code', args.code);

  const t0 = Date.now();
  let res = await request('GET', start.href);
  let denied = false;

  for (let step = 0; step < 25; step += 1) {
    if (res.status >= 300 && res.status < 400) {
      if (!res.location) fail(`${res.status} without Location`);
      res = await request('GET', new URL(res.location, res.url).href);
      continue;
    }
    const html = res.text;
    if (res.status !== 200) fail(`HTTP ${res.status} from ${new URL(res.url).pathname}: ${title(html) || html.slice(0, 200)}`);

    const h1 = heading(html);
    if (/Sign-in Success/i.test(html)) {
      if (args.denyAt) fail('the login succeeded although a denial was asked for');
      say(`approved as ${args.user} in ${Date.now() - t0} ms`);
      return;
    }
    if (/Sign-in request was interrupted/i.test(html) || /aborted|interrupted/i.test(h1)) {
      if (args.denyAt) {
        say(`denied at ${args.denyAt} in ${Date.now() - t0} ms`);
        return;
      }
      fail(`the provider says: ${h1 || title(html)}`);
    }
    if (/code you entered is incorrect/i.test(html)) fail('the provider says: The code you entered is incorrect (wrong or expired user code)');

    const fs = forms(html);
    const byId = (id) => fs.find((f) => f.id === id);
    const prompt = fs.find((f) => f.fields.prompt);

    if (/Submitting Callback/i.test(title(html)) && fs.length) {
      const f = fs[0];
      trace('auto-submit form');
      res = await request('POST', new URL(f.action, res.url).href, f.fields);
    } else if (byId('op.deviceInputForm')) {
      if (!args.code) fail('the page asks for the user code: pass --code or verification_uri_complete');
      const f = byId('op.deviceInputForm');
      res = await request('POST', new URL(f.action, res.url).href, { ...f.fields, user_code: args.code });
    } else if (byId('op.deviceConfirmForm')) {
      const f = byId('op.deviceConfirmForm');
      if (args.denyAt === 'code') {
        trace('code page: Abort');
        denied = true;
        res = await request('POST', new URL(f.action, res.url).href, { ...f.fields, abort: 'yes' });
      } else {
        trace('code page: Continue');
        res = await request('POST', new URL(f.action, res.url).href, f.fields);
      }
    } else if (prompt && prompt.fields.prompt === 'login') {
      trace(`sign-in as ${args.user}`);
      res = await request('POST', new URL(prompt.action, res.url).href,
        { ...prompt.fields, login: args.user, password: args.password });
    } else if (prompt && prompt.fields.prompt === 'consent') {
      if (args.denyAt === 'consent') {
        const cancel = html.match(/<a\b[^>]*href="([^"]*\/abort)"[^>]*>/i)?.[1];
        if (!cancel) fail('consent page without a Cancel link');
        trace('consent page: Cancel');
        denied = true;
        res = await request('GET', new URL(decode(cancel), res.url).href);
      } else {
        trace('consent page: Continue');
        res = await request('POST', new URL(prompt.action, res.url).href, prompt.fields);
      }
    } else {
      fail(`unexpected page "${title(html)}"${h1 ? ` / "${h1}"` : ''} at ${new URL(res.url).pathname}`);
    }
  }
  fail(`too many steps${denied ? ' after the denial' : ''}`);
}

main().catch((err) => fail(err?.cause?.message ?? err?.message ?? String(err)));
