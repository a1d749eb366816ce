#!/bin/sh
# Turns core/include/sinkgate_ffi.h into a Lua module returning the text for
# ffi.cdef: preprocessor lines are dropped, declarations kept verbatim.
set -eu
echo "-- Generated from $1 by tools/gen-cdef.sh; do not edit."
echo "return [==["
grep -v '^#' "$1"
echo "]==]"
