"""authd's HTTP helper, authd-http (daemon/http.c, daemon/authd-http.c):
libcurl and its TLS stack live only in a helper process that authd starts
for its first transfer and lets go after 5 s without one, so an idle authd
maps none of them; a helper that dies fails only the transfers it had, and
the next one starts another; without the helper authd says what is
missing. Run one with: python3 test_http_helper.py NAME."""
import json
import os
import shutil
import signal
import subprocess
import urllib.request

import harness
from harness import IdP, Login, TB, check, children, wait_for, run

API = "https://api.tb.test"
LIBS = ("libcurl", "libssl", "libgnutls", "libldap", "libnghttp2")


def config(env, idp):
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("store = memory\n\n[profile default]\nissuer = %s\n"
                "client_id = tb-cli\naudience = %s\n" % (idp.issuer, API))


def login(env, idp):
    lg = Login(env, "--no-browser")
    uri, code = lg.code()
    idp.approve(uri, user="alice", code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "tb login: exit %d: %s" % (rc, err))


def helpers(pid):
    """The pids of authd-http processes whose parent is pid."""
    return [k[0] for k in children(pid) if k[3] == "authd-http"]


def mapped(pid):
    with open("/proc/%d/maps" % pid) as f:
        text = f.read()
    return sorted({lib for lib in LIBS if lib in text})


def post(idp, path):
    req = urllib.request.Request(idp.issuer + path, data=b"")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def held(idp):
    with urllib.request.urlopen(idp.issuer + "/test/held-exchange",
                                timeout=10) as r:
        return json.loads(r.read())["held"]


def http_helper_idle(env):
    """After a login and a token exchange the helper goes within its idle
    time, authd (the daemon's own process) maps no libcurl, TLS or LDAP
    library, and the next cold token starts a helper again."""
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    d = env.start()
    check(mapped(d.pid) == [], "authd maps %s at start" % mapped(d.pid))
    login(env, idp)
    r = env.tb("token", "--project", "prj_123")
    check(r.returncode == 0, "tb token: %s" % r.stderr)
    wait_for(lambda: helpers(d.pid) == [], "the idle HTTP helper to go",
             timeout=30)
    check(mapped(d.pid) == [], "idle authd maps %s" % mapped(d.pid))
    # Cached: no helper needed.
    r = env.tb("token", "--project", "prj_123")
    check(r.returncode == 0, "cached tb token: %s" % r.stderr)
    check(helpers(d.pid) == [], "a cached token started the helper")
    # Cold: a helper again, the token exchange at the provider.
    r = env.tb("--json", "token", "--project", "prj_456")
    check(r.returncode == 0, "cold tb token: %s" % r.stderr)
    check(json.loads(r.stdout).get("cached") is False, r.stdout)
    check("process" not in r.stderr, r.stderr)
    wait_for(lambda: helpers(d.pid) == [], "the helper to go again",
             timeout=30)
    d.stop()


def http_helper_killed(env):
    """SIGKILL to the helper during a token exchange: that tb token fails
    at once, naming the helper; the login is intact and the next tb token
    works through a new helper."""
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    d = env.start()
    login(env, idp)
    post(idp, "/test/hold-exchange")
    bg = subprocess.Popen([TB, "token", "--project", "prj_123"],
                          env=env.env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    env.procs.append(bg)
    wait_for(lambda: held(idp) == 1 or bg.poll() is not None,
             "the token exchange to reach the provider (and be held)")
    check(bg.poll() is None, "tb token did not wait for the held exchange")
    hs = helpers(d.pid)
    check(len(hs) == 1, "helpers of authd: %s" % hs)
    os.kill(hs[0], signal.SIGKILL)
    out, err = bg.communicate(timeout=30)
    check(bg.returncode != 0 and "authd-http" in err,
          "tb token after the helper's death: exit %d: %s" %
          (bg.returncode, err))
    check(out == "", "a token was printed: %r" % out[:20])
    post(idp, "/test/release-exchange")
    wait_for(lambda: hs[0] not in helpers(d.pid) and
             not os.path.exists("/proc/%d" % hs[0]),
             "the killed helper to be reaped")
    r = env.tb("--json", "status")
    check(r.returncode == 0 and json.loads(r.stdout)["logged_in"],
          "status after: %s %s" % (r.stdout, r.stderr))
    r = env.tb("token", "--project", "prj_123")
    check(r.returncode == 0 and r.stdout.strip() != "",
          "tb token through a new helper: %s" % r.stderr)
    d.stop()


def http_helper_missing(env):
    """An authd with no authd-http beside it (nor installed) starts, and a
    login fails with an error that names the missing helper; status still
    answers."""
    bindir = os.path.join(env.dir, "bin")
    os.mkdir(bindir)
    lone = os.path.join(bindir, "authd")
    shutil.copy2(harness.AUTHD, lone)
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    saved = harness.AUTHD
    harness.AUTHD = lone
    try:
        d = env.start()
    finally:
        harness.AUTHD = saved
    check(helpers(d.pid) == [], "a helper without authd-http?")
    r = env.tb("login", "--no-browser", timeout=60)
    check(r.returncode != 0 and "authd-http" in r.stderr and
          "reinstall" in r.stderr,
          "tb login without the helper: exit %d: %s" % (r.returncode,
                                                          r.stderr))
    r = env.tb("--json", "status")
    check(r.returncode == 3, "status: exit %d %s" % (r.returncode, r.stderr))
    d.stop()


TESTS = {f.__name__: f for f in (http_helper_idle, http_helper_killed,
                                 http_helper_missing)}

if __name__ == "__main__":
    run(TESTS)
