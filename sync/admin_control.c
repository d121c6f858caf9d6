/*
 * Admin commands that watch and steer the running server: QUERY STATUS,
 * QUERY OPTION and SETOPT (replpeer.conf is where options live: SETOPT
 * writes it first, then applies what can change while the server runs),
 * CANCEL SESSION, DISABLE SESSIONS and ENABLE SESSIONS.
 */
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
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/version.h"
#include "admin.h"
#include "process.h"
#include "repl.h"
#include "sync.h"

static void reply(struct admin_client *ac, json_t *doc) { adminsrv_reply(ac, doc, NULL); }

/* ---- how each option takes effect ----------------------------------------- */

/* Options the running server reads once, at start: SETOPT writes them to
 * replpeer.conf and says a restart is needed. */
static const char *const at_restart[] = { "TCPADDRESS", "TCPPORT",       "DBMAXSIZE",
					  "KEYTYPE",    "PROTOCOLLEVEL", "SSLTLS13" };

static int needs_restart(const char *key)
{
	for (size_t i = 0; i < sizeof(at_restart) / sizeof(at_restart[0]); i++)
		if (strcmp(key, at_restart[i]) == 0)
			return 1;
	return 0;
}

/* "at once", "restart" or "never" (SERVERNAME: partners know the server by it). */
static const char *when_in_force(const char *key)
{
	if (strcmp(key, "SERVERNAME") == 0)
		return "never";
	return needs_restart(key) ? "restart" : "at once";
}

/* ---- QUERY STATUS ------------------------------------------------------------ */

struct status_counts {
	int in, out, admin, total;
};

static int count_session(const struct session_info *i, void *arg)
{
	struct status_counts *c = arg;

	c->total++;
	if (i->purpose == PURPOSE_ADMIN)
		c->admin++;
	else if (i->role == ROLE_INBOUND)
		c->in++;
	else
		c->out++;
	return 0;
}

static int count_node(const struct node_rec *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

void admin_query_status(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	const struct rpl_conf *c = &y->in->conf;
	struct status_counts sc = { 0 };
	struct name_list names = { 0 };
	char why[300] = "", level[16];
	int nodes = 0, repl_off = 0, rc;
	json_t *procs = repl_processes_json(y), *doc;
	MDB_txn *txn;

	(void)cmd;
	process_list_json(y, procs);
	(void)peer_sessions_each(y->peer, count_session, &sc);
	if ((rc = store_begin(&y->in->store, 0, &txn)) < 0) {
		json_decref(procs);
		reply(ac, admin_error(-rc, NULL));
		return;
	}
	rc = store_server_names(txn, &y->in->store, &names);
	if (rc == 0)
		rc = store_node_each(txn, &y->in->store, count_node, &nodes);
	if (rc == 0 && (repl_off = store_repl_disabled(txn, &y->in->store, why, sizeof(why))) < 0)
		rc = repl_off;
	store_abort(txn);
	free(names.names);
	if (rc < 0) {
		json_decref(procs);
		reply(ac, admin_error(-rc, NULL));
		return;
	}
	conf_value_text(c, (size_t)conf_key_index("LOGLEVEL"), level, sizeof(level));
	doc = json_pack(
		"{s:s, s:s, s:o, s:I, s:s, s:i, s:b, s:b, s:b, s:s, s:b, s:i, s:i, s:i, s:i, s:i, "
		"s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:b}",
		"server_name", c->servername, "version", REPLPEER_VERSION, "started",
		admin_time(y->started), "uptime_seconds", (json_int_t)(clock_now() - y->started),
		"tcpaddress", c->tcpaddress, "tcpport", c->tcpport, "ssltls13", c->ssltls13,
		"sslacceptcertfromserv", c->acceptcertfromserv, "allowlegacy", c->allowlegacy,
		"keytype", keytype_name(c->keytype), "renewselfsigned", c->renewselfsigned,
		"protocollevel", c->protocollevel, "maxsessions", c->maxsessions, "commtimeout",
		c->commtimeout, "handshaketimeout", c->handshaketimeout, "roundtimeout",
		c->roundtimeout, "loglevel", level, "certrenewdays", c->certrenewdays,
		"servers_defined", names.n, "sessions_inbound", sc.in, "sessions_outbound", sc.out,
		"admin_sessions", sc.admin, "processes", (int)json_array_size(procs), "nodes",
		nodes, "sessions_disabled", peer_refusing_partners(y->peer), "replication_disabled",
		repl_off > 0);
	json_decref(procs);
	if (!doc) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	/* New servers and administrators start TRANSITIONAL; the first
	 * session that meets the STRICT requirements moves them. */
	json_object_set_new(doc, "sessionsecurity_default", json_string("TRANSITIONAL"));
	if (repl_off > 0)
		json_object_set_new(doc, "replication_disabled_why", json_string(why));
	/* Where partners are told to reach this server, when it is not
	 * TCPADDRESS:TCPPORT (the options exist once SET SERVERHLADDRESS and
	 * SET SERVERLLADDRESS are built). */
	for (int k = 0; k < 2; k++) {
		static const char *const keys[] = { "SERVERHLADDRESS", "SERVERLLADDRESS" };
		static const char *const fields[] = { "serverhladdress", "serverlladdress" };
		int i = conf_key_index(keys[k]);
		char v[300];
		if (i < 0)
			continue;
		conf_value_text(c, (size_t)i, v, sizeof(v));
		if (v[0] && strcmp(v, "0") != 0)
			json_object_set_new(doc, fields[k], json_string(v));
	}
	reply(ac, doc);
}

/* ---- QUERY OPTION -------------------------------------------------------------- */

static int has_wildcard(const char *s) { return strpbrk(s, "*?") != NULL; }

/* Marks in want[] the options name selects: the exact name, else a
 * pattern with * and ?, else every option that starts with it. The
 * number selected. */
static int select_options(const char *name, char *want, size_t n)
{
	int hits = 0;

	for (size_t i = 0; i < n; i++) {
		const char *k = conf_key_name(i);
		want[i] = !name || (has_wildcard(name) ? fnmatch(name, k, FNM_CASEFOLD) == 0
						       : strncasecmp(name, k, strlen(name)) == 0);
		if (name && !has_wildcard(name) && strcasecmp(name, k) == 0) {
			memset(want, 0, n);
			want[i] = 1;
			return 1;
		}
		hits += want[i];
	}
	return hits;
}

static size_t option_count(void)
{
	size_t n = 0;
	while (conf_key_name(n))
		n++;
	return n;
}

static json_t *option_unknown(const char *name)
{
	return admin_error(RPL_E_OPTION_UNKNOWN, "%s", name);
}

void admin_query_option(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	const char *name = cmd->nwords > 2 ? cmd->words[2] : NULL;
	size_t n = option_count();
	struct rpl_conf file, defaults;
	char path[4200], err[600], want[64];
	json_t *arr;
	int rc;

	if (n > sizeof(want) || select_options(name, want, n) == 0) {
		reply(ac, option_unknown(name ? name : "?"));
		return;
	}
	/* What a restart would put in force: replpeer.conf as it is now. */
	snprintf(path, sizeof(path), "%s/replpeer.conf", y->in->dir);
	if ((rc = conf_load(path, &file, err, sizeof(err))) < 0) {
		reply(ac, admin_error(-rc, "%s: a restart would fail until it is fixed", err));
		return;
	}
	conf_defaults(&defaults);
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		char now[300], infile[300], def[300];
		const char *key = conf_key_name(i);
		if (!want[i])
			continue;
		conf_value_text(&y->in->conf, i, now, sizeof(now));
		conf_value_text(&file, i, infile, sizeof(infile));
		if (conf_key_default(i)[0])
			conf_value_text(&defaults, i, def, sizeof(def));
		else
			def[0] = 0;
		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "name", key, "value",
				       now, "default", def, "file_value", infile, "restart_needed",
				       strcmp(now, infile) != 0, "changeable", when_in_force(key),
				       "description", conf_key_help(i)));
	}
	adminsrv_reply(ac, arr,
		       json_pack("[s,s,s,s,s]", "name", "value", "default", "restart_needed",
				 "changeable"));
}

/* ---- SETOPT -------------------------------------------------------------------- */

struct opt_change {
	char key[32];
	char old[300], value[300];
	int restart;
};

static int setopt_work(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	struct opt_change *o = arg;

	(void)detail;
	(void)dsz;
	return store_actlog_add(txn, st, o->restart ? RPL_W_OPTION_RESTART : RPL_I_OPTION_SET,
				"option %s changed from %s to %s by the administrator%s", o->key,
				o->old[0] ? o->old : "(none)", o->value,
				o->restart ? ": in force after a restart" : "");
}

/* The SET command that owns an option (SET ACTLOGRETENTION, SET LDAPURL...,
 * whichever the command table has with a handler): its checks, its
 * activity-log entry and what it does at once (LDAP verdicts cached under
 * the old setting are dropped; entries older than a new retention go). */
static const struct admin_command *set_command_of(const char *key)
{
	const struct admin_command *all;
	char want[48], name[64];
	size_t n;

	snprintf(want, sizeof(want), "SET %s", key);
	all = admin_commands(&n);
	for (size_t i = 0; i < n; i++) {
		if (!all[i].fn)
			continue;
		admin_command_name(&all[i], name, sizeof(name));
		if (strcmp(name, want) == 0)
			return &all[i];
	}
	return NULL;
}

/* Runs SET key value as if it had been typed: parsed and resolved by the
 * table (the value quoted, so that '=' in a DN stays in it; YES and NO
 * given for an ON|OFF keyword), with that command's reply. */
static void run_set_command(struct sync *y, struct admin_client *ac,
			    const struct admin_command *set, const char *key, const char *value)
{
	struct admin_cmd *sub = calloc(1, sizeof(*sub));
	const struct admin_command *c;
	char line[600], err[600] = "";
	char q = strchr(value, '"') ? '\'' : '"';
	int rc;

	if (!sub) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	if (strstr(set->syntax, "ON|OFF") && strcasecmp(value, "YES") == 0)
		value = "ON";
	else if (strstr(set->syntax, "ON|OFF") && strcasecmp(value, "NO") == 0)
		value = "OFF";
	if (strchr(value, q) ||
	    (size_t)snprintf(line, sizeof(line), "SET %s %c%s%c", key, q, value, q) >= sizeof(line))
		rc = -RPL_E_ADMIN_PARAM;
	else if ((rc = admin_parse(line, sub, err, sizeof(err))) == 0)
		rc = admin_resolve(sub, &c, err, sizeof(err));
	if (rc < 0)
		reply(ac, admin_error(-rc, "%s value not accepted: %s", key,
				      rc == -RPL_E_ADMIN_PARAM && !err[0] ? value : err));
	else
		c->fn(y, ac, sub);
	free(sub);
}

/* An option's name as SETOPT takes it: in full or an unambiguous prefix. */
static int resolve_option(const char *name, int *index, char *err, size_t errsz)
{
	size_t n = option_count(), len = strlen(name);
	int found = -1, hits = 0;
	char cands[400] = "";

	if (has_wildcard(name)) {
		snprintf(err, errsz, "%s: SETOPT changes one option; name it without * or ?", name);
		return -RPL_E_ADMIN_PARAM;
	}
	for (size_t i = 0; i < n; i++) {
		const char *k = conf_key_name(i);
		size_t used = strlen(cands);
		if (strcasecmp(name, k) == 0) {
			*index = (int)i;
			return 0;
		}
		if (strncasecmp(name, k, len) != 0)
			continue;
		found = (int)i;
		hits++;
		snprintf(cands + used, sizeof(cands) - used, "%s%s", used ? ", " : "", k);
	}
	if (hits == 1) {
		*index = found;
		return 0;
	}
	if (hits > 1) {
		snprintf(err, errsz, "%.60s could be %s", name, cands);
		return -RPL_E_AMBIGUOUS;
	}
	snprintf(err, errsz, "%s", name);
	return -RPL_E_OPTION_UNKNOWN;
}

void admin_setopt(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct rpl_conf next = y->in->conf;
	const struct admin_command *set;
	struct opt_change *o;
	char err[600];
	const char *key;
	int i, rc;

	if (cmd->nwords != 3 || cmd->nparams) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "SETOPT option_name value"));
		return;
	}
	if ((rc = resolve_option(cmd->words[1], &i, err, sizeof(err))) < 0) {
		reply(ac, admin_error(-rc, "%s", err));
		return;
	}
	key = conf_key_name((size_t)i);
	if (strcmp(key, "SERVERNAME") == 0) {
		reply(ac, admin_error(RPL_E_OPTION_FIXED, "SERVERNAME stays %s",
				      y->in->conf.servername));
		return;
	}
	if ((set = set_command_of(key))) {
		run_set_command(y, ac, set, key, cmd->words[2]);
		return;
	}
	/* Checked as replpeer.conf is read, before anything is written. */
	if ((rc = conf_set(&next, key, cmd->words[2], err, sizeof(err))) < 0) {
		reply(ac, admin_error(RPL_E_ADMIN_PARAM, "%s; replpeer.conf not changed", err));
		return;
	}
	if (!(o = calloc(1, sizeof(*o)))) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	snprintf(o->key, sizeof(o->key), "%s", key);
	conf_value_text(&y->in->conf, (size_t)i, o->old, sizeof(o->old));
	/* One spelling in the file: 007 is written 7, yes YES, 65536M 64G. */
	conf_value_text(&next, (size_t)i, o->value, sizeof(o->value));
	o->restart = needs_restart(key);
	/* replpeer.conf first (atomically, comments and mode kept): a
	 * failure changes nothing, and a restart keeps the new value. */
	if ((rc = instance_update_conf(y->in, key, o->value, err, sizeof(err))) < 0) {
		log_code(rc, "SETOPT %s: %s", key, err);
		reply(ac, admin_error(-rc, "replpeer.conf not updated: %s", err));
		free(o);
		return;
	}
	if (o->restart) {
		log_warn(RPL_W_OPTION_RESTART,
			 "option %s set to %s in replpeer.conf by the administrator; %s stays in "
			 "force until a restart",
			 key, o->value, o->old);
		admin_write(
			y, ac, setopt_work, o, free,
			admin_ok(RPL_W_OPTION_RESTART,
				 "%s is %s in replpeer.conf; %s stays in force until the server "
				 "restarts",
				 key, o->value, o->old),
			NULL);
		return;
	}
	(void)conf_set(&y->in->conf, key, o->value, err, sizeof(err));
	if (strcmp(key, "LOGLEVEL") == 0)
		log_set_level(y->in->conf.loglevel);
	log_info(RPL_I_OPTION_SET, "option %s changed from %s to %s by the administrator", key,
		 o->old[0] ? o->old : "(none)", o->value);
	admin_write(y, ac, setopt_work, o, free,
		    admin_ok(RPL_I_OPTION_SET,
			     "%s is %s (was %s); replpeer.conf updated, in force now", key,
			     o->value, o->old[0] ? o->old : "not set"),
		    NULL);
}

/* ---- CANCEL SESSION ------------------------------------------------------------ */

struct session_find {
	uint64_t id;
	int found;
	char what[200];
};

static int find_session(const struct session_info *i, void *arg)
{
	struct session_find *f = arg;

	if (i->id != f->id)
		return 0;
	f->found = 1;
	snprintf(f->what, sizeof(f->what), "%s %s session %s %s (%s)", purpose_name(i->purpose),
		 i->role == ROLE_INBOUND ? "inbound" : "outbound",
		 i->role == ROLE_INBOUND ? "from" : "to", i->server[0] ? i->server : "?", i->addr);
	return 1;
}

void admin_cancel_session(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct session_find f = { 0 };
	char *end, why[300];

	if (cmd->nwords != 3 || cmd->nparams) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "CANCEL SESSION n"));
		return;
	}
	f.id = strtoull(cmd->words[2], &end, 10);
	if (*end || !f.id || cmd->words[2][0] == '-') {
		reply(ac, admin_error(RPL_E_ADMIN_PARAM,
				      "'%s' is not a session number: QUERY SESSION shows them",
				      cmd->words[2]));
		return;
	}
	(void)peer_sessions_each(y->peer, find_session, &f);
	snprintf(why, sizeof(why), "session %llu ended by the administrator of %s (CANCEL SESSION)",
		 (unsigned long long)f.id, y->in->conf.servername);
	if (!f.found || peer_session_cancel(y->peer, f.id, RPL_E_SESSION_CANCELLED, why) < 0) {
		reply(ac,
		      admin_error(RPL_E_SESSION_UNKNOWN, "session %llu", (unsigned long long)f.id));
		return;
	}
	log_info(RPL_I_SESSION_CANCEL, "session %llu (%s) cancelled by the administrator",
		 (unsigned long long)f.id, f.what);
	peer_actlog(y->peer, RPL_I_SESSION_CANCEL,
		    "session %llu (%s) cancelled by the administrator", (unsigned long long)f.id,
		    f.what);
	reply(ac, admin_ok(RPL_I_SESSION_CANCEL, "session %llu (%s) cancelled",
			   (unsigned long long)f.id, f.what));
}

/* ---- DISABLE SESSIONS, ENABLE SESSIONS ----------------------------------------- */

static void able_sessions(struct sync *y, struct admin_client *ac, int enable)
{
	int was = !peer_refusing_partners(y->peer);
	int code = enable ? RPL_I_SESSIONS_ENABLED : RPL_I_SESSIONS_DISABLED;

	peer_refuse_partners(y->peer, !enable);
	log_code(code, "sessions from partners %s by the administrator%s",
		 enable ? "enabled" : "disabled", was == enable ? " (they already were)" : "");
	peer_actlog(y->peer, code, "sessions from partners %s by the administrator",
		    enable ? "enabled" : "disabled");
	if (enable)
		reply(ac, admin_ok(code, "sessions from partners are accepted%s",
				   was ? " (they already were)" : " again"));
	else
		reply(ac, admin_ok(code,
				   "new sessions from partners are refused (RPL1239E) until ENABLE "
				   "SESSIONS or a restart; running sessions go on, sessions to "
				   "partners and administrator sessions are not affected%s",
				   was ? "" : " (they already were)"));
}

void admin_disable_sessions(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	(void)cmd;
	able_sessions(y, ac, 0);
}

void admin_enable_sessions(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	(void)cmd;
	able_sessions(y, ac, 1);
}
