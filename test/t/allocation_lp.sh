#!/usr/bin/env bash
# The allocation is the LP optimum: 240 random instances (fixed seed) solved by
# tokacct and, independently, by scipy.optimize.linprog (HiGHS) under
# Debian's own /usr/bin/python3.  See test/t/allocation_lp.py.
source "$(dirname "$0")/../lib.sh"
suite_start
WORK=$(scratch_dir lp)
PY=/usr/bin/python3
as_owner $PY "$TOP/test/t/allocation_lp.py" gen "$WORK/instances.sql"
# odd lines: summaries; even lines: plan checks
as_owner sed -n '1~2p' "$WORK/instances.sql" > "$WORK/summary.sql"
as_owner sed -n '2~2p' "$WORK/instances.sql" > "$WORK/plans.sql"
psql_run -At -F'|' -f "$WORK/summary.sql" > "$WORK/summary.out"
psql_run -At -F'|' -f "$WORK/plans.sql" > "$WORK/plans.out"
$PY "$TOP/test/t/allocation_lp.py" check "$WORK/summary.out" "$WORK/plans.out"
