#include "lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../peer/conn.h"
#include "../peer/daemon.h"
#include "../peer/keys/identity.h"
#include "../store/actlog.h"
#include "../store/owncert.h"
#include "../util/clock.h"
#include "../util/hex.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "admin.h"

/* Sessions a distribution round keeps open at once: enough to finish 100
 * partners in a few round trips, few enough to leave MAXSESSIONS for
 * partners that connect to us meanwhile. */
#define ROUND_WINDOW 32
#define RETRY_SECONDS 600
#define MAX_WARNED 512

enum { PHASE_NONE = 0, PHASE_ANNOUNCE, PHASE_CONFIRM };
enum { PS_WAITING = 0, PS_RUNNING, PS_DONE, PS_FAILED };

struct partner_state {
	char name[RPL_NAME_MAX + 1];
	int status;
	char message[768];
};

struct warned {
	uint8_t fp[FP_LEN];
	int threshold;
};

struct lifecycle {
	struct daemon *d;
	uv_timer_t retry;
	int retry_inited;
	int renewing;          /* key generation runs on the pool */
	int phase;             /* round in progress */
	int again;             /* a round was asked for while one ran */
	int activate_after;    /* AFTERSYNC: activate when the announce round ends */
	struct partner_state *ps;
	int nps, next_idx, running;
	int pumping;           /* pump() is on the stack */
	uint64_t round_started_ms;
	struct warned warned[MAX_WARNED];
	int nwarned;
};

static struct lifecycle *lc_of(struct daemon *d) { return d->sync; }

static void round_start(struct lifecycle *lc, int phase);
static void check_retire(struct lifecycle *lc);

/* ---- activation and retirement ---------------------------------------- */

/* next -> current, current -> previous, in one transaction. */
static int activate(struct lifecycle *lc, const char *why)
{
	struct daemon *d = lc->d;
	struct owncert next, cur;
	MDB_txn *txn;
	int rc, have_cur;

	if ((rc = store_begin(&d->in.store, 1, &txn)) < 0)
		return rc;
	rc = store_owncert_find(txn, &d->in.store, OWN_NEXT, &next);
	if (rc < 0) {
		store_abort(txn);
		return rc;
	}
	have_cur = store_owncert_find(txn, &d->in.store, OWN_CURRENT, &cur) == 0;
	if (have_cur) {
		cur.state = OWN_PREVIOUS;
		rc = store_owncert_put(txn, &d->in.store, &cur);
	}
	if (rc == 0) {
		next.state = OWN_CURRENT;
		next.activated = clock_now();
		rc = store_owncert_put(txn, &d->in.store, &next);
	}
	if (rc == 0)
		rc = store_actlog_add(txn, &d->in.store, RPL_I_CERT_ACTIVATED,
				      "own certificate %s is now current (%s); %s is previous and stays until no partner needs it",
				      next.label, why, have_cur ? cur.label : "none");
	if (rc == 0)
		rc = store_commit(txn);
	else
		store_abort(txn);
	if (rc == 0) {
		log_info(RPL_I_CERT_ACTIVATED, "own certificate %s is now current (%s)", next.label, why);
		(void)instance_write_pem(&d->in);
		(void)daemon_refresh_identity(d);
	}
	owncert_free(&next);
	if (have_cur)
		owncert_free(&cur);
	return rc;
}

struct retire_scan {
	uint8_t cur_fp[FP_LEN];
	uint8_t prev_fp[FP_LEN];
	int needed;
	char who[256];
};

static int needs_prev(const struct server_rec *r, void *arg)
{
	struct retire_scan *s = arg;
	if (server_held_find(r, s->prev_fp) >= 0 && server_held_find(r, s->cur_fp) < 0) {
		size_t n = strlen(s->who);
		s->needed++;
		snprintf(s->who + n, sizeof(s->who) - n, "%s%s", n ? ", " : "", r->name);
	}
	return 0;
}

struct label_list {
	char labels[8][OWN_LABEL_MAX + 1];
	int n;
};

static int collect_previous(const struct owncert *c, void *arg)
{
	struct label_list *l = arg;
	if (c->state == OWN_PREVIOUS && l->n < 8)
		strcpy(l->labels[l->n++], c->label);
	return 0;
}

/* A previous certificate is kept while some partner is known to pin it and
 * not yet the current one; then its key is wiped and it is retired. */
static void check_retire(struct lifecycle *lc)
{
	struct daemon *d = lc->d;
	struct label_list l = {.n = 0};
	struct owncert cur;
	MDB_txn *txn;
	int rc, changed = 0;

	if (store_begin(&d->in.store, 1, &txn) < 0)
		return;
	if (store_owncert_find(txn, &d->in.store, OWN_CURRENT, &cur) < 0) {
		store_abort(txn);
		return;
	}
	rc = store_owncert_each(txn, &d->in.store, collect_previous, &l);
	for (int i = 0; rc >= 0 && i < l.n; i++) {
		struct retire_scan s = {.needed = 0, .who = ""};
		struct owncert prev;

		if (store_owncert_get(txn, &d->in.store, l.labels[i], &prev) < 0)
			continue;
		identity_fingerprint(cur.der.p, cur.der.n, s.cur_fp);
		identity_fingerprint(prev.der.p, prev.der.n, s.prev_fp);
		rc = store_server_each(txn, &d->in.store, needs_prev, &s);
		if (rc >= 0 && s.needed == 0) {
			prev.state = OWN_RETIRED;
			prev.retired = clock_now();
			blob_free(&prev.sealed_key);
			rc = store_owncert_put(txn, &d->in.store, &prev);
			if (rc == 0)
				rc = store_actlog_add(txn, &d->in.store, RPL_I_CERT_RETIRED,
						      "own certificate %s retired: every partner holds %s; its key was wiped",
						      prev.label, cur.label);
			if (rc == 0) {
				changed = 1;
				log_info(RPL_I_CERT_RETIRED, "own certificate %s retired: every partner holds %s",
					 prev.label, cur.label);
			}
		} else if (rc >= 0) {
			log_debug(RPL_D_DEBUG, "own certificate %s still needed by %s", prev.label, s.who);
		}
		owncert_free(&prev);
	}
	owncert_free(&cur);
	if (rc >= 0 && changed)
		(void)store_commit(txn);
	else
		store_abort(txn);
}

/* ---- distribution rounds ---------------------------------------------- */

static struct partner_state *ps_find(struct lifecycle *lc, const char *name)
{
	for (int i = 0; i < lc->nps; i++)
		if (strcasecmp(lc->ps[i].name, name) == 0)
			return &lc->ps[i];
	return NULL;
}

static void round_done(struct conn *c, void *arg);
static void round_finished(struct lifecycle *lc);

static void pump(struct lifecycle *lc)
{
	struct daemon *d = lc->d;

	lc->pumping = 1;
	while (!d->halting && lc->running < ROUND_WINDOW && lc->next_idx < lc->nps) {
		struct partner_state *p = &lc->ps[lc->next_idx++];
		int rc;
		/* Counted before the call: a session may end inside it. */
		p->status = PS_RUNNING;
		lc->running++;
		rc = conn_connect(d, p->name, PURPOSE_SYNC, 2, round_done, lc);
		if (rc < 0) {
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

static void round_finished(struct lifecycle *lc)
{
	struct daemon *d = lc->d;
	char pending[512] = "";
	int done = 0, failed = 0, phase = lc->phase;

	for (int i = 0; i < lc->nps; i++) {
		if (lc->ps[i].status == PS_DONE)
			done++;
		else {
			size_t n = strlen(pending);
			failed++;
			snprintf(pending + n, sizeof(pending) - n, "%s%s", n ? ", " : "", lc->ps[i].name);
		}
	}
	log_info(RPL_I_ROUND_DONE, "certificate %s round: %d partner%s done, %d pending%s%s (%.1f s)",
		 phase == PHASE_ANNOUNCE ? "announcement" : "confirmation", done,
		 done == 1 ? "" : "s", failed, failed ? ": " : "", pending,
		 (double)(clock_mono_ms() - lc->round_started_ms) / 1000.0);
	lc->phase = PHASE_NONE;
	if (d->halting)
		return;
	if (phase == PHASE_ANNOUNCE && lc->activate_after) {
		lc->activate_after = 0;
		/* Partners that were unreachable accept the new certificate by
		 * the continuity proof later, so they never hold this up. */
		if (activate(lc, "announced to every reachable partner") == 0) {
			round_start(lc, PHASE_CONFIRM);
			return;
		}
	}
	check_retire(lc);
	if (lc->again) {
		int again = lc->again;
		lc->again = 0;
		round_start(lc, again);
		return;
	}
	if (failed && lc->retry_inited)
		uv_timer_start(&lc->retry, on_retry, RETRY_SECONDS * 1000, 0);
}

static void round_done(struct conn *c, void *arg)
{
	struct lifecycle *lc = arg;
	struct partner_state *p = ps_find(lc, c->server);

	if (p) {
		p->status = c->result.ok ? PS_DONE : PS_FAILED;
		snprintf(p->message, sizeof(p->message), "%s",
			 c->result.ok ? "done" : c->result.message);
		if (c->result.ok)
			log_info(RPL_I_ANNOUNCED, "server %s: certificates exchanged", c->server);
		else
			log_warn(RPL_W_ANNOUNCE_PENDING, "server %s: %s", c->server, c->result.message);
	}
	lc->running--;
	if (lc->pumping)
		return; /* ended inside conn_connect: the pump loop goes on */
	pump(lc);
}

/* Opens one session with every partner, ROUND_WINDOW at a time. One
 * unreachable partner never holds up the others. */
static void round_start(struct lifecycle *lc, int phase)
{
	struct daemon *d = lc->d;
	struct name_list names;
	MDB_txn *txn;

	if (d->halting)
		return;
	if (lc->phase) {
		if (phase == PHASE_ANNOUNCE || !lc->again)
			lc->again = phase;
		return;
	}
	if (lc->retry_inited)
		uv_timer_stop(&lc->retry);
	if (store_begin(&d->in.store, 0, &txn) < 0)
		return;
	if (store_server_names(txn, &d->in.store, &names) < 0) {
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
	log_info(RPL_I_RENEW_STARTED, "certificate %s round with %d partner%s",
		 phase == PHASE_ANNOUNCE ? "announcement" : "confirmation", lc->nps,
		 lc->nps == 1 ? "" : "s");
	pump(lc);
}

/* ---- renewal ----------------------------------------------------------- */

struct renew_job {
	uv_work_t req;
	struct lifecycle *lc;
	struct admin_client *ac;
	int immediate;
	int rc;
	char who[64];
	char label[OWN_LABEL_MAX + 1];
};

static void renew_work(uv_work_t *req)
{
	struct renew_job *j = req->data;
	j->rc = instance_new_owncert(&j->lc->d->in, OWN_NEXT, j->label, sizeof(j->label));
}

static void renew_after(uv_work_t *req, int status)
{
	struct renew_job *j = req->data;
	struct lifecycle *lc = j->lc;
	struct daemon *d = lc->d;
	json_t *doc;
	MDB_txn *txn;

	lc->renewing = 0;
	if (status < 0 && j->rc == 0)
		j->rc = -RPL_E_INTERNAL;
	if (j->rc < 0) {
		log_error(j->rc, "certificate renewal failed: %s", rpl_msg_text(j->rc));
		doc = admin_error(-j->rc, "generating the new key pair");
	} else {
		if (store_begin(&d->in.store, 1, &txn) == 0) {
			if (store_actlog_add(txn, &d->in.store, RPL_I_RENEW_STARTED,
					     "certificate renewal by %s: new certificate %s is next (ACTIVATE=%s)",
					     j->who, j->label, j->immediate ? "IMMEDIATE" : "AFTERSYNC") == 0)
				store_commit(txn);
			else
				store_abort(txn);
		}
		log_info(RPL_I_RENEW_STARTED, "certificate renewal by %s: %s is next", j->who, j->label);
		if (j->immediate && activate(lc, "ACTIVATE=IMMEDIATE") == 0) {
			round_start(lc, PHASE_CONFIRM);
		} else {
			lc->activate_after = 1;
			round_start(lc, PHASE_ANNOUNCE);
		}
		doc = admin_ok(RPL_I_RENEW_STARTED,
			       "new certificate %s %s; partners receive it now (QUERY CERTIFICATE shows who holds it)",
			       j->label, j->immediate ? "is current" : "is next");
		json_object_set_new(doc, "label", json_string(j->label));
	}
	if (j->ac) {
		adminsrv_reply(j->ac, doc, NULL);
		adminsrv_release(j->ac);
	} else {
		json_decref(doc);
	}
	free(j);
}

static int next_label(struct daemon *d, char *label, size_t sz)
{
	struct owncert next;
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&d->in.store, 0, &txn)) < 0)
		return rc;
	rc = store_owncert_find(txn, &d->in.store, OWN_NEXT, &next);
	store_abort(txn);
	if (rc == 0) {
		snprintf(label, sz, "%s", next.label);
		owncert_free(&next);
	}
	return rc;
}

void lifecycle_renew(struct daemon *d, int immediate, const char *who,
		     struct admin_client *ac)
{
	struct lifecycle *lc = lc_of(d);
	char label[OWN_LABEL_MAX + 1];
	struct renew_job *j;
	json_t *doc = NULL;

	if (lc->renewing) {
		doc = admin_error(RPL_E_RENEW_BUSY, "a new key pair is being generated");
	} else if (next_label(d, label, sizeof(label)) == 0) {
		/* A rollover is under way: switch now, or announce again. */
		if (immediate && activate(lc, "ACTIVATE=IMMEDIATE") == 0) {
			round_start(lc, PHASE_CONFIRM);
			doc = admin_ok(RPL_I_CERT_ACTIVATED, "next certificate %s is now current", label);
		} else if (!immediate) {
			lc->activate_after = 1;
			round_start(lc, PHASE_ANNOUNCE);
			doc = admin_ok(RPL_I_RENEW_STARTED,
				       "renewal already in progress: next certificate %s is being announced again", label);
		} else {
			doc = admin_error(RPL_E_INTERNAL, "cannot activate %s", label);
		}
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
	snprintf(j->who, sizeof(j->who), "%s", who);
	j->req.data = j;
	if (ac)
		adminsrv_hold(ac);
	lc->renewing = 1;
	if (uv_queue_work(d->loop, &j->req, renew_work, renew_after) < 0) {
		lc->renewing = 0;
		if (ac) {
			adminsrv_reply(ac, admin_error(RPL_E_INTERNAL, "cannot queue key generation"), NULL);
			adminsrv_release(ac);
		}
		free(j);
	}
}

/* ---- expiry warnings --------------------------------------------------- */

/* Logs once per certificate and threshold (90, 30, 7, 1 days). */
static void warn_expiry(struct lifecycle *lc, const uint8_t fp[FP_LEN], int64_t not_after,
			const char *what)
{
	static const int thresholds[] = {1, 7, 30, 90};
	int64_t left = not_after - clock_now();
	char when[32], hex[2 * FP_LEN + 1];
	int t = -1;

	if (left < 0)
		t = 0;
	else
		for (int i = 0; i < 4 && t < 0; i++)
			if (left < (int64_t)thresholds[i] * 86400)
				t = thresholds[i];
	if (t < 0)
		return;
	for (int i = 0; i < lc->nwarned; i++)
		if (lc->warned[i].threshold == t && memcmp(lc->warned[i].fp, fp, FP_LEN) == 0)
			return;
	if (lc->nwarned < MAX_WARNED) {
		memcpy(lc->warned[lc->nwarned].fp, fp, FP_LEN);
		lc->warned[lc->nwarned++].threshold = t;
	}
	clock_iso8601(not_after, when, sizeof(when));
	hex_encode(fp, FP_LEN, hex);
	if (t == 0)
		log_error(RPL_E_CERT_EXPIRED_OWN, "%s %s expired on %s", what, hex, when);
	else
		log_warn(RPL_W_CERT_EXPIRING, "%s %s expires in less than %d day%s (on %s)", what,
			 hex, t, t == 1 ? "" : "s", when);
}

static int warn_pins_cb(const struct server_rec *r, void *arg)
{
	char what[128];
	snprintf(what, sizeof(what), "certificate of server %s", r->name);
	for (int i = 0; i < r->npins; i++)
		warn_expiry(arg, r->pins[i].fp, r->pins[i].not_after, what);
	return 0;
}

struct own_scan {
	struct lifecycle *lc;
	int64_t cur_not_after;
	int have_cur, have_next;
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
		warn_expiry(s->lc, ci.fp, ci.not_after, "own certificate");
	}
	if (c->state == OWN_NEXT)
		s->have_next = 1;
	return 0;
}

void lifecycle_pins_changed(struct daemon *d, const char *server)
{
	struct server_rec r;
	MDB_txn *txn;

	if (store_begin(&d->in.store, 0, &txn) < 0)
		return;
	if (store_server_get(txn, &d->in.store, server, &r) == 0) {
		warn_pins_cb(&r, lc_of(d));
		server_rec_free(&r);
	}
	store_abort(txn);
}

void lifecycle_held_changed(struct daemon *d, const char *server)
{
	(void)server;
	check_retire(lc_of(d));
}

void lifecycle_check(struct daemon *d)
{
	struct lifecycle *lc = lc_of(d);
	struct own_scan s = {.lc = lc};
	MDB_txn *txn;

	if (d->halting || store_begin(&d->in.store, 0, &txn) < 0)
		return;
	(void)store_owncert_each(txn, &d->in.store, warn_own_cb, &s);
	(void)store_server_each(txn, &d->in.store, warn_pins_cb, lc);
	store_abort(txn);
	if (s.have_next && !lc->phase && !lc->renewing) {
		/* A rollover was interrupted (restart): finish it. */
		lc->activate_after = 1;
		round_start(lc, PHASE_ANNOUNCE);
	} else if (s.have_cur && !s.have_next && !lc->renewing && d->in.conf.certrenewdays > 0 &&
		   s.cur_not_after - clock_now() < (int64_t)d->in.conf.certrenewdays * 86400) {
		log_info(RPL_I_AUTORENEW, "own certificate expires within CERTRENEWDAYS (%d days): renewing",
			 d->in.conf.certrenewdays);
		lifecycle_renew(d, 0, "automatic renewal (CERTRENEWDAYS)", NULL);
	}
	check_retire(lc);
}

/* ---- start, stop, reports --------------------------------------------- */

static void on_hourly(struct daemon *d) { lifecycle_check(d); }

int lifecycle_init(struct daemon *d)
{
	struct lifecycle *lc = calloc(1, sizeof(*lc));
	struct name_list names;
	MDB_txn *txn;

	if (!lc)
		return -RPL_E_NOMEM;
	lc->d = d;
	d->sync = lc;
	d->on_hourly = on_hourly;
	uv_timer_init(d->loop, &lc->retry);
	lc->retry.data = lc;
	lc->retry_inited = 1;
	lifecycle_check(d);
	/* Partners marked for FORCESYNC get their session now. */
	if (store_begin(&d->in.store, 0, &txn) == 0) {
		if (store_server_names(txn, &d->in.store, &names) == 0) {
			for (int i = 0; i < names.n; i++) {
				struct server_rec r;
				if (store_server_get(txn, &d->in.store, names.names[i], &r) == 0) {
					if (r.forcesync)
						(void)conn_connect(d, r.name, PURPOSE_SYNC, 2, NULL, NULL);
					server_rec_free(&r);
				}
			}
			free(names.names);
		}
		store_abort(txn);
	}
	return 0;
}

void lifecycle_stop(struct daemon *d)
{
	struct lifecycle *lc = lc_of(d);
	if (!lc)
		return;
	if (lc->retry_inited && !uv_is_closing((uv_handle_t *)&lc->retry))
		uv_close((uv_handle_t *)&lc->retry, NULL);
}

void lifecycle_free(struct daemon *d)
{
	struct lifecycle *lc = lc_of(d);
	if (!lc)
		return;
	free(lc->ps);
	free(lc);
	d->sync = NULL;
}

struct certs_arg {
	struct daemon *d;
	MDB_txn *txn;
	json_t *arr;
};

struct holders {
	uint8_t fp[FP_LEN];
	json_t *holding, *pending;
};

static int holders_cb(const struct server_rec *r, void *arg)
{
	struct holders *h = arg;
	json_array_append_new(server_held_find(r, h->fp) >= 0 ? h->holding : h->pending,
			      json_string(r->name));
	return 0;
}

static int cert_cb(const struct owncert *c, void *arg)
{
	struct certs_arg *a = arg;
	struct certinfo ci;
	json_t *j;

	if (identity_cert_info(c->der.p, c->der.n, &ci) < 0)
		return 0;
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:s, s:s, s:b, s:o, s:o}",
		      "label", c->label, "state", own_state_name(c->state), "fingerprint", ci.fp_hex,
		      "subject", ci.subject, "issuer", ci.issuer, "not_before", admin_time(ci.not_before),
		      "not_after", admin_time(ci.not_after),
		      "days_left", (json_int_t)clock_days_until(ci.not_after), "key_type", ci.key_type,
		      "serial", ci.serial_hex, "ca_signed", c->ca_signed,
		      "activated", admin_time(c->activated), "retired", admin_time(c->retired));
	if (c->state != OWN_RETIRED) {
		/* Which partners are known to pin this certificate. */
		struct holders h = {.holding = json_array(), .pending = json_array()};
		memcpy(h.fp, ci.fp, FP_LEN);
		(void)store_server_each(a->txn, &a->d->in.store, holders_cb, &h);
		json_object_set_new(j, "partners_holding", h.holding);
		if (c->state == OWN_PREVIOUS)
			json_decref(h.pending);
		else
			json_object_set_new(j, "partners_pending", h.pending);
	}
	json_array_append_new(a->arr, j);
	return 0;
}

json_t *lifecycle_certificates_json(struct daemon *d)
{
	struct certs_arg a = {d, NULL, json_array()};
	int rc;

	if ((rc = store_begin(&d->in.store, 0, &a.txn)) < 0) {
		json_decref(a.arr);
		return admin_error(-rc, NULL);
	}
	rc = store_owncert_each(a.txn, &d->in.store, cert_cb, &a);
	store_abort(a.txn);
	if (rc < 0) {
		json_decref(a.arr);
		return admin_error(-rc, NULL);
	}
	return a.arr;
}

void lifecycle_server_json(struct daemon *d, const struct server_rec *r, json_t *j)
{
	struct lifecycle *lc = lc_of(d);
	struct owncert c;
	struct partner_state *p;
	MDB_txn *txn;
	uint8_t fp[FP_LEN];

	if (store_begin(&d->in.store, 0, &txn) < 0)
		return;
	if (store_owncert_find(txn, &d->in.store, OWN_CURRENT, &c) == 0) {
		identity_fingerprint(c.der.p, c.der.n, fp);
		json_object_set_new(j, "holds_current_certificate",
				    json_boolean(server_held_find(r, fp) >= 0));
		owncert_free(&c);
	}
	if (store_owncert_find(txn, &d->in.store, OWN_NEXT, &c) == 0) {
		identity_fingerprint(c.der.p, c.der.n, fp);
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
