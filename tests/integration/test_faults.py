"""Faults a real provider cannot produce on demand (tests/faults/faultd.py):
each gives a clear error, never a crash, and a cached token of another
profile is still served throughout. Run with: python3 test_faults.py."""
import json
import os
import signal
import subprocess
import sys
import time

from harness import IdP, Login, SRC, check, wait_for, run


def faultd(env):
    ready = os.path.join(env.dir, "faultd.ready")
    log = os.path.join(env.dir, "faultd.log")
    p = subprocess.Popen([sys.executable, os.path.join(
        SRC, "tests", "faults", "faultd.py"), ready, log],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env.procs.append(p)
    wait_for(lambda: os.path.exists(ready), "the fault server")
    port = json.load(open(ready))["port"]
    return "http://127.0.0.1:%d" % port, log


def fault_matrix(env):
    idp = IdP(env, "--interval", "1")
    base, log = faultd(env)
    modes = ["5xx", "hang", "badjson", "huge", "reset", "ratelimit",
             "slowdown", "lying", "html"]
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

    # 429 with Retry-After: polls wait at least that long.
    lg = Login(env, "--no-browser", "--profile", "ratelimit")
    lg.code()
    wait_for(lambda: "retrying in" in lg.stderr(), "the retry notice")
    wait_for(lambda: sum(1 for line in open(log)
                         if '"ratelimit"' in line and "/token" in line) >= 3,
             "three polls", timeout=30)
    polls = [json.loads(line)["t"] for line in open(log)
             if '"ratelimit"' in line and "/token" in line]
    check(polls[1] - polls[0] >= 2950, "Retry-After ignored: %s" %
          [b - a for a, b in zip(polls, polls[1:])])
    lg.proc.send_signal(signal.SIGINT)
    lg.wait()

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


TESTS = {f.__name__: f for f in (fault_matrix,)}

if __name__ == "__main__":
    run(TESTS)
