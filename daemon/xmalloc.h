/*
 * Allocation that cannot fail: running out of memory is fatal, so callers
 * never check for NULL (tmux, OpenSSH).
 */
#ifndef AUTHD_XMALLOC_H
#define AUTHD_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 xvasprintf(char **, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
/* Wipe len bytes of p, then free it. Accepts NULL. */
void	 xfreezero(void *p, size_t len);
/* Wipe a whole heap block (as large as the allocator made it), then free. */
void	 xfree_wipe(void *p);

#endif /* AUTHD_XMALLOC_H */
