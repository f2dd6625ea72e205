"""Keys held by authd (RFC 7523): private_key_jwt client authentication
and the JWT-bearer machine login, against the test provider's
private_key_jwt client (tb-pkjwt) and JWT-bearer grant. The keys are made
here with openssl and written 0600; the provider gets only their public
halves. Run one with: python3 test_keys.py NAME."""
import json
import os
import subprocess
import urllib.request

from harness import AUTHD, IdP, Login, check, need, run, wait_for

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def config(env, text):
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "config.ini")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def new_key(env, name, kind="rsa", mode=0o600):
    """A private key file (mode) and its public half: (key, pub, text)."""
    need(subprocess.run(["which", "openssl"], capture_output=True)
         .returncode == 0, "openssl")
    key = os.path.join(env.home, name + ".pem")
    pub = os.path.join(env.dir, name + ".pub.pem")
    opts = (["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
            if kind == "rsa" else
            ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
    subprocess.run(["openssl", "genpkey"] + opts + ["-out", key],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub],
                   check=True, capture_output=True)
    os.chmod(key, mode)
    with open(key) as f:
        text = f.read()
    return key, pub, text


def key_lines(text):
    """The key's base64 lines: none may show up anywhere."""
    return [ln for ln in text.splitlines()
            if ln and not ln.startswith("-----") and len(ln) >= 32]


def no_key_in(texts, text):
    for t in texts:
        for ln in key_lines(text):
            check(ln not in t, "private key material leaked:\n%s" %
                  t[-2000:])


def login_device(env, idp, user="alice"):
    lg = Login(env, "--no-browser")
    uri, code = lg.code()
    idp.approve(uri, user=user, code=code)
    rc, out, err = lg.wait()
    check(rc == 0, "tb login exit %d: %s" % (rc, err))
    return out + err


def private_key_jwt(env):
    """client_auth = private_key_jwt: the device authorization, every
    poll, the refreshes, a token exchange and both revocations at logout
    authenticate with
    a new RS256 client assertion (the provider's log says private_key_jwt
    for each); the key never shows in logs, audit, status or list."""
    key, pub, text = new_key(env, "client")
    idp = IdP(env, "--interval", "1", "--at-ttl", "4", "--client-key", pub,
              "--client-key-id", "k1")
    audit = os.path.join(env.dir, "audit.log")
    config(env, "store = file\naudit_log = %s\n[profile default]\n"
           "issuer = %s\nclient_id = tb-pkjwt\nclient_key = %s\n"
           "client_key_id = k1\naudience = https://api.tb.test\n"
           "mint = token-exchange\n" % (audit, idp.issuer, key))
    d = env.start()
    shown = login_device(env, idp)
    # 4 s tokens: each tb token refreshes (the margin is longer).
    t1 = env.tb("token")
    t2 = env.tb("token")
    check(t1.returncode == 0 and t2.returncode == 0, t1.stderr + t2.stderr)
    check(t1.stdout != t2.stdout, "the token was not refreshed")
    check(idp.userinfo(t2.stdout.strip())[0] == 200, "token refused")
    # Token exchange (a project token) authenticates the same way.
    r = env.tb("token", "--project", "prj_123")
    check(r.returncode == 0, r.stderr)
    outs = [env.tb("status"), env.tb("--json", "status"),
            env.tb("--json", "list")]
    check(json.loads(outs[1].stdout)["logged_in"] is True, outs[1].stdout)
    r = env.tb("logout")
    check(r.returncode == 0 and "revoked at the server" in r.stderr,
          r.stderr)
    check(idp.userinfo(t2.stdout.strip())[0] == 401,
          "the access token survived the logout")
    sent = [e for e in idp.entries() if e.get("path") in (
        "/device/auth", "/token", "/token/revocation")]
    check(len(sent) >= 6, sent)
    for e in sent:
        check(e.get("client_id") == "tb-pkjwt" and
              e.get("client_assertion") is True, e)
        if e["status"] < 400:
            check(e.get("client_auth") == "private_key_jwt", e)
    kinds = {(e["path"], e.get("grant_type")) for e in sent
             if e["status"] == 200}
    for k in (("/device/auth", None),
              ("/token", "urn:ietf:params:oauth:grant-type:device_code"),
              ("/token", "refresh_token"),
              ("/token", "urn:ietf:params:oauth:grant-type:token-exchange"),
              ("/token/revocation", None)):
        check(k in kinds, "no successful %s %s: %s" % (k + (sent,)))
    revs = idp.entries("/token/revocation")
    check([e.get("token_type_hint") for e in revs] ==
          ["refresh_token", "access_token"] and
          all(e["status"] == 200 for e in revs), revs)
    d.stop()
    no_key_in([d.log_text(), open(d.log + ".stderr").read(), shown,
               open(audit).read()] + [o.stdout + o.stderr for o in outs],
              text)


def client_key_mode(env):
    """A client_key or assertion_key readable by others, or not ours, is
    refused like ssh refuses an identity file: the error names the file,
    its mode and the chmod, and quotes nothing of the key."""
    key, _, text = new_key(env, "client", mode=0o644)
    cfg = config(env, "[profile default]\nissuer = https://idp.test\n"
                 "client_id = c\nclient_key = %s\n" % key)
    r = subprocess.run([AUTHD, "--check-config", "--config", cfg],
                       capture_output=True, text=True, env=env.env)
    check(r.returncode == 1, "exit %d: %s" % (r.returncode, r.stderr))
    for want in (cfg + ":", "[profile default]", "client_key", key,
                 "0644", "chmod 600 " + key):
        check(want in r.stderr, "no %r in: %s" % (want, r.stderr))
    no_key_in([r.stdout + r.stderr], text)
    # The daemon does not start on it either, and says the same.
    d = env.start(wait=False)
    wait_for(lambda: d.proc.poll() is not None, "authd to refuse")
    err = open(d.log + ".stderr").read() + d.log_text()
    check(d.proc.returncode != 0 and "chmod 600 " + key in err, err)
    no_key_in([err], text)
    # 0600: accepted.
    os.chmod(key, 0o600)
    r = subprocess.run([AUTHD, "--check-config", "--config", cfg],
                       capture_output=True, text=True, env=env.env)
    check(r.returncode == 0, r.stderr)
    # The jwt-bearer key has the same rules; group-readable is too open.
    os.chmod(key, 0o640)
    config(env, "[profile m]\nissuer = https://idp.test\nclient_id = c\n"
           "grant = jwt-bearer\nassertion_key = %s\n"
           "assertion_subject = robot\n" % key)
    r = subprocess.run([AUTHD, "--check-config", "--config", cfg],
                       capture_output=True, text=True, env=env.env)
    check(r.returncode == 1 and "assertion_key" in r.stderr and
          "0640" in r.stderr and "chmod 600 " + key in r.stderr, r.stderr)
    # Settings that do not go together.
    os.chmod(key, 0o600)
    for body, want in (
            ("grant = jwt-bearer\n", "needs assertion_key"),
            ("assertion_subject = x\n", "are for grant = jwt-bearer"),
            ("client_auth = private_key_jwt\n", "needs client_key"),
            ("client_auth = basic\nclient_secret = s\nclient_key = %s\n" %
             key, "client_key is for client_auth = private_key_jwt"),
            ("grant = password\n", "unknown grant 'password'")):
        config(env, "[profile m]\nissuer = https://idp.test\nclient_id = c"
               "\n" + body)
        r = subprocess.run([AUTHD, "--check-config", "--config", cfg],
                           capture_output=True, text=True, env=env.env)
        check(r.returncode == 1 and want in r.stderr,
              "%r: %s" % (body, r.stderr))


def jwt_bearer_login(env):
    """grant = jwt-bearer: tb login logs in at once with an ES256
    assertion (no browser, no code, no device flow); status and list show
    the login; tokens are served; near expiry authd asserts again (there
    is no refresh token), and after the first token has expired a working
    one is served; logout revokes it. The key never shows."""
    key, pub, text = new_key(env, "robot", kind="ec")
    idp = IdP(env, "--at-ttl", "4", "--assertion-key", pub)
    audit = os.path.join(env.dir, "audit.log")
    config(env, "store = file\naudit_log = %s\n[profile default]\n"
           "issuer = %s\nclient_id = tb-cli\ngrant = jwt-bearer\n"
           "assertion_key = %s\nassertion_subject = robot-1\n" %
           (audit, idp.issuer, key))
    d = env.start()
    browser = os.path.join(env.dir, "browser-ran")
    r = env.tb("login", env={"BROWSER": "touch " + browser,
                             "DISPLAY": ":0"})
    check(r.returncode == 0, "tb login exit %d: %s" % (r.returncode,
                                                        r.stderr))
    check("code:" not in r.stderr and not os.path.exists(browser),
          "a code or a browser: %s" % r.stderr)
    check(idp.entries("/device/auth") == [], "the device flow ran")
    grants = idp.entries("/token", JWT_BEARER)
    check(len(grants) == 1 and grants[0]["status"] == 200 and
          grants[0].get("assertion_sub") == "robot-1" and
          grants[0].get("client_id") == "tb-cli", grants)
    st = json.loads(env.tb("--json", "status").stdout)
    check(st["logged_in"] is True and
          st.get("sub") == "robot-1", st)
    t1 = env.tb("token")
    check(t1.returncode == 0, t1.stderr)
    code, who = idp.userinfo(t1.stdout.strip())
    check(code == 200 and who["sub"] == "robot-1", (code, who))
    # Expired: the next token comes from a new assertion, no refresh.
    wait_for(lambda: idp.userinfo(t1.stdout.strip())[0] == 401,
             "the first token to expire", timeout=15)
    st = json.loads(env.tb("--json", "status").stdout)
    check(st["logged_in"] is True, "an expired machine login: %s" % st)
    t2 = env.tb("token")
    check(t2.returncode == 0 and t2.stdout != t1.stdout, t2.stderr)
    check(idp.userinfo(t2.stdout.strip())[0] == 200, "the new token")
    check(len(idp.entries("/token", JWT_BEARER)) >= 3,
          idp.entries("/token", JWT_BEARER))
    check(idp.entries("/token", "refresh_token") == [], "a refresh ran")
    check("JWT-bearer assertion" in d.log_text(), "no re-assertion logged")
    outs = [env.tb("status"), env.tb("--json", "status"),
            env.tb("--json", "list"), r]
    check(all(o.returncode == 0 for o in outs[:3]) and
          "robot-1" in outs[0].stdout, outs[0].stdout + outs[0].stderr)
    r = env.tb("logout")
    check(r.returncode == 0, r.stderr)
    check(idp.userinfo(t2.stdout.strip())[0] == 401, "still valid")
    r = env.tb("token")
    check(r.returncode == 3, "a token after logout: %s" % r.stderr)
    d.stop()
    no_key_in([d.log_text(), open(d.log + ".stderr").read(),
               open(audit).read()] + [o.stdout + o.stderr for o in outs],
              text)


def wrong_keys(env):
    """Keys the provider does not know: a JWT-bearer assertion it refuses
    and a private_key_jwt client assertion it refuses each end the login
    with a clear error naming what to check."""
    key, _, _ = new_key(env, "robot", kind="ec")
    _, other, _ = new_key(env, "other", kind="ec")
    ckey, _, _ = new_key(env, "client")
    _, cother, _ = new_key(env, "cother")
    idp = IdP(env, "--interval", "1", "--assertion-key", other,
              "--client-key", cother)
    config(env, "store = memory\n[profile default]\nissuer = %s\n"
           "client_id = tb-cli\ngrant = jwt-bearer\nassertion_key = %s\n"
           "assertion_subject = robot-1\n[profile pk]\nissuer = %s\n"
           "client_id = tb-pkjwt\nclient_key = %s\n" %
           (idp.issuer, key, idp.issuer, ckey))
    env.start()
    r = env.tb("login")
    check(r.returncode == 5, "exit %d: %s" % (r.returncode, r.stderr))
    check("refused the JWT-bearer assertion" in r.stderr and
          "assertion_key" in r.stderr, r.stderr)
    e = idp.entries("/token", JWT_BEARER)
    check(len(e) == 1 and e[0]["status"] == 400 and
          "signature" in e[0].get("assertion_error", ""), e)
    r = env.tb("--json", "status")
    check(json.loads(r.stdout)["logged_in"] is False, r.stdout)
    r = env.tb("--profile", "pk", "login", "--no-browser")
    check(r.returncode == 1, "exit %d: %s" % (r.returncode, r.stderr))
    check("does not accept this client" in r.stderr and
          "client_key" in r.stderr, r.stderr)
    e = idp.entries("/device/auth")
    check(len(e) == 1 and e[0]["status"] == 401 and
          e[0].get("client_assertion") is True, e)


TESTS = {f.__name__: f for f in (
    private_key_jwt, client_key_mode, jwt_bearer_login, wrong_keys)}

if __name__ == "__main__":
    run(TESTS)
