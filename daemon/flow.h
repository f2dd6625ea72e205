/*
 * The device authorization grant (RFC 8628), one flow per profile: discover,
 * ask for a code, tell every waiter, poll the token endpoint no faster than
 * allowed, install the login, complete the identity, save, and finish
 * once. Callers join a pending flow rather than start another; when the
 * last one leaves before the tokens arrived, the flow is cancelled.
 *
 * The flow knows nothing of requests or connections: each waiter gets
 * events and its end through callbacks (req-login.c turns them into event
 * frames, replies and the audit record).
 */
#ifndef AUTHD_FLOW_H
#define AUTHD_FLOW_H

#include <cjson/cJSON.h>

struct account;
struct authd;
struct flow_waiter;

/* Longest wait between polls while the provider is unreachable. */
#define FLOW_MAX_BACKOFF	60

/* An event for every waiter: "code" (data: the code event of PROTOCOL.md),
 * "browse" (the browser login's) or "retrying"; data is the waiter's to keep (it takes ownership). */
typedef void	(*flow_event_fn)(const char *event, cJSON *data, void *arg);
/* The waiter's end: 0 (logged in) or an error with a message. */
typedef void	(*flow_done_fn)(struct account *, int err, const char *message,
		    void *arg);
/*
 * The login's end, once per login (not when aborted): first_arg is the arg
 * of the waiter that has waited longest, or NULL when none is left. It
 * runs before the waiters' done callbacks.
 */
typedef void	(*flow_end_fn)(struct account *, int err, const char *message,
		    void *first_arg);

struct flow_ops {
	flow_event_fn	 event;
	flow_done_fn	 done;
	flow_end_fn	 end;
};

/*
 * Join the account's pending login, or start one: the device flow, or
 * with browser the browser login (authorization code with PKCE and a
 * loopback redirect). A joiner joins whichever is pending. The ops
 * outlive the flow (a static table). A late joiner gets the "code" (or
 * "browse") event at once.
 */
struct flow_waiter *flow_wait(struct authd *, struct account *, int browser,
		    const struct flow_ops *, void *arg);
/* The waiter leaves (no callback); the last one takes a pending flow. */
void		 flow_waiter_cancel(struct flow_waiter *);
/*
 * Cancel the pending login: every waiter gets err. A login whose tokens
 * have already arrived is not cancelled (it is finishing). 1 when a
 * login was cancelled.
 */
int		 flow_cancel(struct authd *, struct account *, int err,
		     const char *message);
/* A login is pending (not yet logged in). */
int		 flow_pending(struct authd *, const struct account *);
/* Stop the flow, finishing or not: waiters get err, there is no end. */
void		 flow_abort(struct authd *, struct account *, int err,
		     const char *message);
/* Cancel every pending login (shutdown). */
void		 flows_cancel(struct authd *, int err, const char *message);
/* Every flow, at exit. */
/* Every pending login ends with err (tb lock). */
void		 flows_abort(struct authd *, int err, const char *message);
void		 flows_free(struct authd *);

#endif /* AUTHD_FLOW_H */
