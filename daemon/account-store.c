/*
 * Accounts: loading and saving the credential through the store, in order;
 * see account.h.
 */
#include "account.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "account-int.h"
#include "authd.h"
#include "dpop.h"
#include "log.h"
#include "profile.h"
#include "secret.h"
#include "store.h"
#include "xmalloc.h"

struct account_save {
	TAILQ_ENTRY(account_save) entry;
	struct account		*acct;
	account_saved_fn	 fn;		/* NULL: nobody to tell */
	void			*arg;
	int			 user_refresh;	/* answers the token waiters */
};

struct account_loadw {
	TAILQ_ENTRY(account_loadw) entry;
	struct account		*acct;
	void			(*fn)(void *);
	void			*arg;
	struct event		*timer;
};

/* ---- waiting for the load ---- */

static void
account_loadw_free(struct account_loadw *w)
{
	TAILQ_REMOVE(&w->acct->loadws, w, entry);
	event_free(w->timer);
	free(w);
}

void
account_loaded_notify(struct account *a)
{
	struct account_loadw	*w;
	void			(*fn)(void *);
	void			*arg;

	while ((w = TAILQ_FIRST(&a->loadws)) != NULL) {
		fn = w->fn;
		arg = w->arg;
		account_loadw_free(w);
		fn(arg);
	}
}

static void
account_loadw_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct account_loadw	*w = arg;
	void			(*fn)(void *) = w->fn;
	void			*fn_arg = w->arg;

	(void)fd;
	(void)what;
	account_loadw_free(w);
	fn(fn_arg);
}

struct account_loadw *
account_on_loaded(struct account *a, void (*fn)(void *), void *arg,
    int timeout_ms)
{
	struct account_loadw	*w;
	struct timeval		 tv = { timeout_ms / 1000,
				    (timeout_ms % 1000) * 1000 };

	w = xcalloc(1, sizeof *w);
	w->acct = a;
	w->fn = fn;
	w->arg = arg;
	if ((w->timer = evtimer_new(a->ad->base, account_loadw_timeout_cb,
	    w)) == NULL)
		fatalx("evtimer_new");
	TAILQ_INSERT_TAIL(&a->loadws, w, entry);
	if (!a->loading)
		tv.tv_sec = tv.tv_usec = 0;	/* next iteration */
	evtimer_add(w->timer, &tv);
	return w;
}

void
account_on_loaded_cancel(struct account_loadw *w)
{
	if (w != NULL)
		account_loadw_free(w);
}

/* ---- loading ---- */

/* The stored DPoP key; one that cannot be read leaves the tokens as they
 * are (a bound one then fails where it is used, and says why). */
static void
account_load_dpop(struct account *a, const struct store_record *rec)
{
	char	*cause = NULL;

	a->dpop_bound = rec->dpop_bound;
	if (rec->dpop_key == NULL)
		return;
	if ((a->dpop_key = dpop_key_load(rec->dpop_key, &cause)) == NULL) {
		log_warnx("profile %s: the stored credential's DPoP key: %s",
		    a->p->name, cause);
		free(cause);
	}
}

static void
account_loaded_cb(int err, const char *cause, struct store_record *rec,
    void *arg)
{
	struct account	*a = arg;

	a->loading = 0;
	a->load_err = err;
	if (err != 0) {
		account_set_store_error(a, err, cause);
		log_warnx("profile %s: cannot load the stored credential: %s",
		    a->p->name, cause);
	} else
		account_set_store_error(a, 0, NULL);
	/*
	 * A logout while we loaded: what was loaded is gone. Locked: no
	 * credential in memory (tb unlock loads it again).
	 */
	if (a->drop_load || a->ad->locked) {
		a->drop_load = 0;
		store_record_free(rec);
		rec = NULL;
	}
	/* A login that finished while we loaded is newer: keep it. */
	if (rec != NULL && a->source == ACCOUNT_SRC_NONE &&
	    strcmp(rec->issuer, a->p->issuer) == 0 &&
	    strcmp(rec->client_id, a->p->client_id) == 0) {
		a->access_token = rec->access_token;
		a->refresh_token = rec->refresh_token;
		/* Stored after the provider issued it. */
		a->refresh_accepted = a->refresh_token != NULL;
		rec->access_token = rec->refresh_token = NULL;
		a->access_exp = rec->access_exp;
		a->access_life = a->access_token != NULL ?
		    account_lifetime(a->access_token, -1, a->access_exp, 0) :
		    0;
		a->identity = rec->identity;
		rec->identity = NULL;
		a->granted_scope = rec->scope;
		rec->scope = NULL;
		a->login_time = rec->login_time;
		a->last_use = time(NULL);
		account_load_dpop(a, rec);
		a->source = ACCOUNT_SRC_STORE;
		a->persisted = 1;
		account_bump(a, "stored credential loaded");
		account_life_arm(a);
		log_info("profile %s: credential loaded from the %s store",
		    a->p->name, store_backend(a->ad->store));
	} else if (rec != NULL && a->source == ACCOUNT_SRC_NONE)
		log_info("profile %s: the stored credential is for another "
		    "client or issuer: ignored", a->p->name);
	store_record_free(rec);
	account_loaded_notify(a);
	account_next(a);
}

void
account_load(struct account *a)
{
	if (a->ad->store == NULL || a->ad->locked)
		return;
	a->loading = 1;
	store_load(a->ad->store, a->p->name, a->p->issuer, account_loaded_cb,
	    a);
}

void
account_retry_load(struct account *a)
{
	if (a->load_err == 0 || a->loading || a->source != ACCOUNT_SRC_NONE)
		return;
	log_info("profile %s: loading the stored credential again",
	    a->p->name);
	account_load(a);
}

/* ---- saving ---- */

static struct store_record *
account_record(const struct account *a)
{
	struct store_record	*r;

	r = xcalloc(1, sizeof *r);
	r->profile = xstrdup(a->p->name);
	r->issuer = xstrdup(a->p->issuer);
	r->client_id = xstrdup(a->p->client_id);
	r->refresh_token = a->refresh_token ? secret_dup(a->refresh_token) :
	    NULL;
	r->access_token = a->access_token ? secret_dup(a->access_token) : NULL;
	r->access_exp = a->access_exp;
	r->identity = a->identity ? cJSON_Duplicate(a->identity, 1) : NULL;
	r->scope = a->granted_scope ? xstrdup(a->granted_scope) : NULL;
	r->login_time = a->login_time;
	r->dpop_key = a->dpop_key != NULL ? dpop_key_save(a->dpop_key) : NULL;
	r->dpop_bound = a->dpop_bound;
	return r;
}

static void
account_saved_cb(int err, const char *cause, struct store_record *rec,
    void *arg)
{
	struct account_save	*sv = arg;
	struct account		*a = sv->acct;

	store_record_free(rec);
	TAILQ_REMOVE(&a->saves, sv, entry);
	a->saving--;
	if (err != 0) {
		/* Kept in memory: fail closed, never a silent fallback. */
		account_set_store_error(a, err, cause);
		a->persisted = 0;
		log_warnx("profile %s: the credential is NOT persisted: %s",
		    a->p->name, cause);
	} else {
		account_set_store_error(a, 0, NULL);
		a->persisted = store_persistent(a->ad->store);
	}
	if (sv->fn != NULL)
		sv->fn(a, sv->arg);
	/*
	 * Refreshes wait for the save of the token they would use. After a
	 * user refresh its waiters get the new token (however short-lived);
	 * otherwise look again at what is waiting.
	 */
	if (sv->user_refresh)
		account_finish(a, 0, NULL);
	free(sv);
	account_next(a);
}

static void
account_save_ext(struct account *a, account_saved_fn fn, void *arg,
    int user_refresh)
{
	struct account_save	*sv;
	struct store_record	*r;

	sv = xcalloc(1, sizeof *sv);
	sv->acct = a;
	sv->fn = fn;
	sv->arg = arg;
	sv->user_refresh = user_refresh;
	TAILQ_INSERT_TAIL(&a->saves, sv, entry);
	a->saving++;
	/* The store runs saves in order: the last one holds the newest. */
	r = account_record(a);
	store_save(a->ad->store, r, account_saved_cb, sv);
	store_record_free(r);
}

void
account_save(struct account *a, account_saved_fn fn, void *arg)
{
	account_save_ext(a, fn, arg, 0);
}

/* The save after a user-token refresh: its waiters are answered then. */
void
account_save_refresh(struct account *a)
{
	account_save_ext(a, NULL, NULL, 1);
}

void
account_forget_saved(struct account *a, void *arg)
{
	struct account_save	*sv;

	TAILQ_FOREACH(sv, &a->saves, entry) {
		if (sv->arg == arg)
			sv->fn = NULL;
	}
}

/* At the account's end: the store's answers will find nobody. */
void
account_store_clear(struct account *a)
{
	struct account_save	*sv;

	while ((sv = TAILQ_FIRST(&a->saves)) != NULL) {
		TAILQ_REMOVE(&a->saves, sv, entry);
		free(sv);
	}
	free(a->store_cause);
	a->store_cause = NULL;
}
