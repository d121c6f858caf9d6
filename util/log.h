/*
 * log: one line per event on stderr, "time LEVEL RPLnnnnS text: detail".
 * The level is set once at start-up; logging never fails the caller.
 */
#ifndef RPL_LOG_H
#define RPL_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(int level);
int log_get_level(void);
/* msg: a message of util/msgs.def (or a negated error code). */
void log_msg(int level, int msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(msg, ...) log_msg(LOG_ERROR, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_msg(LOG_WARN, msg, __VA_ARGS__)
#define log_info(msg, ...) log_msg(LOG_INFO, msg, __VA_ARGS__)
#define log_debug(msg, ...) log_msg(LOG_DEBUG, msg, __VA_ARGS__)

#endif
