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

#endif
