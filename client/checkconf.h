/*
 * The configuration as authd reads it: `authd --check-config`, run by tb
 * (tb profile checks each file it writes, tb doctor the one in use).
 */
#ifndef AUTHD_CHECKCONF_H
#define AUTHD_CHECKCONF_H

#include <signal.h>
#include <stddef.h>

/* config.ini where authd looks for it without --config (allocated), or
 * NULL when neither XDG_CONFIG_HOME nor HOME says. */
char	*checkconf_default_path(void);

/*
 * Run `authd --check-config --config path` (the authd next to tb, else the
 * one on PATH) for at most timeout_ms, with mask (may be NULL) as the
 * child's signal mask. Returns its wait status, *timedout set when it was
 * killed for taking too long; out holds what it printed on stderr (at
 * most outlen - 1 bytes, "authd: " and trailing blanks removed). -1 with
 * out saying why when it could not be run at all.
 */
int	checkconf_run(const char *path, int timeout_ms, const sigset_t *mask,
	    char *out, size_t outlen, int *timedout);

#endif /* AUTHD_CHECKCONF_H */
