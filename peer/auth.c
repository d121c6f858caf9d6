#include "auth.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../store/actlog.h"
#include "../store/server.h"
#include "../store/trust.h"
#include "../sync/lifecycle.h"
#include "../sync/talk.h"
#include "../util/clock.h"
#include "../util/hex.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "continuity.h"
#include "conn.h"
#include "proto.h"
#include "keys/srp.h"

#define TAG_LEN 32
#define PAIRING_LEN 32

struct auth {
	int decision;          /* VB_* once the certificate is accepted */
	int refuse_code;       /* client: refusal kept until continuity is heard */
	char refuse_text[640];
	int method;
	int forcesync;         /* our FORCESYNC mark for this partner */
	uint8_t endorser_fp[FP_LEN]; /* the pin that endorsed the new certificate */
	int pins_changed;      /* commit changed the partner's pins */
	uint8_t exporter[32];
	/* SRP contexts: [0] the server's password (always), [1] the client's
	 * own password, asked for only when the server establishes trust in
	 * the client's certificate (first contact, FORCESYNC). Knowing the
	 * server's password, which every partner of it knows, is then not
	 * enough to take over another partner's entry. */
	struct srp_ctx *srp[2];
	int two_proofs;
	uint8_t pairing[PAIRING_LEN];
	int have_pairing;
	int srp_done;
	uint8_t peer_tag[TAG_LEN]; /* server: the client's tag, checked after SRP */
};

void auth_free(struct conn *c)
{
	if (!c->auth)
		return;
	srp_free(c->auth->srp[0]);
	srp_free(c->auth->srp[1]);
	secure_zero(c->auth, sizeof(*c->auth));
	free(c->auth);
	c->auth = NULL;
}

const uint8_t *auth_exporter(const struct conn *c)
{
	return c->auth ? c->auth->exporter : NULL;
}

/* ---- certificate decision ---------------------------------------------- */

struct chain_arg {
	WOLFSSL_CERT_MANAGER *cm;
	int n;
};

static int load_anchor(const struct trust_anchor *t, void *arg)
{
	struct chain_arg *a = arg;
	if (wolfSSL_CertManagerLoadCABuffer(a->cm, t->der.p, (long)t->der.n,
					    WOLFSSL_FILETYPE_ASN1) == WOLFSSL_SUCCESS)
		a->n++;
	return 0;
}

/* 1 when the certificate chains to a trust anchor (dates checked) and names
 * the partner in its CN or a DNS SAN. */
static int chains_to_anchor(struct conn *c, MDB_txn *txn, const char *name)
{
	struct chain_arg a = {wolfSSL_CertManagerNew(), 0};
	WOLFSSL_X509 *x;
	int ok = 0;

	if (!a.cm)
		return 0;
	if (store_trust_each(txn, &c->d->in.store, load_anchor, &a) == 0 && a.n > 0 &&
	    wolfSSL_CertManagerVerifyBuffer(a.cm, c->peer_der.p, (long)c->peer_der.n,
					    WOLFSSL_FILETYPE_ASN1) == WOLFSSL_SUCCESS) {
		x = wolfSSL_X509_load_certificate_buffer(c->peer_der.p, (int)c->peer_der.n,
							 WOLFSSL_FILETYPE_ASN1);
		if (x) {
			ok = strcasecmp(c->peer_ci.cn, name) == 0 ||
			     wolfSSL_X509_check_host(x, name, strlen(name), 0, NULL) ==
				     WOLFSSL_SUCCESS;
			wolfSSL_X509_free(x);
		}
	}
	wolfSSL_CertManagerFree(a.cm);
	return ok;
}

static void pins_text(const struct server_rec *r, char *out, size_t sz)
{
	size_t used = 0;
	out[0] = 0;
	for (int i = 0; i < r->npins && used + 80 < sz; i++) {
		char hex[65];
		hex_encode(r->pins[i].fp, FP_LEN, hex);
		used += (size_t)snprintf(out + used, sz - used, "%s%s (%s)", i ? ", " : "",
					 hex, pin_state_name(r->pins[i].state));
	}
}

/* Decides on the partner's certificate. Returns a VB_* value, or a negative
 * code with a message saying what was expected, what was seen, and what
 * command fixes it. */
static int decide(struct conn *c, MDB_txn *txn, const struct server_rec *r,
		  char *why, size_t whysz)
{
	const struct rpl_conf *conf = &c->d->in.conf;
	char expected[512];
	char until[32];

	if (!c->peer_der.n) {
		snprintf(why, whysz, "no certificate presented");
		return -RPL_E_NOCERT;
	}
	if (c->peer_ci.not_after < clock_now()) {
		clock_iso8601(c->peer_ci.not_after, until, sizeof(until));
		snprintf(why, whysz, "server %s presented certificate %s which expired on %s; "
			 "server %s must renew it ('RENEW CERTIFICATE' there) and, if it cannot "
			 "reach us, run 'UPDATE SERVER %s FORCESYNC=YES' here",
			 r->name, c->peer_ci.fp_hex, until, r->name, r->name);
		return -RPL_E_PEER_EXPIRED;
	}
	if (server_pin_find(r, c->peer_ci.fp) >= 0)
		return VB_PIN;
	if (chains_to_anchor(c, txn, r->name))
		return VB_CA;
	if (r->forcesync || (r->npins == 0 && conf->acceptcertfromserv))
		return VB_FIRST;
	if (r->npins == 0) {
		snprintf(why, whysz, "server %s presented certificate %s (%s), not pinned here; "
			 "SSLACCEPTCERTFROMSERV is NO: pin it with "
			 "'replpeer cert import-peer --server %s FILE' (its cert256.pem)",
			 r->name, c->peer_ci.fp_hex, c->peer_ci.subject, r->name);
		return -RPL_E_CERT_UNKNOWN;
	}
	pins_text(r, expected, sizeof(expected));
	snprintf(why, whysz, "server %s presented certificate %s but %s is pinned here; "
		 "if %s really has a new key, run 'UPDATE SERVER %s FORCESYNC=YES' here "
		 "(the password proof then re-exchanges certificates) or pin its "
		 "cert256.pem with 'replpeer cert import-peer --server %s FILE'",
		 r->name, c->peer_ci.fp_hex, expected, r->name, r->name, r->name);
	return -RPL_E_CERT_REFUSED;
}

static int load_peer_cert(struct conn *c)
{
	int rc = tls_peer_cert(c->ssl, &c->peer_der);
	if (rc < 0 || !c->peer_der.n)
		return rc < 0 ? rc : -RPL_E_NOCERT;
	return identity_cert_info(c->peer_der.p, c->peer_der.n, &c->peer_ci);
}

/* ---- binding tags ------------------------------------------------------ */

/* The tag binds the proof to this TLS session (exporter), both certificates
 * and both names: a man in the middle has two TLS sessions with different
 * exporters and cannot relay it. */
static int make_tag(struct conn *c, const uint8_t *key, size_t keylen, int from_client,
		    uint8_t out[TAG_LEN])
{
	const char *label = from_client ? "replpeer v2 client proof" : "replpeer v2 server proof";
	const char *self = c->d->in.conf.servername;
	const char *cname = c->role == ROLE_OUTBOUND ? self : c->server;
	const char *sname = c->role == ROLE_OUTBOUND ? c->server : self;
	const uint8_t *cfp = c->role == ROLE_OUTBOUND ? c->own_fp : c->peer_ci.fp;
	const uint8_t *sfp = c->role == ROLE_OUTBOUND ? c->peer_ci.fp : c->own_fp;
	char ckey[RPL_NAME_MAX + 1], skey[RPL_NAME_MAX + 1];
	uint8_t method = (uint8_t)c->auth->method;
	Hmac h;
	int rc;

	store_name_key(cname, ckey, sizeof(ckey));
	store_name_key(sname, skey, sizeof(skey));
	if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
		return -RPL_E_CRYPTO;
	rc = wc_HmacSetKey(&h, WC_SHA256, key, (word32)keylen);
	rc |= wc_HmacUpdate(&h, (const byte *)label, (word32)strlen(label) + 1);
	rc |= wc_HmacUpdate(&h, c->auth->exporter, 32);
	rc |= wc_HmacUpdate(&h, cfp, FP_LEN);
	rc |= wc_HmacUpdate(&h, sfp, FP_LEN);
	rc |= wc_HmacUpdate(&h, (const byte *)ckey, (word32)strlen(ckey) + 1);
	rc |= wc_HmacUpdate(&h, (const byte *)skey, (word32)strlen(skey) + 1);
	rc |= wc_HmacUpdate(&h, &method, 1);
	rc |= wc_HmacFinal(&h, out);
	wc_HmacFree(&h);
	return rc == 0 ? 0 : -RPL_E_CRYPTO;
}

/* The pairing key that later sessions use instead of SRP, from the SRP
 * session key(s) and both certificates of the pairing session. */
static int derive_pairing(struct conn *c, const uint8_t *K, size_t K_len)
{
	static const char salt[] = "replpeer pairing v1";
	uint8_t info[2 * FP_LEN];
	const uint8_t *cfp = c->role == ROLE_OUTBOUND ? c->own_fp : c->peer_ci.fp;
	const uint8_t *sfp = c->role == ROLE_OUTBOUND ? c->peer_ci.fp : c->own_fp;

	memcpy(info, cfp, FP_LEN);
	memcpy(info + FP_LEN, sfp, FP_LEN);
	if (wc_HKDF(WC_SHA256, K, (word32)K_len, (const byte *)salt, sizeof(salt) - 1,
		    info, sizeof(info), c->auth->pairing, PAIRING_LEN) != 0)
		return -RPL_E_CRYPTO;
	c->auth->have_pairing = 1;
	return 0;
}

static int unseal_blob(struct conn *c, enum seal_kind kind, const char *name,
		       const struct blob *sealed, struct wbuf *out)
{
	return instance_unseal(&c->d->in, kind, name, sealed, out);
}

/* ---- commit ------------------------------------------------------------ */

/* The decision on the partner's certificate was taken from the record as it
 * was when the session began; another session may have changed the pins
 * since (a renewal's confirmation round, a FORCESYNC). The pins are updated
 * only if that decision still holds against the record read in this
 * transaction; a stale session fails instead, so it can never bring back a
 * retired certificate or drop a newer one. */
static int commit_pins(struct conn *c, MDB_txn *txn, struct server_rec *r, int64_t t)
{
	struct daemon *d = c->d;
	struct auth *a = c->auth;
	int idx = server_pin_find(r, c->peer_ci.fp), rc = 0;
	const char *how = NULL;

	switch (a->decision) {
	case VB_FIRST:
		if (idx >= 0 && r->pins[idx].state == PIN_CURRENT && !r->forcesync)
			return 0; /* a concurrent session pinned the same certificate */
		if ((a->forcesync && !r->forcesync) || (!a->forcesync && r->npins > 0))
			goto stale;
		how = a->forcesync ? "forcesync" : "first-contact";
		server_pins_clear(r);
		break;
	case VB_PIN:
		if (idx < 0)
			goto stale;
		if (r->pins[idx].state == PIN_CURRENT)
			return 0;
		how = "announce"; /* a "next" pin now in use */
		break;
	case VB_CONTINUITY:
		if (server_pin_find(r, a->endorser_fp) < 0 && idx < 0)
			goto stale;
		how = "continuity";
		break;
	default:
		return 0; /* CA: the chain is checked in every session */
	}
	rc = continuity_promote(r, c->peer_ci.fp, c->peer_ci.not_after, t, how,
				c->peer_der.p, c->peer_der.n);
	if (rc == 0 && a->decision == VB_FIRST)
		rc = store_actlog_add(txn, &d->in.store, RPL_I_PINNED,
				      "certificate %s (%s) of server %s pinned after the password proof (%s)",
				      c->peer_ci.fp_hex, c->peer_ci.subject, r->name,
				      a->forcesync ? "FORCESYNC" : "first contact");
	else if (rc == 0)
		rc = store_actlog_add(txn, &d->in.store, RPL_I_PINNED,
				      "certificate %s (%s) of server %s is now its current pin (verified by %s)",
				      c->peer_ci.fp_hex, c->peer_ci.subject, r->name,
				      verified_by_name(a->decision));
	if (rc == 0)
		a->pins_changed = 1;
	return rc;
stale:
	log_warn(RPL_E_CERT_REFUSED, "server %s: its pins changed while this session was set up; "
		 "the session is dropped and the next one decides again", r->name);
	return -RPL_E_CERT_REFUSED;
}

/* One transaction: pins, pairing key, STRICT, FORCESYNC mark, last contact. */
static int commit_session(struct conn *c)
{
	struct daemon *d = c->d;
	struct auth *a = c->auth;
	struct server_rec r;
	MDB_txn *txn;
	int rc;
	int64_t t = clock_now();

	if ((rc = store_begin(&d->in.store, 1, &txn)) < 0)
		return rc;
	rc = store_server_get(txn, &d->in.store, c->server, &r);
	if (rc < 0) {
		store_abort(txn);
		return rc == -RPL_E_NOTFOUND ? -RPL_E_UNKNOWN_SERVER : rc;
	}
	rc = commit_pins(c, txn, &r, t);
	if (rc == 0 && a->srp_done && a->have_pairing) {
		struct blob *slot = c->role == ROLE_OUTBOUND ? &r.key_out : &r.key_in;
		blob_free(slot);
		rc = instance_seal(&d->in,
				   c->role == ROLE_OUTBOUND ? SEAL_PAIRING_OUT : SEAL_PAIRING_IN,
				   r.name, a->pairing, PAIRING_LEN, slot);
	}
	if (rc == 0 && r.forcesync && a->forcesync && a->srp_done) {
		r.forcesync = 0;
		rc = store_actlog_add(txn, &d->in.store, RPL_I_PINNED,
				      "FORCESYNC with server %s completed: pins replaced", r.name);
	}
	if (rc == 0 && r.secsec == SECSEC_TRANSITIONAL) {
		r.secsec = SECSEC_STRICT;
		rc = store_actlog_add(txn, &d->in.store, RPL_I_STRICT,
				      "server %s moved to STRICT: protocol 2, %s, certificate verified by %s",
				      r.name, tls_version_name(c->ssl), verified_by_name(a->decision));
		log_info(RPL_I_STRICT, "server %s moved to STRICT session security", r.name);
	}
	if (rc == 0) {
		snprintf(r.last_tls, sizeof(r.last_tls), "%s", tls_version_name(c->ssl));
		snprintf(r.last_cipher, sizeof(r.last_cipher), "%s", tls_cipher_name(c->ssl));
		snprintf(r.last_verified_by, sizeof(r.last_verified_by), "%s",
			 verified_by_name(a->decision));
		r.last_protocol = 2;
		r.last_contact = t;
		rc = store_server_put(txn, &d->in.store, &r);
	}
	if (rc == 0)
		rc = store_commit(txn);
	else
		store_abort(txn);
	if (rc == 0) {
		snprintf(c->result.secsec, sizeof(c->result.secsec), "%s", secsec_name(r.secsec));
	}
	server_rec_free(&r);
	return rc;
}

static void finish_ready(struct conn *c)
{
	snprintf(c->result.tls_version, sizeof(c->result.tls_version), "%s",
		 tls_version_name(c->ssl));
	snprintf(c->result.cipher, sizeof(c->result.cipher), "%s", tls_cipher_name(c->ssl));
	snprintf(c->result.verified_by, sizeof(c->result.verified_by), "%s",
		 verified_by_name(c->auth->decision));
	c->result.proto = 2;
	c->verified_by = c->auth->decision;
	log_info(RPL_I_SESSION, "session %llu %s server %s (%s): %s %s, certificate by %s, %s",
		 (unsigned long long)c->id, c->role == ROLE_INBOUND ? "from" : "to",
		 c->server, c->addr, c->result.tls_version, c->result.cipher,
		 c->result.verified_by,
		 c->auth->srp_done ? "password proof (SRP)" : "pairing key");
	/* The proof material is no longer needed. */
	for (int i = 0; i < 2; i++) {
		srp_free(c->auth->srp[i]);
		c->auth->srp[i] = NULL;
	}
	secure_zero(c->auth->pairing, PAIRING_LEN);
	if (c->auth->pins_changed)
		lifecycle_pins_changed(c->d, c->server);
	conn_ready(c);
	talk_ready(c);
}

/* ---- SRP on the thread pool ------------------------------------------- */

enum { JOB_SERVER_START, JOB_SERVER_FINISH, JOB_CLIENT };

/* One SRP exchange's inputs and outputs. */
struct proof {
	int used;
	struct wbuf password;  /* client; server slot 1: the client's password */
	struct blob salt, verifier, B, A, M1, M2;
	struct srp_ctx *srp;
	uint8_t K[SRP_KEY_MAX];
	size_t K_len;
};

struct srp_job {
	uv_work_t req;
	struct conn *c;
	int kind;
	int rc;
	struct proof p[2];
};

static void job_free(struct srp_job *j)
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

static struct srp_job *job_new(int kind)
{
	struct srp_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->kind = kind;
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
		/* A verifier made here from the stored password: slot 1. */
		if (!p->verifier.n) {
			uint8_t salt[SRP_SALT_LEN];
			rc = terminate(&p->password);
			if (rc == 0)
				rc = srp_make_verifier((const char *)p->password.p, salt, &p->verifier);
			if (rc == 0)
				rc = blob_set(&p->salt, salt, sizeof(salt));
			if (rc < 0)
				return rc;
		}
		return srp_server_start(&p->srp, p->salt.p, p->salt.n, p->verifier.p,
					p->verifier.n, &p->B);
	case JOB_SERVER_FINISH:
		return srp_server_finish(p->srp, p->A.p, p->A.n, p->M1.p, p->M1.n, &p->M2,
					 p->K, &p->K_len);
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
	for (int i = 0; i < 2 && j->rc == 0; i++)
		if (j->p[i].used)
			j->rc = proof_work(j->kind, &j->p[i]);
}

/* K of slot 0, then K of slot 1 when the second proof ran. */
static int job_keys(struct srp_job *j, uint8_t *out, size_t *len)
{
	*len = 0;
	for (int i = 0; i < 2; i++) {
		if (!j->p[i].used)
			continue;
		memcpy(out + *len, j->p[i].K, j->p[i].K_len);
		*len += j->p[i].K_len;
	}
	return *len ? 0 : -RPL_E_CRYPTO;
}

static void server_srp_started(struct conn *c, struct srp_job *j);
static void server_srp_finished(struct conn *c, struct srp_job *j);
static void client_srp_done(struct conn *c, struct srp_job *j);

static void job_after(uv_work_t *req, int status)
{
	struct srp_job *j = req->data;
	struct conn *c = j->c;

	if (!conn_closing(c)) {
		if (status < 0)
			conn_close(c, -RPL_E_INTERNAL, "password proof job cancelled");
		else if (j->kind == JOB_SERVER_START)
			server_srp_started(c, j);
		else if (j->kind == JOB_SERVER_FINISH)
			server_srp_finished(c, j);
		else
			client_srp_done(c, j);
	}
	job_free(j);
	if (!conn_closing(c))
		conn_resume(c);
	conn_unref(c);
}

static int job_queue(struct conn *c, struct srp_job *j)
{
	j->c = c;
	j->req.data = j;
	conn_ref(c);
	conn_pause(c);
	if (uv_queue_work(c->d->loop, &j->req, job_work, job_after) < 0) {
		c->paused = 0;
		conn_unref(c);
		job_free(j);
		return -RPL_E_INTERNAL;
	}
	return 0;
}

/* ---- client side ------------------------------------------------------- */

static int load_server(struct conn *c, MDB_txn **txn, struct server_rec *r)
{
	int rc = store_begin(&c->d->in.store, 0, txn);
	if (rc < 0)
		return rc;
	rc = store_server_get(*txn, &c->d->in.store, c->server, r);
	if (rc < 0) {
		store_abort(*txn);
		*txn = NULL;
		return rc == -RPL_E_NOTFOUND ? -RPL_E_UNKNOWN_SERVER : rc;
	}
	return 0;
}

void auth_client_start(struct conn *c)
{
	struct server_rec r;
	struct wbuf w;
	MDB_txn *txn;
	int rc;

	c->auth = calloc(1, sizeof(*c->auth));
	if (!c->auth) {
		conn_close(c, -RPL_E_NOMEM, NULL);
		return;
	}
	if ((rc = load_peer_cert(c)) < 0) {
		conn_close(c, rc, "server %s", c->server);
		return;
	}
	if ((rc = tls_exporter(c->ssl, EXPORTER_LABEL, c->auth->exporter)) < 0) {
		conn_close(c, rc, "TLS exporter");
		return;
	}
	if ((rc = load_server(c, &txn, &r)) < 0) {
		conn_close(c, rc, "%s", c->server);
		return;
	}
	rc = decide(c, txn, &r, c->auth->refuse_text, sizeof(c->auth->refuse_text));
	store_abort(txn);
	c->auth->forcesync = r.forcesync;
	if (rc == -RPL_E_CERT_REFUSED && r.npins > 0) {
		/* A changed certificate may still be endorsed by a pinned one:
		 * the server's reply carries that proof. Nothing else from the
		 * server is acted on until it verified. */
		c->auth->refuse_code = rc;
		c->auth->decision = VB_NONE;
	} else if (rc < 0) {
		conn_send_error(c, RPL_E_PARTNER_REFUSED, "the client refused the server certificate");
		conn_close(c, rc, "%s", c->auth->refuse_text);
		server_rec_free(&r);
		return;
	} else {
		c->auth->decision = rc;
	}
	c->auth->method = (c->auth->decision == VB_FIRST || r.forcesync || !r.key_out.n)
				  ? METHOD_SRP : METHOD_KEY;
	wbuf_init(&w);
	tlv_put_str(&w, F_FROM, c->d->in.conf.servername);
	tlv_put_str(&w, F_TO, r.name);
	tlv_put_u64(&w, F_PROTO, 2);
	tlv_put_u64(&w, F_METHOD, (uint64_t)c->auth->method);
	tlv_put_u64(&w, F_FLAGS, r.forcesync ? FLAG_FORCESYNC : 0);
	rc = continuity_offer(c, c->auth->exporter, &w);
	if (rc == 0)
		rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send(c, MSG_HELLO, &w);
	wbuf_free(&w);
	server_rec_free(&r);
	if (rc < 0)
		conn_close(c, rc, "sending HELLO");
}

static int client_on_reply(struct conn *c, struct cursor *p)
{
	struct auth *a = c->auth;
	char name[RPL_NAME_MAX + 1] = "";
	struct srp_job *j;
	struct server_rec r;
	struct cursor cur = *p, val;
	MDB_txn *txn;
	uint64_t method = 0;
	uint16_t tag;
	int rc;

	j = job_new(JOB_CLIENT);
	if (!j)
		return -RPL_E_NOMEM;
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == F_FROM)
			rc = tlv_get_str(&val, name, sizeof(name));
		else if (tag == F_METHOD)
			rc = tlv_get_u64(&val, &method);
		else if (tag == F_SALT)
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
		job_free(j);
		return -RPL_E_PROTOCOL;
	}
	if (strcasecmp(name, c->server) != 0) {
		job_free(j);
		conn_close(c, -RPL_E_NAME_MISMATCH, "expected %s, the partner says it is %s",
			   c->server, name);
		return 0;
	}
	if ((rc = load_server(c, &txn, &r)) < 0) {
		job_free(j);
		return rc;
	}
	store_abort(txn);
	if (a->decision == VB_NONE) {
		int pin = continuity_check(c, &r, a->exporter, p);
		if (pin < 0) {
			job_free(j);
			server_rec_free(&r);
			conn_send_error(c, RPL_E_PARTNER_REFUSED, "the client refused the server certificate");
			conn_close(c, a->refuse_code, "%s", a->refuse_text);
			return 0;
		}
		a->decision = VB_CONTINUITY;
		memcpy(a->endorser_fp, r.pins[pin].fp, FP_LEN);
	}
	/* The server may demand SRP; it may not skip it when we asked. */
	if (a->method == METHOD_SRP && method != METHOD_SRP) {
		job_free(j);
		server_rec_free(&r);
		return -RPL_E_PROTOCOL;
	}
	a->method = (int)method;
	if (method == METHOD_KEY) {
		struct wbuf key;
		uint8_t t[TAG_LEN];
		job_free(j);
		wbuf_init(&key);
		rc = unseal_blob(c, SEAL_PAIRING_OUT, r.name, &r.key_out, &key);
		server_rec_free(&r);
		if (rc == 0 && key.len == PAIRING_LEN) {
			memcpy(a->pairing, key.p, PAIRING_LEN);
			rc = make_tag(c, a->pairing, PAIRING_LEN, 1, t);
		} else if (rc == 0) {
			rc = -RPL_E_UNSEAL;
		}
		wbuf_free(&key);
		if (rc < 0)
			return rc;
		return conn_send_field(c, MSG_AUTH, F_TAG, t, TAG_LEN);
	}
	if (!j->p[0].salt.n || !j->p[0].B.n || (!j->p[1].salt.n != !j->p[1].B.n)) {
		job_free(j);
		server_rec_free(&r);
		return -RPL_E_PROTOCOL;
	}
	j->p[0].used = 1;
	rc = unseal_blob(c, SEAL_SERVER_PASSWORD, r.name, &r.password, &j->p[0].password);
	server_rec_free(&r);
	if (rc == 0 && j->p[1].B.n) {
		/* The server establishes trust in our certificate: prove our own
		 * password too. */
		const uint8_t *v;
		size_t vlen;
		struct blob sealed = {0};
		MDB_txn *t2;
		j->p[1].used = 1;
		a->two_proofs = 1;
		rc = store_begin(&c->d->in.store, 0, &t2);
		if (rc == 0) {
			rc = store_meta_get(t2, &c->d->in.store, "own_password", &v, &vlen);
			if (rc == 0)
				rc = blob_set(&sealed, v, vlen);
			store_abort(t2);
		}
		if (rc == 0)
			rc = instance_unseal(&c->d->in, SEAL_OWN_PASSWORD, NULL, &sealed, &j->p[1].password);
		blob_free(&sealed);
	}
	if (rc < 0) {
		job_free(j);
		return rc;
	}
	return job_queue(c, j);
}

static void client_srp_done(struct conn *c, struct srp_job *j)
{
	struct auth *a = c->auth;
	uint8_t t[TAG_LEN];
	struct wbuf w;
	int rc = j->rc;

	uint8_t K[2 * SRP_KEY_MAX];
	size_t K_len;

	if (rc < 0) {
		conn_close(c, rc, "password proof");
		return;
	}
	for (int i = 0; i < 2; i++) {
		a->srp[i] = j->p[i].srp;
		j->p[i].srp = NULL;
	}
	/* Both tags are keyed with the pairing key derived from K. */
	rc = job_keys(j, K, &K_len);
	if (rc == 0)
		rc = derive_pairing(c, K, K_len);
	secure_zero(K, sizeof(K));
	if (rc == 0)
		rc = make_tag(c, a->pairing, PAIRING_LEN, 1, t);
	if (rc < 0) {
		conn_close(c, rc, "password proof");
		return;
	}
	wbuf_init(&w);
	tlv_put(&w, F_SRP_A, j->p[0].A.p, j->p[0].A.n);
	tlv_put(&w, F_SRP_M1, j->p[0].M1.p, j->p[0].M1.n);
	if (j->p[1].used) {
		tlv_put(&w, F_SRP_A2, j->p[1].A.p, j->p[1].A.n);
		tlv_put(&w, F_SRP_M1_2, j->p[1].M1.p, j->p[1].M1.n);
	}
	tlv_put(&w, F_TAG, t, TAG_LEN);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send(c, MSG_AUTH, &w);
	wbuf_free(&w);
	if (rc < 0)
		conn_close(c, rc, "sending the proof");
}

static int client_on_ok(struct conn *c, struct cursor *p)
{
	struct auth *a = c->auth;
	struct blob M2 = {0}, M2b = {0}, tagv = {0};
	struct cursor cur = *p, val;
	uint8_t want[TAG_LEN];
	uint16_t tag;
	int rc;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == F_SRP_M2)
			rc = tlv_get_blob(&val, &M2);
		else if (tag == F_SRP_M2_2)
			rc = tlv_get_blob(&val, &M2b);
		else if (tag == F_TAG)
			rc = tlv_get_blob(&val, &tagv);
		if (rc < 0)
			break;
	}
	if (rc < 0 || tagv.n != TAG_LEN) {
		rc = -RPL_E_PROTOCOL;
		goto out;
	}
	if (a->method == METHOD_SRP) {
		if (!a->srp[0] || srp_client_finish(a->srp[0], M2.p, M2.n) < 0 ||
		    (a->two_proofs && (!a->srp[1] || srp_client_finish(a->srp[1], M2b.p, M2b.n) < 0))) {
			conn_record_failure(c, "the server's password proof is wrong (it does not hold the verifier of this password)");
			rc = -RPL_E_AUTH_FAILED;
			goto out;
		}
		rc = make_tag(c, a->pairing, PAIRING_LEN, 0, want);
		a->srp_done = 1;
	} else {
		rc = make_tag(c, a->pairing, PAIRING_LEN, 0, want);
	}
	if (rc == 0 && !secure_equal(want, tagv.p, TAG_LEN)) {
		conn_record_failure(c, "the server's session binding is wrong (a man in the middle, or a changed pairing)");
		rc = -RPL_E_AUTH_FAILED;
	}
	if (rc == 0)
		rc = commit_session(c);
	if (rc == 0)
		finish_ready(c);
out:
	blob_free(&M2);
	blob_free(&M2b);
	blob_free(&tagv);
	return rc;
}

static int on_error_frame(struct conn *c, struct cursor *p)
{
	if (conn_on_error_frame(c, p) == RPL_E_AUTH_FAILED && c->role == ROLE_OUTBOUND)
		conn_record_failure(c, "the partner rejected our password proof: check SERVERPASSWORD");
	return 0;
}

/* ---- server side ------------------------------------------------------- */

void auth_server_start(struct conn *c)
{
	int rc;

	c->auth = calloc(1, sizeof(*c->auth));
	if (!c->auth) {
		conn_close(c, -RPL_E_NOMEM, NULL);
		return;
	}
	rc = load_peer_cert(c);
	if (rc == -RPL_E_NOCERT) {
		conn_send_error(c, RPL_E_NOCERT, NULL);
		conn_close(c, rc, "from %s", c->addr);
		return;
	}
	if (rc == 0)
		rc = tls_exporter(c->ssl, EXPORTER_LABEL, c->auth->exporter);
	if (rc < 0)
		conn_close(c, rc, "client certificate");
	/* Wait for HELLO. */
}

static int server_on_hello(struct conn *c, struct cursor *p)
{
	struct daemon *d = c->d;
	struct auth *a = c->auth;
	char from[RPL_NAME_MAX + 1] = "", to[RPL_NAME_MAX + 1] = "", why[640];
	struct cursor cur = *p, val;
	struct server_rec r;
	uint64_t method = 0, flags = 0, proto = 0;
	uint16_t tag;
	MDB_txn *txn;
	int rc;

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
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	if (!conf_valid_name(from) || proto != 2 ||
	    (method != METHOD_KEY && method != METHOD_SRP))
		return -RPL_E_PROTOCOL;
	if ((rc = conn_admit(c, from, to, &txn, &r)) != 0)
		return rc < 0 ? rc : 0;
	rc = decide(c, txn, &r, why, sizeof(why));
	store_abort(txn);
	if (rc == -RPL_E_CERT_REFUSED) {
		int pin = continuity_check(c, &r, a->exporter, p);
		if (pin >= 0) {
			memcpy(a->endorser_fp, r.pins[pin].fp, FP_LEN);
			rc = VB_CONTINUITY;
		}
	}
	if (rc < 0) {
		server_rec_free(&r);
		log_warn(-rc, "%s", why);
		conn_refuse(c, -rc, why);
		return 0;
	}
	a->decision = rc;
	a->forcesync = r.forcesync;
	a->method = (method == METHOD_SRP || rc == VB_FIRST || r.forcesync || !r.key_in.n)
			    ? METHOD_SRP : METHOD_KEY;
	(void)flags;
	rc = 0;
	if (a->method == METHOD_KEY) {
		struct wbuf key, w;
		wbuf_init(&key);
		rc = unseal_blob(c, SEAL_PAIRING_IN, r.name, &r.key_in, &key);
		server_rec_free(&r);
		if (rc == 0 && key.len == PAIRING_LEN)
			memcpy(a->pairing, key.p, PAIRING_LEN);
		else if (rc == 0)
			rc = -RPL_E_UNSEAL;
		wbuf_free(&key);
		if (rc < 0)
			return rc;
		wbuf_init(&w);
		tlv_put_str(&w, F_FROM, d->in.conf.servername);
		tlv_put_u64(&w, F_METHOD, METHOD_KEY);
		rc = continuity_offer(c, c->auth->exporter, &w);
		if (rc == 0)
			rc = wbuf_status(&w);
		if (rc == 0)
			rc = conn_send(c, MSG_HELLO_REPLY, &w);
		wbuf_free(&w);
		return rc;
	}
	/* SRP: slot 0 proves our own password (its verifier is sealed in
	 * meta); slot 1, when we establish trust in the client's certificate,
	 * makes the client prove its own password, which we hold. */
	{
		struct srp_job *j = job_new(JOB_SERVER_START);
		const uint8_t *v;
		size_t vlen;
		struct blob sealed = {0};
		struct wbuf plain;

		if (!j) {
			server_rec_free(&r);
			return -RPL_E_NOMEM;
		}
		j->p[0].used = 1;
		if (a->decision == VB_FIRST) {
			j->p[1].used = 1;
			a->two_proofs = 1;
			rc = unseal_blob(c, SEAL_SERVER_PASSWORD, r.name, &r.password, &j->p[1].password);
		}
		server_rec_free(&r);
		if (rc == 0)
			rc = store_begin(&d->in.store, 0, &txn);
		if (rc == 0) {
			rc = store_meta_get(txn, &d->in.store, "srp", &v, &vlen);
			if (rc == 0 && vlen > SRP_SALT_LEN) {
				rc = blob_set(&j->p[0].salt, v, SRP_SALT_LEN);
				if (rc == 0)
					rc = blob_set(&sealed, v + SRP_SALT_LEN, vlen - SRP_SALT_LEN);
			} else if (rc == 0) {
				rc = -RPL_E_CORRUPT;
			}
			store_abort(txn);
		}
		wbuf_init(&plain);
		if (rc == 0)
			rc = instance_unseal(&d->in, SEAL_SRP_VERIFIER, NULL, &sealed, &plain);
		if (rc == 0)
			rc = blob_set(&j->p[0].verifier, plain.p, plain.len);
		wbuf_free(&plain);
		blob_free(&sealed);
		if (rc < 0) {
			job_free(j);
			return rc;
		}
		return job_queue(c, j);
	}
}

static void server_srp_started(struct conn *c, struct srp_job *j)
{
	struct wbuf w;
	int rc = j->rc;

	if (rc < 0) {
		conn_close(c, rc, "password proof set-up");
		return;
	}
	for (int i = 0; i < 2; i++) {
		c->auth->srp[i] = j->p[i].srp;
		j->p[i].srp = NULL;
	}
	wbuf_init(&w);
	tlv_put_str(&w, F_FROM, c->d->in.conf.servername);
	tlv_put_u64(&w, F_METHOD, METHOD_SRP);
	tlv_put(&w, F_SALT, j->p[0].salt.p, j->p[0].salt.n);
	tlv_put(&w, F_SRP_B, j->p[0].B.p, j->p[0].B.n);
	if (j->p[1].used) {
		tlv_put(&w, F_SALT2, j->p[1].salt.p, j->p[1].salt.n);
		tlv_put(&w, F_SRP_B2, j->p[1].B.p, j->p[1].B.n);
	}
	rc = continuity_offer(c, c->auth->exporter, &w);
	if (rc == 0)
		rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send(c, MSG_HELLO_REPLY, &w);
	wbuf_free(&w);
	if (rc < 0)
		conn_close(c, rc, "sending HELLO_REPLY");
}

static int send_auth_ok(struct conn *c, const struct blob *M2, const struct blob *M2b)
{
	uint8_t t[TAG_LEN];
	struct wbuf w;
	int rc = make_tag(c, c->auth->pairing, PAIRING_LEN, 0, t);

	if (rc < 0)
		return rc;
	wbuf_init(&w);
	if (M2)
		tlv_put(&w, F_SRP_M2, M2->p, M2->n);
	if (M2b && M2b->n)
		tlv_put(&w, F_SRP_M2_2, M2b->p, M2b->n);
	tlv_put(&w, F_TAG, t, TAG_LEN);
	tlv_put_str(&w, F_VERIFIED_BY, verified_by_name(c->auth->decision));
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send(c, MSG_AUTH_OK, &w);
	wbuf_free(&w);
	return rc;
}

static void fail_proof(struct conn *c, const char *detail)
{
	conn_record_failure(c, detail);
	conn_send_error(c, RPL_E_AUTH_FAILED, NULL);
	conn_close(c, -RPL_E_AUTH_FAILED, "%s", detail);
}

static void server_srp_finished(struct conn *c, struct srp_job *j)
{
	struct auth *a = c->auth;
	uint8_t want[TAG_LEN];
	int rc;

	if (j->rc == -RPL_E_AUTH_FAILED) {
		fail_proof(c, "wrong password proof");
		return;
	}
	if (j->rc < 0) {
		conn_close(c, j->rc, "password proof");
		return;
	}
	{
		uint8_t K[2 * SRP_KEY_MAX];
		size_t K_len;
		rc = job_keys(j, K, &K_len);
		if (rc == 0)
			rc = derive_pairing(c, K, K_len);
		secure_zero(K, sizeof(K));
	}
	if (rc == 0)
		rc = make_tag(c, a->pairing, PAIRING_LEN, 1, want);
	if (rc == 0 && !secure_equal(want, a->peer_tag, TAG_LEN)) {
		fail_proof(c, "the proof is not bound to this TLS session (a man in the middle?)");
		return;
	}
	a->srp_done = 1;
	/* Commit before answering: if we die now the client has nothing, and
	 * its next attempt repeats the proof. */
	if (rc == 0)
		rc = commit_session(c);
	if (rc == 0)
		rc = send_auth_ok(c, &j->p[0].M2, &j->p[1].M2);
	if (rc < 0) {
		conn_close(c, rc, "completing the password proof");
		return;
	}
	finish_ready(c);
}

static int server_on_auth(struct conn *c, struct cursor *p)
{
	struct auth *a = c->auth;
	struct blob A = {0}, M1 = {0}, A2 = {0}, M1b = {0}, tagv = {0};
	struct cursor cur = *p, val;
	uint16_t tag;
	int rc;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == F_SRP_A)
			rc = tlv_get_blob(&val, &A);
		else if (tag == F_SRP_M1)
			rc = tlv_get_blob(&val, &M1);
		else if (tag == F_SRP_A2)
			rc = tlv_get_blob(&val, &A2);
		else if (tag == F_SRP_M1_2)
			rc = tlv_get_blob(&val, &M1b);
		else if (tag == F_TAG)
			rc = tlv_get_blob(&val, &tagv);
		if (rc < 0)
			break;
	}
	if (rc < 0 || tagv.n != TAG_LEN) {
		rc = -RPL_E_PROTOCOL;
		goto out;
	}
	memcpy(a->peer_tag, tagv.p, TAG_LEN);
	if (a->method == METHOD_KEY) {
		uint8_t want[TAG_LEN];
		rc = make_tag(c, a->pairing, PAIRING_LEN, 1, want);
		if (rc == 0 && !secure_equal(want, tagv.p, TAG_LEN)) {
			fail_proof(c, "wrong pairing-key proof");
			rc = 0;
			goto out;
		}
		if (rc == 0)
			rc = commit_session(c);
		if (rc == 0)
			rc = send_auth_ok(c, NULL, NULL);
		if (rc == 0)
			finish_ready(c);
		goto out;
	}
	if (!a->srp[0] || !A.n || !M1.n) {
		rc = -RPL_E_PROTOCOL;
		goto out;
	}
	if (a->two_proofs && (!A2.n || !M1b.n)) {
		fail_proof(c, "the client did not prove its own password");
		rc = 0;
		goto out;
	}
	{
		struct srp_job *j = job_new(JOB_SERVER_FINISH);
		if (!j) {
			rc = -RPL_E_NOMEM;
			goto out;
		}
		j->p[0].used = 1;
		j->p[0].A = A;
		j->p[0].M1 = M1;
		A = M1 = (struct blob){0};
		if (a->two_proofs) {
			j->p[1].used = 1;
			j->p[1].A = A2;
			j->p[1].M1 = M1b;
			A2 = M1b = (struct blob){0};
		}
		for (int i = 0; i < 2; i++) { /* the job owns them now */
			j->p[i].srp = a->srp[i];
			a->srp[i] = NULL;
		}
		rc = job_queue(c, j);
	}
out:
	blob_free(&A);
	blob_free(&M1);
	blob_free(&A2);
	blob_free(&M1b);
	blob_free(&tagv);
	return rc;
}

/* ---- dispatch ---------------------------------------------------------- */

int auth_on_frame(struct conn *c, int type, struct cursor *p)
{
	if (!c->auth)
		return -RPL_E_PROTOCOL;
	if (type == MSG_ERROR)
		return on_error_frame(c, p);
	if (c->role == ROLE_OUTBOUND) {
		if (type == MSG_HELLO_REPLY)
			return client_on_reply(c, p);
		if (type == MSG_AUTH_OK)
			return client_on_ok(c, p);
	} else {
		if (type == MSG_HELLO && !c->server[0])
			return server_on_hello(c, p);
		if (type == MSG_AUTH && c->auth->decision != VB_NONE)
			return server_on_auth(c, p);
	}
	return -RPL_E_PROTOCOL;
}
