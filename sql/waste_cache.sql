-- Waste accessors share one working area per backend and keep the last
-- large trace they classified (a state of 1 MB or more) with its classes,
-- so that the 18 calls of (waste_summary(s)).* classify it once.  The kept
-- trace is found again by the state's bytes, the rule and loop_min: here
-- states of the same size that differ in one span's cost, the same state
-- under other arguments, in memory and stored (compressed, or out of line
-- as is), every accessor on one state in one query, and a classification
-- that fails between two that succeed.
SET timezone = 'UTC';

-- Trace A: spans s1..s30000; s1 is the root and s_i's parent is s_(i/2);
-- every span is an llm call 'm' with args 'a', status ok, cost 0.001,
-- starting at i ms.  s_j has children (2j, 2j + 1 <= 30000) iff j <= 15000,
-- so the leaves are s15001..s30000: 15,000.
--   rule leaf: total 15000 x 0.001 = 15; rule self: 30000 x 0.001 = 30.
-- Siblings s_2j and s_2j+1 are identical consecutive steps, a run of 2:
--   loop_min 3: no loop, no waste.
--   loop_min 2: s_2j+1 (j >= 1) and its subtree are stuck_loop.  The spans
--   with no odd-numbered ancestor (themselves included) but s1 are s2, s4,
--   ..., s16384: with s1, 15 spans, of which only s16384 is a leaf (32768 >
--   30000).  So 29,985 spans are stuck_loop; rule leaf: essential 0.001,
--   stuck_loop 14.999; rule self: essential 0.015, stuck_loop 29.985.
-- Trace B: A with s20000 costing 0.002 (a leaf: 40000 > 30000; its
-- ancestors 10000, 5000, 2500, 1250, 625 include the odd s625, so it is
-- stuck_loop under loop_min 2).  Its state has exactly A's size.
--   B: leaf total 15.001, self total 30.001; loop_min 2: leaf stuck_loop
--   15.000, self stuck_loop 29.986, essential unchanged.
CREATE TABLE cache_rows AS
SELECT k, i, 's' || i AS span_id, CASE WHEN i > 1 THEN 's' || (i / 2) END AS parent_id,
       CASE WHEN k = 2 AND i = 20000 THEN 0.002 ELSE 0.001 END AS cost,
       '2026-03-01 00:00:00+00'::timestamptz + i * interval '1 ms' AS started_at
  FROM generate_series(1, 2) k, generate_series(1, 30000) i;
CREATE TABLE cache_st (k int, st tokacct.waste_state);
INSERT INTO cache_st
SELECT k, tokacct.waste_agg(span_id, parent_id, 'llm', 'm', 'a', 'ok', cost, started_at ORDER BY i)
  FROM cache_rows GROUP BY k;
-- the same states stored out of line without compression
CREATE TABLE cache_st_plain (k int, st tokacct.waste_state);
ALTER TABLE cache_st_plain ALTER st SET STORAGE EXTERNAL;
INSERT INTO cache_st_plain SELECT * FROM cache_st;

-- Both states are over 1 MB and of one size (30,000 records of 32 bytes
-- plus 11 to 13 bytes of strings: about 1.4 MB).
SELECT k, length(st::text) / 2 > 1100000 AS over_1mb,
       length(st::text) = (SELECT length(st::text) FROM cache_st WHERE k = 1) AS same_size
  FROM cache_st ORDER BY k;

-- A, B, A, B in turn, stored compressed and stored plain: each answer is its own state's.
SELECT v.i, v.k, s.total, s.spans
  FROM (VALUES (1, 1), (2, 2), (3, 1), (4, 2)) v(i, k)
  JOIN LATERAL (SELECT (tokacct.waste_summary(c.st)).* FROM cache_st c WHERE c.k = v.k) s ON true
 ORDER BY v.i;
SELECT v.i, v.k, s.total, s.spans
  FROM (VALUES (1, 1), (2, 2), (3, 1), (4, 2)) v(i, k)
  JOIN LATERAL (SELECT (tokacct.waste_summary(c.st)).* FROM cache_st_plain c WHERE c.k = v.k) s ON true
 ORDER BY v.i;

-- One state under other rules and loop thresholds, side by side in one row.
SELECT k, (tokacct.waste_summary(st)).total AS leaf,
       (tokacct.waste_summary(st, 'self')).total AS self,
       (tokacct.waste_summary(st, 'leaf', 2)).stuck_loop AS leaf_loop2,
       (tokacct.waste_summary(st, 'self', 2)).stuck_loop AS self_loop2,
       (tokacct.waste_summary(st, 'leaf', 2)).essential AS leaf_essential2,
       (tokacct.waste_summary(st, 'self', 2)).essential AS self_essential2,
       (tokacct.waste_summary(st)).stuck_loop AS leaf_loop3
  FROM cache_st ORDER BY k;

-- Every column of (waste_summary(s, 'self', 2)).*, 18 calls on one state.
SELECT k, (tokacct.waste_summary(st, 'self', 2)).* FROM cache_st ORDER BY k;

-- Every accessor on one state in one query agrees with the summary.
SELECT k, (tokacct.waste_summary(st, 'self', 2)).stuck_loop AS summary_loop,
       (SELECT c.cost FROM tokacct.waste_classes(st, 'self', 2) c WHERE c.class = 'stuck_loop') AS classes_loop,
       (SELECT sum(g.cost) FROM tokacct.waste_span_classes(st, 'self', 2) g WHERE g.class = 'stuck_loop') AS spans_loop,
       (SELECT count(*) FROM tokacct.waste_span_classes(st, 'self', 2) g WHERE g.class = 'essential') AS essential_spans,
       (SELECT string_agg(g.span_id || '=' || g.cost, ',') FROM tokacct.waste_spans(st, 2, 'self', 2) g) AS top2
  FROM cache_st ORDER BY k;

-- The state made in the query (in memory, not stored) gives the stored one's answer.
SELECT c.k, (SELECT tokacct.waste_summary(tokacct.waste_agg(r.span_id, r.parent_id, 'llm', 'm', 'a', 'ok',
                                                             r.cost, r.started_at ORDER BY r.i), 'self', 2)
               FROM cache_rows r WHERE r.k = c.k)
            = tokacct.waste_summary(c.st, 'self', 2) AS in_memory_same
  FROM cache_st c ORDER BY c.k;

-- 18 calls on a state made in the query (merged from the stored one: plain,
-- in memory) and on a state in a PL/pgSQL variable (fetched, still
-- compressed, in memory): the stored state's answers.
SELECT k, (tokacct.waste_summary(st, 'self', 2)).*
  FROM (SELECT k, tokacct.merge(st) AS st FROM cache_st GROUP BY k) q ORDER BY k;
DO $$
DECLARE
	s tokacct.waste_state;
	r record;
BEGIN
	SELECT st INTO s FROM cache_st WHERE k = 2;
	SELECT (tokacct.waste_summary(s, 'self', 2)).* INTO r;
	RAISE NOTICE 'variable (compressed: %): total % stuck_loop % in % spans',
		pg_column_compression(s) IS NOT NULL, r.total, r.stuck_loop, r.stuck_loop_spans;
END
$$;

-- A classification that fails (a repeated id in a large state) between two
-- that succeed: the failed one leaves nothing behind.
CREATE TABLE cache_dup AS
SELECT tokacct.waste_agg(span_id, parent_id, 'llm', 'm', 'a', 'ok', cost, started_at ORDER BY i) AS st
  FROM (SELECT i, span_id, parent_id, cost, started_at FROM cache_rows WHERE k = 1
        UNION ALL SELECT 30001, 's777', 's1', 0.001, '2026-03-02') d;
DO $$
DECLARE
	a numeric;
	b numeric;
BEGIN
	SELECT (tokacct.waste_summary(st, 'self', 2)).stuck_loop INTO a FROM cache_st WHERE k = 2;
	BEGIN
		PERFORM tokacct.waste_summary(st, 'self', 2) FROM cache_dup;
	EXCEPTION WHEN data_exception THEN
		RAISE NOTICE 'refused: %', SQLERRM;
	END;
	SELECT (tokacct.waste_summary(st, 'self', 2)).stuck_loop INTO b FROM cache_st WHERE k = 2;
	RAISE NOTICE 'before % after %', a, b;
	SELECT (tokacct.waste_summary(st, 'self', 2)).stuck_loop INTO b FROM cache_st WHERE k = 1;
	RAISE NOTICE 'other state %', b;
END
$$;

-- Across transactions (the working area goes at the end of each): the same answers.
BEGIN;
SELECT (tokacct.waste_summary(st)).total FROM cache_st WHERE k = 2;
COMMIT;
SELECT (tokacct.waste_summary(st)).total FROM cache_st WHERE k = 2;
