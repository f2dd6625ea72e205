"""Provider presets (provider = github, google, microsoft, auth0, gitlab,
keycloak) end to end, each against its loopback personality
(tests/faults/providers.py) or, for the standards-following ones, the
test provider (tests/idp). A preset's fixed endpoints point at the real
provider; the tests override them (and the issuer) with the explicit
keys, as docs/PROVIDERS.md says. Each test is one row of the outcome
table in docs/PROVIDERS.md: login, token, refresh, mint, logout's
revocation. Run one with: python3 test_providers.py NAME."""
import base64
import json
import os
import subprocess
import sys

from harness import IdP, Login, SRC, check, wait_for, run


def personalities(env):
    """Start tests/faults/providers.py; (base URL, log path)."""
    ready = os.path.join(env.dir, "providers.ready")
    log = os.path.join(env.dir, "providers.log")
    p = subprocess.Popen([sys.executable, os.path.join(
        SRC, "tests", "faults", "providers.py"), ready, log],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env.procs.append(p)
    wait_for(lambda: os.path.exists(ready), "the provider personalities")
    return "http://127.0.0.1:%d" % json.load(open(ready))["port"], log


def requests(log, prefix, method=None):
    """The personality's log entries under a path prefix."""
    out = []
    for line in open(log):
        e = json.loads(line)
        if e["path"].startswith(prefix) and (method is None or
                                            e["method"] == method):
            out.append(e)
    return out


def config(env, body, store="file"):
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "config.ini")
    with open(path, "w") as f:
        f.write("store = %s\n%s" % (store, body))
    os.chmod(path, 0o600)


def login(env, profile, want=0):
    """tb login for profile; the personality approves by itself."""
    lg = Login(env, "--no-browser", "--profile", profile)
    if want == 0:
        lg.code()
    rc, out, err = lg.wait(timeout=90)
    check(rc == want, "tb login --profile %s: exit %d (want %d): %s" % (
        profile, rc, want, err))
    return err


def status(env, profile):
    r = env.tb("--profile", profile, "--json", "status")
    return json.loads(r.stdout)


def token(env, profile, *args):
    r = env.tb("--profile", profile, "token", *args)
    check(r.returncode == 0, "tb token --profile %s: exit %d: %s" % (
        profile, r.returncode, r.stderr))
    return r.stdout.strip()


def mint_refused(env, profile):
    """mint = none (the preset's default): the clear "cannot" error."""
    r = env.tb("--profile", profile, "token", "--audience",
               "https://api.tb.test", "--project", "p1")
    check(r.returncode != 0 and "minting is off" in r.stderr,
          "mint: exit %d: %s" % (r.returncode, r.stderr))


def logout(env, profile):
    r = env.tb("--profile", profile, "--json", "logout")
    check(r.stdout.startswith("{"), "logout: %s %s" % (r.stdout, r.stderr))
    return r.returncode, json.loads(r.stdout)


def claims(tok):
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def github_preset(env):
    """A GitHub-preset profile (provider and client_id, the endpoints
    pointed at the personality) logs in without discovery: JSON asked for
    on every OAuth POST, GitHub's own scopes, errors in 200 replies, the
    slow_down interval GitHub names (2 s, not 1 + 5), the identity from
    GET /user with GitHub's headers; the token, which never expires and
    has no refresh token, is served, also after a restart; minting is
    off; logout says the revocation is unsupported."""
    base, log = personalities(env)
    g = base + "/github"
    config(env, "[profile gh]\nprovider = github\nclient_id = Iv1.8a61f9b3\n"
           "issuer = %s\n"
           "device_authorization_endpoint = %s/login/device/code\n"
           "token_endpoint = %s/login/oauth/access_token\n"
           "userinfo_endpoint = %s/user\n" % (g, g, g, g))
    d = env.start()
    login(env, "gh")
    st = status(env, "gh")
    check(st["logged_in"] and st["preferred_username"] == "octocat" and
          st["sub"] == "583231" and st["email"] == "octocat@github.test",
          st)
    check(token(env, "gh") == "gho_16C7e42F292c6912E7710c838347Ae178B4a",
          "the user token")
    gets = requests(log, "/", "GET")
    check(not any(".well-known" in e["path"] for e in gets),
          "discovery was asked for: %s" % gets)
    posts = requests(log, "/github/", "POST")
    check(posts and all(e["accept"] == "application/json" for e in posts),
          "a POST without Accept: application/json: %s" % posts)
    dev = posts[0]
    check(dev["path"] == "/github/login/device/code" and
          dev["form"]["scope"] == "read:user user:email" and
          dev["form"]["client_id"] == "Iv1.8a61f9b3", dev)
    polls = [e for e in posts if e["path"].endswith("/access_token")]
    check(len(polls) == 3, "polls: %s" % polls)
    gap = polls[2]["t"] - polls[1]["t"]
    check(1900 <= gap < 4500, "slow_down's interval (2 s) not used: %d ms"
          % gap)
    user = requests(log, "/github/user")
    check(len(user) == 1 and user[0]["ua"].startswith("authd/") and
          user[0]["accept"] == "application/vnd.github+json" and
          user[0]["api_version"] == "2022-11-28" and
          user[0]["bearer"].startswith("gho_"), user)
    r = env.tb("--profile", "gh", "--json", "status", "--check")
    check(r.returncode == 0 and json.loads(r.stdout)["check"] == "ok",
          "status --check: %s %s" % (r.stdout, r.stderr))
    mint_refused(env, "gh")
    # No expiry: still served after a restart, nothing refreshed.
    d.stop()
    env.start()
    check(token(env, "gh").startswith("gho_"), "after a restart")
    rc, out = logout(env, "gh")
    check(rc == 0 and out["revocation"] == "unsupported" and
          "revocation endpoint" in out.get("revocation_error", ""), out)
    check(env.tb("--profile", "gh", "token").returncode == 3,
          "still logged in after logout")
    # The text says it plainly too.
    login(env, "gh")
    r = env.tb("--profile", "gh", "logout")
    check(r.returncode == 0 and "offers no revocation" in r.stderr,
          r.stderr)


def google_preset(env):
    """Google: fixed endpoints (no discovery), verification_url, the
    client secret in the form of every token request (client_auth post),
    428 for a pending code; the 4 s token is refreshed (no new refresh
    token), the login revoked at logout."""
    base, log = personalities(env)
    g = base + "/google"
    config(env, "[profile g]\nprovider = google\nclient_id = google-client\n"
           "client_secret = google-secret\nissuer = %s\n"
           "device_authorization_endpoint = %s/device/code\n"
           "token_endpoint = %s/token\nrevocation_endpoint = %s/revoke\n"
           "userinfo_endpoint = %s/userinfo\njwks_uri = %s/certs\n" %
           (g, g, g, g, g, g))
    env.start()
    lg = Login(env, "--no-browser", "--profile", "g")
    uri, code = lg.code()
    check(uri == g + "/device", "verification_url: %s" % uri)
    rc, _, err = lg.wait(timeout=60)
    check(rc == 0, "login: %s" % err)
    st = status(env, "g")
    check(st["email"] == "alice@gmail.test" and st["name"] == "Alice", st)
    dev = requests(log, "/google/device/code")[0]
    check(dev["form"]["scope"] == "openid email profile", dev)
    polls = [e for e in requests(log, "/google/token") if
             e["form"]["grant_type"].endswith("device_code")]
    check(len(polls) == 3 and all(e["form"].get("client_secret") ==
                                  "google-secret" for e in polls), polls)
    check(not any(".well-known" in e["path"] for e in requests(log, "/")),
          "discovery was asked for")
    # Within the refresh skew: this refreshes.
    check(token(env, "g") == "ya29.google-at-2", "refreshed token")
    ref = [e for e in requests(log, "/google/token") if
           e["form"]["grant_type"] == "refresh_token"]
    check(len(ref) == 1 and ref[0]["form"]["client_secret"] ==
          "google-secret" and ref[0]["form"]["refresh_token"] ==
          "1//google-rt", ref)
    check(token(env, "g") == "ya29.google-at-2", "served again")
    check(len([e for e in requests(log, "/google/token") if
               e["form"]["grant_type"] == "refresh_token"]) == 1,
          "refreshed twice")
    mint_refused(env, "g")
    rc, out = logout(env, "g")
    check(rc == 0 and out["revocation"] == "revoked", out)
    revs = requests(log, "/google/revoke")
    check([e["form"]["token"] for e in revs] ==
          ["1//google-rt", "ya29.google-at-2"], revs)


def entra_preset(env):
    """Microsoft Entra ID: discovery per tenant whose issuer is the
    {tenantid} template (accepted for the configured tenant), numbers as
    strings, a refresh without 'resource'; a declined login is a denial;
    a Conditional Access block says what to do; logout: unsupported."""
    base, log = personalities(env)
    e = base + "/entra"
    config(env, "[profile ms]\nprovider = microsoft\nclient_id = 04b07795\n"
           "issuer = %s/common/v2.0\n"
           "[profile declined]\nprovider = microsoft\nclient_id = 04b07795\n"
           "tenant = declined\nissuer = %s/declined/v2.0\n"
           "[profile blocked]\nprovider = microsoft\nclient_id = 04b07795\n"
           "tenant = blocked\nissuer = %s/blocked/v2.0\n" % (e, e, e))
    env.start()
    login(env, "ms")
    st = status(env, "ms")
    check(st["logged_in"] and st["preferred_username"] ==
          "alice@contoso.test" and st["issuer"] == e + "/common/v2.0", st)
    dev = requests(log, "/entra/common/oauth2/v2.0/devicecode")[0]
    check(dev["form"]["scope"] == "openid offline_access profile email",
          dev)
    # "expires_in": "4": refreshed now, without RFC 8707's resource.
    check(token(env, "ms") == "entra-at-2", "refreshed token")
    ref = [x for x in requests(log, "/entra/common/oauth2/v2.0/token") if
           x["form"]["grant_type"] == "refresh_token"]
    check(len(ref) == 1 and "resource" not in ref[0]["form"] and
          ref[0]["form"]["refresh_token"] == "entra-rt-1", ref)
    mint_refused(env, "ms")
    err = login(env, "declined", want=5)
    check("authorization_declined" in err and "denied" in err, err)
    err = login(env, "blocked", want=5)     # denied by policy
    check("AADSTS53003" in err and "blocked by Conditional Access" in err
          and "administrator" in err, err)
    rc, out = logout(env, "ms")
    check(rc == 0 and out["revocation"] == "unsupported", out)


def auth0_preset(env):
    """Auth0: the issuer's trailing slash, 403 for a pending code, the
    API's audience sent with the device request (device_params), so the
    user token is a JWT for it; a rotating refresh; logout revokes the
    refresh token only and says the access token cannot be."""
    base, log = personalities(env)
    a = base + "/auth0/"
    config(env, "[profile a0]\nprovider = auth0\nclient_id = a0-cli\n"
           "issuer = %s\ndevice_params = audience=https://api.tb.test\n" % a)
    env.start()
    login(env, "a0")
    dev = requests(log, "/auth0/oauth/device/code")[0]
    check(dev["form"]["audience"] == "https://api.tb.test" and
          dev["form"]["scope"] == "openid offline_access profile email", dev)
    tok = token(env, "a0")     # 4 s: refreshed
    c = claims(tok)
    check(c["aud"] == ["https://api.tb.test"] and c["n"] == 2, c)
    check(token(env, "a0") == tok, "served again")
    mint_refused(env, "a0")
    rc, out = logout(env, "a0")
    check(rc == 0 and out["revocation"] == "revoked" and
          out["revoked"]["refresh_token"] == "revoked" and
          out["revoked"]["access_token"].startswith("unsupported"), out)
    revs = requests(log, "/auth0/oauth/revoke")
    check([x["form"]["token"] for x in revs] == ["auth0-rt-2"], revs)


def gitlab_preset(env):
    """GitLab: discovery on the instance, its own scopes (no
    offline_access, which it refuses), a rotating refresh, revocation."""
    base, log = personalities(env)
    config(env, "[profile gl]\nprovider = gitlab\nclient_id = gl-cli\n"
           "issuer = %s/gitlab\n" % base)
    env.start()
    login(env, "gl")
    dev = requests(log, "/gitlab/oauth/authorize_device")[0]
    check(dev["form"]["scope"] == "openid profile email read_user", dev)
    check(token(env, "gl") == "glpat-at-2", "refreshed token")
    check(token(env, "gl") == "glpat-at-2", "served again")
    mint_refused(env, "gl")
    rc, out = logout(env, "gl")
    check(rc == 0 and out["revocation"] == "revoked", out)
    revs = requests(log, "/gitlab/oauth/revoke")
    check([x["form"]["token"] for x in revs] == ["glrt-2", "glpat-at-2"],
          revs)


def bare400_refresh(env):
    """A refresh refused with a bare HTTP 400 (no body): an honest error
    naming the status, the daemon keeps serving, nothing crashes."""
    base, log = personalities(env)
    config(env, "[profile b]\nprovider = generic\nclient_id = b-cli\n"
           "issuer = %s/bare400\n" % base)
    d = env.start()
    login(env, "b")
    r = env.tb("--profile", "b", "token")
    print("bare 400 -> exit %d: %s" % (r.returncode, r.stderr.strip()))
    check(r.returncode != 0 and "HTTP 400" in r.stderr, "exit %d: %s" % (
        r.returncode, r.stderr))
    check(d.proc.poll() is None, "the daemon died")
    r = env.tb("--profile", "b", "--json", "status")
    check(r.stdout.startswith("{"), r.stderr)


def discovery_presets(env):
    """The standards-following providers (the keycloak and okta presets):
    with its issuer pointed at the test provider, each discovers
    everything, logs in, refreshes its user token (rotating; 4 s tokens
    are always within the refresh margin), mints by token exchange (mint
    = auto: discovery lists the grant) and revokes at logout."""
    idp = IdP(env, "--interval", "1", "--at-ttl", "4")
    config(env, "[profile kc]\nprovider = keycloak\nclient_id = tb-cli\n"
           "issuer = %s\naudience = https://api.tb.test\n"
           "[profile okta]\nprovider = okta\nclient_id = tb-cli\n"
           "issuer = %s\naudience = https://api.tb.test\n" %
           (idp.issuer, idp.issuer), store="memory")
    env.start()
    refreshes = lambda: [e for e in idp.entries("/token", "refresh_token")
                         if e.get("resource") is None]
    for name in ("kc", "okta"):
        lg = Login(env, "--no-browser", "--profile", name)
        uri, code = lg.code()
        idp.approve(uri, code=code)
        rc, _, err = lg.wait()
        check(rc == 0, "%s login: %s" % (name, err))
        check(status(env, name)["preferred_username"] == "alice",
              "%s identity" % name)
        n = len(refreshes())
        first = token(env, name)
        second = token(env, name)
        check(first != second and len(refreshes()) >= n + 2,
              "%s: the user token was not refreshed" % name)
        check(all(e["status"] == 200 for e in refreshes()),
              "%s: a refresh failed: %s" % (name, refreshes()))
        r = env.tb("--profile", name, "--json", "token", "--project",
                   "prj_123")
        check(r.returncode == 0, r.stderr)
        j = json.loads(r.stdout)
        check(j["strategy"] == "token-exchange" and
              claims(j["token"])["aud"] == "https://api.tb.test", j)
        rc, out = logout(env, name)
        check(rc == 0 and out["revocation"] == "revoked", out)


TESTS = {f.__name__: f for f in (github_preset, google_preset, entra_preset,
                                 auth0_preset, gitlab_preset,
                                 bare400_refresh, discovery_presets)}

if __name__ == "__main__":
    run(TESTS)
