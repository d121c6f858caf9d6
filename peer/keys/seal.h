/*
 * peer/keys/seal: the one table of seal purposes. Every secret sealed under
 * the master key is bound to a purpose string (the AEAD's associated data),
 * so a sealed value cannot be replayed as another kind of secret or as the
 * same kind for another subject. The strings are part of every stored
 * record: changing one makes those records unreadable, so they live here
 * once and nowhere else.
 */
#ifndef RPL_KEYS_SEAL_H
#define RPL_KEYS_SEAL_H

#include <stddef.h>

enum seal_kind {
	SEAL_OWN_PASSWORD,    /* this peer's own server password (no subject) */
	SEAL_SRP_VERIFIER,    /* its SRP verifier (no subject) */
	SEAL_OWNCERT_KEY,     /* an own private key; subject = certificate label */
	SEAL_SERVER_PASSWORD, /* a partner's password; subject = server name */
	SEAL_PAIRING_OUT,     /* pairing key, we connect; subject = server name */
	SEAL_PAIRING_IN,      /* pairing key, the partner connects */
	SEAL_ADMIN_VERIFIER,  /* an administrator's SRP verifier; subject = admin name */
	SEAL_ADMIN_SLOW,      /* its slow hash for the down-level path */
	SEAL_KIND_COUNT
};

/* Longest purpose string, with its NUL. */
#define SEAL_PURPOSE_MAX 160

/* Writes the purpose string of kind for subject into buf (server names are
 * upper-cased, labels kept as they are). Returns 0, or -RPL_E_BADARG for a
 * subject that does not fit or a kind that needs one and got none. */
int seal_purpose(enum seal_kind kind, const char *subject, char *buf, size_t sz);

#endif
