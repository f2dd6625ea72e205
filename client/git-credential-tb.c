/*
 * git-credential-tb: a git credential helper (gitcredentials(7)) that
 * answers from authd, so git over HTTPS uses the same login as tb.
 *
 *   git-credential-tb --host HOST[:PORT]... [--profile P] [--audience A]
 *       [--project X] [--purpose P] [--scope S] [--min-ttl SECONDS]
 *       [--username U] get|store|erase
 *
 * git runs a helper named "tb" as "git credential-tb ARGS ACTION", so the
 * words after the helper's name in the configuration become options here:
 *
 *   [credential "https://git.example.com"]
 *       helper = "tb --host git.example.com --project prj_123"
 *
 * The helper answers only the hosts its --host options name (one or more)
 * and those of the [git] sections of authd's config.ini (authd.ini(5)):
 * git sends the host of the remote (with ":PORT" when not the default),
 * and a mistyped remote, a redirect or a submodule on another host must
 * not get the token. --host NAME matches that host on any port, --host
 * NAME:PORT only on that port; "[::1]" names an IPv6 address. A [git]
 * section names a host the same way and optionally a path prefix (git
 * sends the path with credential.useHttpPath), and chooses profile,
 * audience, project and user name, so that
 *
 *   git config --global credential.helper tb
 *
 * is enough. Without any --host or [git] section the helper answers
 * nothing and says on stderr how to configure it. The target is the
 * options', then the section's, then what 'tb token' would ask for in the
 * working directory ($TB_PROFILE, the project binding, [match] rules:
 * client/context.h).
 *
 * get: reads the request (key=value lines up to a blank line or EOF) and
 * answers username, password (the token) and password_expiry_utc, then a
 * blank line. When git announces capability[]=authtype (git 2.46), the
 * answer is capability[]=authtype, authtype=Bearer, credential (the token)
 * and ephemeral=true instead: git sends "Authorization: Bearer" and no
 * caching helper keeps a token that expires. The user name is --username,
 * else the [git] section's, else the request's, else "x-access-token".
 * A token goes only to https, or to plain http on a loopback host
 * (127.0.0.0/8, ::1, localhost). When not logged in, nothing is printed
 * and the exit status is 0, so that git tries its other helpers or
 * prompts; a one-line hint goes to stderr. Other failures print nothing
 * on stdout either and exit 1.
 *
 * The token is printed on stdout for get and nowhere else, and only once
 * it passed libauthd-client's check (printable ASCII, no white space: a
 * newline in it would inject lines into git's protocol). The answer goes
 * out with one write, not through stdio, and is wiped; so are the stdin
 * buffers and the line buffer that held what git sent.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "authd-client.h"
#include "context.h"
#include "msg.h"
#include "proto.h"
#include "text.h"
#include "token.h"

#ifndef AUTHD_VERSION
#define AUTHD_VERSION "0.0.0"
#endif

#define GCRED_CONNECT_MS	30000
#define GCRED_TOKEN_MS		60000
#define GCRED_MAX_HOSTS		16
#define GCRED_LINE_MAX		(PROTO_MAX_TOKEN + 1024)
#define GCRED_DEFAULT_USER	"x-access-token"
#define GCRED_MAX_EXPIRY	1000000000000000LL	/* beyond: not sent */

#define GCRED_EXAMPLE \
"  git config --global credential.https://git.example.com.helper \\\n" \
"      'tb --host git.example.com --project prj_123'\n"

/* Exit statuses: git only looks at stdout, these are for people. */
#define GCRED_EXIT_OK		0
#define GCRED_EXIT_ERROR	1
#define GCRED_EXIT_USAGE	2

struct gcred_opts {
	/* What to ask for; profile NULL: $TB_PROFILE, else authd's. */
	struct authd_request	 rq;
	const char		*username;
	const char		*hosts[GCRED_MAX_HOSTS];
	size_t			 nhosts;
};

/* The parts of git's request we use. */
struct gcred_req {
	int		 authtype;	/* git announced that capability */
	char		 protocol[32];
	char		 host[256];
	char		 path[1024];
	char		 username[256];
};

/*
 * Our own stdin buffer, read with read(2) rather than through stdio, so
 * that a password git may send (store, erase) can be wiped, and only the
 * bytes that came (gcred_inmax); the answer to get, which holds the token.
 */
static char	gcred_inbuf[BUFSIZ];
static size_t	gcred_inpos, gcred_inlen, gcred_inmax;
static int	gcred_ineof;	/* as stdio's: not read again (a terminal) */
static char	gcred_line[GCRED_LINE_MAX];
static size_t	gcred_line_used;	/* the longest line's, for the wipe */
static char	gcred_answer[GCRED_LINE_MAX + 512];

static void
gcred_usage(FILE *f)
{
	fprintf(f,
"usage: git-credential-tb [--host HOST[:PORT]]... [--profile P]\n"
"           [--audience A] [--project X] [--purpose P] [--scope S]\n"
"           [--min-ttl SECONDS] [--username U] get|store|erase\n"
"\n"
"A git credential helper answering with a token from authd, only for the\n"
"hosts named by --host (NAME: any port; NAME:PORT: that port) and by the\n"
"[git] sections of authd's config.ini (authd.ini(5)). Configure it for\n"
"each host, for example:\n"
GCRED_EXAMPLE
"or name the hosts in config.ini and set credential.helper to tb.\n"
"Plain http is answered only on loopback (127.0.0.0/8, ::1, localhost).\n"
"store and erase do nothing: authd owns the credential.\n");
}

/* One line on stderr, control characters replaced. */
static void
gcred_warn(const char *prefix, const char *msg)
{
	fputs(prefix, stderr);
	text_put(stderr, msg);
	fputc('\n', stderr);
}

/* The next byte of stdin, or EOF at its end or on an error. */
static int
gcred_getc(void)
{
	ssize_t	n;

	if (gcred_inpos == gcred_inlen) {
		if (gcred_ineof)
			return EOF;
		while ((n = read(STDIN_FILENO, gcred_inbuf,
		    sizeof gcred_inbuf)) == -1 && errno == EINTR)
			;
		if (n <= 0) {
			gcred_ineof = 1;
			return EOF;
		}
		gcred_inpos = 0;
		gcred_inlen = (size_t)n;
		if (gcred_inlen > gcred_inmax)
			gcred_inmax = gcred_inlen;
	}
	return (unsigned char)gcred_inbuf[gcred_inpos++];
}

/*
 * Read one line into gcred_line without its newline. Returns 1 for a line,
 * 0 at EOF, -1 for a line too long (read and dropped).
 */
static int
gcred_read_line(void)
{
	size_t	n = 0;
	int	ch, toolong = 0;

	for (;;) {
		ch = gcred_getc();
		if (ch == EOF) {
			if (n == 0 && !toolong)
				return 0;
			break;
		}
		if (ch == '\n')
			break;
		if (n < sizeof gcred_line - 1)
			gcred_line[n++] = (char)ch;
		else
			toolong = 1;
	}
	if (n + 1 > gcred_line_used)
		gcred_line_used = n + 1;
	if (n > 0 && gcred_line[n - 1] == '\r')
		n--;
	gcred_line[n] = '\0';
	return toolong ? -1 : 1;
}

/* Wipe what lines held (not the whole 17 KiB: each page costs a fault). */
static void
gcred_wipe_line(void)
{
	explicit_bzero(gcred_line, gcred_line_used);
	gcred_line_used = 0;
}

static void
gcred_set(char *dst, size_t len, const char *value)
{
	if (strlen(value) < len)
		snprintf(dst, len, "%s", value);
}

/* "https://host:port/path" as protocol, host and path (for url=). */
static void
gcred_parse_url(struct gcred_req *req, const char *url)
{
	const char	*p, *host, *slash;
	size_t		 n;

	if ((p = strstr(url, "://")) == NULL)
		return;
	n = (size_t)(p - url);
	if (n == 0 || n >= sizeof req->protocol)
		return;
	memcpy(req->protocol, url, n);
	req->protocol[n] = '\0';
	host = p + 3;
	/* Drop user information: it is not part of the host. */
	slash = host + strcspn(host, "/");
	if ((p = memchr(host, '@', (size_t)(slash - host))) != NULL)
		host = p + 1;
	n = (size_t)(slash - host);
	if (n < sizeof req->host) {
		memcpy(req->host, host, n);
		req->host[n] = '\0';
	}
	if (*slash == '/')
		gcred_set(req->path, sizeof req->path, slash + 1);
}

/*
 * Read git's request up to a blank line or EOF, keeping what we use. Every
 * line is read, so git never writes into a closed pipe.
 */
static void
gcred_read_request(struct gcred_req *req)
{
	char	*eq;
	int	 rc, have_url = 0;
	char	 url[2048];

	memset(req, 0, sizeof *req);
	url[0] = '\0';
	while ((rc = gcred_read_line()) != 0) {
		if (rc < 0)
			continue;
		if (gcred_line[0] == '\0')
			break;
		if ((eq = strchr(gcred_line, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(gcred_line, "protocol") == 0)
			gcred_set(req->protocol, sizeof req->protocol, eq);
		else if (strcmp(gcred_line, "host") == 0)
			gcred_set(req->host, sizeof req->host, eq);
		else if (strcmp(gcred_line, "path") == 0)
			gcred_set(req->path, sizeof req->path, eq);
		else if (strcmp(gcred_line, "capability[]") == 0 &&
		    strcmp(eq, "authtype") == 0)
			req->authtype = 1;
		else if (strcmp(gcred_line, "username") == 0)
			gcred_set(req->username, sizeof req->username, eq);
		else if (strcmp(gcred_line, "url") == 0 && strlen(eq) <
		    sizeof url) {
			snprintf(url, sizeof url, "%s", eq);
			have_url = 1;
		}
	}
	gcred_wipe_line();
	/* url= stands for the fields it contains unless they came too. */
	if (have_url && req->protocol[0] == '\0' && req->host[0] == '\0')
		gcred_parse_url(req, url);
	explicit_bzero(url, sizeof url);
}

/* Drain stdin (store, erase, unknown actions) and wipe what passed. */
static void
gcred_drain(void)
{
	while (gcred_read_line() != 0)
		;
	gcred_wipe_line();
}

/*
 * Split "name", "name:port", "[v6]" or "[v6]:port" (and, for --host, a bare
 * IPv6 address "::1") into the name, without brackets, and the port ("" when
 * none). -1 when it is none of these.
 */
static int
gcred_split_host(const char *host, char *name, size_t namelen, char *port,
    size_t portlen)
{
	const char	*end, *p;
	size_t		 n;

	if (host[0] == '[') {
		if ((end = strchr(host, ']')) == NULL)
			return -1;
		host++;
		p = end + 1;
	} else if (strchr(host, ':') != strrchr(host, ':')) {
		end = host + strlen(host);	/* a bare IPv6 address */
		p = end;
	} else {
		end = host + strcspn(host, ":");
		p = end;
	}
	n = (size_t)(end - host);
	if (n == 0 || n >= namelen)
		return -1;
	memcpy(name, host, n);
	name[n] = '\0';
	if (*p == '\0') {
		port[0] = '\0';
		return 0;
	}
	if (*p != ':' || p[1] == '\0' || strlen(p + 1) >= portlen ||
	    strspn(p + 1, "0123456789") != strlen(p + 1))
		return -1;
	snprintf(port, portlen, "%s", p + 1);
	return 0;
}

/* The host name without its port: "[::1]:8080" -> "::1". */
static void
gcred_host_name(const char *host, char *buf, size_t len)
{
	char	port[16];

	if (gcred_split_host(host, buf, len, port, sizeof port) != 0)
		buf[0] = '\0';
}

static int
gcred_is_loopback(const char *host)
{
	char	name[256];

	gcred_host_name(host, name, sizeof name);
	return strcasecmp(name, "localhost") == 0 ||
	    strcmp(name, "::1") == 0 ||
	    (strncmp(name, "127.", 4) == 0 &&
	    strspn(name, "0123456789.") == strlen(name));
}

/*
 * A valid --host: a host name or address, optionally with ":PORT", and
 * nothing else (no scheme, user information, path or white space).
 */
static int
gcred_host_valid(const char *h)
{
	char	name[256], port[16];
	long	n;

	if (gcred_split_host(h, name, sizeof name, port, sizeof port) != 0)
		return 0;
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_:") != strlen(name))
		return 0;
	if (port[0] != '\0') {
		n = strtol(port, NULL, 10);
		if (n < 1 || n > 65535)
			return 0;
	}
	return 1;
}

/*
 * The request's host is one of --host: the same name (without regard to
 * case), and the same port when the --host names one. Nothing is allowed
 * when no --host was given.
 */
static int
gcred_host_allowed(const struct gcred_opts *o, const char *host)
{
	char	name[256], port[16], hname[256], hport[16];
	size_t	i;

	if (gcred_split_host(host, name, sizeof name, port, sizeof port) != 0)
		return 0;
	for (i = 0; i < o->nhosts; i++) {
		if (gcred_split_host(o->hosts[i], hname, sizeof hname, hport,
		    sizeof hport) != 0)
			continue;
		if (strcasecmp(hname, name) == 0 &&
		    (hport[0] == '\0' || strcmp(hport, port) == 0))
			return 1;
	}
	return 0;
}

/*
 * Print a failure of libauthd-client; returns the exit status (0 for "not
 * logged in"). The hint of a failure on this side is printed only when
 * connecting failed.
 */
static int
gcred_fail(const struct authd_error *e, int connecting)
{
	if (strcmp(e->code, "not_logged_in") == 0 ||
	    strcmp(e->code, "token_rejected") == 0) {
		/* Let git try other helpers or prompt. */
		fputs("git-credential-tb: not logged in to authd; "
		    "run 'tb login'\n", stderr);
		return GCRED_EXIT_OK;
	}
	gcred_warn("git-credential-tb: ", e->message);
	if ((connecting || e->from_daemon) && e->hint[0] != '\0')
		gcred_warn("hint: ", e->hint);
	return GCRED_EXIT_ERROR;
}

/*
 * The target for this request: the options, then the [git] section that
 * matches (ctx->helper), then $TB_PROFILE, the binding and the [match]
 * rules (context.h).
 */
static void
gcred_target(const struct gcred_opts *o, struct context_choice *ctx)
{
	context_resolve(ctx, &o->rq, "--profile", 1);
}

/* The answer: username/password, or with git's authtype capability a
 * Bearer credential that caching helpers must not keep (ephemeral). */
static int
gcred_format(const struct gcred_req *req, const char *user,
    const struct authd_token *t)
{
	char	expiry[64];
	int	n;

	if (req->authtype)
		n = snprintf(gcred_answer, sizeof gcred_answer,
		    "capability[]=authtype\nauthtype=Bearer\ncredential=%s\n"
		    "ephemeral=true\n", t->token);
	else {
		expiry[0] = '\0';
		if (t->expires_at > 0 && t->expires_at < GCRED_MAX_EXPIRY)
			snprintf(expiry, sizeof expiry,
			    "password_expiry_utc=%lld\n", t->expires_at);
		n = snprintf(gcred_answer, sizeof gcred_answer,
		    "username=%s\npassword=%s\n%s", user, t->token, expiry);
	}
	return n < 0 || (size_t)n >= sizeof gcred_answer ? -1 : 0;
}

static int
gcred_get(const struct gcred_opts *o, const struct gcred_req *req)
{
	struct authd_client	*c;
	struct authd_token	 t;
	struct authd_error	 e;
	struct context_choice	*ctx;
	const char		*user;
	int			 error, allowed, status = GCRED_EXIT_OK;

	if (req->host[0] == '\0')
		return GCRED_EXIT_OK;
	if (strcmp(req->protocol, "https") != 0 &&
	    strcmp(req->protocol, "http") != 0)
		return GCRED_EXIT_OK;	/* not ours (smtp, cert) */
	if ((ctx = malloc(sizeof *ctx)) == NULL) {
		fputs("git-credential-tb: out of memory\n", stderr);
		return GCRED_EXIT_ERROR;
	}
	if (context_begin(ctx) != 0) {
		gcred_warn("git-credential-tb: ", ctx->why);
		status = GCRED_EXIT_ERROR;
		goto out;
	}
	ctx->helper = context_git_rule(ctx->rules, req->host, req->path);
	allowed = ctx->helper != NULL || gcred_host_allowed(o, req->host);
	if (o->nhosts == 0 && ctx->helper == NULL && !context_has_kind(ctx,
	    CTXRULE_GIT)) {
		fputs("git-credential-tb: no --host given and no [git] "
		    "section in config.ini, so\nno host is answered; name the "
		    "hosts that may get the token, for example:\n"
		    GCRED_EXAMPLE, stderr);
		goto out;
	}
	if (!allowed)
		goto out;
	if (strcmp(req->protocol, "http") == 0 &&
	    !gcred_is_loopback(req->host)) {
		gcred_warn("git-credential-tb: not sending a token over plain "
		    "http to ", req->host);
		goto out;
	}
	gcred_target(o, ctx);

	if (authd_client_open(&c, NULL, GCRED_CONNECT_MS, &e) != 0) {
		status = gcred_fail(&e, 1);
		goto out;
	}
	authd_client_set_timeout(c, GCRED_TOKEN_MS);
	/* The token has passed authd_token_valid, or this fails. */
	error = authd_client_token(c, &ctx->rq, &t, &e);
	authd_client_close(c);
	if (error != 0) {
		status = gcred_fail(&e, 0);
		goto out;
	}

	if (o->username != NULL)
		user = o->username;
	else if (ctx->helper != NULL && ctx->helper->username[0] != '\0')
		user = ctx->helper->username;
	else if (token_word(req->username, sizeof req->username - 1))
		user = req->username;
	else
		user = GCRED_DEFAULT_USER;
	/* The blank line that ends the answer is token_print's newline. */
	error = gcred_format(req, user, &t);
	authd_token_clear(&t);
	if (error != 0) {
		explicit_bzero(gcred_answer, sizeof gcred_answer);
		fputs("git-credential-tb: answer too long\n", stderr);
		status = GCRED_EXIT_ERROR;
		goto out;
	}
	if (token_print(gcred_answer) != 0) {
		gcred_warn("git-credential-tb: cannot write the answer: ",
		    strerror(errno));
		status = GCRED_EXIT_ERROR;
	}
out:
	context_end(ctx);
	free(ctx);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "profile",	required_argument,	NULL, 'p' },
		TOKEN_TARGET_LONGOPTS,
		{ "username",	required_argument,	NULL, 'U' },
		{ "host",	required_argument,	NULL, 'H' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	struct gcred_opts	 o;
	struct gcred_req	 req;
	const char		*action, *env, *cause;
	int			 ch, rc, status;

	signal(SIGPIPE, SIG_IGN);
	msg_init();
	memset(&o, 0, sizeof o);
	/* $TB_PROFILE comes after a [git] section's profile (gcred_target). */
	if ((env = getenv("TB_PROFILE")) != NULL && *env != '\0' &&
	    !msg_valid_name(env)) {
		gcred_warn("git-credential-tb: invalid profile name ", env);
		return GCRED_EXIT_USAGE;
	}

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "p:a:P:u:s:m:U:H:hV", longopts,
	    NULL)) != -1) {
		if ((rc = token_target_opt(&o.rq, ch, optarg, &cause)) < 0) {
			gcred_warn("git-credential-tb: ", cause);
			return GCRED_EXIT_USAGE;
		}
		if (rc > 0)
			continue;
		switch (ch) {
		case 'p':
			o.rq.profile = optarg;
			break;
		case 'U':
			if (!token_word(optarg, 255)) {
				fputs("git-credential-tb: --username must be "
				    "printable, without spaces\n", stderr);
				return GCRED_EXIT_USAGE;
			}
			o.username = optarg;
			break;
		case 'H':
			if (!gcred_host_valid(optarg)) {
				gcred_warn("git-credential-tb: --host takes a "
				    "host name and an optional :PORT, not ",
				    optarg);
				return GCRED_EXIT_USAGE;
			}
			if (o.nhosts == GCRED_MAX_HOSTS) {
				fputs("git-credential-tb: too many --host\n",
				    stderr);
				return GCRED_EXIT_USAGE;
			}
			o.hosts[o.nhosts++] = optarg;
			break;
		case 'h':
			gcred_usage(stdout);
			return GCRED_EXIT_OK;
		case 'V':
			printf("git-credential-tb (authd) %s\n", AUTHD_VERSION);
			return GCRED_EXIT_OK;
		default:
			fputs("git-credential-tb: invalid option\n", stderr);
			gcred_usage(stderr);
			return GCRED_EXIT_USAGE;
		}
	}
	if (o.rq.profile != NULL && !msg_valid_name(o.rq.profile)) {
		gcred_warn("git-credential-tb: invalid profile name ",
		    o.rq.profile);
		return GCRED_EXIT_USAGE;
	}
	if (optind != argc - 1) {
		gcred_usage(stderr);
		return GCRED_EXIT_USAGE;
	}
	action = argv[optind];

	if (strcmp(action, "get") == 0) {
		gcred_read_request(&req);
		status = gcred_get(&o, &req);
		explicit_bzero(&req, sizeof req);
	} else {
		/*
		 * store: git offers the credential it has just used so that
		 * a helper can keep it. authd owns the login and mints tokens
		 * on demand, so keeping a copy of a short-lived token would
		 * only leave one more secret on disk or in memory.
		 * erase: git says the server refused the credential. There is
		 * nothing of ours to delete: the login stays valid for other
		 * targets, the protocol has no operation that drops one cached
		 * token, and 'tb logout' is the way to remove the login.
		 * Other actions are ignored, as gitcredentials(7) asks.
		 */
		gcred_drain();
		status = GCRED_EXIT_OK;
	}
	explicit_bzero(gcred_inbuf, gcred_inmax);
	return status;
}
