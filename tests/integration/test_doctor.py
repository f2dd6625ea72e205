"""tb doctor against real components: the test provider, gnome-keyring on a
private bus, authd --check-config. A healthy setup exits 0; a locked
keyring, a wrong issuer, a skewed clock and a group-readable config.ini
holding a secret are each named with their fix. Run one with:
python3 test_doctor.py NAME."""
import json
import os
import re

from harness import IdP, Keyring, Login, check, run

API = "https://api.tb.test"
CANARY = "doctorcanary"


def write_config(env, text, mode=0o600):
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "config.ini")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def login(env, idp, profile):
    lg = Login(env, "--no-browser", "--profile", profile)
    uri, code = lg.code()
    idp.approve(uri, user="alice", code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "tb login exit %d: %s" % (rc, err))


def doctor(env, *args):
    r = env.tb("--json", "doctor", *args, timeout=120)
    check(r.stdout.strip(), "no output: %s" % r.stderr)
    out = json.loads(r.stdout)
    check(out["healthy"] == (r.returncode == 0),
          "healthy %s with exit %d" % (out["healthy"], r.returncode))
    return r.returncode, out


def find(out, check_name, profile=None):
    for c in out["checks"]:
        if c["check"] == check_name and c.get("profile") == profile:
            return c
    raise AssertionError("no %s check for %s in %s" % (check_name, profile,
                                                      out))


def doctor_healthy(env):
    """Everything in place: every check ok, exit 0, no token printed; the
    text output names each check and ends with "all is well"."""
    Keyring(env)
    idp = IdP(env, "--interval", "1", "--canary", CANARY)
    write_config(env, "[profile work]\nissuer = %s\nclient_id = tb-cli\n"
                 "audience = %s\n" % (idp.issuer, API))
    env.start()
    login(env, idp, "work")
    rc, out = doctor(env, "--project", "prj_456")
    check(rc == 0, "exit %d: %s" % (rc, out))
    for name in ("daemon", "config"):
        check(find(out, name)["status"] == "ok", out)
    for name in ("store", "discovery", "clock", "login", "mint",
                 "revocation"):
        c = find(out, name, "work")
        check(c["status"] == "ok", c)
    check("secret-service" in find(out, "store", "work")["detail"], out)
    check("token-exchange" in find(out, "mint", "work")["detail"] and
          "prj_456" in find(out, "mint", "work")["detail"], out)
    check("supported" in find(out, "revocation", "work")["detail"], out)
    r = env.tb("doctor", "--project", "prj_456")
    check(r.returncode == 0, r.stdout + r.stderr)
    check(r.stdout.rstrip().endswith("all is well"), r.stdout)
    check("[work] clock" in r.stdout and "fix:" not in r.stdout, r.stdout)
    for text in (r.stdout, r.stderr, json.dumps(out)):
        check(CANARY not in text, "a token in doctor's output")
    # The mint went through the provider once and is cached as any other.
    r = env.tb("--json", "list", "--profile", "work")
    check(r.returncode == 0 and API in r.stdout, r.stdout + r.stderr)


def doctor_not_logged_in(env):
    """A configured profile nobody logged in to: the login check fails
    with 'tb login --profile NAME' as its fix; the provider checks pass."""
    idp = IdP(env, "--interval", "1")
    write_config(env, "store = memory\n[profile home]\nissuer = %s\n"
                 "client_id = tb-cli\n" % idp.issuer)
    env.start()
    rc, out = doctor(env, "--profile", "home")
    check(rc == 1, "exit %d" % rc)
    c = find(out, "login", "home")
    check(c["status"] == "fail" and c["fix"] == "tb login --profile home", c)
    check(find(out, "discovery", "home")["status"] == "ok", out)
    check(find(out, "clock", "home")["status"] == "ok", out)
    check(find(out, "store", "home")["detail"].startswith("memory"), out)


def doctor_problems(env):
    """A locked keyring, a profile whose issuer is not the one its provider
    names, a provider whose clock is an hour off, and config.ini made
    group-readable while it holds a client_secret: each is a failed check
    with a fix that is true, and doctor exits 1."""
    kr = Keyring(env, password="right")
    kr.stop()
    kr.start(password="wrong")      # stays locked
    idp = IdP(env, "--interval", "1")
    skewed = IdP(env, "--interval", "1", "--clock-offset", "3600",
                 name="skewed")
    # The provider calls itself 127.0.0.1; "localhost" is another issuer.
    wrong = idp.issuer.replace("127.0.0.1", "localhost")
    path = write_config(
        env, "default_profile = ok\n"
        "[profile ok]\nissuer = %s\nclient_id = tb-cli\n"
        "[profile wrongissuer]\nissuer = %s\nclient_id = tb-cli\n"
        "[profile clock]\nissuer = %s\nclient_id = tb-confidential\n"
        "client_secret = tb-secret\n" % (idp.issuer, wrong, skewed.issuer))
    env.start()
    os.chmod(path, 0o640)
    rc, out = doctor(env)
    check(rc == 1, "exit %d: %s" % (rc, out))

    c = find(out, "store", "ok")
    check(c["status"] == "fail" and "locked" in c["detail"], c)
    check(c.get("fix"), c)
    c = find(out, "discovery", "wrongissuer")
    check(c["status"] == "fail" and idp.issuer in c["detail"], c)
    check("issuer" in c["fix"], c)
    c = find(out, "clock", "clock")
    # An hour, to the second: time(2) may lag the provider's clock by a
    # tick across a second's boundary.
    m = re.search(r"(\d+) s behind", c["detail"])
    check(c["status"] == "fail" and m and 3598 <= int(m.group(1)) <= 3602,
          c)
    check("timedatectl set-ntp true" in c["fix"], c)
    # The well-set profile's provider agrees with our clock.
    check(find(out, "clock", "ok")["status"] == "ok", out)
    c = find(out, "config")
    check(c["status"] == "fail" and "client_secret" in c["detail"] and
          "0640" in c["detail"], c)
    check(c["fix"] == "chmod 600 %s" % path, c)

    # The text output: each problem and its fix, and the verdict.
    r = env.tb("doctor", timeout=120)
    check(r.returncode == 1, r.stdout + r.stderr)
    for words in ("FAIL  [ok] store", "FAIL  [wrongissuer] discovery",
                  "FAIL  [clock] clock", "FAIL  config",
                  "fix: chmod 600 %s" % path,
                  "problems found: see the fixes above"):
        check(words in r.stdout, "%r not in:\n%s" % (words, r.stdout))
    check("tb-secret" not in r.stdout + r.stderr, "the secret printed")

    # Fixed, the config check passes.
    os.chmod(path, 0o600)
    rc, out = doctor(env, "--profile", "ok")
    check(find(out, "config")["status"] == "ok", out)


def doctor_no_daemon(env):
    """authd cannot start (config.ini refused): the daemon check fails with
    authd's reason and the config check names the fix; exit 1."""
    path = write_config(env, "[profile a]\nissuer = https://idp.test\n"
                        "client_id = x\nclient_secret = s\n", mode=0o644)
    rc, out = doctor(env)
    check(rc == 1, "exit %d" % rc)
    c = find(out, "daemon")
    check(c["status"] == "fail" and "client_secret" in c["detail"], c)
    c = find(out, "config")
    check(c["status"] == "fail" and c["fix"] == "chmod 600 %s" % path, c)


TESTS = {f.__name__: f for f in (
    doctor_healthy, doctor_not_logged_in, doctor_problems, doctor_no_daemon)}

if __name__ == "__main__":
    run(TESTS)
