/*
 * The source side of replication: one outbound session of purpose REPL per
 * run of (node, target), a state machine over the messages of
 * sync/repl_wire.h, and the runs as processes. It sends the node summary,
 * the entries of the buckets that differ, then a window of objects; the
 * target says which chunks it lacks and the source sends exactly those, on
 * the bulk channel (SSL=NO on both sides) or inside TLS, as fast as the
 * data channel takes them (send back-pressure) and MAXBANDWIDTH allows.
 * Deletions are asked for only when REPLDELETEGUARD allows them (or
 * FORCE=YES). Every run ends with a state record and an activity-log entry
 * written in one transaction.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/bulk.h"
#include "../peer/dbw.h"
#include "../peer/proto.h"
#include "../peer/session.h"
#include "../store/actlog.h"
#include "../store/chunk.h"
#include "../store/node.h"
#include "../store/object.h"
#include "../store/server.h"
#include "../util/clock.h"
#include "../util/escape.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "admin.h"
#include "loopmon.h"
#include "process.h"
#include "repl.h"
#include "repl_wire.h"
#include "sync.h"

#define PROGRESS_MS 500
/* Chunk bytes one loop turn sends at most, all runs together; the rest
 * goes on the next turn, so encrypting (SSL=YES) never holds the loop for
 * long (about 6 ms of ChaCha20-Poly1305 here). Several callbacks of one
 * turn (writable, the target's R_NEED frames, the kick) share it. */
#define TURN_BYTES (2u << 20)
/* Bytes MAXBANDWIDTH lets through before it starts to count. */
#define BW_BURST (256u << 10)

enum sstate {
	S_CONNECTING,
	S_OPEN_SENT,
	S_SUMMARIZING,
	S_SUMMARY_SENT,
	S_LISTING,
	S_TRANSFER,
	S_DELETE_SENT,
	S_END_SENT,
	S_DONE,
};

static const char *sstate_name(int st)
{
	static const char *n[] = { "connecting", "opening",   "summarizing",
				   "comparing",  "comparing", "sending",
				   "deleting",   "ending",    "done" };
	return st >= 0 && st <= S_DONE ? n[st] : "?";
}

struct sobj {
	struct sobj *next, *prev;
	uint32_t seq;
	char *name;
	uint64_t size;
	struct chunk_ref *chunks;
	uint32_t nchunks, announced;
	int need_got;
};

struct squeued {
	uint8_t hash[HASH_LEN];
	uint32_t len;
	uint32_t reqno;
};

struct srun {
	struct srun *next;
	struct sync *y;
	uint64_t id;
	struct repl_request rq;
	struct peer_session *s, *bulk;
	int refs;
	int state;
	int finished;
	int bulk_ready;
	int use_bulk;
	struct outq q;
	uv_timer_t tick, bw, deadline, prog;
	/* Sending goes on in the next turn: an idle handle runs once a turn
	 * (a 0 ms timer restarted in its own callback would run again in the
	 * same turn, libuv 1.44). */
	uv_idle_t kick;
	/* the node */
	uint32_t node_id;
	uint64_t src_objects, src_bytes;
	/* comparing */
	uint8_t buckets[256];
	int nbuckets, bucket_i;
	uint8_t from[HASH_LEN];
	int from_set;
	/* what the target wants */
	uint8_t (*wants)[HASH_LEN];
	size_t nwants, capwants, want_i;
	int plan_got;
	uint64_t plan_want, plan_bytes, plan_delete, replica_objects, replica_bytes;
	int replica_exists;
	/* transfer */
	struct sobj *objs, *objs_tail, *need_next, *announcing;
	uint32_t nobjs, next_seq;
	uint64_t inflight_bytes, inflight_refs;
	struct squeued *cq;
	size_t cq_head, cq_n, cq_cap;
	uint32_t next_reqno;
	uint8_t *frame; /* data frame buffer: reqno + a chunk */
	int throttled;
	uint64_t data_start_ms;
	int bulk_err; /* why the bulk channel ended */
	char bulk_why[320];
	/* figures */
	struct repl_figures f;
	uint64_t done_bytes;
	uint64_t loop_max_us; /* the loop's longest turn during the run (CPU) */
	int watching;
	int64_t started;
	uint64_t start_ms;
	/* outcome */
	int final_state;
	int msg;
	char message[640];
	repl_progress_fn *progress;
	repl_done_fn *done;
	void *arg;
};

struct repl_runs {
	struct srun *runs;
	uint64_t turn;       /* loopmon_turn when turn_bytes was reset */
	uint64_t turn_bytes; /* chunk bytes sent in that turn */
	int stopping;        /* HALT: no new runs */
};

static void finish(struct srun *r, int state, int msg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void pump(struct srun *r);
static void pump_data(struct srun *r);

/* ---- lifetime --------------------------------------------------------------- */

static void sobj_free(struct sobj *o)
{
	free(o->name);
	free(o->chunks);
	free(o);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct srun *r = h->data;
	if (--r->refs == 0)
		free(r);
}

static void run_unref(struct srun *r)
{
	if (--r->refs > 0)
		return;
	outq_free(&r->q);
	for (struct sobj *o = r->objs, *n; o; o = n) {
		n = o->next;
		sobj_free(o);
	}
	free(r->wants);
	free(r->cq);
	free(r->frame);
	r->refs = 5;
	uv_close((uv_handle_t *)&r->kick, on_timer_closed);
	uv_close((uv_handle_t *)&r->tick, on_timer_closed);
	uv_close((uv_handle_t *)&r->bw, on_timer_closed);
	uv_close((uv_handle_t *)&r->deadline, on_timer_closed);
	uv_close((uv_handle_t *)&r->prog, on_timer_closed);
}

static void fill_progress(const struct srun *r, struct repl_progress *p)
{
	memset(p, 0, sizeof(*p));
	p->id = r->id;
	snprintf(p->node, sizeof(p->node), "%s", r->rq.node);
	snprintf(p->target, sizeof(p->target), "%s", r->rq.target);
	p->phase = sstate_name(r->state);
	p->state = r->finished ? r->final_state : REPL_RUNNING;
	p->msg = r->msg;
	snprintf(p->message, sizeof(p->message), "%s", r->message);
	p->f = r->f;
	p->want_objects = r->plan_want;
	p->want_bytes = r->plan_bytes;
	p->delete_objects = r->plan_delete;
	p->done_bytes = r->done_bytes;
	p->chunk_bytes = r->f.chunk_bytes_sent;
	p->seconds = (double)(clock_mono_ms() - r->start_ms) / 1000.0;
	p->started = r->started;
	p->loop_max_ms = (double)r->loop_max_us / 1000.0;
	p->replica_exists = r->replica_exists;
	p->replica_objects = r->replica_objects;
	p->replica_bytes = r->replica_bytes;
	p->source_objects = r->src_objects;
	p->source_bytes = r->src_bytes;
}

/* ---- the state record -------------------------------------------------------- */

struct record_job {
	struct repl_rec r; /* node, target and what this event sets */
	struct srun *run;  /* final: told once the record is committed */
	int final;
	int msg;
	char text[900];
};

static int record_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct record_job *j = arg;
	struct repl_rec cur;
	int rc = store_repl_get(txn, st, j->r.node, j->r.target, &cur);

	if (rc == -RPL_E_NOTFOUND) {
		memset(&cur, 0, sizeof(cur));
		snprintf(cur.node, sizeof(cur.node), "%s", j->r.node);
		snprintf(cur.target, sizeof(cur.target), "%s", j->r.target);
	} else if (rc < 0) {
		return rc;
	}
	cur.state = j->r.state;
	if (!j->final) {
		cur.last_start = j->r.last_start;
		cur.last_end = 0;
		cur.last_msg = RPL_I_REPL_STARTED;
		snprintf(cur.last_message, sizeof(cur.last_message), "running");
		memset(&cur.last, 0, sizeof(cur.last));
	} else {
		cur.last_start = j->r.last_start;
		cur.last_end = j->r.last_end;
		cur.last_msg = j->r.last_msg;
		snprintf(cur.last_message, sizeof(cur.last_message), "%s", j->r.last_message);
		cur.last = j->r.last;
		cur.runs++;
		cur.total_objects += j->r.last.objects;
		cur.total_bytes += j->r.last.bytes;
		cur.total_transferred += j->r.last.transferred;
		if (j->r.state == REPL_COMPLETED) {
			cur.last_success = j->r.last_end;
			cur.done = j->r.last;
		}
	}
	rc = store_repl_put(txn, st, &cur);
	if (rc == 0 && j->final)
		rc = store_actlog_add(txn, st, j->msg, "%s", j->text);
	return rc;
}

static void tell_done(struct srun *r);

static void record_done(int rc, void *arg)
{
	struct record_job *j = arg;

	if (rc < 0)
		log_code(-rc, "replication state not recorded: %s", rpl_msg_text(rc));
	if (j->run)
		tell_done(j->run);
	free(j);
}

/* Writes the state record; a final one tells the owner once committed, so
 * QUERY REPLICATION after REPLICATE NODE WAIT=YES shows the outcome. */
static void record(struct srun *r, int final, const char *text)
{
	struct record_job *j = calloc(1, sizeof(*j));

	if (!j) {
		if (final)
			tell_done(r);
		return;
	}
	snprintf(j->r.node, sizeof(j->r.node), "%s", r->rq.node);
	snprintf(j->r.target, sizeof(j->r.target), "%s", r->rq.target);
	j->r.state = final ? r->final_state : REPL_RUNNING;
	j->r.last_start = r->started;
	j->r.last_end = clock_now();
	j->r.last_msg = r->msg;
	snprintf(j->r.last_message, sizeof(j->r.last_message), "%.500s", r->message);
	j->r.last = r->f;
	j->final = final;
	j->msg = r->msg;
	if (text)
		snprintf(j->text, sizeof(j->text), "%s", text);
	if (final)
		j->run = r;
	if (dbw_submit(peer_dbw(r->y->peer), record_work, record_done, j) < 0) {
		free(j);
		if (final)
			tell_done(r);
	}
}

/* ---- the end of a run ----------------------------------------------------------- */

static void unlink_run(struct srun *r)
{
	for (struct srun **pp = &r->y->repl->runs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			return;
		}
}

/* The owner hears the outcome; the registry's reference goes. */
static void tell_done(struct srun *r)
{
	struct repl_progress p;

	fill_progress(r, &p);
	if (r->done)
		r->done(r->arg, &p);
	r->done = NULL;
	r->progress = NULL;
	run_unref(r);
}

static void finish(struct srun *r, int state, int msg, const char *fmt, ...)
{
	char text[900];
	double secs;
	va_list ap;

	if (r->finished)
		return;
	r->finished = 1;
	r->final_state = state;
	r->msg = msg;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	unlink_run(r);
	uv_timer_stop(&r->tick);
	uv_timer_stop(&r->bw);
	uv_timer_stop(&r->deadline);
	uv_timer_stop(&r->prog);
	uv_idle_stop(&r->kick);
	if (r->watching) {
		loopmon_unwatch(r->y->lm, &r->loop_max_us);
		r->watching = 0;
	}
	r->state = S_DONE;
	secs = (double)(clock_mono_ms() - r->start_ms) / 1000.0;
	if (r->rq.query_only) {
		snprintf(text, sizeof(text), "%s", r->message);
	} else {
		snprintf(
			text, sizeof(text),
			"replication of node %s to server %s %s: %.400s; %llu objects (%llu bytes) sent, %llu bytes transferred, %llu deleted, %llu failed, %.1f s, longest loop turn %.1f ms",
			r->rq.node, r->rq.target, repl_state_name(state), r->message,
			(unsigned long long)r->f.objects, (unsigned long long)r->f.bytes,
			(unsigned long long)r->f.transferred, (unsigned long long)r->f.deleted,
			(unsigned long long)r->f.failed, secs, (double)r->loop_max_us / 1000.0);
		log_code(msg, "%s", text);
	}
	if (r->bulk && !session_closing(r->bulk))
		session_close(r->bulk, 0, NULL);
	if (r->s && !session_closing(r->s))
		session_close(r->s, 0, NULL);
	if (r->rq.query_only)
		tell_done(r);
	else
		record(r, 1, text);
}

static void fail_rc(struct srun *r, int rc, const char *what)
{
	finish(r, REPL_FAILED, RPL_E_REPL_FAILED, "%s: %s %s", what, rpl_msg_id(rc),
	       rpl_msg_text(rc));
}

/* ---- sending ---------------------------------------------------------------------- */

static int ctl_send(struct srun *r, int type, struct wbuf *w)
{
	int rc;

	r->f.transferred += REPL_FRAME_BYTES(w->len);
	rc = outq_send(&r->q, r->s, type, w);
	if (rc < 0)
		fail_rc(r, rc, "sending to the target");
	return rc;
}

/* The control session may take a pump's frame now. */
static int ctl_room(struct srun *r)
{
	return !r->q.head && session_queued(r->s) < SESSION_HIGH_WATER && !session_closing(r->s);
}

/* ---- comparing: the entries of differing buckets ---------------------------------- */

static void pump_entries(struct srun *r)
{
	while (r->state == S_LISTING && r->bucket_i < r->nbuckets && ctl_room(r)) {
		int b = r->buckets[r->bucket_i], last = 1, rc;
		struct object_iter it;
		struct object_view v;
		struct wbuf ents, w;
		MDB_txn *txn;
		size_t n = 0;

		if (!r->from_set) {
			memset(r->from, 0, HASH_LEN);
			r->from[0] = (uint8_t)b;
			r->from_set = 1;
		}
		if ((rc = store_begin(&r->y->in->store, 0, &txn)) < 0) {
			fail_rc(r, rc, "reading the node");
			return;
		}
		wbuf_init(&ents);
		rc = store_object_iter_open(txn, &r->y->in->store, r->node_id, r->from, &it);
		while (rc == 0 && (rc = store_object_iter_next(&it, &v)) == 1) {
			struct repl_entry e;
			uint8_t packed[REPL_ENTRY_LEN];
			rc = 0;
			if (v.name_hash[0] != b)
				break;
			if (n == REPL_ENTRIES_PER_FRAME) {
				memcpy(r->from, v.name_hash,
				       HASH_LEN); /* the next frame starts here */
				last = 0;
				break;
			}
			memcpy(e.name_hash, v.name_hash, HASH_LEN);
			memcpy(e.digest, v.digest, HASH_LEN);
			e.size = v.size;
			e.mtime_ns = v.mtime_ns;
			e.mode = v.mode;
			repl_entry_pack(&e, packed);
			wbuf_put(&ents, packed, REPL_ENTRY_LEN);
			n++;
		}
		if (rc == 1)
			rc = 0;
		store_object_iter_close(&it);
		store_abort(txn);
		if (rc == 0)
			rc = wbuf_status(&ents);
		if (rc < 0) {
			wbuf_free(&ents);
			fail_rc(r, rc, "reading the node");
			return;
		}
		wbuf_init(&w);
		tlv_put_u64(&w, RF_BUCKET, (uint64_t)b);
		tlv_put_u64(&w, RF_LAST, (uint64_t)last);
		tlv_put(&w, RF_ENTRIES, ents.p, ents.len);
		wbuf_free(&ents);
		rc = ctl_send(r, R_ENTRIES, &w);
		wbuf_free(&w);
		if (rc < 0)
			return;
		if (last) {
			r->bucket_i++;
			r->from_set = 0;
		}
	}
}

/* ---- transfer: objects ------------------------------------------------------------ */

static int window_open(const struct srun *r)
{
	if (r->nobjs == 0)
		return 1;
	return r->nobjs < REPL_WINDOW_OBJECTS && r->inflight_bytes < REPL_WINDOW_BYTES &&
	       r->inflight_refs < REPL_MAX_INFLIGHT_REFS / 2;
}

/* The next part of a long chunk list (R_OBJECT_MORE). */
static int send_refs(struct srun *r, struct sobj *o)
{
	uint32_t n = o->nchunks - o->announced;
	uint8_t *packed;
	struct wbuf w;
	int rc;

	if (n > REPL_REFS_PER_FRAME)
		n = REPL_REFS_PER_FRAME;
	if (!(packed = malloc((size_t)n * CHUNK_REF_WIRE + 1)))
		return -RPL_E_NOMEM;
	for (uint32_t i = 0; i < n; i++)
		chunk_ref_pack(&o->chunks[o->announced + i], packed + (size_t)i * CHUNK_REF_WIRE);
	wbuf_init(&w);
	tlv_put_u64(&w, RF_SEQ, o->seq);
	tlv_put(&w, RF_CHUNKS, packed, (size_t)n * CHUNK_REF_WIRE);
	free(packed);
	o->announced += n;
	rc = ctl_send(r, R_OBJECT_MORE, &w);
	wbuf_free(&w);
	return rc;
}

/* Reads the next wanted object and announces it. 0 when one was sent or
 * skipped, negative on error. */
static int announce_next(struct srun *r)
{
	const uint8_t *hash = r->wants[r->want_i++];
	struct object_view v;
	struct sobj *o;
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&r->y->in->store, 0, &txn)) < 0)
		return rc;
	rc = store_object_get_by_hash(txn, &r->y->in->store, r->node_id, hash, &v);
	if (rc == -RPL_E_OBJ_UNKNOWN) {
		store_abort(txn); /* deleted since it was listed: the next run deletes it there */
		return 0;
	}
	if (rc < 0 || !(o = calloc(1, sizeof(*o)))) {
		store_abort(txn);
		return rc < 0 ? rc : -RPL_E_NOMEM;
	}
	o->seq = r->next_seq++;
	o->size = v.size;
	o->nchunks = v.nchunks;
	o->name = malloc(v.name_len + 1);
	o->chunks = malloc((size_t)v.nchunks * sizeof(*o->chunks) + 1);
	if (!o->name || !o->chunks) {
		store_abort(txn);
		sobj_free(o);
		return -RPL_E_NOMEM;
	}
	memcpy(o->name, v.name, v.name_len);
	o->name[v.name_len] = 0;
	for (uint32_t i = 0; i < v.nchunks; i++)
		object_view_chunk(&v, i, &o->chunks[i]);
	{
		/* mtime and mode ride with the first frame */
		struct wbuf w;
		uint32_t n = o->nchunks > REPL_REFS_PER_FRAME ? REPL_REFS_PER_FRAME : o->nchunks;
		uint8_t *packed = malloc((size_t)n * CHUNK_REF_WIRE + 1);
		if (!packed) {
			store_abort(txn);
			sobj_free(o);
			return -RPL_E_NOMEM;
		}
		for (uint32_t i = 0; i < n; i++)
			chunk_ref_pack(&o->chunks[i], packed + (size_t)i * CHUNK_REF_WIRE);
		wbuf_init(&w);
		tlv_put_u64(&w, RF_SEQ, o->seq);
		tlv_put(&w, RF_NAME, v.name, v.name_len);
		tlv_put_u64(&w, RF_SIZE, v.size);
		tlv_put_u64(&w, RF_MTIME, (uint64_t)v.mtime_ns);
		tlv_put_u64(&w, RF_MODE, v.mode);
		tlv_put(&w, RF_DIGEST, v.digest, HASH_LEN);
		tlv_put_u64(&w, RF_NCHUNKS, v.nchunks);
		tlv_put(&w, RF_CHUNKS, packed, (size_t)n * CHUNK_REF_WIRE);
		free(packed);
		store_abort(txn);
		o->announced = n;
		o->prev = r->objs_tail;
		if (r->objs_tail)
			r->objs_tail->next = o;
		else
			r->objs = o;
		r->objs_tail = o;
		if (!r->need_next)
			r->need_next = o;
		r->nobjs++;
		r->inflight_bytes += o->size;
		r->inflight_refs += o->nchunks;
		rc = ctl_send(r, R_OBJECT, &w);
		wbuf_free(&w);
		if (rc < 0)
			return rc;
	}
	if (o->announced < o->nchunks)
		r->announcing = o;
	return 0;
}

static void check_transfer_done(struct srun *r)
{
	struct wbuf w;

	if (r->finished || r->state != S_TRANSFER || r->want_i < r->nwants || r->announcing ||
	    r->objs || r->cq_n)
		return;
	wbuf_init(&w);
	if (r->plan_delete) {
		r->state = S_DELETE_SENT;
		(void)ctl_send(r, R_DELETE, &w);
	} else {
		r->state = S_END_SENT;
		(void)ctl_send(r, R_END, &w);
	}
	wbuf_free(&w);
}

static void pump_objects(struct srun *r)
{
	int rc;

	while (!r->finished && r->state == S_TRANSFER && ctl_room(r)) {
		if (r->announcing) {
			if ((rc = send_refs(r, r->announcing)) < 0) {
				fail_rc(r, rc, "announcing an object");
				return;
			}
			if (r->announcing->announced == r->announcing->nchunks)
				r->announcing = NULL;
			continue;
		}
		if (r->want_i >= r->nwants || !window_open(r))
			break;
		if ((rc = announce_next(r)) < 0) {
			fail_rc(r, rc, "reading an object");
			return;
		}
	}
	check_transfer_done(r);
}

/* ---- transfer: chunk bytes ----------------------------------------------------------- */

static struct peer_session *data_session(struct srun *r)
{
	if (r->use_bulk)
		return r->bulk_ready && r->bulk && !session_closing(r->bulk) ? r->bulk : NULL;
	return r->s && !session_closing(r->s) ? r->s : NULL;
}

static void on_bw_timer(uv_timer_t *t)
{
	struct srun *r = t->data;
	r->throttled = 0;
	pump_data(r);
}

/* MAXBANDWIDTH: 1 when the run must wait before sending more. */
static int throttle(struct srun *r)
{
	uint64_t bw = r->y->in->conf.maxbandwidth, now = clock_mono_ms(), allowed, over;

	if (!bw)
		return 0;
	if (!r->data_start_ms)
		r->data_start_ms = now;
	allowed = bw * (now - r->data_start_ms) / 1000 + BW_BURST;
	if (r->f.chunk_bytes_sent <= allowed)
		return 0;
	over = r->f.chunk_bytes_sent - allowed;
	r->throttled = 1;
	uv_timer_start(&r->bw, on_bw_timer, over * 1000 / bw + 1, 0);
	return 1;
}

static void on_kick(uv_idle_t *t)
{
	uv_idle_stop(t);
	pump_data(t->data);
}

static void pump_data(struct srun *r)
{
	struct peer_session *d = data_session(r);
	struct repl_runs *rs = r->y->repl;
	MDB_txn *txn = NULL;
	int rc = 0;

	if (r->finished || !d || r->throttled || !r->cq_n)
		return;
	uint64_t turn = loopmon_turn(r->y->lm);
	if (rs->turn != turn) {
		rs->turn = turn;
		rs->turn_bytes = 0;
	}
	if (d == r->s && r->q.head)
		return; /* control frames first */
	if (!r->frame && !(r->frame = malloc(4 + CHUNK_MAX))) {
		fail_rc(r, -RPL_E_NOMEM, "sending chunks");
		return;
	}
	while (r->cq_n && !throttle(r) && session_queued(d) < SESSION_HIGH_WATER) {
		if (rs->turn_bytes >= TURN_BYTES) {
			uv_idle_start(&r->kick, on_kick);
			break;
		}
		struct squeued *c = &r->cq[r->cq_head];
		const uint8_t *data;
		size_t n;
		struct wbuf w;
		int type = R_CHUNK;

		if (!txn && (rc = store_begin(&r->y->in->store, 0, &txn)) < 0)
			break;
		r->frame[0] = (uint8_t)(c->reqno >> 24);
		r->frame[1] = (uint8_t)(c->reqno >> 16);
		r->frame[2] = (uint8_t)(c->reqno >> 8);
		r->frame[3] = (uint8_t)c->reqno;
		rc = store_chunk_data(txn, &r->y->in->store, c->hash, &data, &n);
		if (rc == 0 && n == c->len) {
			memcpy(r->frame + 4, data, n);
		} else if (rc == 0 || rc == -RPL_E_NOTFOUND) {
			type = R_SKIP; /* changed since it was announced */
			n = 0;
			rc = 0;
		} else {
			break;
		}
		w.p = r->frame;
		w.len = 4 + n;
		w.cap = 4 + CHUNK_MAX;
		w.failed = 0;
		rc = session_send(d, type, &w);
		if (rc == -RPL_E_AGAIN) {
			rc = 0;
			break;
		}
		if (rc < 0)
			break;
		r->f.transferred += REPL_FRAME_BYTES(w.len);
		if (type == R_CHUNK) {
			r->f.chunks_sent++;
			r->f.chunk_bytes_sent += n;
		}
		rs->turn_bytes += w.len;
		r->cq_head = (r->cq_head + 1) % r->cq_cap;
		r->cq_n--;
	}
	store_abort(txn);
	if (rc < 0)
		fail_rc(r, rc, "sending chunks");
	else
		check_transfer_done(r);
}

static int cq_push(struct srun *r, const struct chunk_ref *c)
{
	if (r->cq_n == r->cq_cap) {
		size_t cap = r->cq_cap ? r->cq_cap * 2 : 1024;
		struct squeued *nq = malloc(cap * sizeof(*nq));
		if (!nq)
			return -RPL_E_NOMEM;
		for (size_t i = 0; i < r->cq_n; i++)
			nq[i] = r->cq[(r->cq_head + i) % r->cq_cap];
		free(r->cq);
		r->cq = nq;
		r->cq_cap = cap;
		r->cq_head = 0;
	}
	struct squeued *q = &r->cq[(r->cq_head + r->cq_n) % r->cq_cap];
	memcpy(q->hash, c->hash, HASH_LEN);
	q->len = c->len;
	q->reqno = r->next_reqno++;
	r->cq_n++;
	return 0;
}

static void pump(struct srun *r)
{
	if (r->finished)
		return;
	if (r->state == S_LISTING)
		pump_entries(r);
	if (r->state == S_TRANSFER)
		pump_objects(r);
	pump_data(r);
}

/* ---- messages from the target -------------------------------------------------------- */

static int on_need(struct srun *r, struct cursor *p)
{
	struct cursor cur = *p, val, idx = { 0 };
	struct sobj *o = r->need_next;
	uint64_t seq = UINT64_MAX;
	uint16_t tag;
	int rc;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == RF_SEQ)
			rc = tlv_get_u64(&val, &seq);
		else if (tag == RF_INDEXES)
			idx = val;
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	if (rc < 0 || !o || seq != o->seq || o->announced != o->nchunks || !idx.p ||
	    cur_left(&idx) % 4)
		return -RPL_E_PROTOCOL;
	for (size_t i = 0; i < cur_left(&idx) / 4; i++) {
		uint32_t k;
		int64_t prev = -1;
		struct cursor c1;
		cur_init(&c1, idx.p + idx.off + i * 4, 4);
		(void)cur_u32(&c1, &k);
		if (i) {
			struct cursor c0;
			uint32_t kp;
			cur_init(&c0, idx.p + idx.off + (i - 1) * 4, 4);
			(void)cur_u32(&c0, &kp);
			prev = kp;
		}
		/* Strictly increasing: each chunk of the object at most once. */
		if (k >= o->nchunks || (int64_t)k <= prev)
			return -RPL_E_PROTOCOL;
		if ((rc = cq_push(r, &o->chunks[k])) < 0)
			return rc;
	}
	o->need_got = 1;
	r->need_next = o->next;
	pump_data(r);
	return 0;
}

static int on_result(struct srun *r, struct cursor *p)
{
	struct cursor cur = *p, val;
	uint64_t seq = UINT64_MAX, code = 0;
	char text[400] = "";
	struct sobj *o;
	uint16_t tag;
	int rc;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == RF_SEQ)
			rc = tlv_get_u64(&val, &seq);
		else if (tag == RF_CODE)
			rc = tlv_get_u64(&val, &code);
		else if (tag == RF_TEXT)
			(void)tlv_get_str(&val, text, sizeof(text));
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	for (o = r->objs; o && o->seq != seq; o = o->next)
		;
	if (rc < 0 || !o)
		return -RPL_E_PROTOCOL;
	if (r->need_next == o)
		r->need_next = o->next; /* answered without chunks */
	if (code == 0) {
		r->f.objects++;
		r->f.bytes += o->size;
	} else {
		r->f.failed++;
		log_error(RPL_E_REPL_FAILED_OBJ,
			  "replication of node %s to server %s: object %s failed there: %s %s",
			  r->rq.node, r->rq.target, ESC(o->name),
			  rpl_msg_id(code < RPL_MSG_COUNT ? (int)code : RPL_E_INTERNAL), ESC(text));
	}
	r->done_bytes += o->size;
	if (o->prev)
		o->prev->next = o->next;
	else
		r->objs = o->next;
	if (o->next)
		o->next->prev = o->prev;
	else
		r->objs_tail = o->prev;
	if (r->announcing == o)
		return -RPL_E_PROTOCOL;
	r->nobjs--;
	r->inflight_bytes -= o->size;
	r->inflight_refs -= o->nchunks;
	sobj_free(o);
	pump(r);
	return 0;
}

static void summary_done(uv_work_t *req, int status);

struct ssum_job {
	uv_work_t req;
	struct srun *r;
	struct node_summary sum;
	int rc;
};

static void summary_work(uv_work_t *req)
{
	struct ssum_job *j = req->data;
	MDB_txn *txn;

	j->rc = store_begin(&j->r->y->in->store, 0, &txn);
	if (j->rc == 0) {
		j->rc = store_node_summary(txn, &j->r->y->in->store, j->r->node_id, &j->sum);
		store_abort(txn);
	}
}

static void summary_done(uv_work_t *req, int status)
{
	struct ssum_job *j = req->data;
	struct srun *r = j->r;

	if (!r->finished) {
		if (status < 0 || j->rc < 0) {
			fail_rc(r, status < 0 ? -RPL_E_INTERNAL : j->rc, "summarizing the node");
		} else {
			uint8_t *packed = malloc(REPL_SUMMARY_LEN);
			struct wbuf w;
			if (!packed) {
				fail_rc(r, -RPL_E_NOMEM, "summarizing the node");
			} else {
				for (int b = 0; b < 256; b++) {
					uint8_t *e = packed + b * (4 + HASH_LEN);
					e[0] = (uint8_t)(j->sum.count[b] >> 24);
					e[1] = (uint8_t)(j->sum.count[b] >> 16);
					e[2] = (uint8_t)(j->sum.count[b] >> 8);
					e[3] = (uint8_t)j->sum.count[b];
					memcpy(e + 4, j->sum.bucket[b], HASH_LEN);
				}
				r->src_objects = j->sum.objects;
				r->src_bytes = j->sum.bytes;
				wbuf_init(&w);
				tlv_put(&w, RF_SUMMARY, packed, REPL_SUMMARY_LEN);
				free(packed);
				r->state = S_SUMMARY_SENT;
				(void)ctl_send(r, R_SUMMARY, &w);
				wbuf_free(&w);
			}
		}
	}
	free(j);
	run_unref(r);
}

static const struct session_ops bulk_ops;

static int on_open_ok(struct srun *r, struct cursor *p)
{
	struct cursor cur = *p, val;
	uint8_t token[BULK_TOKEN_LEN];
	uint64_t exists = 0;
	struct ssum_job *j;
	uint16_t tag;
	int rc, have_token = 0;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == RF_EXISTS)
			rc = tlv_get_u64(&val, &exists);
		else if (tag == RF_OBJECTS)
			rc = tlv_get_u64(&val, &r->replica_objects);
		else if (tag == RF_BYTES)
			rc = tlv_get_u64(&val, &r->replica_bytes);
		else if (tag == RF_TOKEN) {
			rc = tlv_get_fixed(&val, token, BULK_TOKEN_LEN);
			have_token = rc == 0;
		}
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	if (rc < 0 || (have_token && (!r->use_bulk || r->rq.query_only)))
		return -RPL_E_PROTOCOL;
	r->replica_exists = exists != 0;
	if (r->rq.query_only) {
		finish(r, REPL_COMPLETED, RPL_OK,
		       "node %s: %llu objects (%llu bytes) here, %s on %s", r->rq.node,
		       (unsigned long long)r->src_objects, (unsigned long long)r->src_bytes,
		       r->replica_exists ? "its replica holds" : "no replica", r->rq.target);
		return 0;
	}
	r->use_bulk = have_token;
	if (have_token) {
		r->refs++;
		rc = peer_bulk_connect(r->y->peer, r->rq.target, token, &bulk_ops, r);
		if (rc < 0) {
			r->refs--;
			return rc;
		}
	}
	if (!(j = calloc(1, sizeof(*j))))
		return -RPL_E_NOMEM;
	j->r = r;
	j->req.data = j;
	r->state = S_SUMMARIZING;
	r->refs++;
	if (uv_queue_work(r->y->loop, &j->req, summary_work, summary_done) < 0) {
		r->refs--;
		free(j);
		return -RPL_E_INTERNAL;
	}
	return 0;
}

static int on_buckets(struct srun *r, struct cursor *p)
{
	struct cursor cur = *p, val;
	uint16_t tag;
	int rc, got = 0;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0)
		if (tag == RF_BUCKETS) {
			size_t n = cur_left(&val);
			if (n > 256)
				return -RPL_E_PROTOCOL;
			for (size_t i = 0; i < n; i++)
				if (i && val.p[val.off + i] <= val.p[val.off + i - 1])
					return -RPL_E_PROTOCOL;
			memcpy(r->buckets, val.p + val.off, n);
			r->nbuckets = (int)n;
			got = 1;
		}
	if (rc < 0 || !got)
		return -RPL_E_PROTOCOL;
	r->state = S_LISTING;
	pump_entries(r);
	return 0;
}

static int on_want(struct srun *r, struct cursor *p)
{
	struct cursor cur = *p, val;
	uint16_t tag;
	int rc;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		size_t n;
		if (tag != RF_HASHES)
			continue;
		if (cur_left(&val) % HASH_LEN)
			return -RPL_E_PROTOCOL;
		n = cur_left(&val) / HASH_LEN;
		/* The target may want each of our objects once, no more. */
		if (r->nwants + n > r->src_objects + 1)
			return -RPL_E_PROTOCOL;
		if (r->nwants + n > r->capwants) {
			size_t cap = r->capwants ? r->capwants : 256;
			while (cap < r->nwants + n)
				cap *= 2;
			void *np = realloc(r->wants, cap * HASH_LEN);
			if (!np)
				return -RPL_E_NOMEM;
			r->wants = np;
			r->capwants = cap;
		}
		memcpy(r->wants[r->nwants], val.p + val.off, n * HASH_LEN);
		r->nwants += n;
	}
	return rc < 0 ? -RPL_E_PROTOCOL : 0;
}

static int on_plan(struct srun *r, struct cursor *p)
{
	struct cursor cur = *p, val;
	int guard = r->y->in->conf.repldeleteguard;
	uint16_t tag;
	int rc;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == RF_WANT)
			rc = tlv_get_u64(&val, &r->plan_want);
		else if (tag == RF_WANT_BYTES)
			rc = tlv_get_u64(&val, &r->plan_bytes);
		else if (tag == RF_DELETE)
			rc = tlv_get_u64(&val, &r->plan_delete);
		else if (tag == RF_OBJECTS)
			rc = tlv_get_u64(&val, &r->replica_objects);
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	if (rc < 0 || r->plan_want != r->nwants || r->bucket_i < r->nbuckets)
		return -RPL_E_PROTOCOL;
	if (r->plan_delete && !r->rq.force &&
	    r->plan_delete * 100 > (uint64_t)guard * r->replica_objects) {
		finish(r, REPL_FAILED, RPL_E_REPL_GUARD,
		       "the run would delete %llu of the %llu objects (%.0f%%) of the replica of node %s on %s; REPLDELETEGUARD is %d%%; nothing was deleted, nothing sent",
		       (unsigned long long)r->plan_delete, (unsigned long long)r->replica_objects,
		       r->replica_objects
			       ? 100.0 * (double)r->plan_delete / (double)r->replica_objects
			       : 100.0,
		       r->rq.node, r->rq.target, guard);
		return 0;
	}
	r->plan_got = 1;
	r->state = S_TRANSFER;
	pump(r);
	return 0;
}

static int on_frame(struct peer_session *s, int type, struct cursor *p, void *arg)
{
	struct srun *r = arg;
	int rc = -1;

	if (r->finished)
		return 0;
	r->f.transferred += REPL_FRAME_BYTES(cur_left(p));
	switch (type) {
	case R_TICK:
		if (r->state <= S_OPEN_SENT)
			break;
		return 0;
	case MSG_ERROR: session_on_error_frame(s, p); return 0;
	case R_OPEN_OK:
		if (r->state != S_OPEN_SENT)
			break;
		rc = on_open_ok(r, p);
		break;
	case R_BUCKETS:
		if (r->state != S_SUMMARY_SENT)
			break;
		rc = on_buckets(r, p);
		break;
	case R_WANT:
		if (r->state != S_LISTING)
			break;
		rc = on_want(r, p);
		break;
	case R_PLAN:
		if (r->state != S_LISTING)
			break;
		rc = on_plan(r, p);
		break;
	case R_NEED:
		if (r->state != S_TRANSFER)
			break;
		rc = on_need(r, p);
		break;
	case R_RESULT:
		if (r->state != S_TRANSFER)
			break;
		rc = on_result(r, p);
		break;
	case R_DELETED:
		if (r->state != S_DELETE_SENT)
			break;
		{
			struct cursor cur = *p, val;
			uint16_t tag;
			while ((rc = tlv_next(&cur, &tag, &val)) > 0)
				if (tag == RF_DELETE && tlv_get_u64(&val, &r->f.deleted) < 0)
					rc = -1;
			if (rc < 0)
				return -RPL_E_PROTOCOL;
			struct wbuf w;
			wbuf_init(&w);
			r->state = S_END_SENT;
			rc = ctl_send(r, R_END, &w);
			wbuf_free(&w);
		}
		break;
	case R_END_OK:
		if (r->state != S_END_SENT)
			break;
		{
			struct cursor cur = *p, val;
			uint16_t tag;
			while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
				if (tag == RF_OBJECTS)
					rc = tlv_get_u64(&val, &r->replica_objects);
				else if (tag == RF_BYTES)
					rc = tlv_get_u64(&val, &r->replica_bytes);
				if (rc < 0)
					return -RPL_E_PROTOCOL;
			}
			if (r->f.failed)
				finish(r, REPL_FAILED, RPL_E_REPL_FAILED_OBJ,
				       "%llu objects failed on the target (logged there); the next run sends them again",
				       (unsigned long long)r->f.failed);
			else
				finish(r, REPL_COMPLETED, RPL_I_REPL_DONE,
				       "the replica holds %llu objects (%llu bytes)",
				       (unsigned long long)r->replica_objects,
				       (unsigned long long)r->replica_bytes);
			return 0;
		}
	}
	if (rc == -1) {
		char why[160];
		snprintf(why, sizeof(why), "message %d not expected in state %s", type,
			 sstate_name(r->state));
		session_unexpected(s, type, sstate_name(r->state));
		finish(r, REPL_FAILED, RPL_E_PROTOCOL, "protocol error: %s", why);
		return 0;
	}
	if (rc < 0 && !r->finished) {
		if (rc == -RPL_E_PROTOCOL)
			session_send_error(s, RPL_E_PROTOCOL, "malformed replication message");
		finish(r, REPL_FAILED, -rc, "handling message %d in state %s: %s", type,
		       sstate_name(r->state), rpl_msg_text(rc));
	}
	return 0;
}

static void on_writable(struct peer_session *s, void *arg)
{
	struct srun *r = arg;
	int rc;

	if (r->finished)
		return;
	if ((rc = outq_flush(&r->q, s)) < 0) {
		fail_rc(r, rc, "sending to the target");
		return;
	}
	pump(r);
}

static void on_tick(uv_timer_t *t)
{
	struct srun *r = t->data;
	struct wbuf w;

	wbuf_init(&w);
	if (!r->finished && r->state > S_OPEN_SENT)
		(void)ctl_send(r, R_TICK, &w);
	wbuf_free(&w);
}

static void on_ready(struct peer_session *s, void *arg)
{
	struct srun *r = arg;
	uint64_t ms = (uint64_t)r->y->in->conf.commtimeout * 1000 / 3;
	struct server_rec sr;
	unsigned flags = 0;
	MDB_txn *txn;
	struct wbuf w;

	r->s = s;
	if (r->finished) {
		session_close(s, 0, NULL); /* cancelled while it connected */
		return;
	}
	if (session_proto(s) != 2) {
		finish(r, REPL_FAILED, RPL_E_REPL_PROTO1,
		       "server %s answered only over down-level protocol %d; replication never runs over it",
		       r->rq.target, session_proto(s));
		return;
	}
	if (store_begin(&r->y->in->store, 0, &txn) == 0) {
		if (store_server_get(txn, &r->y->in->store, r->rq.target, &sr) == 0) {
			r->use_bulk = !sr.ssl;
			server_rec_free(&sr);
		}
		store_abort(txn);
	}
	if (r->rq.query_only)
		flags |= RFLAG_QUERY;
	else if (r->use_bulk)
		flags |= RFLAG_BULK;
	wbuf_init(&w);
	tlv_put_u64(&w, RF_VERSION, REPL_VERSION);
	tlv_put_str(&w, RF_NODE, r->rq.node);
	tlv_put_u64(&w, RF_FLAGS, flags);
	tlv_put_u64(&w, RF_OBJECTS, r->src_objects);
	tlv_put_u64(&w, RF_BYTES, r->src_bytes);
	r->state = S_OPEN_SENT;
	(void)ctl_send(r, R_OPEN, &w);
	wbuf_free(&w);
	if (ms > 10000)
		ms = 10000;
	if (ms < 1000)
		ms = 1000;
	uv_timer_start(&r->tick, on_tick, ms, ms);
}

static void on_closed(struct peer_session *s, const struct session_result *res, void *arg)
{
	struct srun *r = arg;

	(void)s;
	if (!r->finished) {
		if (res->err == -RPL_E_LEGACY_ONLY || res->proto == 1)
			finish(r, REPL_FAILED, RPL_E_REPL_PROTO1,
			       "server %s answered only over down-level protocol 1 (%s); replication never runs over it",
			       r->rq.target, res->message);
		else if (res->err == -RPL_E_LEGACY_ONLY)
			finish(r, REPL_FAILED, RPL_E_REPL_PROTO1, "%s", res->message);
		else if (res->partner_err)
			finish(r, REPL_FAILED,
			       res->partner_err == RPL_E_PARTNER_REFUSED ? RPL_E_REPL_REFUSED
									 : res->partner_err,
			       "%s", res->message);
		else
			finish(r, REPL_FAILED, res->ok ? RPL_E_CLOSED : -res->err, "%s",
			       res->ok ? "the target ended the session" : res->message);
	}
	r->s = NULL;
	run_unref(r);
}

static const struct session_ops source_ops = {
	.ready = on_ready,
	.frame = on_frame,
	.writable = on_writable,
	.closed = on_closed,
};

/* ---- the bulk channel ------------------------------------------------------------------ */

static void bulk_ready(struct peer_session *s, void *arg)
{
	struct srun *r = arg;

	r->bulk = s;
	r->bulk_ready = 1;
	pump_data(r);
}

static int bulk_frame(struct peer_session *s, int type, struct cursor *p, void *arg)
{
	struct srun *r = arg;

	(void)p;
	if (type == R_TICK || r->finished)
		return 0;
	session_unexpected(s, type, "bulk");
	return 0;
}

static void bulk_writable(struct peer_session *s, void *arg)
{
	(void)s;
	pump_data(arg);
}

static void on_bulk_lost(uv_timer_t *t)
{
	struct srun *r = t->data;
	finish(r, REPL_FAILED, r->bulk_err, "the bulk channel ended: %s", r->bulk_why);
}

/* The bulk channel ended while the session goes on: the target's reason,
 * if it has one, comes on the session (MSG_ERROR) a moment later, so the
 * run waits for it briefly before it reports the channel's end. */
static void bulk_closed(struct peer_session *s, const struct session_result *res, void *arg)
{
	struct srun *r = arg;

	(void)s;
	r->bulk = NULL;
	r->bulk_ready = 0;
	if (!r->finished) {
		r->bulk_err = res->ok ? RPL_E_CLOSED : -res->err;
		snprintf(r->bulk_why, sizeof(r->bulk_why), "%.300s",
			 res->ok ? "closed by the target" : res->message);
		if (r->s && !session_closing(r->s)) {
			r->throttled = 1; /* no more data: the channel is gone */
			uv_timer_start(&r->bw, on_bulk_lost, 2000, 0);
		} else if (!r->s) {
			on_bulk_lost(&r->bw);
		}
		/* else the session is closing too: its closed callback, due
		 * on this turn, reports the target's reason. */
	}
	run_unref(r);
}

static const struct session_ops bulk_ops = {
	.ready = bulk_ready,
	.frame = bulk_frame,
	.writable = bulk_writable,
	.closed = bulk_closed,
};

/* ---- timers ------------------------------------------------------------------------------ */

static void on_deadline(uv_timer_t *t)
{
	struct srun *r = t->data;
	finish(r, REPL_CANCELLED, RPL_W_REPL_CANCELLED,
	       "DURATION of %lld s reached; the next run resumes", (long long)r->rq.duration);
}

static void on_progress_timer(uv_timer_t *t)
{
	struct srun *r = t->data;
	struct repl_progress p;

	if (r->finished || !r->progress)
		return;
	fill_progress(r, &p);
	r->progress(r->arg, &p);
}

/* ---- the API ------------------------------------------------------------------------------ */

int repl_start(struct sync *y, const struct repl_request *rq, repl_progress_fn *progress,
	       repl_done_fn *done, void *arg, uint64_t *id, char *why, size_t whysz)
{
	struct node_rec nr;
	struct srun *r;
	MDB_txn *txn;
	int rc;

	why[0] = 0;
	if (y->repl->stopping)
		return -RPL_E_HALTING;
	if (!rq->query_only)
		for (struct srun *t = y->repl->runs; t; t = t->next)
			if (!t->rq.query_only && strcasecmp(t->rq.node, rq->node) == 0 &&
			    strcasecmp(t->rq.target, rq->target) == 0) {
				snprintf(
					why, whysz,
					"node %s is replicating to server %s already (process %llu)",
					t->rq.node, t->rq.target, (unsigned long long)t->id);
				return -RPL_W_REPL_BUSY;
			}
	if ((rc = store_begin(&y->in->store, 0, &txn)) < 0)
		return rc;
	rc = store_node_get(txn, &y->in->store, rq->node, &nr);
	store_abort(txn);
	if (rc == -RPL_E_NOTFOUND) {
		snprintf(why, whysz, "node %s", rq->node);
		return -RPL_E_NODE_UNKNOWN;
	}
	if (rc < 0)
		return rc;
	if (!(r = calloc(1, sizeof(*r))))
		return -RPL_E_NOMEM;
	r->y = y;
	r->rq = *rq;
	snprintf(r->rq.node, sizeof(r->rq.node), "%s", nr.name); /* as registered */
	r->node_id = nr.id;
	r->src_objects = nr.objects;
	r->src_bytes = nr.bytes;
	r->id = process_next_id(y);
	r->started = clock_now();
	r->start_ms = clock_mono_ms();
	r->progress = progress;
	r->done = done;
	r->arg = arg;
	uv_timer_init(y->loop, &r->tick);
	uv_timer_init(y->loop, &r->bw);
	uv_timer_init(y->loop, &r->deadline);
	uv_timer_init(y->loop, &r->prog);
	uv_idle_init(y->loop, &r->kick);
	r->tick.data = r->bw.data = r->deadline.data = r->prog.data = r->kick.data = r;
	r->refs = 2; /* the registry and the session */
	rc = peer_connect(y->peer, rq->target, PURPOSE_REPL, &source_ops, r);
	if (rc < 0) {
		snprintf(why, whysz, "server %s", rq->target);
		r->refs = 1;
		run_unref(r);
		return rc;
	}
	r->next = y->repl->runs;
	y->repl->runs = r;
	if (rq->duration > 0)
		uv_timer_start(&r->deadline, on_deadline, (uint64_t)rq->duration * 1000, 0);
	if (progress)
		uv_timer_start(&r->prog, on_progress_timer, PROGRESS_MS, PROGRESS_MS);
	if (!rq->query_only && loopmon_watch(y->lm, &r->loop_max_us) == 0)
		r->watching = 1;
	if (!rq->query_only) {
		log_info(RPL_I_REPL_STARTED,
			 "replication of node %s to server %s started (process %llu)", r->rq.node,
			 r->rq.target, (unsigned long long)r->id);
		record(r, 0, NULL);
	}
	if (id)
		*id = r->id;
	return 0;
}

int repl_cancel(struct sync *y, uint64_t id, const char *why)
{
	for (struct srun *r = y->repl->runs; r; r = r->next)
		if (r->id == id) {
			finish(r, REPL_CANCELLED, RPL_W_REPL_CANCELLED, "%s; the next run resumes",
			       why);
			return 0;
		}
	return -RPL_E_PROCESS_UNKNOWN;
}

int repl_running(struct sync *y, const char *node, const char *target)
{
	for (struct srun *r = y->repl->runs; r; r = r->next)
		if (!r->rq.query_only &&
		    (!node || strcmp(node, "*") == 0 || strcasecmp(node, r->rq.node) == 0) &&
		    (!target || strcasecmp(target, r->rq.target) == 0))
			return 1;
	return 0;
}

int repl_running_progress(struct sync *y, const char *node, const char *target,
			  struct repl_progress *p)
{
	for (struct srun *r = y->repl->runs; r; r = r->next)
		if (!r->rq.query_only && strcasecmp(node, r->rq.node) == 0 &&
		    strcasecmp(target, r->rq.target) == 0) {
			fill_progress(r, p);
			return 0;
		}
	return -RPL_E_NOTFOUND;
}

json_t *repl_progress_json(const struct repl_progress *p)
{
	double rate = p->seconds > 0 ? (double)p->f.chunk_bytes_sent / p->seconds : 0;
	double lrate = p->seconds > 0 ? (double)p->done_bytes / p->seconds : 0;
	double eta = lrate > 0 && p->want_bytes > p->done_bytes
			     ? (double)(p->want_bytes - p->done_bytes) / lrate
			     : 0;
	double dedup =
		p->f.chunk_bytes_sent ? (double)p->f.bytes / (double)p->f.chunk_bytes_sent : 0;
	json_t *j = json_pack(
		"{s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f}",
		"process", (json_int_t)p->id, "node", p->node, "target", p->target, "phase",
		p->phase, "state", repl_state_name(p->state), "objects_replicated",
		(json_int_t)p->f.objects, "bytes_replicated", (json_int_t)p->f.bytes,
		"bytes_transferred", (json_int_t)p->f.transferred, "chunk_bytes_sent",
		(json_int_t)p->f.chunk_bytes_sent, "objects_deleted", (json_int_t)p->f.deleted,
		"objects_failed", (json_int_t)p->f.failed, "objects_total",
		(json_int_t)p->want_objects, "bytes_total", (json_int_t)p->want_bytes, "bytes_done",
		(json_int_t)p->done_bytes, "objects_to_delete", (json_int_t)p->delete_objects,
		"seconds", p->seconds, "rate_bytes_per_second", rate, "eta_seconds", eta,
		"dedup_ratio", dedup);
	json_object_set_new(j, "loop_max_ms", json_real(p->loop_max_ms));
	return j;
}

json_t *repl_processes_json(struct sync *y)
{
	json_t *arr = json_array();

	for (struct srun *r = y->repl->runs; r; r = r->next) {
		struct repl_progress p;
		json_t *j;
		char cmd[256];
		if (r->rq.query_only)
			continue;
		fill_progress(r, &p);
		j = repl_progress_json(&p);
		snprintf(cmd, sizeof(cmd), "REPLICATE NODE %s TARGET=%s%s", r->rq.node,
			 r->rq.target, r->rq.force ? " FORCE=YES" : "");
		json_object_set_new(j, "command", json_string(cmd));
		snprintf(cmd, sizeof(cmd), "%llu of %llu objects, %llu of %llu bytes",
			 (unsigned long long)p.f.objects, (unsigned long long)p.want_objects,
			 (unsigned long long)p.done_bytes, (unsigned long long)p.want_bytes);
		json_object_set_new(j, "progress", json_string(cmd));
		json_object_set_new(j, "started", admin_time(r->started));
		json_array_append_new(arr, j);
	}
	return arr;
}

/* At start: a run that was going when the daemon stopped is recorded as
 * failed (the next run resumes it). */
static int fix_work(MDB_txn *txn, struct store *st, void *arg);

struct fix_collect {
	struct repl_rec *v;
	size_t n, cap;
};

static int fix_cb(const struct repl_rec *r, void *arg)
{
	struct fix_collect *c = arg;
	if (r->state != REPL_RUNNING)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		void *np = realloc(c->v, cap * sizeof(*c->v));
		if (!np)
			return -RPL_E_NOMEM;
		c->v = np;
		c->cap = cap;
	}
	c->v[c->n++] = *r;
	return 0;
}

static int fix_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct fix_collect c = { NULL, 0, 0 };
	int rc = store_repl_each(txn, st, fix_cb, &c);

	(void)arg;
	for (size_t i = 0; rc == 0 && i < c.n; i++) {
		c.v[i].state = REPL_FAILED;
		c.v[i].last_end = clock_now();
		c.v[i].last_msg = RPL_E_REPL_FAILED;
		snprintf(c.v[i].last_message, sizeof(c.v[i].last_message),
			 "interrupted: the server stopped during the run; the next run resumes it");
		rc = store_repl_put(txn, st, &c.v[i]);
		if (rc == 0)
			rc = store_actlog_add(
				txn, st, RPL_E_REPL_FAILED,
				"replication of node %s to server %s was interrupted by a stop of this server; the next run resumes it",
				c.v[i].node, c.v[i].target);
	}
	free(c.v);
	return rc;
}

static void fix_done(int rc, void *arg)
{
	(void)arg;
	if (rc < 0)
		log_code(-rc, "replication states after a restart: %s", rpl_msg_text(rc));
}

int repl_init(struct sync *y)
{
	int rc;

	if (!(y->repl = calloc(1, sizeof(*y->repl))))
		return -RPL_E_NOMEM;
	if ((rc = loopmon_new(y->loop, &y->lm)) < 0)
		return rc;
	if ((rc = repl_target_init(y)) < 0)
		return rc;
	return dbw_submit(peer_dbw(y->peer), fix_work, fix_done, NULL);
}

void repl_stop(struct sync *y)
{
	if (y->repl)
		y->repl->stopping = 1;
	while (y->repl && y->repl->runs)
		finish(y->repl->runs, REPL_CANCELLED, RPL_W_REPL_CANCELLED,
		       "the server is halting; the next run resumes");
}

void repl_free(struct sync *y)
{
	loopmon_free(y->lm);
	y->lm = NULL;
	free(y->repl);
	y->repl = NULL;
	repl_target_free(y);
}
