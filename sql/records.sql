-- Did the work change?  A system of record attached with attach_records():
-- a hand-sized table whose every figure is worked out in the comments, the
-- statistics functions on samples small enough to check by hand (and on
-- Newcombe's own published example), and an error for every bad argument.
-- test/t/records_effect.sh checks the same views on a generated table with a
-- known effect against statsmodels, scipy and numpy.
\set SHOW_CONTEXT never
SET extra_float_digits = 0;

-- proportion_diff_ci: Newcombe (1998), Table II, example (a): 56/70 - 48/80,
-- method 10 (hybrid score): 0.0524 to 0.3339.
SELECT round(difference::numeric, 4) AS difference, round(low::numeric, 4) AS low, round(high::numeric, 4) AS high
  FROM tokacct.proportion_diff_ci(56, 70, 48, 80);
-- example (b): 9/10 - 3/10: 0.1705 to 0.8090.
SELECT round(low::numeric, 4) AS low, round(high::numeric, 4) AS high FROM tokacct.proportion_diff_ci(9, 10, 3, 10);
-- equal rates: a symmetric interval around 0
SELECT difference, round(low::numeric, 6) = -round(high::numeric, 6) AS symmetric FROM tokacct.proportion_diff_ci(30, 100, 30, 100);
-- bad arguments
SELECT * FROM tokacct.proportion_diff_ci(1, 0, 1, 2);
SELECT * FROM tokacct.proportion_diff_ci(1, 2, 0, 0);
SELECT * FROM tokacct.proportion_diff_ci(3, 2, 1, 2);
SELECT * FROM tokacct.proportion_diff_ci(1, 2, -1, 2);
SELECT * FROM tokacct.proportion_diff_ci(1, 2, 1, 2, 1.0);
SELECT * FROM tokacct.proportion_diff_ci(1, 2, 1, 2, 'NaN');

-- median_diff_ci.  At 0.95 each median gets an order-statistic interval at
-- sqrt(0.95) = 0.97468, so each tail may hold (1 - 0.97468) / 2 = 0.01266:
-- n = 7: P(B <= 0) = 1/128 = 0.0078 <= 0.01266 < P(B <= 1) = 8/128: l = 1,
-- [x(1), x(7)] = [1, 7]; n = 8: 1/256 <= 0.01266 < 9/256: [10, 80].
-- The difference 4 - 45 = -41 lies in [1 - 80, 7 - 10] = [-79, -3].
SELECT * FROM tokacct.median_diff_ci('{1,2,3,4,5,6,7}', '{10,20,30,40,50,60,70,80}');
-- n = 20: P(B <= 4) = 6196/2^20 = 0.0059 <= 0.01266 < P(B <= 5) = 21700/2^20
-- = 0.0207: l = 5, [x(5), x(16)].  Samples 1..20 and 101..120: medians 10.5
-- and 110.5, interval [5 - 116, 16 - 105] = [-111, -89].
SELECT * FROM tokacct.median_diff_ci(ARRAY(SELECT g::float8 FROM generate_series(1, 20) g),
	ARRAY(SELECT g::float8 FROM generate_series(101, 120) g));
-- n = 6: 1/64 = 0.0156 > 0.01266: no interval; NULL elements are skipped
SELECT * FROM tokacct.median_diff_ci('{1,2,NULL,3,4,5,6}', '{10,20,30,40,50,60,70,80}');
-- an empty sample: no median, no difference
SELECT * FROM tokacct.median_diff_ci('{}', '{1,2}');
-- a lower confidence narrows it: at 0.5, sqrt = 0.7071, tail 0.1464; n = 7:
-- P(B <= 1) = 0.0625 <= 0.1464 < P(B <= 2) = 29/128 = 0.2266: l = 2, [2, 6];
-- n = 8: P(B <= 2) = 37/256 = 0.1445 <= 0.1464 < 93/256: l = 3, [30, 60]
SELECT low, high FROM tokacct.median_diff_ci('{1,2,3,4,5,6,7}', '{10,20,30,40,50,60,70,80}', 0.5);
-- bad arguments
SELECT * FROM tokacct.median_diff_ci('{1,NaN}', '{1}');
SELECT * FROM tokacct.median_diff_ci('{1}', '{1,Infinity}');
SELECT * FROM tokacct.median_diff_ci('{{1,2},{3,4}}', '{1}');
SELECT * FROM tokacct.median_diff_ci('{1}', '{1}', 0);

-- A system of record, by hand.  Baseline: BPO 4.75 an item, people 48.00 an
-- hour (0.80 a minute).  Cut-over 2026-03-01.
CREATE TABLE claims_sor (claim_id text, wf text, opened timestamptz, closed timestamptz, handled_by text,
	minutes numeric, vendor_fee numeric, status text, kind text);
INSERT INTO claims_sor VALUES
	('b1', 'claims', '2026-02-02 09:00+00', '2026-02-04 09:00+00', 'Human',       30,   NULL, 'solved',   'simple'),
	('b2', 'claims', '2026-02-03 00:00+00', '2026-02-07 00:00+00', 'BPO',         NULL, 5.00, 'solved',   'simple'),
	('b3', 'claims', '2026-02-10 00:00+00', '2026-02-16 00:00+00', 'Outsourced ', NULL, NULL, 'Solved',   'exception'),
	('b4', 'claims', '2026-02-20 00:00+00', '2026-02-21 00:00+00', 'staff',       45,   NULL, 'rejected', 'simple'),
	('a1', 'claims', '2026-03-02 00:00+00', '2026-03-02 12:00+00', 'AI Agent',    NULL, NULL, 'solved',   'simple'),
	('a2', 'claims', '2026-03-03 00:00+00', '2026-03-04 00:00+00', 'bot',         0,    NULL, 'solved',   'simple'),
	('a3', 'claims', '2026-03-05 00:00+00', '2026-03-07 00:00+00', 'agent+human', 15,   NULL, 'solved',   'exception'),
	('a4', 'claims', '2026-03-06 00:00+00', '2026-03-09 00:00+00', 'BPO',         NULL, 5.00, 'solved',   'simple'),
	('x1', 'claims', '2026-03-07 00:00+00', '2026-03-08 00:00+00', 'martian',     NULL, NULL, 'solved',   'simple'),
	('x2', 'claims', NULL,                  '2026-03-09 00:00+00', 'human',       10,   NULL, 'solved',   'simple'),
	('x3', 'claims', '2026-03-10 00:00+00', '2026-03-09 00:00+00', 'human',       20,   NULL, 'solved',   'simple');
INSERT INTO tokacct.baseline (workflow, bpo_unit_price, human_cost_per_hour) VALUES ('claims', 4.75, 48.00);
INSERT INTO tokacct.cutover (workflow, cutover_on) VALUES ('claims', '2026-03-01');
-- the agent's calls, with the cost each reported: a1 0.40, a2 0.30, a3 0.50 + 0.25
CREATE TABLE claims_calls (trace_id text, span_id text, started timestamptz, claim text, cost numeric, currency text);
INSERT INTO claims_calls VALUES
	('t1', 's1', '2026-03-02 00:01+00', 'a1', 0.40, 'USD'), ('t2', 's2', '2026-03-03 00:01+00', 'a2', 0.30, 'USD'),
	('t3', 's3', '2026-03-05 00:01+00', 'a3', 0.50, 'USD'), ('t3', 's4', '2026-03-05 00:02+00', 'a3', 0.25, 'USD');
SELECT view_name FROM tokacct.attach('claims_ai', 'claims_calls',
	'{"trace_id": "trace_id", "span_id": "span_id", "start_time": "started", "item": "claim", "cost": "cost", "cost_currency": "currency"}');

SELECT * FROM tokacct.attach_records('claims', 'claims_sor',
	'{"item": "claim_id", "workflow": "wf", "opened_at": "opened", "resolved_at": "closed", "handler": "handled_by",
	  "human_minutes": "minutes", "bpo_charge": "vendor_fee", "outcome": "status", "segment": "kind"}',
	options => '{"traces": "claims_ai"}');
-- attaching again changes nothing
SELECT * FROM tokacct.attach_records('claims', 'claims_sor',
	'{"item": "claim_id", "workflow": "wf", "opened_at": "opened", "resolved_at": "closed", "handler": "handled_by",
	  "human_minutes": "minutes", "bpo_charge": "vendor_fee", "outcome": "status", "segment": "kind"}',
	options => '{"traces": "claims_ai"}');

-- Handlers mapped (Outsourced -> bpo, staff -> human, AI Agent and bot ->
-- agent, agent+human -> agent_human); a1 and the BPO rows record no minutes
-- (0); b3 has no charge: the baseline's 4.75; human cost = minutes x 0.80.
-- AI cost: a3's two calls 0.75; the items not in the traces 0.
SELECT item, handler, solved, cycle_days, human_minutes, human_cost, bpo_cost, ai_cost, ai_linked, problem
  FROM claims.records ORDER BY item;
SELECT * FROM claims.record_problems ORDER BY item;

-- February: 4 items, people b1 b4, BPO b2 b3: shares 0, .5, .5; solved 3 (b4
-- rejected); minutes 75: 18.75 an item, 25 a solved one; a month's FTE is
-- 40 x 52 / 12 = 173.33 hours: 75 / 60 / 173.33 = 0.0072 FTE, 554.67 items
-- an FTE; human cost 75 x 0.80 = 60; BPO 5.00 + 4.75; cycles 2, 4, 6, 1:
-- median 3, p90 4 + 0.7 x (6 - 4) = 5.4.
-- March: records a1-a4, x1, x3; x1's handler is unknown: 5 items, agent a1
-- a2, people a3 (the agent's failure) x3, BPO a4; minutes 0 + 0 + 15 + 0 +
-- 20 = 35: 7 an item; human cost 28; cycles .5, 1, 2, 3 and x1's 1 (x3
-- resolved before opened): median 1, p90 2 + 0.6 x 1 = 2.6; AI 0.40 + 0.30 +
-- 0.75 = 1.45 over 5 items: 0.29 an item; x1 and x3 left out of something.
SELECT period_start, records, items, agent_items, people_items, agent_fixed_items, bpo_items,
	   agent_share, people_share, bpo_share, solved_items, open_items, human_minutes, minutes_unknown,
	   human_minutes_per_item, human_minutes_per_solved, round(fte_hours::numeric, 2) AS fte_hours,
	   round(human_fte::numeric, 6) AS human_fte, round(items_per_fte::numeric, 2) AS items_per_fte,
	   human_cost, bpo_spend, cycle_median_days, cycle_p90_days, ai_spend, ai_items_linked, ai_spend_per_item, ai_note, rows_left_out
  FROM claims.operating_monthly ORDER BY period_start;
SELECT period_start, items, agent_items, people_items, bpo_items FROM claims.operating_weekly ORDER BY period_start;

-- Before (b1-b4) and after (a1-a4, x3; x1 and x2 left out): shares 0 -> .4,
-- .5 -> .4, .5 -> .2, solved .75 -> 1; cycle medians 3 (1 2 4 6) -> 1.5
-- (.5 1 2 3): too few for an interval; minutes medians 15 (0 0 30 45) -> 0
-- (0 0 0 15 20), means 18.75 -> 7; items a month: 4 over 27 days before
-- (02-02 to 03-01) = 4 / (27 / 30.4375) = 4.509, 5 over 10 days after
-- (03-01 to 03-10) = 15.219.
SELECT measure, unit, before, after, change, round(ci_low::numeric, 4) AS ci_low, round(ci_high::numeric, 4) AS ci_high,
	   significant, n_before, n_after, method
  FROM claims.before_after ORDER BY measure;
-- People and BPO cost an item: before (24 + 5 + 4.75 + 36) / 4 = 17.4375,
-- after (0 + 0 + 12 + 5 + 16) / 5 = 6.60; avoided (17.4375 - 6.60) x 15.21875
-- items a month = 164.93; AI 1.45 / 5 x 15.21875 = 4.41; net 160.52.
SELECT items_before, items_after, months_before, months_after, cost_per_item_before, cost_per_item_after,
	   cost_avoided_per_month, ai_spend_per_month, net_saving_per_month, rows_left_out, note
  FROM claims.before_after_summary;
SELECT sentence FROM claims.before_after_summary;

-- a segment of its own: the exception claims b3 and a3
INSERT INTO tokacct.cutover (workflow, segment, cutover_on) VALUES ('claims', 'exception', '2026-03-01');
SELECT segment, measure, before, after FROM claims.before_after WHERE segment IS NOT NULL AND unit = 'share' ORDER BY measure;
SELECT segment, items_before, items_after, note FROM claims.before_after_summary WHERE segment IS NOT NULL;
-- the same cut-over twice, an empty segment: refused
INSERT INTO tokacct.cutover (workflow, segment, cutover_on) VALUES ('claims', 'exception', '2026-04-01');
INSERT INTO tokacct.cutover (workflow, segment, cutover_on) VALUES ('claims', '', '2026-04-01');
INSERT INTO tokacct.cutover (workflow, cutover_on) VALUES ('claims', 'infinity');

-- An item key repeated (an export appended twice, a status history): one
-- row counts, the one resolved last, and the others are left out of every
-- figure, saying so.  a3 again, still open (older than its resolved row), and
-- a1 again, resolved a day later by a person (10 minutes): a1's new row
-- counts, the first does not.  March then: 8 records, the same 5 items
-- (agent a2; people a1 a3 x3; BPO a4), none open (a3's open copy does not
-- count), minutes 10 + 0 + 15 + 0 + 20 = 45, human cost 45 x 0.80 = 36.00,
-- AI 1.45 as before (a1's 0.40 once, not twice), 4 rows left out.
INSERT INTO claims_sor VALUES
	('a3', 'claims', '2026-03-05 00:00+00', NULL,                  'agent+human', NULL, NULL, 'open',   'exception'),
	('a1', 'claims', '2026-03-02 00:00+00', '2026-03-03 00:00+00', 'human',       10,   NULL, 'solved', 'simple');
SELECT item, handler_raw, handler, solved, cycle_days, human_minutes, human_cost, bpo_cost, ai_cost, ai_linked, counted, problem
  FROM claims.records WHERE item IN ('a1', 'a3') ORDER BY item, counted DESC;
SELECT period_start, records, items, agent_items, people_items, bpo_items, solved_items, open_items, human_minutes,
	   human_cost, ai_spend, ai_items_linked, rows_left_out
  FROM claims.operating_monthly WHERE period_start = '2026-03-01';
SELECT reason FROM claims.record_problems WHERE item IN ('a1', 'a3') ORDER BY item;
DELETE FROM claims_sor WHERE (claim_id = 'a3' AND closed IS NULL) OR (claim_id = 'a1' AND handled_by = 'human');

-- Times at infinity and minutes or charges that are not numbers (helper-42's
-- F3: each stopped the views or put NaN into money): h1 resolved at
-- infinity (an "open" sentinel) is open; h2 opened at infinity is in no
-- period; h3's NaN minutes, h4's infinite and h5's NaN charges are left out
-- of the minutes and the BPO spend; each says so.  March gains h1 (12
-- minutes), h3 (no minutes), h4 and h5 (BPO, no charge counted): its human
-- minutes 12 more, its BPO spend unchanged; no figure of any view is NaN
-- or infinite.
CREATE TEMP TABLE march_before AS
SELECT human_minutes, bpo_spend FROM claims.operating_monthly WHERE period_start = '2026-03-01';
INSERT INTO claims_sor VALUES
	('h1', 'claims', '2026-03-11 00:00+00', 'infinity',            'human', 12,    NULL,       'open',   'simple'),
	('h2', 'claims', 'infinity',            NULL,                  'human', 5,     NULL,       'open',   'simple'),
	('h3', 'claims', '2026-03-12 00:00+00', '2026-03-13 00:00+00', 'human', 'NaN', NULL,       'solved', 'simple'),
	('h4', 'claims', '2026-03-12 00:00+00', '2026-03-13 00:00+00', 'BPO',   NULL,  'Infinity', 'solved', 'simple'),
	('h5', 'claims', '2026-03-12 00:00+00', '2026-03-13 00:00+00', 'BPO',   NULL,  'NaN',      'solved', 'simple');
SELECT item, opened_at, resolved_at, solved, cycle_days, human_minutes, bpo_cost, problem
  FROM claims.records WHERE item LIKE 'h%' ORDER BY item;
SELECT m.human_minutes - b.human_minutes AS more_minutes, m.bpo_spend = b.bpo_spend AS bpo_spend_unchanged
  FROM claims.operating_monthly m, march_before b WHERE m.period_start = '2026-03-01';
SELECT 'operating_monthly' AS view, count(*) AS rows, bool_and(v::text !~ '(NaN|Infinity)') AS all_finite FROM claims.operating_monthly v
UNION ALL SELECT 'operating_weekly', count(*), bool_and(v::text !~ '(NaN|Infinity)') FROM claims.operating_weekly v
UNION ALL SELECT 'before_after', count(*), bool_and(v::text !~ '(NaN|Infinity)') FROM claims.before_after v
UNION ALL SELECT 'before_after_summary', count(*), bool_and(v::text !~ '(NaN|Infinity)') FROM claims.before_after_summary v;
DELETE FROM claims_sor WHERE claim_id LIKE 'h%';
DROP TABLE march_before;

-- the views: security_invoker, a comment on the view and every column
SELECT c.relname, c.reloptions, obj_description(c.oid, 'pg_class') IS NOT NULL AS commented,
	   (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
		   AND col_description(c.oid, a.attnum) IS NULL) AS columns_without_comment
  FROM pg_class c WHERE c.relnamespace = 'claims'::regnamespace ORDER BY c.relname;

-- Without a trace source: AI spend NULL, and why; without minutes or
-- resolution times, no minutes and no cycle times; without charges, the
-- baseline's BPO price (2 x 4.75, then 4.75)
SELECT * FROM tokacct.attach_records('claims_plain', 'claims_sor',
	'{"item": "claim_id", "workflow": {"const": "claims"}, "opened_at": "opened", "handler": "handled_by"}');
SELECT period_start, items, human_minutes, minutes_unknown, bpo_spend, cycle_median_days, ai_spend, ai_note
  FROM claims_plain.operating_monthly ORDER BY period_start;
SELECT net_saving_per_month, note FROM claims_plain.before_after_summary WHERE segment IS NULL;
-- Spellings of one's own win over the defaults: "martian" is the agent here
SELECT * FROM tokacct.attach_records('claims_plain', 'claims_sor',
	'{"item": "claim_id", "workflow": {"const": "claims"}, "opened_at": "opened", "handler": "handled_by"}',
	options => '{"handlers": {"agent": ["Martian"], "bpo": ["staff"]}}');
SELECT item, handler_raw, handler FROM claims_plain.records WHERE item IN ('x1', 'b4') ORDER BY item;
SELECT * FROM tokacct.detach('claims_plain');

-- Bad arguments, each with its error
SELECT * FROM tokacct.attach_records('Claims', 'claims_sor', '{}');
SELECT * FROM tokacct.attach_records('c2', NULL, '{}');
CREATE SEQUENCE not_a_table;
SELECT * FROM tokacct.attach_records('c2', 'not_a_table', '{}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', '[]');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', '{"item": "claim_id", "who": "handled_by"}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', '{"item": "claim_id", "workflow": "wf", "opened_at": "opened"}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', '{"item": "claim_id", "workflow": "wf", "opened_at": "opened_on", "handler": "handled_by"}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', '{"item": "claim_id", "workflow": "wf", "opened_at": "status", "handler": "handled_by"}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', '{"item": "claim_id", "workflow": "wf", "opened_at": {"const": "2026-01-01"}, "handler": "handled_by"}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', '{"item": "claim_id", "workflow": "wf", "opened_at": "opened", "handler": "handled_by", "human_minutes": "opened"}');
\set m '{"item": "claim_id", "workflow": "wf", "opened_at": "opened", "handler": "handled_by"}'
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', options => '{"window": 3}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', options => '[]');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', options => '{"handlers": {"robot": ["r2d2"]}}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', options => '{"handlers": {"agent": "bot"}}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', options => '{"handlers": {"agent": ["--"]}}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', options => '{"success_values": "done"}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', options => '{"fte_hours_per_week": 0}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', options => '{"fte_hours_per_week": 200}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', options => '{"fte_hours_per_week": "40"}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', options => '{"confidence": 1}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', options => '{"confidence": 0}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', options => '{"traces": "nowhere"}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', options => '{"traces": "claims"}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', options => '{"traces": 7}');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', into_schema => 'tokacct');
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', prefix => 'Bad-');
SELECT * FROM tokacct.attach_records('claims_ai', 'claims_sor', :'m', into_schema => 'elsewhere');
CREATE SCHEMA taken;
CREATE TABLE taken.records (x int);
SELECT * FROM tokacct.attach_records('c2', 'claims_sor', :'m', into_schema => 'taken');
-- nothing of the failed attempts remains
SELECT source, kind FROM tokacct.attachment ORDER BY source;
-- a role without tokacct's admin grant cannot attach
CREATE ROLE tokacct_records_reader;
CALL tokacct.grant_reader('tokacct_records_reader');
SET ROLE tokacct_records_reader;
SELECT * FROM tokacct.attach_records('c3', 'claims_sor', :'m');
RESET ROLE;
-- the views read the tables with the reader's rights (security_invoker):
-- the views alone are not enough
GRANT USAGE ON SCHEMA claims, claims_ai TO tokacct_records_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA claims, claims_ai TO tokacct_records_reader;
SET ROLE tokacct_records_reader;
SELECT count(*) FROM claims.records;
RESET ROLE;
GRANT SELECT ON claims_sor, claims_calls TO tokacct_records_reader;
SET ROLE tokacct_records_reader;
SELECT net_saving_per_month FROM claims.before_after_summary WHERE segment IS NULL;
RESET ROLE;
-- row-level security on the system of record applies to the reader
ALTER TABLE claims_sor ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_february ON claims_sor FOR SELECT TO tokacct_records_reader USING (opened < '2026-03-01');
SET ROLE tokacct_records_reader;
SELECT period_start, items FROM claims.operating_monthly ORDER BY period_start;
RESET ROLE;
SELECT period_start, items FROM claims.operating_monthly ORDER BY period_start;
DROP POLICY only_february ON claims_sor;
ALTER TABLE claims_sor DISABLE ROW LEVEL SECURITY;
-- the trace source cannot go while the records views read it; then detach both
SELECT * FROM tokacct.detach('claims_ai');
SELECT * FROM tokacct.detach('claims');
SELECT * FROM tokacct.detach('claims_ai');
SELECT count(*) FROM pg_namespace WHERE nspname IN ('claims', 'claims_ai');
DROP TABLE taken.records;
DROP SCHEMA taken;
DROP OWNED BY tokacct_records_reader;
DROP ROLE tokacct_records_reader;
