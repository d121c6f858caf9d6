#include "lifecycle.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../peer/dbw.h"
#include "../peer/keys/identity.h"
#include "../peer/keys/nextreq.h"
#include "../peer/peer.h"
#include "../store/actlog.h"
#include "../store/owncert.h"
#include "../util/clock.h"
#include "../util/hex.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "admin.h"
#include "process.h"
#include "progress.h"
#include "sync.h"
#include "talk.h"

/* Sessions a distribution round keeps open at once: enough to finish 100
 * partners in a few round trips, few enough to leave MAXSESSIONS for
 * partners that connect to us meanwhile. */
#define ROUND_WINDOW    32
#define RETRY_SECONDS   600
#define MAX_WARNED      512
#define WIPE_WARN_DAYS  7
#define CA_REQUEST_DAYS 90 /* the first expiry warning */

enum { PHASE_NONE = 0, PHASE_ANNOUNCE, PHASE_CONFIRM };
enum { PS_WAITING = 0, PS_RUNNING, PS_DONE, PS_FAILED, PS_REFUSED };

struct round_ref;

struct partner_state {
	char name[RPL_NAME_MAX + 1];
	int status;
	char message[768];
	struct round_ref *ref; /* the session in flight (PS_RUNNING), for CANCEL PROCESS */
};

struct warned {
	uint8_t fp[FP_LEN];
	int threshold;
};

struct lifecycle {
	struct sync *y;
	uv_timer_t retry, deadline;
	int timers;         /* both timers initialised */
	int renewing;       /* key generation runs on the pool */
	int phase;          /* round in progress */
	int again;          /* a round was asked for while one ran */
	int activate_after; /* AFTERSYNC: activate when the announce round ends */
	unsigned gen;       /* round generation: late answers of an old round are ignored */
	struct partner_state *ps;
	int nps, next_idx, running;
	int pumping; /* pump() is on the stack */
	uint64_t round_started_ms;
	char stopped[900]; /* why the last activation stopped ("" when it did not) */
	struct warned warned[MAX_WARNED];
	int nwarned;
	int requesting;               /* the next key of a CA-signed identity is being made */
	struct renew_waiter *waiters; /* RENEW ... WAIT=YES */
	struct sync_process proc;     /* the round in progress, for QUERY PROCESS */
};

/* An administrator waiting for a renewal's rounds (WAIT=YES): answered
 * when the announcement round ended and the next certificate was
 * activated (or refused), or, after ACTIVATE=IMMEDIATE, when the
 * confirmation round ended. Each round ends at ROUNDTIMEOUT at the latest. */
struct renew_waiter {
	struct renew_waiter *next;
	struct lifecycle *lc;
	struct admin_client *ac; /* held */
	struct progress_note note;
	int phase;
};

struct round_ref {
	struct lifecycle *lc;
	unsigned gen;
};

static void round_start(struct lifecycle *lc, int phase);
static void check_retire(struct lifecycle *lc);
static void answer_waiters(struct lifecycle *lc, int phase, int rc, const char *label);

/* Remembers that a warning was given (per fingerprint and threshold); 1
 * when it was given before. */
static int warned_before(struct lifecycle *lc, const uint8_t fp[FP_LEN], int threshold)
{
	for (int i = 0; i < lc->nwarned; i++)
		if (lc->warned[i].threshold == threshold &&
		    memcmp(lc->warned[i].fp, fp, FP_LEN) == 0)
			return 1;
	if (lc->nwarned < MAX_WARNED) {
		memcpy(lc->warned[lc->nwarned].fp, fp, FP_LEN);
		lc->warned[lc->nwarned++].threshold = threshold;
	}
	return 0;
}

/* ---- activation -------------------------------------------------------- */

struct activate_job {
	struct lifecycle *lc;
	char why[128];
	char label[OWN_LABEL_MAX + 1]; /* the next certificate to activate ("" = the one) */
	int compromised;
	int64_t now;
	void (*then)(struct lifecycle *lc, int rc, struct activate_job *j);
	void *arg;
	/* results */
	char next_label[OWN_LABEL_MAX + 1], cur_label[OWN_LABEL_MAX + 1];
	int have_cur;
};

struct label_list {
	char labels[8][OWN_LABEL_MAX + 1];
	int n;
};

static int collect_state(const struct owncert *c, void *arg, int state)
{
	struct label_list *l = arg;
	if (c->state == state && l->n < 8)
		strcpy(l->labels[l->n++], c->label);
	return 0;
}

static int collect_next(const struct owncert *c, void *arg)
{
	return collect_state(c, arg, OWN_NEXT);
}
static int collect_prev(const struct owncert *c, void *arg)
{
	return collect_state(c, arg, OWN_PREVIOUS);
}
static int collect_retired(const struct owncert *c, void *arg)
{
	return collect_state(c, arg, OWN_RETIRED);
}

static int retire(MDB_txn *txn, struct store *st, struct owncert *c, int64_t now, int compromised)
{
	c->state = OWN_RETIRED;
	c->retired = now;
	c->compromised = compromised;
	blob_free(&c->sealed_key); /* the key is wiped with the record's old version */
	return store_owncert_put(txn, st, c);
}

/* next -> current, current -> previous (or retired, its key wiped, when
 * compromised), in one transaction. Other next certificates (a COMPROMISED
 * renewal replaces one in flight) are retired. */
static int activate_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct activate_job *j = arg;
	struct label_list nexts = { .n = 0 };
	struct owncert next, cur;
	int rc, found = 0;

	if ((rc = store_owncert_each(txn, st, collect_next, &nexts)) < 0)
		return rc;
	for (int i = 0; i < nexts.n && rc == 0; i++) {
		struct owncert c;
		if ((rc = store_owncert_get(txn, st, nexts.labels[i], &c)) < 0)
			break;
		if (!found && (!j->label[0] || strcmp(c.label, j->label) == 0)) {
			next = c;
			found = 1;
			continue;
		}
		rc = retire(txn, st, &c, j->now, j->compromised);
		owncert_free(&c);
	}
	if (rc < 0 || !found) {
		if (found)
			owncert_free(&next);
		return rc < 0 ? rc : -RPL_E_NOTFOUND;
	}
	j->have_cur = store_owncert_find(txn, st, OWN_CURRENT, &cur) == 0;
	if (j->have_cur) {
		snprintf(j->cur_label, sizeof(j->cur_label), "%s", cur.label);
		if (j->compromised) {
			rc = retire(txn, st, &cur, j->now, 1);
		} else {
			cur.state = OWN_PREVIOUS;
			cur.superseded = j->now;
			rc = store_owncert_put(txn, st, &cur);
		}
		owncert_free(&cur);
	}
	snprintf(j->next_label, sizeof(j->next_label), "%s", next.label);
	if (rc == 0) {
		next.state = OWN_CURRENT;
		next.activated = j->now;
		rc = store_owncert_put(txn, st, &next);
	}
	if (rc == 0 && j->compromised)
		rc = store_actlog_add(
			txn, st, RPL_W_COMPROMISED,
			"own certificate %s is now current (%s); %s was compromised: retired, its key wiped, it endorses nothing",
			next.label, j->why, j->have_cur ? j->cur_label : "none");
	else if (rc == 0)
		rc = store_actlog_add(
			txn, st, RPL_I_CERT_ACTIVATED,
			"own certificate %s is now current (%s); %s is previous and stays until no partner needs it",
			next.label, j->why, j->have_cur ? j->cur_label : "none");
	owncert_free(&next);
	return rc;
}

static void activate_done(int rc, void *arg)
{
	struct activate_job *j = arg;
	struct lifecycle *lc = j->lc;
	struct sync *y = lc->y;

	if (rc == 0) {
		log_info(RPL_I_CERT_ACTIVATED, "own certificate %s is now current (%s)",
			 j->next_label, j->why);
		lc->stopped[0] = 0;
		(void)instance_write_pem(y->in);
		(void)peer_refresh_identity(y->peer);
	} else {
		log_code(rc, "activating the next own certificate: %s", rpl_msg_text(rc));
	}
	if (j->then)
		j->then(lc, rc, j);
	free(j);
}

static int activate(struct lifecycle *lc, const char *why, const char *label, int compromised,
		    void (*then)(struct lifecycle *, int, struct activate_job *), void *arg)
{
	struct activate_job *j = calloc(1, sizeof(*j));
	int rc;

	if (!j)
		return -RPL_E_NOMEM;
	j->lc = lc;
	snprintf(j->why, sizeof(j->why), "%s", why);
	snprintf(j->label, sizeof(j->label), "%s", label ? label : "");
	j->compromised = compromised;
	j->now = clock_now();
	j->then = then;
	j->arg = arg;
	rc = dbw_submit(peer_dbw(lc->y->peer), activate_work, activate_done, j);
	if (rc < 0)
		free(j);
	return rc;
}

static void then_confirm(struct lifecycle *lc, int rc, struct activate_job *j)
{
	if (rc == 0)
		round_start(lc, PHASE_CONFIRM);
	answer_waiters(lc, PHASE_ANNOUNCE, rc, j->next_label);
}

/* ---- retirement --------------------------------------------------------- */

/* What check_retire found for one previous certificate. */
struct retire_note {
	char label[OWN_LABEL_MAX + 1];
	uint8_t fp[FP_LEN];
	int event;     /* 0 kept, 1 retired (unneeded), 2 retired (grace or expiry) */
	int64_t until; /* kept: the latest wipe date */
	char who[300]; /* partners that still pin only it */
};

struct retire_job {
	struct lifecycle *lc;
	int64_t now;
	int grace_days;
	int retention_days; /* retired records are kept as long as the activity log */
	int pruned;
	struct retire_note notes[8];
	int n;
};

struct needs_scan {
	uint8_t cur_fp[FP_LEN], prev_fp[FP_LEN];
	int needed;
	char who[300];
};

static int needs_prev(const struct server_rec *r, void *arg)
{
	struct needs_scan *s = arg;
	if (server_held_find(r, s->prev_fp) >= 0 && server_held_find(r, s->cur_fp) < 0) {
		size_t n = strlen(s->who);
		s->needed++;
		snprintf(s->who + n, sizeof(s->who) - n, "%s%s", n ? ", " : "", r->name);
	}
	return 0;
}

/* A previous certificate is kept, with its key, while some partner is
 * known to pin it and not yet the current one — but never past its own
 * expiry or PREVCERTGRACEDAYS after it was superseded: a partner's word
 * that it still needs it is not evidence, and a key kept forever is a key
 * that can leak. */
static int retire_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct retire_job *j = arg;
	struct label_list l = { .n = 0 };
	struct owncert cur;
	int rc;

	if (store_owncert_find(txn, st, OWN_CURRENT, &cur) < 0)
		return 0;
	rc = store_owncert_each(txn, st, collect_prev, &l);
	for (int i = 0; rc >= 0 && i < l.n && j->n < 8; i++) {
		struct needs_scan s = { .needed = 0, .who = "" };
		struct retire_note *note = &j->notes[j->n];
		struct certinfo ci;
		struct owncert prev;
		int64_t since, until;

		if (store_owncert_get(txn, st, l.labels[i], &prev) < 0)
			continue;
		rc = identity_fingerprint(cur.der.p, cur.der.n, s.cur_fp);
		if (rc == 0)
			rc = identity_fingerprint(prev.der.p, prev.der.n, s.prev_fp);
		if (rc == 0)
			rc = store_server_each(txn, st, needs_prev, &s);
		since = prev.superseded ? prev.superseded : cur.activated ? cur.activated : j->now;
		until = since + (int64_t)j->grace_days * 86400;
		if (identity_cert_info(prev.der.p, prev.der.n, &ci) == 0 && ci.not_after < until)
			until = ci.not_after;
		memset(note, 0, sizeof(*note));
		snprintf(note->label, sizeof(note->label), "%s", prev.label);
		memcpy(note->fp, s.prev_fp, FP_LEN);
		snprintf(note->who, sizeof(note->who), "%s", s.who);
		note->until = until;
		if (rc >= 0 && (s.needed == 0 || j->now >= until)) {
			note->event = s.needed == 0 ? 1 : 2;
			rc = retire(txn, st, &prev, j->now, 0);
			if (rc == 0 && note->event == 1)
				rc = store_actlog_add(
					txn, st, RPL_I_CERT_RETIRED,
					"own certificate %s retired: every partner holds %s; its key was wiped",
					prev.label, cur.label);
			else if (rc == 0)
				rc = store_actlog_add(
					txn, st, RPL_W_PREV_EXPIRED_GRACE,
					"own certificate %s retired and its key wiped at the end of its grace period; partners that pinned only it need FORCESYNC: %s",
					prev.label, s.who);
		}
		owncert_free(&prev);
		j->n++;
	}
	owncert_free(&cur);
	/* Retired records (certificate, no key) are history: kept as long as
	 * the activity log that mentions them, then dropped. */
	l.n = 0;
	if (rc >= 0)
		rc = store_owncert_each(txn, st, collect_retired, &l);
	for (int i = 0; rc >= 0 && i < l.n; i++) {
		struct owncert old;
		if (store_owncert_get(txn, st, l.labels[i], &old) < 0)
			continue;
		if (old.retired && old.retired + (int64_t)j->retention_days * 86400 < j->now) {
			rc = store_owncert_del(txn, st, old.label);
			if (rc == 0)
				rc = store_actlog_add(
					txn, st, RPL_I_CERT_DELETED,
					"retired own certificate %s removed (retired %lld days ago, ACTLOGRETENTION %d)",
					old.label, (long long)((j->now - old.retired) / 86400),
					j->retention_days);
			j->pruned += rc == 0;
		}
		owncert_free(&old);
	}
	return rc < 0 ? rc : 0;
}

static void retire_done(int rc, void *arg)
{
	struct retire_job *j = arg;
	struct lifecycle *lc = j->lc;

	for (int i = 0; rc == 0 && i < j->n; i++) {
		struct retire_note *n = &j->notes[i];
		char until[32];
		clock_iso8601(n->until, until, sizeof(until));
		if (n->event == 1) {
			log_info(RPL_I_CERT_RETIRED,
				 "own certificate %s retired: every partner holds the current one",
				 n->label);
		} else if (n->event == 2) {
			log_warn(
				RPL_W_PREV_EXPIRED_GRACE,
				"own certificate %s retired at the end of its grace period; "
				"these partners pinned only it and need 'UPDATE SERVER name FORCESYNC=YES': %s",
				n->label, n->who);
		} else if (n->until - j->now < (int64_t)WIPE_WARN_DAYS * 86400) {
			if (!warned_before(lc, n->fp, -2))
				log_warn(
					RPL_W_PREV_WIPE_SOON,
					"own certificate %s and its key are wiped on %s; "
					"partners that still pin only it will then need FORCESYNC: %s",
					n->label, until, n->who);
		} else if (!warned_before(lc, n->fp, -1)) {
			log_warn(RPL_W_PREV_KEPT,
				 "own certificate %s is kept until %s at the latest "
				 "(PREVCERTGRACEDAYS %d) for partners that have not followed: %s",
				 n->label, until, j->grace_days, n->who);
		}
	}
	free(j);
}

static void check_retire(struct lifecycle *lc)
{
	struct retire_job *j = calloc(1, sizeof(*j));

	if (!j)
		return;
	j->lc = lc;
	j->now = clock_now();
	j->grace_days = lc->y->in->conf.prevcertgracedays;
	j->retention_days = lc->y->in->conf.actlogretention;
	if (dbw_submit(peer_dbw(lc->y->peer), retire_work, retire_done, j) < 0)
		free(j);
}

/* ---- distribution rounds ------------------------------------------------ */

static struct partner_state *ps_find(struct lifecycle *lc, const char *name)
{
	for (int i = 0; i < lc->nps; i++)
		if (strcasecmp(lc->ps[i].name, name) == 0)
			return &lc->ps[i];
	return NULL;
}

static void round_done(struct sync *y, const char *server, const struct session_result *r,
		       const struct talk_outcome *o, void *arg);
static void round_finished(struct lifecycle *lc);

static void pump(struct lifecycle *lc)
{
	struct sync *y = lc->y;

	lc->pumping = 1;
	while (!peer_halting(y->peer) && lc->running < ROUND_WINDOW && lc->next_idx < lc->nps) {
		struct partner_state *p = &lc->ps[lc->next_idx++];
		struct round_ref *ref = malloc(sizeof(*ref));
		int rc;

		p->status = PS_RUNNING;
		lc->running++;
		rc = -RPL_E_NOMEM;
		if (ref) {
			ref->lc = lc;
			ref->gen = lc->gen;
			p->ref = ref;
			rc = talk_connect(y, p->name, PURPOSE_SYNC, round_done, ref);
		}
		if (rc < 0) {
			p->ref = NULL;
			free(ref);
			lc->running--;
			p->status = PS_FAILED;
			snprintf(p->message, sizeof(p->message), "%s", rpl_msg_text(rc));
			log_warn(RPL_W_ANNOUNCE_PENDING, "server %s: %s", p->name, p->message);
		}
	}
	lc->pumping = 0;
	if (lc->running == 0 && lc->next_idx >= lc->nps && lc->phase)
		round_finished(lc);
}

static void on_retry(uv_timer_t *t)
{
	struct lifecycle *lc = t->data;
	if (!lc->phase)
		round_start(lc, PHASE_CONFIRM);
}

/* Ends the round now: partners still running or waiting are pending;
 * they follow later by continuity. With cancel, their sessions end too
 * (their answers would come too late to count anyway). */
static void round_end_early(struct lifecycle *lc, const char *why, int cancel)
{
	for (int i = 0; i < lc->nps; i++) {
		struct partner_state *p = &lc->ps[i];
		if (p->status != PS_WAITING && p->status != PS_RUNNING)
			continue;
		if (cancel && p->status == PS_RUNNING && p->ref)
			talk_cancel_why(lc->y, p->ref, why); /* round_done frees the ref later */
		p->status = PS_FAILED;
		snprintf(p->message, sizeof(p->message), "%s", why);
	}
	lc->next_idx = lc->nps;
	round_finished(lc);
}

/* The round's deadline (ROUNDTIMEOUT). */
static void on_deadline(uv_timer_t *t)
{
	struct lifecycle *lc = t->data;
	char why[80];

	if (!lc->phase)
		return;
	snprintf(why, sizeof(why), "no answer within ROUNDTIMEOUT (%d s)",
		 lc->y->in->conf.roundtimeout);
	round_end_early(lc, why, 0);
}

/* QUERY PROCESS: the round and how far it is. */
static json_t *round_describe(struct sync_process *sp)
{
	struct lifecycle *lc = (struct lifecycle *)((char *)sp - offsetof(struct lifecycle, proc));
	int done = 0, refused = 0, failed = 0, running = 0;
	json_t *partners = json_array();
	char progress[160];

	for (int i = 0; i < lc->nps; i++) {
		static const char *names[] = { "waiting", "running", "done", "pending", "refused" };
		struct partner_state *p = &lc->ps[i];
		done += p->status == PS_DONE;
		refused += p->status == PS_REFUSED;
		failed += p->status == PS_FAILED;
		running += p->status == PS_RUNNING;
		json_array_append_new(partners,
				      json_pack("{s:s, s:s, s:s}", "server", p->name, "state",
						names[p->status], "message",
						p->status == PS_WAITING || p->status == PS_RUNNING
							? ""
							: p->message));
	}
	snprintf(progress, sizeof(progress), "%d of %d partner%s confirmed%s", done, lc->nps,
		 lc->nps == 1 ? "" : "s",
		 refused  ? ", some refused"
		 : failed ? ", some pending"
			  : "");
	return json_pack(
		"{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:o}", "command",
		lc->phase == PHASE_ANNOUNCE ? "certificate announcement round (RENEW CERTIFICATE)"
					    : "certificate confirmation round (RENEW CERTIFICATE)",
		"phase", running ? "exchanging" : "waiting", "progress", progress, "partners_total",
		lc->nps, "partners_done", done, "partners_refused", refused, "partners_pending",
		failed, "partners_running", running, "partners", partners);
}

/* CANCEL PROCESS: the round ends as at ROUNDTIMEOUT (an announcement
 * round still activates the next certificate unless a partner refused
 * it); the partners not reached follow by the continuity proof. */
static void round_cancel(struct sync_process *sp, const char *why)
{
	struct lifecycle *lc = (struct lifecycle *)((char *)sp - offsetof(struct lifecycle, proc));

	if (lc->phase)
		round_end_early(lc, why, 1);
}

static void round_finished(struct lifecycle *lc)
{
	struct sync *y = lc->y;
	char pending[512] = "", refused[900] = "";
	int done = 0, failed = 0, nrefused = 0, phase = lc->phase;

	lc->gen++; /* answers still on their way belong to a finished round */
	lc->running = 0;
	process_remove(y, &lc->proc);
	for (int i = 0; i < lc->nps; i++)
		lc->ps[i].ref = NULL; /* their round_done frees them */
	if (lc->timers)
		uv_timer_stop(&lc->deadline);
	for (int i = 0; i < lc->nps; i++) {
		struct partner_state *p = &lc->ps[i];
		size_t n;
		if (p->status == PS_DONE) {
			done++;
		} else if (p->status == PS_REFUSED) {
			nrefused++;
			n = strlen(refused);
			snprintf(refused + n, sizeof(refused) - n, "%s%s: %s", n ? "; " : "",
				 p->name, p->message);
		} else {
			failed++;
			n = strlen(pending);
			snprintf(pending + n, sizeof(pending) - n, "%s%s", n ? ", " : "", p->name);
		}
	}
	log_info(RPL_I_ROUND_DONE,
		 "certificate %s round: %d partner%s done, %d pending%s%s%s%s (%.1f s)",
		 phase == PHASE_ANNOUNCE ? "announcement" : "confirmation", done,
		 done == 1 ? "" : "s", failed, failed ? ": " : "", pending,
		 nrefused ? ", refused by " : "", refused,
		 (double)(clock_mono_ms() - lc->round_started_ms) / 1000.0);
	lc->phase = PHASE_NONE;
	if (peer_halting(y->peer))
		return;
	if (phase == PHASE_CONFIRM)
		answer_waiters(lc, PHASE_CONFIRM, 0, NULL);
	if (phase == PHASE_ANNOUNCE && lc->activate_after) {
		lc->activate_after = 0;
		if (nrefused) {
			/* Never past a partner that refused: it would lose contact. */
			snprintf(lc->stopped, sizeof(lc->stopped), "%s", refused);
			log_error(RPL_E_ACTIVATION_STOPPED,
				  "the next own certificate is not activated: refused by %s",
				  refused);
			peer_actlog(y->peer, RPL_E_ACTIVATION_STOPPED,
				    "the next own certificate is not activated: refused by %s",
				    refused);
			answer_waiters(lc, PHASE_ANNOUNCE, -RPL_E_ACTIVATION_STOPPED, NULL);
		} else if (activate(lc,
				    failed ? "announced; unreachable partners follow by continuity"
					   : "announced to every partner",
				    NULL, 0, then_confirm, NULL) == 0) {
			/* Partners that were unreachable or stalled accept the
			 * new certificate by the continuity proof later. */
			return;
		} else {
			answer_waiters(lc, PHASE_ANNOUNCE, -RPL_E_INTERNAL, NULL);
		}
	}
	check_retire(lc);
	if (lc->again) {
		int again = lc->again;
		lc->again = 0;
		round_start(lc, again);
		return;
	}
	if (failed && lc->timers)
		uv_timer_start(&lc->retry, on_retry, RETRY_SECONDS * 1000, 0);
}

/* The reason a partner refused our next certificate, from this session or
 * from an earlier one ("" when it did not). */
static void stored_refusal(struct sync *y, const char *server, char *why, size_t sz)
{
	struct owncert next;
	struct server_rec r;
	uint8_t fp[FP_LEN];
	MDB_txn *txn;

	why[0] = 0;
	if (store_begin(&y->in->store, 0, &txn) < 0)
		return;
	if (store_owncert_find(txn, &y->in->store, OWN_NEXT, &next) == 0) {
		if (identity_fingerprint(next.der.p, next.der.n, fp) == 0 &&
		    store_server_get(txn, &y->in->store, server, &r) == 0) {
			if (r.refused_why[0] && memcmp(r.refused_fp, fp, FP_LEN) == 0)
				snprintf(why, sz, "%s", r.refused_why);
			server_rec_free(&r);
		}
		owncert_free(&next);
	}
	store_abort(txn);
}

static void round_done(struct sync *y, const char *server, const struct session_result *r,
		       const struct talk_outcome *o, void *arg)
{
	struct round_ref *ref = arg;
	struct lifecycle *lc = ref->lc;
	struct partner_state *p;
	int stale = ref->gen != lc->gen;

	free(ref);
	if (stale)
		return;
	p = ps_find(lc, server);
	if (p) {
		char why[512] = "";
		p->ref = NULL;
		if (o->refused)
			snprintf(why, sizeof(why), "%s", o->why);
		else if (lc->phase == PHASE_ANNOUNCE)
			stored_refusal(y, server, why, sizeof(why));
		p->status = why[0] ? PS_REFUSED : r->ok ? PS_DONE : PS_FAILED;
		snprintf(p->message, sizeof(p->message), "%s",
			 why[0]  ? why
			 : r->ok ? "done"
				 : r->message);
		if (why[0] && !o->refused) /* refused in this session: logged already */
			log_error(RPL_E_ANNOUNCE_REFUSED,
				  "server %s refused our next certificate earlier: %s", server,
				  why);
		else if (r->ok)
			log_info(RPL_I_ANNOUNCED, "server %s: certificates exchanged", server);
		else
			log_warn(RPL_W_ANNOUNCE_PENDING, "server %s: %s", server, r->message);
	}
	lc->running--;
	if (lc->pumping)
		return; /* pump() goes on */
	pump(lc);
}

/* Opens one session with every partner, ROUND_WINDOW at a time, for at
 * most ROUNDTIMEOUT. One unreachable or stalling partner never holds up
 * the others. */
static void round_start(struct lifecycle *lc, int phase)
{
	struct sync *y = lc->y;
	struct name_list names;
	MDB_txn *txn;

	if (peer_halting(y->peer))
		return;
	if (lc->phase) {
		if (phase == PHASE_ANNOUNCE || !lc->again)
			lc->again = phase;
		return;
	}
	if (lc->timers)
		uv_timer_stop(&lc->retry);
	if (store_begin(&y->in->store, 0, &txn) < 0)
		return;
	if (store_server_names(txn, &y->in->store, &names) < 0) {
		store_abort(txn);
		return;
	}
	store_abort(txn);
	free(lc->ps);
	lc->ps = calloc((size_t)(names.n ? names.n : 1), sizeof(*lc->ps));
	if (!lc->ps) {
		free(names.names);
		lc->nps = 0;
		return;
	}
	for (int i = 0; i < names.n; i++)
		strcpy(lc->ps[i].name, names.names[i]);
	free(names.names);
	lc->nps = names.n;
	lc->next_idx = 0;
	lc->running = 0;
	lc->phase = phase;
	lc->round_started_ms = clock_mono_ms();
	lc->proc.describe = round_describe;
	lc->proc.cancel = round_cancel;
	process_add(y, &lc->proc);
	log_info(RPL_I_RENEW_STARTED, "certificate %s round with %d partner%s",
		 phase == PHASE_ANNOUNCE ? "announcement" : "confirmation", lc->nps,
		 lc->nps == 1 ? "" : "s");
	if (lc->timers)
		uv_timer_start(&lc->deadline, on_deadline,
			       (uint64_t)y->in->conf.roundtimeout * 1000, 0);
	pump(lc);
}

/* ---- renewal -------------------------------------------------------------- */

/* ---- who holds a renewal, and WAIT=YES ------------------------------------ */

struct holder_scan {
	uint8_t fp[FP_LEN];
	json_t *holding, *pending;
	char holding_txt[300], pending_txt[300];
};

static void name_append(char *buf, size_t sz, const char *name)
{
	size_t n = strlen(buf);
	if (n + strlen(name) + 8 < sz)
		snprintf(buf + n, sz - n, "%s%s", n ? ", " : "", name);
	else if (n + 4 < sz && !strstr(buf, "..."))
		snprintf(buf + n, sz - n, ", ...");
}

static int holder_cb(const struct server_rec *r, void *arg)
{
	struct holder_scan *h = arg;
	int holds = server_held_find(r, h->fp) >= 0;

	json_array_append_new(holds ? h->holding : h->pending, json_string(r->name));
	name_append(holds ? h->holding_txt : h->pending_txt,
		    holds ? sizeof(h->holding_txt) : sizeof(h->pending_txt), r->name);
	return 0;
}

/* Adds to doc who holds own certificate label (NULL: the current one) and
 * who does not yet, and the partners that refused it in the last round;
 * text gets the same in words. */
static void renew_summary(struct lifecycle *lc, const char *label, json_t *doc, char *text,
			  size_t sz)
{
	struct holder_scan h = { .holding = json_array(), .pending = json_array() };
	json_t *refused = json_array();
	struct owncert c;
	MDB_txn *txn;
	int rc = -RPL_E_NOTFOUND;
	size_t nh, np;

	snprintf(text, sz, "nothing known about its holders");
	if (store_begin(&lc->y->in->store, 0, &txn) == 0) {
		rc = label ? store_owncert_get(txn, &lc->y->in->store, label, &c)
			   : store_owncert_find(txn, &lc->y->in->store, OWN_CURRENT, &c);
		if (rc == 0) {
			if (identity_fingerprint(c.der.p, c.der.n, h.fp) == 0)
				(void)store_server_each(txn, &lc->y->in->store, holder_cb, &h);
			json_object_set_new(doc, "label", json_string(c.label));
			json_object_set_new(doc, "state", json_string(own_state_name(c.state)));
			owncert_free(&c);
		}
		store_abort(txn);
	}
	for (int i = 0; i < lc->nps; i++)
		if (lc->ps[i].status == PS_REFUSED)
			json_array_append_new(refused,
					      json_pack("{s:s, s:s}", "server", lc->ps[i].name,
							"why", lc->ps[i].message));
	nh = json_array_size(h.holding);
	np = json_array_size(h.pending);
	if (rc == 0)
		snprintf(text, sz, "held by %zu of %zu partner%s%s%s%s; %s%s%s", nh, nh + np,
			 nh + np == 1 ? "" : "s", nh ? " (" : "", h.holding_txt, nh ? ")" : "",
			 np ? "pending: " : "none pending", h.pending_txt,
			 np ? " (they follow at their next session, by the continuity proof)" : "");
	json_object_set_new(doc, "partners_holding", h.holding);
	json_object_set_new(doc, "partners_pending", h.pending);
	json_object_set_new(doc, "partners_refused", refused);
}

/* The label of the own certificate in state ("" and an error when none). */
static int state_label(struct sync *y, int state, char *label, size_t sz)
{
	struct owncert c;
	MDB_txn *txn;
	int rc;

	label[0] = 0;
	if ((rc = store_begin(&y->in->store, 0, &txn)) < 0)
		return rc;
	rc = store_owncert_find(txn, &y->in->store, state, &c);
	store_abort(txn);
	if (rc == 0) {
		snprintf(label, sz, "%s", c.label);
		owncert_free(&c);
	}
	return rc;
}

static int next_label(struct sync *y, char *label, size_t sz)
{
	return state_label(y, OWN_NEXT, label, sz);
}

/* An admin_ok document (code) saying prefix, then who holds label. */
static json_t *summary_ok(struct lifecycle *lc, int code, const char *label, const char *prefix)
{
	json_t *sum = json_object(), *doc;
	char text[900];

	renew_summary(lc, label, sum, text, sizeof(text));
	doc = admin_ok(code, "%s: %s", prefix, text);
	json_object_update(doc, sum);
	json_decref(sum);
	return doc;
}

static void waiter_free(struct renew_waiter *w)
{
	struct lifecycle *lc = w->lc;

	for (struct renew_waiter **p = &lc->waiters; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	progress_remove(lc->y, &w->note);
	adminsrv_release(w->ac);
	free(w);
}

static void answer_waiters(struct lifecycle *lc, int phase, int rc, const char *label)
{
	struct renew_waiter *w, *after;
	char text[900];

	for (w = lc->waiters; w; w = after) {
		json_t *doc;
		after = w->next;
		if (w->phase != phase)
			continue;
		if (rc == 0) {
			char what[200], cur[OWN_LABEL_MAX + 1];
			if (!label)
				(void)state_label(lc->y, OWN_CURRENT, cur, sizeof(cur));
			snprintf(what, sizeof(what), "certificate %s is current%s",
				 label ? label : cur,
				 phase == PHASE_CONFIRM ? " and its confirmation round ended" : "");
			doc = summary_ok(lc, RPL_I_CERT_ACTIVATED, label ? label : cur, what);
		} else if (rc == -RPL_E_ACTIVATION_STOPPED) {
			char next[OWN_LABEL_MAX + 1];
			(void)next_label(lc->y, next, sizeof(next));
			doc = admin_error(RPL_E_ACTIVATION_STOPPED,
					  "%s is not activated: refused by %s", next, lc->stopped);
			renew_summary(lc, next[0] ? next : NULL, doc, text, sizeof(text));
		} else {
			doc = admin_error(-rc, "the renewal's rounds did not finish");
		}
		adminsrv_reply(w->ac, doc, NULL);
		waiter_free(w);
	}
}

/* WAIT=YES at HALT: the renewal goes on at the next start. */
static void waiter_stop(struct progress_note *n)
{
	struct renew_waiter *w =
		(struct renew_waiter *)((char *)n - offsetof(struct renew_waiter, note));

	adminsrv_reply(w->ac, admin_error(RPL_E_HALTING, "the renewal goes on at the next start"),
		       NULL);
	waiter_free(w);
}

/* Rounds end at ROUNDTIMEOUT; a waiter whose event never came (a round
 * that was already running, a retry round) is answered with what is known
 * after two of them. */
static void waiter_tick(struct progress_note *n, uint64_t now)
{
	struct renew_waiter *w =
		(struct renew_waiter *)((char *)n - offsetof(struct renew_waiter, note));
	char text[900];
	json_t *doc;

	if (now - n->started_ms < (uint64_t)(2 * w->lc->y->in->conf.roundtimeout + 10) * 1000)
		return;
	doc = admin_error(RPL_E_RENEW_BUSY, "no round ended within twice ROUNDTIMEOUT");
	renew_summary(w->lc, NULL, doc, text, sizeof(text));
	adminsrv_reply(w->ac, doc, NULL);
	waiter_free(w);
}

/* Takes over the hold on ac. */
static void add_waiter(struct lifecycle *lc, struct admin_client *ac, int phase)
{
	struct renew_waiter *w = calloc(1, sizeof(*w));

	if (!w) {
		adminsrv_reply(ac, admin_error(RPL_E_NOMEM, "the renewal goes on; WAIT=YES failed"),
			       NULL);
		adminsrv_release(ac);
		return;
	}
	w->lc = lc;
	w->ac = ac;
	w->phase = phase;
	w->note.ac = ac;
	w->note.stop = waiter_stop;
	w->note.tick = waiter_tick;
	snprintf(w->note.what, sizeof(w->note.what), "the certificate %s round (ROUNDTIMEOUT %d s)",
		 phase == PHASE_ANNOUNCE ? "announcement" : "confirmation",
		 lc->y->in->conf.roundtimeout);
	w->next = lc->waiters;
	lc->waiters = w;
	progress_add(lc->y, &w->note);
}

struct renew_job {
	uv_work_t req;
	struct lifecycle *lc;
	struct admin_client *ac;
	int immediate, compromised, wait;
	int replace_next; /* a next certificate exists and must go */
	int rc;
	char who[64];
	char label[OWN_LABEL_MAX + 1];
};

/* A new next certificate replaces one that did not make it (refused by a
 * partner, or replaced by a COMPROMISED renewal): there is one next. */
static int retire_nexts(struct instance *in, int64_t now)
{
	struct label_list l = { .n = 0 };
	MDB_txn *txn;
	int rc = store_begin(&in->store, 1, &txn);

	if (rc < 0)
		return rc;
	rc = store_owncert_each(txn, &in->store, collect_next, &l);
	for (int i = 0; rc >= 0 && i < l.n; i++) {
		struct owncert c;
		if ((rc = store_owncert_get(txn, &in->store, l.labels[i], &c)) < 0)
			break;
		rc = retire(txn, &in->store, &c, now, 0);
		if (rc == 0)
			rc = store_actlog_add(
				txn, &in->store, RPL_I_CERT_RETIRED,
				"next own certificate %s retired: a new renewal replaces it",
				c.label);
		owncert_free(&c);
	}
	if (rc >= 0 && l.n)
		return store_commit(txn);
	store_abort(txn);
	return rc < 0 ? rc : 0;
}

static void renew_work(uv_work_t *req)
{
	struct renew_job *j = req->data;
	j->rc = j->replace_next ? retire_nexts(j->lc->y->in, clock_now()) : 0;
	if (j->rc == 0)
		/* A compromised key endorses nothing, not even its successor. */
		j->rc = instance_new_owncert_ex(j->lc->y->in, OWN_NEXT, !j->compromised, j->label,
						sizeof(j->label));
}

static void reply(struct admin_client *ac, json_t *doc)
{
	if (ac) {
		adminsrv_reply(ac, doc, NULL);
		adminsrv_release(ac);
	} else {
		json_decref(doc);
	}
}

struct pin_names {
	json_t *arr;
};

static int pinned_partner(const struct server_rec *r, void *arg)
{
	struct pin_names *n = arg;
	if (r->verify == VERIFY_PIN)
		json_array_append_new(n->arr, json_string(r->name));
	return 0;
}

/* COMPROMISED=YES is done: the reply lists the partners that need
 * FORCESYNC (every partner that verifies us by pins: the old key
 * endorses nothing, so no announcement and no continuity reach them). */
static void then_compromised(struct lifecycle *lc, int rc, struct activate_job *aj)
{
	struct renew_job *j = aj->arg;
	struct pin_names n = { json_array() };
	json_t *doc;
	MDB_txn *txn;

	lc->renewing = 0;
	if (rc < 0) {
		json_decref(n.arr);
		reply(j->ac, admin_error(-rc, "activating the new certificate"));
		free(j);
		return;
	}
	if (store_begin(&lc->y->in->store, 0, &txn) == 0) {
		(void)store_server_each(txn, &lc->y->in->store, pinned_partner, &n);
		store_abort(txn);
	}
	{
		char *list = json_dumps(n.arr, JSON_COMPACT);
		log_warn(RPL_W_COMPROMISED,
			 "own certificate replaced as compromised by %s: %s is current; "
			 "these partners need FORCESYNC on both sides: %s",
			 j->who, j->label, list ? list : "?");
		free(list);
	}
	doc = admin_ok(
		RPL_W_COMPROMISED,
		"new certificate %s is current; the old key is wiped and endorses nothing. "
		"Partners that need 'UPDATE SERVER name FORCESYNC=YES' (here and there): %zu",
		j->label, json_array_size(n.arr));
	json_object_set_new(doc, "label", json_string(j->label));
	json_object_set_new(doc, "forcesync_needed", n.arr);
	reply(j->ac, doc);
	free(j);
}

/* ACTIVATE=IMMEDIATE: the reply waits for the activation, so that the
 * administrator who reads QUERY CERTIFICATE next sees the new one current. */
static void then_immediate(struct lifecycle *lc, int rc, struct activate_job *aj)
{
	struct renew_job *j = aj->arg;
	char text[300];
	json_t *doc;

	if (rc == 0 && j->wait && j->ac) {
		add_waiter(lc, j->ac, PHASE_CONFIRM); /* before a round that may end at once */
		round_start(lc, PHASE_CONFIRM);
		free(j);
		return;
	}
	if (rc == 0) {
		round_start(lc, PHASE_CONFIRM);
		snprintf(text, sizeof(text),
			 "new certificate %s is current; partners confirm it now "
			 "(WAIT=YES waits for them)",
			 aj->next_label);
		doc = summary_ok(lc, RPL_I_CERT_ACTIVATED, aj->next_label, text);
	} else {
		doc = admin_error(-rc, "activating %s",
				  aj->next_label[0] ? aj->next_label : j->label);
	}
	reply(j->ac, doc);
	free(j);
}

static void renew_after(uv_work_t *req, int status)
{
	struct renew_job *j = req->data;
	struct lifecycle *lc = j->lc;
	struct sync *y = lc->y;
	json_t *doc;

	if (status < 0 && j->rc == 0)
		j->rc = -RPL_E_INTERNAL;
	if (j->rc == 0 && j->replace_next)
		lc->stopped[0] = 0;
	if (j->rc < 0) {
		lc->renewing = 0;
		log_code(j->rc, "certificate renewal failed: %s", rpl_msg_text(j->rc));
		reply(j->ac, admin_error(-j->rc, "generating the new key pair"));
		free(j);
		return;
	}
	peer_actlog(y->peer, RPL_I_RENEW_STARTED,
		    "certificate renewal by %s: new certificate %s is next (%s)", j->who, j->label,
		    j->compromised ? "COMPROMISED=YES"
		    : j->immediate ? "ACTIVATE=IMMEDIATE"
				   : "ACTIVATE=AFTERSYNC");
	log_info(RPL_I_RENEW_STARTED, "certificate renewal by %s: %s is next", j->who, j->label);
	if (j->compromised) {
		if (activate(lc, "COMPROMISED=YES", j->label, 1, then_compromised, j) < 0) {
			lc->renewing = 0;
			reply(j->ac, admin_error(RPL_E_INTERNAL, "cannot activate %s", j->label));
			free(j);
		}
		return;
	}
	lc->renewing = 0;
	if (j->immediate) {
		if (activate(lc, "ACTIVATE=IMMEDIATE", j->label, 0, then_immediate, j) < 0) {
			reply(j->ac, admin_error(RPL_E_INTERNAL, "cannot activate %s", j->label));
			free(j);
		}
		return;
	}
	lc->activate_after = 1;
	if (j->wait && j->ac) {
		add_waiter(lc, j->ac, PHASE_ANNOUNCE);
		round_start(lc, PHASE_ANNOUNCE);
		free(j);
		return;
	}
	round_start(lc, PHASE_ANNOUNCE);
	{
		char what[300];
		snprintf(
			what, sizeof(what),
			"new certificate %s is next and announced now; it becomes "
			"current when the round ends (WAIT=YES waits for it; QUERY CERTIFICATE shows it)",
			j->label);
		doc = summary_ok(lc, RPL_I_RENEW_STARTED, j->label, what);
	}
	reply(j->ac, doc);
	free(j);
}

/* ---- a CA-signed identity: the next key waits for its certificate ---------- */

/* The current certificate is CA-signed and RENEWSELFSIGNED is NO: renewal
 * means a new key, a request, and the CA (never a self-signed
 * certificate); nothing to do when a next certificate exists already. */
static int ca_identity_waits(struct lifecycle *lc)
{
	struct owncert c;
	MDB_txn *txn;
	int ca = 0;

	if (lc->y->in->conf.renewselfsigned || store_begin(&lc->y->in->store, 0, &txn) < 0)
		return 0;
	if (store_owncert_find(txn, &lc->y->in->store, OWN_CURRENT, &c) == 0) {
		ca = c.ca_signed;
		owncert_free(&c);
	}
	store_abort(txn);
	return ca;
}

struct request_job {
	uv_work_t req;
	struct lifecycle *lc;
	struct admin_client *ac; /* held, or NULL */
	int rc;
};

static json_t *request_doc(struct lifecycle *lc, const char *how)
{
	char path[PATH_MAX + 32];
	json_t *doc;

	nextreq_csr_path(lc->y->in, path, sizeof(path));
	doc = admin_ok(
		RPL_I_CSR_NEXT,
		"this identity is CA-signed (RENEWSELFSIGNED NO): %s; have %s "
		"signed by the CA and install the certificate with 'replpeer cert -d %s install "
		"FILE': it is then announced and activated like any renewal",
		how, path, lc->y->in->dir);
	json_object_set_new(doc, "csr", json_string(path));
	return doc;
}

static void request_work(uv_work_t *req)
{
	struct request_job *j = req->data;
	j->rc = nextreq_create(j->lc->y->in);
}

static void request_after(uv_work_t *req, int status)
{
	struct request_job *j = req->data;
	struct lifecycle *lc = j->lc;
	char path[PATH_MAX + 32];

	lc->requesting = 0;
	if (status < 0 && j->rc == 0)
		j->rc = -RPL_E_INTERNAL;
	nextreq_csr_path(lc->y->in, path, sizeof(path));
	if (j->rc == 0)
		log_info(RPL_I_CSR_NEXT,
			 "next own key generated for the CA-signed identity: have %s signed "
			 "by the CA, then 'replpeer cert install FILE'",
			 path);
	else if (j->rc != -RPL_E_DUPLICATE)
		log_code(j->rc, "generating the next key of the CA-signed identity: %s",
			 rpl_msg_text(j->rc));
	if (j->ac)
		reply(j->ac,
		      j->rc == 0
			      ? request_doc(lc, "a new key and its certificate request were made")
			      : admin_error(-j->rc, "making the next key and its request"));
	free(j);
}

/* Makes the next key and its request on the pool, unless one exists (the
 * reply, for ac, says where it is). */
static void request_next(struct lifecycle *lc, struct admin_client *ac)
{
	struct owncert_request r;
	struct request_job *j;
	MDB_txn *txn;
	int rc = -RPL_E_NOTFOUND;

	if (store_begin(&lc->y->in->store, 0, &txn) == 0) {
		rc = store_owncert_request_get(txn, &lc->y->in->store, &r);
		store_abort(txn);
	}
	if (rc == 0) {
		char how[120], when[32];
		owncert_request_free(&r);
		(void)nextreq_write_csr(lc->y->in); /* in case it was removed */
		clock_iso8601(r.created, when, sizeof(when));
		snprintf(how, sizeof(how), "the request for the next key waits for the CA since %s",
			 when);
		if (ac)
			adminsrv_reply(ac, request_doc(lc, how), NULL);
		return;
	}
	if (lc->requesting) {
		if (ac)
			adminsrv_reply(
				ac,
				admin_error(RPL_E_RENEW_BUSY, "the next key is being generated"),
				NULL);
		return;
	}
	if (!(j = calloc(1, sizeof(*j)))) {
		if (ac)
			adminsrv_reply(ac, admin_error(RPL_E_NOMEM, NULL), NULL);
		return;
	}
	j->lc = lc;
	j->ac = ac;
	j->req.data = j;
	if (ac)
		adminsrv_hold(ac);
	lc->requesting = 1;
	if (uv_queue_work(lc->y->loop, &j->req, request_work, request_after) < 0) {
		lc->requesting = 0;
		if (ac) {
			adminsrv_reply(ac,
				       admin_error(RPL_E_INTERNAL, "cannot queue key generation"),
				       NULL);
			adminsrv_release(ac);
		}
		free(j);
	}
}

void lifecycle_renew(struct sync *y, int immediate, int compromised, int wait, const char *who,
		     struct admin_client *ac)
{
	struct lifecycle *lc = y->lc;
	char label[OWN_LABEL_MAX + 1];
	struct renew_job *j;
	json_t *doc = NULL;

	if (lc->renewing) {
		doc = admin_error(RPL_E_RENEW_BUSY, "a new key pair is being generated");
	} else if (!compromised && !(lc->stopped[0] && !immediate) &&
		   next_label(y, label, sizeof(label)) == 0) {
		/* A rollover is under way: switch now, or announce again. */
		if (immediate) {
			j = calloc(1, sizeof(*j));
			if (j) {
				j->lc = lc;
				j->ac = ac;
				j->wait = wait;
				snprintf(j->label, sizeof(j->label), "%s", label);
				if (ac)
					adminsrv_hold(ac);
				if (activate(lc, "ACTIVATE=IMMEDIATE", label, 0, then_immediate,
					     j) == 0)
					return;
				if (ac)
					adminsrv_release(ac);
				free(j);
			}
			doc = admin_error(RPL_E_INTERNAL, "cannot activate %s", label);
		} else if (wait && ac) {
			adminsrv_hold(ac);
			add_waiter(lc, ac, PHASE_ANNOUNCE);
			lc->activate_after = 1;
			round_start(lc, PHASE_ANNOUNCE);
			return;
		} else {
			char what[200];
			lc->activate_after = 1;
			round_start(lc, PHASE_ANNOUNCE);
			snprintf(what, sizeof(what),
				 "renewal already in progress: next certificate %s is "
				 "announced again",
				 label);
			doc = summary_ok(lc, RPL_I_RENEW_STARTED, label, what);
		}
	} else if (!compromised && ca_identity_waits(lc)) {
		/* A CA-signed identity is renewed by its CA, not by us. */
		request_next(lc, ac);
		return;
	}
	if (doc) {
		if (ac)
			adminsrv_reply(ac, doc, NULL);
		else
			json_decref(doc);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		if (ac)
			adminsrv_reply(ac, admin_error(RPL_E_NOMEM, NULL), NULL);
		return;
	}
	j->lc = lc;
	j->ac = ac;
	j->immediate = immediate;
	j->compromised = compromised;
	j->wait = wait;
	/* A refused next certificate is not announced again: a new RENEW
	 * makes a new one (after the partner's objection was fixed). */
	j->replace_next = compromised || lc->stopped[0];
	snprintf(j->who, sizeof(j->who), "%s", who);
	j->req.data = j;
	if (ac)
		adminsrv_hold(ac);
	lc->renewing = 1;
	if (uv_queue_work(y->loop, &j->req, renew_work, renew_after) < 0) {
		lc->renewing = 0;
		if (ac) {
			adminsrv_reply(ac,
				       admin_error(RPL_E_INTERNAL, "cannot queue key generation"),
				       NULL);
			adminsrv_release(ac);
		}
		free(j);
	}
}

/* ---- expiry warnings ------------------------------------------------------ */

enum { WARN_PARTNER, WARN_OWN, WARN_OWN_CA };

/* Logs once per certificate and threshold (90, 30, 7, 1 days); for an
 * own CA-signed certificate that nothing renews by itself, with what to do. */
static void warn_expiry(struct lifecycle *lc, const uint8_t fp[FP_LEN], int64_t not_after,
			const char *what, int kind)
{
	static const int thresholds[] = { 1, 7, 30, 90 };
	int64_t left = not_after - clock_now();
	char when[32], hex[2 * FP_LEN + 1];
	int t = -1;

	if (left < 0)
		t = 0;
	else
		for (int i = 0; i < 4 && t < 0; i++)
			if (left < (int64_t)thresholds[i] * 86400)
				t = thresholds[i];
	if (t < 0 || warned_before(lc, fp, t))
		return;
	clock_iso8601(not_after, when, sizeof(when));
	hex_encode(fp, FP_LEN, hex);
	if (t == 0 && kind == WARN_PARTNER)
		log_error(RPL_E_PEER_EXPIRED, "%s %s expired on %s", what, hex, when);
	else if (t == 0)
		log_error(RPL_E_CERT_EXPIRED_OWN, "%s %s expired on %s", what, hex, when);
	else if (kind == WARN_OWN_CA)
		log_warn(
			RPL_W_CA_CERT_NEEDED,
			"%s %s (CA-signed) expires in less than %d day%s (on %s): "
			"a new CA-signed certificate is needed; have %s/cert256.csr (the request for "
			"the next key) signed and install it with 'replpeer cert install FILE'",
			what, hex, t, t == 1 ? "" : "s", when, lc->y->in->dir);
	else
		log_warn(RPL_W_CERT_EXPIRING, "%s %s expires in less than %d day%s (on %s)", what,
			 hex, t, t == 1 ? "" : "s", when);
}

static int warn_pins_cb(const struct server_rec *r, void *arg)
{
	char what[128];
	snprintf(what, sizeof(what), "certificate of server %s", r->name);
	for (int i = 0; i < r->npins; i++)
		if (r->pins[i].state != PIN_PREVIOUS)
			warn_expiry(arg, r->pins[i].fp, r->pins[i].not_after, what, WARN_PARTNER);
	return 0;
}

struct own_scan {
	struct lifecycle *lc;
	int64_t cur_not_after;
	int have_cur, have_next, cur_ca_signed, ca_waits;
	uint8_t cur_fp[FP_LEN];
};

static int warn_own_cb(const struct owncert *c, void *arg)
{
	struct own_scan *s = arg;
	struct certinfo ci;

	if (c->state == OWN_RETIRED || identity_cert_info(c->der.p, c->der.n, &ci) < 0)
		return 0;
	if (c->state == OWN_CURRENT) {
		s->have_cur = 1;
		s->cur_not_after = ci.not_after;
		s->cur_ca_signed = c->ca_signed;
		memcpy(s->cur_fp, ci.fp, FP_LEN);
		warn_expiry(s->lc, ci.fp, ci.not_after, "own certificate",
			    c->ca_signed && s->ca_waits ? WARN_OWN_CA : WARN_OWN);
	}
	if (c->state == OWN_NEXT)
		s->have_next = 1;
	return 0;
}

void lifecycle_pins_changed(struct sync *y, const char *server)
{
	struct server_rec r;
	MDB_txn *txn;

	if (!y->lc || store_begin(&y->in->store, 0, &txn) < 0)
		return;
	if (store_server_get(txn, &y->in->store, server, &r) == 0) {
		warn_pins_cb(&r, y->lc);
		server_rec_free(&r);
	}
	store_abort(txn);
}

void lifecycle_held_changed(struct sync *y, const char *server)
{
	(void)server;
	if (y->lc)
		check_retire(y->lc);
}

void lifecycle_check(struct sync *y)
{
	struct lifecycle *lc = y->lc;
	const struct rpl_conf *conf = &y->in->conf;
	struct own_scan s = { .lc = lc, .ca_waits = !conf->renewselfsigned };
	struct owncert_request req;
	int requested = 0;
	MDB_txn *txn;

	if (peer_halting(y->peer) || store_begin(&y->in->store, 0, &txn) < 0)
		return;
	(void)store_owncert_each(txn, &y->in->store, warn_own_cb, &s);
	(void)store_server_each(txn, &y->in->store, warn_pins_cb, lc);
	if (store_owncert_request_get(txn, &y->in->store, &req) == 0) {
		requested = 1;
		owncert_request_free(&req);
	}
	store_abort(txn);
	/* A CA-signed identity: from the first warning (90 days) on, the next
	 * key and its request wait in DIR/cert256.csr for the CA. */
	if (s.have_cur && s.cur_ca_signed && s.ca_waits && !s.have_next && !requested &&
	    !lc->requesting && s.cur_not_after - clock_now() < (int64_t)CA_REQUEST_DAYS * 86400)
		request_next(lc, NULL);
	if (s.have_next && !lc->phase && !lc->renewing) {
		/* A rollover was interrupted (restart) or stopped: try again. */
		lc->activate_after = 1;
		round_start(lc, PHASE_ANNOUNCE);
	} else if (s.have_cur && !s.have_next && !lc->renewing && conf->certrenewdays > 0 &&
		   s.cur_not_after - clock_now() < (int64_t)conf->certrenewdays * 86400) {
		if (s.cur_ca_signed && !conf->renewselfsigned) {
			if (!warned_before(lc, s.cur_fp, -3))
				log_warn(
					RPL_W_CA_CERT_NEEDED,
					"own CA-signed certificate expires within "
					"CERTRENEWDAYS (%d days); it is not replaced by a self-signed one "
					"(RENEWSELFSIGNED NO): have %s/cert256.csr signed by the CA and "
					"install it with 'replpeer cert install FILE'",
					conf->certrenewdays, y->in->dir);
		} else {
			log_info(RPL_I_AUTORENEW,
				 "own certificate expires within CERTRENEWDAYS (%d days): renewing",
				 conf->certrenewdays);
			lifecycle_renew(y, 0, 0, 0, "automatic renewal (CERTRENEWDAYS)", NULL);
		}
	}
	check_retire(lc);
}

void lifecycle_files_changed(struct sync *y)
{
	struct lifecycle *lc = y->lc;
	char label[OWN_LABEL_MAX + 1];

	if (!lc || peer_halting(y->peer))
		return;
	(void)peer_refresh_identity(y->peer);
	/* A next certificate that no round announces: one 'cert install'
	 * put there (the expiry warnings keep their own pace). */
	if (!lc->phase && !lc->renewing && !lc->stopped[0] &&
	    next_label(y, label, sizeof(label)) == 0) {
		log_info(RPL_I_RENEW_STARTED,
			 "next own certificate %s was installed: announcing it", label);
		lc->activate_after = 1;
		round_start(lc, PHASE_ANNOUNCE);
	}
}

/* ---- start, stop, reports ------------------------------------------------ */

int lifecycle_init(struct sync *y)
{
	struct lifecycle *lc = calloc(1, sizeof(*lc));

	if (!lc)
		return -RPL_E_NOMEM;
	lc->y = y;
	y->lc = lc;
	uv_timer_init(y->loop, &lc->retry);
	uv_timer_init(y->loop, &lc->deadline);
	lc->retry.data = lc->deadline.data = lc;
	lc->timers = 1;
	lifecycle_check(y);
	return 0;
}

void lifecycle_stop(struct sync *y)
{
	struct lifecycle *lc = y->lc;
	if (!lc || !lc->timers)
		return;
	lc->timers = 0;
	uv_close((uv_handle_t *)&lc->retry, NULL);
	uv_close((uv_handle_t *)&lc->deadline, NULL);
}

void lifecycle_free(struct sync *y)
{
	struct lifecycle *lc = y->lc;
	if (!lc)
		return;
	process_remove(y, &lc->proc);
	free(lc->ps);
	free(lc);
	y->lc = NULL;
}

struct certs_arg {
	struct sync *y;
	MDB_txn *txn;
	json_t *arr;
	uint8_t cur_fp[FP_LEN];
	int have_cur;
};

struct holders {
	uint8_t fp[FP_LEN];
	const uint8_t *cur_fp; /* previous: pending = holds it and not the current */
	json_t *holding, *pending;
};

static int holders_cb(const struct server_rec *r, void *arg)
{
	struct holders *h = arg;
	int holds = server_held_find(r, h->fp) >= 0;
	if (h->cur_fp) {
		if (holds)
			json_array_append_new(h->holding, json_string(r->name));
		if (holds && server_held_find(r, h->cur_fp) < 0)
			json_array_append_new(h->pending, json_string(r->name));
		return 0;
	}
	json_array_append_new(holds ? h->holding : h->pending, json_string(r->name));
	return 0;
}

static int cert_cb(const struct owncert *c, void *arg)
{
	struct certs_arg *a = arg;
	struct certinfo ci;
	json_t *j;

	if (identity_cert_info(c->der.p, c->der.n, &ci) < 0)
		return 0;
	j = admin_cert_json(&ci, c->label, own_state_name(c->state));
	json_object_set_new(j, "activated", admin_time(c->activated));
	json_object_set_new(j, "retired", admin_time(c->retired));
	{
		struct holders h = { .holding = json_array(), .pending = json_array() };
		memcpy(h.fp, ci.fp, FP_LEN);
		/* A previous or retired certificate: who still pins it, and
		 * who pins it without the current one (kept for them, or
		 * once retired: they need FORCESYNC). */
		if ((c->state == OWN_PREVIOUS || c->state == OWN_RETIRED) && a->have_cur)
			h.cur_fp = a->cur_fp;
		(void)store_server_each(a->txn, &a->y->in->store, holders_cb, &h);
		json_object_set_new(j, "partners_holding", h.holding);
		json_object_set_new(j, "partners_pending", h.pending);
	}
	if (c->state == OWN_PREVIOUS) {
		int64_t since = c->superseded ? c->superseded : clock_now();
		int64_t until = since + (int64_t)a->y->in->conf.prevcertgracedays * 86400;
		if (ci.not_after < until)
			until = ci.not_after;
		json_object_set_new(j, "kept_until", admin_time(until));
	}
	if (c->compromised)
		json_object_set_new(j, "compromised", json_true());
	if (c->state == OWN_NEXT && a->y->lc && a->y->lc->stopped[0])
		json_object_set_new(j, "activation_stopped", json_string(a->y->lc->stopped));
	json_array_append_new(a->arr, j);
	return 0;
}

json_t *lifecycle_certificates_json(struct sync *y)
{
	struct certs_arg a = { .y = y, .arr = json_array() };
	struct owncert cur;
	int rc;

	if ((rc = store_begin(&y->in->store, 0, &a.txn)) < 0) {
		json_decref(a.arr);
		return admin_error(-rc, NULL);
	}
	if (store_owncert_find(a.txn, &y->in->store, OWN_CURRENT, &cur) == 0) {
		a.have_cur = identity_fingerprint(cur.der.p, cur.der.n, a.cur_fp) == 0;
		owncert_free(&cur);
	}
	rc = store_owncert_each(a.txn, &y->in->store, cert_cb, &a);
	store_abort(a.txn);
	if (rc < 0) {
		json_decref(a.arr);
		return admin_error(-rc, NULL);
	}
	return a.arr;
}

void lifecycle_server_json(struct sync *y, const struct server_rec *r, json_t *j)
{
	struct lifecycle *lc = y->lc;
	struct owncert c;
	struct partner_state *p;
	MDB_txn *txn;
	uint8_t fp[FP_LEN];

	if (store_begin(&y->in->store, 0, &txn) < 0)
		return;
	if (store_owncert_find(txn, &y->in->store, OWN_CURRENT, &c) == 0) {
		if (identity_fingerprint(c.der.p, c.der.n, fp) == 0)
			json_object_set_new(j, "holds_current_certificate",
					    json_boolean(server_held_find(r, fp) >= 0));
		owncert_free(&c);
	}
	if (store_owncert_find(txn, &y->in->store, OWN_NEXT, &c) == 0) {
		if (identity_fingerprint(c.der.p, c.der.n, fp) == 0)
			json_object_set_new(j, "holds_next_certificate",
					    json_boolean(server_held_find(r, fp) >= 0));
		owncert_free(&c);
	} else {
		json_object_set_new(j, "holds_next_certificate", json_null());
	}
	store_abort(txn);
	if (lc && (p = ps_find(lc, r->name)) && p->status >= PS_DONE)
		json_object_set_new(j, "last_distribution", json_string(p->message));
}
