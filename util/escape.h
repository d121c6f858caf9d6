/*
 * escape: renders untrusted bytes (names, texts and addresses from the
 * network, stored records of an older version) for a log line. The result is
 * always valid UTF-8, one line, without control characters, and bounded in
 * length, so a hostile peer can neither forge log lines nor make a JSON
 * encoder (which rejects invalid UTF-8) drop an activity-log entry.
 * Pure string work: no allocation, no I/O.
 */
#ifndef RPL_ESCAPE_H
#define RPL_ESCAPE_H

#include <stddef.h>

/* Leave '\' as it is. For text composed by our own code from fields that
 * were escaped already (the activity log, the daemon log): escaping the
 * backslash again would turn "\n" into "\\n". Control characters and
 * invalid UTF-8 are escaped in both modes. */
#define ESC_KEEP_BACKSLASH 1u

/* The marker that ends a rendering that did not fit (U+2026, 3 bytes). */
#define ESC_ELLIPSIS "\xe2\x80\xa6"

/*
 * Renders len bytes of src into dst (NUL-terminated, at most dstsz - 1
 * bytes; dstsz 0 writes nothing):
 *  - valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
 *    U+10FFFF) is copied, except the characters below;
 *  - '\n' '\r' '\t' as "\n" "\r" "\t"; other C0 controls, DEL, C1 controls
 *    (U+0080..U+009F), the line and paragraph separators U+2028/U+2029 and
 *    the bidirectional overrides (U+202A..U+202E, U+2066..U+2069), which can
 *    make a terminal show something else than the bytes, as "\xNN" per byte;
 *  - every byte that does not start a valid sequence as "\xNN", and the
 *    rendering resumes at the next byte;
 *  - '\' as "\\" (unless ESC_KEEP_BACKSLASH).
 * When the rendering does not fit, it ends at a whole character or escape
 * followed by ESC_ELLIPSIS. Returns dst.
 */
char *esc_bytes(char *dst, size_t dstsz, const void *src, size_t len, unsigned flags);
/* The same for a NUL-terminated string (NULL renders as "(null)"). */
char *esc_str(char *dst, size_t dstsz, const char *s);

/* One network field escaped in place of the argument, e.g.
 *   snprintf(why, sizeof(why), "this is %s, not %s", name, ESC(to));
 * The buffer is a compound literal: it lives until the end of the enclosing
 * block, so the result must not be kept beyond the statement's block. */
#define ESC_FIELD_MAX 256
#define ESC(s)        esc_str((char[ESC_FIELD_MAX]){ 0 }, ESC_FIELD_MAX, (s))

#endif
