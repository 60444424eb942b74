#!/usr/bin/env bash
# Every SQL example in README.md runs and prints what the README shows.
# README_UPDATE=1 bash test/t/readme.sh rewrites the output blocks instead.
source "$(dirname "$0")/../lib.sh"
build_and_stage
cluster_start
psql_run -c 'CREATE EXTENSION tokacct'
as_owner env PGHOST="$PGHOST" PGPORT="$PGPORT" SHARED_DATA="$SHARED_DATA" \
	/usr/bin/python3 "$TOP/test/readme_check.py" ${README_UPDATE:+--update} "$TOP/README.md" \
	"$PGBIN/psql" -X -q -U postgres -d postgres
