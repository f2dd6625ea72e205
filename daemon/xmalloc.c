/*
 * Allocation wrappers; see xmalloc.h.
 */
#include "xmalloc.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void *
xmalloc(size_t n)
{
	void	*p;

	if (n == 0)
		fatalx("zero size");
	if ((p = malloc(n)) == NULL)
		fatalx("out of memory allocating %zu bytes", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		fatalx("zero size");
	if ((p = calloc(nmemb, size)) == NULL)
		fatalx("out of memory allocating %zu * %zu bytes", nmemb, size);
	return p;
}

void *
xreallocarray(void *old, size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		fatalx("zero size");
	if ((p = reallocarray(old, nmemb, size)) == NULL)
		fatalx("out of memory allocating %zu * %zu bytes", nmemb, size);
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatalx("out of memory");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatalx("out of memory");
	return p;
}

int
xvasprintf(char **ret, const char *fmt, va_list ap)
{
	va_list	ap2;
	int	n;

	/*
	 * Measure, then format into one block of the exact size: vasprintf
	 * may grow its buffer with realloc, which frees copies of what is
	 * formatted (a "Bearer" header's token) without wiping them.
	 */
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		fatalx("xvasprintf: bad format");
	*ret = xmalloc((size_t)n + 1);
	if (vsnprintf(*ret, (size_t)n + 1, fmt, ap) != n)
		fatalx("xvasprintf: the output changed");
	return n;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = xvasprintf(ret, fmt, ap);
	va_end(ap);
	return n;
}

void
xfreezero(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

void
xfree_wipe(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}
