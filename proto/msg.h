/*
 * Messages: the JSON objects inside frames, built and parsed only through
 * cJSON (never printf-built). See proto/PROTOCOL.md for the shapes.
 *
 *   request  {"v":1,"id":N,"op":"NAME","args":{...}}
 *   event    {"v":1,"id":N,"event":"NAME","data":{...}}
 *   reply    {"v":1,"id":N,"ok":true,"result":{...}}
 *            {"v":1,"id":N,"ok":false,"error":{"code":C,"message":M,"hint":H}}
 *
 * Unknown fields are ignored. Every string is bounded and valid UTF-8.
 */
#ifndef AUTHD_MSG_H
#define AUTHD_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "proto.h"

#define MSG_ID_NONE	UINT64_MAX	/* the frame carried no usable id */

struct msg_request {
	int		 version;
	uint64_t	 id;
	char		 op[PROTO_MAX_NAME + 1];
	const cJSON	*args;		/* object or NULL; borrowed from root */
	cJSON		*root;
};

#define MSG_REPLY_OK	1
#define MSG_REPLY_ERROR	2
#define MSG_EVENT	3

struct msg_reply {
	int		 kind;
	uint64_t	 id;
	/* MSG_REPLY_OK: result (object, may be NULL) */
	const cJSON	*result;
	/* MSG_EVENT: name and data (object, may be NULL) */
	char		 event[PROTO_MAX_NAME + 1];
	const cJSON	*data;
	/* MSG_REPLY_ERROR */
	const char	*code;
	const char	*message;
	const char	*hint;		/* may be NULL */
	cJSON		*root;
};

/*
 * Route all cJSON memory through allocators that wipe on free, so printed
 * JSON and parsed trees holding tokens never linger in freed memory. Call
 * once at start-up, before any other cJSON use. For programs only (authd,
 * tb, the helpers): the hooks are process-wide, so libauthd-client never
 * calls it and relies on msg_free's own wipe instead.
 */
void	msg_init(void);

/* The id of a message built here or parsed; MSG_ID_NONE when none. */
uint64_t msg_id_of(const cJSON *);

/*
 * Wipe the text of every string in a cJSON tree, then free it, whatever the
 * hooks. msg_request_clear and msg_reply_clear free their trees with it.
 */
void	msg_free(cJSON *);

/*
 * Parse a frame body as a request. Returns 0 or a negative enum authd_err;
 * on error *id is set to the request id when it could be read (else
 * MSG_ID_NONE) and *cause, when not NULL, gets a static description.
 */
int	msg_parse_request(const void *body, size_t len, struct msg_request *,
	    const char **cause);
void	msg_request_clear(struct msg_request *);

int	msg_parse_reply(const void *body, size_t len, struct msg_reply *,
	    const char **cause);
void	msg_reply_clear(struct msg_reply *);

/* Builders. Each takes ownership of the cJSON argument (which may be NULL). */
cJSON	*msg_new_request(uint64_t id, const char *op, cJSON *args);
cJSON	*msg_new_ok(uint64_t id, cJSON *result);
cJSON	*msg_new_event(uint64_t id, const char *event, cJSON *data);
/* message and hint NULL mean the table's defaults; hint "" means none. */
cJSON	*msg_new_error(uint64_t id, int err, const char *message,
	    const char *hint);

/*
 * Members for replies built and encoded at once (a cached token's): key is
 * a string literal, kept by reference. msg_add_int adds an integer as
 * cJSON prints no number without "%1.15g" and a scanf check. msg_add_ref
 * adds s by reference, not copied: s must outlive the tree (NULL adds
 * nothing). 0, or -1 when out of memory.
 */
int	msg_add_int(cJSON *obj, const char *key, long long v);
int	msg_add_ref(cJSON *obj, const char *key, const char *s);
/*
 * A token (s, len bytes) under key. When it holds nothing JSON escapes
 * (printable ASCII but '"' and '\\': msg_json_plain, which plain gives
 * when known, else -1), a raw copy in quotes, printed by one copy instead
 * of cJSON's two passes over every byte (freed, and wiped, with the
 * tree); else by reference.
 */
int	msg_json_plain(const void *s, size_t len);
int	msg_add_token(cJSON *obj, const char *key, const char *s,
	    size_t len, int plain);

/*
 * Encode a message as a whole frame (header + body) in one malloc'd buffer.
 * Returns 0 or AUTHD_E_FRAME_TOO_LARGE / AUTHD_E_INTERNAL. Release the frame
 * with msg_frame_free(), which wipes it.
 */
int	msg_encode(const cJSON *, uint8_t **frame, size_t *len);
void	msg_frame_free(uint8_t *frame, size_t len);

/*
 * Typed access to optional members of an object (args, result, data).
 * Absent or null members leave *out as NULL / untouched and return 0; a
 * member of the wrong type or too long returns AUTHD_E_BAD_REQUEST.
 */
int	msg_get_string(const cJSON *obj, const char *key, size_t maxlen,
	    const char **out);
int	msg_get_int(const cJSON *obj, const char *key, int64_t min,
	    int64_t max, int64_t *out);
int	msg_get_bool(const cJSON *obj, const char *key, int *out);

/* Nonzero when s[0..len) is valid UTF-8 with no NUL byte. */
int	msg_valid_utf8(const void *s, size_t len);

/* Nonzero when s is a valid profile, op or code name: [A-Za-z0-9_.-]{1,64}. */
int	msg_valid_name(const char *s);

#endif /* AUTHD_MSG_H */
