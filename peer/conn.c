#include "conn.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../store/actlog.h"
#include "../store/server.h"
#include "../sync/talk.h"
#include "../util/clock.h"
#include "../util/escape.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "auth.h"
#include "legacy.h"
#include "proto.h"

/* Bytes buffered while a pool job runs or a frame is incomplete; beyond
 * this the partner is flooding and the session ends. */
#define RX_LIMIT (2 * FRAME_MAX + 65536)
#define READ_CHUNK 65536

const char *verified_by_name(int vb)
{
	static const char *names[] = {"none", "pin", "ca", "first-contact", "continuity"};
	return vb >= 0 && vb <= VB_CONTINUITY ? names[vb] : "none";
}

static void conn_drive(struct conn *c);
static void start_timer(struct conn *c, int seconds);

static const char *role_name(const struct conn *c)
{
	return c->role == ROLE_INBOUND ? "inbound" : "outbound";
}

static struct conn *conn_new(struct daemon *d, int role)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->d = d;
	c->role = role;
	c->id = ++d->next_id;
	c->refs = 1; /* released when the handles are closed */
	c->started = clock_now();
	c->started_ms = clock_mono_ms();
	wbuf_init(&c->rx_raw);
	wbuf_init(&c->rx_app);
	uv_tcp_init(d->loop, &c->tcp);
	uv_timer_init(d->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->open_handles = 2;
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->nsessions++;
	return c;
}

static void conn_free(struct conn *c)
{
	struct daemon *d = c->d;

	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	d->nsessions--;
	auth_free(c);
	legacy_free(c);
	talk_free(c);
	if (c->ssl)
		wolfSSL_free(c->ssl);
	wbuf_free(&c->rx_raw);
	wbuf_free(&c->rx_app);
	blob_free(&c->peer_der);
	free(c);
}

void conn_ref(struct conn *c) { c->refs++; }

void conn_unref(struct conn *c)
{
	if (--c->refs == 0)
		conn_free(c);
}

int conn_closing(const struct conn *c) { return c->state == CS_CLOSING; }

void conn_pause(struct conn *c) { c->paused = 1; }

void conn_resume(struct conn *c)
{
	c->paused = 0;
	if (!conn_closing(c))
		conn_drive(c);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->open_handles == 0)
		conn_unref(c);
}

static void close_handles(struct conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	if (!uv_is_closing((uv_handle_t *)&c->timer))
		uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	close_handles(req->data);
}

struct write_req {
	uv_write_t req;
	struct conn *c;
	uint8_t data[];
};

static void on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	if (status < 0 && !conn_closing(w->c))
		conn_close(w->c, -RPL_E_CLOSED, "write failed: %s", uv_strerror(status));
	conn_unref(w->c);
	free(w);
}

static int raw_write(struct conn *c, const void *p, size_t n)
{
	struct write_req *w;
	uv_buf_t b;
	int rc;

	if (uv_is_closing((uv_handle_t *)&c->tcp))
		return -RPL_E_CLOSED;
	w = malloc(sizeof(*w) + n);
	if (!w)
		return -RPL_E_NOMEM;
	memcpy(w->data, p, n);
	w->c = c;
	b = uv_buf_init((char *)w->data, (unsigned)n);
	conn_ref(c);
	rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (rc < 0) {
		conn_unref(c);
		free(w);
		return -RPL_E_CLOSED;
	}
	c->bytes_out += n;
	return 0;
}

/* wolfSSL pulls ciphertext from rx_raw... */
static int tls_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct conn *c = ctx;
	size_t n;
	(void)ssl;

	if (c->rx_raw.len == 0)
		return conn_closing(c) ? WOLFSSL_CBIO_ERR_CONN_CLOSE
				       : WOLFSSL_CBIO_ERR_WANT_READ;
	/* A down-level server answers our ClientHello with its marker. */
	if (c->role == ROLE_OUTBOUND && c->state == CS_HANDSHAKE &&
	    c->rx_raw.len >= 4 && memcmp(c->rx_raw.p, LEGACY_MAGIC, 4) == 0) {
		c->legacy_fallback = 1;
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	}
	n = c->rx_raw.len < (size_t)sz ? c->rx_raw.len : (size_t)sz;
	memcpy(buf, c->rx_raw.p, n);
	wbuf_consume(&c->rx_raw, n);
	return (int)n;
}

/* ...and pushes ciphertext straight to the socket. */
static int tls_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct conn *c = ctx;
	(void)ssl;
	if (raw_write(c, buf, (size_t)sz) < 0)
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	return sz;
}

static int make_ssl(struct conn *c)
{
	struct daemon *d = c->d;
	int rc;

	if ((rc = daemon_refresh_identity(d)) < 0)
		return rc;
	c->ssl = wolfSSL_new(c->role == ROLE_INBOUND ? d->tls.server : d->tls.client);
	if (!c->ssl)
		return -RPL_E_TLS;
	wolfSSL_SSLSetIORecv(c->ssl, tls_recv);
	wolfSSL_SSLSetIOSend(c->ssl, tls_send);
	wolfSSL_SetIOReadCtx(c->ssl, c);
	wolfSSL_SetIOWriteCtx(c->ssl, c);
	memcpy(c->own_fp, d->own_fp, sizeof(c->own_fp));
	snprintf(c->own_label, sizeof(c->own_label), "%s", d->own.label);
	return tls_use_identity(c->ssl, &d->own);
}

static void on_timeout(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->state == CS_READY)
		conn_close(c, -RPL_E_TIMEOUT, "idle for %d seconds (COMMTIMEOUT)",
			   c->d->in.conf.commtimeout);
	else
		conn_close(c, -RPL_E_TIMEOUT, "not authenticated within %d seconds (HANDSHAKETIMEOUT)",
			   c->d->in.conf.handshaketimeout);
}

static void start_timer(struct conn *c, int seconds)
{
	uv_timer_start(&c->timer, on_timeout, (uint64_t)seconds * 1000, 0);
}

void conn_ready(struct conn *c)
{
	c->state = CS_READY;
	start_timer(c, c->d->in.conf.commtimeout);
}

int conn_send(struct conn *c, int type, const struct wbuf *payload)
{
	size_t plen = payload ? payload->len : 0;
	struct wbuf f;
	int rc;

	if (conn_closing(c))
		return -RPL_E_CLOSED;
	if (plen + 1 > FRAME_MAX)
		return -RPL_E_BADARG;
	wbuf_init(&f);
	wbuf_put_u32(&f, (uint32_t)(plen + 1));
	wbuf_put_u8(&f, (uint8_t)type);
	if (plen)
		wbuf_put(&f, payload->p, plen);
	rc = wbuf_status(&f);
	if (rc == 0 && c->proto == 2) {
		size_t off = 0;
		while (off < f.len && rc == 0) {
			int w = wolfSSL_write(c->ssl, f.p + off, (int)(f.len - off));
			if (w <= 0)
				rc = -RPL_E_TLS;
			else
				off += (size_t)w;
		}
	} else if (rc == 0) {
		rc = raw_write(c, f.p, f.len);
	}
	wbuf_free(&f);
	return rc;
}

int conn_send_field(struct conn *c, int type, int field, const void *p, size_t n)
{
	struct wbuf w;
	int rc;

	wbuf_init(&w);
	tlv_put(&w, (uint16_t)field, p, n);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send(c, type, &w);
	wbuf_free(&w);
	return rc;
}

void conn_send_error(struct conn *c, int code, const char *text)
{
	struct wbuf w;
	wbuf_init(&w);
	tlv_put_str(&w, F_MSGID, rpl_msg_id(code));
	tlv_put_str(&w, F_TEXT, text ? text : rpl_msg_text(code));
	if (wbuf_status(&w) == 0)
		(void)conn_send(c, MSG_ERROR, &w);
	wbuf_free(&w);
}

static const char *proto_word(const struct conn *c)
{
	return c->proto == 1 ? "down-level " : "";
}

void conn_refuse(struct conn *c, int code, const char *text)
{
	struct daemon *d = c->d;
	MDB_txn *txn;

	conn_send_error(c, code, text);
	if (store_begin(&d->in.store, 1, &txn) == 0) {
		if (store_actlog_add(txn, &d->in.store, RPL_W_REFUSED,
				     "%ssession from %s (%s) refused: %s %s", proto_word(c),
				     c->server[0] ? c->server : "?", c->addr, rpl_msg_id(code),
				     text) == 0)
			store_commit(txn);
		else
			store_abort(txn);
	}
	conn_close(c, -code, "%s", text);
}

int conn_admit(struct conn *c, const char *from, const char *to,
	       MDB_txn **txn, struct server_rec *r)
{
	struct daemon *d = c->d;
	MDB_txn *t;
	char why[256];
	int rc;

	snprintf(c->server, sizeof(c->server), "%s", from);
	if (strcasecmp(to, d->in.conf.servername) != 0) {
		snprintf(why, sizeof(why), "this is server %s, not %s", d->in.conf.servername, ESC(to));
		conn_refuse(c, RPL_E_NAME_MISMATCH, why);
		return 1;
	}
	if (rl_blocked(&d->rl, c->addr, clock_now())) {
		snprintf(why, sizeof(why), "%d failed sign-ons from %s within %d seconds",
			 RL_MAX_FAILS, c->addr, RL_WINDOW);
		log_warn(RPL_E_RATELIMIT, "%sserver %s from %s refused without a password proof: %s",
			 proto_word(c), from, c->addr, why);
		conn_refuse(c, RPL_E_RATELIMIT, why);
		return 1;
	}
	if ((rc = store_begin(&d->in.store, 0, &t)) < 0)
		return rc;
	rc = store_server_get(t, &d->in.store, from, r);
	if (rc < 0 || !txn)
		store_abort(t);
	if (rc == -RPL_E_NOTFOUND) {
		snprintf(why, sizeof(why), "server %s is not defined on %s", from, d->in.conf.servername);
		conn_refuse(c, RPL_E_UNKNOWN_SERVER, why);
		return 1;
	}
	if (rc < 0)
		return rc;
	if (txn)
		*txn = t;
	snprintf(c->server, sizeof(c->server), "%s", r->name);
	return 0;
}

int conn_on_error_frame(struct conn *c, struct cursor *p)
{
	char id[16] = "", text[512] = "";
	struct cursor cur = *p, val;
	uint16_t tag;
	int code = RPL_E_PARTNER_REFUSED;

	while (tlv_next(&cur, &tag, &val) > 0) {
		if (tag == F_MSGID)
			(void)tlv_get_str(&val, id, sizeof(id));
		else if (tag == F_TEXT)
			(void)tlv_get_str(&val, text, sizeof(text));
	}
	for (int i = 1; i < RPL_MSG_COUNT; i++)
		if (strcmp(rpl_msg_id(i), id) == 0)
			code = i;
	conn_close(c, -code, "partner %s says: %s %s", c->server[0] ? c->server : c->addr, ESC(id), ESC(text));
	return code;
}

void conn_record_failure(struct conn *c, const char *detail)
{
	struct daemon *d = c->d;
	struct server_rec r;
	MDB_txn *txn;

	if (c->role == ROLE_INBOUND)
		rl_fail(&d->rl, c->addr, clock_now());
	log_warn(RPL_W_AUTH_FAILED, "%ssign-on %s server %s (%s) failed: %s", proto_word(c),
		 c->role == ROLE_INBOUND ? "from" : "to", c->server, c->addr, detail);
	if (store_begin(&d->in.store, 1, &txn) < 0)
		return;
	if (store_server_get(txn, &d->in.store, c->server, &r) == 0) {
		r.failed_signons++;
		r.last_failure = clock_now();
		(void)store_server_put(txn, &d->in.store, &r);
		server_rec_free(&r);
	}
	if (store_actlog_add(txn, &d->in.store, RPL_W_AUTH_FAILED,
			     "%ssign-on %s server %s from address %s failed: %s", proto_word(c),
			     c->role == ROLE_INBOUND ? "by" : "to", c->server, c->addr, detail) == 0)
		store_commit(txn);
	else
		store_abort(txn);
}

static void report_done(struct conn *c)
{
	void (*done)(struct conn *, void *) = c->done;
	if (!done)
		return;
	c->done = NULL;
	done(c, c->done_arg);
}

/* An outbound TLS attempt met a down-level server. Falling back to
 * protocol 1 hands a password response to whoever answered, so it happens
 * only when ALLOWLEGACY is YES, the partner is TRANSITIONAL here, and it has
 * already been seen speaking protocol 1 (it connected to us that way, or an
 * earlier fallback succeeded). A forged "RPL1-ONLY" can therefore never
 * turn a first contact into an offline password attack. */
static int try_legacy_fallback(struct conn *c)
{
	struct server_rec r;
	MDB_txn *txn;
	int rc, allowed;

	if (c->role != ROLE_OUTBOUND || !c->legacy_fallback || !c->done)
		return 0;
	if (!c->d->in.conf.allowlegacy) {
		snprintf(c->result.message, sizeof(c->result.message),
			 "server %s answered as a down-level (protocol 1) server; ALLOWLEGACY is NO here",
			 c->server);
		log_warn(RPL_E_LEGACY_ONLY, "%s", c->result.message);
		return 0;
	}
	if (store_begin(&c->d->in.store, 0, &txn) < 0)
		return 0;
	rc = store_server_get(txn, &c->d->in.store, c->server, &r);
	store_abort(txn);
	if (rc < 0)
		return 0;
	allowed = r.secsec == SECSEC_TRANSITIONAL && r.last_protocol == 1;
	if (!allowed)
		snprintf(c->result.message, sizeof(c->result.message),
			 "server %s answered as a down-level (protocol 1) server, but it is %s and %s; "
			 "no fallback (a forged answer must not obtain a password response)",
			 r.name, secsec_name(r.secsec),
			 r.last_protocol == 1 ? "has spoken protocol 1 before" : "has never spoken protocol 1 with us");
	server_rec_free(&r);
	if (!allowed) {
		log_warn(RPL_E_LEGACY_ONLY, "%s", c->result.message);
		return 0;
	}
	log_info(RPL_I_LEGACY, "server %s speaks only protocol 1 and is TRANSITIONAL: retrying down-level", c->server);
	if (conn_connect(c->d, c->server, c->purpose, 1, c->done, c->done_arg) == 0) {
		c->done = NULL;
		return 1;
	}
	return 0;
}

void conn_close(struct conn *c, int err, const char *fmt, ...)
{
	char text[768] = "";
	va_list ap;

	if (conn_closing(c))
		return;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
	}
	if (err == -RPL_E_TLS && c->legacy_fallback)
		err = -RPL_E_LEGACY_ONLY;
	if (err) {
		c->result.ok = 0;
		c->result.err = err;
		snprintf(c->result.message, sizeof(c->result.message), "%s",
			 text[0] ? text : rpl_msg_text(err));
		log_warn(err, "session %llu %s %s%s%s (%s): %s", (unsigned long long)c->id,
			 role_name(c), c->server[0] ? "server " : "", c->server,
			 c->server[0] ? "" : "connection", c->addr, c->result.message);
	} else {
		c->result.ok = 1;
		log_debug(RPL_I_SESSION_END, "session %llu %s %s ended", (unsigned long long)c->id,
			  role_name(c), c->server);
	}
	c->state = CS_CLOSING;
	uv_timer_stop(&c->timer);
	if (!(err == -RPL_E_LEGACY_ONLY && try_legacy_fallback(c)))
		report_done(c);
	if (c->ssl && err == 0)
		wolfSSL_shutdown(c->ssl); /* close_notify */
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->shutdown_req.data = c;
	if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
		close_handles(c);
}

static int frame_dispatch(struct conn *c, int type, struct cursor *payload)
{
	if (c->state == CS_READY)
		return talk_on_frame(c, type, payload);
	if (c->proto == 1)
		return legacy_on_frame(c, type, payload);
	return auth_on_frame(c, type, payload);
}

/* Handles every complete frame in rx_app; stops when paused or closing. */
static void dispatch_frames(struct conn *c)
{
	while (!c->paused && !conn_closing(c) && c->rx_app.len >= FRAME_HDR) {
		struct cursor cur, payload;
		uint32_t len;
		uint8_t type;
		int rc;

		cur_init(&cur, c->rx_app.p, c->rx_app.len);
		(void)cur_u32(&cur, &len);
		if (len == 0 || len > FRAME_MAX) {
			conn_close(c, -RPL_E_PROTOCOL, "frame length %u outside 1..%u", len, FRAME_MAX);
			return;
		}
		if (c->rx_app.len - 4 < len)
			return; /* wait for the rest */
		(void)cur_u8(&cur, &type);
		cur_init(&payload, c->rx_app.p + FRAME_HDR, len - 1);
		rc = frame_dispatch(c, type, &payload);
		wbuf_consume(&c->rx_app, 4 + (size_t)len);
		if (rc < 0 && !conn_closing(c))
			conn_close(c, rc, "while handling message %u", type);
	}
}

static void tls_read_app(struct conn *c)
{
	char buf[16384];
	for (;;) {
		int n = wolfSSL_read(c->ssl, buf, sizeof(buf));
		if (n > 0) {
			if (c->rx_app.len + (size_t)n > RX_LIMIT) {
				conn_close(c, -RPL_E_PROTOCOL, "partner sends faster than it may");
				return;
			}
			wbuf_put(&c->rx_app, buf, (size_t)n);
			continue;
		}
		int e = wolfSSL_get_error(c->ssl, n);
		if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
			return;
		if (e == WOLFSSL_ERROR_ZERO_RETURN)
			conn_close(c, c->state == CS_READY && c->role == ROLE_INBOUND ? 0 : -RPL_E_CLOSED,
				   "partner sent close_notify");
		else
			conn_close(c, -RPL_E_TLS, "%s", wolfSSL_ERR_reason_error_string((unsigned long)e));
		return;
	}
}

static void handshake_done(struct conn *c)
{
	c->proto = 2;
	c->state = CS_AUTH;
	if (c->role == ROLE_OUTBOUND)
		auth_client_start(c);
	else
		auth_server_start(c);
}

/* Tells TLS from protocol 1 by the first bytes: a TLS record starts with
 * 0x16 0x03 0x01..0x04, protocol 1 with "RPL1". Anything else is closed. */
static void sniff(struct conn *c)
{
	const uint8_t *p = c->rx_raw.p;
	size_t n = c->rx_raw.len;

	if (n == 0)
		return;
	if (p[0] == 0x16) {
		if (n < 3)
			return;
		if (p[1] != 3 || p[2] < 1 || p[2] > 4) {
			conn_close(c, -RPL_E_PROTOCOL, "not a TLS record");
			return;
		}
		if (c->d->in.conf.protocollevel == 1) {
			raw_write(c, LEGACY_ONLY_REPLY, strlen(LEGACY_ONLY_REPLY));
			conn_close(c, -RPL_E_PROTOCOL, "TLS offered, but PROTOCOLLEVEL is 1");
			return;
		}
		int rc = make_ssl(c);
		if (rc < 0) {
			conn_close(c, rc, "cannot set up TLS");
			return;
		}
		c->state = CS_HANDSHAKE;
		return;
	}
	if (n < 4) {
		if (memcmp(p, LEGACY_MAGIC, n) != 0)
			conn_close(c, -RPL_E_PROTOCOL, "neither a TLS ClientHello nor protocol 1");
		return;
	}
	if (memcmp(p, LEGACY_MAGIC, 4) != 0) {
		conn_close(c, -RPL_E_PROTOCOL, "neither a TLS ClientHello nor protocol 1");
		return;
	}
	wbuf_consume(&c->rx_raw, 4);
	c->proto = 1;
	c->state = CS_AUTH;
	legacy_server_start(c);
}

static void conn_drive(struct conn *c)
{
	int guard = 0;

	while (!c->paused && !conn_closing(c) && guard++ < 64) {
		int before = c->state, rc, e;

		switch (c->state) {
		case CS_SNIFF:
			sniff(c);
			break;
		case CS_HANDSHAKE:
			rc = c->role == ROLE_INBOUND ? wolfSSL_accept(c->ssl)
						     : wolfSSL_connect(c->ssl);
			if (rc == WOLFSSL_SUCCESS) {
				handshake_done(c);
				break;
			}
			e = wolfSSL_get_error(c->ssl, rc);
			if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
				return;
			conn_close(c, -RPL_E_TLS, "%s (%d)",
				   wolfSSL_ERR_reason_error_string((unsigned long)e), e);
			return;
		case CS_AUTH:
		case CS_READY:
			if (c->proto == 2) {
				tls_read_app(c);
			} else if (c->rx_raw.len) {
				if (c->rx_app.len + c->rx_raw.len > RX_LIMIT) {
					conn_close(c, -RPL_E_PROTOCOL, "partner sends faster than it may");
					return;
				}
				wbuf_put(&c->rx_app, c->rx_raw.p, c->rx_raw.len);
				wbuf_reset(&c->rx_raw);
			}
			if (conn_closing(c))
				return;
			dispatch_frames(c);
			if (c->state == before)
				return;
			break;
		default:
			return;
		}
		if (c->state == before)
			return;
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)h;
	(void)hint;
	buf->base = malloc(READ_CHUNK);
	buf->len = buf->base ? READ_CHUNK : 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	if (nread > 0 && !conn_closing(c)) {
		c->bytes_in += (uint64_t)nread;
		if (c->rx_raw.len + (size_t)nread > RX_LIMIT)
			conn_close(c, -RPL_E_PROTOCOL, "partner sends faster than it may");
		else {
			wbuf_put(&c->rx_raw, buf->base, (size_t)nread);
			if (c->state == CS_READY)
				start_timer(c, c->d->in.conf.commtimeout);
			conn_drive(c);
		}
	} else if (nread < 0 && !conn_closing(c)) {
		if (nread == UV_EOF && c->state == CS_READY && c->role == ROLE_INBOUND)
			conn_close(c, 0, NULL);
		else if (nread == UV_EOF && c->legacy_fallback)
			conn_close(c, -RPL_E_LEGACY_ONLY, "%s", c->server);
		else
			conn_close(c, -RPL_E_CLOSED, "%s",
				   nread == UV_EOF ? "connection closed" : uv_strerror((int)nread));
	}
	free(buf->base);
}

static void peer_address(struct conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	snprintf(c->addr, sizeof(c->addr), "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET)
		uv_ip4_name((struct sockaddr_in *)&ss, c->addr, sizeof(c->addr));
	else if (ss.ss_family == AF_INET6)
		uv_ip6_name((struct sockaddr_in6 *)&ss, c->addr, sizeof(c->addr));
}

void conn_accept(struct daemon *d, uv_stream_t *server)
{
	struct conn *c = conn_new(d, ROLE_INBOUND);

	if (!c)
		return;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		c->state = CS_CLOSING;
		close_handles(c);
		return;
	}
	peer_address(c);
	if (d->halting) {
		conn_close(c, -RPL_E_HALTING, NULL);
		return;
	}
	if (d->nsessions > d->in.conf.maxsessions) {
		conn_close(c, -RPL_E_MAXSESSIONS, "MAXSESSIONS %d reached", d->in.conf.maxsessions);
		return;
	}
	c->state = CS_SNIFF;
	start_timer(c, d->in.conf.handshaketimeout);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct conn *c = req->data;
	int rc;

	if (conn_closing(c))
		return;
	if (status < 0) {
		conn_close(c, -RPL_E_CONNECT, "%s", uv_strerror(status));
		return;
	}
	peer_address(c);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	if (c->proto == 1) {
		raw_write(c, LEGACY_MAGIC, 4);
		c->state = CS_AUTH;
		legacy_client_start(c);
		return;
	}
	if ((rc = make_ssl(c)) < 0) {
		conn_close(c, rc, "cannot set up TLS");
		return;
	}
	c->state = CS_HANDSHAKE;
	conn_drive(c);
}

static void start_connect(struct conn *c, const struct sockaddr *sa)
{
	int rc = uv_tcp_connect(&c->connect_req, &c->tcp, sa, on_connect);
	if (rc < 0)
		conn_close(c, -RPL_E_CONNECT, "%s", uv_strerror(rc));
}

/* Host names resolve on the libuv thread pool, never on the loop. */
static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
	struct conn *c = req->data;

	if (!conn_closing(c)) {
		if (status < 0 || !ai)
			conn_close(c, -RPL_E_CONNECT, "cannot resolve the server's HLADDRESS: %s",
				   uv_strerror(status));
		else
			start_connect(c, ai->ai_addr);
	}
	uv_freeaddrinfo(ai);
	conn_unref(c);
}

int conn_connect(struct daemon *d, const char *server, int purpose, int proto,
		 void (*done)(struct conn *c, void *arg), void *arg)
{
	struct sockaddr_storage sa;
	struct server_rec r;
	struct conn *c;
	MDB_txn *txn;
	int rc, numeric;

	if (d->halting)
		return -RPL_E_HALTING;
	if (d->nsessions >= d->in.conf.maxsessions)
		return -RPL_E_MAXSESSIONS;
	if ((rc = store_begin(&d->in.store, 0, &txn)) < 0)
		return rc;
	rc = store_server_get(txn, &d->in.store, server, &r);
	store_abort(txn);
	if (rc < 0)
		return rc == -RPL_E_NOTFOUND ? -RPL_E_UNKNOWN_SERVER : rc;
	memset(&sa, 0, sizeof(sa));
	numeric = uv_ip4_addr(r.hladdress, r.lladdress, (struct sockaddr_in *)&sa) == 0 ||
		  uv_ip6_addr(r.hladdress, r.lladdress, (struct sockaddr_in6 *)&sa) == 0;
	c = conn_new(d, ROLE_OUTBOUND);
	if (!c) {
		server_rec_free(&r);
		return -RPL_E_NOMEM;
	}
	snprintf(c->server, sizeof(c->server), "%s", r.name);
	c->purpose = purpose;
	c->proto = d->in.conf.protocollevel == 1 ? 1 : proto;
	c->done = done;
	c->done_arg = arg;
	c->state = CS_CONNECTING;
	c->connect_req.data = c;
	start_timer(c, d->in.conf.handshaketimeout);
	if (numeric) {
		start_connect(c, (struct sockaddr *)&sa);
	} else {
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
		char port[8];
		snprintf(port, sizeof(port), "%d", r.lladdress);
		c->resolve_req.data = c;
		conn_ref(c);
		rc = uv_getaddrinfo(d->loop, &c->resolve_req, on_resolved, r.hladdress, port, &hints);
		if (rc < 0) {
			conn_unref(c);
			conn_close(c, -RPL_E_CONNECT, "cannot resolve %s: %s", r.hladdress, uv_strerror(rc));
		}
	}
	server_rec_free(&r);
	return 0;
}
