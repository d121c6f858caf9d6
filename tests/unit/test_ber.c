/* util/ber: the LDAP requests replpeer sends are encoded byte for byte as
 * RFC 4511 says, and the decoder refuses every malformed response —
 * truncated, oversized, indefinite-length, deeply nested, wrongly tagged,
 * badly encoded integers — without reading outside the message. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/ber.h"
#include "../../util/msg.h"

/* ---- building responses by hand ------------------------------------------ */

static void put_wrapped(struct wbuf *w, uint8_t tag, const struct wbuf *inner)
{
	ber_put(w, tag, inner->p, inner->len);
}

/* LDAPMessage { msgid, [APPLICATION op] { resultCode, matchedDN, diag, extra } }
 * plus raw bytes after the protocolOp (controls). */
static void make_response(struct wbuf *out, int64_t msgid, uint8_t optag, int64_t code,
			  const char *diag, const void *extra, size_t extralen, const void *after,
			  size_t afterlen)
{
	struct wbuf body, msg;

	wbuf_init(&body);
	wbuf_init(&msg);
	ber_put_int(&body, BER_ENUMERATED, code);
	ber_put(&body, BER_OCTET_STRING, "", 0);
	ber_put(&body, BER_OCTET_STRING, diag, strlen(diag));
	if (extralen)
		wbuf_put(&body, extra, extralen);
	ber_put_int(&msg, BER_INTEGER, msgid);
	put_wrapped(&msg, optag, &body);
	if (afterlen)
		wbuf_put(&msg, after, afterlen);
	wbuf_init(out);
	put_wrapped(out, BER_SEQUENCE, &msg);
	ck_assert_int_eq(wbuf_status(out), 0);
	wbuf_free(&body);
	wbuf_free(&msg);
}

static void bind_response(struct wbuf *out, int64_t msgid, int64_t code, const char *diag)
{
	make_response(out, msgid, 0x61, code, diag, NULL, 0, NULL, 0);
}

static int decode(const struct wbuf *w, struct ldap_msg *m, char *why, size_t whysz)
{
	return ldap_decode(w->p, w->len, m, why, whysz);
}

/* ---- encoder -------------------------------------------------------------- */

START_TEST(bind_request_is_encoded_byte_for_byte)
{
	static const uint8_t want[] = {
		0x30, 0x1d, 0x02, 0x01, 0x02, /* LDAPMessage, messageID 2 */
		0x60, 0x18, 0x02, 0x01, 0x03, /* BindRequest, version 3 */
		0x04, 0x0d, 'u',  'i',  'd',  '=',  'a', ',', 'd', 'c', '=',
		'e',  'x',  ',',  'x',  0x80, 0x04, 'p', 'w', '!', '1', /* simple [0] */
	};
	struct wbuf w;

	wbuf_init(&w);
	ck_assert_int_eq(ldap_put_bind(&w, 2, "uid=a,dc=ex,x", "pw!1", 4), 0);
	ck_assert_uint_eq(w.len, sizeof(want));
	ck_assert_mem_eq(w.p, want, sizeof(want));
	wbuf_free(&w);
}
END_TEST

START_TEST(starttls_and_unbind_are_encoded_byte_for_byte)
{
	static const uint8_t starttls[] = {
		0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16, '1', '.',
		'3',  '.',  '6',  '.',  '1',  '.',  '4',  '.',  '1',  '.', '1',
		'4',  '6',  '6',  '.',  '2',  '0',  '0',  '3',  '7',
	};
	static const uint8_t unbind[] = { 0x30, 0x05, 0x02, 0x01, 0x03, 0x42, 0x00 };
	struct wbuf w;

	wbuf_init(&w);
	ck_assert_int_eq(ldap_put_starttls(&w, 1), 0);
	ck_assert_uint_eq(w.len, sizeof(starttls));
	ck_assert_mem_eq(w.p, starttls, sizeof(starttls));
	wbuf_reset(&w);
	ck_assert_int_eq(ldap_put_unbind(&w, 3), 0);
	ck_assert_uint_eq(w.len, sizeof(unbind));
	ck_assert_mem_eq(w.p, unbind, sizeof(unbind));
	wbuf_free(&w);
}
END_TEST

START_TEST(bind_with_an_empty_password_is_never_encoded)
{
	struct wbuf w;

	wbuf_init(&w);
	ck_assert_int_eq(ldap_put_bind(&w, 1, "uid=a,dc=ex", "", 0), -RPL_E_LDAP_EMPTY_PASSWORD);
	ck_assert_int_eq(ldap_put_bind(&w, 1, "uid=a,dc=ex", NULL, 0), -RPL_E_LDAP_EMPTY_PASSWORD);
	ck_assert_uint_eq(w.len, 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(long_values_use_the_long_length_form)
{
	char dn[301];
	struct wbuf w;
	struct cursor c;
	struct ber_elem msg, e, op;
	char why[256];

	memset(dn, 'a', 300);
	dn[300] = 0;
	wbuf_init(&w);
	ck_assert_int_eq(ldap_put_bind(&w, 70000, dn, "secret-pw", 9), 0);
	ck_assert_uint_eq(w.p[1], 0x82); /* two length octets */
	cur_init(&c, w.p, w.len);
	ck_assert_int_eq(ber_expect(&c, BER_SEQUENCE, &msg, "m", why, sizeof(why)), 0);
	ck_assert_uint_eq(cur_left(&c), 0);
	cur_init(&c, msg.p, msg.len);
	ck_assert_int_eq(ber_expect(&c, BER_INTEGER, &e, "id", why, sizeof(why)), 0);
	ck_assert_uint_eq(e.len, 3); /* 70000 = 0x011170 */
	ck_assert_int_eq(ber_expect(&c, 0x60, &op, "op", why, sizeof(why)), 0);
	ck_assert_int_eq(ber_check_tree(&op, 2, why, sizeof(why)), 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(integers_round_trip_minimally_encoded)
{
	static const int64_t vals[] = { 0,     1,          127,           128,       255,
					256,   -1,         -128,          -129,      32767,
					32768, 2147483647, -2147483648LL, INT64_MAX, INT64_MIN };
	char why[256];

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct wbuf w;
		struct cursor c;
		struct ber_elem e;
		int64_t v = 0;

		wbuf_init(&w);
		ber_put_int(&w, BER_INTEGER, vals[i]);
		cur_init(&c, w.p, w.len);
		ck_assert_int_eq(ber_read(&c, &e, why, sizeof(why)), 0);
		ck_assert_int_eq(ber_int(&e, INT64_MIN, INT64_MAX, &v, "v", why, sizeof(why)), 0);
		ck_assert_int_eq(v, vals[i]);
		wbuf_free(&w);
	}
}
END_TEST

/* ---- decoder: what is accepted -------------------------------------------- */

START_TEST(bind_responses_are_decoded)
{
	struct ldap_msg m;
	struct wbuf w;
	char why[256];

	bind_response(&w, 2, 0, "");
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), 0);
	ck_assert_int_eq(m.msgid, 2);
	ck_assert_int_eq(m.op, LDAP_OP_BIND_RESPONSE);
	ck_assert_int_eq(m.result_code, 0);
	wbuf_free(&w);

	bind_response(&w, 7, 49, "80090308: LdapErr: DSID-0C09044E");
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), 0);
	ck_assert_int_eq(m.result_code, LDAP_RC_INVALID_CREDENTIALS);
	ck_assert_str_eq(m.diagnostic, "80090308: LdapErr: DSID-0C09044E");
	wbuf_free(&w);
}
END_TEST

START_TEST(extended_responses_carry_their_name)
{
	static const uint8_t name[] = { 0x8a, 0x16, '1', '.', '3', '.', '6', '.',
					'1',  '.',  '4', '.', '1', '.', '1', '4',
					'6',  '6',  '.', '2', '0', '0', '3', '7' };
	struct ldap_msg m;
	struct wbuf w;
	char why[256];

	make_response(&w, 1, 0x78, 0, "", name, sizeof(name), NULL, 0);
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), 0);
	ck_assert_int_eq(m.op, LDAP_OP_EXTENDED_RESPONSE);
	ck_assert_str_eq(m.response_name, LDAP_OID_STARTTLS);
	wbuf_free(&w);
}
END_TEST

START_TEST(a_notice_of_disconnection_is_recognised)
{
	static const uint8_t name[] = { 0x8a, 0x16, '1', '.', '3', '.', '6', '.',
					'1',  '.',  '4', '.', '1', '.', '1', '4',
					'6',  '6',  '.', '2', '0', '0', '3', '6' };
	struct ldap_msg m;
	struct wbuf w;
	char why[256];

	make_response(&w, 0, 0x78, 52, "shutting down", name, sizeof(name), NULL, 0);
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), 0);
	ck_assert_int_eq(m.msgid, 0);
	ck_assert_int_eq(m.result_code, LDAP_RC_UNAVAILABLE);
	ck_assert_str_eq(m.response_name, LDAP_OID_NOTICE_OF_DISCONNECTION);
	wbuf_free(&w);
}
END_TEST

START_TEST(network_text_is_stored_escaped)
{
	struct ldap_msg m;
	struct wbuf w;
	char why[256];

	bind_response(&w, 1, 49, "bad\nRPL0000I forged line\x1b[31m");
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), 0);
	ck_assert_ptr_null(strchr(m.diagnostic, '\n'));
	ck_assert_ptr_null(strchr(m.diagnostic, 0x1b));
	ck_assert_ptr_nonnull(strstr(m.diagnostic, "\\n"));
	wbuf_free(&w);
}
END_TEST

START_TEST(unknown_trailing_components_and_controls_are_skipped)
{
	/* referral [3] { "ldap://x" }, an unknown [15] primitive */
	static const uint8_t extra[] = { 0xa3, 0x0a, 0x04, 0x08, 'l',  'd',  'a', 'p',
					 ':',  '/',  '/',  'x',  0x8f, 0x01, 0x00 };
	/* controls [0] { Control { OID, criticality } } */
	static const uint8_t controls[] = { 0xa0, 0x0a, 0x30, 0x08, 0x04, 0x03,
					    '1',  '.',  '2',  0x01, 0x01, 0x00 };
	struct ldap_msg m;
	struct wbuf w;
	char why[256];

	make_response(&w, 3, 0x61, 0, "", extra, sizeof(extra), controls, sizeof(controls));
	ck_assert_msg(decode(&w, &m, why, sizeof(why)) == 0, "%s", why);
	ck_assert_int_eq(m.has_controls, 1);
	wbuf_free(&w);
}
END_TEST

/* ---- decoder: what is refused --------------------------------------------- */

START_TEST(every_truncation_is_refused_and_framing_waits)
{
	struct ldap_msg m;
	struct wbuf w;
	char why[256];
	size_t total;

	bind_response(&w, 300, 49, "invalid credentials for this user, see the server log");
	for (size_t n = 0; n < w.len; n++) {
		/* A copy of exactly n bytes, so the sanitizer sees any overread. */
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, w.p, n);
		ck_assert_int_eq(ldap_decode(cut, n, &m, why, sizeof(why)), -RPL_E_LDAP_PROTOCOL);
		ck_assert_int_eq(ber_frame(cut, n, BER_MSG_MAX, &total, why, sizeof(why)), 0);
		free(cut);
	}
	ck_assert_int_eq(ber_frame(w.p, w.len, BER_MSG_MAX, &total, why, sizeof(why)), 1);
	ck_assert_uint_eq(total, w.len);
	wbuf_free(&w);
}
END_TEST

START_TEST(an_element_longer_than_its_parent_is_refused)
{
	/* diagnosticMessage claims 0x7f bytes inside a 7-byte BindResponse */
	static const uint8_t msg[] = { 0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07,
				       0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x7f };
	struct ldap_msg m;
	char why[256];

	ck_assert_int_eq(ldap_decode(msg, sizeof(msg), &m, why, sizeof(why)), -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "left"));
}
END_TEST

START_TEST(indefinite_lengths_are_refused)
{
	static const uint8_t outer[] = { 0x30, 0x80, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a,
					 0x01, 0x00, 0x04, 0x00, 0x04, 0x00, 0x00, 0x00 };
	static const uint8_t inner[] = { 0x30, 0x0e, 0x02, 0x01, 0x01, 0x61, 0x80, 0x0a,
					 0x01, 0x00, 0x04, 0x00, 0x04, 0x00, 0x00, 0x00 };
	struct ldap_msg m;
	char why[256];
	size_t total;

	ck_assert_int_eq(ber_frame(outer, 2, BER_MSG_MAX, &total, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "indefinite"));
	ck_assert_int_eq(ldap_decode(outer, sizeof(outer), &m, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "indefinite"));
	ck_assert_int_eq(ldap_decode(inner, sizeof(inner), &m, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "indefinite"));
}
END_TEST

START_TEST(oversized_messages_are_refused_from_their_header)
{
	static const uint8_t big[] = { 0x30, 0x83, 0x10, 0x00, 0x00 };              /* 1 MiB */
	static const uint8_t huge[] = { 0x30, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00 }; /* 5 octets */
	static const uint8_t over[] = { 0x30, 0x84, 0xff, 0xff, 0xff, 0xff };
	struct ldap_msg m;
	char why[256];
	size_t total;

	ck_assert_int_eq(ber_frame(big, sizeof(big), BER_MSG_MAX, &total, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "larger than"));
	ck_assert_int_eq(ber_frame(huge, sizeof(huge), BER_MSG_MAX, &total, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);
	ck_assert_int_eq(ber_frame(over, sizeof(over), BER_MSG_MAX, &total, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);
	ck_assert_int_eq(ldap_decode(huge, sizeof(huge), &m, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);
	/* A message just over the limit, whole in memory: refused too. */
	{
		size_t n = BER_MSG_MAX + 1;
		uint8_t *p = calloc(1, n);
		p[0] = 0x30;
		p[1] = 0x83;
		p[2] = (uint8_t)((n - 5) >> 16);
		p[3] = (uint8_t)((n - 5) >> 8);
		p[4] = (uint8_t)(n - 5);
		ck_assert_int_eq(ber_frame(p, n, BER_MSG_MAX, &total, why, sizeof(why)),
				 -RPL_E_LDAP_PROTOCOL);
		ck_assert_int_eq(ldap_decode(p, n, &m, why, sizeof(why)), -RPL_E_LDAP_PROTOCOL);
		free(p);
	}
}
END_TEST

/* controls [0] holding 'levels' nested SEQUENCEs. */
static void nested_controls(struct wbuf *out, int levels)
{
	struct wbuf in, next;

	wbuf_init(&in);
	ber_put(&in, BER_OCTET_STRING, "x", 1);
	for (int i = 0; i < levels; i++) {
		wbuf_init(&next);
		put_wrapped(&next, BER_SEQUENCE, &in);
		wbuf_free(&in);
		in = next;
	}
	wbuf_init(out);
	put_wrapped(out, 0xa0, &in);
	wbuf_free(&in);
}

START_TEST(deep_nesting_is_refused)
{
	struct ldap_msg m;
	struct wbuf ctl, w;
	char why[256];

	/* LDAPMessage (1), controls (2), then up to BER_DEPTH_MAX in all. */
	nested_controls(&ctl, BER_DEPTH_MAX - 2);
	make_response(&w, 1, 0x61, 0, "", NULL, 0, ctl.p, ctl.len);
	ck_assert_msg(decode(&w, &m, why, sizeof(why)) == 0, "%s", why);
	wbuf_free(&w);
	wbuf_free(&ctl);

	nested_controls(&ctl, BER_DEPTH_MAX - 1);
	make_response(&w, 1, 0x61, 0, "", NULL, 0, ctl.p, ctl.len);
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "nested deeper"));
	wbuf_free(&w);
	wbuf_free(&ctl);

	nested_controls(&ctl, 5000);
	make_response(&w, 1, 0x61, 0, "", NULL, 0, ctl.p, ctl.len);
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "nested deeper"));
	wbuf_free(&w);
	wbuf_free(&ctl);
}
END_TEST

START_TEST(bad_integers_are_refused)
{
	/* messageID 1 as 00 01 (not minimal), 9 octets, and -1 */
	static const uint8_t nonmin[] = { 0x30, 0x0d, 0x02, 0x02, 0x00, 0x01, 0x61, 0x07,
					  0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00 };
	static const uint8_t nine[] = { 0x30, 0x14, 0x02, 0x09, 0x00, 0x00, 0x00, 0x00,
					0x00, 0x00, 0x00, 0x00, 0x01, 0x61, 0x07, 0x0a,
					0x01, 0x00, 0x04, 0x00, 0x04, 0x00 };
	static const uint8_t negative[] = { 0x30, 0x0c, 0x02, 0x01, 0xff, 0x61, 0x07,
					    0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00 };
	static const uint8_t empty[] = { 0x30, 0x0b, 0x02, 0x00, 0x61, 0x07, 0x0a,
					 0x01, 0x00, 0x04, 0x00, 0x04, 0x00 };
	struct ldap_msg m;
	struct wbuf w;
	char why[256];

	ck_assert_int_eq(ldap_decode(nonmin, sizeof(nonmin), &m, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "minimally"));
	ck_assert_int_eq(ldap_decode(nine, sizeof(nine), &m, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "octets"));
	ck_assert_int_eq(ldap_decode(negative, sizeof(negative), &m, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "outside"));
	ck_assert_int_eq(ldap_decode(empty, sizeof(empty), &m, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);
	/* a resultCode beyond maxInt */
	bind_response(&w, 1, 4294967296LL, "");
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), -RPL_E_LDAP_PROTOCOL);
	wbuf_free(&w);
}
END_TEST

START_TEST(other_operations_are_refused_by_name)
{
	struct ldap_msg m;
	struct wbuf w;
	char why[256];

	make_response(&w, 2, 0x64, 0, "", NULL, 0, NULL, 0); /* SearchResultEntry */
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), -RPL_E_LDAP_PROTOCOL);
	ck_assert_int_eq(m.op, LDAP_OP_SEARCH_RESULT_ENTRY);
	ck_assert_ptr_nonnull(strstr(why, "SearchResultEntry"));
	wbuf_free(&w);

	make_response(&w, 2, 0x60, 0, "", NULL, 0, NULL, 0); /* a BindRequest from a server */
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "BindRequest"));
	wbuf_free(&w);

	make_response(&w, 2, 0x7e, 0, "", NULL, 0, NULL, 0); /* [APPLICATION 30] */
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "unknown protocolOp"));
	wbuf_free(&w);

	make_response(&w, 2, 0xa1, 0, "", NULL, 0, NULL, 0); /* a context tag */
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "not an APPLICATION tag"));
	wbuf_free(&w);
}
END_TEST

START_TEST(wrong_tags_and_trailing_bytes_are_refused)
{
	/* matchedDN as a constructed OCTET STRING (0x24) */
	static const uint8_t constructed[] = { 0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07,
					       0x0a, 0x01, 0x00, 0x24, 0x00, 0x04, 0x00 };
	/* resultCode as an INTEGER instead of ENUMERATED */
	static const uint8_t integer[] = { 0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07,
					   0x02, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00 };
	/* a high tag number */
	static const uint8_t high[] = { 0x30, 0x0d, 0x02, 0x01, 0x01, 0x7f, 0x81, 0x07,
					0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00 };
	/* a primitive BindResponse */
	static const uint8_t primitive[] = { 0x30, 0x05, 0x02, 0x01, 0x01, 0x41, 0x00 };
	struct ldap_msg m;
	struct wbuf w;
	char why[256];

	ck_assert_int_eq(ldap_decode(constructed, sizeof(constructed), &m, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "matchedDN"));
	ck_assert_int_eq(ldap_decode(integer, sizeof(integer), &m, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "resultCode"));
	ck_assert_int_eq(ldap_decode(high, sizeof(high), &m, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "high tag"));
	ck_assert_int_eq(ldap_decode(primitive, sizeof(primitive), &m, why, sizeof(why)),
			 -RPL_E_LDAP_PROTOCOL);

	bind_response(&w, 1, 0, "");
	wbuf_put_u8(&w, 0x00);
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "follow"));
	wbuf_free(&w);
}
END_TEST

START_TEST(a_bad_or_repeated_response_name_is_refused)
{
	static const uint8_t notoid[] = { 0x8a, 0x03, '1', 'x', '2' };
	static const uint8_t twice[] = { 0x8a, 0x03, '1', '.', '2', 0x8a, 0x03, '1', '.', '3' };
	struct ldap_msg m;
	struct wbuf w;
	char why[256];

	make_response(&w, 1, 0x78, 0, "", notoid, sizeof(notoid), NULL, 0);
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), -RPL_E_LDAP_PROTOCOL);
	wbuf_free(&w);
	make_response(&w, 1, 0x78, 0, "", twice, sizeof(twice), NULL, 0);
	ck_assert_int_eq(decode(&w, &m, why, sizeof(why)), -RPL_E_LDAP_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(why, "twice"));
	wbuf_free(&w);
}
END_TEST

/* A cheap, deterministic mutation run: each decode either succeeds or
 * refuses; under the sanitizer build any overread fails the test. */
START_TEST(mutated_messages_never_read_outside_the_buffer)
{
	static const uint8_t name[] = { 0x8a, 0x03, '1', '.', '2', 0xa3, 0x03, 0x04, 0x01, 'u' };
	struct wbuf w;
	uint32_t seed = 12345;
	int ok = 0, refused = 0;

	make_response(&w, 9, 0x78, 2, "diagnostic", name, sizeof(name), NULL, 0);
	for (int i = 0; i < 20000; i++) {
		uint8_t *p = malloc(w.len);
		size_t n = w.len;
		struct ldap_msg m;
		char why[128];
		size_t total;

		memcpy(p, w.p, w.len);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245u + 12345u;
			p[(seed >> 8) % n] ^= (uint8_t)(seed >> 16);
		}
		seed = seed * 1103515245u + 12345u;
		if (seed & 1)
			n = (seed >> 8) % (w.len + 1);
		if (ldap_decode(p, n, &m, why, sizeof(why)) == 0)
			ok++;
		else
			refused++;
		(void)ber_frame(p, n, BER_MSG_MAX, &total, why, sizeof(why));
		free(p);
	}
	ck_assert_int_gt(refused, 0);
	ck_assert_int_eq(ok + refused, 20000);
	wbuf_free(&w);
}
END_TEST

START_TEST(result_and_op_names)
{
	char buf[64];

	ck_assert_str_eq(ldap_result_name(49, buf, sizeof(buf)), "invalidCredentials (49)");
	ck_assert_str_eq(ldap_result_name(4096, buf, sizeof(buf)), "result 4096");
	ck_assert_str_eq(ldap_op_name(LDAP_OP_EXTENDED_RESPONSE), "ExtendedResponse");
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("ber");
	TCase *t = tcase_create("ber");

	tcase_add_test(t, bind_request_is_encoded_byte_for_byte);
	tcase_add_test(t, starttls_and_unbind_are_encoded_byte_for_byte);
	tcase_add_test(t, bind_with_an_empty_password_is_never_encoded);
	tcase_add_test(t, long_values_use_the_long_length_form);
	tcase_add_test(t, integers_round_trip_minimally_encoded);
	tcase_add_test(t, bind_responses_are_decoded);
	tcase_add_test(t, extended_responses_carry_their_name);
	tcase_add_test(t, a_notice_of_disconnection_is_recognised);
	tcase_add_test(t, network_text_is_stored_escaped);
	tcase_add_test(t, unknown_trailing_components_and_controls_are_skipped);
	tcase_add_test(t, every_truncation_is_refused_and_framing_waits);
	tcase_add_test(t, an_element_longer_than_its_parent_is_refused);
	tcase_add_test(t, indefinite_lengths_are_refused);
	tcase_add_test(t, oversized_messages_are_refused_from_their_header);
	tcase_add_test(t, deep_nesting_is_refused);
	tcase_add_test(t, bad_integers_are_refused);
	tcase_add_test(t, other_operations_are_refused_by_name);
	tcase_add_test(t, wrong_tags_and_trailing_bytes_are_refused);
	tcase_add_test(t, a_bad_or_repeated_response_name_is_refused);
	tcase_add_test(t, mutated_messages_never_read_outside_the_buffer);
	tcase_add_test(t, result_and_op_names);
	suite_add_tcase(s, t);
	return s;
}

#include "unit.h"
