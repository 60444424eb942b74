-- test/acme_workload.sql: a generated enterprise workload for the demo, the
-- end-to-end tests and anyone who wants to try tokacct at scale.
--
--   psql -v seed=1 -v items=110000 -f test/acme_workload.sql
--
-- Acme Insurance runs four workflows.  Before each workflow's cut-over date
-- its items (claims, tickets, contracts, invoices) go to a BPO or to staff;
-- after it, an AI agent takes most of them, retries when an attempt fails,
-- and hands what it cannot solve to a person.  The script creates schema
-- acme with:
--
--   acme.otel_traces   the agent's spans as the OpenTelemetry Collector's
--                      ClickHouse exporter lands them ("TraceId", "SpanId",
--                      "ParentSpanId" '' for a root, "SpanAttributes" jsonb of
--                      strings, "Duration" in ns, "StatusCode" Unset/Ok/Error)
--   acme.work_items    the system of record: one row per item, who handled
--                      it, opened and resolved times, human minutes, BPO
--                      charge, outcome, and the item's segment
--   acme.workflows     each workflow's BPO price, loaded human cost, cut-over
--                      date, models and segment attribute
--
-- What the traces hold: an agent span per attempt (a retry is its own trace
-- with the same app.item_id), chat calls whose input grows turn by turn
-- (the history plus each tool result; the system prompt read from cache
-- after the first turn), tool calls, calls rejected by a rate limit and
-- billed for their input, repeated tool calls, stuck loops (the same tool
-- call three or four times in a row), failed attempts and escalations.
-- Each item's chance of success on an attempt is drawn from a distribution
-- (its difficulty), so the retry tail is real; claims with an exception
-- document succeed rarely and carry long documents, so for them the agent
-- costs more per solved claim than the BPO although claims as a whole are
-- far cheaper with it.  A few rows are malformed as real exporters make
-- them: token counts that are not numbers, cache reads above input, a
-- fine-tuned model no catalog prices, and spans delivered twice.
--
-- Deterministic: every draw is a hash of (seed, what, keys), so the same
-- seed gives the same rows whatever the plan.  The default 110,000 items
-- make about a million spans.
\if :{?seed}
\else
\set seed 1
\endif
\if :{?items}
\else
\set items 110000
\endif

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS acme CASCADE;
RESET client_min_messages;
CREATE SCHEMA acme;

-- A uniform draw in [0, 1) from a key: the first 52 bits of its md5.
CREATE FUNCTION acme.u(key text) RETURNS float8
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN ('x' || substr(md5(key), 1, 13))::bit(52)::bigint / 4503599627370496.0;
-- A 16-hex-digit span id and a 32-hex-digit trace id.
CREATE FUNCTION acme.span_id(key text) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN substr(md5('span:' || key), 1, 16);
CREATE FUNCTION acme.trace_id(key text) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN md5('trace:' || key);

CREATE TABLE acme.workflows (
	workflow text PRIMARY KEY,
	share float8 NOT NULL,				-- of all items
	bpo_unit_price numeric NOT NULL,	-- per item
	human_cost_per_hour numeric NOT NULL,
	staff_minutes float8 NOT NULL,		-- an item done by staff, before the agent
	fix_minutes float8 NOT NULL,		-- finishing an item the agent gave up on
	review_minutes float8 NOT NULL,		-- checking an item the agent solved
	cutover date NOT NULL,				-- the agent takes over
	segment_attribute text NOT NULL,	-- the item attribute segments are cut by
	tools text[] NOT NULL,
	turns_min int NOT NULL,
	turns_max int NOT NULL,
	doc_tokens int NOT NULL,			-- the item's document, read on the first turn
	bpo_days float8 NOT NULL,			-- median cycle time at the BPO
	staff_days float8 NOT NULL			-- median cycle time with staff
);
INSERT INTO acme.workflows VALUES
	('claims_triage',     0.40,  4.50, 42, 16, 12, 2, '2026-03-01', 'has_exception_document',
	 '{lookup_policy,fetch_claim,check_fraud_score}', 3, 5, 5000, 3.1, 1.6),
	('ticket_resolution', 0.30,  6.00, 38, 18, 15, 2, '2026-04-15', 'channel',
	 '{search_kb,get_customer,create_refund}', 4, 8, 1200, 1.2, 0.6),
	('contract_review',   0.10, 38.00, 95, 55, 40, 8, '2026-06-01', 'contract_type',
	 '{extract_clauses,compare_template,lookup_precedent}', 6, 10, 24000, 6.0, 4.0),
	('invoice_matching',  0.20,  1.20, 30,  4,  6, 0.5, '2026-05-01', 'currency',
	 '{fetch_po,fetch_receipt}', 2, 4, 800, 2.0, 0.8);

-- The models each workflow's agent runs on, their share of its items and
-- each model's first-try success on an ordinary item of that workflow.
CREATE TABLE acme.models (
	workflow text NOT NULL REFERENCES acme.workflows,
	provider text NOT NULL,				-- as OpenTelemetry names it
	model text NOT NULL,
	share float8 NOT NULL,
	p_success float8 NOT NULL,
	PRIMARY KEY (workflow, model)
);
INSERT INTO acme.models VALUES
	('claims_triage', 'openai', 'gpt-4.1', 0.4, 0.86),
	('claims_triage', 'openai', 'gpt-4.1-mini', 0.4, 0.78),
	('claims_triage', 'openai', 'gpt-5-mini', 0.2, 0.82),
	('ticket_resolution', 'anthropic', 'claude-sonnet-4-0', 0.5, 0.84),
	('ticket_resolution', 'anthropic', 'claude-haiku-4-5', 0.5, 0.72),
	('contract_review', 'anthropic', 'claude-sonnet-4-0', 0.6, 0.70),
	('contract_review', 'gcp.vertex_ai', 'gemini-2.5-pro', 0.4, 0.62),
	('invoice_matching', 'openai', 'gpt-4.1-mini', 0.5, 0.93),
	('invoice_matching', 'openai', 'gpt-4.1-nano', 0.5, 0.85);

-- The system of record.  handler spellings vary as they do in real
-- systems ('BPO' / 'bpo_vendor', 'staff' / 'Human'); an agent item that a
-- person finished says 'ai_agent' with outcome 'escalated'.
CREATE TABLE acme.work_items (
	item_key text PRIMARY KEY,
	workflow text NOT NULL,
	segment text NOT NULL,
	opened_at timestamptz NOT NULL,
	resolved_at timestamptz,
	handler text NOT NULL,
	human_minutes numeric NOT NULL,
	bpo_charge numeric NOT NULL,
	outcome text NOT NULL,
	model text,
	attempts int
);

-- Items: opened between 2026-01-01 and 2026-10-31.
CREATE TEMP TABLE gen_item AS
SELECT i, w.workflow, w.cutover, w.segment_attribute, w.bpo_unit_price, w.staff_minutes, w.fix_minutes,
	   w.review_minutes, w.bpo_days, w.staff_days, w.turns_min, w.turns_max, w.doc_tokens, w.tools,
	   '2026-01-01 00:00+00'::timestamptz + acme.u(:seed || ':open:' || i) * interval '304 days' AS opened_at,
	   acme.u(:seed || ':seg:' || i) AS useg,
	   acme.u(:seed || ':handler:' || i) AS uh,
	   acme.u(:seed || ':model:' || i) AS um,
	   acme.u(:seed || ':difficulty:' || i) AS ud
  FROM generate_series(1, :items) i
  CROSS JOIN LATERAL (SELECT * FROM (SELECT *, sum(share) OVER (ORDER BY workflow) AS upto FROM acme.workflows) w
					   WHERE w.upto - w.share <= acme.u(:seed || ':wf:' || i) ORDER BY w.upto DESC LIMIT 1) w;

CREATE TEMP TABLE gen_item2 AS
SELECT g.*,
	   CASE g.workflow
		 WHEN 'claims_triage' THEN CASE WHEN g.useg < 0.18 THEN 'with exception document' ELSE 'standard' END
		 WHEN 'ticket_resolution' THEN (ARRAY['email', 'chat', 'phone'])[1 + floor(g.useg * 3)::int]
		 WHEN 'contract_review' THEN (ARRAY['NDA', 'MSA', 'SOW', 'lease'])[1 + floor(g.useg * 4)::int]
		 ELSE (ARRAY['USD', 'EUR', 'GBP'])[1 + floor(g.useg * 3)::int] END AS segment,
	   CASE WHEN g.opened_at < g.cutover THEN CASE WHEN g.uh < 0.7 THEN 'bpo' ELSE 'staff' END
			WHEN g.uh < 0.88 THEN 'agent'
			WHEN g.uh < 0.95 THEN 'bpo' ELSE 'staff' END AS route
  FROM gen_item g;

-- The agent's items: a model, and each item's chance of success per
-- attempt: the model's, moved by the item's difficulty (a draw from a
-- triangular distribution, so most items are ordinary and a few are hard),
-- far lower for claims with an exception document.
CREATE TEMP TABLE gen_agent AS
SELECT g.i, g.workflow, g.segment, g.opened_at, g.turns_min, g.turns_max, g.doc_tokens, g.tools,
	   m.provider, m.model,
	   greatest(0.03, least(0.99,
		   m.p_success * CASE WHEN g.segment = 'with exception document' THEN 0.15 ELSE 1 END
		   + 0.35 * (0.5 - (g.ud + acme.u(:seed || ':difficulty2:' || g.i)) / 2))) AS p
  FROM gen_item2 g
  CROSS JOIN LATERAL (SELECT * FROM (SELECT *, sum(share) OVER (ORDER BY model) AS upto FROM acme.models mm
									  WHERE mm.workflow = g.workflow) m
					   WHERE m.upto - m.share <= g.um ORDER BY m.upto DESC LIMIT 1) m
 WHERE g.route = 'agent';

-- Attempts: up to four; the first that succeeds ends the item, four
-- failures hand it to a person.
CREATE TEMP TABLE gen_attempt AS
SELECT a.i, k AS attempt, a.workflow, a.segment, a.provider, a.model, a.tools,
	   acme.trace_id(:seed || ':' || a.i || ':' || k) AS trace_id,
	   acme.u(:seed || ':try:' || a.i || ':' || k) < a.p AS succeeded,
	   a.opened_at + (k - 1) * interval '20 minutes' + interval '2 minutes' AS started_at,
	   a.turns_min + floor(acme.u(:seed || ':turns:' || a.i || ':' || k) * (a.turns_max - a.turns_min + 1))::int AS turns,
	   CASE WHEN a.segment = 'with exception document' THEN 8 ELSE 1 END * a.doc_tokens AS doc_tokens,
	   acme.u(:seed || ':loop:' || a.i || ':' || k) < 0.03 AS has_loop
  FROM gen_agent a
  CROSS JOIN generate_series(1, 4) k
 WHERE k = 1 OR NOT EXISTS (SELECT 1 FROM generate_series(1, k - 1) j
							 WHERE acme.u(:seed || ':try:' || a.i || ':' || j) < a.p);

-- Turns: each chat reads the system prompt, the document and everything
-- said and returned before it.
CREATE TEMP TABLE gen_turn AS
SELECT t.*,
	   1500 + t.doc_tokens + coalesce(sum(t.out_tokens + t.result_tokens) OVER (PARTITION BY t.trace_id ORDER BY t.turn
			ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS in_tokens
  FROM (SELECT a.*, n AS turn,
			   120 + floor(acme.u(:seed || ':out:' || a.trace_id || ':' || n) * 480)::int AS out_tokens,
			   CASE WHEN n < a.turns THEN 150 + floor(acme.u(:seed || ':res:' || a.trace_id || ':' || n) * 1850)::int ELSE 0 END
				 AS result_tokens,
			   acme.u(:seed || ':dup:' || a.trace_id || ':' || n) < 0.06 AS repeats_tool,
			   acme.u(:seed || ':429:' || a.trace_id || ':' || n) < 0.03 AS rate_limited
		  FROM gen_attempt a CROSS JOIN generate_series(1, a.turns) n) t;

-- The spans.  Times: turn n of an attempt starts 40 s apart; within a
-- turn, a rate-limited call at +0 s, the chat at +2 s, its tool call(s) at
-- +20 s, +22 s, ...
CREATE TABLE acme.otel_traces (
	"Timestamp" timestamptz NOT NULL,
	"TraceId" text NOT NULL,
	"SpanId" text NOT NULL,
	"ParentSpanId" text NOT NULL,
	"TraceState" text NOT NULL DEFAULT '',
	"SpanName" text NOT NULL,
	"SpanKind" text NOT NULL,
	"ServiceName" text NOT NULL,
	"ResourceAttributes" jsonb NOT NULL,
	"ScopeName" text NOT NULL,
	"ScopeVersion" text NOT NULL,
	"SpanAttributes" jsonb NOT NULL,
	"Duration" bigint NOT NULL,
	"StatusCode" text NOT NULL,
	"StatusMessage" text NOT NULL
);

CREATE TEMP VIEW gen_span AS
-- the agent span of each attempt: the root of its trace
SELECT a.started_at AS ts, a.trace_id, acme.span_id(a.trace_id || ':root') AS span_id, '' AS parent,
	   'invoke_agent ' || a.workflow AS name, 'Internal' AS span_kind,
	   jsonb_build_object('gen_ai.operation.name', 'invoke_agent', 'gen_ai.agent.name', a.workflow || '_agent',
		   'gen_ai.workflow.name', a.workflow, 'app.item_id', 'ACME-' || a.i, 'app.segment', a.segment,
		   'gen_ai.provider.name', a.provider, 'gen_ai.request.model', a.model) AS attrs,
	   (a.turns * 40 + 10)::bigint * 1000000000 AS duration,
	   CASE WHEN a.succeeded THEN (ARRAY['Unset', 'Ok'])[1 + a.i % 2] ELSE 'Error' END AS status,
	   CASE WHEN a.succeeded THEN '' ELSE 'agent gave up: no resolution' END AS message
  FROM gen_attempt a
UNION ALL
-- a call rejected by a rate limit, billed for its input
SELECT t.started_at + (t.turn - 1) * interval '40 s', t.trace_id, acme.span_id(t.trace_id || ':429:' || t.turn),
	   acme.span_id(t.trace_id || ':root'), 'chat ' || t.model, 'Client',
	   jsonb_build_object('gen_ai.operation.name', 'chat', 'gen_ai.provider.name', t.provider,
		   'gen_ai.request.model', t.model, 'gen_ai.usage.input_tokens', t.in_tokens::text,
		   'gen_ai.usage.output_tokens', '0', 'error.type', '429',
		   'gen_ai.conversation.id', t.trace_id),
	   400000000, 'Error', 'rate limit exceeded'
  FROM gen_turn t WHERE t.rate_limited
UNION ALL
-- the chat call of each turn
SELECT t.started_at + (t.turn - 1) * interval '40 s' + interval '2 s', t.trace_id, acme.span_id(t.trace_id || ':chat:' || t.turn),
	   acme.span_id(t.trace_id || ':root'), 'chat ' || t.model, 'Client',
	   jsonb_build_object('gen_ai.operation.name', 'chat', 'gen_ai.provider.name', t.provider,
		   'gen_ai.request.model', t.model, 'gen_ai.response.model', t.model,
		   'gen_ai.usage.input_tokens', t.in_tokens::text, 'gen_ai.usage.output_tokens', t.out_tokens::text,
		   'gen_ai.usage.cache_read.input_tokens', CASE WHEN t.turn > 1 THEN '1500' ELSE '0' END,
		   'gen_ai.conversation.id', t.trace_id, 'gen_ai.response.finish_reasons', '["stop"]'),
	   (1 + t.out_tokens / 60)::bigint * 1000000000, 'Unset', ''
  FROM gen_turn t
UNION ALL
-- the tool call(s) that follow a chat: one, or the previous turn's call
-- again (a repeated tool call), or in a stuck loop three or four times
SELECT t.started_at + (t.turn - 1) * interval '40 s' + interval '20 s' + (c - 1) * interval '2 s', t.trace_id,
	   acme.span_id(t.trace_id || ':tool:' || t.turn || ':' || c), acme.span_id(t.trace_id || ':root'),
	   'execute_tool ' || tool_name, 'Internal',
	   jsonb_build_object('gen_ai.operation.name', 'execute_tool', 'gen_ai.tool.name', tool_name,
		   'gen_ai.tool.call.arguments', args, 'gen_ai.conversation.id', t.trace_id),
	   1500000000, 'Unset', ''
  FROM gen_turn t
  CROSS JOIN LATERAL (SELECT CASE WHEN t.repeats_tool AND t.turn > 1 THEN t.turn - 1 ELSE t.turn END AS call_turn) ct
  CROSS JOIN LATERAL (SELECT t.tools[1 + floor(acme.u(:seed || ':tool:' || t.trace_id || ':' || ct.call_turn)
								 * array_length(t.tools, 1))::int] AS tool_name,
							 jsonb_build_object('id', 'ACME-' || t.i, 'step', ct.call_turn)::text AS args) tc
  CROSS JOIN generate_series(1, CASE WHEN t.has_loop AND t.turn = 2 THEN 3 + t.i % 2 ELSE 1 END) c
 WHERE t.turn < t.turns;

INSERT INTO acme.otel_traces
SELECT ts, trace_id, span_id, parent, '', name, span_kind, 'acme-agents',
	   jsonb_build_object('service.name', 'acme-agents', 'deployment.environment', 'prod'),
	   'acme.agents', '2.4.1', attrs, duration, status, message
  FROM gen_span;

-- Faults as real exporters produce them, on a few chat spans each:
-- token counts that are not numbers, cache reads above the input, a
-- fine-tuned model no catalog prices; and spans delivered twice.
UPDATE acme.otel_traces SET "SpanAttributes" = "SpanAttributes" || '{"gen_ai.usage.input_tokens": "NaN"}'
 WHERE "SpanId" IN (SELECT "SpanId" FROM acme.otel_traces WHERE "SpanName" LIKE 'chat %' AND "StatusCode" = 'Unset'
					ORDER BY md5(:seed || ':nan:' || "SpanId") LIMIT 20);
UPDATE acme.otel_traces SET "SpanAttributes" = "SpanAttributes" || '{"gen_ai.usage.cache_read.input_tokens": "999999"}'
 WHERE "SpanId" IN (SELECT "SpanId" FROM acme.otel_traces WHERE "SpanName" LIKE 'chat %' AND "StatusCode" = 'Unset'
					ORDER BY md5(:seed || ':cache:' || "SpanId") LIMIT 10);
UPDATE acme.otel_traces SET "SpanAttributes" = "SpanAttributes" || '{"gen_ai.request.model": "ft:gpt-4.1-mini:acme::claims-v3", "gen_ai.response.model": "ft:gpt-4.1-mini:acme::claims-v3"}'
 WHERE "SpanId" IN (SELECT "SpanId" FROM acme.otel_traces WHERE "SpanName" = 'chat gpt-4.1-mini'
					ORDER BY md5(:seed || ':ft:' || "SpanId") LIMIT 15);
INSERT INTO acme.otel_traces
SELECT * FROM acme.otel_traces ORDER BY md5(:seed || ':twice:' || "SpanId") LIMIT 50;

-- The system of record.  Cycle times are log-normal around each route's
-- median; the agent's own items close within the hour of their last
-- attempt, an escalated one waits for a person.
INSERT INTO acme.work_items
SELECT 'ACME-' || g.i, g.workflow, g.segment, g.opened_at,
	   g.opened_at + interval '1 day' * CASE
		 WHEN g.route = 'bpo' THEN g.bpo_days * exp(0.45 * (acme.u(:seed || ':cyc:' || g.i) - 0.5) * 2)
		 WHEN g.route = 'staff' THEN g.staff_days * exp(0.45 * (acme.u(:seed || ':cyc:' || g.i) - 0.5) * 2)
		 WHEN s.solved THEN (s.attempts * 20 + 10) / 1440.0
		 ELSE g.staff_days * exp(0.45 * (acme.u(:seed || ':cyc:' || g.i) - 0.5) * 2) END,
	   CASE g.route WHEN 'bpo' THEN (ARRAY['BPO', 'bpo_vendor'])[1 + g.i % 2]
					WHEN 'staff' THEN (ARRAY['staff', 'Human'])[1 + g.i % 2] ELSE 'ai_agent' END,
	   round((CASE WHEN g.route = 'bpo' THEN 0
				   WHEN g.route = 'staff' THEN g.staff_minutes
				   WHEN s.solved THEN g.review_minutes ELSE g.fix_minutes END
			  * (0.7 + 0.6 * acme.u(:seed || ':min:' || g.i)))::numeric, 1),
	   CASE WHEN g.route = 'bpo' THEN g.bpo_unit_price ELSE 0 END,
	   CASE WHEN g.route <> 'agent' OR s.solved THEN 'resolved' ELSE 'escalated' END,
	   s.model, s.attempts
  FROM gen_item2 g
  LEFT JOIN (SELECT a.i, max(a.model) AS model, count(*)::int AS attempts, bool_or(a.succeeded) AS solved
			   FROM gen_attempt a GROUP BY a.i) s ON s.i = g.i;

CREATE INDEX ON acme.otel_traces ("TraceId");
ANALYZE acme.otel_traces;
ANALYZE acme.work_items;
DROP VIEW gen_span;
DROP TABLE gen_turn, gen_attempt, gen_agent, gen_item2, gen_item;
