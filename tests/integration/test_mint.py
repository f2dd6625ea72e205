"""Project-scoped tokens against the test provider: the strategies, the
cache and its claim checks, single flight, refresh-ahead, tb exec, tb list,
the audit log, and secrets kept out of every output. Run one with:
python3 test_mint.py NAME."""
import base64
import json
import os
import signal
import stat
import subprocess
import time

from harness import IdP, Login, TB, check, wait_for, run

API = "https://api.tb.test"
TX = "urn:ietf:params:oauth:grant-type:token-exchange"


def claims(tok):
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def config(env, idp, extra="", profile_extra="", store="memory"):
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("store = %s\n%s\n[profile default]\nissuer = %s\n"
                "client_id = tb-cli\naudience = %s\n%s\n" %
                (store, extra, idp.issuer, API, profile_extra))


def login(env, idp, user="alice"):
    lg = Login(env, "--no-browser")
    uri, code = lg.code()
    idp.approve(uri, user=user, code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "tb login exit %d: %s" % (rc, err))


def token(env, *args):
    r = env.tb("--json", "token", *args)
    check(r.returncode == 0, "tb token %s: exit %d: %s" % (
        " ".join(args), r.returncode, r.stderr))
    return json.loads(r.stdout)


def exchanges(idp):
    return [e for e in idp.entries("/token", TX) if e["status"] == 200]


def exchange_and_cache(env):
    """Token exchange gives a JWT for the audience and project; the second
    call is served from the cache; tb exec passes it on."""
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    env.start()
    login(env, idp)
    r = env.tb("token", "--project", "prj_123")
    check(r.returncode == 0, r.stderr)
    tok = r.stdout.rstrip("\n")
    check(r.stdout == tok + "\n" and "\n" not in tok, "not one line")
    c = claims(tok)
    check(c["aud"] == API and "project:prj_123" in c["scope"].split(), c)
    check(c["sub"] == "alice", c)
    check(len(exchanges(idp)) == 1, "exchanges %s" % exchanges(idp))
    j = token(env, "--audience", API, "--project", "prj_123")
    check(j["token"] == tok and j["cached"] is True, j)
    check(j["strategy"] == "token-exchange", j)
    check(len(exchanges(idp)) == 1, "the cache was not used")
    # tb exec: the token in the environment, the exit status passed on.
    r = subprocess.run([TB, "exec", "--project", "prj_123", "--", "sh",
                        "-c", 'printf %s "$TB_TOKEN"; exit 7'],
                       env=env.env, capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 7 and r.stdout == tok, "exec: %d %r" % (
        r.returncode, r.stdout[:40]))
    r = subprocess.run([TB, "exec", "--env", "API_TOKEN", "--project",
                        "prj_123", "--", "sh", "-c",
                        'test -z "$TB_TOKEN" && printf %s "$API_TOKEN"'],
                       env=env.env, capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 0 and r.stdout == tok, "exec --env")
    r = subprocess.run([TB, "exec", "--project", "prj_123", "--",
                        "/nonexistent/cmd"], env=env.env,
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 127, "exec of a missing command: %d" %
          r.returncode)
    # tb list: the target, never the token.
    r = env.tb("list")
    check("prj_123" in r.stdout and API in r.stdout, r.stdout)
    check(tok not in r.stdout, "tb list printed the token")
    r = env.tb("--json", "list")
    lst = json.loads(r.stdout)["tokens"]
    check(len(lst) == 1 and lst[0]["project"] == "prj_123" and
          "token" not in lst[0] and lst[0]["serves"] >= 2, lst)
    r = env.tb("--json", "status")
    check(json.loads(r.stdout)["cached_tokens"] == 1, r.stdout)
    # A new login never gets a token minted under the previous one from
    # the cache (even for the same user: the grant is another).
    login(env, idp)
    j = token(env, "--project", "prj_123")
    check(j["cached"] is False and j["token"] != tok, j)
    check(len(exchanges(idp)) == 2, "exchanges %s" % exchanges(idp))
    login(env, idp, user="bob")
    r = env.tb("token", "--project", "prj_123")
    check(r.returncode == 5, "bob got alice's project from the cache: "
          "exit %d" % r.returncode)


def single_flight(env):
    """100 concurrent tb token for a new target: one upstream request."""
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    env.start("--max-connections", "500")
    login(env, idp)
    procs = [subprocess.Popen([TB, "token", "--project", "prj_456"],
                              env=env.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for _ in range(100)]
    toks = set()
    for p in procs:
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0, "exit %d: %s" % (p.returncode, err))
        toks.add(out)
    check(len(toks) == 1, "%d different tokens" % len(toks))
    n = len([e for e in idp.entries("/token", TX)])
    print("100 concurrent callers: %d token-exchange request(s)" % n)
    check(n == 1, "%d upstream requests for one target" % n)


def project_boundary(env):
    """A cached prj_123 token is never served for prj_1234 or prj_12, and a
    token within min-ttl of expiry is minted again."""
    idp = IdP(env, "--interval", "1", "--exchange-ttl", "120")
    config(env, idp)
    env.start()
    login(env, idp)
    tok = token(env, "--project", "prj_123")["token"]
    for other in ("prj_1234", "prj_12", "PRJ_123"):
        r = env.tb("token", "--project", other)
        check(r.returncode == 5, "%s: exit %d: %s" % (other, r.returncode,
                                                      r.stderr))
        check(tok not in r.stdout, "served prj_123's token for " + other)
        check("hint: " in r.stderr, r.stderr)
    n = len(exchanges(idp))
    # 120 s tokens: --min-ttl 60 is served from the cache ...
    check(token(env, "--project", "prj_123", "--min-ttl", "60")["cached"],
          "not served from the cache")
    # ... --min-ttl 200 needs more than any token has: minted each time.
    j = token(env, "--project", "prj_123", "--min-ttl", "200")
    check(j["cached"] is False and j["token"] != tok, j)
    check(len(exchanges(idp)) == n + 1, "min-ttl did not re-mint")
    # And the user's own token is not a project token.
    r = env.tb("token")
    check(r.returncode == 0 and r.stdout.strip() != tok, "user token")


def refresh_strategy(env):
    """mint = refresh: a narrowed refresh_token grant (RFC 8707 resource),
    rotation-safe: the user's refresh token keeps working after it."""
    idp = IdP(env, "--interval", "1", "--no-token-exchange")
    config(env, idp, profile_extra="mint = refresh\n"
           "scope = profile email project:prj_123 project:prj_456\n")
    env.start()
    login(env, idp)
    j = token(env, "--project", "prj_123")
    c = claims(j["token"])
    check(c["aud"] == API and c["scope"].split() == ["project:prj_123"], c)
    check(j["strategy"] == "refresh", j)
    narrowed = [e for e in idp.entries("/token", "refresh_token")
                if e.get("resource") == API]
    check(len(narrowed) == 1 and narrowed[0]["status"] == 200, narrowed)
    check(token(env, "--project", "prj_123")["cached"], "not cached")
    j2 = token(env, "--project", "prj_456")
    check(claims(j2["token"])["scope"] == "project:prj_456", j2)
    # The user token still refreshes with the rotated refresh token.
    r = env.tb("token")
    check(r.returncode == 0 and idp.userinfo(r.stdout.strip())[0] == 200,
          "user token after narrowed refreshes")
    check(all(e["status"] == 200 for e in idp.entries("/token",
                                                      "refresh_token")),
          "a refresh failed: rotation was not respected")
    r = env.tb("token", "--project", "prj_789")
    check(r.returncode == 5, "not a member: exit %d" % r.returncode)


def logout_during_narrowed_mints(env):
    """mint = refresh, one narrowed grant running and another queued behind
    it, then a logout: it answers at once, and both mints' callers are
    told they are not logged in (a queued grant answered by the logout
    once restarted its mint from inside the logout's own loop, forever)."""
    idp = IdP(env, "--interval", "1", "--no-token-exchange",
              "--refresh-delay-ms", "1500")
    config(env, idp, profile_extra="mint = refresh\n"
           "scope = profile email project:prj_123 project:prj_456\n")
    d = env.start()
    login(env, idp)
    procs = [subprocess.Popen([TB, "--json", "token", "--project", p],
                              env=env.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for p in ("prj_123", "prj_456")]
    wait_for(lambda: all("minting a token for %s project %s" % (API, p)
                         in d.log_text() for p in ("prj_123", "prj_456")),
             "both mints started")
    r = env.tb("logout", timeout=30)
    check(r.returncode == 0, "logout exit %d: %s" % (r.returncode, r.stderr))
    for p in procs:
        out, err = p.communicate(timeout=30)
        check(p.returncode == 3, "a mint's caller: exit %d: %s %s" %
              (p.returncode, out, err))
        check(json.loads(out)["error"]["code"] == "not_logged_in", out)
    check("minting again" not in d.log_text(), "a mint was restarted")


def endpoint_strategy(env):
    """mint = endpoint: POST to the configured URL with the user's bearer;
    path segments encoded."""
    idp = IdP(env, "--interval", "1")
    config(env, idp, profile_extra="mint = endpoint\nmint_endpoint = "
           "%s/mint/{project}\n" % idp.issuer)
    env.start()
    login(env, idp)
    j = token(env, "--project", "prj_123", "--purpose", "ci")
    c = claims(j["token"])
    check(c["aud"] == API and j["strategy"] == "endpoint", (c, j))
    mints = idp.entries("/mint/prj_123")
    check(len(mints) == 1 and mints[0]["status"] == 200, idp.entries())
    check(token(env, "--project", "prj_123", "--purpose", "ci")["cached"],
          "not cached")
    r = env.tb("token", "--project", "prj_789")
    check(r.returncode in (1, 5), "not a member: exit %d %s" % (
        r.returncode, r.stderr))


def endpoint_dot_segments(env):
    """mint = endpoint: "." and ".." as the audience, project or purpose
    would be dot segments of the URL, which HTTP clients and servers
    resolve: the user's bearer token would go to another path. They are
    refused with bad_request before any request is made."""
    idp = IdP(env, "--interval", "1")
    config(env, idp, profile_extra="mint = endpoint\nmint_endpoint = "
           "%s/mint/{audience}/{project}?purpose={purpose}\n" % idp.issuer)
    env.start()
    login(env, idp)
    before = len(idp.entries())
    for args in (("--audience", "..", "--project", ".."),
                 ("--project", ".."), ("--audience", "."),
                 ("--audience", "..", "--project", "prj_123")):
        r = env.tb("--json", "token", *args)
        check(r.returncode != 0, "%s: exit 0: %s" % (args, r.stdout))
        err = json.loads(r.stdout)["error"]
        check(err["code"] == "bad_request" and ('"."' in err["message"] or
              '".."' in err["message"]), "%s: %s" % (args, err))
        r = env.tb("token", *args)
        check(r.returncode != 0 and "segment" in r.stderr,
              "%s: unclear error: %s" % (args, r.stderr))
        after = idp.entries()[before:]
        check(after == [], "%s: requests were made: %s" % (
            args, [(e["method"], e["path"]) for e in after]))
    # Dots inside a value, and in the query, are no segment.
    j = token(env, "--project", "prj_123", "--purpose", "..")
    check(j["strategy"] == "endpoint", j)
    paths = [e["path"] for e in idp.entries()[before:]]
    check(len(paths) == 1 and paths[0].startswith("/mint/") and
          paths[0].endswith("/prj_123"), paths)


def device_requests(idp):
    return [e for e in idp.entries("/device/auth")]


def auto_strategy(env):
    """mint = auto picks token exchange when the issuer advertises it (the
    login then asks for no resource), a narrowed refresh when not: the
    login then asks for the profile's audience as its resource (RFC 8707),
    so the narrowed refreshes are granted it, and project tokens are
    minted."""
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    d = env.start()
    login(env, idp)
    check(token(env, "--project", "prj_123")["strategy"] ==
          "token-exchange", "auto with token exchange")
    dev = device_requests(idp)
    check(len(dev) == 1 and "resource" not in dev[0], dev)
    d.stop()
    idp2 = IdP(env, "--interval", "1", "--no-token-exchange", name="idp2")
    config(env, idp2, profile_extra="scope = profile email project:prj_123 "
           "project:prj_456\n")
    env.start()
    login(env, idp2)
    dev = device_requests(idp2)
    check(len(dev) == 1 and dev[0].get("resource") == API, dev)
    for p in ("prj_123", "prj_456"):
        j = token(env, "--project", p)
        c = claims(j["token"])
        check(j["strategy"] == "refresh" and c["aud"] == API and
              c["scope"].split() == ["project:" + p], (j, c))
    check(token(env, "--project", "prj_123")["cached"], "not cached")
    check(idp2.entries("/token", TX) == [], "a token exchange was tried")
    # The user's own token still refreshes (rotation respected).
    r = env.tb("token")
    check(r.returncode == 0 and idp2.userinfo(r.stdout.strip())[0] == 200,
          "user token after narrowed refreshes: %s" % r.stderr)
    r = env.tb("token", "--project", "prj_789")
    check(r.returncode == 5, "not a member: exit %d" % r.returncode)


def exchange_not_offered(env):
    """mint = token-exchange with a provider whose discovery lists its
    grants without RFC 8693's fails at once, naming what is missing and
    what to set; no token exchange is sent."""
    idp = IdP(env, "--interval", "1", "--no-token-exchange")
    config(env, idp, profile_extra="mint = token-exchange\n")
    d = env.start()
    login(env, idp)
    r = env.tb("token", "--project", "prj_123")
    check(r.returncode == 1 and "does not offer token exchange" in r.stderr
          and "grant_types_supported" in r.stderr and TX in r.stderr and
          "hint: set mint = refresh or mint = endpoint" in r.stderr and
          "proxy" not in r.stderr and "unexpected" not in r.stderr,
          "exit %d: %s" % (r.returncode, r.stderr))
    r = env.tb("--json", "token", "--project", "prj_123")
    e = json.loads(r.stdout)["error"]
    check(e["code"] == "idp_unsupported", e)
    check(idp.entries("/token", TX) == [], "a token exchange was sent: %s" %
          idp.entries("/token", TX))
    check("cannot mint: the identity provider does not offer token "
          "exchange" in d.log_text(), "not logged")
    # The login asked for no resource: token exchange was configured.
    dev = device_requests(idp)
    check(len(dev) == 1 and "resource" not in dev[0], dev)


def refresh_ahead(env):
    """A token in use is re-minted at ~75-80 % of its life; callers never
    wait. One not used again expires quietly."""
    idp = IdP(env, "--interval", "1", "--exchange-ttl", "40")
    audit = os.path.join(env.dir, "audit.log")
    config(env, idp, extra="audit_log = %s\n" % audit)
    d = env.start()
    login(env, idp)
    first = token(env, "--project", "prj_123")["token"]
    token(env, "--project", "prj_123")          # in use
    token(env, "--project", "prj_456")          # minted, never used again
    # 40 s tokens: refresh-ahead at 30-32 s.
    wait_for(lambda: "ahead of expiry" in d.log_text(), "refresh-ahead",
             timeout=45)
    wait_for(lambda: d.log_text().count("minted a token for %s project "
                                        "prj_123" % API) >= 2,
             "the new mint")
    j = token(env, "--project", "prj_123")
    check(j["cached"] and j["token"] != first, "not replaced ahead: %s" %
          j["cached"])
    prj456 = [e for e in exchanges(idp) if "prj_456" in e.get("scope", "")]
    check(len(prj456) == 1, "an unused token was refreshed: %s" % prj456)
    # The background mint is audited, marked as such.
    mints = [x for x in map(json.loads, open(audit)) if x["event"] == "mint"]
    ahead = [m for m in mints if "refresh-ahead" in m["detail"]]
    check(len(ahead) == 1 and ahead[0]["target"]["project"] == "prj_123" and
          ahead[0]["result"] == "ok", mints)


def short_lifetimes(env):
    """The refresh margin and the serve floor follow the token's lifetime
    (a quarter of it, within 5..60 s and 5..30 s): 45 s user tokens are
    not refreshed on every call (several tb token in a row make one
    refresh, when the token is near its end), and a 45 s minted token is
    served for 34 s, not 15; --min-ttl still asks for more."""
    idp = IdP(env, "--interval", "1", "--at-ttl", "45", "--exchange-ttl",
              "45")
    config(env, idp)
    d = env.start()
    login(env, idp)
    logged_in = time.time()

    def refreshes():
        return idp.entries("/token", "refresh_token")
    first = token(env, "--project", "prj_123")
    minted = time.time()
    users = set()
    for _ in range(5):
        r = env.tb("token")
        check(r.returncode == 0, r.stderr)
        users.add(r.stdout.strip())
    check(refreshes() == [] and len(users) == 1, "a fresh 45 s token was "
          "refreshed: %d refreshes for 5 calls" % len(refreshes()))

    # 16 s on, a 45 s token has 29 s left: under the old fixed 30 s floor
    # it was minted again, now it is served (its floor is 11 s).
    wait_for(lambda: time.time() >= minted + 16, "16 s", timeout=30,
             interval=0.1)
    j = token(env, "--project", "prj_123")
    check(j["cached"] and j["token"] == first["token"],
          "a 45 s token with 29 s left was not served: %s" % j["cached"])
    check(len(exchanges(idp)) == 1, "exchanges: %d" % len(exchanges(idp)))
    # A caller that needs more than is left gets a new one.
    j = token(env, "--project", "prj_123", "--min-ttl", "40")
    check(not j["cached"] and j["token"] != first["token"],
          "--min-ttl 40 served a token with under 30 s left")
    check(len(exchanges(idp)) == 2, "exchanges: %d" % len(exchanges(idp)))

    # The user token: refreshed once, when under 11 s are left (34 s on).
    def one_refresh():
        r = env.tb("token")
        check(r.returncode == 0, r.stderr)
        users.add(r.stdout.strip())
        return len(refreshes()) > 0
    wait_for(one_refresh, "the user token's refresh", timeout=45,
             interval=0.5)
    check(time.time() >= logged_in + 33, "refreshed %.1f s after the login "
          "(its margin is 11 s of 45)" % (time.time() - logged_in))
    for _ in range(4):
        r = env.tb("token")
        check(r.returncode == 0, r.stderr)
        users.add(r.stdout.strip())
    check(len(refreshes()) == 1 and len(users) == 2,
          "%d refreshes, %d user tokens" % (len(refreshes()), len(users)))
    check("refreshed again with 11 s left" in d.log_text(), "margin not "
          "logged")


def audit_and_canary(env):
    """The audit log records serves and denials with the caller, and no
    token appears in the daemon's debug log, the audit log, tb list or tb
    status."""
    idp = IdP(env, "--interval", "1", "--canary", "CANARYtok")
    audit = os.path.join(env.dir, "audit.log")
    config(env, idp, extra="audit_log = %s\n" % audit)
    d = env.start()
    login(env, idp)
    user = env.tb("token").stdout.strip()
    check(user.startswith("CANARYtok"), "canary off")
    minted = token(env, "--project", "prj_123")["token"]
    token(env, "--project", "prj_123")
    env.tb("token", "--project", "prj_789")
    outs = [env.tb("list"), env.tb("--json", "list"), env.tb("status"),
            env.tb("--json", "status")]
    lines = [json.loads(x) for x in open(audit)]
    logins = [x for x in lines if x["event"] == "login"]
    check(len(logins) == 1 and logins[0]["result"] == "ok" and
          logins[0]["peer"]["exe"].endswith("/tb"), logins)
    serves = [x for x in lines if x["event"] == "serve"]
    denies = [x for x in lines if x["event"] == "deny"]
    check(len(serves) >= 3 and denies, lines)
    s = serves[-1]
    check(s["peer"]["uid"] == os.geteuid() and s["peer"]["pid"] > 0, s)
    check(s["peer"].get("exe", "").endswith("/tb"), s)
    check(s["target"]["project"] == "prj_123" and s["result"] == "ok", s)
    check(denies[-1]["result"] == "invalid_scope", denies[-1])
    st = os.lstat(audit)
    check(stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
          "audit log mode %o" % st.st_mode)
    # One "mint" line per request to the provider, not per caller.
    mints = [x for x in lines if x["event"] == "mint"]
    check([(m["target"].get("project"), m["result"]) for m in mints] ==
          [("prj_123", "ok"), ("prj_789", "invalid_scope")], mints)
    check(mints[0]["detail"] == "token-exchange" and
          "peer" not in mints[0], mints[0])
    check(mints[1]["detail"].startswith("token-exchange: "), mints[1])
    # Logout, and a login by a given token (--with-token), are audited
    # with their caller.
    check(env.tb("logout").returncode == 0, "logout")
    r = env.tb("login", "--with-token", input="opaque-given-token\n")
    check(r.returncode == 0, r.stderr)
    lines = [json.loads(x) for x in open(audit)]
    out = [x for x in lines if x["event"] == "logout"]
    check(len(out) == 1 and out[0]["result"] == "revoked" and
          out[0]["peer"]["exe"].endswith("/tb"), out)
    given = [x for x in lines if x["event"] == "login"][1:]
    check(len(given) == 1 and "with-token" in given[0]["detail"] and
          given[0]["peer"]["pid"] > 0, given)
    check("opaque-given-token" not in open(audit).read(),
          "the given token is in the audit log")
    d.stop()
    texts = [d.log_text(), open(d.log + ".stderr").read(),
             open(audit).read()] + [o.stdout + o.stderr for o in outs]
    # An audit log path that is a symlink is refused, not followed.
    target = os.path.join(env.dir, "audit-target")
    os.rename(audit, audit + ".1")
    os.symlink(target, audit)
    bad = env.start(wait=False)
    rc = bad.proc.wait(timeout=30)
    check(rc == 1 and not os.path.exists(target) and "audit" in
          open(bad.log + ".stderr").read(), "a symlinked audit log: exit "
          "%s: %s" % (rc, open(bad.log + ".stderr").read()))
    for t in texts:
        check("CANARYtok" not in t, "the user token leaked:\n" + t[-1500:])
        check(minted not in t and minted.split(".")[2] not in t,
              "a minted token leaked")


def cache_bound(env):
    """The cache holds at most 256 targets: 300 purposes later, the least
    recently used are gone and the most recent still served."""
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    env.start()
    login(env, idp)
    for i in range(300):
        r = env.tb("token", "--project", "prj_123", "--purpose", "p%d" % i)
        check(r.returncode == 0, "purpose %d: %s" % (i, r.stderr))
    # A full cache of long targets is more than one 64 KiB frame: the
    # least recently used are left out of the reply, and counted.
    j = json.loads(env.tb("--json", "list").stdout)
    lst = j["tokens"]
    purposes = {t["purpose"] for t in lst}
    print("cache after 300 targets: %d entries listed, %d omitted" % (
        len(lst), j.get("omitted", 0)))
    check(len(lst) + j.get("omitted", 0) <= 256, "%d cached targets" %
          (len(lst) + j.get("omitted", 0)))
    r = env.tb("list")
    check(r.returncode == 0 and "p299" in r.stdout, r.stderr)
    check("p299" in purposes and "p0" not in purposes, "not LRU")
    check(token(env, "--project", "prj_123", "--purpose", "p299")["cached"],
          "the newest entry is not served from the cache")


def cache_bound_config(env):
    """cache_max_targets = 5: the sixth target evicts the least recently
    used (minted again when asked for); a reload to 2 evicts down to 2."""
    idp = IdP(env, "--interval", "1")
    config(env, idp, extra="cache_max_targets = 5")
    env.start()
    login(env, idp)
    for i in range(8):
        token(env, "--project", "prj_123", "--purpose", "p%d" % i)

    def cached():
        j = json.loads(env.tb("--json", "list").stdout)
        return {t["purpose"] for t in j["tokens"]}
    check(cached() == {"p3", "p4", "p5", "p6", "p7"}, "cached: %r" %
          cached())
    n = len(exchanges(idp))
    check(token(env, "--project", "prj_123", "--purpose", "p7")["cached"],
          "p7 not cached")
    check(not token(env, "--project", "prj_123", "--purpose", "p0")[
        "cached"] and len(exchanges(idp)) == n + 1, "p0 was still cached")
    config(env, idp, extra="cache_max_targets = 2")
    env.daemons[0].proc.send_signal(signal.SIGHUP)
    wait_for(lambda: cached() == {"p0", "p7"}, "the reload's eviction")


def verify_jwt(env):
    """verify_jwt = true: minted JWTs are checked against the issuer's
    JWKS, fetched once and cached by key id."""
    idp = IdP(env, "--interval", "1")
    config(env, idp, profile_extra="verify_jwt = true\n")
    d = env.start()
    login(env, idp)
    j = token(env, "--project", "prj_123")
    check(claims(j["token"])["aud"] == API, j)
    token(env, "--project", "prj_456")
    check(len(idp.entries("/jwks")) == 1, "JWKS fetched %d times" %
          len(idp.entries("/jwks")))
    check("signing key" in d.log_text(), "no JWKS in the log")


def not_logged_in(env):
    """Not logged in: exit 3 with the login hint; --optional: nothing,
    exit 0."""
    idp = IdP(env, "--interval", "1")
    config(env, idp)
    env.start()
    r = env.tb("token", "--project", "prj_123")
    check(r.returncode == 3 and "hint: run 'tb login'" in r.stderr,
          r.stderr)
    r = env.tb("token", "--project", "prj_123", "--optional")
    check(r.returncode == 0 and r.stdout == "" and r.stderr == "",
          "optional: %d %r %r" % (r.returncode, r.stdout, r.stderr))
    r = env.tb("token", "--optional")
    check(r.returncode == 0 and r.stdout == "", r.stdout)
    r = subprocess.run([TB, "exec", "--optional", "--", "sh", "-c",
                        'test -z "${TB_TOKEN+x}"'], env=env.env,
                       timeout=30)
    check(r.returncode == 0, "exec --optional set TB_TOKEN")
    check(len(idp.entries("/token")) == 0, "asked the provider anyway")


TESTS = {f.__name__: f for f in (
    exchange_and_cache, single_flight, project_boundary, refresh_strategy,
    endpoint_strategy, endpoint_dot_segments, auto_strategy,
    exchange_not_offered, refresh_ahead, short_lifetimes, audit_and_canary,
    not_logged_in, verify_jwt, cache_bound, cache_bound_config, logout_during_narrowed_mints)}

if __name__ == "__main__":
    run(TESTS)
