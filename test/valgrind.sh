#!/usr/bin/env bash
# test/valgrind.sh: run the pg_regress suites against a postmaster running
# under valgrind memcheck, and print a summary.  NOT run by CI (slow).
#
#   bash test/valgrind.sh                 every pg_regress suite
#   bash test/valgrind.sh waste frontier  only those suites
#
# Debian's PostgreSQL is not a valgrind build (no USE_VALGRIND), so palloc
# chunks are not marked: overruns inside a palloc block go unseen.  What
# valgrind still reports is an access outside any malloc'd block (e.g. past
# the end of a large chunk), a conditional jump on uninitialised memory, and
# uninitialised bytes handed to a system call (a send function or a tuple
# written to disk that carries garbage).  An error is counted against
# tokacct when its report (stack or origin) names tokacct.so or one of its
# source files; the others belong to PostgreSQL itself and are listed apart.
source "$(dirname "$0")/lib.sh"

ensure_build_deps valgrind
build_and_stage

VGDIR=$BUILD/valgrind
OUT=$BUILD/valgrind/regress
rm -rf "$VGDIR"
mkdir -p "$VGDIR" "$OUT"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$VGDIR"

if [ $# -gt 0 ]; then
	tests=("$@")
else
	mapfile -t tests < <(cd "$TOP/sql" && ls *.sql | grep -v '^tokacct--' | sed 's/\.sql$//' | sort)
fi

# A cluster made by the usual helper, then restarted under valgrind (JIT off:
# loading LLVM under valgrind only adds reports about the dynamic loader).
cluster_start "max_parallel_workers = 8" "jit = off"
as_owner "$PGBIN/pg_ctl" -D "$CLUSTER/data" -m fast -w stop >/dev/null
log "starting the postmaster under valgrind (logs in $VGDIR)"
as_owner valgrind --quiet --trace-children=yes --track-origins=yes \
	--error-limit=no --num-callers=30 --read-var-info=no \
	--suppressions="$TOP/test/valgrind.supp" \
	--log-file="$VGDIR/vg.%p.log" \
	"$PGBIN/postgres" -D "$CLUSTER/data" >"$VGDIR/postmaster.log" 2>&1 &
for _ in $(seq 1 120); do
	"$PGBIN/pg_isready" -q -h "$CLUSTER" -p 5432 && break
	sleep 1
done

set +e
(cd "$OUT" && as_owner "$PGBIN_SYS/../lib/pgxs/src/test/regress/pg_regress" \
	--bindir="$PGBIN" --inputdir="$TOP" --outputdir="$OUT" \
	--host="$CLUSTER" --port=5432 --user=postgres \
	--load-extension=tokacct --dbname=regression --encoding=UTF8 "${tests[@]}") | tee "$OUT/summary.txt"
set -e
as_owner "$PGBIN/pg_ctl" -D "$CLUSTER/data" -m fast -w -t 300 stop >/dev/null || true
sleep 2

# Summary: split each log into error blocks (a block starts at a line that
# is not indented stack text) and classify them.
python3 - "$VGDIR" <<'PY'
import glob, os, re, sys
ours, theirs = [], []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "vg.*.log"))):
    block = []
    blocks = []
    for line in open(path, errors="replace"):
        body = re.sub(r"^==\d+== ?", "", line.rstrip("\n"))
        if body == "":
            if block:
                blocks.append(block)
            block = []
        else:
            block.append(body)
    if block:
        blocks.append(block)
    for b in blocks:
        head = b[0]
        if not re.search(r"Invalid|uninitialised|Uninitialised|Mismatched|overlap|Conditional|Use of|Syscall|free\(\)", head):
            continue
        text = "\n".join(b)
        (ours if re.search(r"tokacct\.so|src/[a-z_]+\.[ch]|\b(outcome|retry|waste|frontier|alloc|price|econ|money|aggio)_", text) else theirs).append((path, text))
print("valgrind: %d error(s) involving tokacct, %d elsewhere" % (len(ours), len(theirs)))
for path, text in ours:
    print("---- %s\n%s" % (os.path.basename(path), text))
seen = set()
for path, text in theirs:
    key = text.splitlines()[0] + " | " + " ".join(text.splitlines()[1:3])
    if key in seen:
        continue
    seen.add(key)
    print("---- (outside tokacct) %s\n%s" % (os.path.basename(path), "\n".join(text.splitlines()[:8])))
PY
grep -E '\.\.\. (ok|FAILED|failed)' "$OUT/summary.txt" | awk '{ if ($0 ~ /ok/) p++; else f++ } END { printf "%d passed, %d failed\n", p, f }'
