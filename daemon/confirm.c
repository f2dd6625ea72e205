/*
 * Confirm before use; see confirm.h.
 */
#include "confirm.h"

#include <sys/queue.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "authd.h"
#include "log.h"
#include "xmalloc.h"

extern char	**environ;

#define CONFIRM_REAP_MS		20	/* retry of waitpid after EOF */
#define CONFIRM_MAX_CACHE	256

struct confirm_cached {
	TAILQ_ENTRY(confirm_cached) entry;
	char		*key;
	time_t		 until;
};

struct confirm {
	TAILQ_ENTRY(confirm)	 entry;
	struct authd		*ad;
	confirm_fn		 fn;		/* NULL: cancelled */
	void			*arg;
	char			*key;
	long			 cache;
	pid_t			 pid;		/* -1: none running */
	int			 fd;		/* the pipe from its stdout */
	size_t			 read;
	int			 timed_out;
	int			 ok;
	const char		*why;
	struct event		*rev;		/* the pipe */
	struct event		*timer;		/* deadline, reap, answer */
	enum { CONFIRM_RUNNING, CONFIRM_REAPING, CONFIRM_ANSWER } state;
};

static TAILQ_HEAD(, confirm_cached) confirm_cache =
    TAILQ_HEAD_INITIALIZER(confirm_cache);
static int			confirm_ncache;
static TAILQ_HEAD(, confirm)	confirms = TAILQ_HEAD_INITIALIZER(confirms);

static void
confirm_cached_free(struct confirm_cached *c)
{
	TAILQ_REMOVE(&confirm_cache, c, entry);
	confirm_ncache--;
	free(c->key);
	free(c);
}

static int
confirm_cached(const char *key)
{
	struct confirm_cached	*c, *next;
	time_t			 now = time(NULL);

	for (c = TAILQ_FIRST(&confirm_cache); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->until <= now) {
			confirm_cached_free(c);
			continue;
		}
		if (strcmp(c->key, key) == 0)
			return 1;
	}
	return 0;
}

static void
confirm_remember(const char *key, long secs)
{
	struct confirm_cached	*c;

	if (secs <= 0 || confirm_cached(key))
		return;
	if (confirm_ncache >= CONFIRM_MAX_CACHE)
		confirm_cached_free(TAILQ_FIRST(&confirm_cache));
	c = xcalloc(1, sizeof *c);
	c->key = xstrdup(key);
	c->until = time(NULL) + secs;
	TAILQ_INSERT_TAIL(&confirm_cache, c, entry);
	confirm_ncache++;
}

static void
confirm_free(struct confirm *c)
{
	TAILQ_REMOVE(&confirms, c, entry);
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->fd != -1)
		close(c->fd);
	event_free(c->timer);
	free(c->key);
	free(c);
}

/* Answer (once reaped), then free. */
static void
confirm_answer(struct confirm *c)
{
	confirm_fn	 fn = c->fn;
	void		*arg = c->arg;
	int		 ok = c->ok;
	const char	*why = c->why;

	if (ok && c->key != NULL)
		confirm_remember(c->key, c->cache);
	confirm_free(c);
	if (fn != NULL)
		fn(ok, why, arg);
}

static void
confirm_later(struct confirm *c, long ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

static void
confirm_reap(struct confirm *c)
{
	pid_t	pid;
	int	status;

	if ((pid = waitpid(c->pid, &status, WNOHANG)) == 0) {
		c->state = CONFIRM_REAPING;
		confirm_later(c, CONFIRM_REAP_MS);
		return;
	}
	if (pid == -1 && errno == EINTR) {
		confirm_later(c, CONFIRM_REAP_MS);
		return;
	}
	c->pid = -1;
	if (c->timed_out) {
		c->ok = 0;
		c->why = "not confirmed: no answer in time";
	} else if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		c->ok = 1;
		c->why = NULL;
	} else {
		c->ok = 0;
		c->why = "not confirmed: the user said no";
	}
	confirm_answer(c);
}

static void
confirm_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct confirm	*c = arg;
	char		 buf[512];
	ssize_t		 n;

	(void)what;
	n = read(fd, buf, sizeof buf);
	explicit_bzero(buf, sizeof buf);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		c->read += (size_t)n;
		if (c->read <= CONFIRM_MAX_OUTPUT)
			return;
		/* A program that talks and talks: no. */
		kill(c->pid, SIGKILL);
		c->timed_out = 1;
	}
	/* EOF (or an error): the program has ended, or closed stdout. */
	event_free(c->rev);
	c->rev = NULL;
	close(c->fd);
	c->fd = -1;
	evtimer_del(c->timer);
	confirm_reap(c);
}

static void
confirm_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct confirm	*c = arg;

	(void)fd;
	(void)what;
	switch (c->state) {
	case CONFIRM_RUNNING:
		/* The deadline: no answer is no. */
		log_info("confirm: no answer from the askpass program "
		    "(pid %ld) in time: denied", (long)c->pid);
		c->timed_out = 1;
		kill(c->pid, SIGKILL);
		/* Its pipe's EOF reaps it. */
		break;
	case CONFIRM_REAPING:
		confirm_reap(c);
		break;
	case CONFIRM_ANSWER:
		confirm_answer(c);
		break;
	}
}

/* The question, printable: control characters become '?'. */
static char *
confirm_prompt(const struct confirm_what *w)
{
	char	*s, *p;

	xasprintf(&s, "authd: allow %s%s%s%s a token of profile '%s'%s%s%s%s?",
	    w->exe != NULL ? w->exe : "(unknown executable)",
	    w->unit != NULL ? " (unit " : "", w->unit != NULL ? w->unit : "",
	    w->unit != NULL ? ")" : "", w->profile,
	    w->audience != NULL ? " for " : " (the user token)",
	    w->audience != NULL ? w->audience : "",
	    w->project != NULL ? ", project " : "",
	    w->project != NULL ? w->project : "");
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return s;
}

/* environ plus ours; the strings of extra are the caller's. */
static char **
confirm_env(char **extra, size_t nextra)
{
	char	**env;
	size_t	  n = 0, i, k = 0;

	while (environ[n] != NULL)
		n++;
	env = xreallocarray(NULL, n + nextra + 1, sizeof *env);
	for (i = 0; i < n; i++) {
		if (strncmp(environ[i], "SSH_ASKPASS_PROMPT=", 19) == 0 ||
		    strncmp(environ[i], "AUTHD_CONFIRM_", 14) == 0)
			continue;
		env[k++] = environ[i];
	}
	for (i = 0; i < nextra; i++)
		env[k++] = extra[i];
	env[k] = NULL;
	return env;
}

static const char *
confirm_program(void)
{
	const char	*p;

	if ((p = getenv("AUTHD_ASKPASS")) != NULL && *p != '\0')
		return p;
	if ((getenv("DISPLAY") != NULL || getenv("WAYLAND_DISPLAY") != NULL) &&
	    (p = getenv("SSH_ASKPASS")) != NULL && *p != '\0')
		return p;
	return NULL;
}

static int
confirm_spawn(struct confirm *c, const char *prog,
    const struct confirm_what *w)
{
	char	*prompt, *extra[6], **env;
	int	 pfd[2], devnull, i;
	pid_t	 pid;

	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		close(devnull);
		return -1;
	}
	prompt = confirm_prompt(w);
	xasprintf(&extra[0], "SSH_ASKPASS_PROMPT=confirm");
	xasprintf(&extra[1], "AUTHD_CONFIRM_EXE=%s", w->exe ? w->exe : "");
	xasprintf(&extra[2], "AUTHD_CONFIRM_UNIT=%s", w->unit ? w->unit : "");
	xasprintf(&extra[3], "AUTHD_CONFIRM_PROFILE=%s", w->profile);
	xasprintf(&extra[4], "AUTHD_CONFIRM_AUDIENCE=%s",
	    w->audience ? w->audience : "");
	xasprintf(&extra[5], "AUTHD_CONFIRM_PROJECT=%s",
	    w->project ? w->project : "");
	env = confirm_env(extra, 6);
	/* The child runs only async-signal-safe calls until exec. */
	if ((pid = fork()) == 0) {
		if (dup2(devnull, STDIN_FILENO) == -1 ||
		    dup2(pfd[1], STDOUT_FILENO) == -1 ||
		    dup2(devnull, STDERR_FILENO) == -1)
			_exit(127);
		execve(prog, (char *[]){ (char *)prog, prompt, NULL }, env);
		_exit(127);
	}
	close(pfd[1]);
	close(devnull);
	free(env);
	for (i = 0; i < 6; i++)
		free(extra[i]);
	free(prompt);
	if (pid == -1) {
		close(pfd[0]);
		return -1;
	}
	c->pid = pid;
	c->fd = pfd[0];
	evutil_make_socket_nonblocking(c->fd);
	if ((c->rev = event_new(c->ad->base, c->fd, EV_READ | EV_PERSIST,
	    confirm_read_cb, c)) == NULL)
		fatalx("event_new");
	event_add(c->rev, NULL);
	return 0;
}

struct confirm *
confirm_ask(struct authd *ad, const struct confirm_what *w, int timeout,
    long cache, confirm_fn fn, void *arg)
{
	struct confirm	*c;
	const char	*prog;

	c = xcalloc(1, sizeof *c);
	c->ad = ad;
	c->fn = fn;
	c->arg = arg;
	c->pid = -1;
	c->fd = -1;
	c->cache = cache;
	xasprintf(&c->key, "%s\n%s\n%s\n%s\n%s", w->exe ? w->exe : "",
	    w->unit ? w->unit : "", w->profile, w->audience ? w->audience :
	    "", w->project ? w->project : "");
	if ((c->timer = evtimer_new(ad->base, confirm_timer_cb, c)) == NULL)
		fatalx("evtimer_new");
	TAILQ_INSERT_TAIL(&confirms, c, entry);
	if (cache > 0 && confirm_cached(c->key)) {
		c->ok = 1;
		c->state = CONFIRM_ANSWER;
		confirm_later(c, 0);
		return c;
	}
	c->state = CONFIRM_ANSWER;
	if ((prog = confirm_program()) == NULL) {
		c->why = "not confirmed: no askpass program (set "
		    "AUTHD_ASKPASS in authd's environment, or SSH_ASKPASS "
		    "with a display)";
		confirm_later(c, 0);
		return c;
	}
	if (confirm_spawn(c, prog, w) != 0) {
		log_warn("confirm: cannot run %s", prog);
		c->why = "not confirmed: the askpass program could not "
		    "be started";
		confirm_later(c, 0);
		return c;
	}
	log_info("confirm: asking through %s (pid %ld) for profile %s",
	    prog, (long)c->pid, w->profile);
	c->state = CONFIRM_RUNNING;
	confirm_later(c, (long)timeout * 1000);
	return c;
}

void
confirm_cancel(struct confirm *c)
{
	if (c == NULL)
		return;
	c->fn = NULL;
	if (c->pid != -1 && c->state == CONFIRM_RUNNING) {
		c->timed_out = 1;
		kill(c->pid, SIGKILL);
	}
}

void
confirm_free_all(void)
{
	struct confirm	*c;

	while ((c = TAILQ_FIRST(&confirms)) != NULL) {
		if (c->pid != -1) {
			kill(c->pid, SIGKILL);
			while (waitpid(c->pid, NULL, 0) == -1 && errno == EINTR)
				;
		}
		confirm_free(c);
	}
	while (!TAILQ_EMPTY(&confirm_cache))
		confirm_cached_free(TAILQ_FIRST(&confirm_cache));
}
