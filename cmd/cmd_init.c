/* replpeer init: create an instance directory. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../peer/keys/identity.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "cli.h"

static const char usage[] =
	"usage: replpeer init -d DIR --name NAME [--port N] [--address A]\n"
	"                     [--password-file F] [--json]\n"
	"\n"
	"Creates an instance in DIR (new, or empty and writable by its owner\n"
	"alone; RPL0110E otherwise, nothing is chmod'ed): replpeer.conf with SERVERNAME,\n"
	"TCPPORT and TCPADDRESS set and every other key documented, the LMDB\n"
	"store, master.key (mode 0600), a key pair (KEYTYPE) and a self-signed\n"
	"certificate, written to DIR/cert256.pem for manual distribution.\n"
	"The server password (partners give it as SERVERPASSWORD) is the first\n"
	"line of F, or is asked for on the terminal. It must have 8 to 64 characters.\n"
	"\n"
	"  -d, --dir DIR           instance directory\n"
	"  -n, --name NAME         this peer's server name\n"
	"  -p, --port N            TCP port (default 1500)\n"
	"  -a, --address A         listen address (default 127.0.0.1: this host only);\n"
	"                          the address partners connect to, or 0.0.0.0 (::)\n"
	"                          for every address; the certificate names NAME and\n"
	"                          A (for 0.0.0.0 or ::, this host's name instead)\n"
	"  -P, --password-file F   file whose first line is the server password\n"
	"  -j, --json              the result as JSON\n"
	"  -o, --option KEY=VALUE  another replpeer.conf setting, in effect from the\n"
	"                          first key pair on (repeatable), e.g.\n"
	"                          -o KEYTYPE=RSA-3072 -o CERTVALIDITYDAYS=825\n";

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "address", required_argument, NULL, 'a' },
		{ "password-file", required_argument, NULL, 'P' },
		{ "option", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *name = NULL, *address = NULL, *pwfile = NULL;
	char password[256], err[512] = "", cert[PATH_MAX + 16];
	const char *options[32];
	int port = 0, c, rc, nopts = 0, json = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:n:p:a:P:o:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': name = optarg; break;
		case 'a': address = optarg; break;
		case 'P': pwfile = optarg; break;
		case 'j': json = 1; break;
		case 'o':
			if (nopts == 32)
				return cli_usage_error(usage, "at most 32 --option");
			options[nopts++] = optarg;
			break;
		case 'p': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 65535)
				return cli_usage_error(usage, "--port must be 1 to 65535");
			port = (int)v;
			break;
		}
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default:
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
	if (!dir || !name)
		return cli_usage_error(usage, "-d DIR and --name NAME are required");
	if (!conf_valid_name(name))
		return cli_fail(json, RPL_E_BADNAME, "'%s'", name);
	if ((rc = conf_check_options(options, nopts, err, sizeof(err))) < 0)
		return cli_fail(json, rc, "--option %s", err);
	if ((rc = instance_check_dir(dir, err, sizeof(err))) < 0)
		return cli_fail(json, rc, "%s", err);
	rc = cli_read_password(pwfile, 1, password, sizeof(password));
	if (rc == 0 && !instance_password_ok(password)) {
		size_t n = strlen(password);
		secure_zero(password, sizeof(password));
		return cli_fail(json, RPL_E_PASSWORD_WEAK, "%s: the password %s %zu characters%s",
				pwfile ? pwfile : "typed", pwfile ? "on its first line has" : "has",
				n, n >= 8 && n <= 64 ? ", one of them a control character" : "");
	}
	if (rc < 0)
		return cli_fail(json, rc, "%s", pwfile ? pwfile : "terminal");
	rc = instance_create_ex(dir, name, port, address, password, options, nopts, err,
				sizeof(err));
	secure_zero(password, sizeof(password));
	if (rc < 0)
		return cli_fail(json, rc, "%s", err[0] ? err : dir);
	snprintf(cert, sizeof(cert), "%s/cert256.pem", dir);
	if (json) {
		cli_print(json_pack("{s:b, s:s, s:s, s:s, s:s, s:s}", "ok", 1, "message_id",
				    rpl_msg_id(RPL_I_INIT), "message", "instance created", "name",
				    name, "dir", dir, "certificate", cert),
			  1);
		return EXIT_OK;
	}
	printf("%s instance %s created in %s\n", rpl_msg_id(RPL_I_INIT), name, dir);
	printf("certificate: %s\n", cert);
	if (address && instance_cert_san(address, err, sizeof(err)))
		printf("note: %s listens on every address; the certificate names DNS:%s%s%s, not an IP address\n",
		       address, name, err[0] ? " and DNS:" : "", err);
	return EXIT_OK;
}
