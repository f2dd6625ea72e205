/*
 * tb profile: add, list and remove the profiles of authd's configuration
 * file, so that nobody has to write its INI by hand.
 *
 * add and remove edit config.ini as text: every byte outside the one
 * [profile NAME] section is kept (comments, order, other sections). The
 * new text goes to a temporary file next to config.ini (0600), which the
 * daemon itself checks (authd --check-config reads it as a start would)
 * before it is renamed over config.ini; then a running daemon is told to
 * reload (SIGHUP) and tb waits until it serves the change. list asks the
 * daemon, whose status --all lists every configured profile.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>	/* INI_MAX_LINE: the daemon's parser's line limit */

#include "checkconf.h"
#include "error.h"
#include "output.h"
#include "proto.h"
#include "tb.h"
#include "text.h"

/*
 * inih keeps at most 49 bytes of a section's name (MAX_SECTION in its
 * ini.c, not in its header) and cuts the rest silently: "[profile NAME]"
 * carries a NAME of at most 41 bytes.
 */
#define TB_PROFILE_MAX_SECTION	49
#define TB_PROFILE_PREFIX	"profile "
#define TB_PROFILE_MAX_NAME \
	(TB_PROFILE_MAX_SECTION - (int)(sizeof TB_PROFILE_PREFIX - 1))
/* A config.ini larger than this is not one tb should rewrite. */
#define TB_PROFILE_MAX_FILE	(1024 * 1024)
/* How long authd may take to check a file, and to reload. */
#define TB_PROFILE_CHECK_MS	30000
#define TB_PROFILE_RELOAD_MS	15000

/* One line of config.ini, as inih reads it. */
enum tb_profile_kind {
	TB_LINE_BLANK,
	TB_LINE_COMMENT,
	TB_LINE_SECTION,
	TB_LINE_CONTENT,	/* a setting, its continuation, or a mistake */
};

struct tb_profile_line {
	size_t			 off;	/* in the text */
	size_t			 len;	/* with its end of line */
	enum tb_profile_kind	 kind;
	int			 match;	/* the header of the profile sought */
};

/* config.ini, read under the lock of its directory. */
struct tb_profile_file {
	char			*path;	/* as the daemon names it */
	char			*real;	/* the file written (a link's target) */
	char			*dir;	/* real's directory */
	int			 dirfd;	/* locked (flock) while we edit */
	int			 exists;
	char			*text;	/* its contents, NUL-terminated */
	size_t			 len;
	const char		*eol;	/* "\n", or "\r\n" for a CRLF file */
	struct tb_profile_line	*lines;
	size_t			 nlines;
};

/* A running daemon, found before a change: told to reload after it. */
struct tb_profile_daemon {
	struct connect	*c;
	long		 pid;
	cJSON		*before;	/* status --all, before the change */
};

/* What add writes. */
struct tb_profile_new {
	const char	*name;
	const char	*issuer;
	const char	*client_id;
	const char	*provider;
	char		**extra;	/* "key=value" */
	int		 nextra;
	int		 replace;
};

struct tb_profile_buf {
	char	*p;
	size_t	 len, size;
};

static void *
tb_profile_oom(void *p)
{
	if (p == NULL) {
		fputs("tb: out of memory\n", stderr);
		exit(TB_EXIT_ERROR);
	}
	return p;
}

static void
tb_profile_add_bytes(struct tb_profile_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->size) {
		b->size = (b->len + n + 1) * 2;
		b->p = tb_profile_oom(realloc(b->p, b->size));
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
tb_profile_add_str(struct tb_profile_buf *b, const char *s)
{
	tb_profile_add_bytes(b, s, strlen(s));
}

static char *
tb_profile_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
tb_profile_printf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		tb_profile_oom(NULL);
	return s;
}

/* --- the file as inih reads it --- */

/* The section text names profile name, as config.c reads a header. */
static int
tb_profile_section_is(const char *sec, size_t len, const char *name)
{
	size_t	plen = strlen(TB_PROFILE_PREFIX);

	if (len > TB_PROFILE_MAX_SECTION)
		len = TB_PROFILE_MAX_SECTION;
	if (len < plen || memcmp(sec, TB_PROFILE_PREFIX, plen) != 0)
		return 0;
	sec += plen;
	len -= plen;
	while (len > 0 && (*sec == ' ' || *sec == '"')) {
		sec++;
		len--;
	}
	while (len > 0 && (sec[len - 1] == '"' || sec[len - 1] == ' '))
		len--;
	return len == strlen(name) && memcmp(sec, name, len) == 0;
}

/*
 * The kind of line s (l bytes, without its '\n'), as inih sees it: a
 * comment starts with ';' or '#' after blanks; an indented line after a
 * setting continues it (blank and comment lines between do not end the
 * setting; a header does); '[' starts a header; an inline comment is ';'
 * after a blank.
 */
static enum tb_profile_kind
tb_profile_classify(const char *s, size_t l, int first, int *setting,
    const char *name, int *match)
{
	size_t	i = 0, j;

	*match = 0;
	if (first && l >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		i = 3;		/* a UTF-8 byte order mark */
	while (l > i && isspace((unsigned char)s[l - 1]))
		l--;
	while (i < l && isspace((unsigned char)s[i]))
		i++;
	if (i == l)
		return TB_LINE_BLANK;
	if (s[i] == ';' || s[i] == '#')
		return TB_LINE_COMMENT;
	if (*setting && i > 0)
		return TB_LINE_CONTENT;
	if (s[i] == '[') {
		*setting = 0;
		for (j = i + 1; j < l && s[j] != ']'; j++) {
			if (s[j] == ';' && isspace((unsigned char)s[j - 1]))
				break;
		}
		if (j < l && s[j] == ']' && name != NULL)
			*match = tb_profile_section_is(s + i + 1, j - i - 1,
			    name);
		return TB_LINE_SECTION;
	}
	for (j = i; j < l && s[j] != '=' && s[j] != ':'; j++) {
		if (s[j] == ';' && j > i && isspace((unsigned char)s[j - 1]))
			break;
	}
	if (j < l && (s[j] == '=' || s[j] == ':'))
		*setting = 1;
	return TB_LINE_CONTENT;
}

static void
tb_profile_split(struct tb_profile_file *f, const char *name)
{
	const char	*p = f->text, *end = f->text + f->len, *nl;
	size_t		 size = 0;
	int		 setting = 0;
	struct tb_profile_line *ln;

	free(f->lines);
	f->lines = NULL;
	f->nlines = 0;
	while (p < end) {
		if (f->nlines == size) {
			size = size ? size * 2 : 64;
			f->lines = tb_profile_oom(reallocarray(f->lines, size,
			    sizeof *f->lines));
		}
		ln = &f->lines[f->nlines];
		nl = memchr(p, '\n', (size_t)(end - p));
		ln->off = (size_t)(p - f->text);
		ln->len = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		ln->kind = tb_profile_classify(p, nl != NULL ?
		    (size_t)(nl - p) : ln->len, f->nlines == 0, &setting, name,
		    &ln->match);
		f->nlines++;
		p += ln->len;
	}
}

/* The line index of name's header, or -1. */
static long
tb_profile_find(const struct tb_profile_file *f)
{
	size_t	i;

	for (i = 0; i < f->nlines; i++) {
		if (f->lines[i].kind == TB_LINE_SECTION && f->lines[i].match)
			return (long)i;
	}
	return -1;
}

/* The line after header h's section: the next header, or the end. */
static size_t
tb_profile_section_end(const struct tb_profile_file *f, size_t h)
{
	size_t	i;

	for (i = h + 1; i < f->nlines; i++) {
		if (f->lines[i].kind == TB_LINE_SECTION)
			break;
	}
	return i;
}

/* The last line of header h's settings (h itself when it has none). */
static size_t
tb_profile_last_setting(const struct tb_profile_file *f, size_t h,
    size_t next)
{
	size_t	i, c = h;

	for (i = h + 1; i < next; i++) {
		if (f->lines[i].kind == TB_LINE_CONTENT)
			c = i;
	}
	return c;
}

/*
 * The lines that remove takes away, [*s, *e), for the header at h: from
 * the comment lines just above the header (no blank line between: they
 * describe it) through its last setting and the comment lines right after
 * it, unless those run into the next header (then they describe that
 * one), and the blank lines that follow, but one when nothing blank is
 * before the section. Comments set apart by blank lines belong to nobody
 * and stay. At the end of the file the blank line before the section goes
 * too.
 */
static void
tb_profile_section_range(const struct tb_profile_file *f, size_t h,
    size_t *s, size_t *e)
{
	size_t	next = tb_profile_section_end(f, h), j;

	*s = h;
	while (*s > 0 && f->lines[*s - 1].kind == TB_LINE_COMMENT)
		(*s)--;
	*e = tb_profile_last_setting(f, h, next) + 1;
	for (j = *e; j < next && f->lines[j].kind == TB_LINE_COMMENT; j++)
		;
	if (j > *e && (j == f->nlines ||
	    (j < next && f->lines[j].kind == TB_LINE_BLANK)))
		*e = j;
	for (j = *e; *e < next && f->lines[*e].kind == TB_LINE_BLANK; (*e)++)
		;
	/* One blank line still parts what was before from what follows. */
	if (*e > j && *e < f->nlines && *s > 0 &&
	    f->lines[*s - 1].kind != TB_LINE_BLANK)
		(*e)--;
	if (*e == f->nlines && *s > 0 &&
	    f->lines[*s - 1].kind == TB_LINE_BLANK)
		(*s)--;
}

/* --- values --- */

/* The longest line authd reads whole: inih's buffer, less the eol. */
static size_t
tb_profile_max_line(const struct tb_profile_file *f)
{
	return INI_MAX_LINE - 1 - strlen(f->eol);
}

/*
 * A value as the file will carry it, or a usage error: inih would cut it
 * at a line break or an inline comment, and drop blanks at its ends.
 */
static int
tb_profile_check_value(const struct tb_profile_file *f, const char *key,
    const char *v)
{
	size_t	i, n = strlen(v);

	if (!text_printable(v))
		return output_usage("%s: the value holds a line break or "
		    "another control character", key);
	if (n > 0 && (isspace((unsigned char)v[0]) ||
	    isspace((unsigned char)v[n - 1])))
		return output_usage("%s: the value starts or ends with a "
		    "blank, which config.ini cannot keep", key);
	for (i = 0; i < n; i++) {
		if (v[i] == ';' && (i == 0 || isspace((unsigned char)v[i - 1])))
			return output_usage("%s: ';' at the start of the value "
			    "or after a blank would start a comment in "
			    "config.ini", key);
	}
	if (strlen(key) + 3 + n > tb_profile_max_line(f))
		return output_usage("%s: the line '%s = ...' would be %zu "
		    "bytes long; authd reads lines of at most %zu bytes", key,
		    key, strlen(key) + 3 + n, tb_profile_max_line(f));
	return 0;
}

static int
tb_profile_valid_key(const char *k, size_t n)
{
	size_t	i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)k[i]) && k[i] != '_' &&
		    k[i] != '-' && k[i] != '.')
			return 0;
	}
	return 1;
}

static int
tb_profile_check_name(const char *name)
{
	if (!msg_valid_name(name))
		return output_usage("invalid profile name '%s' (use letters, "
		    "digits, '.', '_' and '-')", name);
	if (strlen(name) > TB_PROFILE_MAX_NAME)
		return output_usage("profile name '%s' is too long: config.ini "
		    "carries names of at most %d bytes", name,
		    TB_PROFILE_MAX_NAME);
	return 0;
}

/* "key = value" and the end of line (a value may be empty). */
static void
tb_profile_setting(const struct tb_profile_file *f, struct tb_profile_buf *b,
    const char *key, size_t klen, const char *v)
{
	tb_profile_add_bytes(b, key, klen);
	tb_profile_add_str(b, *v != '\0' ? " = " : " =");
	tb_profile_add_str(b, v);
	tb_profile_add_str(b, f->eol);
}

/* Every value of n, checked; the section's text appended to b. */
static int
tb_profile_section(const struct tb_profile_file *f,
    const struct tb_profile_new *n, struct tb_profile_buf *b)
{
	static const char	*own[] = { "issuer", "client_id", "provider" };
	const char		*eq;
	char			*key;
	size_t			 klen, i;
	int			 a, j, status;

	if ((status = tb_profile_check_value(f, "issuer", n->issuer)) != 0 ||
	    (status = tb_profile_check_value(f, "client_id",
	    n->client_id)) != 0)
		return status;
	if (n->provider != NULL && (status = tb_profile_check_value(f,
	    "provider", n->provider)) != 0)
		return status;
	for (a = 0; a < n->nextra; a++) {
		eq = strchr(n->extra[a], '=');
		klen = (size_t)(eq - n->extra[a]);
		if (!tb_profile_valid_key(n->extra[a], klen))
			return output_usage("'%s': expected KEY=VALUE, KEY of "
			    "letters, digits, '_', '-' and '.'", n->extra[a]);
		for (i = 0; i < sizeof own / sizeof own[0]; i++) {
			if (strlen(own[i]) == klen &&
			    strncmp(n->extra[a], own[i], klen) == 0)
				return output_usage("'%s': use --%s",
				    n->extra[a], i == 1 ? "client-id" : own[i]);
		}
		for (j = 0; j < a; j++) {
			if (strncmp(n->extra[j], n->extra[a], klen + 1) == 0)
				return output_usage("'%.*s' is given twice",
				    (int)klen, n->extra[a]);
		}
	}
	tb_profile_add_str(b, "[" TB_PROFILE_PREFIX);
	tb_profile_add_str(b, n->name);
	tb_profile_add_str(b, "]");
	tb_profile_add_str(b, f->eol);
	tb_profile_setting(f, b, "issuer", strlen("issuer"), n->issuer);
	tb_profile_setting(f, b, "client_id", strlen("client_id"),
	    n->client_id);
	if (n->provider != NULL)
		tb_profile_setting(f, b, "provider", strlen("provider"),
		    n->provider);
	for (a = 0; a < n->nextra; a++) {
		eq = strchr(n->extra[a], '=');
		klen = (size_t)(eq - n->extra[a]);
		key = tb_profile_printf("%.*s", (int)klen, n->extra[a]);
		status = tb_profile_check_value(f, key, eq + 1);
		free(key);
		if (status != 0)
			return status;
		tb_profile_setting(f, b, n->extra[a], klen, eq + 1);
	}
	return 0;
}

/* --- reading, checking and replacing config.ini --- */

/* config.ini where authd looks for it without --config (config.c). */
static char *
tb_profile_default_path(void)
{
	return checkconf_default_path();
}

/* The whole file, or *exists 0. Returns 0 or an errno. */
static int
tb_profile_read(const char *path, char **text, size_t *len, int *exists)
{
	struct stat	 sb;
	char		*buf;
	size_t		 have = 0;
	ssize_t		 n;
	int		 fd, saved;

	*text = NULL;
	*len = 0;
	*exists = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return errno == ENOENT ? 0 : errno;
	*exists = 1;
	if (fstat(fd, &sb) != 0) {
		saved = errno;
		close(fd);
		return saved;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return EINVAL;
	}
	if (sb.st_size > TB_PROFILE_MAX_FILE) {
		close(fd);
		return EFBIG;
	}
	buf = tb_profile_oom(malloc((size_t)sb.st_size + 1));
	for (;;) {
		n = read(fd, buf + have, (size_t)sb.st_size + 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			free(buf);
			close(fd);
			return saved;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > (size_t)sb.st_size) {	/* it grows: later */
			free(buf);
			close(fd);
			return EAGAIN;
		}
	}
	close(fd);
	buf[have] = '\0';
	*text = buf;
	*len = have;
	return 0;
}

/* mkdir -p, each directory made 0700. */
static int
tb_profile_mkdirs(const char *dir)
{
	char	*p, *copy = tb_profile_oom(strdup(dir));
	int	 last;

	for (p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		last = *p == '\0';
		*p = '\0';
		if (mkdir(copy, 0700) == 0)
			chmod(copy, 0700);	/* whatever the umask */
		else if (errno != EEXIST) {
			free(copy);
			return -1;
		}
		if (last)
			break;
		*p = '/';
	}
	free(copy);
	return 0;
}

static void
tb_profile_close(struct tb_profile_file *f)
{
	if (f->dirfd != -1)
		close(f->dirfd);	/* and the lock */
	free(f->path);
	free(f->real);
	free(f->dir);
	free(f->text);
	free(f->lines);
	memset(f, 0, sizeof *f);
	f->dirfd = -1;
}

/*
 * Find config.ini (through a symbolic link: the link stays), make its
 * directory if it is missing, lock the directory against another tb
 * profile, and read the file. Returns 0 or prints why and returns the exit
 * status.
 */
static int
tb_profile_open(struct tb *tb, struct tb_profile_file *f, int create)
{
	struct stat	 sb;
	char		*slash, *msg;
	int		 error;

	memset(f, 0, sizeof *f);
	f->dirfd = -1;
	f->eol = "\n";
	if ((f->path = tb_profile_default_path()) == NULL)
		return output_error(tb->json, AUTHD_E_CONFIG, "cannot tell "
		    "where config.ini is: neither XDG_CONFIG_HOME nor HOME is "
		    "an absolute path", NULL);
	if (lstat(f->path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
		if ((f->real = realpath(f->path, NULL)) == NULL) {
			msg = tb_profile_printf("%s: a symbolic link to "
			    "nothing usable: %s", f->path, strerror(errno));
			goto fail;
		}
	} else
		f->real = tb_profile_oom(strdup(f->path));
	f->dir = tb_profile_oom(strdup(f->real));
	slash = strrchr(f->dir, '/');
	slash[slash == f->dir ? 1 : 0] = '\0';
	if (create && stat(f->dir, &sb) != 0 &&
	    tb_profile_mkdirs(f->dir) != 0) {
		msg = tb_profile_printf("cannot make %s: %s", f->dir,
		    strerror(errno));
		goto fail;
	}
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd == -1 && errno == ENOENT && !create) {
		f->text = tb_profile_oom(strdup(""));
		return 0;	/* no file */
	}
	if (f->dirfd == -1) {
		msg = tb_profile_printf("%s: %s", f->dir, strerror(errno));
		goto fail;
	}
	/* Without locks (NFS, say), the check before the rename remains. */
	while (flock(f->dirfd, LOCK_EX) != 0) {
		if (errno == ENOLCK || errno == EOPNOTSUPP)
			break;
		if (errno != EINTR) {
			msg = tb_profile_printf("cannot lock %s: %s", f->dir,
			    strerror(errno));
			goto fail;
		}
	}
	error = tb_profile_read(f->real, &f->text, &f->len, &f->exists);
	if (error != 0) {
		msg = tb_profile_printf("cannot read %s: %s", f->real,
		    error == EINVAL ? "not a regular file" : error == EFBIG ?
		    "larger than 1 MiB" : strerror(error));
		goto fail;
	}
	if (f->text == NULL)
		f->text = tb_profile_oom(strdup(""));
	/* A file of CRLF lines gets CRLF lines. */
	slash = memchr(f->text, '\n', f->len);
	if (slash != NULL && slash > f->text && slash[-1] == '\r')
		f->eol = "\r\n";
	return 0;
fail:
	error = output_error(tb->json, AUTHD_E_CONFIG, msg, NULL);
	free(msg);
	return error;
}

/* s with every tmp replaced by shown (allocated). */
static char *
tb_profile_replace(const char *s, const char *tmp, const char *shown)
{
	struct tb_profile_buf	 b = { NULL, 0, 0 };
	const char		*p;

	tb_profile_add_str(&b, "");
	while ((p = strstr(s, tmp)) != NULL) {
		tb_profile_add_bytes(&b, s, (size_t)(p - s));
		tb_profile_add_str(&b, shown);
		s = p + strlen(tmp);
	}
	tb_profile_add_str(&b, s);
	return b.p;
}

static int64_t
tb_profile_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * authd --check-config --config tmp: 0 when authd accepts the file, else
 * its complaint printed (naming f->path, not tmp) and the exit status.
 */
static int
tb_profile_check(struct tb *tb, const struct tb_profile_file *f,
    const char *tmp, const sigset_t *oldmask)
{
	char	 out[4096], *msg, *hint;
	size_t	 have;
	int	 status, timedout;

	status = checkconf_run(tmp, TB_PROFILE_CHECK_MS, oldmask, out,
	    sizeof out, &timedout);
	if (status == -1)
		return output_error(tb->json, AUTHD_E_INTERNAL, out, NULL);
	if (!timedout && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	have = strlen(out);
	msg = tb_profile_replace(out, tmp, f->path);
	hint = tb_profile_printf("nothing was written: %s is as it was",
	    f->path);
	if (timedout)
		status = output_error(tb->json, AUTHD_E_CONFIG, "authd "
		    "--check-config did not answer in time", hint);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 1 &&
	    *msg != '\0')
		status = output_error(tb->json, AUTHD_E_CONFIG, msg, hint);
	else {
		free(hint);
		hint = tb_profile_printf("%s is as it was; install authd (tb "
		    "runs the one next to it, else the one on PATH)", f->path);
		free(msg);
		msg = tb_profile_printf("could not check the new %s with "
		    "authd (%s %d)%s%s", f->path, WIFEXITED(status) ?
		    "exit status" : "signal", WIFEXITED(status) ?
		    WEXITSTATUS(status) : WTERMSIG(status), have ? ": " : "",
		    have ? out : "");
		status = output_error(tb->json, AUTHD_E_CONFIG, msg, hint);
	}
	free(msg);
	free(hint);
	return status;
}

static int
tb_profile_write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replace config.ini with text: a temporary file in its directory (0600,
 * synced), checked by authd, renamed over config.ini, and the directory
 * synced. Signals that would end tb wait until the file is in place or
 * gone. Returns 0 or prints why and returns the exit status.
 */
static int
tb_profile_commit(struct tb *tb, struct tb_profile_file *f, const char *text,
    size_t len)
{
	sigset_t	 block, old;
	char		*tmp, *now = NULL, *msg = NULL;
	size_t		 nowlen;
	int		 fd, status = 0, exists, error;

	tmp = tb_profile_printf("%s/.config.ini.XXXXXX", f->dir);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);
	if ((fd = mkstemp(tmp)) == -1) {
		msg = tb_profile_printf("cannot write in %s: %s", f->dir,
		    strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || tb_profile_write_all(fd, text, len) != 0 ||
	    fsync(fd) != 0) {
		msg = tb_profile_printf("cannot write %s: %s", tmp,
		    strerror(errno));
		close(fd);
		goto out;
	}
	if (close(fd) != 0) {
		msg = tb_profile_printf("cannot write %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if ((status = tb_profile_check(tb, f, tmp, &old)) != 0)
		goto out;
	/* A hand edit meanwhile (the lock keeps only tb out) is not lost. */
	error = tb_profile_read(f->real, &now, &nowlen, &exists);
	if (error != 0 || exists != f->exists || nowlen != f->len ||
	    (nowlen > 0 && memcmp(now, f->text, nowlen) != 0)) {
		msg = tb_profile_printf("%s changed while tb was editing it: "
		    "nothing was written; run the command again", f->path);
		goto out;
	}
	if (rename(tmp, f->real) != 0) {
		msg = tb_profile_printf("cannot replace %s: %s", f->real,
		    strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if (fsync(f->dirfd) != 0) {
		msg = tb_profile_printf("%s was replaced, but syncing %s "
		    "failed: %s", f->path, f->dir, strerror(errno));
		goto out;
	}
out:
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(now);
	if (msg != NULL) {
		status = output_error(tb->json, AUTHD_E_CONFIG, msg, NULL);
		free(msg);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

/* --- the daemon --- */

/* One request on c; 0 with *reply a success, or the error in *cause. */
static int
tb_profile_request(struct connect *c, const char *op, cJSON *args,
    struct msg_reply *reply, char **cause)
{
	int	error;

	error = connect_request(c, op, args, NULL, NULL, TB_TIMEOUT_MS, reply,
	    cause);
	if (error != 0)
		return error;
	if (reply->kind != MSG_REPLY_OK) {
		*cause = tb_profile_printf("%s", reply->message != NULL ?
		    reply->message : reply->code);
		error = authd_error_by_code(reply->code) != NULL ?
		    (int)authd_error_by_code(reply->code)->err :
		    AUTHD_E_BAD_REPLY;
		msg_reply_clear(reply);
		return error;
	}
	return 0;
}

/* status --all's profiles array (a copy), or NULL with *cause. */
static cJSON *
tb_profile_status_all(struct connect *c, char **cause)
{
	struct msg_reply	 reply;
	cJSON			*args = tb_profile_oom(cJSON_CreateObject());
	cJSON			*arr;

	cJSON_AddTrueToObject(args, "all");
	if (tb_profile_request(c, PROTO_OP_STATUS, args, &reply, cause) != 0)
		return NULL;
	arr = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(reply.result,
	    "profiles"), 1);
	msg_reply_clear(&reply);
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		*cause = tb_profile_printf("authd sent no profile list");
		return NULL;
	}
	return arr;
}

static const char *
tb_profile_str(const cJSON *o, const char *key)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* The configured profile name in a status --all list, or NULL. */
static const cJSON *
tb_profile_listed(const cJSON *arr, const char *name)
{
	const cJSON	*p;
	const char	*n;

	cJSON_ArrayForEach(p, arr) {
		n = tb_profile_str(p, "profile");
		if (n != NULL && strcmp(n, name) == 0 &&
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p,
		    "configured")))
			return p;
	}
	return NULL;
}

/* Is the uid of process pid (real or effective) ours? */
static int
tb_profile_pid_ours(long pid)
{
	char	 path[64], line[256];
	FILE	*fp;
	unsigned long ruid, euid;
	int	 ours = 0;

	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, fp) != NULL) {
		if (sscanf(line, "Uid: %lu %lu", &ruid, &euid) == 2) {
			ours = ruid == (unsigned long)geteuid() &&
			    euid == (unsigned long)geteuid();
			break;
		}
	}
	fclose(fp);
	return ours;
}

/*
 * The running daemon, if any (never started for this): its pid from hello
 * and its profiles. Returns 0 (d->c NULL when none runs) or prints why
 * and returns the exit status.
 */
static int
tb_profile_find_daemon(struct tb *tb, struct tb_profile_daemon *d)
{
	struct msg_reply	 reply;
	const cJSON		*j;
	char			*cause = NULL;
	int			 error, status;

	memset(d, 0, sizeof *d);
	error = connect_open_flags(&d->c, tb->socket, tb->timeout_ms,
	    CONNECT_NO_AUTOSTART, &cause);
	if (error == AUTHD_E_UNREACHABLE || error == AUTHD_E_NO_SOCKET_PATH) {
		free(cause);
		return 0;
	}
	if (error == 0 && (error = tb_profile_request(d->c, PROTO_OP_HELLO,
	    NULL, &reply, &cause)) == 0) {
		j = cJSON_GetObjectItemCaseSensitive(reply.result, "pid");
		d->pid = cJSON_IsNumber(j) ? (long)j->valuedouble : 0;
		msg_reply_clear(&reply);
		if (d->pid <= 1) {
			error = AUTHD_E_BAD_REPLY;
			cause = tb_profile_printf("authd did not say its pid");
		} else
			d->before = tb_profile_status_all(d->c, &cause);
		if (d->before == NULL && error == 0)
			error = AUTHD_E_BAD_REPLY;
	}
	if (error == 0)
		return 0;
	status = output_error(tb->json, error, cause, NULL);
	free(cause);
	connect_close(d->c);
	d->c = NULL;
	return status;
}

static void
tb_profile_daemon_clear(struct tb_profile_daemon *d)
{
	connect_close(d->c);
	cJSON_Delete(d->before);
	memset(d, 0, sizeof *d);
}

static void
tb_profile_pause_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* The change is served: name listed with n's issuer and client, or gone. */
static int
tb_profile_served(const cJSON *arr, const char *name,
    const struct tb_profile_new *n)
{
	const cJSON	*p = tb_profile_listed(arr, name);
	const char	*issuer, *client_id;

	if (n == NULL)
		return p == NULL;
	if (p == NULL)
		return 0;
	issuer = tb_profile_str(p, "issuer");
	client_id = tb_profile_str(p, "client_id");
	return issuer != NULL && strcmp(issuer, n->issuer) == 0 &&
	    client_id != NULL && strcmp(client_id, n->client_id) == 0;
}

/*
 * SIGHUP to the daemon found before the change (its pid from hello, which
 * must be a process of ours: the socket's peer check says only that the
 * daemon is ours), then status --all until the change is served. n NULL:
 * name was removed. Returns 0 or prints why and returns the exit status.
 */
static int
tb_profile_reload(struct tb *tb, struct tb_profile_daemon *d,
    const char *path, const char *name, const struct tb_profile_new *n)
{
	cJSON		*arr;
	char		*cause = NULL, *msg;
	int64_t		 deadline;
	int		 status, served;

	if (!tb_profile_pid_ours(d->pid)) {
		msg = tb_profile_printf("authd says its pid is %ld, which is "
		    "not a process of yours: not signalled", d->pid);
		goto fail;
	}
	if (kill((pid_t)d->pid, SIGHUP) != 0) {
		msg = tb_profile_printf("cannot signal authd (pid %ld): %s",
		    d->pid, strerror(errno));
		goto fail;
	}
	deadline = tb_profile_now_ms() + TB_PROFILE_RELOAD_MS;
	for (;;) {
		if ((arr = tb_profile_status_all(d->c, &cause)) == NULL) {
			msg = tb_profile_printf("authd (pid %ld) did not "
			    "answer after the reload: %s", d->pid, cause);
			free(cause);
			goto fail;
		}
		served = tb_profile_served(arr, name, n);
		cJSON_Delete(arr);
		if (served)
			return 0;
		if (tb_profile_now_ms() > deadline)
			break;
		tb_profile_pause_ms(20);
	}
	msg = tb_profile_printf("authd (pid %ld) reloaded, but %s profile "
	    "'%s' after %d s", d->pid, n != NULL ? "does not serve the new" :
	    "still serves", name, TB_PROFILE_RELOAD_MS / 1000);
	status = output_error(tb->json, AUTHD_E_CONFIG, msg, "does it read "
	    "another file (authd --config)? Its log says what it read");
	free(msg);
	return status;
fail:
	cause = tb_profile_printf("%s is written; restart authd to use it",
	    path);
	status = output_error(tb->json, AUTHD_E_CONFIG, msg, cause);
	free(msg);
	free(cause);
	return status;
}

/* After the file is in place: tell the daemon, say what happened. */
static int
tb_profile_done(struct tb *tb, struct tb_profile_daemon *d,
    const char *path, const char *name, const struct tb_profile_new *n,
    const char *verb, const char *action)
{
	cJSON	*o;
	int	 status = 0;

	if (!tb->json && strcmp(action, "created") == 0)
		fprintf(stderr, "Created %s with profile '%s'.\n", path, name);
	else if (!tb->json)
		fprintf(stderr, "%s profile '%s' %s %s.\n", verb, name,
		    strcmp(action, "added") == 0 ? "to" :
		    strcmp(action, "removed") == 0 ? "from" : "in", path);
	if (d->c != NULL &&
	    (status = tb_profile_reload(tb, d, path, name, n)) != 0)
		return status;
	if (tb->json) {
		o = tb_profile_oom(cJSON_CreateObject());
		cJSON_AddStringToObject(o, "profile", name);
		cJSON_AddStringToObject(o, "config", path);
		cJSON_AddStringToObject(o, "action", action);
		cJSON_AddBoolToObject(o, "reloaded", d->c != NULL);
		output_json(o);
		cJSON_Delete(o);
	} else if (d->c != NULL)
		fprintf(stderr, "authd reloaded: %s\n", n != NULL ?
		    "the profile is served" : "the profile is gone");
	else
		fputs("No authd is running: it reads the file when it "
		    "starts.\n", stderr);
	return 0;
}

/* --- the commands --- */

static int
tb_profile_add(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "issuer",	required_argument,	NULL, 'i' },
		{ "client-id",	required_argument,	NULL, 'c' },
		{ "provider",	required_argument,	NULL, 'P' },
		{ "replace",	no_argument,		NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	struct tb_profile_new	 n;
	struct tb_profile_file	 f;
	struct tb_profile_daemon d;
	struct tb_profile_buf	 sec = { NULL, 0, 0 }, b = { NULL, 0, 0 };
	const cJSON		*p;
	const char		*verb, *action;
	char			*msg;
	long			 h;
	size_t			 s, e;
	int			 ch, status, i;

	memset(&n, 0, sizeof n);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			n.issuer = optarg;
			break;
		case 'c':
			n.client_id = optarg;
			break;
		case 'P':
			n.provider = optarg;
			break;
		case 'R':
			n.replace = 1;
			break;
		default:
			if (tb_common_opt(tb, &tb_cmd_profile, ch, optarg,
			    &status) < 0)
				return status;
		}
	}
	if (optind >= argc)
		return output_usage("'tb profile add' needs a profile name");
	n.name = argv[optind++];
	if ((status = tb_profile_check_name(n.name)) != 0)
		return status;
	if (n.issuer == NULL || n.client_id == NULL)
		return output_usage("'tb profile add' needs --issuer and "
		    "--client-id");
	n.extra = argv + optind;
	n.nextra = argc - optind;
	for (i = 0; i < n.nextra; i++) {
		if (strchr(n.extra[i], '=') == NULL)
			return output_usage("'%s': expected KEY=VALUE",
			    n.extra[i]);
		if (strncmp(n.extra[i], "client_secret=", 14) == 0)
			fputs("tb: warning: a client_secret on the command "
			    "line is seen by ps and kept in the shell's "
			    "history\n", stderr);
	}

	if ((status = tb_profile_open(tb, &f, 1)) != 0) {
		tb_profile_close(&f);
		return status;
	}
	if ((status = tb_profile_section(&f, &n, &sec)) != 0)
		goto out;
	if ((status = tb_profile_find_daemon(tb, &d)) != 0)
		goto out;
	tb_profile_split(&f, n.name);
	h = tb_profile_find(&f);
	if (h >= 0 && !n.replace) {
		msg = tb_profile_printf("profile '%s' exists already in %s",
		    n.name, f.path);
		status = output_error(tb->json, AUTHD_E_USAGE, msg, "replace "
		    "it with 'tb profile add --replace', or remove it first");
		free(msg);
		goto out_daemon;
	}
	tb_profile_add_str(&b, "");
	if (h >= 0) {
		/* In place: the lines from its header to its last setting. */
		e = tb_profile_last_setting(&f, (size_t)h,
		    tb_profile_section_end(&f, (size_t)h));
		s = f.lines[e].off + f.lines[e].len;	/* bytes kept after */
		tb_profile_add_bytes(&b, f.text, f.lines[h].off);
		tb_profile_add_bytes(&b, sec.p, sec.len);
		tb_profile_add_bytes(&b, f.text + s, f.len - s);
		verb = "Replaced";
		action = "replaced";
	} else {
		tb_profile_add_bytes(&b, f.text, f.len);
		if (f.len > 0 && f.text[f.len - 1] != '\n')
			tb_profile_add_str(&b, f.eol);
		if (f.nlines > 0 && f.lines[f.nlines - 1].kind != TB_LINE_BLANK)
			tb_profile_add_str(&b, f.eol);
		tb_profile_add_bytes(&b, sec.p, sec.len);
		verb = f.exists ? "Added" : "Created";
		action = f.exists ? "added" : "created";
	}
	if ((status = tb_profile_commit(tb, &f, b.p, b.len)) != 0)
		goto out_daemon;
	status = tb_profile_done(tb, &d, f.path, n.name, &n, verb, action);
	if (status == 0 && !tb->json && (d.c == NULL ||
	    (p = tb_profile_listed(d.before, n.name)) == NULL ||
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "logged_in"))))
		fprintf(stderr, "Log in with: tb --profile %s login\n", n.name);
	/* Profiles of the environment end where a file begins. */
	if (status == 0 && !f.exists && d.before != NULL) {
		cJSON_ArrayForEach(p, d.before) {
			if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p,
			    "configured")) || tb_profile_str(p, "profile") ==
			    NULL || strcmp(tb_profile_str(p, "profile"),
			    n.name) == 0)
				continue;
			fprintf(stderr, "tb: warning: authd's profile '");
			text_put(stderr, tb_profile_str(p, "profile"));
			fprintf(stderr, "' came from its environment "
			    "(AUTHD_ISSUER): now that config.ini exists, authd "
			    "reads only the file\nhint: keep the profile with "
			    "'tb profile add ");
			text_put(stderr, tb_profile_str(p, "profile"));
			fputs(" --issuer ", stderr);
			text_put(stderr, tb_profile_str(p, "issuer") ?
			    tb_profile_str(p, "issuer") : "URL");
			fputs(" --client-id ", stderr);
			text_put(stderr, tb_profile_str(p, "client_id") ?
			    tb_profile_str(p, "client_id") : "ID");
			fputs("'\n", stderr);
		}
	}
out_daemon:
	tb_profile_daemon_clear(&d);
out:
	free(sec.p);
	free(b.p);
	tb_profile_close(&f);
	return status;
}

static int
tb_profile_remove(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct tb_profile_file	 f;
	struct tb_profile_daemon d;
	struct tb_profile_buf	 b = { NULL, 0, 0 };
	const cJSON		*p;
	const char		*name;
	char			*msg;
	long			 h;
	size_t			 s, e;
	int			 ch, status;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_profile, ch, optarg,
		    &status) < 0)
			return status;
	}
	if (optind + 1 != argc)
		return output_usage("'tb profile remove' takes one profile "
		    "name");
	name = argv[optind];
	if ((status = tb_profile_check_name(name)) != 0)
		return status;

	if ((status = tb_profile_open(tb, &f, 0)) != 0) {
		tb_profile_close(&f);
		return status;
	}
	tb_profile_split(&f, name);
	if ((h = tb_profile_find(&f)) < 0) {
		msg = tb_profile_printf("no profile '%s' in %s", name, f.path);
		status = output_error(tb->json, AUTHD_E_UNKNOWN_PROFILE, msg,
		    "see 'tb profile list'");
		free(msg);
		tb_profile_close(&f);
		return status;
	}
	if ((status = tb_profile_find_daemon(tb, &d)) != 0) {
		tb_profile_close(&f);
		return status;
	}
	tb_profile_section_range(&f, (size_t)h, &s, &e);
	tb_profile_add_str(&b, "");
	tb_profile_add_bytes(&b, f.text, s < f.nlines ? f.lines[s].off : f.len);
	if (e < f.nlines)
		tb_profile_add_bytes(&b, f.text + f.lines[e].off,
		    f.len - f.lines[e].off);
	if ((status = tb_profile_commit(tb, &f, b.p, b.len)) != 0)
		goto out;
	if (!tb->json && d.c != NULL &&
	    (p = tb_profile_listed(d.before, name)) != NULL &&
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "logged_in")))
		fprintf(stderr, "tb: note: the profile was logged in; its "
		    "login stays in the credential store\nhint: next time run "
		    "'tb --profile %s logout' first, which revokes it\n", name);
	status = tb_profile_done(tb, &d, f.path, name, NULL, "Removed",
	    "removed");
out:
	tb_profile_daemon_clear(&d);
	free(b.p);
	tb_profile_close(&f);
	return status;
}

static void
tb_profile_put(const char *s, size_t width)
{
	size_t	n;

	text_put(stdout, s);
	for (n = text_width(s); n < width; n++)
		putchar(' ');
}

static int
tb_profile_list(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct msg_reply	 reply, dreply;
	const cJSON		*p;
	cJSON			*out, *arr, *o;
	const char		*dflt, *v;
	size_t			 wn = 7, wi = 6, wc = 9, n;
	int			 ch, status, provider = 0, count = 0;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_profile, ch, optarg,
		    &status) < 0)
			return status;
	}
	if (optind != argc)
		return output_usage("'tb profile list' takes no arguments");
	o = tb_profile_oom(cJSON_CreateObject());
	cJSON_AddTrueToObject(o, "all");
	if ((status = tb_call(tb, PROTO_OP_STATUS, o, NULL, NULL,
	    tb->timeout_ms, &reply)) != 0)
		return status;
	/* The default profile: the one a status without a name reports. */
	if ((status = tb_call(tb, PROTO_OP_STATUS, NULL, NULL, NULL,
	    tb->timeout_ms, &dreply)) != 0) {
		msg_reply_clear(&reply);
		return status;
	}
	dflt = tb_profile_str(dreply.result, "profile");

	out = tb_profile_oom(cJSON_CreateObject());
	if (dflt != NULL)
		cJSON_AddStringToObject(out, "default_profile", dflt);
	arr = cJSON_AddArrayToObject(out, "profiles");
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(reply.result,
	    "profiles")) {
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p,
		    "configured")) || tb_profile_str(p, "profile") == NULL)
			continue;
		o = cJSON_Duplicate(p, 1);
		cJSON_AddBoolToObject(o, "default", dflt != NULL &&
		    strcmp(dflt, tb_profile_str(p, "profile")) == 0);
		cJSON_AddItemToArray(arr, o);
		if ((n = text_width(tb_profile_str(p, "profile"))) > wn)
			wn = n;
		if ((v = tb_profile_str(p, "issuer")) != NULL &&
		    (n = text_width(v)) > wi)
			wi = n;
		if ((v = tb_profile_str(p, "client_id")) != NULL &&
		    (n = text_width(v)) > wc)
			wc = n;
		if (tb_profile_str(p, "provider") != NULL)
			provider = 1;
		count++;
	}
	msg_reply_clear(&reply);
	msg_reply_clear(&dreply);
	if (tb->json) {
		output_json(out);
		cJSON_Delete(out);
		return TB_EXIT_OK;
	}
	if (count == 0) {
		fputs("No profiles are configured.\nhint: add one with 'tb "
		    "profile add NAME --issuer URL --client-id ID'\n", stderr);
		cJSON_Delete(out);
		return TB_EXIT_OK;
	}
	printf("  ");
	tb_profile_put("PROFILE", wn + 2);
	tb_profile_put("ISSUER", wi + 2);
	if (provider) {
		tb_profile_put("CLIENT ID", wc + 2);
		printf("PROVIDER\n");
	} else
		printf("CLIENT ID\n");
	cJSON_ArrayForEach(p, arr) {
		printf("%c ", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p,
		    "default")) ? '*' : ' ');
		tb_profile_put(tb_profile_str(p, "profile"), wn + 2);
		v = tb_profile_str(p, "issuer");
		tb_profile_put(v != NULL ? v : "-", wi + 2);
		v = tb_profile_str(p, "client_id");
		if (provider) {
			tb_profile_put(v != NULL ? v : "-", wc + 2);
			v = tb_profile_str(p, "provider");
		}
		text_put(stdout, v != NULL ? v : "-");
		putchar('\n');
	}
	cJSON_Delete(out);
	return TB_EXIT_OK;
}

static int
tb_profile_run(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*sub;
	int		 ch, status;

	/* Options before the subcommand: tb profile --json list. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+jh", longopts, NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_profile, ch, optarg,
		    &status) < 0)
			return status;
	}
	if (optind >= argc)
		return output_usage("'tb profile' needs a command: add, list "
		    "or remove");
	sub = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: full re-initialisation */
	if (strcmp(sub, "add") == 0)
		return tb_profile_add(tb, argc, argv);
	if (strcmp(sub, "list") == 0)
		return tb_profile_list(tb, argc, argv);
	if (strcmp(sub, "remove") == 0)
		return tb_profile_remove(tb, argc, argv);
	return output_usage("unknown command 'tb profile %s' (use add, list "
	    "or remove)", sub);
}

const struct tb_cmd tb_cmd_profile = {
	.name = "profile",
	.usage =
"add NAME --issuer URL --client-id ID [--provider P]\n"
"                  [--replace] [KEY=VALUE...]\n"
"       tb profile list [--json]\n"
"       tb profile remove NAME",
	.summary = "add, list or remove the profiles of config.ini",
	.help =
"add writes a [profile NAME] section to authd's configuration file,\n"
"$XDG_CONFIG_HOME/authd/config.ini (created 0600 when missing); each\n"
"KEY=VALUE becomes 'KEY = VALUE' (see authd.ini(5)). --replace replaces\n"
"a profile of that name. remove deletes the profile's section. The rest\n"
"of the file is kept as it is. The new file is checked by authd\n"
"(authd --check-config) before it replaces config.ini: when authd\n"
"refuses it, tb prints why and changes nothing. A running authd is then\n"
"told to reload, and tb waits until it serves the change.\n"
"list shows the profiles authd serves ('*': the default one); with\n"
"--json, an object whose 'profiles' array holds their status objects.\n"
"Exit status: 0 done, 1 authd refused the file or could not be told,\n"
"2 usage (a bad name or value, or add of a profile that exists).\n",
	.run = tb_profile_run,
};
