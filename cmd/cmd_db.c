/* replpeer db: database backup and restore, and the consistency check. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../peer/keys/backup.h"
#include "../peer/keys/identity.h"
#include "../store/actlog.h"
#include "../store/repl.h"
#include "../store/verify.h"
#include "../util/clock.h"
#include "../util/fsutil.h"
#include "../util/errdoc.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "cli.h"

static const char usage[] =
	"usage: replpeer db -d DIR [--json] backup --out FILE --password-file F [--force]\n"
	"       replpeer db [--json] restore --in FILE -d DIR --password-file F\n"
	"       replpeer db -d DIR [--json] verify [--deep]\n"
	"\n"
	"backup writes a consistent copy of the instance (LMDB store, master key,\n"
	"replpeer.conf) to FILE, encrypted under a key derived from the backup\n"
	"password (scrypt). It may run while 'serve' runs. An existing FILE is\n"
	"refused (RPL1211E) unless --force is given.\n"
	"restore recreates the instance in DIR, which must be new or an empty\n"
	"directory (not a symbolic link, writable by nobody else). It decrypts into\n"
	"a private directory next to DIR (.DIR.restore-XXXXXX, mode 0700) and renames\n"
	"it onto DIR only after every segment has verified: a wrong password, a\n"
	"damaged file or an interruption leaves DIR as it was.\n"
	"verify checks the whole store in one read transaction (it may run while\n"
	"'serve' runs): every object's chunks are stored, every chunk's reference\n"
	"count equals its uses, no unreferenced chunk is left unstaged, node counters\n"
	"equal their objects' sums, and every record of every database decodes\n"
	"(servers with their pins, certificates, trust anchors, activity log).\n"
	"--deep also re-hashes every chunk. Exit status 0 when clean, 1 with each\n"
	"fault listed.\n"
	"\n"
	"  -d, --dir DIR           instance directory\n"
	"  -o, --out FILE          backup file to write\n"
	"  -i, --in FILE           backup file to read\n"
	"  -P, --password-file F   file whose first line is the backup password\n"
	"      --force             backup: replace an existing FILE\n"
	"      --deep              verify: re-hash every chunk\n"
	"      --json              the result (and the verify report) as JSON\n";

struct verify_ui {
	json_t *faults;
	int json;
	int tty;
	uint64_t last_ms;
};

/* A certificate a record holds must parse and, for a pin, have the
 * fingerprint the pin claims. */
static int check_cert(void *arg, const uint8_t *der, size_t n, const uint8_t *expect_fp, char *why,
		      size_t whysz)
{
	struct certinfo ci;
	uint8_t fp[FINGERPRINT_LEN];

	(void)arg;
	if (identity_cert_info(der, n, &ci) < 0) {
		snprintf(why, whysz, "the stored certificate does not parse");
		return 1;
	}
	if (expect_fp &&
	    (identity_fingerprint(der, n, fp) < 0 || memcmp(fp, expect_fp, FINGERPRINT_LEN) != 0)) {
		snprintf(why, whysz, "the certificate does not have the pinned fingerprint");
		return 1;
	}
	return 0;
}

static void on_fault(void *arg, const char *kind, const char *text)
{
	struct verify_ui *ui = arg;

	if (ui->tty)
		fputs("\r\033[K", stderr);
	json_array_append_new(ui->faults, json_pack("{s:s, s:s}", "kind", kind, "fault", text));
	if (!ui->json)
		printf("fault %-16s %s\n", kind, text);
}

static void on_progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
	struct verify_ui *ui = arg;
	uint64_t now = clock_mono_ms();

	if (!ui->tty || (now - ui->last_ms < 250 && done != total))
		return;
	ui->last_ms = now;
	fprintf(stderr, "\r\033[Kverify: %s %llu of %llu", phase, (unsigned long long)done,
		(unsigned long long)total);
}

static int db_verify(const char *dir, int deep, int json)
{
	struct verify_ui ui = { json_array(), json, isatty(2), 0 };
	struct verify_opts o = { deep, check_cert, NULL, on_progress, &ui, on_fault, &ui };
	struct verify_report r;
	struct instance in;
	uint64_t t0 = clock_mono_ms();
	MDB_txn *txn;
	json_t *doc;
	int rc;

	if ((rc = cli_open_instance(dir, &in, json)) != 0) {
		json_decref(ui.faults);
		return rc;
	}
	rc = store_begin(&in.store, 0, &txn);
	if (rc == 0) {
		rc = store_verify(txn, &in.store, &o, &r);
		store_abort(txn);
	}
	instance_close(&in);
	if (ui.tty)
		fputs("\r\033[K", stderr);
	if (rc < 0) {
		json_decref(ui.faults);
		return cli_fail(json, rc, "the check could not run");
	}
	doc = json_pack(
		"{s:b, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:o}", "ok",
		r.faults == 0, "message_id",
		rpl_msg_id(r.faults ? RPL_E_VERIFY : RPL_I_VERIFY_CLEAN), "deep", deep, "nodes",
		(json_int_t)r.nodes, "objects", (json_int_t)r.objects, "logical_bytes",
		(json_int_t)r.logical_bytes, "chunks", (json_int_t)r.chunks, "stored_bytes",
		(json_int_t)r.stored_bytes, "staged_chunks", (json_int_t)r.staged_chunks,
		"staged_records", (json_int_t)r.staged_records, "rehashed_bytes",
		(json_int_t)r.rehashed_bytes, "other_records", (json_int_t)r.records, "faults",
		(json_int_t)r.faults, "seconds", (double)(clock_mono_ms() - t0) / 1000.0,
		"fault_list", ui.faults);
	if (r.faults) { /* a failure document like every other, with the report */
		json_t *fail = rpl_error_doc(RPL_E_VERIFY, NULL);
		char text[128];
		snprintf(text, sizeof(text), "%llu faults", (unsigned long long)r.faults);
		json_object_set_new(fail, "message", json_string(text));
		json_object_update_missing(fail, doc);
		json_decref(doc);
		doc = fail;
	}
	if (json) {
		cli_print(doc, 1);
	} else {
		printf("%llu nodes, %llu objects of %llu bytes; %llu chunks of %llu bytes stored "
		       "(%llu staged)%s; %llu other records\n",
		       (unsigned long long)r.nodes, (unsigned long long)r.objects,
		       (unsigned long long)r.logical_bytes, (unsigned long long)r.chunks,
		       (unsigned long long)r.stored_bytes, (unsigned long long)r.staged_chunks,
		       deep ? ", every chunk re-hashed" : "", (unsigned long long)r.records);
		if (r.faults)
			printf("%s %s: %llu\n", rpl_msg_id(RPL_E_VERIFY),
			       rpl_msg_text(RPL_E_VERIFY), (unsigned long long)r.faults);
		else
			printf("%s %s\n", rpl_msg_id(RPL_I_VERIFY_CLEAN),
			       rpl_msg_text(RPL_I_VERIFY_CLEAN));
		json_decref(doc);
	}
	if (r.faults) {
		if (!json)
			fprintf(stderr, "replpeer: %s %s: %llu\n  hint: %s\n",
				rpl_msg_id(RPL_E_VERIFY), rpl_msg_text(RPL_E_VERIFY),
				(unsigned long long)r.faults, rpl_msg_hint(RPL_E_VERIFY));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* The reply of backup and restore: the message line, or with --json
 * {ok, message_id, message, KEY: value}. */
static int db_done(int json, int code, const char *key, const char *value, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int db_done(int json, int code, const char *key, const char *value, const char *fmt, ...)
{
	char text[PATH_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (json)
		cli_print(json_pack("{s:b, s:s, s:s, s:s}", "ok", 1, "message_id", rpl_msg_id(code),
				    "message", text, key, value),
			  1);
	else
		printf("%s %s\n", rpl_msg_id(code), text);
	return EXIT_OK;
}

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
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	/* Kept until the command exits: a stop that comes after the restore
	 * was committed changes nothing, and the command still reports what
	 * it did (it used to die of the signal with a complete target). */
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, NULL);
	return backup_restore(in_path, dir, password, &restore_stop, err, errsz);
}

int cmd_db(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "in", required_argument, NULL, 'i' },
		{ "password-file", required_argument, NULL, 'P' },
		{ "deep", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'J' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *out = NULL, *in_path = NULL, *pwfile = NULL, *action;
	char password[256], err[512];
	struct instance in;
	int c, rc, deep = 0, json = 0, force = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:o:i:P:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'o': out = optarg; break;
		case 'i': in_path = optarg; break;
		case 'P': pwfile = optarg; break;
		case 'D': deep = 1; break;
		case 'J': json = 1; break;
		case 'F': force = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default:
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(usage, "give exactly one action: backup, restore or verify");
	action = argv[optind];
	if (force && strcmp(action, "backup") != 0)
		return cli_usage_error(usage, "--force belongs to backup");
	if (strcmp(action, "verify") == 0) {
		if (!dir || out || in_path || pwfile)
			return cli_usage_error(
				usage, "verify needs -d DIR and takes only --deep and --json");
		return db_verify(dir, deep, json);
	}
	if (deep)
		return cli_usage_error(usage, "--deep belongs to verify");
	if (strcmp(action, "backup") == 0) {
		if (!dir || !out)
			return cli_usage_error(usage, "backup needs -d DIR and --out FILE");
		if (!force && fs_exists(out)) /* before the password is asked */
			return cli_fail(json, RPL_E_BACKUP_EXISTS, "%s", out);
		if ((rc = cli_read_password(pwfile, 1, password, sizeof(password))) < 0)
			return cli_fail(json, rc, "%s", pwfile ? pwfile : "terminal");
		if (strlen(password) < 8) {
			secure_zero(password, sizeof(password));
			return cli_fail(json, RPL_E_PASSWORD_WEAK,
					"%s: the backup password needs at least 8 characters",
					pwfile ? pwfile : "typed");
		}
		if ((rc = cli_open_instance(dir, &in, json)) != 0) {
			secure_zero(password, sizeof(password));
			return rc;
		}
		rc = backup_write(&in, out, password, force);
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
			return cli_fail(json, rc, "%s", out);
		return db_done(json, RPL_I_BACKUP, "file", out, "database backup written to %s",
			       out);
	}
	if (strcmp(action, "restore") == 0) {
		if (!dir || !in_path)
			return cli_usage_error(usage, "restore needs --in FILE and -d DIR");
		if ((rc = cli_read_password(pwfile, 0, password, sizeof(password))) < 0)
			return cli_fail(json, rc, "%s", pwfile ? pwfile : "terminal");
		err[0] = 0;
		rc = restore_with_signals(in_path, dir, password, err, sizeof(err));
		secure_zero(password, sizeof(password));
		if (rc < 0)
			return cli_fail(json, rc, "%s", err[0] ? err : in_path);
		/* A restored source is older than its replicas: replicating it
		 * as it is would delete their newer objects. */
		if (cli_open_instance(dir, &in, 0) == 0) {
			MDB_txn *txn;
			if (store_begin(&in.store, 1, &txn) == 0) {
				if (store_repl_set_disabled(
					    txn, &in.store,
					    "the database was restored from a backup") == 0 &&
				    store_actlog_add(
					    txn, &in.store, RPL_I_REPL_DISABLED,
					    "outbound replication disabled: the database was restored from %s; run ENABLE REPLICATION once its replicas may follow it",
					    in_path) == 0)
					store_commit(txn);
				else
					store_abort(txn);
			}
			instance_close(&in);
		}
		return db_done(
			json, RPL_I_RESTORE, "dir", dir,
			"database restored into %s; outbound replication is disabled until 'ENABLE REPLICATION' (%s)",
			dir, rpl_msg_id(RPL_I_REPL_DISABLED));
	}
	return cli_usage_error(usage, "unknown action '%s'", action);
}
