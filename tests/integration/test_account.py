"""Account lifecycle: logout with server revocation (and without a
server), status over every profile, live checks. Run one with:
python3 test_account.py NAME."""
import json
import os
import signal
import urllib.request

from harness import IdP, Login, check, run, wait_for


def config(env, text):
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write(text)


def login(env, idp, *args, user="alice"):
    lg = Login(env, "--no-browser", *args)
    uri, code = lg.code()
    idp.approve(uri, user=user, code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "tb login exit %d: %s" % (rc, err))


def introspect(idp, tok):
    body = ("client_id=tb-cli&token=%s" % tok).encode()
    with urllib.request.urlopen(idp.issuer + "/token/introspection",
                                data=body, timeout=10) as r:
        return json.loads(r.read())["active"]


def stored(env, profile="default"):
    with open(os.path.join(env.home, ".state", "authd",
                           profile + ".json")) as f:
        return json.load(f)


def logout_revokes(env):
    """tb logout revokes the refresh and access tokens at the provider,
    removes the stored login and the minted tokens."""
    idp = IdP(env, "--interval", "1")
    config(env, "store = file\n[profile default]\nissuer = %s\n"
           "client_id = tb-cli\naudience = https://api.tb.test\n" %
           idp.issuer)
    env.start()
    login(env, idp)
    rec = stored(env)
    rt, at = rec["refresh_token"], rec["access_token"]
    check(introspect(idp, rt) and introspect(idp, at), "not active before")
    check(env.tb("token", "--project", "prj_123").returncode == 0, "mint")
    r = env.tb("logout")
    check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
    check("revoked at the server" in r.stderr, r.stderr)
    check(not introspect(idp, rt), "refresh token still active")
    check(not introspect(idp, at), "access token still active")
    revs = idp.entries("/token/revocation")
    check([e.get("token_type_hint") for e in revs] ==
          ["refresh_token", "access_token"], revs)
    check(not os.path.exists(os.path.join(env.home, ".state", "authd",
                                          "default.json")),
          "the stored login is still there")
    r = env.tb("token")
    check(r.returncode == 3 and "hint: run 'tb login'" in r.stderr,
          r.stderr)
    r = env.tb("--json", "list")
    check(json.loads(r.stdout)["tokens"] == [], "minted tokens kept")
    r = env.tb("logout")
    check(r.returncode == 3 and "nothing to log out" in r.stderr, r.stderr)


def logout_offline(env):
    """The provider is down: the login is removed here all the same, and
    the output says the revocation did not happen and why."""
    idp = IdP(env, "--interval", "1")
    config(env, "store = file\n[profile default]\nissuer = %s\n"
           "client_id = tb-cli\n" % idp.issuer)
    d = env.start()
    login(env, idp)
    idp.stop(signal.SIGKILL)
    r = env.tb("logout")
    check(r.returncode == 1, "exit %d: %s" % (r.returncode, r.stderr))
    check("logged out here, but the revocation at the server failed" in
          r.stderr and "hint: " in r.stderr, r.stderr)
    r = env.tb("--json", "status")
    st = json.loads(r.stdout)
    check(r.returncode == 3 and st["logged_in"] is False, st)
    check(not os.path.exists(os.path.join(env.home, ".state", "authd",
                                          "default.json")),
          "the stored login survived an offline logout")
    d.stop()
    # And after a restart it is still gone.
    env.start()
    check(env.tb("token").returncode == 3, "came back after a restart")


def logout_during_load(env):
    """A logout sent while the stored login is still loading waits for
    it, revokes it and removes it: it does not come back."""
    from harness import Keyring
    Keyring(env)
    idp = IdP(env, "--interval", "1")
    config(env, "[profile default]\nissuer = %s\nclient_id = tb-cli\n" %
           idp.issuer)
    d = env.start()
    login(env, idp)
    d.stop()
    # Autostart a fresh daemon with the logout itself: it races the load.
    r = env.tb("logout")
    check(r.returncode == 0 and "revoked" in r.stderr,
          "exit %d: %s" % (r.returncode, r.stderr))
    r = env.tb("token")
    check(r.returncode == 3, "the login came back: exit %d" % r.returncode)
    check(len(idp.entries("/token/revocation")) == 2, "not revoked")


def logout_store_fails(env):
    """The keyring does not answer the delete: the reply says the stored
    login could not be removed, and why; tb exits 1 with a hint. authd has
    forgotten the login all the same."""
    from harness import Keyring
    kr = Keyring(env)
    idp = IdP(env, "--interval", "1")
    config(env, "[profile default]\nissuer = %s\nclient_id = tb-cli\n" %
           idp.issuer)
    d = env.start()
    login(env, idp)
    os.kill(kr.gkd.pid, signal.SIGSTOP)
    try:
        r = env.tb("--json", "logout")
        res = json.loads(r.stdout)
        check(r.returncode == 1 and res["removed"] is False and
              res["revocation"] == "revoked" and
              "did not answer" in res["store_error"],
              "exit %d: %s %s" % (r.returncode, r.stdout, r.stderr))
        check("the stored credential may remain" in d.log_text(),
              "not logged")
        st = json.loads(env.tb("--json", "status").stdout)
        check(st["logged_in"] is False, st)
        login(env, idp)
        r = env.tb("logout")
        check(r.returncode == 1 and "could not be removed" in r.stderr and
              "run 'tb logout' again" in r.stderr, r.stderr)
        # A client that leaves while the delete is pending: the store's
        # late answer finds the request gone (leak and use-after-free
        # checks: the sanitizer and valgrind runs of this test).
        login(env, idp)
        c = env.conn()
        c.request("logout", {"profile": "default"})
        wait_for(lambda: d.log_text().count("logged out locally") == 3,
                 "the third logout")
        c.close()
        wait_for(lambda: d.log_text().count(
            "the stored credential may remain") == 3, "the store's answer",
            timeout=20)
    finally:
        os.kill(kr.gkd.pid, signal.SIGCONT)
    # The keyring answers again: a logout now removes what is stored.
    login(env, idp)
    r = env.tb("--json", "logout")
    res = json.loads(r.stdout)
    check(r.returncode == 0 and res["removed"] is True and
          "store_error" not in res, r.stdout + r.stderr)
    # A client that leaves while its logout waits for the load: the
    # logout still happens here, once the load is over.
    login(env, idp)
    d.stop()
    os.kill(kr.gkd.pid, signal.SIGSTOP)
    try:
        d = env.start()
        c = env.conn()
        c.request("logout", {"profile": "default"})
        wait_for(lambda: "logout waits for the stored credential" in
                 d.log_text(), "the logout to wait for the load")
        c.close()
        os.kill(kr.gkd.pid, signal.SIGCONT)
        wait_for(lambda: "logged out locally" in d.log_text(),
                 "the local logout after the load", timeout=20)
    finally:
        os.kill(kr.gkd.pid, signal.SIGCONT)
    wait_for(lambda: json.loads(env.tb("--json", "status").stdout)[
        "logged_in"] is False, "the logout to take effect")
    d.stop()
    d = env.start()
    st = json.loads(env.tb("--json", "status").stdout)
    check(st["logged_in"] is False, "the login came back: %s" % st)
    d.stop()


def status_all_and_check(env):
    """tb status --all covers every profile; --check asks the provider."""
    a = IdP(env, "--interval", "1")
    b = IdP(env, "--interval", "1", name="idp-b")
    config(env, "store = memory\n[profile one]\nissuer = %s\nclient_id = "
           "tb-cli\n[profile two]\nissuer = %s\nclient_id = tb-cli\n" %
           (a.issuer, b.issuer))
    env.start()
    login(env, a, "--profile", "one")
    r = env.tb("--json", "status", "--all")
    check(r.returncode == 3, "exit %d (two is logged out)" % r.returncode)
    ps = json.loads(r.stdout)["profiles"]
    check([(p["profile"], p["logged_in"]) for p in ps] ==
          [("one", True), ("two", False)], ps)
    r = env.tb("status", "--all")
    check("one" in r.stdout and "two" in r.stdout, r.stdout)
    r = env.tb("--profile", "one", "status", "--check")
    check(r.returncode == 0 and "checked" in r.stdout, r.stdout + r.stderr)
    st = json.loads(env.tb("--json", "--profile", "one", "status",
                           "--check").stdout)
    check(st["check"] == "ok" and st["sub"] == "alice" and
          "expires_at" in st, st)
    # The provider forgets the grant: --check says not authenticated, and
    # shows no identity or login details, as for any status logged out.
    a.stop()
    a.start(port=a.port)
    r = env.tb("--json", "--profile", "one", "status", "--check")
    st = json.loads(r.stdout)
    check(r.returncode == 3 and st["logged_in"] is False and
          st["check"] == "rejected", st)
    check(not {"sub", "preferred_username", "expires_at", "scope",
               "logged_in_at"} & set(st), "stale login details: %s" % st)
    # The provider is down: an error, not "logged out".
    login(env, a, "--profile", "one")
    a.stop(signal.SIGKILL)
    r = env.tb("--profile", "one", "status", "--check")
    check(r.returncode == 1 and "not logged in" not in r.stderr,
          "exit %d: %s" % (r.returncode, r.stderr))


TESTS = {f.__name__: f for f in (logout_revokes, logout_offline,
                                 logout_store_fails, logout_during_load,
                                 status_all_and_check)}

if __name__ == "__main__":
    run(TESTS)
