#!/usr/bin/env bash
# pg_dump and pg_restore keep what the user put in tokacct's tables, and a
# logical replication subscription to the ledger feeds the subscriber's
# rollups.  Every
# table of the extension is either dumped (its rows and, for an identity
# column, its sequence) or listed below as derived data that the first
# refresh after a restore rebuilds.  A database with a row in each table, a
# ledger, an attached source and a rollup is dumped and restored into a new
# database: the rows, the costs, the attached views and the rollups agree,
# and rows added after the restore get new ids.
source "$(dirname "$0")/../lib.sh"
suite_start "wal_level = logical"

fail=0

# Derived tables: not dumped on purpose (a snapshot of transaction ids means
# nothing in another cluster; model_alias_lock's rows, locked by writers of
# an alias, are made again by the next write).
derived="'model_alias_lock', 'rollup_daily', 'rollup_progress', 'rollup_source_trace', 'rollup_source_daily', 'rollup_source_attempt', 'rollup_source_item', 'rollup_source_retry', 'rollup_source_waste', 'rollup_source_waste_daily', 'rollup_source_conversation_trace', 'rollup_source_conversation', 'rollup_source_context_daily'"
# Fixed tables: their rows come with the extension script (rollup_lock, the
# row refreshes of the ledger take turns by), so they are not dumped either.
fixed="'rollup_lock'"

out=$(psql_run -At <<SQL 2>&1
SELECT 'not marked: ' || coalesce(string_agg(c.relname, ', ' ORDER BY c.relname), 'none')
  FROM pg_depend d JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'tokacct'
 WHERE d.deptype = 'e' AND c.relkind IN ('r', 'p', 'S')
   AND c.oid <> ALL (e.extconfig) AND c.relname NOT IN ($derived, $fixed);
SELECT 'derived but dumped: ' || coalesce(string_agg(c::regclass::text, ', '), 'none')
  FROM pg_extension e, unnest(e.extconfig) c
 WHERE e.extname = 'tokacct' AND c::regclass::text IN (SELECT 'tokacct.' || x FROM unnest(ARRAY[$derived, $fixed]) x);
SQL
)
echo "$out"
expect_line 'not marked: none' 'every table and sequence of the extension is dumped or listed as derived'
expect_line 'derived but dumped: none' 'the derived and fixed tables are not dumped'

psql_run -c 'CREATE DATABASE src' -c 'CREATE DATABASE dst'
psql_run -d src <<'SQL'
CREATE EXTENSION tokacct;
\getenv shared SHARED_DATA
SELECT tokacct.load_prices_genai(pg_read_file(:'shared' || '/genai-prices/data.json')::jsonb, '2026-01-01');
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'acme', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES ('custom', 'acme', 'm1', 0, '{"equals": "m1"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok) VALUES ('custom', 'acme', 'm1', 3, 15);
INSERT INTO tokacct.price_tier (price_id, kind, threshold, mtok)
SELECT price_id, 'input', 200000, 6 FROM tokacct.price WHERE catalog = 'custom' AND model = 'm1';
INSERT INTO tokacct.price_discount (customer, provider, multiplier) VALUES ('acme-corp', 'acme', 0.8);
INSERT INTO tokacct.price_catalog_choice (provider, model_match, catalog, note) VALUES ('acme', NULL, 'custom', 'ours');
INSERT INTO tokacct.provider_alias (provider, catalog_provider) VALUES ('my-gateway', 'acme');
INSERT INTO tokacct.model_alias (provider, model, catalog_provider, catalog_model) VALUES ('my-gateway', 'prod-chat', 'acme', 'm1');
INSERT INTO tokacct.baseline (workflow, valid_from, bpo_unit_price, human_cost_per_hour, human_minutes_per_item)
VALUES ('triage', '2026-01-01', 2.50, 40, 6);
INSERT INTO tokacct.cutover (workflow, cutover_on) VALUES ('triage', '2026-03-01');
INSERT INTO tokacct.allocation_budget VALUES ('prod', 1000, 'a month');
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, workflow, team)
SELECT '2026-03-01 00:00+00'::timestamptz + g * interval '1 hour', 'acme', 'm1', 1000 * g, 100 * g, 'triage', 'support'
  FROM generate_series(1, 50) g;
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount)
VALUES ('team', 'support', '2026-03-01', '2026-04-01', 0.05);
CALL tokacct.rollup_refresh();
CREATE TABLE otel_traces (
	"Timestamp" timestamptz NOT NULL, "TraceId" text NOT NULL, "SpanId" text NOT NULL, "ParentSpanId" text NOT NULL,
	"TraceState" text, "SpanName" text, "SpanKind" text, "ServiceName" text, "ResourceAttributes" jsonb,
	"ScopeName" text, "ScopeVersion" text, "SpanAttributes" jsonb, "Duration" bigint, "StatusCode" text,
	"StatusMessage" text, PRIMARY KEY ("TraceId", "SpanId"));
INSERT INTO otel_traces VALUES
('2026-03-02 10:00+00', 't1', 'a', '', '', 'invoke_agent triage', 'Internal', 'agents', '{}', 's', '1',
 '{"gen_ai.operation.name": "invoke_agent", "gen_ai.workflow.name": "triage", "app.item_id": "i1"}', 1000, 'Unset', ''),
('2026-03-02 10:00:01+00', 't1', 'b', 'a', '', 'chat', 'Client', 'agents', '{}', 's', '1',
 '{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "my-gateway", "gen_ai.request.model": "prod-chat", "gen_ai.usage.input_tokens": "1000000", "gen_ai.usage.output_tokens": "1000"}', 1000, 'Unset', '');
SELECT count(*) FROM tokacct.attach_otel('prod', 'otel_traces', options => '{"item": "attr:app.item_id"}');
CALL tokacct.rollup_source_create('prod');
CALL tokacct.rollup_source_refresh('prod');
SQL

# The budget's alerts were written by the refresh (0.05 of spend reached).
dump=$(scratch_dir dump)/src.dump
as_owner "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres -Fc -f "$dump" src
as_owner "$PGBIN/pg_restore" -h "$PGHOST" -p "$PGPORT" -U postgres -d dst "$dump"

# The same digest of every dumped table, and of the answers, in both.
digest() {
	psql_run -d "$1" -At <<'SQL'
DO $$
DECLARE r record; d text;
BEGIN
	FOR r IN SELECT c::regclass AS rel FROM pg_extension e, unnest(e.extconfig) c
	          WHERE e.extname = 'tokacct' AND c::regclass::text NOT LIKE '%\_seq' ORDER BY c::regclass::text LOOP
		-- the transaction that inserted a ledger row, the time of a budget's
		-- last refresh and a source rollup's refreshes are the restoring
		-- cluster's own
		EXECUTE format('SELECT count(*) || '' '' || md5(coalesce(string_agg(x, E''\n'' ORDER BY x), '''')) '
			'FROM (SELECT (pg_catalog.to_jsonb(t) - ARRAY[''ingest_xid'', ''spent_at'', ''snapshot'', ''runs'', '
			'''last_run_at'', ''last_full'', ''last_traces'', ''last_groups'', ''last_duration''])::text AS x FROM %s t) s', r.rel) INTO d;
		RAISE NOTICE 'rows % %', r.rel, d;
	END LOOP;
END $$;
SELECT 'ledger ' || count(*) || ' ' || sum(cost) FROM tokacct.price_call_cost;
SELECT 'item ' || item || ' ' || ai_cost FROM prod.items;
SELECT 'budget ' || scope || ' ' || spent || ' ' || alerts::text FROM tokacct.budget_report('2026-03-11 00:00+00');
SELECT 'source rollup ' || day || ' ' || workflow || ' ' || model || ' ' || calls || ' ' || cost FROM tokacct.rollup_source_daily;
SQL
}
src=$(digest src 2>&1) || { echo "$src"; exit 1; }
echo "$src" | sed 's/^/# src: /'

out=$(psql_run -d dst -At <<'SQL' 2>&1
SELECT 'refresh lock row after restore: ' || string_agg(rollup, ',') FROM tokacct.rollup_lock;
SELECT 'rollups after restore: ' || count(*) || ' ' || (SELECT count(*) FROM tokacct.rollup_source_daily)
	|| ' ' || (SELECT count(*) FROM tokacct.rollup_source WHERE snapshot IS NOT NULL) FROM tokacct.rollup_daily;
CALL tokacct.rollup_refresh();
CALL tokacct.rollup_source_refresh('prod');
SELECT 'source rollup refresh after restore counted all: ' || last_full FROM tokacct.rollup_source;
SQL
)
echo "$out"
expect_line 'refresh lock row after restore: ledger' "the ledger's refresh lock row comes with the extension in the restored database"
expect_line 'rollups after restore: 0 0 1' "the rollups start empty after a restore; the source rollup's definition, with its old snapshot, is kept"
expect_line 'source rollup refresh after restore counted all: true' "the source rollup's first refresh after a restore counts everything"
out=$src
expect_line 'source rollup 2026-03-02 triage prod-chat 1 6.015' "the attached source's rollup (one call, 6.015) before and after"

dst=$(digest dst 2>&1)
if [ "$src" = "$dst" ]; then
	echo "ok the restored database has the same rows in every dumped table, the same costs, items and budget spend"
else
	echo "not ok the restored database differs:"; diff <(echo "$src") <(echo "$dst") | sed 's/^/# /'; fail=1
fi
grep -q '^NOTICE:  rows tokacct.price_call 50 ' <<<"$src" \
	&& echo "ok the ledger's 50 rows are in the dump" || { echo "not ok the ledger's rows are missing"; fail=1; }
# By hand: the ledger's call g has 1000g input tokens at 3 USD and 100g
# output tokens at 15 USD a million: 0.0045g, 0.0045 x 1275 in all; the
# attached call (1M input tokens, over the 200k tier at 6 USD; 1,000
# output tokens) costs 6 + 0.015 through the gateway's aliases.
out=$src
expect_line 'ledger 50 5.7375' 'the ledger costs 5.7375 before and after'
expect_line 'item i1 6.015' 'the attached item costs 6.015 through the aliases before and after'
expect_line 'budget support 5.7375 {0.5,0.8,1}' "the budget's spend and alerts before and after"

# Rows added after the restore take new ids: the sequences came with the tables.
out=$(psql_run -d dst -At <<'SQL' 2>&1
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok, in_force_from)
VALUES ('custom', 'acme', 'm1', 4, 20, '2027-01-01');
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens) VALUES ('2026-03-05', 'acme', 'm1', 1, 1);
INSERT INTO tokacct.price_catalog_choice (provider, model_match, catalog) VALUES ('openai', NULL, 'litellm');
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount) VALUES ('team', 'ops', '2026-03-01', '2026-04-01', 1);
SELECT 'new ids ' || (SELECT count(DISTINCT price_id) = count(*) FROM tokacct.price)
	|| ' ' || (SELECT count(*) FROM tokacct.price_call) || ' ' || (SELECT count(*) FROM tokacct.price_catalog_choice)
	|| ' ' || (SELECT count(*) FROM tokacct.budget);
SQL
)
echo "$out"
expect_line 'new ids true 51 2 2' 'rows added after a restore take new ids (price, ledger, catalog choice, budget)'

# The ledger replicated to another database: the subscriber stamps each row
# it applies with its own transaction (the publisher's means nothing to its
# refresh), keeps the stamp when an update is applied, and its rollup counts
# every row: 50 calls, then 51, with 1000 x 1275 input tokens.
psql_run -c 'CREATE DATABASE sub'
psql_run -d sub -c 'CREATE EXTENSION tokacct'
psql_run -d src -c 'CREATE PUBLICATION ledger FOR TABLE tokacct.price_call' \
	-c "SELECT pg_create_logical_replication_slot('ledger', 'pgoutput')" >/dev/null
out=$(psql_run -d sub -At -v pub="host=$PGHOST port=$PGPORT dbname=src user=postgres" <<'SQL' 2>&1
CREATE FUNCTION pg_temp.wait_for(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE ok bool;
BEGIN
	FOR i IN 1..600 LOOP
		EXECUTE q INTO ok;
		IF ok THEN RETURN 'yes'; END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
	RETURN 'timed out';
END $$;
CREATE EXTENSION dblink;
SELECT dblink_connect('p', :'pub');
CREATE TEMP TABLE pub_stamps AS SELECT * FROM dblink('p', 'SELECT call_id, ingest_xid::text FROM tokacct.price_call') AS t(call_id bigint, x text);
CREATE SUBSCRIPTION ledger CONNECTION :'pub' PUBLICATION ledger WITH (create_slot = false, slot_name = 'ledger');
SELECT 'copied=' || pg_temp.wait_for('SELECT count(*) = 50 FROM tokacct.price_call');
SELECT 'own stamps=' || count(*) FILTER (WHERE s.ingest_xid::text <> p.x) || '/' || count(*)
  FROM tokacct.price_call s JOIN pub_stamps p USING (call_id);
CALL tokacct.rollup_refresh();
SELECT 'rollup=' || sum(calls) || ' ' || sum(input_tokens) FROM tokacct.rollup_daily;
CREATE TEMP TABLE sub_stamps AS SELECT call_id, ingest_xid FROM tokacct.price_call;
SELECT dblink_exec('p', $$INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, workflow, team)
	VALUES ('2026-03-04 00:00+00', 'acme', 'm1', 0, 7, 'triage', 'support')$$);
SELECT dblink_exec('p', $$UPDATE tokacct.price_call SET team = 'ops' WHERE call_id = 1$$);
SELECT 'applied=' || pg_temp.wait_for($$SELECT count(*) = 51 AND bool_or(team = 'ops') FROM tokacct.price_call$$);
SELECT 'update kept the stamp=' || (s.ingest_xid = c.ingest_xid) FROM sub_stamps s JOIN tokacct.price_call c USING (call_id) WHERE call_id = 1;
CALL tokacct.rollup_refresh();
SELECT 'rollup=' || sum(calls) || ' ' || sum(input_tokens) FROM tokacct.rollup_daily;
ALTER SUBSCRIPTION ledger DISABLE;
ALTER SUBSCRIPTION ledger SET (slot_name = NONE);
DROP SUBSCRIPTION ledger;
SELECT dblink_disconnect('p');
SQL
) || { echo "$out"; echo "not ok the subscriber script stopped"; exit 1; }
psql_run -d src -c "SELECT pg_drop_replication_slot('ledger')" >/dev/null
echo "$out"
expect_line 'copied=yes' 'the subscription copies the ledger'
expect_line 'own stamps=50/50' "the subscriber stamps the rows it copies with its own transaction"
expect_line 'rollup=50 1275000' "the subscriber's rollup counts every copied row"
expect_line 'applied=yes' 'an insert and an update are applied'
expect_line 'update kept the stamp=true' 'an applied update keeps the stamp'
expect_line 'rollup=51 1275000' "the subscriber's next refresh counts the applied insert once, the update not again"
exit $fail
