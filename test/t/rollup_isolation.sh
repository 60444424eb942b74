#!/usr/bin/env bash
# Concurrent rollup refreshes and inserts racing them, with PostgreSQL's
# isolation tester (pg_isolation_regress from postgresql-server-dev-15):
# test/isolation/specs/*.spec against test/isolation/expected/*.out.  The
# expected sums were worked out by hand from the costs in each spec.
source "$(dirname "$0")/../lib.sh"
ensure_readable_tree "$@"
ensure_build_deps
suite_start

ISO=/usr/lib/postgresql/$PGVER/lib/pgxs/src/test/isolation
out=$BUILD/isolation
rm -rf "$out"; mkdir -p "$out"
[ "$(id -u)" -eq 0 ] && chown postgres: "$out"
specs=$(cd "$TOP/test/isolation/specs" && ls *.spec | sed 's/\.spec$//')
fail=0
for s in $specs; do
	if as_owner "$ISO/pg_isolation_regress" --use-existing --dbname=postgres \
			--host="$PGHOST" --port="$PGPORT" --user=postgres \
			--inputdir="$TOP/test/isolation" --outputdir="$out" "$s" > "$out/$s.log" 2>&1; then
		echo "ok isolation $s"
	else
		echo "not ok isolation $s"
		cat "$out/$s.log"
		cat "$out/regression.diffs" 2>/dev/null || true
		fail=1
	fi
done
exit $fail
