#!/usr/bin/env bash
# The BI views through JDBC, as a BI tool's sync reads them (Metabase's uses
# pgjdbc's DatabaseMetaData), and row-level security through every view.
#
# One attached source (the bi suite's workload, test/sql/bi_workload.sql)
# whose span table has row-level security: a reader sees only its team's
# spans.  Two more sources attach each team's rows alone (copies made by
# the owner), the reference.  Checks:
#   - roles: tokacct_admin manages baselines, aliases and budgets;
#     tokacct_reader reads the views but changes nothing and cannot attach;
#   - RLS: for every view, what reader_a (team a) and reader_b (team b) see
#     through the RLS source equals the view of their team's copy, row for
#     row (the source name aside), and differs from the whole;
#   - JDBC (Java 17, Debian's libpostgresql-jdbc-java), as reader_a:
#     getTables and getColumns find every view, every column has a standard
#     JDBC type (no OTHER) and remarks, every view reads; so too the six
#     views of a system of record attached with attach_records (the
#     operating model before and after a cut-over).
source "$(dirname "$0")/../lib.sh"
ensure_build_deps openjdk-17-jdk-headless libpostgresql-jdbc-java
JAR=/usr/share/java/postgresql.jar
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
build_and_stage
cluster_start "listen_addresses = '127.0.0.1'" "port = $port"
export PGPORT=$port
psql_run -c 'CREATE EXTENSION tokacct'
fail=0
ok() { echo "ok $*"; }
notok() { echo "not ok $*"; fail=1; }

VIEWS=(calls spans attempts items conversations problems traces economics_daily economics_weekly economics_monthly
	segments routing waste context_growth cost_quantiles frontier allocation unpriced_models problem_summary focus)
MAPPING='{"trace_id": "tid", "span_id": "sid", "start_time": "started_at", "kind": "kind", "provider": "provider",
	"model": "model", "input_tokens": "input", "output_tokens": "output", "outcome": "outcome", "workflow": "wf",
	"item": "item", "segment": "seg"}'

psql_run -f "$TOP/test/sql/bi_workload.sql" >/dev/null
psql_run >/dev/null <<SQL
CREATE ROLE tokacct_reader NOLOGIN;
CREATE ROLE tokacct_admin NOLOGIN;
CREATE ROLE reader_a LOGIN IN ROLE tokacct_reader;
CREATE ROLE reader_b LOGIN IN ROLE tokacct_reader;
CREATE ROLE admin_1 LOGIN IN ROLE tokacct_admin;
-- the reference copies, one per team, before the policy
CREATE TABLE bi_src.spans_a AS SELECT * FROM bi_src.spans WHERE team = 'team-a';
CREATE TABLE bi_src.spans_b AS SELECT * FROM bi_src.spans WHERE team = 'team-b';
CREATE TABLE bi_src.team_member (role name, team text);
INSERT INTO bi_src.team_member VALUES ('reader_a', 'team-a'), ('reader_b', 'team-b');
ALTER TABLE bi_src.spans ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON bi_src.spans FOR SELECT
	USING (team IN (SELECT m.team FROM bi_src.team_member m WHERE m.role = current_user));
GRANT USAGE ON SCHEMA bi_src TO tokacct_reader;
GRANT SELECT ON bi_src.spans, bi_src.team_member TO tokacct_reader;
SELECT count(*) FROM tokacct.attach('bi', 'bi_src.spans', '$MAPPING');
SELECT count(*) FROM tokacct.attach('bi_a', 'bi_src.spans_a', '$MAPPING');
SELECT count(*) FROM tokacct.attach('bi_b', 'bi_src.spans_b', '$MAPPING');
INSERT INTO tokacct.allocation_budget VALUES ('bi', 1000), ('bi_a', 1000), ('bi_b', 1000);
-- a system of record: the agent's items after a cut-over, the BPO's before
CREATE TABLE bi_src.sor AS
SELECT item AS item_key, min(wf) AS workflow, min(started_at) AS opened, max(started_at) + interval '2 hours' AS resolved,
	   'AI agent'::text AS handler, 3.0 AS minutes, 0.00 AS charge
  FROM bi_src.spans GROUP BY item
UNION ALL
SELECT 'old-' || g, 'claims', '2026-01-05'::timestamptz + g * interval '1 day', '2026-01-08'::timestamptz + g * interval '1 day',
	   'Outsourced', 0, 4.50 FROM generate_series(1, 40) g;
GRANT SELECT ON bi_src.sor TO tokacct_reader;
SELECT count(*) FROM tokacct.attach_records('ops', 'bi_src.sor', '{"item": "item_key", "workflow": "workflow",
	"opened_at": "opened", "resolved_at": "resolved", "handler": "handler", "human_minutes": "minutes", "bpo_charge": "charge"}');
CALL tokacct.grant_admin('tokacct_admin');
CALL tokacct.grant_reader('tokacct_reader');
SQL

# --- roles --------------------------------------------------------------------
if psql_run -U admin_1 >/dev/null 2>&1 <<'SQL'
INSERT INTO tokacct.baseline (workflow, bpo_unit_price) VALUES ('letters', 0.50);
INSERT INTO tokacct.model_alias (model, catalog_model) VALUES ('mystery', 'small');
UPDATE tokacct.allocation_budget SET note = 'set by the admin';
DELETE FROM tokacct.model_alias WHERE model = 'mystery';
DELETE FROM tokacct.baseline WHERE workflow = 'letters';
SQL
then ok "tokacct_admin manages baselines, model aliases and allocation budgets"; else notok "tokacct_admin manages baselines, model aliases and allocation budgets"; fi
for stmt in "INSERT INTO tokacct.baseline (workflow, bpo_unit_price) VALUES ('x', 1)" \
	"UPDATE tokacct.allocation_budget SET budget = 1" "DELETE FROM tokacct.model_alias" \
	"SELECT count(*) FROM tokacct.attach('bi_r', 'bi_src.spans', '$MAPPING')" \
	"SELECT count(*) FROM bi_src.spans_a"; do
	err=$(psql_run -U reader_a -c "$stmt" 2>&1 >/dev/null || true)
	case "$err" in
	*"permission denied"*) ok "tokacct_reader refused: ${stmt:0:50}";;
	*) notok "tokacct_reader not refused: ${stmt:0:50} ($err)";;
	esac
done

# --- row-level security through every view --------------------------------------
# the reference rows of each team, as jsonb without the source name
for team in a b; do
	for v in "${VIEWS[@]}"; do
		echo "CREATE TABLE ref_${team}_$v AS SELECT to_jsonb(x) - 'source' - 'BillingAccountId' - 'BillingAccountName' AS r FROM bi_$team.$v x;"
		echo "GRANT SELECT ON ref_${team}_$v TO tokacct_reader;"
	done
done | psql_run >/dev/null
for team in a b; do
	for v in "${VIEWS[@]}"; do
		res=$(psql_run -U "reader_$team" -At -F ' ' <<SQL
CREATE TEMP VIEW mine AS SELECT to_jsonb(x) - 'source' - 'BillingAccountId' - 'BillingAccountName' AS r FROM bi.$v x;
SELECT (SELECT count(*) FROM mine),
       (SELECT count(*) FROM (SELECT r FROM mine EXCEPT ALL SELECT r FROM ref_${team}_$v) d)
     + (SELECT count(*) FROM (SELECT r FROM ref_${team}_$v EXCEPT ALL SELECT r FROM mine) d);
SQL
		) || res="error"
		set -- $res
		if [ "${2:-x}" = 0 ]; then
			ok "RLS: reader_$team sees through bi.$v exactly its team's rows ($1 rows)"
		else
			notok "RLS: reader_$team through bi.$v: $res (rows, differences from its team's)"
		fi
	done
done
# the whole differs from each team's part (the test can fail)
all=$(psql_run -At -c "SELECT count(*) FROM bi.items")
mine=$(psql_run -U reader_a -At -c "SELECT count(*) FROM bi.items")
if [ "$all" = 123 ] && [ "$mine" = 103 ]; then
	ok "RLS: the owner sees 123 items, reader_a 103 (80 standard, 10 foreign, 13 letters)"
else
	notok "RLS: owner $all items, reader_a $mine (expected 123 and 103)"
fi
seg=$(psql_run -U reader_b -At -c "SELECT segment || ' ' || loss_rank FROM bi.segments WHERE agent_loses")
if [ "$seg" = "exception document 1" ]; then ok "RLS: reader_b's segments: only the exception documents, losing"; else notok "RLS: reader_b's losing segments: $seg"; fi

# --- JDBC, as Metabase's sync ----------------------------------------------------
# sync_schema SCHEMA WHAT NVIEWS VIEW ROWS ROWS_WHAT: BiSync over SCHEMA as
# reader_a; its own checks, then every one of the NVIEWS views read and
# with REMARKS, and VIEW giving ROWS rows
sync_schema() {
	local schema=$1 what=$2 n=$3 view=$4 want=$5 rows_what=$6 out nviews remarks rows
	out=$(java -cp "$JAR" "$TOP/test/java/BiSync.java" "jdbc:postgresql://127.0.0.1:$port/postgres" reader_a "$schema" 2>&1) || true
	echo "$out" | grep -E '^(ok|not ok) '
	echo "$out" | grep -q '^not ok ' && fail=1
	nviews=$(echo "$out" | grep -c "^rows $schema\\." || true)
	if [ "$nviews" = "$n" ]; then ok "JDBC: all $n $what read"; else notok "JDBC: $nviews of $n $what read: $out"; fi
	rows=$(echo "$out" | sed -n "s/^rows $schema\\.$view //p")
	if [ "$rows" = "$want" ]; then ok "JDBC: reader_a reads $rows_what"; else notok "JDBC: reader_a reads $rows rows of $schema.$view, expected $want"; fi
	remarks=$(echo "$out" | grep -c "^ok $schema\\..* has remarks\$" || true)
	if [ "$remarks" = "$n" ]; then ok "JDBC: every one of the $what carries its comment as REMARKS"; else notok "JDBC: $remarks of the $what with remarks"; fi
}
sync_schema bi views "${#VIEWS[@]}" items 103 "103 items (its team's)"
# the operating-model views of the system of record, the same way
RVIEWS=(records record_problems operating_weekly operating_monthly before_after before_after_summary)
sync_schema ops "views of the system of record" "${#RVIEWS[@]}" records 163 \
	"the 163 records (123 items of the agent, 40 of the BPO)"

# --- a tool listing schema tokacct sees no support function ----------------------
fns=$(BISYNC_FUNCTIONS=tokacct java -cp "$JAR" "$TOP/test/java/BiSync.java" \
	"jdbc:postgresql://127.0.0.1:$port/postgres" reader_a 2>&1 | sed -n 's/^function //p' | sort -u)
support=$(psql_run -At <<'SQL'
SELECT string_agg(DISTINCT p.proname, ' ' ORDER BY p.proname)
  FROM pg_proc p
 WHERE p.oid IN (SELECT unnest(ARRAY[typinput, typoutput, typreceive, typsend]::oid[]) FROM pg_type
				  WHERE typnamespace IN ('tokacct'::regnamespace, 'tokacct_internal'::regnamespace)
				 UNION SELECT unnest(ARRAY[aggtransfn, aggfinalfn, aggcombinefn, aggserialfn, aggdeserialfn]::oid[])
				  FROM pg_aggregate a JOIN pg_proc ap ON ap.oid = a.aggfnoid WHERE ap.pronamespace = 'tokacct'::regnamespace)
   AND p.pronamespace IN ('tokacct'::regnamespace, 'tokacct_internal'::regnamespace)
SQL
)
nsupport=$(echo "$support" | wc -w)
seen=$(for f in $support; do if echo "$fns" | grep -qx "$f"; then echo "$f"; fi; done)
if [ "$nsupport" -gt 30 ] && [ -z "$seen" ]; then
	ok "JDBC getFunctions on schema tokacct lists none of the $nsupport support functions (in tokacct_internal)"
else
	notok "JDBC getFunctions on schema tokacct lists support functions: $seen (of $nsupport)"
fi
for f in cost outcome_report retry_report wilson_interval attach_otel; do
	if echo "$fns" | grep -qx "$f"; then ok "JDBC getFunctions on schema tokacct lists $f"; else notok "JDBC getFunctions misses $f"; fi
done

exit $fail
