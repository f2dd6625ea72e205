/*
 * Profiles; see profile.h.
 */
#include "profile.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct profiles {
	TAILQ_HEAD(, profile)	 list;
	int			 count;
};

static void
profile_free(struct profile *p)
{
	free(p->name);
	free(p->issuer);
	free(p->client_id);
	free(p->scope);
	free(p);
}

int
profiles_from_env(struct profiles **out, char **cause)
{
	struct profiles	*ps;
	struct profile	*p;
	const char	*issuer, *client_id, *scope;

	*out = NULL;
	ps = xcalloc(1, sizeof *ps);
	TAILQ_INIT(&ps->list);
	issuer = getenv("AUTHD_ISSUER");
	client_id = getenv("AUTHD_CLIENT_ID");
	if (issuer != NULL && *issuer != '\0') {
		if (client_id == NULL || *client_id == '\0') {
			xasprintf(cause, "AUTHD_ISSUER is set but "
			    "AUTHD_CLIENT_ID is not");
			free(ps);
			return -1;
		}
		p = xcalloc(1, sizeof *p);
		p->name = xstrdup(PROFILE_DEFAULT);
		p->issuer = xstrdup(issuer);
		p->client_id = xstrdup(client_id);
		scope = getenv("AUTHD_SCOPE");
		p->scope = xstrdup(scope != NULL ? scope : PROFILE_SCOPE);
		TAILQ_INSERT_TAIL(&ps->list, p, entry);
		ps->count++;
	} else if (client_id != NULL && *client_id != '\0') {
		xasprintf(cause, "AUTHD_CLIENT_ID is set but AUTHD_ISSUER is "
		    "not");
		free(ps);
		return -1;
	}
	*out = ps;
	return 0;
}

struct profile *
profiles_find(struct profiles *ps, const char *name)
{
	struct profile	*p;

	TAILQ_FOREACH(p, &ps->list, entry) {
		if (strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

struct profile *
profiles_first(struct profiles *ps)
{
	return TAILQ_FIRST(&ps->list);
}

int
profiles_count(const struct profiles *ps)
{
	return ps->count;
}

void
profiles_free(struct profiles *ps)
{
	struct profile	*p;

	if (ps == NULL)
		return;
	while ((p = TAILQ_FIRST(&ps->list)) != NULL) {
		TAILQ_REMOVE(&ps->list, p, entry);
		profile_free(p);
	}
	free(ps);
}
