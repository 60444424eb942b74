-- ---------------------------------------------------------------------------
-- Rollups of an attached source: context growth.
--
-- The tables a refresh keeps for context growth, the refresh's context
-- part (rollup_source_context_apply(), called by rollup_source_apply() in
-- 72_rollup_source.sql after the waste part) and the monthly view.
-- ---------------------------------------------------------------------------

-- Context growth of an attached source.  The conversations view numbers
-- the calls of a conversation (its conversation id, else its trace) in
-- time order, so the unit is the conversation: a refresh computes again
-- every conversation with a call in a trace it recomputed (the traces of
-- each conversation kept in rollup_source_conversation_trace), keeps each
-- one's figures (rollup_source_conversation) and updates the day x
-- workflow sums of rollup_source_context_daily by difference.  Calls
-- without a trace id are in no conversation of the rollup.
CREATE TABLE @extschema@.rollup_source_conversation_trace (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	trace_id pg_catalog.text NOT NULL,
	conversation_id pg_catalog.text NOT NULL
);
CREATE UNIQUE INDEX rollup_source_conversation_trace_key ON @extschema@.rollup_source_conversation_trace
	(source, trace_id, conversation_id);
CREATE INDEX rollup_source_conversation_trace_conversation ON @extschema@.rollup_source_conversation_trace
	(source, conversation_id);
COMMENT ON TABLE @extschema@.rollup_source_conversation_trace IS
	'the traces with calls in each conversation of an attached source with a rollup, so a refresh finds every trace of a conversation it computes again';
COMMENT ON COLUMN @extschema@.rollup_source_conversation_trace.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_conversation_trace.trace_id IS 'a trace with calls in the conversation';
COMMENT ON COLUMN @extschema@.rollup_source_conversation_trace.conversation_id IS 'the conversation (the calls view''s conversation_id)';

CREATE TABLE @extschema@.rollup_source_conversation (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	conversation_id pg_catalog.text NOT NULL,
	workflow pg_catalog.text,
	day pg_catalog.date,
	calls pg_catalog.int8 NOT NULL,
	calls_left_out pg_catalog.int8 NOT NULL,
	total_input pg_catalog.int8 NOT NULL,
	fresh_input pg_catalog.int8 NOT NULL,
	carried_input pg_catalog.int8 NOT NULL,
	saved_input_at_cap pg_catalog.int8 NOT NULL,
	growth_exponent pg_catalog.float8
);
CREATE UNIQUE INDEX rollup_source_conversation_key ON @extschema@.rollup_source_conversation (source, conversation_id);
COMMENT ON TABLE @extschema@.rollup_source_conversation IS
	'the context growth of each conversation of an attached source with a rollup, as tokacct.context_growth() over its calls in the conversations view''s order gives it';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.conversation_id IS 'the conversation';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.workflow IS 'workflow of the conversation (the smallest of its calls'')';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.day IS 'UTC day of its first call';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.calls IS 'calls counted (input and output tokens known)';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.calls_left_out IS 'calls without usable input or output tokens';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.total_input IS 'input tokens of the calls counted';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.fresh_input IS 'input tokens that were new in their call';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.carried_input IS 'input tokens carried over from the calls before';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.saved_input_at_cap IS 'input tokens a cap of 32768 tokens of carried history would have saved';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.growth_exponent IS 'growth exponent of the cumulative input (NULL when it has none)';

CREATE TABLE @extschema@.rollup_source_context_daily (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	day pg_catalog.date,
	workflow pg_catalog.text,
	conversations pg_catalog.int8 NOT NULL,
	calls pg_catalog.int8 NOT NULL,
	calls_left_out pg_catalog.int8 NOT NULL,
	total_input pg_catalog.numeric NOT NULL,
	fresh_input pg_catalog.numeric NOT NULL,
	carried_input pg_catalog.numeric NOT NULL,
	saved_input_at_cap pg_catalog.numeric NOT NULL,
	growth_exponents pg_catalog.int8 NOT NULL,
	growth_exponent_sum pg_catalog.numeric NOT NULL,
	updated_at pg_catalog.timestamptz NOT NULL
);
CREATE UNIQUE INDEX rollup_source_context_daily_key ON @extschema@.rollup_source_context_daily (source, day, workflow) NULLS NOT DISTINCT;
COMMENT ON TABLE @extschema@.rollup_source_context_daily IS
	'context growth of each attached source with a rollup, per UTC day a conversation''s first call started x workflow, kept by tokacct.rollup_source_refresh(): equal to the source''s context_growth view summed the same way; sum rows for any longer period';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.day IS 'UTC day the conversations'' first calls started (NULL: without a start)';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.conversations IS 'conversations';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.calls IS 'calls counted';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.calls_left_out IS 'calls without usable input or output tokens';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.total_input IS 'input tokens of the calls counted';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.fresh_input IS 'input tokens that were new in their call';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.carried_input IS 'input tokens carried over from the calls before';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.saved_input_at_cap IS 'input tokens a cap of 32768 tokens of carried history would have saved';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.growth_exponents IS 'conversations with a growth exponent';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.growth_exponent_sum IS 'sum of their growth exponents (each as numeric, so rows add and subtract exactly); divide by growth_exponents for the mean';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.updated_at IS 'when a refresh last rebuilt the row';

-- The context part of a refresh (see rollup_source_conversation), after
-- rollup_source_apply() has read the calls of the traces listed in traces
-- (every trace when NULL) into pg_temp.rollup_source_calls.  The other
-- traces of the conversations to compute again are read from the calls
-- view (their workflow from the traces view), both locked and checked.
CREATE FUNCTION @extschema@.rollup_source_context_apply(source pg_catalog.text, traces pg_catalog.text[],
	calls_view pg_catalog.text, traces_view pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	others text[];
	summed text[] := ARRAY['calls', 'calls_left_out', 'total_input', 'fresh_input', 'carried_input',
						   'saved_input_at_cap', 'growth_exponents', 'growth_exponent_sum'];
	gkey text := '@extschema@.rollup_source_group(%1$s.day, %1$s.workflow, NULL)';
	sums text;
	-- the old or new conversation rows (%s), each with its growth exponent
	-- counted and as numeric, the day rows' two summed columns
	with_exponents text := '(SELECT n.*, (n.growth_exponent IS NOT NULL)::pg_catalog.int4 AS growth_exponents, '
		'n.growth_exponent::pg_catalog.numeric AS growth_exponent_sum FROM pg_temp.rollup_source_context_%s n)';
BEGIN
	sums := format('SELECT %%2$s AS gkey, g.day, g.workflow, count(*) AS conversations, %s FROM %%1$s g GROUP BY 1, 2, 3',
		(SELECT string_agg(format('COALESCE(sum(g.%1$I), 0) AS %1$I', c), ', ') FROM unnest(summed) c));
	IF to_regclass('pg_temp.rollup_source_conversations') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_conversations;
	END IF;
	IF to_regclass('pg_temp.rollup_source_context_old') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_context_old;
	END IF;
	IF to_regclass('pg_temp.rollup_source_context_new') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_context_new;
	END IF;

	-- the conversations of the traces recomputed, as they were and are
	CREATE TEMP TABLE rollup_source_conversations (conversation_id text) ON COMMIT DROP;
	IF traces IS NULL THEN
		DELETE FROM @extschema@.rollup_source_conversation_trace m WHERE m.source = rollup_source_context_apply.source;
	ELSE
		WITH old AS (
			DELETE FROM @extschema@.rollup_source_conversation_trace m
			 WHERE m.source = rollup_source_context_apply.source AND m.trace_id = ANY (traces)
			RETURNING m.conversation_id)
		INSERT INTO pg_temp.rollup_source_conversations SELECT o.conversation_id FROM old o;
	END IF;
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_conversation_trace
		SELECT DISTINCT source, c.trace_id, c.conversation_id
		  FROM pg_temp.rollup_source_calls c
		 WHERE c.trace_id IS NOT NULL AND c.conversation_id IS NOT NULL
		RETURNING conversation_id)
	INSERT INTO pg_temp.rollup_source_conversations SELECT n.conversation_id FROM new n;

	IF traces IS NOT NULL THEN
		-- the other traces of those conversations: their calls too
		-- (each conversation's traces by the index, from the few touched;
		-- traces may hold NULL, the calls without a trace id: IS NOT TRUE,
		-- or no other trace would be read)
		SELECT pg_catalog.array_agg(DISTINCT m.trace_id) INTO others
		  FROM (SELECT DISTINCT k.conversation_id FROM pg_temp.rollup_source_conversations k) k
		  JOIN LATERAL (SELECT m.trace_id FROM @extschema@.rollup_source_conversation_trace m
						 WHERE m.source = rollup_source_context_apply.source AND m.conversation_id = k.conversation_id) m ON true
		 WHERE (m.trace_id = ANY (traces)) IS NOT TRUE;
		IF others IS NOT NULL THEN
			EXECUTE format('INSERT INTO pg_temp.rollup_source_calls '
				'SELECT c.trace_id, c.span_id, @extschema@.rollup_source_key(c.conversation_id), c.started_at, '
				'@extschema@.rollup_source_key(t.workflow), @extschema@.rollup_source_key(c.model), c.input_tokens, '
				'c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.reasoning_tokens, c.cost, c.cost_source, c.list_cost '
				'FROM %1$s c LEFT JOIN (SELECT t.trace_id, t.workflow FROM %2$s t WHERE t.trace_id = ANY ($1)) t '
				'ON t.trace_id = c.trace_id WHERE c.trace_id = ANY ($1)', calls_view, traces_view)
			USING others;
		END IF;
	END IF;

	-- each conversation again: its calls numbered as the conversations view
	-- numbers them, the calls with both token counts in context_growth()
	-- (as the context_growth view takes them; counts a state cannot hold
	-- left out too)
	-- (a full run takes every stored conversation out: the list holds them
	-- all, so that one condition, which the index on the conversation id
	-- answers, serves both runs)
	IF traces IS NULL THEN
		INSERT INTO pg_temp.rollup_source_conversations
		SELECT v.conversation_id FROM @extschema@.rollup_source_conversation v
		 WHERE v.source = rollup_source_context_apply.source;
	END IF;
	ANALYZE pg_temp.rollup_source_conversations;
	CREATE TEMP TABLE rollup_source_context_old ON COMMIT DROP AS
	WITH old AS (
		DELETE FROM @extschema@.rollup_source_conversation v
		 WHERE v.source = rollup_source_context_apply.source
		   AND v.conversation_id IN (SELECT k.conversation_id FROM pg_temp.rollup_source_conversations k)
		RETURNING v.*)
	SELECT * FROM old;
	CREATE TEMP TABLE rollup_source_context_new ON COMMIT DROP AS
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_conversation
		SELECT source, g.conversation_id, g.workflow, g.day, COALESCE(r.calls, 0), g.calls_left_out,
			   COALESCE(r.total_input, 0), COALESCE(r.fresh_input, 0), COALESCE(r.carried_input, 0),
			   COALESCE(v.saved_input, 0), r.growth_exponent
		  FROM (SELECT n.conversation_id, pg_catalog.min(n.workflow) AS workflow,
					   (pg_catalog.min(n.started_at) AT TIME ZONE 'UTC')::pg_catalog.date AS day,
					   @extschema@.context_growth(n.seq, n.input_tokens::pg_catalog.int8, n.output_tokens::pg_catalog.int8)
						   FILTER (WHERE n.usable) AS st,
					   pg_catalog.count(*) FILTER (WHERE NOT n.usable) AS calls_left_out
				  FROM (SELECT c.*,
							   -- numbered as the conversations view numbers them
							   (pg_catalog.row_number() OVER (PARTITION BY c.conversation_id
									ORDER BY c.started_at, c.span_id COLLATE "C", c.trace_id COLLATE "C"))::pg_catalog.int4 AS seq,
							   (c.input_tokens BETWEEN 0 AND 4294967295 AND c.output_tokens BETWEEN 0 AND 4294967295) IS TRUE AS usable
						  FROM pg_temp.rollup_source_calls c
						 WHERE c.trace_id IS NOT NULL AND c.conversation_id IS NOT NULL
						   AND (traces IS NULL OR c.conversation_id IN (SELECT k.conversation_id FROM pg_temp.rollup_source_conversations k))) n
				 GROUP BY n.conversation_id) g
		  LEFT JOIN LATERAL @extschema@.context_report(g.st) r ON true
		  LEFT JOIN LATERAL @extschema@.context_savings(g.st, 32768) v ON true
		RETURNING *)
	SELECT * FROM new;

	-- (growth exponents summed as numeric: rows add and subtract exactly)
	PERFORM @extschema@.rollup_source_days(source, 'rollup_source_context_daily',
		CASE WHEN traces IS NOT NULL THEN format(sums, format(with_exponents, 'old'), format(gkey, 'g')) END,
		format(sums, format(with_exponents, 'new'), format(gkey, 'g')),
		ARRAY['conversations'] || summed, 'x.conversations > 0');
	DROP TABLE pg_temp.rollup_source_conversations, pg_temp.rollup_source_context_old, pg_temp.rollup_source_context_new;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_context_apply(pg_catalog.text, pg_catalog.text[], pg_catalog.text, pg_catalog.text) IS
	'step of rollup_source_refresh(): compute again the conversations with a call in a trace recomputed and update the day x workflow rows of rollup_source_context_daily';

CREATE VIEW @extschema@.rollup_source_context_monthly WITH (security_invoker = true) AS
	SELECT d.source, pg_catalog.date_trunc('month', d.day::pg_catalog.timestamp)::pg_catalog.date AS month, d.workflow,
		   pg_catalog.sum(d.conversations)::pg_catalog.int8 AS conversations, pg_catalog.sum(d.calls)::pg_catalog.int8 AS calls,
		   pg_catalog.sum(d.total_input)::pg_catalog.int8 AS total_input,
		   pg_catalog.sum(d.fresh_input)::pg_catalog.int8 AS fresh_input,
		   pg_catalog.sum(d.carried_input)::pg_catalog.int8 AS carried_input,
		   (pg_catalog.sum(d.carried_input) / NULLIF(pg_catalog.sum(d.total_input), 0))::pg_catalog.float8 AS carried_share,
		   (pg_catalog.sum(d.growth_exponent_sum) / NULLIF(pg_catalog.sum(d.growth_exponents), 0))::pg_catalog.float8 AS mean_growth_exponent,
		   32768::pg_catalog.int8 AS history_cap,
		   pg_catalog.sum(d.saved_input_at_cap)::pg_catalog.int8 AS saved_input_at_cap,
		   (pg_catalog.sum(d.saved_input_at_cap) / NULLIF(pg_catalog.sum(d.total_input), 0))::pg_catalog.float8 AS saved_share_at_cap,
		   pg_catalog.sum(d.calls_left_out)::pg_catalog.int8 AS calls_left_out
	  FROM @extschema@.rollup_source_context_daily d
	 GROUP BY d.source, 2, d.workflow;
COMMENT ON VIEW @extschema@.rollup_source_context_monthly IS 'the context growth of attached sources summed per calendar month (UTC) a conversation''s first call started x workflow: input carried over from call to call, its share, the mean growth exponent, what a cap on carried history would save';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.month IS 'first day of the month (NULL for conversations without a start)';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.conversations IS 'conversations';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.calls IS 'calls counted (input and output tokens known)';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.total_input IS 'input tokens of the calls counted';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.fresh_input IS 'input tokens that were new in their call';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.carried_input IS 'input tokens carried over from the calls before';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.carried_share IS 'carried_input / total_input';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.mean_growth_exponent IS 'mean growth exponent of the conversations that have one (1: flat, towards 2: quadratic)';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.history_cap IS 'the cap on carried history the savings assume (tokens)';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.saved_input_at_cap IS 'input tokens the cap would have saved';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.saved_share_at_cap IS 'saved_input_at_cap / total_input';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.calls_left_out IS 'calls without usable input or output tokens';
