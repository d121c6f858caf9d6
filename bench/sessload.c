/*
 * bench/sessload: a load client for `make bench` — many peer sessions in
 * flight against one peer, from one process on one libuv loop, through the
 * project's own peer layer (so each session is what a partner opens: mutual
 * TLS, the certificate decision by pin, the pairing-key proof bound to the
 * TLS exporter, then PING/PONG and the close).
 *
 *   sessload --target NAME --dirs DIR[,DIR...] [--inflight K] [--seconds S]
 *            [--warmup S] [--srp] [--hold N]
 *
 * Each DIR is a partner instance (not served by any daemon meanwhile)
 * paired with NAME; sessions go round-robin over the partners, K at a
 * time (a partner's peer layer keeps 4 handshakes in flight per server and
 * queues the rest). --srp sets the FORCESYNC mark in the partner's store
 * before each session, so that session runs both SRP password proofs, as
 * a first contact does. After the warm-up, S seconds are counted; one
 * line of JSON: sessions completed per second, failures by message, and the
 * phases as the client sees them (connect to authenticated, authenticated
 * to PONG, PONG to closed), median and 99th percentile in ms.
 *
 * --hold N (the memory bench): opens N sessions (K at a time, a session
 * that fails is replaced), keeps each one idle once it is authenticated
 * (no PING), prints one JSON line when all N are held, holds them for S
 * seconds and closes them; a second line says how many were dropped by
 * the other side meanwhile.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "../peer/dbw.h"
#include "../peer/peer.h"
#include "../peer/proto.h"
#include "../peer/session.h"
#include "../store/server.h"
#include "../util/log.h"
#include "../util/msg.h"

#define MAX_PARTNERS 512
#define MAX_SAMPLES  200000

struct partner {
	struct instance in;
	struct peer *p;
};

struct one {
	int partner;
	double t0, t_ready, t_pong;
};

static struct {
	uv_loop_t loop;
	struct partner part[MAX_PARTNERS];
	int n;
	const char *target;
	int inflight, srp;
	double seconds, warmup;
	double t_start, t_count, t_end;
	int live, next, stopping;
	long ok, failed;
	long total_ok; /* every session that ended well, warm-up and edges included */
	char fail_msg[8][160];
	long fail_n[8];
	int nfail_kinds;
	double *auth_ms, *ping_ms, *close_ms;
	long nsamples;
	/* --hold */
	int hold, held, pending, dropped;
	struct peer_session **holding;
	uv_timer_t hold_timer;
} L;

static double now_ms(void) { return (double)uv_hrtime() / 1e6; }

static void start_one(void);

static void count_failure(const struct session_result *r)
{
	int i;
	for (i = 0; i < L.nfail_kinds; i++)
		if (strncmp(L.fail_msg[i], r->message, sizeof(L.fail_msg[i]) - 1) == 0)
			break;
	if (i == L.nfail_kinds && i < 8) {
		snprintf(L.fail_msg[i], sizeof(L.fail_msg[i]), "%.150s", r->message);
		L.nfail_kinds++;
	}
	if (i < 8)
		L.fail_n[i]++;
}

static void on_hold_over(uv_timer_t *t)
{
	(void)t;
	L.stopping = 1;
	for (int i = 0; i < L.hold; i++)
		if (L.holding[i])
			session_close(L.holding[i], 0, NULL);
	if (L.live == 0)
		uv_stop(&L.loop);
}

/* --hold: an authenticated session stays idle until the end. */
static void hold_ready(struct peer_session *s, struct one *o)
{
	L.pending--;
	for (int i = 0; i < L.hold; i++)
		if (!L.holding[i]) {
			L.holding[i] = s;
			o->partner = i; /* its slot, from now on */
			break;
		}
	L.held++;
	if (L.held == L.hold) {
		printf("{\"held\": %d, \"failed\": %ld, \"seconds_to_hold\": %.2f}\n", L.held,
		       L.failed, (now_ms() - L.t_start) / 1000);
		fflush(stdout);
		uv_timer_init(&L.loop, &L.hold_timer);
		uv_timer_start(&L.hold_timer, on_hold_over, (uint64_t)(L.seconds * 1000), 0);
	} else if (L.held + L.pending < L.hold) {
		start_one();
	}
}

static void on_ready(struct peer_session *s, void *arg)
{
	struct one *o = arg;
	struct wbuf w;

	o->t_ready = now_ms();
	if (L.hold) {
		hold_ready(s, o);
		return;
	}
	wbuf_init(&w);
	tlv_put_u64(&w, F_TIME, (uint64_t)o->t_ready);
	if (wbuf_status(&w) < 0 || session_send(s, MSG_PING, &w) < 0)
		session_close(s, -RPL_E_NOMEM, "PING");
	wbuf_free(&w);
}

static int on_frame(struct peer_session *s, int type, struct cursor *p, void *arg)
{
	struct one *o = arg;
	(void)p;
	if (type == MSG_PONG) {
		o->t_pong = now_ms();
		session_close(s, 0, NULL);
	}
	return 0; /* CERTS_ACK and the like: not this client's business */
}

static void on_closed(struct peer_session *s, const struct session_result *r, void *arg)
{
	struct one *o = arg;
	double t = now_ms();
	(void)s;

	L.live--;
	if (L.hold) {
		if (o->t_ready == 0) {
			L.pending--;
			L.failed++;
			count_failure(r);
		} else {
			L.holding[o->partner] = NULL;
			L.held--;
			if (!L.stopping)
				L.dropped++;
		}
		free(o);
		if (L.stopping) {
			if (L.live == 0)
				uv_stop(&L.loop);
		} else if (L.held + L.pending < L.hold) {
			start_one();
		}
		return;
	}
	if (r->ok && o->t_pong > 0)
		L.total_ok++;
	if (o->t0 >= L.t_count && t <= L.t_end) {
		if (r->ok && o->t_pong > 0) {
			L.ok++;
			if (L.nsamples < MAX_SAMPLES) {
				L.auth_ms[L.nsamples] = o->t_ready - o->t0;
				L.ping_ms[L.nsamples] = o->t_pong - o->t_ready;
				L.close_ms[L.nsamples] = t - o->t_pong;
				L.nsamples++;
			}
		} else {
			L.failed++;
			count_failure(r);
		}
	}
	free(o);
	if (t >= L.t_end) {
		L.stopping = 1;
		if (L.live == 0)
			uv_stop(&L.loop);
		return;
	}
	start_one();
}

static const struct session_ops ops = {
	.ready = on_ready,
	.frame = on_frame,
	.writable = NULL,
	.closed = on_closed,
};

static void connect_one(struct one *o)
{
	o->t0 = now_ms();
	if (peer_connect(L.part[o->partner].p, L.target, PURPOSE_PING, &ops, o) < 0) {
		fprintf(stderr, "sessload: cannot start a session from partner %d\n", o->partner);
		exit(1);
	}
}

/* --srp: the FORCESYNC mark, so the session proves both passwords. */
static int mark_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct one *o = arg;
	struct server_rec r;
	int rc = store_server_get(txn, st, L.target, &r);
	if (rc < 0)
		return rc;
	r.forcesync = 1;
	rc = store_server_put(txn, st, &r);
	server_rec_free(&r);
	(void)o;
	return rc;
}

static void mark_done(int rc, void *arg)
{
	if (rc < 0) {
		fprintf(stderr, "sessload: cannot set the FORCESYNC mark (%d)\n", rc);
		exit(1);
	}
	connect_one(arg);
}

static void start_one(void)
{
	struct one *o;

	if (L.stopping)
		return;
	o = calloc(1, sizeof(*o));
	if (!o)
		exit(1);
	o->partner = L.next++ % L.n;
	L.live++;
	if (L.hold)
		L.pending++;
	if (L.srp) {
		if (dbw_submit(peer_dbw(L.part[o->partner].p), mark_work, mark_done, o) < 0)
			exit(1);
	} else {
		connect_one(o);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void pct(const char *name, double *v, long n)
{
	if (!n) {
		printf("\"%s_ms\": null", name);
		return;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("\"%s_ms\": {\"p50\": %.2f, \"p99\": %.2f}", name, v[n / 2], v[(n * 99) / 100]);
}

static void open_partners(char *dirs)
{
	char err[256];
	struct peer_hooks hooks = { 0 };

	for (char *d = strtok(dirs, ","); d; d = strtok(NULL, ",")) {
		struct partner *pt;
		if (L.n == MAX_PARTNERS) {
			fprintf(stderr, "sessload: at most %d partners\n", MAX_PARTNERS);
			exit(2);
		}
		pt = &L.part[L.n];
		if (instance_open(&pt->in, d, err, sizeof(err)) < 0) {
			fprintf(stderr, "sessload: %s: %s\n", d, err);
			exit(1);
		}
		/* No listener: this partner only connects out. */
		if (peer_new(&L.loop, &pt->in, &hooks, &pt->p) < 0) {
			fprintf(stderr, "sessload: %s: the peer layer does not start\n", d);
			exit(1);
		}
		L.n++;
	}
}

static void on_warm(uv_timer_t *t)
{
	(void)t;
	L.t_count = now_ms();
	L.t_end = L.t_count + L.seconds * 1000;
}

int main(int argc, char **argv)
{
	char *dirs = NULL;
	uv_timer_t warm;
	double elapsed;

	L.inflight = 32;
	L.seconds = 10;
	L.warmup = 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--target") && v)
			L.target = argv[++i];
		else if (!strcmp(a, "--dirs") && v)
			dirs = argv[++i];
		else if (!strcmp(a, "--inflight") && v)
			L.inflight = atoi(argv[++i]);
		else if (!strcmp(a, "--seconds") && v)
			L.seconds = atof(argv[++i]);
		else if (!strcmp(a, "--warmup") && v)
			L.warmup = atof(argv[++i]);
		else if (!strcmp(a, "--srp"))
			L.srp = 1;
		else if (!strcmp(a, "--hold") && v)
			L.hold = atoi(argv[++i]);
		else {
			fprintf(stderr,
				"usage: sessload --target NAME --dirs DIR[,DIR...] [--inflight K] "
				"[--seconds S] [--warmup S] [--srp] [--hold N]\n");
			return 2;
		}
	}
	if (!L.target || !dirs || L.inflight < 1)
		return 2;
	wolfSSL_Init();
	log_set_level(getenv("SESSLOAD_LOG") ? LOG_DEBUG : LOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	L.auth_ms = calloc(MAX_SAMPLES, sizeof(double));
	L.ping_ms = calloc(MAX_SAMPLES, sizeof(double));
	L.close_ms = calloc(MAX_SAMPLES, sizeof(double));
	if (!L.auth_ms || !L.ping_ms || !L.close_ms || uv_loop_init(&L.loop) < 0)
		return 1;
	open_partners(dirs);
	L.t_start = now_ms();
	if (L.hold > 0) {
		L.holding = calloc((size_t)L.hold, sizeof(*L.holding));
		if (!L.holding)
			return 1;
		for (int i = 0; i < L.inflight && i < L.hold; i++)
			start_one();
		uv_run(&L.loop, UV_RUN_DEFAULT);
		printf("{\"held_at_end\": %d, \"dropped\": %d, \"failed\": %ld}\n", L.held,
		       L.dropped, L.failed);
		return 0;
	}
	/* Nothing counts during the warm-up. */
	L.t_count = L.t_end = 1e300;
	uv_timer_init(&L.loop, &warm);
	uv_timer_start(&warm, on_warm, (uint64_t)(L.warmup * 1000), 0);
	uv_unref((uv_handle_t *)&warm);
	for (int i = 0; i < L.inflight; i++)
		start_one();
	uv_run(&L.loop, UV_RUN_DEFAULT);
	elapsed = (L.t_end - L.t_count) / 1000;
	printf("{\"mode\": \"%s\", \"partners\": %d, \"inflight\": %d, \"seconds\": %.1f, "
	       "\"sessions\": %ld, \"failed\": %ld, \"sessions_per_s\": %.1f, \"total_ok\": %ld, ",
	       L.srp ? "srp" : "pinned", L.n, L.inflight, elapsed, L.ok, L.failed,
	       (double)L.ok / elapsed, L.total_ok);
	pct("auth", L.auth_ms, L.nsamples);
	printf(", ");
	pct("ping", L.ping_ms, L.nsamples);
	printf(", ");
	pct("close", L.close_ms, L.nsamples);
	printf(", \"failures\": {");
	for (int i = 0; i < L.nfail_kinds; i++) {
		char esc[200];
		size_t k = 0;
		for (const char *c = L.fail_msg[i]; *c && k < sizeof(esc) - 2; c++)
			if (*c != '"' && *c != '\\' && (unsigned char)*c >= 32)
				esc[k++] = *c;
		esc[k] = 0;
		printf("%s\"%s\": %ld", i ? ", " : "", esc, L.fail_n[i]);
	}
	printf("}}\n");
	return 0;
}
