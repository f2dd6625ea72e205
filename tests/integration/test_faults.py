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
    # The 4 s access token is within its refresh margin: this refreshes.
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


def warn_lines(daemon, words):
    return [line for line in daemon.log_text().splitlines()
            if " warn: " in line and words in line]


def refused_refresh(env):
    """A refresh answered 400 or 401 without an OAuth error, with the
    refresh token the provider issued at login, is a refused grant: the
    login is dropped, and tb token (exit 3, hint: run 'tb login'), tb
    status (exit 3) and tb status --check (exit 3) agree, whichever comes
    first. A 503 or an HTML page from a proxy never logs the user out.
    Every refresh failure is logged at warn."""
    base, log = faultd(env)
    modes = ("refuse400", "refuse401", "refresh503", "refusehtml")
    fault_config(env, "store = memory\n" + "".join(
        "[profile %s]\nissuer = %s/%s\nclient_id = x\n" % (m, base, m)
        for m in modes))
    daemon = env.start()
    for m in modes:
        rc, _, err = fault_login(env, m)
        check(rc == 0, "%s: tb login exit %d: %s" % (m, rc, err))

    def token_refused(m):
        r = env.tb("--profile", m, "token")
        check(r.returncode == 3 and "no longer accepts your login" in
              r.stderr and "HTTP %s" % m[-3:] in r.stderr and
              "hint: run 'tb login'" in r.stderr and "proxy" not in
              r.stderr, "%s: tb token exit %d: %s" % (m, r.returncode,
                                                       r.stderr))
        check(r.stdout == "", "%s: tb token printed %r" % (m, r.stdout))

    def status_out(m):
        r = env.tb("--profile", m, "status")
        check(r.returncode == 3 and "not logged in" in r.stderr,
              "%s: tb status exit %d: %s%s" % (m, r.returncode, r.stdout,
                                               r.stderr))

    def check_out(m):
        r = env.tb("--profile", m, "status", "--check")
        check(r.returncode == 3 and "tb: not " in r.stderr,
              "%s: tb status --check exit %d: %s%s" % (
                  m, r.returncode, r.stdout, r.stderr))

    # tb token first.
    token_refused("refuse400")
    status_out("refuse400")
    check_out("refuse400")
    r = env.tb("--profile", "refuse400", "token")
    check(r.returncode == 3 and "hint: run 'tb login'" in r.stderr,
          "refuse400: tb token again: exit %d: %s" % (r.returncode,
                                                      r.stderr))
    # tb status --check first: it refreshes, and is refused.
    check_out("refuse401")
    status_out("refuse401")
    r = env.tb("--profile", "refuse401", "token")
    check(r.returncode == 3 and "hint: run 'tb login'" in r.stderr,
          "refuse401: tb token exit %d: %s" % (r.returncode, r.stderr))
    for m, status in (("refuse400", 400), ("refuse401", 401)):
        check(warn_lines(daemon, "profile %s: refresh refused (HTTP %d "
                         "without an OAuth error): logged out" % (m, status)),
              "%s: no warning in the log" % m)
        refreshes = [json.loads(line) for line in open(log)
                     if '"%s"' % m in line and "refresh_token" in line]
        check(len(refreshes) == 1, "%s: %d refreshes: the refused login "
              "was tried again" % (m, len(refreshes)))

    # A 503 and a proxy's HTML page: errors, the login stays.
    for m, words in (("refresh503", "HTTP 503"), ("refusehtml", "HTML")):
        for _ in range(2):
            r = env.tb("--profile", m, "token")
            check(r.returncode == 1 and words in r.stderr,
                  "%s: tb token exit %d: %s" % (m, r.returncode, r.stderr))
        r = env.tb("--profile", m, "status")
        check(r.returncode == 0, "%s: logged out by a transient error: "
              "exit %d: %s" % (m, r.returncode, r.stderr))
        r = env.tb("--profile", m, "status", "--check")
        check(r.returncode == 1, "%s: tb status --check exit %d: %s" % (
            m, r.returncode, r.stderr))
        check(warn_lines(daemon, "profile %s: refresh failed" % m),
              "%s: the failure is not logged at warn" % m)
    r = env.tb("--json", "--profile", "refusehtml", "token")
    e = json.loads(r.stdout)["error"]
    check(e["code"] == "idp_not_json" and "proxy" in e.get("hint", ""), e)
    r = env.tb("--json", "--profile", "refresh503", "token")
    e = json.loads(r.stdout)["error"]
    check(e["code"] == "idp_error" and "proxy" not in e.get("hint", ""), e)


def hints_where_true(env):
    """"A proxy may be answering instead" only for a reply that is not JSON
    at all (an HTML page): not for a minted token authd refuses, nor for a
    4xx without an OAuth error. unauthorized_client names the grant and
    says it must be enabled for the client; invalid_client points at the
    client settings; a public client's refused revocation says the
    provider wants client authentication."""
    idp = IdP(env, "--interval", "1")
    base, log = faultd(env)
    fault_config(env, "store = memory\n[profile good]\nissuer = %s\n"
                 "client_id = tb-cli\naudience = https://api.tb.test\n"
                 "mint = endpoint\nmint_endpoint = %s/{purpose}/mint\n"
                 "[profile nodevice]\nissuer = %s/nodevice\nclient_id = x\n"
                 "[profile html]\nissuer = %s/html\nclient_id = x\n"
                 "[profile stranger]\nissuer = %s\nclient_id = nosuch\n"
                 "[profile refuse401]\nissuer = %s/refuse401\n"
                 "client_id = x\n" % (idp.issuer, base, base, base,
                                      idp.issuer, base))
    env.start()
    lg = Login(env, "--no-browser", "--profile", "good")
    uri, code = lg.code()
    idp.approve(uri, code=code)
    check(lg.wait()[0] == 0, "login")

    def tb_err(*args):
        r = env.tb(*args)
        j = env.tb("--json", *args)
        return r.returncode, r.stderr, json.loads(j.stdout)["error"]

    # A minted token authd refuses (another audience), and a bare 403.
    rc, err, e = tb_err("--profile", "good", "token", "--project",
                        "prj_123", "--purpose", "badmint")
    check(rc == 1 and "audience is not https://api.tb.test" in err and
          "proxy" not in err and e["code"] == "idp_bad_reply", (rc, err, e))
    rc, err, e = tb_err("--profile", "good", "token", "--project",
                        "prj_123", "--purpose", "bare403")
    check(rc == 1 and "HTTP 403" in err and "proxy" not in err and
          e["code"] == "idp_bad_reply", (rc, err, e))
    # An HTML page instead of an answer: there it is said.
    rc, err, e = tb_err("--profile", "good", "token", "--project",
                        "prj_123", "--purpose", "html403")
    check(rc == 1 and "HTML" in err and "hint: " in err and "proxy" in err
          and e["code"] == "idp_not_json", (rc, err, e))
    rc, err, e = tb_err("--profile", "html", "login", "--no-browser")
    check(rc == 1 and "proxy" in e.get("hint", "") and
          e["code"] == "idp_not_json", (rc, err, e))

    # unauthorized_client at the device authorization endpoint.
    rc, err, e = tb_err("--profile", "nodevice", "login", "--no-browser")
    check(rc == 5 and e["code"] == "unauthorized_client" and
          "device authorization grant" in e["message"] and
          "device_code" in e["message"] and
          "enabled for this client_id" in e.get("hint", "") and
          "hint: " in err, (rc, err, e))
    # invalid_client: the real provider does not know the client.
    rc, err, e = tb_err("--profile", "stranger", "login", "--no-browser")
    check(rc == 1 and e["code"] == "invalid_client" and
          "client_id" in e.get("hint", "") and "hint: " in err,
          (rc, err, e))

    # A public client whose revocation is refused with a bare 401.
    rc, _, err = fault_login(env, "refuse401")
    check(rc == 0, "tb login exit %d: %s" % (rc, err))
    r = env.tb("--profile", "refuse401", "logout")
    check(r.returncode == 1 and "requires client authentication for "
          "revocation" in r.stderr and "public client" in r.stderr and
          "unexpected" not in r.stderr, "tb logout exit %d: %s" % (
              r.returncode, r.stderr))


TESTS = {f.__name__: f for f in (fault_matrix, tls_and_redirects,
                                 latin1_identity, rotated_refresh_no_access,
                                 refused_refresh, hints_where_true)}

if __name__ == "__main__":
    run(TESTS)
