"""A scripted fault server: an "identity provider" that misbehaves on
purpose, for the faults a real provider cannot produce on demand. Each
mode has its own issuer, http://127.0.0.1:PORT/MODE, whose discovery
document points at endpoints under the same prefix:

  ok        a device authorization that stays pending (for comparisons)
  5xx       device authorization answers 503 with an HTML page
  hang      device authorization never answers
  badjson   device authorization answers 200 with broken JSON
  huge      device authorization answers 200 with a body over 256 KiB
  reset     device authorization sends half a body and closes
  ratelimit polls answer 429 with Retry-After: 3, then pending
  slowdown  every poll answers slow_down
  lying     discovery has no device_authorization_endpoint
  html      discovery answers 200 with a proxy's HTML page
  redirect  discovery answers 302 to the ok issuer's document
  badurl    discovery's device endpoint is plain http to a public host
  hugedisco discovery answers a 200 KiB document (its cap is 128 KiB)
  wrongiss  discovery names another issuer
  busy5xx   polls answer 503 with Retry-After: 3, then pending
  latin1    the first poll logs in; the id_token's and userinfo's names
            hold a Latin-1 byte (not UTF-8)
  rotate    the first poll logs in (4 s access token, refresh token
            rt-1); a refresh with rt-1 answers a rotated refresh token
            (rt-2) and no access token; one with rt-2 answers at-2 and
            rt-3; any other refresh is invalid_grant
  refuse400 the first poll logs in (2 s access token, a refresh token);
            every refresh answers a bare 400 (no body); the revocation
            endpoint answers 200
  refuse401 the same, the refreshes answer a bare 401, and revocation
            answers a bare 401 (it wants client authentication)
  refusehtml the same, the refreshes answer 400 with an HTML page
  refresh503 the same, the refreshes answer 503 with an HTML page
  nodevice  device authorization answers 400 unauthorized_client (the
            client may not use the device grant)
  badmint   POST .../mint (a mint endpoint) answers 200 with an unsigned
            JWT for another audience (https://other.test)
  bare403   POST .../mint answers a bare 403 (no body)
  html403   POST .../mint answers 403 with an HTML page

Usage: python3 faultd.py READY_FILE [LOG_FILE [CERT KEY]]; writes
{"port": N} to READY_FILE once listening; logs one JSON line per request
to LOG_FILE (for rotate, with the form's grant_type and refresh_token:
its tokens are fakes). With CERT and KEY (PEM) the same modes are also
served over TLS on "tls_port", as https://127.0.0.1:TLS_PORT/MODE.
"""
import base64
import json
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


LOG = None
LOCK = threading.Lock()


def log(entry):
    if LOG is None:
        return
    entry["t"] = time.time() * 1000
    with LOCK, open(LOG, "a") as f:
        f.write(json.dumps(entry) + "\n")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_jwt(payload):
    """An unsigned JWT whose payload is these bytes (not re-encoded)."""
    return "%s.%s.c2ln" % (b64url(b'{"alg":"none"}'), b64url(payload))


# Modes whose first poll logs in, and what their refreshes answer.
REFUSE = {
    "refuse400": (400, "", "text/plain"),
    "refuse401": (401, "", "text/plain"),
    "refusehtml": (400, "<html><body>Bad Request</body></html>",
                   "text/html"),
    "refresh503": (503, "<html>upstream down</html>", "text/html"),
}

# latin1: "Andr\xe9" and "J\xf6rg" in ISO 8859-1, not UTF-8.
LATIN1_ID = b'{"sub":"s\xe9b","name":"Andr\xe9","aud":"x"}'
LATIN1_USERINFO = (b'{"sub":"s\xe9b","preferred_username":"J\xf6rg",'
                   b'"email":"j\xf6rg@example.test","name":"other"}')


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json", headers=()):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def issuer(self, mode):
        scheme = "https" if getattr(self.server, "tls", False) else "http"
        return "%s://127.0.0.1:%d/%s" % (scheme, self.server.server_port,
                                         mode)

    def do_GET(self):
        parts = self.path.split("/")
        mode = parts[1] if len(parts) > 1 else ""
        log({"method": "GET", "mode": mode, "path": self.path})
        if self.path.endswith("/.well-known/openid-configuration"):
            if mode == "html":
                return self.send(200, "<html>please log in to the "
                                 "proxy</html>", "text/html")
            if mode == "redirect":
                return self.send(302, "", "text/plain", headers=[(
                    "Location", self.issuer("ok") +
                    "/.well-known/openid-configuration")])
            if mode == "hugedisco":
                return self.send(200, '{"pad":"' + "x" * 200000 + '"}')
            iss = self.issuer(mode)
            doc = {"issuer": iss, "token_endpoint": iss + "/token",
                   "grant_types_supported": [
                       "urn:ietf:params:oauth:grant-type:device_code"]}
            if mode == "wrongiss":
                doc["issuer"] = self.issuer("ok")
            if mode == "latin1":
                doc["userinfo_endpoint"] = iss + "/userinfo"
            if mode in REFUSE:
                doc["revocation_endpoint"] = iss + "/revoke"
            if mode == "badurl":
                doc["device_authorization_endpoint"] = \
                    "http://idp.example.com/device"
            elif mode != "lying":
                doc["device_authorization_endpoint"] = iss + "/device"
            return self.send(200, json.dumps(doc))
        if mode == "latin1" and parts[-1] == "userinfo":
            return self.send(200, LATIN1_USERINFO)
        self.send(404, '{"error":"not_found"}')

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(n).decode("latin-1"))
        grant = form.get("grant_type", [""])[0]
        parts = self.path.split("/")
        mode = parts[1] if len(parts) > 1 else ""
        what = parts[-1]
        entry = {"method": "POST", "mode": mode, "path": self.path}
        if mode == "rotate" or mode in REFUSE:
            entry["grant_type"] = grant
        if mode == "rotate":
            entry["refresh_token"] = form.get("refresh_token", [""])[0]
        log(entry)
        if what == "mint":
            if mode == "badmint":
                now = int(time.time())
                tok = unsigned_jwt(json.dumps({
                    "sub": "alice", "aud": "https://other.test",
                    "scope": "project:prj_123", "iat": now,
                    "exp": now + 300}).encode())
                return self.send(200, json.dumps({"token": tok,
                                                  "expires_in": 300}))
            if mode == "bare403":
                return self.send(403, "", "text/plain")
            if mode == "html403":
                return self.send(403, "<!DOCTYPE html><html>Forbidden by "
                                 "the proxy</html>", "text/html")
        if what == "revoke" and mode in REFUSE:
            if mode == "refuse401":
                return self.send(401, "", "text/plain")
            return self.send(200, "")
        if what == "device":
            if mode == "nodevice":
                return self.send(400, json.dumps({
                    "error": "unauthorized_client",
                    "error_description": "The client is not authorized "
                    "to use the device authorization grant"}))
            if mode == "5xx":
                return self.send(503, "<html>upstream down</html>",
                                 "text/html")
            if mode == "hang":
                time.sleep(3600)
                return None
            if mode == "badjson":
                return self.send(200, '{"device_code": "x", "user_co')
            if mode == "huge":
                return self.send(200, '{"pad":"' + "x" * 300000 + '"}')
            if mode == "reset":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b'{"device_code": "abc", ')
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return None
            iss = self.issuer(mode)
            return self.send(200, json.dumps({
                "device_code": "dc-" + mode, "user_code": "FAUL-TTTT",
                "verification_uri": iss + "/activate",
                "expires_in": 20 if mode == "slowdown" else 30,
                "interval": 1}))
        if what == "token" and mode == "latin1":
            return self.send(200, json.dumps({
                "access_token": "at-latin1", "refresh_token": "rt-latin1",
                "token_type": "Bearer", "expires_in": 3600,
                "id_token": unsigned_jwt(LATIN1_ID)}))
        if what == "token" and mode in REFUSE:
            if grant != "refresh_token":
                return self.send(200, json.dumps({
                    "access_token": "at-" + mode,
                    "refresh_token": "rt-" + mode,
                    "token_type": "Bearer", "expires_in": 2}))
            return self.send(*REFUSE[mode])
        if what == "token" and mode == "rotate":
            if grant != "refresh_token":
                return self.send(200, json.dumps({
                    "access_token": "at-1", "refresh_token": "rt-1",
                    "token_type": "Bearer", "expires_in": 4}))
            rt = form.get("refresh_token", [""])[0]
            if rt == "rt-1":
                return self.send(200, json.dumps({
                    "refresh_token": "rt-2", "token_type": "Bearer"}))
            if rt == "rt-2":
                return self.send(200, json.dumps({
                    "access_token": "at-2", "refresh_token": "rt-3",
                    "token_type": "Bearer", "expires_in": 3600}))
            return self.send(400, '{"error":"invalid_grant",'
                             '"error_description":"rotated out"}')
        if what == "token":
            if mode == "busy5xx":
                polls = getattr(self.server, "busy_polls", 0) + 1
                self.server.busy_polls = polls
                if polls <= 2:
                    return self.send(503, "<html>busy</html>", "text/html",
                                     headers=[("Retry-After", "3")])
            if mode == "ratelimit":
                polls = getattr(self.server, "polls", 0) + 1
                self.server.polls = polls
                if polls <= 2:
                    return self.send(429, '{"error":"slow_down_please"}',
                                     headers=[("Retry-After", "3")])
            if mode == "slowdown":
                return self.send(400, '{"error":"slow_down",'
                                 '"error_description":"easy"}')
            return self.send(400, '{"error":"authorization_pending"}')
        self.send(404, '{"error":"not_found"}')


def main():
    global LOG
    ready = sys.argv[1]
    LOG = sys.argv[2] if len(sys.argv) > 2 else None
    srv = Server(("127.0.0.1", 0), Handler)
    info = {"port": srv.server_port}
    if len(sys.argv) > 4:
        import ssl
        tls = Server(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        tls.tls = True
        info["tls_port"] = tls.server_port
        threading.Thread(target=tls.serve_forever, daemon=True).start()
    with open(ready + ".tmp", "w") as f:
        json.dump(info, f)
    import os
    os.rename(ready + ".tmp", ready)
    srv.serve_forever()


if __name__ == "__main__":
    main()
