/*
 * struct secret: the only place a token, device code or client secret lives.
 * The bytes are NUL-terminated for convenience, live in locked memory
 * kept out of core dumps (secmem.h), and are wiped when freed.
 */
#ifndef AUTHD_SECRET_H
#define AUTHD_SECRET_H

#include <stddef.h>

struct secret {
	char	*data;
	size_t	 len;
	int	 json_plain;	/* nothing in it that JSON escapes */
};

struct secret	*secret_new(const void *data, size_t len);
struct secret	*secret_new_str(const char *);
struct secret	*secret_dup(const struct secret *);
/* Wipe and free; accepts NULL. */
void		 secret_free(struct secret *);
/* Constant-time comparison of contents; 1 when equal. */
int		 secret_equal(const struct secret *, const struct secret *);

#endif /* AUTHD_SECRET_H */
