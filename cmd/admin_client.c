/* replpeer admin: options, one command or commands piped on stdin, and how
 * replies are printed. */
#include "admin_client.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../sync/admin.h"
#include "../util/errdoc.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "cli.h"

static const char admin_usage[] =
	"usage: replpeer admin -d DIR [options] [COMMAND]\n"
	"       replpeer admin --host H --port P --id ADMIN [--password-file F]\n"
	"                      [--accept-cert] [--cacert F] [--legacy] [options] [COMMAND]\n"
	"\n"
	"Runs one admin COMMAND against the peer serving DIR (over DIR/admin.sock)\n"
	"and prints the answer. Without COMMAND it reads commands from standard\n"
	"input, or on a terminal it is an interactive console with line editing\n"
	"and history (HELP lists the commands, QUIT or Ctrl-D ends, Ctrl-C cancels\n"
	"the running command and, twice at the prompt, ends).\n"
	"\n"
	"Commands, their objects, parameters and keyword values may be abbreviated\n"
	"to the capitals HELP shows (Q SE B F=D is QUERY SERVER B FORMAT=DETAILED),\n"
	"or shorter while unambiguous; HALT and PING are typed in full.\n"
	"Exit status: 0 success, 1 the command failed, 2 it is not valid (syntax,\n"
	"unknown or missing parameter). With several commands (standard input or\n"
	"console) every one counts and the highest status is the exit status.\n"
	"\n"
	"A password given as '-' (SERVERPASSWORD=-, SET SERVERPASSWORD -,\n"
	"REGISTER ADMIN name -) is asked on the terminal without echo, twice, or\n"
	"read from the first line of --password-file F; the client puts it into the\n"
	"request, so it never appears on a command line. The console keeps no line\n"
	"with a password in its history (~/.config/replpeer/history, mode 0600).\n"
	"REPLICATE NODE ... WAIT=YES shows its progress on a terminal (not with\n"
	"--json); Ctrl-C detaches from it and the replication goes on.\n"
	"The client sends nothing unless DIR/admin.sock, and the process listening\n"
	"on it, belong to the owner of DIR or to root (RPL0512E).\n"
	"\n"
	"With --host, the session goes over TLS to the server's TCPPORT as the\n"
	"registered administrator --id. The client checks the server's certificate\n"
	"before it sends anything: against its own pins in\n"
	"~/.config/replpeer/known_servers, or a CA (--cacert F); a new server is\n"
	"accepted only with --accept-cert (its fingerprint is shown), and a pinned\n"
	"server whose certificate changed only when it proves the change with its\n"
	"previous key (its own renewal). LOCAL administrators prove the password\n"
	"without sending it (SRP); LDAP administrators send it inside TLS.\n"
	"--password-file F then holds the sign-on password; '-' parameters are asked.\n"
	"\n"
	"  -d, --dir DIR           instance directory\n"
	"  -j, --json              one JSON document per command (also after COMMAND)\n"
	"  -P, --password-file F   first line = the password for a '-' parameter\n"
	"      --dataonly[=yes|no] tables without their heading   (-dataonly=yes)\n"
	"      --comma             comma-separated lines          (-comma)\n"
	"      --tab               tab-separated lines            (-tab)\n"
	"      --outfile F         replies into F instead of the terminal (-outfile=F)\n"
	"      --host H            remote server (a host name or address)\n"
	"      --port P            its TCPPORT (default 1500)\n"
	"      --id ADMIN          the administrator to sign on as\n"
	"      --accept-cert       accept and pin a server certificate seen for the first time\n"
	"      --cacert F          accept a server certificate that chains to the CA in F\n"
	"      --legacy            the down-level path (protocol 1, no TLS): only for\n"
	"                          TRANSITIONAL administrators while ALLOWLEGACY is YES\n";

/* ---- Ctrl-C ------------------------------------------------------------- */

/* The handler's only state: what to cancel and whom to wake. */
static struct admin_link *sig_link;
static int sig_wake = -1;
static volatile sig_atomic_t sig_count;

static void on_sigint(int sig)
{
	int saved = errno;

	(void)sig;
	sig_count++;
	if (sig_link)
		sig_link->ops->cancel(sig_link);
	if (sig_wake >= 0 && write(sig_wake, "i", 1) < 0) {
		/* the pipe is full: the console wakes anyway */
	}
	errno = saved;
}

void admin_sigint_install(struct admin_link *link, int wake_fd)
{
	struct sigaction sa;

	sig_link = link;
	sig_wake = wake_fd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a password prompt gives up */
	sigaction(SIGINT, &sa, NULL);
}

int admin_sigint_take(void)
{
	int n = sig_count;
	sig_count = 0;
	return n;
}

/* ---- long commands ------------------------------------------------------- */

/* A progress message of a long command (REPLICATE NODE WAIT=YES): one line
 * that updates in place on a terminal. */
static void show_progress(void *arg, json_t *p)
{
	struct admin_session *s = arg;
	double done = (double)json_integer_value(json_object_get(p, "bytes_done"));
	double total = (double)json_integer_value(json_object_get(p, "bytes_total"));
	double rate = json_real_value(json_object_get(p, "rate_bytes_per_second"));
	double eta = json_real_value(json_object_get(p, "eta_seconds"));
	long long objs = json_integer_value(json_object_get(p, "objects_replicated"));
	long long tobjs = json_integer_value(json_object_get(p, "objects_total"));
	const char *node = json_string_value(json_object_get(p, "node"));
	const char *target = json_string_value(json_object_get(p, "target"));
	const char *phase = json_string_value(json_object_get(p, "phase"));
	const char *note = json_string_value(json_object_get(p, "message"));

	/* What a command waits for (PING, FORCESYNC, WAIT=YES), one line on
	 * stderr also for scripts; Ctrl-C still cancels such a command. */
	if (note && json_is_string(json_object_get(p, "message_id"))) {
		fprintf(stderr, "%s %s\n", json_string_value(json_object_get(p, "message_id")),
			note);
		return;
	}
	s->progress_seen = 1;
	if (s->json || !isatty(STDERR_FILENO))
		return;
	fprintf(stderr, "\r\033[K%s -> %s: %s", node ? node : "?", target ? target : "?",
		phase ? phase : "");
	if (tobjs || total > 0)
		fprintf(stderr,
			" %.1f of %.1f MiB (%.0f%%), %lld of %lld objects, %.1f MB/s on the wire, %.0f s left",
			done / 1048576.0, total / 1048576.0,
			total > 0 ? 100.0 * done / total : 100.0, objs, tobjs, rate / 1e6, eta);
	fflush(stderr);
	s->progress_shown = 1;
}

/* The one-line summary of each replication run that ended. */
static int show_summary(FILE *f, json_t *doc)
{
	json_t *runs = json_object_get(doc, "runs"), *r;
	size_t i;

	if (!json_is_array(runs) || !json_array_size(runs) ||
	    !json_object_get(json_array_get(runs, 0), "bytes_transferred"))
		return 0;
	json_array_foreach(runs, i, r)
	{
		const char *state = json_string_value(json_object_get(r, "state"));
		double bytes = (double)json_integer_value(json_object_get(r, "bytes_replicated"));
		double wire = (double)json_integer_value(json_object_get(r, "bytes_transferred"));
		double chunk = (double)json_integer_value(json_object_get(r, "chunk_bytes_sent"));
		double secs = json_real_value(json_object_get(r, "seconds"));
		fprintf(f,
			"%s %s -> %s %s: %lld objects, %.1f MiB logical, %.1f MiB transferred (dedup %.2fx), %.1f MB/s, %.1f s; %s\n",
			json_string_value(json_object_get(r, "message_id")),
			json_string_value(json_object_get(r, "node")),
			json_string_value(json_object_get(r, "target")), state ? state : "?",
			(long long)json_integer_value(json_object_get(r, "objects_replicated")),
			bytes / 1048576.0, wire / 1048576.0,
			chunk > 0 ? bytes / chunk : (bytes > 0 ? 0.0 : 1.0),
			secs > 0 ? wire / 1e6 / secs : 0.0, secs,
			json_string_value(json_object_get(r, "message")));
	}
	return 1;
}

/* ---- printing ------------------------------------------------------------ */

/* A reply document as the options want it: failures as text on stderr
 * (as JSON with --json), anything else into the output. */
static void print_doc(struct admin_session *s, json_t *doc, json_t *columns)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m;

	if (!s->json && json_is_object(doc) && json_is_false(json_object_get(doc, "ok")) &&
	    json_object_get(doc, "message_id")) {
		cli_print_failure(stderr, doc);
		return;
	}
	if (!(m = open_memstream(&text, &len)))
		return;
	if (s->json) {
		char *j = json_dumps(doc ? doc : json_null(), CLI_JSON_FLAGS | JSON_ENCODE_ANY);
		fprintf(m, "%s\n", j ? j : "null");
		free(j);
	} else if (s->delim) {
		cli_render_delimited(m, doc, columns, s->delim, s->dataonly);
	} else if (json_is_array(doc) && json_is_array(columns)) {
		cli_render_table_opts(m, doc, columns, s->dataonly);
	} else if (show_summary(m, doc)) {
		/* a replication's summary, one line a run */
	} else {
		cli_render(m, doc);
	}
	fclose(m);
	if (s->outfile) {
		fwrite(text, 1, len, s->outfile);
		fflush(s->outfile);
	}
	if (!s->outfile || s->tee) {
		fwrite(text, 1, len, stdout);
		fflush(stdout);
	}
	free(text);
}

int admin_run_line(struct admin_session *s, const char *line, int *cancelled)
{
	char command[8192], err[1024] = "";
	json_t *env = NULL;
	int rc, status;

	*cancelled = 0;
	s->progress_seen = s->progress_shown = 0;
	s->link->progress = show_progress;
	s->link->progress_arg = s;
	rc = cli_fill_passwords(line, s->pwfile, command, sizeof(command), err, sizeof(err));
	if (rc == 0)
		rc = s->link->ops->request(s->link, command, &env, err, sizeof(err));
	secure_zero(command, sizeof(command));
	if (s->progress_shown)
		fputs("\r\033[K", stderr);
	if (rc == -RPL_E_CANCELLED && s->progress_seen) {
		/* A long command that reports progress goes on in the server:
		 * Ctrl-C detaches from it. */
		*cancelled = 1;
		fputs("detached: the command goes on in the server (QUERY PROCESS shows it)\n",
		      stderr);
		return 0;
	}
	if (rc < 0) {
		json_t *doc = rpl_error_doc(rc, err);
		*cancelled = rc == -RPL_E_CANCELLED;
		print_doc(s, doc, NULL);
		json_decref(doc);
		return rpl_msg_exit_status(rc);
	}
	status = (int)json_integer_value(json_object_get(env, "status"));
	print_doc(s, json_object_get(env, "doc"), json_object_get(env, "columns"));
	json_decref(env);
	return status < 0 || status > 2 ? 1 : status;
}

/* ---- modes --------------------------------------------------------------- */

/* The line is this one keyword (abbreviated as the table allows) alone. */
static int line_is(const char *line, const char *kw)
{
	char word[32];
	size_t n = strcspn(line, " \t");

	if (n >= sizeof(word) || line[n + strspn(line + n, " \t")])
		return 0;
	memcpy(word, line, n);
	word[n] = 0;
	return admin_abbrev(word, kw) == 2;
}

/* Commands from a pipe or a file, one a line: each one's status counts
 * and the highest is the result; a cancelled command ends the run. */
static int run_piped(struct admin_session *s)
{
	char line[8192];
	int worst = 0, cancelled;

	while (fgets(line, sizeof(line), stdin)) {
		char *p = line + strspn(line, " \t");
		int st;
		if (!strchr(line, '\n') && !feof(stdin)) {
			json_t *doc = rpl_error_doc(RPL_E_ADMIN_TOOBIG,
						    "a line longer than 8191 characters");
			int c;
			print_doc(s, doc, NULL);
			json_decref(doc);
			while ((c = getchar()) != EOF && c != '\n') {
			}
			worst = worst > 1 ? worst : 1;
			continue;
		}
		p[strcspn(p, "\r\n")] = 0;
		if (!*p)
			continue;
		if (line_is(p, "QUIT"))
			break;
		st = admin_run_line(s, p, &cancelled);
		if (st > worst)
			worst = st;
		if (cancelled || admin_sigint_take())
			break;
		if (st == 0 && line_is(p, "HALT"))
			break;
	}
	secure_zero(line, sizeof(line));
	return worst;
}

/* ---- options ------------------------------------------------------------- */

struct admin_opts {
	const char *dir, *outfile;
	struct admin_remote_opts remote;
	int dataonly, delim, json;
};

/* The options that may also follow the command (they are not command
 * words: "QUERY SERVER --json" queries every server, as JSON), in their
 * GNU spelling or the anchor product's (-dataonly=yes, -comma, -tab,
 * -outfile=F, abbreviated like its options). Returns how many arguments
 * it took (0: not one of them), or -1 for a bad value. */
static int output_option(struct admin_opts *o, char **argv, int i, int argc)
{
	const char *a = strcmp(argv[i], "-j") == 0 ? "--json" : argv[i], *v = NULL, *name;
	char word[32];
	size_t n;
	int gnu = strncmp(a, "--", 2) == 0;

	if (a[0] != '-' || !a[1] || (a[1] == '-' && !a[2]))
		return 0;
	name = a + (gnu ? 2 : 1);
	n = strcspn(name, "=");
	if (n >= sizeof(word))
		return 0;
	memcpy(word, name, n);
	word[n] = 0;
	if (name[n] == '=')
		v = name + n + 1;
	if (gnu ? strcmp(word, "json") == 0 : 0) {
		o->json = 1;
		return v ? -1 : 1;
	}
	if (gnu ? strcmp(word, "dataonly") == 0 : admin_abbrev(word, "DATAonly") == 2) {
		if (v && strcasecmp(v, "yes") != 0 && strcasecmp(v, "no") != 0)
			return -1;
		o->dataonly = !v || strcasecmp(v, "yes") == 0;
		return 1;
	}
	if (gnu ? strcmp(word, "comma") == 0 : admin_abbrev(word, "COMMAdelimited") == 2) {
		o->delim = ',';
		return v ? -1 : 1;
	}
	if (gnu ? strcmp(word, "tab") == 0 : admin_abbrev(word, "TABdelimited") == 2) {
		o->delim = '\t';
		return v ? -1 : 1;
	}
	if (gnu ? strcmp(word, "outfile") == 0 : admin_abbrev(word, "OUTfile") == 2) {
		if (v && *v) {
			o->outfile = v;
			return 1;
		}
		if (v || !gnu || i + 1 >= argc)
			return -1;
		o->outfile = argv[i + 1];
		return 2;
	}
	return 0;
}

/* The other options; they come before the command. */
static int session_option(struct admin_opts *o, char **argv, int i, int argc, const char **pwfile)
{
	static const struct {
		const char *s, *l;
		int arg;
	} known[] = {
		{ "-d", "--dir", 1 },         { "-P", "--password-file", 1 },
		{ NULL, "--host", 1 },        { NULL, "--port", 1 },
		{ NULL, "--id", 1 },          { NULL, "--cacert", 1 },
		{ NULL, "--accept-cert", 0 }, { NULL, "--legacy", 0 },
	};
	const char *a = argv[i], *v = NULL;

	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
		size_t ln = strlen(known[k].l);
		int taken;
		if ((known[k].s && strcmp(a, known[k].s) == 0) || strcmp(a, known[k].l) == 0) {
			taken = known[k].arg ? 2 : 1;
			v = known[k].arg && i + 1 < argc ? argv[i + 1] : NULL;
		} else if (strncmp(a, known[k].l, ln) == 0 && a[ln] == '=') {
			if (!known[k].arg)
				return -1;
			taken = 1;
			v = a + ln + 1;
		} else {
			continue;
		}
		if (known[k].arg && !v)
			return -1;
		switch (k) {
		case 0: o->dir = v; break;
		case 1: *pwfile = v; break;
		case 2: o->remote.host = v; break;
		case 3: {
			char *end;
			long port = strtol(v, &end, 10);
			if (*end || port < 1 || port > 65535)
				return -1;
			o->remote.port = (int)port;
			break;
		}
		case 4: o->remote.id = v; break;
		case 5: o->remote.cacert = v; break;
		case 6: o->remote.accept_cert = 1; break;
		case 7: o->remote.legacy = 1; break;
		}
		return taken;
	}
	return 0;
}

/* Joins argv into one command line. The shell already removed the quotes
 * of DESCRIPTION="two words"; they are put back so that the value stays one
 * parameter. An argument that is a whole command ("QUERY SERVER B", or
 * blanks before its first '=') is taken as it is. */
static int append_word(char *command, size_t sz, const char *arg)
{
	size_t n = strlen(command);
	const char *eq = strchr(arg, '=');
	char q = strchr(arg, '"') ? '\'' : '"';
	int w;

	if (!strpbrk(arg, " \t") || !eq || strcspn(arg, " \t") < (size_t)(eq - arg))
		w = snprintf(command + n, sz - n, "%s%s", n ? " " : "", arg);
	else
		w = snprintf(command + n, sz - n, "%s%.*s%c%s%c", n ? " " : "", (int)(eq - arg + 1),
			     arg, q, eq + 1, q);
	return w < 0 || (size_t)w >= sz - n ? -1 : 0;
}

int cmd_admin(int argc, char **argv)
{
	struct admin_opts o = { .remote = { .port = 1500 } };
	struct admin_session s = { 0 };
	char command[8192] = "", err[PATH_MAX + 256] = "";
	int rc, i, in_command = 0, cancelled;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int took = output_option(&o, argv, i, argc);
		if (took == 0 && !in_command) {
			if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
				fputs(admin_usage, stdout);
				return EXIT_OK;
			}
			if (strcmp(a, "--") == 0) {
				in_command = 1;
				continue;
			}
			took = session_option(&o, argv, i, argc, &s.pwfile);
			if (took == 0 && a[0] == '-' && a[1]) {
				secure_zero(command, sizeof(command));
				return cli_usage_error(admin_usage, "unknown option '%s'", a);
			}
		}
		if (took < 0) {
			secure_zero(command, sizeof(command));
			return cli_usage_error(admin_usage, "option '%s' needs a valid value", a);
		}
		if (took > 0) {
			i += took - 1;
			continue;
		}
		in_command = 1;
		if (append_word(command, sizeof(command), a) < 0) {
			secure_zero(command, sizeof(command));
			return cli_fail(o.json, RPL_E_ADMIN_TOOBIG, NULL);
		}
	}
	s.json = o.json;
	s.dataonly = o.dataonly;
	s.delim = (char)o.delim;
	o.remote.pwfile = s.pwfile;
	o.remote.json = o.json;
	if (!o.remote.host && !o.dir) {
		secure_zero(command, sizeof(command));
		return cli_usage_error(admin_usage, "-d DIR (or --host H) is required");
	}
	if (o.remote.host && (o.dir || !o.remote.id)) {
		secure_zero(command, sizeof(command));
		return cli_usage_error(admin_usage, o.dir ? "give either -d DIR or --host, not both"
							  : "--id ADMIN is required with --host");
	}
	rc = o.remote.host ? admin_link_remote(&o.remote, &s.link, err, sizeof(err))
			   : admin_link_local(o.dir, &s.link, err, sizeof(err));
	if (rc < 0) {
		secure_zero(command, sizeof(command));
		if (rc == -RPL_E_USAGE)
			return cli_usage_error(admin_usage, "%s", err);
		return cli_fail(o.json, rc, "%s", err);
	}
	/* The password file held the sign-on password; '-' parameters are asked. */
	if (o.remote.host)
		s.pwfile = NULL;
	if (o.outfile && !(s.outfile = fopen(o.outfile, "w"))) {
		rc = cli_fail(o.json, RPL_E_IO, "--outfile %s: %s", o.outfile, strerror(errno));
		s.link->ops->close(s.link);
		secure_zero(command, sizeof(command));
		return rc;
	}
	if (command[0]) {
		admin_sigint_install(s.link, -1);
		rc = admin_run_line(&s, command, &cancelled);
	} else if (isatty(STDIN_FILENO)) {
		s.tee = 1;
		rc = admin_console(&s);
	} else {
		admin_sigint_install(s.link, -1);
		rc = run_piped(&s);
	}
	secure_zero(command, sizeof(command));
	admin_sigint_install(NULL, -1);
	if (s.outfile && fclose(s.outfile) != 0 && rc == 0)
		rc = cli_fail(o.json, RPL_E_IO, "--outfile %s: %s", o.outfile, strerror(errno));
	s.link->ops->close(s.link);
	return rc;
}
