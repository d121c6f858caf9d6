#include "continuity.h"

#include <stdio.h>
#include <string.h>

#include "../store/owncert.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "keys/proof.h"
#include "proto.h"
#include "session_int.h"

#define MAX_OFFERS 3

static const char continuity_label[] = "replpeer continuity v1";
static const char endorse_label[] = "replpeer endorse v1";
static const char possess_label[] = "replpeer possess v1";

/* label \0 fingerprint exporter */
static void proof_message(struct wbuf *m, const char *label, const uint8_t fp[FP_LEN],
			  const uint8_t exporter[32])
{
	wbuf_put(m, label, strlen(label) + 1);
	wbuf_put(m, fp, FP_LEN);
	wbuf_put(m, exporter, 32);
}

static int sign_proof(const struct own_identity *o, const char *label, const uint8_t fp[FP_LEN],
		      const uint8_t exporter[32], struct blob *sig)
{
	struct wbuf m;
	int rc;

	wbuf_init(&m);
	proof_message(&m, label, fp, exporter);
	rc = wbuf_status(&m);
	if (rc == 0)
		rc = identity_sign(o->keytype, &o->key, m.p, m.len, sig);
	wbuf_free(&m);
	return rc;
}

static int verify_proof(const uint8_t *cert, size_t cert_len, const char *label,
			const uint8_t fp[FP_LEN], const uint8_t exporter[32], const uint8_t *sig,
			size_t sig_len)
{
	struct wbuf m;
	int rc;

	wbuf_init(&m);
	proof_message(&m, label, fp, exporter);
	rc = wbuf_status(&m);
	if (rc == 0)
		rc = identity_verify(cert, cert_len, m.p, m.len, sig, sig_len);
	wbuf_free(&m);
	return rc;
}

struct prev_list {
	char labels[MAX_OFFERS][OWN_LABEL_MAX + 1];
	int n;
};

/* Previous certificates that still hold their key and may endorse:
 * not those retired, nor those of a compromised key (their key is gone). */
static int collect_prev(const struct owncert *oc, void *arg)
{
	struct prev_list *l = arg;
	if (oc->state == OWN_PREVIOUS && oc->sealed_key.n && l->n < MAX_OFFERS)
		strcpy(l->labels[l->n++], oc->label);
	return 0;
}

#define ROLLOVER_HOPS 8

/* The chain of rollover endorsements back from the certificate presented:
 * each entry is the endorsing certificate and its signature over the
 * fingerprint of the one after it. */
static int rollover_offer(struct instance *in, MDB_txn *txn, const char *label, struct wbuf *w)
{
	char at[OWN_LABEL_MAX + 1];
	int rc = 0;

	snprintf(at, sizeof(at), "%s", label);
	for (int hop = 0; hop < ROLLOVER_HOPS && at[0] && rc == 0; hop++) {
		struct owncert c, e;
		struct wbuf entry;
		if (store_owncert_get(txn, &in->store, at, &c) < 0)
			break;
		at[0] = 0;
		if (c.endorser[0] && c.rollover.n &&
		    store_owncert_get(txn, &in->store, c.endorser, &e) == 0) {
			if (!e.compromised) {
				wbuf_init(&entry);
				tlv_put(&entry, F_PREV_CERT, e.der.p, e.der.n);
				tlv_put(&entry, F_ENDORSE, c.rollover.p, c.rollover.n);
				rc = wbuf_status(&entry);
				if (rc == 0)
					tlv_put(w, F_ROLLOVER, entry.p, entry.len);
				wbuf_free(&entry);
				snprintf(at, sizeof(at), "%s", e.label);
			}
			owncert_free(&e);
		}
		owncert_free(&c);
	}
	return rc;
}

int continuity_rollover_verify(const uint8_t pinned_fp[32], const uint8_t presented_fp[32],
			       const struct cursor *msg)
{
	uint8_t at[FP_LEN];

	memcpy(at, presented_fp, FP_LEN);
	for (int hop = 0; hop < ROLLOVER_HOPS; hop++) {
		struct cursor cur = *msg, val;
		uint8_t msgbuf[PROOF_ROLLOVER_MSG_LEN], next[FP_LEN];
		int found = 0, seen = 0;
		uint16_t tag;

		if (memcmp(at, pinned_fp, FP_LEN) == 0)
			return 0;
		proof_rollover_message(at, msgbuf);
		/* A server offers one entry per renewal: more is not looked at. */
		while (!found && seen < 2 * ROLLOVER_HOPS && tlv_next(&cur, &tag, &val) > 0) {
			struct cursor ec = val, ev;
			struct blob prev = { 0 }, sig = { 0 };
			uint16_t et;
			if (tag != F_ROLLOVER)
				continue;
			seen++;
			while (tlv_next(&ec, &et, &ev) > 0) {
				if (et == F_PREV_CERT && !prev.n)
					(void)tlv_get_blob(&ev, &prev);
				else if (et == F_ENDORSE && !sig.n)
					(void)tlv_get_blob(&ev, &sig);
			}
			int ok = prev.n && sig.n;
			if (ok)
				ok = identity_verify(prev.p, prev.n, msgbuf, sizeof(msgbuf), sig.p,
						     sig.n) == 0;
			if (ok && identity_fingerprint(prev.p, prev.n, next) == 0)
				found = 1;
			blob_free(&prev);
			blob_free(&sig);
		}
		if (!found)
			return -RPL_E_CERT_SIG;
		memcpy(at, next, FP_LEN);
	}
	return memcmp(at, pinned_fp, FP_LEN) == 0 ? 0 : -RPL_E_CERT_SIG;
}

int continuity_offer(struct peer_session *s, struct wbuf *w)
{
	struct instance *in = s->p->in;
	struct prev_list l = { .n = 0 };
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&in->store, 0, &txn)) < 0)
		return rc;
	rc = store_owncert_each(txn, &in->store, collect_prev, &l);
	for (int i = 0; i < l.n && rc >= 0; i++) {
		struct own_identity o;
		struct blob sig = { 0 };
		struct wbuf e;

		if (instance_own_by_label(in, txn, l.labels[i], &o) < 0)
			continue;
		if (sign_proof(&o, continuity_label, s->own_fp, s->exporter, &sig) == 0) {
			wbuf_init(&e);
			tlv_put(&e, F_PREV_CERT, o.der.p, o.der.n);
			tlv_put(&e, F_ENDORSE, sig.p, sig.n);
			if (wbuf_status(&e) == 0)
				tlv_put(w, F_ENTRY, e.p, e.len);
			wbuf_free(&e);
		}
		blob_free(&sig);
		own_free(&o);
	}
	if (rc >= 0)
		rc = rollover_offer(in, txn, s->own_label, w);
	store_abort(txn);
	return rc < 0 ? rc : 0;
}

/* 1 when sig is not the pinned certificate's endorsement of the
 * certificate presented in this session. */
static int continuity_proof_wrong(const uint8_t *pinned, size_t len, const struct peer_session *s,
				  const struct blob *sig)
{
	return verify_proof(pinned, len, continuity_label, s->peer_ci.fp, s->exporter, sig->p,
			    sig->n) < 0;
}

int continuity_check(struct peer_session *s, const struct server_rec *r, const struct cursor *msg)
{
	struct cursor cur = *msg, val;
	uint16_t tag;
	int tries = 0;

	while (tlv_next(&cur, &tag, &val) > 0 && tries < MAX_OFFERS) {
		struct cursor ec = val, ev;
		struct blob prev = { 0 }, sig = { 0 };
		uint16_t et;
		int pin = -1;

		if (tag != F_ENTRY)
			continue;
		tries++;
		while (tlv_next(&ec, &et, &ev) > 0) {
			if (et == F_PREV_CERT)
				(void)tlv_get_blob(&ev, &prev);
			else if (et == F_ENDORSE)
				(void)tlv_get_blob(&ev, &sig);
		}
		if (prev.n && sig.n) {
			uint8_t fp[FP_LEN];
			if (identity_fingerprint(prev.p, prev.n, fp) == 0)
				pin = trust_endorser(r, fp, clock_now());
			/* Checked against the pinned certificate itself. */
			if (pin >= 0 && continuity_proof_wrong(r->pins[pin].der.p,
							       r->pins[pin].der.n, s, &sig)) {
				log_error(RPL_E_CERT_SIG,
					  "server %s: continuity proof does not verify", r->name);
				pin = -1;
			}
		}
		blob_free(&prev);
		blob_free(&sig);
		if (pin >= 0)
			return pin;
	}
	return -1;
}

int continuity_announce(struct peer_session *s, struct wbuf *w, int *count)
{
	struct instance *in = s->p->in;
	struct own_identity cur, next;
	struct blob endorse = { 0 }, possess = { 0 };
	uint8_t next_fp[FP_LEN];
	struct wbuf e;
	MDB_txn *txn;
	int rc;

	*count = 0;
	if ((rc = store_begin(&in->store, 0, &txn)) < 0)
		return rc;
	rc = instance_own(in, txn, OWN_NEXT, &next);
	if (rc == -RPL_E_NOTFOUND) {
		store_abort(txn);
		return 0;
	}
	if (rc == 0) {
		rc = instance_own_by_label(in, txn, s->own_label, &cur);
		if (rc < 0)
			own_free(&next);
	}
	store_abort(txn);
	if (rc < 0)
		return rc;
	rc = identity_fingerprint(next.der.p, next.der.n, next_fp);
	if (rc == 0)
		rc = sign_proof(&cur, endorse_label, next_fp, s->exporter, &endorse);
	if (rc == 0)
		rc = sign_proof(&next, possess_label, s->own_fp, s->exporter, &possess);
	if (rc == 0) {
		wbuf_init(&e);
		tlv_put(&e, F_CERT, next.der.p, next.der.n);
		tlv_put_str(&e, F_STATE, "next");
		tlv_put(&e, F_ENDORSE, endorse.p, endorse.n);
		tlv_put(&e, F_POSSESS, possess.p, possess.n);
		rc = wbuf_status(&e);
		if (rc == 0) {
			tlv_put(w, F_ENTRY, e.p, e.len);
			*count = 1;
		}
		wbuf_free(&e);
	}
	blob_free(&endorse);
	blob_free(&possess);
	own_free(&cur);
	own_free(&next);
	return rc;
}

int continuity_check_announced(const uint8_t exporter[32], const uint8_t *pinned_der,
			       size_t pinned_len, const uint8_t presented_fp[32],
			       const struct cursor *entry, struct blob *der, struct certinfo *ci)
{
	struct cursor ec = *entry, ev;
	struct blob endorse = { 0 }, possess = { 0 };
	uint16_t et;
	int rc = 0;

	while ((rc = tlv_next(&ec, &et, &ev)) > 0) {
		if (et == F_CERT)
			rc = tlv_get_blob(&ev, der);
		else if (et == F_ENDORSE)
			rc = tlv_get_blob(&ev, &endorse);
		else if (et == F_POSSESS)
			rc = tlv_get_blob(&ev, &possess);
		if (rc < 0)
			break;
	}
	if (rc < 0 || !der->n || !endorse.n || !possess.n)
		rc = -RPL_E_PROTOCOL;
	if (rc == 0)
		rc = identity_cert_info(der->p, der->n, ci);
	/* The pinned key endorses the next certificate... */
	if (rc == 0)
		rc = verify_proof(pinned_der, pinned_len, endorse_label, ci->fp, exporter,
				  endorse.p, endorse.n);
	/* ...and the holder of the next key signs for this session. */
	if (rc == 0)
		rc = verify_proof(der->p, der->n, possess_label, presented_fp, exporter, possess.p,
				  possess.n);
	blob_free(&endorse);
	blob_free(&possess);
	if (rc < 0)
		blob_free(der);
	return rc;
}

int continuity_offer_verify(const uint8_t exporter[32], const uint8_t pinned_fp[32],
			    const uint8_t presented_fp[32], const struct cursor *msg)
{
	struct cursor cur = *msg, val;
	uint16_t tag;
	int tries = 0, rc = -RPL_E_CERT_SIG;

	while (rc < 0 && tlv_next(&cur, &tag, &val) > 0 && tries < MAX_OFFERS) {
		struct cursor ec = val, ev;
		struct blob prev = { 0 }, sig = { 0 };
		uint8_t fp[FP_LEN];
		uint16_t et;

		if (tag != F_ENTRY)
			continue;
		tries++;
		while (tlv_next(&ec, &et, &ev) > 0) {
			if (et == F_PREV_CERT && !prev.n)
				(void)tlv_get_blob(&ev, &prev);
			else if (et == F_ENDORSE && !sig.n)
				(void)tlv_get_blob(&ev, &sig);
		}
		if (prev.n && sig.n && identity_fingerprint(prev.p, prev.n, fp) == 0 &&
		    memcmp(fp, pinned_fp, FP_LEN) == 0 &&
		    verify_proof(prev.p, prev.n, continuity_label, presented_fp, exporter, sig.p,
				 sig.n) == 0)
			rc = 0;
		blob_free(&prev);
		blob_free(&sig);
	}
	return rc;
}
