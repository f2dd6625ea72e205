/*
 * The one error table of authd: every failure that can reach a user or a
 * client has a value here, a stable wire name, a default message, an optional
 * hint and the exit status tb maps it to (SPEC.md section 3).
 *
 * Zero is success; errors are negative and grouped by area. Wire names never
 * change once released: clients match on them.
 */
#ifndef AUTHD_ERROR_H
#define AUTHD_ERROR_H

enum authd_err {
	AUTHD_OK = 0,

	/* Protocol: -1 .. -19 */
	AUTHD_E_BAD_FRAME = -1,		/* not a JSON object, bad UTF-8, ... */
	AUTHD_E_FRAME_TOO_LARGE = -2,
	AUTHD_E_BAD_REQUEST = -3,	/* a field is missing or has a bad type */
	AUTHD_E_UNKNOWN_OP = -4,
	AUTHD_E_VERSION = -5,		/* unsupported protocol version */
	AUTHD_E_PEER_DENIED = -6,	/* SO_PEERCRED uid check failed */
	AUTHD_E_BUSY = -7,		/* connection or request cap reached */
	AUTHD_E_IDLE_TIMEOUT = -8,
	AUTHD_E_SHUTTING_DOWN = -9,
	AUTHD_E_EMPTY_FRAME = -10,

	/* Client side I/O: -20 .. -39 */
	AUTHD_E_UNREACHABLE = -20,	/* nothing listens on the socket */
	AUTHD_E_NO_SOCKET_PATH = -21,	/* no $AUTHD_SOCK, no $XDG_RUNTIME_DIR */
	AUTHD_E_IO = -22,		/* the connection broke mid-request */
	AUTHD_E_TIMEOUT = -23,		/* the daemon did not answer in time */
	AUTHD_E_AUTOSTART = -24,	/* starting authd failed */
	AUTHD_E_BAD_REPLY = -25,	/* the daemon's reply made no sense */

	/* HTTP and identity provider transport: -40 .. -59 */
	AUTHD_E_IDP_UNREACHABLE = -40,
	AUTHD_E_IDP_TIMEOUT = -41,
	AUTHD_E_IDP_HTTP = -42,		/* unexpected HTTP status */
	AUTHD_E_IDP_BAD_REPLY = -43,	/* not the JSON we expected */
	AUTHD_E_INSECURE_URL = -44,	/* http:// to a non-loopback host */
	AUTHD_E_IDP_UNSUPPORTED = -45,	/* discovery lacks a needed feature */
	AUTHD_E_IDP_NOT_JSON = -46,	/* a reply that is not JSON at all */
	AUTHD_E_CLOCK_SKEW = -47,	/* our clock is far from the provider's */

	/* OAuth: -60 .. -79 */
	AUTHD_E_NOT_LOGGED_IN = -60,
	AUTHD_E_ACCESS_DENIED = -61,
	AUTHD_E_INVALID_SCOPE = -62,
	AUTHD_E_INVALID_TARGET = -63,
	AUTHD_E_EXPIRED = -64,		/* device code expired */
	AUTHD_E_CANCELLED = -65,	/* login cancelled */
	AUTHD_E_TOKEN_REJECTED = -66,	/* the IdP no longer accepts our grant */
	AUTHD_E_OAUTH = -67,		/* any other OAuth error reply */
	AUTHD_E_UNAUTHORIZED_CLIENT = -68, /* the client may not use a grant */
	AUTHD_E_INVALID_CLIENT = -69,	/* client unknown or its auth failed */
	AUTHD_E_FORWARD_DENIED = -70,	/* not allowed through a forward */
	AUTHD_E_POLICY_DENIED = -71,	/* a [policy] rule does not allow it */
	AUTHD_E_LOCKED = -75,		/* tb lock: no token until tb unlock */
	AUTHD_E_BAD_PASSPHRASE = -76,	/* tb unlock with another passphrase */
	AUTHD_E_CONFIRM_DENIED = -77,	/* confirm = yes: not confirmed */
	AUTHD_E_NO_PERSON = -72,	/* an interactive login with no one there */

	/* Storage: -80 .. -99 */
	AUTHD_E_STORE_LOCKED = -80,
	AUTHD_E_STORE_UNAVAILABLE = -81,
	AUTHD_E_STORE_TIMEOUT = -82,
	AUTHD_E_STORE = -83,

	/* Policy, configuration, usage: -100 .. -119 */
	AUTHD_E_USAGE = -100,
	AUTHD_E_UNKNOWN_PROFILE = -101,
	AUTHD_E_NOT_CONFIGURED = -102,
	AUTHD_E_CONFIG = -103,
	AUTHD_E_LIMIT = -104,

	AUTHD_E_INTERNAL = -120,
};

/* tb exit statuses (SPEC.md section 3). */
#define TB_EXIT_OK		0
#define TB_EXIT_ERROR		1
#define TB_EXIT_USAGE		2
#define TB_EXIT_NOT_LOGGED_IN	3
#define TB_EXIT_UNREACHABLE	4
#define TB_EXIT_DENIED		5
#define TB_EXIT_EXPIRED		6
#define TB_EXIT_NO_PERSON	7	/* no one to log in: CI, no terminal */

/*
 * authd's exit status when another daemon holds the socket (its lock, or a
 * live socket): of several daemons autostarted at once, the losers exit
 * with it, and their clients connect to the winner. Clients test this
 * status, never authd's message. authd's other statuses (authd(8)): 0 ok,
 * 1 error, 2 usage, 4 store in use.
 */
#define AUTHD_EXIT_RUNNING	3
/*
 * authd's exit status when another daemon holds its credential store
 * (another socket on the same file store or keyring). Not "running": that
 * daemon does not serve our socket, so a client must not wait for it.
 */
#define AUTHD_EXIT_STORE_BUSY	4

struct authd_error_info {
	enum authd_err	 err;
	const char	*code;		/* stable wire name */
	const char	*message;	/* default human message */
	const char	*hint;		/* what to do, or NULL */
	int		 exit_status;	/* tb exit status */
};

/* Table lookup; unknown values map to the AUTHD_E_INTERNAL row. */
const struct authd_error_info	*authd_error_info(int);
/* Lookup by wire name; NULL when unknown (a newer daemon's code). */
const struct authd_error_info	*authd_error_by_code(const char *);
const char			*authd_error_code(int);
const char			*authd_error_message(int);
const char			*authd_error_hint(int);
int				 authd_error_exit_status(int);
/* The table itself, for tests and documentation; ends with a NULL code. */
const struct authd_error_info	*authd_error_table(void);

#endif /* AUTHD_ERROR_H */
