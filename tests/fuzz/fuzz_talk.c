/* Fuzz target: the talk state machine (sync/talk.c) of a real peer, as
 * sequences of messages over authenticated protocol-2 sessions — mutual
 * TLS, pins and the pairing-key proof done by the real peer layer of its
 * partner FUZZ (tests/fuzz/twopeers.h). Each input is one session:
 *   byte 0: the direction — even: FUZZ opens the session to VICTIM (the
 *           inbound side of talk: CERTS_ACK, CERTS announcements checked on
 *           the pool and committed, PING); odd: VICTIM opens it to FUZZ by
 *           talk_connect (the outbound side: its PING, the partner's
 *           CERTS_ACK / CERTS_REFUSED / CERTS / PONG);
 *   byte 1: the purpose (even PING, odd SYNC);
 *   the rest: frames [type u8][length u16 BE][payload], sent by FUZZ's
 *   side of the session with session_send as they come.
 * After them the harness sends a terminator — a PING with a marker that an
 * inbound VICTIM answers in order, or the PONG an outbound VICTIM waits
 * for — and closes when it is answered or VICTIM closed. VICTIM must close
 * or answer within 3 s and leave no session behind, and every 64 inputs a
 * pinned PING both ways must still succeed — else abort(). */
#include <stdint.h>

#include "twopeers.h"

#define MARK 0x5eedf00dcafe0001ull
#define HEALTH_EVERY 64

static struct {
	const uint8_t *d;
	size_t n;
	int outbound_victim;
	int closed;         /* the harness's session ended */
	int answered;       /* the marker PONG came back */
	int victim_done;    /* talk_connect's done (VICTIM outbound) */
	struct peer_session *s;
	unsigned long inputs;
} H;

static void send_frames(struct peer_session *s)
{
	struct tp_frame f;
	size_t off = 0;
	struct wbuf w;

	while (tp_next_frame(H.d, H.n, &off, &f)) {
		wbuf_init(&w);
		wbuf_put(&w, f.p, f.n);
		if (session_send(s, f.type, f.n ? &w : NULL) < 0) {
			wbuf_free(&w);
			return;
		}
		wbuf_free(&w);
	}
	wbuf_init(&w);
	if (H.outbound_victim) {
		(void)session_send(s, MSG_PONG, NULL);
	} else {
		tlv_put_u64(&w, F_TIME, MARK);
		(void)session_send(s, MSG_PING, &w);
	}
	wbuf_free(&w);
}

static void h_ready(struct peer_session *s, void *arg)
{
	(void)arg;
	H.s = s;
	send_frames(s);
}

static int h_frame(struct peer_session *s, int type, struct cursor *p, void *arg)
{
	struct cursor cur = *p, val;
	uint64_t t = 0;
	uint16_t tag;

	(void)arg;
	if (type == MSG_PONG && !H.outbound_victim) {
		while (tlv_next(&cur, &tag, &val) > 0)
			if (tag == F_TIME)
				(void)tlv_get_u64(&val, &t);
		if (t == MARK) {
			H.answered = 1;
			session_close(s, 0, NULL);
		}
	}
	return 0; /* everything else VICTIM says is taken in silence */
}

static void h_closed(struct peer_session *s, const struct session_result *r, void *arg)
{
	(void)s, (void)r, (void)arg;
	H.closed = 1;
}

static const struct session_ops h_ops = {
	.ready = h_ready,
	.frame = h_frame,
	.writable = NULL,
	.closed = h_closed,
};

static void victim_done(struct sync *y, const char *server, const struct session_result *r,
			const struct talk_outcome *o, void *arg)
{
	(void)y, (void)server, (void)r, (void)o, (void)arg;
	H.victim_done = 1;
}

static int both_done(void)
{
	return H.closed && (!H.outbound_victim || H.victim_done);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long inputs = H.inputs;
	double t0;
	int purpose;

	if (!tp.ready)
		tp_start(NULL);
	if (size < 2 || size > 200000)
		return 0;
	memset(&H, 0, sizeof(H));
	H.inputs = inputs;
	H.outbound_victim = data[0] & 1;
	purpose = data[1] & 1 ? PURPOSE_SYNC : PURPOSE_PING;
	H.d = data + 2;
	H.n = size - 2;
	tp_reset_admission();
	if (H.outbound_victim) {
		tp.f_inbound_ops = &h_ops;
		tp.f_inbound_arg = NULL;
		if (talk_connect(&tp.v.y, "FUZZ", purpose, victim_done, NULL) < 0)
			abort();
	} else if (peer_connect(tp.f.p, "VICTIM", purpose, &h_ops, NULL) < 0) {
		abort();
	}
	t0 = harness_now_ms();
	while (!both_done()) {
		if (harness_now_ms() - t0 > 3000) {
			fprintf(stderr, "fuzz_talk: VICTIM neither answered nor closed within 3 s (%s)\n",
				H.outbound_victim ? "outbound" : "inbound");
			abort();
		}
		uv_run(&tp.loop, UV_RUN_NOWAIT);
		usleep(50);
	}
	tp.f_inbound_ops = NULL;
	tp_expect_quiet(3000, "fuzz_talk");
	if (++H.inputs % HEALTH_EVERY == 0)
		tp_health("fuzz_talk");
	return 0;
}
