/*
 * Listening socket and accept; see server.h.
 */
#include "server.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "authd.h"
#include "conn.h"
#include "log.h"
#include "privdir.h"
#include "sockpath.h"
#include "xmalloc.h"

#define SERVER_BACKLOG		512
/*
 * A helper that a killed authd had just forked holds copies of its
 * descriptors (the socket's lock, the listening socket) until its exec
 * closes them (child.h): a start waits this long for such a copy to go
 * before it takes the lock or the socket for another daemon's.
 */
#define SERVER_COPY_WAIT_MS	1000
#define SERVER_COPY_POLL_MS	10
#define SD_LISTEN_FDS_START	3

struct server {
	char			*path;
	int			 fd;
	int			 lock_fd;
	int			 activated;
	int			 own_file;	/* we created the socket file */
	dev_t			 dev;
	ino_t			 ino;
	struct evconnlistener	*lev;
	struct authd		*ad;
};

/*
 * systemd socket activation, as sd_listen_fds(1) does it: LISTEN_PID names
 * us, LISTEN_FDS says how many fds start at 3. We take exactly one, which
 * must be a listening AF_UNIX stream socket.
 */
static int
server_take_activated(struct server *s, char **cause)
{
	const char		*pid_s, *fds_s;
	char			*end;
	long			 pid, nfds;
	int			 type = 0, listening = 0, fl;
	socklen_t		 len;
	struct sockaddr_un	 sun;

	pid_s = getenv("LISTEN_PID");
	fds_s = getenv("LISTEN_FDS");
	if (pid_s == NULL || fds_s == NULL)
		return 0;
	errno = 0;
	pid = strtol(pid_s, &end, 10);
	if (errno != 0 || *end != '\0' || pid != (long)getpid())
		return 0;	/* meant for another process */
	nfds = strtol(fds_s, &end, 10);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (*end != '\0' || nfds < 1) {
		xasprintf(cause, "LISTEN_FDS=%s: no socket passed", fds_s);
		return -1;
	}
	if (nfds > 1)
		log_warnx("LISTEN_FDS=%ld: using the first socket only", nfds);

	len = sizeof type;
	if (getsockopt(SD_LISTEN_FDS_START, SOL_SOCKET, SO_TYPE, &type,
	    &len) != 0 || type != SOCK_STREAM) {
		xasprintf(cause, "activation fd 3 is not a stream socket");
		return -1;
	}
	len = sizeof listening;
	if (getsockopt(SD_LISTEN_FDS_START, SOL_SOCKET, SO_ACCEPTCONN,
	    &listening, &len) != 0 || !listening) {
		xasprintf(cause, "activation fd 3 is not listening");
		return -1;
	}
	memset(&sun, 0, sizeof sun);
	len = sizeof sun;
	if (getsockname(SD_LISTEN_FDS_START, (struct sockaddr *)&sun,
	    &len) != 0 || sun.sun_family != AF_UNIX) {
		xasprintf(cause, "activation fd 3 is not a Unix socket");
		return -1;
	}
	fl = fcntl(SD_LISTEN_FDS_START, F_GETFD);
	if (fl != -1)
		fcntl(SD_LISTEN_FDS_START, F_SETFD, fl | FD_CLOEXEC);

	s->fd = SD_LISTEN_FDS_START;
	s->activated = 1;
	if (len > offsetof(struct sockaddr_un, sun_path) && sun.sun_path[0])
		s->path = xstrndup(sun.sun_path, sizeof sun.sun_path);
	else
		s->path = xstrdup("(socket activation)");
	return 1;
}

/*
 * The socket's directory: made 0700, or checked and left as it is when it
 * is not authd's own (privdir.h): authd --socket ~/authd.sock must not
 * chmod the home directory, nor a root daemon a sticky shared one.
 */
static int
server_make_dir(const char *path, char **cause)
{
	char	*copy;
	int	 rc;

	copy = xstrdup(path);
	rc = privdir_make(dirname(copy), "the socket's directory", cause);
	free(copy);
	return rc;
}

/* 1 when something accepts connections on path, 0 when stale or absent. */
static int
server_is_live(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, rc;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, path, sizeof sun.sun_path - 1);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	close(fd);
	return rc == 0;
}

static int
server_bind(struct server *s, const char *path, char **cause, int *running)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	char			*lockpath;
	mode_t			 old;
	int			 fd, waited;

	if (server_make_dir(path, cause) != 0)
		return -1;

	/*
	 * The lock decides which of several racing daemons (autostart by
	 * many tb at once) binds; the others refuse.
	 */
	xasprintf(&lockpath, "%s.lock", path);
	s->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (s->lock_fd == -1) {
		xasprintf(cause, "%s: %s", lockpath, strerror(errno));
		free(lockpath);
		return -1;
	}
	free(lockpath);
	for (waited = 0; flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0 &&
	    errno == EWOULDBLOCK && waited < SERVER_COPY_WAIT_MS;
	    waited += SERVER_COPY_POLL_MS) {
		if (waited == 0)
			log_info("%s is locked: waiting up to %d ms in case it "
			    "is a copy held by a helper of a daemon that ended",
			    path, SERVER_COPY_WAIT_MS);
		poll(NULL, 0, SERVER_COPY_POLL_MS);
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			*running = 1;
			xasprintf(cause, "authd is already running on %s",
			    path);
		} else
			xasprintf(cause, "lock %s: %s", path, strerror(errno));
		return -1;
	}

	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			xasprintf(cause, "%s exists and is not a socket", path);
			return -1;
		}
		for (waited = 0; server_is_live(path) &&
		    waited < SERVER_COPY_WAIT_MS;
		    waited += SERVER_COPY_POLL_MS)
			poll(NULL, 0, SERVER_COPY_POLL_MS);
		if (server_is_live(path)) {
			*running = 1;
			xasprintf(cause, "authd is already running on %s",
			    path);
			return -1;
		}
		log_info("removing stale socket %s", path);
		if (unlink(path) != 0 && errno != ENOENT) {
			xasprintf(cause, "unlink %s: %s", path,
			    strerror(errno));
			return -1;
		}
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, path, sizeof sun.sun_path - 1);
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		umask(old);
		xasprintf(cause, "bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(path, 0600) != 0 || lstat(path, &sb) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	if (listen(fd, SERVER_BACKLOG) != 0) {
		xasprintf(cause, "listen %s: %s", path, strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	s->fd = fd;
	s->own_file = 1;
	s->dev = sb.st_dev;
	s->ino = sb.st_ino;
	s->path = xstrdup(path);
	return 0;
}

int
server_open(struct server **sp, const char *path, char **cause, int *running)
{
	struct server	*s;
	int		 rc;

	*sp = NULL;
	*running = 0;
	s = xcalloc(1, sizeof *s);
	s->fd = -1;
	s->lock_fd = -1;
	if ((rc = server_take_activated(s, cause)) == 0)
		rc = server_bind(s, path, cause, running);
	if (rc < 0) {
		if (s->lock_fd != -1)
			close(s->lock_fd);
		free(s->path);
		free(s);
		return -1;
	}
	*sp = s;
	return 0;
}

int
server_activated(const struct server *s)
{
	return s->activated;
}

const char *
server_path(const struct server *s)
{
	return s->path;
}

static void
server_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server	*s = arg;

	(void)lev;
	(void)sa;
	(void)salen;
	conn_accept(s->ad, fd);
}

static void
server_error_cb(struct evconnlistener *lev, void *arg)
{
	int	err = EVUTIL_SOCKET_ERROR();

	(void)lev;
	(void)arg;
	/* EMFILE and friends: connections are capped below the fd limit. */
	log_warnx("accept: %s", evutil_socket_error_to_string(err));
}

void
server_start(struct server *s, struct authd *ad)
{
	s->ad = ad;
	evutil_make_socket_nonblocking(s->fd);
	s->lev = evconnlistener_new(ad->base, server_accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, s->fd);
	if (s->lev == NULL)
		fatalx("cannot listen on %s", s->path);
	evconnlistener_set_error_cb(s->lev, server_error_cb);
	log_info("listening on %s%s", s->path,
	    s->activated ? " (socket activation)" : "");
}

void
server_stop(struct server *s)
{
	struct stat	sb;

	if (s->lev != NULL) {
		evconnlistener_free(s->lev);	/* closes the fd */
		s->lev = NULL;
		s->fd = -1;
	}
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	/*
	 * Remove the socket only if it is still ours, not a successor's, then
	 * let a successor start while we finish our last replies.
	 */
	if (s->own_file && lstat(s->path, &sb) == 0 && sb.st_dev == s->dev &&
	    sb.st_ino == s->ino) {
		if (unlink(s->path) != 0)
			log_warn("unlink %s", s->path);
	}
	s->own_file = 0;
	if (s->lock_fd != -1) {
		close(s->lock_fd);
		s->lock_fd = -1;
	}
}

void
server_free(struct server *s)
{
	if (s == NULL)
		return;
	server_stop(s);
	free(s->path);
	free(s);
}
