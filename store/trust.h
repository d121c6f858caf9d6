/*
 * store/trust: trust anchors (CA certificates) by label. Certificates are
 * public; this module stores DER and never judges it (peer/identity does).
 */
#ifndef RPL_STORE_TRUST_H
#define RPL_STORE_TRUST_H

#include "../util/buf.h"
#include "env.h"

#define TRUST_LABEL_MAX 64

/* What an anchor may vouch for. Anchors stored before purposes existed
 * read as TRUST_PEER, which is what they did then. */
enum trust_purpose { TRUST_PEER = 0, TRUST_LDAP = 1 };

struct trust_anchor {
	char label[TRUST_LABEL_MAX + 1];
	int64_t added;
	int purpose;
	struct blob der;
};

const char *trust_purpose_name(int purpose);
/* "peer" or "ldap" (case-insensitive); -RPL_E_BADARG otherwise. */
int trust_purpose_parse(const char *s, int *purpose);

void trust_anchor_free(struct trust_anchor *t);
int store_trust_get(MDB_txn *txn, struct store *s, const char *label, struct trust_anchor *out);
/* Fails with -RPL_E_DUPLICATE when the label exists. */
int store_trust_add(MDB_txn *txn, struct store *s, const struct trust_anchor *t);
int store_trust_del(MDB_txn *txn, struct store *s, const char *label);
int store_trust_each(MDB_txn *txn, struct store *s,
		     int (*fn)(const struct trust_anchor *t, void *arg), void *arg);

#endif
