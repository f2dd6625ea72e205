"""Login where the user is (issue 17): never interactive where no person
is (CI, no terminal), the browser login with PKCE and a loopback redirect,
and the device fallback. Run one with: python3 test_login_where.py NAME."""
import json
import os
import shutil
import subprocess
import time

from harness import (TB, Conn, IdP, Login, check, need, run, wait_for)

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
    check(took < 1.0, "%s: took %.2f s" % (what, took))
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


TESTS = {f.__name__: f for f in (
    ci_no_person, ci_tty_still_refused, person_says_so,
    interactive_arg_checked)}

if __name__ == "__main__":
    run(TESTS)
