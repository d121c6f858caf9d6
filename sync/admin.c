#include "admin.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../peer/dbw.h"
#include "../peer/peer.h"
#include "../store/admin.h"
#include "../util/clock.h"
#include "../util/secure.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "sync.h"

json_t *admin_error(int code, const char *fmt, ...)
{
	char detail[1024] = "";
	const char *hint = rpl_msg_hint(code);
	va_list ap;
	json_t *j;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	j = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", rpl_msg_text(code),
		      "message_id", rpl_msg_id(code));
	if (detail[0])
		json_object_set_new(j, "message", json_string(detail));
	if (hint)
		json_object_set_new(j, "hint", json_string(hint));
	return j;
}

json_t *admin_ok(int code, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s, s:s}", "ok", 1, "message_id", rpl_msg_id(code),
			 "message", text);
}

json_t *admin_time(int64_t t)
{
	char buf[32];
	if (!t)
		return json_null();
	clock_iso8601(t, buf, sizeof(buf));
	return json_string(buf);
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

static const struct {
	const char *verb, *object;
	admin_handler *fn;
	const char *syntax;
} commands[] = {
	{"DEFINE", "SERVER", admin_define_server,
	 "DEFINE SERVER name HLADDRESS=h LLADDRESS=port SERVERPASSWORD=pw [SSL=NO|YES] [SESSIONSECURITY=TRANSITIONAL|STRICT] [VERIFY=PIN|CA] [DESCRIPTION=text]"},
	{"UPDATE", "SERVER", admin_update_server,
	 "UPDATE SERVER name [HLADDRESS=h] [LLADDRESS=port] [SERVERPASSWORD=pw] [SSL=..] [SESSIONSECURITY=..] [VERIFY=PIN|CA] [DESCRIPTION=..] [FORCESYNC=YES|NO]"},
	{"DELETE", "SERVER", admin_delete_server, "DELETE SERVER name"},
	{"QUERY", "SERVER", admin_query_server, "QUERY SERVER [name] [FORMAT=DETAILED]"},
	{"PING", "SERVER", admin_ping_server, "PING SERVER name"},
	{"SET", "SERVERPASSWORD", admin_set_serverpassword, "SET SERVERPASSWORD pw"},
	{"QUERY", "SESSION", admin_query_session, "QUERY SESSION"},
	{"QUERY", "ACTLOG", admin_query_actlog,
	 "QUERY ACTLOG [BEGINTIME=time] [ENDTIME=time] [SEARCH=text] [MSGNO=n] [SINCE=minutes]"},
	{"SET", "ACTLOGRETENTION", admin_set_actlogretention, "SET ACTLOGRETENTION days"},
	{"QUERY", "CERTIFICATE", admin_query_certificate, "QUERY CERTIFICATE"},
	{"RENEW", "CERTIFICATE", admin_renew_certificate, "RENEW CERTIFICATE [ACTIVATE=AFTERSYNC|IMMEDIATE] [COMPROMISED=YES]"},
	{"REGISTER", "NODE", admin_register_node, "REGISTER NODE name"},
	{"REMOVE", "NODE", admin_remove_node, "REMOVE NODE name [DELETEOBJECTS=YES]"},
	{"QUERY", "NODE", admin_query_node, "QUERY NODE [name]"},
	{"SET", "LDAPURL", admin_set_ldapurl, "SET LDAPURL ldaps://host[:port] | ldap://host[:port]"},
	{"SET", "LDAPUSERDN", admin_set_ldapuserdn, "SET LDAPUSERDN template (%s = the administrator's name)"},
	{"SET", "LDAPCALABEL", admin_set_ldapcalabel, "SET LDAPCALABEL label"},
	{"TEST", "LDAP", admin_test_ldap, "TEST LDAP [adminname password|- [SIGNON=YES]]"},
	{"REGISTER", "ADMIN", admin_register_admin,
	 "REGISTER ADMIN name pw|- [AUTHENTICATION=LOCAL|LDAP] [CLASS=SYSTEM|OPERATOR] [SESSIONSECURITY=TRANSITIONAL|STRICT]"},
	{"UPDATE", "ADMIN", admin_update_admin,
	 "UPDATE ADMIN name [PASSWORD=pw|-] [AUTHENTICATION=LOCAL|LDAP] [CLASS=SYSTEM|OPERATOR] [SESSIONSECURITY=TRANSITIONAL|STRICT]"},
	{"REMOVE", "ADMIN", admin_remove_admin, "REMOVE ADMIN name"},
	{"LOCK", "ADMIN", admin_lock_admin, "LOCK ADMIN name"},
	{"UNLOCK", "ADMIN", admin_unlock_admin, "UNLOCK ADMIN name"},
	{"QUERY", "ADMIN", admin_query_admin, "QUERY ADMIN [name] [FORMAT=DETAILED]"},
	{"HALT", NULL, admin_halt, "HALT"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static json_t *help_doc(void)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < NCOMMANDS; i++)
		json_array_append_new(arr, json_string(commands[i].syntax));
	return arr;
}

/* A parsed command may hold a password (SERVERPASSWORD=, SET SERVERPASSWORD). */
static void admin_cmd_free(struct admin_cmd *cmd)
{
	secure_zero(cmd, sizeof(*cmd));
	free(cmd);
}

/* Which parameters and positional words hold passwords. */
static int secret_param(const char *key)
{
	size_t n = strlen(key);
	return n >= 8 && strcasecmp(key + n - 8, "PASSWORD") == 0;
}

static int secret_word(const struct admin_cmd *cmd, int i)
{
	if (cmd->nwords < 2)
		return 0;
	if (strcasecmp(cmd->words[0], "SET") == 0 && strcasecmp(cmd->words[1], "SERVERPASSWORD") == 0)
		return i == 2;
	if (strcasecmp(cmd->words[0], "REGISTER") == 0 && strcasecmp(cmd->words[1], "ADMIN") == 0)
		return i == 3;
	return 0;
}

static int has_secret(const struct admin_cmd *cmd)
{
	for (int i = 0; i < cmd->nwords; i++)
		if (secret_word(cmd, i))
			return 1;
	for (int i = 0; i < cmd->nparams; i++)
		if (secret_param(cmd->keys[i]))
			return 1;
	return 0;
}

void admin_cmd_redacted(const struct admin_cmd *cmd, char *out, size_t sz)
{
	size_t n = 0;

	out[0] = 0;
	for (int i = 0; i < cmd->nwords && n < sz; i++)
		n += (size_t)snprintf(out + n, sz - n, "%s%s", i ? " " : "",
				      secret_word(cmd, i) ? "***" : cmd->words[i]);
	for (int i = 0; i < cmd->nparams && n < sz; i++)
		n += (size_t)snprintf(out + n, sz - n, " %s=%s", cmd->keys[i],
				      secret_param(cmd->keys[i]) ? "***" : cmd->vals[i]);
}

/* A remote administrator's command is written to the activity log with
 * its name (passwords masked), and refused when its class is too low. */
static int admin_allowed(struct sync *y, struct admin_client *ac, const struct admin_cmd *cmd)
{
	char name[RPL_NAME_MAX + 1], where[80], text[600];
	int cls = adminsrv_identity(ac, name, sizeof(name), where, sizeof(where));
	int need = admin_class_needed(cmd);

	if (!name[0])
		return 1; /* admin.sock: local access = system privilege */
	admin_cmd_redacted(cmd, text, sizeof(text));
	if (adminsrv_cleartext(ac) && has_secret(cmd)) {
		adminsrv_reply(ac, admin_error(RPL_E_ADMIN_PARAM, "%s: a password is not sent over a down-level session (no TLS); sign on over TLS for this command",
					       text), NULL);
		return 0;
	}
	if (cls < need) {
		peer_actlog(y->peer, RPL_E_ADMIN_CLASS, "administrator %s (%s, from %s) refused: %s",
			    name, admin_class_name(cls), where, text);
		adminsrv_reply(ac, admin_error(RPL_E_ADMIN_CLASS, "%s needs class %s; administrator %s is %s",
					       text, admin_class_name(need), name, admin_class_name(cls)),
			       NULL);
		return 0;
	}
	peer_actlog(y->peer, RPL_I_ADMIN_CMD, "administrator %s (from %s): %s", name, where, text);
	return 1;
}

void admin_exec(struct sync *y, struct admin_client *ac, const char *line)
{
	struct admin_cmd *cmd = calloc(1, sizeof(*cmd));
	char err[256];

	if (!cmd) {
		adminsrv_reply(ac, admin_error(RPL_E_NOMEM, NULL), NULL);
		return;
	}
	if (admin_parse(line, cmd, err, sizeof(err)) < 0) {
		adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "%s", err), NULL);
		admin_cmd_free(cmd);
		return;
	}
	if (cmd->nwords == 0) {
		adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "empty command"), NULL);
		admin_cmd_free(cmd);
		return;
	}
	if (!admin_allowed(y, ac, cmd)) {
		admin_cmd_free(cmd);
		return;
	}
	if (strcasecmp(cmd->words[0], "HELP") == 0) {
		adminsrv_reply(ac, help_doc(), NULL);
		admin_cmd_free(cmd);
		return;
	}
	log_debug(RPL_D_DEBUG, "admin command: %s %s", cmd->words[0],
		  cmd->nwords > 1 ? cmd->words[1] : "");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcasecmp(cmd->words[0], commands[i].verb) != 0)
			continue;
		if (commands[i].object &&
		    (cmd->nwords < 2 || strcasecmp(cmd->words[1], commands[i].object) != 0))
			continue;
		commands[i].fn(y, ac, cmd);
		admin_cmd_free(cmd);
		return;
	}
	adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "unknown command '%s%s%s'",
				       cmd->words[0], cmd->nwords > 1 ? " " : "",
				       cmd->nwords > 1 ? cmd->words[1] : ""), NULL);
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
		adminsrv_reply(j->ac, admin_error(-rc, j->detail[0] ? "%s" : NULL, j->detail), NULL);
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
		*j = (struct admin_write_job){y, ac, work, arg, free_arg, ok, after, ""};
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
