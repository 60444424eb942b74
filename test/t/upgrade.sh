#!/usr/bin/env bash
# The upgrade path.  Installs the first release (0.1.0, the frozen script
# sql/tokacct--0.1.0.sql, which must equal what that release's sources built),
# upgrades it with ALTER EXTENSION tokacct UPDATE through the upgrade
# scripts, and requires:
#   - the upgraded extension to be object for object what a fresh install of
#     the current version creates (functions and their properties, types,
#     tables, columns, constraints, indexes, triggers, views, comments,
#     privileges, and the rows the install script writes);
#   - every pg_regress suite to pass on the upgraded database.
source "$(dirname "$0")/../lib.sh"
build_and_stage
cluster_start

current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$TOP/tokacct.control")
first=0.1.0
failures=0
check() {	# check NAME: ok when the previous command succeeded
	if [ "$1" -eq 0 ]; then echo "ok $2"; else echo "not ok $2"; failures=$((failures + 1)); fi
}

# The frozen first release is what its commit built, when history is here:
# when this tree is itself a git checkout (a copy of it inside another
# checkout, such as the sanitized run's under build/, is not).
if [ "$(git -C "$TOP" rev-parse --show-toplevel 2>/dev/null)" = "$TOP" ] &&
	git -C "$TOP" cat-file -e bcbc7a7^{commit} 2>/dev/null; then
	tmp=$(mktemp)
	for f in $(git -C "$TOP" ls-tree --name-only bcbc7a7 sql/install/ | sort); do
		git -C "$TOP" show "bcbc7a7:$f"
	done > "$tmp"
	tail -n +5 "$TOP/sql/tokacct--$first.sql" | cmp -s - "$tmp"
	check $? "sql/tokacct--$first.sql is the install script of release $first (commit bcbc7a7)"
	rm -f "$tmp"
else
	echo "# no git history in this clone: the frozen script is not compared with its commit"
fi

psql_run -c 'CREATE DATABASE fresh' -c 'CREATE DATABASE upgraded'
psql_run -d fresh -c 'CREATE EXTENSION tokacct'
psql_run -d upgraded -c "CREATE EXTENSION tokacct VERSION '$first'"
v=$(psql_run -d upgraded -Atc "SELECT extversion FROM pg_extension WHERE extname = 'tokacct'")
[ "$v" = "$first" ]; check $? "release $first installs (extversion $v)"
psql_run -d upgraded -c 'ALTER EXTENSION tokacct UPDATE'
v=$(psql_run -d upgraded -Atc "SELECT extversion FROM pg_extension WHERE extname = 'tokacct'")
[ "$v" = "$current" ]; check $? "ALTER EXTENSION tokacct UPDATE reaches $current (extversion $v)"

out=$(scratch_dir upgrade)
psql_run -d fresh -f "$TOP/test/sql/extension_objects.sql" > "$out/fresh.txt" 2>&1
psql_run -d upgraded -f "$TOP/test/sql/extension_objects.sql" > "$out/upgraded.txt" 2>&1
n=$(wc -l < "$out/fresh.txt")
[ "$n" -gt 200 ]; check $? "the object listing is not empty ($n lines for a fresh install)"
diff -u "$out/fresh.txt" "$out/upgraded.txt" > "$out/diff.txt"
check $? "upgraded $first -> $current has the same objects as a fresh $current install"
head -c 8000 "$out/diff.txt"

# Every pg_regress suite, on the upgraded database.
if make -C "$TOP" -s PG_CONFIG="$PGBIN_SYS/pg_config" installcheck REGRESS_OUTDIR="$out" \
		REGRESS_OPTS="--inputdir=. --use-existing --dbname=upgraded --outputdir=$out" > "$out/regress.txt" 2>&1; then
	check 0 "every pg_regress suite passes on the upgraded database ($(grep -c '\.\.\. ok ' "$out/regress.txt") suites)"
else
	check 1 "every pg_regress suite passes on the upgraded database"
	tail -n 20 "$out/regress.txt"
	head -c 8000 "$out/regression.diffs" 2>/dev/null || true
fi
[ "$failures" -eq 0 ]
