#include "hostile.h"
int cmd_fuzz(struct hctx *h, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return h_fail(h, "fuzz: not yet");
}
