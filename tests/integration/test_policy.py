"""Per-caller policy: [policy NAME] rules matched by what the kernel says of
the caller (its executable, its ancestors'), with real git and copies of
a test client getting different answers; tb policy explain. Run one with:
python3 test_policy.py NAME."""
import base64
import json
import os
import shlex
import shutil
import signal
import subprocess

from harness import (BUILD, IdP, Login, TB, check, need, wait_for, run)

API = "https://api.tb.test"
GITAUD = "https://git.tb.test"
GIT_HELPER = (os.environ.get("GIT_CREDENTIAL_TB_BIN") or
              os.path.join(BUILD, "git-credential-tb"))


def claims(tok):
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def setup(env, policies, *idp_args, top=""):
    idp = IdP(env, "--interval", "1", "--resource", GITAUD, *idp_args)
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    audit = os.path.join(env.dir, "audit.log")
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("store = memory\naudit_log = %s\n%s[profile default]\n"
                "issuer = %s\nclient_id = tb-cli\naudience = %s\n%s" %
                (audit, top, idp.issuer, API, policies))
    env.start()
    lg = Login(env, "--no-browser")
    uri, code = lg.code()
    idp.approve(uri, code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "tb login exit %d: %s" % (rc, err))
    return idp, audit


def audit_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def git_fill(env, *helper_args):
    """Real git: git credential fill with our helper."""
    need(shutil.which("git"), "git")
    e = {k: v for k, v in env.env.items()
         if not k.startswith("GIT_") and k != "SSH_ASKPASS"}
    e.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"})
    helper = " ".join(shlex.quote(a) for a in (GIT_HELPER,) + helper_args)
    r = subprocess.run(["git", "-c", "credential.helper=" + helper,
                        "credential", "fill"],
                       input="protocol=https\nhost=git.tb.test\n\n",
                       capture_output=True, text=True, env=e, timeout=60,
                       cwd=env.dir)
    kv = dict(ln.split("=", 1) for ln in r.stdout.splitlines() if "=" in ln)
    return r, kv


GIT_RULES = """
[policy git]
via = /usr/bin/git
audiences = %s
user_token = no
[policy others]
exe = *
audiences = %s
""" % (GITAUD, API)


def policy_git(env):
    """A rule that allows git (the helpers git runs: `via`) only the git
    host's audience: real git gets a git-audience token; the same helper
    and tb outside git are refused it (exit 5, the rule named, a hint), and
    git is refused the API audience and the user token; every refusal is
    an audit deny naming the rule."""
    idp, audit = setup(env, GIT_RULES)
    need(os.path.realpath(shutil.which("git") or "") == "/usr/bin/git",
         "git at /usr/bin/git")
    r, kv = git_fill(env, "--host", "git.tb.test", "--audience", GITAUD,
                     "--project", "prj_123")
    check(r.returncode == 0 and "password" in kv, "git: %s" % r.stderr)
    c = claims(kv["password"])
    check(c["aud"] == GITAUD and "project:prj_123" in c["scope"].split(), c)
    # The same helper, not run by git: another caller, refused.
    h = subprocess.run([GIT_HELPER, "--host", "git.tb.test", "--audience",
                        GITAUD, "--project", "prj_123", "get"],
                       input="protocol=https\nhost=git.tb.test\n\n",
                       capture_output=True, text=True, env=env.env,
                       timeout=60)
    check("password=" not in h.stdout, "the helper outside git got a "
          "token: %s" % h.stderr)
    check("policy 'others'" in h.stderr, h.stderr)
    r = env.tb("token", "--audience", GITAUD, "--project", "prj_123")
    check(r.returncode == 5 and "policy 'others' does not allow audience"
          in r.stderr and "tb policy explain" in r.stderr,
          "exit %d: %s" % (r.returncode, r.stderr))
    check(r.stdout == "", "a token printed")
    # What the catch-all allows, tb gets.
    r = env.tb("token", "--project", "prj_123")
    check(r.returncode == 0 and claims(r.stdout.strip())["aud"] == API,
          r.stderr)
    # git may not have the API audience, nor the user token.
    r, kv = git_fill(env, "--host", "git.tb.test", "--audience", API,
                     "--project", "prj_123")
    check("password" not in kv, "git got an API token")
    check("policy 'git' does not allow audience" in r.stderr, r.stderr)
    r, kv = git_fill(env, "--host", "git.tb.test")
    check("password" not in kv, "git got the user token")
    check("user_token = no" in r.stderr, r.stderr)
    denies = [e for e in audit_lines(audit) if e["event"] == "deny"]
    check(len(denies) == 4, "deny lines: %s" % denies)
    check(all("policy '" in e.get("detail", "") for e in denies), denies)
    check(any(e["peer"].get("exe", "").endswith("git-credential-tb")
              for e in denies), denies)


def policy_two_exes(env):
    """Two copies of one test client get different answers, by path
    alone; a caller no rule names gets default_policy = deny; max_ttl
    refuses a token that lives longer (never shortens it); tb policy
    explain says which rule and why, for an exe and a running pid."""
    rules = ("[policy alpha]\nexe = */alpha/tb\nprojects = prj_123\n"
             "max_ttl = 600\n"
             "[policy beta]\nexe = */beta/tb\nuser_token = no\n"
             "projects = prj_456\nmax_ttl = 60\n")
    setup(env, rules, top="default_policy = deny\n")
    copies = {}
    for name in ("alpha", "beta"):
        os.mkdir(os.path.join(env.dir, name))
        copies[name] = os.path.join(env.dir, name, "tb")
        shutil.copy(TB, copies[name])

    def tb_as(name, *args):
        return subprocess.run([copies[name]] + list(args), env=env.env,
                              capture_output=True, text=True, timeout=60)

    r = tb_as("alpha", "token", "--project", "prj_123")
    check(r.returncode == 0, "alpha prj_123: %s" % r.stderr)
    # The user token (3600 s) outlives alpha's max_ttl; its 300 s
    # project tokens do not.
    r = tb_as("alpha", "token")
    check(r.returncode == 5 and "lives" in r.stderr and
          "longer than its max_ttl 600 s" in r.stderr, r.stderr)
    r = tb_as("alpha", "token", "--project", "prj_456")
    check(r.returncode == 5 and "policy 'alpha' does not allow project "
          "'prj_456'" in r.stderr, r.stderr)
    r = tb_as("beta", "token")
    check(r.returncode == 5 and "policy 'beta'" in r.stderr, r.stderr)
    r = tb_as("beta", "token", "--project", "prj_123")
    check(r.returncode == 5 and "project 'prj_123'" in r.stderr, r.stderr)
    # prj_456 is beta's, but a 300 s token is longer than its 60 s.
    r = tb_as("beta", "token", "--project", "prj_456")
    check(r.returncode == 5 and "longer than its max_ttl 60 s" in r.stderr,
          r.stderr)
    r = env.tb("token", "--project", "prj_123")
    check(r.returncode == 5 and "default_policy is deny" in r.stderr,
          r.stderr)
    # tb policy explain, by exe and by a running process's pid.
    r = env.tb("--json", "policy", "explain", "--exe", copies["alpha"],
               "--project", "prj_456")
    check(r.returncode == 5, "exit %d: %s" % (r.returncode, r.stderr))
    j = json.loads(r.stdout)
    check(j["rule"]["name"] == "alpha" and j["matched_by"] == "exe" and
          j["allowed"] is False and "prj_456" in j["why"], j)
    r = env.tb("policy", "explain", "--exe", copies["alpha"], "--project",
               "prj_123")
    check(r.returncode == 0 and "[policy alpha], matched by exe" in
          r.stdout and "allowed" in r.stdout, r.stdout + r.stderr)
    sleeper = os.path.join(env.dir, "beta", "sleeper")
    shutil.copy("/bin/sleep", os.path.join(env.dir, "beta", "tb2"))
    os.rename(os.path.join(env.dir, "beta", "tb2"), sleeper)
    p = subprocess.Popen([sleeper, "60"])
    env.procs.append(p)
    r = env.tb("--json", "policy", "explain", "--pid", str(p.pid))
    j = json.loads(r.stdout)
    check(j["caller"]["exe"] == sleeper and j["rule"] is None and
          j["default_policy"] == "deny" and j["allowed"] is False, j)
    check(any(a.endswith("python3") or "python" in a
              for a in j["caller"]["ancestors"]), j["caller"])
    p.kill()
    r = env.tb("policy", "explain", "--pid", "999999999")
    check(r.returncode == 2, "bad pid: exit %d" % r.returncode)


def policy_bad_rules(env):
    """A rule that names no caller, an unknown key, a bad value or a bad
    default_policy is a configuration error naming file, rule and key."""
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "config.ini")
    cases = [
        ("[policy x]\nprojects = a\n", "names no caller"),
        ("[policy x]\nexe = *\ncolour = red\n", "unknown key"),
        ("[policy x]\nexe = *\nmax_ttl = soon\n", "max_ttl is seconds"),
        ("[policy x]\nexe = *\nuser_token = maybe\n", "yes or no"),
        ("default_policy = sometimes\n", "allow or deny"),
        ("[policy x]\nexe = *\n[policy y]\nexe = *\n[policy x]\n"
         "unit = y\n", "appears twice"),
    ]
    for text, words in cases:
        top = text if text.startswith("default_policy") else ""
        with open(path, "w") as f:
            f.write(top + "[profile default]\nissuer = https://idp.test\n"
                    "client_id = x\n" + ("" if top else text))
        os.chmod(path, 0o600)
        r = subprocess.run([os.path.join(BUILD, "authd"), "--check-config"],
                           env=env.env, capture_output=True, text=True,
                           timeout=20)
        check(r.returncode == 1 and words in r.stderr and path in
              r.stderr, "%r: exit %d: %s" % (text, r.returncode, r.stderr))


TESTS = {f.__name__: f for f in (policy_git, policy_two_exes,
                                 policy_bad_rules)}

if __name__ == "__main__":
    run(TESTS)
