#include "escape.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (at most n bytes available) and
 * its code point, or 0 when p does not start one. The ranges of the second
 * byte are RFC 3629's table: they exclude overlong forms, surrogates and
 * code points above U+10FFFF. */
static size_t utf8_seq(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t b = p[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xc2 && b <= 0xdf)
		len = 2;
	else if (b >= 0xe0 && b <= 0xef)
		len = 3;
	else if (b >= 0xf0 && b <= 0xf4)
		len = 4;
	else
		return 0;
	if (b == 0xe0)
		lo = 0xa0;
	else if (b == 0xed)
		hi = 0x9f;
	else if (b == 0xf0)
		lo = 0x90;
	else if (b == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	*cp = b & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (p[i] & 0x3f);
	}
	return len;
}

/* Characters that are valid but must not reach a log line as they are. */
static int is_hidden(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 ||
	       cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The rendering of one unit (a character or an invalid byte) into r;
 * returns its length (at most 16). *used is how many input bytes it takes. */
static size_t render_unit(const uint8_t *p, size_t n, unsigned flags, char *r, size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t cp = 0;
	size_t len = utf8_seq(p, n, &cp), k = 0;

	if (len == 0) {
		*used = 1;
		len = 1; /* one invalid byte, escaped below */
	} else {
		*used = len;
		if (cp == '\\' && !(flags & ESC_KEEP_BACKSLASH)) {
			memcpy(r, "\\\\", 2);
			return 2;
		}
		if (cp == '\n' || cp == '\r' || cp == '\t') {
			r[0] = '\\';
			r[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
			return 2;
		}
		if (!is_hidden(cp)) {
			memcpy(r, p, len);
			return len;
		}
	}
	for (size_t i = 0; i < len; i++) {
		r[k++] = '\\';
		r[k++] = 'x';
		r[k++] = hex[p[i] >> 4];
		r[k++] = hex[p[i] & 15];
	}
	return k;
}

char *esc_bytes(char *dst, size_t dstsz, const void *src, size_t len, unsigned flags)
{
	const uint8_t *p = src;
	const size_t mark = sizeof(ESC_ELLIPSIS) - 1;
	size_t out = 0, safe = 0, i = 0;

	if (dstsz == 0)
		return dst;
	/* safe: the end of the last unit after which the marker still fits,
	 * where the output is cut when a later unit does not fit. */
	while (i < len) {
		char r[16];
		size_t used, rl = render_unit(p + i, len - i, flags, r, &used);

		if (out + rl > dstsz - 1) {
			out = safe;
			if (out + mark <= dstsz - 1) {
				memcpy(dst + out, ESC_ELLIPSIS, mark);
				out += mark;
			}
			break;
		}
		memcpy(dst + out, r, rl);
		out += rl;
		i += used;
		if (out + mark <= dstsz - 1)
			safe = out;
	}
	dst[out] = 0;
	return dst;
}

char *esc_str(char *dst, size_t dstsz, const char *s)
{
	if (!s)
		s = "(null)";
	return esc_bytes(dst, dstsz, s, strlen(s), 0);
}
