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

/* word is full, or an abbreviation of it of at least min characters. */
static int keyword(const char *word, const char *full, size_t min)
{
	size_t n = strlen(word);
	return n >= min && n <= strlen(full) && strncasecmp(word, full, n) == 0;
}

/* Where the placeholders are: a positional word, or the values of
 * SERVERPASSWORD= parameters. */
struct secret_slot {
	int word;  /* index into words[], or -1 */
	int param; /* index into vals[], or -1 */
	int once;  /* asked once: a password to test, not a new one to set */
	char prompt[160];
};

static int find_slots(const struct admin_cmd *cmd, struct secret_slot *slots, int max)
{
	const char *name = cmd->nwords > 2 ? cmd->words[2] : "?";
	int n = 0;

	if (cmd->nwords == 3 && keyword(cmd->words[0], "SET", 3) &&
	    keyword(cmd->words[1], "SERVERPASSWORD", 7) && strcmp(cmd->words[2], "-") == 0) {
		slots[n] = (struct secret_slot){.word = 2, .param = -1};
		snprintf(slots[n++].prompt, sizeof(slots[0].prompt), "New password of this server: ");
	}
	if (cmd->nwords >= 4 && keyword(cmd->words[0], "REGISTER", 3) &&
	    keyword(cmd->words[1], "ADMIN", 2) && strcmp(cmd->words[3], "-") == 0 && n < max) {
		slots[n] = (struct secret_slot){.word = 3, .param = -1};
		snprintf(slots[n++].prompt, sizeof(slots[0].prompt),
			 "Password of administrator %.64s: ", name);
	}
	if (cmd->nwords == 4 && keyword(cmd->words[0], "TEST", 4) &&
	    keyword(cmd->words[1], "LDAP", 4) && strcmp(cmd->words[3], "-") == 0 && n < max) {
		slots[n] = (struct secret_slot){.word = 3, .param = -1, .once = 1};
		snprintf(slots[n++].prompt, sizeof(slots[0].prompt),
			 "LDAP password of administrator %.64s: ", name);
	}
	for (int i = 0; i < cmd->nparams && n < max; i++) {
		int server = keyword(cmd->keys[i], "SERVERPASSWORD", 7);
		if ((!server && !keyword(cmd->keys[i], "PASSWORD", 2)) || strcmp(cmd->vals[i], "-") != 0)
			continue;
		slots[n] = (struct secret_slot){.word = -1, .param = i};
		snprintf(slots[n++].prompt, sizeof(slots[0].prompt), server ? "SERVERPASSWORD of server %.64s: "
			 : "Password of %.64s: ", name);
	}
	return n;
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

int cli_fill_passwords(const char *line, const char *pwfile, char *out,
		       size_t outsz, char *err, size_t errsz)
{
	struct secret_slot slots[MAX_SLOTS];
	char pw[MAX_SLOTS][256], perr[256];
	struct admin_cmd *cmd = calloc(1, sizeof(*cmd));
	struct wbuf w;
	int n = 0, rc = 0;

	err[0] = 0;
	if (!cmd)
		return -RPL_E_NOMEM;
	/* What does not parse goes as it is: the server says what is wrong. */
	if (admin_parse(line, cmd, perr, sizeof(perr)) == 0)
		n = find_slots(cmd, slots, MAX_SLOTS);
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
		if (rc < 0)
			snprintf(err, errsz, "%s", pwfile ? pwfile
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
