/*
 * Requests: the dispatch table of operations and the reply helpers.
 *
 * Each operation lives in its own req-NAME.c file and exports one
 * struct req_entry. A handler either replies before returning, or keeps the
 * request (asynchronous operations such as login) and replies later; if the
 * client goes away first, the request's cancel callback runs and the request
 * is freed, so nothing may keep a pointer to it after that.
 */
#ifndef AUTHD_REQ_H
#define AUTHD_REQ_H

#include <stdint.h>
#include <sys/queue.h>

#include <cjson/cJSON.h>

#include "msg.h"

struct authd;
struct account;
struct conn;
struct profile;

/* Flags of a table row, checked before the handler runs. */
#define REQ_PROFILE	0x1	/* resolve args.profile into req->profile */
#define REQ_ASYNC	0x2	/* the handler may reply after returning */
#define REQ_FORWARD	0x4	/* served through a forwarded socket too */
#define REQ_SECRET	0x8	/* serves or changes a credential: refused
				   with AUTHD_E_LOCKED while locked */

/*
 * A handler's return, checked by the dispatcher (req_check_outcome):
 * REQ_DONE      it has replied;
 * REQ_PENDING   it kept the request and replies later (REQ_ASYNC rows);
 * negative      an error the dispatcher replies with (nothing sent yet).
 * Anything else (done without a reply, pending with one, a reply and an
 * error) is a bug: authd stops with a message naming the operation.
 */
#define REQ_DONE	0
#define REQ_PENDING	1

struct req;

/*
 * What the proof op signs: copies, kept while the request waits for its
 * token (req-token.c); freed with the request.
 */
struct req_proof {
	char	*method;
	char	*url;
	char	*nonce;		/* may be NULL */
};

struct req_entry {
	const char	*name;
	int		 flags;
	/* REQ_DONE, REQ_PENDING or an error to reply with. */
	int		(*handler)(struct req *);
};

struct req {
	TAILQ_ENTRY(req)	 entry;		/* on the connection's list */
	struct conn		*conn;
	const struct req_entry	*op;
	struct msg_request	 msg;		/* owns the parsed frame */
	uint64_t		 id;
	const cJSON		*args;		/* may be NULL */
	const char		*profile_name;	/* owned: profile_name_buf */
	char			*profile_name_buf;
	struct profile		*profile;	/* with REQ_PROFILE, may be NULL */
	void			(*cancel_cb)(struct req *, void *);
	void			*cancel_arg;
	int			 in_handler;	/* free deferred to its end */
	int			 sending;	/* its final frame is queued */
	int			 replied;
	int			 aborted;	/* its connection went meanwhile */
	size_t			 cost;		/* its frame's bytes, while alive */
	struct req_proof	*proof;		/* the proof op's, else NULL */
};

/*
 * Handle one frame body from conn. Returns 0, or a framing-level error after
 * which the connection must be closed (an error reply was already queued).
 */
int	req_handle_frame(struct conn *, const void *body, size_t len);

/* Final replies: each frees the request. */
void	req_reply(struct req *, cJSON *result);	/* takes ownership */
void	req_error(struct req *, int err, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	req_error_hint(struct req *, int err, const char *hint,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* An intermediate event frame (takes ownership of data). */
void	req_event(struct req *, const char *event, cJSON *data);
/* Called (then the request freed) if the client goes away first. */
void	req_set_cancel(struct req *, void (*)(struct req *, void *), void *);
/* Connection teardown: cancel and free. */
void	req_abort(struct req *);

/*
 * The dispatcher's check of a handler's return: NULL when rc agrees with
 * whether it replied (and may keep the request), else what is wrong.
 */
const char *req_check_outcome(int flags, int rc, int replied);

/*
 * An audit record for the peer of r (NULL: the daemon's own work);
 * target is taken (may be NULL).
 */
void	req_audit(struct authd *, struct req *, const char *event,
	    const char *profile, cJSON *target, const char *result,
	    const char *detail);

/* The status object of SPEC.md section 3 (req-status.c; never a token). */
cJSON	*req_status_json(struct authd *, struct account *);

/* The table, for hello's list of operations. NULL-terminated. */
const struct req_entry *const *req_table(void);

#endif /* AUTHD_REQ_H */
