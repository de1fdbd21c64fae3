#!/usr/bin/env bash
# Builds the C ABI (cargo build -p sylvan-capi), compiles tests/smoke.c against include/sylvan.h
# and the shared library, and again against the static library, and runs both. Also checks that the
# header compiles as C++ when a C++ compiler is there. Exits non-zero on any failure.
#
# Environment knobs:
#   CARGO_TARGET_DIR   cargo's build directory (default /var/tmp/sylvan-target)
#   CC                 C compiler (default gcc); CXX: C++ compiler for the header check (default g++)
#   SYLVAN_SANITIZE    1 (default) builds the shared-library smoke test with
#                      -fsanitize=address,undefined when the compiler supports it; 0 turns that off
set -euo pipefail

capi="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$capi/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/sylvan-target}"
CC="${CC:-gcc}"
CXX="${CXX:-g++}"
lib="$CARGO_TARGET_DIR/debug"

say() { printf '\n==> %s\n' "$*"; }

say "cargo build -p sylvan-capi (target dir $CARGO_TARGET_DIR)"
(cd "$root" && cargo build -p sylvan-capi)
for f in libsylvan_capi.so libsylvan_capi.a; do
    if [ ! -f "$lib/$f" ]; then
        echo "run.sh: $lib/$f was not built" >&2
        exit 1
    fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/sylvan-capi-smoke.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cflags=(-std=c99 -Wall -Wextra -Wpedantic -Werror -g -I "$capi/include")

if command -v "$CXX" >/dev/null 2>&1; then
    say "header compiles as C++ ($CXX)"
    printf '#include "sylvan.h"\nint main() { return SYLVAN_OK; }\n' >"$work/header.cpp"
    "$CXX" -std=c++11 -Wall -Wextra -Werror -I "$capi/include" -c "$work/header.cpp" -o "$work/header.o"
fi

sanitize=()
if [ "${SYLVAN_SANITIZE:-1}" = 1 ] &&
    printf 'int main(void) { return 0; }\n' | "$CC" -x c -fsanitize=address,undefined -o "$work/probe" - 2>/dev/null &&
    "$work/probe"; then
    sanitize=(-fsanitize=address,undefined -fno-omit-frame-pointer)
fi

say "smoke test against the shared library ${sanitize[*]:+(with ${sanitize[*]})}"
"$CC" "${cflags[@]}" "${sanitize[@]}" "$capi/tests/smoke.c" -o "$work/smoke_shared" \
    -L "$lib" -Wl,-rpath,"$lib" -lsylvan_capi -lm
mkdir -p "$work/shared"
"$work/smoke_shared" "$work/shared"

say "smoke test against the static library"
# The system libraries a Rust static library needs on Linux (rustc --print native-static-libs).
"$CC" "${cflags[@]}" "$capi/tests/smoke.c" -o "$work/smoke_static" \
    "$lib/libsylvan_capi.a" -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
mkdir -p "$work/static"
"$work/smoke_static" "$work/static"

say "C smoke tests passed"
