"""Credential storage against a real Secret Service (gnome-keyring on a
private session bus) and the file store: restarts, crashes, rotation,
locked and hung keyrings, no keyring at all. Run one with:
python3 test_store.py NAME."""
import json
import os
import random
import shutil
import signal
import stat
import struct
import subprocess
import time

from harness import (AUTHD, BUILD, IdP, Keyring, Login, TB, Failure, SLOW,
                     check, children, need, pid_alive, wait_for, run)


def daemon_for(env, idp, *args, **kw):
    e = {"AUTHD_ISSUER": idp.issuer, "AUTHD_CLIENT_ID": "tb-cli"}
    e.update(kw.pop("env", {}))
    return env.start(*args, env=e, **kw)


def login(env, idp, user="alice"):
    lg = Login(env, "--no-browser")
    uri, code = lg.code()
    idp.approve(uri, user=user, code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "tb login exit %d: %s" % (rc, err))
    return err


def status(env):
    r = env.tb("--json", "status")
    check(r.stdout.strip(), "no status: %s" % r.stderr)
    return r.returncode, json.loads(r.stdout)


def token_ok(env, idp):
    r = env.tb("token")
    check(r.returncode == 0, "tb token exit %d: %s" % (r.returncode,
                                                      r.stderr))
    code, info = idp.userinfo(r.stdout.strip())
    check(code == 200, "the provider refused the token (%d)" % code)
    return r.stdout.strip()


def keyring_restart(env):
    """Login is kept in the keyring: kill -9, restart, no new login; with
    rotation on, the stored refresh token still refreshes."""
    kr = Keyring(env)
    idp = IdP(env, "--interval", "1", "--at-ttl", "4")
    d = daemon_for(env, idp)
    err = login(env, idp)
    check("not persisted" not in err, err)
    rc, st = status(env)
    check(st["persisted"] is True and st["store"] == "secret-service", st)
    check(st["source"] == "login", st)
    out = kr.search("application", "authd", "profile", "default")
    check("attribute.issuer = %s" % idp.issuer in out, out)
    check("authd credential for default" in out, out)
    d.stop(signal.SIGKILL, expect=None)
    d = daemon_for(env, idp)
    # Answered at once, possibly "loading" while the keyring is asked.
    wait_for(lambda: status(env)[1]["store_state"] != "loading",
             "the stored credential to load")
    rc, st = status(env)
    check(rc == 0 and st["source"] == "store" and st["sub"] == "alice", st)
    token_ok(env, idp)
    token_ok(env, idp)
    check(len(idp.entries("/device/auth")) == 1, "logged in twice")
    refreshes = idp.entries("/token", "refresh_token")
    check(len(refreshes) >= 2 and all(e["status"] == 200
                                      for e in refreshes), refreshes)
    # And once more after a clean restart.
    d.stop()
    daemon_for(env, idp)
    token_ok(env, idp)


def keyring_locked(env):
    """A locked keyring is reported as locked, never as logged out."""
    kr = Keyring(env, password="right")
    kr.stop()
    kr.start(password="wrong")      # stays locked
    idp = IdP(env, "--interval", "1")
    daemon_for(env, idp)
    # Answered at once, possibly "loading" while the keyring is asked.
    wait_for(lambda: status(env)[1]["store_state"] != "loading",
             "the keyring to answer")
    r = env.tb("status")
    check(r.returncode == 1, "exit %d: %s" % (r.returncode, r.stderr))
    check("locked" in r.stderr and "hint: " in r.stderr, r.stderr)
    check("not logged in" not in r.stderr, r.stderr)
    r = env.tb("token")
    check(r.returncode == 1 and "locked" in r.stderr, r.stderr)
    rc, st = status(env)
    check(st["store_error"]["code"] == "keyring_locked", st)


def no_secret_service(env):
    """No Secret Service: a warning, the login kept in memory only."""
    env.env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    idp = IdP(env, "--interval", "1")
    daemon_for(env, idp)
    err = login(env, idp)
    check("warning: this login is not persisted" in err, err)
    check("hint: " in err and "file" in err, err)
    rc, st = status(env)
    check(rc == 0 and st["persisted"] is False, st)
    check(st["store_error"]["code"] == "store_unavailable", st)
    r = env.tb("status")
    check("not persisted" in r.stdout, r.stdout)
    token_ok(env, idp)


def keyring_hung(env):
    """A stopped keyring daemon never delays status or cached tokens."""
    kr = Keyring(env)
    idp = IdP(env, "--interval", "1")
    d = daemon_for(env, idp)
    login(env, idp)
    os.kill(kr.gkd.pid, signal.SIGSTOP)
    try:
        worst = 0.0
        for _ in range(10):
            t0 = time.monotonic()
            rc, st = status(env)
            worst = max(worst, time.monotonic() - t0)
            check(rc == 0 and st["logged_in"], st)
            token_ok(env, idp)
        print("status with a hung keyring: worst %.0f ms" % (worst * 1000))
        check(worst < 1.0 * SLOW, "status took %.2f s" % worst)
        # A new login while hung: the save times out, the login holds.
        login(env, idp, user="bob")
        rc, st = status(env)
        check(st["sub"] == "bob" and st["persisted"] is False, st)
        check(st["store_error"]["code"] == "store_timeout", st)
        # A restart while hung: status still answers within a second.
        d.stop()
        daemon_for(env, idp)
        t0 = time.monotonic()
        r = env.tb("status")
        took = time.monotonic() - t0
        check(took < 1.0 * SLOW, "status took %.2f s at start" % took)
        check(r.returncode == 1 and "has not answered" in r.stderr,
              r.stderr)
    finally:
        os.kill(kr.gkd.pid, signal.SIGCONT)


def file_store(env):
    """--store file: 0600 file in a 0700 dir; survives kill -9."""
    idp = IdP(env, "--interval", "1", "--at-ttl", "4")
    d = daemon_for(env, idp, "--store", "file")
    err = login(env, idp)
    check("not persisted" not in err, err)
    sdir = os.path.join(env.home, ".state", "authd")
    path = os.path.join(sdir, "default.json")
    check(stat.S_IMODE(os.stat(sdir).st_mode) == 0o700, "dir mode")
    check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "file mode")
    rec = json.load(open(path))
    check(rec["v"] == 1 and rec["issuer"] == idp.issuer, rec.keys())
    d.stop(signal.SIGKILL, expect=None)
    daemon_for(env, idp, "--store", "file")
    rc, st = status(env)
    check(rc == 0 and st["source"] == "store", st)
    token_ok(env, idp)
    # A file with loose permissions is refused, not used.
    os.chmod(path, 0o644)
    d = env.daemons[-1]
    d.stop()
    daemon_for(env, idp, "--store", "file")
    r = env.tb("status")
    check(r.returncode == 1 and "0600" in r.stderr, r.stderr)
    # A symlink in its place (to a good 0600 record) is not followed.
    real = os.path.join(env.dir, "elsewhere.json")
    os.rename(path, real)
    os.chmod(real, 0o600)
    os.symlink(real, path)
    env.daemons[-1].stop()
    daemon_for(env, idp, "--store", "file")
    r = env.tb("status")
    check(r.returncode == 1 and "symbolic links" in r.stderr, r.stderr)
    st = json.loads(env.tb("--json", "status").stdout)
    check(st["logged_in"] is False and
          st["store_error"]["code"] == "store_error", st)
    env.daemons[-1].stop()


def file_store_torn(env):
    """kill -9 in the middle of writes never leaves a torn file."""
    env.env["AUTHD_NO_AUTOSTART"] = "1"
    idp = IdP(env, "--interval", "1", "--at-ttl", "4", "--no-rotate")
    daemon_for(env, idp, "--store", "file")
    login(env, idp)
    path = os.path.join(env.home, ".state", "authd", "default.json")
    rnd = random.Random(1234)
    for cycle in range(30):
        d = env.daemons[-1]
        # Every tb token refreshes (4 s tokens) and so rewrites the file.
        procs = [__import__("subprocess").Popen(
            [TB, "token"], env=env.env, stdout=-3, stderr=-3)
            for _ in range(3)]
        time.sleep(rnd.uniform(0, 0.05))     # a random kill point
        d.stop(signal.SIGKILL, expect=None)
        for p in procs:
            p.wait(timeout=30)
        rec = json.load(open(path))          # never torn
        check(rec["v"] == 1 and rec["refresh_token"], "bad record")
        daemon_for(env, idp, "--store", "file")
        token_ok(env, idp)
    left = [f for f in os.listdir(os.path.dirname(path))
            if f.endswith(".tmp")]
    check(not left, "temporary files left: %s" % left)
    print("file store: 30 kill -9 cycles, no torn file")


def _started(d):
    """Wait until d has opened its store and serves, or has exited: its
    socket listens (and is connectable) before the store is opened."""
    wait_for(lambda: d.proc.poll() is not None or
             "listening on" in d.log_text(), "authd to start or refuse",
             timeout=60)
    return d


def _second_daemon(env, idp, sock, *args):
    """Start another authd on its own socket; return it once it serves
    or has exited."""
    return _started(daemon_for(env, idp, *args, sock=sock, wait=False))


def _refused_for_store(env, d, first, what):
    """d exited 4, naming the store and the first daemon (pid, socket)."""
    err = open(d.log + ".stderr").read()
    check(d.proc.poll() is not None, "a second authd runs on %s: the "
          "first (pid %d) holds it" % (what, first.pid))
    check(d.proc.returncode == 4, "exit %s, expected 4: %s" %
          (d.proc.returncode, err))
    check("pid %d" % first.pid in err and first.sock in err,
          "the first daemon is not named: %r" % err)
    check(what in err and "hint: " in err, "no reason or hint: %r" % err)
    check(not env.connectable(d.sock), "the refused daemon left a socket")
    return err


def restart_copy_held(env):
    """A helper that a killed authd had just forked holds copies of its
    descriptors (the socket's lock, the store's lock) until its exec: a
    daemon started then waits for the copy to go instead of refusing as
    if another daemon ran (exit 3 or 4; seen in rotation_kill_loop). The
    test holds each lock as such a copy would, releases it once the new
    daemon says it waits, and the new daemon starts. A live daemon's lock
    is still refused (store_lock_file, autostart_race)."""
    import fcntl
    idp = IdP(env, "--interval", "1")
    sdir = os.path.join(env.home, ".state", "authd")
    for which in ("socket", "store"):
        d = _started(daemon_for(env, idp, "--store", "file"))
        path = env.sock + ".lock" if which == "socket" else \
            os.path.join(sdir, "store.lock")
        fd = os.open(path, os.O_RDWR)
        d.stop(signal.SIGKILL, expect=None)

        def take():
            # The killed daemon's own helper may hold a copy a moment.
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
        try:
            wait_for(take, "the killed daemon's %s lock" % which)
            d2 = daemon_for(env, idp, "--store", "file", wait=False)
            want = "is locked: waiting" if which == "socket" else \
                "ended) to release"
            wait_for(lambda: want in d2.log_text() or
                     d2.proc.poll() is not None,
                     "the new daemon to wait for the %s lock" % which)
            check(d2.proc.poll() is None, "the %s lock held by a copy: "
                  "authd exited %s: %s" % (which, d2.proc.returncode,
                                           open(d2.log + ".stderr").read()))
        finally:
            os.close(fd)
        wait_for(lambda: env.connectable() or d2.proc.poll() is not None,
                 "the new daemon to listen")
        check(d2.proc.poll() is None and status(env)[1]["store"] == "file",
              "the new daemon after the copy went")
        d2.stop()


def store_lock_file(env):
    """Two authd with different sockets on one file store: the second
    refuses to start (exit 4), naming the first's pid and socket, and
    leaves the first's files alone; the lock file is 0600. A second
    daemon with the memory store (nothing shared) starts."""
    idp = IdP(env, "--interval", "1")
    d1 = _started(daemon_for(env, idp, "--store", "file"))
    sdir = os.path.join(env.home, ".state", "authd")
    os.makedirs(sdir, mode=0o700, exist_ok=True)
    # A write in progress of the first daemon (its temporary file).
    tmp = os.path.join(sdir, ".default.json.%d.7.tmp" % d1.pid)
    with open(tmp, "w") as f:
        f.write("{}")
    d2 = _second_daemon(env, idp, os.path.join(env.dir, "two.sock"),
                        "--store", "file")
    check(os.path.exists(tmp), "the second daemon's start-up sweep removed "
          "the first's temporary file")
    _refused_for_store(env, d2, d1, sdir)
    os.unlink(tmp)
    st = os.lstat(os.path.join(sdir, "store.lock"))
    check(stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
          "lock file mode %o" % st.st_mode)
    # The first one is unharmed, and once it is gone the store is free.
    check(status(env)[1]["store"] == "file", "the first daemon")
    d1.stop()
    d3 = _second_daemon(env, idp, os.path.join(env.dir, "two.sock"),
                        "--store", "file")
    check(d3.proc.poll() is None, "the store stayed locked: %s" %
          open(d3.log + ".stderr").read())
    d3.stop()
    # A symlink where the lock file goes is refused, not followed.
    lock = os.path.join(sdir, "store.lock")
    os.unlink(lock)
    target = os.path.join(env.dir, "lock-target")
    os.symlink(target, lock)
    d = _second_daemon(env, idp, env.sock, "--store", "file")
    check(d.proc.returncode == 1 and not os.path.exists(target),
          "a symlinked lock file: exit %s, target %s" %
          (d.proc.returncode, os.path.exists(target)))
    os.unlink(lock)
    # The memory store shares nothing: two daemons are fine.
    d1 = daemon_for(env, idp, "--store", "memory")
    d2 = daemon_for(env, idp, "--store", "memory",
                    sock=os.path.join(env.dir, "two.sock"))
    d2.stop()
    d1.stop()


def store_lock_secret(env):
    """Two authd with different sockets on one Secret Service (the user's
    session keyring): the second refuses (exit 4), naming the first."""
    Keyring(env)
    idp = IdP(env, "--interval", "1")
    d1 = _started(daemon_for(env, idp))
    d2 = _second_daemon(env, idp, os.path.join(env.dir, "two.sock"))
    _refused_for_store(env, d2, d1, "secret-service store")
    lock = os.path.join(env.runtime, "authd", "store-secret-service.lock")
    st = os.lstat(lock)
    check(stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
          "lock file mode %o" % st.st_mode)
    check(status(env)[1]["store"] == "secret-service", "the first daemon")
    # Started detached, the holder named is the daemon, not its parent.
    d1.stop()
    r = __import__("subprocess").run(
        [AUTHD, "--socket", os.path.join(env.dir, "three.sock")],
        env=dict(env.env, AUTHD_ISSUER=idp.issuer, AUTHD_CLIENT_ID="tb-cli"),
        capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "detached authd: %s" % r.stderr)
    pid = int(r.stdout.split("AUTHD_PID=")[1].split(";")[0])
    try:
        d4 = _second_daemon(env, idp, os.path.join(env.dir, "four.sock"))
        err = open(d4.log + ".stderr").read()
        check(d4.proc.returncode == 4 and "pid %d" % pid in err, err)
    finally:
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not pid_alive(pid), "the detached authd to exit")


def store_shared_rotation(env):
    """The damage two daemons on one store did: the one holding a
    rotated-out refresh token had its refresh refused and deleted the
    record the other had just saved, so the login was lost. Now the
    second cannot start, and the login survives a rotation by the first
    and a restart."""
    env.env["AUTHD_NO_AUTOSTART"] = "1"
    idp = IdP(env, "--interval", "1", "--at-ttl", "4")
    daemon_for(env, idp, "--store", "file")
    login(env, idp)
    sock2 = os.path.join(env.dir, "two.sock")
    d2 = _second_daemon(env, idp, sock2, "--store", "file")

    def loaded():
        if d2.proc.poll() is not None:
            return True
        r = env.tb("--json", "status", env={"AUTHD_SOCK": sock2})
        try:
            return json.loads(r.stdout).get("store_state") != "loading"
        except ValueError:
            return False
    wait_for(loaded, "the second daemon to load the stored login",
             timeout=30)
    # A rotation by the first daemon (4 s tokens: every token refreshes)...
    token_ok(env, idp)
    # ...then a token through the second, if it runs: its refresh token
    # is the rotated-out one it loaded at start.
    env.tb("token", env={"AUTHD_SOCK": sock2})
    path = os.path.join(env.home, ".state", "authd", "default.json")
    check(os.path.exists(path), "the stored login was deleted by a second "
          "daemon on the same store")
    env.daemons[0].stop()
    daemon_for(env, idp, "--store", "file")
    token_ok(env, idp)
    check(len(idp.entries("/device/auth")) == 1, "logged in twice")
    _refused_for_store(env, d2, env.daemons[0],
                       os.path.join(env.home, ".state", "authd"))


def store_lock_successor(env):
    """A daemon that is stopping still holds its store until its last
    save has landed; a successor started meanwhile (tb's autostart after
    a SIGTERM) waits for it instead of failing, then serves."""
    env.env["AUTHD_NO_AUTOSTART"] = "1"
    # No rotation: the provider, stopped below, answers the refresh the
    # first daemon abandons once it runs again.
    idp = IdP(env, "--interval", "1", "--at-ttl", "4", "--no-rotate")
    d1 = daemon_for(env, idp, "--store", "file")
    login(env, idp)
    # A request whose refresh hangs (the provider is stopped) keeps the
    # first daemon in its shutdown grace period; there it is stopped
    # (SIGSTOP) until the successor is seen waiting.
    posts = d1.log_text().count("/token\n")
    os.kill(idp.proc.pid, signal.SIGSTOP)
    try:
        p = __import__("subprocess").Popen(
            [TB, "token"], env=env.env, stdout=-3, stderr=-3)
        env.procs.append(p)
        wait_for(lambda: d1.log_text().count("/token\n") > posts,
                 "the refresh request")
        d1.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: "shutting down" in d1.log_text(), "the shutdown")

        def socket_free():
            import fcntl
            fd = os.open(env.sock + ".lock", os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError:
                return False
            finally:
                os.close(fd)
        wait_for(socket_free, "the first daemon to release its socket")
        os.kill(d1.pid, signal.SIGSTOP)
        try:
            check(d1.proc.poll() is None, "the first daemon exited at "
                  "once")
            # The socket is free at once (a successor may bind it), the
            # store only when the first daemon is done.
            d2 = daemon_for(env, idp, "--store", "file", wait=False)
            wait_for(lambda: "waiting for" in d2.log_text() or
                     d2.proc.poll() is not None, "the successor to wait",
                     timeout=60)
            check(d2.proc.poll() is None, "the successor exited %s: %s" %
                  (d2.proc.returncode, open(d2.log + ".stderr").read()))
            check("stopping" in d2.log_text(), d2.log_text()[-2000:])
        finally:
            os.kill(d1.pid, signal.SIGCONT)
    finally:
        os.kill(idp.proc.pid, signal.SIGCONT)
    _started(d2)
    check(d2.proc.poll() is None, "the successor exited %s: %s" %
          (d2.proc.returncode, open(d2.log + ".stderr").read()))
    # It has released the store: it is leaving, and exits cleanly.
    rc = d1.proc.wait(timeout=60)
    check(rc == 0, "the first daemon exit %d" % rc)
    token_ok(env, idp)
    d2.stop()


def _durable_rotations(env, store="secret-service"):
    """Refreshes whose rotated token authd saved, over every daemon log."""
    n = 0
    for d in env.daemons:
        pending = False
        for line in d.log_text().splitlines():
            if "access token refreshed" in line:
                pending = True
            elif ("store save default (%s): ok" % store) in line and \
                    pending:
                n += 1
                pending = False
    return n


def _kill_cycles(default):
    """Cycles of a kill loop, and how much slower than native authd runs:
    under valgrind (~20x slower) fewer cycles, kill points spread wider."""
    n = int(os.environ.get("AUTHD_KILL_CYCLES", default))
    return n, (10 if os.environ.get("AUTHD_VALGRIND") else 1)


def _token_after_start(env, deadline=60.0):
    """tb token from a daemon just started. A keyring that has not
    answered the load within authd's 5 s deadline (a loaded machine,
    valgrind) hides whether a credential exists: that is no loss, and the
    next request loads again. Asked again until another answer comes."""
    end = time.monotonic() + deadline
    while True:
        r = env.tb("token")
        if r.returncode == 0 or "did not answer" not in r.stderr or \
                time.monotonic() > end:
            return r


def rotation_kill_loop(env):
    """kill -9 at random points of a refresh-token rotation loop: the
    stored refresh token is never lost or stale. The one exception no
    client can close: a kill after the provider rotated the token but
    before the keyring write finished (the new token exists nowhere else).
    Such cycles are told apart by counting, are reported, and are
    followed by a new login; any other loss fails the test."""
    import subprocess
    env.env["AUTHD_NO_AUTOSTART"] = "1"
    Keyring(env)
    idp = IdP(env, "--interval", "1", "--at-ttl", "4")
    daemon_for(env, idp)
    login(env, idp)
    rnd = random.Random(4321)
    offset = gap = 0
    cycles, slow = _kill_cycles(50)
    for cycle in range(cycles):
        d = env.daemons[-1]
        p = subprocess.Popen([TB, "token"], env=env.env,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0, 0.08 * slow))  # a random kill point
        d.stop(signal.SIGKILL, expect=None)
        p.wait(timeout=30)
        daemon_for(env, idp)
        r = _token_after_start(env)
        rotations = sum(1 for e in idp.entries("/token", "refresh_token")
                        if e["status"] == 200)
        undurable = rotations - _durable_rotations(env) - offset
        if r.returncode == 0:
            code, _ = idp.userinfo(r.stdout.strip())
            check(code == 200, "cycle %d: token refused" % cycle)
            continue
        check(undurable > 0,
              "cycle %d: credential lost although every rotated refresh "
              "token was saved:\n%s" % (cycle, r.stderr))
        gap += 1
        login(env, idp)
        offset += undurable
    refreshes = idp.entries("/token", "refresh_token")
    print("rotation kill loop%s: %d cycles, %d refreshes, %d kills landed "
          "between a rotation and its keyring write" % (
              " under valgrind" if slow > 1 else "", cycles, len(refreshes),
              gap))
    check(gap < cycles / 2, "too many losses: %d of %d" % (gap, cycles))


def sigterm_rotation_loop(env):
    """SIGTERM (systemctl --user stop at the end of a session) at random
    points of a refresh-token rotation loop loses no login: a refresh in
    flight finishes and its rotated token is saved before authd exits,
    and the log says what it waited for. The session's clients are gone
    first (tb is killed), so no connection holds authd up. The provider
    rotates the token and then holds its reply (--refresh-delay-ms), so
    many SIGTERMs land between the rotation and the reply, where an exit
    would leave the keyring with a retired token."""
    import subprocess
    env.env["AUTHD_NO_AUTOSTART"] = "1"
    Keyring(env)
    idp = IdP(env, "--interval", "1", "--at-ttl", "4",
              "--refresh-delay-ms", "150")
    daemon_for(env, idp)
    login(env, idp)
    rnd = random.Random(9)
    waited = 0
    cycles, slow = _kill_cycles(50)
    for cycle in range(cycles):
        d = env.daemons[-1]
        p = subprocess.Popen([TB, "token"], env=env.env,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0, 0.25 * slow))  # a random stop point
        p.kill()
        p.wait(timeout=30)
        d.stop(signal.SIGTERM, expect=0)
        if "waiting up to" in d.log_text():
            waited += 1
            check("refreshes in flight finished" in d.log_text(),
                  "cycle %d: authd did not say the refresh finished:\n%s"
                  % (cycle, d.log_text()[-2000:]))
        daemon_for(env, idp)
        r = _token_after_start(env)
        check(r.returncode == 0, "cycle %d: the login was lost after a "
              "SIGTERM: exit %d: %s" % (cycle, r.returncode, r.stderr))
        check(idp.userinfo(r.stdout.strip())[0] == 200,
              "cycle %d: token refused" % cycle)
    rotations = sum(1 for e in idp.entries("/token", "refresh_token")
                    if e["status"] == 200)
    print("sigterm rotation loop%s: %d cycles, %d rotations, %d SIGTERMs "
          "landed during a refresh, 0 logins lost" % (
              " under valgrind" if slow > 1 else "", cycles, rotations,
              waited))
    # The loop must have stopped authd mid-refresh, or it proved nothing.
    check(waited >= cycles // 10, "only %d of %d SIGTERMs landed during a "
          "refresh" % (waited, cycles))


def crash_loop(env):
    """kill -9 at random points of a mixed loop — user-token refreshes
    (rotation on), project mints, logouts and logins — for 200 cycles:
    after each restart the stored credential is intact and usable, or, in
    the one gap no client can close (a kill between the provider's
    rotation and the store's write), it is counted and logged in again."""
    _crash_loop(env, grace=None)


def crash_loop_grace(env):
    """The same loop against a provider that, like Okta or Auth0, accepts
    a rotated-out refresh token for a while: then nothing is ever lost —
    after a kill in the rotation-to-write gap, the stored (previous)
    refresh token still works. Every restart must find a usable login
    (but after a logout)."""
    _crash_loop(env, grace=600)


def _crash_loop(env, grace):
    import subprocess
    env.env["AUTHD_NO_AUTOSTART"] = "1"
    idp = IdP(env, "--interval", "1", "--at-ttl", "4",
              *(("--rt-grace", str(grace)) if grace else ()))
    cfg = os.path.join(env.home, ".config", "authd")
    os.makedirs(cfg)
    with open(os.path.join(cfg, "config.ini"), "w") as f:
        f.write("store = file\n[profile default]\nissuer = %s\n"
                "client_id = tb-cli\naudience = https://api.tb.test\n" %
                idp.issuer)
    env.start()
    login(env, idp)
    rnd = random.Random(2026 if not grace else 2027)
    gap = logouts = offset = 0
    cycles, slow = _kill_cycles(200)
    for cycle in range(cycles):
        d = env.daemons[-1]
        op = rnd.random()
        if op < 0.05:
            args = ["logout"]
        elif op < 0.5:
            args = ["token", "--project", rnd.choice(["prj_123",
                                                       "prj_456"])]
        else:
            args = ["token"]
        p = subprocess.Popen([TB] + args, env=env.env,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0, 0.05 * slow))  # a random kill point
        d.stop(signal.SIGKILL, expect=None)
        p.wait(timeout=30)
        env.start()
        r = _token_after_start(env)
        if r.returncode == 0:
            check(idp.userinfo(r.stdout.strip())[0] == 200,
                  "cycle %d: a stored token the provider refuses" % cycle)
            continue
        st = json.loads(env.tb("--json", "status").stdout)
        check(r.returncode == 3 and not st["logged_in"],
              "cycle %d: exit %d: %s" % (cycle, r.returncode, r.stderr))
        if args == ["logout"]:
            logouts += 1
        elif grace:
            raise Failure("cycle %d: the login was lost although the "
                          "provider accepts the stored refresh token: %s" %
                          (cycle, r.stderr))
        else:
            rotations = sum(1 for e in idp.entries("/token",
                                                    "refresh_token")
                            if e["status"] == 200)
            undurable = rotations - _durable_rotations(env, "file") - offset
            check(undurable > 0, "cycle %d: credential lost although "
                  "every rotated refresh token was saved" % cycle)
            offset += undurable
            gap += 1
        login(env, idp)
    if grace:
        # Kills in the gap happened (rotations never saved), and each time
        # the stored, rotated-out token carried on.
        unsaved = sum(1 for e in idp.entries("/token", "refresh_token")
                      if e["status"] == 200) - _durable_rotations(env, "file")
        print("crash loop%s, provider grace %d s: %d kill -9 cycles, %d "
              "logouts, %d kills in the rotation-to-write gap, 0 logins "
              "lost" % (" under valgrind" if slow > 1 else "", grace, cycles,
                        logouts, max(unsaved, 0)))
    else:
        print("crash loop%s: %d kill -9 cycles, %d logouts, %d kills in "
              "the rotation-to-write gap" % (
                  " under valgrind" if slow > 1 else "", cycles, logouts,
                  gap))
    # Under valgrind (and, less, ASan on a busy machine) the store's write
    # takes longer: more kills land in it. Every loss was checked above to
    # be one of them; the bound only says the loop is not mostly losses.
    bound = 2 if slow > 1 else 3 if os.environ.get(
        "AUTHD_SANITIZER_LOG_DIR") else 5
    check(gap < cycles / bound, "too many losses: %d of %d"
          % (gap, cycles))
    rec = json.load(open(os.path.join(env.home, ".state", "authd",
                                      "default.json")))
    check(rec["v"] == 1 and rec["refresh_token"], "the record is damaged")


def canary_not_logged(env):
    """No token or device code value in authd's debug log, tb login, tb
    status or tb list output."""
    import urllib.request
    kr = Keyring(env)
    idp = IdP(env, "--interval", "1", "--at-ttl", "4", "--canary",
              "CANARYtok")
    # The canary is in device codes too (authd's login below gets one).
    with urllib.request.urlopen(idp.issuer + "/device/auth", timeout=10,
                                data=b"client_id=tb-cli&scope=openid") as r:
        check(json.loads(r.read())["device_code"].startswith("CANARYtok"),
              "the provider's device-code canary is off")
    d = daemon_for(env, idp)
    shown = login(env, idp)
    tok = token_ok(env, idp)
    check(tok.startswith("CANARYtok"), "the provider's canary is off")
    outs = [env.tb("status"), env.tb("--json", "status")]
    d.stop()
    texts = [d.log_text(), open(d.log + ".stderr").read(), shown]
    texts += [o.stdout + o.stderr for o in outs]
    for t in texts:
        check("CANARYtok" not in t, "a token leaked:\n%s" % t[-2000:])


# The keyring stack: what authd must not map, as /proc/PID/maps names it.
KEYRING_LIBS = ("libsecret-1.so", "libglib-2.0.so", "libgio-2.0.so",
                "libgobject-2.0.so")


def _keyring_libs(pid):
    with open("/proc/%d/maps" % pid) as f:
        return sorted({line.split()[-1] for line in f
                       if any(lib in line for lib in KEYRING_LIBS)})


def authd_maps_no_glib(env):
    """authd with the Secret Service store maps no libsecret, GLib, GIO or
    GObject: not at start, not after a login's save, not after a restart's
    load and a refresh's save. The keyring calls run in the authd-keyring
    helper, reaped when its job is done."""
    Keyring(env)
    idp = IdP(env, "--interval", "1", "--at-ttl", "4")
    d = daemon_for(env, idp)
    check(_keyring_libs(d.pid) == [], "authd maps %s at start"
          % _keyring_libs(d.pid))
    login(env, idp)
    rc, st = status(env)
    check(st["persisted"] is True and st["store"] == "secret-service", st)
    check(_keyring_libs(d.pid) == [], "authd maps %s after a save"
          % _keyring_libs(d.pid))
    d.stop()
    d = daemon_for(env, idp)
    wait_for(lambda: status(env)[1]["store_state"] != "loading",
             "the stored credential to load")
    rc, st = status(env)
    check(rc == 0 and st["source"] == "store", st)
    token_ok(env, idp)
    check(_keyring_libs(d.pid) == [], "authd maps %s after a load"
          % _keyring_libs(d.pid))
    # The helpers are kept until idle (authd-keyring between store jobs,
    # authd-http between transfers); no other child, and no zombie.
    kids = [k for k in children(d.pid)
            if k[1] not in ("authd-http", "authd-keyring") or k[2] == "Z"]
    check(kids == [], "authd has children: %s" % kids)


def keyring_hung_reaped(env):
    """A stopped keyring: the helper that waits on it is killed at the
    store deadline (store_timeout, as before) and reaped: no zombie, no
    process left. A daemon stopped while its helper hangs exits at the
    deadline (the helper's D-Bus call would wait 25 s) and leaves none
    either."""
    kr = Keyring(env)
    idp = IdP(env, "--interval", "1")
    d = daemon_for(env, idp)
    login(env, idp)
    os.kill(kr.gkd.pid, signal.SIGSTOP)
    try:
        # A new login while hung: its save's helper waits on the keyring.
        lg = Login(env, "--no-browser")
        uri, code = lg.code()
        idp.approve(uri, user="bob", code=code)
        wait_for(lambda: [k for k in children(d.pid)
                          if k[1] == "authd-keyring"],
                 "the save's authd-keyring", timeout=5 * SLOW)
        helper = [k for k in children(d.pid) if k[1] == "authd-keyring"][0]
        rc, _, err = lg.wait()
        check(rc == 0, "tb login exit %d: %s" % (rc, err))
        rc, st = status(env)
        check(st["sub"] == "bob" and st["persisted"] is False, st)
        check(st["store_error"]["code"] == "store_timeout", st)
        wait_for(lambda: [k for k in children(d.pid)
                          if k[1] == "authd-keyring"] == [],
                 "authd to reap the killed helper (children: %s)" %
                 children(d.pid))
        check(not os.path.exists("/proc/%d" % helper[0]),
              "the helper %d is still there" % helper[0])
        # A restart while hung: the load's helper waits; SIGTERM waits for
        # the store up to its 5 s deadline, then ends both.
        d.stop()
        d = daemon_for(env, idp)
        wait_for(lambda: [k for k in children(d.pid)
                          if k[1] == "authd-keyring"],
                 "the load's authd-keyring", timeout=5 * SLOW)
        helper = [k for k in children(d.pid) if k[1] == "authd-keyring"][0]
        t0 = time.monotonic()
        d.stop()
        took = time.monotonic() - t0
        check(took < 5.0 + 2.0 * SLOW, "authd took %.2f s to stop" % took)
        wait_for(lambda: not os.path.exists("/proc/%d" % helper[0]),
                 "the load's helper to be gone")
    finally:
        os.kill(kr.gkd.pid, signal.SIGCONT)


def keyring_helper_missing(env):
    """authd without authd-keyring (neither next to it nor in its libexec
    directory): the stored login is neither read nor lost. status and token
    say the store failed and why, never "not logged in"; so do a helper
    that ends without a reply and one whose reply is not well formed. With
    the helper back, the next request loads the same login."""
    kr = Keyring(env)
    idp = IdP(env, "--interval", "1")
    d = daemon_for(env, idp)
    login(env, idp)
    d.stop()
    bindir = os.path.join(env.dir, "bin")
    os.mkdir(bindir)
    exe = os.path.join(bindir, "authd")
    shutil.copy2(AUTHD, exe)
    daemon_for(env, idp, exe=exe)
    wait_for(lambda: status(env)[1]["store_state"] != "loading",
             "the load to fail")
    rc, st = status(env)
    err = st.get("store_error") or {}
    check(err.get("code") == "store_error", st)
    check("authd-keyring is missing" in err["message"] and
          "reinstall authd" in err["message"], st)
    check(st["logged_in"] is False and st["persisted"] is False, st)
    r = env.tb("status")
    check(r.returncode == 1, "exit %d: %s" % (r.returncode, r.stderr))
    check("cannot tell whether you are logged in" in r.stderr and
          "authd-keyring is missing" in r.stderr, r.stderr)
    check("not logged in" not in r.stderr, r.stderr)
    r = env.tb("token")
    check(r.returncode == 1 and "authd-keyring is missing" in r.stderr,
          "exit %d: %s" % (r.returncode, r.stderr))
    out = kr.search("application", "authd", "profile", "default")
    check("authd credential for default" in out, "the item is gone: " + out)
    # A helper that ends without a reply, or with one that is not well
    # formed, is the same kind of error (each read the request first).
    fake = os.path.join(bindir, "authd-keyring")
    for body, says in (
            ("exit 3", "authd-keyring exited 3 without an answer"),
            ("kill -9 $$", "authd-keyring was killed by signal 9"),
            (r"printf '\000\000\000\002xx'", "not well formed"),
            ("printf 'garbage'", "not well formed")):
        with open(fake, "w") as f:
            f.write("#!/bin/sh\nhead -c 4 >/dev/null\n%s\n" % body)
        os.chmod(fake, 0o755)
        r = env.tb("token")
        check(r.returncode == 1 and says in r.stderr and
              "not logged in" not in r.stderr,
              "%s: exit %d: %s" % (body, r.returncode, r.stderr))
    # Reinstated: the next request loads the stored login; no new one.
    shutil.copy2(os.path.join(BUILD, "authd-keyring"), bindir)
    token_ok(env, idp)
    rc, st = status(env)
    check(rc == 0 and st["source"] == "store" and st["sub"] == "alice", st)
    check(len(idp.entries("/device/auth")) == 1, "logged in twice")


def _chan(*fields):
    """A message of daemon/child.h: (tag, bytes or int) fields."""
    body = b""
    for tag, val in fields:
        if isinstance(val, int):
            val = struct.pack(">q", val)
        body += struct.pack(">HI", tag, len(val)) + val
    return struct.pack(">I", len(body)) + body


def _chan_fields(data):
    """The fields of one message (the last of a tag wins)."""
    n, = struct.unpack(">I", data[:4])
    body, out, off = data[4:4 + n], {}, 0
    while off < len(body):
        tag, vlen = struct.unpack(">HI", body[off:off + 6])
        out[tag] = body[off + 6:off + 6 + vlen]
        off += 6 + vlen
    return out


def keyring_helper_input(env):
    """authd-keyring reads one request and checks it: a message that is
    not well formed, an unknown field or operation, a field twice, over
    its bound, with a NUL byte or not UTF-8, or a save without its secret
    makes it exit 2 without a reply. A good save and load of the real
    keyring work, run by hand it says what it is, and it is not dumpable
    and has no core limit."""
    kr = Keyring(env)
    helper = os.path.join(BUILD, "authd-keyring")
    # keyring.h: T_OP 1, T_PROFILE 2, T_ISSUER 3, T_LABEL 4, T_SECRET 5,
    # T_STATUS 6, T_MESSAGE 7; OP_LOAD 1, OP_SAVE 2, OP_DELETE 3.
    iss = (3, b"https://issuer.test")
    bad = {
        "nothing": b"",
        "a short header": b"\0\0",
        "a truncated body": _chan((1, 1), (2, b"p"), iss)[:-3],
        "a length over CHAN_MAX": b"\x7f\xff\xff\xff",
        "an unknown tag": _chan((1, 1), (2, b"p"), iss, (99, b"x")),
        "an unknown op": _chan((1, 9), (2, b"p"), iss),
        "an op of 4 bytes": _chan((1, b"\0\0\0\1"), (2, b"p"), iss),
        "no profile": _chan((1, 1), iss),
        "an empty profile": _chan((1, 1), (2, b""), iss),
        "two profiles": _chan((1, 1), (2, b"p"), (2, b"q"), iss),
        "a NUL in the profile": _chan((1, 1), (2, b"p\0q"), iss),
        "a profile not UTF-8": _chan((1, 1), (2, b"p\xff"), iss),
        "a profile over 8192 bytes": _chan((1, 1), (2, b"p" * 8193), iss),
        "a save without secret": _chan((1, 2), (2, b"p"), iss,
                                       (4, b"label")),
        "a load with a secret": _chan((1, 1), (2, b"p"), iss,
                                      (5, b"{}")),
        "a secret over 1 MiB": _chan((1, 2), (2, b"p"), iss, (4, b"l"),
                                     (5, b"x" * (1024 * 1024 + 1))),
    }
    for what, data in bad.items():
        r = subprocess.run([helper], input=data, capture_output=True,
                           env=env.env, timeout=30)
        check(r.returncode == 2 and r.stdout == b"",
              "%s: exit %d, output %r, stderr %r" % (
                  what, r.returncode, r.stdout[:100], r.stderr[-300:]))
    record = b'{"v":1,"profile":"p"}'
    r = subprocess.run([helper], capture_output=True, env=env.env,
                       timeout=30, input=_chan(
                           (1, 2), (2, b"p"), iss,
                           (4, b"authd credential for p (test)"),
                           (5, record)))
    check(r.returncode == 0, "save: exit %d: %r" % (r.returncode, r.stderr))
    check(_chan_fields(r.stdout) == {6: b"\0" * 8}, r.stdout)
    out = kr.search("application", "authd", "profile", "p")
    check("attribute.issuer = https://issuer.test" in out, out)
    r = subprocess.run([helper], capture_output=True, env=env.env,
                       timeout=30, input=_chan((1, 1), (2, b"p"), iss))
    check(r.returncode == 0 and _chan_fields(r.stdout) == {
        6: b"\0" * 8, 5: record}, "load: %r %r" % (r.stdout, r.stderr))
    r = subprocess.run([helper, "--help"], capture_output=True,
                       env=env.env, timeout=30)
    check(r.returncode == 2 and b"a helper of authd" in r.stderr, r.stderr)
    _helper_hardened(env, helper)


def _helper_hardened(env, helper):
    """While it waits for its request, authd-keyring has no core limit
    and is not dumpable: its /proc/PID/environ is owned by root. As root
    (whose processes own their /proc files anyway) it runs as uid 65534,
    with a plain process of that uid as the control."""
    prefix = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        need(setpriv, "setpriv (util-linux)")
        prefix = [setpriv, "--reuid=65534", "--regid=65534",
                  "--clear-groups"]
        # Reachable by 65534: build trees under a 0700 home are not.
        top = os.path.join(env.dir, "nobody")
        os.chmod(env.dir, 0o711)
        os.mkdir(top, 0o711)
        helper = shutil.copy(helper, os.path.join(top, "authd-keyring"))
        os.chmod(helper, 0o755)
    procs = []
    try:
        for argv in ([helper], ["cat"]):
            procs.append(subprocess.Popen(
                prefix + argv, stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        kr, control = procs

        def comm(p):
            with open("/proc/%d/comm" % p.pid) as f:
                return f.read().strip()

        def owner(p):
            return os.stat("/proc/%d/environ" % p.pid).st_uid
        wait_for(lambda: comm(kr) == "authd-keyring" and owner(kr) == 0,
                 "authd-keyring to be non-dumpable (environ owned by %d)"
                 % owner(kr))
        if prefix:
            wait_for(lambda: comm(control) == "cat", "the control")
            check(owner(control) == 65534, "the control's environ is "
                  "owned by %d" % owner(control))
        with open("/proc/%d/limits" % kr.pid) as f:
            core = [line for line in f
                    if line.startswith("Max core file size")][0].split()
        check(core[4] == "0" and core[5] == "0", "core limit: %s" % core)
    finally:
        for p in procs:
            p.stdin.close()
            p.wait(timeout=10)
    check(kr.returncode == 2, "authd-keyring exit %d at EOF" % kr.returncode)


TESTS = {f.__name__: f for f in (
    restart_copy_held,
    keyring_restart, keyring_locked, no_secret_service, keyring_hung,
    file_store, file_store_torn, rotation_kill_loop, canary_not_logged,
    crash_loop, crash_loop_grace, sigterm_rotation_loop, store_lock_file,
    store_lock_secret, store_shared_rotation, store_lock_successor,
    authd_maps_no_glib, keyring_hung_reaped, keyring_helper_missing,
    keyring_helper_input)}

if __name__ == "__main__":
    run(TESTS)
