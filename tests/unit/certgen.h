/* Test-only certificate factory for the trust suites: ECDSA keys and X.509
 * v3 certificates with exactly the extensions, names and dates a test asks
 * for, signed by another test certificate or by themselves. Made with
 * wolfCrypt at test time (as peer/keys/identity.c does), so no private key
 * is committed. Not for production: no error recovery, ck_assert on any
 * failure. */
#ifndef RPL_TEST_CERTGEN_H
#define RPL_TEST_CERTGEN_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#define TC_DER_MAX 4096

struct tkey {
	ecc_key ecc;
	int inited;
};

struct tcert {
	uint8_t der[TC_DER_MAX];
	size_t len;
};

/* One subjectAltName entry: tag 0x82 (dNSName) with the bytes as given
 * (len 0: strlen), or 0x87 (iPAddress) from text. */
struct tc_gn {
	uint8_t tag;
	const char *val;
	int len;
};
#define TC_DNS(s) {0x82, (s), 0}
#define TC_IP(s) {0x87, (s), 0}

/* Zero means "no such extension" for every optional field. */
struct tc_spec {
	const char *cn;
	struct tc_gn san[6];
	int nsan;
	int ca;
	int pathlen_set, pathlen;
	int key_usage;     /* KEYUSE_* bits */
	int eku;           /* EXTKEYUSE_* bits */
	int64_t not_before, not_after;
	int sig_type;      /* CTC_SHA256wECDSA when 0 */
};

static WC_RNG tc_rng;
static int tc_rng_ready;

static WC_RNG *tc_rng_get(void)
{
	if (!tc_rng_ready) {
		ck_assert_int_eq(wc_InitRng(&tc_rng), 0);
		tc_rng_ready = 1;
	}
	return &tc_rng;
}

static void tk_new_curve(struct tkey *k, int curve, int size)
{
	memset(k, 0, sizeof(*k));
	ck_assert_int_eq(wc_ecc_init(&k->ecc), 0);
	ck_assert_int_eq(wc_ecc_make_key_ex(tc_rng_get(), size, &k->ecc, curve), 0);
	k->inited = 1;
}

static void tk_new(struct tkey *k) { tk_new_curve(k, ECC_SECP256R1, 32); }

static void tk_free(struct tkey *k)
{
	if (k->inited)
		wc_ecc_free(&k->ecc);
	k->inited = 0;
}

static int tc_time(int64_t t, uint8_t *out, int outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[20];
	int n;

	gmtime_r(&tt, &tm);
	if (tm.tm_year + 1900 < 2050) {
		n = snprintf(buf, sizeof(buf), "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		out[0] = 0x17;
	} else {
		n = (int)strftime(buf, sizeof(buf), "%Y%m%d%H%M%SZ", &tm);
		out[0] = 0x18;
	}
	ck_assert_int_lt(n + 2, outsz);
	out[1] = (uint8_t)n;
	memcpy(out + 2, buf, (size_t)n);
	return n + 2;
}

static int tc_san(const struct tc_spec *s, uint8_t *out, size_t outsz)
{
	uint8_t body[600];
	size_t blen = 0;

	for (int i = 0; i < s->nsan; i++) {
		const struct tc_gn *g = &s->san[i];
		uint8_t ip[16];
		const uint8_t *val = (const uint8_t *)g->val;
		size_t len = g->len ? (size_t)g->len : strlen(g->val);

		if (g->tag == 0x87) {
			if (inet_pton(AF_INET, g->val, ip) == 1)
				len = 4;
			else {
				ck_assert_int_eq(inet_pton(AF_INET6, g->val, ip), 1);
				len = 16;
			}
			val = ip;
		}
		ck_assert_uint_lt(len, 128);
		ck_assert_uint_lt(blen + 2 + len, sizeof(body));
		body[blen++] = g->tag;
		body[blen++] = (uint8_t)len;
		memcpy(body + blen, val, len);
		blen += len;
	}
	ck_assert_uint_lt(blen, 128);
	ck_assert_uint_lt(blen + 2, outsz);
	out[0] = 0x30;
	out[1] = (uint8_t)blen;
	memcpy(out + 2, body, blen);
	return (int)blen + 2;
}

/* Makes out for key k as spec says, signed by issuer_key and naming
 * issuer as its issuer (both NULL: self-signed). */
static void tc_make(struct tcert *out, struct tkey *k, const struct tc_spec *s,
		    const struct tcert *issuer, struct tkey *issuer_key)
{
	static Cert cert;
	uint8_t buf[TC_DER_MAX];
	int len;

	ck_assert_int_eq(wc_InitCert(&cert), 0);
	ck_assert_uint_lt(strlen(s->cn), sizeof(cert.subject.commonName));
	strcpy(cert.subject.commonName, s->cn);
	cert.sigType = s->sig_type ? s->sig_type : CTC_SHA256wECDSA;
	cert.serialSz = 16;
	ck_assert_int_eq(wc_RNG_GenerateBlock(tc_rng_get(), cert.serial, 16), 0);
	cert.serial[0] = (uint8_t)((cert.serial[0] & 0x3f) | 0x40);
	cert.beforeDateSz = tc_time(s->not_before, cert.beforeDate, sizeof(cert.beforeDate));
	cert.afterDateSz = tc_time(s->not_after, cert.afterDate, sizeof(cert.afterDate));
	cert.isCA = s->ca;
	if (s->pathlen_set) {
		cert.pathLen = (byte)s->pathlen;
		cert.pathLenSet = 1;
	}
	if (s->nsan)
		cert.altNamesSz = tc_san(s, cert.altNames, sizeof(cert.altNames));
	cert.keyUsage = (word16)s->key_usage;
	cert.extKeyUsage = (byte)s->eku;
	ck_assert_int_eq(wc_SetSubjectKeyIdFromPublicKey_ex(&cert, ECC_TYPE, &k->ecc), 0);
	if (issuer) {
		cert.selfSigned = 0;
		ck_assert_int_eq(wc_SetIssuerBuffer(&cert, issuer->der, (int)issuer->len), 0);
		ck_assert_int_eq(wc_SetAuthKeyIdFromCert(&cert, issuer->der, (int)issuer->len), 0);
	} else {
		cert.selfSigned = 1;
		issuer_key = k;
	}
	len = wc_MakeCert(&cert, buf, sizeof(buf), NULL, &k->ecc, tc_rng_get());
	ck_assert_int_gt(len, 0);
	len = wc_SignCert(cert.bodySz, cert.sigType, buf, sizeof(buf), NULL, &issuer_key->ecc,
			  tc_rng_get());
	ck_assert_int_gt(len, 0);
	memcpy(out->der, buf, (size_t)len);
	out->len = (size_t)len;
}

/* Specs most tests start from. */
#define TC_DAY 86400

static struct tc_spec tc_ca_spec(const char *cn, int64_t now)
{
	struct tc_spec s = {.cn = cn, .ca = 1, .key_usage = KEYUSE_KEY_CERT_SIGN | KEYUSE_CRL_SIGN,
			    .not_before = now - 30 * TC_DAY, .not_after = now + 3650 * TC_DAY};
	return s;
}

/* A leaf for server 'name' fit for both TLS roles, as a CA would issue it. */
static struct tc_spec tc_leaf_spec(const char *name, int64_t now)
{
	struct tc_spec s = {.cn = name, .nsan = 1, .key_usage = KEYUSE_DIGITAL_SIG,
			    .eku = EXTKEYUSE_SERVER_AUTH | EXTKEYUSE_CLIENT_AUTH,
			    .not_before = now - TC_DAY, .not_after = now + 365 * TC_DAY};
	s.san[0] = (struct tc_gn)TC_DNS(name);
	return s;
}

/* Writes a PEM copy to path (for looking at a certificate with openssl
 * while a test is written). */
static inline void tc_dump(const struct tcert *c, const char *path)
{
	uint8_t pem[TC_DER_MAX * 2];
	int n = wc_DerToPem(c->der, (word32)c->len, pem, sizeof(pem), CERT_TYPE);
	FILE *f = fopen(path, "w");
	if (f && n > 0)
		fwrite(pem, 1, (size_t)n, f);
	if (f)
		fclose(f);
}

#endif
