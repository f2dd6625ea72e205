/*
 * Secrets; see secret.h.
 */
#include "secret.h"

#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "secmem.h"
#include "xmalloc.h"

struct secret *
secret_new(const void *data, size_t len)
{
	struct secret	*s;

	s = xcalloc(1, sizeof *s);
	s->data = secmem_alloc(len + 1);
	if (len > 0)
		memcpy(s->data, data, len);
	s->data[len] = '\0';
	s->len = len;
	/* Once here, not on every reply that carries it (msg_add_token). */
	s->json_plain = msg_json_plain(s->data, len);
	return s;
}

struct secret *
secret_new_str(const char *str)
{
	return secret_new(str, strlen(str));
}

struct secret *
secret_dup(const struct secret *s)
{
	return secret_new(s->data, s->len);
}

void
secret_free(struct secret *s)
{
	if (s == NULL)
		return;
	secmem_free(s->data, s->len + 1);
	explicit_bzero(s, sizeof *s);
	free(s);
}

int
secret_equal(const struct secret *a, const struct secret *b)
{
	const unsigned char	*p, *q;
	unsigned char		 diff = 0;
	size_t			 i;

	if (a->len != b->len)
		return 0;
	p = (const unsigned char *)a->data;
	q = (const unsigned char *)b->data;
	for (i = 0; i < a->len; i++)
		diff |= p[i] ^ q[i];
	return diff == 0;
}
