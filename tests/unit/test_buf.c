/* util/buf: the output buffer, the bounds-checked cursor and the TLV codec.
 * Every length read back is checked against what is left; nothing overruns. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/buf.h"
#include "../../util/msg.h"

/* A TLV header by hand: u16 tag, u32 length (big-endian). */
static void put_header(struct wbuf *w, uint16_t tag, uint32_t len)
{
	wbuf_put_u16(w, tag);
	wbuf_put_u32(w, len);
}

START_TEST(wbuf_puts_integers_big_endian)
{
	static const uint8_t want[] = { 0xab, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01,
					0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
	struct wbuf w;

	wbuf_init(&w);
	wbuf_put_u8(&w, 0xab);
	wbuf_put_u16(&w, 0x1234);
	wbuf_put_u32(&w, 0xdeadbeef);
	wbuf_put_u64(&w, 0x0102030405060708ull);
	ck_assert_int_eq(wbuf_status(&w), 0);
	ck_assert_uint_eq(w.len, sizeof(want));
	ck_assert_mem_eq(w.p, want, sizeof(want));
	wbuf_free(&w);
	ck_assert_ptr_null(w.p);
	ck_assert_uint_eq(w.len, 0);
}
END_TEST

START_TEST(wbuf_grows_past_initial_capacity_and_keeps_contents)
{
	struct wbuf w;
	uint8_t chunk[100];

	wbuf_init(&w);
	for (int i = 0; i < 50; i++) {
		memset(chunk, i, sizeof(chunk));
		wbuf_put(&w, chunk, sizeof(chunk));
	}
	ck_assert_int_eq(wbuf_status(&w), 0);
	ck_assert_uint_eq(w.len, 5000);
	ck_assert_uint_ge(w.cap, 5000);
	for (int i = 0; i < 50; i++)
		ck_assert_uint_eq(w.p[i * 100 + 99], (unsigned)i);
	wbuf_free(&w);
}
END_TEST

START_TEST(wbuf_consume_drops_the_front)
{
	struct wbuf w;

	wbuf_init(&w);
	wbuf_put(&w, "abcdef", 6);
	wbuf_consume(&w, 2);
	ck_assert_uint_eq(w.len, 4);
	ck_assert_mem_eq(w.p, "cdef", 4);
	wbuf_consume(&w, 100);
	ck_assert_uint_eq(w.len, 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(wbuf_failed_reserve_sticks_and_later_puts_are_ignored)
{
	struct wbuf w;

	wbuf_init(&w);
	wbuf_put(&w, "ab", 2);
	ck_assert_int_eq(wbuf_reserve(&w, SIZE_MAX), -RPL_E_NOMEM);
	ck_assert_int_eq(wbuf_status(&w), -RPL_E_NOMEM);
	wbuf_put(&w, "cd", 2);
	ck_assert_uint_eq(w.len, 2);
	ck_assert_int_eq(wbuf_status(&w), -RPL_E_NOMEM);
	wbuf_reset(&w);
	ck_assert_int_eq(wbuf_status(&w), 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(wbuf_reserve_of_nothing_leaves_a_writable_pointer)
{
	struct wbuf w;

	wbuf_init(&w);
	ck_assert_int_eq(wbuf_reserve(&w, 0), 0);
	ck_assert_ptr_nonnull(w.p);
	ck_assert_uint_eq(w.len, 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(cursor_reads_integers_and_stops_at_the_end)
{
	static const uint8_t in[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 };
	struct cursor c;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;

	cur_init(&c, in, sizeof(in));
	ck_assert_int_eq(cur_u8(&c, &u8), 0);
	ck_assert_uint_eq(u8, 0x01);
	ck_assert_int_eq(cur_u16(&c, &u16), 0);
	ck_assert_uint_eq(u16, 0x0203);
	ck_assert_int_eq(cur_u32(&c, &u32), 0);
	ck_assert_uint_eq(u32, 0x04050607);
	ck_assert_uint_eq(cur_left(&c), 0);
	ck_assert_int_eq(cur_u8(&c, &u8), -RPL_E_CORRUPT);
	ck_assert_int_eq(cur_u64(&c, &u64), -RPL_E_CORRUPT);

	cur_init(&c, in, 3);
	ck_assert_int_eq(cur_u32(&c, &u32), -RPL_E_CORRUPT);
	ck_assert_uint_eq(c.off, 0); /* a failed read consumes nothing */
	ck_assert_int_eq(cur_bytes(&c, 4, &p), -RPL_E_CORRUPT);
	ck_assert_int_eq(cur_bytes(&c, 3, &p), 0);
	ck_assert_ptr_eq(p, in);
}
END_TEST

START_TEST(cursor_refuses_a_length_that_would_wrap)
{
	static const uint8_t in[8] = { 0 };
	struct cursor c;
	const uint8_t *p = NULL;

	cur_init(&c, in, sizeof(in));
	ck_assert_int_eq(cur_bytes(&c, 2, &p), 0);
	ck_assert_int_eq(cur_bytes(&c, SIZE_MAX, &p), -RPL_E_CORRUPT);
	ck_assert_int_eq(cur_bytes(&c, SIZE_MAX - 1, &p), -RPL_E_CORRUPT);
	ck_assert_uint_eq(cur_left(&c), 6);
}
END_TEST

START_TEST(cursor_over_null_is_empty)
{
	struct cursor c;
	uint8_t v;

	cur_init(&c, NULL, 100);
	ck_assert_uint_eq(cur_left(&c), 0);
	ck_assert_int_eq(cur_u8(&c, &v), -RPL_E_CORRUPT);
}
END_TEST

START_TEST(tlv_round_trips_strings_integers_and_bytes)
{
	static const uint8_t bytes[5] = { 0, 1, 2, 0xff, 0 };
	struct wbuf w;
	struct cursor c, val;
	uint16_t tag;
	uint64_t u;
	char s[16];
	uint8_t fixed[5];
	uint8_t *dup = NULL;
	size_t duplen = 0;
	struct blob b = { 0 };

	wbuf_init(&w);
	tlv_put_str(&w, 1, "hello");
	tlv_put_u64(&w, 2, 0x1122334455667788ull);
	tlv_put(&w, 3, bytes, sizeof(bytes));
	tlv_put_str(&w, 4, NULL);
	ck_assert_int_eq(wbuf_status(&w), 0);
	ck_assert_uint_eq(w.len, 4 * 6 + 5 + 8 + 5 + 0);

	cur_init(&c, w.p, w.len);
	ck_assert_int_eq(tlv_next(&c, &tag, &val), 1);
	ck_assert_uint_eq(tag, 1);
	ck_assert_int_eq(tlv_get_str(&val, s, sizeof(s)), 0);
	ck_assert_str_eq(s, "hello");

	ck_assert_int_eq(tlv_next(&c, &tag, &val), 1);
	ck_assert_uint_eq(tag, 2);
	ck_assert_int_eq(tlv_get_u64(&val, &u), 0);
	ck_assert_uint_eq(u, 0x1122334455667788ull);

	ck_assert_int_eq(tlv_next(&c, &tag, &val), 1);
	ck_assert_uint_eq(tag, 3);
	ck_assert_int_eq(tlv_get_fixed(&val, fixed, sizeof(fixed)), 0);
	ck_assert_mem_eq(fixed, bytes, sizeof(bytes));
	ck_assert_int_eq(tlv_get_dup(&val, &dup, &duplen), 0);
	ck_assert_uint_eq(duplen, sizeof(bytes));
	ck_assert_mem_eq(dup, bytes, sizeof(bytes));
	free(dup);
	ck_assert_int_eq(tlv_get_blob(&val, &b), 0);
	ck_assert_uint_eq(b.n, sizeof(bytes));
	ck_assert_mem_eq(b.p, bytes, sizeof(bytes));
	blob_free(&b);
	ck_assert_ptr_null(b.p);

	ck_assert_int_eq(tlv_next(&c, &tag, &val), 1);
	ck_assert_uint_eq(tag, 4);
	ck_assert_uint_eq(cur_left(&val), 0);
	ck_assert_int_eq(tlv_get_str(&val, s, sizeof(s)), 0);
	ck_assert_str_eq(s, "");

	ck_assert_int_eq(tlv_next(&c, &tag, &val), 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(tlv_reader_rejects_truncated_header)
{
	struct wbuf w;
	struct cursor c, val;
	uint16_t tag;

	wbuf_init(&w);
	tlv_put_str(&w, 7, "x");
	/* Every cut inside the 6-byte header or the value is refused. */
	for (size_t cut = 1; cut < w.len; cut++) {
		cur_init(&c, w.p, cut);
		ck_assert_msg(tlv_next(&c, &tag, &val) == -RPL_E_CORRUPT, "cut at %zu accepted",
			      cut);
	}
	cur_init(&c, w.p, w.len);
	ck_assert_int_eq(tlv_next(&c, &tag, &val), 1);
	wbuf_free(&w);
}
END_TEST

START_TEST(tlv_reader_rejects_length_past_end)
{
	struct wbuf w;
	struct cursor c, val;
	uint16_t tag;

	wbuf_init(&w);
	put_header(&w, 1, 10);
	wbuf_put(&w, "123456789", 9); /* one byte short */
	cur_init(&c, w.p, w.len);
	ck_assert_int_eq(tlv_next(&c, &tag, &val), -RPL_E_CORRUPT);
	wbuf_free(&w);
}
END_TEST

START_TEST(tlv_reader_rejects_oversized_length)
{
	struct wbuf w;
	struct cursor c, val;
	uint16_t tag;

	wbuf_init(&w);
	put_header(&w, 1, UINT32_MAX);
	wbuf_put(&w, "abc", 3);
	cur_init(&c, w.p, w.len);
	ck_assert_int_eq(tlv_next(&c, &tag, &val), -RPL_E_CORRUPT);

	/* An oversized field after a good one: the good one is read, then the
	 * bad one is refused. */
	wbuf_reset(&w);
	tlv_put_str(&w, 1, "ok");
	put_header(&w, 2, 0x7fffffff);
	cur_init(&c, w.p, w.len);
	ck_assert_int_eq(tlv_next(&c, &tag, &val), 1);
	ck_assert_int_eq(tlv_next(&c, &tag, &val), -RPL_E_CORRUPT);
	wbuf_free(&w);
}
END_TEST

START_TEST(tlv_unknown_tags_are_skipped_by_a_reader)
{
	struct wbuf w;
	struct cursor c, val;
	uint16_t tag;
	uint64_t u = 0;
	int rc, seen_known = 0, seen_unknown = 0;

	wbuf_init(&w);
	tlv_put_str(&w, 999, "from a newer version");
	tlv_put(&w, 1000, "\0\0\0", 3);
	tlv_put_u64(&w, 2, 42);
	tlv_put_str(&w, 0xffff, "trailing");
	cur_init(&c, w.p, w.len);
	/* The same loop shape the record decoders use. */
	while ((rc = tlv_next(&c, &tag, &val)) > 0) {
		if (tag == 2) {
			ck_assert_int_eq(tlv_get_u64(&val, &u), 0);
			seen_known++;
		} else {
			seen_unknown++;
		}
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(seen_known, 1);
	ck_assert_int_eq(seen_unknown, 3);
	ck_assert_uint_eq(u, 42);
	wbuf_free(&w);
}
END_TEST

START_TEST(tlv_field_accessors_refuse_wrong_sizes)
{
	struct cursor val;
	uint64_t u;
	uint8_t fixed[4];
	char small[4];

	cur_init(&val, "1234567", 7);
	ck_assert_int_eq(tlv_get_u64(&val, &u), -RPL_E_CORRUPT);
	cur_init(&val, "123456789", 9);
	ck_assert_int_eq(tlv_get_u64(&val, &u), -RPL_E_CORRUPT);
	cur_init(&val, "123", 3);
	ck_assert_int_eq(tlv_get_fixed(&val, fixed, sizeof(fixed)), -RPL_E_CORRUPT);
	cur_init(&val, "12345", 5);
	ck_assert_int_eq(tlv_get_fixed(&val, fixed, sizeof(fixed)), -RPL_E_CORRUPT);
	/* A string must fit with its NUL and must not hold a NUL. */
	cur_init(&val, "abcd", 4);
	ck_assert_int_eq(tlv_get_str(&val, small, sizeof(small)), -RPL_E_CORRUPT);
	cur_init(&val, "abc", 3);
	ck_assert_int_eq(tlv_get_str(&val, small, sizeof(small)), 0);
	ck_assert_str_eq(small, "abc");
	cur_init(&val, "a\0b", 3);
	ck_assert_int_eq(tlv_get_str(&val, small, sizeof(small)), -RPL_E_CORRUPT);
}
END_TEST

START_TEST(tlv_put_refuses_a_value_longer_than_u32)
{
	struct wbuf w;

	wbuf_init(&w);
	/* The length is checked before the pointer is read. */
	tlv_put(&w, 1, "x", (size_t)UINT32_MAX + 1);
	ck_assert_int_eq(wbuf_status(&w), -RPL_E_NOMEM);
	ck_assert_uint_eq(w.len, 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(blob_set_copies_and_replaces)
{
	struct blob b = { 0 };
	char src[4] = "abc";

	ck_assert_int_eq(blob_set(&b, src, 3), 0);
	src[0] = 'X';
	ck_assert_uint_eq(b.n, 3);
	ck_assert_mem_eq(b.p, "abc", 3);
	ck_assert_int_eq(blob_set(&b, "longer value", 12), 0);
	ck_assert_uint_eq(b.n, 12);
	ck_assert_mem_eq(b.p, "longer value", 12);
	ck_assert_int_eq(blob_set(&b, NULL, 0), 0);
	ck_assert_uint_eq(b.n, 0);
	ck_assert_ptr_nonnull(b.p);
	blob_free(&b);
	ck_assert_ptr_null(b.p);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, wbuf_puts_integers_big_endian);
	tcase_add_test(tc, wbuf_grows_past_initial_capacity_and_keeps_contents);
	tcase_add_test(tc, wbuf_consume_drops_the_front);
	tcase_add_test(tc, wbuf_failed_reserve_sticks_and_later_puts_are_ignored);
	tcase_add_test(tc, wbuf_reserve_of_nothing_leaves_a_writable_pointer);
	tcase_add_test(tc, cursor_reads_integers_and_stops_at_the_end);
	tcase_add_test(tc, cursor_refuses_a_length_that_would_wrap);
	tcase_add_test(tc, cursor_over_null_is_empty);
	tcase_add_test(tc, tlv_round_trips_strings_integers_and_bytes);
	tcase_add_test(tc, tlv_reader_rejects_truncated_header);
	tcase_add_test(tc, tlv_reader_rejects_length_past_end);
	tcase_add_test(tc, tlv_reader_rejects_oversized_length);
	tcase_add_test(tc, tlv_unknown_tags_are_skipped_by_a_reader);
	tcase_add_test(tc, tlv_field_accessors_refuse_wrong_sizes);
	tcase_add_test(tc, tlv_put_refuses_a_value_longer_than_u32);
	tcase_add_test(tc, blob_set_copies_and_replaces);
	suite_add_tcase(s, tc);
	return s;
}

#include "unit.h"
