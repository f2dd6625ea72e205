#!/usr/bin/env node
// authd's test OpenID provider: panva's oidc-provider 8.8.1 on loopback, with the device flow,
// refresh-token rotation, revocation, introspection, userinfo, resource indicators issuing RS256
// JWT access tokens, an RFC 8693 token-exchange grant, an `interval`/`slow_down` shim, a mint
// endpoint for authd's `endpoint` strategy, a JSON-lines request log, optional state
// persistence across restarts (--state), a private_key_jwt client (--client-key) and an RFC 7523
// JWT-bearer grant (--assertion-key). Test use only: the development interactions accept any
// login name with any password. See README.md.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { createHash, createPublicKey, randomBytes } from 'node:crypto';

import Provider, { errors } from 'oidc-provider';
// The provider's own DPoP proof check, for the custom token-exchange grant.
import dpopValidate from 'oidc-provider/lib/helpers/validate_dpop.js';
import {
  handler as refreshTokenHandler,
  parameters as refreshTokenParameters,
} from 'oidc-provider/lib/actions/grants/refresh_token.js';
import * as jose from 'jose';

const USAGE = `usage: node idp.js [--port N] [--host 127.0.0.1] [--ready-file FILE] [--log FILE]
    [--device-ttl S] [--at-ttl S] [--rt-ttl S] [--exchange-ttl S] [--interval S]
    [--verification-host HOST] [--complete-host HOST] [--complete-suffix STR]
    [--verification-uri TEMPLATE] [--complete-uri TEMPLATE]
    [--no-token-exchange] [--exchange-delay-ms N] [--refresh-delay-ms N] [--code-delay-ms N]
    [--slow-down N] [--no-rotate] [--rt-grace S] [--jwks-file FILE] [--state FILE]
    [--canary STRING] [--clock-offset S] [--client-key PEM] [--client-key-id KID]
    [--assertion-key PEM] [--no-dpop] [--dpop-nonce]
    [--federation-issuer URL --federation-jwks FILE]
    [--resource URL]...`;

// ---------------------------------------------------------------- command line

function parseArgs(argv) {
  const o = {
    port: 0,
    host: '127.0.0.1',
    readyFile: null,
    log: null,
    deviceTtl: 600,
    atTtl: 3600,
    rtTtl: 86400,
    exchangeTtl: 300,
    interval: 5,
    slowDown: 0,
    rotate: true,
    tokenExchange: true,
    exchangeDelayMs: 0,
    refreshDelayMs: 0,
    codeDelayMs: 0,
    federationIssuer: null,
    federationJwks: null,
    jwksFile: null,
    stateFile: null,
    canary: null,
    dpop: true,
    dpopNonce: false,
    clientKey: null,
    clientKeyId: null,
    assertionKey: null,
    resources: ['https://api.tb.test', 'https://registry.tb.test'],
  };
  const num = (name, v, min) => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) {
      die(`${name} needs an integer >= ${min}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      i += 1;
      return argv[i];
    };
    switch (a) {
      case '--port': o.port = num(a, v(), 0); if (o.port > 65535) die('--port out of range'); break;
      case '--host': o.host = v(); break;
      case '--ready-file': o.readyFile = v(); break;
      case '--log': o.log = v(); break;
      case '--device-ttl': o.deviceTtl = num(a, v(), 1); break;
      case '--at-ttl': o.atTtl = num(a, v(), 1); break;
      case '--rt-ttl': o.rtTtl = num(a, v(), 1); break;
      case '--exchange-ttl': o.exchangeTtl = num(a, v(), 1); break;
      case '--interval': o.interval = num(a, v(), 0); break;
      case '--slow-down': o.slowDown = num(a, v(), 0); break;
      case '--verification-host':
        o.verificationHost = v();
        if (!/^[A-Za-z0-9.-]{1,253}$/.test(o.verificationHost)) die('--verification-host must be a host name');
        break;
      case '--complete-suffix': o.completeSuffix = v(); break;
      case '--verification-uri': o.verificationUri = v(); break;
      case '--complete-uri': o.completeUri = v(); break;
      case '--complete-host':
        o.completeHost = v();
        if (!/^[A-Za-z0-9.-]{1,253}$/.test(o.completeHost)) die('--complete-host must be a host name');
        break;
      case '--no-rotate': o.rotate = false; break;
      case '--rt-grace': o.rtGrace = num(a, v(), 1); break;
      case '--no-token-exchange': o.tokenExchange = false; break;
      case '--exchange-delay-ms': o.exchangeDelayMs = num(a, v(), 0); break;
      case '--refresh-delay-ms': o.refreshDelayMs = num(a, v(), 0); break;
      case '--code-delay-ms': o.codeDelayMs = num(a, v(), 0); break;
      case '--federation-issuer': o.federationIssuer = v(); break;
      case '--federation-jwks': o.federationJwks = v(); break;
      case '--jwks-file': o.jwksFile = v(); break;
      case '--state': o.stateFile = v(); break;
      // --clock-offset S: every reply's Date header S seconds off (a provider
      // whose clock, or ours, is wrong: tb doctor's clock check).
      case '--clock-offset': o.clockOffset = Number.parseInt(v(), 10); if (!Number.isSafeInteger(o.clockOffset)) die('--clock-offset needs an integer'); break;
      case '--canary':
        o.canary = v();
        if (!/^[A-Za-z0-9._~-]{1,64}$/.test(o.canary)) {
          die('--canary must be 1-64 characters of [A-Za-z0-9._~-]');
        }
        break;
      case '--client-key': o.clientKey = v(); break;
      case '--client-key-id': o.clientKeyId = v(); break;
      case '--assertion-key': o.assertionKey = v(); break;
      case '--resource': o.resources.push(v()); break;
      // DPoP (RFC 9449) is on unless --no-dpop (a provider without it); --dpop-nonce: every
      // proof must carry a nonce of the provider's (the use_dpop_nonce dance, section 8).
      case '--no-dpop': o.dpop = false; break;
      case '--dpop-nonce': o.dpopNonce = true; break;
      case '-h': case '--help': process.stdout.write(`${USAGE}\n`); process.exit(0); break;
      default: die(`unknown argument ${a}\n${USAGE}`, 2);
    }
  }
  return o;
}

function die(msg, code = 2) {
  process.stderr.write(`idp: ${msg}\n`);
  process.exit(code);
}

const opt = parseArgs(process.argv.slice(2));
// Templates for the verification URIs (null: the provider's own); see the shim.
const verificationUris = { plain: opt.verificationUri ?? null, complete: opt.completeUri ?? null };

// ---------------------------------------------------------------- accounts, clients, resources

const PROJECTS = { alice: ['prj_123', 'prj_456'], bob: ['prj_789'], nobody: [] };
const projectsOf = (sub) => PROJECTS[sub] ?? ['prj_123'];
const RESOURCES = new Set(opt.resources);
const RS_BASE_SCOPES = ['tb:read', 'tb:write'];
const PROJECT_RE = /^project:(.+)$/;

const TX_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const TT = {
  access_token: 'urn:ietf:params:oauth:token-type:access_token',
  refresh_token: 'urn:ietf:params:oauth:token-type:refresh_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  id_token: 'urn:ietf:params:oauth:token-type:id_token',
};

const clients = [
  {
    client_id: 'tb-cli',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    // authd's browser login: code + PKCE to a loopback redirect. For a native client
    // oidc-provider accepts any port on a registered loopback URI (RFC 8252 7.3).
    grant_types: [DEVICE_GRANT, 'refresh_token', TX_GRANT, 'authorization_code'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/', 'http://[::1]/'],
  },
  // One grant each, for the messages that name the other way to log in.
  {
    client_id: 'tb-browser-only',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['refresh_token', TX_GRANT, 'authorization_code'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/'],
  },
  {
    client_id: 'tb-device-only',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: [DEVICE_GRANT, 'refresh_token', TX_GRANT],
    response_types: [],
    redirect_uris: ['http://127.0.0.1/'],
  },
  {
    client_id: 'tb-confidential',
    client_secret: 'tb-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: [DEVICE_GRANT, 'refresh_token', TX_GRANT, 'authorization_code'],
    response_types: ['code'],
    redirect_uris: [
      'http://localhost:8080', 'http://localhost:4242', 'http://localhost:43985',
      'http://127.0.0.1:8080/callback', 'http://localhost:8080/callback',
    ],
  },
  {
    client_id: 'tb-confidential-post',
    client_secret: 'tb-secret',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: [DEVICE_GRANT, 'refresh_token', TX_GRANT],
    response_types: [],
    redirect_uris: [],
  },
];
// A public key from a PEM file (a private key's PEM gives its public half).
function readPublicKey(file, what) {
  try {
    return createPublicKey(fs.readFileSync(file));
  } catch (err) {
    return die(`${what} ${file}: ${err.message}`, 1);
  }
}

// --assertion-key PEM: the JWT-bearer grant (RFC 7523 2.1) takes assertions signed by that key,
// for tb-cli (and tb-pkjwt).
const assertionKey = opt.assertionKey ? readPublicKey(opt.assertionKey, '--assertion-key') : null;

// --client-key PEM: the client tb-pkjwt authenticates with private_key_jwt (RFC 7523 2.2), its
// registered key being that key's public half (kid --client-key-id).
if (opt.clientKey) {
  const jwk = readPublicKey(opt.clientKey, '--client-key').export({ format: 'jwk' });
  if (opt.clientKeyId) jwk.kid = opt.clientKeyId;
  clients.push({
    client_id: 'tb-pkjwt',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [jwk] },
    grant_types: [DEVICE_GRANT, 'refresh_token', TX_GRANT],
    response_types: [],
    redirect_uris: [],
  });
}
if (assertionKey) {
  for (const c of clients) {
    if (c.client_id === 'tb-cli' || c.client_id === 'tb-pkjwt') c.grant_types.push(JWT_BEARER_GRANT);
  }
}

// --no-token-exchange: the grant exists nowhere, not even in client metadata.
if (!opt.tokenExchange) {
  for (const c of clients) c.grant_types = c.grant_types.filter((g) => g !== TX_GRANT);
}


async function findAccount(ctx, sub) {
  if (typeof sub !== 'string' || !sub) return undefined;
  return {
    accountId: sub,
    async claims() {
      return {
        sub,
        name: sub.charAt(0).toUpperCase() + sub.slice(1),
        preferred_username: sub,
        email: `${sub}@example.test`,
        email_verified: true,
        projects: projectsOf(sub),
      };
    },
  };
}

// The user the current request acts for, when it is known (consent, token endpoint).
function accountIdOf(ctx) {
  const e = ctx?.oidc?.entities ?? {};
  let sub = e.Account?.accountId ?? e.RefreshToken?.accountId ?? e.DeviceCode?.accountId
    ?? e.AccessToken?.accountId ?? e.Grant?.accountId;
  if (!sub) {
    try { sub = ctx?.oidc?.session?.accountId; } catch { /* no session here */ }
  }
  return sub || undefined;
}

function scopeList(s) {
  if (Array.isArray(s)) s = s.join(' ');
  return typeof s === 'string' ? s.split(' ').filter(Boolean) : [];
}

async function getResourceServerInfo(ctx, indicator) {
  if (!RESOURCES.has(indicator)) {
    throw new errors.InvalidTarget(`unknown resource ${indicator}`);
  }
  const sub = accountIdOf(ctx);
  let projects;
  if (sub) {
    projects = projectsOf(sub);
  } else {
    // User not known yet (/device/auth): accept the project scopes asked for; the consent,
    // once the user is known, grants only the user's own projects.
    projects = scopeList(ctx?.oidc?.params?.scope)
      .map((s) => PROJECT_RE.exec(s)?.[1]).filter(Boolean);
  }
  return {
    scope: [...RS_BASE_SCOPES, ...projects.map((p) => `project:${p}`)].join(' '),
    audience: indicator,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
}

// ---------------------------------------------------------------- keys

async function loadOrCreateJwks() {
  if (opt.jwksFile && fs.existsSync(opt.jwksFile)) {
    const jwks = JSON.parse(fs.readFileSync(opt.jwksFile, 'utf8'));
    if (!Array.isArray(jwks.keys) || !jwks.keys.length) die(`${opt.jwksFile}: no keys`, 1);
    return jwks;
  }
  const { privateKey } = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  jwk.kid = randomBytes(8).toString('hex');
  jwk.alg = 'RS256';
  jwk.use = 'sig';
  const jwks = { keys: [jwk] };
  if (opt.jwksFile) {
    const tmp = `${opt.jwksFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(jwks), { mode: 0o600 });
    fs.renameSync(tmp, opt.jwksFile);
  }
  return jwks;
}

// ---------------------------------------------------------------- storage

// In-memory adapter. Unlike the bundled one (an LRU of 1000 that forgets expired records), this
// keeps every record until it expires and device codes (and their user-code index) 10 minutes
// longer, so a poller gets `expired_token` rather than `invalid_grant` for an expired code.
// With --state FILE the whole store (and the device-flow shim's per-code bookkeeping) is written
// to FILE after every change (temp file + rename, so FILE is always a complete old or new state,
// whenever the process is killed) and loaded at start: a provider killed with SIGKILL and
// restarted with the same --port, --jwks-file and --state carries on where it was.
const GRACE_MS = 10 * 60 * 1000;
const store = new Map(); // key -> { value, until (ms since the epoch; undefined = never) }

// The device-flow shim's state: device_code -> { interval (s), last (ms of the previous poll;
// null before the first), issued (ms), pending (authorization_pending answers so far, slow_down
// included) }. RFC 8628 asks for `interval` between polls, so the first poll may come at any time.
const polls = new Map();

const STATE_VERSION = 1;

function persist() {
  if (!opt.stateFile) return;
  const state = {
    version: STATE_VERSION,
    saved: Date.now(),
    store: [...store],
    polls: [...polls],
  };
  const dir = path.dirname(path.resolve(opt.stateFile));
  const tmp = path.join(dir, `.${path.basename(opt.stateFile)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  fs.renameSync(tmp, opt.stateFile);
}

function loadState() {
  const file = opt.stateFile;
  const dir = path.dirname(path.resolve(file));
  // Temp files of a predecessor killed in the middle of a write.
  const prefix = `.${path.basename(file)}.`;
  const stale = (f) => f.startsWith(prefix) && /^\d+\.tmp$/.test(f.slice(prefix.length));
  try {
    for (const f of fs.readdirSync(dir)) if (stale(f)) fs.rmSync(path.join(dir, f), { force: true });
  } catch { /* not fatal */ }
  let state;
  try {
    state = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if (err.code === 'ENOENT') return;
    die(`cannot load state ${file}: ${err.message}`, 1);
  }
  if (!state || state.version !== STATE_VERSION || !Array.isArray(state.store) || !Array.isArray(state.polls)) {
    die(`cannot load state ${file}: not a state file of this idp.js`, 1);
  }
  const now = Date.now();
  for (const [k, e] of state.store) {
    if (e && (e.until === undefined || e.until === null || e.until > now)) {
      store.set(k, { value: e.value, until: e.until ?? undefined });
    }
  }
  for (const [k, v] of state.polls) polls.set(k, v);
}

function sget(key) {
  const e = store.get(key);
  if (!e) return undefined;
  if (e.until !== undefined && e.until <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return e.value;
}
function sset(key, value, ttlSeconds, grace = 0) {
  const until = ttlSeconds ? Date.now() + ttlSeconds * 1000 + grace : undefined;
  store.set(key, { value, until });
}
setInterval(() => {
  const now = Date.now();
  for (const [k, e] of store) if (e.until !== undefined && e.until <= now) store.delete(k);
}, 30000).unref();

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest']);

class MemoryAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const grace = this.model === 'DeviceCode' ? GRACE_MS : 0;
    if (this.model === 'Session') sset(`sessionUid:${payload.uid}`, id, expiresIn);
    const { grantId, userCode } = payload;
    if (GRANTABLE.has(this.model) && grantId) {
      const gk = `grant:${grantId}`;
      const list = sget(gk);
      if (list) list.push(key); else sset(gk, [key], opt.rtTtl + 3600);
    }
    if (userCode) sset(`userCode:${userCode}`, id, expiresIn, grace);
    sset(key, payload, expiresIn, grace);
    persist();
  }

  async find(id) {
    const v = sget(this.key(id));
    // --rt-grace S: a rotated-out refresh token still works for S seconds
    // (the reuse interval Okta and Auth0 offer), so a client that lost the
    // new one can retry with the old one.
    if (v && this.model === 'RefreshToken' && v.consumed && opt.rtGrace
      && Date.now() / 1000 - v.consumed < opt.rtGrace) {
      const { consumed, ...rest } = v; // eslint-disable-line no-unused-vars
      return rest;
    }
    return v;
  }

  async findByUid(uid) {
    const id = sget(`sessionUid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = sget(`userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const v = sget(this.key(id));
    if (v) v.consumed = Math.floor(Date.now() / 1000);
    persist();
  }

  async destroy(id) {
    store.delete(this.key(id));
    persist();
  }

  async revokeByGrantId(grantId) { // eslint-disable-line class-methods-use-this
    const gk = `grant:${grantId}`;
    const list = sget(gk);
    if (list) for (const k of list) store.delete(k);
    store.delete(gk);
    persist();
  }
}

// ---------------------------------------------------------------- token exchange (RFC 8693)

const txProjects = new WeakMap(); // AccessToken -> projects for its `projects` claim

async function extraTokenClaims(ctx, token) {
  const projects = txProjects.get(token);
  return projects ? { projects } : undefined;
}

let issuer;
let provider;
let verifyKeys; // jose local JWKS of our public keys

// A JWT this provider signed (access token from a resource grant, an exchange or /mint):
// checked by signature, issuer and expiry only. Returns the payload or undefined.
async function verifyOwnJwt(token) {
  if (typeof token !== 'string' || token.split('.').length !== 3) return undefined;
  try {
    const { payload } = await jose.jwtVerify(token, verifyKeys, {
      issuer, algorithms: ['RS256'], clockTolerance: 0,
    });
    return typeof payload.sub === 'string' && payload.sub ? payload : undefined;
  } catch {
    return undefined;
  }
}

// A live access token of this provider (opaque, looked up; or a JWT it signed) -> { sub, clientId }.
async function resolveAccessToken(value) {
  if (typeof value !== 'string' || !value) return undefined;
  const at = await provider.AccessToken.find(value);
  if (at && at.isValid && at.accountId) return { sub: at.accountId, clientId: at.clientId, jkt: at.jkt };
  const p = await verifyOwnJwt(value);
  if (p) return { sub: p.sub, clientId: p.client_id, jkt: p.cnf?.jkt };
  return undefined;
}

// Workload identity federation (--federation-issuer, --federation-jwks): a token exchange whose
// subject is a JWT of that CI platform (signature by its JWKS, iss, aud = our issuer, exp), with
// no resource or audience, gets a user-level access token (opaque, like a login's) for the user
// the CI token names: its `actor` claim, else its `sub`. Returns undefined when it is not one.
let federationKeys;
async function federatedSubject(token) {
  if (!federationKeys || typeof token !== 'string' || token.split('.').length !== 3) return undefined;
  try {
    const { payload } = await jose.jwtVerify(token, federationKeys, {
      issuer: opt.federationIssuer, audience: issuer, algorithms: ['RS256'], clockTolerance: 0,
    });
    const user = typeof payload.actor === 'string' && payload.actor ? payload.actor : payload.sub;
    return typeof user === 'string' && user ? user : undefined;
  } catch {
    return undefined;
  }
}

async function federatedExchange(ctx, next, user) {
  const { client } = ctx.oidc;
  const account = await findAccount(ctx, user);
  ctx.oidc.entity('Account', account);
  // A grant of its own, so that userinfo (and introspection) accept the token like a login's.
  const grant = new provider.Grant({ accountId: user, clientId: client.clientId });
  grant.addOIDCScope('openid profile email');
  const grantId = await grant.save();
  const at = new provider.AccessToken({
    accountId: user,
    client,
    grantId,
    gty: 'token_exchange',
    scope: 'openid profile email',
    expiresIn: opt.atTtl,
  });
  ctx.oidc.entity('AccessToken', at);
  const value = await at.save();
  ctx.state.mint = { federated: user };
  ctx.body = {
    access_token: value,
    issued_token_type: TT.access_token,
    token_type: 'Bearer',
    expires_in: opt.atTtl,
    scope: at.scope,
  };
  await next();
}

const badSubject = () => new errors.InvalidRequest('subject_token is invalid, expired or revoked');

// Holding token exchanges (tests of a mint that is in flight while something else happens):
// POST /test/hold-exchange makes every token-exchange request that arrives from then on wait,
// before it is looked at, until POST /test/release-exchange (which also stops holding);
// GET /test/held-exchange says how many wait. --exchange-delay-ms N delays each one by N ms.
// Only token exchanges: the device flow, refreshes and everything else are never held.
const exchangeHold = { on: false, waiting: [] };

function releaseExchanges() {
  exchangeHold.on = false;
  const waiting = exchangeHold.waiting.splice(0);
  for (const release of waiting) release();
  return waiting.length;
}

async function exchangeGate() {
  if (opt.exchangeDelayMs) await new Promise((resolve) => { setTimeout(resolve, opt.exchangeDelayMs); });
  if (exchangeHold.on) await new Promise((resolve) => { exchangeHold.waiting.push(resolve); });
}

async function tokenExchangeHandler(ctx, next) {
  await exchangeGate();
  const { params, client } = ctx.oidc;
  if (!params.subject_token) {
    throw new errors.InvalidRequest("missing required parameter 'subject_token'");
  }
  if (!params.subject_token_type) {
    throw new errors.InvalidRequest("missing required parameter 'subject_token_type'");
  }
  if (params.actor_token || params.actor_token_type) {
    throw new errors.InvalidRequest('actor_token is not supported');
  }
  const requested = params.requested_token_type || TT.access_token;
  if (requested !== TT.access_token && requested !== TT.jwt) {
    throw new errors.InvalidRequest('unsupported requested_token_type');
  }

  // A CI platform's token, with no target: the user-level token of workload identity.
  if ((params.subject_token_type === TT.jwt || params.subject_token_type === TT.id_token)
    && !params.resource && !params.audience && federationKeys) {
    const user = await federatedSubject(params.subject_token);
    if (!user) throw badSubject();
    return federatedExchange(ctx, next, user);
  }

  // The subject.
  let subject;
  switch (params.subject_token_type) {
    case TT.access_token:
      subject = await resolveAccessToken(params.subject_token);
      break;
    case TT.jwt: {
      const p = await verifyOwnJwt(params.subject_token);
      if (p) subject = { sub: p.sub, clientId: p.client_id };
      break;
    }
    case TT.refresh_token: {
      const rt = await provider.RefreshToken.find(params.subject_token);
      if (rt && rt.isValid && !rt.consumed && rt.accountId) {
        const grant = await provider.Grant.find(rt.grantId);
        if (grant) subject = { sub: rt.accountId, clientId: rt.clientId };
      }
      break;
    }
    default:
      throw new errors.InvalidRequest('unsupported subject_token_type');
  }
  if (!subject || subject.clientId !== client.clientId) throw badSubject();
  // DPoP: a subject token bound to a key is exchanged only with a proof of that key, and the
  // new token is bound to it too.
  const dPoP = await dpopValidate(ctx);
  if (subject.jkt && (!dPoP || dPoP.thumbprint !== subject.jkt)) {
    throw new errors.InvalidGrant('the subject token is DPoP-bound: the proof must use its key');
  }

  // The target: exactly one configured resource server, as resource= or audience=.
  const targets = [...new Set([...scopeList(params.resource), ...scopeList(params.audience)])];
  if (!targets.length) throw new errors.InvalidTarget('resource or audience is required');
  if (targets.length > 1) throw new errors.InvalidTarget('only one resource or audience may be requested');
  const [target] = targets;
  if (!RESOURCES.has(target)) throw new errors.InvalidTarget(`unknown resource/audience ${target}`);

  // The scope: at least one project:<id> of the user's, plus optionally tb:read / tb:write.
  const scopes = [...new Set(scopeList(params.scope))];
  const member = new Set(projectsOf(subject.sub));
  const projects = [];
  const refused = [];
  for (const s of scopes) {
    const m = PROJECT_RE.exec(s);
    if (m) {
      if (member.has(m[1])) projects.push(m[1]); else refused.push(s);
    } else if (!RS_BASE_SCOPES.includes(s)) {
      refused.push(s);
    }
  }
  if (refused.length) throw new errors.InvalidScope('requested scope is not allowed', refused.join(' '));
  if (!projects.length) throw new errors.InvalidScope('scope must include at least one project:<id>');

  const account = await findAccount(ctx, subject.sub);
  ctx.oidc.entity('Account', account);
  const at = new provider.AccessToken({
    accountId: subject.sub,
    client,
    gty: 'token_exchange',
    scope: scopes.join(' '),
    expiresIn: opt.exchangeTtl,
  });
  at.resourceServer = new provider.ResourceServer(target, await getResourceServerInfo(ctx, target));
  if (dPoP) at.setThumbprint('jkt', dPoP.thumbprint);
  txProjects.set(at, projects);
  ctx.oidc.entity('AccessToken', at);
  const value = await at.save();

  ctx.body = {
    access_token: value,
    issued_token_type: requested,
    token_type: dPoP ? 'DPoP' : 'Bearer',
    expires_in: opt.exchangeTtl,
    scope: at.scope,
  };
  await next();
}

// ---------------------------------------------------------------- JWT-bearer grant (RFC 7523)

// grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT[&scope=...]: the assertion
// must be signed by --assertion-key (RS*/ES*), iss = the client, sub = the account, aud = the
// token endpoint or the issuer, exp within 5 minutes, a jti never seen before. The reply: an
// opaque access token (with a grant, so userinfo answers) and no refresh token: the client
// asserts again when it needs a new one.
async function jwtBearerHandler(ctx, next) {
  const { params, client } = ctx.oidc;
  if (!params.assertion) throw new errors.InvalidRequest("missing required parameter 'assertion'");
  let payload;
  try {
    ({ payload } = await jose.jwtVerify(params.assertion, assertionKey, {
      issuer: client.clientId,
      audience: [`${issuer}/token`, issuer],
      algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'],
      requiredClaims: ['exp', 'sub', 'jti'],
      clockTolerance: 5,
    }));
  } catch (err) {
    ctx.state.assertionError = err.message;
    throw new errors.InvalidGrant(`assertion refused: ${err.message}`);
  }
  const now = Math.floor(Date.now() / 1000);
  if (payload.exp - now > 300) {
    ctx.state.assertionError = 'exp more than 5 minutes ahead';
    throw new errors.InvalidGrant('assertion lifetime too long');
  }
  if (!await provider.ReplayDetection.unique(client.clientId, payload.jti, payload.exp + 5)) {
    ctx.state.assertionError = 'jti replayed';
    throw new errors.InvalidGrant('assertion replayed');
  }
  const sub = String(payload.sub);
  const scopes = [...new Set(scopeList(params.scope))]
    .filter((x) => ['openid', 'profile', 'email', 'projects'].includes(x));
  const grant = new provider.Grant({ accountId: sub, clientId: client.clientId });
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  const grantId = await grant.save();
  ctx.oidc.entity('Grant', grant);
  ctx.oidc.entity('Account', await findAccount(ctx, sub));
  const at = new provider.AccessToken({
    accountId: sub, client, grantId, gty: 'jwt_bearer', scope: scopes.join(' ') || undefined,
  });
  ctx.oidc.entity('AccessToken', at);
  const value = await at.save();
  ctx.state.assertionSub = sub;
  ctx.body = {
    access_token: value, token_type: 'Bearer', expires_in: opt.atTtl, scope: at.scope,
  };
  await next();
}

// ---------------------------------------------------------------- mint endpoint

let signKey;
let signKid;

// The DPoP proof of a /mint request: ES256 or RS256 over the embedded key, whose thumbprint is the
// token's jkt, for POST to this URL, with the token's ath, made in the last five minutes.
async function mintProofOk(ctx, token, jkt) {
  const proof = ctx.get('DPoP');
  if (!proof) return false;
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(proof, jose.EmbeddedJWK, {
      typ: 'dpop+jwt', algorithms: ['ES256', 'RS256'],
    });
    const ath = createHash('sha256').update(token).digest('base64url');
    return await jose.calculateJwkThumbprint(protectedHeader.jwk) === jkt
      && payload.htm === 'POST' && payload.htu === `${issuer}${ctx.path}`
      && payload.ath === ath && Math.abs(Date.now() / 1000 - payload.iat) < 300;
  } catch {
    return false;
  }
}

async function mint(ctx) {
  ctx.set('Cache-Control', 'no-store');
  const auth = ctx.get('authorization');
  const m = /^(Bearer|DPoP) +([^ ]+) *$/i.exec(auth || '');
  let who = m ? await resolveAccessToken(m[2]) : undefined;
  // A DPoP-bound token (RFC 9449 7) only as "DPoP" with a proof of its key for this request.
  if (who && (who.jkt || m[1].toLowerCase() === 'dpop')) {
    if (!who.jkt || m[1].toLowerCase() !== 'dpop' || !(await mintProofOk(ctx, m[2], who.jkt))) who = undefined;
  }
  if (!who) {
    ctx.status = 401;
    ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
    ctx.body = { error: 'invalid_token', error_description: 'invalid, expired or revoked access token' };
    return;
  }
  let body;
  try {
    if (!ctx.is('application/json')) throw new Error('content-type must be application/json');
    const raw = await readBody(ctx.req, 65536);
    body = JSON.parse(raw);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('body must be a JSON object');
    for (const k of ['audience', 'project']) {
      if (typeof body[k] !== 'string' || !body[k]) throw new Error(`"${k}" must be a non-empty string`);
    }
    if (body.purpose !== undefined && body.purpose !== null && typeof body.purpose !== 'string') {
      throw new Error('"purpose" must be a string');
    }
  } catch (err) {
    ctx.status = 400;
    ctx.body = { error: 'invalid_request', error_description: err.message };
    return;
  }
  ctx.state.mint = { client_id: who.clientId, audience: body.audience, project: body.project };
  if (typeof body.purpose === 'string') ctx.state.mint.purpose = body.purpose;
  if (!RESOURCES.has(body.audience)) {
    ctx.status = 400;
    ctx.body = { error: 'invalid_target', error_description: `unknown audience ${body.audience}` };
    return;
  }
  if (!projectsOf(who.sub).includes(body.project)) {
    ctx.status = 403;
    ctx.body = {
      error: 'access_denied',
      error_description: `${who.sub} is not a member of project ${body.project}`,
    };
    return;
  }
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: who.sub,
    scope: `project:${body.project}`,
    projects: [body.project],
    client_id: who.clientId,
  };
  if (body.purpose) claims.purpose = body.purpose;
  const token = await new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: signKid })
    .setIssuer(issuer)
    .setAudience(body.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + opt.exchangeTtl)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(signKey);
  ctx.status = 200;
  ctx.body = { token, expires_in: opt.exchangeTtl };
}

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n > limit) { reject(new Error('body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------- request log

let logFd = null;
function logLine(obj) {
  if (logFd === null) return;
  try {
    fs.writeSync(logFd, `${JSON.stringify(obj)}\n`);
  } catch (err) {
    process.stderr.write(`idp: request log: ${err.message}\n`);
  }
}

const one = (v) => (Array.isArray(v) && v.length === 1 ? v[0] : v);

// ---------------------------------------------------------------- device-flow shim state

// `polls` (above, with the store) is the per-code bookkeeping; forget codes long expired.
setInterval(() => {
  const cutoff = Date.now() - (opt.deviceTtl * 1000 + GRACE_MS);
  for (const [k, v] of polls) if (v.issued < cutoff) polls.delete(k);
}, 30000).unref();

// ---------------------------------------------------------------- main

async function main() {
  if (opt.stateFile) loadState();
  if (opt.log) {
    try {
      logFd = fs.openSync(opt.log, 'a');
    } catch (err) {
      die(`cannot open log ${opt.log}: ${err.message}`, 1);
    }
  }

  // Listen first: the issuer needs the real port (with --port 0).
  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opt.port, opt.host, resolve);
  }).catch((err) => die(`cannot listen on ${opt.host}:${opt.port}: ${err.message}`, 1));
  const { port } = server.address();
  const hostPart = opt.host.includes(':') ? `[${opt.host}]` : opt.host;
  issuer = `http://${hostPart}:${port}`;

  const jwks = await loadOrCreateJwks();
  const priv = jwks.keys.find((k) => k.kty === 'RSA' && (!k.alg || k.alg === 'RS256')) ?? jwks.keys[0];
  signKid = priv.kid;
  signKey = await jose.importJWK({ ...priv, alg: 'RS256' }, 'RS256');
  verifyKeys = jose.createLocalJWKSet({
    keys: jwks.keys.map(({
      d, p, q, dp, dq, qi, ...pub // eslint-disable-line no-unused-vars
    }) => pub),
  });

  if (opt.federationIssuer || opt.federationJwks) {
    if (!opt.federationIssuer || !opt.federationJwks) die('--federation-issuer and --federation-jwks go together');
    federationKeys = jose.createLocalJWKSet(JSON.parse(fs.readFileSync(opt.federationJwks, 'utf8')));
  }

  const AT_TTL = opt.atTtl;
  const configuration = {
    adapter: MemoryAdapter,
    clients,
    jwks,
    findAccount,
    cookies: { keys: ['test-cookie-key-not-secret'] },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'projects'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      projects: ['projects'],
    },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true, charset: 'base-20', mask: '****-****' },
      revocation: { enabled: true },
      introspection: { enabled: true },
      registration: { enabled: true },
      userinfo: { enabled: true },
      dPoP: {
        enabled: opt.dpop,
        nonceSecret: randomBytes(32),
        requireNonce: () => opt.dpopNonce,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => oneOf,
        useGrantedResource: async () => false,
        getResourceServerInfo,
      },
    },
    ttl: {
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? AT_TTL,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      DeviceCode: opt.deviceTtl,
      Grant: opt.rtTtl,
      IdToken: 3600,
      Interaction: 3600,
      RefreshToken: opt.rtTtl,
      Session: opt.rtTtl,
    },
    extraTokenClaims,
  };
  if (!opt.rotate) configuration.rotateRefreshToken = false;

  provider = new Provider(issuer, configuration);
  provider.proxy = false;

  if (assertionKey) {
    provider.registerGrantType(JWT_BEARER_GRANT, jwtBearerHandler, ['assertion', 'scope']);
  }

  if (opt.tokenExchange) {
    provider.registerGrantType(TX_GRANT, tokenExchangeHandler,
      ['audience', 'resource', 'scope', 'requested_token_type', 'subject_token', 'subject_token_type',
        'actor_token', 'actor_token_type'], ['audience', 'resource']);
  }

  // oidc-provider 8.8.1 rotates (consumes) the refresh token before it checks `resource`, so a
  // refresh asking for an ungranted resource answered invalid_target AND lost the refresh token.
  // Check the resource first, so that error leaves the refresh token usable.
  provider.registerGrantType('refresh_token', async (ctx, next) => {
    const { resource, refresh_token: value } = ctx.oidc.params;
    if (resource !== undefined && typeof value === 'string') {
      const rt = await provider.RefreshToken.find(value);
      if (rt && rt.isValid && !rt.consumed && rt.clientId === ctx.oidc.client.clientId) {
        const list = Array.isArray(resource) ? resource : [resource];
        if (list.length !== 1) {
          throw new errors.InvalidTarget('only a single resource indicator value must be requested/resolved during Access Token Request');
        }
        if (!rt.resourceIndicators.has(list[0])) throw new errors.InvalidTarget();
      }
    }
    await refreshTokenHandler(ctx, next);
    // --refresh-delay-ms: the refresh token is rotated (the old one is
    // retired) and the reply then waits, so a client stopped meanwhile
    // holds only a retired token unless it finishes the request.
    if (opt.refreshDelayMs) await new Promise((resolve) => { setTimeout(resolve, opt.refreshDelayMs); });
  }, [...refreshTokenParameters, 'resource'], ['resource']);

  if (opt.canary) {
    // Every opaque access token, refresh token and device code value starts with the canary.
    for (const Model of [provider.AccessToken, provider.RefreshToken, provider.DeviceCode]) {
      const orig = Model.prototype.generateTokenId;
      Model.prototype.generateTokenId = function canaryTokenId(...args) {
        const id = orig.apply(this, args);
        return (this.format === undefined || this.format === 'opaque') ? `${opt.canary}${id}` : id;
      };
    }
  }

  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`idp: server_error on ${ctx.method} ${ctx.path}: ${err.stack || err}\n`);
  });

  // Outermost: the request log (one line per request, written before the response goes out).
  provider.use(async (ctx, next) => {
    const t = performance.timeOrigin + performance.now();
    const method = ctx.method;
    const reqPath = ctx.path;
    try {
      await next();
    } finally {
      if (logFd !== null) {
        const line = { t: Math.round(t * 1000) / 1000, method, path: reqPath };
        const form = ctx.oidc?.body && typeof ctx.oidc.body === 'object' ? ctx.oidc.body : {};
        if (typeof form.grant_type === 'string') line.grant_type = form.grant_type;
        const clientId = ctx.oidc?.entities?.Client?.clientId
          ?? (typeof form.client_id === 'string' ? form.client_id : undefined);
        if (clientId) line.client_id = clientId;
        // The client authentication method that succeeded (the registered one, which
        // oidc-provider enforces), and whether the form carried a client assertion.
        if (typeof form.client_assertion_type === 'string') line.client_assertion = true;
        const authed = ctx.oidc?.entities?.Client;
        if (authed && ctx.status < 400) line.client_auth = authed.clientAuthMethod;
        if (ctx.state.assertionSub) line.assertion_sub = ctx.state.assertionSub;
        if (ctx.state.assertionError) line.assertion_error = ctx.state.assertionError;
        line.status = ctx.status;
        if (ctx.status >= 400 && ctx.body && typeof ctx.body === 'object' && typeof ctx.body.error === 'string') {
          line.error = ctx.body.error;
        }
        for (const k of ['resource', 'audience', 'scope', 'subject_token_type', 'requested_token_type', 'token_type_hint']) {
          if (form[k] !== undefined) line[k] = one(form[k]);
        }
        // The authorization request (a browser login): its PKCE method and redirect_uri.
        if (reqPath === '/auth') {
          const p = ctx.oidc?.params ?? {};
          for (const k of ['response_type', 'code_challenge_method', 'redirect_uri', 'prompt']) {
            if (typeof p[k] === 'string') line[k] = p[k];
          }
        }
        // DPoP: whether the request carried a proof, and the type of the token issued.
        if (ctx.get('DPoP')) line.dpop = true;
        if (ctx.status === 200 && ctx.body && typeof ctx.body === 'object'
            && typeof ctx.body.token_type === 'string') line.token_type = ctx.body.token_type;
        if (ctx.state.mint) Object.assign(line, ctx.state.mint);
        if (ctx.state.slowDownInterval) line.interval = ctx.state.slowDownInterval;
        line.ms = Math.round((performance.timeOrigin + performance.now() - t) * 10) / 10;
        logLine(line);
      }
    }
  });

  // --code-delay-ms: an authorization code is redeemed, then the reply waits (a client's
  // redirect listener stays open meanwhile).
  provider.use(async (ctx, next) => {
    await next();
    if (opt.codeDelayMs && ctx.path === '/token'
      && ctx.oidc?.params?.grant_type === 'authorization_code') {
      await new Promise((resolve) => { setTimeout(resolve, opt.codeDelayMs); });
    }
  });

  // Test helpers, the mint endpoint, the RFC 8414 discovery path.
  provider.use(async (ctx, next) => {
    if (ctx.path === '/test/health' && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      ctx.type = 'text/plain';
      ctx.body = 'ok';
      return;
    }
    if (ctx.path === '/test/hold-exchange' && ctx.method === 'POST') {
      exchangeHold.on = true;
      ctx.type = 'application/json';
      ctx.body = { holding: true, held: exchangeHold.waiting.length };
      return;
    }
    if (ctx.path === '/test/release-exchange' && ctx.method === 'POST') {
      const released = releaseExchanges();
      ctx.type = 'application/json';
      ctx.body = { holding: false, released };
      return;
    }
    // The verification URIs of the next device authorization replies, as templates
    // (see --verification-uri); a parameter left out goes back to the provider's own.
    if (ctx.path === '/test/verification-uri' && ctx.method === 'POST') {
      const q = (k) => (typeof ctx.query[k] === 'string' ? ctx.query[k] : null);
      verificationUris.plain = q('verification_uri');
      verificationUris.complete = q('verification_uri_complete');
      ctx.type = 'application/json';
      ctx.body = { verification_uri: verificationUris.plain,
        verification_uri_complete: verificationUris.complete };
      return;
    }
    if (ctx.path === '/test/held-exchange' && ctx.method === 'GET') {
      ctx.type = 'application/json';
      ctx.body = { holding: exchangeHold.on, held: exchangeHold.waiting.length };
      return;
    }
    // Diagnostics for a refused approval: what this provider knows of a user code.
    if (ctx.path === '/test/user-code' && ctx.method === 'GET') {
      const raw = String(ctx.query.code ?? '');
      const norm = raw.replace(/[^a-zA-Z]/g, '').toUpperCase();
      const id = sget(`userCode:${norm}`);
      const dc = id === undefined ? undefined : sget(`DeviceCode:${id}`);
      const now = Math.floor(Date.now() / 1000);
      ctx.type = 'application/json';
      ctx.body = dc === undefined ? { code: raw, normalized: norm, found: false, known_codes: [...store.keys()].filter((k) => k.startsWith('userCode:')).length } : {
        code: raw, normalized: norm, found: true, expired: typeof dc.exp === 'number' && dc.exp <= now,
        in_flight: !!dc.inFlight, account: dc.accountId ?? null, error: dc.error ?? null, age_s: now - (dc.iat ?? now),
      };
      return;
    }
    if (ctx.path === '/mint' || ctx.path.startsWith('/mint/')) {
      if (ctx.method !== 'POST') {
        ctx.status = 405;
        ctx.set('Allow', 'POST');
        ctx.body = { error: 'invalid_request', error_description: 'use POST' };
        return;
      }
      await mint(ctx);
      return;
    }
    if (ctx.path === '/.well-known/oauth-authorization-server') {
      ctx.path = '/.well-known/openid-configuration';
    }
    await next();
  });

  // The device-flow shim: `interval` at /device/auth, `slow_down` for polls that come too soon.
  provider.use(async (ctx, next) => {
    const arrival = Date.now();
    await next();
    if (ctx.method !== 'POST') return;
    // A client not registered for the device grant: oidc-provider says invalid_request ("... is
    // not allowed for this client"); RFC 6749 5.2 names it unauthorized_client, as Okta, Auth0
    // and Entra do.
    if (ctx.path === '/device/auth' && ctx.status === 400 && ctx.body?.error === 'invalid_request'
      && /is not allowed for this client/.test(ctx.body.error_description ?? '')) {
      ctx.body.error = 'unauthorized_client';
    }
    if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object'
      && typeof ctx.body.device_code === 'string') {
      ctx.body.interval = opt.interval;
      // Tests of the phishing warning: the page claims another host
      // (--verification-host: both URIs; --complete-host: only the one
      // with the code in it, which is the one a browser opens).
      const moves = [['verification_uri', opt.verificationHost],
        ['verification_uri_complete', opt.completeHost ?? opt.verificationHost]];
      for (const [k, host] of moves) {
        if (host && typeof ctx.body[k] === 'string') {
          const u = new URL(ctx.body[k]);
          u.hostname = host;
          ctx.body[k] = u.toString();
        }
      }
      // --verification-uri / --complete-uri (or POST /test/verification-uri):
      // the URIs replaced as they are, tricks included (tests of authd's checks).
      const expand = (t) => t.replaceAll('{issuer}', issuer)
        .replaceAll('{port}', new URL(issuer).port)
        .replaceAll('{user_code}', String(ctx.body.user_code));
      if (verificationUris.plain !== null) {
        ctx.body.verification_uri = expand(verificationUris.plain);
        ctx.body.verification_uri_complete = `${ctx.body.verification_uri}?user_code=${
          encodeURIComponent(String(ctx.body.user_code))}`;
      }
      if (verificationUris.complete === '-') {
        delete ctx.body.verification_uri_complete;
      } else if (verificationUris.complete !== null) {
        ctx.body.verification_uri_complete = expand(verificationUris.complete);
      }
      // --complete-suffix: text appended as is (shell metacharacters, say).
      if (opt.completeSuffix && typeof ctx.body.verification_uri_complete === 'string') {
        ctx.body.verification_uri_complete += opt.completeSuffix;
      }
      polls.set(ctx.body.device_code, {
        interval: opt.interval, last: null, issued: arrival, pending: 0,
      });
      persist();
      return;
    }
    if (ctx.path === '/token' && ctx.oidc?.params?.grant_type === DEVICE_GRANT) {
      const code = ctx.oidc.params.device_code;
      const st = typeof code === 'string' ? polls.get(code) : undefined;
      if (!st) return;
      const tooSoon = st.last !== null && arrival - st.last < st.interval * 1000 - 50;
      st.last = arrival;
      let slowDown = false;
      if (ctx.status === 400 && ctx.body?.error === 'authorization_pending') {
        st.pending = (st.pending ?? 0) + 1;
        // --slow-down N: the first N pending answers are slow_down whatever the timing.
        slowDown = tooSoon || st.pending <= opt.slowDown;
      }
      if (slowDown) st.interval += 5;
      persist();
      if (slowDown) {
        ctx.state.slowDownInterval = st.interval;
        ctx.body = {
          error: 'slow_down',
          error_description: `you are polling too quickly; poll at most every ${st.interval} seconds`,
        };
      }
    }
  });

  const handle = provider.callback();
  server.on('request', opt.clockOffset ? (req, res) => {
    res.setHeader('Date', new Date(Date.now() + opt.clockOffset * 1000).toUTCString());
    handle(req, res);
  } : handle);

  const ready = JSON.stringify({ issuer, port, pid: process.pid });
  if (opt.readyFile) {
    const dir = path.dirname(path.resolve(opt.readyFile));
    const tmp = path.join(dir, `.${path.basename(opt.readyFile)}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, `${ready}\n`);
    fs.renameSync(tmp, opt.readyFile);
  }
  try { process.stdout.write(`${ready}\n`); } catch { /* stdout closed */ }

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    releaseExchanges();
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

process.stdout.on('error', () => {});
process.on('unhandledRejection', (err) => {
  process.stderr.write(`idp: ${err?.stack || err}\n`);
  process.exit(1);
});

main().catch((err) => {
  process.stderr.write(`idp: ${err?.stack || err}\n`);
  process.exit(1);
});
