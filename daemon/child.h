/*
 * authd's helper programs (OpenSSH's ssh-pkcs11-helper is the model): code
 * that needs large libraries (libcurl and its TLS, LDAP and Kerberos
 * stack; libsecret and GLib) runs in a separate process, started when it
 * is needed and gone when it is not, so that an idle authd maps none of
 * them.
 *
 * A helper is found next to authd's own executable (a build tree) or in
 * AUTHD_LIBEXECDIR (an installed authd). It runs with a socket on fds 0
 * and 1, authd's stderr on 2 and nothing else open; its environment is
 * authd's (proxies, CA certificates, D-Bus session address).
 *
 * Messages on that socket (chan_*): a 4-byte big-endian length, then
 * fields, each a 2-byte tag, a 4-byte length and that many bytes. Binary
 * safe, bounded by CHAN_MAX; a message that is not well formed ends the
 * conversation.
 */
#ifndef AUTHD_CHILD_H
#define AUTHD_CHILD_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define CHAN_MAX	(32 * 1024 * 1024)	/* one message, bytes */

/*
 * The path of helper name (allocated), or NULL with *cause when it is
 * in neither place.
 */
char	*child_path(const char *name, char **cause);
/*
 * Start path with one end of a socketpair as its stdin and stdout; *fd
 * gets the other end (close-on-exec, blocking). Returns the pid, or -1
 * with *cause. Async-signal-safe between fork and exec: safe with threads.
 */
pid_t	 child_spawn(const char *path, int *fd, char **cause);

/* A message being built. Wiped when freed: fields may hold secrets. */
struct chan_msg {
	unsigned char	*buf;
	size_t		 len;
	size_t		 size;
};

void	 chan_init(struct chan_msg *);
void	 chan_put(struct chan_msg *, uint16_t tag, const void *, size_t);
void	 chan_put_str(struct chan_msg *, uint16_t tag, const char *);
void	 chan_put_int(struct chan_msg *, uint16_t tag, int64_t);
/* The finished message (length prefix included) in buf/len. */
void	 chan_finish(struct chan_msg *);
void	 chan_free(struct chan_msg *);

/*
 * The length of the message whose first 4 bytes are at p (its body, not
 * counting the prefix), or -1 when over CHAN_MAX.
 */
long	 chan_length(const unsigned char *p);
/*
 * The next field of a message body of len bytes from *off: 1 with the
 * field, 0 at the end, -1 when the body is not well formed.
 */
int	 chan_next(const unsigned char *body, size_t len, size_t *off,
	    uint16_t *tag, const unsigned char **val, size_t *vlen);
/* A field's value as a number: 0, or -1 when it is not 8 bytes. */
int	 chan_int(const unsigned char *val, size_t vlen, int64_t *out);

/* Blocking I/O of whole messages (helpers, and the worker thread). */
/* Write buf/len fully: 0, or -1 (errno). */
int	 chan_write(int fd, const void *buf, size_t len);
/*
 * Read one message: 1 with its body in *body (allocated; wipe and free
 * with xfreezero(*body, *len + 1)), 0 at EOF before it, -1 on error or a
 * message over CHAN_MAX.
 */
int	 chan_read(int fd, unsigned char **body, size_t *len);

/*
 * A message endpoint on the event loop: non-blocking, whole messages
 * delivered to msg_fn, buffers wiped. eof_fn runs once, at EOF, an error
 * or a message that is not well formed; then only chan_io_free is allowed.
 */
struct event_base;
struct chan_io;
typedef void	(*chan_msg_fn)(const unsigned char *body, size_t len,
		    void *arg);
typedef void	(*chan_eof_fn)(void *arg);

struct chan_io	*chan_io_new(struct event_base *, int fd, chan_msg_fn,
		     chan_eof_fn, void *arg);
/* Queue a finished message (m is emptied: the endpoint owns its buffer). */
void		 chan_io_send(struct chan_io *, struct chan_msg *m);
/* Close the descriptor and wipe the buffers. Accepts NULL. */
void		 chan_io_free(struct chan_io *);

#endif /* AUTHD_CHILD_H */
