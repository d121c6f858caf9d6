#include "seal.h"

#include <stdio.h>

#include "../../store/env.h"
#include "../../util/conf.h"
#include "../../util/msg.h"

static const struct {
	const char *prefix;
	enum { SUBJ_NONE, SUBJ_LABEL, SUBJ_SERVER } subject;
} table[SEAL_KIND_COUNT] = {
	[SEAL_OWN_PASSWORD] = { "own-password", SUBJ_NONE },
	[SEAL_SRP_VERIFIER] = { "srp-verifier", SUBJ_NONE },
	[SEAL_OWNCERT_KEY] = { "owncert-key", SUBJ_LABEL },
	[SEAL_SERVER_PASSWORD] = { "server-password", SUBJ_SERVER },
	[SEAL_PAIRING_OUT] = { "pairing-out", SUBJ_SERVER },
	[SEAL_PAIRING_IN] = { "pairing-in", SUBJ_SERVER },
	[SEAL_ADMIN_VERIFIER] = { "admin-verifier", SUBJ_SERVER },
	[SEAL_ADMIN_SLOW] = { "admin-slow", SUBJ_SERVER },
};

int seal_purpose(enum seal_kind kind, const char *subject, char *buf, size_t sz)
{
	char key[RPL_NAME_MAX + 1];
	int n;

	if ((unsigned)kind >= SEAL_KIND_COUNT)
		return -RPL_E_BADARG;
	switch (table[kind].subject) {
	case SUBJ_NONE: n = snprintf(buf, sz, "%s", table[kind].prefix); break;
	case SUBJ_LABEL:
		if (!subject || !*subject)
			return -RPL_E_BADARG;
		n = snprintf(buf, sz, "%s:%s", table[kind].prefix, subject);
		break;
	default:
		if (!subject || !*subject)
			return -RPL_E_BADARG;
		store_name_key(subject, key, sizeof(key));
		n = snprintf(buf, sz, "%s:%s", table[kind].prefix, key);
		break;
	}
	return n > 0 && (size_t)n < sz ? 0 : -RPL_E_BADARG;
}
