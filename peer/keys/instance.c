#include "instance.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../store/actlog.h"
#include "../../store/server.h"
#include "../../util/clock.h"
#include "../../util/fsutil.h"
#include "../../util/log.h"
#include "../../util/msg.h"
#include "../../util/secure.h"
#include "identity.h"
#include "proof.h"
#include "srp.h"

void own_free(struct own_identity *o)
{
	blob_free(&o->der);
	blob_free(&o->key);
}

int instance_password_ok(const char *pw)
{
	size_t n = strlen(pw);
	if (n < 8 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7f)
			return 0;
	return 1;
}

const char *const instance_files[] = { "replpeer.conf", "data.mdb",   "lock.mdb", "master.key",
				       "cert256.pem",   "admin.sock", NULL };

int instance_check_dir(const char *dir, char *err, size_t errsz)
{
	return fs_check_private(dir, instance_files, err, errsz);
}

int instance_open(struct instance *in, const char *dir, char *err, size_t errsz)
{
	char path[PATH_MAX + 32];
	int rc;

	memset(in, 0, sizeof(*in));
	if (strlen(dir) >= sizeof(in->dir)) {
		snprintf(err, errsz, "directory name too long");
		return -RPL_E_BADARG;
	}
	strcpy(in->dir, dir);
	snprintf(path, sizeof(path), "%s/replpeer.conf", dir);
	if (!fs_exists(path)) {
		snprintf(err, errsz, "%s has no replpeer.conf", dir);
		return -RPL_E_NOINSTANCE;
	}
	rc = conf_load(path, &in->conf, err, errsz);
	if (rc < 0)
		return rc;
	rc = vault_load(dir, &in->vault);
	if (rc < 0) {
		snprintf(err, errsz, "%s/master.key", dir);
		return rc;
	}
	rc = store_open(&in->store, dir, in->conf.dbmaxsize, 0);
	if (rc < 0) {
		snprintf(err, errsz, "%s/data.mdb", dir);
		vault_wipe(&in->vault);
		return rc;
	}
	return 0;
}

void instance_close(struct instance *in)
{
	store_close(&in->store);
	vault_wipe(&in->vault);
	if (in->conf_lock > 0)
		close(in->conf_lock);
	in->conf_lock = 0;
}

int instance_update_conf(struct instance *in, const char *key, const char *value, char *err,
			 size_t errsz)
{
	char path[PATH_MAX + 32];
	int rc, fd = -1;

	snprintf(path, sizeof(path), "%s/replpeer.conf", in->dir);
	rc = conf_update_file(path, key, value, &fd, err, errsz);
	if (fd >= 0) {
		/* The daemon's lock is on the file that was replaced: from now
		 * on this descriptor keeps a second 'serve' out. */
		if (in->conf_lock > 0)
			close(in->conf_lock);
		in->conf_lock = fd;
	}
	return rc;
}

int instance_seal(struct instance *in, enum seal_kind kind, const char *subject, const void *p,
		  size_t n, struct blob *out)
{
	char purpose[SEAL_PURPOSE_MAX];
	struct wbuf w;
	int rc;

	if ((rc = seal_purpose(kind, subject, purpose, sizeof(purpose))) < 0)
		return rc;
	wbuf_init(&w);
	rc = vault_seal(&in->vault, purpose, p, n, &w);
	if (rc == 0)
		rc = blob_set(out, w.p, w.len);
	wbuf_free(&w);
	return rc;
}

int instance_unseal(struct instance *in, enum seal_kind kind, const char *subject,
		    const struct blob *sealed, struct wbuf *out)
{
	char purpose[SEAL_PURPOSE_MAX];
	int rc = seal_purpose(kind, subject, purpose, sizeof(purpose));

	if (rc < 0)
		return rc;
	return vault_unseal(&in->vault, purpose, sealed->p, sealed->n, out);
}

int instance_own_by_label(struct instance *in, MDB_txn *txn, const char *label,
			  struct own_identity *out)
{
	struct owncert c;
	struct wbuf w;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_owncert_get(txn, &in->store, label, &c);
	if (rc < 0)
		return rc;
	wbuf_init(&w);
	rc = instance_unseal(in, SEAL_OWNCERT_KEY, c.label, &c.sealed_key, &w);
	if (rc == 0)
		rc = blob_set(&out->key, w.p, w.len);
	if (rc == 0)
		rc = blob_set(&out->der, c.der.p, c.der.n);
	if (rc == 0) {
		strcpy(out->label, c.label);
		out->state = c.state;
		out->keytype = c.keytype;
	}
	wbuf_free(&w);
	owncert_free(&c);
	if (rc < 0)
		own_free(out);
	return rc;
}

int instance_own(struct instance *in, MDB_txn *txn, int state, struct own_identity *out)
{
	struct owncert c;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_owncert_find(txn, &in->store, state, &c);
	if (rc < 0)
		return rc;
	rc = instance_own_by_label(in, txn, c.label, out);
	owncert_free(&c);
	return rc;
}

/* The rollover endorsement of a new certificate by the current one. */
static int endorse_new(struct instance *in, MDB_txn *txn, struct owncert *c)
{
	uint8_t fp[FINGERPRINT_LEN], msg[PROOF_ROLLOVER_MSG_LEN];
	struct own_identity cur;
	int rc = instance_own(in, txn, OWN_CURRENT, &cur);

	if (rc == -RPL_E_NOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	rc = identity_fingerprint(c->der.p, c->der.n, fp);
	if (rc == 0) {
		proof_rollover_message(fp, msg);
		rc = identity_sign(cur.keytype, &cur.key, msg, sizeof(msg), &c->rollover);
	}
	if (rc == 0)
		snprintf(c->endorser, sizeof(c->endorser), "%s", cur.label);
	own_free(&cur);
	return rc;
}

int instance_endorse(struct instance *in, MDB_txn *txn, struct owncert *c)
{
	return endorse_new(in, txn, c);
}

int instance_cert_san(const char *tcpaddress, char *out, size_t sz)
{
	uint8_t a[16], zero[16] = { 0 };
	int wildcard = 0;
	char host[256];

	if (inet_pton(AF_INET, tcpaddress, a) == 1)
		wildcard = memcmp(a, zero, 4) == 0;
	else if (inet_pton(AF_INET6, tcpaddress, a) == 1)
		wildcard = memcmp(a, zero, 16) == 0;
	else
		tcpaddress = ""; /* not an address: serve refuses it; no name from it */
	if (!wildcard) {
		snprintf(out, sz, "%s", tcpaddress);
		return 0;
	}
	out[0] = 0;
	if (gethostname(host, sizeof(host)) < 0)
		return 1;
	host[sizeof(host) - 1] = 0;
	for (const char *c = host; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.')
			return 1; /* not a DNS name: only DNS:SERVERNAME */
	snprintf(out, sz, "%s", host);
	return 1;
}

int instance_new_owncert(struct instance *in, int state, char *label, size_t labelsz)
{
	return instance_new_owncert_ex(in, state, 0, label, labelsz);
}

int instance_new_owncert_ex(struct instance *in, int state, int endorse, char *label,
			    size_t labelsz)
{
	struct blob key = { 0 }, der = { 0 };
	struct owncert c;
	MDB_txn *txn = NULL;
	char san2[256];
	int rc;

	memset(&c, 0, sizeof(c));
	rc = identity_keygen(in->conf.keytype, &key);
	(void)instance_cert_san(in->conf.tcpaddress, san2, sizeof(san2));
	if (rc == 0)
		rc = identity_self_signed_at(in->conf.keytype, &key, in->conf.servername, san2,
					     clock_now(), in->conf.certvaliditydays, &der);
	if (rc == 0)
		rc = store_begin(&in->store, 1, &txn);
	if (rc == 0)
		rc = store_owncert_new_label(txn, &in->store, clock_now(), c.label,
					     sizeof(c.label));
	if (rc == 0)
		rc = instance_seal(in, SEAL_OWNCERT_KEY, c.label, key.p, key.n, &c.sealed_key);
	if (rc == 0) {
		struct certinfo ci;
		c.state = state;
		c.keytype = in->conf.keytype;
		c.created = clock_now();
		c.activated = state == OWN_CURRENT ? c.created : 0;
		c.der = der;
		der = (struct blob){ 0 };
		if (endorse)
			rc = endorse_new(in, txn, &c);
		if (rc == 0)
			rc = store_owncert_put(txn, &in->store, &c);
		if (rc == 0 && identity_cert_info(c.der.p, c.der.n, &ci) == 0) {
			char until[32];
			clock_iso8601(ci.not_after, until, sizeof(until));
			rc = store_actlog_add(
				txn, &in->store, RPL_I_CERT_CREATED,
				"own certificate %s created as %s: %s, %s, fingerprint %s, valid until %s",
				c.label, own_state_name(state), ci.subject, ci.key_type, ci.fp_hex,
				until);
		}
	}
	if (rc == 0) {
		rc = store_commit(txn);
		txn = NULL;
	}
	store_abort(txn);
	if (rc == 0 && label)
		snprintf(label, labelsz, "%s", c.label);
	owncert_free(&c);
	blob_free(&der);
	blob_free(&key);
	return rc;
}

int instance_write_pem(struct instance *in)
{
	struct owncert c;
	struct wbuf pem;
	char path[PATH_MAX + 32];
	MDB_txn *txn;
	int rc;

	rc = store_begin(&in->store, 0, &txn);
	if (rc < 0)
		return rc;
	rc = store_owncert_find(txn, &in->store, OWN_CURRENT, &c);
	store_abort(txn);
	if (rc < 0)
		return rc;
	wbuf_init(&pem);
	rc = identity_pem_encode(c.der.p, c.der.n, PEM_CERT, &pem);
	snprintf(path, sizeof(path), "%s/cert256.pem", in->dir);
	if (rc == 0)
		rc = fs_write_atomic(path, pem.p, pem.len, 0644);
	wbuf_free(&pem);
	owncert_free(&c);
	return rc;
}

/* Forget the keys partners use to skip the password proof when connecting to
 * us: after a password change each must prove the new one. */
static int forget_inbound_keys(struct instance *in, MDB_txn *txn)
{
	struct name_list l;
	int rc = store_server_names(txn, &in->store, &l);

	for (int i = 0; i < l.n && rc == 0; i++) {
		struct server_rec r;
		rc = store_server_get(txn, &in->store, l.names[i], &r);
		if (rc < 0)
			break;
		if (r.key_in.n || r.nprev_in) {
			blob_free(&r.key_in);
			for (int k = 0; k < r.nprev_in; k++)
				blob_free(&r.prev_in[k]);
			r.nprev_in = 0;
			rc = store_server_put(txn, &in->store, &r);
		}
		server_rec_free(&r);
	}
	free(l.names);
	return rc;
}

void instance_password_prep_free(struct password_prep *p)
{
	blob_free(&p->sealed_pw);
	blob_free(&p->srp);
}

int instance_password_prepare(struct instance *in, const char *pw, struct password_prep *out)
{
	uint8_t salt[SRP_SALT_LEN];
	struct blob verifier = { 0 }, sealed_v = { 0 };
	struct wbuf w;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!instance_password_ok(pw))
		return -RPL_E_PASSWORD_WEAK;
	rc = srp_make_verifier(pw, salt, &verifier);
	if (rc == 0)
		rc = instance_seal(in, SEAL_OWN_PASSWORD, NULL, pw, strlen(pw), &out->sealed_pw);
	if (rc == 0)
		rc = instance_seal(in, SEAL_SRP_VERIFIER, NULL, verifier.p, verifier.n, &sealed_v);
	if (rc == 0) {
		/* salt || sealed verifier */
		wbuf_init(&w);
		wbuf_put(&w, salt, sizeof(salt));
		wbuf_put(&w, sealed_v.p, sealed_v.n);
		rc = wbuf_status(&w);
		if (rc == 0)
			rc = blob_set(&out->srp, w.p, w.len);
		wbuf_free(&w);
	}
	blob_free(&verifier);
	blob_free(&sealed_v);
	if (rc < 0)
		instance_password_prep_free(out);
	return rc;
}

int instance_password_store(struct instance *in, MDB_txn *txn, const struct password_prep *p)
{
	int rc = store_meta_put(txn, &in->store, "own_password", p->sealed_pw.p, p->sealed_pw.n);
	if (rc == 0)
		rc = store_meta_put(txn, &in->store, "srp", p->srp.p, p->srp.n);
	if (rc == 0)
		rc = forget_inbound_keys(in, txn);
	return rc;
}

int instance_set_password(struct instance *in, MDB_txn *txn, const char *pw)
{
	struct password_prep p;
	int rc = instance_password_prepare(in, pw, &p);

	if (rc == 0)
		rc = instance_password_store(in, txn, &p);
	instance_password_prep_free(&p);
	return rc;
}

/* Removes what instance_create made, leaving the directory as found. */
static void undo_create(const char *dir, int made_dir)
{
	static const char *files[] = { "replpeer.conf", "master.key", "data.mdb", "lock.mdb",
				       "cert256.pem" };
	char path[PATH_MAX + 32];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	if (made_dir)
		rmdir(dir);
}

int instance_create(const char *dir, const char *name, int port, const char *address,
		    const char *password, char *err, size_t errsz)
{
	return instance_create_ex(dir, name, port, address, password, NULL, 0, err, errsz);
}

int instance_create_ex(const char *dir, const char *name, int port, const char *address,
		       const char *password, const char *const *opts, int nopts, char *err,
		       size_t errsz)
{
	struct instance in;
	char path[PATH_MAX + 32], label[OWN_LABEL_MAX + 1];
	MDB_txn *txn = NULL;
	int rc, made_dir = !fs_exists(dir);

	memset(&in, 0, sizeof(in));
	err[0] = 0;
	if (!conf_valid_name(name))
		return -RPL_E_BADNAME;
	if (!instance_password_ok(password))
		return -RPL_E_PASSWORD_WEAK;
	if (strlen(dir) >= sizeof(in.dir))
		return -RPL_E_BADARG;
	snprintf(path, sizeof(path), "%s/replpeer.conf", dir);
	if (fs_exists(path)) {
		snprintf(err, errsz, "%s", path);
		return -RPL_E_EXISTS;
	}
	rc = fs_dir_is_empty(dir);
	if (rc == 0) {
		snprintf(err, errsz, "%s is not empty", dir);
		return -RPL_E_EXISTS;
	}
	if (rc < 0)
		return rc;
	if (made_dir && fs_mkdirs(dir, 0700) < 0) {
		snprintf(err, errsz, "cannot create %s: %s", dir, strerror(errno));
		return -RPL_E_IO;
	}
	strcpy(in.dir, dir);
	rc = conf_write_template_ex(path, name, port, address, opts, nopts);
	if (rc == 0)
		rc = conf_load(path, &in.conf, err, errsz);
	if (rc == 0)
		rc = vault_create(dir, &in.vault);
	if (rc == 0)
		rc = store_open(&in.store, dir, in.conf.dbmaxsize, 1);
	if (rc == 0)
		rc = instance_new_owncert(&in, OWN_CURRENT, label, sizeof(label));
	if (rc == 0)
		rc = store_begin(&in.store, 1, &txn);
	if (rc == 0)
		rc = instance_set_password(&in, txn, password);
	if (rc == 0)
		rc = store_actlog_add(txn, &in.store, RPL_I_INIT,
				      "instance %s initialised in %s (port %d, key %s)", name, dir,
				      in.conf.tcpport, keytype_name(in.conf.keytype));
	if (rc == 0) {
		rc = store_commit(txn);
		txn = NULL;
	}
	store_abort(txn);
	if (rc == 0)
		rc = instance_write_pem(&in);
	instance_close(&in);
	if (rc < 0)
		undo_create(dir, made_dir);
	return rc;
}

int instance_admin_secrets(struct instance *in, const char *name, const char *pw, struct blob *srp,
			   struct blob *slow)
{
	uint8_t salt[SRP_SALT_LEN], ssalt[ADMIN_SLOW_SALT_LEN];
	struct blob verifier = { 0 }, sealed = { 0 };
	struct auth_key k;
	struct wbuf w;
	int rc;

	if (!instance_password_ok(pw))
		return -RPL_E_PASSWORD_WEAK;
	rc = srp_make_verifier(pw, salt, &verifier);
	if (rc == 0)
		rc = instance_seal(in, SEAL_ADMIN_VERIFIER, name, verifier.p, verifier.n, &sealed);
	wbuf_init(&w);
	if (rc == 0) {
		wbuf_put(&w, salt, sizeof(salt));
		wbuf_put(&w, sealed.p, sealed.n);
		rc = wbuf_status(&w);
	}
	if (rc == 0)
		rc = blob_set(srp, w.p, w.len);
	blob_free(&sealed);
	wbuf_reset(&w);
	if (rc == 0)
		rc = secure_random(ssalt, sizeof(ssalt));
	if (rc == 0)
		rc = proof_admin_slow(pw, strlen(pw), ssalt, &k);
	if (rc == 0)
		rc = instance_seal(in, SEAL_ADMIN_SLOW, name, k.k, sizeof(k.k), &sealed);
	proof_key_wipe(&k);
	if (rc == 0) {
		wbuf_put(&w, ssalt, sizeof(ssalt));
		wbuf_put(&w, sealed.p, sealed.n);
		rc = wbuf_status(&w);
	}
	if (rc == 0)
		rc = blob_set(slow, w.p, w.len);
	wbuf_free(&w);
	blob_free(&sealed);
	blob_free(&verifier);
	if (rc < 0) {
		blob_free(srp);
		blob_free(slow);
	}
	return rc;
}
