/*
 * The daemon-wide context: one per process, owned by authd.c and passed to
 * every module that needs the event base or the limits.
 */
#ifndef AUTHD_AUTHD_H
#define AUTHD_AUTHD_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdint.h>
#include <time.h>

#ifndef AUTHD_VERSION
#define AUTHD_VERSION "0.0.0"
#endif

/* Defaults of the limits (SPEC.md section 8). */
#define AUTHD_MAX_CONNS		4096
#define AUTHD_IDLE_TIMEOUT	120	/* seconds without a request */
#define AUTHD_SHUTDOWN_GRACE	3	/* seconds to flush replies on exit */
/* Seconds a refresh in flight at exit may take to finish (http.c's
 * timeout of one request, and some). */
#define AUTHD_SHUTDOWN_REFRESH	20

struct event_base;
struct server;
struct worker;
struct profiles;
struct config;
struct conn;
struct account;
struct flow;
struct http;
struct disco;
struct secret;
struct store;
struct mint;
struct audit;
struct jwks;
struct lock;
struct idp_nonces;

struct authd {
	struct event_base	*base;
	struct server		*server;
	struct worker		*worker;	/* keyring and other blocking calls */
	struct config		*config;	/* the file's, or the env's */
	struct profiles		*profiles;	/* config->profiles */
	const char		*config_path;	/* --config, or NULL */
	struct http		*http;		/* libcurl multi on the loop */
	struct disco		*disco;		/* discovery cache */
	struct store		*store;		/* credential storage */
	struct mint		*mint;		/* project-token cache */
	struct jwks		*jwks;		/* issuers' signing keys */
	struct idp_nonces	*nonces;	/* DPoP nonces per issuer */
	struct audit		*audit;		/* NULL: off */
	struct lock		*lock;		/* tb lock (lock.c) */
	/*
	 * Wipe the tokens minted under a generation of a that is no longer
	 * current (mint_forget_stale): accounts call it when their own
	 * timers end a credential (account-life.c).
	 */
	void			(*forget_minted)(struct authd *,
				    const struct account *);
	/* tb lock: no token is served, no credential loaded (lock.c). */
	int			 locked;
	struct secret		*env_token;	/* AUTHD_TOKEN, or NULL */
	TAILQ_HEAD(, account)	 accounts;	/* per-profile state */
	TAILQ_HEAD(, flow)	 flows;		/* pending logins (flow.c) */
	TAILQ_HEAD(, forward)	 forwards;	/* forwarded sockets */

	/* Limits. */
	int			 max_conns;
	int			 idle_timeout;

	TAILQ_HEAD(, conn)	 conns;		/* live connections */
	int			 nconns;
	size_t			 pending_bytes;	/* frames of requests in flight */
	uint64_t		 next_serial;	/* connection numbers for logs */

	uid_t			 uid;		/* peers must have this uid */
	time_t			 started;
	int			 exiting;	/* SIGTERM/SIGINT received */
};

/* Begin a clean exit: stop accepting, flush replies, leave the loop. */
void	authd_shutdown(struct authd *);
/* The profile used when a request names none. */
const char *authd_default_profile(const struct authd *);

#endif /* AUTHD_AUTHD_H */
