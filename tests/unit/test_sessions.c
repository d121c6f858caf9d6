/* Unit tests of the session building blocks that need no network: the SRP
 * password proof, the per-address rate limit and the admin tokenizer. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "../../peer/admit.h"
#include "../../peer/ratelimit.h"
#include "../../peer/keys/srp.h"
#include "../../sync/admin.h"
#include "../../util/msg.h"

/* Runs one SRP exchange; returns the server's verdict on the client proof,
 * and on success whether the client accepts the server's proof and whether
 * both derived the same key. */
static int srp_exchange(const char *enrolled, const char *tried, int *client_ok, int *same_key)
{
	uint8_t salt[SRP_SALT_LEN], Kc[SRP_KEY_MAX], Ks[SRP_KEY_MAX];
	size_t Kc_len = 0, Ks_len = 0;
	struct blob v = { 0 }, B = { 0 }, A = { 0 }, M1 = { 0 }, M2 = { 0 };
	struct srp_ctx *srv = NULL, *cli = NULL;
	int rc;

	ck_assert_int_eq(srp_make_verifier(enrolled, salt, &v), 0);
	ck_assert_int_eq(srp_server_start(&srv, salt, sizeof(salt), v.p, v.n, &B), 0);
	ck_assert_int_eq(
		srp_client_start(&cli, tried, salt, sizeof(salt), B.p, B.n, &A, &M1, Kc, &Kc_len),
		0);
	rc = srp_server_finish(srv, A.p, A.n, M1.p, M1.n, &M2, Ks, &Ks_len);
	*client_ok = rc == 0 && srp_client_finish(cli, M2.p, M2.n) == 0;
	*same_key = rc == 0 && Kc_len == Ks_len && memcmp(Kc, Ks, Kc_len) == 0;
	srp_free(srv);
	srp_free(cli);
	blob_free(&v);
	blob_free(&B);
	blob_free(&A);
	blob_free(&M1);
	blob_free(&M2);
	return rc;
}

START_TEST(srp_right_password_gives_both_proofs_and_one_key)
{
	int client_ok, same;
	ck_assert_int_eq(srp_exchange("correct horse", "correct horse", &client_ok, &same), 0);
	ck_assert(client_ok);
	ck_assert(same);
}
END_TEST

START_TEST(srp_wrong_password_is_refused_by_the_server)
{
	int client_ok, same;
	ck_assert_int_eq(srp_exchange("correct horse", "correct horsE", &client_ok, &same),
			 -RPL_E_AUTH_FAILED);
	ck_assert(!client_ok);
}
END_TEST

START_TEST(srp_client_refuses_a_server_without_the_verifier)
{
	/* A fake server that never enrolled the password answers with its own
	 * verifier: the client must not accept its proof. */
	uint8_t salt[SRP_SALT_LEN], salt2[SRP_SALT_LEN], K[SRP_KEY_MAX], Ks[SRP_KEY_MAX];
	size_t K_len, Ks_len;
	struct blob v = { 0 }, B = { 0 }, A = { 0 }, M1 = { 0 }, M2 = { 0 };
	struct srp_ctx *srv = NULL, *cli = NULL;

	ck_assert_int_eq(srp_make_verifier("attacker guess", salt2, &v), 0);
	memcpy(salt, salt2, sizeof(salt));
	ck_assert_int_eq(srp_server_start(&srv, salt, sizeof(salt), v.p, v.n, &B), 0);
	ck_assert_int_eq(srp_client_start(&cli, "real password", salt, sizeof(salt), B.p, B.n, &A,
					  &M1, K, &K_len),
			 0);
	/* The fake server cannot verify M1 and has no valid M2 to give. */
	ck_assert_int_eq(srp_server_finish(srv, A.p, A.n, M1.p, M1.n, &M2, Ks, &Ks_len),
			 -RPL_E_AUTH_FAILED);
	ck_assert_int_ne(srp_client_finish(cli, M1.p, M1.n), 0);
	srp_free(srv);
	srp_free(cli);
	blob_free(&v);
	blob_free(&B);
	blob_free(&A);
	blob_free(&M1);
	blob_free(&M2);
}
END_TEST

START_TEST(srp_rejects_a_zero_public_value)
{
	uint8_t salt[SRP_SALT_LEN], K[SRP_KEY_MAX], zero[256] = { 0 };
	size_t K_len;
	struct blob v = { 0 }, A = { 0 }, M1 = { 0 };
	struct srp_ctx *cli = NULL;

	ck_assert_int_eq(srp_make_verifier("password1", salt, &v), 0);
	ck_assert_int_ne(srp_client_start(&cli, "password1", salt, sizeof(salt), zero, sizeof(zero),
					  &A, &M1, K, &K_len),
			 0);
	ck_assert_ptr_null(cli);
	blob_free(&v);
}
END_TEST

START_TEST(ratelimit_blocks_the_sixth_attempt_within_a_minute)
{
	static struct ratelimit rl;
	memset(&rl, 0, sizeof(rl));
	for (int i = 0; i < RL_MAX_FAILS; i++) {
		ck_assert(!rl_blocked(&rl, "10.0.0.1", 1000 + i));
		rl_fail(&rl, "10.0.0.1", 1000 + i);
	}
	ck_assert(rl_blocked(&rl, "10.0.0.1", 1010));
	ck_assert(!rl_blocked(&rl, "10.0.0.2", 1010));                 /* per address */
	ck_assert(!rl_blocked(&rl, "10.0.0.1", 1000 + RL_WINDOW + 1)); /* window passes */
}
END_TEST

START_TEST(ratelimit_memory_stays_bounded)
{
	static struct ratelimit rl;
	char addr[32];
	memset(&rl, 0, sizeof(rl));
	for (int i = 0; i < 3 * RL_SLOTS; i++) {
		snprintf(addr, sizeof(addr), "10.1.%d.%d", i / 256, i % 256);
		rl_fail(&rl, addr, i);
	}
	/* The newest addresses are still tracked after the table wrapped. */
	for (int i = 0; i < RL_MAX_FAILS; i++)
		rl_fail(&rl, "192.0.2.9", 5000 + i);
	ck_assert(rl_blocked(&rl, "192.0.2.9", 5010));
}
END_TEST

START_TEST(proven_address_counts_its_partners_and_expires)
{
	static struct admission a;
	admit_init(&a);
	ck_assert_int_eq(admit_proven_partners(&a, "127.0.0.1", 1000), 0);
	admit_proven(&a, "127.0.0.1", "B1", 1000);
	admit_proven(&a, "127.0.0.1", "B2", 2000);
	admit_proven(&a, "127.0.0.1", "B1", 3000);
	ck_assert_int_eq(admit_proven_partners(&a, "127.0.0.1", 3000), 2);
	ck_assert_int_eq(admit_proven_partners(&a, "127.0.0.2", 3000), 0);
	/* a day after the last session from it, the address is unproven */
	ck_assert_int_eq(admit_proven_partners(&a, "127.0.0.1", 3000 + PROVEN_TTL_MS - 1), 2);
	ck_assert_int_eq(admit_proven_partners(&a, "127.0.0.1", 3000 + PROVEN_TTL_MS), 0);
}
END_TEST

START_TEST(proven_table_stays_bounded_and_keeps_the_recent)
{
	static struct admission a;
	char addr[32];
	admit_init(&a);
	for (int i = 0; i < 3 * PROVEN_SLOTS; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
		admit_proven(&a, addr, "P", 1000 + (uint64_t)i);
	}
	snprintf(addr, sizeof(addr), "10.0.%d.%d", (3 * PROVEN_SLOTS - 1) / 256,
		 (3 * PROVEN_SLOTS - 1) % 256);
	ck_assert_int_eq(admit_proven_partners(&a, addr, 5000), 1);
	ck_assert_int_eq(admit_proven_partners(&a, "10.0.0.0", 5000), 0);
	for (int i = 0; i < 2 * PROVEN_NAMES; i++) {
		char name[16];
		snprintf(name, sizeof(name), "N%d", i);
		admit_proven(&a, "192.0.2.1", name, 6000);
	}
	ck_assert_int_eq(admit_proven_partners(&a, "192.0.2.1", 6000), PROVEN_NAMES);
}
END_TEST

START_TEST(admin_parse_splits_words_and_quoted_parameters)
{
	struct admin_cmd c;
	char err[128];
	ck_assert_int_eq(
		admin_parse("define server B hladdress=10.0.0.1 DESCRIPTION=\"two words\" x='a=b'",
			    &c, err, sizeof(err)),
		0);
	ck_assert_int_eq(c.nwords, 3);
	ck_assert_str_eq(c.words[2], "B");
	ck_assert_int_eq(c.nparams, 3);
	ck_assert_str_eq(admin_param(&c, "HLADDRESS"), "10.0.0.1");
	ck_assert_str_eq(admin_param(&c, "description"), "two words");
	ck_assert_str_eq(admin_param(&c, "X"), "a=b");
	ck_assert_ptr_null(admin_param(&c, "SSL"));
}
END_TEST

START_TEST(admin_parse_refuses_broken_input)
{
	struct admin_cmd c;
	char err[128], big[5000];
	ck_assert_int_eq(admin_parse("DEFINE SERVER B DESCRIPTION=\"open", &c, err, sizeof(err)),
			 -RPL_E_ADMIN_SYNTAX);
	ck_assert_int_eq(admin_parse("QUERY =value", &c, err, sizeof(err)), -RPL_E_ADMIN_SYNTAX);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	ck_assert_int_eq(admin_parse(big, &c, err, sizeof(err)), -RPL_E_ADMIN_SYNTAX);
	ck_assert_int_eq(
		admin_parse("a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7", &c,
			    err, sizeof(err)),
		-RPL_E_ADMIN_SYNTAX);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("sessions");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, srp_right_password_gives_both_proofs_and_one_key);
	tcase_add_test(tc, srp_wrong_password_is_refused_by_the_server);
	tcase_add_test(tc, srp_client_refuses_a_server_without_the_verifier);
	tcase_add_test(tc, srp_rejects_a_zero_public_value);
	tcase_add_test(tc, ratelimit_blocks_the_sixth_attempt_within_a_minute);
	tcase_add_test(tc, ratelimit_memory_stays_bounded);
	tcase_add_test(tc, proven_address_counts_its_partners_and_expires);
	tcase_add_test(tc, proven_table_stays_bounded_and_keeps_the_recent);
	tcase_add_test(tc, admin_parse_splits_words_and_quoted_parameters);
	tcase_add_test(tc, admin_parse_refuses_broken_input);
	suite_add_tcase(s, tc);
	return s;
}

#include "unit.h"
