/*
 * The conversation between the Secret Service store (store-secret.c, in
 * authd) and its helper program authd-keyring (authd-keyring.c), which
 * alone links libsecret and GLib: a request, a reply, on the socket of
 * child.h; again for the next job. The helper exits at EOF, or after
 * KEYRING_IDLE_MS without a request (its D-Bus connection goes with it).
 *
 * Request:  KEYRING_T_OP (int: KEYRING_OP_*), KEYRING_T_PROFILE,
 *           KEYRING_T_ISSUER, and for a save KEYRING_T_LABEL and
 *           KEYRING_T_SECRET (the record's JSON text).
 * Reply:    KEYRING_T_STATUS (int: KEYRING_*), KEYRING_T_MESSAGE (the
 *           error's text, when not OK or NOT_FOUND), and for a load that
 *           found the item KEYRING_T_SECRET.
 *
 * Text fields are UTF-8 without NUL bytes, at most KEYRING_TEXT_MAX bytes;
 * the secret at most KEYRING_SECRET_MAX. Each field appears once.
 */
#ifndef AUTHD_KEYRING_H
#define AUTHD_KEYRING_H

#define KEYRING_HELPER		"authd-keyring"

#define KEYRING_T_OP		1
#define KEYRING_T_PROFILE	2
#define KEYRING_T_ISSUER	3
#define KEYRING_T_LABEL		4
#define KEYRING_T_SECRET	5
#define KEYRING_T_STATUS	6
#define KEYRING_T_MESSAGE	7

#define KEYRING_OP_LOAD		1
#define KEYRING_OP_SAVE		2
#define KEYRING_OP_DELETE	3

#define KEYRING_OK		0	/* done (a load: KEYRING_T_SECRET) */
#define KEYRING_NOT_FOUND	1	/* a load found no item */
#define KEYRING_E_STORE		2	/* any other failure */
#define KEYRING_E_TIMEOUT	3	/* D-Bus timed out or was cancelled */
#define KEYRING_E_LOCKED	4	/* the default collection is locked */
#define KEYRING_E_UNAVAILABLE	5	/* no Secret Service on the bus */

#define KEYRING_IDLE_MS		5000
#define KEYRING_TEXT_MAX	8192
#define KEYRING_SECRET_MAX	(1024 * 1024)

#endif /* AUTHD_KEYRING_H */
