/* replpeer: the command-line entry point; each subcommand lives in cmd_*.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "../util/clock.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "../util/version.h"
#include "cli.h"

static const char usage[] =
	"usage: replpeer COMMAND [options]   (replpeer COMMAND --help for details)\n"
	"\n"
	"  init  -d DIR --name NAME [--port N] [--address A] [--password-file F]\n"
	"                          create an instance: config, key, certificate\n"
	"  serve -d DIR            run the peer in the foreground (logs to stderr)\n"
	"  admin -d DIR [--json] [--password-file F] [COMMAND]\n"
	"                          admin session with a running peer; no COMMAND:\n"
	"                          interactive console\n"
	"  cert  -d DIR show|export|list|import-ca|import-peer|delete|request|install\n"
	"                          offline key-database tool\n"
	"  store -d DIR put|get|ls|rm   node objects\n"
	"  db    -d DIR [--json] backup --out FILE --password-file F\n"
	"  db    [--json] restore --in FILE -d DIR --password-file F\n"
	"  db    -d DIR [--json] verify [--deep]\n"
	"  version [--json]        print the version\n";

/* Subcommands that hold master.key, private keys or passwords in memory:
 * a core dump (or another process of the same user reading /proc/PID/mem)
 * must not get them. */
static int holds_secrets(const char *cmd)
{
	static const char *const which[] = { "serve", "init", "admin", "cert", "db", "store" };
	for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++)
		if (strcmp(cmd, which[i]) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int rc;

	clock_init();
	if (!cmd)
		return cli_usage_error(usage, "no command given");
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		if (argc > 2 && strcmp(argv[2], "--json") == 0) {
			cli_print(json_pack("{s:s, s:s}", "version", REPLPEER_VERSION, "wolfssl",
					    wolfSSL_lib_version()),
				  1);
			return EXIT_OK;
		}
		if (argc > 2)
			return cli_usage_error(usage, "version takes only --json");
		printf("replpeer %s (wolfSSL %s)\n", REPLPEER_VERSION, wolfSSL_lib_version());
		return EXIT_OK;
	}
	/* Every JSON document is wiped when freed: admin requests carry
	 * passwords (cmd/cli_secret.c), in the client and in the daemon. */
	json_set_alloc_funcs(malloc, secure_free);
	if (holds_secrets(cmd) && secure_no_core_dumps() < 0)
		return cli_fail(0, RPL_E_INTERNAL, "cannot disable core dumps");
	wolfSSL_Init();
	if (strcmp(cmd, "init") == 0)
		rc = cmd_init(argc - 1, argv + 1);
	else if (strcmp(cmd, "serve") == 0)
		rc = cmd_serve(argc - 1, argv + 1);
	else if (strcmp(cmd, "admin") == 0)
		rc = cmd_admin(argc - 1, argv + 1);
	else if (strcmp(cmd, "cert") == 0)
		rc = cmd_cert(argc - 1, argv + 1);
	else if (strcmp(cmd, "store") == 0)
		rc = cmd_store(argc - 1, argv + 1);
	else if (strcmp(cmd, "db") == 0)
		rc = cmd_db(argc - 1, argv + 1);
	else
		rc = cli_usage_error(usage, "unknown command '%s'", cmd);
	wolfSSL_Cleanup();
	return rc;
}
