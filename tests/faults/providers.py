"""Provider personalities: loopback stand-ins that answer the way each
provider's documentation (docs/PROVIDERS.md) says the real one does, for
the behaviours a standards-following test provider (tests/idp) cannot
show: no discovery, form-encoded replies, errors in 200 replies, 428s,
templated issuers, numbers as strings, tokens that never expire. Each
personality has its own path prefix on one plain-http loopback port, and
approves a login by itself after a few polls (the user's part is not what
these tests are about; tests/idp plays it with a real browser).

  github    no discovery; OAuth replies form-encoded unless the request
            accepts application/json; device-flow errors in HTTP 200
            replies; slow_down with a new "interval" (2 s); a token with
            no expiry and no refresh token (scope comma-separated); the
            identity at GET /github/user (403 without a User-Agent); no
            revocation endpoint
            endpoints: /github/login/device/code,
            /github/login/oauth/access_token, /github/user
  google    no discovery needed (fixed endpoints); "verification_url";
            the client secret required in the form at the token endpoint
            (invalid_client otherwise); 428 for a pending code; a 4 s
            access token, a refresh that brings no new refresh token;
            POST /google/revoke
            endpoints: /google/device/code, /google/token,
            /google/revoke, /google/userinfo, /google/certs
  entra     discovery at /entra/TENANT/v2.0 whose issuer is the template
            /entra/{tenantid}/v2.0; numbers as strings; a "message";
            AADSTS codes; a refresh that rotates without revoking the old
            token; no revocation endpoint. TENANT "declined" declines
            (authorization_declined), "blocked" is Conditional Access
            (invalid_grant, AADSTS53003)
  auth0     discovery at /auth0/ (issuer with a trailing slash); 403 for a
            pending code; the access token a JWT for the "audience" given
            at the device request (opaque without one); rotating refresh
            tokens; /auth0/oauth/revoke takes refresh tokens only
  gitlab    discovery at /gitlab; invalid_scope for "offline_access";
            2-hour tokens (4 s here), refresh rotating (the old one
            invalid); POST /gitlab/oauth/revoke answers {}
  bare400   discovery at /bare400; a login with a 4 s access token; a
            refresh refused with a bare HTTP 400 (no body)

Approval: polls 1 and 2 of a device code are pending (github: pending,
then slow_down), the next one logs in.

Usage: python3 providers.py READY_FILE [LOG_FILE]; writes {"port": N} to
READY_FILE once listening; logs one JSON line per request to LOG_FILE
(method, path, Accept, User-Agent, the Authorization scheme and the form:
every token here is a fake).
"""
import base64
import json
import os
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlencode


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


LOG = None
LOCK = threading.Lock()
POLLS = {}          # device code -> polls so far
REFRESH = {}        # personality -> the refresh token that works now
ROTATION = {}       # personality -> refreshes so far

AUTO_APPROVE = 3    # the poll that logs in


def log(entry):
    if LOG is None:
        return
    entry["t"] = time.time() * 1000
    with LOCK, open(LOG, "a") as f:
        f.write(json.dumps(entry) + "\n")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_jwt(claims):
    return "%s.%s.c2ln" % (b64url(b'{"alg":"none","typ":"JWT"}'),
                           b64url(json.dumps(claims).encode()))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def base(self):
        return "http://127.0.0.1:%d" % self.server.server_port

    def record(self, form=None):
        auth = self.headers.get("Authorization") or ""
        entry = {"method": self.command, "path": self.path,
                 "accept": self.headers.get("Accept"),
                 "ua": self.headers.get("User-Agent"),
                 "api_version": self.headers.get("X-GitHub-Api-Version"),
                 "auth": auth.split(" ")[0] if auth else None,
                 "bearer": auth[7:] if auth.startswith("Bearer ") else None}
        if form is not None:
            entry["form"] = {k: v[0] for k, v in form.items()}
        log(entry)

    # ---- discovery ----

    def do_GET(self):
        self.record()
        p = self.path.split("?")[0]
        parts = p.split("/")
        who = parts[1] if len(parts) > 1 else ""
        base = self.base()
        if p.startswith("/.well-known/"):
            # RFC 8414's path-inserted form: none of these publish one.
            return self.send(404, {"error": "not_found"})
        if p.endswith("/.well-known/openid-configuration"):
            if who == "entra" and len(parts) >= 4:
                tenant = parts[2]
                t = "%s/entra/%s" % (base, tenant)
                return self.send(200, {
                    # Multi-tenant metadata: the issuer is a template.
                    "issuer": base + "/entra/{tenantid}/v2.0",
                    "device_authorization_endpoint":
                        t + "/oauth2/v2.0/devicecode",
                    "token_endpoint": t + "/oauth2/v2.0/token",
                    "userinfo_endpoint": base + "/entra/oidc/userinfo",
                    "jwks_uri": t + "/discovery/v2.0/keys",
                    "tenant_region_scope": None,
                    "response_types_supported": ["code", "id_token"]})
            if who == "auth0":
                a = base + "/auth0"
                return self.send(200, {
                    "issuer": a + "/",
                    "device_authorization_endpoint": a + "/oauth/device/code",
                    "token_endpoint": a + "/oauth/token",
                    "revocation_endpoint": a + "/oauth/revoke",
                    "userinfo_endpoint": a + "/userinfo",
                    "jwks_uri": a + "/.well-known/jwks.json",
                    "grant_types_supported": [
                        "authorization_code", "refresh_token",
                        "urn:ietf:params:oauth:grant-type:device_code"]})
            if who in ("gitlab", "bare400"):
                g = base + "/" + who
                doc = {"issuer": g,
                       "device_authorization_endpoint":
                           g + "/oauth/authorize_device",
                       "token_endpoint": g + "/oauth/token",
                       "userinfo_endpoint": g + "/oauth/userinfo",
                       "jwks_uri": g + "/oauth/discovery/keys"}
                if who == "gitlab":
                    doc["revocation_endpoint"] = g + "/oauth/revoke"
                    doc["scopes_supported"] = ["api", "read_user", "openid",
                                               "profile", "email"]
                return self.send(200, doc)
            # GitHub and the rest: there is no such document.
            return self.send(404, "Not Found", "text/plain")
        if who == "github" and parts[-1] == "user":
            if not self.headers.get("User-Agent"):
                return self.send(403, {"message": "Request forbidden by "
                                       "administrative rules. Please make "
                                       "sure your request has a User-Agent "
                                       "header"})
            tok = (self.headers.get("Authorization") or "").split(" ")[-1]
            if not tok.startswith("gho_"):
                return self.send(401, {"message": "Bad credentials"})
            return self.send(200, {
                "login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjE=",
                "type": "User", "name": "The Octocat", "company": "@github",
                "email": "octocat@github.test"})
        if who == "google" and parts[-1] == "userinfo":
            return self.send(200, {"sub": "110169484474386276334",
                                   "email": "alice@gmail.test",
                                   "email_verified": True, "name": "Alice"})
        if who == "entra" and parts[-1] == "userinfo":
            return self.send(200, {"sub": "entra-sub-1",
                                   "email": "alice@contoso.test"})
        if who in ("gitlab", "bare400", "auth0") and parts[-1] in (
                "userinfo",):
            return self.send(200, {"sub": who + "-user",
                                   "preferred_username": who + "-alice",
                                   "email": "alice@%s.test" % who})
        self.send(404, {"error": "not_found"})

    # ---- OAuth endpoints ----

    def json_wanted(self):
        return "application/json" in (self.headers.get("Accept") or "")

    def github_reply(self, obj):
        """GitHub: JSON only when asked for; else form-encoded, 200."""
        if self.json_wanted():
            return self.send(200, obj)
        return self.send(200, urlencode(obj),
                         "application/x-www-form-urlencoded")

    def device_reply(self, who, form, extra=None):
        dc = "%s-dc-%d" % (who, len(POLLS) + 1)
        with LOCK:
            POLLS[dc] = 0
        r = {"device_code": dc, "user_code": "PROV-%04d" % len(POLLS),
             "expires_in": 900, "interval": 1}
        r.update(extra or {})
        return r

    def poll(self, form):
        dc = form.get("device_code", [""])[0]
        with LOCK:
            if dc not in POLLS:
                return None
            POLLS[dc] += 1
            return POLLS[dc]

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(n).decode("latin-1"),
                        keep_blank_values=True)
        self.record(form)
        parts = self.path.split("?")[0].split("/")
        who = parts[1] if len(parts) > 1 else ""
        what = "/".join(parts[2:])
        grant = form.get("grant_type", [""])[0]
        handler = getattr(self, "post_" + who, None)
        if handler is None:
            return self.send(404, {"error": "not_found"})
        return handler(what, grant, form)

    # GitHub (OAuth app): https://docs.github.com/en/apps/oauth-apps/
    # building-oauth-apps/authorizing-oauth-apps
    def post_github(self, what, grant, form):
        if what == "login/device/code":
            if not form.get("client_id"):
                return self.send(400, {"error": "invalid_request"})
            r = self.device_reply("github", form, {
                "verification_uri": self.base() + "/github/login/device"})
            return self.github_reply(r)
        if what != "login/oauth/access_token":
            return self.send(404, {"error": "not_found"})
        if grant != "urn:ietf:params:oauth:grant-type:device_code":
            return self.github_reply({"error": "unsupported_grant_type"})
        n = self.poll(form)
        if n is None:
            return self.github_reply({
                "error": "incorrect_device_code",
                "error_description": "The device_code provided is not "
                "valid."})
        if n == 1:
            return self.github_reply({
                "error": "authorization_pending",
                "error_description": "The authorization request is still "
                "pending.", "error_uri": "https://docs.github.com"})
        if n == 2:
            return self.github_reply({
                "error": "slow_down",
                "error_description": "Too many requests have been made in "
                "the same timeframe.", "interval": 2})
        return self.github_reply({
            "access_token": "gho_16C7e42F292c6912E7710c838347Ae178B4a",
            "token_type": "bearer", "scope": "read:user,user:email"})

    # Google: https://developers.google.com/identity/sign-in/devices
    def post_google(self, what, grant, form):
        if what == "device/code":
            r = self.device_reply("google", form, {
                "verification_url": self.base() + "/google/device",
                "expires_in": 1800})
            return self.send(200, r)
        if what == "revoke":
            return self.send(200, "{}")
        if what != "token":
            return self.send(404, {"error": "not_found"})
        if form.get("client_secret", [""])[0] != "google-secret":
            return self.send(401, {
                "error": "invalid_client",
                "error_description": "client_secret is missing."})
        if grant == "refresh_token":
            if form.get("refresh_token", [""])[0] != "1//google-rt":
                return self.send(400, {"error": "invalid_grant",
                                       "error_description": "Bad Request"})
            return self.send(200, {
                "access_token": "ya29.google-at-2", "expires_in": 3599,
                "scope": "openid email profile", "token_type": "Bearer"})
        n = self.poll(form)
        if n is None:
            return self.send(400, {"error": "invalid_grant"})
        if n < AUTO_APPROVE:
            return self.send(428, {"error": "authorization_pending",
                                   "error_description":
                                   "Precondition Required"})
        return self.send(200, {
            "access_token": "ya29.google-at-1", "expires_in": 4,
            "refresh_token": "1//google-rt", "token_type": "Bearer",
            "scope": "openid https://www.googleapis.com/auth/userinfo.email",
            "id_token": unsigned_jwt({
                "iss": "https://accounts.google.com", "aud": "google-client",
                "sub": "110169484474386276334",
                "email": "alice@gmail.test", "exp": int(time.time()) + 3600})
        })

    # Microsoft Entra ID v2.0: https://learn.microsoft.com/entra/
    # identity-platform/v2-oauth2-device-code
    def post_entra(self, what, grant, form):
        tenant = what.split("/")[0]
        if what.endswith("oauth2/v2.0/devicecode"):
            r = self.device_reply("entra-" + tenant, form, {
                "verification_uri": self.base() + "/entra/devicelogin",
                "expires_in": "900", "interval": "1",
                "message": "To sign in, use a web browser to open the page "
                "and enter the code to authenticate."})
            return self.send(200, r)
        if not what.endswith("oauth2/v2.0/token"):
            return self.send(404, {"error": "not_found"})
        if "resource" in form:
            return self.send(400, {
                "error": "invalid_request",
                "error_description": "AADSTS901002: The 'resource' request "
                "parameter isn't supported.", "error_codes": [901002]})
        if grant == "refresh_token":
            rt = form.get("refresh_token", [""])[0]
            if not rt.startswith("entra-rt-"):
                return self.send(400, {"error": "invalid_grant"})
            # A new refresh token each time; the old one still works.
            k = ROTATION.get("entra", 1) + 1
            ROTATION["entra"] = k
            return self.send(200, {
                "token_type": "Bearer", "scope": "profile email",
                "expires_in": "3599", "ext_expires_in": "3599",
                "access_token": "entra-at-%d" % k,
                "refresh_token": "entra-rt-%d" % k})
        n = self.poll(form)
        if n is None:
            return self.send(400, {"error": "invalid_grant",
                                   "error_description": "AADSTS70000"})
        if tenant == "declined":
            return self.send(400, {
                "error": "authorization_declined",
                "error_description": "AADSTS70000: The user declined to "
                "authorize the request.", "error_codes": [70000]})
        if tenant == "blocked":
            return self.send(400, {
                "error": "invalid_grant",
                "error_description": "AADSTS53003: Access has been blocked "
                "by Conditional Access policies. The access policy does not "
                "allow token issuance. Trace ID: 0 Correlation ID: 0",
                "error_codes": [53003]})
        if n < AUTO_APPROVE:
            return self.send(400, {
                "error": "authorization_pending",
                "error_description": "AADSTS70016: OAuth 2.0 device flow "
                "error. Authorization is pending. Continue polling.",
                "error_codes": [70016]})
        return self.send(200, {
            "token_type": "Bearer", "scope": "profile email openid",
            "expires_in": "4", "ext_expires_in": "4",
            "access_token": "entra-at-1", "refresh_token": "entra-rt-1",
            "id_token": unsigned_jwt({
                "iss": self.base() + "/entra/9188040d/v2.0",
                "tid": "9188040d", "sub": "entra-sub-1",
                "preferred_username": "alice@contoso.test",
                "name": "Alice"})})

    # Auth0: https://auth0.com/docs/get-started/authentication-and-
    # authorization-flow/device-authorization-flow
    def post_auth0(self, what, grant, form):
        if what == "oauth/device/code":
            self.server.audience = form.get("audience", [None])[0]
            r = self.device_reply("auth0", form)
            r["verification_uri"] = self.base() + "/auth0/activate"
            r["verification_uri_complete"] = (r["verification_uri"] +
                                              "?user_code=" + r["user_code"])
            return self.send(200, r)
        if what == "oauth/revoke":
            tok = form.get("token", [""])[0]
            if tok.startswith("auth0-rt-"):
                return self.send(200, "")
            return self.send(400, {"error": "invalid_request",
                                   "error_description":
                                   "access tokens cannot be revoked"})
        if what != "oauth/token":
            return self.send(404, {"error": "not_found"})
        if grant == "refresh_token":
            rt = form.get("refresh_token", [""])[0]
            k = ROTATION.get("auth0", 1)
            if rt != "auth0-rt-%d" % k:
                return self.send(403, {"error": "invalid_grant",
                                       "error_description":
                                       "Unknown or invalid refresh token."})
            ROTATION["auth0"] = k + 1
            return self.send(200, {
                "access_token": self.auth0_access(k + 1),
                "refresh_token": "auth0-rt-%d" % (k + 1),
                "expires_in": 86400, "token_type": "Bearer"})
        n = self.poll(form)
        if n is None:
            return self.send(403, {"error": "invalid_grant"})
        if n < AUTO_APPROVE:
            return self.send(403, {
                "error": "authorization_pending",
                "error_description": "User has yet to authorize device "
                "code."})
        ROTATION["auth0"] = 1
        return self.send(200, {
            "access_token": self.auth0_access(1),
            "refresh_token": "auth0-rt-1", "expires_in": 4,
            "token_type": "Bearer", "scope": "openid profile offline_access",
            "id_token": unsigned_jwt({
                "iss": self.base() + "/auth0/", "sub": "auth0|alice",
                "nickname": "alice", "name": "alice@auth0.test"})})

    def auth0_access(self, k):
        aud = getattr(self.server, "audience", None)
        if not aud:
            return "auth0-opaque-at-%d" % k   # good for /userinfo only
        return unsigned_jwt({"iss": self.base() + "/auth0/",
                             "sub": "auth0|alice", "aud": [aud],
                             "exp": int(time.time()) + 3600, "n": k})

    # GitLab: https://docs.gitlab.com/api/oauth2/
    def post_gitlab(self, what, grant, form):
        if what == "oauth/authorize_device":
            scope = form.get("scope", [""])[0].split()
            if "offline_access" in scope:
                return self.send(400, {
                    "error": "invalid_scope",
                    "error_description": "The requested scope is invalid, "
                    "unknown, or malformed."})
            r = self.device_reply("gitlab", form)
            r["verification_uri"] = self.base() + "/gitlab/oauth/device"
            r["verification_uri_complete"] = (r["verification_uri"] +
                                              "?user_code=" + r["user_code"])
            r["expires_in"] = 300
            return self.send(200, r)
        if what == "oauth/revoke":
            return self.send(200, "{}")
        if what != "oauth/token":
            return self.send(404, {"error": "not_found"})
        if grant == "refresh_token":
            rt = form.get("refresh_token", [""])[0]
            k = ROTATION.get("gitlab", 1)
            if rt != "glrt-%d" % k:
                return self.send(400, {
                    "error": "invalid_grant",
                    "error_description": "The provided authorization grant "
                    "is invalid, expired, revoked, does not match the "
                    "redirection URI used in the authorization request, or "
                    "was issued to another client."})
            ROTATION["gitlab"] = k + 1
            return self.send(200, {
                "access_token": "glpat-at-%d" % (k + 1),
                "refresh_token": "glrt-%d" % (k + 1), "expires_in": 7200,
                "token_type": "Bearer", "created_at": int(time.time())})
        n = self.poll(form)
        if n is None:
            return self.send(400, {"error": "invalid_grant"})
        if n < AUTO_APPROVE:
            return self.send(400, {
                "error": "authorization_pending",
                "error_description": "The authorization request is still "
                "pending."})
        ROTATION["gitlab"] = 1
        return self.send(200, {
            "access_token": "glpat-at-1", "refresh_token": "glrt-1",
            "expires_in": 4, "token_type": "Bearer",
            "scope": "openid profile email read_user",
            "created_at": int(time.time()),
            "id_token": unsigned_jwt({"iss": self.base() + "/gitlab",
                                      "sub": "4242",
                                      "email": "alice@gitlab.test"})})

    # A refresh refused with a bare 400 (no body), as some providers do.
    def post_bare400(self, what, grant, form):
        if what == "oauth/authorize_device":
            r = self.device_reply("bare400", form)
            r["verification_uri"] = self.base() + "/bare400/device"
            return self.send(200, r)
        if what != "oauth/token":
            return self.send(404, {"error": "not_found"})
        if grant == "refresh_token":
            return self.send(400, b"", "text/plain")
        n = self.poll(form)
        if n is None:
            return self.send(400, {"error": "invalid_grant"})
        if n < AUTO_APPROVE:
            return self.send(400, {"error": "authorization_pending"})
        return self.send(200, {
            "access_token": "bare-at-1", "refresh_token": "bare-rt-1",
            "expires_in": 4, "token_type": "Bearer"})


def main():
    global LOG
    ready = sys.argv[1]
    LOG = sys.argv[2] if len(sys.argv) > 2 else None
    srv = Server(("127.0.0.1", 0), Handler)
    with open(ready + ".tmp", "w") as f:
        json.dump({"port": srv.server_port}, f)
    os.rename(ready + ".tmp", ready)
    srv.serve_forever()


if __name__ == "__main__":
    main()
