#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "../util/errdoc.h"
#include "../util/msg.h"
#include "../util/secure.h"

void cli_print_failure(FILE *f, json_t *doc)
{
	const char *error = json_string_value(json_object_get(doc, "error"));
	const char *msg = json_string_value(json_object_get(doc, "message"));
	const char *hint = json_string_value(json_object_get(doc, "hint"));
	int same = !msg || (error && strcmp(msg, error) == 0);

	fprintf(f, "replpeer: %s %s%s%s\n", json_string_value(json_object_get(doc, "message_id")),
		error ? error : "", same ? "" : ": ", same ? "" : msg);
	if (hint)
		fprintf(f, "  hint: %s\n", hint);
	fflush(f);
}

int cli_fail(int json, int code, const char *fmt, ...)
{
	char detail[1024] = "";
	json_t *doc;
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	doc = rpl_error_doc(code, detail);
	if (json) {
		cli_print(doc, 1);
	} else {
		cli_print_failure(stderr, doc);
		json_decref(doc);
	}
	return rpl_msg_exit_status(code);
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	fprintf(stderr, "replpeer: %s %s: %s\n%s", rpl_msg_id(RPL_E_USAGE),
		rpl_msg_text(RPL_E_USAGE), detail, usage);
	return EXIT_USAGE;
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* Reads one line from fd byte by byte: no stdio buffer keeps a copy of the
 * password (or of the lines after it). */
static int read_line_fd(int fd, char *buf, size_t sz)
{
	size_t n = 0;
	char ch;

	for (;;) {
		ssize_t r = read(fd, &ch, 1);
		/* Only a handler that asks for it (the console's SIGINT) gets
		 * here: Ctrl-C abandons the question. */
		if (r < 0 && errno == EINTR) {
			secure_zero(buf, sz);
			return -RPL_E_INTERRUPTED;
		}
		if (r < 0)
			return -RPL_E_PASSWORD_READ;
		if (r == 0) {
			if (n == 0)
				return -RPL_E_PASSWORD_READ;
			break;
		}
		if (ch == '\n')
			break;
		if (n + 1 >= sz) {
			secure_zero(buf, sz);
			return -RPL_E_PASSWORD_WEAK; /* longer than the buffer */
		}
		buf[n++] = ch;
	}
	secure_zero(&ch, 1);
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = 0;
	return 0;
}

/* Asks on the controlling terminal with echo off. Echo goes off (and what
 * was typed ahead is dropped) before the prompt shows, so an answer typed
 * after the prompt is never lost nor echoed. */
static int ask(const char *prompt, char *buf, size_t sz)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY), rc, restore = 0;

	if (fd < 0)
		return -RPL_E_PASSWORD_READ;
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	if (write(fd, prompt, strlen(prompt)) < 0)
		rc = -RPL_E_PASSWORD_READ;
	else
		rc = read_line_fd(fd, buf, sz);
	if (restore)
		tcsetattr(fd, TCSANOW, &old);
	else if (write(fd, "\n", 1) < 0)
		rc = rc ? rc : -RPL_E_PASSWORD_READ;
	close(fd);
	return rc;
}

int cli_read_password_prompt(const char *file, const char *prompt, int confirm, char *buf,
			     size_t sz)
{
	char again[256], twice[256];
	int fd, rc;

	if (file) {
		fd = strcmp(file, "-") == 0 ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -RPL_E_PASSWORD_READ;
		rc = read_line_fd(fd, buf, sz);
		if (fd != STDIN_FILENO)
			close(fd);
		return rc;
	}
	if ((rc = ask(prompt, buf, sz)) < 0 || !confirm)
		return rc;
	snprintf(twice, sizeof(twice), "Repeat %c%s", tolower((unsigned char)prompt[0]),
		 prompt[0] ? prompt + 1 : "");
	if ((rc = ask(twice, again, sizeof(again))) < 0) {
		secure_zero(buf, sz);
		return rc;
	}
	rc = strcmp(buf, again) == 0 ? 0 : -RPL_E_PASSWORD_READ;
	secure_zero(again, sizeof(again));
	if (rc < 0)
		secure_zero(buf, sz);
	return rc;
}

int cli_read_password(const char *file, int confirm, char *buf, size_t sz)
{
	return cli_read_password_prompt(file, "Password: ", confirm, buf, sz);
}

int cli_open_instance(const char *dir, struct instance *in, int json)
{
	char err[512] = "";
	int rc;

	if (!dir)
		return cli_fail(json, RPL_E_USAGE, "-d DIR is required");
	rc = instance_open(in, dir, err, sizeof(err));
	if (rc < 0)
		return cli_fail(json, rc, "%s", err[0] ? err : dir);
	return 0;
}

int cli_admin_unreachable(const char *dir, const char *sock, int errnum, char *err, size_t errsz)
{
	char conf[PATH_MAX + 32];
	struct stat st;

	if (errnum == EACCES || errnum == EPERM) {
		snprintf(err, errsz, "%s: %s (this client runs as uid %u)", sock, strerror(errnum),
			 (unsigned)geteuid());
		return -RPL_E_ADMIN_DENIED;
	}
	if (stat(dir, &st) < 0) {
		int e = errno;
		snprintf(err, errsz, "%s: %s", dir, strerror(e));
		return e == EACCES ? -RPL_E_ADMIN_DENIED : -RPL_E_NOINSTANCE;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "%s is not a directory", dir);
		return -RPL_E_NOINSTANCE;
	}
	snprintf(conf, sizeof(conf), "%s/replpeer.conf", dir);
	if (stat(conf, &st) < 0 && errno == ENOENT) {
		snprintf(err, errsz, "%s has no replpeer.conf", dir);
		return -RPL_E_NOINSTANCE;
	}
	if (errnum == ENOENT)
		snprintf(err, errsz, "%s does not exist: no 'replpeer serve' runs for %s", sock,
			 dir);
	else if (errnum == ECONNREFUSED)
		snprintf(err, errsz, "%s: nobody listens (a 'replpeer serve' that ended left it)",
			 sock);
	else
		snprintf(err, errsz, "%s: %s", sock, strerror(errnum));
	return -RPL_E_ADMIN_CONNECT;
}

/* "not_after" -> "Not After"; a few words read better in capitals. */
static void label_text(const char *key, char *out, size_t outsz)
{
	static const struct {
		const char *word, *text;
	} words[] = {
		{ "hladdress", "High-level Address" },
		{ "lladdress", "Low-level Address" },
		{ "sessionsecurity", "Session Security" },
		{ "tls", "TLS" },
		{ "ssl", "SSL" },
		{ "id", "ID" },
		{ "rtt", "RTT" },
		{ "ms", "(ms)" },
		{ "ca", "CA" },
		{ "forcesync", "FORCESYNC" },
		{ "san", "SAN" },
		{ "cn", "CN" },
		{ "pem", "PEM" },
		{ "csr", "CSR" },
		{ "ok", "OK" },
		{ "url", "URL" },
		{ "dn", "DN" },
	};
	char copy[128], *w, *save = NULL;
	size_t used = 0;

	snprintf(copy, sizeof(copy), "%s", key ? key : "");
	out[0] = 0;
	for (w = strtok_r(copy, "_", &save); w; w = strtok_r(NULL, "_", &save)) {
		char word[64];
		const char *text = NULL;
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strcmp(w, words[i].word) == 0)
				text = words[i].text;
		if (!text) {
			snprintf(word, sizeof(word), "%s", w);
			word[0] = (char)toupper((unsigned char)word[0]);
			text = word;
		}
		used += (size_t)snprintf(out + used, used < outsz ? outsz - used : 0, "%s%s",
					 used ? " " : "", text);
		if (used >= outsz)
			break;
	}
}

/* days_left below zero reads EXPIRED (JSON keeps the number). */
static int shows_expired(const char *key, json_t *v)
{
	return key && strcmp(key, "days_left") == 0 && json_is_integer(v) &&
	       json_integer_value(v) < 0;
}

static void render_value(FILE *f, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: fprintf(f, "%s", json_string_value(v)); break;
	case JSON_INTEGER: fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: fprintf(f, "%.6g", json_real_value(v)); break;
	case JSON_TRUE: fprintf(f, "Yes"); break;
	case JSON_FALSE: fprintf(f, "No"); break;
	case JSON_NULL: fprintf(f, "-"); break;
	default: fprintf(f, "?"); break;
	}
}

/* A long text value continues under itself, cut at spaces before column 79. */
static void render_text(FILE *f, const char *text, int col)
{
	int room = 79 - col;

	if (room < 30 || (int)strlen(text) <= room) {
		fprintf(f, "%s", text);
		return;
	}
	while ((int)strlen(text) > room) {
		int cut = room;
		while (cut > 0 && text[cut] != ' ')
			cut--;
		if (cut == 0) /* one long word: leave it whole */
			cut = (int)strcspn(text, " ");
		fprintf(f, "%.*s", cut, text);
		text += cut;
		while (*text == ' ')
			text++;
		if (!*text)
			return;
		fprintf(f, "\n%*s", col, "");
	}
	fprintf(f, "%s", text);
}

static void render_object(FILE *f, json_t *o, int indent)
{
	const char *key;
	json_t *v;
	size_t width = 0;
	char label[64];

	json_object_foreach(o, key, v)
	{
		label_text(key, label, sizeof(label));
		if (strlen(label) > width)
			width = strlen(label);
	}
	json_object_foreach(o, key, v)
	{
		label_text(key, label, sizeof(label));
		fprintf(f, "%*s%*s: ", indent, "", (int)width, label);
		if (json_is_array(v)) {
			size_t i;
			json_t *e;
			if (json_array_size(v) == 0)
				fprintf(f, "-\n");
			else
				fprintf(f, "\n");
			json_array_foreach(v, i, e)
			{
				if (json_is_object(e)) {
					render_object(f, e, indent + (int)width + 2);
					if (i + 1 < json_array_size(v))
						fprintf(f, "\n");
				} else {
					fprintf(f, "%*s", indent + (int)width + 2, "");
					render_value(f, e);
					fprintf(f, "\n");
				}
			}
		} else if (json_is_object(v)) {
			fprintf(f, "\n");
			render_object(f, v, indent + (int)width + 2);
		} else if (json_is_string(v)) {
			render_text(f, json_string_value(v), indent + (int)width + 2);
			fprintf(f, "\n");
		} else {
			if (shows_expired(key, v))
				fprintf(f, "EXPIRED");
			else
				render_value(f, v);
			fprintf(f, "\n");
		}
	}
}

void cli_render(FILE *f, json_t *j)
{
	if (json_is_array(j)) {
		size_t i;
		json_t *e;
		if (json_array_size(j) == 0)
			fprintf(f, "(none)\n");
		json_array_foreach(j, i, e)
		{
			if (i)
				fprintf(f, "\n");
			if (json_is_object(e))
				render_object(f, e, 0);
			else {
				render_value(f, e);
				fprintf(f, "\n");
			}
		}
	} else if (json_is_object(j)) {
		render_object(f, j, 0);
	} else if (j) {
		render_value(f, j);
		fprintf(f, "\n");
	}
}

void cli_print(json_t *j, int json)
{
	if (!j)
		return;
	if (json) {
		char *s = json_dumps(j, CLI_JSON_FLAGS);
		if (s) {
			puts(s);
			free(s);
		}
	} else {
		cli_render(stdout, j);
	}
	fflush(stdout);
	json_decref(j);
}

static void cell_text(const char *key, json_t *v, char *out, size_t sz)
{
	if (!v) { /* a row without this column */
		snprintf(out, sz, "-");
		return;
	}
	if (shows_expired(key, v)) {
		snprintf(out, sz, "EXPIRED");
		return;
	}
	if (json_is_array(v)) { /* names: "B, C", or "-" for none */
		size_t i, n = 0;
		json_t *e;
		out[0] = 0;
		json_array_foreach(v, i, e) if (n < sz) n +=
			(size_t)snprintf(out + n, sz - n, "%s%s", i ? ", " : "",
					 json_is_string(e) ? json_string_value(e) : "?");
		if (!out[0])
			snprintf(out, sz, "-");
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING: snprintf(out, sz, "%s", json_string_value(v)); break;
	case JSON_INTEGER: snprintf(out, sz, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: snprintf(out, sz, "%.6g", json_real_value(v)); break;
	case JSON_TRUE: snprintf(out, sz, "Yes"); break;
	case JSON_FALSE: snprintf(out, sz, "No"); break;
	default: snprintf(out, sz, "-"); break;
	}
}

void cli_render_table(FILE *f, json_t *rows, json_t *columns)
{
	cli_render_table_opts(f, rows, columns, 0);
}

void cli_render_table_opts(FILE *f, json_t *rows, json_t *columns, int dataonly)
{
	size_t ncol = json_array_size(columns), i, r;
	size_t width[32] = { 0 };
	char label[64], cell[512];
	json_t *row;

	if (ncol > 32)
		ncol = 32;
	if (json_array_size(rows) == 0) {
		if (!dataonly)
			fprintf(f, "(none)\n");
		return;
	}
	for (i = 0; i < ncol; i++) {
		label_text(json_string_value(json_array_get(columns, i)), label, sizeof(label));
		width[i] = dataonly ? 0 : strlen(label);
	}
	json_array_foreach(rows, r, row)
	{
		for (i = 0; i < ncol; i++) {
			cell_text(
				json_string_value(json_array_get(columns, i)),
				json_object_get(row, json_string_value(json_array_get(columns, i))),
				cell, sizeof(cell));
			if (strlen(cell) > width[i])
				width[i] = strlen(cell);
		}
	}
	for (i = 0; i < ncol && !dataonly; i++) {
		label_text(json_string_value(json_array_get(columns, i)), label, sizeof(label));
		if (i + 1 < ncol)
			fprintf(f, "%-*s  ", (int)width[i], label);
		else
			fprintf(f, "%s\n", label);
	}
	for (i = 0; i < ncol && !dataonly; i++)
		for (size_t k = 0; k < width[i] + (i + 1 < ncol ? 2 : 0); k++)
			fputc(k < width[i] ? '-' : ' ', f);
	if (!dataonly)
		fputc('\n', f);
	json_array_foreach(rows, r, row)
	{
		for (i = 0; i < ncol; i++) {
			cell_text(
				json_string_value(json_array_get(columns, i)),
				json_object_get(row, json_string_value(json_array_get(columns, i))),
				cell, sizeof(cell));
			if (i + 1 < ncol)
				fprintf(f, "%-*s  ", (int)width[i], cell);
			else
				fprintf(f, "%s\n", cell);
		}
	}
}

/* One field of a delimited line: RFC 4180 quoting for commas, blanks for
 * tabs and line breaks inside a tab-separated field. */
static void put_text(FILE *f, const char *p, char delim)
{
	if (delim == ',' && strpbrk(p, ",\"\r\n")) {
		fputc('"', f);
		for (; *p; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		fputc('"', f);
	} else {
		for (; *p; p++)
			fputc(delim == '\t' && strchr("\t\r\n", *p) ? ' ' : *p, f);
	}
}

static void put_field(FILE *f, json_t *v, char delim)
{
	char cell[512];

	if (!v || json_is_null(v))
		return; /* an empty field */
	if (json_is_array(v) || json_is_object(v)) {
		char *text =
			json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
		put_text(f, text ? text : "", delim);
		free(text);
	} else if (json_is_string(v)) {
		put_text(f, json_string_value(v), delim);
	} else {
		cell_text(NULL, v, cell, sizeof(cell)); /* scripts get the numbers */
		put_text(f, cell, delim);
	}
}

void cli_render_delimited(FILE *f, json_t *doc, json_t *columns, char delim, int dataonly)
{
	json_t *rows = json_is_array(doc) ? json_incref(doc) : json_pack("[O]", doc);
	json_t *cols = json_is_array(columns) ? json_incref(columns) : json_array(), *row, *v;
	const char *key;
	size_t i, r;
	char label[64];

	if (!json_is_array(columns)) /* every key of the rows, in order of first use */
		json_array_foreach(rows, r, row)
		{
			json_object_foreach(row, key, v)
			{
				int seen = 0;
				json_t *c;
				json_array_foreach(cols, i, c) seen |=
					strcmp(json_string_value(c), key) == 0;
				if (!seen)
					json_array_append_new(cols, json_string(key));
			}
		}
	if (!dataonly && json_array_size(cols)) {
		json_array_foreach(cols, i, v)
		{
			label_text(json_string_value(v), label, sizeof(label));
			if (i)
				fputc(delim, f);
			put_text(f, label, delim);
		}
		fputc('\n', f);
	}
	json_array_foreach(rows, r, row)
	{
		if (!json_is_object(row)) {
			put_field(f, row, delim);
			fputc('\n', f);
			continue;
		}
		json_array_foreach(cols, i, v)
		{
			if (i)
				fputc(delim, f);
			put_field(f, json_object_get(row, json_string_value(v)), delim);
		}
		fputc('\n', f);
	}
	json_decref(cols);
	json_decref(rows);
}
