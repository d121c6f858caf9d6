/* peer/continuity rollover endorsements, as the remote admin client checks
 * them: a server that renewed (once or several times) is followed from the
 * pinned fingerprint to the presented one through signatures of each old
 * key over the next fingerprint; anything that is not such a chain — a
 * missing link, a signature by another key, an entry claiming the pinned
 * certificate but signed by the new key, a chain longer than 8, a message
 * of garbage — is refused. Real keys and certificates (peer/keys/identity). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "../../peer/continuity.h"
#include "../../peer/keys/identity.h"
#include "../../peer/keys/proof.h"
#include "../../peer/proto.h"
#include "../../util/conf.h"
#include "../../util/msg.h"

#define NCERTS 11

static struct blob key[NCERTS], der[NCERTS];
static uint8_t fp[NCERTS][FINGERPRINT_LEN];

static void make_certs(void)
{
	for (int i = 0; i < NCERTS; i++) {
		if (der[i].n)
			continue;
		ck_assert_int_eq(identity_keygen(KEYTYPE_ECDSA_P256, &key[i]), 0);
		ck_assert_int_eq(identity_self_signed(KEYTYPE_ECDSA_P256, &key[i], "ALPHA",
						      "127.0.0.1", 30, &der[i]),
				 0);
		ck_assert_int_eq(identity_fingerprint(der[i].p, der[i].n, fp[i]), 0);
	}
}

/* Appends an entry: the certificate prev (as F_PREV_CERT) and the
 * signature of signer's key over the fingerprint of next. */
static void add_entry(struct wbuf *w, int prev, int signer, int next)
{
	uint8_t msg[PROOF_ROLLOVER_MSG_LEN];
	struct blob sig = { 0 };
	struct wbuf e;

	proof_rollover_message(fp[next], msg);
	ck_assert_int_eq(identity_sign(KEYTYPE_ECDSA_P256, &key[signer], msg, sizeof(msg), &sig),
			 0);
	wbuf_init(&e);
	tlv_put(&e, F_PREV_CERT, der[prev].p, der[prev].n);
	tlv_put(&e, F_ENDORSE, sig.p, sig.n);
	tlv_put(w, F_ROLLOVER, e.p, e.len);
	wbuf_free(&e);
	blob_free(&sig);
}

static int verify(const struct wbuf *w, int pinned, int presented)
{
	struct cursor c;
	cur_init(&c, w->p, w->len);
	return continuity_rollover_verify(fp[pinned], fp[presented], &c);
}

START_TEST(one_renewal_is_followed)
{
	struct wbuf w;
	make_certs();
	wbuf_init(&w);
	add_entry(&w, 0, 0, 1);
	ck_assert_int_eq(verify(&w, 0, 1), 0);
	/* The same entry does not vouch for another certificate. */
	ck_assert_int_eq(verify(&w, 0, 2), -RPL_E_CERT_SIG);
	/* Nor leads to another pin. */
	ck_assert_int_eq(verify(&w, 3, 1), -RPL_E_CERT_SIG);
	wbuf_free(&w);
}
END_TEST

START_TEST(a_chain_of_renewals_is_followed_in_any_order)
{
	struct wbuf w;
	make_certs();
	wbuf_init(&w);
	add_entry(&w, 1, 1, 2); /* listed out of order on purpose */
	add_entry(&w, 0, 0, 1);
	add_entry(&w, 2, 2, 3);
	ck_assert_int_eq(verify(&w, 0, 3), 0);
	ck_assert_int_eq(verify(&w, 1, 3), 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(a_missing_link_is_refused)
{
	struct wbuf w;
	make_certs();
	wbuf_init(&w);
	add_entry(&w, 0, 0, 1);
	add_entry(&w, 2, 2, 3); /* 1 -> 2 is missing */
	ck_assert_int_eq(verify(&w, 0, 3), -RPL_E_CERT_SIG);
	wbuf_free(&w);
}
END_TEST

/* An impostor with key 5 names the pinned certificate 0 as endorser but
 * can only sign with its own key. */
START_TEST(an_endorsement_signed_by_another_key_is_refused)
{
	struct wbuf w;
	make_certs();
	wbuf_init(&w);
	add_entry(&w, 0, 5, 5);
	ck_assert_int_eq(verify(&w, 0, 5), -RPL_E_CERT_SIG);
	wbuf_reset(&w);
	add_entry(&w, 0, 4, 5);
	ck_assert_int_eq(verify(&w, 0, 5), -RPL_E_CERT_SIG);
	wbuf_free(&w);
}
END_TEST

START_TEST(a_chain_longer_than_eight_is_refused)
{
	struct wbuf w;
	make_certs();
	wbuf_init(&w);
	for (int i = 0; i < 9; i++)
		add_entry(&w, i, i, i + 1);
	ck_assert_int_eq(verify(&w, 1, 9), 0);               /* 8 renewals */
	ck_assert_int_eq(verify(&w, 0, 9), -RPL_E_CERT_SIG); /* 9 */
	wbuf_free(&w);
}
END_TEST

START_TEST(garbage_is_refused_without_harm)
{
	static const uint8_t junk[][12] = {
		{ 0 },
		{ 0, 34, 0, 0, 0, 200 },                  /* a length past the end */
		{ 0, 34, 0, 0, 0, 4, 0, 18, 0, 0, 0, 9 }, /* a truncated inner field */
	};
	make_certs();
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		struct cursor c;
		cur_init(&c, junk[i], sizeof(junk[i]));
		ck_assert_int_eq(continuity_rollover_verify(fp[0], fp[1], &c), -RPL_E_CERT_SIG);
	}
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("rollover");
	TCase *t = tcase_create("rollover");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, one_renewal_is_followed);
	tcase_add_test(t, a_chain_of_renewals_is_followed_in_any_order);
	tcase_add_test(t, a_missing_link_is_refused);
	tcase_add_test(t, an_endorsement_signed_by_another_key_is_refused);
	tcase_add_test(t, a_chain_longer_than_eight_is_refused);
	tcase_add_test(t, garbage_is_refused_without_harm);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(make_suite());
	int failed;
	srunner_set_fork_status(r, CK_NOFORK);
	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
