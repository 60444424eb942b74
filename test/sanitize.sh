#!/usr/bin/env bash
# test/sanitize.sh: build tokacct with UndefinedBehaviorSanitizer and run
# every test suite (test/run.sh) against that build.  CI runs it whole
# (test/t/ubsan.sh); with suite names it runs only those pg_regress suites.
#
# The build is made in a copy of the tree (so the normal objects under src/
# are left alone) with -fsanitize=undefined -fno-sanitize-recover=all: a
# signed overflow, a misaligned load, a shift out of range or a bad
# float-to-integer cast in tokacct's code aborts the backend, which fails
# the suite, and the report goes to $BUILD/sanitize/reports/ubsan.*.  The
# sanitizer's runtime is loaded with tokacct.so (it is linked against it).
#
# PostgreSQL compiles with -fwrapv, which defines signed overflow as
# wrapping, and UBSan then does not check it.  This build adds -fno-wrapv
# so that a wrapped count or amount in tokacct's own code (defined, but
# almost always a wrong answer) is reported too.
#
# Prints the test counts of the sanitized run and every sanitizer report.
source "$(dirname "$0")/lib.sh"

ensure_build_deps
SAN=$BUILD/sanitize
rm -rf "$SAN"
mkdir -p "$SAN/tree" "$SAN/reports"
chmod 755 "$SAN" "$SAN/tree"
(cd "$TOP" && git ls-files -z | xargs -0 cp --parents -t "$SAN/tree")
# untracked files of the work tree too (new suites not committed yet)
(cd "$TOP" && git ls-files -z --others --exclude-standard | { grep -zv '^build/' || true; } |
	xargs -0 -r cp --parents -t "$SAN/tree")

FLAGS="-Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare"
FLAGS="$FLAGS -fno-wrapv -fsanitize=undefined -fsanitize=float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
log "building tokacct with UBSan"
make -C "$SAN/tree" -s PG_CONFIG=$PGBIN_SYS/pg_config PG_CFLAGS="$FLAGS" >/dev/null
case "$(ldd "$SAN/tree/tokacct.so")" in
*libubsan*) ;;
*) echo "tokacct.so is not linked with libubsan" >&2; exit 1 ;;
esac

[ "$(id -u)" -eq 0 ] && chown -R postgres: "$SAN"
set +e
# (a fresh staging for the copy: not the one of a test run that called us)
env -u TOKACCT_STAGED TOKACCT_SANITIZED=1 \
	UBSAN_OPTIONS="print_stacktrace=1:log_path=$SAN/reports/ubsan" \
	TOKACCT_BUILD="$SAN/build" \
	bash "$SAN/tree/test/run.sh" "$@" > "$SAN/run.log" 2>&1
rc=$?
set -e
grep -E '^(ok|not ok) |\.\.\. (ok|FAILED|failed)' "$SAN/run.log" || true
# reports: the log_path files when the runtime honours UBSAN_OPTIONS, else
# the pg_regress server log (script suites that abort fail as "not ok")
reports=$(cat "$SAN"/reports/ubsan.* "$SAN"/build/regress/postmaster.log 2>/dev/null |
	grep -A 12 'runtime error' || true)
n=$(printf '%s\n' "$reports" | grep -c 'runtime error' || true)
echo "UBSan: $n runtime error(s) reported"
printf '%s\n' "$reports" | head -n 200
echo "sanitized run: $(tail -n 1 "$SAN/run.log")"
[ "$rc" -eq 0 ] && [ "$n" -eq 0 ]
