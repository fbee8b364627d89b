/* clock.h - the monotonic clock in milliseconds, for deadlines and
 * intervals (never for timestamps a person reads). */
#ifndef ROUTER_CLOCK_H
#define ROUTER_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC. Can't fail. */
int64_t clock_ms(void);

#endif
