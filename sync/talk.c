#include "talk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../peer/auth.h"
#include "../peer/conn.h"
#include "../peer/continuity.h"
#include "../peer/proto.h"
#include "../store/actlog.h"
#include "../store/owncert.h"
#include "../store/server.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "lifecycle.h"

/* Every session, whatever its purpose, first tells the partner which of its
 * certificates we pin (MSG_CERTS_ACK) and announces our "next" certificate
 * when the partner lacks it (MSG_CERTS). The outbound side then sends PING
 * and closes on PONG: the partner answers in order, so by PONG every
 * certificate message of the session has been handled. */
struct talk {
	uint64_t ping_sent_us;
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void talk_free(struct conn *c)
{
	free(c->talk);
	c->talk = NULL;
}

static int send_ping(struct conn *c)
{
	struct wbuf w;
	int rc;

	c->talk->ping_sent_us = now_us();
	wbuf_init(&w);
	tlv_put_u64(&w, F_TIME, c->talk->ping_sent_us);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send(c, MSG_PING, &w);
	wbuf_free(&w);
	return rc;
}

/* MSG_CERTS_ACK: the fingerprints we pin for the partner. */
static int send_held(struct conn *c)
{
	struct server_rec r;
	struct wbuf w;
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&c->d->in.store, 0, &txn)) < 0)
		return rc;
	rc = store_server_get(txn, &c->d->in.store, c->server, &r);
	store_abort(txn);
	if (rc < 0)
		return rc;
	wbuf_init(&w);
	for (int i = 0; i < r.npins; i++)
		tlv_put(&w, F_FP, r.pins[i].fp, FP_LEN);
	server_rec_free(&r);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send(c, MSG_CERTS_ACK, &w);
	wbuf_free(&w);
	return rc;
}

/* Announces our next certificate unless the partner already pins it. */
static int maybe_announce(struct conn *c)
{
	struct owncert next;
	struct server_rec r;
	uint8_t fp[FP_LEN];
	struct wbuf w;
	MDB_txn *txn;
	int rc, held = 0, n = 0;

	if ((rc = store_begin(&c->d->in.store, 0, &txn)) < 0)
		return rc;
	rc = store_owncert_find(txn, &c->d->in.store, OWN_NEXT, &next);
	if (rc == 0) {
		identity_fingerprint(next.der.p, next.der.n, fp);
		owncert_free(&next);
		if (store_server_get(txn, &c->d->in.store, c->server, &r) == 0) {
			held = server_held_find(&r, fp) >= 0;
			server_rec_free(&r);
		}
	}
	store_abort(txn);
	if (rc == -RPL_E_NOTFOUND || held)
		return 0;
	if (rc < 0)
		return rc;
	wbuf_init(&w);
	rc = continuity_announce(c, auth_exporter(c), &w, &n);
	if (rc == 0 && n > 0)
		rc = conn_send(c, MSG_CERTS, &w);
	wbuf_free(&w);
	return rc;
}

void talk_ready(struct conn *c)
{
	int rc = 0;

	c->talk = calloc(1, sizeof(*c->talk));
	if (!c->talk) {
		conn_close(c, -RPL_E_NOMEM, NULL);
		return;
	}
	if (c->proto == 2) {
		rc = send_held(c);
		if (rc == 0)
			rc = maybe_announce(c);
	}
	if (rc == 0 && c->role == ROLE_OUTBOUND)
		rc = send_ping(c);
	if (rc < 0)
		conn_close(c, rc, "after authentication");
}

/* The partner announced a next certificate: pin it as "next" when both
 * proofs hold, then tell the partner what we pin now. */
static int on_certs(struct conn *c, struct cursor *p)
{
	struct daemon *d = c->d;
	struct cursor cur = *p, val;
	uint16_t tag;
	int rc = 0;

	if (c->proto != 2)
		return -RPL_E_PROTOCOL;
	while (rc == 0 && tlv_next(&cur, &tag, &val) > 0) {
		struct blob der = {0};
		struct certinfo ci;
		struct server_rec r;
		MDB_txn *txn;

		if (tag != F_ENTRY)
			continue;
		rc = continuity_check_announced(c, auth_exporter(c), &val, &der, &ci);
		if (rc < 0) {
			log_warn(RPL_E_CERT_SIG, "server %s announced a certificate that fails its proofs: %s",
				 c->server, rpl_msg_text(rc));
			return rc;
		}
		if ((rc = store_begin(&d->in.store, 1, &txn)) < 0) {
			blob_free(&der);
			return rc;
		}
		rc = store_server_get(txn, &d->in.store, c->server, &r);
		if (rc < 0) {
			store_abort(txn);
			blob_free(&der);
			return rc;
		}
		if (server_pin_find(&r, ci.fp) < 0) {
			rc = server_pin_add(&r, ci.fp, PIN_NEXT, ci.not_after, clock_now(),
					    "announce", der.p, der.n);
			if (rc == 0)
				rc = store_server_put(txn, &d->in.store, &r);
			if (rc == 0)
			{
				char until[32];
				clock_iso8601(ci.not_after, until, sizeof(until));
				rc = store_actlog_add(txn, &d->in.store, RPL_I_PINNED,
						      "server %s announced its next certificate %s (%s, valid until %s): pinned as next",
						      r.name, ci.fp_hex, ci.subject, until);
			}
			if (rc == 0)
				log_info(RPL_I_PINNED, "server %s announced its next certificate %s: pinned as next",
					 r.name, ci.fp_hex);
		}
		server_rec_free(&r);
		if (rc == 0)
			rc = store_commit(txn);
		else
			store_abort(txn);
		blob_free(&der);
	}
	if (rc == 0)
		lifecycle_pins_changed(d, c->server);
	return rc == 0 ? send_held(c) : rc;
}

/* The partner told us which of our certificates it pins. */
static int on_held(struct conn *c, struct cursor *p)
{
	struct daemon *d = c->d;
	uint8_t fps[HELD_MAX][FP_LEN];
	struct cursor cur = *p, val;
	struct server_rec r;
	MDB_txn *txn;
	uint16_t tag;
	int n = 0, rc, same;

	if (c->proto != 2)
		return -RPL_E_PROTOCOL;
	while (tlv_next(&cur, &tag, &val) > 0)
		if (tag == F_FP && n < HELD_MAX && tlv_get_fixed(&val, fps[n], FP_LEN) == 0)
			n++;
	if ((rc = store_begin(&d->in.store, 1, &txn)) < 0)
		return rc;
	rc = store_server_get(txn, &d->in.store, c->server, &r);
	if (rc < 0) {
		store_abort(txn);
		return rc;
	}
	same = r.nheld == n;
	for (int i = 0; same && i < n; i++)
		same = memcmp(r.held[i], fps[i], FP_LEN) == 0;
	if (!same) {
		server_held_set(&r, (const uint8_t(*)[FP_LEN])fps, n);
		rc = store_server_put(txn, &d->in.store, &r);
	}
	server_rec_free(&r);
	if (rc == 0 && !same)
		rc = store_commit(txn);
	else
		store_abort(txn);
	if (rc == 0 && !same)
		lifecycle_held_changed(d, c->server);
	return rc;
}

int talk_on_frame(struct conn *c, int type, struct cursor *p)
{
	struct wbuf w;
	int rc;

	switch (type) {
	case MSG_PING:
		wbuf_init(&w);
		wbuf_put(&w, p->p + p->off, cur_left(p));
		rc = wbuf_status(&w);
		if (rc == 0)
			rc = conn_send(c, MSG_PONG, &w);
		wbuf_free(&w);
		return rc;
	case MSG_PONG:
		if (c->role != ROLE_OUTBOUND || !c->talk->ping_sent_us)
			return -RPL_E_PROTOCOL;
		c->result.rtt_ms = (double)(now_us() - c->talk->ping_sent_us) / 1000.0;
		conn_close(c, 0, NULL);
		return 0;
	case MSG_CERTS:
		return on_certs(c, p);
	case MSG_CERTS_ACK:
		return on_held(c, p);
	case MSG_BYE:
		conn_close(c, 0, NULL);
		return 0;
	default:
		return -RPL_E_PROTOCOL;
	}
}
