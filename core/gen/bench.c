/* bench.c — the `bench` load generator: a 6-column relation with about 10%
 * deletes, filled straight into a batch (no Lua per row), for measuring the
 * sink path at full speed. Values depend only on the row id. */
#include <stdio.h>
#include "../include/sinkgate_ffi.h"

static int row(sg_batch *b, int64_t id, uint64_t time, int64_t diff, uint64_t ts_ms) {
  int64_t r = sg_batch_push_row(b, time, diff);
  if (r < 0) return -1;
  uint32_t ri = (uint32_t)r;
  char name[24];
  int n = snprintf(name, sizeof name, "customer-%lld", (long long)(id % 100000));
  sg_batch_set_i64(b, ri, 0, id);
  if (id % 10) sg_batch_set_bytes(b, ri, 1, name, (size_t)n); /* every 10th name is NULL */
  sg_batch_set_f64(b, ri, 2, (double)(id % 10000) * 0.25);
  sg_batch_set_i64(b, ri, 3, id % 100);
  sg_batch_set_i64(b, ri, 4, (int64_t)ts_ms * 1000);
  sg_batch_set_i64(b, ri, 5, id & 1);
  return 0;
}

int sg_gen_bench_fill(sg_batch *b, int64_t tick, uint32_t n, uint64_t time, uint64_t prev_time) {
  uint32_t ins = n - n / 10;
  for (uint32_t k = 1; k <= ins; k++)
    if (row(b, tick * (int64_t)n + k, time, 1, time) != 0) return -1;
  if (tick == 0) return 0;
  /* delete every 9th row the previous tick inserted, as it was inserted */
  for (uint32_t k = 1, d = 0; k <= ins && d < n / 10; k += 9, d++)
    if (row(b, (tick - 1) * (int64_t)n + k, time, -1, prev_time) != 0) return -1;
  return 0;
}
