/*
 * peer/keys/nextreq: the next key of a CA-signed identity. Renewing such
 * an identity needs the CA: replpeer makes the next key and a certificate
 * request for it (DIR/cert256.csr, beside cert256.pem), keeps the key
 * sealed until 'replpeer cert install' brings the CA's certificate for it,
 * and then stores that certificate as the next own certificate, which the
 * daemon announces and activates like any renewal. It never makes a
 * self-signed certificate. No libuv, no connection code.
 */
#ifndef RPL_KEYS_NEXTREQ_H
#define RPL_KEYS_NEXTREQ_H

#include <stddef.h>

#include "instance.h"

/* DIR/cert256.csr. */
void nextreq_csr_path(const struct instance *in, char *out, size_t sz);
/* Makes the next key (KEYTYPE) and its request (CN and SAN SERVERNAME, and
 * instance_cert_san's name), stores them in one transaction with an
 * activity-log entry (RPL1209I) and writes DIR/cert256.csr. Key generation
 * runs before the transaction (callers in the daemon run this on the
 * thread pool). -RPL_E_DUPLICATE when a request exists already. */
int nextreq_create(struct instance *in);
/* Writes DIR/cert256.csr from the stored request; 0 also when none. */
int nextreq_write_csr(struct instance *in);
/* In txn: when cert (DER) carries the requested key, stores it as the next
 * own certificate (CA-signed, endorsed by the current key, the key sealed
 * under its new label), removes the request, logs RPL0311I and returns 1
 * with the label; 0 when there is no request or it is for another key.
 * After the commit the caller removes DIR/cert256.csr (nextreq_csr_path). */
int nextreq_install(struct instance *in, MDB_txn *txn, const uint8_t *cert, size_t n, char *label,
		    size_t labelsz);

#endif
