# test/citus_cluster.sh: a throwaway three-node Citus cluster for the
# script suite test/t/citus.sh.  Sourced after test/lib.sh.
#
# Citus is not in Debian's archive and is not part of this repository: it
# is found where it was installed into the system's PostgreSQL 15
# ($PGBIN_SYS/../lib/citus.so), and copied into the staged install under
# build/ (which is a copy of the system's PostgreSQL made when it was first
# staged, perhaps before Citus was installed).
#
#   citus_installed            true when the system's PostgreSQL has Citus
#   citus_stage                copy Citus's library and extension files into $STAGE
#   citus_cluster_start DIR    three nodes on 127.0.0.1, from the staged binaries:
#                              a coordinator and two workers added to it; sets
#                              CITUS_PORTS (coordinator first).  The coordinator
#                              is not in the metadata yet: see citus_add_coordinator.
#   citus_add_coordinator      record the coordinator in the metadata (it then
#                              gets a copy of every reference table)
#   citus_psql N ARGS...       psql as postgres on node N (0: the coordinator)
#   citus_cluster_stop         stop the three nodes and remove DIR
#
# Every node runs with citus.coordinator_aggregation_strategy = 'disabled':
# an aggregate that Citus cannot push to the workers then fails instead of
# pulling every row to the coordinator, so a test of pushed-down
# aggregation cannot pass by not pushing down.

CITUS_SYS_LIB=$(dirname "$PGBIN_SYS")/lib
CITUS_SYS_EXT=/usr/share/postgresql/$PGVER/extension
CITUS_DIR=
CITUS_PORTS=()

citus_installed() {
	[ -f "$CITUS_SYS_LIB/citus.so" ] && [ -f "$CITUS_SYS_EXT/citus.control" ]
}

citus_stage() {
	local lib=$STAGE/usr/lib/postgresql/$PGVER/lib
	local ext=$STAGE/usr/share/postgresql/$PGVER/extension
	local f
	for f in "$CITUS_SYS_LIB"/citus*.so; do
		cmp -s "$f" "$lib/$(basename "$f")" || cp -a "$f" "$lib/"
	done
	if [ -d "$CITUS_SYS_LIB/citus_decoders" ]; then
		rm -rf "$lib/citus_decoders"
		cp -a "$CITUS_SYS_LIB/citus_decoders" "$lib/"
	fi
	cp -a "$CITUS_SYS_EXT"/citus* "$ext/"
	if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$lib" "$ext"; fi
}

# A TCP port on 127.0.0.1 that nothing listens on.
citus_free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
}

citus_psql() {
	local n=$1
	shift
	as_owner "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${CITUS_PORTS[$n]}" -U postgres "$@"
}

citus_cluster_start() {
	CITUS_DIR=$1
	local i port
	rm -rf "$CITUS_DIR"
	mkdir -p "$CITUS_DIR"
	if [ "$(id -u)" -eq 0 ]; then chown postgres: "$CITUS_DIR"; fi
	CITUS_PORTS=()
	for i in 0 1 2; do
		port=$(citus_free_port)
		as_owner "$PGBIN/initdb" -D "$CITUS_DIR/n$i" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
		{
			echo "listen_addresses = '127.0.0.1'"
			echo "port = $port"
			echo "unix_socket_directories = '$CITUS_DIR'"
			echo "shared_preload_libraries = 'citus'"
			echo "citus.coordinator_aggregation_strategy = 'disabled'"
			echo "max_worker_processes = 16"
			echo "fsync = off"
		} | as_owner tee -a "$CITUS_DIR/n$i/postgresql.conf" >/dev/null
		as_owner "$PGBIN/pg_ctl" -D "$CITUS_DIR/n$i" -l "$CITUS_DIR/n$i.log" -w start >/dev/null
		CITUS_PORTS+=("$port")
		citus_psql "$i" -c 'CREATE EXTENSION citus' postgres
	done
	trap citus_cluster_stop EXIT
	citus_psql 0 -At -c "SELECT citus_add_node('127.0.0.1', ${CITUS_PORTS[1]})" \
		-c "SELECT citus_add_node('127.0.0.1', ${CITUS_PORTS[2]})" postgres >/dev/null
}

citus_add_coordinator() {
	citus_psql 0 -At -c "SELECT citus_set_coordinator_host('127.0.0.1', ${CITUS_PORTS[0]})" postgres >/dev/null
}

citus_cluster_stop() {
	local i
	[ -n "$CITUS_DIR" ] || return 0
	for i in 0 1 2; do
		if [ -d "$CITUS_DIR/n$i" ]; then
			as_owner "$PGBIN/pg_ctl" -D "$CITUS_DIR/n$i" -m immediate -w stop >/dev/null 2>&1 || true
		fi
	done
	rm -rf "$CITUS_DIR"
	CITUS_DIR=
}
