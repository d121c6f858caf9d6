/*
 * peer/vault: the master key (DIR/master.key, 32 bytes, mode 0600) and the
 * AEAD that seals secrets before they reach LMDB. Every sealed value is bound
 * to a purpose string (the AAD), so a sealed key cannot be replayed as a
 * password. The key never leaves this module except in wiped memory.
 */
#ifndef RPL_VAULT_H
#define RPL_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "../../util/buf.h"

#define VAULT_KEY_LEN 32

struct vault {
	uint8_t key[VAULT_KEY_LEN];
	int loaded;
};

/* Creates DIR/master.key with fresh random bytes; fails if it exists. */
int vault_create(const char *dir, struct vault *v);
/* Loads DIR/master.key; refuses a file of the wrong size or readable by
 * group or others. */
int vault_load(const char *dir, struct vault *v);
/* Writes v's key to DIR/master.key (restore). */
int vault_write(const char *dir, const struct vault *v);
void vault_wipe(struct vault *v);

/* out receives version || nonce || ciphertext || tag (appended). */
int vault_seal(const struct vault *v, const char *purpose, const void *pt, size_t n,
	       struct wbuf *out);
/* out receives the plaintext (appended); -RPL_E_UNSEAL when the tag or the
 * purpose does not match. The caller wipes out (wbuf_free does). */
int vault_unseal(const struct vault *v, const char *purpose, const void *sealed, size_t n,
		 struct wbuf *out);

/* One-shot ChaCha20-Poly1305 with an explicit key, shared with backups. */
int aead_seal(const uint8_t key[32], const uint8_t nonce[12], const void *aad, size_t aadlen,
	      const void *pt, size_t n, uint8_t *out /* n+16 */);
int aead_open(const uint8_t key[32], const uint8_t nonce[12], const void *aad, size_t aadlen,
	      const void *ct, size_t n /* includes tag */, uint8_t *out /* n-16 */);

#endif
