/* ffi_gen.h — part of sinkgate_ffi.h: load generators.
 * sinkgate_ffi.h includes the parts in order (a part may use the types of
 * those before it); its conventions hold here. */
#ifndef SINKGATE_FFI_GEN_H
#define SINKGATE_FFI_GEN_H
#include <stddef.h>
#include <stdint.h>

/* ---- load generators ---- */
/* counter: one bigint column; appends n rows counter_start.. at time. */
int sg_gen_counter_fill(sg_batch *b, int64_t counter_start, uint32_t n, uint64_t time);
/* bench: (id bigint, name text, price double, qty integer, ts timestamptz,
 * active boolean). Tick t has n changes: the first 9n/10 insert ids
 * t*n+1…, the rest delete rows inserted at tick t-1 (none at tick 0).
 * Stateless per tick. */
int sg_gen_bench_fill(sg_batch *b, int64_t tick, uint32_t n, uint64_t time, uint64_t tick_time_of_prev);

#endif
