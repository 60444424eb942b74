#!/usr/bin/env bash
# A source refresh after the transaction counter has moved on by more than
# 2^31 since the source's rows were written (and frozen): those rows keep
# their 32-bit xmin, which then reads as newer than the reference
# transaction of age(), yet they are not new.  One late span must still
# make one trace recomputed and one group rebuilt, not every old trace
# again at every refresh.
#
# The counter is moved with pg_resetwal -x (the clog segment of the new
# next id created, zeroed, as pg_resetwal's documentation says), after
# VACUUM FREEZE of every database (a row not frozen would read as from the
# future).  The figures are those of the rollup_source suite's source:
# trace g (1 .. 300) is an agent span (workflow wf<g % 3>) with four calls
# of 1000 input and 100 output tokens at gpt-4o's 2.50 / 10 USD per
# million, 0.0035 a call, started g minutes after 2026-03-01 00:00 UTC.
source "$(dirname "$0")/../lib.sh"
ensure_readable_tree "$@"
suite_start "autovacuum = off"
fail=0

check() { # name, query, expected
	local got
	got=$(psql_run -At -c "$2")
	if [ "$got" = "$3" ]; then echo "ok $1"; else echo "not ok $1: got '$got', expected '$3'"; fail=1; fi
}

psql_run <<'SQL'
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'openai', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES
	('custom', 'openai', 'gpt-4o', 0, '{"equals": "gpt-4o"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, cache_read_mtok, cache_write_mtok, output_mtok) VALUES
	('custom', 'openai', 'gpt-4o', 2.50, 1.25, NULL, 10.00);
CREATE SCHEMA wl;
CREATE TABLE wl.spans ("Timestamp" timestamptz, "TraceId" text, "SpanId" text, "ParentSpanId" text,
	"SpanName" text, "SpanAttributes" jsonb, "StatusCode" text, PRIMARY KEY ("TraceId", "SpanId"));
INSERT INTO wl.spans
SELECT '2026-03-01 00:00+00'::timestamptz + g * interval '1 minute' + k * interval '1 second',
	   'bt' || g, 'bs' || g || '-' || k, CASE WHEN k > 0 THEN 'bs' || g || '-0' ELSE '' END,
	   CASE WHEN k = 0 THEN 'invoke_agent' ELSE 'chat' END,
	   CASE WHEN k = 0 THEN jsonb_build_object('gen_ai.operation.name', 'invoke_agent', 'gen_ai.workflow.name', 'wf' || g % 3)
			ELSE jsonb_build_object('gen_ai.operation.name', 'chat', 'gen_ai.provider.name', 'openai',
				 'gen_ai.request.model', 'gpt-4o', 'gen_ai.usage.input_tokens', '1000',
				 'gen_ai.usage.output_tokens', '100') END,
	   'Unset'
  FROM generate_series(1, 300) g, generate_series(0, 4) k;
SELECT count(*) FROM tokacct.attach_otel('wrap', 'wl.spans');
CALL tokacct.rollup_source_create('wrap');
CALL tokacct.rollup_source_refresh('wrap');
SQL
check first_refresh "SELECT last_full, last_traces, sum(d.calls), sum(d.cost) FROM tokacct.rollup_source s
	JOIN tokacct.rollup_source_daily d USING (source) GROUP BY 1, 2" "t|300|1200|4.2000"

# Freeze every database, then move the counter 2^31 + 1000 past the rows.
as_owner "$PGBIN/vacuumdb" -h "$PGHOST" -p "$PGPORT" -U postgres --all --freeze -q
xmin=$(psql_run -At -c 'SELECT min(xmin::text::int8) FROM wl.spans')
next=$((xmin + 2147483648 + 1000))
as_owner "$PGBIN/pg_ctl" -D "$CLUSTER/data" -w stop -m fast >/dev/null
as_owner dd if=/dev/zero of="$CLUSTER/data/pg_xact/$(printf '%04X' $((next / 1048576)))" bs=262144 count=1 2>/dev/null
as_owner "$PGBIN/pg_resetwal" -x "$next" -u $((next - 1000000)) -D "$CLUSTER/data" >/dev/null
as_owner "$PGBIN/pg_ctl" -D "$CLUSTER/data" -l "$CLUSTER/log" -w start >/dev/null
check counter_moved "SELECT age('$xmin'::text::xid) < 0" "t"

# More than 2^31 since the saved snapshot: everything counted again.
psql_run -c "CALL tokacct.rollup_source_refresh('wrap')"
check refresh_after_wrap "SELECT last_full, last_traces FROM tokacct.rollup_source" "t|300"

# One late call of trace bt17 (wf2): 2000 input and 100 output tokens,
# 0.006.  Its group (March 1, wf2: traces 2, 5, ..., 299, that is 100) has
# 401 calls and 400 x 0.0035 + 0.006 = 1.406.
psql_run -c "INSERT INTO wl.spans VALUES ('2026-03-01 00:17:09+00', 'bt17', 'bs17-late', 'bs17-0', 'chat',
	'{\"gen_ai.operation.name\": \"chat\", \"gen_ai.provider.name\": \"openai\", \"gen_ai.request.model\": \"gpt-4o\", \"gen_ai.usage.input_tokens\": \"2000\", \"gen_ai.usage.output_tokens\": \"100\"}', 'Unset')"
psql_run -c "CALL tokacct.rollup_source_refresh('wrap')"
check late_span_one_trace "SELECT last_full, last_traces, last_groups FROM tokacct.rollup_source" "f|1|1"
check late_span_group "SELECT traces, calls, cost FROM tokacct.rollup_source_daily WHERE workflow = 'wf2'" "100|401|1.4060"
check rollup_as_direct "SELECT (SELECT sum(calls) || ' ' || sum(cost) FROM tokacct.rollup_source_daily)
	= (SELECT count(*) || ' ' || sum(cost) FROM wrap.calls)" "t"
# and nothing new: nothing recomputed
psql_run -c "CALL tokacct.rollup_source_refresh('wrap')"
check nothing_new "SELECT last_full, last_traces, last_groups FROM tokacct.rollup_source" "f|0|0"

exit $fail
