/*
 * Provider presets: "provider = github" in a profile fills in what that
 * provider needs and its documentation fixes (docs/PROVIDERS.md): the
 * issuer (fixed, or a template filled from the profile's tenant, domain
 * or realm), fixed endpoints (no discovery when the login's two are
 * known), the login's scopes, the mint strategy, client authentication,
 * verification hosts and quirk flags (PROFILE_Q_*). What the profile sets
 * itself always wins, the explicit endpoint keys and issuer included
 * (which is how the tests point a preset at a loopback personality).
 * Pure: a table and the code that applies it.
 */
#ifndef AUTHD_PRESET_H
#define AUTHD_PRESET_H

struct profile;

#define PRESET_GENERIC		0
#define PRESET_GITHUB		1
#define PRESET_GITLAB		2
#define PRESET_GOOGLE		3
#define PRESET_MICROSOFT	4
#define PRESET_KEYCLOAK		5
#define PRESET_OKTA		6
#define PRESET_AUTH0		7
#define PRESET_COUNT		8

/* Which placeholders a preset's issuer template takes. */
#define PRESET_USES_TENANT	0x1
#define PRESET_USES_DOMAIN	0x2
#define PRESET_USES_REALM	0x4

/* The preset named name ("github", ...), or -1. */
int		 preset_find(const char *name);
/* The name of a preset, or "?". */
const char	*preset_name(int);
/* "generic, github, ...": every name, for messages. */
const char	*preset_names(void);
/* PRESET_USES_* of a preset. */
int		 preset_uses(int);
/* The issuer template of a preset, or NULL (the profile must give one). */
const char	*preset_issuer(int);
/* A preset's fixed endpoint PROFILE_EP_* (maybe a template), or NULL. */
const char	*preset_endpoint(int, int ep);

/*
 * Fill in what p's provider (p->provider) gives and the profile did not
 * set (p->set, and NULL endpoints): issuer, endpoints, scope and its base,
 * mint, client authentication, verification hosts, quirks; check what the
 * provider requires (a tenant, domain or realm used by no template is an
 * error, so is a missing client_secret where the provider needs one).
 * Returns 0, or -1 with *cause (allocated; no file or line).
 */
int		 preset_apply(struct profile *, char **cause);

#endif /* AUTHD_PRESET_H */
