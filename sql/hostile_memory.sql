-- Memory handling of the aggregate states, for test/valgrind.sh and
-- test/sanitize.sh as much as for pg_regress: window aggregates (running
-- and moving frames, where the state is grown, finalised and grown again),
-- direct calls that must leave their inputs untouched, and stored states
-- that PostgreSQL compresses, moves out of line or packs with a 1-byte
-- header, read back through every accessor, merged and copied.
-- Expected values are worked out in the comments.
SET timezone = 'UTC';

CREATE TABLE mem_rows AS
SELECT i, 'opt' || lpad((i % 12)::text, 2, '0') || repeat('x', 60) AS option,
	i * 0.001 AS cost, ((i - 1) % 5 + 1) AS attempt
FROM generate_series(1, 60) i;

-- 1. Running window aggregates: the row numbered i sees rows 1..i.
-- cost_per_outcome: items i, ai_cost 0.001 * i(i+1)/2; every 7th row solved: floor(i/7).
SELECT bool_and((r).items = i AND (r).ai_cost = 0.001 * i * (i + 1) / 2 AND (r).solved = i / 7) AS outcome_ok
FROM (SELECT i, tokacct.outcome_report(tokacct.cost_per_outcome(cost, i % 7 = 0) OVER (ORDER BY i)) AS r
	  FROM mem_rows) q;
-- retry_economics: attempt numbers 1,2,3,4,5,1,2,... (all failed, so every
-- running window is a consistent set of items) make the state grow past
-- 4 buckets on row 5 (attempt 5); attempts i, max_attempt 5 from row 5 on.
SELECT bool_and((r).attempts = i AND (r).max_attempt = LEAST(i, 5)) AS retry_ok
FROM (SELECT i, tokacct.retry_report(tokacct.retry_economics(attempt, false, cost) OVER (ORDER BY i)) AS r
	  FROM mem_rows) q;
-- utility_frontier: 12 options of 65-byte names outgrow the first 8 entries
-- and 256 name bytes; row i has seen min(i, 12) options.
SELECT bool_and((SELECT count(*) FROM tokacct.frontier_options(f)) = LEAST(i, 12)) AS frontier_ok
FROM (SELECT i, tokacct.utility_frontier(option, cost, cost * 2) OVER (ORDER BY i) AS f
	  FROM mem_rows) q;
-- waste_agg: names of 3000 bytes outgrow the first 8192 bytes on row 3;
-- spans i, total 0.001 * i(i+1)/2 (every span a root: leaf rule, own = cost).
SELECT bool_and((s).spans = i AND (s).total = 0.001 * i * (i + 1) / 2) AS waste_ok
FROM (SELECT i, tokacct.waste_summary(tokacct.waste_agg('s' || i, NULL, 'llm', repeat('n', 3000),
			NULL, 'ok', cost, '2026-01-01'::timestamptz + i * interval '1 second') OVER (ORDER BY i)) AS s
	  FROM mem_rows) q;

-- 2. Moving frames restart the aggregate on every row (no inverse
-- function): rows i-1 and i, so items 2 (1 on the first row), cost
-- 0.001 * (2i - 1).
SELECT bool_and((r).items = LEAST(i, 2) AND (r).ai_cost = 0.001 * (2 * i - 1)) AS moving_ok
FROM (SELECT i, tokacct.outcome_report(tokacct.cost_per_outcome(cost, true)
			OVER (ORDER BY i ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)) AS r
	  FROM mem_rows) q;
-- (a frame cuts items apart, which the reports refuse: the attempts are
-- summed from the state's text, ' k:attempts,...' per attempt number)
SELECT bool_and((SELECT sum(m[1]::int) FROM regexp_matches(s::text, ' \d+:(\d+),', 'g') m)
				= LEAST(i, 3)) AS moving_retry_ok
FROM (SELECT i, tokacct.retry_economics(attempt, true, cost)
			OVER (ORDER BY i ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s
	  FROM mem_rows) q;

-- 3. Direct calls return a new state and leave their inputs as they were.
WITH s AS (SELECT 'items=1 solved=1 fixed=0 cost=1 fix_cost=0'::tokacct.outcome_state AS a,
				  'items=2 solved=0 fixed=1 cost=3 fix_cost=4'::tokacct.outcome_state AS b)
SELECT tokacct_internal.outcome_accum(a, 2, false)::text AS accum, tokacct_internal.outcome_combine(a, b)::text AS combined,
	a::text, b::text FROM s;
WITH s AS (SELECT 'max_attempt=1 1:1,1,1,0'::tokacct.retry_state AS a,
				  'max_attempt=3 1:1,0,1,1 2:1,0,2,2 3:1,1,3,0'::tokacct.retry_state AS b)
SELECT tokacct_internal.retry_accum(a, 5, true, 2)::text AS accum, tokacct_internal.retry_combine(a, b)::text AS combined,
	a::text, b::text FROM s;
WITH s AS (SELECT tokacct.waste_agg('a', NULL, 'llm', 'x', NULL, 'ok', 1, '2026-01-01') AS a,
				  tokacct.waste_agg('b', 'a', 'llm', 'y', NULL, 'ok', 2, '2026-01-02') AS b)
SELECT (tokacct.waste_summary(tokacct_internal.waste_combine(a, b))).spans AS combined_spans,
	(tokacct.waste_summary(a)).spans AS a_spans, (tokacct.waste_summary(b)).spans AS b_spans FROM s;

-- 4. Stored states: a rollup table with one large state per type (compressed
-- and out of line) and one small one (a 1-byte header), read back.
CREATE TABLE mem_rollup (k int, outcome tokacct.outcome_state, retry tokacct.retry_state,
	frontier tokacct.frontier_state, waste tokacct.waste_state);
-- k = 1: 900 options of ~1 kB names; 20,000 spans of 1 kB names
INSERT INTO mem_rollup
SELECT 1, (SELECT tokacct.cost_per_outcome(i * 0.001, i % 2 = 0) FROM generate_series(1, 1000) i),
	(SELECT tokacct.retry_economics(i % 40 + 1, i % 40 = 39, 0.5) FROM generate_series(1, 400) i),
	(SELECT tokacct.utility_frontier(repeat(md5(i::text), 30) || i, i, 2 * i) FROM generate_series(1, 900) i),
	(SELECT tokacct.waste_agg('s' || i, NULLIF('s' || (i / 2), 's0'), 'llm', repeat(md5((i % 10)::text), 32),
			NULL, 'ok', 0.001, '2026-01-01'::timestamptz + i * interval '1 ms')
	 FROM generate_series(1, 20000) i);
-- k = 2: one row each
INSERT INTO mem_rollup
SELECT 2, tokacct.cost_per_outcome(1, true), tokacct.retry_economics(1, true, 1),
	tokacct.utility_frontier('h', 3, 4),
	tokacct.waste_agg('r', NULL, 'llm', 'x', NULL, 'ok', 1, '2026-01-01');
-- the large frontier and waste states are stored compressed (or out of
-- line): fewer bytes than their binary form
SELECT pg_column_size(frontier) < octet_length(tokacct_internal.frontier_state_send(frontier)) AS frontier_packed,
	pg_column_size(waste) < octet_length(tokacct_internal.waste_state_send(waste)) AS waste_packed
FROM mem_rollup WHERE k = 1;
-- the small ones with a 1-byte header, 3 bytes less than in memory:
-- frontier 24-byte header + one 56-byte entry + 1 name byte = 81 -> 78;
-- waste 48-byte header + 32-byte span record + 'r', 'llm', 'x' = 85 -> 82
SELECT pg_column_size(frontier) AS frontier_bytes, pg_column_size(waste) AS waste_bytes
FROM mem_rollup WHERE k = 2;
-- outcome: 1000 items, 500 solved, cost 0.001 * 1000 * 1001 / 2 = 500.5,
-- per solved item 500.5 / 500 = 1.001
SELECT k, (tokacct.outcome_report(outcome)).items, (tokacct.outcome_report(outcome)).ai_cost,
	tokacct.cost_per_solved(outcome) FROM mem_rollup ORDER BY k;
-- retry: attempt numbers 1..40 ten times each; 40 >= 32 shares the last bucket;
-- attempts 400, solved 10 (attempt 40), cost 200
SELECT k, (tokacct.retry_report(retry)).attempts, (tokacct.retry_report(retry)).solved,
	(tokacct.retry_report(retry)).total_cost, (tokacct.retry_report(retry)).max_attempt
FROM mem_rollup ORDER BY k;
-- frontier: 900 options, mean cost i, mean value 2i; every option is on the
-- frontier (a straight line); sum of mean costs 900 * 901 / 2 = 405450
SELECT k, count(*), count(*) FILTER (WHERE on_frontier), sum(mean_cost)
FROM mem_rollup, tokacct.frontier_options(frontier) GROUP BY k ORDER BY k;
-- waste: 20000 spans, 1 root (s1: span i's parent is i/2, a binary heap);
-- leaf rule: only the 10000 leaves (i > 10000) carry cost: 10000 * 0.001 = 10
SELECT k, (tokacct.waste_summary(waste)).spans, (tokacct.waste_summary(waste)).roots,
	(tokacct.waste_summary(waste)).total FROM mem_rollup ORDER BY k;
SELECT count(*) AS span_rows FROM mem_rollup, tokacct.waste_span_classes(waste);
-- merged: outcome 1001 items and 501.5; retry 401 attempts; 901 options; 20001 spans
SELECT (tokacct.outcome_report(tokacct.merge(outcome))).items,
	(tokacct.outcome_report(tokacct.merge(outcome))).ai_cost,
	(tokacct.retry_report(tokacct.merge(retry))).attempts,
	(SELECT count(*) FROM tokacct.frontier_options(tokacct.merge(frontier))) AS options,
	(tokacct.waste_summary(tokacct.merge(waste))).spans
FROM mem_rollup;

-- 5. COPY binary and text round trips of the stored states, through files
-- in the instance's data directory (a fixed name in /tmp is shared with
-- every other test run on the machine).
SELECT current_setting('data_directory') || '/tokacct_mem_rollup.bin' AS mem_bin,
	current_setting('data_directory') || '/tokacct_mem_rollup.txt' AS mem_txt \gset
COPY mem_rollup TO :'mem_bin' (FORMAT binary);
COPY mem_rollup TO :'mem_txt';
CREATE TABLE mem_rollup_bin (LIKE mem_rollup);
CREATE TABLE mem_rollup_txt (LIKE mem_rollup);
COPY mem_rollup_bin FROM :'mem_bin' (FORMAT binary);
COPY mem_rollup_txt FROM :'mem_txt';
SELECT k, a.outcome::text = b.outcome::text AND a.retry::text = b.retry::text
	AND a.frontier::text = b.frontier::text AND a.waste::text = b.waste::text AS binary_same,
	a.outcome::text = c.outcome::text AND a.retry::text = c.retry::text
	AND a.frontier::text = c.frontier::text AND a.waste::text = c.waste::text AS text_same
FROM mem_rollup a JOIN mem_rollup_bin b USING (k) JOIN mem_rollup_txt c USING (k) ORDER BY k;
DROP TABLE mem_rows, mem_rollup, mem_rollup_bin, mem_rollup_txt;
