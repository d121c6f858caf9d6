/* The admin language's grammar: the command table (sync/commands.def), read
 * in the anchor product's notation, resolves abbreviated keywords,
 * parameter names and keyword values to their full names, and refuses
 * unknown, ambiguous, duplicated and missing parameters before a handler
 * runs. HELP answers from the same table. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../util/msg.h"
#include "admin.h"

static const struct admin_command commands[] = {
#define CMD(syntax, fn, help) { syntax, fn, help },
#include "commands.def"
#undef CMD
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

const struct admin_command *admin_commands(size_t *n)
{
	*n = NCOMMANDS;
	return commands;
}

/* ---- the notation ------------------------------------------------------ */

enum { SI_KEYWORD, SI_VALUE, SI_PARAM };

/* One item of a syntax line. Spans point into the table's strings. */
struct syn_item {
	int kind;
	int optional;
	const char *name; /* keyword, placeholder, or the parameter's key */
	size_t namelen;
	const char *vals; /* SI_VALUE, SI_PARAM: "Yes|No" or a placeholder */
	size_t valslen;
	int enumerated; /* vals are keywords */
};

/* The next item of *p; 0 at the end. The leading capitalised words without
 * '|' are the command's keywords (verb, object); then a word with '=' is a
 * parameter and any other a positional value. */
static int syn_next(const char **p, int *leading, struct syn_item *it)
{
	const char *s = *p, *e, *eq;

	while (*s == ' ')
		s++;
	if (!*s)
		return 0;
	e = s + strcspn(s, " ");
	*p = e;
	memset(it, 0, sizeof(*it));
	if (*s == '[' && e[-1] == ']') {
		it->optional = 1;
		s++;
		e--;
	}
	eq = memchr(s, '=', (size_t)(e - s));
	if (*leading && !eq && isupper((unsigned char)*s) && !memchr(s, '|', (size_t)(e - s)) &&
	    !it->optional) {
		it->kind = SI_KEYWORD;
		it->name = s;
		it->namelen = (size_t)(e - s);
		return 1;
	}
	*leading = 0;
	if (eq) {
		it->kind = SI_PARAM;
		it->name = s;
		it->namelen = (size_t)(eq - s);
		it->vals = eq + 1;
		it->valslen = (size_t)(e - eq - 1);
	} else {
		it->kind = SI_VALUE;
		it->name = it->vals = s;
		it->namelen = it->valslen = (size_t)(e - s);
	}
	it->enumerated = isupper((unsigned char)*it->vals);
	return 1;
}

/* Capitals of a keyword: its shortest abbreviation. */
static size_t kw_min(const char *kw, size_t n)
{
	size_t i = 0;
	while (i < n && !islower((unsigned char)kw[i]))
		i++;
	return i;
}

static int span_match(const char *word, const char *kw, size_t n)
{
	size_t w = strlen(word);

	if (w == 0 || w > n || strncasecmp(word, kw, w) != 0)
		return 0;
	return w >= kw_min(kw, n) ? 2 : 1;
}

int admin_abbrev(const char *word, const char *kw) { return span_match(word, kw, strlen(kw)); }

/* A keyword in capitals, with its abbreviation: "SERVER (SE)". */
static void describe(char *out, size_t sz, const char *kw, size_t n)
{
	char full[64];
	size_t m = kw_min(kw, n), i;

	for (i = 0; i < n && i + 1 < sizeof(full); i++)
		full[i] = (char)toupper((unsigned char)kw[i]);
	full[i] = 0;
	if (m == n)
		snprintf(out, sz, "%s", full);
	else
		snprintf(out, sz, "%s (%.*s)", full, (int)m, full);
}

/* Appends to a bounded text. */
static void addf(char *out, size_t sz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void addf(char *out, size_t sz, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;

	if (n + 1 >= sz)
		return;
	va_start(ap, fmt);
	vsnprintf(out + n, sz - n, fmt, ap);
	va_end(ap);
}

struct span {
	const char *p;
	size_t n;
};

/* Picks the candidate word stands for: the one it abbreviates to at least
 * its capitals (the abbreviation that stays valid in later versions); else
 * the only one it is a shorter prefix of, if that keyword may be
 * abbreviated at all (capitals only, like HALT: no). Its index; -1 with err
 * naming the candidates when word is ambiguous or too short; -2 when it
 * fits none. */
static int pick(const char *word, const struct span *cand, int n, char *err, size_t errsz)
{
	int full = -1, nfull = 0, prefix = -1, nprefix = 0;

	for (int i = 0; i < n; i++) {
		int m = span_match(word, cand[i].p, cand[i].n);
		if (m == 2) {
			full = i;
			nfull++;
		} else if (m == 1) {
			prefix = i;
			nprefix++;
		}
	}
	if (nfull == 1)
		return full;
	if (nfull == 0 && nprefix == 1 && kw_min(cand[prefix].p, cand[prefix].n) < cand[prefix].n)
		return prefix;
	if (nfull + nprefix == 0)
		return -2;
	snprintf(err, errsz,
		 nfull + nprefix > 1 ? "'%s' could be "
				     : "'%s' is shorter than the abbreviation of ",
		 word);
	for (int i = 0, k = 0; i < n; i++) {
		char d[96];
		if (span_match(word, cand[i].p, cand[i].n) == 0)
			continue;
		describe(d, sizeof(d), cand[i].p, cand[i].n);
		addf(err, errsz, "%s%s", k++ ? ", " : "", d);
	}
	return -1;
}

/* The alternatives of "Yes|No" as spans. */
static int split_alts(const char *v, size_t n, struct span *out, int max)
{
	int k = 0;
	const char *end = v + n;

	while (v < end && k < max) {
		const char *bar = memchr(v, '|', (size_t)(end - v));
		const char *stop = bar ? bar : end;
		out[k++] = (struct span){ v, (size_t)(stop - v) };
		v = bar ? bar + 1 : end;
	}
	return k;
}

/* "server_name" -> "server name" */
static void placeholder_text(char *out, size_t sz, const char *p, size_t n)
{
	size_t i;
	for (i = 0; i < n && i + 1 < sz; i++)
		out[i] = p[i] == '_' ? ' ' : p[i];
	out[i] = 0;
}

/* ---- resolving a command -------------------------------------------------- */

/* Writes the full name of a keyword in capitals into cmd->names; NULL when
 * it does not fit. */
static char *put_name(struct admin_cmd *cmd, size_t *used, const char *kw, size_t n)
{
	char *out;

	if (*used + n + 1 > sizeof(cmd->names))
		return NULL;
	out = cmd->names + *used;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)toupper((unsigned char)kw[i]);
	out[n] = 0;
	*used += n + 1;
	return out;
}

/* The leading keywords of a command: verb and, when it has one, object. */
static int command_keywords(const struct admin_command *c, struct span *verb, struct span *object)
{
	const char *p = c->syntax;
	int lead = 1;
	struct syn_item it;

	object->p = NULL;
	object->n = 0;
	if (!syn_next(&p, &lead, &it) || it.kind != SI_KEYWORD)
		return -1;
	*verb = (struct span){ it.name, it.namelen };
	if (syn_next(&p, &lead, &it) && it.kind == SI_KEYWORD)
		*object = (struct span){ it.name, it.namelen };
	return 0;
}

void admin_command_name(const struct admin_command *c, char *out, size_t sz)
{
	struct span v, o;
	size_t i = 0;

	out[0] = 0;
	if (command_keywords(c, &v, &o) < 0)
		return;
	for (size_t k = 0; k < v.n && i + 1 < sz; k++)
		out[i++] = (char)toupper((unsigned char)v.p[k]);
	if (o.n && i + 1 < sz)
		out[i++] = ' ';
	for (size_t k = 0; k < o.n && i + 1 < sz; k++)
		out[i++] = (char)toupper((unsigned char)o.p[k]);
	out[i] = 0;
}

#define MAXCAND 64

/* Finds the commands a verb (and object) name: fills which[] with their
 * indexes. A negative code with err filled when the words name none. */
static int find_commands(const char *verb_word, const char *object_word, int *which, int *nwhich,
			 int *used_object, char *err, size_t errsz)
{
	struct span verbs[MAXCAND], objs[MAXCAND], v, o;
	int nverbs = 0, nobjs = 0, vi, oi, no_object = -1;

	*nwhich = 0;
	*used_object = 0;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		int seen = 0;
		if (command_keywords(&commands[i], &v, &o) < 0)
			continue;
		for (int k = 0; k < nverbs && !seen; k++)
			seen = verbs[k].n == v.n && strncasecmp(verbs[k].p, v.p, v.n) == 0;
		if (!seen && nverbs < MAXCAND)
			verbs[nverbs++] = v;
	}
	vi = pick(verb_word, verbs, nverbs, err, errsz);
	if (vi == -2) {
		snprintf(err, errsz, "'%s' is not a command; HELP lists them", verb_word);
		return -RPL_E_ADMIN_SYNTAX;
	}
	if (vi < 0)
		return -RPL_E_AMBIGUOUS;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (command_keywords(&commands[i], &v, &o) < 0 || v.n != verbs[vi].n ||
		    strncasecmp(v.p, verbs[vi].p, v.n) != 0)
			continue;
		if (*nwhich == MAXCAND)
			break; /* more commands of one verb than any table has */
		if (o.n == 0)
			no_object = (int)i;
		else
			objs[nobjs++] = o;
		which[(*nwhich)++] = (int)i;
	}
	if (nobjs == 0)
		return 0; /* HALT, HELP, SETOPT...: the command is the verb */
	if (!object_word) {
		if (no_object >= 0) {
			which[0] = no_object;
			*nwhich = 1;
			return 0;
		}
		describe(err, errsz, verbs[vi].p, verbs[vi].n);
		addf(err, errsz, " of what? ");
		for (int k = 0; k < nobjs; k++) {
			char d[96];
			describe(d, sizeof(d), objs[k].p, objs[k].n);
			addf(err, errsz, "%s%s", k ? ", " : "", d);
		}
		return -RPL_E_MISSING_PARAM;
	}
	oi = pick(object_word, objs, nobjs, err, errsz);
	if (oi == -1)
		return -RPL_E_AMBIGUOUS;
	if (oi == -2) {
		char d[96];
		describe(d, sizeof(d), verbs[vi].p, verbs[vi].n);
		snprintf(err, errsz, "'%s %s' is not a command; %s takes ", verb_word, object_word,
			 d);
		for (int k = 0; k < nobjs; k++) {
			describe(d, sizeof(d), objs[k].p, objs[k].n);
			addf(err, errsz, "%s%s", k ? ", " : "", d);
		}
		return -RPL_E_ADMIN_SYNTAX;
	}
	for (int k = 0; k < *nwhich; k++) {
		command_keywords(&commands[which[k]], &v, &o);
		if (o.p == objs[oi].p) {
			which[0] = which[k];
			*nwhich = 1;
			*used_object = 1;
			return 0;
		}
	}
	return -RPL_E_INTERNAL;
}

/* Resolves a keyword value against its alternatives; the full name is
 * stored in *val. */
static int resolve_value(struct admin_cmd *cmd, size_t *used, char **val, const struct syn_item *it,
			 const char *what, char *err, size_t errsz)
{
	struct span alts[16];
	int n = split_alts(it->vals, it->valslen, alts, 16), k;

	k = **val ? pick(*val, alts, n, err, errsz) : -2;
	if (k == -1)
		return -RPL_E_AMBIGUOUS;
	if (k == -2) {
		snprintf(err, errsz, "%s must be ", what);
		for (int i = 0; i < n; i++) {
			char d[96];
			describe(d, sizeof(d), alts[i].p, alts[i].n);
			addf(err, errsz, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", d);
		}
		addf(err, errsz, ", not '%s'", *val);
		return -RPL_E_ADMIN_PARAM;
	}
	if (!(*val = put_name(cmd, used, alts[k].p, alts[k].n)))
		return -RPL_E_ADMIN_SYNTAX;
	return 0;
}

int admin_resolve(struct admin_cmd *cmd, const struct admin_command **out, char *err, size_t errsz)
{
	int which[MAXCAND], nwhich, used_object, rc, wi, seen[ADMIN_MAXTOK] = { 0 };
	const struct admin_command *c;
	struct span params[ADMIN_MAXTOK];
	struct syn_item items[ADMIN_MAXTOK], it;
	int nparams = 0, nitems = 0, lead = 1;
	const char *p;
	char name[64];
	size_t used = 0;

	err[0] = 0;
	*out = NULL;
	if (cmd->nwords == 0) {
		snprintf(err, errsz, "empty command; HELP lists the commands");
		return -RPL_E_ADMIN_SYNTAX;
	}
	rc = find_commands(cmd->words[0], cmd->nwords > 1 ? cmd->words[1] : NULL, which, &nwhich,
			   &used_object, err, errsz);
	if (rc < 0)
		return rc;
	c = &commands[which[0]];
	admin_command_name(c, name, sizeof(name));
	for (p = c->syntax; syn_next(&p, &lead, &it) && nitems < ADMIN_MAXTOK;) {
		items[nitems++] = it;
		if (it.kind == SI_PARAM)
			params[nparams++] = (struct span){ it.name, it.namelen };
	}
	/* The verb and the object, in full. */
	wi = 0;
	for (int i = 0; i < nitems && items[i].kind == SI_KEYWORD; i++) {
		if (!(cmd->words[wi++] = put_name(cmd, &used, items[i].name, items[i].namelen)))
			goto toolong;
	}
	/* A value with '=' in it (an LDAP URL or DN template given unquoted)
	 * was split as a KEY=value parameter: when its key is no parameter of
	 * this command and a positional value is still missing, it is that
	 * value, whole again. */
	{
		int nvalues = 0;
		for (int i = 0; i < nitems; i++)
			nvalues += items[i].kind == SI_VALUE;
		for (int i = 0; i < cmd->nparams && cmd->nwords - wi < nvalues &&
				cmd->nwords < ADMIN_MAXTOK;) {
			char scratch[16];
			if (pick(cmd->keys[i], params, nparams, scratch, sizeof(scratch)) != -2) {
				i++;
				continue;
			}
			cmd->keys[i][strlen(cmd->keys[i])] = '='; /* the parser's cut, undone */
			cmd->words[cmd->nwords++] = cmd->keys[i];
			memmove(&cmd->keys[i], &cmd->keys[i + 1],
				(size_t)(cmd->nparams - i - 1) * sizeof(cmd->keys[0]));
			memmove(&cmd->vals[i], &cmd->vals[i + 1],
				(size_t)(cmd->nparams - i - 1) * sizeof(cmd->vals[0]));
			cmd->nparams--;
		}
	}
	/* Positional values, in order. */
	for (int i = 0; i < nitems; i++) {
		if (items[i].kind != SI_VALUE)
			continue;
		if (wi >= cmd->nwords) {
			char what[64];
			if (items[i].optional)
				continue;
			placeholder_text(what, sizeof(what), items[i].name, items[i].namelen);
			snprintf(err, errsz, "%s (%s)", what, c->syntax);
			return -RPL_E_MISSING_PARAM;
		}
		if (items[i].enumerated && (rc = resolve_value(cmd, &used, &cmd->words[wi],
							       &items[i], name, err, errsz)) < 0)
			return rc;
		wi++;
	}
	if (wi < cmd->nwords) {
		snprintf(err, errsz, "unexpected '%s' after %s; the syntax is %s", cmd->words[wi],
			 name, c->syntax);
		return -RPL_E_ADMIN_PARAM;
	}
	/* KEY=value parameters: known, once each, keyword values resolved. */
	for (int i = 0; i < cmd->nparams; i++) {
		int k = pick(cmd->keys[i], params, nparams, err, errsz), item = -1;
		if (k == -1)
			return -RPL_E_AMBIGUOUS;
		if (k == -2) {
			snprintf(err, errsz, "%s for %s, which takes ", cmd->keys[i], name);
			for (int j = 0; j < nparams; j++) {
				char d[96];
				describe(d, sizeof(d), params[j].p, params[j].n);
				addf(err, errsz, "%s%s", j ? ", " : "", d);
			}
			if (nparams == 0)
				addf(err, errsz, "no parameters");
			return -RPL_E_UNKNOWN_PARAM;
		}
		for (int j = 0; j < nitems; j++)
			if (items[j].kind == SI_PARAM && items[j].name == params[k].p)
				item = j;
		if (seen[k]++) {
			describe(err, errsz, params[k].p, params[k].n);
			return -RPL_E_DUPLICATE_PARAM;
		}
		if (!(cmd->keys[i] = put_name(cmd, &used, params[k].p, params[k].n)))
			goto toolong;
		if (items[item].enumerated) {
			char what[64];
			describe(what, sizeof(what), params[k].p, params[k].n);
			what[strcspn(what, " ")] = 0;
			rc = resolve_value(cmd, &used, &cmd->vals[i], &items[item], what, err,
					   errsz);
			if (rc < 0)
				return rc;
		}
	}
	for (int j = 0, k = 0; j < nitems; j++) {
		if (items[j].kind != SI_PARAM)
			continue;
		if (!items[j].optional && !seen[k]) {
			char d[96];
			describe(d, sizeof(d), items[j].name, items[j].namelen);
			snprintf(err, errsz, "%s (%s)", d, c->syntax);
			return -RPL_E_MISSING_PARAM;
		}
		k++;
	}
	*out = c;
	return 0;
toolong:
	snprintf(err, errsz, "command too long");
	return -RPL_E_ADMIN_SYNTAX;
}

static int item_secret(const struct syn_item *it)
{
	return it->valslen == 8 && strncmp(it->vals, "password", 8) == 0;
}

int admin_word_secret(const struct admin_command *c, int i)
{
	const char *p = c->syntax;
	struct syn_item it;
	int lead = 1, w = 0;

	while (syn_next(&p, &lead, &it)) {
		if (it.kind == SI_PARAM)
			continue;
		if (w++ == i)
			return it.kind == SI_VALUE && item_secret(&it);
	}
	return 0;
}

int admin_param_secret(const struct admin_command *c, const char *key)
{
	const char *p = c->syntax;
	struct syn_item it;
	int lead = 1;

	while (syn_next(&p, &lead, &it))
		if (it.kind == SI_PARAM && strlen(key) == it.namelen &&
		    strncasecmp(key, it.name, it.namelen) == 0)
			return item_secret(&it);
	return 0;
}

/* ---- HELP ------------------------------------------------------------------- */

/* The first sentence of a help text. */
static json_t *summary(const char *help)
{
	const char *dot = strstr(help, ". ");
	return dot ? json_stringn(help, (size_t)(dot - help + 1)) : json_string(help);
}

static json_t *command_json(const struct admin_command *c, int full)
{
	char name[64], help[2048];
	json_t *j;

	admin_command_name(c, name, sizeof(name));
	snprintf(help, sizeof(help), "%s%s", c->help,
		 c->fn ? "" : " Not available in this version (RPL0005E).");
	j = json_pack("{s:s, s:s}", "command", name, "syntax", c->syntax);
	json_object_set_new(j, full ? "help" : "summary", full ? json_string(help) : summary(help));
	json_object_set_new(j, "available", json_boolean(c->fn != NULL));
	return j;
}

json_t *admin_help_doc(const struct admin_cmd *cmd, json_t **columns)
{
	int which[MAXCAND], nwhich, used_object, rc, code;
	char err[512];
	json_t *arr;

	*columns = NULL;
	if (cmd->nwords == 1) {
		arr = json_array();
		for (size_t i = 0; i < NCOMMANDS; i++)
			json_array_append_new(arr, command_json(&commands[i], 0));
		*columns = json_pack("[s,s]", "command", "summary");
		return arr;
	}
	if (cmd->nwords == 2 && (code = rpl_msg_find(cmd->words[1])) >= 0) {
		const char *hint = rpl_msg_hint(code);
		return json_pack("{s:s, s:s, s:o}", "message_id", rpl_msg_id(code), "message",
				 rpl_msg_text(code), "hint",
				 hint ? json_string(hint) : json_null());
	}
	rc = find_commands(cmd->words[1], cmd->nwords > 2 ? cmd->words[2] : NULL, which, &nwhich,
			   &used_object, err, sizeof(err));
	if (rc == -RPL_E_MISSING_PARAM) /* HELP QUERY: every QUERY command */
		rc = 0;
	if (rc == 0 && cmd->nwords > 2 && !used_object) {
		snprintf(err, sizeof(err), "%s has no object %s", cmd->words[1], cmd->words[2]);
		rc = -RPL_E_ADMIN_SYNTAX;
	}
	if (rc < 0) {
		if (rc == -RPL_E_ADMIN_SYNTAX && cmd->nwords == 2)
			snprintf(
				err, sizeof(err),
				strncasecmp(cmd->words[1], "RPL", 3) == 0
					? "there is no message %s"
					: "'%s' is neither a command nor a message ID (RPLnnnnE); HELP lists the commands",
				cmd->words[1]);
		return admin_error(-rc, "%s", err);
	}
	arr = json_array();
	for (int i = 0; i < nwhich; i++)
		json_array_append_new(arr, command_json(&commands[which[i]], 1));
	return arr;
}

void admin_help(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	json_t *columns, *doc = admin_help_doc(cmd, &columns);

	(void)y;
	adminsrv_reply(ac, doc, columns);
}

void admin_quit(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	(void)y;
	(void)cmd;
	adminsrv_reply(ac, admin_ok(RPL_OK, "QUIT ends the admin console; the server goes on"),
		       NULL);
}
