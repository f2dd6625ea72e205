/*
 * Message encode/decode through cJSON; see msg.h and proto/PROTOCOL.md.
 */
#include "msg.h"

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "frame.h"

#define MSG_STR(x)	#x
#define MSG_XSTR(x)	MSG_STR(x)

static void *
msg_malloc(size_t n)
{
	return malloc(n);
}

static void
msg_wipe_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/* Set by msg_init: every block cJSON frees is wiped by msg_wipe_free. */
static int	msg_hooks_wipe;

void
msg_init(void)
{
	cJSON_Hooks	hooks = { .malloc_fn = msg_malloc,
			    .free_fn = msg_wipe_free };

	cJSON_InitHooks(&hooks);
	msg_hooks_wipe = 1;
}

/*
 * Wipe the text of every string of the tree j (values, not keys): a library
 * cannot count on wiping hooks, as they belong to the host program. Items
 * that are references point at someone else's memory and are skipped.
 */
static void
msg_wipe(cJSON *j)
{
	cJSON	*c;

	if (j == NULL || (j->type & cJSON_IsReference) != 0)
		return;
	if ((cJSON_IsString(j) || cJSON_IsRaw(j)) && j->valuestring != NULL)
		explicit_bzero(j->valuestring, strlen(j->valuestring));
	for (c = j->child; c != NULL; c = c->next)
		msg_wipe(c);
}

void
msg_free(cJSON *j)
{
	if (!msg_hooks_wipe)	/* else cJSON_Delete wipes every block */
		msg_wipe(j);
	cJSON_Delete(j);
}

int
msg_valid_utf8(const void *s, size_t len)
{
	const uint8_t	*p = s, *end = p + len;
	uint32_t	 cp;
	int		 n, i;

	while (p < end) {
		if (*p == 0)
			return 0;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			n = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3;
			cp = *p & 0x07;
		} else
			return 0;
		if (end - p <= n)
			return 0;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}

int
msg_valid_name(const char *s)
{
	size_t	i;

	if (s == NULL || *s == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= PROTO_MAX_NAME)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return 0;
	}
	return 1;
}

/* Parse body as exactly one JSON object (trailing whitespace allowed). */
static int
msg_parse_object(const void *body, size_t len, cJSON **out,
    const char **cause)
{
	const char	*end = NULL, *p, *e;
	cJSON		*root;

	*out = NULL;
	if (len == 0) {
		*cause = "empty frame";
		return AUTHD_E_EMPTY_FRAME;
	}
	if (len > PROTO_MAX_FRAME) {
		*cause = "frame too large";
		return AUTHD_E_FRAME_TOO_LARGE;
	}
	if (!msg_valid_utf8(body, len)) {
		*cause = "frame is not valid UTF-8 text";
		return AUTHD_E_BAD_FRAME;
	}
	root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (root == NULL) {
		*cause = "frame is not valid JSON";
		return AUTHD_E_BAD_FRAME;
	}
	e = (const char *)body + len;
	for (p = end; p != NULL && p < e; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
			cJSON_Delete(root);
			*cause = "trailing data after the JSON object";
			return AUTHD_E_BAD_FRAME;
		}
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		*cause = "frame is not a JSON object";
		return AUTHD_E_BAD_FRAME;
	}
	*out = root;
	return 0;
}

static int
msg_get_id(const cJSON *root, uint64_t *id)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(root, "id");
	double		 d;

	*id = MSG_ID_NONE;
	if (!cJSON_IsNumber(j))
		return -1;
	d = j->valuedouble;
	if (!(d >= 0) || d > (double)PROTO_MAX_ID || floor(d) != d)
		return -1;
	*id = (uint64_t)d;
	return 0;
}

static int
msg_get_version(const cJSON *root, int *v, const char **cause)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(root, "v");
	double		 d;

	if (!cJSON_IsNumber(j)) {
		*cause = "missing protocol version \"v\"";
		return AUTHD_E_BAD_REQUEST;
	}
	d = j->valuedouble;
	if (d < AUTHD_PROTO_MIN_VERSION || d > AUTHD_PROTO_VERSION ||
	    floor(d) != d) {
		*cause = "unsupported protocol version";
		return AUTHD_E_VERSION;
	}
	*v = (int)d;
	return 0;
}

int
msg_parse_request(const void *body, size_t len, struct msg_request *r,
    const char **cause)
{
	const char	*dummy;
	const cJSON	*j;
	cJSON		*root;
	int		 error;

	if (cause == NULL)
		cause = &dummy;
	memset(r, 0, sizeof *r);
	r->id = MSG_ID_NONE;
	if ((error = msg_parse_object(body, len, &root, cause)) != 0)
		return error;
	r->root = root;

	if (msg_get_id(root, &r->id) != 0) {
		*cause = "missing or invalid request id";
		return AUTHD_E_BAD_REQUEST;
	}
	if ((error = msg_get_version(root, &r->version, cause)) != 0)
		return error;

	j = cJSON_GetObjectItemCaseSensitive(root, "op");
	if (!cJSON_IsString(j) || !msg_valid_name(j->valuestring)) {
		*cause = "missing or invalid \"op\"";
		return AUTHD_E_BAD_REQUEST;
	}
	memcpy(r->op, j->valuestring, strlen(j->valuestring) + 1);

	j = cJSON_GetObjectItemCaseSensitive(root, "args");
	if (j != NULL && !cJSON_IsNull(j)) {
		if (!cJSON_IsObject(j)) {
			*cause = "\"args\" must be an object";
			return AUTHD_E_BAD_REQUEST;
		}
		r->args = j;
	}
	return 0;
}

uint64_t
msg_id_of(const cJSON *msg)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(msg, "id");
	char		*end;
	uint64_t	 id;

	if (cJSON_IsRaw(j) && j->valuestring != NULL) {
		id = strtoull(j->valuestring, &end, 10);
		if (*end == '\0' && id <= PROTO_MAX_ID)
			return id;
	}
	if (msg_get_id(msg, &id) == 0)
		return id;
	return MSG_ID_NONE;
}

void
msg_request_clear(struct msg_request *r)
{
	msg_free(r->root);
	memset(r, 0, sizeof *r);
}

int
msg_parse_reply(const void *body, size_t len, struct msg_reply *r,
    const char **cause)
{
	const char	*dummy;
	const cJSON	*j, *e;
	cJSON		*root;
	int		 error, v;

	if (cause == NULL)
		cause = &dummy;
	memset(r, 0, sizeof *r);
	r->id = MSG_ID_NONE;
	if ((error = msg_parse_object(body, len, &root, cause)) != 0)
		return error;
	r->root = root;

	/* A reply to a frame the daemon could not read has "id": null. */
	j = cJSON_GetObjectItemCaseSensitive(root, "id");
	if (!cJSON_IsNull(j) && msg_get_id(root, &r->id) != 0) {
		*cause = "missing or invalid reply id";
		return AUTHD_E_BAD_REPLY;
	}
	if ((error = msg_get_version(root, &v, cause)) != 0)
		return error == AUTHD_E_BAD_REQUEST ? AUTHD_E_BAD_REPLY : error;

	j = cJSON_GetObjectItemCaseSensitive(root, "event");
	if (j != NULL) {
		if (!cJSON_IsString(j) || !msg_valid_name(j->valuestring)) {
			*cause = "invalid event name";
			return AUTHD_E_BAD_REPLY;
		}
		r->kind = MSG_EVENT;
		memcpy(r->event, j->valuestring, strlen(j->valuestring) + 1);
		j = cJSON_GetObjectItemCaseSensitive(root, "data");
		if (cJSON_IsObject(j))
			r->data = j;
		else if (j != NULL && !cJSON_IsNull(j)) {
			*cause = "event \"data\" must be an object";
			return AUTHD_E_BAD_REPLY;
		}
		return 0;
	}

	j = cJSON_GetObjectItemCaseSensitive(root, "ok");
	if (cJSON_IsTrue(j)) {
		r->kind = MSG_REPLY_OK;
		j = cJSON_GetObjectItemCaseSensitive(root, "result");
		if (cJSON_IsObject(j))
			r->result = j;
		else if (j != NULL && !cJSON_IsNull(j)) {
			*cause = "\"result\" must be an object";
			return AUTHD_E_BAD_REPLY;
		}
		return 0;
	}
	if (!cJSON_IsFalse(j)) {
		*cause = "reply has neither \"ok\" nor \"event\"";
		return AUTHD_E_BAD_REPLY;
	}
	r->kind = MSG_REPLY_ERROR;
	e = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (!cJSON_IsObject(e)) {
		*cause = "error reply without an \"error\" object";
		return AUTHD_E_BAD_REPLY;
	}
	j = cJSON_GetObjectItemCaseSensitive(e, "code");
	if (!cJSON_IsString(j) || !msg_valid_name(j->valuestring)) {
		*cause = "error reply without a valid \"code\"";
		return AUTHD_E_BAD_REPLY;
	}
	r->code = j->valuestring;
	j = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (cJSON_IsString(j))
		r->message = j->valuestring;
	j = cJSON_GetObjectItemCaseSensitive(e, "hint");
	if (cJSON_IsString(j) && j->valuestring[0] != '\0')
		r->hint = j->valuestring;
	return 0;
}

void
msg_reply_clear(struct msg_reply *r)
{
	msg_free(r->root);
	memset(r, 0, sizeof *r);
}

/* Add j (NULL: out of memory) under the literal key; -1 frees it. */
static int
msg_add_item(cJSON *obj, const char *key, cJSON *j)
{
	if (j == NULL)
		return -1;
	if (!cJSON_AddItemToObjectCS(obj, key, j)) {
		msg_free(j);
		return -1;
	}
	return 0;
}

int
msg_add_int(cJSON *obj, const char *key, long long v)
{
	char	buf[24];

	snprintf(buf, sizeof buf, "%lld", v);
	return msg_add_item(obj, key, cJSON_CreateRaw(buf));
}

int
msg_add_ref(cJSON *obj, const char *key, const char *s)
{
	if (s == NULL)
		return 0;
	return msg_add_item(obj, key, cJSON_CreateStringReference(s));
}

int
msg_json_plain(const void *s, size_t len)
{
	const unsigned char	*p = s;
	size_t			 i;

	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\')
			return 0;
	}
	return 1;
}

int
msg_add_token(cJSON *obj, const char *key, const char *s, size_t len,
    int plain)
{
	char	*q;
	cJSON	*j;

	if (plain < 0)
		plain = msg_json_plain(s, len);
	if (!plain || len > PROTO_MAX_FRAME)
		return msg_add_ref(obj, key, s);
	if ((j = cJSON_CreateRaw("")) == NULL)
		return -1;
	if ((q = cJSON_malloc(len + 3)) == NULL) {
		cJSON_Delete(j);
		return -1;
	}
	q[0] = '"';
	memcpy(q + 1, s, len);
	q[len + 1] = '"';
	q[len + 2] = '\0';
	cJSON_free(j->valuestring);
	j->valuestring = q;
	return msg_add_item(obj, key, j);
}

static cJSON *
msg_new_base(uint64_t id)
{
	cJSON	*root;

	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	/*
	 * Raw, as the id: a cJSON number is printed with "%1.15g" and read
	 * back with sscanf, which costs every tb process the floating-point
	 * printing and scanning code of libc.
	 */
	if (msg_add_item(root, "v",
	    cJSON_CreateRaw(MSG_XSTR(AUTHD_PROTO_VERSION))) != 0) {
		cJSON_Delete(root);
		return NULL;
	}
	if (id == MSG_ID_NONE)
		cJSON_AddNullToObject(root, "id");
	/*
	 * Printed by us: cJSON prints large integers with 15 digits and an
	 * approximate round-trip check, which changes ids.
	 */
	else if (msg_add_int(root, "id", (long long)id) != 0) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/* Attach child under key, or an empty object when child is NULL. */
static cJSON *
msg_attach(cJSON *root, const char *key, cJSON *child)
{
	if (root == NULL) {
		cJSON_Delete(child);
		return NULL;
	}
	if (child == NULL)
		child = cJSON_CreateObject();
	if (child == NULL || !cJSON_AddItemToObjectCS(root, key, child)) {
		cJSON_Delete(child);
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

cJSON *
msg_new_request(uint64_t id, const char *op, cJSON *args)
{
	cJSON	*root = msg_new_base(id);

	if (root != NULL)
		cJSON_AddStringToObject(root, "op", op);
	return msg_attach(root, "args", args);
}

cJSON *
msg_new_ok(uint64_t id, cJSON *result)
{
	cJSON	*root = msg_new_base(id);

	if (root != NULL)
		cJSON_AddTrueToObject(root, "ok");
	return msg_attach(root, "result", result);
}

cJSON *
msg_new_event(uint64_t id, const char *event, cJSON *data)
{
	cJSON	*root = msg_new_base(id);

	if (root != NULL)
		cJSON_AddStringToObject(root, "event", event);
	return msg_attach(root, "data", data);
}

cJSON *
msg_new_error(uint64_t id, int err, const char *message, const char *hint)
{
	const struct authd_error_info	*info = authd_error_info(err);
	cJSON				*root, *e;

	if ((root = msg_new_base(id)) == NULL)
		return NULL;
	cJSON_AddFalseToObject(root, "ok");
	if ((e = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(root);
		return NULL;
	}
	cJSON_AddStringToObject(e, "code", info->code);
	cJSON_AddStringToObject(e, "message",
	    message != NULL ? message : info->message);
	if (hint == NULL)
		hint = info->hint;
	if (hint != NULL && *hint != '\0')
		cJSON_AddStringToObject(e, "hint", hint);
	return msg_attach(root, "error", e);
}

/*
 * Most messages (a token reply is about 1 KiB) are printed straight into
 * their frame, in one buffer of this many bytes: no growing buffer
 * reallocated on the way, no copy. A longer one is printed as before.
 */
#define MSG_ENCODE_DIRECT	4096

int
msg_encode(const cJSON *j, uint8_t **frame, size_t *len)
{
	char	*s;
	size_t	 n;
	uint8_t	*f;

	*frame = NULL;
	*len = 0;
	if ((f = malloc(PROTO_HEADER_LEN + MSG_ENCODE_DIRECT)) == NULL)
		return AUTHD_E_INTERNAL;
	if (cJSON_PrintPreallocated((cJSON *)j, (char *)f + PROTO_HEADER_LEN,
	    MSG_ENCODE_DIRECT, 0)) {
		n = strlen((char *)f + PROTO_HEADER_LEN);
		if (n == 0) {
			free(f);
			return AUTHD_E_FRAME_TOO_LARGE;
		}
		frame_put_header(f, (uint32_t)n);
		*frame = f;
		*len = PROTO_HEADER_LEN + n;
		return 0;
	}
	/* Too long for it: what was printed may hold a token. */
	explicit_bzero(f, PROTO_HEADER_LEN + MSG_ENCODE_DIRECT);
	free(f);

	if ((s = cJSON_PrintUnformatted(j)) == NULL)
		return AUTHD_E_INTERNAL;
	/* s is the hooks' (maybe a host program's): cJSON_free releases it. */
	n = strlen(s);
	if (n == 0 || n > PROTO_MAX_FRAME) {
		explicit_bzero(s, n);
		cJSON_free(s);
		return AUTHD_E_FRAME_TOO_LARGE;
	}
	if ((f = malloc(PROTO_HEADER_LEN + n)) == NULL) {
		explicit_bzero(s, n);
		cJSON_free(s);
		return AUTHD_E_INTERNAL;
	}
	frame_put_header(f, (uint32_t)n);
	memcpy(f + PROTO_HEADER_LEN, s, n);
	explicit_bzero(s, n);
	cJSON_free(s);
	*frame = f;
	*len = PROTO_HEADER_LEN + n;
	return 0;
}

void
msg_frame_free(uint8_t *frame, size_t len)
{
	if (frame == NULL)
		return;
	explicit_bzero(frame, len);
	free(frame);
}

int
msg_get_string(const cJSON *obj, const char *key, size_t maxlen,
    const char **out)
{
	const cJSON	*j;

	*out = NULL;
	if (obj == NULL)
		return 0;
	j = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (j == NULL || cJSON_IsNull(j))
		return 0;
	if (!cJSON_IsString(j) || strlen(j->valuestring) > maxlen)
		return AUTHD_E_BAD_REQUEST;
	*out = j->valuestring;
	return 0;
}

int
msg_get_int(const cJSON *obj, const char *key, int64_t min, int64_t max,
    int64_t *out)
{
	const cJSON	*j;
	double		 d;

	if (obj == NULL)
		return 0;
	j = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (j == NULL || cJSON_IsNull(j))
		return 0;
	if (!cJSON_IsNumber(j))
		return AUTHD_E_BAD_REQUEST;
	d = j->valuedouble;
	if (!(d >= (double)min && d <= (double)max) || floor(d) != d)
		return AUTHD_E_BAD_REQUEST;
	*out = (int64_t)d;
	return 0;
}

int
msg_get_bool(const cJSON *obj, const char *key, int *out)
{
	const cJSON	*j;

	if (obj == NULL)
		return 0;
	j = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (j == NULL || cJSON_IsNull(j))
		return 0;
	if (!cJSON_IsBool(j))
		return AUTHD_E_BAD_REQUEST;
	*out = cJSON_IsTrue(j);
	return 0;
}
