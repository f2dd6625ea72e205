"""Login where the user is (issue 17): never interactive where no person
is (CI, no terminal), the browser login with PKCE and a loopback redirect,
and the device fallback. Run one with: python3 test_login_where.py NAME."""
import json
import os
import shutil
import subprocess
import time

from harness import (IDP_DIR, SLOW, TB, Conn, IdP, Login, check, need, run,
                     wait_for)

DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
HINT_WAYS = ("--with-token", "AUTHD_TOKEN", "jwt-bearer", "federated")


def daemon_for(env, idp, *args, **kw):
    e = {"AUTHD_ISSUER": idp.issuer, "AUTHD_CLIENT_ID": "tb-cli"}
    e.update(kw.pop("env", {}))
    return env.start(*args, env=e, **kw)


def _refused(env, idp, extra, what):
    """tb login with no person: exit 7 fast, a hint, nothing asked."""
    e = {"TB_INTERACTIVE": ""}
    e.update(extra)
    t0 = time.monotonic()
    p = subprocess.run([TB, "login"], env=dict(env.env, **e),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30)
    took = time.monotonic() - t0
    check(p.returncode == 7, "%s: exit %d: %s" % (what, p.returncode,
                                                   p.stderr))
    # Under a second (under valgrind the daemon is slower: scaled).
    check(took < 1.0 * SLOW, "%s: took %.2f s" % (what, took))
    check(p.stdout == "", "stdout: %r" % p.stdout)
    check("no one is here to log in" in p.stderr, p.stderr)
    for w in HINT_WAYS:
        check(w in p.stderr, "%s: the hint does not name %s: %s" %
              (what, w, p.stderr))
    check(not idp.entries("/device/auth"), "%s: a device authorization "
          "request reached the provider: %s" % (what, idp.entries()))
    check(not idp.entries("/auth"), "%s: an authorization request" % what)
    return p


def ci_no_person(env):
    """CI=true, no terminal: exit 7 in under a second, nothing started at
    the provider, a hint naming the non-interactive ways in."""
    idp = IdP(env, "--interval", "1")
    daemon_for(env, idp)
    _refused(env, idp, {"CI": "true"}, "CI=true")
    # No terminal is enough, CI or not; TB_INTERACTIVE=0 says no person.
    _refused(env, idp, {"CI": ""}, "no terminal")
    _refused(env, idp, {"CI": "", "TB_INTERACTIVE": "0"}, "TB_INTERACTIVE=0")
    # Nothing is pending in the daemon either.
    r = env.tb("--json", "status")
    st = json.loads(r.stdout or "{}")
    check(st.get("login_pending") is False, st)


def ci_tty_still_refused(env):
    """CI=true wins over a terminal (a CI runner may allocate one)."""
    need(shutil.which("script"), "script (util-linux)")
    idp = IdP(env, "--interval", "1")
    daemon_for(env, idp)
    out = os.path.join(env.dir, "typescript")
    p = subprocess.run(["script", "-qfec", "%s login --no-browser" % TB,
                        out], env=dict(env.env, CI="true", TB_INTERACTIVE=""),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30)
    check(p.returncode == 7, "exit %d: %s" % (p.returncode,
                                              open(out).read()))
    check(not idp.entries("/device/auth"), "device authorization asked")


def person_says_so(env):
    """TB_INTERACTIVE=1 under CI=true with no terminal: the login starts
    (the explicit way for tests and scripts that bring their own user)."""
    idp = IdP(env, "--interval", "1")
    daemon_for(env, idp)
    lg = Login(env, "--no-browser", extra_env={"CI": "true",
                                              "TB_INTERACTIVE": "1"})
    uri, code = lg.code()
    idp.approve(uri, user="alice", code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "exit %d: %s" % (rc, err))
    check(len(idp.entries("/device/auth")) == 1, idp.entries())


def interactive_arg_checked(env):
    """The login op's interactive member: a boolean or nothing."""
    idp = IdP(env, "--interval", "1")
    d = daemon_for(env, idp)
    c = Conn(d.sock)
    c.request("login", {"interactive": "no"})
    m = c.read()
    check(m.get("ok") is False and m["error"]["code"] == "bad_request", m)
    c.request("login", {"interactive": False}, id=2)
    m = c.read()
    check(m.get("ok") is False and
          m["error"]["code"] == "interactive_login_refused", m)
    check(not idp.entries("/device/auth"), "device authorization asked")


def _need_browser():
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    need(os.path.exists(chromium), "Debian chromium")
    need(os.path.isdir(os.path.join(IDP_DIR, "node_modules",
                                    "playwright-core")), "playwright-core")
    return "node %s" % os.path.join(IDP_DIR, "approve-browser.js")


def _status(env):
    r = env.tb("--json", "status")
    check(r.returncode == 0, "status exit %d: %s" % (r.returncode, r.stderr))
    st = json.loads(r.stdout)
    # What differs from one login to the next by nature.
    for k in ("expires_at", "logged_in_at", "expires_in"):
        st.pop(k, None)
    return st


def browser_login(env):
    """With $BROWSER (real headless Chromium), tb login logs in through
    the browser: code + PKCE to authd's loopback redirect, no code typed
    and no device authorization request at the provider; the token works;
    tb status equals the one after a device-flow login."""
    browser = _need_browser()
    idp = IdP(env, "--interval", "1")
    daemon_for(env, idp, "--store", "memory")
    lg = Login(env, extra_env={"BROWSER": browser, "APPROVE_USER": "alice"})
    rc, out, err = lg.wait(timeout=90)
    check(rc == 0, "tb login exit %d: %s" % (rc, err))
    check("Opening the page with $BROWSER" in err, err)
    check("code:" not in err, "a device code was shown: %s" % err)
    check("Logged in" in err and "alice" in err, err)
    check(not idp.entries("/device/auth"), "a device authorization "
          "request: %s" % idp.entries("/device/auth"))
    codes = idp.entries("/token", "authorization_code")
    check(len(codes) == 1 and codes[0]["status"] == 200, codes)
    browser_st = _status(env)
    r = env.tb("token")
    check(r.returncode == 0, "token: %s" % r.stderr)
    status, info = idp.userinfo(r.stdout.strip())
    check(status == 200 and info["sub"] == "alice", info)
    r = env.tb("token", "--project", "prj_123",
               "--audience", "https://api.tb.test")
    check(r.returncode == 0, "project token: %s" % r.stderr)
    # The same user with the device flow: the same status.
    r = env.tb("logout")
    check(r.returncode == 0, r.stderr)
    lg = Login(env, "--no-browser")
    uri, code = lg.code()
    idp.approve(uri, user="alice", code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "device login: %s" % err)
    device_st = _status(env)
    check(browser_st == device_st, "status differs:\nbrowser %s\ndevice  %s"
          % (browser_st, device_st))


def _no_login_pending(env):
    def idle():
        r = env.tb("--json", "status")
        return r.stdout and json.loads(r.stdout).get("login_pending") is False
    wait_for(idle, "no pending login")


def device_without_display(env):
    """No $BROWSER and no display: the device flow (a code is shown), not
    the browser login; --browser forces the browser login all the same
    (the URL is printed for the user to open); a second tb login joins
    the pending browser login, whatever its flags."""
    idp = IdP(env, "--interval", "1")
    daemon_for(env, idp)
    lg = Login(env)
    uri, code = lg.code()
    check(code and "No browser to open here" in lg.stderr(), lg.stderr())
    check(len(idp.entries("/device/auth")) == 1, idp.entries())
    lg.proc.send_signal(2)
    lg.wait()
    # A display but no xdg-open on PATH: still the device flow.
    _no_login_pending(env)
    lg = Login(env, extra_env={"DISPLAY": ":99", "PATH": "/nonexistent"})
    uri, code = lg.code()
    lg.proc.send_signal(2)
    lg.wait()
    # (Until authd has seen the last waiter go, a new login would join.)
    _no_login_pending(env)
    # --browser with nothing to open it: the URL, for the user.
    lg = Login(env, "--browser")
    url = wait_for(lambda: _auth_url(lg.stderr()), "the authorization URL")
    check("code_challenge_method=S256" in url and "state=" in url, url)
    check("redirect_uri=http%3A%2F%2F127.0.0.1%3A" in url, url)
    # A second tb login joins the pending browser login: the same URL
    # (the same state and listener), no second authorization.
    lg2 = Login(env, "--device")
    url2 = wait_for(lambda: _auth_url(lg2.stderr()), "the joiner's URL")
    check(url2 == url, "the joiner got another URL:\n%s\n%s" % (url, url2))
    lg.proc.send_signal(2)
    rc, _, err = lg.wait()
    check(rc == 6, "exit %d: %s" % (rc, err))
    check(lg2.proc.poll() is None, "the joiner ended with the first")
    lg2.proc.send_signal(2)
    rc, _, err = lg2.wait()
    check(rc == 6, "joiner exit %d: %s" % (rc, err))
    check(len(idp.entries("/device/auth")) == 2, "device authorizations: "
          "%s" % idp.entries("/device/auth"))


def _auth_url(text):
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("http") and "/auth?" in line:
            return line
    return None


def _listener(env, idp, *extra):
    """A pending browser login: (Login, authorization URL, query dict)."""
    import urllib.parse
    lg = Login(env, "--browser", *extra)
    url = wait_for(lambda: _auth_url(lg.stderr()), "the authorization URL")
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(url).query))
    return lg, url, q


def _get(url, timeout=10):
    import urllib.request
    import urllib.error
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def listener_attacks(env):
    """The loopback listener takes exactly one valid redirect: a wrong or
    missing state, a parameter twice, no code, a malformed code, another
    path, a POST, an oversized request and garbage get an error page and
    change nothing; a slow client that sends nothing is closed and holds
    nothing up. Then Chromium logs in; while the code is being redeemed a
    replay of the very redirect and a second redirect are refused; after
    the login the listener is gone. (A non-loopback peer cannot reach a
    listener bound to loopback only; redirect.c checks the peer all the
    same: see RFC 0002.)"""
    import socket
    import urllib.parse
    import urllib.request
    import urllib.error
    _need_browser()
    idp = IdP(env, "--interval", "1", "--code-delay-ms", "3000")
    d = daemon_for(env, idp, "--store", "memory")
    lg, url, q = _listener(env, idp)
    base = q["redirect_uri"]
    port = urllib.parse.urlparse(base).port
    st = q["state"]
    check(len(st) >= 43 and len(q["code_challenge"]) == 43, q)
    slow = socket.create_connection(("127.0.0.1", port))
    t_slow = time.monotonic()
    bad = [
        (base + "?code=x&state=wrong", "does not belong"),
        (base + "?code=x", "does not belong"),
        (base + "?code=x&state=%s&state=%s" % (st, st), "does not belong"),
        (base + "?code=x&code=y&state=%s" % st, "does not belong"),
        (base + "?state=%s" % st, "malformed"),
        (base + "?code=a%%01b&state=%s" % st, "malformed"),
        (base + "?code=a&error=x&state=%s" % st, "malformed"),
        (base + "nope?code=x&state=" + st, "Nothing here"),
        (base, "not a login redirect"),
    ]
    for u, text in bad:
        status, body = _get(u)
        check(status in (400, 404) and text in body,
              "%s: %s %s" % (u[:80], status, body[:200]))
    status, _ = _get(base + "?code=" + "A" * 9000 + "&state=" + st)
    check(status >= 400, "an oversized request: %s" % status)
    try:
        urllib.request.urlopen(urllib.request.Request(
            base + "?code=x&state=" + st, data=b"x", method="POST"),
            timeout=10)
        check(False, "a POST was accepted")
    except urllib.error.HTTPError as e:
        check(e.code in (405, 413), "POST: %s" % e.code)
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    s.sendall(b"\x00\x01 garbage\r\n\r\n")
    reply = s.recv(100)
    check(reply == b"" or reply.startswith(b"HTTP/1.1 400"),
          "garbage: %r" % reply)
    s.close()
    # The slow client is closed by the listener's read timeout (5 s).
    slow.settimeout(30)
    check(slow.recv(100) == b"", "the slow client got an answer")
    check(time.monotonic() - t_slow < 20, "the slow client was kept")
    slow.close()
    check(lg.proc.poll() is None, "the login ended: %s" % lg.stderr())
    check(not idp.entries("/token", "authorization_code"),
          "a code was redeemed")
    check(d.log_text().count("refused a request") >= len(bad),
          "refusals not logged: %d" % d.log_text().count("refused a request"))
    # The real redirect, by Chromium; the provider then holds the reply
    # for 3 s, and the listener is still there.
    rec = os.path.join(env.dir, "redirect")
    r = subprocess.run(["node", os.path.join(IDP_DIR, "approve-browser.js"),
                        url], env=dict(env.env, APPROVE_USER="alice",
                                       APPROVE_RECORD=rec),
                       capture_output=True, text=True, timeout=90)
    check(r.returncode == 0, "chromium: %s" % r.stderr)
    redirect = open(rec).read().strip()
    check(redirect.startswith(base + "?") and "code=" in redirect, redirect)
    check(lg.proc.poll() is None, "finished before the replay")
    status, body = _get(redirect)
    check(status == 400 and "already received" in body,
          "replay: %s %s" % (status, body[:200]))
    status, body = _get(base + "?code=other&state=" + st)
    check(status == 400 and "already received" in body,
          "second redirect: %s %s" % (status, body[:200]))
    rc, _, err = lg.wait(timeout=30)
    check(rc == 0, "exit %d: %s" % (rc, err))
    check(len(idp.entries("/token", "authorization_code")) == 1,
          idp.entries("/token"))
    try:
        _get(redirect, timeout=5)
        check(False, "the listener still answers after the login")
    except OSError:
        pass
    # The authorization request: PKCE S256, a loopback redirect_uri.
    auth = idp.entries("/auth")
    check(auth and auth[0].get("code_challenge_method") == "S256" and
          auth[0].get("redirect_uri", "").startswith("http://127.0.0.1:"),
          auth)
    check("code=" not in d.log_text(), "the code reached the log")


def grant_refused_names_other(env):
    """A client the provider does not allow one grant: the message names
    the other way to log in (device refused: 'tb login --browser'; the
    browser login refused: 'tb login --device')."""
    browser = _need_browser()
    idp = IdP(env, "--interval", "1")
    d = env.start("--store", "memory", env={
        "AUTHD_ISSUER": idp.issuer, "AUTHD_CLIENT_ID": "tb-browser-only"})
    lg = Login(env, "--device")
    rc, _, err = lg.wait(timeout=30)
    check(rc == 5 and "unauthorized_client" in err and
          "'tb login --browser'" in err, "exit %d: %s" % (rc, err))
    d.stop()
    env.start("--store", "memory", env={
        "AUTHD_ISSUER": idp.issuer, "AUTHD_CLIENT_ID": "tb-device-only"})
    lg = Login(env, "--browser", extra_env={"BROWSER": browser,
                                            "APPROVE_ACTION": "deny"})
    rc, _, err = lg.wait(timeout=90)
    # oidc-provider redirects invalid_request ("requested response_type
    # is not allowed for this client"): an error, exit 1.
    check(rc == 1 and "not allowed for this client" in err and
          "'tb login --device'" in err, "exit %d: %s" % (rc, err))
    check(not idp.entries("/token", "authorization_code"), "a code")


def browser_expires(env):
    """A browser login whose redirect never comes ends at the profile's
    login_timeout (expired_token, exit 6), and its listener is gone; a
    profile's login = browser is the browser login without a flag."""
    import urllib.parse
    idp = IdP(env, "--interval", "1")
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("store = memory\n\n[profile default]\nissuer = %s\n"
                "client_id = tb-cli\nlogin = browser\n"
                "login_timeout = %d\n" % (idp.issuer, 2 * SLOW))
    env.start()
    lg = Login(env)
    url = wait_for(lambda: _auth_url(lg.stderr()), "the authorization URL")
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(url).query))
    rc, _, err = lg.wait(timeout=30)
    check(rc == 6 and "not completed in time" in err,
          "exit %d: %s" % (rc, err))
    check(not idp.entries("/device/auth"), "a device authorization")
    try:
        _get(q["redirect_uri"] + "?code=x&state=" + q["state"], timeout=5)
        check(False, "the listener outlived the login")
    except OSError:
        pass


class CiPlatform:
    """tests/idp/ci-platform.js: a CI platform's OIDC token service (the
    way GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL answers)."""

    def __init__(self, env, ttl=300, actor="alice"):
        need(shutil.which("node"), "node")
        self.env = env
        self.jwks = os.path.join(env.dir, "ci-jwks.json")
        self.log = os.path.join(env.dir, "ci.log")
        ready = os.path.join(env.dir, "ci.ready")
        self.proc = subprocess.Popen(
            ["node", os.path.join(IDP_DIR, "ci-platform.js"), "--jwks-out",
             self.jwks, "--ready-file", ready, "--log", self.log, "--ttl",
             str(ttl), "--actor", actor], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(
                env.dir, "ci.err"), "w"), env=env.env)
        env.procs.append(self.proc)
        wait_for(lambda: os.path.exists(ready) or self.proc.poll() is not
                 None, "the CI platform")
        check(self.proc.poll() is None, "ci-platform.js exited")
        with open(ready) as f:
            info = json.load(f)
        self.url, self.request_token = info["url"], info["request_token"]

    def actions_env(self):
        return {"ACTIONS_ID_TOKEN_REQUEST_URL": self.url +
                "/token?api-version=2.0",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token}

    def issued(self):
        try:
            with open(self.log) as f:
                return [json.loads(line) for line in f if line.strip()]
        except OSError:
            return []

    def fetch(self, audience):
        """One ambient token, as a job step would get it."""
        import urllib.parse
        import urllib.request
        req = urllib.request.Request(
            self.url + "/token?audience=" + urllib.parse.quote(audience),
            headers={"Authorization": "Bearer " + self.request_token})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())["value"]


def _federated(env, idp, ci, extra="", daemon_env=None):
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "config.ini")
    with open(path, "w") as f:
        f.write("store = memory\n\n[profile default]\nissuer = %s\n"
                "client_id = tb-cli\naudience = https://api.tb.test\n"
                "grant = federated\n%s" % (idp.issuer, extra))
    os.chmod(path, 0o600)
    return env.start(env=daemon_env or {})


def _exchanges(idp):
    return [e for e in idp.entries("/token", TX) if e.get("federated")]


TX = "urn:ietf:params:oauth:grant-type:token-exchange"


def federated_actions(env):
    """grant = federated with GitHub Actions' variables in authd's
    environment: CI=true tb login, with no terminal, logs in without a
    person (no device or browser request at the provider); the token is
    the user's (alice, named by the CI token's actor) and mints project
    tokens."""
    ci = CiPlatform(env)
    idp = IdP(env, "--federation-issuer", ci.url, "--federation-jwks",
              ci.jwks)
    _federated(env, idp, ci, daemon_env=ci.actions_env())
    t0 = time.monotonic()
    p = subprocess.run([TB, "login"], env=dict(env.env, CI="true",
                                               TB_INTERACTIVE=""),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30)
    check(p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr))
    check(time.monotonic() - t0 < 5, "slow")
    check(not idp.entries("/device/auth") and not idp.entries("/auth"),
          "a login that needs a person was started")
    issued = ci.issued()
    check(len(issued) == 1 and issued[0]["aud"] == idp.issuer, issued)
    ex = _exchanges(idp)
    check(len(ex) == 1 and ex[0]["status"] == 200 and
          ex[0]["federated"] == "alice" and ex[0]["subject_token_type"] ==
          "urn:ietf:params:oauth:token-type:jwt", ex)
    r = env.tb("token")
    check(r.returncode == 0, r.stderr)
    status, info = idp.userinfo(r.stdout.strip())
    check(status == 200 and info["sub"] == "alice", info)
    r = env.tb("token", "--project", "prj_123")
    check(r.returncode == 0, "project token: %s" % r.stderr)
    r = env.tb("--json", "status")
    st = json.loads(r.stdout)
    check(r.returncode == 0 and st["logged_in"] is True, st)
    # Who: from userinfo (an exchange brings no id_token).
    check(st.get("sub") == "alice" and
          st.get("email") == "alice@example.test", st)
    # Without the variables: a clear error naming them.
    env.daemons[-1].stop()
    _federated(env, idp, ci)
    r = env.tb("token")
    check(r.returncode == 3 and "ACTIONS_ID_TOKEN_REQUEST_URL" in r.stderr,
          "exit %d: %s" % (r.returncode, r.stderr))


def federated_long_job(env):
    """A 10-minute job scaled down: ambient tokens live 3 s, user tokens
    8 s; for 16 s a job asks for project tokens, and gets one every time;
    every exchange used an ambient token fetched for it (as many issued
    as exchanged, all distinct), including after the first ones expired."""
    ci = CiPlatform(env, ttl=3)
    idp = IdP(env, "--federation-issuer", ci.url, "--federation-jwks",
              ci.jwks, "--at-ttl", "8", "--exchange-ttl", "6")
    _federated(env, idp, ci, daemon_env=ci.actions_env())
    t0 = time.monotonic()
    calls = []

    def step():
        r = env.tb("token", "--project", "prj_123")
        check(r.returncode == 0 and r.stdout.strip(),
              "call %d at %.1f s: exit %d: %s" % (
                  len(calls), time.monotonic() - t0, r.returncode,
                  r.stderr))
        calls.append(time.monotonic() - t0)
        return calls[-1] >= 16
    wait_for(step, "16 s of project tokens", timeout=60, interval=0.25)
    ex = _exchanges(idp)
    issued = ci.issued()
    check(len(ex) >= 3, "only %d exchanges in 16 s" % len(ex))
    check(all(e["status"] == 200 for e in ex), ex)
    check(len(issued) == len(ex), "%d ambient tokens for %d exchanges" %
          (len(issued), len(ex)))
    check(len({i["jti"] for i in issued}) == len(issued), "a reused token")
    # The later exchanges came after the first ambient token expired.
    check(ex[-1]["t"] / 1000 > issued[0]["exp"] + 1, (ex[-1], issued[0]))


def federated_file_expires(env):
    """federated_token_file is read for every exchange, never cached: an
    ambient token that expired between two exchanges is refused by the
    provider with a clear error; the file's next token works."""
    # Under valgrind authd is slower: the ambient token lives longer.
    ci = CiPlatform(env, ttl=2 * SLOW)
    idp = IdP(env, "--federation-issuer", ci.url, "--federation-jwks",
              ci.jwks, "--at-ttl", "6")
    tokfile = os.path.join(env.dir, "ambient.jwt")
    d = _federated(env, idp, ci, "federated_token_file = %s\n" % tokfile)
    with open(tokfile, "w") as f:
        f.write(ci.fetch(idp.issuer) + "\n")
    stale = open(tokfile).read().strip()
    r = env.tb("token")
    check(r.returncode == 0, r.stderr)
    first = ci.issued()[0]
    # The user token (6 s, renewed 5 s before its end) and the ambient
    # token (2 s) both end: the next exchange reads the stale file.
    wait_for(lambda: time.time() > max(first["exp"] + 1, 0) and
             len(_exchanges(idp)) >= 1 and env.tb("token").returncode != 0,
             "the stale ambient token to be refused", timeout=30,
             interval=0.3)
    r = env.tb("token")
    check(r.returncode == 3 and "refused the ambient token" in r.stderr,
          "exit %d: %s" % (r.returncode, r.stderr))
    with open(tokfile + ".tmp", "w") as f:
        f.write(ci.fetch(idp.issuer))
    os.rename(tokfile + ".tmp", tokfile)
    r = env.tb("token", "--project", "prj_123")
    check(r.returncode == 0, "after a fresh file: %s" % r.stderr)
    st = [e["status"] for e in idp.entries("/token", TX)
          if e.get("subject_token_type", "").endswith(":jwt")]
    check(len(st) >= 4 and st[0] == 200 and st[-1] == 200 and
          all(x == 400 for x in st[1:-1]), st)
    # The ambient tokens never reach the log.
    for tok in (stale, open(tokfile).read().strip()):
        check(tok.split(".")[2] not in d.log_text(), "a token in the log")


def federated_env(env):
    """federated_token_env names a variable of authd's environment, read
    for every exchange; id_token as the subject_token_type; a missing
    variable is an error that names it."""
    ci = CiPlatform(env)
    idp = IdP(env, "--federation-issuer", ci.url, "--federation-jwks",
              ci.jwks)
    tok = ci.fetch(idp.issuer)
    d = _federated(env, idp, ci, "federated_token_env = CI_OIDC_TOKEN\n"
                   "federated_token_type = id_token\n",
                   daemon_env={"CI_OIDC_TOKEN": tok})
    r = env.tb("token", "--project", "prj_123")
    check(r.returncode == 0, r.stderr)
    ex = _exchanges(idp)
    check(len(ex) == 1 and ex[0]["subject_token_type"] ==
          "urn:ietf:params:oauth:token-type:id_token", ex)
    check(tok.split(".")[2] not in d.log_text(), "the token in the log")
    d.stop()
    _federated(env, idp, ci, "federated_token_env = CI_OIDC_TOKEN\n")
    r = env.tb("token")
    check(r.returncode == 3 and "$CI_OIDC_TOKEN (authd's environment) is "
          "not set" in r.stderr, "exit %d: %s" % (r.returncode, r.stderr))


def _qr_decode(env, lines):
    """Terminal QR text (drawn = light, as qrencode -t UTF8) to a PBM,
    read back with zbarimg: the decoded text."""
    full, upper, lower = "\u2588", "\u2580", "\u2584"
    rows = []
    for line in lines:
        top, bottom = [], []
        for ch in line:
            check(ch in (" ", full, upper, lower), "glyph %r" % ch)
            top.append(0 if ch in (full, upper) else 1)
            bottom.append(0 if ch in (full, lower) else 1)
        rows += [top, bottom]
    width = max(len(r) for r in rows)
    scale = 6
    pbm = os.path.join(env.dir, "qr.pbm")
    with open(pbm, "w") as f:
        # 1 is black in PBM; light modules (drawn) are white.
        f.write("P1\n%d %d\n" % (width * scale, len(rows) * scale))
        for r in rows:
            r = r + [0] * (width - len(r))
            line = " ".join(str(v) for v in r for _ in range(scale))
            for _ in range(scale):
                f.write(line + "\n")
    p = subprocess.run(["zbarimg", "--quiet", "--raw", pbm],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, "zbarimg: %s %s" % (p.stdout, p.stderr))
    return p.stdout.strip()


def device_qr(env):
    """tb login --qr on a terminal wide enough shows the page with the
    code in it as a QR code that a real decoder (zbar) reads back; on a
    narrow terminal it says why not."""
    need(shutil.which("script"), "script (util-linux)")
    need(shutil.which("zbarimg"), "zbarimg (zbar-tools)")
    idp = IdP(env, "--interval", "1")
    daemon_for(env, idp)
    out = os.path.join(env.dir, "typescript")

    def run_tb(cols):
        if os.path.exists(out):
            os.unlink(out)
        p = subprocess.Popen(
            ["script", "-qfec", "stty cols %d rows 60; %s login --device "
             "--no-browser --qr" % (cols, TB), out], env=env.env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        env.procs.append(p)
        read = lambda: open(out, encoding="utf-8", errors="replace").read() \
            if os.path.exists(out) else ""
        wait_for(lambda: "Waiting for approval" in read(), "the code",
                 timeout=30)
        p.send_signal(2)
        p.wait(timeout=20)
        return read().replace("\r", "")

    text = run_tb(120)
    check("Or scan this with a phone:" in text, text[-800:])
    body = text.split("Or scan this with a phone:\n\n", 1)[1]
    lines = []
    for line in body.split("\n"):
        if not line.strip(" \u2588\u2580\u2584") and line:
            lines.append(line)
        elif lines:
            break
    import re
    code = re.search(r"code: (\S+)", text).group(1)
    got = _qr_decode(env, lines)
    check(got == "%s/device?user_code=%s" % (idp.issuer, code),
          "the QR code reads %r" % got)
    text = run_tb(20)
    check("No QR code: it needs" in text and "the terminal has 20" in text,
          text[-800:])


TESTS = {f.__name__: f for f in (
    ci_no_person, ci_tty_still_refused, person_says_so,
    interactive_arg_checked, browser_login, device_without_display,
    listener_attacks, grant_refused_names_other, federated_actions,
    federated_long_job, federated_file_expires, federated_env, device_qr,
    browser_expires)}

if __name__ == "__main__":
    run(TESTS)
