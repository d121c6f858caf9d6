/*
 * store/verify: the offline consistency check of a whole instance store
 * ('replpeer db verify'), in one read transaction, so it may run while the
 * daemon writes. Node storage: every object's chunks are stored with the
 * listed size, every chunk's reference count equals its uses, a chunk with
 * no reference is staged, every byte record has a chunk record and back,
 * node counters equal their objects' sums, instance totals equal the
 * chunks'; deep: every chunk's bytes hash to its address. Every record of
 * every database decodes (servers with their pins, own certificates, trust
 * anchors, activity log, meta schema). Certificates themselves are judged
 * by the caller's callback: store/ does not parse X.509.
 * Memory: about 48 bytes per distinct chunk referenced.
 */
#ifndef RPL_STORE_VERIFY_H
#define RPL_STORE_VERIFY_H

#include "env.h"

struct verify_opts {
	int deep; /* re-hash every chunk's bytes */
	/* Checks one certificate (DER); expect_fp, when not NULL, is the
	 * SHA-256 fingerprint the record claims. Returns 0 when sound, else
	 * writes why. NULL: certificates are only checked to be present. */
	int (*check_cert)(void *arg, const uint8_t *der, size_t n, const uint8_t *expect_fp,
			  char *why, size_t whysz);
	void *cert_arg;
	/* Called now and then with the phase and how far it is. */
	void (*progress)(void *arg, const char *phase, uint64_t done, uint64_t total);
	void *progress_arg;
	/* Each fault: a short kind ("refcount", "missing-chunk"...) and a text
	 * naming the record. */
	void (*fault)(void *arg, const char *kind, const char *text);
	void *fault_arg;
};

struct verify_report {
	uint64_t nodes, objects, logical_bytes;
	uint64_t chunks, stored_bytes, chunk_refs;
	uint64_t staged_records, staged_chunks, staged_bytes; /* refs 0, staged */
	uint64_t rehashed_bytes;
	uint64_t records; /* records of the other databases checked */
	uint64_t faults;
};

/* Returns 0 when the check ran (faults are counted in rep->faults), or a
 * negative error when it could not run (LMDB, memory). */
int store_verify(MDB_txn *txn, struct store *s, const struct verify_opts *o,
		 struct verify_report *rep);

#endif
