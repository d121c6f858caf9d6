/*
 * cmd/admin_client: 'replpeer admin' — its options, running one command
 * line over an admin link (cmd/admin_link.h) and printing the reply as a
 * table, delimited lines or JSON, and the exit status a session ends with.
 * The interactive console is cmd/console.c. It never parses replies beyond
 * the envelope: what a command means is the server's.
 */
#ifndef RPL_ADMIN_CLIENT_H
#define RPL_ADMIN_CLIENT_H

#include <stdio.h>

#include "admin_link.h"

struct admin_session {
	struct admin_link *link;
	const char *pwfile; /* answers '-' password parameters */
	int json;           /* one JSON document per command */
	int dataonly;       /* tables without their heading */
	char delim;         /* 0: aligned tables; ',' or '\t': delimited lines */
	FILE *outfile;      /* --outfile: replies go there (NULL: stdout) */
	int tee;            /* with outfile: to the terminal as well (console) */
	int progress_seen;  /* the command in flight reported progress */
	int progress_shown; /* a progress line is on the terminal */
};

/* Runs one command line: fills in '-' passwords, sends it, prints the
 * reply. Returns the exit status it stands for (0, 1 operational failure,
 * 2 usage error); *cancelled is set when Ctrl-C abandoned it. */
int admin_run_line(struct admin_session *s, const char *line, int *cancelled);

/* Ctrl-C: cancels the link's request in flight, counts, and writes a byte
 * to wake_fd (-1: none) for a console waiting at its prompt. */
void admin_sigint_install(struct admin_link *link, int wake_fd);
/* How many Ctrl-C arrived since the last call; resets the count. */
int admin_sigint_take(void);

/* The interactive console (cmd/console.c): line editing and history, the
 * prompt "replpeer SERVERNAME> ". Returns the worst exit status of its
 * commands. */
int admin_console(struct admin_session *s);

#endif
