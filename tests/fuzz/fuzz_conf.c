/* Fuzz target: the replpeer.conf parser (util/conf.c conf_load), given the
 * input as the file's content through a memory file, and conf_set on the
 * first line split as KEY value. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../util/conf.h"

static int memfd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpl_conf c;
	char err[512], line[512], *sp;
	size_t n;

	if (size > 65536)
		return 0;
	if (memfd < 0) {
		memfd = memfd_create("replpeer.conf", 0);
		if (memfd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	(void)conf_load(path, &c, err, sizeof(err));

	n = size < sizeof(line) - 1 ? size : sizeof(line) - 1;
	memcpy(line, data, n);
	line[n] = 0;
	line[strcspn(line, "\n")] = 0;
	conf_defaults(&c);
	if ((sp = strchr(line, ' ')) != NULL) {
		*sp = 0;
		(void)conf_set(&c, line, sp + 1, err, sizeof(err));
	}
	return 0;
}
