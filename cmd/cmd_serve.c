/* replpeer serve: the daemon (its admin client is cmd/admin_client.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "../util/msg.h"
#include "cli.h"

static const char serve_usage[] =
	"usage: replpeer serve -d DIR\n"
	"\n"
	"Runs the peer in the foreground and logs to stderr, one line per event\n"
	"with a message ID. It listens on TCPADDRESS:TCPPORT for TLS sessions (and,\n"
	"when ALLOWLEGACY is YES, down-level protocol 1 from TRANSITIONAL servers)\n"
	"and on DIR/admin.sock for 'replpeer admin'. An instance without a key or\n"
	"certificate gets them at start. SIGINT, SIGTERM or HALT stop it.\n"
	"It refuses to start (RPL0110E) when DIR or a file in it is writable by\n"
	"group or others or owned by another user; admin.sock accepts only its own\n"
	"user and root (RPL0511W in the log for others). No core dumps.\n";

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	char err[PATH_MAX + 256];
	int c, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'h': fputs(serve_usage, stdout); return EXIT_OK;
		default:
			return cli_usage_error(serve_usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (!dir || optind < argc)
		return cli_usage_error(serve_usage, "serve takes -d DIR only");
	if ((rc = instance_check_dir(dir, err, sizeof(err))) < 0)
		return cli_fail(0, rc, "%s", err);
	return daemon_run(dir);
}
