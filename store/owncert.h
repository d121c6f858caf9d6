/*
 * store/owncert: this instance's own key pairs and certificates, by label.
 * The private key arrives sealed (peer/vault); this module never sees it in
 * clear. At most one record is "current" and at most one "next".
 */
#ifndef RPL_STORE_OWNCERT_H
#define RPL_STORE_OWNCERT_H

#include "../util/buf.h"
#include "env.h"

enum own_state { OWN_CURRENT = 0, OWN_NEXT = 1, OWN_PREVIOUS = 2, OWN_RETIRED = 3 };

#define OWN_LABEL_MAX 64

struct owncert {
	char label[OWN_LABEL_MAX + 1];
	int state;
	int keytype;
	int ca_signed; /* installed from a CA rather than self-signed */
	int64_t created;
	int64_t activated; /* when it became current, 0 if never */
	int64_t retired;
	int64_t superseded;     /* when it stopped being current, 0 if never */
	int compromised;        /* retired by RENEW CERTIFICATE COMPROMISED=YES */
	struct blob der;        /* certificate, DER */
	struct blob sealed_key; /* private key, sealed with the master key */
	/* The certificate that was current when this one was made, and its
	 * key's signature over this one's fingerprint (peer/keys/proof
	 * proof_rollover_message); empty when there was none or it was
	 * replaced as compromised. */
	char endorser[OWN_LABEL_MAX + 1];
	struct blob rollover;
};

const char *own_state_name(int state);
/* Frees the blobs (owned by the record). */
void owncert_free(struct owncert *c);

int store_owncert_get(MDB_txn *txn, struct store *s, const char *label, struct owncert *out);
int store_owncert_put(MDB_txn *txn, struct store *s, const struct owncert *c);
int store_owncert_del(MDB_txn *txn, struct store *s, const char *label);
/* The record in 'state' (current or next); -RPL_E_NOTFOUND when none. */
int store_owncert_find(MDB_txn *txn, struct store *s, int state, struct owncert *out);
/* Calls fn for each record in label order; fn returning non-zero stops
 * and that value is returned. The record is freed after fn returns. */
int store_owncert_each(MDB_txn *txn, struct store *s, int (*fn)(const struct owncert *c, void *arg),
		       void *arg);
/* A label not used yet, derived from the time: "own-YYYYMMDD-HHMMSS[-n]". */
int store_owncert_new_label(MDB_txn *txn, struct store *s, int64_t now, char *label,
			    size_t labelsz);

/* The next key of a CA-signed identity while its certificate request
 * waits for the CA: at most one, a meta record. Its key is sealed with the
 * label as subject, like an own certificate's. */
struct owncert_request {
	char label[OWN_LABEL_MAX + 1];
	int keytype;
	int64_t created;
	struct blob csr; /* PKCS#10, DER */
	struct blob sealed_key;
};

/* Frees the blobs (owned by the record). */
void owncert_request_free(struct owncert_request *r);
/* -RPL_E_NOTFOUND when there is none. */
int store_owncert_request_get(MDB_txn *txn, struct store *s, struct owncert_request *out);
int store_owncert_request_put(MDB_txn *txn, struct store *s, const struct owncert_request *r);
int store_owncert_request_del(MDB_txn *txn, struct store *s);

#endif
