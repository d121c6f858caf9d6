/*
 * store/admin: administrators — how each signs on (LOCAL: an SRP verifier
 * and, for the down-level path, a slow salted hash; LDAP: the directory
 * decides), its privilege class and session security, and what was last
 * seen. One record per administrator, keyed by its upper-case name. The
 * verifier and the hash arrive sealed (peer/keys); the password itself is
 * never stored.
 */
#ifndef RPL_STORE_ADMIN_H
#define RPL_STORE_ADMIN_H

#include "../util/buf.h"
#include "../util/conf.h"
#include "env.h"

enum admin_auth { ADMIN_AUTH_LOCAL = 0, ADMIN_AUTH_LDAP = 1 };
enum admin_class { ADMIN_CLASS_OPERATOR = 0, ADMIN_CLASS_SYSTEM = 1 };

struct admin_rec {
	char name[RPL_NAME_MAX + 1];
	int auth;         /* ADMIN_AUTH_* */
	int cls;          /* ADMIN_CLASS_* */
	int secsec;       /* SECSEC_TRANSITIONAL or SECSEC_STRICT (store/server.h) */
	int locked;       /* by the administrator: no sign-on */
	struct blob srp;  /* LOCAL: salt || sealed SRP verifier */
	struct blob slow; /* LOCAL: salt || sealed scrypt of the password (down-level) */
	int64_t created;
	int64_t last_signon;
	char last_from[64]; /* address of the last sign-on */
	int64_t last_failure;
	uint32_t failed; /* failed sign-ons since the last success */
};

const char *admin_auth_name(int auth);
const char *admin_class_name(int cls);
void admin_rec_free(struct admin_rec *r);

int store_admin_get(MDB_txn *txn, struct store *s, const char *name, struct admin_rec *out);
int store_admin_put(MDB_txn *txn, struct store *s, const struct admin_rec *r);
int store_admin_del(MDB_txn *txn, struct store *s, const char *name);
/* Calls fn for each record in name order; non-zero from fn stops. */
int store_admin_each(MDB_txn *txn, struct store *s, int (*fn)(const struct admin_rec *r, void *arg),
		     void *arg);

#endif
