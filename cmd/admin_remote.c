/* Remote admin sessions over TLS (--host): not in this version yet. */
#include <stdio.h>

#include "../util/msg.h"
#include "admin_link.h"

int admin_link_remote(const struct admin_remote_opts *o, struct admin_link **out, char *err,
		      size_t errsz)
{
	(void)o;
	*out = NULL;
	snprintf(err, errsz, "remote admin sessions (--host)");
	return -RPL_E_NOTIMPL;
}
