"""Lifetimes of a login (profile max_idle and max_session, like ssh-add
-t) against the test provider and the file store, with short values;
every wait is on a condition with a deadline. Run one with:
python3 test_lifetime.py NAME."""
import json
import os
import subprocess

from harness import AUTHD, IdP, Login, check, run, wait_for

API = "https://api.tb.test"
CANARY = "lifecanaryZ3"


def config(env, extra):
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "config.ini")
    with open(path, "w") as f:
        f.write(extra)
    return path


def login(env, idp):
    lg = Login(env, "--no-browser")
    uri, code = lg.code()
    idp.approve(uri, user="alice", code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "tb login exit %d: %s" % (rc, err))


def status(env):
    r = env.tb("--json", "status")
    return json.loads(r.stdout)


def stored(env):
    return os.path.exists(os.path.join(env.home, ".state", "authd",
                                       "default.json"))


def idle_forgets(env):
    """max_idle = 2: after 2 s without use the tokens leave authd's memory
    (status "idle", still logged in; as root, the canary that starts each
    opaque token is no longer in /proc/PID/mem); the next tb token loads
    the stored login again and gets the same token, with no new login."""
    idp = IdP(env, "--interval", "1", "--canary", CANARY)
    config(env, "store = file\n[profile default]\nissuer = %s\n"
           "client_id = tb-cli\naudience = %s\nmax_idle = 2\n" %
           (idp.issuer, API))
    d = env.start(env={"AUTHD_MEMFD_SECRET": "0"})    # tokens readable
    login(env, idp)
    r = env.tb("token")
    check(r.returncode == 0, r.stderr)
    first = r.stdout.strip()
    check(env.tb("token", "--project", "prj_123").returncode == 0, "mint")
    wait_for(lambda: status(env).get("idle") is True, "the idle forget",
             timeout=15)
    st = status(env)
    check(st["logged_in"] is True, "idle reads as logged out: %s" % st)
    check("max_idle" in d.log_text(), "the log does not say why")
    r = env.tb("status")
    check(r.returncode == 0 and "max_idle" in r.stdout and
          "logged in as alice" in r.stdout and "source    store" in
          r.stdout and "not persisted" not in r.stdout,
          "tb status: " + r.stdout)
    if os.geteuid() == 0:
        from test_lock import memory_hits
        hits = memory_hits(d.pid, CANARY.encode()) or []
        check(not hits, "tokens still in memory after max_idle: %s" %
              hits[:3])
    r = env.tb("--json", "list")
    check(json.loads(r.stdout)["tokens"] == [], "minted tokens kept")
    logins = len(idp.entries("/device/auth"))
    r = env.tb("token")
    check(r.returncode == 0 and r.stdout.strip() == first,
          "not the stored token: %s" % r.stderr)
    check(status(env).get("idle") is None, "still idle after a use")
    check(len(idp.entries("/device/auth")) == logins, "a new login")
    check(stored(env), "the stored login is gone")


def session_ends(env):
    """max_session = 3: 3 s after the login it ends: the stored login is
    deleted, its tokens revoked at the provider, tb token says to log in
    (exit 3), status says why ("ended": "max_session"); a new login
    works and starts a new session."""
    idp = IdP(env, "--interval", "1")
    config(env, "store = file\n[profile default]\nissuer = %s\n"
           "client_id = tb-cli\nmax_session = 3\n" % idp.issuer)
    env.start()
    login(env, idp)
    check(env.tb("token").returncode == 0, "no token in the session")
    wait_for(lambda: status(env).get("ended") == "max_session",
             "the session's end", timeout=15)
    check(not stored(env), "the stored login is still there")
    wait_for(lambda: len(idp.entries("/token/revocation")) == 2,
             "the revocation of both tokens", timeout=10)
    r = env.tb("token")
    check(r.returncode == 3 and "tb login" in r.stderr, r.stderr)
    r = env.tb("status")
    check(r.returncode == 3 and "max_session" in r.stderr, r.stderr)
    login(env, idp)
    check(env.tb("token").returncode == 0, "no token after a new login")
    check(status(env).get("ended") is None, "still ended")


def lifetime_config(env):
    """max_idle and max_session are seconds, 1 to a year: anything else
    is refused with the key and the line."""
    for bad in ("max_idle = 0", "max_session = -5", "max_idle = 1h",
                "max_session = 99999999999"):
        path = config(env, "[profile a]\nissuer = https://idp.test\n"
                      "client_id = x\n%s\n" % bad)
        r = subprocess.run([AUTHD, "--check-config", "--config", path],
                           env=env.env, capture_output=True, text=True,
                           timeout=30)
        key = bad.split()[0]
        check(r.returncode == 1 and "key '%s'" % key in r.stderr and
              "seconds" in r.stderr, "%s: %d %s" % (bad, r.returncode,
                                                     r.stderr))


TESTS = {f.__name__: f for f in (idle_forgets, session_ends,
                                 lifetime_config)}

if __name__ == "__main__":
    run(TESTS)
