#!/usr/bin/env bash
# The whole test run again (every pg_regress and script suite but this one)
# against a build of tokacct with UndefinedBehaviorSanitizer and -fno-wrapv
# (test/sanitize.sh): a signed overflow (even one -fwrapv would define), a
# misaligned load, a shift out of range or a bad float-to-integer cast in
# tokacct's code aborts the backend and fails here.
source "$(dirname "$0")/../lib.sh"
if [ -n "${TOKACCT_SANITIZED:-}" ]; then
	echo "ok ubsan: this run is the sanitized one"
	exit 0
fi
log=$BUILD/ubsan.log
if bash "$TOP/test/sanitize.sh" > "$log" 2>&1; then
	echo "ok ubsan: $(grep '^sanitized run:' "$log" | sed 's/^sanitized run: //'), $(grep -o '^UBSan: .*' "$log")"
else
	echo "not ok ubsan"
	grep -E '^not ok |FAILED|runtime error' "$log" | sed 's/^/# /' | head -n 40
	tail -n 40 "$log" | sed 's/^/# /' 
	exit 1
fi
