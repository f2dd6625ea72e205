/*
 * An example program on libauthd-client: print a token (user or project)
 * and the status, the way a tool would. Usage:
 *   client_example [PROJECT]
 * Exit status as tb(1) on failure.
 *
 * It also sets cJSON hooks of its own, as a host program may, and checks
 * that the library keeps them: every cJSON block it allocates and frees
 * goes through them ("hooks: kept" on stderr), else it exits 99. Its blocks
 * carry a header, so a block freed by the wrong allocator aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "authd-client.h"

#define EXAMPLE_MAGIC	0x686f6f6b73ULL
#define EXAMPLE_HEADER	16

static unsigned long	example_mallocs, example_frees;

static void *
example_malloc(size_t n)
{
	uint64_t	*p;

	if ((p = malloc(EXAMPLE_HEADER + n)) == NULL)
		return NULL;
	p[0] = EXAMPLE_MAGIC;
	example_mallocs++;
	return (char *)p + EXAMPLE_HEADER;
}

static void
example_free(void *q)
{
	uint64_t	*p;

	if (q == NULL)
		return;
	p = (uint64_t *)(void *)((char *)q - EXAMPLE_HEADER);
	if (p[0] != EXAMPLE_MAGIC)
		abort();
	p[0] = 0;
	example_frees++;
	free(p);
}

/* Nonzero when our hooks are still cJSON's and saw every block. */
static int
example_hooks_kept(void)
{
	unsigned long	 before = example_mallocs;
	cJSON		*j;

	if (example_mallocs == 0 || example_frees != example_mallocs)
		return 0;
	j = cJSON_CreateObject();
	cJSON_Delete(j);
	return j != NULL && example_mallocs == before + 1;
}

int
main(int argc, char **argv)
{
	cJSON_Hooks		 hooks = { .malloc_fn = example_malloc,
				    .free_fn = example_free };
	struct authd_client	*c;
	struct authd_context	*ctx = NULL;
	struct authd_request	 rq = { 0 };
	struct authd_token	 t;
	struct authd_error	 e;
	struct authd_proof_request pr = { 0 };
	const char		*url;
	char			*json, *proof;
	int			 logged_in;

	cJSON_InitHooks(&hooks);
	if (authd_client_open(&c, NULL, 10000, &e) != 0) {
		fprintf(stderr, "error: %s: %s\n", e.code, e.message);
		return e.exit_status;
	}
	if (authd_client_status(c, NULL, &json, &logged_in, &e) != 0) {
		fprintf(stderr, "error: %s: %s\n", e.code, e.message);
		authd_client_close(c);
		return e.exit_status;
	}
	fprintf(stderr, "status: %s\n", json);
	free(json);
	if (argc > 1 && strcmp(argv[1], "--here") == 0) {
		/* What tb token would ask for in this directory. */
		if (authd_context_apply(&ctx, &rq, &e) != 0) {
			fprintf(stderr, "error: %s: %s\n", e.code, e.message);
			authd_client_close(c);
			return e.exit_status;
		}
	} else if (argc > 1)
		rq.project = argv[1];
	if (authd_client_token(c, &rq, &t, &e) != 0) {
		authd_context_free(ctx);
		fprintf(stderr, "error: %s: %s%s%s\n", e.code, e.message,
		    e.hint[0] ? "; hint: " : "", e.hint);
		authd_client_close(c);
		return e.exit_status;
	}
	authd_context_free(ctx);
	printf("%s\n", t.token);
	fprintf(stderr, "expires_at=%lld cached=%d\n", t.expires_at, t.cached);
	authd_token_clear(&t);
	/* EXAMPLE_PROOF_URL: a DPoP proof for a GET of it, on a second line. */
	if ((url = getenv("EXAMPLE_PROOF_URL")) != NULL) {
		pr.method = "GET";
		pr.url = url;
		if (authd_client_proof(c, &rq, &pr, &proof, &e) != 0) {
			fprintf(stderr, "error: %s: %s%s%s\n", e.code,
			    e.message, e.hint[0] ? "; hint: " : "", e.hint);
			authd_client_close(c);
			return e.exit_status;
		}
		printf("%s\n", proof);
		authd_proof_free(proof);
	}
	authd_client_close(c);
	if (!example_hooks_kept()) {
		fprintf(stderr, "hooks: replaced (%lu allocated, %lu freed)\n",
		    example_mallocs, example_frees);
		return 99;
	}
	fprintf(stderr, "hooks: kept (%lu blocks)\n", example_mallocs);
	return 0;
}
