-- The BI views over an attached source.  The workload:
-- workflow "claims", BPO price 4.50 per claim, a human fix costs 60.00 an
-- hour x 3 minutes = 3.00; every attempt is one LLM call priced at 1.00 per
-- million input tokens, so its cost is its input tokens / 1e6.
--   standard  80 claims on model small, 1,000,000 tokens (1.00) an attempt,
--             all solved first try: AI 80.00, no fix.
--   exception 20 claims on model large, 2,500,000 tokens (2.50) an attempt;
--             8 solved at attempt 1, 4 at 2, 4 at 3, 4 never (3 tries):
--             40 attempts, AI 100.00, failed attempts 24 = 60.00, fixes
--             4 x 3.00 = 12.00; all-in 112.00 / 20 = 5.60 a claim against
--             4.50: the agent loses 1.10 a claim, 22.00 at stake; p1 0.40.
--   foreign   10 claims on model tiny, 1.50 an attempt; 2 solved at each
--             attempt 1..3, 4 never: 24 attempts, AI 36.00, failed 18 =
--             27.00, fixes 12.00; 48.00 / 10 = 4.80: loses 0.30, 3.00 at
--             stake; p1 0.20.
--   whole     110 claims, 102 solved, 144 attempts, AI 216.00, fixes 24.00:
--             240.00 / 110 = 2.1818... a claim: the agent wins overall.
-- Workflow "letters": 12 items on small, all solved (too few for routing),
-- and one call of an unknown model (unpriced: its item is left out).
-- Standard claims start on Monday 2026-03-02, exceptions on 2026-03-03,
-- foreign ones on Monday 2026-03-09, letters on 2026-03-04.
-- In a database of its own: the suites after it find tokacct's catalog
-- and sequences as they left them.
\set regress_db :DBNAME
CREATE DATABASE tokacct_bi;
\c tokacct_bi
SET client_min_messages = warning;
CREATE EXTENSION tokacct;
RESET client_min_messages;
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';
CREATE SCHEMA bi_src;
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'acme', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES
	('custom', 'acme', 'small', 0, '{"equals": "small"}'),
	('custom', 'acme', 'large', 1, '{"equals": "large"}'),
	('custom', 'acme', 'tiny', 2, '{"equals": "tiny"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok) VALUES
	('custom', 'acme', 'small', 1.00, 0), ('custom', 'acme', 'large', 1.00, 0), ('custom', 'acme', 'tiny', 1.00, 0);
INSERT INTO tokacct.baseline (workflow, bpo_unit_price, human_cost_per_hour, human_minutes_per_item)
VALUES ('claims', 4.50, 60, 3);

-- attempts: (workflow, segment, item number, attempt, succeeded, model, tokens, day)
CREATE TABLE bi_src.plan AS
SELECT 'claims' AS wf, 'standard' AS seg, 's' || i AS item, 1 AS attempt, true AS ok, 'small' AS model,
	   1000000 AS tokens, '2026-03-02'::date AS day
  FROM generate_series(1, 80) i
UNION ALL
SELECT 'claims', 'exception document', 'e' || i, a,
	   (i <= 8 AND a = 1) OR (i BETWEEN 9 AND 12 AND a = 2) OR (i BETWEEN 13 AND 16 AND a = 3),
	   'large', 2500000, '2026-03-03'
  FROM generate_series(1, 20) i, generate_series(1, 3) a
 WHERE a = 1 OR (a = 2 AND i > 8) OR (a = 3 AND i > 12)
UNION ALL
SELECT 'claims', 'foreign', 'f' || i, a,
	   (i <= 2 AND a = 1) OR (i BETWEEN 3 AND 4 AND a = 2) OR (i BETWEEN 5 AND 6 AND a = 3),
	   'tiny', 1500000, '2026-03-09'
  FROM generate_series(1, 10) i, generate_series(1, 3) a
 WHERE a = 1 OR (a = 2 AND i > 2) OR (a = 3 AND i > 4)
UNION ALL
SELECT 'letters', NULL, 'l' || i, 1, true, CASE WHEN i = 13 THEN 'mystery' ELSE 'small' END, 1000, '2026-03-04'
  FROM generate_series(1, 13) i;
SELECT wf, seg, count(DISTINCT item) AS items, count(*) AS attempts, count(*) FILTER (WHERE ok) AS solved,
	   sum(tokens) / 1e6 AS ai_cost
  FROM bi_src.plan GROUP BY 1, 2 ORDER BY 1, 2;
-- one span per attempt, in a flat table of the user's own
CREATE TABLE bi_src.spans AS
SELECT wf || '-' || item || '-' || attempt AS tid, 'sp-' || item || '-' || attempt AS sid,
	   (day + time '08:00' + attempt * interval '1 minute') AT TIME ZONE 'UTC' AS started_at,
	   'llm'::text AS kind, 'acme'::text AS provider, model, tokens AS input, 0 AS output,
	   CASE WHEN ok THEN 'success' ELSE 'failure' END AS outcome, wf, item, seg, 'team-' || (CASE WHEN item LIKE 'e%' THEN 'b' ELSE 'a' END) AS team
  FROM bi_src.plan;
ALTER TABLE bi_src.spans ADD PRIMARY KEY (sid);
SELECT view_name, action FROM tokacct.attach('bi', 'bi_src.spans', '{"trace_id": "tid", "span_id": "sid",
	"start_time": "started_at", "kind": "kind", "provider": "provider", "model": "model",
	"input_tokens": "input", "output_tokens": "output", "outcome": "outcome", "workflow": "wf",
	"item": "item", "segment": "seg"}');

-- every BI view: plain column types only, a comment on it and on every column
SELECT c.relname, count(*) AS columns,
	   string_agg(DISTINCT format_type(a.atttypid, a.atttypmod), ', ') AS types,
	   obj_description(c.oid, 'pg_class') IS NOT NULL AS commented,
	   count(*) FILTER (WHERE col_description(c.oid, a.attnum) IS NULL) AS columns_without_comment,
	   c.reloptions
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
 WHERE n.nspname = 'bi' GROUP BY c.oid, c.relname ORDER BY c.relname;

-- Economics per month: the workflow as a whole (figures above).
SELECT workflow, period_start, items, solved, round(p1::numeric, 12) AS p1, attempts_per_item,
	   ai_cost, human_fix_cost, cost_per_item, bpo_unit_price, saving_per_unit,
	   round(break_even_p1::numeric, 12) AS break_even_p1, round(retry_share::numeric, 12) AS retry_share,
	   items_left_out, round(items_left_out_share::numeric, 12) AS left_out_share
  FROM bi.economics_monthly ORDER BY workflow;
-- the same by hand: p1 = 90/110, break-even = (216/144)/4.50 = 1/3,
-- retry share = (60 + 27)/216, saving = 4.50 - 240/110
SELECT round(90/110.0, 12) AS p1, round(240/110.0, 12) AS cost_per_item, round(4.50 - 240/110.0, 12) AS saving,
	   round(87/216.0, 12) AS retry_share, round(1/13.0, 12) AS letters_left_out_share;
-- cost per solved, AI only and all in: 216/102 and 240/102
SELECT ai_cost_per_solved = round(216/102.0, 12) AS ai_per_solved_ok,
	   round(cost_per_solved, 10) = round(240/102.0, 10) AS all_in_per_solved_ok
  FROM bi.economics_monthly WHERE workflow = 'claims';
-- per day and per week (weeks start on Monday)
SELECT workflow, period_start, items, solved, ai_cost, human_fix_cost, cost_per_item, saving_per_unit
  FROM bi.economics_daily ORDER BY 1, 2;
SELECT workflow, period_start, items, ai_cost, human_fix_cost, cost_per_item FROM bi.economics_weekly ORDER BY 1, 2;
-- waste share: on 2026-03-03 the failed attempts (60.00 of 100.00) are waste
SELECT workflow, period_start, round(waste_share::numeric, 12) AS waste_share FROM bi.economics_daily ORDER BY 1, 2;

-- Where the economics break: the exception documents lose 22.00, the
-- foreign claims 3.00; the standard ones win 280.00 (3.50 a claim).
SELECT workflow, segment, items, solved, round(p1::numeric, 4) AS p1, attempts_per_item, ai_cost, human_fix_cost,
	   ai_cost_per_solved, cost_per_item, saving_per_unit, round(retry_share::numeric, 4) AS retry_share,
	   money_at_stake, agent_loses, loss_rank
  FROM bi.segments ORDER BY loss_rank NULLS LAST, workflow, segment;
SELECT loss_rank, sentence FROM bi.segments WHERE agent_loses ORDER BY loss_rank;
SELECT sentence FROM bi.segments WHERE segment = 'standard';

-- Routing: small 80/80 at 1.00 a success; large 16/40 at 6.25; tiny 6/24
-- (too few samples) at 6.00.  Recommended: small; projected savings
-- 16 x 5.25 = 84.00 and 6 x 5.00 = 30.00.  Letters: 12 attempts, too few.
SELECT workflow, option, attempts, successes, success_rate, cost_per_success, sample_ok, good_enough,
	   recommended_option, projected_saving, note
  FROM bi.routing ORDER BY workflow, option;
-- the Wilson bounds against the formula in plain arithmetic (z of 95%)
SELECT option, abs(success_low - ((p + z*z/(2*n)) - z * sqrt(p*(1-p)/n + z*z/(4*n*n))) / (1 + z*z/n)) < 1e-12 AS low_ok,
	   abs(success_high - ((p + z*z/(2*n)) + z * sqrt(p*(1-p)/n + z*z/(4*n*n))) / (1 + z*z/n)) < 1e-12 AS high_ok
  FROM (SELECT option, success_low, success_high, successes::float8 / attempts AS p, attempts::float8 AS n,
			   1.959963984540054::float8 AS z FROM bi.routing WHERE workflow = 'claims') r
 ORDER BY option;

-- Waste by class: the claims' failed attempts (60.00 + 27.00 = 87.00) are
-- waste (error_call: a failed attempt's only span is its call, which
-- failed), the rest (129.00) essential; the classes sum to the total.
SELECT workflow, class, cost, round(share::numeric, 6) AS share, total FROM bi.waste WHERE cost <> 0 ORDER BY 1, precedence;
SELECT workflow, sum(cost) = min(total) AS classes_sum_to_total FROM bi.waste GROUP BY 1 ORDER BY 1;

-- Context growth: one call per conversation, nothing carried.
SELECT workflow, conversations, calls, total_input, carried_input, calls_left_out FROM bi.context_growth ORDER BY 1;

-- Cost quantiles (long format): the exception claims cost 2.50 (8 of 20),
-- 5.00 (4), 7.50 (8); within 1% of percentile_cont.
SELECT q.option, q.quantile, q.items,
	   abs(q.cost - (SELECT percentile_cont(q.quantile) WITHIN GROUP (ORDER BY ai_cost)::float8
					   FROM bi.items i WHERE i.option = q.option AND i.ai_cost IS NOT NULL)) <= 0.01 * q.cost AS within_1pct
  FROM bi.cost_quantiles q WHERE q.workflow = 'claims' ORDER BY 1, 2;

-- Utility frontier: small (1.00, 4.50) dominates large (5.60, 3.90) and
-- tiny (4.80, 3.30).
SELECT workflow, option, items, mean_cost, mean_value, on_frontier, dominated_by FROM bi.frontier ORDER BY 1, 2;

-- Allocation of a budget kept in a table (each workflow may also leave
-- items undone, at no cost and no value): 1000.00 is enough to run every
-- claim on small (110 x 1.00 = 110.00, value 110 x 4.50 = 495.00).
INSERT INTO tokacct.allocation_budget VALUES ('bi', 1000, 'test');
SELECT workflow, option, items, spend, value, shadow_price, feasible, decision FROM bi.allocation ORDER BY 1, 2;
UPDATE tokacct.allocation_budget SET budget = 55 WHERE source = 'bi';
-- half the plan: 55 claims on small, 55 left undone; value 55 x 4.50 = 247.50,
-- a dollar more buys 4.50 of value
SELECT workflow, option, items, spend, value, shadow_price, feasible FROM bi.allocation ORDER BY 1, 2;

-- Unpriced models and the problems.
SELECT provider, model, calls, input_tokens FROM bi.unpriced_models;
SELECT level, reason, rows FROM bi.problem_summary ORDER BY 1, 2;

-- FOCUS 1.2: every column of the view is a FOCUS 1.2 column with the type
-- the specification gives it, and every mandatory column is there.
CREATE TEMP TABLE focus_spec (column_id text, data_type text, feature_level text);
\getenv shared SHARED_DATA
\set focus_csv :shared '/focus/columns-1.2.csv'
COPY focus_spec FROM :'focus_csv' WITH (FORMAT csv, HEADER true);
SELECT count(*) AS spec_columns, count(*) FILTER (WHERE feature_level = 'Mandatory') AS mandatory FROM focus_spec;
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, s.data_type
  FROM pg_attribute a LEFT JOIN focus_spec s ON s.column_id = a.attname
 WHERE a.attrelid = 'bi.focus'::regclass AND a.attnum > 0
   AND (s.column_id IS NULL OR format_type(a.atttypid, a.atttypmod) <> CASE s.data_type
		WHEN 'Decimal' THEN 'numeric' WHEN 'String' THEN 'text' WHEN 'Date/Time' THEN 'timestamp with time zone'
		WHEN 'Key-Value Format' THEN 'text' END);
SELECT column_id AS missing_mandatory FROM focus_spec
 WHERE feature_level = 'Mandatory' AND column_id NOT IN (SELECT attname FROM pg_attribute WHERE attrelid = 'bi.focus'::regclass);
-- the bill: 144 + 12 priced calls; BilledCost sums to the AI cost
SELECT "ChargeCategory", "ServiceCategory", "ServiceSubcategory", "SkuId", "PricingUnit", count(*) AS rows,
	   sum("BilledCost") AS billed, sum("ListCost") AS list, sum("PricingQuantity") AS tokens
  FROM bi.focus GROUP BY 1, 2, 3, 4, 5 ORDER BY 4;
SELECT "ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd", "Tags"
  FROM bi.focus WHERE "Tags" LIKE '%"e9"%' ORDER BY 1;
SELECT min(("Tags"::jsonb) ->> 'tokacct:workflow') AS tags_parse FROM bi.focus;

-- The tail ratio (p95 / p50 of the AI cost per item) within 2% of
-- percentile_cont's: claims 7.50 / 1.00.
SELECT e.workflow, round(e.tail_ratio::numeric, 2) AS tail_ratio,
	   abs(e.tail_ratio / (SELECT (percentile_cont(0.95) WITHIN GROUP (ORDER BY i.ai_cost)
								 / percentile_cont(0.5) WITHIN GROUP (ORDER BY i.ai_cost))::float8
						 FROM bi.items i WHERE i.workflow = e.workflow AND i.ai_cost IS NOT NULL) - 1) < 0.02 AS within_2pct
  FROM bi.economics_monthly e ORDER BY 1;

-- An odd span (helper-42's F1: a start at infinity stopped economics_* and
-- waste): its trace is left out of the waste, every figure as before.
CREATE TEMP TABLE bi_before AS
SELECT workflow, period_start, waste_share FROM bi.economics_monthly
UNION ALL SELECT workflow, NULL, cost FROM bi.waste;
INSERT INTO bi_src.spans (tid, sid, started_at, kind, provider, model, input, output, outcome, wf, item, seg, team)
VALUES ('claims-odd-1', 'sp-odd', 'infinity', 'llm', 'acme', 'acme-small', 100, 0, 'success', 'claims', 'odd', 'simple', 'team-a');
SELECT count(*) AS differing FROM (
  (SELECT workflow, period_start, waste_share FROM bi.economics_monthly
   UNION ALL SELECT workflow, NULL, cost FROM bi.waste EXCEPT ALL SELECT * FROM bi_before)
  UNION ALL
  (SELECT * FROM bi_before EXCEPT ALL (SELECT workflow, period_start, waste_share FROM bi.economics_monthly
   UNION ALL SELECT workflow, NULL, cost FROM bi.waste))) d;
DELETE FROM bi_src.spans WHERE sid = 'sp-odd';
DROP TABLE bi_before;
-- A call in the last month timestamptz holds (helper-42's F2: the export
-- failed on the month after it): its billing period ends at infinity.
INSERT INTO bi_src.spans (tid, sid, started_at, kind, provider, model, input, output, outcome, wf, item, seg, team)
VALUES ('claims-late-1', 'sp-late', '294276-12-31 00:00+00', 'llm', 'acme', 'small', 100, 0, 'success', 'claims', 'late', 'simple', 'team-a');
SELECT "BillingPeriodStart", "BillingPeriodEnd", "BilledCost" FROM bi.focus WHERE "ChargePeriodStart" > '294276-01-01';
DELETE FROM bi_src.spans WHERE sid = 'sp-late';

-- A source owned by an ordinary role, with row-level security (helper-42's
-- F5: the guard of waste_by_trace refused it in economics_* and waste,
-- while every other view read it): a reader whom the policy shows team a's
-- rows reads the BI views over them, the waste included.
CREATE ROLE bi_ingest;
CREATE ROLE bi_team_a;
CREATE TABLE bi_src.rls_spans AS SELECT * FROM bi_src.spans;
ALTER TABLE bi_src.rls_spans OWNER TO bi_ingest;
ALTER TABLE bi_src.rls_spans ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_a ON bi_src.rls_spans USING (team = 'team-a');
GRANT USAGE ON SCHEMA bi_src TO bi_team_a;
GRANT SELECT ON bi_src.rls_spans TO bi_team_a;
SELECT count(*) > 0 AS attached FROM tokacct.attach('bi_rls', 'bi_src.rls_spans', '{"trace_id": "tid", "span_id": "sid",
	"start_time": "started_at", "kind": "kind", "provider": "provider", "model": "model",
	"input_tokens": "input", "output_tokens": "output", "outcome": "outcome", "workflow": "wf",
	"item": "item", "segment": "seg"}');
CALL tokacct.grant_reader('bi_team_a');
SET ROLE bi_team_a;
CREATE TEMP TABLE rls_seen AS
SELECT e.workflow, sum(e.items + e.items_left_out) AS items, bool_and(e.waste_share IS NOT NULL) AS waste_read,
	   (SELECT sum(w.cost) FROM bi_rls.waste w WHERE w.workflow = e.workflow) AS waste_total
  FROM bi_rls.economics_monthly e GROUP BY 1;
RESET ROLE;
-- the items it sees are team a's (items not named e...), counted directly;
-- the waste classes sum to the cost of its priced calls (1.00 a million
-- input tokens; letters' "mystery" model has no price)
SELECT r.workflow, r.items = d.items AS items_of_team_a, r.waste_read, r.waste_total = d.cost AS waste_total_is_its_cost
  FROM rls_seen r
  LEFT JOIN (SELECT s.wf, count(DISTINCT s.item) AS items,
					sum(s.input) FILTER (WHERE s.model IN ('small', 'large', 'tiny')) / 1e6 AS cost
			   FROM bi_src.spans s WHERE s.team = 'team-a' GROUP BY 1) d ON d.wf = r.workflow
 ORDER BY 1;
SELECT count(*) AS dropped FROM tokacct.detach('bi_rls');
DROP TABLE rls_seen, bi_src.rls_spans;
REVOKE ALL ON SCHEMA bi_src FROM bi_team_a;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tokacct FROM bi_team_a;
REVOKE ALL ON SCHEMA tokacct FROM bi_team_a;
REVOKE ALL ON ALL TABLES IN SCHEMA tokacct FROM bi_team_a;
DROP OWNED BY bi_team_a;
DROP ROLE bi_ingest, bi_team_a;

-- Attaching again changes nothing, the BI views included.
SELECT action, count(*) FROM tokacct.attach('bi', 'bi_src.spans', '{"trace_id": "tid", "span_id": "sid",
	"start_time": "started_at", "kind": "kind", "provider": "provider", "model": "model",
	"input_tokens": "input", "output_tokens": "output", "outcome": "outcome", "workflow": "wf",
	"item": "item", "segment": "seg"}') GROUP BY 1;

-- Bad input: a segment column that does not exist, a bad segment spec, a
-- negative budget, a budget for a source name that cannot be one.
SELECT count(*) FROM tokacct.attach('bi_bad', 'bi_src.spans', '{"trace_id": "tid", "span_id": "sid",
	"start_time": "started_at", "segment": "claim_type"}');
CREATE TABLE bi_src.otel_traces ("Timestamp" timestamptz NOT NULL, "TraceId" text NOT NULL, "SpanId" text NOT NULL,
	"ParentSpanId" text NOT NULL, "TraceState" text, "SpanName" text, "SpanKind" text, "ServiceName" text,
	"ResourceAttributes" jsonb, "ScopeName" text, "ScopeVersion" text, "SpanAttributes" jsonb, "Duration" bigint,
	"StatusCode" text, "StatusMessage" text);
SELECT count(*) FROM tokacct.attach_otel('bi_bad', 'bi_src.otel_traces', options => '{"segment": 5}');
SELECT count(*) FROM tokacct.attach_otel('bi_bad', 'bi_src.otel_traces', options => '{"segment": "nowhere:x"}');
INSERT INTO tokacct.allocation_budget VALUES ('bi2', -1);
INSERT INTO tokacct.allocation_budget VALUES ('Bad Name', 1);

-- Detach drops the BI views with the six.
SELECT count(*) AS dropped FROM tokacct.detach('bi');
SELECT count(*) AS views_left FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'bi';
\c :regress_db
DROP DATABASE tokacct_bi;
