#!/bin/sh
# Turns core/include/sinkgate_ffi.h into a Lua module returning the text for
# ffi.cdef: its `#include "ffi_*.h"` lines are replaced by those parts (from
# the same directory), other preprocessor lines are dropped, declarations
# kept verbatim.
set -eu
dir=$(dirname "$1")
echo "-- Generated from $1 by tools/gen-cdef.sh; do not edit."
echo "return [==["
grep '^#include "ffi_' "$1" | sed 's/^#include "\(.*\)"/\1/' | while read -r part; do
  grep -v '^#' "$dir/$part"
done
echo "]==]"
