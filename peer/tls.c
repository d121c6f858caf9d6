#include "tls.h"

#include <string.h>

#include "../util/conf.h"
#include "../util/msg.h"

/* Without AES-NI (Debian's wolfSSL is built without it) ChaCha20-Poly1305
 * is 2.6x faster than AES-128-GCM here, so it comes first; a wolfSSL built
 * with AES-NI puts AES-GCM first. Both orders offer the same AEAD suites. */
#ifdef WOLFSSL_AESNI
const char tls_cipher_list[] = "TLS13-AES128-GCM-SHA256:TLS13-CHACHA20-POLY1305-SHA256:"
			       "TLS13-AES256-GCM-SHA384:"
			       "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
			       "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
			       "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";
#else
const char tls_cipher_list[] = "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:"
			       "TLS13-AES256-GCM-SHA384:"
			       "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
			       "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
			       "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";
#endif

/* The ECDHE groups, in both versions; the same as groups[] in make_ctx. */
const char tls_group_list[] = "X25519:P-256:P-384";

/* Every certificate is accepted by the TLS layer; peer/auth decides right
 * after the handshake, before any application data is read. */
static int defer_verify(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	(void)preverify;
	(void)store;
	return 1;
}

static WOLFSSL_CTX *make_ctx(int server, int tls13)
{
	WOLFSSL_CTX *ctx =
		wolfSSL_CTX_new(server ? wolfSSLv23_server_method() : wolfSSLv23_client_method());
	int groups[] = { WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1 };

	if (!ctx)
		return NULL;
	/* set_groups covers TLS 1.3 key shares only; a TLS 1.2 server takes
	 * the ECDHE curve from the client's list, minus the curves disabled
	 * by set1_curves_list: without it X448, P-521, brainpool and
	 * secp256k1 key TLS 1.2 sessions (tests/e2e/t_tls_posture.sh). */
	if (wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_cipher_list(ctx, tls_cipher_list) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set1_curves_list(ctx, tls_group_list) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_groups(ctx, groups, 3) != WOLFSSL_SUCCESS)
		goto fail;
	if (!tls13 && wolfSSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != WOLFSSL_SUCCESS)
		goto fail;
	/* Ask for the client's certificate, but let a client without one
	 * finish the handshake: peer/auth then refuses it with a reason. */
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, defer_verify);
	if (server)
		wolfSSL_CTX_set_options(ctx, WOLFSSL_OP_CIPHER_SERVER_PREFERENCE);
	wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF);
	return ctx;
fail:
	wolfSSL_CTX_free(ctx);
	return NULL;
}

int tls_policy_init(struct tls_policy *p, int tls13)
{
	p->server = make_ctx(1, tls13);
	p->client = make_ctx(0, tls13);
	if (!p->server || !p->client) {
		tls_policy_free(p);
		return -RPL_E_TLS;
	}
	return 0;
}

WOLFSSL_CTX *tls_client_ctx_new(int tls13) { return make_ctx(0, tls13); }

void tls_policy_free(struct tls_policy *p)
{
	if (p->server)
		wolfSSL_CTX_free(p->server);
	if (p->client)
		wolfSSL_CTX_free(p->client);
	p->server = p->client = NULL;
}

int tls_use_identity(WOLFSSL *ssl, const struct own_identity *own)
{
	if (wolfSSL_use_certificate_buffer(ssl, own->der.p, (long)own->der.n,
					   WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS ||
	    wolfSSL_use_PrivateKey_buffer(ssl, own->key.p, (long)own->key.n,
					  WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS)
		return -RPL_E_TLS;
	return 0;
}

const char *tls_version_name(WOLFSSL *ssl)
{
	const char *v = wolfSSL_get_version(ssl);
	return v ? v : "unknown";
}

const char *tls_cipher_name(WOLFSSL *ssl)
{
	const char *c = wolfSSL_get_cipher_name(ssl);
	return c ? c : "unknown";
}

int tls_peer_cert(WOLFSSL *ssl, struct blob *der)
{
	WOLFSSL_X509_CHAIN *chain = wolfSSL_get_peer_chain(ssl);
	WOLFSSL_X509 *x;
	const unsigned char *p;
	int len = 0, rc;

	der->p = NULL;
	der->n = 0;
	/* The certificate as received, first in the chain the session keeps
	 * (SESSION_CERTS): wolfSSL_get_peer_certificate would build an X509
	 * object with its own key object and random generator for it. */
	if (chain && wolfSSL_get_chain_count(chain) > 0 && (p = wolfSSL_get_chain_cert(chain, 0)) &&
	    (len = wolfSSL_get_chain_length(chain, 0)) > 0)
		return blob_set(der, p, (size_t)len);
	x = wolfSSL_get_peer_certificate(ssl);
	if (!x)
		return 0;
	p = wolfSSL_X509_get_der(x, &len);
	rc = p && len > 0 ? blob_set(der, p, (size_t)len) : -RPL_E_TLS;
	wolfSSL_X509_free(x);
	return rc;
}

int tls_exporter(WOLFSSL *ssl, const char *label, uint8_t out[32])
{
	return wolfSSL_export_keying_material(ssl, out, 32, label, strlen(label), NULL, 0, 0) ==
			       WOLFSSL_SUCCESS
		       ? 0
		       : -RPL_E_TLS;
}
