/*
 * peer/srp: SRP-6a (RFC 5054 2048-bit group, SHA-256) over wolfCrypt — the
 * password proof that gives a man in the middle one online guess per session
 * and nothing to attack offline. Callers run these functions on the uv
 * thread pool: one exchange costs a few milliseconds of CPU.
 * A struct srp_ctx holds secret exponents; srp_free wipes it.
 */
#ifndef RPL_SRP_H
#define RPL_SRP_H

#include <stddef.h>
#include <stdint.h>

#include "../../util/buf.h"

#define SRP_SALT_LEN 32
#define SRP_KEY_MAX  64

struct srp_ctx;

/* Fresh salt and verifier for a password. */
int srp_make_verifier(const char *password, uint8_t salt[SRP_SALT_LEN], struct blob *verifier);

/* Server, step 1: public value B from the stored salt and verifier. */
int srp_server_start(struct srp_ctx **ctx, const uint8_t *salt, size_t salt_len,
		     const uint8_t *verifier, size_t verifier_len, struct blob *B);
/* Server, step 2: checks the client's proof M1; -RPL_E_AUTH_FAILED when
 * wrong. On success gives M2 and the session key K. */
int srp_server_finish(struct srp_ctx *ctx, const uint8_t *A, size_t A_len, const uint8_t *M1,
		      size_t M1_len, struct blob *M2, uint8_t *K, size_t *K_len);
/* Client: from salt and B, computes A, M1 and K. */
int srp_client_start(struct srp_ctx **ctx, const char *password, const uint8_t *salt,
		     size_t salt_len, const uint8_t *B, size_t B_len, struct blob *A,
		     struct blob *M1, uint8_t *K, size_t *K_len);
/* Client: checks the server's proof M2; -RPL_E_AUTH_FAILED when wrong. */
int srp_client_finish(struct srp_ctx *ctx, const uint8_t *M2, size_t M2_len);
void srp_free(struct srp_ctx *ctx);

#endif
