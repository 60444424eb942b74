-- Rollups of the call ledger (tokacct.rollup_refresh) and budgets.
-- Concurrency, killed refreshes and pg_cron are tested by
-- test/t/rollup_isolation.sh, test/t/rollup_crash.sh and test/t/cron.sh.
DELETE FROM tokacct.price_call;
CALL tokacct.rollup_rebuild();

-- A custom price: 3 and 12 dollars per million input and output tokens.
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'rlp', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match)
VALUES ('custom', 'rlp', 'rl-1', 0, '{"equals": "rl-1"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok)
VALUES ('custom', 'rlp', 'rl-1', 3, 12);

-- 3000 calls over 59 days of 2026 and three teams: a third priced from the
-- catalog, a third with a reported cost of 12 decimals, a third of an
-- unknown model without a reported cost (left out of the money).
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, cache_read_tokens,
                                reported_cost, workflow, team, tag)
SELECT '2026-01-01 00:00+00'::timestamptz + (i % 59) * interval '1 day' + (i % 24) * interval '1 hour',
       CASE i % 3 WHEN 2 THEN 'nobody' ELSE 'rlp' END,
       CASE i % 3 WHEN 2 THEN 'unknown-9' ELSE 'rl-1' END,
       1000 + (i * 7919) % 5000, 10 + (i * 104729) % 900, CASE WHEN i % 3 = 2 THEN (i * 13) % 1000 ELSE 0 END,
       CASE WHEN i % 3 = 1 THEN ((i * 2654435761) % 1000003) / 1e7 + 0.000000000001 END,
       CASE i % 2 WHEN 0 THEN 'tickets' ELSE 'claims' END,
       (ARRAY['search', 'support', NULL])[1 + i % 3 / 2 + (i / 3) % 2],
       CASE WHEN i % 5 = 0 THEN 'batch' END
FROM generate_series(1, 3000) i;

-- The stamp is the inserting transaction's, whatever the insert says.
INSERT INTO tokacct.price_call (at, model, input_tokens, output_tokens, ingest_xid, team)
VALUES ('2026-01-01', 'rl-1', 1, 1, '3', 'stamp');
SELECT ingest_xid > (SELECT max(ingest_xid) FROM tokacct.price_call WHERE team IS DISTINCT FROM 'stamp')
       AS stamped_after_the_rows_before,
       ingest_xid > '3' AS stamp_overridden
FROM tokacct.price_call WHERE team = 'stamp';
-- An update keeps the stamp: a counted row is not counted again.
UPDATE tokacct.price_call SET ingest_xid = '3' WHERE team = 'stamp' RETURNING ingest_xid > '3' AS stamp_kept;
DELETE FROM tokacct.price_call WHERE team = 'stamp';

CALL tokacct.rollup_refresh();
SELECT runs, rows_counted, last_rows, last_left_out FROM tokacct.rollup_progress;

-- Every figure equals a direct aggregate over the ledger, money exactly.
CREATE TEMP VIEW direct AS
SELECT (c.at AT TIME ZONE 'UTC')::date AS day, c.workflow, c.model, c.team, c.tag,
       count(*) AS calls, count(*) FILTER (WHERE l.cost IS NULL) AS calls_left_out,
       sum(c.input_tokens) AS input_tokens, sum(c.output_tokens) AS output_tokens,
       sum(c.cache_read_tokens) AS cache_read_tokens,
       coalesce(sum(l.cost), 0) AS cost,
       coalesce(sum(round(c.reported_cost, 12)), 0) AS reported_cost,
       coalesce(sum(c.input_tokens * 3e-6 + c.output_tokens * 12e-6) FILTER (WHERE c.model = 'rl-1'), 0) AS list_cost
FROM tokacct.price_call c,
     tokacct.ledger_cost(c.reported_cost, c.customer, c.provider, c.model, c.input_tokens,
                         c.output_tokens, c.cache_read_tokens, 0, 0, c.at) l
GROUP BY 1, 2, 3, 4, 5;
CREATE TEMP VIEW compare AS
SELECT (SELECT count(*) FROM tokacct.rollup_daily) AS groups,
       (SELECT count(*) FROM (SELECT day, workflow, model, team, tag, calls, calls_left_out, input_tokens, output_tokens, cache_read_tokens, cost, reported_cost, list_cost FROM tokacct.rollup_daily
                              EXCEPT SELECT day, workflow, model, team, tag, calls, calls_left_out, input_tokens, output_tokens, cache_read_tokens, cost, reported_cost, list_cost FROM direct) x) AS only_in_rollup,
       (SELECT count(*) FROM (SELECT day, workflow, model, team, tag, calls, calls_left_out, input_tokens, output_tokens, cache_read_tokens, cost, reported_cost, list_cost FROM direct
                              EXCEPT SELECT day, workflow, model, team, tag, calls, calls_left_out, input_tokens, output_tokens, cache_read_tokens, cost, reported_cost, list_cost FROM tokacct.rollup_daily) x) AS only_in_direct,
       (SELECT sum(cost) FROM tokacct.rollup_daily) AS rollup_cost,
       (SELECT sum(cost) FROM direct) AS direct_cost;
SELECT * FROM compare;
-- The money the ledger holds, summed independently: reported costs rounded
-- to 12 decimals, list prices at 3 and 12 dollars per million tokens.
SELECT sum(round(reported_cost, 12)) + sum(input_tokens * 3e-6 + output_tokens * 12e-6)
         FILTER (WHERE reported_cost IS NULL AND model = 'rl-1') AS independent_cost
FROM tokacct.price_call;

-- A second refresh with nothing new counts nothing.
CALL tokacct.rollup_refresh();
SELECT runs, rows_counted, last_rows FROM tokacct.rollup_progress;
SELECT * FROM compare;

-- A late row: inserted now with a time of last year goes to its own day.
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, workflow, team)
VALUES ('2025-03-01 23:59:59+00', 'rlp', 'rl-1', 1000000, 0, 'tickets', 'search'),
       ('2026-01-01 00:30+00', 'rlp', 'rl-1', 0, 1000000, 'claims', 'search');
CALL tokacct.rollup_refresh(wait => false);
SELECT last_rows FROM tokacct.rollup_progress;
SELECT day, workflow, team, calls, cost FROM tokacct.rollup_daily WHERE day = '2025-03-01';
SELECT * FROM compare;

-- A month's quantiles come from merging days; each is within the sketch's
-- 1% bound of percentile_cont over the priced calls.
SELECT m.month, m.calls, m.cost = d.cost AS cost_exact,
       abs(m.p50_cost / d.p50 - 1) <= 0.01 AS p50_within_1pct,
       abs(m.p95_cost / d.p95 - 1) <= 0.01 AS p95_within_1pct,
       abs(m.p99_cost / d.p99 - 1) <= 0.01 AS p99_within_1pct
FROM (SELECT month, sum(calls) AS calls, sum(cost) AS cost,
             tokacct.cost_quantile(tokacct.merge(s), 0.5) AS p50_cost,
             tokacct.cost_quantile(tokacct.merge(s), 0.95) AS p95_cost,
             tokacct.cost_quantile(tokacct.merge(s), 0.99) AS p99_cost
      FROM (SELECT date_trunc('month', day)::date AS month, calls, cost, cost_sketch AS s
            FROM tokacct.rollup_daily) x GROUP BY month) m
JOIN (SELECT date_trunc('month', at AT TIME ZONE 'UTC')::date AS month, sum(cost) AS cost,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY cost::float8) AS p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY cost::float8) AS p95,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY cost::float8) AS p99
      FROM tokacct.price_call_cost WHERE cost IS NOT NULL GROUP BY 1) d USING (month)
ORDER BY month;
-- The monthly view says the same per group.
SELECT count(*) AS groups,
       count(*) FILTER (WHERE abs(v.p95_cost / d.p95 - 1) > 0.01) AS p95_off,
       count(*) FILTER (WHERE v.cost <> d.cost) AS cost_off
FROM tokacct.rollup_monthly v
JOIN (SELECT date_trunc('month', c.at AT TIME ZONE 'UTC')::date AS month, c.workflow, c.model, c.team, c.tag,
             sum(p.cost) AS cost,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY p.cost::float8) AS p95
      FROM tokacct.price_call c JOIN tokacct.price_call_cost p USING (call_id)
      WHERE p.cost IS NOT NULL GROUP BY 1, 2, 3, 4, 5) d
  ON (v.month, v.workflow, v.model, v.team, v.tag) IS NOT DISTINCT FROM (d.month, d.workflow, d.model, d.team, d.tag);

-- A refresh must own its transaction: not after a write, not in repeatable read.
BEGIN;
INSERT INTO tokacct.price_call (at, model, input_tokens, output_tokens) VALUES ('2026-01-01', 'rl-1', 1, 1);
CALL tokacct.rollup_refresh();
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
CALL tokacct.rollup_refresh();
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
CALL tokacct.rollup_rebuild();
ROLLBACK;
CALL tokacct.rollup_refresh(NULL);
-- In a read committed transaction of its own it may be followed by writes:
-- those belong to a later transaction id and wait for the next refresh.
BEGIN;
CALL tokacct.rollup_refresh();
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, workflow, team)
VALUES ('2026-02-27 12:00+00', 'rlp', 'rl-1', 0, 500000, 'tickets', 'search');
COMMIT;
CALL tokacct.rollup_refresh();
SELECT last_rows FROM tokacct.rollup_progress;
SELECT * FROM compare;

-- Budgets.  Team search in January 2026 and February 2026, workflow claims
-- in January, a tag with no spending, a team with no calls.
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount, alert_at) VALUES
    ('team', 'search', '2026-01-01', '2026-02-01', 30, '{0.5,0.8,1}'),
    ('team', 'search', '2026-02-01', '2026-03-01', 1000, '{0.5,0.8,1}'),
    ('workflow', 'claims', '2026-01-01', '2026-02-01', 5, '{0.9,1,2}'),
    ('tag', 'none-yet', '2026-01-01', '2026-12-31', 10, '{0.5}'),
    ('team', 'idle', '2026-03-01', '2026-04-01', 10, '{0.5}');
-- Before a refresh, spent is unknown and counts as 0.
SELECT tokacct.budget_remaining('team', 'search', '2026-01-15') AS before_refresh;
CALL tokacct.rollup_refresh();
-- spent equals the direct sum of the scope's costs in the period.
SELECT b.scope_kind, b.scope, b.period_start, b.spent = d.spent AS spent_exact, b.spent > 0 AS spent_something
FROM tokacct.budget b
CROSS JOIN LATERAL (SELECT coalesce(sum(p.cost), 0) AS spent
                    FROM tokacct.price_call c JOIN tokacct.price_call_cost p USING (call_id)
                    WHERE (c.at AT TIME ZONE 'UTC')::date >= b.period_start
                      AND (c.at AT TIME ZONE 'UTC')::date < b.period_end
                      AND CASE b.scope_kind WHEN 'team' THEN c.team WHEN 'workflow' THEN c.workflow
                          ELSE c.tag END = b.scope) d
ORDER BY b.budget_id;
-- Burn rate and run-out date, worked out by hand from spent: on
-- 2026-01-11 00:00 UTC ten days of January have passed.
SELECT r.scope_kind, r.scope, r.amount,
       r.remaining = r.amount - r.spent AS remaining_ok,
       r.burn_per_day = round(r.spent / 10, 12) AS burn_ok,
       r.runs_out_on = ('2026-01-01'::date + floor(r.amount / (r.spent / 10))::int) AS runs_out_ok,
       r.runs_out_in_period, r.alerts
FROM tokacct.budget_report('2026-01-11 00:00+00') r
WHERE r.period_start = '2026-01-01' AND r.spent > 0 AND r.spent < r.amount
ORDER BY r.budget_id;
-- Over budget: no run-out date, in period; nothing spent: no date either;
-- a period not started: no burn rate.
SELECT r.scope_kind, r.scope, r.period_start, r.spent >= r.amount AS over, r.burn_per_day IS NULL AS no_burn,
       r.runs_out_on, r.runs_out_in_period, r.alerts
FROM tokacct.budget_report('2026-01-11 00:00+00') r
WHERE NOT (r.period_start = '2026-01-01' AND r.spent > 0 AND r.spent < r.amount)
ORDER BY r.budget_id;
SELECT b.scope, a.threshold, a.spent = b.spent AS spent_then, a.amount
FROM tokacct.budget_alert a JOIN tokacct.budget b USING (budget_id) ORDER BY a.budget_id, a.threshold;
-- The gateway's check: the budget in force at that time, NULL without one.
SELECT tokacct.budget_remaining('team', 'search', '2026-01-15') = 30 - spent AS january
FROM tokacct.budget WHERE scope = 'search' AND period_start = '2026-01-01';
SELECT tokacct.budget_remaining('team', 'search', '2026-02-15') = 1000 - spent AS february
FROM tokacct.budget WHERE scope = 'search' AND period_start = '2026-02-01';
SELECT tokacct.budget_remaining('team', 'search', '2026-03-01') AS after_periods,
       tokacct.budget_remaining('team', 'nobody', '2026-01-15') AS no_budget,
       tokacct.budget_remaining('team', 'idle', '2026-03-02') AS idle;
-- Spending more crosses a threshold once; the alert is not raised again.
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, workflow, team)
VALUES ('2026-02-10 12:00+00', 'rlp', 'rl-1', 0, 50000000, 'tickets', 'search');
CALL tokacct.rollup_refresh();
CALL tokacct.rollup_refresh();
SELECT b.period_start, a.threshold, a.spent FROM tokacct.budget_alert a JOIN tokacct.budget b USING (budget_id)
WHERE b.scope = 'search' AND b.period_start = '2026-02-01' ORDER BY 1, 2;
SELECT tokacct.budget_remaining('team', 'search', '2026-02-15') = 1000 - spent AS february_after
FROM tokacct.budget WHERE scope = 'search' AND period_start = '2026-02-01';

-- A budget moved to another period is computed again by the next refresh;
-- a new amount keeps the spending.
CREATE TEMP VIEW search_direct AS
SELECT b.budget_id, b.spent, (SELECT sum(p.cost) FROM tokacct.price_call c JOIN tokacct.price_call_cost p USING (call_id)
                             WHERE c.team = 'search' AND (c.at AT TIME ZONE 'UTC')::date >= b.period_start
                               AND (c.at AT TIME ZONE 'UTC')::date < b.period_end) AS direct
FROM tokacct.budget b WHERE b.budget_id = (SELECT min(budget_id) FROM tokacct.budget);
UPDATE tokacct.budget SET period_start = '2026-02-02', period_end = '2026-02-28'
WHERE budget_id = (SELECT budget_id FROM search_direct) RETURNING scope, spent, spent_at;
CALL tokacct.rollup_refresh();
SELECT spent = direct AS moved_spent_exact FROM search_direct;
UPDATE tokacct.budget SET amount = 31 WHERE budget_id = (SELECT budget_id FROM search_direct)
RETURNING spent IS NOT NULL AS amount_keeps_spent;
UPDATE tokacct.budget SET period_start = '2026-01-01', period_end = '2026-02-01', amount = 30
WHERE budget_id = (SELECT budget_id FROM search_direct);
CALL tokacct.rollup_refresh();
SELECT spent = direct AS moved_back_spent_exact FROM search_direct;
DROP VIEW search_direct;

-- Bad budgets are refused.
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount) VALUES ('customer', 'x', '2026-01-01', '2026-02-01', 1);
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount) VALUES ('team', 'x', '2026-02-01', '2026-02-01', 1);
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount) VALUES ('team', 'x', '-infinity', '2026-02-01', 1);
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount) VALUES ('team', 'x', '2026-01-01', '2026-02-01', 0);
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount) VALUES ('team', 'x', '2026-01-01', '2026-02-01', 'NaN');
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount, alert_at) VALUES ('team', 'x', '2026-01-01', '2026-02-01', 1, '{0}');
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount, alert_at) VALUES ('team', 'x', '2026-01-01', '2026-02-01', 1, '{0.5,NULL}');
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount, alert_at) VALUES ('team', 'x', '2026-01-01', '2026-02-01', 1, '{{0.5}}');
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount, alert_at) VALUES ('team', 'x', '2026-01-01', '2026-02-01', 1, '{11}');
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount) VALUES ('team', 'search', '2026-01-01', '2026-03-01', 1);

-- A rebuild counts everything again to the same figures and keeps the alerts.
CALL tokacct.rollup_rebuild();
SELECT runs, rows_counted = (SELECT count(*) FROM tokacct.price_call) AS all_rows FROM tokacct.rollup_progress;
SELECT * FROM compare;
SELECT count(*) AS alerts FROM tokacct.budget_alert;

-- Roles: an admin refreshes and sets budgets, a reader reads the rollups
-- and the budgets but changes neither.
CREATE ROLE tokacct_rollup_reader;
CREATE ROLE tokacct_rollup_admin;
CALL tokacct.grant_reader('tokacct_rollup_reader');
CALL tokacct.grant_admin('tokacct_rollup_admin');
SET ROLE tokacct_rollup_admin;
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, team)
VALUES ('2026-02-11 12:00+00', 'rlp', 'rl-1', 0, 1000000, 'search');
CALL tokacct.rollup_refresh();
UPDATE tokacct.budget SET amount = 2000 WHERE scope = 'search' AND period_start = '2026-02-01';
RESET ROLE;
SET ROLE tokacct_rollup_reader;
SELECT count(*) > 0 AS reads_months FROM tokacct.rollup_monthly;
SELECT count(*) AS budgets FROM tokacct.budget_status;
SELECT tokacct.budget_remaining('team', 'search', '2026-02-15') > 1000 AS reads_remaining;
CALL tokacct.rollup_refresh();
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount) VALUES ('team', 'x', '2026-01-01', '2026-02-01', 1);
RESET ROLE;
SELECT * FROM compare;
REVOKE ALL ON ALL TABLES IN SCHEMA tokacct FROM tokacct_rollup_reader, tokacct_rollup_admin;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA tokacct FROM tokacct_rollup_admin;
REVOKE ALL ON SCHEMA tokacct FROM tokacct_rollup_reader, tokacct_rollup_admin;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tokacct FROM tokacct_rollup_reader, tokacct_rollup_admin;
DROP ROLE tokacct_rollup_reader, tokacct_rollup_admin;

-- Names the ledger does not bound (helper-41's R1: one of them stopped
-- every later refresh on the rollup's index key limit): a 9,600-byte
-- workflow, 3,000-byte team and tag, a 500-byte model are kept shortened
-- (rollup_source_key: first 60 characters, length, md5), every call and
-- cost counted.  rl-1 at 3 per million input tokens: 1,000,000 and
-- 2,000,000 tokens cost 3 and 6 USD; the long model is not priced.
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, workflow, team, tag)
VALUES ('2026-03-02 10:00+00', 'rlp', 'rl-1', 1000000, 0, repeat('w', 9600), repeat('t', 3000), repeat('g', 3000)),
       ('2026-03-02 11:00+00', 'rlp', 'rl-1', 2000000, 0, repeat('w', 9600), repeat('t', 3000), repeat('g', 3000)),
       ('2026-03-02 12:00+00', 'rlp', repeat('m', 500), 10, 0, repeat('w', 9600), repeat('t', 3000), repeat('g', 3000));
-- Budgets of the long team: March (10 USD) and the whole year (9.5 USD)
-- overlap; the gateway gets the least left (9.5 - 9 = 0.5, not 10 - 9).
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount) VALUES
    ('team', repeat('t', 3000), '2026-03-01', '2026-04-01', 10),
    ('team', repeat('t', 3000), '2026-01-01', '2027-01-01', 9.5);
CALL tokacct.rollup_refresh();
CREATE TEMP VIEW long_names AS
SELECT r.workflow = repeat('w', 60) || ' ... (9600 bytes, md5 ' || md5(repeat('w', 9600)) || ')' AS workflow_short,
       r.team = repeat('t', 60) || ' ... (3000 bytes, md5 ' || md5(repeat('t', 3000)) || ')' AS team_short,
       r.tag = repeat('g', 60) || ' ... (3000 bytes, md5 ' || md5(repeat('g', 3000)) || ')' AS tag_short,
       CASE WHEN r.model = 'rl-1' THEN 'rl-1'
            WHEN r.model = repeat('m', 60) || ' ... (500 bytes, md5 ' || md5(repeat('m', 500)) || ')' THEN 'long, shortened' END AS model,
       r.calls, r.calls_left_out, r.input_tokens, r.cost
  FROM tokacct.rollup_daily r WHERE r.day = '2026-03-02' ORDER BY r.model DESC;
SELECT * FROM long_names;
SELECT period_start, spent FROM tokacct.budget WHERE scope = repeat('t', 3000) ORDER BY 1;
SELECT tokacct.budget_remaining('team', repeat('t', 3000), '2026-03-15') AS least_left,
       tokacct.budget_remaining('team', repeat('t', 3000), '2026-05-15') AS after_march;
-- a rebuild keys them the same way
CALL tokacct.rollup_rebuild();
SELECT * FROM long_names;
DROP VIEW long_names;
-- A large budget barely used (helper-41's B3): 9,000,000 USD for the year
-- of workflow tickets, which spent a little by December 1 (334 days): at
-- that rate the amount lasts past the year 9999; no run-out date (the
-- report failed on an out-of-range interval before).
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount)
VALUES ('workflow', 'tickets', '2026-01-01', '2027-01-01', 9000000);
CALL tokacct.rollup_refresh();
SELECT 9000000 / (r.spent / 334) > DATE '9999-12-31' - DATE '2026-01-01' AS lasts_past_9999,
       r.runs_out_on, r.runs_out_in_period
  FROM tokacct.budget_report('2026-12-01 00:00+00') r
 WHERE r.scope = 'tickets' AND r.period_start = '2026-01-01' AND r.amount = 9000000;
SELECT count(*) AS budgets FROM tokacct.budget_status;

-- A role with no grant at all holds, in a session of its own, the advisory
-- locks refreshes once took turns by (helper-41's B2: every refresh then
-- skipped or waited for it); refreshes go on, and the row they lock now is
-- out of its reach.
CREATE EXTENSION dblink;
CREATE ROLE tokacct_squatter LOGIN;
SELECT dblink_connect('squat', format('host=%s port=%s dbname=%s user=tokacct_squatter',
	split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'), current_database()));
SELECT * FROM dblink('squat', $$SELECT pg_advisory_lock(hashtext('tokacct.rollup_refresh'))$$) AS t(a text);
SELECT runs AS runs_before FROM tokacct.rollup_progress \gset
SET client_min_messages = notice;
CALL tokacct.rollup_refresh(wait => false);
SET client_min_messages = warning;
SELECT runs - :runs_before AS refreshes_done FROM tokacct.rollup_progress;
SELECT * FROM dblink('squat', $$SELECT rollup FROM tokacct.rollup_lock FOR UPDATE$$) AS t(r text);
SELECT dblink_disconnect('squat');
-- an admin may delete the row (helper-43): the next refresh puts it back
-- and runs, instead of skipping for ever
DELETE FROM tokacct.rollup_lock;
SELECT runs AS runs_before FROM tokacct.rollup_progress \gset
CALL tokacct.rollup_refresh(wait => false);
SELECT runs - :runs_before AS refreshes_done, (SELECT string_agg(rollup, ',') FROM tokacct.rollup_lock) AS lock_row
  FROM tokacct.rollup_progress;
DROP ROLE tokacct_squatter;
DROP EXTENSION dblink;

-- Clean up for the suites that follow.
DROP VIEW compare, direct;
DELETE FROM tokacct.budget;
DELETE FROM tokacct.price_call;
CALL tokacct.rollup_rebuild();
DELETE FROM tokacct.price WHERE catalog = 'custom' AND provider = 'rlp';
DELETE FROM tokacct.price_model WHERE catalog = 'custom' AND provider = 'rlp';
DELETE FROM tokacct.price_provider WHERE catalog = 'custom' AND provider = 'rlp';
