/*
 * The device authorization grant (RFC 8628), one flow per profile: discover,
 * ask for a code, tell every waiting client, poll the token endpoint no
 * faster than allowed, and finish once. Clients join a pending flow rather
 * than start another; when the last one leaves, the flow is cancelled.
 */
#ifndef AUTHD_FLOW_H
#define AUTHD_FLOW_H

struct account;
struct req;

/* Longest wait between polls while the provider is unreachable. */
#define FLOW_MAX_BACKOFF	60

/*
 * Join the account's pending login, or start one. The request gets a "code"
 * event as soon as the code is known and its final reply when the flow ends.
 * Returns 0 (the request is kept) or an error to reply with.
 */
int	flow_join(struct account *, struct req *);
/*
 * Cancel the pending login: every waiter gets err. A login whose tokens
 * have already arrived is not cancelled (it is finishing). 1 when a
 * login was cancelled.
 */
int	flow_cancel(struct account *, int err, const char *message);
/* A login is pending (not yet logged in). */
int	flow_pending(const struct account *);
/* Drop the flow without replying (the account is going away). */
void	flow_abort(struct account *);

#endif /* AUTHD_FLOW_H */
