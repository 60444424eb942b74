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

# The frozen first release is what its commit built, when history is here.
if [ "$(git -C "$TOP" rev-parse --show-toplevel 2>/dev/null)" = "$TOP" ] &&
	git -C "$TOP" cat-file -e 'bcbc7a7^{commit}' 2>/dev/null; then
	tmp=$(mktemp)
	# (less the design-document citations of three section comments, which
	# the frozen script no longer carries: every other byte is compared)
	for f in $(git -C "$TOP" ls-tree --name-only bcbc7a7 sql/install/ | sort); do
		git -C "$TOP" show "bcbc7a7:$f"
	done | sed -e 's/^\(-- Economics: scalar functions\) (DESIGN\.md section 5)$/\1/' \
		-e 's/^\(-- Waste in execution traces\) (DESIGN\.md section 7)$/\1/' \
		-e 's/^\(-- Access\) (DESIGN\.md section 13)$/\1/' > "$tmp"
	same=0
	tail -n +5 "$TOP/sql/tokacct--$first.sql" | cmp -s - "$tmp" || same=1
	check $same "sql/tokacct--$first.sql is the install script of release $first (commit bcbc7a7, three design-document citations taken out)"
	rm -f "$tmp"
else
	echo "# not a clone with its history: the frozen script is not compared with its commit"
fi

psql_run -c 'CREATE DATABASE fresh' -c 'CREATE DATABASE upgraded'
psql_run -d fresh -c 'CREATE EXTENSION tokacct'
psql_run -d upgraded -c "CREATE EXTENSION tokacct VERSION '$first'"
v=$(psql_run -d upgraded -Atc "SELECT extversion FROM pg_extension WHERE extname = 'tokacct'")
[ "$v" = "$first" ] && r=0 || r=1; check $r "release $first installs (extversion $v)"
psql_run -d upgraded -c 'ALTER EXTENSION tokacct UPDATE'
v=$(psql_run -d upgraded -Atc "SELECT extversion FROM pg_extension WHERE extname = 'tokacct'")
[ "$v" = "$current" ] && r=0 || r=1; check $r "ALTER EXTENSION tokacct UPDATE reaches $current (extversion $v)"

out=$(scratch_dir upgrade)
psql_run -d fresh -f "$TOP/test/sql/extension_objects.sql" > "$out/fresh.txt" 2>&1
psql_run -d upgraded -f "$TOP/test/sql/extension_objects.sql" > "$out/upgraded.txt" 2>&1
n=$(wc -l < "$out/fresh.txt")
[ "$n" -gt 200 ] && r=0 || r=1; check $r "the object listing is not empty ($n lines for a fresh install)"
diff -u "$out/fresh.txt" "$out/upgraded.txt" > "$out/diff.txt" && r=0 || r=1
check $r "upgraded $first -> $current has the same objects as a fresh $current install"
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
# 0.2.0 gives cost() a ninth argument (cache_write_1h_tokens), so the update
# replaces the eight-argument cost() of 0.1.0.  A view of the user's on it
# stops the update, named, with nothing changed; once it is dropped the
# update goes through and the same view, created again, works.
psql_run -c 'CREATE DATABASE blocked'
psql_run -d blocked -c "CREATE EXTENSION tokacct VERSION '$first'" \
	-c "CREATE VIEW my_costs AS SELECT tokacct.cost('openai', 'gpt-4o', 1000, 100, at => '2026-01-01') AS c"
msg=$(psql_run -d blocked -c 'ALTER EXTENSION tokacct UPDATE' 2>&1) && r=1 || r=0
echo "$msg" | grep -q 'cannot update tokacct: the eight-argument tokacct.cost() is used by view public.my_costs$' || r=1
echo "$msg" | grep -q 'HINT:  Save their definitions, drop them' || r=1
check $r "an update with a view on the eight-argument cost() stops, naming the view"
echo "$msg" | sed 's/^/# /'
v=$(psql_run -d blocked -Atc "SELECT extversion FROM pg_extension WHERE extname = 'tokacct'")
[ "$v" = "$first" ] && r=0 || r=1; check $r "the stopped update changed nothing (extversion $v)"
psql_run -d blocked -c 'DROP VIEW my_costs' -c 'ALTER EXTENSION tokacct UPDATE' \
	-c "CREATE VIEW my_costs AS SELECT tokacct.cost('openai', 'gpt-4o', 1000, 100, at => '2026-01-01') AS c"
v=$(psql_run -d blocked -Atc "SELECT extversion || ' ' || count(*) FROM pg_extension, my_costs WHERE extname = 'tokacct' GROUP BY extversion")
[ "$v" = "$current 1" ] && r=0 || r=1; check $r "without the view the update goes through, and the view is created again ($v)"

[ "$failures" -eq 0 ]
