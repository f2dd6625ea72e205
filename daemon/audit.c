/*
 * Audit log; see audit.h.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

struct audit {
	char		*path;
	int		 fd;
	off_t		 size;
	unsigned long	 failed;	/* lines lost to write errors */
	time_t		 last_warn;
};

static int
audit_reopen(struct audit *a, char **cause)
{
	struct stat	sb;
	int		fd;

	fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd == -1) {
		if (cause != NULL)
			xasprintf(cause, "audit log %s: %s", a->path,
			    strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		if (cause != NULL)
			xasprintf(cause, "audit log %s: not a regular file",
			    a->path);
		close(fd);
		return -1;
	}
	if (a->fd != -1)
		close(a->fd);
	a->fd = fd;
	a->size = sb.st_size;
	return 0;
}

struct audit *
audit_open(const char *path, char **cause)
{
	struct audit	*a;

	if (path == NULL)
		return NULL;
	a = xcalloc(1, sizeof *a);
	a->path = xstrdup(path);
	a->fd = -1;
	if (audit_reopen(a, cause) != 0) {
		free(a->path);
		free(a);
		return NULL;
	}
	return a;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->fd != -1)
		close(a->fd);
	free(a->path);
	free(a);
}

static void
audit_rotate(struct audit *a)
{
	char	*old;

	xasprintf(&old, "%s.1", a->path);
	if (rename(a->path, old) != 0)
		log_warn("audit: rename %s", a->path);
	free(old);
	if (audit_reopen(a, NULL) != 0)
		log_warn("audit: reopen %s", a->path);
}

int
audit_on(const struct audit *a)
{
	return a != NULL && a->fd != -1;
}

void
audit_event(struct audit *a, const char *event,
    const struct audit_peer *peer, const char *profile, cJSON *target, const char *result,
    const char *detail)
{
	struct timespec		 ts;
	struct tm		 tm;
	cJSON			*o, *p;
	char			 when[48], *line;
	size_t			 n;
	ssize_t			 w;

	if (a == NULL || a->fd == -1) {
		cJSON_Delete(target);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddStringToObject(o, "event", event);
	if (peer != NULL) {
		p = cJSON_AddObjectToObject(o, "peer");
		cJSON_AddNumberToObject(p, "pid", (double)peer->pid);
		cJSON_AddNumberToObject(p, "uid", (double)peer->uid);
		if (peer->exe != NULL)
			cJSON_AddStringToObject(p, "exe", peer->exe);
		if (peer->unit != NULL)
			cJSON_AddStringToObject(p, "unit", peer->unit);
		if (peer->forward != NULL)
			cJSON_AddStringToObject(p, "forward", peer->forward);
	}
	if (profile != NULL)
		cJSON_AddStringToObject(o, "profile", profile);
	if (target != NULL)
		cJSON_AddItemToObject(o, "target", target);
	cJSON_AddStringToObject(o, "result", result);
	if (detail != NULL)
		cJSON_AddStringToObject(o, "detail", detail);
	line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (line == NULL)
		return;
	n = strlen(line);
	line[n] = '\n';		/* replaces the NUL; written with n + 1 */
	w = write(a->fd, line, n + 1);
	line[n] = '\0';
	cJSON_free(line);
	if (w != (ssize_t)(n + 1)) {
		a->failed++;
		if (ts.tv_sec - a->last_warn >= 60) {
			a->last_warn = ts.tv_sec;
			log_warnx("audit log %s: write failed (%s); %lu line(s) "
			    "lost so far", a->path, w == -1 ? strerror(errno) :
			    "short write", a->failed);
		}
		return;
	}
	a->size += w;
	if (a->size > AUDIT_MAX_SIZE)
		audit_rotate(a);
}
