/*
 * peer/auth_crossdef: cross-definition (PURPOSE_CROSSDEF) — a partner A
 * that this server B does not know yet asks to be defined here, and the
 * client side of that request on A. The machine, as rows of the table in
 * peer/auth.c (any other message in any state ends the session):
 *
 *   B (server)                                A (client)
 *   WAIT_HELLO   HELLO purpose=5  <-          SENT_HELLO
 *     refused unless CROSSDEFINE is ON, no server named A exists here, the
 *     certificate passes as a first contact's would (SSLACCEPTCERTFROMSERV)
 *     and the address is not rate-limited
 *   STARTING -> HELLO_REPLY (slot 1: B's password only) ->
 *   WAIT_AUTH    AUTH {A, M1, tag} <-         PROVING, WAIT_OK
 *   FINISHING -> AUTH_OK {M2, tag}  ->        A checks M2: B holds B's verifier
 *   WAIT_REQ     CROSSDEF {A's password, address, port} <-   XD_SENT
 *   DEFINING     (sync/crossdef.c: a definition of A waiting for its
 *                confirmation, then B's session back to A's address that
 *                proves both passwords and checks the certificate pinned
 *                here; only then is the definition usable)
 *             -> CROSSDEF_DONE, or ERROR with the reason
 *
 * So the request is taken only from a client that proved B's password in
 * this TLS session (the tag binds the exporter, both certificates and
 * both names), and A hands over its password only to a server that
 * proved it holds B's verifier. This session pins and stores nothing on
 * either side.
 */
#include "auth_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../store/server.h"
#include "../util/clock.h"
#include "../util/escape.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "keys/proof.h"
#include "keys/srp.h"
#include "proto.h"

/* ---- server (B) -------------------------------------------------------- */

static void sx_started(struct peer_session *s, struct srp_job *j)
{
	auth_send_srp_reply(s, j, A_SX_WAIT_AUTH);
}

/* 1 when a server of this name is defined here (or the store failed). */
static int name_defined(struct peer_session *s, const char *name)
{
	struct server_rec r;
	MDB_txn *txn;
	int rc = store_begin(&s->p->in->store, 0, &txn);

	if (rc < 0)
		return 1;
	rc = store_server_get(txn, &s->p->in->store, name, &r);
	store_abort(txn);
	if (rc == 0)
		server_rec_free(&r);
	return rc != -RPL_E_NOTFOUND;
}

int crossdef_on_hello(struct peer_session *s, const char *from, const char *to, uint64_t proto,
		      uint64_t method)
{
	struct peer *pe = s->p;
	struct auth *a = s->auth;
	struct server_rec none;
	struct srp_job *j;
	char why[400];
	int rc;

	if (!conf_valid_name(from) || proto != 2 || method != METHOD_SRP)
		return -RPL_E_PROTOCOL;
	snprintf(s->server, sizeof(s->server), "%s", from);
	s->purpose = PURPOSE_CROSSDEF;
	if (!pe->hooks.crossdef) {
		snprintf(why, sizeof(why), "session purpose %d is not offered by %s",
			 PURPOSE_CROSSDEF, pe->in->conf.servername);
		conn_refuse(s, RPL_E_PROTOCOL, why);
		return 0;
	}
	if (strcasecmp(to, pe->in->conf.servername) != 0) {
		snprintf(why, sizeof(why), "this is server %s, not %s", pe->in->conf.servername,
			 ESC(to));
		conn_refuse(s, RPL_E_NAME_MISMATCH, why);
		return 0;
	}
	if (!pe->in->conf.crossdefine) {
		snprintf(
			why, sizeof(why),
			"server %s asked to be defined on %s (cross-definition), but CROSSDEFINE is "
			"OFF here: nothing was defined; 'SET CROSSDEFINE ON' on %s allows it",
			from, pe->in->conf.servername, pe->in->conf.servername);
		conn_refuse(s, RPL_E_CROSSDEF_OFF, why);
		return 0;
	}
	if (strcasecmp(from, pe->in->conf.servername) == 0 || name_defined(s, from)) {
		snprintf(why, sizeof(why),
			 "server %s asked to be defined on %s (cross-definition), but a server of "
			 "that name is defined here already: it was not changed",
			 from, pe->in->conf.servername);
		conn_refuse(s, RPL_E_CROSSDEF_EXISTS, why);
		return 0;
	}
	if (admit_blocked(&pe->adm, s->addr, from, clock_now())) {
		snprintf(why, sizeof(why),
			 "%d failed sign-ons as server %s from %s within %d seconds: "
			 "refused without a password proof",
			 RL_MAX_FAILS, from, s->addr, RL_WINDOW);
		conn_refuse(s, RPL_E_RATELIMIT, why);
		return 0;
	}
	/* The certificate is judged as a first contact's: no pins, VERIFY=PIN,
	 * and SSLACCEPTCERTFROMSERV, its dates and its key usage decide. */
	memset(&none, 0, sizeof(none));
	snprintf(none.name, sizeof(none.name), "%s", from);
	auth_decide(s, NULL, &none, &a->v);
	if (a->v.vb != VB_FIRST) {
		conn_refuse(s, a->v.code ? a->v.code : RPL_E_CERT_REFUSED, a->v.why);
		return 0;
	}
	if (!admit_srp_take(&pe->adm, clock_mono_ms())) {
		snprintf(
			why, sizeof(why),
			"password proofs for unpaired partners arrive faster than %d a second; try again shortly",
			SRP_BUDGET_RATE);
		conn_refuse(s, RPL_E_RATELIMIT, why);
		return 0;
	}
	admit_fail(&pe->adm, s->addr, s->server, clock_now());
	s->attempt_counted = 1;
	a->method = METHOD_SRP;
	if (!(j = auth_job_new(JOB_SERVER_START)))
		return -RPL_E_NOMEM;
	j->nslots = 1; /* our own password: we do not know the client's */
	rc = auth_own_verifier(s, &j->p[0].salt, &j->p[0].verifier);
	if (rc < 0) {
		auth_job_free(j);
		return rc;
	}
	return auth_job_queue(s, j, A_SX_STARTING, sx_started);
}

static void sx_finished(struct peer_session *s, struct srp_job *j)
{
	struct auth *a = s->auth;
	int rc;

	if (j->rc == -RPL_E_AUTH_FAILED) {
		auth_fail_proof(s, "wrong password proof in a cross-definition request "
				   "(the client does not know this server's password)");
		return;
	}
	if (j->rc < 0) {
		session_close(s, j->rc, "password proof");
		return;
	}
	srp_free(a->srp[0]);
	a->srp[0] = NULL;
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
	a->M2[0] = j->p[0].M2;
	j->p[0].M2 = (struct blob){ 0 };
	rc = auth_send_ok(s, 1);
	/* The key served its one purpose: no later message carries a tag. */
	proof_key_wipe(&a->key_mem);
	a->key = NULL;
	if (rc < 0) {
		session_close(s, rc, "sending AUTH_OK");
		return;
	}
	a->state = A_SX_WAIT_REQ;
}

int crossdef_on_auth(struct peer_session *s, struct cursor *p)
{
	struct auth_msg m;
	int rc = auth_msg_read(p, &m);

	if (rc < 0 || m.vb < VB_PIN || m.vb > VB_CONTINUITY) {
		rc = -RPL_E_PROTOCOL;
		goto out;
	}
	if (!m.A.n || !m.M1.n) {
		auth_fail_proof(s, "the client did not prove this server's password");
		rc = 0;
		goto out;
	}
	s->partner_vb = (int)m.vb;
	memcpy(s->auth->peer_tag, m.tag.p, PROOF_TAG_LEN);
	rc = auth_queue_one_proof(s, &m, A_SX_FINISHING, sx_finished);
out:
	auth_msg_free(&m);
	return rc;
}

/* A host name or address as DEFINE SERVER's HLADDRESS takes it, with no
 * blanks or control characters (it is logged and shown). */
static int hladdress_ok(const char *h)
{
	if (!*h)
		return 0;
	for (; *h; h++)
		if ((unsigned char)*h <= ' ' || (unsigned char)*h >= 0x7f)
			return 0;
	return 1;
}

int crossdef_on_request(struct peer_session *s, struct cursor *p)
{
	struct peer *pe = s->p;
	struct auth *a = s->auth;
	char pw[128] = "", hl[256] = "";
	uint64_t ll = 0;
	struct cursor cur = *p, val;
	struct blob sealed = { 0 };
	struct crossdef_request rq;
	uint16_t tag;
	int rc, have_pw = 0;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == F_PASSWORD) {
			rc = tlv_get_str(&val, pw, sizeof(pw));
			have_pw = 1;
		} else if (tag == F_HLADDRESS)
			rc = tlv_get_str(&val, hl, sizeof(hl));
		else if (tag == F_LLADDRESS)
			rc = tlv_get_u64(&val, &ll);
		if (rc < 0)
			break;
	}
	if (rc < 0 || !have_pw || !instance_password_ok(pw) || !hladdress_ok(hl) || ll < 1 ||
	    ll > 65535) {
		secure_zero(pw, sizeof(pw));
		session_send_error(s, RPL_E_PROTOCOL,
				   "a cross-definition request needs a password of 8 to 64 "
				   "printable characters, an address and a port");
		session_close(s, -RPL_E_PROTOCOL, "a malformed cross-definition request");
		return 0;
	}
	rc = instance_seal(pe->in, SEAL_SERVER_PASSWORD, s->server, pw, strlen(pw), &sealed);
	secure_zero(pw, sizeof(pw));
	if (rc < 0)
		return rc;
	admit_success(&pe->adm, s->addr, s->server);
	log_info(RPL_I_CROSSDEF_PENDING,
		 "session %llu: server %s (%s) proved this server's password and asks to be "
		 "defined here, reached at %s:%llu",
		 (unsigned long long)s->id, s->server, s->addr, ESC(hl), (unsigned long long)ll);
	rq = (struct crossdef_request){
		.name = s->server,
		.addr = s->addr,
		.hladdress = hl,
		.lladdress = (int)ll,
		.sealed_pw = &sealed,
		.fp = s->peer_ci.fp,
		.not_after = s->peer_ci.not_after,
		.der = s->peer_der.p,
		.der_len = s->peer_der.n,
	};
	/* Held until peer_crossdef_done; frames still flow, so a second
	 * request (or anything else) ends the session meanwhile. */
	a->state = A_SX_DEFINING;
	session_ref(s);
	pe->hooks.crossdef(pe->hooks.ctx, s, &rq);
	blob_free(&sealed);
	return 0;
}

int peer_crossdef_waiting(const struct peer_session *s)
{
	return !session_closing(s) && s->auth && s->auth->state == A_SX_DEFINING;
}

int peer_crossdef_done(struct peer_session *s, int code, const char *text)
{
	int waiting = peer_crossdef_waiting(s);

	if (waiting && code == RPL_I_CROSSDEF_DONE) {
		struct wbuf w;
		wbuf_init(&w);
		tlv_put_str(&w, F_MSGID, rpl_msg_id(code));
		tlv_put_str(&w, F_TEXT, text ? text : rpl_msg_text(code));
		if (wbuf_status(&w) == 0)
			(void)conn_send_frame(s, MSG_CROSSDEF_DONE, &w);
		wbuf_free(&w);
		s->auth->state = A_DONE;
		/* Ended without close_notify, as a refusal ends: the requester
		 * decrypts a close_notify that arrives with the answer before it
		 * dispatches the answer, and would report the end instead. */
		s->quiet = 1;
		session_close(s, -RPL_E_CLOSED, "cross-definition answered");
	} else if (waiting) {
		s->auth->state = A_DONE;
		session_send_error(s, code, text);
		s->quiet = 1; /* the upper layer logged why */
		session_close(s, -code, "%s", text ? text : rpl_msg_text(code));
	}
	session_unref(s);
	return waiting;
}

/* ---- client (A) -------------------------------------------------------- */

int crossdef_client_request(struct peer_session *s)
{
	const struct rpl_conf *conf = &s->p->in->conf;
	char host[256];
	int port, rc;
	struct wbuf pw, w;

	if (conf_reach_address(conf, host, sizeof(host), &port) < 0)
		return -RPL_E_CROSSDEF_NOADDR;
	wbuf_init(&pw);
	rc = auth_own_password(s, &pw);
	if (rc == 0) {
		wbuf_put_u8(&pw, 0);
		rc = wbuf_status(&pw);
	}
	if (rc < 0) {
		wbuf_free(&pw);
		return rc;
	}
	wbuf_init(&w);
	tlv_put_str(&w, F_PASSWORD, (const char *)pw.p);
	tlv_put_str(&w, F_HLADDRESS, host);
	tlv_put_u64(&w, F_LLADDRESS, (uint64_t)port);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send_frame(s, MSG_CROSSDEF, &w);
	secure_zero(w.p, w.cap);
	wbuf_free(&w);
	secure_zero(pw.p, pw.cap);
	wbuf_free(&pw);
	proof_key_wipe(&s->auth->key_mem);
	s->auth->key = NULL;
	s->auth->state = A_C_XD_SENT;
	return rc;
}

int crossdef_on_done(struct peer_session *s, struct cursor *p)
{
	char id[16] = "", text[600] = "";
	struct cursor cur = *p, val;
	uint16_t tag;

	while (tlv_next(&cur, &tag, &val) > 0) {
		if (tag == F_MSGID)
			(void)tlv_get_str(&val, id, sizeof(id));
		else if (tag == F_TEXT)
			(void)tlv_get_str(&val, text, sizeof(text));
	}
	if (strcmp(id, rpl_msg_id(RPL_I_CROSSDEF_DONE)) != 0)
		return -RPL_E_PROTOCOL;
	snprintf(s->result.message, sizeof(s->result.message), "%s", ESC(text));
	s->auth->state = A_DONE;
	session_close(s, 0, NULL);
	return 0;
}
