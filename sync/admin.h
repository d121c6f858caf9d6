/*
 * sync/admin: the admin command language — tokenizing (keywords are
 * case-insensitive, KEY=value parameters, values may be quoted), dispatch,
 * and the JSON documents that answer. Every handler answers exactly once
 * through adminsrv_reply, possibly later (PING waits for its session).
 * Every state change is written to the activity log in its transaction.
 */
#ifndef RPL_SYNC_ADMIN_H
#define RPL_SYNC_ADMIN_H

#include <jansson.h>
#include <lmdb.h>

#include "../store/env.h"

struct sync;
struct admin_client;

#define ADMIN_MAXTOK 32

struct admin_cmd {
	char *words[ADMIN_MAXTOK]; /* positional words: verb, object, name... */
	int nwords;
	char *keys[ADMIN_MAXTOK]; /* KEY=value parameters, in order */
	char *vals[ADMIN_MAXTOK];
	int nparams;
	char buf[4096];
	char names[2048]; /* keywords in full, once admin_resolve ran */
};

/* Splits a command line; -RPL_E_ADMIN_SYNTAX with err filled on failure. */
int admin_parse(const char *line, struct admin_cmd *cmd, char *err, size_t errsz);
/* The value of parameter key (case-insensitive), or NULL. */
const char *admin_param(const struct admin_cmd *cmd, const char *key);
/* NULL when every parameter is one of the NULL-terminated allowed list,
 * else an error document naming the stranger. */
json_t *admin_check_params(const struct admin_cmd *cmd, const char *const *allowed);

typedef void admin_handler(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd);

/* One command of the table (sync/commands.def, sync/admin_lang.c): its
 * syntax in the anchor product's notation (capitals = the shortest
 * abbreviation), its handler (NULL: not in this version), its help. */
struct admin_command {
	const char *syntax;
	admin_handler *fn;
	const char *help;
};
const struct admin_command *admin_commands(size_t *n);
/* Resolves a parsed command by the table: the verb, object, parameter
 * names and keyword values may be abbreviated to their capitals and are
 * replaced by their full names in capitals; unknown, ambiguous, duplicated
 * and missing parameters and extra words are refused. 0 with *c set, or a
 * negative code (a usage error: rpl_msg_exit_status 2) with err filled. */
int admin_resolve(struct admin_cmd *cmd, const struct admin_command **c, char *err, size_t errsz);
/* Whether positional word i (the verb is 0) or parameter key of command c
 * is a password. */
int admin_word_secret(const struct admin_command *c, int i);
int admin_param_secret(const struct admin_command *c, const char *key);
/* "QUERY SERVER" */
void admin_command_name(const struct admin_command *c, char *out, size_t sz);
/* How word abbreviates keyword kw written with its capitals ("DATAonly"):
 * 2 = at least the capitals, 1 = a shorter prefix, 0 = not at all. */
int admin_abbrev(const char *word, const char *kw);
/* HELP's document for a resolved HELP command; *columns for a table. */
json_t *admin_help_doc(const struct admin_cmd *cmd, json_t **columns);

/* Runs one command line for an admin client. */
void admin_exec(struct sync *y, struct admin_client *ac, const char *line);

/* A write for a command, through the database writer: work runs on a pool
 * thread in its own transaction (it may touch only arg); then the reply
 * is ok (stolen) when work returned 0 (none when ok is NULL: after
 * answers then), else an error document with the detail work wrote, and
 * after (may be NULL) runs on the loop with the result. arg is freed with
 * free_arg (may be NULL) after that. */
typedef int admin_work_fn(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t detailsz);
void admin_write(struct sync *y, struct admin_client *ac, admin_work_fn *work, void *arg,
		 void (*free_arg)(void *arg), json_t *ok,
		 void (*after)(struct sync *y, int rc, void *arg));

/* Documents. */
json_t *admin_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
json_t *admin_ok(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ISO 8601 string, or JSON null for 0. */
json_t *admin_time(int64_t t);
/* The fields of every certificate document (QUERY CERTIFICATE, 'replpeer
 * cert show' and 'cert list'), so that one field has one name: label,
 * state, validity, fingerprint, subject, issuer, not_before, not_after,
 * days_left, key_type, serial, san, ca_signed. */
struct certinfo;
json_t *admin_cert_json(const struct certinfo *ci, const char *label, const char *state);

/* QUERY ACTLOG's document: an array of at most 1,000 entries, oldest first
 * (plus a note when more matched), or an error document; *columns gets the
 * table columns (NULL with an error). */
json_t *admin_actlog_doc(struct store *st, struct admin_cmd *cmd, json_t **columns);

/* Handlers, by family (sync/admin_server.c, sync/admin_query.c,
 * sync/admin_actlog.c, sync/admin_lang.c). */
admin_handler admin_define_server, admin_update_server, admin_delete_server, admin_query_server,
	admin_ping_server, admin_set_serverpassword, admin_query_session, admin_query_actlog,
	admin_query_certificate, admin_renew_certificate, admin_halt, admin_set_actlogretention;
/* sync/crossdef.c */
admin_handler admin_set_serverhladdress, admin_set_serverlladdress, admin_set_crossdefine;
/* sync/admin_ldap.c */
admin_handler admin_set_ldapurl, admin_set_ldapuserdn, admin_set_ldapcalabel, admin_test_ldap;
/* sync/admin_admins.c */
admin_handler admin_register_admin, admin_update_admin, admin_remove_admin, admin_lock_admin,
	admin_unlock_admin, admin_query_admin;
/* The class a command needs (store/admin.h ADMIN_CLASS_*), from the one
 * table of what an OPERATOR may run. */
int admin_class_needed(const struct admin_cmd *cmd);
/* The command as the activity log shows it: password values masked. */
void admin_cmd_redacted(const struct admin_cmd *cmd, const struct admin_command *c, char *out,
			size_t sz);

/* sync/admin_control.c */
admin_handler admin_query_status, admin_query_option, admin_setopt, admin_cancel_session,
	admin_disable_sessions, admin_enable_sessions;
/* sync/admin_node.c */
admin_handler admin_register_node, admin_remove_node, admin_query_node;
/* sync/admin_lang.c */
admin_handler admin_help, admin_quit;
/* sync/admin_repl.c */
admin_handler admin_replicate_node, admin_query_replication, admin_query_replnode,
	admin_remove_replnode, admin_enable_replication, admin_disable_replication,
	admin_set_replserver, admin_query_process, admin_cancel_process;
/* sync/admin_schedule.c */
admin_handler admin_define_schedule, admin_update_schedule, admin_delete_schedule,
	admin_query_schedule;
/* "30m", "2h", "45s" (allow_s), "1d" (allow_d) or plain seconds (allow_s)
 * in seconds; 0 when not valid. */
int64_t admin_parse_span(const char *v, int allow_s, int allow_d);

#endif
