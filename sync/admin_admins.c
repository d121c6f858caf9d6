/*
 * Administrators: REGISTER, UPDATE, REMOVE, LOCK, UNLOCK and QUERY ADMIN,
 * and the table of privilege classes. A LOCAL administrator's secrets (an
 * SRP verifier and, for the down-level path, a slow salted hash) are made
 * from the password on the thread pool; the password itself is never
 * stored, logged or written to the activity log.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../peer/keys/instance.h"
#include "../peer/ldap.h"
#include "../store/actlog.h"
#include "../store/admin.h"
#include "../store/server.h"
#include "../util/clock.h"
#include "../util/conf.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "admin.h"
#include "sync.h"

/* ---- privilege classes ------------------------------------------------------ */

/* What an OPERATOR may run (verb, object; NULL object = any). Everything
 * else, including commands added later, needs SYSTEM. The README prints
 * this table (tests/e2e/t_admin_remote.sh checks it against the README). */
static const struct {
	const char *verb, *object;
} operator_may[] = {
	{ "QUERY", NULL },       { "PING", "SERVER" }, { "REPLICATE", "NODE" },
	{ "CANCEL", "PROCESS" }, { "HELP", NULL },     { "QUIT", NULL },
};

int admin_class_needed(const struct admin_cmd *cmd)
{
	for (size_t i = 0; i < sizeof(operator_may) / sizeof(operator_may[0]); i++) {
		if (strcasecmp(cmd->words[0], operator_may[i].verb) != 0)
			continue;
		if (!operator_may[i].object ||
		    (cmd->nwords > 1 && strcasecmp(cmd->words[1], operator_may[i].object) == 0))
			return ADMIN_CLASS_OPERATOR;
	}
	return ADMIN_CLASS_SYSTEM;
}

/* ---- parameters --------------------------------------------------------------- */

struct admin_change {
	struct sync *y;
	struct admin_client *ac;
	char self[RPL_NAME_MAX + 1]; /* who runs the command ("" = admin.sock) */
	char name[RPL_NAME_MAX + 1];
	int registering;
	int has_pw, has_auth, has_cls, has_secsec, lock, unlock, remove;
	char pw[65];
	int auth, cls, secsec;
	struct blob srp, slow; /* made on the pool from pw */
	int rc;
	char changes[300]; /* for the activity log, no password */
	uv_work_t req;
};

static void change_free(void *arg)
{
	struct admin_change *c = arg;
	blob_free(&c->srp);
	blob_free(&c->slow);
	secure_zero(c, sizeof(*c));
	free(c);
}

static void reply(struct admin_client *ac, json_t *doc) { adminsrv_reply(ac, doc, NULL); }

static int keyword(const char *v, const char *a, const char *b, int va, int vb, int *out)
{
	if (strcasecmp(v, a) == 0)
		*out = va;
	else if (strcasecmp(v, b) == 0)
		*out = vb;
	else
		return -1;
	return 0;
}

static void note(struct admin_change *c, const char *key, const char *v)
{
	size_t n = strlen(c->changes);
	snprintf(c->changes + n, sizeof(c->changes) - n, " %s=%s", key, v);
}

static json_t *parse_params(const struct admin_cmd *cmd, struct admin_change *c)
{
	static const char *const allowed[] = { "PASSWORD", "AUTHENTICATION", "CLASS",
					       "SESSIONSECURITY", NULL };
	json_t *err = admin_check_params(cmd, allowed);
	const char *v;

	if (err)
		return err;
	if ((v = admin_param(cmd, "PASSWORD"))) {
		if (!instance_password_ok(v))
			return admin_error(RPL_E_PASSWORD_WEAK, NULL);
		snprintf(c->pw, sizeof(c->pw), "%s", v);
		c->has_pw = 1;
		note(c, "PASSWORD", "***");
	}
	if ((v = admin_param(cmd, "AUTHENTICATION"))) {
		if (keyword(v, "LOCAL", "LDAP", ADMIN_AUTH_LOCAL, ADMIN_AUTH_LDAP, &c->auth) < 0)
			return admin_error(RPL_E_ADMIN_PARAM,
					   "AUTHENTICATION must be LOCAL or LDAP");
		c->has_auth = 1;
		note(c, "AUTHENTICATION", admin_auth_name(c->auth));
	}
	if ((v = admin_param(cmd, "CLASS"))) {
		if (keyword(v, "SYSTEM", "OPERATOR", ADMIN_CLASS_SYSTEM, ADMIN_CLASS_OPERATOR,
			    &c->cls) < 0)
			return admin_error(RPL_E_ADMIN_PARAM, "CLASS must be SYSTEM or OPERATOR");
		c->has_cls = 1;
		note(c, "CLASS", admin_class_name(c->cls));
	}
	if ((v = admin_param(cmd, "SESSIONSECURITY"))) {
		if (keyword(v, "TRANSITIONAL", "STRICT", SECSEC_TRANSITIONAL, SECSEC_STRICT,
			    &c->secsec) < 0)
			return admin_error(RPL_E_ADMIN_PARAM,
					   "SESSIONSECURITY must be TRANSITIONAL or STRICT");
		c->has_secsec = 1;
		note(c, "SESSIONSECURITY", secsec_name(c->secsec));
	}
	return NULL;
}

/* ---- the write ------------------------------------------------------------------ */

static int change_work(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	struct admin_change *c = arg;
	struct admin_rec r;
	const char *what;
	int rc = store_admin_get(txn, st, c->name, &r);

	if (c->registering && rc == 0) {
		admin_rec_free(&r);
		snprintf(detail, dsz, "administrator %s is already registered", c->name);
		return -RPL_E_ADMIN_EXISTS;
	}
	if (!c->registering && rc == -RPL_E_NOTFOUND) {
		snprintf(detail, dsz, "administrator %s is not registered", c->name);
		return -RPL_E_ADMIN_UNKNOWN;
	}
	if (rc < 0 && rc != -RPL_E_NOTFOUND)
		return rc;
	if (c->registering) {
		memset(&r, 0, sizeof(r));
		snprintf(r.name, sizeof(r.name), "%s", c->name);
		r.auth = ADMIN_AUTH_LOCAL;
		r.cls = ADMIN_CLASS_OPERATOR;
		r.secsec = SECSEC_TRANSITIONAL;
		r.created = clock_now();
	}
	/* An administrator does not saw off the branch it sits on. */
	if (c->self[0] && strcasecmp(c->self, c->name) == 0 &&
	    (c->remove || c->lock ||
	     (c->has_cls && c->cls != r.cls && r.cls == ADMIN_CLASS_SYSTEM))) {
		admin_rec_free(&r);
		snprintf(detail, dsz, "administrator %s cannot remove, lock or lower itself",
			 c->name);
		return -RPL_E_ADMIN_SELF;
	}
	if (c->remove) {
		admin_rec_free(&r);
		rc = store_admin_del(txn, st, c->name);
		what = "removed";
		goto log;
	}
	if (c->has_auth)
		r.auth = c->auth;
	if (c->has_cls)
		r.cls = c->cls;
	if (c->has_secsec)
		r.secsec = c->secsec;
	if (c->lock)
		r.locked = 1;
	if (c->unlock) {
		r.locked = 0;
		r.failed = 0;
	}
	if (r.auth == ADMIN_AUTH_LDAP) {
		blob_free(&r.srp);
		blob_free(&r.slow);
	} else if (c->has_pw) {
		blob_free(&r.srp);
		blob_free(&r.slow);
		r.srp = c->srp;
		r.slow = c->slow;
		c->srp = c->slow = (struct blob){ 0 };
	} else if (!r.srp.n) {
		admin_rec_free(&r);
		snprintf(detail, dsz,
			 "a LOCAL administrator needs a password: PASSWORD=pw (or - to be asked)");
		return -RPL_E_ADMIN_PARAM;
	}
	rc = store_admin_put(txn, st, &r);
	admin_rec_free(&r);
	what = c->registering ? "registered"
	       : c->lock      ? "locked"
	       : c->unlock    ? "unlocked"
			      : "updated";
log:
	if (rc == 0)
		rc = store_actlog_add(txn, st, RPL_I_ADMIN_CHANGED, "administrator %s %s%s%s",
				      c->name, what, c->changes[0] ? ":" : "", c->changes);
	return rc;
}

/* A changed or removed administrator keeps no cached LDAP verdict. */
static void forget_ldap(struct sync *y, int rc, void *arg)
{
	(void)arg;
	if (rc == 0 && y->ldap)
		ldap_cache_clear(y->ldap);
}

static void submit(struct admin_change *c)
{
	char text[400];

	snprintf(text, sizeof(text), "administrator %s %s", c->name,
		 c->registering ? "registered"
		 : c->remove    ? "removed"
		 : c->lock      ? "locked"
		 : c->unlock    ? "unlocked"
				: "updated");
	admin_write(c->y, c->ac, change_work, c, change_free,
		    admin_ok(RPL_I_ADMIN_CHANGED, "%s", text), forget_ldap);
}

static void secrets_work(uv_work_t *req)
{
	struct admin_change *c = req->data;
	c->rc = instance_admin_secrets(c->y->in, c->name, c->pw, &c->srp, &c->slow);
	secure_zero(c->pw, sizeof(c->pw));
}

static void secrets_after(uv_work_t *req, int status)
{
	struct admin_change *c = req->data;
	struct admin_client *ac = c->ac;

	if (status < 0 || c->rc < 0) {
		reply(ac, admin_error(status < 0 ? RPL_E_INTERNAL : -c->rc, NULL));
		change_free(c);
	} else {
		submit(c);
	}
	adminsrv_release(ac);
}

/* Makes the secrets on the pool when there is a password, then writes. */
static void run(struct admin_change *c)
{
	if (!c->has_pw) {
		submit(c);
		return;
	}
	c->req.data = c;
	adminsrv_hold(c->ac);
	if (uv_queue_work(c->y->loop, &c->req, secrets_work, secrets_after) < 0) {
		adminsrv_release(c->ac);
		reply(c->ac, admin_error(RPL_E_INTERNAL, NULL));
		change_free(c);
	}
}

static struct admin_change *change_new(struct sync *y, struct admin_client *ac,
				       const struct admin_cmd *cmd)
{
	struct admin_change *c;
	char where[80];

	if (cmd->nwords < 3 || !conf_valid_name(cmd->words[2])) {
		reply(ac,
		      admin_error(
			      RPL_E_ADMIN_PARAM,
			      "missing or invalid administrator name (1 to 64 letters, digits, '.', '-', '_')"));
		return NULL;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return NULL;
	}
	c->y = y;
	c->ac = ac;
	(void)adminsrv_identity(ac, c->self, sizeof(c->self), where, sizeof(where));
	for (size_t i = 0; cmd->words[2][i]; i++)
		c->name[i] = (char)toupper((unsigned char)cmd->words[2][i]);
	return c;
}

void admin_register_admin(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct admin_change *c = change_new(y, ac, cmd);
	json_t *err;

	if (!c)
		return;
	c->registering = 1;
	c->auth = ADMIN_AUTH_LOCAL;
	if (cmd->nwords > 4) {
		reply(ac,
		      admin_error(
			      RPL_E_ADMIN_SYNTAX,
			      "REGISTER ADMIN name [pw] [AUTHENTICATION=LOCAL|LDAP] [CLASS=SYSTEM|OPERATOR] [SESSIONSECURITY=TRANSITIONAL|STRICT]"));
		change_free(c);
		return;
	}
	if ((err = parse_params(cmd, c))) {
		reply(ac, err);
		change_free(c);
		return;
	}
	if (cmd->nwords == 4) {
		if (c->has_pw) {
			reply(ac, admin_error(RPL_E_ADMIN_PARAM, "the password is given twice"));
			change_free(c);
			return;
		}
		if (!instance_password_ok(cmd->words[3])) {
			reply(ac, admin_error(RPL_E_PASSWORD_WEAK, NULL));
			change_free(c);
			return;
		}
		snprintf(c->pw, sizeof(c->pw), "%s", cmd->words[3]);
		c->has_pw = 1;
	}
	if (c->has_auth && c->auth == ADMIN_AUTH_LDAP && c->has_pw) {
		reply(ac,
		      admin_error(
			      RPL_E_ADMIN_PARAM,
			      "an LDAP administrator's password lives in the directory: give none"));
		change_free(c);
		return;
	}
	if (c->auth == ADMIN_AUTH_LOCAL && !c->has_pw) {
		reply(ac,
		      admin_error(
			      RPL_E_ADMIN_PARAM,
			      "a LOCAL administrator needs a password: REGISTER ADMIN name pw (or - to be asked)"));
		change_free(c);
		return;
	}
	run(c);
}

void admin_update_admin(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct admin_change *c = change_new(y, ac, cmd);
	json_t *err;

	if (!c)
		return;
	if (cmd->nwords != 3 || !cmd->nparams) {
		reply(ac,
		      admin_error(
			      RPL_E_ADMIN_SYNTAX,
			      "UPDATE ADMIN name [PASSWORD=pw] [AUTHENTICATION=LOCAL|LDAP] [CLASS=SYSTEM|OPERATOR] [SESSIONSECURITY=TRANSITIONAL|STRICT]"));
		change_free(c);
		return;
	}
	if ((err = parse_params(cmd, c))) {
		reply(ac, err);
		change_free(c);
		return;
	}
	if (c->has_auth && c->auth == ADMIN_AUTH_LDAP && c->has_pw) {
		reply(ac,
		      admin_error(
			      RPL_E_ADMIN_PARAM,
			      "an LDAP administrator's password lives in the directory: give none"));
		change_free(c);
		return;
	}
	run(c);
}

static void simple_change(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd,
			  const char *verb, int *flag_of(struct admin_change *))
{
	struct admin_change *c = change_new(y, ac, cmd);

	if (!c)
		return;
	if (cmd->nwords != 3 || cmd->nparams) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "%s ADMIN name", verb));
		change_free(c);
		return;
	}
	*flag_of(c) = 1;
	submit(c);
}

static int *flag_remove(struct admin_change *c) { return &c->remove; }
static int *flag_lock(struct admin_change *c) { return &c->lock; }
static int *flag_unlock(struct admin_change *c) { return &c->unlock; }

void admin_remove_admin(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	simple_change(y, ac, cmd, "REMOVE", flag_remove);
}

void admin_lock_admin(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	simple_change(y, ac, cmd, "LOCK", flag_lock);
}

void admin_unlock_admin(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	simple_change(y, ac, cmd, "UNLOCK", flag_unlock);
}

/* ---- QUERY ADMIN ------------------------------------------------------------------ */

struct query {
	json_t *arr;
	const char *pattern;
};

static int add_admin(const struct admin_rec *r, void *arg)
{
	struct query *q = arg;

	if (q->pattern && strcasecmp(q->pattern, r->name) != 0)
		return 0;
	json_array_append_new(
		q->arr, json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:s, s:i, s:o, s:o}", "name",
				  r->name, "authentication", admin_auth_name(r->auth), "class",
				  admin_class_name(r->cls), "sessionsecurity",
				  secsec_name(r->secsec), "locked", r->locked, "last_signon",
				  admin_time(r->last_signon), "last_from", r->last_from,
				  "failed_signons", (int)r->failed, "last_failure",
				  admin_time(r->last_failure), "created", admin_time(r->created)));
	return 0;
}

void admin_query_admin(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	static const char *const allowed[] = { "FORMAT", NULL };
	struct query q = { .arr = json_array(), .pattern = cmd->nwords > 2 ? cmd->words[2] : NULL };
	const char *fmt = admin_param(cmd, "FORMAT");
	json_t *err = admin_check_params(cmd, allowed), *cols;
	MDB_txn *txn;
	int rc;

	if (!err && cmd->nwords > 3)
		err = admin_error(RPL_E_ADMIN_SYNTAX, "QUERY ADMIN [name] [FORMAT=DETAILED]");
	if (!err && fmt && strcasecmp(fmt, "DETAILED") != 0 && strcasecmp(fmt, "STANDARD") != 0)
		err = admin_error(RPL_E_ADMIN_PARAM, "FORMAT must be STANDARD or DETAILED");
	if (err) {
		json_decref(q.arr);
		reply(ac, err);
		return;
	}
	rc = store_begin(&y->in->store, 0, &txn);
	if (rc == 0) {
		rc = store_admin_each(txn, &y->in->store, add_admin, &q);
		store_abort(txn);
	}
	if (rc < 0) {
		json_decref(q.arr);
		reply(ac, admin_error(-rc, NULL));
		return;
	}
	if (q.pattern && json_array_size(q.arr) == 0) {
		json_decref(q.arr);
		reply(ac, admin_error(RPL_E_ADMIN_UNKNOWN, "administrator %s is not registered",
				      q.pattern));
		return;
	}
	if (fmt && strcasecmp(fmt, "DETAILED") == 0)
		cols = json_pack("[s,s,s,s,s,s,s,s,s,s]", "name", "authentication", "class",
				 "sessionsecurity", "locked", "last_signon", "last_from",
				 "failed_signons", "last_failure", "created");
	else
		cols = json_pack("[s,s,s,s,s,s]", "name", "authentication", "class",
				 "sessionsecurity", "locked", "last_signon");
	adminsrv_reply(ac, q.arr, cols);
}
