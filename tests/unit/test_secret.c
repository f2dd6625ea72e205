/*
 * struct secret: copies, comparison, NUL termination, NULL-safe free.
 */
#include <string.h>

#include "check.h"
#include "secret.h"

int
main(void)
{
	struct secret	*a, *b, *c, *d;

	a = secret_new_str("token-123");
	CHECK_INT(a->len, 9);
	CHECK_STR(a->data, "token-123");
	b = secret_dup(a);
	CHECK(b->data != a->data);
	CHECK(secret_equal(a, b));
	c = secret_new("token-124", 9);
	CHECK(!secret_equal(a, c));
	d = secret_new("tok\0en", 6);
	CHECK_INT(d->len, 6);
	CHECK(d->data[6] == '\0');
	CHECK(memcmp(d->data, "tok\0en", 6) == 0);
	CHECK(!secret_equal(a, d));
	/* Whether a reply may copy it raw (msg_add_token). */
	CHECK_INT(a->json_plain, 1);
	CHECK_INT(b->json_plain, 1);
	CHECK_INT(d->json_plain, 0);
	secret_free(c);
	c = secret_new_str("a\"b");
	CHECK_INT(c->json_plain, 0);
	secret_free(a);
	secret_free(b);
	secret_free(c);
	secret_free(d);
	secret_free(NULL);
	a = secret_new("", 0);
	CHECK_INT(a->len, 0);
	CHECK_STR(a->data, "");
	secret_free(a);
	return check_done("test_secret");
}
