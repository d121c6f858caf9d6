#include "identity.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/signature.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../util/conf.h"
#include "../../util/hex.h"
#include "../../util/msg.h"
#include "../../util/secure.h"

#define DER_MAX 8192

/* A decoded private key of either kind. */
struct anykey {
	int type;
	int inited;
	ecc_key ecc;
	RsaKey rsa;
};

static int anykey_load(struct anykey *k, int keytype, const struct blob *der)
{
	word32 idx = 0;
	int rc;

	memset(k, 0, sizeof(*k));
	k->type = keytype;
	if (keytype == KEYTYPE_ECDSA_P256) {
		if (wc_ecc_init(&k->ecc) != 0)
			return -RPL_E_CRYPTO;
		k->inited = 1;
		rc = wc_EccPrivateKeyDecode(der->p, &idx, &k->ecc, (word32)der->n);
	} else {
		if (wc_InitRsaKey(&k->rsa, NULL) != 0)
			return -RPL_E_CRYPTO;
		k->inited = 1;
		rc = wc_RsaPrivateKeyDecode(der->p, &idx, &k->rsa, (word32)der->n);
	}
	return rc == 0 ? 0 : -RPL_E_CRYPTO;
}

static void anykey_free(struct anykey *k)
{
	if (!k->inited)
		return;
	if (k->type == KEYTYPE_ECDSA_P256)
		wc_ecc_free(&k->ecc);
	else
		wc_FreeRsaKey(&k->rsa);
	k->inited = 0;
}

int identity_fingerprint(const uint8_t *der, size_t n, uint8_t fp[FINGERPRINT_LEN])
{
	return wc_Sha256Hash(der, (word32)n, fp) == 0 ? 0 : -RPL_E_CRYPTO;
}

int identity_keygen(int keytype, struct blob *key_der)
{
	struct anykey k;
	WC_RNG rng;
	uint8_t *buf;
	int rc, len;

	if (wc_InitRng(&rng) != 0)
		return -RPL_E_CRYPTO;
	buf = malloc(DER_MAX);
	if (!buf) {
		wc_FreeRng(&rng);
		return -RPL_E_NOMEM;
	}
	memset(&k, 0, sizeof(k));
	k.type = keytype;
	if (keytype == KEYTYPE_ECDSA_P256) {
		rc = wc_ecc_init(&k.ecc);
		k.inited = rc == 0;
		if (rc == 0)
			rc = wc_ecc_make_key_ex(&rng, 32, &k.ecc, ECC_SECP256R1);
		len = rc == 0 ? wc_EccKeyToDer(&k.ecc, buf, DER_MAX) : -1;
	} else {
		rc = wc_InitRsaKey(&k.rsa, NULL);
		k.inited = rc == 0;
		if (rc == 0)
			rc = wc_MakeRsaKey(&k.rsa, keytype == KEYTYPE_RSA_3072 ? 3072 : 2048,
					   WC_RSA_EXPONENT, &rng);
		len = rc == 0 ? wc_RsaKeyToDer(&k.rsa, buf, DER_MAX) : -1;
	}
	rc = len > 0 ? blob_set(key_der, buf, (size_t)len) : -RPL_E_KEYGEN;
	anykey_free(&k);
	wc_FreeRng(&rng);
	secure_zero(buf, DER_MAX);
	free(buf);
	return rc;
}

/* GeneralNames for the SAN extension: dNSName [2] and iPAddress [7]. */
static int build_san(const char *const *names, int n, uint8_t *out, size_t outsz, size_t *outlen)
{
	uint8_t body[1024];
	size_t blen = 0;

	for (int i = 0; i < n; i++) {
		uint8_t ip[16];
		size_t len;
		uint8_t tag;
		const uint8_t *val;

		if (inet_pton(AF_INET, names[i], ip) == 1) {
			tag = 0x87, len = 4, val = ip;
		} else if (inet_pton(AF_INET6, names[i], ip) == 1) {
			tag = 0x87, len = 16, val = ip;
		} else {
			tag = 0x82, len = strlen(names[i]), val = (const uint8_t *)names[i];
		}
		if (len > 127 || blen + 2 + len > sizeof(body))
			return -RPL_E_BADARG;
		body[blen++] = tag;
		body[blen++] = (uint8_t)len;
		memcpy(body + blen, val, len);
		blen += len;
	}
	if (blen > 127 + 128 || blen + 3 > outsz)
		return -RPL_E_BADARG;
	out[0] = 0x30;
	if (blen < 128) {
		out[1] = (uint8_t)blen;
		memcpy(out + 2, body, blen);
		*outlen = blen + 2;
	} else {
		out[1] = 0x81;
		out[2] = (uint8_t)blen;
		memcpy(out + 3, body, blen);
		*outlen = blen + 3;
	}
	return 0;
}

/* RFC 5280 Time: UTCTime through 2049, GeneralizedTime after. */
static int encode_time(int64_t t, uint8_t *out, int outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[20];
	int n;

	gmtime_r(&tt, &tm);
	if (tm.tm_year + 1900 < 2050) {
		/* UTCTime's two-digit year is what RFC 5280 asks for here. */
		n = snprintf(buf, sizeof(buf), "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		out[0] = 0x17;
	} else {
		n = (int)strftime(buf, sizeof(buf), "%Y%m%d%H%M%SZ", &tm);
		out[0] = 0x18;
	}
	if (n <= 0 || n + 2 > outsz)
		return -1;
	out[1] = (uint8_t)n;
	memcpy(out + 2, buf, (size_t)n);
	return n + 2;
}

/* Fills subject, SAN, serial and signature type common to certificates and
 * requests. */
static int prepare_cert(Cert *cert, struct anykey *k, const char *cn, const char *const *sans,
			int nsans)
{
	size_t san_len;
	int rc;

	if (wc_InitCert(cert) != 0)
		return -RPL_E_CRYPTO;
	if (strlen(cn) >= sizeof(cert->subject.commonName))
		return -RPL_E_BADARG;
	strcpy(cert->subject.commonName, cn);
	cert->sigType = k->type == KEYTYPE_ECDSA_P256 ? CTC_SHA256wECDSA : CTC_SHA256wRSA;
	if (nsans > 0) {
		rc = build_san(sans, nsans, cert->altNames, sizeof(cert->altNames), &san_len);
		if (rc < 0)
			return rc;
		cert->altNamesSz = (int)san_len;
	}
	return 0;
}

static int sign_body(Cert *cert, int len, uint8_t *buf, struct anykey *k, WC_RNG *rng)
{
	if (len < 0)
		return len;
	return wc_SignCert(cert->bodySz, cert->sigType, buf, DER_MAX,
			   k->type == KEYTYPE_ECDSA_P256 ? NULL : &k->rsa,
			   k->type == KEYTYPE_ECDSA_P256 ? &k->ecc : NULL, rng);
}

int identity_self_signed(int keytype, const struct blob *key, const char *cn, const char *san2,
			 int days, struct blob *cert_der)
{
	return identity_self_signed_at(keytype, key, cn, san2, (int64_t)time(NULL), days, cert_der);
}

int identity_self_signed_at(int keytype, const struct blob *key, const char *cn, const char *san2,
			    int64_t now, int days, struct blob *cert_der)
{
	const char *sans[2] = { cn, san2 };
	int nsans = san2 && *san2 && strcasecmp(san2, cn) != 0 ? 2 : 1;
	struct anykey k;
	Cert *cert;
	WC_RNG rng;
	uint8_t *buf;
	int rc, len;

	cert = calloc(1, sizeof(*cert));
	buf = malloc(DER_MAX);
	if (!cert || !buf) {
		free(cert);
		free(buf);
		return -RPL_E_NOMEM;
	}
	if (wc_InitRng(&rng) != 0) {
		free(cert);
		free(buf);
		return -RPL_E_CRYPTO;
	}
	rc = anykey_load(&k, keytype, key);
	if (rc == 0)
		rc = prepare_cert(cert, &k, cn, sans, nsans);
	if (rc == 0) {
		/* Explicit dates from the caller's clock (which tests may shift);
		 * notBefore is back-dated a day for partners with a slow clock. */
		cert->beforeDateSz =
			encode_time(now - 86400, cert->beforeDate, sizeof(cert->beforeDate));
		cert->afterDateSz = encode_time(now + (int64_t)days * 86400, cert->afterDate,
						sizeof(cert->afterDate));
		if (cert->beforeDateSz < 0 || cert->afterDateSz < 0)
			rc = -RPL_E_KEYGEN;
		cert->daysValid = days;
		cert->selfSigned = 1;
		cert->isCA = 0;
		cert->serialSz = 16;
		if (rc == 0)
			rc = secure_random(cert->serial, 16);
		cert->serial[0] &= 0x7f; /* positive INTEGER */
		cert->serial[0] |= 0x40; /* and exactly 16 bytes long */
	}
	if (rc == 0 && wc_SetKeyUsage(cert, "digitalSignature,keyCertSign") != 0)
		rc = -RPL_E_CRYPTO;
	if (rc == 0 && wc_SetExtKeyUsage(cert, "serverAuth,clientAuth") != 0)
		rc = -RPL_E_CRYPTO;
	if (rc == 0 &&
	    wc_SetSubjectKeyIdFromPublicKey_ex(
		    cert, keytype == KEYTYPE_ECDSA_P256 ? ECC_TYPE : RSA_TYPE,
		    keytype == KEYTYPE_ECDSA_P256 ? (void *)&k.ecc : (void *)&k.rsa) != 0)
		rc = -RPL_E_CRYPTO;
	if (rc == 0) {
		len = wc_MakeCert(cert, buf, DER_MAX, keytype == KEYTYPE_ECDSA_P256 ? NULL : &k.rsa,
				  keytype == KEYTYPE_ECDSA_P256 ? &k.ecc : NULL, &rng);
		len = sign_body(cert, len, buf, &k, &rng);
		rc = len > 0 ? blob_set(cert_der, buf, (size_t)len) : -RPL_E_KEYGEN;
	}
	anykey_free(&k);
	wc_FreeRng(&rng);
	free(cert);
	free(buf);
	return rc;
}

int identity_csr(int keytype, const struct blob *key, const char *cn, const char *const *sans,
		 int nsans, struct blob *csr_der)
{
	const char *def_sans[1] = { cn };
	struct anykey k;
	Cert *cert;
	WC_RNG rng;
	uint8_t *buf;
	int rc, len;

	cert = calloc(1, sizeof(*cert));
	buf = malloc(DER_MAX);
	if (!cert || !buf) {
		free(cert);
		free(buf);
		return -RPL_E_NOMEM;
	}
	if (wc_InitRng(&rng) != 0) {
		free(cert);
		free(buf);
		return -RPL_E_CRYPTO;
	}
	rc = anykey_load(&k, keytype, key);
	if (rc == 0)
		rc = nsans > 0 ? prepare_cert(cert, &k, cn, sans, nsans)
			       : prepare_cert(cert, &k, cn, def_sans, 1);
	if (rc == 0) {
		cert->version = 0; /* PKCS#10 v1; wc_InitCert presets v3 */
		len = wc_MakeCertReq(cert, buf, DER_MAX,
				     keytype == KEYTYPE_ECDSA_P256 ? NULL : &k.rsa,
				     keytype == KEYTYPE_ECDSA_P256 ? &k.ecc : NULL);
		len = sign_body(cert, len, buf, &k, &rng);
		rc = len > 0 ? blob_set(csr_der, buf, (size_t)len) : -RPL_E_CRYPTO;
	}
	anykey_free(&k);
	wc_FreeRng(&rng);
	free(cert);
	free(buf);
	return rc;
}

int identity_cert_decode(const uint8_t *in, size_t n, struct blob *der)
{
	WOLFSSL_X509 *x;
	DerBuffer *d = NULL;
	int rc;

	if (n == 0 || n > 1 << 20)
		return -RPL_E_CERT_PARSE;
	if (memmem(in, n, "-----BEGIN", 10)) {
		if (wc_PemToDer(in, (long)n, CERT_TYPE, &d, NULL, NULL, NULL) != 0 || !d) {
			wc_FreeDer(&d); /* allocated even when decoding fails */
			return -RPL_E_CERT_PARSE;
		}
		rc = blob_set(der, d->buffer, d->length);
		wc_FreeDer(&d);
	} else {
		rc = blob_set(der, in, n);
	}
	if (rc < 0)
		return rc;
	/* Accept only what parses as a whole certificate. */
	x = wolfSSL_X509_load_certificate_buffer(der->p, (int)der->n, WOLFSSL_FILETYPE_ASN1);
	if (!x) {
		blob_free(der);
		return -RPL_E_CERT_PARSE;
	}
	wolfSSL_X509_free(x);
	return 0;
}

int identity_pem_encode(const uint8_t *der, size_t n, int kind, struct wbuf *out)
{
	int type = kind == PEM_CSR ? CERTREQ_TYPE : CERT_TYPE;
	int len = wc_DerToPem(der, (word32)n, NULL, 0, type);
	int rc;

	if (len <= 0)
		return -RPL_E_CRYPTO;
	if ((rc = wbuf_reserve(out, (size_t)len)) < 0)
		return rc;
	len = wc_DerToPem(der, (word32)n, out->p + out->len, (word32)len, type);
	if (len <= 0)
		return -RPL_E_CRYPTO;
	out->len += (size_t)len;
	return 0;
}

static int64_t asn1_time(const WOLFSSL_ASN1_TIME *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!t || wolfSSL_ASN1_TIME_to_tm(t, &tm) != WOLFSSL_SUCCESS)
		return 0;
	return (int64_t)timegm(&tm);
}

/* "/C=DE/O=x/CN=y" -> "C=DE, O=x, CN=y" */
static void name_text(WOLFSSL_X509_NAME *name, char *out, size_t outsz)
{
	char buf[512], *p, *save = NULL;
	size_t used = 0;

	out[0] = 0;
	if (!name || !wolfSSL_X509_NAME_oneline(name, buf, sizeof(buf)))
		return;
	for (p = strtok_r(buf, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		int n = snprintf(out + used, outsz - used, "%s%s", used ? ", " : "", p);
		if (n < 0 || (size_t)n >= outsz - used)
			break;
		used += (size_t)n;
	}
}

/* The key's size in bits. Only where the type alone does not say it:
 * wolfSSL_X509_get_pubkey seeds a random generator for each key it makes,
 * a cost every session paid for nothing when it ran for each partner's
 * certificate. */
static int pubkey_bits(WOLFSSL_X509 *x)
{
	WOLFSSL_EVP_PKEY *pk = wolfSSL_X509_get_pubkey(x);
	int bits = pk ? wolfSSL_EVP_PKEY_bits(pk) : 0;

	if (pk)
		wolfSSL_EVP_PKEY_free(pk);
	return bits;
}

/* The key's type by algorithm and, for ECDSA, by curve: a 256-bit key on
 * another curve (secp256k1, brainpool) is not "ECDSA-P256". */
static void key_type_text(const uint8_t *der, size_t n, WOLFSSL_X509 *x, char *out, size_t outsz)
{
	DecodedCert d;

	switch (wolfSSL_X509_get_pubkey_type(x)) {
	case ECDSAk: {
		word32 curve = 0;
		wc_InitDecodedCert(&d, der, (word32)n, NULL);
		if (wc_ParseCert(&d, CERT_TYPE, NO_VERIFY, NULL) == 0)
			curve = d.pkCurveOID;
		wc_FreeDecodedCert(&d);
		if (curve == ECC_SECP256R1_OID)
			snprintf(out, outsz, "ECDSA-P256");
		else if (curve == ECC_SECP384R1_OID)
			snprintf(out, outsz, "ECDSA-P384");
		else if (curve == ECC_SECP521R1_OID)
			snprintf(out, outsz, "ECDSA-P521");
		else
			snprintf(out, outsz, "ECDSA-other-%d", pubkey_bits(x));
		break;
	}
	case RSAk: snprintf(out, outsz, "RSA-%d", pubkey_bits(x)); break;
	case ED25519k: snprintf(out, outsz, "Ed25519"); break;
	default: snprintf(out, outsz, "unknown");
	}
}

static void sans_text(WOLFSSL_X509 *x, char *out, size_t outsz)
{
	WOLFSSL_GENERAL_NAMES *gns;
	size_t used = 0;

	out[0] = 0;
	gns = wolfSSL_X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (!gns)
		return;
	for (int i = 0; i < wolfSSL_sk_GENERAL_NAME_num(gns); i++) {
		WOLFSSL_GENERAL_NAME *gn = wolfSSL_sk_GENERAL_NAME_value(gns, i);
		char val[64] = "";
		const char *kind = "other";
		int n;

		if (gn->type == ASN_DNS_TYPE && gn->d.dNSName) {
			kind = "DNS";
			snprintf(val, sizeof(val), "%.*s", gn->d.dNSName->length,
				 (const char *)gn->d.dNSName->data);
		} else if (gn->type == ASN_IP_TYPE && gn->d.iPAddress) {
			kind = "IP";
			inet_ntop(gn->d.iPAddress->length == 16 ? AF_INET6 : AF_INET,
				  gn->d.iPAddress->data, val, sizeof(val));
		}
		n = snprintf(out + used, outsz - used, "%s%s:%s", used ? ", " : "", kind, val);
		if (n < 0 || (size_t)n >= outsz - used)
			break;
		used += (size_t)n;
	}
	wolfSSL_GENERAL_NAMES_free(gns);
}

int identity_cert_info(const uint8_t *der, size_t n, struct certinfo *ci)
{
	WOLFSSL_X509 *x;
	unsigned char serial[64];
	int serial_len = sizeof(serial);
	char *cn;

	memset(ci, 0, sizeof(*ci));
	x = wolfSSL_X509_load_certificate_buffer(der, (int)n, WOLFSSL_FILETYPE_ASN1);
	if (!x)
		return -RPL_E_CERT_PARSE;
	identity_fingerprint(der, n, ci->fp);
	hex_encode(ci->fp, FINGERPRINT_LEN, ci->fp_hex);
	name_text(wolfSSL_X509_get_subject_name(x), ci->subject, sizeof(ci->subject));
	name_text(wolfSSL_X509_get_issuer_name(x), ci->issuer, sizeof(ci->issuer));
	ci->self_issued = strcmp(ci->subject, ci->issuer) == 0;
	cn = wolfSSL_X509_get_subjectCN(x);
	if (cn)
		snprintf(ci->cn, sizeof(ci->cn), "%s", cn);
	if (wolfSSL_X509_get_serial_number(x, serial, &serial_len) == WOLFSSL_SUCCESS &&
	    serial_len > 0 && serial_len < 39)
		hex_encode(serial, (size_t)serial_len, ci->serial_hex);
	ci->not_before = asn1_time(wolfSSL_X509_get_notBefore(x));
	ci->not_after = asn1_time(wolfSSL_X509_get_notAfter(x));
	ci->is_ca = wolfSSL_X509_get_isCA(x);
	key_type_text(der, n, x, ci->key_type, sizeof(ci->key_type));
	sans_text(x, ci->sans, sizeof(ci->sans));
	switch (wolfSSL_X509_get_signature_type(x)) {
	case CTC_SHA256wECDSA:
		snprintf(ci->sig_alg, sizeof(ci->sig_alg), "ecdsa-with-SHA256");
		break;
	case CTC_SHA384wECDSA:
		snprintf(ci->sig_alg, sizeof(ci->sig_alg), "ecdsa-with-SHA384");
		break;
	case CTC_SHA256wRSA:
		snprintf(ci->sig_alg, sizeof(ci->sig_alg), "sha256WithRSAEncryption");
		break;
	case CTC_SHA384wRSA:
		snprintf(ci->sig_alg, sizeof(ci->sig_alg), "sha384WithRSAEncryption");
		break;
	case CTC_SHA512wECDSA:
		snprintf(ci->sig_alg, sizeof(ci->sig_alg), "ecdsa-with-SHA512");
		break;
	case CTC_SHA512wRSA:
		snprintf(ci->sig_alg, sizeof(ci->sig_alg), "sha512WithRSAEncryption");
		break;
	case CTC_SHAwRSA:
		snprintf(ci->sig_alg, sizeof(ci->sig_alg), "sha1WithRSAEncryption");
		break;
	default: snprintf(ci->sig_alg, sizeof(ci->sig_alg), "other"); break;
	}
	wolfSSL_X509_free(x);
	if (!ci->not_after)
		return -RPL_E_CERT_PARSE;
	return 0;
}

/* SubjectPublicKeyInfo of a certificate. */
static int cert_spki(const uint8_t *cert, size_t n, uint8_t *out, int *outlen, int *pktype)
{
	WOLFSSL_X509 *x = wolfSSL_X509_load_certificate_buffer(cert, (int)n, WOLFSSL_FILETYPE_ASN1);
	int rc;
	if (!x)
		return -RPL_E_CERT_PARSE;
	rc = wolfSSL_X509_get_pubkey_buffer(x, out, outlen) == WOLFSSL_SUCCESS ? 0
									       : -RPL_E_CERT_PARSE;
	if (pktype)
		*pktype = wolfSSL_X509_get_pubkey_type(x);
	wolfSSL_X509_free(x);
	return rc;
}

int identity_key_matches(int keytype, const struct blob *key, const uint8_t *cert, size_t cert_len)
{
	uint8_t a[DER_MAX / 4], b[DER_MAX / 4];
	int alen = sizeof(a), blen;
	struct anykey k;
	int rc;

	rc = cert_spki(cert, cert_len, a, &alen, NULL);
	if (rc < 0)
		return rc;
	rc = anykey_load(&k, keytype, key);
	if (rc == 0) {
		if (keytype == KEYTYPE_ECDSA_P256)
			blen = wc_EccPublicKeyToDer(&k.ecc, b, sizeof(b), 1);
		else
			blen = wc_RsaKeyToPublicDer(&k.rsa, b, sizeof(b));
		rc = blen > 0 ? (blen == alen && memcmp(a, b, (size_t)blen) == 0) : -RPL_E_CRYPTO;
	}
	anykey_free(&k);
	return rc;
}

/* FP_ECC tables (identity.h): endorsements are signed and checked on the
 * worker threads once per renewal, with keys that the next renewal
 * replaces, so there the tables only grew — 1.7 to 2.5 MiB of heap per
 * renewal on each side, up to some 60 MiB (make soak; heaptrack showed
 * wc_ecc_new_point under these two functions). */
static _Thread_local int keep_fp_tables;

void identity_keep_fp_tables(void) { keep_fp_tables = 1; }

static void drop_fp_tables(void)
{
	if (!keep_fp_tables)
		wc_ecc_fp_free();
}

/* SHA-256 and ECDSA, the signature DER-encoded: what wc_SignatureGenerate
 * makes and identity_verify checks, without the two verifications of the
 * new signature that wc_SignatureGenerate adds. With Debian's FP_ECC the
 * second of those built a fixed-point table for our key on every call:
 * 5.6 ms a signature instead of ~0.1, 1.1 s of the hub's loop in a
 * renewal round with 100 partners (two signatures per announcement;
 * perf probes on the hub). The TLS layer signs its CertificateVerify the
 * same way, unverified. */
static int ecdsa_sign_sha256(ecc_key *key, const void *msg, size_t len, uint8_t *sig,
			     word32 *siglen, WC_RNG *rng)
{
	uint8_t h[WC_SHA256_DIGEST_SIZE];
	int rc = -1;

	if (wc_Sha256Hash(msg, (word32)len, h) == 0 &&
	    wc_ecc_sign_hash(h, sizeof(h), sig, siglen, rng, key) == 0)
		rc = 0;
	secure_zero(h, sizeof(h));
	return rc;
}

int identity_sign(int keytype, const struct blob *key, const void *msg, size_t len,
		  struct blob *sig)
{
	uint8_t buf[512];
	word32 siglen = sizeof(buf);
	struct anykey k;
	WC_RNG rng;
	int rc;

	if (wc_InitRng(&rng) != 0)
		return -RPL_E_CRYPTO;
	rc = anykey_load(&k, keytype, key);
	if (rc == 0) {
		if (keytype == KEYTYPE_ECDSA_P256)
			rc = ecdsa_sign_sha256(&k.ecc, msg, len, buf, &siglen, &rng);
		else
			rc = wc_SignatureGenerate(WC_HASH_TYPE_SHA256, WC_SIGNATURE_TYPE_RSA_W_ENC,
						  msg, (word32)len, buf, &siglen, &k.rsa,
						  sizeof(k.rsa), &rng);
		rc = rc == 0 ? blob_set(sig, buf, siglen) : -RPL_E_CRYPTO;
	}
	anykey_free(&k);
	wc_FreeRng(&rng);
	if (keytype == KEYTYPE_ECDSA_P256)
		drop_fp_tables();
	return rc;
}

int identity_verify(const uint8_t *cert, size_t cert_len, const void *msg, size_t len,
		    const uint8_t *sig, size_t sig_len)
{
	uint8_t spki[DER_MAX / 4];
	int spki_len = sizeof(spki), pktype, rc;
	word32 idx = 0;

	if ((rc = cert_spki(cert, cert_len, spki, &spki_len, &pktype)) < 0)
		return rc;
	if (pktype == ECDSAk) {
		ecc_key k;
		if (wc_ecc_init(&k) != 0)
			return -RPL_E_CRYPTO;
		rc = wc_EccPublicKeyDecode(spki, &idx, &k, (word32)spki_len);
		if (rc == 0)
			rc = wc_SignatureVerify(WC_HASH_TYPE_SHA256, WC_SIGNATURE_TYPE_ECC, msg,
						(word32)len, sig, (word32)sig_len, &k, sizeof(k));
		wc_ecc_free(&k);
		drop_fp_tables();
	} else if (pktype == RSAk) {
		RsaKey k;
		if (wc_InitRsaKey(&k, NULL) != 0)
			return -RPL_E_CRYPTO;
		rc = wc_RsaPublicKeyDecode(spki, &idx, &k, (word32)spki_len);
		if (rc == 0)
			rc = wc_SignatureVerify(WC_HASH_TYPE_SHA256, WC_SIGNATURE_TYPE_RSA_W_ENC,
						msg, (word32)len, sig, (word32)sig_len, &k,
						sizeof(k));
		wc_FreeRsaKey(&k);
	} else {
		return -RPL_E_CERT_SIG;
	}
	return rc == 0 ? 0 : -RPL_E_CERT_SIG;
}

int identity_verify_issued(const uint8_t *cert, size_t cert_len, const uint8_t *issuer,
			   size_t issuer_len)
{
	WOLFSSL_CERT_MANAGER *cm = wolfSSL_CertManagerNew();
	int rc;

	if (!cm)
		return -RPL_E_NOMEM;
	rc = wolfSSL_CertManagerLoadCABuffer(cm, issuer, (long)issuer_len, WOLFSSL_FILETYPE_ASN1);
	if (rc == WOLFSSL_SUCCESS)
		rc = wolfSSL_CertManagerVerifyBuffer(cm, cert, (long)cert_len,
						     WOLFSSL_FILETYPE_ASN1);
	wolfSSL_CertManagerFree(cm);
	return rc == WOLFSSL_SUCCESS ? 0 : -RPL_E_CERT_SIG;
}
