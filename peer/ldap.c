/*
 * peer/ldap: one attempt = one TCP connection to LDAPURL, driven by a small
 * state machine: resolving -> connecting -> (ldap:// StartTLS in clear) ->
 * TLS handshake -> certificate decision -> bind -> unbind and close. Any
 * message not expected in the current state ends the attempt. The client
 * object holds the attempts, the TLS context and the cache.
 */
#include "ldap.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include "../store/trust.h"
#include "../util/ber.h"
#include "../util/clock.h"
#include "../util/escape.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "keys/chain.h"
#include "keys/identity.h"
#include "tls.h"

/* Bytes buffered from the server (raw and decrypted) without a whole
 * message: one message at its largest plus a TLS record. */
#define RX_LIMIT    (BER_MSG_MAX + 32768)
#define READ_CHUNK  16384
#define MAX_ANCHORS 16
#define MAX_EXTRA   15
#define MAX_ADDRS   8

enum attempt_state {
	ST_RESOLVING,
	ST_CONNECTING,
	ST_STARTTLS,  /* StartTLS sent in clear, its answer awaited */
	ST_HANDSHAKE, /* TLS handshake */
	ST_BIND,      /* certificate trusted, BindRequest sent, its answer awaited */
	ST_DONE,
};

struct cache_entry {
	char admin[LDAP_ADMIN_MAX + 1];
	uint8_t key[WC_SHA256_DIGEST_SIZE];
	uint64_t expires_ms;
	int used;
};

struct ldap_attempt;

struct ldap_client {
	uv_loop_t *loop;
	struct instance *in;
	WOLFSSL_CTX *ctx;
	struct ldap_attempt *attempts;
	int halting;
	uint8_t salt[32]; /* keys the cache's HMAC; random per daemon run */
	struct cache_entry cache[LDAP_CACHE_MAX];
	uv_timer_t cache_timer;
	int cache_timer_open;
};

struct ldap_attempt {
	struct ldap_client *lc;
	struct ldap_attempt *next;
	int test; /* ldap_test: never cached */
	int state;
	int finished;
	int refs; /* open handles and the pending resolution */
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect_req;
	uv_getaddrinfo_t resolve_req;
	uv_shutdown_t shutdown_req;
	int resolving, connected, reading, eof;
	struct sockaddr_storage addrs[MAX_ADDRS];
	int naddrs, next_addr;
	char last_connect_error[128];
	WOLFSSL *ssl;
	int tls_up;
	struct wbuf rx_raw; /* bytes from the socket not yet consumed */
	struct wbuf rx_app; /* decrypted bytes not yet framed */
	int32_t msgid, starttls_id, bind_id;
	struct ldap_url url;
	struct blob anchors[MAX_ANCHORS];
	int nanchors;
	int bind_due;         /* an admin was named: bind after the decision */
	struct blob password; /* wiped once the bind is sent */
	int cacheable;
	uint8_t cache_key[WC_SHA256_DIGEST_SIZE];
	uint64_t started_ms;
	ldap_done_fn *done;
	void *arg;
	struct ldap_report rep;
};

static void finish(struct ldap_attempt *a, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void drive(struct ldap_attempt *a);
static void connect_next(struct ldap_attempt *a);

/* ---- pure helpers ---------------------------------------------------------- */

static int valid_dns_name(const char *h)
{
	size_t n = strlen(h), label = 0;

	if (n == 0 || n > 253 || h[0] == '.' || h[0] == '-' || h[n - 1] == '.' || h[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (h[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)h[i]) || h[i] == '-') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return 1;
}

static int is_ip_literal(const char *h)
{
	uint8_t buf[16];
	return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

int ldap_url_parse(const char *url, struct ldap_url *u, char *err, size_t errsz)
{
	const char *p, *host, *hend;
	size_t hlen;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "ldaps://", 8) == 0) {
		u->port = 636;
		p = url + 8;
	} else if (strncasecmp(url, "ldap://", 7) == 0) {
		u->starttls = 1;
		u->port = 389;
		p = url + 7;
	} else {
		snprintf(err, errsz, "'%s' is not an ldaps:// or ldap:// URL", ESC(url));
		return -RPL_E_LDAP_URL;
	}
	if (*p == '[') {
		host = p + 1;
		if (!(hend = strchr(host, ']'))) {
			snprintf(err, errsz, "the IPv6 address in '%s' lacks its ']'", ESC(url));
			return -RPL_E_LDAP_URL;
		}
		p = hend + 1;
	} else {
		host = p;
		hend = p + strcspn(p, ":/");
		p = hend;
	}
	hlen = (size_t)(hend - host);
	if (hlen == 0 || hlen >= sizeof(u->host)) {
		snprintf(err, errsz, "'%s' names no host", ESC(url));
		return -RPL_E_LDAP_URL;
	}
	memcpy(u->host, host, hlen);
	u->host[hlen] = 0;
	if (host[-1] == '[') {
		uint8_t b[16];
		if (inet_pton(AF_INET6, u->host, b) != 1) {
			snprintf(err, errsz, "'%s' in brackets is not an IPv6 address",
				 ESC(u->host));
			return -RPL_E_LDAP_URL;
		}
	} else if (!is_ip_literal(u->host) && !valid_dns_name(u->host)) {
		snprintf(err, errsz, "'%s' is neither a host name nor an IP address", ESC(u->host));
		return -RPL_E_LDAP_URL;
	}
	if (*p == ':') {
		char *end;
		long port;
		p++;
		if (!isdigit((unsigned char)*p)) {
			snprintf(err, errsz, "the port in '%s' is not a number", ESC(url));
			return -RPL_E_LDAP_URL;
		}
		port = strtol(p, &end, 10);
		if (port < 1 || port > 65535 || end - p > 5) {
			snprintf(err, errsz, "the port in '%s' is not from 1 to 65535", ESC(url));
			return -RPL_E_LDAP_URL;
		}
		u->port = (int)port;
		p = end;
	}
	if (*p == '/')
		p++;
	if (*p) {
		snprintf(
			err, errsz,
			"'%s' follows the host and port: LDAPURL takes no DN, attributes or filter",
			ESC(p));
		return -RPL_E_LDAP_URL;
	}
	return 0;
}

int ldap_userdn_check(const char *tmpl, char *err, size_t errsz)
{
	const char *s = strstr(tmpl, "%s");
	size_t n = strlen(tmpl);

	if (n == 0 || n > 255) {
		snprintf(err, errsz, "LDAPUSERDN must have 1 to 255 characters");
		return -RPL_E_LDAP_USERDN;
	}
	if (!s || strstr(s + 2, "%s")) {
		snprintf(
			err, errsz,
			"LDAPUSERDN '%s' must hold %%s exactly once, where the administrator's name goes",
			ESC(tmpl));
		return -RPL_E_LDAP_USERDN;
	}
	for (const char *p = tmpl; *p; p++) {
		if (*p == '%' && p != s) {
			snprintf(err, errsz, "LDAPUSERDN '%s' holds a '%%' other than its %%s",
				 ESC(tmpl));
			return -RPL_E_LDAP_USERDN;
		}
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '#') {
			snprintf(
				err, errsz,
				"LDAPUSERDN may not hold '#' or control characters (replpeer.conf could not keep it)");
			return -RPL_E_LDAP_USERDN;
		}
	}
	if (isspace((unsigned char)tmpl[0]) || isspace((unsigned char)tmpl[n - 1])) {
		snprintf(err, errsz, "LDAPUSERDN may not start or end with a blank");
		return -RPL_E_LDAP_USERDN;
	}
	if (!strchr(tmpl, '=')) {
		snprintf(
			err, errsz,
			"LDAPUSERDN '%s' is not a DN (attribute=value, ...), e.g. uid=%%s,ou=people,dc=example,dc=com",
			ESC(tmpl));
		return -RPL_E_LDAP_USERDN;
	}
	return 0;
}

int ldap_dn_escape(const char *value, char *out, size_t outsz)
{
	size_t n = strlen(value), o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)value[i];
		char tmp[4];
		size_t k;

		if (ch < 0x20 || ch == 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\%02X", ch);
			k = 3;
		} else if (strchr(",+\"\\<>;=", ch) || (i == 0 && (ch == '#' || ch == ' ')) ||
			   (i == n - 1 && ch == ' ')) {
			tmp[0] = '\\';
			tmp[1] = (char)ch;
			k = 2;
		} else {
			tmp[0] = (char)ch;
			k = 1;
		}
		if (o + k >= outsz)
			return -RPL_E_BADARG;
		memcpy(out + o, tmp, k);
		o += k;
	}
	if (o >= outsz)
		return -RPL_E_BADARG;
	out[o] = 0;
	return 0;
}

int ldap_user_dn(const char *tmpl, const char *admin, char *out, size_t outsz)
{
	char esc[3 * LDAP_ADMIN_MAX + 1], err[256];
	const char *s;
	size_t pre;
	int rc;

	if ((rc = ldap_userdn_check(tmpl, err, sizeof(err))) < 0)
		return rc;
	if (!*admin || strlen(admin) > LDAP_ADMIN_MAX)
		return -RPL_E_BADARG;
	if ((rc = ldap_dn_escape(admin, esc, sizeof(esc))) < 0)
		return rc;
	s = strstr(tmpl, "%s");
	pre = (size_t)(s - tmpl);
	if (pre + strlen(esc) + strlen(s + 2) >= outsz)
		return -RPL_E_BADARG;
	memcpy(out, tmpl, pre);
	strcpy(out + pre, esc);
	strcat(out, s + 2);
	return 0;
}

/* ---- the cache ------------------------------------------------------------- */

/* HMAC-SHA-256 under the run's random salt over admin NUL password: equal
 * for equal inputs in this run, useless for a guess after it. */
static int cache_key(struct ldap_client *lc, const char *admin, const struct blob *pw,
		     uint8_t out[WC_SHA256_DIGEST_SIZE])
{
	Hmac h;
	int rc;

	if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
		return -RPL_E_CRYPTO;
	rc = wc_HmacSetKey(&h, WC_SHA256, lc->salt, sizeof(lc->salt));
	rc |= wc_HmacUpdate(&h, (const byte *)admin, (word32)strlen(admin) + 1);
	rc |= wc_HmacUpdate(&h, pw->p, (word32)pw->n);
	rc |= wc_HmacFinal(&h, out);
	wc_HmacFree(&h);
	secure_zero(&h, sizeof(h));
	return rc ? -RPL_E_CRYPTO : 0;
}

static void cache_wipe(struct cache_entry *e) { secure_zero(e, sizeof(*e)); }

static void cache_arm(struct ldap_client *lc);

static void on_cache_timer(uv_timer_t *t) { cache_arm(t->data); }

/* Wipes what expired and arms the timer for the next expiry. The timer is
 * unreferenced: it never keeps the loop alive. */
static void cache_arm(struct ldap_client *lc)
{
	uint64_t now = clock_mono_ms(), next = 0;

	for (int i = 0; i < LDAP_CACHE_MAX; i++) {
		struct cache_entry *e = &lc->cache[i];
		if (!e->used)
			continue;
		if (e->expires_ms <= now)
			cache_wipe(e);
		else if (!next || e->expires_ms < next)
			next = e->expires_ms;
	}
	if (!lc->cache_timer_open)
		return;
	if (next)
		uv_timer_start(&lc->cache_timer, on_cache_timer, next - now, 0);
	else
		uv_timer_stop(&lc->cache_timer);
}

static int cache_hit(struct ldap_client *lc, const char *admin, const uint8_t *key)
{
	int hit = 0;

	cache_arm(lc); /* expired entries go first */
	for (int i = 0; i < LDAP_CACHE_MAX; i++) {
		struct cache_entry *e = &lc->cache[i];
		hit |= e->used && strcmp(e->admin, admin) == 0 &&
		       secure_equal(e->key, key, sizeof(e->key));
	}
	return hit;
}

static void cache_put(struct ldap_client *lc, const char *admin, const uint8_t *key, int seconds)
{
	struct cache_entry *slot = NULL;

	for (int i = 0; i < LDAP_CACHE_MAX; i++) {
		struct cache_entry *e = &lc->cache[i];
		/* One entry per admin: a new password replaces the old one. */
		if (e->used && strcmp(e->admin, admin) == 0)
			cache_wipe(e);
		if (!e->used && !slot)
			slot = e;
	}
	if (!slot) { /* full: the one that expires first makes room */
		slot = &lc->cache[0];
		for (int i = 1; i < LDAP_CACHE_MAX; i++)
			if (lc->cache[i].expires_ms < slot->expires_ms)
				slot = &lc->cache[i];
		cache_wipe(slot);
	}
	snprintf(slot->admin, sizeof(slot->admin), "%s", admin);
	memcpy(slot->key, key, sizeof(slot->key));
	slot->expires_ms = clock_mono_ms() + (uint64_t)seconds * 1000;
	slot->used = 1;
	cache_arm(lc);
}

void ldap_cache_clear(struct ldap_client *lc)
{
	if (!lc)
		return;
	for (int i = 0; i < LDAP_CACHE_MAX; i++)
		cache_wipe(&lc->cache[i]);
	if (lc->cache_timer_open)
		uv_timer_stop(&lc->cache_timer);
}

/* ---- the report -------------------------------------------------------------- */

static void add_check(struct ldap_attempt *a, const char *name, int ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add_check(struct ldap_attempt *a, const char *name, int ok, const char *fmt, ...)
{
	struct ldap_report_check *c;
	va_list ap;

	if (a->rep.nchecks >= LDAP_REPORT_CHECKS)
		return;
	c = &a->rep.checks[a->rep.nchecks++];
	c->name = name;
	c->ok = ok;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

static const char *hostport(const struct ldap_attempt *a, char *buf, size_t sz)
{
	snprintf(buf, sz, strchr(a->url.host, ':') ? "[%s]:%d" : "%s:%d", a->url.host, a->url.port);
	return buf;
}

#define HP(a) hostport((a), (char[300]){ 0 }, 300)

/* ---- lifetime ----------------------------------------------------------------- */

static void attempt_free(struct ldap_attempt *a)
{
	struct ldap_client *lc = a->lc;

	for (struct ldap_attempt **pp = &lc->attempts; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	a->rep.ms = (double)(clock_mono_ms() - a->started_ms);
	if (a->done)
		a->done(&a->rep, a->arg);
	if (a->ssl)
		wolfSSL_free(a->ssl);
	wbuf_free(&a->rx_raw);
	wbuf_free(&a->rx_app);
	blob_free(&a->password);
	for (int i = 0; i < a->nanchors; i++)
		blob_free(&a->anchors[i]);
	secure_zero(a, sizeof(*a));
	free(a);
}

static void attempt_unref(struct ldap_attempt *a)
{
	if (--a->refs == 0)
		attempt_free(a);
}

static void on_handle_closed(uv_handle_t *h) { attempt_unref(h->data); }

static void close_handles(struct ldap_attempt *a)
{
	if (!uv_is_closing((uv_handle_t *)&a->tcp))
		uv_close((uv_handle_t *)&a->tcp, on_handle_closed);
	if (!uv_is_closing((uv_handle_t *)&a->timer))
		uv_close((uv_handle_t *)&a->timer, on_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	close_handles(req->data);
}

/* A server that stops reading cannot hold a finished attempt open: its
 * orderly shutdown gets CLOSE_GRACE_MS, then the handles are closed. */
#define CLOSE_GRACE_MS 2000

static void on_close_timeout(uv_timer_t *t) { close_handles(t->data); }

/* Only failures that concern the LDAP set-up are logged here; the verdict
 * on a password (accepted, refused) is logged by whoever asked. */
static int log_worthy(int rc)
{
	return rc < 0 && rc != -RPL_E_LDAP_CREDENTIALS && rc != -RPL_E_LDAP_BIND &&
	       rc != -RPL_E_LDAP_EMPTY_PASSWORD && rc != -RPL_E_HALTING;
}

/* Ends the attempt once: the verdict goes into the report, the password is
 * wiped, an unbind is sent after a bind, and the connection is closed;
 * done follows when the last handle is closed (a later loop turn). */
static void finish(struct ldap_attempt *a, int rc, const char *fmt, ...)
{
	va_list ap;

	if (a->finished)
		return;
	a->finished = 1;
	a->state = ST_DONE;
	a->rep.rc = rc;
	va_start(ap, fmt);
	vsnprintf(a->rep.message, sizeof(a->rep.message), fmt, ap);
	va_end(ap);
	if (rc == 0 && a->cacheable && !a->rep.cached && a->lc->in->conf.ldapcacheseconds > 0)
		cache_put(a->lc, a->rep.admin, a->cache_key, a->lc->in->conf.ldapcacheseconds);
	secure_zero(a->cache_key, sizeof(a->cache_key));
	blob_free(&a->password);
	if ((a->rep.logged = log_worthy(rc)))
		log_code(rc, "LDAP %s%s%s: %s", a->test ? "test" : "check",
			 a->rep.admin[0] ? " for administrator " : "", a->rep.admin,
			 a->rep.message);
	else
		log_debug(rc ? rc : RPL_I_LDAP_OK, "LDAP %s: %s", a->test ? "test" : "check",
			  a->rep.message);
	if (a->resolving)
		(void)uv_cancel((uv_req_t *)&a->resolve_req);
	uv_timer_start(&a->timer, on_close_timeout, CLOSE_GRACE_MS, 0);
	if (a->reading) {
		uv_read_stop((uv_stream_t *)&a->tcp);
		a->reading = 0;
	}
	if (a->connected && !uv_is_closing((uv_handle_t *)&a->tcp)) {
		if (a->tls_up) {
			/* A polite end after a bind; close_notify in any case. */
			if (a->rep.bind_sent) {
				struct wbuf w;
				wbuf_init(&w);
				if (ldap_put_unbind(&w, ++a->msgid) == 0)
					(void)wolfSSL_write(a->ssl, w.p, (int)w.len);
				wbuf_free(&w);
			}
			(void)wolfSSL_shutdown(a->ssl);
		}
		a->shutdown_req.data = a;
		if (uv_shutdown(&a->shutdown_req, (uv_stream_t *)&a->tcp, on_shutdown) == 0)
			return;
	}
	close_handles(a);
}

/* ---- writing and reading --------------------------------------------------------- */

struct write_req {
	uv_write_t req;
	size_t n;
	uint8_t data[];
};

static void on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct ldap_attempt *a = req->data;

	if (status < 0 && status != UV_ECANCELED && !a->finished)
		finish(a, -RPL_E_LDAP_UNAVAILABLE, "writing to LDAP server %s failed: %s", HP(a),
		       uv_strerror(status));
	secure_zero(w->data, w->n);
	free(w);
}

static int raw_write(struct ldap_attempt *a, const void *data, size_t n)
{
	struct write_req *w;
	uv_buf_t b;

	if (uv_is_closing((uv_handle_t *)&a->tcp))
		return -RPL_E_CLOSED;
	if (!(w = malloc(sizeof(*w) + n)))
		return -RPL_E_NOMEM;
	memcpy(w->data, data, n);
	w->n = n;
	w->req.data = a;
	b = uv_buf_init((char *)w->data, (unsigned)n);
	if (uv_write(&w->req, (uv_stream_t *)&a->tcp, &b, 1, on_write) < 0) {
		free(w);
		return -RPL_E_CLOSED;
	}
	return 0;
}

static int tls_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct ldap_attempt *a = ctx;
	size_t n;
	(void)ssl;

	if (a->rx_raw.len == 0)
		return a->eof || a->finished ? WOLFSSL_CBIO_ERR_CONN_CLOSE
					     : WOLFSSL_CBIO_ERR_WANT_READ;
	n = a->rx_raw.len < (size_t)sz ? a->rx_raw.len : (size_t)sz;
	memcpy(buf, a->rx_raw.p, n);
	wbuf_consume(&a->rx_raw, n);
	return (int)n;
}

static int tls_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	return raw_write(ctx, buf, (size_t)sz) < 0 ? WOLFSSL_CBIO_ERR_CONN_CLOSE : sz;
}

static int tls_write_all(struct ldap_attempt *a, const struct wbuf *w)
{
	size_t off = 0;

	while (off < w->len) {
		int n = wolfSSL_write(a->ssl, w->p + off, (int)(w->len - off));
		if (n <= 0)
			return -RPL_E_LDAP_TLS;
		off += (size_t)n;
	}
	return 0;
}

/* The next whole LDAPMessage of buf, decoded and consumed: 1, or 0 when
 * more bytes are needed; on a malformed one the attempt ends (-1). */
static int next_message(struct ldap_attempt *a, struct wbuf *buf, struct ldap_msg *m,
			const char *awaited)
{
	char why[300];
	size_t total = 0;
	int rc;

	rc = ber_frame(buf->p, buf->len, BER_MSG_MAX, &total, why, sizeof(why));
	if (rc == 0)
		return 0;
	if (rc > 0) {
		rc = ldap_decode(buf->p, total, m, why, sizeof(why));
		wbuf_consume(buf, total);
	}
	if (rc < 0) {
		finish(a, -RPL_E_LDAP_PROTOCOL,
		       "LDAP server %s sent a malformed or unexpected message while %s was awaited: %s",
		       HP(a), awaited, why);
		return -1;
	}
	return 1;
}

/* A Notice of Disconnection (message 0): the server ends the connection. */
static int disconnection(struct ldap_attempt *a, const struct ldap_msg *m)
{
	char name[64];

	if (m->msgid != 0)
		return 0;
	finish(a, -RPL_E_LDAP_UNAVAILABLE, "LDAP server %s ended the connection (%s): %s%s%s",
	       HP(a),
	       m->op == LDAP_OP_EXTENDED_RESPONSE ? "Notice of Disconnection" : ldap_op_name(m->op),
	       ldap_result_name(m->result_code, name, sizeof(name)), m->diagnostic[0] ? ": " : "",
	       m->diagnostic);
	return 1;
}

/* ---- the certificate decision ------------------------------------------------------ */

static int collect_ldap_anchor(const struct trust_anchor *t, void *arg)
{
	struct ldap_attempt *a = arg;
	size_t n = strlen(a->rep.anchors);

	if (t->purpose != TRUST_LDAP || a->nanchors >= MAX_ANCHORS)
		return 0;
	if (blob_set(&a->anchors[a->nanchors], t->der.p, t->der.n) < 0)
		return -RPL_E_NOMEM;
	a->nanchors++;
	snprintf(a->rep.anchors + n, sizeof(a->rep.anchors) - n, "%s%s", n ? ", " : "", t->label);
	return 0;
}

/* The anchors that may vouch for the LDAP server: the one LDAPCALABEL
 * names, only when it is of purpose ldap; without LDAPCALABEL every anchor
 * of purpose ldap. A peer anchor never does. */
static int load_anchors(struct ldap_attempt *a)
{
	struct instance *in = a->lc->in;
	const char *label = in->conf.ldapcalabel;
	struct trust_anchor t;
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&in->store, 0, &txn)) < 0)
		return rc;
	if (label[0]) {
		rc = store_trust_get(txn, &in->store, label, &t);
		if (rc == -RPL_E_NOTFOUND) {
			snprintf(a->rep.anchors, sizeof(a->rep.anchors),
				 "none: LDAPCALABEL %s names no imported trust anchor", label);
			rc = 0;
		} else if (rc == 0 && t.purpose != TRUST_LDAP) {
			snprintf(
				a->rep.anchors, sizeof(a->rep.anchors),
				"none: LDAPCALABEL %s names a trust anchor of purpose %s, which never vouches for the LDAP server",
				label, trust_purpose_name(t.purpose));
			trust_anchor_free(&t);
		} else if (rc == 0) {
			rc = collect_ldap_anchor(&t, a);
			trust_anchor_free(&t);
		}
	} else {
		rc = store_trust_each(txn, &in->store, collect_ldap_anchor, a);
		if (rc == 0 && a->nanchors == 0)
			snprintf(a->rep.anchors, sizeof(a->rep.anchors),
				 "none: no trust anchor of purpose ldap is imported");
	}
	store_abort(txn);
	return rc;
}

static void report_cert(struct ldap_attempt *a, const uint8_t *der, size_t len)
{
	struct ldap_report_cert *rc;
	struct certinfo ci;

	if (a->rep.ncerts >= LDAP_REPORT_CERTS)
		return;
	rc = &a->rep.certs[a->rep.ncerts++];
	if (identity_cert_info(der, len, &ci) < 0) {
		snprintf(rc->subject, sizeof(rc->subject), "(unreadable certificate of %zu bytes)",
			 len);
		return;
	}
	snprintf(rc->subject, sizeof(rc->subject), "%s", ESC(ci.subject));
	snprintf(rc->issuer, sizeof(rc->issuer), "%s", ESC(ci.issuer));
	snprintf(rc->fingerprint, sizeof(rc->fingerprint), "%s", ci.fp_hex);
	snprintf(rc->sans, sizeof(rc->sans), "%s", ESC(ci.sans));
	rc->not_before = ci.not_before;
	rc->not_after = ci.not_after;
}

/* The leaf's own dates and names, checked apart for the report; the
 * decision itself is chain_verify's, which checks them again with the
 * rest of the path. */
static void report_leaf_checks(struct ldap_attempt *a, const struct ldap_report_cert *leaf,
			       const uint8_t *der, size_t len, int64_t now, int skew)
{
	char nb[32], na[32], t[32];

	clock_iso8601(leaf->not_before, nb, sizeof(nb));
	clock_iso8601(leaf->not_after, na, sizeof(na));
	clock_iso8601(now, t, sizeof(t));
	if (leaf->not_after < now)
		add_check(a, "validity", 0, "expired on %s (valid from %s; the time here is %s)",
			  na, nb, t);
	else if (leaf->not_before > now + skew)
		add_check(a, "validity", 0,
			  "valid only from %s (until %s; the time here is %s, CLOCKSKEW %d s)", nb,
			  na, t, skew);
	else
		add_check(a, "validity", 1, "valid from %s until %s (the time here is %s)", nb, na,
			  t);
	if (chain_name_matches(der, len, a->url.host))
		add_check(a, "host name", 1, "%s is named by the certificate (%s)", a->url.host,
			  leaf->sans[0] ? leaf->sans : "its CN, no subjectAltName");
	else
		add_check(a, "host name", 0, "the certificate names %s, not %s",
			  leaf->sans[0] ? leaf->sans : "no subjectAltName", a->url.host);
}

/* The decision on the server's certificate. 0 when trusted; otherwise the
 * attempt is finished with the reason and -1 is returned. */
static int verify_server(struct ldap_attempt *a)
{
	const struct rpl_conf *conf = &a->lc->in->conf;
	WOLFSSL_X509_CHAIN *chain = wolfSSL_get_peer_chain(a->ssl);
	struct blob leaf = { 0 }, extra[MAX_EXTRA];
	int nextra = 0, fault = CHAIN_FAULT_NONE, rc, code;
	int64_t now = clock_now();
	char why[600], hp[300];
	struct chain_check c;

	hostport(a, hp, sizeof(hp));
	snprintf(a->rep.tls_version, sizeof(a->rep.tls_version), "%s", tls_version_name(a->ssl));
	snprintf(a->rep.cipher, sizeof(a->rep.cipher), "%s", tls_cipher_name(a->ssl));
	if (wolfSSL_version(a->ssl) < TLS1_2_VERSION) { /* the policy forbids it; never trust it */
		add_check(a, "tls", 0, "%s is below TLS 1.2", a->rep.tls_version);
		finish(a, -RPL_E_LDAP_TLS, "LDAP server %s negotiated %s: TLS 1.2 at least", hp,
		       a->rep.tls_version);
		return -1;
	}
	add_check(a, "tls", 1, "%s with %s (TLS 1.2 at least, ECDHE, AEAD)", a->rep.tls_version,
		  a->rep.cipher);
	if (tls_peer_cert(a->ssl, &leaf) < 0 || leaf.n == 0) {
		add_check(a, "chain", 0, "the server presented no certificate");
		finish(a, -RPL_E_LDAP_UNTRUSTED, "LDAP server %s presented no certificate", hp);
		return -1;
	}
	for (int i = 0, n = chain ? wolfSSL_get_chain_count(chain) : 0; i < n; i++) {
		const uint8_t *der = wolfSSL_get_chain_cert(chain, i);
		int len = wolfSSL_get_chain_length(chain, i);
		if (!der || len <= 0)
			continue;
		report_cert(a, der, (size_t)len);
		/* The leaf is chain[0]; the others may be intermediates. */
		if (i > 0 && nextra < MAX_EXTRA)
			extra[nextra++] = (struct blob){ (uint8_t *)der, (size_t)len };
	}
	if (a->rep.ncerts == 0)
		report_cert(a, leaf.p, leaf.n);
	report_leaf_checks(a, &a->rep.certs[0], leaf.p, leaf.n, now, conf->clockskew);
	c = (struct chain_check){
		.leaf = leaf.p,
		.leaf_len = leaf.n,
		.extra = nextra ? extra : NULL,
		.nextra = nextra,
		.anchors = a->anchors,
		.nanchors = a->nanchors,
		.name = a->url.host,
		.role = CHAIN_ROLE_SERVER,
		.now = now,
		.skew = conf->clockskew,
		.fault = &fault,
	};
	rc = chain_verify(&c, why, sizeof(why));
	blob_free(&leaf);
	if (rc == 0) {
		add_check(
			a, "chain", 1,
			"vouched for by trust anchor %s (purpose ldap): signature path, CA flags, path length, serverAuth, the dates of every certificate",
			a->rep.anchors);
		a->rep.trusted = 1;
		return 0;
	}
	add_check(a, "chain", 0, "%s; anchors: %s", why,
		  a->rep.anchors[0] ? a->rep.anchors : "none");
	if (a->bind_due)
		add_check(a, "bind", 0,
			  "not sent: the certificate was refused, no password left this process");
	code = fault == CHAIN_FAULT_DATES  ? RPL_E_LDAP_CERT_DATES
	       : fault == CHAIN_FAULT_NAME ? RPL_E_LDAP_HOSTNAME
					   : RPL_E_LDAP_UNTRUSTED;
	if (code == RPL_E_LDAP_HOSTNAME)
		finish(a, -code,
		       "the certificate of LDAP server %s (subject %s, fingerprint %s) names %s, not %s: no password was sent",
		       hp, a->rep.certs[0].subject, a->rep.certs[0].fingerprint,
		       a->rep.certs[0].sans[0] ? a->rep.certs[0].sans : "no subjectAltName",
		       a->url.host);
	else if (code == RPL_E_LDAP_CERT_DATES) {
		char nb[32], na[32];
		clock_iso8601(a->rep.certs[0].not_before, nb, sizeof(nb));
		clock_iso8601(a->rep.certs[0].not_after, na, sizeof(na));
		finish(a, -code,
		       "the certificate of LDAP server %s (subject %s, valid from %s until %s, fingerprint %s) is refused: %s: no password was sent",
		       hp, a->rep.certs[0].subject, nb, na, a->rep.certs[0].fingerprint, why);
	} else
		finish(a, -code,
		       "the certificate of LDAP server %s (subject %s, issuer %s, fingerprint %s) is not trusted: %s (anchors: %s): no password was sent",
		       hp, a->rep.certs[0].subject, a->rep.certs[0].issuer,
		       a->rep.certs[0].fingerprint, why,
		       a->rep.anchors[0] ? a->rep.anchors : "none");
	return -1;
}

/* ---- the steps ------------------------------------------------------------------------ */

static void send_bind(struct ldap_attempt *a)
{
	struct wbuf w;
	int rc;

	wbuf_init(&w);
	a->bind_id = ++a->msgid;
	rc = ldap_put_bind(&w, a->bind_id, a->rep.bind_dn, a->password.p, a->password.n);
	if (rc == 0)
		rc = tls_write_all(a, &w);
	wbuf_free(&w); /* wipes the encoded password */
	blob_free(&a->password);
	if (rc < 0) {
		finish(a, rc == -RPL_E_LDAP_EMPTY_PASSWORD ? rc : -RPL_E_LDAP_TLS,
		       "cannot send the bind to LDAP server %s", HP(a));
		return;
	}
	a->rep.bind_sent = 1;
	a->state = ST_BIND;
}

static void on_timeout(uv_timer_t *t);

static void arm_timeout(struct ldap_attempt *a, int seconds)
{
	uv_timer_start(&a->timer, on_timeout, (uint64_t)seconds * 1000, 0);
}

/* TLS over the connection, from the next byte on: peer/tls's client
 * policy, SNI for a host name. */
static void begin_tls(struct ldap_attempt *a)
{
	if (!(a->ssl = wolfSSL_new(a->lc->ctx))) {
		finish(a, -RPL_E_NOMEM, "cannot set up TLS");
		return;
	}
	wolfSSL_SSLSetIORecv(a->ssl, tls_recv);
	wolfSSL_SSLSetIOSend(a->ssl, tls_send);
	wolfSSL_SetIOReadCtx(a->ssl, a);
	wolfSSL_SetIOWriteCtx(a->ssl, a);
	if (!is_ip_literal(a->url.host))
		(void)wolfSSL_UseSNI(a->ssl, WOLFSSL_SNI_HOST_NAME, a->url.host,
				     (unsigned short)strlen(a->url.host));
	a->state = ST_HANDSHAKE;
}

static void step_starttls(struct ldap_attempt *a)
{
	struct ldap_msg m;
	char name[64];

	if (next_message(a, &a->rx_raw, &m, "the answer to StartTLS") <= 0 || disconnection(a, &m))
		return;
	if (m.op != LDAP_OP_EXTENDED_RESPONSE || m.msgid != a->starttls_id) {
		finish(a, -RPL_E_LDAP_PROTOCOL,
		       "LDAP server %s answered StartTLS (message %d) with %s (message %d)", HP(a),
		       a->starttls_id, ldap_op_name(m.op), m.msgid);
		return;
	}
	if (m.result_code != LDAP_RC_SUCCESS) {
		add_check(a, "starttls", 0, "refused: %s%s%s",
			  ldap_result_name(m.result_code, name, sizeof(name)),
			  m.diagnostic[0] ? ": " : "", m.diagnostic);
		if (a->bind_due)
			add_check(a, "bind", 0,
				  "not sent: no TLS, and a password never travels without it");
		finish(a, -RPL_E_LDAP_STARTTLS,
		       "LDAP server %s refused StartTLS: %s%s%s; no password was sent (never without TLS)",
		       HP(a), name, m.diagnostic[0] ? ": " : "", m.diagnostic);
		return;
	}
	if (m.response_name[0] && strcmp(m.response_name, LDAP_OID_STARTTLS) != 0) {
		finish(a, -RPL_E_LDAP_PROTOCOL,
		       "LDAP server %s answered StartTLS with the responseName %s", HP(a),
		       m.response_name);
		return;
	}
	/* Whatever came in clear behind the answer could have been put there
	 * by anyone on the path, to be read as if it came over TLS. */
	if (a->rx_raw.len) {
		finish(a, -RPL_E_LDAP_PROTOCOL,
		       "LDAP server %s sent %zu bytes in clear after accepting StartTLS: refused",
		       HP(a), a->rx_raw.len);
		return;
	}
	add_check(a, "starttls", 1, "accepted");
	begin_tls(a);
}

static void step_handshake(struct ldap_attempt *a)
{
	int rc = wolfSSL_connect(a->ssl), e;
	const struct rpl_conf *conf = &a->lc->in->conf;
	char hp[300];

	if (rc != WOLFSSL_SUCCESS) {
		e = wolfSSL_get_error(a->ssl, rc);
		if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
			return;
		add_check(a, "tls", 0, "handshake failed: %s (%d)",
			  wolfSSL_ERR_reason_error_string((unsigned long)e), e);
		if (a->bind_due)
			add_check(a, "bind", 0, "not sent: no TLS session");
		finish(a, -RPL_E_LDAP_TLS, "TLS handshake with LDAP server %s failed: %s (%d)%s",
		       HP(a), wolfSSL_ERR_reason_error_string((unsigned long)e), e,
		       a->eof ? "; the server closed the connection" : "");
		return;
	}
	a->tls_up = 1;
	if (verify_server(a) < 0)
		return;
	hostport(a, hp, sizeof(hp));
	if (!a->bind_due) {
		finish(a, 0,
		       "LDAP server %s verified: %s, %s, certificate trusted (anchor %s); no bind made (no administrator named)",
		       hp, a->rep.tls_version, a->rep.cipher, a->rep.anchors);
		return;
	}
	send_bind(a);
	if (!a->finished)
		arm_timeout(a, conf->commtimeout);
}

static void step_bind(struct ldap_attempt *a)
{
	struct ldap_msg m;
	char name[64], buf[READ_CHUNK];

	while (a->rx_app.len < RX_LIMIT) {
		int n = wolfSSL_read(a->ssl, buf, sizeof(buf)), e;
		if (n > 0) {
			wbuf_put(&a->rx_app, buf, (size_t)n);
			continue;
		}
		e = wolfSSL_get_error(a->ssl, n);
		if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
			break;
		if (next_message(a, &a->rx_app, &m, "the answer to the bind") != 0)
			goto got; /* a whole message came before the end */
		finish(a, -RPL_E_LDAP_UNAVAILABLE,
		       "LDAP server %s ended the TLS session before answering the bind: %s", HP(a),
		       e == WOLFSSL_ERROR_ZERO_RETURN
			       ? "close_notify"
			       : wolfSSL_ERR_reason_error_string((unsigned long)e));
		return;
	}
	secure_zero(buf, sizeof(buf));
	if (wbuf_status(&a->rx_app) < 0) {
		finish(a, -RPL_E_NOMEM, "reading the answer of LDAP server %s", HP(a));
		return;
	}
	if (next_message(a, &a->rx_app, &m, "the answer to the bind") <= 0) {
		if (!a->finished && a->rx_app.len >= RX_LIMIT)
			finish(a, -RPL_E_LDAP_PROTOCOL,
			       "LDAP server %s sent %zu bytes without a whole message", HP(a),
			       a->rx_app.len);
		return;
	}
got:
	if (a->finished || disconnection(a, &m))
		return;
	if (m.op != LDAP_OP_BIND_RESPONSE || m.msgid != a->bind_id) {
		finish(a, -RPL_E_LDAP_PROTOCOL,
		       "LDAP server %s answered the bind (message %d) with %s (message %d)", HP(a),
		       a->bind_id, ldap_op_name(m.op), m.msgid);
		return;
	}
	a->rep.bind_result = m.result_code;
	snprintf(a->rep.bind_diag, sizeof(a->rep.bind_diag), "%s", m.diagnostic);
	ldap_result_name(m.result_code, name, sizeof(name));
	if (m.result_code == LDAP_RC_SUCCESS) {
		add_check(a, "bind", 1, "bind as %s succeeded", a->rep.bind_dn);
		finish(a, 0, "LDAP server %s accepted the bind as %s (%s, certificate trusted)",
		       HP(a), a->rep.bind_dn, a->rep.tls_version);
	} else {
		add_check(a, "bind", 0, "bind as %s refused: %s%s%s", a->rep.bind_dn, name,
			  m.diagnostic[0] ? ": " : "", m.diagnostic);
		finish(a,
		       m.result_code == LDAP_RC_INVALID_CREDENTIALS ? -RPL_E_LDAP_CREDENTIALS
								    : -RPL_E_LDAP_BIND,
		       "LDAP server %s refused the bind as %s: %s%s%s", HP(a), a->rep.bind_dn, name,
		       m.diagnostic[0] ? ": " : "", m.diagnostic);
	}
}

static void drive(struct ldap_attempt *a)
{
	for (int guard = 0; guard < 16 && !a->finished; guard++) {
		int before = a->state;
		switch (a->state) {
		case ST_STARTTLS: step_starttls(a); break;
		case ST_HANDSHAKE: step_handshake(a); break;
		case ST_BIND: step_bind(a); break;
		default: return;
		}
		if (a->state == before)
			break;
	}
}

static void on_timeout(uv_timer_t *t)
{
	struct ldap_attempt *a = t->data;
	const struct rpl_conf *conf = &a->lc->in->conf;

	if (a->state == ST_BIND)
		finish(a, -RPL_E_LDAP_UNAVAILABLE,
		       "LDAP server %s did not answer the bind within %d seconds (COMMTIMEOUT)",
		       HP(a), conf->commtimeout);
	else
		finish(a, -RPL_E_LDAP_UNAVAILABLE,
		       "LDAP server %s: no verified TLS session within %d seconds (HANDSHAKETIMEOUT)%s%s",
		       HP(a), conf->handshaketimeout, a->last_connect_error[0] ? "; " : "",
		       a->last_connect_error);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)h;
	(void)hint;
	buf->base = malloc(READ_CHUNK);
	buf->len = buf->base ? READ_CHUNK : 0;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct ldap_attempt *a = st->data;

	if (nread > 0 && !a->finished) {
		if (a->rx_raw.len + (size_t)nread > RX_LIMIT) {
			finish(a, -RPL_E_LDAP_PROTOCOL,
			       "LDAP server %s sent more than %d bytes without a whole message",
			       HP(a), RX_LIMIT);
		} else {
			wbuf_put(&a->rx_raw, buf->base, (size_t)nread);
			if (wbuf_status(&a->rx_raw) < 0)
				finish(a, -RPL_E_NOMEM, "reading from LDAP server %s", HP(a));
			else
				drive(a);
		}
	} else if (nread < 0 && !a->finished) {
		a->eof = 1;
		drive(a); /* what came before the end (an alert, a last answer) */
		if (!a->finished)
			finish(a,
			       a->state == ST_HANDSHAKE ? -RPL_E_LDAP_TLS : -RPL_E_LDAP_UNAVAILABLE,
			       "LDAP server %s closed the connection %s%s%s", HP(a),
			       a->state == ST_STARTTLS    ? "before answering StartTLS"
			       : a->state == ST_HANDSHAKE ? "during the TLS handshake"
							  : "before answering the bind",
			       nread == UV_EOF ? "" : ": ",
			       nread == UV_EOF ? "" : uv_strerror((int)nread));
	}
	if (buf->base) {
		secure_zero(buf->base, buf->len);
		free(buf->base);
	}
}

/* ---- connecting ----------------------------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status);

static void address_text(const struct sockaddr_storage *ss, char *buf, size_t sz)
{
	snprintf(buf, sz, "?");
	if (ss->ss_family == AF_INET)
		uv_ip4_name((const struct sockaddr_in *)ss, buf, sz);
	else if (ss->ss_family == AF_INET6)
		uv_ip6_name((const struct sockaddr_in6 *)ss, buf, sz);
}

static void on_retry_closed(uv_handle_t *h)
{
	struct ldap_attempt *a = h->data;

	if (a->finished) {
		attempt_unref(a);
		return;
	}
	uv_tcp_init(a->lc->loop, &a->tcp);
	a->tcp.data = a;
	connect_next(a);
}

static void connect_failed(struct ldap_attempt *a, int status)
{
	char addr[64];

	address_text(&a->addrs[a->next_addr - 1], addr, sizeof(addr));
	snprintf(a->last_connect_error, sizeof(a->last_connect_error), "%s: %s", addr,
		 uv_strerror(status));
	if (a->next_addr < a->naddrs) {
		/* A socket whose connect failed is not reused: a fresh one. */
		uv_close((uv_handle_t *)&a->tcp, on_retry_closed);
		return;
	}
	finish(a, -RPL_E_LDAP_UNAVAILABLE, "cannot connect to LDAP server %s (%s)", HP(a),
	       a->last_connect_error);
}

static void connect_next(struct ldap_attempt *a)
{
	int rc;

	a->state = ST_CONNECTING;
	a->connect_req.data = a;
	rc = uv_tcp_connect(&a->connect_req, &a->tcp,
			    (const struct sockaddr *)&a->addrs[a->next_addr++], on_connect);
	if (rc < 0)
		connect_failed(a, rc);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct ldap_attempt *a = req->data;
	struct wbuf w;
	int rc;

	if (a->finished)
		return;
	if (status < 0) {
		connect_failed(a, status);
		return;
	}
	a->connected = 1;
	address_text(&a->addrs[a->next_addr - 1], a->rep.address, sizeof(a->rep.address));
	if (uv_read_start((uv_stream_t *)&a->tcp, on_alloc, on_read) < 0) {
		finish(a, -RPL_E_LDAP_UNAVAILABLE, "cannot read from LDAP server %s", HP(a));
		return;
	}
	a->reading = 1;
	if (!a->url.starttls) { /* ldaps://: TLS from the first byte */
		begin_tls(a);
		drive(a);
		return;
	}
	wbuf_init(&w);
	a->starttls_id = ++a->msgid;
	rc = ldap_put_starttls(&w, a->starttls_id);
	if (rc == 0)
		rc = raw_write(a, w.p, w.len);
	wbuf_free(&w);
	if (rc < 0) {
		finish(a, -RPL_E_LDAP_UNAVAILABLE, "cannot send StartTLS to LDAP server %s", HP(a));
		return;
	}
	a->state = ST_STARTTLS;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
	struct ldap_attempt *a = req->data;

	a->resolving = 0;
	if (!a->finished) {
		if (status < 0 || !ai) {
			finish(a, -RPL_E_LDAP_UNAVAILABLE,
			       "cannot resolve the host of LDAP server %s: %s", HP(a),
			       uv_strerror(status));
		} else {
			for (struct addrinfo *p = ai; p && a->naddrs < MAX_ADDRS; p = p->ai_next) {
				if (p->ai_family != AF_INET && p->ai_family != AF_INET6)
					continue;
				memcpy(&a->addrs[a->naddrs++], p->ai_addr, p->ai_addrlen);
			}
			if (a->naddrs)
				connect_next(a);
			else
				finish(a, -RPL_E_LDAP_UNAVAILABLE,
				       "the host of LDAP server %s has no IP address", HP(a));
		}
	}
	uv_freeaddrinfo(ai);
	attempt_unref(a);
}

static void start_connect(struct ldap_attempt *a)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
	char port[8];
	int rc;

	if (uv_ip4_addr(a->url.host, a->url.port, (struct sockaddr_in *)&a->addrs[0]) == 0 ||
	    uv_ip6_addr(a->url.host, a->url.port, (struct sockaddr_in6 *)&a->addrs[0]) == 0) {
		a->naddrs = 1;
		connect_next(a);
		return;
	}
	/* Host names resolve on the thread pool, never on the loop. */
	snprintf(port, sizeof(port), "%d", a->url.port);
	a->state = ST_RESOLVING;
	a->resolve_req.data = a;
	a->refs++;
	a->resolving = 1;
	rc = uv_getaddrinfo(a->lc->loop, &a->resolve_req, on_resolved, a->url.host, port, &hints);
	if (rc < 0) {
		a->resolving = 0;
		a->refs--;
		finish(a, -RPL_E_LDAP_UNAVAILABLE, "cannot resolve the host of LDAP server %s: %s",
		       HP(a), uv_strerror(rc));
	}
}

/* ---- starting an attempt ---------------------------------------------------------------- */

static int start_attempt(struct ldap_client *lc, int test, const char *admin, const char *password,
			 ldap_done_fn *done, void *arg)
{
	const struct rpl_conf *conf = &lc->in->conf;
	struct ldap_attempt *a;
	char err[300];
	int rc;

	if (lc->halting)
		return -RPL_E_HALTING;
	if (admin && (!*admin || strlen(admin) > LDAP_ADMIN_MAX))
		return -RPL_E_BADARG;
	if (password && strlen(password) > LDAP_PASSWORD_MAX)
		return -RPL_E_BADARG;
	if (!(a = calloc(1, sizeof(*a))))
		return -RPL_E_NOMEM;
	a->lc = lc;
	a->test = test;
	a->done = done;
	a->arg = arg;
	a->started_ms = clock_mono_ms();
	a->rep.bind_result = -1;
	wbuf_init(&a->rx_raw);
	wbuf_init(&a->rx_app);
	if (password && blob_set(&a->password, password, strlen(password)) < 0) {
		free(a);
		return -RPL_E_NOMEM;
	}
	uv_tcp_init(lc->loop, &a->tcp);
	uv_timer_init(lc->loop, &a->timer);
	a->tcp.data = a->timer.data = a;
	a->refs = 2;
	a->next = lc->attempts;
	lc->attempts = a;
	/* From here on every outcome is reported through done. */
	snprintf(a->rep.url, sizeof(a->rep.url), "%s", conf->ldapurl);
	if (admin)
		snprintf(a->rep.admin, sizeof(a->rep.admin), "%s", admin);
	if (!conf->ldapurl[0]) {
		finish(a, -RPL_E_LDAP_NOT_CONFIGURED, "LDAPURL is not set");
		return 0;
	}
	if ((rc = ldap_url_parse(conf->ldapurl, &a->url, err, sizeof(err))) < 0) {
		finish(a, rc, "LDAPURL: %s", err);
		return 0;
	}
	snprintf(a->rep.host, sizeof(a->rep.host), "%s", a->url.host);
	a->rep.port = a->url.port;
	a->rep.starttls = a->url.starttls;
	add_check(a, "url", 1, "%s://%s (%s)", a->url.starttls ? "ldap" : "ldaps", HP(a),
		  a->url.starttls ? "StartTLS, mandatory" : "TLS from the first byte");
	if (admin) {
		if (!conf->ldapuserdn[0]) {
			finish(a, -RPL_E_LDAP_NOT_CONFIGURED, "LDAPUSERDN is not set");
			return 0;
		}
		if ((rc = ldap_user_dn(conf->ldapuserdn, admin, a->rep.bind_dn,
				       sizeof(a->rep.bind_dn))) < 0) {
			finish(a, rc == -RPL_E_BADARG ? -RPL_E_LDAP_USERDN : rc,
			       "no DN for administrator %s from LDAPUSERDN %s", admin,
			       conf->ldapuserdn);
			return 0;
		}
		if (a->password.n == 0) {
			finish(a, -RPL_E_LDAP_EMPTY_PASSWORD,
			       "no bind as %s: the password is empty", a->rep.bind_dn);
			return 0;
		}
		a->bind_due = 1;
		if (!test) {
			if ((rc = cache_key(lc, admin, &a->password, a->cache_key)) < 0) {
				finish(a, rc, "cannot key the LDAP cache");
				return 0;
			}
			a->cacheable = 1;
			if (conf->ldapcacheseconds > 0 && cache_hit(lc, admin, a->cache_key)) {
				a->rep.cached = 1;
				finish(a, 0,
				       "password of administrator %s accepted from the cache (a bind as %s succeeded within LDAPCACHESECONDS %d)",
				       admin, a->rep.bind_dn, conf->ldapcacheseconds);
				return 0;
			}
		}
	}
	if ((rc = load_anchors(a)) < 0) {
		finish(a, rc, "reading the trust anchors");
		return 0;
	}
	arm_timeout(a, conf->handshaketimeout);
	start_connect(a);
	return 0;
}

int ldap_check(struct ldap_client *lc, const char *admin, const char *password, ldap_done_fn *done,
	       void *arg)
{
	if (!admin || !password)
		return -RPL_E_BADARG;
	return start_attempt(lc, 0, admin, password, done, arg);
}

int ldap_test(struct ldap_client *lc, const char *admin, const char *password, ldap_done_fn *done,
	      void *arg)
{
	if (admin && !password)
		return -RPL_E_BADARG;
	return start_attempt(lc, 1, admin, admin ? password : NULL, done, arg);
}

/* ---- the client ----------------------------------------------------------------------- */

int ldap_client_new(uv_loop_t *loop, struct instance *in, struct ldap_client **out)
{
	struct ldap_client *lc = calloc(1, sizeof(*lc));

	*out = NULL;
	if (!lc)
		return -RPL_E_NOMEM;
	lc->loop = loop;
	lc->in = in;
	if (secure_random(lc->salt, sizeof(lc->salt)) < 0) {
		free(lc);
		return -RPL_E_CRYPTO;
	}
	if (!(lc->ctx = tls_client_ctx_new(in->conf.ssltls13))) {
		secure_zero(lc, sizeof(*lc));
		free(lc);
		return -RPL_E_TLS;
	}
	uv_timer_init(loop, &lc->cache_timer);
	lc->cache_timer.data = lc;
	uv_unref((uv_handle_t *)&lc->cache_timer);
	lc->cache_timer_open = 1;
	*out = lc;
	return 0;
}

void ldap_client_halt(struct ldap_client *lc)
{
	if (!lc || lc->halting)
		return;
	lc->halting = 1;
	for (struct ldap_attempt *a = lc->attempts; a; a = a->next) {
		finish(a, -RPL_E_HALTING, "the server is halting");
		close_handles(a); /* no grace: the loop is about to end */
	}
	ldap_cache_clear(lc);
	if (lc->cache_timer_open) {
		uv_close((uv_handle_t *)&lc->cache_timer, NULL);
		lc->cache_timer_open = 0;
	}
}

void ldap_client_free(struct ldap_client *lc)
{
	if (!lc)
		return;
	if (lc->ctx)
		wolfSSL_CTX_free(lc->ctx);
	secure_zero(lc, sizeof(*lc));
	free(lc);
}
