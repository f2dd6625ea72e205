/*
 * docker-credential-tb: a docker credential helper (the protocol of
 * github.com/docker/docker-credential-helpers) that answers from authd.
 * Configure it in ~/.docker/config.json as
 *
 *   { "credHelpers": { "registry.example.com": "tb" } }
 *
 * and name the registries it serves, and what it asks authd for each, in
 * [docker NAME] sections of authd's config.ini (authd.ini(5)):
 *
 *   [docker ci]
 *   registry = registry.example.com
 *   audience = https://registry.example.com
 *   project = prj_123
 *
 * (any number; no token is handed to a registry none names), or in the
 * environment docker runs with, which overrides a section:
 *
 *   TB_DOCKER_REGISTRY  one more registry host it serves, e.g.
 *                       registry.example.com or localhost:5000
 *   TB_DOCKER_AUDIENCE  the token's audience (default: the profile's)
 *   TB_DOCKER_PROJECT   the project to mint a token for (default: none, the
 *                       user's own token)
 *   TB_DOCKER_USERNAME  the user name to answer (default: x-access-token)
 *   TB_PROFILE          the authd profile (after a section's; default:
 *                       the project binding's, a [match] rule's, authd's)
 *
 * Actions (one argument; input on stdin, answer on stdout):
 *
 *   get      stdin: a server URL. stdout: {"ServerURL","Username","Secret"}
 *            with the token as Secret. When the URL is neither
 *            TB_DOCKER_REGISTRY nor a section's registry, or the user is
 *            not logged in, the answer
 *            is "credentials not found in native keychain" and the exit
 *            status 1: docker then goes on without credentials.
 *   list     stdout: {"REGISTRY":"USERNAME",...} for every registry it
 *            serves when logged in, else {}.
 *   store    stdin: {"ServerURL","Username","Secret"}, read and dropped.
 *   erase    stdin: a server URL, read and ignored.
 *   version  prints the version.
 *
 * store and erase change nothing because authd owns the credential: the
 * login is made with 'tb login' and removed with 'tb logout', and tokens
 * are minted on demand, so a password typed at 'docker login' has no place
 * to go and nothing is kept that could be erased.
 *
 * Errors other than "not found" are one line on stdout and exit status 1,
 * as the protocol has it; a hint, when there is one, goes to stderr. All
 * JSON is built and parsed with cJSON. The token appears only on stdout
 * for get, once it passed libauthd-client's check; it goes out with one
 * write, not through stdio, and every buffer that held it is wiped.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "authd-client.h"
#include "context.h"
#include "msg.h"
#include "text.h"
#include "token.h"

#ifndef AUTHD_VERSION
#define AUTHD_VERSION "0.0.0"
#endif

#define DCRED_CONNECT_MS	30000
#define DCRED_TOKEN_MS		60000
#define DCRED_INPUT_MAX		(64 * 1024)
#define DCRED_DEFAULT_USER	"x-access-token"
#define DCRED_NOT_FOUND	"credentials not found in native keychain"

#define DCRED_EXIT_OK		0
#define DCRED_EXIT_ERROR	1

/*
 * TB_DOCKER_REGISTRY (NULL: the [docker] sections' only), the user name of
 * TB_DOCKER_USERNAME (NULL: the section's, else the default), what
 * TB_DOCKER_* ask for (audience, project), TB_PROFILE, and the binding and
 * rules of the working directory.
 */
struct dcred_conf {
	const char		*registry;
	const char		*username;
	struct authd_request	 rq;
	const char		*profile;
	struct context_choice	*ctx;
};

/*
 * Our own stdin buffer and input buffer, wiped before exit: store's Secret
 * passes through them. The token never passes through stdio (token_print).
 */
static char	dcred_inbuf[BUFSIZ];
static char	dcred_input[DCRED_INPUT_MAX + 1];

static void
dcred_usage(void)
{
	printf("Usage: docker-credential-tb <store|get|erase|list|version>\n");
}

/* One line on the given stream, control characters replaced. */
static void
dcred_line(FILE *f, const char *prefix, const char *msg)
{
	fputs(prefix, f);
	text_put(f, msg);
	fputc('\n', f);
}

static int
dcred_not_found(const char *hint)
{
	puts(DCRED_NOT_FOUND);
	if (hint != NULL)
		dcred_line(stderr, "hint: ", hint);
	return DCRED_EXIT_ERROR;
}

static int
dcred_error(const char *message, const char *hint)
{
	dcred_line(stdout, "", message);
	if (hint != NULL && *hint != '\0')
		dcred_line(stderr, "hint: ", hint);
	return DCRED_EXIT_ERROR;
}

static const char *
dcred_env(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

static int
dcred_conf_load(struct dcred_conf *conf)
{
	memset(conf, 0, sizeof *conf);
	conf->registry = dcred_env("TB_DOCKER_REGISTRY");
	conf->rq.audience = dcred_env("TB_DOCKER_AUDIENCE");
	conf->rq.project = dcred_env("TB_DOCKER_PROJECT");
	conf->username = dcred_env("TB_DOCKER_USERNAME");
	conf->profile = dcred_env("TB_PROFILE");
	if (conf->username != NULL && !token_word(conf->username, 255)) {
		dcred_error("TB_DOCKER_USERNAME must be printable, without "
		    "spaces", NULL);
		return -1;
	}
	if (conf->profile != NULL && !msg_valid_name(conf->profile)) {
		dcred_error("TB_PROFILE is not a valid profile name", NULL);
		return -1;
	}
	if ((conf->ctx = malloc(sizeof *conf->ctx)) == NULL) {
		dcred_error("out of memory", NULL);
		return -1;
	}
	if (context_begin(conf->ctx) != 0) {
		dcred_error(conf->ctx->why, "fix the file named above");
		context_end(conf->ctx);
		free(conf->ctx);
		conf->ctx = NULL;
		return -1;
	}
	return 0;
}

static void
dcred_conf_free(struct dcred_conf *conf)
{
	if (conf->ctx != NULL) {
		context_end(conf->ctx);
		free(conf->ctx);
		conf->ctx = NULL;
	}
}

/* The user name to answer for rule r (may be NULL). */
static const char *
dcred_username(const struct dcred_conf *conf, const struct ctxrule *r)
{
	if (conf->username != NULL)
		return conf->username;
	if (r != NULL && r->username[0] != '\0')
		return r->username;
	return DCRED_DEFAULT_USER;
}

/*
 * Read all of stdin (at most DCRED_INPUT_MAX bytes are kept, the rest is
 * read and dropped) into dcred_input, NUL-terminated. Returns the length.
 */
static size_t
dcred_read_input(void)
{
	size_t	n = 0;
	int	ch;

	while ((ch = getchar()) != EOF) {
		if (n < DCRED_INPUT_MAX)
			dcred_input[n++] = (char)ch;
	}
	dcred_input[n] = '\0';
	return n;
}

static void
dcred_wipe_input(void)
{
	explicit_bzero(dcred_input, sizeof dcred_input);
	explicit_bzero(dcred_inbuf, sizeof dcred_inbuf);
}

/* Trim surrounding white space in place. */
static char *
dcred_trim(char *s)
{
	char	*end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/*
 * The registry of a server URL as docker spells it ("registry.example.com",
 * "https://registry.example.com/v2/", "localhost:5000"): lower-case host and
 * port, no scheme, no path.
 */
static void
dcred_registry_key(const char *url, char *buf, size_t len)
{
	size_t	n, i;

	if (strncasecmp(url, "https://", 8) == 0)
		url += 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		url += 7;
	n = strcspn(url, "/");
	if (n >= len)
		n = len - 1;
	for (i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)url[i]);
	buf[n] = '\0';
}

static int
dcred_serves(const struct dcred_conf *conf, const char *url)
{
	char	a[256], b[256];

	if (conf->registry == NULL)
		return 0;
	dcred_registry_key(url, a, sizeof a);
	dcred_registry_key(conf->registry, b, sizeof b);
	return a[0] != '\0' && strcmp(a, b) == 0;
}

/* Print one JSON object and a newline; the printed copy is wiped. */
static int
dcred_print_json(const cJSON *j)
{
	char	*s;
	int	 error;

	if ((s = cJSON_PrintUnformatted(j)) == NULL)
		return dcred_error("out of memory", NULL);
	error = token_print(s);
	cJSON_free(s);
	return error == 0 ? DCRED_EXIT_OK : DCRED_EXIT_ERROR;
}

/*
 * Connect to authd, whose replies may take as long as a token mint. NULL
 * when that failed, which has been printed.
 */
static struct authd_client *
dcred_open(void)
{
	struct authd_client	*c;
	struct authd_error	 e;

	if (authd_client_open(&c, NULL, DCRED_CONNECT_MS, &e) != 0) {
		dcred_error(e.message, e.hint);
		return NULL;
	}
	authd_client_set_timeout(c, DCRED_TOKEN_MS);
	return c;
}

/* The server URL has been read into dcred_input. */
static int
dcred_get(const struct dcred_conf *conf)
{
	struct authd_client	*c;
	struct authd_token	 t;
	struct authd_error	 e;
	cJSON			*out;
	char			*url, key[256];
	int			 error, status;

	url = dcred_trim(dcred_input);
	if (*url == '\0' || !msg_valid_utf8(url, strlen(url)))
		return dcred_error("no server URL on stdin", NULL);
	dcred_registry_key(url, key, sizeof key);
	conf->ctx->helper = context_docker_rule(conf->ctx->rules, key);
	if (conf->registry == NULL && !context_has_kind(conf->ctx,
	    CTXRULE_DOCKER))
		return dcred_not_found("add a [docker NAME] section with "
		    "'registry = HOST' to authd's config.ini, or set "
		    "TB_DOCKER_REGISTRY");
	if (!dcred_serves(conf, url) && conf->ctx->helper == NULL)
		return dcred_not_found(NULL);
	/* TB_DOCKER_*, the [docker] section, TB_PROFILE, binding, rules. */
	context_resolve(conf->ctx, &conf->rq, NULL, 1);

	if ((c = dcred_open()) == NULL)
		return DCRED_EXIT_ERROR;
	/* The token has passed authd_token_valid, or this fails. */
	error = authd_client_token(c, &conf->ctx->rq, &t, &e);
	authd_client_close(c);
	if (error != 0) {
		if (strcmp(e.code, "not_logged_in") == 0 ||
		    strcmp(e.code, "token_rejected") == 0)
			return dcred_not_found("run 'tb login'");
		return dcred_error(e.message, e.hint);
	}
	if ((out = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(out, "ServerURL", url) == NULL ||
	    cJSON_AddStringToObject(out, "Username", dcred_username(conf,
	    conf->ctx->helper)) == NULL ||
	    cJSON_AddStringToObject(out, "Secret", t.token) == NULL) {
		msg_free(out);
		authd_token_clear(&t);
		return dcred_error("out of memory", NULL);
	}
	authd_token_clear(&t);
	status = dcred_print_json(out);
	msg_free(out);		/* wipes the Secret */
	return status;
}

static int
dcred_list(const struct dcred_conf *conf)
{
	struct authd_client	*c;
	struct authd_error	 e;
	cJSON			*out;
	const struct ctxrule	*r;
	char			*json;
	int			 error, status, i, logged_in = 0;

	if (conf->registry != NULL || context_has_kind(conf->ctx,
	    CTXRULE_DOCKER)) {
		if ((c = dcred_open()) == NULL)
			return DCRED_EXIT_ERROR;
		error = authd_client_status(c, conf->profile, &json,
		    &logged_in, &e);
		authd_client_close(c);
		if (error != 0)
			return dcred_error(e.message, e.hint);
		free(json);
	}
	if ((out = cJSON_CreateObject()) == NULL)
		return dcred_error("out of memory", NULL);
	for (i = 0; logged_in && conf->ctx->rules != NULL &&
	    i < conf->ctx->rules->n; i++) {
		r = &conf->ctx->rules->rules[i];
		if (r->kind == CTXRULE_DOCKER &&
		    cJSON_GetObjectItemCaseSensitive(out, r->host) == NULL &&
		    cJSON_AddStringToObject(out, r->host, dcred_username(conf,
		    r)) == NULL) {
			cJSON_Delete(out);
			return dcred_error("out of memory", NULL);
		}
	}
	if (logged_in && conf->registry != NULL &&
	    cJSON_GetObjectItemCaseSensitive(out, conf->registry) == NULL &&
	    cJSON_AddStringToObject(out, conf->registry, dcred_username(conf,
	    NULL)) == NULL) {
		cJSON_Delete(out);
		return dcred_error("out of memory", NULL);
	}
	status = dcred_print_json(out);
	cJSON_Delete(out);
	return status;
}

int
main(int argc, char **argv)
{
	struct dcred_conf	 conf;
	const char		*action;
	int			 status;

	setvbuf(stdin, dcred_inbuf, _IOFBF, sizeof dcred_inbuf);
	signal(SIGPIPE, SIG_IGN);
	msg_init();
	if (argc != 2) {
		dcred_usage();
		return DCRED_EXIT_ERROR;
	}
	action = argv[1];
	if (strcmp(action, "version") == 0) {
		printf("docker-credential-tb (authd) %s\n", AUTHD_VERSION);
		return DCRED_EXIT_OK;
	}
	if (strcmp(action, "store") == 0 || strcmp(action, "erase") == 0) {
		/* authd owns the credential: see the comment at the top. */
		dcred_read_input();
		dcred_wipe_input();
		return DCRED_EXIT_OK;
	}
	if (strcmp(action, "get") != 0 && strcmp(action, "list") != 0) {
		dcred_usage();
		return DCRED_EXIT_ERROR;
	}
	/* Read the request first: docker writes it whatever we answer. */
	if (strcmp(action, "get") == 0)
		dcred_read_input();
	if (dcred_conf_load(&conf) != 0)
		status = DCRED_EXIT_ERROR;
	else if (strcmp(action, "get") == 0)
		status = dcred_get(&conf);
	else
		status = dcred_list(&conf);
	dcred_conf_free(&conf);
	dcred_wipe_input();
	if (fflush(stdout) != 0)
		status = DCRED_EXIT_ERROR;
	return status;
}
