/*
 * Forwarded sockets; see forward.h.
 */
#include "forward.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#include "authd.h"
#include "conn.h"
#include "error.h"
#include "log.h"
#include "mint.h"
#include "xmalloc.h"

struct forward {
	TAILQ_ENTRY(forward)	 entry;		/* on authd's list */
	struct authd		*ad;
	void			(*ended)(struct forward *, void *);
	void			*arg;
	char			*path;
	struct evconnlistener	*lev;
	dev_t			 dev;
	ino_t			 ino;
	struct forward_rule	 rule;
};

static unsigned long	forward_count;

static void
forward_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct forward	*f = arg;

	(void)lev;
	(void)sa;
	(void)salen;
	conn_accept_forward(f->ad, fd, f);
}

static void
forward_error_cb(struct evconnlistener *lev, void *arg)
{
	struct forward	*f = arg;

	(void)lev;
	log_warnx("accept on %s: %s", f->path,
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
forward_rule_clear(struct forward_rule *r)
{
	size_t	i;

	free(r->profile);
	free(r->audience);
	for (i = 0; i < r->nprojects; i++)
		free(r->projects[i]);
	memset(r, 0, sizeof *r);
}

struct forward *
forward_new(struct authd *ad, const char *dir, struct forward_rule *rule,
    void (*ended)(struct forward *, void *), void *arg, char **cause)
{
	struct forward		*f;
	struct sockaddr_un	 sun;
	struct stat		 sb;
	mode_t			 old;
	int			 fd;

	f = xcalloc(1, sizeof *f);
	f->ad = ad;
	f->ended = ended;
	f->arg = arg;
	f->rule = *rule;
	memset(rule, 0, sizeof *rule);
	xasprintf(&f->path, "%s/forward-%ld-%lu", dir, (long)getpid(),
	    ++forward_count);
	memset(&sun, 0, sizeof sun);
	if (strlen(f->path) >= sizeof sun.sun_path) {
		xasprintf(cause, "%s: path too long for a socket", f->path);
		goto fail;
	}
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, f->path, strlen(f->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		goto fail;
	}
	(void)unlink(f->path);		/* a stale one of an earlier pid */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		umask(old);
		xasprintf(cause, "bind %s: %s", f->path, strerror(errno));
		close(fd);
		goto fail;
	}
	umask(old);
	if (lstat(f->path, &sb) != 0 || listen(fd, 16) != 0) {
		xasprintf(cause, "listen %s: %s", f->path, strerror(errno));
		unlink(f->path);
		close(fd);
		goto fail;
	}
	f->dev = sb.st_dev;
	f->ino = sb.st_ino;
	f->lev = evconnlistener_new(ad->base, forward_accept_cb, f,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (f->lev == NULL) {
		xasprintf(cause, "cannot listen on %s", f->path);
		unlink(f->path);
		close(fd);
		goto fail;
	}
	evconnlistener_set_error_cb(f->lev, forward_error_cb);
	TAILQ_INSERT_TAIL(&ad->forwards, f, entry);
	log_info("forwarding on %s: profile %s, audience %s, %zu project(s), "
	    "max_ttl %ld", f->path, f->rule.profile, f->rule.audience,
	    f->rule.nprojects, f->rule.max_ttl);
	return f;

fail:
	forward_rule_clear(&f->rule);
	free(f->path);
	free(f);
	return NULL;
}

void
forward_free(struct forward *f)
{
	struct stat	sb;

	if (f == NULL)
		return;
	TAILQ_REMOVE(&f->ad->forwards, f, entry);
	evconnlistener_free(f->lev);
	if (lstat(f->path, &sb) == 0 && sb.st_dev == f->dev &&
	    sb.st_ino == f->ino && unlink(f->path) != 0)
		log_warn("unlink %s", f->path);
	conn_close_forward(f->ad, f);
	log_info("forwarding on %s ended", f->path);
	forward_rule_clear(&f->rule);
	free(f->path);
	free(f);
}

void
forwards_end(struct authd *ad)
{
	struct forward	*f;

	while ((f = TAILQ_FIRST(&ad->forwards)) != NULL)
		f->ended(f, f->arg);	/* frees f */
}

const char *
forward_path(const struct forward *f)
{
	return f->path;
}

const struct forward_rule *
forward_rule(const struct forward *f)
{
	return &f->rule;
}

int
forward_allows(const struct forward *f, const char *profile,
    int project_token, const struct mint_target *t, char *buf, size_t len,
    const char **why)
{
	const struct forward_rule	*r = &f->rule;
	size_t				 i;

	*why = buf;
	if (strcmp(profile, r->profile) != 0)
		snprintf(buf, len, "this forward serves profile '%s' only",
		    r->profile);
	else if (!project_token)
		*why = "the user token is never served through a forwarded "
		    "socket: ask for a project token (--project)";
	else if (t->audience == NULL || strcmp(t->audience, r->audience) != 0)
		snprintf(buf, len, "this forward serves audience '%s' only",
		    r->audience);
	else if (t->scope != NULL)
		*why = "extra scopes are not served through a forwarded socket";
	else {
		if (r->nprojects == 0)
			return 0;
		for (i = 0; t->project != NULL && i < r->nprojects; i++)
			if (strcmp(t->project, r->projects[i]) == 0)
				return 0;
		snprintf(buf, len, "project '%s' is not one this forward "
		    "serves", t->project != NULL ? t->project : "(none)");
	}
	return AUTHD_E_FORWARD_DENIED;
}

int
forward_allows_expiry(const struct forward *f, time_t exp, char *buf,
    size_t len, const char **why)
{
	long	left;

	if (f->rule.max_ttl == 0)
		return 0;
	*why = buf;
	if (exp == 0) {
		snprintf(buf, len, "the token's lifetime is unknown; this "
		    "forward serves tokens that live at most %ld s",
		    f->rule.max_ttl);
		return AUTHD_E_FORWARD_DENIED;
	}
	left = (long)(exp - time(NULL));
	if (left > f->rule.max_ttl) {
		snprintf(buf, len, "the token lives %ld s more, longer than "
		    "this forward's --max-ttl %ld s", left, f->rule.max_ttl);
		return AUTHD_E_FORWARD_DENIED;
	}
	return 0;
}
