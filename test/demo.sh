#!/usr/bin/env bash
# test/demo.sh: the main job.  Installs what is missing, builds and installs
# tokacct into this machine's PostgreSQL 15, starts a throwaway cluster,
# generates Acme's workload (about a million OpenTelemetry spans and a
# system of record of 110,000 items; DEMO_ITEMS sets the size), attaches it,
# prints the report (test/demo.sql) with the time each step took, writes the
# HTML report (build/tokacct-report.html), then stops the cluster.
source "$(dirname "$0")/lib.sh"
ensure_readable_tree "$@"

ensure_build_deps
log "building and installing tokacct"
make -C "$TOP" -s >/dev/null
if [ "$(id -u)" -eq 0 ]; then make -C "$TOP" -s install >/dev/null; else sudo make -C "$TOP" -s install >/dev/null; fi
PGBIN=$PGBIN_SYS
mkdir -p "$BUILD"
[ "$(id -u)" -eq 0 ] && chown postgres: "$BUILD"
started=$SECONDS
log "starting a throwaway cluster"
cluster_start
psql_run -c 'CREATE EXTENSION tokacct' >/dev/null
rm -f "$BUILD/report.json"	# written by the cluster owner below
psql_run -v items="${DEMO_ITEMS:-110000}" -v budget="${DEMO_BUDGET:-42000}" -v burn_budget="${DEMO_BURN_BUDGET:-2000}" \
	-v json="$BUILD/report.json" -f "$TOP/test/demo.sql"
/usr/bin/python3 "$TOP/test/report_html.py" "$BUILD/report.json" "$BUILD/tokacct-report.html"
echo
echo "The HTML report (self-contained; open it in a browser): $BUILD/tokacct-report.html"
echo "The whole demo, cluster start to HTML page: $((SECONDS - started)) s"
log "stopping the cluster"
