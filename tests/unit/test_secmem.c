/*
 * The locked-memory allocator of secrets (secmem.c): slots of every
 * class and large blocks, wiped when freed, slots reused, pages shared;
 * the pages are in /proc/self/smaps as locked and not dumped (when the
 * limit allows); the fallbacks (no memfd_secret, no mlock, no mapping)
 * still give usable memory; many threads at once.
 */
#include <sys/resource.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define READABLE(p, n)	ASAN_UNPOISON_MEMORY_REGION(p, n)
#elif defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define READABLE(p, n)	VALGRIND_MAKE_MEM_DEFINED(p, n)
#endif
#endif
#ifndef READABLE
#define READABLE(p, n)	do { (void)(p); (void)(n); } while (0)
#endif

#include "check.h"
#include "secmem.h"
#include "secret.h"

/* The VmFlags of the mapping holding p: "lo" locked, "dd" do not dump. */
static int
vmflags_of(const void *p, char *flags, size_t size)
{
	FILE		*f;
	char		 line[512], perm[8];
	unsigned long	 lo, hi, a = (unsigned long)(uintptr_t)p;
	int		 in = 0, found = 0;

	if ((f = fopen("/proc/self/smaps", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) == 3) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(flags, size, "%.255s", line + 8);
			found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

static int
has_flag(const char *flags, const char *f)
{
	char	buf[8];

	snprintf(buf, sizeof buf, " %s", f);
	return strstr(flags, buf) != NULL;
}

/* Freed slots are no-access to the memory checkers: the test may look. */
static int
is_zero(const unsigned char *p, size_t n)
{
	size_t	i;

	READABLE(p, n);
	for (i = 0; i < n; i++) {
		if (p[i] != 0)
			return 0;
	}
	return 1;
}

static void *
hammer(void *arg)
{
	void	*v[64];
	int	 i, r;

	(void)arg;
	for (r = 0; r < 200; r++) {
		for (i = 0; i < 64; i++) {
			v[i] = secmem_alloc((size_t)(i * 37 % 3000) + 1);
			memset(v[i], 'x', (size_t)(i * 37 % 3000) + 1);
		}
		for (i = 0; i < 64; i++)
			secmem_free(v[i], (size_t)(i * 37 % 3000) + 1);
	}
	return NULL;
}

int
main(void)
{
	static const size_t	 sizes[] = { 1, 31, 32, 33, 100, 1000, 2048,
				    2049, 5000, 70000 };
	unsigned char		*p[10], *q;
	struct secret		*s;
	struct rlimit		 rl;
	pthread_t		 th[4];
	char			 flags[512];
	size_t			 i, pages;

	/* Every class and large blocks: usable, wiped when freed. */
	for (i = 0; i < 10; i++) {
		p[i] = secmem_alloc(sizes[i]);
		memset(p[i], 0xa5, sizes[i]);
	}
	CHECK(secmem_kind() != SECMEM_NONE && secmem_kind() != SECMEM_HEAP);
	for (i = 0; i + 1 < 10; i++)
		CHECK(p[i] + sizes[i] <= p[i + 1] || p[i + 1] + sizes[i + 1] <=
		    p[i]);
	/* A slot's memory stays mapped after free: it must read as zero. */
	secmem_free(p[4], sizes[4]);
	CHECK(is_zero(p[4], sizes[4]));
	q = secmem_alloc(sizes[4]);
	CHECK(q == p[4]);			/* the slot is reused */
	secmem_free(q, sizes[4]);
	for (i = 0; i < 10; i++) {
		if (i != 4)
			secmem_free(p[i], sizes[i]);
	}

	/* A page shared by slots of one class; freeing NULL is fine. */
	p[0] = secmem_alloc(40);
	p[1] = secmem_alloc(50);
	CHECK((uintptr_t)p[0] / 4096 == (uintptr_t)p[1] / 4096);
	secmem_free(p[0], 40);
	secmem_free(p[1], 50);
	secmem_free(NULL, 10);

	/* struct secret lives there, locked and out of dumps. */
	s = secret_new_str("tok-0123456789");
	CHECK_STR(s->data, "tok-0123456789");
	CHECK(vmflags_of(s->data, flags, sizeof flags));
	CHECK(has_flag(flags, "dd"));
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
	    (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 1024 * 1024) &&
	    secmem_kind() == SECMEM_LOCKED)
		CHECK(has_flag(flags, "lo"));
	q = (unsigned char *)s->data;
	secret_free(s);
	CHECK(is_zero(q, 15));

	/* Threads at once (the keyring worker makes secrets too). */
	pages = secmem_pages();
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK(secmem_pages() >= pages);

	/* Fallbacks: no memfd_secret, no mlock, no mapping at all. */
	secmem_test_mode(2);
	q = secmem_alloc(3000);		/* a new mapping, unlocked */
	CHECK_INT(secmem_kind(), SECMEM_UNLOCKED);
	CHECK(vmflags_of(q, flags, sizeof flags) && !has_flag(flags, "lo") &&
	    has_flag(flags, "dd"));
	memset(q, 1, 3000);
	secmem_free(q, 3000);
	secmem_test_mode(3);
	q = secmem_alloc(9000);
	CHECK_INT(secmem_kind(), SECMEM_HEAP);
	memset(q, 1, 9000);
	secmem_free(q, 9000);		/* back to the heap, wiped */
	secmem_test_mode(0);
	CHECK_STR(secmem_kind_name(SECMEM_UNLOCKED), "unlocked");
	return check_done("test_secmem");
}
