/*
 * cmd/cli_secret: password parameters given as "-" in admin commands. The
 * admin client asks for them on the terminal without echo (or reads
 * --password-file) and puts them into the request it sends over
 * admin.sock, so a password never shows in ps, /proc/PID/cmdline or a
 * shell history. Every copy it handles is wiped.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../sync/admin.h"
#include "../util/buf.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "cli.h"

/* Where the placeholders are: a positional word, or the value of a
 * parameter, that the command table calls a password. */
struct secret_slot {
	int word;  /* index into words[], or -1 */
	int param; /* index into vals[], or -1 */
	int once;  /* asked once: a password checked, not one being set */
	char prompt[160];
};

/* Every password slot of a resolved command; only those given as "-"
 * when dash_only. */
static int find_slots(const struct admin_cmd *cmd, const struct admin_command *c,
		      struct secret_slot *slots, int max, int dash_only)
{
	char name[64];
	int n = 0;

	admin_command_name(c, name, sizeof(name));
	for (int i = 0; i < cmd->nwords && n < max; i++) {
		if (!admin_word_secret(c, i) || (dash_only && strcmp(cmd->words[i], "-") != 0))
			continue;
		slots[n] = (struct secret_slot){ .word = i, .param = -1 };
		if (strcmp(name, "SET SERVERPASSWORD") == 0) {
			snprintf(slots[n].prompt, sizeof(slots[n].prompt),
				 "New password of this server: ");
		} else if (strcmp(name, "TEST LDAP") == 0) {
			slots[n].once = 1;
			snprintf(slots[n].prompt, sizeof(slots[n].prompt),
				 "LDAP password of administrator %.64s: ",
				 cmd->nwords > 2 ? cmd->words[2] : "?");
		} else { /* REGISTER ADMIN name password */
			snprintf(slots[n].prompt, sizeof(slots[n].prompt),
				 "Password of %s %.64s: ", name,
				 cmd->nwords > 2 ? cmd->words[2] : "?");
		}
		n++;
	}
	for (int i = 0; i < cmd->nparams && n < max; i++) {
		if (!admin_param_secret(c, cmd->keys[i]) ||
		    (dash_only && strcmp(cmd->vals[i], "-") != 0))
			continue;
		slots[n] = (struct secret_slot){ .word = -1, .param = i };
		snprintf(slots[n++].prompt, sizeof(slots[0].prompt),
			 "%s of %s %.64s: ", cmd->keys[i],
			 strstr(name, "ADMIN") ? "administrator" : "server",
			 cmd->nwords > 2 ? cmd->words[2] : "?");
	}
	return n;
}

int cli_line_private(const char *line)
{
	struct admin_cmd *cmd = calloc(1, sizeof(*cmd));
	const struct admin_command *c;
	struct secret_slot slots[4];
	char err[512];
	int private = 1;

	/* A line that does not resolve may still hold a password (a typo in
	 * its keyword): it is private too. */
	if (cmd && admin_parse(line, cmd, err, sizeof(err)) == 0 &&
	    admin_resolve(cmd, &c, err, sizeof(err)) == 0)
	private = find_slots(cmd, c, slots, 4, 0) > 0;
	if (cmd) {
		secure_zero(cmd, sizeof(*cmd));
		free(cmd);
	}
	return private;
}

/* Appends one token so that admin_parse reads it back unchanged: bare when
 * it is plain, else in double quotes, with each '"' in single quotes. */
static void put_token(struct wbuf *w, const char *s)
{
	int plain = *s != 0;

	for (const char *p = s; *p && plain; p++)
		plain = isalnum((unsigned char)*p) || strchr("-_.:/,@+*?%#", *p);
	if (plain) {
		wbuf_put(w, s, strlen(s));
		return;
	}
	wbuf_put(w, "\"", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			wbuf_put(w, "\"'\"'\"", 5); /* close, '"', reopen */
		else
			wbuf_put(w, p, 1);
	}
	wbuf_put(w, "\"", 1);
}

/* The command again, from its tokens, with the slots' passwords in. */
static void rebuild(const struct admin_cmd *cmd, const struct secret_slot *slots, int nslots,
		    char pw[][256], struct wbuf *w)
{
	for (int i = 0; i < cmd->nwords; i++) {
		const char *v = cmd->words[i];
		for (int k = 0; k < nslots; k++)
			if (slots[k].word == i)
				v = pw[k];
		if (i)
			wbuf_put(w, " ", 1);
		put_token(w, v);
	}
	for (int i = 0; i < cmd->nparams; i++) {
		const char *v = cmd->vals[i];
		for (int k = 0; k < nslots; k++)
			if (slots[k].param == i)
				v = pw[k];
		wbuf_put(w, " ", 1);
		put_token(w, cmd->keys[i]);
		wbuf_put(w, "=", 1);
		put_token(w, v);
	}
}

#define MAX_SLOTS 4

int cli_fill_passwords(const char *line, const char *pwfile, char *out, size_t outsz, char *err,
		       size_t errsz)
{
	struct secret_slot slots[MAX_SLOTS];
	char pw[MAX_SLOTS][256], perr[512];
	struct admin_cmd *cmd = calloc(1, sizeof(*cmd));
	const struct admin_command *c;
	struct wbuf w;
	int n = 0, rc = 0;

	err[0] = 0;
	if (!cmd)
		return -RPL_E_NOMEM;
	/* What does not resolve goes as it is: the server says what is wrong. */
	if (admin_parse(line, cmd, perr, sizeof(perr)) == 0 &&
	    admin_resolve(cmd, &c, perr, sizeof(perr)) == 0)
		n = find_slots(cmd, c, slots, MAX_SLOTS, 1);
	if (n == 0) {
		secure_zero(cmd, sizeof(*cmd));
		free(cmd);
		if (strlen(line) >= outsz)
			return -RPL_E_ADMIN_TOOBIG;
		memcpy(out, line, strlen(line) + 1);
		return 0;
	}
	for (int k = 0; k < n && rc == 0; k++) {
		rc = cli_read_password_prompt(pwfile, slots[k].prompt, !slots[k].once, pw[k],
					      sizeof(pw[k]));
		if (rc == -RPL_E_INTERRUPTED)
			rc = -RPL_E_CANCELLED;
		else if (rc < 0)
			snprintf(
				err, errsz, "%s",
				pwfile ? pwfile
				       : "the two entries differ, or there is no terminal to ask on (give --password-file F)");
	}
	wbuf_init(&w);
	if (rc == 0) {
		rebuild(cmd, slots, n, pw, &w);
		wbuf_put_u8(&w, 0);
		rc = wbuf_status(&w);
	}
	if (rc == 0 && w.len > outsz)
		rc = -RPL_E_ADMIN_TOOBIG;
	if (rc == 0)
		memcpy(out, w.p, w.len);
	wbuf_free(&w); /* wipes */
	secure_zero(pw, sizeof(pw));
	secure_zero(cmd, sizeof(*cmd));
	free(cmd);
	return rc;
}
