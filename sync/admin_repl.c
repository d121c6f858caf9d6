/* Admin commands about replication: REPLICATE NODE, QUERY REPLICATION,
 * QUERY REPLNODE, REMOVE REPLNODE, DISABLE/ENABLE REPLICATION,
 * SET REPLSERVER, QUERY PROCESS, CANCEL PROCESS. The runs themselves are
 * sync/repl_source.c's. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../peer/peer.h"
#include "../store/actlog.h"
#include "../store/node.h"
#include "../store/repl.h"
#include "../store/server.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "admin.h"
#include "process.h"
#include "repl.h"
#include "sync.h"

static void reply(struct admin_client *ac, json_t *doc) { adminsrv_reply(ac, doc, NULL); }

/* "30m", "2h", "45s", "1d", or plain seconds; 0 on error. */
int64_t admin_parse_span(const char *v, int allow_s, int allow_d)
{
	char *end;
	long long n = strtoll(v, &end, 10);

	if (end == v || n <= 0 || n > 100000000)
		return 0;
	switch (*end) {
	case 0: return allow_s ? n : 0;
	case 's':
	case 'S': return allow_s && !end[1] ? n : 0;
	case 'm':
	case 'M': return !end[1] ? n * 60 : 0;
	case 'h':
	case 'H': return !end[1] ? n * 3600 : 0;
	case 'd':
	case 'D': return allow_d && !end[1] ? n * 86400 : 0;
	}
	return 0;
}

/* ---- REPLICATE NODE ------------------------------------------------------ */

struct rjob {
	struct sync *y;
	struct admin_client *ac; /* NULL once answered (no WAIT) */
	int wait;
	struct repl_request rq;
	char (*nodes)[RPL_NAME_MAX + 1];
	int nnodes, next;
	json_t *runs;
	int failed_msg; /* the first failure's message, 0 = none */
	char failed_text[900];
	uint64_t objects, bytes, transferred;
	double seconds;
};

static void rjob_next(struct rjob *j);

static void rjob_progress(void *arg, const struct repl_progress *p)
{
	struct rjob *j = arg;
	json_t *doc;

	if (!j->ac || !j->wait)
		return;
	doc = repl_progress_json(p);
	json_object_set_new(doc, "node_index", json_integer(j->next));
	json_object_set_new(doc, "nodes", json_integer(j->nnodes));
	adminsrv_progress(j->ac, doc);
}

static void rjob_finish(struct rjob *j)
{
	json_t *doc;
	int ok = j->failed_msg == 0;

	if (j->ac) {
		if (ok) {
			doc = json_pack("{s:b, s:s}", "ok", 1, "message_id",
					rpl_msg_id(RPL_I_REPL_DONE));
		} else {
			doc = admin_error(j->failed_msg, "%s", j->failed_text);
		}
		if (json_array_size(j->runs) == 1) {
			/* One node: its figures at the top as well. */
			json_t *r = json_array_get(j->runs, 0);
			const char *k;
			json_t *v;
			json_object_foreach(r, k, v) if (!json_object_get(doc, k))
				json_object_set(doc, k, v);
		}
		if (ok && json_array_size(j->runs) != 1)
			json_object_set_new(doc, "message",
					    json_sprintf("%d nodes replicated to %s",
							 json_array_size(j->runs)
								 ? (int)json_array_size(j->runs)
								 : 0,
							 j->rq.target));
		json_object_set(doc, "runs", j->runs);
		adminsrv_reply(j->ac, doc, NULL);
		adminsrv_release(j->ac);
	}
	json_decref(j->runs);
	free(j->nodes);
	free(j);
}

static void rjob_done(void *arg, const struct repl_progress *p)
{
	struct rjob *j = arg;
	json_t *r = repl_progress_json(p);

	json_object_set_new(r, "message_id",
			    json_string(rpl_msg_id(p->msg ? p->msg : RPL_I_REPL_DONE)));
	json_object_set_new(r, "message", json_string(p->message));
	json_array_append_new(j->runs, r);
	if (p->state != REPL_COMPLETED && !j->failed_msg) {
		j->failed_msg = p->msg ? p->msg : RPL_E_REPL_FAILED;
		snprintf(j->failed_text, sizeof(j->failed_text), "node %s to %s: %s", p->node,
			 p->target, p->message);
	}
	rjob_next(j);
}

static void rjob_next(struct rjob *j)
{
	while (j->next < j->nnodes) {
		char why[400];
		uint64_t id;
		int rc;

		snprintf(j->rq.node, sizeof(j->rq.node), "%s", j->nodes[j->next++]);
		rc = repl_start(j->y, &j->rq, rjob_progress, rjob_done, j, &id, why, sizeof(why));
		if (rc == 0)
			return;
		json_array_append_new(j->runs,
				      json_pack("{s:s, s:s, s:s, s:s, s:s}", "node", j->rq.node,
						"target", j->rq.target, "state",
						rc == -RPL_W_REPL_BUSY ? "skipped" : "failed",
						"message_id", rpl_msg_id(rc), "message",
						why[0] ? why : rpl_msg_text(rc)));
		log_code(-rc, "REPLICATE NODE %s: %s", j->rq.node, why[0] ? why : rpl_msg_text(rc));
		peer_actlog(j->y->peer, -rc, "REPLICATE NODE %s TARGET=%s not started: %s",
			    j->rq.node, j->rq.target, why[0] ? why : rpl_msg_text(rc));
		if (!j->failed_msg && (rc != -RPL_W_REPL_BUSY || j->nnodes == 1)) {
			j->failed_msg = -rc;
			snprintf(j->failed_text, sizeof(j->failed_text), "%s",
				 why[0] ? why : rpl_msg_text(rc));
		}
	}
	rjob_finish(j);
}

struct node_collect {
	struct rjob *j;
	int cap;
};

static int collect_local(const struct node_rec *r, void *arg)
{
	struct node_collect *c = arg;

	if (r->kind != NODE_LOCAL)
		return 0;
	if (c->j->nnodes == c->cap) {
		int cap = c->cap ? c->cap * 2 : 16;
		void *np = realloc(c->j->nodes, (size_t)cap * sizeof(*c->j->nodes));
		if (!np)
			return -RPL_E_NOMEM;
		c->j->nodes = np;
		c->cap = cap;
	}
	snprintf(c->j->nodes[c->j->nnodes++], RPL_NAME_MAX + 1, "%s", r->name);
	return 0;
}

/* Checks what can be checked at once: replication enabled, a defined
 * target, the node(s). Fills j; an error document otherwise. */
static json_t *replicate_prepare(struct sync *y, struct admin_cmd *cmd, struct rjob *j)
{
	const char *target = admin_param(cmd, "TARGET"), *v;
	struct store *st = &y->in->store;
	struct server_rec sr;
	struct node_rec nr;
	char why[300], def[RPL_NAME_MAX + 1];
	MDB_txn *txn;
	json_t *err = NULL;
	int rc;

	if ((v = admin_param(cmd, "WAIT")) && strcasecmp(v, "YES") && strcasecmp(v, "NO"))
		return admin_error(RPL_E_ADMIN_PARAM, "WAIT must be YES or NO");
	j->wait = v && strcasecmp(v, "YES") == 0;
	if ((v = admin_param(cmd, "FORCE")) && strcasecmp(v, "YES") && strcasecmp(v, "NO"))
		return admin_error(RPL_E_ADMIN_PARAM, "FORCE must be YES or NO");
	j->rq.force = v && strcasecmp(v, "YES") == 0;
	if ((v = admin_param(cmd, "DURATION")) && !(j->rq.duration = admin_parse_span(v, 1, 0)))
		return admin_error(RPL_E_ADMIN_PARAM,
				   "DURATION must be N, Ns, Nm or Nh (more than 0)");
	if ((rc = store_begin(st, 0, &txn)) < 0)
		return admin_error(-rc, NULL);
	if ((rc = store_repl_disabled(txn, st, why, sizeof(why))) != 0) {
		store_abort(txn);
		return rc < 0 ? admin_error(-rc, NULL)
			      : admin_error(RPL_E_REPL_DISABLED, "%s", why);
	}
	if (!target) {
		if ((rc = store_repl_server_get(txn, st, def, sizeof(def))) < 0 || !def[0]) {
			store_abort(txn);
			return admin_error(RPL_E_REPL_NOTARGET, "REPLICATE NODE %s", cmd->words[2]);
		}
		target = def;
	}
	rc = store_server_get(txn, st, target, &sr);
	if (rc == 0) {
		snprintf(j->rq.target, sizeof(j->rq.target), "%s", sr.name);
		server_rec_free(&sr);
	} else {
		err = admin_error(rc == -RPL_E_NOTFOUND ? RPL_E_UNKNOWN_SERVER : -rc,
				  "target server %s", target);
	}
	if (!err && strcmp(cmd->words[2], "*") == 0) {
		struct node_collect c = { j, 0 };
		if ((rc = store_node_each(txn, st, collect_local, &c)) < 0)
			err = admin_error(-rc, NULL);
	} else if (!err) {
		rc = store_node_get(txn, st, cmd->words[2], &nr);
		if (rc == 0 && (j->nodes = malloc(sizeof(*j->nodes)))) {
			snprintf(j->nodes[0], RPL_NAME_MAX + 1, "%s", nr.name);
			j->nnodes = 1;
		} else {
			err = admin_error(rc == -RPL_E_NOTFOUND || rc == 0
						  ? (rc ? RPL_E_NODE_UNKNOWN : RPL_E_NOMEM)
						  : -rc,
					  "node %s", cmd->words[2]);
		}
	}
	store_abort(txn);
	return err;
}

void admin_replicate_node(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	static const char *const allowed[] = { "TARGET", "WAIT", "FORCE", "DURATION", NULL };
	struct rjob *j;
	json_t *err;

	if ((err = admin_check_params(cmd, allowed))) {
		reply(ac, err);
		return;
	}
	if (cmd->nwords != 3) {
		reply(ac,
		      admin_error(
			      RPL_E_ADMIN_SYNTAX,
			      "REPLICATE NODE name|* [TARGET=server] [WAIT=YES] [FORCE=YES] [DURATION=N{m|h}]"));
		return;
	}
	if (!(j = calloc(1, sizeof(*j)))) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	j->y = y;
	j->runs = json_array();
	if ((err = replicate_prepare(y, cmd, j))) {
		json_decref(j->runs);
		free(j->nodes);
		free(j);
		reply(ac, err);
		return;
	}
	if (j->nnodes == 0) {
		json_decref(j->runs);
		free(j->nodes);
		free(j);
		reply(ac, admin_ok(RPL_I_REPL_DONE, "no local node to replicate"));
		return;
	}
	if (j->wait) {
		j->ac = ac;
		adminsrv_hold(ac);
		rjob_next(j);
		return;
	}
	/* Without WAIT: the first run is started (or refused) now, the answer
	 * says so, and the job goes on by itself. */
	{
		char why[400];
		uint64_t id = 0;
		int rc;
		snprintf(j->rq.node, sizeof(j->rq.node), "%s", j->nodes[j->next]);
		rc = repl_start(y, &j->rq, NULL, rjob_done, j, &id, why, sizeof(why));
		j->next++;
		if (rc < 0 && j->nnodes == 1) {
			log_code(-rc, "REPLICATE NODE %s: %s", j->rq.node,
				 why[0] ? why : rpl_msg_text(rc));
			peer_actlog(y->peer, -rc, "REPLICATE NODE %s TARGET=%s not started: %s",
				    j->rq.node, j->rq.target, why[0] ? why : rpl_msg_text(rc));
			reply(ac, admin_error(-rc, "%s", why[0] ? why : rpl_msg_text(rc)));
			json_decref(j->runs);
			free(j->nodes);
			free(j);
			return;
		}
		if (rc < 0) {
			json_array_append_new(
				j->runs, json_pack("{s:s, s:s, s:s}", "node", j->rq.node, "state",
						   rc == -RPL_W_REPL_BUSY ? "skipped" : "failed",
						   "message", why));
			reply(ac,
			      admin_ok(RPL_I_REPL_STARTED, "replication of %d nodes to %s started",
				       j->nnodes, j->rq.target));
			rjob_next(j);
			return;
		}
		json_t *doc =
			j->nnodes == 1
				? admin_ok(RPL_I_REPL_STARTED,
					   "replication of node %s to %s started (process %llu)",
					   j->rq.node, j->rq.target, (unsigned long long)id)
				: admin_ok(
					  RPL_I_REPL_STARTED,
					  "replication of %d nodes to %s started (process %llu first)",
					  j->nnodes, j->rq.target, (unsigned long long)id);
		json_object_set_new(doc, "process", json_integer((json_int_t)id));
		reply(ac, doc);
	}
}

/* ---- QUERY REPLICATION ------------------------------------------------------ */

struct qrep {
	struct sync *y;
	const char *pattern;
	json_t *arr;
};

static json_t *figures_json(const struct repl_figures *f)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "objects_replicated",
			 (json_int_t)f->objects, "bytes_replicated", (json_int_t)f->bytes,
			 "bytes_transferred", (json_int_t)f->transferred, "objects_deleted",
			 (json_int_t)f->deleted, "objects_failed", (json_int_t)f->failed,
			 "chunk_bytes_sent", (json_int_t)f->chunk_bytes_sent);
}

static int qrep_cb(const struct repl_rec *r, void *arg)
{
	struct qrep *q = arg;
	struct repl_progress p;
	int state = r->state;
	json_t *j;

	if (q->pattern && fnmatch(q->pattern, r->node, FNM_CASEFOLD) != 0)
		return 0;
	if (repl_running_progress(q->y, r->node, r->target, &p) == 0)
		state = REPL_RUNNING;
	else if (state == REPL_RUNNING)
		state = REPL_FAILED; /* recorded as running, but nothing runs: fixed at start */
	j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:o}", "node", r->node, "target", r->target,
		      "state", repl_state_name(state), "objects_replicated",
		      (json_int_t)r->done.objects, "bytes_replicated", (json_int_t)r->done.bytes,
		      "bytes_transferred", (json_int_t)r->done.transferred, "last_success",
		      admin_time(r->last_success));
	json_object_set_new(j, "objects_deleted", json_integer((json_int_t)r->done.deleted));
	json_object_set_new(j, "last_start", admin_time(r->last_start));
	json_object_set_new(j, "last_end", admin_time(r->last_end));
	json_object_set_new(j, "last_message_id", json_string(rpl_msg_id(r->last_msg)));
	json_object_set_new(j, "last_message", json_string(r->last_message));
	json_object_set_new(j, "last_run", figures_json(&r->last));
	if (state == REPL_RUNNING)
		json_object_set_new(j, "running", repl_progress_json(&p));
	json_object_set_new(j, "runs", json_integer((json_int_t)r->runs));
	json_object_set_new(j, "total_objects_replicated",
			    json_integer((json_int_t)r->total_objects));
	json_object_set_new(j, "total_bytes_replicated", json_integer((json_int_t)r->total_bytes));
	json_object_set_new(j, "total_bytes_transferred",
			    json_integer((json_int_t)r->total_transferred));
	json_array_append_new(q->arr, j);
	return 0;
}

void admin_query_replication(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct qrep q = { y, NULL, NULL };
	MDB_txn *txn;
	int rc;

	if (cmd->nwords > 3 || cmd->nparams) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "QUERY REPLICATION [node]"));
		return;
	}
	if (cmd->nwords == 3)
		q.pattern = cmd->words[2];
	if ((rc = store_begin(&y->in->store, 0, &txn)) < 0) {
		reply(ac, admin_error(-rc, NULL));
		return;
	}
	q.arr = json_array();
	rc = store_repl_each(txn, &y->in->store, qrep_cb, &q);
	store_abort(txn);
	if (rc < 0) {
		json_decref(q.arr);
		reply(ac, admin_error(-rc, NULL));
		return;
	}
	adminsrv_reply(ac, q.arr,
		       json_pack("[s,s,s,s,s,s,s]", "node", "target", "state", "objects_replicated",
				 "bytes_replicated", "bytes_transferred", "last_success"));
}

/* ---- QUERY REPLNODE ------------------------------------------------------------ */

static void replnode_done(void *arg, const struct repl_progress *p)
{
	struct admin_client *ac = arg;
	json_t *doc;

	if (p->state != REPL_COMPLETED) {
		doc = admin_error(p->msg ? p->msg : RPL_E_REPL_FAILED, "%s", p->message);
	} else {
		doc = json_pack("{s:s, s:s, s:I, s:I, s:b, s:I, s:I, s:b}", "node", p->node,
				"target", p->target, "source_objects",
				(json_int_t)p->source_objects, "source_bytes",
				(json_int_t)p->source_bytes, "replica_exists", p->replica_exists,
				"target_objects", (json_int_t)p->replica_objects, "target_bytes",
				(json_int_t)p->replica_bytes, "equal",
				p->replica_exists && p->source_objects == p->replica_objects &&
					p->source_bytes == p->replica_bytes);
	}
	adminsrv_reply(ac, doc, NULL);
	adminsrv_release(ac);
}

void admin_query_replnode(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	static const char *const allowed[] = { "TARGET", NULL };
	const char *target = admin_param(cmd, "TARGET");
	struct repl_request rq;
	char def[RPL_NAME_MAX + 1] = "", why[400];
	MDB_txn *txn;
	json_t *err;
	int rc;

	if ((err = admin_check_params(cmd, allowed)) || cmd->nwords != 3) {
		reply(ac,
		      err ? err
			  : admin_error(RPL_E_ADMIN_SYNTAX, "QUERY REPLNODE name [TARGET=server]"));
		return;
	}
	if (!target) {
		if ((rc = store_begin(&y->in->store, 0, &txn)) == 0) {
			rc = store_repl_server_get(txn, &y->in->store, def, sizeof(def));
			store_abort(txn);
		}
		if (rc < 0 || !def[0]) {
			reply(ac,
			      admin_error(RPL_E_REPL_NOTARGET, "QUERY REPLNODE %s", cmd->words[2]));
			return;
		}
		target = def;
	}
	memset(&rq, 0, sizeof(rq));
	snprintf(rq.node, sizeof(rq.node), "%s", cmd->words[2]);
	snprintf(rq.target, sizeof(rq.target), "%s", target);
	rq.query_only = 1;
	adminsrv_hold(ac);
	rc = repl_start(y, &rq, NULL, replnode_done, ac, NULL, why, sizeof(why));
	if (rc < 0) {
		adminsrv_release(ac);
		reply(ac, admin_error(-rc, "%s", why[0] ? why : rpl_msg_text(rc)));
	}
}

/* ---- REMOVE REPLNODE, DISABLE/ENABLE REPLICATION, SET REPLSERVER -------------------- */

static int remove_replnode_work(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	const char *name = arg;
	struct node_rec r;
	int rc = store_node_get(txn, st, name, &r);

	if (rc == -RPL_E_NOTFOUND) {
		snprintf(detail, dsz, "node %s", name);
		return -RPL_E_NODE_UNKNOWN;
	}
	if (rc < 0)
		return rc;
	if (r.kind != NODE_REPLICA) {
		snprintf(detail, dsz, "node %s is not a replica", r.name);
		return -RPL_E_ADMIN_PARAM;
	}
	if ((rc = store_node_make_local(txn, st, r.name)) < 0)
		return rc;
	return store_actlog_add(
		txn, st, RPL_I_NODE_LOCAL,
		"replica node %s (of node %s of server %s) made an ordinary node with %llu objects",
		r.name, r.src_node, r.src_server, (unsigned long long)r.objects);
}

void admin_remove_replnode(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	char *name;

	if (cmd->nwords != 3 || cmd->nparams) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "REMOVE REPLNODE name"));
		return;
	}
	if (!(name = strdup(cmd->words[2]))) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	admin_write(y, ac, remove_replnode_work, name, free,
		    admin_ok(RPL_I_NODE_LOCAL, "node %s is an ordinary node now", name), NULL);
}

static int enable_work(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	int enable = arg != NULL;
	int rc;

	(void)detail;
	(void)dsz;
	rc = store_repl_set_disabled(
		txn, st, enable ? NULL : "disabled by the administrator (DISABLE REPLICATION)");
	if (rc == 0)
		rc = store_actlog_add(txn, st, enable ? RPL_I_REPL_ENABLED : RPL_I_REPL_DISABLED,
				      "outbound replication %s by the administrator",
				      enable ? "enabled" : "disabled");
	return rc;
}

static void able(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd, int enable)
{
	if (cmd->nwords != 2 || cmd->nparams) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "%s REPLICATION",
				      enable ? "ENABLE" : "DISABLE"));
		return;
	}
	admin_write(y, ac, enable_work, enable ? (void *)1 : NULL, NULL,
		    enable ? admin_ok(RPL_I_REPL_ENABLED, "outbound replication enabled")
			   : admin_ok(RPL_I_REPL_DISABLED,
				      "outbound replication disabled; running replications finish"),
		    NULL);
}

void admin_enable_replication(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	able(y, ac, cmd, 1);
}

void admin_disable_replication(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	able(y, ac, cmd, 0);
}

static int replserver_work(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	char *name = arg;
	struct server_rec r;
	int rc = store_server_get(txn, st, name, &r);

	if (rc == -RPL_E_NOTFOUND) {
		snprintf(detail, dsz, "%s", name);
		return -RPL_E_UNKNOWN_SERVER;
	}
	if (rc < 0)
		return rc;
	snprintf(name, RPL_NAME_MAX + 1, "%s", r.name);
	server_rec_free(&r);
	rc = store_repl_server_set(txn, st, name);
	if (rc == 0)
		rc = store_actlog_add(txn, st, RPL_I_REPLSERVER,
				      "default replication target set to %s", name);
	return rc;
}

void admin_set_replserver(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	char *name;

	if (cmd->nwords != 3 || cmd->nparams) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "SET REPLSERVER name"));
		return;
	}
	if (!conf_valid_name(cmd->words[2])) {
		reply(ac, admin_error(RPL_E_BADNAME, "'%s'", cmd->words[2]));
		return;
	}
	if (!(name = calloc(1, RPL_NAME_MAX + 1))) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	snprintf(name, RPL_NAME_MAX + 1, "%s", cmd->words[2]);
	admin_write(y, ac, replserver_work, name, free,
		    admin_ok(RPL_I_REPLSERVER, "default replication target set to %s", name), NULL);
}

/* ---- QUERY PROCESS, CANCEL PROCESS ---------------------------------------------------- */

void admin_query_process(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	if (cmd->nwords != 2 || cmd->nparams) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "QUERY PROCESS"));
		return;
	}
	json_t *arr = repl_processes_json(y);

	/* Replication runs, then renewal rounds and FORCESYNC exchanges:
	 * each row says how far it is in "progress". */
	process_list_json(y, arr);
	adminsrv_reply(ac, arr,
		       json_pack("[s,s,s,s,s,s,s,s]", "process", "command", "phase", "progress",
				 "bytes_done", "bytes_total", "rate_bytes_per_second",
				 "eta_seconds"));
}

void admin_cancel_process(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	char *end, why[80], what[200] = "";
	unsigned long long id;

	if (cmd->nwords != 3 || cmd->nparams) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "CANCEL PROCESS n"));
		return;
	}
	id = strtoull(cmd->words[2], &end, 10);
	if (*end || !id) {
		reply(ac,
		      admin_error(RPL_E_ADMIN_PARAM, "a process number, as QUERY PROCESS shows"));
		return;
	}
	if (repl_cancel(y, id, "cancelled by CANCEL PROCESS") < 0) {
		snprintf(why, sizeof(why), "cancelled by the administrator (CANCEL PROCESS %llu)",
			 id);
		if (process_cancel(y, id, why, what, sizeof(what)) < 0) {
			reply(ac, admin_error(RPL_E_PROCESS_UNKNOWN, "process %llu", id));
			return;
		}
		log_info(RPL_I_PROCESS_CANCEL, "process %llu (%s) cancelled by the administrator",
			 id, what);
		peer_actlog(y->peer, RPL_I_PROCESS_CANCEL,
			    "process %llu (%s) cancelled by the administrator", id, what);
		reply(ac, admin_ok(RPL_I_PROCESS_CANCEL,
				   "process %llu (%s) cancelled; partners not reached follow at "
				   "their next session",
				   id, what));
		return;
	}
	log_info(RPL_I_PROCESS_CANCEL, "process %llu cancelled by the administrator", id);
	reply(ac, admin_ok(RPL_I_PROCESS_CANCEL, "process %llu cancelled; the next run resumes it",
			   id));
}
