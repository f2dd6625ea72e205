"""The credential helpers against the test provider: git-credential-tb
through real `git credential fill` (and a real `git clone` over HTTP from
`git http-backend` that demands the token), docker-credential-tb driven on
stdin/stdout, and `tb kube-credential` (and kubectl, when installed). Run
one with: python3 test_helpers.py NAME."""
import base64
import datetime
import http.server
import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import threading

from harness import BUILD, IdP, Login, TB, check, need, run

API = "https://api.tb.test"
REGISTRY = "https://registry.tb.test"
GIT_HELPER = (os.environ.get("GIT_CREDENTIAL_TB_BIN") or
              os.path.join(BUILD, "git-credential-tb"))
DOCKER_HELPER = (os.environ.get("DOCKER_CREDENTIAL_TB_BIN") or
                 os.path.join(BUILD, "docker-credential-tb"))
NOT_FOUND = "credentials not found in native keychain"
# The host the git tests use, as the helper's --host.
HOST = ("--host", "git.tb.test")
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def claims(tok):
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def config(env, idp):
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("store = memory\n\n[profile default]\nissuer = %s\n"
                "client_id = tb-cli\naudience = %s\n" % (idp.issuer, API))


def login(env, idp, user="alice"):
    lg = Login(env, "--no-browser")
    uri, code = lg.code()
    idp.approve(uri, user=user, code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "tb login exit %d: %s" % (rc, err))


def setup(env, logged_in=True):
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    env.start()
    if logged_in:
        login(env, idp)
    return idp


def tb_token(env, *args):
    r = env.tb("--json", "token", *args)
    check(r.returncode == 0, "tb token %s: exit %d: %s" % (
        " ".join(args), r.returncode, r.stderr))
    return json.loads(r.stdout)


def git_env(env, extra=None):
    """No system or user git configuration, no prompts, no askpass."""
    e = dict(env.env)
    for k in list(e):
        if k.startswith("GIT_") or k == "SSH_ASKPASS":
            del e[k]
    e.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"})
    if extra:
        e.update(extra)
    return e


def git_version():
    out = subprocess.run(["git", "--version"], capture_output=True,
                         text=True).stdout
    m = re.search(r"(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def helper_cmd(*args):
    """A credential.helper value running our binary (absolute path)."""
    return " ".join(shlex.quote(a) for a in (GIT_HELPER,) + args)


def fill(env, request, *config, extra_env=None, timeout=60):
    """git -c ... credential fill: (returncode, {key: value}, stdout,
    stderr)."""
    need(shutil.which("git"), "git")
    argv = ["git"]
    for c in config:
        argv += ["-c", c]
    argv += ["credential", "fill"]
    r = subprocess.run(argv, input=request, capture_output=True, text=True,
                       env=git_env(env, extra_env), timeout=timeout,
                       cwd=env.dir)
    kv = dict(ln.split("=", 1) for ln in r.stdout.splitlines() if "=" in ln)
    return r.returncode, kv, r.stdout, r.stderr


def git_helper(env, *args, input="", extra_env=None):
    e = dict(env.env)
    if extra_env:
        e.update(extra_env)
    return subprocess.run([GIT_HELPER] + list(args), input=input,
                          capture_output=True, text=True, env=e,
                          timeout=60)


def docker(env, action, input="", extra_env=None):
    e = dict(env.env)
    for k in list(e):
        if k.startswith("TB_DOCKER_"):
            del e[k]
    if extra_env:
        e.update(extra_env)
    return subprocess.run([DOCKER_HELPER, action], input=input,
                          capture_output=True, text=True, env=e,
                          timeout=60)


def no_secret(tok, *texts):
    for t in texts:
        check(tok not in t, "the token appeared where it must not:\n" +
              t[-1000:])


def git_fill(env):
    """git credential fill with the helper: username, the user's token
    (accepted at /me) and password_expiry_utc; the helper found by name
    ("tb") as well as by path; store and erase change nothing."""
    idp = setup(env)
    user = tb_token(env)
    req = "protocol=https\nhost=git.tb.test\npath=org/repo.git\n\n"
    # The helper itself: the git protocol answer, expiry included.
    r = git_helper(env, *HOST, "get", input=req)
    check(r.returncode == 0, "helper get: %d %s" % (r.returncode, r.stderr))
    check(r.stdout.endswith("\n\n"), "no blank line at the end: %r" %
          r.stdout[-20:])
    lines = r.stdout.rstrip("\n").split("\n")
    kv = dict(ln.split("=", 1) for ln in lines)
    check(len(kv) == len(lines) == 3, "unexpected lines: %s" %
          [ln.split("=")[0] for ln in lines])
    check(kv["username"] == "x-access-token", kv["username"])
    check(kv["password"] == user["token"], "not the user's token")
    check(int(kv["password_expiry_utc"]) == user["expires_at"],
          "expiry %s, tb says %s" % (kv["password_expiry_utc"],
                                     user["expires_at"]))
    no_secret(user["token"], r.stderr)

    # git credential fill, helper by absolute path.
    rc, kv, out, err = fill(env, "protocol=https\nhost=git.tb.test\n\n",
                            "credential.helper=" + helper_cmd(*HOST))
    check(rc == 0, "git credential fill: %d %s" % (rc, err))
    check(kv.get("username") == "x-access-token" and
          kv.get("password") == user["token"], out.replace(
              user["token"], "<token>"))
    check(idp.userinfo(kv["password"])[0] == 200,
          "the provider refused the token")
    # git forwards password_expiry_utc from 2.41 on; older gits drop it.
    if git_version() >= (2, 41):
        check(int(kv.get("password_expiry_utc", 0)) == user["expires_at"],
              "git dropped password_expiry_utc")
    else:
        print("git %d.%d predates password_expiry_utc in git credential "
              "fill; checked the helper's own answer" % git_version())
    no_secret(user["token"], err)

    # The helper named "tb": git runs "git credential-tb ARGS get".
    path = os.path.dirname(os.path.abspath(GIT_HELPER))
    rc, kv, out, err = fill(env, "protocol=https\nhost=git.tb.test\n\n",
                            "credential.helper=tb --host git.tb.test "
                            "--username tbuser",
                            extra_env={"PATH": path + os.pathsep +
                                       env.env.get("PATH", "")})
    check(rc == 0 and kv.get("username") == "tbuser" and
          kv.get("password") == user["token"], "helper by name: %d %s" % (
              rc, err))

    # A user name in the URL is kept; --username overrides it.
    rc, kv, _, _ = fill(env, "url=https://bob@git.tb.test/x.git\n\n",
                        "credential.helper=" + helper_cmd(*HOST))
    check(rc == 0 and kv.get("username") == "bob", kv.get("username"))

    # approve (store) and reject (erase) are accepted and change nothing.
    cred = ("protocol=https\nhost=git.tb.test\nusername=x-access-token\n"
            "password=%s\n\n" % user["token"])
    for action in ("approve", "reject"):
        r = subprocess.run(["git", "-c", "credential.helper=" +
                            helper_cmd(*HOST), "credential", action],
                           input=cred, capture_output=True, text=True,
                           env=git_env(env), timeout=60)
        check(r.returncode == 0 and r.stdout == "", "%s: %d %s" % (
            action, r.returncode, r.stderr))
    for action in ("store", "erase", "frobnicate"):
        r = git_helper(env, action, input=cred)
        check(r.returncode == 0 and r.stdout == "" and r.stderr == "",
              "%s: %d %r %r" % (action, r.returncode, r.stdout, r.stderr))
    check(tb_token(env)["token"] == user["token"], "erase dropped the login")
    for dirpath, _, files in os.walk(env.home):
        for name in files:
            with open(os.path.join(dirpath, name), errors="replace") as f:
                check(user["token"] not in f.read(),
                      "the token was stored in " + name)


def git_fill_project(env):
    """--project and --audience give minted JWTs with matching aud and
    scope; git's URL-scoped helpers map hosts (and paths, with useHttpPath)
    to targets; --host restricts; http only to loopback."""
    idp = setup(env)
    user = tb_token(env)["token"]
    rc, kv, out, err = fill(env, "protocol=https\nhost=git.tb.test\n\n",
                            "credential.helper=" +
                            helper_cmd(*HOST, "--project", "prj_123"))
    check(rc == 0, "fill: %d %s" % (rc, err))
    tok = kv["password"]
    c = claims(tok)
    check(c["aud"] == API and "project:prj_123" in c["scope"].split(), c)
    check(c["sub"] == "alice", c)
    j = tb_token(env, "--project", "prj_123")
    check(j["token"] == tok and j["cached"] is True, "not authd's token")
    r = git_helper(env, *HOST, "--project", "prj_123", "get",
                   input="protocol=https\nhost=git.tb.test\n\n")
    exp = re.search(r"^password_expiry_utc=(\d+)$", r.stdout, re.M)
    check(exp and int(exp.group(1)) == c["exp"] == j["expires_at"],
          "expiry %s, exp %s" % (exp and exp.group(1), c["exp"]))
    no_secret(tok, err, r.stderr)

    rc, kv, _, err = fill(env, "protocol=https\nhost=git.tb.test\n\n",
                          "credential.helper=" + helper_cmd(
                              *HOST,
                              "--audience", REGISTRY, "--project",
                              "prj_123", "--purpose", "git"))
    c = claims(kv["password"])
    check(rc == 0 and c["aud"] == REGISTRY and
          "project:prj_123" in c["scope"].split(), c)

    # The mapping lives in git's configuration: one helper line per URL.
    mapping = ["credential.https://git.tb.test.helper=" +
               helper_cmd(*HOST, "--project", "prj_123"),
               "credential.https://other.tb.test.helper=" + helper_cmd(
                   "--host", "other.tb.test")]
    _, kv, _, _ = fill(env, "protocol=https\nhost=git.tb.test\n\n",
                       *mapping)
    check(claims(kv["password"])["aud"] == API, "git.tb.test: not minted")
    _, kv, _, _ = fill(env, "protocol=https\nhost=other.tb.test\n\n",
                       *mapping)
    check(kv.get("password") == user, "other.tb.test: not the user token")
    # With useHttpPath, by repository path.
    paths = ["credential.useHttpPath=true",
             "credential.https://git.tb.test/team-a/repo.git.helper=" +
             helper_cmd(*HOST, "--project", "prj_123"),
             "credential.https://git.tb.test/team-b/repo.git.helper=" +
             helper_cmd(*HOST, "--audience", REGISTRY, "--project", "prj_123")]
    _, kv, _, err = fill(env, "url=https://git.tb.test/team-a/repo.git\n\n",
                         *paths)
    check(claims(kv["password"])["aud"] == API, "team-a: %s" % err)
    _, kv, _, err = fill(env, "url=https://git.tb.test/team-b/repo.git\n\n",
                         *paths)
    check(claims(kv["password"])["aud"] == REGISTRY, "team-b: %s" % err)

    # --host: other hosts get nothing (git then fails: no prompts).
    guarded = "credential.helper=" + helper_cmd(*HOST)
    rc, kv, _, _ = fill(env, "protocol=https\nhost=git.tb.test:8443\n\n",
                        guarded)
    check(rc == 0 and kv.get("password") == user, "--host with a port")
    rc, kv, _, err = fill(env, "protocol=https\nhost=evil.test\n\n",
                          guarded)
    check(rc != 0 and "password" not in kv, "answered for evil.test")
    # Plain http: loopback only.
    rc, kv, _, err = fill(env, "protocol=http\nhost=git.tb.test\n\n",
                          "credential.helper=" + helper_cmd(*HOST))
    check(rc != 0 and "password" not in kv and "plain http" in err,
          "a token over plain http: %d %s" % (rc, err))
    rc, kv, _, _ = fill(env, "protocol=http\nhost=127.0.0.1:8080\n\n",
                        "credential.helper=" + helper_cmd(
                            "--host", "127.0.0.1"))
    check(rc == 0 and kv.get("password") == user, "loopback http")
    # Not a protocol of ours.
    r = git_helper(env, "get", input="protocol=smtp\nhost=mail.test\n\n")
    check(r.returncode == 0 and r.stdout == "", "answered for smtp")
    # The provider refuses a project: nothing on stdout, the reason on
    # stderr, and git goes on.
    r = git_helper(env, *HOST, "--project", "prj_789", "get",
                   input="protocol=https\nhost=git.tb.test\n\n")
    check(r.returncode == 1 and r.stdout == "" and
          r.stderr.startswith("git-credential-tb: "), "refused: %d %r %r" %
          (r.returncode, r.stdout, r.stderr))


def git_host_required(env):
    """git-credential-tb answers only the hosts its --host options name.
    Without any it answers nothing and says on stderr how to configure it;
    a host not named (a mistyped remote, a redirect, a name that only
    starts or ends like the configured one) gets nothing; plain http is
    refused to anything but loopback, even to a host named; the host
    configured as the README says (credential.https://HOST.helper with
    --host HOST) is served, also by the helper's name "tb"."""
    setup(env)
    user = tb_token(env)["token"]
    req = "protocol=https\nhost=git.tb.test\n\n"
    # No --host: nothing on stdout, and how to configure it.
    r = git_helper(env, "get", input=req)
    check(r.returncode == 0 and r.stdout == "", "no --host: %d %r" % (
        r.returncode, r.stdout[:40]))
    check("--host" in r.stderr and "credential.https://" in r.stderr,
          "no configuration hint: %r" % r.stderr)
    rc, kv, _, err = fill(env, req, "credential.helper=" + helper_cmd())
    check(rc != 0 and "password" not in kv, "no --host, git got a token")
    check("git config" in err and "--host" in err, err)
    rc, kv, _, err = fill(env, "url=https://git.tb.test/x.git\n\n",
                          "credential.https://git.tb.test.helper=" +
                          helper_cmd("--project", "prj_123"))
    check(rc != 0 and "password" not in kv, "URL-scoped without --host: "
          "git got a token")
    # store and erase stay silent whatever the configuration.
    for action in ("store", "erase"):
        r = git_helper(env, action, input=req)
        check(r.returncode == 0 and r.stdout == "" and r.stderr == "",
              "%s: %r" % (action, r.stderr))

    # Configured as the README says: served, by path and by name.
    conf = ("credential.https://git.tb.test.helper=" +
            helper_cmd("--host", "git.tb.test"))
    rc, kv, _, err = fill(env, req, conf)
    check(rc == 0 and kv.get("password") == user, "configured host: %d %s"
          % (rc, err))
    path = os.path.dirname(os.path.abspath(GIT_HELPER))
    rc, kv, _, err = fill(env, req, "credential.https://git.tb.test.helper"
                          "=tb --host git.tb.test", extra_env={
                              "PATH": path + os.pathsep +
                              env.env.get("PATH", "")})
    check(rc == 0 and kv.get("password") == user, "helper by name: %d %s"
          % (rc, err))

    # A helper for every URL answers only the hosts it names.
    every = "credential.helper=" + helper_cmd(
        "--host", "git.tb.test", "--host", "other.tb.test:8443",
        "--host", "[::1]")
    for host, served in (("git.tb.test", True),
                         ("GIT.tb.test", True),
                         ("git.tb.test:8443", True),
                         ("other.tb.test:8443", True),
                         ("other.tb.test", False),
                         ("other.tb.test:9443", False),
                         ("evil.test", False),
                         ("git.tb.test.evil.test", False),
                         ("evilgit.tb.test", False),
                         ("git.tb.tes", False),
                         ("git.tb.test.", False),
                         ("[::1]:8080", True)):
        rc, kv, _, err = fill(env, "protocol=https\nhost=%s\n\n" % host,
                              every)
        check((rc == 0 and kv.get("password") == user) if served else
              (rc != 0 and "password" not in kv),
              "%s: %s (exit %d) %s" % (host, "not served" if served else
                                       "served", rc, err))
    # A redirect, or a remote with a user name that looks like the host.
    rc, kv, _, _ = fill(env, "url=https://git.tb.test@evil.test/x.git\n\n",
                        every)
    check(rc != 0 and "password" not in kv, "userinfo trick served")

    # Plain http: refused to a named host that is not loopback; loopback
    # (127.0.0.0/8, ::1, localhost) served when named.
    http = "credential.helper=" + helper_cmd(
        "--host", "git.tb.test", "--host", "127.0.0.1", "--host",
        "localhost", "--host", "127.7.7.7:8080", "--host", "::1")
    rc, kv, _, err = fill(env, "protocol=http\nhost=git.tb.test\n\n", http)
    check(rc != 0 and "password" not in kv and "plain http" in err,
          "a token over plain http: %d %s" % (rc, err))
    for host in ("127.0.0.1:8080", "localhost", "127.7.7.7:8080",
                 "[::1]:9"):
        rc, kv, _, err = fill(env, "protocol=http\nhost=%s\n\n" % host,
                              http)
        check(rc == 0 and kv.get("password") == user, "loopback http %s: "
              "%d %s" % (host, rc, err))
    # A bad --host is a usage error, not a helper that answers everyone.
    for bad in ("https://git.tb.test", "", "git.tb.test/x", "a b",
                "u@git.tb.test", "git.tb.test:x"):
        r = git_helper(env, "--host", bad, "get", input=req)
        check(r.returncode == 2 and r.stdout == "" and "--host" in r.stderr,
              "--host %r: %d %r %r" % (bad, r.returncode, r.stdout[:30],
                                       r.stderr))


def git_not_logged_in(env):
    """Not logged in: the helper prints nothing, exits 0 and hints on
    stderr; git moves on to its next helper, or fails cleanly without
    prompting."""
    idp = setup(env, logged_in=False)
    req = "protocol=https\nhost=git.tb.test\n\n"
    r = git_helper(env, *HOST, "get", input=req)
    check(r.returncode == 0 and r.stdout == "", "helper: %d %r" % (
        r.returncode, r.stdout))
    check("tb login" in r.stderr and r.stderr.count("\n") == 1, r.stderr)
    rc, kv, out, err = fill(env, req, "credential.helper=" + helper_cmd(
        *HOST,
        "--project", "prj_123"), timeout=30)
    check(rc != 0 and "password" not in kv, "fill: %d %r" % (rc, out))
    check("tb login" in err and "terminal prompts disabled" in err, err)
    # The next helper answers.
    rc, kv, _, err = fill(env, req, "credential.helper=" + helper_cmd(*HOST),
                          "credential.helper=!f() { cat >/dev/null; "
                          "echo username=next; echo password=fallback; }; f")
    check(rc == 0 and kv.get("password") == "fallback", "next helper: %d %s"
          % (rc, err))
    check(len(idp.entries("/token")) == 0, "asked the provider anyway")


class GitHTTP:
    """git http-backend behind a Basic-auth check: the password must be a
    token the test provider accepts at /me."""

    def __init__(self, env, idp):
        backend = None
        r = subprocess.run(["git", "--exec-path"], capture_output=True,
                           text=True)
        if r.returncode == 0:
            backend = os.path.join(r.stdout.strip(), "git-http-backend")
        need(backend and os.access(backend, os.X_OK), "git http-backend")
        self.root = os.path.join(env.dir, "srv")
        os.mkdir(self.root)
        self.auth = []          # (user, accepted) per authenticated request
        srv = self
        valid = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def authorized(self):
                h = self.headers.get("Authorization", "")
                if not h.startswith("Basic "):
                    return None
                try:
                    user, _, pw = base64.b64decode(
                        h[6:]).decode().partition(":")
                except ValueError:
                    return None
                if pw not in valid:
                    valid[pw] = idp.userinfo(pw)[0] == 200
                srv.auth.append((user, valid[pw]))
                return user if valid[pw] else None

            def body(self):
                if self.headers.get("Transfer-Encoding", "") == "chunked":
                    data = b""
                    while True:
                        n = int(self.rfile.readline().split(b";")[0], 16)
                        if n == 0:
                            self.rfile.readline()
                            return data
                        data += self.rfile.read(n)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get(
                    "Content-Length", "0")))

            def handle_any(self):
                body = self.body() if self.command == "POST" else b""
                user = self.authorized()
                if user is None:
                    msg = b"authentication required\n"
                    self.send_response(401)
                    self.send_header("WWW-Authenticate",
                                     'Basic realm="tb-test"')
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    self.wfile.write(msg)
                    return
                path, _, query = self.path.partition("?")
                cgi = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                       "GIT_PROJECT_ROOT": srv.root,
                       "GIT_HTTP_EXPORT_ALL": "1",
                       "REQUEST_METHOD": self.command,
                       "PATH_INFO": path, "QUERY_STRING": query,
                       "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                       "CONTENT_LENGTH": str(len(body)),
                       "REMOTE_USER": user, "REMOTE_ADDR": "127.0.0.1",
                       "GIT_CONFIG_NOSYSTEM": "1", "HOME": srv.root}
                for h, v in (("Content-Encoding", "HTTP_CONTENT_ENCODING"),
                             ("Git-Protocol", "GIT_PROTOCOL")):
                    if self.headers.get(h):
                        cgi[v] = self.headers[h]
                out = subprocess.run([backend], input=body, env=cgi,
                                     capture_output=True,
                                     timeout=60).stdout
                sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
                head, _, payload = out.partition(sep)
                status, headers = 200, []
                for ln in head.decode("latin-1").splitlines():
                    k, _, v = ln.partition(":")
                    if k.lower() == "status":
                        status = int(v.split()[0])
                    elif k:
                        headers.append((k, v.strip()))
                self.send_response(status)
                for k, v in headers:
                    if k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = handle_any

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def git_clone_http(env):
    """A real git clone over HTTP from git http-backend that demands Basic
    auth with a token the provider accepts: the helper supplies it. After
    tb logout the clone fails cleanly."""
    idp = setup(env)
    srv = GitHTTP(env, idp)
    try:
        ge = git_env(env, {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                           "GIT_COMMITTER_NAME": "t",
                           "GIT_COMMITTER_EMAIL": "t@t"})
        work = os.path.join(env.dir, "work")

        def git(*args, cwd=None, e=ge):
            return subprocess.run(["git"] + list(args), cwd=cwd, env=e,
                                  capture_output=True, text=True,
                                  timeout=120)
        for args in (("init", "-q", "-b", "main", work),
                     ("-C", work, "commit", "-q", "--allow-empty", "-m",
                      "hello from the test"),
                     ("clone", "-q", "--bare", work,
                      os.path.join(srv.root, "repo.git"))):
            r = git(*args)
            check(r.returncode == 0, "git %s: %s" % (args[0], r.stderr))
        helper = "credential.helper=" + helper_cmd("--host", "127.0.0.1")
        dest = os.path.join(env.dir, "clone")
        r = git("-c", helper, "clone", srv.url + "/repo.git", dest)
        check(r.returncode == 0, "clone: %s" % r.stderr)
        r = git("-C", dest, "log", "-1", "--format=%s")
        check(r.stdout.strip() == "hello from the test", r.stdout)
        check(srv.auth and all(ok for _, ok in srv.auth) and
              srv.auth[0][0] == "x-access-token", srv.auth)
        # Without the helper the server refuses (no prompt, no hang).
        r = git("clone", srv.url + "/repo.git", dest + "2")
        check(r.returncode != 0, "cloned without credentials")
        # After logout: nothing from the helper, git fails cleanly.
        r = env.tb("logout")
        check(r.returncode == 0, "logout: %s" % r.stderr)
        r = git("-c", helper, "clone", srv.url + "/repo.git", dest + "3")
        check(r.returncode != 0 and "tb login" in r.stderr,
              "clone after logout: %d %s" % (r.returncode, r.stderr))
    finally:
        srv.stop()


def docker_helper(env):
    """get answers {ServerURL, Username, Secret} for the configured
    registry, with the minted token; list, store, erase and version;
    everything on stdout is JSON built by cJSON."""
    idp = setup(env)
    conf = {"TB_DOCKER_REGISTRY": "registry.tb.test",
            "TB_DOCKER_AUDIENCE": REGISTRY, "TB_DOCKER_PROJECT": "prj_123"}
    for url in ("registry.tb.test", "https://registry.tb.test/v2/\n",
                "REGISTRY.tb.test"):
        r = docker(env, "get", input=url, extra_env=conf)
        check(r.returncode == 0, "get %r: %d %s %s" % (url, r.returncode,
                                                       r.stdout, r.stderr))
        j = json.loads(r.stdout)
        check(set(j) == {"ServerURL", "Username", "Secret"}, j.keys())
        check(j["ServerURL"] == url.strip() and
              j["Username"] == "x-access-token", j["ServerURL"])
        c = claims(j["Secret"])
        check(c["aud"] == REGISTRY and "project:prj_123" in
              c["scope"].split() and c["sub"] == "alice", c)
        no_secret(j["Secret"], r.stderr)
    check(tb_token(env, "--audience", REGISTRY, "--project",
                   "prj_123")["token"] == j["Secret"], "not authd's token")
    # A URL with quotes and backslashes stays valid JSON.
    odd = {"TB_DOCKER_REGISTRY": 'odd"\\host'}
    r = docker(env, "get", input='odd"\\host', extra_env=dict(
        conf, **odd))
    check(r.returncode == 0 and json.loads(r.stdout)["ServerURL"] ==
          'odd"\\host', r.stdout[:80])
    # The user's own token without a project; a user name of our choice.
    r = docker(env, "get", input="registry.tb.test", extra_env={
        "TB_DOCKER_REGISTRY": "registry.tb.test",
        "TB_DOCKER_USERNAME": "oauth2accesstoken"})
    j = json.loads(r.stdout)
    check(j["Username"] == "oauth2accesstoken" and
          idp.userinfo(j["Secret"])[0] == 200, "user token: %s" %
          j["Username"])
    # Another registry: not ours.
    r = docker(env, "get", input="index.docker.io", extra_env=conf)
    check(r.returncode == 1 and r.stdout.strip() == NOT_FOUND, r.stdout)
    # list
    r = docker(env, "list", extra_env=conf)
    check(r.returncode == 0 and json.loads(r.stdout) ==
          {"registry.tb.test": "x-access-token"}, r.stdout)
    r = docker(env, "list")
    check(r.returncode == 0 and json.loads(r.stdout) == {}, r.stdout)
    # store and erase: accepted, nothing kept, nothing printed.
    stored = json.dumps({"ServerURL": "registry.tb.test", "Username": "u",
                         "Secret": "typed-at-docker-login"})
    r = docker(env, "store", input=stored, extra_env=conf)
    check(r.returncode == 0 and r.stdout == "", "store: %r" % r.stdout)
    r = docker(env, "erase", input="registry.tb.test", extra_env=conf)
    check(r.returncode == 0 and r.stdout == "", "erase: %r" % r.stdout)
    r = docker(env, "get", input="registry.tb.test", extra_env=conf)
    check(r.returncode == 0 and json.loads(r.stdout)["Secret"] !=
          "typed-at-docker-login", "store changed the answer")
    # version, and an unknown action.
    r = docker(env, "version")
    check(r.returncode == 0 and "docker-credential-tb" in r.stdout,
          r.stdout)
    r = docker(env, "frobnicate")
    check(r.returncode == 1 and "Usage" in r.stdout, r.stdout)
    # A project the provider refuses: an error line on stdout, exit 1.
    r = docker(env, "get", input="registry.tb.test",
               extra_env=dict(conf, TB_DOCKER_PROJECT="prj_789"))
    check(r.returncode == 1 and r.stdout.strip() and
          r.stdout.strip() != NOT_FOUND and r.stdout.count("\n") == 1,
          "refused: %r" % r.stdout)


def docker_not_found(env):
    """Not logged in: get answers the protocol's not-found line and exit
    1; list is {}; without TB_DOCKER_REGISTRY nothing is served."""
    idp = setup(env, logged_in=False)
    conf = {"TB_DOCKER_REGISTRY": "registry.tb.test",
            "TB_DOCKER_PROJECT": "prj_123"}
    r = docker(env, "get", input="registry.tb.test", extra_env=conf)
    check(r.returncode == 1 and r.stdout == NOT_FOUND + "\n",
          "get: %d %r" % (r.returncode, r.stdout))
    check("tb login" in r.stderr, r.stderr)
    r = docker(env, "list", extra_env=conf)
    check(r.returncode == 0 and json.loads(r.stdout) == {}, r.stdout)
    login(env, idp)
    r = docker(env, "get", input="registry.tb.test")
    check(r.returncode == 1 and r.stdout == NOT_FOUND + "\n" and
          "TB_DOCKER_REGISTRY" in r.stderr, "unconfigured: %r %r" % (
              r.stdout, r.stderr))
    r = docker(env, "get", input="", extra_env=conf)
    check(r.returncode == 1 and r.stdout.strip() != NOT_FOUND,
          "empty input: %r" % r.stdout)
    r = docker(env, "get", input="registry.tb.test", extra_env=dict(
        conf, TB_PROFILE="no such"))
    check(r.returncode == 1 and "Secret" not in r.stdout, r.stdout)
    r = docker(env, "get", input="registry.tb.test", extra_env=conf)
    check(r.returncode == 0 and "Secret" in json.loads(r.stdout),
          "after login: %s" % r.stderr)


def rfc3339(ts):
    return datetime.datetime.fromtimestamp(
        ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def unusable_tokens(env):
    """A token with an ESC byte or white space reaches the clients from a
    real daemon only through AUTHD_TOKEN (set_token and the provider
    replies refuse control bytes; a provider's token may hold a space).
    tb token, tb exec, tb kube-credential and both helpers refuse it with
    the same message and hand none of it on."""
    for i, bad in enumerate(("fault\x1b]0;pwned\x07token",
                             "fault token", "fault\ttoken")):
        sock = os.path.join(env.runtime, "bad%d" % i, "socket")
        d = env.start(sock=sock, env={"AUTHD_TOKEN": bad})
        e = {"AUTHD_SOCK": sock, "AUTHD_NO_AUTOSTART": "1"}
        for argv in (["token"], ["kube-credential"],
                     ["exec", "--", "sh", "-c", "echo ran"]):
            r = env.tb(*argv, env=e)
            check(r.returncode == 1 and r.stdout == "" and
                  "authd returned an unusable token" in r.stderr,
                  "tb %s %r: %d %r %r" % (argv[0], bad, r.returncode,
                                          r.stdout, r.stderr))
            no_secret("fault", r.stderr)
        r = env.tb("--json", "token", env=e)
        check(r.returncode == 1 and
              json.loads(r.stdout)["error"]["code"] == "bad_reply",
              "tb --json token %r: %r" % (bad, r.stdout))
        no_secret("fault", r.stdout, r.stderr)
        r = git_helper(env, *HOST, "get", input="protocol=https\n"
                       "host=git.tb.test\n\n", extra_env=e)
        check(r.returncode == 1 and r.stdout == "" and
              "authd returned an unusable token" in r.stderr,
              "git helper %r: %d %r" % (bad, r.returncode, r.stderr))
        no_secret("fault", r.stdout, r.stderr)
        r = docker(env, "get", input="registry.tb.test", extra_env=dict(
            e, TB_DOCKER_REGISTRY="registry.tb.test"))
        check(r.returncode == 1 and "Secret" not in r.stdout and
              "authd returned an unusable token" in r.stdout,
              "docker helper %r: %d %r" % (bad, r.returncode, r.stdout))
        no_secret("fault", r.stdout, r.stderr)
        d.stop()


def kube_credential(env):
    """tb kube-credential: an ExecCredential of the right apiVersion and
    kind with the token (accepted by the provider) and expirationTimestamp
    in RFC 3339 UTC equal to expires_at; v1beta1 on request; not logged in
    is tb's exit 3 with nothing on stdout. An unusable token (ESC byte,
    white space) is refused by it, tb token, tb exec and both helpers
    (unusable_tokens)."""
    idp = setup(env, logged_in=False)
    r = env.tb("kube-credential")
    check(r.returncode == 3 and r.stdout == "" and "tb login" in r.stderr,
          "not logged in: %d %r" % (r.returncode, r.stdout))
    login(env, idp)
    user = tb_token(env)
    r = env.tb("kube-credential")
    check(r.returncode == 0 and r.stdout.count("\n") == 1, r.stderr)
    j = json.loads(r.stdout)
    check(j["apiVersion"] == "client.authentication.k8s.io/v1" and
          j["kind"] == "ExecCredential", j.keys())
    check(set(j) == {"apiVersion", "kind", "status"} and
          set(j["status"]) == {"token", "expirationTimestamp"}, j.keys())
    st = j["status"]
    check(st["token"] == user["token"], "not the user token")
    check(idp.userinfo(st["token"])[0] == 200, "the provider refused it")
    check(RFC3339_UTC.match(st["expirationTimestamp"]),
          st["expirationTimestamp"])
    check(st["expirationTimestamp"] == rfc3339(user["expires_at"]),
          "%s != %s" % (st["expirationTimestamp"], user["expires_at"]))
    no_secret(st["token"], r.stderr)
    # A project token.
    r = env.tb("kube-credential", "--project", "prj_123", "--min-ttl", "60")
    check(r.returncode == 0, r.stderr)
    st = json.loads(r.stdout)["status"]
    c = claims(st["token"])
    check(c["aud"] == API and "project:prj_123" in c["scope"].split(), c)
    check(st["expirationTimestamp"] == rfc3339(c["exp"]), (st, c["exp"]))
    r = env.tb("--profile", "default", "kube-credential", "--audience",
               REGISTRY, "--project", "prj_123")
    check(r.returncode == 0 and claims(json.loads(r.stdout)["status"][
        "token"])["aud"] == REGISTRY, r.stderr)
    # kubectl's KUBERNETES_EXEC_INFO asks for v1beta1.
    info = json.dumps({"kind": "ExecCredential", "apiVersion":
                       "client.authentication.k8s.io/v1beta1",
                       "spec": {"interactive": False}})
    r = env.tb("kube-credential", env={"KUBERNETES_EXEC_INFO": info})
    check(json.loads(r.stdout)["apiVersion"] ==
          "client.authentication.k8s.io/v1beta1", r.stdout[:80])
    # Refused by the provider: tb's exit 5, nothing on stdout.
    r = env.tb("kube-credential", "--project", "prj_789")
    check(r.returncode == 5 and r.stdout == "", "refused: %d" %
          r.returncode)
    r = env.tb("kube-credential", "extra")
    check(r.returncode == 2, "usage: %d" % r.returncode)
    unusable_tokens(env)


def kubectl_exec(env):
    """kubectl runs tb kube-credential as its exec plugin and sends the
    token to an API server (HTTPS: client-go runs exec plugins only for
    TLS servers) that checks it at the provider."""
    need(shutil.which("kubectl"), "kubectl")
    need(shutil.which("openssl"), "openssl (for the test API server)")
    idp = setup(env)
    cert, key = (os.path.join(env.dir, n) for n in ("api.crt", "api.key"))
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", key, "-out", cert, "-days",
                        "1", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0, "openssl: %s" % r.stderr)
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            h = self.headers.get("Authorization", "")
            ok = h.startswith("Bearer ") and idp.userinfo(h[7:])[0] == 200
            seen.append((self.path, ok))
            if self.path.startswith("/version"):
                reply = {"major": "1", "minor": "32",
                         "gitVersion": "v1.32.0"}
            else:
                reply = {"path": self.path, "ok": ok}
            body = json.dumps(reply).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with open(cert, "rb") as f:
            ca = base64.b64encode(f.read()).decode()
        kubeconfig = os.path.join(env.dir, "kubeconfig")
        with open(kubeconfig, "w") as f:
            json.dump({
                "apiVersion": "v1", "kind": "Config",
                "clusters": [{"name": "t", "cluster": {
                    "server": "https://127.0.0.1:%d" %
                    httpd.server_address[1],
                    "certificate-authority-data": ca}}],
                "users": [{"name": "tb", "user": {"exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": os.path.abspath(TB),
                    "args": ["kube-credential"],
                    "interactiveMode": "Never"}}}],
                "contexts": [{"name": "t", "context": {"cluster": "t",
                                                       "user": "tb"}}],
                "current-context": "t"}, f)
        r = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "get",
                            "--raw", "/api/tb-check"], env=env.env,
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "kubectl: %d %s" % (r.returncode,
                                                    r.stderr[-1500:]))
        check(json.loads(r.stdout) == {"path": "/api/tb-check", "ok": True},
              r.stdout)
        check(seen and all(ok for _, ok in seen), seen)
        # Logged out: kubectl shows tb's message and fails.
        check(env.tb("logout").returncode == 0, "logout")
        r = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "get",
                            "--raw", "/api/tb-check"], env=env.env,
                           capture_output=True, text=True, timeout=60)
        check(r.returncode != 0 and "tb login" in r.stderr,
              "after logout: %d %s" % (r.returncode, r.stderr[-1500:]))
    finally:
        httpd.shutdown()
        httpd.server_close()


TESTS = {f.__name__: f for f in (
    git_fill, git_fill_project, git_not_logged_in, git_clone_http,
    git_host_required,
    docker_helper, docker_not_found, kube_credential, kubectl_exec)}

if __name__ == "__main__":
    run(TESTS)
