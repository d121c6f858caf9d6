#include "dbw.h"

#include <stdlib.h>

#include "../util/log.h"
#include "../util/msg.h"

struct job {
	struct job *next;
	dbw_work_fn *work;
	dbw_done_fn *done;
	void *arg;
	int rc;
};

struct dbw {
	uv_loop_t *loop;
	struct store *s;
	uv_work_t req;
	int running;               /* a batch is on the pool */
	struct job *queue, **tail; /* waiting for the next batch */
	struct job *batch;         /* the batch on the pool */
	int batch_rc;              /* the parent transaction's result */
	int npending;
};

int dbw_new(uv_loop_t *loop, struct store *s, struct dbw **out)
{
	struct dbw *w = calloc(1, sizeof(*w));
	if (!w)
		return -RPL_E_NOMEM;
	w->loop = loop;
	w->s = s;
	w->tail = &w->queue;
	w->req.data = w;
	*out = w;
	return 0;
}

int dbw_pending(const struct dbw *w) { return w->npending; }

/* Pool thread: one parent transaction, one child per job. */
static void batch_work(uv_work_t *req)
{
	struct dbw *w = req->data;
	MDB_txn *parent = NULL;
	int rc = store_begin(w->s, 1, &parent);

	for (struct job *j = w->batch; j; j = j->next) {
		MDB_txn *child;
		if (rc < 0) {
			j->rc = rc;
			continue;
		}
		j->rc = store_err(mdb_txn_begin(mdb_txn_env(parent), parent, 0, &child));
		if (j->rc < 0)
			continue;
		j->rc = j->work(child, w->s, j->arg);
		if (j->rc == 0)
			j->rc = store_commit(child);
		else
			store_abort(child);
	}
	if (rc == 0)
		rc = store_commit(parent);
	w->batch_rc = rc;
}

static void start_batch(struct dbw *w);

static void batch_done(uv_work_t *req, int status)
{
	struct dbw *w = req->data;
	struct job *j = w->batch, *next;

	w->batch = NULL;
	w->running = 0;
	for (; j; j = next) {
		int rc = status < 0 ? -RPL_E_INTERNAL : w->batch_rc < 0 ? w->batch_rc : j->rc;
		next = j->next;
		w->npending--;
		if (rc < 0 && rc != j->rc)
			log_code(rc, "database write failed: %s", rpl_msg_text(rc));
		j->done(rc, j->arg);
		free(j);
	}
	start_batch(w);
}

static void start_batch(struct dbw *w)
{
	if (w->running || !w->queue)
		return;
	w->batch = w->queue;
	w->queue = NULL;
	w->tail = &w->queue;
	w->running = 1;
	if (uv_queue_work(w->loop, &w->req, batch_work, batch_done) < 0) {
		/* Cannot happen with a live loop; run the batch's callbacks
		 * with the error rather than lose them. */
		w->batch_rc = -RPL_E_INTERNAL;
		batch_done(&w->req, 0);
	}
}

int dbw_submit(struct dbw *w, dbw_work_fn *work, dbw_done_fn *done, void *arg)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return -RPL_E_NOMEM;
	j->work = work;
	j->done = done;
	j->arg = arg;
	*w->tail = j;
	w->tail = &j->next;
	w->npending++;
	start_batch(w);
	return 0;
}

void dbw_free(struct dbw *w)
{
	if (!w)
		return;
	/* Jobs still queued never ran: tell their owners. */
	while (w->queue) {
		struct job *j = w->queue;
		w->queue = j->next;
		j->done(-RPL_E_HALTING, j->arg);
		free(j);
	}
	free(w);
}
