-- Waste in execution traces.
--
-- Hand-built traces with the expected class of every span worked out in the
-- comments, the cost rules on a tree where every level reports a total, bad
-- and odd input, a 100,000-span trace, and the same answers serially, under
-- partial aggregation, merged from stored states and after COPY.
--
-- Precedence (a span takes the first class that applies):
--   1 error_call        its own status is a failure and its own cost > 0
--   2 failed_attempt    it or an ancestor failed and has a later sibling of
--                       the same kind and name (the retry)
--   3 abandoned_branch  it or an ancestor failed, or was discarded
--   4 stuck_loop        it or an ancestor repeats the step before it, in a
--                       run of >= loop_min identical consecutive siblings
--   5 duplicate_tool_call  it or an ancestor is a tool call with the same
--                       name and argument hash as an earlier kept call (a call
--                       nested in a call of its own key is not compared)
--   6 essential
SET timezone = 'UTC';

CREATE TABLE waste_t (
	workflow text, trace_id text, span_id text, parent_id text, kind text,
	name text, args_hash text, status text, cost numeric, sec int, attempt int,
	expect text,				-- the class worked out by hand
	started_at timestamptz		-- set from sec below
);

-- loop5: an agent repeats the same tool call five times in a row.
-- s1..s5 are consecutive identical siblings (tool kb_search, same args):
-- a run of 5 >= 3, so s2..s5 are stuck_loop (cause s1); s1 is essential.
-- essential = p 0.012 + s1 0.001 + f 0.020 = 0.033; stuck_loop = 4 x 0.001 = 0.004
INSERT INTO waste_t VALUES
 ('support','loop5','r', NULL,'agent','support_agent',NULL,'ok',NULL,0,NULL,'essential'),
 ('support','loop5','p', 'r','llm','plan','h-plan','ok',0.012,1,NULL,'essential'),
 ('support','loop5','s1','r','tool','kb_search','q=refund','ok',0.001,2,NULL,'essential'),
 ('support','loop5','s2','r','tool','kb_search','q=refund','ok',0.001,3,NULL,'stuck_loop'),
 ('support','loop5','s3','r','tool','kb_search','q=refund','ok',0.001,4,NULL,'stuck_loop'),
 ('support','loop5','s4','r','tool','kb_search','q=refund','ok',0.001,5,NULL,'stuck_loop'),
 ('support','loop5','s5','r','tool','kb_search','q=refund','ok',0.001,6,NULL,'stuck_loop'),
 ('support','loop5','f', 'r','llm','answer','h-ans','ok',0.020,7,NULL,'essential');

-- dup5: the same tool call five times, each after a model call deciding it.
-- No two consecutive siblings are identical (llm, tool, llm, ...), so no
-- loop; k2..k5 repeat k1 (get_order, order=42, k1 ok): duplicate_tool_call.
-- essential = l1..l5 (0.010+0.011+0.012+0.013+0.014 = 0.060) + k1 0.002 = 0.062
-- duplicate_tool_call = 4 x 0.002 = 0.008; total 0.070
INSERT INTO waste_t VALUES
 ('support','dup5','r', NULL,'agent','support_agent',NULL,'ok',NULL,0,NULL,'essential'),
 ('support','dup5','l1','r','llm','step','h1','ok',0.010,1,NULL,'essential'),
 ('support','dup5','k1','r','tool','get_order','order=42','ok',0.002,2,NULL,'essential'),
 ('support','dup5','l2','r','llm','step','h2','ok',0.011,3,NULL,'essential'),
 ('support','dup5','k2','r','tool','get_order','order=42','ok',0.002,4,NULL,'duplicate_tool_call'),
 ('support','dup5','l3','r','llm','step','h3','ok',0.012,5,NULL,'essential'),
 ('support','dup5','k3','r','tool','get_order','order=42','ok',0.002,6,NULL,'duplicate_tool_call'),
 ('support','dup5','l4','r','llm','step','h4','ok',0.013,7,NULL,'essential'),
 ('support','dup5','k4','r','tool','get_order','order=42','ok',0.002,8,NULL,'duplicate_tool_call'),
 ('support','dup5','l5','r','llm','step','h5','ok',0.014,9,NULL,'essential'),
 ('support','dup5','k5','r','tool','get_order','order=42','ok',0.002,10,NULL,'duplicate_tool_call');

-- steps5: five identical agent steps (kind step, name act, same args), each
-- a model call and a tool call, then a different step.  st2..st5 are a
-- stuck loop and so is everything under them (the marks cover the subtree;
-- their tool calls would also be duplicates, but stuck_loop comes first).
-- essential = st1 (0.010 + 0.002) + st6 0.020 = 0.032
-- stuck_loop = 4 x (0.010 + 0.002) = 0.048, in 4 steps + 8 calls = 12 spans
INSERT INTO waste_t VALUES
 ('support','steps5','r', NULL,'agent','support_agent',NULL,'ok',NULL,0,NULL,'essential'),
 ('support','steps5','st1','r','step','act','get_order(42)','ok',NULL,1,NULL,'essential'),
 ('support','steps5','st1.l','st1','llm','decide','d1','ok',0.010,2,NULL,'essential'),
 ('support','steps5','st1.t','st1','tool','get_order','order=42','ok',0.002,3,NULL,'essential'),
 ('support','steps5','st2','r','step','act','get_order(42)','ok',NULL,4,NULL,'stuck_loop'),
 ('support','steps5','st2.l','st2','llm','decide','d2','ok',0.010,5,NULL,'stuck_loop'),
 ('support','steps5','st2.t','st2','tool','get_order','order=42','ok',0.002,6,NULL,'stuck_loop'),
 ('support','steps5','st3','r','step','act','get_order(42)','ok',NULL,7,NULL,'stuck_loop'),
 ('support','steps5','st3.l','st3','llm','decide','d3','ok',0.010,8,NULL,'stuck_loop'),
 ('support','steps5','st3.t','st3','tool','get_order','order=42','ok',0.002,9,NULL,'stuck_loop'),
 ('support','steps5','st4','r','step','act','get_order(42)','ok',NULL,10,NULL,'stuck_loop'),
 ('support','steps5','st4.l','st4','llm','decide','d4','ok',0.010,11,NULL,'stuck_loop'),
 ('support','steps5','st4.t','st4','tool','get_order','order=42','ok',0.002,12,NULL,'stuck_loop'),
 ('support','steps5','st5','r','step','act','get_order(42)','ok',NULL,13,NULL,'stuck_loop'),
 ('support','steps5','st5.l','st5','llm','decide','d5','ok',0.010,14,NULL,'stuck_loop'),
 ('support','steps5','st5.t','st5','tool','get_order','order=42','ok',0.002,15,NULL,'stuck_loop'),
 ('support','steps5','st6','r','step','act','reply','ok',NULL,16,NULL,'essential'),
 ('support','steps5','st6.l','st6','llm','reply','rp','ok',0.020,17,NULL,'essential');

-- retry: attempt 1 of "extract" fails and is retried as attempt 2.
-- a1 failed and has a later sibling attempt/extract (attempt 2): its
-- subtree is failed_attempt, except a1.v, which failed itself and was
-- billed: error_call.  a1 own cost 0 (not a leaf), so not an error call.
-- a2.t repeats a1.t (ocr, doc7), but a1.t lies in a failed attempt, so its
-- result was not kept: a2.t is essential, not a duplicate.
-- failed_attempt = 0.300 + 0.050 = 0.350 (3 spans: a1, a1.l, a1.t)
-- error_call = 0.100; essential = 0.300 + 0.050 + 0.100 = 0.450; total 0.900
INSERT INTO waste_t VALUES
 ('claims','retry','r', NULL,'workflow','claims_triage',NULL,'ok',NULL,0,NULL,'essential'),
 ('claims','retry','a1','r','attempt','extract',NULL,'error',NULL,1,1,'failed_attempt'),
 ('claims','retry','a1.l','a1','llm','extract_fields','x1','ok',0.300,2,NULL,'failed_attempt'),
 ('claims','retry','a1.t','a1','tool','ocr','doc7','ok',0.050,3,NULL,'failed_attempt'),
 ('claims','retry','a1.v','a1','llm','validate','v1','timeout',0.100,4,NULL,'error_call'),
 ('claims','retry','a2','r','attempt','extract',NULL,'ok',NULL,5,2,'essential'),
 ('claims','retry','a2.l','a2','llm','extract_fields','x2','ok',0.300,6,NULL,'essential'),
 ('claims','retry','a2.t','a2','tool','ocr','doc7','ok',0.050,7,NULL,'essential'),
 ('claims','retry','a2.v','a2','llm','validate','v2','ok',0.100,8,NULL,'essential');

-- ratelimit: a rate-limited call that was billed, and one that was not.
-- c0 (rate_limited, cost 0) is retried by c0b: failed_attempt with 0.
-- c1 (HTTP 429, billed 0.004) is retried by c2: it failed and cost money,
-- so error_call comes first.  c0b, c2 essential.  Runs of identical
-- siblings have length 2 < 3: no loop.
-- error_call = 0.004; failed_attempt = 0 (1 span); essential = 0.030 + 0.080 = 0.110
INSERT INTO waste_t VALUES
 ('tickets','ratelimit','r', NULL,'workflow','ticket_resolution',NULL,'ok',NULL,0,NULL,'essential'),
 ('tickets','ratelimit','c0','r','llm','summarise','s1','rate_limited',0,1,NULL,'failed_attempt'),
 ('tickets','ratelimit','c0b','r','llm','summarise','s1','ok',0.030,2,NULL,'essential'),
 ('tickets','ratelimit','c1','r','llm','draft','d1','429',0.004,3,NULL,'error_call'),
 ('tickets','ratelimit','c2','r','llm','draft','d1','ok',0.080,4,NULL,'essential');

-- abandon: a sub-agent fails and is not retried (the next sibling is a
-- different agent); its whole branch is abandoned, including sa.t2, whose
-- own failure was not billed.  sd's result was discarded: sd and its child
-- are abandoned too.  sb's branch produced the answer: essential.
-- abandoned = 0.250 + 0.030 + 0.120 + 0 + 0.090 = 0.490 (sa, 4 children, sd, sd.l = 7 spans)
-- essential = 0.010 + 0.150 = 0.160; total 0.650
INSERT INTO waste_t VALUES
 ('research','abandon','r', NULL,'agent','research_agent',NULL,'ok',NULL,0,NULL,'essential'),
 ('research','abandon','sa','r','agent','web_research',NULL,'error',NULL,1,NULL,'abandoned_branch'),
 ('research','abandon','sa.l1','sa','llm','plan','p1','ok',0.250,2,NULL,'abandoned_branch'),
 ('research','abandon','sa.t1','sa','tool','browse','url1','ok',0.030,3,NULL,'abandoned_branch'),
 ('research','abandon','sa.l2','sa','llm','summarise','p2','ok',0.120,4,NULL,'abandoned_branch'),
 ('research','abandon','sa.t2','sa','tool','browse','url2','server_error',0,5,NULL,'abandoned_branch'),
 ('research','abandon','sb','r','agent','kb_lookup',NULL,'ok',NULL,6,NULL,'essential'),
 ('research','abandon','sb.t','sb','tool','kb','k1','ok',0.010,7,NULL,'essential'),
 ('research','abandon','sb.l','sb','llm','answer','a1','ok',0.150,8,NULL,'essential'),
 ('research','abandon','sd','r','agent','critic',NULL,'discarded',NULL,9,NULL,'abandoned_branch'),
 ('research','abandon','sd.l','sd','llm','critique','c1','ok',0.090,10,NULL,'abandoned_branch');

UPDATE waste_t SET started_at = '2026-03-01 10:00:00+00'::timestamptz + sec * interval '1 second';

CREATE TABLE waste_st AS
SELECT trace_id, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st
  FROM waste_t GROUP BY trace_id;

-- Every span gets the class worked out above (rows listed only on disagreement).
SELECT e.trace_id, e.span_id, e.expect, g.class
  FROM waste_t e
  JOIN waste_st s USING (trace_id)
  LEFT JOIN LATERAL tokacct.waste_span_classes(s.st) g ON g.span_id = e.span_id
 WHERE g.class IS DISTINCT FROM e.expect;
SELECT count(*) AS spans_checked FROM waste_t e JOIN waste_st s USING (trace_id)
  JOIN LATERAL tokacct.waste_span_classes(s.st) g ON g.span_id = e.span_id AND g.class = e.expect;

-- Class totals against the hand-worked figures above.
SELECT s.trace_id, w.total, w.essential, w.error_call, w.failed_attempt, w.abandoned_branch,
       w.stuck_loop, w.duplicate_tool_call, w.waste
  FROM waste_st s, tokacct.waste_summary(s.st) w ORDER BY 1;
SELECT s.trace_id,
       (w.total, w.essential, w.error_call, w.failed_attempt, w.abandoned_branch, w.stuck_loop, w.duplicate_tool_call)
     = (x.total, x.essential, x.error_call, x.failed_attempt, x.abandoned_branch, x.stuck_loop, x.duplicate_tool_call) AS hand_figures_match
  FROM waste_st s, tokacct.waste_summary(s.st) w,
       (VALUES ('loop5',     0.037, 0.033, 0.0,   0.0,   0.0,   0.004, 0.0),
               ('dup5',      0.070, 0.062, 0.0,   0.0,   0.0,   0.0,   0.008),
               ('steps5',    0.080, 0.032, 0.0,   0.0,   0.0,   0.048, 0.0),
               ('retry',     0.900, 0.450, 0.100, 0.350, 0.0,   0.0,   0.0),
               ('ratelimit', 0.114, 0.110, 0.004, 0.0,   0.0,   0.0,   0.0),
               ('abandon',   0.650, 0.160, 0.0,   0.0,   0.490, 0.0,   0.0))
         x(trace_id, total, essential, error_call, failed_attempt, abandoned_branch, stuck_loop, duplicate_tool_call)
 WHERE x.trace_id = s.trace_id ORDER BY 1;
-- Span counts per class equal the hand-listed classes.
SELECT e.trace_id, e.expect, count(*) AS expected, max(c.spans) AS got
  FROM waste_t e JOIN waste_st s USING (trace_id)
  JOIN LATERAL tokacct.waste_classes(s.st) c ON c.class = e.expect
 GROUP BY 1, 2 HAVING count(*) <> max(c.spans);
-- The classes partition the total: class sums = total = SQL sum of leaf costs.
SELECT s.trace_id,
       (SELECT sum(c.cost) FROM tokacct.waste_classes(s.st) c) = w.total AS classes_sum_to_total,
       w.total = (SELECT coalesce(sum(t.cost), 0) FROM waste_t t WHERE t.trace_id = s.trace_id
                    AND NOT EXISTS (SELECT 1 FROM waste_t k WHERE k.trace_id = t.trace_id AND k.parent_id = t.span_id)) AS total_is_leaf_sum
  FROM waste_st s, tokacct.waste_summary(s.st) w ORDER BY 1;

-- loop_min: with 6, the run of 5 in loop5 is no loop; s2..s5 are then
-- duplicates of s1 (0.004).  Even with loop_min 2, the retries of
-- ratelimit (c0 -> c0b, c1 -> c2: identical consecutive calls) are no loop:
-- a failed step breaks a run, so the classes stay as before.
SELECT w.stuck_loop, w.duplicate_tool_call FROM waste_st s, tokacct.waste_summary(s.st, 'leaf', 6) w WHERE s.trace_id = 'loop5';
SELECT span_id, class, cause_span FROM waste_st s, tokacct.waste_span_classes(s.st, 'leaf', 2) g
 WHERE s.trace_id = 'ratelimit' AND g.class <> 'essential';

-- The most expensive wasteful spans, with the span that caused each class.
SELECT span_id, class, cause_span, cost FROM waste_st s, tokacct.waste_spans(s.st, 3) g WHERE s.trace_id = 'retry';
SELECT span_id, class, cause_span, cost FROM waste_st s, tokacct.waste_spans(s.st, 2) g WHERE s.trace_id = 'abandon';
SELECT count(*) AS none FROM waste_st s, tokacct.waste_spans(s.st, 0) g;

-- Per trace and per workflow over a table (attempt column used when present).
SELECT * FROM tokacct.waste_by_trace('waste_t') ORDER BY workflow, trace_id;
SELECT * FROM tokacct.waste_by_workflow('waste_t');
-- Workflow sums equal the sums of the hand figures: support = loop5 + dup5 + steps5
-- total 0.037 + 0.070 + 0.080 = 0.187, waste 0.004 + 0.008 + 0.048 = 0.060
SELECT total = 0.187 AND waste = 0.060 AND traces = 3 AS support_ok
  FROM tokacct.waste_by_workflow('waste_t') WHERE workflow = 'support';

-- Without an attempt column (a view), retries are ordered by start time:
-- in these traces attempt numbers and start times agree, so same results.
CREATE VIEW waste_t_noattempt AS
SELECT workflow, trace_id, span_id, parent_id, kind, name, args_hash, status, cost, started_at FROM waste_t;
SELECT count(*) AS differing FROM (
  (SELECT * FROM tokacct.waste_by_trace('waste_t') EXCEPT SELECT * FROM tokacct.waste_by_trace('waste_t_noattempt'))
  UNION ALL
  (SELECT * FROM tokacct.waste_by_trace('waste_t_noattempt') EXCEPT SELECT * FROM tokacct.waste_by_trace('waste_t'))) d;
-- Attempt numbers win over start times (clock skew): attempt 1 (failed)
-- started after attempt 2.  With attempts, x1 was retried: its call (0.1)
-- is failed_attempt.  Without, x1 is the last try by time, not retried:
-- its call is abandoned_branch.
SELECT g.class, g.cost
  FROM (SELECT tokacct.waste_agg(s, p, k, 'draft', NULL, st, c, '2026-03-01'::timestamptz + t * interval '1 s', a) AS st
          FROM (VALUES ('x2', NULL, 'attempt', 'ok', NULL, 1, 2), ('x1', NULL, 'attempt', 'error', NULL, 2, 1),
                       ('x1.l', 'x1', 'llm', 'ok', 0.1, 3, NULL)) v(s, p, k, st, c, t, a)) q,
       tokacct.waste_span_classes(q.st) g WHERE g.span_id = 'x1.l';
SELECT g.class, g.cost
  FROM (SELECT tokacct.waste_agg(s, p, k, 'draft', NULL, st, c, '2026-03-01'::timestamptz + t * interval '1 s') AS st
          FROM (VALUES ('x2', NULL, 'attempt', 'ok', NULL, 1), ('x1', NULL, 'attempt', 'error', NULL, 2),
                       ('x1.l', 'x1', 'llm', 'ok', 0.1, 3)) v(s, p, k, st, c, t)) q,
       tokacct.waste_span_classes(q.st) g WHERE g.span_id = 'x1.l';
-- Odd rows in a real table (helper-42's F1: one of them stopped the query,
-- and the BI views over it): a trace with a span without an id, one with a
-- start at infinity, one with a negative cost, one with a span id twice, one
-- whose parent ids make a cycle (a -> b -> a under the root), one with a
-- cost that is not a number, one with a cost past 9223372.036854775807 are
-- left out, counted in a NOTICE; the good trace is classified as alone.
CREATE TABLE waste_odd AS SELECT * FROM waste_t WHERE trace_id = 'dup5';
INSERT INTO waste_odd (workflow, trace_id, span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) VALUES
	('odd', 'no-id', 'r', NULL, 'agent', 'run', NULL, 'ok', NULL, '2026-03-01 00:00+00', 1),
	('odd', 'no-id', NULL, 'r', 'llm', 'draft', NULL, 'ok', 0.001, '2026-03-01 00:00:01+00', 1),
	('odd', 'no-start', 'r', NULL, 'agent', 'run', NULL, 'ok', NULL, 'infinity', 1),
	('odd', 'negative', 'r', NULL, 'agent', 'run', NULL, 'ok', -0.5, '2026-03-01 00:00+00', 1),
	('odd', 'twice', 'r', NULL, 'agent', 'run', NULL, 'ok', NULL, '2026-03-01 00:00+00', 1),
	('odd', 'twice', 's1', 'r', 'llm', 'draft', NULL, 'ok', 0.001, '2026-03-01 00:00:01+00', 1),
	('odd', 'twice', 's1', 'r', 'llm', 'draft', NULL, 'ok', 0.002, '2026-03-01 00:00:02+00', 1),
	('odd', 'cycle', 'r', NULL, 'agent', 'run', NULL, 'ok', NULL, '2026-03-01 00:00+00', 1),
	('odd', 'cycle', 'a', 'b', 'llm', 'draft', NULL, 'ok', 0.001, '2026-03-01 00:00:01+00', 1),
	('odd', 'cycle', 'b', 'a', 'llm', 'draft', NULL, 'ok', 0.001, '2026-03-01 00:00:02+00', 1),
	('odd', 'nan', 'r', NULL, 'agent', 'run', NULL, 'ok', 'NaN', '2026-03-01 00:00+00', 1),
	('odd', 'huge', 'r', NULL, 'agent', 'run', NULL, 'ok', 9223372.036854775808, '2026-03-01 00:00+00', 1);
SET client_min_messages = notice;
SELECT trace_id, total, waste FROM tokacct.waste_by_trace('waste_odd');
SET client_min_messages = warning;
SELECT count(*) AS differing FROM (
  (SELECT * FROM tokacct.waste_by_trace('waste_odd') EXCEPT SELECT * FROM tokacct.waste_by_trace('waste_t') WHERE trace_id = 'dup5')
  UNION ALL
  (SELECT * FROM tokacct.waste_by_trace('waste_t') WHERE trace_id = 'dup5' EXCEPT SELECT * FROM tokacct.waste_by_trace('waste_odd'))) d;
-- waste_summary_or_null: NULL for the cycle only; the trace after it in the
-- same query is classified as alone (its working area reset); a bad rule
-- is still an error
SELECT trace_id, (tokacct.waste_summary_or_null(tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at))).total
  FROM waste_odd WHERE trace_id IN ('cycle', 'dup5') GROUP BY trace_id ORDER BY trace_id;
SELECT tokacct.waste_summary_or_null(tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at), 'nonsense')
  FROM waste_odd WHERE trace_id = 'dup5';
-- nor is a cost rule the trace's costs contradict (helper-43: 'rollup' over
-- costs that are each span's own) a refusal of its shape: still an error,
-- from waste_by_trace too
-- (r reports 0.001 under 'rollup', less than its child a's 0.010)
CREATE TABLE waste_selfcost AS SELECT * FROM waste_odd WHERE false;
INSERT INTO waste_selfcost (workflow, trace_id, span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) VALUES
	('self', 'own', 'r', NULL, 'agent', 'run', NULL, 'ok', 0.001, '2026-03-01 00:00+00', 1),
	('self', 'own', 'a', 'r', 'llm', 'draft', NULL, 'ok', 0.010, '2026-03-01 00:00:01+00', 1);
SELECT tokacct.waste_summary_or_null(tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at), 'rollup')
  FROM waste_selfcost;
\set SHOW_CONTEXT never
SELECT count(*) FROM tokacct.waste_by_trace('waste_selfcost', 'rollup');
\set SHOW_CONTEXT errors
DROP TABLE waste_selfcost;
DROP TABLE waste_odd;
-- Per workflow under the 'self' rule, named in the output (claims reports no
-- parent costs, so 'self' gives the same 0.900 as 'leaf').
SELECT workflow, cost_rule, total FROM tokacct.waste_by_workflow('waste_t', 'self') WHERE workflow = 'claims';

-- Cost rules on a tree where every level reports the total of its subtree:
--   r reports 1.000 = own 0.050 + A 0.600 + B 0.350
--   A reports 0.600 = own 0.100 + A1 0.300 + A2 0.200 (A2 timed out: error_call)
-- rollup: own costs 0.050, 0.100, 0.300, 0.200, 0.350; total 1.000 (r's report),
--         error_call 0.200, essential 0.800
-- leaf:   only A1, A2, B carry cost: total 0.850 (the parents' own work is lost)
-- self:   every report counted as own: 1.000 + 0.600 + 0.300 + 0.200 + 0.350 = 2.450
--         (double counted: why the rule matters)
CREATE TABLE waste_roll (span_id text, parent_id text, kind text, name text, status text, cost numeric, sec int);
INSERT INTO waste_roll VALUES
 ('r', NULL, 'workflow','wf',NULL, 1.000, 0),
 ('A', 'r', 'agent','sub','ok', 0.600, 1),
 ('A1','A', 'llm','m1','ok', 0.300, 2),
 ('A2','A', 'llm','m2','timeout', 0.200, 3),
 ('B', 'r', 'llm','m3','ok', 0.350, 4);
CREATE TABLE waste_roll_st AS
SELECT tokacct.waste_agg(span_id, parent_id, kind, name, NULL, status, cost,
                         '2026-03-01'::timestamptz + sec * interval '1 s') AS st FROM waste_roll;
SELECT w.cost_rule, w.total, w.essential, w.error_call,
       w.total = CASE w.cost_rule WHEN 'rollup' THEN 1.000 WHEN 'leaf' THEN 0.850 ELSE 2.450 END AS total_ok
  FROM waste_roll_st s, unnest(ARRAY['rollup','leaf','self']) r, tokacct.waste_summary(s.st, r) w;
SELECT span_id, reported_cost, cost, class FROM waste_roll_st s, tokacct.waste_span_classes(s.st, 'rollup') g;
-- rollup with a span that reports no cost: its total is its children's (A: 0.5), own 0;
-- r 1.000 - (0.500 + 0.350) = 0.150; total still 1.000
WITH q AS (SELECT tokacct.waste_agg(span_id, parent_id, kind, name, NULL, status,
             CASE WHEN span_id = 'A' THEN NULL ELSE cost END, '2026-03-01'::timestamptz + sec * interval '1 s') AS st
             FROM waste_roll)
SELECT w.total, w.null_costs, (SELECT g.cost FROM tokacct.waste_span_classes(q.st, 'rollup') g WHERE g.span_id = 'r') AS r_own
  FROM q, tokacct.waste_summary(q.st, 'rollup') w;
-- rollup where the children report more than their parent: error naming the parent
SELECT tokacct.waste_summary(tokacct.waste_agg(span_id, parent_id, kind, name, NULL, status,
         CASE WHEN span_id = 'A' THEN 0.4 ELSE cost END, '2026-03-01'::timestamptz + sec * interval '1 s'), 'rollup')
  FROM waste_roll;

-- Odd input --------------------------------------------------------------
CREATE FUNCTION waste_one(ids text[], parents text[], costs numeric[] DEFAULT NULL)
RETURNS tokacct.waste_state LANGUAGE sql AS $$
	SELECT tokacct.waste_agg(ids[i], parents[i], 'llm', 'call' || i, NULL, 'ok', costs[i],
	                         '2026-03-01'::timestamptz + i * interval '1 s')
	  FROM generate_subscripts(ids, 1) i
$$;
-- a span whose parent is missing is an orphan, treated as a root
SELECT spans, roots, orphans, total FROM tokacct.waste_summary(waste_one('{r,a,x}', '{NULL,r,gone}', '{NULL,0.1,0.2}'));
-- several roots
SELECT spans, roots, orphans, total FROM tokacct.waste_summary(waste_one('{r1,r2,r3}', '{NULL,NULL,NULL}', '{0.1,0.2,0.3}'));
-- NULL costs count as 0 and are counted
SELECT spans, null_costs, total, essential FROM tokacct.waste_summary(waste_one('{r,a,b}', '{NULL,r,r}', '{NULL,NULL,0.25}'));
-- an empty trace: the aggregate over no rows is NULL
SELECT tokacct.waste_agg(span_id, parent_id, kind, name, NULL, status, cost, now()) IS NULL AS empty_is_null
  FROM waste_roll WHERE false;
-- a cycle: an error naming the smallest id on the cycle, never a hang
SELECT tokacct.waste_summary(waste_one('{r,b,c,a}', '{NULL,a,b,c}'));
SELECT * FROM tokacct.waste_span_classes(waste_one('{z}', '{z}'));
-- a cycle hanging under no root, with a tail into it
SELECT tokacct.waste_summary(waste_one('{t,m,n}', '{m,n,m}'));
-- duplicate span ids
SELECT tokacct.waste_summary(waste_one('{r,a,a}', '{NULL,r,r}'));

-- Bad input ---------------------------------------------------------------
SELECT tokacct.waste_agg(NULL, NULL, 'llm', 'x', NULL, 'ok', 1, now());
SELECT tokacct.waste_agg('', NULL, 'llm', 'x', NULL, 'ok', 1, now());
SELECT tokacct.waste_agg('a', NULL, 'llm', 'x', NULL, 'ok', 1, NULL);
SELECT tokacct.waste_agg('a', NULL, 'llm', 'x', NULL, 'exploded', 1, now());
SELECT tokacct.waste_agg('a', NULL, 'llm', 'x', NULL, '302', 1, now());
SELECT tokacct.waste_agg('a', NULL, 'llm', 'x', NULL, 'ok', -1, now());
SELECT tokacct.waste_agg('a', NULL, 'llm', 'x', NULL, 'ok', 'NaN', now());
-- more than 12 decimals are rounded half away from zero: 0.0000000000005 -> 0.000000000001
SELECT (tokacct.waste_summary(tokacct.waste_agg('a', NULL, 'llm', 'x', NULL, 'ok', 0.0000000000005, now()))).total;
SELECT tokacct.waste_agg('a', NULL, 'llm', 'x', NULL, 'ok', 1, now(), -1);
SELECT tokacct.waste_agg('a', NULL, 'llm', repeat('x', 70000), NULL, 'ok', 1, now());
SELECT tokacct.waste_summary(waste_one('{a}', '{NULL}'), 'total');
SELECT tokacct.waste_summary(waste_one('{a}', '{NULL}'), 'leaf', 1);
SELECT * FROM tokacct.waste_spans(waste_one('{a}', '{NULL}'), -1);
SELECT tokacct_internal.waste_accum(NULL, 'a', NULL, 'llm', 'x', NULL, 'ok', 1, now());
-- accepted statuses and HTTP codes
SELECT s AS status_in, g.status
  FROM unnest(ARRAY['OK','unset','success','Error','failed','failure','rate_limit','timed_out',
                    'server_error','cancelled','canceled','200','404','408','429','500','504']) WITH ORDINALITY u(s, i),
       LATERAL (SELECT tokacct.waste_agg('a', NULL, 'llm', 'x', NULL, v.s, 0, now()) AS st FROM (SELECT u.s) v) q,
       tokacct.waste_span_classes(q.st) g
 ORDER BY i;

-- A 100,000-span trace ----------------------------------------------------
-- A chain 100,000 deep, every level reporting the rolled-up cost of the
-- chain below it: span i reports (100000 - i + 1) x 0.000001, so each own
-- cost is 0.000001 and the total is 0.1 (iterative walk: no recursion).
SELECT w.spans, w.total = 0.1 AS rollup_total_ok, w.essential = 0.1 AS all_essential
  FROM (SELECT tokacct.waste_agg('s' || i, CASE WHEN i > 1 THEN 's' || (i - 1) END, 'step', 'n' || i, NULL, 'ok',
                                 (100001 - i) * 0.000001, '2026-03-01'::timestamptz + i * interval '1 ms') AS st
          FROM generate_series(1, 100000) i) q,
       tokacct.waste_summary(q.st, 'rollup') w;
-- A chain 100,000 deep of the same tool call (name and arguments), each
-- nested in the one before, each reporting its own 0.000001 (rule self): one
-- call seen 100,000 times, not 99,999 duplicates of the outermost, so all
-- 0.1 is essential (the walk that finds nested calls is iterative too).
SELECT w.spans, w.total = 0.1 AS self_total_ok, w.essential = 0.1 AS all_essential,
       w.duplicate_tool_call_spans
  FROM (SELECT tokacct.waste_agg('s' || i, CASE WHEN i > 1 THEN 's' || (i - 1) END, 'tool', 'fetch', 'u', 'ok',
                                 0.000001, '2026-03-01'::timestamptz + i * interval '1 ms') AS st
          FROM generate_series(1, 100000) i) q,
       tokacct.waste_summary(q.st, 'self') w;
-- 100,000 identical consecutive tool calls under one root: one essential,
-- 99,999 in a stuck loop (0.0001 each: 9.9999); under loop_min 200000 they
-- are duplicates of the first instead.
CREATE TABLE waste_wide AS
SELECT tokacct.waste_agg(CASE WHEN i = 0 THEN 'root' ELSE 'c' || i END, CASE WHEN i > 0 THEN 'root' END,
                         CASE WHEN i = 0 THEN 'agent' ELSE 'tool' END, 'search', 'q', 'ok',
                         CASE WHEN i = 0 THEN NULL ELSE 0.0001 END,
                         '2026-03-01'::timestamptz + i * interval '1 ms') AS st
  FROM generate_series(0, 100000) i;
SELECT w.spans, w.total, w.essential, w.stuck_loop, w.stuck_loop_spans
  FROM waste_wide s, tokacct.waste_summary(s.st) w;
SELECT w.duplicate_tool_call, w.duplicate_tool_call_spans
  FROM waste_wide s, tokacct.waste_summary(s.st, 'leaf', 200000) w;
SELECT span_id, class, cause_span, cost FROM waste_wide s, tokacct.waste_spans(s.st, 2) g;
-- The state grows in place while aggregating (an expanded object whose
-- room doubles) and leaves the aggregate with no spare room: the same
-- 100,001 spans take 48 bytes of header and per span a 32-byte fixed part
-- and its strings: root 16 bytes (root, agent, search, q), c<i> 16 plus the
-- digits of i (c, root, tool, search, q), 488,895 digits for i = 1..100,000:
-- 48 + 100,001 x 32 + 16 + 100,000 x 16 + 488,895 = 5,288,991 bytes.
SELECT pg_column_size(tokacct.waste_agg(CASE WHEN i = 0 THEN 'root' ELSE 'c' || i END, CASE WHEN i > 0 THEN 'root' END,
                         CASE WHEN i = 0 THEN 'agent' ELSE 'tool' END, 'search', 'q', 'ok',
                         CASE WHEN i = 0 THEN NULL ELSE 0.0001 END,
                         '2026-03-01'::timestamptz + i * interval '1 ms')) AS state_bytes
  FROM generate_series(0, 100000) i;

-- Serial, parallel, merged, copied: the same answers -----------------------
-- 3,000 generated traces; the class of each span follows from how it is
-- built (column expect), an oracle independent of the classifier:
--   k % 3 = 0: attempt a1 fails, a2 retries -> a1 subtree failed_attempt
--   k % 4 = 0: five identical consecutive searches -> 4 stuck_loop
--   k % 5 = 0: a billed 429 call not retried -> error_call
--   k % 5 = 1: a failed sub-agent -> its subtree abandoned_branch
CREATE TABLE waste_gen (trace_id int, workflow text, span_id text, parent_id text, kind text, name text,
                        args_hash text, status text, cost numeric, started_at timestamptz, attempt int, expect text);
INSERT INTO waste_gen
SELECT k, 'wf' || (k % 2), s.span_id, s.parent_id, s.kind, s.name, s.args_hash, s.status, s.cost,
       '2026-03-01'::timestamptz + (k * 100 + s.sec) * interval '1 s', s.attempt, s.expect
  FROM generate_series(1, 3000) k,
  LATERAL (VALUES
    ('r', NULL, 'workflow', 'wf', NULL, 'ok', NULL, 0, NULL, 'essential', true),
    ('a1', 'r', 'attempt', 'extract', NULL, CASE WHEN k % 3 = 0 THEN 'error' ELSE 'ok' END, NULL, 1, 1,
         CASE WHEN k % 3 = 0 THEN 'failed_attempt' ELSE 'essential' END, true),
    ('a1l', 'a1', 'llm', 'extract', 'x', 'ok', (k % 7 + 1) * 0.001, 2, NULL,
         CASE WHEN k % 3 = 0 THEN 'failed_attempt' ELSE 'essential' END, true),
    ('a1t', 'a1', 'tool', 'ocr', 'doc', 'ok', 0.0005, 3, NULL,
         CASE WHEN k % 3 = 0 THEN 'failed_attempt' ELSE 'essential' END, true),
    ('a2', 'r', 'attempt', 'extract', NULL, 'ok', NULL, 4, 2, 'essential', k % 3 = 0),
    ('a2l', 'a2', 'llm', 'extract', 'x2', 'ok', 0.002, 5, NULL, 'essential', k % 3 = 0),
    ('a2t', 'a2', 'tool', 'ocr', 'doc', 'ok', 0.0005, 6, NULL, 'essential', k % 3 = 0),
    ('k1', 'r', 'tool', 'search', 'q', 'ok', 0.0001, 7, NULL, 'essential', true),
    ('k2', 'r', 'tool', 'search', 'q', 'ok', 0.0001, 8, NULL, 'stuck_loop', k % 4 = 0),
    ('k3', 'r', 'tool', 'search', 'q', 'ok', 0.0001, 9, NULL, 'stuck_loop', k % 4 = 0),
    ('k4', 'r', 'tool', 'search', 'q', 'ok', 0.0001, 10, NULL, 'stuck_loop', k % 4 = 0),
    ('k5', 'r', 'tool', 'search', 'q', 'ok', 0.0001, 11, NULL, 'stuck_loop', k % 4 = 0),
    ('e', 'r', 'llm', 'classify', 'c', '429', 0.0003, 12, NULL, 'error_call', k % 5 = 0),
    ('sub', 'r', 'agent', 'enrich', NULL, 'error', NULL, 13, NULL, 'abandoned_branch', k % 5 = 1),
    ('subl', 'sub', 'llm', 'enrich', 'n', 'ok', 0.004, 14, NULL, 'abandoned_branch', k % 5 = 1)
  ) s(span_id, parent_id, kind, name, args_hash, status, cost, sec, attempt, expect, present)
 WHERE s.present;
ALTER TABLE waste_gen SET (parallel_workers = 2);
ANALYZE waste_gen;

-- serial
CREATE TABLE waste_serial AS
SELECT trace_id, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st
  FROM waste_gen GROUP BY trace_id;
-- the oracle: cost per class from the construction
SELECT count(*) AS traces_disagreeing_with_construction FROM (
  SELECT trace_id,
         sum(cost) FILTER (WHERE expect = 'essential') AS essential,
         sum(cost) FILTER (WHERE expect = 'failed_attempt') AS failed_attempt,
         sum(cost) FILTER (WHERE expect = 'stuck_loop') AS stuck_loop,
         sum(cost) FILTER (WHERE expect = 'error_call') AS error_call,
         sum(cost) FILTER (WHERE expect = 'abandoned_branch') AS abandoned_branch,
         sum(cost) AS total
    FROM waste_gen GROUP BY trace_id) o
  JOIN waste_serial s USING (trace_id), tokacct.waste_summary(s.st) w
 WHERE (w.essential, w.failed_attempt, w.stuck_loop, w.error_call, w.abandoned_branch, w.total, w.duplicate_tool_call)
       IS DISTINCT FROM (o.essential, coalesce(o.failed_attempt, 0), coalesce(o.stuck_loop, 0),
                         coalesce(o.error_call, 0), coalesce(o.abandoned_branch, 0), o.total, 0);
SELECT count(*) AS spans_disagreeing FROM waste_gen g JOIN waste_serial s USING (trace_id)
  JOIN LATERAL tokacct.waste_span_classes(s.st) c ON c.span_id = g.span_id
 WHERE c.class <> g.expect;
-- per workflow against plain SQL sums
SELECT w.workflow, w.traces, w.total = o.total AS total_ok, w.waste = o.waste AS waste_ok
  FROM tokacct.waste_by_workflow('waste_gen') w
  JOIN (SELECT workflow, sum(cost) AS total, sum(cost) FILTER (WHERE expect <> 'essential') AS waste
          FROM waste_gen GROUP BY workflow) o USING (workflow);

-- parallel: partial aggregation in workers, combined in the leader.  Each
-- worker classifies the partial states it sends (under the default rule and
-- loop_min) and sends their totals after the spans; the leader answers
-- waste_summary and waste_classes from them for a trace one worker saw
-- whole, and classifies a trace split between workers itself.  Forced here
-- on a small table, the leader taking no rows (it would take them all
-- before the workers start).
SET parallel_leader_participation = off;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT trace_id, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt)
  FROM waste_gen GROUP BY trace_id;
CREATE TABLE waste_parallel AS
SELECT trace_id, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st
  FROM waste_gen GROUP BY trace_id;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT count(*) AS traces,
       count(*) FILTER (WHERE ws IS DISTINCT FROM wp) AS differing
  FROM waste_serial s JOIN waste_parallel p USING (trace_id),
       LATERAL tokacct.waste_summary(s.st) ws, LATERAL tokacct.waste_summary(p.st) wp;
-- the states a worker saw whole carry the totals (176 bytes after the
-- spans: four int32 counts, six int64 span counts, seven int128 costs);
-- every other state has the serial state's size
SELECT count(*) FILTER (WHERE pg_column_size(p.st) = pg_column_size(s.st) + 176) > 0 AS some_with_totals,
       count(*) FILTER (WHERE pg_column_size(p.st) NOT IN (pg_column_size(s.st), pg_column_size(s.st) + 176)) AS other_sizes
  FROM waste_serial s JOIN waste_parallel p USING (trace_id);
-- the parallel answers against the construction, as the serial ones above
SELECT count(*) AS parallel_traces_disagreeing_with_construction FROM (
  SELECT trace_id,
         sum(cost) FILTER (WHERE expect = 'essential') AS essential,
         sum(cost) FILTER (WHERE expect = 'failed_attempt') AS failed_attempt,
         sum(cost) FILTER (WHERE expect = 'stuck_loop') AS stuck_loop,
         sum(cost) FILTER (WHERE expect = 'error_call') AS error_call,
         sum(cost) FILTER (WHERE expect = 'abandoned_branch') AS abandoned_branch,
         sum(cost) AS total,
         count(*) FILTER (WHERE expect = 'stuck_loop') AS stuck_loop_spans,
         count(*) AS spans
    FROM waste_gen GROUP BY trace_id) o
  JOIN waste_parallel p USING (trace_id), tokacct.waste_summary(p.st) w
 WHERE (w.essential, w.failed_attempt, w.stuck_loop, w.error_call, w.abandoned_branch, w.total,
        w.duplicate_tool_call, w.stuck_loop_spans, w.spans)
       IS DISTINCT FROM (o.essential, coalesce(o.failed_attempt, 0), coalesce(o.stuck_loop, 0),
                         coalesce(o.error_call, 0), coalesce(o.abandoned_branch, 0), o.total, 0,
                         o.stuck_loop_spans, o.spans);
-- waste_classes, and other rules and loop lengths (classified in the leader)
SELECT count(*) FILTER (WHERE cs IS DISTINCT FROM cp) AS classes_differing,
       count(*) FILTER (WHERE ws IS DISTINCT FROM wp) AS self_2_differing
  FROM waste_serial s JOIN waste_parallel p USING (trace_id),
       LATERAL (SELECT array_agg(c ORDER BY c.precedence) FROM tokacct.waste_classes(s.st) c) x(cs),
       LATERAL (SELECT array_agg(c ORDER BY c.precedence) FROM tokacct.waste_classes(p.st) c) y(cp),
       LATERAL tokacct.waste_summary(s.st, 'self', 2) ws, LATERAL tokacct.waste_summary(p.st, 'self', 2) wp;
-- spans merged into a state with totals: classified anew.  Trace k with
-- k % 60 = 0 has 13 spans (as trace 60 below) costing (k % 7 + 1) x 0.001 + 0.0038;
-- with x, 14 spans and 0.5 more
SELECT w.spans, w.total = (k % 7 + 1) * 0.001 + 0.5038 AS total_ok
  FROM (SELECT min(trace_id) AS k FROM waste_serial s JOIN waste_parallel p USING (trace_id)
         WHERE trace_id % 60 = 0 AND pg_column_size(p.st) = pg_column_size(s.st) + 176) t,
       LATERAL (SELECT tokacct.merge(st) AS st FROM (
                  SELECT st FROM waste_parallel WHERE trace_id = t.k
                  UNION ALL SELECT waste_one('{x}', '{NULL}', '{0.5}')) q) m,
       tokacct.waste_summary(m.st) w;

-- traces the classifier refuses, whole in a worker (a repeated span id next
-- to the first, a cycle of parent ids): the parallel query that collects
-- the states succeeds, and classifying them raises the serial errors
CREATE TABLE waste_gen_bad AS
SELECT * FROM (SELECT * FROM waste_gen
               UNION ALL SELECT * FROM waste_gen WHERE trace_id = 7 AND span_id = 'k1'
               UNION ALL SELECT 3001, 'wf1', 'c1', 'c2', 'llm', 'm', NULL, 'ok', 0.1, '2026-03-01', NULL, NULL
               UNION ALL SELECT 3001, 'wf1', 'c2', 'c1', 'llm', 'm', NULL, 'ok', 0.1, '2026-03-01', NULL, NULL) q
 ORDER BY trace_id;
ALTER TABLE waste_gen_bad SET (parallel_workers = 2);
ANALYZE waste_gen_bad;
SET parallel_leader_participation = off;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
CREATE TABLE waste_parallel_bad AS
SELECT trace_id, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st
  FROM waste_gen_bad GROUP BY trace_id;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT count(*) AS traces FROM waste_parallel_bad;
SELECT w.spans FROM waste_parallel_bad p, tokacct.waste_summary(p.st) w WHERE trace_id = 7;
SELECT w.spans FROM waste_parallel_bad p, tokacct.waste_summary(p.st) w WHERE trace_id = 3001;
SELECT count(*) AS traces_differing
  FROM waste_serial s
  JOIN (SELECT * FROM waste_parallel_bad WHERE trace_id < 3001 AND trace_id <> 7 OFFSET 0) p USING (trace_id),
       LATERAL tokacct.waste_summary(s.st) ws, LATERAL tokacct.waste_summary(p.st) wp
 WHERE ws IS DISTINCT FROM wp;

-- merged from stored partial states: each trace split in two by span id
CREATE TABLE waste_parts AS
SELECT trace_id, length(span_id) % 2 AS part,
       tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st
  FROM waste_gen GROUP BY 1, 2;
SELECT count(*) AS traces, count(*) FILTER (WHERE ws IS DISTINCT FROM wm) AS differing
  FROM waste_serial s
  JOIN (SELECT trace_id, tokacct.merge(st) AS st FROM waste_parts GROUP BY trace_id) m USING (trace_id),
       LATERAL tokacct.waste_summary(s.st) ws, LATERAL tokacct.waste_summary(m.st) wm;
-- merging a trace's state with itself repeats every span id: an error, not double counting
SELECT tokacct.waste_summary(tokacct.merge(st)) FROM (SELECT st FROM waste_serial WHERE trace_id = 1 UNION ALL SELECT st FROM waste_serial WHERE trace_id = 1) q;
-- combining very different states: NULL, one span, many spans
SELECT w.spans, w.total FROM (
  SELECT tokacct.merge(st) AS st FROM (
    SELECT NULL::tokacct.waste_state AS st
    UNION ALL SELECT waste_one('{x}', '{NULL}', '{0.5}')
    UNION ALL SELECT st FROM waste_serial WHERE trace_id = 60) q) m, tokacct.waste_summary(m.st) w;
-- trace 60: root + a1, a1l, a1t, a2, a2l, a2t (k%3=0) + k1..k5 (k%4=0) + e (k%5=0) = 13 spans, + x = 14;
-- total = a1l (60%7+1) x 0.001 = 0.005 + a1t 0.0005 + a2l 0.002 + a2t 0.0005 + 5 x 0.0001 + e 0.0003
--       = 0.0088, + x 0.5 = 0.5088
SELECT tokacct_internal.waste_combine(NULL, NULL) IS NULL AS null_null,
       tokacct_internal.waste_combine(waste_one('{x}', '{NULL}', '{0.5}'), NULL)::text = waste_one('{x}', '{NULL}', '{0.5}')::text AS left_only,
       tokacct_internal.waste_combine(NULL, waste_one('{x}', '{NULL}', '{0.5}'))::text = waste_one('{x}', '{NULL}', '{0.5}')::text AS right_only;

-- COPY text and binary round trips keep every byte
-- (files in the instance's data directory: a fixed /tmp name is shared with
-- every other test run on the machine)
SELECT current_setting('data_directory') || '/waste_copy.txt' AS copy_txt,
	current_setting('data_directory') || '/waste_copy.bin' AS copy_bin \gset
COPY waste_serial TO :'copy_txt';
COPY waste_serial TO :'copy_bin' (FORMAT binary);
CREATE TABLE waste_copy_t (LIKE waste_serial);
CREATE TABLE waste_copy_b (LIKE waste_serial);
COPY waste_copy_t FROM :'copy_txt';
COPY waste_copy_b FROM :'copy_bin' (FORMAT binary);
SELECT count(*) AS traces,
       count(*) FILTER (WHERE s.st::text <> t.st::text) AS text_differs,
       count(*) FILTER (WHERE s.st::text <> b.st::text) AS binary_differs,
       count(*) FILTER (WHERE tokacct.waste_summary(s.st) IS DISTINCT FROM tokacct.waste_summary(b.st)) AS summary_differs
  FROM waste_serial s JOIN waste_copy_t t USING (trace_id) JOIN waste_copy_b b USING (trace_id);

-- Hostile text input: each mutation of a valid state is refused clearly.
-- Layout: version(8 hex) nspans(8) ncostnull(8) total_hi(16) total_lo(16),
-- then per span cost(16) start(16) attempt(8) status(2) flags(2) lengths(5x4) strings.
SELECT waste_one('{a}', '{NULL}', '{0.5}')::text AS good \gset
-- 56 + 16+16+8+2+2+20 + strings "a" "llm" "call1" (9 bytes: 18 hex) = 138
SELECT length(:'good') AS hex_chars;
SELECT :'good'::tokacct.waste_state IS NOT NULL AS good_parses;
SELECT substr(:'good', 1, 137)::tokacct.waste_state;                            -- odd length
SELECT substr(:'good', 1, 136)::tokacct.waste_state;                            -- truncated
SELECT (:'good' || '00')::tokacct.waste_state;                                   -- trailing bytes
SELECT ('zz' || substr(:'good', 3))::tokacct.waste_state;                       -- not hex
SELECT ('00000003' || substr(:'good', 9))::tokacct.waste_state;                 -- version
SELECT (substr(:'good', 1, 8) || 'ffffffff' || substr(:'good', 17))::tokacct.waste_state;  -- negative count
SELECT (substr(:'good', 1, 8) || '00000002' || substr(:'good', 17))::tokacct.waste_state;  -- count too high
SELECT (substr(:'good', 1, 40) || '0000000000000001' || substr(:'good', 57))::tokacct.waste_state;  -- total
SELECT (substr(:'good', 1, 56) || 'ffffffffffffffff' || substr(:'good', 73))::tokacct.waste_state;  -- negative cost
SELECT (substr(:'good', 1, 96) || '09' || substr(:'good', 99))::tokacct.waste_state;  -- status
SELECT (substr(:'good', 1, 98) || 'f0' || substr(:'good', 101))::tokacct.waste_state;  -- flags
SELECT (substr(:'good', 1, 100) || '0000' || substr(:'good', 105))::tokacct.waste_state;  -- empty span id
SELECT (substr(:'good', 1, 100) || 'ffff' || substr(:'good', 105))::tokacct.waste_state;  -- length past the end
SELECT (substr(:'good', 1, 120) || '00' || substr(:'good', 123))::tokacct.waste_state;  -- NUL as the span id
SELECT (substr(:'good', 1, 72) || '7fffffffffffffff' || substr(:'good', 89))::tokacct.waste_state;  -- infinite start

-- Every single-byte mutation of a valid 9-span state (each byte set to
-- 00, 01, 7f, 80 and ff) either parses or fails with a clear error, and
-- every state that parses can be classified (or fails clearly): no crash,
-- no hang.  Listed: the outcomes and the SQLSTATEs met (with, for a
-- refused input, its message when it is not the state kit's one wording).
DO $$
DECLARE
	good text := (SELECT st::text FROM waste_st WHERE trace_id = 'retry');
	m text;
	pos int;
	b text;
	st tokacct.waste_state;
	w record;
BEGIN
	CREATE TEMP TABLE waste_fuzz (outcome text, state text);
	FOR pos IN 0 .. length(good) / 2 - 1 LOOP
		FOREACH b IN ARRAY ARRAY['00', '01', '7f', '80', 'ff'] LOOP
			m := overlay(good PLACING b FROM pos * 2 + 1 FOR 2);
			CONTINUE WHEN m = good;
			BEGIN
				st := m::tokacct.waste_state;
			EXCEPTION WHEN OTHERS THEN
				INSERT INTO waste_fuzz VALUES ('input refused', SQLSTATE
					|| CASE WHEN starts_with(SQLERRM, 'invalid input syntax for type tokacct.waste_state: "')
							THEN ' invalid input syntax' ELSE ' ' || SQLERRM END);
				CONTINUE;
			END;
			BEGIN
				SELECT * INTO w FROM tokacct.waste_summary(st, 'rollup');
				INSERT INTO waste_fuzz VALUES ('classified', NULL);
			EXCEPTION WHEN OTHERS THEN
				INSERT INTO waste_fuzz VALUES ('classification refused', SQLSTATE);
			END;
		END LOOP;
	END LOOP;
END $$;
SELECT outcome, state, count(*) > 0 AS seen FROM waste_fuzz GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) = 5 * (SELECT length(st::text) / 2 FROM waste_st WHERE trace_id = 'retry')
                  - (SELECT count(*) FROM waste_st, generate_series(0, length(st::text) / 2 - 1) p,
                            unnest(ARRAY['00', '01', '7f', '80', 'ff']) b
                      WHERE trace_id = 'retry' AND substr(st::text, p * 2 + 1, 2) = b) AS every_mutation_tried
  FROM waste_fuzz;

-- A call nested inside a call of the same name and arguments is that call
-- seen twice (two layers of instrumentation, or a parent that starts after
-- its child when clocks disagree), never a duplicate of it.  Trace 'nest',
-- rule leaf (own cost = reported cost of a leaf, 0 for a parent):
--   r   agent root                                   own 0
--   P   tool search(q=1), 1 s, parent r              own 0     (has a child)
--   Q   tool search(q=1), 2 s, inside P              own 0.40
--   T   tool fetch(u),    4 s, parent r              own 0     (has a child)
--   C   tool fetch(u),    3 s, inside T (earlier!)   own 0.25
--   R   tool search(q=1), 10 s, parent r             own 0.40  a real repeat
-- Q is P seen twice: essential with P (not a duplicate of P, though P is an
-- earlier kept call of its key).  C is T seen twice: essential (before,
-- C inherited T's mark "duplicate of C" and was a duplicate of itself).  R
-- repeats the call P made: duplicate_tool_call, cause P.  No stuck loop:
-- r's children in time order are P, T, R (different steps side by side).
-- essential = 0.40 + 0.25 = 0.65 (5 spans), duplicate = 0.40 (1 span), total 1.05.
CREATE TABLE waste_nest AS
SELECT span_id, parent_id, kind, name, args_hash, cost,
       '2026-03-01 10:00:00+00'::timestamptz + sec * interval '1 second' AS started_at
  FROM (VALUES ('r', NULL, 'agent', 'a',      NULL,  NULL::numeric, 0),
               ('P', 'r',  'tool',  'search', 'q=1', NULL,  1),
               ('Q', 'P',  'tool',  'search', 'q=1', 0.40,  2),
               ('T', 'r',  'tool',  'fetch',  'u',   NULL,  4),
               ('C', 'T',  'tool',  'fetch',  'u',   0.25,  3),
               ('R', 'r',  'tool',  'search', 'q=1', 0.40, 10))
       v(span_id, parent_id, kind, name, args_hash, cost, sec);
CREATE TABLE waste_nest_st AS
SELECT tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, 'ok', cost, started_at) AS st
  FROM waste_nest;
SELECT g.span_id, g.class, g.cause_span, g.cost
  FROM waste_nest_st s, tokacct.waste_span_classes(s.st) g;
SELECT w.total = 1.05 AND w.essential = 0.65 AND w.duplicate_tool_call = 0.40
       AND w.duplicate_tool_call_spans = 1 AND w.waste = 0.40 AS hand_figures_match
  FROM waste_nest_st s, tokacct.waste_summary(s.st) w;

-- waste_agg's final value is the state itself, read-only, in the aggregate's
-- memory (not a copy): every plan that reads it before the aggregate moves
-- on gives the answers of the stored (flattened) states of waste_serial,
-- themselves checked against the construction above.
-- Each trace's final value as the plan of the moment gives it (a view is
-- planned when read, under the settings then in force), and how many
-- traces' summaries differ from the stored states'.
CREATE TEMP VIEW waste_now AS
SELECT trace_id, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st
  FROM waste_gen GROUP BY trace_id;
CREATE TEMP VIEW waste_now_vs_serial AS
SELECT count(*) AS traces, count(*) FILTER (WHERE ws IS DISTINCT FROM wq) AS differing
  FROM waste_now q
  JOIN waste_serial s USING (trace_id),
       LATERAL tokacct.waste_summary(s.st) ws, LATERAL tokacct.waste_summary(q.st) wq;
-- sorted groups, read by a lateral call, not stored
SET enable_hashagg = off;
SELECT count(*) AS traces, count(*) FILTER (WHERE ws IS DISTINCT FROM wq) AS summary_differs,
       count(*) FILTER (WHERE s.st::text <> q.st::text) AS text_differs,
       count(*) FILTER (WHERE tokacct_internal.waste_state_send(s.st) <> q.bin) AS binary_differs,
       count(*) FILTER (WHERE pg_column_size(s.st) <> q.sz) AS size_differs
  FROM (SELECT trace_id, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st,
               tokacct_internal.waste_state_send(tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt)) AS bin,
               pg_column_size(tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt)) AS sz
          FROM waste_gen GROUP BY trace_id) q
  JOIN waste_serial s USING (trace_id),
       LATERAL tokacct.waste_summary(s.st) ws, LATERAL tokacct.waste_summary(q.st) wq;
RESET enable_hashagg;
-- hashed groups spilled to disk (work_mem at its minimum): states finalised
-- batch by batch, the hash table emptied between batches
SET enable_sort = off;
SET work_mem = '64kB';
SET max_parallel_workers_per_gather = 0;
CREATE FUNCTION pg_temp.spilled(q text) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE l text; h bool := false; d bool := false;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
		h := h OR l ~ '^HashAggregate';
		d := d OR l ~ 'Disk Usage';
	END LOOP;
	RETURN h AND d;
END $$;
SELECT pg_temp.spilled('SELECT * FROM waste_now') AS hashed_and_spilled;
SELECT count(*) AS traces, count(*) FILTER (WHERE ws IS DISTINCT FROM wq) AS summary_differs,
       count(*) FILTER (WHERE s.st::text <> q.txt) AS text_differs
  FROM (SELECT trace_id, st, st::text AS txt, (tokacct.waste_summary(st)).* FROM (
          SELECT trace_id, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st
            FROM waste_gen GROUP BY trace_id) h) q
  JOIN waste_serial s USING (trace_id),
       LATERAL tokacct.waste_summary(s.st) ws,
       LATERAL (SELECT q.cost_rule, q.spans, q.roots, q.orphans, q.null_costs, q.total, q.essential,
                       q.error_call, q.failed_attempt, q.abandoned_branch, q.stuck_loop,
                       q.duplicate_tool_call, q.waste, q.error_call_spans, q.failed_attempt_spans,
                       q.abandoned_branch_spans, q.stuck_loop_spans, q.duplicate_tool_call_spans) wq;
RESET work_mem;
RESET enable_sort;
RESET max_parallel_workers_per_gather;
-- grouping sets: a trace's state and its workflow's, finalised one after
-- the other from the same sorted input
SELECT count(*) FILTER (WHERE q.trace_id IS NOT NULL) AS traces,
       count(*) FILTER (WHERE q.trace_id IS NULL) AS workflows,
       count(*) FILTER (WHERE w.spans <> o.spans OR w.total <> o.total) AS differing
  FROM (SELECT workflow, trace_id,
               tokacct.waste_agg(span_id || '.' || trace_id, CASE WHEN parent_id IS NOT NULL THEN parent_id || '.' || trace_id END,
                                 kind, name, args_hash, status, cost, started_at, attempt) AS st
          FROM waste_gen GROUP BY ROLLUP (workflow, trace_id) HAVING workflow IS NOT NULL) q
  JOIN (SELECT workflow, trace_id, count(*) AS spans, sum(cost) AS total
          FROM waste_gen GROUP BY ROLLUP (workflow, trace_id) HAVING workflow IS NOT NULL) o
       ON o.workflow = q.workflow AND o.trace_id IS NOT DISTINCT FROM q.trace_id,
       tokacct.waste_summary(q.st) w;
-- final values merged by an aggregate above, unsorted in between
SELECT count(*) AS traces, count(*) FILTER (WHERE ws IS DISTINCT FROM wm) AS differing
  FROM waste_serial s
  JOIN (SELECT trace_id, tokacct.merge(st) AS st FROM (
          SELECT trace_id, length(span_id) % 2, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st
            FROM waste_gen GROUP BY 1, 2 ORDER BY 1, 2) p GROUP BY trace_id) m USING (trace_id),
       LATERAL tokacct.waste_summary(s.st) ws, LATERAL tokacct.waste_summary(m.st) wm;
-- parallel, the leader taking rows too (traces split between participants
-- are combined in the leader), with sorted and with hashed finalisation
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
CREATE FUNCTION pg_temp.parallel_final(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE l text; f text := 'none'; w bool := false;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
		f := coalesce(substring(l FROM 'Finalize (\w+)'), f);
		w := w OR l ~ 'Workers Launched: 2';
	END LOOP;
	RETURN f || CASE WHEN w THEN ', 2 workers launched' ELSE ', workers not launched' END;
END $$;
SET enable_hashagg = off;
SELECT pg_temp.parallel_final('SELECT * FROM waste_now') AS plan;
SELECT * FROM waste_now_vs_serial;
RESET enable_hashagg;
SET enable_sort = off;
SELECT pg_temp.parallel_final('SELECT * FROM waste_now') AS plan;
SELECT * FROM waste_now_vs_serial;
RESET enable_sort;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
-- as a window function: the state grows row by row after each row's value
-- was read.  Running frame (the default: peers share a frame, and a row
-- after its peer reads the value the window kept), against running count
-- and sum; a frame of the last two rows (the state rebuilt at each row);
-- the running frame again with the rows sorted on top (each value
-- flattened as the row is stored) against the unsorted values
CREATE TABLE waste_win AS
SELECT *, extract(epoch FROM started_at)::bigint / 3 AS tick FROM waste_gen WHERE trace_id <= 300;
SELECT count(*) AS rows, count(DISTINCT (trace_id, tick)) AS frames,
       count(*) FILTER (WHERE (w.spans, w.total) IS DISTINCT FROM (q.n, q.s)) AS running_differs
  FROM (SELECT trace_id, tick,
               tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) OVER w AS st,
               count(*) OVER w AS n, sum(coalesce(cost, 0)) OVER w AS s
          FROM waste_win WINDOW w AS (PARTITION BY trace_id ORDER BY tick)) q,
       tokacct.waste_summary(q.st) w;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE (w.spans, w.total) IS DISTINCT FROM (q.n, q.s)) AS last_two_differs
  FROM (SELECT trace_id,
               tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) OVER w AS st,
               count(*) OVER w AS n, sum(coalesce(cost, 0)) OVER w AS s
          FROM waste_win
        WINDOW w AS (PARTITION BY trace_id ORDER BY started_at, span_id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)) q,
       tokacct.waste_summary(q.st) w;
SELECT count(*) AS rows, count(*) FILTER (WHERE a.txt <> b.txt) AS sorted_differs
  FROM (SELECT trace_id, span_id,
               (tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) OVER w)::text AS txt
          FROM waste_win WINDOW w AS (PARTITION BY trace_id ORDER BY tick)) a
  JOIN (SELECT trace_id, span_id, st::text AS txt FROM (
          SELECT trace_id, span_id,
                 tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) OVER w AS st
            FROM waste_win WINDOW w AS (PARTITION BY trace_id ORDER BY tick)
           ORDER BY span_id, trace_id) s) b USING (trace_id, span_id);
DROP TABLE waste_win;
-- one trace of 30,000 spans (over 1 MB of state, the size the accessors
-- keep with its classes): every column of (waste_summary(st)).* calls the
-- function again with the same final value (read in place once, then
-- copied and kept).  Span k's parent is span k / 2, its cost k x 0.000001;
-- under rule leaf only the leaves 15001..30000 cost: total
-- (15001 + 30000) x 15000 / 2 x 0.000001 = 337.5075, all essential
SELECT (s).spans, (s).roots, (s).orphans, (s).total, (s).essential, (s).waste,
       pg_column_size(st) > 1024 * 1024 AS over_1_mb
  FROM (SELECT st, tokacct.waste_summary(st) AS s FROM (
          SELECT tokacct.waste_agg('s' || k, CASE WHEN k > 1 THEN 's' || (k / 2) END, 'llm', 'm', NULL, 'ok',
                                   k * 0.000001, '2026-03-01'::timestamptz + k * interval '1 s') AS st
            FROM generate_series(1, 30000) k) a OFFSET 0) b;
SELECT (tokacct.waste_summary(tokacct.waste_agg('s' || k, CASE WHEN k > 1 THEN 's' || (k / 2) END, 'llm', 'm',
                                                 NULL, 'ok', k * 0.000001, '2026-03-01'::timestamptz + k * interval '1 s'))).*
  FROM generate_series(1, 30000) k;
-- merge in a sorted or plain aggregate reads a group's first state where
-- its row is (nodeAgg keeps the group's first row until the group's result
-- has been used) and copies it only when a second state is appended:
-- traces split in three parts, merged by sorted groups; the same by
-- ROLLUP (a state of the trace-level set spans several groups of the
-- (trace, part) set, so it is always copied); one trace by a plain
-- aggregate; and a compressed stored state (read through a copy)
CREATE TABLE waste_parts3 AS
SELECT trace_id, length(span_id) % 3 AS part,
       tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st
  FROM waste_gen GROUP BY 1, 2;
SET enable_hashagg = off;
SELECT count(*) AS traces, count(*) FILTER (WHERE ws IS DISTINCT FROM wm) AS differing
  FROM waste_serial s
  JOIN (SELECT trace_id, tokacct.merge(st ORDER BY part) AS st FROM waste_parts3 GROUP BY trace_id) m USING (trace_id),
       LATERAL tokacct.waste_summary(s.st) ws, LATERAL tokacct.waste_summary(m.st) wm;
SELECT count(*) AS traces, count(*) FILTER (WHERE ws IS DISTINCT FROM wm) AS differing
  FROM waste_serial s
  JOIN (SELECT trace_id, tokacct.merge(st) AS st FROM (SELECT * FROM waste_parts3 ORDER BY trace_id, part) p
         GROUP BY trace_id) m USING (trace_id),
       LATERAL tokacct.waste_summary(s.st) ws, LATERAL tokacct.waste_summary(m.st) wm;
SELECT count(*) FILTER (WHERE r.part IS NULL) AS traces,
       count(*) FILTER (WHERE r.part IS NOT NULL) AS parts,
       count(*) FILTER (WHERE r.part IS NULL AND wr IS DISTINCT FROM ws) AS traces_differing,
       count(*) FILTER (WHERE r.part IS NOT NULL AND wr IS DISTINCT FROM wp) AS parts_differing
  FROM (SELECT trace_id, part, tokacct.merge(st) AS st FROM waste_parts3
         GROUP BY ROLLUP (trace_id, part) HAVING GROUPING(trace_id) = 0) r
  JOIN waste_serial s USING (trace_id)
  LEFT JOIN waste_parts3 p ON p.trace_id = r.trace_id AND p.part = r.part,
       LATERAL tokacct.waste_summary(r.st) wr, LATERAL tokacct.waste_summary(s.st) ws,
       LATERAL tokacct.waste_summary(p.st) wp;
RESET enable_hashagg;
SELECT wm IS NOT DISTINCT FROM ws AS plain_same
  FROM (SELECT tokacct.merge(st) AS st FROM (SELECT * FROM waste_parts3 WHERE trace_id = 60 ORDER BY part) p) m,
       waste_serial s, LATERAL tokacct.waste_summary(m.st) wm, LATERAL tokacct.waste_summary(s.st) ws
 WHERE s.trace_id = 60;
CREATE TABLE waste_big AS
SELECT tokacct.waste_agg('s' || k, CASE WHEN k > 1 THEN 's' || (k / 2) END, 'llm', 'm', NULL, 'ok',
                         k * 0.000001, '2026-03-01'::timestamptz + k * interval '1 s') AS st
  FROM generate_series(1, 30000) k;
SELECT pg_column_size(st) < octet_length(tokacct_internal.waste_state_send(st)) AS stored_compressed,
       (SELECT (tokacct.waste_summary(tokacct.merge(b.st))).total FROM waste_big b) AS merged_total
  FROM waste_big;
DROP TABLE waste_big, waste_parts3;
