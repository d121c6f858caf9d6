/*
 * msg: the message table (util/msgs.def) and its lookups.
 * Owns message IDs, texts and hints; does no I/O.
 */
#ifndef RPL_MSG_H
#define RPL_MSG_H

enum rpl_msg {
#define X(name, id, text, hint) name,
#include "msgs.def"
#undef X
	RPL_MSG_COUNT
};

/* All lookups accept a message or a negated error code. */
const char *rpl_msg_id(int code);
const char *rpl_msg_text(int code);
const char *rpl_msg_hint(int code); /* NULL when there is none */
/* 'E', 'W' or 'I' */
char rpl_msg_severity(int code);
/* The message whose ID is id ("RPL0403E", or without the severity letter,
 * any case), or -1 (also for NULL). */
int rpl_msg_find(const char *id);
/* The exit status a failure with this message gives: 2 for a usage or
 * syntax error (the command as typed can never succeed), else 1. */
int rpl_msg_exit_status(int code);

#endif
