/*
 * peer/auth_admin: an administrator's sign-on over TLS (PURPOSE_ADMIN), the
 * server side. The client presents no certificate: it has verified ours
 * (its own pins or a CA) before it says anything, and then
 *  - LOCAL: proves the password by SRP-6a against the verifier we hold
 *    (we never see the password), bound by the tags to the TLS exporter,
 *    our certificate and the administrator's name;
 *  - LDAP: sends the password inside that TLS session, and the directory
 *    checks it (peer/ldap verifies the directory's certificate first).
 * An unknown name runs the same SRP exchange against a verifier nobody
 * knows, so it fails exactly like a wrong password. Failures count per
 * (address, administrator) and are written to the administrator's record;
 * a success is committed (last sign-on, failures cleared, TRANSITIONAL to
 * STRICT) before AUTH_OK is sent.
 *
 * States (peer/auth_int.h): WAIT_HELLO -> SA_STARTING (pool) -> SA_WAIT_AUTH
 * -> SA_FINISHING (pool) or SA_LDAP -> SA_COMMIT -> DONE; any other message
 * in any state ends the session (peer/auth's transition table).
 */
#include "auth_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../store/actlog.h"
#include "../store/admin.h"
#include "../util/clock.h"
#include "../util/hash.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "continuity.h"
#include "dbw.h"
#include "ldap.h"
#include "proto.h"

/* The rate-limit key of an administrator: '@' cannot start a server name. */
void auth_admin_key(const char *admin, char *out, size_t sz) { snprintf(out, sz, "@%s", admin); }

int auth_admin_admit(struct peer_session *s, const char *admin)
{
	struct peer *pe = s->p;
	char why[300], key[RPL_NAME_MAX + 2];

	s->purpose = PURPOSE_ADMIN;
	if (!(pe->hooks.purposes & (1u << PURPOSE_ADMIN))) {
		snprintf(why, sizeof(why), "remote administration is not offered by %s",
			 pe->in->conf.servername);
		conn_refuse(s, RPL_E_PROTOCOL, why);
		return 1;
	}
	if (!conf_valid_name(admin)) {
		conn_refuse(s, RPL_E_PROTOCOL,
			    "an administrator's name is 1 to 64 letters, digits, '.', '-' or '_'");
		return 1;
	}
	for (size_t i = 0; admin[i]; i++)
		s->server[i] = (char)toupper((unsigned char)admin[i]);
	s->server[strlen(admin)] = 0;
	auth_admin_key(s->server, key, sizeof(key));
	if (admit_blocked(&pe->adm, s->addr, key, clock_now())) {
		snprintf(why, sizeof(why),
			 "%d failed sign-ons as administrator %s from %s within %d seconds",
			 RL_MAX_FAILS, s->server, s->addr, RL_WINDOW);
		conn_refuse(s, RPL_E_ADMIN_RATELIMIT, why);
		return 1;
	}
	if (pe->n_in_ready >= pe->in->conf.maxsessions) {
		snprintf(why, sizeof(why), "MAXSESSIONS %d reached", pe->in->conf.maxsessions);
		conn_refuse(s, RPL_E_MAXSESSIONS, why);
		return 1;
	}
	return 0;
}

/* A verifier for a name that is not registered (or whose record cannot be
 * used): stable per name and instance, so a second try sees the same salt,
 * and no password matches it (it is not g^x for any x anyone knows). */
static int decoy_verifier(struct peer_session *s, struct proof *p)
{
	uint8_t v[255], h[HASH_LEN];
	struct hash_ctx c;

	for (size_t off = 0, i = 0; off < sizeof(v); i++) {
		uint8_t n = (uint8_t)i;
		size_t k = sizeof(v) - off < HASH_LEN ? sizeof(v) - off : HASH_LEN;
		hash_init(&c);
		hash_update(&c, "replpeer admin decoy", 20);
		hash_update(&c, s->own_fp, FP_LEN);
		hash_update(&c, s->server, strlen(s->server));
		hash_update(&c, &n, 1);
		hash_final(&c, h);
		memcpy(v + off, h, k);
		off += k;
	}
	v[0] &= 0x7f;
	hash_init(&c);
	hash_update(&c, "replpeer admin decoy salt", 25);
	hash_update(&c, s->own_fp, FP_LEN);
	hash_update(&c, s->server, strlen(s->server));
	hash_final(&c, h);
	if (blob_set(&p->salt, h, HASH_LEN) < 0 || blob_set(&p->verifier, v, sizeof(v)) < 0)
		return -RPL_E_NOMEM;
	return 0;
}

/* The registered administrator's salt and verifier. */
static int real_verifier(struct peer_session *s, const struct admin_rec *r, struct proof *p)
{
	struct blob sealed = { 0 };
	struct wbuf plain;
	int rc;

	if (r->srp.n <= SRP_SALT_LEN)
		return -RPL_E_CORRUPT;
	rc = blob_set(&p->salt, r->srp.p, SRP_SALT_LEN);
	if (rc == 0)
		rc = blob_set(&sealed, r->srp.p + SRP_SALT_LEN, r->srp.n - SRP_SALT_LEN);
	wbuf_init(&plain);
	if (rc == 0)
		rc = instance_unseal(s->p->in, SEAL_ADMIN_VERIFIER, r->name, &sealed, &plain);
	if (rc == 0)
		rc = blob_set(&p->verifier, plain.p, plain.len);
	wbuf_free(&plain);
	blob_free(&sealed);
	return rc;
}

static void admin_srp_started(struct peer_session *s, struct srp_job *j)
{
	auth_send_srp_reply(s, j, A_SA_WAIT_AUTH);
}

static int send_password_reply(struct peer_session *s)
{
	struct wbuf w;
	int rc;

	wbuf_init(&w);
	tlv_put_u64(&w, F_VERSION, PROTO2_REVISION);
	tlv_put_str(&w, F_FROM, s->p->in->conf.servername);
	tlv_put_u64(&w, F_METHOD, METHOD_PASSWORD);
	rc = continuity_offer(s, &w);
	if (rc == 0)
		rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send_frame(s, MSG_HELLO_REPLY, &w);
	wbuf_free(&w);
	s->auth->state = A_SA_WAIT_AUTH;
	return rc;
}

int admin_on_hello(struct peer_session *s, const char *admin, uint64_t method)
{
	struct peer *pe = s->p;
	struct auth *a = s->auth;
	char why[300], key[RPL_NAME_MAX + 2];
	struct admin_rec r;
	struct srp_job *j;
	MDB_txn *txn;
	int rc, found;

	if (method != METHOD_SRP && method != METHOD_PASSWORD) {
		conn_refuse(s, RPL_E_PROTOCOL, "an administrator's hello needs a sign-on method");
		return 0;
	}
	if ((rc = auth_admin_admit(s, admin)) != 0)
		return rc < 0 ? rc : 0;
	if ((rc = store_begin(&pe->in->store, 0, &txn)) < 0)
		return rc;
	rc = store_admin_get(txn, &pe->in->store, s->server, &r);
	store_abort(txn);
	if (rc < 0 && rc != -RPL_E_NOTFOUND)
		return rc;
	found = rc == 0;
	if (found && r.auth == ADMIN_AUTH_LDAP) {
		/* No work here: a wrong password counts when the directory
		 * says so, a directory that cannot be asked does not. */
		admin_rec_free(&r);
		a->method = METHOD_PASSWORD;
		a->admin_known = 1;
		return send_password_reply(s);
	}
	/* SRP work for a client that has not proved anything: it draws on the
	 * global budget and counts as a failure until the proof holds. */
	if (!admit_srp_take(&pe->adm, clock_mono_ms())) {
		if (found)
			admin_rec_free(&r);
		snprintf(why, sizeof(why),
			 "sign-ons arrive faster than %d a second; try again shortly",
			 SRP_BUDGET_RATE);
		conn_refuse(s, RPL_E_RATELIMIT, why);
		return 0;
	}
	auth_admin_key(s->server, key, sizeof(key));
	admit_fail(&pe->adm, s->addr, key, clock_now());
	s->attempt_counted = 1;
	a->method = METHOD_SRP;
	if (!(j = auth_job_new(JOB_SERVER_START))) {
		if (found)
			admin_rec_free(&r);
		return -RPL_E_NOMEM;
	}
	j->nslots = 1;
	rc = found ? real_verifier(s, &r, &j->p[0]) : -RPL_E_NOTFOUND;
	a->admin_known = rc == 0;
	if (rc < 0 && rc != -RPL_E_NOMEM) {
		/* Unknown, or a record we cannot use: fail like a wrong password. */
		if (rc != -RPL_E_NOTFOUND)
			log_code(
				rc,
				"administrator %s: its verifier cannot be read; sign-ons fail until 'UPDATE ADMIN %s PASSWORD=...'",
				s->server, s->server);
		blob_free(&j->p[0].salt);
		blob_free(&j->p[0].verifier);
		rc = decoy_verifier(s, &j->p[0]);
	}
	if (found)
		admin_rec_free(&r);
	if (rc < 0) {
		auth_job_free(j);
		return rc;
	}
	return auth_job_queue(s, j, A_SA_STARTING, admin_srp_started);
}

/* ---- the outcome ------------------------------------------------------------ */

void auth_admin_fail(struct peer_session *s, int code, const char *detail)
{
	conn_record_failure(s, detail);
	session_send_error(s, code, NULL);
	session_close(s, -code, "%s", detail);
}

struct admin_commit {
	struct peer_session *s;
	int (*answer)(struct peer_session *s);
	int down_level;
	char name[RPL_NAME_MAX + 1];
	char from[64];
	char method[40];
	char tls[16];
	int64_t now;
	/* results */
	int found, locked, cls, moved_strict, strict;
};

static int admin_commit_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct admin_commit *j = arg;
	struct admin_rec r;
	int rc = store_admin_get(txn, st, j->name, &r);

	if (rc == -RPL_E_NOTFOUND)
		return 0; /* removed meanwhile */
	if (rc < 0)
		return rc;
	j->found = 1;
	j->cls = r.cls;
	j->locked = r.locked;
	/* A TLS sign-on may have made it STRICT since the hello. */
	j->strict = j->down_level && r.secsec == SECSEC_STRICT;
	if (j->strict) {
		r.failed++;
		r.last_failure = j->now;
		rc = store_actlog_add(
			txn, st, RPL_E_ADMIN_STRICT,
			"administrator %s from %s refused: STRICT, down-level sign-on", r.name,
			j->from);
	} else if (r.locked) {
		r.failed++;
		r.last_failure = j->now;
		rc = store_actlog_add(txn, st, RPL_W_ADMIN_FAILED,
				      "administrator %s from %s refused: locked", r.name, j->from);
	} else {
		r.failed = 0;
		r.last_signon = j->now;
		snprintf(r.last_from, sizeof(r.last_from), "%s", j->from);
		rc = store_actlog_add(txn, st, RPL_I_ADMIN_SIGNON,
				      "administrator %s signed on from %s (%s, %s)", r.name,
				      j->from, j->tls, j->method);
		if (rc == 0 && !j->down_level && r.secsec == SECSEC_TRANSITIONAL) {
			r.secsec = SECSEC_STRICT;
			j->moved_strict = 1;
			rc = store_actlog_add(txn, st, RPL_I_ADMIN_STRICT,
					      "administrator %s moved to STRICT: signed on over %s",
					      r.name, j->tls);
		}
	}
	if (rc == 0)
		rc = store_admin_put(txn, st, &r);
	admin_rec_free(&r);
	return rc;
}

/* The TLS sign-on's answer: AUTH_OK with the server's SRP proof and tag;
 * the proof material is no longer needed after it. */
static int send_admin_ok(struct peer_session *s)
{
	struct auth *a = s->auth;
	uint8_t t[PROOF_TAG_LEN];
	struct wbuf w;
	int rc = 0;

	wbuf_init(&w);
	if (a->method == METHOD_SRP) {
		rc = auth_make_tag(s, 0, t);
		tlv_put(&w, F_SRP_M2, a->M2[0].p, a->M2[0].n);
		tlv_put(&w, F_TAG, t, PROOF_TAG_LEN);
	}
	if (rc == 0)
		rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send_frame(s, MSG_AUTH_OK, &w);
	wbuf_free(&w);
	srp_free(a->srp[0]);
	a->srp[0] = NULL;
	proof_key_wipe(&a->key_mem);
	a->key = NULL;
	a->state = A_DONE;
	return rc;
}

static void admin_commit_done(int rc, void *arg)
{
	struct admin_commit *j = arg;
	struct peer_session *s = j->s;
	char key[RPL_NAME_MAX + 2];

	if (session_closing(s))
		goto out;
	if (rc < 0) {
		session_close(s, rc, "committing the sign-on");
		goto out;
	}
	if (!j->found) {
		auth_admin_fail(s, RPL_E_ADMIN_AUTH,
				"the administrator was removed during the sign-on");
		goto out;
	}
	if (j->locked || j->strict) {
		int code = j->strict ? RPL_E_ADMIN_STRICT : RPL_E_ADMIN_LOCKED;
		log_warn(RPL_W_ADMIN_FAILED, "administrator %s from %s refused: %s", s->server,
			 s->addr, j->strict ? "STRICT, down-level sign-on" : "locked");
		s->quiet = 1;
		session_send_error(s, code, NULL);
		session_close(s, -code, "administrator %s", s->server);
		goto out;
	}
	if ((rc = j->answer(s)) < 0) {
		session_close(s, rc, "answering the sign-on");
		goto out;
	}
	if (s->proto == 2) {
		snprintf(s->result.tls_version, sizeof(s->result.tls_version), "%s",
			 tls_version_name(s->ssl));
		snprintf(s->result.cipher, sizeof(s->result.cipher), "%s", tls_cipher_name(s->ssl));
	}
	s->result.proto = s->proto;
	s->admin_cls = j->cls;
	log_info(RPL_I_ADMIN_SIGNON,
		 "session %llu: administrator %s (%s) signed on from %s: %s%s%s, %s",
		 (unsigned long long)s->id, s->server, admin_class_name(j->cls), s->addr,
		 s->proto == 2 ? s->result.tls_version : "down-level protocol 1, no TLS",
		 s->proto == 2 ? " " : "", s->proto == 2 ? s->result.cipher : "", j->method);
	if (j->moved_strict)
		log_info(RPL_I_ADMIN_STRICT, "administrator %s moved to STRICT session security",
			 s->server);
	auth_admin_key(s->server, key, sizeof(key));
	admit_success(&s->p->adm, s->addr, key);
	conn_authenticated(s);
out:
	free(j);
	conn_job_end(s);
}

void auth_admin_commit(struct peer_session *s, const char *method,
		       int (*answer)(struct peer_session *s))
{
	struct admin_commit *j = calloc(1, sizeof(*j));
	int rc;

	if (!j) {
		session_close(s, -RPL_E_NOMEM, NULL);
		return;
	}
	if (conn_admit_partner(s)) {
		free(j);
		return;
	}
	j->s = s;
	j->answer = answer;
	j->down_level = s->proto == 1;
	snprintf(j->name, sizeof(j->name), "%s", s->server);
	snprintf(j->from, sizeof(j->from), "%s", s->addr);
	snprintf(j->method, sizeof(j->method), "%s", method);
	snprintf(j->tls, sizeof(j->tls), "%s",
		 s->proto == 2 ? tls_version_name(s->ssl) : "protocol 1");
	j->now = clock_now();
	conn_job_start(s);
	if (s->auth)
		s->auth->state = A_SA_COMMIT;
	if ((rc = dbw_submit(s->p->dbw, admin_commit_work, admin_commit_done, j)) < 0) {
		conn_job_end(s);
		free(j);
		session_close(s, rc, "committing the sign-on");
	}
}

static void admin_srp_finished(struct peer_session *s, struct srp_job *j)
{
	struct auth *a = s->auth;
	int rc;

	if (j->rc == -RPL_E_AUTH_FAILED || (j->rc == 0 && !a->admin_known)) {
		auth_admin_fail(s, RPL_E_ADMIN_AUTH,
				"wrong password proof, or no such administrator");
		return;
	}
	if (j->rc < 0) {
		session_close(s, j->rc, "password proof");
		return;
	}
	rc = auth_job_key(s, j);
	if (rc == 0)
		rc = auth_check_tag(s, 1, a->peer_tag);
	if (rc == -RPL_E_AUTH_FAILED) {
		auth_admin_fail(
			s, RPL_E_ADMIN_AUTH,
			"the proof is not bound to this TLS session (a man in the middle?)");
		return;
	}
	if (rc < 0) {
		session_close(s, rc, "password proof");
		return;
	}
	a->srp_done = 1;
	a->M2[0] = j->p[0].M2;
	j->p[0].M2 = (struct blob){ 0 };
	auth_admin_commit(s, "password proof (SRP)", send_admin_ok);
}

static int admin_auth_srp(struct peer_session *s, struct cursor *p)
{
	struct auth_msg m;
	int rc = auth_msg_read(p, &m);

	if (rc < 0) {
		rc = -RPL_E_PROTOCOL;
		goto out;
	}
	if (!m.A.n || !m.M1.n) {
		auth_admin_fail(s, RPL_E_ADMIN_AUTH, "the client sent no password proof");
		rc = 0;
		goto out;
	}
	memcpy(s->auth->peer_tag, m.tag.p, PROOF_TAG_LEN);
	rc = auth_queue_one_proof(s, &m, A_SA_FINISHING, admin_srp_finished);
out:
	auth_msg_free(&m);
	return rc;
}

/* The directory's verdict on an LDAP administrator's password. */
static void ldap_done(const struct ldap_report *r, void *arg)
{
	struct peer_session *s = arg;

	if (!session_closing(s)) {
		if (r->rc == 0) {
			auth_admin_commit(s,
					  r->cached ? "password checked by LDAP (cached)"
						    : "password checked by LDAP",
					  send_admin_ok);
		} else if (r->rc == -RPL_E_LDAP_CREDENTIALS || r->rc == -RPL_E_LDAP_BIND ||
			   r->rc == -RPL_E_LDAP_EMPTY_PASSWORD) {
			char why[600];
			snprintf(why, sizeof(why), "LDAP: %.590s", r->message);
			auth_admin_fail(s, RPL_E_ADMIN_AUTH, why);
		} else {
			/* The directory could not be asked (or was not trusted): not
			 * the administrator's failure; say why. */
			if (!r->logged)
				log_code(-r->rc, "administrator %s from %s: %s", s->server, s->addr,
					 r->message);
			s->quiet = 1;
			session_send_error(s, -r->rc, r->message);
			session_close(s, r->rc, "%s", r->message);
		}
	}
	conn_job_end(s);
}

static int admin_auth_password(struct peer_session *s, struct cursor *p)
{
	char pw[LDAP_PASSWORD_MAX + 1];
	struct cursor cur = *p, val;
	int rc = 0, have = 0;
	uint16_t tag;

	while (!have && (rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag != F_PASSWORD)
			continue;
		if (cur_left(&val) > LDAP_PASSWORD_MAX)
			return -RPL_E_PROTOCOL;
		rc = tlv_get_str(&val, pw, sizeof(pw));
		have = rc == 0;
	}
	if (rc < 0 || !have) {
		secure_zero(pw, sizeof(pw));
		return -RPL_E_PROTOCOL;
	}
	if (!s->p->ldap) {
		secure_zero(pw, sizeof(pw));
		conn_refuse(s, RPL_E_LDAP_NOT_CONFIGURED, "no LDAP client on this server");
		return 0;
	}
	conn_job_start(s);
	s->auth->state = A_SA_LDAP;
	rc = ldap_check(s->p->ldap, s->server, pw, ldap_done, s);
	secure_zero(pw, sizeof(pw));
	if (rc < 0) {
		conn_job_end(s);
		return rc;
	}
	return 0;
}

int admin_on_auth(struct peer_session *s, struct cursor *p)
{
	return s->auth->method == METHOD_SRP ? admin_auth_srp(s, p) : admin_auth_password(s, p);
}
