#!/bin/sh
# Builds and runs the JSON parser comparison (bench/json_parse.c). Not part of the cmake
# build: it links four JSON libraries only to measure them. jansson and json-c cannot share
# a translation unit (same identifiers), so json-c gets its own binary, and a third binary
# measures the project's own bridge (common/jsonb.c) built with -O2.
# Usage: bench/json_parse.sh   (pin it for stable numbers: taskset -c 1 bench/json_parse.sh)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
common=$here/../common
out=${TMPDIR:-/tmp}/rt_json_parse_bench
gcc -O2 -Wall -Wextra -o "$out" "$here/json_parse.c" \
    $(pkg-config --cflags --libs jansson libcjson yajl)
gcc -O2 -Wall -Wextra -DWITH_JSONC -o "$out-jsonc" "$here/json_parse.c" \
    $(pkg-config --cflags --libs json-c)
gcc -O2 -Wall -Wextra -DWITH_JSONB -I"$common" -o "$out-jsonb" "$here/json_parse.c" \
    "$common/jsonb.c" "$common/envelope.c" "$common/buf.c" $(pkg-config --cflags --libs jansson) -lm
"$out"
echo
"$out-jsonc" noheader
echo
"$out-jsonb" noheader
