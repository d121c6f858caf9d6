/* Admin commands about this server itself: QUERY SESSION,
 * QUERY CERTIFICATE, RENEW CERTIFICATE, HALT (QUERY ACTLOG: admin_actlog.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../peer/conn.h"
#include "../peer/daemon.h"
#include "../util/clock.h"
#include "../util/msg.h"
#include "admin.h"
#include "lifecycle.h"

static const char *state_name(int s)
{
	static const char *names[] = {"connecting", "negotiating", "tls-handshake",
				      "authenticating", "ready", "closing"};
	return s >= 0 && s <= CS_CLOSING ? names[s] : "unknown";
}

void admin_query_session(struct daemon *d, struct admin_client *ac, struct admin_cmd *cmd)
{
	json_t *arr = json_array();

	if (cmd->nwords != 2 || cmd->nparams) {
		json_decref(arr);
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "QUERY SESSION"), NULL);
	}
	for (struct conn *c = d->conns; c; c = c->next) {
		const char *tls = c->ssl && c->state >= CS_AUTH ? tls_version_name(c->ssl) : NULL;
		json_array_append_new(arr, json_pack(
			"{s:I, s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:s, s:o, s:I, s:I, s:I}",
			"id", (json_int_t)c->id,
			"direction", c->role == ROLE_INBOUND ? "inbound" : "outbound",
			"server", c->server, "address", c->addr, "state", state_name(c->state),
			"protocol", c->proto, "tls_version", tls ? json_string(tls) : json_null(),
			"cipher", tls ? json_string(tls_cipher_name(c->ssl)) : json_null(),
			"verified_by", verified_by_name(c->verified_by),
			"started", admin_time(c->started),
			"seconds", (json_int_t)((clock_mono_ms() - c->started_ms) / 1000),
			"bytes_in", (json_int_t)c->bytes_in, "bytes_out", (json_int_t)c->bytes_out));
	}
	adminsrv_reply(ac, arr, json_pack("[s,s,s,s,s,s,s]", "id", "direction", "server",
					  "address", "state", "tls_version", "seconds"));
}

void admin_query_certificate(struct daemon *d, struct admin_client *ac, struct admin_cmd *cmd)
{
	json_t *doc;

	if (cmd->nwords != 2 || cmd->nparams)
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "QUERY CERTIFICATE"), NULL);
	doc = lifecycle_certificates_json(d);
	adminsrv_reply(ac, doc, json_is_array(doc) ? json_pack("[s,s,s,s,s]", "label", "state",
						"fingerprint", "not_after", "days_left") : NULL);
}

void admin_renew_certificate(struct daemon *d, struct admin_client *ac, struct admin_cmd *cmd)
{
	static const char *const allowed[] = {"ACTIVATE", NULL};
	const char *act = admin_param(cmd, "ACTIVATE");
	int immediate = 0;
	json_t *err;

	if ((err = admin_check_params(cmd, allowed)) || cmd->nwords != 2)
		return adminsrv_reply(ac, err ? err : admin_error(RPL_E_ADMIN_SYNTAX, "RENEW CERTIFICATE [ACTIVATE=AFTERSYNC|IMMEDIATE]"), NULL);
	if (act && strcasecmp(act, "IMMEDIATE") == 0)
		immediate = 1;
	else if (act && strcasecmp(act, "AFTERSYNC") != 0)
		return adminsrv_reply(ac, admin_error(RPL_E_ADMIN_PARAM, "ACTIVATE must be AFTERSYNC or IMMEDIATE"), NULL);
	lifecycle_renew(d, immediate, "the administrator", ac);
}

void admin_halt(struct daemon *d, struct admin_client *ac, struct admin_cmd *cmd)
{
	(void)cmd;
	adminsrv_reply(ac, admin_ok(RPL_I_HALTED, "server %s is halting", d->in.conf.servername), NULL);
	daemon_halt(d, "HALT command");
}
