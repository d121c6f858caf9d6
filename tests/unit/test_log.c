/* util/log: a line's level is the one its message ID's letter names when
 * the code comes from a variable (log_code). */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../util/log.h"
#include "../../util/msg.h"

/* Runs fn with stderr sent to a temporary file; returns what it wrote. */
static void capture(void (*fn)(void), char *out, size_t sz)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	ck_assert_ptr_nonnull(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	fn();
	log_flush();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sz - 1, tmp);
	out[n] = 0;
	fclose(tmp);
}

static void three_codes(void)
{
	log_set_level(LOG_INFO);
	log_set_coalesce_window(0);
	log_code(-RPL_E_CONNECT, "an error code");
	log_code(RPL_W_AUTH_FAILED, "a warning");
	log_code(RPL_I_STARTED, "information");
}

START_TEST(log_code_logs_at_the_level_of_the_message_letter)
{
	char text[2048];

	capture(three_codes, text, sizeof(text));
	ck_assert_ptr_nonnull(strstr(text, "ERROR RPL0411E an error code"));
	ck_assert_ptr_nonnull(strstr(text, "WARN  RPL0425W a warning"));
	ck_assert_ptr_nonnull(strstr(text, "INFO  RPL0420I information"));
	ck_assert_int_eq(log_level_of(-RPL_E_CONNECT), LOG_ERROR);
	ck_assert_int_eq(log_level_of(RPL_W_AUTH_FAILED), LOG_WARN);
	ck_assert_int_eq(log_level_of(RPL_I_STARTED), LOG_INFO);
}
END_TEST

static void quiet_warning(void)
{
	log_set_level(LOG_ERROR);
	log_code(RPL_W_AUTH_FAILED, "not shown at LOGLEVEL error");
	log_code(-RPL_E_CONNECT, "shown");
}

START_TEST(log_code_honours_the_log_level)
{
	char text[2048];

	capture(quiet_warning, text, sizeof(text));
	ck_assert_ptr_null(strstr(text, "not shown"));
	ck_assert_ptr_nonnull(strstr(text, "ERROR RPL0411E shown"));
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, log_code_logs_at_the_level_of_the_message_letter);
	tcase_add_test(tc, log_code_honours_the_log_level);
	suite_add_tcase(s, tc);
	return s;
}

#include "unit.h"
