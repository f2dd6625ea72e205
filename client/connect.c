/*
 * Blocking client connection; see connect.h.
 */
#include "connect.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "frame.h"
#include "proto.h"
#include "sockpath.h"

/* How long to wait for an autostarted daemon to answer. */
#define CONNECT_AUTOSTART_MS	5000

struct connect {
	int		 fd;
	uint64_t	 next_id;
	struct frame_dec dec;
	size_t		 roff, rlen;
	char		 path[SOCKPATH_MAX + 1];
	void		(*tick_fn)(void *);
	void		*tick_arg;
	int		 tick_ms;
	volatile int	*cancel;
	/*
	 * Received, not yet decoded: rbuf[roff, roff + rlen). Last, so that
	 * connect_close wipes the bytes received, not the whole buffer.
	 */
	uint8_t		 rbuf[8192];
};

static int64_t
connect_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
connect_left_ms(int64_t deadline)
{
	int64_t	left;

	if (deadline < 0)
		return -1;
	left = deadline - connect_now_ms();
	return left < 0 ? 0 : (left > INT_MAX ? INT_MAX : (int)left);
}

static void
connect_pause_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* One connect attempt; returns the fd or -1 with errno. */
static int
connect_try(const char *path)
{
	struct sockaddr_un	sun;
	int			fd, saved;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Retry while the listener's backlog is full, until the deadline. */
static int
connect_until(const char *path, int64_t deadline)
{
	int	fd;

	for (;;) {
		if ((fd = connect_try(path)) != -1)
			return fd;
		if (errno != EAGAIN || connect_left_ms(deadline) == 0)
			return -1;
		connect_pause_ms(2);
	}
}

void
connect_find_authd(char *buf, size_t len)
{
	char	 self[PATH_MAX], *slash;
	ssize_t	 n;

	snprintf(buf, len, "authd");
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return;
	*slash = '\0';
	if ((size_t)snprintf(buf, len, "%s/authd", self) < len &&
	    access(buf, X_OK) == 0)
		return;
	snprintf(buf, len, "authd");
}

/*
 * Start authd on path, like gpg-agent's autostart. It detaches once its
 * socket listens, so waiting for the first process is enough; when several
 * clients race, all but one daemon refuse (exit status AUTHD_EXIT_RUNNING)
 * and every client then connects to the one that won. Returns 0 when
 * authd started, 1 when another daemon holds the socket, or -1 with *cause
 * holding authd's complaint.
 */
static int
connect_autostart(const char *path, char **cause)
{
	char	 authd[PATH_MAX], out[512];
	int	 errpipe[2], devnull, status;
	ssize_t	 n;
	size_t	 have = 0;
	pid_t	 pid;

	connect_find_authd(authd, sizeof authd);
	if (pipe2(errpipe, O_CLOEXEC) != 0) {
		asprintf(cause, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		asprintf(cause, "fork: %s", strerror(errno));
		close(errpipe[0]);
		close(errpipe[1]);
		return -1;
	}
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		if (devnull != -1) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
		}
		dup2(errpipe[1], STDERR_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execlp(authd, "authd", "--socket", path, (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", authd, strerror(errno));
		_exit(127);
	}
	close(errpipe[1]);
	while (have < sizeof out - 1) {
		n = read(errpipe[0], out + have, sizeof out - 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	out[have] = '\0';
	close(errpipe[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == AUTHD_EXIT_RUNNING)
		return 1;
	/* First line of what authd said, without its "authd: " prefix. */
	out[strcspn(out, "\n")] = '\0';
	asprintf(cause, "%s", strncmp(out, "authd: ", 7) == 0 ? out + 7 :
	    (out[0] != '\0' ? out : "authd exited with an error"));
	return -1;
}

/*
 * The daemon must be ours: a socket path that others can write to (a
 * shared AUTHD_SOCK, a misconfigured runtime directory) must not make us
 * hand requests, or later a refresh token, to another user's process.
 */
static int
connect_check_peer(int fd, const char *path, char **cause)
{
	struct ucred	cred;
	socklen_t	len = sizeof cred;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		asprintf(cause, "cannot check who serves %s: %s", path,
		    strerror(errno));
		return AUTHD_E_PEER_DENIED;
	}
	if (cred.uid != geteuid()) {
		asprintf(cause, "authd at %s runs as uid %lu, not as you "
		    "(uid %lu); refusing to talk to it", path,
		    (unsigned long)cred.uid, (unsigned long)geteuid());
		return AUTHD_E_PEER_DENIED;
	}
	return 0;
}

int
connect_open(struct connect **cp, const char *path, int timeout_ms,
    char **cause)
{
	return connect_open_flags(cp, path, timeout_ms, 0, cause);
}

int
connect_open_flags(struct connect **cp, const char *path, int timeout_ms,
    int flags, char **cause)
{
	struct connect	*c;
	const char	*why, *env;
	char		*started = NULL;
	int64_t		 deadline;
	int		 error, fd, saved, autostart;

	*cp = NULL;
	*cause = NULL;
	/* rbuf is written before it is read: clear only the rest. */
	if ((c = malloc(sizeof *c)) == NULL)
		return AUTHD_E_INTERNAL;
	memset(c, 0, offsetof(struct connect, rbuf));
	c->fd = -1;
	c->next_id = 1;
	frame_dec_init(&c->dec);
	if ((error = sockpath_resolve(path, c->path, sizeof c->path,
	    &why)) != 0) {
		asprintf(cause, "%s", why);
		free(c);
		return error;
	}

	deadline = connect_now_ms() + timeout_ms;
	fd = connect_until(c->path, deadline);
	if (fd == -1 && (errno == ENOENT || errno == ECONNREFUSED)) {
		env = getenv("AUTHD_NO_AUTOSTART");
		autostart = env == NULL || strcmp(env, "1") != 0;
		if (flags & CONNECT_NO_AUTOSTART) {
			asprintf(cause, "no authd listens on %s", c->path);
			free(c);
			return AUTHD_E_UNREACHABLE;
		}
		if (!autostart) {
			asprintf(cause, "cannot reach authd at %s: %s "
			    "(autostart is off: AUTHD_NO_AUTOSTART=1)",
			    c->path, strerror(errno));
			free(c);
			return AUTHD_E_UNREACHABLE;
		}
		/* 1: another client's daemon won the race; connect to it. */
		if (connect_autostart(c->path, &started) < 0) {
			fd = connect_until(c->path, deadline);
			if (fd == -1) {
				asprintf(cause, "could not start authd: %s",
				    started != NULL ? started : "no reason");
				free(started);
				free(c);
				return AUTHD_E_AUTOSTART;
			}
			free(started);
		}
		/* The winner is listening or about to be. */
		deadline = connect_now_ms() + CONNECT_AUTOSTART_MS;
		while (fd == -1) {
			fd = connect_until(c->path, deadline);
			if (fd != -1 || (errno != ENOENT &&
			    errno != ECONNREFUSED) ||
			    connect_left_ms(deadline) == 0)
				break;
			connect_pause_ms(5);
		}
	}
	if (fd == -1) {
		saved = errno;
		asprintf(cause, "cannot reach authd at %s: %s", c->path,
		    strerror(saved));
		free(c);
		return saved == EACCES ? AUTHD_E_PEER_DENIED :
		    AUTHD_E_UNREACHABLE;
	}
	if ((error = connect_check_peer(fd, c->path, cause)) != 0) {
		close(fd);
		free(c);
		return error;
	}
	c->fd = fd;
	*cp = c;
	return 0;
}

static int
connect_write_all(struct connect *c, const uint8_t *p, size_t len,
    int64_t deadline)
{
	struct pollfd	pfd = { .fd = c->fd, .events = POLLOUT };
	ssize_t		n;
	int		rc;

	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN)
			return AUTHD_E_IO;
		rc = poll(&pfd, 1, connect_left_ms(deadline));
		if (rc == 0)
			return AUTHD_E_TIMEOUT;
		if (rc == -1 && errno != EINTR)
			return AUTHD_E_IO;
	}
	return 0;
}

/* Read until one whole frame has been decoded; parse it into *reply. */
static int
connect_read_reply(struct connect *c, struct msg_reply *reply,
    int64_t deadline, char **cause)
{
	struct pollfd	 pfd = { .fd = c->fd, .events = POLLIN };
	const uint8_t	*body;
	const char	*why = NULL;
	size_t		 used, blen;
	ssize_t		 n;
	int		 rc;

	int		 wait;

	for (;;) {
		if (c->cancel != NULL && *c->cancel) {
			asprintf(cause, "cancelled");
			return AUTHD_E_CANCELLED;
		}
		if (c->rlen == 0) {
			wait = connect_left_ms(deadline);
			if (c->tick_fn != NULL && (wait < 0 || wait > c->tick_ms))
				wait = c->tick_ms;
			rc = poll(&pfd, 1, wait);
			if (rc == 0 && c->tick_fn != NULL &&
			    connect_left_ms(deadline) != 0) {
				c->tick_fn(c->tick_arg);
				continue;
			}
			if (rc == 0) {
				asprintf(cause, "authd did not answer in time");
				return AUTHD_E_TIMEOUT;
			}
			if (rc == -1) {
				if (errno == EINTR)
					continue;
				asprintf(cause, "poll: %s", strerror(errno));
				return AUTHD_E_IO;
			}
			n = recv(c->fd, c->rbuf, sizeof c->rbuf, MSG_DONTWAIT);
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				asprintf(cause, "authd closed the connection%s%s",
				    n == 0 ? "" : ": ", n == 0 ? "" :
				    strerror(errno));
				return AUTHD_E_IO;
			}
			c->roff = 0;
			c->rlen = (size_t)n;
		}
		rc = frame_dec_feed(&c->dec, c->rbuf + c->roff, c->rlen,
		    &used);
		c->roff += used;
		c->rlen -= used;
		if (c->rlen == 0)
			explicit_bzero(c->rbuf, c->roff); /* all received */
		if (rc == FRAME_MORE)
			continue;
		if (rc < 0) {
			asprintf(cause, "bad frame from authd: %s",
			    authd_error_message(rc));
			return AUTHD_E_BAD_REPLY;
		}
		body = frame_dec_body(&c->dec, &blen);
		rc = msg_parse_reply(body, blen, reply, &why);
		frame_dec_next(&c->dec);
		if (rc != 0) {
			msg_reply_clear(reply);
			asprintf(cause, "bad reply from authd: %s", why);
			return rc == AUTHD_E_VERSION ? rc : AUTHD_E_BAD_REPLY;
		}
		return 0;
	}
}

int
connect_request(struct connect *c, const char *op, cJSON *args,
    connect_event_fn event_fn, void *arg, int timeout_ms,
    struct msg_reply *reply, char **cause)
{
	cJSON		*msg;
	uint8_t		*frame;
	size_t		 len;
	uint64_t	 id = c->next_id++;
	int64_t		 deadline;
	int		 error, saved;

	*cause = NULL;
	memset(reply, 0, sizeof *reply);
	deadline = timeout_ms < 0 ? -1 : connect_now_ms() + timeout_ms;
	if ((msg = msg_new_request(id, op, args)) == NULL)
		return AUTHD_E_INTERNAL;
	error = msg_encode(msg, &frame, &len);
	msg_free(msg);
	if (error != 0)
		return error;
	error = connect_write_all(c, frame, len, deadline);
	saved = errno;
	msg_frame_free(frame, len);
	errno = saved;
	/*
	 * A daemon that refused us (peer check, connection cap) has closed
	 * already; its reason may still be waiting to be read.
	 */
	if (error == AUTHD_E_IO && (errno == EPIPE || errno == ECONNRESET)) {
		if (connect_read_reply(c, reply, deadline, cause) == 0 &&
		    reply->kind == MSG_REPLY_ERROR)
			return 0;
		msg_reply_clear(reply);
		free(*cause);
		*cause = NULL;
	}
	if (error != 0) {
		asprintf(cause, "cannot send to authd: %s",
		    error == AUTHD_E_TIMEOUT ? "timed out" : strerror(saved));
		return error;
	}

	for (;;) {
		if ((error = connect_read_reply(c, reply, deadline,
		    cause)) != 0)
			return error;
		/* Errors without an id end whatever is in flight. */
		if (reply->id != id && !(reply->kind == MSG_REPLY_ERROR &&
		    reply->id == MSG_ID_NONE)) {
			msg_reply_clear(reply);
			continue;
		}
		if (reply->kind == MSG_EVENT) {
			if (event_fn != NULL)
				event_fn(reply->event, reply->data, arg);
			msg_reply_clear(reply);
			continue;
		}
		return 0;
	}
}

void
connect_close(struct connect *c)
{
	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	frame_dec_clear(&c->dec);
	/* What is left of the last read; the rest was wiped when decoded. */
	explicit_bzero(c->rbuf, c->roff + c->rlen);
	explicit_bzero(c, offsetof(struct connect, rbuf));
	free(c);
}

void
connect_set_tick(struct connect *c, void (*fn)(void *), void *arg,
    int period_ms)
{
	c->tick_fn = fn;
	c->tick_arg = arg;
	c->tick_ms = period_ms > 0 ? period_ms : 1000;
}

void
connect_set_cancel_flag(struct connect *c, volatile int *flag)
{
	c->cancel = flag;
}

const char *
connect_path(const struct connect *c)
{
	return c->path;
}
