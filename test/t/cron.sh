#!/usr/bin/env bash
# Scheduling the rollup refresh with pg_cron (Debian's postgresql-15-cron):
# a cluster with shared_preload_libraries = 'pg_cron', the refresh scheduled
# by the one cron.schedule call the README shows, seen to run and to fill
# the rollup; the same for the refresh of an attached source's rollup (the
# README's second cron.schedule call); a run that fails (its role may not
# write the rollup) seen in cron.job_run_details with the error.  pg_cron 1.4 schedules by the minute
# at the finest, so this suite waits up to two and a half minutes.
source "$(dirname "$0")/../lib.sh"
ensure_readable_tree "$@"
ensure_build_deps postgresql-$PGVER-cron
build_and_stage
# A build staged before pg_cron was installed lacks it: copy its files in.
if [ ! -e "$STAGE/usr/lib/postgresql/$PGVER/lib/pg_cron.so" ]; then
	dpkg -L postgresql-$PGVER-cron | grep -E '^/usr/(lib|share)/postgresql/' | while read -r f; do
		[ -f "$f" ] || continue
		mkdir -p "$STAGE$(dirname "$f")"
		cp -a "$f" "$STAGE$f"
	done
fi
cluster_start "shared_preload_libraries = 'pg_cron'" "cron.database_name = 'postgres'" \
	"cron.use_background_workers = on" "max_worker_processes = 20"
fail=0
check() { # name, query, expected
	local got
	got=$(psql_run -At -c "$2")
	if [ "$got" = "$3" ]; then echo "ok $1"; else echo "not ok $1: got '$got', expected '$3'"; fail=1; fi
}

psql_run <<'SQL'
CREATE EXTENSION pg_cron;
CREATE EXTENSION tokacct;
-- 100 calls of 0.25 reported: 25 in all.
INSERT INTO tokacct.price_call (at, model, input_tokens, output_tokens, reported_cost, team)
SELECT '2026-01-01 00:00+00'::timestamptz + i * interval '1 hour', 'cron-1', 10, 1, 0.25, 'a'
FROM generate_series(1, 100) i;
-- A role that may run the refresh's SQL but not write the rollups: its runs fail.
CREATE ROLE tokacct_cron_nobody LOGIN;
-- An attached source (the README's 'support'): 10 traces of one call each
-- reporting 0.5 USD: 5 in all.
CREATE TABLE agent_spans ("Timestamp" timestamptz, "TraceId" text, "SpanId" text, "ParentSpanId" text,
	"SpanAttributes" jsonb, PRIMARY KEY ("TraceId", "SpanId"));
INSERT INTO agent_spans SELECT '2026-01-01 00:00+00'::timestamptz + i * interval '1 hour', 't' || i, 's' || i, '',
	'{"gen_ai.operation.name": "chat", "gen_ai.request.model": "cron-1", "gen_ai.usage.cost.amount": "0.5", "gen_ai.usage.cost.currency": "USD"}'
FROM generate_series(1, 10) i;
SELECT count(*) FROM tokacct.attach_otel('support', 'agent_spans');
CALL tokacct.rollup_source_create('support');
SQL
# The README's call, as is.
line=$(grep -m1 "^SELECT cron.schedule('tokacct-rollup'" "$TOP/README.md")
echo "README: $line"
check schedule "SELECT count(*) FROM (${line%;}) s(jobid) WHERE jobid > 0" "1"
# The README's call for an attached source, as is.
sline=$(grep -m1 "^SELECT cron.schedule('tokacct-rollup-support'" "$TOP/README.md")
echo "README: $sline"
check schedule_source "SELECT count(*) FROM (${sline%;}) s(jobid) WHERE jobid > 0" "1"
check schedule_failing "SELECT cron.schedule_in_database('tokacct-rollup-nobody', '* * * * *',
	'CALL tokacct.rollup_refresh()', 'postgres', 'tokacct_cron_nobody') > 0" "t"

ran=""
for _ in $(seq 1 150); do
	ran=$(psql_run -At -c "SELECT count(DISTINCT j.jobname) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
		WHERE d.status IN ('succeeded', 'failed')")
	[ "$ran" = 3 ] && break
	sleep 1
done
check all_jobs_ran "SELECT count(DISTINCT jobid) FROM cron.job_run_details WHERE status IN ('succeeded', 'failed')" "3"
check refresh_succeeded "SELECT d.status FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	WHERE j.jobname = 'tokacct-rollup' AND d.status <> 'running' ORDER BY d.runid LIMIT 1" "succeeded"
check rollup_filled "SELECT sum(calls) || ' ' || sum(cost) FROM tokacct.rollup_daily" "100 25.00"
check source_refresh_succeeded "SELECT d.status FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	WHERE j.jobname = 'tokacct-rollup-support' AND d.status <> 'running' ORDER BY d.runid LIMIT 1" "succeeded"
check source_rollup_filled "SELECT sum(calls) || ' ' || sum(cost) FROM tokacct.rollup_source_daily WHERE source = 'support'" "10 5.000000000000"
check progress_saved "SELECT rows_counted FROM tokacct.rollup_progress" "100"
check failed_run_reported "SELECT d.status || ': ' || split_part(d.return_message, E'\\n', 1) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	WHERE j.jobname = 'tokacct-rollup-nobody' AND d.status <> 'running' ORDER BY d.runid LIMIT 1" \
	"failed: ERROR: permission denied for table rollup_lock"
check unscheduled "SELECT bool_and(cron.unschedule(jobid)) FROM cron.job" "t"
psql_run -c "SELECT count(*) FROM tokacct.detach('support')" -c 'DROP TABLE agent_spans' >/dev/null
psql_run -c 'DROP EXTENSION pg_cron' -c 'DROP EXTENSION tokacct' -c 'DROP ROLE tokacct_cron_nobody'
exit $fail
