/*
 * peer/legacy: down-level protocol 1 — plaintext challenge and response,
 * no certificates — as two state machines written as a table. The
 * response key binds both servers' passwords (the target's and the
 * caller's), so that knowing one partner's password does not make you
 * another partner. Accepted only from a TRANSITIONAL server when
 * ALLOWLEGACY is YES; a STRICT server is refused with the reason and the
 * command that resets it. PROTOCOLLEVEL 1 makes an instance speak only
 * this, as a down-level peer would.
 */
#include "session_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../store/actlog.h"
#include "../store/admin.h"
#include "../store/server.h"
#include "../util/clock.h"
#include "../util/escape.h"
#include "../util/hash.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "dbw.h"
#include "keys/proof.h"
#include "proto.h"

enum legacy_state {
	L_C_SENT_HELLO, /* client: waiting for the challenge */
	L_C_WAIT_OK,    /* client: response sent */
	L_S_WAIT_HELLO, /* server: waiting for the hello */
	L_S_WAIT_RESPONSE,
	L_COMMIT,
	L_DONE,
};

static const char *legacy_state_name(int st)
{
	static const char *names[] = {
		"p1-client-wait-challenge", "p1-client-wait-ok", "p1-server-wait-hello",
		"p1-server-wait-response",  "p1-committing",     "p1-done"
	};
	return st >= 0 && st <= L_DONE ? names[st] : "unknown";
}

struct legacy {
	int state;
	uint8_t nonce_s[LEGACY_NONCE_LEN];
	uint8_t nonce_c[LEGACY_NONCE_LEN];
	/* NULL until both passwords were loaded for this session (an
	 * administrator: its slow hash, or a decoy for an unknown name). */
	struct auth_key *key;
	struct auth_key key_mem;
	int admin; /* an administrator's down-level sign-on */
	int admin_known;
};

void legacy_free(struct peer_session *s)
{
	if (!s->legacy)
		return;
	secure_zero(s->legacy, sizeof(*s->legacy));
	free(s->legacy);
	s->legacy = NULL;
}

static int tag(struct peer_session *s, int from_client, uint8_t out[PROOF_TAG_LEN])
{
	const char *self = s->p->in->conf.servername;
	int out_role = s->role == ROLE_OUTBOUND;
	return proof_legacy_tag(s->legacy->key, from_client, s->legacy->nonce_s, s->legacy->nonce_c,
				out_role ? self : s->server, out_role ? s->server : self, out);
}

/* The response key from the server's and the client's passwords: this side
 * holds its own and the partner's. */
static int load_key(struct peer_session *s, const struct server_rec *r)
{
	struct wbuf partner, own;
	struct blob sealed = { 0 };
	const uint8_t *v;
	size_t vlen;
	MDB_txn *txn;
	int rc;

	wbuf_init(&partner);
	wbuf_init(&own);
	rc = instance_unseal(s->p->in, SEAL_SERVER_PASSWORD, r->name, &r->password, &partner);
	if (rc == 0)
		rc = store_begin(&s->p->in->store, 0, &txn);
	if (rc == 0) {
		rc = store_meta_get(txn, &s->p->in->store, "own_password", &v, &vlen);
		if (rc == 0)
			rc = blob_set(&sealed, v, vlen);
		store_abort(txn);
	}
	if (rc == 0)
		rc = instance_unseal(s->p->in, SEAL_OWN_PASSWORD, NULL, &sealed, &own);
	if (rc == 0) {
		const struct wbuf *spw = s->role == ROLE_OUTBOUND ? &partner : &own;
		const struct wbuf *cpw = s->role == ROLE_OUTBOUND ? &own : &partner;
		rc = proof_legacy_key((const char *)spw->p, spw->len, (const char *)cpw->p,
				      cpw->len, &s->legacy->key_mem);
	}
	if (rc == 0)
		s->legacy->key = &s->legacy->key_mem;
	blob_free(&sealed);
	wbuf_free(&partner);
	wbuf_free(&own);
	return rc;
}

/* ---- commit -------------------------------------------------------------- */

struct legacy_commit {
	struct peer_session *s;
	char server[RPL_NAME_MAX + 1];
	int outbound;
	char addr[64];
	int64_t now;
	char secsec[16];
};

/* Records the down-level contact; the level never rises on protocol 1.
 * Both passwords were proved, so the partner may be reached over protocol
 * 1 later (ALLOWLEGACY and TRANSITIONAL permitting). */
static int commit_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct legacy_commit *j = arg;
	struct server_rec r;
	int rc = store_server_get(txn, st, j->server, &r);

	if (rc < 0)
		return rc;
	if (!j->outbound && r.secsec == SECSEC_STRICT) {
		/* Moved to STRICT by a protocol-2 session meanwhile. */
		server_rec_free(&r);
		return -RPL_E_STRICT_LEGACY;
	}
	snprintf(r.last_tls, sizeof(r.last_tls), "none");
	snprintf(r.last_cipher, sizeof(r.last_cipher), "none");
	snprintf(r.last_verified_by, sizeof(r.last_verified_by), "password");
	r.last_protocol = 1;
	r.legacy_ok = 1;
	r.last_contact = j->now;
	snprintf(j->secsec, sizeof(j->secsec), "%s", secsec_name(r.secsec));
	rc = store_server_put(txn, st, &r);
	if (rc == 0)
		rc = store_actlog_add(
			txn, st, RPL_I_LEGACY,
			"down-level (protocol 1) session %s server %s (%s); it stays %s",
			j->outbound ? "to" : "from", r.name, j->addr, secsec_name(r.secsec));
	server_rec_free(&r);
	return rc;
}

static void ready(struct peer_session *s)
{
	snprintf(s->result.tls_version, sizeof(s->result.tls_version), "none");
	snprintf(s->result.cipher, sizeof(s->result.cipher), "none");
	snprintf(s->result.verified_by, sizeof(s->result.verified_by), "password");
	s->result.proto = 1;
	log_info(RPL_I_LEGACY, "session %llu %s server %s (%s): down-level protocol 1",
		 (unsigned long long)s->id, s->role == ROLE_INBOUND ? "from" : "to", s->server,
		 s->addr);
	secure_zero(&s->legacy->key_mem, sizeof(s->legacy->key_mem));
	s->legacy->key = NULL;
	s->legacy->state = L_DONE;
	if (s->role == ROLE_INBOUND)
		admit_success(&s->p->adm, s->addr, s->server);
	conn_authenticated(s);
}

static void commit_done(int rc, void *arg)
{
	struct legacy_commit *j = arg;
	struct peer_session *s = j->s;

	if (!session_closing(s)) {
		snprintf(s->result.secsec, sizeof(s->result.secsec), "%s", j->secsec);
		if (rc < 0) {
			session_close(s, rc, "committing the down-level session");
		} else if (s->role == ROLE_INBOUND) {
			uint8_t t[PROOF_TAG_LEN];
			rc = tag(s, 0, t);
			if (rc == 0)
				rc = session_send_field(s, MSG_L_OK, F_TAG, t, PROOF_TAG_LEN);
			if (rc == 0)
				ready(s);
			else
				session_close(s, rc, "sending L_OK");
		} else {
			ready(s);
		}
	}
	free(j);
	conn_job_end(s);
}

static int start_commit(struct peer_session *s)
{
	struct legacy_commit *j = calloc(1, sizeof(*j));
	int rc;

	if (!j)
		return -RPL_E_NOMEM;
	j->s = s;
	snprintf(j->server, sizeof(j->server), "%s", s->server);
	snprintf(j->addr, sizeof(j->addr), "%s", s->addr);
	j->outbound = s->role == ROLE_OUTBOUND;
	j->now = clock_now();
	conn_job_start(s);
	s->legacy->state = L_COMMIT;
	rc = dbw_submit(s->p->dbw, commit_work, commit_done, j);
	if (rc < 0) {
		conn_job_end(s);
		free(j);
	}
	return rc;
}

/* ---- client ------------------------------------------------------------- */

void legacy_client_start(struct peer_session *s)
{
	struct wbuf w;
	int rc;

	s->legacy = calloc(1, sizeof(*s->legacy));
	if (!s->legacy) {
		session_close(s, -RPL_E_NOMEM, NULL);
		return;
	}
	s->legacy->state = L_C_SENT_HELLO;
	wbuf_init(&w);
	tlv_put_u64(&w, F_VERSION, PROTO1_REVISION);
	tlv_put_str(&w, F_FROM, s->p->in->conf.servername);
	tlv_put_str(&w, F_TO, s->server);
	tlv_put_u64(&w, F_PURPOSE, (uint64_t)s->purpose);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send_frame(s, MSG_L_HELLO, &w);
	wbuf_free(&w);
	if (rc < 0)
		session_close(s, rc, "sending protocol 1 hello");
}

static int client_on_challenge(struct peer_session *s, struct cursor *p)
{
	char from[RPL_NAME_MAX + 1] = "";
	struct cursor cur = *p, val;
	struct server_rec r;
	uint8_t t[PROOF_TAG_LEN];
	struct wbuf w;
	MDB_txn *txn;
	uint16_t tag_id;
	int rc, have_nonce = 0;

	while ((rc = tlv_next(&cur, &tag_id, &val)) > 0) {
		if (tag_id == F_FROM)
			rc = tlv_get_str(&val, from, sizeof(from));
		else if (tag_id == F_NONCE) {
			rc = tlv_get_fixed(&val, s->legacy->nonce_s, LEGACY_NONCE_LEN);
			have_nonce = 1;
		}
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	if (!have_nonce)
		return -RPL_E_PROTOCOL;
	if (strcasecmp(from, s->server) != 0) {
		session_close(s, -RPL_E_NAME_MISMATCH, "expected %s, the partner says it is %s",
			      s->server, ESC(from));
		return 0;
	}
	if ((rc = store_begin(&s->p->in->store, 0, &txn)) < 0)
		return rc;
	rc = store_server_get(txn, &s->p->in->store, s->server, &r);
	store_abort(txn);
	if (rc < 0)
		return rc;
	rc = load_key(s, &r);
	server_rec_free(&r);
	if (rc == 0)
		rc = secure_random(s->legacy->nonce_c, LEGACY_NONCE_LEN);
	if (rc == 0)
		rc = tag(s, 1, t);
	if (rc < 0)
		return rc;
	wbuf_init(&w);
	tlv_put(&w, F_NONCE, s->legacy->nonce_c, LEGACY_NONCE_LEN);
	tlv_put(&w, F_TAG, t, PROOF_TAG_LEN);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send_frame(s, MSG_L_RESPONSE, &w);
	wbuf_free(&w);
	s->legacy->state = L_C_WAIT_OK;
	return rc;
}

static int client_on_ok(struct peer_session *s, struct cursor *p)
{
	struct cursor cur = *p, val;
	uint8_t got[PROOF_TAG_LEN], want[PROOF_TAG_LEN];
	uint16_t tag_id;
	int rc, have = 0;

	while ((rc = tlv_next(&cur, &tag_id, &val)) > 0)
		if (tag_id == F_TAG) {
			if (tlv_get_fixed(&val, got, PROOF_TAG_LEN) < 0)
				return -RPL_E_PROTOCOL;
			have = 1;
		}
	if (!have)
		return -RPL_E_PROTOCOL;
	if ((rc = tag(s, 0, want)) < 0)
		return rc;
	if (!secure_equal(want, got, sizeof(want))) {
		conn_record_failure(s, "the server's protocol 1 answer is wrong");
		session_close(s, -RPL_E_AUTH_FAILED, "the server's protocol 1 answer is wrong");
		return 0;
	}
	return start_commit(s);
}

/* ---- server ------------------------------------------------------------- */

void legacy_server_start(struct peer_session *s)
{
	s->legacy = calloc(1, sizeof(*s->legacy));
	if (!s->legacy)
		session_close(s, -RPL_E_NOMEM, NULL);
	else
		s->legacy->state = L_S_WAIT_HELLO;
}

static int admin_on_hello(struct peer_session *s, const char *admin);
static int admin_answer(struct peer_session *s);

static int server_on_hello(struct peer_session *s, struct cursor *p)
{
	struct peer *pe = s->p;
	char from[RPL_NAME_MAX + 1] = "", to[RPL_NAME_MAX + 1] = "", why[512];
	char admin[RPL_NAME_MAX + 1] = "";
	struct cursor cur = *p, val;
	struct server_rec r;
	uint64_t version = 0, purpose = PURPOSE_PING;
	struct wbuf w;
	uint16_t tag_id;
	int rc;

	while ((rc = tlv_next(&cur, &tag_id, &val)) > 0) {
		if (tag_id == F_FROM)
			rc = tlv_get_str(&val, from, sizeof(from));
		else if (tag_id == F_TO)
			rc = tlv_get_str(&val, to, sizeof(to));
		else if (tag_id == F_VERSION)
			rc = tlv_get_u64(&val, &version);
		else if (tag_id == F_PURPOSE)
			rc = tlv_get_u64(&val, &purpose);
		else if (tag_id == F_ADMIN)
			rc = tlv_get_str(&val, admin, sizeof(admin));
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	if (purpose == PURPOSE_ADMIN && version == PROTO1_REVISION)
		return admin_on_hello(s, admin);
	if (!conf_valid_name(from))
		return -RPL_E_PROTOCOL;
	if (version != PROTO1_REVISION) {
		snprintf(s->server, sizeof(s->server), "%s", from);
		snprintf(why, sizeof(why),
			 "%s speaks down-level protocol 1 revision %llu, which proves "
			 "only one password; %s accepts revision %d: upgrade replpeer on %s",
			 from, (unsigned long long)(version ? version : 1), pe->in->conf.servername,
			 PROTO1_REVISION, from);
		conn_refuse(s, version ? RPL_E_VERSION : RPL_E_LEGACY_OLD, why);
		return 0;
	}
	if ((rc = conn_admit(s, from, to, (int)purpose, &r)) != 0)
		return rc < 0 ? rc : 0;
	s->purpose = (int)purpose;
	if (r.secsec == SECSEC_STRICT) {
		snprintf(why, sizeof(why),
			 "server %s is STRICT on %s, so it must use protocol 2 "
			 "(TLS); to accept down-level sessions again run "
			 "'UPDATE SERVER %s SESSIONSECURITY=TRANSITIONAL' on %s",
			 r.name, pe->in->conf.servername, r.name, pe->in->conf.servername);
		server_rec_free(&r);
		conn_refuse(s, RPL_E_STRICT_LEGACY, why);
		return 0;
	}
	if (!pe->in->conf.allowlegacy) {
		server_rec_free(&r);
		snprintf(why, sizeof(why), "ALLOWLEGACY is NO on %s", pe->in->conf.servername);
		conn_refuse(s, RPL_E_LEGACY_OFF, why);
		return 0;
	}
	rc = load_key(s, &r);
	server_rec_free(&r);
	if (rc == 0)
		rc = secure_random(s->legacy->nonce_s, LEGACY_NONCE_LEN);
	if (rc < 0)
		return rc;
	wbuf_init(&w);
	tlv_put_u64(&w, F_VERSION, PROTO1_REVISION);
	tlv_put_str(&w, F_FROM, pe->in->conf.servername);
	tlv_put(&w, F_NONCE, s->legacy->nonce_s, LEGACY_NONCE_LEN);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send_frame(s, MSG_L_CHALLENGE, &w);
	wbuf_free(&w);
	s->legacy->state = L_S_WAIT_RESPONSE;
	return rc;
}

/* ---- an administrator's down-level sign-on -------------------------------- */

/* The key of an unknown name: random, so no password matches; its salt is
 * stable per name, so a second try sees the same. */
static int admin_decoy(struct peer_session *s, uint8_t salt[ADMIN_SLOW_SALT_LEN])
{
	uint8_t h[HASH_LEN];
	struct hash_ctx c;

	hash_init(&c);
	hash_update(&c, "replpeer admin decoy slow salt", 30);
	hash_update(&c, s->p->own_fp, FP_LEN);
	hash_update(&c, s->server, strlen(s->server));
	hash_final(&c, h);
	memcpy(salt, h, ADMIN_SLOW_SALT_LEN);
	if (secure_random(s->legacy->key_mem.k, PROOF_KEY_LEN) < 0)
		return -RPL_E_CRYPTO;
	s->legacy->key = &s->legacy->key_mem;
	return 0;
}

static int admin_key(struct peer_session *s, const struct admin_rec *r,
		     uint8_t salt[ADMIN_SLOW_SALT_LEN])
{
	struct blob sealed = { 0 };
	struct wbuf plain;
	int rc;

	if (r->slow.n <= ADMIN_SLOW_SALT_LEN)
		return -RPL_E_CORRUPT;
	memcpy(salt, r->slow.p, ADMIN_SLOW_SALT_LEN);
	rc = blob_set(&sealed, r->slow.p + ADMIN_SLOW_SALT_LEN, r->slow.n - ADMIN_SLOW_SALT_LEN);
	wbuf_init(&plain);
	if (rc == 0)
		rc = instance_unseal(s->p->in, SEAL_ADMIN_SLOW, r->name, &sealed, &plain);
	if (rc == 0)
		rc = proof_key_from(plain.p, plain.len, &s->legacy->key_mem);
	if (rc == 0)
		s->legacy->key = &s->legacy->key_mem;
	secure_zero(plain.p, plain.cap);
	wbuf_free(&plain);
	blob_free(&sealed);
	return rc;
}

/* Accepted only while the administrator is TRANSITIONAL and ALLOWLEGACY is
 * YES; an LDAP administrator's password never travels without TLS. */
static int admin_on_hello(struct peer_session *s, const char *admin)
{
	struct peer *pe = s->p;
	uint8_t salt[ADMIN_SLOW_SALT_LEN];
	char why[400];
	struct admin_rec r;
	MDB_txn *txn;
	struct wbuf w;
	int rc, found;

	s->legacy->admin = 1;
	if ((rc = auth_admin_admit(s, admin)) != 0)
		return rc < 0 ? rc : 0;
	if (!pe->in->conf.allowlegacy) {
		snprintf(why, sizeof(why),
			 "ALLOWLEGACY is NO on %s: administrators sign on over TLS",
			 pe->in->conf.servername);
		conn_refuse(s, RPL_E_LEGACY_OFF, why);
		return 0;
	}
	if ((rc = store_begin(&pe->in->store, 0, &txn)) < 0)
		return rc;
	rc = store_admin_get(txn, &pe->in->store, s->server, &r);
	store_abort(txn);
	if (rc < 0 && rc != -RPL_E_NOTFOUND)
		return rc;
	found = rc == 0;
	if (found && r.secsec == SECSEC_STRICT) {
		snprintf(
			why, sizeof(why),
			"administrator %s is STRICT on %s: it signs on over TLS; to allow the down-level path again run 'UPDATE ADMIN %s SESSIONSECURITY=TRANSITIONAL' there",
			r.name, pe->in->conf.servername, r.name);
		admin_rec_free(&r);
		conn_refuse(s, RPL_E_ADMIN_STRICT, why);
		return 0;
	}
	if (found && r.auth == ADMIN_AUTH_LDAP) {
		snprintf(
			why, sizeof(why),
			"administrator %s authenticates by LDAP: its password travels only inside TLS",
			r.name);
		admin_rec_free(&r);
		conn_refuse(s, RPL_E_LEGACY_OFF, why);
		return 0;
	}
	rc = found ? admin_key(s, &r, salt) : -RPL_E_NOTFOUND;
	s->legacy->admin_known = rc == 0;
	if (found)
		admin_rec_free(&r);
	if (rc < 0)
		rc = admin_decoy(s, salt);
	if (rc == 0)
		rc = secure_random(s->legacy->nonce_s, LEGACY_NONCE_LEN);
	if (rc < 0)
		return rc;
	wbuf_init(&w);
	tlv_put_u64(&w, F_VERSION, PROTO1_REVISION);
	tlv_put_str(&w, F_FROM, pe->in->conf.servername);
	tlv_put(&w, F_NONCE, s->legacy->nonce_s, LEGACY_NONCE_LEN);
	tlv_put(&w, F_SALT, salt, ADMIN_SLOW_SALT_LEN);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send_frame(s, MSG_L_CHALLENGE, &w);
	wbuf_free(&w);
	s->legacy->state = L_S_WAIT_RESPONSE;
	return rc;
}

static int admin_answer(struct peer_session *s)
{
	uint8_t t[PROOF_TAG_LEN];
	int rc = tag(s, 0, t);

	if (rc == 0)
		rc = session_send_field(s, MSG_L_OK, F_TAG, t, PROOF_TAG_LEN);
	secure_zero(&s->legacy->key_mem, sizeof(s->legacy->key_mem));
	s->legacy->key = NULL;
	s->legacy->state = L_DONE;
	return rc;
}

static int server_on_response(struct peer_session *s, struct cursor *p)
{
	struct cursor cur = *p, val;
	uint8_t got[PROOF_TAG_LEN], want[PROOF_TAG_LEN];
	uint16_t tag_id;
	int rc, have_tag = 0, have_nonce = 0;

	while ((rc = tlv_next(&cur, &tag_id, &val)) > 0) {
		if (tag_id == F_NONCE) {
			rc = tlv_get_fixed(&val, s->legacy->nonce_c, LEGACY_NONCE_LEN);
			have_nonce = 1;
		} else if (tag_id == F_TAG) {
			rc = tlv_get_fixed(&val, got, PROOF_TAG_LEN);
			have_tag = 1;
		}
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	if (!have_tag || !have_nonce)
		return -RPL_E_PROTOCOL;
	if ((rc = tag(s, 1, want)) < 0)
		return rc;
	if (s->legacy->admin) {
		if (!secure_equal(got, want, PROOF_TAG_LEN) || !s->legacy->admin_known)
			auth_admin_fail(s, RPL_E_ADMIN_AUTH,
					"wrong password, or no such administrator (protocol 1)");
		else
			auth_admin_commit(s, "down-level password proof", admin_answer);
		return 0;
	}
	if (!secure_equal(got, want, PROOF_TAG_LEN)) {
		conn_record_failure(s, "wrong password (protocol 1: both passwords are needed)");
		session_send_error(s, RPL_E_AUTH_FAILED, NULL);
		session_close(s, -RPL_E_AUTH_FAILED, "wrong password (protocol 1)");
		return 0;
	}
	if (conn_admit_partner(s))
		return 0;
	return start_commit(s);
}

/* ---- dispatch ----------------------------------------------------------- */

typedef int legacy_handler(struct peer_session *s, struct cursor *payload);

static const struct transition {
	int role;
	int state;
	int type;
	legacy_handler *fn;
} transitions[] = {
	{ ROLE_INBOUND, L_S_WAIT_HELLO, MSG_L_HELLO, server_on_hello },
	{ ROLE_INBOUND, L_S_WAIT_RESPONSE, MSG_L_RESPONSE, server_on_response },
	{ ROLE_OUTBOUND, L_C_SENT_HELLO, MSG_L_CHALLENGE, client_on_challenge },
	{ ROLE_OUTBOUND, L_C_WAIT_OK, MSG_L_OK, client_on_ok },
};

int legacy_on_frame(struct peer_session *s, int type, struct cursor *p)
{
	if (!s->legacy)
		return -RPL_E_PROTOCOL;
	if (type == MSG_ERROR) {
		conn_on_error_frame(s, p);
		return 0;
	}
	for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++) {
		const struct transition *t = &transitions[i];
		if (t->role == s->role && t->state == s->legacy->state && t->type == type)
			return t->fn(s, p);
	}
	return conn_unexpected(s, type, legacy_state_name(s->legacy->state));
}
