/* sinkgate_ffi.h — the C core as Lua sees it.
 *
 * This header and its parts (core/include/ffi_*.h, one per concern, in the
 * order below) are the single source of the FFI declarations: the C sources
 * include it (so the compiler checks every definition against it) and the
 * build turns it into build/lua/sinkgate/cdef.lua for ffi.cdef
 * (tools/gen-cdef.sh follows these includes; other lines that start with
 * '#' are dropped, so keep preprocessor use to guards).
 *
 * Conventions (after lua-resty-core): functions return 0 on success and -1
 * on failure with a message in err[errlen]; they never call the Lua C API
 * and never longjmp. Pointers returned from *_new are freed by *_free.
 */
#ifndef SINKGATE_FFI_H
#define SINKGATE_FFI_H
#include "ffi_sys.h"
#include "ffi_rows.h"
#include "ffi_encode.h"
#include "ffi_registry.h"
#include "ffi_gen.h"
#include "ffi_sink.h"
#include "ffi_kafka.h"
#include "ffi_yaml.h"
#include "ffi_decode.h"
#include "ffi_state.h"
#include "ffi_http.h"
#endif
