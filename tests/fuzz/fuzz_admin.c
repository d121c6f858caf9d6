/* Fuzz target: the admin command tokenizer (sync/admin.c admin_parse), the
 * resolution by the command table (sync/admin_lang.c admin_resolve:
 * abbreviations, parameters, keyword values), the password slots and HELP,
 * on any line up to 8 KiB (the admin socket takes lines of any bytes from a
 * local client). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../sync/admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct admin_cmd cmd;
	const struct admin_command *c;
	char err[1024], *line;

	if (size > 8192)
		return 0;
	line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = 0;
	if (admin_parse(line, &cmd, err, sizeof(err)) == 0) {
		static const char *const keys[] = {"HLADDRESS", "SERVERPASSWORD", "FORMAT", "X", ""};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			(void)admin_param(&cmd, keys[i]);
		for (int i = 0; i < cmd.nparams; i++)
			(void)admin_param(&cmd, cmd.keys[i]);
		for (int i = 0; i < cmd.nwords; i++)
			(void)strlen(cmd.words[i]);
		if (admin_resolve(&cmd, &c, err, sizeof(err)) == 0) {
			for (int i = 0; i < cmd.nwords; i++)
				(void)admin_word_secret(c, i);
			for (int i = 0; i < cmd.nparams; i++)
				(void)admin_param_secret(c, cmd.keys[i]);
			if (c->fn == admin_help) {
				json_t *cols, *doc = admin_help_doc(&cmd, &cols);
				json_decref(cols);
				json_decref(doc);
			}
		}
		(void)strlen(err);
	}
	free(line);
	return 0;
}
