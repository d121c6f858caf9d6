/* replpeer serve and replpeer admin: the daemon and its console. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../peer/adminsrv.h"
#include "daemon.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "admin_link.h"
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
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
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
		default: return cli_usage_error(serve_usage, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (!dir || optind < argc)
		return cli_usage_error(serve_usage, "serve takes -d DIR only");
	if ((rc = instance_check_dir(dir, err, sizeof(err))) < 0)
		return cli_fail(0, rc, "%s", err);
	return daemon_run(dir);
}

static const char admin_usage[] =
	"usage: replpeer admin -d DIR [--json] [--password-file F] [COMMAND]\n"
	"       replpeer admin --host H --port P --id ADMIN [--password-file F]\n"
	"                      [--accept-cert] [--cacert F] [--legacy] [--json] [COMMAND]\n"
	"\n"
	"Runs one admin COMMAND against the peer serving DIR (over DIR/admin.sock)\n"
	"and prints the answer: a readable form, or one JSON document with --json.\n"
	"Without COMMAND it is an interactive console (HELP lists the commands,\n"
	"QUIT ends). Exit status 1 when the command failed.\n"
	"\n"
	"A password given as '-' (SERVERPASSWORD=-, SET SERVERPASSWORD -,\n"
	"REGISTER ADMIN name -) is asked on the terminal without echo, twice, or\n"
	"read from the first line of --password-file F; the client puts it into the\n"
	"request over admin.sock, so it never appears on a command line. In the\n"
	"console as well.\n"
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
	"\n"
	"  -d, --dir DIR           instance directory (admin.sock: SYSTEM authority)\n"
	"  -j, --json              print JSON documents\n"
	"  -P, --password-file F   first line = the password (the sign-on password\n"
	"                          with --host, else for a '-' parameter)\n"
	"  -H, --host H            remote server (a host name or address)\n"
	"  -p, --port P            its TCPPORT (default 1500)\n"
	"  -i, --id ADMIN          the administrator to sign on as\n"
	"  -A, --accept-cert       accept and pin a server certificate seen for the first time\n"
	"  -C, --cacert F          accept a server certificate that chains to the CA in F\n"
	"  -L, --legacy            the down-level path (protocol 1, no TLS): only for\n"
	"                          TRANSITIONAL administrators while ALLOWLEGACY is YES\n"
	"\n"
	"Commands: type HELP in the console.\n";

static int write_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL); /* a closed server is an error, not SIGPIPE */
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

/* Why: whoever can replace DIR/admin.sock (a directory left writable) or
 * run a process that listens there sees everything typed into the admin
 * session, passwords included. Before sending anything the client wants
 * the socket, and the process behind it, to belong to the owner of the
 * instance directory or to root. */
static int admin_socket_trusted(const char *dir, const char *path, uid_t *owner,
				char *err, size_t errsz)
{
	struct stat d, s;

	if (stat(dir, &d) < 0 || lstat(path, &s) < 0)
		return cli_admin_unreachable(dir, path, errno, err, errsz);
	*owner = d.st_uid;
	if (!S_ISSOCK(s.st_mode)) {
		snprintf(err, errsz, "%s is not a socket", path);
		return -RPL_E_ADMIN_UNTRUSTED;
	}
	if (s.st_uid != 0 && s.st_uid != d.st_uid) {
		snprintf(err, errsz, "%s belongs to uid %u, %s to uid %u", path,
			 (unsigned)s.st_uid, dir, (unsigned)d.st_uid);
		return -RPL_E_ADMIN_UNTRUSTED;
	}
	return 0;
}

static int admin_peer_trusted(int fd, uid_t owner, const char *path, char *err,
			      size_t errsz)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		snprintf(err, errsz, "%s: cannot tell who listens: %s", path, strerror(errno));
		return -RPL_E_ADMIN_UNTRUSTED;
	}
	if (cred.uid != 0 && cred.uid != owner) {
		snprintf(err, errsz, "the process listening on %s (pid %d) runs as uid %u, the instance belongs to uid %u",
			 path, (int)cred.pid, (unsigned)cred.uid, (unsigned)owner);
		return -RPL_E_ADMIN_UNTRUSTED;
	}
	return 0;
}

/* Connects to DIR/admin.sock; a negative code with err filled on failure. */
static int admin_connect(const char *dir, int *fdp, char *err, size_t errsz)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc, n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/admin.sock", dir);
	uid_t owner = (uid_t)-1; /* set by admin_socket_trusted */

	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		snprintf(err, errsz, "%s/admin.sock: path too long", dir);
		return -RPL_E_ADMIN_CONNECT;
	}
	if ((rc = admin_socket_trusted(dir, sa.sun_path, &owner, err, errsz)) < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = cli_admin_unreachable(dir, sa.sun_path, errno, err, errsz);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if ((rc = admin_peer_trusted(fd, owner, sa.sun_path, err, errsz)) < 0) {
		close(fd);
		return rc;
	}
	*fdp = fd;
	return 0;
}

/* Where commands go: admin.sock (fd) or a link (the remote session). */
struct target {
	int fd;
	struct admin_link *link;
};

/* Sends one command over admin.sock; *env gets the reply envelope. */
static int local_request(int fd, const char *command, json_t **env, char *err, size_t errsz)
{
	json_t *req = json_pack("{s:s}", "command", command);
	char *text = json_dumps(req, JSON_COMPACT);
	uint8_t len[4];
	uint32_t n;
	char *reply;
	json_error_t jerr;

	json_decref(req);
	if (!text)
		return -RPL_E_NOMEM;
	n = (uint32_t)strlen(text);
	if (n > ADMIN_REQUEST_MAX) {
		secure_free(text);
		return -RPL_E_ADMIN_TOOBIG;
	}
	len[0] = (uint8_t)(n >> 24), len[1] = (uint8_t)(n >> 16);
	len[2] = (uint8_t)(n >> 8), len[3] = (uint8_t)n;
	if (write_all(fd, len, 4) < 0 || write_all(fd, text, n) < 0) {
		secure_free(text);
		snprintf(err, errsz, "the server closed the admin session");
		return -RPL_E_ADMIN_CONNECT;
	}
	secure_free(text); /* the request may carry a password */
	/* Progress notes (what a slow command waits for) come before the
	 * answer: shown at once on stderr, so stdout stays one document. */
	for (;;) {
		const char *note;
		if (read_all(fd, len, 4) < 0) {
			snprintf(err, errsz, "no answer from the server");
			return -RPL_E_ADMIN_CONNECT;
		}
		n = (uint32_t)len[0] << 24 | (uint32_t)len[1] << 16 | (uint32_t)len[2] << 8 | len[3];
		if (n > ADMIN_REPLY_MAX || !(reply = malloc(n ? n : 1)))
			return -RPL_E_ADMIN_TOOBIG;
		if (read_all(fd, reply, n) < 0) {
			free(reply);
			snprintf(err, errsz, "the answer was cut short");
			return -RPL_E_ADMIN_CONNECT;
		}
		*env = json_loadb(reply, n, 0, &jerr);
		free(reply);
		if (!*env) {
			snprintf(err, errsz, "unreadable answer");
			return -RPL_E_PROTOCOL;
		}
		if (!(note = json_string_value(json_object_get(*env, "progress"))))
			return 0;
		fprintf(stderr, "%s\n", note);
		json_decref(*env);
		*env = NULL;
	}
}

/* Sends one command; prints the answer; returns the exit status. */
static int run_one(const struct target *t, const char *command, int json)
{
	json_t *env = NULL, *doc, *cols;
	char err[600] = "";
	int status, rc;

	rc = t->link ? t->link->ops->request(t->link, command, &env, err, sizeof(err))
		     : local_request(t->fd, command, &env, err, sizeof(err));
	if (rc < 0)
		return cli_fail(json, -rc, "%s", err);
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

/* run_one for a command line whose "-" password parameters are filled
 * in first (cmd/cli_secret.c). */
static int run_line(const struct target *t, const char *line, const char *pwfile, int json)
{
	char command[8192], err[512];
	int rc = cli_fill_passwords(line, pwfile, command, sizeof(command), err, sizeof(err));

	if (rc < 0)
		rc = cli_fail(json, rc, "%s", err[0] ? err : "");
	else
		rc = run_one(t, command, json);
	secure_zero(command, sizeof(command));
	return rc;
}

static int console(const struct target *t, const char *pwfile, int json)
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
		last = run_line(t, s, pwfile, json);
		if (strncasecmp(s, "HALT", 4) == 0)
			break;
		secure_zero(line, sizeof(line));
	}
	secure_zero(line, sizeof(line));
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
		{"cacert", required_argument, NULL, 'C'},
		{"legacy", no_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct admin_remote_opts ro = {.port = 1500};
	struct target t = {.fd = -1};
	const char *dir = NULL, *pwfile = NULL;
	char command[8192] = "", err[PATH_MAX + 256] = "";
	int json = 0, c, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+d:jH:p:i:P:AC:Lh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		case 'H': ro.host = optarg; break;
		case 'p': ro.port = atoi(optarg); break;
		case 'i': ro.id = optarg; break;
		case 'P': pwfile = optarg; break;
		case 'A': ro.accept_cert = 1; break;
		case 'C': ro.cacert = optarg; break;
		case 'L': ro.legacy = 1; break;
		case 'h': fputs(admin_usage, stdout); return EXIT_OK;
		default: return cli_usage_error(admin_usage, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	for (int i = optind; i < argc; i++)
		if (append_word(command, sizeof(command), argv[i]) < 0) {
			secure_zero(command, sizeof(command));
			return cli_fail(json, RPL_E_ADMIN_TOOBIG, NULL);
		}
	if (ro.host) {
		if (dir)
			return cli_usage_error(admin_usage, "give either -d DIR or --host, not both");
		if (!ro.id)
			return cli_usage_error(admin_usage, "--id ADMIN is required with --host");
		ro.pwfile = pwfile;
		ro.json = json;
		rc = admin_link_remote(&ro, &t.link, err, sizeof(err));
		if (rc < 0) {
			secure_zero(command, sizeof(command));
			return rc == -RPL_E_USAGE ? cli_usage_error(admin_usage, "%s", err)
						  : cli_fail(json, -rc, "%s", err);
		}
		/* The sign-on used the password file; "-" parameters are asked. */
		pwfile = NULL;
	} else {
		if (!dir)
			return cli_usage_error(admin_usage, "-d DIR (or --host H --id ADMIN) is required");
		if ((rc = admin_connect(dir, &t.fd, err, sizeof(err))) < 0) {
			secure_zero(command, sizeof(command));
			return cli_fail(json, rc, "%s", err);
		}
	}
	rc = command[0] ? run_line(&t, command, pwfile, json) : console(&t, pwfile, json);
	secure_zero(command, sizeof(command));
	if (t.link)
		t.link->ops->close(t.link);
	else
		close(t.fd);
	return rc;
}
