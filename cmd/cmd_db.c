/* replpeer db: database backup and restore. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../peer/keys/backup.h"
#include "../store/actlog.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "cli.h"

static const char usage[] =
	"usage: replpeer db -d DIR backup --out FILE --password-file F\n"
	"       replpeer db restore --in FILE -d DIR --password-file F\n"
	"\n"
	"backup writes a consistent copy of the instance (LMDB store, master key,\n"
	"replpeer.conf) to FILE, encrypted under a key derived from the backup\n"
	"password (scrypt). It may run while 'serve' runs.\n"
	"restore recreates the instance in DIR, which must be new or an empty\n"
	"directory (not a symbolic link, writable by nobody else). It decrypts into\n"
	"a private directory next to DIR (.DIR.restore-XXXXXX, mode 0700) and renames\n"
	"it onto DIR only after every segment has verified: a wrong password, a\n"
	"damaged file or an interruption leaves DIR as it was.\n"
	"\n"
	"  -d, --dir DIR           instance directory\n"
	"  -o, --out FILE          backup file to write\n"
	"  -i, --in FILE           backup file to read\n"
	"  -P, --password-file F   file whose first line is the backup password\n";

/* Set by SIGINT, SIGTERM and SIGHUP during a restore: the restore stops at
 * the next segment and removes what it wrote (SIGKILL cannot be caught:
 * see README for what it may leave). */
static volatile sig_atomic_t restore_stop;

static void on_stop_signal(int sig)
{
	(void)sig;
	restore_stop = 1;
}

static int restore_with_signals(const char *in_path, const char *dir, const char *password,
				char *err, size_t errsz)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa, old[3];
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	rc = backup_restore(in_path, dir, password, &restore_stop, err, errsz);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	return rc;
}

int cmd_db(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"out", required_argument, NULL, 'o'},
		{"in", required_argument, NULL, 'i'},
		{"password-file", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *out = NULL, *in_path = NULL, *pwfile = NULL, *action;
	char password[256], err[512];
	struct instance in;
	int c, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:o:i:P:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'o': out = optarg; break;
		case 'i': in_path = optarg; break;
		case 'P': pwfile = optarg; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(usage, "give exactly one action: backup or restore");
	action = argv[optind];
	if (strcmp(action, "backup") == 0) {
		if (!dir || !out)
			return cli_usage_error(usage, "backup needs -d DIR and --out FILE");
		if ((rc = cli_read_password(pwfile, 1, password, sizeof(password))) < 0)
			return cli_fail(0, rc, "%s", pwfile ? pwfile : "terminal");
		if (strlen(password) < 8) {
			secure_zero(password, sizeof(password));
			return cli_fail(0, RPL_E_PASSWORD_WEAK, "the backup password needs at least 8 characters");
		}
		if ((rc = cli_open_instance(dir, &in, 0)) != 0) {
			secure_zero(password, sizeof(password));
			return rc;
		}
		rc = backup_write(&in, out, password);
		secure_zero(password, sizeof(password));
		if (rc == 0) {
			MDB_txn *txn;
			if (store_begin(&in.store, 1, &txn) == 0) {
				if (store_actlog_add(txn, &in.store, RPL_I_BACKUP,
						     "database backup written to %s", out) == 0)
					store_commit(txn);
				else
					store_abort(txn);
			}
		}
		instance_close(&in);
		if (rc < 0)
			return cli_fail(0, rc, "%s", out);
		printf("%s database backup written to %s\n", rpl_msg_id(RPL_I_BACKUP), out);
		return EXIT_OK;
	}
	if (strcmp(action, "restore") == 0) {
		if (!dir || !in_path)
			return cli_usage_error(usage, "restore needs --in FILE and -d DIR");
		if ((rc = cli_read_password(pwfile, 0, password, sizeof(password))) < 0)
			return cli_fail(0, rc, "%s", pwfile ? pwfile : "terminal");
		err[0] = 0;
		rc = restore_with_signals(in_path, dir, password, err, sizeof(err));
		secure_zero(password, sizeof(password));
		if (rc < 0)
			return cli_fail(0, rc, "%s", err[0] ? err : in_path);
		printf("%s database restored into %s\n", rpl_msg_id(RPL_I_RESTORE), dir);
		return EXIT_OK;
	}
	return cli_usage_error(usage, "unknown action '%s'", action);
}
