/* counter.c — the `counter` load generator: one bigint column `counter`
 * counting up from 1; deterministic, so a restart regenerates the same rows. */
#include "../include/sinkgate_ffi.h"

int sg_gen_counter_fill(sg_batch *b, int64_t counter_start, uint32_t n, uint64_t time) {
  for (uint32_t i = 0; i < n; i++) {
    int64_t r = sg_batch_push_row(b, time, 1);
    if (r < 0) return -1;
    sg_batch_set_i64(b, (uint32_t)r, 0, counter_start + (int64_t)i);
  }
  return 0;
}
