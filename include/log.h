/* log.h - the one logging function of the router: levelled lines to stderr. */
#ifndef ROUTER_LOG_H
#define ROUTER_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Lines above this level are not printed. Default LOG_INFO. */
void log_set_level(enum log_level level);

/* Print one line "router: LEVEL: message" to stderr. Thread-safe (one
 * write(2) per line). Can't fail; a line longer than 1 KiB is cut. */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The level of a syslog severity (librdkafka's log callback): 0-3 error,
 * 4 warning, 5-6 info, 7 and above debug. */
enum log_level log_level_from_syslog(int severity);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
