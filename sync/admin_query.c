/* Admin commands about this server itself: QUERY SESSION, QUERY ACTLOG,
 * QUERY CERTIFICATE, RENEW CERTIFICATE, HALT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../peer/peer.h"
#include "../peer/trust.h"
#include "../store/actlog.h"
#include "../util/clock.h"
#include "../util/msg.h"
#include "admin.h"
#include "lifecycle.h"
#include "sync.h"

static int session_cb(const struct session_info *i, void *arg)
{
	json_array_append_new(arg, json_pack(
		"{s:I, s:s, s:s, s:s, s:s, s:i, s:s, s:o, s:o, s:s, s:o, s:I, s:I, s:I}",
		"id", (json_int_t)i->id, "direction", i->role == ROLE_INBOUND ? "inbound" : "outbound",
		"server", i->server, "address", i->addr, "state", i->state, "protocol", i->proto,
		"purpose", purpose_name(i->purpose),
		"tls_version", i->tls_version ? json_string(i->tls_version) : json_null(),
		"cipher", i->cipher ? json_string(i->cipher) : json_null(),
		"verified_by", verified_by_name(i->verified_by), "started", admin_time(i->started),
		"seconds", (json_int_t)i->seconds, "bytes_in", (json_int_t)i->bytes_in,
		"bytes_out", (json_int_t)i->bytes_out));
	return 0;
}

void admin_query_session(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	json_t *arr;

	if (cmd->nwords != 2 || cmd->nparams) {
		adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "QUERY SESSION"), NULL);
		return;
	}
	arr = json_array();
	(void)peer_sessions_each(y->peer, session_cb, arr);
	adminsrv_reply(ac, arr, json_pack("[s,s,s,s,s,s,s]", "id", "direction", "server",
					  "address", "state", "tls_version", "seconds"));
}

static int actlog_cb(const struct actlog_entry *e, void *arg)
{
	char when[40], frac[8];
	int64_t sec = e->time_us / 1000000;

	clock_iso8601(sec, when, sizeof(when));
	/* 2026-11-25T14:20:01Z -> 2026-11-25T14:20:01.123Z */
	snprintf(frac, sizeof(frac), ".%03dZ", (int)((e->time_us / 1000) % 1000));
	when[19] = 0;
	strncat(when, frac, sizeof(when) - strlen(when) - 1);
	json_array_append_new(arg, json_pack("{s:s, s:s, s:s}", "time", when,
					     "message_id", e->msgid, "message", e->text));
	return 0;
}

void admin_query_actlog(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	static const char *const allowed[] = {"SINCE", NULL};
	const char *since = admin_param(cmd, "SINCE");
	long minutes = 60;
	json_t *arr, *err;
	MDB_txn *txn;
	int rc;

	if ((err = admin_check_params(cmd, allowed))) {
		adminsrv_reply(ac, err, NULL);
		return;
	}
	if (since) {
		char *end;
		minutes = strtol(since, &end, 10);
		if (*end || minutes < 0 || minutes > 10L * 366 * 24 * 60) {
			adminsrv_reply(ac, admin_error(RPL_E_ADMIN_PARAM, "SINCE is a number of minutes"), NULL);
			return;
		}
	}
	if ((rc = store_begin(&y->in->store, 0, &txn)) < 0) {
		adminsrv_reply(ac, admin_error(-rc, NULL), NULL);
		return;
	}
	arr = json_array();
	rc = store_actlog_each(txn, &y->in->store,
			       ((int64_t)time(NULL) - minutes * 60) * 1000000, actlog_cb, arr);
	store_abort(txn);
	if (rc < 0) {
		json_decref(arr);
		adminsrv_reply(ac, admin_error(-rc, NULL), NULL);
		return;
	}
	adminsrv_reply(ac, arr, json_pack("[s,s,s]", "time", "message_id", "message"));
}

void admin_query_certificate(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	json_t *doc;

	if (cmd->nwords != 2 || cmd->nparams) {
		adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "QUERY CERTIFICATE"), NULL);
		return;
	}
	doc = lifecycle_certificates_json(y);
	adminsrv_reply(ac, doc, json_is_array(doc) ? json_pack("[s,s,s,s,s]", "label", "state",
						"fingerprint", "not_after", "days_left") : NULL);
}

void admin_renew_certificate(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	static const char *const allowed[] = {"ACTIVATE", "COMPROMISED", NULL};
	const char *act = admin_param(cmd, "ACTIVATE"), *comp = admin_param(cmd, "COMPROMISED");
	int immediate = 0, compromised = 0;
	json_t *err;

	if ((err = admin_check_params(cmd, allowed)) || cmd->nwords != 2) {
		adminsrv_reply(ac, err ? err : admin_error(RPL_E_ADMIN_SYNTAX, "RENEW CERTIFICATE [ACTIVATE=AFTERSYNC|IMMEDIATE] [COMPROMISED=YES]"), NULL);
		return;
	}
	if (act && strcasecmp(act, "IMMEDIATE") == 0)
		immediate = 1;
	else if (act && strcasecmp(act, "AFTERSYNC") != 0) {
		adminsrv_reply(ac, admin_error(RPL_E_ADMIN_PARAM, "ACTIVATE must be AFTERSYNC or IMMEDIATE"), NULL);
		return;
	}
	if (comp && strcasecmp(comp, "YES") == 0)
		compromised = 1;
	else if (comp && strcasecmp(comp, "NO") != 0) {
		adminsrv_reply(ac, admin_error(RPL_E_ADMIN_PARAM, "COMPROMISED must be YES or NO"), NULL);
		return;
	}
	lifecycle_renew(y, immediate, compromised, "the administrator", ac);
}

void admin_halt(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	(void)cmd;
	adminsrv_reply(ac, admin_ok(RPL_I_HALTED, "server %s is halting", y->in->conf.servername), NULL);
	if (y->halt)
		y->halt(y->halt_arg, "HALT command");
}
