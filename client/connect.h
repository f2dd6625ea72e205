/*
 * The client side of the protocol: find the socket, connect with a timeout
 * (starting authd when nothing listens, unless AUTHD_NO_AUTOSTART=1), send a
 * request and wait for its reply, passing event frames to a callback.
 * Blocking, no event loop; used by tb.
 */
#ifndef AUTHD_CONNECT_H
#define AUTHD_CONNECT_H

#include <signal.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "msg.h"

struct connect;

/* Called for each event frame of the request in flight. */
typedef void	(*connect_event_fn)(const char *event, const cJSON *data,
		    void *arg);

/*
 * Connect to the daemon at path (NULL: the default of SPEC.md section 2),
 * within timeout_ms. Returns 0 or a negative enum authd_err with *cause
 * (allocated) explaining it.
 */
int	connect_open(struct connect **, const char *path, int timeout_ms,
	    char **cause);
/* connect_open, with flags: */
#define CONNECT_NO_AUTOSTART	0x1	/* nothing listens: unreachable */
int	connect_open_flags(struct connect **, const char *path,
	    int timeout_ms, int flags, char **cause);
/*
 * The authd to run (autostart, tb profile): the one next to the running
 * executable (build tree, same prefix) when there is one, else "authd",
 * for $PATH.
 */
void	connect_find_authd(char *buf, size_t len);
/*
 * Send op with args (ownership taken) and wait up to timeout_ms (-1: no
 * limit) for the final reply, which fills *reply (release it with
 * msg_reply_clear). Returns 0 when a reply (success or error) arrived, or
 * a negative enum authd_err for transport failures, with *cause.
 */
int	connect_request(struct connect *, const char *op, cJSON *args,
	    connect_event_fn, void *arg, int timeout_ms,
	    struct msg_reply *reply, char **cause);
void	connect_close(struct connect *);
/* While waiting for a reply, call fn every period_ms (a countdown). */
void	connect_set_tick(struct connect *, void (*fn)(void *), void *arg,
	    int period_ms);
/*
 * When *flag is set by a signal handler (installed without SA_RESTART),
 * a wait ends with AUTHD_E_CANCELLED.
 */
void	connect_set_cancel_flag(struct connect *, volatile int *flag);
/* The socket path in use. */
const char *connect_path(const struct connect *);

#endif /* AUTHD_CONNECT_H */
