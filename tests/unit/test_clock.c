/* util/clock: days left rounded to the nearest day, negative once past. */
#include <check.h>

#include "../../util/clock.h"

#define DAY 86400

START_TEST(a_fresh_3650_day_certificate_shows_3650_days_all_its_first_half_day)
{
	int64_t now = 1800000000, not_after = now + 3650 * (int64_t)DAY;
	ck_assert_int_eq(clock_days_between(now, not_after), 3650);
	ck_assert_int_eq(clock_days_between(now + 1, not_after), 3650);
	ck_assert_int_eq(clock_days_between(now + DAY / 2 - 1, not_after), 3650);
	ck_assert_int_eq(clock_days_between(now + DAY / 2 + 1, not_after), 3649);
}
END_TEST

START_TEST(the_last_half_day_shows_0_and_an_expired_certificate_a_negative_count)
{
	int64_t not_after = 1800000000;
	ck_assert_int_eq(clock_days_between(not_after - DAY / 2 - 1, not_after), 1);
	ck_assert_int_eq(clock_days_between(not_after - 10, not_after), 0);
	ck_assert_int_eq(clock_days_between(not_after, not_after), 0);
	ck_assert_int_eq(clock_days_between(not_after + 1, not_after), -1);
	ck_assert_int_eq(clock_days_between(not_after + DAY, not_after), -1);
	ck_assert_int_eq(clock_days_between(not_after + DAY + 1, not_after), -2);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, a_fresh_3650_day_certificate_shows_3650_days_all_its_first_half_day);
	tcase_add_test(tc, the_last_half_day_shows_0_and_an_expired_certificate_a_negative_count);
	suite_add_tcase(s, tc);
	return s;
}

#include "unit.h"
