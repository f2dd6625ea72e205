"""Faults a real provider cannot produce on demand (tests/faults/faultd.py):
each gives a clear error, never a crash, and a cached token of another
profile is still served throughout. Run with: python3 test_faults.py."""
import json
import os
import signal
import subprocess
import sys
import time

from harness import IdP, Login, SRC, check, need, wait_for, run


def faultd(env, tls=None, name="faultd"):
    ready = os.path.join(env.dir, name + ".ready")
    log = os.path.join(env.dir, name + ".log")
    p = subprocess.Popen([sys.executable, os.path.join(
        SRC, "tests", "faults", "faultd.py"), ready, log] + list(tls or ()),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env.procs.append(p)
    wait_for(lambda: os.path.exists(ready), "the fault server")
    info = json.load(open(ready))
    if tls:
        return ("http://127.0.0.1:%d" % info["port"],
                "https://127.0.0.1:%d" % info["tls_port"], log)
    return "http://127.0.0.1:%d" % info["port"], log


def tls_and_redirects(env):
    """A provider whose certificate is not trusted is refused; the same
    one is used once its CA is named (CURL_CA_BUNDLE); a redirect is
    never followed, even to the same host."""
    import shutil
    openssl = shutil.which("openssl")
    need(openssl, "openssl")
    def selfsigned(name, san):
        cert = os.path.join(env.dir, name + ".pem")
        key = os.path.join(env.dir, name + ".key")
        r = subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048",
                            "-nodes", "-keyout", key, "-out", cert, "-days",
                            "1", "-subj", "/CN=authd-test", "-addext",
                            "subjectAltName=" + san],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "openssl: %s" % r.stderr)
        return cert, key

    cert, key = selfsigned("cert", "IP:127.0.0.1")
    base, tbase, log = faultd(env, (cert, key))
    # A certificate for another name, from a CA authd will trust.
    wcert, wkey = selfsigned("wrong", "DNS:idp.example.com")
    _, wbase, _ = faultd(env, (wcert, wkey), name="faultd-wrong")
    bundle = os.path.join(env.dir, "bundle.pem")
    with open(bundle, "w") as f:
        f.write(open(cert).read() + open(wcert).read())
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d)
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("store = memory\n"
                "[profile tls]\nissuer = %s/ok\nclient_id = x\n"
                "[profile wrongname]\nissuer = %s/ok\nclient_id = x\n"
                "[profile redirect]\nissuer = %s/redirect\n"
                "client_id = x\n" % (tbase, wbase, base))
    daemon = env.start()
    r = env.tb("login", "--no-browser", "--profile", "tls", timeout=60)
    check(r.returncode == 1 and "certificate" in r.stderr.lower(),
          "untrusted TLS: exit %d: %s" % (r.returncode, r.stderr))
    print("untrusted  -> %s" % r.stderr.split("\n")[0])
    r = env.tb("login", "--no-browser", "--profile", "redirect", timeout=60)
    check(r.returncode == 1 and "302" in r.stderr,
          "redirect: exit %d: %s" % (r.returncode, r.stderr))
    # Not followed: the ok issuer's document was never asked for over
    # plain http (the TLS attempts never reached HTTP at all).
    gets = [json.loads(line) for line in open(log)]
    check(not any(e["path"].startswith("/ok/") for e in gets),
          "a request went past the refusal: %s" % gets)
    print("redirect   -> %s" % r.stderr.split("\n")[0])
    daemon.stop()
    # With the CA named, the same provider gets as far as the code; one
    # whose certificate names another host is still refused.
    daemon = env.start(env={"CURL_CA_BUNDLE": bundle})
    r = env.tb("login", "--no-browser", "--profile", "wrongname",
               timeout=60)
    check(r.returncode == 1 and "127.0.0.1" in r.stderr and
          "certificate" in r.stderr.lower(), "a certificate for another "
          "name: exit %d: %s" % (r.returncode, r.stderr))
    print("wrongname  -> %s" % r.stderr.split("\n")[0])
    lg = Login(env, "--no-browser", "--profile", "tls")
    uri, code = lg.code()
    check(uri.startswith(tbase + "/ok/") and code == "FAUL-TTTT", uri)
    lg.proc.send_signal(signal.SIGINT)
    lg.wait()
    daemon.stop()


def fault_matrix(env):
    idp = IdP(env, "--interval", "1")
    base, log = faultd(env)
    modes = ["5xx", "hang", "badjson", "huge", "reset", "ratelimit",
             "slowdown", "lying", "html", "badurl", "hugedisco",
             "wrongiss", "busy5xx"]
    cfg = ("store = memory\n[profile good]\nissuer = %s\nclient_id = "
           "tb-cli\naudience = https://api.tb.test\n" % idp.issuer)
    for m in modes:
        cfg += "[profile %s]\nissuer = %s/%s\nclient_id = x\n" % (
            m, base, m)
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d)
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write(cfg)
    daemon = env.start()
    lg = Login(env, "--no-browser", "--profile", "good")
    uri, code = lg.code()
    idp.approve(uri, code=code)
    check(lg.wait()[0] == 0, "login")
    good = env.tb("--profile", "good", "token", "--project", "prj_123")
    check(good.returncode == 0, good.stderr)

    expect = {
        "5xx": (1, "HTTP 503"),
        "hang": (1, "timed out"),
        "badjson": (1, "not JSON"),
        "huge": (1, "larger than"),
        "reset": (1, ""),
        "lying": (1, "no device_authorization_endpoint"),
        "html": (1, "not a JSON object"),
        "badurl": (1, "only https://"),
        "hugedisco": (1, "larger than 131072"),
        "wrongiss": (1, "issuer"),
    }
    procs = {}
    for m in expect:
        procs[m] = Login(env, "--no-browser", "--profile", m)
    for m, (rc_want, words) in expect.items():
        rc, out, err = procs[m].wait(timeout=60)
        check(rc == rc_want, "%s: exit %d: %s" % (m, rc, err))
        check(err.startswith("tb: ") and words in err,
              "%s: unclear error: %r" % (m, err))
        check("{" not in err.split("\n")[0] or m == "badjson",
              "%s: raw JSON in the message: %r" % (m, err))
        # The cached token of the good profile is served all along.
        r = env.tb("--profile", "good", "--json", "token", "--project",
                   "prj_123")
        check(r.returncode == 0 and json.loads(r.stdout)["cached"],
              "%s: the cache stopped serving" % m)
        print("%-9s -> %s" % (m, err.split("\n")[0]))

    # 429, and 503, with Retry-After: polls wait at least that long.
    def retry_after(mode):
        lg = Login(env, "--no-browser", "--profile", mode)
        lg.code()
        wait_for(lambda: "retrying in" in lg.stderr(), "the retry notice")

        def polls():
            return [json.loads(line)["t"] for line in open(log)
                    if '"%s"' % mode in line and "/token" in line]
        wait_for(lambda: len(polls()) >= 3, "three polls", timeout=30)
        t = polls()
        check(t[1] - t[0] >= 2950, "%s: Retry-After ignored: %s" %
              (mode, [b - a for a, b in zip(t, t[1:])]))
        lg.proc.send_signal(signal.SIGINT)
        lg.wait()
    retry_after("ratelimit")
    retry_after("busy5xx")

    # A slow_down storm: the interval grows by 5 s each time and the code
    # expires cleanly.
    lg = Login(env, "--no-browser", "--profile", "slowdown")
    rc, out, err = lg.wait(timeout=60)
    check(rc == 6 and "expired" in err, "slowdown: exit %d: %s" % (rc, err))
    polls = [json.loads(line)["t"] for line in open(log)
             if '"slowdown"' in line and "/token" in line]
    gaps = [b - a for a, b in zip(polls, polls[1:])]
    check(len(polls) <= 4 and all(g >= 5950 for g in gaps[:1]),
          "slow_down not honoured: %d polls, gaps %s" % (len(polls), gaps))
    check(daemon.proc.poll() is None, "the daemon died")


def fault_config(env, body):
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write(body)


def record_path(env, profile):
    return os.path.join(env.home, ".state", "authd", profile + ".json")


def fault_login(env, profile):
    lg = Login(env, "--no-browser", "--profile", profile)
    lg.code()
    return lg.wait()


def latin1_identity(env):
    """A name that is not UTF-8 (a Latin-1 byte in the id_token's and in
    userinfo's claims) never breaks the login or status: the identity is
    stored with U+FFFD in its place, and it stays readable across a
    restart. A record stored with such a byte by an earlier authd is
    repaired when read."""
    base, log = faultd(env)
    fault_config(env, "store = file\n[profile latin]\nissuer = %s/latin1\n"
                 "client_id = x\n" % base)
    daemon = env.start()
    rc, _, err = fault_login(env, "latin")
    check(rc == 0, "tb login exit %d: %s" % (rc, err))
    bad = "\ufffd"

    def status_ok():
        r = env.tb("--profile", "latin", "status")
        check(r.returncode == 0, "tb status exit %d: %s" % (r.returncode,
                                                             r.stderr))
        check("Andr" + bad in r.stdout, "the name: %r" % r.stdout)
        r = env.tb("--profile", "latin", "--json", "status")
        check(r.returncode == 0, "tb --json status exit %d: %s" % (
            r.returncode, r.stderr))
        st = json.loads(r.stdout)
        check(st["logged_in"] and st["name"] == "Andr" + bad and
              st["sub"] == "s" + bad + "b" and
              st["preferred_username"] == "J" + bad + "rg" and
              st["email"] == "j" + bad + "rg@example.test", st)
        return st
    status_ok()
    # Stored repaired: the record is UTF-8 text.
    raw = open(record_path(env, "latin"), "rb").read()
    raw.decode("utf-8")
    check(b"Andr\xef\xbf\xbd" in raw, "not stored repaired: %r" % raw)
    daemon.stop()
    env.start()
    check(status_ok()["source"] == "store", "not loaded from the store")
    # A record an earlier authd stored with the raw byte.
    env.daemons[-1].stop()
    path = record_path(env, "latin")
    rec = json.loads(raw)
    text = json.dumps(rec).replace("Andr\\ufffd", "Andr\udce9")
    with open(path, "wb") as f:
        f.write(text.encode("utf-8", "surrogateescape"))
    check(b"Andr\xe9\"" in open(path, "rb").read(), "fixture")
    env.start()
    check(status_ok()["source"] == "store", "not loaded from the store")


def rotated_refresh_no_access(env):
    """A refresh reply with a rotated refresh token but no access token is
    an error for the caller, but the new refresh token replaces the old
    one (which the provider has retired) and is saved: the next refresh
    sends it, and it survives a restart."""
    base, log = faultd(env)
    fault_config(env, "store = file\n[profile rot]\nissuer = %s/rotate\n"
                 "client_id = x\n" % base)
    daemon = env.start()
    rc, _, err = fault_login(env, "rot")
    check(rc == 0, "tb login exit %d: %s" % (rc, err))
    path = record_path(env, "rot")
    check(json.load(open(path))["refresh_token"] == "rt-1", "login record")
    # The 30 s access token is within the refresh skew: this refreshes.
    r = env.tb("--profile", "rot", "token")
    check(r.returncode != 0 and "access_token" in r.stderr,
          "a reply without an access token: exit %d: %s" % (r.returncode,
                                                            r.stderr))
    wait_for(lambda: json.load(open(path))["refresh_token"] == "rt-2",
             "the rotated refresh token in the store", timeout=10)
    r = env.tb("--profile", "rot", "token")
    check(r.returncode == 0 and r.stdout.strip() == "at-2",
          "the next refresh: exit %d: %s%s" % (r.returncode, r.stdout,
                                               r.stderr))
    sent = [json.loads(line).get("refresh_token") for line in open(log)
            if '"grant_type": "refresh_token"' in line]
    check(sent == ["rt-1", "rt-2"], "refresh tokens sent: %s" % sent)
    wait_for(lambda: json.load(open(path))["refresh_token"] == "rt-3",
             "rt-3 in the store", timeout=10)
    daemon.stop()
    env.start()
    r = env.tb("--profile", "rot", "token")
    check(r.returncode == 0 and r.stdout.strip() == "at-2",
          "after a restart: exit %d: %s" % (r.returncode, r.stderr))


TESTS = {f.__name__: f for f in (fault_matrix, tls_and_redirects,
                                 latin1_identity, rotated_refresh_no_access)}

if __name__ == "__main__":
    run(TESTS)
