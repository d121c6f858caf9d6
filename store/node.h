/*
 * store/node: nodes — the owners of objects. A record per node, keyed by its
 * upper-case name (names compare case-insensitively), with a numeric id that
 * keys its objects, its kind (local, or a read-only replica of a node on a
 * source server) and counters that every object change keeps current in
 * the same transaction. Objects themselves are store/object's.
 */
#ifndef RPL_STORE_NODE_H
#define RPL_STORE_NODE_H

#include "../util/conf.h"
#include "env.h"

#define NODE_NAME_MAX RPL_NAME_MAX

enum node_kind { NODE_LOCAL = 0, NODE_REPLICA = 1 };

struct node_rec {
	char name[NODE_NAME_MAX + 1]; /* as registered */
	uint32_t id;                  /* never reused */
	int kind;
	int64_t created;
	int64_t changed; /* last object change, 0 if none */
	/* Replicas: where the node comes from. */
	char src_server[RPL_NAME_MAX + 1];
	char src_node[NODE_NAME_MAX + 1];
	uint64_t objects; /* how many objects */
	uint64_t bytes;   /* their logical size, in all */
};

const char *node_kind_name(int kind);
/* 1 when name is a valid node name (as server names: 1 to 64 letters,
 * digits, '.', '-' or '_'). */
int node_valid_name(const char *name);

/* Creates the node described by r (name, kind, source); assigns its id and
 * created time and returns the stored record in out (may be NULL).
 * -RPL_E_DUPLICATE when the name exists, -RPL_E_NODE_NAME when invalid. */
int store_node_register(MDB_txn *txn, struct store *s, const struct node_rec *r,
			struct node_rec *out);
int store_node_get(MDB_txn *txn, struct store *s, const char *name, struct node_rec *out);
/* Rewrites a record (object changes use it for the counters). */
int store_node_put(MDB_txn *txn, struct store *s, const struct node_rec *r);
/* Calls fn for each node in name order; non-zero from fn stops and is
 * returned. */
int store_node_each(MDB_txn *txn, struct store *s, int (*fn)(const struct node_rec *r, void *arg),
		    void *arg);
/* Removes a node. With objects, -RPL_E_NODE_NOTEMPTY unless delete_objects:
 * then every object goes too (chunk references released, space reclaimed)
 * and *deleted (may be NULL) tells how many. */
int store_node_remove(MDB_txn *txn, struct store *s, const char *name, int delete_objects,
		      uint64_t *deleted);
/* Makes a replica an ordinary local node that store put/rm may change
 * (REMOVE REPLNODE). -RPL_E_BADARG when it is local already. */
int store_node_make_local(MDB_txn *txn, struct store *s, const char *name);

/* Decodes a node record (verify uses it on raw records). */
int node_decode(const void *p, size_t n, struct node_rec *r);

#endif
