/*
 * peer/keys/proof: the keyed proofs of peer authentication — the binding
 * tags that tie a password proof or a pairing key to one TLS session, the
 * pairing key derived from SRP session keys, and the down-level (protocol 1)
 * challenge-response key and tags. Pure functions over memory: no store, no
 * network, no libuv.
 *
 * A struct auth_key can only be made here, from SRP session keys
 * (proof_pairing_from_srp) or from a stored pairing key (proof_key_from),
 * so session code that computes a tag holds a key that was established;
 * there is no "all-zero key" state to forget to check.
 */
#ifndef RPL_KEYS_PROOF_H
#define RPL_KEYS_PROOF_H

#include <stddef.h>
#include <stdint.h>

#define PROOF_KEY_LEN    32
#define PROOF_TAG_LEN    32
#define PROOF_FP_LEN     32
#define LEGACY_NONCE_LEN 32

struct auth_key {
	uint8_t k[PROOF_KEY_LEN];
};

/* What a protocol-2 binding tag covers. Names are compared and hashed
 * upper-cased, as server names compare case-insensitively. */
struct proof_binding {
	const uint8_t *exporter;  /* 32 bytes of TLS exporter output */
	const uint8_t *client_fp; /* SHA-256 of the client's certificate */
	const uint8_t *server_fp;
	const char *client_name;
	const char *server_name;
	uint8_t method;  /* METHOD_KEY or METHOD_SRP */
	uint8_t purpose; /* what the session is for */
	uint8_t version; /* protocol-2 revision */
};

/* The tag one side sends: HMAC-SHA256 under key over a side label and
 * everything in b. */
int proof_tag(const struct auth_key *key, int from_client, const struct proof_binding *b,
	      uint8_t out[PROOF_TAG_LEN]);
/* The pairing key of a password-proof session: HKDF over the SRP session
 * keys (K of the server's password, then K of the client's), bound to both
 * certificates. */
int proof_pairing_from_srp(const uint8_t *K, size_t K_len, const uint8_t client_fp[PROOF_FP_LEN],
			   const uint8_t server_fp[PROOF_FP_LEN], struct auth_key *out);
/* A stored pairing key (exactly PROOF_KEY_LEN bytes) as an auth_key. */
int proof_key_from(const uint8_t *p, size_t n, struct auth_key *out);
void proof_key_wipe(struct auth_key *k);

/* Protocol 1: the key binds both servers' passwords (the target's and the
 * caller's), so knowing one partner's password is not enough to sign on as
 * another partner. */
int proof_legacy_key(const char *server_pw, size_t server_pw_len, const char *client_pw,
		     size_t client_pw_len, struct auth_key *out);
int proof_legacy_tag(const struct auth_key *key, int from_client,
		     const uint8_t nonce_s[LEGACY_NONCE_LEN],
		     const uint8_t nonce_c[LEGACY_NONCE_LEN], const char *client_name,
		     const char *server_name, uint8_t out[PROOF_TAG_LEN]);

/* A rollover endorsement: the key of the certificate that was current
 * signs this message about the fingerprint of the one that follows it
 * (made at renewal, kept with the new certificate). It is not bound to a
 * session: it helps only whoever holds the new key, which the TLS
 * handshake proves. Clients that pin only a fingerprint (the remote admin
 * client) follow a server's renewals through a chain of them. */
#define PROOF_ROLLOVER_MSG_LEN (21 + PROOF_FP_LEN)
void proof_rollover_message(const uint8_t fp[PROOF_FP_LEN], uint8_t out[PROOF_ROLLOVER_MSG_LEN]);

/* The down-level admin path: a slow salted hash of the administrator's
 * password (scrypt, N = 2^ADMIN_SLOW_LOG2N, r = 8, p = 1) keys the
 * protocol-1 response; the peer stores only that hash, sealed. */
#define ADMIN_SLOW_LOG2N    14
#define ADMIN_SLOW_SALT_LEN 16
int proof_admin_slow(const char *password, size_t len, const uint8_t salt[ADMIN_SLOW_SALT_LEN],
		     struct auth_key *out);

#endif
