/* libFuzzer target for util/ber's decoder: whatever bytes an LDAP server
 * sends, framing and decoding either accept or refuse them without reading
 * outside the input (build with -fsanitize=fuzzer,address,undefined: 'make
 * fuzz'; seed corpus in tests/fuzz/corpus/ber/). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/ber.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ldap_msg m;
	struct cursor c;
	struct ber_elem e;
	char why[256];
	size_t total = 0, off = 0;

	/* The input as a stream of messages, as the client reads it. */
	while (off < size) {
		int rc = ber_frame(data + off, size - off, BER_MSG_MAX, &total, why, sizeof(why));
		if (rc <= 0)
			break;
		if (total == 0 || total > size - off)
			abort(); /* framing promised bytes that are not there */
		(void)ldap_decode(data + off, total, &m, why, sizeof(why));
		off += total;
	}
	/* The input as one message, and as a tree of elements. */
	(void)ldap_decode(data, size, &m, why, sizeof(why));
	cur_init(&c, data, size);
	while (cur_left(&c) && ber_read(&c, &e, why, sizeof(why)) == 0)
		(void)ber_check_tree(&e, BER_DEPTH_MAX, why, sizeof(why));
	return 0;
}
