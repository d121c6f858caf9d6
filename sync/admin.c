#include "admin.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../peer/dbw.h"
#include "../peer/keys/identity.h"
#include "../peer/peer.h"
#include "../store/admin.h"
#include "../util/clock.h"
#include "../util/errdoc.h"
#include "../util/secure.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "sync.h"

json_t *admin_error(int code, const char *fmt, ...)
{
	char detail[1024] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	return rpl_error_doc(code, detail);
}

json_t *admin_ok(int code, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s, s:s}", "ok", 1, "message_id", rpl_msg_id(code), "message",
			 text);
}

json_t *admin_time(int64_t t)
{
	char buf[32];
	if (!t)
		return json_null();
	clock_iso8601(t, buf, sizeof(buf));
	return json_string(buf);
}

json_t *admin_cert_json(const struct certinfo *ci, const char *label, const char *state)
{
	int64_t now = clock_now();
	const char *validity = ci->not_after < now    ? "expired"
			       : ci->not_before > now ? "not_yet_valid"
						      : "valid";

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:s, s:s, s:s, s:b}",
			 "label", label, "state", state, "validity", validity, "fingerprint",
			 ci->fp_hex, "subject", ci->subject, "issuer", ci->issuer, "not_before",
			 admin_time(ci->not_before), "not_after", admin_time(ci->not_after),
			 "days_left", (json_int_t)clock_days_until(ci->not_after), "key_type",
			 ci->key_type, "serial", ci->serial_hex, "san", ci->sans, "ca_signed",
			 !ci->self_issued);
}

int admin_parse(const char *line, struct admin_cmd *cmd, char *err, size_t errsz)
{
	char *out = cmd->buf, *end = cmd->buf + sizeof(cmd->buf) - 1;
	const char *p = line;

	memset(cmd, 0, sizeof(*cmd));
	for (;;) {
		char *tok = out, *eq = NULL;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		while (*p && !isspace((unsigned char)*p)) {
			if (*p == '"' || *p == '\'') {
				char q = *p++;
				while (*p && *p != q) {
					if (out == end)
						goto toolong;
					*out++ = *p++;
				}
				if (*p != q) {
					snprintf(err, errsz, "unterminated quote");
					return -RPL_E_ADMIN_SYNTAX;
				}
				p++;
				continue;
			}
			if (*p == '=' && !eq) {
				if (out == end)
					goto toolong;
				eq = out;
			}
			if (out == end)
				goto toolong;
			*out++ = *p++;
		}
		if (out == end)
			goto toolong;
		*out++ = 0;
		if (eq) {
			if (cmd->nparams == ADMIN_MAXTOK)
				goto toomany;
			*eq = 0;
			if (!*tok) {
				snprintf(err, errsz, "parameter without a name");
				return -RPL_E_ADMIN_SYNTAX;
			}
			cmd->keys[cmd->nparams] = tok;
			cmd->vals[cmd->nparams++] = eq + 1;
		} else {
			if (cmd->nwords == ADMIN_MAXTOK)
				goto toomany;
			cmd->words[cmd->nwords++] = tok;
		}
	}
	return 0;
toolong:
	snprintf(err, errsz, "command longer than %zu characters", sizeof(cmd->buf) - 1);
	return -RPL_E_ADMIN_SYNTAX;
toomany:
	snprintf(err, errsz, "more than %d words or parameters", ADMIN_MAXTOK);
	return -RPL_E_ADMIN_SYNTAX;
}

const char *admin_param(const struct admin_cmd *cmd, const char *key)
{
	for (int i = 0; i < cmd->nparams; i++)
		if (strcasecmp(cmd->keys[i], key) == 0)
			return cmd->vals[i];
	return NULL;
}

json_t *admin_check_params(const struct admin_cmd *cmd, const char *const *allowed)
{
	for (int i = 0; i < cmd->nparams; i++) {
		int ok = 0;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcasecmp(cmd->keys[i], *a) == 0;
		if (!ok)
			return admin_error(RPL_E_ADMIN_PARAM, "unknown parameter %s", cmd->keys[i]);
	}
	return NULL;
}

/* A parsed command may hold a password (SERVERPASSWORD=, SET SERVERPASSWORD). */
static void admin_cmd_free(struct admin_cmd *cmd)
{
	secure_zero(cmd, sizeof(*cmd));
	free(cmd);
}

static int has_secret(const struct admin_cmd *cmd, const struct admin_command *c)
{
	for (int i = 0; i < cmd->nwords; i++)
		if (admin_word_secret(c, i))
			return 1;
	for (int i = 0; i < cmd->nparams; i++)
		if (admin_param_secret(c, cmd->keys[i]))
			return 1;
	return 0;
}

void admin_cmd_redacted(const struct admin_cmd *cmd, const struct admin_command *c, char *out,
			size_t sz)
{
	size_t n = 0;

	out[0] = 0;
	for (int i = 0; i < cmd->nwords && n < sz; i++)
		n += (size_t)snprintf(out + n, sz - n, "%s%s", i ? " " : "",
				      admin_word_secret(c, i) ? "***" : cmd->words[i]);
	for (int i = 0; i < cmd->nparams && n < sz; i++)
		n += (size_t)snprintf(out + n, sz - n, " %s=%s", cmd->keys[i],
				      admin_param_secret(c, cmd->keys[i]) ? "***" : cmd->vals[i]);
}

/* A remote administrator's command is written to the activity log with
 * its name (passwords masked), and refused when its class is too low. */
static int admin_allowed(struct sync *y, struct admin_client *ac, const struct admin_cmd *cmd,
			 const struct admin_command *c)
{
	char name[RPL_NAME_MAX + 1], where[80], text[600];
	int cls = adminsrv_identity(ac, name, sizeof(name), where, sizeof(where));
	int need = admin_class_needed(cmd);

	if (!name[0])
		return 1; /* admin.sock: local access = system privilege */
	admin_cmd_redacted(cmd, c, text, sizeof(text));
	if (adminsrv_cleartext(ac) && has_secret(cmd, c)) {
		adminsrv_reply(ac, admin_error(RPL_E_ADMIN_CLEARTEXT, "%s", text), NULL);
		return 0;
	}
	if (cls < need) {
		peer_actlog(y->peer, RPL_E_ADMIN_CLASS,
			    "administrator %s (%s, from %s) refused: %s", name,
			    admin_class_name(cls), where, text);
		adminsrv_reply(ac,
			       admin_error(RPL_E_ADMIN_CLASS,
					   "%s needs class %s; administrator %s is %s", text,
					   admin_class_name(need), name, admin_class_name(cls)),
			       NULL);
		return 0;
	}
	peer_actlog(y->peer, RPL_I_ADMIN_CMD, "administrator %s (from %s): %s", name, where, text);
	return 1;
}

void admin_exec(struct sync *y, struct admin_client *ac, const char *line)
{
	struct admin_cmd *cmd = calloc(1, sizeof(*cmd));
	const struct admin_command *c;
	char err[1024];
	int rc;

	if (!cmd) {
		adminsrv_reply(ac, admin_error(RPL_E_NOMEM, NULL), NULL);
		return;
	}
	rc = admin_parse(line, cmd, err, sizeof(err));
	if (rc == 0)
		rc = admin_resolve(cmd, &c, err, sizeof(err));
	if (rc < 0) {
		adminsrv_reply(ac, admin_error(-rc, "%s", err), NULL);
	} else if (!admin_allowed(y, ac, cmd, c)) {
		/* refused (answered) */
	} else if (!c->fn) {
		char name[64];
		admin_command_name(c, name, sizeof(name));
		adminsrv_reply(ac, admin_error(RPL_E_NOTIMPL, "%s", name), NULL);
	} else {
		log_debug(RPL_D_DEBUG, "admin command: %s %s", cmd->words[0],
			  cmd->nwords > 1 ? cmd->words[1] : "");
		c->fn(y, ac, cmd);
	}
	admin_cmd_free(cmd);
}

struct admin_write_job {
	struct sync *y;
	struct admin_client *ac;
	admin_work_fn *work;
	void *arg;
	void (*free_arg)(void *arg);
	json_t *ok;
	void (*after)(struct sync *y, int rc, void *arg);
	char detail[512];
};

static int admin_write_work(MDB_txn *txn, struct store *st, void *arg)
{
	struct admin_write_job *j = arg;
	return j->work(txn, st, j->arg, j->detail, sizeof(j->detail));
}

static void admin_write_done(int rc, void *arg)
{
	struct admin_write_job *j = arg;

	if (rc < 0) {
		json_decref(j->ok);
		adminsrv_reply(j->ac, admin_error(-rc, j->detail[0] ? "%s" : NULL, j->detail),
			       NULL);
	} else if (j->ok) {
		adminsrv_reply(j->ac, j->ok, NULL);
	}
	adminsrv_release(j->ac);
	if (j->after)
		j->after(j->y, rc, j->arg);
	if (j->free_arg)
		j->free_arg(j->arg);
	free(j);
}

void admin_write(struct sync *y, struct admin_client *ac, admin_work_fn *work, void *arg,
		 void (*free_arg)(void *arg), json_t *ok,
		 void (*after)(struct sync *y, int rc, void *arg))
{
	struct admin_write_job *j = calloc(1, sizeof(*j));

	if (j) {
		*j = (struct admin_write_job){ y, ac, work, arg, free_arg, ok, after, "" };
		adminsrv_hold(ac);
		if (dbw_submit(peer_dbw(y->peer), admin_write_work, admin_write_done, j) == 0)
			return;
		adminsrv_release(ac);
		free(j);
	}
	json_decref(ok);
	if (free_arg)
		free_arg(arg);
	adminsrv_reply(ac, admin_error(RPL_E_NOMEM, NULL), NULL);
}
