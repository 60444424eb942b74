# test/lib.sh: shared set-up for the demo, the test runner and the benchmarks.
#
# Sourced, not run.  Everything here works on a fresh Debian 12 machine as
# root or as an ordinary user with sudo-free access to a PostgreSQL 15
# install: it installs missing Debian packages, builds tokacct, stages a
# private installation under build/ (PostgreSQL's binaries plus tokacct) and
# starts and stops throwaway clusters from it.  Nothing touches a running
# server.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGVER=15
PGBIN_SYS=/usr/lib/postgresql/$PGVER/bin
BUILD=${TOKACCT_BUILD:-$TOP/build}
STAGE=$BUILD/install
PGBIN=$STAGE/usr/lib/postgresql/$PGVER/bin
# The third-party data the suites load (price catalogs, usages): data/.
SHARED_DATA=$TOP/data
export SHARED_DATA

log() { printf '==> %s\n' "$*" >&2; }

# PostgreSQL refuses to run as root, so as root the clusters and suites run
# as the postgres user, who must be able to read this tree and the shared
# data.  A clone inside a private folder (mode 700 somewhere above it) is not
# readable to it: then the calling script re-runs itself from a
# world-readable copy under /var/tmp.  Call with the script's arguments.
ensure_readable_tree() {
	[ "$(id -u)" -eq 0 ] || return 0
	[ -z "${TOKACCT_RELOCATED:-}" ] || return 0
	if runuser -u postgres -- test -r "$TOP/data/genai-prices/data.json" -a -x "$TOP/test"; then
		return 0
	fi
	local dest=/var/tmp/tokacct-tree script
	script=$(realpath --relative-to="$TOP" "$0")
	log "user postgres cannot read $TOP; running from a copy in $dest"
	rm -rf "$dest"
	mkdir -p "$dest"
	(cd "$TOP" && tar --exclude=./build -cf - .) | (cd "$dest" && tar -xf -)
	chmod -R a+rX "$dest"
	export TOKACCT_RELOCATED=1
	cd "$dest"
	exec bash "$dest/$script" "$@"
}

# Install the Debian packages tokacct needs (test/setup.sh), plus those named.
ensure_build_deps() {
	bash "$TOP/test/setup.sh" "$@"
}

# Run a command as the cluster owner: postgres refuses to run as root.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Build tokacct and stage PostgreSQL plus tokacct under $STAGE.  Once per
# test run: test/run.sh sets TOKACCT_STAGED so the suites it starts skip it.
build_and_stage() {
	[ -n "${TOKACCT_STAGED:-}" ] && return 0
	log "building tokacct"
	make -C "$TOP" -s PG_CONFIG=$PGBIN_SYS/pg_config >/dev/null
	if [ ! -x "$PGBIN/postgres" ]; then
		mkdir -p "$STAGE/usr/lib/postgresql" "$STAGE/usr/share/postgresql"
		cp -a /usr/lib/postgresql/$PGVER "$STAGE/usr/lib/postgresql/"
		cp -a /usr/share/postgresql/$PGVER "$STAGE/usr/share/postgresql/"
	fi
	make -C "$TOP" -s PG_CONFIG=$PGBIN_SYS/pg_config install DESTDIR="$STAGE" >/dev/null
	[ "$(id -u)" -eq 0 ] && chown -R postgres: "$BUILD"
	export TOKACCT_STAGED=1
	return 0
}

# Start a throwaway cluster from the staged install; sets PGHOST/PGPORT.
# Extra postgresql.conf lines may be passed as arguments.
cluster_start() {
	CLUSTER=$BUILD/cluster.$$
	rm -rf "$CLUSTER"
	mkdir -p "$CLUSTER"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$CLUSTER"
	as_owner "$PGBIN/initdb" -D "$CLUSTER/data" -U postgres -A trust --no-sync >/dev/null
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$CLUSTER'"
		echo "port = 5432"
		echo "max_worker_processes = 16"
		echo "fsync = off"
		for line in "$@"; do echo "$line"; done
	} | as_owner tee -a "$CLUSTER/data/postgresql.conf" >/dev/null
	as_owner "$PGBIN/pg_ctl" -D "$CLUSTER/data" -l "$CLUSTER/log" -w start >/dev/null
	export PGHOST=$CLUSTER PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
	trap cluster_stop EXIT
}

cluster_stop() {
	if [ -n "${CLUSTER:-}" ] && [ -d "$CLUSTER/data" ]; then
		as_owner "$PGBIN/pg_ctl" -D "$CLUSTER/data" -m fast -w stop >/dev/null 2>&1 || true
		rm -rf "$CLUSTER"
	fi
	if [ -n "${HUGE_PAGES_RESERVED:-}" ]; then
		huge_pages_give_back "$HUGE_PAGES_RESERVED"
		rm -f "$HUGE_PAGES_LEDGER/$$"
		HUGE_PAGES_RESERVED=
	fi
}

# Huge pages a benchmark reserved are given back by number, not by setting
# the count it found, so that two benchmarks at once each give back their
# own; each also writes its number in a file named by its process id, so
# that pages a killed benchmark (SIGKILL: no EXIT trap) kept are given back
# by the next one.
HUGE_PAGES_LEDGER=/var/tmp/tokacct-hugepages
huge_pages_give_back() {
	local cur
	cur=$(cat /proc/sys/vm/nr_hugepages)
	echo $(( cur > $1 ? cur - $1 : 0 )) > /proc/sys/vm/nr_hugepages 2>/dev/null || true
}
huge_pages_reclaim() {
	local f
	for f in "$HUGE_PAGES_LEDGER"/*; do
		[ -f "$f" ] || continue
		# alive, and not a zombie its parent has yet to reap
		case "$(ps -o stat= -p "${f##*/}" 2>/dev/null)" in
			'' | Z*) ;;
			*) continue ;;
		esac
		log "giving back $(cat "$f") huge pages kept by benchmark ${f##*/}, which is gone"
		huge_pages_give_back "$(cat "$f")"
		rm -f "$f"
	done
}

# cluster_start for a benchmark: the same, with the cluster's shared memory
# in huge pages when they can be had.  Every process that touches a page of
# shared memory maps it on its first touch, and a parallel worker is a new
# process for every query: with 4 kB pages it faults once per 4 kB of
# shared buffers it reads (on the 2-core VM the figures come from, about
# 12 us a fault, so that 2 workers made even a grouped count(*) slower than
# one backend).  Huge pages are what PostgreSQL's documentation advises for
# large shared_buffers.  As root, the pages are reserved here
# (vm.nr_hugepages) and given back when the cluster stops (see
# huge_pages_give_back); otherwise, or
# when the kernel cannot find them, the cluster runs with huge_pages = try
# and the line printed says which it got.  BENCH_HUGE_PAGES=off skips it.
bench_cluster_start() {
	local arg sb_mb=128 page_kb need before got setting="huge_pages = try"
	for arg in "$@"; do
		case "$arg" in
			"shared_buffers = "*GB) sb_mb=$(( ${arg//[!0-9]/} * 1024 )) ;;
			"shared_buffers = "*MB) sb_mb=${arg//[!0-9]/} ;;
		esac
	done
	page_kb=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo 2>/dev/null || true)
	if [ "${BENCH_HUGE_PAGES:-on}" = on ] && [ "$(id -u)" -eq 0 ] && [ -n "$page_kb" ] \
		&& [ -w /proc/sys/vm/nr_hugepages ]; then
		# shared_buffers and a tenth, plus 256 MB for the rest of the segment
		need=$(( (sb_mb * 11 / 10 + 256) * 1024 / page_kb ))
		mkdir -p "$HUGE_PAGES_LEDGER"
		huge_pages_reclaim
		before=$(cat /proc/sys/vm/nr_hugepages)
		echo $((before + need)) > /proc/sys/vm/nr_hugepages 2>/dev/null || true
		got=$(cat /proc/sys/vm/nr_hugepages)
		if [ "$got" -ge $((before + need)) ]; then
			HUGE_PAGES_RESERVED=$need
			echo "$HUGE_PAGES_RESERVED" > "$HUGE_PAGES_LEDGER/$$"
			setting="huge_pages = on"
			# given back even if the cluster fails to start
			trap cluster_stop EXIT
		elif [ "$got" -gt "$before" ]; then
			huge_pages_give_back $((got - before))
		fi
	fi
	[ "${BENCH_HUGE_PAGES:-on}" = on ] || setting="huge_pages = off"
	cluster_start "$@" "$setting"
	local pages="4 kB, or huge ones if the kernel had them"
	[ "$setting" = "huge_pages = on" ] && pages="$page_kb kB"
	[ "$setting" = "huge_pages = off" ] && pages="4 kB"
	echo "shared memory: $setting ($(psql_run -At -c "SHOW shared_memory_size") in pages of $pages;" \
		"BENCH_HUGE_PAGES=off for 4 kB pages)"
}

# The start of a script suite: tokacct built and staged, a throwaway
# cluster (extra postgresql.conf lines as for cluster_start) with the
# extension created.
suite_start() {
	build_and_stage
	cluster_start "$@"
	psql_run -c 'CREATE EXTENSION tokacct'
}

# Make the folder NAME inside the cluster's folder, writable by the cluster
# owner, and print its path.
scratch_dir() {
	local d=$CLUSTER/$1
	mkdir -p "$d"
	if [ "$(id -u)" -eq 0 ]; then chown postgres: "$d"; fi
	echo "$d"
}

# expect_line WANT NAME: "ok NAME" when $out holds the line WANT exactly (a
# fixed string, the whole line); else "not ok NAME (want WANT)" and fail=1.
expect_line() {
	if grep -qxF -- "$1" <<<"$out"; then echo "ok $2"; else echo "not ok $2 (want $1)"; fail=1; fi
}

# psql against the throwaway cluster, quiet and strict.
psql_run() {
	as_owner env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres SHARED_DATA="$SHARED_DATA" \
		"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}
