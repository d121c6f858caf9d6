/*
 * tests/fuzz/twopeers: two real peers in one process for the fuzz targets
 * of the protocol-2 state machines — VICTIM (what is fuzzed) and FUZZ (its
 * partner, whose own peer layer the harness drives), each a full instance
 * with peer/ and sync/ on one libuv loop, defined to each other and paired
 * by a real first contact in both directions (pins and pairing keys on
 * both sides). Instances live in /dev/shm when it exists, removed at exit.
 * FUZZ's inbound sessions go to talk as usual, or to the harness while
 * tp.f_inbound_ops is set. Static functions only: one includer per binary.
 * Reaches into peer/session_int.h to reset the admission state (rate
 * limits) between inputs, as fuzz_peer.c does.
 */
#ifndef RPL_TWOPEERS_H
#define RPL_TWOPEERS_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "../../peer/peer.h"
#include "../../peer/proto.h"
#include "../../peer/session.h"
#include "../../peer/session_int.h"
#include "../../sync/sync.h"
#include "../../sync/talk.h"
#include "../../util/log.h"
#include "../peerharness.h"

#define TP_VICTIM_PW "victim-server-pw"
#define TP_FUZZ_PW "fuzz-partner-pw"

struct tp_side {
	char dir[160];
	struct instance in;
	struct sync y;
	struct peer *p;
	int port;
};

static struct {
	uv_loop_t loop;
	char base[96];
	struct tp_side v, f;
	/* FUZZ's inbound sessions: to the harness while set, else to talk. */
	const struct session_ops *f_inbound_ops;
	void *f_inbound_arg;
	int ready;
} tp;

static void tp_halt(void *arg, const char *why)
{
	(void)arg;
	fprintf(stderr, "twopeers: a peer halted (%s)\n", why);
	abort();
}

static void tp_cleanup(void)
{
	if (tp.base[0])
		harness_rmtree(tp.base);
}

static const struct session_ops *tp_f_inbound(void *ctx, struct peer_session *s, int purpose,
					      void **arg)
{
	if (tp.f_inbound_ops) {
		*arg = tp.f_inbound_arg;
		return tp.f_inbound_ops;
	}
	return talk_inbound(ctx, s, purpose, arg);
}

static void tp_start_side(struct tp_side *sd, int is_fuzz)
{
	struct peer_hooks hooks = {0};

	sd->y.loop = &tp.loop;
	sd->y.in = &sd->in;
	sd->y.halt = tp_halt;
	sync_peer_hooks(&sd->y, &hooks);
	if (is_fuzz)
		hooks.inbound = tp_f_inbound;
	if (peer_new(&tp.loop, &sd->in, &hooks, &sd->p) < 0 || peer_start(sd->p) < 0 ||
	    sync_start(&sd->y, sd->p) < 0) {
		fprintf(stderr, "twopeers: a peer does not start\n");
		abort();
	}
}

/* ---- a talk session to completion ------------------------------------------ */

struct tp_talk {
	int done;
	struct session_result r;
};

static void tp_talk_done(struct sync *y, const char *server, const struct session_result *r,
			 const struct talk_outcome *o, void *arg)
{
	struct tp_talk *t = arg;
	(void)y, (void)server, (void)o;
	t->r = *r;
	t->done = 1;
}

/* Runs the loop until *flag is set or ms passed; 0 when set. */
static int tp_run_until(volatile int *flag, double ms)
{
	double t0 = harness_now_ms();
	while (!*flag) {
		if (harness_now_ms() - t0 > ms)
			return -1;
		uv_run(&tp.loop, UV_RUN_NOWAIT);
		if (!*flag)
			usleep(100);
	}
	return 0;
}

/* A PING of `from` to `to` by talk; the result (ok, verified_by). */
static int tp_ping(struct tp_side *from, const char *to, struct session_result *out)
{
	struct tp_talk t;

	memset(&t, 0, sizeof(t));
	if (talk_connect(&from->y, to, PURPOSE_PING, tp_talk_done, &t) < 0)
		return -1;
	if (tp_run_until(&t.done, 10000) < 0) {
		fprintf(stderr, "twopeers: a PING to %s did not end within 10 s\n", to);
		abort();
	}
	if (out)
		*out = t.r;
	return t.r.ok ? 0 : -1;
}

/* Both admission states as new: the inputs come faster than any partner
 * may open sessions, and failed proofs must not lock the harness out. */
static void tp_reset_admission(void)
{
	admit_init(&tp.v.p->adm);
	admit_init(&tp.f.p->adm);
}

static int tp_count(const struct session_info *i, void *arg)
{
	(void)i;
	++*(int *)arg;
	return 0;
}

static int tp_live(struct peer *p)
{
	int n = 0;
	peer_sessions_each(p, tp_count, &n);
	return n;
}

/* Both peers must hold no session within ms, else abort(): a session the
 * fuzz input left behind is a leak. */
static void tp_expect_quiet(double ms, const char *who)
{
	double t0 = harness_now_ms();
	while (tp_live(tp.v.p) > 0 || tp_live(tp.f.p) > 0) {
		if (harness_now_ms() - t0 > ms) {
			fprintf(stderr, "%s: %d VICTIM and %d FUZZ sessions left %.0f ms after the input\n",
				who, tp_live(tp.v.p), tp_live(tp.f.p), ms);
			abort();
		}
		uv_run(&tp.loop, UV_RUN_NOWAIT);
		usleep(100);
	}
}

/* A pinned PING both ways must still work: the fuzzed victim kept the
 * pairing whole. */
static void tp_health(const char *who)
{
	struct session_result r;

	tp_reset_admission();
	if (tp_ping(&tp.f, "VICTIM", &r) < 0 || strcmp(r.verified_by, "pin") != 0 ||
	    tp_ping(&tp.v, "FUZZ", &r) < 0 || strcmp(r.verified_by, "pin") != 0) {
		fprintf(stderr, "%s: a pinned PING between FUZZ and VICTIM fails: %s (%s)\n", who,
			r.message, r.verified_by);
		abort();
	}
}

static void tp_instance(struct tp_side *sd, const char *name, const char *pw)
{
	static const char *const opts[] = {"HANDSHAKETIMEOUT=5", "LOGLEVEL=error"};
	char err[256] = "";

	snprintf(sd->dir, sizeof(sd->dir), "%s/%s", tp.base, name);
	sd->port = harness_free_port();
	if (harness_instance(sd->dir, name, sd->port, pw, opts, 2, &sd->in, err, sizeof(err)) < 0) {
		fprintf(stderr, "twopeers: instance %s: %s\n", name, err);
		abort();
	}
}

/* Sets both peers up, paired. extra_defines runs on VICTIM's instance
 * before its peer starts (more partners). */
static void tp_start(void (*extra_defines)(struct instance *v))
{
	struct stat st;
	struct session_result r;

	wolfSSL_Init();
	signal(SIGPIPE, SIG_IGN); /* as the daemon: a write to a closed peer is an error, not death */
	log_set_level(getenv("FUZZ_PEER_LOG") ? LOG_DEBUG : LOG_ERROR);
	strcpy(tp.base, stat("/dev/shm", &st) == 0 ? "/dev/shm/rpl-fuzz2.XXXXXX" : "/tmp/rpl-fuzz2.XXXXXX");
	if (!mkdtemp(tp.base))
		abort();
	atexit(tp_cleanup);
	tp_instance(&tp.v, "VICTIM", TP_VICTIM_PW);
	tp_instance(&tp.f, "FUZZ", TP_FUZZ_PW);
	if (harness_define(&tp.v.in, "FUZZ", tp.f.port, TP_FUZZ_PW) < 0 ||
	    harness_define(&tp.f.in, "VICTIM", tp.v.port, TP_VICTIM_PW) < 0)
		abort();
	if (extra_defines)
		extra_defines(&tp.v.in);
	if (uv_loop_init(&tp.loop) < 0)
		abort();
	tp_start_side(&tp.v, 0);
	tp_start_side(&tp.f, 1);
	/* First contact both ways, then the pinned sessions. */
	if (tp_ping(&tp.f, "VICTIM", &r) < 0 || tp_ping(&tp.v, "FUZZ", &r) < 0) {
		fprintf(stderr, "twopeers: the first contact fails: %s\n", r.message);
		abort();
	}
	tp_health("twopeers");
	tp.ready = 1;
}

/* The fuzz input's frames: [type u8][length u16 BE][payload]. */
struct tp_frame {
	int type;
	const uint8_t *p;
	size_t n;
};

/* The next frame of d[*off..n); 0 at the end. */
static int tp_next_frame(const uint8_t *d, size_t n, size_t *off, struct tp_frame *f)
{
	size_t len = 0;

	if (*off >= n)
		return 0;
	f->type = d[(*off)++];
	if (*off + 2 <= n) {
		len = (size_t)d[*off] << 8 | d[*off + 1];
		*off += 2;
	} else {
		*off = n;
	}
	if (len > n - *off)
		len = n - *off;
	f->p = d + *off;
	f->n = len;
	*off += len;
	return 1;
}

#endif
