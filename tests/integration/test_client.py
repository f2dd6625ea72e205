"""The client library and the protocol document: a C program on
libauthd-client and a Python client written from PROTOCOL.md alone get
the same tokens as tb. Run one with: python3 test_client.py NAME."""
import os
import subprocess

from harness import IdP, Login, check, run
from authd_client import AuthdError, Client


def _setup(env):
    idp = IdP(env, "--interval", "1")
    d = os.path.join(env.home, ".config", "authd")
    os.makedirs(d)
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("store = memory\n[profile default]\nissuer = %s\n"
                "client_id = tb-cli\naudience = https://api.tb.test\n" %
                idp.issuer)
    env.start()
    return idp


def python_client(env):
    """A standard-library Python client speaks the protocol."""
    idp = _setup(env)
    with Client(env.sock) as c:
        hello = c.call("hello", versions=[1], client="test/1")
        check(hello["version"] == 1 and "token" in hello["ops"], hello)
        st = c.call("status")
        check(st["logged_in"] is False, st)
        try:
            c.call("token", project="prj_123")
            check(False, "a token without a login")
        except AuthdError as e:
            check(e.code == "not_logged_in" and e.hint, e.code)
    # Log in through the protocol itself: the code arrives as an event.
    events = []
    with Client(env.sock) as c:
        def on_event(name, data):
            events.append(name)
            if name == "code":
                idp.approve(data["verification_uri_complete"])
        res = c.call("login", on_event=on_event)
        check(res["logged_in"] and events[0] == "code", (res, events))
        tok = c.call("token", project="prj_123")
        check(tok["audience"] == "https://api.tb.test", tok)
        again = c.call("token", project="prj_123")
        check(again["cached"] and again["token"] == tok["token"], again)
    r = env.tb("token", "--project", "prj_123")
    check(r.stdout.strip() == tok["token"], "tb sees another token")


def c_library(env):
    """A C program on libauthd-client gets the token tb gets."""
    idp = _setup(env)
    prog = os.path.join(os.environ["AUTHD_BUILD_DIR"], "tests",
                        "client_example")
    e = dict(env.env, AUTHD_SOCK=env.sock)
    r = subprocess.run([prog, "prj_123"], env=e, capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 3 and "not_logged_in" in r.stderr,
          "exit %d: %s" % (r.returncode, r.stderr))
    lg = Login(env, "--no-browser")
    uri, code = lg.code()
    idp.approve(uri, code=code)
    check(lg.wait()[0] == 0, "login")
    r = subprocess.run([prog, "prj_123"], env=e, capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0, r.stderr)
    t = env.tb("token", "--project", "prj_123").stdout
    check(r.stdout == t, "the library and tb disagree")
    check("cached=1" in r.stderr or "cached=0" in r.stderr, r.stderr)
    # The program's own cJSON hooks stayed in place and saw every block
    # the library allocated and freed (client_example.c).
    check("hooks: kept" in r.stderr, r.stderr)


TESTS = {f.__name__: f for f in (python_client, c_library)}

if __name__ == "__main__":
    run(TESTS)
