#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "log.h"
#include "msg.h"

enum opt_kind { OPT_NAME, OPT_STR, OPT_INT, OPT_BOOL, OPT_KEYTYPE, OPT_LEVEL, OPT_SIZE, OPT_RATE };

struct opt {
	const char *key;
	enum opt_kind kind;
	size_t off;
	size_t size;   /* for strings */
	long min, max; /* for integers */
	const char *def;
	const char *help;
};

#define STR(f) offsetof(struct rpl_conf, f), sizeof(((struct rpl_conf *)0)->f)
#define INT(f) offsetof(struct rpl_conf, f), 0

static const struct opt opts[] = {
	{ "SERVERNAME", OPT_NAME, STR(servername), 0, 0, NULL,
	  "this peer's name; partners define it under this name (required)" },
	{ "TCPADDRESS", OPT_STR, STR(tcpaddress), 0, 0, "127.0.0.1", "listen address" },
	{ "TCPPORT", OPT_INT, INT(tcpport), 1, 65535, "1500",
	  "one port for TLS sessions and, when allowed, down-level sessions" },
	{ "SSLTLS13", OPT_BOOL, INT(ssltls13), 0, 1, "YES",
	  "offer TLS 1.3; used only when both sides enable it, else TLS 1.2" },
	{ "SSLACCEPTCERTFROMSERV", OPT_BOOL, INT(acceptcertfromserv), 0, 1, "YES",
	  "accept an unknown partner certificate on first contact, after the mutual password proof" },
	{ "ALLOWLEGACY", OPT_BOOL, INT(allowlegacy), 0, 1, "YES",
	  "accept down-level (protocol 1, no TLS) sessions from TRANSITIONAL servers" },
	{ "PROTOCOLLEVEL", OPT_INT, INT(protocollevel), 1, 2, "2",
	  "1 makes this instance behave as a down-level peer (tests and migrations)" },
	{ "KEYTYPE", OPT_KEYTYPE, INT(keytype), 0, 0, "ECDSA-P256",
	  "own key type: ECDSA-P256, RSA-2048 or RSA-3072" },
	{ "CERTVALIDITYDAYS", OPT_INT, INT(certvaliditydays), 1, 36500, "3650",
	  "validity of generated certificates, in days" },
	{ "CERTRENEWDAYS", OPT_INT, INT(certrenewdays), 0, 36500, "30",
	  "renew automatically when fewer days remain; 0 = never" },
	{ "COMMTIMEOUT", OPT_INT, INT(commtimeout), 1, 86400, "60",
	  "seconds a session may stall before it is dropped" },
	{ "HANDSHAKETIMEOUT", OPT_INT, INT(handshaketimeout), 1, 3600, "10",
	  "seconds to finish TLS and authentication" },
	{ "MAXSESSIONS", OPT_INT, INT(maxsessions), 1, 65536, "256", "concurrent sessions" },
	{ "LDAPURL", OPT_STR, STR(ldapurl), 0, 0, "",
	  "ldaps://host:636 or ldap://host:389 (StartTLS, always)" },
	{ "LDAPUSERDN", OPT_STR, STR(ldapuserdn), 0, 0, "", "bind DN template, %s = admin name" },
	{ "LDAPCALABEL", OPT_STR, STR(ldapcalabel), 0, 0, "",
	  "trust-store label of the CA that signs the LDAP server certificate" },
	{ "LOGLEVEL", OPT_LEVEL, INT(loglevel), 0, 0, "info", "error, warn, info or debug" },
	{ "DBMAXSIZE", OPT_SIZE, INT(dbmaxsize), 0, 0, "64G",
	  "largest size of data.mdb (sparse); suffix K, M, G or T" },
	{ "PREAUTHMAX", OPT_INT, INT(preauthmax), 1, 65536, "64",
	  "connections not yet authenticated, in all" },
	{ "PREAUTHPERADDR", OPT_INT, INT(preauthperaddr), 1, 65536, "8",
	  "connections not yet authenticated, per source address" },
	{ "ROUNDTIMEOUT", OPT_INT, INT(roundtimeout), 1, 86400, "120",
	  "seconds a control session (PING, announcement, confirmation, FORCESYNC) may take in all" },
	{ "PREVCERTGRACEDAYS", OPT_INT, INT(prevcertgracedays), 0, 3650, "30",
	  "longest a previous own certificate and its key are kept for partners that have not followed" },
	{ "CLOCKSKEW", OPT_INT, INT(clockskew), 0, 86400, "300",
	  "seconds of clock difference allowed when checking certificate dates" },
	{ "ACTLOGRETENTION", OPT_INT, INT(actlogretention), 1, 3650, "30",
	  "days the activity log keeps entries; 'SET ACTLOGRETENTION days' changes it at once and here" },
	{ "RENEWSELFSIGNED", OPT_BOOL, INT(renewselfsigned), 0, 1, "NO",
	  "for a CA-signed identity, whether automatic renewal may fall back to self-signed" },
	{ "REPLDELETEGUARD", OPT_INT, INT(repldeleteguard), 0, 100, "50",
	  "a replication run that would delete more than this percent of a replica's objects stops and asks for FORCE=YES" },
	{ "MAXBANDWIDTH", OPT_RATE, INT(maxbandwidth), 0, 0, "0",
	  "replication bytes per second per run, 0 = unlimited; suffix K, M or G" },
	{ "LDAPCACHESECONDS", OPT_INT, INT(ldapcacheseconds), 0, 86400, "0",
	  "how long a successful LDAP check is reused, 0 = never" },
	{ "SERVERHLADDRESS", OPT_STR, STR(serverhladdress), 0, 0, "",
	  "the address partners reach this server at (cross-definition); unset: TCPADDRESS" },
	{ "SERVERLLADDRESS", OPT_INT, INT(serverlladdress), 0, 65535, "0",
	  "the port partners reach this server at (cross-definition); 0: TCPPORT" },
	{ "CROSSDEFINE", OPT_BOOL, INT(crossdefine), 0, 1, "NO",
	  "let partners that know this server's password define themselves here (DEFINE SERVER ... CROSSDEFINE=YES there)" },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

const char *conf_key_name(size_t i) { return i < NOPTS ? opts[i].key : NULL; }
const char *conf_key_default(size_t i)
{
	return i < NOPTS ? (opts[i].def ? opts[i].def : "") : NULL;
}
const char *conf_key_help(size_t i) { return i < NOPTS ? opts[i].help : NULL; }

int conf_key_index(const char *key)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strcasecmp(key, opts[i].key) == 0)
			return (int)i;
	return -1;
}

/* 64G rather than 68719476736: the largest suffix that divides the value. */
static void size_text(uint64_t v, char *out, size_t outsz)
{
	static const char suffix[] = "TGMK";

	for (int i = 0; i < 4 && v; i++) {
		int shift = 40 - 10 * i;
		if ((v & ((1ULL << shift) - 1)) == 0) {
			snprintf(out, outsz, "%llu%c", (unsigned long long)(v >> shift), suffix[i]);
			return;
		}
	}
	snprintf(out, outsz, "%llu", (unsigned long long)v);
}

void conf_value_text(const struct rpl_conf *c, size_t i, char *out, size_t outsz)
{
	static const char *levels[] = { "error", "warn", "info", "debug" };
	const char *base = (const char *)c;
	const struct opt *o;
	int n;

	if (i >= NOPTS) {
		snprintf(out, outsz, "%s", "");
		return;
	}
	o = &opts[i];
	switch (o->kind) {
	case OPT_NAME:
	case OPT_STR: snprintf(out, outsz, "%s", base + o->off); return;
	case OPT_INT: snprintf(out, outsz, "%d", *(const int *)(base + o->off)); return;
	case OPT_BOOL:
		snprintf(out, outsz, "%s", *(const int *)(base + o->off) ? "YES" : "NO");
		return;
	case OPT_KEYTYPE:
		snprintf(out, outsz, "%s", keytype_name(*(const int *)(base + o->off)));
		return;
	case OPT_LEVEL:
		n = *(const int *)(base + o->off);
		snprintf(out, outsz, "%s", n >= 0 && n < 4 ? levels[n] : "?");
		return;
	case OPT_SIZE:
	case OPT_RATE: size_text(*(const uint64_t *)(base + o->off), out, outsz); return;
	}
}

static const char *keytype_names[] = { "ECDSA-P256", "RSA-2048", "RSA-3072" };

const char *keytype_name(int keytype)
{
	return keytype >= 0 && keytype < 3 ? keytype_names[keytype] : "unknown";
}

int keytype_parse(const char *s, int *keytype)
{
	for (int i = 0; i < 3; i++)
		if (strcasecmp(s, keytype_names[i]) == 0) {
			*keytype = i;
			return 0;
		}
	return -RPL_E_BADARG;
}

int conf_wildcard_address(const char *a)
{
	return !*a || strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0 || strcmp(a, "[::]") == 0 ||
	       strcmp(a, "*") == 0 || strcmp(a, "0") == 0;
}

int conf_reach_address(const struct rpl_conf *c, char *host, size_t hostsz, int *port)
{
	const char *h = c->serverhladdress[0] ? c->serverhladdress : c->tcpaddress;

	*port = c->serverlladdress ? c->serverlladdress : c->tcpport;
	if (conf_wildcard_address(h))
		return -1;
	snprintf(host, hostsz, "%s", h);
	return 0;
}

int conf_valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > RPL_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(".-_", s[i]))
			return 0;
	return 1;
}

static int parse_long(const char *s, long *v)
{
	char *end;
	errno = 0;
	*v = strtol(s, &end, 10);
	return errno == 0 && end != s && *end == 0 ? 0 : -1;
}

static int parse_size(const char *s, uint64_t *v, uint64_t min)
{
	char *end;
	unsigned long long n;
	int shift;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 0: shift = 0; break;
	case 'K':
		shift = 10;
		end++;
		break;
	case 'M':
		shift = 20;
		end++;
		break;
	case 'G':
		shift = 30;
		end++;
		break;
	case 'T':
		shift = 40;
		end++;
		break;
	default: return -1;
	}
	if (n > (ULLONG_MAX >> shift))
		return -1;
	n <<= shift;
	if (*end || n < min)
		return -1;
	*v = n;
	return 0;
}

static int set_opt(struct rpl_conf *c, const struct opt *o, const char *value, char *err,
		   size_t errsz)
{
	char *base = (char *)c;
	long n;

	switch (o->kind) {
	case OPT_NAME:
		if (!conf_valid_name(value)) {
			snprintf(
				err, errsz,
				"%s '%s' is not a valid name (1 to 64 letters, digits, '.', '-', '_')",
				o->key, value);
			return -RPL_E_CONF_VALUE;
		}
		/* fallthrough */
	case OPT_STR:
		if (strlen(value) >= o->size) {
			snprintf(err, errsz, "%s value is longer than %zu characters", o->key,
				 o->size - 1);
			return -RPL_E_CONF_VALUE;
		}
		memcpy(base + o->off, value, strlen(value) + 1);
		return 0;
	case OPT_INT:
		if (parse_long(value, &n) < 0 || n < o->min || n > o->max) {
			snprintf(err, errsz, "%s '%s' must be a number from %ld to %ld", o->key,
				 value, o->min, o->max);
			return -RPL_E_CONF_VALUE;
		}
		*(int *)(base + o->off) = (int)n;
		return 0;
	case OPT_BOOL:
		if (strcasecmp(value, "YES") == 0)
			*(int *)(base + o->off) = 1;
		else if (strcasecmp(value, "NO") == 0)
			*(int *)(base + o->off) = 0;
		else {
			snprintf(err, errsz, "%s '%s' must be YES or NO", o->key, value);
			return -RPL_E_CONF_VALUE;
		}
		return 0;
	case OPT_KEYTYPE:
		if (keytype_parse(value, (int *)(base + o->off)) < 0) {
			snprintf(err, errsz, "%s '%s' must be ECDSA-P256, RSA-2048 or RSA-3072",
				 o->key, value);
			return -RPL_E_CONF_VALUE;
		}
		return 0;
	case OPT_LEVEL: {
		static const char *levels[] = { "error", "warn", "info", "debug" };
		for (int i = 0; i < 4; i++)
			if (strcasecmp(value, levels[i]) == 0) {
				*(int *)(base + o->off) = i;
				return 0;
			}
		snprintf(err, errsz, "%s '%s' must be error, warn, info or debug", o->key, value);
		return -RPL_E_CONF_VALUE;
	}
	case OPT_SIZE:
		if (parse_size(value, (uint64_t *)(base + o->off), 1u << 20) < 0) {
			snprintf(err, errsz,
				 "%s '%s' must be a size of at least 1M, like 512M or 64G", o->key,
				 value);
			return -RPL_E_CONF_VALUE;
		}
		return 0;
	case OPT_RATE:
		if (parse_size(value, (uint64_t *)(base + o->off), 0) < 0) {
			snprintf(err, errsz,
				 "%s '%s' must be bytes per second, like 0, 500K or 40M", o->key,
				 value);
			return -RPL_E_CONF_VALUE;
		}
		return 0;
	}
	return -RPL_E_INTERNAL;
}

int conf_set(struct rpl_conf *c, const char *key, const char *value, char *err, size_t errsz)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strcasecmp(key, opts[i].key) == 0)
			return set_opt(c, &opts[i], value, err, errsz);
	snprintf(err, errsz, "unknown key '%s'", key);
	return -RPL_E_CONF_KEY;
}

void conf_defaults(struct rpl_conf *c)
{
	char err[256];
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].def)
			(void)set_opt(c, &opts[i], opts[i].def, err, sizeof(err));
}

static char *trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

int conf_load(const char *path, struct rpl_conf *c, char *err, size_t errsz)
{
	char line[1024], detail[512];
	FILE *f;
	int lineno = 0, rc = 0;

	conf_defaults(c);
	f = fopen(path, "r");
	if (!f) {
		int e = errno;
		snprintf(err, errsz, "%s: %s", path, strerror(e));
		return e == ENOENT ? -RPL_E_NOINSTANCE : -RPL_E_CONF_UNREADABLE;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s, *key, *value;
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errsz, "%s:%d: line longer than %zu characters", path, lineno,
				 sizeof(line) - 2);
			rc = -RPL_E_CONF_VALUE;
			break;
		}
		if ((s = strchr(line, '#')))
			*s = 0;
		s = trim(line);
		if (!*s)
			continue;
		key = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		if (*s)
			*s++ = 0;
		value = trim(s);
		if (!*value) {
			snprintf(err, errsz, "%s:%d: key '%s' has no value", path, lineno, key);
			rc = -RPL_E_CONF_VALUE;
			break;
		}
		rc = conf_set(c, key, value, detail, sizeof(detail));
		if (rc < 0) {
			snprintf(err, errsz, "%s:%d: %s", path, lineno, detail);
			break;
		}
	}
	fclose(f);
	if (rc == 0 && !c->servername[0]) {
		snprintf(err, errsz, "%s: SERVERNAME is not set", path);
		rc = -RPL_E_CONF_MISSING;
	}
	return rc;
}

int conf_write_template(const char *path, const char *name, int port, const char *address)
{
	return conf_write_template_ex(path, name, port, address, NULL, 0);
}

/* The value given for key among "KEY=VALUE" options, or NULL. */
static const char *given(const char *const *kv, int n, const char *key)
{
	size_t klen = strlen(key);
	for (int i = 0; i < n; i++)
		if (strncasecmp(kv[i], key, klen) == 0 && kv[i][klen] == '=')
			return kv[i] + klen + 1;
	return NULL;
}

int conf_check_options(const char *const *kv, int n, char *err, size_t errsz)
{
	struct rpl_conf c;
	char key[64];

	conf_defaults(&c);
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(kv[i], '=');
		int rc;
		if (!eq || eq == kv[i] || (size_t)(eq - kv[i]) >= sizeof(key)) {
			snprintf(err, errsz, "'%s' is not KEY=VALUE", kv[i]);
			return -RPL_E_CONF_VALUE;
		}
		memcpy(key, kv[i], (size_t)(eq - kv[i]));
		key[eq - kv[i]] = 0;
		if (strcasecmp(key, "SERVERNAME") == 0 || strcasecmp(key, "TCPPORT") == 0 ||
		    strcasecmp(key, "TCPADDRESS") == 0) {
			snprintf(err, errsz, "set %s with --name, --port or --address", key);
			return -RPL_E_CONF_VALUE;
		}
		if ((rc = conf_set(&c, key, eq + 1, err, errsz)) < 0)
			return rc;
	}
	return 0;
}

int conf_write_template_ex(const char *path, const char *name, int port, const char *address,
			   const char *const *kv, int nopts)
{
	struct wbuf w;
	char line[512];
	int rc;

	wbuf_init(&w);
#define PUT(...)                                                                               \
	do {                                                                                   \
		int n_ = snprintf(line, sizeof(line), __VA_ARGS__);                            \
		wbuf_put(&w, line, (size_t)n_ < sizeof(line) ? (size_t)n_ : sizeof(line) - 1); \
	} while (0)
	PUT("# replpeer.conf: KEY value, one per line; '#' starts a comment.\n");
	PUT("# Keys are case-insensitive. Read at start; 'SETOPT KEY value' changes a key here\n");
	PUT("# and in the running server ('QUERY OPTION' says which ones need a restart).\n\n");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		PUT("# %s\n", o->help);
		if (strcmp(o->key, "SERVERNAME") == 0)
			PUT("SERVERNAME %s\n\n", name);
		else if (strcmp(o->key, "TCPPORT") == 0 && port > 0)
			PUT("TCPPORT %d\n\n", port);
		else if (strcmp(o->key, "TCPADDRESS") == 0 && address)
			PUT("TCPADDRESS %s\n\n", address);
		else if (given(kv, nopts, o->key))
			PUT("%s %s\n\n", o->key, given(kv, nopts, o->key));
		else if (o->def && o->def[0])
			PUT("#%s %s\n\n", o->key, o->def);
		else
			PUT("#%s\n\n", o->key);
	}
#undef PUT
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = fs_write_atomic(path, w.p, w.len, 0644);
	wbuf_free(&w);
	return rc;
}

/* When line [p, end) sets key — "KEY value" (active) or "#KEY ..."
 * (commented) — returns 2 or 1, else 0. */
static int line_sets(const char *p, const char *end, const char *key)
{
	size_t klen = strlen(key);
	int commented = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p == '#') {
		commented = 1;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
	}
	if ((size_t)(end - p) < klen || strncasecmp(p, key, klen) != 0)
		return 0;
	p += klen;
	if (p < end && !isspace((unsigned char)*p))
		return 0;
	return commented ? 1 : 2;
}

int conf_update_file(const char *path, const char *key, const char *value, int *lockfd, char *err,
		     size_t errsz)
{
	struct rpl_conf scratch;
	struct wbuf in, out;
	const struct opt *o = NULL;
	const char *p, *end;
	struct stat st;
	char line[512];
	int rc, have_active = 0, done = 0, n;

	if (errsz)
		err[0] = 0;
	if (lockfd)
		*lockfd = -1;
	for (size_t i = 0; i < NOPTS && !o; i++)
		if (strcasecmp(key, opts[i].key) == 0)
			o = &opts[i];
	if (!o) {
		snprintf(err, errsz, "unknown key '%s'", key);
		return -RPL_E_CONF_KEY;
	}
	if (strpbrk(value, "#\r\n") || !*value || isspace((unsigned char)value[0]) ||
	    isspace((unsigned char)value[strlen(value) - 1])) {
		snprintf(err, errsz, "%s value must be one word on one line", o->key);
		return -RPL_E_CONF_VALUE;
	}
	conf_defaults(&scratch);
	if ((rc = set_opt(&scratch, o, value, err, errsz)) < 0)
		return rc;
	n = snprintf(line, sizeof(line), "%s %s\n", o->key, value);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		snprintf(err, errsz, "%s value too long", o->key);
		return -RPL_E_CONF_VALUE;
	}
	if (stat(path, &st) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -RPL_E_IO;
	}
	wbuf_init(&in);
	if ((rc = fs_read_file(path, 1u << 20, &in)) < 0) {
		snprintf(err, errsz, "cannot read %s", path);
		wbuf_free(&in);
		return rc;
	}
	for (p = (const char *)in.p, end = p + in.len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		have_active |= line_sets(p, nl ? nl : end, o->key) == 2;
		p = nl ? nl + 1 : end;
	}
	/* Active lines are all rewritten (the last one wins when the file is
	 * read); without one, the first commented line becomes active. */
	wbuf_init(&out);
	for (p = (const char *)in.p, end = p + in.len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		int kind = line_sets(p, nl ? nl : end, o->key);

		if (kind == 2 || (kind == 1 && !have_active && !done)) {
			wbuf_put(&out, line, (size_t)n);
			done = 1;
		} else {
			wbuf_put(&out, p, (size_t)(next - p));
		}
		p = next;
	}
	if (!done) {
		if (out.len && out.p[out.len - 1] != '\n')
			wbuf_put(&out, "\n", 1);
		wbuf_put(&out, line, (size_t)n);
	}
	rc = wbuf_status(&out);
	if (rc == 0)
		rc = lockfd ? fs_write_atomic_locked(path, out.p, out.len, st.st_mode & 07777,
						     lockfd)
			    : fs_write_atomic(path, out.p, out.len, st.st_mode & 07777);
	if (rc < 0 && !err[0])
		snprintf(err, errsz, "cannot write %s", path);
	wbuf_free(&in);
	wbuf_free(&out);
	return rc;
}
