#include "nextreq.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../../store/actlog.h"
#include "../../util/clock.h"
#include "../../util/fsutil.h"
#include "../../util/msg.h"
#include "identity.h"

void nextreq_csr_path(const struct instance *in, char *out, size_t sz)
{
	snprintf(out, sz, "%s/cert256.csr", in->dir);
}

int nextreq_write_csr(struct instance *in)
{
	struct owncert_request r;
	char path[PATH_MAX + 32];
	struct wbuf pem;
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&in->store, 0, &txn)) < 0)
		return rc;
	rc = store_owncert_request_get(txn, &in->store, &r);
	store_abort(txn);
	if (rc == -RPL_E_NOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	wbuf_init(&pem);
	rc = identity_pem_encode(r.csr.p, r.csr.n, PEM_CSR, &pem);
	nextreq_csr_path(in, path, sizeof(path));
	if (rc == 0)
		rc = fs_write_atomic(path, pem.p, pem.len, 0644);
	wbuf_free(&pem);
	owncert_request_free(&r);
	return rc;
}

int nextreq_create(struct instance *in)
{
	struct owncert_request r;
	struct blob key = { 0 };
	const char *sans[2];
	char san2[256];
	MDB_txn *txn = NULL;
	int rc, nsans = 1;

	memset(&r, 0, sizeof(r));
	sans[0] = in->conf.servername;
	(void)instance_cert_san(in->conf.tcpaddress, san2, sizeof(san2));
	if (san2[0] && strcasecmp(san2, in->conf.servername) != 0)
		sans[nsans++] = san2;
	rc = identity_keygen(in->conf.keytype, &key);
	if (rc == 0)
		rc = identity_csr(in->conf.keytype, &key, in->conf.servername, sans, nsans, &r.csr);
	if (rc == 0)
		rc = store_begin(&in->store, 1, &txn);
	if (rc == 0) {
		struct owncert_request old;
		rc = store_owncert_request_get(txn, &in->store, &old);
		if (rc == 0) {
			owncert_request_free(&old);
			rc = -RPL_E_DUPLICATE;
		} else if (rc == -RPL_E_NOTFOUND) {
			rc = 0;
		}
	}
	if (rc == 0) {
		/* A label of its own for the seal (an own certificate's label
		 * is chosen again at install: it must be unique then). */
		r.created = clock_now();
		r.keytype = in->conf.keytype;
		snprintf(r.label, sizeof(r.label), "request-%lld", (long long)r.created);
		rc = instance_seal(in, SEAL_OWNCERT_KEY, r.label, key.p, key.n, &r.sealed_key);
	}
	if (rc == 0)
		rc = store_owncert_request_put(txn, &in->store, &r);
	if (rc == 0)
		rc = store_actlog_add(
			txn, &in->store, RPL_I_CSR_NEXT,
			"next own key generated (%s) for the CA-signed identity: its certificate "
			"request is %s/cert256.csr; install the CA's certificate for it with "
			"'replpeer cert install FILE'",
			keytype_name(r.keytype), in->dir);
	if (rc == 0) {
		rc = store_commit(txn);
		txn = NULL;
	}
	store_abort(txn);
	if (rc == 0)
		rc = nextreq_write_csr(in);
	owncert_request_free(&r);
	blob_free(&key);
	return rc;
}

int nextreq_install(struct instance *in, MDB_txn *txn, const uint8_t *cert, size_t n, char *label,
		    size_t labelsz)
{
	struct owncert_request r;
	struct owncert c;
	struct certinfo ci;
	struct wbuf key;
	int rc, match = 0;

	if ((rc = store_owncert_request_get(txn, &in->store, &r)) < 0)
		return rc == -RPL_E_NOTFOUND ? 0 : rc;
	memset(&c, 0, sizeof(c));
	wbuf_init(&key); /* wbuf_free wipes it */
	rc = instance_unseal(in, SEAL_OWNCERT_KEY, r.label, &r.sealed_key, &key);
	if (rc == 0) {
		struct blob k = { .p = key.p, .n = key.len };
		rc = identity_key_matches(r.keytype, &k, cert, n);
		match = rc == 1;
		rc = rc < 0 ? rc : 0;
	}
	if (rc == 0 && !match) {
		wbuf_free(&key);
		owncert_request_free(&r);
		return 0; /* a certificate for another key */
	}
	if (rc == 0)
		rc = identity_cert_info(cert, n, &ci);
	if (rc == 0)
		rc = store_owncert_new_label(txn, &in->store, clock_now(), c.label,
					     sizeof(c.label));
	if (rc == 0)
		rc = instance_seal(in, SEAL_OWNCERT_KEY, c.label, key.p, key.len, &c.sealed_key);
	if (rc == 0)
		rc = blob_set(&c.der, cert, n);
	if (rc == 0) {
		c.state = OWN_NEXT;
		c.keytype = r.keytype;
		c.ca_signed = !ci.self_issued;
		c.created = clock_now();
		rc = instance_endorse(in, txn, &c);
	}
	if (rc == 0)
		rc = store_owncert_put(txn, &in->store, &c);
	if (rc == 0)
		rc = store_owncert_request_del(txn, &in->store);
	if (rc == 0)
		rc = store_actlog_add(
			txn, &in->store, RPL_I_CERT_INSTALLED,
			"certificate %s installed as next for the requested key (%s, issued by %s, "
			"fingerprint %s); partners receive it at the next announcement round",
			c.label, ci.subject, ci.issuer, ci.fp_hex);
	if (rc == 0)
		snprintf(label, labelsz, "%s", c.label);
	wbuf_free(&key);
	owncert_free(&c);
	owncert_request_free(&r);
	return rc < 0 ? rc : 1;
}
