/* Cross-definition above the peer layer (see crossdef.h and the protocol
 * in peer/auth_crossdef.c). On B every step is one transaction: the
 * definition of A is written waiting for its confirmation, the session
 * back to A's address proves both passwords and checks the certificate
 * pinned from the request, and only then is the mark cleared; a failure
 * at any step removes the definition it wrote (and only that one). */
#include "crossdef.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/dbw.h"
#include "../store/actlog.h"
#include "../store/server.h"
#include "../util/clock.h"
#include "../util/hex.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "talk.h"

static void reply(struct admin_client *ac, json_t *doc) { adminsrv_reply(ac, doc, NULL); }

/* ---- B: the request ------------------------------------------------------ */

struct xd_job {
	struct sync *y;
	struct peer_session *s; /* held by the peer layer until peer_crossdef_done */
	char name[RPL_NAME_MAX + 1];
	char addr[64];
	char hladdress[256];
	int lladdress;
	struct blob sealed_pw;
	struct blob der;
	uint8_t fp[FP_LEN];
	int64_t not_after, now;
	char why[1200]; /* why it was not done */
	int removed;    /* drop_work removed the waiting definition */
};

static void job_free(struct xd_job *j)
{
	blob_free(&j->sealed_pw);
	blob_free(&j->der);
	secure_zero(j, sizeof(*j));
	free(j);
}

static struct dbw *dbw_of(struct xd_job *j) { return peer_dbw(j->y->peer); }

/* Refused before anything was written: logged, in the activity log, and
 * told to the requester; its session ends. */
static void refuse(struct xd_job *j, int code, const char *why)
{
	log_warn(RPL_W_CROSSDEF_REFUSED, "cross-definition of server %s (%s) refused: %s %s",
		 j->name, j->addr, rpl_msg_id(code), why);
	peer_actlog(j->y->peer, RPL_W_CROSSDEF_REFUSED,
		    "cross-definition of server %s (%s) refused: %s %s", j->name, j->addr,
		    rpl_msg_id(code), why);
	(void)peer_crossdef_done(j->s, code, why);
	job_free(j);
}

static int create_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct xd_job *j = arg;
	struct server_rec r;
	char hex[2 * FP_LEN + 1];
	int rc = store_server_get(txn, st, j->name, &r);

	if (rc == 0) {
		server_rec_free(&r);
		return -RPL_E_CROSSDEF_EXISTS;
	}
	if (rc != -RPL_E_NOTFOUND)
		return rc;
	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", j->name);
	snprintf(r.hladdress, sizeof(r.hladdress), "%s", j->hladdress);
	r.lladdress = j->lladdress;
	r.secsec = SECSEC_TRANSITIONAL; /* as any new definition */
	r.verify = VERIFY_PIN;
	r.created = j->now;
	r.crossdef_pending = 1;
	r.password = j->sealed_pw; /* lent: not freed with r */
	rc = server_pin_add(&r, j->fp, PIN_CURRENT, j->not_after, j->now, "cross-define", j->der.p,
			    j->der.n);
	if (rc == 0)
		rc = store_server_put(txn, st, &r);
	hex_encode(j->fp, FP_LEN, hex);
	if (rc == 0)
		rc = store_actlog_add(
			txn, st, RPL_I_CROSSDEF_PENDING,
			"server %s (%s) proved this server's password and asks to be defined: %s:%d, "
			"certificate %s pinned; waiting for the session back to confirm it",
			r.name, j->addr, r.hladdress, r.lladdress, hex);
	r.password = (struct blob){ 0 };
	server_rec_free(&r);
	return rc;
}

/* Removes the definition this request wrote, if it still waits. */
static int drop_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct xd_job *j = arg;
	struct server_rec r;
	int rc = store_server_get(txn, st, j->name, &r);

	if (rc == -RPL_E_NOTFOUND)
		rc = 0;
	else if (rc == 0) {
		if (r.crossdef_pending) {
			rc = store_server_del(txn, st, j->name);
			j->removed = rc == 0;
		}
		server_rec_free(&r);
	}
	if (rc == 0)
		rc = store_actlog_add(txn, st, RPL_W_CROSSDEF_REFUSED,
				      "cross-definition of server %s (%s) not done: %s%s", j->name,
				      j->addr, j->why,
				      j->removed ? "; its waiting definition was removed" : "");
	return rc;
}

static void drop_done(int rc, void *arg)
{
	struct xd_job *j = arg;
	char text[1600];

	if (rc < 0)
		log_code(rc, "cross-definition of server %s: removing the waiting definition",
			 j->name);
	log_warn(RPL_W_CROSSDEF_REFUSED, "cross-definition of server %s (%s) not done: %s", j->name,
		 j->addr, j->why);
	snprintf(text, sizeof(text), "%s did not define %s: %s", j->y->in->conf.servername, j->name,
		 j->why);
	(void)peer_crossdef_done(j->s, RPL_E_CROSSDEF_FAILED, text);
	job_free(j);
}

static void drop(struct xd_job *j)
{
	if (dbw_submit(dbw_of(j), drop_work, drop_done, j) < 0) {
		log_error(
			RPL_E_CROSSDEF_FAILED,
			"cross-definition of server %s: the waiting definition could not be removed",
			j->name);
		(void)peer_crossdef_done(j->s, RPL_E_CROSSDEF_FAILED, j->why);
		job_free(j);
	}
}

static int confirm_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct xd_job *j = arg;
	struct server_rec r;
	int rc = store_server_get(txn, st, j->name, &r);

	if (rc < 0)
		return rc == -RPL_E_NOTFOUND ? -RPL_E_UNKNOWN_SERVER : rc;
	if (!r.crossdef_pending) {
		server_rec_free(&r);
		return -RPL_E_CROSSDEF_EXISTS;
	}
	r.crossdef_pending = 0;
	rc = store_server_put(txn, st, &r);
	if (rc == 0)
		rc = store_actlog_add(
			txn, st, RPL_I_CROSSDEF_DONE,
			"server %s defined by its cross-definition: %s:%d; the session back proved "
			"both passwords and its pinned certificate",
			r.name, r.hladdress, r.lladdress);
	server_rec_free(&r);
	return rc;
}

static void confirm_done(int rc, void *arg)
{
	struct xd_job *j = arg;
	char text[600];

	if (rc < 0) {
		snprintf(j->why, sizeof(j->why), "confirming the definition: %s %s",
			 rpl_msg_id(-rc), rpl_msg_text(-rc));
		drop(j);
		return;
	}
	log_info(RPL_I_CROSSDEF_DONE,
		 "server %s defined by its cross-definition (%s:%d), confirmed by a session back",
		 j->name, j->hladdress, j->lladdress);
	snprintf(text, sizeof(text),
		 "%s defined %s at %s:%d and confirmed it by a session back that proved both "
		 "passwords",
		 j->y->in->conf.servername, j->name, j->hladdress, j->lladdress);
	if (!peer_crossdef_done(j->s, RPL_I_CROSSDEF_DONE, text))
		log_info(RPL_I_CROSSDEF_DONE,
			 "server %s: its request session ended before the answer; the "
			 "definition stands (the session back proved both passwords)",
			 j->name);
	job_free(j);
}

static void back_done(struct sync *y, const char *server, const struct session_result *r,
		      const struct talk_outcome *o, void *arg)
{
	struct xd_job *j = arg;

	(void)y;
	(void)server;
	(void)o;
	if (!r->ok) {
		snprintf(j->why, sizeof(j->why), "the session back to %s:%d failed: %s %s",
			 j->hladdress, j->lladdress, rpl_msg_id(-r->err), r->message);
		drop(j);
		return;
	}
	if (!peer_crossdef_waiting(j->s)) {
		snprintf(j->why, sizeof(j->why),
			 "the requesting session ended before the definition was confirmed");
		drop(j);
		return;
	}
	if (dbw_submit(dbw_of(j), confirm_work, confirm_done, j) < 0) {
		snprintf(j->why, sizeof(j->why), "confirming the definition: out of memory");
		drop(j);
	}
}

static void create_done(int rc, void *arg)
{
	struct xd_job *j = arg;

	if (rc == -RPL_E_CROSSDEF_EXISTS) {
		char why[400];
		snprintf(why, sizeof(why),
			 "a server named %s is defined on %s already: it was not changed", j->name,
			 j->y->in->conf.servername);
		refuse(j, RPL_E_CROSSDEF_EXISTS, why);
		return;
	}
	if (rc < 0) {
		refuse(j, -rc, "storing the definition failed");
		return;
	}
	/* Whatever ended the request meanwhile (a second request, a
	 * timeout) ends it here too: the definition goes. */
	if (!peer_crossdef_waiting(j->s)) {
		snprintf(j->why, sizeof(j->why),
			 "the requesting session ended before the session back began");
		drop(j);
		return;
	}
	rc = talk_connect_confirm(j->y, j->name, back_done, j);
	if (rc < 0) {
		snprintf(j->why, sizeof(j->why), "the session back could not start: %s %s",
			 rpl_msg_id(-rc), rpl_msg_text(-rc));
		drop(j);
	}
}

void crossdef_hook(void *ctx, struct peer_session *s, const struct crossdef_request *rq)
{
	struct sync *y = ctx;
	struct xd_job *j = calloc(1, sizeof(*j));

	if (!j) {
		(void)peer_crossdef_done(s, RPL_E_NOMEM, NULL);
		return;
	}
	j->y = y;
	j->s = s;
	j->now = clock_now();
	snprintf(j->name, sizeof(j->name), "%s", rq->name);
	snprintf(j->addr, sizeof(j->addr), "%s", rq->addr);
	snprintf(j->hladdress, sizeof(j->hladdress), "%s", rq->hladdress);
	j->lladdress = rq->lladdress;
	memcpy(j->fp, rq->fp, FP_LEN);
	j->not_after = rq->not_after;
	if (blob_set(&j->sealed_pw, rq->sealed_pw->p, rq->sealed_pw->n) < 0 ||
	    blob_set(&j->der, rq->der, rq->der_len) < 0) {
		refuse(j, RPL_E_NOMEM, "out of memory");
		return;
	}
	/* The setting may have changed since the hello. */
	if (!y->in->conf.crossdefine) {
		refuse(j, RPL_E_CROSSDEF_OFF, "CROSSDEFINE is OFF here");
		return;
	}
	if (dbw_submit(peer_dbw(y->peer), create_work, create_done, j) < 0)
		refuse(j, RPL_E_NOMEM, "out of memory");
}

/* ---- A: DEFINE SERVER ... CROSSDEFINE=YES -------------------------------------- */

struct xd_ask {
	struct sync *y;
	struct admin_client *ac; /* held until the reply */
	char server[RPL_NAME_MAX + 1];
	const char *done; /* "defined" or "updated": what the command did here */
};

json_t *crossdef_check_address(struct sync *y)
{
	char host[256];
	int port;

	if (y->in->conf.protocollevel == 1)
		return admin_error(RPL_E_CROSSDEF_FAILED,
				   "nothing defined: cross-definition needs protocol 2, and "
				   "PROTOCOLLEVEL is 1 here");
	if (conf_reach_address(&y->in->conf, host, sizeof(host), &port) == 0)
		return NULL;
	return admin_error(
		RPL_E_CROSSDEF_NOADDR,
		"nothing defined: CROSSDEFINE=YES tells the partner where %s is reached, "
		"and TCPADDRESS '%s' is a wildcard address and SERVERHLADDRESS is not set",
		y->in->conf.servername, y->in->conf.tcpaddress);
}

static json_t *ask_result(struct xd_ask *a, const struct session_result *r)
{
	const char *self = a->y->in->conf.servername;
	json_t *j;

	if (r->ok) {
		j = admin_ok(RPL_I_CROSSDEF_DONE, "server %s %s; %s", a->server, a->done,
			     r->message);
		json_object_set_new(j, "crossdefine", json_string("done"));
	} else if (r->partner_err == RPL_E_CROSSDEF_OFF) {
		j = admin_error(
			RPL_E_CROSSDEF_FAILED,
			"server %s %s here, but %s did not define %s: partner %s refused the "
			"cross-definition (CROSSDEFINE is OFF there). Run 'SET CROSSDEFINE ON' on %s, "
			"then 'UPDATE SERVER %s CROSSDEFINE=YES' here, or define %s on %s by hand; "
			"the definition of %s here works either way",
			a->server, a->done, a->server, self, a->server, a->server, a->server, self,
			a->server, a->server);
		json_object_set_new(j, "crossdefine", json_string("refused"));
	} else if (r->err == -RPL_E_CROSSDEF_UNVERIFIED) {
		j = admin_error(
			RPL_E_CROSSDEF_UNVERIFIED,
			"server %s %s here, but nothing was sent to it: its certificate is not "
			"pinned here nor verified by a CA, and a cross-definition sends %s's "
			"password only to a verified certificate. Pin it first ('replpeer cert "
			"import-peer --server %s FILE' with its cert256.pem, brought by a trusted "
			"path), then 'UPDATE SERVER %s CROSSDEFINE=YES'",
			a->server, a->done, self, a->server, a->server);
		json_object_set_new(j, "crossdefine", json_string("not_verified"));
	} else if (r->partner_err == RPL_E_PROTOCOL && strstr(r->message, "purpose")) {
		j = admin_error(
			RPL_E_CROSSDEF_FAILED,
			"server %s %s here, but %s does not know cross-definition (a "
			"replpeer before it: %s); define %s on %s by hand; the definition of "
			"%s here works",
			a->server, a->done, a->server, r->message, self, a->server, a->server);
		json_object_set_new(j, "crossdefine", json_string("not_supported"));
	} else {
		j = admin_error(RPL_E_CROSSDEF_FAILED,
				"server %s %s here, but %s did not define %s: %s", a->server,
				a->done, a->server, self, r->message);
		json_object_set_new(j, "crossdefine", json_string("refused"));
	}
	json_object_set_new(j, "server", json_string(a->server));
	if (!r->ok)
		json_object_set_new(
			j, "cause_message_id",
			json_string(rpl_msg_id(r->partner_err ? r->partner_err : -r->err)));
	return j;
}

static void ask_closed(struct peer_session *s, const struct session_result *r, void *arg)
{
	struct xd_ask *a = arg;

	(void)s;
	if (r->ok)
		log_info(RPL_I_CROSSDEF_DONE, "server %s defined this server: %s", a->server,
			 r->message);
	else
		log_warn(RPL_W_CROSSDEF_REFUSED, "server %s did not define this server: %s",
			 a->server, r->message);
	reply(a->ac, ask_result(a, r));
	adminsrv_release(a->ac);
	free(a);
}

static const struct session_ops ask_ops = { .closed = ask_closed };

void crossdef_ask(struct sync *y, struct admin_client *ac, const char *server, int updated)
{
	struct xd_ask *a = calloc(1, sizeof(*a));
	int rc;

	if (!a) {
		reply(ac, admin_error(RPL_E_NOMEM, "server %s %s; cross-definition not asked",
				      server, updated ? "updated" : "defined"));
		adminsrv_release(ac);
		return;
	}
	a->y = y;
	a->ac = ac;
	a->done = updated ? "updated" : "defined";
	snprintf(a->server, sizeof(a->server), "%s", server);
	rc = peer_connect(y->peer, server, PURPOSE_CROSSDEF, &ask_ops, a);
	if (rc < 0) {
		struct session_result r = { .err = rc };
		snprintf(r.message, sizeof(r.message), "%s %s", rpl_msg_id(-rc), rpl_msg_text(-rc));
		reply(ac, ask_result(a, &r));
		adminsrv_release(ac);
		free(a);
	}
}

/* ---- SET SERVERHLADDRESS / SERVERLLADDRESS / CROSSDEFINE ---------------------------- */

struct opt_set {
	char key[20];
	char old[300];
	char value[300];
	int msg;
};

static int opt_work(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	struct opt_set *o = arg;
	(void)detail;
	(void)dsz;
	return store_actlog_add(txn, st, o->msg,
				"%s changed from '%s' to '%s' by the administrator", o->key, o->old,
				o->value);
}

/* replpeer.conf first (a failure changes nothing; a restart keeps it),
 * then the running daemon, then the activity log. */
static void set_option(struct sync *y, struct admin_client *ac, int msg, const char *key,
		       const char *old, const char *value, const char *shown, const char *shown_old)
{
	struct opt_set *o = calloc(1, sizeof(*o));
	char err[512];
	int rc;

	if (!o) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	snprintf(o->key, sizeof(o->key), "%s", key);
	snprintf(o->old, sizeof(o->old), "%s", old);
	snprintf(o->value, sizeof(o->value), "%s", value);
	o->msg = msg;
	if ((rc = instance_update_conf(y->in, key, value, err, sizeof(err))) < 0) {
		log_code(rc, "SET %s: %s", key, err);
		reply(ac, admin_error(-rc, "replpeer.conf not updated: %s", err));
		free(o);
		return;
	}
	if ((rc = conf_set(&y->in->conf, key, value, err, sizeof(err))) < 0) {
		log_code(rc, "SET %s: %s", key, err);
		reply(ac, admin_error(-rc, "%s", err));
		free(o);
		return;
	}
	log_code(msg, "%s changed from '%s' to '%s' by the administrator", key, old, value);
	admin_write(y, ac, opt_work, o, free,
		    admin_ok(msg, "%s is %s (was %s); replpeer.conf updated, in effect now", key,
			     shown, shown_old[0] ? shown_old : "not set"),
		    NULL);
}

/* SET word value: exactly one value. */
static const char *one_word(const struct admin_cmd *cmd)
{
	return cmd->nwords == 3 && cmd->nparams == 0 ? cmd->words[2] : NULL;
}

void admin_set_serverhladdress(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	const char *v = one_word(cmd);
	char old[300];

	if (!v) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "SET SERVERHLADDRESS address"));
		return;
	}
	/* As DEFINE SERVER takes HLADDRESS, and one a partner can connect to. */
	if (!*v || strlen(v) >= sizeof(y->in->conf.serverhladdress) || strpbrk(v, " \t\r\n")) {
		reply(ac, admin_error(RPL_E_ADMIN_PARAM,
				      "SERVERHLADDRESS must be a host name or address"));
		return;
	}
	if (conf_wildcard_address(v)) {
		reply(ac,
		      admin_error(RPL_E_ADMIN_PARAM,
				  "SERVERHLADDRESS '%s' is a wildcard address: give the host name "
				  "or address partners connect to",
				  v));
		return;
	}
	snprintf(old, sizeof(old), "%s", y->in->conf.serverhladdress);
	set_option(y, ac, RPL_I_SERVERADDR_SET, "SERVERHLADDRESS", old, v, v, old);
}

void admin_set_serverlladdress(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	const char *v = one_word(cmd);
	char old[32], *end;
	long port;

	if (!v) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "SET SERVERLLADDRESS port"));
		return;
	}
	port = strtol(v, &end, 10);
	if (!*v || *end || port < 1 || port > 65535) {
		reply(ac, admin_error(RPL_E_ADMIN_PARAM,
				      "SERVERLLADDRESS must be a port from 1 to 65535"));
		return;
	}
	if (y->in->conf.serverlladdress)
		snprintf(old, sizeof(old), "%d", y->in->conf.serverlladdress);
	else
		old[0] = 0;
	set_option(y, ac, RPL_I_SERVERADDR_SET, "SERVERLLADDRESS", old, v, v, old);
}

void admin_set_crossdefine(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	const char *v = one_word(cmd);
	int on;

	if (v && strcasecmp(v, "ON") == 0)
		on = 1;
	else if (v && strcasecmp(v, "OFF") == 0)
		on = 0;
	else {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "SET CROSSDEFINE ON|OFF"));
		return;
	}
	set_option(y, ac, RPL_I_CROSSDEF_SET, "CROSSDEFINE", y->in->conf.crossdefine ? "YES" : "NO",
		   on ? "YES" : "NO", on ? "ON" : "OFF", y->in->conf.crossdefine ? "ON" : "OFF");
}
