-- The attach test workload: one set of agent runs, generated from integers
-- (no random()), kept as truth tables in schema wl, then landed three ways
-- by transforms written from each format's own description:
--   wl.otel_traces      rows of the OpenTelemetry Collector's ClickHouse
--                       exporter layout in PostgreSQL types
--   wl.otlp_docs        OTLP/JSON documents (the Collector's file exporter)
--   public.traces, public.observations, public.scores
--                       Langfuse v2 rows (the tables come from its own DDL)
--
-- 40 items (item-01 .. item-40) over 3 workflows; item i has
-- 1 + (i % 4 = 0) + (i % 12 = 0) attempts, each its own trace; every
-- attempt but the last fails, the last succeeds unless i % 10 = 7.  An
-- attempt is an agent span with 2 + i % 3 LLM calls, a tool call after each
-- call but the last; items with i % 5 = 1 repeat the first tool call with
-- the same arguments (spelled differently); items with i % 7 = 3 open with
-- a rate-limited call that is billed for its input.
--   claims_triage      (i % 3 = 0)  openai    gpt-4o
--   ticket_resolution  (i % 3 = 1)  anthropic claude-sonnet-4 (cache writes)
--   invoice_matching   (i % 3 = 2)  azure.ai.openai, deployment prod-mini
--                                   (a model alias of gpt-4o-mini)
-- Call k (1-based) of an attempt: input 1000 + 37 i + 400 (k - 1) tokens, of
-- which 256 (k - 1) read from the cache; output 40 + 3 i + 5 k; anthropic's
-- first call writes 512 tokens to the cache.  Calls of items with i % 4 = 1
-- report their cost (the list price less 10%, to 12 decimals).

CREATE SCHEMA wl;

CREATE TABLE wl.item AS
SELECT i, (ARRAY['claims_triage', 'ticket_resolution', 'invoice_matching'])[1 + i % 3] AS workflow,
	   'item-' || lpad(i::text, 2, '0') AS item_key,
	   1 + (i % 4 = 0)::int + (i % 12 = 0)::int AS attempts,
	   i % 10 <> 7 AS solved
  FROM generate_series(1, 40) i;

CREATE TABLE wl.attempt AS
SELECT it.i, it.workflow, it.item_key, a AS attempt,
	   md5(format('trace %s %s', it.i, a)) AS trace_id,
	   a = it.attempts AND it.solved AS succeeded,
	   timestamptz '2026-03-02 08:00:00+00' + it.i * interval '1 hour' + (a - 1) * interval '15 minutes' AS started_at
  FROM wl.item it, generate_series(1, it.attempts) a;

-- every span: the agent root, the calls (a rate-limited one first where it
-- applies), the tool calls between them
CREATE TABLE wl.span (
	i int, attempt int, trace_id text, span_id text, parent_id text, seq int,
	kind text,				-- agent, llm, tool
	name text, status text,	-- ok, error, rate_limited
	provider text, model text, response_model text,
	input bigint, output bigint, cache_read bigint, cache_write bigint,
	reported numeric, args jsonb, args_text text,
	started_at timestamptz, duration_ns bigint);

INSERT INTO wl.span
SELECT a.i, a.attempt, a.trace_id, left(md5(format('span %s %s root', a.i, a.attempt)), 16), NULL, 0,
	   'agent', 'invoke_agent ' || a.workflow, CASE WHEN a.succeeded THEN 'ok' ELSE 'error' END,
	   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	   a.started_at, 60000000000
  FROM wl.attempt a;

-- the calls
INSERT INTO wl.span
SELECT a.i, a.attempt, a.trace_id, left(md5(format('span %s %s call %s', a.i, a.attempt, k)), 16),
	   left(md5(format('span %s %s root', a.i, a.attempt)), 16), 2 * k,
	   'llm', 'chat', 'ok',
	   CASE a.i % 3 WHEN 0 THEN 'openai' WHEN 1 THEN 'anthropic' ELSE 'azure.ai.openai' END,
	   CASE a.i % 3 WHEN 0 THEN 'gpt-4o' WHEN 1 THEN 'claude-sonnet-4' ELSE 'prod-mini' END,
	   CASE a.i % 3 WHEN 0 THEN 'gpt-4o' WHEN 1 THEN 'claude-sonnet-4' ELSE NULL END,
	   1000 + 37 * a.i + 400 * (k - 1), 40 + 3 * a.i + 5 * k,
	   256 * (k - 1), CASE WHEN a.i % 3 = 1 AND k = 1 THEN 512 ELSE 0 END,
	   NULL, NULL, NULL,
	   a.started_at + k * interval '10 seconds', 2000000000
  FROM wl.attempt a, generate_series(1, 2 + a.i % 3) k;

-- the rate-limited first try of items with i % 7 = 3: billed for its input
INSERT INTO wl.span
SELECT a.i, a.attempt, a.trace_id, left(md5(format('span %s %s limited', a.i, a.attempt)), 16),
	   left(md5(format('span %s %s root', a.i, a.attempt)), 16), 1,
	   'llm', 'chat', 'rate_limited',
	   CASE a.i % 3 WHEN 0 THEN 'openai' WHEN 1 THEN 'anthropic' ELSE 'azure.ai.openai' END,
	   CASE a.i % 3 WHEN 0 THEN 'gpt-4o' WHEN 1 THEN 'claude-sonnet-4' ELSE 'prod-mini' END,
	   NULL,
	   1000 + 37 * a.i, 0, 0, 0, NULL, NULL, NULL,
	   a.started_at + interval '5 seconds', 500000000
  FROM wl.attempt a WHERE a.i % 7 = 3;

-- the tool calls, after each call but the last; the repeat of items with
-- i % 5 = 1 spells the arguments of the first differently
INSERT INTO wl.span
SELECT a.i, a.attempt, a.trace_id, left(md5(format('span %s %s tool %s', a.i, a.attempt, k)), 16),
	   left(md5(format('span %s %s root', a.i, a.attempt)), 16), 2 * k + 1,
	   'tool', 'lookup', 'ok', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	   jsonb_build_object('item', a.i, 'step', CASE WHEN a.i % 5 = 1 AND k = 2 THEN 1 ELSE k END),
	   CASE WHEN a.i % 5 = 1 AND k = 2 THEN format('{ "step" : 1,  "item" : %s }', a.i)
			ELSE format('{"item": %s, "step": %s}', a.i, k) END,
	   a.started_at + k * interval '10 seconds' + interval '5 seconds', 300000000
  FROM wl.attempt a, generate_series(1, 1 + a.i % 3) k;

-- reported costs: the list price less 10%, for the calls of items i % 4 = 1
-- (rounded to 12 decimals; the list price is computed from the prices the
-- test sets in the custom catalog, independently of tokacct.cost)
CREATE TABLE wl.price (model text, input numeric, cache_read numeric, cache_write numeric, output numeric);
INSERT INTO wl.price VALUES
	('gpt-4o', 2.50, 1.25, 2.50, 10.00),
	('claude-sonnet-4', 3.00, 0.30, 3.75, 15.00),
	('gpt-4o-mini', 0.15, 0.075, 0.15, 0.60);
-- list_cost(model, input, output, cache_read, cache_write): input counts the
-- cache tokens, which are priced at their own rates
CREATE FUNCTION wl.list_cost(text, bigint, bigint, bigint, bigint)
	RETURNS numeric LANGUAGE sql AS $$
	SELECT (($2 - $4 - $5) * p.input + $4 * p.cache_read + $5 * p.cache_write + $3 * p.output) / 1000000
	  FROM wl.price p WHERE p.model = CASE $1 WHEN 'prod-mini' THEN 'gpt-4o-mini' ELSE $1 END $$;
UPDATE wl.span SET reported = round(wl.list_cost(model, input, output, cache_read, cache_write) * 0.9, 12)
 WHERE kind = 'llm' AND i % 4 = 1;

-- the truth per call: its cost (the reported one where there is one)
CREATE VIEW wl.call_truth AS
SELECT s.*, wl.list_cost(s.model, s.input, s.output, s.cache_read, s.cache_write) AS list_cost,
	   coalesce(s.reported, wl.list_cost(s.model, s.input, s.output, s.cache_read, s.cache_write)) AS cost
  FROM wl.span s WHERE s.kind = 'llm';

-- ---------------------------------------------------------------------------
-- Landing 1: the OpenTelemetry Collector's ClickHouse exporter columns.
-- Attribute values are strings; the root's parent is ''; status spellings
-- vary (Unset/Ok/Error in different cases).
-- ---------------------------------------------------------------------------
CREATE TABLE wl.otel_traces (
	"Timestamp" timestamptz, "TraceId" text, "SpanId" text, "ParentSpanId" text, "TraceState" text,
	"SpanName" text, "SpanKind" text, "ServiceName" text, "ResourceAttributes" jsonb,
	"ScopeName" text, "ScopeVersion" text, "SpanAttributes" jsonb, "Duration" bigint,
	"StatusCode" text, "StatusMessage" text);
INSERT INTO wl.otel_traces
SELECT s.started_at, s.trace_id, s.span_id, coalesce(s.parent_id, ''), '',
	   CASE s.kind WHEN 'agent' THEN s.name WHEN 'llm' THEN 'chat ' || s.model ELSE 'execute_tool lookup' END,
	   CASE s.kind WHEN 'llm' THEN 'Client' ELSE 'Internal' END,
	   'agents', jsonb_build_object('service.name', 'agents', 'deployment.environment', 'test'),
	   'wl', '1', a.attrs, s.duration_ns,
	   CASE WHEN s.status = 'ok' THEN (ARRAY['Unset', 'Ok', 'UNSET'])[1 + s.seq % 3]
			ELSE (ARRAY['Error', 'ERROR'])[1 + s.i % 2] END,
	   CASE WHEN s.status <> 'ok' THEN 'failed' ELSE '' END
  FROM wl.span s
  JOIN wl.attempt t USING (i, attempt)
  CROSS JOIN LATERAL (SELECT jsonb_strip_nulls(jsonb_build_object(
	   'gen_ai.operation.name', CASE s.kind WHEN 'agent' THEN 'invoke_agent' WHEN 'llm' THEN 'chat' ELSE 'execute_tool' END,
	   'gen_ai.workflow.name', CASE WHEN s.kind = 'agent' THEN t.workflow END,
	   'app.item_id', CASE WHEN s.kind = 'agent' THEN t.item_key END,
	   'gen_ai.agent.name', CASE WHEN s.kind = 'agent' THEN t.workflow || '_agent' END,
	   'gen_ai.provider.name', s.provider,
	   'gen_ai.request.model', s.model,
	   'gen_ai.response.model', s.response_model,
	   'gen_ai.usage.input_tokens', s.input::text,
	   'gen_ai.usage.output_tokens', s.output::text,
	   'gen_ai.usage.cache_read.input_tokens', nullif(s.cache_read, 0)::text,
	   'gen_ai.usage.cache_creation.input_tokens', nullif(s.cache_write, 0)::text,
	   'gen_ai.usage.cost.amount', s.reported::text,
	   'gen_ai.usage.cost.currency', CASE WHEN s.reported IS NOT NULL THEN 'USD' END,
	   'gen_ai.usage.cost.source', CASE WHEN s.reported IS NOT NULL THEN 'provider' END,
	   'gen_ai.conversation.id', CASE WHEN s.kind = 'llm' THEN s.trace_id END,
	   'gen_ai.tool.name', CASE WHEN s.kind = 'tool' THEN s.name END,
	   'gen_ai.tool.call.arguments', s.args_text,
	   'error.type', CASE s.status WHEN 'rate_limited' THEN '429' WHEN 'error' THEN 'agent_gave_up' END)) AS attrs) a;

-- Rows real pipelines deliver, appended to the span table (and carried into
-- the OTLP/JSON documents below): items 41 to 48, each an agent span and one
-- call of claims_triage, with one fault each; a copy of item 1's first call
-- delivered twice (identical) and of item 2's first call with a different
-- output count and a shorter duration (the longer copy is kept).
--   41 input tokens "12x"          45 an unknown model
--   42 output tokens "-5"          46 a tool span with status "Weird"
--   43 cache reads above input     47 no item key on the root
--   44 reasoning above output      48 a reported cost "abc"
INSERT INTO wl.otel_traces
SELECT timestamptz '2026-03-05 08:00:00+00' + n * interval '1 hour', md5('bad ' || n),
	   left(md5('bad root ' || n), 16), '', '', 'invoke_agent claims_triage', 'Internal', 'agents', '{}'::jsonb, 'wl', '1',
	   jsonb_strip_nulls(jsonb_build_object('gen_ai.operation.name', 'invoke_agent',
		   'gen_ai.workflow.name', 'claims_triage',
		   'app.item_id', CASE WHEN n <> 47 THEN 'item-' || n END)),
	   60000000000, 'Ok', ''
  FROM generate_series(41, 48) n
UNION ALL
SELECT timestamptz '2026-03-05 08:00:10+00' + n * interval '1 hour', md5('bad ' || n),
	   left(md5('bad call ' || n), 16), left(md5('bad root ' || n), 16), '', 'chat', 'Client', 'agents', '{}', 'wl', '1',
	   jsonb_strip_nulls(jsonb_build_object('gen_ai.operation.name', 'chat', 'gen_ai.provider.name', 'openai',
		   'gen_ai.request.model', CASE WHEN n = 45 THEN 'mystery-model-9' ELSE 'gpt-4o' END,
		   'gen_ai.usage.input_tokens', CASE n WHEN 41 THEN '12x' WHEN 43 THEN '100' ELSE '1000' END,
		   'gen_ai.usage.output_tokens', CASE n WHEN 42 THEN '-5' WHEN 44 THEN '10' ELSE '100' END,
		   'gen_ai.usage.cache_read.input_tokens', CASE WHEN n = 43 THEN '300' END,
		   'gen_ai.usage.reasoning.output_tokens', CASE WHEN n = 44 THEN '50' END,
		   'gen_ai.usage.cost.amount', CASE WHEN n = 48 THEN 'abc' END)),
	   1000000000, 'Unset', ''
  FROM generate_series(41, 48) n
UNION ALL
SELECT timestamptz '2026-03-05 08:00:20+00' + 46 * interval '1 hour', md5('bad 46'),
	   left(md5('bad tool 46'), 16), left(md5('bad root 46'), 16), '', 'execute_tool lookup', 'Internal', 'agents', '{}', 'wl', '1',
	   '{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"}', 1000000, 'Weird', '';
INSERT INTO wl.otel_traces SELECT * FROM wl.otel_traces
 WHERE "SpanId" = left(md5('span 1 1 call 1'), 16);
INSERT INTO wl.otel_traces
SELECT "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind", "ServiceName",
	   "ResourceAttributes", "ScopeName", "ScopeVersion",
	   jsonb_set("SpanAttributes", '{gen_ai.usage.output_tokens}', '"999"'), "Duration" - 1, "StatusCode", "StatusMessage"
  FROM wl.otel_traces WHERE "SpanId" = left(md5('span 2 1 call 1'), 16);

-- ---------------------------------------------------------------------------
-- Landing 2: OTLP/JSON, one document per trace: resourceSpans[].scopeSpans[]
-- .spans[], attributes as key/value lists (integers as intValue strings),
-- times as unix nanoseconds in strings, status codes as STATUS_CODE_* names
-- or numbers.
-- ---------------------------------------------------------------------------
CREATE TABLE wl.otlp_docs (received_at timestamptz, doc jsonb);
INSERT INTO wl.otlp_docs
SELECT min(o."Timestamp"), jsonb_build_object('resourceSpans', jsonb_build_array(jsonb_build_object(
	   'resource', jsonb_build_object('attributes', jsonb_build_array(
			jsonb_build_object('key', 'service.name', 'value', jsonb_build_object('stringValue', 'agents')))),
	   'scopeSpans', jsonb_build_array(jsonb_build_object(
			'scope', jsonb_build_object('name', 'wl', 'version', '1'),
			'spans', jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
				'traceId', o."TraceId", 'spanId', o."SpanId",
				'parentSpanId', nullif(o."ParentSpanId", ''),
				'name', o."SpanName",
				'kind', CASE o."SpanKind" WHEN 'Client' THEN 3 ELSE 1 END,
				'startTimeUnixNano', ((extract(epoch FROM o."Timestamp") * 1000000)::bigint * 1000)::text,
				'endTimeUnixNano', ((extract(epoch FROM o."Timestamp") * 1000000)::bigint * 1000 + o."Duration")::text,
				'attributes', (SELECT jsonb_agg(jsonb_build_object('key', kv.key, 'value',
									CASE WHEN kv.key LIKE 'gen_ai.usage.%tokens' THEN jsonb_build_object('intValue', kv.value)
										 WHEN kv.key = 'gen_ai.usage.cost.amount' AND kv.value ~ '^[0-9.]+$'
											 THEN jsonb_build_object('doubleValue', kv.value::numeric)
										 ELSE jsonb_build_object('stringValue', kv.value) END) ORDER BY kv.key)
								 FROM jsonb_each_text(o."SpanAttributes") kv),
				'status', CASE lower(o."StatusCode")
					WHEN 'error' THEN CASE WHEN length(o."SpanId") % 2 = 0 THEN jsonb_build_object('code', 'STATUS_CODE_ERROR', 'message', o."StatusMessage")
										   ELSE jsonb_build_object('code', 2, 'message', o."StatusMessage") END
					WHEN 'ok' THEN jsonb_build_object('code', 'STATUS_CODE_OK')
					WHEN 'unset' THEN jsonb_build_object()
					ELSE jsonb_build_object('code', o."StatusCode") END)) ORDER BY o."Timestamp", o."SpanId"))))))
  FROM wl.otel_traces o
 GROUP BY o."TraceId";

-- ---------------------------------------------------------------------------
-- Landing 3: Langfuse v2 (tables from its DDL, loaded beforehand): a trace
-- per attempt (name = workflow, session = item), a top-level SPAN for the
-- agent (level ERROR when the attempt failed), GENERATIONs for the calls
-- (prompt_tokens includes the cached tokens; the cache counts and the
-- provider in the metadata), nested SPANs for the tools (input = arguments),
-- and a BOOLEAN score "resolved" on every trace.  Times are UTC without time
-- zone; costs numeric(65,30) with digits below the picodollar.
-- ---------------------------------------------------------------------------
INSERT INTO public.organizations (id, name) VALUES ('o1', 'test org');
INSERT INTO public.projects (id, name, org_id) VALUES ('p1', 'agents', 'o1');
INSERT INTO public.trace_sessions (id, project_id) SELECT it.item_key, 'p1' FROM wl.item it;
INSERT INTO public.traces (id, "timestamp", name, project_id, metadata, session_id, created_at, updated_at)
SELECT a.trace_id, a.started_at AT TIME ZONE 'UTC', a.workflow, 'p1',
	   jsonb_build_object('item', a.item_key), a.item_key, a.started_at AT TIME ZONE 'UTC', a.started_at AT TIME ZONE 'UTC'
  FROM wl.attempt a;
INSERT INTO public.observations (id, name, start_time, end_time, parent_observation_id, type, trace_id,
	metadata, model, input, level, status_message, completion_tokens, prompt_tokens, total_tokens, project_id,
	total_cost, calculated_total_cost)
SELECT s.span_id,
	   CASE s.kind WHEN 'agent' THEN t.workflow || '_agent' WHEN 'llm' THEN 'chat' ELSE 'lookup' END,
	   s.started_at AT TIME ZONE 'UTC', (s.started_at + s.duration_ns / 1000 * interval '1 microsecond') AT TIME ZONE 'UTC',
	   CASE WHEN s.kind = 'agent' THEN NULL ELSE s.parent_id END,
	   CASE s.kind WHEN 'llm' THEN 'GENERATION' ELSE 'SPAN' END::public."ObservationType",
	   s.trace_id,
	   CASE WHEN s.kind = 'llm' THEN jsonb_build_object('provider', s.provider,
			'usage', jsonb_build_object('cache_read', s.cache_read, 'cache_write', s.cache_write)) END,
	   s.model, CASE WHEN s.kind = 'tool' THEN s.args END,
	   CASE s.status WHEN 'ok' THEN (ARRAY['DEFAULT', 'DEBUG', 'WARNING'])[1 + s.seq % 3] ELSE 'ERROR' END::public."ObservationLevel",
	   CASE s.status WHEN 'rate_limited' THEN '429 Too Many Requests' WHEN 'error' THEN 'agent gave up' END,
	   coalesce(s.output, 0), coalesce(s.input, 0), coalesce(s.input + s.output, 0), 'p1',
	   s.reported + 0.000000000000000123,
	   -- Langfuse's own estimate: every prompt token at the input price
	   CASE WHEN s.kind = 'llm' THEN wl.list_cost(s.model, s.input, s.output, 0, 0) END
  FROM wl.span s JOIN wl.attempt t USING (i, attempt);
INSERT INTO public.scores (id, "timestamp", name, value, trace_id, source, project_id, data_type)
SELECT md5('score ' || a.trace_id), a.started_at AT TIME ZONE 'UTC' + interval '1 hour', 'resolved',
	   a.succeeded::int, a.trace_id, 'API', 'p1', 'BOOLEAN'
  FROM wl.attempt a;

-- Langfuse rows with faults its columns can hold: item 41's generation has
-- prompt_tokens -5, item 45's an unknown model.
INSERT INTO public.trace_sessions (id, project_id) VALUES ('item-41', 'p1'), ('item-45', 'p1');
INSERT INTO public.traces (id, "timestamp", name, project_id, session_id)
SELECT md5('bad ' || n), timestamp '2026-03-05 08:00:00' + n * interval '1 hour', 'claims_triage', 'p1', 'item-' || n
  FROM unnest(ARRAY[41, 45]) n;
INSERT INTO public.observations (id, name, start_time, end_time, parent_observation_id, type, trace_id,
	model, level, completion_tokens, prompt_tokens, project_id, metadata)
SELECT left(md5('bad root ' || n), 16), 'claims_triage_agent', timestamp '2026-03-05 08:00:00' + n * interval '1 hour',
	   timestamp '2026-03-05 08:01:00' + n * interval '1 hour', NULL, 'SPAN'::public."ObservationType", md5('bad ' || n),
	   NULL, 'DEFAULT'::public."ObservationLevel", 0, 0, 'p1', NULL::jsonb
  FROM unnest(ARRAY[41, 45]) n
UNION ALL
SELECT left(md5('bad call ' || n), 16), 'chat', timestamp '2026-03-05 08:00:10' + n * interval '1 hour',
	   timestamp '2026-03-05 08:00:11' + n * interval '1 hour', left(md5('bad root ' || n), 16), 'GENERATION',
	   md5('bad ' || n), CASE WHEN n = 45 THEN 'mystery-model-9' ELSE 'gpt-4o' END, 'DEFAULT', 100,
	   CASE WHEN n = 41 THEN -5 ELSE 1000 END, 'p1', '{"provider": "openai"}'
  FROM unnest(ARRAY[41, 45]) n;
