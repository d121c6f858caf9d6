/* The activity log and the daemon log against a hostile peer and a flood:
 * escaping of untrusted bytes (util/escape), coalescing of equal lines
 * (util/log) and entries (store/actlog), pruning by age, the caps and their
 * eviction order, time ranges and QUERY ACTLOG's bounded reply
 * (sync/admin_actlog), and SET ACTLOGRETENTION's rewrite of replpeer.conf. */
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../store/actlog.h"
#include "../../store/env.h"
#include "../../sync/admin.h"
#include "../../util/buf.h"
#include "../../util/clock.h"
#include "../../util/conf.h"
#include "../../util/escape.h"
#include "../../util/fsutil.h"
#include "../../util/log.h"
#include "../../util/msg.h"

#define US  1000000LL
#define DAY (86400 * US)

/* ---- escaping ---------------------------------------------------------- */

static const char *esc(const char *in, size_t len, size_t dstsz, unsigned flags)
{
	static char out[4096];
	ck_assert_uint_le(dstsz, sizeof(out));
	return esc_bytes(out, dstsz, in, len, flags);
}

#define ESC_EQ(in, want) ck_assert_str_eq(esc(in, sizeof(in) - 1, 4096, 0), want)

/* Independent check: jansson refuses invalid UTF-8. */
static int valid_utf8(const char *s)
{
	json_t *j = json_stringn(s, strlen(s));
	int ok = j != NULL;
	json_decref(j);
	return ok;
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

START_TEST(escape_keeps_printable_text_and_valid_utf8)
{
	ESC_EQ("plain ASCII: server ALPHA (127.0.0.1)", "plain ASCII: server ALPHA (127.0.0.1)");
	ESC_EQ("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	       "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	ESC_EQ("", "");
}
END_TEST

START_TEST(escape_renders_control_characters_and_backslash)
{
	ESC_EQ("a\nRPL0420I forged", "a\\nRPL0420I forged");
	ESC_EQ("t\tr\rx", "t\\tr\\rx");
	ESC_EQ("\x01\x1b[31m\x7f", "\\x01\\x1b[31m\\x7f");
	ESC_EQ("back\\slash", "back\\\\slash");
	/* Text composed of fields escaped already keeps its backslashes. */
	ck_assert_str_eq(esc("a\\nb\n", 5, 64, ESC_KEEP_BACKSLASH), "a\\nb\\n");
	/* NUL bytes inside a field are data too. */
	ck_assert_str_eq(esc("a\0b", 3, 64, 0), "a\\x00b");
}
END_TEST

START_TEST(escape_renders_invalid_utf8_byte_by_byte)
{
	ESC_EQ("line\xff\xfe", "line\\xff\\xfe");
	ESC_EQ("\x80", "\\x80");                            /* lone continuation byte */
	ESC_EQ("\xc0\xaf", "\\xc0\\xaf");                   /* overlong '/' */
	ESC_EQ("\xe0\x80\xaf", "\\xe0\\x80\\xaf");          /* overlong, 3 bytes */
	ESC_EQ("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"); /* overlong, 4 bytes */
	ESC_EQ("\xed\xa0\x80", "\\xed\\xa0\\x80");          /* UTF-16 surrogate */
	ESC_EQ("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* above U+10FFFF */
	ESC_EQ("\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80");
	ESC_EQ("ab\xe2\x82", "ab\\xe2\\x82");                       /* sequence cut short */
	ESC_EQ("\xe2\x82x\xe2\x82\xac", "\\xe2\\x82x\xe2\x82\xac"); /* resumes after */
	/* Valid but invisible or line-breaking: C1 NEL, U+2028, RLO. */
	ESC_EQ("\xc2\x85", "\\xc2\\x85");
	ESC_EQ("\xe2\x80\xa8", "\\xe2\\x80\\xa8");
	ESC_EQ("x\xe2\x80\xaey", "x\\xe2\\x80\\xaey");
}
END_TEST

START_TEST(escape_cuts_at_a_whole_character_with_a_marker)
{
	const char *e4 = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"; /* five 'é' */
	const char *r;

	/* 7 bytes of room: two 'é' and the 3-byte marker, never half an 'é'. */
	r = esc(e4, strlen(e4), 8, 0);
	ck_assert_str_eq(r, "\xc3\xa9\xc3\xa9" ESC_ELLIPSIS);
	ck_assert(valid_utf8(r));
	/* An escape is never cut either. */
	ck_assert_str_eq(esc("\x01\x01\x01", 3, 10, 0), "\\x01" ESC_ELLIPSIS);
	/* A rendering that just fits has no marker. */
	ck_assert_str_eq(esc("abc", 3, 4, 0), "abc");
	ck_assert_str_eq(esc("abcd", 4, 4, 0), ESC_ELLIPSIS);
	ck_assert_str_eq(esc("abcd", 4, 2, 0), "");
	ck_assert_str_eq(esc("abcd", 4, 1, 0), "");
}
END_TEST

START_TEST(escape_caps_the_length)
{
	static char big[20001];
	const char *r;

	memset(big, '\n', sizeof(big) - 1);
	r = esc(big, sizeof(big) - 1, 256, 0);
	ck_assert_uint_le(strlen(r), 255);
	ck_assert_str_eq(r + strlen(r) - 3, ESC_ELLIPSIS);
	ck_assert(!has_control(r));
	/* ESC() for one network field, in place of the argument. */
	ck_assert_str_eq(ESC("A\nRPL0420I forged line\xff\xfe"),
			 "A\\nRPL0420I forged line\\xff\\xfe");
	ck_assert_uint_le(strlen(ESC(big)), ESC_FIELD_MAX - 1);
	ck_assert_str_eq(ESC(NULL), "(null)");
}
END_TEST

START_TEST(escape_output_is_always_one_line_of_valid_utf8)
{
	char in[64], out[96];

	srandom(42);
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(random() % (int)sizeof(in));
		for (size_t i = 0; i < n; i++)
			in[i] = (char)(random() % 4 ? random() % 256 : 0x80 + random() % 64);
		esc_bytes(out, sizeof(out), in, n, round & 1 ? ESC_KEEP_BACKSLASH : 0);
		if (!valid_utf8(out) || has_control(out) || strlen(out) >= sizeof(out))
			ck_abort_msg("round %d: invalid rendering '%s'", round, out);
	}
}
END_TEST

/* ---- the daemon log ---------------------------------------------------- */

static char logpath[64];

/* stderr into a file, which lines() reads back. */
static void capture_stderr(void)
{
	int fd;
	strcpy(logpath, "/tmp/rpl-test-log.XXXXXX");
	fd = mkstemp(logpath);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(dup2(fd, 2), 0);
	close(fd);
}

/* The log's lines without their time stamps, joined by '|'. */
static char *lines(void)
{
	static char all[8192];
	char line[2048];
	FILE *f;

	log_flush();
	all[0] = 0;
	f = fopen(logpath, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ' ');
		line[strcspn(line, "\n")] = 0;
		strncat(all, all[0] ? "|" : "", sizeof(all) - strlen(all) - 1);
		strncat(all, p ? p + 1 : line, sizeof(all) - strlen(all) - 1);
	}
	fclose(f);
	unlink(logpath);
	return all;
}

START_TEST(log_coalesces_equal_lines_and_counts_them)
{
	capture_stderr();
	log_set_coalesce_window(60000);
	for (int i = 0; i < 500; i++)
		log_warn(RPL_W_REFUSED, "session from %s refused", "10.0.0.9");
	log_info(RPL_I_SESSION, "session established");
	ck_assert_str_eq(lines(), "WARN  RPL0427W session from 10.0.0.9 refused"
				  "|WARN  RPL0427W last message repeated 499 times"
				  "|INFO  RPL0422I session established");
}
END_TEST

START_TEST(log_does_not_coalesce_what_differs)
{
	capture_stderr();
	log_set_coalesce_window(60000);
	log_warn(RPL_W_REFUSED, "one");
	log_error(RPL_W_REFUSED, "one");  /* another level */
	log_error(RPL_E_PROTOCOL, "one"); /* another message */
	log_error(RPL_E_PROTOCOL, "two"); /* another text */
	ck_assert_str_eq(lines(), "WARN  RPL0427W one|ERROR RPL0427W one|ERROR RPL0409E one"
				  "|ERROR RPL0409E two");
}
END_TEST

START_TEST(log_prints_an_equal_line_again_after_the_window)
{
	capture_stderr();
	log_set_coalesce_window(100);
	log_info(RPL_I_SESSION, "x");
	log_info(RPL_I_SESSION, "x");
	usleep(150 * 1000);
	log_info(RPL_I_SESSION, "x");
	log_info(RPL_I_SESSION, "x");
	ck_assert_str_eq(lines(), "INFO  RPL0422I x|INFO  RPL0422I last message repeated 1 times"
				  "|INFO  RPL0422I x|INFO  RPL0422I last message repeated 1 times");
}
END_TEST

START_TEST(log_line_is_one_line_whatever_the_caller_passed)
{
	capture_stderr();
	log_warn(RPL_E_NAME_MISMATCH, "this is server B, not %s",
		 "A\nRPL0420I forged line\xff\xfe");
	ck_assert_str_eq(lines(),
			 "WARN  RPL0415E this is server B, not A\\nRPL0420I forged line\\xff\\xfe");
}
END_TEST

/* ---- the store --------------------------------------------------------- */

static char tmpdir[64];
static struct store st;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb, (void)flag, (void)f;
	return remove(p);
}

static void store_setup(void)
{
	strcpy(tmpdir, "/tmp/rpl-test-actlog.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(store_open(&st, tmpdir, 256 << 20, 1), 0);
}

static void store_teardown(void)
{
	store_close(&st);
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static MDB_txn *begin(int write)
{
	MDB_txn *txn = NULL;
	ck_assert_int_eq(store_begin(&st, write, &txn), 0);
	return txn;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * US + ts.tv_nsec / 1000;
}

struct seen {
	int n, security;
	struct actlog_entry last;
	char texts[64][64];
	int64_t times[64];
};

static int collect(const struct actlog_entry *e, void *arg)
{
	struct seen *s = arg;
	if (s->n < 64) {
		snprintf(s->texts[s->n], sizeof(s->texts[0]), "%.63s", e->text);
		s->times[s->n] = e->time_us;
	}
	s->n++;
	s->security += store_actlog_is_security(e->msgid);
	s->last = *e;
	return 0;
}

static struct seen all_entries(void)
{
	struct seen s;
	MDB_txn *txn = begin(0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(store_actlog_each(txn, &st, 0, collect, &s), 0);
	store_abort(txn);
	return s;
}

START_TEST(actlog_entry_is_valid_utf8_without_control_characters)
{
	struct seen s;
	MDB_txn *txn = begin(1);

	ck_assert_int_eq(store_actlog_add(txn, &st, RPL_W_REFUSED, "session from %s refused: %s",
					  "EVE",
					  "this is server B, not A\nRPL0420I forged\xff\xfe"),
			 0);
	ck_assert_int_eq(store_commit(txn), 0);
	s = all_entries();
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.last.msgid, "RPL0427W");
	ck_assert_str_eq(
		s.last.text,
		"session from EVE refused: this is server B, not A\\nRPL0420I forged\\xff\\xfe");
	ck_assert(valid_utf8(s.last.text));
}
END_TEST

/* What the version before this one wrote: msgid and text only, the text
 * raw from the network. */
static void put_old_record(int64_t t, const char *msgid, const void *text, size_t n)
{
	uint8_t key[12] = { 0 };
	struct wbuf w;
	MDB_val k = { sizeof(key), key }, v;
	MDB_txn *txn = begin(1);

	for (int i = 7; i >= 0; i--, t >>= 8)
		key[i] = (uint8_t)t;
	key[11] = 7;
	wbuf_init(&w);
	tlv_put_str(&w, 1, msgid);
	tlv_put(&w, 2, text, n);
	v.mv_size = w.len;
	v.mv_data = w.p;
	ck_assert_int_eq(mdb_put(txn, st.actlog, &k, &v, 0), 0);
	ck_assert_int_eq(store_commit(txn), 0);
	wbuf_free(&w);
}

START_TEST(actlog_reads_records_of_the_previous_version_escaped)
{
	struct seen s;
	int64_t t = now_us() - 10 * US;
	MDB_txn *txn;

	put_old_record(t, "RPL0427W", "refused: not A\nRPL0420I x\xff", 26);
	put_old_record(t + 1, "RPL0420I", "server started", 14);
	put_old_record(t + 2, "bogus", "x", 1);
	s = all_entries();
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.texts[0], "refused: not A\\nRPL0420I x\\xff");
	ck_assert_str_eq(s.texts[1], "server started");
	ck_assert_str_eq(s.last.msgid, "RPL0205E"); /* shown, not dropped */
	ck_assert_int_eq(s.last.repeated, 1);
	/* Counters that the old version did not keep are rebuilt. */
	txn = begin(1);
	ck_assert_int_eq(store_actlog_add(txn, &st, RPL_I_SESSION, "new"), 0);
	ck_assert_int_eq(store_commit(txn), 0);
	ck_assert_int_eq(all_entries().n, 4);
}
END_TEST

START_TEST(actlog_coalesces_an_entry_equal_to_the_newest_within_a_minute)
{
	int64_t t0 = now_us() - 600 * US;
	struct seen s;
	MDB_txn *txn = begin(1);

	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(store_actlog_add_at(txn, &st, t0 + i * US, RPL_W_REFUSED,
						     "session from %s refused", "10.0.0.9"),
				 0);
	ck_assert_int_eq(store_commit(txn), 0);
	s = all_entries();
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(s.last.repeated, 5);
	ck_assert_int_eq(s.last.time_us, t0);
	ck_assert_int_eq(s.last.last_us, t0 + 4 * US);

	txn = begin(1);
	/* Another text, then the first text again: both are new entries. */
	ck_assert_int_eq(store_actlog_add_at(txn, &st, t0 + 5 * US, RPL_W_REFUSED, "other"), 0);
	ck_assert_int_eq(store_actlog_add_at(txn, &st, t0 + 6 * US, RPL_W_REFUSED,
					     "session from 10.0.0.9 refused"),
			 0);
	/* Same text, another message ID: new. */
	ck_assert_int_eq(store_actlog_add_at(txn, &st, t0 + 7 * US, RPL_W_AUTH_FAILED,
					     "session from 10.0.0.9 refused"),
			 0);
	/* Same as the newest but a minute after it began: new. */
	ck_assert_int_eq(store_actlog_add_at(txn, &st, t0 + 67 * US + 1, RPL_W_AUTH_FAILED,
					     "session from 10.0.0.9 refused"),
			 0);
	ck_assert_int_eq(store_commit(txn), 0);
	s = all_entries();
	ck_assert_int_eq(s.n, 5);
	ck_assert_int_eq(s.last.repeated, 1);

	/* Through store_actlog_add (now): the same rule. */
	txn = begin(1);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(store_actlog_add(txn, &st, RPL_I_SESSION, "flood"), 0);
	ck_assert_int_eq(store_commit(txn), 0);
	s = all_entries();
	ck_assert_int_eq(s.n, 6);
	ck_assert_int_eq(s.last.repeated, 100);
}
END_TEST

START_TEST(actlog_prune_removes_entries_older_than_the_retention)
{
	struct actlog_prune_report r;
	int64_t now = now_us();
	struct seen s;
	MDB_txn *txn = begin(1);

	ck_assert_int_eq(store_actlog_add_at(txn, &st, now - 40 * DAY, RPL_W_REFUSED, "40 days"),
			 0);
	ck_assert_int_eq(store_actlog_add_at(txn, &st, now - 31 * DAY, RPL_I_SESSION, "31 days"),
			 0);
	ck_assert_int_eq(store_actlog_add_at(txn, &st, now - 29 * DAY, RPL_I_SESSION, "29 days"),
			 0);
	ck_assert_int_eq(store_actlog_add_at(txn, &st, now - 2 * DAY, RPL_I_PINNED, "2 days"), 0);
	ck_assert_int_eq(store_actlog_add_at(txn, &st, now - 1 * US, RPL_I_SESSION, "now"), 0);
	ck_assert_int_eq(store_actlog_prune(txn, &st, now, 30, &r), 0);
	ck_assert_int_eq(store_commit(txn), 0);
	ck_assert_uint_eq(r.by_age, 2);
	ck_assert_uint_eq(r.total, 3);
	ck_assert_uint_eq(r.routine, 2);
	s = all_entries();
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.texts[0], "29 days");

	/* A shorter retention takes security events too: age wins. */
	txn = begin(1);
	ck_assert_int_eq(store_actlog_prune(txn, &st, now, 1, &r), 0);
	ck_assert_int_eq(store_commit(txn), 0);
	ck_assert_uint_eq(r.by_age, 2);
	s = all_entries();
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.texts[0], "now");
}
END_TEST

START_TEST(actlog_cap_evicts_routine_entries_before_security_events)
{
	struct actlog_prune_report r;
	int64_t t0 = now_us() - 3600 * US;
	struct seen s;
	MDB_txn *txn;
	int failed = 0;

	st.actlog_routine_max = 100;
	st.actlog_total_max = 1000;
	txn = begin(1);
	/* Security events first (the oldest), among routine entries... */
	for (int i = 0; i < 40; i++) {
		failed |=
			store_actlog_add_at(txn, &st, t0 + 2 * i,
					    i % 2 ? RPL_I_PINNED : RPL_W_REFUSED, "security %d", i);
		failed |= store_actlog_add_at(txn, &st, t0 + 2 * i + 1, RPL_I_SESSION,
					      "early routine %d", i);
	}
	/* ...then a flood of routine entries, each one different. */
	for (int i = 0; i < 5000; i++)
		failed |= store_actlog_add_at(txn, &st, t0 + 1000 + i, RPL_I_SESSION, "routine %d",
					      i);
	ck_assert_int_eq(failed, 0);
	ck_assert_int_eq(store_commit(txn), 0);
	s = all_entries();
	ck_assert_int_eq(s.security, 40);
	ck_assert_int_le(s.n - s.security, 100);
	ck_assert_int_ge(s.n - s.security, 90);
	ck_assert_str_eq(s.texts[0], "security 0");
	ck_assert_str_eq(s.last.text, "routine 4999"); /* the newest are kept */

	/* The counters agree with a recount, and the report names the evictions. */
	txn = begin(1);
	ck_assert_int_eq(store_actlog_prune(txn, &st, now_us(), 30, &r), 0);
	ck_assert_int_eq(store_commit(txn), 0);
	ck_assert_uint_eq(r.total, (uint64_t)s.n);
	ck_assert_uint_eq(r.routine, (uint64_t)(s.n - s.security));
	ck_assert_uint_eq(r.routine_evicted, (uint64_t)(5040 - (s.n - s.security)));
	ck_assert_uint_eq(r.security_evicted, 0);
}
END_TEST

START_TEST(actlog_hard_cap_bounds_a_flood_of_security_events)
{
	struct actlog_prune_report r;
	int64_t t0 = now_us() - 3600 * US;
	struct seen s;
	MDB_txn *txn;
	int failed = 0;

	st.actlog_routine_max = 50;
	st.actlog_total_max = 200;
	txn = begin(1);
	for (int i = 0; i < 3000; i++)
		failed |= store_actlog_add_at(
			txn, &st, t0 + i, i % 3 ? RPL_W_AUTH_FAILED : RPL_I_SESSION, "event %d", i);
	ck_assert_int_eq(failed, 0);
	ck_assert_int_eq(store_commit(txn), 0);
	s = all_entries();
	ck_assert_int_le(s.n, 200);
	ck_assert_int_le(s.n - s.security, 50);
	ck_assert_str_eq(s.last.text, "event 2999");
	txn = begin(1);
	ck_assert_int_eq(store_actlog_prune(txn, &st, now_us(), 30, &r), 0);
	ck_assert_int_eq(store_commit(txn), 0);
	ck_assert_uint_gt(r.security_evicted, 0);
	ck_assert_uint_eq(r.security_evicted + r.routine_evicted + r.total, 3000);
	/* Reported once: the counters start again. */
	txn = begin(1);
	ck_assert_int_eq(store_actlog_prune(txn, &st, now_us(), 30, &r), 0);
	ck_assert_int_eq(store_commit(txn), 0);
	ck_assert_uint_eq(r.security_evicted + r.routine_evicted, 0);
}
END_TEST

static long file_size(const char *name)
{
	char p[128];
	struct stat sb;
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	ck_assert_int_eq(stat(p, &sb), 0);
	return (long)sb.st_size;
}

/* The default caps bound data.mdb: 200,000 entries (four times the hard cap;
 * every other one a security event, texts of 150 bytes) in rounds of 50,000.
 * Once the log is full (round 2) further floods do not grow the file: freed
 * pages are reused. */
START_TEST(actlog_storage_stays_bounded_under_a_flood)
{
	char pad[121];
	int64_t t0 = now_us() - 3600 * US;
	long size[4];
	struct seen s;
	int failed = 0;

	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = 0;
	for (int round = 0; round < 4; round++) {
		for (int b = 0; b < 50; b++) {
			MDB_txn *txn = begin(1);
			for (int i = 0; i < 1000; i++) {
				int n = round * 50000 + b * 1000 + i;
				failed |= store_actlog_add_at(txn, &st, t0 + n,
							      i % 2 ? RPL_I_SESSION : RPL_W_REFUSED,
							      "entry %7d %s", n, pad);
			}
			ck_assert_int_eq(store_commit(txn), 0);
		}
		size[round] = file_size("data.mdb");
	}
	ck_assert_int_eq(failed, 0);
	s = all_entries();
	printf("MEASURE actlog: 200000 entries (half security events, 150-byte texts), default caps "
	       "(%d routine, %d in all): %d kept (%d security); data.mdb after each 50000: "
	       "%ld, %ld, %ld, %ld KiB\n",
	       ACTLOG_ROUTINE_MAX, ACTLOG_TOTAL_MAX, s.n, s.security, size[0] / 1024,
	       size[1] / 1024, size[2] / 1024, size[3] / 1024);
	fflush(stdout);
	ck_assert_int_le(s.n, ACTLOG_TOTAL_MAX);
	ck_assert_int_le(s.n - s.security, ACTLOG_ROUTINE_MAX);
	ck_assert_int_le(size[3], size[1] + size[1] / 10);
	ck_assert_int_le(size[3], 32L << 20);
}
END_TEST

START_TEST(actlog_range_walks_both_ways_within_its_bounds)
{
	int64_t t0 = now_us() - 3600 * US;
	struct seen s;
	MDB_txn *txn = begin(1);

	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(
			store_actlog_add_at(txn, &st, t0 + i * US, RPL_I_SESSION, "e%d", i), 0);
	ck_assert_int_eq(store_commit(txn), 0);
	txn = begin(0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(store_actlog_range(txn, &st, t0 + 2 * US, t0 + 5 * US, 0, collect, &s), 0);
	ck_assert_int_eq(s.n, 3); /* begin included, end excluded */
	ck_assert_str_eq(s.texts[0], "e2");
	ck_assert_str_eq(s.texts[2], "e4");
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(store_actlog_range(txn, &st, t0 + 2 * US, t0 + 5 * US, 1, collect, &s), 0);
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.texts[0], "e4");
	ck_assert_str_eq(s.texts[2], "e2");
	memset(&s, 0, sizeof(s)); /* an end past the newest entry */
	ck_assert_int_eq(store_actlog_range(txn, &st, t0 + 8 * US, INT64_MAX, 1, collect, &s), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_str_eq(s.texts[0], "e9");
	memset(&s, 0, sizeof(s)); /* nothing in range */
	ck_assert_int_eq(store_actlog_range(txn, &st, t0 - 10 * US, t0, 1, collect, &s), 0);
	ck_assert_int_eq(s.n, 0);
	store_abort(txn);
}
END_TEST

/* ---- times as administrators type them ---------------------------------- */

START_TEST(times_parse_as_iso8601_clock_and_relative)
{
	const int64_t now = 1795676400 + 3 * 3600 + 25 * 60; /* 2026-11-26T10:25:00Z */
	int64_t t, span;

	setenv("TZ", "CET-1", 1); /* local = UTC+1, no DST rules */
	tzset();
	ck_assert_int_eq(clock_parse_when("2026-11-26T07:00:00Z", now, &t, &span), 0);
	ck_assert_int_eq(t, 1795676400 * US);
	ck_assert_int_eq(span, US); /* an ENDTIME includes the second it names */
	ck_assert_int_eq(clock_parse_when("2026-11-26T07:00Z", now, &t, &span), 0);
	ck_assert_int_eq(t, 1795676400 * US);
	ck_assert_int_eq(span, 60 * US);
	ck_assert_int_eq(clock_parse_when("2026-11-26T08:00:00", now, &t, &span), 0); /* local */
	ck_assert_int_eq(t, 1795676400 * US);
	ck_assert_int_eq(clock_parse_when("2026-11-26 08:00", now, &t, &span), 0);
	ck_assert_int_eq(t, 1795676400 * US);
	ck_assert_int_eq(clock_parse_when("2026-11-26T09:00:00+02:00", now, &t, &span), 0);
	ck_assert_int_eq(t, 1795676400 * US);
	ck_assert_int_eq(clock_parse_when("2026-11-26T07:00:00.250Z", now, &t, &span), 0);
	ck_assert_int_eq(t, 1795676400 * US + 250000);
	ck_assert_int_eq(span, 1000);
	ck_assert_int_eq(clock_parse_when("2026-11-26T07:00:00.5Z", now, &t, &span), 0);
	ck_assert_int_eq(span, 100000);
	ck_assert_int_eq(clock_parse_when("2026-11-26", now, &t, &span), 0); /* local midnight */
	ck_assert_int_eq(t, (1795651200 - 3600) * US);
	ck_assert_int_eq(span, 86400 * US);
	ck_assert_int_eq(clock_parse_when("08:00", now, &t, &span), 0); /* today, local */
	ck_assert_int_eq(t, 1795676400 * US);
	ck_assert_int_eq(clock_parse_when("-30", now, &t, &span), 0);
	ck_assert_int_eq(t, (now - 1800) * US);
	ck_assert_int_eq(span, 1);
	ck_assert_int_eq(clock_parse_when("-2h", now, &t, &span), 0);
	ck_assert_int_eq(t, (now - 7200) * US);
	ck_assert_int_eq(clock_parse_when("-7d", now, &t, &span), 0);
	ck_assert_int_eq(t, (now - 7 * 86400) * US);
	ck_assert_int_eq(clock_parse_when("now", now, &t, &span), 0);
	ck_assert_int_eq(t, now * US);
	const char *bad[] = { "",
			      "yesterday",
			      "2026-13-01",
			      "2026-02-30T00:00",
			      "25:00",
			      "07:60",
			      "-",
			      "-5x",
			      "-3w",
			      "2026-11-26T07",
			      "2026-11-26T07:00:00Q",
			      "2026-11-26X07:00",
			      "-9999999999",
			      "7",
			      "12:00:00+25:00" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(clock_parse_when(bad[i], now, &t, &span) < 0, "'%s' accepted",
			      bad[i]);
}
END_TEST

/* ---- QUERY ACTLOG ------------------------------------------------------ */

static json_t *query(const char *line, json_t **columns)
{
	struct admin_cmd cmd;
	char err[256];
	ck_assert_int_eq(admin_parse(line, &cmd, err, sizeof(err)), 0);
	return admin_actlog_doc(&st, &cmd, columns);
}

static const char *field(json_t *arr, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(arr, i), key));
}

START_TEST(query_filters_by_range_text_and_message_number)
{
	int64_t now = now_us();
	json_t *doc, *cols;
	char line[256], when[40];
	MDB_txn *txn = begin(1);

	ck_assert_int_eq(store_actlog_add_at(txn, &st, now - 3 * 3600 * US, RPL_W_AUTH_FAILED,
					     "sign-on by server EVE failed"),
			 0);
	ck_assert_int_eq(store_actlog_add_at(txn, &st, now - 2 * 3600 * US, RPL_I_SESSION,
					     "session with BRAVO"),
			 0);
	ck_assert_int_eq(store_actlog_add_at(txn, &st, now - 20 * 60 * US, RPL_W_REFUSED,
					     "session from EVE refused"),
			 0);
	ck_assert_int_eq(store_actlog_add_at(txn, &st, now - 10 * 60 * US, RPL_I_SESSION,
					     "session with bravo again"),
			 0);
	ck_assert_int_eq(store_commit(txn), 0);

	doc = query("QUERY ACTLOG", &cols); /* the last hour */
	ck_assert_int_eq(json_array_size(doc), 2);
	ck_assert_str_eq(field(doc, 0, "message"), "session from EVE refused");
	ck_assert_int_eq(json_array_size(cols), 3);
	json_decref(doc), json_decref(cols);

	doc = query("QUERY ACTLOG BEGINTIME=-4h", &cols);
	ck_assert_int_eq(json_array_size(doc), 4);
	ck_assert_str_eq(field(doc, 0, "message_id"), "RPL0425W"); /* oldest first */
	json_decref(doc), json_decref(cols);

	doc = query("QUERY ACTLOG BEGINTIME=-4h ENDTIME=-90", &cols);
	ck_assert_int_eq(json_array_size(doc), 2);
	json_decref(doc), json_decref(cols);

	doc = query("QUERY ACTLOG ENDTIME=-90", &cols); /* the hour before ENDTIME */
	ck_assert_int_eq(json_array_size(doc), 1);
	ck_assert_str_eq(field(doc, 0, "message"), "session with BRAVO");
	json_decref(doc), json_decref(cols);

	doc = query("QUERY ACTLOG BEGINTIME=-1d SEARCH=Bravo", &cols);
	ck_assert_int_eq(json_array_size(doc), 2);
	json_decref(doc), json_decref(cols);

	doc = query("QUERY ACTLOG BEGINTIME=-1d SEARCH=\"from EVE\"", &cols);
	ck_assert_int_eq(json_array_size(doc), 1);
	json_decref(doc), json_decref(cols);

	doc = query("QUERY ACTLOG BEGINTIME=-1d MSGNO=425", &cols);
	ck_assert_int_eq(json_array_size(doc), 1);
	ck_assert_str_eq(field(doc, 0, "message"), "sign-on by server EVE failed");
	json_decref(doc), json_decref(cols);
	doc = query("QUERY ACTLOG BEGINTIME=-1d MSGNO=RPL0427W", &cols);
	ck_assert_int_eq(json_array_size(doc), 1);
	json_decref(doc), json_decref(cols);

	/* An ISO time from a reply works as BEGINTIME (it is included). */
	doc = query("QUERY ACTLOG BEGINTIME=-1d", &cols);
	snprintf(when, sizeof(when), "%s", field(doc, 2, "time"));
	json_decref(doc), json_decref(cols);
	snprintf(line, sizeof(line), "QUERY ACTLOG BEGINTIME=%s", when);
	doc = query(line, &cols);
	ck_assert_int_eq(json_array_size(doc), 2);
	json_decref(doc), json_decref(cols);

	doc = query("QUERY ACTLOG SINCE=30", &cols); /* kept from before */
	ck_assert_int_eq(json_array_size(doc), 2);
	json_decref(doc), json_decref(cols);

	const char *bad[] = { "QUERY ACTLOG BEGINTIME=soon",
			      "QUERY ACTLOG MSGNO=abc",
			      "QUERY ACTLOG BEGINTIME=-1h ENDTIME=-2h",
			      "QUERY ACTLOG BEGINTIME=-1h SINCE=5",
			      "QUERY ACTLOG COLOR=red",
			      "QUERY ACTLOG SINCE=x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		doc = query(bad[i], &cols);
		ck_assert_msg(json_is_object(doc) && json_is_false(json_object_get(doc, "ok")),
			      "'%s' accepted", bad[i]);
		ck_assert_ptr_null(cols);
		json_decref(doc);
	}
}
END_TEST

START_TEST(query_returns_at_most_1000_newest_entries_and_says_so)
{
	int64_t t0 = now_us() - 30 * 60 * US;
	json_t *doc, *cols, *note;
	MDB_txn *txn = begin(1);
	char *dump, line[128];
	int failed = 0;

	for (int i = 0; i < 2500; i++)
		failed |=
			store_actlog_add_at(txn, &st, t0 + i * 1000, RPL_I_SESSION, "entry %d", i);
	failed |= store_actlog_add_at(txn, &st, t0 + 2500 * 1000, RPL_I_SESSION, "entry 2499");
	ck_assert_int_eq(failed, 0);
	ck_assert_int_eq(store_commit(txn), 0);

	doc = query("QUERY ACTLOG", &cols);
	ck_assert_int_eq(json_array_size(doc), 1001);
	ck_assert_str_eq(field(doc, 0, "message"), "entry 1500");
	ck_assert_str_eq(field(doc, 999, "message"), "entry 2499");
	/* The coalesced entry says so. */
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(doc, 999), "repeated")),
			 2);
	ck_assert_int_eq(json_array_size(cols), 4);
	note = json_array_get(doc, 1000);
	ck_assert(json_is_null(json_object_get(note, "time")));
	ck_assert_str_eq(field(doc, 1000, "message_id"), "RPL0520W");
	ck_assert_int_eq(json_integer_value(json_object_get(note, "omitted")), 1500);
	ck_assert_ptr_nonnull(strstr(field(doc, 1000, "message"), "1500 more"));
	ck_assert_ptr_nonnull(strstr(field(doc, 1000, "message"), "BEGINTIME/ENDTIME"));
	dump = json_dumps(doc, 0);
	ck_assert_ptr_nonnull(dump);
	ck_assert_uint_lt(strlen(dump), 200 * 1000);
	free(dump);

	/* Exactly 1,000 from the time of the first one shown: no note. */
	snprintf(line, sizeof(line), "QUERY ACTLOG BEGINTIME=%s", field(doc, 0, "time"));
	json_decref(doc), json_decref(cols);
	doc = query(line, &cols);
	ck_assert_int_eq(json_array_size(doc), 1000);
	ck_assert_str_eq(field(doc, 999, "message"), "entry 2499");
	json_decref(doc), json_decref(cols);
	/* A filter counts only what matches: 2, 20-29, 200-299, 2000-2499. */
	doc = query("QUERY ACTLOG SEARCH=\"entry 2\"", &cols);
	ck_assert_int_eq(json_array_size(doc), 1 + 10 + 100 + 500);
	json_decref(doc), json_decref(cols);
	/* 1, 10-19, 100-199, 1000-1999: 1111, so the newest 1,000 and a note. */
	doc = query("QUERY ACTLOG SEARCH=\"entry 1\"", &cols);
	ck_assert_int_eq(json_array_size(doc), 1001);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(doc, 1000), "omitted")),
			 111);
	json_decref(doc), json_decref(cols);
}
END_TEST

/* ---- SET ACTLOGRETENTION's replpeer.conf -------------------------------- */

static char confdir[64], confpath[128];

static void conf_setup(void)
{
	strcpy(confdir, "/tmp/rpl-test-aconf.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(confdir));
	snprintf(confpath, sizeof(confpath), "%s/replpeer.conf", confdir);
}

static void conf_teardown(void) { nftw(confdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS); }

static int count_lines(const char *needle)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(confpath, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		n += strncmp(line, needle, strlen(needle)) == 0;
	fclose(f);
	return n;
}

START_TEST(retention_is_written_in_place_and_read_back)
{
	struct rpl_conf c;
	char err[256];
	int fd;

	ck_assert_int_eq(conf_write_template(confpath, "ALPHA", 1500, NULL), 0);
	ck_assert_int_eq(count_lines("#ACTLOGRETENTION 30\n"), 1);
	ck_assert_int_eq(conf_update_file(confpath, "actlogretention", "7", NULL, err, sizeof(err)),
			 0);
	ck_assert_int_eq(count_lines("#ACTLOGRETENTION"), 0); /* uncommented in place */
	ck_assert_int_eq(count_lines("ACTLOGRETENTION 7\n"), 1);
	ck_assert_int_eq(conf_load(confpath, &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.actlogretention, 7);
	ck_assert_str_eq(c.servername, "ALPHA");

	ck_assert_int_eq(conf_update_file(confpath, "ACTLOGRETENTION", "90", &fd, err, sizeof(err)),
			 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(count_lines("ACTLOGRETENTION"), 1);
	ck_assert_int_eq(count_lines("ACTLOGRETENTION 90\n"), 1);
	/* The new file is locked: a second 'serve' would be refused. */
	{
		int other = open(confpath, O_RDONLY);
		ck_assert_int_ge(other, 0);
		ck_assert_int_lt(flock(other, LOCK_EX | LOCK_NB), 0);
		close(other);
	}
	close(fd);

	ck_assert_int_lt(conf_update_file(confpath, "ACTLOGRETENTION", "0", NULL, err, sizeof(err)),
			 0);
	ck_assert_int_lt(conf_update_file(confpath, "ACTLOGRETENTION", "9\nSERVERNAME X", NULL, err,
					  sizeof(err)),
			 0);
	ck_assert_int_lt(conf_update_file(confpath, "NOSUCHKEY", "1", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(conf_load(confpath, &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.actlogretention, 90);
}
END_TEST

START_TEST(retention_line_is_appended_when_the_file_lacks_it)
{
	struct rpl_conf c;
	char err[256];
	FILE *f = fopen(confpath, "w");

	ck_assert_ptr_nonnull(f);
	fputs("SERVERNAME ALPHA\n# days the log keeps entries\nactlogretention 5 # short\nACTLOGRETENTION 6",
	      f);
	fclose(f);
	chmod(confpath, 0640);
	ck_assert_int_eq(
		conf_update_file(confpath, "ACTLOGRETENTION", "12", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(count_lines("ACTLOGRETENTION 12\n"), 2); /* both active lines */
	ck_assert_int_eq(count_lines("# days the log keeps entries\n"), 1);
	ck_assert_int_eq(conf_load(confpath, &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.actlogretention, 12);
	{
		struct stat sb;
		ck_assert_int_eq(stat(confpath, &sb), 0);
		ck_assert_int_eq(sb.st_mode & 0777, 0640); /* mode kept */
	}
	f = fopen(confpath, "w");
	fputs("SERVERNAME ALPHA", f);
	fclose(f);
	ck_assert_int_eq(conf_update_file(confpath, "ACTLOGRETENTION", "3", NULL, err, sizeof(err)),
			 0);
	ck_assert_int_eq(count_lines("SERVERNAME ALPHA\n"), 1);
	ck_assert_int_eq(count_lines("ACTLOGRETENTION 3\n"), 1);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("actlog");
	TCase *tc = tcase_create("escape");
	tcase_add_test(tc, escape_keeps_printable_text_and_valid_utf8);
	tcase_add_test(tc, escape_renders_control_characters_and_backslash);
	tcase_add_test(tc, escape_renders_invalid_utf8_byte_by_byte);
	tcase_add_test(tc, escape_cuts_at_a_whole_character_with_a_marker);
	tcase_add_test(tc, escape_caps_the_length);
	tcase_add_test(tc, escape_output_is_always_one_line_of_valid_utf8);
	tcase_add_test(tc, times_parse_as_iso8601_clock_and_relative);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_test(tc, log_coalesces_equal_lines_and_counts_them);
	tcase_add_test(tc, log_does_not_coalesce_what_differs);
	tcase_add_test(tc, log_prints_an_equal_line_again_after_the_window);
	tcase_add_test(tc, log_line_is_one_line_whatever_the_caller_passed);
	suite_add_tcase(s, tc);

	tc = tcase_create("store");
	tcase_add_checked_fixture(tc, store_setup, store_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, actlog_entry_is_valid_utf8_without_control_characters);
	tcase_add_test(tc, actlog_reads_records_of_the_previous_version_escaped);
	tcase_add_test(tc, actlog_coalesces_an_entry_equal_to_the_newest_within_a_minute);
	tcase_add_test(tc, actlog_prune_removes_entries_older_than_the_retention);
	tcase_add_test(tc, actlog_cap_evicts_routine_entries_before_security_events);
	tcase_add_test(tc, actlog_hard_cap_bounds_a_flood_of_security_events);
	tcase_add_test(tc, actlog_storage_stays_bounded_under_a_flood);
	tcase_add_test(tc, actlog_range_walks_both_ways_within_its_bounds);
	tcase_add_test(tc, query_filters_by_range_text_and_message_number);
	tcase_add_test(tc, query_returns_at_most_1000_newest_entries_and_says_so);
	suite_add_tcase(s, tc);

	tc = tcase_create("retention");
	tcase_add_checked_fixture(tc, conf_setup, conf_teardown);
	tcase_add_test(tc, retention_is_written_in_place_and_read_back);
	tcase_add_test(tc, retention_line_is_appended_when_the_file_lacks_it);
	suite_add_tcase(s, tc);
	return s;
}

#include "unit.h"
