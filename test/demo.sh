#!/usr/bin/env bash
# test/demo.sh: the main job.  Installs what is missing, builds and installs
# tokacct into this machine's PostgreSQL 15, starts a throwaway cluster,
# loads realistic agent traces and prints the attribution report, then stops
# the cluster.
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
log "stopping the cluster"
