/*
 * Shared by the wiping tests: free() is wrapped (-Wl,--wrap=free), and
 * while watching is set every block freed is searched for CANARY (which
 * the test defines before including this): leaked counts the blocks that
 * still held it, freed all blocks seen.
 */
#ifndef AUTHD_WIPECHECK_H
#define AUTHD_WIPECHECK_H

#include <malloc.h>
#include <string.h>

void	__real_free(void *);
void	__wrap_free(void *);

static int	watching;
static int	leaked;
static int	freed;

static int
has_canary(const unsigned char *p, size_t n)
{
	size_t	k = strlen(CANARY), i;

	for (i = 0; i + k <= n; i++) {
		if (memcmp(p + i, CANARY, k) == 0)
			return 1;
	}
	return 0;
}

void
__wrap_free(void *p)
{
	if (p != NULL && watching) {
		freed++;
		if (has_canary(p, malloc_usable_size(p)))
			leaked++;
	}
	__real_free(p);
}

#endif /* AUTHD_WIPECHECK_H */
