/* Fuzz target: the protocol state machines of a real peer layer. Once per
 * process a victim instance (in /dev/shm when it exists) runs peer/ with
 * sync/ on a libuv loop, listening on a loopback port, with one down-level
 * partner FUZZ defined. Each input is one TCP connection to it, by the
 * input's first byte:
 *   0: the rest as raw bytes (the sniffer, TLS record parsing, protocol 1);
 *   1: "RPL1" and the rest as protocol 1 frames (unauthenticated: the
 *      legacy server's states before the proof);
 *   2: a real protocol 1 sign-on as FUZZ (the harness computes the proof),
 *      for the purpose the next byte picks, then the rest as frames (the
 *      upper layer's state machine after authentication, sync/talk).
 * Frames: [type u8][length u16 BE][payload], sent as [u32 length+1][type]
 * [payload]; type 0xFF sends the payload as raw bytes instead (broken
 * lengths). After the bytes the harness half-closes; the victim must then
 * close within 3 s and leave no session behind, and every 64 inputs an
 * authenticated PING must still get its PONG — else abort().
 * The admission state (rate limits) is reset before each input so the
 * fuzzer reaches the proof and post-authentication states; that needs
 * peer/session_int.h, which nothing but tests includes from outside peer/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "../../peer/keys/proof.h"
#include "../../peer/peer.h"
#include "../../peer/proto.h"
#include "../../peer/session_int.h"
#include "../../sync/sync.h"
#include "../../util/log.h"
#include "../../util/secure.h"
#include "../peerharness.h"

#define VICTIM_PW "victim-server-pw"
#define FUZZ_PW "fuzz-partner-pw"
#define HEALTH_EVERY 64

static struct {
	uv_loop_t loop;
	char dir[96];
	struct instance in;
	struct sync y;
	struct peer *p;
	int port;
	unsigned long inputs;
	int ready;
} V;

/* ---- the client ------------------------------------------------------------ */

enum { C_CONNECTING, C_WAIT_CHALLENGE, C_WAIT_OK, C_SENT, C_WAIT_PONG };

struct client {
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_shutdown_t sreq;
	uv_timer_t timer;
	int handles;
	int stage;
	int mode;
	int purpose;
	int health;
	int pong;
	int eof;
	int timed_out;
	int shut;
	struct wbuf pre;   /* bytes to send at connect */
	struct wbuf post;  /* bytes to send once authenticated (mode 2) */
	struct wbuf in;    /* bytes from the victim */
	uint8_t nonce_s[LEGACY_NONCE_LEN], nonce_c[LEGACY_NONCE_LEN];
};

struct wreq {
	uv_write_t req;
	uint8_t data[];
};

static void on_written(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

static void send_bytes(struct client *c, const void *p, size_t n)
{
	struct wreq *w;
	uv_buf_t b;

	if (!n || c->shut || uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	w = malloc(sizeof(*w) + n);
	if (!w)
		abort();
	memcpy(w->data, p, n);
	b = uv_buf_init((char *)w->data, (unsigned)n);
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0)
		free(w);
}

static void put_frame(struct wbuf *w, int type, const struct wbuf *payload)
{
	size_t n = payload ? payload->len : 0;
	wbuf_put_u32(w, (uint32_t)(n + 1));
	wbuf_put_u8(w, (uint8_t)type);
	if (n)
		wbuf_put(w, payload->p, n);
}

/* The fuzz input's frames: [type][len u16][payload], 0xFF = raw bytes. */
static void frames_from(struct wbuf *w, const uint8_t *d, size_t n)
{
	size_t off = 0;

	while (off < n) {
		uint8_t type = d[off++];
		size_t len = 0;
		if (off + 2 <= n) {
			len = (size_t)d[off] << 8 | d[off + 1];
			off += 2;
		} else {
			off = n;
		}
		if (len > n - off)
			len = n - off;
		if (type == 0xFF) {
			wbuf_put(w, d + off, len);
		} else {
			wbuf_put_u32(w, (uint32_t)(len + 1));
			wbuf_put_u8(w, type);
			wbuf_put(w, d + off, len);
		}
		off += len;
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	struct client *c = h->data;
	c->handles--;
}

static void client_close(struct client *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	if (!uv_is_closing((uv_handle_t *)&c->timer))
		uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)req, (void)status;
}

/* Everything is sent: half-close, so the victim reads EOF after it. */
static void finish_sending(struct client *c)
{
	if (c->shut)
		return;
	c->shut = 1;
	c->stage = C_SENT;
	c->sreq.data = c;
	if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
		client_close(c);
}

static void send_response(struct client *c, struct cursor *pl)
{
	struct cursor cur = *pl, val;
	struct auth_key key;
	uint8_t tag[PROOF_TAG_LEN];
	uint16_t t;
	int have = 0;
	struct wbuf m, f;

	while (tlv_next(&cur, &t, &val) > 0)
		if (t == F_NONCE && tlv_get_fixed(&val, c->nonce_s, LEGACY_NONCE_LEN) == 0)
			have = 1;
	if (!have || secure_random(c->nonce_c, LEGACY_NONCE_LEN) < 0 ||
	    proof_legacy_key(VICTIM_PW, strlen(VICTIM_PW), FUZZ_PW, strlen(FUZZ_PW), &key) < 0 ||
	    proof_legacy_tag(&key, 1, c->nonce_s, c->nonce_c, "FUZZ", "VICTIM", tag) < 0) {
		finish_sending(c);
		return;
	}
	wbuf_init(&m);
	wbuf_init(&f);
	tlv_put(&m, F_NONCE, c->nonce_c, LEGACY_NONCE_LEN);
	tlv_put(&m, F_TAG, tag, PROOF_TAG_LEN);
	put_frame(&f, MSG_L_RESPONSE, &m);
	send_bytes(c, f.p, f.len);
	wbuf_free(&m);
	wbuf_free(&f);
	c->stage = C_WAIT_OK;
}

static void authenticated(struct client *c)
{
	if (c->health) {
		struct wbuf m, f;
		wbuf_init(&m);
		wbuf_init(&f);
		tlv_put_u64(&m, F_TIME, 12345);
		put_frame(&f, MSG_PING, &m);
		send_bytes(c, f.p, f.len);
		wbuf_free(&m);
		wbuf_free(&f);
		c->stage = C_WAIT_PONG;
		return;
	}
	send_bytes(c, c->post.p, c->post.len);
	finish_sending(c);
}

/* Frames from the victim drive the sign-on of modes 2 and health. */
static void client_frames(struct client *c)
{
	while (c->in.len >= FRAME_HDR) {
		struct cursor cur, pl;
		uint32_t len;
		uint8_t type;

		cur_init(&cur, c->in.p, c->in.len);
		(void)cur_u32(&cur, &len);
		if (len == 0 || len > FRAME_MAX) {
			finish_sending(c);
			return;
		}
		if (c->in.len - 4 < len)
			return;
		(void)cur_u8(&cur, &type);
		cur_init(&pl, c->in.p + FRAME_HDR, len - 1);
		if (type == MSG_ERROR)
			finish_sending(c);
		else if (c->stage == C_WAIT_CHALLENGE && type == MSG_L_CHALLENGE)
			send_response(c, &pl);
		else if (c->stage == C_WAIT_OK && type == MSG_L_OK)
			authenticated(c);
		else if (c->stage == C_WAIT_PONG && type == MSG_PONG) {
			c->pong = 1;
			finish_sending(c);
		}
		wbuf_consume(&c->in, 4 + (size_t)len);
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h, (void)hint;
	b->base = malloc(65536);
	b->len = b->base ? 65536 : 0;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct client *c = st->data;

	if (n > 0) {
		wbuf_put(&c->in, b->base, (size_t)n);
		if (c->in.len > 4 * FRAME_MAX)
			abort(); /* the victim sends more than any answer needs */
		if (c->mode == 2 && !c->shut)
			client_frames(c);
	} else if (n < 0) {
		c->eof = 1;
		client_close(c);
	}
	free(b->base);
}

static void on_timeout(uv_timer_t *t)
{
	struct client *c = t->data;
	c->timed_out = 1;
	client_close(c);
}

static void on_connected(uv_connect_t *req, int status)
{
	struct client *c = req->data;

	if (status < 0) {
		fprintf(stderr, "fuzz_peer: cannot connect to the victim: %s\n", uv_strerror(status));
		abort();
	}
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	send_bytes(c, c->pre.p, c->pre.len);
	if (c->mode == 2)
		c->stage = C_WAIT_CHALLENGE;
	else
		finish_sending(c);
}

static int count_session(const struct session_info *i, void *arg)
{
	(void)i;
	++*(int *)arg;
	return 0;
}

static int live_sessions(void)
{
	int n = 0;
	peer_sessions_each(V.p, count_session, &n);
	return n;
}

/* One connection; returns when the victim closed it and its session is
 * gone. The victim gets 3 s to close after our EOF. */
static void run_client(struct client *c)
{
	struct sockaddr_in sa;
	double t0;

	c->tcp.data = c->timer.data = c->creq.data = c;
	uv_tcp_init(&V.loop, &c->tcp);
	uv_timer_init(&V.loop, &c->timer);
	c->handles = 2;
	uv_timer_start(&c->timer, on_timeout, 3000, 0);
	uv_ip4_addr("127.0.0.1", V.port, &sa);
	uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&sa, on_connected);
	while (c->handles > 0)
		uv_run(&V.loop, UV_RUN_ONCE);
	if (c->timed_out) {
		fprintf(stderr, "fuzz_peer: the victim did not close within 3 s (stage %d, mode %d)\n",
			c->stage, c->mode);
		abort();
	}
	t0 = harness_now_ms();
	while (live_sessions() > 0) {
		if (harness_now_ms() - t0 > 3000) {
			fprintf(stderr, "fuzz_peer: %d sessions left 3 s after the connection ended\n",
				live_sessions());
			abort();
		}
		uv_run(&V.loop, UV_RUN_NOWAIT);
		usleep(200);
	}
	wbuf_free(&c->pre);
	wbuf_free(&c->post);
	wbuf_free(&c->in);
}

static void legacy_hello(struct wbuf *w, int purpose)
{
	struct wbuf m;
	wbuf_init(&m);
	tlv_put_u64(&m, F_VERSION, PROTO1_REVISION);
	tlv_put_str(&m, F_FROM, "FUZZ");
	tlv_put_str(&m, F_TO, "VICTIM");
	tlv_put_u64(&m, F_PURPOSE, (uint64_t)purpose);
	wbuf_put(w, LEGACY_MAGIC, 4);
	put_frame(w, MSG_L_HELLO, &m);
	wbuf_free(&m);
}

/* An authenticated protocol 1 PING must get its PONG. */
static void health_check(void)
{
	struct client c;

	memset(&c, 0, sizeof(c));
	c.mode = 2;
	c.health = 1;
	admit_init(&V.p->adm);
	legacy_hello(&c.pre, PURPOSE_PING);
	run_client(&c);
	if (!c.pong) {
		fprintf(stderr, "fuzz_peer: the victim no longer answers an authenticated PING\n");
		abort();
	}
}

/* ---- the victim ------------------------------------------------------------- */

static void victim_halt(void *arg, const char *why)
{
	(void)arg;
	fprintf(stderr, "fuzz_peer: the victim halted (%s)\n", why);
	abort();
}

static void cleanup(void)
{
	if (V.dir[0])
		harness_rmtree(V.dir);
}

static void victim_start(void)
{
	static const char *const opts[] = {"HANDSHAKETIMEOUT=5", "LOGLEVEL=error"};
	struct peer_hooks hooks = {0};
	char vdir[128], err[256] = "";
	struct stat st;

	wolfSSL_Init();
	log_set_level(getenv("FUZZ_PEER_LOG") ? LOG_DEBUG : LOG_ERROR);
	strcpy(V.dir, stat("/dev/shm", &st) == 0 ? "/dev/shm/rpl-fuzz.XXXXXX" : "/tmp/rpl-fuzz.XXXXXX");
	if (!mkdtemp(V.dir))
		abort();
	atexit(cleanup);
	snprintf(vdir, sizeof(vdir), "%s/v", V.dir);
	V.port = harness_free_port();
	if (harness_instance(vdir, "VICTIM", V.port, VICTIM_PW, opts, 2, &V.in, err, sizeof(err)) < 0 ||
	    harness_define(&V.in, "FUZZ", 9, FUZZ_PW) < 0) {
		fprintf(stderr, "fuzz_peer: victim instance: %s\n", err);
		abort();
	}
	if (uv_loop_init(&V.loop) < 0)
		abort();
	V.y.loop = &V.loop;
	V.y.in = &V.in;
	V.y.halt = victim_halt;
	sync_peer_hooks(&V.y, &hooks);
	if (peer_new(&V.loop, &V.in, &hooks, &V.p) < 0 || peer_start(V.p) < 0 ||
	    sync_start(&V.y, V.p) < 0) {
		fprintf(stderr, "fuzz_peer: the victim does not start\n");
		abort();
	}
	V.ready = 1;
	health_check();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client c;

	if (!V.ready)
		victim_start();
	if (size < 1 || size > 300000)
		return 0;
	memset(&c, 0, sizeof(c));
	c.mode = data[0] % 3;
	data++, size--;
	admit_init(&V.p->adm);
	switch (c.mode) {
	case 0:
		wbuf_put(&c.pre, data, size);
		break;
	case 1:
		wbuf_put(&c.pre, LEGACY_MAGIC, 4);
		frames_from(&c.pre, data, size);
		break;
	default:
		c.purpose = size ? data[0] % PURPOSE_MAX : PURPOSE_PING;
		if (size)
			data++, size--;
		legacy_hello(&c.pre, c.purpose);
		frames_from(&c.post, data, size);
		break;
	}
	run_client(&c);
	if (++V.inputs % HEALTH_EVERY == 0)
		health_check();
	return 0;
}
