#!/usr/bin/env bash
# Did the work change?  A generated system of record with a known effect at a
# cut-over (test/t/records_effect.py, fixed seed): attach it with
# attach_records(), link a trace source for the AI spend, and check the
# before/after intervals against statsmodels (Newcombe) and numpy/scipy
# (medians and their order-statistic ranks), the chosen effects inside them,
# an effect of zero not significant, the money exact (Decimal), the monthly
# view against numpy, and the bad rows listed with their reasons.
source "$(dirname "$0")/../lib.sh"
ensure_build_deps python3-statsmodels
suite_start
WORK=$(scratch_dir records)
PY=/usr/bin/python3
as_owner $PY "$TOP/test/t/records_effect.py" gen "$WORK/data.sql"
psql_run -f "$WORK/data.sql"
psql_run -At <<'SQL'
SELECT count(*) FROM tokacct.attach('claims_ai', 'public.claims_calls',
	'{"trace_id": "trace_id", "span_id": "span_id", "start_time": "started", "item": "claim",
	  "workflow": "workflow", "model": "model", "provider": "provider", "input_tokens": "input_tokens",
	  "output_tokens": "output_tokens", "cost": "cost", "cost_currency": "currency"}');
SELECT count(*) FROM tokacct.attach_records('claims', 'public.claims_sor',
	'{"item": "claim_id", "workflow": "wf", "segment": "segment", "opened_at": "opened", "resolved_at": "closed",
	  "handler": "handled_by", "human_minutes": "minutes", "bpo_charge": "vendor_fee", "outcome": "status"}',
	options => '{"traces": "claims_ai"}');
SQL
q() { psql_run -At -F'|' -c "$1" > "$WORK/$2"; }
q "SELECT workflow, segment, measure, before, after, ci_low, ci_high, significant, n_before, n_after FROM claims.before_after" before_after.out
q "SELECT workflow, segment, items_before, items_after, cost_per_item_before, cost_per_item_after, cost_avoided_per_month,
	ai_spend_per_month, months_after, net_saving_per_month, rows_left_out, note, sentence FROM claims.before_after_summary" summary.out
q "SELECT item, reason FROM claims.record_problems" problems.out
q "SELECT workflow, period_start, records, items, agent_items, people_items, bpo_items, human_minutes, items_per_fte,
	bpo_spend, cycle_median_days, cycle_p90_days FROM claims.operating_monthly" monthly.out
$PY "$TOP/test/t/records_effect.py" check "$WORK"
