"""DPoP (RFC 9449) against the test provider: tokens bound to authd's key,
tb proof for callers, a copied refresh token useless without the key, the
nonce dance, dpop = required without provider support, and the key and
proofs kept out of every output. Run one with: python3 test_dpop.py NAME."""
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.parse
import urllib.request

from harness import AUTHD, IdP, Login, TB, check, need, run, wait_for

API = "https://api.tb.test"
TX = "urn:ietf:params:oauth:grant-type:token-exchange"
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


def config(env, idp, dpop="auto", store="file", extra=""):
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("store = %s\n%s\n[profile default]\nissuer = %s\n"
                "client_id = tb-cli\naudience = %s\ndpop = %s\n" %
                (store, extra, idp.issuer, API, dpop))


def login(env, idp, expect=0):
    lg = Login(env, "--no-browser")
    if expect != 0:
        rc, _, err = lg.wait()
        check(rc == expect, "tb login exit %d (not %d): %s" % (rc, expect,
                                                               err))
        return err
    uri, code = lg.code()
    idp.approve(uri, code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "tb login exit %d: %s" % (rc, err))
    return err


def tb_json(env, *args):
    r = env.tb("--json", *args)
    check(r.returncode == 0, "tb %s: exit %d: %s" % (" ".join(args),
                                                     r.returncode, r.stderr))
    return json.loads(r.stdout)


def proof(env, method, url, *args):
    r = env.tb("proof", "--method", method, "--url", url, *args)
    check(r.returncode == 0, "tb proof: exit %d: %s" % (r.returncode,
                                                        r.stderr))
    p = r.stdout.rstrip("\n")
    check(r.stdout == p + "\n" and p.count(".") == 2, "not one proof: %r"
          % r.stdout[:80])
    return p


def b64json(seg):
    return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))


def get(url, headers):
    """GET url: (status, body, headers)."""
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers


def post_form(url, form):
    """POST a form without any DPoP header: (status, json)."""
    data = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(url, data=data, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def record(env):
    with open(os.path.join(env.home, ".state", "authd", "default.json")) as f:
        return json.load(f)


def bound_userinfo(env):
    """A DPoP-bound login: every token request carried a proof; the token
    is DPoP in token, status and list; the provider's userinfo takes it
    with a proof from tb proof (the curl line of tb(1) too) and refuses it
    without one, as a bearer token, or with a proof for another URL."""
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    env.start()
    login(env, idp)
    dev = idp.entries("/device/auth")
    polls = idp.polls()
    check(dev and all(e.get("dpop") for e in dev), "device authorization "
          "without a proof: %s" % dev)
    check(polls and all(e.get("dpop") for e in polls), "a poll without a "
          "proof: %s" % polls)
    check(polls[-1].get("token_type") == "DPoP", polls[-1])
    st = tb_json(env, "status")
    check(st["token_type"] == "DPoP" and len(st["dpop_jkt"]) == 43, st)
    r = env.tb("status")
    check("DPoP (bound to key %s" % st["dpop_jkt"] in r.stdout, r.stdout)
    tok = tb_json(env, "token")
    check(tok["token_type"] == "DPoP", tok)
    t = tok["token"]
    me = idp.issuer + "/me"
    p = proof(env, "GET", me + "?x=1#frag")
    head, claims = b64json(p.split(".")[0]), b64json(p.split(".")[1])
    check(head["typ"] == "dpop+jwt" and head["alg"] == "ES256" and
          set(head["jwk"]) == {"kty", "crv", "x", "y"}, head)
    check(claims["htm"] == "GET" and claims["htu"] == me and
          claims["ath"] and claims["jti"] and claims["iat"], claims)
    status, body, _ = get(me, {"Authorization": "DPoP " + t, "DPoP": p})
    check(status == 200 and json.loads(body)["sub"] == "alice",
          "userinfo with a proof: %d %s" % (status, body))
    # Refused without the proof, as a bearer token, with a proof for
    # another URL or method.
    status, _, _ = get(me, {"Authorization": "DPoP " + t})
    check(status in (400, 401), "no proof: %d" % status)
    status, _, _ = get(me, {"Authorization": "Bearer " + t})
    check(status == 401, "as a bearer token: %d" % status)
    status, _, _ = get(me, {"Authorization": "DPoP " + t,
                            "DPoP": proof(env, "GET", idp.issuer + "/x")})
    check(status in (400, 401), "another URL: %d" % status)
    status, _, _ = get(me, {"Authorization": "DPoP " + t,
                            "DPoP": proof(env, "POST", me)})
    check(status in (400, 401), "another method: %d" % status)
    # The command of tb(1), with curl.
    if shutil.which("curl"):
        sh = ('curl -sf -H "Authorization: DPoP $(tb token)" '
              '-H "DPoP: $(tb proof --method GET --url "$U")" "$U"')
        e = dict(env.env, U=me)
        e["PATH"] = os.path.dirname(TB) + ":" + env.env["PATH"]
        r = subprocess.run(["sh", "-c", sh], env=e, capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0 and json.loads(r.stdout)["sub"] == "alice",
              "curl: %d %s %s" % (r.returncode, r.stdout, r.stderr))
    # libauthd-client: the token and a proof for it, from one program.
    prog = os.path.join(os.environ["AUTHD_BUILD_DIR"], "tests",
                        "client_example")
    r = subprocess.run([prog], env=dict(env.env, AUTHD_SOCK=env.sock,
                                        EXAMPLE_PROOF_URL=me),
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, r.stderr)
    ctok, cproof = r.stdout.split("\n")[:2]
    status, body, _ = get(me, {"Authorization": "DPoP " + ctok,
                               "DPoP": cproof})
    check(status == 200, "libauthd-client's proof: %d %s" % (status, body))
    # status --check: userinfo with a proof.
    st = tb_json(env, "status", "--check")
    check(st.get("check") == "ok", st)
    # A project token by token exchange, with a proof: bound to the same
    # key (cnf.jkt), DPoP in token and list; its proof carries its ath.
    pt = tb_json(env, "token", "--project", "prj_123")
    check(pt["token_type"] == "DPoP", pt)
    check(b64json(pt["token"].split(".")[1])["cnf"]["jkt"] ==
          st["dpop_jkt"], "the exchanged token is not bound to the key")
    tx = [e for e in idp.entries("/token", TX) if e["status"] == 200]
    check(tx and tx[-1].get("dpop") and tx[-1]["token_type"] == "DPoP", tx)
    lst = tb_json(env, "list")
    check(lst["tokens"][0]["token_type"] == "DPoP", lst)
    r = env.tb("list")
    check(r.returncode == 0 and re.search(r"\bDPoP\s*$", r.stdout, re.M),
          r.stdout)
    pp = proof(env, "POST", API + "/v1/things", "--project", "prj_123")
    ath = base64.urlsafe_b64encode(hashlib.sha256(
        pt["token"].encode()).digest()).decode().rstrip("=")
    check(b64json(pp.split(".")[1])["ath"] == ath, "ath of the project "
          "token")
    check(b64json(p.split(".")[1])["ath"] != ath, "same ath")


def narrowed_refresh_bound(env):
    """mint = refresh: the narrowed refresh carries a proof, and the
    project token it gives is bound to the same key (cnf.jkt), DPoP in
    token and list, with proofs for it."""
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    path = os.path.join(env.home, ".config", "authd", "config.ini")
    with open(path, "a") as f:
        f.write("mint = refresh\nscope = profile email project:prj_123\n")
    env.start()
    login(env, idp)
    jkt = tb_json(env, "status")["dpop_jkt"]
    pt = tb_json(env, "token", "--project", "prj_123")
    check(pt["token_type"] == "DPoP" and pt["strategy"] == "refresh", pt)
    check(b64json(pt["token"].split(".")[1])["cnf"]["jkt"] == jkt,
          "the narrowed token is not bound to the key")
    narrowed = [e for e in idp.entries("/token", "refresh_token")
                if e.get("resource") == API]
    check(narrowed and all(e.get("dpop") for e in narrowed) and
          narrowed[-1]["token_type"] == "DPoP", narrowed)
    check(tb_json(env, "list")["tokens"][0]["token_type"] == "DPoP", "list")
    p = proof(env, "GET", API + "/v1/x", "--project", "prj_123")
    ath = base64.urlsafe_b64encode(hashlib.sha256(
        pt["token"].encode()).digest()).decode().rstrip("=")
    check(b64json(p.split(".")[1])["ath"] == ath, "ath")


def endpoint_bound(env):
    """mint = endpoint with a DPoP-bound user token: it goes to the mint
    endpoint as "DPoP" with a proof carrying its ath (the test provider
    refuses it as a bearer token)."""
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    path = os.path.join(env.home, ".config", "authd", "config.ini")
    with open(path, "a") as f:
        f.write("mint = endpoint\nmint_endpoint = %s/mint\n" % idp.issuer)
    env.start()
    login(env, idp)
    pt = tb_json(env, "token", "--project", "prj_123")
    check(pt["strategy"] == "endpoint", pt)
    mints = idp.entries("/mint")
    check(mints and mints[-1]["status"] == 200 and mints[-1].get("dpop"),
          mints)
    # The provider's check is real: the user token as a bearer token, or
    # with a proof for another URL, is refused.
    t = tb_json(env, "token")["token"]
    data = json.dumps({"audience": API, "project": "prj_123"}).encode()
    for hdrs in ({"Authorization": "Bearer " + t},
                 {"Authorization": "DPoP " + t,
                  "DPoP": proof(env, "POST", idp.issuer + "/other")}):
        req = urllib.request.Request(idp.issuer + "/mint", data=data,
                                     headers=dict(hdrs, **{
                                         "Content-Type": "application/json"}))
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        check(status == 401, "%s: %d" % (list(hdrs), status))


def stolen_refresh_token(env):
    """The refresh token copied from the store is refused by the provider
    when another client uses it without the key; authd, which holds the
    key, refreshes with it."""
    idp = IdP(env, "--interval", "1", "--at-ttl", "4", "--no-rotate")
    config(env, idp)
    env.start()
    login(env, idp)
    rec = record(env)
    check(rec["token_type"] == "DPoP" and rec["dpop_key"].startswith(
        "-----BEGIN PRIVATE KEY-----"), sorted(rec))
    rt = rec["refresh_token"]
    before = len(idp.entries("/token", "refresh_token"))
    status, body = post_form(idp.issuer + "/token", {
        "grant_type": "refresh_token", "refresh_token": rt,
        "client_id": "tb-cli"})
    check(status == 400 and body["error"] == "invalid_grant",
          "the copied refresh token was accepted: %d %s" % (status, body))
    # authd refreshes with the same token (4 s tokens: every tb token
    # refreshes), with a proof; --no-rotate keeps it the same one.
    tok = tb_json(env, "token")
    check(tok["token_type"] == "DPoP", tok)
    refreshes = idp.entries("/token", "refresh_token")[before:]
    ok = [e for e in refreshes if e["status"] == 200]
    check(ok and all(e.get("dpop") for e in ok) and
          ok[-1]["token_type"] == "DPoP", refreshes)
    check(record(env)["refresh_token"] == rt, "the refresh token changed")
    # The record made now (with its key) loads in a new daemon, which
    # refreshes with the same key.
    env.daemons[-1].stop()
    env.start()
    st = tb_json(env, "status")
    check(st["source"] == "store" and st["token_type"] == "DPoP", st)
    n = len(idp.entries("/token", "refresh_token"))
    tb_json(env, "token")
    check(idp.entries("/token", "refresh_token")[n:][-1]["status"] == 200,
          "refresh after a restart")
    # The live check: userinfo with authd's own proof of the new token.
    # (With 4 s tokens every call refreshes, so a tb token and a tb proof
    # made one after the other are for different tokens.)
    st = tb_json(env, "status", "--check")
    check(st.get("check") == "ok", st)
    # Logout revokes the bound tokens and deletes the key with the record.
    lo = tb_json(env, "logout")
    check(lo["revocation"] == "revoked" and lo["removed"], lo)
    check(not os.path.exists(os.path.join(env.home, ".state", "authd",
                                          "default.json")), "record kept")
    status, body = post_form(idp.issuer + "/token/introspection", {
        "token": rt, "client_id": "tb-cli"})
    check(status == 200 and body.get("active") is False,
          "the refresh token is still active: %s" % body)


def nonce_dance(env):
    """A provider that requires nonces: authd retries once with the
    DPoP-Nonce it was given (login, refresh, its own userinfo check),
    remembers it, and tb proof --nonce gives a proof the provider's
    userinfo takes."""
    idp = IdP(env, "--interval", "1", "--at-ttl", "4", "--dpop-nonce")
    config(env, idp)
    d = env.start()
    login(env, idp)
    dev = idp.polls()
    asked = [e for e in dev if e.get("error") == "use_dpop_nonce"]
    check(asked, "the provider never asked for a nonce: %s" % dev)
    check(dev[-1]["status"] == 200 and dev[-1]["token_type"] == "DPoP", dev)
    check("asks for a DPoP nonce" in d.log_text(), "not logged")
    # Each refused request was sent again, once: never two refusals in
    # a row for a nonce.
    errs = [e.get("error") for e in idp.entries("/token")]
    check("use_dpop_nonce,use_dpop_nonce" not in ",".join(
        str(e) for e in errs), errs)
    # Refresh: the remembered nonce (the provider's are good for a while).
    tok = tb_json(env, "token")
    check(tok["token_type"] == "DPoP", tok)
    last = idp.entries("/token", "refresh_token")[-1]
    check(last["status"] == 200 and last.get("dpop"), last)
    # authd's own userinfo request (the live check) gets its nonce too.
    st = tb_json(env, "status", "--check")
    check(st.get("check") == "ok", st)
    # A caller's proof without a nonce: 401 use_dpop_nonce with the
    # provider's nonce; with tb proof --nonce it: 200. Tokens that live
    # long enough for a tb token and a tb proof to be about the same one.
    d.stop()
    idp = IdP(env, "--interval", "1", "--dpop-nonce", name="idp2")
    config(env, idp, store="memory")
    env.start()
    login(env, idp)
    tok = tb_json(env, "token")
    me = idp.issuer + "/me"
    t = tok["token"]
    status, body, hdrs = get(me, {"Authorization": "DPoP " + t,
                                  "DPoP": proof(env, "GET", me)})
    check(status == 401 and "use_dpop_nonce" in (
        hdrs.get("WWW-Authenticate", "") + body), "%d %s" % (status, body))
    nonce = hdrs.get("DPoP-Nonce")
    check(nonce, "no DPoP-Nonce header")
    p = proof(env, "GET", me, "--nonce", nonce)
    check(b64json(p.split(".")[1])["nonce"] == nonce, "nonce not in proof")
    status, body, _ = get(me, {"Authorization": "DPoP " + t, "DPoP": p})
    check(status == 200, "with the nonce: %d %s" % (status, body))
    # A nonce that is not one (a quote, a space) is refused before any
    # signing.
    r = env.tb("proof", "--method", "GET", "--url", me, "--nonce", 'a"b')
    check(r.returncode == 1 and "nonce" in r.stderr, r.stderr)


def required_unsupported(env):
    """dpop = required with a provider without DPoP: a clear error naming
    what is missing and what to set, and no token request (no silent
    bearer login). dpop = auto with it: a bearer login, and tb proof says
    why it cannot prove anything."""
    idp = IdP(env, "--interval", "1", "--no-dpop")
    config(env, idp, dpop="required")
    env.start()
    err = login(env, idp, expect=1)
    check("dpop = required" in err and
          "dpop_signing_alg_values_supported" in err and
          "set dpop = auto or off" in err, err)
    check(not idp.entries("/token") and not idp.entries("/device/auth"),
          "asked the provider anyway")
    r = env.tb("--json", "status")
    check(r.returncode == 3 and json.loads(r.stdout)["logged_in"] is False,
          r.stdout)
    env.daemons[-1].stop()
    config(env, idp, dpop="auto")
    env.start()
    login(env, idp)
    st = tb_json(env, "status")
    check(st["token_type"] == "Bearer" and "dpop_jkt" not in st, st)
    check("dpop_key" not in record(env), "a key stored for a bearer login")
    tok = tb_json(env, "token")
    check(tok["token_type"] == "Bearer", tok)
    check(not any(e.get("dpop") for e in idp.entries("/token")),
          "a proof sent to a provider that does not list DPoP")
    r = env.tb("proof", "--method", "GET", "--url", idp.issuer + "/me")
    check(r.returncode == 1 and "bearer token" in r.stderr and
          "dpop = auto or required" in r.stderr, r.stderr)
    prog = os.path.join(os.environ["AUTHD_BUILD_DIR"], "tests",
                        "client_example")
    r = subprocess.run([prog], env=dict(env.env, AUTHD_SOCK=env.sock,
                                        EXAMPLE_PROOF_URL=idp.issuer + "/me"),
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "config_error" in r.stderr, r.stderr)
    # dpop = off (the default) with a provider that supports DPoP: bearer.
    env.daemons[-1].stop()
    idp2 = IdP(env, "--interval", "1", name="idp2")
    path = os.path.join(env.home, ".config", "authd", "config.ini")
    with open(path, "w") as f:
        f.write("store = memory\n[profile default]\nissuer = %s\n"
                "client_id = tb-cli\naudience = %s\n" % (idp2.issuer, API))
    d = env.start()
    login(env, idp2)
    check(tb_json(env, "status")["token_type"] == "Bearer", "default")
    check(tb_json(env, "token", "--project", "prj_123")["token_type"] ==
          "Bearer", "a bearer project token")
    check(not any(e.get("dpop") for e in idp2.entries("/token")), "proof")
    # Then dpop = required (a reload): that bearer login is not served,
    # user token nor project token, until a new login binds one.
    with open(path, "a") as f:
        f.write("dpop = required\n")
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in d.log_text(), "the reload")
    for args in ((), ("--project", "prj_123")):
        r = env.tb("token", *args)
        check(r.returncode == 1 and r.stdout == "" and
              "dpop = required" in r.stderr and "tb login" in r.stderr,
              "%s: %d %s" % (args, r.returncode, r.stderr))
    login(env, idp2)
    check(tb_json(env, "token")["token_type"] == "DPoP", "new login")


def proof_bounds(env):
    """The proof op's inputs are bounded and checked: a clear error, the
    daemon unharmed; a bad dpop value is a configuration error."""
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    env.start()
    login(env, idp)
    me = idp.issuer + "/me"
    for args, what in (
            (["--method", "GET", "--url", "https://h/" + "a" * 2100], "2048"),
            (["--method", "G ET", "--url", me], "method"),
            (["--method", "M" * 17, "--url", me], "16"),
            (["--method", "GET", "--url", "ftp://h/x"], "http"),
            (["--method", "GET", "--url", "https:///x"], "host"),
            (["--method", "GET"], "--url")):
        r = env.tb("proof", *args)
        check(r.returncode in (1, 2) and what in r.stderr,
              "%s: %d %s" % (args, r.returncode, r.stderr))
    # Raw protocol: over-long fields are bad_request.
    c = env.conn()
    c.request("proof", {"method": "GET", "url": "https://h/" + "a" * 5000})
    m = c.read()
    check(m["error"]["code"] == "bad_request", m)
    c.request("proof", {"method": "GET"}, id=2)
    m = c.read()
    check(m["error"]["code"] == "bad_request", m)
    c.close()
    check(tb_json(env, "status")["token_type"] == "DPoP", "daemon unharmed")
    env.daemons[-1].stop()
    config(env, idp, dpop="sometimes")
    r = subprocess.run([AUTHD, "--check-config"], env=env.env,
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "unknown dpop 'sometimes'" in r.stderr,
          r.stderr)


def canary_key_and_proofs(env):
    """The private key (its PEM and its "d") and the proofs given out
    appear nowhere: debug log, audit log, status, list (human and JSON)."""
    need(shutil.which("openssl"), "openssl (to read the stored key)")
    idp = IdP(env, "--interval", "1")
    audit = os.path.join(env.dir, "audit.log")
    config(env, idp, extra="audit_log = %s\n" % audit)
    d = env.start(log_level="debug")
    login(env, idp)
    me = idp.issuer + "/me"
    proofs = [proof(env, "GET", me), proof(env, "POST", API + "/x",
                                            "--project", "prj_123")]
    tb_json(env, "token", "--project", "prj_123")
    pem = record(env)["dpop_key"]
    r = subprocess.run(["openssl", "pkey", "-noout", "-text"], input=pem,
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, r.stderr)
    hexd = "".join(re.search(r"priv:\s*\n((?:\s+[0-9a-f:]+\n)+)",
                             r.stdout).group(1).split()).replace(":", "")
    raw = bytes.fromhex(hexd)[-32:].rjust(32, b"\0")
    d_b64 = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    body = "".join(pem.strip().splitlines()[1:-1])
    secrets = {"d": d_b64, "pem": body[20:60], "hex": hexd[-40:]}
    for i, p in enumerate(proofs):
        secrets["proof%d" % i] = p
        secrets["proof%d-sig" % i] = p.split(".")[2]
    outputs = {
        "status": env.tb("status").stdout,
        "status --json": env.tb("--json", "status").stdout,
        "status --check": env.tb("--json", "status", "--check").stdout,
        "status --all": env.tb("--json", "status", "--all").stdout,
        "list": env.tb("list").stdout,
        "list --json": env.tb("--json", "list").stdout,
    }
    d.stop()
    outputs["debug log"] = d.log_text() + open(d.log + ".stderr").read()
    outputs["audit"] = open(audit).read()
    check("proof" in outputs["audit"], "the proofs are not audited")
    for where, text in outputs.items():
        for what, s in secrets.items():
            check(s not in text, "%s appears in %s" % (what, where))


TESTS = {f.__name__: f for f in (
    bound_userinfo, narrowed_refresh_bound, endpoint_bound,
    stolen_refresh_token,
    nonce_dance, required_unsupported,
    proof_bounds, canary_key_and_proofs)}

if __name__ == "__main__":
    run(TESTS)
