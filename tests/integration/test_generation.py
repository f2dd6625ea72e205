"""Credential generations of the mint cache: a project token is served only
while the credential it was minted from (a login, a runtime override) and
the profile's mint rules are still the ones in force. A new override, an
expired override, a login that completes while a mint is in flight, and a
reload that changes the mint rules all make the next `tb token --project`
mint again; `mint = refresh` never narrows the stored login's refresh token
while an override is in force. Run one with: python3 test_generation.py
NAME."""
import base64
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from harness import IdP, Login, TB, check, wait_for, run

API = "https://api.tb.test"
TX = "urn:ietf:params:oauth:grant-type:token-exchange"
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


def claims(tok):
    """A JWT's payload, not verified (the tests only read sub and exp)."""
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def sub_of(tok):
    try:
        return claims(tok).get("sub")
    except (IndexError, ValueError):
        return None


def config(env, idp, profile_extra=""):
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    # Written whole and renamed: a SIGHUP never reads half a file.
    tmp = os.path.join(d, ".config.ini.tmp")
    with open(tmp, "w") as f:
        f.write("store = memory\n\n[profile default]\nissuer = %s\n"
                "client_id = tb-cli\naudience = %s\n%s\n" %
                (idp.issuer, API, profile_extra))
    os.rename(tmp, os.path.join(d, "config.ini"))


def login(env, idp, user="alice"):
    lg = Login(env, "--no-browser")
    uri, code = lg.code()
    idp.approve(uri, user=user, code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "tb login as %s: exit %d: %s" % (user, rc, err))


def tb_token(env, *args):
    """tb --json token ARGS: (exit status, the JSON reply or error)."""
    r = env.tb("--json", "token", *args, timeout=90)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        out = {"error": {"code": "?", "message": "no JSON on stdout: %r; "
                         "stderr %r" % (r.stdout[:200], r.stderr[:500])}}
    return r.returncode, out


def token(env, *args):
    rc, out = tb_token(env, *args)
    check(rc == 0 and "token" in out, "tb token %s: exit %d: %s" % (
        " ".join(args), rc, out))
    return out


def describe(rc, out):
    """A reply in a failure message, without the token itself."""
    if rc == 0 and "token" in out:
        return "a token (sub %s, cached %s, strategy %s)" % (
            sub_of(out["token"]), out.get("cached"), out.get("strategy"))
    return "exit %d, error %s" % (rc, out.get("error"))


def exchanges(idp):
    return [e for e in idp.entries("/token", TX) if e["status"] == 200]


def post(idp, path, form=None):
    req = urllib.request.Request(idp.issuer + path, data=urllib.parse.
                                 urlencode(form or {}).encode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def held(idp):
    with urllib.request.urlopen(idp.issuer + "/test/held-exchange",
                                timeout=10) as r:
        return json.loads(r.read())["held"]


def user_jwt(idp, user):
    """An access token of another login than authd's: the device flow
    done by hand for USER, with resource=API so that it is an RS256 JWT
    (sub = USER, exp from --at-ttl) the provider accepts as a subject
    token. No offline_access: no refresh token comes with it."""
    st, da = post(idp, "/device/auth", {
        "client_id": "tb-cli", "scope": "openid tb:read", "resource": API})
    check(st == 200, "device authorization: %d %s" % (st, da))
    idp.approve(da["verification_uri_complete"], user=user)
    # Approved before the first poll: one poll gets the tokens.
    st, t = post(idp, "/token", {
        "client_id": "tb-cli", "grant_type": DEVICE,
        "device_code": da["device_code"], "resource": API})
    check(st == 200 and "refresh_token" not in t, "device token: %d %s" % (
        st, {k: v for k, v in t.items() if "token" not in k}))
    tok = t["access_token"]
    check(sub_of(tok) == user, "not a JWT for %s" % user)
    return tok


def override(env, tok):
    """tb login --with-token: a runtime override (set_token)."""
    r = env.tb("--json", "login", "--with-token", input=tok + "\n")
    check(r.returncode == 0 and json.loads(r.stdout).get("source") ==
          "override", "tb login --with-token: exit %d: %s %s" % (
              r.returncode, r.stdout, r.stderr))


def reload(d):
    n = d.log_text().count("configuration reloaded")
    bad = d.log_text().count("reload failed")
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: d.log_text().count("configuration reloaded") > n or
             d.log_text().count("reload failed") > bad, "the reload")
    check(d.log_text().count("reload failed") == bad, "the reload failed")


def gen_override_after_login(env):
    """(a) tb login --with-token after a device-flow login: the next
    project token is minted from the override, not served from the cache
    of the previous login; a second override replaces the first the same
    way."""
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    env.start()
    login(env, idp, "alice")
    first = token(env, "--project", "prj_123")
    check(sub_of(first["token"]) == "alice" and not first["cached"], first)
    check(token(env, "--project", "prj_123")["cached"], "not cached")
    n = len(exchanges(idp))

    override(env, user_jwt(idp, "carol"))
    rc, j = tb_token(env, "--project", "prj_123")
    check(rc == 0 and j.get("token") != first["token"],
          "after tb login --with-token (an override for carol), tb token "
          "--project prj_123 served the token minted from the previous "
          "login (sub alice) from the cache: %s" % describe(rc, j))
    check(sub_of(j["token"]) == "carol" and j["cached"] is False,
          "not minted from the override: %s" % describe(rc, j))
    check(len(exchanges(idp)) == n + 1, "token exchanges: %d, expected %d" %
          (len(exchanges(idp)), n + 1))
    # Minted under the override: served from the cache while it lasts.
    again = token(env, "--project", "prj_123")
    check(again["cached"] and again["token"] == j["token"],
          "the override's token is not cached: %s" % describe(0, again))

    # Another override (dave) replaces carol's: minted again.
    override(env, user_jwt(idp, "dave"))
    rc, j2 = tb_token(env, "--project", "prj_123")
    check(rc == 0 and sub_of(j2.get("token", "")) == "dave" and
          j2["cached"] is False, "after a second override (dave), tb token "
          "--project prj_123 gave %s" % describe(rc, j2))
    check(len(exchanges(idp)) == n + 2, "token exchanges: %d, expected %d" %
          (len(exchanges(idp)), n + 2))


def gen_override_expired(env):
    """(b) A token minted from an override is not served once the
    override's JWT exp has passed: the next request mints from the stored
    login (or fails), never serves the override's token."""
    # Short access tokens: the override (a JWT) expires in 12 s. authd's
    # own login refreshes its (opaque) access token as needed.
    idp = IdP(env, "--interval", "1", "--at-ttl", "12")
    config(env, idp)
    env.start()
    login(env, idp, "alice")
    carol = user_jwt(idp, "carol")
    exp = claims(carol)["exp"]
    override(env, carol)
    minted = token(env, "--project", "prj_123")
    check(sub_of(minted["token"]) == "carol" and not minted["cached"],
          "not minted from the override: %s" % describe(0, minted))
    # The exchanged token lives 300 s, far longer than the override.
    check(minted.get("expires_at", 0) > exp + 60, minted.get("expires_at"))
    again = token(env, "--project", "prj_123")
    check(time.time() < exp, "inconclusive: the override expired before "
          "the test could use it (machine too slow)")
    check(again["cached"] and again["token"] == minted["token"],
          "not cached while the override lasts: %s" % describe(0, again))
    n = len(exchanges(idp))

    # Past the override's exp (authd compares whole seconds).
    wait_for(lambda: time.time() >= exp + 1, "the override's expiry",
             timeout=30, interval=0.05)
    rc, j = tb_token(env, "--project", "prj_123")
    check(rc != 0 or j.get("token") != minted["token"],
          "the override (carol) expired, yet tb token --project prj_123 "
          "served the token minted from it from the cache: %s" %
          describe(rc, j))
    if rc == 0:
        check(sub_of(j["token"]) == "alice" and j["cached"] is False,
              "after the override expired: %s, expected a new token "
              "minted from alice's login" % describe(rc, j))
        check(len(exchanges(idp)) == n + 1, "no new token exchange")
    st = json.loads(env.tb("--json", "status").stdout)
    check(st.get("source") != "override", "the expired override is still "
          "in force: %s" % st)


def gen_exchange_across_login(env):
    """(c) A token exchange started under login 1 (alice) that completes
    after login 2 (carol) is not cached as login 2's: the next tb token
    mints from carol's login."""
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    d = env.start()
    login(env, idp, "alice")
    st, h = post(idp, "/test/hold-exchange")
    check(st == 200 and h["holding"], "hold: %s" % h)
    bg = subprocess.Popen([TB, "--json", "token", "--project", "prj_123"],
                          env=env.env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    env.procs.append(bg)
    wait_for(lambda: held(idp) == 1 or bg.poll() is not None,
             "the token exchange to reach the provider (and be held)")
    if bg.poll() is not None:
        check(False, "tb token did not wait for the held exchange: %s" %
              (bg.communicate()[0],))
    t_held = time.monotonic()
    # Login 2 completes while login 1's exchange is in flight.
    login(env, idp, "carol")
    st, rel = post(idp, "/test/release-exchange")
    held_for = time.monotonic() - t_held
    check(st == 200 and rel["released"] == 1, "release: %s" % rel)
    # authd gives up on a request after 15 s: a longer hold proves nothing.
    check(held_for < 12, "inconclusive: the exchange was held %.1f s, "
          "close to authd's request timeout" % held_for)
    try:
        out, err = bg.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        bg.kill()
        raise
    try:
        first = json.loads(out)
    except ValueError:
        first = {"error": {"message": "no JSON: %r %r" % (out, err)}}
    # The held exchange itself went through at the provider (for alice).
    wait_for(lambda: len(exchanges(idp)) >= 1, "the released exchange's "
             "answer in the provider's log")
    check("timed out" not in json.dumps(first), "inconclusive: authd's "
          "request timed out: %s" % first)
    # Its caller asked under login 1: an error, or a token of either
    # login, but nothing else.
    if bg.returncode == 0:
        check(sub_of(first["token"]) in ("alice", "carol"), first)

    rc, j = tb_token(env, "--project", "prj_123")
    check(rc == 0 and sub_of(j.get("token", "")) == "carol",
          "after login 2 (carol), tb token --project prj_123 gave %s: the "
          "token exchanged with login 1's (alice's) token, which completed "
          "after login 2, was cached and served as login 2's (the "
          "in-flight request got %s)" % (describe(rc, j),
                                          describe(bg.returncode, first)))
    check(len(exchanges(idp)) >= 2, "no exchange for carol's login")
    check("minted a token" in d.log_text(), "no mint in the log")


def gen_refresh_uses_override(env):
    """(d) mint = refresh with an override that has no refresh token: tb
    token --project fails and says why (the override), and the stored
    login's refresh token is not used."""
    idp = IdP(env, "--interval", "1", "--no-token-exchange")
    config(env, idp, "mint = refresh\n"
           "scope = profile email project:prj_123 project:prj_456\n")
    env.start()
    login(env, idp, "alice")
    base = token(env, "--project", "prj_456")
    check(base["strategy"] == "refresh" and sub_of(base["token"]) ==
          "alice", describe(0, base))
    check(token(env, "--project", "prj_456")["cached"], "not cached")
    mark = len(idp.entries("/token", "refresh_token"))

    override(env, user_jwt(idp, "carol"))
    got = {}
    for proj in ("prj_123", "prj_456"):     # new target; cached target
        got[proj] = tb_token(env, "--project", proj)
    narrowed = idp.entries("/token", "refresh_token")[mark:]
    summary = "; ".join("%s: %s" % (p, describe(*got[p])) for p in got)
    check(not narrowed, "mint = refresh with an override (carol, no refresh "
          "token) in force: %d refresh_token grant(s) with the stored "
          "login's (alice's) refresh token: %s (%s)" % (
              len(narrowed), summary,
              [(e.get("resource"), e.get("scope"), e["status"])
               for e in narrowed]))
    for proj, (rc, out) in got.items():
        check(rc != 0 and "error" in out, "mint = refresh with an override "
              "in force: tb token --project %s gave %s, expected an error" %
              (proj, describe(rc, out)))
        msg = out["error"].get("message", "")
        check("override" in msg.lower(), "tb token --project %s: the error "
              "does not mention the override: %s" % (proj, out["error"]))
    # The override itself is what tb token (the user token) serves.
    r = env.tb("token")
    check(r.returncode == 0 and sub_of(r.stdout.strip()) == "carol",
          "the user token is not the override")


def gen_reload_rules(env):
    """A SIGHUP that leaves the mint rules as they were keeps the cache;
    one that changes them (verify_jwt, project_scope, mint) makes the next
    tb token for the target mint again, under the new rules."""
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    d = env.start()
    login(env, idp, "alice")
    first = token(env, "--project", "prj_123")
    check(not first["cached"] and len(exchanges(idp)) == 1, first)
    reload(d)
    j = token(env, "--project", "prj_123")
    check(j["cached"] and j["token"] == first["token"],
          "a reload that changed nothing dropped the cache")

    # verify_jwt on: the token minted unverified is not served.
    config(env, idp, "verify_jwt = true\n")
    reload(d)
    rc, j = tb_token(env, "--project", "prj_123")
    check(rc == 0 and j.get("cached") is False and
          j["token"] != first["token"], "after a SIGHUP turned verify_jwt "
          "on, tb token --project prj_123 gave %s: the token minted under "
          "the old rules (not verified) was served from the cache" %
          describe(rc, j))
    check(len(exchanges(idp)) == 2, "token exchanges: %d, expected 2" %
          len(exchanges(idp)))
    check(idp.entries("/jwks"), "the new token was not verified (no JWKS "
          "fetched)")
    check(token(env, "--project", "prj_123")["cached"],
          "not cached under the new rules")

    # project_scope changed: minted again, with the new scope.
    config(env, idp, "verify_jwt = true\n"
           "project_scope = project:{project} tb:read\n")
    reload(d)
    rc, j2 = tb_token(env, "--project", "prj_123")
    check(rc == 0 and j2.get("cached") is False and
          j2["token"] != j["token"], "after a SIGHUP changed project_scope, "
          "tb token --project prj_123 gave %s" % describe(rc, j2))
    tx = exchanges(idp)
    check(len(tx) == 3 and "tb:read" in tx[-1].get("scope", ""),
          "the new project_scope was not asked for: %s" %
          [e.get("scope") for e in tx])

    # mint changed (token exchange -> endpoint).
    config(env, idp, "mint = endpoint\nmint_endpoint = %s/mint/{project}\n" %
           idp.issuer)
    reload(d)
    rc, j3 = tb_token(env, "--project", "prj_123")
    check(rc == 0 and j3.get("cached") is False and
          j3.get("strategy") == "endpoint", "after a SIGHUP set mint = "
          "endpoint, tb token --project prj_123 gave %s" % describe(rc, j3))
    check(len(idp.entries("/mint/prj_123")) == 1, "the mint endpoint was "
          "not asked")


TESTS = {f.__name__: f for f in (
    gen_override_after_login, gen_override_expired,
    gen_exchange_across_login, gen_refresh_uses_override,
    gen_reload_rules)}

if __name__ == "__main__":
    run(TESTS)
