/* replpeer store: node objects (arrives with replication). */
#include <stdio.h>
#include <string.h>

#include "../util/msg.h"
#include "cli.h"

static const char usage[] =
	"usage: replpeer store -d DIR put NODE FILE... [--as NAME]\n"
	"       replpeer store -d DIR get NODE NAME [-o F]\n"
	"       replpeer store -d DIR ls NODE\n"
	"       replpeer store -d DIR rm NODE NAME\n"
	"\n"
	"Manages the objects of a node in the instance's store. Object NAME is the\n"
	"path as given to put, normalized (no ./, no //), or --as NAME.\n"
	"Not available in this version: node storage arrives with replication.\n";

int cmd_store(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	return cli_fail(0, RPL_E_NOTIMPL, "node storage arrives with replication");
}
