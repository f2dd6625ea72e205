/*
 * The audit log (SPEC.md section 8): one JSON line per login, logout, mint,
 * serve and deny, with the caller as the kernel names it (pid, uid,
 * executable, systemd unit) — never a token. Writing never blocks serving:
 * a failed write (a full disk) is counted and reported, not retried. The
 * file is rotated to PATH.1 past AUDIT_MAX_SIZE.
 */
#ifndef AUTHD_AUDIT_H
#define AUTHD_AUDIT_H

#include <sys/types.h>

#include <cjson/cJSON.h>

#define AUDIT_MAX_SIZE	(10 * 1024 * 1024)

struct audit;

/* The caller as the kernel names it (exe and unit may be NULL). */
struct audit_peer {
	pid_t		 pid;
	uid_t		 uid;
	const char	*exe;
	const char	*unit;
	const char	*forward;	/* the forwarded socket it came by */
};

/* NULL path: auditing is off (every call is then a no-op). */
struct audit	*audit_open(const char *path, char **cause);
void		 audit_close(struct audit *);
/* Is an audit log being written? (Then it is worth building a target.) */
int		 audit_on(const struct audit *);
/*
 * Record event ("login", "logout", "mint", "serve", "proof", "deny") by
 * peer (NULL
 * for the daemon's own work) for profile; target is taken
 * (may be NULL); result is "ok" or an error code; detail may be NULL.
 */
void		 audit_event(struct audit *, const char *event,
		     const struct audit_peer *peer,
		     const char *profile, cJSON *target, const char *result,
		     const char *detail);

#endif /* AUTHD_AUDIT_H */
