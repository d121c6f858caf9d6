/*
 * store/env: the LMDB environment of one instance directory and its named
 * databases. Owns opening, the schema version and transaction helpers.
 * store/ never includes wolfSSL or libuv: secrets arrive here sealed.
 */
#ifndef RPL_STORE_ENV_H
#define RPL_STORE_ENV_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* 1: servers, certificates, trust anchors, admins, activity log.
 * 2: node storage (nodes, objects, chunks, chunk bytes, staging).
 * 3: replication (per node and target state) and schedules.
 * An instance of an older version is upgraded in place when it is opened. */
#define STORE_SCHEMA_VERSION 3

struct store {
	MDB_env *env;
	MDB_dbi meta;     /* small named values: schema, sealed own password, SRP */
	MDB_dbi owncerts; /* own key pairs and certificates, by label */
	MDB_dbi servers;  /* partner servers with their pins, by upper-case name */
	MDB_dbi trust;    /* trust anchors (CA certificates), by label */
	MDB_dbi admins;   /* administrators, by upper-case name */
	MDB_dbi actlog;   /* activity log, by time */
	/* Activity-log caps (store/actlog.h), set by store_open to the
	 * defaults; tests lower them. */
	uint32_t actlog_routine_max, actlog_total_max;
	/* Node storage (schema 2): see store/node.h, store/object.h, store/chunk.h. */
	MDB_dbi nodes;     /* nodes, by upper-case name */
	MDB_dbi objects;   /* objects, by node id + BLAKE2b-256 of the name */
	MDB_dbi chunks;    /* chunk metadata (refs, size), by chunk hash */
	MDB_dbi chunkdata; /* chunk bytes, by chunk hash */
	MDB_dbi staging;   /* chunks waiting for an object, by hash + token */
	/* Replication (schema 3): see store/repl.h and store/schedule.h. */
	MDB_dbi replstate; /* last runs, by upper-case "NODE/TARGET" */
	MDB_dbi schedules; /* schedules, by upper-case name */
};

/* Opens DIR/data.mdb; with create, makes the environment and databases and
 * writes the schema version. An instance of an older schema is upgraded in one
 * transaction (new databases, version, an activity-log entry); a newer
 * schema is refused with -RPL_E_SCHEMA. mapsize 0 = default. */
int store_open(struct store *s, const char *dir, uint64_t mapsize, int create);
void store_close(struct store *s);

int store_begin(struct store *s, int write, MDB_txn **txn);
/* Commits; on failure the transaction is gone and nothing was written. */
int store_commit(MDB_txn *txn);
void store_abort(MDB_txn *txn);
/* Maps an LMDB return code to an RPL error code. */
int store_err(int mdb_rc);
/* Writes a consistent copy of the environment to fd (compacted). */
int store_copy_fd(struct store *s, int fd);

/* Raw named values in the meta database. get returns memory valid until the
 * transaction ends. */
int store_meta_get(MDB_txn *txn, struct store *s, const char *key, const uint8_t **val,
		   size_t *len);
int store_meta_put(MDB_txn *txn, struct store *s, const char *key, const void *val, size_t len);
int store_meta_del(MDB_txn *txn, struct store *s, const char *key);

/* LMDB's commits are written in calls of at most this many bytes (env.c
 * says why): the executable's writev() splits larger ones on regular files. */
#define STORE_WRITE_PIECE (128u << 10)
/* writev() as consecutive writev calls of at most piece bytes each; like
 * writev, the count written (short if a piece was short) or -1 and errno. */
ssize_t store_writev_pieces(int fd, const struct iovec *iov, int n, size_t piece);

/* Upper-cases name into key (names compare case-insensitively). */
void store_name_key(const char *name, char *key, size_t keysz);

#endif
