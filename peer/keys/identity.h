/*
 * peer/identity: key pairs, X.509 certificates and requests — generation,
 * parsing, PEM/DER, fingerprints, and signatures made or checked with a
 * certificate's key. Pure functions over memory: no store, no network.
 * Private keys cross this interface as DER in a struct blob that the caller
 * owns and frees (blob_free wipes it).
 */
#ifndef RPL_IDENTITY_H
#define RPL_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "../../util/buf.h"

#define FINGERPRINT_LEN 32

struct certinfo {
	uint8_t fp[FINGERPRINT_LEN];
	char fp_hex[2 * FINGERPRINT_LEN + 1];
	char subject[256];
	char issuer[256];
	char cn[65];
	char serial_hex[80];
	char sans[256];    /* "DNS:a, IP:127.0.0.1" */
	char key_type[16]; /* ECDSA-P256, RSA-2048, RSA-3072, ... */
	char sig_alg[32];
	int64_t not_before;
	int64_t not_after;
	int is_ca;
	int self_issued; /* subject == issuer */
};

int identity_fingerprint(const uint8_t *der, size_t n, uint8_t fp[FINGERPRINT_LEN]);
int identity_cert_info(const uint8_t *der, size_t n, struct certinfo *ci);

/* Accepts PEM (the first CERTIFICATE block) or DER; out gets the DER. */
int identity_cert_decode(const uint8_t *in, size_t n, struct blob *der);
enum pem_kind { PEM_CERT, PEM_CSR };
/* Appends the PEM text to out. */
int identity_pem_encode(const uint8_t *der, size_t n, int kind, struct wbuf *out);

int identity_keygen(int keytype, struct blob *key_der);
/* Self-signed X.509 v3: subject CN = cn, SAN DNS:cn and, when san2 is
 * neither NULL, empty nor cn, san2 (IP:san2 for an address, else
 * DNS:san2), random 128-bit serial, SHA-256 signature, valid from a day
 * before 'now' until 'days' after it. */
int identity_self_signed_at(int keytype, const struct blob *key, const char *cn, const char *san2,
			    int64_t now, int days, struct blob *cert_der);
/* The same, from the system clock. */
int identity_self_signed(int keytype, const struct blob *key, const char *cn, const char *san2,
			 int days, struct blob *cert_der);
/* PKCS#10 request for the key; sans are DNS names or IP addresses. */
int identity_csr(int keytype, const struct blob *key, const char *cn, const char *const *sans,
		 int nsans, struct blob *csr_der);
/* 1 when the certificate carries the public half of key, 0 when not. */
int identity_key_matches(int keytype, const struct blob *key, const uint8_t *cert, size_t cert_len);
/* SHA-256 signature with the key. */
/* Debian's wolfSSL has FP_ECC: each thread keeps precomputed tables
 * (about 0.85 MiB each, up to 15) for the ECC public keys it used twice.
 * identity_sign and identity_verify drop the calling thread's tables
 * afterwards, except on a thread that called identity_keep_fp_tables()
 * (the event loop's, whose handshakes reuse the same keys; its tables
 * stay bounded at 15). */
void identity_keep_fp_tables(void);
int identity_sign(int keytype, const struct blob *key, const void *msg, size_t len,
		  struct blob *sig);
/* 0 when sig is a valid signature of msg by the certificate's key. */
int identity_verify(const uint8_t *cert, size_t cert_len, const void *msg, size_t len,
		    const uint8_t *sig, size_t sig_len);
/* 0 when 'cert' is signed by 'issuer' (issuer's key and name). */
int identity_verify_issued(const uint8_t *cert, size_t cert_len, const uint8_t *issuer,
			   size_t issuer_len);

#endif
