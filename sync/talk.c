#include "talk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../peer/continuity.h"
#include "../peer/dbw.h"
#include "../peer/pins.h"
#include "../peer/proto.h"
#include "../peer/session.h"
#include "../peer/trust.h"
#include "../store/actlog.h"
#include "../store/owncert.h"
#include "../store/server.h"
#include "../util/clock.h"
#include "../util/escape.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "lifecycle.h"
#include "sync.h"

/* Every protocol-2 session first tells the partner which of its
 * certificates we pin (CERTS_ACK) and announces our "next" certificate
 * when the partner lacks it and verified us by pin, CA or continuity
 * (CERTS). The outbound side then sends PING and closes on PONG: the
 * partner answers in order, so by PONG every certificate message of the
 * session has been handled.
 *
 * What each side accepts after authentication:
 *   CERTS_ACK  once, and once more after the CERTS we sent (or instead
 *              CERTS_REFUSED: the partner does not take our next
 *              certificate, says why, and the session goes on)
 *   CERTS      at most once, only if we verified the partner by pin, CA or
 *              continuity (never in a first-contact or FORCESYNC session)
 *   PING       inbound only; PONG outbound only, once, after our PING
 *   BYE, ERROR end the session
 * Anything else ends the session as a protocol error. */
struct talk {
	struct sync *y;
	struct peer_session *s;
	char server[RPL_NAME_MAX + 1];
	talk_done_fn *done;
	void *arg;
	int held_got, certs_sent, certs_got;
	int ping_sent, pong_got;
	uint64_t ping_sent_us;
	int refs;                     /* the session, and each job that still runs */
	uint8_t announced_fp[FP_LEN]; /* the next certificate we announced */
	struct talk_outcome outcome;
};

static void talk_unref(struct talk *t)
{
	if (--t->refs == 0)
		free(t);
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static const char *talk_state(const struct talk *t)
{
	if (t->pong_got)
		return "done";
	if (t->ping_sent)
		return "ping-sent";
	if (t->certs_got)
		return "certificates-exchanged";
	return "ready";
}

static int send_ping(struct talk *t)
{
	struct wbuf w;
	int rc;

	t->ping_sent_us = now_us();
	t->ping_sent = 1;
	wbuf_init(&w);
	tlv_put_u64(&w, F_TIME, t->ping_sent_us);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = session_send(t->s, MSG_PING, &w);
	wbuf_free(&w);
	return rc;
}

/* MSG_CERTS_ACK: the fingerprints we pin for the partner. */
static int send_held(struct talk *t)
{
	struct instance *in = t->y->in;
	struct server_rec r;
	struct wbuf w;
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&in->store, 0, &txn)) < 0)
		return rc;
	rc = store_server_get(txn, &in->store, t->server, &r);
	store_abort(txn);
	if (rc < 0)
		return rc;
	wbuf_init(&w);
	for (int i = 0; i < r.npins; i++)
		if (r.pins[i].state != PIN_PREVIOUS)
			tlv_put(&w, F_FP, r.pins[i].fp, FP_LEN);
	server_rec_free(&r);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = session_send(t->s, MSG_CERTS_ACK, &w);
	wbuf_free(&w);
	return rc;
}

static int trusted_session(int vb) { return vb == VB_PIN || vb == VB_CA || vb == VB_CONTINUITY; }

/* Announces our next certificate unless the partner already pins it or
 * would not accept an announcement in this session. */
static int maybe_announce(struct talk *t)
{
	struct instance *in = t->y->in;
	struct owncert next;
	struct server_rec r;
	uint8_t fp[FP_LEN];
	struct wbuf w;
	MDB_txn *txn;
	int rc, held = 0, n = 0;

	if (!trusted_session(session_partner_verified_by(t->s)))
		return 0;
	if ((rc = store_begin(&in->store, 0, &txn)) < 0)
		return rc;
	rc = store_owncert_find(txn, &in->store, OWN_NEXT, &next);
	if (rc == 0) {
		rc = identity_fingerprint(next.der.p, next.der.n, fp);
		owncert_free(&next);
		if (rc == 0 && store_server_get(txn, &in->store, t->server, &r) == 0) {
			/* Held already, or refused already: the partner said. */
			held = server_held_find(&r, fp) >= 0 ||
			       (r.refused_why[0] && memcmp(r.refused_fp, fp, FP_LEN) == 0);
			server_rec_free(&r);
		}
	}
	store_abort(txn);
	if (rc == -RPL_E_NOTFOUND || held)
		return 0;
	if (rc < 0)
		return rc;
	wbuf_init(&w);
	rc = continuity_announce(t->s, &w, &n);
	if (rc == 0 && n > 0) {
		rc = session_send(t->s, MSG_CERTS, &w);
		t->certs_sent = rc == 0;
		memcpy(t->announced_fp, fp, FP_LEN);
	}
	wbuf_free(&w);
	return rc;
}

static void on_ready(struct peer_session *s, void *arg)
{
	struct talk *t = arg;
	int rc = 0;

	if (session_proto(s) == 2) {
		rc = send_held(t);
		if (rc == 0)
			rc = maybe_announce(t);
	}
	if (rc == 0 && session_role(s) == ROLE_OUTBOUND)
		rc = send_ping(t);
	if (rc < 0)
		session_close(s, rc, "after authentication");
}

/* ---- the partner's announcement ---------------------------------------- */

/* Checked on the pool: the pinned certificate's key endorses it, the next
 * key proves possession, and it is fit to be pinned. */
struct announce_job {
	uv_work_t req;
	struct talk *t;
	uint8_t exporter[32];
	uint8_t presented_fp[FP_LEN];
	struct blob pinned_der;
	struct blob entry;
	char server[RPL_NAME_MAX + 1];
	int64_t now;
	int skew;
	/* results */
	int rc;
	char why[600];
	struct blob der;
	struct certinfo ci;
	int changed;
	char what[600];
};

static void announce_free(struct announce_job *j)
{
	blob_free(&j->pinned_der);
	blob_free(&j->entry);
	blob_free(&j->der);
	free(j);
}

/* The announcement is refused: the partner hears why (CERTS_REFUSED, which
 * stops its activation), and the session goes on — refusing a certificate
 * is not refusing the partner. */
static void refuse_announcement(struct talk *t, const uint8_t *fp, const char *why)
{
	struct wbuf w;
	int rc;

	log_error(RPL_E_ANNOUNCE_REFUSED, "server %s announced a certificate that is refused: %s",
		  t->server, why);
	peer_actlog(t->y->peer, RPL_E_ANNOUNCE_REFUSED,
		    "server %s announced a certificate that is refused: %s", t->server, why);
	wbuf_init(&w);
	if (fp)
		tlv_put(&w, F_FP, fp, FP_LEN);
	tlv_put_str(&w, F_MSGID, rpl_msg_id(RPL_E_ANNOUNCE_REFUSED));
	tlv_put_str(&w, F_TEXT, why);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = session_send(t->s, MSG_CERTS_REFUSED, &w);
	wbuf_free(&w);
	if (rc < 0)
		session_close(t->s, rc, "answering the announcement");
	else
		session_resume(t->s);
}

/* New certificates per partner: a burst of ANNOUNCE_BURST, then one every
 * ANNOUNCE_REFILL seconds. A partner that cycles announcements (even
 * activating each one at once, so that no "next" pin stays) gets bounded
 * storage and log; an administrator who renews several times in a row is
 * not refused. */
#define ANNOUNCE_BURST  20
#define ANNOUNCE_REFILL 60

static int announce_commit(MDB_txn *txn, struct store *st, void *arg)
{
	struct announce_job *j = arg;
	struct pin_change pc = {
		.event = PIN_EV_ANNOUNCED,
		.fp = j->ci.fp,
		.not_after = j->ci.not_after,
		.der = j->der.p,
		.der_len = j->der.n,
		.endorser_fp = j->presented_fp,
		.now = j->now,
	};
	struct server_rec r;
	int rc = store_server_get(txn, st, j->server, &r), fresh;

	if (rc < 0)
		return rc;
	fresh = server_pin_find(&r, j->ci.fp) < 0;
	if (fresh) {
		int64_t elapsed = j->now - r.announce_window;
		if (!r.announce_window || elapsed < 0) {
			r.announce_window = j->now;
			r.announce_count = 0;
		} else if (elapsed >= ANNOUNCE_REFILL) {
			int64_t back = elapsed / ANNOUNCE_REFILL;
			r.announce_count =
				back >= r.announce_count ? 0 : r.announce_count - (uint32_t)back;
			r.announce_window += back * ANNOUNCE_REFILL;
		}
		if (r.announce_count >= ANNOUNCE_BURST) {
			snprintf(
				j->why, sizeof(j->why),
				"%d new certificates were announced recently; one more a minute is accepted",
				ANNOUNCE_BURST);
			server_rec_free(&r);
			return -RPL_E_ANNOUNCE_REFUSED;
		}
		r.announce_count++;
	}
	rc = pins_apply(&r, &pc, j->what, sizeof(j->what));
	if (rc == 1) {
		char until[32];
		clock_iso8601(j->ci.not_after, until, sizeof(until));
		j->changed = 1;
		rc = store_server_put(txn, st, &r);
		if (rc == 0)
			rc = store_actlog_add(txn, st, RPL_I_PINNED, "%s (%s, valid until %s)",
					      j->what, j->ci.subject, until);
	} else if (rc == -RPL_E_STALE) {
		snprintf(j->why, sizeof(j->why),
			 "the certificate that verified this session is no longer the current pin");
		rc = -RPL_E_ANNOUNCE_REFUSED;
	}
	server_rec_free(&r);
	return rc;
}

static void announce_committed(int rc, void *arg)
{
	struct announce_job *j = arg;
	struct talk *t = j->t;
	struct peer_session *s = t->s;

	if (!session_closing(s)) {
		if (rc == -RPL_E_ANNOUNCE_REFUSED) {
			refuse_announcement(t, j->ci.fp, j->why);
		} else if (rc < 0) {
			session_close(s, rc, "storing the announced certificate");
		} else {
			if (j->changed) {
				log_info(
					RPL_I_PINNED,
					"server %s announced its next certificate %s: pinned as next",
					t->server, j->ci.fp_hex);
				lifecycle_pins_changed(t->y, t->server);
			}
			if ((rc = send_held(t)) < 0)
				session_close(s, rc, "answering the announcement");
			session_resume(s);
		}
	}
	announce_free(j);
	talk_unref(t);
	session_unref(s);
}

static void announce_work(uv_work_t *req)
{
	struct announce_job *j = req->data;
	struct cursor entry;

	cur_init(&entry, j->entry.p, j->entry.n);
	j->rc = continuity_check_announced(j->exporter, j->pinned_der.p, j->pinned_der.n,
					   j->presented_fp, &entry, &j->der, &j->ci);
	if (j->rc < 0)
		snprintf(j->why, sizeof(j->why), "its proofs do not verify (%s)",
			 rpl_msg_text(j->rc));
	else
		j->rc = trust_check_announced(j->der.p, j->der.n, &j->ci, j->server, j->now,
					      j->skew, 36500, j->why, sizeof(j->why));
}

static void announce_checked(uv_work_t *req, int status)
{
	struct announce_job *j = req->data;
	struct talk *t = j->t;
	struct peer_session *s = t->s;

	if (!session_closing(s)) {
		if (status < 0 || j->rc == -RPL_E_NOMEM) {
			session_close(s, -RPL_E_INTERNAL, "checking the announced certificate");
		} else if (j->rc < 0) {
			refuse_announcement(t, j->der.n ? j->ci.fp : NULL, j->why);
		} else if (dbw_submit(peer_dbw(t->y->peer), announce_commit, announce_committed,
				      j) == 0) {
			return; /* the references go on with the job */
		} else {
			session_close(s, -RPL_E_NOMEM, NULL);
		}
	}
	announce_free(j);
	talk_unref(t);
	session_unref(s);
}

static int on_certs(struct talk *t, struct cursor *p)
{
	struct instance *in = t->y->in;
	struct cursor cur = *p, val, entry = { 0 };
	struct announce_job *j;
	struct server_rec r;
	MDB_txn *txn;
	uint16_t tag;
	int rc, entries = 0, pin;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0)
		if (tag == F_ENTRY) {
			entry = val;
			entries++;
		}
	if (rc < 0 || entries != 1) {
		session_send_error(t->s, RPL_E_PROTOCOL,
				   "one certificate announcement per session");
		session_close(t->s, -RPL_E_PROTOCOL, "CERTS with %d entries (one per session)",
			      entries);
		return 0;
	}
	/* A CA-verified partner's next certificate is checked against the
	 * CA when it is presented; nothing to pin. */
	if (session_verified_by(t->s) == VB_CA)
		return send_held(t);
	if ((rc = store_begin(&in->store, 0, &txn)) < 0)
		return rc;
	rc = store_server_get(txn, &in->store, t->server, &r);
	store_abort(txn);
	if (rc < 0)
		return rc;
	/* The endorsement is checked against the pinned certificate that
	 * verified this session, never the one presented. */
	pin = server_pin_find(&r, session_peer_fp(t->s));
	if (pin < 0 || r.pins[pin].state != PIN_CURRENT) {
		server_rec_free(&r);
		session_pause(t->s); /* refuse_announcement resumes */
		refuse_announcement(
			t, NULL,
			"the certificate that verified this session is no longer the current pin");
		return 0;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		server_rec_free(&r);
		return -RPL_E_NOMEM;
	}
	j->t = t;
	j->req.data = j;
	memcpy(j->exporter, session_exporter(t->s), 32);
	memcpy(j->presented_fp, session_peer_fp(t->s), FP_LEN);
	snprintf(j->server, sizeof(j->server), "%s", t->server);
	j->now = clock_now();
	j->skew = in->conf.clockskew;
	rc = blob_set(&j->pinned_der, r.pins[pin].der.p, r.pins[pin].der.n);
	server_rec_free(&r);
	if (rc == 0)
		rc = blob_set(&j->entry, entry.p + entry.off, cur_left(&entry));
	if (rc < 0) {
		announce_free(j);
		return rc;
	}
	session_ref(t->s);
	t->refs++;
	session_pause(t->s);
	if (uv_queue_work(t->y->loop, &j->req, announce_work, announce_checked) < 0) {
		session_resume(t->s);
		t->refs--;
		session_unref(t->s);
		announce_free(j);
		return -RPL_E_INTERNAL;
	}
	return 0;
}

/* ---- the partner refused our next certificate ---------------------------- */

struct refusal_job {
	char server[RPL_NAME_MAX + 1];
	uint8_t fp[FP_LEN];
	char why[512];
};

static int refusal_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct refusal_job *j = arg;
	struct server_rec r;
	int rc = store_server_get(txn, st, j->server, &r);

	if (rc < 0)
		return rc;
	memcpy(r.refused_fp, j->fp, FP_LEN);
	snprintf(r.refused_why, sizeof(r.refused_why), "%s", j->why);
	rc = store_server_put(txn, st, &r);
	if (rc == 0)
		rc = store_actlog_add(txn, st, RPL_E_ANNOUNCE_REFUSED,
				      "server %s refused our next certificate: %s", r.name, j->why);
	server_rec_free(&r);
	return rc;
}

static void refusal_done(int rc, void *arg)
{
	(void)rc;
	free(arg);
}

static int on_refused(struct talk *t, struct cursor *p)
{
	char id[16] = "", text[400] = "";
	struct refusal_job *j;
	struct cursor cur = *p, val;
	uint16_t tag;
	int rc;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == F_MSGID)
			rc = tlv_get_str(&val, id, sizeof(id));
		else if (tag == F_TEXT)
			rc = tlv_get_str(&val, text, sizeof(text));
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	t->outcome.refused = 1;
	snprintf(t->outcome.why, sizeof(t->outcome.why), "%s %s", ESC(id), ESC(text));
	log_error(RPL_E_ANNOUNCE_REFUSED, "server %s refused our next certificate: %s", t->server,
		  t->outcome.why);
	if (!(j = calloc(1, sizeof(*j))))
		return -RPL_E_NOMEM;
	snprintf(j->server, sizeof(j->server), "%s", t->server);
	memcpy(j->fp, t->announced_fp, FP_LEN);
	snprintf(j->why, sizeof(j->why), "%s", t->outcome.why);
	if (dbw_submit(peer_dbw(t->y->peer), refusal_work, refusal_done, j) < 0)
		free(j);
	return 0;
}

/* ---- which of our certificates the partner pins ------------------------ */

struct held_job {
	struct sync *y;
	char server[RPL_NAME_MAX + 1];
	uint8_t fps[HELD_MAX][FP_LEN];
	int n, changed;
};

static int held_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct held_job *j = arg;
	struct server_rec r;
	int rc = store_server_get(txn, st, j->server, &r), same;

	if (rc < 0)
		return rc;
	same = r.nheld == j->n;
	for (int i = 0; same && i < j->n; i++)
		same = memcmp(r.held[i], j->fps[i], FP_LEN) == 0;
	if (!same) {
		server_held_set(&r, (const uint8_t(*)[FP_LEN])j->fps, j->n);
		rc = store_server_put(txn, st, &r);
		j->changed = 1;
	}
	server_rec_free(&r);
	return rc;
}

static void held_done(int rc, void *arg)
{
	struct held_job *j = arg;
	if (rc == 0 && j->changed)
		lifecycle_held_changed(j->y, j->server);
	free(j);
}

static int on_held(struct talk *t, struct cursor *p)
{
	struct held_job *j = calloc(1, sizeof(*j));
	struct cursor cur = *p, val;
	uint16_t tag;
	int rc;

	if (!j)
		return -RPL_E_NOMEM;
	j->y = t->y;
	snprintf(j->server, sizeof(j->server), "%s", t->server);
	while ((rc = tlv_next(&cur, &tag, &val)) > 0)
		if (tag == F_FP && j->n < HELD_MAX &&
		    tlv_get_fixed(&val, j->fps[j->n], FP_LEN) == 0)
			j->n++;
	if (rc < 0) {
		free(j);
		return -RPL_E_PROTOCOL;
	}
	rc = dbw_submit(peer_dbw(t->y->peer), held_work, held_done, j);
	if (rc < 0)
		free(j);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------ */

/* 1 when an ERROR message carries code's message ID. */
static int error_is(const struct cursor *p, int code)
{
	struct cursor cur = *p, val;
	char id[16] = "";
	uint16_t tag;

	while (tlv_next(&cur, &tag, &val) > 0)
		if (tag == F_MSGID)
			(void)tlv_get_str(&val, id, sizeof(id));
	return strcmp(id, rpl_msg_id(code)) == 0;
}

static int on_frame(struct peer_session *s, int type, struct cursor *p, void *arg)
{
	struct talk *t = arg;
	int inbound = session_role(s) == ROLE_INBOUND, proto2 = session_proto(s) == 2;
	struct wbuf w;
	int rc;

	switch (type) {
	case MSG_CERTS_ACK:
		if (!proto2 || t->held_got >= 1 + t->certs_sent)
			break;
		t->held_got++;
		return on_held(t, p);
	case MSG_CERTS_REFUSED:
		/* The answer to our CERTS, instead of its CERTS_ACK. */
		if (!proto2 || !t->certs_sent || t->held_got >= 1 + t->certs_sent)
			break;
		t->held_got++;
		return on_refused(t, p);
	case MSG_CERTS:
		if (!proto2 || t->certs_got || !trusted_session(session_verified_by(s)))
			break;
		t->certs_got = 1;
		return on_certs(t, p);
	case MSG_PING:
		if (!inbound)
			break;
		wbuf_init(&w);
		wbuf_put(&w, p->p + p->off, cur_left(p) > 64 ? 64 : cur_left(p));
		rc = wbuf_status(&w);
		if (rc == 0)
			rc = session_send(s, MSG_PONG, &w);
		wbuf_free(&w);
		return rc;
	case MSG_PONG:
		if (inbound || !t->ping_sent || t->pong_got)
			break;
		t->pong_got = 1;
		session_set_rtt(s, (double)(now_us() - t->ping_sent_us) / 1000.0);
		session_close(s, 0, NULL);
		return 0;
	case MSG_BYE: session_close(s, 0, NULL); return 0;
	case MSG_ERROR:
		/* A partner of the previous revision refuses our CERTS with an
		 * ERROR RPL0435E rather than CERTS_REFUSED: still a refusal. */
		if (proto2 && t->certs_sent && t->held_got < 1 + t->certs_sent &&
		    error_is(p, RPL_E_ANNOUNCE_REFUSED)) {
			t->held_got++;
			(void)on_refused(t, p);
		}
		session_on_error_frame(s, p);
		return 0;
	}
	return session_unexpected(s, type, talk_state(t));
}

static void on_closed(struct peer_session *s, const struct session_result *r, void *arg)
{
	struct talk *t = arg;
	(void)s;
	if (t->done)
		t->done(t->y, t->server, r, &t->outcome, t->arg);
	t->done = NULL;
	talk_unref(t);
}

static const struct session_ops talk_ops = {
	.ready = on_ready,
	.frame = on_frame,
	.writable = NULL,
	.closed = on_closed,
};

static struct talk *talk_new(struct sync *y, const char *server)
{
	struct talk *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->y = y;
	t->refs = 1;
	snprintf(t->server, sizeof(t->server), "%s", server);
	return t;
}

/* The session pointer is known only once the peer layer made it: the
 * ready callback is the first place that needs it. */
static void out_ready(struct peer_session *s, void *arg)
{
	struct talk *t = arg;
	t->s = s;
	snprintf(t->server, sizeof(t->server), "%s", session_server(s));
	on_ready(s, arg);
}

static int out_frame(struct peer_session *s, int type, struct cursor *p, void *arg)
{
	((struct talk *)arg)->s = s;
	return on_frame(s, type, p, arg);
}

static const struct session_ops talk_out_ops = {
	.ready = out_ready,
	.frame = out_frame,
	.writable = NULL,
	.closed = on_closed,
};

int talk_connect(struct sync *y, const char *server, int purpose, talk_done_fn *done, void *arg)
{
	struct talk *t = talk_new(y, server);
	int rc;

	if (!t)
		return -RPL_E_NOMEM;
	t->done = done;
	t->arg = arg;
	rc = peer_connect(y->peer, server, purpose, &talk_out_ops, t);
	if (rc < 0)
		free(t);
	return rc;
}

int talk_connect_confirm(struct sync *y, const char *server, talk_done_fn *done, void *arg)
{
	struct talk *t = talk_new(y, server);
	int rc;

	if (!t)
		return -RPL_E_NOMEM;
	t->done = done;
	t->arg = arg;
	rc = peer_connect_confirm(y->peer, server, PURPOSE_PING, &talk_out_ops, t);
	if (rc < 0)
		free(t);
	return rc;
}

static int talk_of(const struct session_ops *ops, void *ops_arg, void *ctx)
{
	return ops == &talk_out_ops && ((struct talk *)ops_arg)->arg == ctx;
}

void talk_cancel(struct sync *y, void *arg)
{
	peer_cancel(y->peer, talk_of, arg, "cancelled: the administrator abandoned the command");
}

void talk_cancel_why(struct sync *y, void *arg, const char *why)
{
	peer_cancel(y->peer, talk_of, arg, why);
}

const struct session_ops *talk_inbound(struct sync *y, struct peer_session *s, int purpose,
				       void **arg)
{
	struct talk *t;

	if (purpose != PURPOSE_PING && purpose != PURPOSE_SYNC)
		return NULL;
	t = talk_new(y, session_server(s));
	if (!t)
		return NULL;
	t->s = s;
	*arg = t;
	return &talk_ops;
}
