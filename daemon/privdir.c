/*
 * Private runtime directories; see privdir.h.
 */
#include "privdir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

/* What to do instead, for the messages. */
#define PRIVDIR_FIX	"use a directory that only you can write to, such " \
			"as $XDG_RUNTIME_DIR/authd (the default)"

char *
privdir_runtime(void)
{
	const char	*run = getenv("XDG_RUNTIME_DIR");
	char		*dir;

	if (run == NULL || run[0] != '/')
		return NULL;
	xasprintf(&dir, "%s/authd", run);
	return dir;
}

/* path with repeated and trailing slashes dropped (allocated). */
static char *
privdir_clean(const char *path)
{
	char	*s, *d;

	s = d = xstrdup(path);
	for (; *path != '\0'; path++) {
		if (*path == '/' && (path[1] == '/' || (path[1] == '\0' &&
		    d != s)))
			continue;
		*d++ = *path;
	}
	*d = '\0';
	return s;
}

/* 1 when dir is $XDG_RUNTIME_DIR/authd. */
static int
privdir_is_runtime(const char *dir)
{
	char	*run, *a, *b;
	int	 same;

	if ((run = privdir_runtime()) == NULL)
		return 0;
	a = privdir_clean(run);
	b = privdir_clean(dir);
	same = strcmp(a, b) == 0;
	free(a);
	free(b);
	free(run);
	return same;
}

int
privdir_make(const char *dir, const char *what, char **cause)
{
	struct stat	 sb;
	mode_t		 mode;
	int		 made = 0;

	if (mkdir(dir, 0700) == 0) {
		log_debug("created %s", dir);
		made = 1;
	} else if (errno != EEXIST) {
		xasprintf(cause, "%s %s cannot be made: %s", what, dir,
		    strerror(errno));
		return -1;
	}
	if (lstat(dir, &sb) != 0) {
		xasprintf(cause, "%s %s: %s", what, dir, strerror(errno));
		return -1;
	}
	if (S_ISLNK(sb.st_mode)) {
		xasprintf(cause, "%s %s is a symbolic link: give the "
		    "directory's own path", what, dir);
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		xasprintf(cause, "%s %s is not a directory", what, dir);
		return -1;
	}
	mode = sb.st_mode & 07777;
	if (sb.st_uid != geteuid()) {
		xasprintf(cause, "%s %s belongs to uid %lu, not to you "
		    "(uid %lu; mode %04o): refusing to use it; " PRIVDIR_FIX,
		    what, dir, (unsigned long)sb.st_uid,
		    (unsigned long)geteuid(), (unsigned)mode);
		return -1;
	}
	if ((mode & 0077) == 0)
		return 0;
	/* Ours to fix: made just now (by a umask we did not expect), or
	 * authd's own runtime directory. */
	if (made || privdir_is_runtime(dir)) {
		if (chmod(dir, 0700) != 0) {
			xasprintf(cause, "chmod %s: %s", dir, strerror(errno));
			return -1;
		}
		if (!made)
			log_info("%s %s had mode %04o: now 0700", what, dir,
			    (unsigned)mode);
		return 0;
	}
	/* Someone else's choice: checked, never changed. */
	if (mode & (S_IWGRP | S_IWOTH)) {
		xasprintf(cause, "%s %s (owner uid %lu, mode %04o) can be "
		    "written by %s: refusing to use it; " PRIVDIR_FIX, what,
		    dir, (unsigned long)sb.st_uid, (unsigned)mode,
		    (mode & S_IWOTH) ? "everyone" : "its group");
		return -1;
	}
	return 0;
}
