#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../util/msg.h"
#include "../util/secure.h"

int cli_fail(int json, int code, const char *fmt, ...)
{
	char detail[1024] = "";
	const char *hint = rpl_msg_hint(code);
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	fprintf(stderr, "replpeer: %s %s%s%s\n", rpl_msg_id(code), rpl_msg_text(code),
		detail[0] ? ": " : "", detail);
	if (hint)
		fprintf(stderr, "  hint: %s\n", hint);
	if (json) {
		json_t *j = json_pack("{s:b, s:s, s:s}", "ok", 0, "message_id",
				      rpl_msg_id(code), "error", rpl_msg_text(code));
		if (detail[0])
			json_object_set_new(j, "detail", json_string(detail));
		if (hint)
			json_object_set_new(j, "hint", json_string(hint));
		cli_print(j, 1);
	}
	return code == RPL_E_USAGE || code == -RPL_E_USAGE ? EXIT_USAGE : EXIT_FAIL;
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

static int read_line(FILE *f, char *buf, size_t sz)
{
	size_t n;
	if (!fgets(buf, (int)sz, f))
		return -RPL_E_PASSWORD_READ;
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	else if (!feof(f))
		return -RPL_E_PASSWORD_WEAK; /* longer than the buffer */
	if (n && buf[n - 1] == '\r')
		buf[--n] = 0;
	return 0;
}

static int ask(const char *prompt, char *buf, size_t sz)
{
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	int rc;

	if (!tty)
		return -RPL_E_PASSWORD_READ;
	fputs(prompt, tty);
	fflush(tty);
	if (tcgetattr(fileno(tty), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	rc = read_line(tty, buf, sz);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputs("\n", tty);
	fclose(tty);
	return rc;
}

int cli_read_password(const char *file, int confirm, char *buf, size_t sz)
{
	char again[256];
	FILE *f;
	int rc;

	if (file) {
		f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
		if (!f)
			return -RPL_E_PASSWORD_READ;
		rc = read_line(f, buf, sz);
		if (f != stdin)
			fclose(f);
		return rc;
	}
	if ((rc = ask("Password: ", buf, sz)) < 0)
		return rc;
	if (!confirm)
		return 0;
	if ((rc = ask("Password again: ", again, sizeof(again))) < 0)
		return rc;
	rc = strcmp(buf, again) == 0 ? 0 : -RPL_E_PASSWORD_READ;
	secure_zero(again, sizeof(again));
	return rc;
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

/* "not_after" -> "Not After"; a few words read better in capitals. */
static void label_text(const char *key, char *out, size_t outsz)
{
	static const struct { const char *word, *text; } words[] = {
		{"hladdress", "High-level Address"}, {"lladdress", "Low-level Address"},
		{"sessionsecurity", "Session Security"}, {"tls", "TLS"}, {"ssl", "SSL"},
		{"id", "ID"}, {"rtt", "RTT"}, {"ms", "(ms)"}, {"ca", "CA"},
		{"forcesync", "FORCESYNC"}, {"san", "SAN"},
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

static void render_value(FILE *f, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: fprintf(f, "%s", json_string_value(v)); break;
	case JSON_INTEGER: fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: fprintf(f, "%.2f", json_real_value(v)); break;
	case JSON_TRUE: fprintf(f, "Yes"); break;
	case JSON_FALSE: fprintf(f, "No"); break;
	case JSON_NULL: fprintf(f, "-"); break;
	default: fprintf(f, "?"); break;
	}
}

static void render_object(FILE *f, json_t *o, int indent)
{
	const char *key;
	json_t *v;
	size_t width = 0;
	char label[64];

	json_object_foreach(o, key, v) {
		label_text(key, label, sizeof(label));
		if (strlen(label) > width)
			width = strlen(label);
	}
	json_object_foreach(o, key, v) {
		label_text(key, label, sizeof(label));
		fprintf(f, "%*s%*s: ", indent, "", (int)width, label);
		if (json_is_array(v)) {
			size_t i;
			json_t *e;
			if (json_array_size(v) == 0)
				fprintf(f, "-\n");
			else
				fprintf(f, "\n");
			json_array_foreach(v, i, e) {
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
		} else {
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
		json_array_foreach(j, i, e) {
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
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
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

static void cell_text(json_t *v, char *out, size_t sz)
{
	if (!v) { /* a row without this column */
		snprintf(out, sz, "-");
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING: snprintf(out, sz, "%s", json_string_value(v)); break;
	case JSON_INTEGER: snprintf(out, sz, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: snprintf(out, sz, "%.2f", json_real_value(v)); break;
	case JSON_TRUE: snprintf(out, sz, "Yes"); break;
	case JSON_FALSE: snprintf(out, sz, "No"); break;
	default: snprintf(out, sz, "-"); break;
	}
}

void cli_render_table(FILE *f, json_t *rows, json_t *columns)
{
	size_t ncol = json_array_size(columns), i, r;
	size_t width[32] = {0};
	char label[64], cell[512];
	json_t *row;

	if (ncol > 32)
		ncol = 32;
	if (json_array_size(rows) == 0) {
		fprintf(f, "(none)\n");
		return;
	}
	for (i = 0; i < ncol; i++) {
		label_text(json_string_value(json_array_get(columns, i)), label, sizeof(label));
		width[i] = strlen(label);
	}
	json_array_foreach(rows, r, row) {
		for (i = 0; i < ncol; i++) {
			cell_text(json_object_get(row, json_string_value(json_array_get(columns, i))), cell, sizeof(cell));
			if (strlen(cell) > width[i])
				width[i] = strlen(cell);
		}
	}
	for (i = 0; i < ncol; i++) {
		label_text(json_string_value(json_array_get(columns, i)), label, sizeof(label));
		if (i + 1 < ncol)
			fprintf(f, "%-*s  ", (int)width[i], label);
		else
			fprintf(f, "%s\n", label);
	}
	for (i = 0; i < ncol; i++)
		for (size_t k = 0; k < width[i] + (i + 1 < ncol ? 2 : 0); k++)
			fputc(k < width[i] ? '-' : ' ', f);
	fputc('\n', f);
	json_array_foreach(rows, r, row) {
		for (i = 0; i < ncol; i++) {
			cell_text(json_object_get(row, json_string_value(json_array_get(columns, i))), cell, sizeof(cell));
			if (i + 1 < ncol)
				fprintf(f, "%-*s  ", (int)width[i], cell);
			else
				fprintf(f, "%s\n", cell);
		}
	}
}
