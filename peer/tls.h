/*
 * peer/tls: the TLS policy — wolfSSL contexts for both roles (TLS 1.2
 * minimum, TLS 1.3 when SSLTLS13, ECDHE groups and AEAD suites only,
 * ChaCha20-Poly1305 first) and loading the own certificate into a session.
 * Certificates are never judged here: the verify callback defers every
 * decision to peer/auth, which runs before any application data.
 */
#ifndef RPL_TLS_H
#define RPL_TLS_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "../util/buf.h"
#include "keys/instance.h"

struct tls_policy {
	WOLFSSL_CTX *server;
	WOLFSSL_CTX *client;
};

int tls_policy_init(struct tls_policy *p, int tls13);
/* One more client context with the same policy and the same deferred
 * verification, for a client that is no peer session (peer/ldap). The
 * caller frees it with wolfSSL_CTX_free. */
WOLFSSL_CTX *tls_client_ctx_new(int tls13);
void tls_policy_free(struct tls_policy *p);
/* Puts the certificate and key into one session. */
int tls_use_identity(WOLFSSL *ssl, const struct own_identity *own);
/* "TLSv1.3" and the suite name, for logs and QUERY output. */
const char *tls_version_name(WOLFSSL *ssl);
const char *tls_cipher_name(WOLFSSL *ssl);
/* The peer's certificate as DER; 0 and an empty blob when none. */
int tls_peer_cert(WOLFSSL *ssl, struct blob *der);
/* 32 bytes of TLS exporter output for 'label' (RFC 5705 / 8446). */
int tls_exporter(WOLFSSL *ssl, const char *label, uint8_t out[32]);
/* The suite list, for tests and docs. */
extern const char tls_cipher_list[];

#endif
