#!/usr/bin/env bash
# Every SQL example in README.md runs and prints what the README shows.
# README_UPDATE=1 bash test/t/readme.sh rewrites the output blocks instead.
source "$(dirname "$0")/../lib.sh"
suite_start
as_owner env PGHOST="$PGHOST" PGPORT="$PGPORT" SHARED_DATA="$SHARED_DATA" \
	/usr/bin/python3 "$TOP/test/readme_check.py" ${README_UPDATE:+--update} "$TOP/README.md" \
	"$PGBIN/psql" -X -q -U postgres -d postgres
