"""The configuration file: profiles, errors that name file, line and key,
SIGHUP reloads, client authentication. Run one with:
python3 test_config.py NAME."""
import json
import os
import signal

from harness import IdP, Login, check, wait_for, run


def write_config(env, text, mode=0o600):
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "config.ini")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def login(env, idp, *args, user="alice"):
    lg = Login(env, "--no-browser", *args)
    uri, code = lg.code()
    idp.approve(uri, user=user, code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "tb login exit %d: %s" % (rc, err))


def bad_config(env):
    """A mistake names the file, the line and the key; authd refuses."""
    import subprocess
    cases = [
        ("[profile a]\nissuer = https://idp.test\nclient_id = x\n"
         "mint = sideways\n", 4, "mint", "unknown mint 'sideways'"),
        ("store = cloud\n", 1, "store", "unknown store 'cloud'"),
        ("[profile a]\nissuer = http://idp.test\nclient_id = x\n", 2,
         "issuer", "only https://"),
        ("[profile a]\nissuer = https://idp.test\ncolour = red\n", 3,
         "colour", "unknown key 'colour'"),
        ("[server]\nport = 1\n", 2, "port", "unknown section [server]"),
        ("[profile a]\nthis line is not ini\n", 2, None, "syntax error"),
        ("[profile a/b]\nissuer = https://idp.test\n", 2, "issuer",
         "profile names"),
        ("[profile a]\nissuer = https://idp.test\n  client_id = x\n", 3,
         "issuer", "set twice"),
        ("[profile a]\nclient_id = x\nclient_id = y\n", 3, "client_id",
         "set twice"),
        ("[profile a]\nissuer = https://idp.test/%s\n" % ("a" * 300), 2,
         None, "line too long"),
    ]
    for text, line, key, words in cases:
        path = write_config(env, text)
        r = subprocess.run([os.environ.get("AUTHD_BIN") or os.path.join(
            os.environ["AUTHD_BUILD_DIR"], "authd"), "--foreground",
            "--socket", env.sock], env=env.env, capture_output=True,
            text=True, timeout=20)
        check(r.returncode == 1, "accepted: %r" % text)
        msg = r.stderr.strip()
        check("%s:%d:" % (path, line) in msg, "no file:line in %r" % msg)
        if key:
            check("key '%s'" % key in msg, "no key in %r" % msg)
        check(words in msg, "%r not in %r" % (words, msg))
    # Modes, as ssh checks its own files: others may not change the file,
    # and may not read it when it holds a client_secret.
    good = ("[profile a]\nissuer = https://idp.test\nclient_id = x\n"
            "client_auth = basic\nclient_secret = s3cret-canary\n")
    for text, mode, words in (
            (good, 0o640, "readable by group or others (mode 0640): "
             "chmod 600"),
            (good, 0o604, "readable by group or others (mode 0604)"),
            ("store = memory\n", 0o620, "writable by group or others "
             "(mode 0620)"),
            ("store = memory\n", 0o646, "chmod go-w")):
        path = write_config(env, text, mode)
        r = subprocess.run([os.environ.get("AUTHD_BIN") or os.path.join(
            os.environ["AUTHD_BUILD_DIR"], "authd"), "--foreground",
            "--socket", env.sock], env=env.env, capture_output=True,
            text=True, timeout=20)
        check(r.returncode == 1 and path in r.stderr and
              words in r.stderr and "s3cret" not in r.stderr,
              "mode %o: %d %r" % (mode, r.returncode, r.stderr))
    # A file of another user (root may own it) is refused.
    if os.geteuid() == 0:
        path = write_config(env, "store = memory\n")
        os.chown(path, 65534, 65534)
        r = subprocess.run([os.environ.get("AUTHD_BIN") or os.path.join(
            os.environ["AUTHD_BUILD_DIR"], "authd"), "--foreground",
            "--socket", env.sock], env=env.env, capture_output=True,
            text=True, timeout=20)
        check(r.returncode == 1 and "owned by uid 65534" in r.stderr,
              "a foreign config.ini: %d %r" % (r.returncode, r.stderr))
        os.chown(path, 0, 0)
    # 0644 without a secret, and 0600 with one, are fine.
    for text, mode in (("store = memory\n", 0o644), (good, 0o600)):
        write_config(env, text, mode)
        d = env.start("--store", "memory")
        d.stop()
    # Whole-profile checks name the profile and its header's line.
    path = write_config(env, "store = memory\n\n[profile a]\n"
                        "issuer = https://idp.test\n")
    r = env.tb("status")     # autostart fails with the reason
    check(r.returncode == 4 and "%s:3: [profile a]: issuer and client_id "
          "are required" % path in r.stderr, r.stderr)
    path = write_config(env, "default_profile = b\n[profile a]\n"
                        "issuer = https://idp.test\nclient_id = x\n")
    r = env.tb("status")
    check(r.returncode == 4 and "%s:1: default_profile 'b' has no" % path
          in r.stderr, r.stderr)


def profiles_and_reload(env):
    """Two profiles against two providers; SIGHUP adds a third and keeps
    the others; a broken file on SIGHUP changes nothing."""
    a, b = IdP(env, "--interval", "1"), IdP(env, "--interval", "1",
                                            name="idp-b")
    path = write_config(env, (
        "default_profile = work\nstore = memory\n"
        "[profile work]\nissuer = %s\nclient_id = tb-cli\n"
        "audience = https://api.tb.test\n"
        "[profile home]\nissuer = %s\nclient_id = tb-confidential\n"
        "client_secret = tb-secret\naudience = https://api.tb.test\n") %
        (a.issuer, b.issuer))
    d = env.start()
    login(env, a)                        # the default profile: work
    login(env, b, "--profile", "home", user="bob")
    ta = env.tb("token").stdout.strip()
    tb_ = env.tb("--profile", "home", "token").stdout.strip()
    check(a.userinfo(ta)[1]["sub"] == "alice", "work token")
    check(b.userinfo(tb_)[1]["sub"] == "bob", "home token")
    check(a.userinfo(tb_)[0] == 401 and b.userinfo(ta)[0] == 401,
          "tokens crossed providers")
    # Basic client authentication was used for home.
    check(any(e.get("client_id") == "tb-confidential"
              for e in b.entries("/token")), b.entries("/token"))
    # Project tokens: each from its own provider, never crossed.
    pa = env.tb("token", "--project", "prj_123").stdout.strip()
    pb = env.tb("--profile", "home", "token", "--project",
                "prj_789").stdout.strip()
    check(pa and pb and pa != pb, "project tokens")
    check(env.tb("--profile", "home", "token", "--project",
                 "prj_123").returncode == 5, "bob got alice's project")
    # A third profile by SIGHUP; the others keep their logins and caches.
    c = IdP(env, "--interval", "1", name="idp-c")
    with open(path, "a") as f:
        f.write("[profile third]\nissuer = %s\nclient_id = "
                "tb-confidential-post\nclient_secret = tb-secret\n"
                "client_auth = post\n" % c.issuer)
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded: 3 profiles" in d.log_text(),
             "the reload")
    check(env.tb("token").stdout.strip() == ta, "work lost its token")
    r = env.tb("--json", "token", "--project", "prj_123")
    check(json.loads(r.stdout)["cached"] and
          json.loads(r.stdout)["token"] == pa, "the reload dropped a cache")
    r = env.tb("--json", "--profile", "home", "token", "--project",
               "prj_789")
    check(json.loads(r.stdout)["cached"], "the reload dropped home's cache")
    check(env.tb("--profile", "home", "token").stdout.strip() == tb_,
          "home lost its token")
    r = env.tb("--profile", "third", "--json", "status")
    check(r.returncode == 3 and json.loads(r.stdout)["issuer"] == c.issuer,
          r.stdout + r.stderr)
    login(env, c, "--profile", "third")
    # A broken file: the old configuration stays.
    with open(path, "a") as f:
        f.write("[profile broken]\nmint = nope\n")
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in d.log_text(), "the failed reload")
    check("config.ini:" in d.log_text() and "key 'mint'" in d.log_text(),
          "the log does not name the line and key")
    check(env.tb("--profile", "third", "token").returncode == 0,
          "third lost after a bad reload")
    r = env.tb("--profile", "broken", "status")
    check(r.returncode == 2, "a profile from the broken file exists")
    # Logging out of one profile leaves the others logged in.
    check(env.tb("--profile", "home", "logout").returncode == 0, "logout")
    check(env.tb("--profile", "home", "token").returncode == 3,
          "home still logged in")
    check(env.tb("token").stdout.strip() == ta, "work lost its login")
    check(env.tb("--profile", "third", "token").returncode == 0,
          "third lost its login")
    d.stop()


def secret_not_echoed(env):
    """A line inih cannot parse is quoted in the error, but never one
    that holds a client_secret (or any secret, password or token): at
    start (stderr, and tb's autostart message) and on SIGHUP (the log,
    at debug level), the file, line and key are named and the value is
    not."""
    import subprocess
    canary = "hunter2CANARYsecret"
    good = ("store = memory\n[profile a]\nissuer = https://idp.test\n"
            "client_id = x\nclient_secret = %s\n" % canary)
    for bad, line, key in (
            (good.replace("client_secret = ", "client_secret "), 5,
             "client_secret"),
            (good.replace("client_secret = ", "client_secret =\n"), 6,
             None),
            ("store = memory\ntoken %s\n" % canary, 2, "token")):
        path = write_config(env, bad)
        r = subprocess.run([os.environ.get("AUTHD_BIN") or os.path.join(
            os.environ["AUTHD_BUILD_DIR"], "authd"), "--foreground",
            "--socket", env.sock], env=env.env, capture_output=True,
            text=True, timeout=20)
        check(r.returncode == 1, "accepted: %r" % bad)
        check(canary not in r.stderr + r.stdout, "the secret was echoed: "
              "%r" % r.stderr)
        check("%s:%d: " % (path, line) in r.stderr and "not shown" in
              r.stderr, "no file, line or reason: %r" % r.stderr)
        if key:
            check("key '%s'" % key in r.stderr, "no key: %r" % r.stderr)
        r = env.tb("status")     # autostart fails with the reason
        check(r.returncode == 4 and "%s:%d: " % (path, line) in r.stderr and
              canary not in r.stdout + r.stderr, r.stderr)
    # On SIGHUP the mistake goes to the log, which keeps the old file.
    path = write_config(env, good)
    d = env.start()
    write_config(env, good.replace("client_secret = ", "client_secret "))
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in d.log_text(), "the failed reload")
    log = d.log_text()
    check("%s:5: key 'client_secret'" % path in log, "the log does not "
          "name the line and key: %s" % log[-2000:])
    check(canary not in log, "the secret is in the log: %s" % log[-2000:])
    check(env.tb("--json", "status").returncode == 3, "the old "
          "configuration was dropped")
    d.stop()
    check(canary not in d.log_text() + open(d.log + ".stderr").read(),
          "the secret is in the log")


TESTS = {f.__name__: f for f in (bad_config, profiles_and_reload,
                                 secret_not_echoed)}

if __name__ == "__main__":
    run(TESTS)
