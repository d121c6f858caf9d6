#include "proof.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/pwdbased.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <string.h>

#include "../../store/env.h"
#include "../../util/conf.h"
#include "../../util/msg.h"
#include "../../util/secure.h"

static const char client_label[] = "replpeer v2.2 client proof";
static const char server_label[] = "replpeer v2.2 server proof";
static const char pairing_salt[] = "replpeer pairing v1";
static const char legacy_key_label[] = "replpeer rpl1 key v2";

static int hmac_str(Hmac *h, const char *s)
{
	return wc_HmacUpdate(h, (const byte *)s, (word32)strlen(s) + 1);
}

static int hmac_name(Hmac *h, const char *name)
{
	char key[RPL_NAME_MAX + 1];
	store_name_key(name, key, sizeof(key));
	return hmac_str(h, key);
}

int proof_tag(const struct auth_key *key, int from_client, const struct proof_binding *b,
	      uint8_t out[PROOF_TAG_LEN])
{
	uint8_t tail[3] = { b->method, b->purpose, b->version };
	Hmac h;
	int rc;

	if (!key)
		return -RPL_E_INTERNAL;
	if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
		return -RPL_E_CRYPTO;
	rc = wc_HmacSetKey(&h, WC_SHA256, key->k, PROOF_KEY_LEN);
	rc |= hmac_str(&h, from_client ? client_label : server_label);
	rc |= wc_HmacUpdate(&h, b->exporter, 32);
	rc |= wc_HmacUpdate(&h, b->client_fp, PROOF_FP_LEN);
	rc |= wc_HmacUpdate(&h, b->server_fp, PROOF_FP_LEN);
	rc |= hmac_name(&h, b->client_name);
	rc |= hmac_name(&h, b->server_name);
	rc |= wc_HmacUpdate(&h, tail, sizeof(tail));
	rc |= wc_HmacFinal(&h, out);
	wc_HmacFree(&h);
	return rc == 0 ? 0 : -RPL_E_CRYPTO;
}

int proof_pairing_from_srp(const uint8_t *K, size_t K_len, const uint8_t client_fp[PROOF_FP_LEN],
			   const uint8_t server_fp[PROOF_FP_LEN], struct auth_key *out)
{
	uint8_t info[2 * PROOF_FP_LEN];

	if (!K || !K_len)
		return -RPL_E_INTERNAL;
	memcpy(info, client_fp, PROOF_FP_LEN);
	memcpy(info + PROOF_FP_LEN, server_fp, PROOF_FP_LEN);
	if (wc_HKDF(WC_SHA256, K, (word32)K_len, (const byte *)pairing_salt,
		    sizeof(pairing_salt) - 1, info, sizeof(info), out->k, PROOF_KEY_LEN) != 0)
		return -RPL_E_CRYPTO;
	return 0;
}

int proof_key_from(const uint8_t *p, size_t n, struct auth_key *out)
{
	if (n != PROOF_KEY_LEN)
		return -RPL_E_UNSEAL;
	memcpy(out->k, p, PROOF_KEY_LEN);
	return 0;
}

void proof_key_wipe(struct auth_key *k) { secure_zero(k, sizeof(*k)); }

int proof_legacy_key(const char *server_pw, size_t server_pw_len, const char *client_pw,
		     size_t client_pw_len, struct auth_key *out)
{
	uint8_t len[4];
	wc_Sha256 sha;
	int rc;

	if (wc_InitSha256(&sha) != 0)
		return -RPL_E_CRYPTO;
	rc = wc_Sha256Update(&sha, (const byte *)legacy_key_label, sizeof(legacy_key_label));
	/* Length-prefixed, so that the split between the two passwords is
	 * part of what is hashed. */
	len[0] = (uint8_t)(server_pw_len >> 24);
	len[1] = (uint8_t)(server_pw_len >> 16);
	len[2] = (uint8_t)(server_pw_len >> 8);
	len[3] = (uint8_t)server_pw_len;
	rc |= wc_Sha256Update(&sha, len, 4);
	rc |= wc_Sha256Update(&sha, (const byte *)server_pw, (word32)server_pw_len);
	len[0] = (uint8_t)(client_pw_len >> 24);
	len[1] = (uint8_t)(client_pw_len >> 16);
	len[2] = (uint8_t)(client_pw_len >> 8);
	len[3] = (uint8_t)client_pw_len;
	rc |= wc_Sha256Update(&sha, len, 4);
	rc |= wc_Sha256Update(&sha, (const byte *)client_pw, (word32)client_pw_len);
	rc |= wc_Sha256Final(&sha, out->k);
	wc_Sha256Free(&sha);
	return rc == 0 ? 0 : -RPL_E_CRYPTO;
}

int proof_legacy_tag(const struct auth_key *key, int from_client,
		     const uint8_t nonce_s[LEGACY_NONCE_LEN],
		     const uint8_t nonce_c[LEGACY_NONCE_LEN], const char *client_name,
		     const char *server_name, uint8_t out[PROOF_TAG_LEN])
{
	Hmac h;
	int rc;

	if (!key)
		return -RPL_E_INTERNAL;
	if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
		return -RPL_E_CRYPTO;
	rc = wc_HmacSetKey(&h, WC_SHA256, key->k, PROOF_KEY_LEN);
	rc |= hmac_str(&h, from_client ? "rpl1 client" : "rpl1 server");
	rc |= wc_HmacUpdate(&h, nonce_s, LEGACY_NONCE_LEN);
	rc |= wc_HmacUpdate(&h, nonce_c, LEGACY_NONCE_LEN);
	rc |= hmac_name(&h, client_name);
	rc |= hmac_name(&h, server_name);
	rc |= wc_HmacFinal(&h, out);
	wc_HmacFree(&h);
	return rc == 0 ? 0 : -RPL_E_CRYPTO;
}

int proof_admin_slow(const char *password, size_t len, const uint8_t salt[ADMIN_SLOW_SALT_LEN],
		     struct auth_key *out)
{
	return wc_scrypt(out->k, (const byte *)password, (int)len, salt, ADMIN_SLOW_SALT_LEN,
			 ADMIN_SLOW_LOG2N, 8, 1, PROOF_KEY_LEN) == 0
		       ? 0
		       : -RPL_E_CRYPTO;
}

void proof_rollover_message(const uint8_t fp[PROOF_FP_LEN], uint8_t out[PROOF_ROLLOVER_MSG_LEN])
{
	memcpy(out, "replpeer rollover v1", 21); /* with its NUL */
	memcpy(out + 21, fp, PROOF_FP_LEN);
}
