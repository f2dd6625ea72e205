/*
 * The memory store: records live as long as the daemon; see store.h.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "error.h"
#include "store-backend.h"
#include "xmalloc.h"

struct store_memory_entry {
	TAILQ_ENTRY(store_memory_entry)	 entry;
	struct store_record		*rec;
};
TAILQ_HEAD(store_memory, store_memory_entry);

static struct store_memory_entry *
store_memory_find(struct store_memory *m, const char *profile,
    const char *issuer)
{
	struct store_memory_entry	*e;

	TAILQ_FOREACH(e, m, entry) {
		if (strcmp(e->rec->profile, profile) == 0 &&
		    strcmp(e->rec->issuer, issuer) == 0)
			return e;
	}
	return NULL;
}

static void
store_memory_run(struct store_job *j)
{
	struct store_memory		*m = store_state(j->s);
	struct store_memory_entry	*e;

	e = store_memory_find(m, j->profile, j->issuer);
	switch (j->op) {
	case STORE_LOAD:
		j->result = e != NULL ? store_record_dup(e->rec) : NULL;
		break;
	case STORE_SAVE:
		if (e == NULL) {
			e = xcalloc(1, sizeof *e);
			TAILQ_INSERT_TAIL(m, e, entry);
		} else
			store_record_free(e->rec);
		e->rec = store_record_dup(j->rec);
		break;
	case STORE_DELETE:
		if (e != NULL) {
			TAILQ_REMOVE(m, e, entry);
			store_record_free(e->rec);
			free(e);
		}
		break;
	}
}

static void
store_memory_free(void *state)
{
	struct store_memory		*m = state;
	struct store_memory_entry	*e;

	while ((e = TAILQ_FIRST(m)) != NULL) {
		TAILQ_REMOVE(m, e, entry);
		store_record_free(e->rec);
		free(e);
	}
	free(m);
}

static const struct store_ops store_memory_ops = {
	.name = "memory",
	.persistent = 0,
	.blocking = 0,
	.run = store_memory_run,
	.free = store_memory_free,
};

int
store_memory_init(struct authd *ad, const struct store_ops **ops,
    void **state, char **cause)
{
	struct store_memory	*m;

	(void)ad;
	(void)cause;
	m = xcalloc(1, sizeof *m);
	TAILQ_INIT(m);
	*ops = &store_memory_ops;
	*state = m;
	return 0;
}
