/* Admin commands about this server itself: QUERY SESSION,
 * QUERY CERTIFICATE, RENEW CERTIFICATE, HALT (QUERY ACTLOG: admin_actlog.c). */
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
	json_array_append_new(
		arg,
		json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:s, s:o, s:o, s:s, s:o, s:I, s:I, s:I}",
			  "id", (json_int_t)i->id, "direction",
			  i->role == ROLE_INBOUND ? "inbound" : "outbound", "server", i->server,
			  "address", i->addr, "state", i->state, "protocol", i->proto, "purpose",
			  purpose_name(i->purpose), "tls_version",
			  i->tls_version ? json_string(i->tls_version) : json_null(), "cipher",
			  i->cipher ? json_string(i->cipher) : json_null(), "verified_by",
			  verified_by_name(i->verified_by), "started", admin_time(i->started),
			  "seconds", (json_int_t)i->seconds, "bytes_in", (json_int_t)i->bytes_in,
			  "bytes_out", (json_int_t)i->bytes_out));
	return 0;
}

void admin_query_session(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	/* admin_resolve left only the full keyword values. */
	const char *fmt = admin_param(cmd, "FORMAT");
	json_t *arr = json_array();

	(void)peer_sessions_each(y->peer, session_cb, arr);
	/* Every field is in the JSON; the table shows the detail with
	 * FORMAT=DETAILED (in the anchor's manner, a block per session). */
	adminsrv_reply(ac, arr,
		       fmt && strcmp(fmt, "DETAILED") == 0
			       ? NULL
			       : json_pack("[s,s,s,s,s,s,s,s]", "id", "direction", "server",
					   "address", "purpose", "state", "tls_version",
					   "seconds"));
}

void admin_query_certificate(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	/* admin_resolve left only the full keyword values. */
	const char *fmt = admin_param(cmd, "FORMAT");
	json_t *doc = lifecycle_certificates_json(y);

	/* The table shows who holds each certificate and who does not yet:
	 * what a RENEW reply points to. FORMAT=DETAILED shows every field. */
	adminsrv_reply(ac, doc,
		       json_is_array(doc) && !(fmt && strcmp(fmt, "DETAILED") == 0)
			       ? json_pack("[s,s,s,s,s,s]", "label", "state", "validity",
					   "days_left", "partners_holding", "partners_pending")
			       : NULL);
}

void admin_renew_certificate(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	/* admin_resolve left only the full keyword values. */
	const char *act = admin_param(cmd, "ACTIVATE"), *comp = admin_param(cmd, "COMPROMISED");
	const char *wait = admin_param(cmd, "WAIT");

	lifecycle_renew(y, act && strcmp(act, "IMMEDIATE") == 0, comp && strcmp(comp, "YES") == 0,
			wait && strcmp(wait, "YES") == 0, "the administrator", ac);
}

void admin_halt(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	(void)cmd;
	adminsrv_reply(ac, admin_ok(RPL_I_HALTING, "server %s is halting", y->in->conf.servername),
		       NULL);
	if (y->halt)
		y->halt(y->halt_arg, "HALT command");
}
