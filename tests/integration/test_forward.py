"""Constrained forwarding (tb forward): a restricted socket that serves only
the allowed project tokens, through a real OpenSSH server on loopback and
a real `ssh -R`; the rules, the audit, and the socket's end with tb
forward. Run one with: python3 test_forward.py NAME."""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time

from harness import (IdP, Login, TB, check, need, wait_for, run)

API = "https://api.tb.test"


def claims(tok):
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def setup(env, *idp_args, extra="", daemon_env=None):
    idp = IdP(env, "--interval", "1", *idp_args)
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    audit = os.path.join(env.dir, "audit.log")
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("store = memory\naudit_log = %s\n%s\n"
                "[profile default]\nissuer = %s\nclient_id = tb-cli\n"
                "audience = %s\n[profile other]\nissuer = %s\n"
                "client_id = tb-cli\naudience = %s\n" %
                (audit, extra, idp.issuer, API, idp.issuer, API))
    env.start(env=daemon_env)
    lg = Login(env, "--no-browser")
    uri, code = lg.code()
    idp.approve(uri, code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "tb login exit %d: %s" % (rc, err))
    return idp, audit


class Forward:
    """tb forward ARGS in the background; .path is its socket."""

    def __init__(self, env, *args):
        self.proc = subprocess.Popen([TB, "forward"] + list(args),
                                     env=env.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        env.procs.append(self.proc)
        self.path = self.proc.stdout.readline().strip()
        check(self.path, "tb forward printed no path: %s" %
              self.proc.stderr.read() if self.proc.poll() is not None
              else "")
        check(os.path.exists(self.path), "no socket at %s" % self.path)

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=10)
        return rc


def remote_tb(env, sock, *args):
    """tb as the remote side runs it: AUTHD_SOCK, no autostart."""
    return env.tb(*args, env={"AUTHD_SOCK": sock, "AUTHD_NO_AUTOSTART": "1"})


def audit_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def forward_rules(env):
    """Through the forwarded socket: the allowed projects' tokens of the
    rule's audience only; the user token, other projects, audiences,
    profiles, extra scopes, and every other operation refused with
    forward_denied (exit 5); serves and refusals audited with the forward's
    socket; the socket gone when tb forward ends."""
    idp, audit = setup(env)
    fw = Forward(env, "--project", "prj_123")
    check(fw.path.startswith(os.path.dirname(env.sock) + "/"),
          "not in authd's directory: %s" % fw.path)
    check(oct(os.stat(fw.path).st_mode & 0o777) == "0o600",
          "socket mode %o" % os.stat(fw.path).st_mode)
    r = remote_tb(env, fw.path, "--json", "token", "--project", "prj_123")
    check(r.returncode == 0, r.stderr)
    j = json.loads(r.stdout)
    c = claims(j["token"])
    check(c["aud"] == API and "project:prj_123" in c["scope"].split(), c)
    refused = [
        ("token",),                                     # the user token
        ("token", "--project", "prj_456"),
        ("token", "--project", "prj_123", "--audience", "https://x.test"),
        ("token", "--project", "prj_123", "--scope", "admin"),
        ("--profile", "other", "token", "--project", "prj_123"),
        ("status",), ("list",), ("logout",), ("login", "--no-browser"),
        ("forward", "--project", "prj_123"),
    ]
    for args in refused:
        r = remote_tb(env, fw.path, *args)
        check(r.returncode == 5 and "forward" in r.stderr,
              "%s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr))
        check("hint: " in r.stderr, r.stderr)
    r = env.tb("--json", "status")       # authd's own socket: all of it
    check(r.returncode == 0 and json.loads(r.stdout)["logged_in"], r.stdout)
    lines = audit_lines(audit)
    served = [e for e in lines if e["event"] == "serve" and
              e.get("peer", {}).get("forward") == fw.path]
    check(len(served) == 1 and served[0]["target"]["project"] == "prj_123",
          served)
    denied = [e for e in lines if e["event"] == "deny" and
              e.get("peer", {}).get("forward") == fw.path]
    check(len(denied) == len(refused), "deny lines: %s" % denied)
    check(any(e["event"] == "forward" for e in lines), "no forward line")
    # Ending tb forward ends the socket and what was connected to it.
    held = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    held.connect(fw.path)
    check(fw.stop() == 0, "tb forward exit status")
    wait_for(lambda: not os.path.exists(fw.path), "the socket to go",
             timeout=1.0)
    held.settimeout(5)
    check(held.recv(1) == b"", "a forwarded connection stayed open")
    held.close()
    r = remote_tb(env, fw.path, "token", "--project", "prj_123")
    check(r.returncode == 4, "after the end: exit %d" % r.returncode)


def forward_max_ttl(env):
    """--max-ttl: a token living longer than the cap is refused (never
    shortened), one within it served; SIGKILL of tb forward ends the
    socket too; a command run by tb forward gets AUTHD_FORWARD_SOCK and
    its exit status, and the socket ends with it."""
    setup(env, "--exchange-ttl", "300")
    fw = Forward(env, "--max-ttl", "60")
    r = remote_tb(env, fw.path, "token", "--project", "prj_123")
    check(r.returncode == 5 and "--max-ttl 60" in r.stderr, r.stderr)
    fw.stop(signal.SIGKILL)
    wait_for(lambda: not os.path.exists(fw.path), "the socket to go",
             timeout=1.0)
    fw = Forward(env, "--max-ttl", "600")
    r = remote_tb(env, fw.path, "token", "--project", "prj_456")
    check(r.returncode == 0, r.stderr)
    fw.stop()
    r = env.tb("forward", "--project", "prj_123", "--", "sh", "-c",
               'test -S "$AUTHD_FORWARD_SOCK" && AUTHD_SOCK='
               '"$AUTHD_FORWARD_SOCK" AUTHD_NO_AUTOSTART=1 %s token '
               '--project prj_123 >/dev/null && echo "$AUTHD_FORWARD_SOCK" '
               '&& exit 7' % TB)
    check(r.returncode == 7, "exit %d: %s" % (r.returncode, r.stderr))
    path = r.stdout.strip().splitlines()[-1]
    wait_for(lambda: not os.path.exists(path), "the socket to go after "
             "its command", timeout=1.0)


def forward_shutdown(env):
    """authd stopping ends a forward: tb forward says why and exits 4 (as
    for any shutting_down); the daemon does not wait for it."""
    setup(env)
    fw = Forward(env, "--project", "prj_123")
    t = time.monotonic()
    env.daemons[0].stop()
    rc = fw.proc.wait(timeout=10)
    err = fw.proc.stderr.read()
    check(rc == 4 and "shutting down" in err, "exit %d: %s" % (rc, err))
    check(time.monotonic() - t < 5, "shutdown waited for the forward")
    check(not os.path.exists(fw.path), "the socket outlived authd")


class Sshd:
    """A real OpenSSH server on loopback with its own keys (the recipe of
    the notes), key-only, for root."""

    def __init__(self, env):
        for tool in ("ssh", "ssh-keygen"):
            need(shutil.which(tool), tool)
        need(os.path.exists("/usr/sbin/sshd"), "sshd (openssh-server)")
        need(os.geteuid() == 0, "root (sshd)")
        self.dir = os.path.join(env.dir, "ssh")
        os.mkdir(self.dir, 0o700)
        for k in ("hostkey", "userkey"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                            "-f", os.path.join(self.dir, k)], check=True)
        shutil.copy(os.path.join(self.dir, "userkey.pub"),
                    os.path.join(self.dir, "authorized_keys"))
        os.makedirs("/run/sshd", exist_ok=True)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        cfg = os.path.join(self.dir, "sshd_config")
        with open(cfg, "w") as f:
            f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s/hostkey\n"
                    "PidFile %s/sshd.pid\nAuthorizedKeysFile %s/"
                    "authorized_keys\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\n"
                    "PermitRootLogin prohibit-password\nStrictModes no\n"
                    "UsePAM no\nStreamLocalBindUnlink yes\n"
                    "AllowStreamLocalForwarding yes\nLogLevel VERBOSE\n" %
                    (self.port, self.dir, self.dir, self.dir))
        self.log = os.path.join(self.dir, "sshd.log")
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f",
                                      cfg], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "w"))
        env.procs.append(self.proc)
        wait_for(self.accepts, "sshd to accept on port %d" % self.port)

    def accepts(self):
        check(self.proc.poll() is None, "sshd exited: %s" %
              open(self.log).read())
        try:
            socket.create_connection(("127.0.0.1", self.port), 1).close()
            return True
        except OSError:
            return False

    def ssh(self, *args):
        return ["ssh", "-i", os.path.join(self.dir, "userkey"), "-p",
                str(self.port), "-o", "StrictHostKeyChecking=no", "-o",
                "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=ERROR"] + \
            list(args)


def forward_over_ssh(env):
    """A real `ssh -R` to a real sshd: on the remote side tb gets the
    allowed project token; the user token, another project and logout are
    refused with clear errors; access through the forward ends within 1 s
    of tb forward's end."""
    setup(env)
    sshd = Sshd(env)
    fw = Forward(env, "--project", "prj_123")
    remote = os.path.join(sshd.dir, "remote.sock")
    script = os.path.join(sshd.dir, "remote.sh")
    out = os.path.join(sshd.dir, "out")
    os.mkdir(out)
    with open(script, "w") as f:
        f.write("export AUTHD_SOCK=%s AUTHD_NO_AUTOSTART=1\n"
                "run() { name=$1; shift; %s \"$@\" >%s/$name.out "
                "2>%s/$name.err; echo $? >%s/$name.rc; }\n"
                "run allowed --json token --project prj_123\n"
                "run user token\n"
                "run other token --project prj_456\n"
                "run logout logout\n" % (remote, TB, out, out, out))
    r = subprocess.run(sshd.ssh("-R", "%s:%s" % (remote, fw.path),
                                "root@127.0.0.1", "sh", script),
                       env=env.env, capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0, "ssh exit %d: %s\n%s" % (
        r.returncode, r.stderr, open(sshd.log).read()[-2000:]))

    def res(name):
        with open(os.path.join(out, name + ".rc")) as f:
            rc = int(f.read())
        with open(os.path.join(out, name + ".out")) as f:
            o = f.read()
        with open(os.path.join(out, name + ".err")) as f:
            e = f.read()
        return rc, o, e

    rc, o, e = res("allowed")
    check(rc == 0, "remote token: %s" % e)
    check(claims(json.loads(o)["token"])["aud"] == API, o)
    for name, words in (("user", "user token is never served"),
                        ("other", "project 'prj_456'"),
                        ("logout", "'logout' is not served")):
        rc, o, e = res(name)
        check(rc == 5 and words in e and "hint: " in e,
              "%s: exit %d: %s" % (name, rc, e))
        check(o == "", "%s printed %r" % (name, o))
    # A standing forward; tb on its remote end works until tb forward
    # ends, and not a second later.
    tunnel = subprocess.Popen(sshd.ssh("-N", "-R", "%s:%s" % (remote,
                                                              fw.path),
                                       "root@127.0.0.1"),
                              env=env.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    env.procs.append(tunnel)

    def through():
        return remote_tb(env, remote, "token", "--project",
                         "prj_123").returncode == 0
    wait_for(through, "a token through the standing forward")
    fw.stop()
    ended = time.monotonic()
    wait_for(lambda: not through(), "access through the forward to end",
             timeout=1.0)
    print("access ended %.0f ms after tb forward" % (
        (time.monotonic() - ended) * 1000))
    r = remote_tb(env, remote, "token", "--project", "prj_123")
    check(r.returncode != 0 and r.stdout == "", r.stdout)
    tunnel.terminate()
    tunnel.wait(timeout=10)


def forward_confirm(env):
    """tb forward --confirm: every serve through the forward waits for the
    user's yes from the askpass program authd runs; a no is
    confirm_denied (exit 5) and nothing is served; authd's own socket is
    not asked."""
    prog = os.path.join(env.dir, "askpass")
    answer = os.path.join(env.dir, "answer")
    asked = os.path.join(env.dir, "asked")
    with open(prog, "w") as f:
        f.write("#!/bin/sh\necho \"$1\" >> %s\n"
                "[ \"$(cat %s)\" = yes ]\n" % (asked, answer))
    os.chmod(prog, 0o755)
    with open(answer, "w") as f:
        f.write("no\n")
    setup(env, daemon_env={"AUTHD_ASKPASS": prog})
    fw = Forward(env, "--project", "prj_123", "--confirm")
    r = remote_tb(env, fw.path, "token", "--project", "prj_123")
    check(r.returncode == 5 and r.stdout == "" and "confirm" in r.stderr,
          "exit %d: %s" % (r.returncode, r.stderr))
    with open(answer, "w") as f:
        f.write("yes\n")
    r = remote_tb(env, fw.path, "token", "--project", "prj_123")
    check(r.returncode == 0 and r.stdout.strip(), r.stderr)
    with open(asked) as f:
        n = len(f.read().splitlines())
    check(n == 2, "asked %d times" % n)
    r = env.tb("token", "--project", "prj_123")      # not forwarded
    check(r.returncode == 0, r.stderr)
    with open(asked) as f:
        check(len(f.read().splitlines()) == n, "authd's own socket asked")
    fw.stop()


TESTS = {f.__name__: f for f in (forward_rules, forward_max_ttl,
                                 forward_shutdown, forward_over_ssh,
                                 forward_confirm)}

if __name__ == "__main__":
    run(TESTS)
