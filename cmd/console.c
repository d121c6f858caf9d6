/* The interactive admin console: libedit line editing and history, the
 * prompt "replpeer SERVERNAME> ", Ctrl-C that cancels the running command
 * (the server abandons it) and, twice at the prompt, leaves. The history
 * (~/.config/replpeer/history, mode 0600) never holds a line with a
 * password. */
#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "../util/msg.h"
#include "../util/secure.h"
#include "admin_client.h"
#include "cli.h"

struct console {
	struct admin_session *s;
	int wake[2]; /* the SIGINT handler writes here */
	char prompt[96];
	History *hist;
	char histpath[PATH_MAX + 16];
};

static char *prompt_fn(EditLine *el)
{
	struct console *c;
	el_get(el, EL_CLIENTDATA, &c);
	return c->prompt;
}

/* libedit reads through this: a Ctrl-C at the prompt (a byte on the wake
 * pipe) ends el_gets with EINTR, whatever libedit does with signals. */
static int console_getc(EditLine *el, wchar_t *wc)
{
	struct console *c;
	mbstate_t st;
	char b[MB_LEN_MAX];
	size_t n = 0;

	el_get(el, EL_CLIENTDATA, &c);
	memset(&st, 0, sizeof(st));
	for (;;) {
		struct pollfd pf[2] = { { STDIN_FILENO, POLLIN, 0 }, { c->wake[0], POLLIN, 0 } };
		ssize_t r;
		size_t k;
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pf[1].revents) {
			errno = EINTR;
			return -1;
		}
		r = read(STDIN_FILENO, b + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 && n == 0 ? 0 : -1;
		n++;
		k = mbrtowc(wc, b, n, &st);
		if (k == (size_t)-2 && n < sizeof(b))
			continue; /* more bytes of one character */
		if (k == (size_t)-1 || k == (size_t)-2) {
			*wc = (unsigned char)b[0]; /* not valid here: the byte as it is */
			memset(&st, 0, sizeof(st));
		}
		return 1;
	}
}

static void drain(int fd)
{
	char b[16];
	while (read(fd, b, sizeof(b)) > 0) {
	}
}

/* ~/.config/replpeer/history; "" without HOME. */
static void history_path(struct console *c)
{
	const char *home = getenv("HOME");
	char dir[PATH_MAX];

	c->histpath[0] = 0;
	if (!home || !*home)
		return;
	snprintf(dir, sizeof(dir), "%s/.config", home);
	(void)mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/.config/replpeer", home);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return;
	snprintf(c->histpath, sizeof(c->histpath), "%s/history", dir);
}

/* Written whole after each command, created 0600 and kept so. */
static void history_save(struct console *c)
{
	HistEvent ev;
	FILE *f;
	int fd;

	if (!c->histpath[0])
		return;
	fd = open(c->histpath, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (fchmod(fd, 0600) < 0 || !(f = fdopen(fd, "w"))) {
		close(fd);
		return;
	}
	history(c->hist, &ev, H_SAVE_FP, f);
	fclose(f);
}

/* The server's name for the prompt: the link's, else QUERY STATUS's. */
static void set_prompt(struct console *c)
{
	struct admin_link *l = c->s->link;
	const char *name = l->server[0] ? l->server : NULL;
	char err[256];
	json_t *env = NULL;

	if (!name && l->ops->request(l, "QUERY STATUS", &env, err, sizeof(err)) == 0 &&
	    json_integer_value(json_object_get(env, "status")) == 0) {
		json_t *doc = json_object_get(env, "doc");
		name = json_string_value(json_object_get(doc, "name"));
		if (!name)
			name = json_string_value(json_object_get(doc, "server_name"));
	}
	if (name)
		snprintf(c->prompt, sizeof(c->prompt), "replpeer %.64s> ", name);
	else
		snprintf(c->prompt, sizeof(c->prompt), "replpeer> ");
	json_decref(env);
}

static int line_is(const char *line, const char *word)
{
	size_t n = strlen(word);
	return strncasecmp(line, word, n) == 0 && line[n + strspn(line + n, " \t")] == 0;
}

int admin_console(struct admin_session *s)
{
	struct console c = { .s = s };
	HistEvent ev;
	EditLine *el;
	int worst = 0, ctrl_c = 0;

	setlocale(LC_CTYPE, "");
	if (pipe2(c.wake, O_CLOEXEC | O_NONBLOCK) < 0)
		return cli_fail(s->json, RPL_E_IO, "console: %s", strerror(errno));
	set_prompt(&c);
	c.hist = history_init();
	el = el_init("replpeer", stdin, stdout, stderr);
	if (!c.hist || !el) {
		if (c.hist)
			history_end(c.hist);
		close(c.wake[0]);
		close(c.wake[1]);
		return cli_fail(s->json, RPL_E_NOMEM, "console");
	}
	history(c.hist, &ev, H_SETSIZE, 1000);
	history(c.hist, &ev, H_SETUNIQUE, 1);
	history_path(&c);
	if (c.histpath[0])
		history(c.hist, &ev, H_LOAD, c.histpath);
	el_set(el, EL_CLIENTDATA, &c);
	el_set(el, EL_EDITOR, "emacs");
	el_set(el, EL_PROMPT, prompt_fn);
	el_set(el, EL_HIST, history, c.hist);
	el_set(el, EL_GETCFN, console_getc);
	el_source(el, NULL); /* the user's ~/.editrc, if any */
	admin_sigint_install(s->link, c.wake[1]);
	printf("replpeer admin console on %s: HELP lists the commands, QUIT ends.\n",
	       s->link->where);
	for (;;) {
		int count, cancelled, st;
		const char *got = el_gets(el, &count);
		char line[8192], *p;

		drain(c.wake[0]);
		if (admin_sigint_take()) {
			/* Ctrl-C at the prompt: the line typed so far is dropped. */
			if (++ctrl_c >= 2) {
				fputs("\n", stdout);
				break;
			}
			fputs("\n(Ctrl-C again, QUIT or Ctrl-D leaves)\n", stdout);
			continue;
		}
		if (!got) {
			fputs("\n", stdout);
			break;
		}
		snprintf(line, sizeof(line), "%s", got);
		p = line + strspn(line, " \t");
		p[strcspn(p, "\r\n")] = 0;
		ctrl_c = 0;
		if (!*p)
			continue;
		if (line_is(p, "QUIT"))
			break;
		if (!cli_line_private(p)) {
			history(c.hist, &ev, H_ENTER, p);
			history_save(&c);
		}
		st = admin_run_line(s, p, &cancelled);
		if (admin_sigint_take() || cancelled)
			ctrl_c = 1; /* one more Ctrl-C at the prompt leaves */
		drain(c.wake[0]);
		if (st > worst)
			worst = st;
		if (st == 0 && line_is(p, "HALT"))
			break;
		secure_zero(line, sizeof(line));
	}
	admin_sigint_install(NULL, -1);
	el_end(el);
	history_end(c.hist);
	close(c.wake[0]);
	close(c.wake[1]);
	return worst;
}
