#!/usr/bin/env bash
# test/run.sh: run every tokacct test suite and end with "N passed, N failed".
#
#   bash test/run.sh            all suites
#   bash test/run.sh economics  only the named pg_regress suites
#
# Installs missing Debian packages (test/setup.sh), builds tokacct, stages
# it with a private copy of PostgreSQL under build/, starts a throwaway
# cluster from it and runs:
#   1. the pg_regress suites sql/*.sql against expected/*.out, through
#      `make installcheck` against that cluster, as PGXS users run them
#      against their own installed server;
#   2. each test/t/*.sh script, each against a throwaway cluster of its own;
#      a script prints "ok NAME" / "not ok NAME" lines and exits non-zero on
#      failure.  A script that prints no "ok" line has shown nothing and
#      counts as failed.  A check that cannot run here (the citus suite
#      without Citus installed) prints "ok NAME # SKIP why": it is counted
#      as skipped, not passed, and listed before the totals; a script whose
#      every line is a skip is reported as skipped, not failed.
source "$(dirname "$0")/lib.sh"
ensure_readable_tree "$@"

ensure_build_deps
build_and_stage

passed=0
failed=0
skipped=0
skips=()
OUT=$BUILD/regress
rm -rf "$OUT"
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] && chown postgres: "$OUT"

regress=()
[ $# -gt 0 ] && regress=("REGRESS=$*")

log "pg_regress: make installcheck ${*:-(every suite)}"
# Without autovacuum: an automatic ANALYZE writes statistics in a
# transaction of its own, and one still open while a suite's rollup refresh
# takes its snapshot would make the next refresh look at rows the first had
# counted (exact all the same, but the traces it counts, which the suites
# check, would depend on the timing).  The suites ANALYZE where they need
# statistics.
cluster_start "autovacuum = off"
set +e
make -C "$TOP" -s PG_CONFIG="$PGBIN_SYS/pg_config" installcheck "${regress[@]}" \
	REGRESS_OUTDIR="$OUT" 2>&1 | tee "$OUT/summary.txt"
set -e
cp "$CLUSTER/log" "$OUT/postmaster.log" 2>/dev/null || true
cluster_stop
trap - EXIT
p=$(grep -Ec '\.\.\. ok |^ok [0-9]' "$OUT/summary.txt" || true)
f=$(grep -Ec '\.\.\. FAILED|\.\.\. failed|^not ok [0-9]' "$OUT/summary.txt" || true)
if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
	f=1
	echo "not ok pg_regress: no suite ran"
fi
passed=$((passed + p))
failed=$((failed + f))
if [ "$f" -gt 0 ] && [ -f "$OUT/regression.diffs" ]; then
	head -c 20000 "$OUT/regression.diffs"
fi

# Script suites, only when running everything.
if [ $# -eq 0 ]; then
	for t in "$TOP"/test/t/*.sh; do
		[ -e "$t" ] || continue
		name=$(basename "$t" .sh)
		log "script suite $name"
		status=0
		bash "$t" > "$OUT/$name.log" 2>&1 || status=$?
		s=$(grep -c '^ok .* # SKIP' "$OUT/$name.log" || true)
		p=$(($(grep -c '^ok ' "$OUT/$name.log" || true) - s))
		f=$(grep -c '^not ok ' "$OUT/$name.log" || true)
		if [ "$status" -ne 0 ] || [ "$((p + s))" -eq 0 ]; then
			[ "$f" -gt 0 ] || f=1
			echo "not ok $name$([ "$((p + s))" -eq 0 ] && echo ' (no result printed)')"
			tail -n 40 "$OUT/$name.log"
		elif [ "$p" -eq 0 ]; then
			echo "skip $name ($s skipped)"
		else
			echo "ok $name ($p checks$([ "$s" -gt 0 ] && echo ", $s skipped"))"
		fi
		while IFS= read -r line; do skips+=("$line"); done < <(grep '^ok .* # SKIP' "$OUT/$name.log" || true)
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + s))
	done
fi

if [ "$skipped" -gt 0 ]; then
	echo "$skipped skipped:"
	printf '  %s\n' "${skips[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
