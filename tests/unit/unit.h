/* Shared set-up for the Check unit suites: each test file defines
 * make_suite() and includes this file last for main(). */
#ifndef RPL_UNIT_H
#define RPL_UNIT_H

#include <check.h>
#include <stdlib.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

static Suite *make_suite(void);

int main(void)
{
	SRunner *sr;
	int failed;

	wolfSSL_Init();
	sr = srunner_create(make_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	wolfSSL_Cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
