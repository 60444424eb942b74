-- tokacct 0.1.0 -> 0.2.0 (ALTER EXTENSION tokacct UPDATE).
-- Every reference is schema-qualified, as in the install script.

\echo Use "ALTER EXTENSION tokacct UPDATE TO '0.2.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Reading a caller-named relation goes through one guard (a relation's owner
-- could otherwise run code with the caller's rights).
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.source_check(source pg_catalog.regclass, columns pg_catalog.text[],
	kinds pg_catalog.text[])
	RETURNS pg_catalog.void
	LANGUAGE c STABLE PARALLEL RESTRICTED
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'source_check';
COMMENT ON FUNCTION @extschema@.source_check(pg_catalog.regclass, pg_catalog.text[], pg_catalog.text[]) IS
	'lock a table or view and check that reading these columns (kinds string, id, integer, money, time, bool, jsonb) runs no code of a role without your privileges; an error names the column or object otherwise';

CREATE FUNCTION @extschema@.source_query(source pg_catalog.regclass, columns pg_catalog.text[],
	kinds pg_catalog.text[], query pg_catalog.text)
	RETURNS SETOF pg_catalog.record
	LANGUAGE c STABLE PARALLEL RESTRICTED
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'source_query';
COMMENT ON FUNCTION @extschema@.source_query(pg_catalog.regclass, pg_catalog.text[], pg_catalog.text[], pg_catalog.text) IS
	'source_check, then run one SELECT that reads the relation, once its rewritten form is checked to call only built-in, tokacct or your own trusted code; returns its rows (give a column definition list)';

CREATE OR REPLACE FUNCTION @extschema@.unpriced_models(calls_table pg_catalog.regclass,
	provider_column pg_catalog.name DEFAULT 'provider', model_column pg_catalog.name DEFAULT 'model')
	RETURNS TABLE (provider pg_catalog.text, model pg_catalog.text, calls pg_catalog.int8)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	-- through the guard: the columns must be strings of built-in types, and
	-- nothing of the table's owner may run with the caller's privileges
	RETURN QUERY SELECT * FROM @extschema@.source_query(calls_table,
		ARRAY[provider_column, model_column]::pg_catalog.text[], ARRAY['string', 'string'],
		pg_catalog.format(
		'SELECT t.%1$I::pg_catalog.text, t.%2$I::pg_catalog.text, pg_catalog.count(*)
		   FROM %3$s t
		  WHERE @extschema@.price_model_for(t.%1$I::pg_catalog.text, t.%2$I::pg_catalog.text) IS NULL
		  GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2',
		provider_column, model_column, calls_table))
		AS q(provider pg_catalog.text, model pg_catalog.text, calls pg_catalog.int8);
END
$fn$;

CREATE OR REPLACE FUNCTION @extschema@.waste_by_trace(source pg_catalog.regclass,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3)
	RETURNS TABLE (workflow pg_catalog.text, trace_id pg_catalog.text, cost_rule pg_catalog.text,
		spans pg_catalog.int8, total pg_catalog.numeric, essential pg_catalog.numeric,
		error_call pg_catalog.numeric, failed_attempt pg_catalog.numeric,
		abandoned_branch pg_catalog.numeric, stuck_loop pg_catalog.numeric,
		duplicate_tool_call pg_catalog.numeric, waste pg_catalog.numeric)
	LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
	SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	attempt_col pg_catalog.text := '';
	columns pg_catalog.text[] := ARRAY['workflow', 'trace_id', 'span_id', 'parent_id', 'kind', 'name',
		'args_hash', 'status', 'cost', 'started_at'];
	kinds pg_catalog.text[] := ARRAY['id', 'id', 'id', 'id', 'string', 'string',
		'id', 'string', 'money', 'time'];
BEGIN
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
				WHERE a.attrelid = source AND a.attname = 'attempt'
				  AND a.attnum > 0 AND NOT a.attisdropped) THEN
		attempt_col := ', t.attempt::pg_catalog.int4';
		columns := pg_catalog.array_append(columns, 'attempt');
		kinds := pg_catalog.array_append(kinds, 'integer');
	END IF;
	-- through the guard: every column of a built-in type of its kind, and
	-- nothing of the table's owner may run with the caller's privileges
	RETURN QUERY SELECT * FROM @extschema@.source_query(source, columns, kinds, pg_catalog.format(
		'SELECT q.workflow, q.trace_id, s.cost_rule, s.spans, s.total, s.essential,
				s.error_call, s.failed_attempt, s.abandoned_branch, s.stuck_loop,
				s.duplicate_tool_call, s.waste
		   FROM (SELECT t.workflow::pg_catalog.text AS workflow,
						t.trace_id::pg_catalog.text AS trace_id,
						@extschema@.waste_agg(t.span_id::pg_catalog.text, t.parent_id::pg_catalog.text,
							t.kind::pg_catalog.text, t.name::pg_catalog.text,
							t.args_hash::pg_catalog.text, t.status::pg_catalog.text,
							t.cost::pg_catalog.numeric, t.started_at::pg_catalog.timestamptz%s) AS st
				   FROM %s t
				  GROUP BY 1, 2) q
		  CROSS JOIN LATERAL @extschema@.waste_summary(q.st, %L, %L) s
		  ORDER BY 1, 2', attempt_col, source, rule, loop_min))
		AS q(workflow pg_catalog.text, trace_id pg_catalog.text, cost_rule pg_catalog.text,
			 spans pg_catalog.int8, total pg_catalog.numeric, essential pg_catalog.numeric,
			 error_call pg_catalog.numeric, failed_attempt pg_catalog.numeric,
			 abandoned_branch pg_catalog.numeric, stuck_loop pg_catalog.numeric,
			 duplicate_tool_call pg_catalog.numeric, waste pg_catalog.numeric);
END
$fn$;

-- they read a table of the caller's (possibly a temporary one) through the guard
ALTER FUNCTION @extschema@.waste_by_workflow(pg_catalog.regclass, pg_catalog.text, pg_catalog.int4) PARALLEL RESTRICTED;
