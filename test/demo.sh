#!/usr/bin/env bash
# test/demo.sh: the main job.  Installs what is missing, builds and installs
# tokacct into this machine's PostgreSQL 15, starts a throwaway cluster,
# loads realistic agent traces and prints the attribution report, writes the
# HTML report of the generated Acme workload (build/tokacct-report.html),
# then stops the cluster.
source "$(dirname "$0")/lib.sh"
ensure_readable_tree "$@"

ensure_build_deps
log "building and installing tokacct"
make -C "$TOP" -s >/dev/null
if [ "$(id -u)" -eq 0 ]; then make -C "$TOP" -s install >/dev/null; else sudo make -C "$TOP" -s install >/dev/null; fi
PGBIN=$PGBIN_SYS
mkdir -p "$BUILD"
[ "$(id -u)" -eq 0 ] && chown postgres: "$BUILD"
log "starting a throwaway cluster"
cluster_start
psql_run -c 'CREATE EXTENSION tokacct' >/dev/null
psql_run -f "$TOP/test/demo_data.sql"
psql_run -f "$TOP/test/demo.sql"
# the HTML report of Acme's workload (part 9 of the report), beside the build
log "writing the HTML report"
psql_run -At -v source=acme_ai -v records=acme.work_items -v workflows=acme.workflows -v budget=300 \
	-v month=2026-10-01 -f "$TOP/test/report_data.sql" > "$BUILD/report.json"
/usr/bin/python3 "$TOP/test/report_html.py" "$BUILD/report.json" "$BUILD/tokacct-report.html"
echo
echo "The HTML report (self-contained; open it in a browser): $BUILD/tokacct-report.html"
log "stopping the cluster"
