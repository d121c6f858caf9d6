#include "errdoc.h"

#include "msg.h"

json_t *rpl_error_doc(int code, const char *message)
{
	const char *hint = rpl_msg_hint(code);

	return json_pack("{s:b, s:s, s:s, s:s, s:o}", "ok", 0, "error", rpl_msg_text(code),
			 "message_id", rpl_msg_id(code), "message",
			 message && *message ? message : rpl_msg_text(code), "hint",
			 hint ? json_string(hint) : json_null());
}

static int failure_status(json_t *o)
{
	int code;

	if (!json_is_object(o) || !json_is_false(json_object_get(o, "ok")))
		return 0;
	code = rpl_msg_find(json_string_value(json_object_get(o, "message_id")));
	return code < 0 ? 1 : rpl_msg_exit_status(code);
}

int rpl_doc_status(json_t *doc)
{
	size_t i;
	json_t *e;
	int worst = failure_status(doc);

	if (json_is_array(doc))
		json_array_foreach(doc, i, e)
		{
			int st = failure_status(e);
			if (st > worst)
				worst = st;
		}
	return worst;
}
