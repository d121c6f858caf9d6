/* Admin commands about nodes: REGISTER NODE, REMOVE NODE, QUERY NODE. The
 * objects themselves come from 'replpeer store' and from replication. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../store/actlog.h"
#include "../store/node.h"
#include "../util/msg.h"
#include "admin.h"
#include "sync.h"

struct node_job {
	char name[RPL_NAME_MAX + 1];
	int delete_objects;
	uint64_t removed;
};

static int register_work(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	struct node_job *j = arg;
	struct node_rec r, got;
	int rc;

	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", j->name);
	r.kind = NODE_LOCAL;
	rc = store_node_register(txn, st, &r, &got);
	if (rc == -RPL_E_DUPLICATE)
		snprintf(detail, dsz, "node %s is already registered", r.name);
	if (rc == 0)
		rc = store_actlog_add(txn, st, RPL_I_NODE_REGISTERED, "node %s registered (id %u)",
				      got.name, got.id);
	return rc;
}

void admin_register_node(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct node_job *j;

	if (!node_valid_name(cmd->words[2])) {
		adminsrv_reply(ac, admin_error(RPL_E_NODE_NAME, "'%s'", cmd->words[2]), NULL);
		return;
	}
	if (!(j = calloc(1, sizeof(*j)))) {
		adminsrv_reply(ac, admin_error(RPL_E_NOMEM, NULL), NULL);
		return;
	}
	snprintf(j->name, sizeof(j->name), "%s", cmd->words[2]);
	admin_write(y, ac, register_work, j, free,
		    admin_ok(RPL_I_NODE_REGISTERED, "node %s registered", j->name), NULL);
}

static int remove_work(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	struct node_job *j = arg;
	struct node_rec r;
	int rc = store_node_get(txn, st, j->name, &r);

	if (rc == -RPL_E_NOTFOUND) {
		snprintf(detail, dsz, "%s", j->name);
		return -RPL_E_NODE_UNKNOWN;
	}
	if (rc == 0)
		rc = store_node_remove(txn, st, r.name, j->delete_objects, &j->removed);
	if (rc == -RPL_E_NODE_NOTEMPTY)
		snprintf(detail, dsz, "node %s holds %llu objects (%llu bytes)", r.name,
			 (unsigned long long)r.objects, (unsigned long long)r.bytes);
	if (rc == 0)
		rc = store_actlog_add(txn, st, RPL_I_NODE_REMOVED,
				      "%s node %s removed with %llu objects (%llu bytes)",
				      node_kind_name(r.kind), r.name,
				      (unsigned long long)j->removed, (unsigned long long)r.bytes);
	return rc;
}

/* DELETEOBJECTS=YES is the administrator's consent to lose the objects:
 * without it a node that holds any is refused, so a typo cannot wipe one.
 * The removal (possibly of many objects) runs through the database writer. */
void admin_remove_node(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	const char *del = admin_param(cmd, "DELETEOBJECTS"); /* YES or NO (admin_resolve) */
	struct node_job *j;

	if (!(j = calloc(1, sizeof(*j)))) {
		adminsrv_reply(ac, admin_error(RPL_E_NOMEM, NULL), NULL);
		return;
	}
	snprintf(j->name, sizeof(j->name), "%s", cmd->words[2]);
	j->delete_objects = del && strcmp(del, "YES") == 0;
	admin_write(y, ac, remove_work, j, free,
		    admin_ok(RPL_I_NODE_REMOVED, "node %s removed", j->name), NULL);
}

static json_t *node_json(const struct node_rec *r)
{
	json_t *src = json_null();

	if (r->kind == NODE_REPLICA)
		src = json_pack("{s:s, s:s}", "server", r->src_server, "node", r->src_node);
	return json_pack("{s:s, s:s, s:o, s:I, s:I, s:o, s:o, s:I}", "name", r->name, "kind",
			 node_kind_name(r->kind), "source", src, "objects", (json_int_t)r->objects,
			 "bytes", (json_int_t)r->bytes, "created", admin_time(r->created),
			 "changed", admin_time(r->changed), "id", (json_int_t)r->id);
}

struct query_arg {
	const char *pattern;
	json_t *arr;
};

static int query_cb(const struct node_rec *r, void *arg)
{
	struct query_arg *q = arg;

	if (!q->pattern || fnmatch(q->pattern, r->name, FNM_CASEFOLD) == 0)
		json_array_append_new(q->arr, node_json(r));
	return 0;
}

void admin_query_node(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct query_arg q = { NULL, NULL };
	MDB_txn *txn;
	int rc;

	if (cmd->nwords == 3)
		q.pattern = cmd->words[2];
	if ((rc = store_begin(&y->in->store, 0, &txn)) < 0) {
		adminsrv_reply(ac, admin_error(-rc, NULL), NULL);
		return;
	}
	q.arr = json_array();
	rc = store_node_each(txn, &y->in->store, query_cb, &q);
	store_abort(txn);
	if (rc < 0) {
		json_decref(q.arr);
		{
			adminsrv_reply(ac, admin_error(-rc, NULL), NULL);
			return;
		}
	}
	/* A name without wildcards that matched nothing is an error. */
	if (q.pattern && !strpbrk(q.pattern, "*?") && json_array_size(q.arr) == 0) {
		json_decref(q.arr);
		{
			adminsrv_reply(ac, admin_error(RPL_E_NODE_UNKNOWN, "%s", q.pattern), NULL);
			return;
		}
	}
	adminsrv_reply(ac, q.arr,
		       json_pack("[s,s,s,s,s]", "name", "kind", "objects", "bytes", "created"));
}
