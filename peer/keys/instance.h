/*
 * peer/instance: one instance directory — its configuration, LMDB store and
 * master key — and the operations that need all three: creating an instance,
 * making and unsealing own certificates, sealing passwords. The CLI and the
 * daemon both work through it.
 */
#ifndef RPL_INSTANCE_H
#define RPL_INSTANCE_H

#include <limits.h>

#include "../../store/env.h"
#include "../../store/owncert.h"
#include "../../util/conf.h"
#include "seal.h"
#include "vault.h"

struct instance {
	char dir[PATH_MAX];
	struct rpl_conf conf;
	struct store store;
	struct vault vault;
	/* The lock on replpeer.conf moves to the new file when the daemon
	 * rewrites it (SET ACTLOGRETENTION): its descriptor, 0 = none (a
	 * zeroed instance holds nothing to close). */
	int conf_lock;
};

/* An own certificate with its private key in clear (wiped by own_free). */
struct own_identity {
	char label[OWN_LABEL_MAX + 1];
	int state;
	int keytype;
	struct blob der;
	struct blob key;
};

void own_free(struct own_identity *o);

/* The files an instance directory holds, NULL-terminated. */
extern const char *const instance_files[];
/* Refuses (-RPL_E_UNSAFE_PERMS, err says what and how to fix it) an instance
 * directory, or a file of instance_files in it, that another user could
 * write or that another user owns (util/fsutil fs_check_private). init,
 * serve and db restore call it before they touch anything. */
int instance_check_dir(const char *dir, char *err, size_t errsz);

/* Opens an existing instance; err gets a line naming the problem. */
int instance_open(struct instance *in, const char *dir, char *err, size_t errsz);
void instance_close(struct instance *in);
/* Sets KEY to value in replpeer.conf (util/conf.h: conf_update_file) and
 * keeps the lock of a serving instance on the new file. Does not change
 * in->conf: the caller applies the value. */
int instance_update_conf(struct instance *in, const char *key, const char *value, char *err,
			 size_t errsz);
/* Creates a new instance in an empty or missing directory. On failure the
 * directory is left as it was found. */
int instance_create(const char *dir, const char *name, int port, const char *address,
		    const char *password, char *err, size_t errsz);
/* The same with extra replpeer.conf settings ("KEY=VALUE"), in effect for
 * the first key pair already (KEYTYPE, CERTVALIDITYDAYS...). */
int instance_create_ex(const char *dir, const char *name, int port, const char *address,
		       const char *password, const char *const *opts, int nopts, char *err,
		       size_t errsz);

/* The same as instance_new_owncert; with endorse, the current
 * certificate's key signs the new one's fingerprint (the rollover
 * endorsement, store/owncert.h). */
int instance_new_owncert_ex(struct instance *in, int state, int endorse, char *label,
			    size_t labelsz);
/* Signs c's fingerprint with the current key (the rollover endorsement of
 * a new certificate; nothing when there is no current one). */
int instance_endorse(struct instance *in, MDB_txn *txn, struct owncert *c);
/* The certificate's name besides SERVERNAME: TCPADDRESS when it is an IP
 * address, or for a wildcard one (0.0.0.0, ::), which names no host, this
 * host's name ("" when it is not a DNS name, or TCPADDRESS no address).
 * Returns 1 for a wildcard address, else 0. */
int instance_cert_san(const char *tcpaddress, char *out, size_t sz);
/* Generates a key pair and self-signed certificate per the configuration and
 * stores it in 'state' (current or next). Returns its label. Key generation
 * runs outside the write transaction. */
int instance_new_owncert(struct instance *in, int state, char *label, size_t labelsz);
/* Loads the own certificate in 'state' with its unsealed key. */
int instance_own(struct instance *in, MDB_txn *txn, int state, struct own_identity *out);
int instance_own_by_label(struct instance *in, MDB_txn *txn, const char *label,
			  struct own_identity *out);
/* Rewrites DIR/cert256.pem from the current own certificate. */
int instance_write_pem(struct instance *in);
/* Seals and stores this peer's own server password and its SRP verifier;
 * forgets every inbound pairing key (partners must prove the new password). */
int instance_set_password(struct instance *in, MDB_txn *txn, const char *pw);
/* The same in two steps, so that the verifier (slow) is made outside the
 * write transaction: prepare anywhere (thread-safe), store in the txn. */
struct password_prep {
	struct blob sealed_pw;
	struct blob srp; /* salt || sealed verifier */
};
int instance_password_prepare(struct instance *in, const char *pw, struct password_prep *out);
int instance_password_store(struct instance *in, MDB_txn *txn, const struct password_prep *p);
void instance_password_prep_free(struct password_prep *p);

/* An administrator's secrets from its password, for store/admin: srp =
 * salt || sealed SRP verifier, slow = salt || sealed scrypt hash (the
 * down-level path). Slow (tens of milliseconds): run it on the pool. */
int instance_admin_secrets(struct instance *in, const char *name, const char *pw, struct blob *srp,
			   struct blob *slow);
/* Seals and unseals a secret of kind for subject (peer/keys/seal.h). */
int instance_unseal(struct instance *in, enum seal_kind kind, const char *subject,
		    const struct blob *sealed, struct wbuf *out);
int instance_seal(struct instance *in, enum seal_kind kind, const char *subject, const void *p,
		  size_t n, struct blob *out);
/* Checks a candidate password: 8 to 64 printable characters. */
int instance_password_ok(const char *pw);

#endif
