/*
 * errdoc: the one JSON shape of a failure, for the daemon's replies and the
 * command line alike: {"ok": false, "error", "message_id", "message",
 * "hint"} (hint null when the message has none). Builds documents only.
 */
#ifndef RPL_ERRDOC_H
#define RPL_ERRDOC_H

#include <jansson.h>

/* A failure document for message code (positive or negated); message is
 * the detail of this case, or NULL/"" for the message's own text. */
json_t *rpl_error_doc(int code, const char *message);

/* The exit status a reply document stands for: 0 unless it is a failure
 * ({"ok": false}: rpl_msg_exit_status of its message ID) or an array that
 * holds one (1 at least: a PING of several servers where one failed). */
int rpl_doc_status(json_t *doc);

#endif
