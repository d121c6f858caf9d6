/* peer/vault: master.key handling and purpose-bound AEAD sealing. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../peer/keys/vault.h"
#include "../../util/buf.h"
#include "../../util/msg.h"

static char tmpdir[64];
static char keypath[128];

static void setup(void)
{
	strcpy(tmpdir, "/tmp/rpl-test-vault.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(keypath, sizeof(keypath), "%s/master.key", tmpdir);
}

static void teardown(void)
{
	unlink(keypath);
	rmdir(tmpdir);
}

/* A vault with a fixed key, no file. */
static void fixed_vault(struct vault *v, uint8_t fill)
{
	memset(v, 0, sizeof(*v));
	memset(v->key, fill, sizeof(v->key));
	v->loaded = 1;
}

static const char secret[] = "the partner's server password";

START_TEST(seal_then_unseal_returns_the_plaintext)
{
	struct vault v;
	struct wbuf sealed, plain;

	fixed_vault(&v, 0x11);
	wbuf_init(&sealed);
	wbuf_init(&plain);
	ck_assert_int_eq(vault_seal(&v, "purpose-a", secret, sizeof(secret), &sealed), 0);
	/* version, 12-byte nonce, ciphertext, 16-byte tag */
	ck_assert_uint_eq(sealed.len, 1 + 12 + sizeof(secret) + 16);
	ck_assert_ptr_null(memmem(sealed.p, sealed.len, secret, 8));
	ck_assert_int_eq(vault_unseal(&v, "purpose-a", sealed.p, sealed.len, &plain), 0);
	ck_assert_uint_eq(plain.len, sizeof(secret));
	ck_assert_mem_eq(plain.p, secret, sizeof(secret));
	wbuf_free(&sealed);
	wbuf_free(&plain);
}
END_TEST

START_TEST(unseal_appends_to_what_the_buffer_holds)
{
	struct vault v;
	struct wbuf sealed, plain;

	fixed_vault(&v, 0x12);
	wbuf_init(&sealed);
	wbuf_init(&plain);
	wbuf_put(&plain, "prefix:", 7);
	ck_assert_int_eq(vault_seal(&v, "p", "abc", 3, &sealed), 0);
	ck_assert_int_eq(vault_unseal(&v, "p", sealed.p, sealed.len, &plain), 0);
	ck_assert_uint_eq(plain.len, 10);
	ck_assert_mem_eq(plain.p, "prefix:abc", 10);
	wbuf_free(&sealed);
	wbuf_free(&plain);
}
END_TEST

START_TEST(empty_plaintext_round_trips)
{
	struct vault v;
	struct wbuf sealed, plain;

	fixed_vault(&v, 0x13);
	wbuf_init(&sealed);
	wbuf_init(&plain);
	ck_assert_int_eq(vault_seal(&v, "p", "", 0, &sealed), 0);
	ck_assert_uint_eq(sealed.len, 1 + 12 + 16);
	ck_assert_int_eq(vault_unseal(&v, "p", sealed.p, sealed.len, &plain), 0);
	ck_assert_uint_eq(plain.len, 0);
	ck_assert_int_eq(vault_unseal(&v, "q", sealed.p, sealed.len, &plain), -RPL_E_UNSEAL);
	wbuf_free(&sealed);
	wbuf_free(&plain);
}
END_TEST

START_TEST(sealing_twice_gives_different_ciphertexts)
{
	struct vault v;
	struct wbuf a, b;

	fixed_vault(&v, 0x14);
	wbuf_init(&a);
	wbuf_init(&b);
	ck_assert_int_eq(vault_seal(&v, "p", secret, sizeof(secret), &a), 0);
	ck_assert_int_eq(vault_seal(&v, "p", secret, sizeof(secret), &b), 0);
	ck_assert_uint_eq(a.len, b.len);
	/* fresh nonce each time */
	ck_assert_int_ne(memcmp(a.p + 1, b.p + 1, 12), 0);
	ck_assert_int_ne(memcmp(a.p, b.p, a.len), 0);
	wbuf_free(&a);
	wbuf_free(&b);
}
END_TEST

START_TEST(unseal_with_wrong_purpose_fails)
{
	static const char *others[] = { "purpose-b", "purpose-", "purpose-aa", "PURPOSE-A", "" };
	struct vault v;
	struct wbuf sealed, plain;

	fixed_vault(&v, 0x21);
	wbuf_init(&sealed);
	wbuf_init(&plain);
	ck_assert_int_eq(vault_seal(&v, "purpose-a", secret, sizeof(secret), &sealed), 0);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		ck_assert_msg(vault_unseal(&v, others[i], sealed.p, sealed.len, &plain) ==
				      -RPL_E_UNSEAL,
			      "opened with purpose '%s'", others[i]);
		ck_assert_uint_eq(plain.len, 0);
	}
	wbuf_free(&sealed);
	wbuf_free(&plain);
}
END_TEST

START_TEST(unseal_of_a_tampered_byte_fails)
{
	struct vault v;
	struct wbuf sealed, plain;

	fixed_vault(&v, 0x31);
	wbuf_init(&sealed);
	wbuf_init(&plain);
	ck_assert_int_eq(vault_seal(&v, "p", secret, sizeof(secret), &sealed), 0);
	/* Every byte: version, nonce, ciphertext and tag. */
	for (size_t i = 0; i < sealed.len; i++) {
		sealed.p[i] ^= 0x01;
		ck_assert_msg(vault_unseal(&v, "p", sealed.p, sealed.len, &plain) == -RPL_E_UNSEAL,
			      "byte %zu flipped and still opened", i);
		ck_assert_uint_eq(plain.len, 0);
		sealed.p[i] ^= 0x01;
	}
	ck_assert_int_eq(vault_unseal(&v, "p", sealed.p, sealed.len, &plain), 0);
	wbuf_free(&sealed);
	wbuf_free(&plain);
}
END_TEST

START_TEST(unseal_of_a_truncated_or_extended_value_fails)
{
	struct vault v;
	struct wbuf sealed, plain;

	fixed_vault(&v, 0x32);
	wbuf_init(&sealed);
	wbuf_init(&plain);
	ck_assert_int_eq(vault_seal(&v, "p", secret, sizeof(secret), &sealed), 0);
	for (size_t n = 0; n < sealed.len; n++)
		ck_assert_msg(vault_unseal(&v, "p", sealed.p, n, &plain) == -RPL_E_UNSEAL,
			      "opened %zu of %zu bytes", n, sealed.len);
	wbuf_put_u8(&sealed, 0);
	ck_assert_int_eq(vault_unseal(&v, "p", sealed.p, sealed.len, &plain), -RPL_E_UNSEAL);
	ck_assert_uint_eq(plain.len, 0);
	wbuf_free(&sealed);
	wbuf_free(&plain);
}
END_TEST

START_TEST(unseal_with_wrong_key_fails)
{
	struct vault v, other;
	struct wbuf sealed, plain;

	fixed_vault(&v, 0x41);
	fixed_vault(&other, 0x41);
	other.key[31] ^= 0x80; /* one bit */
	wbuf_init(&sealed);
	wbuf_init(&plain);
	ck_assert_int_eq(vault_seal(&v, "p", secret, sizeof(secret), &sealed), 0);
	ck_assert_int_eq(vault_unseal(&other, "p", sealed.p, sealed.len, &plain), -RPL_E_UNSEAL);
	ck_assert_uint_eq(plain.len, 0);
	ck_assert_int_eq(vault_unseal(&v, "p", sealed.p, sealed.len, &plain), 0);
	wbuf_free(&sealed);
	wbuf_free(&plain);
}
END_TEST

START_TEST(an_unloaded_vault_refuses_to_seal_or_unseal)
{
	struct vault v, empty;
	struct wbuf sealed, plain;

	fixed_vault(&v, 0x51);
	memset(&empty, 0, sizeof(empty));
	wbuf_init(&sealed);
	wbuf_init(&plain);
	ck_assert_int_eq(vault_seal(&empty, "p", "x", 1, &sealed), -RPL_E_MASTERKEY);
	ck_assert_int_eq(vault_seal(&v, "p", "x", 1, &sealed), 0);
	vault_wipe(&v);
	ck_assert_int_eq(v.loaded, 0);
	ck_assert_int_eq(vault_unseal(&v, "p", sealed.p, sealed.len, &plain), -RPL_E_MASTERKEY);
	wbuf_free(&sealed);
	wbuf_free(&plain);
}
END_TEST

START_TEST(create_writes_a_private_32_byte_key_that_loads_back)
{
	struct vault v, w;
	struct wbuf sealed, plain;
	struct stat st;

	ck_assert_int_eq(vault_create(tmpdir, &v), 0);
	ck_assert_int_eq(stat(keypath, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_size, VAULT_KEY_LEN);
	ck_assert_int_eq(vault_load(tmpdir, &w), 0);
	ck_assert_int_eq(w.loaded, 1);
	ck_assert_mem_eq(v.key, w.key, VAULT_KEY_LEN);

	/* What one seals the other opens. */
	wbuf_init(&sealed);
	wbuf_init(&plain);
	ck_assert_int_eq(vault_seal(&v, "p", secret, sizeof(secret), &sealed), 0);
	ck_assert_int_eq(vault_unseal(&w, "p", sealed.p, sealed.len, &plain), 0);
	wbuf_free(&sealed);
	wbuf_free(&plain);
}
END_TEST

START_TEST(create_refuses_an_existing_key)
{
	struct vault v, w;

	ck_assert_int_eq(vault_create(tmpdir, &v), 0);
	ck_assert_int_eq(vault_create(tmpdir, &w), -RPL_E_EXISTS);
	ck_assert_int_eq(vault_load(tmpdir, &w), 0);
	ck_assert_mem_eq(v.key, w.key, VAULT_KEY_LEN); /* not overwritten */
}
END_TEST

START_TEST(two_created_keys_differ)
{
	struct vault v, w;
	char other[128];

	ck_assert_int_eq(vault_create(tmpdir, &v), 0);
	snprintf(other, sizeof(other), "%s/master.key", tmpdir);
	ck_assert_int_eq(unlink(other), 0);
	ck_assert_int_eq(vault_create(tmpdir, &w), 0);
	ck_assert_int_ne(memcmp(v.key, w.key, VAULT_KEY_LEN), 0);
}
END_TEST

START_TEST(load_refuses_a_key_readable_by_others)
{
	struct vault v, w;

	ck_assert_int_eq(vault_create(tmpdir, &v), 0);
	ck_assert_int_eq(chmod(keypath, 0640), 0);
	ck_assert_int_eq(vault_load(tmpdir, &w), -RPL_E_MASTERKEY);
	ck_assert_int_eq(w.loaded, 0);
	ck_assert_int_eq(chmod(keypath, 0604), 0);
	ck_assert_int_eq(vault_load(tmpdir, &w), -RPL_E_MASTERKEY);
	ck_assert_int_eq(chmod(keypath, 0400), 0);
	ck_assert_int_eq(vault_load(tmpdir, &w), 0);
}
END_TEST

START_TEST(load_refuses_a_key_of_the_wrong_size_or_a_missing_one)
{
	struct vault w;
	int fd;

	ck_assert_int_eq(vault_load(tmpdir, &w), -RPL_E_MASTERKEY);
	fd = open(keypath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "0123456789abcdef0123456789abcde", 31), 31);
	close(fd);
	ck_assert_int_eq(vault_load(tmpdir, &w), -RPL_E_MASTERKEY);
	fd = open(keypath, O_WRONLY | O_APPEND);
	ck_assert_int_eq(write(fd, "fg", 2), 2);
	close(fd);
	ck_assert_int_eq(vault_load(tmpdir, &w), -RPL_E_MASTERKEY);
}
END_TEST

START_TEST(aead_open_refuses_wrong_aad_and_short_input)
{
	uint8_t key[32], nonce[12] = { 1 }, ct[5 + 16], pt[5];

	memset(key, 7, sizeof(key));
	ck_assert_int_eq(aead_seal(key, nonce, "aad", 3, "hello", 5, ct), 0);
	ck_assert_int_eq(aead_open(key, nonce, "aad", 3, ct, sizeof(ct), pt), 0);
	ck_assert_mem_eq(pt, "hello", 5);
	ck_assert_int_eq(aead_open(key, nonce, "aae", 3, ct, sizeof(ct), pt), -RPL_E_UNSEAL);
	nonce[11] = 1;
	ck_assert_int_eq(aead_open(key, nonce, "aad", 3, ct, sizeof(ct), pt), -RPL_E_UNSEAL);
	ck_assert_int_eq(aead_open(key, nonce, "aad", 3, ct, 15, pt), -RPL_E_UNSEAL);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("vault");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, seal_then_unseal_returns_the_plaintext);
	tcase_add_test(tc, unseal_appends_to_what_the_buffer_holds);
	tcase_add_test(tc, empty_plaintext_round_trips);
	tcase_add_test(tc, sealing_twice_gives_different_ciphertexts);
	tcase_add_test(tc, unseal_with_wrong_purpose_fails);
	tcase_add_test(tc, unseal_of_a_tampered_byte_fails);
	tcase_add_test(tc, unseal_of_a_truncated_or_extended_value_fails);
	tcase_add_test(tc, unseal_with_wrong_key_fails);
	tcase_add_test(tc, an_unloaded_vault_refuses_to_seal_or_unseal);
	tcase_add_test(tc, create_writes_a_private_32_byte_key_that_loads_back);
	tcase_add_test(tc, create_refuses_an_existing_key);
	tcase_add_test(tc, two_created_keys_differ);
	tcase_add_test(tc, load_refuses_a_key_readable_by_others);
	tcase_add_test(tc, load_refuses_a_key_of_the_wrong_size_or_a_missing_one);
	tcase_add_test(tc, aead_open_refuses_wrong_aad_and_short_input);
	suite_add_tcase(s, tc);
	return s;
}

#include "unit.h"
