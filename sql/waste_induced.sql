-- Induced cost: a tool call charged for the LLM input its result added,
-- at the input price of every later call that re-reads it (README, "Induced
-- cost").  Every figure below is worked out by hand in README.md; the
-- queries compare tokacct's answers with those figures exactly.
SET timezone = 'UTC';

-- The worked trace of the README: one conversation (the children of a0).
-- input_cost: what the call paid for its input (c3 reads most of it from the
-- cache, so its price per token is lower; c4's is not a whole number of
-- picodollars; c5's input shrank: the conversation was truncated).
CREATE TABLE ind_spans (trace text, span_id text, parent_id text, kind text, name text,
	args_hash text, status text, cost numeric, started_at timestamptz, input_tokens int8, input_cost numeric);
INSERT INTO ind_spans VALUES
	('T', 'a0', NULL, 'agent', 'agent',   NULL, 'ok', 0,        '2026-03-01 10:00:00', NULL, NULL),
	('T', 'c1', 'a0', 'llm',   'chat',    NULL, 'ok', 0.0045,   '2026-03-01 10:00:01', 1000, 0.003),
	('T', 't1', 'a0', 'tool',  'search',  'h1', 'ok', NULL,     '2026-03-01 10:00:02', NULL, NULL),
	('T', 'c2', 'a0', 'llm',   'chat',    NULL, 'ok', 0.0105,   '2026-03-01 10:00:03', 3000, 0.009),
	('T', 't2', 'a0', 'tool',  'search',  'h1', 'ok', NULL,     '2026-03-01 10:00:04', NULL, NULL),
	('T', 'c3', 'a0', 'llm',   'chat',    NULL, 'ok', 0.0115,   '2026-03-01 10:00:05', 5000, 0.010),
	('T', 't3', 'a0', 'tool',  'fetch',   'h2', 'ok', NULL,     '2026-03-01 10:00:06', NULL, NULL),
	('T', 't4', 'a0', 'tool',  'fetch',   'h3', 'ok', NULL,     '2026-03-01 10:00:06', NULL, NULL),
	('T', 'c4', 'a0', 'llm',   'chat',    NULL, 'ok', 0.0135,   '2026-03-01 10:00:07', 6001, 0.012),
	('T', 't5', 'a0', 'tool',  'fetch',   'h4', 'ok', NULL,     '2026-03-01 10:00:08', NULL, NULL),
	('T', 'c5', 'a0', 'llm',   'chat',    NULL, 'ok', 0.0075,   '2026-03-01 10:00:09', 2000, 0.006),
	('T', 't6', 'a0', 'tool',  'fetch',   'h5', 'ok', NULL,     '2026-03-01 10:00:10', NULL, NULL);

CREATE TABLE ind_st AS
SELECT trace,
	   tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at,
						 NULL, input_tokens, input_cost) AS st,
	   tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at) AS plain
  FROM ind_spans GROUP BY trace;

-- Without input tokens (the 8-argument aggregate) the duplicate search costs 0.
SELECT total, essential, duplicate_tool_call, duplicate_tool_call_spans
  FROM ind_st, tokacct.waste_summary(plain);

-- With them it costs what its 2,000 tokens cost c3 and c4: 2000 x (2,000,000
-- + 1,999,666) picodollars = $0.007999332; essential is the rest of $0.0475.
SELECT s.total, s.essential, s.duplicate_tool_call, s.waste,
	   s.total = 0.0475 AS total_ok,
	   s.duplicate_tool_call = 0.007999332 AS duplicate_ok,
	   s.essential = 0.0475 - 0.007999332 AS essential_ok,
	   s.error_call + s.failed_attempt + s.abandoned_branch + s.stuck_loop = 0 AS others_zero
  FROM ind_st, tokacct.waste_summary(st) s;

-- Every call and tool, with the figures of the README's table.
SELECT i.span_id, i.class, i.role, i.input_tokens, i.tokens, i.token_price, i.own_cost, i.induced, i.cost
  FROM ind_st, tokacct.waste_induced(st) i;
SELECT bool_and(i.tokens = e.tokens AND i.token_price IS NOT DISTINCT FROM e.price
				AND i.induced = e.induced AND i.cost = e.cost) AS every_span_as_worked_by_hand,
	   count(*) AS spans, sum(i.induced) AS moved_sum
  FROM ind_st, tokacct.waste_induced(st) i
  JOIN (VALUES
	('c1', 0,    0.000003,       0,                0.0045),
	('t1', 2000, NULL,           0.013999332,      0.013999332),
	('c2', 2000, 0.000003,      -0.006,            0.0045),
	('t2', 2000, NULL,           0.007999332,      0.007999332),
	('c3', 4000, 0.000002,      -0.008,            0.0035),
	('t3', 501,  NULL,           0.001001832666,   0.001001832666),
	('t4', 500,  NULL,           0.000999833,      0.000999833),
	('c4', 5001, 0.000001999666, -0.010000329666,  0.003499670334),
	('t5', 0,    NULL,           0,                0),
	('c5', 0,    0.000003,       0,                0.0075),
	('t6', 0,    NULL,           0,                0))
	e(span_id, tokens, price, induced, cost) USING (span_id);

-- waste_span_classes and waste_spans show a span's cost in its class (own
-- cost and induced cost), so the classes are their sums.
SELECT g.span_id, g.class, g.cause_span, g.reported_cost, g.cost
  FROM ind_st, tokacct.waste_span_classes(st) g;
SELECT g.span_id, g.class, g.cost FROM ind_st, tokacct.waste_spans(st) g;
SELECT c.class, c.spans, c.cost FROM ind_st, tokacct.waste_classes(st) c;
SELECT sum(g.cost) = 0.0475 AS spans_sum_to_total FROM ind_st, tokacct.waste_span_classes(st) g;

-- The same trace from three partial states, merged: the same answers.
SELECT tokacct.waste_summary(m.st) = tokacct.waste_summary(i.st) AS merged_same
  FROM (SELECT tokacct.merge(p) AS st
		  FROM (SELECT tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at,
										 NULL, input_tokens, input_cost) AS p
				  FROM ind_spans GROUP BY abs(hashtext(span_id)) % 3) q) m, ind_st i;

-- State input/output: a state with input tokens is written as version 2
-- and read back the same; one without, as version 1, as before.
SELECT substr(st::text, 1, 8) AS with_input, substr(plain::text, 1, 8) AS without,
	   st::text::tokacct.waste_state::text = st::text AS text_round_trip,
	   tokacct.waste_summary(st::text::tokacct.waste_state) = tokacct.waste_summary(st) AS same_summary
  FROM ind_st;
-- One LLM span: version(8 hex) nspans(8) ncostnull(8) total(32), then
-- cost(16) start(16) attempt(8) status(2) flags(2) lengths(5x4), input
-- tokens(16) and input cost(16), strings.
SELECT tokacct.waste_agg('a', NULL, 'llm', 'n', NULL, 'ok', 1, '2026-03-01', NULL, 10, 0.5)::text AS one \gset
SELECT substr(:'one', 99, 2) AS flags, substr(:'one', 121, 16) AS input_tokens, substr(:'one', 137, 16) AS input_cost;
SELECT ('00000001' || substr(:'one', 9))::tokacct.waste_state;                          -- input in version 1
SELECT ('00000003' || substr(:'one', 9))::tokacct.waste_state;                          -- unknown version
SELECT (substr(:'one', 1, 120) || 'ffffffffffffffff' || substr(:'one', 137))::tokacct.waste_state;  -- negative tokens
SELECT (substr(:'one', 1, 136) || 'ffffffffffffffff' || substr(:'one', 153))::tokacct.waste_state;  -- negative cost
SELECT substr(:'one', 1, 140)::tokacct.waste_state;                                     -- cut in the input

-- Bad input to the aggregate.
SELECT tokacct.waste_agg('a', NULL, 'llm', 'n', NULL, 'ok', 1, '2026-03-01', NULL, -1, 0.5);
SELECT tokacct.waste_agg('a', NULL, 'llm', 'n', NULL, 'ok', 1, '2026-03-01', NULL, 10, -0.5);
-- An input cost without input tokens is not kept: the span is no LLM call.
SELECT substr(tokacct.waste_agg('a', NULL, 'llm', 'n', NULL, 'ok', 1, '2026-03-01', NULL, NULL, 0.5)::text, 1, 8) AS version;

-- Conversations are sibling lists.  Trace N: a root agent r with calls
-- r1 (100 tokens), r3 (400) and a tool r2 between them; r2 runs a
-- sub-agent whose own calls s1 (1000 tokens) and s3 (1500) and tool s2 are
-- a conversation of their own.  Prices: 1,000,000 picodollars a token,
-- except s3's 2,000,000.  Hand-worked: r2 added 400 - 100 = 300 tokens,
-- re-read by r3: 300 x 1,000,000 = $0.0003; s2 added 500, re-read by s3:
-- 500 x 2,000,000 = $0.001.  Under the leaf rule r2 has children, so its own
-- cost is 0 and its cost is the $0.0003 it induced.
-- Trace P: two parallel branches b and c under root q, each its own
-- conversation; a call b3 with an input cost above its own cost gives at most
-- its own cost (its price per token is then 0.0001 / 200 = $0.0000005); a call
-- with 0 input tokens (c2, rate limited) is no LLM call; a tool before the
-- first call (c0) and one after the last (b4) induce nothing.
CREATE TABLE ind_more (trace text, span_id text, parent_id text, kind text, name text,
	args_hash text, status text, cost numeric, started_at timestamptz, input_tokens int8, input_cost numeric);
INSERT INTO ind_more VALUES
	('N', 'r',  NULL, 'agent', 'agent', NULL, 'ok', NULL,   '2026-03-01 10:00:00', NULL, NULL),
	('N', 'r1', 'r',  'llm',   'chat',  NULL, 'ok', 0.0002, '2026-03-01 10:00:01', 100,  0.0001),
	('N', 'r2', 'r',  'execute_tool', 'research', 'x', 'ok', NULL, '2026-03-01 10:00:02', NULL, NULL),
	('N', 's1', 'r2', 'llm',   'chat',  NULL, 'ok', 0.002,  '2026-03-01 10:00:03', 1000, 0.001),
	('N', 's2', 'r2', 'tool',  'read',  'y', 'ok', NULL,    '2026-03-01 10:00:04', NULL, NULL),
	('N', 's3', 'r2', 'llm',   'chat',  NULL, 'ok', 0.004,  '2026-03-01 10:00:05', 1500, 0.003),
	('N', 'r3', 'r',  'llm',   'chat',  NULL, 'ok', 0.0005, '2026-03-01 10:00:09', 400,  0.0004),
	('P', 'q',  NULL, 'agent', 'agent', NULL, 'ok', NULL,   '2026-03-01 11:00:00', NULL, NULL),
	('P', 'b',  'q',  'agent', 'branch', NULL, 'ok', NULL,  '2026-03-01 11:00:01', NULL, NULL),
	('P', 'b1', 'b',  'llm',   'chat',  NULL, 'ok', 0.0002, '2026-03-01 11:00:02', 100,  0.0001),
	('P', 'b2', 'b',  'tool',  'read',  'z', 'ok', NULL,    '2026-03-01 11:00:03', NULL, NULL),
	('P', 'b3', 'b',  'llm',   'chat',  NULL, 'ok', 0.0001, '2026-03-01 11:00:04', 200,  0.0002),
	('P', 'b4', 'b',  'tool',  'read',  'w', 'ok', NULL,    '2026-03-01 11:00:05', NULL, NULL),
	('P', 'c',  'q',  'agent', 'branch', NULL, 'ok', NULL,  '2026-03-01 11:00:01.5', NULL, NULL),
	('P', 'c0', 'c',  'tool',  'read',  'v', 'ok', NULL,    '2026-03-01 11:00:02', NULL, NULL),
	('P', 'c1', 'c',  'llm',   'chat',  NULL, 'ok', 0.0002, '2026-03-01 11:00:02.5', 100, 0.0001),
	('P', 'c2', 'c',  'llm',   'chat',  NULL, 'rate_limited', 0, '2026-03-01 11:00:03', 0, 0),
	('P', 'c3', 'c',  'tool',  'read',  'u', 'ok', NULL,    '2026-03-01 11:00:03.5', NULL, NULL),
	('P', 'c4', 'c',  'llm',   'chat',  NULL, 'ok', 0.0003, '2026-03-01 11:00:04', 250,  0.00025);
-- Hand-worked, P: b2 added 200 - 100 = 100 tokens, re-read by b3 at
-- $0.0000005: $0.00005; c3 added 250 - 100 = 150 (c2 is no call), re-read
-- by c4 at $0.000001: $0.00015.
SELECT m.trace, i.span_id, i.role, i.tokens, i.token_price, i.induced, i.cost,
	   i.induced = e.induced AS as_worked
  FROM (SELECT trace, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at,
										 NULL, input_tokens, input_cost) AS st
		  FROM ind_more GROUP BY trace) m,
	   tokacct.waste_induced(m.st) i
  JOIN (VALUES ('r1', 0), ('r2', 0.0003), ('r3', -0.0003), ('s1', 0), ('s2', 0.001), ('s3', -0.001),
			   ('b1', 0), ('b2', 0.00005), ('b3', -0.00005), ('b4', 0),
			   ('c0', 0), ('c1', 0), ('c3', 0.00015), ('c4', -0.00015)) e(span_id, induced) USING (span_id)
 ORDER BY m.trace, i.span_id;
-- c2 (0 input tokens) is not listed: it is neither a call nor a tool.
SELECT count(*) FILTER (WHERE i.span_id = 'c2') AS c2_rows, count(*) AS rows
  FROM (SELECT tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at,
								 NULL, input_tokens, input_cost) AS st
		  FROM ind_more WHERE trace = 'P') m, tokacct.waste_induced(m.st) i;
-- A state without input tokens has no induced rows.
SELECT count(*) AS rows FROM ind_st, tokacct.waste_induced(plain);

-- waste_by_trace and waste_by_workflow take input_tokens and input_cost
-- when the table has both (as the attached spans views do).
CREATE TABLE ind_table AS
SELECT 'wf'::text AS workflow, trace AS trace_id, span_id, parent_id, kind, name, args_hash, status, cost,
	   started_at, input_tokens, input_cost FROM ind_spans;
SELECT trace_id, total, essential, duplicate_tool_call FROM tokacct.waste_by_trace('ind_table');
ALTER TABLE ind_table DROP COLUMN input_cost;
SELECT trace_id, total, essential, duplicate_tool_call FROM tokacct.waste_by_trace('ind_table');
DROP TABLE ind_table, ind_spans, ind_st, ind_more;
