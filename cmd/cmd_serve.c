/* replpeer serve: placeholder until the sessions work lands. */
#include <stdio.h>

#include "../util/msg.h"
#include "cli.h"

int cmd_serve(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		puts("usage: replpeer serve -d DIR");
		return EXIT_OK;
	}
	return cli_fail(0, RPL_E_NOTIMPL, "serve");
}

int cmd_admin(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		puts("usage: replpeer admin -d DIR [--json] [COMMAND]");
		return EXIT_OK;
	}
	return cli_fail(0, RPL_E_NOTIMPL, "admin");
}
