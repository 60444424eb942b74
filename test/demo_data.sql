-- Realistic agent traces for the demo and the end-to-end test: four
-- workflows, two or three model options each, OpenTelemetry-shaped spans
-- (a trace per item: a workflow root, an agent span per attempt, LLM calls
-- whose context grows turn by turn, tool calls),
-- with the waste real agents show: failed attempts that are retried,
-- rate-limited calls that were billed, repeated tool calls and stuck loops.
-- Deterministic: the same rows on every run (setseed).

CREATE SCHEMA demo;

CREATE TABLE demo.spans (
	trace_id text NOT NULL,
	span_id text NOT NULL,
	parent_id text,
	workflow text NOT NULL,
	item_id bigint NOT NULL,
	attempt int NOT NULL,
	kind text NOT NULL,			-- agent | llm | tool
	name text NOT NULL,
	args_hash text,
	status text NOT NULL,		-- ok | error | rate_limited
	provider text,
	model text,
	input_tokens bigint,
	output_tokens bigint,
	cache_read_tokens bigint,
	started_at timestamptz NOT NULL,
	cost numeric				-- filled by pricing
);

CREATE TABLE demo.items (
	workflow text NOT NULL,
	item_id bigint PRIMARY KEY,
	model text NOT NULL,
	outcome text NOT NULL,		-- solved_ai | escalated
	attempts int NOT NULL,
	human_fix_cost numeric NOT NULL
);

CREATE TABLE demo.workflows (
	workflow text PRIMARY KEY,
	bpo_unit_price numeric NOT NULL,	-- what the BPO charges per item
	human_fix_cost numeric NOT NULL,	-- loaded cost of a human taking an item over
	monthly_volume bigint NOT NULL,
	max_attempts int NOT NULL
);

INSERT INTO demo.workflows VALUES
	('claims_triage',     4.50, 18.00, 40000, 3),
	('ticket_resolution', 6.00, 22.00, 25000, 3),
	('invoice_matching',  1.20,  6.00, 90000, 2),
	('contract_review',  38.00, 95.00,  1500, 2);

-- The options tried per workflow: provider, model, first-try success,
-- base prompt tokens, context growth per turn, turns.
CREATE TABLE demo.options (
	workflow text, provider text, model text, p1 float8,
	base_tokens int, growth int, turns int, share float8
);
INSERT INTO demo.options VALUES
	('claims_triage',     'openai',    'gpt-4.1',           0.90, 3500, 900, 6, 0.4),
	('claims_triage',     'openai',    'gpt-4.1-mini',      0.78, 3500, 900, 6, 0.4),
	('claims_triage',     'openai',    'gpt-5-mini',        0.84, 3500, 900, 6, 0.2),
	('ticket_resolution', 'anthropic', 'claude-sonnet-4-0', 0.82, 5000, 1400, 8, 0.5),
	('ticket_resolution', 'anthropic', 'claude-haiku-4-5',  0.64, 5000, 1400, 8, 0.5),
	('invoice_matching',  'openai',    'gpt-4.1-mini',      0.95, 1800, 300, 3, 0.5),
	('invoice_matching',  'openai',    'gpt-4.1-nano',      0.88, 1800, 300, 3, 0.5),
	('contract_review',   'anthropic', 'claude-sonnet-4-0', 0.55, 30000, 6000, 10, 1.0);

DO $$
DECLARE
	o record;
	w record;
	item bigint := 0;
	n_items int;
	k int;
	solved boolean;
	t int;
	span int;
	trace text;
	item_root text;
	root text;
	parent text;
	ts timestamptz;
	ok boolean;
	tool text;
	args text;
	loop_at int;
	tools text[] := ARRAY['lookup_policy', 'search_records', 'fetch_document', 'check_rules'];
BEGIN
	PERFORM setseed(0.42);
	FOR o IN SELECT * FROM demo.options ORDER BY workflow, model LOOP
		SELECT * INTO w FROM demo.workflows WHERE workflow = o.workflow;
		n_items := round(400 * o.share);
		FOR i IN 1 .. n_items LOOP
			item := item + 1;
			solved := false;
			k := 0;
			ts := timestamptz '2026-10-01 08:00+00' + (item * interval '17 minutes');
			-- one trace per item: a workflow root, one agent span per attempt
			trace := format('t%s', item);
			item_root := trace || '-root';
			INSERT INTO demo.spans VALUES (trace, item_root, NULL, o.workflow, item, 1, 'workflow',
				o.workflow, NULL, 'ok', NULL, NULL, NULL, NULL, NULL, ts);
			WHILE NOT solved AND k < w.max_attempts LOOP
				k := k + 1;
				-- later attempts succeed less often: the hard items are left
				ok := random() < o.p1 * power(0.8, k - 1);
				root := format('%s-a%s', trace, k);
				span := 0;
				INSERT INTO demo.spans VALUES (trace, root, item_root, o.workflow, item, k, 'agent',
					'attempt', NULL, CASE WHEN ok THEN 'ok' ELSE 'error' END,
					NULL, NULL, NULL, NULL, NULL, ts);
				loop_at := CASE WHEN random() < 0.08 THEN 1 + floor(random() * o.turns)::int ELSE 0 END;
				FOR t IN 1 .. o.turns LOOP
					span := span + 1;
					ts := ts + interval '4 seconds';
					-- a rate-limited call, billed for its prompt, then re-sent
					IF random() < 0.04 THEN
						INSERT INTO demo.spans VALUES (trace, root || '-' || span, root, o.workflow, item, k,
							'llm', 'chat', NULL, 'rate_limited', o.provider, o.model,
							o.base_tokens + (t - 1) * o.growth, 0, 0, ts);
						span := span + 1;
						ts := ts + interval '2 seconds';
					END IF;
					INSERT INTO demo.spans VALUES (trace, root || '-' || span, root, o.workflow, item, k,
						'llm', 'chat', NULL, 'ok', o.provider, o.model,
						o.base_tokens + (t - 1) * o.growth + floor(random() * 200)::int,
						150 + floor(random() * 450)::int,
						CASE WHEN t > 1 THEN (t - 1) * o.growth / 2 ELSE 0 END, ts);
					parent := root || '-' || span;
					tool := tools[1 + (t + item::int) % 4];
					-- half the lookups repeat an earlier call's arguments
					args := md5(item || tool || CASE WHEN random() < 0.5 THEN '' ELSE t::text END);
					FOR rep IN 1 .. CASE WHEN t = loop_at THEN 4 ELSE 1 END LOOP
						span := span + 1;
						ts := ts + interval '1 second';
						INSERT INTO demo.spans VALUES (trace, root || '-' || span, parent, o.workflow, item, k,
							'tool', tool, args, 'ok', NULL, NULL, NULL, NULL, NULL, ts, 0.002);
					END LOOP;
				END LOOP;
				solved := ok;
				ts := ts + interval '30 seconds';
			END LOOP;
			INSERT INTO demo.items VALUES (o.workflow, item, o.model,
				CASE WHEN solved THEN 'solved_ai' ELSE 'escalated' END, k,
				CASE WHEN solved THEN 0 ELSE w.human_fix_cost END);
		END LOOP;
	END LOOP;
END
$$;

CREATE INDEX ON demo.spans (trace_id);
ANALYZE demo.spans;
