/*
 * peer/auth: protocol-2 authentication after the TLS handshake, as two
 * state machines (client and server) written as a table of
 * (role, state, message) -> handler; any other pair ends the session with
 * a logged protocol error and counts as a failed sign-on.
 *
 * Both sides decide on the partner's certificate (peer/trust) before they
 * send any proof. The password proof (METHOD_SRP: two SRP-6a exchanges,
 * one over each server's password, so each side proves both) or the
 * pairing-key proof (METHOD_KEY) is bound to the TLS exporter, both
 * certificates and both names by tags (peer/keys/proof). A tag can only be
 * computed with a key established in this session: the key pointer is set
 * by the SRP completion or by unsealing the stored pairing key, and the
 * states that compute or check tags are entered only after that.
 * Pins, pairing key, STRICT and last contact are committed in one
 * transaction (through the database writer) before the session is ready.
 */
#include "auth_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../store/actlog.h"
#include "../store/owncert.h"
#include "../store/server.h"
#include "../store/trust.h"
#include "../util/clock.h"
#include "../util/escape.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "dbw.h"
#include "keys/proof.h"
#include "keys/srp.h"
#include "pins.h"
#include "proto.h"

const char *auth_state_name(int st)
{
	static const char *names[] = {
		"client-wait-hello-reply", "client-proving",        "client-wait-auth-ok",
		"client-committing",       "server-wait-hello",     "server-starting-proof",
		"server-wait-auth",        "server-checking-proof", "server-committing",
		"admin-starting-proof",    "admin-wait-auth",       "admin-checking-proof",
		"admin-checking-ldap",     "admin-committing",      "crossdef-client-wait-done",
		"crossdef-starting-proof", "crossdef-wait-auth",    "crossdef-checking-proof",
		"crossdef-wait-request",   "crossdef-defining",     "done"
	};
	return st >= 0 && st <= A_DONE ? names[st] : "unknown";
}

void auth_free(struct peer_session *s)
{
	if (!s->auth)
		return;
	for (int i = 0; i < 2; i++) {
		srp_free(s->auth->srp[i]);
		blob_free(&s->auth->M2[i]);
	}
	secure_zero(s->auth, sizeof(*s->auth));
	free(s->auth);
	s->auth = NULL;
}

void auth_set_key(struct auth *a, const struct auth_key *k)
{
	a->key_mem = *k;
	a->key = &a->key_mem;
}

/* ---- certificate decision ---------------------------------------------- */

/* Anchors of purpose "peer" a VERIFY=CA decision may use; more than this
 * many is refused rather than silently cut. */
#define ANCHORS_MAX 64

struct anchor_list {
	struct blob der[ANCHORS_MAX];
	int n;
	int too_many;
};

static int collect_peer_anchor(const struct trust_anchor *t, void *arg)
{
	struct anchor_list *l = arg;
	if (t->purpose != TRUST_PEER)
		return 0;
	if (l->n == ANCHORS_MAX) {
		l->too_many = 1;
		return 0;
	}
	if (blob_set(&l->der[l->n], t->der.p, t->der.n) == 0)
		l->n++;
	return 0;
}

static void anchors_free(struct anchor_list *l)
{
	for (int i = 0; i < l->n; i++)
		blob_free(&l->der[i]);
	l->n = 0;
}

static int load_peer_cert(struct peer_session *s)
{
	int rc = tls_peer_cert(s->ssl, &s->peer_der);
	if (rc < 0 || !s->peer_der.n)
		return rc < 0 ? rc : -RPL_E_NOCERT;
	rc = identity_cert_info(s->peer_der.p, s->peer_der.n, &s->peer_ci);
	if (rc == 0)
		rc = tls_exporter(s->ssl, EXPORTER_LABEL, s->exporter);
	return rc;
}

/* The decision (peer/trust) from the record read in txn. */
void auth_decide(struct peer_session *s, MDB_txn *txn, const struct server_rec *r,
		 struct trust_verdict *v)
{
	const struct rpl_conf *conf = &s->p->in->conf;
	struct anchor_list anchors = { .n = 0 };
	struct trust_facts f = {
		.der = s->peer_der.p,
		.der_len = s->peer_der.n,
		.ci = &s->peer_ci,
		.r = r,
		.partner_is_server = s->role == ROLE_OUTBOUND,
		.acceptcert = conf->acceptcertfromserv,
		.now = clock_now(),
		.skew = conf->clockskew,
	};

	if (r->verify == VERIFY_CA)
		(void)store_trust_each(txn, &s->p->in->store, collect_peer_anchor, &anchors);
	f.anchors = anchors.der;
	f.nanchors = anchors.n;
	if (anchors.too_many)
		log_warn(RPL_W_ANCHORS_MAX,
			 "more than %d trust anchors of purpose peer: only the first %d are used",
			 ANCHORS_MAX, ANCHORS_MAX);
	trust_decide(&f, v);
	anchors_free(&anchors);
}

/* ---- tags ---------------------------------------------------------------- */

int auth_make_tag(struct peer_session *s, int from_client, uint8_t out[PROOF_TAG_LEN])
{
	const char *self = s->p->in->conf.servername;
	int out_role = s->role == ROLE_OUTBOUND;
	struct proof_binding b = {
		.exporter = s->exporter,
		.client_fp = out_role ? s->own_fp : s->peer_ci.fp,
		.server_fp = out_role ? s->peer_ci.fp : s->own_fp,
		.client_name = out_role ? self : s->server,
		.server_name = out_role ? s->server : self,
		.method = (uint8_t)s->auth->method,
		.purpose = (uint8_t)s->purpose,
		.version = PROTO2_REVISION,
	};
	/* s->auth->key is NULL until a key was established in this session;
	 * proof_tag refuses NULL, and no state that reaches here is entered
	 * before the key is set. */
	return proof_tag(s->auth->key, from_client, &b, out);
}

int auth_check_tag(struct peer_session *s, int from_client, const uint8_t *got)
{
	uint8_t want[PROOF_TAG_LEN];
	int rc = auth_make_tag(s, from_client, want);
	if (rc == 0 && !secure_equal(want, got, PROOF_TAG_LEN))
		rc = -RPL_E_AUTH_FAILED;
	secure_zero(want, sizeof(want));
	return rc;
}

/* ---- commit -------------------------------------------------------------- */

/* How long the server accepts an inbound pairing key after replacing it
 * (seconds): longer than any session takes to authenticate. */
#define PAIR_GEN_WINDOW 120

struct commit_job {
	struct peer_session *s;
	char server[RPL_NAME_MAX + 1];
	int role, vb, forcesync;
	uint8_t fp[FP_LEN];
	int64_t not_after;
	struct blob der;
	uint8_t endorser_fp[FP_LEN];
	int set_pairing;
	struct blob sealed_pairing;
	uint64_t gen; /* inbound: numbered here; outbound: from AUTH_OK (0: an older server) */
	int64_t now_ms, started_ms; /* clock ms: now, and when the session began */
	char tls[16], cipher[64];
	int64_t now;
	/* results */
	int pins_changed, moved_strict;
	char secsec[16];
	char what[700];
};

/* The inbound key about to be replaced stays acceptable for
 * PAIR_GEN_WINDOW: the partner stores the new one only when our AUTH_OK
 * reaches it, and its sessions begun before that prove the old one. Expired
 * ones go; beyond PREV_IN_MAX the oldest goes. */
static void keep_previous_in(struct server_rec *r, int64_t now)
{
	int n = 0;

	for (int i = 0; i < r->nprev_in; i++) {
		struct blob b = r->prev_in[i];
		r->prev_in[i] = (struct blob){ 0 };
		if (r->prev_in_until[i] <= now) {
			blob_free(&b);
			continue;
		}
		r->prev_in[n] = b;
		r->prev_in_until[n++] = r->prev_in_until[i];
	}
	r->nprev_in = n;
	if (!r->key_in.n)
		return;
	if (r->nprev_in == PREV_IN_MAX) { /* the oldest (first) goes */
		blob_free(&r->prev_in[0]);
		memmove(&r->prev_in[0], &r->prev_in[1], sizeof(r->prev_in[0]) * (PREV_IN_MAX - 1));
		memmove(&r->prev_in_until[0], &r->prev_in_until[1],
			sizeof(r->prev_in_until[0]) * (PREV_IN_MAX - 1));
		r->nprev_in--;
	}
	r->prev_in[r->nprev_in] = r->key_in;
	r->prev_in_until[r->nprev_in++] = now + PAIR_GEN_WINDOW;
	r->key_in = (struct blob){ 0 };
}

static int commit_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct commit_job *j = arg;
	struct pin_change pc = {
		.fp = j->fp,
		.not_after = j->not_after,
		.der = j->der.p,
		.der_len = j->der.n,
		.endorser_fp = j->endorser_fp,
		.now = j->now,
	};
	struct server_rec r;
	int rc = store_server_get(txn, st, j->server, &r);

	if (rc < 0)
		return rc == -RPL_E_NOTFOUND ? -RPL_E_UNKNOWN_SERVER : rc;
	switch (j->vb) {
	case VB_FIRST: pc.event = j->forcesync ? PIN_EV_FORCESYNC : PIN_EV_FIRST_CONTACT; break;
	case VB_PIN: pc.event = PIN_EV_PIN_USED; break;
	case VB_CONTINUITY: pc.event = PIN_EV_CONTINUITY; break;
	default: pc.event = -1; break; /* CA: the chain is checked in every session */
	}
	if (pc.event >= 0) {
		rc = pins_apply(&r, &pc, j->what, sizeof(j->what));
		if (rc == 1) {
			j->pins_changed = 1;
			rc = store_actlog_add(txn, st, RPL_I_PINNED, "%s", j->what);
		}
	}
	/* Concurrent sessions that prove both passwords each make a pairing
	 * key, and the two sides may store them in different orders; then our
	 * next proofs by pairing key would fail (and count toward a lockout).
	 * So the server numbers the keys in the order it stores them, and a
	 * client whose key was stored while this session was under way (the
	 * two ran at once) keeps the higher number: both end on the server's
	 * last. A key stored before this session began is older than it,
	 * whatever its number (the server's record may have been made anew:
	 * disaster recovery). */
	if (rc == 0 && j->set_pairing && j->role == ROLE_INBOUND) {
		uint64_t now_ms = (uint64_t)j->now_ms;
		r.key_in_gen = r.key_in_gen + 1 > now_ms ? r.key_in_gen + 1 : now_ms;
		j->gen = r.key_in_gen;
		keep_previous_in(&r, j->now);
	}
	if (rc == 0 && j->set_pairing && j->role == ROLE_OUTBOUND && r.key_out.n && j->gen &&
	    r.key_out_at >= j->started_ms && j->gen <= r.key_out_gen)
		j->set_pairing = 0; /* a session beside this one stored a later key */
	if (rc == 0 && j->set_pairing) {
		struct blob *slot = j->role == ROLE_OUTBOUND ? &r.key_out : &r.key_in;
		blob_free(slot);
		*slot = j->sealed_pairing;
		j->sealed_pairing = (struct blob){ 0 };
		if (j->role == ROLE_OUTBOUND) {
			r.key_out_gen = j->gen;
			r.key_out_at = j->now_ms;
		}
	}
	/* A CA-verified partner has no pins to replace: its FORCESYNC is the
	 * password proofs again, and fresh pairing keys. */
	if (rc == 0 && j->vb == VB_CA && r.forcesync && j->set_pairing) {
		r.forcesync = 0;
		rc = store_actlog_add(
			txn, st, RPL_I_PINNED,
			"FORCESYNC with server %s completed: both password proofs again (it is verified by CA: no pins to replace)",
			r.name);
	}
	if (rc == 0 && r.secsec == SECSEC_TRANSITIONAL) {
		r.secsec = SECSEC_STRICT;
		j->moved_strict = 1;
		rc = store_actlog_add(
			txn, st, RPL_I_STRICT,
			"server %s moved to STRICT: protocol 2, %s, certificate verified by %s",
			r.name, j->tls, verified_by_name(j->vb));
	}
	if (rc == 0) {
		/* A pinned session that changes nothing but a last contact in the
		 * same second (QUERY SERVER shows seconds) writes nothing: its
		 * transaction then commits without a page written or a sync. */
		int same = !j->pins_changed && !j->set_pairing && !j->moved_strict &&
			   r.last_protocol == 2 && r.last_contact == j->now &&
			   !strcmp(r.last_tls, j->tls) && !strcmp(r.last_cipher, j->cipher) &&
			   !strcmp(r.last_verified_by, verified_by_name(j->vb));
		snprintf(r.last_tls, sizeof(r.last_tls), "%s", j->tls);
		snprintf(r.last_cipher, sizeof(r.last_cipher), "%s", j->cipher);
		snprintf(r.last_verified_by, sizeof(r.last_verified_by), "%s",
			 verified_by_name(j->vb));
		r.last_protocol = 2;
		r.last_contact = j->now;
		snprintf(j->secsec, sizeof(j->secsec), "%s", secsec_name(r.secsec));
		if (!same)
			rc = store_server_put(txn, st, &r);
	}
	server_rec_free(&r);
	return rc;
}

static void finish_ready(struct peer_session *s)
{
	struct auth *a = s->auth;

	snprintf(s->result.tls_version, sizeof(s->result.tls_version), "%s",
		 tls_version_name(s->ssl));
	snprintf(s->result.cipher, sizeof(s->result.cipher), "%s", tls_cipher_name(s->ssl));
	snprintf(s->result.verified_by, sizeof(s->result.verified_by), "%s",
		 verified_by_name(a->v.vb));
	s->result.proto = 2;
	s->verified_by = a->v.vb;
	log_info(RPL_I_SESSION, "session %llu %s server %s (%s): %s %s, certificate by %s, %s, %s",
		 (unsigned long long)s->id, s->role == ROLE_INBOUND ? "from" : "to", s->server,
		 s->addr, s->result.tls_version, s->result.cipher, s->result.verified_by,
		 a->srp_done ? "both password proofs (SRP)" : "pairing key",
		 purpose_name(s->purpose));
	/* The proof material is no longer needed. */
	for (int i = 0; i < 2; i++) {
		srp_free(a->srp[i]);
		a->srp[i] = NULL;
	}
	proof_key_wipe(&a->key_mem);
	a->key = NULL;
	a->state = A_DONE;
	if (s->role == ROLE_INBOUND)
		admit_success(&s->p->adm, s->addr, s->server);
	conn_authenticated(s);
}

static int send_auth_ok(struct peer_session *s);

/* The commit is done: the server answers (AUTH_OK carries its SRP proofs
 * when there were any), and either side becomes ready. */
static void commit_done(int rc, void *arg)
{
	struct commit_job *j = arg;
	struct peer_session *s = j->s;

	if (!session_closing(s)) {
		if (rc == -RPL_E_STALE) {
			log_error(RPL_E_STALE,
				  "server %s: its pins changed while this session was set up; "
				  "the session is dropped and the next one decides again",
				  s->server);
			s->quiet = 1;
			session_close(s, rc,
				      "the partner's pins changed while the session was set up");
		} else if (rc < 0) {
			session_close(s, rc, "committing the session");
		} else {
			snprintf(s->result.secsec, sizeof(s->result.secsec), "%s", j->secsec);
			if (j->pins_changed)
				log_info(RPL_I_PINNED, "%s", j->what);
			if (j->moved_strict)
				log_info(RPL_I_STRICT, "server %s moved to STRICT session security",
					 s->server);
			if (j->pins_changed && s->p->hooks.pins_changed)
				s->p->hooks.pins_changed(s->p->hooks.ctx, s->server);
			if (s->role == ROLE_INBOUND) {
				s->auth->pair_gen = j->gen;
				rc = send_auth_ok(s);
			}
			if (rc < 0)
				session_close(s, rc, "sending AUTH_OK");
			else
				finish_ready(s);
		}
	}
	blob_free(&j->der);
	blob_free(&j->sealed_pairing);
	free(j);
	conn_job_end(s);
}

/* Commits the session through the database writer; commit_done goes on. */
static int start_commit(struct peer_session *s, int next_state)
{
	struct auth *a = s->auth;
	struct commit_job *j = calloc(1, sizeof(*j));
	int rc = 0;

	if (!j)
		return -RPL_E_NOMEM;
	j->s = s;
	snprintf(j->server, sizeof(j->server), "%s", s->server);
	j->role = s->role;
	j->vb = a->v.vb;
	j->forcesync = a->v.forcesync;
	memcpy(j->fp, s->peer_ci.fp, FP_LEN);
	j->not_after = s->peer_ci.not_after;
	memcpy(j->endorser_fp, a->endorser_fp, FP_LEN);
	snprintf(j->tls, sizeof(j->tls), "%s", tls_version_name(s->ssl));
	snprintf(j->cipher, sizeof(j->cipher), "%s", tls_cipher_name(s->ssl));
	j->now = clock_now();
	j->now_ms = clock_now_ms();
	j->started_ms = j->now_ms - (int64_t)(clock_mono_ms() - s->started_ms);
	rc = blob_set(&j->der, s->peer_der.p, s->peer_der.n);
	/* A pairing key is stored only after a password proof in this
	 * session: no session replaces it without a fresh proof. */
	if (rc == 0 && a->srp_done) {
		j->set_pairing = 1;
		j->gen = s->role == ROLE_OUTBOUND ? a->pair_gen : 0;
		rc = instance_seal(s->p->in,
				   s->role == ROLE_OUTBOUND ? SEAL_PAIRING_OUT : SEAL_PAIRING_IN,
				   s->server, a->key->k, PROOF_KEY_LEN, &j->sealed_pairing);
	}
	if (rc == 0) {
		conn_job_start(s);
		a->state = next_state;
		rc = dbw_submit(s->p->dbw, commit_work, commit_done, j);
		if (rc < 0)
			conn_job_end(s);
	}
	if (rc < 0) {
		blob_free(&j->der);
		blob_free(&j->sealed_pairing);
		free(j);
	}
	return rc;
}

/* ---- SRP on the thread pool --------------------------------------------- */

void auth_job_free(struct srp_job *j)
{
	for (int i = 0; i < 2; i++) {
		struct proof *p = &j->p[i];
		wbuf_free(&p->password);
		blob_free(&p->salt);
		blob_free(&p->verifier);
		blob_free(&p->B);
		blob_free(&p->A);
		blob_free(&p->M1);
		blob_free(&p->M2);
		srp_free(p->srp);
	}
	secure_zero(j, sizeof(*j));
	free(j);
}

struct srp_job *auth_job_new(int kind)
{
	struct srp_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->kind = kind;
	j->nslots = 2;
	wbuf_init(&j->p[0].password);
	wbuf_init(&j->p[1].password);
	return j;
}

static int terminate(struct wbuf *w)
{
	wbuf_put_u8(w, 0);
	return wbuf_status(w);
}

static int proof_work(int kind, struct proof *p)
{
	int rc = 0;

	switch (kind) {
	case JOB_SERVER_START:
		/* The client's password is held in clear (sealed): its
		 * verifier is made here. */
		if (!p->verifier.n) {
			uint8_t salt[SRP_SALT_LEN];
			rc = terminate(&p->password);
			if (rc == 0)
				rc = srp_make_verifier((const char *)p->password.p, salt,
						       &p->verifier);
			if (rc == 0)
				rc = blob_set(&p->salt, salt, sizeof(salt));
			if (rc < 0)
				return rc;
		}
		return srp_server_start(&p->srp, p->salt.p, p->salt.n, p->verifier.p, p->verifier.n,
					&p->B);
	case JOB_SERVER_FINISH:
		return srp_server_finish(p->srp, p->A.p, p->A.n, p->M1.p, p->M1.n, &p->M2, p->K,
					 &p->K_len);
	default:
		rc = terminate(&p->password);
		if (rc == 0)
			rc = srp_client_start(&p->srp, (const char *)p->password.p, p->salt.p,
					      p->salt.n, p->B.p, p->B.n, &p->A, &p->M1, p->K,
					      &p->K_len);
		return rc;
	}
}

static void job_work(uv_work_t *req)
{
	struct srp_job *j = req->data;
	j->rc = 0;
	for (int i = 0; i < j->nslots && j->rc == 0; i++)
		j->rc = proof_work(j->kind, &j->p[i]);
}

/* The pairing key from both SRP session keys. */
int auth_job_key(struct peer_session *s, struct srp_job *j)
{
	uint8_t K[2 * SRP_KEY_MAX];
	struct auth_key k;
	size_t n = 0;
	int out = s->role == ROLE_OUTBOUND, rc;

	for (int i = 0; i < j->nslots; i++) {
		memcpy(K + n, j->p[i].K, j->p[i].K_len);
		n += j->p[i].K_len;
	}
	rc = proof_pairing_from_srp(K, n, out ? s->own_fp : s->peer_ci.fp,
				    out ? s->peer_ci.fp : s->own_fp, &k);
	secure_zero(K, sizeof(K));
	if (rc == 0)
		auth_set_key(s->auth, &k);
	proof_key_wipe(&k);
	return rc;
}

static void job_after(uv_work_t *req, int status)
{
	struct srp_job *j = req->data;
	struct peer_session *s = j->s;

	if (!session_closing(s)) {
		if (status < 0)
			session_close(s, -RPL_E_INTERNAL, "password proof job cancelled");
		else
			j->done(s, j);
	}
	auth_job_free(j);
	conn_job_end(s);
}

int auth_msg_read(const struct cursor *p, struct auth_msg *m)
{
	struct cursor cur = *p, val;
	uint16_t tag;
	int rc;

	memset(m, 0, sizeof(*m));
	m->vb = VB_NONE;
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == F_SRP_A)
			rc = tlv_get_blob(&val, &m->A);
		else if (tag == F_SRP_M1)
			rc = tlv_get_blob(&val, &m->M1);
		else if (tag == F_SRP_A2)
			rc = tlv_get_blob(&val, &m->A2);
		else if (tag == F_SRP_M1_2)
			rc = tlv_get_blob(&val, &m->M1b);
		else if (tag == F_TAG)
			rc = tlv_get_blob(&val, &m->tag);
		else if (tag == F_VERIFIED_BY)
			rc = tlv_get_u64(&val, &m->vb);
		if (rc < 0)
			break;
	}
	return rc < 0 || m->tag.n != PROOF_TAG_LEN ? -RPL_E_PROTOCOL : 0;
}

void auth_msg_free(struct auth_msg *m)
{
	blob_free(&m->A);
	blob_free(&m->M1);
	blob_free(&m->A2);
	blob_free(&m->M1b);
	blob_free(&m->tag);
}

int auth_queue_one_proof(struct peer_session *s, struct auth_msg *m, int next_state,
			 void (*done)(struct peer_session *s, struct srp_job *j))
{
	struct srp_job *j = auth_job_new(JOB_SERVER_FINISH);

	if (!j)
		return -RPL_E_NOMEM;
	j->nslots = 1;
	j->p[0].A = m->A;
	j->p[0].M1 = m->M1;
	m->A = m->M1 = (struct blob){ 0 };
	j->p[0].srp = s->auth->srp[0]; /* the job owns it now */
	s->auth->srp[0] = NULL;
	return auth_job_queue(s, j, next_state, done);
}

int auth_job_queue(struct peer_session *s, struct srp_job *j, int next_state,
		   void (*done)(struct peer_session *s, struct srp_job *j))
{
	j->s = s;
	j->done = done;
	j->req.data = j;
	conn_job_start(s);
	s->auth->state = next_state;
	if (uv_queue_work(s->p->loop, &j->req, job_work, job_after) < 0) {
		conn_job_end(s);
		auth_job_free(j);
		return -RPL_E_INTERNAL;
	}
	return 0;
}

static void server_srp_started(struct peer_session *s, struct srp_job *j);
static void server_srp_finished(struct peer_session *s, struct srp_job *j);
static void client_srp_done(struct peer_session *s, struct srp_job *j);

/* ---- secrets ------------------------------------------------------------- */

static int load_server(struct peer_session *s, MDB_txn **txn, struct server_rec *r)
{
	int rc = store_begin(&s->p->in->store, 0, txn);
	if (rc < 0)
		return rc;
	rc = store_server_get(*txn, &s->p->in->store, s->server, r);
	if (rc < 0) {
		store_abort(*txn);
		*txn = NULL;
		return rc == -RPL_E_NOTFOUND ? -RPL_E_UNKNOWN_SERVER : rc;
	}
	return 0;
}

int auth_own_password(struct peer_session *s, struct wbuf *out)
{
	struct blob sealed = { 0 };
	const uint8_t *v;
	size_t vlen;
	MDB_txn *txn;
	int rc = store_begin(&s->p->in->store, 0, &txn);

	if (rc == 0) {
		rc = store_meta_get(txn, &s->p->in->store, "own_password", &v, &vlen);
		if (rc == 0)
			rc = blob_set(&sealed, v, vlen);
		store_abort(txn);
	}
	if (rc == 0)
		rc = instance_unseal(s->p->in, SEAL_OWN_PASSWORD, NULL, &sealed, out);
	blob_free(&sealed);
	return rc;
}

int auth_own_verifier(struct peer_session *s, struct blob *salt, struct blob *verifier)
{
	struct blob sealed = { 0 };
	struct wbuf plain;
	const uint8_t *v;
	size_t vlen;
	MDB_txn *txn;
	int rc = store_begin(&s->p->in->store, 0, &txn);

	if (rc == 0) {
		rc = store_meta_get(txn, &s->p->in->store, "srp", &v, &vlen);
		if (rc == 0 && vlen > SRP_SALT_LEN) {
			rc = blob_set(salt, v, SRP_SALT_LEN);
			if (rc == 0)
				rc = blob_set(&sealed, v + SRP_SALT_LEN, vlen - SRP_SALT_LEN);
		} else if (rc == 0) {
			rc = -RPL_E_CORRUPT;
		}
		store_abort(txn);
	}
	wbuf_init(&plain);
	if (rc == 0)
		rc = instance_unseal(s->p->in, SEAL_SRP_VERIFIER, NULL, &sealed, &plain);
	if (rc == 0)
		rc = blob_set(verifier, plain.p, plain.len);
	wbuf_free(&plain);
	blob_free(&sealed);
	return rc;
}

/* A stored pairing key, unsealed, as a key tags can be made with. */
static int unseal_pairing(struct peer_session *s, enum seal_kind kind, const char *name,
			  const struct blob *sealed, struct auth_key *out)
{
	struct wbuf w;
	int rc;

	wbuf_init(&w);
	rc = instance_unseal(s->p->in, kind, name, sealed, &w);
	if (rc == 0)
		rc = proof_key_from(w.p, w.len, out);
	wbuf_free(&w);
	return rc;
}

/* Server: the inbound keys replaced lately, still acceptable. */
static int load_previous_in(struct peer_session *s, const struct server_rec *r)
{
	struct auth *a = s->auth;
	int64_t now = clock_now();
	int rc = 0;

	for (int i = 0; i < r->nprev_in && rc == 0 && a->nprev < PREV_IN_MAX; i++) {
		if (r->prev_in_until[i] <= now)
			continue;
		rc = unseal_pairing(s, SEAL_PAIRING_IN, r->name, &r->prev_in[i],
				    &a->prev[a->nprev]);
		if (rc == 0)
			a->nprev++;
	}
	return rc;
}

/* Server: the client's tag did not verify with the current inbound key;
 * it may have proved one replaced moments ago. The key that verifies
 * becomes this session's (our tag uses it too). */
static int check_previous_in(struct peer_session *s, const uint8_t *tag)
{
	struct auth *a = s->auth;

	for (int i = 0; i < a->nprev; i++) {
		auth_set_key(a, &a->prev[i]);
		if (auth_check_tag(s, 1, tag) == 0) {
			log_info(
				RPL_I_SESSION,
				"session %llu from server %s: it proved the pairing key it held before the last password proofs (it stores the new one when their AUTH_OK reaches it)",
				(unsigned long long)s->id, s->server);
			return 0;
		}
	}
	return -RPL_E_AUTH_FAILED;
}

/* The stored pairing key of this direction as the session's key. */
static int load_pairing(struct peer_session *s, const struct server_rec *r)
{
	int out = s->role == ROLE_OUTBOUND;
	struct auth_key k;
	int rc = unseal_pairing(s, out ? SEAL_PAIRING_OUT : SEAL_PAIRING_IN, r->name,
				out ? &r->key_out : &r->key_in, &k);

	if (rc == 0)
		auth_set_key(s->auth, &k);
	proof_key_wipe(&k);
	return rc;
}

/* ---- client side ----------------------------------------------------------- */

static int refuse_server(struct peer_session *s)
{
	session_send_error(s, RPL_E_PARTNER_REFUSED, "the client refused the server certificate");
	session_close(s, -s->auth->v.code, "%s", s->auth->v.why);
	return 0;
}

void auth_client_start(struct peer_session *s)
{
	struct server_rec r;
	struct wbuf w;
	MDB_txn *txn;
	int rc;

	s->auth = calloc(1, sizeof(*s->auth));
	if (!s->auth) {
		session_close(s, -RPL_E_NOMEM, NULL);
		return;
	}
	s->auth->state = A_C_SENT_HELLO;
	if ((rc = load_peer_cert(s)) < 0) {
		session_close(s, rc, "server %s: its certificate", s->server);
		return;
	}
	if ((rc = load_server(s, &txn, &r)) < 0) {
		session_close(s, rc, "%s", s->server);
		return;
	}
	auth_decide(s, txn, &r, &s->auth->v);
	store_abort(txn);
	if (s->auth->v.vb == VB_NONE && !s->auth->v.want_continuity) {
		server_rec_free(&r);
		refuse_server(s);
		return;
	}
	/* A cross-definition hands this server's password to the partner. Its
	 * password proves nothing of who it is (every partner of it knows that
	 * password), so the password goes only to a certificate verified
	 * without it: pinned (cert import-peer, an earlier session) or by a
	 * CA. A continuity offer is decided later and is not taken here:
	 * another certificate than the pinned one is refused as such. */
	if (s->purpose == PURPOSE_CROSSDEF && s->auth->v.vb == VB_NONE) {
		server_rec_free(&r);
		refuse_server(s);
		return;
	}
	if (s->purpose == PURPOSE_CROSSDEF && s->auth->v.vb != VB_PIN && s->auth->v.vb != VB_CA) {
		server_rec_free(&r);
		session_send_error(s, RPL_E_PARTNER_REFUSED,
				   "the client refused the server certificate");
		session_close(s, -RPL_E_CROSSDEF_UNVERIFIED,
			      "server %s: its certificate is not pinned here (nor verified by a "
			      "CA), and a cross-definition sends this server's password only "
			      "to a verified certificate",
			      s->server);
		return;
	}
	/* Continuity is decided on HELLO_REPLY, before any proof is sent. */
	/* A FORCESYNC mark always means both password proofs again. */
	s->auth->method = (s->auth->v.vb == VB_FIRST || r.forcesync || !r.key_out.n ||
			   s->purpose == PURPOSE_CROSSDEF)
				  ? METHOD_SRP
				  : METHOD_KEY;
	wbuf_init(&w);
	tlv_put_u64(&w, F_VERSION, PROTO2_REVISION);
	tlv_put_str(&w, F_FROM, s->p->in->conf.servername);
	tlv_put_str(&w, F_TO, r.name);
	tlv_put_u64(&w, F_PROTO, 2);
	tlv_put_u64(&w, F_PURPOSE, (uint64_t)s->purpose);
	tlv_put_u64(&w, F_METHOD, (uint64_t)s->auth->method);
	tlv_put_u64(&w, F_FLAGS, r.forcesync ? FLAG_FORCESYNC : 0);
	rc = continuity_offer(s, &w);
	if (rc == 0)
		rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send_frame(s, MSG_HELLO, &w);
	wbuf_free(&w);
	server_rec_free(&r);
	if (rc < 0)
		session_close(s, rc, "sending HELLO");
}

/* A peer of another revision gets a message naming both. */
int auth_check_version(struct peer_session *s, uint64_t version, int have)
{
	char why[300];

	if (have && version == PROTO2_REVISION)
		return 0;
	if (have)
		snprintf(why, sizeof(why),
			 "%s speaks replpeer protocol 2 revision %llu, %s speaks revision %d",
			 s->role == ROLE_OUTBOUND ? s->server : "the client",
			 (unsigned long long)version, s->p->in->conf.servername, PROTO2_REVISION);
	else
		snprintf(
			why, sizeof(why),
			"%s speaks replpeer protocol 2 revision 1 (replpeer 0.1), "
			"%s speaks revision %d, which revision 1 cannot authenticate safely: upgrade it",
			s->role == ROLE_OUTBOUND ? s->server : "the client",
			s->p->in->conf.servername, PROTO2_REVISION);
	session_send_error(s, RPL_E_VERSION, why);
	session_close(s, -RPL_E_VERSION, "%s", why);
	return 1;
}

static int client_on_reply(struct peer_session *s, struct cursor *p)
{
	struct auth *a = s->auth;
	char name[RPL_NAME_MAX + 1] = "";
	struct srp_job *j;
	struct server_rec r;
	struct cursor cur = *p, val;
	MDB_txn *txn;
	uint64_t method = 0, version = 0;
	uint16_t tag;
	int rc, have_version = 0;

	j = auth_job_new(JOB_CLIENT);
	if (!j)
		return -RPL_E_NOMEM;
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == F_FROM)
			rc = tlv_get_str(&val, name, sizeof(name));
		else if (tag == F_METHOD)
			rc = tlv_get_u64(&val, &method);
		else if (tag == F_VERSION) {
			rc = tlv_get_u64(&val, &version);
			have_version = 1;
		} else if (tag == F_SALT)
			rc = tlv_get_blob(&val, &j->p[0].salt);
		else if (tag == F_SRP_B)
			rc = tlv_get_blob(&val, &j->p[0].B);
		else if (tag == F_SALT2)
			rc = tlv_get_blob(&val, &j->p[1].salt);
		else if (tag == F_SRP_B2)
			rc = tlv_get_blob(&val, &j->p[1].B);
		if (rc < 0)
			break;
	}
	if (rc < 0 || (method != METHOD_KEY && method != METHOD_SRP)) {
		auth_job_free(j);
		return -RPL_E_PROTOCOL;
	}
	if (auth_check_version(s, version, have_version)) {
		auth_job_free(j);
		return 0;
	}
	if (strcasecmp(name, s->server) != 0) {
		auth_job_free(j);
		session_close(s, -RPL_E_NAME_MISMATCH, "expected %s, the partner says it is %s",
			      s->server, ESC(name));
		return 0;
	}
	if ((rc = load_server(s, &txn, &r)) < 0) {
		auth_job_free(j);
		return rc;
	}
	store_abort(txn);
	if (a->v.vb == VB_NONE) {
		/* Only a pinned key's endorsement can still save it. */
		int pin = continuity_check(s, &r, p);
		if (pin < 0) {
			auth_job_free(j);
			server_rec_free(&r);
			return refuse_server(s);
		}
		a->v.vb = VB_CONTINUITY;
		memcpy(a->endorser_fp, r.pins[pin].fp, FP_LEN);
	}
	/* The server may demand SRP; it may not skip it when we asked. */
	if (a->method == METHOD_SRP && method != METHOD_SRP) {
		auth_job_free(j);
		server_rec_free(&r);
		return -RPL_E_PROTOCOL;
	}
	a->method = (int)method;
	if (method == METHOD_KEY) {
		struct wbuf w;
		uint8_t t[PROOF_TAG_LEN];
		auth_job_free(j);
		rc = load_pairing(s, &r);
		server_rec_free(&r);
		if (rc == 0)
			rc = auth_make_tag(s, 1, t);
		if (rc < 0)
			return rc;
		wbuf_init(&w);
		tlv_put(&w, F_TAG, t, PROOF_TAG_LEN);
		tlv_put_u64(&w, F_VERIFIED_BY, (uint64_t)a->v.vb);
		rc = wbuf_status(&w);
		if (rc == 0)
			rc = conn_send_frame(s, MSG_AUTH, &w);
		wbuf_free(&w);
		a->state = A_C_WAIT_OK;
		return rc;
	}
	/* SRP: both proofs, always; a cross-definition's server does not
	 * know us yet, so there only its own password (slot 1) is proved,
	 * and this session stores nothing (crossdef_client_request). */
	if (s->purpose == PURPOSE_CROSSDEF)
		j->nslots = 1;
	if (!j->p[0].salt.n || !j->p[0].B.n ||
	    (j->nslots == 2 && (!j->p[1].salt.n || !j->p[1].B.n))) {
		auth_job_free(j);
		server_rec_free(&r);
		return -RPL_E_PROTOCOL;
	}
	rc = instance_unseal(s->p->in, SEAL_SERVER_PASSWORD, r.name, &r.password,
			     &j->p[0].password);
	server_rec_free(&r);
	if (rc == 0 && j->nslots == 2)
		rc = auth_own_password(s, &j->p[1].password);
	if (rc < 0) {
		auth_job_free(j);
		return rc;
	}
	return auth_job_queue(s, j, A_C_PROVING, client_srp_done);
}

static void client_srp_done(struct peer_session *s, struct srp_job *j)
{
	struct auth *a = s->auth;
	uint8_t t[PROOF_TAG_LEN];
	struct wbuf w;
	int rc = j->rc;

	if (rc < 0) {
		session_close(s, rc, "password proof");
		return;
	}
	for (int i = 0; i < 2; i++) {
		a->srp[i] = j->p[i].srp;
		j->p[i].srp = NULL;
	}
	rc = auth_job_key(s, j);
	if (rc == 0)
		rc = auth_make_tag(s, 1, t);
	if (rc < 0) {
		session_close(s, rc, "password proof");
		return;
	}
	wbuf_init(&w);
	tlv_put(&w, F_SRP_A, j->p[0].A.p, j->p[0].A.n);
	tlv_put(&w, F_SRP_M1, j->p[0].M1.p, j->p[0].M1.n);
	if (j->nslots == 2) {
		tlv_put(&w, F_SRP_A2, j->p[1].A.p, j->p[1].A.n);
		tlv_put(&w, F_SRP_M1_2, j->p[1].M1.p, j->p[1].M1.n);
	}
	tlv_put(&w, F_TAG, t, PROOF_TAG_LEN);
	tlv_put_u64(&w, F_VERIFIED_BY, (uint64_t)a->v.vb);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send_frame(s, MSG_AUTH, &w);
	wbuf_free(&w);
	a->state = A_C_WAIT_OK;
	if (rc < 0)
		session_close(s, rc, "sending the proof");
}

static int client_on_ok(struct peer_session *s, struct cursor *p)
{
	struct auth *a = s->auth;
	struct blob M2 = { 0 }, M2b = { 0 }, tagv = { 0 };
	struct cursor cur = *p, val;
	uint64_t vb = VB_NONE;
	uint16_t tag;
	int rc;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == F_SRP_M2)
			rc = tlv_get_blob(&val, &M2);
		else if (tag == F_SRP_M2_2)
			rc = tlv_get_blob(&val, &M2b);
		else if (tag == F_TAG)
			rc = tlv_get_blob(&val, &tagv);
		else if (tag == F_VERIFIED_BY)
			rc = tlv_get_u64(&val, &vb);
		else if (tag == F_PAIR_GEN)
			rc = tlv_get_u64(&val, &a->pair_gen);
		if (rc < 0)
			break;
	}
	if (rc < 0 || tagv.n != PROOF_TAG_LEN || vb < VB_PIN || vb > VB_CONTINUITY) {
		rc = -RPL_E_PROTOCOL;
		goto out;
	}
	if (a->method == METHOD_SRP && s->purpose == PURPOSE_CROSSDEF) {
		/* The server holds the verifier of its own password: that is
		 * all a cross-definition's first session can show. */
		if (srp_client_finish(a->srp[0], M2.p, M2.n) < 0) {
			conn_record_failure(s, "the server's password proof is wrong");
			rc = -RPL_E_AUTH_FAILED;
			goto out;
		}
		a->srp_done = 1;
	} else if (a->method == METHOD_SRP) {
		/* Both: the server holds the verifier of its own password and
		 * knows ours. */
		if (srp_client_finish(a->srp[0], M2.p, M2.n) < 0 ||
		    srp_client_finish(a->srp[1], M2b.p, M2b.n) < 0) {
			conn_record_failure(
				s,
				"the server's password proofs are wrong (it does not know both passwords)");
			rc = -RPL_E_AUTH_FAILED;
			goto out;
		}
		a->srp_done = 1;
	}
	rc = auth_check_tag(s, 0, tagv.p);
	if (rc == -RPL_E_AUTH_FAILED)
		conn_record_failure(
			s,
			"the server's session binding is wrong (a man in the middle, or a changed pairing)");
	if (rc == 0 && s->purpose == PURPOSE_CROSSDEF) {
		/* Nothing is pinned or stored: the server's session back to
		 * us proves both passwords and pins in both directions. */
		rc = a->srp_done ? crossdef_client_request(s) : -RPL_E_PROTOCOL;
	} else if (rc == 0) {
		s->partner_vb = (int)vb;
		rc = start_commit(s, A_C_COMMIT);
	}
out:
	blob_free(&M2);
	blob_free(&M2b);
	blob_free(&tagv);
	return rc;
}

/* ---- server side ----------------------------------------------------------- */

void auth_server_start(struct peer_session *s)
{
	int rc;

	s->auth = calloc(1, sizeof(*s->auth));
	if (!s->auth) {
		session_close(s, -RPL_E_NOMEM, NULL);
		return;
	}
	s->auth->state = A_S_WAIT_HELLO;
	rc = load_peer_cert(s);
	if (rc == -RPL_E_NOCERT) {
		/* Only an administrator signs on without a certificate: the
		 * hello says whether that is what this is. */
		s->no_cert = 1;
		rc = tls_exporter(s->ssl, EXPORTER_LABEL, s->exporter);
	}
	if (rc < 0)
		session_close(s, rc, "client certificate");
}

void auth_send_srp_reply(struct peer_session *s, struct srp_job *j, int next_state)
{
	struct wbuf w;
	int rc = j->rc;

	if (rc < 0) {
		session_close(s, rc, "password proof set-up");
		return;
	}
	for (int i = 0; i < j->nslots; i++) {
		s->auth->srp[i] = j->p[i].srp;
		j->p[i].srp = NULL;
	}
	wbuf_init(&w);
	tlv_put_u64(&w, F_VERSION, PROTO2_REVISION);
	tlv_put_str(&w, F_FROM, s->p->in->conf.servername);
	tlv_put_u64(&w, F_METHOD, METHOD_SRP);
	tlv_put(&w, F_SALT, j->p[0].salt.p, j->p[0].salt.n);
	tlv_put(&w, F_SRP_B, j->p[0].B.p, j->p[0].B.n);
	if (j->nslots == 2) {
		tlv_put(&w, F_SALT2, j->p[1].salt.p, j->p[1].salt.n);
		tlv_put(&w, F_SRP_B2, j->p[1].B.p, j->p[1].B.n);
	}
	rc = continuity_offer(s, &w);
	if (rc == 0)
		rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send_frame(s, MSG_HELLO_REPLY, &w);
	wbuf_free(&w);
	s->auth->state = next_state;
	if (rc < 0)
		session_close(s, rc, "sending HELLO_REPLY");
}

static void server_srp_started(struct peer_session *s, struct srp_job *j)
{
	auth_send_srp_reply(s, j, A_S_WAIT_AUTH);
}

static int server_on_hello(struct peer_session *s, struct cursor *p)
{
	struct peer *pe = s->p;
	struct auth *a = s->auth;
	char from[RPL_NAME_MAX + 1] = "", to[RPL_NAME_MAX + 1] = "", admin[RPL_NAME_MAX + 1] = "";
	struct cursor cur = *p, val;
	struct server_rec r;
	uint64_t method = 0, flags = 0, proto = 0, version = 0, purpose = 0;
	uint16_t tag;
	MDB_txn *txn;
	int rc, have_version = 0;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == F_FROM)
			rc = tlv_get_str(&val, from, sizeof(from));
		else if (tag == F_TO)
			rc = tlv_get_str(&val, to, sizeof(to));
		else if (tag == F_METHOD)
			rc = tlv_get_u64(&val, &method);
		else if (tag == F_FLAGS)
			rc = tlv_get_u64(&val, &flags);
		else if (tag == F_PROTO)
			rc = tlv_get_u64(&val, &proto);
		else if (tag == F_PURPOSE)
			rc = tlv_get_u64(&val, &purpose);
		else if (tag == F_VERSION) {
			rc = tlv_get_u64(&val, &version);
			have_version = 1;
		} else if (tag == F_ADMIN)
			rc = tlv_get_str(&val, admin, sizeof(admin));
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	(void)flags;
	if (auth_check_version(s, version, have_version))
		return 0;
	if (purpose == PURPOSE_ADMIN)
		return admin_on_hello(s, admin, method);
	if (s->no_cert) {
		session_send_error(s, RPL_E_NOCERT, NULL);
		session_close(s, -RPL_E_NOCERT, "from %s", s->addr);
		return 0;
	}
	if (purpose == PURPOSE_CROSSDEF)
		return crossdef_on_hello(s, from, to, proto, method);
	if (!conf_valid_name(from) || proto != 2 || (method != METHOD_KEY && method != METHOD_SRP))
		return -RPL_E_PROTOCOL;
	if ((rc = conn_admit(s, from, to, (int)purpose, &r)) != 0)
		return rc < 0 ? rc : 0;
	s->purpose = (int)purpose;
	if ((rc = store_begin(&pe->in->store, 0, &txn)) < 0) {
		server_rec_free(&r);
		return rc;
	}
	auth_decide(s, txn, &r, &a->v);
	store_abort(txn);
	if (a->v.vb == VB_NONE && a->v.want_continuity) {
		int pin = continuity_check(s, &r, p);
		if (pin >= 0) {
			memcpy(a->endorser_fp, r.pins[pin].fp, FP_LEN);
			a->v.vb = VB_CONTINUITY;
		}
	}
	if (a->v.vb == VB_NONE) {
		server_rec_free(&r);
		conn_refuse(s, a->v.code, a->v.why);
		return 0;
	}
	a->method = (method == METHOD_SRP || a->v.vb == VB_FIRST || r.forcesync || !r.key_in.n)
			    ? METHOD_SRP
			    : METHOD_KEY;
	if (a->method == METHOD_KEY) {
		struct wbuf w;
		rc = load_pairing(s, &r);
		if (rc == 0)
			rc = load_previous_in(s, &r);
		server_rec_free(&r);
		if (rc < 0)
			return rc;
		wbuf_init(&w);
		tlv_put_u64(&w, F_VERSION, PROTO2_REVISION);
		tlv_put_str(&w, F_FROM, pe->in->conf.servername);
		tlv_put_u64(&w, F_METHOD, METHOD_KEY);
		rc = continuity_offer(s, &w);
		if (rc == 0)
			rc = wbuf_status(&w);
		if (rc == 0)
			rc = conn_send_frame(s, MSG_HELLO_REPLY, &w);
		wbuf_free(&w);
		a->state = A_S_WAIT_AUTH;
		return rc;
	}
	/* SRP work for a peer that has not authenticated: it draws on the
	 * global budget and counts against the (address, name) limit before
	 * it starts; a success clears that count. */
	if (!admit_srp_take(&pe->adm, clock_mono_ms())) {
		char why[200];
		server_rec_free(&r);
		snprintf(
			why, sizeof(why),
			"password proofs for unpaired partners arrive faster than %d a second; try again shortly",
			SRP_BUDGET_RATE);
		conn_refuse(s, RPL_E_RATELIMIT, why);
		return 0;
	}
	admit_fail(&pe->adm, s->addr, s->server, clock_now());
	s->attempt_counted = 1;
	{
		struct srp_job *j = auth_job_new(JOB_SERVER_START);
		if (!j) {
			server_rec_free(&r);
			return -RPL_E_NOMEM;
		}
		/* Slot 1: our own password (its verifier is sealed in meta);
		 * slot 2: the client's, which we hold. */
		rc = auth_own_verifier(s, &j->p[0].salt, &j->p[0].verifier);
		if (rc == 0)
			rc = instance_unseal(pe->in, SEAL_SERVER_PASSWORD, r.name, &r.password,
					     &j->p[1].password);
		server_rec_free(&r);
		if (rc < 0) {
			auth_job_free(j);
			return rc;
		}
		return auth_job_queue(s, j, A_S_STARTING, server_srp_started);
	}
}

int auth_send_ok(struct peer_session *s, int nproofs)
{
	static const uint16_t m2_tag[2] = { F_SRP_M2, F_SRP_M2_2 };
	struct auth *a = s->auth;
	uint8_t t[PROOF_TAG_LEN];
	struct wbuf w;
	int rc = auth_make_tag(s, 0, t);

	if (rc < 0)
		return rc;
	wbuf_init(&w);
	for (int i = 0; i < nproofs && i < 2; i++)
		tlv_put(&w, m2_tag[i], a->M2[i].p, a->M2[i].n);
	tlv_put(&w, F_TAG, t, PROOF_TAG_LEN);
	tlv_put_u64(&w, F_VERIFIED_BY, (uint64_t)a->v.vb);
	if (nproofs && a->pair_gen)
		tlv_put_u64(&w, F_PAIR_GEN, a->pair_gen);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send_frame(s, MSG_AUTH_OK, &w);
	wbuf_free(&w);
	secure_zero(t, sizeof(t));
	return rc;
}

static int send_auth_ok(struct peer_session *s)
{
	return auth_send_ok(s, s->auth->srp_done ? 2 : 0);
}

void auth_fail_proof(struct peer_session *s, const char *detail)
{
	conn_record_failure(s, detail);
	session_send_error(s, RPL_E_AUTH_FAILED, NULL);
	session_close(s, -RPL_E_AUTH_FAILED, "%s", detail);
}

static void server_srp_finished(struct peer_session *s, struct srp_job *j)
{
	struct auth *a = s->auth;
	int rc;

	/* Either proof wrong, or no session key: the client does not know
	 * both passwords. */
	if (j->rc == -RPL_E_AUTH_FAILED) {
		auth_fail_proof(s, "wrong password proof (the client must prove both passwords)");
		return;
	}
	if (j->rc < 0) {
		session_close(s, j->rc, "password proof");
		return;
	}
	for (int i = 0; i < 2; i++) {
		srp_free(a->srp[i]);
		a->srp[i] = NULL;
	}
	rc = auth_job_key(s, j);
	if (rc == 0)
		rc = auth_check_tag(s, 1, a->peer_tag);
	if (rc == -RPL_E_AUTH_FAILED) {
		auth_fail_proof(
			s, "the proof is not bound to this TLS session (a man in the middle?)");
		return;
	}
	if (rc < 0) {
		session_close(s, rc, "password proof");
		return;
	}
	a->srp_done = 1;
	for (int i = 0; i < 2; i++) {
		a->M2[i] = j->p[i].M2;
		j->p[i].M2 = (struct blob){ 0 };
	}
	if (conn_admit_partner(s))
		return;
	/* Commit before answering: if we die now the client has nothing, and
	 * its next attempt repeats the proof. */
	rc = start_commit(s, A_S_COMMIT);
	if (rc < 0)
		session_close(s, rc, "committing the session");
}

static int server_on_auth(struct peer_session *s, struct cursor *p)
{
	struct auth *a = s->auth;
	struct auth_msg m;
	int rc = auth_msg_read(p, &m);

	if (rc < 0 || m.vb < VB_PIN || m.vb > VB_CONTINUITY) {
		rc = -RPL_E_PROTOCOL;
		goto out;
	}
	s->partner_vb = (int)m.vb;
	if (a->method == METHOD_KEY) {
		rc = auth_check_tag(s, 1, m.tag.p);
		if (rc == -RPL_E_AUTH_FAILED && a->nprev)
			rc = check_previous_in(s, m.tag.p);
		for (int i = 0; i < a->nprev; i++)
			proof_key_wipe(&a->prev[i]);
		a->nprev = 0;
		if (rc == -RPL_E_AUTH_FAILED) {
			auth_fail_proof(s, "wrong pairing-key proof");
			rc = 0;
			goto out;
		}
		if (rc == 0 && !conn_admit_partner(s))
			rc = start_commit(s, A_S_COMMIT);
		goto out;
	}
	if (!m.A.n || !m.M1.n || !m.A2.n || !m.M1b.n) {
		auth_fail_proof(s, "the client did not prove both passwords");
		rc = 0;
		goto out;
	}
	memcpy(a->peer_tag, m.tag.p, PROOF_TAG_LEN);
	{
		struct srp_job *j = auth_job_new(JOB_SERVER_FINISH);
		if (!j) {
			rc = -RPL_E_NOMEM;
			goto out;
		}
		j->p[0].A = m.A;
		j->p[0].M1 = m.M1;
		j->p[1].A = m.A2;
		j->p[1].M1 = m.M1b;
		m.A = m.M1 = m.A2 = m.M1b = (struct blob){ 0 };
		for (int i = 0; i < 2; i++) { /* the job owns them now */
			j->p[i].srp = a->srp[i];
			a->srp[i] = NULL;
		}
		rc = auth_job_queue(s, j, A_S_FINISHING, server_srp_finished);
	}
out:
	auth_msg_free(&m);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------- */

typedef int auth_handler(struct peer_session *s, struct cursor *payload);

static const struct transition {
	int role;
	int state;
	int type;
	auth_handler *fn;
} transitions[] = {
	{ ROLE_OUTBOUND, A_C_SENT_HELLO, MSG_HELLO_REPLY, client_on_reply },
	{ ROLE_OUTBOUND, A_C_WAIT_OK, MSG_AUTH_OK, client_on_ok },
	{ ROLE_INBOUND, A_S_WAIT_HELLO, MSG_HELLO, server_on_hello },
	{ ROLE_INBOUND, A_S_WAIT_AUTH, MSG_AUTH, server_on_auth },
	{ ROLE_INBOUND, A_SA_WAIT_AUTH, MSG_AUTH, admin_on_auth },
	{ ROLE_OUTBOUND, A_C_XD_SENT, MSG_CROSSDEF_DONE, crossdef_on_done },
	{ ROLE_INBOUND, A_SX_WAIT_AUTH, MSG_AUTH, crossdef_on_auth },
	{ ROLE_INBOUND, A_SX_WAIT_REQ, MSG_CROSSDEF, crossdef_on_request },
};

int auth_on_frame(struct peer_session *s, int type, struct cursor *p)
{
	if (!s->auth)
		return -RPL_E_PROTOCOL;
	/* An error message ends the session in any state. */
	if (type == MSG_ERROR) {
		conn_on_error_frame(s, p);
		if (s->role == ROLE_OUTBOUND && s->result.partner_err == RPL_E_AUTH_FAILED)
			conn_record_failure(
				s, "the partner rejected our password proof: check SERVERPASSWORD");
		return 0;
	}
	for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++) {
		const struct transition *t = &transitions[i];
		if (t->role == s->role && t->state == s->auth->state && t->type == type)
			return t->fn(s, p);
	}
	return conn_unexpected(s, type, auth_state_name(s->auth->state));
}
