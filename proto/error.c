/*
 * The error table. One row per enum authd_err value; see error.h.
 */
#include "error.h"

#include <stddef.h>
#include <string.h>

static const struct authd_error_info authd_errors[] = {
	{ AUTHD_OK, "ok", "success", NULL, TB_EXIT_OK },

	{ AUTHD_E_BAD_FRAME, "bad_frame",
	  "malformed message: a frame must hold one JSON object", NULL,
	  TB_EXIT_ERROR },
	{ AUTHD_E_FRAME_TOO_LARGE, "frame_too_large",
	  "message larger than 65536 bytes", NULL, TB_EXIT_ERROR },
	{ AUTHD_E_BAD_REQUEST, "bad_request",
	  "malformed request", NULL, TB_EXIT_ERROR },
	{ AUTHD_E_UNKNOWN_OP, "unknown_op",
	  "unknown operation",
	  "the daemon may be older than tb: restart authd", TB_EXIT_ERROR },
	{ AUTHD_E_VERSION, "version_mismatch",
	  "unsupported protocol version",
	  "tb and authd come from different releases: restart authd",
	  TB_EXIT_ERROR },
	{ AUTHD_E_PEER_DENIED, "peer_denied",
	  "authd serves only its own user",
	  "point AUTHD_SOCK at your own daemon's socket", TB_EXIT_UNREACHABLE },
	{ AUTHD_E_BUSY, "busy",
	  "authd is at its connection or request limit",
	  "retry shortly; check for a client that leaks connections",
	  TB_EXIT_ERROR },
	{ AUTHD_E_IDLE_TIMEOUT, "idle_timeout",
	  "connection closed after being idle", NULL, TB_EXIT_ERROR },
	{ AUTHD_E_SHUTTING_DOWN, "shutting_down",
	  "authd is shutting down", "retry: a new daemon will be started",
	  TB_EXIT_UNREACHABLE },
	{ AUTHD_E_EMPTY_FRAME, "empty_frame",
	  "zero-length message", NULL, TB_EXIT_ERROR },

	{ AUTHD_E_UNREACHABLE, "daemon_unreachable",
	  "cannot reach authd",
	  "start it with 'eval \"$(authd)\"' or "
	  "'systemctl --user enable --now authd.socket'",
	  TB_EXIT_UNREACHABLE },
	{ AUTHD_E_NO_SOCKET_PATH, "no_socket_path",
	  "no socket path: neither AUTHD_SOCK nor XDG_RUNTIME_DIR is set",
	  "set AUTHD_SOCK to the daemon's socket", TB_EXIT_UNREACHABLE },
	{ AUTHD_E_IO, "io_error",
	  "connection to authd failed", "check that authd is still running",
	  TB_EXIT_UNREACHABLE },
	{ AUTHD_E_TIMEOUT, "timeout",
	  "authd did not answer in time",
	  "check that authd is not stopped or overloaded",
	  TB_EXIT_UNREACHABLE },
	{ AUTHD_E_AUTOSTART, "autostart_failed",
	  "could not start authd",
	  "start it by hand with 'authd --foreground' to see why",
	  TB_EXIT_UNREACHABLE },
	{ AUTHD_E_BAD_REPLY, "bad_reply",
	  "authd sent a reply tb does not understand",
	  "tb and authd may come from different releases: restart authd",
	  TB_EXIT_ERROR },

	{ AUTHD_E_IDP_UNREACHABLE, "idp_unreachable",
	  "cannot reach the identity provider",
	  "check the network and the issuer URL", TB_EXIT_ERROR },
	{ AUTHD_E_IDP_TIMEOUT, "idp_timeout",
	  "the identity provider did not answer in time",
	  "retry later; check the network", TB_EXIT_ERROR },
	{ AUTHD_E_IDP_HTTP, "idp_error",
	  "the identity provider returned an error", NULL, TB_EXIT_ERROR },
	/*
	 * No hint: most malformed replies come from the provider itself (a
	 * member missing, a minted token that fails its checks), and the
	 * message says what. A reply that is not JSON at all is
	 * idp_not_json, whose hint names the likely cause.
	 */
	{ AUTHD_E_IDP_BAD_REPLY, "idp_bad_reply",
	  "the identity provider sent a malformed reply", NULL,
	  TB_EXIT_ERROR },
	{ AUTHD_E_INSECURE_URL, "insecure_url",
	  "refusing a non-https URL",
	  "use https:// (plain http:// is allowed only to loopback)",
	  TB_EXIT_ERROR },
	{ AUTHD_E_IDP_UNSUPPORTED, "idp_unsupported",
	  "the identity provider lacks a required feature", NULL,
	  TB_EXIT_ERROR },
	{ AUTHD_E_IDP_NOT_JSON, "idp_not_json",
	  "the identity provider's reply is not JSON",
	  "check the issuer URL; a proxy or a captive portal may be answering "
	  "instead of the identity provider", TB_EXIT_ERROR },
	{ AUTHD_E_CLOCK_SKEW, "clock_skew",
	  "this machine's clock is far from the identity provider's",
	  "set the clock right: 'timedatectl set-ntp true' (or start chrony "
	  "or ntpd); tokens are checked against their issue and expiry times",
	  TB_EXIT_ERROR },

	{ AUTHD_E_NOT_LOGGED_IN, "not_logged_in",
	  "not logged in", "run 'tb login'", TB_EXIT_NOT_LOGGED_IN },
	{ AUTHD_E_ACCESS_DENIED, "access_denied",
	  "access denied by the identity provider", NULL, TB_EXIT_DENIED },
	{ AUTHD_E_INVALID_SCOPE, "invalid_scope",
	  "the identity provider refused the requested scope",
	  "check the project and scope you asked for", TB_EXIT_DENIED },
	{ AUTHD_E_INVALID_TARGET, "invalid_target",
	  "the identity provider refused the requested audience",
	  "check the audience you asked for", TB_EXIT_DENIED },
	{ AUTHD_E_EXPIRED, "expired_token",
	  "the login code expired before it was approved",
	  "run 'tb login' again and approve within the time shown",
	  TB_EXIT_EXPIRED },
	{ AUTHD_E_CANCELLED, "login_cancelled",
	  "login cancelled", NULL, TB_EXIT_EXPIRED },
	{ AUTHD_E_TOKEN_REJECTED, "token_rejected",
	  "the identity provider no longer accepts your login",
	  "run 'tb login'", TB_EXIT_NOT_LOGGED_IN },
	{ AUTHD_E_OAUTH, "oauth_error",
	  "the identity provider refused the request", NULL, TB_EXIT_ERROR },
	{ AUTHD_E_UNAUTHORIZED_CLIENT, "unauthorized_client",
	  "the identity provider does not allow this client that grant",
	  "the grant named above must be enabled for this client_id at the "
	  "identity provider: ask its administrator", TB_EXIT_DENIED },
	{ AUTHD_E_INVALID_CLIENT, "invalid_client",
	  "the identity provider does not accept this client",
	  "check client_id, client_auth and client_secret (or client_key) in "
	  "the profile (config.ini) against the client registered at the "
	  "identity provider", TB_EXIT_ERROR },
	{ AUTHD_E_FORWARD_DENIED, "forward_denied",
	  "not allowed through this forwarded socket",
	  "a forwarded socket (tb forward) serves only the project tokens its "
	  "owner allowed; ask on the machine that runs authd for anything "
	  "else", TB_EXIT_DENIED },
	{ AUTHD_E_POLICY_DENIED, "policy_denied",
	  "a [policy] rule of authd's configuration does not allow this",
	  "see which rule applies and why: tb policy explain --pid PID (or "
	  "--exe PATH)", TB_EXIT_DENIED },
	{ AUTHD_E_LOCKED, "locked",
	  "authd is locked: it serves no token",
	  "run 'tb unlock' with the passphrase given to 'tb lock'",
	  TB_EXIT_DENIED },
	{ AUTHD_E_CONFIRM_DENIED, "confirm_denied",
	  "the use of the token was not confirmed",
	  "answer the confirmation dialog (authd runs AUTHD_ASKPASS, or "
	  "SSH_ASKPASS on a display), or remove 'confirm' from the profile or "
	  "[policy] rule", TB_EXIT_DENIED },
	{ AUTHD_E_BAD_PASSPHRASE, "bad_passphrase",
	  "wrong passphrase: authd stays locked",
	  "run 'tb unlock' again with the passphrase given to 'tb lock' (each "
	  "wrong one makes the next answer wait longer)", TB_EXIT_DENIED },
	{ AUTHD_E_NO_PERSON, "interactive_login_refused",
	  "no one is here to log in: this looks like automation (CI is set, "
	  "or neither standard input nor standard error is a terminal), and "
	  "the profile's login needs a person",
	  "log in without a person: pipe a token to 'tb login --with-token', "
	  "set AUTHD_TOKEN in authd's environment, or use a profile with "
	  "grant = jwt-bearer or grant = federated (CI workload identity); "
	  "if a person is here, set TB_INTERACTIVE=1", TB_EXIT_NO_PERSON },

	{ AUTHD_E_STORE_LOCKED, "keyring_locked",
	  "the keyring is locked",
	  "unlock your login keyring (for example by logging in to the desktop)",
	  TB_EXIT_ERROR },
	{ AUTHD_E_STORE_UNAVAILABLE, "store_unavailable",
	  "no credential store is reachable",
	  "start a Secret Service (gnome-keyring) or set 'store = file' in "
	  "config.ini", TB_EXIT_ERROR },
	{ AUTHD_E_STORE_TIMEOUT, "store_timeout",
	  "the credential store did not answer in time",
	  "check the keyring daemon", TB_EXIT_ERROR },
	{ AUTHD_E_STORE, "store_error",
	  "the credential store failed", NULL, TB_EXIT_ERROR },

	{ AUTHD_E_USAGE, "usage", "invalid usage", "see 'tb --help'",
	  TB_EXIT_USAGE },
	{ AUTHD_E_UNKNOWN_PROFILE, "unknown_profile",
	  "no such profile",
	  "see 'tb profile list'; add one with 'tb profile add'",
	  TB_EXIT_USAGE },
	{ AUTHD_E_NOT_CONFIGURED, "not_configured",
	  "no identity provider is configured",
	  "add a profile with 'tb profile add NAME --issuer URL --client-id "
	  "ID', or set AUTHD_ISSUER and AUTHD_CLIENT_ID for authd",
	  TB_EXIT_ERROR },
	{ AUTHD_E_CONFIG, "config_error",
	  "invalid configuration", NULL, TB_EXIT_ERROR },
	{ AUTHD_E_LIMIT, "limit_reached",
	  "a limit of authd was reached", NULL, TB_EXIT_ERROR },

	{ AUTHD_E_INTERNAL, "internal",
	  "internal error", "see authd's log", TB_EXIT_ERROR },

	{ 0, NULL, NULL, NULL, 0 }
};

const struct authd_error_info *
authd_error_table(void)
{
	return authd_errors;
}

const struct authd_error_info *
authd_error_info(int err)
{
	const struct authd_error_info	*e;

	for (e = authd_errors; e->code != NULL; e++) {
		if ((int)e->err == err)
			return e;
	}
	return authd_error_info(AUTHD_E_INTERNAL);
}

const struct authd_error_info *
authd_error_by_code(const char *code)
{
	const struct authd_error_info	*e;

	if (code == NULL)
		return NULL;
	for (e = authd_errors; e->code != NULL; e++) {
		if (strcmp(e->code, code) == 0)
			return e;
	}
	return NULL;
}

const char *
authd_error_code(int err)
{
	return authd_error_info(err)->code;
}

const char *
authd_error_message(int err)
{
	return authd_error_info(err)->message;
}

const char *
authd_error_hint(int err)
{
	return authd_error_info(err)->hint;
}

int
authd_error_exit_status(int err)
{
	return authd_error_info(err)->exit_status;
}
