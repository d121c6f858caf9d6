/* peer/identity: key pairs, self-signed certificates, requests, decoding,
 * fingerprints and signatures; and instance_new_owncert following KEYTYPE
 * and CERTVALIDITYDAYS from replpeer.conf. */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "../../peer/keys/identity.h"
#include "../../peer/keys/instance.h"
#include "../../util/buf.h"
#include "../../util/conf.h"
#include "../../util/hex.h"
#include "../../util/msg.h"

#define DAY 86400

/* One ECDSA key and certificate shared by the core tests. */
static struct blob key, der;

static void make_ecdsa(void)
{
	ck_assert_int_eq(identity_keygen(KEYTYPE_ECDSA_P256, &key), 0);
	ck_assert_int_eq(
		identity_self_signed(KEYTYPE_ECDSA_P256, &key, "alpha", "127.0.0.1", 3650, &der),
		0);
}

static void free_ecdsa(void)
{
	blob_free(&key);
	blob_free(&der);
}

static int64_t now(void) { return (int64_t)time(NULL); }

START_TEST(self_signed_cert_names_the_server_and_its_address)
{
	struct certinfo ci;

	ck_assert_int_eq(identity_cert_info(der.p, der.n, &ci), 0);
	ck_assert_str_eq(ci.cn, "alpha");
	ck_assert_str_eq(ci.subject, "CN=alpha");
	ck_assert_str_eq(ci.issuer, "CN=alpha");
	ck_assert_int_eq(ci.self_issued, 1);
	ck_assert_int_eq(ci.is_ca, 0);
	ck_assert_ptr_nonnull(strstr(ci.sans, "DNS:alpha"));
	ck_assert_ptr_nonnull(strstr(ci.sans, "IP:127.0.0.1"));
}
END_TEST

START_TEST(self_signed_cert_has_sha256_ecdsa_p256_and_a_128_bit_serial)
{
	struct certinfo ci;

	ck_assert_int_eq(identity_cert_info(der.p, der.n, &ci), 0);
	ck_assert_str_eq(ci.key_type, "ECDSA-P256");
	ck_assert_str_eq(ci.sig_alg, "ecdsa-with-SHA256");
	/* 16 bytes, positive, no leading zero byte */
	ck_assert_uint_eq(strlen(ci.serial_hex), 32);
	ck_assert_msg(ci.serial_hex[0] >= '4' && ci.serial_hex[0] <= '7', "serial %s",
		      ci.serial_hex);
}
END_TEST

START_TEST(self_signed_cert_is_valid_from_now_for_the_given_days)
{
	struct certinfo ci;
	struct blob d30 = { 0 };

	ck_assert_int_eq(identity_cert_info(der.p, der.n, &ci), 0);
	ck_assert_int_le(ci.not_before, now());
	ck_assert_int_ge(ci.not_before, now() - 2 * DAY); /* back-dated for skew only */
	ck_assert_int_le(llabs(ci.not_after - (now() + 3650LL * DAY)), 300);

	ck_assert_int_eq(identity_self_signed(KEYTYPE_ECDSA_P256, &key, "alpha", NULL, 30, &d30),
			 0);
	ck_assert_int_eq(identity_cert_info(d30.p, d30.n, &ci), 0);
	ck_assert_int_le(llabs(ci.not_after - (now() + 30LL * DAY)), 300);
	blob_free(&d30);
}
END_TEST

START_TEST(fingerprint_is_sha256_of_the_der)
{
	struct certinfo ci;
	uint8_t want[32];
	char hex[65];

	ck_assert_int_eq(wc_Sha256Hash(der.p, (word32)der.n, want), 0);
	ck_assert_int_eq(identity_cert_info(der.p, der.n, &ci), 0);
	ck_assert_mem_eq(ci.fp, want, 32);
	hex_encode(want, 32, hex);
	ck_assert_str_eq(ci.fp_hex, hex);
	for (const char *p = ci.fp_hex; *p; p++)
		ck_assert_msg((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'),
			      "fingerprint %s is not lowercase hex", ci.fp_hex);
	memset(want, 0, sizeof(want));
	ck_assert_int_eq(identity_fingerprint(der.p, der.n, want), 0);
	ck_assert_mem_eq(ci.fp, want, 32);
}
END_TEST

START_TEST(two_certificates_get_different_serials_and_keys_differ)
{
	struct blob key2 = { 0 }, der2 = { 0 };
	struct certinfo a, b;

	ck_assert_int_eq(identity_self_signed(KEYTYPE_ECDSA_P256, &key, "alpha", NULL, 10, &der2),
			 0);
	ck_assert_int_eq(identity_cert_info(der.p, der.n, &a), 0);
	ck_assert_int_eq(identity_cert_info(der2.p, der2.n, &b), 0);
	ck_assert_str_ne(a.serial_hex, b.serial_hex);
	ck_assert_int_eq(identity_keygen(KEYTYPE_ECDSA_P256, &key2), 0);
	ck_assert_int_ne(key.n == key2.n && memcmp(key.p, key2.p, key.n) == 0, 1);
	blob_free(&key2);
	blob_free(&der2);
}
END_TEST

START_TEST(the_second_san_is_an_ip_entry_for_an_address_else_a_dns_name)
{
	struct blob d = { 0 };
	struct certinfo ci;

	/* A wildcard TCPADDRESS gives the host's name (peer/keys/instance). */
	ck_assert_int_eq(
		identity_self_signed(KEYTYPE_ECDSA_P256, &key, "beta", "host.example", 10, &d), 0);
	ck_assert_int_eq(identity_cert_info(d.p, d.n, &ci), 0);
	ck_assert_ptr_nonnull(strstr(ci.sans, "DNS:beta"));
	ck_assert_ptr_nonnull(strstr(ci.sans, "DNS:host.example"));
	ck_assert_ptr_null(strstr(ci.sans, "IP:"));
	blob_free(&d);

	ck_assert_int_eq(identity_self_signed(KEYTYPE_ECDSA_P256, &key, "beta", "BETA", 10, &d), 0);
	ck_assert_int_eq(identity_cert_info(d.p, d.n, &ci), 0);
	ck_assert_str_eq(ci.sans, "DNS:beta");
	blob_free(&d);

	ck_assert_int_eq(identity_self_signed(KEYTYPE_ECDSA_P256, &key, "beta", NULL, 10, &d), 0);
	ck_assert_int_eq(identity_cert_info(d.p, d.n, &ci), 0);
	ck_assert_str_eq(ci.sans, "DNS:beta");
	blob_free(&d);

	ck_assert_int_eq(identity_self_signed(KEYTYPE_ECDSA_P256, &key, "beta", "::1", 10, &d), 0);
	ck_assert_int_eq(identity_cert_info(d.p, d.n, &ci), 0);
	ck_assert_ptr_nonnull(strstr(ci.sans, "DNS:beta"));
	ck_assert_ptr_nonnull(strstr(ci.sans, "IP:::1"));
	blob_free(&d);
}
END_TEST

START_TEST(key_matches_its_own_certificate_only)
{
	struct blob other = { 0 }, other_der = { 0 };

	ck_assert_int_eq(identity_key_matches(KEYTYPE_ECDSA_P256, &key, der.p, der.n), 1);
	ck_assert_int_eq(identity_keygen(KEYTYPE_ECDSA_P256, &other), 0);
	ck_assert_int_eq(identity_key_matches(KEYTYPE_ECDSA_P256, &other, der.p, der.n), 0);
	ck_assert_int_eq(identity_self_signed(KEYTYPE_ECDSA_P256, &other, "alpha", "127.0.0.1",
					      3650, &other_der),
			 0);
	ck_assert_int_eq(identity_key_matches(KEYTYPE_ECDSA_P256, &key, other_der.p, other_der.n),
			 0);
	ck_assert_int_eq(identity_key_matches(KEYTYPE_ECDSA_P256, &other, other_der.p, other_der.n),
			 1);
	/* Garbage is an error, not a match. */
	ck_assert_int_lt(identity_key_matches(KEYTYPE_ECDSA_P256, &key, (const uint8_t *)"junk", 4),
			 0);
	blob_free(&other);
	blob_free(&other_der);
}
END_TEST

START_TEST(signature_verifies_and_a_tampered_message_fails)
{
	static const char msg[] = "announce: next certificate fingerprint ...";
	struct blob sig = { 0 }, other = { 0 }, other_der = { 0 };
	uint8_t tampered[sizeof(msg)];

	ck_assert_int_eq(identity_sign(KEYTYPE_ECDSA_P256, &key, msg, sizeof(msg), &sig), 0);
	ck_assert_uint_gt(sig.n, 0);
	ck_assert_int_eq(identity_verify(der.p, der.n, msg, sizeof(msg), sig.p, sig.n), 0);

	memcpy(tampered, msg, sizeof(msg));
	tampered[3] ^= 1;
	ck_assert_int_eq(identity_verify(der.p, der.n, tampered, sizeof(msg), sig.p, sig.n),
			 -RPL_E_CERT_SIG);
	ck_assert_int_eq(identity_verify(der.p, der.n, msg, sizeof(msg) - 1, sig.p, sig.n),
			 -RPL_E_CERT_SIG);
	sig.p[sig.n - 1] ^= 1;
	ck_assert_int_eq(identity_verify(der.p, der.n, msg, sizeof(msg), sig.p, sig.n),
			 -RPL_E_CERT_SIG);
	sig.p[sig.n - 1] ^= 1;

	/* Another key's certificate does not verify it. */
	ck_assert_int_eq(identity_keygen(KEYTYPE_ECDSA_P256, &other), 0);
	ck_assert_int_eq(
		identity_self_signed(KEYTYPE_ECDSA_P256, &other, "alpha", NULL, 10, &other_der), 0);
	ck_assert_int_eq(identity_verify(other_der.p, other_der.n, msg, sizeof(msg), sig.p, sig.n),
			 -RPL_E_CERT_SIG);
	blob_free(&sig);
	blob_free(&other);
	blob_free(&other_der);
}
END_TEST

/* Parses a PKCS#10 request and checks its self-signature. */
static int parse_csr(const struct blob *csr, char *cn, size_t cnsz)
{
	DecodedCert dc;
	int rc;

	wc_InitDecodedCert(&dc, csr->p, (word32)csr->n, NULL);
	rc = wc_ParseCert(&dc, CERTREQ_TYPE, VERIFY, NULL);
	if (rc == 0)
		snprintf(cn, cnsz, "%.*s", dc.subjectCNLen, dc.subjectCN);
	wc_FreeDecodedCert(&dc);
	return rc;
}

START_TEST(csr_der_parses_with_the_requested_cn)
{
	const char *sans[] = { "alpha.example.net", "192.0.2.7" };
	struct blob csr = { 0 };
	struct wbuf pem;
	char cn[65] = "";

	ck_assert_int_eq(identity_csr(KEYTYPE_ECDSA_P256, &key, "alpha.example.net", sans, 2, &csr),
			 0);
	ck_assert_int_eq(parse_csr(&csr, cn, sizeof(cn)), 0);
	ck_assert_str_eq(cn, "alpha.example.net");
	/* A changed byte breaks its signature or its encoding. */
	csr.p[csr.n / 2] ^= 0x10;
	ck_assert_int_ne(parse_csr(&csr, cn, sizeof(cn)), 0);
	csr.p[csr.n / 2] ^= 0x10;

	wbuf_init(&pem);
	ck_assert_int_eq(identity_pem_encode(csr.p, csr.n, PEM_CSR, &pem), 0);
	ck_assert_uint_gt(pem.len, 36);
	ck_assert_mem_eq(pem.p, "-----BEGIN CERTIFICATE REQUEST-----", 35);
	wbuf_free(&pem);
	blob_free(&csr);

	/* Without names the CN is the only SAN. */
	ck_assert_int_eq(identity_csr(KEYTYPE_ECDSA_P256, &key, "alpha", NULL, 0, &csr), 0);
	ck_assert_int_eq(parse_csr(&csr, cn, sizeof(cn)), 0);
	ck_assert_str_eq(cn, "alpha");
	blob_free(&csr);
}
END_TEST

START_TEST(pem_and_der_decode_to_the_same_certificate)
{
	struct wbuf pem;
	struct blob a = { 0 }, b = { 0 };

	wbuf_init(&pem);
	ck_assert_int_eq(identity_pem_encode(der.p, der.n, PEM_CERT, &pem), 0);
	ck_assert_mem_eq(pem.p, "-----BEGIN CERTIFICATE-----", 27);
	ck_assert_int_eq(identity_cert_decode(pem.p, pem.len, &a), 0);
	ck_assert_int_eq(identity_cert_decode(der.p, der.n, &b), 0);
	ck_assert_uint_eq(a.n, der.n);
	ck_assert_mem_eq(a.p, der.p, der.n);
	ck_assert_uint_eq(b.n, der.n);
	ck_assert_mem_eq(b.p, der.p, der.n);
	wbuf_free(&pem);
	blob_free(&a);
	blob_free(&b);
}
END_TEST

START_TEST(cert_decode_rejects_truncated_der)
{
	struct blob out = { 0 };
	int accepted = 0;

	/* Every prefix: none is a certificate. */
	for (size_t n = 0; n < der.n; n++)
		if (identity_cert_decode(der.p, n, &out) == 0) {
			accepted++;
			blob_free(&out);
		}
	ck_assert_msg(accepted == 0, "%d truncations accepted", accepted);
	ck_assert_int_eq(identity_cert_decode(der.p, der.n - 1, &out), -RPL_E_CERT_PARSE);
	ck_assert_ptr_null(out.p);
}
END_TEST

START_TEST(cert_decode_rejects_garbage_pem)
{
	static const char *bad[] = {
		"-----BEGIN CERTIFICATE-----\nthis is not base64 !!!\n-----END CERTIFICATE-----\n",
		/* valid base64 of text that is not DER */
		"-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQsIHRoaXMgaXMgbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
		"-----BEGIN CERTIFICATE-----\nMIIB\n",
		"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n",
		"-----BEGIN",
		"plain text, neither PEM nor DER",
	};
	struct blob out = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(identity_cert_decode((const uint8_t *)bad[i], strlen(bad[i]), &out) ==
				      -RPL_E_CERT_PARSE,
			      "accepted: %s", bad[i]);
		ck_assert_ptr_null(out.p);
	}
}
END_TEST

START_TEST(cert_decode_rejects_a_pem_with_a_damaged_body)
{
	struct wbuf pem;
	struct blob out = { 0 };
	char *mid;

	wbuf_init(&pem);
	ck_assert_int_eq(identity_pem_encode(der.p, der.n, PEM_CERT, &pem), 0);
	/* Cut the PEM in the middle of the base64 body. */
	mid = (char *)pem.p + pem.len / 2;
	ck_assert_int_eq(identity_cert_decode(pem.p, (size_t)(mid - (char *)pem.p), &out),
			 -RPL_E_CERT_PARSE);
	wbuf_free(&pem);
	ck_assert_int_eq(identity_cert_decode((const uint8_t *)"", 0, &out), -RPL_E_CERT_PARSE);
	ck_assert_ptr_null(out.p);
}
END_TEST

START_TEST(cert_decode_rejects_a_certificate_request)
{
	struct blob csr = { 0 }, out = { 0 };
	struct wbuf pem;

	ck_assert_int_eq(identity_csr(KEYTYPE_ECDSA_P256, &key, "alpha", NULL, 0, &csr), 0);
	ck_assert_int_eq(identity_cert_decode(csr.p, csr.n, &out), -RPL_E_CERT_PARSE);
	wbuf_init(&pem);
	ck_assert_int_eq(identity_pem_encode(csr.p, csr.n, PEM_CSR, &pem), 0);
	ck_assert_int_eq(identity_cert_decode(pem.p, pem.len, &out), -RPL_E_CERT_PARSE);
	ck_assert_ptr_null(out.p);
	wbuf_free(&pem);
	blob_free(&csr);
}
END_TEST

START_TEST(cert_info_rejects_what_is_not_a_certificate)
{
	struct certinfo ci;
	struct blob csr = { 0 };

	ck_assert_int_eq(identity_cert_info((const uint8_t *)"garbage", 7, &ci), -RPL_E_CERT_PARSE);
	ck_assert_int_eq(identity_cert_info(der.p, der.n / 2, &ci), -RPL_E_CERT_PARSE);
	ck_assert_int_eq(identity_csr(KEYTYPE_ECDSA_P256, &key, "alpha", NULL, 0, &csr), 0);
	ck_assert_int_eq(identity_cert_info(csr.p, csr.n, &ci), -RPL_E_CERT_PARSE);
	blob_free(&csr);
}
END_TEST

START_TEST(a_self_signed_cert_is_not_issued_by_another)
{
	struct blob other = { 0 }, other_der = { 0 };

	ck_assert_int_eq(identity_keygen(KEYTYPE_ECDSA_P256, &other), 0);
	ck_assert_int_eq(
		identity_self_signed(KEYTYPE_ECDSA_P256, &other, "alpha", NULL, 10, &other_der), 0);
	ck_assert_int_eq(identity_verify_issued(der.p, der.n, other_der.p, other_der.n),
			 -RPL_E_CERT_SIG);
	blob_free(&other);
	blob_free(&other_der);
}
END_TEST

/* RSA: slower key generation, own test case with a longer timeout. */
static void check_rsa(int keytype, const char *name)
{
	static const char msg[] = "message";
	struct blob k = { 0 }, d = { 0 }, sig = { 0 }, csr = { 0 };
	struct certinfo ci;
	char cn[65];

	ck_assert_int_eq(identity_keygen(keytype, &k), 0);
	ck_assert_int_eq(identity_self_signed(keytype, &k, "gamma", "10.1.2.3", 3650, &d), 0);
	ck_assert_int_eq(identity_cert_info(d.p, d.n, &ci), 0);
	ck_assert_str_eq(ci.key_type, name);
	ck_assert_str_eq(ci.sig_alg, "sha256WithRSAEncryption");
	ck_assert_str_eq(ci.cn, "gamma");
	ck_assert_ptr_nonnull(strstr(ci.sans, "IP:10.1.2.3"));
	ck_assert_uint_eq(strlen(ci.serial_hex), 32);
	ck_assert_int_le(llabs(ci.not_after - (now() + 3650LL * DAY)), 300);
	ck_assert_int_eq(identity_key_matches(keytype, &k, d.p, d.n), 1);
	ck_assert_int_eq(identity_key_matches(KEYTYPE_ECDSA_P256, &key, d.p, d.n) == 1, 0);
	ck_assert_int_eq(identity_sign(keytype, &k, msg, sizeof(msg), &sig), 0);
	ck_assert_int_eq(identity_verify(d.p, d.n, msg, sizeof(msg), sig.p, sig.n), 0);
	ck_assert_int_eq(identity_verify(d.p, d.n, "messagf", sizeof(msg), sig.p, sig.n),
			 -RPL_E_CERT_SIG);
	ck_assert_int_eq(identity_verify(der.p, der.n, msg, sizeof(msg), sig.p, sig.n),
			 -RPL_E_CERT_SIG);
	ck_assert_int_eq(identity_csr(keytype, &k, "gamma", NULL, 0, &csr), 0);
	ck_assert_int_eq(parse_csr(&csr, cn, sizeof(cn)), 0);
	ck_assert_str_eq(cn, "gamma");
	blob_free(&k);
	blob_free(&d);
	blob_free(&sig);
	blob_free(&csr);
}

START_TEST(rsa_2048_cert_has_sha256_rsa_signature) { check_rsa(KEYTYPE_RSA_2048, "RSA-2048"); }
END_TEST

START_TEST(rsa_3072_cert_has_sha256_rsa_signature) { check_rsa(KEYTYPE_RSA_3072, "RSA-3072"); }
END_TEST

/* The instance level: KEYTYPE and CERTVALIDITYDAYS of replpeer.conf decide
 * what instance_new_owncert makes. */
static char tmpdir[64];

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb, (void)flag, (void)f;
	return remove(p);
}

static void inst_setup(void)
{
	strcpy(tmpdir, "/tmp/rpl-test-identity.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void inst_teardown(void) { nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS); }

START_TEST(new_owncert_follows_keytype_and_validity_from_the_conf)
{
	char dir[128], conf[160], err[256] = "", label[OWN_LABEL_MAX + 1];
	struct instance in;
	struct own_identity own;
	struct certinfo ci;
	MDB_txn *txn;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/inst", tmpdir);
	ck_assert_msg(instance_create(dir, "delta", 1600, "127.0.0.1", "password-123", err,
				      sizeof(err)) == 0,
		      "%s", err);
	snprintf(conf, sizeof(conf), "%s/replpeer.conf", dir);
	f = fopen(conf, "a");
	ck_assert_ptr_nonnull(f);
	fputs("KEYTYPE RSA-2048\nCERTVALIDITYDAYS 90\n", f);
	fclose(f);
	ck_assert_msg(instance_open(&in, dir, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(in.conf.keytype, KEYTYPE_RSA_2048);
	ck_assert_int_eq(instance_new_owncert(&in, OWN_NEXT, label, sizeof(label)), 0);

	ck_assert_int_eq(store_begin(&in.store, 0, &txn), 0);
	ck_assert_int_eq(instance_own(&in, txn, OWN_NEXT, &own), 0);
	ck_assert_str_eq(own.label, label);
	ck_assert_int_eq(own.keytype, KEYTYPE_RSA_2048);
	ck_assert_int_eq(identity_cert_info(own.der.p, own.der.n, &ci), 0);
	ck_assert_str_eq(ci.key_type, "RSA-2048");
	ck_assert_str_eq(ci.cn, "delta");
	ck_assert_int_le(llabs(ci.not_after - (now() + 90LL * DAY)), 300);
	ck_assert_int_eq(identity_key_matches(own.keytype, &own.key, own.der.p, own.der.n), 1);
	own_free(&own);
	/* The current one, made by init, is still the default type. */
	ck_assert_int_eq(instance_own(&in, txn, OWN_CURRENT, &own), 0);
	ck_assert_int_eq(own.keytype, KEYTYPE_ECDSA_P256);
	ck_assert_int_eq(identity_cert_info(own.der.p, own.der.n, &ci), 0);
	ck_assert_str_eq(ci.key_type, "ECDSA-P256");
	ck_assert_int_le(llabs(ci.not_after - (now() + 3650LL * DAY)), 300);
	own_free(&own);
	store_abort(txn);
	instance_close(&in);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("ecdsa");
	TCase *rsa = tcase_create("rsa");
	TCase *inst = tcase_create("instance");

	tcase_add_checked_fixture(tc, make_ecdsa, free_ecdsa);
	tcase_add_test(tc, self_signed_cert_names_the_server_and_its_address);
	tcase_add_test(tc, self_signed_cert_has_sha256_ecdsa_p256_and_a_128_bit_serial);
	tcase_add_test(tc, self_signed_cert_is_valid_from_now_for_the_given_days);
	tcase_add_test(tc, fingerprint_is_sha256_of_the_der);
	tcase_add_test(tc, two_certificates_get_different_serials_and_keys_differ);
	tcase_add_test(tc, the_second_san_is_an_ip_entry_for_an_address_else_a_dns_name);
	tcase_add_test(tc, key_matches_its_own_certificate_only);
	tcase_add_test(tc, signature_verifies_and_a_tampered_message_fails);
	tcase_add_test(tc, csr_der_parses_with_the_requested_cn);
	tcase_add_test(tc, pem_and_der_decode_to_the_same_certificate);
	tcase_add_test(tc, cert_decode_rejects_truncated_der);
	tcase_add_test(tc, cert_decode_rejects_garbage_pem);
	tcase_add_test(tc, cert_decode_rejects_a_pem_with_a_damaged_body);
	tcase_add_test(tc, cert_decode_rejects_a_certificate_request);
	tcase_add_test(tc, cert_info_rejects_what_is_not_a_certificate);
	tcase_add_test(tc, a_self_signed_cert_is_not_issued_by_another);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(rsa, make_ecdsa, free_ecdsa);
	tcase_set_timeout(rsa, 120);
	tcase_add_test(rsa, rsa_2048_cert_has_sha256_rsa_signature);
	tcase_add_test(rsa, rsa_3072_cert_has_sha256_rsa_signature);
	suite_add_tcase(s, rsa);

	tcase_add_checked_fixture(inst, inst_setup, inst_teardown);
	tcase_set_timeout(inst, 120);
	tcase_add_test(inst, new_owncert_follows_keytype_and_validity_from_the_conf);
	suite_add_tcase(s, inst);
	return s;
}

#include "unit.h"
