/*
 * Per-caller policy; see policy.h. Pure: the caller's facts come in.
 */
#include "policy.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "xmalloc.h"

void
policies_init(struct policies *ps)
{
	memset(ps, 0, sizeof *ps);
	ps->tail = &ps->head;
}

static void
policy_list_clear(struct policy_list *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->word[i]);
	memset(l, 0, sizeof *l);
}

void
policies_clear(struct policies *ps)
{
	struct policy	*p, *next;

	for (p = ps->head; p != NULL; p = next) {
		next = p->next;
		free(p->name);
		free(p->exe);
		free(p->via);
		free(p->unit);
		free(p->cgroup);
		policy_list_clear(&p->profiles);
		policy_list_clear(&p->audiences);
		policy_list_clear(&p->projects);
		free(p);
	}
	policies_init(ps);
}

struct policy *
policies_add(struct policies *ps, const char *name, int line)
{
	struct policy	*p = xcalloc(1, sizeof *p);

	p->name = xstrdup(name);
	p->line = line;
	p->user_token = 1;
	*ps->tail = p;
	ps->tail = &p->next;
	ps->count++;
	return p;
}

/* Space-separated words, printable, at most POLICY_MAX_WORDS. */
static int
policy_list_set(struct policy_list *l, const char *value, const char **why)
{
	const char	*s = value, *e;
	const char	*q;

	if (l->set) {
		*why = "set twice";
		return -1;
	}
	for (q = value; *q != '\0'; q++) {
		if ((unsigned char)*q < 0x20 || *q == 0x7f) {
			*why = "a control character in the list";
			return -1;
		}
	}
	l->set = 1;
	while (*s != '\0') {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		e = s + strcspn(s, " \t");
		if (l->n == POLICY_MAX_WORDS) {
			*why = "more than 64 entries";
			return -1;
		}
		l->word[l->n++] = xstrndup(s, (size_t)(e - s));
		s = e;
	}
	if (l->n == 0) {
		*why = "an empty list (leave the key out for any)";
		return -1;
	}
	return 0;
}

static int
policy_pattern_set(char **slot, const char *value, const char **why)
{
	if (*slot != NULL) {
		*why = "set twice";
		return -1;
	}
	if (*value == '\0' || strlen(value) > 4096) {
		*why = "a pattern of 1 to 4096 bytes";
		return -1;
	}
	*slot = xstrdup(value);
	return 0;
}

int
policy_set(struct policy *p, const char *key, const char *value,
    const char **why)
{
	char	*end;
	long	 n;

	if (strcmp(key, "exe") == 0)
		return policy_pattern_set(&p->exe, value, why);
	if (strcmp(key, "via") == 0)
		return policy_pattern_set(&p->via, value, why);
	if (strcmp(key, "unit") == 0)
		return policy_pattern_set(&p->unit, value, why);
	if (strcmp(key, "cgroup") == 0)
		return policy_pattern_set(&p->cgroup, value, why);
	if (strcmp(key, "profiles") == 0)
		return policy_list_set(&p->profiles, value, why);
	if (strcmp(key, "audiences") == 0)
		return policy_list_set(&p->audiences, value, why);
	if (strcmp(key, "projects") == 0)
		return policy_list_set(&p->projects, value, why);
	if (strcmp(key, "user_token") == 0) {
		if (strcmp(value, "yes") == 0)
			p->user_token = 1;
		else if (strcmp(value, "no") == 0)
			p->user_token = 0;
		else {
			*why = "user_token is yes or no";
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "max_ttl") == 0) {
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || n < 1 ||
		    n > 31536000) {
			*why = "max_ttl is seconds, 1 to 31536000";
			return -1;
		}
		p->max_ttl = n;
		return 0;
	}
	*why = "unknown key (a [policy] has exe, via, unit, cgroup, profiles, "
	    "audiences, projects, user_token, max_ttl)";
	return -1;
}

const char *
policy_check(const struct policy *p)
{
	if (p->exe == NULL && p->via == NULL && p->unit == NULL &&
	    p->cgroup == NULL)
		return "names no caller (set exe, via, unit or cgroup)";
	return NULL;
}

static int
policy_match(const char *pattern, const char *value)
{
	return value != NULL && fnmatch(pattern, value, 0) == 0;
}

const struct policy *
policy_find(const struct policies *ps, const struct policy_caller *c,
    const char **by)
{
	const struct policy	*p;
	size_t			 i;
	int			 via;

	*by = NULL;
	for (p = ps->head; p != NULL; p = p->next) {
		if (p->exe != NULL && !policy_match(p->exe, c->exe))
			continue;
		if (p->unit != NULL && !policy_match(p->unit, c->unit))
			continue;
		if (p->cgroup != NULL && !policy_match(p->cgroup, c->cgroup))
			continue;
		if (p->via != NULL) {
			for (via = 0, i = 0; i < c->nancestors && !via; i++)
				via = policy_match(p->via, c->ancestors[i]);
			if (!via)
				continue;
		}
		*by = p->exe != NULL ? "exe" : p->via != NULL ? "via" :
		    p->unit != NULL ? "unit" : "cgroup";
		return p;
	}
	return NULL;
}

static int
policy_in(const struct policy_list *l, const char *w)
{
	size_t	i;

	if (!l->set)
		return 1;
	for (i = 0; w != NULL && i < l->n; i++)
		if (strcmp(l->word[i], w) == 0)
			return 1;
	return 0;
}

int
policy_allows(const struct policies *ps, const struct policy *p,
    const char *profile, int project_token, const char *audience,
    const char *project, char *buf, size_t len)
{
	if (p == NULL) {
		if (ps->count == 0 || ps->deflt == POLICY_DEFAULT_ALLOW)
			return 0;
		snprintf(buf, len, "no [policy] rule names this caller, and "
		    "default_policy is deny");
		return AUTHD_E_POLICY_DENIED;
	}
	if (!policy_in(&p->profiles, profile))
		snprintf(buf, len, "policy '%s' does not allow profile '%s'",
		    p->name, profile);
	else if (!project_token && !p->user_token)
		snprintf(buf, len, "policy '%s' does not allow the user "
		    "token (user_token = no): ask for a project token",
		    p->name);
	else if (project_token && !policy_in(&p->audiences, audience))
		snprintf(buf, len, "policy '%s' does not allow audience '%s'",
		    p->name, audience != NULL ? audience : "(none)");
	else if (project_token && p->projects.set &&
	    !policy_in(&p->projects, project))
		snprintf(buf, len, "policy '%s' does not allow project '%s'",
		    p->name, project != NULL ? project : "(none)");
	else if (!project_token && (p->audiences.set || p->projects.set) &&
	    !p->user_token)
		snprintf(buf, len, "policy '%s' allows project tokens only",
		    p->name);
	else
		return 0;
	return AUTHD_E_POLICY_DENIED;
}

int
policy_allows_expiry(const struct policy *p, time_t exp, char *buf,
    size_t len)
{
	long	left;

	if (p == NULL || p->max_ttl == 0)
		return 0;
	if (exp == 0) {
		snprintf(buf, len, "policy '%s': the token's lifetime is "
		    "unknown and max_ttl is %ld s", p->name, p->max_ttl);
		return AUTHD_E_POLICY_DENIED;
	}
	left = (long)(exp - time(NULL));
	if (left > p->max_ttl) {
		snprintf(buf, len, "policy '%s': the token lives %ld s more, "
		    "longer than its max_ttl %ld s", p->name, left,
		    p->max_ttl);
		return AUTHD_E_POLICY_DENIED;
	}
	return 0;
}
