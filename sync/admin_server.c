/* Admin commands about partner servers: DEFINE, UPDATE, DELETE, QUERY, PING
 * SERVER and SET SERVERPASSWORD. Parameters are checked and secrets sealed
 * on the loop; the write runs through the database writer. */
#include <fnmatch.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../peer/peer.h"
#include "../peer/trust.h"
#include "../store/actlog.h"
#include "../store/server.h"
#include "../util/clock.h"
#include "../util/hex.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "admin.h"
#include "crossdef.h"
#include "lifecycle.h"
#include "process.h"
#include "progress.h"
#include "sync.h"
#include "talk.h"

static void reply(struct admin_client *ac, json_t *doc) { adminsrv_reply(ac, doc, NULL); }

static int parse_yesno(const char *v, int *out)
{
	if (strcasecmp(v, "YES") == 0)
		*out = 1;
	else if (strcasecmp(v, "NO") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* DEFINE/UPDATE parameters, checked; applied to a record in the
 * transaction. */
struct server_change {
	char name[RPL_NAME_MAX + 1];
	int has_hl, has_ll, has_ssl, has_secsec, has_verify, has_desc, has_fs, has_pw;
	char hladdress[256];
	int lladdress, ssl, secsec, verify, forcesync;
	char description[256];
	struct blob sealed_pw;
	char changes[512];       /* for the activity log, passwords masked */
	int wait;                /* FORCESYNC=YES WAIT=YES */
	struct admin_client *ac; /* held while the FORCESYNC reply is owed */
	int crossdef;            /* DEFINE ... CROSSDEFINE=YES: ask the partner after the write */
	/* what happened (set in the transaction) */
	int reset, fs_set;
};

static void change_free(void *arg)
{
	struct server_change *c = arg;
	if (c->ac)
		adminsrv_release(c->ac);
	blob_free(&c->sealed_pw);
	secure_zero(c, sizeof(*c));
	free(c);
}

static json_t *parse_change(struct sync *y, const struct admin_cmd *cmd, struct server_change *c)
{
	const char *v;

	if ((v = admin_param(cmd, "HLADDRESS"))) {
		if (!*v || strlen(v) >= sizeof(c->hladdress))
			return admin_error(RPL_E_ADMIN_PARAM,
					   "HLADDRESS must be a host name or address");
		strcpy(c->hladdress, v);
		c->has_hl = 1;
	}
	if ((v = admin_param(cmd, "LLADDRESS"))) {
		char *end;
		long port = strtol(v, &end, 10);
		if (*end || port < 1 || port > 65535)
			return admin_error(RPL_E_ADMIN_PARAM,
					   "LLADDRESS must be a port from 1 to 65535");
		c->lladdress = (int)port;
		c->has_ll = 1;
	}
	if ((v = admin_param(cmd, "SSL"))) {
		if (parse_yesno(v, &c->ssl) < 0)
			return admin_error(RPL_E_ADMIN_PARAM, "SSL must be YES or NO");
		c->has_ssl = 1;
	}
	if ((v = admin_param(cmd, "SESSIONSECURITY"))) {
		if (strcasecmp(v, "STRICT") == 0)
			c->secsec = SECSEC_STRICT;
		else if (strcasecmp(v, "TRANSITIONAL") == 0)
			c->secsec = SECSEC_TRANSITIONAL;
		else
			return admin_error(RPL_E_ADMIN_PARAM,
					   "SESSIONSECURITY must be TRANSITIONAL or STRICT");
		c->has_secsec = 1;
	}
	if ((v = admin_param(cmd, "VERIFY"))) {
		if (strcasecmp(v, "PIN") == 0)
			c->verify = VERIFY_PIN;
		else if (strcasecmp(v, "CA") == 0)
			c->verify = VERIFY_CA;
		else
			return admin_error(RPL_E_ADMIN_PARAM, "VERIFY must be PIN or CA");
		c->has_verify = 1;
	}
	if ((v = admin_param(cmd, "DESCRIPTION"))) {
		if (strlen(v) >= sizeof(c->description))
			return admin_error(RPL_E_ADMIN_PARAM,
					   "DESCRIPTION is longer than %zu characters",
					   sizeof(c->description) - 1);
		strcpy(c->description, v);
		c->has_desc = 1;
	}
	if ((v = admin_param(cmd, "FORCESYNC"))) {
		if (parse_yesno(v, &c->forcesync) < 0)
			return admin_error(RPL_E_ADMIN_PARAM, "FORCESYNC must be YES or NO");
		c->has_fs = 1;
	}
	if ((v = admin_param(cmd, "WAIT"))) {
		if (parse_yesno(v, &c->wait) < 0)
			return admin_error(RPL_E_ADMIN_PARAM, "WAIT must be YES or NO");
		if (c->wait && (!c->has_fs || !c->forcesync))
			return admin_error(RPL_E_ADMIN_PARAM, "WAIT=YES belongs to FORCESYNC=YES");
	}
	if ((v = admin_param(cmd, "SERVERPASSWORD"))) {
		if (!instance_password_ok(v))
			return admin_error(RPL_E_PASSWORD_WEAK,
					   "SERVERPASSWORD needs 8 to 64 printable characters");
		if (instance_seal(y->in, SEAL_SERVER_PASSWORD, c->name, v, strlen(v),
				  &c->sealed_pw) < 0)
			return admin_error(RPL_E_CRYPTO, "sealing the password");
		c->has_pw = 1;
	}
	if ((v = admin_param(cmd, "CROSSDEFINE"))) {
		if (parse_yesno(v, &c->crossdef) < 0)
			return admin_error(RPL_E_ADMIN_PARAM, "CROSSDEFINE must be YES or NO");
		if (c->crossdef && c->has_fs && c->forcesync)
			return admin_error(
				RPL_E_ADMIN_PARAM,
				"CROSSDEFINE=YES and FORCESYNC=YES are separate commands");
	}
	for (int i = 0; i < cmd->nparams; i++) {
		size_t n = strlen(c->changes);
		if (strcasecmp(cmd->keys[i], "WAIT") == 0)
			continue;
		snprintf(c->changes + n, sizeof(c->changes) - n, "%s%s=%s", n ? ", " : "",
			 cmd->keys[i],
			 strcasecmp(cmd->keys[i], "SERVERPASSWORD") == 0 ? "********"
									 : cmd->vals[i]);
	}
	return NULL;
}

static void apply_change(struct server_change *c, struct server_rec *r)
{
	if (c->has_hl)
		strcpy(r->hladdress, c->hladdress);
	if (c->has_ll)
		r->lladdress = c->lladdress;
	if (c->has_ssl)
		r->ssl = c->ssl;
	if (c->has_secsec) {
		c->reset = r->secsec == SECSEC_STRICT && c->secsec == SECSEC_TRANSITIONAL;
		r->secsec = c->secsec;
	}
	if (c->has_verify)
		r->verify = c->verify;
	if (c->has_desc)
		strcpy(r->description, c->description);
	if (c->has_fs) {
		r->forcesync = c->forcesync;
		c->fs_set = c->forcesync;
	}
	if (c->has_pw) {
		blob_free(&r->password);
		r->password = c->sealed_pw;
		c->sealed_pw = (struct blob){ 0 };
		/* The pairing key proved the old password: prove the new one. */
		blob_free(&r->key_out);
	}
}

/* "HOST:PORT (server NAME)" for progress notes; the name alone when the
 * server is not defined (talk_connect says so). */
static void server_target(struct sync *y, const char *name, char *out, size_t sz)
{
	struct server_rec r;
	MDB_txn *txn;

	snprintf(out, sz, "server %s", name);
	if (store_begin(&y->in->store, 0, &txn) < 0)
		return;
	if (store_server_get(txn, &y->in->store, name, &r) == 0) {
		snprintf(out, sz, "%s:%d (server %s)", r.hladdress, r.lladdress, r.name);
		server_rec_free(&r);
	}
	store_abort(txn);
}

/* ---- FORCESYNC ---------------------------------------------------------------- */

/* UPDATE SERVER x FORCESYNC=YES starts a session at once and answers with
 * its outcome: done now (exit 0), or pending (exit 1: the mark stays and
 * the next session in either direction completes it). With WAIT=YES the
 * attempts go on every few seconds, and a session the partner opens counts
 * too, until ROUNDTIMEOUT. */
#define FS_RETRY_MS 2000

struct fs_wait {
	struct sync *y;
	struct admin_client *ac; /* held until the reply */
	struct progress_note note;
	char name[RPL_NAME_MAX + 1];
	int wait, in_flight;
	uint64_t deadline_ms, retry_ms;
	int attempts;
	char last[800]; /* why the last attempt failed */
	int last_err;
	int cancelled;            /* CANCEL PROCESS: last says so */
	struct sync_process proc; /* QUERY PROCESS, CANCEL PROCESS */
};

static void fs_finish(struct fs_wait *w, json_t *doc)
{
	process_remove(w->y, &w->proc);
	progress_remove(w->y, &w->note);
	adminsrv_reply(w->ac, doc, NULL);
	adminsrv_release(w->ac);
	free(w);
}

/* 1 when the mark is gone (the exchange happened, in either direction),
 * 0 when it is still set, negative when the server went away. */
static int fs_mark_cleared(struct sync *y, const char *name)
{
	struct server_rec r;
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&y->in->store, 0, &txn)) < 0)
		return rc;
	rc = store_server_get(txn, &y->in->store, name, &r);
	store_abort(txn);
	if (rc < 0)
		return rc;
	rc = !r.forcesync;
	server_rec_free(&r);
	return rc;
}

static json_t *fs_done_doc(struct fs_wait *w, const char *how)
{
	json_t *j =
		admin_ok(RPL_I_FORCESYNC_DONE,
			 "server %s updated; FORCESYNC completed: "
			 "both password proofs passed and certificates were exchanged again (%s)",
			 w->name, how);
	json_object_set_new(j, "server", json_string(w->name));
	json_object_set_new(j, "forcesync_pending", json_false());
	return j;
}

static json_t *fs_pending_doc(struct fs_wait *w)
{
	json_t *j;

	if (w->wait)
		j = admin_error(
			RPL_E_FORCESYNC_NOT_DONE,
			"server %s updated and marked for FORCESYNC; no exchange within "
			"ROUNDTIMEOUT (%d s, %d attempt%s), the last: %s. It happens at the next "
			"session with %s in either direction",
			w->name, w->y->in->conf.roundtimeout, w->attempts,
			w->attempts == 1 ? "" : "s", w->last, w->name);
	else
		j = admin_error(
			RPL_E_FORCESYNC_NOT_DONE,
			"server %s updated and marked for FORCESYNC, but the exchange did not "
			"happen now: %s. It happens at the next session with %s in either direction",
			w->name, w->last, w->name);
	json_object_set_new(j, "server", json_string(w->name));
	json_object_set_new(j, "forcesync_pending", json_true());
	if (w->last_err)
		json_object_set_new(j, "cause_message_id", json_string(rpl_msg_id(w->last_err)));
	return j;
}

static void fs_attempt(struct fs_wait *w);

static void fs_session_done(struct sync *y, const char *server, const struct session_result *r,
			    const struct talk_outcome *o, void *arg)
{
	struct fs_wait *w = arg;
	int cleared;

	(void)o;
	w->in_flight = 0;
	cleared = fs_mark_cleared(y, w->name);
	if (w->cancelled && !(r->ok && cleared > 0)) {
		log_warn(RPL_W_FORCESYNC_PENDING, "FORCESYNC with server %s is pending: %s", server,
			 w->last);
		fs_finish(w, fs_pending_doc(w));
		return;
	}
	if (r->ok && cleared > 0) {
		log_info(RPL_I_FORCESYNC_DONE, "FORCESYNC with server %s completed", server);
		fs_finish(w, fs_done_doc(w, r->verified_by));
		return;
	}
	if (r->ok)
		snprintf(w->last, sizeof(w->last), "the session ended without clearing the mark");
	else
		snprintf(w->last, sizeof(w->last), "%s %s", rpl_msg_id(r->err), r->message);
	w->last_err = r->ok ? 0 : -r->err;
	if (cleared > 0) { /* the partner's own session did it meanwhile */
		log_info(RPL_I_FORCESYNC_DONE, "FORCESYNC with server %s completed", server);
		fs_finish(w, fs_done_doc(w, "in a session the partner opened"));
		return;
	}
	if (!w->wait || peer_halting(y->peer) || clock_mono_ms() >= w->deadline_ms) {
		log_warn(RPL_W_FORCESYNC_PENDING, "FORCESYNC with server %s is pending: %s", server,
			 w->last);
		fs_finish(w, fs_pending_doc(w));
		return;
	}
	w->retry_ms = clock_mono_ms() + FS_RETRY_MS;
}

static void fs_attempt(struct fs_wait *w)
{
	int rc;

	w->attempts++;
	w->in_flight = 1;
	rc = talk_connect(w->y, w->name, PURPOSE_SYNC, fs_session_done, w);
	if (rc < 0) {
		struct session_result r = { .err = rc };
		snprintf(r.message, sizeof(r.message), "%s", rpl_msg_text(rc));
		fs_session_done(w->y, w->name, &r, &(struct talk_outcome){ 0 }, w);
	}
}

/* WAIT=YES: the next attempt, the partner's own session, the deadline. */
static void fs_tick(struct progress_note *n, uint64_t now)
{
	struct fs_wait *w = (struct fs_wait *)((char *)n - offsetof(struct fs_wait, note));

	if (w->in_flight || !w->retry_ms)
		return;
	if (fs_mark_cleared(w->y, w->name) > 0) {
		log_info(RPL_I_FORCESYNC_DONE, "FORCESYNC with server %s completed", w->name);
		fs_finish(w, fs_done_doc(w, "in a session the partner opened"));
	} else if (now >= w->deadline_ms) {
		log_warn(RPL_W_FORCESYNC_PENDING, "FORCESYNC with server %s is pending: %s",
			 w->name, w->last);
		fs_finish(w, fs_pending_doc(w));
	} else if (now >= w->retry_ms) {
		w->retry_ms = 0;
		fs_attempt(w);
	}
}

/* HALT: a session in flight ends and answers; otherwise answer now. */
static void fs_stop(struct progress_note *n)
{
	struct fs_wait *w = (struct fs_wait *)((char *)n - offsetof(struct fs_wait, note));

	if (w->in_flight) {
		w->wait = 0;
		return;
	}
	snprintf(w->last, sizeof(w->last), "the server is halting");
	fs_finish(w, fs_pending_doc(w));
}

#define FS_OF(p) ((struct fs_wait *)((char *)(p)-offsetof(struct fs_wait, proc)))

static json_t *fs_describe(struct sync_process *p)
{
	struct fs_wait *w = FS_OF(p);
	char cmd[160], progress[900];

	snprintf(cmd, sizeof(cmd), "UPDATE SERVER %s FORCESYNC=YES%s", w->name,
		 w->wait ? " WAIT=YES" : "");
	if (w->attempts <= 1 && w->in_flight)
		snprintf(progress, sizeof(progress), "first session with %s running", w->name);
	else
		snprintf(progress, sizeof(progress), "attempt %d%s; the last: %s", w->attempts,
			 w->in_flight ? " running" : "", w->last);
	return json_pack("{s:s, s:s, s:s, s:s, s:i}", "command", cmd, "server", w->name, "phase",
			 w->in_flight ? "exchanging" : "waiting to retry", "progress", progress,
			 "attempts", w->attempts);
}

/* CANCEL PROCESS: no more attempts, the session in flight ends; the
 * waiting administrator gets the pending reply (the mark stays: the next
 * session completes it; UPDATE SERVER name FORCESYNC=NO removes it). */
static void fs_cancel(struct sync_process *p, const char *why)
{
	struct fs_wait *w = FS_OF(p);

	w->cancelled = 1;
	w->wait = 0;
	snprintf(w->last, sizeof(w->last), "%s", why);
	w->last_err = RPL_E_CANCELLED;
	if (w->in_flight) {
		talk_cancel_why(w->y, w, why); /* fs_session_done answers */
		return;
	}
	log_warn(RPL_W_FORCESYNC_PENDING, "FORCESYNC with server %s is pending: %s", w->name,
		 w->last);
	fs_finish(w, fs_pending_doc(w));
}

static void start_forcesync(struct sync *y, struct server_change *c)
{
	struct fs_wait *w = calloc(1, sizeof(*w));

	if (!w) {
		adminsrv_reply(c->ac,
			       admin_error(RPL_E_NOMEM,
					   "server %s updated and marked for "
					   "FORCESYNC; the session was not started",
					   c->name),
			       NULL);
		return; /* change_free releases c->ac */
	}
	w->y = y;
	w->ac = c->ac; /* the hold moves to w */
	c->ac = NULL;
	w->wait = c->wait;
	snprintf(w->name, sizeof(w->name), "%s", c->name);
	w->deadline_ms = clock_mono_ms() + (uint64_t)y->in->conf.roundtimeout * 1000;
	w->note.ac = w->ac;
	w->note.tick = fs_tick;
	w->note.stop = fs_stop;
	server_target(y, c->name, w->note.what, sizeof(w->note.what));
	progress_add(y, &w->note);
	w->proc.describe = fs_describe;
	w->proc.cancel = fs_cancel;
	process_add(y, &w->proc);
	fs_attempt(w);
}

/* ---- DEFINE SERVER ------------------------------------------------------- */

static int define_work(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	struct server_change *c = arg;
	struct server_rec r, old;
	int rc = store_server_get(txn, st, c->name, &old);

	if (rc == 0) {
		server_rec_free(&old);
		snprintf(detail, dsz, "server %s is already defined; use UPDATE SERVER", c->name);
		return -RPL_E_DUPLICATE;
	}
	if (rc != -RPL_E_NOTFOUND)
		return rc;
	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", c->name);
	r.lladdress = 1500;
	r.created = clock_now();
	apply_change(c, &r);
	rc = store_server_put(txn, st, &r);
	if (rc == 0)
		rc = store_actlog_add(
			txn, st, RPL_I_SERVER_DEFINED,
			"server %s defined: %s:%d, SSL=%s, SESSIONSECURITY=%s, VERIFY=%s", r.name,
			r.hladdress, r.lladdress, r.ssl ? "YES" : "NO", secsec_name(r.secsec),
			verify_mode_name(r.verify));
	server_rec_free(&r);
	return rc;
}

/* CROSSDEFINE=YES: the definition is stored; the first contact is the
 * request to the partner, and the reply says what it answered. */
static void define_after(struct sync *y, int rc, void *arg)
{
	struct server_change *c = arg;

	if (rc < 0)
		return; /* answered with the error; change_free releases c->ac */
	crossdef_ask(y, c->ac, c->name, 0); /* the hold moves there */
	c->ac = NULL;
}

void admin_define_server(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct server_change *c;
	json_t *err;

	/* admin_resolve checked the words and parameters (HLADDRESS and
	 * SERVERPASSWORD are there, FORCESYNC is not). */
	if (!conf_valid_name(cmd->words[2])) {
		reply(ac, admin_error(RPL_E_BADNAME, "'%s'", cmd->words[2]));
		return;
	}
	if (strcasecmp(cmd->words[2], y->in->conf.servername) == 0) {
		reply(ac, admin_error(RPL_E_ADMIN_PARAM, "%s is this server's own name",
				      cmd->words[2]));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	snprintf(c->name, sizeof(c->name), "%s", cmd->words[2]);
	if ((err = parse_change(y, cmd, c))) {
		change_free(c);
		reply(ac, err);
		return;
	}
	if (c->crossdef) {
		/* Refused before anything is stored when partners could not be
		 * told where this server is; else the reply waits for the
		 * partner's answer (define_after). */
		if ((err = crossdef_check_address(y))) {
			change_free(c);
			reply(ac, err);
			return;
		}
		adminsrv_hold(ac);
		c->ac = ac;
		admin_write(y, ac, define_work, c, change_free, NULL, define_after);
		return;
	}
	admin_write(y, ac, define_work, c, change_free,
		    admin_ok(RPL_I_SERVER_DEFINED, "server %s defined", c->name), NULL);
}

/* ---- UPDATE SERVER -------------------------------------------------------- */

static int update_work(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	struct server_change *c = arg;
	struct server_rec r;
	int rc = store_server_get(txn, st, c->name, &r);

	if (rc < 0) {
		snprintf(detail, dsz, "%s", c->name);
		return rc == -RPL_E_NOTFOUND ? -RPL_E_UNKNOWN_SERVER : rc;
	}
	apply_change(c, &r);
	snprintf(c->name, sizeof(c->name), "%s", r.name);
	rc = store_server_put(txn, st, &r);
	if (rc == 0)
		rc = store_actlog_add(txn, st, RPL_I_SERVER_UPDATED, "server %s updated: %s",
				      r.name, c->changes);
	if (rc == 0 && c->reset)
		rc = store_actlog_add(
			txn, st, RPL_I_SECSEC_RESET,
			"server %s reset from STRICT to TRANSITIONAL by the administrator; "
			"down-level sessions are accepted again until its next protocol 2 session",
			r.name);
	if (rc == 0 && c->fs_set)
		rc = store_actlog_add(
			txn, st, RPL_I_FORCESYNC_SET,
			"FORCESYNC requested for server %s: the next session proves both passwords and re-exchanges certificates",
			r.name);
	server_rec_free(&r);
	return rc;
}

static void update_after(struct sync *y, int rc, void *arg)
{
	struct server_change *c = arg;
	if (rc < 0)
		return;
	if (c->crossdef) {
		crossdef_ask(y, c->ac, c->name, 1); /* the hold moves there */
		c->ac = NULL;
	}
	if (c->reset)
		log_info(RPL_I_SECSEC_RESET, "server %s reset to TRANSITIONAL by the administrator",
			 c->name);
	if (c->fs_set)
		start_forcesync(y, c);
}

void admin_update_server(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct server_change *c;
	json_t *err;

	if (cmd->nparams == 0) {
		reply(ac, admin_error(RPL_E_ADMIN_PARAM, "nothing to update"));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	snprintf(c->name, sizeof(c->name), "%s", cmd->words[2]);
	if ((err = parse_change(y, cmd, c))) {
		change_free(c);
		reply(ac, err);
		return;
	}
	if (c->crossdef) {
		/* Asks the partner once the change is stored (update_after);
		 * the reply waits for its answer. */
		if ((err = crossdef_check_address(y))) {
			change_free(c);
			reply(ac, err);
			return;
		}
		adminsrv_hold(ac);
		c->ac = ac;
		admin_write(y, ac, update_work, c, change_free, NULL, update_after);
		return;
	}
	if (c->has_fs && c->forcesync) {
		/* The reply waits for the FORCESYNC session (start_forcesync). */
		adminsrv_hold(ac);
		c->ac = ac;
		admin_write(y, ac, update_work, c, change_free, NULL, update_after);
		return;
	}
	admin_write(y, ac, update_work, c, change_free,
		    admin_ok(RPL_I_SERVER_UPDATED, "server %s updated", c->name), update_after);
}

/* ---- DELETE SERVER --------------------------------------------------------- */

static int delete_work(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	const char *name = arg;
	int rc = store_server_del(txn, st, name);

	if (rc == -RPL_E_NOTFOUND) {
		snprintf(detail, dsz, "%s", name);
		return -RPL_E_UNKNOWN_SERVER;
	}
	if (rc == 0)
		rc = store_actlog_add(txn, st, RPL_I_SERVER_DELETED,
				      "server %s deleted with its pins", name);
	return rc;
}

void admin_delete_server(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	char *name = strdup(cmd->words[2]);

	if (!name) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	admin_write(y, ac, delete_work, name, free,
		    admin_ok(RPL_I_SERVER_DELETED, "server %s deleted", name), NULL);
}

/* ---- QUERY SERVER ---------------------------------------------------------- */

static json_t *pin_json(const struct pin *p)
{
	char hex[2 * FP_LEN + 1];
	struct certinfo ci;
	json_t *j;

	hex_encode(p->fp, FP_LEN, hex);
	j = json_pack("{s:s, s:s, s:o, s:I, s:s, s:o}", "fingerprint", hex, "state",
		      pin_state_name(p->state), "not_after", admin_time(p->not_after), "days_left",
		      (json_int_t)clock_days_until(p->not_after), "how", p->how, "added",
		      admin_time(p->added));
	if (p->der.n && identity_cert_info(p->der.p, p->der.n, &ci) == 0)
		json_object_set_new(j, "subject", json_string(ci.subject));
	return j;
}

static json_t *server_json(struct sync *y, const struct server_rec *r)
{
	json_t *pins = json_array(), *held = json_array(), *j;

	for (int i = 0; i < r->npins; i++)
		json_array_append_new(pins, pin_json(&r->pins[i]));
	for (int i = 0; i < r->nheld; i++) {
		char hex[2 * FP_LEN + 1];
		hex_encode(r->held[i], FP_LEN, hex);
		json_array_append_new(held, json_string(hex));
	}
	j = json_pack(
		"{s:s, s:s, s:i, s:b, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:i, s:o, s:b, s:b}",
		"name", r->name, "hladdress", r->hladdress, "lladdress", r->lladdress, "ssl",
		r->ssl, "sessionsecurity", secsec_name(r->secsec), "verify",
		verify_mode_name(r->verify), "forcesync_pending", r->forcesync, "pins", pins,
		"last_tls_version", r->last_tls[0] ? json_string(r->last_tls) : json_null(),
		"last_cipher", r->last_cipher[0] ? json_string(r->last_cipher) : json_null(),
		"last_verified_by",
		r->last_verified_by[0] ? json_string(r->last_verified_by) : json_null(),
		"last_contact", admin_time(r->last_contact), "last_protocol",
		r->last_protocol ? json_integer(r->last_protocol) : json_null(), "description",
		r->description, "failed_signons", (int)r->failed_signons, "last_failure",
		admin_time(r->last_failure), "paired_out", r->key_out.n > 0, "paired_in",
		r->key_in.n > 0);
	json_object_set_new(j, "created", admin_time(r->created));
	json_object_set_new(j, "holds_our_certificates", held);
	json_object_set_new(j, "down_level_allowed", json_boolean(r->legacy_ok));
	json_object_set_new(j, "crossdefine_pending", json_boolean(r->crossdef_pending));
	lifecycle_server_json(y, r, j);
	return j;
}

static int has_wildcards(const char *name) { return strpbrk(name, "*?") != NULL; }

/* Servers whose name matches a pattern (* and ?, any case). */
struct match_arg {
	const char *pattern;
	int (*fn)(const struct server_rec *r, void *arg);
	void *arg;
};

static int match_cb(const struct server_rec *r, void *arg)
{
	struct match_arg *m = arg;
	return fnmatch(m->pattern, r->name, FNM_CASEFOLD) == 0 ? m->fn(r, m->arg) : 0;
}

struct query_arg {
	struct sync *y;
	json_t *arr;
};

static int query_cb(const struct server_rec *r, void *arg)
{
	struct query_arg *q = arg;
	json_array_append_new(q->arr, server_json(q->y, r));
	return 0;
}

void admin_query_server(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct query_arg q = { y, json_array() };
	const char *fmt = admin_param(cmd, "FORMAT"),
		   *name = cmd->nwords == 3 ? cmd->words[2] : "*";
	struct match_arg m = { name, query_cb, &q };
	json_t *cols = NULL;
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&y->in->store, 0, &txn)) < 0) {
		json_decref(q.arr);
		reply(ac, admin_error(-rc, NULL));
		return;
	}
	if (has_wildcards(name)) {
		rc = store_server_each(txn, &y->in->store, match_cb, &m);
	} else {
		struct server_rec r;
		rc = store_server_get(txn, &y->in->store, name, &r);
		if (rc == 0) {
			json_array_append_new(q.arr, server_json(y, &r));
			server_rec_free(&r);
		}
	}
	store_abort(txn);
	if (rc < 0) {
		json_decref(q.arr);
		reply(ac,
		      admin_error(rc == -RPL_E_NOTFOUND ? RPL_E_UNKNOWN_SERVER : -rc, "%s", name));
		return;
	}
	if (!fmt || strcmp(fmt, "DETAILED") != 0)
		cols = json_pack("[s,s,s,s,s,s]", "name", "hladdress", "lladdress",
				 "sessionsecurity", "last_tls_version", "last_contact");
	adminsrv_reply(ac, q.arr, cols);
}

/* ---- PING SERVER ------------------------------------------------------------ */

/* The servers one PING names (several with * or ?), and their results in
 * the same order. */
struct ping_batch {
	struct sync *y;
	struct admin_client *ac;
	json_t *names;   /* strings */
	json_t *results; /* one per name, null until it ended */
	int pending;
	int several;               /* wildcards: the reply is an array */
	struct progress_note note; /* "waiting for HOST:PORT" after a second */
};

/* The failure of a session with server, for an admin reply. A refusal
 * that came from the partner (its MSG_ERROR) keeps the partner's message
 * ID, says so ("partner X refused: ..."), and gives the fix on the
 * partner's side — except where the fix is here. */
static json_t *session_error(const char *server, const struct session_result *res)
{
	json_t *j = admin_error(-res->err, "%s", res->message);
	int code = res->partner_err;
	const char *hint = code ? rpl_msg_hint(code) : NULL;
	char text[900];

	json_object_set_new(j, "server", json_string(server));
	if (!code)
		return j;
	json_object_set_new(j, "refused_by", json_string(server));
	if (code == RPL_E_NAME_MISMATCH || code == RPL_E_RATELIMIT)
		return j; /* HLADDRESS here, or our password for it: fixed here */
	if (code == RPL_E_PARTNER_RATE)
		snprintf(text, sizeof(text),
			 "this server opened sessions to %s faster than %s allows: "
			 "look at this server's log for what opens them",
			 server, server);
	else if (hint)
		snprintf(text, sizeof(text), "on %s (the partner, about this server): %s", server,
			 hint);
	else
		snprintf(text, sizeof(text),
			 "on %s: its log and activity log ('QUERY ACTLOG' there) say why", server);
	json_object_set_new(j, "hint", json_string(text));
	return j;
}

static json_t *ping_result(const char *server, const struct session_result *res)
{
	if (!res->ok)
		return session_error(server, res);
	/* Milliseconds to the microsecond: 0.056, not 0.056000000000000001. */
	return json_pack("{s:s, s:b, s:s, s:s, s:s, s:s, s:f, s:i}", "server", server, "ok", 1,
			 "tls_version", res->tls_version, "cipher", res->cipher, "verified_by",
			 res->verified_by, "sessionsecurity", res->secsec, "rtt_ms",
			 round(res->rtt_ms * 1000.0) / 1000.0, "protocol", res->proto);
}

static void ping_set(struct ping_batch *b, const char *server, json_t *result)
{
	size_t i;
	json_t *name;

	json_array_foreach(b->names, i,
			   name) if (strcasecmp(json_string_value(name), server) == 0 &&
				     json_is_null(json_array_get(b->results, i)))
	{
		json_array_set_new(b->results, i, result);
		return;
	}
	json_decref(result);
}

static void ping_finish(struct ping_batch *b)
{
	struct admin_client *ac = b->ac;

	progress_remove(b->y, &b->note);
	if (b->several)
		adminsrv_reply(ac, json_incref(b->results),
			       json_pack("[s,s,s,s,s,s]", "server", "ok", "verified_by",
					 "tls_version", "rtt_ms", "message"));
	else
		adminsrv_reply(ac, json_incref(json_array_get(b->results, 0)), NULL);
	json_decref(b->names);
	json_decref(b->results);
	free(b);
	adminsrv_release(ac);
}

static void ping_done(struct sync *y, const char *server, const struct session_result *res,
		      const struct talk_outcome *o, void *arg)
{
	struct ping_batch *b = arg;

	(void)y;
	(void)o;
	ping_set(b, server, ping_result(server, res));
	if (--b->pending == 0)
		ping_finish(b);
}

/* The administrator went away: the sessions of this PING end now. */
static void ping_cancel(void *arg)
{
	struct ping_batch *b = arg;
	talk_cancel(b->y, b);
}

static int ping_collect(const struct server_rec *r, void *arg)
{
	struct ping_batch *b = arg;
	json_array_append_new(b->names, json_string(r->name));
	return 0;
}

/* The defined servers a name or pattern stands for, into b->names. */
static int ping_names(struct sync *y, const char *pattern, struct ping_batch *b)
{
	struct match_arg m = { pattern, ping_collect, b };
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&y->in->store, 0, &txn)) < 0)
		return rc;
	rc = store_server_each(txn, &y->in->store, match_cb, &m);
	store_abort(txn);
	if (rc == 0 && json_array_size(b->names) == 0)
		rc = -RPL_E_UNKNOWN_SERVER;
	return rc;
}

void admin_ping_server(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	const char *pattern = cmd->words[2];
	struct ping_batch *b = calloc(1, sizeof(*b));
	size_t i;
	json_t *name;
	int rc;

	if (!b) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	*b = (struct ping_batch){ .y = y,
				  .ac = ac,
				  .names = json_array(),
				  .results = json_array(),
				  .pending = 1,
				  .several = has_wildcards(pattern) };
	if (!b->several)
		json_array_append_new(b->names, json_string(pattern));
	else if ((rc = ping_names(y, pattern, b)) < 0) {
		json_decref(b->names);
		json_decref(b->results);
		free(b);
		reply(ac, admin_error(-rc, "no defined server matches %s", pattern));
		return;
	}
	adminsrv_hold(ac);
	json_array_foreach(b->names, i, name) json_array_append_new(b->results, json_null());
	b->note.ac = ac;
	if (b->several)
		snprintf(b->note.what, sizeof(b->note.what), "%zu servers matching %s",
			 json_array_size(b->names), pattern);
	else
		server_target(y, pattern, b->note.what, sizeof(b->note.what));
	progress_add(y, &b->note);
	/* pending starts at 1 so that no session that ends at once finishes
	 * the batch while servers are still being started. */
	json_array_foreach(b->names, i, name)
	{
		const char *server = json_string_value(name);
		rc = talk_connect(y, server, PURPOSE_PING, ping_done, b);
		if (rc == 0) {
			b->pending++;
			continue;
		}
		json_t *j = admin_error(-rc, "%s", server);
		json_object_set_new(j, "server", json_string(server));
		json_array_set_new(b->results, i, j);
	}
	adminsrv_on_cancel(ac, ping_cancel, b);
	if (--b->pending == 0)
		ping_finish(b);
}

/* ---- SET SERVERPASSWORD ------------------------------------------------------ */

/* The verifier is made on the pool, then stored in one transaction. */
struct password_job {
	uv_work_t req;
	struct sync *y;
	struct admin_client *ac;
	char pw[65];
	int rc;
	struct password_prep prep;
};

static void password_free(void *arg)
{
	struct password_job *j = arg;
	instance_password_prep_free(&j->prep);
	secure_zero(j, sizeof(*j));
	free(j);
}

static int password_store(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	struct password_job *j = arg;
	int rc;
	(void)st;
	(void)detail;
	(void)dsz;
	rc = instance_password_store(j->y->in, txn, &j->prep);
	if (rc == 0)
		rc = store_actlog_add(
			txn, &j->y->in->store, RPL_I_PASSWORD_SET,
			"this server's password was changed; partners prove the new one at their next session");
	return rc;
}

static void password_work(uv_work_t *req)
{
	struct password_job *j = req->data;
	j->rc = instance_password_prepare(j->y->in, j->pw, &j->prep);
	secure_zero(j->pw, sizeof(j->pw));
}

static void password_after(uv_work_t *req, int status)
{
	struct password_job *j = req->data;
	struct admin_client *ac = j->ac;

	if (status < 0 || j->rc < 0) {
		adminsrv_reply(ac, admin_error(status < 0 ? RPL_E_INTERNAL : -j->rc, NULL), NULL);
		password_free(j);
	} else {
		admin_write(j->y, ac, password_store, j, password_free,
			    admin_ok(RPL_I_PASSWORD_SET, "server password changed"), NULL);
	}
	adminsrv_release(ac);
}

void admin_set_serverpassword(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct password_job *j;

	if (!instance_password_ok(cmd->words[2])) {
		reply(ac, admin_error(RPL_E_PASSWORD_WEAK, NULL));
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	j->y = y;
	j->ac = ac;
	j->req.data = j;
	snprintf(j->pw, sizeof(j->pw), "%s", cmd->words[2]);
	adminsrv_hold(ac);
	if (uv_queue_work(y->loop, &j->req, password_work, password_after) < 0) {
		adminsrv_release(ac);
		password_free(j);
		reply(ac, admin_error(RPL_E_INTERNAL, NULL));
	}
}
