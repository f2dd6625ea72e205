/*
 * The browser login's redirect listener, pure parts: base64url, the PKCE
 * S256 challenge (expected values from Python's hashlib and base64), the
 * printable check; and a listener's state, verifier and challenge.
 */
#include <string.h>

#include <event2/event.h>

#include "check.h"
#include "redirect.h"
#include "secret.h"

static void
test_b64url(void)
{
	char	out[16];

	redirect_b64url((const unsigned char *)"", 0, out);
	CHECK_STR(out, "");
	redirect_b64url((const unsigned char *)"f", 1, out);
	CHECK_STR(out, "Zg");
	redirect_b64url((const unsigned char *)"fo", 2, out);
	CHECK_STR(out, "Zm8");
	redirect_b64url((const unsigned char *)"foo", 3, out);
	CHECK_STR(out, "Zm9v");
	redirect_b64url((const unsigned char *)"\xff\xfe\xfd\xfc", 4, out);
	CHECK_STR(out, "__79_A");
}

static void
test_s256(void)
{
	char	out[64];

	redirect_s256("dBjftJeZ4CVP-mJ0kr9-yTqOVxMqS5m0nmjrGSpbcvE", out);
	CHECK_STR(out, "zIlcy3kWnCfkrIm_xWCSXfIm9KHOVgfuWhnCehhmjWY");
	CHECK_INT((int)strlen(out), 43);
}

static void
test_printable(void)
{
	CHECK(redirect_printable("abc-._~", 16));
	CHECK(!redirect_printable("", 16));
	CHECK(!redirect_printable("a b", 16));
	CHECK(!redirect_printable("a\x01", 16));
	CHECK(!redirect_printable("a\x7f", 16));
	CHECK(!redirect_printable("\xc3\xa9", 16));
	CHECK(redirect_printable("abcd", 4));
	CHECK(!redirect_printable("abcde", 4));
}

static void
cb(const struct redirect_result *r, void *arg)
{
	(void)r;
	(void)arg;
}

static void
test_listener(void)
{
	struct event_base	*base = event_base_new();
	struct redirect		*a, *b;
	char			*cause = NULL, want[64];

	a = redirect_new(base, cb, NULL, &cause);
	b = redirect_new(base, cb, NULL, &cause);
	CHECK(a != NULL && b != NULL);
	if (a != NULL && b != NULL) {
		CHECK(strncmp(redirect_uri(a), "http://127.0.0.1:", 17) == 0);
		CHECK(strcmp(redirect_uri(a), redirect_uri(b)) != 0);
		CHECK_INT((int)strlen(redirect_state(a)), 43);
		CHECK(strcmp(redirect_state(a), redirect_state(b)) != 0);
		CHECK_INT((int)redirect_verifier(a)->len, 43);
		CHECK(strcmp(redirect_verifier(a)->data,
		    redirect_state(a)) != 0);
		redirect_s256(redirect_verifier(a)->data, want);
		CHECK_STR(redirect_challenge(a), want);
		CHECK_INT(redirect_refused(a), 0);
	}
	redirect_free(a);
	redirect_free(b);
	redirect_free(NULL);
	event_base_free(base);
}

int
main(void)
{
	test_b64url();
	test_s256();
	test_printable();
	test_listener();
	return check_done("test_redirect");
}
