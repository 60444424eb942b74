#!/usr/bin/env bash
# test/run.sh: run every tokacct test suite and end with "N passed, N failed".
#
#   bash test/run.sh            all suites
#   bash test/run.sh economics  only the named pg_regress suites
#
# Installs missing Debian packages, builds tokacct, stages it with a private
# copy of PostgreSQL under build/, and runs:
#   1. the pg_regress suites sql/*.sql against expected/*.out, in a temporary
#      instance (pg_regress --temp-instance);
#   2. each executable test/t/*.sh script, against a throwaway cluster; a
#      script prints "ok NAME" / "not ok NAME" lines and exits non-zero on
#      failure.
source "$(dirname "$0")/lib.sh"
ensure_readable_tree "$@"

ensure_build_deps python3 python3-scipy
build_and_stage

passed=0
failed=0
OUT=$BUILD/regress
rm -rf "$OUT"
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] && chown postgres: "$OUT"

if [ $# -gt 0 ]; then
	tests=("$@")
else
	mapfile -t tests < <(cd "$TOP/sql" && ls *.sql | grep -v '^tokacct--' | sed 's/\.sql$//' | sort)
fi

cat > "$OUT/temp.conf" <<CONF
shared_preload_libraries = 'pg_cron'
cron.database_name = 'regression'
max_worker_processes = 16
max_parallel_workers = 8
CONF

log "pg_regress: ${#tests[@]} suites"
set +e
(cd "$OUT" && as_owner "$PGBIN_SYS/../lib/pgxs/src/test/regress/pg_regress" \
	--bindir="$PGBIN" --inputdir="$TOP" --outputdir="$OUT" \
	--temp-instance="$OUT/tmp_instance" --temp-config="$OUT/temp.conf" \
	--load-extension=tokacct --dbname=regression --encoding=UTF8 "${tests[@]}") | tee "$OUT/summary.txt"
set -e
p=$(grep -Ec '\.\.\. ok ' "$OUT/summary.txt" || true)
f=$(grep -Ec '\.\.\. FAILED|\.\.\. failed' "$OUT/summary.txt" || true)
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
		if bash "$t" > "$OUT/$name.log" 2>&1; then
			p=$(grep -c '^ok ' "$OUT/$name.log" || true)
			[ "$p" -gt 0 ] || p=1
			passed=$((passed + p))
			echo "ok $name ($p checks)"
		else
			p=$(grep -c '^ok ' "$OUT/$name.log" || true)
			f=$(grep -c '^not ok ' "$OUT/$name.log" || true)
			[ "$f" -gt 0 ] || f=1
			passed=$((passed + p))
			failed=$((failed + f))
			echo "not ok $name"
			tail -n 40 "$OUT/$name.log"
		fi
	done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
