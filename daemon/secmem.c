/*
 * Locked memory for secrets; see secmem.h.
 */
#include "secmem.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

/*
 * The memory checkers see our slots as the heap's blocks: a slot is
 * addressable only while allocated, and only its n bytes (AddressSanitizer
 * poisoning, valgrind client requests; both cost nothing otherwise).
 */
#if defined(__SANITIZE_ADDRESS__)
#define SECMEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SECMEM_ASAN 1
#endif
#endif
#ifdef SECMEM_ASAN
#include <sanitizer/asan_interface.h>
#define SECMEM_NOACCESS(p, n)	ASAN_POISON_MEMORY_REGION(p, n)
#define SECMEM_ACCESS(p, n)	ASAN_UNPOISON_MEMORY_REGION(p, n)
#elif defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define SECMEM_NOACCESS(p, n)	VALGRIND_MAKE_MEM_NOACCESS(p, n)
#define SECMEM_ACCESS(p, n)	VALGRIND_MAKE_MEM_UNDEFINED(p, n)
#endif
#endif
#ifdef RUNNING_ON_VALGRIND
#define SECMEM_VALGRIND()	RUNNING_ON_VALGRIND
#else
#define SECMEM_VALGRIND()	0
#endif
#ifndef SECMEM_NOACCESS
#define SECMEM_NOACCESS(p, n)	do { (void)(p); (void)(n); } while (0)
#define SECMEM_ACCESS(p, n)	do { (void)(p); (void)(n); } while (0)
#endif

#define SECMEM_PAGE		4096
#define SECMEM_MIN_SHIFT	5		/* 32-byte slots */
#define SECMEM_MAX_SHIFT	11		/* 2048-byte slots */
#define SECMEM_NCLASS		(SECMEM_MAX_SHIFT - SECMEM_MIN_SHIFT + 1)
#define SECMEM_MAX_SLOTS	(SECMEM_PAGE >> SECMEM_MIN_SHIFT)

/*
 * A mapping: one page of slots of a class, or one large block. Its
 * bookkeeping lives here, on the ordinary heap: the mapping holds only
 * secret bytes.
 */
struct secmem_map {
	struct secmem_map	*next;
	unsigned char		*base;
	size_t			 size;		/* bytes mapped */
	int			 cls;		/* -1: one large block */
	int			 used;		/* slots in use */
	uint64_t		 bits[SECMEM_MAX_SLOTS / 64];
};

static pthread_mutex_t	 secmem_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct secmem_map *secmem_maps;
static size_t		 secmem_npages;
static enum secmem_kind	 secmem_last = SECMEM_NONE;
static int		 secmem_mode;
static int		 secmem_no_memfd;	/* memfd_secret unavailable */
static int		 secmem_warned;
static int		 secmem_errno;	/* why mlock failed */

int
secmem_valgrind(void)
{
	return SECMEM_VALGRIND() != 0;
}

void
secmem_test_mode(int mode)
{
	secmem_mode = mode;
}

size_t
secmem_pages(void)
{
	size_t	n;

	pthread_mutex_lock(&secmem_mtx);
	n = secmem_npages;
	pthread_mutex_unlock(&secmem_mtx);
	return n;
}

enum secmem_kind
secmem_kind(void)
{
	return secmem_last;
}

const char *
secmem_kind_name(enum secmem_kind k)
{
	switch (k) {
	case SECMEM_SECRET:
		return "memfd_secret";
	case SECMEM_LOCKED:
		return "locked";
	case SECMEM_UNLOCKED:
		return "unlocked";
	case SECMEM_HEAP:
		return "heap";
	case SECMEM_NONE:
		break;
	}
	return "none";
}

/* memfd_secret pages, or NULL (then never tried again). */
static void *
secmem_map_secret(size_t size)
{
#ifdef SYS_memfd_secret
	void		*p;
	int		 fd;

	const char	*e;

	if (!secmem_no_memfd && (e = getenv("AUTHD_MEMFD_SECRET")) != NULL &&
	    strcmp(e, "0") == 0) {
		secmem_no_memfd = 1;
		log_info("AUTHD_MEMFD_SECRET=0: memfd_secret not used");
	}
	/* valgrind knows no memfd_secret (and says so on every call). */
	if (!secmem_no_memfd && secmem_valgrind())
		secmem_no_memfd = 1;
	if (secmem_no_memfd || secmem_mode >= 1)
		return NULL;
	if ((fd = (int)syscall(SYS_memfd_secret, 0)) == -1) {
		/* ENOSYS: not enabled (secretmem.enable, a 5.14+ kernel). */
		secmem_no_memfd = 1;
		log_debug("memfd_secret: %s: secrets in mlocked anonymous "
		    "pages", strerror(errno));
		return NULL;
	}
	if (ftruncate(fd, (off_t)size) == -1) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		/* Its pages count against RLIMIT_MEMLOCK too. */
		log_debug("memfd_secret mmap: %s", strerror(errno));
		return NULL;
	}
	return p;
#else
	(void)size;
	return NULL;
#endif
}

static void
secmem_warn_limit(int err, int again)
{
	struct rlimit	rl;

	if (secmem_warned && !again)
		return;
	secmem_warned = 1;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur !=
	    RLIM_INFINITY)
		log_warnx("cannot lock secret memory in RAM (%s; "
		    "RLIMIT_MEMLOCK is %llu bytes): tokens may be swapped out; "
		    "raise the limit (ulimit -l, or LimitMEMLOCK= in the "
		    "systemd unit)", strerror(err),
		    (unsigned long long)rl.rlim_cur);
	else
		log_warnx("cannot lock secret memory in RAM (%s): tokens may "
		    "be swapped out", strerror(err));
}

/* size bytes of pages for secrets, or NULL. Under the mutex. */
static void *
secmem_map_pages(size_t size)
{
	void	*p;

	if ((p = secmem_map_secret(size)) != NULL) {
		secmem_last = SECMEM_SECRET;
		return p;
	}
	if (secmem_mode >= 3)
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Out of core dumps. */
	(void)madvise(p, size, MADV_DONTDUMP);
	if (secmem_mode < 2 && mlock(p, size) == 0)
		secmem_last = SECMEM_LOCKED;
	else {
		secmem_warn_limit(secmem_mode >= 2 ? ENOMEM : errno, 0);
		secmem_errno = secmem_mode >= 2 ? ENOMEM : errno;
		secmem_last = SECMEM_UNLOCKED;
	}
	return p;
}

static int
secmem_class(size_t n)
{
	int	c = 0;

	while (((size_t)1 << (SECMEM_MIN_SHIFT + c)) < n)
		c++;
	return c;
}

static struct secmem_map *
secmem_map_new(size_t size, int cls)
{
	struct secmem_map	*m;
	void			*p;

	if ((p = secmem_map_pages(size)) == NULL)
		return NULL;
	SECMEM_NOACCESS(p, size);
	m = xcalloc(1, sizeof *m);
	m->base = p;
	m->size = size;
	m->cls = cls;
	m->next = secmem_maps;
	secmem_maps = m;
	secmem_npages += size / SECMEM_PAGE;
	return m;
}

static void *
secmem_slot(struct secmem_map *m)
{
	int	nslots = SECMEM_PAGE >> (SECMEM_MIN_SHIFT + m->cls), i;

	for (i = 0; i < nslots; i++) {
		if (!(m->bits[i / 64] & ((uint64_t)1 << (i % 64)))) {
			m->bits[i / 64] |= (uint64_t)1 << (i % 64);
			m->used++;
			return m->base + ((size_t)i << (SECMEM_MIN_SHIFT +
			    m->cls));
		}
	}
	return NULL;
}

void *
secmem_alloc(size_t n)
{
	struct secmem_map	*m;
	void			*p = NULL;
	size_t			 size;
	int			 cls;

	if (n == 0)
		n = 1;
	pthread_mutex_lock(&secmem_mtx);
	if (n > ((size_t)1 << SECMEM_MAX_SHIFT)) {
		size = (n + SECMEM_PAGE - 1) / SECMEM_PAGE * SECMEM_PAGE;
		if ((m = secmem_map_new(size, -1)) != NULL) {
			m->used = 1;
			p = m->base;
		}
	} else {
		cls = secmem_class(n);
		for (m = secmem_maps; m != NULL && p == NULL; m = m->next) {
			if (m->cls == cls)
				p = secmem_slot(m);
		}
		if (p == NULL && (m = secmem_map_new(SECMEM_PAGE,
		    cls)) != NULL)
			p = secmem_slot(m);
	}
	if (p == NULL)
		secmem_last = SECMEM_HEAP;
	else
		SECMEM_ACCESS(p, n);
	pthread_mutex_unlock(&secmem_mtx);
	if (p == NULL)
		p = xmalloc(n);
	return p;
}

void
secmem_free(void *p, size_t n)
{
	struct secmem_map	*m, **mp;
	unsigned char		*c = p;
	size_t			 i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&secmem_mtx);
	for (mp = &secmem_maps; (m = *mp) != NULL; mp = &m->next) {
		if (c >= m->base && c < m->base + m->size)
			break;
	}
	if (m == NULL) {
		pthread_mutex_unlock(&secmem_mtx);
		xfreezero(p, n);	/* from the heap */
		return;
	}
	if (m->cls < 0) {
		SECMEM_ACCESS(m->base, m->size);
		explicit_bzero(m->base, m->size);
	} else {
		/* The whole slot: a caller's n is at most its size. */
		SECMEM_ACCESS(c, (size_t)1 << (SECMEM_MIN_SHIFT + m->cls));
		explicit_bzero(c, (size_t)1 << (SECMEM_MIN_SHIFT + m->cls));
		SECMEM_NOACCESS(c, (size_t)1 << (SECMEM_MIN_SHIFT + m->cls));
		i = (size_t)(c - m->base) >> (SECMEM_MIN_SHIFT + m->cls);
		m->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
		m->used--;
	}
	/* Pages of slots stay for the next secrets; large blocks go. */
	if (m->cls < 0) {
		*mp = m->next;
		secmem_npages -= m->size / SECMEM_PAGE;
		(void)munlock(m->base, m->size);
		munmap(m->base, m->size);
		free(m);
	}
	pthread_mutex_unlock(&secmem_mtx);
}

void
secmem_report(void)
{
	void	*p;

	/* A first mapping, if none yet: its kind is what the next get. */
	p = secmem_alloc(1);
	secmem_free(p, 1);
	pthread_mutex_lock(&secmem_mtx);
	switch (secmem_last) {
	case SECMEM_SECRET:
		log_info("secrets in memfd_secret pages (locked, out of core "
		    "dumps and of the kernel's direct map)");
		break;
	case SECMEM_LOCKED:
		log_info("secrets in mlocked pages, out of core dumps "
		    "(memfd_secret not offered by this kernel)");
		break;
	case SECMEM_UNLOCKED:
		secmem_warn_limit(secmem_errno, 1);
		break;
	case SECMEM_HEAP:
	case SECMEM_NONE:
		log_warnx("no page could be mapped for secrets: they live in "
		    "the ordinary heap (wiped when freed)");
		break;
	}
	pthread_mutex_unlock(&secmem_mtx);
}

void
secmem_relock(void)
{
	struct secmem_map	*m;

	pthread_mutex_lock(&secmem_mtx);
	for (m = secmem_maps; m != NULL; m = m->next) {
		if (secmem_last == SECMEM_LOCKED && mlock(m->base,
		    m->size) != 0) {
			secmem_errno = errno;
			secmem_last = SECMEM_UNLOCKED;
		}
	}
	pthread_mutex_unlock(&secmem_mtx);
}
