/*
 * hostile_keys: the hostile peer's keys — certificates and private keys made
 * on the spot, read from files, or taken from an instance directory (its own
 * identity, its sealed passwords and pairing keys, unsealed with its master
 * key exactly as the daemon does) — and the signed proofs of peer/continuity.
 * Instances are opened for reading only.
 */
#include "hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "../../peer/keys/identity.h"
#include "../../store/owncert.h"
#include "../../store/server.h"
#include "../../util/clock.h"
#include "../../util/fsutil.h"
#include "../../util/hex.h"
#include "../../util/msg.h"

struct ident *h_ident(struct hctx *h, const char *name)
{
	for (int i = 0; i < h->nids; i++)
		if (strcmp(h->ids[i].name, name) == 0)
			return &h->ids[i];
	h_fail(h, "no identity %s", name);
	return NULL;
}

struct ident *h_ident_new(struct hctx *h, const char *name)
{
	struct ident *id = NULL;

	for (int i = 0; i < h->nids && !id; i++)
		if (strcmp(h->ids[i].name, name) == 0)
			id = &h->ids[i];
	if (!id) {
		if (h->nids >= H_MAX_IDS) {
			h_fail(h, "too many identities");
			return NULL;
		}
		id = &h->ids[h->nids++];
	}
	blob_free(&id->der);
	blob_free(&id->key);
	memset(id, 0, sizeof(*id));
	snprintf(id->name, sizeof(id->name), "%s", name);
	return id;
}

/* The variables <name>.fp and <name>.cert describe a loaded identity. */
int h_ident_loaded(struct hctx *h, struct ident *id)
{
	char var[H_NAME + 8];
	json_t *ev;
	char *hex;

	if (identity_fingerprint(id->der.p, id->der.n, id->fp) < 0)
		return h_fail(h, "identity %s: certificate does not parse", id->name);
	snprintf(var, sizeof(var), "%s.fp", id->name);
	h_setvar(h, var, id->fp, 32, 0);
	snprintf(var, sizeof(var), "%s.cert", id->name);
	h_setvar(h, var, id->der.p, id->der.n, 0);
	ev = h_event(h, "identity");
	json_object_set_new(ev, "name", json_string(id->name));
	hex = h_hex(id->fp, 32);
	json_object_set_new(ev, "fp", json_string(hex));
	free(hex);
	h_emit(h, ev);
	return 0;
}

int h_ident_gen(struct hctx *h, struct ident *id, const char *cn, const char *ip,
		int days, long offset)
{
	id->keytype = KEYTYPE_ECDSA_P256;
	if (identity_keygen(id->keytype, &id->key) < 0 ||
	    identity_self_signed_at(id->keytype, &id->key, cn, ip, clock_now() + offset, days,
				    &id->der) < 0)
		return h_fail(h, "cannot generate a certificate for %s", cn);
	return h_ident_loaded(h, id);
}

static int keytype_of(const uint8_t *der, size_t n, int *keytype)
{
	struct certinfo ci;
	if (identity_cert_info(der, n, &ci) < 0)
		return -1;
	if (strcmp(ci.key_type, "ECDSA-P256") == 0)
		*keytype = KEYTYPE_ECDSA_P256;
	else if (strcmp(ci.key_type, "RSA-3072") == 0)
		*keytype = KEYTYPE_RSA_3072;
	else
		*keytype = KEYTYPE_RSA_2048;
	return 0;
}

/* A private key from PEM (traditional or PKCS#8) or DER, as traditional DER. */
static int key_from_file(const uint8_t *in, size_t n, struct blob *out)
{
	uint8_t *der = malloc(n + 16);
	word32 idx = 0;
	int len, off;

	if (!der)
		return -1;
	if (n > 10 && memcmp(in, "-----BEGIN", 10) == 0) {
		len = wc_KeyPemToDer(in, (int)n, der, (int)n + 16, NULL);
	} else {
		memcpy(der, in, n);
		len = (int)n;
	}
	if (len <= 0) {
		free(der);
		return -1;
	}
	off = wc_GetPkcs8TraditionalOffset(der, &idx, (word32)len);
	if (off < 0)
		idx = 0;
	len = blob_set(out, der + idx, (size_t)len - idx);
	free(der);
	return len;
}

int h_ident_files(struct hctx *h, struct ident *id, const char *cert, const char *key)
{
	struct wbuf c, k;
	int rc;

	wbuf_init(&c);
	wbuf_init(&k);
	rc = fs_read_file(cert, 1 << 20, &c);
	if (rc == 0)
		rc = identity_cert_decode(c.p, c.len, &id->der);
	if (rc == 0)
		rc = fs_read_file(key, 1 << 20, &k);
	if (rc == 0)
		rc = key_from_file(k.p, k.len, &id->key);
	if (rc == 0)
		rc = keytype_of(id->der.p, id->der.n, &id->keytype);
	wbuf_free(&c);
	wbuf_free(&k);
	if (rc < 0)
		return h_fail(h, "cannot load identity %s from %s and %s", id->name, cert, key);
	return h_ident_loaded(h, id);
}

struct hinst *h_instance(struct hctx *h, const char *dir)
{
	char err[300];
	struct hinst *hi = NULL;

	for (int i = 0; i < H_MAX_INST; i++)
		if (h->inst[i].open && strcmp(h->inst[i].dir, dir) == 0)
			return &h->inst[i];
	for (int i = 0; i < H_MAX_INST && !hi; i++)
		if (!h->inst[i].open)
			hi = &h->inst[i];
	if (!hi) {
		h_fail(h, "too many instances");
		return NULL;
	}
	if (instance_open(&hi->in, dir, err, sizeof(err)) < 0) {
		h_fail(h, "cannot open instance %s: %s", dir, err);
		return NULL;
	}
	snprintf(hi->dir, sizeof(hi->dir), "%s", dir);
	hi->open = 1;
	return hi;
}

/* which: current, next, previous, or label=LABEL. */
int h_ident_instance(struct hctx *h, struct ident *id, const char *dir, const char *which)
{
	struct hinst *hi = h_instance(h, dir);
	struct own_identity own;
	MDB_txn *txn;
	int rc;

	if (!hi)
		return -1;
	if (store_begin(&hi->in.store, 0, &txn) < 0)
		return h_fail(h, "cannot read %s", dir);
	if (strncmp(which, "label=", 6) == 0)
		rc = instance_own_by_label(&hi->in, txn, which + 6, &own);
	else
		rc = instance_own(&hi->in, txn,
				  strcmp(which, "next") == 0       ? OWN_NEXT
				  : strcmp(which, "previous") == 0 ? OWN_PREVIOUS
								   : OWN_CURRENT,
				  &own);
	store_abort(txn);
	if (rc < 0)
		return h_fail(h, "instance %s has no %s certificate: %s", dir, which, rpl_msg_text(rc));
	id->keytype = own.keytype;
	id->der = own.der;
	id->key = own.key;
	return h_ident_loaded(h, id);
}

/* kind: own-password, password (SERVER's as stored here), pairing-out,
 * pairing-in (SERVER). */
int h_secret(struct hctx *h, const char *dir, const char *kind, const char *server,
	     struct wbuf *out)
{
	struct hinst *hi = h_instance(h, dir);
	struct server_rec r;
	struct blob sealed = {0};
	const uint8_t *v;
	size_t vlen;
	MDB_txn *txn;
	int rc;

	if (!hi)
		return -1;
	if (store_begin(&hi->in.store, 0, &txn) < 0)
		return h_fail(h, "cannot read %s", dir);
	if (strcmp(kind, "own-password") == 0) {
		rc = store_meta_get(txn, &hi->in.store, "own_password", &v, &vlen);
		if (rc == 0)
			rc = blob_set(&sealed, v, vlen);
		store_abort(txn);
		if (rc == 0)
			rc = instance_unseal(&hi->in, SEAL_OWN_PASSWORD, NULL, &sealed, out);
		blob_free(&sealed);
		return rc < 0 ? h_fail(h, "%s: own password: %s", dir, rpl_msg_text(rc)) : 0;
	}
	if (!server) {
		store_abort(txn);
		return h_fail(h, "secret %s needs a server name", kind);
	}
	rc = store_server_get(txn, &hi->in.store, server, &r);
	store_abort(txn);
	if (rc < 0)
		return h_fail(h, "%s: server %s: %s", dir, server, rpl_msg_text(rc));
	if (strcmp(kind, "password") == 0)
		rc = instance_unseal(&hi->in, SEAL_SERVER_PASSWORD, r.name, &r.password, out);
	else if (strcmp(kind, "pairing-out") == 0)
		rc = r.key_out.n ? instance_unseal(&hi->in, SEAL_PAIRING_OUT, r.name, &r.key_out, out)
				 : -RPL_E_NOTFOUND;
	else if (strcmp(kind, "pairing-in") == 0)
		rc = r.key_in.n ? instance_unseal(&hi->in, SEAL_PAIRING_IN, r.name, &r.key_in, out)
				: -RPL_E_NOTFOUND;
	else
		rc = -RPL_E_BADARG;
	server_rec_free(&r);
	return rc < 0 ? h_fail(h, "%s: %s of %s: %s", dir, kind, server, rpl_msg_text(rc)) : 0;
}

/* The signed message of peer/continuity: label NUL, fingerprint, exporter. */
int h_sign_proof(const struct ident *id, const char *label, const uint8_t fp[32],
		 const uint8_t exporter[32], struct blob *sig)
{
	struct wbuf m;
	int rc;

	wbuf_init(&m);
	wbuf_put(&m, label, strlen(label) + 1);
	wbuf_put(&m, fp, 32);
	wbuf_put(&m, exporter, 32);
	rc = wbuf_status(&m);
	if (rc == 0)
		rc = identity_sign(id->keytype, &id->key, m.p, m.len, sig);
	wbuf_free(&m);
	return rc;
}

/* What must not change when a hostile peer is refused: the pins (fingerprint
 * and state), the session security, the FORCESYNC mark, the verification
 * mode and the sealed pairing keys (sealed with a fresh nonce each time a
 * key is stored, so equal bytes mean the key was not replaced). */
int h_snapshot(struct hctx *h, const char *dir, const char *server, char *out, size_t sz,
	       json_t **detail)
{
	struct hinst *hi = h_instance(h, dir);
	struct server_rec r;
	MDB_txn *txn;
	size_t used = 0;
	json_t *pins;
	int rc;

	if (!hi)
		return -1;
	if (store_begin(&hi->in.store, 0, &txn) < 0)
		return h_fail(h, "cannot read %s", dir);
	rc = store_server_get(txn, &hi->in.store, server, &r);
	store_abort(txn);
	if (rc < 0)
		return h_fail(h, "%s: server %s: %s", dir, server, rpl_msg_text(rc));
	pins = json_array();
	for (int i = 0; i < r.npins; i++) {
		char hex[65];
		hex_encode(r.pins[i].fp, 32, hex);
		used += (size_t)snprintf(out + used, used < sz ? sz - used : 0, "%s:%s ", hex,
					 pin_state_name(r.pins[i].state));
		json_array_append_new(pins, json_pack("{s:s,s:s}", "fingerprint", hex, "state",
						      pin_state_name(r.pins[i].state)));
	}
	{
		char *kin = h_hex(r.key_in.p, r.key_in.n), *kout = h_hex(r.key_out.p, r.key_out.n);
		used += (size_t)snprintf(out + used, used < sz ? sz - used : 0,
					 "secsec=%s forcesync=%d verify=%d key_in=%.24s key_out=%.24s",
					 secsec_name(r.secsec), r.forcesync, r.verify,
					 kin ? kin : "", kout ? kout : "");
		if (detail)
			*detail = json_pack("{s:o,s:s,s:b,s:b,s:b,s:i}", "pins", pins, "sessionsecurity",
					    secsec_name(r.secsec), "forcesync_pending", r.forcesync,
					    "paired_in", r.key_in.n > 0, "paired_out", r.key_out.n > 0,
					    "failed_signons", (int)r.failed_signons);
		else
			json_decref(pins);
		free(kin);
		free(kout);
	}
	server_rec_free(&r);
	return used < sz ? 0 : h_fail(h, "snapshot too long");
}
