/*
 * The target side of replication: one inbound session of purpose REPL per
 * run, a state machine over the messages of sync/repl_wire.h. It keeps the
 * replica node (created on the first run, identified by source server and
 * node name), compares the source's summary and bucket lists with its own,
 * asks for the chunks it lacks, checks every chunk against the hash that
 * came inside TLS (on the thread pool), stages what matches through the
 * database writer, and commits each object once all its chunks are stored:
 * an object appears whole or not at all. Staging uses one token per
 * (source server, node), so a run that resumes an interrupted one finds
 * the chunks its predecessor committed and does not ask for them again.
 */
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
#include "../util/hash.h"
#include "../util/hex.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "loopmon.h"
#include "repl.h"
#include "repl_wire.h"
#include "sync.h"

/* Chunk bytes received and not yet stored before the data channel is
 * paused, and the level at which it resumes. Room for about two commits:
 * the database writer commits one batch while the next arrives and is
 * hashed, so receiving never waits for a commit (a limit near one batch
 * made the run stop-and-wait at that size: 8 s a GiB instead of 6.4). */
#define PIPE_HIGH (128u << 20)
#define PIPE_LOW  (112u << 20)
/* A verify batch is handed to the pool at this size, or at the end of the
 * loop turn. */
#define VERIFY_BATCH (4u << 20)
/* Verify jobs on the pool at once: two keep both cores hashing; more only
 * crowd out the loops and the database writer. A batch waits (and grows,
 * up to VERIFY_BATCH_MAX) while they run. */
#define VERIFY_JOBS      2
#define VERIFY_BATCH_MAX (16u << 20)
#define TABLE_SIZE       4096
#define DELETES_PER_JOB  512

enum tstate {
	T_OPEN,      /* waiting for R_OPEN */
	T_OPENING,   /* the replica node is checked or created */
	T_SUMMARY,   /* waiting for R_SUMMARY */
	T_COMPARING, /* own summary on the pool */
	T_ENTRIES,   /* receiving the differing buckets */
	T_TRANSFER,  /* objects and chunks; R_DELETE or R_END end it */
	T_DELETING,
	T_ENDING,
	T_DONE,
};

static const char *tstate_name(int st)
{
	static const char *n[] = { "open",     "opening",  "summary", "comparing", "entries",
				   "transfer", "deleting", "ending",  "done" };
	return st >= 0 && st <= T_DONE ? n[st] : "?";
}

enum { TC_REQUESTED = 0, TC_RECEIVED, TC_STAGED, TC_FAILED };

struct tobj;

/* A chunk asked for in this run and not stored yet. */
struct tchunk {
	uint8_t hash[HASH_LEN];
	uint32_t len;
	uint32_t reqno;
	int state;
	struct tobj **waiters;
	uint32_t nwait, capwait;
	struct tchunk *next_fifo, *next_hash;
};

/* An object announced and not answered yet. */
struct tobj {
	struct tobj *next, *prev;
	uint32_t seq;
	char *name;
	size_t name_len;
	uint64_t size;
	int64_t mtime_ns;
	uint32_t mode;
	uint8_t digest[HASH_LEN];
	struct chunk_ref *chunks;
	uint32_t nchunks, have, cap;
	uint32_t waiting; /* chunks not stored yet */
	int failed;
	int code;
	char why[300];
	struct trun *r;
};

struct tdelete {
	char *name;
	size_t len;
};

struct trun {
	struct trun *next; /* y->repl_in list */
	struct sync *y;
	struct peer_session *s;    /* the TLS session */
	struct peer_session *bulk; /* the bulk channel, once it came */
	int refs;                  /* the session, the bulk channel, each job */
	int state;
	int aborted; /* the session ended: jobs only clean up */
	char server[RPL_NAME_MAX + 1];
	char node[RPL_NAME_MAX + 1];
	struct stage_origin origin;
	uint32_t node_id;
	int use_bulk;
	uint8_t token[BULK_TOKEN_LEN];
	int token_out;
	struct outq q, bq;
	uv_timer_t tick;
	int tick_open;
	/* comparing */
	uint8_t src_summary[REPL_SUMMARY_LEN];
	uint8_t *buckets; /* differing buckets, in order */
	int nbuckets, bucket_i;
	struct repl_entry *mine; /* own entries of the current bucket */
	char **mine_names;
	size_t *mine_lens;
	uint8_t *mine_matched;
	size_t nmine, mine_i;
	int have_prev;
	uint8_t prev_hash[HASH_LEN];
	uint64_t want, want_bytes;
	struct tdelete *deletes;
	size_t ndeletes, capdeletes;
	size_t del_i;
	int del_jobs;
	int deleting_done;
	uint64_t deleted, deleted_bytes;
	/* transfer */
	struct tobj *objs, *objs_tail; /* in flight, by seq */
	uint32_t nobjs;
	uint64_t inflight_refs;
	uint32_t last_seq;
	int have_seq;
	struct tobj *announcing; /* R_OBJECT_MORE goes here */
	struct tchunk *table[TABLE_SIZE];
	struct tchunk *fifo_head, *fifo_tail;
	uint32_t next_reqno;
	uint64_t pipe_bytes; /* received, not stored yet */
	int data_paused;
	/* the verify batch being filled */
	struct vbatch *vb;
	uv_timer_t flush;
	int flush_open;
	int jobs;      /* pool and database jobs running */
	int verifying; /* verify jobs on the pool */
	/* figures */
	uint64_t objects, bytes, failed, chunks_got, chunk_bytes, new_bytes;
	uint64_t replica_objects, replica_bytes;
	int64_t started;
	uint64_t loop_max_us; /* the loop's longest turn during the run (CPU) */
	int watching;
};

struct vitem {
	struct tchunk *c;
	uint8_t hash[HASH_LEN];
	size_t off;
	uint32_t len;
	int ok;
	int created;
};

/* Received chunks on their way: verified on the pool, then staged. */
struct vbatch {
	uv_work_t req;
	struct trun *r;
	uint8_t *data;
	size_t len, cap;
	struct vitem *items;
	size_t n, capitems;
	uint64_t created_bytes;
};

struct repl_targets {
	struct trun *runs;
};

static void run_fail(struct trun *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void maybe_end(struct trun *r);
static void pump_deletes(struct trun *r);
static void flush_batch(struct trun *r);

/* ---- lifetime ------------------------------------------------------------ */

static void vbatch_free(struct vbatch *b)
{
	if (!b)
		return;
	free(b->data);
	free(b->items);
	free(b);
}

static void tchunk_free(struct tchunk *c)
{
	free(c->waiters);
	free(c);
}

static void tobj_free(struct tobj *o)
{
	free(o->name);
	free(o->chunks);
	free(o);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct trun *r = h->data;
	if (--r->refs == 0)
		free(r);
}

static void run_unref(struct trun *r)
{
	if (--r->refs > 0)
		return;
	/* Everything but the struct itself (the timers close first). */
	outq_free(&r->q);
	outq_free(&r->bq);
	for (struct tobj *o = r->objs, *n; o; o = n) {
		n = o->next;
		tobj_free(o);
	}
	for (int i = 0; i < TABLE_SIZE; i++)
		for (struct tchunk *c = r->table[i], *n; c; c = n) {
			n = c->next_hash;
			tchunk_free(c);
		}
	for (size_t i = 0; i < r->ndeletes; i++)
		free(r->deletes[i].name);
	free(r->deletes);
	for (size_t i = 0; i < r->nmine; i++)
		free(r->mine_names[i]);
	free(r->mine);
	free(r->mine_names);
	free(r->mine_lens);
	free(r->mine_matched);
	free(r->buckets);
	vbatch_free(r->vb);
	r->refs = 2; /* the two timer handles */
	uv_close((uv_handle_t *)&r->tick, on_handle_closed);
	uv_close((uv_handle_t *)&r->flush, on_handle_closed);
}

static void unlink_run(struct trun *r)
{
	struct repl_targets *t = r->y->repl_in;
	for (struct trun **pp = &t->runs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			return;
		}
}

/* The session ended (or the run failed): whatever still runs only cleans
 * up; staged chunks stay for the next run. */
static void run_abort(struct trun *r)
{
	if (r->aborted)
		return;
	r->aborted = 1;
	unlink_run(r);
	if (r->watching) {
		loopmon_unwatch(r->y->lm, &r->loop_max_us);
		r->watching = 0;
	}
	uv_timer_stop(&r->tick);
	uv_timer_stop(&r->flush);
	if (r->token_out) {
		r->token_out = 0;
		/* Unused: its reference goes; taken: the bulk session's
		 * closed callback releases it. */
		if (peer_bulk_cancel(r->y->peer, r->token))
			r->refs--; /* never the last: the session holds one */
	}
	/* The session first: the source hears the reason there before it
	 * sees the bulk channel end. */
	if (!session_closing(r->s))
		session_close(r->s, 0, NULL);
	if (r->bulk && !session_closing(r->bulk))
		session_close(r->bulk, 0, NULL);
}

static void run_fail(struct trun *r, int code, const char *fmt, ...)
{
	char text[640];
	va_list ap;

	if (r->aborted)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_code(code, "replication of node %s from server %s failed: %s",
		 r->node[0] ? r->node : "?", r->server, text);
	peer_actlog(r->y->peer, RPL_E_REPL_FAILED,
		    "replication of node %s from server %s failed: %s %s",
		    r->node[0] ? r->node : "?", r->server, rpl_msg_id(code), text);
	if (!session_closing(r->s)) {
		session_send_error(r->s, code, text);
		session_close(r->s, -code, "%s", text);
	}
	run_abort(r);
}

static int ctl_send(struct trun *r, int type, struct wbuf *w)
{
	int rc = outq_send(&r->q, r->s, type, w);
	if (rc < 0)
		run_fail(r, -rc, "sending to the source");
	return rc;
}

/* ---- the chunk table ------------------------------------------------------ */

static unsigned slot(const uint8_t *hash)
{
	return ((unsigned)hash[0] << 8 | hash[1]) % TABLE_SIZE;
}

static struct tchunk *table_find(struct trun *r, const uint8_t *hash)
{
	for (struct tchunk *c = r->table[slot(hash)]; c; c = c->next_hash)
		if (memcmp(c->hash, hash, HASH_LEN) == 0)
			return c;
	return NULL;
}

static void table_remove(struct trun *r, struct tchunk *c)
{
	for (struct tchunk **pp = &r->table[slot(c->hash)]; *pp; pp = &(*pp)->next_hash)
		if (*pp == c) {
			*pp = c->next_hash;
			return;
		}
}

static int add_waiter(struct tchunk *c, struct tobj *o)
{
	if (c->nwait && c->waiters[c->nwait - 1] == o)
		return 1; /* the same chunk twice in one object: wait once */
	if (c->nwait == c->capwait) {
		uint32_t cap = c->capwait ? c->capwait * 2 : 2;
		void *np = realloc(c->waiters, cap * sizeof(*c->waiters));
		if (!np)
			return -RPL_E_NOMEM;
		c->waiters = np;
		c->capwait = cap;
	}
	c->waiters[c->nwait++] = o;
	return 0;
}

/* ---- answering objects ---------------------------------------------------- */

static void obj_unlink(struct trun *r, struct tobj *o)
{
	if (o->prev)
		o->prev->next = o->next;
	else
		r->objs = o->next;
	if (o->next)
		o->next->prev = o->prev;
	else
		r->objs_tail = o->prev;
	r->nobjs--;
	r->inflight_refs -= o->nchunks;
}

static void send_result(struct trun *r, struct tobj *o)
{
	struct wbuf w;

	wbuf_init(&w);
	tlv_put_u64(&w, RF_SEQ, o->seq);
	tlv_put_u64(&w, RF_CODE, (uint64_t)o->code);
	if (o->why[0])
		tlv_put_str(&w, RF_TEXT, o->why);
	(void)ctl_send(r, R_RESULT, &w);
	wbuf_free(&w);
}

static void obj_failed(struct trun *r, struct tobj *o, int code, const char *why)
{
	char name[300];

	if (o->failed)
		return;
	o->failed = 1;
	o->code = code;
	snprintf(o->why, sizeof(o->why), "%s", why);
	esc_bytes(name, sizeof(name), o->name, o->name_len, 0);
	log_code(code, "replication from server %s, node %s: object %s not stored: %s", r->server,
		 r->node, name, why);
	peer_actlog(r->y->peer, code,
		    "replication from server %s, node %s: object %s not stored: %s", r->server,
		    r->node, name, why);
	r->failed++;
	/* Answered when no chunk of it is still on its way to the store. */
	if (o->waiting == 0) {
		send_result(r, o);
		obj_unlink(r, o);
		tobj_free(o);
	}
}

struct commit_job {
	struct trun *r;
	struct tobj *o;
	uint64_t size;
	int replaced;
};

static int commit_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct commit_job *j = arg;
	struct tobj *o = j->o;
	struct object_in in = { o->name, o->name_len, o->mtime_ns, o->mode, o->chunks, o->nchunks };
	struct object_put_result res;
	struct node_rec nr;
	int rc = store_node_get(txn, st, j->r->node, &nr);

	if (rc == 0 && (nr.kind != NODE_REPLICA || nr.id != j->r->node_id))
		rc = -RPL_E_REPL_CLASH; /* removed or converted during the run */
	if (rc == 0)
		rc = store_object_put(txn, st, j->r->node, &in, j->r->origin.token, &res);
	if (rc == 0) {
		j->size = res.size;
		j->replaced = res.replaced;
	}
	return rc;
}

static void commit_done(int rc, void *arg)
{
	struct commit_job *j = arg;
	struct trun *r = j->r;
	struct tobj *o = j->o;

	r->jobs--;
	if (!r->aborted) {
		if (rc == 0) {
			o->code = 0;
			r->objects++;
			r->bytes += j->size;
			send_result(r, o);
			obj_unlink(r, o);
			tobj_free(o);
		} else if (rc == -RPL_E_MAPFULL || rc == -RPL_E_STORE || rc == -RPL_E_REPL_CLASH ||
			   rc == -RPL_E_NODE_UNKNOWN) {
			run_fail(r, -rc, "storing object %s", ESC(o->name));
		} else {
			obj_failed(
				r, o, -rc,
				rc == -RPL_E_CHUNK_MISSING
					? "a chunk it needs went away before it was committed; the next run sends it again"
					: rpl_msg_text(rc));
		}
		maybe_end(r);
	}
	free(j);
	run_unref(r);
}

static void obj_commit(struct trun *r, struct tobj *o)
{
	struct commit_job *j = calloc(1, sizeof(*j));

	if (!j) {
		run_fail(r, RPL_E_NOMEM, "committing an object");
		return;
	}
	j->r = r;
	j->o = o;
	r->refs++;
	r->jobs++;
	if (dbw_submit(peer_dbw(r->y->peer), commit_work, commit_done, j) < 0) {
		r->refs--;
		r->jobs--;
		free(j);
		run_fail(r, RPL_E_NOMEM, "committing an object");
	}
}

/* A chunk is stored (or failed): its objects learn it. */
static void chunk_settled(struct trun *r, struct tchunk *c, int ok, const char *why)
{
	for (uint32_t i = 0; i < c->nwait; i++) {
		struct tobj *o = c->waiters[i];
		o->waiting--;
		if (!ok && !o->failed) {
			obj_failed(r, o, RPL_E_REPL_CHUNK_BAD, why); /* answers it at 0 */
		} else if (o->failed) {
			if (o->waiting == 0) {
				send_result(r, o);
				obj_unlink(r, o);
				tobj_free(o);
			}
		} else if (o->waiting == 0 && o->have == o->nchunks) {
			obj_commit(r, o);
		}
	}
	/* Stored: a later object finds it in the store. Failed: a later
	 * object asks for it again. */
	table_remove(r, c);
	tchunk_free(c);
}

/* ---- receiving chunk bytes ------------------------------------------------- */

static void stage_done(int rc, void *arg);

static int stage_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct vbatch *b = arg;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < b->n; i++) {
		struct vitem *it = &b->items[i];
		if (!it->ok)
			continue;
		rc = store_chunk_stage(txn, st, it->hash, b->data + it->off, it->len, &b->r->origin,
				       &it->created);
		if (rc == 0 && it->created)
			b->created_bytes += it->len;
	}
	return rc;
}

static void update_pipe(struct trun *r)
{
	struct peer_session *d = r->use_bulk ? r->bulk : r->s;

	if (!d || session_closing(d))
		return;
	if (!r->data_paused && r->pipe_bytes > PIPE_HIGH) {
		session_pause(d);
		r->data_paused = 1;
	} else if (r->data_paused && r->pipe_bytes < PIPE_LOW) {
		r->data_paused = 0;
		session_resume(d);
	}
}

static void stage_done(int rc, void *arg)
{
	struct vbatch *b = arg;
	struct trun *r = b->r;

	r->jobs--;
	if (!r->aborted) {
		if (rc < 0) {
			run_fail(r, -rc, "storing received chunks");
		} else {
			r->new_bytes += b->created_bytes;
			for (size_t i = 0; i < b->n && !r->aborted; i++) {
				struct vitem *it = &b->items[i];
				if (!it->ok)
					continue; /* settled (and counted) in verify_done */
				r->pipe_bytes -= it->len;
				chunk_settled(r, it->c, 1, NULL);
			}
			update_pipe(r);
			maybe_end(r);
		}
	}
	vbatch_free(b);
	run_unref(r);
}

static void verify_work(uv_work_t *req)
{
	struct vbatch *b = req->data;

	for (size_t i = 0; i < b->n; i++) {
		uint8_t h[HASH_LEN];
		chunk_hash(b->data + b->items[i].off, b->items[i].len, h);
		b->items[i].ok = secure_equal(h, b->items[i].hash, HASH_LEN);
	}
}

static void verify_done(uv_work_t *req, int status)
{
	struct vbatch *b = req->data;
	struct trun *r = b->r;
	size_t bad = 0;

	r->jobs--;
	r->verifying--;
	if (!r->aborted)
		flush_batch(r); /* what waited for a free job */
	if (r->aborted || status < 0) {
		if (!r->aborted)
			run_fail(r, RPL_E_INTERNAL, "checking received chunks");
		vbatch_free(b);
		run_unref(r);
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		struct vitem *it = &b->items[i];
		if (it->ok)
			continue;
		char hx[2 * HASH_LEN + 1];
		char why[200];
		hex_encode(it->hash, HASH_LEN, hx);
		snprintf(why, sizeof(why),
			 "chunk %.16s... (%u bytes) arrived altered: its hash does not match", hx,
			 it->len);
		r->pipe_bytes -= it->len;
		it->c->state = TC_FAILED;
		chunk_settled(r, it->c, 0, why);
		bad++;
	}
	if (r->aborted) {
		vbatch_free(b);
		run_unref(r);
		return;
	}
	if (bad == b->n) {
		update_pipe(r);
		maybe_end(r);
		vbatch_free(b);
		run_unref(r);
		return;
	}
	r->jobs++;
	if (dbw_submit(peer_dbw(r->y->peer), stage_work, stage_done, b) < 0) {
		r->jobs--;
		run_fail(r, RPL_E_NOMEM, "storing received chunks");
		vbatch_free(b);
		run_unref(r);
	}
	/* the reference goes on with the stage job */
}

static void flush_batch(struct trun *r)
{
	struct vbatch *b = r->vb;

	if (!b || b->n == 0 || (r->verifying >= VERIFY_JOBS && b->len < VERIFY_BATCH_MAX))
		return;
	r->vb = NULL;
	b->req.data = b;
	r->refs++;
	r->jobs++;
	r->verifying++;
	if (uv_queue_work(r->y->loop, &b->req, verify_work, verify_done) < 0) {
		r->refs--;
		r->jobs--;
		r->verifying--;
		vbatch_free(b);
		run_fail(r, RPL_E_INTERNAL, "checking received chunks");
	}
}

static void on_flush_timer(uv_timer_t *t)
{
	struct trun *r = t->data;
	if (!r->aborted)
		flush_batch(r);
}

static int batch_add(struct trun *r, struct tchunk *c, const uint8_t *p, size_t n)
{
	struct vbatch *b = r->vb;

	if (!b) {
		if (!(b = calloc(1, sizeof(*b))))
			return -RPL_E_NOMEM;
		b->r = r;
		r->vb = b;
		uv_timer_start(&r->flush, on_flush_timer, 0, 0);
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : VERIFY_BATCH + CHUNK_MAX;
		while (cap < b->len + n)
			cap *= 2;
		void *np = realloc(b->data, cap);
		if (!np)
			return -RPL_E_NOMEM;
		b->data = np;
		b->cap = cap;
	}
	if (b->n == b->capitems) {
		size_t cap = b->capitems ? b->capitems * 2 : 64;
		void *np = realloc(b->items, cap * sizeof(*b->items));
		if (!np)
			return -RPL_E_NOMEM;
		b->items = np;
		b->capitems = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->items[b->n] = (struct vitem){ c, { 0 }, b->len, (uint32_t)n, 0, 0 };
	memcpy(b->items[b->n].hash, c->hash, HASH_LEN);
	b->n++;
	b->len += n;
	c->state = TC_RECEIVED;
	if (b->len >= VERIFY_BATCH)
		flush_batch(r);
	return 0;
}

/* R_CHUNK or R_SKIP on the data channel: the next chunk asked for. */
static int on_data(struct trun *r, int type, struct cursor *p)
{
	struct tchunk *c = r->fifo_head;
	uint32_t reqno;
	size_t n;

	if (cur_u32(p, &reqno) < 0 || !c || reqno != c->reqno) {
		run_fail(r, RPL_E_PROTOCOL, "chunk %u arrived, %s was expected", reqno,
			 c ? "another" : "none");
		return 0;
	}
	r->fifo_head = c->next_fifo;
	if (!r->fifo_head)
		r->fifo_tail = NULL;
	c->next_fifo = NULL;
	n = cur_left(p);
	if (type == R_SKIP || n != c->len) {
		char why[160];
		snprintf(
			why, sizeof(why),
			type == R_SKIP
				? "the source no longer holds one of its chunks (changed during the run); the next run sends it"
				: "a chunk arrived with %zu bytes instead of %u",
			n, c->len);
		c->state = TC_FAILED;
		chunk_settled(r, c, 0, why);
		maybe_end(r);
		return 0;
	}
	r->chunks_got++;
	r->chunk_bytes += n;
	r->pipe_bytes += n;
	if (batch_add(r, c, p->p + p->off, n) < 0) {
		run_fail(r, RPL_E_NOMEM, "receiving a chunk");
		return 0;
	}
	update_pipe(r);
	return 0;
}

/* ---- objects ---------------------------------------------------------------- */

/* Appends the chunk references of one frame. The list grows as frames
 * come, so an announced count costs memory only once it is sent. */
static int add_refs(struct tobj *o, struct cursor *v)
{
	size_t n = cur_left(v), k;

	if (n % CHUNK_REF_WIRE || n / CHUNK_REF_WIRE > o->nchunks - o->have)
		return -RPL_E_PROTOCOL;
	k = n / CHUNK_REF_WIRE;
	if (o->have + k > o->cap) {
		size_t cap = o->cap ? o->cap : 64;
		void *np;
		while (cap < o->have + k)
			cap *= 2;
		if (cap > o->nchunks)
			cap = o->nchunks;
		if (!(np = realloc(o->chunks, cap * sizeof(*o->chunks) + 1)))
			return -RPL_E_NOMEM;
		o->chunks = np;
		o->cap = (uint32_t)cap;
	}
	for (size_t i = 0; i < k; i++) {
		chunk_ref_unpack(v->p + v->off + i * CHUNK_REF_WIRE, &o->chunks[o->have]);
		if (o->chunks[o->have].len == 0 || o->chunks[o->have].len > CHUNK_MAX)
			return -RPL_E_PROTOCOL;
		o->have++;
	}
	return 0;
}

/* The object's chunk list is whole: check it, ask for what is lacking. */
static int obj_complete(struct trun *r, struct tobj *o)
{
	uint8_t digest[HASH_LEN];
	uint64_t sum = 0;
	struct wbuf idx;
	MDB_txn *txn;
	int rc = 0;

	r->announcing = NULL;
	for (uint32_t i = 0; i < o->nchunks; i++)
		sum += o->chunks[i].len;
	chunk_list_digest(o->chunks, o->nchunks, digest);
	if (sum != o->size || memcmp(digest, o->digest, HASH_LEN) != 0) {
		run_fail(r, RPL_E_PROTOCOL,
			 "object %s: its chunk list does not match its size and digest",
			 ESC(o->name));
		return 0;
	}
	if ((rc = store_begin(&r->y->in->store, 0, &txn)) < 0)
		return rc;
	wbuf_init(&idx);
	for (uint32_t i = 0; rc == 0 && i < o->nchunks; i++) {
		struct tchunk *c = table_find(r, o->chunks[i].hash);
		uint8_t lack = 0;
		if (!c) {
			rc = store_chunks_lack(txn, &r->y->in->store,
					       (const uint8_t(*)[HASH_LEN])o->chunks[i].hash, 1,
					       &lack, NULL);
			if (rc < 0 || !lack)
				continue;
			if (!(c = calloc(1, sizeof(*c)))) {
				rc = -RPL_E_NOMEM;
				break;
			}
			memcpy(c->hash, o->chunks[i].hash, HASH_LEN);
			c->len = o->chunks[i].len;
			c->reqno = r->next_reqno++;
			c->next_hash = r->table[slot(c->hash)];
			r->table[slot(c->hash)] = c;
			if (r->fifo_tail)
				r->fifo_tail->next_fifo = c;
			else
				r->fifo_head = c;
			r->fifo_tail = c;
			wbuf_put_u32(&idx, i);
		} else if (c->len != o->chunks[i].len) {
			rc = -RPL_E_PROTOCOL;
			break;
		}
		int w = add_waiter(c, o);
		if (w < 0)
			rc = w;
		else if (w == 0)
			o->waiting++;
	}
	store_abort(txn);
	if (rc == 0) {
		struct wbuf w;
		wbuf_init(&w);
		tlv_put_u64(&w, RF_SEQ, o->seq);
		tlv_put(&w, RF_INDEXES, idx.p, idx.len);
		rc = wbuf_status(&idx);
		if (rc == 0)
			rc = ctl_send(r, R_NEED, &w);
		wbuf_free(&w);
	}
	wbuf_free(&idx);
	if (rc < 0)
		return rc;
	if (o->waiting == 0)
		obj_commit(r, o);
	return 0;
}

static int on_object(struct trun *r, struct cursor *p)
{
	struct cursor cur = *p, val, refs = { 0 };
	struct tobj *o;
	uint64_t seq = 0, nchunks = 0, u;
	uint16_t tag;
	int rc, seen = 0;

	if (r->announcing || r->nobjs >= REPL_MAX_INFLIGHT_OBJECTS)
		return -RPL_E_PROTOCOL;
	if (!(o = calloc(1, sizeof(*o))))
		return -RPL_E_NOMEM;
	o->r = r;
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		switch (tag) {
		case RF_SEQ:
			rc = tlv_get_u64(&val, &seq);
			seen |= 1;
			break;
		case RF_NAME:
			if (cur_left(&val) == 0 || cur_left(&val) > OBJ_NAME_MAX ||
			    !object_name_valid((const char *)val.p + val.off, cur_left(&val)))
				rc = -RPL_E_PROTOCOL;
			else if (!(o->name = malloc(cur_left(&val) + 1)))
				rc = -RPL_E_NOMEM;
			else {
				o->name_len = cur_left(&val);
				memcpy(o->name, val.p + val.off, o->name_len);
				o->name[o->name_len] = 0;
			}
			seen |= 2;
			break;
		case RF_SIZE:
			rc = tlv_get_u64(&val, &o->size);
			seen |= 4;
			break;
		case RF_MTIME:
			rc = tlv_get_u64(&val, &u);
			o->mtime_ns = (int64_t)u;
			seen |= 8;
			break;
		case RF_MODE:
			rc = tlv_get_u64(&val, &u);
			o->mode = (uint32_t)(u & 07777);
			break;
		case RF_DIGEST:
			rc = tlv_get_fixed(&val, o->digest, HASH_LEN);
			seen |= 16;
			break;
		case RF_NCHUNKS:
			rc = tlv_get_u64(&val, &nchunks);
			seen |= 32;
			break;
		case RF_CHUNKS: refs = val; break;
		default: rc = 0; break;
		}
		if (rc < 0)
			break;
	}
	if (rc < 0 || seen != 63 || seq > UINT32_MAX || (r->have_seq && seq <= r->last_seq) ||
	    nchunks > OBJ_MAX_CHUNKS || r->inflight_refs + nchunks > REPL_MAX_INFLIGHT_REFS) {
		tobj_free(o);
		return -RPL_E_PROTOCOL;
	}
	o->seq = (uint32_t)seq;
	r->last_seq = o->seq;
	r->have_seq = 1;
	o->nchunks = (uint32_t)nchunks;
	if (refs.p && (rc = add_refs(o, &refs)) < 0) {
		tobj_free(o);
		return rc;
	}
	o->prev = r->objs_tail;
	if (r->objs_tail)
		r->objs_tail->next = o;
	else
		r->objs = o;
	r->objs_tail = o;
	r->nobjs++;
	r->inflight_refs += o->nchunks;
	if (o->have < o->nchunks) {
		r->announcing = o;
		return 0;
	}
	return obj_complete(r, o);
}

static int on_object_more(struct trun *r, struct cursor *p)
{
	struct cursor cur = *p, val, refs = { 0 };
	struct tobj *o = r->announcing;
	uint64_t seq = UINT64_MAX;
	uint16_t tag;
	int rc;

	if (!o)
		return -RPL_E_PROTOCOL;
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == RF_SEQ)
			rc = tlv_get_u64(&val, &seq);
		else if (tag == RF_CHUNKS)
			refs = val;
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	if (rc < 0 || seq != o->seq || !refs.p || add_refs(o, &refs) < 0)
		return -RPL_E_PROTOCOL;
	return o->have == o->nchunks ? obj_complete(r, o) : 0;
}

/* ---- comparing ---------------------------------------------------------------- */

static int load_bucket(struct trun *r, int bucket)
{
	struct object_iter it;
	struct object_view v;
	uint8_t from[HASH_LEN] = { (uint8_t)bucket };
	MDB_txn *txn;
	size_t cap = 0;
	int rc;

	for (size_t i = 0; i < r->nmine; i++)
		free(r->mine_names[i]);
	r->nmine = r->mine_i = 0;
	r->have_prev = 0;
	if (!r->node_id)
		return 0; /* a new replica holds nothing */
	if ((rc = store_begin(&r->y->in->store, 0, &txn)) < 0)
		return rc;
	rc = store_object_iter_open(txn, &r->y->in->store, r->node_id, from, &it);
	while (rc == 0 && (rc = store_object_iter_next(&it, &v)) == 1) {
		rc = 0;
		if (v.name_hash[0] != bucket)
			break;
		if (r->nmine == cap) {
			cap = cap ? cap * 2 : 64;
			void *a = realloc(r->mine, cap * sizeof(*r->mine));
			void *b = a ? realloc(r->mine_names, cap * sizeof(*r->mine_names)) : NULL;
			void *c = b ? realloc(r->mine_lens, cap * sizeof(*r->mine_lens)) : NULL;
			void *d = c ? realloc(r->mine_matched, cap) : NULL;
			if (a)
				r->mine = a;
			if (b)
				r->mine_names = b;
			if (c)
				r->mine_lens = c;
			if (d)
				r->mine_matched = d;
			if (!d) {
				rc = -RPL_E_NOMEM;
				break;
			}
		}
		struct repl_entry *e = &r->mine[r->nmine];
		memcpy(e->name_hash, v.name_hash, HASH_LEN);
		memcpy(e->digest, v.digest, HASH_LEN);
		e->size = v.size;
		e->mtime_ns = v.mtime_ns;
		e->mode = v.mode;
		r->mine_lens[r->nmine] = v.name_len;
		r->mine_matched[r->nmine] = 0;
		if (!(r->mine_names[r->nmine] = malloc(v.name_len + 1))) {
			rc = -RPL_E_NOMEM;
			break;
		}
		memcpy(r->mine_names[r->nmine], v.name, v.name_len);
		r->mine_names[r->nmine][v.name_len] = 0;
		r->nmine++;
	}
	if (rc == 0 || rc == 1)
		rc = 0;
	store_object_iter_close(&it);
	store_abort(txn);
	return rc;
}

static int add_delete(struct trun *r, size_t i)
{
	if (r->ndeletes == r->capdeletes) {
		size_t cap = r->capdeletes ? r->capdeletes * 2 : 64;
		void *np = realloc(r->deletes, cap * sizeof(*r->deletes));
		if (!np)
			return -RPL_E_NOMEM;
		r->deletes = np;
		r->capdeletes = cap;
	}
	r->deletes[r->ndeletes].name = r->mine_names[i];
	r->deletes[r->ndeletes].len = r->mine_lens[i];
	r->mine_names[i] = NULL;
	r->ndeletes++;
	return 0;
}

static int send_plan(struct trun *r)
{
	struct wbuf w;
	int rc;

	r->state = T_TRANSFER;
	wbuf_init(&w);
	tlv_put_u64(&w, RF_WANT, r->want);
	tlv_put_u64(&w, RF_WANT_BYTES, r->want_bytes);
	tlv_put_u64(&w, RF_DELETE, r->ndeletes);
	tlv_put_u64(&w, RF_OBJECTS, r->replica_objects);
	rc = ctl_send(r, R_PLAN, &w);
	wbuf_free(&w);
	return rc;
}

/* One frame of a differing bucket: merge-joined with our own entries of
 * that bucket (both in name-hash order), what differs is wanted, what only
 * we hold is deleted once the bucket's last frame came. */
static int on_entries(struct trun *r, struct cursor *p)
{
	struct cursor cur = *p, val, ents = { 0 };
	uint64_t bucket = 256, last = 0;
	struct wbuf want;
	uint16_t tag;
	size_t n;
	int rc;

	if (r->bucket_i >= r->nbuckets)
		return -RPL_E_PROTOCOL;
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == RF_BUCKET)
			rc = tlv_get_u64(&val, &bucket);
		else if (tag == RF_LAST)
			rc = tlv_get_u64(&val, &last);
		else if (tag == RF_ENTRIES)
			ents = val;
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	if (rc < 0 || bucket != r->buckets[r->bucket_i] || !ents.p ||
	    cur_left(&ents) % REPL_ENTRY_LEN)
		return -RPL_E_PROTOCOL;
	n = cur_left(&ents) / REPL_ENTRY_LEN;
	wbuf_init(&want);
	for (size_t i = 0; i < n; i++) {
		struct repl_entry e;
		repl_entry_unpack(ents.p + ents.off + i * REPL_ENTRY_LEN, &e);
		if (e.name_hash[0] != bucket ||
		    (r->have_prev && memcmp(e.name_hash, r->prev_hash, HASH_LEN) <= 0)) {
			wbuf_free(&want);
			return -RPL_E_PROTOCOL; /* out of order: the merge would be wrong */
		}
		memcpy(r->prev_hash, e.name_hash, HASH_LEN);
		r->have_prev = 1;
		while (r->mine_i < r->nmine &&
		       memcmp(r->mine[r->mine_i].name_hash, e.name_hash, HASH_LEN) < 0)
			r->mine_i++;
		if (r->mine_i < r->nmine &&
		    memcmp(r->mine[r->mine_i].name_hash, e.name_hash, HASH_LEN) == 0) {
			r->mine_matched[r->mine_i] = 1;
			if (repl_entry_same(&r->mine[r->mine_i], &e))
				continue;
		}
		wbuf_put(&want, e.name_hash, HASH_LEN);
		r->want++;
		r->want_bytes += e.size;
	}
	rc = wbuf_status(&want);
	if (rc == 0 && want.len) {
		struct wbuf w;
		wbuf_init(&w);
		tlv_put(&w, RF_HASHES, want.p, want.len);
		rc = ctl_send(r, R_WANT, &w);
		wbuf_free(&w);
	}
	wbuf_free(&want);
	if (rc < 0 || !last)
		return rc;
	for (size_t i = 0; rc == 0 && i < r->nmine; i++)
		if (!r->mine_matched[i])
			rc = add_delete(r, i);
	if (rc < 0)
		return rc;
	if (++r->bucket_i < r->nbuckets)
		return load_bucket(r, r->buckets[r->bucket_i]);
	return send_plan(r);
}

struct summary_job {
	uv_work_t req;
	struct trun *r;
	struct node_summary sum;
	int rc;
};

static void summary_work(uv_work_t *req)
{
	struct summary_job *j = req->data;
	MDB_txn *txn;

	memset(&j->sum, 0, sizeof(j->sum));
	if (!j->r->node_id)
		return;
	j->rc = store_begin(&j->r->y->in->store, 0, &txn);
	if (j->rc == 0) {
		j->rc = store_node_summary(txn, &j->r->y->in->store, j->r->node_id, &j->sum);
		store_abort(txn);
	}
}

static void summary_done(uv_work_t *req, int status)
{
	struct summary_job *j = req->data;
	struct trun *r = j->r;
	struct wbuf w;
	uint8_t diff[256];
	int n = 0, rc;

	r->jobs--;
	if (r->aborted) {
		free(j);
		run_unref(r);
		return;
	}
	if (status < 0 || j->rc < 0) {
		run_fail(r, status < 0 ? RPL_E_INTERNAL : -j->rc, "summarizing the replica");
		free(j);
		run_unref(r);
		return;
	}
	r->replica_objects = j->sum.objects;
	r->replica_bytes = j->sum.bytes;
	for (int b = 0; b < 256; b++) {
		const uint8_t *e = r->src_summary + b * (4 + HASH_LEN);
		uint32_t cnt =
			(uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 | (uint32_t)e[2] << 8 | e[3];
		if (cnt != j->sum.count[b] || memcmp(e + 4, j->sum.bucket[b], HASH_LEN) != 0)
			diff[n++] = (uint8_t)b;
	}
	free(j);
	if (!(r->buckets = malloc((size_t)n + 1))) {
		run_fail(r, RPL_E_NOMEM, "comparing");
		run_unref(r);
		return;
	}
	memcpy(r->buckets, diff, (size_t)n);
	r->nbuckets = n;
	wbuf_init(&w);
	tlv_put(&w, RF_BUCKETS, diff, (size_t)n);
	rc = ctl_send(r, R_BUCKETS, &w);
	wbuf_free(&w);
	if (rc == 0 && n) {
		r->state = T_ENTRIES;
		rc = load_bucket(r, r->buckets[0]);
	} else if (rc == 0) {
		rc = send_plan(r);
	}
	if (rc < 0)
		run_fail(r, -rc, "comparing");
	if (!r->aborted)
		session_resume(r->s);
	run_unref(r);
}

static int on_summary(struct trun *r, struct cursor *p)
{
	struct cursor cur = *p, val;
	struct summary_job *j;
	uint16_t tag;
	int rc, got = 0;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0)
		if (tag == RF_SUMMARY) {
			if (tlv_get_fixed(&val, r->src_summary, REPL_SUMMARY_LEN) < 0)
				return -RPL_E_PROTOCOL;
			got = 1;
		}
	if (rc < 0 || !got)
		return -RPL_E_PROTOCOL;
	if (!(j = calloc(1, sizeof(*j))))
		return -RPL_E_NOMEM;
	j->r = r;
	j->req.data = j;
	r->state = T_COMPARING;
	r->refs++;
	r->jobs++;
	session_pause(r->s);
	if (uv_queue_work(r->y->loop, &j->req, summary_work, summary_done) < 0) {
		r->refs--;
		r->jobs--;
		free(j);
		return -RPL_E_INTERNAL;
	}
	return 0;
}

/* ---- opening: the replica node ------------------------------------------------ */

struct open_job {
	struct trun *r;
	int query;
	int created, exists;
	uint32_t id;
	uint64_t objects, bytes;
	char why[400];
};

static int open_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct open_job *j = arg;
	struct trun *r = j->r;
	struct node_rec nr, got;
	int rc = store_node_get(txn, st, r->node, &nr);

	if (rc == 0) {
		if (nr.kind != NODE_REPLICA) {
			snprintf(j->why, sizeof(j->why), "node %s on %s is a local node", nr.name,
				 r->y->in->conf.servername);
			return -RPL_E_REPL_CLASH;
		}
		if (strcasecmp(nr.src_server, r->server) != 0 ||
		    strcasecmp(nr.src_node, r->node) != 0) {
			snprintf(j->why, sizeof(j->why),
				 "node %s on %s is the replica of node %s of server %s", nr.name,
				 r->y->in->conf.servername, nr.src_node, nr.src_server);
			return -RPL_E_REPL_CLASH;
		}
		j->exists = 1;
		j->id = nr.id;
		j->objects = nr.objects;
		j->bytes = nr.bytes;
		return 0;
	}
	if (rc != -RPL_E_NOTFOUND || j->query)
		return rc == -RPL_E_NOTFOUND ? 0 : rc;
	memset(&nr, 0, sizeof(nr));
	snprintf(nr.name, sizeof(nr.name), "%s", r->node);
	nr.kind = NODE_REPLICA;
	snprintf(nr.src_server, sizeof(nr.src_server), "%s", r->server);
	snprintf(nr.src_node, sizeof(nr.src_node), "%s", r->node);
	if ((rc = store_node_register(txn, st, &nr, &got)) < 0)
		return rc;
	j->created = 1;
	j->id = got.id;
	return store_actlog_add(txn, st, RPL_I_REPLICA_CREATED,
				"replica node %s created for node %s of server %s (id %u)",
				got.name, r->node, r->server, got.id);
}

static const struct session_ops bulk_ops;

static void open_done(int rc, void *arg)
{
	struct open_job *j = arg;
	struct trun *r = j->r;
	struct wbuf w;

	r->jobs--;
	if (r->aborted)
		goto out;
	if (rc < 0) {
		run_fail(r, -rc, "%s", j->why[0] ? j->why : "opening the replica node");
		goto out;
	}
	if (j->created)
		log_info(RPL_I_REPLICA_CREATED, "replica node %s created for node %s of server %s",
			 r->node, r->node, r->server);
	r->node_id = j->id;
	wbuf_init(&w);
	tlv_put_u64(&w, RF_EXISTS, (uint64_t)(j->exists || j->created));
	tlv_put_u64(&w, RF_OBJECTS, j->objects);
	tlv_put_u64(&w, RF_BYTES, j->bytes);
	if (!j->query && r->use_bulk) {
		rc = peer_bulk_expect(r->s, &bulk_ops, r, r->token);
		if (rc == 0) {
			r->token_out = 1;
			r->refs++; /* the expectation's, then its bulk session's */
			tlv_put(&w, RF_TOKEN, r->token, BULK_TOKEN_LEN);
		}
	}
	if (rc == 0)
		rc = ctl_send(r, R_OPEN_OK, &w);
	wbuf_free(&w);
	if (rc < 0) {
		run_fail(r, -rc, "answering the source");
		goto out;
	}
	r->state = j->query ? T_DONE : T_SUMMARY;
	session_resume(r->s);
out:
	free(j);
	run_unref(r);
}

static uint64_t origin_token(const char *server, const char *node)
{
	char key[2 * RPL_NAME_MAX + 32], us[RPL_NAME_MAX + 1], un[RPL_NAME_MAX + 1];
	uint8_t h[HASH_LEN];
	uint64_t t = 0;

	store_name_key(server, us, sizeof(us));
	store_name_key(node, un, sizeof(un));
	snprintf(key, sizeof(key), "replication staging %s/%s", us, un);
	hash_buf(key, strlen(key), h);
	for (int i = 0; i < 8; i++)
		t = t << 8 | h[i];
	return t;
}

static int on_open(struct trun *r, struct cursor *p)
{
	struct cursor cur = *p, val;
	struct open_job *j;
	struct server_rec sr;
	MDB_txn *txn;
	uint64_t version = 0, flags = 0;
	uint16_t tag;
	int rc, have_node = 0;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == RF_VERSION)
			rc = tlv_get_u64(&val, &version);
		else if (tag == RF_FLAGS)
			rc = tlv_get_u64(&val, &flags);
		else if (tag == RF_NODE) {
			rc = tlv_get_str(&val, r->node, sizeof(r->node));
			have_node = rc == 0;
		}
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	if (rc < 0 || !have_node)
		return -RPL_E_PROTOCOL;
	if (version != REPL_VERSION) {
		run_fail(r, RPL_E_VERSION,
			 "replication protocol version %llu; this server speaks %d",
			 (unsigned long long)version, REPL_VERSION);
		return 0;
	}
	if (!node_valid_name(r->node)) {
		run_fail(r, RPL_E_NODE_NAME, "'%s'", ESC(r->node));
		return 0;
	}
	if (!(flags & RFLAG_QUERY)) {
		for (struct trun *t = r->y->repl_in->runs; t; t = t->next)
			if (t != r && t->state > T_OPEN && t->state != T_DONE &&
			    strcasecmp(t->server, r->server) == 0 &&
			    strcasecmp(t->node, r->node) == 0) {
				run_fail(r, RPL_W_REPL_BUSY,
					 "node %s of server %s is being received already", r->node,
					 r->server);
				return 0;
			}
	}
	/* Bytes outside TLS only when both definitions say SSL=NO. */
	r->use_bulk = 0;
	if ((flags & RFLAG_BULK) && store_begin(&r->y->in->store, 0, &txn) == 0) {
		if (store_server_get(txn, &r->y->in->store, r->server, &sr) == 0) {
			r->use_bulk = !sr.ssl;
			server_rec_free(&sr);
		}
		store_abort(txn);
	}
	r->origin.kind = STAGE_REPL;
	snprintf(r->origin.server, sizeof(r->origin.server), "%s", r->server);
	snprintf(r->origin.node, sizeof(r->origin.node), "%s", r->node);
	r->origin.token = origin_token(r->server, r->node);
	if (!(flags & RFLAG_QUERY) && !r->watching && loopmon_watch(r->y->lm, &r->loop_max_us) == 0)
		r->watching = 1;
	if (!(j = calloc(1, sizeof(*j))))
		return -RPL_E_NOMEM;
	j->r = r;
	j->query = (flags & RFLAG_QUERY) != 0;
	r->state = T_OPENING;
	r->refs++;
	r->jobs++;
	session_pause(r->s);
	if (dbw_submit(peer_dbw(r->y->peer), open_work, open_done, j) < 0) {
		r->refs--;
		r->jobs--;
		free(j);
		return -RPL_E_NOMEM;
	}
	return 0;
}

/* ---- deletions and the end ------------------------------------------------------ */

struct delete_job {
	struct trun *r;
	struct tdelete *d;
	size_t n;
	uint64_t count, bytes;
};

static int delete_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct delete_job *j = arg;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < j->n; i++) {
		uint64_t size = 0;
		rc = store_object_del(txn, st, j->r->node, j->d[i].name, j->d[i].len, &size);
		if (rc == -RPL_E_OBJ_UNKNOWN) {
			rc = 0;
			continue;
		}
		if (rc == 0) {
			j->count++;
			j->bytes += size;
		}
	}
	return rc;
}

static void delete_done(int rc, void *arg)
{
	struct delete_job *j = arg;
	struct trun *r = j->r;

	r->jobs--;
	r->del_jobs--;
	if (!r->aborted) {
		if (rc < 0) {
			run_fail(r, -rc, "deleting objects");
		} else {
			r->deleted += j->count;
			r->deleted_bytes += j->bytes;
			pump_deletes(r);
		}
	}
	free(j);
	run_unref(r);
}

static void pump_deletes(struct trun *r)
{
	while (r->del_i < r->ndeletes && r->del_jobs < 2) {
		struct delete_job *j = calloc(1, sizeof(*j));
		if (!j) {
			run_fail(r, RPL_E_NOMEM, "deleting objects");
			return;
		}
		j->r = r;
		j->d = r->deletes + r->del_i;
		j->n = r->ndeletes - r->del_i < DELETES_PER_JOB ? r->ndeletes - r->del_i
								: DELETES_PER_JOB;
		r->del_i += j->n;
		r->refs++;
		r->jobs++;
		r->del_jobs++;
		if (dbw_submit(peer_dbw(r->y->peer), delete_work, delete_done, j) < 0) {
			r->refs--;
			r->jobs--;
			r->del_jobs--;
			free(j);
			run_fail(r, RPL_E_NOMEM, "deleting objects");
			return;
		}
	}
	if (r->del_i == r->ndeletes && r->del_jobs == 0 && r->state == T_DELETING) {
		struct wbuf w;
		if (r->deleted)
			peer_actlog(
				r->y->peer, RPL_I_OBJ_DELETED,
				"replication from server %s deleted %llu objects (%llu bytes) of replica node %s",
				r->server, (unsigned long long)r->deleted,
				(unsigned long long)r->deleted_bytes, r->node);
		r->state = T_TRANSFER;
		wbuf_init(&w);
		tlv_put_u64(&w, RF_DELETE, r->deleted);
		tlv_put_u64(&w, RF_BYTES, r->deleted_bytes);
		(void)ctl_send(r, R_DELETED, &w);
		wbuf_free(&w);
		if (r->ndeletes)
			session_resume(r->s); /* from a job's callback, never inside a frame */
	}
}

struct end_job {
	struct trun *r;
	int gc;
	struct node_rec nr;
	struct gc_result g;
	char text[700];
};

static int end_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct end_job *j = arg;
	int rc = 0;

	/* Chunks staged by this run (or its predecessors) that no object
	 * took: the run completed, so nothing will. */
	if (j->gc)
		rc = store_staging_gc(txn, st, clock_now() + 1, &j->r->origin, &j->g);
	if (rc == 0)
		rc = store_node_get(txn, st, j->r->node, &j->nr);
	if (rc == 0)
		rc = store_actlog_add(txn, st,
				      j->r->failed ? RPL_E_REPL_FAILED_OBJ : RPL_I_REPL_RECEIVED,
				      "%s", j->text);
	return rc;
}

static void end_done(int rc, void *arg)
{
	struct end_job *j = arg;
	struct trun *r = j->r;
	struct wbuf w;

	r->jobs--;
	if (!r->aborted) {
		if (rc < 0) {
			run_fail(r, -rc, "ending the run");
		} else {
			log_code(r->failed ? RPL_E_REPL_FAILED_OBJ : RPL_I_REPL_RECEIVED, "%s",
				 j->text);
			r->state = T_DONE;
			wbuf_init(&w);
			tlv_put_u64(&w, RF_OBJECTS, j->nr.objects);
			tlv_put_u64(&w, RF_BYTES, j->nr.bytes);
			(void)ctl_send(r, R_END_OK, &w);
			wbuf_free(&w);
		}
	}
	free(j);
	run_unref(r);
}

/* R_END came and nothing is on its way any more: the run ends here. */
static void maybe_end(struct trun *r)
{
	struct end_job *j;

	if (r->aborted || r->state != T_ENDING || r->jobs || r->objs)
		return;
	if (!(j = calloc(1, sizeof(*j)))) {
		run_fail(r, RPL_E_NOMEM, "ending the run");
		return;
	}
	j->r = r;
	j->gc = r->failed == 0;
	snprintf(
		j->text, sizeof(j->text),
		"replication of node %s from server %s received: %llu objects (%llu bytes) stored, %llu new chunk bytes, %llu deleted, %llu failed, in %lld s, longest loop turn %.1f ms",
		r->node, r->server, (unsigned long long)r->objects, (unsigned long long)r->bytes,
		(unsigned long long)r->new_bytes, (unsigned long long)r->deleted,
		(unsigned long long)r->failed, (long long)(clock_now() - r->started),
		(double)r->loop_max_us / 1000.0);
	r->refs++;
	r->jobs++;
	if (dbw_submit(peer_dbw(r->y->peer), end_work, end_done, j) < 0) {
		r->refs--;
		r->jobs--;
		free(j);
		run_fail(r, RPL_E_NOMEM, "ending the run");
	}
}

/* ---- dispatch --------------------------------------------------------------------- */

static void on_tick(uv_timer_t *t)
{
	struct trun *r = t->data;
	struct wbuf w;

	if (r->aborted)
		return;
	wbuf_init(&w);
	(void)ctl_send(r, R_TICK, &w);
	if (r->bulk && !session_closing(r->bulk) && !r->bq.head)
		(void)outq_send(&r->bq, r->bulk, R_TICK, &w);
	wbuf_free(&w);
}

static int on_frame(struct peer_session *s, int type, struct cursor *p, void *arg)
{
	struct trun *r = arg;
	int rc = -1;

	if (r->aborted)
		return 0;
	if (session_proto(s) != 2) {
		run_fail(r, RPL_E_REPL_PROTO1,
			 "replication from server %s refused: it came over protocol %d", r->server,
			 session_proto(s));
		return 0;
	}
	switch (type) {
	case R_TICK:
		if (r->state == T_OPEN)
			break;
		return 0;
	case MSG_ERROR: session_on_error_frame(s, p); return 0;
	case R_OPEN:
		if (r->state != T_OPEN)
			break;
		rc = on_open(r, p);
		break;
	case R_SUMMARY:
		if (r->state != T_SUMMARY)
			break;
		rc = on_summary(r, p);
		break;
	case R_ENTRIES:
		if (r->state != T_ENTRIES)
			break;
		rc = on_entries(r, p);
		break;
	case R_OBJECT:
		if (r->state != T_TRANSFER)
			break;
		rc = on_object(r, p);
		break;
	case R_OBJECT_MORE:
		if (r->state != T_TRANSFER)
			break;
		rc = on_object_more(r, p);
		break;
	case R_CHUNK:
	case R_SKIP:
		if (r->state != T_TRANSFER || r->use_bulk)
			break;
		return on_data(r, type, p);
	case R_DELETE:
		if (r->state != T_TRANSFER || r->objs || r->announcing || r->del_i ||
		    r->deleting_done)
			break;
		r->deleting_done = 1; /* once per run */
		r->state = T_DELETING;
		if (r->ndeletes)
			session_pause(s); /* resumed by the last delete job */
		pump_deletes(r);
		return 0;
	case R_END:
		if (r->state != T_TRANSFER || r->objs || r->announcing)
			break;
		r->state = T_ENDING;
		maybe_end(r);
		return 0;
	}
	if (rc == -1) {
		char why[128];
		snprintf(why, sizeof(why), "replication message %d is not expected in state %s",
			 type, tstate_name(r->state));
		log_error(RPL_E_PROTOCOL, "replication from server %s: %s", r->server, why);
		session_unexpected(s, type, tstate_name(r->state));
		run_abort(r);
		return 0;
	}
	if (rc < 0 && !r->aborted)
		run_fail(r, -rc, "handling replication message %d in state %s", type,
			 tstate_name(r->state));
	return 0;
}

static void on_writable(struct peer_session *s, void *arg)
{
	struct trun *r = arg;
	int rc;

	if (r->aborted)
		return;
	if ((rc = outq_flush(&r->q, s)) < 0)
		run_fail(r, -rc, "sending to the source");
}

static void on_ready(struct peer_session *s, void *arg)
{
	struct trun *r = arg;
	uint64_t ms = (uint64_t)r->y->in->conf.commtimeout * 1000 / 3;

	/* A protocol-1 session is refused at its first message: the source
	 * refuses it too, and says so itself, once it is ready. */
	if (session_proto(s) != 2)
		return;
	if (ms > 10000)
		ms = 10000;
	if (ms < 1000)
		ms = 1000;
	uv_timer_start(&r->tick, on_tick, ms, ms);
}

static void on_closed(struct peer_session *s, const struct session_result *res, void *arg)
{
	struct trun *r = arg;

	(void)s;
	if (!r->aborted && r->state != T_DONE && r->state > T_OPEN)
		log_warn(RPL_W_REPL_CANCELLED,
			 "replication of node %s from server %s ended in state %s: %s", r->node,
			 r->server, tstate_name(r->state),
			 res->ok ? "the source closed the session" : res->message);
	run_abort(r);
	run_unref(r);
}

static const struct session_ops target_ops = {
	.ready = on_ready,
	.frame = on_frame,
	.writable = on_writable,
	.closed = on_closed,
};

/* ---- the bulk channel ------------------------------------------------------------- */

/* A bulk session holds the reference its token's expectation took, until
 * its closed callback. */
static void bulk_ready(struct peer_session *s, void *arg)
{
	struct trun *r = arg;

	r->token_out = 0; /* spent */
	if (r->aborted || r->bulk) {
		session_close(s, -RPL_E_PROTOCOL, "a bulk channel for a run that ended or has one");
		return;
	}
	r->bulk = s;
	update_pipe(r);
}

static int bulk_frame(struct peer_session *s, int type, struct cursor *p, void *arg)
{
	struct trun *r = arg;

	if (r->aborted || r->bulk != s)
		return -RPL_E_CLOSED;
	if (type == R_TICK)
		return 0;
	if ((type == R_CHUNK || type == R_SKIP) && r->state == T_TRANSFER)
		return on_data(r, type, p);
	run_fail(r, RPL_E_PROTOCOL, "message %d on the bulk channel in state %s", type,
		 tstate_name(r->state));
	return 0;
}

static void bulk_writable(struct peer_session *s, void *arg)
{
	struct trun *r = arg;
	if (!r->aborted)
		(void)outq_flush(&r->bq, s);
}

static void bulk_closed(struct peer_session *s, const struct session_result *res, void *arg)
{
	struct trun *r = arg;

	if (r->bulk == s) {
		r->bulk = NULL;
		if (!r->aborted && r->state != T_DONE)
			run_fail(r, res->ok ? RPL_E_CLOSED : -res->err,
				 "the bulk channel ended%s%s", res->ok ? "" : ": ",
				 res->ok ? "" : res->message);
	}
	run_unref(r);
}

static const struct session_ops bulk_ops = {
	.ready = bulk_ready,
	.frame = bulk_frame,
	.writable = bulk_writable,
	.closed = bulk_closed,
};

/* ---- entry ----------------------------------------------------------------------- */

const struct session_ops *repl_target_inbound(struct sync *y, struct peer_session *s, void **arg)
{
	struct trun *r;

	if (!y->repl_in || !(r = calloc(1, sizeof(*r))))
		return NULL;
	r->y = y;
	r->s = s;
	r->refs = 1; /* the session */
	r->state = T_OPEN;
	r->started = clock_now();
	snprintf(r->server, sizeof(r->server), "%s", session_server(s));
	uv_timer_init(y->loop, &r->tick);
	uv_timer_init(y->loop, &r->flush);
	r->tick.data = r->flush.data = r;
	r->next = y->repl_in->runs;
	y->repl_in->runs = r;
	*arg = r;
	return &target_ops;
}

int repl_target_init(struct sync *y)
{
	if (!(y->repl_in = calloc(1, sizeof(*y->repl_in))))
		return -RPL_E_NOMEM;
	return 0;
}

void repl_target_free(struct sync *y)
{
	free(y->repl_in);
	y->repl_in = NULL;
}
