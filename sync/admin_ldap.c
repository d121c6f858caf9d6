/* Admin commands about LDAP authentication of administrators: SET LDAPURL,
 * SET LDAPUSERDN and SET LDAPCALABEL (checked, written to replpeer.conf
 * first, then in effect without a restart and in the activity log), and
 * TEST LDAP, which connects as a sign-on would and reports the server's
 * chain, every check and, for an administrator, whether the bind succeeds.
 * A password given to TEST LDAP is copied by peer/ldap and never logged;
 * SIGNON=YES runs the check a sign-on makes (ldap_check, with its cache). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../peer/ldap.h"
#include "../store/actlog.h"
#include "../store/trust.h"
#include "../util/clock.h"
#include "../util/escape.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "admin.h"
#include "sync.h"

static void reply(struct admin_client *ac, json_t *doc) { adminsrv_reply(ac, doc, NULL); }

/*
 * The value of a SET command. A value with '=' in it (every DN does) comes
 * back from the tokenizer as a KEY=value parameter when it was not quoted:
 * "SET LDAPUSERDN uid=%s,dc=example" is the word LDAPUSERDN and the
 * parameter uid = "%s,dc=example"; it is joined again here.
 */
static int one_value(const struct admin_cmd *cmd, int words, char *out, size_t outsz)
{
	int n;

	if (cmd->nwords == words + 1 && cmd->nparams == 0)
		n = snprintf(out, outsz, "%s", cmd->words[words]);
	else if (cmd->nwords == words && cmd->nparams == 1)
		n = snprintf(out, outsz, "%s=%s", cmd->keys[0], cmd->vals[0]);
	else
		return -RPL_E_ADMIN_SYNTAX;
	return n < 0 || (size_t)n >= outsz ? -RPL_E_ADMIN_SYNTAX : 0;
}

/* ---- SET LDAPURL / LDAPUSERDN / LDAPCALABEL ------------------------------------ */

struct ldap_set {
	char key[16];
	char old[300];
	char value[300];
};

static int set_work(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	struct ldap_set *s = arg;
	(void)detail;
	(void)dsz;
	return store_actlog_add(txn, st, RPL_I_LDAP_SET,
				"%s changed from '%s' to '%s' by the administrator", s->key, s->old,
				s->value);
}

/* replpeer.conf is where options live: it is written first, so a failure
 * changes nothing, and a restart keeps the new value. Then the running
 * daemon uses it, cached LDAP verdicts are dropped (they were made under
 * the old setting), and the activity log records it. */
static void apply_setting(struct sync *y, struct admin_client *ac, const char *key, char *field,
			  size_t fieldsz, const char *value)
{
	struct ldap_set *s;
	char err[512];
	int rc;

	if (strlen(value) >= fieldsz) {
		reply(ac, admin_error(RPL_E_ADMIN_PARAM, "%s is longer than %zu characters", key,
				      fieldsz - 1));
		return;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	snprintf(s->key, sizeof(s->key), "%s", key);
	snprintf(s->old, sizeof(s->old), "%s", field);
	snprintf(s->value, sizeof(s->value), "%s", value);
	if ((rc = instance_update_conf(y->in, key, value, err, sizeof(err))) < 0) {
		log_code(rc, "SET %s: %s", key, err);
		reply(ac, admin_error(-rc, "replpeer.conf not updated: %s", err));
		free(s);
		return;
	}
	snprintf(field, fieldsz, "%s", value);
	ldap_cache_clear(y->ldap);
	log_info(RPL_I_LDAP_SET, "%s changed from '%s' to '%s' by the administrator", key, s->old,
		 value);
	admin_write(y, ac, set_work, s, free,
		    admin_ok(RPL_I_LDAP_SET,
			     "%s is %s (was %s); replpeer.conf updated, in effect now", key, value,
			     s->old[0] ? s->old : "not set"),
		    NULL);
}

void admin_set_ldapurl(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct ldap_url u;
	char url[300], err[400];
	int rc;

	if (one_value(cmd, 2, url, sizeof(url)) < 0) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX,
				      "SET LDAPURL ldaps://host[:port] | ldap://host[:port]"));
		return;
	}
	if ((rc = ldap_url_parse(url, &u, err, sizeof(err))) < 0) {
		reply(ac, admin_error(-rc, "%s", err));
		return;
	}
	apply_setting(y, ac, "LDAPURL", y->in->conf.ldapurl, sizeof(y->in->conf.ldapurl), url);
}

void admin_set_ldapuserdn(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	char tmpl[300], err[400];
	int rc;

	if (one_value(cmd, 2, tmpl, sizeof(tmpl)) < 0) {
		reply(ac,
		      admin_error(
			      RPL_E_ADMIN_SYNTAX,
			      "SET LDAPUSERDN template (%%s = the administrator's name), e.g. SET LDAPUSERDN uid=%%s,ou=people,dc=example,dc=com"));
		return;
	}
	if ((rc = ldap_userdn_check(tmpl, err, sizeof(err))) < 0) {
		reply(ac, admin_error(-rc, "%s", err));
		return;
	}
	apply_setting(y, ac, "LDAPUSERDN", y->in->conf.ldapuserdn, sizeof(y->in->conf.ldapuserdn),
		      tmpl);
}

/* The label must name an anchor of purpose ldap now: a peer anchor would
 * never vouch for the LDAP server, and a typo would only show at the next
 * sign-on. */
void admin_set_ldapcalabel(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct trust_anchor t;
	char label[300];
	MDB_txn *txn;
	int rc;

	if (one_value(cmd, 2, label, sizeof(label)) < 0 || strlen(label) > TRUST_LABEL_MAX) {
		reply(ac,
		      admin_error(
			      RPL_E_ADMIN_SYNTAX,
			      "SET LDAPCALABEL label (a trust anchor imported with --purpose ldap, at most %d characters)",
			      TRUST_LABEL_MAX));
		return;
	}
	if ((rc = store_begin(&y->in->store, 0, &txn)) < 0) {
		reply(ac, admin_error(-rc, NULL));
		return;
	}
	rc = store_trust_get(txn, &y->in->store, label, &t);
	store_abort(txn);
	if (rc == -RPL_E_NOTFOUND) {
		reply(ac, admin_error(RPL_E_LDAP_ANCHOR, "no trust anchor is labelled %s", label));
		return;
	}
	if (rc < 0) {
		reply(ac, admin_error(-rc, NULL));
		return;
	}
	if (t.purpose != TRUST_LDAP) {
		reply(ac,
		      admin_error(
			      RPL_E_LDAP_ANCHOR,
			      "trust anchor %s is of purpose %s: it never vouches for the LDAP server",
			      label, trust_purpose_name(t.purpose)));
		trust_anchor_free(&t);
		return;
	}
	trust_anchor_free(&t);
	apply_setting(y, ac, "LDAPCALABEL", y->in->conf.ldapcalabel,
		      sizeof(y->in->conf.ldapcalabel), label);
}

/* ---- TEST LDAP ------------------------------------------------------------------- */

static json_t *report_json(const struct ldap_report *r)
{
	json_t *chain = json_array(), *checks = json_array(), *j;

	for (int i = 0; i < r->ncerts; i++) {
		const struct ldap_report_cert *c = &r->certs[i];
		json_array_append_new(chain,
				      json_pack("{s:s, s:s, s:o, s:o, s:s, s:s}", "subject",
						c->subject, "issuer", c->issuer, "not_before",
						admin_time(c->not_before), "not_after",
						admin_time(c->not_after), "fingerprint",
						c->fingerprint, "sans", c->sans));
	}
	for (int i = 0; i < r->nchecks; i++)
		json_array_append_new(checks,
				      json_pack("{s:s, s:s, s:s}", "check", r->checks[i].name,
						"verdict", r->checks[i].ok ? "passed" : "refused",
						"detail", r->checks[i].detail));
	j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:o, s:o, s:b, s:s, s:o, s:o, s:i}", "url", r->url,
		      "host", r->host, "port", r->port, "method",
		      r->starttls ? "StartTLS" : "ldaps", "address", r->address, "tls_version",
		      r->tls_version[0] ? json_string(r->tls_version) : json_null(), "cipher",
		      r->cipher[0] ? json_string(r->cipher) : json_null(), "trusted", r->trusted,
		      "anchors", r->anchors, "chain", chain, "checks", checks, "elapsed_ms",
		      (int)r->ms);
	if (r->admin[0])
		json_object_set_new(
			j, "bind",
			json_pack("{s:s, s:s, s:b, s:o, s:b, s:b}", "admin", r->admin, "dn",
				  r->bind_dn, "sent", r->bind_sent, "result_code",
				  r->bind_result >= 0 ? json_integer(r->bind_result) : json_null(),
				  "ok", r->rc == 0 && (r->bind_result == 0 || r->cached), "cached",
				  r->cached));
	return j;
}

static void test_done(const struct ldap_report *r, void *arg)
{
	struct admin_client *ac = arg;
	json_t *doc = r->rc == 0 ? admin_ok(RPL_I_LDAP_OK, "%s", r->message)
				 : admin_error(-r->rc, "%s", r->message);
	json_t *rep = report_json(r);

	json_object_update(doc, rep);
	json_decref(rep);
	if (!r->logged)
		log_code(r->rc ? r->rc : RPL_I_LDAP_OK, "TEST LDAP%s%s: %s", r->admin[0] ? " " : "",
			 r->admin, r->message);
	adminsrv_reply(ac, doc, NULL);
	adminsrv_release(ac);
}

/* The password of TEST LDAP name password: the fourth word, or a
 * KEY=value parameter when it held a '=' and was not quoted. SIGNON= is
 * TEST LDAP's own parameter. */
static int test_password(const struct admin_cmd *cmd, const char *signon, char *out, size_t outsz)
{
	int others = cmd->nparams - (signon != NULL), n = -1;

	if (cmd->nwords == 4 && others == 0)
		n = snprintf(out, outsz, "%s", cmd->words[3]);
	for (int i = 0; cmd->nwords == 3 && others == 1 && i < cmd->nparams; i++)
		if (strcasecmp(cmd->keys[i], "SIGNON") != 0)
			n = snprintf(out, outsz, "%s=%s", cmd->keys[i], cmd->vals[i]);
	return n < 0 || (size_t)n >= outsz ? -RPL_E_ADMIN_SYNTAX : 0;
}

void admin_test_ldap(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	const char *admin = cmd->nwords > 2 ? cmd->words[2] : NULL;
	const char *signon = admin_param(cmd, "SIGNON");
	char pw[LDAP_PASSWORD_MAX + 1];
	int rc, as_signon = 0;

	if (cmd->nwords > 4 || (!admin && cmd->nparams)) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX,
				      "TEST LDAP [adminname password|- [SIGNON=YES]]"));
		return;
	}
	if (signon) {
		if (strcasecmp(signon, "YES") != 0 && strcasecmp(signon, "NO") != 0) {
			reply(ac, admin_error(RPL_E_ADMIN_PARAM, "SIGNON must be YES or NO"));
			return;
		}
		as_signon = strcasecmp(signon, "YES") == 0;
	}
	if (admin && test_password(cmd, signon, pw, sizeof(pw)) < 0) {
		secure_zero(pw, sizeof(pw));
		reply(ac,
		      admin_error(
			      RPL_E_ADMIN_SYNTAX,
			      "TEST LDAP %s needs the password: 'TEST LDAP %s -' asks for it without echo",
			      ESC(admin), ESC(admin)));
		return;
	}
	if (!y->ldap) {
		secure_zero(pw, sizeof(pw));
		reply(ac, admin_error(RPL_E_INTERNAL, "the LDAP client is not running"));
		return;
	}
	adminsrv_hold(ac);
	/* SIGNON=YES: the check a sign-on makes (ldap_check), cache included. */
	rc = as_signon ? ldap_check(y->ldap, admin, pw, test_done, ac)
		       : ldap_test(y->ldap, admin, admin ? pw : NULL, test_done, ac);
	secure_zero(pw, sizeof(pw));
	if (rc < 0) {
		adminsrv_release(ac);
		reply(ac, admin_error(-rc, NULL));
	}
}
