#include "schedule.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../peer/adminsrv.h"
#include "../peer/dbw.h"
#include "../store/actlog.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "admin.h"
#include "sync.h"

/* Checked at least this often, so a clock step is noticed. */
#define MAX_SLEEP_MS 60000

struct sched_run {
	struct sched_run *next;
	struct sched *sc;
	char name[RPL_NAME_MAX + 1];
	int64_t started;
};

struct sched {
	struct sync *y;
	uv_timer_t timer;
	struct sched_run *running;
	int stopped;
};

int64_t sched_next_after(const struct sched_rec *r, int64_t now)
{
	struct tm tm;
	time_t t = (time_t)now, anchor;

	if (r->starttime < 0)
		return now + r->period;
	localtime_r(&t, &tm);
	tm.tm_hour = r->starttime / 60;
	tm.tm_min = r->starttime % 60;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	anchor = mktime(&tm);
	if (r->period % 86400 == 0) {
		/* Whole days: step the calendar, so 02:00 stays 02:00 when the
		 * offset to UTC changes. */
		int days = (int)(r->period / 86400);
		while (anchor <= t) {
			tm.tm_mday += days;
			tm.tm_isdst = -1;
			anchor = mktime(&tm);
		}
		return (int64_t)anchor;
	}
	if (anchor > t)
		return (int64_t)anchor;
	return (int64_t)anchor + ((now - (int64_t)anchor) / r->period + 1) * r->period;
}

int sched_running(struct sync *y, const char *name)
{
	if (!y->sched)
		return 0;
	for (struct sched_run *x = y->sched->running; x; x = x->next)
		if (strcasecmp(x->name, name) == 0)
			return 1;
	return 0;
}

/* ---- records ---------------------------------------------------------------- */

struct mark_job {
	char name[RPL_NAME_MAX + 1];
	int end; /* 0: a run starts (or is skipped), 1: it ended */
	int skipped;
	int64_t now, next;
	int ok;
	char msgid[16];
	char result[512];
};

static int mark_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct mark_job *j = arg;
	struct sched_rec r;
	int rc = store_sched_get(txn, st, j->name, &r);

	if (rc == -RPL_E_NOTFOUND)
		return 0; /* deleted meanwhile */
	if (rc < 0)
		return rc;
	if (!j->end) {
		r.next_run = j->next;
		if (!j->skipped)
			r.last_run = j->now;
	} else {
		r.last_end = j->now;
		r.last_ok = j->ok;
		snprintf(r.last_msgid, sizeof(r.last_msgid), "%s", j->msgid);
		snprintf(r.last_result, sizeof(r.last_result), "%s", j->result);
	}
	rc = store_sched_put(txn, st, &r);
	if (rc == 0 && j->skipped)
		rc = store_actlog_add(
			txn, st, RPL_W_SCHED_SKIPPED,
			"schedule %s: '%s' not started, its previous run is still going", r.name,
			r.cmd);
	if (rc == 0 && j->end)
		rc = store_actlog_add(txn, st, RPL_I_SCHED_RUN, "schedule %s: '%s' ended: %s %s",
				      r.name, r.cmd, j->msgid, j->result);
	return rc;
}

static void mark_done(int rc, void *arg)
{
	struct mark_job *j = arg;

	if (rc < 0)
		log_code(-rc, "schedule %s not updated: %s", j->name, rpl_msg_text(rc));
	free(j);
}

static void mark(struct sync *y, struct mark_job *j)
{
	if (dbw_submit(peer_dbw(y->peer), mark_work, mark_done, j) < 0)
		free(j);
}

/* ---- running ------------------------------------------------------------------ */

static void on_reply(void *arg, json_t *doc)
{
	struct sched_run *x = arg;
	struct sched *sc = x->sc;
	struct mark_job *j = calloc(1, sizeof(*j));
	const char *id = json_string_value(json_object_get(doc, "message_id"));
	const char *msg = json_string_value(json_object_get(doc, "message"));
	int ok = !json_is_false(json_object_get(doc, "ok"));

	if (j && sc && !sc->stopped) {
		snprintf(j->name, sizeof(j->name), "%s", x->name);
		j->end = 1;
		j->now = clock_now();
		j->ok = ok;
		snprintf(j->msgid, sizeof(j->msgid), "%s",
			 id ? id : (ok ? "RPL0000I" : "RPL0004E"));
		snprintf(j->result, sizeof(j->result), "%s", msg ? msg : (ok ? "done" : "failed"));
		if (ok)
			log_info(RPL_I_SCHED_RUN, "schedule %s ended: %s %s", x->name, j->msgid,
				 j->result);
		else
			log_warn(RPL_W_SCHED_FAILED, "schedule %s ended: %s %s", x->name, j->msgid,
				 j->result);
		mark(sc->y, j);
	} else {
		free(j);
	}
	if (sc) {
		for (struct sched_run **pp = &sc->running; *pp; pp = &(*pp)->next)
			if (*pp == x) {
				*pp = x->next;
				break;
			}
	}
	free(x);
}

/* The command as it runs: REPLICATE waits for its end and gets the
 * schedule's DURATION unless it names its own. */
static void command_line(const struct sched_rec *r, char *out, size_t outsz)
{
	struct admin_cmd *c = calloc(1, sizeof(*c));
	char err[128];
	int repl;

	snprintf(out, outsz, "%s", r->cmd);
	if (!c || admin_parse(r->cmd, c, err, sizeof(err)) < 0) {
		free(c);
		return;
	}
	repl = c->nwords >= 2 && strcasecmp(c->words[0], "REPLICATE") == 0;
	if (repl && !admin_param(c, "WAIT")) {
		size_t n = strlen(out);
		snprintf(out + n, outsz - n, " WAIT=YES");
	}
	if (repl && r->duration && !admin_param(c, "DURATION")) {
		size_t n = strlen(out);
		snprintf(out + n, outsz - n, " DURATION=%llds", (long long)r->duration);
	}
	free(c);
}

static void run_one(struct sched *sc, const struct sched_rec *r, int64_t now)
{
	struct sync *y = sc->y;
	struct mark_job *j = calloc(1, sizeof(*j));
	struct sched_run *x;
	struct admin_client *ac;
	char line[SCHED_CMD_MAX + 64];

	if (!j)
		return;
	snprintf(j->name, sizeof(j->name), "%s", r->name);
	j->now = now;
	j->next = sched_next_after(r, now);
	if (sched_running(y, r->name)) {
		j->skipped = 1;
		log_warn(RPL_W_SCHED_SKIPPED,
			 "schedule %s: '%s' not started, its previous run is still going", r->name,
			 r->cmd);
		mark(y, j);
		return;
	}
	mark(y, j);
	if (!(x = calloc(1, sizeof(*x))))
		return;
	x->sc = sc;
	snprintf(x->name, sizeof(x->name), "%s", r->name);
	x->started = now;
	x->next = sc->running;
	sc->running = x;
	command_line(r, line, sizeof(line));
	log_info(RPL_I_SCHED_RUN, "schedule %s starts '%s'", r->name, line);
	if (!(ac = adminsrv_internal(y->peer, on_reply, x))) {
		json_t *doc = admin_error(RPL_E_NOMEM, NULL);
		on_reply(x, doc);
		json_decref(doc);
		return;
	}
	admin_exec(y, ac, line);
}

struct due_scan {
	struct sched *sc;
	int64_t now;
	int64_t earliest;
	struct sched_rec *due;
	size_t ndue, cap;
};

static int due_cb(const struct sched_rec *r, void *arg)
{
	struct due_scan *d = arg;
	int64_t next = r->next_run;

	if (!r->active)
		return 0;
	if (next == 0)
		next = d->now; /* never scheduled: due now */
	if (next <= d->now) {
		if (d->ndue == d->cap) {
			size_t cap = d->cap ? d->cap * 2 : 4;
			void *np = realloc(d->due, cap * sizeof(*d->due));
			if (!np)
				return -RPL_E_NOMEM;
			d->due = np;
			d->cap = cap;
		}
		d->due[d->ndue++] = *r;
		next = sched_next_after(r, d->now);
	}
	if (!d->earliest || next < d->earliest)
		d->earliest = next;
	return 0;
}

static void on_timer(uv_timer_t *t)
{
	struct sched *sc = t->data;
	struct due_scan d = { sc, clock_now(), 0, NULL, 0, 0 };
	MDB_txn *txn;

	if (sc->stopped)
		return;
	if (store_begin(&sc->y->in->store, 0, &txn) == 0) {
		(void)store_sched_each(txn, &sc->y->in->store, due_cb, &d);
		store_abort(txn);
	}
	for (size_t i = 0; i < d.ndue; i++)
		run_one(sc, &d.due[i], d.now);
	free(d.due);
	{
		uint64_t ms = MAX_SLEEP_MS;
		if (d.earliest && d.earliest > d.now && (uint64_t)(d.earliest - d.now) * 1000 < ms)
			ms = (uint64_t)(d.earliest - d.now) * 1000;
		if (d.earliest && d.earliest <= d.now)
			ms = 1000;
		uv_timer_start(&sc->timer, on_timer, ms, 0);
	}
}

static void sched_arm(struct sched *sc)
{
	if (!sc->stopped)
		uv_timer_start(&sc->timer, on_timer, 0, 0);
}

void sched_changed(struct sync *y)
{
	if (y->sched)
		sched_arm(y->sched);
}

int sched_init(struct sync *y)
{
	struct sched *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return -RPL_E_NOMEM;
	sc->y = y;
	uv_timer_init(y->loop, &sc->timer);
	sc->timer.data = sc;
	y->sched = sc;
	/* Schedules due while the daemon was down run once now. */
	sched_arm(sc);
	return 0;
}

void sched_stop(struct sync *y)
{
	if (!y->sched)
		return;
	y->sched->stopped = 1;
	uv_timer_stop(&y->sched->timer);
	uv_close((uv_handle_t *)&y->sched->timer, NULL);
}

void sched_free(struct sync *y)
{
	struct sched *sc = y->sched;

	if (!sc)
		return;
	/* Internal clients still out: their replies find no schedule. */
	for (struct sched_run *x = sc->running; x; x = x->next)
		x->sc = NULL;
	free(sc);
	y->sched = NULL;
}
