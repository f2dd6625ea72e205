"""A client of authd in Python with only the standard library, written
from proto/PROTOCOL.md alone: it proves the document is enough.

    from authd_client import Client
    with Client() as c:
        print(c.call("status"))
        print(c.call("token", project="prj_123")["token"])
"""
import json
import os
import socket
import struct

MAX_FRAME = 65536


class AuthdError(Exception):
    def __init__(self, error):
        super().__init__("%s: %s" % (error.get("code"), error.get("message")))
        self.code = error.get("code")
        self.message = error.get("message")
        self.hint = error.get("hint")


def socket_path(path=None):
    path = path or os.environ.get("AUTHD_SOCK")
    if path:
        return path
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if not runtime:
        raise AuthdError({"code": "no_socket_path",
                          "message": "neither AUTHD_SOCK nor "
                                     "XDG_RUNTIME_DIR is set"})
    return os.path.join(runtime, "authd", "socket")


class Client:
    def __init__(self, path=None, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(socket_path(path))
        self.next_id = 1
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def _read_frame(self):
        while len(self.buf) < 4:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("authd closed the connection")
            self.buf += chunk
        (n,) = struct.unpack(">I", self.buf[:4])
        if not 0 < n <= MAX_FRAME:
            raise ValueError("bad frame length %d" % n)
        while len(self.buf) < 4 + n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("authd closed the connection")
            self.buf += chunk
        body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return json.loads(body.decode("utf-8"))

    def call(self, op, on_event=None, **args):
        """Send op with args; events go to on_event(name, data); returns
        the result object or raises AuthdError."""
        rid = self.next_id
        self.next_id += 1
        body = json.dumps({"v": 1, "id": rid, "op": op, "args": args},
                          separators=(",", ":")).encode("utf-8")
        if len(body) > MAX_FRAME:
            raise ValueError("request too large")
        self.sock.sendall(struct.pack(">I", len(body)) + body)
        while True:
            msg = self._read_frame()
            if msg.get("id") not in (rid, None):
                continue
            if "event" in msg:
                if on_event:
                    on_event(msg["event"], msg.get("data") or {})
                continue
            if msg.get("ok"):
                return msg.get("result") or {}
            raise AuthdError(msg.get("error") or {})
