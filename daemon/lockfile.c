/*
 * Lock files that name their holder; see lockfile.h.
 */
#include "lockfile.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

#define LOCKFILE_MAX	2048	/* what is read back of a holder */

struct lockfile {
	char	*path;
	char	*sock;		/* escaped: one line */
	int	 fd;
};

/* "pid N\nsocket S\nstate running|stopping\n" */
static void
lockfile_write(struct lockfile *lf, int stopping)
{
	char	*text;
	int	 n;

	n = xasprintf(&text, "pid %ld\nsocket %s\nstate %s\n",
	    (long)getpid(), lf->sock, stopping ? "stopping" : "running");
	if (pwrite(lf->fd, text, (size_t)n, 0) != n ||
	    ftruncate(lf->fd, n) != 0)
		log_warn("%s", lf->path);
	free(text);
}

/* The value of "key VALUE" in text (allocated), or NULL. */
static char *
lockfile_field(const char *text, const char *key)
{
	const char	*p = text;
	size_t		 n = strlen(key);

	while (*p != '\0') {
		if (strncmp(p, key, n) == 0 && p[n] == ' ')
			return xstrndup(p + n + 1, strcspn(p + n + 1, "\n"));
		p += strcspn(p, "\n");
		if (*p == '\n')
			p++;
	}
	return NULL;
}

/* 1 when the process named by pid (our own text) no longer exists. */
static int
lockfile_gone(const char *pid)
{
	char		*end;
	long		 n;

	errno = 0;
	n = strtol(pid, &end, 10);
	if (errno != 0 || *end != '\0' || n <= 0 || n > INT_MAX)
		return 0;
	return kill((pid_t)n, 0) == -1 && errno == ESRCH;
}

/*
 * Who holds fd's lock, from what it wrote: *who allocated; returns 1 when
 * it says it is stopping, 2 when the process it names is gone (here; on
 * another machine sharing the file, pids mean nothing): then the lock is
 * held by a copy of its descriptor in a helper it had just forked, until
 * that helper's exec (child.h), for a moment. 0 otherwise.
 */
static int
lockfile_holder(int fd, char **who)
{
	char	 buf[LOCKFILE_MAX + 1], epid[64], esock[LOCKFILE_MAX * 4 + 1];
	char	*pid, *sock, *state;
	ssize_t	 n;
	int	 stopping, gone;

	n = pread(fd, buf, LOCKFILE_MAX, 0);
	buf[n > 0 ? n : 0] = '\0';
	pid = lockfile_field(buf, "pid");
	sock = lockfile_field(buf, "socket");
	state = lockfile_field(buf, "state");
	stopping = state != NULL && strcmp(state, "stopping") == 0;
	gone = pid != NULL && lockfile_gone(pid);
	/* Our own lines, but the file may have been edited: escape. */
	log_escape(epid, sizeof epid, pid != NULL ? pid : "unknown");
	log_escape(esock, sizeof esock, sock != NULL ? sock : "");
	xasprintf(who, "another authd (pid %s%s%s%s)", epid,
	    sock != NULL ? ", socket " : "", esock,
	    gone ? ", ended" : stopping ? ", stopping" : "");
	free(pid);
	free(sock);
	free(state);
	return gone ? 2 : stopping;
}

static long long
lockfile_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
lockfile_take(struct lockfile **lp, const char *path, const char *sock,
    char **cause)
{
	struct lockfile	*lf;
	struct stat	 sb;
	char		 esc[4 * 108 + 64], *who = NULL;
	long long	 deadline = 0;
	int		 fd, waited = 0, why;

	*lp = NULL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1) {
		xasprintf(cause, "lock file %s: %s", path, errno == ELOOP ?
		    "a symbolic link: refusing it" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid()) {
		xasprintf(cause, "lock file %s: not a regular file of ours: "
		    "refusing it", path);
		close(fd);
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			xasprintf(cause, "lock %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		free(who);
		who = NULL;
		why = lockfile_holder(fd, &who);
		if (why == 0 || (waited && lockfile_now_ms() > deadline)) {
			*cause = who;
			close(fd);
			return LOCKFILE_BUSY;
		}
		if (!waited) {
			log_info("waiting for %s to release %s", who, path);
			deadline = lockfile_now_ms() + (why == 2 ?
			    LOCKFILE_GONE_WAIT_MS : LOCKFILE_WAIT_MS);
			waited = 1;
		}
		poll(NULL, 0, 50);
	}
	if (waited)
		log_info("%s: released; taken", path);
	free(who);
	lf = xcalloc(1, sizeof *lf);
	lf->path = xstrdup(path);
	log_escape(esc, sizeof esc, sock != NULL ? sock : "none");
	lf->sock = xstrdup(esc);
	lf->fd = fd;
	lockfile_write(lf, 0);
	*lp = lf;
	return 0;
}

void
lockfile_note(struct lockfile *lf, int stopping)
{
	if (lf != NULL)
		lockfile_write(lf, stopping);
}

const char *
lockfile_path(const struct lockfile *lf)
{
	return lf->path;
}

void
lockfile_free(struct lockfile *lf)
{
	if (lf == NULL)
		return;
	close(lf->fd);		/* releases the lock */
	free(lf->path);
	free(lf->sock);
	free(lf);
}
