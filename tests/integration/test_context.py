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
    os.symlink(os.path.join(outer, ".authd-link"), bad)
    r = tb(env, plain, "token")
    check(r.returncode != 0 and "symbolic link" in r.stderr, r.stderr)
    # unlink removes even a malformed binding (not through the link).
    r = tb(env, plain, "unlink")
    check(r.returncode == 0 and not os.path.lexists(bad) and
          os.path.exists(os.path.join(outer, ".authd-link")),
          "unlink of a symbolic link: %s" % r.stderr)


if __name__ == "__main__":
    run({f.__name__: f for f in (binding_token, binding_bounds)})
