"""The configuration file: profiles, errors that name file, line and key,
SIGHUP reloads, client authentication. Run one with:
python3 test_config.py NAME."""
import json
import os
import signal
import stat
import subprocess

from harness import (AUTHD, SRC, IdP, Login, authd_pids, check, wait_for,
                     run)


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
        # With a profile named, tb reads no rules: autostart fails with
        # authd's reason.
        r = env.tb("--profile", "a", "status")
        check(r.returncode == 4 and "%s:%d: " % (path, line) in r.stderr and
              canary not in r.stdout + r.stderr, r.stderr)
        # Without, tb reads config.ini's context rules itself, and stops
        # at the same line (a config error, exit 1), quoting nothing.
        r = env.tb("status")
        check(r.returncode == 1 and "%s:%d: " % (path, line) in r.stderr and
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
    check(env.tb("--profile", "a", "--json", "status").returncode == 3,
          "the old configuration was dropped")
    d.stop()
    check(canary not in d.log_text() + open(d.log + ".stderr").read(),
          "the secret is in the log")


# --- authd --check-config and tb profile ---

def authd_argv(*args):
    """authd with args; under memcheck in the valgrind_* runs (as the
    harness runs the daemons it starts), where an error or a definite
    leak makes it exit 99."""
    argv = [AUTHD] + list(args)
    if os.environ.get("AUTHD_VALGRIND"):
        argv = ["valgrind", "--quiet", "--error-exitcode=99",
                "--leak-check=full", "--show-leak-kinds=definite",
                "--errors-for-leak-kinds=definite",
                "--suppressions=/usr/share/glib-2.0/valgrind/glib.supp",
                "--suppressions=" + os.path.join(
                    SRC, "tests", "glib-libsecret.supp")] + argv
    return argv


def check_config(env):
    """authd --check-config [--config FILE] reads the configuration as a
    start does (syntax, values, whole profiles, the file's modes, the
    environment without a file): silent and exit 0 when it is good, else
    the start's error (FILE:LINE: key 'K': reason) and exit 1. Each verdict
    is compared with a real start's."""
    good = ("store = memory\n[profile a]\nissuer = https://idp.test\n"
            "client_id = x\n")
    cases = [
        (good, 0o600, 0, None),
        (good, 0o644, 0, None),
        (good + "colour = red\n", 0o600, 1,
         "%s:5: key 'colour': unknown key 'colour' in [profile a]"),
        (good.replace("https://idp.test", "http://idp.test"), 0o600, 1,
         "%s:3: key 'issuer': refusing http://idp.test"),
        ("store = memory\n[profile a]\nissuer = https://idp.test\n", 0o600,
         1, "%s:2: [profile a]: issuer and client_id are required"),
        (good, 0o620, 1, "%s: writable by group or others (mode 0620)"),
        (good + "client_secret = s3cret-canary\n", 0o644, 1,
         "%s: holds a client_secret but is readable by group or others"),
    ]
    path = os.path.join(env.dir, "checked.ini")
    for text, mode, rc, words in cases:
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        r = subprocess.run(authd_argv("--check-config", "--config", path),
                           env=env.env, capture_output=True, text=True,
                           timeout=60)
        check(r.returncode == rc, "exit %d, expected %d: %r: %s" % (
            r.returncode, rc, text, r.stderr))
        check(r.stdout == "", "it printed on stdout: %r" % r.stdout)
        if rc == 0:
            check(r.stderr == "", "a good file, yet: %r" % r.stderr)
            d = env.start("--config", path)      # and a start agrees
            check(env.tb("--profile", "a", "status").returncode == 3,
                  "the checked profile is not served")
            d.stop()
            continue
        check(r.stderr.startswith("authd: " + words % path), r.stderr)
        check(len(r.stderr.splitlines()) == 1, "more than one line: %r" %
              r.stderr)
        check("s3cret" not in r.stderr, "the secret was echoed")
        s = subprocess.run([AUTHD, "--foreground", "--socket", env.sock,
                            "--config", path], env=env.env,
                           capture_output=True, text=True, timeout=20)
        check(s.returncode == 1 and s.stderr == r.stderr,
              "a start says otherwise: %d %r" % (s.returncode, s.stderr))
    # A file that is not there; --config is checked, not the default.
    r = subprocess.run(authd_argv("--check-config", "--config",
                                  path + ".none"), env=env.env,
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and r.stderr == "authd: %s.none: No such file "
          "or directory\n" % path, r.stderr)
    # Without --config: the default file, else the environment.
    r = subprocess.run(authd_argv("--check-config"), env=env.env,
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and r.stderr == "", r.stderr)
    e = dict(env.env, AUTHD_ISSUER="https://idp.test")
    r = subprocess.run(authd_argv("--check-config"), env=e,
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "AUTHD_ISSUER is set but AUTHD_CLIENT_ID "
          "is not" in r.stderr, r.stderr)
    e["AUTHD_ISSUER"], e["AUTHD_CLIENT_ID"] = "http://idp.test", "x"
    r = subprocess.run(authd_argv("--check-config"), env=e,
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and r.stderr.startswith(
        "authd: profile default: issuer: refusing http://idp.test"),
        r.stderr)
    dflt = write_config(env, good.replace("colour", "x") + "mint = no\n")
    r = subprocess.run(authd_argv("--check-config"), env=env.env,
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and r.stderr.startswith(
        "authd: %s:5: key 'mint'" % dflt), r.stderr)
    # Usage.
    r = subprocess.run([AUTHD, "--check-config", "extra"], env=env.env,
                       capture_output=True, text=True, timeout=20)
    check(r.returncode == 2 and "unexpected argument" in r.stderr, r.stderr)
    r = subprocess.run([AUTHD, "--help"], capture_output=True, text=True)
    check("--check-config" in r.stdout, "not in --help")


def config_dir(env):
    return os.path.join(env.home, ".config", "authd")


def config_path(env):
    return os.path.join(config_dir(env), "config.ini")


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def no_temp_files(env):
    left = [n for n in os.listdir(config_dir(env)) if n != "config.ini"]
    check(not left, "temporary files left: %s" % left)


def profile_add_file(env):
    """tb profile add: config.ini created 0600 in a 0700 directory when
    missing; added to an existing file, every other byte is kept (the
    section is appended); KEY=VALUE becomes 'KEY = VALUE'; an existing
    name is refused unless --replace, which replaces it in place; CRLF
    files get CRLF lines; a symbolic link stays one; no daemon is started
    for it."""
    path = config_path(env)
    check(not os.path.exists(os.path.join(env.home, ".config")),
          "the test needs a missing directory")
    r = env.tb("profile", "add", "work", "--issuer", "https://id.example",
               "--client-id", "tb-cli", "audience=https://api.example",
               "mint=token-exchange")
    check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
    check(r.stdout == "", "data on stdout: %r" % r.stdout)
    check("Created %s with profile 'work'" % path in r.stderr and
          "No authd is running" in r.stderr, r.stderr)
    check(read_bytes(path) == b"[profile work]\nissuer = https://id.example"
          b"\nclient_id = tb-cli\naudience = https://api.example\n"
          b"mint = token-exchange\n", read_bytes(path))
    for d in (os.path.join(env.home, ".config"), config_dir(env)):
        st = os.stat(d)
        check(stat.S_IMODE(st.st_mode) == 0o700, "%s: mode %o" % (
            d, stat.S_IMODE(st.st_mode)))
    st = os.stat(path)
    check(stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid(),
          "config.ini: mode %o" % stat.S_IMODE(st.st_mode))
    check(not authd_pids(env.dir), "tb profile started a daemon")
    no_temp_files(env)

    # An existing, hand-written file: only the appended section differs.
    before = (b"; written by hand\n"
              b"default_profile = home   ; inline comment\n"
              b"store = memory\n\n"
              b"# home\n[profile home]\nissuer = https://home.example\n"
              b"client_id = tb\n  ; an indented comment\n"
              b"scope = profile email\n"
              b"; the end")                          # no final newline
    with open(path, "wb") as f:
        f.write(before)
    os.chmod(path, 0o644)
    r = env.tb("profile", "add", "work", "--issuer", "https://id.example",
               "--client-id", "tb-cli", "scope=groups email",
               "verify_jwt=true")
    check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
    check("Added profile 'work' to %s" % path in r.stderr, r.stderr)
    after = read_bytes(path)
    check(after == before + b"\n\n[profile work]\n"
          b"issuer = https://id.example\nclient_id = tb-cli\n"
          b"scope = groups email\nverify_jwt = true\n", after)
    check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "mode not 0600")
    # A name that exists: refused, nothing written.
    r = env.tb("profile", "add", "home", "--issuer", "https://x.example",
               "--client-id", "x")
    check(r.returncode == 2 and "profile 'home' exists already" in r.stderr
          and "--replace" in r.stderr, r.stderr)
    check(read_bytes(path) == after, "changed after a refusal")
    # --replace: in place, the comments around it and the rest kept.
    r = env.tb("profile", "add", "--replace", "home", "--issuer",
               "https://new.example", "--client-id", "tb2", "--json")
    check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
    check(json.loads(r.stdout) == {"profile": "home", "config": path,
                                   "action": "replaced",
                                   "reloaded": False}, r.stdout)
    replaced = read_bytes(path)
    want = after.replace(
        b"[profile home]\nissuer = https://home.example\n"
        b"client_id = tb\n  ; an indented comment\n"
        b"scope = profile email\n",
        b"[profile home]\nissuer = https://new.example\nclient_id = tb2\n")
    check(replaced == want, replaced)
    # add, then remove: the file is as it was (given a final newline).
    r = env.tb("profile", "add", "tmp", "--issuer", "https://t.example",
               "--client-id", "t")
    check(r.returncode == 0, r.stderr)
    r = env.tb("profile", "remove", "tmp")
    check(r.returncode == 0, r.stderr)
    check(read_bytes(path) == replaced, read_bytes(path))
    no_temp_files(env)

    # CRLF lines stay CRLF.
    crlf = b"store = memory\r\n[profile a]\r\nissuer = https://a.example" \
        b"\r\nclient_id = a\r\n"
    with open(path, "wb") as f:
        f.write(crlf)
    r = env.tb("profile", "add", "b", "--issuer", "https://b.example",
               "--client-id", "b", "mint=none")
    check(r.returncode == 0, r.stderr)
    check(read_bytes(path) == crlf + b"\r\n[profile b]\r\n"
          b"issuer = https://b.example\r\nclient_id = b\r\n"
          b"mint = none\r\n", read_bytes(path))

    # A symbolic link (dotfiles) stays a link; its target is written.
    real = os.path.join(env.dir, "dotfiles-config.ini")
    os.rename(path, real)
    os.symlink(real, path)
    r = env.tb("profile", "remove", "b")
    check(r.returncode == 0, r.stderr)
    check(os.path.islink(path) and read_bytes(real) == crlf,
          "the link was replaced, or the target not written")
    left = [n for n in os.listdir(env.dir) if n.startswith(".config.ini")]
    check(not left, "temporary files left: %s" % left)


def profile_remove_file(env):
    """tb profile remove deletes exactly the section: its header, its
    settings and the comments that describe it (just above the header, or
    right after its settings); comments set apart by blank lines, and
    those just above the next header, stay, as does everything else."""
    head = ("; authd\nstore = memory\ndefault_profile = home\n\n")
    work = ("; Work account\n[profile work]\nissuer = https://w.example\n"
            "; the CLI client\nclient_id = w\n; old = value\n\n")
    note = "; a note that belongs to nobody\n\n"
    home = ("; Home\n[profile home]\nissuer = https://h.example\n"
            "client_id = h\n")
    last = ("; about last\n[profile \"last\"]\nissuer = https://l.example"
            "\nclient_id = l\n")
    path = write_config(env, head + work + note + home + last +
                        "\n; trailing\n")
    r = env.tb("profile", "remove", "work")
    check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
    check("Removed profile 'work' from %s" % path in r.stderr and
          "No authd is running" in r.stderr, r.stderr)
    text = open(path).read()
    check(text == head + note + home + last + "\n; trailing\n", text)
    check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "mode not 0600")
    # Quoted names; the comment above the header goes with it.
    r = env.tb("profile", "remove", "last")
    check(r.returncode == 0, r.stderr)
    text = open(path).read()
    check(text == head + note + home + "\n; trailing\n", text)
    # Not there: exit 2, nothing written.
    r = env.tb("profile", "remove", "nosuch")
    check(r.returncode == 2 and "no profile 'nosuch' in %s" % path in
          r.stderr, r.stderr)
    check(open(path).read() == text, "changed")
    # authd refuses the result (default_profile names it): its error, the
    # line in config.ini, and nothing written.
    r = env.tb("profile", "remove", "home")
    check(r.returncode == 1 and "%s:3: default_profile 'home' has no "
          "[profile] section" % path in r.stderr and
          "nothing was written" in r.stderr, r.stderr)
    check(open(path).read() == text, "changed after a refusal")
    no_temp_files(env)
    # The last profile at the end of a file: the blank line before it too.
    path = write_config(env, "store = memory\n\n[profile a]\n"
                        "issuer = https://a.example\nclient_id = a\n")
    check(env.tb("profile", "remove", "a").returncode == 0, "remove a")
    check(open(path).read() == "store = memory\n", open(path).read())
    # No file at all.
    os.unlink(path)
    r = env.tb("profile", "remove", "a")
    check(r.returncode == 2 and "no profile 'a'" in r.stderr, r.stderr)
    check(not os.path.exists(path), "a file appeared")


def profile_bad_value(env):
    """A value authd refuses (an http:// issuer that is not loopback, an
    unknown key) is refused with authd's FILE:LINE: key 'K' message, which
    names config.ini, and config.ini is left as it was; values the file
    cannot carry (line breaks, control characters, blanks at the ends, a
    ';' comment, lines longer than authd reads) and bad names are usage
    errors before anything is written; a file with a mistake elsewhere is
    not made worse."""
    text = ("store = memory\n\n[profile home]\nissuer = https://h.example\n"
            "client_id = h\n")
    path = write_config(env, text)
    before = read_bytes(path)
    for argv, rc, words in (
            (["--issuer", "http://idp.example", "--client-id", "x"], 1,
             "%s:8: key 'issuer': refusing http://idp.example: only "
             "https:// is allowed" % path),
            (["--issuer", "https://i.example", "--client-id", "x",
              "colour=red"], 1,
             "%s:10: key 'colour': unknown key 'colour' in [profile new]" %
             path),
            (["--issuer", "https://i.example", "--client-id", "x",
              "mint=sideways"], 1, "%s:10: key 'mint': unknown mint" % path),
            (["--issuer", "https://i.example", "--client-id", "x",
              "mint=endpoint"], 1, "%s:7: [profile new]: mint = endpoint "
             "needs mint_endpoint" % path),
            (["--issuer", "https://i.example", "--client-id", "a\nb"], 2,
             "client_id: the value holds a line break"),
            (["--issuer", "https://i.example\x1b[2J", "--client-id", "x"],
             2, "issuer: the value holds a line break or another control"),
            (["--issuer", "https://i.example", "--client-id", "x",
              "scope=a\rb"], 2, "scope: the value holds a line break"),
            (["--issuer", "https://i.example", "--client-id", " x"], 2,
             "client_id: the value starts or ends with a blank"),
            (["--issuer", "https://i.example", "--client-id", "x",
              "scope=groups ;email"], 2, "scope: ';' at the start of the "
             "value or after a blank would start a comment"),
            (["--issuer", "https://i.example", "--client-id", "x",
              "scope=" + "s" * 191], 2, "scope: the line 'scope = ...' "
             "would be 199 bytes long; authd reads lines of at most 198 "
             "bytes"),
            (["--issuer", "https://i.example", "--client-id", "x", "scope"],
             2, "'scope': expected KEY=VALUE"),
            (["--issuer", "https://i.example", "--client-id", "x",
              "bad key=1"], 2, "'bad key=1': expected KEY=VALUE, KEY of "
             "letters"),
            (["--issuer", "https://i.example", "--client-id", "x",
              "issuer=https://j.example"], 2,
             "'issuer=https://j.example': use --issuer"),
            (["--issuer", "https://i.example", "--client-id", "x",
              "scope=a", "scope=b"], 2, "'scope' is given twice"),
            (["--issuer", "https://i.example"], 2, "'tb profile add' needs "
             "--issuer and --client-id")):
        r = env.tb("profile", "add", "new", *argv)
        check(r.returncode == rc, "%s: exit %d, expected %d: %s" % (
            argv, r.returncode, rc, r.stderr))
        check(r.stderr.startswith("tb: " + words), "%s: %r" % (argv,
                                                             r.stderr))
        check(".config.ini." not in r.stderr, "the temporary file is "
              "named: %r" % r.stderr)
        check(read_bytes(path) == before, "%s: config.ini changed" % argv)
        no_temp_files(env)
    # 198 bytes is a line authd reads.
    r = env.tb("profile", "add", "new", "--issuer", "https://i.example",
               "--client-id", "x", "scope=" + "s" * 190)
    check(r.returncode == 0, r.stderr)
    check(("\nscope = %s\n" % ("s" * 190)).encode() in read_bytes(path),
          read_bytes(path))
    write_config(env, text)
    # Names.
    for name, words in (("a/b", "invalid profile name"),
                        ("x" * 42, "at most 41 bytes")):
        r = env.tb("profile", "add", name, "--issuer", "https://i.example",
                   "--client-id", "x")
        check(r.returncode == 2 and words in r.stderr, r.stderr)
        check(read_bytes(path) == before, "config.ini changed")
    r = env.tb("profile", "add", "x" * 41, "--issuer", "https://i.example",
               "--client-id", "x")
    check(r.returncode == 0, r.stderr)
    # A mistake already in the file: named, and nothing written.
    broken = text + "colour = blue\n"
    write_config(env, broken)
    r = env.tb("profile", "add", "new", "--issuer", "https://i.example",
               "--client-id", "x")
    check(r.returncode == 1 and r.stderr.startswith(
        "tb: %s:6: key 'colour'" % path), r.stderr)
    check(open(path).read() == broken, "changed")
    # --json: the error object on stdout.
    r = env.tb("--json", "profile", "add", "new", "--issuer",
               "http://idp.example", "--client-id", "x")
    check(r.returncode == 1 and json.loads(r.stdout)["error"]["code"] ==
          "config_error", r.stdout)
    # Usage.
    for argv in (["profile"], ["profile", "frob"], ["profile", "list", "x"],
                 ["profile", "remove"], ["profile", "remove", "a", "b"],
                 ["profile", "add", "--bogus"]):
        r = env.tb(*argv)
        check(r.returncode == 2 and r.stderr.startswith("tb: "),
              "%s: %d %r" % (argv, r.returncode, r.stderr))
    r = env.tb("help", "profile")
    check(r.returncode == 0 and "usage: tb profile add NAME --issuer URL "
          "--client-id ID" in
          r.stdout and "tb profile remove NAME" in r.stdout, r.stdout)


# A provider preset name for the 'provider' key, which authd is learning
# (daemon/preset.c, being written): until authd knows the key, the test
# checks that tb passes authd's refusal on and writes nothing; once it
# does, that tb writes 'provider = NAME'. Either way it says which.
PROVIDER = "github"


def profile_provider(env):
    """--provider P writes 'provider = P' when authd accepts the key; until
    then authd's refusal (FILE:LINE: key 'provider') is passed on and
    config.ini is left as it was."""
    probe = os.path.join(env.dir, "probe.ini")
    with open(probe, "w") as f:
        f.write("[profile p]\nissuer = https://p.example\nclient_id = p\n"
                "provider = %s\n" % PROVIDER)
    os.chmod(probe, 0o600)
    known = subprocess.run([AUTHD, "--check-config", "--config", probe],
                           env=env.env, capture_output=True, text=True,
                           timeout=20)
    path = write_config(env, "store = memory\n")
    r = env.tb("profile", "add", "p", "--issuer", "https://p.example",
               "--client-id", "p", "--provider", PROVIDER, "audience=api")
    if known.returncode == 0:
        print("note: authd accepts 'provider = %s': checking the write" %
              PROVIDER)
        check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
        check(open(path).read() == "store = memory\n\n[profile p]\n"
              "issuer = https://p.example\nclient_id = p\nprovider = %s\n"
              "audience = api\n" % PROVIDER, open(path).read())
    else:
        print("note: authd does not accept 'provider = %s' yet (%s): "
              "checking that tb passes the refusal on" %
              (PROVIDER, known.stderr.strip()))
        check("key 'provider'" in known.stderr, known.stderr)
        check(r.returncode == 1 and r.stderr.startswith(
            "tb: %s:6: key 'provider'" % path), r.stderr)
        check(open(path).read() == "store = memory\n", "changed")
    # Values are checked like any other.
    r = env.tb("profile", "add", "q", "--issuer", "https://p.example",
               "--client-id", "p", "--provider", "git\nhub")
    check(r.returncode == 2 and "provider: the value holds a line break"
          in r.stderr, r.stderr)


def profile_reload(env):
    """With authd running: add makes the profile work at once (status,
    login, token) without restarting authd; remove makes it unknown;
    list shows what authd serves. A profile from the environment is
    flagged when the first config.ini appears."""
    idp = IdP(env, "--interval", "1")
    d = env.start("--store", "memory", env={
        "AUTHD_ISSUER": idp.issuer, "AUTHD_CLIENT_ID": "tb-cli"})
    r = env.tb("profile", "list")
    check(r.returncode == 0 and r.stdout.splitlines()[1].split() ==
          ["*", "default", idp.issuer, "tb-cli"], r.stdout)
    # The first config.ini: authd reads only it from now on.
    r = env.tb("profile", "add", "work", "--issuer", idp.issuer,
               "--client-id", "tb-cli", "audience=https://api.tb.test")
    check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
    check("authd reloaded" in r.stderr, r.stderr)
    check("warning: authd's profile 'default' came from its environment"
          in r.stderr and "tb profile add default --issuer %s --client-id "
          "tb-cli" % idp.issuer in r.stderr, r.stderr)
    r = env.tb("--json", "--profile", "work", "status")
    check(r.returncode == 3 and json.loads(r.stdout)["issuer"] ==
          idp.issuer, "work is not served: %d %s" % (r.returncode,
                                                      r.stdout + r.stderr))
    check(env.tb("--profile", "default", "status").returncode == 3,
          "the default profile (unconfigured) is not 'not logged in'")
    # It works: log in and get tokens, from the same daemon.
    login(env, idp, "--profile", "work")
    check(env.tb("--profile", "work", "token").returncode == 0, "token")
    check(env.tb("--profile", "work", "token", "--project",
                 "prj_123").returncode == 0, "project token")
    r = env.tb("profile", "add", "--json", "home", "--issuer", idp.issuer,
               "--client-id", "tb-confidential",
               "client_secret=tb-secret", "default_profile=x")
    check(r.returncode == 1 and "key 'default_profile': unknown key" in
          r.stderr, "a top-level key in a profile: %s" % r.stderr)
    r = env.tb("profile", "add", "--json", "home", "--issuer", idp.issuer,
               "--client-id", "tb-confidential", "client_secret=tb-secret")
    check(r.returncode == 0 and json.loads(r.stdout)["reloaded"] is True,
          r.stdout + r.stderr)
    check("warning: a client_secret on the command line is seen by ps" in
          r.stderr, r.stderr)
    r = env.tb("profile", "list")
    rows = [line.split() for line in r.stdout.splitlines()]
    check(r.returncode == 0 and rows == [
        ["PROFILE", "ISSUER", "CLIENT", "ID"],
        ["work", idp.issuer, "tb-cli"],
        ["home", idp.issuer, "tb-confidential"]], r.stdout)
    r = env.tb("--json", "profile", "list")
    o = json.loads(r.stdout)
    check([(p["profile"], p["issuer"], p["client_id"], p["logged_in"],
            p["default"]) for p in o["profiles"]] ==
          [("work", idp.issuer, "tb-cli", True, False),
           ("home", idp.issuer, "tb-confidential", False, False)] and
          o["default_profile"] == "default", o)
    login(env, idp, "--profile", "home", user="bob")
    # --replace moves home to another client: served at once.
    r = env.tb("profile", "add", "--replace", "home", "--issuer",
               idp.issuer, "--client-id", "tb-cli")
    check(r.returncode == 0, r.stderr)
    r = env.tb("--json", "--profile", "home", "status")
    check(json.loads(r.stdout)["client_id"] == "tb-cli", r.stdout)
    # remove: unknown at once; the login it had is flagged.
    r = env.tb("profile", "remove", "work")
    check(r.returncode == 0 and "authd reloaded" in r.stderr, r.stderr)
    check("the profile was logged in" in r.stderr and
          "tb --profile work logout" in r.stderr, r.stderr)
    r = env.tb("--json", "--profile", "work", "status")
    check(r.returncode == 2 and json.loads(r.stdout)["error"]["code"] ==
          "unknown_profile", r.stdout)
    r = env.tb("profile", "list")
    check([line.split()[:2] for line in r.stdout.splitlines()] ==
          [["PROFILE", "ISSUER"], ["home", idp.issuer]], r.stdout)
    # A refused change: nothing written, the daemon untouched.
    before = read_bytes(config_path(env))
    r = env.tb("profile", "add", "bad", "--issuer", "http://idp.example",
               "--client-id", "x")
    check(r.returncode == 1 and "key 'issuer'" in r.stderr, r.stderr)
    check(read_bytes(config_path(env)) == before, "changed")
    check(d.log_text().count("configuration reloaded") == 4,
          "reloads: %s" % d.log_text()[-3000:])
    # The same daemon all along.
    check(d.proc.poll() is None and all(
        p == d.pid for p in authd_pids(env.dir)), "authd was restarted")
    # The last profile goes: list says none.
    check(env.tb("profile", "remove", "home").returncode == 0, "remove")
    r = env.tb("profile", "list")
    check(r.returncode == 0 and r.stdout == "" and
          "No profiles are configured" in r.stderr, r.stdout + r.stderr)
    d.stop()


TESTS = {f.__name__: f for f in (bad_config, profiles_and_reload,
                                 secret_not_echoed, check_config,
                                 profile_add_file, profile_remove_file,
                                 profile_bad_value, profile_provider,
                                 profile_reload)}

if __name__ == "__main__":
    run(TESTS)
