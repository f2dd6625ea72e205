#!/usr/bin/env python3
"""Socket-level fuzzer: the real authd of this build, with the test
provider and three configured profiles, logged in, fed random frame
sequences on real connections.

Each round opens several connections and runs a script on each, the
scripts interleaved at random: requests of every operation with valid or
mutated arguments (wrong types, huge numbers, nested arrays, unicode, NUL
escapes, long and odd strings), corrupted JSON text and invalid UTF-8,
random bytes, length headers of 0, 1, 65536, 65537, 2^32-1 and wrong
lengths, frames split at random points with small pauses, pipelines up to
and past the 32 requests a connection may have in flight, connections that
close mid-frame or right after a request that stays pending, half-close,
bursts of connections past the connection cap, connections that linger
into later rounds (and meet the idle timeout), SIGHUP reloads; replies
read, partly read or never read. Every reply read must be a well-formed
frame (PROTOCOL.md sections 2 and 3). After each round the daemon must be
alive, have written no sanitizer report and answer `hello` on a new
connection; at the end it must answer `tb status` and exit 0 on SIGTERM
with no sanitizer report (harness.py: leaks included).

Everything sent is drawn from the seed: round R uses its own generator,
seeded with "SEED/R", so a round replays alone (--only-round R) or with
the rounds before it (--rounds R+1). What the daemon's back-pressure does
to a client that does not read (a send that stalls is abandoned) and the
interleaving of the daemon's replies are not in the seed.

Usage: sockfuzz.py [--seed N] [--seconds S] [--rounds N] [--only-round R]
                   [--require-asan] [-v]
The seed defaults to $AUTHD_FUZZ_SEED, else a random one (printed); the
time budget to $AUTHD_FUZZ_SECONDS, else 30 s (the setup, about 5 s, and
the final checks come on top). Needs AUTHD_BUILD_DIR (ctest sets it:
`ctest -R fuzz_socket` in a -DAUTHD_FUZZ=ON build).
"""
import argparse
import collections
import errno
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import harness  # noqa: E402
from harness import (IdP, Login, Failure, check, wait_for,  # noqa: E402
                     sanitizer_reports)

API = "https://api.tb.test"
PROFILES = ("default", "work", "ep")
OPS = ("hello", "status", "login", "login_cancel", "token", "set_token",
       "list", "logout")
# How often each is drawn: logouts (and overrides) rarely, so that the
# logins the fuzzer makes keep token, list and status on their deep paths.
OP_WEIGHTS = (2, 3, 1, 1, 4, 0.5, 1.5, 0.3)
# Operations that may stay in flight (PROTOCOL.md section 5): what the
# pipelines and the aborted connections send.
PENDING_OPS = ("login", "token", "status", "logout")
PENDING_WEIGHTS = (3, 4, 2, 0.05)
MAX_FRAME = 65536
INFLIGHT_CAP = 32
MAX_CONNS = 24          # authd --max-connections: bursts go past it
IDLE_TIMEOUT = 2        # authd --idle-timeout: lingering connections meet it
NAME_CHARS = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
              "0123456789_.-")


class Raw(str):
    """JSON text written as is (numbers JSON cannot hold in Python's
    types, deep nesting, invalid tokens)."""


class Obj(list):
    """A JSON object as a list of pairs: member names may repeat."""


# ---------------------------------------------------------------- values


class Gen:
    """Random requests and bytes, from one random.Random."""

    def __init__(self, rng):
        self.r = rng

    def chance(self, p):
        return self.r.random() < p

    def op(self, pending=False):
        if pending:
            return self.r.choices(PENDING_OPS, PENDING_WEIGHTS)[0]
        return self.r.choices(OPS, OP_WEIGHTS)[0]

    def name(self, lo=1, hi=16):
        return "".join(self.r.choice(NAME_CHARS)
                       for _ in range(self.r.randint(lo, hi)))

    def unicode(self, n):
        ranges = ((0x20, 0x7e), (0xa0, 0x17f), (0x370, 0x3ff),
                  (0x590, 0x6ff), (0x200b, 0x200f), (0x202a, 0x202e),
                  (0x4e00, 0x4e80), (0xfff0, 0xffff), (0x1f600, 0x1f64f),
                  (0x10fff0, 0x10ffff), (0xd800, 0xdfff), (0x0, 0x1f))
        out = []
        for _ in range(n):
            lo, hi = self.r.choice(ranges)
            out.append(chr(self.r.randint(lo, hi)))
        return "".join(out)

    def odd_string(self):
        r = self.r
        k = r.randrange(16)
        if k == 0:
            return ""
        if k == 1:
            return self.name(64, 64) if r.random() < 0.5 else \
                self.name(65, 65)
        if k == 2:
            return r.choice("ax-%{") * r.choice(
                (511, 512, 513, 1024, 16384, 16385, r.randint(1, 30000)))
        if k == 3:
            return self.unicode(r.randint(1, 40))
        if k == 4:
            return "a\x00b" if r.random() < 0.5 else "\x00" * r.randint(1, 8)
        if k == 5:
            return "".join(chr(r.randrange(0x20)) for _ in
                           range(r.randint(1, 8))) + "\x7f"
        if k == 6:
            return r.choice(("\ud800", "\udfff", "x\udc00y", "\ud83d"))
        if k == 7:
            return r.choice(("%s%s%s%n", "%x%x%x", "{project}{audience}",
                             "{purpose}", "%00", "%2F..%2F", "&=?#"))
        if k == 8:
            return r.choice(("../../../etc/passwd", "/", ".", "..",
                             "a b", " lead", "trail ", "\"q\"", "\\",
                             "\\u0000", "null", "true", "[]", "{}"))
        if k == 9:
            return r.choice((API, API + "/", "https://registry.tb.test",
                             "https://unknown.test", "http://127.0.0.1:1/x",
                             "urn:ietf:params:oauth:token-type:jwt",
                             "HTTPS://API.TB.TEST", "https://api.tb.test#x"))
        if k == 10:
            return r.choice(("prj_123", "prj_456", "prj_789", "PRJ_123",
                             "prj_123 prj_456", "prj_", "project:prj_123"))
        if k == 11:
            return r.choice(PROFILES + ("nosuch", "Default", "default ",
                                        "work\x00", "-", "_", "."))
        if k == 12:
            return "".join(r.choice("!#$%&'()*+,/:;<=>?@[]^`{|}~\"\\")
                           for _ in range(r.randint(1, 20)))
        if k == 13:
            return self.name(1, 64)
        if k == 14:
            return "\u00e9" * r.choice((64, 32, 33, 256, 257))
        return self.name(1, 8) + self.unicode(r.randint(1, 4))

    def number(self):
        r = self.r
        k = r.randrange(4)
        if k == 0:
            return r.choice((0, 1, -1, 2, 29, 30, 31, 59, 60, 61, 86399,
                             86400, 86401, 2**31 - 1, 2**31, 2**32,
                             2**53 - 1, 2**53, 2**53 + 1, 2**63 - 1, 2**63,
                             2**64, -2**63, -2**53, 10**30))
        if k == 1:
            return r.choice((0.5, -0.0, 1.0, 1e308, -1e308, 5e-324, 3.25,
                             86400.0, 86400.5, 2.0**53, 1e22))
        if k == 2:
            return Raw(r.choice(("1e999", "-1e999", "1E400", "1.0e0", "-0",
                                 "0e0", "1e-400", "9" * 400,
                                 "1" + "0" * 4000, "123456789012345678901",
                                 "-9223372036854775809", "0.1e1",
                                 "1.7976931348623157e309")))
        return r.randint(-2**64, 2**64)

    def value(self, depth=0):
        r = self.r
        k = r.randrange(10 if depth < 3 else 6)
        if k == 0:
            return self.odd_string()
        if k == 1:
            return self.number()
        if k == 2:
            return r.choice((True, False))
        if k == 3:
            return None
        if k == 4:
            n = r.choice((2, 10, 100, 999, 1000, 1001, 5000, 20000))
            if r.random() < 0.5:
                return Raw("[" * n + "]" * n)
            return Raw('{"a":' * n + "1" + "}" * n)
        if k == 5:
            return self.name()
        if k in (6, 7):
            return [self.value(depth + 1) for _ in range(r.randint(0, 4))]
        return Obj((self.odd_string() if r.random() < 0.3 else self.name(),
                    self.value(depth + 1)) for _ in range(r.randint(0, 4)))

    # ------------------------------------------------------------ requests

    def profile(self):
        r = self.r.random()
        if r < 0.3:
            return ()                   # absent: the default profile
        if r < 0.75:
            return (("profile", self.r.choice(PROFILES)),)
        if r < 0.8:
            return (("profile", None),)
        if r < 0.88:
            return (("profile", "nosuch"),)
        return (("profile", self.value()),)

    def boolish(self):
        return self.r.choice((True, False, None)) if self.chance(0.85) \
            else self.value()

    def token_args(self):
        r = self.r
        a = []
        if self.chance(0.6):
            a.append(("project", r.choice(("prj_123", "prj_456", "prj_789"))
                      if self.chance(0.6) else self.odd_string()))
        if self.chance(0.3):
            a.append(("audience", r.choice((API, "https://registry.tb.test"))
                      if self.chance(0.6) else self.odd_string()))
        if self.chance(0.3):
            a.append(("purpose", self.name(1, 20) if self.chance(0.6)
                      else self.odd_string()))
        if self.chance(0.2):
            a.append(("scope", r.choice(("", "tb:read", "openid email"))
                      if self.chance(0.5) else self.odd_string()))
        if self.chance(0.3):
            a.append(("min_ttl", r.choice((0, 30, 60, 299, 300, 3600, 86400))
                      if self.chance(0.6) else self.number()))
        return a

    def args(self, op):
        r = self.r
        a = list(self.profile()) if op != "hello" else []
        if op == "hello":
            if self.chance(0.7):
                a.append(("versions", r.choice(([1], [1, 2], [], [0], ["1"],
                                                [2], [None, 1], [1.0]))))
        elif op == "status":
            if self.chance(0.3):
                a.append(("all", self.boolish()))
            if self.chance(0.3):
                a.append(("check", self.boolish()))
        elif op == "list":
            if self.chance(0.4):
                a.append(("all", self.boolish()))
        elif op == "token":
            a += self.token_args()
        elif op == "set_token":
            # A runtime override: printable ASCII, 1 to 16384 bytes.
            if self.chance(0.9):
                tok = "".join(chr(r.randint(0x21, 0x7e)) for _ in
                              range(r.choice((1, 8, 40))))
                a.append(("token", tok if self.chance(0.8)
                          else self.odd_string()))
        # Mutations: members of the wrong type, unknown members.
        if a and self.chance(0.3):
            for _ in range(r.randint(1, 2)):
                i = r.randrange(len(a))
                a[i] = (a[i][0], self.value())
        if self.chance(0.15):
            a.append((self.name(), self.value()))
        r.shuffle(a)
        return Obj(a)

    def request(self, rid, op, pad=0):
        """One request body (bytes); mostly valid, sometimes mutated at
        the top level. pad: an unknown member making it about that big."""
        r = self.r
        m = [("v", 1), ("id", rid), ("op", op)]
        if op != "hello" or self.chance(0.5):
            m.append(("args", self.args(op)))
        if self.chance(0.12):
            i = r.randrange(len(m) + 1)
            k = r.randrange(5)
            if i == len(m):
                m.append((r.choice(("event", "ok", "result", "error",
                                    "data", "")), self.value()))
            elif k == 0:
                del m[i]                # a member missing
            elif k == 1:
                m[i] = (m[i][0], self.value())
            elif k == 2:
                m.insert(r.randrange(len(m) + 1), (m[i][0], self.value()))
            elif m[i][0] == "op":
                m[i] = ("op", r.choice((self.name(64, 64), self.name(65, 65),
                                        "", "HELLO", "status ", "hello\x00",
                                        self.unicode(3), self.name())))
            elif m[i][0] == "id":
                m[i] = ("id", r.choice((None, -1, 1.5, 2**53 - 1, 2**53, "1",
                                        True, 0, 1e2, Raw("1e999"))))
            elif m[i][0] == "v":
                m[i] = ("v", r.choice((0, 2, "1", 1.0, None, 1.5, -1, 2**64,
                                       Raw("1e0"))))
        if pad:
            m.append(("pad", Raw("[" + ",".join(["0"] * (pad // 2)) + "]")))
        if self.chance(0.2):
            r.shuffle(m)
        return self.dump(Obj(m)).encode("utf-8", "surrogatepass")

    def dump(self, v):
        if isinstance(v, Raw):
            return str(v)
        if isinstance(v, Obj):
            sep = self.r.choice(("", "", "", " ", "\n", "\t", "\r\n"))
            return "{" + sep + ("," + sep).join(
                self.dump(k) + ":" + sep + self.dump(x) for k, x in v) + \
                sep + "}"
        if isinstance(v, list):
            return "[" + ",".join(self.dump(x) for x in v) + "]"
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=self.chance(0.5))
        if isinstance(v, bool) or v is None:
            return json.dumps(v)
        if isinstance(v, float):
            return repr(v) if v == v and abs(v) != float("inf") else \
                json.dumps(v)
        return str(v)

    def corrupt(self, body):
        """Break a body's text: the frame then fails and the daemon
        closes the connection (bad_frame), or not (whitespace)."""
        r = self.r
        b = bytearray(body)
        k = r.randrange(9)
        if k == 0 and len(b) > 1:
            del b[r.randrange(1, len(b)):]
        elif k == 1:
            i = r.randrange(len(b))
            b[i] ^= 1 << r.randrange(8)
        elif k == 2:
            b.insert(r.randrange(len(b) + 1), 0)
        elif k == 3:
            bad = r.choice((b"\xff", b"\xc0\xaf", b"\xed\xa0\x80",
                            b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80",
                            b"\xf8\x88\x80\x80\x80"))
            i = r.randrange(len(b) + 1)
            b[i:i] = bad
        elif k == 4:
            b += r.choice((b"x", b"{}", b"\x00", b",", b" 1", b"]"))
        elif k == 5:
            b[:0] = b"\xef\xbb\xbf"
        elif k == 6:
            b = bytearray(b"[" + bytes(b) + b"]")
        elif k == 7:
            b += r.choice((b" ", b"\n", b"\t\r\n", b" " * 100))
        else:
            b = bytearray(r.choice((b"null", b"1", b'"s"', b"[]", b"{",
                                    b"}", b"{}", b'{"v":1}', b"true")))
        return bytes(b)

    def frame(self, body):
        return struct.pack(">I", len(body)) + body

    def bad_length(self):
        """A frame whose header is wrong (section 2): each ends the
        connection, or garbles the framing."""
        r = self.r
        k = r.randrange(9)
        if k == 0:
            return b"\0\0\0\0" + (self.request(1, "hello")
                                  if self.chance(0.5) else b"")
        if k == 1:
            return struct.pack(">I", 1) + r.choice((b"{", b" ", b"}", b"\0",
                                                    b"1"))
        if k == 2:
            # The largest frame: a valid request padded with whitespace.
            body = self.request(r.randint(0, 99), op="hello")
            return self.frame(body + b" " * (MAX_FRAME - len(body)))
        if k == 3:
            body = self.request(1, self.op())
            return struct.pack(">I", MAX_FRAME + 1) + body
        if k == 4:
            return struct.pack(">I", 0xFFFFFFFF) + self.request(1, self.op())
        if k == 5:
            return struct.pack(">I", r.choice((2**31, 2**24, 65535 * 2,
                                               r.randrange(2**32))))
        if k == 6:
            body = self.request(1, self.op())
            n = max(1, len(body) + r.choice((-3, -1, 1, 2, 100)))
            return struct.pack(">I", n) + body + self.request(2, self.op())
        if k == 7:
            # A body over the limit with its true length.
            body = self.request(1, "status", pad=MAX_FRAME + 10)
            return self.frame(body)
        return r.choice((b"\0", b"\0\0", b"\0\0\0"))

    def garbage(self):
        r = self.r
        n = r.choice((1, 3, 4, 5, 64, 1024, r.randint(1, 8192)))
        data = bytes(r.getrandbits(8) for _ in range(n))
        if self.chance(0.3):
            # Plausible header, random body.
            data = struct.pack(">I", len(data)) + data
        return data


# ---------------------------------------------------------------- clients


class Client:
    """One fuzzing connection: its script, its buffer, its counts."""

    def __init__(self, fz, idx, read_mode):
        self.fz, self.idx, self.read_mode = fz, idx, read_mode
        self.s = None
        self.buf = b""
        self.eof = False
        self.stalled = False
        self.closed = False
        self.actions = collections.deque()
        self.linger = 0
        self.ops = {}           # request id -> operation, for the counts

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.fz.sock)
        except OSError as e:
            s.close()
            self.fz.count("connect failed: " + errno.errorcode.get(
                e.errno, str(e.errno)))
            self.closed = True
            return
        s.setblocking(False)
        self.s = s
        self.fz.count("connections")

    def send(self, data):
        if self.s is None or self.closed or self.stalled:
            self.fz.count("sends skipped")
            return
        deadline = time.monotonic() + 0.5
        view = memoryview(data)
        while view:
            try:
                n = self.s.send(view)
                view = view[n:]
                self.fz.sent += n
                continue
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                self.fz.count("sends after close")
                self.closed_by_peer()
                return
            # The daemon stops reading a client that does not read
            # (section 5): read while waiting, unless this one never reads.
            if self.read_mode != "none":
                self.drain(0)
            left = deadline - time.monotonic()
            if left <= 0:
                self.fz.count("sends stalled")
                self.stalled = True
                return
            select.select([], [self.s], [], min(left, 0.05))

    def closed_by_peer(self):
        if not self.eof:
            self.eof = True
            self.fz.count("closed by authd")

    def drain(self, wait):
        """Read what is there (waiting up to `wait` seconds for the first
        bytes) and check every whole frame."""
        if self.s is None or self.closed or self.eof:
            return
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            rd, _, _ = select.select([self.s], [], [], max(left, 0))
            if not rd:
                return
            try:
                chunk = self.s.recv(1 << 20)
            except BlockingIOError:
                return
            except ConnectionResetError:
                self.closed_by_peer()
                return
            if not chunk:
                self.closed_by_peer()
                # Legitimate when this client did not read its replies
                # for the 5 s grace of a closing connection (section 6).
                if self.buf:
                    self.fz.count("EOF inside a frame")
                return
            self.buf += chunk
            self.parse()
            deadline = time.monotonic()     # only the first read waits

    def parse(self):
        while len(self.buf) >= 4:
            (n,) = struct.unpack(">I", self.buf[:4])
            check(0 < n <= MAX_FRAME, self.fz.where(
                "authd sent a frame length of %d" % n))
            if len(self.buf) < 4 + n:
                return
            body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
            m = self.fz.check_reply(body)
            op = self.ops.get(m.get("id"))
            if op and "event" not in m:
                self.fz.count("%s %s" % (op, "ok" if m["ok"] else
                                         m["error"]["code"]))

    def close(self, how="close"):
        if self.s is None or self.closed:
            return
        if how == "shutdown":
            try:
                self.s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self.fz.count("half-closed")
            return
        self.s.close()
        self.closed = True


# ---------------------------------------------------------------- fuzzer


class Fuzzer:
    def __init__(self, env, daemon, seed, verbose):
        self.env, self.daemon, self.seed = env, daemon, seed
        self.sock = env.sock
        self.verbose = verbose
        self.round = None
        self.counts = collections.Counter()
        self.total = collections.Counter()
        self.sent = 0
        self.lingering = []

    def where(self, what):
        r = self.round
        return ("%s (seed %d, round %d; reproduce: AUTHD_BUILD_DIR=%s "
                "python3 tests/fuzz/sockfuzz.py --seed %d --rounds %d, or "
                "that round alone: --seed %d --only-round %d)" %
                (what, self.seed, r, harness.BUILD, self.seed, r + 1,
                 self.seed, r))

    def count(self, what, n=1):
        self.counts[what] += n

    def check_reply(self, body):
        """Every frame authd sends follows sections 2 and 3."""
        try:
            m = json.loads(body.decode("utf-8"))
        except ValueError as e:
            raise Failure(self.where("authd sent a frame that is not UTF-8 "
                                     "JSON (%s): %r" % (e, body[:200])))
        ok = isinstance(m, dict) and m.get("v") == 1 and \
            type(m.get("v")) is int
        rid = m.get("id", "missing") if isinstance(m, dict) else None
        ok = ok and (rid is None or (type(rid) is int and
                                     0 <= rid <= 2**53 - 1))
        if ok and "event" in m:
            ok = isinstance(m["event"], str) and \
                isinstance(m.get("data", {}), (dict, type(None)))
            self.count("replies: event")
        elif ok:
            if m.get("ok") is True:
                ok = isinstance(m.get("result"), dict)
                self.count("replies: ok")
            elif m.get("ok") is False:
                err = m.get("error")
                ok = isinstance(err, dict) and \
                    isinstance(err.get("code"), str) and \
                    isinstance(err.get("message"), str)
                if ok:
                    self.count("replies: " + err["code"])
            else:
                ok = False
        check(ok, self.where("authd sent a malformed message: %r" %
                             body[:300]))
        return m

    # ------------------------------------------------------------ scripts

    def script(self, g, c, style):
        """The actions of one connection, in its order."""
        a = c.actions
        r = g.r
        rid = r.randint(0, 3)

        def send_split(data):
            # Split at random points, with small pauses.
            if g.chance(0.6) or len(data) < 2:
                a.append(("send", data))
                return
            cuts = sorted(r.sample(range(1, len(data)),
                                   min(len(data) - 1, r.randint(1, 8))))
            prev = 0
            for cut in cuts + [len(data)]:
                a.append(("send", data[prev:cut]))
                if g.chance(0.5):
                    a.append(("pause", r.choice((0, 1, 2, 5, 10))))
                prev = cut
            self.count("frames split")

        def req(op=None, pad=0):
            nonlocal rid
            rid += 1
            op = op or g.op()
            c.ops[rid] = op
            body = g.request(rid, op, pad=pad)
            if g.chance(0.04):
                body = g.corrupt(body)
                self.count("frames corrupted")
            self.count("frames")
            return g.frame(body)

        if style == "normal":
            for _ in range(r.randint(1, 12)):
                send_split(req())
                if g.chance(0.5):
                    a.append(("read", r.choice((0, 0.01, 0.05))))
        elif style == "pipeline":
            n = r.choice((8, INFLIGHT_CAP - 1, INFLIGHT_CAP,
                          INFLIGHT_CAP + 1, 40, 45))
            pad = r.choice((0, 0, 0, 1000, 60000))
            ops = [g.op(pending=g.chance(0.8)) for _ in range(n)]
            data = b"".join(req(op, pad) for op in ops)
            self.count("pipelines")
            self.count("pipelined requests", n)
            if g.chance(0.5):
                send_split(data)
            else:
                a.append(("send", data))
            if g.chance(0.5):
                send_split(req("hello"))
            a.append(("read", r.choice((0, 0.02, 0.1))))
        elif style == "slow":
            for _ in range(r.randint(1, 3)):
                data = req()
                # Its first bytes a few at a time, then at most 8 chunks.
                cut = 0
                while cut < len(data):
                    step = r.randint(1, 7) if cut < 64 else \
                        max(1, (len(data) - 64) // 8)
                    a.append(("send", data[cut:cut + step]))
                    a.append(("pause", r.choice((0, 1, 3))))
                    cut += step
                self.count("frames sent slowly")
        elif style == "garbage":
            a.append(("send", g.garbage()))
            self.count("garbage")
        elif style == "badlen":
            if g.chance(0.5):
                send_split(req())
            send_split(g.bad_length())
            self.count("bad lengths")
        elif style == "abort":
            # A request that stays in flight, then close at once (or
            # mid-way through the next frame).
            for _ in range(r.randint(1, 3)):
                a.append(("send", req(g.op(pending=True))))
            if g.chance(0.5):
                nxt = req()
                a.append(("send", nxt[:r.randint(1, len(nxt) - 1)]))
                self.count("closed mid-frame")
            a.append(("close",))
            self.count("aborted")
        elif style == "halfclose":
            for _ in range(r.randint(1, 4)):
                a.append(("send", req()))
            a.append(("shutdown",))
            a.append(("read", 0.05))
        # How the connection ends, unless the script closed it already.
        if style not in ("abort",):
            k = r.random()
            if k < 0.12:
                nxt = req()
                a.append(("send", nxt[:r.randint(1, len(nxt) - 1)]))
                a.append(("close",))
                self.count("closed mid-frame")
            elif k < 0.2:
                c.linger = r.randint(1, 3)
                if g.chance(0.5):
                    nxt = req()
                    a.append(("send", nxt[:r.randint(1, len(nxt) - 1)]))

    def run_round(self, rnd):
        """One round; returns its counts."""
        self.round = rnd
        self.counts = collections.Counter()
        self.sent = 0
        g = Gen(random.Random("%d/%d" % (self.seed, rnd)))
        r = g.r
        t0 = time.monotonic()
        self.maintain(g)
        styles = ("normal", "normal", "normal", "pipeline", "slow",
                  "garbage", "badlen", "abort", "halfclose")
        clients = []
        for i in range(r.randint(1, 6)):
            mode = r.choice(("all", "all", "some", "none"))
            c = Client(self, i, mode)
            self.script(g, c, r.choice(styles))
            clients.append(c)
        if g.chance(0.1):
            # A burst past the connection cap: the extra ones get `busy`.
            for i in range(MAX_CONNS + 4):
                c = Client(self, len(clients), "some")
                c.actions.append(("read", 0))
                clients.append(c)
            self.count("bursts")
        hup_at = r.randrange(sum(len(c.actions) for c in clients)) \
            if g.chance(0.08) else None
        # Interleave the scripts.
        live = [c for c in clients if c.actions]
        step = 0
        while live:
            c = r.choice(live)
            if c.s is None and not c.closed:
                c.connect()
            act = c.actions.popleft()
            self.act(c, act)
            if step == hup_at:
                self.daemon.proc.send_signal(signal.SIGHUP)
                self.count("SIGHUP")
            step += 1
            if not c.actions:
                live.remove(c)
        # Replies the readers wait for; then the connections end.
        for c in clients:
            if c.read_mode == "all":
                c.drain(0.05)
            elif c.read_mode == "some":
                c.drain(0)
        for c in list(self.lingering):
            c.linger -= 1
            c.drain(0)
            if c.linger <= 0:
                c.close()
                self.lingering.remove(c)
        for c in clients:
            if c.linger and not c.closed and len(self.lingering) < 3:
                self.lingering.append(c)
                self.count("lingering")
            else:
                c.close()
        self.after_round()
        self.counts["ms"] = int((time.monotonic() - t0) * 1000)
        self.counts["bytes sent"] = self.sent
        return self.counts

    def act(self, c, act):
        kind = act[0]
        if kind == "send":
            c.send(act[1])
        elif kind == "pause":
            if not (c.closed or c.eof or c.stalled):
                time.sleep(act[1] / 1000.0)
        elif kind == "read":
            if c.read_mode != "none":
                c.drain(act[1])
        elif kind == "close":
            c.close()
        elif kind == "shutdown":
            c.close("shutdown")

    # ------------------------------------------------------------ checks

    def alive(self):
        if self.daemon.proc.poll() is not None:
            raise Failure(self.where("authd exited with status %s" %
                                     self.daemon.proc.returncode) +
                          self.reports_text())
        reports = sanitizer_reports()
        check(not reports, self.where("sanitizer report") +
              self.reports_text())

    def reports_text(self):
        out = ""
        for p in sanitizer_reports()[:3]:
            with open(p, errors="replace") as f:
                out += "\n--- %s ---\n%s" % (p, f.read()[:6000])
        return out

    def hello(self):
        """A new connection is served: hello answers (retried while the
        cap is still full of this round's connections)."""
        def attempt():
            self.alive()
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            try:
                s.connect(self.sock)
                s.sendall(harness.encode({"v": 1, "id": 7, "op": "hello"}))
                buf = b""
                while len(buf) < 4 or len(buf) < 4 + struct.unpack(
                        ">I", buf[:4])[0]:
                    chunk = s.recv(65536)
                    if not chunk:
                        return False
                    buf += chunk
            except (OSError, socket.timeout):
                return False
            finally:
                s.close()
            m = json.loads(buf[4:])
            if m.get("id") is None and m.get("error", {}).get("code") == \
                    "busy":
                return False
            check(m.get("id") == 7 and m.get("ok") is True,
                  self.where("hello after the round: %r" % m))
            return True
        wait_for(attempt, self.where("authd to answer hello"), timeout=20)

    def after_round(self):
        self.alive()
        self.hello()

    def tb_status(self, profile=None):
        args = ["--json"] + (["--profile", profile] if profile else []) + \
            ["status"]
        r = self.env.tb(*args, timeout=60)
        check(r.returncode in (0, 3), self.where(
            "tb status: exit %d: %s %s" % (r.returncode, r.stdout,
                                           r.stderr)))
        return json.loads(r.stdout)

    # ------------------------------------------------------------ logins

    def maintain(self, g):
        """Every few rounds (drawn from the round's seed), log a profile
        in again if fuzzed logouts logged it out, so that token, list,
        status check and logout keep reaching their deep paths."""
        if not g.chance(0.2):
            return
        for p in PROFILES:
            if self.tb_status(p).get("logged_in"):
                continue
            self.login(p)
            self.count("logins again")
            return

    def login(self, profile):
        idp = self.env.fuzz_idp
        lg = Login(self.env, "--no-browser",
                   extra_env={"TB_PROFILE": profile})
        uri, code = lg.code()
        check(uri != "exited", self.where("tb login --profile %s: %s" %
                                          (profile, code)))
        idp.approve(uri, code=code)
        rc, out, err = lg.wait()
        # A fuzzed login_cancel or logout of this round can end it.
        check(rc in (0, 6), self.where("tb login --profile %s: exit %d: %s"
                                       % (profile, rc, err)))


def has_sanitizers(path):
    with open(path, "rb") as f:
        data = f.read()
    return b"AddressSanitizer" in data, b"UndefinedBehaviorSanitizer" in data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int,
                    default=int(os.environ["AUTHD_FUZZ_SEED"])
                    if os.environ.get("AUTHD_FUZZ_SEED") else None)
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("AUTHD_FUZZ_SECONDS", 30)))
    ap.add_argument("--rounds", type=int, default=10000)
    ap.add_argument("--only-round", type=int)
    ap.add_argument("--require-asan", action="store_true",
                    help="fail unless authd has ASan and UBSan and their "
                    "reports go to AUTHD_SANITIZER_LOG_DIR")
    ap.add_argument("-v", "--verbose", action="store_true")
    o = ap.parse_args()
    seed = o.seed if o.seed is not None else \
        int.from_bytes(os.urandom(4), "big")
    if o.only_round is not None:
        rounds = [o.only_round]
    else:
        rounds = range(o.rounds)
    print("sockfuzz: seed %d (reproduce with --seed %d), up to %d rounds "
          "in %g s" % (seed, seed, len(rounds), o.seconds), flush=True)

    def fuzz_socket(env):
        asan, ubsan = has_sanitizers(harness.AUTHD)
        logdir = os.environ.get("AUTHD_SANITIZER_LOG_DIR")
        print("authd %s: %s; sanitizer reports %s" % (
            harness.AUTHD, "ASan+UBSan" if asan and ubsan else
            "ASan" if asan else "no sanitizers",
            "checked in " + logdir if logdir else "not checked"))
        if o.require_asan:
            check(asan and ubsan, "authd is not built with ASan and UBSan")
            check(logdir, "AUTHD_SANITIZER_LOG_DIR is not set")
        idp = IdP(env, "--interval", "1")
        env.fuzz_idp = idp
        d = os.path.join(env.home, ".config", "authd")
        os.makedirs(d)
        with open(os.path.join(d, "config.ini"), "w") as f:
            f.write("store = memory\naudit_log = %s\n"
                    "[profile default]\nissuer = %s\nclient_id = tb-cli\n"
                    "audience = %s\nverify_jwt = true\n"
                    "[profile work]\nissuer = %s\nclient_id = tb-cli\n"
                    "audience = %s\nmint = refresh\n"
                    "[profile ep]\nissuer = %s\nclient_id = tb-cli\n"
                    "audience = %s\nmint = endpoint\n"
                    "mint_endpoint = %s/mint/{project}\n" % (
                        os.path.join(env.dir, "audit.log"), idp.issuer,
                        API, idp.issuer, API, idp.issuer, API,
                        idp.issuer))
        daemon = env.start("--max-connections", str(MAX_CONNS),
                           "--idle-timeout", str(IDLE_TIMEOUT))
        fz = Fuzzer(env, daemon, seed, o.verbose)
        fz.round = -1
        fz.login("default")
        fz.login("work")
        fz.login("ep")
        t0 = time.monotonic()
        done = 0
        for rnd in rounds:
            if time.monotonic() - t0 > o.seconds:
                break
            counts = fz.run_round(rnd)
            fz.total.update(counts)
            done += 1
            print("round %d: %s" % (rnd, ", ".join(
                "%s %d" % kv for kv in sorted(counts.items()))), flush=True)
        fz.round = rounds[done - 1] if done else -1
        for c in fz.lingering:
            c.drain(0)
        st = fz.tb_status()
        check(st.get("profile") == "default", fz.where(
            "tb status: %r" % st))
        # Lingering connections (partial frames, pending logins) are
        # still open: SIGTERM must cope with them.
        try:
            daemon.stop()
        except Failure as e:
            # Its message ends with authd's log, which run() shows too.
            raise Failure(fz.where("at SIGTERM after the last round: %s" %
                                   str(e).split("; log:")[0]) +
                          fz.reports_text())
        check(not sanitizer_reports(), fz.where("sanitizer report at exit")
              + fz.reports_text())
        t = fz.total
        print("sockfuzz: seed %d: %d rounds in %.1f s: %d connections, "
              "%d frames (%d pipelined, %d corrupted, %d split), %d bad "
              "lengths, %d garbage, %d aborted; %d MB sent; replies: %s; "
              "authd alive after every round, tb status answered, exit 0 "
              "on SIGTERM, no sanitizer report" % (
                  seed, done, time.monotonic() - t0, t["connections"],
                  t["frames"], t["pipelined requests"],
                  t["frames corrupted"], t["frames split"],
                  t["bad lengths"], t["garbage"], t["aborted"],
                  t["bytes sent"] // 1000000, ", ".join(
                      "%s %d" % (k[9:], v) for k, v in sorted(t.items())
                      if k.startswith("replies: "))))
        # How far each operation got: its successes among its replies.
        print("sockfuzz: final replies by operation (ok/all): " + ", ".join(
            "%s %d/%d" % (op, t[op + " ok"], sum(
                v for k, v in t.items() if k.startswith(op + " ")))
            for op in OPS))
        if o.verbose:
            print("sockfuzz: replies by operation and code: " + ", ".join(
                "%s %d" % kv for kv in sorted(t.items())
                if kv[0].split(" ")[0] in OPS))

    sys.argv = sys.argv[:1]
    harness.run({"fuzz_socket": fuzz_socket})


if __name__ == "__main__":
    main()
