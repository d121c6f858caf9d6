/*
 * hostile: a hostile replpeer peer driven by a script (see hostile.h and
 * the command table below; `hostile --help` prints it). One command a line;
 * "#" starts a comment; $name or ${name} expands a variable (binary values
 * expand as hex:...); "try CMD" runs CMD without stopping the script when it
 * fails. Every event is one JSON line on stdout: {"ev": kind, "line": n,
 * "s": session, ...}. Exit status: 0, 1 when a command failed (an expect
 * that did not hold), 2 on a usage error.
 */
#include "hostile.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>

#include "../../peer/keys/identity.h"
#include "../../peer/keys/srp.h"
#include "../../peer/proto.h"
#include "../../util/clock.h"
#include "../../util/hex.h"
#include "../../util/secure.h"

/* The labels of peer/continuity.c (protocol constants). */
#define LABEL_CONTINUITY "replpeer continuity v1"
#define LABEL_ENDORSE "replpeer endorse v1"
#define LABEL_POSSESS "replpeer possess v1"

static struct hctx H;

/* ---- events ----------------------------------------------------------------- */

/* Seconds since the tool started, for rates measured from the events. */
static double since_start(void)
{
	static struct timespec t0;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (!t0.tv_sec)
		t0 = t;
	return (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
}

json_t *h_event(struct hctx *h, const char *kind)
{
	json_t *ev = json_object();
	json_object_set_new(ev, "ev", json_string(kind));
	json_object_set_new(ev, "line", json_integer(h->lineno));
	json_object_set_new(ev, "t", json_real((double)(long)(since_start() * 1000) / 1000.0));
	if (h->cur)
		json_object_set_new(ev, "s", json_string(h->cur->name));
	return ev;
}

void h_emit(struct hctx *h, json_t *ev)
{
	const char *kind = json_string_value(json_object_get(ev, "ev"));
	char *s;

	if ((h->quiet == 1 && kind && (strcmp(kind, "sent") == 0 || strcmp(kind, "send-failed") == 0)) ||
	    (h->quiet == 2 && kind && strncmp(kind, "fuzz", 4) != 0 && strcmp(kind, "violation") != 0 &&
	     strcmp(kind, "fail") != 0)) {
		json_decref(ev);
		return;
	}
	s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		free(s);
	}
	json_decref(ev);
}

int h_fail(struct hctx *h, const char *fmt, ...)
{
	char why[1024];
	va_list ap;
	json_t *ev;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ev = h_event(h, "fail");
	json_object_set_new(ev, "why", json_string(why));
	h_emit(h, ev);
	return -1;
}

char *h_hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	if (!s)
		return NULL;
	if (n)
		hex_encode(p, n, s);
	else
		s[0] = 0;
	return s;
}

/* ---- arguments ----------------------------------------------------------------- */

const char *h_opt(int argc, char **argv, const char *key)
{
	size_t k = strlen(key);
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=')
			return argv[i] + k + 1;
	return NULL;
}

/* The idx-th argument that is not key=value (idx from 0, after the command). */
int h_pos(int argc, char **argv, int idx, const char **out)
{
	for (int i = 1, n = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		const char *colon = strchr(argv[i], ':');
		/* "hex:ab=" is a value, not an option */
		if (eq && (!colon || eq < colon) && eq != argv[i])
			continue;
		if (n++ == idx) {
			*out = argv[i];
			return 0;
		}
	}
	*out = NULL;
	return -1;
}

double h_optd(int argc, char **argv, const char *key, double dflt)
{
	const char *v = h_opt(argc, argv, key);
	return v ? atof(v) : dflt;
}

long h_optl(int argc, char **argv, const char *key, long dflt)
{
	const char *v = h_opt(argc, argv, key);
	return v ? strtol(v, NULL, 0) : dflt;
}

/* ---- values and variables -------------------------------------------------- */

void hval_free(struct hval *v)
{
	blob_free(&v->b);
	v->text = 0;
}

const struct hval *h_getvar(struct hctx *h, const char *name)
{
	for (int i = 0; i < h->nvars; i++)
		if (strcmp(h->vars[i].name, name) == 0)
			return &h->vars[i].v;
	return NULL;
}

int h_setvar(struct hctx *h, const char *name, const void *p, size_t n, int text)
{
	struct hvar *v = NULL;

	for (int i = 0; i < h->nvars && !v; i++)
		if (strcmp(h->vars[i].name, name) == 0)
			v = &h->vars[i];
	if (!v) {
		if (h->nvars >= H_MAX_VARS)
			return h_fail(h, "too many variables");
		v = &h->vars[h->nvars++];
		snprintf(v->name, sizeof(v->name), "%s", name);
	}
	blob_free(&v->v.b);
	v->v.text = text;
	if (blob_set(&v->v.b, p, n) < 0)
		return h_fail(h, "out of memory");
	if (!v->v.b.p) { /* an empty value still has storage, for "%s" */
		v->v.b.p = calloc(1, 1);
		v->v.b.n = 0;
	}
	return 0;
}

static int put_be(struct hval *out, uint64_t v, int bytes)
{
	uint8_t b[8];
	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	return blob_set(&out->b, b, (size_t)bytes);
}

static int hex_value(const char *s, struct hval *out)
{
	size_t n = strlen(s);
	uint8_t *buf;
	int rc;

	if (n % 2)
		return -1;
	buf = malloc(n / 2 + 1);
	if (!buf)
		return -1;
	rc = hex_decode(s, buf, n / 2);
	if (rc == 0)
		rc = blob_set(&out->b, buf, n / 2);
	free(buf);
	return rc;
}

/* Value syntax: hex:.. 0x.. str:.. u8: u16: u32: u64: zero:N rand:N
 * fill:N:BYTE file:PATH; otherwise by the field's type (a number for u64
 * fields, the text itself for the others). */
int hval_parse(struct hctx *h, const char *tok, int type, struct hval *out)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(tok, "hex:", 4) == 0 || strncmp(tok, "0x", 2) == 0) {
		if (hex_value(tok + (tok[0] == '0' ? 2 : 4), out) < 0)
			return h_fail(h, "bad hex value %.40s", tok);
	} else if (strncmp(tok, "str:", 4) == 0) {
		out->text = 1;
		blob_set(&out->b, tok + 4, strlen(tok + 4));
	} else if (strncmp(tok, "u8:", 3) == 0) {
		put_be(out, strtoull(tok + 3, NULL, 0), 1);
	} else if (strncmp(tok, "u16:", 4) == 0) {
		put_be(out, strtoull(tok + 4, NULL, 0), 2);
	} else if (strncmp(tok, "u32:", 4) == 0) {
		put_be(out, strtoull(tok + 4, NULL, 0), 4);
	} else if (strncmp(tok, "u64:", 4) == 0) {
		put_be(out, strtoull(tok + 4, NULL, 0), 8);
	} else if (strncmp(tok, "zero:", 5) == 0 || strncmp(tok, "rand:", 5) == 0 ||
		   strncmp(tok, "fill:", 5) == 0) {
		long n = strtol(tok + 5, NULL, 0);
		const char *c = strchr(tok + 5, ':');
		uint8_t *buf;
		if (n < 0 || n > (long)FRAME_MAX * 2)
			return h_fail(h, "bad length in %s", tok);
		buf = calloc(1, (size_t)n + 1);
		if (!buf)
			return h_fail(h, "out of memory");
		if (tok[0] == 'r')
			secure_random(buf, (size_t)n);
		else if (tok[0] == 'f')
			memset(buf, c ? (int)strtol(c + 1, NULL, 0) : 0, (size_t)n);
		blob_set(&out->b, buf, (size_t)n);
		free(buf);
	} else if (strncmp(tok, "file:", 5) == 0) {
		FILE *f = fopen(tok + 5, "rb");
		struct wbuf w;
		uint8_t buf[4096];
		size_t n;
		if (!f)
			return h_fail(h, "cannot read %s", tok + 5);
		wbuf_init(&w);
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			wbuf_put(&w, buf, n);
		fclose(f);
		blob_set(&out->b, w.p, w.len);
		wbuf_free(&w);
	} else if (type == FT_U64) {
		char *end;
		unsigned long long v = strtoull(tok, &end, 0);
		if (!*tok || *end)
			return h_fail(h, "not a number: %.40s", tok);
		put_be(out, v, 8);
	} else {
		out->text = 1;
		blob_set(&out->b, tok, strlen(tok));
	}
	if (!out->b.p) {
		out->b.p = calloc(1, 1);
		out->b.n = 0;
	}
	return 0;
}

int h_bytes(struct hctx *h, const char *tok, struct blob *out)
{
	struct hval v;
	if (!tok)
		return h_fail(h, "value missing");
	if (hval_parse(h, tok, FT_BYTES, &v) < 0)
		return -1;
	blob_free(out);
	*out = v.b;
	return 0;
}

int h_fixed(struct hctx *h, const char *tok, void *out, size_t n)
{
	struct blob b = {0};
	if (h_bytes(h, tok, &b) < 0)
		return -1;
	if (b.n != n) {
		blob_free(&b);
		return h_fail(h, "value of %zu bytes where %zu are needed: %.40s", b.n, n, tok);
	}
	memcpy(out, b.p, n);
	blob_free(&b);
	return 0;
}

/* ---- the script ------------------------------------------------------------------ */

/* Expands $name and ${name} into dst (malloc'd). */
static char *expand(struct hctx *h, const char *src)
{
	struct wbuf w;
	char *out;

	wbuf_init(&w);
	for (const char *p = src; *p;) {
		char name[H_NAME];
		size_t n = 0;
		const struct hval *v;

		if (*p != '$') {
			wbuf_put_u8(&w, (uint8_t)*p++);
			continue;
		}
		p++;
		if (*p == '{') {
			p++;
			while (*p && *p != '}' && n < sizeof(name) - 1)
				name[n++] = *p++;
			if (*p == '}')
				p++;
		} else {
			while ((isalnum((unsigned char)*p) || *p == '_' || *p == '.') && n < sizeof(name) - 1)
				name[n++] = *p++;
			/* "$x." ends a sentence, not a name */
			while (n && name[n - 1] == '.') {
				n--;
				p--;
			}
		}
		name[n] = 0;
		v = h_getvar(h, name);
		if (!v) {
			h_fail(h, "undefined variable $%s", name);
			wbuf_free(&w);
			return NULL;
		}
		if (v->text) {
			wbuf_put(&w, v->b.p, v->b.n);
		} else {
			char *hex = h_hex(v->b.p, v->b.n);
			wbuf_put(&w, "hex:", 4);
			if (hex)
				wbuf_put(&w, hex, strlen(hex));
			free(hex);
		}
	}
	wbuf_put_u8(&w, 0);
	if (wbuf_status(&w) < 0) {
		wbuf_free(&w);
		return NULL;
	}
	out = strdup((char *)w.p);
	wbuf_free(&w);
	return out;
}

/* Splits a line into words: blanks separate, "double quotes" group (with \"
 * and \\), # starts a comment. Variables are expanded inside each word. */
static int split(struct hctx *h, const char *line, char **argv, int max)
{
	int argc = 0;
	const char *p = line;

	while (*p) {
		char word[8192];
		size_t n = 0;
		int quoted = 0;

		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p || *p == '#')
			break;
		while (*p && (quoted || (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n'))) {
			if (*p == '"') {
				quoted = !quoted;
				p++;
				continue;
			}
			if (quoted && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			if (n < sizeof(word) - 1)
				word[n++] = *p;
			p++;
		}
		word[n] = 0;
		if (argc >= max)
			return h_fail(h, "too many words");
		argv[argc] = expand(h, word);
		if (!argv[argc]) {
			for (int i = 0; i < argc; i++)
				free(argv[i]);
			return -1;
		}
		argc++;
	}
	return argc;
}

/* ---- integer expressions (let) ------------------------------------------------- */

struct expr {
	const char *p;
	int err;
};

static long expr_sum(struct expr *e);

static void skip_blanks(struct expr *e)
{
	while (*e->p == ' ')
		e->p++;
}

static long expr_atom(struct expr *e)
{
	long v;
	char *end;

	skip_blanks(e);
	if (*e->p == '(') {
		e->p++;
		v = expr_sum(e);
		skip_blanks(e);
		if (*e->p == ')')
			e->p++;
		else
			e->err = 1;
		return v;
	}
	if (*e->p == '-') {
		e->p++;
		return -expr_atom(e);
	}
	v = strtol(e->p, &end, 0);
	if (end == e->p)
		e->err = 1;
	e->p = end;
	return v;
}

static long expr_prod(struct expr *e)
{
	long v = expr_atom(e);
	for (;;) {
		char op;
		long r;
		skip_blanks(e);
		op = *e->p;
		if (op != '*' && op != '/' && op != '%')
			return v;
		e->p++;
		r = expr_atom(e);
		if ((op == '/' || op == '%') && r == 0) {
			e->err = 1;
			return 0;
		}
		v = op == '*' ? v * r : op == '/' ? v / r : v % r;
	}
}

static long expr_sum(struct expr *e)
{
	long v = expr_prod(e);
	for (;;) {
		char op;
		skip_blanks(e);
		op = *e->p;
		if (op != '+' && op != '-')
			return v;
		e->p++;
		v = op == '+' ? v + expr_prod(e) : v - expr_prod(e);
	}
}

/* ---- commands: variables and control ---------------------------------------- */

static int cmd_set(struct hctx *h, int argc, char **argv)
{
	struct hval v;
	if (argc != 3)
		return h_fail(h, "usage: set VAR VALUE");
	if (hval_parse(h, argv[2], FT_BYTES, &v) < 0)
		return -1;
	h_setvar(h, argv[1], v.b.p, v.b.n, v.text);
	hval_free(&v);
	return 0;
}

static int cmd_let(struct hctx *h, int argc, char **argv)
{
	char text[1024] = "", num[32];
	struct expr e;
	long v;

	if (argc < 3)
		return h_fail(h, "usage: let VAR EXPR");
	for (int i = 2; i < argc; i++) {
		strncat(text, argv[i], sizeof(text) - strlen(text) - 2);
		strcat(text, " ");
	}
	e.p = text;
	e.err = 0;
	v = expr_sum(&e);
	skip_blanks(&e);
	if (e.err || *e.p)
		return h_fail(h, "bad expression: %s", text);
	snprintf(num, sizeof(num), "%ld", v);
	return h_setvar(h, argv[1], num, strlen(num), 1);
}

static int cmd_print(struct hctx *h, int argc, char **argv)
{
	json_t *ev = h_event(h, "value");
	for (int i = 1; i < argc; i++) {
		const struct hval *v = h_getvar(h, argv[i]);
		if (!v) {
			json_decref(ev);
			return h_fail(h, "undefined variable %s", argv[i]);
		}
		if (v->text) {
			json_object_set_new(ev, argv[i], json_stringn((const char *)v->b.p, v->b.n));
		} else {
			char *hex = h_hex(v->b.p, v->b.n);
			json_object_set_new(ev, argv[i], json_string(hex ? hex : ""));
			free(hex);
		}
	}
	h_emit(h, ev);
	return 0;
}

static int cmd_note(struct hctx *h, int argc, char **argv)
{
	char text[2048] = "";
	json_t *ev;
	for (int i = 1; i < argc; i++) {
		strncat(text, argv[i], sizeof(text) - strlen(text) - 2);
		if (i + 1 < argc)
			strcat(text, " ");
	}
	ev = h_event(h, "note");
	json_object_set_new(ev, "text", json_string(text));
	h_emit(h, ev);
	return 0;
}

static int find_end(struct hctx *h, int from)
{
	int depth = 0;
	for (int i = from; i < h->nlines; i++) {
		char word[16] = "";
		sscanf(h->lines[i], " %15s", word);
		if (strcmp(word, "repeat") == 0)
			depth++;
		else if (strcmp(word, "end") == 0 && depth-- == 0)
			return i;
	}
	return -1;
}

static int cmd_repeat(struct hctx *h, int argc, char **argv)
{
	double until = 0;
	char *unit;
	long n;

	if (argc < 2 || argc > 3)
		return h_fail(h, "usage: repeat N|SECONDSs [VAR] ... end");
	n = strtol(argv[1], &unit, 0);
	if (*unit == 's' && n > 0) {
		until = since_start() + (double)n;
		n = 1L << 30;
	}
	if (n <= 0) {
		int end = find_end(h, h->pc + 1);
		if (end < 0)
			return h_fail(h, "repeat without end");
		h->pc = end;
		return 0;
	}
	if (h->nloops >= 16)
		return h_fail(h, "loops nested too deep");
	h->loops[h->nloops].start = h->pc + 1;
	h->loops[h->nloops].count = (int)n;
	h->loops[h->nloops].iter = 0;
	h->loops[h->nloops].until = until;
	snprintf(h->loops[h->nloops].var, H_NAME, "%s", argc == 3 ? argv[2] : "");
	if (argc == 3)
		h_setvar(h, argv[2], "0", 1, 1);
	h->nloops++;
	return 0;
}

static int cmd_end(struct hctx *h, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!h->nloops)
		return h_fail(h, "end without repeat");
	if (++h->loops[h->nloops - 1].iter < h->loops[h->nloops - 1].count &&
	    (!h->loops[h->nloops - 1].until || since_start() < h->loops[h->nloops - 1].until)) {
		char num[16];
		snprintf(num, sizeof(num), "%d", h->loops[h->nloops - 1].iter);
		if (h->loops[h->nloops - 1].var[0])
			h_setvar(h, h->loops[h->nloops - 1].var, num, strlen(num), 1);
		h->pc = h->loops[h->nloops - 1].start - 1;
	} else {
		h->nloops--;
	}
	return 0;
}

static int cmd_sleep(struct hctx *h, int argc, char **argv)
{
	struct timespec ts;
	double s;
	(void)h;
	if (argc != 2)
		return h_fail(h, "usage: sleep SECONDS");
	s = atof(argv[1]);
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	return 0;
}

static int cmd_option(struct hctx *h, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "keep-going") == 0)
		h->keep_going = 1;
	else if (argc == 2 && strcmp(argv[1], "stop-on-fail") == 0)
		h->keep_going = 0;
	else if (argc == 2 && strcmp(argv[1], "quiet") == 0)
		h->quiet = 1;
	else if (argc == 2 && strcmp(argv[1], "verbose") == 0)
		h->quiet = 0;
	else
		return h_fail(h, "usage: option keep-going|stop-on-fail|quiet|verbose");
	return 0;
}

/* Runs a shell command in the background (stdout and stderr to out=FILE
 * or /dev/null); reap waits for all of them. */
static int cmd_spawn(struct hctx *h, int argc, char **argv)
{
	char cmd[8192] = "";
	const char *out = NULL;
	json_t *ev;
	pid_t pid;

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "out=", 4) == 0 && !out && cmd[0] == 0) {
			out = argv[i] + 4;
			continue;
		}
		strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 2);
		strcat(cmd, " ");
	}
	if (h->nchildren >= 256) {
		/* Reap what has ended to make room. */
		int n = 0;
		for (int i = 0; i < h->nchildren; i++)
			if (waitpid(h->children[i], NULL, WNOHANG) == 0)
				h->children[n++] = h->children[i];
		h->nchildren = n;
		if (n >= 256)
			return h_fail(h, "too many background commands");
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return h_fail(h, "fork: %s", strerror(errno));
	if (pid == 0) {
		FILE *f = freopen(out ? out : "/dev/null", out ? "a" : "w", stdout);
		(void)f;
		if (dup2(fileno(stdout), 2) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	h->children[h->nchildren++] = pid;
	ev = h_event(h, "spawned");
	json_object_set_new(ev, "pid", json_integer(pid));
	h_emit(h, ev);
	return 0;
}

static int cmd_reap(struct hctx *h, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < h->nchildren; i++)
		waitpid(h->children[i], NULL, 0);
	h->nchildren = 0;
	return 0;
}

/* ---- commands: identities and secrets ---------------------------------------- */

static int cmd_gen_identity(struct hctx *h, int argc, char **argv)
{
	struct ident *id;
	if (argc < 2)
		return h_fail(h, "usage: gen-identity ID [cn=NAME] [ip=ADDR] [days=N] [offset=SECONDS]");
	id = h_ident_new(h, argv[1]);
	if (!id)
		return -1;
	return h_ident_gen(h, id, h_opt(argc, argv, "cn") ? h_opt(argc, argv, "cn") : argv[1],
			   h_opt(argc, argv, "ip"), (int)h_optl(argc, argv, "days", 3650),
			   h_optl(argc, argv, "offset", 0));
}

static int cmd_identity(struct hctx *h, int argc, char **argv)
{
	struct ident *id;
	if (argc >= 4 && strcmp(argv[2], "file") == 0) {
		id = h_ident_new(h, argv[1]);
		return id ? h_ident_files(h, id, argv[3], argc > 4 ? argv[4] : argv[3]) : -1;
	}
	if (argc == 4 && strcmp(argv[2], "copy") == 0) {
		struct ident *src = h_ident(h, argv[3]), tmp;
		if (!src)
			return -1;
		memset(&tmp, 0, sizeof(tmp));
		tmp.keytype = src->keytype;
		if (blob_set(&tmp.der, src->der.p, src->der.n) < 0 ||
		    blob_set(&tmp.key, src->key.p, src->key.n) < 0) {
			blob_free(&tmp.der);
			return h_fail(h, "out of memory");
		}
		id = h_ident_new(h, argv[1]);
		if (!id) {
			blob_free(&tmp.der);
			blob_free(&tmp.key);
			return -1;
		}
		id->keytype = tmp.keytype;
		id->der = tmp.der;
		id->key = tmp.key;
		return h_ident_loaded(h, id);
	}
	if (argc >= 4 && strcmp(argv[2], "instance") == 0) {
		id = h_ident_new(h, argv[1]);
		return id ? h_ident_instance(h, id, argv[3], argc > 4 ? argv[4] : "current") : -1;
	}
	return h_fail(h, "usage: identity ID file CERT KEY | identity ID instance DIR [current|next|previous|label=L]");
}

static int cmd_secret(struct hctx *h, int argc, char **argv)
{
	struct wbuf w;
	int rc;
	if (argc < 4)
		return h_fail(h, "usage: secret VAR DIR own-password|password|pairing-out|pairing-in [SERVER]");
	wbuf_init(&w);
	rc = h_secret(h, argv[2], argv[3], argc > 4 ? argv[4] : NULL, &w);
	if (rc == 0)
		rc = h_setvar(h, argv[1], w.p, w.len, strstr(argv[3], "password") != NULL);
	wbuf_free(&w);
	return rc;
}

/* ---- commands: connections ---------------------------------------------------- */

static struct sess *need_sess(struct hctx *h)
{
	if (!h->cur || !h->cur->used)
		h_fail(h, "no session");
	return h->cur && h->cur->used ? h->cur : NULL;
}

static int cmd_connect(struct hctx *h, int argc, char **argv)
{
	const char *a = NULL, *b = NULL, *c = NULL, *name = "s", *host, *port;
	struct sess *s;

	h_pos(argc, argv, 0, &a);
	h_pos(argc, argv, 1, &b);
	h_pos(argc, argv, 2, &c);
	if (c) {
		name = a;
		host = b;
		port = c;
	} else {
		host = a;
		port = b;
	}
	if (!host || !port)
		return h_fail(h, "usage: connect [SESS] HOST PORT [src=ADDR] [timeout=S]");
	s = h_sess_new(h, name);
	if (!s)
		return h_fail(h, "too many sessions");
	return h_connect(h, s, host, atoi(port), h_opt(argc, argv, "src"),
			 h_optd(argc, argv, "timeout", 5));
}

int h_listen_port(struct hctx *h, const char *port, const char *addr)
{
	struct sockaddr_in sa;
	int one = 1;

	if (h->listen_fd >= 0)
		close(h->listen_fd);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, addr ? addr : "127.0.0.1", &sa.sin_addr) != 1)
		return h_fail(h, "listen: %s is not an IPv4 address", addr);
	h->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(h->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(h->listen_fd, 64) < 0)
		return h_fail(h, "listen on %s: %s", port, strerror(errno));
	h_emit(h, h_event(h, "listening"));
	return 0;
}

static int cmd_listen(struct hctx *h, int argc, char **argv)
{
	if (argc < 2)
		return h_fail(h, "usage: listen PORT [addr=ADDR]");
	return h_listen_port(h, argv[1], h_opt(argc, argv, "addr"));
}

/* Accepts one connection and says what its first bytes are. */
int h_accept(struct hctx *h, const char *name, double timeout)
{
	struct pollfd pfd = {h->listen_fd, POLLIN, 0};
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char addr[64];
	uint8_t first[4] = {0};
	struct sess *s;
	json_t *ev;
	int fd, n = 0;

	if (h->listen_fd < 0)
		return h_fail(h, "accept: not listening");
	if (poll(&pfd, 1, (int)(timeout * 1000)) <= 0) {
		s = h_sess_new(h, name);
		ev = h_event(h, "accept-timeout");
		h_emit(h, ev);
		if (s)
			s->closed = 1;
		return -1;
	}
	fd = accept(h->listen_fd, (struct sockaddr *)&sa, &len);
	if (fd < 0)
		return h_fail(h, "accept: %s", strerror(errno));
	s = h_sess_new(h, name);
	if (!s) {
		close(fd);
		return h_fail(h, "too many sessions");
	}
	s->fd = fd;
	s->is_server = 1;
	pfd.fd = fd;
	if (poll(&pfd, 1, (int)(timeout * 1000)) > 0)
		n = (int)recv(fd, first, sizeof(first), MSG_PEEK);
	inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof(addr));
	ev = h_event(h, "accepted");
	json_object_set_new(ev, "from", json_string(addr));
	json_object_set_new(ev, "kind", json_string(n >= 4 && memcmp(first, LEGACY_MAGIC, 4) == 0 ? "rpl1"
						    : n >= 1 && first[0] == 0x16        ? "tls"
						    : n <= 0                            ? "nothing"
											: "other"));
	h_emit(h, ev);
	return 0;
}

static int cmd_accept(struct hctx *h, int argc, char **argv)
{
	const char *name = NULL;
	h_pos(argc, argv, 0, &name);
	return h_accept(h, name ? name : "s", h_optd(argc, argv, "timeout", 10));
}

static int cmd_use(struct hctx *h, int argc, char **argv)
{
	struct sess *s;
	if (argc != 2)
		return h_fail(h, "usage: use SESS");
	s = h_sess_find(h, argv[1]);
	if (!s)
		return h_fail(h, "no session %s", argv[1]);
	h->cur = s;
	return 0;
}

static int cmd_tls(struct hctx *h, int argc, char **argv)
{
	struct sess *s = need_sess(h);
	struct ident *id;
	const char *max = h_opt(argc, argv, "max");

	if (!s)
		return -1;
	if (argc < 3 || (strcmp(argv[1], "client") != 0 && strcmp(argv[1], "server") != 0))
		return h_fail(h, "usage: tls client|server ID [max=1.2] [timeout=S]");
	id = h_ident(h, argv[2]);
	if (!id)
		return -1;
	return h_tls(h, s, strcmp(argv[1], "server") == 0, id, max && strcmp(max, "1.2") == 0,
		     h_optd(argc, argv, "timeout", 5));
}

/* Protocol 1: the client sends the magic; the server takes it off. */
static int cmd_legacy(struct hctx *h, int argc, char **argv)
{
	struct sess *s = need_sess(h);
	if (!s)
		return -1;
	if (argc == 2 && strcmp(argv[1], "client") == 0)
		return h_send_bytes(h, s, LEGACY_MAGIC, 4, 1);
	if (argc == 2 && strcmp(argv[1], "server") == 0) {
		uint8_t m[4];
		if (recv(s->fd, m, 4, MSG_WAITALL) != 4 || memcmp(m, LEGACY_MAGIC, 4) != 0)
			return h_fail(h, "the client did not start with %s", LEGACY_MAGIC);
		return 0;
	}
	return h_fail(h, "usage: legacy client|server");
}

static int cmd_send(struct hctx *h, int argc, char **argv)
{
	static const char *const skip[] = {"payload", "len", NULL};
	struct sess *s = need_sess(h);
	const char *payload = h_opt(argc, argv, "payload");
	struct wbuf w;
	int type, rc;

	if (!s)
		return -1;
	if (argc < 2 || (type = h_msg_type(argv[1])) < 0)
		return h_fail(h, "usage: send TYPE [field=VALUE...] [payload=VALUE] [len=N]");
	wbuf_init(&w);
	if (payload) {
		struct blob b = {0};
		if (h_bytes(h, payload, &b) < 0)
			return -1;
		wbuf_put(&w, b.p, b.n);
		blob_free(&b);
	}
	rc = h_build_tlv(h, argc - 2, argv + 2, skip, &w);
	if (rc == 0)
		rc = h_send_frame(h, s, type, w.p, w.len, h_optl(argc, argv, "len", -1));
	wbuf_free(&w);
	return rc;
}

static int cmd_send_raw(struct hctx *h, int argc, char **argv)
{
	struct sess *s = need_sess(h);
	struct blob b = {0};
	int rc;

	if (!s)
		return -1;
	if (argc < 2)
		return h_fail(h, "usage: send-raw VALUE [tcp]");
	if (h_bytes(h, argv[1], &b) < 0)
		return -1;
	rc = h_send_bytes(h, s, b.p, b.n, argc > 2 && strcmp(argv[2], "tcp") == 0);
	if (rc == 0) {
		json_t *ev = h_event(h, "sent-raw");
		json_object_set_new(ev, "bytes", json_integer((json_int_t)b.n));
		h_emit(h, ev);
	}
	blob_free(&b);
	return rc;
}

static int cmd_save(struct hctx *h, int argc, char **argv)
{
	struct sess *s = need_sess(h);
	const struct hframe *f;
	int i;

	if (!s)
		return -1;
	if (argc < 2)
		return h_fail(h, "usage: save NAME [sent]");
	f = argc > 2 && strcmp(argv[2], "sent") == 0 ? &s->last_tx : &s->last_rx;
	for (i = 0; i < h->nsaved; i++)
		if (strcmp(h->saved_names[i], argv[1]) == 0)
			break;
	if (i == h->nsaved) {
		if (h->nsaved >= 64)
			return h_fail(h, "too many saved frames");
		h->nsaved++;
	}
	snprintf(h->saved_names[i], H_NAME, "%s", argv[1]);
	return h_frame_copy(&h->saved[i], f);
}

static int cmd_send_saved(struct hctx *h, int argc, char **argv)
{
	struct sess *s = need_sess(h);
	if (!s)
		return -1;
	for (int i = 0; argc > 1 && i < h->nsaved; i++)
		if (strcmp(h->saved_names[i], argv[1]) == 0)
			return h_send_frame(h, s, h->saved[i].type, h->saved[i].payload.p,
					    h->saved[i].payload.n, -1);
	return h_fail(h, "usage: send-saved NAME (a name given to save)");
}

static int cmd_recv(struct hctx *h, int argc, char **argv)
{
	struct sess *s = need_sess(h);
	struct hframe f = {0, {0}};
	int rc;

	if (!s)
		return -1;
	rc = h_recv_frame(h, s, h_optd(argc, argv, "timeout", 5), &f);
	h_frame_free(&f);
	return rc == 1 ? 0 : -1;
}

/* Compares field=value arguments with the first occurrence of each field. */
static int fields_match(struct hctx *h, const struct hframe *f, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char key[H_NAME];
		const char *eq = strchr(argv[i], '=');
		const struct hfield *fd;
		struct cursor c, val;
		struct hval want;
		uint16_t tag;
		int found = 0;

		if (!eq || strncmp(argv[i], "timeout=", 8) == 0 || (size_t)(eq - argv[i]) >= sizeof(key))
			continue;
		memcpy(key, argv[i], (size_t)(eq - argv[i]));
		key[eq - argv[i]] = 0;
		fd = h_field_by_name(key);
		if (!fd)
			return h_fail(h, "unknown field %s", key);
		if (hval_parse(h, eq + 1, fd->type, &want) < 0)
			return -1;
		cur_init(&c, f->payload.p, f->payload.n);
		while (!found && tlv_next(&c, &tag, &val) > 0)
			if (tag == fd->tag) {
				found = 1;
				if (cur_left(&val) != want.b.n ||
				    memcmp(val.p + val.off, want.b.p, want.b.n) != 0) {
					hval_free(&want);
					return h_fail(h, "field %s is not %s", key, eq + 1);
				}
			}
		hval_free(&want);
		if (!found)
			return h_fail(h, "field %s is missing", key);
	}
	return 0;
}

static int cmd_expect(struct hctx *h, int argc, char **argv)
{
	struct sess *s = need_sess(h);
	struct hframe f = {0, {0}};
	int type, rc;

	if (!s)
		return -1;
	if (argc < 2 || (type = h_msg_type(argv[1])) < 0)
		return h_fail(h, "usage: expect TYPE [timeout=S] [field=VALUE...]");
	rc = h_recv_frame(h, s, h_optd(argc, argv, "timeout", 5), &f);
	if (rc != 1)
		rc = h_fail(h, "expected %s, got %s", argv[1], rc == 0 ? "the end of the session" : rc == -1 ? "nothing (timeout)" : "a malformed frame");
	else if (f.type != type)
		rc = h_fail(h, "expected %s, got %s (%d)", argv[1], h_msg_name(f.type), f.type);
	else
		rc = fields_match(h, &f, argc - 2, argv + 2);
	h_frame_free(&f);
	return rc;
}

/* Reads until the partner closes; frames meanwhile are reported. */
static int cmd_expect_close(struct hctx *h, int argc, char **argv)
{
	struct sess *s = need_sess(h);
	double timeout = h_optd(argc, argv, "timeout", 5);
	struct timespec t0, t1;

	if (!s)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct hframe f = {0, {0}};
		double spent;
		int rc;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		spent = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		rc = h_recv_frame(h, s, timeout - spent, &f);
		h_frame_free(&f);
		if (rc == 0 || rc == -2) {
			if (strcmp(argv[0], "drain") != 0)
				h_sess_close(h, s, 0);
			return 0;
		}
		if (rc == -1)
			return strcmp(argv[0], "drain") == 0 ? 0 : h_fail(h, "the partner did not close the session within %.1f s", timeout);
	}
}

static int cmd_close(struct hctx *h, int argc, char **argv)
{
	struct sess *s = need_sess(h);
	if (!s)
		return -1;
	h_sess_close(h, s, argc > 1 && strcmp(argv[1], "abort") == 0);
	h_emit(h, h_event(h, "closed-by-us"));
	return 0;
}

/* ---- commands: proofs ------------------------------------------------------------ */

static int opt_bytes(struct hctx *h, int argc, char **argv, const char *key, const char *var,
		     struct blob *out)
{
	const char *v = h_opt(argc, argv, key);
	const struct hval *hv;
	if (v)
		return h_bytes(h, v, out);
	hv = h_getvar(h, var);
	if (!hv)
		return h_fail(h, "%s= not given and $%s not set", key, var);
	return blob_set(out, hv->b.p, hv->b.n);
}

static int set_rand(struct hctx *h, const char *var, size_t n)
{
	uint8_t b[256];
	secure_random(b, n);
	return h_setvar(h, var, b, n, 0);
}

/* An administrator's sign-on: one SRP exchange over the administrator's
 * password (admin=PW), the key bound to our certificate (or zeros without
 * one) and the server's, as peer/auth_admin.c computes it. Sets A, M1 and
 * the key in $pairing. */
static int srp_client_admin(struct hctx *h, struct sess *s, int argc, char **argv)
{
	static const uint8_t zeros[PROOF_FP_LEN];
	struct blob salt = {0}, B = {0}, A = {0}, M1 = {0};
	uint8_t K[SRP_KEY_MAX];
	size_t kl = 0;
	int ok = 0;
	json_t *ev;

	srp_free(s->srp[0]);
	s->srp[0] = NULL;
	if (opt_bytes(h, argc, argv, "salt", "r.salt", &salt) < 0)
		return -1;
	if (opt_bytes(h, argc, argv, "B", "r.B", &B) < 0) {
		blob_free(&salt);
		return -1;
	}
	if (srp_client_start(&s->srp[0], h_opt(argc, argv, "admin"), salt.p, salt.n, B.p, B.n, &A,
			     &M1, K, &kl) == 0) {
		struct auth_key k;
		int no_cert = h_opt(argc, argv, "nocert") != NULL;
		ok = 1;
		h_setvar(h, "A", A.p, A.n, 0);
		h_setvar(h, "M1", M1.p, M1.n, 0);
		proof_pairing_from_srp(K, kl, no_cert ? zeros : s->own_fp, s->peer_fp, &k);
		h_setvar(h, "pairing", k.k, PROOF_KEY_LEN, 0);
		proof_key_wipe(&k);
	} else {
		set_rand(h, "A", 256);
		set_rand(h, "M1", 32);
		set_rand(h, "pairing", PROOF_KEY_LEN);
	}
	secure_zero(K, sizeof(K));
	s->srp_server = 0;
	blob_free(&salt);
	blob_free(&B);
	blob_free(&A);
	blob_free(&M1);
	ev = h_event(h, "srp-client");
	json_object_set_new(ev, "admin", json_boolean(ok));
	h_emit(h, ev);
	return 0;
}

/* Client side of METHOD_SRP: slot 1 over the server's password (p1), slot 2
 * over the client's (p2), from the HELLO_REPLY's salt/B and salt2/B2. Sets
 * A, M1, A2, M1_2 and the pairing key (client = us). slots=1: slot 1 only,
 * as a cross-definition request proves the server's password alone. */
static int cmd_srp_client(struct hctx *h, int argc, char **argv)
{
	static const char *pwk[2] = {"p1", "p2"}, *saltk[2] = {"salt", "salt2"},
			  *Bk[2] = {"B", "B2"}, *Ak[2] = {"A", "A2"}, *Mk[2] = {"M1", "M1_2"};
	struct sess *s = need_sess(h);
	uint8_t K[2 * SRP_KEY_MAX];
	size_t Kn = 0;
	int ok[2] = {0, 0};
	const char *slots = h_opt(argc, argv, "slots");
	int nslots = slots && strcmp(slots, "1") == 0 ? 1 : 2;
	json_t *ev;

	if (!s)
		return -1;
	if (h_opt(argc, argv, "admin"))
		return srp_client_admin(h, s, argc, argv);
	if (nslots == 1) {
		srp_free(s->srp[1]);
		s->srp[1] = NULL;
	}
	for (int i = 0; i < nslots; i++) {
		struct blob salt = {0}, B = {0}, A = {0}, M1 = {0};
		const char *pw = h_opt(argc, argv, pwk[i]);
		char var[16];
		size_t kl = 0;

		srp_free(s->srp[i]);
		s->srp[i] = NULL;
		snprintf(var, sizeof(var), "r.%s", saltk[i]);
		if (!pw)
			return h_fail(h, "usage: srp-client p1=PW p2=PW [salt= B= salt2= B2=]");
		if (opt_bytes(h, argc, argv, saltk[i], var, &salt) < 0)
			return -1;
		snprintf(var, sizeof(var), "r.%s", Bk[i]);
		if (opt_bytes(h, argc, argv, Bk[i], var, &B) < 0) {
			blob_free(&salt);
			return -1;
		}
		if (srp_client_start(&s->srp[i], pw, salt.p, salt.n, B.p, B.n, &A, &M1, K + Kn, &kl) == 0) {
			ok[i] = 1;
			Kn += kl;
			h_setvar(h, Ak[i], A.p, A.n, 0);
			h_setvar(h, Mk[i], M1.p, M1.n, 0);
		} else {
			set_rand(h, Ak[i], 256);
			set_rand(h, Mk[i], 32);
		}
		blob_free(&salt);
		blob_free(&B);
		blob_free(&A);
		blob_free(&M1);
	}
	s->srp_server = 0;
	if (ok[0] && (ok[1] || nslots == 1)) {
		struct auth_key k;
		proof_pairing_from_srp(K, Kn, s->own_fp, s->peer_fp, &k);
		h_setvar(h, "pairing", k.k, PROOF_KEY_LEN, 0);
		proof_key_wipe(&k);
	} else {
		set_rand(h, "pairing", PROOF_KEY_LEN);
	}
	secure_zero(K, sizeof(K));
	ev = h_event(h, "srp-client");
	json_object_set_new(ev, "slot1", json_boolean(ok[0]));
	json_object_set_new(ev, "slot2", json_boolean(ok[1]));
	h_emit(h, ev);
	return 0;
}

/* Checks the server's M2 and M2_2 (from AUTH_OK) with this session's SRP. */
static int cmd_srp_client_check(struct hctx *h, int argc, char **argv)
{
	static const char *Mk[2] = {"M2", "M2_2"};
	struct sess *s = need_sess(h);
	int ok[2] = {0, 0};
	json_t *ev;

	if (!s)
		return -1;
	for (int i = 0; i < 2; i++) {
		struct blob M2 = {0};
		char var[16];
		snprintf(var, sizeof(var), "r.%s", Mk[i]);
		if (s->srp[i] && !s->srp_server && opt_bytes(h, argc, argv, Mk[i], var, &M2) == 0)
			ok[i] = srp_client_finish(s->srp[i], M2.p, M2.n) == 0;
		blob_free(&M2);
	}
	ev = h_event(h, "srp-client-check");
	json_object_set_new(ev, "slot1", json_boolean(ok[0]));
	json_object_set_new(ev, "slot2", json_boolean(ok[1]));
	h_emit(h, ev);
	return ok[0] && ok[1] ? 0 : h_fail(h, "the server's SRP proofs do not verify");
}

/* Server side, step 1: verifiers from p1 (our own password) and p2 (the
 * client's), and the public values salt, B, salt2, B2. */
static int cmd_srp_server(struct hctx *h, int argc, char **argv)
{
	static const char *pwk[2] = {"p1", "p2"}, *saltk[2] = {"salt", "salt2"}, *Bk[2] = {"B", "B2"};
	struct sess *s = need_sess(h);

	if (!s)
		return -1;
	for (int i = 0; i < 2; i++) {
		const char *pw = h_opt(argc, argv, pwk[i]);
		uint8_t salt[SRP_SALT_LEN];
		struct blob v = {0}, B = {0};

		if (!pw)
			return h_fail(h, "usage: srp-server p1=PW p2=PW");
		srp_free(s->srp[i]);
		s->srp[i] = NULL;
		if (srp_make_verifier(pw, salt, &v) < 0 ||
		    srp_server_start(&s->srp[i], salt, sizeof(salt), v.p, v.n, &B) < 0) {
			blob_free(&v);
			return h_fail(h, "SRP set-up failed");
		}
		h_setvar(h, saltk[i], salt, sizeof(salt), 0);
		h_setvar(h, Bk[i], B.p, B.n, 0);
		blob_free(&v);
		blob_free(&B);
	}
	s->srp_server = 1;
	return 0;
}

/* Server side, step 2: checks A/M1 and A2/M1_2 (from AUTH); sets M2, M2_2
 * (random for a slot that failed) and the pairing key (client = partner). */
static int cmd_srp_server_finish(struct hctx *h, int argc, char **argv)
{
	static const char *Ak[2] = {"A", "A2"}, *Mk[2] = {"M1", "M1_2"}, *M2k[2] = {"M2", "M2_2"};
	struct sess *s = need_sess(h);
	uint8_t K[2 * SRP_KEY_MAX];
	size_t Kn = 0;
	int ok[2] = {0, 0};
	json_t *ev;

	if (!s)
		return -1;
	if (!s->srp_server || !s->srp[0] || !s->srp[1])
		return h_fail(h, "srp-server-finish needs srp-server first in this session");
	for (int i = 0; i < 2; i++) {
		struct blob A = {0}, M1 = {0}, M2 = {0};
		char va[16], vm[16];
		size_t kl = 0;
		snprintf(va, sizeof(va), "r.%s", Ak[i]);
		snprintf(vm, sizeof(vm), "r.%s", Mk[i]);
		if (opt_bytes(h, argc, argv, Ak[i], va, &A) == 0 &&
		    opt_bytes(h, argc, argv, Mk[i], vm, &M1) == 0 &&
		    srp_server_finish(s->srp[i], A.p, A.n, M1.p, M1.n, &M2, K + Kn, &kl) == 0) {
			ok[i] = 1;
			Kn += kl;
			h_setvar(h, M2k[i], M2.p, M2.n, 0);
		} else {
			set_rand(h, M2k[i], 32);
		}
		blob_free(&A);
		blob_free(&M1);
		blob_free(&M2);
	}
	if (ok[0] && ok[1]) {
		struct auth_key k;
		proof_pairing_from_srp(K, Kn, s->peer_fp, s->own_fp, &k);
		h_setvar(h, "pairing", k.k, PROOF_KEY_LEN, 0);
		proof_key_wipe(&k);
	} else {
		set_rand(h, "pairing", PROOF_KEY_LEN);
	}
	secure_zero(K, sizeof(K));
	ev = h_event(h, "srp-server-finish");
	json_object_set_new(ev, "slot1", json_boolean(ok[0]));
	json_object_set_new(ev, "slot2", json_boolean(ok[1]));
	h_emit(h, ev);
	return 0;
}

static int key_arg(struct hctx *h, const char *v, struct auth_key *k)
{
	struct blob b = {0};
	int rc;
	if (!v)
		return h_fail(h, "key= missing");
	if (strcmp(v, "zero") == 0) {
		memset(k, 0, sizeof(*k));
		return 0;
	}
	if (h_bytes(h, v, &b) < 0)
		return -1;
	rc = proof_key_from(b.p, b.n, k);
	blob_free(&b);
	return rc < 0 ? h_fail(h, "a key is %d bytes", PROOF_KEY_LEN) : 0;
}

static int side_arg(struct hctx *h, int argc, char **argv, int *from_client)
{
	const char *side = h_opt(argc, argv, "side");
	if (!side || (strcmp(side, "client") != 0 && strcmp(side, "server") != 0))
		return h_fail(h, "side=client|server missing");
	*from_client = strcmp(side, "client") == 0;
	return 0;
}

static const char *name_arg(struct hctx *h, int argc, char **argv, const char *key, const char *var)
{
	const char *v = h_opt(argc, argv, key);
	const struct hval *hv;
	if (v)
		return v;
	hv = h_getvar(h, var);
	if (hv && hv->text)
		return (const char *)hv->b.p;
	h_fail(h, "%s= missing (or set $%s)", key, var);
	return NULL;
}

/* tag VAR key=KEY side=client|server: the protocol-2 binding tag. */
static void flip_byte(int argc, char **argv, uint8_t *t, size_t n);

static int cmd_tag(struct hctx *h, int argc, char **argv)
{
	struct sess *s = h->cur;
	struct auth_key k;
	struct proof_binding b;
	uint8_t exporter[32], cfp[32], sfp[32], out[PROOF_TAG_LEN];
	const char *cn, *sn;
	int from_client;

	if (argc < 2 || key_arg(h, h_opt(argc, argv, "key"), &k) < 0 ||
	    side_arg(h, argc, argv, &from_client) < 0)
		return h_fail(h, "usage: tag VAR key=KEY side=client|server [method=1|2] [purpose=N] [version=N] [client=NAME] [server=NAME] [exporter=] [client_fp=] [server_fp=] [flip=N]");
	if (s && s->have_tls) {
		memcpy(exporter, s->exporter, 32);
		memcpy(cfp, s->is_server ? s->peer_fp : s->own_fp, 32);
		memcpy(sfp, s->is_server ? s->own_fp : s->peer_fp, 32);
	} else {
		memset(exporter, 0, 32);
		memset(cfp, 0, 32);
		memset(sfp, 0, 32);
	}
	if ((h_opt(argc, argv, "exporter") && h_fixed(h, h_opt(argc, argv, "exporter"), exporter, 32) < 0) ||
	    (h_opt(argc, argv, "client_fp") && h_fixed(h, h_opt(argc, argv, "client_fp"), cfp, 32) < 0) ||
	    (h_opt(argc, argv, "server_fp") && h_fixed(h, h_opt(argc, argv, "server_fp"), sfp, 32) < 0))
		return -1;
	if (!(cn = name_arg(h, argc, argv, "client", "client_name")) ||
	    !(sn = name_arg(h, argc, argv, "server", "server_name")))
		return -1;
	b.exporter = exporter;
	b.client_fp = cfp;
	b.server_fp = sfp;
	b.client_name = cn;
	b.server_name = sn;
	b.method = (uint8_t)h_optl(argc, argv, "method", METHOD_KEY);
	b.purpose = (uint8_t)h_optl(argc, argv, "purpose", 1);
	b.version = (uint8_t)h_optl(argc, argv, "version", PROTO2_REVISION);
	if (proof_tag(&k, from_client, &b, out) < 0)
		return h_fail(h, "proof_tag failed");
	proof_key_wipe(&k);
	flip_byte(argc, argv, out, sizeof(out));
	return h_setvar(h, argv[1], out, sizeof(out), 0);
}

static int cmd_legacy_key(struct hctx *h, int argc, char **argv)
{
	const char *spw = h_opt(argc, argv, "server_pw"), *cpw = h_opt(argc, argv, "client_pw");
	struct auth_key k;
	if (argc < 2 || !spw || !cpw)
		return h_fail(h, "usage: legacy-key VAR server_pw=PW client_pw=PW");
	if (proof_legacy_key(spw, strlen(spw), cpw, strlen(cpw), &k) < 0)
		return h_fail(h, "proof_legacy_key failed");
	h_setvar(h, argv[1], k.k, PROOF_KEY_LEN, 0);
	proof_key_wipe(&k);
	return 0;
}

static int cmd_legacy_tag(struct hctx *h, int argc, char **argv)
{
	uint8_t ns[LEGACY_NONCE_LEN], nc[LEGACY_NONCE_LEN], out[PROOF_TAG_LEN];
	const char *cn, *sn;
	struct auth_key k;
	int from_client;

	if (argc < 2 || key_arg(h, h_opt(argc, argv, "key"), &k) < 0 ||
	    side_arg(h, argc, argv, &from_client) < 0 ||
	    h_fixed(h, h_opt(argc, argv, "nonce_s"), ns, sizeof(ns)) < 0 ||
	    h_fixed(h, h_opt(argc, argv, "nonce_c"), nc, sizeof(nc)) < 0)
		return h_fail(h, "usage: legacy-tag VAR key=KEY side=client|server nonce_s=N nonce_c=N client=NAME server=NAME");
	if (!(cn = name_arg(h, argc, argv, "client", "client_name")) ||
	    !(sn = name_arg(h, argc, argv, "server", "server_name")))
		return -1;
	if (proof_legacy_tag(&k, from_client, ns, nc, cn, sn, out) < 0)
		return h_fail(h, "proof_legacy_tag failed");
	proof_key_wipe(&k);
	flip_byte(argc, argv, out, sizeof(out));
	return h_setvar(h, argv[1], out, sizeof(out), 0);
}

static const char *label_of(const char *l)
{
	return strcmp(l, "continuity") == 0 ? LABEL_CONTINUITY
	       : strcmp(l, "endorse") == 0  ? LABEL_ENDORSE
	       : strcmp(l, "possess") == 0  ? LABEL_POSSESS
					    : l;
}

/* The session's exporter, or exporter=. */
static int exporter_arg(struct hctx *h, int argc, char **argv, uint8_t out[32])
{
	const char *v = h_opt(argc, argv, "exporter");
	if (v)
		return h_fixed(h, v, out, 32);
	if (!h->cur || !h->cur->have_tls)
		return h_fail(h, "no TLS session: give exporter=");
	memcpy(out, h->cur->exporter, 32);
	return 0;
}

/* The certificate we present in this session, or fp=. */
static int presented_arg(struct hctx *h, int argc, char **argv, uint8_t out[32])
{
	const char *v = h_opt(argc, argv, "fp");
	if (v)
		return h_fixed(h, v, out, 32);
	if (!h->cur || !h->cur->have_tls)
		return h_fail(h, "no TLS session: give fp=");
	memcpy(out, h->cur->own_fp, 32);
	return 0;
}

/* flip=N (tag, legacy-tag): the right tag with byte N changed, to prove
 * that every byte is compared, not a prefix. */
static void flip_byte(int argc, char **argv, uint8_t *t, size_t n)
{
	long i = h_optl(argc, argv, "flip", -1);
	if (i >= 0 && (size_t)i < n)
		t[i] ^= 0x01;
}

/* sign VAR ID LABEL FP [exporter=]: a proof signature of peer/continuity. */
static int cmd_sign(struct hctx *h, int argc, char **argv)
{
	uint8_t fp[32], exporter[32];
	struct blob sig = {0};
	struct ident *id;
	int rc;

	if (argc < 5)
		return h_fail(h, "usage: sign VAR ID continuity|endorse|possess|LABEL FP [exporter=]");
	if (!(id = h_ident(h, argv[2])) || h_fixed(h, argv[4], fp, 32) < 0 ||
	    exporter_arg(h, argc, argv, exporter) < 0)
		return -1;
	if (h_sign_proof(id, label_of(argv[3]), fp, exporter, &sig) < 0)
		return h_fail(h, "signing failed");
	rc = h_setvar(h, argv[1], sig.p, sig.n, 0);
	blob_free(&sig);
	return rc;
}

/* continuity-entry VAR PREV_ID [signer=ID] [fp=] [exporter=]: an F_ENTRY
 * value in which PREV's certificate endorses the one we present. */
static int cmd_continuity_entry(struct hctx *h, int argc, char **argv)
{
	uint8_t fp[32], exporter[32];
	struct ident *prev, *signer;
	struct blob sig = {0};
	struct wbuf e;
	int rc;

	if (argc < 3)
		return h_fail(h, "usage: continuity-entry VAR PREV_ID [signer=ID] [fp=] [exporter=]");
	if (!(prev = h_ident(h, argv[2])) ||
	    !(signer = h_opt(argc, argv, "signer") ? h_ident(h, h_opt(argc, argv, "signer")) : prev) ||
	    presented_arg(h, argc, argv, fp) < 0 || exporter_arg(h, argc, argv, exporter) < 0)
		return -1;
	if (h_sign_proof(signer, LABEL_CONTINUITY, fp, exporter, &sig) < 0)
		return h_fail(h, "signing failed");
	wbuf_init(&e);
	tlv_put(&e, F_PREV_CERT, prev->der.p, prev->der.n);
	tlv_put(&e, F_ENDORSE, sig.p, sig.n);
	rc = wbuf_status(&e) == 0 ? h_setvar(h, argv[1], e.p, e.len, 0) : h_fail(h, "out of memory");
	wbuf_free(&e);
	blob_free(&sig);
	return rc;
}

/* announce-entry VAR CUR_ID NEXT_ID [endorse_by=ID] [possess_by=ID]
 * [state=next] [fp=] [exporter=]: an F_ENTRY of MSG_CERTS — CUR's key
 * endorses NEXT's certificate, NEXT's key proves possession for the
 * certificate we present. */
static int cmd_announce_entry(struct hctx *h, int argc, char **argv)
{
	uint8_t fp[32], exporter[32];
	struct ident *cur, *next, *eby, *pby;
	struct blob endorse = {0}, possess = {0};
	const char *state = h_opt(argc, argv, "state");
	struct wbuf e;
	int rc;

	if (argc < 4)
		return h_fail(h, "usage: announce-entry VAR CUR_ID NEXT_ID [endorse_by=ID] [possess_by=ID] [state=next] [fp=] [exporter=]");
	if (!(cur = h_ident(h, argv[2])) || !(next = h_ident(h, argv[3])) ||
	    !(eby = h_opt(argc, argv, "endorse_by") ? h_ident(h, h_opt(argc, argv, "endorse_by")) : cur) ||
	    !(pby = h_opt(argc, argv, "possess_by") ? h_ident(h, h_opt(argc, argv, "possess_by")) : next) ||
	    presented_arg(h, argc, argv, fp) < 0 || exporter_arg(h, argc, argv, exporter) < 0)
		return -1;
	if (h_sign_proof(eby, LABEL_ENDORSE, next->fp, exporter, &endorse) < 0 ||
	    h_sign_proof(pby, LABEL_POSSESS, fp, exporter, &possess) < 0) {
		blob_free(&endorse);
		return h_fail(h, "signing failed");
	}
	wbuf_init(&e);
	tlv_put(&e, F_CERT, next->der.p, next->der.n);
	tlv_put_str(&e, F_STATE, state ? state : "next");
	tlv_put(&e, F_ENDORSE, endorse.p, endorse.n);
	tlv_put(&e, F_POSSESS, possess.p, possess.n);
	rc = wbuf_status(&e) == 0 ? h_setvar(h, argv[1], e.p, e.len, 0) : h_fail(h, "out of memory");
	wbuf_free(&e);
	blob_free(&endorse);
	blob_free(&possess);
	return rc;
}

static int cmd_tlv(struct hctx *h, int argc, char **argv)
{
	struct wbuf w;
	int rc;
	if (argc < 2)
		return h_fail(h, "usage: tlv VAR field=VALUE...");
	wbuf_init(&w);
	rc = h_build_tlv(h, argc - 2, argv + 2, NULL, &w);
	if (rc == 0)
		rc = h_setvar(h, argv[1], w.p ? w.p : (const uint8_t *)"", w.len, 0);
	wbuf_free(&w);
	return rc;
}

static int cmd_snapshot(struct hctx *h, int argc, char **argv)
{
	char snap[4096];
	json_t *detail = NULL, *ev;
	const struct hval *want;
	int rc;

	if (argc != 4)
		return h_fail(h, "usage: %s VAR DIR SERVER", argv[0]);
	if (h_snapshot(h, argv[2], argv[3], snap, sizeof(snap), &detail) < 0)
		return -1;
	if (strcmp(argv[0], "snapshot") == 0) {
		ev = h_event(h, "snapshot");
		json_object_set_new(ev, "name", json_string(argv[1]));
		json_object_set_new(ev, "record", detail);
		h_emit(h, ev);
		return h_setvar(h, argv[1], snap, strlen(snap), 1);
	}
	json_decref(detail);
	want = h_getvar(h, argv[1]);
	if (!want)
		return h_fail(h, "no snapshot %s", argv[1]);
	rc = want->b.n == strlen(snap) && memcmp(want->b.p, snap, want->b.n) == 0;
	ev = h_event(h, rc ? "snapshot-same" : "snapshot-changed");
	if (!rc) {
		json_object_set_new(ev, "before", json_stringn((const char *)want->b.p, want->b.n));
		json_object_set_new(ev, "after", json_string(snap));
	}
	h_emit(h, ev);
	return rc ? 0 : h_fail(h, "the victim's record of %s changed", argv[3]);
}

/* check NAME VALUE VALUE: reports whether two values are equal (no failure). */
static int cmd_check(struct hctx *h, int argc, char **argv)
{
	struct blob a = {0}, b = {0};
	json_t *ev;

	if (argc != 4)
		return h_fail(h, "usage: check NAME VALUE VALUE");
	if (h_bytes(h, argv[2], &a) < 0 || h_bytes(h, argv[3], &b) < 0) {
		blob_free(&a);
		return -1;
	}
	ev = h_event(h, "check");
	json_object_set_new(ev, "name", json_string(argv[1]));
	json_object_set_new(ev, "equal", json_boolean(a.n == b.n && (!a.n || memcmp(a.p, b.p, a.n) == 0)));
	h_emit(h, ev);
	blob_free(&a);
	blob_free(&b);
	return 0;
}

static int cmd_exit(struct hctx *h, int argc, char **argv)
{
	(void)h;
	fflush(stdout);
	exit(argc > 1 ? atoi(argv[1]) : 0);
}

static int cmd_help(struct hctx *h, int argc, char **argv);

typedef int cmd_fn(struct hctx *h, int argc, char **argv);

static const struct command {
	const char *name;
	cmd_fn *fn;
	const char *usage;
} commands[] = {
	{"set", cmd_set, "set VAR VALUE"},
	{"let", cmd_let, "let VAR EXPR            integer + - * / % ( )"},
	{"print", cmd_print, "print VAR..."},
	{"note", cmd_note, "note TEXT..."},
	{"repeat", cmd_repeat, "repeat N|Ts [VAR] ... end   N times or for T seconds; VAR counts from 0"},
	{"end", cmd_end, "end"},
	{"sleep", cmd_sleep, "sleep SECONDS"},
	{"option", cmd_option, "option keep-going|stop-on-fail|quiet|verbose   quiet: no sent events"},
	{"spawn", cmd_spawn, "spawn [out=FILE] SHELL-COMMAND...   in the background"},
	{"reap", cmd_reap, "reap                    waits for spawned commands"},
	{"exit", cmd_exit, "exit [STATUS]"},
	{"check", cmd_check, "check NAME VALUE VALUE   reports whether they are equal"},
	{"gen-identity", cmd_gen_identity, "gen-identity ID [cn=NAME] [ip=ADDR] [days=N] [offset=SECONDS]"},
	{"identity", cmd_identity, "identity ID file CERT KEY | identity ID instance DIR [current|next|previous|label=L] | identity ID copy OTHER"},
	{"secret", cmd_secret, "secret VAR DIR own-password|password|pairing-out|pairing-in [SERVER]"},
	{"connect", cmd_connect, "connect [SESS] HOST PORT [src=ADDR] [timeout=S]"},
	{"listen", cmd_listen, "listen PORT [addr=ADDR]"},
	{"accept", cmd_accept, "accept [SESS] [timeout=S]"},
	{"use", cmd_use, "use SESS"},
	{"tls", cmd_tls, "tls client|server ID [max=1.2] [timeout=S]"},
	{"legacy", cmd_legacy, "legacy client|server   protocol-1 magic"},
	{"send", cmd_send, "send TYPE [field=VALUE...] [payload=VALUE] [len=N]"},
	{"send-raw", cmd_send_raw, "send-raw VALUE [tcp]"},
	{"save", cmd_save, "save NAME [sent]         the last frame received (or sent)"},
	{"send-saved", cmd_send_saved, "send-saved NAME"},
	{"recv", cmd_recv, "recv [timeout=S]"},
	{"expect", cmd_expect, "expect TYPE [timeout=S] [field=VALUE...]"},
	{"expect-close", cmd_expect_close, "expect-close [timeout=S]"},
	{"drain", cmd_expect_close, "drain [timeout=S]        reads until close or timeout"},
	{"close", cmd_close, "close [abort]"},
	{"srp-client", cmd_srp_client, "srp-client p1=SERVER-PW p2=CLIENT-PW [salt= B= salt2= B2=] | p1=SERVER-PW slots=1 [salt= B=] | admin=PW [salt= B=]"},
	{"srp-client-check", cmd_srp_client_check, "srp-client-check [M2=] [M2_2=]"},
	{"srp-server", cmd_srp_server, "srp-server p1=OWN-PW p2=CLIENT-PW"},
	{"srp-server-finish", cmd_srp_server_finish, "srp-server-finish [A= M1= A2= M1_2=]"},
	{"tag", cmd_tag, "tag VAR key=KEY|zero side=client|server [method=] [purpose=] [version=] [client=] [server=] [exporter=] [client_fp=] [server_fp=]"},
	{"legacy-key", cmd_legacy_key, "legacy-key VAR server_pw=PW client_pw=PW"},
	{"legacy-tag", cmd_legacy_tag, "legacy-tag VAR key=KEY side=client|server nonce_s= nonce_c= client= server="},
	{"sign", cmd_sign, "sign VAR ID continuity|endorse|possess FP [exporter=]"},
	{"continuity-entry", cmd_continuity_entry, "continuity-entry VAR PREV_ID [signer=ID] [fp=] [exporter=]"},
	{"announce-entry", cmd_announce_entry, "announce-entry VAR CUR_ID NEXT_ID [endorse_by=ID] [possess_by=ID] [state=] [fp=] [exporter=]"},
	{"tlv", cmd_tlv, "tlv VAR field=VALUE..."},
	{"snapshot", cmd_snapshot, "snapshot VAR DIR SERVER  the victim's pins, level, mark, pairing keys"},
	{"expect-snapshot", cmd_snapshot, "expect-snapshot VAR DIR SERVER"},
	{"fuzz", cmd_fuzz, "fuzz seed=N sessions=N ... (see tests/tools/hostile_fuzz.c)"},
	{"help", cmd_help, "help"},
};

static int cmd_help(struct hctx *h, int argc, char **argv)
{
	(void)h;
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %s\n", commands[i].usage);
	printf("Values: hex:.. 0x.. str:.. u8:/u16:/u32:/u64:N zero:N rand:N fill:N:BYTE file:PATH,\n"
	       "  else by field type. Fields: from to proto method flags salt B A M1 M2 tag msgid\n"
	       "  text nonce time verified_by secsec cert state endorse possess fp entry prev_cert\n"
	       "  salt2 B2 A2 M1_2 M2_2 version purpose, tNN=VALUE for tag NN.\n"
	       "After recv: $r.type, $r.<field>; after tls: $exporter $peer_fp $own_fp $peer_cert.\n");
	return 0;
}

/* Runs one line; 0, or -1 when the command failed. */
static int run_line(struct hctx *h, const char *line)
{
	char *argv[H_MAX_ARGS];
	int argc = split(h, line, argv, H_MAX_ARGS), rc = -1, tried = 0;
	char **av = argv;

	if (argc < 0)
		return -1;
	if (argc == 0)
		return 0;
	if (strcmp(av[0], "try") == 0 && argc > 1) {
		tried = 1;
		av++;
		argc--;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, av[0]) == 0) {
			rc = commands[i].fn(h, argc, av);
			break;
		}
	if (rc == -1 && !tried) {
		int known = 0;
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			known |= strcmp(commands[i].name, av[0]) == 0;
		if (!known)
			h_fail(h, "unknown command %s", av[0]);
	}
	for (int i = 0; i < argc + tried; i++)
		free(argv[i]);
	return tried ? 0 : rc;
}

static int load_script(struct hctx *h, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	int cap_lines = 0;

	while (getline(&line, &cap, f) >= 0) {
		if (h->nlines == cap_lines) {
			char **nl;
			cap_lines = cap_lines ? cap_lines * 2 : 256;
			nl = realloc(h->lines, (size_t)cap_lines * sizeof(*nl));
			if (!nl)
				return -1;
			h->lines = nl;
		}
		h->lines[h->nlines++] = strdup(line);
	}
	free(line);
	return 0;
}

int main(int argc, char **argv)
{
	struct hctx *h = &H;
	FILE *f = stdin;
	int status = 0;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: hostile [SCRIPT]   (the script from stdin without SCRIPT)\n");
		return cmd_help(h, 0, NULL);
	}
	if (argc > 1 && !(f = fopen(argv[1], "r"))) {
		fprintf(stderr, "hostile: cannot read %s\n", argv[1]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	since_start();
	clock_init();
	wolfSSL_Init();
	h->listen_fd = -1;
	for (int i = 0; i < H_MAX_SESS; i++)
		h->sess[i].fd = -1;
	if (load_script(h, f) < 0 || tls_policy_init(&h->pol13, 1) < 0 ||
	    tls_policy_init(&h->pol12, 0) < 0) {
		fprintf(stderr, "hostile: cannot start\n");
		return 2;
	}
	for (h->pc = 0; h->pc < h->nlines; h->pc++) {
		h->lineno = h->pc + 1;
		if (run_line(h, h->lines[h->pc]) < 0) {
			status = 1;
			h->failures++;
			if (!h->keep_going)
				break;
		}
	}
	for (int i = 0; i < H_MAX_SESS; i++)
		if (h->sess[i].used)
			h_sess_close(h, &h->sess[i], 0);
	cmd_reap(h, 0, NULL);
	{
		json_t *ev = h_event(h, "done");
		json_object_set_new(ev, "failures", json_integer(h->failures));
		h_emit(h, ev);
	}
	for (int i = 0; i < H_MAX_INST; i++)
		if (h->inst[i].open)
			instance_close(&h->inst[i].in);
	return status;
}
