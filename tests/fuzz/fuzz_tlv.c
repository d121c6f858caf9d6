/* Fuzz target: the wire decoder of util/buf — the bounds-checked cursor and
 * the TLV reader with every field accessor, nested once (a TLV value read as
 * TLV again, as messages carry entries). Nothing may read out of bounds. */
#include <stdint.h>
#include <stdlib.h>

#include "../../util/buf.h"

static void walk(const uint8_t *data, size_t size, int depth)
{
	struct cursor c, val;
	uint16_t tag;
	int rc;

	cur_init(&c, data, size);
	while ((rc = tlv_next(&c, &tag, &val)) > 0) {
		uint64_t v;
		char s[65];
		uint8_t fixed[32], *dup = NULL;
		size_t n = 0;
		struct blob b = {0};

		switch (tag % 6) {
		case 0: (void)tlv_get_u64(&val, &v); break;
		case 1: (void)tlv_get_str(&val, s, sizeof(s)); break;
		case 2:
			if (tlv_get_dup(&val, &dup, &n) == 0)
				free(dup);
			break;
		case 3: (void)tlv_get_fixed(&val, fixed, sizeof(fixed)); break;
		case 4:
			(void)tlv_get_blob(&val, &b);
			blob_free(&b);
			break;
		default:
			if (depth == 0)
				walk(val.p + val.off, cur_left(&val), 1);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;

	walk(data, size, 0);
	/* The plain cursor: a frame header, then a length-prefixed string. */
	cur_init(&c, data, size);
	if (cur_u32(&c, &u32) == 0 && cur_u8(&c, &u8) == 0 && cur_u16(&c, &u16) == 0)
		(void)cur_bytes(&c, u16, &p);
	(void)cur_u64(&c, &u64);
	(void)cur_bytes(&c, cur_left(&c), &p);
	return 0;
}
