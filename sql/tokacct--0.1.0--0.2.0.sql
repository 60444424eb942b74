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

-- ---------------------------------------------------------------------------
-- Pricing: one case-folding rule for names, loaders that never read a JSON
-- null as a price, a ledger whose views answer for every row.
-- ---------------------------------------------------------------------------

-- 13. One case-folding rule for provider and model names.

CREATE FUNCTION @extschema@.fold_name(name pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_fold_name';

COMMENT ON FUNCTION @extschema@.fold_name(pg_catalog.text) IS
	'a provider or model name as the price catalog compares it: ASCII letters A-Z lower-cased, every other character kept as is (É, Ä, the Turkish İ and ı compare exactly); independent of the locale';

-- rows that satisfied provider = lower(provider) have no ASCII capital,
-- so they satisfy the new check: added valid
ALTER TABLE @extschema@.price_provider
	DROP CONSTRAINT price_provider_provider_check,
	ADD CONSTRAINT price_provider_provider_check CHECK (provider OPERATOR(pg_catalog.=) @extschema@.fold_name(provider));

COMMENT ON COLUMN @extschema@.price_provider.provider IS 'provider id, without ASCII capitals (openai, anthropic, aws...): a call''s provider name is folded by fold_name() and compared exactly';

COMMENT ON COLUMN @extschema@.price_model.match IS 'match rule: {"equals"|"starts_with"|"ends_with"|"contains": text} (both sides folded by fold_name(): ASCII case-insensitive), {"regex": text} (on the folded name), {"or"|"and": [rules]}';

-- a discount naming a provider with a capital never applied: refused from
-- now on, old rows are validated below (a warning names them if any)
ALTER TABLE @extschema@.price_discount
	ADD CONSTRAINT price_discount_provider_folded CHECK (provider OPERATOR(pg_catalog.=) @extschema@.fold_name(provider)) NOT VALID;

COMMENT ON COLUMN @extschema@.price_discount.provider IS 'provider id it applies to, as in price_provider (no ASCII capitals); NULL: every provider';


-- 11 and 13. The loaders (same signatures, new bodies).

CREATE OR REPLACE FUNCTION @extschema@.price_put_model_prices(p_catalog pg_catalog.text, p_provider pg_catalog.text,
	p_model pg_catalog.text, variants pg_catalog.jsonb, p_in_force_from pg_catalog.timestamptz, what pg_catalog.text)
	RETURNS pg_catalog.bool
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	latest timestamptz;
	old jsonb;
	start_at timestamptz;
	v jsonb;
	vi int := 0;
	c jsonb;
	sd date;
	ts time;
	te time;
	k text;
	pv jsonb;
	cols numeric[];
	kinds text[] := ARRAY['input', 'cache_read', 'cache_write', 'output', 'reasoning', 'input_audio',
		'cache_audio_read', 'output_audio', 'input_image', 'output_image', 'input_video', 'output_video'];
	ki int;
	fee numeric;
	new_id bigint;
	t jsonb;
	ti int;
	prev_start numeric;
	tstart numeric;
	vwhat text;
	ck text;
BEGIN
	SELECT max(p.in_force_from) INTO latest FROM @extschema@.price p
	 WHERE p.catalog = p_catalog AND p.provider = p_provider AND p.model = p_model AND p.customer IS NULL;
	IF latest IS NOT NULL THEN
		SELECT jsonb_agg(p.source ORDER BY p.variant) INTO old FROM @extschema@.price p
		 WHERE p.catalog = p_catalog AND p.provider = p_provider AND p.model = p_model
		   AND p.customer IS NULL AND p.in_force_from = latest;
		IF old = variants THEN
			RETURN false;
		END IF;
		IF p_in_force_from IS NULL OR p_in_force_from <= latest THEN
			RAISE EXCEPTION 'prices of % changed but in_force_from % is not after the current set (in force from %)',
				what, p_in_force_from, latest
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Pass the time the new prices take effect as in_force_from.';
		END IF;
		start_at := p_in_force_from;
	ELSE
		start_at := '-infinity';
	END IF;

	FOR v IN SELECT value FROM jsonb_array_elements(variants) LOOP
		vwhat := CASE WHEN jsonb_array_length(variants) > 1 THEN format('%s prices[%s]', what, vi) ELSE what END;
		c := v -> 'constraint';
		sd := NULL; ts := NULL; te := NULL;
		-- a null or empty constraint is refused: read as "no constraint", it
		-- would make this price set apply always
		IF c IS NOT NULL THEN
			IF jsonb_typeof(c) <> 'object' OR c = '{}' THEN
				RAISE EXCEPTION 'malformed constraint in %', vwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('Got %s; expected {"start_date": "YYYY-MM-DD"} or {"start_time": "HH:MM:SSZ", "end_time": "HH:MM:SSZ"}.', c::text),
					HINT = 'Leave the constraint out for a price that always applies.';
			END IF;
			FOR k IN SELECT jsonb_object_keys(c) LOOP
				IF k NOT IN ('start_date', 'start_time', 'end_time') THEN
					RAISE EXCEPTION 'malformed constraint in %', vwhat USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('Unknown constraint "%s"; expected start_date, or start_time and end_time.', k);
				END IF;
			END LOOP;
			-- ck: the key being read, for the error
			BEGIN
				IF c ? 'start_date' THEN
					ck := 'start_date';
					IF jsonb_typeof(c -> 'start_date') <> 'string' OR (c ->> 'start_date') !~ '^\d{4}-\d{2}-\d{2}$' THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
					sd := (c ->> 'start_date')::date;
				END IF;
				IF c ? 'start_time' OR c ? 'end_time' THEN
					ck := 'start_time';
					IF jsonb_typeof(c -> 'start_time') IS DISTINCT FROM 'string'
					   OR (c ->> 'start_time') !~ '^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00(:?00)?)?$' THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
					ts := regexp_replace(c ->> 'start_time', '(Z|\+00(:?00)?)$', '')::time;
					ck := 'end_time';
					IF jsonb_typeof(c -> 'end_time') IS DISTINCT FROM 'string'
					   OR (c ->> 'end_time') !~ '^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00(:?00)?)?$' THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
					te := regexp_replace(c ->> 'end_time', '(Z|\+00(:?00)?)$', '')::time;
					ck := 'start_time and end_time';
					IF ts = te THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
				END IF;
			EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
				RAISE EXCEPTION 'malformed constraint % in %', ck, vwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('Got %s; expected {"start_date": "YYYY-MM-DD"} or {"start_time": "HH:MM:SSZ", "end_time": "HH:MM:SSZ"} (UTC, start <> end).', c::text);
			END;
		END IF;

		cols := array_fill(NULL::numeric, ARRAY[12]);
		IF jsonb_typeof(v -> 'prices') IS DISTINCT FROM 'object' THEN
			RAISE EXCEPTION 'malformed prices in %', vwhat USING ERRCODE = 'invalid_parameter_value',
				DETAIL = format('Expected an object of prices, got %s.', coalesce((v -> 'prices')::text, 'nothing'));
		END IF;
		FOR k, pv IN SELECT key, value FROM jsonb_each(v -> 'prices') LOOP
			ki := array_position(kinds, k);
			IF ki IS NULL THEN
				RAISE EXCEPTION 'unknown price kind "%" in %', k, vwhat USING ERRCODE = 'invalid_parameter_value';
			END IF;
			IF jsonb_typeof(pv) = 'object' THEN
				IF (SELECT count(*) FROM jsonb_object_keys(pv) x WHERE x NOT IN ('base', 'tiers')) > 0
				   OR jsonb_typeof(pv -> 'tiers') IS DISTINCT FROM 'array' THEN
					RAISE EXCEPTION 'malformed tiered price % in %', k, vwhat USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('Expected {"base": number, "tiers": [{"start": integer, "price": number}, ...]}, got %s.', pv::text);
				END IF;
				IF pv ? 'base' THEN
					cols[ki] := @extschema@.price_check_mtok(pv -> 'base', format('%s %s base', vwhat, k));
				END IF;
			ELSE
				cols[ki] := @extschema@.price_check_mtok(pv, format('%s %s', vwhat, k));
			END IF;
		END LOOP;
		fee := NULL;
		IF v ? 'request_fee' AND jsonb_typeof(v -> 'request_fee') <> 'null' THEN
			IF jsonb_typeof(v -> 'request_fee') <> 'number'
			   OR (v ->> 'request_fee')::numeric < 0
			   OR (v ->> 'request_fee')::numeric * 1000000000000 <> trunc((v ->> 'request_fee')::numeric * 1000000000000)
			   OR (v ->> 'request_fee')::numeric >= 9223372 THEN
				RAISE EXCEPTION 'malformed request fee in %', vwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('A fee is a non-negative number with at most 12 decimals, got %s.', (v -> 'request_fee')::text);
			END IF;
			fee := (v ->> 'request_fee')::numeric;
		END IF;

		INSERT INTO @extschema@.price (catalog, provider, model, customer, in_force_from, variant, start_date,
			tod_start, tod_end, input_mtok, cache_read_mtok, cache_write_mtok, output_mtok, reasoning_mtok,
			input_audio_mtok, cache_audio_read_mtok, output_audio_mtok, input_image_mtok, output_image_mtok,
			input_video_mtok, output_video_mtok, request_fee, source)
		VALUES (p_catalog, p_provider, p_model, NULL, start_at, vi, sd, ts, te, cols[1], cols[2], cols[3], cols[4],
			cols[5], cols[6], cols[7], cols[8], cols[9], cols[10], cols[11], cols[12], fee, v)
		RETURNING price_id INTO new_id;

		FOR k, pv IN SELECT key, value FROM jsonb_each(v -> 'prices') WHERE jsonb_typeof(value) = 'object' LOOP
			ti := 0;
			prev_start := -1;
			FOR t IN SELECT value FROM jsonb_array_elements(pv -> 'tiers') LOOP
				IF jsonb_typeof(t) <> 'object' OR jsonb_typeof(t -> 'start') IS DISTINCT FROM 'number'
				   OR (SELECT count(*) FROM jsonb_object_keys(t) x WHERE x NOT IN ('start', 'price')) > 0 THEN
					RAISE EXCEPTION 'malformed tier in % % tiers[%]', vwhat, k, ti USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('Expected {"start": integer, "price": number}, got %s.', t::text);
				END IF;
				tstart := (t ->> 'start')::numeric;
				IF tstart < 0 OR tstart <> trunc(tstart) OR tstart > 9223372036854775807 OR tstart <= prev_start THEN
					RAISE EXCEPTION 'malformed tier in % % tiers[%]', vwhat, k, ti USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('A tier start is a whole number of tokens, above the previous tier''s, got %s.', t ->> 'start');
				END IF;
				INSERT INTO @extschema@.price_tier (price_id, kind, threshold, mtok)
				VALUES (new_id, k, tstart::int8,
						@extschema@.price_check_mtok(t -> 'price', format('%s %s tiers[%s] price', vwhat, k, ti)));
				prev_start := tstart;
				ti := ti + 1;
			END LOOP;
		END LOOP;
		vi := vi + 1;
	END LOOP;
	RETURN true;
END
$fn$;

CREATE OR REPLACE FUNCTION @extschema@.load_prices_genai(data pg_catalog.jsonb,
	in_force_from pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS TABLE (providers pg_catalog.int4, models pg_catalog.int4, price_sets_added pg_catalog.int4,
		prices_rounded pg_catalog.int4)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	nrounded int := 0;
	p jsonb;
	m jsonb;
	pi int := 0;
	mi int;
	pid text;
	mid text;
	pwhat text;
	mwhat text;
	vwhat text;
	vi int;
	fb text[];
	pr jsonb;
	variants jsonb;
	v jsonb;
	norm jsonb;
	k text;
	pv jsonb;
	fee jsonb;
	keymap jsonb := '{"input_mtok": "input", "cache_read_mtok": "cache_read", "cache_write_mtok": "cache_write",
		"output_mtok": "output", "input_audio_mtok": "input_audio", "cache_audio_read_mtok": "cache_audio_read",
		"output_audio_mtok": "output_audio"}';
	nprov int := 0;
	nmod int := 0;
	nsets int := 0;
BEGIN
	IF data IS NULL OR jsonb_typeof(data) <> 'array' THEN
		RAISE EXCEPTION 'genai-prices data must be a JSON array of providers'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got a JSON %s.', coalesce(jsonb_typeof(data), 'null'));
	END IF;
	FOR p IN SELECT value FROM jsonb_array_elements(data) LOOP
		pwhat := format('genai-prices providers[%s]', pi);
		IF jsonb_typeof(p) <> 'object' OR jsonb_typeof(p -> 'id') IS DISTINCT FROM 'string' OR (p ->> 'id') = '' THEN
			RAISE EXCEPTION 'malformed provider in %', pwhat USING ERRCODE = 'invalid_parameter_value',
				DETAIL = 'A provider is an object with a string "id" and a "models" array.';
		END IF;
		pid := p ->> 'id';
		pwhat := format('genai-prices provider "%s"', pid);
		IF pid <> @extschema@.fold_name(pid) THEN
			RAISE EXCEPTION 'malformed provider id in %', pwhat USING ERRCODE = 'invalid_parameter_value',
				DETAIL = 'Provider ids have no capital letters A-Z (names are compared with ASCII letters folded: see fold_name()).';
		END IF;
		IF jsonb_typeof(p -> 'name') NOT IN ('string', 'null') THEN
			RAISE EXCEPTION 'malformed name in %', pwhat USING ERRCODE = 'invalid_parameter_value',
				DETAIL = format('A display name is a string, got %s.', (p -> 'name')::text);
		END IF;
		IF jsonb_typeof(p -> 'models') IS DISTINCT FROM 'array' THEN
			RAISE EXCEPTION 'malformed provider in %', pwhat USING ERRCODE = 'invalid_parameter_value',
				DETAIL = '"models" must be an array.';
		END IF;
		IF p ? 'provider_match' THEN
			PERFORM @extschema@.price_check_match(p -> 'provider_match', pwhat || ' provider_match');
		END IF;
		IF p ? 'model_match' THEN
			PERFORM @extschema@.price_check_match(p -> 'model_match', pwhat || ' model_match');
		END IF;
		fb := '{}';
		IF p ? 'fallback_model_providers' THEN
			IF jsonb_typeof(p -> 'fallback_model_providers') <> 'array'
			   OR EXISTS (SELECT FROM jsonb_array_elements(p -> 'fallback_model_providers') e
						  WHERE jsonb_typeof(e) <> 'string' OR (e #>> '{}') <> @extschema@.fold_name(e #>> '{}')) THEN
				RAISE EXCEPTION 'malformed fallback_model_providers in %', pwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('Expected an array of provider ids (strings without capital letters A-Z), got %s.',
									(p -> 'fallback_model_providers')::text);
			END IF;
			fb := ARRAY(SELECT jsonb_array_elements_text(p -> 'fallback_model_providers'));
		END IF;

		INSERT INTO @extschema@.price_provider AS t (catalog, provider, ordinal, name, provider_match, model_match, fallback_providers)
		VALUES ('genai-prices', pid, pi, p ->> 'name', p -> 'provider_match', p -> 'model_match', fb)
		ON CONFLICT (catalog, provider) DO UPDATE
			SET ordinal = excluded.ordinal, name = excluded.name, provider_match = excluded.provider_match,
				model_match = excluded.model_match, fallback_providers = excluded.fallback_providers
			WHERE (t.ordinal, t.name, t.provider_match, t.model_match, t.fallback_providers)
				  IS DISTINCT FROM (excluded.ordinal, excluded.name, excluded.provider_match, excluded.model_match, excluded.fallback_providers);
		nprov := nprov + 1;

		mi := 0;
		FOR m IN SELECT value FROM jsonb_array_elements(p -> 'models') LOOP
			mwhat := format('%s models[%s]', pwhat, mi);
			IF jsonb_typeof(m) <> 'object' OR jsonb_typeof(m -> 'id') IS DISTINCT FROM 'string' OR (m ->> 'id') = '' THEN
				RAISE EXCEPTION 'malformed model in %', mwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = 'A model is an object with a string "id", a "match" rule and "prices".';
			END IF;
			mid := m ->> 'id';
			mwhat := format('%s model "%s"', pwhat, mid);
			PERFORM @extschema@.price_check_match(m -> 'match', mwhat || ' match');
			IF jsonb_typeof(m -> 'name') NOT IN ('string', 'null') THEN
				RAISE EXCEPTION 'malformed name in %', mwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('A display name is a string, got %s.', (m -> 'name')::text);
			END IF;
			-- descriptive, not a price: null is "not published"
			IF m ? 'context_window' AND jsonb_typeof(m -> 'context_window') <> 'null'
			   AND (jsonb_typeof(m -> 'context_window') <> 'number' OR (m ->> 'context_window')::numeric < 0
					OR (m ->> 'context_window')::numeric <> trunc((m ->> 'context_window')::numeric)
					OR (m ->> 'context_window')::numeric > 9223372036854775807) THEN
				RAISE EXCEPTION 'malformed context_window in %', mwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('A context window is a whole, non-negative JSON number of tokens, got %s.', (m -> 'context_window')::text);
			END IF;
			pr := m -> 'prices';
			IF jsonb_typeof(pr) = 'object' THEN
				variants := jsonb_build_array(jsonb_build_object('prices', pr));
			ELSIF jsonb_typeof(pr) = 'array' AND jsonb_array_length(pr) > 0 THEN
				variants := pr;
			ELSE
				RAISE EXCEPTION 'malformed prices in %', mwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = 'Expected a price object or a non-empty array of conditional prices.';
			END IF;

			-- normalise: genai key names -> tokacct price kinds
			norm := '[]';
			vi := 0;
			FOR v IN SELECT value FROM jsonb_array_elements(variants) LOOP
				vwhat := CASE WHEN jsonb_array_length(variants) > 1 THEN format('%s prices[%s]', mwhat, vi) ELSE mwhat END;
				vi := vi + 1;
				IF jsonb_typeof(v) <> 'object' OR jsonb_typeof(v -> 'prices') IS DISTINCT FROM 'object'
				   OR EXISTS (SELECT FROM jsonb_object_keys(v) x WHERE x NOT IN ('constraint', 'prices')) THEN
					RAISE EXCEPTION 'malformed conditional price in %', vwhat USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('Expected {"constraint": {...}, "prices": {...}}, got %s.', v::text);
				END IF;
				pv := '{}';
				fee := NULL;
				FOR k IN SELECT jsonb_object_keys(v -> 'prices') LOOP
					IF k = 'requests_kcount' THEN
						IF jsonb_typeof(v -> 'prices' -> k) <> 'number' THEN
							RAISE EXCEPTION 'malformed price in % requests_kcount', vwhat USING ERRCODE = 'invalid_parameter_value',
								DETAIL = format('A price is a JSON number, got %s.', (v -> 'prices' -> k)::text);
						END IF;
						fee := to_jsonb((v -> 'prices' ->> k)::numeric / 1000);
					ELSIF keymap ? k THEN
						-- a null price is not "no price" (which costs nothing)
						IF jsonb_typeof(v -> 'prices' -> k) = 'null' THEN
							RAISE EXCEPTION 'malformed price in % %', vwhat, k USING ERRCODE = 'invalid_parameter_value',
								DETAIL = 'A price is a JSON number or a tiered price, got null.',
								HINT = 'Leave the key out when the source publishes no such price.';
						END IF;
						pv := pv || jsonb_build_object(keymap ->> k, v -> 'prices' -> k);
					ELSE
						RAISE EXCEPTION 'unknown price key "%" in %', k, vwhat USING ERRCODE = 'invalid_parameter_value',
							HINT = 'Known keys: input_mtok, cache_read_mtok, cache_write_mtok, output_mtok, input_audio_mtok, cache_audio_read_mtok, output_audio_mtok, requests_kcount.';
					END IF;
				END LOOP;
				-- the JSON nulls of the entry are kept (and refused): only the
				-- keys it does not have are left out
				norm := norm || jsonb_build_array(jsonb_build_object('prices', pv)
					|| CASE WHEN v ? 'constraint' THEN jsonb_build_object('constraint', v -> 'constraint') ELSE '{}' END
					|| CASE WHEN fee IS NOT NULL THEN jsonb_build_object('request_fee', fee) ELSE '{}' END);
			END LOOP;

			INSERT INTO @extschema@.price_model AS t (catalog, provider, model, ordinal, name, match, context_window)
			VALUES ('genai-prices', pid, mid, mi, m ->> 'name', m -> 'match', (m ->> 'context_window')::int8)
			ON CONFLICT (catalog, provider, model) DO UPDATE
				SET ordinal = excluded.ordinal, name = excluded.name, match = excluded.match,
					context_window = excluded.context_window
				WHERE (t.ordinal, t.name, t.match, t.context_window)
					  IS DISTINCT FROM (excluded.ordinal, excluded.name, excluded.match, excluded.context_window);
			IF @extschema@.price_put_model_prices('genai-prices', pid, mid, norm, in_force_from, mwhat) THEN
				nsets := nsets + 1;
			END IF;
			nrounded := nrounded + @extschema@.price_count_rounded(norm);
			nmod := nmod + 1;
			mi := mi + 1;
		END LOOP;
		pi := pi + 1;
	END LOOP;
	RETURN QUERY SELECT nprov, nmod, nsets, nrounded;
END
$fn$;

CREATE OR REPLACE FUNCTION @extschema@.load_prices_litellm(data pg_catalog.jsonb,
	in_force_from pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS TABLE (providers pg_catalog.int4, models pg_catalog.int4, price_sets_added pg_catalog.int4,
		prices_rounded pg_catalog.int4, entries_skipped pg_catalog.int4)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	fields jsonb := '{"input_cost_per_token": "input", "output_cost_per_token": "output",
		"cache_read_input_token_cost": "cache_read", "cache_creation_input_token_cost": "cache_write",
		"output_cost_per_reasoning_token": "reasoning", "input_cost_per_audio_token": "input_audio",
		"cache_read_input_audio_token_cost": "cache_audio_read", "output_cost_per_audio_token": "output_audio",
		"input_cost_per_image_token": "input_image", "output_cost_per_image_token": "output_image",
		"input_cost_per_video_token": "input_video", "output_cost_per_video_token": "output_video"}';
	k text;
	v jsonb;
	what text;
	prov text;
	f text;
	fv jsonb;
	kind text;
	base jsonb;
	tiers jsonb;
	prices jsonb;
	m text[];
	t jsonb;
	ti int;
	lo numeric;
	fee jsonb;
	variants jsonb;
	stripped text;
	nmod int := 0;
	nsets int := 0;
	nrounded int := 0;
	nskipped int := 0;
	provs text[] := '{}';
BEGIN
	IF data IS NULL OR jsonb_typeof(data) <> 'object' THEN
		RAISE EXCEPTION 'LiteLLM data must be a JSON object of models'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got a JSON %s.', coalesce(jsonb_typeof(data), 'null'));
	END IF;
	FOR k, v IN SELECT e.key, e.value FROM jsonb_each(data) e ORDER BY e.key LOOP
		-- documentation and metadata entries, not models
		IF k IN ('sample_spec', 'last_updated', 'fallback_generalizations') THEN
			CONTINUE;
		END IF;
		what := format('LiteLLM entry "%s"', k);
		IF jsonb_typeof(v) <> 'object' THEN
			RAISE EXCEPTION 'malformed %', what USING ERRCODE = 'invalid_parameter_value',
				DETAIL = format('A model entry is an object, got a JSON %s.', jsonb_typeof(v));
		END IF;
		IF jsonb_typeof(v -> 'litellm_provider') IS DISTINCT FROM 'string' OR (v ->> 'litellm_provider') = '' THEN
			RAISE EXCEPTION 'malformed %', what USING ERRCODE = 'invalid_parameter_value',
				DETAIL = 'A model entry names its provider in "litellm_provider".';
		END IF;
		prov := @extschema@.fold_name(v ->> 'litellm_provider');

		-- base prices: per token in the file, per million tokens here.  A
		-- key left out is no price; a null is refused (taken as no price, it
		-- would make these tokens cost nothing).
		base := '{}';
		FOR f, kind IN SELECT x.key, x.value #>> '{}' FROM jsonb_each(fields) x LOOP
			fv := v -> f;
			IF fv IS NULL THEN
				CONTINUE;
			END IF;
			IF jsonb_typeof(fv) <> 'number' OR (fv #>> '{}')::numeric < 0 THEN
				RAISE EXCEPTION 'malformed price in % %', what, f USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('A price is a non-negative JSON number, got %s.', fv::text);
			END IF;
			base := base || jsonb_build_object(kind, (fv #>> '{}')::numeric * 1000000);
		END LOOP;
		-- DeepSeek-style cache hits are cache reads
		IF v ? 'input_cost_per_token_cache_hit' THEN
			fv := v -> 'input_cost_per_token_cache_hit';
			IF jsonb_typeof(fv) <> 'number' OR (fv #>> '{}')::numeric < 0 THEN
				RAISE EXCEPTION 'malformed price in % input_cost_per_token_cache_hit', what USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('A price is a non-negative JSON number, got %s.', fv::text);
			END IF;
			IF NOT base ? 'cache_read' THEN
				base := base || jsonb_build_object('cache_read', (fv #>> '{}')::numeric * 1000000);
			END IF;
		END IF;

		-- context tiers: <field>_above_<N>k_tokens, and tiered_pricing ranges
		tiers := '{}';
		FOR f, fv IN SELECT x.key, x.value FROM jsonb_each(v) x WHERE x.key ~ '_above_\d+k_tokens$' LOOP
			m := regexp_match(f, '^(.*)_above_(\d+)k_tokens$');
			IF NOT fields ? m[1] THEN
				CONTINUE;		-- service tiers and per-second prices are not priced
			END IF;
			IF jsonb_typeof(fv) <> 'number' OR (fv #>> '{}')::numeric < 0 THEN
				RAISE EXCEPTION 'malformed price in % %', what, f USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('A price is a non-negative JSON number, got %s.', fv::text);
			END IF;
			kind := fields ->> m[1];
			tiers := jsonb_set(tiers, ARRAY[kind], coalesce(tiers -> kind, '{}')
				|| jsonb_build_object((m[2]::numeric * 1000)::text, (fv #>> '{}')::numeric * 1000000));
		END LOOP;
		IF v ? 'tiered_pricing' THEN
			IF jsonb_typeof(v -> 'tiered_pricing') <> 'array' THEN
				RAISE EXCEPTION 'malformed tiered_pricing in %', what USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('Expected an array of {"range": [from, to], "<field>": price, ...}, got %s.', (v -> 'tiered_pricing')::text);
			END IF;
			ti := 0;
			FOR t IN SELECT value FROM jsonb_array_elements(v -> 'tiered_pricing') LOOP
				-- tiers over something other than input tokens (search results)
				IF jsonb_typeof(t) = 'object' AND NOT t ? 'range'
				   AND NOT EXISTS (SELECT FROM jsonb_object_keys(t) x WHERE fields ? x) THEN
					ti := ti + 1;
					CONTINUE;
				END IF;
				IF jsonb_typeof(t) <> 'object' OR jsonb_typeof(t -> 'range') IS DISTINCT FROM 'array'
				   OR jsonb_typeof(t -> 'range' -> 0) IS DISTINCT FROM 'number'
				   OR (t -> 'range' ->> 0)::numeric < 0
				   OR (t -> 'range' ->> 0)::numeric <> trunc((t -> 'range' ->> 0)::numeric) THEN
					RAISE EXCEPTION 'malformed tiered_pricing[%] in %', ti, what USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('Expected {"range": [from, to], ...} with a whole, non-negative "from", got %s.', t::text);
				END IF;
				lo := (t -> 'range' ->> 0)::numeric;
				FOR f, fv IN SELECT x.key, x.value FROM jsonb_each(t) x WHERE fields ? x.key LOOP
					IF jsonb_typeof(fv) <> 'number' OR (fv #>> '{}')::numeric < 0 THEN
						RAISE EXCEPTION 'malformed price in % tiered_pricing[%] %', what, ti, f USING ERRCODE = 'invalid_parameter_value',
							DETAIL = format('A price is a non-negative JSON number, got %s.', fv::text);
					END IF;
					kind := fields ->> f;
					IF lo = 0 THEN
						IF NOT base ? kind THEN
							base := base || jsonb_build_object(kind, (fv #>> '{}')::numeric * 1000000);
						END IF;
					ELSE
						tiers := jsonb_set(tiers, ARRAY[kind], coalesce(tiers -> kind, '{}')
							|| jsonb_build_object(trunc(lo)::text, (fv #>> '{}')::numeric * 1000000));
					END IF;
				END LOOP;
				ti := ti + 1;
			END LOOP;
		END IF;

		prices := '{}';
		FOR kind IN SELECT x FROM jsonb_object_keys(base || tiers) x LOOP
			IF tiers ? kind THEN
				prices := prices || jsonb_build_object(kind, jsonb_strip_nulls(jsonb_build_object(
					'base', base -> kind,
					'tiers', (SELECT jsonb_agg(jsonb_build_object('start', s.key::numeric, 'price', s.value)
											   ORDER BY s.key::numeric)
								FROM jsonb_each(tiers -> kind) s))));
			ELSE
				prices := prices || jsonb_build_object(kind, base -> kind);
			END IF;
		END LOOP;
		fee := NULL;
		IF v ? 'input_cost_per_request' THEN
			fv := v -> 'input_cost_per_request';
			IF jsonb_typeof(fv) <> 'number' OR (fv #>> '{}')::numeric < 0 THEN
				RAISE EXCEPTION 'malformed price in % input_cost_per_request', what USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('A price is a non-negative JSON number, got %s.', fv::text);
			END IF;
			fee := to_jsonb(round((fv #>> '{}')::numeric, 12));
		END IF;
		IF prices = '{}' AND fee IS NULL THEN
			-- priced per image, second, character or query only: unpriced here
			nskipped := nskipped + 1;
			CONTINUE;
		END IF;
		variants := jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('prices', prices, 'request_fee', fee)));

		IF NOT prov = ANY (provs) THEN
			INSERT INTO @extschema@.price_provider (catalog, provider, ordinal, name)
			VALUES ('litellm', prov, 0, v ->> 'litellm_provider')
			ON CONFLICT (catalog, provider) DO NOTHING;
			provs := provs || prov;
		END IF;
		-- "provider/model" is also matched as "model" (the prefix compared
		-- as names are: ASCII letters folded, nothing else)
		stripped := CASE WHEN starts_with(@extschema@.fold_name(k), prov || '/') THEN substr(k, length(prov) + 2) END;
		INSERT INTO @extschema@.price_model AS x (catalog, provider, model, ordinal, match)
		VALUES ('litellm', prov, k, nmod,
				CASE WHEN stripped IS NULL OR stripped = '' THEN jsonb_build_object('equals', k)
					 ELSE jsonb_build_object('or', jsonb_build_array(jsonb_build_object('equals', k),
																	jsonb_build_object('equals', stripped))) END)
		ON CONFLICT (catalog, provider, model) DO UPDATE
			SET ordinal = excluded.ordinal, match = excluded.match
			WHERE (x.ordinal, x.match) IS DISTINCT FROM (excluded.ordinal, excluded.match);
		IF @extschema@.price_put_model_prices('litellm', prov, k, variants, in_force_from, what) THEN
			nsets := nsets + 1;
		END IF;
		nrounded := nrounded + @extschema@.price_count_rounded(variants);
		nmod := nmod + 1;
	END LOOP;
	RETURN QUERY SELECT cardinality(provs), nmod, nsets, nrounded, nskipped;
END
$fn$;


-- 10. The ledger.

COMMENT ON FUNCTION @extschema@.sourced_cost(pg_catalog.numeric, pg_catalog.text, pg_catalog.text, pg_catalog.text,
	pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.timestamptz) IS
	'the cost of a call with its source: a reported cost wins (reported; rounded half away from zero to the picodollar); else the customer''s contract price (contract) or the list price (catalog)';

-- the old unnamed checks get names (same expressions)
ALTER TABLE @extschema@.price_call RENAME CONSTRAINT price_call_input_tokens_check TO price_call_input_tokens_nonnegative;
ALTER TABLE @extschema@.price_call RENAME CONSTRAINT price_call_output_tokens_check TO price_call_output_tokens_nonnegative;
ALTER TABLE @extschema@.price_call RENAME CONSTRAINT price_call_cache_read_tokens_check TO price_call_cache_read_tokens_nonnegative;
ALTER TABLE @extschema@.price_call RENAME CONSTRAINT price_call_cache_write_tokens_check TO price_call_cache_write_tokens_nonnegative;
ALTER TABLE @extschema@.price_call RENAME CONSTRAINT price_call_reasoning_tokens_check TO price_call_reasoning_tokens_nonnegative;
ALTER TABLE @extschema@.price_call RENAME CONSTRAINT price_call_check1 TO price_call_reasoning_within_output;
-- the new ones hold for new rows at once; stored rows are validated below
ALTER TABLE @extschema@.price_call
	DROP CONSTRAINT price_call_check,
	ADD CONSTRAINT price_call_at_finite CHECK (pg_catalog.isfinite(at)) NOT VALID,
	ADD CONSTRAINT price_call_uncached_input_nonnegative CHECK (cache_read_tokens::pg_catalog.numeric
		OPERATOR(pg_catalog.+) cache_write_tokens::pg_catalog.numeric OPERATOR(pg_catalog.<=) input_tokens::pg_catalog.numeric) NOT VALID,
	ADD CONSTRAINT price_call_reported_cost_in_range CHECK (reported_cost OPERATOR(pg_catalog.>=) 0::pg_catalog.numeric
		AND reported_cost OPERATOR(pg_catalog.<=) 9223372.036854775807::pg_catalog.numeric) NOT VALID;

COMMENT ON COLUMN @extschema@.price_call.at IS 'when the call ran (prices in force then apply); finite';

COMMENT ON COLUMN @extschema@.price_call.reported_cost IS 'cost the provider reported, when it did; wins over the recomputed one; from 0 to 9223372.036854775807, rounded half away from zero to 12 decimals when read';

CREATE TYPE @extschema@.ledger_cost AS (
	cost pg_catalog.numeric,
	cost_source pg_catalog.text,
	list_cost pg_catalog.numeric,
	problem pg_catalog.text
);
COMMENT ON TYPE @extschema@.ledger_cost IS 'the costs of one ledger row, and why one is missing when the row cannot be priced';
COMMENT ON COLUMN @extschema@.ledger_cost.cost IS 'the cost as sourced_cost() gives it (reported, else contract, else list price); NULL when unpriced or when problem says why';
COMMENT ON COLUMN @extschema@.ledger_cost.cost_source IS 'reported, contract, catalog, or NULL when cost is NULL';
COMMENT ON COLUMN @extschema@.ledger_cost.list_cost IS 'catalog list price at the time of the call, as cost() gives it';
COMMENT ON COLUMN @extschema@.ledger_cost.problem IS 'NULL, or why cost or list_cost is missing although the row names a model or reports a cost: a reported cost that is not money, a time at infinity, inconsistent token counts, a price in another currency, a cost too large to compute';

CREATE FUNCTION @extschema@.ledger_cost(reported_cost pg_catalog.numeric, customer pg_catalog.text,
	provider pg_catalog.text, model pg_catalog.text,
	input_tokens pg_catalog.int8, output_tokens pg_catalog.int8,
	cache_read_tokens pg_catalog.int8 DEFAULT 0, cache_write_tokens pg_catalog.int8 DEFAULT 0,
	reasoning_tokens pg_catalog.int8 DEFAULT 0, at pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS @extschema@.ledger_cost
	LANGUAGE c STABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_ledger_cost';
COMMENT ON FUNCTION @extschema@.ledger_cost(pg_catalog.numeric, pg_catalog.text, pg_catalog.text, pg_catalog.text,
	pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.timestamptz) IS
	'sourced_cost() and cost() of one row of a calls table, never an error for what the row holds: a row that cannot be priced gets NULL costs and its reason in problem (the first one found)';


CREATE OR REPLACE VIEW @extschema@.price_call_cost WITH (security_invoker = true) AS
	SELECT c.call_id, c.at, c.provider, c.model, c.customer,
		   l.cost, l.cost_source, l.list_cost, c.reported_cost, l.problem
	FROM @extschema@.price_call c
		 CROSS JOIN LATERAL @extschema@.ledger_cost(c.reported_cost, c.customer, c.provider, c.model, c.input_tokens,
			c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.reasoning_tokens, c.at) l;

COMMENT ON VIEW @extschema@.price_call_cost IS 'every ledger call with its cost and the source of that cost; a row that cannot be priced is listed with NULL costs and the reason in problem, never an error';

COMMENT ON COLUMN @extschema@.price_call_cost.cost IS 'the cost: reported (rounded to the picodollar), else contract, else list price; NULL when unpriced or when problem says why';

COMMENT ON COLUMN @extschema@.price_call_cost.reported_cost IS 'cost the provider reported, as stored';

COMMENT ON COLUMN @extschema@.price_call_cost.problem IS 'NULL, or why cost or list_cost is missing (see ledger_cost()); list the rows to fix with WHERE problem IS NOT NULL';

CREATE OR REPLACE VIEW @extschema@.unpriced_models WITH (security_invoker = true) AS
	SELECT c.provider, c.model, pg_catalog.count(*) AS calls,
		   pg_catalog.min(c.at) AS first_call, pg_catalog.max(c.at) AS last_call,
		   -- a total beyond bigint is NULL, not an error for every reader
		   CASE WHEN pg_catalog.sum(c.input_tokens) OPERATOR(pg_catalog.<=) 9223372036854775807::pg_catalog.numeric
				THEN pg_catalog.sum(c.input_tokens)::pg_catalog.int8 END AS input_tokens,
		   CASE WHEN pg_catalog.sum(c.output_tokens) OPERATOR(pg_catalog.<=) 9223372036854775807::pg_catalog.numeric
				THEN pg_catalog.sum(c.output_tokens)::pg_catalog.int8 END AS output_tokens
	FROM @extschema@.price_call c
	WHERE c.reported_cost IS NULL
	  AND @extschema@.price_model_for(c.provider, c.model) IS NULL
	GROUP BY c.provider, c.model;

COMMENT ON COLUMN @extschema@.unpriced_models.input_tokens IS 'input tokens left unpriced; NULL when the total exceeds the bigint range';

COMMENT ON COLUMN @extschema@.unpriced_models.output_tokens IS 'output tokens left unpriced; NULL when the total exceeds the bigint range';


-- Validate the new constraints on the rows already stored; a row that breaks
-- one leaves it NOT VALID (new rows are checked all the same) with a warning,
-- and price_call_cost lists such rows with their reason.
DO $upgrade$
DECLARE
	t text;
	c text;
BEGIN
	FOR t, c IN VALUES ('price_call', 'price_call_at_finite'), ('price_call', 'price_call_uncached_input_nonnegative'),
					   ('price_call', 'price_call_reported_cost_in_range'), ('price_discount', 'price_discount_provider_folded') LOOP
		BEGIN
			EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I VALIDATE CONSTRAINT %I', t, c);
		EXCEPTION WHEN check_violation THEN
			RAISE WARNING 'some rows of @extschema@.% break its new constraint %', t, c
				USING DETAIL = 'The constraint is kept NOT VALID: it applies to new and changed rows only.',
					  HINT = pg_catalog.format('Fix or delete those rows (for the ledger: SELECT * FROM @extschema@.price_call_cost WHERE problem IS NOT NULL), then ALTER TABLE @extschema@.%I VALIDATE CONSTRAINT %I.', t, c);
		END;
	END LOOP;
END
$upgrade$;

-- ---------------------------------------------------------------------------
-- The retry readers refuse a state whose counts no set of items can give.
-- ---------------------------------------------------------------------------
COMMENT ON FUNCTION @extschema@.retry_report(@extschema@.retry_state) IS
	'read a retry_economics state: items (rows with attempt 1), attempts, solved, p1, success_by_attempt[k] = successes/attempts at attempt k, attempts_per_item, solve_rate, total_cost, failed_cost, failed_share, mean_attempt_cost T, cost_per_solved (observed), naive_cost_per_solved = T/p1, tail_factor = observed/naive, max_attempt; refuses (data_exception) a state whose counts no set of items can give, an item''s attempts numbered 1, 2, 3, ... up to its first success (rows of an attempt k + 1 above the failed rows of attempt k)';
COMMENT ON FUNCTION @extschema@.retry_attempts(@extschema@.retry_state) IS
	'one row per attempt number of a retry_economics state: attempts, successes, success_rate (conditional on reaching it), reach = attempts/items, cost, mean_cost; and_beyond marks attempt 32 when it also holds later attempts; refuses a state whose counts no set of items can give, as retry_report does';
COMMENT ON FUNCTION @extschema@.retry_projection(@extschema@.retry_state, pg_catalog.int4, pg_catalog.numeric) IS
	'the observed attempts with retries capped at max_attempts: cost_per_item = (cost of attempts 1..k + fallback_cost x unsolved) / items, yield = solved within k / items, cost_per_solved = cost of attempts 1..k / solved within k, fallback_items = unsolved; refuses a state whose counts no set of items can give, as retry_report does';
COMMENT ON FUNCTION @extschema@.cost_per_solved(@extschema@.retry_state) IS
	'observed cost per solved item of a retry_economics state: all attempt spend / solved items (numeric, 12 decimals; NULL when nothing was solved); refuses a state whose counts no set of items can give, as retry_report does';

-- ---------------------------------------------------------------------------
-- The price cache: regexes of match rules are bounded (checked when stored),
-- and changes made in replica mode or by logical replication invalidate the
-- cache of every session.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.price_check_regex(pattern pg_catalog.text)
	RETURNS pg_catalog.bool
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_check_regex';
COMMENT ON FUNCTION @extschema@.price_check_regex(pg_catalog.text) IS
	'true when a pattern is allowed as a match rule''s regex (it compiles, at most 1000 characters and 1000 automaton states, no back-references or lookahead/lookbehind); otherwise an error saying why';

CREATE OR REPLACE FUNCTION @extschema@.price_check_match(rule pg_catalog.jsonb, what pg_catalog.text)
	RETURNS pg_catalog.bool
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	op text;
	arg jsonb;
	i int := 0;
	sub jsonb;
BEGIN
	IF rule IS NULL OR jsonb_typeof(rule) <> 'object' OR (SELECT count(*) FROM jsonb_object_keys(rule)) <> 1 THEN
		RAISE EXCEPTION 'malformed match rule in %', what
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('A match rule is an object with exactly one key, got %s.', coalesce(rule::text, 'null'));
	END IF;
	SELECT key, value INTO op, arg FROM jsonb_each(rule);
	IF op IN ('equals', 'starts_with', 'ends_with', 'contains', 'regex') THEN
		IF jsonb_typeof(arg) <> 'string' THEN
			RAISE EXCEPTION 'malformed match rule in %', what
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = format('"%s" takes a string, got %s.', op, arg::text);
		END IF;
		IF op = 'regex' THEN
			BEGIN
				PERFORM @extschema@.price_check_regex(arg #>> '{}');
			EXCEPTION WHEN invalid_regular_expression THEN
				RAISE EXCEPTION 'invalid regular expression in %', what
					USING ERRCODE = 'invalid_regular_expression', DETAIL = SQLERRM;
			END;
		END IF;
	ELSIF op IN ('or', 'and') THEN
		IF jsonb_typeof(arg) <> 'array' OR jsonb_array_length(arg) = 0 THEN
			RAISE EXCEPTION 'malformed match rule in %', what
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = format('"%s" takes a non-empty array of rules, got %s.', op, arg::text);
		END IF;
		FOR sub IN SELECT value FROM jsonb_array_elements(arg) LOOP
			PERFORM @extschema@.price_check_match(sub, format('%s.%s[%s]', what, op, i));
			i := i + 1;
		END LOOP;
	ELSE
		RAISE EXCEPTION 'malformed match rule in %', what
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Unknown operator "%s"; expected equals, starts_with, ends_with, contains, regex, or, and.', op);
	END IF;
	RETURN true;
END
$fn$;

-- Rules stored by 0.1.0 are checked again under the new bounds: the update
-- stops, naming the rule, rather than leave a rule that every cost() call
-- would then refuse.
DO $upgrade$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT p.catalog, p.provider, p.provider_match, p.model_match FROM @extschema@.price_provider p LOOP
		IF r.provider_match IS NOT NULL THEN
			PERFORM @extschema@.price_check_match(r.provider_match,
				pg_catalog.format('provider_match of provider %s (catalog %s)', r.provider, r.catalog));
		END IF;
		IF r.model_match IS NOT NULL THEN
			PERFORM @extschema@.price_check_match(r.model_match,
				pg_catalog.format('model_match of provider %s (catalog %s)', r.provider, r.catalog));
		END IF;
	END LOOP;
	FOR r IN SELECT m.catalog, m.provider, m.model, m.match FROM @extschema@.price_model m LOOP
		PERFORM @extschema@.price_check_match(r.match,
			pg_catalog.format('match of model %s/%s (catalog %s)', r.provider, r.model, r.catalog));
	END LOOP;
END
$upgrade$;

CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.price_catalog
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.price_catalog ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;
CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.price_provider
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.price_provider ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;
CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.price_model
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.price_model ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;
CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.price
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.price ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;
CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.price_tier
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.price_tier ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;
CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.price_discount
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.price_discount ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;

-- ---------------------------------------------------------------------------
-- Money on the way in is rounded to the picodollar (half away from zero),
-- never refused: a request fee with more decimals is stored rounded.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.price_put_model_prices(p_catalog pg_catalog.text, p_provider pg_catalog.text,
	p_model pg_catalog.text, variants pg_catalog.jsonb, p_in_force_from pg_catalog.timestamptz, what pg_catalog.text)
	RETURNS pg_catalog.bool
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	latest timestamptz;
	old jsonb;
	start_at timestamptz;
	v jsonb;
	vi int := 0;
	c jsonb;
	sd date;
	ts time;
	te time;
	k text;
	pv jsonb;
	cols numeric[];
	kinds text[] := ARRAY['input', 'cache_read', 'cache_write', 'output', 'reasoning', 'input_audio',
		'cache_audio_read', 'output_audio', 'input_image', 'output_image', 'input_video', 'output_video'];
	ki int;
	fee numeric;
	new_id bigint;
	t jsonb;
	ti int;
	prev_start numeric;
	tstart numeric;
	vwhat text;
	ck text;
BEGIN
	SELECT max(p.in_force_from) INTO latest FROM @extschema@.price p
	 WHERE p.catalog = p_catalog AND p.provider = p_provider AND p.model = p_model AND p.customer IS NULL;
	IF latest IS NOT NULL THEN
		SELECT jsonb_agg(p.source ORDER BY p.variant) INTO old FROM @extschema@.price p
		 WHERE p.catalog = p_catalog AND p.provider = p_provider AND p.model = p_model
		   AND p.customer IS NULL AND p.in_force_from = latest;
		IF old = variants THEN
			RETURN false;
		END IF;
		IF p_in_force_from IS NULL OR p_in_force_from <= latest THEN
			RAISE EXCEPTION 'prices of % changed but in_force_from % is not after the current set (in force from %)',
				what, p_in_force_from, latest
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Pass the time the new prices take effect as in_force_from.';
		END IF;
		start_at := p_in_force_from;
	ELSE
		start_at := '-infinity';
	END IF;

	FOR v IN SELECT value FROM jsonb_array_elements(variants) LOOP
		vwhat := CASE WHEN jsonb_array_length(variants) > 1 THEN format('%s prices[%s]', what, vi) ELSE what END;
		c := v -> 'constraint';
		sd := NULL; ts := NULL; te := NULL;
		-- a null or empty constraint is refused: read as "no constraint", it
		-- would make this price set apply always
		IF c IS NOT NULL THEN
			IF jsonb_typeof(c) <> 'object' OR c = '{}' THEN
				RAISE EXCEPTION 'malformed constraint in %', vwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('Got %s; expected {"start_date": "YYYY-MM-DD"} or {"start_time": "HH:MM:SSZ", "end_time": "HH:MM:SSZ"}.', c::text),
					HINT = 'Leave the constraint out for a price that always applies.';
			END IF;
			FOR k IN SELECT jsonb_object_keys(c) LOOP
				IF k NOT IN ('start_date', 'start_time', 'end_time') THEN
					RAISE EXCEPTION 'malformed constraint in %', vwhat USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('Unknown constraint "%s"; expected start_date, or start_time and end_time.', k);
				END IF;
			END LOOP;
			-- ck: the key being read, for the error
			BEGIN
				IF c ? 'start_date' THEN
					ck := 'start_date';
					IF jsonb_typeof(c -> 'start_date') <> 'string' OR (c ->> 'start_date') !~ '^\d{4}-\d{2}-\d{2}$' THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
					sd := (c ->> 'start_date')::date;
				END IF;
				IF c ? 'start_time' OR c ? 'end_time' THEN
					ck := 'start_time';
					IF jsonb_typeof(c -> 'start_time') IS DISTINCT FROM 'string'
					   OR (c ->> 'start_time') !~ '^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00(:?00)?)?$' THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
					ts := regexp_replace(c ->> 'start_time', '(Z|\+00(:?00)?)$', '')::time;
					ck := 'end_time';
					IF jsonb_typeof(c -> 'end_time') IS DISTINCT FROM 'string'
					   OR (c ->> 'end_time') !~ '^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00(:?00)?)?$' THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
					te := regexp_replace(c ->> 'end_time', '(Z|\+00(:?00)?)$', '')::time;
					ck := 'start_time and end_time';
					IF ts = te THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
				END IF;
			EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
				RAISE EXCEPTION 'malformed constraint % in %', ck, vwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('Got %s; expected {"start_date": "YYYY-MM-DD"} or {"start_time": "HH:MM:SSZ", "end_time": "HH:MM:SSZ"} (UTC, start <> end).', c::text);
			END;
		END IF;

		cols := array_fill(NULL::numeric, ARRAY[12]);
		IF jsonb_typeof(v -> 'prices') IS DISTINCT FROM 'object' THEN
			RAISE EXCEPTION 'malformed prices in %', vwhat USING ERRCODE = 'invalid_parameter_value',
				DETAIL = format('Expected an object of prices, got %s.', coalesce((v -> 'prices')::text, 'nothing'));
		END IF;
		FOR k, pv IN SELECT key, value FROM jsonb_each(v -> 'prices') LOOP
			ki := array_position(kinds, k);
			IF ki IS NULL THEN
				RAISE EXCEPTION 'unknown price kind "%" in %', k, vwhat USING ERRCODE = 'invalid_parameter_value';
			END IF;
			IF jsonb_typeof(pv) = 'object' THEN
				IF (SELECT count(*) FROM jsonb_object_keys(pv) x WHERE x NOT IN ('base', 'tiers')) > 0
				   OR jsonb_typeof(pv -> 'tiers') IS DISTINCT FROM 'array' THEN
					RAISE EXCEPTION 'malformed tiered price % in %', k, vwhat USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('Expected {"base": number, "tiers": [{"start": integer, "price": number}, ...]}, got %s.', pv::text);
				END IF;
				IF pv ? 'base' THEN
					cols[ki] := @extschema@.price_check_mtok(pv -> 'base', format('%s %s base', vwhat, k));
				END IF;
			ELSE
				cols[ki] := @extschema@.price_check_mtok(pv, format('%s %s', vwhat, k));
			END IF;
		END LOOP;
		fee := NULL;
		IF v ? 'request_fee' AND jsonb_typeof(v -> 'request_fee') <> 'null' THEN
			-- a fee is money: digits below 1e-12 are rounded half away from zero to
			-- the picodollar, as every amount tokacct takes, then checked
			fee := CASE WHEN jsonb_typeof(v -> 'request_fee') = 'number' THEN (v ->> 'request_fee')::numeric END;
			fee := CASE WHEN fee <> round(fee, 12) THEN trim_scale(round(fee, 12)) ELSE fee END;
			IF fee IS NULL OR fee < 0 OR fee >= 9223372 THEN
				RAISE EXCEPTION 'malformed request fee in %', vwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('A fee is a non-negative number below 9223372 (rounded to 12 decimals), got %s.', (v -> 'request_fee')::text);
			END IF;
		END IF;

		INSERT INTO @extschema@.price (catalog, provider, model, customer, in_force_from, variant, start_date,
			tod_start, tod_end, input_mtok, cache_read_mtok, cache_write_mtok, output_mtok, reasoning_mtok,
			input_audio_mtok, cache_audio_read_mtok, output_audio_mtok, input_image_mtok, output_image_mtok,
			input_video_mtok, output_video_mtok, request_fee, source)
		VALUES (p_catalog, p_provider, p_model, NULL, start_at, vi, sd, ts, te, cols[1], cols[2], cols[3], cols[4],
			cols[5], cols[6], cols[7], cols[8], cols[9], cols[10], cols[11], cols[12], fee, v)
		RETURNING price_id INTO new_id;

		FOR k, pv IN SELECT key, value FROM jsonb_each(v -> 'prices') WHERE jsonb_typeof(value) = 'object' LOOP
			ti := 0;
			prev_start := -1;
			FOR t IN SELECT value FROM jsonb_array_elements(pv -> 'tiers') LOOP
				IF jsonb_typeof(t) <> 'object' OR jsonb_typeof(t -> 'start') IS DISTINCT FROM 'number'
				   OR (SELECT count(*) FROM jsonb_object_keys(t) x WHERE x NOT IN ('start', 'price')) > 0 THEN
					RAISE EXCEPTION 'malformed tier in % % tiers[%]', vwhat, k, ti USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('Expected {"start": integer, "price": number}, got %s.', t::text);
				END IF;
				tstart := (t ->> 'start')::numeric;
				IF tstart < 0 OR tstart <> trunc(tstart) OR tstart > 9223372036854775807 OR tstart <= prev_start THEN
					RAISE EXCEPTION 'malformed tier in % % tiers[%]', vwhat, k, ti USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('A tier start is a whole number of tokens, above the previous tier''s, got %s.', t ->> 'start');
				END IF;
				INSERT INTO @extschema@.price_tier (price_id, kind, threshold, mtok)
				VALUES (new_id, k, tstart::int8,
						@extschema@.price_check_mtok(t -> 'price', format('%s %s tiers[%s] price', vwhat, k, ti)));
				prev_start := tstart;
				ti := ti + 1;
			END LOOP;
		END LOOP;
		vi := vi + 1;
	END LOOP;
	RETURN true;
END
$fn$;

COMMENT ON FUNCTION @extschema@.outcome_report(@extschema@.outcome_state) IS
	'read a cost_per_outcome state: items, solved, solve_rate, ai_cost, cost_per_item = ai_cost/items, cost_per_solved = ai_cost/solved, fixed_items, human_fix_cost, total_cost = ai_cost + human_fix_cost, total_cost_per_solved; quotients are numeric rounded half away from zero to 12 decimals, NULL when dividing by 0';
COMMENT ON COLUMN @extschema@.allocation_option.cost_per_item IS 'mean cost per item (>= 0, rounded half away from zero to 12 decimals), retries and human fallback included';

-- ---------------------------------------------------------------------------
-- One definition of the price kinds and one grammar of match rules, in C.
-- ---------------------------------------------------------------------------
-- The price kinds have one definition, in C: price_kinds() lists them;
-- price_tier checks its kinds against it and price_put_model_prices (below)
-- reads it.  (The price table's <kind>_mtok columns, which a fresh install
-- makes from the list, are the same.)
CREATE FUNCTION @extschema@.price_kinds()
	RETURNS pg_catalog.text[]
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_kinds';
COMMENT ON FUNCTION @extschema@.price_kinds() IS
	'the price kinds (input, cache_read, ...), in the order of the price table''s <kind>_mtok columns: the kinds price_tier and the loaders accept';
ALTER TABLE @extschema@.price_tier
	DROP CONSTRAINT price_tier_kind_check,
	ADD CONSTRAINT price_tier_kind_check CHECK (kind OPERATOR(pg_catalog.=) ANY (@extschema@.price_kinds()));

-- The match rules have one grammar: price_check_match is the matcher's own
-- reader, in C (same signature, same messages), checking a regex within the
-- bounds price_check_regex() applies.
CREATE OR REPLACE FUNCTION @extschema@.price_check_match(rule pg_catalog.jsonb, what pg_catalog.text)
	RETURNS pg_catalog.bool
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_check_match';

-- The loader helper reads the kinds from price_kinds() (and rounds request
-- fees to the picodollar, as above).
CREATE OR REPLACE FUNCTION @extschema@.price_put_model_prices(p_catalog pg_catalog.text, p_provider pg_catalog.text,
	p_model pg_catalog.text, variants pg_catalog.jsonb, p_in_force_from pg_catalog.timestamptz, what pg_catalog.text)
	RETURNS pg_catalog.bool
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	latest timestamptz;
	old jsonb;
	start_at timestamptz;
	v jsonb;
	vi int := 0;
	c jsonb;
	sd date;
	ts time;
	te time;
	k text;
	pv jsonb;
	cols numeric[];
	kinds text[] := @extschema@.price_kinds();
	put_row text;
	ki int;
	fee numeric;
	new_id bigint;
	t jsonb;
	ti int;
	prev_start numeric;
	tstart numeric;
	vwhat text;
	ck text;
BEGIN
	SELECT max(p.in_force_from) INTO latest FROM @extschema@.price p
	 WHERE p.catalog = p_catalog AND p.provider = p_provider AND p.model = p_model AND p.customer IS NULL;
	IF latest IS NOT NULL THEN
		SELECT jsonb_agg(p.source ORDER BY p.variant) INTO old FROM @extschema@.price p
		 WHERE p.catalog = p_catalog AND p.provider = p_provider AND p.model = p_model
		   AND p.customer IS NULL AND p.in_force_from = latest;
		IF old = variants THEN
			RETURN false;
		END IF;
		IF p_in_force_from IS NULL OR p_in_force_from <= latest THEN
			RAISE EXCEPTION 'prices of % changed but in_force_from % is not after the current set (in force from %)',
				what, p_in_force_from, latest
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Pass the time the new prices take effect as in_force_from.';
		END IF;
		start_at := p_in_force_from;
	ELSE
		start_at := '-infinity';
	END IF;

	FOR v IN SELECT value FROM jsonb_array_elements(variants) LOOP
		vwhat := CASE WHEN jsonb_array_length(variants) > 1 THEN format('%s prices[%s]', what, vi) ELSE what END;
		c := v -> 'constraint';
		sd := NULL; ts := NULL; te := NULL;
		-- a null or empty constraint is refused: read as "no constraint", it
		-- would make this price set apply always
		IF c IS NOT NULL THEN
			IF jsonb_typeof(c) <> 'object' OR c = '{}' THEN
				RAISE EXCEPTION 'malformed constraint in %', vwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('Got %s; expected {"start_date": "YYYY-MM-DD"} or {"start_time": "HH:MM:SSZ", "end_time": "HH:MM:SSZ"}.', c::text),
					HINT = 'Leave the constraint out for a price that always applies.';
			END IF;
			FOR k IN SELECT jsonb_object_keys(c) LOOP
				IF k NOT IN ('start_date', 'start_time', 'end_time') THEN
					RAISE EXCEPTION 'malformed constraint in %', vwhat USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('Unknown constraint "%s"; expected start_date, or start_time and end_time.', k);
				END IF;
			END LOOP;
			-- ck: the key being read, for the error
			BEGIN
				IF c ? 'start_date' THEN
					ck := 'start_date';
					IF jsonb_typeof(c -> 'start_date') <> 'string' OR (c ->> 'start_date') !~ '^\d{4}-\d{2}-\d{2}$' THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
					sd := (c ->> 'start_date')::date;
				END IF;
				IF c ? 'start_time' OR c ? 'end_time' THEN
					ck := 'start_time';
					IF jsonb_typeof(c -> 'start_time') IS DISTINCT FROM 'string'
					   OR (c ->> 'start_time') !~ '^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00(:?00)?)?$' THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
					ts := regexp_replace(c ->> 'start_time', '(Z|\+00(:?00)?)$', '')::time;
					ck := 'end_time';
					IF jsonb_typeof(c -> 'end_time') IS DISTINCT FROM 'string'
					   OR (c ->> 'end_time') !~ '^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00(:?00)?)?$' THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
					te := regexp_replace(c ->> 'end_time', '(Z|\+00(:?00)?)$', '')::time;
					ck := 'start_time and end_time';
					IF ts = te THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
				END IF;
			EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
				RAISE EXCEPTION 'malformed constraint % in %', ck, vwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('Got %s; expected {"start_date": "YYYY-MM-DD"} or {"start_time": "HH:MM:SSZ", "end_time": "HH:MM:SSZ"} (UTC, start <> end).', c::text);
			END;
		END IF;

		cols := array_fill(NULL::numeric, ARRAY[cardinality(kinds)]);
		IF jsonb_typeof(v -> 'prices') IS DISTINCT FROM 'object' THEN
			RAISE EXCEPTION 'malformed prices in %', vwhat USING ERRCODE = 'invalid_parameter_value',
				DETAIL = format('Expected an object of prices, got %s.', coalesce((v -> 'prices')::text, 'nothing'));
		END IF;
		FOR k, pv IN SELECT key, value FROM jsonb_each(v -> 'prices') LOOP
			ki := array_position(kinds, k);
			IF ki IS NULL THEN
				RAISE EXCEPTION 'unknown price kind "%" in %', k, vwhat USING ERRCODE = 'invalid_parameter_value';
			END IF;
			IF jsonb_typeof(pv) = 'object' THEN
				IF (SELECT count(*) FROM jsonb_object_keys(pv) x WHERE x NOT IN ('base', 'tiers')) > 0
				   OR jsonb_typeof(pv -> 'tiers') IS DISTINCT FROM 'array' THEN
					RAISE EXCEPTION 'malformed tiered price % in %', k, vwhat USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('Expected {"base": number, "tiers": [{"start": integer, "price": number}, ...]}, got %s.', pv::text);
				END IF;
				IF pv ? 'base' THEN
					cols[ki] := @extschema@.price_check_mtok(pv -> 'base', format('%s %s base', vwhat, k));
				END IF;
			ELSE
				cols[ki] := @extschema@.price_check_mtok(pv, format('%s %s', vwhat, k));
			END IF;
		END LOOP;
		fee := NULL;
		IF v ? 'request_fee' AND jsonb_typeof(v -> 'request_fee') <> 'null' THEN
			-- a fee is money: digits below 1e-12 are rounded half away from zero to
			-- the picodollar, as every amount tokacct takes, then checked
			fee := CASE WHEN jsonb_typeof(v -> 'request_fee') = 'number' THEN (v ->> 'request_fee')::numeric END;
			fee := CASE WHEN fee <> round(fee, 12) THEN trim_scale(round(fee, 12)) ELSE fee END;
			IF fee IS NULL OR fee < 0 OR fee >= 9223372 THEN
				RAISE EXCEPTION 'malformed request fee in %', vwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('A fee is a non-negative number below 9223372 (rounded to 12 decimals), got %s.', (v -> 'request_fee')::text);
			END IF;
		END IF;

		put_row := coalesce(put_row, format('INSERT INTO @extschema@.price (catalog, provider, model, customer, in_force_from, '
			'variant, start_date, tod_start, tod_end, %s, request_fee, source) VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8, %s, '
			'$10, $11) RETURNING price_id',
			(SELECT string_agg(quote_ident(kname || '_mtok'), ', ' ORDER BY kpos) FROM unnest(kinds) WITH ORDINALITY ka(kname, kpos)),
			(SELECT string_agg(format('$9[%s]', kpos), ', ' ORDER BY kpos) FROM generate_subscripts(kinds, 1) ks(kpos))));
		-- the row of this variant: a <kind>_mtok column per kind, its price in cols (kinds' order)
		EXECUTE put_row INTO new_id USING p_catalog, p_provider, p_model, start_at, vi, sd, ts, te, cols, fee, v;

		FOR k, pv IN SELECT key, value FROM jsonb_each(v -> 'prices') WHERE jsonb_typeof(value) = 'object' LOOP
			ti := 0;
			prev_start := -1;
			FOR t IN SELECT value FROM jsonb_array_elements(pv -> 'tiers') LOOP
				IF jsonb_typeof(t) <> 'object' OR jsonb_typeof(t -> 'start') IS DISTINCT FROM 'number'
				   OR (SELECT count(*) FROM jsonb_object_keys(t) x WHERE x NOT IN ('start', 'price')) > 0 THEN
					RAISE EXCEPTION 'malformed tier in % % tiers[%]', vwhat, k, ti USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('Expected {"start": integer, "price": number}, got %s.', t::text);
				END IF;
				tstart := (t ->> 'start')::numeric;
				IF tstart < 0 OR tstart <> trunc(tstart) OR tstart > 9223372036854775807 OR tstart <= prev_start THEN
					RAISE EXCEPTION 'malformed tier in % % tiers[%]', vwhat, k, ti USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('A tier start is a whole number of tokens, above the previous tier''s, got %s.', t ->> 'start');
				END IF;
				INSERT INTO @extschema@.price_tier (price_id, kind, threshold, mtok)
				VALUES (new_id, k, tstart::int8,
						@extschema@.price_check_mtok(t -> 'price', format('%s %s tiers[%s] price', vwhat, k, ti)));
				prev_start := tstart;
				ti := ti + 1;
			END LOOP;
		END LOOP;
		vi := vi + 1;
	END LOOP;
	RETURN true;
END
$fn$;
