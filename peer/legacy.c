#include "legacy.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../store/actlog.h"
#include "../store/server.h"
#include "../sync/talk.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "auth.h"
#include "conn.h"
#include "proto.h"

#define NONCE_LEN 32
#define TAG_LEN 32

struct legacy {
	uint8_t nonce_s[NONCE_LEN];
	uint8_t nonce_c[NONCE_LEN];
	uint8_t key[32]; /* SHA-256 of the password */
	int stage;
};

void legacy_free(struct conn *c)
{
	if (!c->legacy)
		return;
	secure_zero(c->legacy, sizeof(*c->legacy));
	free(c->legacy);
	c->legacy = NULL;
}

static int legacy_tag(struct conn *c, int from_client, uint8_t out[TAG_LEN])
{
	struct legacy *l = c->legacy;
	const char *label = from_client ? "rpl1 client" : "rpl1 server";
	const char *self = c->d->in.conf.servername;
	char cname[RPL_NAME_MAX + 1], sname[RPL_NAME_MAX + 1];
	Hmac h;
	int rc;

	store_name_key(c->role == ROLE_OUTBOUND ? self : c->server, cname, sizeof(cname));
	store_name_key(c->role == ROLE_OUTBOUND ? c->server : self, sname, sizeof(sname));
	if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
		return -RPL_E_CRYPTO;
	rc = wc_HmacSetKey(&h, WC_SHA256, l->key, sizeof(l->key));
	rc |= wc_HmacUpdate(&h, (const byte *)label, (word32)strlen(label) + 1);
	rc |= wc_HmacUpdate(&h, l->nonce_s, NONCE_LEN);
	rc |= wc_HmacUpdate(&h, l->nonce_c, NONCE_LEN);
	rc |= wc_HmacUpdate(&h, (const byte *)cname, (word32)strlen(cname) + 1);
	rc |= wc_HmacUpdate(&h, (const byte *)sname, (word32)strlen(sname) + 1);
	rc |= wc_HmacFinal(&h, out);
	wc_HmacFree(&h);
	return rc == 0 ? 0 : -RPL_E_CRYPTO;
}

static int set_key(struct conn *c, const struct wbuf *pw)
{
	return wc_Sha256Hash(pw->p, (word32)pw->len, c->legacy->key) == 0 ? 0 : -RPL_E_CRYPTO;
}

/* Records the down-level contact; the level never rises on protocol 1. */
static int commit_legacy(struct conn *c)
{
	struct daemon *d = c->d;
	struct server_rec r;
	MDB_txn *txn;
	int rc = store_begin(&d->in.store, 1, &txn);

	if (rc < 0)
		return rc;
	rc = store_server_get(txn, &d->in.store, c->server, &r);
	if (rc == 0) {
		snprintf(r.last_tls, sizeof(r.last_tls), "none");
		snprintf(r.last_cipher, sizeof(r.last_cipher), "none");
		snprintf(r.last_verified_by, sizeof(r.last_verified_by), "password");
		r.last_protocol = 1;
		r.last_contact = clock_now();
		rc = store_server_put(txn, &d->in.store, &r);
		if (rc == 0)
			rc = store_actlog_add(txn, &d->in.store, RPL_I_LEGACY,
					      "down-level (protocol 1) session %s server %s (%s); it stays %s",
					      c->role == ROLE_INBOUND ? "from" : "to", r.name, c->addr,
					      secsec_name(r.secsec));
		snprintf(c->result.secsec, sizeof(c->result.secsec), "%s", secsec_name(r.secsec));
		server_rec_free(&r);
	}
	if (rc == 0)
		return store_commit(txn);
	store_abort(txn);
	return rc;
}

static void ready(struct conn *c)
{
	snprintf(c->result.tls_version, sizeof(c->result.tls_version), "none");
	snprintf(c->result.cipher, sizeof(c->result.cipher), "none");
	snprintf(c->result.verified_by, sizeof(c->result.verified_by), "password");
	c->result.proto = 1;
	log_info(RPL_I_LEGACY, "session %llu %s server %s (%s): down-level protocol 1",
		 (unsigned long long)c->id, c->role == ROLE_INBOUND ? "from" : "to",
		 c->server, c->addr);
	conn_ready(c);
	talk_ready(c);
}

void legacy_client_start(struct conn *c)
{
	struct wbuf w;
	int rc;

	c->legacy = calloc(1, sizeof(*c->legacy));
	if (!c->legacy) {
		conn_close(c, -RPL_E_NOMEM, NULL);
		return;
	}
	wbuf_init(&w);
	tlv_put_str(&w, F_FROM, c->d->in.conf.servername);
	tlv_put_str(&w, F_TO, c->server);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send(c, MSG_L_HELLO, &w);
	wbuf_free(&w);
	if (rc < 0)
		conn_close(c, rc, "sending protocol 1 hello");
}

void legacy_server_start(struct conn *c)
{
	c->legacy = calloc(1, sizeof(*c->legacy));
	if (!c->legacy)
		conn_close(c, -RPL_E_NOMEM, NULL);
}

static int server_on_hello(struct conn *c, struct cursor *p)
{
	struct daemon *d = c->d;
	char from[RPL_NAME_MAX + 1] = "", to[RPL_NAME_MAX + 1] = "", why[512];
	struct cursor cur = *p, val;
	struct server_rec r;
	struct wbuf w;
	uint16_t tag;
	int rc;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == F_FROM)
			rc = tlv_get_str(&val, from, sizeof(from));
		else if (tag == F_TO)
			rc = tlv_get_str(&val, to, sizeof(to));
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	if (!conf_valid_name(from))
		return -RPL_E_PROTOCOL;
	if ((rc = conn_admit(c, from, to, NULL, &r)) != 0)
		return rc < 0 ? rc : 0;
	if (r.secsec == SECSEC_STRICT) {
		snprintf(why, sizeof(why), "server %s is STRICT on %s, so it must use protocol 2 "
			 "(TLS); to accept down-level sessions again run "
			 "'UPDATE SERVER %s SESSIONSECURITY=TRANSITIONAL' on %s",
			 r.name, d->in.conf.servername, r.name, d->in.conf.servername);
		server_rec_free(&r);
		conn_refuse(c, RPL_E_STRICT_LEGACY, why);
		return 0;
	}
	server_rec_free(&r);
	if (!d->in.conf.allowlegacy) {
		snprintf(why, sizeof(why), "ALLOWLEGACY is NO on %s", d->in.conf.servername);
		conn_refuse(c, RPL_E_LEGACY_OFF, why);
		return 0;
	}
	if ((rc = secure_random(c->legacy->nonce_s, NONCE_LEN)) < 0)
		return rc;
	wbuf_init(&w);
	tlv_put_str(&w, F_FROM, d->in.conf.servername);
	tlv_put(&w, F_NONCE, c->legacy->nonce_s, NONCE_LEN);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send(c, MSG_L_CHALLENGE, &w);
	wbuf_free(&w);
	c->legacy->stage = 1;
	return rc;
}

static int client_on_challenge(struct conn *c, struct cursor *p)
{
	char from[RPL_NAME_MAX + 1] = "";
	struct cursor cur = *p, val;
	struct server_rec r;
	struct wbuf pw, w;
	uint8_t t[TAG_LEN];
	MDB_txn *txn;
	uint16_t tag;
	int rc;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == F_FROM)
			rc = tlv_get_str(&val, from, sizeof(from));
		else if (tag == F_NONCE)
			rc = tlv_get_fixed(&val, c->legacy->nonce_s, NONCE_LEN);
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	if (strcasecmp(from, c->server) != 0) {
		conn_close(c, -RPL_E_NAME_MISMATCH, "expected %s, the partner says it is %s",
			   c->server, from);
		return 0;
	}
	if ((rc = store_begin(&c->d->in.store, 0, &txn)) < 0)
		return rc;
	rc = store_server_get(txn, &c->d->in.store, c->server, &r);
	store_abort(txn);
	if (rc < 0)
		return rc;
	wbuf_init(&pw);
	rc = instance_unseal(&c->d->in, SEAL_SERVER_PASSWORD, r.name, &r.password, &pw);
	server_rec_free(&r);
	if (rc == 0)
		rc = set_key(c, &pw);
	wbuf_free(&pw);
	if (rc == 0)
		rc = secure_random(c->legacy->nonce_c, NONCE_LEN);
	if (rc == 0)
		rc = legacy_tag(c, 1, t);
	if (rc < 0)
		return rc;
	wbuf_init(&w);
	tlv_put(&w, F_NONCE, c->legacy->nonce_c, NONCE_LEN);
	tlv_put(&w, F_TAG, t, TAG_LEN);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send(c, MSG_L_RESPONSE, &w);
	wbuf_free(&w);
	c->legacy->stage = 2;
	return rc;
}

static int server_on_response(struct conn *c, struct cursor *p)
{
	struct daemon *d = c->d;
	struct cursor cur = *p, val;
	uint8_t got[TAG_LEN], want[TAG_LEN];
	const uint8_t *v;
	size_t vlen;
	struct blob sealed = {0};
	struct wbuf pw;
	MDB_txn *txn;
	uint16_t tag;
	int rc, have_tag = 0;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == F_NONCE)
			rc = tlv_get_fixed(&val, c->legacy->nonce_c, NONCE_LEN);
		else if (tag == F_TAG) {
			rc = tlv_get_fixed(&val, got, TAG_LEN);
			have_tag = 1;
		}
		if (rc < 0)
			return -RPL_E_PROTOCOL;
	}
	if (!have_tag)
		return -RPL_E_PROTOCOL;
	if ((rc = store_begin(&d->in.store, 0, &txn)) < 0)
		return rc;
	rc = store_meta_get(txn, &d->in.store, "own_password", &v, &vlen);
	if (rc == 0)
		rc = blob_set(&sealed, v, vlen);
	store_abort(txn);
	wbuf_init(&pw);
	if (rc == 0)
		rc = instance_unseal(&d->in, SEAL_OWN_PASSWORD, NULL, &sealed, &pw);
	blob_free(&sealed);
	if (rc == 0)
		rc = set_key(c, &pw);
	wbuf_free(&pw);
	if (rc == 0)
		rc = legacy_tag(c, 1, want);
	if (rc < 0)
		return rc;
	if (!secure_equal(got, want, TAG_LEN)) {
		conn_record_failure(c, "wrong password");
		conn_send_error(c, RPL_E_AUTH_FAILED, NULL);
		conn_close(c, -RPL_E_AUTH_FAILED, "wrong password (protocol 1)");
		return 0;
	}
	if ((rc = commit_legacy(c)) < 0)
		return rc;
	if ((rc = legacy_tag(c, 0, want)) < 0)
		return rc;
	rc = conn_send_field(c, MSG_L_OK, F_TAG, want, TAG_LEN);
	if (rc == 0)
		ready(c);
	return rc;
}

static int client_on_ok(struct conn *c, struct cursor *p)
{
	struct cursor cur = *p, val;
	uint8_t got[TAG_LEN], want[TAG_LEN];
	uint16_t tag;
	int rc, have = 0;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0)
		if (tag == F_TAG) {
			if (tlv_get_fixed(&val, got, TAG_LEN) < 0)
				return -RPL_E_PROTOCOL;
			have = 1;
		}
	if (!have)
		return -RPL_E_PROTOCOL;
	if ((rc = legacy_tag(c, 0, want)) < 0)
		return rc;
	if (!secure_equal(got, want, TAG_LEN)) {
		conn_close(c, -RPL_E_AUTH_FAILED, "the server's protocol 1 answer is wrong");
		return 0;
	}
	if ((rc = commit_legacy(c)) < 0)
		return rc;
	ready(c);
	return 0;
}

int legacy_on_frame(struct conn *c, int type, struct cursor *p)
{
	if (!c->legacy)
		return -RPL_E_PROTOCOL;
	if (type == MSG_ERROR) {
		conn_on_error_frame(c, p);
		return 0;
	}
	if (c->role == ROLE_INBOUND) {
		if (type == MSG_L_HELLO && c->legacy->stage == 0)
			return server_on_hello(c, p);
		if (type == MSG_L_RESPONSE && c->legacy->stage == 1)
			return server_on_response(c, p);
	} else {
		if (type == MSG_L_CHALLENGE && c->legacy->stage == 0)
			return client_on_challenge(c, p);
		if (type == MSG_L_OK && c->legacy->stage == 2)
			return client_on_ok(c, p);
	}
	return -RPL_E_PROTOCOL;
}
