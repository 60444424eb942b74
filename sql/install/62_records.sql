-- ---------------------------------------------------------------------------
-- Did the work change?  A system of record (tickets, claims: one row per item
-- with its opening and resolution times, who handled it, the human minutes
-- and the BPO charge) attached with one call, like the trace sources: no row
-- is copied; the views read the table as it is.  attach_records() creates
-- in the user's schema:
--   records               the rows in tokacct's words (handler agent, human,
--                         agent_human or bpo; cycle days; human and BPO cost;
--                         AI cost of the item from an attached trace source)
--   record_problems       the rows left out of a figure, with the reason
--   operating_weekly      per workflow and week, and per month: who handled
--   operating_monthly     the items, human minutes, FTEs, BPO spend, cycle
--                         time, AI spend
--   before_after          per cut-over of tokacct.cutover and measure: before,
--                         after, the change and its confidence interval
--   before_after_summary  per cut-over: the monthly money and a sentence
-- The statistics are double precision; money is numeric, exact.
-- ---------------------------------------------------------------------------

-- The registry of attached sources holds systems of record too.
ALTER TABLE @extschema@.attachment DROP CONSTRAINT attachment_kind_check;
ALTER TABLE @extschema@.attachment ADD CONSTRAINT attachment_kind_check
	CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['otel', 'otlp_json', 'langfuse', 'mapping', 'records']));

CREATE TABLE @extschema@.cutover (
	workflow pg_catalog.text NOT NULL CHECK (workflow OPERATOR(pg_catalog.<>) ''),
	segment pg_catalog.text CHECK (segment OPERATOR(pg_catalog.<>) ''),
	cutover_on pg_catalog.date NOT NULL CHECK (pg_catalog.isfinite(cutover_on)),
	note pg_catalog.text
);
CREATE UNIQUE INDEX cutover_workflow_segment ON @extschema@.cutover
	(workflow, (COALESCE(segment, '')));
COMMENT ON TABLE @extschema@.cutover IS
	'the date a workflow (or one segment of its items) moved to the agent: the before_after views of attached systems of record compare the items opened before it with those opened from it on';
COMMENT ON COLUMN @extschema@.cutover.workflow IS 'workflow name, as the system of record gives it';
COMMENT ON COLUMN @extschema@.cutover.segment IS 'segment of the items (the mapped segment attribute); NULL: the whole workflow';
COMMENT ON COLUMN @extschema@.cutover.cutover_on IS 'first day (UTC) of the after period: items opened from 00:00 UTC that day on are "after"';
COMMENT ON COLUMN @extschema@.cutover.note IS 'free text';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.cutover', '');

-- Statistics (C, src/economics.c) -------------------------------------------

CREATE FUNCTION @extschema@.proportion_diff_ci(successes1 pg_catalog.int8, trials1 pg_catalog.int8,
	successes2 pg_catalog.int8, trials2 pg_catalog.int8, confidence pg_catalog.float8 DEFAULT 0.95,
	OUT difference pg_catalog.float8, OUT low pg_catalog.float8, OUT high pg_catalog.float8)
	RETURNS record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_proportion_diff_ci';
COMMENT ON FUNCTION @extschema@.proportion_diff_ci(pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.float8) IS
	'difference of two independent rates, successes1/trials1 - successes2/trials2, with Newcombe''s hybrid score interval (from the two Wilson intervals)';

CREATE FUNCTION @extschema@.median_diff_ci(sample1 pg_catalog.float8[], sample2 pg_catalog.float8[],
	confidence pg_catalog.float8 DEFAULT 0.95,
	OUT median1 pg_catalog.float8, OUT median2 pg_catalog.float8, OUT difference pg_catalog.float8,
	OUT low pg_catalog.float8, OUT high pg_catalog.float8, OUT n1 pg_catalog.int8, OUT n2 pg_catalog.int8)
	RETURNS record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_median_diff_ci';
COMMENT ON FUNCTION @extschema@.median_diff_ci(pg_catalog.float8[], pg_catalog.float8[], pg_catalog.float8) IS
	'difference of the medians of two independent samples (median1 - median2; NULL elements skipped) with an exact distribution-free interval: order-statistic intervals of each median at confidence sqrt(c), combined; coverage at least c; low and high NULL when a sample is too small';

-- Handler spellings -----------------------------------------------------------

-- Every spelling is compared folded: lower case, each run of other
-- characters than a-z and 0-9 made one "_", no "_" at either end ("AI
-- Agent" -> ai_agent, "agent+human" -> agent_human).
CREATE FUNCTION @extschema@.records_fold(pg_catalog.text) RETURNS pg_catalog.text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	RETURN pg_catalog.btrim(pg_catalog.regexp_replace(pg_catalog.lower($1), '[^a-z0-9]+', '_', 'g'), '_');
COMMENT ON FUNCTION @extschema@.records_fold(pg_catalog.text) IS
	'a handler or outcome spelling as attach_records compares it: lower case, runs of other characters than a-z, 0-9 made one _, trimmed of _';

CREATE FUNCTION @extschema@.records_handler_words() RETURNS pg_catalog.jsonb
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
SELECT '{
 "agent": ["agent", "ai", "ai_agent", "bot", "automation", "automated", "auto", "llm", "virtual_agent",
           "autonomous", "straight_through", "stp", "model"],
 "agent_human": ["agent_human", "ai_human", "agent_then_human", "ai_then_human", "escalated", "ai_escalated",
           "agent_escalated", "handoff", "handed_off", "human_fix", "human_fixed", "fixed_by_human", "hybrid"],
 "human": ["human", "person", "people", "staff", "employee", "internal", "in_house", "inhouse", "manual",
           "team", "analyst", "clerk", "adjuster", "rep", "associate", "operator"],
 "bpo": ["bpo", "outsourced", "outsource", "outsourcing", "vendor", "offshore", "contractor", "third_party",
         "external", "partner"]
}'::pg_catalog.jsonb
$fn$;
COMMENT ON FUNCTION @extschema@.records_handler_words() IS
	'the handler spellings attach_records understands by default (folded), per class: agent, agent_human (the agent failed and a person finished), human, bpo';

-- The comments of the views and their columns.
CREATE FUNCTION @extschema@.records_comments() RETURNS pg_catalog.jsonb
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
SELECT $j${
 "records": {
  "": "one row per row of the system of record, in tokacct's words: the handler class, solved, cycle time, human and BPO cost, AI cost from the linked trace source",
  "source": "name of the attached system of record",
  "item": "item key",
  "workflow": "workflow",
  "segment": "segment of the item (the mapped attribute); NULL when none",
  "opened_at": "when the item was opened",
  "resolved_at": "when it was resolved; NULL while open",
  "handler_raw": "handler as the system of record spells it",
  "handler": "agent, human, agent_human (the agent failed, a person finished) or bpo; NULL when the spelling is unknown or the row repeats an item key counted in another row (see problem)",
  "outcome": "outcome as the system of record gives it",
  "solved": "the outcome is one of the success values (without an outcome column: resolved)",
  "cycle_days": "days from opened to resolved; NULL while open or when resolved before opened",
  "human_minutes": "minutes people spent on the item (0 for agent and BPO items that record none); NULL when unknown or not mapped",
  "human_cost": "human_minutes x the baseline's human_cost_per_hour in force when it was opened / 60, USD; NULL without a baseline",
  "bpo_cost": "the BPO charge; for a BPO item without one, the baseline's bpo_unit_price; 0 for other items",
  "ai_cost": "AI spend on the item: the ai_cost of its rows in the linked trace source's items view, 0 when the item is not there; NULL without a trace source or when a call of the item is left out",
  "ai_linked": "the item key is found in the linked trace source; NULL without a trace source",
  "problem": "why the row is left out of some figure; NULL when it is fine",
  "counted": "false when another row with the same item key and workflow is counted instead (the one resolved last): this row is left out of every figure"
 },
 "record_problems": {
  "": "the rows of the system of record left out of a figure, with the reason (unknown handler, no opening time, resolved before opened, negative minutes or charge, ...)",
  "source": "name of the attached system of record",
  "item": "item key",
  "workflow": "workflow",
  "opened_at": "when the item was opened",
  "handler_raw": "handler as spelled",
  "reason": "what is wrong, in words"
 },
 "operating": {
  "": "per workflow and %s (by opening time, UTC): who handled the items, human minutes and FTEs, BPO spend, cycle time, AI spend",
  "source": "name of the attached system of record",
  "workflow": "workflow",
  "period_start": "first day of the period (weeks start on Monday)",
  "records": "rows opened in the period",
  "items": "rows with a known handler (the base of the shares)",
  "agent_items": "items the agent handled alone",
  "people_items": "items people handled, the agent's failures they finished included",
  "agent_fixed_items": "items the agent failed on and people finished (counted in people_items)",
  "bpo_items": "items the BPO handled",
  "agent_share": "agent_items / items",
  "people_share": "people_items / items",
  "bpo_share": "bpo_items / items",
  "solved_items": "items solved",
  "open_items": "items not resolved yet",
  "human_minutes": "minutes people spent (rows with unknown minutes left out: minutes_unknown)",
  "minutes_unknown": "rows people handled without a usable minutes figure",
  "human_minutes_per_item": "human minutes / items with known minutes",
  "human_minutes_per_solved": "human minutes / solved items",
  "fte_hours": "hours of one full-time equivalent in the period (option fte_hours_per_week; a month is 52/12 weeks)",
  "human_fte": "human minutes / 60 / fte_hours",
  "items_per_fte": "items / human_fte: the volume one in-house FTE carries",
  "human_cost": "human minutes at the baseline's loaded cost per hour, USD; NULL when a row has minutes but no baseline",
  "bpo_spend": "BPO charges (the baseline's unit price where a BPO item has none), USD; rows with a negative charge or no price are left out (rows_left_out)",
  "cycle_median_days": "median days from opened to resolved (resolved items)",
  "cycle_p90_days": "90th percentile of the days from opened to resolved",
  "ai_spend": "AI spend on the items (from the linked trace source), USD; NULL without one or when a call is left out (see ai_note)",
  "ai_items_linked": "items found in the linked trace source",
  "ai_spend_per_item": "ai_spend / items",
  "ai_note": "why ai_spend is NULL; NULL when it is known",
  "rows_left_out": "rows of the period with a problem (see record_problems)"
 },
 "before_after": {
  "": "per cut-over (tokacct.cutover) and measure: the value before and after, the change and its confidence interval (rates: Newcombe hybrid score; medians: exact distribution-free order-statistic intervals; others: point estimates)",
  "source": "name of the attached system of record",
  "workflow": "workflow",
  "segment": "segment compared; NULL: the whole workflow",
  "cutover_on": "first day of the after period",
  "measure": "agent_share, people_share, bpo_share, solved_share, cycle_days_median, human_minutes_median, human_minutes_mean, items_per_month",
  "unit": "share (0 to 1), days, minutes or items",
  "before": "value over the items opened before the cut-over",
  "after": "value over the items opened from the cut-over on",
  "change": "after - before",
  "ci_low": "low end of the confidence interval of the change; NULL for point estimates or too few items",
  "ci_high": "high end of the confidence interval of the change",
  "confidence": "confidence of the interval (option confidence)",
  "method": "how the interval is computed",
  "significant": "the interval excludes 0; NULL without an interval",
  "n_before": "items (or values) before",
  "n_after": "items (or values) after"
 },
 "before_after_summary": {
  "": "per cut-over: items, months, people and BPO cost per item before and after, the cost avoided and the AI spend per month, the net saving, and a sentence in business words",
  "source": "name of the attached system of record",
  "workflow": "workflow",
  "segment": "segment compared; NULL: the whole workflow",
  "cutover_on": "first day of the after period",
  "items_before": "items with a known handler opened before",
  "items_after": "items with a known handler opened from the cut-over on",
  "months_before": "days from the first item before to the cut-over / 30.4375",
  "months_after": "days from the cut-over to the last item (inclusive) / 30.4375",
  "cost_per_item_before": "human cost + BPO spend per item before, USD (over the items whose both are known: see note)",
  "cost_per_item_after": "human cost + BPO spend per item after (the agent's failures people fixed included), USD",
  "cost_avoided_per_month": "(cost_per_item_before - cost_per_item_after) x items after per month, USD",
  "ai_spend_per_month": "AI spend per item after (items whose calls are all priced) x items after per month, USD; NULL without a trace source",
  "net_saving_per_month": "cost_avoided_per_month - ai_spend_per_month, USD",
  "rows_left_out": "rows of the workflow (segment) with an unknown handler or no opening time, not compared",
  "note": "why a figure is NULL; NULL when none is",
  "sentence": "the change in business words"
 }
}$j$::pg_catalog.jsonb
$fn$;
COMMENT ON FUNCTION @extschema@.records_comments() IS 'the comments given to the views of an attached system of record and their columns';

-- The words of the sentences.
CREATE FUNCTION @extschema@.records_signed(x pg_catalog.float8, digits pg_catalog.int4) RETURNS pg_catalog.text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	RETURN CASE WHEN pg_catalog.round(x::pg_catalog.numeric, digits) > 0 THEN '+' ELSE '' END
		|| pg_catalog.round(x::pg_catalog.numeric, digits);
COMMENT ON FUNCTION @extschema@.records_signed(pg_catalog.float8, pg_catalog.int4) IS
	'a number rounded to digits decimals with its sign (+ for a positive one)';

CREATE FUNCTION @extschema@.records_share_words(before pg_catalog.float8, after pg_catalog.float8,
	low pg_catalog.float8, high pg_catalog.float8) RETURNS pg_catalog.text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	RETURN pg_catalog.round((before * 100)::pg_catalog.numeric) || '% -> ' || pg_catalog.round((after * 100)::pg_catalog.numeric) || '%'
		|| CASE WHEN low IS NULL OR high IS NULL THEN ''
				WHEN low > 0 OR high < 0 THEN pg_catalog.format(' (%s pts, CI %s to %s)',
					@extschema@.records_signed(100 * (after - before), 0), @extschema@.records_signed(100 * low, 0),
					@extschema@.records_signed(100 * high, 0))
				ELSE pg_catalog.format(' (no significant change: CI %s to %s pts)',
					@extschema@.records_signed(100 * low, 0), @extschema@.records_signed(100 * high, 0)) END;
COMMENT ON FUNCTION @extschema@.records_share_words(pg_catalog.float8, pg_catalog.float8, pg_catalog.float8, pg_catalog.float8) IS
	'a share before and after a cut-over in words, with the change in points and its interval, or "no significant change"';

CREATE FUNCTION @extschema@.records_median_words(before pg_catalog.float8, after pg_catalog.float8,
	low pg_catalog.float8, high pg_catalog.float8, unit pg_catalog.text) RETURNS pg_catalog.text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	RETURN pg_catalog.round(before::pg_catalog.numeric, 1) || ' -> ' || pg_catalog.round(after::pg_catalog.numeric, 1) || ' ' || unit
		|| CASE WHEN low IS NULL OR high IS NULL THEN ' (too few items for an interval)'
				WHEN low > 0 OR high < 0 THEN pg_catalog.format(' (CI of the change %s to %s)',
					@extschema@.records_signed(low, 1), @extschema@.records_signed(high, 1))
				ELSE pg_catalog.format(' (no significant change: CI %s to %s)',
					@extschema@.records_signed(low, 1), @extschema@.records_signed(high, 1)) END;
COMMENT ON FUNCTION @extschema@.records_median_words(pg_catalog.float8, pg_catalog.float8, pg_catalog.float8, pg_catalog.float8, pg_catalog.text) IS
	'a median before and after a cut-over in words, with the interval of the change, or "no significant change"';

CREATE FUNCTION @extschema@.records_money_words(amount pg_catalog.numeric) RETURNS pg_catalog.text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	RETURN '$' || CASE WHEN pg_catalog.abs(amount) < 100 THEN pg_catalog.to_char(amount, 'FM999,999,999,999,990.00')
					   ELSE pg_catalog.to_char(pg_catalog.round(amount), 'FM999,999,999,999,999,990') END;
COMMENT ON FUNCTION @extschema@.records_money_words(pg_catalog.numeric) IS
	'an amount of USD in words: $41,200 (cents under $100)';

-- ---------------------------------------------------------------------------
-- attach_records(source, records, mapping, into_schema, prefix, options)
--
-- mapping: item, workflow, opened_at, handler (required); resolved_at,
-- human_minutes, bpo_charge, segment, outcome.  Each a column name, a path
-- in a jsonb column ({"column": c, "path": "a/b"}) or a constant
-- ({"const": v}; not for times).
-- options: handlers ({"agent": [...], "agent_human": [...], "human": [...],
-- "bpo": [...]}: more spellings, winning over the defaults), success_values,
-- traces (an attached trace source whose items view gives the AI cost per
-- item key), fte_hours_per_week (40), confidence (0.95).
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.attach_records(source pg_catalog.text, records pg_catalog.regclass,
	mapping pg_catalog.jsonb, into_schema pg_catalog.name DEFAULT NULL, prefix pg_catalog.text DEFAULT '',
	options pg_catalog.jsonb DEFAULT '{}',
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	wants jsonb := '{"item": "text", "workflow": "text", "opened_at": "timestamptz", "resolved_at": "timestamptz",
		"handler": "text", "human_minutes": "numeric", "bpo_charge": "numeric", "segment": "text", "outcome": "text"}';
	opts jsonb;
	m jsonb := '{}';
	k text;
	w text;
	e text;
	words jsonb := @extschema@.records_handler_words();
	word_class jsonb := '{}';
	handler_case text := '';
	success text;
	solved_sql text;
	tr @extschema@.attachment%ROWTYPE;
	trace_items regclass;
	ai_join text;
	fte float8;
	conf float8;
	src text := quote_literal(source) || '::pg_catalog.text';
	target_schema name := coalesce(into_schema, source::name);
	pre text := coalesce(prefix, '');
	q jsonb;
	v_records text;
	rec_view text;
	ba_view text;
	g_sql text;
	names text[] := ARRAY['records', 'record_problems', 'operating_weekly', 'operating_monthly',
		'before_after', 'before_after_summary'];
	n text;
	qname text;
	made text[] := '{}';
	def text;
	old @extschema@.attachment%ROWTYPE;
	had_row boolean;
	created boolean := false;
	all_there boolean;
	comments jsonb := @extschema@.records_comments();
	ckey text;
	c record;
BEGIN
	-- the source, the rights, where the views go --------------------------------
	IF source IS NULL OR source !~ '^[a-z_][a-z0-9_]{0,47}$' THEN
		RAISE EXCEPTION 'invalid source name "%"', source
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name a source with up to 48 lower-case letters, digits and _, starting with a letter or _ (it is also the default schema of its views).';
	END IF;
	IF NOT has_table_privilege('@extschema@.attachment', 'INSERT, UPDATE, DELETE') THEN
		RAISE EXCEPTION 'permission denied to attach a source'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Role "%s" cannot record sources in @extschema@.attachment.', current_user),
				  HINT = format('The extension''s owner can grant it: CALL @extschema@.grant_admin(%L);', current_user);
	END IF;
	IF target_schema IN ('@extschema@', 'pg_catalog', 'information_schema', 'pg_toast')
	   OR target_schema LIKE 'pg\_temp%' OR target_schema LIKE 'pg\_toast%' THEN
		RAISE EXCEPTION 'cannot create the views of source "%" in schema "%"', source, target_schema
			USING ERRCODE = 'invalid_schema_name',
				  HINT = 'Choose a schema of your own (by default the views go to a schema named after the source).';
	END IF;
	IF pre !~ '^[a-z0-9_]{0,20}$' THEN
		RAISE EXCEPTION 'invalid view name prefix "%"', pre
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use up to 20 lower-case letters, digits and _ (the views are named prefix || ''records'', ...).';
	END IF;
	PERFORM @extschema@.attach_relation(records, 'system of record');

	-- options ----------------------------------------------------------------------
	opts := @extschema@.attach_options(options,
		ARRAY['handlers', 'success_values', 'traces', 'fte_hours_per_week', 'confidence'],
		'{"fte_hours_per_week": 40, "confidence": 0.95}');
	IF jsonb_typeof(opts -> 'fte_hours_per_week') <> 'number'
	   OR (opts ->> 'fte_hours_per_week')::float8 <= 0 OR (opts ->> 'fte_hours_per_week')::float8 > 168 THEN
		RAISE EXCEPTION 'option "fte_hours_per_week" must be a number of hours above 0 and at most 168'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Got %s.', opts -> 'fte_hours_per_week'),
				  HINT = 'The hours one full-time person works in a week (40 by default).';
	END IF;
	fte := (opts ->> 'fte_hours_per_week')::float8;
	IF jsonb_typeof(opts -> 'confidence') <> 'number'
	   OR (opts ->> 'confidence')::float8 <= 0 OR (opts ->> 'confidence')::float8 >= 1 THEN
		RAISE EXCEPTION 'option "confidence" must be a number greater than 0 and less than 1'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Got %s.', opts -> 'confidence'),
				  HINT = 'For 95% intervals, 0.95.';
	END IF;
	conf := (opts ->> 'confidence')::float8;
	success := quote_literal(ARRAY(SELECT @extschema@.records_fold(x) FROM jsonb_array_elements_text(coalesce(opts -> 'success_values',
		'["solved", "resolved", "closed", "done", "completed", "complete", "success", "succeeded", "ok", "approved", "paid", "true", "yes"]')) x)::text)
		|| '::pg_catalog.text[]';
	IF opts ? 'handlers' THEN
		IF jsonb_typeof(opts -> 'handlers') <> 'object'
		   OR EXISTS (SELECT 1 FROM jsonb_each(opts -> 'handlers') x
					   WHERE x.key NOT IN ('agent', 'agent_human', 'human', 'bpo') OR jsonb_typeof(x.value) <> 'array'
						  OR EXISTS (SELECT 1 FROM jsonb_array_elements(x.value) y WHERE jsonb_typeof(y) <> 'string'
										OR @extschema@.records_fold(y #>> '{}') = '')) THEN
			RAISE EXCEPTION 'option "handlers" must map agent, agent_human, human and bpo to arrays of spellings'
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = format('Got %s.', left((opts -> 'handlers')::text, 200)),
					  HINT = 'For example {"agent": ["claimbot"], "bpo": ["acme services"]}; agent_human is an item the agent failed on and a person finished.';
		END IF;
	END IF;
	-- the spelling -> class map: the defaults, then the user's (which win)
	FOREACH w IN ARRAY ARRAY['agent', 'agent_human', 'human', 'bpo'] LOOP
		FOR k IN SELECT jsonb_array_elements_text(words -> w) LOOP
			word_class := word_class || jsonb_build_object(k, w);
		END LOOP;
	END LOOP;
	FOREACH w IN ARRAY ARRAY['agent', 'agent_human', 'human', 'bpo'] LOOP
		FOR k IN SELECT @extschema@.records_fold(x) FROM jsonb_array_elements_text(coalesce(opts -> 'handlers' -> w, '[]')) x LOOP
			word_class := word_class || jsonb_build_object(k, w);
		END LOOP;
	END LOOP;
	SELECT string_agg(format(' WHEN %L THEN %L', x.key, x.value #>> '{}'), '' ORDER BY x.key) INTO handler_case
	  FROM jsonb_each(word_class) x;
	-- the trace source giving the AI cost per item
	IF opts ? 'traces' THEN
		IF jsonb_typeof(opts -> 'traces') <> 'string' THEN
			RAISE EXCEPTION 'option "traces" must be the name of an attached trace source'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		SELECT * INTO tr FROM @extschema@.attachment a WHERE a.source = opts ->> 'traces';
		IF NOT FOUND OR tr.kind = 'records' THEN
			RAISE EXCEPTION 'option "traces": no attached trace source "%"', opts ->> 'traces'
				USING ERRCODE = 'undefined_object',
					  HINT = coalesce('Trace sources: ' || (SELECT string_agg(a.source, ', ' ORDER BY a.source)
						FROM @extschema@.attachment a WHERE a.kind <> 'records') || '.', 'No trace source is attached: attach one first.');
		END IF;
		trace_items := to_regclass(format('%I.%I', tr.view_schema, tr.view_prefix || 'items'));
		IF trace_items IS NULL THEN
			RAISE EXCEPTION 'option "traces": the items view of source "%" is missing', tr.source
				USING ERRCODE = 'undefined_table',
					  HINT = 'Attach the trace source again.';
		END IF;
	END IF;

	-- the mapping --------------------------------------------------------------------
	IF mapping IS NULL OR jsonb_typeof(mapping) <> 'object' THEN
		RAISE EXCEPTION 'the mapping must be a JSON object of names and columns'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Names: %s.', (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_object_keys(wants) x));
	END IF;
	FOR k IN SELECT jsonb_object_keys(mapping) LOOP
		IF NOT wants ? k THEN
			RAISE EXCEPTION 'mapping: unknown name "%"', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Names: %s.', (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_object_keys(wants) x));
		END IF;
	END LOOP;
	FOREACH k IN ARRAY ARRAY['item', 'workflow', 'opened_at', 'handler'] LOOP
		IF NOT mapping ? k OR jsonb_typeof(mapping -> k) = 'null' THEN
			RAISE EXCEPTION 'the mapping must name the % column', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Required: item, workflow, opened_at, handler; optional: resolved_at, human_minutes, bpo_charge, segment, outcome.';
		END IF;
	END LOOP;
	FOR k IN SELECT jsonb_object_keys(wants) LOOP
		e := @extschema@.attach_mapped(records, mapping, k, wants ->> k);
		m := m || jsonb_build_object(k, coalesce(e, CASE wants ->> k WHEN 'timestamptz' THEN 'NULL::pg_catalog.timestamptz'
			WHEN 'numeric' THEN 'NULL::pg_catalog.numeric' ELSE 'NULL::pg_catalog.text' END));
	END LOOP;
	solved_sql := CASE WHEN mapping ? 'outcome' AND jsonb_typeof(mapping -> 'outcome') <> 'null'
		THEN format('@extschema@.records_fold(b.outcome) OPERATOR(pg_catalog.=) ANY (%s)', success)
		ELSE '(b.resolved_at IS NOT NULL)' END;
	ai_join := CASE WHEN trace_items IS NULL
		THEN 'LEFT JOIN (SELECT NULL::pg_catalog.text AS item, NULL::pg_catalog.numeric AS ai_cost, NULL::pg_catalog.bool AS ai_priced) t ON false'
		ELSE format('LEFT JOIN (SELECT i.item, pg_catalog.sum(i.ai_cost) AS ai_cost, pg_catalog.bool_and(i.ai_cost IS NOT NULL) AS ai_priced '
					'FROM %s i WHERE i.item IS NOT NULL GROUP BY i.item) t ON t.item OPERATOR(pg_catalog.=) b.item', trace_items) END;

	-- records ------------------------------------------------------------------------
	v_records := format($q$
SELECT %1$s AS source, b.item, b.workflow, b.segment, b.opened_at, b.resolved_at, b.handler_raw,
	   CASE WHEN b.counted THEN b.handler END AS handler, b.outcome,
	   CASE WHEN b.counted THEN %2$s END AS solved,
	   CASE WHEN b.counted AND b.resolved_at >= b.opened_at
			THEN pg_catalog.date_part('epoch', b.resolved_at - b.opened_at) / 86400.0 END AS cycle_days,
	   CASE WHEN b.counted THEN b.human_minutes END AS human_minutes,
	   CASE WHEN b.counted THEN pg_catalog.round(b.human_minutes * bl.human_cost_per_hour / 60, 12) END AS human_cost,
	   CASE WHEN NOT b.counted THEN NULL
			WHEN b.charge >= 0 AND b.charge < 'Infinity'::pg_catalog.numeric THEN b.charge
			WHEN b.charge IS NULL AND b.handler = 'bpo' THEN bl.bpo_unit_price
			WHEN b.charge IS NULL THEN 0::pg_catalog.numeric END AS bpo_cost,
	   CASE WHEN b.counted THEN %3$s END AS ai_cost,
	   CASE WHEN b.counted THEN %16$s END AS ai_linked,
	   CASE WHEN NOT b.counted THEN pg_catalog.format('another row of item %%s in workflow %%s is counted (%%s rows share the key; the one resolved last counts): left out of every figure',
				pg_catalog.quote_literal(b.item), pg_catalog.quote_literal(b.workflow), b.copies)
	   ELSE NULLIF(pg_catalog.concat_ws('; ',
			CASE WHEN b.item IS NULL THEN 'no item key' END,
			CASE WHEN b.workflow IS NULL THEN 'no workflow' END,
			CASE WHEN b.opened_raw IS NULL THEN 'no opening time: in no period'
				 WHEN b.opened_at IS NULL THEN 'opening time at infinity: in no period' END,
			CASE WHEN b.resolved_at IS NULL AND b.resolved_raw IS NOT NULL THEN 'resolution time at infinity: taken as not resolved' END,
			CASE WHEN b.handler_raw IS NULL THEN 'no handler: left out of the shares'
				 WHEN b.handler IS NULL THEN pg_catalog.format('unknown handler %%s: left out of the shares', pg_catalog.quote_literal(b.handler_raw)) END,
			CASE WHEN b.resolved_at < b.opened_at THEN 'resolved before opened: left out of the cycle times' END,
			CASE WHEN b.minutes_raw < 0 THEN 'negative human minutes: left out of the minutes'
				 WHEN b.minutes_raw >= 'Infinity'::pg_catalog.numeric THEN 'human minutes not a finite number: left out of the minutes'
				 WHEN b.human_minutes IS NULL AND b.handler IN ('human', 'agent_human') AND %17$s THEN 'no human minutes for an item people handled: left out of the minutes' END,
			CASE WHEN b.charge < 0 THEN 'negative BPO charge: left out of the BPO spend'
				 WHEN b.charge >= 'Infinity'::pg_catalog.numeric THEN 'BPO charge not a finite number: left out of the BPO spend'
				 WHEN b.charge IS NULL AND b.handler = 'bpo' AND bl.bpo_unit_price IS NULL THEN 'BPO item without a charge and no BPO price in tokacct.baseline' END,
			CASE WHEN t.ai_priced IS FALSE THEN 'calls of the item left out of its AI cost (see the trace source''s problems view)' END), '') END AS problem,
	   b.counted
  FROM (SELECT b.*,
			   -- (NaN sorts above Infinity: neither is a number of minutes)
			   CASE WHEN b.minutes_raw >= 0 AND b.minutes_raw < 'Infinity'::pg_catalog.numeric THEN b.minutes_raw
					WHEN b.minutes_raw IS NULL AND b.handler IN ('agent', 'bpo') AND %17$s THEN 0::pg_catalog.numeric END AS human_minutes,
			   -- rows sharing an item key in a workflow: one counts, the one
			   -- resolved last (an open copy counts as older than a resolved one)
			   b.item IS NULL OR b.workflow IS NULL OR pg_catalog.row_number() OVER (PARTITION BY b.workflow, b.item
					ORDER BY b.resolved_at DESC NULLS LAST, b.opened_at DESC NULLS LAST, b.handler_raw, b.outcome, b.minutes_raw, b.charge) = 1 AS counted,
			   pg_catalog.count(*) OVER (PARTITION BY b.workflow, b.item) AS copies
		  -- a time at infinity (an "open" sentinel, say) is no time: opened
		  -- in no period, resolved never; the problem says so
		  FROM (SELECT r.item, r.workflow, r.segment,
					   CASE WHEN pg_catalog.isfinite(r.opened_at) THEN r.opened_at END AS opened_at, r.opened_at AS opened_raw,
					   CASE WHEN pg_catalog.isfinite(r.resolved_at) THEN r.resolved_at END AS resolved_at, r.resolved_at AS resolved_raw,
					   r.handler AS handler_raw,
					   CASE @extschema@.records_fold(r.handler)%4$s END AS handler,
					   r.outcome, r.minutes_raw, r.charge
				  FROM (SELECT %5$s AS item, %6$s AS workflow, %7$s AS segment, %8$s AS opened_at, %9$s AS resolved_at,
							   %10$s AS handler, %11$s AS outcome, %12$s AS minutes_raw, %13$s AS charge
						  FROM %14$s r) r) b) b
  LEFT JOIN LATERAL (SELECT x.human_cost_per_hour, x.bpo_unit_price FROM @extschema@.baseline_rows() x
					  WHERE x.workflow = b.workflow AND x.valid_from <= b.opened_at AND x.currency = 'USD'
					  ORDER BY x.valid_from DESC LIMIT 1) bl ON true
  %15$s$q$,
		src, solved_sql,
		CASE WHEN trace_items IS NULL THEN 'NULL::pg_catalog.numeric'
			 ELSE 'CASE WHEN t.item IS NULL THEN 0::pg_catalog.numeric WHEN t.ai_priced THEN t.ai_cost END' END,
		handler_case,
		format('NULLIF(%s, '''')', m ->> 'item'), format('NULLIF(%s, '''')', m ->> 'workflow'),
		format('NULLIF(%s, '''')', m ->> 'segment'), m ->> 'opened_at', m ->> 'resolved_at',
		format('NULLIF(pg_catalog.btrim(%s), '''')', m ->> 'handler'), m ->> 'outcome', m ->> 'human_minutes',
		m ->> 'bpo_charge', records, ai_join,
		CASE WHEN trace_items IS NULL THEN 'NULL::pg_catalog.bool' ELSE '(t.item IS NOT NULL)' END,
		CASE WHEN mapping ? 'human_minutes' AND jsonb_typeof(mapping -> 'human_minutes') <> 'null' THEN 'true' ELSE 'false' END);
	q := jsonb_build_object('records', v_records);
	rec_view := format('%I.%I', target_schema, pre || 'records');
	ba_view := format('%I.%I', target_schema, pre || 'before_after');

	q := q || jsonb_build_object('record_problems', format($q$
SELECT r.source, r.item, r.workflow, r.opened_at, r.handler_raw, r.problem AS reason
  FROM %s r WHERE r.problem IS NOT NULL$q$, rec_view));

	-- per week and month -----------------------------------------------------------
	FOREACH w IN ARRAY ARRAY['week', 'month'] LOOP
		q := q || jsonb_build_object(CASE w WHEN 'week' THEN 'operating_weekly' ELSE 'operating_monthly' END, format($q$
SELECT s.source, s.workflow, s.period_start, s.records, s.items, s.agent_items, s.people_items, s.agent_fixed_items, s.bpo_items,
	   s.agent_items::pg_catalog.float8 / NULLIF(s.items, 0) AS agent_share,
	   s.people_items::pg_catalog.float8 / NULLIF(s.items, 0) AS people_share,
	   s.bpo_items::pg_catalog.float8 / NULLIF(s.items, 0) AS bpo_share,
	   s.solved_items, s.open_items, s.human_minutes, s.minutes_unknown,
	   (s.human_minutes / NULLIF(s.minutes_known, 0))::pg_catalog.float8 AS human_minutes_per_item,
	   (s.human_minutes / NULLIF(s.solved_items, 0))::pg_catalog.float8 AS human_minutes_per_solved,
	   %2$s::pg_catalog.float8 AS fte_hours,
	   s.human_minutes::pg_catalog.float8 / 60.0 / %2$s AS human_fte,
	   s.items / NULLIF(s.human_minutes::pg_catalog.float8 / 60.0 / %2$s, 0) AS items_per_fte,
	   s.human_cost, s.bpo_spend, s.cycle_median_days, s.cycle_p90_days,
	   CASE WHEN NOT %3$s AND s.ai_unpriced = 0 THEN COALESCE(s.ai_spend, 0) END AS ai_spend, s.ai_items_linked,
	   CASE WHEN NOT %3$s AND s.ai_unpriced = 0 THEN pg_catalog.round(COALESCE(s.ai_spend, 0) / NULLIF(s.items, 0), 12) END AS ai_spend_per_item,
	   CASE WHEN %3$s THEN 'no trace source linked (option "traces" of attach_records)'
			WHEN s.ai_unpriced > 0 THEN pg_catalog.format('%%s items have calls left out of their AI cost (see the trace source''s problems view)', s.ai_unpriced)
	   END AS ai_note,
	   s.rows_left_out
  FROM (SELECT r.source, r.workflow, pg_catalog.date_trunc(%1$L, pg_catalog.timezone('UTC', r.opened_at))::pg_catalog.date AS period_start,
			   pg_catalog.count(*) AS records,
			   pg_catalog.count(*) FILTER (WHERE r.handler IS NOT NULL) AS items,
			   pg_catalog.count(*) FILTER (WHERE r.handler = 'agent') AS agent_items,
			   pg_catalog.count(*) FILTER (WHERE r.handler IN ('human', 'agent_human')) AS people_items,
			   pg_catalog.count(*) FILTER (WHERE r.handler = 'agent_human') AS agent_fixed_items,
			   pg_catalog.count(*) FILTER (WHERE r.handler = 'bpo') AS bpo_items,
			   pg_catalog.count(*) FILTER (WHERE r.handler IS NOT NULL AND r.solved) AS solved_items,
			   pg_catalog.count(*) FILTER (WHERE r.resolved_at IS NULL AND r.counted) AS open_items,
			   pg_catalog.sum(r.human_minutes) FILTER (WHERE r.handler IS NOT NULL) AS human_minutes,
			   pg_catalog.count(r.human_minutes) FILTER (WHERE r.handler IS NOT NULL) AS minutes_known,
			   pg_catalog.count(*) FILTER (WHERE r.handler IN ('human', 'agent_human') AND r.human_minutes IS NULL) AS minutes_unknown,
			   CASE WHEN pg_catalog.bool_or(r.human_minutes > 0 AND r.human_cost IS NULL) THEN NULL
					ELSE pg_catalog.sum(r.human_cost) FILTER (WHERE r.handler IS NOT NULL) END AS human_cost,
			   pg_catalog.sum(r.bpo_cost) FILTER (WHERE r.handler IS NOT NULL) AS bpo_spend,
			   pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY r.cycle_days) AS cycle_median_days,
			   pg_catalog.percentile_cont(0.9) WITHIN GROUP (ORDER BY r.cycle_days) AS cycle_p90_days,
			   pg_catalog.sum(r.ai_cost) FILTER (WHERE r.handler IS NOT NULL) AS ai_spend,
			   pg_catalog.count(*) FILTER (WHERE r.handler IS NOT NULL AND r.ai_linked) AS ai_items_linked,
			   pg_catalog.count(*) FILTER (WHERE r.handler IS NOT NULL AND r.ai_linked AND r.ai_cost IS NULL) AS ai_unpriced,
			   pg_catalog.count(*) FILTER (WHERE r.problem IS NOT NULL) AS rows_left_out
		  FROM %4$s r
		 WHERE r.workflow IS NOT NULL AND r.opened_at IS NOT NULL
		 GROUP BY r.source, r.workflow, 3) s$q$,
			w, CASE w WHEN 'week' THEN fte::text ELSE format('(%s * 52.0 / 12.0)', fte) END,
			CASE WHEN trace_items IS NULL THEN 'true' ELSE 'false' END, rec_view));
	END LOOP;

	-- before and after ------------------------------------------------------------
	g_sql := format($q$
SELECT c.workflow, c.segment, c.cutover_on,
	   pg_catalog.count(*) FILTER (WHERE NOT j.after) AS n_b, pg_catalog.count(*) FILTER (WHERE j.after) AS n_a,
	   pg_catalog.count(*) FILTER (WHERE NOT j.after AND j.handler = 'agent') AS agent_b,
	   pg_catalog.count(*) FILTER (WHERE j.after AND j.handler = 'agent') AS agent_a,
	   pg_catalog.count(*) FILTER (WHERE NOT j.after AND j.handler IN ('human', 'agent_human')) AS people_b,
	   pg_catalog.count(*) FILTER (WHERE j.after AND j.handler IN ('human', 'agent_human')) AS people_a,
	   pg_catalog.count(*) FILTER (WHERE NOT j.after AND j.handler = 'bpo') AS bpo_b,
	   pg_catalog.count(*) FILTER (WHERE j.after AND j.handler = 'bpo') AS bpo_a,
	   pg_catalog.count(*) FILTER (WHERE NOT j.after AND j.solved) AS solved_b,
	   pg_catalog.count(*) FILTER (WHERE j.after AND j.solved) AS solved_a,
	   COALESCE(pg_catalog.array_agg(j.cycle_days) FILTER (WHERE NOT j.after AND j.cycle_days IS NOT NULL), '{}') AS cyc_b,
	   COALESCE(pg_catalog.array_agg(j.cycle_days) FILTER (WHERE j.after AND j.cycle_days IS NOT NULL), '{}') AS cyc_a,
	   COALESCE(pg_catalog.array_agg(j.human_minutes::pg_catalog.float8) FILTER (WHERE NOT j.after AND j.human_minutes IS NOT NULL), '{}') AS min_b,
	   COALESCE(pg_catalog.array_agg(j.human_minutes::pg_catalog.float8) FILTER (WHERE j.after AND j.human_minutes IS NOT NULL), '{}') AS min_a,
	   pg_catalog.avg(j.human_minutes) FILTER (WHERE NOT j.after) AS mean_min_b,
	   pg_catalog.avg(j.human_minutes) FILTER (WHERE j.after) AS mean_min_a,
	   pg_catalog.min(j.opened_on) FILTER (WHERE NOT j.after) AS first_b,
	   pg_catalog.max(j.opened_on) FILTER (WHERE j.after) AS last_a,
	   pg_catalog.count(*) FILTER (WHERE NOT j.after AND j.human_cost IS NOT NULL AND j.bpo_cost IS NOT NULL) AS cost_n_b,
	   pg_catalog.sum(j.human_cost + j.bpo_cost) FILTER (WHERE NOT j.after) AS cost_b,
	   pg_catalog.count(*) FILTER (WHERE j.after AND j.human_cost IS NOT NULL AND j.bpo_cost IS NOT NULL) AS cost_n_a,
	   pg_catalog.sum(j.human_cost + j.bpo_cost) FILTER (WHERE j.after) AS cost_a,
	   pg_catalog.count(*) FILTER (WHERE j.after IS NOT NULL AND (j.human_cost IS NULL OR j.bpo_cost IS NULL)) AS cost_unknown,
	   pg_catalog.count(*) FILTER (WHERE j.after AND j.ai_cost IS NOT NULL) AS ai_n_a,
	   pg_catalog.sum(j.ai_cost) FILTER (WHERE j.after) AS ai_a,
	   pg_catalog.count(*) FILTER (WHERE j.after AND j.ai_linked AND j.ai_cost IS NULL) AS ai_unpriced_a,
	   pg_catalog.count(*) FILTER (WHERE j.left_out) AS rows_left_out
  FROM @extschema@.cutover_rows() c
  JOIN (SELECT r.*, (r.handler IS NULL OR r.opened_at IS NULL) AS left_out,
			   pg_catalog.timezone('UTC', r.opened_at)::pg_catalog.date AS opened_on
		  FROM %1$s r) r0 ON r0.workflow = c.workflow AND (c.segment IS NULL OR r0.segment = c.segment)
  CROSS JOIN LATERAL (SELECT CASE WHEN NOT r0.left_out THEN r0.opened_on >= c.cutover_on END AS after,
							 r0.handler, r0.solved, r0.cycle_days, r0.human_minutes, r0.human_cost, r0.bpo_cost,
							 r0.ai_cost, r0.ai_linked, r0.opened_on, r0.left_out) j
 GROUP BY c.workflow, c.segment, c.cutover_on$q$, rec_view);

	q := q || jsonb_build_object('before_after', format($q$
SELECT %1$s AS source, g.workflow, g.segment, g.cutover_on, x.measure, x.unit, x.before, x.after,
	   x.after - x.before AS change, x.ci_low, x.ci_high, %2$s::pg_catalog.float8 AS confidence, x.method,
	   CASE WHEN x.ci_low IS NOT NULL THEN x.ci_low > 0 OR x.ci_high < 0 END AS significant,
	   x.n_before, x.n_after
  FROM (%3$s) g
  CROSS JOIN LATERAL (
	SELECT v.measure, v.unit, v.s_b::pg_catalog.float8 / NULLIF(g.n_b - v.skip_b, 0), v.s_a::pg_catalog.float8 / NULLIF(g.n_a - v.skip_a, 0),
		   CASE WHEN g.n_b > 0 AND g.n_a > 0 THEN p.low END, CASE WHEN g.n_b > 0 AND g.n_a > 0 THEN p.high END,
		   'difference of proportions, Newcombe hybrid score interval (from Wilson intervals)', g.n_b, g.n_a
	  FROM (VALUES ('agent_share', 'share', g.agent_b, g.agent_a, 0, 0),
				   ('people_share', 'share', g.people_b, g.people_a, 0, 0),
				   ('bpo_share', 'share', g.bpo_b, g.bpo_a, 0, 0),
				   ('solved_share', 'share', g.solved_b, g.solved_a, 0, 0)) v(measure, unit, s_b, s_a, skip_b, skip_a)
	 CROSS JOIN LATERAL @extschema@.proportion_diff_ci(v.s_a, GREATEST(g.n_a, 1), v.s_b, GREATEST(g.n_b, 1), %2$s) p
	UNION ALL
	SELECT v.measure, v.unit, d.median2, d.median1, d.low, d.high,
		   'difference of medians, exact distribution-free interval (order-statistic intervals of each median at sqrt(confidence), combined)',
		   d.n2, d.n1
	  FROM (VALUES ('cycle_days_median', 'days', g.cyc_b, g.cyc_a),
				   ('human_minutes_median', 'minutes', g.min_b, g.min_a)) v(measure, unit, s_b, s_a)
	 CROSS JOIN LATERAL @extschema@.median_diff_ci(v.s_a, v.s_b, %2$s) d
	UNION ALL
	SELECT 'human_minutes_mean', 'minutes', g.mean_min_b::pg_catalog.float8, g.mean_min_a::pg_catalog.float8, NULL, NULL,
		   'point estimate', pg_catalog.cardinality(g.min_b)::pg_catalog.int8, pg_catalog.cardinality(g.min_a)::pg_catalog.int8
	UNION ALL
	SELECT 'items_per_month', 'items',
		   g.n_b / NULLIF((g.cutover_on - g.first_b) / 30.4375, 0), g.n_a / NULLIF((g.last_a - g.cutover_on + 1) / 30.4375, 0),
		   NULL, NULL, 'point estimate', g.n_b, g.n_a
  ) x(measure, unit, before, after, ci_low, ci_high, method, n_before, n_after)$q$,
		src, conf, g_sql));

	q := q || jsonb_build_object('before_after_summary', format($q$
SELECT %1$s AS source, s.workflow, s.segment, s.cutover_on, s.n_b AS items_before, s.n_a AS items_after,
	   s.months_b AS months_before, s.months_a AS months_after, s.cpi_b AS cost_per_item_before, s.cpi_a AS cost_per_item_after,
	   s.avoided AS cost_avoided_per_month, s.ai_pm AS ai_spend_per_month,
	   pg_catalog.round(s.avoided - s.ai_pm, 2) AS net_saving_per_month,
	   s.rows_left_out, s.note,
	   pg_catalog.concat(s.workflow, CASE WHEN s.segment IS NOT NULL THEN pg_catalog.format(' (%%s)', s.segment) END,
		   ' since ', pg_catalog.to_char(s.cutover_on, 'YYYY-MM-DD'), ': ',
		   CASE WHEN s.n_b = 0 OR s.n_a = 0 THEN 'no items on one side of the cut-over yet'
		   ELSE pg_catalog.concat_ws(', ',
			   'agent share ' || @extschema@.records_share_words(b.agent_before, b.agent_after, b.agent_low, b.agent_high),
			   'BPO share ' || @extschema@.records_share_words(b.bpo_before, b.bpo_after, b.bpo_low, b.bpo_high),
			   'median cycle ' || @extschema@.records_median_words(b.cycle_before, b.cycle_after, b.cycle_low, b.cycle_high, 'days'),
			   'human minutes per item ' || pg_catalog.round(b.minutes_before::pg_catalog.numeric, 1) || ' -> '
				   || pg_catalog.round(b.minutes_after::pg_catalog.numeric, 1),
			   CASE WHEN s.avoided IS NULL THEN 'saving unknown (' || s.note || ')'
					WHEN s.ai_pm IS NULL THEN 'cost avoided ' || @extschema@.records_money_words(s.avoided) || ' a month; inference spend unknown (' || s.note || ')'
					WHEN s.avoided - s.ai_pm >= 0 THEN 'net saving ' || @extschema@.records_money_words(s.avoided - s.ai_pm)
						|| ' a month after ' || @extschema@.records_money_words(s.ai_pm) || ' of inference'
					ELSE 'net cost ' || @extschema@.records_money_words(s.ai_pm - s.avoided)
						|| ' a month: ' || @extschema@.records_money_words(s.ai_pm) || ' of inference against '
						|| @extschema@.records_money_words(s.avoided) || ' avoided' END)
		   END) AS sentence
  FROM (SELECT g.*, pg_catalog.round((g.cutover_on - g.first_b) / 30.4375, 3) AS months_b,
			   pg_catalog.round((g.last_a - g.cutover_on + 1) / 30.4375, 3) AS months_a,
			   pg_catalog.round(g.cost_b / NULLIF(g.cost_n_b, 0), 12) AS cpi_b,
			   pg_catalog.round(g.cost_a / NULLIF(g.cost_n_a, 0), 12) AS cpi_a,
			   pg_catalog.round((g.cost_b / NULLIF(g.cost_n_b, 0) - g.cost_a / NULLIF(g.cost_n_a, 0))
					* g.n_a / ((g.last_a - g.cutover_on + 1) / 30.4375), 2) AS avoided,
			   CASE WHEN NOT %3$s THEN
				   pg_catalog.round(g.ai_a / NULLIF(g.ai_n_a, 0) * g.n_a / ((g.last_a - g.cutover_on + 1) / 30.4375), 2) END AS ai_pm,
			   NULLIF(pg_catalog.concat_ws('; ',
				   CASE WHEN g.n_b = 0 THEN 'no items before the cut-over' END,
				   CASE WHEN g.n_a = 0 THEN 'no items after the cut-over' END,
				   CASE WHEN g.cost_unknown > 0 THEN pg_catalog.format('%%s items left out of the people and BPO cost (no human minutes, no baseline human_cost_per_hour or BPO price, or a negative figure)', g.cost_unknown) END,
				   CASE WHEN %3$s THEN 'no trace source linked for the AI spend'
						WHEN g.ai_unpriced_a > 0 THEN pg_catalog.format('%%s items after the cut-over left out of the AI spend per item (calls left out of their cost)', g.ai_unpriced_a) END), '') AS note
		  FROM (%2$s) g) s
  LEFT JOIN (SELECT b.workflow, b.segment, b.cutover_on,
					pg_catalog.max(b.before) FILTER (WHERE b.measure = 'agent_share') AS agent_before,
					pg_catalog.max(b.after) FILTER (WHERE b.measure = 'agent_share') AS agent_after,
					pg_catalog.max(b.ci_low) FILTER (WHERE b.measure = 'agent_share') AS agent_low,
					pg_catalog.max(b.ci_high) FILTER (WHERE b.measure = 'agent_share') AS agent_high,
					pg_catalog.max(b.before) FILTER (WHERE b.measure = 'bpo_share') AS bpo_before,
					pg_catalog.max(b.after) FILTER (WHERE b.measure = 'bpo_share') AS bpo_after,
					pg_catalog.max(b.ci_low) FILTER (WHERE b.measure = 'bpo_share') AS bpo_low,
					pg_catalog.max(b.ci_high) FILTER (WHERE b.measure = 'bpo_share') AS bpo_high,
					pg_catalog.max(b.before) FILTER (WHERE b.measure = 'cycle_days_median') AS cycle_before,
					pg_catalog.max(b.after) FILTER (WHERE b.measure = 'cycle_days_median') AS cycle_after,
					pg_catalog.max(b.ci_low) FILTER (WHERE b.measure = 'cycle_days_median') AS cycle_low,
					pg_catalog.max(b.ci_high) FILTER (WHERE b.measure = 'cycle_days_median') AS cycle_high,
					pg_catalog.max(b.before) FILTER (WHERE b.measure = 'human_minutes_mean') AS minutes_before,
					pg_catalog.max(b.after) FILTER (WHERE b.measure = 'human_minutes_mean') AS minutes_after
			   FROM %4$s b GROUP BY 1, 2, 3) b
	ON b.workflow = s.workflow AND b.segment IS NOT DISTINCT FROM s.segment AND b.cutover_on = s.cutover_on$q$,
		src, g_sql, CASE WHEN trace_items IS NULL THEN 'true' ELSE 'false' END, ba_view));

	-- install ------------------------------------------------------------------------
	def := md5(concat_ws(E'\x1f', 'records', records::text, target_schema, pre, q::text));
	SELECT * INTO old FROM @extschema@.attachment a WHERE a.source = attach_records.source FOR UPDATE;
	had_row := FOUND;
	IF had_row AND old.kind <> 'records' THEN
		RAISE EXCEPTION 'source "%" is already attached as a trace source', source
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Give the system of record another source name.';
	END IF;
	IF had_row AND old.definition = def THEN
		SELECT bool_and(to_regclass(v) IS NOT NULL) INTO all_there FROM unnest(old.views) v;
		IF all_there THEN
			FOR view_name IN SELECT unnest(old.views) LOOP
				action := 'unchanged';
				RETURN NEXT;
			END LOOP;
			RETURN;
		END IF;
	END IF;
	-- a changed definition: the old views go (dependents first), then all are made anew
	IF had_row THEN
		FOREACH qname IN ARRAY old.views LOOP
			PERFORM @extschema@.attach_drop_view(source, qname);
		END LOOP;
		IF (old.view_schema <> target_schema) AND old.created_schema AND NOT EXISTS (
				SELECT 1 FROM pg_depend d JOIN pg_namespace s ON s.oid = d.refobjid
				 WHERE d.refclassid = 'pg_namespace'::regclass AND s.nspname = old.view_schema) THEN
			EXECUTE format('DROP SCHEMA IF EXISTS %I', old.view_schema);
		END IF;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_namespace s WHERE s.nspname = target_schema) THEN
		EXECUTE format('CREATE SCHEMA %I', target_schema);
		created := true;
	ELSIF had_row AND old.view_schema = target_schema THEN
		created := old.created_schema;
	END IF;
	FOREACH n IN ARRAY names LOOP
		qname := format('%I.%I', target_schema, pre || n);
		IF to_regclass(qname) IS NOT NULL THEN
			RAISE EXCEPTION 'relation % already exists', qname
				USING ERRCODE = 'duplicate_table',
					  DETAIL = format('Attaching source "%s" would create view %s.', source, qname),
					  HINT = 'Attach into another schema, or give a prefix for the view names.';
		END IF;
		EXECUTE format('CREATE VIEW %s WITH (security_invoker = true) AS %s', qname, q ->> n);
		ckey := CASE WHEN n LIKE 'operating%' THEN 'operating' ELSE n END;
		EXECUTE format('COMMENT ON VIEW %s IS %L', qname, format('tokacct, system of record %s: %s', source,
			format(comments -> ckey ->> '', CASE n WHEN 'operating_weekly' THEN 'week' ELSE 'month' END)));
		FOR c IN SELECT a.attname FROM pg_attribute a
				  WHERE a.attrelid = qname::regclass AND a.attnum > 0 AND NOT a.attisdropped LOOP
			EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', qname, c.attname, comments -> ckey ->> c.attname);
		END LOOP;
		made := qname || made;	-- dependents first: the order detach drops them in
		view_name := qname;
		action := CASE WHEN had_row THEN 'replaced' ELSE 'created' END;
		RETURN NEXT;
	END LOOP;
	INSERT INTO @extschema@.attachment AS a (source, kind, relations, view_schema, view_prefix, options,
		views, definition, created_schema)
	VALUES (source, 'records', CASE WHEN trace_items IS NULL THEN ARRAY[records] ELSE ARRAY[records, trace_items] END,
		target_schema, pre, jsonb_build_object('mapping', mapping, 'options', options), made, def, created)
	ON CONFLICT ON CONSTRAINT attachment_pkey DO UPDATE
	   SET kind = excluded.kind, relations = excluded.relations, view_schema = excluded.view_schema,
		   view_prefix = excluded.view_prefix, options = excluded.options, views = excluded.views,
		   definition = excluded.definition, created_schema = excluded.created_schema,
		   attached_at = now(), attached_by = CURRENT_USER;
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_records(pg_catalog.text, pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.name, pg_catalog.text, pg_catalog.jsonb) IS
	'attach a system of record (one row per item: item, workflow, opened_at, handler required; resolved_at, human_minutes, bpo_charge, segment, outcome) by a mapping to columns, jsonb paths or constants: creates the views records, record_problems, operating_weekly, operating_monthly, before_after and before_after_summary; detach() drops them';
