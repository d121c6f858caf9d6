/*
 * log: one line per event on stderr, "time LEVEL RPLnnnnS text: detail".
 * The level is set once at start-up; logging never fails the caller.
 * Every line is one line of valid UTF-8 whatever the caller passed (see
 * util/escape.h), and a line equal to the previous one (level, message ID
 * and text) within a short window is counted instead of printed: the count
 * appears as "RPLnnnnS last message repeated N times" before the next
 * different line, so a flood costs a bounded number of lines.
 */
#ifndef RPL_LOG_H
#define RPL_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Longest text of one line, in bytes, "…" included when it was cut. */
#define LOG_TEXT_MAX 1024
/* Default window in which equal lines are coalesced. */
#define LOG_COALESCE_MS 30000

void log_set_level(int level);
int log_get_level(void);
/* msg: a message of util/msgs.def (or a negated error code). */
void log_msg(int level, int msg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prints the pending "repeated" line, if any (at exit, in tests). */
void log_flush(void);
/* 0 turns coalescing off (tests). */
void log_set_coalesce_window(unsigned ms);

/* Logs at the level the message's severity letter names (E error, W warn,
 * I info): for a code held in a variable, whose letter the caller cannot
 * know. log_error, log_warn and log_info take only a message of their own
 * letter (scripts/msgcheck.py checks the sources). */
void log_code(int msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The level a message's severity letter names. */
int log_level_of(int msg);

#define log_error(msg, ...) log_msg(LOG_ERROR, msg, __VA_ARGS__)
#define log_warn(msg, ...)  log_msg(LOG_WARN, msg, __VA_ARGS__)
#define log_info(msg, ...)  log_msg(LOG_INFO, msg, __VA_ARGS__)
#define log_debug(msg, ...) log_msg(LOG_DEBUG, msg, __VA_ARGS__)

#endif
