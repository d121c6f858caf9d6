/* Admin commands about nodes: REGISTER NODE, REMOVE NODE, QUERY NODE. The
 * objects themselves come from 'replpeer store' and from replication. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../peer/daemon.h"
#include "../store/actlog.h"
#include "../store/node.h"
#include "../util/msg.h"
#include "admin.h"

static json_t *commit_doc(MDB_txn *txn, int rc, json_t *ok)
{
	if (rc == 0)
		rc = store_commit(txn);
	else
		store_abort(txn);
	if (rc < 0) {
		json_decref(ok);
		return admin_error(-rc, NULL);
	}
	return ok;
}

void admin_register_node(struct daemon *d, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct node_rec r, got;
	MDB_txn *txn;
	int rc;

	if (cmd->nwords != 3 || cmd->nparams)
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "REGISTER NODE name"), NULL);
	if (!node_valid_name(cmd->words[2]))
		return adminsrv_reply(ac, admin_error(RPL_E_NODE_NAME, "'%s'", cmd->words[2]), NULL);
	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", cmd->words[2]);
	r.kind = NODE_LOCAL;
	if ((rc = store_begin(&d->in.store, 1, &txn)) < 0)
		return adminsrv_reply(ac, admin_error(-rc, NULL), NULL);
	rc = store_node_register(txn, &d->in.store, &r, &got);
	if (rc == -RPL_E_DUPLICATE) {
		store_abort(txn);
		return adminsrv_reply(ac, admin_error(RPL_E_DUPLICATE, "node %s is already registered", r.name), NULL);
	}
	if (rc == 0)
		rc = store_actlog_add(txn, &d->in.store, RPL_I_NODE_REGISTERED,
				      "node %s registered (id %u)", got.name, got.id);
	adminsrv_reply(ac, commit_doc(txn, rc, admin_ok(RPL_I_NODE_REGISTERED, "node %s registered", r.name)), NULL);
}

/* DELETEOBJECTS=YES is the administrator's consent to lose the objects:
 * without it a node that holds any is refused, so a typo cannot wipe one. */
void admin_remove_node(struct daemon *d, struct admin_client *ac, struct admin_cmd *cmd)
{
	static const char *const allowed[] = {"DELETEOBJECTS", NULL};
	const char *del = admin_param(cmd, "DELETEOBJECTS");
	struct node_rec r;
	uint64_t n = 0;
	int delete_objects = 0, rc;
	MDB_txn *txn;
	json_t *err;

	if ((err = admin_check_params(cmd, allowed)))
		return adminsrv_reply(ac, err, NULL);
	if (cmd->nwords != 3)
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "REMOVE NODE name [DELETEOBJECTS=YES]"), NULL);
	if (del && strcasecmp(del, "YES") == 0)
		delete_objects = 1;
	else if (del && strcasecmp(del, "NO") != 0)
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_PARAM, "DELETEOBJECTS must be YES or NO"), NULL);
	if ((rc = store_begin(&d->in.store, 1, &txn)) < 0)
		return adminsrv_reply(ac, admin_error(-rc, NULL), NULL);
	rc = store_node_get(txn, &d->in.store, cmd->words[2], &r);
	if (rc == 0)
		rc = store_node_remove(txn, &d->in.store, r.name, delete_objects, &n);
	if (rc == -RPL_E_NOTFOUND || rc == -RPL_E_NODE_NOTEMPTY) {
		store_abort(txn);
		if (rc == -RPL_E_NOTFOUND)
			return adminsrv_reply(ac, admin_error(RPL_E_NODE_UNKNOWN, "%s", cmd->words[2]), NULL);
		return adminsrv_reply(ac, admin_error(RPL_E_NODE_NOTEMPTY, "node %s holds %llu objects (%llu bytes)",
						      r.name, (unsigned long long)r.objects,
						      (unsigned long long)r.bytes), NULL);
	}
	if (rc == 0)
		rc = store_actlog_add(txn, &d->in.store, RPL_I_NODE_REMOVED,
				      "%s node %s removed with %llu objects (%llu bytes)",
				      node_kind_name(r.kind), r.name, (unsigned long long)n,
				      (unsigned long long)r.bytes);
	adminsrv_reply(ac, commit_doc(txn, rc, admin_ok(RPL_I_NODE_REMOVED, "node %s removed with %llu objects",
							r.name, (unsigned long long)n)), NULL);
}

static json_t *node_json(const struct node_rec *r)
{
	json_t *src = json_null();

	if (r->kind == NODE_REPLICA)
		src = json_pack("{s:s, s:s}", "server", r->src_server, "node", r->src_node);
	return json_pack("{s:s, s:s, s:o, s:I, s:I, s:o, s:o, s:I}", "name", r->name,
			 "kind", node_kind_name(r->kind), "source", src,
			 "objects", (json_int_t)r->objects, "bytes", (json_int_t)r->bytes,
			 "created", admin_time(r->created), "changed", admin_time(r->changed),
			 "id", (json_int_t)r->id);
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

void admin_query_node(struct daemon *d, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct query_arg q = {NULL, NULL};
	MDB_txn *txn;
	int rc;

	if (cmd->nwords > 3 || cmd->nparams)
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "QUERY NODE [name]"), NULL);
	if (cmd->nwords == 3)
		q.pattern = cmd->words[2];
	if ((rc = store_begin(&d->in.store, 0, &txn)) < 0)
		return adminsrv_reply(ac, admin_error(-rc, NULL), NULL);
	q.arr = json_array();
	rc = store_node_each(txn, &d->in.store, query_cb, &q);
	store_abort(txn);
	if (rc < 0) {
		json_decref(q.arr);
		return adminsrv_reply(ac, admin_error(-rc, NULL), NULL);
	}
	/* A name without wildcards that matched nothing is an error. */
	if (q.pattern && !strpbrk(q.pattern, "*?") && json_array_size(q.arr) == 0) {
		json_decref(q.arr);
		return adminsrv_reply(ac, admin_error(RPL_E_NODE_UNKNOWN, "%s", q.pattern), NULL);
	}
	adminsrv_reply(ac, q.arr, json_pack("[s,s,s,s,s]", "name", "kind", "objects", "bytes", "created"));
}
