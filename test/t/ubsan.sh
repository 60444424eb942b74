#!/usr/bin/env bash
# Every pg_regress suite again, against a build of tokacct with
# UndefinedBehaviorSanitizer (test/sanitize.sh): a signed overflow (even one
# -fwrapv would define), a misaligned load, a shift out of range or a bad
# float-to-integer cast in tokacct's code aborts the backend and fails here.
source "$(dirname "$0")/../lib.sh"
if [ -n "${TOKACCT_SANITIZED:-}" ]; then
	echo "ok ubsan: this run is the sanitized one"
	exit 0
fi
mapfile -t suites < <(cd "$TOP/sql" && ls *.sql | grep -v '^tokacct--' | sed 's/\.sql$//' | sort)
log=$BUILD/ubsan.log
if bash "$TOP/test/sanitize.sh" "${suites[@]}" > "$log" 2>&1; then
	echo "ok ubsan: $(grep '^sanitized run:' "$log" | sed 's/^sanitized run: //'), $(grep -o '^UBSan: .*' "$log")"
else
	echo "not ok ubsan"
	tail -n 60 "$log"
	exit 1
fi
