"""Suspend and clock jumps: the wall clock jumps two hours while the
monotonic clock (which libevent's timers use, and which stops in suspend on
Linux) does not move, as after a laptop sleeps for two hours. Run one with:
python3 test_clock.py NAME.

How the jump is made: libfaketime (Debian package libfaketime) is preloaded
into authd AND into the test provider, both reading one offset file
(FAKETIME_TIMESTAMP_FILE, re-read at every call: FAKETIME_NO_CACHE). The
file says "+0" until the jump, then "+7200": both processes see the same
wall clock at every moment, so the provider's iat/exp claims and authd's
expiry decisions agree, as after a real suspend where the provider's clock
moved on too. FAKETIME_DONT_FAKE_MONOTONIC keeps CLOCK_MONOTONIC real:
authd's timers (refresh-ahead at 75-80 % of a token's life, max_session)
have not fired after the jump, exactly as after a suspend. The test itself
(and tb) runs on the real clock and adds the offset when it checks an exp.

Faking only authd would not do: the provider's tokens would then have
lived two hours less than authd believes, and a token lifetime long enough
for a fresh one to have min-ttl left after the jump would leave the cached
one valid too, so nothing expired would be tested. A time namespace cannot
do it either: it offsets CLOCK_MONOTONIC and CLOCK_BOOTTIME, not
CLOCK_REALTIME.
"""
import base64
import glob
import json
import os
import time

from harness import IdP, Login, check, need, run

API = "https://api.tb.test"
TX = "urn:ietf:params:oauth:grant-type:token-exchange"
JUMP = 7200
MIN_TTL = 60
# Debian installs it under the multiarch library directory.
LIBFAKETIME = "/usr/lib/*/faketime/libfaketime.so.1"


def claims(tok):
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def faketime(env):
    """The environment that makes a process read the shared offset file."""
    found = sorted(glob.glob(LIBFAKETIME))
    lib = os.environ.get("AUTHD_LIBFAKETIME", found[0] if found else "")
    need(lib and os.path.exists(lib),
         "libfaketime (Debian package libfaketime)")
    path = os.path.join(env.dir, "faketime.rc")
    with open(path, "w") as f:
        f.write("+0\n")
    # In the ASan build the preloaded library comes before ASan's
    # runtime, which ASan refuses unless told the order is intended.
    asan = os.environ.get("ASAN_OPTIONS", "")
    return path, {"LD_PRELOAD": lib, "FAKETIME_TIMESTAMP_FILE": path,
                  "FAKETIME_NO_CACHE": "1",
                  "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                  "ASAN_OPTIONS": (asan + ":" if asan else "") +
                  "verify_asan_link_order=0"}


def jump(path, seconds):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write("+%d\n" % seconds)
    os.rename(tmp, path)


def setup(env, profile_extra="", *idp_args):
    path, fenv = faketime(env)
    saved = dict(env.env)
    env.env.update(fenv)
    try:
        idp = IdP(env, "--interval", "1", "--at-ttl", "3600",
                  "--exchange-ttl", "3600", "--rt-ttl", "86400", *idp_args)
    finally:
        env.env = saved
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("store = memory\n[profile default]\nissuer = %s\n"
                "client_id = tb-cli\naudience = %s\n%s\n" %
                (idp.issuer, API, profile_extra))
    env.start(env=fenv)
    lg = Login(env, "--no-browser")
    uri, code = lg.code()
    idp.approve(uri, user="alice", code=code)
    rc, _, err = lg.wait()
    check(rc == 0, "tb login exit %d: %s" % (rc, err))
    return path, idp


def token(env, *args):
    r = env.tb("--json", "token", *args)
    check(r.returncode == 0, "tb token %s: exit %d: %s" % (
        " ".join(args), r.returncode, r.stderr))
    return json.loads(r.stdout)


def check_left(j, offset, what):
    """What was served has at least MIN_TTL left on the faked clock, by
    the expires_at authd reports and, for a JWT (the project token; the
    user token is opaque), by its own exp."""
    now = time.time() + offset
    exp = j.get("expires_at")
    check(isinstance(exp, (int, float)), "%s: no expires_at: %r" % (what, j))
    if j["token"].count(".") == 2:
        check(claims(j["token"])["exp"] == exp, "%s: expires_at %r, JWT "
              "exp %d" % (what, exp, claims(j["token"])["exp"]))
    check(exp - now >= MIN_TTL, "%s: served with %.0f s left on the "
          "faked clock (exp %d)" % (what, exp - now, exp))


def wake_after_jump(env):
    """Cached user and project tokens (an hour long, refresh-ahead armed
    for 45-48 min on the monotonic clock); the wall clock jumps two hours:
    the first tb token for each is a fresh token with at least min-ttl
    left, made with exactly one request to the provider, never the cached
    expired one."""
    path, idp = setup(env)
    user = token(env)
    check_left(user, 0, "user token")
    prj = token(env, "--project", "prj_123", "--min-ttl", str(MIN_TTL))
    check_left(prj, 0, "project token")
    # Used again: in use, so refresh-ahead is armed for it.
    check(token(env, "--project", "prj_123")["cached"], "not cached")
    check(token(env)["token"] == user["token"], "user token not cached")
    refreshes = len(idp.entries("/token", "refresh_token"))
    exchanges = len(idp.entries("/token", TX))

    jump(path, JUMP)
    u2 = token(env)
    check(u2["token"] != user["token"], "served the expired user token")
    check_left(u2, JUMP, "user token after the jump")
    check(len(idp.entries("/token", "refresh_token")) == refreshes + 1,
          "the user token took %d refreshes" % (
              len(idp.entries("/token", "refresh_token")) - refreshes))
    p2 = token(env, "--project", "prj_123", "--min-ttl", str(MIN_TTL))
    check(p2["token"] != prj["token"] and not p2.get("cached"),
          "served the expired project token")
    check_left(p2, JUMP, "project token after the jump")
    check(len(idp.entries("/token", TX)) == exchanges + 1,
          "the project token took %d token exchanges" % (
              len(idp.entries("/token", TX)) - exchanges))
    # And now both are cached again, still good on the faked clock.
    p3 = token(env, "--project", "prj_123", "--min-ttl", str(MIN_TTL))
    check(p3["token"] == p2["token"] and p3["cached"], "not cached again")
    check_left(p3, JUMP, "cached project token after the jump")
    check_left(token(env), JUMP, "cached user token after the jump")


def session_after_jump(env):
    """max_session = 1h; the wall clock jumps two hours, the monotonic
    timer for the session's end has not fired: the next tb token finds the
    login ended (not logged in), serving neither token."""
    path, idp = setup(env, "max_session = 3600")
    token(env)
    token(env, "--project", "prj_123")
    jump(path, JUMP)
    for args in ((), ("--project", "prj_123")):
        r = env.tb("--json", "token", *args)
        check(r.returncode != 0, "%s: served after max_session: %s" %
              (" ".join(args) or "user token", r.stdout))
        check("tb login" in r.stderr, r.stderr)
    r = env.tb("--json", "status")
    check("max_session" in r.stdout, "status: %s" % r.stdout)


TESTS = {f.__name__: f for f in (wake_after_jump, session_after_jump)}

if __name__ == "__main__":
    run(TESTS)
