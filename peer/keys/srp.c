#include "srp.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/srp.h>

#include <stdlib.h>
#include <string.h>

#include "../../util/msg.h"
#include "../../util/secure.h"

/* The identity is fixed: the verifier must survive a change of SERVERNAME,
 * and the salt is random per instance anyway. */
static const char srp_user[] = "replpeer-server";

static const uint8_t srp_N[256] = {
	0xAC, 0x6B, 0xDB, 0x41, 0x32, 0x4A, 0x9A, 0x9B, 0xF1, 0x66, 0xDE, 0x5E, 0x13, 0x89, 0x58,
	0x2F, 0xAF, 0x72, 0xB6, 0x65, 0x19, 0x87, 0xEE, 0x07, 0xFC, 0x31, 0x92, 0x94, 0x3D, 0xB5,
	0x60, 0x50, 0xA3, 0x73, 0x29, 0xCB, 0xB4, 0xA0, 0x99, 0xED, 0x81, 0x93, 0xE0, 0x75, 0x77,
	0x67, 0xA1, 0x3D, 0xD5, 0x23, 0x12, 0xAB, 0x4B, 0x03, 0x31, 0x0D, 0xCD, 0x7F, 0x48, 0xA9,
	0xDA, 0x04, 0xFD, 0x50, 0xE8, 0x08, 0x39, 0x69, 0xED, 0xB7, 0x67, 0xB0, 0xCF, 0x60, 0x95,
	0x17, 0x9A, 0x16, 0x3A, 0xB3, 0x66, 0x1A, 0x05, 0xFB, 0xD5, 0xFA, 0xAA, 0xE8, 0x29, 0x18,
	0xA9, 0x96, 0x2F, 0x0B, 0x93, 0xB8, 0x55, 0xF9, 0x79, 0x93, 0xEC, 0x97, 0x5E, 0xEA, 0xA8,
	0x0D, 0x74, 0x0A, 0xDB, 0xF4, 0xFF, 0x74, 0x73, 0x59, 0xD0, 0x41, 0xD5, 0xC3, 0x3E, 0xA7,
	0x1D, 0x28, 0x1E, 0x44, 0x6B, 0x14, 0x77, 0x3B, 0xCA, 0x97, 0xB4, 0x3A, 0x23, 0xFB, 0x80,
	0x16, 0x76, 0xBD, 0x20, 0x7A, 0x43, 0x6C, 0x64, 0x81, 0xF1, 0xD2, 0xB9, 0x07, 0x87, 0x17,
	0x46, 0x1A, 0x5B, 0x9D, 0x32, 0xE6, 0x88, 0xF8, 0x77, 0x48, 0x54, 0x45, 0x23, 0xB5, 0x24,
	0xB0, 0xD5, 0x7D, 0x5E, 0xA7, 0x7A, 0x27, 0x75, 0xD2, 0xEC, 0xFA, 0x03, 0x2C, 0xFB, 0xDB,
	0xF5, 0x2F, 0xB3, 0x78, 0x61, 0x60, 0x27, 0x90, 0x04, 0xE5, 0x7A, 0xE6, 0xAF, 0x87, 0x4E,
	0x73, 0x03, 0xCE, 0x53, 0x29, 0x9C, 0xCC, 0x04, 0x1C, 0x7B, 0xC3, 0x08, 0xD8, 0x2A, 0x56,
	0x98, 0xF3, 0xA8, 0xD0, 0xC3, 0x82, 0x71, 0xAE, 0x35, 0xF8, 0xE9, 0xDB, 0xFB, 0xB6, 0x94,
	0xB5, 0xC8, 0x03, 0xD8, 0x9F, 0x7A, 0xE4, 0x35, 0xDE, 0x23, 0x6D, 0x52, 0x5F, 0x54, 0x75,
	0x9B, 0x65, 0xE3, 0x72, 0xFC, 0xD6, 0x8E, 0xF2, 0x0F, 0xA7, 0x11, 0x1F, 0x9E, 0x4A, 0xFF,
	0x73,
};
static const uint8_t srp_g[1] = { 2 };

#define PUB_MAX   256
#define PROOF_MAX 64

struct srp_ctx {
	Srp srp;
	int inited;
	uint8_t B[PUB_MAX]; /* the server's public value, needed again for K */
	word32 B_len;
};

static int ctx_new(struct srp_ctx **out, SrpSide side, const uint8_t *salt, size_t salt_len)
{
	struct srp_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return -RPL_E_NOMEM;
	if (wc_SrpInit(&c->srp, SRP_TYPE_SHA256, side) != 0) {
		free(c);
		return -RPL_E_CRYPTO;
	}
	c->inited = 1;
	if (wc_SrpSetUsername(&c->srp, (const byte *)srp_user, sizeof(srp_user) - 1) ||
	    wc_SrpSetParams(&c->srp, srp_N, sizeof(srp_N), srp_g, sizeof(srp_g), salt,
			    (word32)salt_len)) {
		srp_free(c);
		return -RPL_E_CRYPTO;
	}
	*out = c;
	return 0;
}

void srp_free(struct srp_ctx *c)
{
	if (!c)
		return;
	if (c->inited)
		wc_SrpTerm(&c->srp);
	secure_zero(c, sizeof(*c));
	free(c);
}

int srp_make_verifier(const char *password, uint8_t salt[SRP_SALT_LEN], struct blob *verifier)
{
	uint8_t v[PUB_MAX];
	word32 vlen = sizeof(v);
	struct srp_ctx *c;
	int rc;

	if ((rc = secure_random(salt, SRP_SALT_LEN)) < 0)
		return rc;
	if ((rc = ctx_new(&c, SRP_CLIENT_SIDE, salt, SRP_SALT_LEN)) < 0)
		return rc;
	if (wc_SrpSetPassword(&c->srp, (const byte *)password, (word32)strlen(password)) ||
	    wc_SrpGetVerifier(&c->srp, v, &vlen))
		rc = -RPL_E_CRYPTO;
	else
		rc = blob_set(verifier, v, vlen);
	srp_free(c);
	secure_zero(v, sizeof(v));
	return rc;
}

int srp_server_start(struct srp_ctx **ctx, const uint8_t *salt, size_t salt_len,
		     const uint8_t *verifier, size_t verifier_len, struct blob *B)
{
	uint8_t pub[PUB_MAX];
	word32 len = sizeof(pub);
	int rc;

	*ctx = NULL;
	if ((rc = ctx_new(ctx, SRP_SERVER_SIDE, salt, salt_len)) < 0)
		return rc;
	if (wc_SrpSetVerifier(&(*ctx)->srp, verifier, (word32)verifier_len) ||
	    wc_SrpGetPublic(&(*ctx)->srp, pub, &len))
		rc = -RPL_E_CRYPTO;
	else {
		memcpy((*ctx)->B, pub, len);
		(*ctx)->B_len = len;
		rc = blob_set(B, pub, len);
	}
	if (rc < 0) {
		srp_free(*ctx);
		*ctx = NULL;
	}
	return rc;
}

static int take_key(struct srp_ctx *c, uint8_t *K, size_t *K_len)
{
	if (c->srp.keySz == 0 || c->srp.keySz > SRP_KEY_MAX)
		return -RPL_E_CRYPTO;
	memcpy(K, c->srp.key, c->srp.keySz);
	*K_len = c->srp.keySz;
	return 0;
}

int srp_server_finish(struct srp_ctx *c, const uint8_t *A, size_t A_len, const uint8_t *M1,
		      size_t M1_len, struct blob *M2, uint8_t *K, size_t *K_len)
{
	uint8_t proof[PROOF_MAX];
	word32 len = sizeof(proof);

	if (A_len == 0 || A_len > PUB_MAX || M1_len == 0 || M1_len > PROOF_MAX)
		return -RPL_E_AUTH_FAILED;
	/* A of 0 mod N is refused inside wc_SrpComputeKey. */
	if (wc_SrpComputeKey(&c->srp, (byte *)A, (word32)A_len, c->B, c->B_len) != 0)
		return -RPL_E_AUTH_FAILED;
	if (wc_SrpVerifyPeersProof(&c->srp, (byte *)M1, (word32)M1_len) != 0)
		return -RPL_E_AUTH_FAILED;
	if (wc_SrpGetProof(&c->srp, proof, &len) != 0)
		return -RPL_E_CRYPTO;
	if (blob_set(M2, proof, len) < 0)
		return -RPL_E_NOMEM;
	return take_key(c, K, K_len);
}

int srp_client_start(struct srp_ctx **ctx, const char *password, const uint8_t *salt,
		     size_t salt_len, const uint8_t *B, size_t B_len, struct blob *A,
		     struct blob *M1, uint8_t *K, size_t *K_len)
{
	uint8_t pub[PUB_MAX], proof[PROOF_MAX];
	word32 publen = sizeof(pub), prooflen = sizeof(proof);
	int rc;

	*ctx = NULL;
	if (salt_len == 0 || salt_len > 64 || B_len == 0 || B_len > PUB_MAX)
		return -RPL_E_AUTH_FAILED;
	if ((rc = ctx_new(ctx, SRP_CLIENT_SIDE, salt, salt_len)) < 0)
		return rc;
	if (wc_SrpSetPassword(&(*ctx)->srp, (const byte *)password, (word32)strlen(password)) ||
	    wc_SrpGetPublic(&(*ctx)->srp, pub, &publen))
		rc = -RPL_E_CRYPTO;
	else if (wc_SrpComputeKey(&(*ctx)->srp, pub, publen, (byte *)B, (word32)B_len) ||
		 wc_SrpGetProof(&(*ctx)->srp, proof, &prooflen))
		rc = -RPL_E_AUTH_FAILED; /* a B of 0 mod N lands here */
	else if (blob_set(A, pub, publen) < 0 || blob_set(M1, proof, prooflen) < 0)
		rc = -RPL_E_NOMEM;
	else
		rc = take_key(*ctx, K, K_len);
	if (rc < 0) {
		srp_free(*ctx);
		*ctx = NULL;
	}
	return rc;
}

int srp_client_finish(struct srp_ctx *c, const uint8_t *M2, size_t M2_len)
{
	if (M2_len == 0 || M2_len > PROOF_MAX)
		return -RPL_E_AUTH_FAILED;
	return wc_SrpVerifyPeersProof(&c->srp, (byte *)M2, (word32)M2_len) == 0
		       ? 0
		       : -RPL_E_AUTH_FAILED;
}
