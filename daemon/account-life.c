/*
 * Accounts: the lifetimes of a login (profile max_idle and max_session,
 * like ssh-add -t); see account.h.
 *
 * One timer per account, armed for the earlier of the two deadlines. The
 * timer runs on the monotonic clock, which stops in suspend: the deadlines
 * are wall-clock times, checked again when it fires and, for max_session,
 * at the next request (account_life_check).
 *   max_session  login_time + max_session: the login ends as a refused
 *                grant does (its tokens revoked at the provider when it
 *                offers revocation, the stored record deleted); status
 *                says "ended": "max_session".
 *   max_idle     the last use + max_idle: the stored login's tokens are
 *                wiped from memory (only when the store keeps it: file or
 *                keyring); the next use loads it again.
 */
#include "account.h"

#include <stdlib.h>

#include <event2/event.h>

#include "account-int.h"
#include "authd.h"
#include "error.h"
#include "idp.h"
#include "log.h"
#include "profile.h"
#include "secret.h"
#include "store.h"

/* A deadline that cannot be applied now (work in flight) is tried again. */
#define ACCOUNT_LIFE_RETRY	1

static time_t
account_session_due(const struct account *a)
{
	if (a->p->max_session <= 0 || a->login_time == 0 ||
	    !account_has_credential(a))
		return 0;
	return a->login_time + a->p->max_session;
}

static time_t
account_idle_due(const struct account *a)
{
	if (a->p->max_idle <= 0 || a->idled || !account_has_credential(a) ||
	    a->ad->store == NULL || !store_persistent(a->ad->store))
		return 0;
	return (a->last_use != 0 ? a->last_use : time(NULL)) +
	    a->p->max_idle;
}

static void
account_life_at(struct account *a, time_t when)
{
	struct timeval	tv = { 0, 0 };
	time_t		now = time(NULL);

	if (when > now)
		tv.tv_sec = when - now;
	evtimer_add(a->life_ev, &tv);
}

static void
account_revoked_cb(const struct idp_revoke_result *res, void *arg)
{
	struct account	*a = arg;

	a->revoke = NULL;
	log_info("profile %s: the ended session's tokens: %s%s%s", a->p->name,
	    res->outcome == IDP_REVOKED ? "revoked at the provider" :
	    res->outcome == IDP_REVOKE_NOTHING ? "nothing to revoke" :
	    "not revoked", res->why != NULL ? ": " : "",
	    res->why != NULL ? res->why : "");
}

static void
account_session_end(struct account *a)
{
	struct secret	*rt, *at;

	log_info("profile %s: the login is %ld s old (max_session): logged "
	    "out; run 'tb login'", a->p->name, a->p->max_session);
	if (a->loading)
		a->drop_load = 1;
	account_refresh_stop(a, AUTHD_E_NOT_LOGGED_IN, "the session reached "
	    "its max_session");
	rt = a->refresh_token;
	at = a->access_token;
	a->refresh_token = a->access_token = NULL;
	account_clear(a);
	a->ended = "max_session";
	if (a->ad->store != NULL)
		store_delete(a->ad->store, a->p->name, a->p->issuer, NULL,
		    NULL);
	idp_revoke_cancel(a->revoke);
	a->revoke = idp_revoke(a->ad, a->p, rt, at, account_revoked_cb, a);
	if (a->ad->forget_minted != NULL)
		a->ad->forget_minted(a->ad, a);
}

static void
account_idle_forget(struct account *a)
{
	cJSON	*id = a->identity;

	log_info("profile %s: unused for %ld s (max_idle): its tokens are "
	    "wiped from memory; the next use loads the stored login again",
	    a->p->name, a->p->max_idle);
	/* The tokens go; who is logged in stays for status. */
	a->identity = NULL;
	account_clear(a);
	a->identity = id;
	a->idled = 1;
	if (a->ad->forget_minted != NULL)
		a->ad->forget_minted(a->ad, a);
}

static void
account_life_cb(evutil_socket_t fd, short what, void *arg)
{
	struct account	*a = arg;
	time_t		 now = time(NULL), s, i;

	(void)fd;
	(void)what;
	s = account_session_due(a);
	i = account_idle_due(a);
	if (s != 0 && s <= now)
		account_session_end(a);
	else if (i != 0 && i <= now) {
		if (a->refresh_req != NULL || a->refresh_dw != NULL ||
		    a->saving || a->loading || !a->persisted) {
			account_life_at(a, now + ACCOUNT_LIFE_RETRY);
			return;
		}
		account_idle_forget(a);
	}
	account_life_arm(a);
}

void
account_life_check(struct account *a)
{
	time_t	s = account_session_due(a);

	if (s != 0 && s <= time(NULL)) {
		account_session_end(a);
		account_life_arm(a);
	}
}

void
account_life_arm(struct account *a)
{
	time_t	s, i, when;

	if (a->life_ev == NULL && (a->life_ev = evtimer_new(a->ad->base,
	    account_life_cb, a)) == NULL)
		fatalx("evtimer_new");
	s = account_session_due(a);
	i = account_idle_due(a);
	when = s == 0 ? i : (i == 0 || s < i ? s : i);
	if (when == 0) {
		evtimer_del(a->life_ev);
		return;
	}
	account_life_at(a, when);
}

void
account_life_clear(struct account *a)
{
	if (a->life_ev != NULL)
		event_free(a->life_ev);
	a->life_ev = NULL;
	idp_revoke_cancel(a->revoke);
	a->revoke = NULL;
}

int
account_wake(struct account *a)
{
	if (!a->idled)
		return 0;
	a->idled = 0;
	/* The load brings the identity again. */
	cJSON_Delete(a->identity);
	a->identity = NULL;
	if (!a->loading) {
		log_info("profile %s: used again after max_idle: loading the "
		    "stored login", a->p->name);
		account_load(a);
	}
	return a->loading;
}

int
account_idle(const struct account *a)
{
	return a->idled;
}

const char *
account_ended(const struct account *a)
{
	return a->ended;
}
