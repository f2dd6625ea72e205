/*
 * One client connection: a bufferevent, the frame decoder, the peer's
 * kernel-given identity, the requests in flight, and replies.
 *
 * Connections are reference counted; the last unref frees on the next loop
 * iteration, so a callback still on the stack never touches freed memory.
 */
#ifndef AUTHD_CONN_H
#define AUTHD_CONN_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/util.h>

#include "policy.h"
#include <cjson/cJSON.h>

struct authd;
struct conn;
struct forward;
struct req;

struct conn_peer {
	pid_t	pid;
	uid_t	uid;
	gid_t	gid;
};

/* What the kernel says of a process, for the policy; owns its strings. */
struct conn_caller {
	struct policy_caller	 c;
	char			*exe;
	char			*unit;
	char			*cgroup;
	char			*ancestor[POLICY_MAX_ANCESTORS];
};
/* Look pid up in /proc (with ancestors: those of uid too). */
void	conn_caller_lookup(struct conn_caller *, pid_t, uid_t, int ancestors);
void	conn_caller_clear(struct conn_caller *);

/* Take over fd from accept(): check the peer, then serve it. */
void	conn_accept(struct authd *, evutil_socket_t fd);
/* The same for a forwarded socket's connection (forward.h). */
void	conn_accept_forward(struct authd *, evutil_socket_t fd,
	    struct forward *);
/* The forward a connection came through, or NULL (authd's own socket). */
struct forward *conn_forward(const struct conn *);
/* Close the connections of a forward that ends. */
void	conn_close_forward(struct authd *, const struct forward *);

/* Queue a message (takes ownership of msg; wiped after sending). */
void	conn_send(struct conn *, cJSON *msg);
/* Send an error frame with no request id, then close after flushing. */
void	conn_fail(struct conn *, int err, const char *message);
/* Read nothing more; close once the queued replies are sent. */
void	conn_finish(struct conn *);

void	conn_ref(struct conn *);
void	conn_unref(struct conn *);

const struct conn_peer	*conn_peer(const struct conn *);
/* The peer's executable and systemd unit, from /proc (NULL if unknown);
 * looked up once, when first asked. */
const char		*conn_peer_exe(struct conn *);
const char		*conn_peer_unit(struct conn *);
/* All the kernel says of the peer for the policy (policy.h): its
 * executable, unit, cgroup and ancestors' executables; looked up once. */
const struct policy_caller *conn_policy_caller(struct conn *);
uint64_t		 conn_serial(const struct conn *);
struct authd		*conn_authd(const struct conn *);
int			 conn_closing(const struct conn *);

/* Requests in flight, maintained by req.c. */
void	conn_add_req(struct conn *, struct req *);
void	conn_remove_req(struct conn *, struct req *);
unsigned int conn_nreqs(const struct conn *);

/* Shutdown: close idle connections, let busy ones finish. */
void	conn_shutdown_all(struct authd *);
/* Close every connection now (end of the shutdown grace period). */
void	conn_close_all(struct authd *);

#endif /* AUTHD_CONN_H */
