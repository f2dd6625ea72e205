/*
 * Locked memory for secrets (issue 18, item 5): the bytes of every struct
 * secret (tokens, refresh tokens, device codes, client secrets) live in
 * pages that are kept out of core dumps (MADV_DONTDUMP) and locked in RAM
 * (mlock), taken from memfd_secret(2) where the kernel offers it (the
 * pages are then out of the kernel's own direct map too) and from
 * anonymous mappings otherwise.
 *
 * AUTHD_MEMFD_SECRET=0 in the environment turns memfd_secret off (its
 * pages cannot be read even through /proc/PID/mem: a test that looks for
 * tokens in authd's memory, or a debugger, needs them readable).
 *
 * A secret never fails to be stored: when RLIMIT_MEMLOCK is too small the
 * pages stay unlocked (one log line says so and what to raise), and when no
 * page can be mapped at all, the bytes go to the ordinary heap (wiped when
 * freed as before). Thread-safe (the keyring worker makes secrets too).
 *
 * Slots of 32 .. 2048 bytes (powers of two) share 4 KiB pages; larger
 * blocks get their own mapping (unmapped when freed). Freed slots are
 * wiped at once; their pages stay mapped for the next secrets.
 */
#ifndef AUTHD_SECMEM_H
#define AUTHD_SECMEM_H

#include <stddef.h>

/* Where secrets live, for the log and status. */
enum secmem_kind {
	SECMEM_NONE = 0,	/* nothing mapped yet */
	SECMEM_SECRET,		/* memfd_secret pages */
	SECMEM_LOCKED,		/* anonymous pages, mlocked */
	SECMEM_UNLOCKED,	/* anonymous pages, mlock refused (limit) */
	SECMEM_HEAP		/* no page could be mapped: the heap */
};

/* n bytes (n > 0), never NULL (fatal only when the heap is exhausted). */
void		*secmem_alloc(size_t n);
/* Wipe n bytes (the size asked for) and release; accepts NULL. */
void		 secmem_free(void *p, size_t n);
/* What the last mapping came to. */
enum secmem_kind secmem_kind(void);
const char	*secmem_kind_name(enum secmem_kind);
/*
 * After a fork (authd detaching): a child does not inherit mlock; the
 * pages mapped so far are locked again.
 */
void		 secmem_relock(void);
/* Log where secrets live (at start): the limit's line when too small. */
void		 secmem_report(void);
/*
 * Running under valgrind, which knows neither memfd_secret nor mlock2
 * (OpenSSL's secure heap): they are not used then.
 */
int		 secmem_valgrind(void);
/* For tests: 1 disables memfd_secret, 2 also mlock, 3 also mmap. */
void		 secmem_test_mode(int);
/* Pages mapped now (for tests). */
size_t		 secmem_pages(void);

#endif /* AUTHD_SECMEM_H */
