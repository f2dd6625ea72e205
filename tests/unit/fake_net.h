/*
 * Link-time fakes of daemon/http.h and daemon/disco.h for unit tests.
 *
 * A test that links fake_net.c gets these definitions of every http_* and
 * disco_* function instead of http.o and disco.o from the authdcore
 * archive (the linker takes an archive member only for a symbol still
 * undefined, and fake_net.c defines them all). Nothing touches the
 * network: every request the code under test makes is recorded and stays
 * pending until the test answers it (fake_req_answer, fake_req_fail);
 * every discovery lookup likewise (fake_disco_answer, fake_disco_fail).
 * As with the real modules, no callback ever runs from inside
 * http_submit or disco_get.
 *
 * The records outlive the code under test's handles: a request answered or
 * cancelled keeps its record (state, method, URL, form, headers, times)
 * until fake_net_reset, while the handle itself is freed then, so that a
 * use after the end is caught by ASan and valgrind.
 */
#ifndef AUTHD_FAKE_NET_H
#define AUTHD_FAKE_NET_H

#include <sys/queue.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

struct event_base;
struct http_req;
struct disco_waiter;
struct oauth_meta;
struct authd;
struct profile;

/* What became of a request or a lookup. */
#define FAKE_NEW	0	/* made, not submitted (requests only) */
#define FAKE_PENDING	1	/* submitted, waiting for the test */
#define FAKE_ANSWERED	2	/* the callback ran */
#define FAKE_CANCELLED	3	/* http_cancel / disco_cancel: no callback */

struct fake_req {
	TAILQ_ENTRY(fake_req)	 entry;
	int			 n;		/* 1, 2, ... as submitted */
	int			 state;		/* FAKE_* */
	char			*method;
	char			*url;
	char			*content_type;	/* of the body, or NULL */
	char			*body;		/* NUL-terminated, or NULL */
	size_t			 body_len;
	cJSON			*form;		/* a form body, decoded */
	cJSON			*headers;	/* by name; Authorization too */
	long			 timeout_ms;
	size_t			 max_body;
	struct timespec		 submitted;	/* CLOCK_MONOTONIC */
	struct http_req		*handle;	/* NULL once ended */
};

struct fake_disco {
	TAILQ_ENTRY(fake_disco)	 entry;
	int			 n;		/* 1, 2, ... as looked up */
	int			 state;		/* FAKE_PENDING and later */
	char			*issuer;
	struct disco_waiter	*handle;	/* NULL once ended */
};

/* ---- requests ---- */
/* Requests submitted since the last reset. */
int		 fake_req_count(void);
/* The oldest pending request, or NULL. */
struct fake_req	*fake_req_pending(void);
/* The nth request submitted (1-based), or NULL. */
struct fake_req	*fake_req_nth(int);
/* A form field of the body, decoded, or NULL. */
const char	*fake_req_form(const struct fake_req *, const char *key);
/* A header (case-insensitive name), or NULL: "Bearer x", "Basic y". */
const char	*fake_req_header(const struct fake_req *, const char *name);
/*
 * Answer a pending request: status and a JSON body (NULL: empty), as a
 * 200-class or error reply of the provider; a body over the request's
 * max_body fails as the real one does. The callback runs inside the call.
 */
void		 fake_req_answer(struct fake_req *, long status,
		     const char *body);
/* Fail it at the transport: err (an AUTHD_E_IDP_*) and a message. */
void		 fake_req_fail(struct fake_req *, int err, const char *errmsg);
/* Milliseconds from a to b (CLOCK_MONOTONIC). */
long		 fake_ms_between(const struct timespec *a,
		     const struct timespec *b);
/* Milliseconds since t. */
long		 fake_ms_since(const struct timespec *t);

/* ---- discovery ---- */
int		 fake_disco_count(void);
struct fake_disco *fake_disco_pending(void);
/* Answer a pending lookup with m (which the test keeps). */
void		 fake_disco_answer(struct fake_disco *,
		     const struct oauth_meta *m);
void		 fake_disco_fail(struct fake_disco *, int err,
		     const char *cause);
/*
 * Metadata with every endpoint under issuer ("/device", "/token",
 * "/revoke", "/introspect", "/userinfo", "/jwks"), all grants listed;
 * free with oauth_meta_clear.
 */
void		 fake_meta_init(struct oauth_meta *, const char *issuer);

/* ---- tokens ---- */
/*
 * An unsigned-looking JWT (header.payload.signature, base64url) whose
 * payload is the JSON text claims; allocated.
 */
char		*fake_jwt(const char *claims);

/* ---- the loop ---- */
/*
 * Run the loop until cond(arg) holds, or ms have passed (a timer wakes the
 * loop: no sleeping, no spinning). Returns cond(arg).
 */
int		 fake_run_until(struct event_base *, int (*cond)(void *),
		     void *arg, long ms);
/* Run the loop for ms, whatever happens. */
void		 fake_run_for(struct event_base *, long ms);
/* The oldest pending request, running the loop up to ms for one. */
struct fake_req	*fake_wait_req(struct event_base *, long ms);
struct fake_disco *fake_wait_disco(struct event_base *, long ms);

/*
 * Forget every record. Returns how many requests and lookups the code
 * under test still holds open (0 after a clean teardown).
 */
/*
 * A daemon's worth of context in *ad, as authd.c's main builds it, keeping
 * ad's event base and worker (the process's): fake http and discovery,
 * the memory store, and one profile "default" for issuer and client_id
 * (returned; the caller makes its account).
 */
struct profile	*fake_authd_init(struct authd *, const char *issuer,
		     const char *client_id);
int		 fake_net_reset(void);

#endif /* AUTHD_FAKE_NET_H */
