"""Integration and security tests of the foundation: tb status, autostart,
the socket, peer checks, framing abuse, detaching, socket activation and
signals. Run one with: python3 test_daemon.py NAME."""
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import struct
import subprocess
import time

from harness import (AUTHD, TB, SRC, Failure, check, need, wait_for,
                     authd_pids, pid_alive, encode, run, Conn, MAX_FRAME)


def _not_logged_in(r):
    check(r.returncode == 3, "exit %d, expected 3: %s" % (r.returncode,
                                                          r.stderr))
    lines = r.stderr.splitlines()
    check(len(lines) >= 2 and lines[0].startswith("tb: not logged in"),
          "no 'tb: not logged in' line: %r" % r.stderr)
    check(lines[1].startswith("hint: "), "no hint line: %r" % r.stderr)
    check(r.stdout == "", "stdout not empty: %r" % r.stdout)


def status_not_logged_in(env):
    """tb status: exit 3 with a message and a hint; --json one object."""
    env.start(env={"AUTHD_ISSUER": "https://idp.example",
                   "AUTHD_CLIENT_ID": "tb-cli"})
    # status answers within 500 ms, "loading" while the store is asked
    # (slow under valgrind on a busy machine): wait for its answer first.
    wait_for(lambda: json.loads(env.tb("--json", "status").stdout)
             .get("store_state") != "loading", "the stored login loaded",
             timeout=30)
    r = env.tb("status")
    _not_logged_in(r)
    check("https://idp.example" in r.stderr, "issuer not named")
    check("hint: run 'tb login'" in r.stderr, r.stderr)

    for argv in (["--json", "status"], ["status", "--json"]):
        r = env.tb(*argv)
        check(r.returncode == 3, "--json exit %d" % r.returncode)
        lines = r.stdout.splitlines()
        check(len(lines) == 1, "--json printed %d lines" % len(lines))
        o = json.loads(lines[0])
        check(isinstance(o, dict), "not an object")
        check(o["logged_in"] is False and o["profile"] == "default", o)
        check(o["configured"] is True and
              o["issuer"] == "https://idp.example", o)
        for k in ("sub", "email", "preferred_username", "name"):
            check(k not in o, "identity field %s while logged out" % k)

    r = env.tb("--profile", "nosuch", "status")
    check(r.returncode == 2, "unknown profile exit %d" % r.returncode)
    check("nosuch" in r.stderr and "hint:" in r.stderr, r.stderr)
    r = env.tb("--json", "--profile", "nosuch", "status")
    check(json.loads(r.stdout)["error"]["code"] == "unknown_profile",
          r.stdout)
    r = env.tb("status", env={"TB_PROFILE": "other"})
    check(r.returncode == 2 and "other" in r.stderr, r.stderr)


def status_unconfigured(env):
    """Without an issuer the message says so and how to fix it."""
    env.start()
    r = env.tb("status")
    _not_logged_in(r)
    check("AUTHD_ISSUER" in r.stderr, r.stderr)


def usage_errors(env):
    for argv, code in ((["frobnicate"], 2), (["--bogus"], 2),
                       (["status", "extra"], 2), (["status", "--nope"], 2),
                       ([], 2), (["--profile", "a/b", "status"], 2),
                       (["profile"], 2), (["profile", "frob"], 2)):
        r = env.tb(*argv)
        check(r.returncode == code, "%s: exit %d" % (argv, r.returncode))
        check(r.stderr.startswith("tb: ") or r.stderr.startswith("usage:"),
              "%s: %r" % (argv, r.stderr))
    for argv in (["--help"], ["help"], ["help", "status"],
                 ["status", "--help"], ["--version"], ["help", "profile"],
                 ["profile", "add", "--help"]):
        r = env.tb(*argv)
        check(r.returncode == 0 and r.stdout, "%s: exit %d" %
              (argv, r.returncode))
    check("status" in env.tb("--help").stdout, "help lists no commands")
    r = subprocess.run([AUTHD, "--version"], capture_output=True, text=True)
    check(r.returncode == 0 and r.stdout.startswith("authd "), r.stdout)
    r = subprocess.run([AUTHD, "--bogus"], capture_output=True, text=True)
    check(r.returncode == 2 and "usage" in r.stderr, r.stderr)
    r = subprocess.run([AUTHD, "--log-level", "loud"], capture_output=True,
                       text=True)
    check(r.returncode == 2 and "hint:" in r.stderr, r.stderr)


def no_daemon(env):
    """Nothing listens and autostart is off: exit 4 with a hint."""
    r = env.tb("status", env={"AUTHD_NO_AUTOSTART": "1"})
    check(r.returncode == 4, "exit %d: %s" % (r.returncode, r.stderr))
    check(r.stderr.startswith("tb: ") and "\nhint: " in r.stderr, r.stderr)
    check(not authd_pids(env.dir), "a daemon was started anyway")
    check(not os.path.exists(env.sock), "socket appeared")
    r = env.tb("--json", "status", env={"AUTHD_NO_AUTOSTART": "1"})
    check(r.returncode == 4, "exit %d" % r.returncode)
    check(json.loads(r.stdout)["error"]["code"] == "daemon_unreachable",
          r.stdout)
    # No socket path at all.
    e = {"AUTHD_NO_AUTOSTART": "1", "XDG_RUNTIME_DIR": ""}
    r = env.tb("status", env=e)
    check(r.returncode == 4 and "AUTHD_SOCK" in r.stderr, r.stderr)


def autostart_race(env):
    """Ten tb status at once with no daemon: exactly one authd starts."""
    procs = [subprocess.Popen([TB, "status"], env=env.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(10)]
    for p in procs:
        out, err = p.communicate(timeout=30)
        check(p.returncode == 3, "tb exit %d: %s" % (p.returncode, err))
        check("already running" not in err, "race leaked: %r" % err)
    pids = wait_for(lambda: authd_pids(env.sock), "an authd")
    check(len(pids) == 1, "%d daemons running: %s" % (len(pids), pids))
    # And later calls use it rather than starting another.
    r = env.tb("status", env={"AUTHD_NO_AUTOSTART": "1"})
    check(r.returncode == 3, r.stderr)
    check(authd_pids(env.sock) == pids, "daemon set changed")
    os.kill(pids[0], signal.SIGTERM)
    wait_for(lambda: not pid_alive(pids[0]), "autostarted authd to exit")
    check(not os.path.exists(env.sock), "socket left behind")


def socket_modes(env):
    """The socket directory is 0700 and the socket 0600, ours."""
    d = env.start()
    st = os.lstat(os.path.dirname(env.sock))
    check(stat.S_IMODE(st.st_mode) == 0o700, "dir mode %o" % st.st_mode)
    check(st.st_uid == os.geteuid(), "dir owner %d" % st.st_uid)
    st = os.lstat(env.sock)
    check(stat.S_ISSOCK(st.st_mode), "not a socket")
    check(stat.S_IMODE(st.st_mode) == 0o600, "socket mode %o" %
          stat.S_IMODE(st.st_mode))
    st = os.lstat(env.sock + ".lock")
    check(stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
          "lock file mode %o" % st.st_mode)
    # A socket that is no longer ours at exit (another daemon's, say) is
    # left alone: only the inode we bound is unlinked.
    os.rename(env.sock, env.sock + ".old")
    theirs = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    theirs.bind(env.sock)
    d.stop()
    check(os.path.exists(env.sock), "authd unlinked a socket not its own")
    theirs.close()
    os.unlink(env.sock)
    os.unlink(env.sock + ".old")
    # A symlink where the lock file goes is refused, not followed.
    os.unlink(env.sock + ".lock")
    target = os.path.join(env.dir, "lock-target")
    os.symlink(target, env.sock + ".lock")
    d = env.start(wait=False)
    rc = d.proc.wait(timeout=30)
    check(rc == 1 and not os.path.exists(target),
          "a symlinked lock file: exit %s, target %s" %
          (rc, os.path.exists(target)))
    os.unlink(env.sock + ".lock")
    d = env.start()
    d.stop()
    # A too-open existing directory is tightened.
    os.chmod(os.path.dirname(env.sock), 0o755)
    d = env.start()
    st = os.lstat(os.path.dirname(env.sock))
    check(stat.S_IMODE(st.st_mode) == 0o700, "dir mode not fixed: %o" %
          stat.S_IMODE(st.st_mode))
    d.stop()
    # A directory owned by someone else is refused.
    if os.geteuid() == 0:
        other = os.path.join(env.dir, "theirs")
        os.mkdir(other, 0o700)
        os.chown(other, 65534, 65534)
        d = env.start(sock=os.path.join(other, "socket"), wait=False)
        rc = d.proc.wait(timeout=10)
        check(rc == 1, "authd accepted a foreign directory (exit %s)" % rc)
        err = open(d.log + ".stderr").read()
        check("belongs to uid 65534" in err, err)


def socket_dir_checked(env):
    """--socket in a directory authd did not make (authd --socket
    ~/authd.sock): its mode is never changed. One that others may write,
    a sticky /tmp-like 1777 one included (as root: the shared /tmp case),
    is refused with a reason that names it, its owner and mode and what
    to do, and is left as it was. One authd makes itself is 0700."""
    # $HOME, 0755 as on most systems.
    os.chmod(env.home, 0o755)
    sock = os.path.join(env.home, "authd.sock")
    d = env.start(sock=sock)
    mode = stat.S_IMODE(os.lstat(env.home).st_mode)
    check(mode == 0o755, "authd changed the mode of its socket's directory "
          "%s from 0755 to %04o" % (env.home, mode))
    st = os.lstat(sock)
    check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
          "socket mode %o" % st.st_mode)
    r = env.tb("status", env={"AUTHD_SOCK": sock, "AUTHD_NO_AUTOSTART": "1"})
    check(r.returncode == 3, "tb status: %d %s" % (r.returncode, r.stderr))
    d.stop()
    # Directories others may write: refused, untouched.
    for name, mode in (("shared", 0o777), ("tmp", 0o1777),
                       ("group", 0o770), ("sticky-group", 0o1730)):
        top = os.path.join(env.dir, name)
        os.mkdir(top)
        os.chmod(top, mode)
        sock = os.path.join(top, "socket")
        d = env.start(sock=sock, wait=False)
        wait_for(lambda: d.proc.poll() is not None or
                 env.connectable(sock), "authd to start or refuse")
        now = stat.S_IMODE(os.lstat(top).st_mode)
        check(now == mode, "authd changed the mode of %s from %04o to %04o"
              % (top, mode, now))
        check(d.proc.poll() is not None, "authd listens in %s (mode %04o)" %
              (top, mode))
        err = open(d.log + ".stderr").read()
        check(d.proc.returncode == 1, "exit %d: %s" % (d.proc.returncode,
                                                      err))
        check(top in err and "mode %04o" % mode in err and
              "owner uid %d" % os.geteuid() in err and
              "$XDG_RUNTIME_DIR/authd" in err, "no reason: %r" % err)
        check(os.listdir(top) == [], "left files in %s: %s" %
              (top, os.listdir(top)))
    # A directory authd makes is 0700; its parent is left alone.
    os.chmod(env.dir, 0o755)
    sock = os.path.join(env.dir, "made", "socket")
    d = env.start(sock=sock)
    check(stat.S_IMODE(os.lstat(os.path.dirname(sock)).st_mode) == 0o700,
          "made directory mode")
    check(stat.S_IMODE(os.lstat(env.dir).st_mode) == 0o755, "parent mode")
    d.stop()


def _as_nobody_status(sock):
    """Fork, drop to nobody, connect and send a status request."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            c = Conn(sock)
            c.request("status")
            reply = c.read()
            closed = c.eof()
            os.write(w, json.dumps({"reply": reply,
                                    "closed": closed}).encode())
        except Exception as e:  # report to the parent
            os.write(w, json.dumps({"exc": repr(e)}).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data)


def peer_other_uid(env):
    """A peer with another uid is refused by SO_PEERCRED; ours is served."""
    need(os.geteuid() == 0, "root, to drop a child to nobody")
    d = env.start()
    # Served once its start is over: the store's lock directory (the
    # socket's, $XDG_RUNTIME_DIR/authd) is made private after the bind.
    check(env.tb("status").returncode == 3, "not serving")
    # Only the filesystem protects a 0700/0600 socket; open it up so the
    # daemon's own uid check is what refuses the peer.
    os.chmod(env.dir, 0o711)
    os.chmod(env.runtime, 0o711)
    os.chmod(os.path.dirname(env.sock), 0o711)
    os.chmod(env.sock, 0o666)
    res = _as_nobody_status(env.sock)
    check("exc" not in res, "nobody could not talk to authd: %s" % res)
    reply = res["reply"]
    check(reply is not None and reply.get("ok") is False,
          "no error reply: %s" % reply)
    check(reply["error"]["code"] == "peer_denied", reply)
    check(reply["id"] is None, reply)
    check(res["closed"], "connection stayed open")
    check("refusing pid" in d.log_text() and "uid 65534" in d.log_text(),
          "refusal not logged")
    # Our own uid is still served, by tb and raw.
    r = env.tb("status")
    check(r.returncode == 3, r.stderr)
    c = env.conn()
    c.request("status")
    check(c.read()["ok"] is True, "own uid refused")
    d.stop()


def _serving(env):
    r = env.tb("status", env={"AUTHD_NO_AUTOSTART": "1"})
    check(r.returncode == 3, "daemon not serving: %d %s" % (r.returncode,
                                                            r.stderr))


def oversized_frame(env):
    """64 KiB + 1 is refused with an error; 64 KiB exactly is served; other
    clients are served meanwhile."""
    d = env.start()
    bystander = env.conn()
    c = env.conn()
    c.send(struct.pack(">I", MAX_FRAME + 1) + b"{" + b" " * 100)
    reply = c.read()
    check(reply["ok"] is False and
          reply["error"]["code"] == "frame_too_large", reply)
    check(c.eof(), "connection not closed")
    _serving(env)
    bystander.request("status", id=5)
    check(bystander.read()["id"] == 5, "bystander not served")
    # Exactly the cap: a valid request padded with whitespace.
    body = b'{"v":1,"id":2,"op":"status"}'
    body += b" " * (MAX_FRAME - len(body))
    c = env.conn()
    c.send(struct.pack(">I", len(body)) + body)
    reply = c.read()
    check(reply["ok"] is True and reply["id"] == 2, reply)
    d.stop()


def garbage(env):
    """Garbage drops only that connection; request errors keep it."""
    d = env.start()
    bystander = env.conn()
    # Raw HTTP: the "length" is far over the cap.
    c = env.conn()
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    check(c.read()["error"]["code"] == "frame_too_large", "no error")
    check(c.eof(), "not closed")
    # Well framed, not JSON.
    c = env.conn()
    c.send(struct.pack(">I", 9) + b"not json!")
    r = c.read()
    check(r["error"]["code"] == "bad_frame" and r["id"] is None, r)
    check(c.eof(), "not closed")
    # Zero-length frame.
    c = env.conn()
    c.send(b"\0\0\0\0")
    check(c.read()["error"]["code"] == "empty_frame", "no error")
    check(c.eof(), "not closed")
    # Invalid UTF-8 and an embedded NUL.
    for body in (b'{"v":1,"id":1,"op":"\xff"}', b'{"v":1,"id":1}\0'):
        c = env.conn()
        c.send(struct.pack(">I", len(body)) + body)
        check(c.read()["error"]["code"] == "bad_frame", "accepted")
        check(c.eof(), "not closed")
    # Random bytes.
    c = env.conn()
    c.send(os.urandom(4096))
    frames = []
    while True:
        try:
            f = c.read()
        except (ConnectionResetError, BrokenPipeError):
            break
        if f is None:
            break
        frames.append(f)
    check(len(frames) <= 1 and all(f["ok"] is False for f in frames),
          "random bytes: %s" % frames)
    # Request-level errors keep the connection.
    c = env.conn()
    c.request("nosuchop", id=1)
    r = c.read()
    check(r["error"]["code"] == "unknown_op" and r["id"] == 1, r)
    c.send(encode({"v": 1, "id": 2, "op": "status", "args": []}))
    r = c.read()
    check(r["error"]["code"] == "bad_request" and r["id"] == 2, r)
    c.send(encode({"v": 1, "op": "status"}))
    r = c.read()
    check(r["error"]["code"] == "bad_request" and r["id"] is None, r)
    c.request("status", id=3)
    r = c.read()
    check(r["ok"] is True and r["id"] == 3, r)
    # A version we do not speak: error, then closed.
    c.request("status", id=4, v=2)
    r = c.read()
    check(r["error"]["code"] == "version_mismatch" and r["id"] == 4, r)
    check(c.eof(), "not closed after version mismatch")
    _serving(env)
    bystander.request("status", id=9)
    check(bystander.read()["id"] == 9, "bystander not served")
    check(d.proc.poll() is None, "daemon died")
    d.stop()


def protocol(env):
    """hello, pipelining, byte-at-a-time frames."""
    d = env.start()
    c = env.conn()
    c.request("hello", {"versions": [1], "client": "test/1"}, id=1)
    r = c.read()
    check(r["ok"] and r["result"]["version"] == 1, r)
    check(r["result"]["server"].startswith("authd/"), r)
    check({"hello", "status"} <= set(r["result"]["ops"]), r)
    check(r["result"]["max_frame"] == MAX_FRAME, r)
    c.request("hello", {"versions": [7, 8]}, id=2)
    r = c.read()
    check(r["error"]["code"] == "version_mismatch" and r["id"] == 2, r)
    # Two requests in one write: two replies, ids kept.
    c.send(encode({"v": 1, "id": 10, "op": "status"}) +
           encode({"v": 1, "id": 11, "op": "hello"}))
    ids = sorted([c.read()["id"], c.read()["id"]])
    check(ids == [10, 11], ids)
    # The largest id comes back exactly.
    c.request("status", id=2**53 - 1)
    r = c.read()
    check(r["id"] == 2**53 - 1, "id changed: %s" % r["id"])
    # One byte at a time.
    for b in encode({"v": 1, "id": 12, "op": "status"}):
        c.send(bytes([b]))
    check(c.read()["id"] == 12, "byte-at-a-time request not served")
    d.stop()


def idle_timeout(env):
    """Idle connections and unfinished frames are closed after the idle
    timeout, with a reason."""
    d = env.start("--idle-timeout", "1")
    c = env.conn()
    r = c.read()   # blocks until the daemon speaks (socket timeout 10 s)
    check(r["error"]["code"] == "idle_timeout" and r["id"] is None, r)
    check(c.eof(), "not closed")
    c = env.conn()
    c.send(b"\0\0\0\x20{")     # half a frame, then silence
    r = c.read()
    check(r["error"]["code"] == "idle_timeout", r)
    _serving(env)
    d.stop()


def connection_cap(env):
    """Past the connection cap a client gets 'busy'; a freed slot is reused."""
    d = env.start("--max-connections", "3")
    # The start-up probe's connection must be gone before we count.
    wait_for(lambda: "conn 1: closed by peer" in d.log_text(),
             "the probe connection to close")
    held = [env.conn() for _ in range(3)]
    for i, c in enumerate(held):
        c.request("status", id=i + 1)
        check(c.read()["ok"], "held connection not served")
    extra = env.conn()
    r = extra.read()
    check(r["error"]["code"] == "busy", r)
    check(extra.eof(), "not closed")
    r = env.tb("status", env={"AUTHD_NO_AUTOSTART": "1"})
    check(r.returncode != 3 and "limit" in r.stderr, r.stderr)
    held.pop().close()

    def served():
        try:
            c = env.conn()
            c.request("status")
            return c.read().get("ok")
        except OSError:
            return False
    wait_for(served, "a freed slot to be reusable")
    d.stop()


def eval_authd(env):
    """eval "$(authd)" then tb status, like ssh-agent."""
    script = ('eval "$(%s)" >/dev/null || exit 90\n'
              'test -n "$AUTHD_SOCK" || exit 91\n'
              'echo "$AUTHD_SOCK $AUTHD_PID"\n'
              '%s status; echo "tb=$?"\n' % (AUTHD, TB))
    r = subprocess.run(["sh", "-c", script], env=env.env,
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "sh exit %d: %s" % (r.returncode, r.stderr))
    sock, pid = r.stdout.splitlines()[0].split()
    pid = int(pid)
    check(sock == env.sock, "AUTHD_SOCK=%s" % sock)
    check("tb=3" in r.stdout and "hint:" in r.stderr, r.stdout + r.stderr)
    check(pid_alive(pid), "daemon not running after eval")
    # The raw output is what the README shows. A second daemon exits 3
    # (AUTHD_EXIT_RUNNING: what autostarting clients test) and says why.
    out = subprocess.run([AUTHD], env=env.env, capture_output=True,
                         text=True)
    check(out.returncode == 3 and "already running" in out.stderr,
          "second daemon: %d %s" % (out.returncode, out.stderr))
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not pid_alive(pid), "authd to exit")
    check(not os.path.exists(sock), "socket not removed")
    out = subprocess.run([AUTHD], env=env.env, capture_output=True,
                         text=True, timeout=30)
    check(out.returncode == 0, out.stderr)
    lines = out.stdout.splitlines()
    check(lines[0] == "AUTHD_SOCK=%s; export AUTHD_SOCK;" % env.sock,
          lines)
    pid = int(lines[1].split("=")[1].split(";")[0])
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not pid_alive(pid), "authd to exit")


def socket_activation(env):
    """systemd socket activation (LISTEN_FDS) through systemd-socket-activate."""
    ssa = shutil.which("systemd-socket-activate")
    need(ssa, "systemd-socket-activate")
    os.makedirs(os.path.dirname(env.sock), mode=0o700)
    log = os.path.join(env.dir, "activated.log")
    proc = subprocess.Popen([ssa, "-l", env.sock, "--fdname=authd.socket",
                             AUTHD, "--foreground", "--log-level", "debug",
                             "--log-file", log],
                            env=env.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: os.path.exists(env.sock), "the activation socket")
        r = env.tb("status", env={"AUTHD_NO_AUTOSTART": "1"})
        check(r.returncode == 3 and "hint:" in r.stderr, r.stderr)
        text = open(log).read()
        check("socket activation" in text, "not activated: %s" % text)
        # The activated daemon is the one that answered.
        check(proc.poll() is None, "activated authd exited")
        r = env.tb("--json", "status", env={"AUTHD_NO_AUTOSTART": "1"})
        check(json.loads(r.stdout)["logged_in"] is False, r.stdout)
        # A second, manual daemon refuses the live socket.
        r = subprocess.run([AUTHD, "--foreground", "--socket", env.sock],
                           env=env.env, capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 3 and "already running" in r.stderr, r.stderr)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=15)
        check(rc == 0, "activated authd exit %d: %s" % (rc,
              proc.stderr.read()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def signals(env):
    """SIGTERM and SIGINT exit 0 and remove the socket; SIGHUP keeps
    serving; a stale socket is replaced; a live one is not."""
    d = env.start()
    c = env.conn()          # an idle client does not hold up the exit
    d.stop(signal.SIGTERM, expect=0)
    check(not os.path.exists(env.sock), "socket left after SIGTERM")
    r = c.read()
    check(r is None or r["error"]["code"] == "shutting_down", r)

    d = env.start()
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "SIGHUP" in d.log_text(), "SIGHUP to be handled")
    _serving(env)
    # A second daemon on a live socket refuses and leaves it alone.
    d2 = env.start(wait=False)
    check(d2.proc.wait(timeout=10) == 3, "second daemon started")
    check("already running" in open(d2.log + ".stderr").read(), "no reason")
    _serving(env)
    d.stop(signal.SIGINT, expect=0)
    check(not os.path.exists(env.sock), "socket left after SIGINT")

    # A stale socket (a dead daemon's) is removed and replaced.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(env.sock)
    s.close()
    check(os.path.exists(env.sock), "no stale socket made")
    d = env.start()
    _serving(env)
    check("stale socket" in d.log_text(), "stale socket not noted")
    # kill -9 leaves a stale socket; the next start copes.
    d.stop(signal.SIGKILL, expect=None)
    check(os.path.exists(env.sock), "socket vanished on SIGKILL")
    d = env.start()
    _serving(env)
    d.stop()


def hardening(env):
    """Not dumpable, no core dumps, private umask."""
    d = env.start()
    with open("/proc/%d/status" % d.pid) as f:
        status = f.read()
    with open("/proc/%d/limits" % d.pid) as f:
        limits = f.read()
    core = [line for line in limits.splitlines()
            if line.startswith("Max core file size")][0].split()
    check(core[4] == "0" and core[5] == "0", "core limit: %s" % core)
    umask = [line for line in status.splitlines()
             if line.startswith("Umask:")][0].split()[1]
    check(umask == "0077", "umask %s" % umask)
    # PR_SET_DUMPABLE 0 makes /proc/PID/* owned by root and ptrace-proof
    # for the daemon's own uid. A root daemon's files are root's anyway, so
    # as root the check runs on a second authd started as nobody.
    if os.geteuid() != 0:
        st = os.stat("/proc/%d/environ" % d.pid)
        check(st.st_uid == 0, "daemon is dumpable (environ owned by %d)" %
              st.st_uid)
    else:
        _not_dumpable_as_nobody(env)
    d.stop()
    # AUTHD_TOKEN is scrubbed from the environment block (root can read
    # it; no one else can, the daemon being non-dumpable).
    if os.geteuid() == 0:
        d = env.start(env={"AUTHD_TOKEN": "CANARYenvTOKEN123"})
        r = env.tb("--json", "status")
        check(json.loads(r.stdout)["source"] == "environment", r.stdout)
        with open("/proc/%d/environ" % d.pid, "rb") as f:
            block = f.read()
        check(b"CANARYenvTOKEN" not in block,
              "AUTHD_TOKEN's value left in the environment block")
        d.stop()


def _start_as_nobody(env):
    """authd as uid 65534 (run by root) on a socket of its own; returns
    the process, its socket and the privilege-dropping command prefix."""
    setpriv = shutil.which("setpriv")
    need(setpriv, "setpriv (util-linux)")
    drop = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    top = os.path.join(env.dir, "nobody")
    run, home = os.path.join(top, "run"), os.path.join(top, "home")
    os.chmod(env.dir, 0o711)
    os.mkdir(top, 0o711)
    for p in (run, home):
        os.mkdir(p, 0o700)
        os.chown(p, 65534, 65534)
    sock = os.path.join(run, "authd", "socket")
    log = os.path.join(home, "authd.log")
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
         "XDG_RUNTIME_DIR": run}
    # The binary must be reachable by nobody: build trees under a 0700
    # home are not, so copy it next to the socket's directory.
    exe = os.path.join(top, "authd")
    shutil.copy(AUTHD, exe)
    os.chmod(exe, 0o755)
    p = subprocess.Popen(drop + [exe, "--foreground", "--socket", sock,
                                 "--store", "memory", "--log-level", "debug",
                                 "--log-file", log],
                         env=e, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL,
                         stderr=open(log + ".stderr", "w"))
    env.procs.append(p)
    wait_for(lambda: os.path.exists(sock) or p.poll() is not None,
             "authd (as nobody) to listen on " + sock, timeout=30)
    # (Not p.stderr.read() in the message: it is evaluated even when the
    # check passes, and would block on a live daemon.)
    check(p.poll() is None, "authd as nobody exited %s: %s" %
          (p.returncode, open(log + ".stderr").read()))
    return p, sock, drop, e


def _stop_nobody(p):
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=30)
    check(rc == 0, "authd as nobody exited %d" % rc)


def _not_dumpable_as_nobody(env):
    """authd run as uid 65534 has /proc/PID/environ owned by root, and a
    plain process of the same uid (the control) has it owned by 65534."""
    p, sock, drop, e = _start_as_nobody(env)
    control = subprocess.Popen(drop + ["cat"], env=e, stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL)
    env.procs.append(control)

    def owner(pid):
        uid = None
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Uid:"):
                    uid = int(line.split()[1])
        return uid, os.stat("/proc/%d/environ" % pid).st_uid

    # setpriv drops privileges, then execs cat: wait for the exec.
    wait_for(lambda: open("/proc/%d/comm" % control.pid).read() == "cat\n",
             "the control process to exec cat")
    check(owner(control.pid) == (65534, 65534),
          "control process: (uid, environ owner) = %s" % (owner(control.pid),))
    check(owner(p.pid) == (65534, 0),
          "authd as nobody is dumpable: (uid, environ owner) = %s" %
          (owner(p.pid),))
    control.stdin.close()
    control.wait(timeout=10)
    _stop_nobody(p)


def foreign_daemon(env):
    """tb, the helpers and libauthd-client refuse a daemon of another uid
    (SO_PEERCRED on the client side) before sending anything."""
    need(os.geteuid() == 0, "root, to run authd as nobody")
    p, sock, _, _ = _start_as_nobody(env)
    for argv in (["status"], ["token", "--audience", "x"], ["list"]):
        r = env.tb(*argv, env={"AUTHD_SOCK": sock,
                               "AUTHD_NO_AUTOSTART": "1"})
        check(r.returncode != 0 and "runs as uid 65534" in r.stderr and
              "refusing" in r.stderr, "tb %s: %d %s" %
              (argv[0], r.returncode, r.stderr))
    r = env.tb("--json", "status", env={"AUTHD_SOCK": sock,
                                        "AUTHD_NO_AUTOSTART": "1"})
    err = json.loads(r.stdout or r.stderr)
    check(err.get("error", {}).get("code") == "peer_denied", r.stdout +
          r.stderr)
    # git's helper too (it speaks through libauthd-client).
    git_helper = os.path.join(os.environ["AUTHD_BUILD_DIR"],
                              "git-credential-tb")
    r = subprocess.run([git_helper, "--host", "example.com", "get"], input="protocol=https\n"
                       "host=example.com\n\n", capture_output=True,
                       text=True, timeout=30,
                       env=dict(env.env, AUTHD_SOCK=sock,
                                AUTHD_NO_AUTOSTART="1"))
    check("runs as uid 65534" in r.stderr and "password=" not in r.stdout,
          "git-credential-tb: %s %s" % (r.stdout, r.stderr))
    docker_helper = os.path.join(os.environ["AUTHD_BUILD_DIR"],
                                 "docker-credential-tb")
    r = subprocess.run([docker_helper, "get"], input="registry.example.com",
                       capture_output=True, text=True, timeout=30,
                       env=dict(env.env, AUTHD_SOCK=sock,
                                AUTHD_NO_AUTOSTART="1",
                                TB_DOCKER_REGISTRY="registry.example.com"))
    check(r.returncode != 0 and "runs as uid 65534" in r.stdout + r.stderr
          and "Secret" not in r.stdout, "docker-credential-tb: %s %s" %
          (r.stdout, r.stderr))
    _stop_nobody(p)


def systemd_units(env):
    """The user units pass systemd-analyze --user verify with no output."""
    sa = shutil.which("systemd-analyze")
    need(sa, "systemd-analyze")
    build = os.environ["AUTHD_BUILD_DIR"]
    udir = os.path.join(env.dir, "units")
    os.mkdir(udir)
    with open(os.path.join(build, "authd.service")) as f:
        svc = f.read()
    # verify checks that ExecStart exists: point it at the built binary.
    import re
    svc = re.sub(r"^ExecStart=\S+", "ExecStart=" + AUTHD, svc, flags=re.M)
    with open(os.path.join(udir, "authd.service"), "w") as f:
        f.write(svc)
    shutil.copy(os.path.join(SRC, "systemd", "authd.socket"), udir)
    r = subprocess.run([sa, "--user", "verify",
                        os.path.join(udir, "authd.socket"),
                        os.path.join(udir, "authd.service")],
                       env=env.env, capture_output=True, text=True,
                       timeout=60)
    out = (r.stdout + r.stderr).strip()
    check(r.returncode == 0 and out == "",
          "systemd-analyze verify: exit %d: %s" % (r.returncode, out))
    check("ListenStream=%t/authd/socket" in
          open(os.path.join(udir, "authd.socket")).read(), "socket path")


TESTS = {f.__name__: f for f in (
    status_not_logged_in, status_unconfigured, usage_errors, no_daemon,
    autostart_race, socket_modes, socket_dir_checked, peer_other_uid,
    oversized_frame, garbage, protocol, idle_timeout, connection_cap,
    eval_authd, socket_activation, signals, hardening, foreign_daemon, systemd_units)}

if __name__ == "__main__":
    run(TESTS)
