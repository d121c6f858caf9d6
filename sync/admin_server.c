/* Admin commands about partner servers: DEFINE, UPDATE, DELETE, QUERY, PING
 * SERVER and SET SERVERPASSWORD. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../peer/auth.h"
#include "../peer/conn.h"
#include "../peer/daemon.h"
#include "../store/actlog.h"
#include "../store/server.h"
#include "../util/clock.h"
#include "../util/hex.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "admin.h"
#include "lifecycle.h"

static const char *const server_params[] = {
	"HLADDRESS", "LLADDRESS", "SERVERPASSWORD", "SSL", "SESSIONSECURITY",
	"DESCRIPTION", "FORCESYNC", NULL,
};

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

/* Applies DEFINE/UPDATE parameters to r; returns an error document or NULL.
 * *reset and *forcesync report what the caller must log or start. */
static json_t *apply_params(struct daemon *d, const struct admin_cmd *cmd,
			    struct server_rec *r, int *reset, int *forcesync,
			    int *pw_changed)
{
	const char *v;
	int b;

	if ((v = admin_param(cmd, "HLADDRESS"))) {
		if (!*v || strlen(v) >= sizeof(r->hladdress))
			return admin_error(RPL_E_ADMIN_PARAM, "HLADDRESS must be a host name or address");
		strcpy(r->hladdress, v);
	}
	if ((v = admin_param(cmd, "LLADDRESS"))) {
		char *end;
		long port = strtol(v, &end, 10);
		if (*end || port < 1 || port > 65535)
			return admin_error(RPL_E_ADMIN_PARAM, "LLADDRESS must be a port from 1 to 65535");
		r->lladdress = (int)port;
	}
	if ((v = admin_param(cmd, "SSL"))) {
		if (parse_yesno(v, &b) < 0)
			return admin_error(RPL_E_ADMIN_PARAM, "SSL must be YES or NO");
		r->ssl = b;
	}
	if ((v = admin_param(cmd, "SESSIONSECURITY"))) {
		if (strcasecmp(v, "STRICT") == 0)
			r->secsec = SECSEC_STRICT;
		else if (strcasecmp(v, "TRANSITIONAL") == 0) {
			*reset = r->secsec == SECSEC_STRICT;
			r->secsec = SECSEC_TRANSITIONAL;
		} else
			return admin_error(RPL_E_ADMIN_PARAM, "SESSIONSECURITY must be TRANSITIONAL or STRICT");
	}
	if ((v = admin_param(cmd, "DESCRIPTION"))) {
		if (strlen(v) >= sizeof(r->description))
			return admin_error(RPL_E_ADMIN_PARAM, "DESCRIPTION is longer than %zu characters",
					   sizeof(r->description) - 1);
		strcpy(r->description, v);
	}
	if ((v = admin_param(cmd, "FORCESYNC"))) {
		if (parse_yesno(v, &b) < 0)
			return admin_error(RPL_E_ADMIN_PARAM, "FORCESYNC must be YES or NO");
		r->forcesync = b;
		*forcesync = b;
	}
	if ((v = admin_param(cmd, "SERVERPASSWORD"))) {
		if (!instance_password_ok(v))
			return admin_error(RPL_E_PASSWORD_WEAK, "SERVERPASSWORD needs 8 to 64 printable characters");
		if (instance_seal(&d->in, SEAL_SERVER_PASSWORD, r->name, v, strlen(v), &r->password) < 0)
			return admin_error(RPL_E_CRYPTO, "sealing the password");
		/* The pairing key proved the old password: prove the new one. */
		blob_free(&r->key_out);
		*pw_changed = 1;
	}
	return NULL;
}

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

static void forcesync_done(struct conn *c, void *arg)
{
	(void)arg;
	if (c->result.ok)
		log_info(RPL_I_FORCESYNC_SET, "FORCESYNC session with server %s completed", c->server);
	else
		log_warn(RPL_I_FORCESYNC_SET, "FORCESYNC with server %s is pending: %s",
			 c->server, c->result.message);
}

/* FORCESYNC starts a session at once; an unreachable partner keeps the
 * mark and the next session in either direction completes it. */
static void start_forcesync(struct daemon *d, const char *name)
{
	int rc = conn_connect(d, name, PURPOSE_SYNC, 2, forcesync_done, NULL);
	if (rc < 0)
		log_warn(RPL_I_FORCESYNC_SET, "FORCESYNC with server %s is pending: %s", name,
			 rpl_msg_text(rc));
}

void admin_define_server(struct daemon *d, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct server_rec r, old;
	int reset = 0, fs = 0, pwc = 0, rc;
	MDB_txn *txn;
	json_t *err;

	if (cmd->nwords != 3)
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "DEFINE SERVER takes one name"), NULL);
	if ((err = admin_check_params(cmd, server_params)))
		return adminsrv_reply(ac, err, NULL);
	if (!conf_valid_name(cmd->words[2]))
		return adminsrv_reply(ac, admin_error(RPL_E_BADNAME, "'%s'", cmd->words[2]), NULL);
	if (strcasecmp(cmd->words[2], d->in.conf.servername) == 0)
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_PARAM, "%s is this server's own name", cmd->words[2]), NULL);
	if (!admin_param(cmd, "HLADDRESS") || !admin_param(cmd, "SERVERPASSWORD"))
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_PARAM, "HLADDRESS and SERVERPASSWORD are required"), NULL);
	if (admin_param(cmd, "FORCESYNC"))
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_PARAM, "FORCESYNC belongs to UPDATE SERVER"), NULL);
	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", cmd->words[2]);
	r.lladdress = 1500;
	r.created = clock_now();
	if ((err = apply_params(d, cmd, &r, &reset, &fs, &pwc))) {
		server_rec_free(&r);
		return adminsrv_reply(ac, err, NULL);
	}
	if ((rc = store_begin(&d->in.store, 1, &txn)) < 0) {
		server_rec_free(&r);
		return adminsrv_reply(ac, admin_error(-rc, NULL), NULL);
	}
	rc = store_server_get(txn, &d->in.store, r.name, &old);
	if (rc == 0) {
		server_rec_free(&old);
		store_abort(txn);
		server_rec_free(&r);
		return adminsrv_reply(ac, admin_error(RPL_E_DUPLICATE, "server %s is already defined; use UPDATE SERVER", cmd->words[2]), NULL);
	}
	rc = rc == -RPL_E_NOTFOUND ? store_server_put(txn, &d->in.store, &r) : rc;
	if (rc == 0)
		rc = store_actlog_add(txn, &d->in.store, RPL_I_SERVER_DEFINED,
				      "server %s defined: %s:%d, SSL=%s, SESSIONSECURITY=%s",
				      r.name, r.hladdress, r.lladdress, r.ssl ? "YES" : "NO",
				      secsec_name(r.secsec));
	adminsrv_reply(ac, commit_doc(txn, rc, admin_ok(RPL_I_SERVER_DEFINED, "server %s defined", r.name)), NULL);
	server_rec_free(&r);
}

void admin_update_server(struct daemon *d, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct server_rec r;
	int reset = 0, fs = 0, pwc = 0, rc;
	char changes[512] = "";
	MDB_txn *txn;
	json_t *err;

	if (cmd->nwords != 3)
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "UPDATE SERVER takes one name"), NULL);
	if ((err = admin_check_params(cmd, server_params)))
		return adminsrv_reply(ac, err, NULL);
	if (cmd->nparams == 0)
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_PARAM, "nothing to update"), NULL);
	if ((rc = store_begin(&d->in.store, 1, &txn)) < 0)
		return adminsrv_reply(ac, admin_error(-rc, NULL), NULL);
	rc = store_server_get(txn, &d->in.store, cmd->words[2], &r);
	if (rc < 0) {
		store_abort(txn);
		return adminsrv_reply(ac, admin_error(rc == -RPL_E_NOTFOUND ? RPL_E_UNKNOWN_SERVER : -rc,
						      "%s", cmd->words[2]), NULL);
	}
	if ((err = apply_params(d, cmd, &r, &reset, &fs, &pwc))) {
		store_abort(txn);
		server_rec_free(&r);
		return adminsrv_reply(ac, err, NULL);
	}
	for (int i = 0; i < cmd->nparams; i++) {
		size_t n = strlen(changes);
		snprintf(changes + n, sizeof(changes) - n, "%s%s=%s", n ? ", " : "", cmd->keys[i],
			 strcasecmp(cmd->keys[i], "SERVERPASSWORD") == 0 ? "********" : cmd->vals[i]);
	}
	rc = store_server_put(txn, &d->in.store, &r);
	if (rc == 0)
		rc = store_actlog_add(txn, &d->in.store, RPL_I_SERVER_UPDATED,
				      "server %s updated: %s", r.name, changes);
	if (rc == 0 && reset)
		rc = store_actlog_add(txn, &d->in.store, RPL_I_SECSEC_RESET,
				      "server %s reset from STRICT to TRANSITIONAL by the administrator; "
				      "down-level sessions are accepted again until its next protocol 2 session",
				      r.name);
	if (rc == 0 && fs)
		rc = store_actlog_add(txn, &d->in.store, RPL_I_FORCESYNC_SET,
				      "FORCESYNC requested for server %s: the next session proves the password and re-exchanges certificates",
				      r.name);
	adminsrv_reply(ac, commit_doc(txn, rc, admin_ok(RPL_I_SERVER_UPDATED, "server %s updated", r.name)), NULL);
	if (rc == 0 && reset)
		log_info(RPL_I_SECSEC_RESET, "server %s reset to TRANSITIONAL by the administrator", r.name);
	if (rc == 0 && fs)
		start_forcesync(d, r.name);
	server_rec_free(&r);
}

void admin_delete_server(struct daemon *d, struct admin_client *ac, struct admin_cmd *cmd)
{
	MDB_txn *txn;
	int rc;

	if (cmd->nwords != 3 || cmd->nparams)
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "DELETE SERVER name"), NULL);
	if ((rc = store_begin(&d->in.store, 1, &txn)) < 0)
		return adminsrv_reply(ac, admin_error(-rc, NULL), NULL);
	rc = store_server_del(txn, &d->in.store, cmd->words[2]);
	if (rc == -RPL_E_NOTFOUND) {
		store_abort(txn);
		return adminsrv_reply(ac, admin_error(RPL_E_UNKNOWN_SERVER, "%s", cmd->words[2]), NULL);
	}
	if (rc == 0)
		rc = store_actlog_add(txn, &d->in.store, RPL_I_SERVER_DELETED,
				      "server %s deleted with its pins", cmd->words[2]);
	adminsrv_reply(ac, commit_doc(txn, rc, admin_ok(RPL_I_SERVER_DELETED, "server %s deleted", cmd->words[2])), NULL);
}

static json_t *pin_json(const struct pin *p)
{
	char hex[2 * FP_LEN + 1];
	struct certinfo ci;
	json_t *j;

	hex_encode(p->fp, FP_LEN, hex);
	j = json_pack("{s:s, s:s, s:o, s:I, s:s, s:o}", "fingerprint", hex,
		      "state", pin_state_name(p->state), "not_after", admin_time(p->not_after),
		      "days_left", (json_int_t)clock_days_until(p->not_after),
		      "how", p->how, "added", admin_time(p->added));
	if (p->der.n && identity_cert_info(p->der.p, p->der.n, &ci) == 0)
		json_object_set_new(j, "subject", json_string(ci.subject));
	return j;
}

static json_t *server_json(struct daemon *d, const struct server_rec *r)
{
	json_t *pins = json_array(), *held = json_array(), *j;

	for (int i = 0; i < r->npins; i++)
		json_array_append_new(pins, pin_json(&r->pins[i]));
	for (int i = 0; i < r->nheld; i++) {
		char hex[2 * FP_LEN + 1];
		hex_encode(r->held[i], FP_LEN, hex);
		json_array_append_new(held, json_string(hex));
	}
	j = json_pack("{s:s, s:s, s:i, s:b, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:i, s:o, s:b, s:b, s:s}",
		      "name", r->name, "hladdress", r->hladdress, "lladdress", r->lladdress,
		      "ssl", r->ssl, "sessionsecurity", secsec_name(r->secsec),
		      "forcesync_pending", r->forcesync, "pins", pins,
		      "last_tls_version", r->last_tls[0] ? json_string(r->last_tls) : json_null(),
		      "last_cipher", r->last_cipher[0] ? json_string(r->last_cipher) : json_null(),
		      "last_verified_by", r->last_verified_by[0] ? json_string(r->last_verified_by) : json_null(),
		      "last_contact", admin_time(r->last_contact),
		      "last_protocol", r->last_protocol ? json_integer(r->last_protocol) : json_null(),
		      "description", r->description, "failed_signons", (int)r->failed_signons,
		      "last_failure", admin_time(r->last_failure),
		      "paired_out", r->key_out.n > 0, "paired_in", r->key_in.n > 0,
		      "created", "");
	json_object_set_new(j, "created", admin_time(r->created));
	json_object_set_new(j, "holds_our_certificates", held);
	lifecycle_server_json(d, r, j);
	return j;
}

struct query_arg {
	struct daemon *d;
	json_t *arr;
};

static int query_cb(const struct server_rec *r, void *arg)
{
	struct query_arg *q = arg;
	json_array_append_new(q->arr, server_json(q->d, r));
	return 0;
}

void admin_query_server(struct daemon *d, struct admin_client *ac, struct admin_cmd *cmd)
{
	static const char *const allowed[] = {"FORMAT", NULL};
	struct query_arg q = {d, json_array()};
	const char *fmt = admin_param(cmd, "FORMAT");
	int detailed = fmt && strcasecmp(fmt, "DETAILED") == 0;
	MDB_txn *txn;
	json_t *err, *cols = NULL;
	int rc;

	if ((err = admin_check_params(cmd, allowed)) || cmd->nwords > 3) {
		json_decref(q.arr);
		return adminsrv_reply(ac, err ? err : admin_error(RPL_E_ADMIN_SYNTAX, "QUERY SERVER [name] [FORMAT=DETAILED]"), NULL);
	}
	if (fmt && !detailed && strcasecmp(fmt, "STANDARD") != 0) {
		json_decref(q.arr);
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_PARAM, "FORMAT must be STANDARD or DETAILED"), NULL);
	}
	if ((rc = store_begin(&d->in.store, 0, &txn)) < 0) {
		json_decref(q.arr);
		return adminsrv_reply(ac, admin_error(-rc, NULL), NULL);
	}
	if (cmd->nwords == 3) {
		struct server_rec r;
		rc = store_server_get(txn, &d->in.store, cmd->words[2], &r);
		if (rc == 0) {
			json_array_append_new(q.arr, server_json(d, &r));
			server_rec_free(&r);
		}
	} else {
		rc = store_server_each(txn, &d->in.store, query_cb, &q);
	}
	store_abort(txn);
	if (rc < 0) {
		json_decref(q.arr);
		return adminsrv_reply(ac, admin_error(rc == -RPL_E_NOTFOUND ? RPL_E_UNKNOWN_SERVER : -rc,
						      "%s", cmd->nwords == 3 ? cmd->words[2] : ""), NULL);
	}
	if (!detailed)
		cols = json_pack("[s,s,s,s,s,s]", "name", "hladdress", "lladdress",
				 "sessionsecurity", "last_tls_version", "last_contact");
	adminsrv_reply(ac, q.arr, cols);
}

static void ping_done(struct conn *c, void *arg)
{
	struct admin_client *ac = arg;
	struct session_result *res = &c->result;
	json_t *j;

	if (res->ok) {
		j = json_pack("{s:s, s:b, s:s, s:s, s:s, s:s, s:f, s:i}", "server", c->server,
			      "ok", 1, "tls_version", res->tls_version, "cipher", res->cipher,
			      "verified_by", res->verified_by, "sessionsecurity", res->secsec,
			      "rtt_ms", res->rtt_ms, "protocol", res->proto);
	} else {
		j = admin_error(-res->err, "%s", res->message);
		json_object_set_new(j, "server", json_string(c->server));
	}
	adminsrv_reply(ac, j, NULL);
	adminsrv_release(ac);
}

void admin_ping_server(struct daemon *d, struct admin_client *ac, struct admin_cmd *cmd)
{
	int rc;

	if (cmd->nwords != 3 || cmd->nparams)
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "PING SERVER name"), NULL);
	adminsrv_hold(ac);
	rc = conn_connect(d, cmd->words[2], PURPOSE_PING, 2, ping_done, ac);
	if (rc < 0) {
		json_t *j = admin_error(-rc, "%s", cmd->words[2]);
		json_object_set_new(j, "server", json_string(cmd->words[2]));
		adminsrv_reply(ac, j, NULL);
		adminsrv_release(ac);
	}
}

void admin_set_serverpassword(struct daemon *d, struct admin_client *ac, struct admin_cmd *cmd)
{
	MDB_txn *txn;
	int rc;

	if (cmd->nwords != 3 || cmd->nparams)
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "SET SERVERPASSWORD pw"), NULL);
	if (!instance_password_ok(cmd->words[2]))
		return adminsrv_reply(ac, admin_error(RPL_E_PASSWORD_WEAK, NULL), NULL);
	if ((rc = store_begin(&d->in.store, 1, &txn)) < 0)
		return adminsrv_reply(ac, admin_error(-rc, NULL), NULL);
	rc = instance_set_password(&d->in, txn, cmd->words[2]);
	if (rc == 0)
		rc = store_actlog_add(txn, &d->in.store, RPL_I_PASSWORD_SET,
				      "this server's password was changed; partners prove the new one at their next session");
	adminsrv_reply(ac, commit_doc(txn, rc, admin_ok(RPL_I_PASSWORD_SET, "server password changed")), NULL);
}
