/* peer/keys/proof: what the binding tags, the pairing key and the
 * protocol-1 key and tags cover. Each input is changed on its own and must
 * change the output; fixed vectors (computed independently, with Python's
 * hmac/hashlib from the layout written next to them) fail the suite when
 * what is hashed changes by accident — a change on purpose needs a new
 * protocol revision and new vectors. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "../../peer/keys/proof.h"
#include "../../util/hex.h"
#include "../../util/msg.h"

/* ---- fixed inputs --------------------------------------------------------- */

static struct auth_key key;
static uint8_t exporter[32], client_fp[32], server_fp[32];

static void fill_inputs(void)
{
	for (int i = 0; i < 32; i++) {
		key.k[i] = (uint8_t)i;
		exporter[i] = (uint8_t)(0x40 + i);
		client_fp[i] = (uint8_t)(0x80 + i);
		server_fp[i] = (uint8_t)(0xc0 + i);
	}
}

static struct proof_binding base_binding(void)
{
	struct proof_binding b = {
		.exporter = exporter,
		.client_fp = client_fp,
		.server_fp = server_fp,
		.client_name = "alpha",
		.server_name = "Bravo",
		.method = 2,
		.purpose = 1,
		.version = 2,
	};
	return b;
}

static void tag_hex(const struct auth_key *k, int from_client, const struct proof_binding *b,
		    char out[2 * PROOF_TAG_LEN + 1])
{
	uint8_t t[PROOF_TAG_LEN];
	ck_assert_int_eq(proof_tag(k, from_client, b, t), 0);
	hex_encode(t, sizeof(t), out);
}

/* ---- binding tag ----------------------------------------------------------- */

/* HMAC-SHA256(key, "replpeer v2.2 client proof" NUL || exporter(32) ||
 * client_fp(32) || server_fp(32) || upper(client_name) NUL ||
 * upper(server_name) NUL || method || purpose || version), server side with
 * "replpeer v2.2 server proof" NUL. Key 00..1f, exporter 40..5f, client fp
 * 80..9f, server fp c0..df, names "alpha" and "Bravo", method 2, purpose 1,
 * version 2. */
START_TEST(binding_tag_matches_the_fixed_vector)
{
	struct proof_binding b = base_binding();
	char hex[2 * PROOF_TAG_LEN + 1];

	tag_hex(&key, 1, &b, hex);
	ck_assert_str_eq(hex, "79e67ca5d300815e594e4fac85338ceea864287b31f9a0ff183c4ce8ff15ac59");
	tag_hex(&key, 0, &b, hex);
	ck_assert_str_eq(hex, "0779e29c5a89fb6595a6c21fee819cd7a41a74d157d0b6ba6eeae74d2b5301b0");
}
END_TEST

START_TEST(binding_tag_changes_with_every_input)
{
	struct proof_binding base = base_binding(), b;
	char want[2 * PROOF_TAG_LEN + 1], got[2 * PROOF_TAG_LEN + 1];
	uint8_t exp2[32], cfp2[32], sfp2[32];
	struct auth_key key2 = key;

	tag_hex(&key, 1, &base, want);
	memcpy(exp2, exporter, 32);
	exp2[31] ^= 1;
	memcpy(cfp2, client_fp, 32);
	cfp2[0] ^= 0x80;
	memcpy(sfp2, server_fp, 32);
	sfp2[17] ^= 4;
	key2.k[5] ^= 1;

	/* Each case changes exactly one input. */
	b = base, b.exporter = exp2;
	tag_hex(&key, 1, &b, got);
	ck_assert_str_ne(got, want);
	b = base, b.client_fp = cfp2;
	tag_hex(&key, 1, &b, got);
	ck_assert_str_ne(got, want);
	b = base, b.server_fp = sfp2;
	tag_hex(&key, 1, &b, got);
	ck_assert_str_ne(got, want);
	b = base, b.client_name = "alpha2";
	tag_hex(&key, 1, &b, got);
	ck_assert_str_ne(got, want);
	b = base, b.server_name = "Bravo2";
	tag_hex(&key, 1, &b, got);
	ck_assert_str_ne(got, want);
	b = base, b.method = 1;
	tag_hex(&key, 1, &b, got);
	ck_assert_str_ne(got, want);
	b = base, b.purpose = 2;
	tag_hex(&key, 1, &b, got);
	ck_assert_str_ne(got, want);
	b = base, b.version = 3;
	tag_hex(&key, 1, &b, got);
	ck_assert_str_ne(got, want);
	tag_hex(&key, 0, &base, got); /* the side label */
	ck_assert_str_ne(got, want);
	tag_hex(&key2, 1, &base, got);
	ck_assert_str_ne(got, want);
}
END_TEST

/* A tag made for one direction never passes for the other: swapping the
 * certificates or the names is another tag. */
START_TEST(binding_tag_distinguishes_client_from_server_inputs)
{
	struct proof_binding base = base_binding(), b;
	char want[2 * PROOF_TAG_LEN + 1], got[2 * PROOF_TAG_LEN + 1];

	tag_hex(&key, 1, &base, want);
	b = base, b.client_fp = server_fp, b.server_fp = client_fp;
	tag_hex(&key, 1, &b, got);
	ck_assert_str_ne(got, want);
	b = base, b.client_name = "Bravo", b.server_name = "alpha";
	tag_hex(&key, 1, &b, got);
	ck_assert_str_ne(got, want);
}
END_TEST

START_TEST(binding_tag_compares_names_case_insensitively)
{
	struct proof_binding b = base_binding();
	char want[2 * PROOF_TAG_LEN + 1], got[2 * PROOF_TAG_LEN + 1];

	tag_hex(&key, 1, &b, want);
	b.client_name = "ALPHA";
	b.server_name = "bravo";
	tag_hex(&key, 1, &b, got);
	ck_assert_str_eq(got, want);
	b.client_name = "AlPhA";
	b.server_name = "BRAVO";
	tag_hex(&key, 1, &b, got);
	ck_assert_str_eq(got, want);
}
END_TEST

/* The names are NUL-terminated in what is hashed: moving the boundary
 * between them ("AB","C" against "A","BC") is another tag. */
START_TEST(binding_tag_separates_the_two_names)
{
	struct proof_binding b = base_binding();
	char t1[2 * PROOF_TAG_LEN + 1], t2[2 * PROOF_TAG_LEN + 1];

	b.client_name = "AB", b.server_name = "C";
	tag_hex(&key, 1, &b, t1);
	b.client_name = "A", b.server_name = "BC";
	tag_hex(&key, 1, &b, t2);
	ck_assert_str_ne(t1, t2);
}
END_TEST

START_TEST(binding_tag_needs_an_established_key)
{
	struct proof_binding b = base_binding();
	uint8_t t[PROOF_TAG_LEN];

	ck_assert_int_eq(proof_tag(NULL, 1, &b, t), -RPL_E_INTERNAL);
}
END_TEST

/* ---- pairing key -------------------------------------------------------------- */

static uint8_t srpK[64];

static void fill_K(void)
{
	for (int i = 0; i < 64; i++)
		srpK[i] = (uint8_t)(0x11 * i);
}

/* HKDF-SHA256(IKM = the SRP session keys (K1 || K2), salt = "replpeer
 * pairing v1", info = client_fp || server_fp, L = 32); K[i] = 0x11 * i
 * mod 256 for i in 0..63. */
START_TEST(pairing_key_matches_the_fixed_vector)
{
	struct auth_key k;
	char hex[2 * PROOF_KEY_LEN + 1];

	fill_K();
	ck_assert_int_eq(proof_pairing_from_srp(srpK, sizeof(srpK), client_fp, server_fp, &k), 0);
	hex_encode(k.k, PROOF_KEY_LEN, hex);
	ck_assert_str_eq(hex, "7a549f8f01b52b54897785742f2180cd427ccce02a1e4197dd861ac3b75b9cc5");
}
END_TEST

START_TEST(pairing_key_changes_with_each_input_and_the_direction)
{
	struct auth_key k0, k;
	uint8_t fp2[32];

	fill_K();
	ck_assert_int_eq(proof_pairing_from_srp(srpK, sizeof(srpK), client_fp, server_fp, &k0), 0);
	/* The certificates the other way round: the other direction's key. */
	ck_assert_int_eq(proof_pairing_from_srp(srpK, sizeof(srpK), server_fp, client_fp, &k), 0);
	ck_assert_mem_ne(k.k, k0.k, PROOF_KEY_LEN);
	memcpy(fp2, client_fp, 32);
	fp2[9] ^= 1;
	ck_assert_int_eq(proof_pairing_from_srp(srpK, sizeof(srpK), fp2, server_fp, &k), 0);
	ck_assert_mem_ne(k.k, k0.k, PROOF_KEY_LEN);
	memcpy(fp2, server_fp, 32);
	fp2[30] ^= 1;
	ck_assert_int_eq(proof_pairing_from_srp(srpK, sizeof(srpK), client_fp, fp2, &k), 0);
	ck_assert_mem_ne(k.k, k0.k, PROOF_KEY_LEN);
	/* Either SRP session key. */
	srpK[0] ^= 1;
	ck_assert_int_eq(proof_pairing_from_srp(srpK, sizeof(srpK), client_fp, server_fp, &k), 0);
	ck_assert_mem_ne(k.k, k0.k, PROOF_KEY_LEN);
	srpK[0] ^= 1;
	srpK[63] ^= 1;
	ck_assert_int_eq(proof_pairing_from_srp(srpK, sizeof(srpK), client_fp, server_fp, &k), 0);
	ck_assert_mem_ne(k.k, k0.k, PROOF_KEY_LEN);
	/* Only one of the two SRP keys is not the same secret. */
	ck_assert_int_eq(proof_pairing_from_srp(srpK, 32, client_fp, server_fp, &k), 0);
	ck_assert_mem_ne(k.k, k0.k, PROOF_KEY_LEN);
}
END_TEST

START_TEST(pairing_key_refuses_an_empty_srp_key)
{
	struct auth_key k;
	ck_assert_int_lt(proof_pairing_from_srp(NULL, 32, client_fp, server_fp, &k), 0);
	ck_assert_int_lt(proof_pairing_from_srp(srpK, 0, client_fp, server_fp, &k), 0);
}
END_TEST

START_TEST(stored_pairing_key_must_have_exactly_its_length)
{
	uint8_t raw[PROOF_KEY_LEN + 1] = { 1, 2, 3 };
	struct auth_key k;

	ck_assert_int_eq(proof_key_from(raw, PROOF_KEY_LEN, &k), 0);
	ck_assert_mem_eq(k.k, raw, PROOF_KEY_LEN);
	ck_assert_int_eq(proof_key_from(raw, PROOF_KEY_LEN - 1, &k), -RPL_E_UNSEAL);
	ck_assert_int_eq(proof_key_from(raw, PROOF_KEY_LEN + 1, &k), -RPL_E_UNSEAL);
	ck_assert_int_eq(proof_key_from(raw, 0, &k), -RPL_E_UNSEAL);
	proof_key_wipe(&k);
	for (int i = 0; i < PROOF_KEY_LEN; i++)
		ck_assert_uint_eq(k.k[i], 0);
}
END_TEST

/* ---- protocol 1 ------------------------------------------------------------------- */

static void legacy_key(const char *spw, const char *cpw, struct auth_key *k)
{
	ck_assert_int_eq(proof_legacy_key(spw, strlen(spw), cpw, strlen(cpw), k), 0);
}

/* SHA-256("replpeer rpl1 key v2" NUL || be32(len(server_pw)) || server_pw
 * || be32(len(client_pw)) || client_pw). */
START_TEST(legacy_key_matches_the_fixed_vector)
{
	struct auth_key k;
	char hex[2 * PROOF_KEY_LEN + 1];

	legacy_key("server-password", "client-password", &k);
	hex_encode(k.k, PROOF_KEY_LEN, hex);
	ck_assert_str_eq(hex, "b20ab1e6e9a9730b6301154f70d1c75915f8eb7ef279132a8daa13d359fa3300");
}
END_TEST

START_TEST(legacy_key_binds_both_passwords_and_their_split)
{
	struct auth_key k0, k;

	legacy_key("abcdefgh", "ijklmnop", &k0);
	legacy_key("abcdefgX", "ijklmnop", &k);
	ck_assert_mem_ne(k.k, k0.k, PROOF_KEY_LEN);
	legacy_key("abcdefgh", "ijklmnoX", &k);
	ck_assert_mem_ne(k.k, k0.k, PROOF_KEY_LEN);
	/* The same bytes split elsewhere between the two passwords. */
	legacy_key("abcdefghi", "jklmnop", &k);
	ck_assert_mem_ne(k.k, k0.k, PROOF_KEY_LEN);
	legacy_key("abcdefg", "hijklmnop", &k);
	ck_assert_mem_ne(k.k, k0.k, PROOF_KEY_LEN);
	legacy_key("", "abcdefghijklmnop", &k);
	ck_assert_mem_ne(k.k, k0.k, PROOF_KEY_LEN);
	/* The two passwords swapped. */
	legacy_key("ijklmnop", "abcdefgh", &k);
	ck_assert_mem_ne(k.k, k0.k, PROOF_KEY_LEN);
	/* Same inputs, same key. */
	legacy_key("abcdefgh", "ijklmnop", &k);
	ck_assert_mem_eq(k.k, k0.k, PROOF_KEY_LEN);
}
END_TEST

static uint8_t nonce_s[32], nonce_c[32];

static void legacy_tag_hex(const struct auth_key *k, int from_client, const uint8_t *ns,
			   const uint8_t *nc, const char *cn, const char *sn,
			   char out[2 * PROOF_TAG_LEN + 1])
{
	uint8_t t[PROOF_TAG_LEN];
	ck_assert_int_eq(proof_legacy_tag(k, from_client, ns, nc, cn, sn, t), 0);
	hex_encode(t, sizeof(t), out);
}

/* HMAC-SHA256(legacy key, "rpl1 client" NUL || nonce_s(32) || nonce_c(32)
 * || upper(client_name) NUL || upper(server_name) NUL), "rpl1 server" NUL
 * for the server; nonce_s 20..3f, nonce_c a0..bf, the key of the previous
 * vector. */
START_TEST(legacy_tag_matches_the_fixed_vector)
{
	struct auth_key k;
	char hex[2 * PROOF_TAG_LEN + 1];

	for (int i = 0; i < 32; i++) {
		nonce_s[i] = (uint8_t)(0x20 + i);
		nonce_c[i] = (uint8_t)(0xa0 + i);
	}
	legacy_key("server-password", "client-password", &k);
	legacy_tag_hex(&k, 1, nonce_s, nonce_c, "alpha", "Bravo", hex);
	ck_assert_str_eq(hex, "3bbe9f7d8a5f8c26b5fe57745ebb68db314b54a045a7925465d93a83043ca273");
	legacy_tag_hex(&k, 0, nonce_s, nonce_c, "alpha", "Bravo", hex);
	ck_assert_str_eq(hex, "1909845fed2e5311121872edd2ad54db913f11f28982d180b89daa0a8dbca870");
}
END_TEST

START_TEST(legacy_tag_changes_with_every_input)
{
	struct auth_key k, k2;
	char want[2 * PROOF_TAG_LEN + 1], got[2 * PROOF_TAG_LEN + 1];
	uint8_t ns2[32], nc2[32];

	for (int i = 0; i < 32; i++) {
		nonce_s[i] = (uint8_t)(0x20 + i);
		nonce_c[i] = (uint8_t)(0xa0 + i);
	}
	legacy_key("server-password", "client-password", &k);
	legacy_key("server-password", "client-passworX", &k2);
	memcpy(ns2, nonce_s, 32);
	ns2[3] ^= 1;
	memcpy(nc2, nonce_c, 32);
	nc2[28] ^= 1;
	legacy_tag_hex(&k, 1, nonce_s, nonce_c, "alpha", "Bravo", want);
	legacy_tag_hex(&k, 0, nonce_s, nonce_c, "alpha", "Bravo", got);
	ck_assert_str_ne(got, want);
	legacy_tag_hex(&k2, 1, nonce_s, nonce_c, "alpha", "Bravo", got);
	ck_assert_str_ne(got, want);
	legacy_tag_hex(&k, 1, ns2, nonce_c, "alpha", "Bravo", got);
	ck_assert_str_ne(got, want);
	legacy_tag_hex(&k, 1, nonce_s, nc2, "alpha", "Bravo", got);
	ck_assert_str_ne(got, want);
	legacy_tag_hex(&k, 1, nonce_c, nonce_s, "alpha", "Bravo", got); /* nonces swapped */
	ck_assert_str_ne(got, want);
	legacy_tag_hex(&k, 1, nonce_s, nonce_c, "alphb", "Bravo", got);
	ck_assert_str_ne(got, want);
	legacy_tag_hex(&k, 1, nonce_s, nonce_c, "alpha", "Bravp", got);
	ck_assert_str_ne(got, want);
	legacy_tag_hex(&k, 1, nonce_s, nonce_c, "Bravo", "alpha", got);
	ck_assert_str_ne(got, want);
	/* Names compare case-insensitively. */
	legacy_tag_hex(&k, 1, nonce_s, nonce_c, "ALPHA", "bravo", got);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(proof_legacy_tag(NULL, 1, nonce_s, nonce_c, "a", "b", (uint8_t[32]){ 0 }),
			 -RPL_E_INTERNAL);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("proof");
	TCase *tc = tcase_create("binding");

	tcase_add_checked_fixture(tc, fill_inputs, NULL);
	tcase_add_test(tc, binding_tag_matches_the_fixed_vector);
	tcase_add_test(tc, binding_tag_changes_with_every_input);
	tcase_add_test(tc, binding_tag_distinguishes_client_from_server_inputs);
	tcase_add_test(tc, binding_tag_compares_names_case_insensitively);
	tcase_add_test(tc, binding_tag_separates_the_two_names);
	tcase_add_test(tc, binding_tag_needs_an_established_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("pairing");
	tcase_add_checked_fixture(tc, fill_inputs, NULL);
	tcase_add_test(tc, pairing_key_matches_the_fixed_vector);
	tcase_add_test(tc, pairing_key_changes_with_each_input_and_the_direction);
	tcase_add_test(tc, pairing_key_refuses_an_empty_srp_key);
	tcase_add_test(tc, stored_pairing_key_must_have_exactly_its_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("legacy");
	tcase_add_test(tc, legacy_key_matches_the_fixed_vector);
	tcase_add_test(tc, legacy_key_binds_both_passwords_and_their_split);
	tcase_add_test(tc, legacy_tag_matches_the_fixed_vector);
	tcase_add_test(tc, legacy_tag_changes_with_every_input);
	suite_add_tcase(s, tc);
	return s;
}

#include "unit.h"
