"""Test harness for authd integration tests: private runtime dirs, daemons,
tb runs, raw protocol clients, and checks with deadlines (never sleeps).

Every test function gets a fresh Env. A check that fails raises; the runner
prints "N passed, N failed" and exits non-zero on failure. A test that needs
a component that is missing (root, a tool) is skipped (exit 77) on a
developer machine and fails under CI=true.
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("AUTHD_BUILD_DIR", "")
AUTHD = os.environ.get("AUTHD_BIN") or os.path.join(BUILD, "authd")
TB = os.environ.get("TB_BIN") or os.path.join(BUILD, "tb")
SRC = os.environ.get("AUTHD_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(
                         os.path.abspath(__file__)))))
SKIP = 77
MAX_FRAME = 65536
# Latency bounds stretch under valgrind (memcheck runs authd ~20x slower):
# there the tests check memory and behaviour, not speed.
SLOW = 5 if os.environ.get("AUTHD_VALGRIND") else 1

# One baseline whatever the caller's umask: files the tests write (a
# config.ini without a secret, say) are 0644, which authd accepts, and
# never group-writable, which it refuses.
os.umask(0o022)


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def need(cond, what):
    """A missing component: skip locally, fail in CI."""
    if cond:
        return
    if os.environ.get("CI"):
        raise Failure("required component missing in CI: " + what)
    raise Skip(what)


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def wait_for(pred, what, timeout=10.0, interval=0.005):
    """Poll pred() until it is true or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failure("timed out after %.1fs waiting for %s" %
                          (timeout, what))
        time.sleep(interval)


def children(pid):
    """The processes whose parent is pid, zombies included: a list of
    (pid, comm, state, exe), exe the basename of /proc/PID/exe (None when
    it cannot be read: a zombie's)."""
    kids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) != pid:
            continue
        try:
            exe = os.path.basename(os.readlink("/proc/%s/exe" % p))
        except OSError:
            exe = None
        kids.append((int(p), stat[stat.index("(") + 1:stat.rindex(")")],
                     fields[0], exe))
    return kids


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def encode(obj):
    body = json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack(">I", len(body)) + body


class Conn:
    """A raw protocol connection, for tests that speak bytes."""

    def __init__(self, path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def send(self, data):
        # The daemon may have refused us (peer check, busy) and closed
        # already: its reason is still waiting to be read.
        try:
            self.s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def request(self, op, args=None, id=1, v=1):
        msg = {"v": v, "id": id, "op": op}
        if args is not None:
            msg["args"] = args
        self.send(encode(msg))

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    def read(self):
        """One frame as a dict, or None at EOF."""
        if not self._fill(4):
            return None
        (n,) = struct.unpack(">I", self.buf[:4])
        check(0 < n <= MAX_FRAME, "daemon sent a bad frame length %d" % n)
        if not self._fill(4 + n):
            raise Failure("EOF inside a frame")
        body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return json.loads(body)

    def eof(self):
        """True when the daemon closed the connection (after any frames)."""
        try:
            return self.read() is None
        except (ConnectionResetError, BrokenPipeError):
            return True

    def close(self):
        self.s.close()


class Daemon:
    def __init__(self, env, proc, sock, log):
        self.env, self.proc, self.sock, self.log = env, proc, sock, log

    @property
    def pid(self):
        return self.proc.pid

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, expect=0):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Failure("authd did not exit after signal %d" % sig)
        vg = self.log + ".valgrind"
        if expect is None and os.path.exists(vg):
            # Killed: memcheck had no exit to report at, but with --quiet
            # anything it wrote before the kill is an error report.
            with open(vg, errors="replace") as f:
                report = f.read()
            check(report.strip() == "", "valgrind reported errors before "
                  "signal %d:\n%s" % (sig, report[-6000:]))
        if expect is not None:
            check(rc == expect, "authd exited %d, expected %d; log:\n%s%s" %
                  (rc, expect, self.log_text()[-3000:],
                   open(vg).read()[-6000:] if os.path.exists(vg) else ""))
        return rc


class Env:
    """A private XDG_RUNTIME_DIR and HOME, and the processes started in it."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix="authd-%s." % name[:12])
        os.chmod(self.dir, 0o700)
        self.runtime = os.path.join(self.dir, "run")
        os.mkdir(self.runtime, 0o700)
        self.home = os.path.join(self.dir, "home")
        os.mkdir(self.home, 0o700)
        self.sock = os.path.join(self.runtime, "authd", "socket")
        self.daemons = []
        self.procs = []
        self.env = dict(os.environ)
        for k in ("AUTHD_SOCK", "AUTHD_ISSUER", "AUTHD_CLIENT_ID",
                  "TB_PROFILE", "AUTHD_NO_AUTOSTART", "LISTEN_FDS",
                  "LISTEN_PID", "DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
            self.env.pop(k, None)
        # Tests run tb without a terminal (and CI=true in CI), where tb
        # login refuses to start a login that needs a person (exit 7):
        # the tests are that person, said explicitly. A test of the
        # refusal sets TB_INTERACTIVE to "" (unset, for tb).
        self.env.update({"TB_INTERACTIVE": "1",
                         "XDG_RUNTIME_DIR": self.runtime, "HOME": self.home,
                         "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
                         "XDG_STATE_HOME": os.path.join(self.home, ".state")})

    def start(self, *args, sock=None, env=None, wait=True, log_level="debug",
              exe=None):
        """authd (this build's, or exe) --foreground on a private socket,
        logging to a file."""
        sock = sock or self.sock
        log = os.path.join(self.dir, "authd-%d.log" % len(self.daemons))
        e = dict(self.env)
        if env:
            e.update(env)
        argv = [exe or AUTHD, "--foreground", "--socket", sock, "--log-level",
                log_level, "--log-file", log] + list(args)
        if os.environ.get("AUTHD_VALGRIND"):
            # memcheck: any error, or a definite leak at exit, makes authd
            # exit 99, which Daemon.stop() reports.
            argv = ["valgrind", "--quiet", "--error-exitcode=99",
                    "--leak-check=full", "--show-leak-kinds=definite",
                    "--errors-for-leak-kinds=definite",
                    "--suppressions=/usr/share/glib-2.0/valgrind/glib.supp",
                    "--suppressions=" + os.path.join(
                        SRC, "tests", "glib-libsecret.supp"),
                    "--log-file=" + log + ".valgrind"] + argv
        proc = subprocess.Popen(argv, env=e, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=open(log + ".stderr", "w"))
        d = Daemon(self, proc, sock, log)
        self.daemons.append(d)
        if wait:
            wait_for(lambda: self.connectable(sock) or proc.poll() is not None,
                     "authd to listen on " + sock, timeout=60)
            check(proc.poll() is None, "authd exited %s at start: %s" %
                  (proc.returncode, open(log + ".stderr").read()))
        return d

    def connectable(self, sock=None):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(sock or self.sock)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def tb(self, *args, env=None, input=None, timeout=30):
        e = dict(self.env)
        if env:
            e.update(env)
        return subprocess.run([TB] + list(args), env=e, input=input,
                              capture_output=True, text=True,
                              timeout=timeout)

    def conn(self, sock=None):
        return Conn(sock or self.sock)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for d in self.daemons:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        # Daemons started detached (autostart, eval): find them by socket.
        for pid in authd_pids(self.dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def authd_pids(fragment):
    """Live authd processes whose command line mentions fragment."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if not argv or os.path.basename(argv[0]) != b"authd":
            continue
        if any(fragment.encode() in a for a in argv) and pid_alive(int(p)):
            pids.append(int(p))
    return pids


# LeakSanitizer's exit-time check stops every thread of the exiting
# process. It writes these when a thread it meant to stop was gone or
# going (a helper killed by its PR_SET_PDEATHSIG as its authd is killed;
# a GLib worker thread of authd-keyring ending as the helper exits at
# EOF), and then goes on: a leak it then finds is reported as usual, with
# "ERROR: LeakSanitizer", and that is a finding.
# With log_exe_name=1 each line starts "==NAME==PID==", else "==PID==".
_LSAN_PREFIX = r"==(?:[\w.+-]+==)?\d+=="
_LSAN_STOP_LINES = (
    _LSAN_PREFIX + r"Unable to get registers from thread \d+\.",
    _LSAN_PREFIX + r"Running thread \d+ was not suspended\. "
    r"False leaks are possible\.",
)


def no_finding(text):
    """True when a sanitizer log holds nothing but LeakSanitizer's
    thread-stop notes (_LSAN_STOP_LINES): no error, no leak."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return bool(lines) and all(
        any(re.fullmatch(p, ln) for p in _LSAN_STOP_LINES) for ln in lines)


def _no_finding(path):
    try:
        with open(path, errors="replace") as f:
            return no_finding(f.read())
    except OSError:
        return False


REPORTED = ".reported"


def sanitizer_reports():
    """Sanitizer logs with a finding that no test has failed on yet."""
    d = os.environ.get("AUTHD_SANITIZER_LOG_DIR")
    if not d or not os.path.isdir(d):
        return []
    return [os.path.join(d, f) for f in os.listdir(d)
            if not f.endswith(REPORTED)
            and not _no_finding(os.path.join(d, f))]


def sanitizer_fail(reports):
    """Fail the test on these logs, and mark them reported: the first
    test to find a log fails on it, not every test after it (the log is
    kept, renamed NAME.reported)."""
    text = "".join(open(r, errors="replace").read()[:4000]
                   for r in reports[:3])
    for r in reports:
        try:
            os.rename(r, r + REPORTED)
        except OSError:
            pass  # a test running alongside marked it first
    raise Failure("sanitizer reports: %s\n%s" % (reports, text))


def run(tests):
    """Run the test named in argv[1] (or all) and report."""
    names = sys.argv[1:] or list(tests)
    # A valgrind run without valgrind fails: skipping would hide it.
    if os.environ.get("AUTHD_VALGRIND") and not shutil.which("valgrind"):
        print("FAIL: valgrind is not installed: apt-get install valgrind")
        sys.exit(1)
    passed = failed = skipped = 0
    for name in names:
        fn = tests[name]
        env = Env(name)
        try:
            fn(env)
            # Daemons still running stop cleanly: exit 0 also means no
            # sanitizer or valgrind finding at exit (leaks included).
            for d in env.daemons:
                if d.proc.poll() is None:
                    d.stop()
            reports = sanitizer_reports()
            if reports:
                sanitizer_fail(reports)
            # A valgrind run of a test whose daemons all came from
            # autostart would check nothing: say so.
            check(not os.environ.get("AUTHD_VALGRIND") or env.daemons,
                  "no daemon of this test ran under valgrind")
            passed += 1
            print("ok: %s" % name)
        except Skip as e:
            skipped += 1
            print("skip: %s: %s" % (name, e))
        except Failure as e:
            failed += 1
            print("FAIL: %s: %s" % (name, e))
            for d in env.daemons:
                print("--- authd log (%s) ---\n%s" % (d.log,
                      d.log_text()[-4000:]))
        except Exception as e:  # a bug in the test itself
            failed += 1
            print("FAIL: %s: %s: %s" % (name, type(e).__name__, e))
        finally:
            env.cleanup()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed:
        sys.exit(1)
    if skipped and not passed:
        sys.exit(SKIP)


IDP_DIR = os.path.join(SRC, "tests", "idp")


class IdP:
    """The project's test OpenID provider (tests/idp/idp.js) on loopback."""

    def __init__(self, env, *args, port=0, name="idp"):
        need(shutil.which("node"), "node (for the test provider)")
        need(os.path.isdir(os.path.join(IDP_DIR, "node_modules")),
             "tests/idp/node_modules (run 'npm ci' in tests/idp)")
        self.env, self.args, self.name = env, list(args), name
        self.log = os.path.join(env.dir, name + ".log")
        self.start(port)

    def start(self, port=0):
        ready = os.path.join(self.env.dir, self.name + ".ready")
        if os.path.exists(ready):
            os.unlink(ready)
        self.out = open(os.path.join(self.env.dir, self.name + ".out"), "a")
        self.proc = subprocess.Popen(
            ["node", os.path.join(IDP_DIR, "idp.js"), "--port", str(port),
             "--ready-file", ready, "--log", self.log] + self.args,
            stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.out,
            env=self.env.env)
        wait_for(lambda: os.path.exists(ready) or
                 self.proc.poll() is not None, "the test provider")
        check(self.proc.poll() is None, "the test provider exited: %s" %
              open(self.out.name).read()[-2000:])
        with open(ready) as f:
            info = json.load(f)
        self.issuer, self.port = info["issuer"], info["port"]
        self.env.procs.append(self.proc)
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=15)

    def entries(self, path=None, grant=None):
        """The request log, optionally filtered by path and grant type."""
        out = []
        try:
            with open(self.log) as f:
                for line in f:
                    try:
                        e = json.loads(line)
                    except ValueError:
                        continue
                    if path and e.get("path") != path:
                        continue
                    if grant and e.get("grant_type") != grant:
                        continue
                    out.append(e)
        except OSError:
            pass
        return out

    def polls(self):
        return self.entries("/token",
                            "urn:ietf:params:oauth:grant-type:device_code")

    def userinfo(self, token):
        """GET /me with the bearer token: (status, json)."""
        import urllib.request
        import urllib.error
        req = urllib.request.Request(self.issuer + "/me", headers={
            "Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, None

    def user_code_state(self, code):
        """What the provider knows of a user code (diagnostics)."""
        import urllib.parse
        import urllib.request
        try:
            with urllib.request.urlopen(
                    self.issuer + "/test/user-code?code=" +
                    urllib.parse.quote(code or ""), timeout=10) as r:
                return r.read().decode()
        except OSError as e:
            return "unknown (%s)" % e

    def approve(self, uri, user="alice", deny_at=None, code=None):
        import urllib.parse
        code_seen = code or urllib.parse.parse_qs(
            urllib.parse.urlparse(uri).query).get("user_code", [""])[0]
        # --verbose: the steps are shown only when the approval fails.
        argv = ["node", os.path.join(IDP_DIR, "approve-http.js"), uri,
                "--user", user, "--verbose"]
        if code:
            argv += ["--code", code]
        if deny_at:
            argv += ["--deny-at", deny_at]
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=60, env=self.env.env)
        if r.returncode != 0:
            raise Failure("approval failed: %s\nthe provider's state of "
                          "code %s: %s" % (r.stdout + r.stderr, code_seen,
                                           self.user_code_state(code_seen)))


class Login:
    """A `tb login` running in the background, read as it goes."""

    def __init__(self, env, *args, extra_env=None):
        self.err_path = os.path.join(env.dir, "login-%d.err" %
                                     len(env.procs))
        e = dict(env.env)
        if extra_env:
            e.update(extra_env)
        self.proc = subprocess.Popen(
            [TB, "login"] + list(args), env=e, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=open(self.err_path, "w"),
            text=True)
        env.procs.append(self.proc)

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def code(self):
        """Wait for the code; returns (verification_uri, user_code)."""
        import re

        def parse():
            t = self.stderr()
            # The newline after the code: tb may be read mid-line.
            m = re.search(r"^\s+(\S+)\n\s+code: (\S+)\n", t, re.M)
            return (m.group(1), m.group(2)) if m else None
        return wait_for(lambda: parse() or (self.proc.poll() is not None
                                            and ("exited", self.stderr())),
                        "the login code", timeout=30)

    def wait(self, timeout=60):
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Failure("tb login did not finish; stderr:\n" +
                          self.stderr())
        return self.proc.returncode, out, self.stderr()


class Keyring:
    """A private session bus with gnome-keyring's Secret Service on it
    (the recipe of the notes): authd and secret-tool in this Env use it."""

    def __init__(self, env, password="test-keyring-pw", unlock=True):
        for tool in ("dbus-daemon", "gnome-keyring-daemon", "gdbus",
                     "secret-tool"):
            need(shutil.which(tool), tool)
        self.env = env
        self.bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env.env, text=True)
        env.procs.append(self.bus)
        self.address = self.bus.stdout.readline().strip()
        check(self.address, "dbus-daemon printed no address")
        env.env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        self.gkd = None
        self.start(password, unlock)

    def start(self, password="test-keyring-pw", unlock=True):
        argv = ["gnome-keyring-daemon", "--foreground",
                "--components=secrets"]
        if unlock:
            argv.append("--unlock")
        self.gkd = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=self.env.env)
        self.env.procs.append(self.gkd)
        if unlock:
            self.gkd.stdin.write(password.encode())
        self.gkd.stdin.close()
        wait_for(self.owned, "the Secret Service on the test bus")

    def owned(self):
        r = subprocess.run(
            ["gdbus", "call", "--session", "--dest",
             "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
             "--method", "org.freedesktop.DBus.NameHasOwner",
             "org.freedesktop.secrets"],
            env=self.env.env, capture_output=True, text=True, timeout=10)
        return "true" in r.stdout

    def stop(self):
        if self.gkd.poll() is None:
            self.gkd.send_signal(signal.SIGCONT)
            self.gkd.terminate()
            self.gkd.wait(timeout=10)
        wait_for(lambda: not self.owned(), "the Secret Service to go")

    def search(self, *attrs):
        """secret-tool search --all ATTR VALUE...: the raw output."""
        r = subprocess.run(["secret-tool", "search", "--all"] + list(attrs),
                           env=self.env.env, capture_output=True, text=True,
                           timeout=30)
        return r.stdout + r.stderr
