#include "msg.h"

#include <stddef.h>

struct msg_entry {
	const char *id;
	const char *text;
	const char *hint;
};

static const struct msg_entry table[] = {
#define X(name, id, text, hint) [name] = {id, text, hint},
#include "msgs.def"
#undef X
};

static const struct msg_entry *lookup(int code)
{
	if (code < 0)
		code = -code;
	if (code >= RPL_MSG_COUNT)
		code = RPL_E_INTERNAL;
	return &table[code];
}

const char *rpl_msg_id(int code) { return lookup(code)->id; }
const char *rpl_msg_text(int code) { return lookup(code)->text; }
const char *rpl_msg_hint(int code) { return lookup(code)->hint; }
char rpl_msg_severity(int code) { return lookup(code)->id[7]; }
