/*
 * The file store: one 0600 JSON file per profile in a 0700 directory
 * ($XDG_STATE_HOME/authd, else ~/.local/state/authd), replaced atomically
 * (write a temporary file, fsync, rename, fsync the directory), so that a
 * crash at any moment leaves the old record or the new one, never a torn
 * one. Runs on the worker thread. Only used when chosen explicitly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "store-backend.h"
#include "xmalloc.h"

#define STORE_FILE_MAX	(256 * 1024)

struct store_file {
	char		*dir;
	unsigned int	 serial;	/* temporary names */
};

static int
store_file_mkdirs(const char *dir, char **cause)
{
	char		*copy, *p;
	struct stat	 sb;

	copy = xstrdup(dir);
	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
			xasprintf(cause, "mkdir %s: %s", copy, strerror(errno));
			free(copy);
			return -1;
		}
		*p = '/';
	}
	free(copy);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		xasprintf(cause, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		xasprintf(cause, "%s is not a directory", dir);
		return -1;
	}
	if (sb.st_uid != geteuid()) {
		xasprintf(cause, "%s belongs to uid %lu, not to us", dir,
		    (unsigned long)sb.st_uid);
		return -1;
	}
	if ((sb.st_mode & 0077) != 0 && chmod(dir, 0700) != 0) {
		xasprintf(cause, "chmod %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static char *
store_file_path(const struct store_file *f, const char *profile)
{
	char	*path;

	/* Profile names are [A-Za-z0-9_.-]: no slash can get in. */
	xasprintf(&path, "%s/%s.json", f->dir, profile);
	return path;
}

static void
store_file_load(struct store_file *f, struct store_job *j)
{
	struct store_record	*r;
	struct stat		 sb;
	char			*path, *buf = NULL, *cause = NULL;
	ssize_t			 n;
	size_t			 have = 0;
	int			 fd;

	path = store_file_path(f, j->profile);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		if (errno != ENOENT)
			store_job_fail(j, AUTHD_E_STORE, "%s: %s", path,
			    strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid() || (sb.st_mode & 0077) != 0) {
		store_job_fail(j, AUTHD_E_STORE, "%s: not a private regular "
		    "file of ours (mode must be 0600): refusing it", path);
		goto out;
	}
	if (sb.st_size <= 0 || sb.st_size > STORE_FILE_MAX) {
		store_job_fail(j, AUTHD_E_STORE, "%s: bad size %lld", path,
		    (long long)sb.st_size);
		goto out;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (have < (size_t)sb.st_size) {
		n = read(fd, buf + have, (size_t)sb.st_size - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	if (have != (size_t)sb.st_size) {
		store_job_fail(j, AUTHD_E_STORE, "%s: short read", path);
		goto out;
	}
	r = store_record_decode(buf, have, &cause);
	if (r == NULL) {
		store_job_fail(j, AUTHD_E_STORE, "%s: %s", path, cause);
		free(cause);
		goto out;
	}
	if (strcmp(r->issuer, j->issuer) != 0 ||
	    strcmp(r->profile, j->profile) != 0) {
		/* Made for another issuer: not this profile's credential. */
		log_info("%s is for issuer %s, not %s: ignored", path,
		    r->issuer, j->issuer);
		store_record_free(r);
		goto out;
	}
	j->result = r;
out:
	if (fd != -1)
		close(fd);
	if (buf != NULL)
		xfreezero(buf, (size_t)sb.st_size + 1);
	free(path);
}

static int
store_file_sync_dir(const char *dir)
{
	int	fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static void
store_file_save(struct store_file *f, struct store_job *j)
{
	char	*path, *tmp = NULL, *text, *cause = NULL;
	size_t	 len, off = 0;
	ssize_t	 n;
	int	 fd = -1;

	if (store_file_mkdirs(f->dir, &cause) != 0) {
		store_job_fail(j, AUTHD_E_STORE, "%s", cause);
		free(cause);
		return;
	}
	path = store_file_path(f, j->profile);
	xasprintf(&tmp, "%s/.%s.json.%ld.%u.tmp", f->dir, j->profile,
	    (long)getpid(), f->serial++);
	text = store_record_encode(j->rec);
	len = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		store_job_fail(j, AUTHD_E_STORE, "%s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			store_job_fail(j, AUTHD_E_STORE, "write %s: %s", tmp,
			    n == 0 ? "no space" : strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		store_job_fail(j, AUTHD_E_STORE, "fsync %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) != 0) {
		store_job_fail(j, AUTHD_E_STORE, "rename %s: %s", path,
		    strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if (store_file_sync_dir(f->dir) != 0)
		store_job_fail(j, AUTHD_E_STORE, "fsync %s: %s", f->dir,
		    strerror(errno));
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	xfreezero(text, len);
	free(path);
}

static void
store_file_delete(struct store_file *f, struct store_job *j)
{
	char	*path = store_file_path(f, j->profile);

	if (unlink(path) != 0 && errno != ENOENT)
		store_job_fail(j, AUTHD_E_STORE, "unlink %s: %s", path,
		    strerror(errno));
	else if (store_file_sync_dir(f->dir) != 0 && errno != ENOENT)
		store_job_fail(j, AUTHD_E_STORE, "fsync %s: %s", f->dir,
		    strerror(errno));
	free(path);
}

static void
store_file_run(struct store_job *j)
{
	struct store_file	*f = store_state(j->s);

	switch (j->op) {
	case STORE_LOAD:
		store_file_load(f, j);
		break;
	case STORE_SAVE:
		store_file_save(f, j);
		break;
	case STORE_DELETE:
		store_file_delete(f, j);
		break;
	}
}

static void
store_file_free(void *state)
{
	struct store_file	*f = state;

	free(f->dir);
	free(f);
}

/*
 * The lock: store.lock in the store's directory (made 0700 now if it is
 * missing), so that every daemon using this directory, on this machine or
 * another one sharing it (an NFS home), finds it.
 */
static int
store_file_lock_path(void *state, char **path, char **cause)
{
	struct store_file	*f = state;

	if (store_file_mkdirs(f->dir, cause) != 0)
		return -1;
	xasprintf(path, "%s/store.lock", f->dir);
	return 0;
}

/*
 * Temporary files of a writer that died mid-write are garbage. Only the
 * daemon that holds the lock sweeps, so no other daemon's write is in
 * progress.
 */
static void
store_file_sweep(void *state)
{
	struct store_file	*f = state;
	const char		*dir = f->dir;
	DIR			*d;
	struct dirent		*e;
	char			*p;
	size_t			 n;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (e->d_name[0] != '.' || n < 5 ||
		    strcmp(e->d_name + n - 4, ".tmp") != 0)
			continue;
		xasprintf(&p, "%s/%s", dir, e->d_name);
		if (unlink(p) == 0)
			log_info("removed %s, left by an interrupted write", p);
		free(p);
	}
	closedir(d);
}

static const struct store_ops store_file_ops = {
	.name = "file",
	.persistent = 1,
	.blocking = 1,
	.run = store_file_run,
	.free = store_file_free,
	.lock_path = store_file_lock_path,
	.start = store_file_sweep,
};

int
store_file_init(struct authd *ad, const struct store_ops **ops, void **state,
    char **cause)
{
	struct store_file	*f;
	const char		*base, *home;

	(void)ad;
	f = xcalloc(1, sizeof *f);
	base = getenv("XDG_STATE_HOME");
	home = getenv("HOME");
	if (base != NULL && base[0] == '/')
		xasprintf(&f->dir, "%s/authd", base);
	else if (home != NULL && home[0] == '/')
		xasprintf(&f->dir, "%s/.local/state/authd", home);
	else {
		xasprintf(cause, "the file store needs XDG_STATE_HOME or HOME");
		free(f);
		return AUTHD_E_CONFIG;
	}
	*ops = &store_file_ops;
	*state = f;
	return 0;
}
