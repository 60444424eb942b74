-- context_growth: per-trace context growth, its state type and merge.
--
-- Definitions (src/agg_context.h): turns are calls sorted by call order;
-- carried_1 = 0, carried_k = min(input_k, input_{k-1} + output_{k-1});
-- fresh = input - carried; exponent = least-squares slope of ln(C_k) on
-- ln(k), C_k = cumulative input; savings at window W = sum max(0, carried_k - W).

CREATE TABLE ctx_calls (trace int, seq int, input_tokens bigint, output_tokens bigint);
-- trace 1, rows out of order:
--   turn 1 (seq 1): input 100, output 20
--   turn 2 (seq 2): input 130, output 25 -> carried min(130, 100+20) = 120
--   turn 3 (seq 3): input 140, output 10 -> carried min(140, 130+25) = 140
--   total 370, carried 260, fresh 110, share 260/370 = 26/37
--   C = 100, 230, 370: exponent (python3, two-pass least squares)
--   = 1.1920521444117969
-- trace 2, an agent loop: system prompt 1000, each turn replies 100 tokens
-- and gets a 200-token tool result, so input grows by 300 a turn; seq has gaps:
--   inputs 1000, 1300, 1600, 1900, 2200 (seq 10..50), outputs 100 each
--   carried = (1000+100) + (1300+100) + (1600+100) + (1900+100) = 6200
--   total 8000, fresh 1800 = 1000 + 4 * 200, share 6200/8000 = 0.775
--   exponent (python3) = 1.288343627622204
-- trace 3, constant prompt of 50, no output: carried 50 * 3 = 150,
--   fresh 50, C_k = 50 k so the exponent is exactly 1
-- trace 4, history summarised: (1, 1000, 500), (2, 800, 100)
--   carried_2 = min(800, 1500) = 800, fresh 1000; exponent from two points
--   = ln(1800/1000) / ln 2 = 0.8479969065549501
-- trace 5, one call: carried 0, exponent NULL (fewer than two turns)
-- trace 6, no input at all: share NULL, exponent NULL
INSERT INTO ctx_calls VALUES
	(1, 3, 140, 10), (1, 1, 100, 20), (1, 2, 130, 25),
	(2, 30, 1600, 100), (2, 10, 1000, 100), (2, 50, 2200, 100), (2, 20, 1300, 100), (2, 40, 1900, 100),
	(3, 1, 50, 0), (3, 2, 50, 0), (3, 3, 50, 0), (3, 4, 50, 0),
	(4, 2, 800, 100), (4, 1, 1000, 500),
	(5, 7, 42, 9),
	(6, 1, 0, 5), (6, 2, 0, 5),
	(7, 1, 10, NULL);   -- a NULL argument: the row is skipped

SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS state
FROM ctx_calls GROUP BY trace ORDER BY trace;

SELECT trace, r.calls, r.total_input, r.fresh_input, r.carried_input,
       round(r.carried_share::numeric, 12) AS carried_share,
       round(r.growth_exponent::numeric, 12) AS growth_exponent
FROM (SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s
      FROM ctx_calls GROUP BY trace) g,
     LATERAL tokacct.context_report(g.s) r
ORDER BY trace;

-- the shares and exponents against the values worked out above, 1e-12 relative
WITH g AS (SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s
           FROM ctx_calls GROUP BY trace),
     want(trace, share, expo) AS (VALUES
	(1, 26.0 / 37, 1.1920521444117969::float8),
	(2, 0.775, 1.288343627622204),
	(3, 150.0 / 200, 1.0),
	(4, 800.0 / 1800, 0.8479969065549501))
SELECT w.trace,
       abs(tokacct.context_carried_share(g.s) - w.share) <= 1e-12 * w.share AS share_ok,
       abs(tokacct.context_growth_exponent(g.s) - w.expo) <= 1e-12 * w.expo AS exponent_ok
FROM g JOIN want w USING (trace) ORDER BY trace;

-- the single accessors agree with the report
SELECT trace, tokacct.context_calls(s), tokacct.context_total_input(s),
       tokacct.context_fresh_input(s), tokacct.context_carried_input(s)
FROM (SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s
      FROM ctx_calls GROUP BY trace) g ORDER BY trace;

-- savings if history were capped at W tokens:
--   trace 1, W = 100: (120-100) + (140-100) = 60, share 60/370
--   trace 1, W = 0: everything carried, 260; W = 1000: nothing
--   trace 2, W = 1500: (1700-1500) + (2000-1500) = 700, share 700/8000 = 0.0875
SELECT trace, w, (tokacct.context_savings(s, w)).*
FROM (SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s
      FROM ctx_calls GROUP BY trace) g,
     (VALUES (0), (100), (1000), (1500)) v(w)
WHERE trace IN (1, 2) ORDER BY trace, w;
SELECT (tokacct.context_savings(s, 100)).saved_share = 60.0 / 370 AS share_ok
FROM (SELECT tokacct.context_growth(seq, input_tokens, output_tokens) AS s
      FROM ctx_calls WHERE trace = 1) g;

-- an independent computation in plain SQL (lag over call order, regr_slope
-- of ln C_k on ln k) agrees on a larger, generated set of traces
CREATE TABLE ctx_big AS
SELECT t AS trace, k AS seq,
       (500 + 37 * k * (t % 7) + (t * k) % 101)::bigint AS input_tokens,
       (20 + (t + 3 * k) % 50)::bigint AS output_tokens
FROM generate_series(1, 2000) t, generate_series(1, 1 + t % 40) k;
-- rows in a scrambled physical order
CREATE TABLE ctx_rows AS SELECT * FROM ctx_big ORDER BY md5(trace || ':' || seq);
ALTER TABLE ctx_rows SET (parallel_workers = 2);
ANALYZE ctx_rows;
-- The oracle, for this table and the two below: per trace of a table
-- (trace, seq, input_tokens, output_tokens), over its rows with both token
-- counts (context_growth skips a row with a NULL one), the calls, total
-- input, carried input by lag() over call order, the exponent (regr_slope
-- of ln C_k on ln k) and the first and last call order.
CREATE FUNCTION ctx_lag_oracle(tbl regclass)
RETURNS TABLE (trace int, calls bigint, total numeric, carried numeric, expo float8, first_seq int, last_seq int)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
	SELECT x.trace, count(*), sum(x.input_tokens),
	       sum(CASE WHEN x.prev_in IS NULL THEN 0 ELSE least(x.input_tokens, x.prev_in + x.prev_out) END),
	       regr_slope(ln(x.cum), ln(x.k)) FILTER (WHERE x.cum > 0), min(x.seq), max(x.seq)
	FROM (SELECT t.trace, t.seq, t.input_tokens,
	             lag(t.input_tokens) OVER w AS prev_in, lag(t.output_tokens) OVER w AS prev_out,
	             sum(t.input_tokens) OVER w AS cum, row_number() OVER w AS k
	      FROM %s t WHERE t.input_tokens IS NOT NULL AND t.output_tokens IS NOT NULL
	      WINDOW w AS (PARTITION BY t.trace ORDER BY t.seq)) x
	GROUP BY x.trace$q$, tbl);
END
$$;
CREATE TABLE ctx_oracle AS SELECT * FROM ctx_lag_oracle('ctx_rows');
SET max_parallel_workers_per_gather = 0;
CREATE TABLE ctx_serial AS
SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s
FROM ctx_rows GROUP BY trace;
SELECT count(*) AS traces,
       count(*) FILTER (WHERE r.calls = o.calls AND r.total_input = o.total
                        AND r.carried_input = o.carried
                        AND r.fresh_input = o.total - o.carried) AS totals_equal,
       count(*) FILTER (WHERE (o.expo IS NULL AND r.growth_exponent IS NULL)
                        OR abs(r.growth_exponent - o.expo) <= 1e-12 * abs(o.expo)) AS exponent_within_1e12
FROM ctx_serial c JOIN ctx_oracle o USING (trace), LATERAL tokacct.context_report(c.s) r;

-- forced partial aggregation gives the same states
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens)
FROM ctx_rows GROUP BY trace;
CREATE TABLE ctx_parallel AS
SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s
FROM ctx_rows GROUP BY trace;
RESET enable_hashagg;
SET enable_sort = off;
EXPLAIN (COSTS OFF)
SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens)
FROM ctx_rows GROUP BY trace;
CREATE TABLE ctx_parallel_hash AS
SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s
FROM ctx_rows GROUP BY trace;
RESET enable_sort;
-- one state over every row: the partial states are concatenated
EXPLAIN (COSTS OFF)
SELECT tokacct.context_growth(trace * 100 + seq, input_tokens, output_tokens) FROM ctx_rows;
CREATE TABLE ctx_parallel_one AS
SELECT tokacct.context_growth(trace * 100 + seq, input_tokens, output_tokens) AS s FROM ctx_rows;
RESET max_parallel_workers_per_gather;
SELECT count(*) AS traces,
       count(*) FILTER (WHERE s.s::text = p.s::text) AS same_sorted,
       count(*) FILTER (WHERE s.s::text = h.s::text) AS same_hashed
FROM ctx_serial s JOIN ctx_parallel p USING (trace) JOIN ctx_parallel_hash h USING (trace);
SELECT (SELECT s::text FROM ctx_parallel_one)
     = (SELECT tokacct.context_growth(trace * 100 + seq, input_tokens, output_tokens)::text
        FROM ctx_big) AS one_state_same;

-- states stored per trace and part (seq mod 3), merged later: same result
CREATE TABLE ctx_rollup AS
SELECT trace, seq % 3 AS part, tokacct.context_growth(seq, input_tokens, output_tokens) AS s
FROM ctx_rows GROUP BY trace, seq % 3;
SELECT count(*) AS traces, count(*) FILTER (WHERE m.s::text = c.s::text) AS same
FROM (SELECT trace, tokacct.merge(s) AS s FROM ctx_rollup GROUP BY trace) m
JOIN ctx_serial c USING (trace);
-- merging also runs under parallel workers
SET max_parallel_workers_per_gather = 2;
ALTER TABLE ctx_rollup SET (parallel_workers = 2);
EXPLAIN (COSTS OFF) SELECT tokacct.merge(s) FROM ctx_rollup WHERE trace = 7;
SELECT (SELECT tokacct.merge(s)::text FROM ctx_rollup WHERE trace = 7)
     = (SELECT s::text FROM ctx_serial WHERE trace = 7) AS merged_parallel_same;
RESET max_parallel_workers_per_gather;

-- a small state is a packed flat value with room while aggregating, in
-- chunks of 128, 256, ... 8192 bytes; past 8 kB it becomes an expanded
-- state.  These traces' calls take 5 bytes packed (the call order's offset
-- from the first row's, up to +-1,866: 2; input tokens 100 to 1,076: 2;
-- output tokens 5 to 35: 1), so 8 kB holds (8192 - 20) / 5 = 1,634 of
-- them.  Traces of 1,600 to 1,680 calls cross that size, serially and in
-- the leader's combine of two workers' partial states (packed too, each
-- about half a trace: the rows lie in random order); every tenth row has
-- a NULL token count and is skipped.  Against SQL over the same rows, the
-- NULL rows left out.
CREATE TABLE ctx_edge AS
SELECT t AS trace, k AS seq, (100 + (t * k) % 977)::bigint AS input_tokens,
       CASE WHEN k % 10 <> 7 THEN (5 + k % 31)::bigint END AS output_tokens
FROM generate_series(1600, 1680, 2) t, generate_series(1, t + t / 9) k
ORDER BY md5(t || '/' || k);
ALTER TABLE ctx_edge SET (parallel_workers = 2);
ANALYZE ctx_edge;
CREATE TABLE ctx_edge_oracle AS SELECT * FROM ctx_lag_oracle('ctx_edge');
SET max_parallel_workers_per_gather = 0;
SELECT count(*) AS traces, min(o.calls) AS fewest_calls, max(o.calls) AS most_calls,
       count(*) FILTER (WHERE r.calls = o.calls AND r.total_input = o.total AND r.carried_input = o.carried) AS serial_equal
FROM (SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s FROM ctx_edge GROUP BY trace) c
JOIN ctx_edge_oracle o USING (trace), LATERAL tokacct.context_report(c.s) r;
-- (parallel_setup_cost, parallel_tuple_cost and min_parallel_table_scan_size
-- are still 0 from above)
SET max_parallel_workers_per_gather = 2;
SET enable_sort = off;
EXPLAIN (COSTS OFF)
SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) FROM ctx_edge GROUP BY trace;
SELECT count(*) FILTER (WHERE r.calls = o.calls AND r.total_input = o.total AND r.carried_input = o.carried) AS parallel_equal
FROM (SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s FROM ctx_edge GROUP BY trace) c
JOIN ctx_edge_oracle o USING (trace), LATERAL tokacct.context_report(c.s) r;
RESET enable_sort;
RESET max_parallel_workers_per_gather;

-- an aggregate defined over context_add without context_final (as a
-- superuser may) returns the packed working state with its room: one call
-- in 128 bytes (20 of header, a call of 3 bytes when its input is 39
-- tokens (odd g) or 4 when 1,170 (even g), 105 or 104 of room), the room
-- zeroed, not the leftovers of memory the query used before (here the
-- texts it built).  Stored after g (4 bytes), with a 1-byte varlena
-- header: the header's fields are bytes 6 to 21, the call from byte 22.
CREATE AGGREGATE ctx_nofinal(int, bigint, bigint)
	(SFUNC = tokacct_internal.context_add, STYPE = tokacct.context_state);
CREATE EXTENSION pageinspect;
CREATE TABLE ctx_room AS
SELECT g, ctx_nofinal(1, length(repeat('SECRET-' || md5(g::text), CASE WHEN g % 2 = 0 THEN 30 ELSE 1 END))::bigint, 1) AS s
FROM generate_series(1, 6) g GROUP BY g;
SELECT count(*) AS rows, min(lp_len - t_hoff - 4 - 1) AS state_bytes_after_header,
	   count(*) FILTER (WHERE substr(t_data, 26 - get_byte(t_data, 0) % 2)
	                          = decode(repeat('00', 104 + get_byte(t_data, 0) % 2), 'hex')) AS room_zeroed
FROM heap_page_items(get_raw_page('ctx_room', 0));
-- and every function reads it as the plain state it stands for
SELECT g, s, tokacct.context_calls(s), tokacct.context_total_input(s),
       tokacct_internal.context_state_send(s) = tokacct_internal.context_state_send(s::text::tokacct.context_state) AS send_same
FROM ctx_room ORDER BY g;
SELECT tokacct.merge(s) AS merged FROM ctx_room WHERE g = 2;
DROP TABLE ctx_room;
DROP EXTENSION pageinspect;
DROP AGGREGATE ctx_nofinal(int, bigint, bigint);
-- a plain value with room after its calls (what such an aggregate stored
-- before working states were packed: one call in 256 bytes), made here
-- from its bytes (little-endian: flags 1 = sorted, n 1, cap 20, the call
-- (1, 7, 7), 228 bytes of room), given to an aggregate whose final
-- function is context_final: the result holds the call only, 28 bytes
-- (25 stored, with a 1-byte header), not 256 of which 228 past the copy
CREATE FUNCTION ctx_from_bytes(bytea, int) RETURNS tokacct.context_state
	LANGUAGE internal IMMUTABLE STRICT AS 'bytea_substr_no_len';	-- the bytes from the first on
CREATE FUNCTION ctx_pick(a tokacct.context_state, b tokacct.context_state)
	RETURNS tokacct.context_state LANGUAGE sql IMMUTABLE AS 'SELECT b';
CREATE AGGREGATE ctx_pick_final(tokacct.context_state)
	(SFUNC = ctx_pick, STYPE = tokacct.context_state, FINALFUNC = tokacct_internal.context_final);
CREATE TABLE ctx_legacy AS
SELECT ctx_pick_final(ctx_from_bytes(decode('010000000100000014000000' || '010000000700000007000000'
                                            || repeat('00', 228), 'hex'), 1)) AS s;
SELECT s, pg_column_size(s) AS stored_bytes FROM ctx_legacy;
DROP TABLE ctx_legacy;
DROP AGGREGATE ctx_pick_final(tokacct.context_state);
DROP FUNCTION ctx_pick(tokacct.context_state, tokacct.context_state);
DROP FUNCTION ctx_from_bytes(bytea, int);

-- a packed state's fields are 1, 2 or 4 bytes, as wide as its largest
-- value needs, and a call that needs wider ones makes a new state.  48
-- traces of 40 calls: call orders 1 apart (offsets of 1 byte), 300 apart
-- (2 bytes), 70,000 apart (4), or -2147483648, -2147483647, ... and last
-- 2147483647 (offsets are taken modulo 2^32: 2147483647 is -1 from
-- -2147483648, and -2147483610 is 39 from 2147483647 when the rows come
-- reversed); input and output tokens under 256, under 65,536 or up to
-- 4294967295, from the first call on or only at the last call; rows in
-- call order or reversed (offsets below the first row's).  Against SQL
-- over the same rows, serially, in the leader's combine of two workers'
-- partial states, and merged from three stored parts per trace.
CREATE TABLE ctx_wide AS
SELECT t AS trace,
       CASE t % 4 WHEN 0 THEN k WHEN 1 THEN 300 * k WHEN 2 THEN 70000 * k
                  ELSE CASE WHEN k = 40 THEN 2147483647 ELSE -2147483648 + (k - 1) END END AS seq,
       CASE WHEN t / 12 % 2 = 1 AND k < 40 THEN (k * 7) % 256
            ELSE CASE t / 4 % 3 WHEN 0 THEN (k * 7) % 256 WHEN 1 THEN 256 + (k * 7919) % 65280
                                ELSE 4294967295 - k END END::bigint AS input_tokens,
       CASE WHEN t / 12 % 2 = 1 AND k < 40 THEN (k * 3) % 256
            ELSE CASE (t / 4 + 1) % 3 WHEN 0 THEN (k * 3) % 256 WHEN 1 THEN 256 + (k * 104729) % 65280
                                      ELSE 4294967295 - 2 * k END END::bigint AS output_tokens
FROM generate_series(0, 47) t, generate_series(1, 40) k
ORDER BY t, CASE WHEN t / 24 = 0 THEN k ELSE -k END;
ALTER TABLE ctx_wide SET (parallel_workers = 2);
ANALYZE ctx_wide;
CREATE TABLE ctx_wide_oracle AS SELECT * FROM ctx_lag_oracle('ctx_wide');
-- what the rows hold: 48 traces, call orders at both ends of int4, tokens up to 2^32 - 1
SELECT count(*) AS traces, min(first_seq), max(last_seq), max(total) > 4294967295 * 39 AS totals_past_2_pow_32
FROM ctx_wide_oracle;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE ctx_wide_serial AS
SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s FROM ctx_wide GROUP BY trace;
SELECT count(*) AS traces,
       count(*) FILTER (WHERE r.calls = o.calls AND r.total_input = o.total AND r.carried_input = o.carried
                        AND (tokacct_internal.context_state_send(c.s) = tokacct_internal.context_state_send(
                             (SELECT '{' || string_agg(format('(%s,%s,%s)', seq, input_tokens, output_tokens), ',') || '}'
                              FROM ctx_wide w WHERE w.trace = c.trace)::tokacct.context_state))) AS serial_equal
FROM ctx_wide_serial c JOIN ctx_wide_oracle o USING (trace), LATERAL tokacct.context_report(c.s) r;
SET max_parallel_workers_per_gather = 2;
SET enable_sort = off;
EXPLAIN (COSTS OFF)
SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) FROM ctx_wide GROUP BY trace;
SELECT count(*) FILTER (WHERE p.s::text = c.s::text) AS parallel_equal
FROM (SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s FROM ctx_wide GROUP BY trace) p
JOIN ctx_wide_serial c USING (trace);
RESET enable_sort;
SET max_parallel_workers_per_gather = 0;
SELECT count(*) FILTER (WHERE m.s::text = c.s::text) AS merged_equal
FROM (SELECT trace, tokacct.merge(s) AS s
      FROM (SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s
            FROM ctx_wide GROUP BY trace, seq % 3) parts GROUP BY trace) m
JOIN ctx_wide_serial c USING (trace);
RESET max_parallel_workers_per_gather;

-- the state grows in place (an expanded object while aggregating): the
-- executors that keep transition states in other ways give the same states.
-- grouping sets keep one aggregate context per set (sorted: they alternate
-- row by row; hashed: one hash table each); the per-trace states equal the
-- plain GROUP BY's, and the two halves of each trace add up to it
SET enable_hashagg = off;
CREATE TABLE ctx_sets_sorted AS
SELECT trace, seq % 2 AS half, grouping(seq % 2) AS g,
       tokacct.context_growth(seq, input_tokens, output_tokens) AS s
FROM ctx_rows GROUP BY GROUPING SETS ((trace), (trace, seq % 2));
RESET enable_hashagg;
SET enable_sort = off;
EXPLAIN (COSTS OFF)
SELECT trace, seq % 2, tokacct.context_growth(seq, input_tokens, output_tokens)
FROM ctx_rows GROUP BY GROUPING SETS ((trace), (trace, seq % 2));
CREATE TABLE ctx_sets_hashed AS
SELECT trace, seq % 2 AS half, grouping(seq % 2) AS g,
       tokacct.context_growth(seq, input_tokens, output_tokens) AS s
FROM ctx_rows GROUP BY GROUPING SETS ((trace), (trace, seq % 2));
RESET enable_sort;
SELECT t.name, count(*) FILTER (WHERE x.g = 1) AS traces,
       count(*) FILTER (WHERE x.g = 1 AND x.s::text = c.s::text) AS same_as_group_by,
       (SELECT count(*) FROM (SELECT y.trace FROM ctx_sets_sorted y WHERE y.g = 0 AND t.name = 'sorted'
                              UNION ALL
                              SELECT y.trace FROM ctx_sets_hashed y WHERE y.g = 0 AND t.name = 'hashed') h) AS halves
FROM (VALUES ('sorted'), ('hashed')) t(name)
JOIN LATERAL (SELECT * FROM ctx_sets_sorted WHERE t.name = 'sorted'
              UNION ALL SELECT * FROM ctx_sets_hashed WHERE t.name = 'hashed') x ON true
JOIN ctx_serial c USING (trace)
GROUP BY t.name ORDER BY t.name;
SELECT count(*) AS traces,
       count(*) FILTER (WHERE h.total = tokacct.context_total_input(c.s)) AS halves_add_up
FROM (SELECT trace, sum(tokacct.context_total_input(s)) AS total
      FROM ctx_sets_hashed WHERE g = 0 GROUP BY trace) h
JOIN ctx_serial c USING (trace);
-- partitionwise partial aggregation: each partition's partial state is
-- handed to the finalizing aggregate in the same process (not flattened
-- through a tuple queue); partitions by call order split every trace
CREATE TABLE ctx_parts (trace int, seq int, input_tokens bigint, output_tokens bigint)
	PARTITION BY LIST ((seq % 3));
CREATE TABLE ctx_parts_0 PARTITION OF ctx_parts FOR VALUES IN (0);
CREATE TABLE ctx_parts_1 PARTITION OF ctx_parts FOR VALUES IN (1);
CREATE TABLE ctx_parts_2 PARTITION OF ctx_parts FOR VALUES IN (2);
INSERT INTO ctx_parts SELECT trace, seq, input_tokens, output_tokens FROM ctx_rows;
ANALYZE ctx_parts;
SET enable_partitionwise_aggregate = on;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF)
SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) FROM ctx_parts GROUP BY trace;
SELECT count(*) AS traces, count(*) FILTER (WHERE x.s::text = c.s::text) AS same
FROM (SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s
      FROM ctx_parts GROUP BY trace) x JOIN ctx_serial c USING (trace);
-- the same with sorted partial aggregates (each group's memory is reset
-- when the next group starts)
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) FROM ctx_parts GROUP BY trace;
SELECT count(*) AS traces, count(*) FILTER (WHERE x.s::text = c.s::text) AS same
FROM (SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s
      FROM ctx_parts GROUP BY trace) x JOIN ctx_serial c USING (trace);
RESET enable_hashagg;
RESET enable_partitionwise_aggregate;
RESET max_parallel_workers_per_gather;
-- a hash aggregate that spills to disk (tiny work_mem) keeps its states
-- through the batches
SET work_mem = '64kB';
SET max_parallel_workers_per_gather = 0;
SET enable_sort = off;
CREATE FUNCTION ctx_spill_batches() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	l text;
	b int := 0;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
		SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens)
		FROM ctx_rows GROUP BY trace'
	LOOP
		b := greatest(b, (regexp_match(l, 'Batches: (\d+)'))[1]::int);
	END LOOP;
	RETURN b;
END $$;
SELECT ctx_spill_batches() > 1 AS spilled;
SELECT count(*) AS traces, count(*) FILTER (WHERE x.s::text = c.s::text) AS same
FROM (SELECT trace, tokacct.context_growth(seq, input_tokens, output_tokens) AS s
      FROM ctx_rows GROUP BY trace) x JOIN ctx_serial c USING (trace);
DROP FUNCTION ctx_spill_batches();
RESET enable_sort;
RESET max_parallel_workers_per_gather;
RESET work_mem;

-- COPY text and binary round trips keep every state exactly
-- (files in the instance's data directory: a fixed /tmp name is shared with
-- every other test run on the machine)
SELECT current_setting('data_directory') || '/tokacct_ctx.txt' AS ctx_txt,
	current_setting('data_directory') || '/tokacct_ctx.bin' AS ctx_bin \gset
COPY ctx_serial TO :'ctx_txt';
COPY ctx_serial TO :'ctx_bin' (FORMAT binary);
CREATE TABLE ctx_back_txt (LIKE ctx_serial);
CREATE TABLE ctx_back_bin (LIKE ctx_serial);
COPY ctx_back_txt FROM :'ctx_txt';
COPY ctx_back_bin FROM :'ctx_bin' (FORMAT binary);
SELECT count(*) AS traces,
       count(*) FILTER (WHERE a.s::text = t.s::text AND a.s::text = b.s::text) AS same,
       count(*) FILTER (WHERE tokacct.context_report(a.s) = tokacct.context_report(b.s)) AS same_report
FROM ctx_serial a JOIN ctx_back_txt t USING (trace) JOIN ctx_back_bin b USING (trace);
-- text input in any order and spacing is sorted
SELECT ' { (3, 140, 10) ,(1,100,20),(2,130,25) } '::tokacct.context_state;
SELECT '{}'::tokacct.context_state, tokacct.context_report('{}');
SELECT tokacct_internal.context_state_send('{(1,100,20)}');

-- combining very different states: empty, one call, a million calls
CREATE TABLE ctx_mixed (s tokacct.context_state);
INSERT INTO ctx_mixed VALUES ('{}'), ('{(0,7,3)}'), (NULL);
INSERT INTO ctx_mixed
SELECT tokacct.context_growth(k, 1000 + k % 997, k % 13) FROM generate_series(1, 1000000) k;
INSERT INTO ctx_mixed VALUES ('{}');
-- independent sums: input 7 + sum(1000 + k % 997); carried: turn k >= 2 of
-- the big run carries min(input_k, input_{k-1} + output_{k-1}), and the big
-- run's first call (k = 1) carries min(1001, 7 + 3) = 10 after seq 0
WITH r AS (SELECT (tokacct.context_report(tokacct.merge(s))).* FROM ctx_mixed),
     o AS (SELECT 1000001 AS calls,
                  7 + sum(1000 + k % 997) AS total,
                  10 + sum(least(1000 + k % 997, 1000 + (k - 1) % 997 + (k - 1) % 13))
                       FILTER (WHERE k >= 2) AS carried
           FROM generate_series(1, 1000000) k)
SELECT r.calls = o.calls AS calls_ok, r.total_input = o.total AS total_ok,
       r.carried_input = o.carried AS carried_ok
FROM r, o;
SELECT tokacct.merge(s) IS NULL AS empty_merge FROM ctx_mixed WHERE false;
-- sorted states merged out of order are re-sorted: trace 1 of the hand
-- example split in two, later calls first; then in order
SELECT tokacct.merge(s ORDER BY k) AS merged, tokacct.context_carried_input(tokacct.merge(s ORDER BY k)) AS carried_260
FROM (VALUES (1, '{(3,140,10)}'::tokacct.context_state), (2, '{(1,100,20),(2,130,25)}')) v(k, s);
SELECT tokacct.merge(s ORDER BY k DESC) AS merged, tokacct.context_carried_input(tokacct.merge(s ORDER BY k DESC)) AS carried_260
FROM (VALUES (1, '{(3,140,10)}'::tokacct.context_state), (2, '{(1,100,20),(2,130,25)}')) v(k, s);
SELECT tokacct.context_growth(1, 1, 1) IS NULL AS no_rows FROM ctx_calls WHERE false;

-- bad input: every one a clear error
SELECT tokacct.context_growth(seq, input_tokens, output_tokens) FROM (VALUES (1, -5::bigint, 1::bigint)) v(seq, input_tokens, output_tokens);
SELECT tokacct.context_growth(seq, input_tokens, output_tokens) FROM (VALUES (1, 5::bigint, 1::bigint), (1, 6, 2)) v(seq, input_tokens, output_tokens);
-- the same stored state merged twice double counts calls: refused
SELECT tokacct.merge(s) FROM (SELECT s FROM ctx_serial WHERE trace = 3 UNION ALL SELECT s FROM ctx_serial WHERE trace = 3) x;
SELECT tokacct.context_savings('{(1,100,20)}', -1);
-- the final function sorts its state in place, so no window use
SELECT tokacct.context_growth(seq, input_tokens, output_tokens) OVER () FROM ctx_calls;
SELECT '{(1,100)}'::tokacct.context_state;
SELECT '{(1,100,20)'::tokacct.context_state;
SELECT '{(1,100,20)} x'::tokacct.context_state;
SELECT '{(1,-100,20)}'::tokacct.context_state;
SELECT '{(1,100,20),(1,5,5)}'::tokacct.context_state;
SELECT '{(1,100,99999999999999999999)}'::tokacct.context_state;
SELECT '{(3000000000,100,20)}'::tokacct.context_state;
SELECT 'nonsense'::tokacct.context_state;
SELECT tokacct_internal.context_add(NULL, 1, 2, 3);
SELECT tokacct_internal.context_combine('{}', '{}');
-- one call's token counts are at most 4294967295 (2^32 - 1); the largest
-- legal values are kept exactly (total 2 * 4294967295 = 8589934590, carried
-- min(4294967295, 4294967295 + 4294967295) = 4294967295)
SELECT r.calls, r.total_input, r.fresh_input, r.carried_input, r.carried_share,
       abs(r.growth_exponent - 1) <= 1e-12 AS exponent_is_1
FROM tokacct.context_report('{(1,4294967295,4294967295),(2,4294967295,0)}') r;
SELECT '{(1,4294967296,0)}'::tokacct.context_state;
SELECT tokacct.context_growth(seq, input_tokens, output_tokens) FROM (VALUES (1, 5::bigint, 4294967296::bigint)) v(seq, input_tokens, output_tokens);

-- hostile binary states, made by mutating valid send output and read back
-- through COPY (FORMAT binary), which calls the receive function
CREATE TABLE ctx_bytes (b bytea);
CREATE TABLE ctx_recv (s tokacct.context_state);
CREATE FUNCTION ctx_try_recv(bytes bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE ctx_bytes, ctx_recv;
	INSERT INTO ctx_bytes VALUES (bytes);
	EXECUTE format('COPY ctx_bytes TO %L (FORMAT binary)',
		current_setting('data_directory') || '/tokacct_ctx_bytes.bin');
	EXECUTE format('COPY ctx_recv FROM %L (FORMAT binary)',
		current_setting('data_directory') || '/tokacct_ctx_bytes.bin');
	RETURN (SELECT s::text FROM ctx_recv);
EXCEPTION WHEN OTHERS THEN
	DECLARE d text;
	BEGIN
		GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
		RETURN SQLSTATE || ': ' || SQLERRM || ' / ' || d;
	END;
END $$;
-- valid: version 1, two calls (given out of order, sorted on receipt)
SELECT ctx_try_recv('\x0000000100000002'::bytea || '\x00000002' || '\x0000000000000082' || '\x0000000000000019'
                    || '\x00000001' || '\x0000000000000064' || '\x0000000000000014');
-- truncated by one byte
SELECT ctx_try_recv(substr(tokacct_internal.context_state_send('{(1,100,20),(2,130,25)}'), 1, 47));
-- no bytes
SELECT ctx_try_recv('\x');
-- count says 3, two calls sent
SELECT ctx_try_recv(overlay(tokacct_internal.context_state_send('{(1,100,20),(2,130,25)}') PLACING '\x00000003' FROM 5));
-- negative count
SELECT ctx_try_recv(overlay(tokacct_internal.context_state_send('{(1,100,20)}') PLACING '\xffffffff' FROM 5));
-- input tokens beyond 4294967295
SELECT ctx_try_recv(overlay(tokacct_internal.context_state_send('{(1,100,20)}') PLACING '\x00000001' FROM 13));
-- huge count (oversized)
SELECT ctx_try_recv(overlay(tokacct_internal.context_state_send('{(1,100,20)}') PLACING '\x7fffffff' FROM 5));
-- unknown version
SELECT ctx_try_recv(overlay(tokacct_internal.context_state_send('{(1,100,20)}') PLACING '\x00000002' FROM 1));
-- negative input tokens
SELECT ctx_try_recv(overlay(tokacct_internal.context_state_send('{(1,100,20)}') PLACING '\xff' FROM 13));
-- duplicate call order
SELECT ctx_try_recv(overlay(tokacct_internal.context_state_send('{(1,100,20),(2,130,25)}') PLACING '\x00000001' FROM 29));
-- trailing garbage
SELECT ctx_try_recv(tokacct_internal.context_state_send('{(1,100,20)}') || '\x00');
