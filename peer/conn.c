/*
 * peer/conn: the transport of the peer layer — the listener and what its
 * first bytes say, TCP connections in both directions, wolfSSL over memory
 * buffers, framing, the bounded send queue, timers, deferred callbacks to
 * the upper layer, and the peer layer's own start and stop.
 */
#include "session_int.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../store/actlog.h"
#include "../store/admin.h"
#include "../store/owncert.h"
#include "../store/server.h"
#include "../util/clock.h"
#include "../util/escape.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "bulk.h"
#include "dbw.h"
#include "proto.h"

/* Bytes buffered from a partner (raw and decrypted) before the socket is
 * no longer read: room for two whole frames. TCP pushes back beyond. */
#define RX_LIMIT      (2 * FRAME_MAX + 65536)
#define ADMIN_IDLE_MS (15u * 60 * 1000)
#define READ_CHUNK    65536

static void conn_drive(struct peer_session *s);
static void start_queued(struct peer *p, const char *server);
static void arm_timer(struct peer_session *s);

const char *purpose_name(int purpose)
{
	static const char *names[] = { "none",        "ping",  "sync",
				       "replication", "admin", "cross-define" };
	return purpose >= 0 && purpose < PURPOSE_MAX ? names[purpose] : "unknown";
}

const char *msg_type_name(int type)
{
	switch (type) {
	case MSG_HELLO: return "HELLO";
	case MSG_HELLO_REPLY: return "HELLO_REPLY";
	case MSG_AUTH: return "AUTH";
	case MSG_AUTH_OK: return "AUTH_OK";
	case MSG_ERROR: return "ERROR";
	case MSG_PING: return "PING";
	case MSG_PONG: return "PONG";
	case MSG_BYE: return "BYE";
	case MSG_CERTS: return "CERTS";
	case MSG_CERTS_ACK: return "CERTS_ACK";
	case MSG_CERTS_REFUSED: return "CERTS_REFUSED";
	case MSG_ADMIN_CMD: return "ADMIN_CMD";
	case MSG_ADMIN_REPLY: return "ADMIN_REPLY";
	case MSG_CROSSDEF: return "CROSSDEF";
	case MSG_CROSSDEF_DONE: return "CROSSDEF_DONE";
	case MSG_L_HELLO: return "L_HELLO";
	case MSG_L_CHALLENGE: return "L_CHALLENGE";
	case MSG_L_RESPONSE: return "L_RESPONSE";
	case MSG_L_OK: return "L_OK";
	default: return "unknown";
	}
}

static const char *role_name(const struct peer_session *s)
{
	return s->role == ROLE_INBOUND ? "inbound" : "outbound";
}

static const char *state_name(int state)
{
	static const char *names[] = { "connecting",     "negotiating", "tls-handshake",
				       "authenticating", "ready",       "closing",
				       "queued" };
	return state >= 0 && state <= SS_QUEUED ? names[state] : "unknown";
}

/* ---- activity log through the database writer ------------------------- */

struct actlog_job {
	int msg;
	char text[1024];
};

static int actlog_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct actlog_job *j = arg;
	return store_actlog_add(txn, st, j->msg, "%s", j->text);
}

static void actlog_done(int rc, void *arg)
{
	(void)rc;
	free(arg);
}

void peer_actlog(struct peer *p, int msg, const char *fmt, ...)
{
	struct actlog_job *j = malloc(sizeof(*j));
	va_list ap;

	if (!j)
		return;
	j->msg = msg;
	va_start(ap, fmt);
	vsnprintf(j->text, sizeof(j->text), fmt, ap);
	va_end(ap);
	if (dbw_submit(p->dbw, actlog_work, actlog_done, j) < 0)
		free(j);
}

/* ---- sessions: allocation and lifetime -------------------------------- */

static struct peer_session *session_new(struct peer *p, int role)
{
	struct peer_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->p = p;
	s->role = role;
	s->id = ++p->next_id;
	s->refs = 1; /* released when the handles are closed */
	s->started = clock_now();
	s->started_ms = clock_mono_ms();
	s->deadline_ms = s->started_ms + (uint64_t)p->in->conf.handshaketimeout * 1000;
	wbuf_init(&s->rx_raw);
	wbuf_init(&s->rx_app);
	uv_tcp_init(p->loop, &s->tcp);
	uv_timer_init(p->loop, &s->timer);
	s->tcp.data = s->timer.data = s;
	s->open_handles = 2;
	s->next = p->sessions;
	if (p->sessions)
		p->sessions->prev = s;
	p->sessions = s;
	return s;
}

static void session_free(struct peer_session *s)
{
	struct peer *p = s->p;

	if (s->prev)
		s->prev->next = s->next;
	else
		p->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	auth_free(s);
	legacy_free(s);
	if (s->ssl)
		wolfSSL_free(s->ssl);
	wbuf_free(&s->rx_raw);
	wbuf_free(&s->rx_app);
	blob_free(&s->peer_der);
	secure_zero(s->exporter, sizeof(s->exporter));
	free(s);
}

void session_ref(struct peer_session *s) { s->refs++; }

void session_unref(struct peer_session *s)
{
	if (--s->refs == 0)
		session_free(s);
}

int session_closing(const struct peer_session *s) { return s->state == SS_CLOSING; }

static void on_handle_closed(uv_handle_t *h)
{
	struct peer_session *s = h->data;
	if (--s->open_handles == 0)
		session_unref(s);
}

static void close_handles(struct peer_session *s)
{
	if (!uv_is_closing((uv_handle_t *)&s->tcp))
		uv_close((uv_handle_t *)&s->tcp, on_handle_closed);
	if (!uv_is_closing((uv_handle_t *)&s->timer))
		uv_close((uv_handle_t *)&s->timer, on_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	close_handles(req->data);
}

/* ---- deferred callbacks ------------------------------------------------ */

static void deliver(struct peer_session *s, unsigned what)
{
	if ((what & PEND_READY) && !session_closing(s)) {
		if (s->ops && s->ops->ready)
			s->ops->ready(s, s->ops_arg);
		/* Frames that arrived meanwhile wait no longer. */
		s->paused--;
		if (!session_closing(s))
			conn_drive(s);
	} else if (what & PEND_READY) {
		s->paused--;
	}
	if ((what & PEND_DRIVE) && !session_closing(s))
		conn_drive(s);
	if ((what & PEND_WRITABLE) && !session_closing(s) && s->ops && s->ops->writable)
		s->ops->writable(s, s->ops_arg);
	if ((what & PEND_CLOSED) && s->handed_over) {
		s->handed_over = 0;
		if (s->ops && s->ops->closed)
			s->ops->closed(s, &s->result, s->ops_arg);
	}
}

static void on_deferred(uv_idle_t *h)
{
	struct peer *p = h->data;
	struct peer_session *list = p->deferred;

	p->deferred = NULL;
	uv_idle_stop(h);
	while (list) {
		struct peer_session *s = list;
		unsigned what = s->pending;
		list = s->next_deferred;
		s->next_deferred = NULL;
		s->pending = 0;
		deliver(s, what);
		session_unref(s);
	}
}

static void defer(struct peer_session *s, unsigned what)
{
	struct peer *p = s->p;

	if (!s->pending) {
		session_ref(s);
		s->next_deferred = p->deferred;
		p->deferred = s;
		uv_idle_start(&p->deferred_idle, on_deferred);
	}
	s->pending |= what;
}

/* ---- session log lines a flood cannot multiply ------------------------------- */

#define THR_WINDOW_MS 5000
#define THR_LINES     20
#define THR_GLOBAL    300

static void thr_flush(struct log_throttle *t)
{
	if (t->dropped)
		log_code(t->code, "%lu more %s%s%s in %u s, not logged one by one (the last: %s)",
			 t->dropped, t->what, t->addr[0] ? " from " : "", t->addr,
			 THR_WINDOW_MS / 1000, t->last);
	t->dropped = 0;
}

static void thr_flush_all(struct peer *p)
{
	if (p->thr_all_dropped)
		log_warn(RPL_W_LINES_DROPPED,
			 "%lu more session lines in %u s, not logged (more than %d lines)",
			 p->thr_all_dropped, THR_WINDOW_MS / 1000, THR_GLOBAL);
	p->thr_all_dropped = 0;
}

/* At the end of a window, the counts of what was not logged. */
static void thr_tick(uv_timer_t *timer)
{
	struct peer *p = timer->data;
	uint64_t now = clock_mono_ms(), next = 0;

	for (size_t i = 0; i < sizeof(p->thr) / sizeof(p->thr[0]); i++) {
		struct log_throttle *t = &p->thr[i];
		if (!t->dropped)
			continue;
		if (now - t->start >= THR_WINDOW_MS)
			thr_flush(t);
		else if (!next || t->start + THR_WINDOW_MS - now < next)
			next = t->start + THR_WINDOW_MS - now;
	}
	if (p->thr_all_dropped) {
		if (now - p->thr_all_start >= THR_WINDOW_MS)
			thr_flush_all(p);
		else if (!next || p->thr_all_start + THR_WINDOW_MS - now < next)
			next = p->thr_all_start + THR_WINDOW_MS - now;
	}
	if (next)
		uv_timer_start(timer, thr_tick, next, 0);
}

/* Lines about outbound sessions are never held back: this peer started
 * them, so their number is its own. */
#define THR_ALL UINT_MAX
static unsigned sess_limit(const struct peer_session *s)
{
	return s->role == ROLE_OUTBOUND ? THR_ALL : THR_LINES;
}

static void thr_arm(struct peer *p, uint64_t due_ms)
{
	if (!p->halting && !uv_is_active((uv_handle_t *)&p->thr_timer))
		uv_timer_start(&p->thr_timer, thr_tick, due_ms, 0);
}

void peer_warn(struct peer *p, int code, const char *addr, unsigned limit, const char *what,
	       const char *fmt, ...)
{
	struct log_throttle *t = NULL, *oldest = &p->thr[0];
	uint64_t now = clock_mono_ms();
	char text[400];
	va_list ap;

	if (!addr)
		addr = "";
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (limit == THR_ALL) {
		log_code(code, "%s", text);
		return;
	}
	for (size_t i = 0; i < sizeof(p->thr) / sizeof(p->thr[0]) && !t; i++) {
		if (p->thr[i].code == code && strcmp(p->thr[i].addr, addr) == 0)
			t = &p->thr[i];
		else if (p->thr[i].start < oldest->start)
			oldest = &p->thr[i];
	}
	if (!t) { /* the slot used longest ago */
		t = oldest;
		thr_flush(t);
		memset(t, 0, sizeof(*t));
		t->code = code;
		snprintf(t->addr, sizeof(t->addr), "%s", addr);
	}
	if (now - t->start >= THR_WINDOW_MS) {
		thr_flush(t);
		t->start = now;
		t->lines = 0;
	}
	if (now - p->thr_all_start >= THR_WINDOW_MS) {
		thr_flush_all(p);
		p->thr_all_start = now;
		p->thr_all_lines = 0;
	}
	if (t->lines < limit && p->thr_all_lines < THR_GLOBAL) {
		t->lines++;
		p->thr_all_lines++;
		log_code(code, "%s", text);
		return;
	}
	if (t->lines < limit) { /* only the total is over: a distributed flood */
		p->thr_all_dropped++;
		thr_arm(p, p->thr_all_start + THR_WINDOW_MS - now);
		return;
	}
	snprintf(t->what, sizeof(t->what), "%s", what);
	snprintf(t->last, sizeof(t->last), "%s", text);
	if (!t->dropped++)
		thr_arm(p, t->start + THR_WINDOW_MS - now);
}

/* ---- writing ----------------------------------------------------------- */

struct write_req {
	uv_write_t req;
	struct peer_session *s;
	size_t n, cap;
	uint8_t data[];
};

static void on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct peer_session *s = w->s;

	s->queued -= w->n;
	if (status < 0 && !session_closing(s))
		conn_close(s, -RPL_E_CLOSED, "write failed: %s", uv_strerror(status));
	else if (s->want_writable && s->queued <= SESSION_LOW_WATER && !session_closing(s)) {
		s->want_writable = 0;
		defer(s, PEND_WRITABLE);
	}
	session_unref(s);
	free(w);
}

static struct write_req *write_req_new(size_t cap)
{
	struct write_req *w = malloc(sizeof(*w) + cap);

	if (w) {
		w->n = 0;
		w->cap = cap;
	}
	return w;
}

/* Hands w (with w->n bytes) to the socket; w is the socket's from now on,
 * also on failure (freed). */
static int write_req_submit(struct peer_session *s, struct write_req *w)
{
	uv_buf_t b;

	if (uv_is_closing((uv_handle_t *)&s->tcp)) {
		free(w);
		return -RPL_E_CLOSED;
	}
	w->s = s;
	b = uv_buf_init((char *)w->data, (unsigned)w->n);
	session_ref(s);
	if (uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, on_write) < 0) {
		session_unref(s);
		free(w);
		return -RPL_E_CLOSED;
	}
	s->queued += w->n;
	s->bytes_out += w->n;
	return 0;
}

static int raw_write(struct peer_session *s, const void *data, size_t n)
{
	struct write_req *w;

	if (uv_is_closing((uv_handle_t *)&s->tcp))
		return -RPL_E_CLOSED;
	if (!(w = write_req_new(n)))
		return -RPL_E_NOMEM;
	memcpy(w->data, data, n);
	w->n = n;
	return write_req_submit(s, w);
}

/* The records gathered for a frame go to the socket in one write. */
static int tx_flush(struct peer_session *s)
{
	struct write_req *w = s->tx_fill;

	s->tx_fill = NULL;
	if (!w)
		return 0;
	if (w->n == 0) {
		free(w);
		return 0;
	}
	return write_req_submit(s, w);
}

/* wolfSSL pulls ciphertext from rx_raw... */
static int tls_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct peer_session *s = ctx;
	size_t n;
	(void)ssl;

	if (s->rx_raw.len == 0)
		return session_closing(s) ? WOLFSSL_CBIO_ERR_CONN_CLOSE
					  : WOLFSSL_CBIO_ERR_WANT_READ;
	/* A down-level server answers our ClientHello with its marker. */
	if (s->role == ROLE_OUTBOUND && s->state == SS_HANDSHAKE && s->rx_raw.len >= 4 &&
	    memcmp(s->rx_raw.p, LEGACY_MAGIC, 4) == 0) {
		s->legacy_fallback = 1;
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	}
	/* Another service (SSH, HTTP...) answers with bytes that are no TLS
	 * record (handshake 0x16 or alert 0x15, version 3.x): say so, rather
	 * than blame the TLS versions. */
	if (s->role == ROLE_OUTBOUND && s->state == SS_HANDSHAKE && !s->tls_answered) {
		const uint8_t *b = s->rx_raw.p;
		if (s->rx_raw.len < 4 && memcmp(b, LEGACY_MAGIC, s->rx_raw.len) == 0)
			return WOLFSSL_CBIO_ERR_WANT_READ; /* perhaps a down-level server */
		if ((b[0] != 0x16 && b[0] != 0x15) || (s->rx_raw.len > 1 && b[1] != 3)) {
			esc_bytes(s->not_tls, sizeof(s->not_tls), (const char *)b,
				  s->rx_raw.len < 24 ? s->rx_raw.len : 24, 0);
			return WOLFSSL_CBIO_ERR_CONN_CLOSE;
		}
		s->tls_answered = 1;
	}
	n = s->rx_raw.len < (size_t)sz ? s->rx_raw.len : (size_t)sz;
	memcpy(buf, s->rx_raw.p, n);
	wbuf_consume(&s->rx_raw, n);
	return (int)n;
}

/* ...and pushes ciphertext to the socket: while write_frame runs, into
 * the frame's write request (one socket write for a frame's records, not
 * one per 16 KiB record), otherwise at once (handshake, alerts). */
static int tls_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct peer_session *s = ctx;
	struct write_req *w = s->tx_fill;
	(void)ssl;

	if (w && w->cap - w->n < (size_t)sz && tx_flush(s) < 0)
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	if (w && s->tx_fill) {
		memcpy(w->data + w->n, buf, (size_t)sz);
		w->n += (size_t)sz;
		return sz;
	}
	if (raw_write(s, buf, (size_t)sz) < 0)
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	return sz;
}

/* Plaintext per TLS record, and a bound on what a record adds to it
 * (header, AEAD tag, TLS 1.3 content type, TLS 1.2 explicit nonce). */
#define TLS_RECORD          16384
#define TLS_RECORD_OVERHEAD 64

static int tls_write_all(struct peer_session *s, const uint8_t *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		int w = wolfSSL_write(s->ssl, p + off, (int)(n - off));
		if (w <= 0)
			return -RPL_E_TLS;
		off += (size_t)w;
	}
	return 0;
}

static int write_frame(struct peer_session *s, int type, const struct wbuf *payload)
{
	size_t plen = payload ? payload->len : 0;
	uint8_t hdr[FRAME_HDR];
	int rc = 0;

	if (session_closing(s))
		return -RPL_E_CLOSED;
	if (plen + 1 > FRAME_MAX)
		return -RPL_E_BADARG;
	hdr[0] = (uint8_t)((plen + 1) >> 24);
	hdr[1] = (uint8_t)((plen + 1) >> 16);
	hdr[2] = (uint8_t)((plen + 1) >> 8);
	hdr[3] = (uint8_t)(plen + 1);
	hdr[4] = (uint8_t)type;
	if (s->proto == 2) {
		/* The header rides in the first record with the start of the
		 * payload (one record for a small frame); the rest of a large
		 * payload is encrypted from where it lies, not copied first. */
		uint8_t first[TLS_RECORD];
		size_t head = plen < TLS_RECORD - FRAME_HDR ? plen : TLS_RECORD - FRAME_HDR;
		size_t total = FRAME_HDR + plen;

		s->tx_fill = write_req_new(total + (total / TLS_RECORD + 1) * TLS_RECORD_OVERHEAD);
		memcpy(first, hdr, FRAME_HDR);
		if (head)
			memcpy(first + FRAME_HDR, payload->p, head);
		rc = tls_write_all(s, first, FRAME_HDR + head);
		if (rc == 0 && plen > head)
			rc = tls_write_all(s, payload->p + head, plen - head);
		secure_zero(first, FRAME_HDR + head);
		if (tx_flush(s) < 0 && rc == 0)
			rc = -RPL_E_CLOSED;
		return rc;
	}
	rc = raw_write(s, hdr, FRAME_HDR);
	if (rc == 0 && plen)
		rc = raw_write(s, payload->p, plen);
	return rc;
}

int conn_send_frame(struct peer_session *s, int type, const struct wbuf *payload)
{
	return write_frame(s, type, payload);
}

int session_send(struct peer_session *s, int type, const struct wbuf *payload)
{
	int rc;

	if (session_closing(s))
		return -RPL_E_CLOSED;
	if (s->queued >= SESSION_HIGH_WATER) {
		s->want_writable = 1;
		return -RPL_E_AGAIN;
	}
	rc = write_frame(s, type, payload);
	if (rc == 0 && s->queued >= SESSION_HIGH_WATER)
		s->want_writable = 1;
	return rc;
}

int session_send_field(struct peer_session *s, int type, int field, const void *p, size_t n)
{
	struct wbuf w;
	int rc;

	wbuf_init(&w);
	tlv_put(&w, (uint16_t)field, p, n);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = s->state == SS_READY ? session_send(s, type, &w) : write_frame(s, type, &w);
	wbuf_free(&w);
	return rc;
}

void session_send_error(struct peer_session *s, int code, const char *text)
{
	struct wbuf w;
	wbuf_init(&w);
	tlv_put_str(&w, F_MSGID, rpl_msg_id(code));
	tlv_put_str(&w, F_TEXT, text ? text : rpl_msg_text(code));
	if (wbuf_status(&w) == 0)
		(void)write_frame(s, MSG_ERROR, &w);
	wbuf_free(&w);
}

size_t session_queued(const struct peer_session *s) { return s->queued; }

/* ---- timers ------------------------------------------------------------ */

static void on_timer(uv_timer_t *t)
{
	struct peer_session *s = t->data;
	const struct rpl_conf *conf = &s->p->in->conf;
	uint64_t now = clock_mono_ms();

	if (session_closing(s))
		return;
	if (s->deadline_ms && now >= s->deadline_ms) {
		if (s->state != SS_READY)
			conn_close(s, -RPL_E_TIMEOUT,
				   "not authenticated within %d seconds (HANDSHAKETIMEOUT)",
				   conf->handshaketimeout);
		else
			conn_close(s, -RPL_E_TIMEOUT,
				   "%s session took longer than %.0f seconds in all (%s)",
				   purpose_name(s->purpose),
				   (double)(s->deadline_ms - s->started_ms) / 1000.0,
				   s->role == ROLE_OUTBOUND && s->purpose == PURPOSE_PING
					   ? "HANDSHAKETIMEOUT + COMMTIMEOUT"
					   : "ROUNDTIMEOUT");
		return;
	}
	if (s->state == SS_READY && s->idle_ms && now - s->last_progress_ms >= s->idle_ms) {
		conn_close(s, -RPL_E_TIMEOUT, "idle for %d seconds (COMMTIMEOUT)",
			   conf->commtimeout);
		return;
	}
	arm_timer(s);
}

static void arm_timer(struct peer_session *s)
{
	uint64_t now = clock_mono_ms(), due = 0;

	if (s->deadline_ms)
		due = s->deadline_ms;
	if (s->state == SS_READY && s->idle_ms) {
		uint64_t idle_due = s->last_progress_ms + s->idle_ms;
		if (!due || idle_due < due)
			due = idle_due;
	}
	if (!due) {
		uv_timer_stop(&s->timer);
		return;
	}
	uv_timer_start(&s->timer, on_timer, due > now ? due - now : 0, 0);
}

/* ---- closing ----------------------------------------------------------- */

static int legacy_fallback(struct peer_session *s);

void conn_close(struct peer_session *s, int err, const char *fmt, ...)
{
	struct peer *p = s->p;
	char text[768] = "";
	va_list ap;

	if (session_closing(s))
		return;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
	}
	if (err == -RPL_E_TLS && s->legacy_fallback)
		err = -RPL_E_LEGACY_ONLY;
	if (err == -RPL_E_TLS && s->not_tls[0]) {
		err = -RPL_E_NOT_TLS;
		snprintf(text, sizeof(text), "%s answered \"%s\" to a TLS ClientHello", s->target,
			 s->not_tls);
	}
	if (err) {
		s->result.ok = 0;
		s->result.err = err;
		snprintf(s->result.message, sizeof(s->result.message), "%s",
			 text[0] ? text : rpl_msg_text(err));
		if (!s->quiet)
			peer_warn(p, -err, s->addr, sess_limit(s), "sessions ended like this",
				  "session %llu %s %s%s%s (%s): %s", (unsigned long long)s->id,
				  role_name(s), s->server[0] ? "server " : "", s->server,
				  s->server[0] ? "" : "connection",
				  s->addr[0] ? s->addr : s->target, s->result.message);
	} else {
		s->result.ok = 1;
		log_debug(RPL_I_SESSION_END, "session %llu %s %s ended", (unsigned long long)s->id,
			  role_name(s), s->server);
	}
	s->state = SS_CLOSING;
	s->preauth = 0;
	if (s->counted_ready) {
		s->counted_ready = 0;
		p->n_in_ready--;
	}
	if (s->counted_out) {
		s->counted_out = 0;
		p->n_out--;
	}
	uv_timer_stop(&s->timer);
	if (s->role == ROLE_OUTBOUND)
		start_queued(p, s->server);
	if (err == -RPL_E_LEGACY_ONLY && s->handed_over && legacy_fallback(s))
		s->handed_over = 0; /* the protocol-1 session reports instead */
	if (s->handed_over)
		defer(s, PEND_CLOSED);
	if (s->ssl && err == 0)
		wolfSSL_shutdown(s->ssl); /* close_notify */
	uv_read_stop((uv_stream_t *)&s->tcp);
	s->reading = 0;
	s->shutdown_req.data = s;
	if (uv_shutdown(&s->shutdown_req, (uv_stream_t *)&s->tcp, on_shutdown) < 0)
		close_handles(s);
}

void session_close(struct peer_session *s, int err, const char *fmt, ...)
{
	char text[768] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
	}
	conn_close(s, err, fmt ? "%s" : NULL, text);
}

/* ---- refusals and failures --------------------------------------------- */

static const char *proto_word(const struct peer_session *s)
{
	return s->proto == 1 ? "down-level " : "";
}

/* Logged once, here, with the refusal's own message ID. */
void conn_refuse(struct peer_session *s, int code, const char *text)
{
	session_send_error(s, code, text);
	peer_warn(s->p, code, s->addr, sess_limit(s), "sessions refused like this",
		  "%ssession %llu from server %s (%s) refused: %s", proto_word(s),
		  (unsigned long long)s->id, s->server[0] ? s->server : "?", s->addr, text);
	peer_actlog(s->p, RPL_W_REFUSED, "%ssession from %s (%s) refused: %s %s", proto_word(s),
		    s->server[0] ? s->server : "?", s->addr, rpl_msg_id(code), text);
	s->quiet = 1;
	conn_close(s, -code, "%s", text);
}

struct failure_job {
	char server[RPL_NAME_MAX + 1];
	int admin; /* an administrator's sign-on, not a server's */
	int64_t when;
	char text[900];
};

static int failure_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct failure_job *j = arg;
	int rc;

	if (!j->server[0]) {
		rc = 0; /* it never said who it claims to be */
	} else if (j->admin) {
		struct admin_rec a;
		rc = store_admin_get(txn, st, j->server, &a);
		if (rc == 0) {
			a.failed++;
			a.last_failure = j->when;
			rc = store_admin_put(txn, st, &a);
			admin_rec_free(&a);
		}
	} else {
		struct server_rec r;
		rc = store_server_get(txn, st, j->server, &r);
		if (rc == 0) {
			r.failed_signons++;
			r.last_failure = j->when;
			rc = store_server_put(txn, st, &r);
			server_rec_free(&r);
		}
	}
	if (rc == -RPL_E_NOTFOUND)
		rc = 0;
	if (rc == 0)
		rc = store_actlog_add(txn, st, j->admin ? RPL_W_ADMIN_FAILED : RPL_W_AUTH_FAILED,
				      "%s", j->text);
	return rc;
}

static void record_failure(struct peer_session *s, const char *detail, int log);

void conn_record_failure(struct peer_session *s, const char *detail)
{
	record_failure(s, detail, 1);
}

/* Counts a failed sign-on (rate limit, the partner's record, the activity
 * log); log: also this line in the daemon log (else the caller logs). */
static void record_failure(struct peer_session *s, const char *detail, int log)
{
	struct peer *p = s->p;
	int admin = s->purpose == PURPOSE_ADMIN;
	const char *who = admin ? "administrator" : "server";
	struct failure_job *j;
	char key[RPL_NAME_MAX + 2];

	if (admin)
		auth_admin_key(s->server, key, sizeof(key));
	else
		snprintf(key, sizeof(key), "%s", s->server);
	if (s->role == ROLE_INBOUND && !s->attempt_counted)
		admit_fail(&p->adm, s->addr, key, clock_now());
	s->attempt_counted = 1;
	if (!log)
		goto record;
	s->quiet = 1; /* this line says why the session ends */
	peer_warn(p, admin ? RPL_W_ADMIN_FAILED : RPL_W_AUTH_FAILED, s->addr, sess_limit(s),
		  "failed sign-ons", "%ssign-on %s %s %s (%s) failed: %s", proto_word(s),
		  s->role == ROLE_INBOUND ? "from" : "to", who, s->server[0] ? s->server : "?",
		  s->addr, detail);
record:
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	snprintf(j->server, sizeof(j->server), "%s", s->server);
	j->admin = admin;
	j->when = clock_now();
	snprintf(j->text, sizeof(j->text), "%ssign-on %s %s %s from address %s failed: %s",
		 proto_word(s), s->role == ROLE_INBOUND ? "by" : "to", who,
		 s->server[0] ? s->server : "?", s->addr, detail);
	if (dbw_submit(p->dbw, failure_work, actlog_done, j) < 0)
		free(j);
}

void conn_on_error_frame(struct peer_session *s, struct cursor *pl)
{
	char id[16] = "", text[512] = "";
	struct cursor cur = *pl, val;
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
	s->result.partner_err = code;
	/* The message ID says what the partner refused; the text says it
	 * was the partner, once (sync/ adds the partner's side of the fix). */
	if (code == RPL_E_PARTNER_REFUSED && strcmp(id, rpl_msg_id(code)) != 0)
		conn_close(s, -code, "partner %s refused: %s %s",
			   s->server[0] ? s->server : s->addr, ESC(id), ESC(text));
	else
		conn_close(s, -code, "partner %s refused: %s", s->server[0] ? s->server : s->addr,
			   text[0] ? ESC(text) : rpl_msg_text(code));
}

int conn_unexpected(struct peer_session *s, int type, const char *state)
{
	char why[256];

	snprintf(why, sizeof(why), "message %s (%d) is not expected in state %s",
		 msg_type_name(type), type, state);
	/* Counted as a failed sign-on; the line below says why it ended. */
	if (s->state != SS_READY)
		record_failure(s, why, 0);
	session_send_error(s, RPL_E_PROTOCOL, why);
	conn_close(s, -RPL_E_PROTOCOL, "protocol error: %s", why);
	return 0;
}

int conn_admit(struct peer_session *s, const char *from, const char *to, int purpose,
	       struct server_rec *r)
{
	struct peer *p = s->p;
	char why[400];
	MDB_txn *txn;
	int rc;

	snprintf(s->server, sizeof(s->server), "%s", from);
	if (strcasecmp(to, p->in->conf.servername) != 0) {
		snprintf(why, sizeof(why), "this is server %s, not %s", p->in->conf.servername,
			 ESC(to));
		conn_refuse(s, RPL_E_NAME_MISMATCH, why);
		return 1;
	}
	if (purpose <= PURPOSE_NONE || purpose >= PURPOSE_MAX ||
	    !(p->hooks.purposes & (1u << purpose))) {
		snprintf(why, sizeof(why), "session purpose %d is not offered by %s", purpose,
			 p->in->conf.servername);
		conn_refuse(s, RPL_E_PROTOCOL, why);
		return 1;
	}
	if (p->refusing) {
		snprintf(why, sizeof(why),
			 "%s does not accept sessions from partners now: its administrator ran "
			 "DISABLE SESSIONS",
			 p->in->conf.servername);
		conn_refuse(s, RPL_E_SESSIONS_DISABLED, why);
		return 1;
	}
	if (admit_blocked(&p->adm, s->addr, from, clock_now())) {
		snprintf(why, sizeof(why),
			 "%d failed sign-ons as server %s from %s within %d seconds: "
			 "refused without a password proof",
			 RL_MAX_FAILS, from, s->addr, RL_WINDOW);
		conn_refuse(s, RPL_E_RATELIMIT, why);
		return 1;
	}
	if ((rc = store_begin(&p->in->store, 0, &txn)) < 0)
		return rc;
	rc = store_server_get(txn, &p->in->store, from, r);
	store_abort(txn);
	if (rc == -RPL_E_NOTFOUND) {
		snprintf(why, sizeof(why), "server %s is not defined on %s", from,
			 p->in->conf.servername);
		conn_refuse(s, RPL_E_UNKNOWN_SERVER, why);
		return 1;
	}
	if (rc < 0)
		return rc;
	if (r->crossdef_pending) {
		/* Defined by the partner's own request: usable only once our
		 * session back to its address proved both passwords. */
		snprintf(why, sizeof(why),
			 "server %s is defined on %s by its cross-definition, not confirmed yet",
			 r->name, p->in->conf.servername);
		server_rec_free(r);
		conn_refuse(s, RPL_E_CROSSDEF_UNCONFIRMED, why);
		return 1;
	}
	snprintf(s->server, sizeof(s->server), "%s", r->name);
	if (p->n_in_ready >= p->in->conf.maxsessions) {
		snprintf(why, sizeof(why), "MAXSESSIONS %d reached", p->in->conf.maxsessions);
		server_rec_free(r);
		conn_refuse(s, RPL_E_MAXSESSIONS, why);
		return 1;
	}
	return 0;
}

/* The sessions a partner holds (authenticated, inbound), and its share:
 * MAXSESSIONS less a quarter (at least one session), so that one partner
 * cannot crowd out the others. */
static int partner_holds(struct peer *p, const struct peer_session *s)
{
	int n = 0;
	for (struct peer_session *t = p->sessions; t; t = t->next)
		if (t->counted_ready && !session_closing(t) &&
		    (t->purpose == PURPOSE_ADMIN) == (s->purpose == PURPOSE_ADMIN) &&
		    strcasecmp(t->server, s->server) == 0)
			n++;
	return n;
}

int conn_admit_partner(struct peer_session *s)
{
	struct peer *p = s->p;
	int max = p->in->conf.maxsessions, held;
	/* A quarter of MAXSESSIONS (at least one) stays for the others. */
	int share = max < 2 ? max : max - (max / 4 > 1 ? max / 4 : 1);
	char why[300], key[RPL_NAME_MAX + 2];

	/* Charged only once the partner proved who it is: a stranger that
	 * claims the name spends nothing of the partner's. */
	if (s->purpose == PURPOSE_ADMIN)
		auth_admin_key(s->server, key, sizeof(key));
	else
		snprintf(key, sizeof(key), "%s", s->server);
	if (!admit_partner_take(&p->adm, key, clock_mono_ms())) {
		snprintf(why, sizeof(why),
			 "server %s opens sessions faster than %d a second (burst %d)", s->server,
			 PARTNER_RATE, PARTNER_BURST);
		conn_refuse(s, RPL_E_PARTNER_RATE, why);
		return 1;
	}
	if ((held = partner_holds(p, s)) >= share) {
		snprintf(why, sizeof(why), "%s %s holds %d sessions, its share of MAXSESSIONS %d",
			 s->purpose == PURPOSE_ADMIN ? "administrator" : "server", s->server, held,
			 p->in->conf.maxsessions);
		conn_refuse(s, RPL_E_MAXSESSIONS, why);
		return 1;
	}
	return 0;
}

void session_on_error_frame(struct peer_session *s, struct cursor *payload)
{
	conn_on_error_frame(s, payload);
}

int session_unexpected(struct peer_session *s, int type, const char *state)
{
	return conn_unexpected(s, type, state);
}

/* ---- down-level fallback (outbound) ------------------------------------ */

static int start_connect_to(struct peer *p, const char *server, int purpose, int proto, int confirm,
			    const struct session_ops *ops, void *arg);

/* An outbound TLS attempt met a down-level server. Falling back hands a
 * protocol-1 response to whoever answered, so it happens only when
 * ALLOWLEGACY is YES, the partner is TRANSITIONAL here, and it has earned
 * it: an earlier outbound fallback succeeded, or it signed on to us over
 * protocol 1 proving both passwords. A forged "RPL1-ONLY" can therefore
 * never turn a first contact into an offline password attack. */
static int legacy_fallback(struct peer_session *s)
{
	struct peer *p = s->p;
	struct server_rec r;
	MDB_txn *txn;
	int rc, allowed;

	if (s->role != ROLE_OUTBOUND || !s->legacy_fallback)
		return 0;
	if (!p->in->conf.allowlegacy) {
		snprintf(
			s->result.message, sizeof(s->result.message),
			"server %s answered as a down-level (protocol 1) server; ALLOWLEGACY is NO here",
			s->server);
		log_error(RPL_E_LEGACY_ONLY, "%s", s->result.message);
		return 0;
	}
	if (store_begin(&p->in->store, 0, &txn) < 0)
		return 0;
	rc = store_server_get(txn, &p->in->store, s->server, &r);
	store_abort(txn);
	if (rc < 0)
		return 0;
	allowed = r.secsec == SECSEC_TRANSITIONAL && r.legacy_ok;
	if (!allowed)
		snprintf(
			s->result.message, sizeof(s->result.message),
			"server %s answered as a down-level (protocol 1) server, but it is %s and %s; "
			"no fallback (a forged answer must not obtain a password response)",
			r.name, secsec_name(r.secsec),
			r.legacy_ok ? "has spoken protocol 1 with us before"
				    : "has never proved both passwords over protocol 1");
	server_rec_free(&r);
	if (!allowed) {
		log_error(RPL_E_LEGACY_ONLY, "%s", s->result.message);
		return 0;
	}
	log_info(RPL_I_LEGACY,
		 "server %s speaks only protocol 1 and is TRANSITIONAL: retrying down-level",
		 s->server);
	return start_connect_to(p, s->server, s->purpose, 1, 0, s->ops, s->ops_arg) == 0;
}

/* ---- reading and framing ----------------------------------------------- */

static int frame_dispatch(struct peer_session *s, int type, struct cursor *payload)
{
	if (s->state == SS_READY) {
		s->last_progress_ms = clock_mono_ms();
		return s->ops && s->ops->frame ? s->ops->frame(s, type, payload, s->ops_arg)
					       : -RPL_E_PROTOCOL;
	}
	if (s->proto == 1)
		return legacy_on_frame(s, type, payload);
	return auth_on_frame(s, type, payload);
}

static int may_dispatch(const struct peer_session *s)
{
	return !s->paused && !session_closing(s) && !(s->state == SS_READY && s->app_paused);
}

static void dispatch_frames(struct peer_session *s)
{
	while (may_dispatch(s) && s->rx_app.len >= FRAME_HDR) {
		struct cursor cur, payload;
		uint32_t len;
		uint8_t type;
		int rc;

		cur_init(&cur, s->rx_app.p, s->rx_app.len);
		(void)cur_u32(&cur, &len);
		if (len == 0 || len > FRAME_MAX) {
			conn_close(s, -RPL_E_PROTOCOL, "frame length %u outside 1..%u", len,
				   FRAME_MAX);
			return;
		}
		if (s->rx_app.len - 4 < len)
			return; /* wait for the rest */
		(void)cur_u8(&cur, &type);
		cur_init(&payload, s->rx_app.p + FRAME_HDR, len - 1);
		rc = frame_dispatch(s, type, &payload);
		wbuf_consume(&s->rx_app, 4 + (size_t)len);
		if (rc < 0 && !session_closing(s))
			conn_close(s, rc, "while handling message %s (%u)", msg_type_name(type),
				   type);
	}
}

static void tls_read_app(struct peer_session *s)
{
	char buf[16384];

	while (s->rx_app.len < RX_LIMIT - sizeof(buf)) {
		int n = wolfSSL_read(s->ssl, buf, sizeof(buf));
		int e;
		if (n > 0) {
			wbuf_put(&s->rx_app, buf, (size_t)n);
			if (wbuf_status(&s->rx_app) < 0) {
				conn_close(s, -RPL_E_NOMEM, NULL);
				return;
			}
			continue;
		}
		e = wolfSSL_get_error(s->ssl, n);
		if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
			return;
		if (e == WOLFSSL_ERROR_ZERO_RETURN)
			conn_close(s,
				   s->state == SS_READY && s->role == ROLE_INBOUND ? 0
										   : -RPL_E_CLOSED,
				   "partner sent close_notify");
		else
			conn_close(s, -RPL_E_TLS, "%s",
				   wolfSSL_ERR_reason_error_string((unsigned long)e));
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

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

/* Reads the socket while there is room; TCP pushes back otherwise. */
static void update_reading(struct peer_session *s)
{
	int want = !session_closing(s) && s->state != SS_CONNECTING && s->state != SS_QUEUED &&
		   s->rx_raw.len + s->rx_app.len < RX_LIMIT;

	if (want && !s->reading) {
		if (uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read) == 0)
			s->reading = 1;
	} else if (!want && s->reading) {
		uv_read_stop((uv_stream_t *)&s->tcp);
		s->reading = 0;
	}
}

static void handshake_done(struct peer_session *s)
{
	s->proto = 2;
	s->state = SS_AUTH;
	if (s->role == ROLE_OUTBOUND)
		auth_client_start(s);
	else
		auth_server_start(s);
}

static int make_ssl(struct peer_session *s)
{
	struct peer *p = s->p;
	int rc;

	if ((rc = peer_refresh_identity(p)) < 0)
		return rc;
	s->ssl = wolfSSL_new(s->role == ROLE_INBOUND ? p->tls.server : p->tls.client);
	if (!s->ssl)
		return -RPL_E_TLS;
	wolfSSL_SSLSetIORecv(s->ssl, tls_recv);
	wolfSSL_SSLSetIOSend(s->ssl, tls_send);
	wolfSSL_SetIOReadCtx(s->ssl, s);
	wolfSSL_SetIOWriteCtx(s->ssl, s);
	memcpy(s->own_fp, p->own_fp, sizeof(s->own_fp));
	snprintf(s->own_label, sizeof(s->own_label), "%s", p->own.label);
	return tls_use_identity(s->ssl, &p->own);
}

/* What arrives on the one port, told apart by its first bytes. */
struct sniffer {
	const char *what;
	/* 1: this protocol, 0: not this one, -1: more bytes needed */
	int (*match)(const uint8_t *b, size_t n);
	void (*start)(struct peer_session *s);
};

static int match_tls(const uint8_t *b, size_t n)
{
	if (b[0] != 0x16)
		return 0;
	if (n < 3)
		return -1;
	return b[1] == 3 && b[2] >= 1 && b[2] <= 4;
}

static void start_tls(struct peer_session *s)
{
	int rc;

	if (s->p->in->conf.protocollevel == 1) {
		raw_write(s, LEGACY_ONLY_REPLY, strlen(LEGACY_ONLY_REPLY));
		conn_close(s, -RPL_E_PROTOCOL, "TLS offered, but PROTOCOLLEVEL is 1");
		return;
	}
	if ((rc = make_ssl(s)) < 0) {
		conn_close(s, rc, "cannot set up TLS");
		return;
	}
	s->state = SS_HANDSHAKE;
}

static int match_rpl1(const uint8_t *b, size_t n)
{
	size_t k = n < 4 ? n : 4;
	if (memcmp(b, LEGACY_MAGIC, k) != 0)
		return 0;
	return n < 4 ? -1 : 1;
}

static void start_rpl1(struct peer_session *s)
{
	wbuf_consume(&s->rx_raw, 4);
	s->proto = 1;
	s->state = SS_AUTH;
	legacy_server_start(s);
}

static const struct sniffer sniffers[] = {
	{ "TLS ClientHello", match_tls, start_tls },
	{ "protocol 1", match_rpl1, start_rpl1 },
	{ "bulk channel", bulk_match, bulk_start },
};

static void sniff(struct peer_session *s)
{
	int need_more = 0;

	if (s->rx_raw.len == 0)
		return;
	for (size_t i = 0; i < sizeof(sniffers) / sizeof(sniffers[0]); i++) {
		int m = sniffers[i].match(s->rx_raw.p, s->rx_raw.len);
		if (m == 1) {
			sniffers[i].start(s);
			return;
		}
		need_more |= m < 0;
	}
	if (!need_more)
		conn_close(s, -RPL_E_PROTOCOL, "neither a TLS ClientHello nor protocol 1");
}

/* Runs the session's state machine over what has arrived, for as long as
 * something moves: a state change, bytes decrypted or frames consumed.
 * Stopping only on a state change would leave complete frames buffered
 * (decryption stops at RX_LIMIT) until the socket happens to deliver more. */
static void conn_drive(struct peer_session *s)
{
	int guard;

	for (guard = 0; !s->paused && !session_closing(s) && guard < 64; guard++) {
		int before = s->state, rc, e;
		size_t raw = s->rx_raw.len, app = s->rx_app.len;

		switch (s->state) {
		case SS_SNIFF: sniff(s); break;
		case SS_HANDSHAKE:
			rc = s->role == ROLE_INBOUND ? wolfSSL_accept(s->ssl)
						     : wolfSSL_connect(s->ssl);
			if (rc == WOLFSSL_SUCCESS) {
				handshake_done(s);
				break;
			}
			e = wolfSSL_get_error(s->ssl, rc);
			if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
				goto out;
			conn_close(s, -RPL_E_TLS, "%s (%d)",
				   wolfSSL_ERR_reason_error_string((unsigned long)e), e);
			return;
		case SS_AUTH:
		case SS_READY:
			if (s->proto == 2) {
				tls_read_app(s);
			} else if (s->rx_raw.len && s->rx_app.len < RX_LIMIT) {
				size_t n = s->rx_raw.len;
				if (n > RX_LIMIT - s->rx_app.len)
					n = RX_LIMIT - s->rx_app.len;
				wbuf_put(&s->rx_app, s->rx_raw.p, n);
				wbuf_consume(&s->rx_raw, n);
			}
			if (session_closing(s))
				return;
			dispatch_frames(s);
			break;
		default: goto out;
		}
		if (s->state == before && s->rx_raw.len == raw && s->rx_app.len == app)
			break;
	}
	if (guard == 64 && !session_closing(s))
		defer(s, PEND_DRIVE); /* more to do; let the loop breathe first */
out:
	update_reading(s);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct peer_session *s = st->data;

	if (nread > 0 && !session_closing(s)) {
		s->bytes_in += (uint64_t)nread;
		wbuf_put(&s->rx_raw, buf->base, (size_t)nread);
		if (wbuf_status(&s->rx_raw) < 0)
			conn_close(s, -RPL_E_NOMEM, NULL);
		else
			conn_drive(s);
	} else if (nread < 0 && !session_closing(s)) {
		if (nread == UV_EOF && s->state == SS_READY && s->role == ROLE_INBOUND) {
			conn_close(s, 0, NULL);
		} else if (nread == UV_EOF && s->role == ROLE_INBOUND && s->bytes_in == 0) {
			/* A port probe, not a failed session. */
			log_warn(RPL_W_SILENT_CLOSE,
				 "connection from %s closed before it said anything", s->addr);
			s->quiet = 1;
			conn_close(s, -RPL_E_CLOSED, "connection closed before it said anything");
		} else if (nread == UV_EOF && s->legacy_fallback) {
			conn_close(s, -RPL_E_LEGACY_ONLY, "%s", s->server);
		} else {
			conn_close(s, -RPL_E_CLOSED, "%s",
				   nread == UV_EOF ? "connection closed" : uv_strerror((int)nread));
		}
	}
	free(buf->base);
}

/* ---- jobs, authentication, hand-over ------------------------------------ */

void conn_job_start(struct peer_session *s)
{
	session_ref(s);
	s->paused++;
}

void conn_job_end(struct peer_session *s)
{
	s->paused--;
	if (!session_closing(s))
		conn_drive(s);
	session_unref(s);
}

void session_pause(struct peer_session *s) { s->app_paused = 1; }

void session_resume(struct peer_session *s)
{
	if (!s->app_paused)
		return;
	s->app_paused = 0;
	/* Frames that waited are delivered on a later turn, as every callback. */
	if (!session_closing(s))
		defer(s, PEND_DRIVE);
}

static int control_purpose(int purpose)
{
	return purpose == PURPOSE_PING || purpose == PURPOSE_SYNC;
}

void conn_authenticated(struct peer_session *s)
{
	struct peer *p = s->p;
	const struct rpl_conf *conf = &p->in->conf;
	uint64_t now = clock_mono_ms();

	s->state = SS_READY;
	s->preauth = 0;
	s->last_progress_ms = now;
	/* A partner proved itself from this address (not a bulk channel, which
	 * only shows a token, nor an administrator or a down-level session). */
	if (s->role == ROLE_INBOUND && s->proto == 2 && s->server[0] && !s->ops &&
	    s->purpose != PURPOSE_ADMIN)
		admit_proven(&p->adm, s->addr, s->server, now);
	s->idle_ms = (uint64_t)conf->commtimeout * 1000;
	/* Control sessions have an overall deadline besides the idle timer:
	 * a partner that keeps sending without finishing cannot hold one
	 * open. Bulk sessions fail only when they make no progress. */
	if (control_purpose(s->purpose)) {
		s->deadline_ms = s->started_ms + (uint64_t)conf->roundtimeout * 1000;
		if (s->role == ROLE_OUTBOUND && s->purpose == PURPOSE_PING) {
			uint64_t bound =
				s->started_ms +
				(uint64_t)(conf->handshaketimeout + conf->commtimeout) * 1000;
			if (bound < s->deadline_ms)
				s->deadline_ms = bound;
		}
	} else {
		s->deadline_ms = 0;
	}
	if (s->role == ROLE_INBOUND) {
		void *arg = NULL;
		const struct session_ops *ops;
		if (s->ops) {
			/* A bulk channel arrives with the ops its token was given. */
			ops = s->ops;
			arg = s->ops_arg;
		} else if (s->purpose == PURPOSE_ADMIN) {
			/* An administrator types: idle up to 15 minutes. */
			if (s->idle_ms < ADMIN_IDLE_MS)
				s->idle_ms = ADMIN_IDLE_MS;
			ops = adminsrv_session(s, &arg);
		} else {
			ops = p->hooks.inbound ? p->hooks.inbound(p->hooks.ctx, s, s->purpose, &arg)
					       : NULL;
		}
		if (!ops) {
			session_send_error(s, RPL_E_PROTOCOL, "this purpose is not offered here");
			conn_close(s, -RPL_E_PROTOCOL, "%s sessions are not offered here",
				   purpose_name(s->purpose));
			return;
		}
		if (!s->ops)
			s->ops_arg = arg;
		s->ops = ops;
		s->handed_over = 1;
		s->counted_ready = 1;
		p->n_in_ready++;
	}
	arm_timer(s);
	s->paused++; /* until ready is delivered */
	defer(s, PEND_READY);
	if (s->role == ROLE_OUTBOUND)
		start_queued(p, s->server);
}

/* ---- admission of inbound connections ----------------------------------- */

/* Closes a connection refused before it said anything: one line per
 * window, the rest counted. */
static void refuse_connection(struct peer_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void refuse_connection(struct peer_session *s, const char *fmt, ...)
{
	char text[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	peer_warn(s->p, RPL_E_PREAUTH, s->addr, 1, "connections refused",
		  "connection from %s refused: %s", s->addr, text);
	s->quiet = 1;
	conn_close(s, -RPL_E_PREAUTH, "%s", text);
}

/* A connection we have answered (a TLS server flight, a protocol-1
 * challenge) made us do the work of a handshake; one we have not answered
 * has sent nothing a handshake can start from: half a ClientHello, or
 * nothing at all. */
static int answered(const struct peer_session *s) { return s->bytes_out > 0; }

#define ADMIT_HELD_MAX 256

struct held_addr {
	const char *addr;
	int i;
};

static int by_address(const void *a, const void *b)
{
	return strcmp(((const struct held_addr *)a)->addr, ((const struct held_addr *)b)->addr);
}

/* from[i]: how many of held[0..n) share held[i]'s address. Sorted, not a
 * comparison of every pair: at PREAUTHMAX under a flood that ran for each
 * connection accepted, 65,000 comparisons each, and made 37 % of the
 * loop's time (perf, 1,000 connections that never finish a handshake). */
static void count_by_address(struct peer_session *const *held, int n, int *from)
{
	struct held_addr a[ADMIT_HELD_MAX];
	int i = 0;

	for (int k = 0; k < n; k++)
		a[k] = (struct held_addr){ held[k]->addr, k };
	qsort(a, (size_t)n, sizeof(a[0]), by_address);
	while (i < n) {
		int j = i + 1;
		while (j < n && strcmp(a[j].addr, a[i].addr) == 0)
			j++;
		for (int k = i; k < j; k++)
			from[a[k].i] = j - i;
		i = j;
	}
}

/* Connections that have not authenticated are held to PREAUTHPERADDR per
 * source address and PREAUTHMAX in all. A newcomer over either limit takes
 * the place of an unanswered connection, never of an answered one: the
 * oldest unanswered one of its own address for PREAUTHPERADDR; for
 * PREAUTHMAX, the oldest unanswered one of the address holding the most.
 * A real client sends its ClientHello at once and is answered at once, so
 * connections that never get that far (a flood from any number of
 * addresses) cannot keep partners out; answered handshakes are bounded by
 * HANDSHAKETIMEOUT. Only when every place is held by an answered handshake
 * is the newcomer refused. Outbound sessions never count here. */
static int admit_connection(struct peer *p, struct peer_session *s)
{
	const struct rpl_conf *conf = &p->in->conf;
	struct peer_session *held[ADMIT_HELD_MAX], *victim = NULL;
	int from[ADMIT_HELD_MAX];
	int partners = admit_proven_partners(&p->adm, s->addr, clock_mono_ms());
	int pool = partners > 0, n = 0, mine = 0, total = 0, most = 0;
	/* Several partners behind one address (a NAT, or one host) each get
	 * PREAUTHPERADDR: their handshakes are in flight together. */
	int peraddr = conf->preauthperaddr * (partners > 0 ? partners : 1);

	s->preauth_proven = pool;
	/* The list is newest first; a budget larger than the array is
	 * counted, and only its newest connections are candidates. */
	for (struct peer_session *t = p->sessions; t; t = t->next) {
		if (t == s || !t->preauth || session_closing(t))
			continue;
		if (strcmp(t->addr, s->addr) == 0)
			mine++;
		if (t->preauth_proven != pool)
			continue;
		total++;
		if (n < (int)(sizeof(held) / sizeof(held[0])))
			held[n++] = t;
	}
	if (mine >= peraddr) {
		for (int i = 0; i < n; i++)
			if (!answered(held[i]) && strcmp(held[i]->addr, s->addr) == 0)
				victim = held[i]; /* ends at the oldest */
		if (!victim) {
			refuse_connection(
				s,
				"%s already holds %d connections in a handshake (PREAUTHPERADDR%s)",
				s->addr, mine, partners > 1 ? " per partner seen from it" : "");
			return -1;
		}
		refuse_connection(
			victim,
			"evicted: %s holds PREAUTHPERADDR %d connections, this one sent no handshake",
			victim->addr, peraddr);
		return 0;
	}
	/* Addresses partners authenticated from have a pool of their own
	 * (admit.c), so that a flood from other addresses never reaches
	 * theirs; within each pool the rule is the same. */
	if (total < conf->preauthmax)
		return 0;
	count_by_address(held, n, from);
	for (int i = 0; i < n; i++) {
		if (answered(held[i]))
			continue;
		if (from[i] >= most) { /* later is older: ties go to the oldest */
			most = from[i];
			victim = held[i];
		}
	}
	if (!victim) {
		refuse_connection(s, "PREAUTHMAX %d connections %sare in a handshake",
				  conf->preauthmax, pool ? "from partners' addresses " : "");
		return -1;
	}
	refuse_connection(
		victim,
		"evicted: PREAUTHMAX %d connections %shave not authenticated, %d of them from %s; this one sent no handshake",
		conf->preauthmax, pool ? "from partners' addresses " : "", most, victim->addr);
	return 0;
}

static void peer_address(struct peer_session *s)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	snprintf(s->addr, sizeof(s->addr), "?");
	if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET)
		uv_ip4_name((struct sockaddr_in *)&ss, s->addr, sizeof(s->addr));
	else if (ss.ss_family == AF_INET6)
		uv_ip6_name((struct sockaddr_in6 *)&ss, s->addr, sizeof(s->addr));
}

void conn_accept(struct peer *p, uv_stream_t *server)
{
	struct peer_session *s = session_new(p, ROLE_INBOUND);

	if (!s) {
		/* Accept and drop it, or the listener would report it forever. */
		uv_tcp_t tmp;
		uv_tcp_init(p->loop, &tmp);
		if (uv_accept(server, (uv_stream_t *)&tmp) == 0)
			log_error(RPL_E_NOMEM, "out of memory: connection dropped");
		uv_close((uv_handle_t *)&tmp, NULL);
		return;
	}
	if (uv_accept(server, (uv_stream_t *)&s->tcp) < 0) {
		s->state = SS_CLOSING;
		close_handles(s);
		return;
	}
	peer_address(s);
	s->state = SS_SNIFF;
	if (p->halting) {
		conn_close(s, -RPL_E_HALTING, NULL);
		return;
	}
	if (admit_connection(p, s) < 0)
		return;
	s->preauth = 1;
	arm_timer(s);
	update_reading(s);
}

/* ---- outbound ----------------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status)
{
	struct peer_session *s = req->data;
	int rc;

	if (session_closing(s))
		return;
	if (status < 0) {
		conn_close(s, -RPL_E_CONNECT, "%s: %s", s->target, uv_strerror(status));
		return;
	}
	peer_address(s);
	if (s->proto == PROTO_BULK) {
		raw_write(s, BULK_MAGIC, 4);
		raw_write(s, s->bulk_token, BULK_TOKEN_LEN);
		secure_zero(s->bulk_token, sizeof(s->bulk_token));
		conn_authenticated(s);
		update_reading(s);
		return;
	}
	if (s->proto == 1) {
		s->state = SS_AUTH;
		raw_write(s, LEGACY_MAGIC, 4);
		legacy_client_start(s);
		update_reading(s);
		return;
	}
	if ((rc = make_ssl(s)) < 0) {
		conn_close(s, rc, "cannot set up TLS");
		return;
	}
	s->state = SS_HANDSHAKE;
	conn_drive(s);
}

static void start_connect(struct peer_session *s, const struct sockaddr *sa)
{
	int rc = uv_tcp_connect(&s->connect_req, &s->tcp, sa, on_connect);
	if (rc < 0)
		conn_close(s, -RPL_E_CONNECT, "%s: %s", s->target, uv_strerror(rc));
}

/* Host names resolve on the libuv thread pool, never on the loop. */
static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
	struct peer_session *s = req->data;

	if (!session_closing(s)) {
		if (status < 0 || !ai)
			conn_close(s, -RPL_E_CONNECT, "cannot resolve HLADDRESS %s: %s", s->target,
				   uv_strerror(status));
		else
			start_connect(s, ai->ai_addr);
	}
	uv_freeaddrinfo(ai);
	session_unref(s);
}

static int out_handshakes(struct peer *p, const char *server)
{
	int n = 0;
	for (struct peer_session *t = p->sessions; t; t = t->next)
		if (t->role == ROLE_OUTBOUND && !session_closing(t) && t->state != SS_QUEUED &&
		    t->state != SS_READY && strcasecmp(t->server, server) == 0)
			n++;
	return n;
}

/* Resolves and connects a session that was created or queued. */
static void begin_connect(struct peer_session *s)
{
	struct peer *p = s->p;
	struct sockaddr_storage sa;
	struct server_rec r;
	MDB_txn *txn;
	int rc, numeric;

	s->state = SS_CONNECTING;
	s->started = clock_now();
	s->started_ms = clock_mono_ms();
	s->deadline_ms = s->started_ms + (uint64_t)p->in->conf.handshaketimeout * 1000;
	arm_timer(s);
	if ((rc = store_begin(&p->in->store, 0, &txn)) < 0) {
		conn_close(s, rc, "reading the server's definition");
		return;
	}
	rc = store_server_get(txn, &p->in->store, s->server, &r);
	store_abort(txn);
	if (rc < 0) {
		conn_close(s, rc == -RPL_E_NOTFOUND ? -RPL_E_UNKNOWN_SERVER : rc, "%s", s->server);
		return;
	}
	snprintf(s->target, sizeof(s->target), "%.55s:%d", r.hladdress, r.lladdress);
	memset(&sa, 0, sizeof(sa));
	numeric = uv_ip4_addr(r.hladdress, r.lladdress, (struct sockaddr_in *)&sa) == 0 ||
		  uv_ip6_addr(r.hladdress, r.lladdress, (struct sockaddr_in6 *)&sa) == 0;
	s->connect_req.data = s;
	if (numeric) {
		start_connect(s, (struct sockaddr *)&sa);
	} else {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
		char port[8];
		snprintf(port, sizeof(port), "%d", r.lladdress);
		s->resolve_req.data = s;
		session_ref(s);
		rc = uv_getaddrinfo(p->loop, &s->resolve_req, on_resolved, r.hladdress, port,
				    &hints);
		if (rc < 0) {
			session_unref(s);
			conn_close(s, -RPL_E_CONNECT, "cannot resolve %s: %s", r.hladdress,
				   uv_strerror(rc));
		}
	}
	server_rec_free(&r);
}

/* How many outbound handshakes to a partner may be in flight: one while
 * our sessions to it prove both passwords (no pairing key yet, or FORCESYNC
 * pending), since each such session stores a new pairing key on both sides
 * and concurrent ones could be stored in different orders on the two sides
 * (then our next proofs by pairing key fail and count as failed sign-ons);
 * the queued sessions start when it ends, by the key it stored. */
static int out_limit(const struct server_rec *r)
{
	return r->forcesync || !r->key_out.n ? 1 : OUT_HANDSHAKES_PER_SERVER;
}

static int out_limit_of(struct peer *p, const char *server)
{
	struct server_rec r;
	MDB_txn *txn;
	int n = 1;

	if (store_begin(&p->in->store, 0, &txn) < 0)
		return n;
	if (store_server_get(txn, &p->in->store, server, &r) == 0) {
		n = out_limit(&r);
		server_rec_free(&r);
	}
	store_abort(txn);
	return n;
}

/* An outbound handshake to server ended (authenticated or closed): the
 * oldest session queued for it goes. */
static void start_queued(struct peer *p, const char *server)
{
	struct peer_session *oldest = NULL;

	if (p->halting || out_handshakes(p, server) >= out_limit_of(p, server))
		return;
	for (struct peer_session *t = p->sessions; t; t = t->next)
		if (t->state == SS_QUEUED && strcasecmp(t->server, server) == 0)
			oldest = t; /* newest first: the last one is the oldest */
	if (oldest)
		begin_connect(oldest);
}

/* confirm: the session back that confirms a cross-definition, the only
 * one a definition waiting for it may have (sync/crossdef.c). */
static int start_connect_to(struct peer *p, const char *server, int purpose, int proto, int confirm,
			    const struct session_ops *ops, void *arg)
{
	struct peer_session *s;
	struct server_rec r;
	MDB_txn *txn;
	int rc, limit;

	if (p->halting)
		return -RPL_E_HALTING;
	if (p->n_out >= p->in->conf.maxsessions)
		return -RPL_E_MAXSESSIONS;
	if ((rc = store_begin(&p->in->store, 0, &txn)) < 0)
		return rc;
	rc = store_server_get(txn, &p->in->store, server, &r);
	store_abort(txn);
	if (rc < 0)
		return rc == -RPL_E_NOTFOUND ? -RPL_E_UNKNOWN_SERVER : rc;
	if (r.crossdef_pending != !!confirm || (confirm && proto != 2)) {
		server_rec_free(&r);
		return r.crossdef_pending ? -RPL_E_CROSSDEF_UNCONFIRMED : -RPL_E_BADARG;
	}
	s = session_new(p, ROLE_OUTBOUND);
	if (!s) {
		server_rec_free(&r);
		return -RPL_E_NOMEM;
	}
	snprintf(s->server, sizeof(s->server), "%s", r.name);
	limit = out_limit(&r);
	server_rec_free(&r);
	s->purpose = purpose;
	s->proto = p->in->conf.protocollevel == 1 && proto != PROTO_BULK ? 1 : proto;
	s->ops = ops;
	s->ops_arg = arg;
	s->handed_over = 1;
	s->counted_out = 1;
	p->n_out++;
	if (out_handshakes(p, s->server) > limit) {
		s->state = SS_QUEUED; /* this session is counted above */
		s->deadline_ms = 0;
		return 0;
	}
	begin_connect(s);
	return 0;
}

int conn_connect_bulk(struct peer *p, const char *server, const uint8_t *token,
		      const struct session_ops *ops, void *arg)
{
	int rc = start_connect_to(p, server, PURPOSE_REPL, PROTO_BULK, 0, ops, arg);

	/* The newest session is the one just made (the list is newest first). */
	if (rc == 0)
		memcpy(p->sessions->bulk_token, token, BULK_TOKEN_LEN);
	return rc;
}

int peer_connect(struct peer *p, const char *server, int purpose, const struct session_ops *ops,
		 void *arg)
{
	if (purpose <= PURPOSE_NONE || purpose >= PURPOSE_MAX)
		return -RPL_E_BADARG;
	return start_connect_to(p, server, purpose, 2, 0, ops, arg);
}

int peer_connect_confirm(struct peer *p, const char *server, int purpose,
			 const struct session_ops *ops, void *arg)
{
	if (purpose != PURPOSE_PING)
		return -RPL_E_BADARG;
	return start_connect_to(p, server, purpose, 2, 1, ops, arg);
}

void peer_cancel(struct peer *p, int (*match)(const struct session_ops *ops, void *arg, void *ctx),
		 void *ctx, const char *why)
{
	struct peer_session *s = p->sessions;

	/* Closing one may start a queued session or a fallback: scan again
	 * from the start after each (closing sessions are skipped). */
	while (s) {
		if (s->role == ROLE_OUTBOUND && s->handed_over && !session_closing(s) &&
		    match(s->ops, s->ops_arg, ctx)) {
			conn_close(s, -RPL_E_CANCELLED, "%s", why);
			s = p->sessions;
		} else {
			s = s->next;
		}
	}
}

int peer_session_cancel(struct peer *p, uint64_t id, int code, const char *why)
{
	for (struct peer_session *s = p->sessions; s; s = s->next) {
		if (s->id != id || session_closing(s))
			continue;
		/* A frame needs the session's channel: after TLS (or the
		 * down-level greeting), before the end. */
		if (s->state == SS_AUTH || s->state == SS_READY)
			session_send_error(s, code, why);
		conn_close(s, -code, "%s", why);
		return 0;
	}
	return -RPL_E_NOTFOUND;
}

void peer_refuse_partners(struct peer *p, int refuse) { p->refusing = refuse != 0; }
int peer_refusing_partners(const struct peer *p) { return p->refusing; }

/* ---- accessors ----------------------------------------------------------- */

uint64_t session_id(const struct peer_session *s) { return s->id; }
struct peer *session_peer(const struct peer_session *s) { return s->p; }
const char *session_server(const struct peer_session *s) { return s->server; }
const char *session_addr(const struct peer_session *s) { return s->addr; }
int session_role(const struct peer_session *s) { return s->role; }
int session_proto(const struct peer_session *s) { return s->proto; }
int session_purpose(const struct peer_session *s) { return s->purpose; }
int session_verified_by(const struct peer_session *s) { return s->verified_by; }
int session_partner_verified_by(const struct peer_session *s) { return s->partner_vb; }
const uint8_t *session_exporter(const struct peer_session *s) { return s->exporter; }
const uint8_t *session_peer_fp(const struct peer_session *s) { return s->peer_ci.fp; }
const uint8_t *session_own_fp(const struct peer_session *s) { return s->own_fp; }
const char *session_own_label(const struct peer_session *s) { return s->own_label; }
void session_set_rtt(struct peer_session *s, double ms) { s->result.rtt_ms = ms; }
int session_admin_class(const struct peer_session *s) { return s->admin_cls; }
void peer_set_ldap(struct peer *p, struct ldap_client *lc) { p->ldap = lc; }

int peer_sessions_each(struct peer *p, int (*fn)(const struct session_info *i, void *arg),
		       void *arg)
{
	for (struct peer_session *s = p->sessions; s; s = s->next) {
		struct session_info i;
		int rc;
		memset(&i, 0, sizeof(i));
		i.id = s->id;
		i.role = s->role;
		snprintf(i.server, sizeof(i.server), "%s", s->server);
		snprintf(i.addr, sizeof(i.addr), "%s", s->addr);
		i.state = state_name(s->state);
		i.proto = s->proto;
		i.purpose = s->purpose;
		if (s->ssl && s->state >= SS_AUTH && s->proto == 2) {
			i.tls_version = tls_version_name(s->ssl);
			i.cipher = tls_cipher_name(s->ssl);
		}
		i.verified_by = s->verified_by;
		i.started = s->started;
		i.seconds = (clock_mono_ms() - s->started_ms) / 1000;
		i.bytes_in = s->bytes_in;
		i.bytes_out = s->bytes_out;
		if ((rc = fn(&i, arg)) != 0)
			return rc;
	}
	return 0;
}

/* ---- the peer layer ------------------------------------------------------- */

int peer_refresh_identity(struct peer *p)
{
	struct owncert c;
	struct own_identity own;
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&p->in->store, 0, &txn)) < 0)
		return rc;
	rc = store_owncert_find(txn, &p->in->store, OWN_CURRENT, &c);
	if (rc == 0 && strcmp(c.label, p->own.label) == 0) {
		owncert_free(&c);
		store_abort(txn);
		return 0;
	}
	if (rc == 0) {
		rc = instance_own_by_label(p->in, txn, c.label, &own);
		owncert_free(&c);
	}
	store_abort(txn);
	if (rc < 0) {
		log_code(rc, "cannot load the current own certificate: %s", rpl_msg_text(rc));
		return rc;
	}
	own_free(&p->own);
	p->own = own;
	identity_fingerprint(p->own.der.p, p->own.der.n, p->own_fp);
	log_info(RPL_I_CERT_IN_USE, "presenting own certificate %s", p->own.label);
	return 0;
}

struct dbw *peer_dbw(struct peer *p) { return p->dbw; }
struct instance *peer_instance(struct peer *p) { return p->in; }
int peer_halting(const struct peer *p) { return p->halting; }

int peer_new(uv_loop_t *loop, struct instance *in, const struct peer_hooks *hooks,
	     struct peer **out)
{
	struct peer *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -RPL_E_NOMEM;
	p->loop = loop;
	p->in = in;
	p->hooks = *hooks;
	admit_init(&p->adm);
	uv_idle_init(loop, &p->deferred_idle);
	p->deferred_idle.data = p;
	uv_timer_init(loop, &p->thr_timer);
	p->thr_timer.data = p;
	if ((rc = dbw_new(loop, &in->store, &p->dbw)) < 0 ||
	    (rc = tls_policy_init(&p->tls, in->conf.ssltls13)) < 0 ||
	    (rc = peer_refresh_identity(p)) < 0) {
		uv_close((uv_handle_t *)&p->deferred_idle, NULL);
		uv_close((uv_handle_t *)&p->thr_timer, NULL);
		*out = p; /* peer_free after the loop closes the handle */
		return rc;
	}
	*out = p;
	return 0;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct peer *p = server->data;
	if (status < 0) {
		log_error(RPL_E_IO, "accept failed: %s", uv_strerror(status));
		return;
	}
	conn_accept(p, server);
}

int peer_start(struct peer *p)
{
	const struct rpl_conf *conf = &p->in->conf;
	struct sockaddr_storage sa;
	int rc;

	if (uv_ip4_addr(conf->tcpaddress, conf->tcpport, (struct sockaddr_in *)&sa) < 0 &&
	    uv_ip6_addr(conf->tcpaddress, conf->tcpport, (struct sockaddr_in6 *)&sa) < 0) {
		log_error(RPL_E_CONF_VALUE, "TCPADDRESS %s is not an IP address", conf->tcpaddress);
		return -RPL_E_CONF_VALUE;
	}
	uv_tcp_init(p->loop, &p->listener);
	p->listener.data = p;
	p->listening = 1;
	rc = uv_tcp_bind(&p->listener, (struct sockaddr *)&sa, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&p->listener, 511, on_connection);
	if (rc < 0) {
		log_error(RPL_E_IO, "cannot listen on %s:%d: %s", conf->tcpaddress, conf->tcpport,
			  uv_strerror(rc));
		return -RPL_E_IO;
	}
	return adminsrv_start(p);
}

void peer_halt(struct peer *p)
{
	if (p->halting)
		return;
	p->halting = 1;
	if (p->listening && !uv_is_closing((uv_handle_t *)&p->listener))
		uv_close((uv_handle_t *)&p->listener, NULL);
	adminsrv_stop(p);
	for (size_t i = 0; i < sizeof(p->thr) / sizeof(p->thr[0]); i++)
		thr_flush(&p->thr[i]);
	thr_flush_all(p);
	uv_close((uv_handle_t *)&p->thr_timer, NULL);
	for (struct peer_session *s = p->sessions; s; s = s->next)
		if (!session_closing(s)) {
			s->quiet = 1; /* the halting line (RPL1201I) says why */
			conn_close(s, -RPL_E_HALTING, NULL);
		}
}

void peer_free(struct peer *p)
{
	if (!p)
		return;
	dbw_free(p->dbw);
	bulk_free_all(p);
	tls_policy_free(&p->tls);
	own_free(&p->own);
	free(p);
}
