/*
 * Confirm before use (issue 18, item 2), like ssh-add -c: a serve of a
 * profile with confirm = yes, or to a caller whose [policy] rule says
 * confirm = yes, first asks the user through an askpass program, run by
 * authd without blocking the loop (fork and exec; its stdout is a pipe
 * read by libevent; a timer is the deadline).
 *
 * The program: AUTHD_ASKPASS in authd's environment, else SSH_ASKPASS when
 * DISPLAY or WAYLAND_DISPLAY is set; none: refused. It gets the question
 * as its argument, SSH_ASKPASS_PROMPT=confirm (ssh-agent's convention)
 * and AUTHD_CONFIRM_EXE, _UNIT, _PROFILE, _AUDIENCE, _PROJECT in its
 * environment; exit status 0 is yes, anything else no, and no answer
 * within the deadline is no (the program is killed).
 *
 * A yes may be remembered for cache seconds per key (caller and target).
 */
#ifndef AUTHD_CONFIRM_H
#define AUTHD_CONFIRM_H

struct authd;
struct confirm;

#define CONFIRM_TIMEOUT		30	/* seconds, the default deadline */
#define CONFIRM_MAX_OUTPUT	4096	/* askpass output read and dropped */

struct confirm_what {
	const char	*exe;		/* the caller's, may be NULL */
	const char	*unit;
	const char	*profile;
	const char	*audience;	/* NULL: the user token */
	const char	*project;
};

/* ok 1 yes, 0 no with why (static); called later, never inside. */
typedef void	(*confirm_fn)(int ok, const char *why, void *arg);

/*
 * Ask (or answer from the cache at once, on the next loop iteration).
 * timeout in seconds; cache 0: every serve asks.
 */
struct confirm	*confirm_ask(struct authd *, const struct confirm_what *,
		     int timeout, long cache, confirm_fn, void *arg);
/* Stop telling fn (the program is killed and reaped later). */
void		 confirm_cancel(struct confirm *);
/* At exit: the cache freed, running programs killed and reaped. */
void		 confirm_free_all(void);

#endif /* AUTHD_CONFIRM_H */
