/*
 * cmd/cli: what every subcommand shares — error reporting with message IDs
 * (human on stderr, JSON on stdout with --json), exit codes, password input,
 * opening an instance, and rendering JSON documents for humans.
 */
#ifndef RPL_CLI_H
#define RPL_CLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "../peer/keys/instance.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* How every JSON document is printed: numbers to 15 significant digits,
 * so that 0.056 stays 0.056. */
#define CLI_JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/* Reports error 'code' with an optional detail: with json the failure
 * document (util/errdoc) on stdout and nothing else, without it the same
 * as text on stderr (cli_print_failure). Returns the exit status
 * (rpl_msg_exit_status: 2 for usage errors, else 1). */
int cli_fail(int json, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A failure document as text, the one way the CLI and the admin client
 * print failures: "replpeer: RPLnnnnE error: message" and the hint. */
void cli_print_failure(FILE *f, json_t *doc);
/* Prints a usage error and the subcommand's usage text; returns 2. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads a password from the first line of file, or asks on the terminal
 * (twice when confirm). */
int cli_read_password(const char *file, int confirm, char *buf, size_t sz);
/* The same with a prompt of one's own. Asked twice, entries that differ are
 * -RPL_E_PASSWORD_READ. buf is wiped on failure; the caller wipes it after
 * use. */
int cli_read_password_prompt(const char *file, const char *prompt, int confirm, char *buf,
			     size_t sz);
/* Password parameters given as "-" in an admin command (SERVERPASSWORD=-,
 * SET SERVERPASSWORD -, REGISTER ADMIN name -): each is read from pwfile
 * (first line) or asked on the terminal without echo, twice, and put into
 * the command to send, so that it never appears on a command line. out gets
 * the command (line unchanged when it has no such parameter); the caller
 * wipes out. 0, or a negative code with err filled. */
int cli_fill_passwords(const char *line, const char *pwfile, char *out, size_t outsz, char *err,
		       size_t errsz);
/* Whether a console line must stay out of the history: it holds a
 * password parameter, or does not resolve to a command (and so might). */
int cli_line_private(const char *line);
/* Why DIR/admin.sock (sock) could not be reached after errno errnum: no
 * instance at DIR (-RPL_E_NOINSTANCE), permission denied
 * (-RPL_E_ADMIN_DENIED), or no daemon (-RPL_E_ADMIN_CONNECT); err says
 * what was found. */
int cli_admin_unreachable(const char *dir, const char *sock, int errnum, char *err, size_t errsz);
/* Opens the instance in dir; on failure prints the error and returns the
 * exit status (>0), else 0. */
int cli_open_instance(const char *dir, struct instance *in, int json);
/* Prints j (steals the reference): JSON when json, else a readable form. */
void cli_print(json_t *j, int json);
/* The readable form of a JSON document, as the admin console shows it. */
void cli_render(FILE *f, json_t *j);
/* A table of the given columns of an array of objects; dataonly leaves
 * out the heading (the anchor's -dataonly=yes). */
void cli_render_table(FILE *f, json_t *rows, json_t *columns);
void cli_render_table_opts(FILE *f, json_t *rows, json_t *columns, int dataonly);
/* A document as delimited lines (the anchor's -comma and -tab): one line
 * per element of an array (or one for an object), the given columns or
 * every key, a heading line of labels unless dataonly. */
void cli_render_delimited(FILE *f, json_t *doc, json_t *columns, char delim, int dataonly);
/* Parses the standard --help/-h flag anywhere in argv. */
int cli_wants_help(int argc, char **argv);

/* Subcommands. */
int cmd_init(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_store(int argc, char **argv);
int cmd_db(int argc, char **argv);

#endif
