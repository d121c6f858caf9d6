/* Replication's pure parts and records: the R_ENTRIES entry codec, the
 * replication state and schedule records (round trip, malformed values,
 * verify), the default target and the disabled flag, and when a schedule
 * is due next (periods, start times, DST in a European time zone). */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../store/env.h"
#include "../../store/repl.h"
#include "../../store/schedule.h"
#include "../../store/verify.h"
#include "../../sync/repl_wire.h"
#include "../../sync/schedule.h"
#include "../../util/msg.h"

static char tmpdir[64];
static struct store st;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb, (void)flag, (void)f;
	return remove(p);
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/rpl-test-repl.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(store_open(&st, tmpdir, 64 << 20, 1), 0);
}

static void teardown(void)
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

START_TEST(entries_pack_and_unpack_every_field)
{
	struct repl_entry e, back;
	uint8_t packed[REPL_ENTRY_LEN];

	memset(&e, 0, sizeof(e));
	for (int i = 0; i < HASH_LEN; i++) {
		e.name_hash[i] = (uint8_t)i;
		e.digest[i] = (uint8_t)(255 - i);
	}
	e.size = 0x0102030405060708ull;
	e.mtime_ns = -1234567890123456789ll;
	e.mode = 0755;
	repl_entry_pack(&e, packed);
	repl_entry_unpack(packed, &back);
	ck_assert(repl_entry_same(&e, &back));
	back.mode = 0644;
	ck_assert(!repl_entry_same(&e, &back));
	back = e;
	back.mtime_ns++;
	ck_assert(!repl_entry_same(&e, &back));
}
END_TEST

START_TEST(replication_records_round_trip_and_are_filed_by_node_and_target)
{
	struct repl_rec r, got;
	MDB_txn *txn = begin(1);

	memset(&r, 0, sizeof(r));
	strcpy(r.node, "Docs");
	strcpy(r.target, "Bravo");
	r.state = REPL_COMPLETED;
	r.last_start = 100;
	r.last_end = 200;
	r.last_msg = RPL_I_REPL_DONE;
	strcpy(r.last_message, "the replica holds 3 objects");
	r.last.objects = 3;
	r.last.bytes = 300;
	r.last.transferred = 150;
	r.done = r.last;
	r.last_success = 200;
	r.runs = 7;
	ck_assert_int_eq(store_repl_put(txn, &st, &r), 0);
	ck_assert_int_eq(store_repl_get(txn, &st, "DOCS", "bravo", &got), 0);
	ck_assert_str_eq(got.node, "Docs");
	ck_assert_int_eq(got.state, REPL_COMPLETED);
	ck_assert_uint_eq(got.done.transferred, 150);
	ck_assert_uint_eq(got.runs, 7);
	ck_assert_str_eq(got.last_message, "the replica holds 3 objects");
	ck_assert_int_eq(store_repl_get(txn, &st, "docs", "charlie", &got), -RPL_E_NOTFOUND);
	strcpy(r.node, "bad name!");
	ck_assert_int_eq(store_repl_put(txn, &st, &r), -RPL_E_BADARG);
	ck_assert_int_eq(store_commit(txn), 0);
	ck_assert_str_eq(repl_state_name(REPL_CANCELLED), "cancelled");
}
END_TEST

START_TEST(default_target_and_disabled_flag_persist)
{
	char name[RPL_NAME_MAX + 1], why[128];
	MDB_txn *txn = begin(1);

	ck_assert_int_eq(store_repl_server_get(txn, &st, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "");
	ck_assert_int_eq(store_repl_server_set(txn, &st, "BRAVO"), 0);
	ck_assert_int_eq(store_repl_server_set(txn, &st, "no good"), -RPL_E_BADNAME);
	ck_assert_int_eq(store_repl_disabled(txn, &st, why, sizeof(why)), 0);
	ck_assert_int_eq(store_repl_set_disabled(txn, &st, "restored"), 0);
	ck_assert_int_eq(store_commit(txn), 0);
	txn = begin(0);
	ck_assert_int_eq(store_repl_server_get(txn, &st, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "BRAVO");
	ck_assert_int_eq(store_repl_disabled(txn, &st, why, sizeof(why)), 1);
	ck_assert_str_eq(why, "restored");
	store_abort(txn);
	txn = begin(1);
	ck_assert_int_eq(store_repl_set_disabled(txn, &st, NULL), 0);
	ck_assert_int_eq(store_repl_disabled(txn, &st, why, sizeof(why)), 0);
	ck_assert_int_eq(store_commit(txn), 0);
}
END_TEST

START_TEST(schedules_round_trip_and_refuse_short_periods)
{
	struct sched_rec r, got;
	MDB_txn *txn = begin(1);

	memset(&r, 0, sizeof(r));
	strcpy(r.name, "nightly");
	strcpy(r.cmd, "REPLICATE NODE *");
	r.period = 86400;
	r.starttime = 2 * 60;
	r.duration = 4 * 3600;
	r.active = 1;
	r.last_ok = -1;
	ck_assert_int_eq(store_sched_put(txn, &st, &r), 0);
	ck_assert_int_eq(store_sched_get(txn, &st, "NIGHTLY", &got), 0);
	ck_assert_str_eq(got.cmd, "REPLICATE NODE *");
	ck_assert_int_eq(got.starttime, 120);
	ck_assert_int_eq(got.last_ok, -1);
	ck_assert_int_eq(got.duration, 14400);
	r.period = 9;
	ck_assert_int_eq(store_sched_put(txn, &st, &r), -RPL_E_BADARG);
	ck_assert_int_eq(store_sched_del(txn, &st, "nightly"), 0);
	ck_assert_int_eq(store_sched_del(txn, &st, "nightly"), -RPL_E_NOTFOUND);
	ck_assert_int_eq(store_commit(txn), 0);
}
END_TEST

START_TEST(verify_decodes_replication_and_schedule_records)
{
	struct verify_opts o;
	struct verify_report rep;
	struct repl_rec r;
	MDB_txn *txn = begin(1);
	MDB_val k = { 5, "X/BAD" }, v = { 3, "\x00\x01\x02" };

	memset(&r, 0, sizeof(r));
	strcpy(r.node, "n");
	strcpy(r.target, "B");
	ck_assert_int_eq(store_repl_put(txn, &st, &r), 0);
	ck_assert_int_eq(store_commit(txn), 0);
	memset(&o, 0, sizeof(o));
	txn = begin(0);
	ck_assert_int_eq(store_verify(txn, &st, &o, &rep), 0);
	store_abort(txn);
	ck_assert_uint_eq(rep.faults, 0);
	txn = begin(1);
	ck_assert_int_eq(mdb_put(txn, st.replstate, &k, &v, 0), 0);
	ck_assert_int_eq(store_commit(txn), 0);
	txn = begin(0);
	ck_assert_int_eq(store_verify(txn, &st, &o, &rep), 0);
	store_abort(txn);
	ck_assert_uint_eq(rep.faults, 1);
}
END_TEST

static int64_t local_time(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900,
			 .tm_mon = mo - 1,
			 .tm_mday = d,
			 .tm_hour = h,
			 .tm_min = mi,
			 .tm_isdst = -1 };
	return (int64_t)mktime(&tm);
}

static void local_hm(int64_t t, int *h, int *m)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	*h = tm.tm_hour;
	*m = tm.tm_min;
}

START_TEST(a_daily_start_time_stays_at_its_wall_clock_time_across_dst)
{
	struct sched_rec r;
	int64_t now, next;
	int h, m;

	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	memset(&r, 0, sizeof(r));
	r.period = 86400;
	r.starttime = 1 * 60 + 30;
	/* Spring: the night of 29 March 2026 has 23 hours. */
	now = local_time(2026, 3, 29, 1, 31);
	next = sched_next_after(&r, now);
	local_hm(next, &h, &m);
	ck_assert_int_eq(h * 60 + m, 90);
	ck_assert_int_eq(next - local_time(2026, 3, 29, 1, 30), 23 * 3600);
	/* Autumn: the night of 25 October 2026 has 25 hours. */
	now = local_time(2026, 10, 25, 1, 31);
	next = sched_next_after(&r, now);
	local_hm(next, &h, &m);
	ck_assert_int_eq(h * 60 + m, 90);
	ck_assert_int_eq(next - now, 25 * 3600 - 60);
	/* Before today's start time: today. */
	now = local_time(2026, 6, 1, 0, 10);
	ck_assert_int_eq(sched_next_after(&r, now), local_time(2026, 6, 1, 1, 30));
	unsetenv("TZ");
	tzset();
}
END_TEST

START_TEST(periods_without_a_start_time_count_from_now)
{
	struct sched_rec r;

	memset(&r, 0, sizeof(r));
	r.period = 600;
	r.starttime = -1;
	ck_assert_int_eq(sched_next_after(&r, 1000000), 1000600);
	/* Sub-day periods with a start time: on the grid from it. */
	setenv("TZ", "UTC", 1);
	tzset();
	r.period = 3600;
	r.starttime = 30;
	ck_assert_int_eq(sched_next_after(&r, local_time(2026, 5, 5, 7, 45)),
			 local_time(2026, 5, 5, 8, 30));
	ck_assert_int_eq(sched_next_after(&r, local_time(2026, 5, 5, 0, 10)),
			 local_time(2026, 5, 5, 0, 30));
	unsetenv("TZ");
	tzset();
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("repl");
	TCase *tc = tcase_create("repl");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, entries_pack_and_unpack_every_field);
	tcase_add_test(tc, replication_records_round_trip_and_are_filed_by_node_and_target);
	tcase_add_test(tc, default_target_and_disabled_flag_persist);
	tcase_add_test(tc, schedules_round_trip_and_refuse_short_periods);
	tcase_add_test(tc, verify_decodes_replication_and_schedule_records);
	tcase_add_test(tc, a_daily_start_time_stays_at_its_wall_clock_time_across_dst);
	tcase_add_test(tc, periods_without_a_start_time_count_from_now);
	suite_add_tcase(s, tc);
	return s;
}

#include "unit.h"
