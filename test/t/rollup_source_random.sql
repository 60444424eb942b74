-- Comparison functions of test/t/rollup_source_random.sh: each part of the
-- rollup of an attached source (calls, retry, waste, context) against the
-- same aggregate taken directly over the source's views, row for row,
-- money exactly.  The direct queries are those of rollup_vs_direct(),
-- retry_vs_direct(), waste_vs_direct() and context_vs_direct() in
-- sql/rollup_source.sql, split into the two queries compared so that the
-- differing rows can be shown; waste is taken run by run where
-- waste_by_trace() refuses a run (a span id twice, no finite start time),
-- such runs counted as left out.
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'openai', 0), ('custom', 'anthropic', 1);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES
	('custom', 'openai', 'gpt-4o-mini', 0, '{"equals": "gpt-4o-mini"}'),
	('custom', 'openai', 'gpt-4o', 1, '{"equals": "gpt-4o"}'),
	('custom', 'anthropic', 'claude-sonnet-4', 0, '{"equals": "claude-sonnet-4"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, cache_read_mtok, cache_write_mtok, output_mtok) VALUES
	('custom', 'openai', 'gpt-4o', 2.50, 1.25, NULL, 10.00),
	('custom', 'openai', 'gpt-4o-mini', 0.15, 0.075, NULL, 0.60),
	('custom', 'anthropic', 'claude-sonnet-4', 3.00, 0.30, 3.75, 15.00);

CREATE FUNCTION rs_view(src text, v text) RETURNS text LANGUAGE sql
	RETURN (SELECT format('%I.%I', a.view_schema, a.view_prefix || v) FROM tokacct.attachment a WHERE a.source = src);

-- The waste of each run as waste_by_trace() classifies it, into rs_wr; the
-- runs to leave out into rs_bad.  Over a copy of the spans view: the runs
-- plainly left out found by this file's own rule (a span id twice, a start
-- time NULL or infinite, a span id NULL or empty, a negative cost; the
-- rule waste_by_trace() and the rollup apply too, so a difference shows in
-- the comparison), the others classified together; a run waste_by_trace()
-- leaves out of those (parent ids in a cycle) is left out too.  Should it
-- fail, run by run.
CREATE FUNCTION rs_waste_prepare(src text) RETURNS void LANGUAGE plpgsql SET client_min_messages = warning AS $$
DECLARE
	r record;
BEGIN
	DROP TABLE IF EXISTS rs_sp, rs_wr, rs_bad, rs_run CASCADE;
	EXECUTE format('CREATE TEMP TABLE rs_sp AS SELECT * FROM %s', rs_view(src, 'spans'));
	CREATE INDEX ON rs_sp (trace_id);
	CREATE TEMP TABLE rs_wr AS SELECT * FROM tokacct.waste_by_trace('rs_sp') LIMIT 0;
	CREATE TEMP TABLE rs_bad (trace_id text);
	INSERT INTO rs_bad SELECT DISTINCT trace_id FROM rs_sp s
	 WHERE s.started_at IS NULL OR NOT isfinite(s.started_at) OR s.span_id IS NULL OR s.span_id = '' OR s.cost < 0
		OR EXISTS (SELECT FROM rs_sp o WHERE o.trace_id IS NOT DISTINCT FROM s.trace_id AND o.span_id = s.span_id
					AND o.ctid <> s.ctid);
	CREATE TEMP TABLE rs_run (id text);
	INSERT INTO rs_run VALUES (NULL);
	CREATE TEMP VIEW rs_one AS SELECT s.* FROM rs_sp s, rs_run r WHERE s.trace_id IS NOT DISTINCT FROM r.id;
	CREATE TEMP VIEW rs_good AS SELECT s.* FROM rs_sp s WHERE s.trace_id NOT IN (SELECT trace_id FROM rs_bad WHERE trace_id IS NOT NULL)
		AND (s.trace_id IS NOT NULL OR NOT EXISTS (SELECT FROM rs_bad WHERE trace_id IS NULL));
	BEGIN
		INSERT INTO rs_wr SELECT * FROM tokacct.waste_by_trace('rs_good');
		INSERT INTO rs_bad SELECT DISTINCT s.trace_id FROM rs_good s
		 WHERE NOT EXISTS (SELECT FROM rs_wr w WHERE w.trace_id IS NOT DISTINCT FROM s.trace_id);
		RETURN;
	EXCEPTION WHEN OTHERS THEN
		NULL;
	END;
	FOR r IN SELECT DISTINCT trace_id FROM rs_sp s
			  WHERE NOT EXISTS (SELECT FROM rs_bad b WHERE b.trace_id IS NOT DISTINCT FROM s.trace_id) LOOP
		UPDATE rs_run SET id = r.trace_id;
		BEGIN
			INSERT INTO rs_wr SELECT * FROM tokacct.waste_by_trace('rs_one');
			IF NOT FOUND THEN
				INSERT INTO rs_bad VALUES (r.trace_id);
			END IF;
		EXCEPTION WHEN OTHERS THEN
			INSERT INTO rs_bad VALUES (r.trace_id);
		END;
	END LOOP;
END
$$;

-- The two queries of each part: direct (over the source's views) and
-- rolled (the rollup's rows), with the same columns; total, a query of
-- the part's totals over the direct rows (to tell the comparison is not
-- vacuous, and that the operations moved it).
CREATE FUNCTION rs_parts(src text) RETURNS TABLE (part text, direct text, rolled text, total text)
LANGUAGE plpgsql AS $$
BEGIN
	-- calls
	part := 'calls';
	direct := format('SELECT (started_at AT TIME ZONE ''UTC'')::date AS day, workflow, model,
		count(DISTINCT trace_id) AS traces, count(*) AS calls, count(*) FILTER (WHERE cost IS NULL) AS calls_left_out,
		coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
		coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens, coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens,
		coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens, coalesce(sum(cost), 0) AS cost,
		coalesce(sum(cost) FILTER (WHERE cost_source = ''reported''), 0) AS reported_cost,
		coalesce(sum(list_cost), 0) AS list_cost, tokacct.cost_sketch(cost)::text AS cost_sketch
		FROM %s GROUP BY 1, 2, 3', rs_view(src, 'calls'));
	rolled := format('SELECT day, workflow, model, traces, calls, calls_left_out, input_tokens, output_tokens,
		cache_read_tokens, cache_write_tokens, reasoning_tokens, cost, reported_cost, list_cost, cost_sketch::text
		FROM tokacct.rollup_source_daily WHERE source = %L', src);
	total := 'SELECT count(*) || '' rows, '' || sum(calls) || '' calls, '' || sum(calls_left_out) || '' left out, ''
		|| sum(cost) || '' USD, '' || sum(input_tokens) || '' input tokens'' FROM (' || direct || ') d';
	RETURN NEXT;
	-- retry economics
	part := 'retry';
	direct := format($q$SELECT * FROM (
		WITH a AS (SELECT workflow, item, attempt, succeeded, cost, started_at FROM %s WHERE item IS NOT NULL AND trace_id IS NOT NULL),
		i AS (SELECT workflow, item, (min(started_at) AT TIME ZONE 'UTC')::date AS day,
					 coalesce(bool_and(cost IS NOT NULL AND succeeded IS NOT NULL AND attempt IS NOT NULL AND cost >= 0
									   AND round(cost, 12) <= 9223372.036854775807)
						 AND min(attempt) = 1 AND max(attempt) = count(*) AND count(DISTINCT attempt) = count(*)
						 AND count(*) FILTER (WHERE succeeded) <= 1
						 AND coalesce(max(attempt) FILTER (WHERE succeeded) = max(attempt), true), false) AS whole
				FROM a GROUP BY 1, 2)
		SELECT g.day, g.workflow, g.items, g.left_out AS items_left_out, r.retry
		  FROM (SELECT day, workflow, count(*) FILTER (WHERE whole) AS items, count(*) FILTER (WHERE NOT whole) AS left_out
				  FROM i GROUP BY 1, 2) g
		  LEFT JOIN (SELECT i.day, i.workflow, tokacct.retry_economics(a.attempt, a.succeeded, a.cost)::text AS retry
					   FROM a JOIN i ON i.item = a.item AND i.workflow IS NOT DISTINCT FROM a.workflow
					  WHERE i.whole GROUP BY 1, 2) r
			ON r.day IS NOT DISTINCT FROM g.day AND r.workflow IS NOT DISTINCT FROM g.workflow) x$q$,
		rs_view(src, 'attempts'));
	rolled := format('SELECT day, workflow, items, items_left_out, retry::text AS retry
		FROM tokacct.rollup_source_retry WHERE source = %L', src);
	total := 'SELECT count(*) || '' rows, '' || sum(items) || '' items, '' || sum(items_left_out) || '' left out, ''
		|| coalesce((tokacct.retry_report(tokacct.merge(retry::tokacct.retry_state))).total_cost, 0) || '' USD'' FROM (' || direct || ') d';
	RETURN NEXT;
	-- waste by class (rs_waste_prepare() first)
	part := 'waste';
	direct := format($q$SELECT day, workflow, sum(runs)::bigint AS runs, sum(left_out)::bigint AS runs_left_out,
			coalesce(sum(spans), 0) AS spans, coalesce(sum(total), 0) AS total, coalesce(sum(essential), 0) AS essential,
			coalesce(sum(error_call), 0) AS error_call, coalesce(sum(failed_attempt), 0) AS failed_attempt,
			coalesce(sum(abandoned_branch), 0) AS abandoned_branch, coalesce(sum(stuck_loop), 0) AS stuck_loop,
			coalesce(sum(duplicate_tool_call), 0) AS duplicate_tool_call, coalesce(sum(waste), 0) AS waste
		FROM (SELECT (a.started_at AT TIME ZONE 'UTC')::date AS day, w.workflow, 1 AS runs, 0 AS left_out, w.spans, w.total,
				   w.essential, w.error_call, w.failed_attempt, w.abandoned_branch, w.stuck_loop, w.duplicate_tool_call, w.waste
			  FROM rs_wr w JOIN %1$s a ON a.trace_id = w.trace_id
			UNION ALL
			SELECT (a.started_at AT TIME ZONE 'UTC')::date, (SELECT min(s.workflow) FROM rs_sp s WHERE s.trace_id = b.trace_id),
				   0, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
			  FROM rs_bad b JOIN %1$s a ON a.trace_id = b.trace_id) x
		GROUP BY 1, 2$q$, rs_view(src, 'attempts'));
	rolled := format('SELECT day, workflow, runs, runs_left_out, spans, total, essential, error_call, failed_attempt,
		abandoned_branch, stuck_loop, duplicate_tool_call, waste
		FROM tokacct.rollup_source_waste_daily WHERE source = %L', src);
	total := 'SELECT count(*) || '' rows, '' || sum(runs) || '' runs, '' || sum(runs_left_out) || '' left out, ''
		|| sum(total) || '' USD, '' || sum(waste) || '' waste'' FROM (' || direct || ') d';
	RETURN NEXT;
	-- context growth (exponents compared by their mean apart, rs_exponents())
	part := 'context';
	direct := format($q$
		SELECT g.day, g.workflow, count(*) AS conversations, COALESCE(sum(r.calls), 0) AS calls, sum(g.left_out) AS calls_left_out,
			   COALESCE(sum(r.total_input), 0) AS total_input, COALESCE(sum(r.fresh_input), 0) AS fresh_input,
			   COALESCE(sum(r.carried_input), 0) AS carried_input, COALESCE(sum(v.saved_input), 0) AS saved_input_at_cap,
			   count(r.growth_exponent) AS growth_exponents
		  FROM (SELECT conversation_id, min(workflow) AS workflow, (min(started_at) AT TIME ZONE 'UTC')::date AS day,
					   tokacct.context_growth(seq, input_tokens, output_tokens)
						   FILTER (WHERE input_tokens IS NOT NULL AND output_tokens IS NOT NULL) AS st,
					   count(*) FILTER (WHERE input_tokens IS NULL OR output_tokens IS NULL) AS left_out
				  FROM %s WHERE trace_id IS NOT NULL GROUP BY conversation_id) g
		  LEFT JOIN LATERAL tokacct.context_report(g.st) r ON true
		  LEFT JOIN LATERAL tokacct.context_savings(g.st, 32768) v ON true
		 GROUP BY 1, 2$q$, rs_view(src, 'conversations'));
	rolled := format('SELECT day, workflow, conversations, calls, calls_left_out, total_input, fresh_input,
		carried_input, saved_input_at_cap, growth_exponents FROM tokacct.rollup_source_context_daily WHERE source = %L', src);
	total := 'SELECT count(*) || '' rows, '' || sum(conversations) || '' conversations, '' || sum(calls) || '' calls, ''
		|| sum(carried_input) || '' carried'' FROM (' || direct || ') d';
	RETURN NEXT;
END
$$;

-- One line per part: part, rows missing from the rollup, rows too many in
-- it, the direct totals; then the context rows whose mean growth exponent
-- is more than 1e-9 from the direct one.
CREATE FUNCTION rs_check(src text) RETURNS TABLE (part text, missing bigint, extra bigint, totals text)
LANGUAGE plpgsql SET client_min_messages = warning AS $$
DECLARE
	p record;
BEGIN
	PERFORM rs_waste_prepare(src);
	FOR p IN SELECT * FROM rs_parts(src) LOOP
		part := p.part;
		DROP TABLE IF EXISTS rs_d, rs_r;
		EXECUTE 'CREATE TEMP TABLE rs_d AS ' || p.direct;
		EXECUTE 'CREATE TEMP TABLE rs_r AS ' || p.rolled;
		SELECT (SELECT count(*) FROM (TABLE rs_d EXCEPT ALL TABLE rs_r) d), (SELECT count(*) FROM (TABLE rs_r EXCEPT ALL TABLE rs_d) d)
		  INTO missing, extra;
		EXECUTE replace(p.total, p.direct, 'TABLE rs_d') INTO totals;
		RETURN NEXT;
	END LOOP;
	part := 'context_exponents';
	EXECUTE format($q$
		SELECT count(*) FROM (SELECT 1 FROM (
			SELECT (min(started_at) AT TIME ZONE 'UTC')::date AS day, min(workflow) AS workflow,
				   (tokacct.context_report(tokacct.context_growth(seq, input_tokens, output_tokens)
						FILTER (WHERE input_tokens IS NOT NULL AND output_tokens IS NOT NULL))).growth_exponent AS e
			  FROM %s WHERE trace_id IS NOT NULL GROUP BY conversation_id) x
		 GROUP BY day, workflow
		HAVING abs(coalesce(avg(e) - (SELECT (r.growth_exponent_sum / NULLIF(r.growth_exponents, 0))::float8
				FROM tokacct.rollup_source_context_daily r WHERE r.source = %L
				 AND r.day IS NOT DISTINCT FROM x.day AND r.workflow IS NOT DISTINCT FROM x.workflow), 0)) > 1e-9) y$q$,
		rs_view(src, 'conversations'), src) INTO missing;
	extra := 0;
	totals := '';
	RETURN NEXT;
END
$$;

-- The first differing rows of a part: '-' rows the direct aggregate has and
-- the rollup not, '+' rows the rollup has and the direct aggregate not.
CREATE FUNCTION rs_diff(src text, which text, n int DEFAULT 6) RETURNS SETOF text LANGUAGE plpgsql SET client_min_messages = warning AS $$
DECLARE
	p record;
BEGIN
	PERFORM rs_waste_prepare(src);
	SELECT * INTO p FROM rs_parts(src) x WHERE x.part = which;
	RETURN QUERY EXECUTE format('(SELECT ''- '' || d::text FROM (%1$s EXCEPT ALL %2$s) d ORDER BY 1 LIMIT %3$s)
		UNION ALL (SELECT ''+ '' || d::text FROM (%2$s EXCEPT ALL %1$s) d ORDER BY 1 LIMIT %3$s)', p.direct, p.rolled, n);
END
$$;

-- Context growth conversation by conversation (tokacct.rollup_source_conversation
-- against the conversations view): where a day row differs, which
-- conversations do.
CREATE FUNCTION rs_diff_conversations(src text, n int DEFAULT 6) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	direct text := format($q$
		SELECT g.conversation_id, g.workflow, g.day, COALESCE(r.calls, 0) AS calls, g.left_out AS calls_left_out,
			   COALESCE(r.total_input, 0) AS total_input, COALESCE(r.carried_input, 0) AS carried_input
		  FROM (SELECT conversation_id, min(workflow) AS workflow, (min(started_at) AT TIME ZONE 'UTC')::date AS day,
					   tokacct.context_growth(seq, input_tokens, output_tokens)
						   FILTER (WHERE input_tokens IS NOT NULL AND output_tokens IS NOT NULL) AS st,
					   count(*) FILTER (WHERE input_tokens IS NULL OR output_tokens IS NULL) AS left_out
				  FROM %s WHERE trace_id IS NOT NULL GROUP BY conversation_id) g
		  LEFT JOIN LATERAL tokacct.context_report(g.st) r ON true$q$, rs_view(src, 'conversations'));
	rolled text := format('SELECT conversation_id, workflow, day, calls, calls_left_out, total_input, carried_input
		FROM tokacct.rollup_source_conversation WHERE source = %L', src);
BEGIN
	RETURN QUERY EXECUTE format('(SELECT ''- '' || d::text FROM (%1$s EXCEPT ALL %2$s) d ORDER BY 1 LIMIT %3$s)
		UNION ALL (SELECT ''+ '' || d::text FROM (%2$s EXCEPT ALL %1$s) d ORDER BY 1 LIMIT %3$s)', direct, rolled, n);
END
$$;
