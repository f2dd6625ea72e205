"""Confirm before use (profile or [policy] confirm = yes): every serve asks
a scripted askpass program that authd runs (AUTHD_ASKPASS): yes, no, no
answer in time, a remembered yes (confirm_cache), no program at all.
Run one with: python3 test_confirm.py NAME."""
import json
import os
import subprocess

from harness import TB, IdP, Login, check, pid_alive, run, wait_for

API = "https://api.tb.test"

# The askpass: records its question and environment, answers as told.
ASKPASS = """#!/bin/sh
dir=$(dirname "$0")
n=$(ls "$dir"/asked.* 2>/dev/null | wc -l)
{ echo "$1"; echo "exe=$AUTHD_CONFIRM_EXE"; echo "profile=$AUTHD_CONFIRM_PROFILE"
  echo "audience=$AUTHD_CONFIRM_AUDIENCE"; echo "project=$AUTHD_CONFIRM_PROJECT"
  echo "prompt=$SSH_ASKPASS_PROMPT"; echo "pid=$$"; } > "$dir/asked.$n"
case $(cat "$dir/answer") in
yes) exit 0 ;;
no) exit 1 ;;
hang) exec sleep 1000 ;;
esac
exit 2
"""


def setup(env, profile_extra="", policies="", askpass=True):
    idp = IdP(env, "--interval", "1")
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    audit = os.path.join(env.dir, "audit.log")
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("store = memory\naudit_log = %s\n[profile default]\n"
                "issuer = %s\nclient_id = tb-cli\naudience = %s\n%s%s" %
                (audit, idp.issuer, API, profile_extra, policies))
    adir = os.path.join(env.dir, "askpass")
    os.makedirs(adir)
    prog = os.path.join(adir, "askpass")
    with open(prog, "w") as f:
        f.write(ASKPASS)
    os.chmod(prog, 0o755)
    answer("yes", env)
    env.start(env={"AUTHD_ASKPASS": prog} if askpass else None)
    lg = Login(env, "--no-browser")
    uri, code = lg.code()
    idp.approve(uri, code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "login: " + err)
    return idp, audit


def answer(what, env):
    with open(os.path.join(env.dir, "askpass", "answer"), "w") as f:
        f.write(what + "\n")


def asked(env):
    adir = os.path.join(env.dir, "askpass")
    out = []
    for i in range(len([n for n in os.listdir(adir)
                        if n.startswith("asked.")])):
        with open(os.path.join(adir, "asked.%d" % i)) as f:
            out.append(f.read())
    return out


def confirm_yes_no(env):
    """confirm = yes: each serve asks; the question and AUTHD_CONFIRM_*
    name the caller's executable (tb), the profile, the audience and the
    project (the user token says so); exit 0 serves, anything else is
    confirm_denied (exit 5) with a deny audit line."""
    _, audit = setup(env, "confirm = yes\n")
    r = env.tb("token")
    check(r.returncode == 0, "yes: " + r.stderr)
    a = asked(env)
    check(len(a) == 1, "asked %d times" % len(a))
    check(os.path.realpath(TB) in a[0] and "profile 'default'" in a[0] and
          "the user token" in a[0] and "prompt=confirm" in a[0], a[0])
    r = env.tb("token", "--project", "prj_123")
    check(r.returncode == 0, "yes, project: " + r.stderr)
    a = asked(env)
    check(len(a) == 2 and "audience=" + API in a[1] and
          "project=prj_123" in a[1] and API in a[1].splitlines()[0], a)
    answer("no", env)
    r = env.tb("token")
    check(r.returncode == 5 and "not confirmed" in r.stderr and
          "said no" in r.stderr, "no: %d %s" % (r.returncode, r.stderr))
    check(len(asked(env)) == 3, "no second question")
    with open(audit) as f:
        lines = [json.loads(line) for line in f]
    check(any(e.get("result") == "confirm_denied" for e in lines),
          "no deny audit line")


def confirm_timeout(env):
    """No answer within confirm_timeout is a denial: the program is
    killed, tb token gets confirm_denied; authd answers others while it
    waits (the loop does not block)."""
    setup(env, "confirm = yes\nconfirm_timeout = 2\n")
    answer("hang", env)
    p = subprocess.Popen([TB, "token"], env=env.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(asked(env)) == 1, "the question")
    r = env.tb("--json", "status")
    check(r.returncode == 0 and p.poll() is None,
          "status waited for the question")
    _, err = p.communicate(timeout=30)
    check(p.returncode == 5 and "no answer in time" in err, err)
    pid = int([ln for ln in asked(env)[0].splitlines()
               if ln.startswith("pid=")][0][4:])
    wait_for(lambda: not pid_alive(pid), "the askpass killed")


def confirm_cached(env):
    """confirm_cache = 60: a yes is remembered for the same caller and
    target; another project asks again."""
    setup(env, "confirm = yes\nconfirm_cache = 60\n")
    for _ in range(3):
        check(env.tb("token", "--project", "prj_123").returncode == 0, "")
    check(len(asked(env)) == 1, "asked %d times" % len(asked(env)))
    answer("no", env)
    r = env.tb("token", "--project", "prj_456")
    check(r.returncode == 5 and len(asked(env)) == 2, r.stderr)


def confirm_policy_no_askpass(env):
    """A [policy] rule's confirm = yes asks for its callers only; with no
    askpass program (no AUTHD_ASKPASS, no display) it is refused, saying
    what to set."""
    setup(env, "", "[policy tb]\nexe = %s\nconfirm = yes\n" %
          os.path.realpath(TB), askpass=False)
    r = env.tb("token")
    check(r.returncode == 5 and "AUTHD_ASKPASS" in r.stderr, r.stderr)
    r = env.tb("--json", "policy", "explain")
    check(json.loads(r.stdout)["rule"]["confirm"] is True, r.stdout)
    r = env.tb("policy", "explain")
    check("each use asks" in r.stdout, r.stdout)
    # Another executable (the Python client) is not governed by the rule.
    from authd_client import Client
    with Client(env.sock) as c:
        res = c.call("token")
    check(res.get("token"), "a caller the rule does not name was refused")
    check(len(asked(env)) == 0, "the askpass ran")


TESTS = {f.__name__: f for f in (confirm_yes_no, confirm_timeout,
                                 confirm_cached, confirm_policy_no_askpass)}

if __name__ == "__main__":
    run(TESTS)
