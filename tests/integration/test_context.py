"""Where a token is asked for decides what it is for: project bindings
(tb link, .authd-link), [match] rules by directory and git remote, and the
[git], [docker] and [kube] sections that configure the credential helpers,
all against the test provider, with real git. Run one with:
python3 test_context.py NAME."""
import json
import os
import shutil
import subprocess

from harness import BUILD, IdP, Login, TB, check, need, run

API = "https://api.tb.test"
OTHER = "https://registry.tb.test"
GIT_HELPER = (os.environ.get("GIT_CREDENTIAL_TB_BIN") or
              os.path.join(BUILD, "git-credential-tb"))
DOCKER_HELPER = (os.environ.get("DOCKER_CREDENTIAL_TB_BIN") or
                 os.path.join(BUILD, "docker-credential-tb"))
NOT_FOUND = "credentials not found in native keychain"


def claims(tok):
    import base64
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def projects(tok):
    return sorted(s.split(":", 1)[1] for s in claims(tok)["scope"].split()
                  if s.startswith("project:"))


def write_config(env, idp, extra=""):
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "config.ini")
    with open(path, "w") as f:
        f.write("store = memory\n\n[profile default]\nissuer = %s\n"
                "client_id = tb-cli\naudience = %s\n\n" % (idp.issuer, API))
        f.write(extra)
    return path


def setup(env, extra=""):
    idp = IdP(env, "--interval", "1")
    write_config(env, idp, extra)
    env.start()
    lg = Login(env, "--no-browser")
    uri, code = lg.code()
    idp.approve(uri, user="alice", code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "tb login exit %d: %s" % (rc, err))
    return idp


def tb(env, cwd, *args, extra_env=None):
    e = dict(env.env)
    if extra_env:
        e.update(extra_env)
    return subprocess.run([TB] + list(args), cwd=cwd, env=e,
                          capture_output=True, text=True, timeout=60)


def token(env, cwd, *args):
    r = tb(env, cwd, "--json", "token", *args)
    check(r.returncode == 0, "tb token %s in %s: exit %d: %s" % (
        " ".join(args), cwd, r.returncode, r.stderr))
    return json.loads(r.stdout)


def git_init(path):
    need(shutil.which("git"), "git")
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["git", "init", "-q", path], capture_output=True,
                       text=True, env={"PATH": os.environ["PATH"],
                                       "HOME": path})
    check(r.returncode == 0, "git init: %s" % r.stderr)


def binding_token(env):
    """In a repository with a binding, tb token prints the bound project's
    token; in a subdirectory too; in another repository with another
    binding another token; outside both, the user's own token. Explicit
    options win over the binding."""
    setup(env)
    src = os.path.join(env.home, "src")
    a, b, c = (os.path.join(src, n) for n in ("a", "b", "c"))
    for d in (a, b, c):
        git_init(d)
    sub = os.path.join(a, "lib", "deep")
    os.makedirs(sub)
    user = token(env, env.home)
    check("project" not in user, user)

    r = tb(env, sub, "link", "--project", "prj_123")
    check(r.returncode == 0 and "linked %s to project prj_123" % a in
          r.stdout, "link: %d %s %s" % (r.returncode, r.stdout, r.stderr))
    check(os.path.exists(os.path.join(a, ".authd-link")), "not at the top")
    r = tb(env, b, "link", "--project", "prj_456", "--audience", OTHER)
    check(r.returncode == 0, r.stderr)

    ta = token(env, a)
    check(ta["project"] == "prj_123" and projects(ta["token"]) == ["prj_123"],
          ta)
    check(claims(ta["token"])["aud"] == API, ta)
    ts = token(env, sub)
    check(ts["token"] == ta["token"] and ts["cached"] is True,
          "subdirectory: %s" % ts)
    tbb = token(env, b)
    check(tbb["project"] == "prj_456" and projects(tbb["token"]) == ["prj_456"]
          and claims(tbb["token"])["aud"] == OTHER, tbb)
    check(tbb["token"] != ta["token"], "same token for two bindings")
    for d in (c, src, env.home):
        t = token(env, d)
        check("project" not in t and t["token"] == user["token"],
              "outside the bindings (%s): %s" % (d, t))
    # libauthd-client's authd_context_apply asks for what tb token does.
    prog = os.path.join(BUILD, "tests", "client_example")
    if os.path.exists(prog):
        for d, want in ((sub, ta["token"]), (b, tbb["token"]),
                        (c, user["token"])):
            r = subprocess.run([prog, "--here"], cwd=d, env=env.env,
                               capture_output=True, text=True, timeout=30)
            check(r.returncode == 0 and r.stdout == want + "\n",
                  "libauthd-client in %s: %d %s" % (d, r.returncode,
                                                     r.stderr))
    else:
        check(not os.environ.get("CI") or os.environ.get("TB_BIN"),
              "client_example not built")
    # Plain output is the token alone.
    r = tb(env, sub, "token")
    check(r.returncode == 0 and r.stdout == ta["token"] + "\n", r.stderr)
    # Explicit options override the binding.
    t = token(env, a, "--project", "prj_456")
    check(t["project"] == "prj_456", t)
    # tb exec too.
    r = tb(env, sub, "exec", "--", "sh", "-c", 'printf %s "$TB_TOKEN"')
    check(r.returncode == 0 and r.stdout == ta["token"], "exec: %s" %
          r.stderr)

    # --show, --json, and which.
    r = tb(env, sub, "link", "--show")
    check(r.returncode == 0 and os.path.join(a, ".authd-link") in r.stdout
          and "prj_123" in r.stdout, r.stdout)
    j = json.loads(tb(env, b, "link", "--show", "--json").stdout)
    check(j == {"file": os.path.join(b, ".authd-link"), "project": "prj_456",
                "audience": OTHER}, j)
    j = json.loads(tb(env, c, "link", "--show", "--json").stdout)
    check(j == {"file": None}, j)
    j = json.loads(tb(env, sub, "which", "--json").stdout)
    check(j["project"] == "prj_123" and j["token"] == "project" and
          j["project_from"] == "binding " + os.path.join(a, ".authd-link")
          and j["profile"] is None, j)
    r = tb(env, sub, "which", "--explain")
    check(r.returncode == 0 and "(from binding %s" % a in r.stdout,
          r.stdout)

    # unlink: the user token again.
    r = tb(env, sub, "unlink")
    check(r.returncode == 0 and "removed" in r.stdout, r.stderr)
    check(not os.path.exists(os.path.join(a, ".authd-link")), "still there")
    check(token(env, sub)["token"] == user["token"], "after unlink")
    r = tb(env, sub, "unlink")
    check(r.returncode != 0 and "no binding applies here" in r.stderr,
          r.stderr)


def binding_bounds(env):
    """A binding is searched up to the top of its repository, never in or
    above $HOME; a malformed one is an error naming file and line; a
    symbolic link or an oversized file is refused; tb link refuses $HOME.
    No daemon is needed to find out."""
    home = env.home
    outer = os.path.join(home, "outer")
    inner = os.path.join(outer, "inner")
    git_init(inner)
    # A binding above the repository's top does not leak into it.
    with open(os.path.join(outer, ".authd-link"), "w") as f:
        f.write("project = prj_outer\n")
    j = json.loads(tb(env, inner, "link", "--show", "--json").stdout)
    check(j == {"file": None}, "leaked across the repository top: %s" % j)
    # ... but applies in a plain directory below it.
    plain = os.path.join(outer, "plain")
    os.makedirs(plain)
    j = json.loads(tb(env, plain, "link", "--show", "--json").stdout)
    check(j.get("project") == "prj_outer", j)
    # Nothing in $HOME itself is read.
    with open(os.path.join(home, ".authd-link"), "w") as f:
        f.write("project = prj_home\n")
    other = os.path.join(home, "other")
    os.makedirs(other)
    j = json.loads(tb(env, other, "link", "--show", "--json").stdout)
    check(j == {"file": None}, "read $HOME's: %s" % j)
    r = tb(env, home, "link", "--project", "p")
    check(r.returncode == 2 and "stops below $HOME" in r.stderr, r.stderr)

    bad = os.path.join(plain, ".authd-link")
    cases = [
        ("project = p\nprofile = no spaces\n", ":2: ", "profile name"),
        ("project = p\nfoo = 1\n", ":2: ", "unknown key 'foo'"),
        ("[x]\nproject = p\n", ":2: ", "no sections"),
        ("project = p\nproject = q\n", ":2: ", "set twice"),
        ("# c\n\nnot a line\n", ":3: ", "syntax error"),
        ("profile = work\n", ": no 'project", "tb link --project"),
        ("project = " + "x" * 300 + "\n", ":1: ", "line too long"),
        ("project = a\n" + "#" * 100 + "\n" * 5000, ": larger than 4096",
         ""),
        ("project = a\x00b\n", ":1: a NUL byte", ""),
    ]
    for text, where, what in cases:
        with open(bad, "w") as f:
            f.write(text)
        r = tb(env, plain, "token")
        check(r.returncode != 0 and r.stdout == "" and bad + where in
              r.stderr and what in r.stderr, "%r: %d %s" % (
                  text[:40], r.returncode, r.stderr))
    os.unlink(bad)
    os.symlink(os.path.join(outer, "nowhere"), bad)     # dangling
    r = tb(env, plain, "token")
    check(r.returncode != 0 and "symbolic link" in r.stderr, r.stderr)
    os.unlink(bad)
    os.symlink(os.path.join(outer, ".authd-link"), bad)
    r = tb(env, plain, "token")
    check(r.returncode != 0 and "symbolic link" in r.stderr, r.stderr)
    # unlink removes even a malformed binding (not through the link).
    r = tb(env, plain, "unlink")
    check(r.returncode == 0 and not os.path.lexists(bad) and
          os.path.exists(os.path.join(outer, ".authd-link")),
          "unlink of a symbolic link: %s" % r.stderr)


def binding_fs_boundary(env):
    """The search for a binding stops at a file system boundary: below a
    mount point (a tmpfs in a private mount namespace: root and unshare),
    a binding above it does not apply; on the same file system it does."""
    need(os.geteuid() == 0 and shutil.which("unshare"),
         "root and unshare (a private mount namespace)")
    outer = os.path.join(env.home, "outer")
    mnt = os.path.join(outer, "mnt")
    plain = os.path.join(outer, "plain")
    os.makedirs(mnt)
    os.makedirs(plain)
    with open(os.path.join(outer, ".authd-link"), "w") as f:
        f.write("project = prj_above\n")
    script = ('mount -t tmpfs authd-test "$1" && mkdir "$1/sub" && '
              'cd "$1/sub" && exec "$2" link --show --json')
    r = subprocess.run(["unshare", "--mount", "sh", "-c", script, "sh", mnt,
                        TB], env=env.env, capture_output=True, text=True,
                       timeout=30)
    need(r.returncode == 0 or "mount" not in r.stderr,
         "mount in a private namespace: %s" % r.stderr.strip())
    check(r.returncode == 0 and json.loads(r.stdout) == {"file": None},
          "crossed the boundary: %d %s %s" % (r.returncode, r.stdout,
                                             r.stderr))
    j = json.loads(tb(env, plain, "link", "--show", "--json").stdout)
    check(j.get("project") == "prj_above", "same file system: %s" % j)


def match_rules(env):
    """[match] rules choose by directory (prefix and glob) and by the git
    remote read from .git/config; the first that matches wins; a binding
    and explicit options come first; tb which --explain names the rule."""
    src = os.path.join(env.home, "src")
    setup(env, "[match work]\npath = ~/src/work\nproject = prj_123\n\n"
          "[match \"acme\"]\ngit_remote = git.acme.test/acme\n"
          "project = prj_456\naudience = %s\n\n"
          "[match glob]\npath = %s/*/scratch\naudience = %s\n"
          % (OTHER, src, OTHER))
    work = os.path.join(src, "work", "deep")
    os.makedirs(work)
    t = token(env, work)
    check(t["project"] == "prj_123" and projects(t["token"]) == ["prj_123"],
          t)
    r = tb(env, work, "which", "--explain")
    check("project  prj_123  (from rule [match work] in %s" % os.path.join(
        env.home, ".config", "authd", "config.ini") in r.stdout, r.stdout)
    # Not a prefix of a component: ~/src/workshop is not ~/src/work.
    shop = os.path.join(src, "workshop")
    os.makedirs(shop)
    check("project" not in token(env, shop), "prefix matched a longer name")
    # The remote of a repository, with scp-like and https URLs.
    for n, url in (("r1", "git@git.acme.test:acme/tool.git"),
                   ("r2", "https://user@GIT.acme.test/acme/x"),
                   ("r3", "https://git.acme.test/other/x")):
        d = os.path.join(src, n)
        git_init(d)
        with open(os.path.join(d, ".git", "config"), "a") as f:
            f.write('[remote "origin"]\n\turl = %s\n' % url)
        sub = os.path.join(d, "sub")
        os.makedirs(sub)
        j = json.loads(tb(env, sub, "which", "--json").stdout)
        if n == "r3":
            check(j["rule"] is None and j["project"] is None, j)
            continue
        check(j["rule"] == "acme" and j["project"] == "prj_456" and
              j["audience"] == OTHER, j)
        t = token(env, sub)
        check(t["project"] == "prj_456" and
              claims(t["token"])["aud"] == OTHER, t)
    # A glob, within one component.
    g = os.path.join(src, "x", "scratch", "y")
    os.makedirs(g)
    j = json.loads(tb(env, g, "which", "--json").stdout)
    check(j["rule"] == "glob" and j["audience"] == OTHER and
          j["project"] is None, j)
    # A binding wins over a rule, options over both.
    r = tb(env, work, "link", "--project", "prj_456")
    check(r.returncode == 0, r.stderr)
    check(token(env, work)["project"] == "prj_456", "binding lost")
    check(token(env, work, "--project", "prj_123")["project"] == "prj_123",
          "option lost")


def match_profiles(env):
    """Two directories, two identities: [match] rules choose the profile
    (after --profile and TB_PROFILE, before default_profile). Checked with
    tb which and with authd's own answer (a rule added after authd read
    the file, naming a profile authd does not have, gets unknown_profile:
    authd itself refuses such a file, bad_rules)."""
    src = os.path.join(env.home, "src")
    setup(env, "[profile other]\nissuer = http://127.0.0.1:9\n"
          "client_id = x\n\n[match o]\npath = ~/src/o\nprofile = other\n")
    with open(os.path.join(env.home, ".config", "authd", "config.ini"),
              "a") as f:
        f.write("\n[match gone]\npath = ~/src/gone\nprofile = nosuch\n")
    o = os.path.join(src, "o")
    gone = os.path.join(src, "gone")
    os.makedirs(o)
    os.makedirs(gone)
    j = json.loads(tb(env, o, "which", "--json").stdout)
    check(j["profile"] == "other" and j["profile_from"].startswith(
        "rule [match o]"), j)
    j = json.loads(tb(env, o, "which", "--json",
                      extra_env={"TB_PROFILE": "default"}).stdout)
    check(j["profile"] == "default" and j["profile_from"] == "TB_PROFILE", j)
    j = json.loads(tb(env, o, "--profile", "default", "which",
                      "--json").stdout)
    check(j["profile_from"] == "--profile", j)
    # authd is asked for the rule's profile: not logged in there.
    r = tb(env, o, "token")
    check(r.returncode == 3, "other profile: %d %s" % (r.returncode,
                                                       r.stderr))
    r = tb(env, gone, "token")
    check(r.returncode != 0 and "nosuch" in r.stderr, r.stderr)
    check(token(env, src)["token"], "default profile")
    check(token(env, o, "--profile", "default")["token"], "--profile")
    # Commands that name only a profile follow the rule too.
    r = tb(env, o, "--json", "status")
    check(json.loads(r.stdout).get("profile") == "other", "status in o: "
          "%d %s %s" % (r.returncode, r.stdout, r.stderr))
    r = tb(env, src, "--json", "status")
    check(r.returncode == 0 and json.loads(r.stdout)["profile"] ==
          "default", r.stdout)


def bad_rules(env):
    """A bad rule section is an error naming file and line, for tb and for
    authd --check-config alike; a config.ini others may write is not
    trusted."""
    from harness import AUTHD
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d)
    path = os.path.join(d, "config.ini")
    base = ("[profile default]\nissuer = http://127.0.0.1:9\n"
            "client_id = x\n\n")
    cases = [
        ("[match a]\npath = relative\nprofile = x\n", 6, "absolute"),
        ("[match a]\npath = /x\nprofile = bad name\n", 7,
         "not a profile name"),
        ("[git a]\nhost = https://x\n", 6, "host name"),
        ("[docker a]\nregistry = x:99999\n", 6, "PORT"),
        ("[kube a]\nserver = k8s.test\n", 6, "cluster's URL"),
        ("[match a]\nfoo = 1\n", 6, "unknown key 'foo'"),
        ("[match a]\ngit_remote = a/b/c\nproject = p\n", 6, "HOST/OWNER"),
        ("[match %s]\npath = /x\nprofile = p\n" % ("n" * 45), 6,
         "too long"),
        ("[git a]\nprofile = p\n", None, "[git a] needs host"),
        ("[match a]\npath = /x\n", None, "chooses nothing"),
    ]
    for text, line, what in cases:
        with open(path, "w") as f:
            f.write(base + text)
        where = "%s:%d: " % (path, line) if line else path + ": "
        r = tb(env, env.home, "which")
        check(r.returncode != 0 and where in r.stderr and what in r.stderr,
              "tb, %r: %s" % (text, r.stderr))
        r = subprocess.run([AUTHD, "--check-config"], env=env.env,
                           capture_output=True, text=True, timeout=30)
        check(r.returncode != 0 and what in r.stderr and
              (line is None or ":%d:" % line in r.stderr),
              "authd, %r: %s" % (text, r.stderr))
    # authd also checks that a rule's profile is one of the file's.
    with open(path, "w") as f:
        f.write(base + "[match a]\npath = /x\nprofile = nosuch\n")
    r = subprocess.run([AUTHD, "--check-config"], env=env.env,
                       capture_output=True, text=True, timeout=30)
    check(r.returncode != 0 and "[match a]: profile 'nosuch' has no "
          "[profile] section" in r.stderr, r.stderr)
    with open(path, "w") as f:
        f.write(base + "[match a]\npath = /\nproject = p\n")
    os.chmod(path, 0o666)
    r = tb(env, env.home, "which")
    check(r.returncode != 0 and "writable by group or others" in r.stderr,
          r.stderr)


def git_helper(env, action, text, *args, cwd=None):
    return subprocess.run([GIT_HELPER] + list(args) + [action], input=text,
                          capture_output=True, text=True, env=env.env,
                          timeout=60, cwd=cwd or env.dir)


def git_fill(env, text, *config):
    need(shutil.which("git"), "git")
    e = {k: v for k, v in env.env.items() if not k.startswith("GIT_")}
    e.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"})
    argv = ["git"]
    for c in config:
        argv += ["-c", c]
    r = subprocess.run(argv + ["credential", "fill"], input=text,
                       capture_output=True, text=True, env=e, timeout=60,
                       cwd=env.dir)
    kv = dict(ln.split("=", 1) for ln in r.stdout.splitlines() if "=" in ln)
    return r, kv


HELPERS_CONF = """[git a]
host = git-a.tb.test
project = prj_123

[git b]
host = git-b.tb.test:8443
path = team
project = prj_456
audience = %s
username = robot

[docker one]
registry = reg-one.tb.test
project = prj_123

[docker two]
registry = localhost:5000
audience = %s
project = prj_456
username = ci

[kube prod]
server = https://k8s.tb.test:6443/
project = prj_456
""" % (OTHER, OTHER)


def helpers_git(env):
    """Two git hosts configured in config.ini get their own tokens through
    real git's credential protocol (git credential fill with
    credential.helper set to the helper, no options); an unconfigured
    host, another port or another path gets nothing; --host still works."""
    setup(env, HELPERS_CONF)
    helper = "credential.helper=" + GIT_HELPER
    r, kv = git_fill(env, "protocol=https\nhost=git-a.tb.test\n\n", helper)
    check(r.returncode == 0 and kv.get("username") == "x-access-token",
          "a: %d %s" % (r.returncode, r.stderr))
    ta = kv["password"]
    check(projects(ta) == ["prj_123"] and claims(ta)["aud"] == API,
          claims(ta))
    r, kv = git_fill(env, "protocol=https\nhost=git-b.tb.test:8443\n"
                     "path=team/repo.git\n\n", helper,
                     "credential.useHttpPath=true")
    check(r.returncode == 0 and kv.get("username") == "robot",
          "b: %d %s" % (r.returncode, r.stderr))
    tb_ = kv["password"]
    check(projects(tb_) == ["prj_456"] and claims(tb_)["aud"] == OTHER,
          claims(tb_))
    check(tb_ != ta, "one token for two hosts")
    # Unconfigured: another host, another port, another path: git gets
    # nothing from the helper, and fails without a prompt.
    for req in ("protocol=https\nhost=git-c.tb.test\n\n",
                "protocol=https\nhost=git-b.tb.test\npath=team/r\n\n",
                "protocol=https\nhost=git-b.tb.test:8443\npath=x/r\n\n",
                "protocol=https\nhost=git-a.tb.test.evil\n\n"):
        r, kv = git_fill(env, req, helper, "credential.useHttpPath=true")
        check(r.returncode != 0 and "password" not in kv,
              "%r got %s" % (req, kv.keys()))
        h = git_helper(env, "get", req)
        check(h.returncode == 0 and h.stdout == "", "%r: %s" % (req,
                                                                 h.stdout))
    # --host keeps working, with its own options first.
    h = git_helper(env, "get", "protocol=https\nhost=git-c.tb.test\n\n",
                   "--host", "git-c.tb.test", "--project", "prj_456")
    check(h.returncode == 0 and "password=" in h.stdout, h.stderr)
    p = [ln for ln in h.stdout.splitlines() if ln.startswith("password=")]
    check(projects(p[0][9:]) == ["prj_456"], "option lost")


def helpers_git_clone(env):
    """End to end with real git 2.39: two git servers on loopback (git
    http-backend behind a check that the Basic password is a token for
    the server's own project), configured as two [git] sections in
    config.ini, and credential.helper set to the helper alone: git clones
    from each with its own token; a third server, not configured, gets no
    credentials and the clone fails without a prompt."""
    import types
    from test_helpers import GitHTTP
    idp = IdP(env, "--interval", "1")
    servers = {}
    for name, project in (("a", "prj_123"), ("b", "prj_456"), ("c", None)):
        d = os.path.join(env.dir, name)
        os.mkdir(d)

        class Checker:
            # The token's own project, as the server of that project would
            # check it (the provider signed it; the test reads its claims).
            def __init__(self, want):
                self.want = want

            def userinfo(self, tok):
                try:
                    ok = projects(tok) == [self.want]
                except (ValueError, IndexError):
                    ok = False
                return (200 if ok else 401), None
        servers[name] = GitHTTP(types.SimpleNamespace(dir=d),
                                Checker(project))
    try:
        port = {n: s.url.rsplit(":", 1)[1] for n, s in servers.items()}
        write_config(env, idp, "[git a]\nhost = 127.0.0.1:%s\n"
                     "project = prj_123\n\n[git b]\nhost = 127.0.0.1:%s\n"
                     "project = prj_456\n" % (port["a"], port["b"]))
        env.start()
        lg = Login(env, "--no-browser")
        uri, code = lg.code()
        idp.approve(uri, user="alice", code=code)
        rc, _, err = lg.wait()
        check(rc == 0, "login: %s" % err)
        ge = {k: v for k, v in env.env.items() if not k.startswith("GIT_")}
        ge.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
                   "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                   "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})

        def git(*args):
            return subprocess.run(["git"] + list(args), env=ge, cwd=env.dir,
                                  capture_output=True, text=True,
                                  timeout=120)
        work = os.path.join(env.dir, "work")
        for args in (("init", "-q", "-b", "main", work),
                     ("-C", work, "commit", "-q", "--allow-empty", "-m",
                      "hello")):
            r = git(*args)
            check(r.returncode == 0, "git %s: %s" % (args[0], r.stderr))
        for s in servers.values():
            r = git("clone", "-q", "--bare", work,
                    os.path.join(s.root, "repo.git"))
            check(r.returncode == 0, r.stderr)
        helper = "credential.helper=" + GIT_HELPER
        for name in ("a", "b"):
            dest = os.path.join(env.dir, "clone-" + name)
            r = git("-c", helper, "clone", "-q",
                    servers[name].url + "/repo.git", dest)
            check(r.returncode == 0, "clone %s: %s" % (name, r.stderr))
            auth = servers[name].auth
            check(auth and all(ok for _, ok in auth) and
                  auth[0][0] == "x-access-token", "%s: %s" % (name, auth))
        r = git("-c", helper, "clone", "-q", servers["c"].url + "/repo.git",
                os.path.join(env.dir, "clone-c"))
        check(r.returncode != 0 and servers["c"].auth == [],
              "unconfigured server: %d %s" % (r.returncode,
                                               servers["c"].auth))
    finally:
        for s in servers.values():
            s.stop()


def helpers_git_capability(env):
    """git >= 2.46 announces capability[]=authtype: the helper answers a
    Bearer credential marked ephemeral (and no password); without the
    capability it answers username/password and password_expiry_utc. The
    protocol spoken directly, as git 2.46 speaks it."""
    setup(env, HELPERS_CONF)
    req = "capability[]=authtype\ncapability[]=state\nprotocol=https\n" \
          "host=git-a.tb.test\n\n"
    h = git_helper(env, "get", req)
    check(h.returncode == 0, h.stderr)
    lines = h.stdout.split("\n")
    kv = dict(ln.split("=", 1) for ln in lines if "=" in ln)
    check(lines[0] == "capability[]=authtype" and
          kv.get("authtype") == "Bearer" and kv.get("ephemeral") == "true",
          h.stdout.replace(kv.get("credential", "-"), "TOKEN"))
    check("password" not in kv and "username" not in kv, kv.keys())
    check(projects(kv["credential"]) == ["prj_123"], "wrong token")
    check(h.stdout.endswith("\n\n") and h.stdout.count("\n\n") == 1,
          "the answer ends with one blank line")
    # Older git: no capability, the password form with its expiry.
    h = git_helper(env, "get", "protocol=https\nhost=git-a.tb.test\n\n")
    kv = dict(ln.split("=", 1) for ln in h.stdout.splitlines() if "=" in ln)
    check(set(kv) == {"username", "password", "password_expiry_utc"},
          kv.keys())
    check(int(kv["password_expiry_utc"]) == claims(kv["password"])["exp"],
          "expiry")
    # Unconfigured hosts get nothing in either form.
    h = git_helper(env, "get", req.replace("git-a", "git-z"))
    check(h.stdout == "", h.stdout)


def docker(env, action, text="", extra_env=None):
    e = {k: v for k, v in env.env.items() if not k.startswith("TB_DOCKER_")}
    e.update(extra_env or {})
    return subprocess.run([DOCKER_HELPER, action], input=text,
                          capture_output=True, text=True, env=e, timeout=60)


def helpers_docker(env):
    """Two registries configured in config.ini get their own tokens through
    the docker-credential protocol; an unconfigured one gets "not found";
    list names both; TB_DOCKER_* stays an override."""
    setup(env, HELPERS_CONF)
    r = docker(env, "get", "reg-one.tb.test")
    check(r.returncode == 0, "one: %s %s" % (r.stdout, r.stderr))
    j1 = json.loads(r.stdout)
    check(j1["Username"] == "x-access-token" and
          projects(j1["Secret"]) == ["prj_123"] and
          claims(j1["Secret"])["aud"] == API, j1["Username"])
    r = docker(env, "get", "http://localhost:5000/v2/")
    check(r.returncode == 0, "two: %s %s" % (r.stdout, r.stderr))
    j2 = json.loads(r.stdout)
    check(j2["Username"] == "ci" and projects(j2["Secret"]) == ["prj_456"]
          and claims(j2["Secret"])["aud"] == OTHER, j2["Username"])
    for url in ("reg-three.tb.test", "localhost:5001", "localhost"):
        r = docker(env, "get", url)
        check(r.returncode == 1 and r.stdout.strip() == NOT_FOUND,
              "%s: %s" % (url, r.stdout[:60]))
    r = docker(env, "list")
    check(r.returncode == 0 and json.loads(r.stdout) == {
        "reg-one.tb.test": "x-access-token", "localhost:5000": "ci"},
        r.stdout)
    # TB_DOCKER_* override the section.
    r = docker(env, "get", "reg-one.tb.test", extra_env={
        "TB_DOCKER_PROJECT": "prj_456", "TB_DOCKER_USERNAME": "me"})
    j = json.loads(r.stdout)
    check(j["Username"] == "me" and projects(j["Secret"]) == ["prj_456"],
          j["Username"])


def helpers_kube(env):
    """tb kube-credential finds the [kube] section of the cluster kubectl
    names in KUBERNETES_EXEC_INFO (provideClusterInfo); another cluster
    gets the user's token, and options win."""
    setup(env, HELPERS_CONF)

    def info(server):
        return {"KUBERNETES_EXEC_INFO": json.dumps({
            "apiVersion": "client.authentication.k8s.io/v1",
            "kind": "ExecCredential",
            "spec": {"interactive": False, "cluster": {"server": server}}})}
    r = tb(env, env.dir, "kube-credential",
           extra_env=info("https://k8s.tb.test:6443"))
    check(r.returncode == 0, r.stderr)
    tok = json.loads(r.stdout)["status"]["token"]
    check(projects(tok) == ["prj_456"], claims(tok))
    r = tb(env, env.dir, "kube-credential",
           extra_env=info("https://k8s-other.tb.test:6443"))
    check(r.returncode == 0 and json.loads(r.stdout)["status"]["token"] ==
          token(env, env.dir)["token"], "other cluster: not the user token")
    r = tb(env, env.dir, "kube-credential", "--project", "prj_123",
           extra_env=info("https://k8s.tb.test:6443"))
    check(projects(json.loads(r.stdout)["status"]["token"]) == ["prj_123"],
          "option lost")


if __name__ == "__main__":
    run({f.__name__: f for f in (
        binding_token, binding_bounds, binding_fs_boundary, match_rules,
        match_profiles, bad_rules, helpers_git, helpers_git_clone,
        helpers_git_capability, helpers_docker, helpers_kube)})
