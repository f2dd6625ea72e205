/*
 * libauthd-client: ask authd for tokens from any C program, the way tb
 * does. Blocking calls with a timeout; no event loop; thread-compatible
 * (one struct authd_client per thread).
 *
 *	struct authd_client	*c;
 *	struct authd_token	 t;
 *	struct authd_error	 e;
 *
 *	if (authd_client_open(&c, NULL, 5000, &e) == 0 &&
 *	    authd_client_token(c, &(struct authd_request){
 *	    .project = "prj_123" }, &t, &e) == 0) {
 *		use(t.token);
 *		authd_token_clear(&t);
 *	} else
 *		fprintf(stderr, "%s\n", e.message);
 *	authd_client_close(c);
 *
 * The wire protocol is proto/PROTOCOL.md; link with `pkg-config --libs
 * authd-client`.
 *
 * The library uses cJSON and leaves its allocator hooks alone: a program
 * that sets hooks of its own (cJSON_InitHooks) keeps them, and the library
 * allocates and frees through them. It wipes the strings of every reply
 * tree itself before freeing it, and a token it returns only lives in
 * struct authd_token until authd_token_clear.
 */
#ifndef AUTHD_CLIENT_H
#define AUTHD_CLIENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct authd_client;

/*
 * What went wrong: stable code, message, hint, and tb's exit status.
 * from_daemon tells authd's own error replies (not_logged_in, ...) from
 * failures on this side: connecting, sending, receiving, or a reply that
 * lacks what was asked for (bad_reply).
 */
struct authd_error {
	char	code[64];	/* e.g. "not_logged_in", "daemon_unreachable" */
	char	message[512];	/* from authd: its own, else the code */
	char	hint[256];	/* may be empty */
	int	exit_status;	/* 1 error ... 6, as tb(1) */
	int	from_daemon;	/* 1: authd's error reply; 0: this side */
};

/* A token request; NULL members are left to authd's defaults. */
struct authd_request {
	const char	*profile;	/* NULL: the default profile */
	const char	*audience;	/* NULL + no project: the user token */
	const char	*project;
	const char	*purpose;
	const char	*scope;
	long		 min_ttl;	/* seconds the token must still have */
};

struct authd_token {
	char		*token;		/* secret: authd_token_clear() wipes */
	long long	 expires_at;	/* Unix time, 0 when unknown */
	int		 cached;	/* served from authd's cache */
};

/* The longest token accepted (the protocol's limit). */
#define AUTHD_TOKEN_MAX	16384

/*
 * Nonzero when token can be handed on as a credential (printed, put in a
 * header, an environment variable or a line protocol): 1 to
 * AUTHD_TOKEN_MAX bytes of printable ASCII, 0x21 to 0x7e, so no white
 * space and no control bytes. authd_client_token checks every token with
 * it, as do tb and the credential helpers.
 */
int	authd_token_valid(const char *token);

/*
 * Connect to authd at path (NULL: $AUTHD_SOCK, else
 * $XDG_RUNTIME_DIR/authd/socket), starting it when nothing listens unless
 * AUTHD_NO_AUTOSTART=1. Returns 0, or -1 with *err filled.
 */
int	authd_client_open(struct authd_client **, const char *path,
	    int timeout_ms, struct authd_error *err);
void	authd_client_close(struct authd_client *);
/*
 * How long each later call waits for its reply, in milliseconds (<= 0: 60
 * seconds). authd_client_open's timeout_ms sets both this and how long
 * connecting may take.
 */
void	authd_client_set_timeout(struct authd_client *, int timeout_ms);

/*
 * A token (user or project-scoped). 0 with *t holding a token that passed
 * authd_token_valid, or -1 with *err filled and *t empty (authd_token_clear
 * is safe either way). A token that fails the check is a bad_reply error
 * ("authd returned an unusable token ...") and is wiped unused.
 */
int	authd_client_token(struct authd_client *, const struct authd_request *,
	    struct authd_token *, struct authd_error *err);
/* Wipe and free the token. */
void	authd_token_clear(struct authd_token *);

/*
 * A DPoP proof (RFC 9449) for one HTTP request made with the token that
 * authd_client_token would return for the same target. authd holds the
 * key; only the proof comes here. The method is an HTTP method token of
 * at most 16 bytes, the URL an http or https URL of at most 2048 bytes
 * (its query and fragment are not part of the proof), the nonce the
 * server's DPoP-Nonce (NULL: none).
 */
struct authd_proof_request {
	const char	*method;
	const char	*url;
	const char	*nonce;
};

/*
 * The proof (the DPoP header's value): 0 with *proof (allocated, free it
 * with authd_proof_free), or -1 with *err filled: a bearer (not
 * DPoP-bound) token is a "config" error.
 */
int	authd_client_proof(struct authd_client *, const struct authd_request *,
	    const struct authd_proof_request *, char **proof,
	    struct authd_error *err);
/* Wipe and free a proof. */
void	authd_proof_free(char *);

/*
 * What tb would ask for here (tb(1), CONTEXT): fill the members of *rq
 * that are NULL -- profile, audience, project -- from $TB_PROFILE, the
 * project binding (.authd-link) of the working directory and the [match]
 * rules of authd's config.ini, in that order; the members already set
 * stay. The strings belong to *ctx: keep it until the request is made,
 * then authd_context_free. Returns 0 (with or without a binding or a
 * rule), or -1 with *err filled (not_configured: a malformed binding or
 * config.ini, named with its line) and *ctx NULL.
 */
struct authd_context;
int	authd_context_apply(struct authd_context **ctx,
	    struct authd_request *rq, struct authd_error *err);
void	authd_context_free(struct authd_context *);

/*
 * The status object of a profile (NULL: the default) as JSON text
 * (allocated, free() it); *logged_in set. 0, or -1 with *err filled.
 */
int	authd_client_status(struct authd_client *, const char *profile,
	    char **json, int *logged_in, struct authd_error *err);

#ifdef __cplusplus
}
#endif

#endif /* AUTHD_CLIENT_H */
