/* rf_time: the clocks ruvflow reads. Monotonic time for timeouts, leases and
 * backoff (immune to clock steps); wall time for what is stored or shown. */
#ifndef RF_TIME_H
#define RF_TIME_H

#include <stdint.h>

int64_t rf_mono_ms(void);
int64_t rf_mono_us(void);   /* for durations under a millisecond */
int64_t rf_wall_ms(void);
/* Sleep the whole duration, resuming after signal interruptions. */
void rf_sleep_ms(long ms);

#endif
