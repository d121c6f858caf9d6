/* replpeer serve and replpeer admin: the daemon and its console. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../peer/adminsrv.h"
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
	"certificate gets them at start. SIGINT, SIGTERM or HALT stop it.\n";

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'h': fputs(serve_usage, stdout); return EXIT_OK;
		default: return cli_usage_error(serve_usage, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (!dir || optind < argc)
		return cli_usage_error(serve_usage, "serve takes -d DIR only");
	return daemon_run(dir);
}

static const char admin_usage[] =
	"usage: replpeer admin -d DIR [--json] [COMMAND]\n"
	"       replpeer admin --host H --port P --id ADMIN [--password-file F]\n"
	"                      [--accept-cert] [--json] [COMMAND]\n"
	"\n"
	"Runs one admin COMMAND against the peer serving DIR (over DIR/admin.sock)\n"
	"and prints the answer: a readable form, or one JSON document with --json.\n"
	"Without COMMAND it is an interactive console (HELP lists the commands,\n"
	"QUIT ends). Exit status 1 when the command failed.\n"
	"Remote admin sessions over TLS (--host) are not available in this version.\n"
	"\n"
	"Commands: DEFINE/UPDATE/DELETE/QUERY SERVER, PING SERVER, SET SERVERPASSWORD,\n"
	"QUERY SESSION, QUERY ACTLOG [SINCE=minutes], QUERY CERTIFICATE,\n"
	"RENEW CERTIFICATE [ACTIVATE=AFTERSYNC|IMMEDIATE], REGISTER/REMOVE/QUERY NODE,\n"
	"REPLICATE NODE name|* [TARGET=server] [WAIT=YES] [FORCE=YES], QUERY REPLICATION,\n"
	"QUERY REPLNODE, REMOVE REPLNODE, DISABLE/ENABLE REPLICATION, SET REPLSERVER,\n"
	"DEFINE/UPDATE/DELETE/QUERY SCHEDULE, QUERY PROCESS, CANCEL PROCESS, HALT, HELP.\n"
	"REPLICATE NODE ... WAIT=YES shows its progress on a terminal (not with --json);\n"
	"Ctrl-C detaches from it and the replication goes on.\n";

static int write_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	char *b = p;
	while (n) {
		ssize_t r = read(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static int admin_connect(const char *dir)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/admin.sock", dir);

	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A progress message of a long command (REPLICATE NODE WAIT=YES): one line
 * that updates in place on a terminal. */
static void show_progress(json_t *p, int *shown)
{
	double done = (double)json_integer_value(json_object_get(p, "bytes_done"));
	double total = (double)json_integer_value(json_object_get(p, "bytes_total"));
	double rate = json_real_value(json_object_get(p, "rate_bytes_per_second"));
	double eta = json_real_value(json_object_get(p, "eta_seconds"));
	long long objs = json_integer_value(json_object_get(p, "objects_replicated"));
	long long tobjs = json_integer_value(json_object_get(p, "objects_total"));
	const char *node = json_string_value(json_object_get(p, "node"));
	const char *target = json_string_value(json_object_get(p, "target"));
	const char *phase = json_string_value(json_object_get(p, "phase"));

	if (!isatty(STDERR_FILENO))
		return;
	fprintf(stderr, "\r\033[K%s -> %s: %s", node ? node : "?", target ? target : "?",
		phase ? phase : "");
	if (tobjs || total > 0)
		fprintf(stderr, " %.1f of %.1f MiB (%.0f%%), %lld of %lld objects, %.1f MB/s on the wire, %.0f s left",
			done / 1048576.0, total / 1048576.0, total > 0 ? 100.0 * done / total : 100.0,
			objs, tobjs, rate / 1e6, eta);
	fflush(stderr);
	*shown = 1;
}

/* The one-line summary of a replication that ended. */
static void show_summary(json_t *doc)
{
	json_t *runs = json_object_get(doc, "runs"), *r;
	size_t i;

	json_array_foreach(runs, i, r) {
		const char *state = json_string_value(json_object_get(r, "state"));
		double bytes = (double)json_integer_value(json_object_get(r, "bytes_replicated"));
		double wire = (double)json_integer_value(json_object_get(r, "bytes_transferred"));
		double chunk = (double)json_integer_value(json_object_get(r, "chunk_bytes_sent"));
		double secs = json_real_value(json_object_get(r, "seconds"));
		printf("%s %s -> %s %s: %lld objects, %.1f MiB logical, %.1f MiB transferred (dedup %.2fx), %.1f MB/s, %.1f s; %s\n",
		       json_string_value(json_object_get(r, "message_id")),
		       json_string_value(json_object_get(r, "node")),
		       json_string_value(json_object_get(r, "target")), state ? state : "?",
		       (long long)json_integer_value(json_object_get(r, "objects_replicated")),
		       bytes / 1048576.0, wire / 1048576.0, chunk > 0 ? bytes / chunk : (bytes > 0 ? 0.0 : 1.0),
		       secs > 0 ? wire / 1e6 / secs : 0.0, secs,
		       json_string_value(json_object_get(r, "message")));
	}
}

static void detach(int sig)
{
	static const char msg[] = "\ndetached: the command goes on in the server (QUERY PROCESS shows it)\n";
	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to say */
	}
	_exit(0);
}

/* Sends one command; prints the answer; returns the exit status. */
static int run_one(int fd, const char *command, int json)
{
	int shown = 0;
	struct sigaction sa, old;
	json_t *req = json_pack("{s:s}", "command", command), *env, *doc, *cols;
	char *text = json_dumps(req, JSON_COMPACT);
	uint8_t len[4];
	uint32_t n;
	char *reply;
	json_error_t jerr;
	int status;

	json_decref(req);
	if (!text)
		return cli_fail(json, RPL_E_NOMEM, NULL);
	n = (uint32_t)strlen(text);
	if (n > ADMIN_REQUEST_MAX) {
		free(text);
		return cli_fail(json, RPL_E_ADMIN_TOOBIG, NULL);
	}
	len[0] = (uint8_t)(n >> 24), len[1] = (uint8_t)(n >> 16);
	len[2] = (uint8_t)(n >> 8), len[3] = (uint8_t)n;
	if (write_all(fd, len, 4) < 0 || write_all(fd, text, n) < 0) {
		free(text);
		return cli_fail(json, RPL_E_ADMIN_CONNECT, "the server closed the admin session");
	}
	free(text);
	/* Ctrl-C while a long command runs detaches from it; the server goes on. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = detach;
	sigaction(SIGINT, &sa, &old);
	for (;;) {
		json_t *prog;
		if (read_all(fd, len, 4) < 0) {
			sigaction(SIGINT, &old, NULL);
			return cli_fail(json, RPL_E_ADMIN_CONNECT, "no answer from the server");
		}
		n = (uint32_t)len[0] << 24 | (uint32_t)len[1] << 16 | (uint32_t)len[2] << 8 | len[3];
		if (n > ADMIN_REPLY_MAX || !(reply = malloc(n ? n : 1))) {
			sigaction(SIGINT, &old, NULL);
			return cli_fail(json, RPL_E_ADMIN_TOOBIG, NULL);
		}
		if (read_all(fd, reply, n) < 0) {
			free(reply);
			sigaction(SIGINT, &old, NULL);
			return cli_fail(json, RPL_E_ADMIN_CONNECT, "the answer was cut short");
		}
		env = json_loadb(reply, n, 0, &jerr);
		free(reply);
		if (!env) {
			sigaction(SIGINT, &old, NULL);
			return cli_fail(json, RPL_E_PROTOCOL, "unreadable answer");
		}
		if (!(prog = json_object_get(env, "progress")))
			break;
		if (!json)
			show_progress(prog, &shown);
		json_decref(env);
	}
	sigaction(SIGINT, &old, NULL);
	if (shown)
		fputs("\r\033[K", stderr);
	status = (int)json_integer_value(json_object_get(env, "status"));
	doc = json_incref(json_object_get(env, "doc"));
	cols = json_object_get(env, "columns");
	if (json) {
		cli_print(doc, 1);
	} else if (status) {
		const char *hint = json_string_value(json_object_get(doc, "hint"));
		const char *msg = json_string_value(json_object_get(doc, "message"));
		fprintf(stderr, "%s %s%s%s\n", json_string_value(json_object_get(doc, "message_id")),
			json_string_value(json_object_get(doc, "error")), msg ? ": " : "", msg ? msg : "");
		if (hint)
			fprintf(stderr, "  hint: %s\n", hint);
		json_decref(doc);
	} else if (json_is_array(json_object_get(doc, "runs")) && json_object_get(doc, "runs") &&
		   json_array_size(json_object_get(doc, "runs")) &&
		   json_object_get(json_array_get(json_object_get(doc, "runs"), 0), "bytes_transferred")) {
		show_summary(doc);
		json_decref(doc);
	} else if (json_is_array(cols) && json_is_array(doc)) {
		cli_render_table(stdout, doc, cols);
		json_decref(doc);
	} else {
		cli_print(doc, 0);
	}
	fflush(stdout);
	json_decref(env);
	return status ? EXIT_FAIL : EXIT_OK;
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
		w = snprintf(command + n, sz - n, "%s%.*s%c%s%c", n ? " " : "",
			     (int)(eq - arg + 1), arg, q, eq + 1, q);
	return w < 0 || (size_t)w >= sz - n ? -1 : 0;
}

static int console(int fd, int json)
{
	char line[4096];
	int last = EXIT_OK;
	int tty = isatty(STDIN_FILENO);

	for (;;) {
		char *s;
		if (tty) {
			fputs("replpeer> ", stdout);
			fflush(stdout);
		}
		if (!fgets(line, sizeof(line), stdin))
			break;
		line[strcspn(line, "\r\n")] = 0;
		s = line + strspn(line, " \t");
		if (!*s)
			continue;
		if (strcasecmp(s, "QUIT") == 0 || strcasecmp(s, "EXIT") == 0)
			break;
		last = run_one(fd, s, json);
		if (strncasecmp(s, "HALT", 4) == 0)
			break;
	}
	return last;
}

int cmd_admin(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"id", required_argument, NULL, 'i'},
		{"password-file", required_argument, NULL, 'P'},
		{"accept-cert", no_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *host = NULL;
	char command[8192] = "";
	int json = 0, c, fd, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+d:jH:p:i:P:Ah", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		case 'H': host = optarg; break;
		case 'p': case 'i': case 'P': case 'A': break;
		case 'h': fputs(admin_usage, stdout); return EXIT_OK;
		default: return cli_usage_error(admin_usage, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	for (int i = optind; i < argc; i++)
		if (append_word(command, sizeof(command), argv[i]) < 0)
			return cli_fail(json, RPL_E_ADMIN_TOOBIG, NULL);
	if (host)
		return cli_fail(json, RPL_E_NOTIMPL, "remote admin sessions (--host)");
	if (!dir)
		return cli_usage_error(admin_usage, "-d DIR is required");
	fd = admin_connect(dir);
	if (fd < 0)
		return cli_fail(json, RPL_E_ADMIN_CONNECT, "%s/admin.sock: %s", dir, strerror(errno));
	rc = command[0] ? run_one(fd, command, json) : console(fd, json);
	close(fd);
	return rc;
}
