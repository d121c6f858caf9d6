#include "msg.h"

#include <stddef.h>
#include <strings.h>

struct msg_entry {
	const char *id;
	const char *text;
	const char *hint;
};

static const struct msg_entry table[] = {
#define X(name, id, text, hint) [name] = { id, text, hint },
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

int rpl_msg_find(const char *id)
{
	size_t n = 0;

	if (!id)
		return -1;
	while (id[n] && n < 9)
		n++;
	if ((n != 7 && n != 8) || strncasecmp(id, "RPL", 3) != 0)
		return -1;
	for (int i = 0; i < RPL_MSG_COUNT; i++)
		if (strncasecmp(table[i].id, id, n) == 0)
			return i;
	return -1;
}

int rpl_msg_exit_status(int code)
{
	static const int usage[] = {
		RPL_E_USAGE,         RPL_E_ADMIN_SYNTAX,    RPL_E_ADMIN_PARAM,   RPL_E_AMBIGUOUS,
		RPL_E_MISSING_PARAM, RPL_E_DUPLICATE_PARAM, RPL_E_UNKNOWN_PARAM,
	};

	if (code < 0)
		code = -code;
	for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++)
		if (code == usage[i])
			return 2;
	return 1;
}
