#!/usr/bin/env node
// A CI platform's OIDC token service, for tests of authd's workload identity (grant = federated):
// it answers the way GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL does. Test use only.
//
//   node ci-platform.js --jwks-out FILE --ready-file FILE [--log FILE] [--ttl S] [--actor NAME]
//
// GET /token?...&audience=AUD with "Authorization: Bearer REQUEST_TOKEN" answers
// {"count": N, "value": JWT}: an RS256 JWT signed with a key generated at start, with iss (this
// server's URL), sub "repo:example/app:ref:refs/heads/main", actor (--actor, default alice), aud
// (the audience asked for), iat, exp (now + --ttl, default 300) and a fresh jti. The public key
// goes to --jwks-out, for the test provider's --federation-jwks. The ready file is JSON:
// {"url", "issuer", "request_token"} (the request token is random; it is what a CI runner puts in
// ACTIONS_ID_TOKEN_REQUEST_TOKEN). Every issued token is logged as a JSON line {t, jti, aud, exp}
// to --log. A wrong or missing request token: 401; another path: 404.

import * as fs from 'node:fs';
import * as http from 'node:http';
import { randomBytes } from 'node:crypto';

import * as jose from 'jose';

const o = { jwksOut: null, ready: null, log: null, ttl: 300, actor: 'alice' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 1) {
  const v = () => { i += 1; if (i >= argv.length) die(`${argv[i - 1]} needs a value`); return argv[i]; };
  switch (argv[i]) {
    case '--jwks-out': o.jwksOut = v(); break;
    case '--ready-file': o.ready = v(); break;
    case '--log': o.log = v(); break;
    case '--ttl': o.ttl = Number(v()); if (!Number.isInteger(o.ttl) || o.ttl < 1) die('--ttl needs an integer >= 1'); break;
    case '--actor': o.actor = v(); break;
    default: die(`unknown argument ${argv[i]}`);
  }
}
if (!o.jwksOut || !o.ready) die('--jwks-out and --ready-file are required');

function die(msg) {
  process.stderr.write(`ci-platform: ${msg}\n`);
  process.exit(2);
}

const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { modulusLength: 2048 });
const kid = randomBytes(8).toString('hex');
const pub = { ...(await jose.exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
fs.writeFileSync(o.jwksOut, JSON.stringify({ keys: [pub] }));
const requestToken = randomBytes(24).toString('base64url');
let count = 0;
let url;

const server = http.createServer(async (req, res) => {
  const send = (status, body) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const u = new URL(req.url, url);
  if (req.method !== 'GET' || u.pathname !== '/token') return send(404, { message: 'not found' });
  if (req.headers.authorization !== `Bearer ${requestToken}`) return send(401, { message: 'bad request token' });
  const aud = u.searchParams.get('audience') || url;
  const now = Math.floor(Date.now() / 1000);
  const jti = randomBytes(12).toString('base64url');
  const value = await new jose.SignJWT({ actor: o.actor, repository: 'example/app' })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
    .setIssuer(url)
    .setSubject('repo:example/app:ref:refs/heads/main')
    .setAudience(aud)
    .setIssuedAt(now)
    .setExpirationTime(now + o.ttl)
    .setJti(jti)
    .sign(privateKey);
  count += 1;
  if (o.log) fs.appendFileSync(o.log, `${JSON.stringify({ t: Date.now(), jti, aud, exp: now + o.ttl })}\n`);
  return send(200, { count, value });
});
server.listen(0, '127.0.0.1', () => {
  url = `http://127.0.0.1:${server.address().port}`;
  const tmp = `${o.ready}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ url, issuer: url, request_token: requestToken }));
  fs.renameSync(tmp, o.ready);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
