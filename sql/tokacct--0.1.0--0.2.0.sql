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

-- (price_put_model_prices: replaced once, below, by its 0.2.0 body)

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
-- (price_put_model_prices: replaced once, below, by its 0.2.0 body)

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

-- ---------------------------------------------------------------------------
-- 0.2.0: attaching trace tables (sql/install/60_attach.sql) and the
-- aggregates over bigint and float8 columns (sql/install/65_types.sql).
-- ---------------------------------------------------------------------------

-- ---------------------------------------------------------------------------
-- Attaching trace tables that already exist (src/attach.c for the lenient
-- readers).  One call per source creates seven views over the user's own
-- tables, in a schema the user chooses: calls, spans, attempts, items,
-- conversations, problems and traces.  No trace row is copied.  The views read the
-- rows as they are: whatever a row holds, a view answers; a row that cannot
-- be priced or contradicts itself is left out of the figures it would
-- falsify, counted beside them, and listed in `problems` with its key and
-- the reason.
--
-- Security: the views are security_invoker (the source tables' row-level
-- security applies to whoever reads them) and are built with search_path =
-- pg_catalog, pg_temp, so every operator and function in them is a
-- built-in or tokacct's own.  Every column read must be of a built-in type
-- (or a domain over one), checked when attaching by attach_column(): a
-- cast or operator on a type the table's owner created would run the
-- owner's code with the reader's rights.  Enum columns (Langfuse's) are read
-- through their output function only (format('%s', col)), never a cast.
-- ---------------------------------------------------------------------------

-- The registry of attached sources ------------------------------------------

CREATE TABLE @extschema@.attachment (
	source pg_catalog.text PRIMARY KEY
		CHECK (source OPERATOR(pg_catalog.~) '^[a-z_][a-z0-9_]{0,47}$'),
	kind pg_catalog.text NOT NULL
		CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['otel', 'otlp_json', 'langfuse', 'mapping'])),
	relations pg_catalog.regclass[] NOT NULL,
	view_schema pg_catalog.name NOT NULL,
	view_prefix pg_catalog.text NOT NULL,
	options pg_catalog.jsonb NOT NULL,
	views pg_catalog.text[] NOT NULL,
	definition pg_catalog.text NOT NULL,
	created_schema pg_catalog.bool NOT NULL,
	attached_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	attached_by pg_catalog.name NOT NULL DEFAULT CURRENT_USER
);
COMMENT ON TABLE @extschema@.attachment IS
	'trace sources attached with tokacct.attach_otel(), attach_otlp_json(), attach_langfuse() or attach(): the views each created (tokacct.detach() drops them)';
COMMENT ON COLUMN @extschema@.attachment.source IS 'source name given when attaching (lower-case letters, digits, _); every row of its views carries it';
COMMENT ON COLUMN @extschema@.attachment.kind IS 'otel (span table), otlp_json (OTLP/JSON documents), langfuse (Langfuse v2 tables), mapping (any layout, by a mapping)';
COMMENT ON COLUMN @extschema@.attachment.relations IS 'the tables or views read';
COMMENT ON COLUMN @extschema@.attachment.view_schema IS 'schema holding the views';
COMMENT ON COLUMN @extschema@.attachment.view_prefix IS 'prefix of the view names (calls, spans, ... after it)';
COMMENT ON COLUMN @extschema@.attachment.options IS 'options given when attaching';
COMMENT ON COLUMN @extschema@.attachment.views IS 'the views created, schema-qualified';
COMMENT ON COLUMN @extschema@.attachment.definition IS 'md5 of the views'' SQL: attaching again with the same definition changes nothing';
COMMENT ON COLUMN @extschema@.attachment.created_schema IS 'true when attaching created the schema (detach drops it when empty)';
COMMENT ON COLUMN @extschema@.attachment.attached_at IS 'when the views were last (re)created';
COMMENT ON COLUMN @extschema@.attachment.attached_by IS 'role that attached the source';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.attachment', '');

-- Model and provider aliases --------------------------------------------------

CREATE TABLE @extschema@.provider_alias (
	provider pg_catalog.text PRIMARY KEY
		CHECK (provider OPERATOR(pg_catalog.=) @extschema@.fold_name(provider)),
	catalog_provider pg_catalog.text NOT NULL,
	shipped pg_catalog.bool NOT NULL DEFAULT false,
	note pg_catalog.text
);
COMMENT ON TABLE @extschema@.provider_alias IS
	'provider names as traces carry them (OpenTelemetry''s gen_ai.provider.name, gateways) and the catalog provider they price as; the attached views apply it before cost()';
COMMENT ON COLUMN @extschema@.provider_alias.provider IS 'provider name as it appears in traces, without ASCII capitals (a call''s provider is folded by fold_name() and compared exactly)';
COMMENT ON COLUMN @extschema@.provider_alias.catalog_provider IS 'provider id of the price catalog (aws, google, azure, mistral, x-ai, ...)';
COMMENT ON COLUMN @extschema@.provider_alias.shipped IS 'true for the rows tokacct ships (OpenTelemetry names); yours are false';
COMMENT ON COLUMN @extschema@.provider_alias.note IS 'where the name comes from';
INSERT INTO @extschema@.provider_alias (provider, catalog_provider, shipped, note) VALUES
	('aws.bedrock', 'aws', true, 'OpenTelemetry gen_ai.provider.name'),
	('azure.ai.openai', 'azure', true, 'OpenTelemetry gen_ai.provider.name'),
	('azure.ai.inference', 'azure', true, 'OpenTelemetry gen_ai.provider.name'),
	('az.ai.inference', 'azure', true, 'OpenTelemetry gen_ai.system (deprecated)'),
	('az.ai.openai', 'azure', true, 'OpenTelemetry gen_ai.system (deprecated)'),
	('gcp.gen_ai', 'google', true, 'OpenTelemetry gen_ai.provider.name'),
	('gcp.vertex_ai', 'google', true, 'OpenTelemetry gen_ai.provider.name'),
	('gcp.gemini', 'google', true, 'OpenTelemetry gen_ai.provider.name'),
	('vertex_ai', 'google', true, 'OpenTelemetry gen_ai.system (deprecated)'),
	('gemini', 'google', true, 'OpenTelemetry gen_ai.system (deprecated)'),
	('mistral_ai', 'mistral', true, 'OpenTelemetry gen_ai.provider.name'),
	('x_ai', 'x-ai', true, 'OpenTelemetry gen_ai.provider.name'),
	('xai', 'x-ai', true, 'OpenTelemetry gen_ai.system (deprecated)'),
	('ibm.watsonx.ai', 'watsonx', true, 'OpenTelemetry gen_ai.provider.name (LiteLLM''s provider id)');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.provider_alias', 'WHERE NOT shipped');

CREATE TABLE @extschema@.model_alias (
	provider pg_catalog.text NOT NULL DEFAULT ''
		CHECK (provider OPERATOR(pg_catalog.=) @extschema@.fold_name(provider)),
	model pg_catalog.text NOT NULL
		CHECK (model OPERATOR(pg_catalog.=) @extschema@.fold_name(model)),
	valid_from pg_catalog.timestamptz NOT NULL DEFAULT '-infinity',
	valid_until pg_catalog.timestamptz NOT NULL DEFAULT 'infinity',
	catalog_provider pg_catalog.text,
	catalog_model pg_catalog.text NOT NULL,
	note pg_catalog.text,
	PRIMARY KEY (provider, model, valid_from),
	CHECK (valid_from OPERATOR(pg_catalog.<) valid_until)
);
COMMENT ON TABLE @extschema@.model_alias IS
	'a model name as traces carry it (an Azure deployment, a gateway alias) and the catalog model it is priced as, for a period: the call follows that model''s price history';
COMMENT ON COLUMN @extschema@.model_alias.provider IS 'provider name as it appears in traces, without ASCII capitals ('''' for calls that name none; folded by fold_name())';
COMMENT ON COLUMN @extschema@.model_alias.model IS 'model name as it appears in traces (the response model, else the request model), without ASCII capitals (folded by fold_name())';
COMMENT ON COLUMN @extschema@.model_alias.valid_from IS 'applies to calls at or after this time';
COMMENT ON COLUMN @extschema@.model_alias.valid_until IS 'applies to calls before this time (a deployment repointed to another model gets a new row from then)';
COMMENT ON COLUMN @extschema@.model_alias.catalog_provider IS 'catalog provider to price with; NULL: the call''s provider (after provider_alias)';
COMMENT ON COLUMN @extschema@.model_alias.catalog_model IS 'catalog model to price with (matched by the catalog''s rules, as cost() does)';
COMMENT ON COLUMN @extschema@.model_alias.note IS 'free text';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_alias', '');

-- A row per alias that writers of its periods lock in turn (see
-- model_alias_check); made on demand, so it is not dumped.
CREATE TABLE @extschema@.model_alias_lock (
	provider pg_catalog.text NOT NULL,
	model pg_catalog.text NOT NULL,
	PRIMARY KEY (provider, model)
);
COMMENT ON TABLE @extschema@.model_alias_lock IS
	'a row per alias of tokacct.model_alias, locked by each transaction that writes a period of it, so that two writers cannot both miss the other''s overlapping period';
COMMENT ON COLUMN @extschema@.model_alias_lock.provider IS 'provider of the alias (as in tokacct.model_alias)';
COMMENT ON COLUMN @extschema@.model_alias_lock.model IS 'model name of the alias (as in tokacct.model_alias)';

-- Two periods of one alias may not overlap (a call would match both).
-- Writers of one alias take turns on its row of model_alias_lock before
-- looking for an overlap: under READ COMMITTED the second then sees the
-- first's committed period; under REPEATABLE READ or SERIALIZABLE, whose
-- snapshot cannot see it, taking the row the first wrote fails with a
-- serialization error, and the transaction is retried.
CREATE FUNCTION @extschema@.model_alias_check() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	clash record;
BEGIN
	INSERT INTO @extschema@.model_alias_lock AS l (provider, model) VALUES (NEW.provider, NEW.model)
		ON CONFLICT (provider, model) DO UPDATE SET provider = l.provider;
	SELECT a.valid_from, a.valid_until INTO clash
	  FROM @extschema@.model_alias a
	 WHERE a.provider = NEW.provider AND a.model = NEW.model
	   AND a.valid_from <> NEW.valid_from
	   AND a.valid_from < NEW.valid_until AND NEW.valid_from < a.valid_until
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'model alias "%" of provider "%" overlaps an existing period', NEW.model, NEW.provider
			USING ERRCODE = 'exclusion_violation',
				  DETAIL = pg_catalog.format('The new period [%s, %s) overlaps [%s, %s).',
					NEW.valid_from, NEW.valid_until, clash.valid_from, clash.valid_until),
				  HINT = 'End the earlier period (valid_until) where the new one starts.';
	END IF;
	RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION @extschema@.model_alias_check() IS 'trigger of tokacct.model_alias: refuses overlapping periods of the same alias';
CREATE CONSTRAINT TRIGGER model_alias_no_overlap AFTER INSERT OR UPDATE ON @extschema@.model_alias
	DEFERRABLE INITIALLY IMMEDIATE FOR EACH ROW EXECUTE FUNCTION @extschema@.model_alias_check();

-- Baselines: what the work costs without AI ------------------------------------

CREATE TABLE @extschema@.baseline (
	workflow pg_catalog.text NOT NULL,
	valid_from pg_catalog.timestamptz NOT NULL DEFAULT '-infinity',
	bpo_unit_price pg_catalog.numeric CHECK (bpo_unit_price OPERATOR(pg_catalog.>=) 0),
	human_cost_per_hour pg_catalog.numeric CHECK (human_cost_per_hour OPERATOR(pg_catalog.>=) 0),
	human_minutes_per_item pg_catalog.numeric CHECK (human_minutes_per_item OPERATOR(pg_catalog.>=) 0),
	currency pg_catalog.text NOT NULL DEFAULT 'USD',
	note pg_catalog.text,
	PRIMARY KEY (workflow, valid_from)
);
COMMENT ON TABLE @extschema@.baseline IS
	'per workflow and from a date: what a BPO charges per item and what a human costs (loaded cost per hour, minutes to finish an item the AI did not solve); the items views price human fixes and the value of solved items with the row in force when the item started';
COMMENT ON COLUMN @extschema@.baseline.workflow IS 'workflow name, as the attached views show it';
COMMENT ON COLUMN @extschema@.baseline.valid_from IS 'in force for items started at or after this time, until a later row';
COMMENT ON COLUMN @extschema@.baseline.bpo_unit_price IS 'price per item charged by a BPO (or any outside vendor): the value of an item the AI solves';
COMMENT ON COLUMN @extschema@.baseline.human_cost_per_hour IS 'loaded cost of an hour of the people who finish items the AI did not';
COMMENT ON COLUMN @extschema@.baseline.human_minutes_per_item IS 'minutes a person needs to finish an item the AI did not solve';
COMMENT ON COLUMN @extschema@.baseline.currency IS 'currency of the amounts (the views use USD rows only)';
COMMENT ON COLUMN @extschema@.baseline.note IS 'free text (the contract, the time study)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.baseline', '');

-- Lenient readers (C) ----------------------------------------------------------

CREATE FUNCTION @extschema@.attach_int8(pg_catalog.text) RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_int8';
COMMENT ON FUNCTION @extschema@.attach_int8(pg_catalog.text) IS
	'a token count from text ("1234", " 1234 ", "1234.0"), or NULL when the text is not a whole number from 0 to 1,000,000,000 (never an error)';

CREATE FUNCTION @extschema@.attach_numeric(pg_catalog.text) RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_numeric';
COMMENT ON FUNCTION @extschema@.attach_numeric(pg_catalog.text) IS
	'a finite decimal number from text (sign, digits, point, exponent of up to 3 digits), or NULL (never an error)';

CREATE FUNCTION @extschema@.attach_usage_problem(input pg_catalog.text, output pg_catalog.text,
	cache_read pg_catalog.text, cache_write pg_catalog.text, reasoning pg_catalog.text,
	cache_separate pg_catalog.bool) RETURNS pg_catalog.text
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_usage_problem';
COMMENT ON FUNCTION @extschema@.attach_usage_problem(pg_catalog.text, pg_catalog.text, pg_catalog.text,
	pg_catalog.text, pg_catalog.text, pg_catalog.bool) IS
	'why token counts given as text cannot be priced (not a whole number, negative, above a billion, cache above input, reasoning above output), or NULL; absent counts are 0; cache_separate: the input count excludes the cache tokens';

CREATE FUNCTION @extschema@.attach_usage_problem(input pg_catalog.int8, output pg_catalog.int8,
	cache_read pg_catalog.int8, cache_write pg_catalog.int8, reasoning pg_catalog.int8,
	cache_separate pg_catalog.bool) RETURNS pg_catalog.text
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_usage_problem_int8';
COMMENT ON FUNCTION @extschema@.attach_usage_problem(pg_catalog.int8, pg_catalog.int8, pg_catalog.int8,
	pg_catalog.int8, pg_catalog.int8, pg_catalog.bool) IS
	'why integer token counts cannot be priced (negative, above a billion, cache above input, reasoning above output), or NULL';

CREATE FUNCTION @extschema@.attach_input_tokens(input pg_catalog.text, cache_read pg_catalog.text,
	cache_write pg_catalog.text, cache_separate pg_catalog.bool) RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_input_tokens';
COMMENT ON FUNCTION @extschema@.attach_input_tokens(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.bool) IS
	'all input tokens, cache included, from text counts: the input count, plus the cache counts when cache_separate; NULL when the input count is absent or unusable';

CREATE FUNCTION @extschema@.attach_list_cost(provider pg_catalog.text, model pg_catalog.text,
	input pg_catalog.text, output pg_catalog.text, cache_read pg_catalog.text, cache_write pg_catalog.text,
	reasoning pg_catalog.text, at pg_catalog.timestamptz, cache_separate pg_catalog.bool)
	RETURNS pg_catalog.numeric
	LANGUAGE c STABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_list_cost';
COMMENT ON FUNCTION @extschema@.attach_list_cost(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text,
	pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.timestamptz, pg_catalog.bool) IS
	'tokacct.cost() of a call whose token counts are text (absent counts are 0); NULL when a count is unusable or the counts contradict each other (attach_usage_problem says why), when neither input nor output is given, or when at is NULL or infinite';

CREATE FUNCTION @extschema@.attach_args_hash(pg_catalog.jsonb) RETURNS pg_catalog.text
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_args_hash';
COMMENT ON FUNCTION @extschema@.attach_args_hash(pg_catalog.jsonb) IS
	'md5 of tool call arguments in canonical JSON text (keys sorted, spacing fixed); a JSON string holding JSON is read first, any other string hashed as it is';

CREATE FUNCTION @extschema@.attach_args_hash(pg_catalog.text) RETURNS pg_catalog.text
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_args_hash_text';
COMMENT ON FUNCTION @extschema@.attach_args_hash(pg_catalog.text) IS
	'md5 of tool call arguments given as text: of their canonical JSON form when the text is JSON, else of the text';

CREATE FUNCTION @extschema@.attach_otlp_attributes(pg_catalog.jsonb) RETURNS pg_catalog.jsonb
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_otlp_attributes';
COMMENT ON FUNCTION @extschema@.attach_otlp_attributes(pg_catalog.jsonb) IS
	'an OTLP/JSON attribute list [{"key": k, "value": {"intValue": "12"}}] as an object of text values {"k": "12"} (the Collector''s ClickHouse layout); malformed elements are skipped, never an error';

CREATE FUNCTION @extschema@.attach_unix_nanos(pg_catalog.jsonb) RETURNS pg_catalog.timestamptz
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_unix_nanos';
COMMENT ON FUNCTION @extschema@.attach_unix_nanos(pg_catalog.jsonb) IS
	'an OTLP time (unix nanoseconds, a JSON string or number) as timestamptz, truncated to the microsecond; NULL when it is not one';

-- A span status in tokacct's words (the waste statuses): ok, error,
-- rate_limited, timeout, server_error, discarded; NULL when the spelling is
-- unknown (the views then take it as ok and list the span as a problem).
-- The status may be OpenTelemetry's (Unset, Ok, Error in any case, with or
-- without the STATUS_CODE_ prefix, or 0, 1, 2), Langfuse's level (DEBUG,
-- DEFAULT, WARNING, ERROR) or tokacct's own; a failure is refined by the
-- error type (error.type, or Langfuse's status message): 429 or a rate
-- limit, 408/504 or a timeout, other 5xx or an overload, a cancellation.
CREATE FUNCTION @extschema@.attach_status(status pg_catalog.text, error_type pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
	-- a success; an unset status is one unless an error type says otherwise
	WHEN status OPERATOR(pg_catalog.~*) '^\s*((status_code_)?(ok|1)|debug|default|warning|info|success)\s*$'
		OR ((status IS NULL OR status OPERATOR(pg_catalog.~*) '^\s*((status_code_)?(unset|0))?\s*$')
			AND (error_type IS NULL OR error_type OPERATOR(pg_catalog.~) '^\s*$'))
		THEN 'ok'
	-- a failure (or an unset status with an error type), refined by the error type
	WHEN status IS NULL OR status OPERATOR(pg_catalog.~*) '^\s*((status_code_)?(unset|0|error|2)|failed|failure|fatal)?\s*$'
		THEN CASE
			WHEN error_type OPERATOR(pg_catalog.~*) '(^|\D)429(\D|$)|rate.?limit|too.?many.?requests|quota'
				THEN 'rate_limited'
			WHEN error_type OPERATOR(pg_catalog.~*) '(^|\D)(408|504)(\D|$)|time.?out|timed.?out|deadline'
				THEN 'timeout'
			WHEN error_type OPERATOR(pg_catalog.~*) '(^|\D)5\d\d(\D|$)|server.?error|overloaded|unavailable'
				THEN 'server_error'
			WHEN error_type OPERATOR(pg_catalog.~*) 'cancel'
				THEN 'discarded'
			ELSE 'error'
		END
	WHEN status OPERATOR(pg_catalog.~*) '^\s*(rate_limited|rate_limit)\s*$' THEN 'rate_limited'
	WHEN status OPERATOR(pg_catalog.~*) '^\s*(timeout|timed_out)\s*$' THEN 'timeout'
	WHEN status OPERATOR(pg_catalog.~*) '^\s*server_error\s*$' THEN 'server_error'
	WHEN status OPERATOR(pg_catalog.~*) '^\s*(discarded|cancelled|canceled)\s*$' THEN 'discarded'
	-- HTTP status codes
	WHEN status OPERATOR(pg_catalog.~) '^\s*2\d\d\s*$' THEN 'ok'
	WHEN status OPERATOR(pg_catalog.~) '^\s*429\s*$' THEN 'rate_limited'
	WHEN status OPERATOR(pg_catalog.~) '^\s*(408|504)\s*$' THEN 'timeout'
	WHEN status OPERATOR(pg_catalog.~) '^\s*5\d\d\s*$' THEN 'server_error'
	WHEN status OPERATOR(pg_catalog.~) '^\s*4\d\d\s*$' THEN 'error'
	ELSE NULL
END;
COMMENT ON FUNCTION @extschema@.attach_status(pg_catalog.text, pg_catalog.text) IS
	'a span status (OpenTelemetry Unset/Ok/Error, STATUS_CODE_*, 0/1/2; Langfuse levels; tokacct''s own) as ok, error, rate_limited, timeout, server_error or discarded, a failure refined by its error type; NULL when unknown';

-- Strict sources: a row that would be left out raises this instead.
CREATE FUNCTION @extschema@.attach_refuse(source pg_catalog.text, trace_id pg_catalog.text,
	span_id pg_catalog.text, reason pg_catalog.text) RETURNS pg_catalog.numeric
	LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	RAISE EXCEPTION 'source "%": span % of trace % cannot be counted: %', source, span_id, trace_id, reason
		USING ERRCODE = 'data_exception',
			  HINT = 'The source was attached with "strict": true. Attach it without it to have such rows left out of the figures and listed in its problems view.';
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_refuse(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
	'raises the error of a strict attached source for a row it cannot count (used inside the attached views)';

-- ---------------------------------------------------------------------------
-- Reading the user's columns.  attach_column() is the one place that decides
-- whether a column may be read and how: it must exist (else 42703, naming
-- it), and be of a built-in type of the expected kind, or a domain over one
-- (else 42804).  A type created in the database could carry casts and
-- operators written by its owner, which would run with the rights of
-- whoever reads the views.  Enums are the exception tokacct needs (Langfuse
-- stores its observation types and levels in enums): they are read only
-- through their output function, enum_out, which their owner cannot
-- replace, never through a cast.
--
-- Returns the SQL expression reading column col of alias as the wanted
-- kind: text, jsonb, timestamptz (a timestamp without time zone is UTC),
-- int8, numeric (money), count (a token count, as text for
-- attach_usage_problem), enum (an enum or a text column, as text).
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.attach_column(rel pg_catalog.regclass, col pg_catalog.text,
	want pg_catalog.text, what pg_catalog.text, alias pg_catalog.text DEFAULT 'r')
	RETURNS pg_catalog.text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	typ oid;
	base oid;
	t record;
	ref text;
	ok boolean;
	-- built-in types accepted for each kind
	textish oid[] := ARRAY['text'::regtype, 'varchar'::regtype, 'bpchar'::regtype, 'name'::regtype]::oid[];
	ints oid[] := ARRAY['int2'::regtype, 'int4'::regtype, 'int8'::regtype]::oid[];
BEGIN
	IF col IS NULL OR col = '' THEN
		RAISE EXCEPTION 'no column given for the %', what
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name the column in the mapping, or map the key to null when the table has none.';
	END IF;
	SELECT a.atttypid INTO typ FROM pg_attribute a
	 WHERE a.attrelid = rel AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'column "%" of relation % does not exist', col, rel
			USING ERRCODE = 'undefined_column',
				  DETAIL = format('The %s is read from column "%s". The relation has: %s.', what, col,
					(SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
					  WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped)),
				  HINT = 'Map the key to the column that holds it (option "columns"), or to null when there is none.';
	END IF;
	-- a domain has no casts or operators of its own: read it as its base type
	base := typ;
	LOOP
		SELECT ty.oid, ty.typtype, ty.typbasetype, ty.typoutput, ty.typnamespace INTO t
		  FROM pg_type ty WHERE ty.oid = base;
		EXIT WHEN t.typtype <> 'd';
		base := t.typbasetype;
	END LOOP;
	ref := alias || '.' || quote_ident(col);
	-- Text in a nondeterministic collation (case-insensitive, ...) is read
	-- as its bytes: the views and the rollups tell values apart by their
	-- bytes (a trace id, a workflow), and a column that compared "abc"
	-- equal to "ABC" would merge two traces in one view and not in another.
	IF EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_collation co ON co.oid = a.attcollation
				WHERE a.attrelid = rel AND a.attname = col AND NOT co.collisdeterministic) THEN
		ref := format('(%s COLLATE pg_catalog."default")', ref);
	END IF;

	IF want = 'enum' AND t.typtype = 'e' THEN
		IF t.typoutput <> 'pg_catalog.enum_out'::regproc THEN
			RAISE EXCEPTION 'column "%" of relation % has an enum type with an unusual output function', col, rel
				USING ERRCODE = 'datatype_mismatch',
					  DETAIL = format('Type %s prints with %s.', typ::regtype, t.typoutput);
		END IF;
		-- the enum's own output function: no cast, nothing its owner wrote
		RETURN format('pg_catalog.format(''%%s'', %s)', ref);
	END IF;

	IF base >= 16384 THEN
		RAISE EXCEPTION 'column "%" of relation % has type %, which was created in this database', col, rel, typ::regtype
			USING ERRCODE = 'datatype_mismatch',
				  DETAIL = format('The %s must be of a built-in type (or a domain over one). A cast or operator of a type created in the database runs its owner''s code with the rights of whoever reads the views, so tokacct does not read such columns.', what),
				  HINT = 'Attach a table or view whose column has a built-in type (text, a number type, jsonb, timestamptz).';
	END IF;

	ok := CASE want
		WHEN 'text' THEN base = ANY (textish) OR base = ANY (ints) OR base = 'uuid'::regtype
		WHEN 'enum' THEN base = ANY (textish)
		WHEN 'jsonb' THEN base = 'jsonb'::regtype
		WHEN 'timestamptz' THEN base IN ('timestamptz'::regtype, 'timestamp'::regtype)
		WHEN 'int8' THEN base = ANY (ints)
		WHEN 'count' THEN base = ANY (textish) OR base = ANY (ints) OR base = 'numeric'::regtype
		WHEN 'numeric' THEN base = ANY (textish) OR base = ANY (ints)
			OR base IN ('numeric'::regtype, 'float4'::regtype, 'float8'::regtype)
		WHEN 'bool' THEN base = 'bool'::regtype
		ELSE false
	END;
	IF NOT ok THEN
		RAISE EXCEPTION 'column "%" of relation % has type %, not a type that holds the %', col, rel, typ::regtype, what
			USING ERRCODE = 'datatype_mismatch',
				  HINT = format('The %s is read as %s.', what, CASE want
					WHEN 'text' THEN 'text (text, varchar, char, name, uuid or an integer type)'
					WHEN 'enum' THEN 'an enum or text'
					WHEN 'jsonb' THEN 'jsonb'
					WHEN 'timestamptz' THEN 'timestamptz (or timestamp, read as UTC)'
					WHEN 'int8' THEN 'an integer type'
					WHEN 'count' THEN 'a whole number (an integer type, numeric, or text)'
					WHEN 'numeric' THEN 'a number (numeric, float, an integer type, or text)'
					WHEN 'bool' THEN 'boolean'
					ELSE want END);
	END IF;

	RETURN CASE
		WHEN want IN ('text', 'enum', 'count') AND base = 'text'::regtype THEN ref
		WHEN want IN ('text', 'enum', 'count') THEN ref || '::pg_catalog.text'
		WHEN want = 'timestamptz' AND base = 'timestamp'::regtype THEN format('pg_catalog.timezone(''UTC'', %s)', ref)
		WHEN want = 'int8' AND base <> 'int8'::regtype THEN ref || '::pg_catalog.int8'
		WHEN want = 'numeric' AND base = ANY (textish) THEN format('@extschema@.attach_numeric(%s::pg_catalog.text)', ref)
		WHEN want = 'numeric' AND base <> 'numeric'::regtype THEN ref || '::pg_catalog.numeric'
		ELSE ref
	END;
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_column(pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
	'the SQL reading a column of an attached relation as text, jsonb, timestamptz, int8, numeric, count, enum or bool; refuses a missing column (42703) and a type that is not built-in or not of that kind (42804)';

-- A relation that can be attached: a table, view, materialized view,
-- partitioned or foreign table.
CREATE FUNCTION @extschema@.attach_relation(rel pg_catalog.regclass, what pg_catalog.text)
	RETURNS pg_catalog.regclass
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	k "char";
BEGIN
	IF rel IS NULL THEN
		RAISE EXCEPTION 'no relation given for the %', what
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT c.relkind INTO k FROM pg_class c WHERE c.oid = rel;
	IF k IS NULL OR k NOT IN ('r', 'p', 'v', 'm', 'f') THEN
		RAISE EXCEPTION '% is not a table or view', rel
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = format('The %s must be a table, view, materialized view, partitioned or foreign table.', what);
	END IF;
	RETURN rel;
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_relation(pg_catalog.regclass, pg_catalog.text) IS
	'checks that a relation to attach is a table, view, materialized view, partitioned or foreign table';

-- Does rel have a unique index (or primary key) on exactly the columns
-- cols, or a subset of them, with no predicate?  Then no two rows share
-- those values and the views need not collapse duplicates.
CREATE FUNCTION @extschema@.attach_unique(rel pg_catalog.regclass, cols pg_catalog.text[])
	RETURNS pg_catalog.bool
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
	SELECT EXISTS (
		SELECT 1 FROM pg_index i
		 WHERE i.indrelid = rel AND i.indisunique AND i.indisvalid AND i.indpred IS NULL
		   AND i.indexprs IS NULL AND i.indnkeyatts > 0
		   AND (SELECT bool_and(a.attname = ANY (cols))
				  FROM unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) k(attnum)
				  JOIN pg_attribute a ON a.attrelid = rel AND a.attnum = k.attnum))
$fn$;
COMMENT ON FUNCTION @extschema@.attach_unique(pg_catalog.regclass, pg_catalog.text[]) IS
	'true when a unique index of the relation covers only the given columns (span ids are then unique and the views skip collapsing duplicates)';

-- Options: refuse unknown keys and check the common ones; returns the
-- options with the defaults filled in.
CREATE FUNCTION @extschema@.attach_options(opts pg_catalog.jsonb, allowed pg_catalog.text[],
	defaults pg_catalog.jsonb) RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	k text;
	o jsonb := coalesce(opts, '{}');
BEGIN
	IF jsonb_typeof(o) <> 'object' THEN
		RAISE EXCEPTION 'options must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Got %s.', left(o::text, 100));
	END IF;
	FOR k IN SELECT jsonb_object_keys(o) LOOP
		IF NOT k = ANY (allowed) THEN
			RAISE EXCEPTION 'unknown option "%"', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Options here: %s.', array_to_string(allowed, ', '));
		END IF;
	END LOOP;
	o := defaults || o;
	IF o ? 'strict' AND jsonb_typeof(o -> 'strict') <> 'boolean' THEN
		RAISE EXCEPTION 'option "strict" must be true or false' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF o ? 'cache_tokens' AND NOT (o ->> 'cache_tokens') = ANY (ARRAY['included', 'separate']) THEN
		RAISE EXCEPTION 'option "cache_tokens" must be "included" or "separate"'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = '"included": the input count includes cache reads and writes (OpenTelemetry''s convention, OpenAI); "separate": the instrumentation reports them apart (Anthropic''s API), so they are added.';
	END IF;
	IF o ? 'cost_basis' AND NOT (o ->> 'cost_basis') = ANY (ARRAY['reported_first', 'list']) THEN
		RAISE EXCEPTION 'option "cost_basis" must be "reported_first" or "list"'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = '"reported_first": a reported cost in USD wins over the list price; "list": the list price always.';
	END IF;
	IF o ? 'dedup' AND NOT (o ->> 'dedup') = ANY (ARRAY['auto', 'always', 'never']) THEN
		RAISE EXCEPTION 'option "dedup" must be "auto", "always" or "never"'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = '"auto": collapse repeated span ids unless a unique index rules them out.';
	END IF;
	IF o ? 'agent_usage' AND NOT (o ->> 'agent_usage') = ANY (ARRAY['when_no_calls', 'never']) THEN
		RAISE EXCEPTION 'option "agent_usage" must be "when_no_calls" or "never"'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF o ? 'success_values' AND (jsonb_typeof(o -> 'success_values') <> 'array'
			OR EXISTS (SELECT 1 FROM jsonb_array_elements(o -> 'success_values') e WHERE jsonb_typeof(e) <> 'string')) THEN
		RAISE EXCEPTION 'option "success_values" must be an array of strings'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN o;
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_options(pg_catalog.jsonb, pg_catalog.text[], pg_catalog.jsonb) IS
	'checks the options of an attach call (unknown keys and bad values are errors) and fills in the defaults';

-- A structure value (workflow, item, outcome, option, conversation, attempt)
-- from where the source keeps it.  spec is a string or an array of strings,
-- the first non-empty value wins:
--   attr:KEY       an attribute of the span (OpenTelemetry attributes)
--   resource:KEY   a resource attribute
--   metadata:A/B   a key (path, / between levels) of Langfuse metadata
--   score:NAME     a Langfuse score of the trace (latest)
--   column:NAME    a column of the span table, read as text
--   const:VALUE    a constant
--   a plain word   a field the source names (name, service, trace_id,
--                  trace_name, session, external_id, user_id, ...)
-- vocab maps the plain words to SQL, and the prefixes (with their colon)
-- to format() templates over the quoted key (%1$s) and the quoted path
-- (%2$s, a text[] literal).
CREATE FUNCTION @extschema@.attach_spec(spec pg_catalog.jsonb, what pg_catalog.text,
	vocab pg_catalog.jsonb, rel pg_catalog.regclass) RETURNS pg_catalog.text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	items text[];
	it text;
	pre text;
	arg text;
	parts text[] := '{}';
	e text;
BEGIN
	IF spec IS NULL OR jsonb_typeof(spec) = 'null' THEN
		RETURN 'NULL::pg_catalog.text';
	ELSIF jsonb_typeof(spec) = 'string' THEN
		items := ARRAY[spec #>> '{}'];
	ELSIF jsonb_typeof(spec) = 'array' AND jsonb_array_length(spec) > 0
		  AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(spec) x WHERE jsonb_typeof(x) <> 'string') THEN
		items := ARRAY(SELECT jsonb_array_elements_text(spec));
	ELSE
		RAISE EXCEPTION 'option "%" must be a string or an array of strings', what
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Got %s.', left(spec::text, 100));
	END IF;
	FOREACH it IN ARRAY items LOOP
		IF it ~ '^[a-z_]+:' THEN
			pre := substring(it FROM '^[a-z_]+:');
			arg := substr(it, length(pre) + 1);
		ELSE
			pre := it;
			arg := NULL;
		END IF;
		IF pre = 'const:' THEN
			e := quote_literal(arg) || '::pg_catalog.text';
		ELSIF pre = 'column:' THEN
			e := @extschema@.attach_column(rel, arg, 'text', what);
		ELSIF vocab ? pre AND arg IS NOT NULL AND arg <> '' THEN
			e := format(vocab ->> pre, quote_literal(arg), quote_literal(string_to_array(arg, '/')::text));
		ELSIF vocab ? pre AND arg IS NULL THEN
			e := vocab ->> pre;
		ELSE
			RAISE EXCEPTION 'option "%": unknown source "%"', what, it
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Use %s, column:NAME or const:VALUE.',
						(SELECT string_agg(CASE WHEN k LIKE '%:' THEN k || 'KEY' ELSE k END, ', ' ORDER BY k)
						   FROM jsonb_object_keys(vocab) k));
		END IF;
		parts := parts || format('NULLIF(%s, '''')', e);
	END LOOP;
	IF cardinality(parts) = 1 THEN
		RETURN parts[1];
	END IF;
	RETURN 'COALESCE(' || array_to_string(parts, ', ') || ')';
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_spec(pg_catalog.jsonb, pg_catalog.text, pg_catalog.jsonb, pg_catalog.regclass) IS
	'compiles where a source keeps a structure value (attr:KEY, resource:KEY, metadata:PATH, score:NAME, column:NAME, const:VALUE or a field name; an array tries each in turn) into SQL';

-- A system of record (tickets, claims) joined to the items by the item key:
-- option "record" = {"table": "schema.table", "key": column, and "solved":
-- a boolean column, or "outcome": a column whose text is judged by
-- success_values}.  Returns the SQL of a relation "rec" with one row per key
-- (key, solved, outcome), or NULL without the option.
CREATE FUNCTION @extschema@.attach_record(opts pg_catalog.jsonb, success pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	r jsonb := opts -> 'record';
	rel regclass;
	k text;
	solved text;
	outcome text;
BEGIN
	IF r IS NULL OR jsonb_typeof(r) = 'null' THEN
		RETURN NULL;
	END IF;
	IF jsonb_typeof(r) <> 'object' OR coalesce(jsonb_typeof(r -> 'table'), '') <> 'string'
	   OR coalesce(jsonb_typeof(r -> 'key'), '') <> 'string'
	   OR (coalesce(jsonb_typeof(r -> 'solved'), '') <> 'string' AND coalesce(jsonb_typeof(r -> 'outcome'), '') <> 'string')
	   OR EXISTS (SELECT 1 FROM jsonb_object_keys(r) x WHERE x NOT IN ('table', 'key', 'solved', 'outcome')) THEN
		RAISE EXCEPTION 'option "record" must be {"table": ..., "key": ..., "solved": ... or "outcome": ...}'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = '"table" is the schema-qualified table of the system of record, "key" its column holding the item key, "solved" a boolean column or "outcome" a column whose values success_values judges.';
	END IF;
	rel := to_regclass(r ->> 'table');
	IF rel IS NULL THEN
		RAISE EXCEPTION 'option "record": relation "%" does not exist', r ->> 'table'
			USING ERRCODE = 'undefined_table',
				  HINT = 'Give the table with its schema (schema.table).';
	END IF;
	PERFORM @extschema@.attach_relation(rel, 'system of record');
	k := @extschema@.attach_column(rel, r ->> 'key', 'text', 'item key of the system of record', 'x');
	outcome := CASE WHEN r ? 'outcome' THEN @extschema@.attach_column(rel, r ->> 'outcome', 'enum', 'outcome of the system of record', 'x') END;
	solved := CASE WHEN r ? 'solved' THEN @extschema@.attach_column(rel, r ->> 'solved', 'bool', 'solved flag of the system of record', 'x')
				   ELSE format('pg_catalog.lower(pg_catalog.btrim(%s)) = ANY (%s)', outcome, success) END;
	-- one row per key: a key recorded twice counts as solved when any row says so
	RETURN format('SELECT %1$s AS key, pg_catalog.bool_or(%2$s) AS solved, pg_catalog.min(%3$s) AS outcome '
				  'FROM %4$s x WHERE %1$s IS NOT NULL GROUP BY 1',
				  k, solved, coalesce(outcome, 'NULL::pg_catalog.text'), rel);
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_record(pg_catalog.jsonb, pg_catalog.text) IS
	'the SQL reading the system of record named in option "record" (item key, solved, outcome), one row per key';

-- ---------------------------------------------------------------------------
-- The views.  Every source compiles to "parts" (jsonb):
--   from   a relation aliased r with one row per stored span (a table, or a
--          subquery that expands documents or joins tables);
--   trace, span   the SQL over r of the trace and span ids (text);
--   order  SQL over r ordering the stored copies of one span id (the first
--          is kept): every column read, so the choice is deterministic;
--   cols   the SQL over r of each column of "the base", all text unless
--          said:
--     trace_id, span_id, parent_id (NULL for a root), name,
--     started_at, ended_at (timestamptz), status_raw, error_type,
--     operation, kind (llm, tool, agent or other),
--     provider, request_model, response_model,
--     input_raw, output_raw, cache_read_raw, cache_write_raw, reasoning_raw
--       (token counts as text, as the source has them),
--     reported_cost (numeric, NULL when none or not a number),
--     reported_cost_raw (its text when the source stores text),
--     reported_currency, reported_cost_source, estimated_cost (numeric),
--     conversation_id, tool_name, args_hash,
--     workflow, item, outcome, option, attempt_raw (the structure values
--       the span carries).
-- attach_build() turns the parts into the SQL of the seven views.  Repeated
-- span ids (at-least-once delivery) are collapsed on the stored rows,
-- before anything is read from them, and only when dedup is true (a unique
-- index on the ids makes it needless).
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.attach_build(source pg_catalog.text, parts pg_catalog.jsonb,
	opts pg_catalog.jsonb, dedup pg_catalog.bool) RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	src text := quote_literal(source) || '::pg_catalog.text';
	sep text := CASE WHEN opts ->> 'cache_tokens' = 'separate' THEN 'true' ELSE 'false' END;
	is_strict boolean := coalesce((opts ->> 'strict')::boolean, false);
	reported_first boolean := coalesce(opts ->> 'cost_basis', 'reported_first') = 'reported_first';
	success text := quote_literal(coalesce(
		(SELECT array_agg(lower(v)) FROM jsonb_array_elements_text(opts -> 'success_values') v),
		ARRAY['success', 'succeeded', 'solved', 'resolved', 'ok', 'pass', 'passed', 'true', '1', 'yes'])::text)
		|| '::pg_catalog.text[]';
	colnames text[] := ARRAY['trace_id', 'span_id', 'parent_id', 'name', 'started_at', 'ended_at',
		'status_raw', 'error_type', 'operation', 'kind', 'provider', 'request_model', 'response_model',
		'input_raw', 'output_raw', 'cache_read_raw', 'cache_write_raw', 'reasoning_raw',
		'reported_cost', 'reported_cost_raw', 'reported_currency', 'reported_cost_source', 'estimated_cost',
		'conversation_id', 'tool_name', 'args_hash', 'workflow', 'item', 'outcome', 'option', 'attempt_raw'];
	cols jsonb := parts -> 'cols';
	rel text := parts ->> 'from';
	sel text;
	content text;
	call_filter text;
	usage_kind text;
	base_all text;			-- every stored row
	spans_rows text;		-- every span once, usage_kind telling calls and agent usage
	calls_rows text;		-- every counted call once
	priced text;			-- template: the rows of {{ROWS}} priced
	spans_priced text;
	calls_priced text;
	traces text;
	attempts text;
	by_trace text;
	attempt_expr text;
	v_calls text;
	v_spans text;
	v_attempts text;
	v_items text;
	v_conv text;
	v_problems text;
	record text;
	c text;
BEGIN
	FOREACH c IN ARRAY colnames LOOP
		IF NOT cols ? c THEN
			RAISE EXCEPTION 'attach_build: the source gives no column %', c USING ERRCODE = 'internal_error';
		END IF;
	END LOOP;
	SELECT string_agg(format('%s AS %I', cols ->> n, n), E',\n\t   ' ORDER BY o)
	  INTO sel FROM unnest(colnames) WITH ORDINALITY u(n, o);
	SELECT 'ROW(' || string_agg('b.' || n, ', ') || ')' INTO content
	  FROM unnest(colnames) n WHERE n NOT IN ('trace_id', 'span_id');

	base_all := format('SELECT %s%sFROM %s', sel, E'\n  ', rel);

	-- The spans whose usage is priced: LLM calls ("call"), and agent spans
	-- that carry usage ("agent").  An agent span's usage counts only where
	-- its trace has no LLM-call span (else it repeats its calls' usage):
	-- attempts, items and spans apply that per trace; the calls view lists
	-- LLM calls only, so it reads each row once, with no look at others.
	call_filter := format('%s = ''llm''', cols ->> 'kind');
	usage_kind := format('CASE %s WHEN ''llm'' THEN ''call''%s END', cols ->> 'kind',
		CASE WHEN coalesce(opts ->> 'agent_usage', 'when_no_calls') = 'when_no_calls' THEN format(
			' WHEN ''agent'' THEN CASE WHEN %s IS NOT NULL OR %s IS NOT NULL THEN ''agent'' END',
			cols ->> 'input_raw', cols ->> 'output_raw')
		ELSE '' END);

	-- Repeated span ids are collapsed on the stored rows (before anything is
	-- read from them), keeping the first copy in the source's order.
	IF dedup THEN
		spans_rows := format(
			'SELECT %1$s, %7$s AS usage_kind%2$sFROM (SELECT DISTINCT ON (%3$s COLLATE "C", %4$s COLLATE "C") r.* FROM %5$s '
			'ORDER BY %3$s COLLATE "C", %4$s COLLATE "C", %6$s) r',
			sel, E'\n  ', parts ->> 'trace', parts ->> 'span', rel, parts ->> 'order', usage_kind);
		calls_rows := format(
			'SELECT %1$s, ''call''::pg_catalog.text AS usage_kind%2$sFROM (SELECT DISTINCT ON (%3$s COLLATE "C", %4$s COLLATE "C") r.* FROM %5$s '
			'WHERE %7$s ORDER BY %3$s COLLATE "C", %4$s COLLATE "C", %6$s) r',
			sel, E'\n  ', parts ->> 'trace', parts ->> 'span', rel, parts ->> 'order', call_filter);
	ELSE
		spans_rows := format('SELECT %s, %s AS usage_kind%sFROM %s', sel, usage_kind, E'\n  ', rel);
		calls_rows := format('SELECT %s, ''call''::pg_catalog.text AS usage_kind%sFROM %s WHERE %s', sel, E'\n  ', rel, call_filter);
	END IF;

	-- The rows of {{ROWS}} priced: l0 reads the counts and names, l1 prices,
	-- l2 says what is wrong.  Spans without usage to price cost 0.
	priced := format($q$
SELECT l2.*,
	   CASE WHEN NOT l2.priced THEN 0::pg_catalog.numeric ELSE %1$s END AS cost,
	   CASE WHEN NOT l2.priced THEN NULL
			WHEN %2$s AND l2.reported_usd IS NOT NULL THEN 'reported'
			WHEN l2.list_cost IS NOT NULL THEN 'catalog' END AS cost_source
  FROM (SELECT l1.*,
			   COALESCE(
				 CASE WHEN NOT l1.priced THEN NULL
					  WHEN l1.started_at IS NULL OR NOT pg_catalog.isfinite(l1.started_at)
					  THEN 'no usable start time' END,
				 CASE WHEN l1.priced THEN @extschema@.attach_usage_problem(l1.input_raw, l1.output_raw,
					 l1.cache_read_raw, l1.cache_write_raw, l1.reasoning_raw, %3$s) END,
				 CASE WHEN l1.priced THEN l1.reported_problem END,
				 CASE WHEN l1.priced AND NOT l1.has_usage AND l1.status = 'ok' AND l1.reported_usd IS NULL
					  THEN 'no token usage on a successful call' END,
				 CASE WHEN l1.priced AND l1.has_usage AND l1.list_cost IS NULL
					  THEN pg_catalog.format('no catalog price for provider %%s, model %%s',
							pg_catalog.quote_nullable(l1.price_provider), pg_catalog.quote_nullable(l1.price_model)) END,
				 CASE WHEN l1.status_unknown
					  THEN pg_catalog.format('unknown status %%s (taken as ok)', pg_catalog.quote_literal(l1.status_raw)) END
			   ) AS problem
		  FROM (SELECT l0.*,
					   CASE WHEN l0.priced THEN
						 COALESCE(@extschema@.attach_list_cost(l0.price_provider, l0.price_model, l0.input_raw,
								l0.output_raw, l0.cache_read_raw, l0.cache_write_raw, l0.reasoning_raw,
								l0.started_at, %3$s),
							CASE WHEN NOT l0.has_usage AND l0.status <> 'ok' THEN 0::pg_catalog.numeric END) END AS list_cost
				  FROM (SELECT c.*, c.usage_kind IS NOT NULL AS priced,
							   COALESCE(@extschema@.attach_status(c.status_raw, c.error_type), 'ok') AS status,
							   @extschema@.attach_status(c.status_raw, c.error_type) IS NULL AS status_unknown,
							   COALESCE(c.response_model, c.request_model) AS model,
							   -- the counts of a call that reports usage; an absent one is 0,
							   -- an unusable one NULL
							   CASE WHEN c.usage_kind IS NOT NULL AND (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) THEN
								   COALESCE(@extschema@.attach_input_tokens(c.input_raw, c.cache_read_raw, c.cache_write_raw, %3$s),
									   CASE WHEN pg_catalog.btrim(COALESCE(c.input_raw, '')) = '' THEN 0::pg_catalog.int8 END) END AS input_tokens,
							   {{COUNT:output_raw}} AS output_tokens,
							   {{COUNT:cache_read_raw}} AS cache_read_tokens,
							   {{COUNT:cache_write_raw}} AS cache_write_tokens,
							   {{COUNT:reasoning_raw}} AS reasoning_tokens,
							   (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) AS has_usage,
							   CASE WHEN c.reported_cost IS NULL AND c.reported_cost_raw IS NOT NULL
									 AND c.reported_cost_raw !~ '^\s*$'
									THEN pg_catalog.format('reported cost not a number: %%s',
										pg_catalog.quote_literal(pg_catalog.left(c.reported_cost_raw, 40)))
									WHEN c.reported_cost IS NULL THEN NULL
									WHEN c.reported_cost = 'NaN'::pg_catalog.numeric
									  OR c.reported_cost = 'Infinity'::pg_catalog.numeric
									  OR c.reported_cost = '-Infinity'::pg_catalog.numeric
									THEN 'reported cost not finite'
									WHEN c.reported_cost < 0 THEN 'reported cost negative'
									WHEN c.reported_cost > 1000000 THEN 'reported cost above 1000000'
							   END AS reported_problem,
							   CASE WHEN c.reported_cost IS NOT NULL
									 AND c.reported_cost <> 'NaN'::pg_catalog.numeric
									 AND c.reported_cost >= 0 AND c.reported_cost <= 1000000
									 AND pg_catalog.upper(COALESCE(c.reported_currency, 'USD')) = 'USD'
									THEN pg_catalog.round(c.reported_cost, 12) END AS reported_usd,
							   COALESCE({{ALIAS}} OPERATOR(pg_catalog.->>) 2,
								   {{PROVIDER_MAP}} OPERATOR(pg_catalog.->>) pg_catalog.lower(c.provider),
								   c.provider) AS price_provider,
							   COALESCE({{ALIAS}} OPERATOR(pg_catalog.->>) 3, c.response_model, c.request_model) AS price_model
						  FROM ({{ROWS}}) c) l0) l1) l2$q$,
		CASE
			WHEN is_strict THEN 'CASE WHEN l2.problem IS NOT NULL THEN @extschema@.attach_refuse('
				|| src || ', l2.trace_id, l2.span_id, l2.problem) '
				|| CASE WHEN reported_first THEN 'ELSE COALESCE(l2.reported_usd, l2.list_cost) END'
						ELSE 'ELSE l2.list_cost END' END
			WHEN reported_first THEN 'COALESCE(l2.reported_usd, l2.list_cost)'
			ELSE 'l2.list_cost'
		END,
		CASE WHEN reported_first THEN 'true' ELSE 'false' END,
		sep);
	-- Aliases: each table is read once per query into a jsonb map (an
	-- InitPlan), so a call costs a key lookup rather than a join (the
	-- planner cannot estimate how many calls a join would see) and the
	-- pricing runs in parallel workers.  A model alias is looked for under
	-- "provider US model" (lower case); its period (unix seconds, the open
	-- ends as +-1e15) is chosen by the call's time with a jsonpath filter.
	priced := replace(replace(replace(priced,
		'{{ALIAS}}', $q$(CASE WHEN {{MODEL_MAP}} IS NOT NULL AND pg_catalog.isfinite(c.started_at)
					AND {{MODEL_MAP}} OPERATOR(pg_catalog.?) {{MODEL_KEY}}
			THEN pg_catalog.jsonb_path_query_first({{MODEL_MAP}} OPERATOR(pg_catalog.->) {{MODEL_KEY}},
				'strict $[*] ? (@[0] <= $t && $t < @[1])',
				pg_catalog.jsonb_build_object('t', EXTRACT(epoch FROM c.started_at))) END)$q$),
		'{{MODEL_KEY}}', $q$(pg_catalog.lower(COALESCE(c.provider, '')) OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) pg_catalog.lower(COALESCE(c.response_model, c.request_model)))$q$),
		'{{MODEL_MAP}}', $q$(SELECT pg_catalog.jsonb_object_agg(m.k, m.periods)
			FROM (SELECT ma.provider OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) ma.model AS k,
						 pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(
							 CASE WHEN pg_catalog.isfinite(ma.valid_from) THEN EXTRACT(epoch FROM ma.valid_from) ELSE -1e15 END,
							 CASE WHEN pg_catalog.isfinite(ma.valid_until) THEN EXTRACT(epoch FROM ma.valid_until) ELSE 1e15 END,
							 ma.catalog_provider, ma.catalog_model) ORDER BY ma.valid_from) AS periods
					FROM @extschema@.model_alias ma GROUP BY 1) m)$q$);
	FOREACH c IN ARRAY ARRAY['output_raw', 'cache_read_raw', 'cache_write_raw', 'reasoning_raw'] LOOP
		priced := replace(priced, '{{COUNT:' || c || '}}', format(
			'CASE WHEN c.usage_kind IS NOT NULL AND (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) THEN '
			'COALESCE(@extschema@.attach_int8(c.%1$s), CASE WHEN pg_catalog.btrim(COALESCE(c.%1$s, '''')) = '''' '
			'THEN 0::pg_catalog.int8 END) END', c));
	END LOOP;
	priced := replace(priced, '{{PROVIDER_MAP}}',
		'(SELECT pg_catalog.jsonb_object_agg(pa.provider, pa.catalog_provider) FROM @extschema@.provider_alias pa)');
	spans_priced := replace(priced, '{{ROWS}}', spans_rows);
	calls_priced := replace(priced, '{{ROWS}}', calls_rows);

	-- Traces: their time, root status and structure values (a root span's
	-- value first, else the smallest any span of the trace carries).
	-- Repeated rows change none of these, so every stored row is read.
	traces := format($q$
SELECT b.trace_id,
	   pg_catalog.min(b.started_at) AS started_at,
	   pg_catalog.max(COALESCE(b.ended_at, b.started_at)) AS ended_at,
	   pg_catalog.count(DISTINCT b.span_id) FILTER (WHERE b.parent_id IS NULL) AS roots,
	   pg_catalog.bool_or(COALESCE(@extschema@.attach_status(b.status_raw, b.error_type), 'ok') NOT IN ('ok', 'discarded'))
		   FILTER (WHERE b.parent_id IS NULL) AS root_failed,
	   COALESCE(pg_catalog.min(b.workflow) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.workflow)) AS workflow,
	   COALESCE(pg_catalog.min(b.item) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.item)) AS item,
	   COALESCE(pg_catalog.min(b.outcome) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.outcome)) AS outcome,
	   COALESCE(pg_catalog.min(b.option) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.option)) AS option,
	   COALESCE(pg_catalog.min(b.attempt_raw) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.attempt_raw)) AS attempt_raw
  FROM (%1$s) b
 GROUP BY b.trace_id$q$, base_all);

	-- Attempts: one per trace, numbered per (workflow, item) in time order
	-- (or by the attempt number the source records); the run is the trace
	-- of the item's first attempt (waste sees an item's attempts together).
	IF opts ? 'attempt' AND jsonb_typeof(opts -> 'attempt') <> 'null' THEN
		attempt_expr := 'CASE WHEN t.item IS NOT NULL THEN @extschema@.attach_int8(t.attempt_raw)::pg_catalog.int4 END';
	ELSE
		attempt_expr := 'CASE WHEN t.item IS NOT NULL THEN (pg_catalog.row_number() OVER w)::pg_catalog.int4 END';
	END IF;
	attempts := format($q$
SELECT t.*,
	   %1$s AS attempt,
	   CASE WHEN t.item IS NOT NULL THEN pg_catalog.first_value(t.trace_id) OVER w ELSE t.trace_id END AS run_id,
	   CASE WHEN t.outcome IS NOT NULL THEN pg_catalog.lower(pg_catalog.btrim(t.outcome)) = ANY (%2$s)
			WHEN t.roots = 0 THEN NULL
			ELSE NOT t.root_failed END AS succeeded
  FROM (%3$s) t
WINDOW w AS (PARTITION BY t.workflow, t.item ORDER BY t.started_at, t.trace_id COLLATE "C")$q$,
		attempt_expr, success, '{{TRACES}}');

	-- One row per trace (a GROUP BY, so a join to it that reads nothing is
	-- removed); joined by hash to calls, spans and conversations.
	by_trace := format(
		'SELECT a.trace_id, pg_catalog.min(a.workflow) AS workflow, pg_catalog.min(a.item) AS item, '
		'pg_catalog.min(a.attempt) AS attempt, pg_catalog.min(a.run_id) AS run_id, '
		'pg_catalog.bool_and(a.succeeded) AS succeeded FROM (%s) a GROUP BY a.trace_id',
		replace(attempts, '{{TRACES}}', traces));

	-- calls --------------------------------------------------------------
	v_calls := format($q$
SELECT %1$s AS source, p.trace_id, p.span_id, p.parent_id, p.name, p.operation, p.started_at, p.ended_at, p.status,
	   a.workflow, a.item, a.attempt, COALESCE(p.conversation_id, p.trace_id) AS conversation_id,
	   p.provider, p.model, p.request_model, p.response_model, p.price_provider, p.price_model,
	   p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cache_write_tokens, p.reasoning_tokens,
	   p.list_cost, p.reported_usd AS reported_cost, p.reported_currency, p.reported_cost_source,
	   p.estimated_cost, p.cost, p.cost_source, p.problem
  FROM (%2$s) p
  LEFT JOIN (%3$s) a ON a.trace_id = p.trace_id$q$,
		src, calls_priced, by_trace);

	-- attempts: the structure and the cost of each trace in one pass over
	-- its priced spans (no join whose size the planner would guess) --------
	v_attempts := format($q$
SELECT %1$s AS source, a.workflow, a.item, COALESCE(a.option, a.models) AS option, a.attempt,
	   a.trace_id, a.started_at, a.ended_at, a.succeeded, a.outcome,
	   CASE WHEN a.left_out = 0 THEN COALESCE(a.cost, 0) END AS cost,
	   COALESCE(a.cost, 0) AS cost_known,
	   a.calls, a.left_out AS calls_left_out,
	   COALESCE(a.input_tokens, 0)::pg_catalog.int8 AS input_tokens,
	   COALESCE(a.output_tokens, 0)::pg_catalog.int8 AS output_tokens,
	   CASE WHEN a.item IS NULL THEN 'no item key'
			WHEN a.attempt IS NULL THEN 'attempt number not a whole number'
			WHEN a.succeeded IS NULL THEN 'success unknown: the trace has no root span'
			WHEN a.left_out > 0 THEN pg_catalog.format('%%s of %%s calls left out of the cost', a.left_out, a.calls)
	   END AS problem
  FROM (%2$s) a$q$,
		src, replace(attempts, '{{TRACES}}', format($q$
SELECT b.trace_id,
	   pg_catalog.min(b.started_at) AS started_at,
	   pg_catalog.max(COALESCE(b.ended_at, b.started_at)) AS ended_at,
	   pg_catalog.count(*) FILTER (WHERE b.parent_id IS NULL) AS roots,
	   pg_catalog.bool_or(b.status NOT IN ('ok', 'discarded')) FILTER (WHERE b.parent_id IS NULL) AS root_failed,
	   COALESCE(pg_catalog.min(b.workflow) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.workflow)) AS workflow,
	   COALESCE(pg_catalog.min(b.item) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.item)) AS item,
	   COALESCE(pg_catalog.min(b.outcome) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.outcome)) AS outcome,
	   COALESCE(pg_catalog.min(b.option) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.option)) AS option,
	   COALESCE(pg_catalog.min(b.attempt_raw) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.attempt_raw)) AS attempt_raw,
	   -- the calls' cost, or where the trace has no LLM call its agent spans' usage
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.cost) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.cost) FILTER (WHERE b.usage_kind = 'agent') END AS cost,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'agent') END AS calls,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call' AND b.cost IS NULL)
			ELSE pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'agent' AND b.cost IS NULL) END AS left_out,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.input_tokens) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.input_tokens) FILTER (WHERE b.usage_kind = 'agent') END AS input_tokens,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.output_tokens) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.output_tokens) FILTER (WHERE b.usage_kind = 'agent') END AS output_tokens,
	   COALESCE(pg_catalog.string_agg(DISTINCT b.price_model, '+' ORDER BY b.price_model) FILTER (WHERE b.usage_kind = 'call'),
				pg_catalog.string_agg(DISTINCT b.price_model, '+' ORDER BY b.price_model) FILTER (WHERE b.usage_kind = 'agent')) AS models
  FROM (%1$s) b
 GROUP BY b.trace_id$q$, spans_priced)));

	-- items ------------------------------------------------------------------
	record := @extschema@.attach_record(opts, success);
	v_items := format($q$
SELECT i.source, i.workflow, i.item, i.option, i.attempts, i.solved, i.started_at, i.ended_at,
	   i.ai_cost, i.ai_cost_known, i.calls, i.calls_left_out,
	   CASE WHEN i.solved THEN 0::pg_catalog.numeric
			WHEN NOT i.solved THEN pg_catalog.round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12)
	   END AS human_fix_cost,
	   b.bpo_unit_price,
	   CASE WHEN i.solved THEN b.bpo_unit_price
			WHEN NOT i.solved THEN b.bpo_unit_price - pg_catalog.round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12)
	   END AS value,
	   i.problem
  FROM (%3$s) i
  LEFT JOIN LATERAL (SELECT bl.bpo_unit_price, bl.human_cost_per_hour, bl.human_minutes_per_item
					   FROM @extschema@.baseline bl
					  WHERE bl.workflow = i.workflow AND bl.valid_from <= i.started_at
						AND pg_catalog.upper(bl.currency) = 'USD'
					  ORDER BY bl.valid_from DESC LIMIT 1) b ON true$q$,
		src, v_attempts, CASE WHEN record IS NULL THEN '{{ITEMS}}' ELSE format(
			'SELECT i0.source, i0.workflow, i0.item, i0.option, i0.attempts, '
			'COALESCE(rec.solved, i0.solved) AS solved, i0.started_at, i0.ended_at, i0.ai_cost, i0.ai_cost_known, '
			'i0.calls, i0.calls_left_out, COALESCE(i0.problem, CASE WHEN rec.key IS NULL '
			'THEN ''no row for the item in the system of record'' END) AS problem '
			'FROM ({{ITEMS}}) i0 LEFT JOIN (%s) rec ON rec.key = i0.item', record) END);
	v_items := replace(v_items, '{{ITEMS}}', format($q$SELECT %1$s AS source, a.workflow, a.item,
			   pg_catalog.string_agg(DISTINCT a.option, '+' ORDER BY a.option) AS option,
			   pg_catalog.count(*) AS attempts,
			   pg_catalog.bool_or(a.succeeded) AS solved,
			   pg_catalog.min(a.started_at) AS started_at, pg_catalog.max(a.ended_at) AS ended_at,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) = 0 THEN pg_catalog.sum(a.cost) END AS ai_cost,
			   pg_catalog.sum(a.cost_known) AS ai_cost_known,
			   pg_catalog.sum(a.calls)::pg_catalog.int8 AS calls,
			   pg_catalog.sum(a.calls_left_out)::pg_catalog.int8 AS calls_left_out,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) > 0
					THEN pg_catalog.format('%%s of %%s calls left out of the cost', pg_catalog.sum(a.calls_left_out), pg_catalog.sum(a.calls))
					WHEN pg_catalog.bool_or(a.succeeded) IS NULL THEN 'success unknown'
			   END AS problem
		  FROM (%2$s) a
		 WHERE a.item IS NOT NULL
		 GROUP BY a.workflow, a.item$q$,
		src, v_attempts));

	-- conversations ------------------------------------------------------------
	v_conv := format($q$
SELECT %1$s AS source, a.workflow, a.item, a.attempt,
	   COALESCE(p.conversation_id, p.trace_id) AS conversation_id, p.trace_id, p.span_id,
	   (pg_catalog.row_number() OVER (PARTITION BY COALESCE(p.conversation_id, p.trace_id)
			ORDER BY p.started_at, p.span_id COLLATE "C"))::pg_catalog.int4 AS seq,
	   p.started_at, p.model, p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cost, p.problem
  FROM (%2$s) p
  LEFT JOIN (%3$s) a ON a.trace_id = p.trace_id$q$,
		src, calls_priced, by_trace);

	-- spans ------------------------------------------------------------------
	-- an agent span's usage counts where its trace has no LLM call
	v_spans := format($q$
SELECT s.source, COALESCE(a.run_id, s.trace_id) AS trace_id, s.trace_id AS source_trace_id,
	   s.span_id, s.parent_id, s.kind, COALESCE(s.tool_name, s.name) AS name, s.operation, s.args_hash,
	   CASE WHEN s.parent_id IS NULL AND a.succeeded IS FALSE AND s.status = 'ok' THEN 'error' ELSE s.status END AS status,
	   CASE WHEN s.counted THEN s.cost ELSE 0::pg_catalog.numeric END AS cost,
	   s.started_at, s.ended_at, a.workflow, a.item, a.attempt, s.model,
	   CASE WHEN s.counted THEN s.input_tokens END AS input_tokens,
	   CASE WHEN s.counted THEN s.output_tokens END AS output_tokens,
	   s.call_seq,
	   CASE WHEN s.counted AND s.input_tokens > 0 AND s.list_cost IS NOT NULL
			THEN pg_catalog.round(@extschema@.cost(s.price_provider, s.price_model, s.input_tokens, 0, 0, 0, 0, s.started_at)
				 / s.input_tokens, 12) END AS input_price,
	   CASE WHEN s.counted OR s.usage_kind IS NULL THEN s.problem END AS problem
  FROM (SELECT %1$s AS source, p.*,
			   (p.usage_kind = 'call' OR (p.usage_kind = 'agent' AND NOT pg_catalog.bool_or(p.usage_kind = 'call') OVER t))
				   IS TRUE AS counted,
			   CASE WHEN p.usage_kind = 'call'
					THEN (pg_catalog.count(*) FILTER (WHERE p.usage_kind = 'call') OVER t_upto)::pg_catalog.int4 END AS call_seq
		  FROM (%2$s) p
		WINDOW t AS (PARTITION BY p.trace_id ORDER BY p.started_at, p.span_id COLLATE "C"
					 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
			   t_upto AS (PARTITION BY p.trace_id ORDER BY p.started_at, p.span_id COLLATE "C"
						  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) s
  LEFT JOIN (%3$s) a ON a.trace_id = s.trace_id$q$,
		src, spans_priced, by_trace);

	-- problems ---------------------------------------------------------------
	v_problems := format($q$
SELECT %1$s AS source, CASE WHEN p.usage_kind = 'call' THEN 'call' ELSE 'span' END AS level, p.trace_id, p.span_id,
	   p.problem AS reason
  FROM (%2$s) p
 WHERE p.problem IS NOT NULL
   AND (p.usage_kind IS DISTINCT FROM 'agent' OR p.trace_id IS NULL
		OR p.trace_id NOT IN (SELECT c.trace_id FROM (%6$s) c WHERE c.trace_id IS NOT NULL))
UNION ALL
SELECT %1$s, 'span', b.trace_id, b.span_id,
	   pg_catalog.format('%%s copies of the span id with different content: one kept', pg_catalog.count(*))
  FROM (%3$s) b
 WHERE (b.trace_id, b.span_id) IN (SELECT d.trace_id, d.span_id FROM (%3$s) d
								   GROUP BY d.trace_id, d.span_id HAVING pg_catalog.count(*) > 1)
 GROUP BY b.trace_id, b.span_id
HAVING pg_catalog.count(DISTINCT %4$s) > 1
UNION ALL
SELECT %1$s, 'trace', a.trace_id, NULL,
	   CASE WHEN a.item IS NULL THEN 'no item key: the trace is in no attempt or item'
			WHEN a.attempt IS NULL THEN pg_catalog.format('attempt number not a whole number: %%s', pg_catalog.quote_literal(a.attempt_raw))
			ELSE 'no root span: the attempt''s success is unknown' END
  FROM (%5$s) a
 WHERE a.item IS NULL OR a.attempt IS NULL OR a.succeeded IS NULL$q$,
		src, spans_priced, base_all, content, replace(attempts, '{{TRACES}}', traces),
		-- the traces that have an LLM call: an agent span's usage is a
		-- problem only in a trace without one (else it is not counted)
		format('SELECT %s AS trace_id FROM %s WHERE %s', cols ->> 'trace_id', rel, call_filter));

	RETURN jsonb_build_object('calls', v_calls, 'spans', v_spans, 'attempts', v_attempts,
		'items', v_items, 'conversations', v_conv, 'problems', v_problems);
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_build(pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.bool) IS
	'the SQL of the seven views of an attached source, from the parts its attach function compiled (the relation, the span keys, the order of repeated copies, the SQL of each column)';

-- The comments of the views and their columns (the same for every source).
CREATE FUNCTION @extschema@.attach_comments() RETURNS pg_catalog.jsonb
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
SELECT $j${
 "calls": {
  "": "one row per LLM call (spans repeated by at-least-once delivery counted once), priced at the list prices in force when it ran, with the cost it reported",
  "source": "name of the attached source",
  "trace_id": "trace of the call",
  "span_id": "span id of the call",
  "parent_id": "parent span id (NULL for a root)",
  "name": "span or observation name",
  "operation": "gen_ai.operation.name (chat, generate_content, text_completion, embeddings; invoke_agent for an agent span whose usage is counted)",
  "started_at": "start of the call",
  "ended_at": "end of the call",
  "status": "ok, error, rate_limited, timeout, server_error or discarded",
  "workflow": "workflow of the call's trace",
  "item": "item (ticket, claim, ...) of the call's trace",
  "attempt": "attempt number of the call's trace within its item (1, 2, ... in time order)",
  "conversation_id": "conversation the call belongs to (gen_ai.conversation.id, else its trace)",
  "provider": "provider as the trace names it",
  "model": "model as the trace names it: the response model, else the request model",
  "request_model": "model asked for",
  "response_model": "model that answered",
  "price_provider": "provider the call is priced as (after tokacct.model_alias and tokacct.provider_alias)",
  "price_model": "model the call is priced as (after tokacct.model_alias)",
  "input_tokens": "all input tokens, cache reads and writes included",
  "output_tokens": "all output tokens, reasoning included",
  "cache_read_tokens": "input tokens read from the cache",
  "cache_write_tokens": "input tokens written to the cache",
  "reasoning_tokens": "output tokens spent on reasoning",
  "list_cost": "catalog list price of the call at its time (USD); NULL when it cannot be priced (see problem)",
  "reported_cost": "cost the trace reported, USD, rounded half away from zero to 12 decimals; NULL when none, not USD or unusable",
  "reported_currency": "currency of the reported cost as the trace gives it",
  "reported_cost_source": "who computed the reported cost (gen_ai.usage.cost.source: provider, local; langfuse)",
  "estimated_cost": "a cost the trace store computed itself (Langfuse's calculated_total_cost), for comparison; not used in any figure",
  "cost": "the call's cost in every figure: the reported cost when there is one (cost_basis reported_first), else the list cost; NULL: left out (see problem)",
  "cost_source": "reported or catalog; NULL when the call is left out",
  "problem": "why the call is left out of a figure or is odd; NULL when it is fine"
 },
 "spans": {
  "": "one row per span (repeated span ids collapsed), in the columns tokacct.waste_by_trace() and waste_by_workflow() read",
  "source": "name of the attached source",
  "trace_id": "the tree waste classifies: the trace of the item's first attempt, so the attempts of an item in traces of their own are seen together (else the span's own trace)",
  "source_trace_id": "the span's own trace",
  "span_id": "span id",
  "parent_id": "parent span id (NULL for a root)",
  "kind": "llm, tool, agent or other (from gen_ai.operation.name, or the observation type)",
  "name": "span name (the tool name for a tool call)",
  "operation": "gen_ai.operation.name as recorded",
  "args_hash": "md5 of a tool call's arguments in canonical JSON form (NULL when not recorded)",
  "status": "ok, error, rate_limited, timeout, server_error or discarded; the root of a failed attempt is error",
  "cost": "the span's own cost (its call's cost; 0 for spans that are not counted calls); NULL when left out",
  "started_at": "start of the span",
  "ended_at": "end of the span",
  "workflow": "workflow of the span's trace",
  "item": "item of the span's trace",
  "attempt": "attempt number of the span's trace",
  "model": "model of an LLM span",
  "input_tokens": "input tokens of a counted call (cache included)",
  "output_tokens": "output tokens of a counted call",
  "call_seq": "order of the call among the counted calls of its trace (1, 2, ... by start time); NULL for other spans",
  "input_price": "list price of one uncached input token of the call at its context tier (USD), for charging the input a span induced",
  "problem": "why the span is left out of a figure or is odd; NULL when it is fine"
 },
 "attempts": {
  "": "one row per attempt: a trace, numbered within its item in time order; its cost is the cost of its whole trace, each call counted once",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item key (NULL when the trace has none: see problem)",
  "option": "the option run: as named by the source, else the models its calls are priced as ('+' between several)",
  "attempt": "attempt number within the item, from 1 in time order (or as the source records it)",
  "trace_id": "trace of the attempt",
  "started_at": "start of the attempt's first span",
  "ended_at": "end of its last span",
  "succeeded": "the outcome says success, or (no outcome) the root span did not fail; NULL when unknown",
  "outcome": "outcome as the source records it",
  "cost": "cost of the attempt's calls; NULL when any of them is left out",
  "cost_known": "cost of the calls that could be counted",
  "calls": "calls in the attempt",
  "calls_left_out": "calls left out of the cost (see the problems view)",
  "input_tokens": "input tokens of its counted calls",
  "output_tokens": "output tokens of its counted calls",
  "problem": "why the attempt is incomplete; NULL when it is fine"
 },
 "items": {
  "": "one row per item (workflow, item key): its attempts, whether it was solved, what the AI cost and what the human fix and the BPO would cost (tokacct.baseline)",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item key",
  "option": "option(s) its attempts ran ('+' between several)",
  "attempts": "number of attempts",
  "solved": "an attempt succeeded; NULL when unknown",
  "started_at": "start of the first attempt",
  "ended_at": "end of the last attempt",
  "ai_cost": "cost of every call of every attempt; NULL when any call is left out",
  "ai_cost_known": "cost of the calls that could be counted",
  "calls": "calls",
  "calls_left_out": "calls left out of ai_cost (see the problems view)",
  "human_fix_cost": "0 when solved; else human_cost_per_hour x human_minutes_per_item / 60 of the baseline in force when it started; NULL without a baseline",
  "bpo_unit_price": "BPO price per item of the baseline in force when it started",
  "value": "value of the outcome: the BPO price when solved, less the human fix cost when not",
  "problem": "why the item is incomplete; NULL when it is fine"
 },
 "conversations": {
  "": "the counted calls of each conversation in order, for tokacct.context_growth(seq, input_tokens, output_tokens)",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item",
  "attempt": "attempt number",
  "conversation_id": "conversation (gen_ai.conversation.id, else the trace)",
  "trace_id": "trace of the call",
  "span_id": "span of the call",
  "seq": "order of the call in its conversation (1, 2, ... by start time)",
  "started_at": "start of the call",
  "model": "model",
  "input_tokens": "input tokens (cache included)",
  "output_tokens": "output tokens",
  "cache_read_tokens": "input tokens read from the cache",
  "cost": "cost of the call; NULL when left out",
  "problem": "why the call is left out; NULL when it is fine"
 },
 "problems": {
  "": "every row left out of a figure or odd, with its key and the reason: unusable token counts, unknown models, unusable reported costs, unknown statuses, span ids repeated with different content, traces without an item key or a root",
  "source": "name of the attached source",
  "level": "call, span or trace",
  "trace_id": "trace",
  "span_id": "span (NULL for a trace)",
  "reason": "what is wrong, in words"
 }
}$j$::pg_catalog.jsonb
$fn$;
COMMENT ON FUNCTION @extschema@.attach_comments() IS 'the comments given to the attached views and their columns';

-- Drop one view of an attached source; views of the user's built on it stop
-- the drop, with a hint.
CREATE FUNCTION @extschema@.attach_drop_view(source pg_catalog.text, qname pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	EXECUTE format('DROP VIEW IF EXISTS %s', qname);
EXCEPTION WHEN dependent_objects_still_exist THEN
	RAISE EXCEPTION 'cannot drop view % of source "%": other objects depend on it', qname, source
		USING ERRCODE = 'dependent_objects_still_exist',
			  DETAIL = (SELECT 'Depending: ' || string_agg(DISTINCT d.refobj, ', ') || '.'
						  FROM (SELECT pg_describe_object(dep.classid, dep.objid, dep.objsubid) AS refobj
								  FROM pg_depend dep JOIN pg_rewrite rw ON dep.classid = 'pg_rewrite'::regclass AND rw.oid = dep.objid
								 WHERE dep.refobjid = qname::regclass AND rw.ev_class <> qname::regclass) d),
			  HINT = 'Drop the views built on it first, then detach or attach again.';
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_drop_view(pg_catalog.text, pg_catalog.text) IS
	'drops one view of an attached source; an error with a hint when views of the user depend on it';

-- Create (or replace, or leave) the views of an attached source and record
-- them.  views maps each view name to its SQL.
CREATE FUNCTION @extschema@.attach_install(p_source pg_catalog.text, p_kind pg_catalog.text,
	p_relations pg_catalog.regclass[], p_schema pg_catalog.name, p_prefix pg_catalog.text,
	p_options pg_catalog.jsonb, p_views pg_catalog.jsonb,
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	old @extschema@.attachment%ROWTYPE;
	had_row boolean;
	target_schema name := coalesce(p_schema, p_source::name);
	prefix text := coalesce(p_prefix, '');
	created boolean := false;
	def text;
	names text[] := ARRAY['calls', 'spans', 'attempts', 'items', 'conversations', 'problems'];
	n text;
	qname text;
	made text[] := '{}';
	comments jsonb := @extschema@.attach_comments();
	c record;
	existing oid;
	all_there boolean;
BEGIN
	IF p_source IS NULL OR p_source !~ '^[a-z_][a-z0-9_]{0,47}$' THEN
		RAISE EXCEPTION 'invalid source name "%"', p_source
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
		RAISE EXCEPTION 'cannot create the views of source "%" in schema "%"', p_source, target_schema
			USING ERRCODE = 'invalid_schema_name',
				  HINT = 'Choose a schema of your own (by default the views go to a schema named after the source).';
	END IF;
	IF prefix !~ '^[a-z0-9_]{0,20}$' THEN
		RAISE EXCEPTION 'invalid view name prefix "%"', prefix
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use up to 20 lower-case letters, digits and _ (the views are named prefix || ''calls'', ...).';
	END IF;
	def := md5(concat_ws(E'\x1f', p_kind, p_relations::text, target_schema, prefix, p_views::text));

	SELECT * INTO old FROM @extschema@.attachment a WHERE a.source = p_source FOR UPDATE;
	had_row := FOUND;

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

	-- the old views go when the source moves to another schema or prefix
	IF had_row AND (old.view_schema <> target_schema OR old.view_prefix <> prefix) THEN
		FOREACH qname IN ARRAY old.views LOOP
			PERFORM @extschema@.attach_drop_view(p_source, qname);
			view_name := qname;
			action := 'dropped';
			RETURN NEXT;
		END LOOP;
		IF old.created_schema AND NOT EXISTS (
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
		qname := format('%I.%I', target_schema, prefix || n);
		SELECT cl.oid INTO existing FROM pg_class cl JOIN pg_namespace s ON s.oid = cl.relnamespace
		 WHERE s.nspname = target_schema AND cl.relname = prefix || n;
		IF existing IS NOT NULL AND NOT (had_row AND qname = ANY (old.views)) THEN
			RAISE EXCEPTION 'relation % already exists', qname
				USING ERRCODE = 'duplicate_table',
					  DETAIL = format('Attaching source "%s" would create view %s.', p_source, qname),
					  HINT = 'Attach into another schema, or give a prefix for the view names.';
		END IF;
		BEGIN
			EXECUTE format('CREATE OR REPLACE VIEW %s WITH (security_invoker = true) AS %s', qname, p_views ->> n);
		EXCEPTION WHEN invalid_table_definition THEN
			-- the columns changed (a newer tokacct): views over it must go too
			PERFORM @extschema@.attach_drop_view(p_source, qname);
			EXECUTE format('CREATE VIEW %s WITH (security_invoker = true) AS %s', qname, p_views ->> n);
		END;
		EXECUTE format('COMMENT ON VIEW %s IS %L', qname,
			format('tokacct, source %s: %s', p_source, comments -> n ->> ''));
		FOR c IN SELECT a.attname FROM pg_attribute a
				  WHERE a.attrelid = qname::regclass AND a.attnum > 0 AND NOT a.attisdropped LOOP
			EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', qname, c.attname, comments -> n ->> c.attname);
		END LOOP;
		made := made || qname;
		view_name := qname;
		action := CASE WHEN had_row AND qname = ANY (old.views) THEN 'replaced' ELSE 'created' END;
		RETURN NEXT;
	END LOOP;

	INSERT INTO @extschema@.attachment AS a (source, kind, relations, view_schema, view_prefix, options,
		views, definition, created_schema)
	VALUES (p_source, p_kind, p_relations, target_schema, prefix, p_options, made, def, created)
	ON CONFLICT (source) DO UPDATE
	   SET kind = excluded.kind, relations = excluded.relations, view_schema = excluded.view_schema,
		   view_prefix = excluded.view_prefix, options = excluded.options, views = excluded.views,
		   definition = excluded.definition, created_schema = excluded.created_schema,
		   attached_at = now(), attached_by = CURRENT_USER;
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_install(pg_catalog.text, pg_catalog.text, pg_catalog.regclass[],
	pg_catalog.name, pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb) IS
	'creates, replaces or keeps the seven views of an attached source and records them in tokacct.attachment (the work of every attach function)';

CREATE FUNCTION @extschema@.detach(source pg_catalog.text,
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	old @extschema@.attachment%ROWTYPE;
	qname text;
BEGIN
	IF NOT has_table_privilege('@extschema@.attachment', 'DELETE') THEN
		RAISE EXCEPTION 'permission denied to detach a source'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Role "%s" cannot change @extschema@.attachment.', current_user),
				  HINT = format('The extension''s owner can grant it: CALL @extschema@.grant_admin(%L);', current_user);
	END IF;
	SELECT * INTO old FROM @extschema@.attachment a WHERE a.source = detach.source FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no attached source "%"', source
			USING ERRCODE = 'undefined_object',
				  HINT = coalesce('Attached: ' || (SELECT string_agg(a.source, ', ' ORDER BY a.source)
													 FROM @extschema@.attachment a) || '.', 'No source is attached.');
	END IF;
	FOREACH qname IN ARRAY old.views LOOP
		PERFORM @extschema@.attach_drop_view(source, qname);
		view_name := qname;
		action := 'dropped';
		RETURN NEXT;
	END LOOP;
	IF old.created_schema AND NOT EXISTS (
			SELECT 1 FROM pg_depend d JOIN pg_namespace s ON s.oid = d.refobjid
			 WHERE d.refclassid = 'pg_namespace'::regclass AND s.nspname = old.view_schema) THEN
		EXECUTE format('DROP SCHEMA IF EXISTS %I', old.view_schema);
		view_name := quote_ident(old.view_schema);
		action := 'dropped';
		RETURN NEXT;
	END IF;
	DELETE FROM @extschema@.attachment a WHERE a.source = old.source;
END
$fn$;
COMMENT ON FUNCTION @extschema@.detach(pg_catalog.text) IS
	'drops the views of an attached source (and the schema attaching created, when it is empty) and forgets the source; the traces are untouched';

-- ---------------------------------------------------------------------------
-- OpenTelemetry spans in a table: by default the columns of the Collector's
-- ClickHouse exporter in PostgreSQL types ("Timestamp" timestamptz,
-- "TraceId", "SpanId", "ParentSpanId" text with '' for a root,
-- "SpanName", "ServiceName", "StatusCode" (Unset/Ok/Error),
-- "StatusMessage" text, "ResourceAttributes", "SpanAttributes" jsonb
-- objects of string values, "Duration" bigint nanoseconds).
-- ---------------------------------------------------------------------------

-- The columns of the base over OpenTelemetry-shaped spans (shared by
-- attach_otel, attach_otlp_json and attach): cols maps the vocabulary to SQL
-- over alias r: trace_id, span_id, parent_id, start_time, duration
-- (nanoseconds) or end_time, name, service, status, status_message, attributes (jsonb
-- object of the span's attributes), resource_attributes (jsonb); keys maps
-- the attribute names.  Returns the "cols" of the parts (see attach_build).
CREATE FUNCTION @extschema@.attach_span_cols(cols pg_catalog.jsonb, keys pg_catalog.jsonb,
	opts pg_catalog.jsonb, vocab pg_catalog.jsonb, rel pg_catalog.regclass)
	RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	a text := coalesce(cols ->> 'attributes', 'NULL::pg_catalog.jsonb');
	ops jsonb := coalesce(opts -> 'operations', '{}');
	llm text[] := ARRAY(SELECT jsonb_array_elements_text(ops -> 'llm'));
	tool text[] := ARRAY(SELECT jsonb_array_elements_text(ops -> 'tool'));
	agent text[] := ARRAY(SELECT jsonb_array_elements_text(ops -> 'agent'));
	op text;
	kind_case text;
	k text;
	status text := coalesce(cols ->> 'status', 'NULL::pg_catalog.text');
	dur text := coalesce(cols ->> 'duration', 'NULL::pg_catalog.int8');
	name text := coalesce(cols ->> 'name', 'NULL::pg_catalog.text');
BEGIN
	IF cardinality(llm) = 0 THEN llm := ARRAY['chat', 'generate_content', 'text_completion', 'embeddings']; END IF;
	IF cardinality(tool) = 0 THEN tool := ARRAY['execute_tool']; END IF;
	IF cardinality(agent) = 0 THEN agent := ARRAY['invoke_agent', 'create_agent']; END IF;
	op := format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'operation');
	-- a simple CASE reads the operation once
	kind_case := 'CASE ' || op;
	FOREACH k IN ARRAY llm LOOP kind_case := kind_case || format(' WHEN %L THEN ''llm''', k); END LOOP;
	FOREACH k IN ARRAY tool LOOP kind_case := kind_case || format(' WHEN %L THEN ''tool''', k); END LOOP;
	FOREACH k IN ARRAY agent LOOP kind_case := kind_case || format(' WHEN %L THEN ''agent''', k); END LOOP;
	kind_case := kind_case || ' ELSE ''other'' END';

	RETURN jsonb_build_object(
		'trace_id', cols ->> 'trace_id',
		'span_id', cols ->> 'span_id',
		'parent_id', format('NULLIF(%s, '''')', coalesce(cols ->> 'parent_id', 'NULL::pg_catalog.text')),
		'name', name,
		'started_at', cols ->> 'start_time',
		-- the end time, or the start plus a duration (beyond about 3 years
		-- not one; nor a start past the year 100000, which would overflow)
		'ended_at', coalesce(cols ->> 'end_time', format('CASE WHEN %2$s BETWEEN 0 AND 100000000000000000 '
			'AND %1$s < ''100000-01-01 00:00+00''::pg_catalog.timestamptz '
			'THEN %1$s + (%2$s / 1000)::pg_catalog.float8 * ''1 microsecond''::pg_catalog.interval END',
			cols ->> 'start_time', dur)),
		'status_raw', status,
		-- error.type, else the status message of a span with a status
		'error_type', format('COALESCE(%s, CASE WHEN %s IS NOT NULL THEN NULLIF(%s, '''') END)',
			format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'error_type'), status,
			coalesce(cols ->> 'status_message', 'NULL::pg_catalog.text')),
		'operation', op,
		'kind', kind_case,
		'provider', format('COALESCE((%1$s OPERATOR(pg_catalog.->>) %2$L), (%1$s OPERATOR(pg_catalog.->>) %3$L))',
			a, keys ->> 'provider', keys ->> 'provider_deprecated'),
		'request_model', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'request_model'),
		'response_model', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'response_model'),
		'input_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'input_tokens'),
		'output_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'output_tokens'),
		'cache_read_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cache_read_tokens'),
		'cache_write_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cache_write_tokens'),
		'reasoning_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'reasoning_tokens'),
		'reported_cost', format('@extschema@.attach_numeric(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cost'),
		'reported_cost_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cost'),
		'reported_currency', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cost_currency'),
		'reported_cost_source', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cost_source'),
		'estimated_cost', 'NULL::pg_catalog.numeric',
		'conversation_id', @extschema@.attach_spec(opts -> 'conversation', 'conversation', vocab, rel),
		'tool_name', format('CASE WHEN %s = ANY (%L::pg_catalog.text[]) THEN COALESCE((%s OPERATOR(pg_catalog.->>) %L), %s) END',
			op, tool, a, keys ->> 'tool_name', name),
		'args_hash', format('CASE WHEN %s = ANY (%L::pg_catalog.text[]) THEN @extschema@.attach_args_hash(%s OPERATOR(pg_catalog.->) %L) END',
			op, tool, a, keys ->> 'tool_arguments'),
		'workflow', @extschema@.attach_spec(opts -> 'workflow', 'workflow', vocab, rel),
		'item', @extschema@.attach_spec(opts -> 'item', 'item', vocab, rel),
		'outcome', @extschema@.attach_spec(opts -> 'outcome', 'outcome', vocab, rel),
		'option', @extschema@.attach_spec(opts -> 'option', 'option', vocab, rel),
		'attempt_raw', @extschema@.attach_spec(opts -> 'attempt', 'attempt', vocab, rel));
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_span_cols(pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb,
	pg_catalog.jsonb, pg_catalog.regclass) IS
	'the SQL of the columns the attached views are built on, for OpenTelemetry-shaped spans (a row per span, GenAI attributes in a jsonb object)';

-- The GenAI attribute names of the OpenTelemetry semantic conventions.
CREATE FUNCTION @extschema@.attach_genai_keys() RETURNS pg_catalog.jsonb
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
SELECT '{"operation": "gen_ai.operation.name", "provider": "gen_ai.provider.name",
  "provider_deprecated": "gen_ai.system", "request_model": "gen_ai.request.model",
  "response_model": "gen_ai.response.model", "input_tokens": "gen_ai.usage.input_tokens",
  "output_tokens": "gen_ai.usage.output_tokens", "cache_read_tokens": "gen_ai.usage.cache_read.input_tokens",
  "cache_write_tokens": "gen_ai.usage.cache_creation.input_tokens",
  "reasoning_tokens": "gen_ai.usage.reasoning.output_tokens", "cost": "gen_ai.usage.cost.amount",
  "cost_currency": "gen_ai.usage.cost.currency", "cost_source": "gen_ai.usage.cost.source",
  "conversation": "gen_ai.conversation.id", "tool_name": "gen_ai.tool.name",
  "tool_arguments": "gen_ai.tool.call.arguments", "error_type": "error.type"}'::pg_catalog.jsonb
$fn$;
COMMENT ON FUNCTION @extschema@.attach_genai_keys() IS
	'the OpenTelemetry GenAI attribute names the attached views read (option "keys" renames them)';

-- Attribute name overrides: known keys only, strings only.
CREATE FUNCTION @extschema@.attach_keys(opts pg_catalog.jsonb) RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	known jsonb := @extschema@.attach_genai_keys();
	k text;
BEGIN
	IF NOT opts ? 'keys' THEN
		RETURN known;
	END IF;
	IF jsonb_typeof(opts -> 'keys') <> 'object' THEN
		RAISE EXCEPTION 'option "keys" must be an object mapping names to attribute keys'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR k IN SELECT jsonb_object_keys(opts -> 'keys') LOOP
		IF NOT known ? k OR jsonb_typeof(opts -> 'keys' -> k) <> 'string' THEN
			RAISE EXCEPTION 'option "keys": "%" is not a known name with a string value', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Names: %s.', (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_object_keys(known) x));
		END IF;
	END LOOP;
	RETURN known || (opts -> 'keys');
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_keys(pg_catalog.jsonb) IS
	'the attribute names of an attached source: the GenAI names, with the option "keys" overriding some';

CREATE FUNCTION @extschema@.attach_otel(source pg_catalog.text, spans pg_catalog.regclass,
	into_schema pg_catalog.name DEFAULT NULL, prefix pg_catalog.text DEFAULT '',
	options pg_catalog.jsonb DEFAULT '{}',
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	opts jsonb;
	given jsonb;
	colmap jsonb := '{"start_time": "Timestamp", "trace_id": "TraceId", "span_id": "SpanId",
		"parent_id": "ParentSpanId", "name": "SpanName", "service": "ServiceName",
		"resource_attributes": "ResourceAttributes", "attributes": "SpanAttributes",
		"duration": "Duration", "status": "StatusCode", "status_message": "StatusMessage"}';
	kinds jsonb := '{"start_time": "timestamptz", "trace_id": "text", "span_id": "text", "parent_id": "text",
		"name": "text", "service": "text", "resource_attributes": "jsonb", "attributes": "jsonb",
		"duration": "int8", "status": "text", "status_message": "text"}';
	required text[] := ARRAY['start_time', 'trace_id', 'span_id', 'parent_id', 'attributes'];
	cols jsonb := '{}';
	k text;
	c text;
	vocab jsonb;
	parts jsonb;
	dedup boolean;
BEGIN
	PERFORM @extschema@.attach_relation(spans, 'span table');
	opts := @extschema@.attach_options(options,
		ARRAY['columns', 'keys', 'operations', 'workflow', 'item', 'outcome', 'option', 'attempt',
			  'conversation', 'success_values', 'cache_tokens', 'cost_basis', 'strict', 'dedup', 'agent_usage', 'record'],
		jsonb_build_object('workflow', '["attr:gen_ai.workflow.name", "resource:gen_ai.workflow.name", "service"]'::jsonb,
			'item', 'trace_id', 'conversation', 'attr:gen_ai.conversation.id'));
	given := coalesce(opts -> 'columns', '{}');
	IF jsonb_typeof(given) <> 'object' THEN
		RAISE EXCEPTION 'option "columns" must be an object mapping names to column names'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR k IN SELECT jsonb_object_keys(given) LOOP
		IF NOT colmap ? k THEN
			RAISE EXCEPTION 'option "columns": unknown name "%"', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Names: %s.', (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_object_keys(colmap) x));
		END IF;
	END LOOP;
	FOR k IN SELECT jsonb_object_keys(colmap) LOOP
		IF given ? k THEN
			c := given ->> k;			-- NULL: the table has none
		ELSE
			c := colmap ->> k;
			-- an optional column the table lacks is simply absent
			IF NOT k = ANY (required) AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = spans
					AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped) THEN
				c := NULL;
			END IF;
		END IF;
		IF c IS NULL AND k = ANY (required) THEN
			RAISE EXCEPTION 'the % column is required', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Name it in option "columns": {"%s": "your_column"}.', k);
		END IF;
		IF c IS NOT NULL THEN
			cols := cols || jsonb_build_object(k, @extschema@.attach_column(spans, c, kinds ->> k, k || ' (' || quote_ident(c) || ')'));
		END IF;
	END LOOP;

	vocab := jsonb_build_object(
		'attr:', format('(%s OPERATOR(pg_catalog.->>) %%1$s)', replace(cols ->> 'attributes', '%', '%%')),
		'resource:', format('(%s OPERATOR(pg_catalog.->>) %%1$s)',
			replace(coalesce(cols ->> 'resource_attributes', 'NULL::pg_catalog.jsonb'), '%', '%%')),
		'name', coalesce(cols ->> 'name', 'NULL::pg_catalog.text'),
		'service', coalesce(cols ->> 'service',
			format('(%s OPERATOR(pg_catalog.->>) ''service.name'')', coalesce(cols ->> 'resource_attributes', 'NULL::pg_catalog.jsonb'))),
		'trace_id', cols ->> 'trace_id');
	parts := jsonb_build_object(
		'from', spans::text || ' r',
		'trace', cols ->> 'trace_id',
		'span', cols ->> 'span_id',
		-- the copies of a span id: the latest end first, then every column read
		'order', (SELECT string_agg(e.cv || CASE WHEN e.ck IN ('duration', 'start_time') THEN ' DESC NULLS LAST'
												 WHEN kinds ->> e.ck = 'text' THEN ' COLLATE "C"' ELSE '' END,
					', ' ORDER BY CASE e.ck WHEN 'duration' THEN 0 WHEN 'start_time' THEN 1 ELSE 2 END, e.ck)
				   FROM jsonb_each_text(cols) e(ck, cv) WHERE e.ck NOT IN ('trace_id', 'span_id')),
		'cols', @extschema@.attach_span_cols(cols, @extschema@.attach_keys(opts), opts, vocab, spans));

	dedup := CASE opts ->> 'dedup'
		WHEN 'always' THEN true
		WHEN 'never' THEN false
		ELSE NOT @extschema@.attach_unique(spans, ARRAY[coalesce(given ->> 'trace_id', 'TraceId'), coalesce(given ->> 'span_id', 'SpanId')])
	END;
	RETURN QUERY SELECT * FROM @extschema@.attach_install(source, 'otel', ARRAY[spans], into_schema, prefix, options,
		@extschema@.attach_build(source, parts, opts, dedup));
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_otel(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.text, pg_catalog.jsonb) IS
	'attach a table of OpenTelemetry spans (the Collector''s ClickHouse exporter columns, or others named in options.columns): creates the views calls, spans, attempts, items, conversations, problems and traces in into_schema (default: a schema named after the source), names prefixed with prefix; attaching again with the same arguments changes nothing';

-- ---------------------------------------------------------------------------
-- Langfuse v2, its tables exactly as its migrations create them: traces,
-- observations (GENERATION, SPAN, EVENT; levels DEBUG, DEFAULT, WARNING,
-- ERROR), scores (NUMERIC, BOOLEAN, CATEGORICAL).  Times are timestamp(3)
-- without time zone, in UTC; costs numeric(65,30).  Each trace becomes a
-- root span (its observations without a parent hang under it), failed when
-- one of its top-level observations is at level ERROR.  Generations are the
-- LLM calls; a SPAN under another observation is a tool call (option
-- "tool_name_pattern" narrows that to names matching a regex); a top-level
-- SPAN is an agent step.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.attach_langfuse(source pg_catalog.text,
	langfuse_schema pg_catalog.name DEFAULT 'public',
	into_schema pg_catalog.name DEFAULT NULL, prefix pg_catalog.text DEFAULT '',
	options pg_catalog.jsonb DEFAULT '{}',
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	opts jsonb;
	obs regclass;
	trc regclass;
	sco regclass;
	uses_scores boolean;
	o jsonb := '{}';			-- observation columns, over alias o
	t jsonb := '{}';			-- trace columns, over alias t
	s jsonb := '{}';			-- score columns, over alias s
	k text;
	project text := '';
	tproject text := '';
	tool_test text;
	threshold numeric;
	vocab jsonb;
	rel text;
	cols jsonb;
	parts jsonb;
	dedup boolean;
BEGIN
	opts := @extschema@.attach_options(options,
		ARRAY['project_id', 'provider', 'workflow', 'item', 'outcome', 'option', 'attempt', 'conversation',
			  'cache_read', 'cache_write', 'reasoning', 'tool_name_pattern', 'score_threshold',
			  'success_values', 'cache_tokens', 'cost_basis', 'strict', 'dedup', 'agent_usage', 'record'],
		'{"workflow": "trace_name", "item": ["session", "trace_id"]}');
	IF langfuse_schema IS NULL OR NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = langfuse_schema) THEN
		RAISE EXCEPTION 'schema "%" does not exist', langfuse_schema
			USING ERRCODE = 'invalid_schema_name',
				  HINT = 'Name the schema that holds Langfuse''s tables traces, observations and scores.';
	END IF;
	obs := to_regclass(format('%I.observations', langfuse_schema));
	trc := to_regclass(format('%I.traces', langfuse_schema));
	sco := to_regclass(format('%I.scores', langfuse_schema));
	IF obs IS NULL OR trc IS NULL THEN
		RAISE EXCEPTION 'schema "%" has no Langfuse tables', langfuse_schema
			USING ERRCODE = 'undefined_table',
				  DETAIL = format('Missing: %s.', concat_ws(', ', CASE WHEN obs IS NULL THEN 'observations' END,
					CASE WHEN trc IS NULL THEN 'traces' END));
	END IF;
	PERFORM @extschema@.attach_relation(obs, 'observations table');
	PERFORM @extschema@.attach_relation(trc, 'traces table');

	-- every column read, checked (built-in types; the Langfuse enums read
	-- through their output function only)
	o := jsonb_build_object(
		'id', @extschema@.attach_column(obs, 'id', 'text', 'observation id', 'o'),
		'trace_id', @extschema@.attach_column(obs, 'trace_id', 'text', 'trace id', 'o'),
		'parent', @extschema@.attach_column(obs, 'parent_observation_id', 'text', 'parent observation id', 'o'),
		'name', @extschema@.attach_column(obs, 'name', 'text', 'observation name', 'o'),
		'start', @extschema@.attach_column(obs, 'start_time', 'timestamptz', 'start time', 'o'),
		'end', @extschema@.attach_column(obs, 'end_time', 'timestamptz', 'end time', 'o'),
		'type', @extschema@.attach_column(obs, 'type', 'enum', 'observation type', 'o'),
		'level', @extschema@.attach_column(obs, 'level', 'enum', 'level', 'o'),
		'message', @extschema@.attach_column(obs, 'status_message', 'text', 'status message', 'o'),
		'model', @extschema@.attach_column(obs, 'model', 'text', 'model', 'o'),
		'prompt', @extschema@.attach_column(obs, 'prompt_tokens', 'count', 'prompt tokens', 'o'),
		'completion', @extschema@.attach_column(obs, 'completion_tokens', 'count', 'completion tokens', 'o'),
		'metadata', @extschema@.attach_column(obs, 'metadata', 'jsonb', 'observation metadata', 'o'),
		'input', @extschema@.attach_column(obs, 'input', 'jsonb', 'observation input', 'o'),
		'cost', @extschema@.attach_column(obs, 'total_cost', 'numeric', 'total cost', 'o'),
		'calculated', @extschema@.attach_column(obs, 'calculated_total_cost', 'numeric', 'calculated total cost', 'o'),
		'project', @extschema@.attach_column(obs, 'project_id', 'text', 'project id', 'o'));
	t := jsonb_build_object(
		'id', @extschema@.attach_column(trc, 'id', 'text', 'trace id', 't'),
		'timestamp', @extschema@.attach_column(trc, 'timestamp', 'timestamptz', 'trace timestamp', 't'),
		'name', @extschema@.attach_column(trc, 'name', 'text', 'trace name', 't'),
		'session', @extschema@.attach_column(trc, 'session_id', 'text', 'session id', 't'),
		'external_id', @extschema@.attach_column(trc, 'external_id', 'text', 'external id', 't'),
		'user_id', @extschema@.attach_column(trc, 'user_id', 'text', 'user id', 't'),
		'metadata', @extschema@.attach_column(trc, 'metadata', 'jsonb', 'trace metadata', 't'),
		'project', @extschema@.attach_column(trc, 'project_id', 'text', 'project id', 't'));

	uses_scores := EXISTS (SELECT 1 FROM jsonb_each(opts) e
							WHERE e.key IN ('workflow', 'item', 'outcome', 'option', 'attempt')
							  AND e.value::text LIKE '%score:%');
	IF uses_scores THEN
		IF sco IS NULL THEN
			RAISE EXCEPTION 'schema "%" has no scores table', langfuse_schema
				USING ERRCODE = 'undefined_table',
					  DETAIL = 'An option reads a score (score:NAME).';
		END IF;
		PERFORM @extschema@.attach_relation(sco, 'scores table');
		s := jsonb_build_object(
			'trace_id', @extschema@.attach_column(sco, 'trace_id', 'text', 'score trace id', 's'),
			'observation_id', @extschema@.attach_column(sco, 'observation_id', 'text', 'score observation id', 's'),
			'name', @extschema@.attach_column(sco, 'name', 'text', 'score name', 's'),
			'value', @extschema@.attach_column(sco, 'value', 'numeric', 'score value', 's'),
			'string_value', @extschema@.attach_column(sco, 'string_value', 'text', 'score string value', 's'),
			'data_type', @extschema@.attach_column(sco, 'data_type', 'enum', 'score data type', 's'),
			'timestamp', @extschema@.attach_column(sco, 'timestamp', 'timestamptz', 'score timestamp', 's'),
			'id', @extschema@.attach_column(sco, 'id', 'text', 'score id', 's'));
	END IF;

	IF opts ? 'project_id' THEN
		IF jsonb_typeof(opts -> 'project_id') <> 'string' THEN
			RAISE EXCEPTION 'option "project_id" must be a string' USING ERRCODE = 'invalid_parameter_value';
		END IF;
		project := format(' AND %s = %L', o ->> 'project', opts ->> 'project_id');
		tproject := format(' WHERE %s = %L', t ->> 'project', opts ->> 'project_id');
	END IF;
	IF opts ? 'score_threshold' THEN
		IF jsonb_typeof(opts -> 'score_threshold') <> 'number' THEN
			RAISE EXCEPTION 'option "score_threshold" must be a number' USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END IF;
	threshold := coalesce((opts ->> 'score_threshold')::numeric, 1);
	IF opts ? 'tool_name_pattern' THEN
		IF jsonb_typeof(opts -> 'tool_name_pattern') <> 'string' THEN
			RAISE EXCEPTION 'option "tool_name_pattern" must be a string (a regular expression)'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		PERFORM '' ~ (opts ->> 'tool_name_pattern');	-- a bad pattern fails here, not in the views
		tool_test := format('COALESCE(r.name, '''') ~ %L', opts ->> 'tool_name_pattern');
	ELSE
		tool_test := 'true';
	END IF;

	-- One row per observation, and one per trace (its root).  The trace's
	-- fields ride on every row, so a structure value is read from any.
	rel := format($q$(SELECT %1$s AS span_id, %2$s AS trace_id,
		   COALESCE(%3$s, %2$s) AS parent_id, %3$s AS parent_observation_id, %4$s AS name,
		   %5$s AS started_at, %6$s AS ended_at, %7$s AS type, %8$s AS level, %9$s AS status_message,
		   %10$s AS model, %11$s AS prompt_tokens, %12$s AS completion_tokens, %13$s AS metadata,
		   %14$s AS input, %15$s AS total_cost, %16$s AS calculated_total_cost,
		   %17$s AS trace_name, %18$s AS session_id, %19$s AS external_id, %20$s AS user_id,
		   %21$s AS trace_metadata
	  FROM %22$s o LEFT JOIN %23$s t ON %24$s = %2$s
	 WHERE %2$s IS NOT NULL%25$s
	UNION ALL
	SELECT %24$s, %24$s, NULL, NULL, %17$s, %26$s,
		   (SELECT pg_catalog.max(COALESCE(%6$s, %5$s)) FROM %22$s o WHERE %2$s = %24$s%25$s),
		   'TRACE',
		   CASE WHEN EXISTS (SELECT 1 FROM %22$s o WHERE %2$s = %24$s AND %3$s IS NULL AND %8$s = 'ERROR'%25$s)
				THEN 'ERROR' ELSE 'DEFAULT' END,
		   (SELECT pg_catalog.min(%9$s) FROM %22$s o WHERE %2$s = %24$s AND %3$s IS NULL AND %8$s = 'ERROR'%25$s),
		   NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		   %17$s, %18$s, %19$s, %20$s, %21$s
	  FROM %23$s t%27$s) r$q$,
		o ->> 'id', o ->> 'trace_id', o ->> 'parent', o ->> 'name', o ->> 'start', o ->> 'end',
		o ->> 'type', o ->> 'level', o ->> 'message', o ->> 'model', o ->> 'prompt', o ->> 'completion',
		o ->> 'metadata', o ->> 'input', o ->> 'cost', o ->> 'calculated',
		t ->> 'name', t ->> 'session', t ->> 'external_id', t ->> 'user_id', t ->> 'metadata',
		obs, trc, t ->> 'id', project, t ->> 'timestamp', tproject);

	vocab := jsonb_build_object(
		'trace_name', 'r.trace_name', 'session', 'r.session_id', 'external_id', 'r.external_id',
		'user_id', 'r.user_id', 'trace_id', 'r.trace_id', 'name', 'r.name',
		'trace_metadata:', '(r.trace_metadata OPERATOR(pg_catalog.#>>) %2$s::pg_catalog.text[])',
		'metadata:', '(r.metadata OPERATOR(pg_catalog.#>>) %2$s::pg_catalog.text[])');
	IF uses_scores THEN
		-- (the column SQL may hold a %: escaped, as attach_spec formats the template)
		vocab := vocab || jsonb_build_object('score:', replace(replace(format($q$(CASE WHEN r.type = 'TRACE' THEN
			(SELECT CASE %1$s WHEN 'BOOLEAN' THEN CASE WHEN %2$s = 1 THEN 'true' ELSE 'false' END
							   WHEN 'NUMERIC' THEN CASE WHEN %2$s >= %3$s THEN 'true' ELSE 'false' END
							   ELSE %4$s END
			   FROM %5$s s
			  WHERE %6$s = r.trace_id AND %7$s = ?1 AND %8$s IS NULL
			  ORDER BY %9$s DESC, %10$s COLLATE "C" DESC LIMIT 1) END)$q$,
			s ->> 'data_type', s ->> 'value', threshold, s ->> 'string_value', sco, s ->> 'trace_id',
			s ->> 'name', s ->> 'observation_id', s ->> 'timestamp', s ->> 'id'), '%', '%%'), '?1', '%1$s'));
	END IF;

	cols := jsonb_build_object(
		'trace_id', 'r.trace_id', 'span_id', 'r.span_id', 'parent_id', 'r.parent_id', 'name', 'r.name',
		'started_at', 'r.started_at', 'ended_at', 'r.ended_at',
		'status_raw', 'r.level', 'error_type', 'CASE WHEN r.level = ''ERROR'' THEN r.status_message END',
		'operation', 'pg_catalog.lower(r.type)',
		'kind', format('CASE r.type WHEN ''GENERATION'' THEN ''llm'' WHEN ''TRACE'' THEN ''agent'' '
			'WHEN ''SPAN'' THEN CASE WHEN r.parent_observation_id IS NULL THEN ''agent'' '
			'WHEN %s THEN ''tool'' ELSE ''other'' END ELSE ''other'' END', tool_test),
		'provider', @extschema@.attach_spec(opts -> 'provider', 'provider', vocab, obs),
		'request_model', 'r.model', 'response_model', 'NULL::pg_catalog.text',
		-- a generation with neither count (Langfuse stores 0 then) reports no usage
		'input_raw', 'CASE WHEN r.prompt_tokens <> ''0'' OR r.completion_tokens <> ''0'' THEN r.prompt_tokens END',
		'output_raw', 'CASE WHEN r.prompt_tokens <> ''0'' OR r.completion_tokens <> ''0'' THEN r.completion_tokens END',
		'cache_read_raw', @extschema@.attach_spec(opts -> 'cache_read', 'cache_read', vocab, obs),
		'cache_write_raw', @extschema@.attach_spec(opts -> 'cache_write', 'cache_write', vocab, obs),
		'reasoning_raw', @extschema@.attach_spec(opts -> 'reasoning', 'reasoning', vocab, obs),
		'reported_cost', 'r.total_cost', 'reported_cost_raw', 'NULL::pg_catalog.text',
		'reported_currency', 'CASE WHEN r.total_cost IS NOT NULL THEN ''USD'' END',
		'reported_cost_source', 'CASE WHEN r.total_cost IS NOT NULL THEN ''langfuse'' END',
		'estimated_cost', 'pg_catalog.round(r.calculated_total_cost, 12)',
		'conversation_id', @extschema@.attach_spec(opts -> 'conversation', 'conversation', vocab, obs),
		'tool_name', 'NULL::pg_catalog.text',
		'args_hash', format('CASE WHEN r.type = ''SPAN'' AND r.parent_observation_id IS NOT NULL AND %s '
			'AND r.input IS NOT NULL THEN @extschema@.attach_args_hash(r.input) END', tool_test),
		'workflow', @extschema@.attach_spec(opts -> 'workflow', 'workflow', vocab, obs),
		'item', @extschema@.attach_spec(opts -> 'item', 'item', vocab, obs),
		'outcome', @extschema@.attach_spec(opts -> 'outcome', 'outcome', vocab, obs),
		'option', @extschema@.attach_spec(opts -> 'option', 'option', vocab, obs),
		'attempt_raw', @extschema@.attach_spec(opts -> 'attempt', 'attempt', vocab, obs));

	parts := jsonb_build_object('from', rel, 'trace', 'r.trace_id', 'span', 'r.span_id',
		'order', 'r.ended_at DESC NULLS LAST, r.started_at DESC NULLS LAST, r.level COLLATE "C", '
			'r.name COLLATE "C", r.parent_id COLLATE "C", r.model COLLATE "C", r.prompt_tokens COLLATE "C", '
			'r.completion_tokens COLLATE "C", r.total_cost, r.metadata, r.input',
		'cols', cols);
	-- observation ids are unique (primary key) and trace ids too, unless
	-- the tables say otherwise
	dedup := CASE opts ->> 'dedup'
		WHEN 'always' THEN true
		WHEN 'never' THEN false
		ELSE NOT (@extschema@.attach_unique(obs, ARRAY['id']) AND @extschema@.attach_unique(trc, ARRAY['id']))
	END;
	RETURN QUERY SELECT * FROM @extschema@.attach_install(source, 'langfuse',
		CASE WHEN uses_scores THEN ARRAY[obs, trc, sco] ELSE ARRAY[obs, trc] END,
		into_schema, prefix, options, @extschema@.attach_build(source, parts, opts, dedup));
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_langfuse(pg_catalog.text, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.jsonb) IS
	'attach Langfuse v2''s tables (traces, observations, scores in langfuse_schema): creates the views calls, spans, attempts, items, conversations, problems and traces in into_schema (default: a schema named after the source); workflow = trace name, item = session (else trace), by default';

-- ---------------------------------------------------------------------------
-- OTLP/JSON documents (what the Collector's file exporter writes) in a jsonb
-- column: resourceSpans[].scopeSpans[].spans[] (instrumentationLibrarySpans
-- in older documents), attributes as key/value lists whose integers are
-- strings, times in unix nanoseconds, status codes STATUS_CODE_* or 0/1/2.
-- Ids are hex as OTLP/JSON says; base64 ids (some exporters) are read too.
-- Parts of a document that are not of the expected shape are skipped.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.attach_otlp_json(source pg_catalog.text, documents pg_catalog.regclass,
	document_column pg_catalog.name DEFAULT 'doc',
	into_schema pg_catalog.name DEFAULT NULL, prefix pg_catalog.text DEFAULT '',
	options pg_catalog.jsonb DEFAULT '{}',
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	opts jsonb;
	doc text;
	rel text;
	cols jsonb;
	vocab jsonb;
	parts jsonb;
	-- a hex id as it is (lower case); a base64 one of 8 or 16 bytes in hex
	id_sql text := 'CASE WHEN %1$s OPERATOR(pg_catalog.~) ''^[A-Za-z0-9+/]{22}==$'' '
		'OR %1$s OPERATOR(pg_catalog.~) ''^[A-Za-z0-9+/]{11}=$'' '
		'THEN pg_catalog.encode(pg_catalog.decode(%1$s, ''base64''), ''hex'') ELSE pg_catalog.lower(%1$s) END';
	arr text := 'CASE WHEN pg_catalog.jsonb_typeof(%1$s) = ''array'' THEN %1$s ELSE ''[]''::pg_catalog.jsonb END';
BEGIN
	PERFORM @extschema@.attach_relation(documents, 'documents table');
	opts := @extschema@.attach_options(options,
		ARRAY['keys', 'operations', 'workflow', 'item', 'outcome', 'option', 'attempt',
			  'conversation', 'success_values', 'cache_tokens', 'cost_basis', 'strict', 'dedup', 'agent_usage', 'record'],
		jsonb_build_object('workflow', '["attr:gen_ai.workflow.name", "resource:gen_ai.workflow.name", "service"]'::jsonb,
			'item', 'trace_id', 'conversation', 'attr:gen_ai.conversation.id'));
	doc := @extschema@.attach_column(documents, document_column, 'jsonb', 'OTLP/JSON document', 'd');

	rel := format($q$(SELECT sp.value AS span,
			@extschema@.attach_otlp_attributes(COALESCE(sp.value OPERATOR(pg_catalog.->) 'attributes', '[]'::pg_catalog.jsonb)) AS attrs,
			@extschema@.attach_otlp_attributes(COALESCE(rs.value OPERATOR(pg_catalog.->) 'resource' OPERATOR(pg_catalog.->) 'attributes', '[]'::pg_catalog.jsonb)) AS res
	   FROM %1$s d
	  CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(%2$s) rs
	  CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(COALESCE(%3$s, %4$s)) ss
	  CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(%5$s) sp
	 WHERE pg_catalog.jsonb_typeof(sp.value) = 'object') r$q$,
		documents,
		format(arr, format('(%s OPERATOR(pg_catalog.->) ''resourceSpans'')', doc)),
		format('CASE WHEN pg_catalog.jsonb_typeof(rs.value OPERATOR(pg_catalog.->) ''scopeSpans'') = ''array'' '
			'THEN rs.value OPERATOR(pg_catalog.->) ''scopeSpans'' END'),
		format(arr, '(rs.value OPERATOR(pg_catalog.->) ''instrumentationLibrarySpans'')'),
		format(arr, '(ss.value OPERATOR(pg_catalog.->) ''spans'')'));

	cols := jsonb_build_object(
		'trace_id', format(id_sql, '(r.span OPERATOR(pg_catalog.->>) ''traceId'')'),
		'span_id', format(id_sql, '(r.span OPERATOR(pg_catalog.->>) ''spanId'')'),
		'parent_id', format(id_sql, '(r.span OPERATOR(pg_catalog.->>) ''parentSpanId'')'),
		'start_time', '@extschema@.attach_unix_nanos(r.span OPERATOR(pg_catalog.->) ''startTimeUnixNano'')',
		'end_time', '@extschema@.attach_unix_nanos(r.span OPERATOR(pg_catalog.->) ''endTimeUnixNano'')',
		'name', '(r.span OPERATOR(pg_catalog.->>) ''name'')',
		'status', '(r.span OPERATOR(pg_catalog.->) ''status'' OPERATOR(pg_catalog.->>) ''code'')',
		'status_message', '(r.span OPERATOR(pg_catalog.->) ''status'' OPERATOR(pg_catalog.->>) ''message'')',
		'attributes', 'r.attrs',
		'resource_attributes', 'r.res');
	vocab := jsonb_build_object(
		'attr:', '(r.attrs OPERATOR(pg_catalog.->>) %1$s)',
		'resource:', '(r.res OPERATOR(pg_catalog.->>) %1$s)',
		'name', cols ->> 'name',
		'service', '(r.res OPERATOR(pg_catalog.->>) ''service.name'')',
		'trace_id', cols ->> 'trace_id');
	parts := jsonb_build_object(
		'from', rel,
		'trace', cols ->> 'trace_id',
		'span', cols ->> 'span_id',
		'order', format('%s DESC NULLS LAST, r.span, r.res', cols ->> 'end_time'),
		'cols', @extschema@.attach_span_cols(cols, @extschema@.attach_keys(opts), opts, vocab, documents));
	RETURN QUERY SELECT * FROM @extschema@.attach_install(source, 'otlp_json', ARRAY[documents], into_schema,
		prefix, options, @extschema@.attach_build(source, parts, opts, coalesce(opts ->> 'dedup', 'auto') <> 'never'));
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_otlp_json(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.jsonb) IS
	'attach OTLP/JSON trace documents stored in a jsonb column (resourceSpans[].scopeSpans[].spans[]): creates the views calls, spans, attempts, items, conversations, problems and traces in into_schema (default: a schema named after the source)';

-- ---------------------------------------------------------------------------
-- Any other layout: a table or view with a row per span, and a mapping of
-- the vocabulary to its columns.  Each mapped value is a column name, or
-- {"column": c, "path": "a/b"} for a value inside a jsonb column (path
-- levels separated by /), or {"const": v}.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.attach_mapped(rel pg_catalog.regclass, mapping pg_catalog.jsonb,
	k pg_catalog.text, want pg_catalog.text) RETURNS pg_catalog.text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	m jsonb := mapping -> k;
	col text;
	path text[];
	e text;
BEGIN
	IF m IS NULL OR jsonb_typeof(m) = 'null' THEN
		RETURN NULL;
	ELSIF jsonb_typeof(m) = 'string' THEN
		RETURN @extschema@.attach_column(rel, m #>> '{}', want, k);
	ELSIF jsonb_typeof(m) = 'object' AND m ? 'const' AND jsonb_typeof(m -> 'const') IN ('string', 'number') THEN
		IF want NOT IN ('text', 'count', 'numeric', 'enum') THEN
			RAISE EXCEPTION 'mapping "%": a constant cannot give a %', k, want USING ERRCODE = 'invalid_parameter_value';
		END IF;
		e := quote_literal(m ->> 'const') || '::pg_catalog.text';
		RETURN CASE want WHEN 'numeric' THEN format('@extschema@.attach_numeric(%s)', e) ELSE e END;
	ELSIF jsonb_typeof(m) = 'object' AND jsonb_typeof(m -> 'column') = 'string' AND jsonb_typeof(m -> 'path') = 'string' THEN
		IF want NOT IN ('text', 'count', 'numeric', 'enum', 'jsonb') THEN
			RAISE EXCEPTION 'mapping "%": a jsonb path cannot give a %', k, want
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Map it to a column of that type.';
		END IF;
		col := @extschema@.attach_column(rel, m ->> 'column', 'jsonb', k || ' (the jsonb column of its path)');
		path := string_to_array(m ->> 'path', '/');
		IF want = 'jsonb' THEN
			RETURN format('(%s OPERATOR(pg_catalog.#>) %L::pg_catalog.text[])', col, path);
		END IF;
		e := format('(%s OPERATOR(pg_catalog.#>>) %L::pg_catalog.text[])', col, path);
		RETURN CASE want WHEN 'numeric' THEN format('@extschema@.attach_numeric(%s)', e) ELSE e END;
	END IF;
	RAISE EXCEPTION 'mapping "%" must be a column name, {"column": ..., "path": ...} or {"const": ...}', k
		USING ERRCODE = 'invalid_parameter_value',
			  DETAIL = format('Got %s.', left(m::text, 100));
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_mapped(pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text) IS
	'the SQL reading one mapped value of a relation attached with tokacct.attach(): a column, a path in a jsonb column, or a constant';

CREATE FUNCTION @extschema@.attach(source pg_catalog.text, spans pg_catalog.regclass, mapping pg_catalog.jsonb,
	into_schema pg_catalog.name DEFAULT NULL, prefix pg_catalog.text DEFAULT '',
	options pg_catalog.jsonb DEFAULT '{}',
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	opts jsonb;
	-- the vocabulary and how each value is read
	wants jsonb := '{"trace_id": "text", "span_id": "text", "parent_id": "text", "start_time": "timestamptz",
		"end_time": "timestamptz", "duration_ms": "numeric", "name": "text", "kind": "text", "status": "text",
		"error_type": "text", "provider": "text", "model": "text", "response_model": "text",
		"input_tokens": "count", "output_tokens": "count", "cache_read_tokens": "count",
		"cache_write_tokens": "count", "reasoning_tokens": "count", "cost": "numeric", "cost_currency": "text",
		"cost_source": "text", "conversation_id": "text", "tool_name": "text", "tool_arguments": "jsonb",
		"args_hash": "text", "workflow": "text", "item": "text", "outcome": "text", "option": "text",
		"attempt": "count"}';
	m jsonb := '{}';
	k text;
	e text;
	kinds jsonb;
	kind_case text := '';
	w text;
	ends text;
	args text;
	cols jsonb;
	parts jsonb;
	dedup boolean;
BEGIN
	PERFORM @extschema@.attach_relation(spans, 'span table');
	opts := @extschema@.attach_options(options,
		ARRAY['kinds', 'success_values', 'cache_tokens', 'cost_basis', 'strict', 'dedup', 'agent_usage', 'record'], '{}');
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
	FOREACH k IN ARRAY ARRAY['trace_id', 'span_id', 'start_time'] LOOP
		IF NOT mapping ? k OR jsonb_typeof(mapping -> k) = 'null' THEN
			RAISE EXCEPTION 'the mapping must name the % column', k
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END LOOP;
	-- tool arguments may be jsonb or text
	IF jsonb_typeof(mapping -> 'tool_arguments') = 'string' AND coalesce((SELECT a.atttypid <> 'jsonb'::regtype
			FROM pg_attribute a WHERE a.attrelid = spans AND a.attname = mapping ->> 'tool_arguments'
			  AND a.attnum > 0 AND NOT a.attisdropped), false) THEN
		wants := wants || '{"tool_arguments": "text"}';
	END IF;
	FOR k IN SELECT jsonb_object_keys(wants) LOOP
		e := @extschema@.attach_mapped(spans, mapping, k, wants ->> k);
		IF e IS NOT NULL THEN
			m := m || jsonb_build_object(k, e);
		END IF;
	END LOOP;

	-- kind words: the source's kind column (or operation name) to llm, tool, agent
	kinds := '{"llm": ["llm", "chat", "generate_content", "text_completion", "embeddings", "generation", "completion"],
		"tool": ["tool", "tool_call", "execute_tool", "function"],
		"agent": ["agent", "invoke_agent", "create_agent", "chain", "workflow", "attempt"]}'::jsonb
		|| coalesce(opts -> 'kinds', '{}');
	IF EXISTS (SELECT 1 FROM jsonb_each(kinds) x WHERE x.key NOT IN ('llm', 'tool', 'agent') OR jsonb_typeof(x.value) <> 'array') THEN
		RAISE EXCEPTION 'option "kinds" must map llm, tool and agent to arrays of the words the kind column uses'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOREACH w IN ARRAY ARRAY['llm', 'tool', 'agent'] LOOP
		FOR k IN SELECT lower(jsonb_array_elements_text(kinds -> w)) LOOP
			kind_case := kind_case || format(' WHEN %L THEN %L', k, w);
		END LOOP;
	END LOOP;
	kind_case := CASE WHEN m ? 'kind' THEN format('CASE pg_catalog.lower(%s)%s ELSE ''other'' END', m ->> 'kind', kind_case)
					  ELSE '''llm''' END;

	ends := coalesce(m ->> 'end_time', CASE WHEN m ? 'duration_ms' THEN format(
		'CASE WHEN %2$s BETWEEN 0 AND 100000000000 AND %1$s < ''100000-01-01 00:00+00''::pg_catalog.timestamptz '
		'THEN %1$s + %2$s::pg_catalog.float8 * ''1 millisecond''::pg_catalog.interval END',
		m ->> 'start_time', m ->> 'duration_ms') END, 'NULL::pg_catalog.timestamptz');
	args := CASE
		WHEN m ? 'args_hash' THEN m ->> 'args_hash'
		WHEN m ? 'tool_arguments' THEN format('@extschema@.attach_args_hash(%s)', m ->> 'tool_arguments')
		ELSE 'NULL::pg_catalog.text' END;

	cols := jsonb_build_object(
		'trace_id', m ->> 'trace_id', 'span_id', m ->> 'span_id',
		'parent_id', format('NULLIF(%s, '''')', coalesce(m ->> 'parent_id', 'NULL::pg_catalog.text')),
		'name', coalesce(m ->> 'name', 'NULL::pg_catalog.text'),
		'started_at', m ->> 'start_time', 'ended_at', ends,
		'status_raw', coalesce(m ->> 'status', 'NULL::pg_catalog.text'),
		'error_type', coalesce(m ->> 'error_type', 'NULL::pg_catalog.text'),
		'operation', coalesce(m ->> 'kind', 'NULL::pg_catalog.text'),
		'kind', kind_case,
		'provider', coalesce(m ->> 'provider', 'NULL::pg_catalog.text'),
		'request_model', coalesce(m ->> 'model', 'NULL::pg_catalog.text'),
		'response_model', coalesce(m ->> 'response_model', 'NULL::pg_catalog.text'),
		'input_raw', coalesce(m ->> 'input_tokens', 'NULL::pg_catalog.text'),
		'output_raw', coalesce(m ->> 'output_tokens', 'NULL::pg_catalog.text'),
		'cache_read_raw', coalesce(m ->> 'cache_read_tokens', 'NULL::pg_catalog.text'),
		'cache_write_raw', coalesce(m ->> 'cache_write_tokens', 'NULL::pg_catalog.text'),
		'reasoning_raw', coalesce(m ->> 'reasoning_tokens', 'NULL::pg_catalog.text'),
		'reported_cost', coalesce(m ->> 'cost', 'NULL::pg_catalog.numeric'),
		'reported_cost_raw', 'NULL::pg_catalog.text',
		'reported_currency', coalesce(m ->> 'cost_currency', 'NULL::pg_catalog.text'),
		'reported_cost_source', coalesce(m ->> 'cost_source', 'NULL::pg_catalog.text'),
		'estimated_cost', 'NULL::pg_catalog.numeric',
		'conversation_id', coalesce(m ->> 'conversation_id', 'NULL::pg_catalog.text'),
		'tool_name', CASE WHEN m ? 'tool_name' THEN format('CASE WHEN %s = ''tool'' THEN %s END', kind_case, m ->> 'tool_name')
						  ELSE 'NULL::pg_catalog.text' END,
		'args_hash', format('CASE WHEN %s = ''tool'' THEN %s END', kind_case, args),
		'workflow', coalesce(m ->> 'workflow', 'NULL::pg_catalog.text'),
		'item', coalesce(m ->> 'item', m ->> 'trace_id'),
		'outcome', coalesce(m ->> 'outcome', 'NULL::pg_catalog.text'),
		'option', coalesce(m ->> 'option', 'NULL::pg_catalog.text'),
		'attempt_raw', coalesce(m ->> 'attempt', 'NULL::pg_catalog.text'));
	parts := jsonb_build_object('from', spans::text || ' r', 'trace', m ->> 'trace_id', 'span', m ->> 'span_id',
		'order', (SELECT string_agg(format('%s %s', e.v, CASE WHEN e.k IN ('end_time', 'duration_ms') THEN 'DESC NULLS LAST'
								WHEN wants ->> e.k IN ('text', 'count') THEN 'COLLATE "C"' ELSE '' END), ', '
								ORDER BY CASE WHEN e.k IN ('end_time', 'duration_ms') THEN 0 ELSE 1 END, e.k)
				   FROM jsonb_each_text(m) e(k, v) WHERE e.k NOT IN ('trace_id', 'span_id')),
		'cols', cols);
	-- the attempt number, when mapped, is the source's own
	IF m ? 'attempt' THEN
		opts := opts || '{"attempt": "mapped"}';
	END IF;
	dedup := CASE opts ->> 'dedup'
		WHEN 'always' THEN true
		WHEN 'never' THEN false
		ELSE NOT (jsonb_typeof(mapping -> 'span_id') = 'string'
				  AND (@extschema@.attach_unique(spans, ARRAY[mapping ->> 'span_id'])
					   OR (jsonb_typeof(mapping -> 'trace_id') = 'string'
						   AND @extschema@.attach_unique(spans, ARRAY[mapping ->> 'trace_id', mapping ->> 'span_id']))))
	END;
	RETURN QUERY SELECT * FROM @extschema@.attach_install(source, 'mapping', ARRAY[spans], into_schema, prefix,
		jsonb_build_object('mapping', mapping, 'options', options), @extschema@.attach_build(source, parts, opts, dedup));
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach(pg_catalog.text, pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.name, pg_catalog.text, pg_catalog.jsonb) IS
	'attach any table or view with a row per span, by a mapping of names (trace_id, span_id, start_time required; parent_id, end_time or duration_ms, name, kind, status, error_type, provider, model, response_model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost, cost_currency, cost_source, conversation_id, tool_name, tool_arguments or args_hash, workflow, item, outcome, option, attempt) to columns, jsonb paths ({"column": c, "path": "a/b"}) or constants ({"const": v}); creates the seven views';

-- ---------------------------------------------------------------------------
-- The aggregates over the column types real tables use (src/agg_types.c):
-- bigint attempt numbers and call orders (row_number() is bigint), float8
-- costs and values.  A float8 amount is taken at its shortest decimal form
-- (15 significant digits) and rounded half away from zero to the picodollar;
-- a bigint where an integer is taken must fit.  Each overload shares the
-- state, combine and final functions of the aggregate it extends.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int8, pg_catalog.bool, pg_catalog.numeric)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_retry_accum';
CREATE FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int4, pg_catalog.bool, pg_catalog.float8)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_retry_accum';
CREATE FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int8, pg_catalog.bool, pg_catalog.float8)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_retry_accum';
COMMENT ON FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int8, pg_catalog.bool, pg_catalog.numeric) IS
	'transition function of tokacct.retry_economics(bigint attempt, succeeded, cost)';
COMMENT ON FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int4, pg_catalog.bool, pg_catalog.float8) IS
	'transition function of tokacct.retry_economics(attempt, succeeded, float8 cost)';
COMMENT ON FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int8, pg_catalog.bool, pg_catalog.float8) IS
	'transition function of tokacct.retry_economics(bigint attempt, succeeded, float8 cost)';

CREATE AGGREGATE @extschema@.retry_economics(attempt pg_catalog.int8, succeeded pg_catalog.bool, cost pg_catalog.numeric) (
	SFUNC = @extschema@.retry_accum, STYPE = @extschema@.retry_state, FINALFUNC = @extschema@.retry_final,
	COMBINEFUNC = @extschema@.retry_combine, INITCOND = 'max_attempt=0', PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.retry_economics(attempt pg_catalog.int4, succeeded pg_catalog.bool, cost pg_catalog.float8) (
	SFUNC = @extschema@.retry_accum, STYPE = @extschema@.retry_state, FINALFUNC = @extschema@.retry_final,
	COMBINEFUNC = @extschema@.retry_combine, INITCOND = 'max_attempt=0', PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.retry_economics(attempt pg_catalog.int8, succeeded pg_catalog.bool, cost pg_catalog.float8) (
	SFUNC = @extschema@.retry_accum, STYPE = @extschema@.retry_state, FINALFUNC = @extschema@.retry_final,
	COMBINEFUNC = @extschema@.retry_combine, INITCOND = 'max_attempt=0', PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.retry_economics(pg_catalog.int8, pg_catalog.bool, pg_catalog.numeric) IS
	'retry_economics with a bigint attempt number (it must fit an integer)';
COMMENT ON AGGREGATE @extschema@.retry_economics(pg_catalog.int4, pg_catalog.bool, pg_catalog.float8) IS
	'retry_economics with a float8 cost (rounded half away from zero to 12 decimals)';
COMMENT ON AGGREGATE @extschema@.retry_economics(pg_catalog.int8, pg_catalog.bool, pg_catalog.float8) IS
	'retry_economics with a bigint attempt number and a float8 cost';

CREATE FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.float8, pg_catalog.bool)
	RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_outcome_accum';
CREATE FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.float8, pg_catalog.bool, pg_catalog.float8)
	RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_outcome_accum';
CREATE FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.numeric, pg_catalog.bool, pg_catalog.float8)
	RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_outcome_accum';
CREATE FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.float8, pg_catalog.bool, pg_catalog.numeric)
	RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_outcome_accum';
COMMENT ON FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.float8, pg_catalog.bool) IS
	'transition function of tokacct.cost_per_outcome(float8 cost, solved)';
COMMENT ON FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.float8, pg_catalog.bool, pg_catalog.float8) IS
	'transition function of tokacct.cost_per_outcome(float8 cost, solved, float8 human fix cost)';
COMMENT ON FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.numeric, pg_catalog.bool, pg_catalog.float8) IS
	'transition function of tokacct.cost_per_outcome(cost, solved, float8 human fix cost)';
COMMENT ON FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.float8, pg_catalog.bool, pg_catalog.numeric) IS
	'transition function of tokacct.cost_per_outcome(float8 cost, solved, human fix cost)';

CREATE AGGREGATE @extschema@.cost_per_outcome(cost pg_catalog.float8, solved pg_catalog.bool) (
	SFUNC = @extschema@.outcome_accum, STYPE = @extschema@.outcome_state, COMBINEFUNC = @extschema@.outcome_combine,
	INITCOND = 'items=0 solved=0 fixed=0 cost=0 fix_cost=0', PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.cost_per_outcome(cost pg_catalog.float8, solved pg_catalog.bool, human_fix_cost pg_catalog.float8) (
	SFUNC = @extschema@.outcome_accum, STYPE = @extschema@.outcome_state, COMBINEFUNC = @extschema@.outcome_combine,
	INITCOND = 'items=0 solved=0 fixed=0 cost=0 fix_cost=0', PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.cost_per_outcome(cost pg_catalog.numeric, solved pg_catalog.bool, human_fix_cost pg_catalog.float8) (
	SFUNC = @extschema@.outcome_accum, STYPE = @extschema@.outcome_state, COMBINEFUNC = @extschema@.outcome_combine,
	INITCOND = 'items=0 solved=0 fixed=0 cost=0 fix_cost=0', PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.cost_per_outcome(cost pg_catalog.float8, solved pg_catalog.bool, human_fix_cost pg_catalog.numeric) (
	SFUNC = @extschema@.outcome_accum, STYPE = @extschema@.outcome_state, COMBINEFUNC = @extschema@.outcome_combine,
	INITCOND = 'items=0 solved=0 fixed=0 cost=0 fix_cost=0', PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.cost_per_outcome(pg_catalog.float8, pg_catalog.bool) IS
	'cost_per_outcome with a float8 cost (rounded half away from zero to 12 decimals)';
COMMENT ON AGGREGATE @extschema@.cost_per_outcome(pg_catalog.float8, pg_catalog.bool, pg_catalog.float8) IS
	'cost_per_outcome with float8 cost and human fix cost';
COMMENT ON AGGREGATE @extschema@.cost_per_outcome(pg_catalog.numeric, pg_catalog.bool, pg_catalog.float8) IS
	'cost_per_outcome with a float8 human fix cost';
COMMENT ON AGGREGATE @extschema@.cost_per_outcome(pg_catalog.float8, pg_catalog.bool, pg_catalog.numeric) IS
	'cost_per_outcome with a float8 cost';

CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.float8)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_frontier_trans';
CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.float8)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_frontier_trans';
CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.numeric)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_frontier_trans';
CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.float8, pg_catalog.int8)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_frontier_trans_weighted';
CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.float8, pg_catalog.int8)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_frontier_trans_weighted';
CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.numeric, pg_catalog.int8)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_frontier_trans_weighted';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.float8) IS
	'transition function of tokacct.utility_frontier(option, float8 cost, float8 value)';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.float8) IS
	'transition function of tokacct.utility_frontier(option, cost, float8 value)';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.numeric) IS
	'transition function of tokacct.utility_frontier(option, float8 cost, value)';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.float8, pg_catalog.int8) IS
	'transition function of tokacct.utility_frontier(option, float8 cost, float8 value, items)';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.float8, pg_catalog.int8) IS
	'transition function of tokacct.utility_frontier(option, cost, float8 value, items)';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.numeric, pg_catalog.int8) IS
	'transition function of tokacct.utility_frontier(option, float8 cost, value, items)';

CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.float8, value pg_catalog.float8) (
	SFUNC = @extschema@.frontier_accum, STYPE = @extschema@.frontier_state, FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.numeric, value pg_catalog.float8) (
	SFUNC = @extschema@.frontier_accum, STYPE = @extschema@.frontier_state, FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.float8, value pg_catalog.numeric) (
	SFUNC = @extschema@.frontier_accum, STYPE = @extschema@.frontier_state, FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.float8, value pg_catalog.float8, items pg_catalog.int8) (
	SFUNC = @extschema@.frontier_accum, STYPE = @extschema@.frontier_state, FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.numeric, value pg_catalog.float8, items pg_catalog.int8) (
	SFUNC = @extschema@.frontier_accum, STYPE = @extschema@.frontier_state, FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.float8, value pg_catalog.numeric, items pg_catalog.int8) (
	SFUNC = @extschema@.frontier_accum, STYPE = @extschema@.frontier_state, FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.float8, pg_catalog.float8) IS
	'utility_frontier with float8 cost and value (rounded half away from zero to 12 decimals)';
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.numeric, pg_catalog.float8) IS
	'utility_frontier with a float8 value';
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.float8, pg_catalog.numeric) IS
	'utility_frontier with a float8 cost';
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.float8, pg_catalog.float8, pg_catalog.int8) IS
	'utility_frontier with float8 cost and value, weighted by items';
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.numeric, pg_catalog.float8, pg_catalog.int8) IS
	'utility_frontier with a float8 value, weighted by items';
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.float8, pg_catalog.numeric, pg_catalog.int8) IS
	'utility_frontier with a float8 cost, weighted by items';

CREATE FUNCTION @extschema@.context_add(@extschema@.context_state, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8)
	RETURNS @extschema@.context_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_context_add';
COMMENT ON FUNCTION @extschema@.context_add(@extschema@.context_state, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8) IS
	'transition function of context_growth(bigint seq, ...) (aggregate use only)';
CREATE AGGREGATE @extschema@.context_growth(seq pg_catalog.int8, input_tokens pg_catalog.int8, output_tokens pg_catalog.int8) (
	SFUNC = @extschema@.context_add, STYPE = @extschema@.context_state, COMBINEFUNC = @extschema@.context_combine,
	FINALFUNC = @extschema@.context_final, FINALFUNC_MODIFY = SHAREABLE, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.context_growth(pg_catalog.int8, pg_catalog.int8, pg_catalog.int8) IS
	'context_growth with a bigint call order (row_number() gives one; it must fit an integer)';

-- ---------------------------------------------------------------------------
-- 0.2.0: did the work change? (issue 17, sql/install/62_records.sql):
-- attach_records() over a system of record, tokacct.cutover, the statistics
-- proportion_diff_ci() and median_diff_ci(), and their helpers.  The same
-- statements as the install piece.
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
			WHEN b.charge >= 0 THEN b.charge
			WHEN b.charge IS NULL AND b.handler = 'bpo' THEN bl.bpo_unit_price
			WHEN b.charge IS NULL THEN 0::pg_catalog.numeric END AS bpo_cost,
	   CASE WHEN b.counted THEN %3$s END AS ai_cost,
	   CASE WHEN b.counted THEN %16$s END AS ai_linked,
	   CASE WHEN NOT b.counted THEN pg_catalog.format('another row of item %%s in workflow %%s is counted (%%s rows share the key; the one resolved last counts): left out of every figure',
				pg_catalog.quote_literal(b.item), pg_catalog.quote_literal(b.workflow), b.copies)
	   ELSE NULLIF(pg_catalog.concat_ws('; ',
			CASE WHEN b.item IS NULL THEN 'no item key' END,
			CASE WHEN b.workflow IS NULL THEN 'no workflow' END,
			CASE WHEN b.opened_at IS NULL THEN 'no opening time: in no period' END,
			CASE WHEN b.handler_raw IS NULL THEN 'no handler: left out of the shares'
				 WHEN b.handler IS NULL THEN pg_catalog.format('unknown handler %%s: left out of the shares', pg_catalog.quote_literal(b.handler_raw)) END,
			CASE WHEN b.resolved_at < b.opened_at THEN 'resolved before opened: left out of the cycle times' END,
			CASE WHEN b.minutes_raw < 0 THEN 'negative human minutes: left out of the minutes'
				 WHEN b.human_minutes IS NULL AND b.handler IN ('human', 'agent_human') AND %17$s THEN 'no human minutes for an item people handled: left out of the minutes' END,
			CASE WHEN b.charge < 0 THEN 'negative BPO charge: left out of the BPO spend'
				 WHEN b.charge IS NULL AND b.handler = 'bpo' AND bl.bpo_unit_price IS NULL THEN 'BPO item without a charge and no BPO price in tokacct.baseline' END,
			CASE WHEN t.ai_priced IS FALSE THEN 'calls of the item left out of its AI cost (see the trace source''s problems view)' END), '') END AS problem,
	   b.counted
  FROM (SELECT b.*,
			   CASE WHEN b.minutes_raw >= 0 THEN b.minutes_raw
					WHEN b.minutes_raw IS NULL AND b.handler IN ('agent', 'bpo') AND %17$s THEN 0::pg_catalog.numeric END AS human_minutes,
			   -- rows sharing an item key in a workflow: one counts, the one
			   -- resolved last (an open copy counts as older than a resolved one)
			   b.item IS NULL OR b.workflow IS NULL OR pg_catalog.row_number() OVER (PARTITION BY b.workflow, b.item
					ORDER BY b.resolved_at DESC NULLS LAST, b.opened_at DESC NULLS LAST, b.handler_raw, b.outcome, b.minutes_raw, b.charge) = 1 AS counted,
			   pg_catalog.count(*) OVER (PARTITION BY b.workflow, b.item) AS copies
		  FROM (SELECT r.item, r.workflow, r.segment, r.opened_at, r.resolved_at, r.handler AS handler_raw,
					   CASE @extschema@.records_fold(r.handler)%4$s END AS handler,
					   r.outcome, r.minutes_raw, r.charge
				  FROM (SELECT %5$s AS item, %6$s AS workflow, %7$s AS segment, %8$s AS opened_at, %9$s AS resolved_at,
							   %10$s AS handler, %11$s AS outcome, %12$s AS minutes_raw, %13$s AS charge
						  FROM %14$s r) r) b) b
  LEFT JOIN LATERAL (SELECT x.human_cost_per_hour, x.bpo_unit_price FROM @extschema@.baseline x
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
  FROM @extschema@.cutover c
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

-- Rollups of the call ledger and budgets (issue 15): the same objects as sql/install/70_rollup.sql.
ALTER TABLE @extschema@.price_call
	ADD COLUMN workflow pg_catalog.text,
	ADD COLUMN team pg_catalog.text,
	ADD COLUMN tag pg_catalog.text,
	ADD COLUMN ingest_xid pg_catalog.xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id();
COMMENT ON COLUMN @extschema@.price_call.workflow IS 'workflow the call served (a rollup and budget dimension)';
COMMENT ON COLUMN @extschema@.price_call.team IS 'team that owns the call (a rollup and budget dimension)';
COMMENT ON COLUMN @extschema@.price_call.tag IS 'free tag: project, feature, environment (a rollup and budget dimension)';
COMMENT ON COLUMN @extschema@.price_call.ingest_xid IS 'transaction that inserted the row (set on insert whatever the insert says, kept on update); tokacct.rollup_refresh() counts each row once by it';
CREATE INDEX price_call_ingest_xid ON @extschema@.price_call (ingest_xid);

CREATE FUNCTION @extschema@.price_call_ingest() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	IF TG_OP = 'INSERT' THEN
		NEW.ingest_xid := pg_catalog.pg_current_xact_id();
	ELSE
		NEW.ingest_xid := OLD.ingest_xid;
	END IF;
	RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION @extschema@.price_call_ingest() IS
	'trigger: stamp a ledger row with the transaction that inserts it, and keep the stamp on update (rollups count rows by it)';
CREATE TRIGGER price_call_ingest BEFORE INSERT OR UPDATE OF ingest_xid ON @extschema@.price_call
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_call_ingest();

-- The rollup -------------------------------------------------------------------

CREATE TABLE @extschema@.rollup_daily (
	day pg_catalog.date NOT NULL,
	workflow pg_catalog.text,
	model pg_catalog.text NOT NULL,
	team pg_catalog.text,
	tag pg_catalog.text,
	calls pg_catalog.int8 NOT NULL,
	calls_left_out pg_catalog.int8 NOT NULL,
	input_tokens pg_catalog.numeric NOT NULL,
	output_tokens pg_catalog.numeric NOT NULL,
	cache_read_tokens pg_catalog.numeric NOT NULL,
	cache_write_tokens pg_catalog.numeric NOT NULL,
	reasoning_tokens pg_catalog.numeric NOT NULL,
	cost pg_catalog.numeric NOT NULL,
	reported_cost pg_catalog.numeric NOT NULL,
	list_cost pg_catalog.numeric NOT NULL,
	cost_sketch @extschema@.sketch_state,
	updated_at pg_catalog.timestamptz NOT NULL
) WITH (fillfactor = 50, toast_tuple_target = 8160);
-- fillfactor 50: a refresh updates rows in place (HOT, no index entry) while
-- their page has room; the rollup is small beside the ledger.
-- toast_tuple_target 8160: a row of a busy day holds a sketch of 1-2 kB; past
-- the default target of 2 kB every update would compress the row again
-- (pglz was a seventh of a refresh that touches every row).
CREATE UNIQUE INDEX rollup_daily_key ON @extschema@.rollup_daily (day, workflow, model, team, tag) NULLS NOT DISTINCT;
COMMENT ON TABLE @extschema@.rollup_daily IS
	'the call ledger rolled up per UTC day x workflow x model x team x tag by tokacct.rollup_refresh(): counts, exact money, tokens by kind and a cost sketch; sum or merge rows for any longer period';
COMMENT ON COLUMN @extschema@.rollup_daily.day IS 'UTC day of the calls (their at)';
COMMENT ON COLUMN @extschema@.rollup_daily.workflow IS 'workflow of the calls (NULL: none given)';
COMMENT ON COLUMN @extschema@.rollup_daily.model IS 'model as the calls reported it';
COMMENT ON COLUMN @extschema@.rollup_daily.team IS 'team of the calls (NULL: none given)';
COMMENT ON COLUMN @extschema@.rollup_daily.tag IS 'tag of the calls (NULL: none given)';
COMMENT ON COLUMN @extschema@.rollup_daily.calls IS 'calls counted';
COMMENT ON COLUMN @extschema@.rollup_daily.calls_left_out IS 'calls that could not be priced (tokacct.price_call_cost says why): in calls and the token counts, not in the money';
COMMENT ON COLUMN @extschema@.rollup_daily.input_tokens IS 'input tokens, cache reads and writes included';
COMMENT ON COLUMN @extschema@.rollup_daily.output_tokens IS 'output tokens, reasoning included';
COMMENT ON COLUMN @extschema@.rollup_daily.cache_read_tokens IS 'input tokens read from the cache';
COMMENT ON COLUMN @extschema@.rollup_daily.cache_write_tokens IS 'input tokens written to the cache';
COMMENT ON COLUMN @extschema@.rollup_daily.reasoning_tokens IS 'output tokens spent on reasoning';
COMMENT ON COLUMN @extschema@.rollup_daily.cost IS 'exact cost of the priced calls, as tokacct.price_call_cost gives it (reported, else contract, else list price)';
COMMENT ON COLUMN @extschema@.rollup_daily.reported_cost IS 'the part of cost the provider reported';
COMMENT ON COLUMN @extschema@.rollup_daily.list_cost IS 'catalog list price of the calls the catalog prices';
COMMENT ON COLUMN @extschema@.rollup_daily.cost_sketch IS 'cost_sketch() of the priced calls'' costs (NULL when none was priced); tokacct.merge() merges days';
COMMENT ON COLUMN @extschema@.rollup_daily.updated_at IS 'when a refresh last added to the row';

-- Refreshes of the ledger's rollup take turns by a row lock on the one row
-- of this table: only a role that may update it (the extension's owner, an
-- admin) can take that lock.  (An advisory lock, which any role that can
-- connect may take and hold, would let it stop every refresh.)  The row
-- comes with the extension, so it is not dumped.
CREATE TABLE @extschema@.rollup_lock (
	rollup pg_catalog.text PRIMARY KEY CHECK (rollup OPERATOR(pg_catalog.=) 'ledger')
);
INSERT INTO @extschema@.rollup_lock (rollup) VALUES ('ledger');
COMMENT ON TABLE @extschema@.rollup_lock IS
	'the row a refresh or rebuild of the ledger''s rollup locks while it runs, so that refreshes take turns (attached sources lock their row of tokacct.rollup_source)';
COMMENT ON COLUMN @extschema@.rollup_lock.rollup IS 'the rollup (ledger)';

CREATE TABLE @extschema@.rollup_progress (
	rollup pg_catalog.text PRIMARY KEY CHECK (rollup OPERATOR(pg_catalog.=) 'ledger'),
	snapshot pg_catalog.pg_snapshot NOT NULL,
	runs pg_catalog.int8 NOT NULL,
	rows_counted pg_catalog.int8 NOT NULL,
	last_run_at pg_catalog.timestamptz NOT NULL,
	last_rows pg_catalog.int8 NOT NULL,
	last_left_out pg_catalog.int8 NOT NULL,
	last_duration pg_catalog.interval NOT NULL
);
COMMENT ON TABLE @extschema@.rollup_progress IS
	'how far tokacct.rollup_refresh() has counted the ledger, saved with the rollup rows in one transaction';
COMMENT ON COLUMN @extschema@.rollup_progress.rollup IS 'the rollup (ledger: tokacct.rollup_daily)';
COMMENT ON COLUMN @extschema@.rollup_progress.snapshot IS 'snapshot of the last refresh: the rows of transactions visible in it are counted, the others are left to the next refresh';
COMMENT ON COLUMN @extschema@.rollup_progress.runs IS 'refreshes committed';
COMMENT ON COLUMN @extschema@.rollup_progress.rows_counted IS 'ledger rows counted by all refreshes (those left out included)';
COMMENT ON COLUMN @extschema@.rollup_progress.last_run_at IS 'start of the last refresh';
COMMENT ON COLUMN @extschema@.rollup_progress.last_rows IS 'ledger rows the last refresh counted';
COMMENT ON COLUMN @extschema@.rollup_progress.last_left_out IS 'ledger rows the last refresh left out of every rollup row (a time at infinity)';
COMMENT ON COLUMN @extschema@.rollup_progress.last_duration IS 'how long the last refresh took';

-- Budgets ----------------------------------------------------------------------

CREATE TABLE @extschema@.budget (
	budget_id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	scope_kind pg_catalog.text NOT NULL
		CHECK (scope_kind OPERATOR(pg_catalog.=) ANY (ARRAY['team', 'workflow', 'tag'])),
	scope pg_catalog.text NOT NULL,
	period_start pg_catalog.date NOT NULL,
	period_end pg_catalog.date NOT NULL,
	amount pg_catalog.numeric NOT NULL
		CHECK (amount OPERATOR(pg_catalog.>) 0 AND amount OPERATOR(pg_catalog.<=) 9223372.036854775807),
	alert_at pg_catalog.numeric[] NOT NULL DEFAULT '{0.5,0.8,1}',
	spent pg_catalog.numeric,
	spent_at pg_catalog.timestamptz,
	note pg_catalog.text,
	CONSTRAINT budget_period CHECK (period_start OPERATOR(pg_catalog.<) period_end
		AND pg_catalog.isfinite(period_start) AND pg_catalog.isfinite(period_end)),
	CONSTRAINT budget_alert_at CHECK (pg_catalog.array_ndims(alert_at) OPERATOR(pg_catalog.=) 1
		AND 0 OPERATOR(pg_catalog.<) ALL (alert_at) AND 10 OPERATOR(pg_catalog.>=) ALL (alert_at)
		AND pg_catalog.array_position(alert_at, NULL::pg_catalog.numeric) IS NULL),
	CONSTRAINT budget_unique UNIQUE (scope_kind, scope, period_start)
);
COMMENT ON TABLE @extschema@.budget IS
	'spending limits per team, workflow or tag and period; tokacct.rollup_refresh() keeps spent up to date, tokacct.budget_status reports burn rate and run-out date';
COMMENT ON COLUMN @extschema@.budget.budget_id IS 'row id';
COMMENT ON COLUMN @extschema@.budget.scope_kind IS 'team, workflow or tag: which ledger column the budget limits';
COMMENT ON COLUMN @extschema@.budget.scope IS 'the team, workflow or tag';
COMMENT ON COLUMN @extschema@.budget.period_start IS 'first UTC day of the period';
COMMENT ON COLUMN @extschema@.budget.period_end IS 'first UTC day after the period';
COMMENT ON COLUMN @extschema@.budget.amount IS 'the budget, USD, more than 0';
COMMENT ON COLUMN @extschema@.budget.alert_at IS 'shares of the amount that raise an alert when spending reaches them (each above 0, at most 10)';
COMMENT ON COLUMN @extschema@.budget.spent IS 'cost of the scope''s calls in the period as of the last refresh (kept by tokacct.rollup_refresh(); NULL until the first)';
COMMENT ON COLUMN @extschema@.budget.spent_at IS 'when spent was last computed';
COMMENT ON COLUMN @extschema@.budget.note IS 'free text';
CREATE INDEX budget_scope ON @extschema@.budget (scope_kind, scope, period_start, period_end);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.budget', '');

-- A budget whose scope or period changes is computed again by the next
-- refresh.
CREATE FUNCTION @extschema@.budget_changed() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	IF (NEW.scope_kind, NEW.scope, NEW.period_start, NEW.period_end)
			IS DISTINCT FROM (OLD.scope_kind, OLD.scope, OLD.period_start, OLD.period_end) THEN
		NEW.spent := NULL;
		NEW.spent_at := NULL;
	END IF;
	RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION @extschema@.budget_changed() IS
	'trigger: a budget whose scope or period changes has its spending computed again by the next refresh';
CREATE TRIGGER budget_changed BEFORE UPDATE ON @extschema@.budget
	FOR EACH ROW EXECUTE FUNCTION @extschema@.budget_changed();

CREATE TABLE @extschema@.budget_alert (
	budget_id pg_catalog.int8 NOT NULL REFERENCES @extschema@.budget ON DELETE CASCADE,
	threshold pg_catalog.numeric NOT NULL,
	crossed_at pg_catalog.timestamptz NOT NULL,
	spent pg_catalog.numeric NOT NULL,
	amount pg_catalog.numeric NOT NULL,
	PRIMARY KEY (budget_id, threshold)
);
COMMENT ON TABLE @extschema@.budget_alert IS
	'one row per budget and threshold crossed, written by the refresh that saw spending reach it (once)';
COMMENT ON COLUMN @extschema@.budget_alert.budget_id IS 'the budget';
COMMENT ON COLUMN @extschema@.budget_alert.threshold IS 'the share of the amount reached (one of its alert_at)';
COMMENT ON COLUMN @extschema@.budget_alert.crossed_at IS 'time of the refresh that saw it reached';
COMMENT ON COLUMN @extschema@.budget_alert.spent IS 'spent at that refresh';
COMMENT ON COLUMN @extschema@.budget_alert.amount IS 'the budget''s amount then';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.budget_alert', '');

-- The refresh --------------------------------------------------------------------

-- Count the ledger rows visible in cur but not in prev into rollup_daily;
-- returns the rows counted and the rows left out, and the days touched.
CREATE FUNCTION @extschema@.rollup_apply(prev pg_catalog.pg_snapshot, cur pg_catalog.pg_snapshot,
	OUT counted pg_catalog.int8, OUT left_out pg_catalog.int8,
	OUT first_day pg_catalog.date, OUT last_day pg_catalog.date)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	-- EXECUTE: planned with the snapshots' values, so the index on
	-- ingest_xid is used when few rows are new.
	-- The names are kept as rollup_source_key() gives them: one over 400
	-- bytes (the ledger does not bound them) would pass the btree key limit
	-- of rollup_daily_key and stop every later refresh.
	EXECUTE $q$
	WITH d AS MATERIALIZED (
		SELECT c.at, @extschema@.rollup_source_key(c.workflow) AS workflow,
			   @extschema@.rollup_source_key(c.model) AS model,
			   @extschema@.rollup_source_key(c.team) AS team,
			   @extschema@.rollup_source_key(c.tag) AS tag, c.input_tokens, c.output_tokens,
			   c.cache_read_tokens, c.cache_write_tokens, c.reasoning_tokens,
			   l.cost, l.cost_source, l.list_cost
		  FROM @extschema@.price_call c
			   CROSS JOIN LATERAL @extschema@.ledger_cost(c.reported_cost, c.customer, c.provider, c.model,
					c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_write_tokens,
					c.reasoning_tokens, c.at) l
		 WHERE c.ingest_xid >= pg_snapshot_xmin($1)
		   AND NOT pg_visible_in_snapshot(c.ingest_xid, $1)
		   AND pg_visible_in_snapshot(c.ingest_xid, $2)
	), agg AS (
		SELECT (d.at AT TIME ZONE 'UTC')::date AS day, d.workflow, d.model, d.team, d.tag,
			   count(*) AS calls,
			   count(*) FILTER (WHERE d.cost IS NULL) AS calls_left_out,
			   sum(d.input_tokens) AS input_tokens, sum(d.output_tokens) AS output_tokens,
			   sum(d.cache_read_tokens) AS cache_read_tokens, sum(d.cache_write_tokens) AS cache_write_tokens,
			   sum(d.reasoning_tokens) AS reasoning_tokens,
			   coalesce(sum(d.cost), 0) AS cost,
			   coalesce(sum(d.cost) FILTER (WHERE d.cost_source = 'reported'), 0) AS reported_cost,
			   coalesce(sum(d.list_cost), 0) AS list_cost,
			   @extschema@.cost_sketch(d.cost) AS cost_sketch
		  FROM d
		 WHERE isfinite(d.at)
		 GROUP BY 1, 2, 3, 4, 5
	), ins AS (
		INSERT INTO @extschema@.rollup_daily AS r
		SELECT agg.*, statement_timestamp() FROM agg
		ON CONFLICT (day, workflow, model, team, tag) DO UPDATE SET
			calls = r.calls + excluded.calls,
			calls_left_out = r.calls_left_out + excluded.calls_left_out,
			input_tokens = r.input_tokens + excluded.input_tokens,
			output_tokens = r.output_tokens + excluded.output_tokens,
			cache_read_tokens = r.cache_read_tokens + excluded.cache_read_tokens,
			cache_write_tokens = r.cache_write_tokens + excluded.cache_write_tokens,
			reasoning_tokens = r.reasoning_tokens + excluded.reasoning_tokens,
			cost = r.cost + excluded.cost,
			reported_cost = r.reported_cost + excluded.reported_cost,
			list_cost = r.list_cost + excluded.list_cost,
			cost_sketch = CASE WHEN r.cost_sketch IS NULL THEN excluded.cost_sketch
							   WHEN excluded.cost_sketch IS NULL THEN r.cost_sketch
							   ELSE (SELECT @extschema@.merge(s.s)
									   FROM (VALUES (r.cost_sketch), (excluded.cost_sketch)) s(s)) END,
			updated_at = excluded.updated_at
		RETURNING r.day
	)
	SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM d WHERE NOT isfinite(d.at)),
		   (SELECT min(day) FROM ins), (SELECT max(day) FROM ins)
	$q$ INTO counted, left_out, first_day, last_day USING prev, cur;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_apply(pg_catalog.pg_snapshot, pg_catalog.pg_snapshot) IS
	'step of rollup_refresh(): add the ledger rows committed between two snapshots to rollup_daily';

-- Recompute spent of the budgets whose period meets [first_day, last_day]
-- (and of budgets never computed), then record the thresholds reached.
CREATE FUNCTION @extschema@.budget_update(first_day pg_catalog.date, last_day pg_catalog.date)
	RETURNS pg_catalog.int8
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	alerts int8;
BEGIN
	UPDATE @extschema@.budget b
	   SET spent = coalesce((SELECT sum(r.cost) FROM @extschema@.rollup_daily r
							  WHERE r.day >= b.period_start AND r.day < b.period_end
								AND CASE b.scope_kind WHEN 'team' THEN r.team
													  WHEN 'workflow' THEN r.workflow
													  ELSE r.tag END = @extschema@.rollup_source_key(b.scope)), 0),
		   spent_at = statement_timestamp()
	 WHERE b.spent IS NULL
		OR (first_day IS NOT NULL AND b.period_end > first_day AND b.period_start <= last_day);
	INSERT INTO @extschema@.budget_alert (budget_id, threshold, crossed_at, spent, amount)
	SELECT b.budget_id, t.t, statement_timestamp(), b.spent, b.amount
	  FROM @extschema@.budget b CROSS JOIN LATERAL unnest(b.alert_at) t(t)
	 WHERE b.spent >= b.amount * t.t
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS alerts = ROW_COUNT;
	RETURN alerts;
END
$fn$;
COMMENT ON FUNCTION @extschema@.budget_update(pg_catalog.date, pg_catalog.date) IS
	'step of rollup_refresh(): recompute the spending of the budgets a refresh touched and record the thresholds reached';

-- The body of a refresh, once the caller holds the refresh lock.
CREATE FUNCTION @extschema@.rollup_run() RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	prev pg_snapshot;
	cur pg_snapshot;
	r record;
	alerts int8;
	started timestamptz := clock_timestamp();
BEGIN
	-- Read once the lock is held: the progress committed by the refresh
	-- that held it is seen, and the snapshot follows it.
	SELECT p.snapshot INTO prev FROM @extschema@.rollup_progress p WHERE p.rollup = 'ledger' FOR UPDATE;
	prev := coalesce(prev, '1:1:'::pg_snapshot);
	cur := pg_current_snapshot();
	r := @extschema@.rollup_apply(prev, cur);
	alerts := @extschema@.budget_update(r.first_day, r.last_day);
	INSERT INTO @extschema@.rollup_progress AS p (rollup, snapshot, runs, rows_counted, last_run_at,
			last_rows, last_left_out, last_duration)
	VALUES ('ledger', cur, 1, r.counted, started, r.counted, r.left_out, clock_timestamp() - started)
	ON CONFLICT (rollup) DO UPDATE SET
		snapshot = excluded.snapshot, runs = p.runs + 1, rows_counted = p.rows_counted + excluded.rows_counted,
		last_run_at = excluded.last_run_at, last_rows = excluded.last_rows,
		last_left_out = excluded.last_left_out, last_duration = excluded.last_duration;
	IF r.left_out > 0 THEN
		RAISE NOTICE 'tokacct.rollup_refresh: % ledger rows left out (a time at infinity)', r.left_out;
	END IF;
	IF alerts > 0 THEN
		RAISE NOTICE 'tokacct.rollup_refresh: % budget alerts raised (see tokacct.budget_alert)', alerts;
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_run() IS
	'step of rollup_refresh() and rollup_rebuild(): count the rows committed since the saved snapshot, save the new one';

-- A refresh must start in a read committed transaction that has written
-- nothing: a transaction snapshot older than the lock could miss the
-- progress of the refresh that held it, and rows the transaction itself
-- wrote before the snapshot would count as visible in it.
CREATE FUNCTION @extschema@.rollup_check(what pg_catalog.text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'tokacct.%() must run at isolation level read committed, not %',
			what, current_setting('transaction_isolation')
			USING ERRCODE = 'invalid_transaction_state',
				  DETAIL = 'A transaction snapshot taken before the refresh lock may miss the progress of the refresh that held it.',
				  HINT = 'CALL it outside an explicit transaction, or in a read committed one.';
	END IF;
	IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
		RAISE EXCEPTION 'tokacct.%() must run in a transaction that has not written anything yet', what
			USING ERRCODE = 'invalid_transaction_state',
				  DETAIL = 'Rows (of the ledger or of an attached source) written earlier in the same transaction would be taken as counted without being counted.',
				  HINT = 'CALL it in a transaction of its own (pg_cron does).';
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_check(pg_catalog.text) IS
	'step of the rollup refreshes and rebuilds (ledger and attached sources): refuse a transaction in which a refresh could miss or double count rows';

CREATE PROCEDURE @extschema@.rollup_refresh(wait pg_catalog.bool DEFAULT true)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	PERFORM @extschema@.rollup_check('rollup_refresh');
	IF wait IS NULL THEN
		RAISE EXCEPTION 'wait must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- (the row again should an admin have deleted it: without it a refresh
	-- would skip for ever, or run without its turn)
	INSERT INTO @extschema@.rollup_lock (rollup) VALUES ('ledger') ON CONFLICT DO NOTHING;
	PERFORM FROM @extschema@.rollup_lock l WHERE l.rollup = 'ledger' FOR UPDATE SKIP LOCKED;
	IF NOT FOUND THEN
		IF NOT wait THEN
			RAISE NOTICE 'tokacct.rollup_refresh: another refresh is running; skipped';
			RETURN;
		END IF;
		RAISE NOTICE 'tokacct.rollup_refresh: another refresh is running; waiting for it';
		PERFORM FROM @extschema@.rollup_lock l WHERE l.rollup = 'ledger' FOR UPDATE;
	END IF;
	PERFORM @extschema@.rollup_run();
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_refresh(pg_catalog.bool) IS
	'count the ledger rows committed since the last refresh into rollup_daily and the budgets, exactly once; a second refresh waits (or, with wait => false, skips) while one runs';

CREATE PROCEDURE @extschema@.rollup_rebuild()
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	PERFORM @extschema@.rollup_check('rollup_rebuild');
	INSERT INTO @extschema@.rollup_lock (rollup) VALUES ('ledger') ON CONFLICT DO NOTHING;
	PERFORM FROM @extschema@.rollup_lock l WHERE l.rollup = 'ledger' FOR UPDATE;
	DELETE FROM @extschema@.rollup_daily;
	DELETE FROM @extschema@.rollup_progress;
	UPDATE @extschema@.budget SET spent = NULL, spent_at = NULL;
	PERFORM @extschema@.rollup_run();
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_rebuild()
	IS 'empty the rollups and count the whole ledger again (after ledger rows were changed or deleted, or prices corrected)';

-- Views for BI ------------------------------------------------------------------

CREATE VIEW @extschema@.rollup_monthly WITH (security_invoker = true) AS
	SELECT pg_catalog.date_trunc('month', r.day::pg_catalog.timestamp)::pg_catalog.date AS month,
		   r.workflow, r.model, r.team, r.tag,
		   pg_catalog.sum(r.calls)::pg_catalog.int8 AS calls,
		   pg_catalog.sum(r.calls_left_out)::pg_catalog.int8 AS calls_left_out,
		   pg_catalog.sum(r.input_tokens) AS input_tokens,
		   pg_catalog.sum(r.output_tokens) AS output_tokens,
		   pg_catalog.sum(r.cache_read_tokens) AS cache_read_tokens,
		   pg_catalog.sum(r.cache_write_tokens) AS cache_write_tokens,
		   pg_catalog.sum(r.reasoning_tokens) AS reasoning_tokens,
		   pg_catalog.sum(r.cost) AS cost,
		   pg_catalog.sum(r.reported_cost) AS reported_cost,
		   pg_catalog.sum(r.list_cost) AS list_cost,
		   @extschema@.cost_quantile(@extschema@.merge(r.cost_sketch), 0.5) AS p50_cost,
		   @extschema@.cost_quantile(@extschema@.merge(r.cost_sketch), 0.95) AS p95_cost,
		   @extschema@.cost_quantile(@extschema@.merge(r.cost_sketch), 0.99) AS p99_cost,
		   @extschema@.tail_ratio(@extschema@.merge(r.cost_sketch)) AS tail_ratio
	  FROM @extschema@.rollup_daily r
	 GROUP BY 1, r.workflow, r.model, r.team, r.tag;
COMMENT ON VIEW @extschema@.rollup_monthly IS 'the daily rollup merged per calendar month (UTC) x workflow x model x team x tag: money exact, quantiles of the cost of one call from the merged sketches';
COMMENT ON COLUMN @extschema@.rollup_monthly.month IS 'first day of the month';
COMMENT ON COLUMN @extschema@.rollup_monthly.workflow IS 'workflow (NULL: none given)';
COMMENT ON COLUMN @extschema@.rollup_monthly.model IS 'model';
COMMENT ON COLUMN @extschema@.rollup_monthly.team IS 'team (NULL: none given)';
COMMENT ON COLUMN @extschema@.rollup_monthly.tag IS 'tag (NULL: none given)';
COMMENT ON COLUMN @extschema@.rollup_monthly.calls IS 'calls';
COMMENT ON COLUMN @extschema@.rollup_monthly.calls_left_out IS 'calls that could not be priced (not in the money)';
COMMENT ON COLUMN @extschema@.rollup_monthly.input_tokens IS 'input tokens, cache included';
COMMENT ON COLUMN @extschema@.rollup_monthly.output_tokens IS 'output tokens, reasoning included';
COMMENT ON COLUMN @extschema@.rollup_monthly.cache_read_tokens IS 'input tokens read from the cache';
COMMENT ON COLUMN @extschema@.rollup_monthly.cache_write_tokens IS 'input tokens written to the cache';
COMMENT ON COLUMN @extschema@.rollup_monthly.reasoning_tokens IS 'output tokens spent on reasoning';
COMMENT ON COLUMN @extschema@.rollup_monthly.cost IS 'exact cost of the priced calls, USD';
COMMENT ON COLUMN @extschema@.rollup_monthly.reported_cost IS 'the part of cost the provider reported';
COMMENT ON COLUMN @extschema@.rollup_monthly.list_cost IS 'catalog list price of the calls the catalog prices';
COMMENT ON COLUMN @extschema@.rollup_monthly.p50_cost IS 'median cost of one call (within 1% relative)';
COMMENT ON COLUMN @extschema@.rollup_monthly.p95_cost IS '95th percentile of the cost of one call (within 1% relative)';
COMMENT ON COLUMN @extschema@.rollup_monthly.p99_cost IS '99th percentile of the cost of one call (within 1% relative)';
COMMENT ON COLUMN @extschema@.rollup_monthly.tail_ratio IS 'p95 / p50 (NULL when p50 is 0)';

CREATE FUNCTION @extschema@.budget_report(at pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS TABLE (budget_id pg_catalog.int8, scope_kind pg_catalog.text, scope pg_catalog.text,
		period_start pg_catalog.date, period_end pg_catalog.date, amount pg_catalog.numeric,
		spent pg_catalog.numeric, remaining pg_catalog.numeric, spent_share pg_catalog.numeric,
		burn_per_day pg_catalog.numeric, runs_out_on pg_catalog.date, runs_out_in_period pg_catalog.bool,
		spent_at pg_catalog.timestamptz, alerts pg_catalog.numeric[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
	SELECT b.budget_id, b.scope_kind, b.scope, b.period_start, b.period_end, b.amount,
		   s.spent, b.amount - s.spent,
		   round(s.spent / b.amount, 6),
		   CASE WHEN e.days > 0 THEN round(s.spent / e.days, 12) END,
		   CASE WHEN s.spent < b.amount AND o.days < DATE '9999-12-31' - b.period_start
				THEN b.period_start + floor(o.days)::int4 END,
		   CASE WHEN s.spent >= b.amount THEN true
				WHEN o.days IS NOT NULL THEN o.days < b.period_end - b.period_start END,
		   b.spent_at,
		   ARRAY(SELECT a.threshold FROM @extschema@.budget_alert a WHERE a.budget_id = b.budget_id ORDER BY 1)
	  FROM @extschema@.budget b
		   CROSS JOIN LATERAL (SELECT coalesce(b.spent, 0) AS spent) s
		   CROSS JOIN LATERAL (SELECT (extract(epoch FROM least(greatest($1 AT TIME ZONE 'UTC', b.period_start::timestamp),
									b.period_end::timestamp) - b.period_start::timestamp) / 86400) AS days) e
		   -- days from the period's start until the amount is reached at the
		   -- burn rate (exact; a large budget barely used may put it past
		   -- any date)
		   CROSS JOIN LATERAL (SELECT CASE WHEN e.days > 0 AND s.spent > 0
										   THEN b.amount / (s.spent / e.days) END AS days) o
$fn$;
COMMENT ON FUNCTION @extschema@.budget_report(pg_catalog.timestamptz) IS
	'every budget at a time: spent (as of the last refresh), remaining, burn rate per day over the elapsed part of the period, the day it runs out at that rate, the alerts raised';

CREATE VIEW @extschema@.budget_status WITH (security_invoker = true) AS
	SELECT * FROM @extschema@.budget_report(pg_catalog.now());
COMMENT ON VIEW @extschema@.budget_status IS 'every budget now: spent, remaining, burn rate, run-out date, alerts (tokacct.budget_report() at another time)';
COMMENT ON COLUMN @extschema@.budget_status.budget_id IS 'the budget';
COMMENT ON COLUMN @extschema@.budget_status.scope_kind IS 'team, workflow or tag';
COMMENT ON COLUMN @extschema@.budget_status.scope IS 'the team, workflow or tag';
COMMENT ON COLUMN @extschema@.budget_status.period_start IS 'first UTC day of the period';
COMMENT ON COLUMN @extschema@.budget_status.period_end IS 'first UTC day after the period';
COMMENT ON COLUMN @extschema@.budget_status.amount IS 'the budget, USD';
COMMENT ON COLUMN @extschema@.budget_status.spent IS 'spent in the period as of the last refresh (0 before the first)';
COMMENT ON COLUMN @extschema@.budget_status.remaining IS 'amount - spent (negative when overspent)';
COMMENT ON COLUMN @extschema@.budget_status.spent_share IS 'spent / amount';
COMMENT ON COLUMN @extschema@.budget_status.burn_per_day IS 'spent / days elapsed in the period (NULL before it starts)';
COMMENT ON COLUMN @extschema@.budget_status.runs_out_on IS 'UTC day the amount is reached at the burn rate (NULL when spent already reached it, nothing was spent, or the day is after 9999-12-30)';
COMMENT ON COLUMN @extschema@.budget_status.runs_out_in_period IS 'the amount is reached before the period ends at the burn rate (true when already reached)';
COMMENT ON COLUMN @extschema@.budget_status.spent_at IS 'when spent was computed';
COMMENT ON COLUMN @extschema@.budget_status.alerts IS 'alert thresholds reached so far (tokacct.budget_alert)';

CREATE FUNCTION @extschema@.budget_remaining(scope_kind pg_catalog.text, scope pg_catalog.text,
	at pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS pg_catalog.numeric
	LANGUAGE plpgsql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	d date := (at AT TIME ZONE 'UTC')::date;
	r numeric;
BEGIN
	-- PL/pgSQL, not SQL: the plan is kept for the session (a gateway calls
	-- this once per request).
	-- Budgets of one scope may overlap (a year's and a month's): the least
	-- left of those in force, so that a gateway stops at whichever runs
	-- out first.
	SELECT min(b.amount - coalesce(b.spent, 0)) INTO r
	  FROM @extschema@.budget b
	 WHERE b.scope_kind = budget_remaining.scope_kind AND b.scope = budget_remaining.scope
	   AND b.period_start <= d AND b.period_end > d;
	RETURN r;
END
$fn$;
COMMENT ON FUNCTION @extschema@.budget_remaining(pg_catalog.text, pg_catalog.text, pg_catalog.timestamptz) IS
	'what is left of the budget of a team, workflow or tag in force at a time (now), as of the last refresh: the least left when several are in force; negative when overspent, NULL when no budget applies (for a gateway to call before a request)';

-- ---------------------------------------------------------------------------
-- h-names (issue 13, items 3-5): names as traces carry them, catalog choice,
-- catalog comparison (sql/install/62_price_names.sql)
-- ---------------------------------------------------------------------------

-- ---------------------------------------------------------------------------
-- Names as traces carry them, and where the catalogs disagree
--
-- cost() and every pricing function resolve a call's (provider, model) in
-- one order (README "Names as traces carry them"): the model alias in force
-- at the call's time (tokacct.model_alias), else the provider alias
-- (tokacct.provider_alias); then the model name and the names it gives with
-- provider or route prefixes taken off ("openai/", "bedrock/",
-- "models/", "publishers/google/models/"), most specific first; catalogs
-- in precedence order, except that a catalog chosen for the provider (and
-- model) in tokacct.price_catalog_choice is tried first.  The alias tables
-- are read into the price cache, so their changes invalidate it like the
-- catalog's.
-- ---------------------------------------------------------------------------

CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.provider_alias
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();
CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.provider_alias
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.provider_alias ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;
CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.model_alias
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();
CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.model_alias
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.model_alias ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;

CREATE TABLE @extschema@.price_catalog_choice (
	choice_id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	provider pg_catalog.text NOT NULL
		CHECK (provider OPERATOR(pg_catalog.=) @extschema@.fold_name(provider)),
	model_match pg_catalog.jsonb
		CHECK (model_match IS NULL OR @extschema@.price_check_match(model_match, 'price_catalog_choice.model_match')),
	catalog pg_catalog.text NOT NULL REFERENCES @extschema@.price_catalog (catalog) ON UPDATE CASCADE ON DELETE CASCADE,
	note pg_catalog.text
);
CREATE UNIQUE INDEX price_catalog_choice_provider ON @extschema@.price_catalog_choice (provider)
	WHERE model_match IS NULL;
COMMENT ON TABLE @extschema@.price_catalog_choice IS
	'which catalog wins for a provider, or for some of its models: that catalog is tried first, then the others in precedence order';
COMMENT ON COLUMN @extschema@.price_catalog_choice.choice_id IS 'order among the choices naming models (the lowest whose rule matches wins)';
COMMENT ON COLUMN @extschema@.price_catalog_choice.provider IS 'the call''s provider after its alias (a catalog provider id such as anthropic, aws, google), folded';
COMMENT ON COLUMN @extschema@.price_catalog_choice.model_match IS 'a match rule on the model name (or a name it gives with its prefixes taken off); NULL: every model of the provider';
COMMENT ON COLUMN @extschema@.price_catalog_choice.catalog IS 'the catalog tried first';
COMMENT ON COLUMN @extschema@.price_catalog_choice.note IS 'free text: why';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_catalog_choice', '');
CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price_catalog_choice
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();
CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.price_catalog_choice
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.price_catalog_choice ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;

CREATE FUNCTION @extschema@.price_model_for(provider pg_catalog.text, model pg_catalog.text, at pg_catalog.timestamptz)
	RETURNS pg_catalog.text
	LANGUAGE c STABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_model_for';
COMMENT ON FUNCTION @extschema@.price_model_for(pg_catalog.text, pg_catalog.text, pg_catalog.timestamptz) IS
	'the catalog entry (catalog/provider/model) a call''s provider and model resolve to at time at (the model aliases in force then); NULL when unknown';

CREATE FUNCTION @extschema@.price_model_in(catalog pg_catalog.text, provider pg_catalog.text, model pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE c STABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_model_in';
COMMENT ON FUNCTION @extschema@.price_model_in(pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
	'the model id a provider and model name resolve to within one catalog (prefixes taken off as cost() does; no alias, no catalog choice); NULL when that catalog does not know it';

-- The models both genai-prices and LiteLLM price: each LiteLLM entry paired
-- with the genai-prices model its own name resolves to under its provider
-- (price_model_in), their list prices in force at "at" compared kind by
-- kind and context tier by tier.  For a tier, each side's price is what it
-- charges a request above that many input tokens: its tier price, else its
-- base price (a catalog without the tier charges its base price there).
CREATE FUNCTION @extschema@.catalog_comparison(at pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS TABLE (provider pg_catalog.text, model pg_catalog.text, litellm_provider pg_catalog.text,
		litellm_model pg_catalog.text, kind pg_catalog.text, above_tokens pg_catalog.int8,
		genai_mtok pg_catalog.numeric, litellm_mtok pg_catalog.numeric,
		genai_has pg_catalog.bool, litellm_has pg_catalog.bool)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
WITH pair AS (
	SELECT DISTINCT ON (l.provider, l.model) l.provider AS lprov, l.model AS lmod,
		   g.provider AS gprov, g.model AS gmod
	  FROM @extschema@.price_model l
	  CROSS JOIN LATERAL @extschema@.price_model_in('genai-prices', l.provider, l.model) AS r(id)
	  JOIN @extschema@.price_model g ON g.catalog OPERATOR(pg_catalog.=) 'genai-prices'
		AND g.provider OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) g.model OPERATOR(pg_catalog.=) r.id
	 WHERE l.catalog OPERATOR(pg_catalog.=) 'litellm'
), row_in_force AS (
	-- the list price row in force at "at" (its lowest variant) of each side
	SELECT p.*, x.side
	  FROM pair,
		   LATERAL (VALUES ('genai-prices', pair.gprov, pair.gmod, 'g'), ('litellm', pair.lprov, pair.lmod, 'l'))
			   AS x(cat, prov, mod, side),
		   LATERAL (SELECT r.price_id, pair.gprov, pair.gmod, pair.lprov, pair.lmod,
						   pg_catalog.to_jsonb(r) AS cols
					  FROM @extschema@.price r
					 WHERE r.catalog OPERATOR(pg_catalog.=) x.cat AND r.provider OPERATOR(pg_catalog.=) x.prov
					   AND r.model OPERATOR(pg_catalog.=) x.mod AND r.customer IS NULL
					   AND r.in_force_from OPERATOR(pg_catalog.<=) catalog_comparison.at
					 ORDER BY r.in_force_from DESC, r.variant LIMIT 1) p
), base AS (
	SELECT f.gprov, f.gmod, f.lprov, f.lmod, f.side, f.price_id, k.kind,
		   (f.cols OPERATOR(pg_catalog.->>) (k.kind OPERATOR(pg_catalog.||) '_mtok'))::pg_catalog.numeric AS mtok
	  FROM row_in_force f CROSS JOIN pg_catalog.unnest(@extschema@.price_kinds()) AS k(kind)
), point AS (
	-- every base price and every tier threshold of either side, by kind
	SELECT DISTINCT b.gprov, b.gmod, b.lprov, b.lmod, b.kind, 0::pg_catalog.int8 AS above
	  FROM base b WHERE b.mtok IS NOT NULL
	UNION
	SELECT b.gprov, b.gmod, b.lprov, b.lmod, b.kind, t.threshold
	  FROM base b JOIN @extschema@.price_tier t
		ON t.price_id OPERATOR(pg_catalog.=) b.price_id AND t.kind OPERATOR(pg_catalog.=) b.kind
)
SELECT pt.gprov, pt.gmod, pt.lprov, pt.lmod, pt.kind, pt.above, g.mtok, l.mtok, g.has, l.has
  FROM point pt,
	   LATERAL (SELECT COALESCE(
					(SELECT t.mtok FROM @extschema@.price_tier t
					  WHERE t.price_id OPERATOR(pg_catalog.=) b.price_id AND t.kind OPERATOR(pg_catalog.=) b.kind
						AND t.threshold OPERATOR(pg_catalog.<=) pt.above AND pt.above OPERATOR(pg_catalog.>) 0
					  ORDER BY t.threshold DESC LIMIT 1), b.mtok)::pg_catalog.numeric AS mtok,
				   CASE WHEN pt.above OPERATOR(pg_catalog.=) 0 THEN b.mtok IS NOT NULL
						ELSE EXISTS (SELECT FROM @extschema@.price_tier t
									  WHERE t.price_id OPERATOR(pg_catalog.=) b.price_id
										AND t.kind OPERATOR(pg_catalog.=) b.kind
										AND t.threshold OPERATOR(pg_catalog.=) pt.above) END AS has
			  FROM base b
			 WHERE b.side OPERATOR(pg_catalog.=) 'g' AND b.gprov OPERATOR(pg_catalog.=) pt.gprov
			   AND b.gmod OPERATOR(pg_catalog.=) pt.gmod AND b.lprov OPERATOR(pg_catalog.=) pt.lprov
			   AND b.lmod OPERATOR(pg_catalog.=) pt.lmod AND b.kind OPERATOR(pg_catalog.=) pt.kind) g,
	   LATERAL (SELECT COALESCE(
					(SELECT t.mtok FROM @extschema@.price_tier t
					  WHERE t.price_id OPERATOR(pg_catalog.=) b.price_id AND t.kind OPERATOR(pg_catalog.=) b.kind
						AND t.threshold OPERATOR(pg_catalog.<=) pt.above AND pt.above OPERATOR(pg_catalog.>) 0
					  ORDER BY t.threshold DESC LIMIT 1), b.mtok)::pg_catalog.numeric AS mtok,
				   CASE WHEN pt.above OPERATOR(pg_catalog.=) 0 THEN b.mtok IS NOT NULL
						ELSE EXISTS (SELECT FROM @extschema@.price_tier t
									  WHERE t.price_id OPERATOR(pg_catalog.=) b.price_id
										AND t.kind OPERATOR(pg_catalog.=) b.kind
										AND t.threshold OPERATOR(pg_catalog.=) pt.above) END AS has
			  FROM base b
			 WHERE b.side OPERATOR(pg_catalog.=) 'l' AND b.gprov OPERATOR(pg_catalog.=) pt.gprov
			   AND b.gmod OPERATOR(pg_catalog.=) pt.gmod AND b.lprov OPERATOR(pg_catalog.=) pt.lprov
			   AND b.lmod OPERATOR(pg_catalog.=) pt.lmod AND b.kind OPERATOR(pg_catalog.=) pt.kind) l
$fn$;
COMMENT ON FUNCTION @extschema@.catalog_comparison(pg_catalog.timestamptz) IS
	'the models both genai-prices and LiteLLM price (each LiteLLM entry with the genai-prices model its name resolves to), their list prices in force at "at" by kind and context tier: above_tokens 0 is the base price, else what each charges a request above that many input tokens (its tier, else its base price); genai_has / litellm_has: whether that catalog lists this kind or tier itself';

CREATE FUNCTION @extschema@.catalog_disagreements(threshold pg_catalog.numeric DEFAULT 0,
	at pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS TABLE (provider pg_catalog.text, model pg_catalog.text, litellm_provider pg_catalog.text,
		litellm_model pg_catalog.text, kind pg_catalog.text, above_tokens pg_catalog.int8,
		genai_mtok pg_catalog.numeric, litellm_mtok pg_catalog.numeric, disagreement pg_catalog.text)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	IF threshold IS NULL OR threshold < 0 THEN
		RAISE EXCEPTION 'threshold must be a fraction of zero or more, got %', COALESCE(threshold::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Give the relative difference to list, e.g. 0.05 for prices more than 5% apart; 0 lists every difference.';
	END IF;
	RETURN QUERY
	SELECT c.provider, c.model, c.litellm_provider, c.litellm_model, c.kind, c.above_tokens,
		   c.genai_mtok, c.litellm_mtok,
		   CASE WHEN c.genai_mtok IS NULL THEN 'only litellm prices this kind'
				WHEN c.litellm_mtok IS NULL THEN 'only genai-prices prices this kind'
				WHEN c.above_tokens > 0 AND c.genai_has AND NOT c.litellm_has THEN 'only genai-prices has this context tier'
				WHEN c.above_tokens > 0 AND c.litellm_has AND NOT c.genai_has THEN 'only litellm has this context tier'
				ELSE 'prices differ' END
	  FROM @extschema@.catalog_comparison(at) c
	 WHERE c.genai_mtok IS NULL OR c.litellm_mtok IS NULL
		OR (c.above_tokens > 0 AND c.genai_has <> c.litellm_has)
		OR abs(c.genai_mtok - c.litellm_mtok) > threshold * greatest(c.genai_mtok, c.litellm_mtok);
END
$fn$;
COMMENT ON FUNCTION @extschema@.catalog_disagreements(pg_catalog.numeric, pg_catalog.timestamptz) IS
	'the rows of catalog_comparison(at) where the catalogs disagree: one prices a kind or has a context tier the other lacks, or their prices differ by more than threshold (a fraction of the larger price; 0: any difference)';

-- cost() now reads the alias and choice tables too (they are part of the
-- price cache): a role that could read the price catalog before the upgrade
-- (grant_reader) may read them, one that could change it (grant_admin) may
-- change them, so its pricing keeps working without granting again.
DO $grant$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT g.grantee, pg_catalog.bool_or(g.privilege_type OPERATOR(pg_catalog.=) 'INSERT') AS admin
		  FROM information_schema.role_table_grants g
		 WHERE g.table_schema OPERATOR(pg_catalog.=) '@extschema@' AND g.table_name OPERATOR(pg_catalog.=) 'price'
		   AND g.privilege_type OPERATOR(pg_catalog.=) ANY (ARRAY['SELECT', 'INSERT'])
		   AND g.grantee OPERATOR(pg_catalog.<>) (SELECT pg_catalog.pg_get_userbyid(n.nspowner)
													FROM pg_catalog.pg_namespace n
												   WHERE n.nspname OPERATOR(pg_catalog.=) '@extschema@')
		 GROUP BY g.grantee
	LOOP
		EXECUTE pg_catalog.format('GRANT SELECT%s ON @extschema@.provider_alias, @extschema@.model_alias, @extschema@.price_catalog_choice TO %I',
								  CASE WHEN r.admin THEN ', INSERT, UPDATE, DELETE' ELSE '' END, r.grantee);
	END LOOP;
END
$grant$;

-- ---------------------------------------------------------------------------
-- 0.2.0: induced cost in waste (h-induced): waste_agg with input tokens and
-- input cost (and its transition function), waste_induced(), waste_by_trace()
-- reading input_tokens and input_cost, and the attached spans views' column
-- input_cost (attach_build(), attach_comments()).  The waste_state format 2
-- is read and written by the library; version 1 states are still read.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.waste_accum(@extschema@.waste_state, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz, pg_catalog.int4, pg_catalog.int8, pg_catalog.numeric)
	RETURNS @extschema@.waste_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_accum';
COMMENT ON FUNCTION @extschema@.waste_accum(@extschema@.waste_state, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz, pg_catalog.int4, pg_catalog.int8, pg_catalog.numeric) IS
	'transition function of waste_agg (with attempt numbers, input tokens and input cost)';

CREATE AGGREGATE @extschema@.waste_agg(span_id pg_catalog.text, parent_id pg_catalog.text,
		kind pg_catalog.text, name pg_catalog.text, args_hash pg_catalog.text,
		status pg_catalog.text, cost pg_catalog.numeric, started_at pg_catalog.timestamptz,
		attempt pg_catalog.int4, input_tokens pg_catalog.int8, input_cost pg_catalog.numeric) (
	SFUNC = @extschema@.waste_accum,
	STYPE = @extschema@.waste_state,
	SSPACE = 16384,
	COMBINEFUNC = @extschema@.waste_combine,
	FINALFUNC = @extschema@.waste_trim,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.waste_agg(pg_catalog.text, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz, pg_catalog.int4, pg_catalog.int8, pg_catalog.numeric) IS
	'the spans of one trace (group by trace) with the input of each LLM call: input tokens (cache included; NULL for spans that are not LLM calls) and what they cost; the classes then carry the induced cost (tool calls charged for the input their results added)';

CREATE FUNCTION @extschema@.waste_induced(state @extschema@.waste_state,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3)
	RETURNS TABLE (span_id pg_catalog.text, parent_id pg_catalog.text, kind pg_catalog.text,
		name pg_catalog.text, class pg_catalog.text, role pg_catalog.text,
		input_tokens pg_catalog.int8, tokens pg_catalog.int8, token_price pg_catalog.numeric,
		own_cost pg_catalog.numeric, induced pg_catalog.numeric, cost pg_catalog.numeric)
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 100
	AS 'MODULE_PATHNAME', 'waste_induced';
COMMENT ON FUNCTION @extschema@.waste_induced(@extschema@.waste_state, pg_catalog.text, pg_catalog.int4) IS
	'the induced cost of a trace whose spans carry input tokens: its LLM calls and tool calls by start time, with the tokens each tool added (each call re-read), each call''s price per input token, and the money moved (+ to a tool, - from a call); no rows when no span carries input tokens';

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
	columns pg_catalog.text[] := ARRAY['workflow', 'trace_id', 'span_id', 'parent_id', 'kind', 'name',
		'args_hash', 'status', 'cost', 'started_at'];
	kinds pg_catalog.text[] := ARRAY['id', 'id', 'id', 'id', 'string', 'string',
		'id', 'string', 'money', 'time'];
	has_attempt pg_catalog.bool;
	has_input pg_catalog.bool;
	r record;
	left_out pg_catalog.int8 := 0;
BEGIN
	has_attempt := EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
				WHERE a.attrelid = source AND a.attname = 'attempt'
				  AND a.attnum > 0 AND NOT a.attisdropped);
	IF has_attempt THEN
		columns := pg_catalog.array_append(columns, 'attempt');
		kinds := pg_catalog.array_append(kinds, 'integer');
	END IF;
	-- with input tokens and input cost, the induced cost (the attached spans views have them)
	has_input := (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute a
				   WHERE a.attrelid = source AND a.attname IN ('input_tokens', 'input_cost')
					 AND a.attnum > 0 AND NOT a.attisdropped) = 2;
	IF has_input THEN
		columns := columns || ARRAY['input_tokens', 'input_cost'];
		kinds := kinds || ARRAY['integer', 'money'];
	END IF;
	-- through the guard: every column of a built-in type of its kind, and
	-- nothing of the table's owner may run with the caller's privileges; a
	-- trace that is not ok is left out, counted and said so in a NOTICE, as
	-- the rollups leave such a run out
	FOR r IN SELECT * FROM @extschema@.source_query(source, columns, kinds,
			'SELECT * FROM (' || @extschema@.waste_by_trace_sql(source::pg_catalog.text, has_attempt, has_input, rule, loop_min)
			|| ') q ORDER BY 1, 2')
		AS q(workflow pg_catalog.text, trace_id pg_catalog.text, ok pg_catalog.bool, cost_rule pg_catalog.text,
			 spans pg_catalog.int8, total pg_catalog.numeric, essential pg_catalog.numeric,
			 error_call pg_catalog.numeric, failed_attempt pg_catalog.numeric,
			 abandoned_branch pg_catalog.numeric, stuck_loop pg_catalog.numeric,
			 duplicate_tool_call pg_catalog.numeric, waste pg_catalog.numeric)
	LOOP
		IF NOT r.ok THEN
			left_out := left_out + 1;
			CONTINUE;
		END IF;
		workflow := r.workflow; trace_id := r.trace_id; cost_rule := r.cost_rule; spans := r.spans;
		total := r.total; essential := r.essential; error_call := r.error_call;
		failed_attempt := r.failed_attempt; abandoned_branch := r.abandoned_branch;
		stuck_loop := r.stuck_loop; duplicate_tool_call := r.duplicate_tool_call; waste := r.waste;
		RETURN NEXT;
	END LOOP;
	IF left_out > 0 THEN
		RAISE NOTICE 'tokacct.waste_by_trace: % traces of % left out (a span without an id or a finite start time, with a cost that is negative, not a number or too large, a negative attempt or input, a span id twice, or parent ids in a cycle)',
			left_out, source;
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.waste_by_trace(pg_catalog.regclass, pg_catalog.text, pg_catalog.int4) IS
	'waste per trace of a span table or view with columns workflow, trace_id, span_id, parent_id, kind, name, args_hash, status, cost, started_at, optionally attempt, and optionally input_tokens and input_cost (both: the classes carry the induced cost); a trace with a span without an id or a finite start, with a cost that is negative, not a number or too large, a negative attempt or input, a span id twice, or parent ids in a cycle is left out and counted in a NOTICE';

CREATE OR REPLACE FUNCTION @extschema@.attach_build(source pg_catalog.text, parts pg_catalog.jsonb,
	opts pg_catalog.jsonb, dedup pg_catalog.bool) RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	src text := quote_literal(source) || '::pg_catalog.text';
	sep text := CASE WHEN opts ->> 'cache_tokens' = 'separate' THEN 'true' ELSE 'false' END;
	is_strict boolean := coalesce((opts ->> 'strict')::boolean, false);
	reported_first boolean := coalesce(opts ->> 'cost_basis', 'reported_first') = 'reported_first';
	success text := quote_literal(coalesce(
		(SELECT array_agg(lower(v)) FROM jsonb_array_elements_text(opts -> 'success_values') v),
		ARRAY['success', 'succeeded', 'solved', 'resolved', 'ok', 'pass', 'passed', 'true', '1', 'yes'])::text)
		|| '::pg_catalog.text[]';
	colnames text[] := ARRAY['trace_id', 'span_id', 'parent_id', 'name', 'started_at', 'ended_at',
		'status_raw', 'error_type', 'operation', 'kind', 'provider', 'request_model', 'response_model',
		'input_raw', 'output_raw', 'cache_read_raw', 'cache_write_raw', 'reasoning_raw',
		'reported_cost', 'reported_cost_raw', 'reported_currency', 'reported_cost_source', 'estimated_cost',
		'conversation_id', 'tool_name', 'args_hash', 'workflow', 'item', 'outcome', 'option', 'attempt_raw'];
	cols jsonb := parts -> 'cols';
	rel text := parts ->> 'from';
	sel text;
	content text;
	call_filter text;
	usage_kind text;
	base_all text;			-- every stored row
	spans_rows text;		-- every span once, usage_kind telling calls and agent usage
	calls_rows text;		-- every counted call once
	priced text;			-- template: the rows of {{ROWS}} priced
	spans_priced text;
	calls_priced text;
	traces text;
	attempts text;
	by_trace text;
	attempt_expr text;
	v_calls text;
	v_spans text;
	v_attempts text;
	v_items text;
	v_conv text;
	v_problems text;
	record text;
	c text;
BEGIN
	FOREACH c IN ARRAY colnames LOOP
		IF NOT cols ? c THEN
			RAISE EXCEPTION 'attach_build: the source gives no column %', c USING ERRCODE = 'internal_error';
		END IF;
	END LOOP;
	SELECT string_agg(format('%s AS %I', cols ->> n, n), E',\n\t   ' ORDER BY o)
	  INTO sel FROM unnest(colnames) WITH ORDINALITY u(n, o);
	SELECT 'ROW(' || string_agg('b.' || n, ', ') || ')' INTO content
	  FROM unnest(colnames) n WHERE n NOT IN ('trace_id', 'span_id');

	base_all := format('SELECT %s%sFROM %s', sel, E'\n  ', rel);

	-- The spans whose usage is priced: LLM calls ("call"), and agent spans
	-- that carry usage ("agent").  An agent span's usage counts only where
	-- its trace has no LLM-call span (else it repeats its calls' usage):
	-- attempts, items and spans apply that per trace; the calls view lists
	-- LLM calls only, so it reads each row once, with no look at others.
	call_filter := format('%s = ''llm''', cols ->> 'kind');
	usage_kind := format('CASE %s WHEN ''llm'' THEN ''call''%s END', cols ->> 'kind',
		CASE WHEN coalesce(opts ->> 'agent_usage', 'when_no_calls') = 'when_no_calls' THEN format(
			' WHEN ''agent'' THEN CASE WHEN %s IS NOT NULL OR %s IS NOT NULL THEN ''agent'' END',
			cols ->> 'input_raw', cols ->> 'output_raw')
		ELSE '' END);

	-- Repeated span ids are collapsed on the stored rows (before anything is
	-- read from them), keeping the first copy in the source's order.
	IF dedup THEN
		spans_rows := format(
			'SELECT %1$s, %7$s AS usage_kind%2$sFROM (SELECT DISTINCT ON (%3$s COLLATE "C", %4$s COLLATE "C") r.* FROM %5$s '
			'ORDER BY %3$s COLLATE "C", %4$s COLLATE "C", %6$s) r',
			sel, E'\n  ', parts ->> 'trace', parts ->> 'span', rel, parts ->> 'order', usage_kind);
		calls_rows := format(
			'SELECT %1$s, ''call''::pg_catalog.text AS usage_kind%2$sFROM (SELECT DISTINCT ON (%3$s COLLATE "C", %4$s COLLATE "C") r.* FROM %5$s '
			'WHERE %7$s ORDER BY %3$s COLLATE "C", %4$s COLLATE "C", %6$s) r',
			sel, E'\n  ', parts ->> 'trace', parts ->> 'span', rel, parts ->> 'order', call_filter);
	ELSE
		spans_rows := format('SELECT %s, %s AS usage_kind%sFROM %s', sel, usage_kind, E'\n  ', rel);
		calls_rows := format('SELECT %s, ''call''::pg_catalog.text AS usage_kind%sFROM %s WHERE %s', sel, E'\n  ', rel, call_filter);
	END IF;

	-- The rows of {{ROWS}} priced: l0 reads the counts and names, l1 prices,
	-- l2 says what is wrong.  Spans without usage to price cost 0.
	priced := format($q$
SELECT l2.*,
	   CASE WHEN NOT l2.priced THEN 0::pg_catalog.numeric ELSE %1$s END AS cost,
	   CASE WHEN NOT l2.priced THEN NULL
			WHEN %2$s AND l2.reported_usd IS NOT NULL THEN 'reported'
			WHEN l2.list_cost IS NOT NULL THEN 'catalog' END AS cost_source
  FROM (SELECT l1.*,
			   COALESCE(
				 CASE WHEN NOT l1.priced THEN NULL
					  WHEN l1.started_at IS NULL OR NOT pg_catalog.isfinite(l1.started_at)
					  THEN 'no usable start time' END,
				 CASE WHEN l1.priced THEN @extschema@.attach_usage_problem(l1.input_raw, l1.output_raw,
					 l1.cache_read_raw, l1.cache_write_raw, l1.reasoning_raw, %3$s) END,
				 CASE WHEN l1.priced THEN l1.reported_problem END,
				 CASE WHEN l1.priced AND NOT l1.has_usage AND l1.status = 'ok' AND l1.reported_usd IS NULL
					  THEN 'no token usage on a successful call' END,
				 CASE WHEN l1.priced AND l1.has_usage AND l1.list_cost IS NULL
					  THEN pg_catalog.format('no catalog price for provider %%s, model %%s',
							pg_catalog.quote_nullable(l1.price_provider), pg_catalog.quote_nullable(l1.price_model)) END,
				 CASE WHEN l1.status_unknown
					  THEN pg_catalog.format('unknown status %%s (taken as ok)', pg_catalog.quote_literal(l1.status_raw)) END
			   ) AS problem
		  FROM (SELECT l0.*,
					   CASE WHEN l0.priced THEN
						 COALESCE(@extschema@.attach_list_cost(l0.price_provider, l0.price_model, l0.input_raw,
								l0.output_raw, l0.cache_read_raw, l0.cache_write_raw, l0.reasoning_raw,
								l0.started_at, %3$s),
							CASE WHEN NOT l0.has_usage AND l0.status <> 'ok' THEN 0::pg_catalog.numeric END) END AS list_cost
				  FROM (SELECT c.*, c.usage_kind IS NOT NULL AS priced,
							   COALESCE(@extschema@.attach_status(c.status_raw, c.error_type), 'ok') AS status,
							   @extschema@.attach_status(c.status_raw, c.error_type) IS NULL AS status_unknown,
							   COALESCE(c.response_model, c.request_model) AS model,
							   -- the counts of a call that reports usage; an absent one is 0,
							   -- an unusable one NULL
							   CASE WHEN c.usage_kind IS NOT NULL AND (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) THEN
								   COALESCE(@extschema@.attach_input_tokens(c.input_raw, c.cache_read_raw, c.cache_write_raw, %3$s),
									   CASE WHEN pg_catalog.btrim(COALESCE(c.input_raw, '')) = '' THEN 0::pg_catalog.int8 END) END AS input_tokens,
							   {{COUNT:output_raw}} AS output_tokens,
							   {{COUNT:cache_read_raw}} AS cache_read_tokens,
							   {{COUNT:cache_write_raw}} AS cache_write_tokens,
							   {{COUNT:reasoning_raw}} AS reasoning_tokens,
							   (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) AS has_usage,
							   CASE WHEN c.reported_cost IS NULL AND c.reported_cost_raw IS NOT NULL
									 AND c.reported_cost_raw !~ '^\s*$'
									THEN pg_catalog.format('reported cost not a number: %%s',
										pg_catalog.quote_literal(pg_catalog.left(c.reported_cost_raw, 40)))
									WHEN c.reported_cost IS NULL THEN NULL
									WHEN c.reported_cost = 'NaN'::pg_catalog.numeric
									  OR c.reported_cost = 'Infinity'::pg_catalog.numeric
									  OR c.reported_cost = '-Infinity'::pg_catalog.numeric
									THEN 'reported cost not finite'
									WHEN c.reported_cost < 0 THEN 'reported cost negative'
									WHEN c.reported_cost > 1000000 THEN 'reported cost above 1000000'
							   END AS reported_problem,
							   CASE WHEN c.reported_cost IS NOT NULL
									 AND c.reported_cost <> 'NaN'::pg_catalog.numeric
									 AND c.reported_cost >= 0 AND c.reported_cost <= 1000000
									 AND pg_catalog.upper(COALESCE(c.reported_currency, 'USD')) = 'USD'
									THEN pg_catalog.round(c.reported_cost, 12) END AS reported_usd,
							   COALESCE({{ALIAS}} OPERATOR(pg_catalog.->>) 2,
								   {{PROVIDER_MAP}} OPERATOR(pg_catalog.->>) pg_catalog.lower(c.provider),
								   c.provider) AS price_provider,
							   COALESCE({{ALIAS}} OPERATOR(pg_catalog.->>) 3, c.response_model, c.request_model) AS price_model
						  FROM ({{ROWS}}) c) l0) l1) l2$q$,
		CASE
			WHEN is_strict THEN 'CASE WHEN l2.problem IS NOT NULL THEN @extschema@.attach_refuse('
				|| src || ', l2.trace_id, l2.span_id, l2.problem) '
				|| CASE WHEN reported_first THEN 'ELSE COALESCE(l2.reported_usd, l2.list_cost) END'
						ELSE 'ELSE l2.list_cost END' END
			WHEN reported_first THEN 'COALESCE(l2.reported_usd, l2.list_cost)'
			ELSE 'l2.list_cost'
		END,
		CASE WHEN reported_first THEN 'true' ELSE 'false' END,
		sep);
	-- Aliases: each table is read once per query into a jsonb map (an
	-- InitPlan), so a call costs a key lookup rather than a join (the
	-- planner cannot estimate how many calls a join would see) and the
	-- pricing runs in parallel workers.  A model alias is looked for under
	-- "provider US model" (lower case); its period (unix seconds, the open
	-- ends as +-1e15) is chosen by the call's time with a jsonpath filter.
	priced := replace(replace(replace(priced,
		'{{ALIAS}}', $q$(CASE WHEN {{MODEL_MAP}} IS NOT NULL AND pg_catalog.isfinite(c.started_at)
					AND {{MODEL_MAP}} OPERATOR(pg_catalog.?) {{MODEL_KEY}}
			THEN pg_catalog.jsonb_path_query_first({{MODEL_MAP}} OPERATOR(pg_catalog.->) {{MODEL_KEY}},
				'strict $[*] ? (@[0] <= $t && $t < @[1])',
				pg_catalog.jsonb_build_object('t', EXTRACT(epoch FROM c.started_at))) END)$q$),
		'{{MODEL_KEY}}', $q$(pg_catalog.lower(COALESCE(c.provider, '')) OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) pg_catalog.lower(COALESCE(c.response_model, c.request_model)))$q$),
		'{{MODEL_MAP}}', $q$(SELECT pg_catalog.jsonb_object_agg(m.k, m.periods)
			FROM (SELECT ma.provider OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) ma.model AS k,
						 pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(
							 CASE WHEN pg_catalog.isfinite(ma.valid_from) THEN EXTRACT(epoch FROM ma.valid_from) ELSE -1e15 END,
							 CASE WHEN pg_catalog.isfinite(ma.valid_until) THEN EXTRACT(epoch FROM ma.valid_until) ELSE 1e15 END,
							 ma.catalog_provider, ma.catalog_model) ORDER BY ma.valid_from) AS periods
					FROM @extschema@.model_alias ma GROUP BY 1) m)$q$);
	FOREACH c IN ARRAY ARRAY['output_raw', 'cache_read_raw', 'cache_write_raw', 'reasoning_raw'] LOOP
		priced := replace(priced, '{{COUNT:' || c || '}}', format(
			'CASE WHEN c.usage_kind IS NOT NULL AND (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) THEN '
			'COALESCE(@extschema@.attach_int8(c.%1$s), CASE WHEN pg_catalog.btrim(COALESCE(c.%1$s, '''')) = '''' '
			'THEN 0::pg_catalog.int8 END) END', c));
	END LOOP;
	priced := replace(priced, '{{PROVIDER_MAP}}',
		'(SELECT pg_catalog.jsonb_object_agg(pa.provider, pa.catalog_provider) FROM @extschema@.provider_alias pa)');
	spans_priced := replace(priced, '{{ROWS}}', spans_rows);
	calls_priced := replace(priced, '{{ROWS}}', calls_rows);

	-- Traces: their time, root status and structure values (a root span's
	-- value first, else the smallest any span of the trace carries).
	-- Repeated rows change none of these, so every stored row is read.
	traces := format($q$
SELECT b.trace_id,
	   pg_catalog.min(b.started_at) AS started_at,
	   pg_catalog.max(COALESCE(b.ended_at, b.started_at)) AS ended_at,
	   pg_catalog.count(DISTINCT b.span_id) FILTER (WHERE b.parent_id IS NULL) AS roots,
	   pg_catalog.bool_or(COALESCE(@extschema@.attach_status(b.status_raw, b.error_type), 'ok') NOT IN ('ok', 'discarded'))
		   FILTER (WHERE b.parent_id IS NULL) AS root_failed,
	   COALESCE(pg_catalog.min(b.workflow) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.workflow)) AS workflow,
	   COALESCE(pg_catalog.min(b.item) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.item)) AS item,
	   COALESCE(pg_catalog.min(b.outcome) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.outcome)) AS outcome,
	   COALESCE(pg_catalog.min(b.option) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.option)) AS option,
	   COALESCE(pg_catalog.min(b.attempt_raw) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.attempt_raw)) AS attempt_raw
  FROM (%1$s) b
 GROUP BY b.trace_id$q$, base_all);

	-- Attempts: one per trace, numbered per (workflow, item) in time order
	-- (or by the attempt number the source records); the run is the trace
	-- of the item's first attempt (waste sees an item's attempts together).
	IF opts ? 'attempt' AND jsonb_typeof(opts -> 'attempt') <> 'null' THEN
		attempt_expr := 'CASE WHEN t.item IS NOT NULL THEN @extschema@.attach_int8(t.attempt_raw)::pg_catalog.int4 END';
	ELSE
		attempt_expr := 'CASE WHEN t.item IS NOT NULL THEN (pg_catalog.row_number() OVER w)::pg_catalog.int4 END';
	END IF;
	attempts := format($q$
SELECT t.*,
	   %1$s AS attempt,
	   CASE WHEN t.item IS NOT NULL THEN pg_catalog.first_value(t.trace_id) OVER w ELSE t.trace_id END AS run_id,
	   CASE WHEN t.outcome IS NOT NULL THEN pg_catalog.lower(pg_catalog.btrim(t.outcome)) = ANY (%2$s)
			WHEN t.roots = 0 THEN NULL
			ELSE NOT t.root_failed END AS succeeded
  FROM (%3$s) t
WINDOW w AS (PARTITION BY t.workflow, t.item ORDER BY t.started_at, t.trace_id COLLATE "C")$q$,
		attempt_expr, success, '{{TRACES}}');

	-- One row per trace (a GROUP BY, so a join to it that reads nothing is
	-- removed); joined by hash to calls, spans and conversations.
	by_trace := format(
		'SELECT a.trace_id, pg_catalog.min(a.workflow) AS workflow, pg_catalog.min(a.item) AS item, '
		'pg_catalog.min(a.attempt) AS attempt, pg_catalog.min(a.run_id) AS run_id, '
		'pg_catalog.bool_and(a.succeeded) AS succeeded FROM (%s) a GROUP BY a.trace_id',
		replace(attempts, '{{TRACES}}', traces));

	-- calls --------------------------------------------------------------
	v_calls := format($q$
SELECT %1$s AS source, p.trace_id, p.span_id, p.parent_id, p.name, p.operation, p.started_at, p.ended_at, p.status,
	   a.workflow, a.item, a.attempt, COALESCE(p.conversation_id, p.trace_id) AS conversation_id,
	   p.provider, p.model, p.request_model, p.response_model, p.price_provider, p.price_model,
	   p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cache_write_tokens, p.reasoning_tokens,
	   p.list_cost, p.reported_usd AS reported_cost, p.reported_currency, p.reported_cost_source,
	   p.estimated_cost, p.cost, p.cost_source, p.problem
  FROM (%2$s) p
  LEFT JOIN (%3$s) a ON a.trace_id = p.trace_id$q$,
		src, calls_priced, by_trace);

	-- attempts: the structure and the cost of each trace in one pass over
	-- its priced spans (no join whose size the planner would guess) --------
	v_attempts := format($q$
SELECT %1$s AS source, a.workflow, a.item, COALESCE(a.option, a.models) AS option, a.attempt,
	   a.trace_id, a.started_at, a.ended_at, a.succeeded, a.outcome,
	   CASE WHEN a.left_out = 0 THEN COALESCE(a.cost, 0) END AS cost,
	   COALESCE(a.cost, 0) AS cost_known,
	   a.calls, a.left_out AS calls_left_out,
	   COALESCE(a.input_tokens, 0)::pg_catalog.int8 AS input_tokens,
	   COALESCE(a.output_tokens, 0)::pg_catalog.int8 AS output_tokens,
	   CASE WHEN a.item IS NULL THEN 'no item key'
			WHEN a.attempt IS NULL THEN 'attempt number not a whole number'
			WHEN a.succeeded IS NULL THEN 'success unknown: the trace has no root span'
			WHEN a.left_out > 0 THEN pg_catalog.format('%%s of %%s calls left out of the cost', a.left_out, a.calls)
	   END AS problem
  FROM (%2$s) a$q$,
		src, replace(attempts, '{{TRACES}}', format($q$
SELECT b.trace_id,
	   pg_catalog.min(b.started_at) AS started_at,
	   pg_catalog.max(COALESCE(b.ended_at, b.started_at)) AS ended_at,
	   pg_catalog.count(*) FILTER (WHERE b.parent_id IS NULL) AS roots,
	   pg_catalog.bool_or(b.status NOT IN ('ok', 'discarded')) FILTER (WHERE b.parent_id IS NULL) AS root_failed,
	   COALESCE(pg_catalog.min(b.workflow) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.workflow)) AS workflow,
	   COALESCE(pg_catalog.min(b.item) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.item)) AS item,
	   COALESCE(pg_catalog.min(b.outcome) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.outcome)) AS outcome,
	   COALESCE(pg_catalog.min(b.option) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.option)) AS option,
	   COALESCE(pg_catalog.min(b.attempt_raw) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.attempt_raw)) AS attempt_raw,
	   -- the calls' cost, or where the trace has no LLM call its agent spans' usage
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.cost) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.cost) FILTER (WHERE b.usage_kind = 'agent') END AS cost,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'agent') END AS calls,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call' AND b.cost IS NULL)
			ELSE pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'agent' AND b.cost IS NULL) END AS left_out,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.input_tokens) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.input_tokens) FILTER (WHERE b.usage_kind = 'agent') END AS input_tokens,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.output_tokens) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.output_tokens) FILTER (WHERE b.usage_kind = 'agent') END AS output_tokens,
	   COALESCE(pg_catalog.string_agg(DISTINCT b.price_model, '+' ORDER BY b.price_model) FILTER (WHERE b.usage_kind = 'call'),
				pg_catalog.string_agg(DISTINCT b.price_model, '+' ORDER BY b.price_model) FILTER (WHERE b.usage_kind = 'agent')) AS models
  FROM (%1$s) b
 GROUP BY b.trace_id$q$, spans_priced)));

	-- items ------------------------------------------------------------------
	record := @extschema@.attach_record(opts, success);
	v_items := format($q$
SELECT i.source, i.workflow, i.item, i.option, i.attempts, i.solved, i.started_at, i.ended_at,
	   i.ai_cost, i.ai_cost_known, i.calls, i.calls_left_out,
	   CASE WHEN i.solved THEN 0::pg_catalog.numeric
			WHEN NOT i.solved THEN pg_catalog.round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12)
	   END AS human_fix_cost,
	   b.bpo_unit_price,
	   CASE WHEN i.solved THEN b.bpo_unit_price
			WHEN NOT i.solved THEN b.bpo_unit_price - pg_catalog.round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12)
	   END AS value,
	   i.problem
  FROM (%3$s) i
  LEFT JOIN LATERAL (SELECT bl.bpo_unit_price, bl.human_cost_per_hour, bl.human_minutes_per_item
					   FROM @extschema@.baseline bl
					  WHERE bl.workflow = i.workflow AND bl.valid_from <= i.started_at
						AND pg_catalog.upper(bl.currency) = 'USD'
					  ORDER BY bl.valid_from DESC LIMIT 1) b ON true$q$,
		src, v_attempts, CASE WHEN record IS NULL THEN '{{ITEMS}}' ELSE format(
			'SELECT i0.source, i0.workflow, i0.item, i0.option, i0.attempts, '
			'COALESCE(rec.solved, i0.solved) AS solved, i0.started_at, i0.ended_at, i0.ai_cost, i0.ai_cost_known, '
			'i0.calls, i0.calls_left_out, COALESCE(i0.problem, CASE WHEN rec.key IS NULL '
			'THEN ''no row for the item in the system of record'' END) AS problem '
			'FROM ({{ITEMS}}) i0 LEFT JOIN (%s) rec ON rec.key = i0.item', record) END);
	v_items := replace(v_items, '{{ITEMS}}', format($q$SELECT %1$s AS source, a.workflow, a.item,
			   pg_catalog.string_agg(DISTINCT a.option, '+' ORDER BY a.option) AS option,
			   pg_catalog.count(*) AS attempts,
			   pg_catalog.bool_or(a.succeeded) AS solved,
			   pg_catalog.min(a.started_at) AS started_at, pg_catalog.max(a.ended_at) AS ended_at,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) = 0 THEN pg_catalog.sum(a.cost) END AS ai_cost,
			   pg_catalog.sum(a.cost_known) AS ai_cost_known,
			   pg_catalog.sum(a.calls)::pg_catalog.int8 AS calls,
			   pg_catalog.sum(a.calls_left_out)::pg_catalog.int8 AS calls_left_out,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) > 0
					THEN pg_catalog.format('%%s of %%s calls left out of the cost', pg_catalog.sum(a.calls_left_out), pg_catalog.sum(a.calls))
					WHEN pg_catalog.bool_or(a.succeeded) IS NULL THEN 'success unknown'
			   END AS problem
		  FROM (%2$s) a
		 WHERE a.item IS NOT NULL
		 GROUP BY a.workflow, a.item$q$,
		src, v_attempts));

	-- conversations ------------------------------------------------------------
	v_conv := format($q$
SELECT %1$s AS source, a.workflow, a.item, a.attempt,
	   COALESCE(p.conversation_id, p.trace_id) AS conversation_id, p.trace_id, p.span_id,
	   (pg_catalog.row_number() OVER (PARTITION BY COALESCE(p.conversation_id, p.trace_id)
			ORDER BY p.started_at, p.span_id COLLATE "C"))::pg_catalog.int4 AS seq,
	   p.started_at, p.model, p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cost, p.problem
  FROM (%2$s) p
  LEFT JOIN (%3$s) a ON a.trace_id = p.trace_id$q$,
		src, calls_priced, by_trace);

	-- spans ------------------------------------------------------------------
	-- an agent span's usage counts where its trace has no LLM call
	v_spans := format($q$
SELECT s.source, COALESCE(a.run_id, s.trace_id) AS trace_id, s.trace_id AS source_trace_id,
	   s.span_id, s.parent_id, s.kind, COALESCE(s.tool_name, s.name) AS name, s.operation, s.args_hash,
	   CASE WHEN s.parent_id IS NULL AND a.succeeded IS FALSE AND s.status = 'ok' THEN 'error' ELSE s.status END AS status,
	   CASE WHEN s.counted THEN s.cost ELSE 0::pg_catalog.numeric END AS cost,
	   s.started_at, s.ended_at, a.workflow, a.item, a.attempt, s.model,
	   CASE WHEN s.counted THEN s.input_tokens END AS input_tokens,
	   CASE WHEN s.counted THEN s.output_tokens END AS output_tokens,
	   s.call_seq,
	   CASE WHEN s.counted AND s.input_tokens > 0 AND s.list_cost IS NOT NULL
			THEN pg_catalog.round(@extschema@.cost(s.price_provider, s.price_model, s.input_tokens, 0, 0, 0, 0, s.started_at)
				 / s.input_tokens, 12) END AS input_price,
	   CASE WHEN s.counted AND s.input_tokens > 0 AND s.list_cost IS NOT NULL
			THEN @extschema@.cost(s.price_provider, s.price_model, s.input_tokens, 0, s.cache_read_tokens,
				 s.cache_write_tokens, 0, s.started_at) END AS input_cost,
	   CASE WHEN s.counted OR s.usage_kind IS NULL THEN s.problem END AS problem
  FROM (SELECT %1$s AS source, p.*,
			   (p.usage_kind = 'call' OR (p.usage_kind = 'agent' AND NOT pg_catalog.bool_or(p.usage_kind = 'call') OVER t))
				   IS TRUE AS counted,
			   CASE WHEN p.usage_kind = 'call'
					THEN (pg_catalog.count(*) FILTER (WHERE p.usage_kind = 'call') OVER t_upto)::pg_catalog.int4 END AS call_seq
		  FROM (%2$s) p
		WINDOW t AS (PARTITION BY p.trace_id ORDER BY p.started_at, p.span_id COLLATE "C"
					 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
			   t_upto AS (PARTITION BY p.trace_id ORDER BY p.started_at, p.span_id COLLATE "C"
						  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) s
  LEFT JOIN (%3$s) a ON a.trace_id = s.trace_id$q$,
		src, spans_priced, by_trace);

	-- problems ---------------------------------------------------------------
	v_problems := format($q$
SELECT %1$s AS source, CASE WHEN p.usage_kind = 'call' THEN 'call' ELSE 'span' END AS level, p.trace_id, p.span_id,
	   p.problem AS reason
  FROM (SELECT p.*, pg_catalog.bool_or(p.usage_kind = 'call') OVER (PARTITION BY p.trace_id) AS trace_has_calls
		  FROM (%2$s) p) p
 WHERE p.problem IS NOT NULL AND (p.usage_kind IS DISTINCT FROM 'agent' OR NOT p.trace_has_calls)
UNION ALL
SELECT %1$s, 'span', b.trace_id, b.span_id,
	   pg_catalog.format('%%s copies of the span id with different content: one kept', pg_catalog.count(*))
  FROM (%3$s) b
 GROUP BY b.trace_id, b.span_id
HAVING pg_catalog.count(*) > 1 AND pg_catalog.count(DISTINCT %4$s) > 1
UNION ALL
SELECT %1$s, 'trace', a.trace_id, NULL,
	   CASE WHEN a.item IS NULL THEN 'no item key: the trace is in no attempt or item'
			WHEN a.attempt IS NULL THEN pg_catalog.format('attempt number not a whole number: %%s', pg_catalog.quote_literal(a.attempt_raw))
			ELSE 'no root span: the attempt''s success is unknown' END
  FROM (%5$s) a
 WHERE a.item IS NULL OR a.attempt IS NULL OR a.succeeded IS NULL$q$,
		src, spans_priced, base_all, content, replace(attempts, '{{TRACES}}', traces));

	RETURN jsonb_build_object('calls', v_calls, 'spans', v_spans, 'attempts', v_attempts,
		'items', v_items, 'conversations', v_conv, 'problems', v_problems);
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_build(pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.bool) IS
	'the SQL of the seven views of an attached source, from the parts its attach function compiled (the relation, the span keys, the order of repeated copies, the SQL of each column)';

CREATE OR REPLACE FUNCTION @extschema@.attach_comments() RETURNS pg_catalog.jsonb
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
SELECT $j${
 "calls": {
  "": "one row per LLM call (spans repeated by at-least-once delivery counted once), priced at the list prices in force when it ran, with the cost it reported",
  "source": "name of the attached source",
  "trace_id": "trace of the call",
  "span_id": "span id of the call",
  "parent_id": "parent span id (NULL for a root)",
  "name": "span or observation name",
  "operation": "gen_ai.operation.name (chat, generate_content, text_completion, embeddings; invoke_agent for an agent span whose usage is counted)",
  "started_at": "start of the call",
  "ended_at": "end of the call",
  "status": "ok, error, rate_limited, timeout, server_error or discarded",
  "workflow": "workflow of the call's trace",
  "item": "item (ticket, claim, ...) of the call's trace",
  "attempt": "attempt number of the call's trace within its item (1, 2, ... in time order)",
  "conversation_id": "conversation the call belongs to (gen_ai.conversation.id, else its trace)",
  "provider": "provider as the trace names it",
  "model": "model as the trace names it: the response model, else the request model",
  "request_model": "model asked for",
  "response_model": "model that answered",
  "price_provider": "provider the call is priced as (after tokacct.model_alias and tokacct.provider_alias)",
  "price_model": "model the call is priced as (after tokacct.model_alias)",
  "input_tokens": "all input tokens, cache reads and writes included",
  "output_tokens": "all output tokens, reasoning included",
  "cache_read_tokens": "input tokens read from the cache",
  "cache_write_tokens": "input tokens written to the cache",
  "reasoning_tokens": "output tokens spent on reasoning",
  "list_cost": "catalog list price of the call at its time (USD); NULL when it cannot be priced (see problem)",
  "reported_cost": "cost the trace reported, USD, rounded half away from zero to 12 decimals; NULL when none, not USD or unusable",
  "reported_currency": "currency of the reported cost as the trace gives it",
  "reported_cost_source": "who computed the reported cost (gen_ai.usage.cost.source: provider, local; langfuse)",
  "estimated_cost": "a cost the trace store computed itself (Langfuse's calculated_total_cost), for comparison; not used in any figure",
  "cost": "the call's cost in every figure: the reported cost when there is one (cost_basis reported_first), else the list cost; NULL: left out (see problem)",
  "cost_source": "reported or catalog; NULL when the call is left out",
  "problem": "why the call is left out of a figure or is odd; NULL when it is fine"
 },
 "spans": {
  "": "one row per span (repeated span ids collapsed), in the columns tokacct.waste_by_trace() and waste_by_workflow() read",
  "source": "name of the attached source",
  "trace_id": "the tree waste classifies: the trace of the item's first attempt, so the attempts of an item in traces of their own are seen together (else the span's own trace)",
  "source_trace_id": "the span's own trace",
  "span_id": "span id",
  "parent_id": "parent span id (NULL for a root)",
  "kind": "llm, tool, agent or other (from gen_ai.operation.name, or the observation type)",
  "name": "span name (the tool name for a tool call)",
  "operation": "gen_ai.operation.name as recorded",
  "args_hash": "md5 of a tool call's arguments in canonical JSON form (NULL when not recorded)",
  "status": "ok, error, rate_limited, timeout, server_error or discarded; the root of a failed attempt is error",
  "cost": "the span's own cost (its call's cost; 0 for spans that are not counted calls); NULL when left out",
  "started_at": "start of the span",
  "ended_at": "end of the span",
  "workflow": "workflow of the span's trace",
  "item": "item of the span's trace",
  "attempt": "attempt number of the span's trace",
  "model": "model of an LLM span",
  "input_tokens": "input tokens of a counted call (cache included)",
  "output_tokens": "output tokens of a counted call",
  "call_seq": "order of the call among the counted calls of its trace (1, 2, ... by start time); NULL for other spans",
  "input_price": "list price of one uncached input token of the call at its context tier (USD)",
  "input_cost": "list price of the call's input tokens, cache reads and writes at their prices (USD); with input_tokens, what waste's induced cost takes from the call (tokacct.waste_by_trace() reads both)",
  "problem": "why the span is left out of a figure or is odd; NULL when it is fine"
 },
 "attempts": {
  "": "one row per attempt: a trace, numbered within its item in time order; its cost is the cost of its whole trace, each call counted once",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item key (NULL when the trace has none: see problem)",
  "option": "the option run: as named by the source, else the models its calls are priced as ('+' between several)",
  "attempt": "attempt number within the item, from 1 in time order (or as the source records it)",
  "trace_id": "trace of the attempt",
  "started_at": "start of the attempt's first span",
  "ended_at": "end of its last span",
  "succeeded": "the outcome says success, or (no outcome) the root span did not fail; NULL when unknown",
  "outcome": "outcome as the source records it",
  "cost": "cost of the attempt's calls; NULL when any of them is left out",
  "cost_known": "cost of the calls that could be counted",
  "calls": "calls in the attempt",
  "calls_left_out": "calls left out of the cost (see the problems view)",
  "input_tokens": "input tokens of its counted calls",
  "output_tokens": "output tokens of its counted calls",
  "problem": "why the attempt is incomplete; NULL when it is fine"
 },
 "items": {
  "": "one row per item (workflow, item key): its attempts, whether it was solved, what the AI cost and what the human fix and the BPO would cost (tokacct.baseline)",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item key",
  "option": "option(s) its attempts ran ('+' between several)",
  "attempts": "number of attempts",
  "solved": "an attempt succeeded; NULL when unknown",
  "started_at": "start of the first attempt",
  "ended_at": "end of the last attempt",
  "ai_cost": "cost of every call of every attempt; NULL when any call is left out",
  "ai_cost_known": "cost of the calls that could be counted",
  "calls": "calls",
  "calls_left_out": "calls left out of ai_cost (see the problems view)",
  "human_fix_cost": "0 when solved; else human_cost_per_hour x human_minutes_per_item / 60 of the baseline in force when it started; NULL without a baseline",
  "bpo_unit_price": "BPO price per item of the baseline in force when it started",
  "value": "value of the outcome: the BPO price when solved, less the human fix cost when not",
  "problem": "why the item is incomplete; NULL when it is fine"
 },
 "conversations": {
  "": "the counted calls of each conversation in order, for tokacct.context_growth(seq, input_tokens, output_tokens)",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item",
  "attempt": "attempt number",
  "conversation_id": "conversation (gen_ai.conversation.id, else the trace)",
  "trace_id": "trace of the call",
  "span_id": "span of the call",
  "seq": "order of the call in its conversation (1, 2, ... by start time)",
  "started_at": "start of the call",
  "model": "model",
  "input_tokens": "input tokens (cache included)",
  "output_tokens": "output tokens",
  "cache_read_tokens": "input tokens read from the cache",
  "cost": "cost of the call; NULL when left out",
  "problem": "why the call is left out; NULL when it is fine"
 },
 "problems": {
  "": "every row left out of a figure or odd, with its key and the reason: unusable token counts, unknown models, unusable reported costs, unknown statuses, span ids repeated with different content, traces without an item key or a root",
  "source": "name of the attached source",
  "level": "call, span or trace",
  "trace_id": "trace",
  "span_id": "span (NULL for a trace)",
  "reason": "what is wrong, in words"
 }
}$j$::pg_catalog.jsonb
$fn$;
COMMENT ON FUNCTION @extschema@.attach_comments() IS 'the comments given to the attached views and their columns';
COMMENT ON FUNCTION @extschema@.waste_spans(@extschema@.waste_state, pg_catalog.int4, pg_catalog.text, pg_catalog.int4) IS
	'the lim most expensive wasteful spans of a trace (cost in their class descending: own cost, plus the induced cost when spans carry input tokens), with their class and the span that caused it';

-- ---------------------------------------------------------------------------
-- The live genai-prices feed (format v2) and one-hour cache writes (issue 13,
-- items 1 and 2).
-- ---------------------------------------------------------------------------
-- Three price kinds join the list in C (price_kinds()): cache_write_1h,
-- cache_image_read and output_citation, at its end, so that the columns
-- added here come in the order a fresh install makes them; and a fee per
-- web search.
ALTER TABLE @extschema@.price
	ADD COLUMN cache_write_1h_mtok @extschema@.price_mtok,
	ADD COLUMN cache_image_read_mtok @extschema@.price_mtok,
	ADD COLUMN output_citation_mtok @extschema@.price_mtok,
	ADD COLUMN web_search_fee @extschema@.price_amount;
COMMENT ON COLUMN @extschema@.price.cache_write_mtok IS 'per million input tokens written to the cache (Anthropic''s five-minute cache writes; one-hour writes too when cache_write_1h_mtok is missing); missing: input price';
COMMENT ON COLUMN @extschema@.price.cache_write_1h_mtok IS 'per million input tokens written to the cache for one hour (Anthropic: 2x input, against 1.25x for five minutes); missing: cache write price, then input price';
COMMENT ON COLUMN @extschema@.price.cache_image_read_mtok IS 'per million image tokens read from the cache; missing: cache read, then image input, then input price';
COMMENT ON COLUMN @extschema@.price.output_citation_mtok IS 'per million citation output tokens; missing: output price';
COMMENT ON COLUMN @extschema@.price.web_search_fee IS 'fee per web search the call made (usage key web_searches), in currency units; counted with the request fees';
COMMENT ON COLUMN @extschema@.cost_breakdown.request_cost IS 'per-request fees and per-search fees (web searches)';

-- cost() takes cache_write_1h_tokens as a ninth argument with a default:
-- another signature, so the eight-argument function is dropped and the new
-- one created.  An object of yours that calls cost() (a view, a function
-- with a SQL-standard body) would block the drop or be lost with it: the
-- update stops first and names them.
DO $do$
DECLARE
	deps text;
BEGIN
	-- a view depends through its rewrite rule: name the view
	SELECT pg_catalog.string_agg(DISTINCT CASE WHEN d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
			THEN (SELECT pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, r.ev_class, 0)
					FROM pg_catalog.pg_rewrite r WHERE r.oid OPERATOR(pg_catalog.=) d.objid)
			ELSE pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid) END, ', ')
	  INTO deps
	  FROM pg_catalog.pg_depend d
	 WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
	   AND d.refobjid OPERATOR(pg_catalog.=) '@extschema@.cost(pg_catalog.text, pg_catalog.text, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.timestamptz)'::pg_catalog.regprocedure
	   AND d.deptype OPERATOR(pg_catalog.=) 'n';
	IF deps IS NOT NULL THEN
		RAISE EXCEPTION 'cannot update tokacct: the eight-argument tokacct.cost() is used by %', deps
			USING ERRCODE = 'dependent_objects_still_exist',
				  DETAIL = '0.2.0 adds a ninth argument to cost(), cache_write_1h_tokens (default 0); the eight-argument function is replaced, and these objects depend on it.',
				  HINT = 'Save their definitions, drop them, run ALTER EXTENSION tokacct UPDATE, then create them again: calls with eight arguments work unchanged.';
	END IF;
END
$do$;
DROP FUNCTION @extschema@.cost(pg_catalog.text, pg_catalog.text, pg_catalog.int8, pg_catalog.int8,
	pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.timestamptz);
-- cache_write_1h_tokens comes last, so that every call written for 0.1.0's
-- eight arguments means what it meant.
CREATE FUNCTION @extschema@.cost(provider pg_catalog.text, model pg_catalog.text,
	input_tokens pg_catalog.int8, output_tokens pg_catalog.int8,
	cache_read_tokens pg_catalog.int8 DEFAULT 0, cache_write_tokens pg_catalog.int8 DEFAULT 0,
	reasoning_tokens pg_catalog.int8 DEFAULT 0, at pg_catalog.timestamptz DEFAULT pg_catalog.now(),
	cache_write_1h_tokens pg_catalog.int8 DEFAULT 0)
	RETURNS pg_catalog.numeric
	LANGUAGE c STABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_cost';
COMMENT ON FUNCTION @extschema@.cost(pg_catalog.text, pg_catalog.text, pg_catalog.int8, pg_catalog.int8,
	pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.int8) IS
	'list price of one call at the prices in force at "at"; input_tokens includes cache reads and writes, cache_write_tokens includes the one-hour writes cache_write_1h_tokens counts (priced at cache_write_1h when the row has it), output_tokens includes reasoning; NULL when the model is unknown (or model, input, output or at is NULL)';
COMMENT ON FUNCTION @extschema@.cost(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz) IS
	'list price of one call from a genai-prices usage object (input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, input_audio_tokens, cache_audio_read_tokens, output_audio_tokens, input_image_tokens, ..., output_reasoning_tokens, output_citation_tokens, requests, web_searches)';

-- The loaders: the v2 feed's price keys (genai-prices), LiteLLM's one-hour
-- cache write and citation prices, and the web search fee of a price set.
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
	fees numeric[];
	fk text;
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
		-- the fees, per request and per web search (fees[1], fees[2])
		fees := '{NULL,NULL}';
		FOREACH fk IN ARRAY ARRAY['request_fee', 'web_search_fee'] LOOP
			IF v ? fk AND jsonb_typeof(v -> fk) <> 'null' THEN
				-- a fee is money: digits below 1e-12 are rounded half away from zero to
				-- the picodollar, as every amount tokacct takes, then checked
				fee := CASE WHEN jsonb_typeof(v -> fk) = 'number' THEN (v ->> fk)::numeric END;
				fee := CASE WHEN fee <> round(fee, 12) THEN trim_scale(round(fee, 12)) ELSE fee END;
				IF fee IS NULL OR fee < 0 OR fee >= 9223372 THEN
					RAISE EXCEPTION 'malformed % in %', replace(fk, '_', ' '), vwhat USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('A fee is a non-negative number below 9223372 (rounded to 12 decimals), got %s.', (v -> fk)::text);
				END IF;
				fees[CASE fk WHEN 'request_fee' THEN 1 ELSE 2 END] := fee;
			END IF;
		END LOOP;

		put_row := coalesce(put_row, format('INSERT INTO @extschema@.price (catalog, provider, model, customer, in_force_from, '
			'variant, start_date, tod_start, tod_end, %s, request_fee, web_search_fee, source) VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8, %s, '
			'$10, $12, $11) RETURNING price_id',
			(SELECT string_agg(quote_ident(kname || '_mtok'), ', ' ORDER BY kpos) FROM unnest(kinds) WITH ORDINALITY ka(kname, kpos)),
			(SELECT string_agg(format('$9[%s]', kpos), ', ' ORDER BY kpos) FROM generate_subscripts(kinds, 1) ks(kpos))));
		-- the row of this variant: a <kind>_mtok column per kind, its price in cols (kinds' order)
		EXECUTE put_row INTO new_id USING p_catalog, p_provider, p_model, start_at, vi, sd, ts, te, cols, fees[1], v, fees[2];

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
	-- the price keys of format v1 and of the v2 feed, and the tokacct kind each sets
	keymap jsonb := '{"input_mtok": "input", "cache_read_mtok": "cache_read", "cache_write_mtok": "cache_write",
		"output_mtok": "output", "input_audio_mtok": "input_audio", "cache_audio_read_mtok": "cache_audio_read",
		"output_audio_mtok": "output_audio", "cache_write_1h_mtok": "cache_write_1h",
		"output_reasoning_mtok": "reasoning", "input_image_mtok": "input_image",
		"cache_image_read_mtok": "cache_image_read", "output_image_mtok": "output_image",
		"input_video_mtok": "input_video", "output_video_mtok": "output_video",
		"output_citation_mtok": "output_citation"}';
	-- prices per thousand of a count, and the fee (per one) each sets
	feemap jsonb := '{"requests_kcount": "request_fee", "web_searches_kcount": "web_search_fee"}';
	fees jsonb;
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
				fees := '{}';
				FOR k IN SELECT jsonb_object_keys(v -> 'prices') LOOP
					IF feemap ? k THEN
						IF jsonb_typeof(v -> 'prices' -> k) <> 'number' THEN
							RAISE EXCEPTION 'malformed price in % %', vwhat, k USING ERRCODE = 'invalid_parameter_value',
								DETAIL = format('A price per thousand is a JSON number, got %s.', (v -> 'prices' -> k)::text);
						END IF;
						fees := fees || jsonb_build_object(feemap ->> k, trim_scale((v -> 'prices' ->> k)::numeric / 1000));
					ELSIF keymap ? k THEN
						-- a null price is not "no price" (which costs nothing)
						IF jsonb_typeof(v -> 'prices' -> k) = 'null' THEN
							RAISE EXCEPTION 'malformed price in % %', vwhat, k USING ERRCODE = 'invalid_parameter_value',
								DETAIL = 'A price is a JSON number or a tiered price, got null.',
								HINT = 'Leave the key out when the source publishes no such price.';
						END IF;
						pv := pv || jsonb_build_object(keymap ->> k, v -> 'prices' -> k);
					ELSE
						-- never ignored: a price left out would make those units cost nothing
						RAISE EXCEPTION 'unknown price key "%" in %', k, vwhat USING ERRCODE = 'invalid_parameter_value',
							DETAIL = format('tokacct does not price "%s"; the entry is %s.', k, (v -> 'prices')::text),
							HINT = 'Known keys: ' || (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_object_keys(keymap || feemap) x) || '.';
					END IF;
				END LOOP;
				-- the JSON nulls of the entry are kept (and refused): only the
				-- keys it does not have are left out
				norm := norm || jsonb_build_array(jsonb_build_object('prices', pv)
					|| CASE WHEN v ? 'constraint' THEN jsonb_build_object('constraint', v -> 'constraint') ELSE '{}' END
					|| fees);
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
	PERFORM @extschema@.price_catalog_analyze();
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
		"input_cost_per_video_token": "input_video", "output_cost_per_video_token": "output_video",
		"cache_creation_input_token_cost_above_1hr": "cache_write_1h", "citation_cost_per_token": "output_citation"}';
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
	PERFORM @extschema@.price_catalog_analyze();
	RETURN QUERY SELECT cardinality(provs), nmod, nsets, nrounded, nskipped;
END
$fn$;
COMMENT ON FUNCTION @extschema@.load_prices_genai(pg_catalog.jsonb, pg_catalog.timestamptz) IS
	'load pydantic/genai-prices data.json (format v1, or the live feed of format v2 with its one-hour cache write, image, video, citation, web search and request prices; a price key it does not know is an error naming it) into catalog genai-prices: all or nothing; unchanged entries write nothing; a changed entry adds a price set in force from in_force_from; prices_rounded counts prices with more than 6 decimals (float noise), rounded to the picodollar per token';

-- ---------------------------------------------------------------------------
-- Citus (issue 13, item 6): citus_distribute_catalog() makes the price
-- catalog tables reference tables, so that cost() prices with the
-- coordinator's catalog on every node (same text as sql/install/70_citus.sql).
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.citus_distribute_catalog()
	RETURNS pg_catalog.int4
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	SET client_min_messages = warning
	AS $fn$
DECLARE
	tables pg_catalog.oid[];
	done pg_catalog.oid[] := '{}';
	made pg_catalog.oid[] := '{}';
	t pg_catalog.oid;
	ready pg_catalog.oid[];
	unsafe pg_catalog.text;
	acl record;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'citus') THEN
		RAISE EXCEPTION 'Citus is not installed in this database'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'citus_distribute_catalog() makes the price catalog tables Citus reference tables, copied to every node of a cluster.',
				  HINT = 'Without Citus, cost() reads the catalog tables where they are: there is nothing to distribute.';
	END IF;
	IF NOT pg_catalog.citus_is_coordinator() THEN
		RAISE EXCEPTION 'citus_distribute_catalog() must run on the Citus coordinator'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Connect to the coordinator, which holds the catalog the workers are to price with.';
	END IF;
	IF NOT pg_catalog.pg_has_role(CURRENT_USER,
			(SELECT nspowner FROM pg_catalog.pg_namespace
			  WHERE nspname OPERATOR(pg_catalog.=) '@extschema@'), 'MEMBER') THEN
		RAISE EXCEPTION 'only the owner of schema @extschema@ can distribute its catalog'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Run this as the role that created the extension, or a superuser.';
	END IF;

	-- the extension's tables with the cache trigger: the catalog cost() reads
	SELECT pg_catalog.array_agg(c.oid ORDER BY c.relname) INTO tables
	  FROM pg_catalog.pg_class c
	 WHERE c.relnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
	   AND c.relkind OPERATOR(pg_catalog.=) 'r'
	   AND EXISTS (SELECT FROM pg_catalog.pg_depend d
				   WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
					 AND d.objid OPERATOR(pg_catalog.=) c.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
					 AND d.refobjid OPERATOR(pg_catalog.=) (SELECT e.oid FROM pg_catalog.pg_extension e
															  WHERE e.extname OPERATOR(pg_catalog.=) 'tokacct'))
	   AND EXISTS (SELECT FROM pg_catalog.pg_trigger g
				   WHERE g.tgrelid OPERATOR(pg_catalog.=) c.oid
					 AND g.tgfoid OPERATOR(pg_catalog.=) '@extschema@.price_catalog_changed()'::pg_catalog.regprocedure);

	FOREACH t IN ARRAY tables LOOP
		IF EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
				   WHERE p.logicalrelid OPERATOR(pg_catalog.=) t::pg_catalog.regclass
					 AND p.partmethod OPERATOR(pg_catalog.=) 'n' AND p.repmodel OPERATOR(pg_catalog.=) 't') THEN
			done := done OPERATOR(pg_catalog.||) t;
		ELSIF EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
					  WHERE p.logicalrelid OPERATOR(pg_catalog.=) t::pg_catalog.regclass) THEN
			RAISE EXCEPTION 'catalog table % is already a Citus table, but not a reference table', t::pg_catalog.regclass
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  DETAIL = 'Every node prices with the whole catalog, so each catalog table must be a reference table.',
					  HINT = 'Citus cannot undistribute a table of an extension: save the catalog''s rows, recreate the extension (DROP EXTENSION, CREATE EXTENSION tokacct), run this function, then load the rows again.';
		END IF;
	END LOOP;

	-- the tables carry triggers (the cache's invalidation), which Citus copies
	-- onto each copy only when told they are wanted
	unsafe := pg_catalog.current_setting('citus.enable_unsafe_triggers');
	PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
	-- referenced tables first: a reference table may only reference reference tables
	LOOP
		SELECT pg_catalog.array_agg(x ORDER BY x::pg_catalog.regclass::pg_catalog.text) INTO ready
		  FROM pg_catalog.unnest(tables) AS x
		 WHERE x OPERATOR(pg_catalog.<>) ALL (done)
		   AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k
						   WHERE k.conrelid OPERATOR(pg_catalog.=) x AND k.contype OPERATOR(pg_catalog.=) 'f'
							 AND k.confrelid OPERATOR(pg_catalog.<>) x
							 AND k.confrelid OPERATOR(pg_catalog.<>) ALL (done));
		EXIT WHEN ready IS NULL;
		FOREACH t IN ARRAY ready LOOP
			PERFORM pg_catalog.create_reference_table(t::pg_catalog.regclass);
			done := done OPERATOR(pg_catalog.||) t;
			made := made OPERATOR(pg_catalog.||) t;
		END LOOP;
	END LOOP;
	PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', unsafe, true);
	IF pg_catalog.cardinality(done) OPERATOR(pg_catalog.<>) pg_catalog.cardinality(tables) THEN
		RAISE EXCEPTION 'a catalog table references a table that is not a reference table'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = pg_catalog.format('Distributed: %s; left: %s.', done::pg_catalog.regclass[], tables::pg_catalog.regclass[]);
	END IF;
	-- the coordinator's own rows were copied into its copy: drop the hidden original
	FOREACH t IN ARRAY made LOOP
		PERFORM pg_catalog.truncate_local_data_after_distributing_table(t::pg_catalog.regclass);
	END LOOP;
	-- privileges granted on the coordinator (grant_reader(), grant_admin())
	-- before the tables were reference tables are on its tables only: the
	-- workers' tables are their own extension's.  Granted again, Citus
	-- propagates them to every node (cost() checks them where it runs).
	FOR acl IN SELECT a.grantee, a.privilege_type, a.is_grantable, k.t
			   FROM pg_catalog.unnest(tables) AS k(t)
			   JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) k.t,
					pg_catalog.aclexplode(c.relacl) AS a
			  WHERE a.grantee OPERATOR(pg_catalog.<>) c.relowner
			  ORDER BY 4, 1, 2 LOOP
		EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %s%s', acl.privilege_type, acl.t::pg_catalog.regclass,
								  CASE WHEN acl.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
									   ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(acl.grantee)) END,
								  CASE WHEN acl.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
	END LOOP;
	-- grants on the pricing functions stay on the node they were given on:
	-- given again on every worker (where cost() runs), for every role that
	-- holds one here
	FOR acl IN SELECT DISTINCT a.grantee
			   FROM @extschema@.reader_functions() f
			   JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) f,
					pg_catalog.aclexplode(p.proacl) AS a
			  WHERE a.grantee OPERATOR(pg_catalog.<>) p.proowner AND a.grantee OPERATOR(pg_catalog.<>) 0
			  ORDER BY 1 LOOP
		PERFORM @extschema@.citus_grant_functions(acl.grantee::pg_catalog.regrole);
	END LOOP;
	RETURN pg_catalog.cardinality(made);
END
$fn$;
COMMENT ON FUNCTION @extschema@.citus_distribute_catalog() IS
	'on a Citus coordinator: make the price catalog tables reference tables, so that cost() prices with the coordinator''s catalog on every node; returns how many tables it distributed (0 when done before); for the extension''s owner';

-- ---------------------------------------------------------------------------
-- BI views (issue 14, h-bi): the attach functions learn option "segment" and
-- create the BI views of 70_bi.sql beside the six; items gain segment,
-- first_try_succeeded and failed_attempt_cost.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION @extschema@.attach_build(source pg_catalog.text, parts pg_catalog.jsonb,
	opts pg_catalog.jsonb, dedup pg_catalog.bool) RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	src text := quote_literal(source) || '::pg_catalog.text';
	sep text := CASE WHEN opts ->> 'cache_tokens' = 'separate' THEN 'true' ELSE 'false' END;
	is_strict boolean := coalesce((opts ->> 'strict')::boolean, false);
	reported_first boolean := coalesce(opts ->> 'cost_basis', 'reported_first') = 'reported_first';
	success text := quote_literal(coalesce(
		(SELECT array_agg(lower(v)) FROM jsonb_array_elements_text(opts -> 'success_values') v),
		ARRAY['success', 'succeeded', 'solved', 'resolved', 'ok', 'pass', 'passed', 'true', '1', 'yes'])::text)
		|| '::pg_catalog.text[]';
	colnames text[] := ARRAY['trace_id', 'span_id', 'parent_id', 'name', 'started_at', 'ended_at',
		'status_raw', 'error_type', 'operation', 'kind', 'provider', 'request_model', 'response_model',
		'input_raw', 'output_raw', 'cache_read_raw', 'cache_write_raw', 'reasoning_raw',
		'reported_cost', 'reported_cost_raw', 'reported_currency', 'reported_cost_source', 'estimated_cost',
		'conversation_id', 'tool_name', 'args_hash', 'workflow', 'item', 'outcome', 'option', 'attempt_raw',
		'segment'];
	cols jsonb := parts -> 'cols';
	rel text := parts ->> 'from';
	sel text;
	content text;
	call_filter text;
	usage_kind text;
	base_all text;			-- every stored row
	spans_rows text;		-- every span once, usage_kind telling calls and agent usage
	calls_rows text;		-- every counted call once
	priced text;			-- template: the rows of {{ROWS}} priced
	spans_priced text;
	calls_priced text;
	traces text;
	attempts text;
	by_trace text;
	attempt_expr text;
	v_calls text;
	v_spans text;
	v_attempts text;
	v_items text;
	v_conv text;
	v_problems text;
	record text;
	c text;
BEGIN
	FOREACH c IN ARRAY colnames LOOP
		IF NOT cols ? c THEN
			RAISE EXCEPTION 'attach_build: the source gives no column %', c USING ERRCODE = 'internal_error';
		END IF;
	END LOOP;
	SELECT string_agg(format('%s AS %I', cols ->> n, n), E',\n\t   ' ORDER BY o)
	  INTO sel FROM unnest(colnames) WITH ORDINALITY u(n, o);
	SELECT 'ROW(' || string_agg('b.' || n, ', ') || ')' INTO content
	  FROM unnest(colnames) n WHERE n NOT IN ('trace_id', 'span_id');

	base_all := format('SELECT %s%sFROM %s', sel, E'\n  ', rel);

	-- The spans whose usage is priced: LLM calls ("call"), and agent spans
	-- that carry usage ("agent").  An agent span's usage counts only where
	-- its trace has no LLM-call span (else it repeats its calls' usage):
	-- attempts, items and spans apply that per trace; the calls view lists
	-- LLM calls only, so it reads each row once, with no look at others.
	call_filter := format('%s = ''llm''', cols ->> 'kind');
	usage_kind := format('CASE %s WHEN ''llm'' THEN ''call''%s END', cols ->> 'kind',
		CASE WHEN coalesce(opts ->> 'agent_usage', 'when_no_calls') = 'when_no_calls' THEN format(
			' WHEN ''agent'' THEN CASE WHEN %s IS NOT NULL OR %s IS NOT NULL THEN ''agent'' END',
			cols ->> 'input_raw', cols ->> 'output_raw')
		ELSE '' END);

	-- Repeated span ids are collapsed on the stored rows (before anything is
	-- read from them), keeping the first copy in the source's order.
	IF dedup THEN
		spans_rows := format(
			'SELECT %1$s, %7$s AS usage_kind%2$sFROM (SELECT DISTINCT ON (%3$s COLLATE "C", %4$s COLLATE "C") r.* FROM %5$s '
			'ORDER BY %3$s COLLATE "C", %4$s COLLATE "C", %6$s) r',
			sel, E'\n  ', parts ->> 'trace', parts ->> 'span', rel, parts ->> 'order', usage_kind);
		calls_rows := format(
			'SELECT %1$s, ''call''::pg_catalog.text AS usage_kind%2$sFROM (SELECT DISTINCT ON (%3$s COLLATE "C", %4$s COLLATE "C") r.* FROM %5$s '
			'WHERE %7$s ORDER BY %3$s COLLATE "C", %4$s COLLATE "C", %6$s) r',
			sel, E'\n  ', parts ->> 'trace', parts ->> 'span', rel, parts ->> 'order', call_filter);
	ELSE
		spans_rows := format('SELECT %s, %s AS usage_kind%sFROM %s', sel, usage_kind, E'\n  ', rel);
		calls_rows := format('SELECT %s, ''call''::pg_catalog.text AS usage_kind%sFROM %s WHERE %s', sel, E'\n  ', rel, call_filter);
	END IF;

	-- The rows of {{ROWS}} priced: l0 reads the counts and names, l1 prices,
	-- l2 says what is wrong.  Spans without usage to price cost 0.
	priced := format($q$
SELECT l2.*,
	   CASE WHEN NOT l2.priced THEN 0::pg_catalog.numeric ELSE %1$s END AS cost,
	   CASE WHEN NOT l2.priced THEN NULL
			WHEN %2$s AND l2.reported_usd IS NOT NULL THEN 'reported'
			WHEN l2.list_cost IS NOT NULL THEN 'catalog' END AS cost_source
  FROM (SELECT l1.*,
			   COALESCE(
				 CASE WHEN NOT l1.priced THEN NULL
					  WHEN l1.started_at IS NULL OR NOT pg_catalog.isfinite(l1.started_at)
					  THEN 'no usable start time' END,
				 CASE WHEN l1.priced THEN @extschema@.attach_usage_problem(l1.input_raw, l1.output_raw,
					 l1.cache_read_raw, l1.cache_write_raw, l1.reasoning_raw, %3$s) END,
				 CASE WHEN l1.priced THEN l1.reported_problem END,
				 CASE WHEN l1.priced AND NOT l1.has_usage AND l1.status = 'ok' AND l1.reported_usd IS NULL
					  THEN 'no token usage on a successful call' END,
				 CASE WHEN l1.priced AND l1.has_usage AND l1.list_cost IS NULL
					  THEN pg_catalog.format('no catalog price for provider %%s, model %%s',
							pg_catalog.quote_nullable(l1.price_provider), pg_catalog.quote_nullable(l1.price_model)) END,
				 CASE WHEN l1.status_unknown
					  THEN pg_catalog.format('unknown status %%s (taken as ok)', pg_catalog.quote_literal(l1.status_raw)) END
			   ) AS problem
		  FROM (SELECT l0.*,
					   CASE WHEN l0.priced THEN
						 COALESCE(@extschema@.attach_list_cost(l0.provider, l0.model, l0.input_raw,
								l0.output_raw, l0.cache_read_raw, l0.cache_write_raw, l0.reasoning_raw,
								l0.started_at, %3$s),
							CASE WHEN NOT l0.has_usage AND l0.status <> 'ok' THEN 0::pg_catalog.numeric END) END AS list_cost
				  FROM (SELECT c.*, c.usage_kind IS NOT NULL AS priced,
							   COALESCE(@extschema@.attach_status(c.status_raw, c.error_type), 'ok') AS status,
							   @extschema@.attach_status(c.status_raw, c.error_type) IS NULL AS status_unknown,
							   COALESCE(c.response_model, c.request_model) AS model,
							   -- the counts of a call that reports usage; an absent one is 0,
							   -- an unusable one NULL
							   CASE WHEN c.usage_kind IS NOT NULL AND (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) THEN
								   COALESCE(@extschema@.attach_input_tokens(c.input_raw, c.cache_read_raw, c.cache_write_raw, %3$s),
									   CASE WHEN pg_catalog.btrim(COALESCE(c.input_raw, '')) = '' THEN 0::pg_catalog.int8 END) END AS input_tokens,
							   {{COUNT:output_raw}} AS output_tokens,
							   {{COUNT:cache_read_raw}} AS cache_read_tokens,
							   {{COUNT:cache_write_raw}} AS cache_write_tokens,
							   {{COUNT:reasoning_raw}} AS reasoning_tokens,
							   (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) AS has_usage,
							   CASE WHEN c.reported_cost IS NULL AND c.reported_cost_raw IS NOT NULL
									 AND c.reported_cost_raw !~ '^\s*$'
									THEN pg_catalog.format('reported cost not a number: %%s',
										pg_catalog.quote_literal(pg_catalog.left(c.reported_cost_raw, 40)))
									WHEN c.reported_cost IS NULL THEN NULL
									WHEN c.reported_cost = 'NaN'::pg_catalog.numeric
									  OR c.reported_cost = 'Infinity'::pg_catalog.numeric
									  OR c.reported_cost = '-Infinity'::pg_catalog.numeric
									THEN 'reported cost not finite'
									WHEN c.reported_cost < 0 THEN 'reported cost negative'
									WHEN c.reported_cost > 1000000 THEN 'reported cost above 1000000'
							   END AS reported_problem,
							   CASE WHEN c.reported_cost IS NOT NULL
									 AND c.reported_cost <> 'NaN'::pg_catalog.numeric
									 AND c.reported_cost >= 0 AND c.reported_cost <= 1000000
									 AND pg_catalog.upper(COALESCE(c.reported_currency, 'USD')) = 'USD'
									THEN pg_catalog.round(c.reported_cost, 12) END AS reported_usd,
							   COALESCE({{ALIAS}} OPERATOR(pg_catalog.->>) 2,
								   {{PROVIDER_MAP}} OPERATOR(pg_catalog.->>) pg_catalog.lower(c.provider),
								   c.provider) AS price_provider,
							   COALESCE({{ALIAS}} OPERATOR(pg_catalog.->>) 3, c.response_model, c.request_model) AS price_model
						  FROM ({{ROWS}}) c) l0) l1) l2$q$,
		CASE
			WHEN is_strict THEN 'CASE WHEN l2.problem IS NOT NULL THEN @extschema@.attach_refuse('
				|| src || ', l2.trace_id, l2.span_id, l2.problem) '
				|| CASE WHEN reported_first THEN 'ELSE COALESCE(l2.reported_usd, l2.list_cost) END'
						ELSE 'ELSE l2.list_cost END' END
			WHEN reported_first THEN 'COALESCE(l2.reported_usd, l2.list_cost)'
			ELSE 'l2.list_cost'
		END,
		CASE WHEN reported_first THEN 'true' ELSE 'false' END,
		sep);
	-- Aliases: each table is read once per query into a jsonb map (an
	-- InitPlan), so a call costs a key lookup rather than a join (the
	-- planner cannot estimate how many calls a join would see) and the
	-- pricing runs in parallel workers.  A model alias is looked for under
	-- "provider US model" (lower case); its period (unix seconds, the open
	-- ends as +-1e15) is chosen by the call's time with a jsonpath filter.
	priced := replace(replace(replace(priced,
		'{{ALIAS}}', $q$(CASE WHEN {{MODEL_MAP}} IS NOT NULL AND pg_catalog.isfinite(c.started_at)
					AND {{MODEL_MAP}} OPERATOR(pg_catalog.?) {{MODEL_KEY}}
			THEN pg_catalog.jsonb_path_query_first({{MODEL_MAP}} OPERATOR(pg_catalog.->) {{MODEL_KEY}},
				'strict $[*] ? (@[0] <= $t && $t < @[1])',
				pg_catalog.jsonb_build_object('t', EXTRACT(epoch FROM c.started_at))) END)$q$),
		'{{MODEL_KEY}}', $q$(pg_catalog.lower(COALESCE(c.provider, '')) OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) pg_catalog.lower(COALESCE(c.response_model, c.request_model)))$q$),
		'{{MODEL_MAP}}', $q$(SELECT pg_catalog.jsonb_object_agg(m.k, m.periods)
			FROM (SELECT ma.provider OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) ma.model AS k,
						 pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(
							 CASE WHEN pg_catalog.isfinite(ma.valid_from) THEN EXTRACT(epoch FROM ma.valid_from) ELSE -1e15 END,
							 CASE WHEN pg_catalog.isfinite(ma.valid_until) THEN EXTRACT(epoch FROM ma.valid_until) ELSE 1e15 END,
							 ma.catalog_provider, ma.catalog_model) ORDER BY ma.valid_from) AS periods
					FROM @extschema@.model_alias ma GROUP BY 1) m)$q$);
	FOREACH c IN ARRAY ARRAY['output_raw', 'cache_read_raw', 'cache_write_raw', 'reasoning_raw'] LOOP
		priced := replace(priced, '{{COUNT:' || c || '}}', format(
			'CASE WHEN c.usage_kind IS NOT NULL AND (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) THEN '
			'COALESCE(@extschema@.attach_int8(c.%1$s), CASE WHEN pg_catalog.btrim(COALESCE(c.%1$s, '''')) = '''' '
			'THEN 0::pg_catalog.int8 END) END', c));
	END LOOP;
	priced := replace(priced, '{{PROVIDER_MAP}}',
		'(SELECT pg_catalog.jsonb_object_agg(pa.provider, pa.catalog_provider) FROM @extschema@.provider_alias pa)');
	spans_priced := replace(priced, '{{ROWS}}', spans_rows);
	calls_priced := replace(priced, '{{ROWS}}', calls_rows);

	-- Traces: their time, root status and structure values (a root span's
	-- value first, else the smallest any span of the trace carries).
	-- Repeated rows change none of these, so every stored row is read.
	traces := format($q$
SELECT b.trace_id,
	   pg_catalog.min(b.started_at) AS started_at,
	   pg_catalog.max(COALESCE(b.ended_at, b.started_at)) AS ended_at,
	   pg_catalog.count(DISTINCT b.span_id) FILTER (WHERE b.parent_id IS NULL) AS roots,
	   pg_catalog.bool_or(COALESCE(@extschema@.attach_status(b.status_raw, b.error_type), 'ok') NOT IN ('ok', 'discarded'))
		   FILTER (WHERE b.parent_id IS NULL) AS root_failed,
	   COALESCE(pg_catalog.min(b.workflow) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.workflow)) AS workflow,
	   COALESCE(pg_catalog.min(b.item) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.item)) AS item,
	   COALESCE(pg_catalog.min(b.outcome) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.outcome)) AS outcome,
	   COALESCE(pg_catalog.min(b.option) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.option)) AS option,
	   COALESCE(pg_catalog.min(b.attempt_raw) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.attempt_raw)) AS attempt_raw
  FROM (%1$s) b
 GROUP BY b.trace_id$q$, base_all);

	-- Attempts: one per trace, numbered per (workflow, item) in time order
	-- (or by the attempt number the source records); the run is the trace
	-- of the item's first attempt (waste sees an item's attempts together).
	IF opts ? 'attempt' AND jsonb_typeof(opts -> 'attempt') <> 'null' THEN
		attempt_expr := 'CASE WHEN t.item IS NOT NULL THEN @extschema@.attach_int8(t.attempt_raw)::pg_catalog.int4 END';
	ELSE
		attempt_expr := 'CASE WHEN t.item IS NOT NULL THEN (pg_catalog.row_number() OVER w)::pg_catalog.int4 END';
	END IF;
	attempts := format($q$
SELECT t.*,
	   %1$s AS attempt,
	   CASE WHEN t.item IS NOT NULL THEN pg_catalog.first_value(t.trace_id) OVER w ELSE t.trace_id END AS run_id,
	   CASE WHEN t.outcome IS NOT NULL THEN pg_catalog.lower(pg_catalog.btrim(t.outcome)) = ANY (%2$s)
			WHEN t.roots = 0 THEN NULL
			ELSE NOT t.root_failed END AS succeeded
  FROM (%3$s) t
WINDOW w AS (PARTITION BY t.workflow, t.item ORDER BY t.started_at, t.trace_id COLLATE "C")$q$,
		attempt_expr, success, '{{TRACES}}');

	-- One row per trace (a GROUP BY, so a join to it that reads nothing is
	-- removed); joined by hash to calls, spans and conversations.
	by_trace := format(
		'SELECT a.trace_id, pg_catalog.min(a.workflow) AS workflow, pg_catalog.min(a.item) AS item, '
		'pg_catalog.min(a.attempt) AS attempt, pg_catalog.min(a.run_id) AS run_id, '
		'pg_catalog.bool_and(a.succeeded) AS succeeded FROM (%s) a GROUP BY a.trace_id',
		replace(attempts, '{{TRACES}}', traces));

	-- calls --------------------------------------------------------------
	v_calls := format($q$
SELECT %1$s AS source, p.trace_id, p.span_id, p.parent_id, p.name, p.operation, p.started_at, p.ended_at, p.status,
	   a.workflow, a.item, a.attempt, COALESCE(p.conversation_id, p.trace_id) AS conversation_id,
	   p.provider, p.model, p.request_model, p.response_model, p.price_provider, p.price_model,
	   p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cache_write_tokens, p.reasoning_tokens,
	   p.list_cost, p.reported_usd AS reported_cost, p.reported_currency, p.reported_cost_source,
	   p.estimated_cost, p.cost, p.cost_source, p.problem
  FROM (%2$s) p
  LEFT JOIN (%3$s) a ON a.trace_id = p.trace_id$q$,
		src, calls_priced, by_trace);

	-- attempts: the structure and the cost of each trace in one pass over
	-- its priced spans (no join whose size the planner would guess) --------
	v_attempts := format($q$
SELECT %1$s AS source, a.workflow, a.item, COALESCE(a.option, a.models) AS option, a.attempt,
	   a.trace_id, a.started_at, a.ended_at, a.succeeded, a.outcome,
	   CASE WHEN a.left_out = 0 THEN COALESCE(a.cost, 0) END AS cost,
	   COALESCE(a.cost, 0) AS cost_known,
	   a.calls, a.left_out AS calls_left_out,
	   COALESCE(a.input_tokens, 0)::pg_catalog.int8 AS input_tokens,
	   COALESCE(a.output_tokens, 0)::pg_catalog.int8 AS output_tokens,
	   CASE WHEN a.item IS NULL THEN 'no item key'
			WHEN a.attempt IS NULL THEN 'attempt number not a whole number'
			WHEN a.succeeded IS NULL THEN 'success unknown: the trace has no root span'
			WHEN a.left_out > 0 THEN pg_catalog.format('%%s of %%s calls left out of the cost', a.left_out, a.calls)
	   END AS problem,
	   a.segment
  FROM (%2$s) a$q$,
		src, replace(attempts, '{{TRACES}}', format($q$
SELECT b.trace_id,
	   pg_catalog.min(b.started_at) AS started_at,
	   pg_catalog.max(COALESCE(b.ended_at, b.started_at)) AS ended_at,
	   pg_catalog.count(*) FILTER (WHERE b.parent_id IS NULL) AS roots,
	   pg_catalog.bool_or(b.status NOT IN ('ok', 'discarded')) FILTER (WHERE b.parent_id IS NULL) AS root_failed,
	   COALESCE(pg_catalog.min(b.workflow) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.workflow)) AS workflow,
	   COALESCE(pg_catalog.min(b.item) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.item)) AS item,
	   COALESCE(pg_catalog.min(b.outcome) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.outcome)) AS outcome,
	   COALESCE(pg_catalog.min(b.option) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.option)) AS option,
	   COALESCE(pg_catalog.min(b.attempt_raw) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.attempt_raw)) AS attempt_raw,
	   COALESCE(pg_catalog.min(b.segment) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.segment)) AS segment,
	   -- the calls' cost, or where the trace has no LLM call its agent spans' usage
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.cost) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.cost) FILTER (WHERE b.usage_kind = 'agent') END AS cost,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'agent') END AS calls,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call' AND b.cost IS NULL)
			ELSE pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'agent' AND b.cost IS NULL) END AS left_out,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.input_tokens) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.input_tokens) FILTER (WHERE b.usage_kind = 'agent') END AS input_tokens,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.output_tokens) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.output_tokens) FILTER (WHERE b.usage_kind = 'agent') END AS output_tokens,
	   COALESCE(pg_catalog.string_agg(DISTINCT b.price_model, '+' ORDER BY b.price_model) FILTER (WHERE b.usage_kind = 'call'),
				pg_catalog.string_agg(DISTINCT b.price_model, '+' ORDER BY b.price_model) FILTER (WHERE b.usage_kind = 'agent')) AS models
  FROM (%1$s) b
 GROUP BY b.trace_id$q$, spans_priced)));

	-- items ------------------------------------------------------------------
	record := @extschema@.attach_record(opts, success);
	v_items := format($q$
SELECT i.source, i.workflow, i.item, i.option, i.attempts, i.solved, i.started_at, i.ended_at,
	   i.ai_cost, i.ai_cost_known, i.calls, i.calls_left_out,
	   CASE WHEN i.solved THEN 0::pg_catalog.numeric
			WHEN NOT i.solved THEN pg_catalog.round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12)
	   END AS human_fix_cost,
	   b.bpo_unit_price,
	   CASE WHEN i.solved THEN b.bpo_unit_price
			WHEN NOT i.solved THEN b.bpo_unit_price - pg_catalog.round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12)
	   END AS value,
	   i.problem, i.segment, i.first_try_succeeded, i.failed_attempt_cost
  FROM (%3$s) i
  LEFT JOIN LATERAL (SELECT bl.bpo_unit_price, bl.human_cost_per_hour, bl.human_minutes_per_item
					   FROM @extschema@.baseline bl
					  WHERE bl.workflow = i.workflow AND bl.valid_from <= i.started_at
						AND pg_catalog.upper(bl.currency) = 'USD'
					  ORDER BY bl.valid_from DESC LIMIT 1) b ON true$q$,
		src, v_attempts, CASE WHEN record IS NULL THEN '{{ITEMS}}' ELSE format(
			'SELECT i0.source, i0.workflow, i0.item, i0.option, i0.attempts, '
			'COALESCE(rec.solved, i0.solved) AS solved, i0.started_at, i0.ended_at, i0.ai_cost, i0.ai_cost_known, '
			'i0.calls, i0.calls_left_out, COALESCE(i0.problem, CASE WHEN rec.key IS NULL '
			'THEN ''no row for the item in the system of record'' END) AS problem, '
			'i0.segment, i0.first_try_succeeded, i0.failed_attempt_cost '
			'FROM ({{ITEMS}}) i0 LEFT JOIN (%s) rec ON rec.key = i0.item', record) END);
	v_items := replace(v_items, '{{ITEMS}}', format($q$SELECT %1$s AS source, a.workflow, a.item,
			   pg_catalog.string_agg(DISTINCT a.option, '+' ORDER BY a.option) AS option,
			   pg_catalog.count(*) AS attempts,
			   pg_catalog.bool_or(a.succeeded) AS solved,
			   pg_catalog.min(a.started_at) AS started_at, pg_catalog.max(a.ended_at) AS ended_at,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) = 0 THEN pg_catalog.sum(a.cost) END AS ai_cost,
			   pg_catalog.sum(a.cost_known) AS ai_cost_known,
			   pg_catalog.sum(a.calls)::pg_catalog.int8 AS calls,
			   pg_catalog.sum(a.calls_left_out)::pg_catalog.int8 AS calls_left_out,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) > 0
					THEN pg_catalog.format('%%s of %%s calls left out of the cost', pg_catalog.sum(a.calls_left_out), pg_catalog.sum(a.calls))
					WHEN pg_catalog.bool_or(a.succeeded) IS NULL THEN 'success unknown'
			   END AS problem,
			   pg_catalog.min(a.segment) AS segment,
			   pg_catalog.bool_or(a.succeeded) FILTER (WHERE a.attempt = 1) AS first_try_succeeded,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) = 0
					THEN COALESCE(pg_catalog.sum(a.cost) FILTER (WHERE NOT a.succeeded), 0) END AS failed_attempt_cost
		  FROM (%2$s) a
		 WHERE a.item IS NOT NULL
		 GROUP BY a.workflow, a.item$q$,
		src, v_attempts));

	-- conversations ------------------------------------------------------------
	v_conv := format($q$
SELECT %1$s AS source, a.workflow, a.item, a.attempt,
	   COALESCE(p.conversation_id, p.trace_id) AS conversation_id, p.trace_id, p.span_id,
	   (pg_catalog.row_number() OVER (PARTITION BY COALESCE(p.conversation_id, p.trace_id)
			ORDER BY p.started_at, p.span_id COLLATE "C"))::pg_catalog.int4 AS seq,
	   p.started_at, p.model, p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cost, p.problem
  FROM (%2$s) p
  LEFT JOIN (%3$s) a ON a.trace_id = p.trace_id$q$,
		src, calls_priced, by_trace);

	-- spans ------------------------------------------------------------------
	-- an agent span's usage counts where its trace has no LLM call
	v_spans := format($q$
SELECT s.source, COALESCE(a.run_id, s.trace_id) AS trace_id, s.trace_id AS source_trace_id,
	   s.span_id, s.parent_id, s.kind, COALESCE(s.tool_name, s.name) AS name, s.operation, s.args_hash,
	   CASE WHEN s.parent_id IS NULL AND a.succeeded IS FALSE AND s.status = 'ok' THEN 'error' ELSE s.status END AS status,
	   CASE WHEN s.counted THEN s.cost ELSE 0::pg_catalog.numeric END AS cost,
	   s.started_at, s.ended_at, a.workflow, a.item, a.attempt, s.model,
	   CASE WHEN s.counted THEN s.input_tokens END AS input_tokens,
	   CASE WHEN s.counted THEN s.output_tokens END AS output_tokens,
	   s.call_seq,
	   CASE WHEN s.counted AND s.input_tokens > 0 AND s.list_cost IS NOT NULL
			THEN pg_catalog.round(@extschema@.cost(s.provider, s.model, s.input_tokens, 0, 0, 0, 0, s.started_at)
				 / s.input_tokens, 12) END AS input_price,
	   CASE WHEN s.counted AND s.input_tokens > 0 AND s.list_cost IS NOT NULL
			THEN @extschema@.cost(s.price_provider, s.price_model, s.input_tokens, 0, s.cache_read_tokens,
				 s.cache_write_tokens, 0, s.started_at) END AS input_cost,
	   CASE WHEN s.counted OR s.usage_kind IS NULL THEN s.problem END AS problem
  FROM (SELECT %1$s AS source, p.*,
			   (p.usage_kind = 'call' OR (p.usage_kind = 'agent' AND NOT pg_catalog.bool_or(p.usage_kind = 'call') OVER t))
				   IS TRUE AS counted,
			   CASE WHEN p.usage_kind = 'call'
					THEN (pg_catalog.count(*) FILTER (WHERE p.usage_kind = 'call') OVER t_upto)::pg_catalog.int4 END AS call_seq
		  FROM (%2$s) p
		WINDOW t AS (PARTITION BY p.trace_id ORDER BY p.started_at, p.span_id COLLATE "C"
					 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
			   t_upto AS (PARTITION BY p.trace_id ORDER BY p.started_at, p.span_id COLLATE "C"
						  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) s
  LEFT JOIN (%3$s) a ON a.trace_id = s.trace_id$q$,
		src, spans_priced, by_trace);

	-- problems ---------------------------------------------------------------
	v_problems := format($q$
SELECT %1$s AS source, CASE WHEN p.usage_kind = 'call' THEN 'call' ELSE 'span' END AS level, p.trace_id, p.span_id,
	   p.problem AS reason
  FROM (%2$s) p
 WHERE p.problem IS NOT NULL
   AND (p.usage_kind IS DISTINCT FROM 'agent' OR p.trace_id IS NULL
		OR p.trace_id NOT IN (SELECT c.trace_id FROM (%6$s) c WHERE c.trace_id IS NOT NULL))
UNION ALL
SELECT %1$s, 'span', b.trace_id, b.span_id,
	   pg_catalog.format('%%s copies of the span id with different content: one kept', pg_catalog.count(*))
  FROM (%3$s) b
 WHERE (b.trace_id, b.span_id) IN (SELECT d.trace_id, d.span_id FROM (%3$s) d
								   GROUP BY d.trace_id, d.span_id HAVING pg_catalog.count(*) > 1)
 GROUP BY b.trace_id, b.span_id
HAVING pg_catalog.count(DISTINCT %4$s) > 1
UNION ALL
SELECT %1$s, 'trace', a.trace_id, NULL,
	   CASE WHEN a.item IS NULL THEN 'no item key: the trace is in no attempt or item'
			WHEN a.attempt IS NULL THEN pg_catalog.format('attempt number not a whole number: %%s', pg_catalog.quote_literal(a.attempt_raw))
			ELSE 'no root span: the attempt''s success is unknown' END
  FROM (%5$s) a
 WHERE a.item IS NULL OR a.attempt IS NULL OR a.succeeded IS NULL$q$,
		src, spans_priced, base_all, content, replace(attempts, '{{TRACES}}', traces),
		-- the traces that have an LLM call: an agent span's usage is a
		-- problem only in a trace without one (else it is not counted)
		format('SELECT %s AS trace_id FROM %s WHERE %s', cols ->> 'trace_id', rel, call_filter));

	RETURN jsonb_build_object('calls', v_calls, 'spans', v_spans, 'attempts', v_attempts,
		'items', v_items, 'conversations', v_conv, 'problems', v_problems);
END
$fn$;

CREATE OR REPLACE FUNCTION @extschema@.attach_comments() RETURNS pg_catalog.jsonb
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
SELECT $j${
 "calls": {
  "": "one row per LLM call (spans repeated by at-least-once delivery counted once), priced at the list prices in force when it ran, with the cost it reported",
  "source": "name of the attached source",
  "trace_id": "trace of the call",
  "span_id": "span id of the call",
  "parent_id": "parent span id (NULL for a root)",
  "name": "span or observation name",
  "operation": "gen_ai.operation.name (chat, generate_content, text_completion, embeddings; invoke_agent for an agent span whose usage is counted)",
  "started_at": "start of the call",
  "ended_at": "end of the call",
  "status": "ok, error, rate_limited, timeout, server_error or discarded",
  "workflow": "workflow of the call's trace",
  "item": "item (ticket, claim, ...) of the call's trace",
  "attempt": "attempt number of the call's trace within its item (1, 2, ... in time order)",
  "conversation_id": "conversation the call belongs to (gen_ai.conversation.id, else its trace)",
  "provider": "provider as the trace names it",
  "model": "model as the trace names it: the response model, else the request model",
  "request_model": "model asked for",
  "response_model": "model that answered",
  "price_provider": "provider the call is priced as (after tokacct.model_alias and tokacct.provider_alias)",
  "price_model": "model the call is priced as (after tokacct.model_alias)",
  "input_tokens": "all input tokens, cache reads and writes included",
  "output_tokens": "all output tokens, reasoning included",
  "cache_read_tokens": "input tokens read from the cache",
  "cache_write_tokens": "input tokens written to the cache",
  "reasoning_tokens": "output tokens spent on reasoning",
  "list_cost": "catalog list price of the call at its time (USD); NULL when it cannot be priced (see problem)",
  "reported_cost": "cost the trace reported, USD, rounded half away from zero to 12 decimals; NULL when none, not USD or unusable",
  "reported_currency": "currency of the reported cost as the trace gives it",
  "reported_cost_source": "who computed the reported cost (gen_ai.usage.cost.source: provider, local; langfuse)",
  "estimated_cost": "a cost the trace store computed itself (Langfuse's calculated_total_cost), for comparison; not used in any figure",
  "cost": "the call's cost in every figure: the reported cost when there is one (cost_basis reported_first), else the list cost; NULL: left out (see problem)",
  "cost_source": "reported or catalog; NULL when the call is left out",
  "problem": "why the call is left out of a figure or is odd; NULL when it is fine"
 },
 "spans": {
  "": "one row per span (repeated span ids collapsed), in the columns tokacct.waste_by_trace() and waste_by_workflow() read",
  "source": "name of the attached source",
  "trace_id": "the tree waste classifies: the trace of the item's first attempt, so the attempts of an item in traces of their own are seen together (else the span's own trace)",
  "source_trace_id": "the span's own trace",
  "span_id": "span id",
  "parent_id": "parent span id (NULL for a root)",
  "kind": "llm, tool, agent or other (from gen_ai.operation.name, or the observation type)",
  "name": "span name (the tool name for a tool call)",
  "operation": "gen_ai.operation.name as recorded",
  "args_hash": "md5 of a tool call's arguments in canonical JSON form (NULL when not recorded)",
  "status": "ok, error, rate_limited, timeout, server_error or discarded; the root of a failed attempt is error",
  "cost": "the span's own cost (its call's cost; 0 for spans that are not counted calls); NULL when left out",
  "started_at": "start of the span",
  "ended_at": "end of the span",
  "workflow": "workflow of the span's trace",
  "item": "item of the span's trace",
  "attempt": "attempt number of the span's trace",
  "model": "model of an LLM span",
  "input_tokens": "input tokens of a counted call (cache included)",
  "output_tokens": "output tokens of a counted call",
  "call_seq": "order of the call among the counted calls of its trace (1, 2, ... by start time); NULL for other spans",
  "input_price": "list price of one uncached input token of the call at its context tier (USD)",
  "input_cost": "list price of the call's input tokens, cache reads and writes at their prices (USD); with input_tokens, what waste's induced cost takes from the call (tokacct.waste_by_trace() reads both)",
  "problem": "why the span is left out of a figure or is odd; NULL when it is fine"
 },
 "attempts": {
  "": "one row per attempt: a trace, numbered within its item in time order; its cost is the cost of its whole trace, each call counted once",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item key (NULL when the trace has none: see problem)",
  "option": "the option run: as named by the source, else the models its calls are priced as ('+' between several)",
  "attempt": "attempt number within the item, from 1 in time order (or as the source records it)",
  "trace_id": "trace of the attempt",
  "started_at": "start of the attempt's first span",
  "ended_at": "end of its last span",
  "succeeded": "the outcome says success, or (no outcome) the root span did not fail; NULL when unknown",
  "outcome": "outcome as the source records it",
  "cost": "cost of the attempt's calls; NULL when any of them is left out",
  "cost_known": "cost of the calls that could be counted",
  "calls": "calls in the attempt",
  "calls_left_out": "calls left out of the cost (see the problems view)",
  "input_tokens": "input tokens of its counted calls",
  "output_tokens": "output tokens of its counted calls",
  "problem": "why the attempt is incomplete; NULL when it is fine",
  "segment": "segment of the item (option segment: an attribute the source keeps, e.g. claim type); NULL when not set"
 },
 "items": {
  "": "one row per item (workflow, item key): its attempts, whether it was solved, what the AI cost and what the human fix and the BPO would cost (tokacct.baseline)",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item key",
  "option": "option(s) its attempts ran ('+' between several)",
  "attempts": "number of attempts",
  "solved": "an attempt succeeded; NULL when unknown",
  "started_at": "start of the first attempt",
  "ended_at": "end of the last attempt",
  "ai_cost": "cost of every call of every attempt; NULL when any call is left out",
  "ai_cost_known": "cost of the calls that could be counted",
  "calls": "calls",
  "calls_left_out": "calls left out of ai_cost (see the problems view)",
  "human_fix_cost": "0 when solved; else human_cost_per_hour x human_minutes_per_item / 60 of the baseline in force when it started; NULL without a baseline",
  "bpo_unit_price": "BPO price per item of the baseline in force when it started",
  "value": "value of the outcome: the BPO price when solved, less the human fix cost when not",
  "problem": "why the item is incomplete; NULL when it is fine",
  "segment": "segment of the item (option segment: an attribute the source keeps, e.g. claim type); NULL when not set",
  "first_try_succeeded": "its first attempt succeeded; NULL when it has no attempt numbered 1 or that attempt's success is unknown",
  "failed_attempt_cost": "cost of its attempts that failed (the retry tail's spend); NULL when any call is left out"
 },
 "conversations": {
  "": "the counted calls of each conversation in order, for tokacct.context_growth(seq, input_tokens, output_tokens)",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item",
  "attempt": "attempt number",
  "conversation_id": "conversation (gen_ai.conversation.id, else the trace)",
  "trace_id": "trace of the call",
  "span_id": "span of the call",
  "seq": "order of the call in its conversation (1, 2, ... by start time)",
  "started_at": "start of the call",
  "model": "model",
  "input_tokens": "input tokens (cache included)",
  "output_tokens": "output tokens",
  "cache_read_tokens": "input tokens read from the cache",
  "cost": "cost of the call; NULL when left out",
  "problem": "why the call is left out; NULL when it is fine"
 },
 "problems": {
  "": "every row left out of a figure or odd, with its key and the reason: unusable token counts, unknown models, unusable reported costs, unknown statuses, span ids repeated with different content, traces without an item key or a root",
  "source": "name of the attached source",
  "level": "call, span or trace",
  "trace_id": "trace",
  "span_id": "span (NULL for a trace)",
  "reason": "what is wrong, in words"
 },
 "traces": {
  "": "one row per trace with the structure the other views take from it (a root span's value, else the smallest any span carries); a condition on trace ids reaches the source's table",
  "source": "name of the attached source",
  "trace_id": "trace",
  "workflow": "workflow of the trace",
  "item": "item (ticket, claim, ...) the trace works on; NULL when none",
  "option": "option (model or configuration) the trace records; NULL when none",
  "outcome": "outcome the trace records, as written; NULL when none",
  "started_at": "start of its first span",
  "ended_at": "end of its last span",
  "root_spans": "spans without a parent (0: success unknown, 2 or more: several roots)"
 }
}$j$::pg_catalog.jsonb
$fn$;

CREATE OR REPLACE FUNCTION @extschema@.attach_install(p_source pg_catalog.text, p_kind pg_catalog.text,
	p_relations pg_catalog.regclass[], p_schema pg_catalog.name, p_prefix pg_catalog.text,
	p_options pg_catalog.jsonb, p_views pg_catalog.jsonb,
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	old @extschema@.attachment%ROWTYPE;
	had_row boolean;
	target_schema name := coalesce(p_schema, p_source::name);
	prefix text := coalesce(p_prefix, '');
	created boolean := false;
	def text;
	names text[] := ARRAY['calls', 'spans', 'attempts', 'items', 'conversations', 'problems', 'traces',
		'economics_daily', 'economics_weekly', 'economics_monthly', 'segments', 'routing', 'waste',
		'context_growth', 'cost_quantiles', 'frontier', 'allocation', 'unpriced_models', 'problem_summary', 'focus'];
	bi jsonb;
	bi_comments jsonb := @extschema@.attach_bi_comments();
	n text;
	qname text;
	made text[] := '{}';
	comments jsonb := @extschema@.attach_comments();
	c record;
	existing oid;
	all_there boolean;
BEGIN
	IF p_source IS NULL OR p_source !~ '^[a-z_][a-z0-9_]{0,47}$' THEN
		RAISE EXCEPTION 'invalid source name "%"', p_source
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
		RAISE EXCEPTION 'cannot create the views of source "%" in schema "%"', p_source, target_schema
			USING ERRCODE = 'invalid_schema_name',
				  HINT = 'Choose a schema of your own (by default the views go to a schema named after the source).';
	END IF;
	IF prefix !~ '^[a-z0-9_]{0,20}$' THEN
		RAISE EXCEPTION 'invalid view name prefix "%"', prefix
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use up to 20 lower-case letters, digits and _ (the views are named prefix || ''calls'', ...).';
	END IF;
	-- the BI views over the six (70_bi.sql)
	bi := @extschema@.attach_bi_sql(p_source, target_schema, prefix);
	def := md5(concat_ws(E'\x1f', p_kind, p_relations::text, target_schema, prefix, p_views::text, bi::text));

	SELECT * INTO old FROM @extschema@.attachment a WHERE a.source = p_source FOR UPDATE;
	had_row := FOUND;

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

	-- the old views go when the source moves to another schema or prefix
	IF had_row AND (old.view_schema <> target_schema OR old.view_prefix <> prefix) THEN
		-- in reverse: the BI views depend on the six
		FOREACH qname IN ARRAY ARRAY(SELECT v FROM unnest(old.views) WITH ORDINALITY u(v, o) ORDER BY o DESC) LOOP
			PERFORM @extschema@.attach_drop_view(p_source, qname);
			view_name := qname;
			action := 'dropped';
			RETURN NEXT;
		END LOOP;
		IF old.created_schema AND NOT EXISTS (
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
		qname := format('%I.%I', target_schema, prefix || n);
		SELECT cl.oid INTO existing FROM pg_class cl JOIN pg_namespace s ON s.oid = cl.relnamespace
		 WHERE s.nspname = target_schema AND cl.relname = prefix || n;
		IF existing IS NOT NULL AND NOT (had_row AND qname = ANY (old.views)) THEN
			RAISE EXCEPTION 'relation % already exists', qname
				USING ERRCODE = 'duplicate_table',
					  DETAIL = format('Attaching source "%s" would create view %s.', p_source, qname),
					  HINT = 'Attach into another schema, or give a prefix for the view names.';
		END IF;
		BEGIN
			EXECUTE format('CREATE OR REPLACE VIEW %s WITH (security_invoker = true) AS %s', qname, coalesce(p_views ->> n, bi ->> n));
		EXCEPTION WHEN invalid_table_definition THEN
			-- the columns changed (a newer tokacct): views over it must go too
			PERFORM @extschema@.attach_drop_view(p_source, qname);
			EXECUTE format('CREATE VIEW %s WITH (security_invoker = true) AS %s', qname, coalesce(p_views ->> n, bi ->> n));
		END;
		EXECUTE format('COMMENT ON VIEW %s IS %L', qname,
			format('tokacct, source %s: %s', p_source, coalesce(comments -> n ->> '', bi_comments -> n ->> '')));
		FOR c IN SELECT a.attname FROM pg_attribute a
				  WHERE a.attrelid = qname::regclass AND a.attnum > 0 AND NOT a.attisdropped LOOP
			EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', qname, c.attname, coalesce(comments -> n ->> c.attname,
				bi_comments -> n ->> c.attname, CASE WHEN n LIKE 'economics\_%' THEN bi_comments -> 'economics' ->> c.attname END));
		END LOOP;
		made := made || qname;
		view_name := qname;
		action := CASE WHEN had_row AND qname = ANY (old.views) THEN 'replaced' ELSE 'created' END;
		RETURN NEXT;
	END LOOP;

	INSERT INTO @extschema@.attachment AS a (source, kind, relations, view_schema, view_prefix, options,
		views, definition, created_schema)
	VALUES (p_source, p_kind, p_relations, target_schema, prefix, p_options, made, def, created)
	ON CONFLICT (source) DO UPDATE
	   SET kind = excluded.kind, relations = excluded.relations, view_schema = excluded.view_schema,
		   view_prefix = excluded.view_prefix, options = excluded.options, views = excluded.views,
		   definition = excluded.definition, created_schema = excluded.created_schema,
		   attached_at = now(), attached_by = CURRENT_USER;
END
$fn$;

CREATE OR REPLACE FUNCTION @extschema@.detach(source pg_catalog.text,
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	old @extschema@.attachment%ROWTYPE;
	qname text;
	remaining text[];
BEGIN
	IF NOT has_table_privilege('@extschema@.attachment', 'DELETE') THEN
		RAISE EXCEPTION 'permission denied to detach a source'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Role "%s" cannot change @extschema@.attachment.', current_user),
				  HINT = format('The extension''s owner can grant it: CALL @extschema@.grant_admin(%L);', current_user);
	END IF;
	SELECT * INTO old FROM @extschema@.attachment a WHERE a.source = detach.source FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no attached source "%"', source
			USING ERRCODE = 'undefined_object',
				  HINT = coalesce('Attached: ' || (SELECT string_agg(a.source, ', ' ORDER BY a.source)
													 FROM @extschema@.attachment a) || '.', 'No source is attached.');
	END IF;
	-- each view after the views of the source built on it (the BI views on
	-- the six, a records source's views on its records view), the latest
	-- first among those free to go
	remaining := old.views;
	WHILE coalesce(pg_catalog.cardinality(remaining), 0) > 0 LOOP
		SELECT u.v INTO qname FROM unnest(remaining) WITH ORDINALITY u(v, o)
		 WHERE NOT EXISTS (
			SELECT 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
			 WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
			   AND d.refobjid = pg_catalog.to_regclass(u.v) AND r.ev_class <> d.refobjid
			   AND r.ev_class = ANY (ARRAY(SELECT pg_catalog.to_regclass(w) FROM unnest(remaining) w)))
		 ORDER BY u.o DESC LIMIT 1;
		IF qname IS NULL THEN
			-- a cycle cannot happen; let attach_drop_view name what depends
			qname := remaining[pg_catalog.cardinality(remaining)];
		END IF;
		PERFORM @extschema@.attach_drop_view(source, qname);
		view_name := qname;
		action := 'dropped';
		RETURN NEXT;
		remaining := pg_catalog.array_remove(remaining, qname);
	END LOOP;
	IF old.created_schema AND NOT EXISTS (
			SELECT 1 FROM pg_depend d JOIN pg_namespace s ON s.oid = d.refobjid
			 WHERE d.refclassid = 'pg_namespace'::regclass AND s.nspname = old.view_schema) THEN
		EXECUTE format('DROP SCHEMA IF EXISTS %I', old.view_schema);
		view_name := quote_ident(old.view_schema);
		action := 'dropped';
		RETURN NEXT;
	END IF;
	DELETE FROM @extschema@.attachment a WHERE a.source = old.source;
END
$fn$;

CREATE OR REPLACE FUNCTION @extschema@.attach_span_cols(cols pg_catalog.jsonb, keys pg_catalog.jsonb,
	opts pg_catalog.jsonb, vocab pg_catalog.jsonb, rel pg_catalog.regclass)
	RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	a text := coalesce(cols ->> 'attributes', 'NULL::pg_catalog.jsonb');
	ops jsonb := coalesce(opts -> 'operations', '{}');
	llm text[] := ARRAY(SELECT jsonb_array_elements_text(ops -> 'llm'));
	tool text[] := ARRAY(SELECT jsonb_array_elements_text(ops -> 'tool'));
	agent text[] := ARRAY(SELECT jsonb_array_elements_text(ops -> 'agent'));
	op text;
	kind_case text;
	k text;
	status text := coalesce(cols ->> 'status', 'NULL::pg_catalog.text');
	dur text := coalesce(cols ->> 'duration', 'NULL::pg_catalog.int8');
	name text := coalesce(cols ->> 'name', 'NULL::pg_catalog.text');
BEGIN
	IF cardinality(llm) = 0 THEN llm := ARRAY['chat', 'generate_content', 'text_completion', 'embeddings']; END IF;
	IF cardinality(tool) = 0 THEN tool := ARRAY['execute_tool']; END IF;
	IF cardinality(agent) = 0 THEN agent := ARRAY['invoke_agent', 'create_agent']; END IF;
	op := format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'operation');
	-- a simple CASE reads the operation once
	kind_case := 'CASE ' || op;
	FOREACH k IN ARRAY llm LOOP kind_case := kind_case || format(' WHEN %L THEN ''llm''', k); END LOOP;
	FOREACH k IN ARRAY tool LOOP kind_case := kind_case || format(' WHEN %L THEN ''tool''', k); END LOOP;
	FOREACH k IN ARRAY agent LOOP kind_case := kind_case || format(' WHEN %L THEN ''agent''', k); END LOOP;
	kind_case := kind_case || ' ELSE ''other'' END';

	RETURN jsonb_build_object(
		'trace_id', cols ->> 'trace_id',
		'span_id', cols ->> 'span_id',
		'parent_id', format('NULLIF(%s, '''')', coalesce(cols ->> 'parent_id', 'NULL::pg_catalog.text')),
		'name', name,
		'started_at', cols ->> 'start_time',
		-- the end time, or the start plus a duration (beyond about 3 years
		-- not one; nor a start past the year 100000, which would overflow)
		'ended_at', coalesce(cols ->> 'end_time', format('CASE WHEN %2$s BETWEEN 0 AND 100000000000000000 '
			'AND %1$s < ''100000-01-01 00:00+00''::pg_catalog.timestamptz '
			'THEN %1$s + (%2$s / 1000)::pg_catalog.float8 * ''1 microsecond''::pg_catalog.interval END',
			cols ->> 'start_time', dur)),
		'status_raw', status,
		-- error.type, else the status message of a span with a status
		'error_type', format('COALESCE(%s, CASE WHEN %s IS NOT NULL THEN NULLIF(%s, '''') END)',
			format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'error_type'), status,
			coalesce(cols ->> 'status_message', 'NULL::pg_catalog.text')),
		'operation', op,
		'kind', kind_case,
		'provider', format('COALESCE((%1$s OPERATOR(pg_catalog.->>) %2$L), (%1$s OPERATOR(pg_catalog.->>) %3$L))',
			a, keys ->> 'provider', keys ->> 'provider_deprecated'),
		'request_model', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'request_model'),
		'response_model', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'response_model'),
		'input_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'input_tokens'),
		'output_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'output_tokens'),
		'cache_read_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cache_read_tokens'),
		'cache_write_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cache_write_tokens'),
		'reasoning_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'reasoning_tokens'),
		'reported_cost', format('@extschema@.attach_numeric(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cost'),
		'reported_cost_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cost'),
		'reported_currency', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cost_currency'),
		'reported_cost_source', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cost_source'),
		'estimated_cost', 'NULL::pg_catalog.numeric',
		'conversation_id', @extschema@.attach_spec(opts -> 'conversation', 'conversation', vocab, rel),
		'tool_name', format('CASE WHEN %s = ANY (%L::pg_catalog.text[]) THEN COALESCE((%s OPERATOR(pg_catalog.->>) %L), %s) END',
			op, tool, a, keys ->> 'tool_name', name),
		'args_hash', format('CASE WHEN %s = ANY (%L::pg_catalog.text[]) THEN @extschema@.attach_args_hash(%s OPERATOR(pg_catalog.->) %L) END',
			op, tool, a, keys ->> 'tool_arguments'),
		'workflow', @extschema@.attach_spec(opts -> 'workflow', 'workflow', vocab, rel),
		'item', @extschema@.attach_spec(opts -> 'item', 'item', vocab, rel),
		'outcome', @extschema@.attach_spec(opts -> 'outcome', 'outcome', vocab, rel),
		'option', @extschema@.attach_spec(opts -> 'option', 'option', vocab, rel),
		'attempt_raw', @extschema@.attach_spec(opts -> 'attempt', 'attempt', vocab, rel),
		'segment', @extschema@.attach_spec(opts -> 'segment', 'segment', vocab, rel));
END
$fn$;

CREATE OR REPLACE FUNCTION @extschema@.attach_otel(source pg_catalog.text, spans pg_catalog.regclass,
	into_schema pg_catalog.name DEFAULT NULL, prefix pg_catalog.text DEFAULT '',
	options pg_catalog.jsonb DEFAULT '{}',
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	opts jsonb;
	given jsonb;
	colmap jsonb := '{"start_time": "Timestamp", "trace_id": "TraceId", "span_id": "SpanId",
		"parent_id": "ParentSpanId", "name": "SpanName", "service": "ServiceName",
		"resource_attributes": "ResourceAttributes", "attributes": "SpanAttributes",
		"duration": "Duration", "status": "StatusCode", "status_message": "StatusMessage"}';
	kinds jsonb := '{"start_time": "timestamptz", "trace_id": "text", "span_id": "text", "parent_id": "text",
		"name": "text", "service": "text", "resource_attributes": "jsonb", "attributes": "jsonb",
		"duration": "int8", "status": "text", "status_message": "text"}';
	required text[] := ARRAY['start_time', 'trace_id', 'span_id', 'parent_id', 'attributes'];
	cols jsonb := '{}';
	k text;
	c text;
	vocab jsonb;
	parts jsonb;
	dedup boolean;
BEGIN
	PERFORM @extschema@.attach_relation(spans, 'span table');
	opts := @extschema@.attach_options(options,
		ARRAY['columns', 'keys', 'operations', 'workflow', 'item', 'outcome', 'option', 'attempt', 'segment',
			  'conversation', 'success_values', 'cache_tokens', 'cost_basis', 'strict', 'dedup', 'agent_usage', 'record'],
		jsonb_build_object('workflow', '["attr:gen_ai.workflow.name", "resource:gen_ai.workflow.name", "service"]'::jsonb,
			'item', 'trace_id', 'conversation', 'attr:gen_ai.conversation.id'));
	given := coalesce(opts -> 'columns', '{}');
	IF jsonb_typeof(given) <> 'object' THEN
		RAISE EXCEPTION 'option "columns" must be an object mapping names to column names'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR k IN SELECT jsonb_object_keys(given) LOOP
		IF NOT colmap ? k THEN
			RAISE EXCEPTION 'option "columns": unknown name "%"', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Names: %s.', (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_object_keys(colmap) x));
		END IF;
	END LOOP;
	FOR k IN SELECT jsonb_object_keys(colmap) LOOP
		IF given ? k THEN
			c := given ->> k;			-- NULL: the table has none
		ELSE
			c := colmap ->> k;
			-- an optional column the table lacks is simply absent
			IF NOT k = ANY (required) AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = spans
					AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped) THEN
				c := NULL;
			END IF;
		END IF;
		IF c IS NULL AND k = ANY (required) THEN
			RAISE EXCEPTION 'the % column is required', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Name it in option "columns": {"%s": "your_column"}.', k);
		END IF;
		IF c IS NOT NULL THEN
			cols := cols || jsonb_build_object(k, @extschema@.attach_column(spans, c, kinds ->> k, k || ' (' || quote_ident(c) || ')'));
		END IF;
	END LOOP;

	vocab := jsonb_build_object(
		'attr:', format('(%s OPERATOR(pg_catalog.->>) %%1$s)', replace(cols ->> 'attributes', '%', '%%')),
		'resource:', format('(%s OPERATOR(pg_catalog.->>) %%1$s)',
			replace(coalesce(cols ->> 'resource_attributes', 'NULL::pg_catalog.jsonb'), '%', '%%')),
		'name', coalesce(cols ->> 'name', 'NULL::pg_catalog.text'),
		'service', coalesce(cols ->> 'service',
			format('(%s OPERATOR(pg_catalog.->>) ''service.name'')', coalesce(cols ->> 'resource_attributes', 'NULL::pg_catalog.jsonb'))),
		'trace_id', cols ->> 'trace_id');
	parts := jsonb_build_object(
		'from', spans::text || ' r',
		'star', (SELECT string_agg('r.' || quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
				  WHERE a.attrelid = spans AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'tokacct_written_xid'),
		-- the trace id's collation, when it is a column read as it is
		'trace_collation', (SELECT format('%I.%I', n.nspname, co.collname)
				  FROM pg_attribute a JOIN pg_collation co ON co.oid = a.attcollation JOIN pg_namespace n ON n.oid = co.collnamespace
				  WHERE a.attrelid = spans AND NOT a.attisdropped AND 'r.' || quote_ident(a.attname) = cols ->> 'trace_id'),
		'trace', cols ->> 'trace_id',
		'span', cols ->> 'span_id',
		-- the copies of a span id: the latest end first, then every column read
		'order', (SELECT string_agg(e.cv || CASE WHEN e.ck IN ('duration', 'start_time') THEN ' DESC NULLS LAST'
												 WHEN kinds ->> e.ck = 'text' THEN ' COLLATE "C"' ELSE '' END,
					', ' ORDER BY CASE e.ck WHEN 'duration' THEN 0 WHEN 'start_time' THEN 1 ELSE 2 END, e.ck)
				   FROM jsonb_each_text(cols) e(ck, cv) WHERE e.ck NOT IN ('trace_id', 'span_id')),
		'cols', @extschema@.attach_span_cols(cols, @extschema@.attach_keys(opts), opts, vocab, spans));

	dedup := CASE opts ->> 'dedup'
		WHEN 'always' THEN true
		WHEN 'never' THEN false
		ELSE NOT @extschema@.attach_unique(spans, ARRAY[coalesce(given ->> 'trace_id', 'TraceId'), coalesce(given ->> 'span_id', 'SpanId')])
	END;
	RETURN QUERY SELECT * FROM @extschema@.attach_install(source, 'otel', ARRAY[spans], into_schema, prefix, options,
		@extschema@.attach_build(source, parts, opts, dedup));
END
$fn$;

CREATE OR REPLACE FUNCTION @extschema@.attach_langfuse(source pg_catalog.text,
	langfuse_schema pg_catalog.name DEFAULT 'public',
	into_schema pg_catalog.name DEFAULT NULL, prefix pg_catalog.text DEFAULT '',
	options pg_catalog.jsonb DEFAULT '{}',
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	opts jsonb;
	obs regclass;
	trc regclass;
	sco regclass;
	uses_scores boolean;
	o jsonb := '{}';			-- observation columns, over alias o
	t jsonb := '{}';			-- trace columns, over alias t
	s jsonb := '{}';			-- score columns, over alias s
	k text;
	project text := '';
	tproject text := '';
	tool_test text;
	threshold numeric;
	vocab jsonb;
	rel text;
	cols jsonb;
	parts jsonb;
	dedup boolean;
BEGIN
	opts := @extschema@.attach_options(options,
		ARRAY['project_id', 'provider', 'workflow', 'item', 'outcome', 'option', 'attempt', 'segment', 'conversation',
			  'cache_read', 'cache_write', 'reasoning', 'tool_name_pattern', 'score_threshold',
			  'success_values', 'cache_tokens', 'cost_basis', 'strict', 'dedup', 'agent_usage', 'record'],
		'{"workflow": "trace_name", "item": ["session", "trace_id"]}');
	IF langfuse_schema IS NULL OR NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = langfuse_schema) THEN
		RAISE EXCEPTION 'schema "%" does not exist', langfuse_schema
			USING ERRCODE = 'invalid_schema_name',
				  HINT = 'Name the schema that holds Langfuse''s tables traces, observations and scores.';
	END IF;
	obs := to_regclass(format('%I.observations', langfuse_schema));
	trc := to_regclass(format('%I.traces', langfuse_schema));
	sco := to_regclass(format('%I.scores', langfuse_schema));
	IF obs IS NULL OR trc IS NULL THEN
		RAISE EXCEPTION 'schema "%" has no Langfuse tables', langfuse_schema
			USING ERRCODE = 'undefined_table',
				  DETAIL = format('Missing: %s.', concat_ws(', ', CASE WHEN obs IS NULL THEN 'observations' END,
					CASE WHEN trc IS NULL THEN 'traces' END));
	END IF;
	PERFORM @extschema@.attach_relation(obs, 'observations table');
	PERFORM @extschema@.attach_relation(trc, 'traces table');

	-- every column read, checked (built-in types; the Langfuse enums read
	-- through their output function only)
	o := jsonb_build_object(
		'id', @extschema@.attach_column(obs, 'id', 'text', 'observation id', 'o'),
		'trace_id', @extschema@.attach_column(obs, 'trace_id', 'text', 'trace id', 'o'),
		'parent', @extschema@.attach_column(obs, 'parent_observation_id', 'text', 'parent observation id', 'o'),
		'name', @extschema@.attach_column(obs, 'name', 'text', 'observation name', 'o'),
		'start', @extschema@.attach_column(obs, 'start_time', 'timestamptz', 'start time', 'o'),
		'end', @extschema@.attach_column(obs, 'end_time', 'timestamptz', 'end time', 'o'),
		'type', @extschema@.attach_column(obs, 'type', 'enum', 'observation type', 'o'),
		'level', @extschema@.attach_column(obs, 'level', 'enum', 'level', 'o'),
		'message', @extschema@.attach_column(obs, 'status_message', 'text', 'status message', 'o'),
		'model', @extschema@.attach_column(obs, 'model', 'text', 'model', 'o'),
		'prompt', @extschema@.attach_column(obs, 'prompt_tokens', 'count', 'prompt tokens', 'o'),
		'completion', @extschema@.attach_column(obs, 'completion_tokens', 'count', 'completion tokens', 'o'),
		'metadata', @extschema@.attach_column(obs, 'metadata', 'jsonb', 'observation metadata', 'o'),
		'input', @extschema@.attach_column(obs, 'input', 'jsonb', 'observation input', 'o'),
		'cost', @extschema@.attach_column(obs, 'total_cost', 'numeric', 'total cost', 'o'),
		'calculated', @extschema@.attach_column(obs, 'calculated_total_cost', 'numeric', 'calculated total cost', 'o'),
		'project', @extschema@.attach_column(obs, 'project_id', 'text', 'project id', 'o'));
	t := jsonb_build_object(
		'id', @extschema@.attach_column(trc, 'id', 'text', 'trace id', 't'),
		'timestamp', @extschema@.attach_column(trc, 'timestamp', 'timestamptz', 'trace timestamp', 't'),
		'name', @extschema@.attach_column(trc, 'name', 'text', 'trace name', 't'),
		'session', @extschema@.attach_column(trc, 'session_id', 'text', 'session id', 't'),
		'external_id', @extschema@.attach_column(trc, 'external_id', 'text', 'external id', 't'),
		'user_id', @extschema@.attach_column(trc, 'user_id', 'text', 'user id', 't'),
		'metadata', @extschema@.attach_column(trc, 'metadata', 'jsonb', 'trace metadata', 't'),
		'project', @extschema@.attach_column(trc, 'project_id', 'text', 'project id', 't'));

	uses_scores := EXISTS (SELECT 1 FROM jsonb_each(opts) e
							WHERE e.key IN ('workflow', 'item', 'outcome', 'option', 'attempt', 'segment')
							  AND e.value::text LIKE '%score:%');
	IF uses_scores THEN
		IF sco IS NULL THEN
			RAISE EXCEPTION 'schema "%" has no scores table', langfuse_schema
				USING ERRCODE = 'undefined_table',
					  DETAIL = 'An option reads a score (score:NAME).';
		END IF;
		PERFORM @extschema@.attach_relation(sco, 'scores table');
		s := jsonb_build_object(
			'trace_id', @extschema@.attach_column(sco, 'trace_id', 'text', 'score trace id', 's'),
			'observation_id', @extschema@.attach_column(sco, 'observation_id', 'text', 'score observation id', 's'),
			'name', @extschema@.attach_column(sco, 'name', 'text', 'score name', 's'),
			'value', @extschema@.attach_column(sco, 'value', 'numeric', 'score value', 's'),
			'string_value', @extschema@.attach_column(sco, 'string_value', 'text', 'score string value', 's'),
			'data_type', @extschema@.attach_column(sco, 'data_type', 'enum', 'score data type', 's'),
			'timestamp', @extschema@.attach_column(sco, 'timestamp', 'timestamptz', 'score timestamp', 's'),
			'id', @extschema@.attach_column(sco, 'id', 'text', 'score id', 's'));
	END IF;

	IF opts ? 'project_id' THEN
		IF jsonb_typeof(opts -> 'project_id') <> 'string' THEN
			RAISE EXCEPTION 'option "project_id" must be a string' USING ERRCODE = 'invalid_parameter_value';
		END IF;
		project := format(' AND %s = %L', o ->> 'project', opts ->> 'project_id');
		tproject := format(' WHERE %s = %L', t ->> 'project', opts ->> 'project_id');
	END IF;
	IF opts ? 'score_threshold' THEN
		IF jsonb_typeof(opts -> 'score_threshold') <> 'number' THEN
			RAISE EXCEPTION 'option "score_threshold" must be a number' USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END IF;
	threshold := coalesce((opts ->> 'score_threshold')::numeric, 1);
	IF opts ? 'tool_name_pattern' THEN
		IF jsonb_typeof(opts -> 'tool_name_pattern') <> 'string' THEN
			RAISE EXCEPTION 'option "tool_name_pattern" must be a string (a regular expression)'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		PERFORM '' ~ (opts ->> 'tool_name_pattern');	-- a bad pattern fails here, not in the views
		tool_test := format('COALESCE(r.name, '''') ~ %L', opts ->> 'tool_name_pattern');
	ELSE
		tool_test := 'true';
	END IF;

	-- One row per observation, and one per trace (its root).  The trace's
	-- fields ride on every row, so a structure value is read from any.
	rel := format($q$(SELECT %1$s AS span_id, %2$s AS trace_id,
		   COALESCE(%3$s, %2$s) AS parent_id, %3$s AS parent_observation_id, %4$s AS name,
		   %5$s AS started_at, %6$s AS ended_at, %7$s AS type, %8$s AS level, %9$s AS status_message,
		   %10$s AS model, %11$s AS prompt_tokens, %12$s AS completion_tokens, %13$s AS metadata,
		   %14$s AS input, %15$s AS total_cost, %16$s AS calculated_total_cost,
		   %17$s AS trace_name, %18$s AS session_id, %19$s AS external_id, %20$s AS user_id,
		   %21$s AS trace_metadata
	  FROM %22$s o LEFT JOIN %23$s t ON %24$s = %2$s
	 WHERE %2$s IS NOT NULL%25$s
	UNION ALL
	SELECT %24$s, %24$s, NULL, NULL, %17$s, %26$s,
		   (SELECT pg_catalog.max(COALESCE(%6$s, %5$s)) FROM %22$s o WHERE %2$s = %24$s%25$s),
		   'TRACE',
		   CASE WHEN EXISTS (SELECT 1 FROM %22$s o WHERE %2$s = %24$s AND %3$s IS NULL AND %8$s = 'ERROR'%25$s)
				THEN 'ERROR' ELSE 'DEFAULT' END,
		   (SELECT pg_catalog.min(%9$s) FROM %22$s o WHERE %2$s = %24$s AND %3$s IS NULL AND %8$s = 'ERROR'%25$s),
		   NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		   %17$s, %18$s, %19$s, %20$s, %21$s
	  FROM %23$s t%27$s) r$q$,
		o ->> 'id', o ->> 'trace_id', o ->> 'parent', o ->> 'name', o ->> 'start', o ->> 'end',
		o ->> 'type', o ->> 'level', o ->> 'message', o ->> 'model', o ->> 'prompt', o ->> 'completion',
		o ->> 'metadata', o ->> 'input', o ->> 'cost', o ->> 'calculated',
		t ->> 'name', t ->> 'session', t ->> 'external_id', t ->> 'user_id', t ->> 'metadata',
		obs, trc, t ->> 'id', project, t ->> 'timestamp', tproject);

	vocab := jsonb_build_object(
		'trace_name', 'r.trace_name', 'session', 'r.session_id', 'external_id', 'r.external_id',
		'user_id', 'r.user_id', 'trace_id', 'r.trace_id', 'name', 'r.name',
		'trace_metadata:', '(r.trace_metadata OPERATOR(pg_catalog.#>>) %2$s::pg_catalog.text[])',
		'metadata:', '(r.metadata OPERATOR(pg_catalog.#>>) %2$s::pg_catalog.text[])');
	IF uses_scores THEN
		-- (the column SQL may hold a %: escaped, as attach_spec formats the template)
		vocab := vocab || jsonb_build_object('score:', replace(replace(format($q$(CASE WHEN r.type = 'TRACE' THEN
			(SELECT CASE %1$s WHEN 'BOOLEAN' THEN CASE WHEN %2$s = 1 THEN 'true' ELSE 'false' END
							   WHEN 'NUMERIC' THEN CASE WHEN %2$s >= %3$s THEN 'true' ELSE 'false' END
							   ELSE %4$s END
			   FROM %5$s s
			  WHERE %6$s = r.trace_id AND %7$s = ?1 AND %8$s IS NULL
			  ORDER BY %9$s DESC, %10$s COLLATE "C" DESC LIMIT 1) END)$q$,
			s ->> 'data_type', s ->> 'value', threshold, s ->> 'string_value', sco, s ->> 'trace_id',
			s ->> 'name', s ->> 'observation_id', s ->> 'timestamp', s ->> 'id'), '%', '%%'), '?1', '%1$s'));
	END IF;

	cols := jsonb_build_object(
		'trace_id', 'r.trace_id', 'span_id', 'r.span_id', 'parent_id', 'r.parent_id', 'name', 'r.name',
		'started_at', 'r.started_at', 'ended_at', 'r.ended_at',
		'status_raw', 'r.level', 'error_type', 'CASE WHEN r.level = ''ERROR'' THEN r.status_message END',
		'operation', 'pg_catalog.lower(r.type)',
		'kind', format('CASE r.type WHEN ''GENERATION'' THEN ''llm'' WHEN ''TRACE'' THEN ''agent'' '
			'WHEN ''SPAN'' THEN CASE WHEN r.parent_observation_id IS NULL THEN ''agent'' '
			'WHEN %s THEN ''tool'' ELSE ''other'' END ELSE ''other'' END', tool_test),
		'provider', @extschema@.attach_spec(opts -> 'provider', 'provider', vocab, obs),
		'request_model', 'r.model', 'response_model', 'NULL::pg_catalog.text',
		-- a generation with neither count (Langfuse stores 0 then) reports no usage
		'input_raw', 'CASE WHEN r.prompt_tokens <> ''0'' OR r.completion_tokens <> ''0'' THEN r.prompt_tokens END',
		'output_raw', 'CASE WHEN r.prompt_tokens <> ''0'' OR r.completion_tokens <> ''0'' THEN r.completion_tokens END',
		'cache_read_raw', @extschema@.attach_spec(opts -> 'cache_read', 'cache_read', vocab, obs),
		'cache_write_raw', @extschema@.attach_spec(opts -> 'cache_write', 'cache_write', vocab, obs),
		'reasoning_raw', @extschema@.attach_spec(opts -> 'reasoning', 'reasoning', vocab, obs),
		'reported_cost', 'r.total_cost', 'reported_cost_raw', 'NULL::pg_catalog.text',
		'reported_currency', 'CASE WHEN r.total_cost IS NOT NULL THEN ''USD'' END',
		'reported_cost_source', 'CASE WHEN r.total_cost IS NOT NULL THEN ''langfuse'' END',
		'estimated_cost', 'pg_catalog.round(r.calculated_total_cost, 12)',
		'conversation_id', @extschema@.attach_spec(opts -> 'conversation', 'conversation', vocab, obs),
		'tool_name', 'NULL::pg_catalog.text',
		'args_hash', format('CASE WHEN r.type = ''SPAN'' AND r.parent_observation_id IS NOT NULL AND %s '
			'AND r.input IS NOT NULL THEN @extschema@.attach_args_hash(r.input) END', tool_test),
		'workflow', @extschema@.attach_spec(opts -> 'workflow', 'workflow', vocab, obs),
		'item', @extschema@.attach_spec(opts -> 'item', 'item', vocab, obs),
		'outcome', @extschema@.attach_spec(opts -> 'outcome', 'outcome', vocab, obs),
		'option', @extschema@.attach_spec(opts -> 'option', 'option', vocab, obs),
		'attempt_raw', @extschema@.attach_spec(opts -> 'attempt', 'attempt', vocab, obs),
		'segment', @extschema@.attach_spec(opts -> 'segment', 'segment', vocab, obs));

	parts := jsonb_build_object('from', rel, 'trace', 'r.trace_id', 'span', 'r.span_id',
		'order', 'r.ended_at DESC NULLS LAST, r.started_at DESC NULLS LAST, r.level COLLATE "C", '
			'r.name COLLATE "C", r.parent_id COLLATE "C", r.model COLLATE "C", r.prompt_tokens COLLATE "C", '
			'r.completion_tokens COLLATE "C", r.total_cost, r.metadata, r.input',
		'cols', cols);
	-- observation ids are unique (primary key) and trace ids too, unless
	-- the tables say otherwise
	dedup := CASE opts ->> 'dedup'
		WHEN 'always' THEN true
		WHEN 'never' THEN false
		ELSE NOT (@extschema@.attach_unique(obs, ARRAY['id']) AND @extschema@.attach_unique(trc, ARRAY['id']))
	END;
	RETURN QUERY SELECT * FROM @extschema@.attach_install(source, 'langfuse',
		CASE WHEN uses_scores THEN ARRAY[obs, trc, sco] ELSE ARRAY[obs, trc] END,
		into_schema, prefix, options, @extschema@.attach_build(source, parts, opts, dedup));
END
$fn$;

CREATE OR REPLACE FUNCTION @extschema@.attach_otlp_json(source pg_catalog.text, documents pg_catalog.regclass,
	document_column pg_catalog.name DEFAULT 'doc',
	into_schema pg_catalog.name DEFAULT NULL, prefix pg_catalog.text DEFAULT '',
	options pg_catalog.jsonb DEFAULT '{}',
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	opts jsonb;
	doc text;
	rel text;
	cols jsonb;
	vocab jsonb;
	parts jsonb;
	-- a hex id as it is (lower case); a base64 one of 8 or 16 bytes in hex
	id_sql text := 'CASE WHEN %1$s OPERATOR(pg_catalog.~) ''^[A-Za-z0-9+/]{22}==$'' '
		'OR %1$s OPERATOR(pg_catalog.~) ''^[A-Za-z0-9+/]{11}=$'' '
		'THEN pg_catalog.encode(pg_catalog.decode(%1$s, ''base64''), ''hex'') ELSE pg_catalog.lower(%1$s) END';
	arr text := 'CASE WHEN pg_catalog.jsonb_typeof(%1$s) = ''array'' THEN %1$s ELSE ''[]''::pg_catalog.jsonb END';
BEGIN
	PERFORM @extschema@.attach_relation(documents, 'documents table');
	opts := @extschema@.attach_options(options,
		ARRAY['keys', 'operations', 'workflow', 'item', 'outcome', 'option', 'attempt', 'segment',
			  'conversation', 'success_values', 'cache_tokens', 'cost_basis', 'strict', 'dedup', 'agent_usage', 'record'],
		jsonb_build_object('workflow', '["attr:gen_ai.workflow.name", "resource:gen_ai.workflow.name", "service"]'::jsonb,
			'item', 'trace_id', 'conversation', 'attr:gen_ai.conversation.id'));
	doc := @extschema@.attach_column(documents, document_column, 'jsonb', 'OTLP/JSON document', 'd');

	rel := format($q$(SELECT sp.value AS span,
			@extschema@.attach_otlp_attributes(COALESCE(sp.value OPERATOR(pg_catalog.->) 'attributes', '[]'::pg_catalog.jsonb)) AS attrs,
			@extschema@.attach_otlp_attributes(COALESCE(rs.value OPERATOR(pg_catalog.->) 'resource' OPERATOR(pg_catalog.->) 'attributes', '[]'::pg_catalog.jsonb)) AS res
	   FROM %1$s d
	  CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(%2$s) rs
	  CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(COALESCE(%3$s, %4$s)) ss
	  CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(%5$s) sp
	 WHERE pg_catalog.jsonb_typeof(sp.value) = 'object') r$q$,
		documents,
		format(arr, format('(%s OPERATOR(pg_catalog.->) ''resourceSpans'')', doc)),
		format('CASE WHEN pg_catalog.jsonb_typeof(rs.value OPERATOR(pg_catalog.->) ''scopeSpans'') = ''array'' '
			'THEN rs.value OPERATOR(pg_catalog.->) ''scopeSpans'' END'),
		format(arr, '(rs.value OPERATOR(pg_catalog.->) ''instrumentationLibrarySpans'')'),
		format(arr, '(ss.value OPERATOR(pg_catalog.->) ''spans'')'));

	cols := jsonb_build_object(
		'trace_id', format(id_sql, '(r.span OPERATOR(pg_catalog.->>) ''traceId'')'),
		'span_id', format(id_sql, '(r.span OPERATOR(pg_catalog.->>) ''spanId'')'),
		'parent_id', format(id_sql, '(r.span OPERATOR(pg_catalog.->>) ''parentSpanId'')'),
		'start_time', '@extschema@.attach_unix_nanos(r.span OPERATOR(pg_catalog.->) ''startTimeUnixNano'')',
		'end_time', '@extschema@.attach_unix_nanos(r.span OPERATOR(pg_catalog.->) ''endTimeUnixNano'')',
		'name', '(r.span OPERATOR(pg_catalog.->>) ''name'')',
		'status', '(r.span OPERATOR(pg_catalog.->) ''status'' OPERATOR(pg_catalog.->>) ''code'')',
		'status_message', '(r.span OPERATOR(pg_catalog.->) ''status'' OPERATOR(pg_catalog.->>) ''message'')',
		'attributes', 'r.attrs',
		'resource_attributes', 'r.res');
	vocab := jsonb_build_object(
		'attr:', '(r.attrs OPERATOR(pg_catalog.->>) %1$s)',
		'resource:', '(r.res OPERATOR(pg_catalog.->>) %1$s)',
		'name', cols ->> 'name',
		'service', '(r.res OPERATOR(pg_catalog.->>) ''service.name'')',
		'trace_id', cols ->> 'trace_id');
	parts := jsonb_build_object(
		'from', rel,
		'trace', cols ->> 'trace_id',
		'span', cols ->> 'span_id',
		'order', format('%s DESC NULLS LAST, r.span, r.res', cols ->> 'end_time'),
		'cols', @extschema@.attach_span_cols(cols, @extschema@.attach_keys(opts), opts, vocab, documents));
	RETURN QUERY SELECT * FROM @extschema@.attach_install(source, 'otlp_json', ARRAY[documents], into_schema,
		prefix, options, @extschema@.attach_build(source, parts, opts, coalesce(opts ->> 'dedup', 'auto') <> 'never'));
END
$fn$;

CREATE OR REPLACE FUNCTION @extschema@.attach(source pg_catalog.text, spans pg_catalog.regclass, mapping pg_catalog.jsonb,
	into_schema pg_catalog.name DEFAULT NULL, prefix pg_catalog.text DEFAULT '',
	options pg_catalog.jsonb DEFAULT '{}',
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	opts jsonb;
	-- the vocabulary and how each value is read
	wants jsonb := '{"trace_id": "text", "span_id": "text", "parent_id": "text", "start_time": "timestamptz",
		"end_time": "timestamptz", "duration_ms": "numeric", "name": "text", "kind": "text", "status": "text",
		"error_type": "text", "provider": "text", "model": "text", "response_model": "text",
		"input_tokens": "count", "output_tokens": "count", "cache_read_tokens": "count",
		"cache_write_tokens": "count", "reasoning_tokens": "count", "cost": "numeric", "cost_currency": "text",
		"cost_source": "text", "conversation_id": "text", "tool_name": "text", "tool_arguments": "jsonb",
		"args_hash": "text", "workflow": "text", "item": "text", "outcome": "text", "option": "text",
		"attempt": "count", "segment": "text"}';
	m jsonb := '{}';
	k text;
	e text;
	kinds jsonb;
	kind_case text := '';
	w text;
	ends text;
	args text;
	cols jsonb;
	parts jsonb;
	dedup boolean;
BEGIN
	PERFORM @extschema@.attach_relation(spans, 'span table');
	opts := @extschema@.attach_options(options,
		ARRAY['kinds', 'success_values', 'cache_tokens', 'cost_basis', 'strict', 'dedup', 'agent_usage', 'record'], '{}');
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
	FOREACH k IN ARRAY ARRAY['trace_id', 'span_id', 'start_time'] LOOP
		IF NOT mapping ? k OR jsonb_typeof(mapping -> k) = 'null' THEN
			RAISE EXCEPTION 'the mapping must name the % column', k
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END LOOP;
	-- tool arguments may be jsonb or text
	IF jsonb_typeof(mapping -> 'tool_arguments') = 'string' AND coalesce((SELECT a.atttypid <> 'jsonb'::regtype
			FROM pg_attribute a WHERE a.attrelid = spans AND a.attname = mapping ->> 'tool_arguments'
			  AND a.attnum > 0 AND NOT a.attisdropped), false) THEN
		wants := wants || '{"tool_arguments": "text"}';
	END IF;
	FOR k IN SELECT jsonb_object_keys(wants) LOOP
		e := @extschema@.attach_mapped(spans, mapping, k, wants ->> k);
		IF e IS NOT NULL THEN
			m := m || jsonb_build_object(k, e);
		END IF;
	END LOOP;

	-- kind words: the source's kind column (or operation name) to llm, tool, agent
	kinds := '{"llm": ["llm", "chat", "generate_content", "text_completion", "embeddings", "generation", "completion"],
		"tool": ["tool", "tool_call", "execute_tool", "function"],
		"agent": ["agent", "invoke_agent", "create_agent", "chain", "workflow", "attempt"]}'::jsonb
		|| coalesce(opts -> 'kinds', '{}');
	IF EXISTS (SELECT 1 FROM jsonb_each(kinds) x WHERE x.key NOT IN ('llm', 'tool', 'agent') OR jsonb_typeof(x.value) <> 'array') THEN
		RAISE EXCEPTION 'option "kinds" must map llm, tool and agent to arrays of the words the kind column uses'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOREACH w IN ARRAY ARRAY['llm', 'tool', 'agent'] LOOP
		FOR k IN SELECT lower(jsonb_array_elements_text(kinds -> w)) LOOP
			kind_case := kind_case || format(' WHEN %L THEN %L', k, w);
		END LOOP;
	END LOOP;
	kind_case := CASE WHEN m ? 'kind' THEN format('CASE pg_catalog.lower(%s)%s ELSE ''other'' END', m ->> 'kind', kind_case)
					  ELSE '''llm''' END;

	ends := coalesce(m ->> 'end_time', CASE WHEN m ? 'duration_ms' THEN format(
		'CASE WHEN %2$s BETWEEN 0 AND 100000000000 AND %1$s < ''100000-01-01 00:00+00''::pg_catalog.timestamptz '
		'THEN %1$s + %2$s::pg_catalog.float8 * ''1 millisecond''::pg_catalog.interval END',
		m ->> 'start_time', m ->> 'duration_ms') END, 'NULL::pg_catalog.timestamptz');
	args := CASE
		WHEN m ? 'args_hash' THEN m ->> 'args_hash'
		WHEN m ? 'tool_arguments' THEN format('@extschema@.attach_args_hash(%s)', m ->> 'tool_arguments')
		ELSE 'NULL::pg_catalog.text' END;

	cols := jsonb_build_object(
		'trace_id', m ->> 'trace_id', 'span_id', m ->> 'span_id',
		'parent_id', format('NULLIF(%s, '''')', coalesce(m ->> 'parent_id', 'NULL::pg_catalog.text')),
		'name', coalesce(m ->> 'name', 'NULL::pg_catalog.text'),
		'started_at', m ->> 'start_time', 'ended_at', ends,
		'status_raw', coalesce(m ->> 'status', 'NULL::pg_catalog.text'),
		'error_type', coalesce(m ->> 'error_type', 'NULL::pg_catalog.text'),
		'operation', coalesce(m ->> 'kind', 'NULL::pg_catalog.text'),
		'kind', kind_case,
		'provider', coalesce(m ->> 'provider', 'NULL::pg_catalog.text'),
		'request_model', coalesce(m ->> 'model', 'NULL::pg_catalog.text'),
		'response_model', coalesce(m ->> 'response_model', 'NULL::pg_catalog.text'),
		'input_raw', coalesce(m ->> 'input_tokens', 'NULL::pg_catalog.text'),
		'output_raw', coalesce(m ->> 'output_tokens', 'NULL::pg_catalog.text'),
		'cache_read_raw', coalesce(m ->> 'cache_read_tokens', 'NULL::pg_catalog.text'),
		'cache_write_raw', coalesce(m ->> 'cache_write_tokens', 'NULL::pg_catalog.text'),
		'reasoning_raw', coalesce(m ->> 'reasoning_tokens', 'NULL::pg_catalog.text'),
		'reported_cost', coalesce(m ->> 'cost', 'NULL::pg_catalog.numeric'),
		'reported_cost_raw', 'NULL::pg_catalog.text',
		'reported_currency', coalesce(m ->> 'cost_currency', 'NULL::pg_catalog.text'),
		'reported_cost_source', coalesce(m ->> 'cost_source', 'NULL::pg_catalog.text'),
		'estimated_cost', 'NULL::pg_catalog.numeric',
		'conversation_id', coalesce(m ->> 'conversation_id', 'NULL::pg_catalog.text'),
		'tool_name', CASE WHEN m ? 'tool_name' THEN format('CASE WHEN %s = ''tool'' THEN %s END', kind_case, m ->> 'tool_name')
						  ELSE 'NULL::pg_catalog.text' END,
		'args_hash', format('CASE WHEN %s = ''tool'' THEN %s END', kind_case, args),
		'workflow', coalesce(m ->> 'workflow', 'NULL::pg_catalog.text'),
		'item', coalesce(m ->> 'item', m ->> 'trace_id'),
		'outcome', coalesce(m ->> 'outcome', 'NULL::pg_catalog.text'),
		'option', coalesce(m ->> 'option', 'NULL::pg_catalog.text'),
		'attempt_raw', coalesce(m ->> 'attempt', 'NULL::pg_catalog.text'),
		'segment', coalesce(m ->> 'segment', 'NULL::pg_catalog.text'));
	parts := jsonb_build_object('from', spans::text || ' r', 'trace', m ->> 'trace_id', 'span', m ->> 'span_id',
		'star', (SELECT string_agg('r.' || quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
				  WHERE a.attrelid = spans AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'tokacct_written_xid'),
		-- the trace id's collation, when it is a column read as it is
		'trace_collation', (SELECT format('%I.%I', n.nspname, co.collname)
				  FROM pg_attribute a JOIN pg_collation co ON co.oid = a.attcollation JOIN pg_namespace n ON n.oid = co.collnamespace
				  WHERE a.attrelid = spans AND NOT a.attisdropped AND 'r.' || quote_ident(a.attname) = m ->> 'trace_id'),
		'order', (SELECT string_agg(format('%s %s', e.v, CASE WHEN e.k IN ('end_time', 'duration_ms') THEN 'DESC NULLS LAST'
								WHEN wants ->> e.k IN ('text', 'count') THEN 'COLLATE "C"' ELSE '' END), ', '
								ORDER BY CASE WHEN e.k IN ('end_time', 'duration_ms') THEN 0 ELSE 1 END, e.k)
				   FROM jsonb_each_text(m) e(k, v) WHERE e.k NOT IN ('trace_id', 'span_id')),
		'cols', cols);
	-- the attempt number, when mapped, is the source's own
	IF m ? 'attempt' THEN
		opts := opts || '{"attempt": "mapped"}';
	END IF;
	dedup := CASE opts ->> 'dedup'
		WHEN 'always' THEN true
		WHEN 'never' THEN false
		ELSE NOT (jsonb_typeof(mapping -> 'span_id') = 'string'
				  AND (@extschema@.attach_unique(spans, ARRAY[mapping ->> 'span_id'])
					   OR (jsonb_typeof(mapping -> 'trace_id') = 'string'
						   AND @extschema@.attach_unique(spans, ARRAY[mapping ->> 'trace_id', mapping ->> 'span_id']))))
	END;
	RETURN QUERY SELECT * FROM @extschema@.attach_install(source, 'mapping', ARRAY[spans], into_schema, prefix,
		jsonb_build_object('mapping', mapping, 'options', options), @extschema@.attach_build(source, parts, opts, dedup));
END
$fn$;

-- ---------------------------------------------------------------------------
-- Views for people and BI tools.  Attaching a source
-- creates, beside its six base views, the views a BI tool starts from, in
-- the same schema and with the same prefix: economics per day, week and
-- month; economics per segment of items (where the economics break);
-- model routing; waste by class; context growth; cost quantiles; the
-- utility frontier; the allocation of a budget (tokacct.allocation_budget);
-- unpriced models; a summary of the problems; a FOCUS 1.2 cost export.
--
-- They read the base views only, through tokacct's aggregates and
-- functions, so they are security_invoker like them (row-level security on
-- the source tables applies to whoever reads), with plain column types
-- (text, bigint, numeric, double precision, boolean, timestamptz, date) and
-- a comment on every column.  Periods and dates are in UTC.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.allocation_budget (
	source pg_catalog.text PRIMARY KEY
		CHECK (source OPERATOR(pg_catalog.~) '^[a-z_][a-z0-9_]{0,47}$'),
	budget pg_catalog.numeric NOT NULL CHECK (budget OPERATOR(pg_catalog.>=) 0),
	note pg_catalog.text
);
COMMENT ON TABLE @extschema@.allocation_budget IS
	'the budget (USD) to allocate over the workflows of an attached source, for the volume of items the source holds: its allocation view plans it';
COMMENT ON COLUMN @extschema@.allocation_budget.source IS 'attached source (tokacct.attachment.source)';
COMMENT ON COLUMN @extschema@.allocation_budget.budget IS 'budget in USD for the items of the source (AI cost and human fixes)';
COMMENT ON COLUMN @extschema@.allocation_budget.note IS 'free text (the period, who set it)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.allocation_budget', '');

-- The SQL of the BI views of one attached source: a jsonb object mapping
-- each view name (without the prefix) to its SELECT, over the base views
-- schema.prefix||calls etc.  The routing thresholds are the documented
-- ones: 95% Wilson intervals, at least 30 attempts.
CREATE FUNCTION @extschema@.attach_bi_sql(p_source pg_catalog.text, sch pg_catalog.name, prefix pg_catalog.text)
	RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	v_calls text := format('%I.%I', sch, prefix || 'calls');
	v_spans text := format('%I.%I', sch, prefix || 'spans');
	v_attempts text := format('%I.%I', sch, prefix || 'attempts');
	v_items text := format('%I.%I', sch, prefix || 'items');
	v_conv text := format('%I.%I', sch, prefix || 'conversations');
	v_problems text := format('%I.%I', sch, prefix || 'problems');
	econ text;
	res jsonb := '{}';
	g text;
BEGIN
	-- Economics per workflow and period: one pass over the items view.
	-- An item counts in the period its first attempt started (UTC); an item
	-- whose AI cost or success is unknown is left out and counted.
	econ := $q$
SELECT e.source, e.workflow, e.period_start,
	   r.items, r.solved, r.solve_rate,
	   (e.first_ok::pg_catalog.float8 / NULLIF(r.items, 0)) AS p1,
	   (e.attempts::pg_catalog.float8 / NULLIF(r.items, 0)) AS attempts_per_item,
	   e.attempts,
	   COALESCE(r.ai_cost, 0) AS ai_cost, COALESCE(r.human_fix_cost, 0) AS human_fix_cost,
	   r.cost_per_solved AS ai_cost_per_solved,
	   r.total_cost_per_solved AS cost_per_solved,
	   pg_catalog.round(r.total_cost / NULLIF(r.items, 0), 12) AS cost_per_item,
	   e.bpo_unit_price,
	   pg_catalog.round(e.bpo_unit_price - r.total_cost / NULLIF(r.items, 0), 12) AS saving_per_unit,
	   CASE WHEN e.bpo_unit_price > 0 AND e.attempts > 0
			THEN @extschema@.break_even_p(pg_catalog.round(r.ai_cost / e.attempts, 12), e.bpo_unit_price) END AS break_even_p1,
	   (e.failed_cost / NULLIF(r.ai_cost, 0))::pg_catalog.float8 AS retry_share,
	   @extschema@.tail_ratio(e.sketch) AS tail_ratio,
	   w.waste_share,
	   e.items_left_out,
	   (e.items_left_out::pg_catalog.float8 / NULLIF(e.all_items, 0)) AS items_left_out_share,
	   e.calls_left_out,
	   (e.calls_left_out::pg_catalog.float8 / NULLIF(e.calls, 0)) AS calls_left_out_share
  FROM (SELECT i.source, i.workflow,
			   pg_catalog.date_trunc('{{GRAIN}}', pg_catalog.timezone('UTC', i.started_at))::pg_catalog.date AS period_start,
			   @extschema@.cost_per_outcome(i.ai_cost, i.solved, i.human_fix_cost) FILTER (WHERE i.ok) AS outcome,
			   @extschema@.cost_sketch(i.ai_cost) FILTER (WHERE i.ok) AS sketch,
			   pg_catalog.count(*) FILTER (WHERE i.ok AND i.first_try_succeeded) AS first_ok,
			   COALESCE(pg_catalog.sum(i.attempts) FILTER (WHERE i.ok), 0)::pg_catalog.int8 AS attempts,
			   pg_catalog.sum(i.failed_attempt_cost) FILTER (WHERE i.ok) AS failed_cost,
			   pg_catalog.round(pg_catalog.avg(i.bpo_unit_price) FILTER (WHERE i.ok), 12) AS bpo_unit_price,
			   pg_catalog.count(*) AS all_items,
			   pg_catalog.count(*) FILTER (WHERE NOT i.ok) AS items_left_out,
			   COALESCE(pg_catalog.sum(i.calls), 0)::pg_catalog.int8 AS calls,
			   COALESCE(pg_catalog.sum(i.calls_left_out), 0)::pg_catalog.int8 AS calls_left_out
		  FROM (SELECT x.*, (x.ai_cost IS NOT NULL AND x.solved IS NOT NULL) AS ok
				  FROM {{ITEMS}} x WHERE x.started_at IS NOT NULL AND pg_catalog.isfinite(x.started_at)) i
		 GROUP BY 1, 2, 3) e
  LEFT JOIN LATERAL @extschema@.outcome_report(e.outcome) r ON true
  LEFT JOIN (SELECT COALESCE(a.workflow, '') AS workflow_key,
					pg_catalog.date_trunc('{{GRAIN}}', pg_catalog.timezone('UTC', a.started_at))::pg_catalog.date AS period_start,
					(pg_catalog.sum(wt.waste) / NULLIF(pg_catalog.sum(wt.total), 0))::pg_catalog.float8 AS waste_share
			   FROM @extschema@.waste_by_trace('{{SPANS}}'::pg_catalog.regclass) wt
			   JOIN {{ATTEMPTS}} a ON a.trace_id = wt.trace_id
			  GROUP BY 1, 2) w
	ON w.workflow_key = COALESCE(e.workflow, '') AND w.period_start = e.period_start$q$;
	econ := replace(replace(replace(econ, '{{ITEMS}}', v_items), '{{ATTEMPTS}}', v_attempts), '{{SPANS}}', v_spans);
	FOREACH g IN ARRAY ARRAY['day', 'week', 'month'] LOOP
		res := res || jsonb_build_object(CASE g WHEN 'day' THEN 'economics_daily' WHEN 'week' THEN 'economics_weekly'
			ELSE 'economics_monthly' END, replace(econ, '{{GRAIN}}', g));
	END LOOP;

	-- Where the economics break: per workflow and segment of items, the
	-- all-in cost per item (AI attempts, retries included, plus the human
	-- fix of the items the AI did not solve) against the BPO price.
	res := res || jsonb_build_object('segments', format($q$
SELECT s.source, s.workflow, s.segment, s.items, s.solved, s.p1, s.attempts_per_item,
	   s.ai_cost, s.human_fix_cost, s.ai_cost_per_solved, s.cost_per_item, s.bpo_unit_price,
	   s.saving_per_unit, s.retry_share, s.money_at_stake, s.agent_loses,
	   CASE WHEN s.agent_loses THEN pg_catalog.rank() OVER (PARTITION BY s.source, s.agent_loses
			ORDER BY s.money_at_stake DESC, s.workflow COLLATE "C", s.segment COLLATE "C") END AS loss_rank,
	   s.items_left_out,
	   CASE WHEN s.bpo_unit_price IS NULL OR s.items = 0 THEN NULL ELSE
	   pg_catalog.format('%%s, %%s: $%%s per item with the agent (retries and human fixes included) against $%%s at the BPO; first-try success %%s%%%%, %%s attempts per item: %%s',
		   COALESCE(s.workflow, '(no workflow)'), COALESCE(s.segment, 'items without a segment'),
		   pg_catalog.round(s.cost_per_item, 2), pg_catalog.round(s.bpo_unit_price, 2),
		   pg_catalog.round((s.p1 * 100)::pg_catalog.numeric, 0), pg_catalog.round(s.attempts_per_item::pg_catalog.numeric, 2),
		   CASE WHEN NOT s.agent_loses
				THEN pg_catalog.format('the agent saves $%%s per item, $%%s on these %%s items', pg_catalog.round(s.saving_per_unit, 2),
					 pg_catalog.round(-s.money_at_stake, 2), s.items)
				WHEN s.retry_share >= 0.5
				THEN pg_catalog.format('the retry tail destroys the economics (%%s%%%% of the AI spend goes on failed attempts); $%%s at stake on these %%s items',
					 pg_catalog.round((s.retry_share * 100)::pg_catalog.numeric, 0), pg_catalog.round(s.money_at_stake, 2), s.items)
				WHEN s.human_fix_cost > s.ai_cost
				THEN pg_catalog.format('the human fixes of the items the agent fails destroy the economics; $%%s at stake on these %%s items',
					 pg_catalog.round(s.money_at_stake, 2), s.items)
				ELSE pg_catalog.format('the agent''s attempts cost more than the BPO price; $%%s at stake on these %%s items',
					 pg_catalog.round(s.money_at_stake, 2), s.items) END) END AS sentence
  FROM (SELECT t.source, t.workflow, t.segment, r.items, r.solved,
			   (t.first_ok::pg_catalog.float8 / NULLIF(r.items, 0)) AS p1,
			   (t.attempts::pg_catalog.float8 / NULLIF(r.items, 0)) AS attempts_per_item,
			   COALESCE(r.ai_cost, 0) AS ai_cost, COALESCE(r.human_fix_cost, 0) AS human_fix_cost,
			   r.cost_per_solved AS ai_cost_per_solved,
			   pg_catalog.round(r.total_cost / NULLIF(r.items, 0), 12) AS cost_per_item,
			   t.bpo_unit_price,
			   pg_catalog.round(t.bpo_unit_price - r.total_cost / NULLIF(r.items, 0), 12) AS saving_per_unit,
			   (t.failed_cost / NULLIF(r.ai_cost, 0))::pg_catalog.float8 AS retry_share,
			   pg_catalog.round(r.total_cost - t.bpo_total, 12) AS money_at_stake,
			   (r.total_cost > t.bpo_total) AS agent_loses,
			   t.items_left_out
		  FROM (SELECT i.source, i.workflow, i.segment,
					   @extschema@.cost_per_outcome(i.ai_cost, i.solved, i.human_fix_cost) FILTER (WHERE i.ok) AS outcome,
					   pg_catalog.count(*) FILTER (WHERE i.ok AND i.first_try_succeeded) AS first_ok,
					   COALESCE(pg_catalog.sum(i.attempts) FILTER (WHERE i.ok), 0)::pg_catalog.int8 AS attempts,
					   pg_catalog.sum(i.failed_attempt_cost) FILTER (WHERE i.ok) AS failed_cost,
					   pg_catalog.round(pg_catalog.avg(i.bpo_unit_price) FILTER (WHERE i.ok), 12) AS bpo_unit_price,
					   pg_catalog.sum(i.bpo_unit_price) FILTER (WHERE i.ok) AS bpo_total,
					   pg_catalog.count(*) FILTER (WHERE NOT i.ok) AS items_left_out
				  FROM (SELECT x.*, (x.ai_cost IS NOT NULL AND x.solved IS NOT NULL) AS ok FROM %1$s x) i
				 GROUP BY 1, 2, 3) t
		  LEFT JOIN LATERAL @extschema@.outcome_report(t.outcome) r ON true) s$q$, v_items));

	-- Model routing per workflow and option, over attempts.  Documented
	-- rule: a sample is enough from 30 attempts; an option is good enough
	-- when its 95% Wilson interval reaches the best success rate of the
	-- options with enough samples; the recommendation is the good-enough
	-- option with the lowest cost per success, none without enough samples.
	res := res || jsonb_build_object('routing', format($q$
SELECT o.source, o.workflow, o.option, o.attempts, o.successes, o.success_rate,
	   o.success_low, o.success_high, 0.95::pg_catalog.float8 AS confidence, 30::pg_catalog.int8 AS min_sample,
	   o.cost, o.cost_per_attempt, o.cost_per_success, o.sample_ok, o.good_enough,
	   o.rec_option AS recommended_option,
	   CASE WHEN o.rec_option IS NOT NULL AND o.option IS DISTINCT FROM o.rec_option AND o.cost_per_success > o.rec_cps
			THEN pg_catalog.round(o.successes * (o.cost_per_success - o.rec_cps), 12)
			WHEN o.rec_option IS NOT NULL THEN 0::pg_catalog.numeric END AS projected_saving,
	   CASE WHEN NOT o.sample_ok THEN pg_catalog.format('too few samples (%%s attempts, 30 needed): no recommendation from this option', o.attempts)
			WHEN o.rec_option IS NULL THEN 'no option has a good-enough success rate with 30 attempts or more'
			WHEN o.option = o.rec_option THEN 'recommended: the cheapest good-enough option per success'
			WHEN NOT o.good_enough THEN pg_catalog.format('success rate %%s below the best; switch to %%s', pg_catalog.round(o.success_rate::pg_catalog.numeric, 3), o.rec_option)
			ELSE pg_catalog.format('good enough but dearer per success than %%s', o.rec_option) END AS note,
	   o.attempts_left_out
  FROM (SELECT g.*,
			   CASE WHEN pg_catalog.first_value(g.candidate) OVER w THEN pg_catalog.first_value(g.option) OVER w END AS rec_option,
			   CASE WHEN pg_catalog.first_value(g.candidate) OVER w THEN pg_catalog.first_value(g.cost_per_success) OVER w END AS rec_cps
		  FROM (SELECT c.*, (c.good_enough AND c.cost_per_success IS NOT NULL) AS candidate
				  FROM (SELECT b.*,
							   (b.sample_ok AND b.success_high >= pg_catalog.max(b.success_rate) FILTER (WHERE b.sample_ok)
									OVER (PARTITION BY b.source, b.workflow) - 1e-12) IS TRUE AS good_enough
						  FROM (SELECT a.source, a.workflow, a.option,
									   pg_catalog.count(*) FILTER (WHERE a.ok) AS attempts,
									   pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded) AS successes,
									   (pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded))::pg_catalog.float8
										   / NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok), 0) AS success_rate,
									   (@extschema@.wilson_interval(pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded),
										   NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok), 0), 0.95)).low AS success_low,
									   (@extschema@.wilson_interval(pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded),
										   NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok), 0), 0.95)).high AS success_high,
									   COALESCE(pg_catalog.sum(a.cost) FILTER (WHERE a.ok), 0) AS cost,
									   pg_catalog.round(pg_catalog.sum(a.cost) FILTER (WHERE a.ok) / NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok), 0), 12) AS cost_per_attempt,
									   pg_catalog.round(pg_catalog.sum(a.cost) FILTER (WHERE a.ok)
										   / NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded), 0), 12) AS cost_per_success,
									   pg_catalog.count(*) FILTER (WHERE a.ok) >= 30 AS sample_ok,
									   pg_catalog.count(*) FILTER (WHERE NOT a.ok) AS attempts_left_out
								  FROM (SELECT x.*, (x.cost IS NOT NULL AND x.succeeded IS NOT NULL) AS ok FROM %1$s x) a
								 GROUP BY 1, 2, 3) b) c) g
		WINDOW w AS (PARTITION BY g.source, g.workflow ORDER BY g.candidate DESC, g.cost_per_success, g.option COLLATE "C"
					 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) o$q$, v_attempts));

	-- Waste by class, long format, from tokacct.waste_by_workflow().
	res := res || jsonb_build_object('waste', format($q$
SELECT %2$L::pg_catalog.text AS source, w.workflow, c.class, c.precedence::pg_catalog.int8 AS precedence,
	   c.cost, (c.cost / NULLIF(w.total, 0))::pg_catalog.float8 AS share, w.total, w.traces, w.cost_rule
  FROM @extschema@.waste_by_workflow('%1$s'::pg_catalog.regclass) w
 CROSS JOIN LATERAL (VALUES ('essential', 0, w.essential), ('error_call', 1, w.error_call),
		('failed_attempt', 2, w.failed_attempt), ('abandoned_branch', 3, w.abandoned_branch),
		('stuck_loop', 4, w.stuck_loop), ('duplicate_tool_call', 5, w.duplicate_tool_call)) c(class, precedence, cost)$q$,
		v_spans, p_source));

	-- Context growth per workflow: context_growth() per conversation,
	-- summed.  Savings if the history carried into a call were capped at
	-- 32768 tokens.
	res := res || jsonb_build_object('context_growth', format($q$
SELECT g.source, g.workflow, pg_catalog.count(*) AS conversations,
	   pg_catalog.sum(r.calls)::pg_catalog.int8 AS calls,
	   pg_catalog.sum(r.total_input)::pg_catalog.int8 AS total_input,
	   pg_catalog.sum(r.fresh_input)::pg_catalog.int8 AS fresh_input,
	   pg_catalog.sum(r.carried_input)::pg_catalog.int8 AS carried_input,
	   (pg_catalog.sum(r.carried_input)::pg_catalog.float8 / NULLIF(pg_catalog.sum(r.total_input), 0)) AS carried_share,
	   pg_catalog.avg(r.growth_exponent) AS mean_growth_exponent,
	   pg_catalog.max(r.calls)::pg_catalog.int8 AS longest_conversation,
	   32768::pg_catalog.int8 AS history_cap,
	   pg_catalog.sum(s.saved_input)::pg_catalog.int8 AS saved_input_at_cap,
	   (pg_catalog.sum(s.saved_input)::pg_catalog.float8 / NULLIF(pg_catalog.sum(r.total_input), 0)) AS saved_share_at_cap,
	   pg_catalog.sum(g.calls_left_out)::pg_catalog.int8 AS calls_left_out
  FROM (SELECT c.source, pg_catalog.min(c.workflow) AS workflow, c.conversation_id,
			   @extschema@.context_growth(c.seq, c.input_tokens, c.output_tokens)
				   FILTER (WHERE c.input_tokens IS NOT NULL AND c.output_tokens IS NOT NULL) AS st,
			   pg_catalog.count(*) FILTER (WHERE c.input_tokens IS NULL OR c.output_tokens IS NULL) AS calls_left_out
		  FROM %1$s c GROUP BY c.source, c.conversation_id) g
  LEFT JOIN LATERAL @extschema@.context_report(g.st) r ON true
  LEFT JOIN LATERAL @extschema@.context_savings(g.st, 32768) s ON true
 GROUP BY g.source, g.workflow$q$, v_conv));

	-- Cost quantiles per workflow and option, long format.
	res := res || jsonb_build_object('cost_quantiles', format($q$
SELECT q.source, q.workflow, q.option, v.quantile, @extschema@.cost_quantile(q.sketch, v.quantile) AS cost, q.items
  FROM (SELECT i.source, i.workflow, i.option, @extschema@.cost_sketch(i.ai_cost) AS sketch, pg_catalog.count(*) AS items
		  FROM %1$s i WHERE i.ai_cost IS NOT NULL
		 GROUP BY 1, 2, 3) q
 CROSS JOIN (VALUES (0.5::pg_catalog.float8), (0.9), (0.95), (0.99)) v(quantile)$q$, v_items));

	-- Utility frontier per workflow over the items (cost: AI plus human fix).
	res := res || jsonb_build_object('frontier', format($q$
SELECT f.source, f.workflow, o.option, o.items, o.mean_cost, o.mean_value, o.on_frontier,
	   o.frontier_rank::pg_catalog.int8 AS frontier_rank, o.marginal_utility,
	   pg_catalog.array_to_string(o.dominated_by, ', ') AS dominated_by
  FROM (SELECT i.source, i.workflow,
			   @extschema@.utility_frontier(COALESCE(i.option, '(none)'), i.ai_cost + COALESCE(i.human_fix_cost, 0), i.value) AS st
		  FROM %1$s i WHERE i.ai_cost IS NOT NULL AND i.value IS NOT NULL AND i.workflow IS NOT NULL
		 GROUP BY 1, 2) f
 CROSS JOIN LATERAL @extschema@.frontier_options(f.st) o$q$, v_items));

	-- The allocation of the budget kept in tokacct.allocation_budget.
	res := res || jsonb_build_object('allocation', format($q$
SELECT b.source, b.budget, p.workflow, p.option, p.items, p.share, p.spend, p.value,
	   s.shadow_price, s.feasible, d.decision
  FROM @extschema@.allocation_budget b
 CROSS JOIN LATERAL (SELECT pg_catalog.array_agg(ROW(f.workflow, f.option, f.mean_cost, f.mean_value, t.items,
						f.option = t.current_option)::@extschema@.allocation_option ORDER BY f.workflow, f.option) AS opts
					   FROM (SELECT i.workflow, 'leave undone' AS option, 0::pg_catalog.numeric AS mean_cost, 0::pg_catalog.numeric AS mean_value
							   FROM %1$s i WHERE i.ai_cost IS NOT NULL AND i.value IS NOT NULL AND i.workflow IS NOT NULL
							  GROUP BY 1
							  UNION ALL
							 SELECT i.workflow, COALESCE(i.option, '(none)') AS option,
									pg_catalog.round(pg_catalog.avg(i.ai_cost + COALESCE(i.human_fix_cost, 0)), 12) AS mean_cost,
									pg_catalog.round(pg_catalog.avg(i.value), 12) AS mean_value
							   FROM %1$s i WHERE i.ai_cost IS NOT NULL AND i.value IS NOT NULL AND i.workflow IS NOT NULL
							  GROUP BY 1, 2) f
					   JOIN (SELECT i.workflow, pg_catalog.count(*) AS items,
									pg_catalog.mode() WITHIN GROUP (ORDER BY COALESCE(i.option, '(none)')) AS current_option
							   FROM %1$s i WHERE i.ai_cost IS NOT NULL AND i.value IS NOT NULL AND i.workflow IS NOT NULL
							  GROUP BY 1) t ON t.workflow = f.workflow) o
 CROSS JOIN LATERAL @extschema@.allocation_summary(b.budget, o.opts) s
 CROSS JOIN LATERAL @extschema@.allocate(b.budget, o.opts) p
  LEFT JOIN LATERAL (SELECT pg_catalog.string_agg(x.decision, '; ') AS decision
					   FROM @extschema@.allocation_decisions(b.budget, o.opts) x WHERE x.workflow = p.workflow) d ON true
 WHERE b.source = %2$L AND o.opts IS NOT NULL$q$, v_items, p_source));

	-- Calls no catalog can price.
	res := res || jsonb_build_object('unpriced_models', format($q$
SELECT c.source, c.price_provider AS provider, c.price_model AS model, pg_catalog.count(*) AS calls,
	   pg_catalog.min(c.started_at) AS first_call, pg_catalog.max(c.started_at) AS last_call,
	   pg_catalog.sum(c.input_tokens)::pg_catalog.int8 AS input_tokens, pg_catalog.sum(c.output_tokens)::pg_catalog.int8 AS output_tokens,
	   pg_catalog.count(*) FILTER (WHERE c.cost IS NOT NULL) AS calls_with_reported_cost
  FROM %1$s c
 WHERE c.list_cost IS NULL AND c.problem LIKE 'no catalog price%%'
 GROUP BY 1, 2, 3$q$, v_calls));

	-- Problems, counted by level and reason.
	res := res || jsonb_build_object('problem_summary', format($q$
SELECT p.source, p.level, p.reason, pg_catalog.count(*) AS rows,
	   pg_catalog.count(DISTINCT p.trace_id) AS traces, pg_catalog.min(p.trace_id) AS example_trace_id
  FROM %1$s p GROUP BY 1, 2, 3$q$, v_problems));

	-- FOCUS 1.2 cost export: one row per priced call (data/focus/).
	res := res || jsonb_build_object('focus', format($q$
SELECT c.cost AS "BilledCost",
	   c.source AS "BillingAccountId",
	   c.source AS "BillingAccountName",
	   'USD'::pg_catalog.text AS "BillingCurrency",
	   pg_catalog.timezone('UTC', pg_catalog.date_trunc('month', pg_catalog.timezone('UTC', c.started_at))) AS "BillingPeriodStart",
	   pg_catalog.timezone('UTC', pg_catalog.date_trunc('month', pg_catalog.timezone('UTC', c.started_at)) + '1 month'::pg_catalog.interval) AS "BillingPeriodEnd",
	   'Usage'::pg_catalog.text AS "ChargeCategory",
	   NULL::pg_catalog.text AS "ChargeClass",
	   pg_catalog.format('%%s tokens of %%s (%%s in, %%s out)', c.input_tokens + c.output_tokens, c.price_model, c.input_tokens, c.output_tokens) AS "ChargeDescription",
	   'Usage-Based'::pg_catalog.text AS "ChargeFrequency",
	   c.started_at AS "ChargePeriodStart",
	   GREATEST(COALESCE(c.ended_at, c.started_at), c.started_at) AS "ChargePeriodEnd",
	   (c.input_tokens + c.output_tokens)::pg_catalog.numeric AS "ConsumedQuantity",
	   'Tokens'::pg_catalog.text AS "ConsumedUnit",
	   c.cost AS "ContractedCost",
	   c.cost AS "EffectiveCost",
	   c.price_provider AS "InvoiceIssuerName",
	   COALESCE(c.list_cost, c.cost) AS "ListCost",
	   'Standard'::pg_catalog.text AS "PricingCategory",
	   (c.input_tokens + c.output_tokens)::pg_catalog.numeric AS "PricingQuantity",
	   'Tokens'::pg_catalog.text AS "PricingUnit",
	   c.price_provider AS "ProviderName",
	   c.price_provider AS "PublisherName",
	   c.trace_id AS "ResourceId",
	   c.workflow AS "ResourceName",
	   'Agent trace'::pg_catalog.text AS "ResourceType",
	   'AI and Machine Learning'::pg_catalog.text AS "ServiceCategory",
	   c.price_provider AS "ServiceName",
	   'Generative AI'::pg_catalog.text AS "ServiceSubcategory",
	   c.price_model AS "SkuId",
	   c.workflow AS "SubAccountId",
	   c.workflow AS "SubAccountName",
	   pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('tokacct:workflow', c.workflow, 'tokacct:item', c.item,
		   'tokacct:attempt', c.attempt, 'tokacct:model', c.model, 'tokacct:cost_source', c.cost_source,
		   'tokacct:span_id', c.span_id))::pg_catalog.text AS "Tags"
  FROM %1$s c
 WHERE c.cost IS NOT NULL AND c.input_tokens IS NOT NULL AND c.output_tokens IS NOT NULL$q$, v_calls));
	RETURN res;
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_bi_sql(pg_catalog.text, pg_catalog.name, pg_catalog.text) IS
	'the SQL of the BI views of an attached source (economics, segments, routing, waste, context growth, cost quantiles, frontier, allocation, unpriced models, problem summary, FOCUS), over its base views';

-- The comments of the BI views and their columns (Metabase shows them).
CREATE FUNCTION @extschema@.attach_bi_comments() RETURNS pg_catalog.jsonb
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
SELECT $j${
 "economics": {
  "source": "name of the attached source",
  "workflow": "workflow",
  "period_start": "first day of the period (UTC); an item counts in the period its first attempt started",
  "items": "items counted (AI cost and success known)",
  "solved": "items the AI solved",
  "solve_rate": "solved / items",
  "p1": "first-try success: share of the items whose first attempt succeeded",
  "attempts_per_item": "attempts / items",
  "attempts": "attempts of the items counted",
  "ai_cost": "AI cost of every attempt of the items, retries included (USD)",
  "human_fix_cost": "cost of the human fixes of the items the AI did not solve (tokacct.baseline; USD)",
  "ai_cost_per_solved": "AI cost / solved items, retries included (USD)",
  "cost_per_solved": "(AI cost + human fix cost) / solved items (USD)",
  "cost_per_item": "all-in cost per item: (AI cost + human fix cost) / items, what the agent costs against the BPO price (USD)",
  "bpo_unit_price": "BPO price per item of the baseline in force (mean over the items; USD)",
  "saving_per_unit": "bpo_unit_price - cost_per_item: what each item saves with the agent (negative: the agent is dearer)",
  "break_even_p1": "first-try success at which the mean attempt cost / p equals the BPO price (tokacct.break_even_p); NULL when no rate gets there",
  "retry_share": "share of the AI cost spent on attempts that failed",
  "tail_ratio": "p95 / p50 of the AI cost per item (tokacct.tail_ratio)",
  "waste_share": "share of the traces' cost classified as waste (as tokacct.waste_by_trace classifies it; a trace with an odd span left out), traces by the start of their item",
  "items_left_out": "items left out: AI cost or success unknown (see the problems view)",
  "items_left_out_share": "items left out / all items of the period",
  "calls_left_out": "calls left out of the cost",
  "calls_left_out_share": "calls left out / all calls of the period's items"
 },
 "segments": {
  "": "where the economics break: per workflow and segment of items (option segment of the attach call), the all-in cost per item with the agent against the BPO price; the segments where the agent loses ranked by money at stake, each with a sentence",
  "source": "name of the attached source",
  "workflow": "workflow",
  "segment": "segment of the items (NULL: items without one)",
  "items": "items counted (AI cost and success known)",
  "solved": "items the AI solved",
  "p1": "first-try success rate",
  "attempts_per_item": "attempts / items",
  "ai_cost": "AI cost, retries included (USD)",
  "human_fix_cost": "human fixes of the items the AI did not solve (USD)",
  "ai_cost_per_solved": "AI cost / solved items (USD)",
  "cost_per_item": "(AI cost + human fix cost) / items (USD)",
  "bpo_unit_price": "BPO price per item (mean over the items; USD)",
  "saving_per_unit": "bpo_unit_price - cost_per_item (negative: the agent is dearer)",
  "retry_share": "share of the AI cost spent on failed attempts",
  "money_at_stake": "(AI cost + human fixes) - what the BPO would charge for the same items (USD); positive where the agent loses",
  "agent_loses": "the agent costs more than the BPO on these items",
  "loss_rank": "1 for the losing segment with the most money at stake, 2, ...; NULL where the agent wins",
  "items_left_out": "items left out: AI cost or success unknown",
  "sentence": "the finding in business words; NULL without a baseline"
 },
 "routing": {
  "": "model routing per workflow and option (models): success rate with its 95% Wilson interval, cost per success, and the cheapest good-enough option: at least 30 attempts and a Wilson upper bound reaching the best success rate among options with 30 attempts or more; no recommendation from fewer",
  "source": "name of the attached source",
  "workflow": "workflow",
  "option": "option (as the source names it, else the models of the attempt)",
  "attempts": "attempts counted (cost and success known): the sample size",
  "successes": "attempts that succeeded",
  "success_rate": "successes / attempts",
  "success_low": "lower bound of the Wilson interval of the success rate",
  "success_high": "upper bound of the Wilson interval",
  "confidence": "confidence of the interval (0.95)",
  "min_sample": "attempts an option needs before it can be recommended (30)",
  "cost": "cost of the attempts (USD)",
  "cost_per_attempt": "cost / attempts (USD)",
  "cost_per_success": "cost / successes (USD); NULL without a success",
  "sample_ok": "at least min_sample attempts",
  "good_enough": "sample_ok and success_high reaches the best success rate of the workflow's options with enough samples",
  "recommended_option": "the good-enough option with the lowest cost per success in the workflow; NULL when none",
  "projected_saving": "successes x (cost_per_success - the recommended option's), had these successes come from the recommended option (USD)",
  "note": "the decision in words",
  "attempts_left_out": "attempts left out: cost or success unknown"
 },
 "waste": {
  "": "trace waste by class per workflow (as tokacct.waste_by_workflow over the spans view; a trace with an odd span left out), one row per class",
  "source": "name of the attached source",
  "workflow": "workflow",
  "class": "essential, error_call, failed_attempt, abandoned_branch, stuck_loop or duplicate_tool_call",
  "precedence": "order in which a span is tested against the classes (0 essential)",
  "cost": "cost attributed to the class (USD); the classes sum to total",
  "share": "cost / total",
  "total": "cost of the workflow's traces (USD)",
  "traces": "traces",
  "cost_rule": "how a span's cost is counted (leaf: a parent's rolled-up cost is not added again)"
 },
 "context_growth": {
  "": "context growth per workflow: input re-sent from earlier turns, the growth exponent, and the input saved if the history carried into a call were capped at 32768 tokens (tokacct.context_growth per conversation)",
  "source": "name of the attached source",
  "workflow": "workflow",
  "conversations": "conversations",
  "calls": "calls counted",
  "total_input": "input tokens",
  "fresh_input": "input tokens that were new",
  "carried_input": "input tokens re-sent from earlier turns",
  "carried_share": "carried_input / total_input",
  "mean_growth_exponent": "mean over conversations of the growth exponent (1 linear, 2 quadratic)",
  "longest_conversation": "most calls in a conversation",
  "history_cap": "history cap of the savings figures (tokens)",
  "saved_input_at_cap": "input tokens saved with the history capped at history_cap",
  "saved_share_at_cap": "saved_input_at_cap / total_input",
  "calls_left_out": "calls left out: token counts unusable"
 },
 "cost_quantiles": {
  "": "quantiles of the AI cost per item per workflow and option, long format (tokacct.cost_sketch: within 1% relative error)",
  "source": "name of the attached source",
  "workflow": "workflow",
  "option": "option(s) of the items",
  "quantile": "0.5, 0.9, 0.95 or 0.99",
  "cost": "AI cost per item at the quantile (USD)",
  "items": "items with a known AI cost"
 },
 "frontier": {
  "": "utility frontier per workflow over the items: mean cost (AI + human fix) and mean value per option, which options are on the frontier, the marginal utility (value per extra dollar) and what dominates the others",
  "source": "name of the attached source",
  "workflow": "workflow",
  "option": "option",
  "items": "items",
  "mean_cost": "mean cost per item, AI and human fix (USD)",
  "mean_value": "mean value per item (tokacct.baseline: the BPO price, less the human fix when unsolved; USD)",
  "on_frontier": "on the efficient frontier",
  "frontier_rank": "place on the frontier from the cheapest (1); NULL when dominated",
  "marginal_utility": "value per extra dollar moving to this option from the previous one on the frontier",
  "dominated_by": "options that dominate this one (comma-separated)"
 },
 "allocation": {
  "": "the allocation of the budget in tokacct.allocation_budget over the workflows (tokacct.allocate over each workflow''s options at its volume of items, plus \"leave undone\" at no cost and no value; the current option is the most used)",
  "source": "name of the attached source",
  "budget": "budget (USD)",
  "workflow": "workflow",
  "option": "option chosen",
  "items": "items given to the option",
  "share": "share of the workflow's items",
  "spend": "spend on them (USD)",
  "value": "their value (USD)",
  "shadow_price": "value of one more dollar of budget",
  "feasible": "the budget covers the cheapest plan",
  "decision": "the decision for the workflow in words"
 },
 "unpriced_models": {
  "": "models of the calls that no catalog can price, per provider and model",
  "source": "name of the attached source",
  "provider": "provider as priced (after the aliases)",
  "model": "model as priced (after the aliases)",
  "calls": "calls",
  "first_call": "first call",
  "last_call": "last call",
  "input_tokens": "input tokens",
  "output_tokens": "output tokens",
  "calls_with_reported_cost": "calls counted at the cost they reported anyway"
 },
 "problem_summary": {
  "": "the problems view counted per level and reason",
  "source": "name of the attached source",
  "level": "call, span or trace",
  "reason": "reason",
  "rows": "rows with this reason",
  "traces": "traces concerned",
  "example_trace_id": "one of them"
 },
 "focus": {
  "": "FOCUS 1.2 cost export: one row per priced call, in the columns of the FinOps Open Cost and Usage Specification (data/focus/)",
  "BilledCost": "the call's cost (reported cost when there is one, else the list price; USD)",
  "BillingAccountId": "the attached source",
  "BillingAccountName": "the attached source",
  "BillingCurrency": "USD",
  "BillingPeriodStart": "first instant of the call's month (UTC)",
  "BillingPeriodEnd": "first instant of the next month (UTC, exclusive)",
  "ChargeCategory": "Usage",
  "ChargeClass": "NULL (no correction)",
  "ChargeDescription": "the tokens and the model",
  "ChargeFrequency": "Usage-Based",
  "ChargePeriodStart": "start of the call",
  "ChargePeriodEnd": "end of the call",
  "ConsumedQuantity": "input + output tokens",
  "ConsumedUnit": "Tokens",
  "ContractedCost": "the call's cost (USD)",
  "EffectiveCost": "the call's cost (USD)",
  "InvoiceIssuerName": "provider as priced",
  "ListCost": "catalog list price (the cost when no list price applies; USD)",
  "PricingCategory": "Standard",
  "PricingQuantity": "input + output tokens",
  "PricingUnit": "Tokens",
  "ProviderName": "provider as priced",
  "PublisherName": "provider as priced",
  "ResourceId": "trace of the call",
  "ResourceName": "workflow of the call",
  "ResourceType": "Agent trace",
  "ServiceCategory": "AI and Machine Learning",
  "ServiceName": "provider as priced",
  "ServiceSubcategory": "Generative AI",
  "SkuId": "model as priced",
  "SubAccountId": "workflow",
  "SubAccountName": "workflow",
  "Tags": "JSON object: tokacct:workflow, tokacct:item, tokacct:attempt, tokacct:model, tokacct:cost_source, tokacct:span_id"
 }
}$j$::pg_catalog.jsonb
   || pg_catalog.jsonb_build_object(
	'economics_daily', $j${"": "workflow economics per day (UTC): items, solved, first-try success, attempts per item, AI and human fix cost, cost per solved item and per item against the BPO price, break-even first-try success, retry share, tail ratio, waste share, rows left out"}$j$::pg_catalog.jsonb,
	'economics_weekly', $j${"": "workflow economics per week (UTC, from Monday): the columns of economics_daily"}$j$::pg_catalog.jsonb,
	'economics_monthly', $j${"": "workflow economics per month (UTC): the columns of economics_daily"}$j$::pg_catalog.jsonb)
$fn$;
COMMENT ON FUNCTION @extschema@.attach_bi_comments() IS 'the comments given to the BI views of an attached source and their columns';


-- BI views (h-bi): grant_reader also grants the attached sources' views
CREATE OR REPLACE PROCEDURE @extschema@.grant_reader(role pg_catalog.regrole)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	v pg_catalog.text;
BEGIN
	IF role IS NULL THEN
		RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT pg_catalog.pg_has_role(CURRENT_USER,
			(SELECT nspowner FROM pg_catalog.pg_namespace
			  WHERE nspname OPERATOR(pg_catalog.=) '@extschema@'), 'MEMBER') THEN
		RAISE EXCEPTION 'only the owner of schema @extschema@ can grant access to it'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Run this as the role that created the extension, or a superuser.';
	END IF;
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO %s', '@extschema@', role);
	EXECUTE pg_catalog.format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %s', '@extschema@', role);
	-- the views of the sources attached so far (call again after attaching)
	FOR v IN SELECT DISTINCT a.view_schema FROM @extschema@.attachment a LOOP
		EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO %s', v, role);
	END LOOP;
	FOR v IN SELECT pg_catalog.unnest(a.views) FROM @extschema@.attachment a LOOP
		EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s', v, role);
	END LOOP;
END
$fn$;
COMMENT ON PROCEDURE @extschema@.grant_reader(pg_catalog.regrole) IS
	'let a role read tokacct''s catalogs, ledger and views, and the views of every attached source (for analysts and BI tools; call again after attaching a source)';



-- catalog_differences: the catalogs' disagreements at today's prices as a view
-- The same at today's prices, as a view a BI tool lists: every difference.
CREATE VIEW @extschema@.catalog_differences WITH (security_invoker = true) AS
SELECT d.provider, d.model, d.litellm_provider, d.litellm_model, d.kind, d.above_tokens,
	   d.genai_mtok, d.litellm_mtok, d.disagreement
  FROM @extschema@.catalog_disagreements(0::pg_catalog.numeric, pg_catalog.now()) d;
COMMENT ON VIEW @extschema@.catalog_differences IS
	'where genai-prices and LiteLLM disagree at the prices in force now: a price kind or context tier one of them lacks, or any difference of price (catalog_disagreements(threshold, at) for a threshold or another time)';
COMMENT ON COLUMN @extschema@.catalog_differences.provider IS 'genai-prices provider of the model';
COMMENT ON COLUMN @extschema@.catalog_differences.model IS 'genai-prices model the LiteLLM entry resolves to';
COMMENT ON COLUMN @extschema@.catalog_differences.litellm_provider IS 'LiteLLM provider of the entry';
COMMENT ON COLUMN @extschema@.catalog_differences.litellm_model IS 'LiteLLM model of the entry';
COMMENT ON COLUMN @extschema@.catalog_differences.kind IS 'price kind (input, output, cache_read, ...)';
COMMENT ON COLUMN @extschema@.catalog_differences.above_tokens IS '0: the base price; else the price of a request above this many input tokens';
COMMENT ON COLUMN @extschema@.catalog_differences.genai_mtok IS 'genai-prices price per million tokens (NULL when it has none of that kind)';
COMMENT ON COLUMN @extschema@.catalog_differences.litellm_mtok IS 'LiteLLM price per million tokens (NULL when it has none of that kind)';
COMMENT ON COLUMN @extschema@.catalog_differences.disagreement IS 'what differs: prices differ, only one catalog prices this kind, or only one has this context tier';

-- ---------------------------------------------------------------------------
-- pg_dump keeps the ledger and the id sequences: the ledger (price_call) is
-- the user's data, and an identity column's sequence is dumped with its
-- table, so that rows added after a restore do not reuse restored ids.
-- ---------------------------------------------------------------------------
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_price_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_call', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_call_call_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_catalog_choice_choice_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.budget_budget_id_seq', '');

-- A ledger row applied by logical replication is stamped with this
-- cluster's transaction: the ingest trigger fires in replica mode too.
ALTER TABLE @extschema@.price_call ENABLE ALWAYS TRIGGER price_call_ingest;


-- ---------------------------------------------------------------------------
-- Rollups of attached sources (issue 15, h-rollup): the same objects as
-- sql/install/72_rollup_source.sql and 76_rollup_source_track.sql.
-- ---------------------------------------------------------------------------

-- ---------------------------------------------------------------------------
-- Rollups of an attached source (issue 15, attached sources).
--
-- tokacct.rollup_source_create('acme') defines a rollup over the calls view
-- of the attached source acme; tokacct.rollup_source_refresh('acme') keeps
-- tokacct.rollup_source_daily (per source x UTC day x workflow x model:
-- counts, exact money, tokens by kind, a cost sketch) equal to the same
-- aggregate taken directly over the calls view, without copying the calls
-- and without altering the user's tables.
--
-- How.  The calls of a trace depend on the whole trace (its workflow comes
-- from its root span), so the unit of work is the trace: each trace's
-- contribution (one row per trace x day x workflow x model) is kept in
-- tokacct.rollup_source_trace.  A refresh
--   1. takes a snapshot once it holds the source's refresh lock;
--   2. finds the traces touched since the previous refresh: those with a row
--      whose xmin (the transaction that inserted or last updated it) is not
--      older than the previous snapshot's xmin, a scan that reads only the
--      trace key and xmin of the source's tables;
--   3. recomputes those traces whole from the calls view, replaces their
--      contributions, and rebuilds the daily rows of the groups their old
--      or new contributions fall in, from the contributions;
--   4. saves the snapshot in the same transaction.
-- Every transaction that was still running at the previous snapshot, or
-- began after it, has an id at least that snapshot's xmin (a
-- subtransaction's id is above its parent's), so no row is missed: late
-- spans of an old trace, a trace whose spans arrive in several
-- transactions, rows of a transaction open during the previous refresh.  A
-- trace recomputed twice is replaced, never added twice, so a refresh that
-- takes more than it needs (rows the previous one had seen already) costs
-- time, not exactness.  A refresh that dies leaves everything as it was.
--
-- Deleted rows leave no row to see: a trace whose spans are deleted keeps
-- its contribution until a row of it is inserted or updated again, or until
-- tokacct.rollup_source_rebuild().  The refresh after 2^31 transactions
-- without one (or more: xmin is 32 bits) recomputes everything.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.rollup_source (
	source pg_catalog.text PRIMARY KEY,
	snapshot pg_catalog.pg_snapshot,
	runs pg_catalog.int8 NOT NULL DEFAULT 0,
	created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	last_run_at pg_catalog.timestamptz,
	last_full pg_catalog.bool,
	last_traces pg_catalog.int8,
	last_groups pg_catalog.int8,
	last_duration pg_catalog.interval
);
COMMENT ON TABLE @extschema@.rollup_source IS
	'attached sources rolled up into tokacct.rollup_source_daily (tokacct.rollup_source_create()), and how far tokacct.rollup_source_refresh() has counted each, saved with the rollup rows in one transaction';
COMMENT ON COLUMN @extschema@.rollup_source.source IS 'the attached source (tokacct.attachment)';
COMMENT ON COLUMN @extschema@.rollup_source.snapshot IS 'snapshot of the last refresh: rows of transactions from its xmin on are looked at again by the next (NULL: never refreshed, the next refresh counts everything)';
COMMENT ON COLUMN @extschema@.rollup_source.runs IS 'refreshes committed';
COMMENT ON COLUMN @extschema@.rollup_source.created_at IS 'when the rollup was defined';
COMMENT ON COLUMN @extschema@.rollup_source.last_run_at IS 'start of the last refresh';
COMMENT ON COLUMN @extschema@.rollup_source.last_full IS 'the last refresh counted every trace (the first, a rebuild, or after 2^31 transactions)';
COMMENT ON COLUMN @extschema@.rollup_source.last_traces IS 'traces the last refresh recomputed';
COMMENT ON COLUMN @extschema@.rollup_source.last_groups IS 'day x workflow x model rows the last refresh rebuilt';
COMMENT ON COLUMN @extschema@.rollup_source.last_duration IS 'how long the last refresh took';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rollup_source', '');

CREATE TABLE @extschema@.rollup_source_trace (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	trace_id pg_catalog.text,
	day pg_catalog.date,
	workflow pg_catalog.text,
	model pg_catalog.text,
	calls pg_catalog.int8 NOT NULL,
	calls_left_out pg_catalog.int8 NOT NULL,
	input_tokens pg_catalog.numeric NOT NULL,
	output_tokens pg_catalog.numeric NOT NULL,
	cache_read_tokens pg_catalog.numeric NOT NULL,
	cache_write_tokens pg_catalog.numeric NOT NULL,
	reasoning_tokens pg_catalog.numeric NOT NULL,
	cost pg_catalog.numeric NOT NULL,
	reported_cost pg_catalog.numeric NOT NULL,
	list_cost pg_catalog.numeric NOT NULL,
	cost_sketch @extschema@.sketch_state
);
CREATE UNIQUE INDEX rollup_source_trace_key ON @extschema@.rollup_source_trace
	(source, trace_id, day, workflow, model) NULLS NOT DISTINCT;
CREATE INDEX rollup_source_trace_group ON @extschema@.rollup_source_trace (source, day, workflow, model);
COMMENT ON TABLE @extschema@.rollup_source_trace IS
	'what each trace of an attached source adds to tokacct.rollup_source_daily (one row per trace x day x workflow x model), so a refresh can replace a trace''s contribution when the trace changes';
COMMENT ON COLUMN @extschema@.rollup_source_trace.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_trace.trace_id IS 'the trace (NULL: the calls without a trace id, taken as one trace)';
COMMENT ON COLUMN @extschema@.rollup_source_trace.day IS 'UTC day of the calls (their started_at)';
COMMENT ON COLUMN @extschema@.rollup_source_trace.workflow IS 'workflow of the trace';
COMMENT ON COLUMN @extschema@.rollup_source_trace.model IS 'model of the calls';
COMMENT ON COLUMN @extschema@.rollup_source_trace.calls IS 'calls';
COMMENT ON COLUMN @extschema@.rollup_source_trace.calls_left_out IS 'calls left out of the money (cost NULL in the calls view)';
COMMENT ON COLUMN @extschema@.rollup_source_trace.input_tokens IS 'input tokens';
COMMENT ON COLUMN @extschema@.rollup_source_trace.output_tokens IS 'output tokens';
COMMENT ON COLUMN @extschema@.rollup_source_trace.cache_read_tokens IS 'cache read tokens';
COMMENT ON COLUMN @extschema@.rollup_source_trace.cache_write_tokens IS 'cache write tokens';
COMMENT ON COLUMN @extschema@.rollup_source_trace.reasoning_tokens IS 'reasoning tokens';
COMMENT ON COLUMN @extschema@.rollup_source_trace.cost IS 'exact cost of the counted calls';
COMMENT ON COLUMN @extschema@.rollup_source_trace.reported_cost IS 'the part of cost the trace reported';
COMMENT ON COLUMN @extschema@.rollup_source_trace.list_cost IS 'catalog list price of the calls the catalog prices';
COMMENT ON COLUMN @extschema@.rollup_source_trace.cost_sketch IS 'cost_sketch() of the counted calls'' costs (NULL when none)';

CREATE TABLE @extschema@.rollup_source_daily (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	day pg_catalog.date,
	workflow pg_catalog.text,
	model pg_catalog.text,
	traces pg_catalog.int8 NOT NULL,
	calls pg_catalog.int8 NOT NULL,
	calls_left_out pg_catalog.int8 NOT NULL,
	input_tokens pg_catalog.numeric NOT NULL,
	output_tokens pg_catalog.numeric NOT NULL,
	cache_read_tokens pg_catalog.numeric NOT NULL,
	cache_write_tokens pg_catalog.numeric NOT NULL,
	reasoning_tokens pg_catalog.numeric NOT NULL,
	cost pg_catalog.numeric NOT NULL,
	reported_cost pg_catalog.numeric NOT NULL,
	list_cost pg_catalog.numeric NOT NULL,
	cost_sketch @extschema@.sketch_state,
	updated_at pg_catalog.timestamptz NOT NULL
) WITH (toast_tuple_target = 8160);
-- toast_tuple_target: as for rollup_daily, a refresh does not compress a
-- row's sketch again at every update.
CREATE UNIQUE INDEX rollup_source_daily_key ON @extschema@.rollup_source_daily (source, day, workflow, model) NULLS NOT DISTINCT;
COMMENT ON TABLE @extschema@.rollup_source_daily IS
	'the calls view of each attached source with a rollup, per UTC day x workflow x model, kept by tokacct.rollup_source_refresh(): counts, exact money, tokens by kind and a cost sketch; equal to the same aggregate over the view as of the last refresh; sum or merge rows for any longer period';
COMMENT ON COLUMN @extschema@.rollup_source_daily.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_daily.day IS 'UTC day of the calls (their started_at; NULL when a call has none)';
COMMENT ON COLUMN @extschema@.rollup_source_daily.workflow IS 'workflow of the calls'' traces (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_daily.model IS 'model as the calls report it (the calls view''s model)';
COMMENT ON COLUMN @extschema@.rollup_source_daily.traces IS 'traces with calls in the row';
COMMENT ON COLUMN @extschema@.rollup_source_daily.calls IS 'calls';
COMMENT ON COLUMN @extschema@.rollup_source_daily.calls_left_out IS 'calls left out of the money (their problem is in the source''s problems view): in calls and the token counts, not in the money';
COMMENT ON COLUMN @extschema@.rollup_source_daily.input_tokens IS 'input tokens, cache reads and writes included';
COMMENT ON COLUMN @extschema@.rollup_source_daily.output_tokens IS 'output tokens, reasoning included';
COMMENT ON COLUMN @extschema@.rollup_source_daily.cache_read_tokens IS 'input tokens read from the cache';
COMMENT ON COLUMN @extschema@.rollup_source_daily.cache_write_tokens IS 'input tokens written to the cache';
COMMENT ON COLUMN @extschema@.rollup_source_daily.reasoning_tokens IS 'output tokens spent on reasoning';
COMMENT ON COLUMN @extschema@.rollup_source_daily.cost IS 'exact cost of the counted calls, USD (the calls view''s cost)';
COMMENT ON COLUMN @extschema@.rollup_source_daily.reported_cost IS 'the part of cost the traces reported';
COMMENT ON COLUMN @extschema@.rollup_source_daily.list_cost IS 'catalog list price of the calls the catalog prices';
COMMENT ON COLUMN @extschema@.rollup_source_daily.cost_sketch IS 'cost_sketch() of the counted calls'' costs (NULL when none); tokacct.merge() merges days';
COMMENT ON COLUMN @extschema@.rollup_source_daily.updated_at IS 'when a refresh last rebuilt the row';

-- The SQL of a query listing the trace ids of every row of the source's
-- tables whose transaction id (xmin) is lo or newer (every row when lo is
-- NULL): a union over the tables, each
-- read for its trace key and xmin only.  Sources whose trace key is a
-- column: otel (its trace_id column) and langfuse (observations, traces,
-- scores).
CREATE FUNCTION @extschema@.rollup_source_keys(source pg_catalog.text, lo pg_catalog.int8)
	RETURNS pg_catalog.text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	a @extschema@.attachment%ROWTYPE;
	parts text[] := '{}';
	rel regclass;
	col text;
	i int;
	cond text;
BEGIN
	SELECT * INTO a FROM @extschema@.attachment t WHERE t.source = rollup_source_keys.source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'source "%" is not attached', source
			USING ERRCODE = 'undefined_object',
				  HINT = 'Attach it again (tokacct.attach_otel(), attach_langfuse()), or drop its rollup with tokacct.rollup_source_drop().';
	END IF;
	-- xmin is 32 bits: its age against the query's snapshot, modulo 2^32
	cond := CASE WHEN lo IS NULL THEN 'true' ELSE
		'((s.ref32 OPERATOR(pg_catalog.-) r.xmin::pg_catalog.text::pg_catalog.int8 OPERATOR(pg_catalog.+) 4294967296) '
		'OPERATOR(pg_catalog.%) 4294967296) OPERATOR(pg_catalog.<=) s.age' END;
	FOR i IN 1 .. array_length(a.relations, 1) LOOP
		rel := a.relations[i];
		IF a.kind = 'otel' THEN
			col := coalesce(a.options -> 'columns' ->> 'trace_id', 'TraceId');
		ELSIF a.kind = 'langfuse' THEN
			-- attach_langfuse stores observations, traces[, scores]
			col := CASE i WHEN 2 THEN 'id' ELSE 'trace_id' END;
		ELSE
			RAISE EXCEPTION 'a rollup of source "%" is not supported: its kind is %', source, a.kind
				USING ERRCODE = 'feature_not_supported',
					  DETAIL = 'A refresh finds the traces touched since the last one by a column holding the trace id; sources of kind otel and langfuse have one.',
					  HINT = 'Aggregate its calls view directly.';
		END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = rel AND c.relkind IN ('r', 'p')) THEN
			RAISE EXCEPTION 'a rollup of source "%" needs tables: % is not one', source, rel
				USING ERRCODE = 'feature_not_supported',
					  DETAIL = 'A refresh finds the rows written since the last one by their xmin, which only tables have.',
					  HINT = 'Aggregate its calls view directly.';
		END IF;
		-- read as every caller-named relation is (the trace key only)
		PERFORM @extschema@.source_check(rel, ARRAY[col], ARRAY['id']);
		parts := parts || format('SELECT %s AS trace_id FROM %s r WHERE %s',
			@extschema@.attach_column(rel, col, 'text', 'trace id'), rel, cond);
	END LOOP;
	-- ref: the xmax of the scan's own snapshot (every row it sees is older);
	-- age: how much older than ref the oldest transaction to look at is
	RETURN format('SELECT DISTINCT k.trace_id FROM (SELECT x.ref OPERATOR(pg_catalog.%%) 4294967296 AS ref32, '
		'x.ref OPERATOR(pg_catalog.-) %s AS age FROM (SELECT pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())'
		'::pg_catalog.text::pg_catalog.int8 AS ref) x) s, LATERAL (%s) k',
		coalesce(lo::text, '0'), array_to_string(parts, ' UNION ALL '));
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_keys(pg_catalog.text, pg_catalog.int8) IS
	'step of rollup_source_refresh(): the SQL listing the traces of a source with rows written by transaction lo or later (every trace when NULL)';

-- Recompute the traces of the source listed in traces (every trace when
-- NULL) from its calls view, replace their contributions and rebuild the
-- daily rows they touch; returns the traces recomputed and the rows rebuilt.
CREATE FUNCTION @extschema@.rollup_source_apply(source pg_catalog.text, traces pg_catalog.text[],
	OUT traces_done pg_catalog.int8, OUT groups_done pg_catalog.int8)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	a @extschema@.attachment%ROWTYPE;
	calls_view text;
	-- a group's key, NULLs told apart from every value
	gkey text := 'pg_catalog.concat_ws(pg_catalog.chr(31), pg_catalog.quote_nullable(%1$s.day), '
				 'pg_catalog.quote_nullable(%1$s.workflow), pg_catalog.quote_nullable(%1$s.model))';
BEGIN
	SELECT * INTO a FROM @extschema@.attachment t WHERE t.source = rollup_source_apply.source;
	calls_view := format('%I.%I', a.view_schema, a.view_prefix || 'calls');
	IF to_regclass('pg_temp.rollup_source_groups') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_groups;
	END IF;
	CREATE TEMP TABLE rollup_source_groups (gkey text PRIMARY KEY) ON COMMIT DROP;
	-- the old contributions of the traces, and the groups they were in
	EXECUTE format($q$
	WITH old AS (
		DELETE FROM @extschema@.rollup_source_trace t
		 WHERE t.source = $1 AND ($2 IS NULL OR t.trace_id = ANY ($2)
				OR (t.trace_id IS NULL AND array_position($2, NULL::text) IS NOT NULL))
		RETURNING t.day, t.workflow, t.model
	)
	INSERT INTO pg_temp.rollup_source_groups SELECT DISTINCT %s FROM old g$q$, format(gkey, 'g'))
	USING source, traces;
	-- their new contributions, from the calls view
	EXECUTE format($q$
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_trace
		SELECT $1, c.trace_id, (c.started_at AT TIME ZONE 'UTC')::date AS day, c.workflow, c.model,
			   count(*), count(*) FILTER (WHERE c.cost IS NULL),
			   coalesce(sum(c.input_tokens), 0), coalesce(sum(c.output_tokens), 0),
			   coalesce(sum(c.cache_read_tokens), 0), coalesce(sum(c.cache_write_tokens), 0),
			   coalesce(sum(c.reasoning_tokens), 0),
			   coalesce(sum(c.cost), 0), coalesce(sum(c.cost) FILTER (WHERE c.cost_source = 'reported'), 0),
			   coalesce(sum(c.list_cost), 0), @extschema@.cost_sketch(c.cost)
		  FROM %1$s c %2$s
		 GROUP BY c.trace_id, 3, c.workflow, c.model
		RETURNING day, workflow, model
	)
	INSERT INTO pg_temp.rollup_source_groups SELECT DISTINCT %3$s FROM new g ON CONFLICT DO NOTHING$q$,
		calls_view, CASE WHEN traces IS NULL THEN '' ELSE 'WHERE c.trace_id = ANY ($2) '
			'OR (c.trace_id IS NULL AND array_position($2, NULL::text) IS NOT NULL)' END, format(gkey, 'g'))
	USING source, traces;
	traces_done := CASE WHEN traces IS NULL
		THEN (SELECT count(DISTINCT t.trace_id) FROM @extschema@.rollup_source_trace t WHERE t.source = rollup_source_apply.source)
		ELSE coalesce(array_length(traces, 1), 0) END;
	groups_done := (SELECT count(*) FROM pg_temp.rollup_source_groups);
	-- the daily rows of those groups, rebuilt from the contributions
	EXECUTE format('DELETE FROM @extschema@.rollup_source_daily d USING pg_temp.rollup_source_groups g '
		'WHERE d.source = $1 AND %s = g.gkey', format(gkey, 'd')) USING source;
	EXECUTE format($q$
	INSERT INTO @extschema@.rollup_source_daily
	SELECT $1, t.day, t.workflow, t.model, count(DISTINCT t.trace_id), sum(t.calls), sum(t.calls_left_out),
		   sum(t.input_tokens), sum(t.output_tokens), sum(t.cache_read_tokens), sum(t.cache_write_tokens),
		   sum(t.reasoning_tokens), sum(t.cost), sum(t.reported_cost), sum(t.list_cost),
		   @extschema@.merge(t.cost_sketch), statement_timestamp()
	  FROM @extschema@.rollup_source_trace t
	 WHERE t.source = $1 AND %s IN (SELECT g.gkey FROM pg_temp.rollup_source_groups g)
	 GROUP BY t.day, t.workflow, t.model$q$, format(gkey, 't')) USING source;
	DROP TABLE pg_temp.rollup_source_groups;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_apply(pg_catalog.text, pg_catalog.text[]) IS
	'step of rollup_source_refresh(): recompute some traces (all when NULL) of a source from its calls view, replace their contributions and rebuild the daily rows they touch';

-- The body of a refresh, once the caller holds the source's refresh lock.
CREATE FUNCTION @extschema@.rollup_source_run(source pg_catalog.text, full_run pg_catalog.bool)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	prev pg_snapshot;
	prev_def text;
	def text;
	cur pg_snapshot;
	dist int8;
	touched text[];
	r record;
	started timestamptz := clock_timestamp();
BEGIN
	SELECT p.snapshot, p.definition INTO prev, prev_def FROM @extschema@.rollup_source p
	 WHERE p.source = rollup_source_run.source FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'source "%" has no rollup', source
			USING ERRCODE = 'undefined_object',
				  HINT = format('Define it with CALL @extschema@.rollup_source_create(%L).', source);
	END IF;
	-- A restored database has the rollup's definition (dumped) without its
	-- traces and days (derived, not dumped) and with a snapshot of another
	-- cluster, whose ids mean nothing here: with no trace stored, count
	-- everything (cheap when the source was empty at the last refresh).
	IF prev IS NOT NULL AND NOT EXISTS (SELECT 1 FROM @extschema@.rollup_source_trace t
										 WHERE t.source = rollup_source_run.source) THEN
		prev := NULL;
	END IF;
	-- taken once the lock is held and before the scan: every row the scan
	-- misses belongs to a transaction at least as new as cur's xmin
	cur := pg_current_snapshot();
	-- The views the refresh reads: a source attached again with other
	-- options or columns counts otherwise with no row written, so its
	-- every trace is counted again.  (Read after cur: the views read later
	-- are at least as new; a source attached again meanwhile is counted
	-- again by the next refresh.)
	def := (SELECT a.definition FROM @extschema@.attachment a WHERE a.source = rollup_source_run.source);
	IF NOT full_run AND prev IS NOT NULL AND prev_def IS NOT DISTINCT FROM def THEN
		dist := pg_snapshot_xmax(cur)::text::int8 - pg_snapshot_xmin(prev)::text::int8;
		IF dist >= 2147483648 THEN
			dist := NULL;	-- too long ago for a 32-bit xmin: count everything
		END IF;
	END IF;
	IF dist IS NULL THEN
		PERFORM @extschema@.rollup_source_keys(source, NULL);	-- the checks
		r := @extschema@.rollup_source_apply(source, NULL);
	ELSE
		EXECUTE format('SELECT pg_catalog.array_agg(x.trace_id) FROM (%s) x',
			@extschema@.rollup_source_keys(source, pg_snapshot_xmin(prev)::text::int8))
			INTO touched;
		r := @extschema@.rollup_source_apply(source, coalesce(touched, '{}'));
	END IF;
	UPDATE @extschema@.rollup_source p
	   SET snapshot = cur, definition = def, runs = p.runs + 1, last_run_at = started, last_full = dist IS NULL,
		   last_traces = r.traces_done, last_groups = r.groups_done, last_duration = clock_timestamp() - started
	 WHERE p.source = rollup_source_run.source;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_run(pg_catalog.text, pg_catalog.bool) IS
	'step of rollup_source_refresh() and rollup_source_rebuild(): recompute the traces touched since the saved snapshot (all when full_run or never refreshed), save the new one';

CREATE PROCEDURE @extschema@.rollup_source_create(source pg_catalog.text)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Name an attached source (tokacct.attachment lists them).';
	END IF;
	PERFORM @extschema@.rollup_source_keys(source, NULL);	-- attached, of a kind a refresh can follow
	INSERT INTO @extschema@.rollup_source (source) VALUES (source) ON CONFLICT DO NOTHING;
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_create(pg_catalog.text) IS
	'define the rollup of an attached source (otel or langfuse) into rollup_source_daily; the first tokacct.rollup_source_refresh() fills it; defining it again changes nothing';

CREATE PROCEDURE @extschema@.rollup_source_refresh(source pg_catalog.text, wait pg_catalog.bool DEFAULT true)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	PERFORM @extschema@.rollup_check('rollup_source_refresh');
	IF source IS NULL OR wait IS NULL THEN
		RAISE EXCEPTION 'source and wait must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Name an attached source with a rollup (tokacct.rollup_source lists them); wait is true (wait for a running refresh) or false (skip).';
	END IF;
	-- Refreshes of a source take turns by a lock on its row of
	-- rollup_source, which only a role that may update that table can take
	-- (an advisory lock any role could take and hold).  A source without a
	-- rollup has no row: rollup_source_run says so.
	PERFORM FROM @extschema@.rollup_source p WHERE p.source = rollup_source_refresh.source
	  FOR NO KEY UPDATE SKIP LOCKED;
	IF NOT FOUND AND EXISTS (SELECT FROM @extschema@.rollup_source p WHERE p.source = rollup_source_refresh.source) THEN
		IF NOT wait THEN
			RAISE NOTICE 'tokacct.rollup_source_refresh: another refresh of source "%" is running; skipped', source;
			RETURN;
		END IF;
		RAISE NOTICE 'tokacct.rollup_source_refresh: another refresh of source "%" is running; waiting for it', source;
		PERFORM FROM @extschema@.rollup_source p WHERE p.source = rollup_source_refresh.source FOR NO KEY UPDATE;
	END IF;
	PERFORM @extschema@.rollup_source_run(source, false);
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_refresh(pg_catalog.text, pg_catalog.bool) IS
	'bring the rollup of an attached source up to date: recompute the traces with rows inserted or updated since the last refresh, exactly once; a second refresh of the source waits (or, with wait => false, skips) while one runs';

CREATE PROCEDURE @extschema@.rollup_source_rebuild(source pg_catalog.text)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	PERFORM @extschema@.rollup_check('rollup_source_rebuild');
	IF source IS NULL THEN
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Name an attached source with a rollup (tokacct.rollup_source lists them).';
	END IF;
	PERFORM FROM @extschema@.rollup_source p WHERE p.source = rollup_source_rebuild.source FOR NO KEY UPDATE;
	PERFORM @extschema@.rollup_source_run(source, true);
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_rebuild(pg_catalog.text) IS
	'recompute the rollup of an attached source from every trace (after spans were deleted, or prices corrected)';

CREATE PROCEDURE @extschema@.rollup_source_drop(source pg_catalog.text)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Name an attached source with a rollup (tokacct.rollup_source lists them).';
	END IF;
	-- (the delete waits for a refresh of the source, which holds its row)
	DELETE FROM @extschema@.rollup_source p WHERE p.source = rollup_source_drop.source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'source "%" has no rollup', source USING ERRCODE = 'undefined_object',
			HINT = 'Name an attached source with a rollup (tokacct.rollup_source lists them).';
	END IF;
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_drop(pg_catalog.text) IS
	'drop the rollup of a source (its rows in rollup_source_daily and rollup_source_trace)';

-- Views for BI ------------------------------------------------------------------

CREATE VIEW @extschema@.rollup_source_monthly WITH (security_invoker = true) AS
	SELECT r.source, pg_catalog.date_trunc('month', r.day::pg_catalog.timestamp)::pg_catalog.date AS month,
		   r.workflow, r.model,
		   pg_catalog.sum(r.calls)::pg_catalog.int8 AS calls,
		   pg_catalog.sum(r.calls_left_out)::pg_catalog.int8 AS calls_left_out,
		   pg_catalog.sum(r.input_tokens) AS input_tokens,
		   pg_catalog.sum(r.output_tokens) AS output_tokens,
		   pg_catalog.sum(r.cache_read_tokens) AS cache_read_tokens,
		   pg_catalog.sum(r.cache_write_tokens) AS cache_write_tokens,
		   pg_catalog.sum(r.reasoning_tokens) AS reasoning_tokens,
		   pg_catalog.sum(r.cost) AS cost,
		   pg_catalog.sum(r.reported_cost) AS reported_cost,
		   pg_catalog.sum(r.list_cost) AS list_cost,
		   @extschema@.cost_quantile(@extschema@.merge(r.cost_sketch), 0.5) AS p50_cost,
		   @extschema@.cost_quantile(@extschema@.merge(r.cost_sketch), 0.95) AS p95_cost,
		   @extschema@.cost_quantile(@extschema@.merge(r.cost_sketch), 0.99) AS p99_cost,
		   @extschema@.tail_ratio(@extschema@.merge(r.cost_sketch)) AS tail_ratio
	  FROM @extschema@.rollup_source_daily r
	 GROUP BY r.source, 2, r.workflow, r.model;
COMMENT ON VIEW @extschema@.rollup_source_monthly IS 'the daily rollups of attached sources merged per calendar month (UTC) x workflow x model: money exact, quantiles of the cost of one call from the merged sketches';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.month IS 'first day of the month (NULL for calls without a start time)';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.model IS 'model';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.calls IS 'calls';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.calls_left_out IS 'calls left out of the money';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.input_tokens IS 'input tokens, cache included';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.output_tokens IS 'output tokens, reasoning included';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.cache_read_tokens IS 'input tokens read from the cache';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.cache_write_tokens IS 'input tokens written to the cache';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.reasoning_tokens IS 'output tokens spent on reasoning';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.cost IS 'exact cost of the counted calls, USD';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.reported_cost IS 'the part of cost the traces reported';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.list_cost IS 'catalog list price of the calls the catalog prices';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.p50_cost IS 'median cost of one call (within 1% relative)';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.p95_cost IS '95th percentile of the cost of one call (within 1% relative)';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.p99_cost IS '99th percentile of the cost of one call (within 1% relative)';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.tail_ratio IS 'p95 / p50 (NULL when p50 is 0)';

-- ---------------------------------------------------------------------------
-- Speed of the attached views (h-speed): attach_status() in C (the same
-- rules; ASCII text matched by hand), attach_fence(), and attach_build()
-- putting the fence on the layer that prices each span, so that each value
-- derived from a span is computed once.  Views attached before get it by
-- attaching the source again with the same arguments.
-- ---------------------------------------------------------------------------

-- The fence of the layer that prices each span in the views (attach_build;
-- src/attach.c says why it must be a volatile C function).  In schema
-- tokacct with the other helpers the views call: the role attaching a
-- source names it when creating the views (tokacct_internal grants no
-- USAGE), and readers run it with the rights they have on those helpers.
CREATE FUNCTION @extschema@.attach_fence() RETURNS pg_catalog.bool
	LANGUAGE c VOLATILE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_fence';
COMMENT ON FUNCTION @extschema@.attach_fence() IS
	'true; volatile on purpose: the attached views put it in the layer that prices each span so that PostgreSQL keeps the layer a subquery and computes each derived value once per span (not meant to be called directly)';

-- A span status in tokacct's words (the waste statuses): ok, error,
-- rate_limited, timeout, server_error, discarded; NULL when the spelling is
-- unknown (the views then take it as ok and list the span as a problem).
-- The status may be OpenTelemetry's (Unset, Ok, Error in any case, with or
-- without the STATUS_CODE_ prefix, or 0, 1, 2), Langfuse's level (DEBUG,
-- DEFAULT, WARNING, ERROR) or tokacct's own; a failure is refined by the
-- error type (error.type, or Langfuse's status message): 429 or a rate
-- limit, 408/504 or a timeout, other 5xx or an overload, a cancellation.
-- The rules are regular expressions, listed in src/attach.c, which matches
-- ASCII text by hand (the views read every span's status) and runs the
-- expressions themselves on any other text.
CREATE OR REPLACE FUNCTION @extschema@.attach_status(status pg_catalog.text, error_type pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_status';
COMMENT ON FUNCTION @extschema@.attach_status(pg_catalog.text, pg_catalog.text) IS
	'a span status (OpenTelemetry Unset/Ok/Error, STATUS_CODE_*, 0/1/2; Langfuse levels; tokacct''s own) as ok, error, rate_limited, timeout, server_error or discarded, a failure refined by its error type; NULL when unknown';

CREATE OR REPLACE FUNCTION @extschema@.attach_build(source pg_catalog.text, parts pg_catalog.jsonb,
	opts pg_catalog.jsonb, dedup pg_catalog.bool) RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	src text := quote_literal(source) || '::pg_catalog.text';
	sep text := CASE WHEN opts ->> 'cache_tokens' = 'separate' THEN 'true' ELSE 'false' END;
	is_strict boolean := coalesce((opts ->> 'strict')::boolean, false);
	reported_first boolean := coalesce(opts ->> 'cost_basis', 'reported_first') = 'reported_first';
	success text := quote_literal(coalesce(
		(SELECT array_agg(lower(v)) FROM jsonb_array_elements_text(opts -> 'success_values') v),
		ARRAY['success', 'succeeded', 'solved', 'resolved', 'ok', 'pass', 'passed', 'true', '1', 'yes'])::text)
		|| '::pg_catalog.text[]';
	colnames text[] := ARRAY['trace_id', 'span_id', 'parent_id', 'name', 'started_at', 'ended_at',
		'status_raw', 'error_type', 'operation', 'kind', 'provider', 'request_model', 'response_model',
		'input_raw', 'output_raw', 'cache_read_raw', 'cache_write_raw', 'reasoning_raw',
		'reported_cost', 'reported_cost_raw', 'reported_currency', 'reported_cost_source', 'estimated_cost',
		'conversation_id', 'tool_name', 'args_hash', 'workflow', 'item', 'outcome', 'option', 'attempt_raw',
		'segment'];
	cols jsonb := parts -> 'cols';
	rel text := parts ->> 'from';
	sel text;
	content text;
	call_filter text;
	usage_kind text;
	base_all text;			-- every stored row
	spans_rows text;		-- every span once, usage_kind telling calls and agent usage
	calls_rows text;		-- every counted call once
	priced text;			-- template: the rows of {{ROWS}} priced
	spans_priced text;
	calls_priced text;
	traces text;
	attempts text;
	by_trace text;
	attempt_expr text;
	v_calls text;
	v_spans text;
	v_attempts text;
	v_items text;
	v_conv text;
	v_problems text;
	record text;
	c text;
BEGIN
	FOREACH c IN ARRAY colnames LOOP
		IF NOT cols ? c THEN
			RAISE EXCEPTION 'attach_build: the source gives no column %', c USING ERRCODE = 'internal_error';
		END IF;
	END LOOP;
	SELECT string_agg(format('%s AS %I', cols ->> n, n), E',\n\t   ' ORDER BY o)
	  INTO sel FROM unnest(colnames) WITH ORDINALITY u(n, o);
	SELECT 'ROW(' || string_agg('b.' || n, ', ') || ')' INTO content
	  FROM unnest(colnames) n WHERE n NOT IN ('trace_id', 'span_id');

	base_all := format('SELECT %s%sFROM %s', sel, E'\n  ', rel);

	-- The spans whose usage is priced: LLM calls ("call"), and agent spans
	-- that carry usage ("agent").  An agent span's usage counts only where
	-- its trace has no LLM-call span (else it repeats its calls' usage):
	-- attempts, items and spans apply that per trace; the calls view lists
	-- LLM calls only, so it reads each row once, with no look at others.
	call_filter := format('%s = ''llm''', cols ->> 'kind');
	usage_kind := format('CASE %s WHEN ''llm'' THEN ''call''%s END', cols ->> 'kind',
		CASE WHEN coalesce(opts ->> 'agent_usage', 'when_no_calls') = 'when_no_calls' THEN format(
			' WHEN ''agent'' THEN CASE WHEN %s IS NOT NULL OR %s IS NOT NULL THEN ''agent'' END',
			cols ->> 'input_raw', cols ->> 'output_raw')
		ELSE '' END);

	-- Repeated span ids are collapsed on the stored rows (before anything is
	-- read from them), keeping the first copy in the source's order.
	IF dedup THEN
		spans_rows := format(
			'SELECT %1$s, %7$s AS usage_kind%2$sFROM (SELECT DISTINCT ON (%3$s COLLATE "C", %4$s COLLATE "C") r.* FROM %5$s '
			'ORDER BY %3$s COLLATE "C", %4$s COLLATE "C", %6$s) r',
			sel, E'\n  ', parts ->> 'trace', parts ->> 'span', rel, parts ->> 'order', usage_kind);
		calls_rows := format(
			'SELECT %1$s, ''call''::pg_catalog.text AS usage_kind%2$sFROM (SELECT DISTINCT ON (%3$s COLLATE "C", %4$s COLLATE "C") r.* FROM %5$s '
			'WHERE %7$s ORDER BY %3$s COLLATE "C", %4$s COLLATE "C", %6$s) r',
			sel, E'\n  ', parts ->> 'trace', parts ->> 'span', rel, parts ->> 'order', call_filter);
	ELSE
		spans_rows := format('SELECT %s, %s AS usage_kind%sFROM %s', sel, usage_kind, E'\n  ', rel);
		calls_rows := format('SELECT %s, ''call''::pg_catalog.text AS usage_kind%sFROM %s WHERE %s', sel, E'\n  ', rel, call_filter);
	END IF;

	-- The rows of {{ROWS}} priced: l0 reads the counts and names, l1 prices,
	-- l2 says what is wrong.  Spans without usage to price cost 0.
	--
	-- The outer layer carries a column fence (but for a strict source, see
	-- the last argument below): attach_fence() is volatile, so PostgreSQL
	-- keeps this layer a subquery instead of pulling it up into the view
	-- (src/attach.c), and each column of a priced span (cost, list_cost,
	-- problem, the counts, the status) is computed once, where the view
	-- reads it; pulled up, every reference re-ran its whole expression (the
	-- attempts view summed the cost of a span in two aggregates and tested
	-- it in two more: a pricing each).  Quals on the other columns still go
	-- down to the scan of the user's table (only the fence column itself is
	-- unsafe to push down), unread columns are still dropped, and parallel
	-- plans stay possible (the fence is PARALLEL SAFE).  A fence in every
	-- layer (l0, l1, l2 and the rows) was measured slower than this one: a
	-- fenced layer computes eagerly all it passes up, where the flattened
	-- expressions short-circuit (the status is read only for a call
	-- without usage, ...), and adds a node per row.  One C function
	-- returning every derived value as a composite was the other way; it
	-- would move the pricing rules out of SQL for little more.
	-- PERFORMANCE.md has the figures.
	priced := format($q$
SELECT l2.*,
	   CASE WHEN NOT l2.priced THEN 0::pg_catalog.numeric ELSE %1$s END AS cost,
	   CASE WHEN NOT l2.priced THEN NULL
			WHEN %2$s AND l2.reported_usd IS NOT NULL THEN 'reported'
			WHEN l2.list_cost IS NOT NULL THEN 'catalog' END AS cost_source%4$s
  FROM (SELECT l1.*,
			   COALESCE(
				 CASE WHEN NOT l1.priced THEN NULL
					  WHEN l1.started_at IS NULL OR NOT pg_catalog.isfinite(l1.started_at)
					  THEN 'no usable start time' END,
				 CASE WHEN l1.priced THEN @extschema@.attach_usage_problem(l1.input_raw, l1.output_raw,
					 l1.cache_read_raw, l1.cache_write_raw, l1.reasoning_raw, %3$s) END,
				 CASE WHEN l1.priced THEN l1.reported_problem END,
				 CASE WHEN l1.priced AND NOT l1.has_usage AND l1.status = 'ok' AND l1.reported_usd IS NULL
					  THEN 'no token usage on a successful call' END,
				 CASE WHEN l1.priced AND l1.has_usage AND l1.list_cost IS NULL
					  THEN pg_catalog.format('no catalog price for provider %%s, model %%s',
							pg_catalog.quote_nullable(l1.price_provider), pg_catalog.quote_nullable(l1.price_model)) END,
				 CASE WHEN l1.status_unknown
					  THEN pg_catalog.format('unknown status %%s (taken as ok)', pg_catalog.quote_literal(l1.status_raw)) END
			   ) AS problem
		  FROM (SELECT l0.*,
					   CASE WHEN l0.priced THEN
						 COALESCE(@extschema@.attach_list_cost(l0.provider, l0.model, l0.input_raw,
								l0.output_raw, l0.cache_read_raw, l0.cache_write_raw, l0.reasoning_raw,
								l0.started_at, %3$s),
							CASE WHEN NOT l0.has_usage AND l0.status <> 'ok' THEN 0::pg_catalog.numeric END) END AS list_cost
				  FROM (SELECT c.*, c.usage_kind IS NOT NULL AS priced,
							   COALESCE(@extschema@.attach_status(c.status_raw, c.error_type), 'ok') AS status,
							   @extschema@.attach_status(c.status_raw, c.error_type) IS NULL AS status_unknown,
							   COALESCE(c.response_model, c.request_model) AS model,
							   -- the counts of a call that reports usage; an absent one is 0,
							   -- an unusable one NULL
							   CASE WHEN c.usage_kind IS NOT NULL AND (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) THEN
								   COALESCE(@extschema@.attach_input_tokens(c.input_raw, c.cache_read_raw, c.cache_write_raw, %3$s),
									   CASE WHEN pg_catalog.btrim(COALESCE(c.input_raw, '')) = '' THEN 0::pg_catalog.int8 END) END AS input_tokens,
							   {{COUNT:output_raw}} AS output_tokens,
							   {{COUNT:cache_read_raw}} AS cache_read_tokens,
							   {{COUNT:cache_write_raw}} AS cache_write_tokens,
							   {{COUNT:reasoning_raw}} AS reasoning_tokens,
							   (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) AS has_usage,
							   CASE WHEN c.reported_cost IS NULL AND c.reported_cost_raw IS NOT NULL
									 AND c.reported_cost_raw !~ '^\s*$'
									THEN pg_catalog.format('reported cost not a number: %%s',
										pg_catalog.quote_literal(pg_catalog.left(c.reported_cost_raw, 40)))
									WHEN c.reported_cost IS NULL THEN NULL
									WHEN c.reported_cost = 'NaN'::pg_catalog.numeric
									  OR c.reported_cost = 'Infinity'::pg_catalog.numeric
									  OR c.reported_cost = '-Infinity'::pg_catalog.numeric
									THEN 'reported cost not finite'
									WHEN c.reported_cost < 0 THEN 'reported cost negative'
									WHEN c.reported_cost > 1000000 THEN 'reported cost above 1000000'
							   END AS reported_problem,
							   CASE WHEN c.reported_cost IS NOT NULL
									 AND c.reported_cost <> 'NaN'::pg_catalog.numeric
									 AND c.reported_cost >= 0 AND c.reported_cost <= 1000000
									 AND pg_catalog.upper(COALESCE(c.reported_currency, 'USD')) = 'USD'
									THEN pg_catalog.round(c.reported_cost, 12) END AS reported_usd,
							   COALESCE({{ALIAS}} OPERATOR(pg_catalog.->>) 2,
								   {{PROVIDER_MAP}} OPERATOR(pg_catalog.->>) pg_catalog.lower(c.provider),
								   c.provider) AS price_provider,
							   COALESCE({{ALIAS}} OPERATOR(pg_catalog.->>) 3, c.response_model, c.request_model) AS price_model
						  FROM ({{ROWS}}) c) l0) l1) l2$q$,
		CASE
			WHEN is_strict THEN 'CASE WHEN l2.problem IS NOT NULL THEN @extschema@.attach_refuse('
				|| src || ', l2.trace_id, l2.span_id, l2.problem) '
				|| CASE WHEN reported_first THEN 'ELSE COALESCE(l2.reported_usd, l2.list_cost) END'
						ELSE 'ELSE l2.list_cost END' END
			WHEN reported_first THEN 'COALESCE(l2.reported_usd, l2.list_cost)'
			ELSE 'l2.list_cost'
		END,
		CASE WHEN reported_first THEN 'true' ELSE 'false' END,
		sep,
		-- a strict source's cost raises on a row with a problem: fenced, it
		-- would be computed for rows a qual on the view (WHERE item = ...)
		-- leaves out, and raise for them; a strict source is not fenced
		CASE WHEN is_strict THEN '' ELSE E',\n\t   @extschema@.attach_fence() AS fence' END);
	-- Aliases: each table is read once per query into a jsonb map (an
	-- InitPlan), so a call costs a key lookup rather than a join (the
	-- planner cannot estimate how many calls a join would see) and the
	-- pricing runs in parallel workers.  A model alias is looked for under
	-- "provider US model" (lower case); its period (unix seconds, the open
	-- ends as +-1e15) is chosen by the call's time with a jsonpath filter.
	priced := replace(replace(replace(priced,
		'{{ALIAS}}', $q$(CASE WHEN {{MODEL_MAP}} IS NOT NULL AND pg_catalog.isfinite(c.started_at)
					AND {{MODEL_MAP}} OPERATOR(pg_catalog.?) {{MODEL_KEY}}
			THEN pg_catalog.jsonb_path_query_first({{MODEL_MAP}} OPERATOR(pg_catalog.->) {{MODEL_KEY}},
				'strict $[*] ? (@[0] <= $t && $t < @[1])',
				pg_catalog.jsonb_build_object('t', EXTRACT(epoch FROM c.started_at))) END)$q$),
		'{{MODEL_KEY}}', $q$(pg_catalog.lower(COALESCE(c.provider, '')) OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) pg_catalog.lower(COALESCE(c.response_model, c.request_model)))$q$),
		'{{MODEL_MAP}}', $q$(SELECT pg_catalog.jsonb_object_agg(m.k, m.periods)
			FROM (SELECT ma.provider OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) ma.model AS k,
						 pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(
							 CASE WHEN pg_catalog.isfinite(ma.valid_from) THEN EXTRACT(epoch FROM ma.valid_from) ELSE -1e15 END,
							 CASE WHEN pg_catalog.isfinite(ma.valid_until) THEN EXTRACT(epoch FROM ma.valid_until) ELSE 1e15 END,
							 ma.catalog_provider, ma.catalog_model) ORDER BY ma.valid_from) AS periods
					FROM @extschema@.model_alias ma GROUP BY 1) m)$q$);
	FOREACH c IN ARRAY ARRAY['output_raw', 'cache_read_raw', 'cache_write_raw', 'reasoning_raw'] LOOP
		priced := replace(priced, '{{COUNT:' || c || '}}', format(
			'CASE WHEN c.usage_kind IS NOT NULL AND (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) THEN '
			'COALESCE(@extschema@.attach_int8(c.%1$s), CASE WHEN pg_catalog.btrim(COALESCE(c.%1$s, '''')) = '''' '
			'THEN 0::pg_catalog.int8 END) END', c));
	END LOOP;
	priced := replace(priced, '{{PROVIDER_MAP}}',
		'(SELECT pg_catalog.jsonb_object_agg(pa.provider, pa.catalog_provider) FROM @extschema@.provider_alias pa)');
	spans_priced := replace(priced, '{{ROWS}}', spans_rows);
	calls_priced := replace(priced, '{{ROWS}}', calls_rows);

	-- Traces: their time, root status and structure values (a root span's
	-- value first, else the smallest any span of the trace carries).
	-- Repeated rows change none of these, so every stored row is read.
	traces := format($q$
SELECT b.trace_id,
	   pg_catalog.min(b.started_at) AS started_at,
	   pg_catalog.max(COALESCE(b.ended_at, b.started_at)) AS ended_at,
	   pg_catalog.count(DISTINCT b.span_id) FILTER (WHERE b.parent_id IS NULL) AS roots,
	   pg_catalog.bool_or(COALESCE(@extschema@.attach_status(b.status_raw, b.error_type), 'ok') NOT IN ('ok', 'discarded'))
		   FILTER (WHERE b.parent_id IS NULL) AS root_failed,
	   COALESCE(pg_catalog.min(b.workflow) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.workflow)) AS workflow,
	   COALESCE(pg_catalog.min(b.item) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.item)) AS item,
	   COALESCE(pg_catalog.min(b.outcome) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.outcome)) AS outcome,
	   COALESCE(pg_catalog.min(b.option) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.option)) AS option,
	   COALESCE(pg_catalog.min(b.attempt_raw) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.attempt_raw)) AS attempt_raw
  FROM (%1$s) b
 GROUP BY b.trace_id$q$, base_all);

	-- Attempts: one per trace, numbered per (workflow, item) in time order
	-- (or by the attempt number the source records); the run is the trace
	-- of the item's first attempt (waste sees an item's attempts together).
	IF opts ? 'attempt' AND jsonb_typeof(opts -> 'attempt') <> 'null' THEN
		attempt_expr := 'CASE WHEN t.item IS NOT NULL THEN @extschema@.attach_int8(t.attempt_raw)::pg_catalog.int4 END';
	ELSE
		attempt_expr := 'CASE WHEN t.item IS NOT NULL THEN (pg_catalog.row_number() OVER w)::pg_catalog.int4 END';
	END IF;
	attempts := format($q$
SELECT t.*,
	   %1$s AS attempt,
	   CASE WHEN t.item IS NOT NULL THEN pg_catalog.first_value(t.trace_id) OVER w ELSE t.trace_id END AS run_id,
	   CASE WHEN t.outcome IS NOT NULL THEN pg_catalog.lower(pg_catalog.btrim(t.outcome)) = ANY (%2$s)
			WHEN t.roots = 0 THEN NULL
			ELSE NOT t.root_failed END AS succeeded
  FROM (%3$s) t
WINDOW w AS (PARTITION BY t.workflow, t.item ORDER BY t.started_at, t.trace_id COLLATE "C")$q$,
		attempt_expr, success, '{{TRACES}}');

	-- One row per trace (a GROUP BY, so a join to it that reads nothing is
	-- removed); joined by hash to calls, spans and conversations.
	by_trace := format(
		'SELECT a.trace_id, pg_catalog.min(a.workflow) AS workflow, pg_catalog.min(a.item) AS item, '
		'pg_catalog.min(a.attempt) AS attempt, pg_catalog.min(a.run_id) AS run_id, '
		'pg_catalog.bool_and(a.succeeded) AS succeeded FROM (%s) a GROUP BY a.trace_id',
		replace(attempts, '{{TRACES}}', traces));

	-- calls --------------------------------------------------------------
	v_calls := format($q$
SELECT %1$s AS source, p.trace_id, p.span_id, p.parent_id, p.name, p.operation, p.started_at, p.ended_at, p.status,
	   a.workflow, a.item, a.attempt, COALESCE(p.conversation_id, p.trace_id) AS conversation_id,
	   p.provider, p.model, p.request_model, p.response_model, p.price_provider, p.price_model,
	   p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cache_write_tokens, p.reasoning_tokens,
	   p.list_cost, p.reported_usd AS reported_cost, p.reported_currency, p.reported_cost_source,
	   p.estimated_cost, p.cost, p.cost_source, p.problem
  FROM (%2$s) p
  LEFT JOIN (%3$s) a ON a.trace_id = p.trace_id$q$,
		src, calls_priced, by_trace);

	-- attempts: the structure and the cost of each trace in one pass over
	-- its priced spans (no join whose size the planner would guess) --------
	v_attempts := format($q$
SELECT %1$s AS source, a.workflow, a.item, COALESCE(a.option, a.models) AS option, a.attempt,
	   a.trace_id, a.started_at, a.ended_at, a.succeeded, a.outcome,
	   CASE WHEN a.left_out = 0 THEN COALESCE(a.cost, 0) END AS cost,
	   COALESCE(a.cost, 0) AS cost_known,
	   a.calls, a.left_out AS calls_left_out,
	   COALESCE(a.input_tokens, 0)::pg_catalog.int8 AS input_tokens,
	   COALESCE(a.output_tokens, 0)::pg_catalog.int8 AS output_tokens,
	   CASE WHEN a.item IS NULL THEN 'no item key'
			WHEN a.attempt IS NULL THEN 'attempt number not a whole number'
			WHEN a.succeeded IS NULL THEN 'success unknown: the trace has no root span'
			WHEN a.left_out > 0 THEN pg_catalog.format('%%s of %%s calls left out of the cost', a.left_out, a.calls)
	   END AS problem,
	   a.segment
  FROM (%2$s) a$q$,
		src, replace(attempts, '{{TRACES}}', format($q$
SELECT b.trace_id,
	   pg_catalog.min(b.started_at) AS started_at,
	   pg_catalog.max(COALESCE(b.ended_at, b.started_at)) AS ended_at,
	   pg_catalog.count(*) FILTER (WHERE b.parent_id IS NULL) AS roots,
	   pg_catalog.bool_or(b.status NOT IN ('ok', 'discarded')) FILTER (WHERE b.parent_id IS NULL) AS root_failed,
	   COALESCE(pg_catalog.min(b.workflow) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.workflow)) AS workflow,
	   COALESCE(pg_catalog.min(b.item) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.item)) AS item,
	   COALESCE(pg_catalog.min(b.outcome) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.outcome)) AS outcome,
	   COALESCE(pg_catalog.min(b.option) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.option)) AS option,
	   COALESCE(pg_catalog.min(b.attempt_raw) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.attempt_raw)) AS attempt_raw,
	   COALESCE(pg_catalog.min(b.segment) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.segment)) AS segment,
	   -- the calls' cost, or where the trace has no LLM call its agent spans' usage
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.cost) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.cost) FILTER (WHERE b.usage_kind = 'agent') END AS cost,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'agent') END AS calls,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call' AND b.cost IS NULL)
			ELSE pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'agent' AND b.cost IS NULL) END AS left_out,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.input_tokens) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.input_tokens) FILTER (WHERE b.usage_kind = 'agent') END AS input_tokens,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.output_tokens) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.output_tokens) FILTER (WHERE b.usage_kind = 'agent') END AS output_tokens,
	   COALESCE(pg_catalog.string_agg(DISTINCT b.price_model, '+' ORDER BY b.price_model) FILTER (WHERE b.usage_kind = 'call'),
				pg_catalog.string_agg(DISTINCT b.price_model, '+' ORDER BY b.price_model) FILTER (WHERE b.usage_kind = 'agent')) AS models
  FROM (%1$s) b
 GROUP BY b.trace_id$q$, spans_priced)));

	-- items ------------------------------------------------------------------
	record := @extschema@.attach_record(opts, success);
	v_items := format($q$
SELECT i.source, i.workflow, i.item, i.option, i.attempts, i.solved, i.started_at, i.ended_at,
	   i.ai_cost, i.ai_cost_known, i.calls, i.calls_left_out,
	   CASE WHEN i.solved THEN 0::pg_catalog.numeric
			WHEN NOT i.solved THEN pg_catalog.round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12)
	   END AS human_fix_cost,
	   b.bpo_unit_price,
	   CASE WHEN i.solved THEN b.bpo_unit_price
			WHEN NOT i.solved THEN b.bpo_unit_price - pg_catalog.round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12)
	   END AS value,
	   i.problem, i.segment, i.first_try_succeeded, i.failed_attempt_cost
  FROM (%3$s) i
  LEFT JOIN LATERAL (SELECT bl.bpo_unit_price, bl.human_cost_per_hour, bl.human_minutes_per_item
					   FROM @extschema@.baseline bl
					  WHERE bl.workflow = i.workflow AND bl.valid_from <= i.started_at
						AND pg_catalog.upper(bl.currency) = 'USD'
					  ORDER BY bl.valid_from DESC LIMIT 1) b ON true$q$,
		src, v_attempts, CASE WHEN record IS NULL THEN '{{ITEMS}}' ELSE format(
			'SELECT i0.source, i0.workflow, i0.item, i0.option, i0.attempts, '
			'COALESCE(rec.solved, i0.solved) AS solved, i0.started_at, i0.ended_at, i0.ai_cost, i0.ai_cost_known, '
			'i0.calls, i0.calls_left_out, COALESCE(i0.problem, CASE WHEN rec.key IS NULL '
			'THEN ''no row for the item in the system of record'' END) AS problem, '
			'i0.segment, i0.first_try_succeeded, i0.failed_attempt_cost '
			'FROM ({{ITEMS}}) i0 LEFT JOIN (%s) rec ON rec.key = i0.item', record) END);
	v_items := replace(v_items, '{{ITEMS}}', format($q$SELECT %1$s AS source, a.workflow, a.item,
			   pg_catalog.string_agg(DISTINCT a.option, '+' ORDER BY a.option) AS option,
			   pg_catalog.count(*) AS attempts,
			   pg_catalog.bool_or(a.succeeded) AS solved,
			   pg_catalog.min(a.started_at) AS started_at, pg_catalog.max(a.ended_at) AS ended_at,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) = 0 THEN pg_catalog.sum(a.cost) END AS ai_cost,
			   pg_catalog.sum(a.cost_known) AS ai_cost_known,
			   pg_catalog.sum(a.calls)::pg_catalog.int8 AS calls,
			   pg_catalog.sum(a.calls_left_out)::pg_catalog.int8 AS calls_left_out,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) > 0
					THEN pg_catalog.format('%%s of %%s calls left out of the cost', pg_catalog.sum(a.calls_left_out), pg_catalog.sum(a.calls))
					WHEN pg_catalog.bool_or(a.succeeded) IS NULL THEN 'success unknown'
			   END AS problem,
			   pg_catalog.min(a.segment) AS segment,
			   pg_catalog.bool_or(a.succeeded) FILTER (WHERE a.attempt = 1) AS first_try_succeeded,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) = 0
					THEN COALESCE(pg_catalog.sum(a.cost) FILTER (WHERE NOT a.succeeded), 0) END AS failed_attempt_cost
		  FROM (%2$s) a
		 WHERE a.item IS NOT NULL
		 GROUP BY a.workflow, a.item$q$,
		src, v_attempts));

	-- conversations ------------------------------------------------------------
	v_conv := format($q$
SELECT %1$s AS source, a.workflow, a.item, a.attempt,
	   COALESCE(p.conversation_id, p.trace_id) AS conversation_id, p.trace_id, p.span_id,
	   (pg_catalog.row_number() OVER (PARTITION BY COALESCE(p.conversation_id, p.trace_id)
			ORDER BY p.started_at, p.span_id COLLATE "C"))::pg_catalog.int4 AS seq,
	   p.started_at, p.model, p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cost, p.problem
  FROM (%2$s) p
  LEFT JOIN (%3$s) a ON a.trace_id = p.trace_id$q$,
		src, calls_priced, by_trace);

	-- spans ------------------------------------------------------------------
	-- an agent span's usage counts where its trace has no LLM call
	v_spans := format($q$
SELECT s.source, COALESCE(a.run_id, s.trace_id) AS trace_id, s.trace_id AS source_trace_id,
	   s.span_id, s.parent_id, s.kind, COALESCE(s.tool_name, s.name) AS name, s.operation, s.args_hash,
	   CASE WHEN s.parent_id IS NULL AND a.succeeded IS FALSE AND s.status = 'ok' THEN 'error' ELSE s.status END AS status,
	   CASE WHEN s.counted THEN s.cost ELSE 0::pg_catalog.numeric END AS cost,
	   s.started_at, s.ended_at, a.workflow, a.item, a.attempt, s.model,
	   CASE WHEN s.counted THEN s.input_tokens END AS input_tokens,
	   CASE WHEN s.counted THEN s.output_tokens END AS output_tokens,
	   s.call_seq,
	   CASE WHEN s.counted AND s.input_tokens > 0 AND s.list_cost IS NOT NULL
			THEN pg_catalog.round(@extschema@.cost(s.provider, s.model, s.input_tokens, 0, 0, 0, 0, s.started_at)
				 / s.input_tokens, 12) END AS input_price,
	   CASE WHEN s.counted AND s.input_tokens > 0 AND s.list_cost IS NOT NULL
			THEN @extschema@.cost(s.price_provider, s.price_model, s.input_tokens, 0, s.cache_read_tokens,
				 s.cache_write_tokens, 0, s.started_at) END AS input_cost,
	   CASE WHEN s.counted OR s.usage_kind IS NULL THEN s.problem END AS problem
  FROM (SELECT %1$s AS source, p.*,
			   (p.usage_kind = 'call' OR (p.usage_kind = 'agent' AND NOT pg_catalog.bool_or(p.usage_kind = 'call') OVER t))
				   IS TRUE AS counted,
			   CASE WHEN p.usage_kind = 'call'
					THEN (pg_catalog.count(*) FILTER (WHERE p.usage_kind = 'call') OVER t_upto)::pg_catalog.int4 END AS call_seq
		  FROM (%2$s) p
		WINDOW t AS (PARTITION BY p.trace_id ORDER BY p.started_at, p.span_id COLLATE "C"
					 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
			   t_upto AS (PARTITION BY p.trace_id ORDER BY p.started_at, p.span_id COLLATE "C"
						  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) s
  LEFT JOIN (%3$s) a ON a.trace_id = s.trace_id$q$,
		src, spans_priced, by_trace);

	-- problems ---------------------------------------------------------------
	v_problems := format($q$
SELECT %1$s AS source, CASE WHEN p.usage_kind = 'call' THEN 'call' ELSE 'span' END AS level, p.trace_id, p.span_id,
	   p.problem AS reason
  FROM (%2$s) p
 WHERE p.problem IS NOT NULL
   AND (p.usage_kind IS DISTINCT FROM 'agent' OR p.trace_id IS NULL
		OR p.trace_id NOT IN (SELECT c.trace_id FROM (%6$s) c WHERE c.trace_id IS NOT NULL))
UNION ALL
SELECT %1$s, 'span', b.trace_id, b.span_id,
	   pg_catalog.format('%%s copies of the span id with different content: one kept', pg_catalog.count(*))
  FROM (%3$s) b
 WHERE (b.trace_id, b.span_id) IN (SELECT d.trace_id, d.span_id FROM (%3$s) d
								   GROUP BY d.trace_id, d.span_id HAVING pg_catalog.count(*) > 1)
 GROUP BY b.trace_id, b.span_id
HAVING pg_catalog.count(DISTINCT %4$s) > 1
UNION ALL
SELECT %1$s, 'trace', a.trace_id, NULL,
	   CASE WHEN a.item IS NULL THEN 'no item key: the trace is in no attempt or item'
			WHEN a.attempt IS NULL THEN pg_catalog.format('attempt number not a whole number: %%s', pg_catalog.quote_literal(a.attempt_raw))
			ELSE 'no root span: the attempt''s success is unknown' END
  FROM (%5$s) a
 WHERE a.item IS NULL OR a.attempt IS NULL OR a.succeeded IS NULL$q$,
		src, spans_priced, base_all, content, replace(attempts, '{{TRACES}}', traces),
		-- the traces that have an LLM call: an agent span's usage is a
		-- problem only in a trace without one (else it is not counted)
		format('SELECT %s AS trace_id FROM %s WHERE %s', cols ->> 'trace_id', rel, call_filter));

	RETURN jsonb_build_object('calls', v_calls, 'spans', v_spans, 'attempts', v_attempts,
		'items', v_items, 'conversations', v_conv, 'problems', v_problems);
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_build(pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.bool) IS
	'the SQL of the seven views of an attached source, from the parts its attach function compiled (the relation, the span keys, the order of repeated copies, the SQL of each column)';

-- ---------------------------------------------------------------------------
-- Roles (h-roles): a reader reads the views and prices without SELECT on any
-- table of tokacct (sql/install/90_roles.sql; the catalog loader reads as
-- the extension's owner, src/price_catalog.c).  The view builders read
-- tokacct's small tables through the *_rows() functions: their few changed
-- lines are patched into the functions as the sections above left them (so
-- that this section follows whatever the builders became), each replacement
-- required to happen exactly once.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.model_alias_rows()
	RETURNS SETOF @extschema@.model_alias
	LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $fn$ SELECT * FROM @extschema@.model_alias $fn$;
COMMENT ON FUNCTION @extschema@.model_alias_rows() IS
	'the rows of tokacct.model_alias, read with the owner''s rights: the attached views map model names through it for readers without SELECT on the table';

CREATE FUNCTION @extschema@.provider_alias_rows()
	RETURNS SETOF @extschema@.provider_alias
	LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $fn$ SELECT * FROM @extschema@.provider_alias $fn$;
COMMENT ON FUNCTION @extschema@.provider_alias_rows() IS
	'the rows of tokacct.provider_alias, read with the owner''s rights: the attached views map provider names through it for readers without SELECT on the table';

CREATE FUNCTION @extschema@.baseline_rows()
	RETURNS SETOF @extschema@.baseline
	LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $fn$ SELECT * FROM @extschema@.baseline $fn$;
COMMENT ON FUNCTION @extschema@.baseline_rows() IS
	'the rows of tokacct.baseline, read with the owner''s rights: the attached views take the BPO price and human cost from it for readers without SELECT on the table';

CREATE FUNCTION @extschema@.cutover_rows()
	RETURNS SETOF @extschema@.cutover
	LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $fn$ SELECT * FROM @extschema@.cutover $fn$;
COMMENT ON FUNCTION @extschema@.cutover_rows() IS
	'the rows of tokacct.cutover, read with the owner''s rights: the views of a system of record compare before and after through it for readers without SELECT on the table';

CREATE FUNCTION @extschema@.allocation_budget_rows()
	RETURNS SETOF @extschema@.allocation_budget
	LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $fn$ SELECT * FROM @extschema@.allocation_budget $fn$;
COMMENT ON FUNCTION @extschema@.allocation_budget_rows() IS
	'the rows of tokacct.allocation_budget, read with the owner''s rights: the allocation views plan the budget through it for readers without SELECT on the table';

-- The functions a reader needs EXECUTE on, which PUBLIC has not: those that
-- read the price catalog (C functions calling the catalog loader) and the
-- *_rows() functions.
CREATE FUNCTION @extschema@.reader_functions()
	RETURNS SETOF pg_catalog.regprocedure
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
SELECT p.oid::pg_catalog.regprocedure
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
  JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
	   AND e.extname OPERATOR(pg_catalog.=) 'tokacct'
 WHERE p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
   AND ((p.prolang OPERATOR(pg_catalog.=) (SELECT l.oid FROM pg_catalog.pg_language l
											WHERE l.lanname OPERATOR(pg_catalog.=) 'c')
		 AND p.prosrc OPERATOR(pg_catalog.=) ANY (ARRAY['price_cost', 'price_cost_usage', 'price_cost_breakdown',
			'price_cost_breakdown_usage', 'price_customer_cost', 'price_sourced_cost', 'price_model_for',
			'price_model_in', 'price_ledger_cost']))
		OR p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['model_alias_rows', 'provider_alias_rows', 'baseline_rows',
			'cutover_rows', 'allocation_budget_rows', 'catalog_comparison', 'budget_report', 'budget_remaining']::pg_catalog.name[]))
 ORDER BY 1::pg_catalog.text
$fn$;
COMMENT ON FUNCTION @extschema@.reader_functions() IS
	'the functions PUBLIC may not execute and grant_reader() grants: those that read the price catalog, catalog_comparison(), budget_report(), budget_remaining() and the *_rows() readers of tokacct''s tables';

-- catalog_comparison() reads the two catalogs' rows, budget_report() and
-- budget_remaining() the budgets: with the owner's rights (arguments used as
-- values only; fixed queries, pinned search_path), so that the views
-- catalog_differences and budget_status, and budget_remaining(), serve a
-- reader.
ALTER FUNCTION @extschema@.catalog_comparison(pg_catalog.timestamptz) SECURITY DEFINER;
ALTER FUNCTION @extschema@.budget_report(pg_catalog.timestamptz) SECURITY DEFINER;
ALTER FUNCTION @extschema@.budget_remaining(pg_catalog.text, pg_catalog.text, pg_catalog.timestamptz) SECURITY DEFINER;

DO $do$
DECLARE
	f pg_catalog.regprocedure;
BEGIN
	FOR f IN SELECT * FROM @extschema@.reader_functions() LOOP
		EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$do$;

-- tokacct's own views read tokacct's tables only: with their owner's rights
DO $do$
DECLARE
	v pg_catalog.regclass;
BEGIN
	FOR v IN
		SELECT c.oid
		  FROM pg_catalog.pg_class c
		  JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
			   AND d.objid OPERATOR(pg_catalog.=) c.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
		  JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
			   AND e.extname OPERATOR(pg_catalog.=) 'tokacct'
		 WHERE c.relnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
		   AND c.relkind OPERATOR(pg_catalog.=) 'v'
		 ORDER BY c.relname
	LOOP
		EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_invoker = false)', v);
	END LOOP;
END
$do$;

CREATE OR REPLACE PROCEDURE @extschema@.grant_reader(role pg_catalog.regrole)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	v pg_catalog.text;
BEGIN
	IF role IS NULL THEN
		RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT pg_catalog.pg_has_role(CURRENT_USER,
			(SELECT nspowner FROM pg_catalog.pg_namespace
			  WHERE nspname OPERATOR(pg_catalog.=) '@extschema@'), 'MEMBER') THEN
		RAISE EXCEPTION 'only the owner of schema @extschema@ can grant access to it'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Run this as the role that created the extension, or a superuser.';
	END IF;
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO %s', '@extschema@', role);
	-- tokacct's views, not its tables
	FOR v IN SELECT c.oid::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_class c
			  WHERE c.relnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
				AND c.relkind OPERATOR(pg_catalog.=) 'v' ORDER BY c.relname LOOP
		EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s', v, role);
	END LOOP;
	-- the functions PUBLIC may not execute: pricing, and tokacct's tables read for the views
	FOR v IN SELECT f::pg_catalog.text FROM @extschema@.reader_functions() f LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', v, role);
	END LOOP;
	-- the views of the sources attached so far (call again after attaching)
	FOR v IN SELECT DISTINCT a.view_schema FROM @extschema@.attachment a LOOP
		EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO %s', v, role);
	END LOOP;
	FOR v IN SELECT pg_catalog.unnest(a.views) FROM @extschema@.attachment a LOOP
		EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s', v, role);
	END LOOP;
END
$fn$;
COMMENT ON PROCEDURE @extschema@.grant_reader(pg_catalog.regrole) IS
	'let a role read tokacct''s views and the views of every attached source, and price calls, without reading any table of tokacct (for analysts and BI tools; call again after attaching a source)';

CREATE OR REPLACE PROCEDURE @extschema@.grant_admin(role pg_catalog.regrole)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	CALL @extschema@.grant_reader(role);
	EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %s',
							  '@extschema@', role);
	EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %s',
							  '@extschema@', role);
END
$fn$;
COMMENT ON PROCEDURE @extschema@.grant_admin(pg_catalog.regrole) IS
	'let a role also read and change tokacct''s tables: catalogs, discounts, ledger, baselines, aliases, budgets and rollups (load prices, set contract rates)';

DO $do$
DECLARE
	fix record;
	def pg_catalog.text;
	n pg_catalog.int4;
BEGIN
	FOR fix IN
		SELECT x.fn::pg_catalog.regproc::pg_catalog.oid::pg_catalog.regprocedure AS fn, x.old, x.new
		  FROM (VALUES
			('@extschema@.attach_build',
			 'FROM @extschema@.model_alias ma GROUP BY 1', 'FROM @extschema@.model_alias_rows() ma GROUP BY 1'),
			('@extschema@.attach_build',
			 'FROM @extschema@.provider_alias pa)', 'FROM @extschema@.provider_alias_rows() pa)'),
			('@extschema@.attach_build',
			 'FROM @extschema@.baseline bl' || pg_catalog.chr(10), 'FROM @extschema@.baseline_rows() bl' || pg_catalog.chr(10)),
			('@extschema@.attach_records',
			 'FROM @extschema@.baseline x' || pg_catalog.chr(10), 'FROM @extschema@.baseline_rows() x' || pg_catalog.chr(10)),
			('@extschema@.attach_records',
			 'FROM @extschema@.cutover c' || pg_catalog.chr(10), 'FROM @extschema@.cutover_rows() c' || pg_catalog.chr(10)),
			('@extschema@.attach_bi_sql',
			 'FROM @extschema@.allocation_budget b' || pg_catalog.chr(10), 'FROM @extschema@.allocation_budget_rows() b' || pg_catalog.chr(10))
		  ) x(fn, old, new)
	LOOP
		def := pg_catalog.pg_get_functiondef(fix.fn);
		n := (pg_catalog.length(def) - pg_catalog.length(pg_catalog.replace(def, fix.old, ''))) / pg_catalog.length(fix.old);
		IF n OPERATOR(pg_catalog.<>) 1 THEN
			RAISE EXCEPTION 'upgrade: % holds "%" % times, not once', fix.fn, fix.old, n;
		END IF;
		EXECUTE pg_catalog.replace(def, fix.old, fix.new);
	END LOOP;
END
$do$;

-- ---------------------------------------------------------------------------
-- Parallel waste (0.2.0): parallel workers classify the partial states they
-- send, so parallel plans are worth it and waste_combine loses the planner
-- cost that kept waste queries serial.
-- ---------------------------------------------------------------------------
ALTER FUNCTION @extschema@.waste_combine(@extschema@.waste_state, @extschema@.waste_state) COST 1;

-- ---------------------------------------------------------------------------
-- Names read from tokacct.attachment are not SQL (h-review): an admin
-- writes that table (it attaches sources), so grant_reader() grants only
-- the attached views it can verify, by oid; attach_drop_view() drops the
-- view a name resolves to; rollup_source_apply() reads a calls view only
-- when its owner has the caller's privileges.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE PROCEDURE @extschema@.grant_reader(role pg_catalog.regrole)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	v pg_catalog.text;
BEGIN
	IF role IS NULL THEN
		RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT pg_catalog.pg_has_role(CURRENT_USER,
			(SELECT nspowner FROM pg_catalog.pg_namespace
			  WHERE nspname OPERATOR(pg_catalog.=) '@extschema@'), 'MEMBER') THEN
		RAISE EXCEPTION 'only the owner of schema @extschema@ can grant access to it'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Run this as the role that created the extension, or a superuser.';
	END IF;
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO %s', '@extschema@', role);
	-- tokacct's views, not its tables
	FOR v IN SELECT c.oid::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_class c
			  WHERE c.relnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
				AND c.relkind OPERATOR(pg_catalog.=) 'v' ORDER BY c.relname LOOP
		EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s', v, role);
	END LOOP;
	-- the functions PUBLIC may not execute: pricing, and tokacct's tables read for the views
	FOR v IN SELECT f::pg_catalog.text FROM @extschema@.reader_functions() f LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', v, role);
	END LOOP;
	-- the views of the sources attached so far (call again after attaching).
	-- tokacct.attachment is written by admins (they attach sources), so the
	-- names it holds are not SQL to run: grant, by oid, only the views named
	-- there that are in the source's view schema, are not built in and carry
	-- the comment attaching gave them ("tokacct, source s: ", "tokacct,
	-- system of record s: "; only a view's owner can comment it),
	-- and USAGE on the schemas holding them.
	FOR v IN
		WITH attached AS (
			SELECT s.nspname, c.oid
			  FROM @extschema@.attachment a
			  JOIN pg_catalog.pg_namespace s ON s.nspname OPERATOR(pg_catalog.=) a.view_schema
			  JOIN pg_catalog.pg_class c ON c.relnamespace OPERATOR(pg_catalog.=) s.oid
				   AND c.relkind OPERATOR(pg_catalog.=) 'v' AND c.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid
			 WHERE pg_catalog.format('%I.%I', s.nspname, c.relname) OPERATOR(pg_catalog.=) ANY (a.views)
			   AND (pg_catalog.starts_with(pg_catalog.obj_description(c.oid, 'pg_class'),
										   'tokacct, source ' OPERATOR(pg_catalog.||) a.source OPERATOR(pg_catalog.||) ': ')
					OR pg_catalog.starts_with(pg_catalog.obj_description(c.oid, 'pg_class'),
										   'tokacct, system of record ' OPERATOR(pg_catalog.||) a.source OPERATOR(pg_catalog.||) ': ')))
		SELECT pg_catalog.format('USAGE ON SCHEMA %I', t.nspname) FROM attached t GROUP BY t.nspname
		UNION ALL
		SELECT pg_catalog.format('SELECT ON %s', t.oid::pg_catalog.regclass) FROM attached t
	LOOP
		EXECUTE pg_catalog.format('GRANT %s TO %s', v, role);
	END LOOP;
	-- on a Citus coordinator, the function grants on every worker too
	PERFORM @extschema@.citus_grant_functions(role);
END
$fn$;

CREATE OR REPLACE FUNCTION @extschema@.attach_drop_view(source pg_catalog.text, qname pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	rel regclass;
BEGIN
	-- qname comes from tokacct.attachment, which admins write: drop the
	-- view it names, by oid, and run nothing else
	rel := to_regclass(qname);
	IF rel IS NULL OR (SELECT c.relkind FROM pg_class c WHERE c.oid = rel) <> 'v' THEN
		RETURN;
	END IF;
	EXECUTE format('DROP VIEW IF EXISTS %s', rel);
EXCEPTION WHEN dependent_objects_still_exist THEN
	RAISE EXCEPTION 'cannot drop view % of source "%": other objects depend on it', qname, source
		USING ERRCODE = 'dependent_objects_still_exist',
			  DETAIL = (SELECT 'Depending: ' || string_agg(DISTINCT d.refobj, ', ') || '.'
						  FROM (SELECT pg_describe_object(dep.classid, dep.objid, dep.objsubid) AS refobj
								  FROM pg_depend dep JOIN pg_rewrite rw ON dep.classid = 'pg_rewrite'::regclass AND rw.oid = dep.objid
								 WHERE dep.refobjid = qname::regclass AND rw.ev_class <> qname::regclass) d),
			  HINT = 'Drop the views built on it first, then detach or attach again.';
END
$fn$;

CREATE OR REPLACE FUNCTION @extschema@.rollup_source_apply(source pg_catalog.text, traces pg_catalog.text[],
	OUT traces_done pg_catalog.int8, OUT groups_done pg_catalog.int8)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	a @extschema@.attachment%ROWTYPE;
	calls_view text;
	-- a group's key, NULLs told apart from every value
	gkey text := 'pg_catalog.concat_ws(pg_catalog.chr(31), pg_catalog.quote_nullable(%1$s.day), '
				 'pg_catalog.quote_nullable(%1$s.workflow), pg_catalog.quote_nullable(%1$s.model))';
BEGIN
	SELECT * INTO a FROM @extschema@.attachment t WHERE t.source = rollup_source_apply.source;
	calls_view := format('%I.%I', a.view_schema, a.view_prefix || 'calls');
	-- The calls view belongs to whoever attached the source, who can replace
	-- it (and tokacct.attachment, where its name comes from, is written by
	-- admins): its functions run as the caller, so read it only when its
	-- owner has the caller's privileges, as source_check() does for a view.
	IF NOT EXISTS (SELECT 1 FROM pg_class c
					WHERE c.oid = to_regclass(calls_view) AND c.relkind = 'v'
					  AND pg_has_role(c.relowner, current_user, 'USAGE')) THEN
		RAISE EXCEPTION 'cannot refresh the rollup of source "%": its calls view % is not one this role can read safely', source, calls_view
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('The view is missing or owned by %s, who lacks the privileges of role "%s"; reading it would run that role''s code with yours.',
						coalesce((SELECT c.relowner::regrole::text FROM pg_class c WHERE c.oid = to_regclass(calls_view)), 'nobody'), current_user),
				  HINT = 'Refresh as the role that attached the source (or one whose privileges it has), or attach it again as this role.';
	END IF;
	IF to_regclass('pg_temp.rollup_source_groups') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_groups;
	END IF;
	CREATE TEMP TABLE rollup_source_groups (gkey text PRIMARY KEY) ON COMMIT DROP;
	-- the old contributions of the traces, and the groups they were in
	EXECUTE format($q$
	WITH old AS (
		DELETE FROM @extschema@.rollup_source_trace t
		 WHERE t.source = $1 AND ($2 IS NULL OR t.trace_id = ANY ($2)
				OR (t.trace_id IS NULL AND array_position($2, NULL::text) IS NOT NULL))
		RETURNING t.day, t.workflow, t.model
	)
	INSERT INTO pg_temp.rollup_source_groups SELECT DISTINCT %s FROM old g$q$, format(gkey, 'g'))
	USING source, traces;
	-- their new contributions, from the calls view
	EXECUTE format($q$
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_trace
		SELECT $1, c.trace_id, (c.started_at AT TIME ZONE 'UTC')::date AS day, c.workflow, c.model,
			   count(*), count(*) FILTER (WHERE c.cost IS NULL),
			   coalesce(sum(c.input_tokens), 0), coalesce(sum(c.output_tokens), 0),
			   coalesce(sum(c.cache_read_tokens), 0), coalesce(sum(c.cache_write_tokens), 0),
			   coalesce(sum(c.reasoning_tokens), 0),
			   coalesce(sum(c.cost), 0), coalesce(sum(c.cost) FILTER (WHERE c.cost_source = 'reported'), 0),
			   coalesce(sum(c.list_cost), 0), @extschema@.cost_sketch(c.cost)
		  FROM %1$s c %2$s
		 GROUP BY c.trace_id, 3, c.workflow, c.model
		RETURNING day, workflow, model
	)
	INSERT INTO pg_temp.rollup_source_groups SELECT DISTINCT %3$s FROM new g ON CONFLICT DO NOTHING$q$,
		calls_view, CASE WHEN traces IS NULL THEN '' ELSE 'WHERE c.trace_id = ANY ($2) '
			'OR (c.trace_id IS NULL AND array_position($2, NULL::text) IS NOT NULL)' END, format(gkey, 'g'))
	USING source, traces;
	traces_done := CASE WHEN traces IS NULL
		THEN (SELECT count(DISTINCT t.trace_id) FROM @extschema@.rollup_source_trace t WHERE t.source = rollup_source_apply.source)
		ELSE coalesce(array_length(traces, 1), 0) END;
	groups_done := (SELECT count(*) FROM pg_temp.rollup_source_groups);
	-- the daily rows of those groups, rebuilt from the contributions
	EXECUTE format('DELETE FROM @extschema@.rollup_source_daily d USING pg_temp.rollup_source_groups g '
		'WHERE d.source = $1 AND %s = g.gkey', format(gkey, 'd')) USING source;
	EXECUTE format($q$
	INSERT INTO @extschema@.rollup_source_daily
	SELECT $1, t.day, t.workflow, t.model, count(DISTINCT t.trace_id), sum(t.calls), sum(t.calls_left_out),
		   sum(t.input_tokens), sum(t.output_tokens), sum(t.cache_read_tokens), sum(t.cache_write_tokens),
		   sum(t.reasoning_tokens), sum(t.cost), sum(t.reported_cost), sum(t.list_cost),
		   @extschema@.merge(t.cost_sketch), statement_timestamp()
	  FROM @extschema@.rollup_source_trace t
	 WHERE t.source = $1 AND %s IN (SELECT g.gkey FROM pg_temp.rollup_source_groups g)
	 GROUP BY t.day, t.workflow, t.model$q$, format(gkey, 't')) USING source;
	DROP TABLE pg_temp.rollup_source_groups;
END
$fn$;

-- ---------------------------------------------------------------------------
-- Citus: grants on the pricing functions reach the workers (grant_reader()
-- and citus_distribute_catalog() call citus_grant_functions()).
-- ---------------------------------------------------------------------------
-- On a Citus coordinator, the EXECUTE grants of reader_functions() that a
-- role holds here are given on every worker too: Citus carries grants on
-- tables to the workers, not grants on an extension's functions, and cost()
-- runs on the workers in pushed-down queries.  Nothing without Citus or on
-- a worker.  Returns the workers granted to.
CREATE FUNCTION @extschema@.citus_grant_functions(role pg_catalog.regrole)
	RETURNS pg_catalog.int4
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	coordinator pg_catalog.bool;
	fns pg_catalog.text;
	failed pg_catalog.text;
	workers pg_catalog.int4;
BEGIN
	IF pg_catalog.to_regprocedure('pg_catalog.run_command_on_workers(pg_catalog.text, pg_catalog.bool)') IS NULL
	   OR pg_catalog.to_regprocedure('pg_catalog.citus_is_coordinator()') IS NULL THEN
		RETURN 0;
	END IF;
	EXECUTE 'SELECT pg_catalog.citus_is_coordinator()' INTO coordinator;
	IF NOT coordinator THEN
		RETURN 0;
	END IF;
	SELECT pg_catalog.string_agg(f::pg_catalog.text, ', ' ORDER BY f::pg_catalog.text) INTO fns
	  FROM @extschema@.reader_functions() f
	 WHERE pg_catalog.has_function_privilege(role, f, 'EXECUTE');
	IF fns IS NULL THEN
		RETURN 0;
	END IF;
	EXECUTE 'SELECT pg_catalog.string_agg(w.nodename OPERATOR(pg_catalog.||) '':'' OPERATOR(pg_catalog.||) w.nodeport '
			'OPERATOR(pg_catalog.||) '': '' OPERATOR(pg_catalog.||) w.result, ''; '') FILTER (WHERE NOT w.success), '
			'pg_catalog.count(*) FROM pg_catalog.run_command_on_workers($1, true) w'
	   INTO failed, workers
	  USING pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', fns, role);
	IF failed IS NOT NULL THEN
		RAISE EXCEPTION 'could not grant %''s pricing functions on every Citus worker', role
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = failed,
				  HINT = 'Check that the role and the extension exist on each worker, then call the grant again.';
	END IF;
	RETURN workers;
END
$fn$;
COMMENT ON FUNCTION @extschema@.citus_grant_functions(pg_catalog.regrole) IS
	'on a Citus coordinator: give a role, on every worker, the EXECUTE grants of reader_functions() it holds on the coordinator (Citus does not carry grants on an extension''s functions); nothing elsewhere; returns the workers granted to';
REVOKE EXECUTE ON FUNCTION @extschema@.citus_grant_functions(pg_catalog.regrole) FROM PUBLIC;


-- ---------------------------------------------------------------------------
-- Refreshing an attached source's rollup reads only the traces it
-- recomputes (0.2.0): the calls view takes each trace's workflow and item
-- from the traces (no window), so a refresh recomputing trace by trace
-- reaches the source's table by the trace id (in one pass when the planner
-- says that costs less: no index on the trace id); the touched traces are
-- found by the age of each row's xmin, within the window since the last
-- refresh; a touched day's row is updated by the difference
-- (sketch_subtract()) or, when a cost sketch cannot tell it, rebuilt from
-- its contributions, found by an index on the group (infinite days keyed
-- as such).  Views attached before get the new calls view by attaching the
-- source again with the same arguments.
-- ---------------------------------------------------------------------------

-- A day x workflow x model group as one value, NULLs told apart from every
-- value (immutable: the day as a day number, or infinity / -infinity: a
-- call's start time may be infinite), so that the contributions of the
-- groups a refresh rebuilds are found by an index, whatever is NULL.
CREATE FUNCTION @extschema@.rollup_source_group(day pg_catalog.date, workflow pg_catalog.text, model pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN COALESCE(CASE WHEN pg_catalog.isfinite(day)
			THEN (day OPERATOR(pg_catalog.-) '2000-01-01'::pg_catalog.date)::pg_catalog.text
			WHEN day OPERATOR(pg_catalog.>) '2000-01-01'::pg_catalog.date THEN 'infinity'
			WHEN day OPERATOR(pg_catalog.<) '2000-01-01'::pg_catalog.date THEN '-infinity' END, '-')
		OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) COALESCE(pg_catalog.quote_literal(workflow), '-')
		OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) COALESCE(pg_catalog.quote_literal(model), '-');
COMMENT ON FUNCTION @extschema@.rollup_source_group(pg_catalog.date, pg_catalog.text, pg_catalog.text) IS
	'step of rollup_source_refresh(): a day x workflow x model group of the rollup as one text (NULLs told apart from every value)';
DROP INDEX @extschema@.rollup_source_trace_group;
CREATE INDEX rollup_source_trace_group ON @extschema@.rollup_source_trace
	(source, @extschema@.rollup_source_group(day, workflow, model));

-- The sketch of a's costs once b's are taken out, when a and b alone tell
-- it exactly: b's costs strictly inside a's min and max (src/agg_sketch.c);
-- NULL otherwise.  A refresh takes a trace's old contribution out of a
-- rollup row with it instead of merging every other contribution again.
CREATE FUNCTION @extschema@.sketch_subtract(a @extschema@.sketch_state, b @extschema@.sketch_state)
	RETURNS @extschema@.sketch_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_subtract';
COMMENT ON FUNCTION @extschema@.sketch_subtract(@extschema@.sketch_state, @extschema@.sketch_state) IS
	'step of rollup_source_refresh(): the cost sketch of a''s costs less b''s (b''s costs a part of a''s), when it is known exactly (b''s costs strictly between a''s min and max); NULL otherwise';
COMMENT ON COLUMN @extschema@.rollup_source_daily.traces IS 'traces with calls in the row (the calls without a trace id not counted as one)';

-- The traces touched since the last refresh: rows whose xmin is in the
-- window from the saved snapshot's xmin to the newest a row read can have,
-- not every row whose age is below lo's (a frozen row's xmin reads as new
-- 2^31 transactions after it was written).
CREATE OR REPLACE FUNCTION @extschema@.rollup_source_keys(source pg_catalog.text, lo pg_catalog.int8)
	RETURNS pg_catalog.text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	a @extschema@.attachment%ROWTYPE;
	parts text[] := '{}';
	rel regclass;
	col text;
	i int;
	cond text;
	h int8;
	width int8;
	lw int8;
	tracked xid8;
	joined oid[];
BEGIN
	SELECT * INTO a FROM @extschema@.attachment t WHERE t.source = rollup_source_keys.source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'source "%" is not attached', source
			USING ERRCODE = 'undefined_object',
				  HINT = 'Attach it again (tokacct.attach_otel(), attach_langfuse()), or drop its rollup with tokacct.rollup_source_drop().';
	END IF;
	-- xmin is 32 bits, read by age() against one reference transaction (the
	-- same for the whole transaction; age() is parallel restricted, so never
	-- another in a worker).  A row is new when its xmin is in [lo, lo +
	-- width), width reaching the newest xmin a row read can have (below the
	-- snapshot's xmax, or this transaction's own id): when its age is in
	-- (h - width, h], h lo's age, modulo 2^32.  That window only, not every
	-- age below h: a frozen row keeps its xmin, which reads as newer than
	-- the reference (a negative age) 2^31 transactions after it was written.
	IF lo IS NULL THEN
		cond := 'true';
	ELSE
		h := pg_catalog.age((lo % 4294967296)::text::xid);
		width := greatest(pg_snapshot_xmax(pg_current_snapshot())::text::int8 - lo, h + 1);
		lw := h - width;
		cond := format('@extschema@.rollup_source_written(pg_catalog.age(r.xmin), %s, %s)', h, lw);
	END IF;
	-- Tracked tables (rollup_source_track()) say which rows are new by their
	-- stamp, through its index: the rows written since lo.  Only once every
	-- transaction that wrote a row before the tracking began is older than
	-- lo (else a row without a stamp could still be new to this refresh),
	-- and only when every table (every partition of a partitioned one,
	-- every child of an inheritance parent: the scan reads them all) has
	-- had the stamp and its trigger, always enabled, since before lo (their
	-- catalog rows older than lo): else by xmin.
	IF lo IS NOT NULL THEN
		SELECT p.tracked_xmax INTO tracked FROM @extschema@.rollup_source p WHERE p.source = rollup_source_keys.source;
		IF tracked IS NOT NULL AND lo >= tracked::text::int8 AND (SELECT pg_catalog.bool_and(EXISTS (
				SELECT 1 FROM pg_attribute c JOIN pg_trigger g ON g.tgrelid = c.attrelid
				 WHERE c.attrelid = t.relid AND c.attname = 'tokacct_written_xid' AND NOT c.attisdropped
				   AND c.atttypid = 'pg_catalog.xid8'::regtype
				   AND g.tgname = 'tokacct_written_xid' AND g.tgenabled = 'A'
				   AND g.tgfoid = '@extschema@.rollup_source_stamp()'::regprocedure
				   -- and so since before lo: a trigger disabled and enabled
				   -- again (or a column added again) since lo may have let
				   -- rows written meanwhile go unstamped
				   AND NOT @extschema@.rollup_source_written(pg_catalog.age(g.xmin), h, lw)
				   AND NOT @extschema@.rollup_source_written(pg_catalog.age(c.xmin), h, lw)))
			  FROM (WITH RECURSIVE d(relid) AS (
						SELECT r.rel::oid FROM unnest(a.relations) r(rel)
						UNION SELECT i.inhrelid FROM pg_inherits i JOIN d ON i.inhparent = d.relid)
					SELECT d.relid FROM d) t) THEN
			cond := format('r.tokacct_written_xid OPERATOR(pg_catalog.>=) %L::pg_catalog.xid8', lo);
		END IF;
	END IF;
	FOR i IN 1 .. array_length(a.relations, 1) LOOP
		rel := a.relations[i];
		-- held before it is checked, until the refresh commits: what is
		-- checked is what the refresh reads
		PERFORM @extschema@.rollup_source_hold(rel);
		IF a.kind = 'otel' THEN
			col := coalesce(a.options -> 'columns' ->> 'trace_id', 'TraceId');
		ELSIF a.kind = 'langfuse' THEN
			-- attach_langfuse stores observations, traces[, scores]
			col := CASE i WHEN 2 THEN 'id' ELSE 'trace_id' END;
		ELSE
			RAISE EXCEPTION 'a rollup of source "%" is not supported: its kind is %', source, a.kind
				USING ERRCODE = 'feature_not_supported',
					  DETAIL = 'A refresh finds the traces touched since the last one by a column holding the trace id; sources of kind otel and langfuse have one.',
					  HINT = 'Aggregate its calls view directly.';
		END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = rel AND c.relkind IN ('r', 'p')) THEN
			RAISE EXCEPTION 'a rollup of source "%" needs tables: % is not one', source, rel
				USING ERRCODE = 'feature_not_supported',
					  DETAIL = 'A refresh finds the rows written since the last one by their xmin, which only tables have.',
					  HINT = 'Aggregate its calls view directly.';
		END IF;
		-- read as every caller-named relation is (the trace key only)
		PERFORM @extschema@.source_check(rel, ARRAY[col], ARRAY['id']);
		-- A partition attached (or an inheritance child added) since lo
		-- brings rows written before, whatever their xmin or stamp: such a
		-- table (every table under it) is read whole, once.
		joined := NULL;
		IF lo IS NOT NULL THEN
			WITH RECURSIVE d(relid, new) AS (
				SELECT i.inhrelid, @extschema@.rollup_source_written(pg_catalog.age(i.xmin), h, lw)
				  FROM pg_inherits i WHERE i.inhparent = rel
				UNION
				SELECT i.inhrelid, d.new OR @extschema@.rollup_source_written(pg_catalog.age(i.xmin), h, lw)
				  FROM pg_inherits i JOIN d ON i.inhparent = d.relid)
			SELECT pg_catalog.array_agg(DISTINCT d.relid) FILTER (WHERE d.new) INTO joined FROM d;
		END IF;
		parts := parts || format('SELECT %s AS trace_id FROM %s r WHERE %s',
			@extschema@.attach_column(rel, col, 'text', 'trace id'), rel,
			CASE WHEN joined IS NULL THEN cond
				ELSE format('(%s) OR r.tableoid OPERATOR(pg_catalog.=) ANY (%L::pg_catalog.oid[])', cond, joined) END);
	END LOOP;
	RETURN format('SELECT DISTINCT k.trace_id FROM (%s) k', array_to_string(parts, ' UNION ALL '));
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_keys(pg_catalog.text, pg_catalog.int8) IS
	'step of rollup_source_refresh(): the SQL listing the traces of a source with rows written by transaction lo or later (every trace when NULL)';

-- The touched traces recomputed trace by trace only when the planner reaches
-- a trace's rows for less than one pass over them all costs (an index on
-- the trace id); else in one pass.
CREATE OR REPLACE FUNCTION @extschema@.rollup_source_apply(source pg_catalog.text, traces pg_catalog.text[],
	OUT traces_done pg_catalog.int8, OUT groups_done pg_catalog.int8)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	a @extschema@.attachment%ROWTYPE;
	calls_view text;
	per_trace text;
	sums text;
	-- the summed columns of a contribution and of a day's row, in order
	summed text[] := ARRAY['calls', 'calls_left_out', 'input_tokens', 'output_tokens', 'cache_read_tokens',
						   'cache_write_tokens', 'reasoning_tokens', 'cost', 'reported_cost', 'list_cost'];
	-- the calls without a trace id, when they are among the traces
	no_trace text := 'c.trace_id IS NULL AND pg_catalog.array_position($2, NULL::pg_catalog.text) IS NOT NULL';
	traces_view text;
	v text;
	-- a group's key (see rollup_source_group())
	gkey text := '@extschema@.rollup_source_group(%1$s.day, %1$s.workflow, %1$s.model)';
BEGIN
	SELECT * INTO a FROM @extschema@.attachment t WHERE t.source = rollup_source_apply.source;
	calls_view := format('%I.%I', a.view_schema, a.view_prefix || 'calls');
	traces_view := format('%I.%I', a.view_schema, a.view_prefix || 'traces');
	IF to_regclass(traces_view) IS NULL OR NOT traces_view = ANY (a.views) THEN
		traces_view := NULL;
	END IF;
	-- The views belong to whoever attached the source, who can replace them
	-- (and tokacct.attachment, where their names come from, is written by
	-- admins): their functions run as the caller, so read them only when
	-- their owner has the caller's privileges, as source_check() does for a
	-- view.  Each is locked first, then checked: the owner of the view
	-- schema may drop a view and create another under its name, and a
	-- refresh that checked the view by its name and read it later would
	-- read the new one (waiting, when it reads, for the lock of the
	-- transaction that dropped the old).  Locked, the name keeps its view
	-- until this transaction ends.
	FOREACH v IN ARRAY array_remove(ARRAY[calls_view, traces_view], NULL) LOOP
		IF to_regclass(v) IS NOT NULL THEN
			EXECUTE format('LOCK TABLE %s IN ACCESS SHARE MODE', v);
		END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_class c
						WHERE c.oid = to_regclass(v) AND c.relkind = 'v'
						  AND pg_has_role(c.relowner, current_user, 'USAGE')) THEN
			RAISE EXCEPTION 'cannot refresh the rollup of source "%": its % view % is not one this role can read safely',
				source, CASE WHEN v = calls_view THEN 'calls' ELSE 'traces' END, v
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = format('The view is missing or owned by %s, who lacks the privileges of role "%s"; reading it would run that role''s code with yours.',
							coalesce((SELECT c.relowner::regrole::text FROM pg_class c WHERE c.oid = to_regclass(v)), 'nobody'), current_user),
					  HINT = 'Refresh as the role that attached the source (or one whose privileges it has), or attach it again as this role.';
		END IF;
	END LOOP;
	-- What a set of contributions adds to each group it falls in (%1$s: the
	-- rows, %2$s: their group key).
	sums := format('SELECT %%2$s AS gkey, g.day, g.workflow, g.model, count(g.trace_id) AS traces, %s, '
		'@extschema@.merge(g.cost_sketch) AS cost_sketch FROM %%1$s g GROUP BY 1, 2, 3, 4',
		(SELECT string_agg(format('sum(g.%1$I) AS %1$I', c), ', ') FROM unnest(summed) c));
	-- (left by an earlier refresh of this transaction that failed in a
	-- subtransaction)
	IF to_regclass('pg_temp.rollup_source_old') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_old;
	END IF;
	IF to_regclass('pg_temp.rollup_source_new') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_new;
	END IF;
	IF to_regclass('pg_temp.rollup_source_groups') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_groups;
	END IF;
	-- the old contributions of the traces, summed per group
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_old ON COMMIT DROP AS
	WITH old AS (
		DELETE FROM @extschema@.rollup_source_trace t
		 WHERE t.source = $1 AND %s
		RETURNING t.*
	)
	%s$q$, CASE WHEN traces IS NULL THEN 'true'
		-- (in two conditions the index on the trace id answers)
		ELSE '(t.trace_id = ANY ($2) OR (t.trace_id IS NULL AND array_position($2, NULL::text) IS NOT NULL))' END,
		format(sums, 'old', format(gkey, 'g')))
	USING source, traces;
	-- their new contributions, from the calls view, summed per group.  The
	-- touched traces are read in one pass: their calls from the calls view
	-- (read without the workflow, which the view would take from every
	-- trace of the source: PostgreSQL passes a list of trace ids down to
	-- the table, not through a join), their workflow from the traces view
	-- (a list of trace ids reaches the table through its GROUP BY).  A
	-- source attached before the traces view existed (it has none until
	-- attached again) takes the calls view whole.
	per_trace := $q$
		SELECT c.trace_id, (c.started_at AT TIME ZONE 'UTC')::date AS day, %3$s AS workflow, c.model,
			   count(*), count(*) FILTER (WHERE c.cost IS NULL),
			   coalesce(sum(c.input_tokens), 0), coalesce(sum(c.output_tokens), 0),
			   coalesce(sum(c.cache_read_tokens), 0), coalesce(sum(c.cache_write_tokens), 0),
			   coalesce(sum(c.reasoning_tokens), 0),
			   coalesce(sum(c.cost), 0), coalesce(sum(c.cost) FILTER (WHERE c.cost_source = 'reported'), 0),
			   coalesce(sum(c.list_cost), 0), @extschema@.cost_sketch(c.cost)
		  FROM %1$s c%4$s
		 WHERE %2$s
		 GROUP BY c.trace_id, 2, 3, c.model$q$;
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_new ON COMMIT DROP AS
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_trace
		SELECT $1, x.* FROM (%1$s) x
		RETURNING *
	)
	%2$s$q$,
		CASE WHEN traces IS NULL THEN format(per_trace, calls_view, 'true', 'c.workflow', '')
		WHEN traces_view IS NULL THEN format(per_trace, calls_view, 'c.trace_id = ANY ($2) OR ' || no_trace, 'c.workflow', '')
		ELSE format(per_trace, calls_view, 'c.trace_id = ANY ($2)', 't.workflow',
				format(' LEFT JOIN %s t ON t.trace_id = c.trace_id AND t.trace_id = ANY ($2)', traces_view))
			|| ' UNION ALL ' || format(per_trace, calls_view, no_trace, 'NULL::pg_catalog.text', '') END,
		format(sums, 'new', format(gkey, 'g')))
	USING source, traces;
	traces_done := CASE WHEN traces IS NULL
		THEN (SELECT count(DISTINCT t.trace_id) FROM @extschema@.rollup_source_trace t WHERE t.source = rollup_source_apply.source)
		ELSE coalesce(array_length(traces, 1), 0) END;

	-- Each group touched: its row as it was, less the old contributions,
	-- plus the new ones (one row per group; in a full run every contribution
	-- is new and the rows are the new sums).  Sums subtract exactly; a cost
	-- sketch does when the costs taken out lie strictly inside the row's
	-- min and max (sketch_subtract() is NULL otherwise): those groups are
	-- rebuilt from their contributions.
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_groups ON COMMIT DROP AS
	SELECT k.gkey, k.day, k.workflow, k.model,
		   o.gkey IS NULL OR (d.gkey IS NOT NULL AND (o.cost_sketch IS NULL OR kept.s IS NOT NULL)) AS exact,
		   %2$s,
		   (SELECT @extschema@.merge(v.s) FROM (VALUES (kept.s), (n.cost_sketch)) v(s)) AS cost_sketch
	  FROM (SELECT x.gkey, x.day, x.workflow, x.model FROM pg_temp.rollup_source_old x
			UNION SELECT x.gkey, x.day, x.workflow, x.model FROM pg_temp.rollup_source_new x) k
	  LEFT JOIN pg_temp.rollup_source_old o ON o.gkey = k.gkey AND NOT $2
	  LEFT JOIN pg_temp.rollup_source_new n ON n.gkey = k.gkey
	  LEFT JOIN (SELECT %1$s AS gkey, d.* FROM @extschema@.rollup_source_daily d WHERE d.source = $1) d
		ON d.gkey = k.gkey AND NOT $2,
	-- the row's sketch less the old contributions' (NULL when not exact)
	LATERAL (SELECT CASE WHEN o.cost_sketch IS NULL THEN d.cost_sketch
						 ELSE @extschema@.sketch_subtract(d.cost_sketch, o.cost_sketch) END AS s) kept$q$,
		format(gkey, 'd'),
		(SELECT string_agg(format('coalesce(d.%1$I, 0) - coalesce(o.%1$I, 0) + coalesce(n.%1$I, 0) AS %1$I', c), ', ')
		   FROM unnest('traces'::text || summed) c))
	USING source, traces IS NULL;
	groups_done := (SELECT count(*) FROM pg_temp.rollup_source_groups);
	-- the daily rows of those groups replaced: by the sums above, or rebuilt
	-- group by group (each group's contributions found by the index)
	EXECUTE format('DELETE FROM @extschema@.rollup_source_daily d USING pg_temp.rollup_source_groups g '
		'WHERE d.source = $1 AND %s = g.gkey', format(gkey, 'd')) USING source;
	EXECUTE format($q$
	INSERT INTO @extschema@.rollup_source_daily
	SELECT $1, x.day, x.workflow, x.model, x.traces, %1$s, x.cost_sketch, statement_timestamp()
	  FROM pg_temp.rollup_source_groups x
	 WHERE x.exact AND x.calls > 0
	UNION ALL
	SELECT $1, x.day, x.workflow, x.model, x.traces, %1$s, x.cost_sketch, statement_timestamp()
	  FROM pg_temp.rollup_source_groups r,
	LATERAL (%2$s) x
	 WHERE NOT r.exact$q$,
		(SELECT string_agg(format('x.%I', c), ', ') FROM unnest(summed) c),
		format(sums, format('(SELECT t.* FROM @extschema@.rollup_source_trace t WHERE t.source = $1 AND %s = r.gkey)',
							format(gkey, 't')), format(gkey, 'g')))
	USING source;
	DROP TABLE pg_temp.rollup_source_old, pg_temp.rollup_source_new, pg_temp.rollup_source_groups;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_apply(pg_catalog.text, pg_catalog.text[]) IS
	'step of rollup_source_refresh(): recompute some traces (all when NULL) of a source from its calls view, replace their contributions and rebuild the daily rows they touch';

CREATE OR REPLACE FUNCTION @extschema@.attach_build(source pg_catalog.text, parts pg_catalog.jsonb,
	opts pg_catalog.jsonb, dedup pg_catalog.bool) RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	src text := quote_literal(source) || '::pg_catalog.text';
	sep text := CASE WHEN opts ->> 'cache_tokens' = 'separate' THEN 'true' ELSE 'false' END;
	is_strict boolean := coalesce((opts ->> 'strict')::boolean, false);
	reported_first boolean := coalesce(opts ->> 'cost_basis', 'reported_first') = 'reported_first';
	success text := quote_literal(coalesce(
		(SELECT array_agg(lower(v)) FROM jsonb_array_elements_text(opts -> 'success_values') v),
		ARRAY['success', 'succeeded', 'solved', 'resolved', 'ok', 'pass', 'passed', 'true', '1', 'yes'])::text)
		|| '::pg_catalog.text[]';
	colnames text[] := ARRAY['trace_id', 'span_id', 'parent_id', 'name', 'started_at', 'ended_at',
		'status_raw', 'error_type', 'operation', 'kind', 'provider', 'request_model', 'response_model',
		'input_raw', 'output_raw', 'cache_read_raw', 'cache_write_raw', 'reasoning_raw',
		'reported_cost', 'reported_cost_raw', 'reported_currency', 'reported_cost_source', 'estimated_cost',
		'conversation_id', 'tool_name', 'args_hash', 'workflow', 'item', 'outcome', 'option', 'attempt_raw',
		'segment'];
	cols jsonb := parts -> 'cols';
	rel text := parts ->> 'from';
	sel text;
	dedup_sel text;
	content text;
	call_filter text;
	usage_kind text;
	base_all text;			-- every stored row
	spans_rows text;		-- every span once, usage_kind telling calls and agent usage
	calls_rows text;		-- every counted call once
	priced text;			-- template: the rows of {{ROWS}} priced
	spans_priced text;
	calls_priced text;
	traces text;
	attempts text;
	by_trace text;
	attempt_expr text;
	v_calls text;
	v_spans text;
	v_attempts text;
	v_items text;
	v_conv text;
	v_problems text;
	v_traces text;
	record text;
	c text;
BEGIN
	FOREACH c IN ARRAY colnames LOOP
		IF NOT cols ? c THEN
			RAISE EXCEPTION 'attach_build: the source gives no column %', c USING ERRCODE = 'internal_error';
		END IF;
	END LOOP;
	SELECT string_agg(format('%s AS %I', cols ->> n, n), E',\n\t   ' ORDER BY o)
	  INTO sel FROM unnest(colnames) WITH ORDINALITY u(n, o);
	SELECT 'ROW(' || string_agg('b.' || n, ', ') || ')' INTO content
	  FROM unnest(colnames) n WHERE n NOT IN ('trace_id', 'span_id');

	base_all := format('SELECT %s%sFROM %s', sel, E'\n  ', rel);

	-- The spans whose usage is priced: LLM calls ("call"), and agent spans
	-- that carry usage ("agent").  An agent span's usage counts only where
	-- its trace has no LLM-call span (else it repeats its calls' usage):
	-- attempts, items and spans apply that per trace; the calls view lists
	-- LLM calls only, so it reads each row once, with no look at others.
	call_filter := format('%s = ''llm''', cols ->> 'kind');
	usage_kind := format('CASE %s WHEN ''llm'' THEN ''call''%s END', cols ->> 'kind',
		CASE WHEN coalesce(opts ->> 'agent_usage', 'when_no_calls') = 'when_no_calls' THEN format(
			' WHEN ''agent'' THEN CASE WHEN %s IS NOT NULL OR %s IS NOT NULL THEN ''agent'' END',
			cols ->> 'input_raw', cols ->> 'output_raw')
		ELSE '' END);

	-- Repeated span ids are collapsed on the stored rows (before anything is
	-- read from them), keeping the first copy in the source's order.  The
	-- collapsing passes on the table's columns (parts' star) but the stamp
	-- of a tracking (rollup_source_track()), which untracking drops.  The
	-- trace id is read back from the collapsing's own key (bytes, as "C"
	-- compares them; a deterministic collation's equality is the same
	-- bytes) in the trace id's own collation (parts' trace_collation: the
	-- column's, whose index a condition then reaches; else the default),
	-- so that a condition on trace ids (a rollup refresh's) passes the
	-- DISTINCT ON and reaches the table and its index on the trace id.
	IF dedup THEN
		IF parts ->> 'trace' = cols ->> 'trace_id' THEN
			SELECT string_agg(format('%s AS %I', CASE WHEN n = 'trace_id'
						THEN format('(r.tokacct_trace_key COLLATE %s)', coalesce(parts ->> 'trace_collation', 'pg_catalog."default"'))
						ELSE cols ->> n END, n), E',\n\t   ' ORDER BY o)
			  INTO dedup_sel FROM unnest(colnames) WITH ORDINALITY u(n, o);
		ELSE
			dedup_sel := sel;
		END IF;
		spans_rows := format(
			'SELECT %1$s, %7$s AS usage_kind%2$sFROM (SELECT DISTINCT ON ((%3$s) COLLATE "C", (%4$s) COLLATE "C") '
			'(%3$s) COLLATE "C" AS tokacct_trace_key, %8$s FROM %5$s '
			'ORDER BY (%3$s) COLLATE "C", (%4$s) COLLATE "C", %6$s) r',
			dedup_sel, E'\n  ', parts ->> 'trace', parts ->> 'span', rel, parts ->> 'order', usage_kind,
			coalesce(parts ->> 'star', 'r.*'));
		calls_rows := format(
			'SELECT %1$s, ''call''::pg_catalog.text AS usage_kind%2$sFROM (SELECT DISTINCT ON ((%3$s) COLLATE "C", (%4$s) COLLATE "C") '
			'(%3$s) COLLATE "C" AS tokacct_trace_key, %8$s FROM %5$s '
			'WHERE %7$s ORDER BY (%3$s) COLLATE "C", (%4$s) COLLATE "C", %6$s) r',
			dedup_sel, E'\n  ', parts ->> 'trace', parts ->> 'span', rel, parts ->> 'order', call_filter,
			coalesce(parts ->> 'star', 'r.*'));
	ELSE
		spans_rows := format('SELECT %s, %s AS usage_kind%sFROM %s', sel, usage_kind, E'\n  ', rel);
		calls_rows := format('SELECT %s, ''call''::pg_catalog.text AS usage_kind%sFROM %s WHERE %s', sel, E'\n  ', rel, call_filter);
	END IF;

	-- The rows of {{ROWS}} priced: l0 reads the counts and names, l1 prices,
	-- l2 says what is wrong.  Spans without usage to price cost 0.
	--
	-- The outer layer carries a column fence (but for a strict source, see
	-- the last argument below): attach_fence() is volatile, so PostgreSQL
	-- keeps this layer a subquery instead of pulling it up into the view
	-- (src/attach.c), and each column of a priced span (cost, list_cost,
	-- problem, the counts, the status) is computed once, where the view
	-- reads it; pulled up, every reference re-ran its whole expression (the
	-- attempts view summed the cost of a span in two aggregates and tested
	-- it in two more: a pricing each).  Quals on the other columns still go
	-- down to the scan of the user's table (only the fence column itself is
	-- unsafe to push down), unread columns are still dropped, and parallel
	-- plans stay possible (the fence is PARALLEL SAFE).  A fence in every
	-- layer (l0, l1, l2 and the rows) was measured slower than this one: a
	-- fenced layer computes eagerly all it passes up, where the flattened
	-- expressions short-circuit (the status is read only for a call
	-- without usage, ...), and adds a node per row.  One C function
	-- returning every derived value as a composite was the other way; it
	-- would move the pricing rules out of SQL for little more.
	-- PERFORMANCE.md has the figures.
	priced := format($q$
SELECT l2.*,
	   CASE WHEN NOT l2.priced THEN 0::pg_catalog.numeric ELSE %1$s END AS cost,
	   CASE WHEN NOT l2.priced THEN NULL
			WHEN %2$s AND l2.reported_usd IS NOT NULL THEN 'reported'
			WHEN l2.list_cost IS NOT NULL THEN 'catalog' END AS cost_source%4$s
  FROM (SELECT l1.*,
			   COALESCE(
				 CASE WHEN NOT l1.priced THEN NULL
					  WHEN l1.started_at IS NULL OR NOT pg_catalog.isfinite(l1.started_at)
					  THEN 'no usable start time' END,
				 CASE WHEN l1.priced THEN @extschema@.attach_usage_problem(l1.input_raw, l1.output_raw,
					 l1.cache_read_raw, l1.cache_write_raw, l1.reasoning_raw, %3$s) END,
				 CASE WHEN l1.priced THEN l1.reported_problem END,
				 CASE WHEN l1.priced AND NOT l1.has_usage AND l1.status = 'ok' AND l1.reported_usd IS NULL
					  THEN 'no token usage on a successful call' END,
				 CASE WHEN l1.priced AND l1.has_usage AND l1.list_cost IS NULL
					  THEN pg_catalog.format('no catalog price for provider %%s, model %%s',
							pg_catalog.quote_nullable(l1.price_provider), pg_catalog.quote_nullable(l1.price_model)) END,
				 CASE WHEN l1.status_unknown
					  THEN pg_catalog.format('unknown status %%s (taken as ok)', pg_catalog.quote_literal(l1.status_raw)) END
			   ) AS problem
		  FROM (SELECT l0.*,
					   CASE WHEN l0.priced THEN
						 COALESCE(@extschema@.attach_list_cost(l0.provider, l0.model, l0.input_raw,
								l0.output_raw, l0.cache_read_raw, l0.cache_write_raw, l0.reasoning_raw,
								l0.started_at, %3$s),
							CASE WHEN NOT l0.has_usage AND l0.status <> 'ok' THEN 0::pg_catalog.numeric END) END AS list_cost
				  FROM (SELECT c.*, c.usage_kind IS NOT NULL AS priced,
							   COALESCE(@extschema@.attach_status(c.status_raw, c.error_type), 'ok') AS status,
							   @extschema@.attach_status(c.status_raw, c.error_type) IS NULL AS status_unknown,
							   COALESCE(c.response_model, c.request_model) AS model,
							   -- the counts of a call that reports usage; an absent one is 0,
							   -- an unusable one NULL
							   CASE WHEN c.usage_kind IS NOT NULL AND (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) THEN
								   COALESCE(@extschema@.attach_input_tokens(c.input_raw, c.cache_read_raw, c.cache_write_raw, %3$s),
									   CASE WHEN pg_catalog.btrim(COALESCE(c.input_raw, '')) = '' THEN 0::pg_catalog.int8 END) END AS input_tokens,
							   {{COUNT:output_raw}} AS output_tokens,
							   {{COUNT:cache_read_raw}} AS cache_read_tokens,
							   {{COUNT:cache_write_raw}} AS cache_write_tokens,
							   {{COUNT:reasoning_raw}} AS reasoning_tokens,
							   (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) AS has_usage,
							   CASE WHEN c.reported_cost IS NULL AND c.reported_cost_raw IS NOT NULL
									 AND c.reported_cost_raw !~ '^\s*$'
									THEN pg_catalog.format('reported cost not a number: %%s',
										pg_catalog.quote_literal(pg_catalog.left(c.reported_cost_raw, 40)))
									WHEN c.reported_cost IS NULL THEN NULL
									WHEN c.reported_cost = 'NaN'::pg_catalog.numeric
									  OR c.reported_cost = 'Infinity'::pg_catalog.numeric
									  OR c.reported_cost = '-Infinity'::pg_catalog.numeric
									THEN 'reported cost not finite'
									WHEN c.reported_cost < 0 THEN 'reported cost negative'
									WHEN c.reported_cost > 1000000 THEN 'reported cost above 1000000'
							   END AS reported_problem,
							   CASE WHEN c.reported_cost IS NOT NULL
									 AND c.reported_cost <> 'NaN'::pg_catalog.numeric
									 AND c.reported_cost >= 0 AND c.reported_cost <= 1000000
									 AND pg_catalog.upper(COALESCE(c.reported_currency, 'USD')) = 'USD'
									THEN pg_catalog.round(c.reported_cost, 12) END AS reported_usd,
							   COALESCE({{ALIAS}} OPERATOR(pg_catalog.->>) 2,
								   {{PROVIDER_MAP}} OPERATOR(pg_catalog.->>) pg_catalog.lower(c.provider),
								   c.provider) AS price_provider,
							   COALESCE({{ALIAS}} OPERATOR(pg_catalog.->>) 3, c.response_model, c.request_model) AS price_model
						  FROM ({{ROWS}}) c) l0) l1) l2$q$,
		CASE
			WHEN is_strict THEN 'CASE WHEN l2.problem IS NOT NULL THEN @extschema@.attach_refuse('
				|| src || ', l2.trace_id, l2.span_id, l2.problem) '
				|| CASE WHEN reported_first THEN 'ELSE COALESCE(l2.reported_usd, l2.list_cost) END'
						ELSE 'ELSE l2.list_cost END' END
			WHEN reported_first THEN 'COALESCE(l2.reported_usd, l2.list_cost)'
			ELSE 'l2.list_cost'
		END,
		CASE WHEN reported_first THEN 'true' ELSE 'false' END,
		sep,
		-- a strict source's cost raises on a row with a problem: fenced, it
		-- would be computed for rows a qual on the view (WHERE item = ...)
		-- leaves out, and raise for them; a strict source is not fenced
		CASE WHEN is_strict THEN '' ELSE E',\n\t   @extschema@.attach_fence() AS fence' END);
	-- Aliases: each table is read once per query into a jsonb map (an
	-- InitPlan), so a call costs a key lookup rather than a join (the
	-- planner cannot estimate how many calls a join would see) and the
	-- pricing runs in parallel workers.  A model alias is looked for under
	-- "provider US model" (lower case); its period (unix seconds, the open
	-- ends as +-1e15) is chosen by the call's time with a jsonpath filter.
	priced := replace(replace(replace(priced,
		'{{ALIAS}}', $q$(CASE WHEN {{MODEL_MAP}} IS NOT NULL AND pg_catalog.isfinite(c.started_at)
					AND {{MODEL_MAP}} OPERATOR(pg_catalog.?) {{MODEL_KEY}}
			THEN pg_catalog.jsonb_path_query_first({{MODEL_MAP}} OPERATOR(pg_catalog.->) {{MODEL_KEY}},
				'strict $[*] ? (@[0] <= $t && $t < @[1])',
				pg_catalog.jsonb_build_object('t', EXTRACT(epoch FROM c.started_at))) END)$q$),
		'{{MODEL_KEY}}', $q$(pg_catalog.lower(COALESCE(c.provider, '')) OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) pg_catalog.lower(COALESCE(c.response_model, c.request_model)))$q$),
		'{{MODEL_MAP}}', $q$(SELECT pg_catalog.jsonb_object_agg(m.k, m.periods)
			FROM (SELECT ma.provider OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) ma.model AS k,
						 pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(
							 CASE WHEN pg_catalog.isfinite(ma.valid_from) THEN EXTRACT(epoch FROM ma.valid_from) ELSE -1e15 END,
							 CASE WHEN pg_catalog.isfinite(ma.valid_until) THEN EXTRACT(epoch FROM ma.valid_until) ELSE 1e15 END,
							 ma.catalog_provider, ma.catalog_model) ORDER BY ma.valid_from) AS periods
					FROM @extschema@.model_alias_rows() ma GROUP BY 1) m)$q$);
	FOREACH c IN ARRAY ARRAY['output_raw', 'cache_read_raw', 'cache_write_raw', 'reasoning_raw'] LOOP
		priced := replace(priced, '{{COUNT:' || c || '}}', format(
			'CASE WHEN c.usage_kind IS NOT NULL AND (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) THEN '
			'COALESCE(@extschema@.attach_int8(c.%1$s), CASE WHEN pg_catalog.btrim(COALESCE(c.%1$s, '''')) = '''' '
			'THEN 0::pg_catalog.int8 END) END', c));
	END LOOP;
	priced := replace(priced, '{{PROVIDER_MAP}}',
		'(SELECT pg_catalog.jsonb_object_agg(pa.provider, pa.catalog_provider) FROM @extschema@.provider_alias_rows() pa)');
	spans_priced := replace(priced, '{{ROWS}}', spans_rows);
	calls_priced := replace(priced, '{{ROWS}}', calls_rows);

	-- Traces: their time, root status and structure values (a root span's
	-- value first, else the smallest any span of the trace carries).
	-- Repeated rows change none of these, so every stored row is read.
	traces := format($q$
SELECT b.trace_id,
	   pg_catalog.min(b.started_at) AS started_at,
	   pg_catalog.max(COALESCE(b.ended_at, b.started_at)) AS ended_at,
	   pg_catalog.count(DISTINCT b.span_id) FILTER (WHERE b.parent_id IS NULL) AS roots,
	   pg_catalog.bool_or(COALESCE(@extschema@.attach_status(b.status_raw, b.error_type), 'ok') NOT IN ('ok', 'discarded'))
		   FILTER (WHERE b.parent_id IS NULL) AS root_failed,
	   COALESCE(pg_catalog.min(b.workflow) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.workflow)) AS workflow,
	   COALESCE(pg_catalog.min(b.item) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.item)) AS item,
	   COALESCE(pg_catalog.min(b.outcome) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.outcome)) AS outcome,
	   COALESCE(pg_catalog.min(b.option) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.option)) AS option,
	   COALESCE(pg_catalog.min(b.attempt_raw) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.attempt_raw)) AS attempt_raw
  FROM (%1$s) b
 GROUP BY b.trace_id$q$, base_all);

	-- Attempts: one per trace, numbered per (workflow, item) in time order
	-- (or by the attempt number the source records); the run is the trace
	-- of the item's first attempt (waste sees an item's attempts together).
	IF opts ? 'attempt' AND jsonb_typeof(opts -> 'attempt') <> 'null' THEN
		attempt_expr := 'CASE WHEN t.item IS NOT NULL THEN @extschema@.attach_int8(t.attempt_raw)::pg_catalog.int4 END';
	ELSE
		attempt_expr := 'CASE WHEN t.item IS NOT NULL THEN (pg_catalog.row_number() OVER w)::pg_catalog.int4 END';
	END IF;
	attempts := format($q$
SELECT t.*,
	   %1$s AS attempt,
	   CASE WHEN t.item IS NOT NULL THEN pg_catalog.first_value(t.trace_id) OVER w ELSE t.trace_id END AS run_id,
	   CASE WHEN t.outcome IS NOT NULL THEN pg_catalog.lower(pg_catalog.btrim(t.outcome)) = ANY (%2$s)
			WHEN t.roots = 0 THEN NULL
			ELSE NOT t.root_failed END AS succeeded
  FROM (%3$s) t
WINDOW w AS (PARTITION BY t.workflow, t.item ORDER BY t.started_at, t.trace_id COLLATE "C")$q$,
		attempt_expr, success, '{{TRACES}}');

	-- One row per trace (a GROUP BY, so a join to it that reads nothing is
	-- removed); joined by hash to calls, spans and conversations.
	by_trace := format(
		'SELECT a.trace_id, pg_catalog.min(a.workflow) AS workflow, pg_catalog.min(a.item) AS item, '
		'pg_catalog.min(a.attempt) AS attempt, pg_catalog.min(a.run_id) AS run_id, '
		'pg_catalog.bool_and(a.succeeded) AS succeeded FROM (%s) a GROUP BY a.trace_id',
		replace(attempts, '{{TRACES}}', traces));

	-- traces: one row per trace, the values the other views take from it
	-- (a GROUP BY on the trace id: a condition on trace ids, even a list
	-- of them, reaches the source's table) -----------------------------------
	v_traces := format($q$
SELECT %1$s AS source, t.trace_id, t.workflow, t.item, t.option, t.outcome, t.started_at, t.ended_at,
	   t.roots AS root_spans
  FROM (%2$s) t$q$,
		src, traces);

	-- calls --------------------------------------------------------------
	-- The workflow and item come from the traces (one row per trace, no
	-- window), the attempt number from the attempts: a query that reads no
	-- attempt number drops that join, and a condition on one trace id (a
	-- rollup refresh's) then reaches the source's table through the traces
	-- instead of numbering every attempt of the source.
	v_calls := format($q$
SELECT %1$s AS source, p.trace_id, p.span_id, p.parent_id, p.name, p.operation, p.started_at, p.ended_at, p.status,
	   t.workflow, t.item, a.attempt, COALESCE(p.conversation_id, p.trace_id) AS conversation_id,
	   p.provider, p.model, p.request_model, p.response_model, p.price_provider, p.price_model,
	   p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cache_write_tokens, p.reasoning_tokens,
	   p.list_cost, p.reported_usd AS reported_cost, p.reported_currency, p.reported_cost_source,
	   p.estimated_cost, p.cost, p.cost_source, p.problem
  FROM (%2$s) p
  LEFT JOIN (SELECT w.trace_id, w.workflow, w.item FROM (%3$s) w) t ON t.trace_id = p.trace_id
  LEFT JOIN (%4$s) a ON a.trace_id = p.trace_id$q$,
		src, calls_priced, traces, by_trace);

	-- attempts: the structure and the cost of each trace in one pass over
	-- its priced spans (no join whose size the planner would guess) --------
	v_attempts := format($q$
SELECT %1$s AS source, a.workflow, a.item, COALESCE(a.option, a.models) AS option, a.attempt,
	   a.trace_id, a.started_at, a.ended_at, a.succeeded, a.outcome,
	   CASE WHEN a.left_out = 0 THEN COALESCE(a.cost, 0) END AS cost,
	   COALESCE(a.cost, 0) AS cost_known,
	   a.calls, a.left_out AS calls_left_out,
	   COALESCE(a.input_tokens, 0)::pg_catalog.int8 AS input_tokens,
	   COALESCE(a.output_tokens, 0)::pg_catalog.int8 AS output_tokens,
	   CASE WHEN a.item IS NULL THEN 'no item key'
			WHEN a.attempt IS NULL THEN 'attempt number not a whole number'
			WHEN a.succeeded IS NULL THEN 'success unknown: the trace has no root span'
			WHEN a.left_out > 0 THEN pg_catalog.format('%%s of %%s calls left out of the cost', a.left_out, a.calls)
	   END AS problem,
	   a.segment
  FROM (%2$s) a$q$,
		src, replace(attempts, '{{TRACES}}', format($q$
SELECT b.trace_id,
	   pg_catalog.min(b.started_at) AS started_at,
	   pg_catalog.max(COALESCE(b.ended_at, b.started_at)) AS ended_at,
	   pg_catalog.count(*) FILTER (WHERE b.parent_id IS NULL) AS roots,
	   pg_catalog.bool_or(b.status NOT IN ('ok', 'discarded')) FILTER (WHERE b.parent_id IS NULL) AS root_failed,
	   COALESCE(pg_catalog.min(b.workflow) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.workflow)) AS workflow,
	   COALESCE(pg_catalog.min(b.item) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.item)) AS item,
	   COALESCE(pg_catalog.min(b.outcome) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.outcome)) AS outcome,
	   COALESCE(pg_catalog.min(b.option) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.option)) AS option,
	   COALESCE(pg_catalog.min(b.attempt_raw) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.attempt_raw)) AS attempt_raw,
	   COALESCE(pg_catalog.min(b.segment) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.segment)) AS segment,
	   -- the calls' cost, or where the trace has no LLM call its agent spans' usage
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.cost) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.cost) FILTER (WHERE b.usage_kind = 'agent') END AS cost,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'agent') END AS calls,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call' AND b.cost IS NULL)
			ELSE pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'agent' AND b.cost IS NULL) END AS left_out,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.input_tokens) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.input_tokens) FILTER (WHERE b.usage_kind = 'agent') END AS input_tokens,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.output_tokens) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.output_tokens) FILTER (WHERE b.usage_kind = 'agent') END AS output_tokens,
	   COALESCE(pg_catalog.string_agg(DISTINCT b.price_model, '+' ORDER BY b.price_model) FILTER (WHERE b.usage_kind = 'call'),
				pg_catalog.string_agg(DISTINCT b.price_model, '+' ORDER BY b.price_model) FILTER (WHERE b.usage_kind = 'agent')) AS models
  FROM (%1$s) b
 GROUP BY b.trace_id$q$, spans_priced)));

	-- items ------------------------------------------------------------------
	record := @extschema@.attach_record(opts, success);
	v_items := format($q$
SELECT i.source, i.workflow, i.item, i.option, i.attempts, i.solved, i.started_at, i.ended_at,
	   i.ai_cost, i.ai_cost_known, i.calls, i.calls_left_out,
	   CASE WHEN i.solved THEN 0::pg_catalog.numeric
			WHEN NOT i.solved THEN pg_catalog.round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12)
	   END AS human_fix_cost,
	   b.bpo_unit_price,
	   CASE WHEN i.solved THEN b.bpo_unit_price
			WHEN NOT i.solved THEN b.bpo_unit_price - pg_catalog.round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12)
	   END AS value,
	   i.problem, i.segment, i.first_try_succeeded, i.failed_attempt_cost
  FROM (%3$s) i
  LEFT JOIN LATERAL (SELECT bl.bpo_unit_price, bl.human_cost_per_hour, bl.human_minutes_per_item
					   FROM @extschema@.baseline_rows() bl
					  WHERE bl.workflow = i.workflow AND bl.valid_from <= i.started_at
						AND pg_catalog.upper(bl.currency) = 'USD'
					  ORDER BY bl.valid_from DESC LIMIT 1) b ON true$q$,
		src, v_attempts, CASE WHEN record IS NULL THEN '{{ITEMS}}' ELSE format(
			'SELECT i0.source, i0.workflow, i0.item, i0.option, i0.attempts, '
			'COALESCE(rec.solved, i0.solved) AS solved, i0.started_at, i0.ended_at, i0.ai_cost, i0.ai_cost_known, '
			'i0.calls, i0.calls_left_out, COALESCE(i0.problem, CASE WHEN rec.key IS NULL '
			'THEN ''no row for the item in the system of record'' END) AS problem, '
			'i0.segment, i0.first_try_succeeded, i0.failed_attempt_cost '
			'FROM ({{ITEMS}}) i0 LEFT JOIN (%s) rec ON rec.key = i0.item', record) END);
	v_items := replace(v_items, '{{ITEMS}}', format($q$SELECT %1$s AS source, a.workflow, a.item,
			   pg_catalog.string_agg(DISTINCT a.option, '+' ORDER BY a.option) AS option,
			   pg_catalog.count(*) AS attempts,
			   pg_catalog.bool_or(a.succeeded) AS solved,
			   pg_catalog.min(a.started_at) AS started_at, pg_catalog.max(a.ended_at) AS ended_at,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) = 0 THEN pg_catalog.sum(a.cost) END AS ai_cost,
			   pg_catalog.sum(a.cost_known) AS ai_cost_known,
			   pg_catalog.sum(a.calls)::pg_catalog.int8 AS calls,
			   pg_catalog.sum(a.calls_left_out)::pg_catalog.int8 AS calls_left_out,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) > 0
					THEN pg_catalog.format('%%s of %%s calls left out of the cost', pg_catalog.sum(a.calls_left_out), pg_catalog.sum(a.calls))
					WHEN pg_catalog.bool_or(a.succeeded) IS NULL THEN 'success unknown'
			   END AS problem,
			   pg_catalog.min(a.segment) AS segment,
			   pg_catalog.bool_or(a.succeeded) FILTER (WHERE a.attempt = 1) AS first_try_succeeded,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) = 0
					THEN COALESCE(pg_catalog.sum(a.cost) FILTER (WHERE NOT a.succeeded), 0) END AS failed_attempt_cost
		  FROM (%2$s) a
		 WHERE a.item IS NOT NULL
		 GROUP BY a.workflow, a.item$q$,
		src, v_attempts));

	-- conversations ------------------------------------------------------------
	v_conv := format($q$
SELECT %1$s AS source, a.workflow, a.item, a.attempt,
	   COALESCE(p.conversation_id, p.trace_id) AS conversation_id, p.trace_id, p.span_id,
	   (pg_catalog.row_number() OVER (PARTITION BY COALESCE(p.conversation_id, p.trace_id)
			ORDER BY p.started_at, p.span_id COLLATE "C"))::pg_catalog.int4 AS seq,
	   p.started_at, p.model, p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cost, p.problem
  FROM (%2$s) p
  LEFT JOIN (%3$s) a ON a.trace_id = p.trace_id$q$,
		src, calls_priced, by_trace);

	-- spans ------------------------------------------------------------------
	-- an agent span's usage counts where its trace has no LLM call
	v_spans := format($q$
SELECT s.source, COALESCE(a.run_id, s.trace_id) AS trace_id, s.trace_id AS source_trace_id,
	   s.span_id, s.parent_id, s.kind, COALESCE(s.tool_name, s.name) AS name, s.operation, s.args_hash,
	   CASE WHEN s.parent_id IS NULL AND a.succeeded IS FALSE AND s.status = 'ok' THEN 'error' ELSE s.status END AS status,
	   CASE WHEN s.counted THEN s.cost ELSE 0::pg_catalog.numeric END AS cost,
	   s.started_at, s.ended_at, a.workflow, a.item, a.attempt, s.model,
	   CASE WHEN s.counted THEN s.input_tokens END AS input_tokens,
	   CASE WHEN s.counted THEN s.output_tokens END AS output_tokens,
	   s.call_seq,
	   CASE WHEN s.counted AND s.input_tokens > 0 AND s.list_cost IS NOT NULL
			THEN pg_catalog.round(@extschema@.cost(s.provider, s.model, s.input_tokens, 0, 0, 0, 0, s.started_at)
				 / s.input_tokens, 12) END AS input_price,
	   CASE WHEN s.counted AND s.input_tokens > 0 AND s.list_cost IS NOT NULL
			THEN @extschema@.cost(s.price_provider, s.price_model, s.input_tokens, 0, s.cache_read_tokens,
				 s.cache_write_tokens, 0, s.started_at) END AS input_cost,
	   CASE WHEN s.counted OR s.usage_kind IS NULL THEN s.problem END AS problem
  FROM (SELECT %1$s AS source, p.*,
			   (p.usage_kind = 'call' OR (p.usage_kind = 'agent' AND NOT pg_catalog.bool_or(p.usage_kind = 'call') OVER t))
				   IS TRUE AS counted,
			   CASE WHEN p.usage_kind = 'call'
					THEN (pg_catalog.count(*) FILTER (WHERE p.usage_kind = 'call') OVER t_upto)::pg_catalog.int4 END AS call_seq
		  FROM (%2$s) p
		WINDOW t AS (PARTITION BY p.trace_id ORDER BY p.started_at, p.span_id COLLATE "C"
					 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
			   t_upto AS (PARTITION BY p.trace_id ORDER BY p.started_at, p.span_id COLLATE "C"
						  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) s
  LEFT JOIN (%3$s) a ON a.trace_id = s.trace_id$q$,
		src, spans_priced, by_trace);

	-- problems ---------------------------------------------------------------
	v_problems := format($q$
SELECT %1$s AS source, CASE WHEN p.usage_kind = 'call' THEN 'call' ELSE 'span' END AS level, p.trace_id, p.span_id,
	   p.problem AS reason
  FROM (%2$s) p
 WHERE p.problem IS NOT NULL
   AND (p.usage_kind IS DISTINCT FROM 'agent' OR p.trace_id IS NULL
		OR p.trace_id NOT IN (SELECT c.trace_id FROM (%6$s) c WHERE c.trace_id IS NOT NULL))
UNION ALL
SELECT %1$s, 'span', b.trace_id, b.span_id,
	   pg_catalog.format('%%s copies of the span id with different content: one kept', pg_catalog.count(*))
  FROM (%3$s) b
 WHERE (b.trace_id, b.span_id) IN (SELECT d.trace_id, d.span_id FROM (%3$s) d
								   GROUP BY d.trace_id, d.span_id HAVING pg_catalog.count(*) > 1)
 GROUP BY b.trace_id, b.span_id
HAVING pg_catalog.count(DISTINCT %4$s) > 1
UNION ALL
SELECT %1$s, 'trace', a.trace_id, NULL,
	   CASE WHEN a.item IS NULL THEN 'no item key: the trace is in no attempt or item'
			WHEN a.attempt IS NULL THEN pg_catalog.format('attempt number not a whole number: %%s', pg_catalog.quote_literal(a.attempt_raw))
			ELSE 'no root span: the attempt''s success is unknown' END
  FROM (%5$s) a
 WHERE a.item IS NULL OR a.attempt IS NULL OR a.succeeded IS NULL$q$,
		src, spans_priced, base_all, content, replace(attempts, '{{TRACES}}', traces),
		-- the traces that have an LLM call: an agent span's usage is a
		-- problem only in a trace without one (else it is not counted)
		format('SELECT %s AS trace_id FROM %s WHERE %s', cols ->> 'trace_id', rel, call_filter));

	RETURN jsonb_build_object('calls', v_calls, 'spans', v_spans, 'attempts', v_attempts,
		'items', v_items, 'conversations', v_conv, 'problems', v_problems, 'traces', v_traces);
END
$fn$;


-- ---------------------------------------------------------------------------
-- Rollups of attached sources, tracking asked for: rollup_source_track()
-- and rollup_source_untrack(); a refresh of a tracked source finds the new
-- rows by their stamp (rollup_source_keys).
-- ---------------------------------------------------------------------------
ALTER TABLE @extschema@.rollup_source ADD COLUMN tracked_xmax pg_catalog.xid8;
COMMENT ON COLUMN @extschema@.rollup_source.tracked_xmax IS 'set by tokacct.rollup_source_track(): the source''s tables stamp each row written from then on, and every row written before (or while a stamp''s trigger was off) by a transaction older than this id; refreshes go by the stamps once their previous snapshot is past it (NULL: not tracked)';

-- Tracking: asked for, the source's tables stamp the rows written --------------
--
-- A refresh finds the new rows by xmin, which no index holds: it reads the
-- trace key of every row.  tokacct.rollup_source_track(source) adds to each
-- table of the source a column tokacct_written_xid (xid8: the transaction
-- that last inserted or updated the row, set by a trigger that fires always,
-- on replicas too), and an index on it, so that a refresh reads the new
-- rows only.  Rows written before have no stamp: a refresh still looks at
-- their xmin until its previous snapshot is newer than every transaction
-- that could have written one (tracked_xmax).  rollup_source_untrack()
-- takes it all away again.

CREATE FUNCTION @extschema@.rollup_source_stamp() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	NEW.tokacct_written_xid := pg_catalog.pg_current_xact_id();
	RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_stamp() IS
	'trigger of a tracked source table (tokacct.rollup_source_track()): stamp the row with the transaction that inserts or updates it';

-- The tables a tracking changes, each checked: the caller must be able to
-- alter them (their owner's privileges), a column or trigger of that name
-- must not be the user's own.
CREATE FUNCTION @extschema@.rollup_source_tables(source pg_catalog.text)
	RETURNS SETOF pg_catalog.regclass
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	rel regclass;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM @extschema@.rollup_source p WHERE p.source = rollup_source_tables.source) THEN
		RAISE EXCEPTION 'source "%" has no rollup', source
			USING ERRCODE = 'undefined_object',
				  HINT = format('Define it with CALL @extschema@.rollup_source_create(%L).', source);
	END IF;
	PERFORM @extschema@.rollup_source_keys(source, NULL);	-- attached, tables, trace keys readable
	FOR rel IN SELECT r FROM @extschema@.attachment a, unnest(a.relations) r WHERE a.source = rollup_source_tables.source LOOP
		IF NOT pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = rel), 'USAGE') THEN
			RAISE EXCEPTION 'permission denied to track the writes of table %', rel
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = format('Tracking adds a column, a trigger and an index to each table of source "%s"; role "%s" does not own %s.', source, current_user, rel),
					  HINT = 'Call it as the tables'' owner (or a member of that role).';
		END IF;
		RETURN NEXT rel;
	END LOOP;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_tables(pg_catalog.text) IS
	'step of rollup_source_track() and rollup_source_untrack(): the tables of a rolled-up source, each one the caller may alter';

CREATE PROCEDURE @extschema@.rollup_source_track(source pg_catalog.text)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	rel regclass;
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Name an attached source with a rollup (tokacct.rollup_source lists them).';
	END IF;
	-- not while a refresh of the source runs (it holds the source's row)
	PERFORM FROM @extschema@.rollup_source p WHERE p.source = rollup_source_track.source FOR NO KEY UPDATE;
	FOR rel IN SELECT * FROM @extschema@.rollup_source_tables(source) LOOP
		-- A column of that name is tokacct's when a tracking left it (its
		-- trigger or its comment there), never the user's own, whatever
		-- its type: untracking drops it.
		IF EXISTS (SELECT 1 FROM pg_attribute c WHERE c.attrelid = rel AND c.attname = 'tokacct_written_xid'
					  AND NOT c.attisdropped AND (c.atttypid <> 'pg_catalog.xid8'::regtype
						OR NOT @extschema@.rollup_source_stamped(rel)))
		   OR EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = rel AND g.tgname = 'tokacct_written_xid'
						 AND g.tgfoid <> '@extschema@.rollup_source_stamp()'::regprocedure) THEN
			RAISE EXCEPTION 'table % already has a column or trigger named tokacct_written_xid that is not tokacct''s', rel
				USING ERRCODE = 'duplicate_object',
					  HINT = 'Rename it, then track the source.';
		END IF;
		-- (no default for the rows there: no rewrite of the table)
		EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS tokacct_written_xid pg_catalog.xid8', rel);
		EXECUTE format('ALTER TABLE %s ALTER COLUMN tokacct_written_xid SET DEFAULT pg_catalog.pg_current_xact_id()', rel);
		EXECUTE format('COMMENT ON COLUMN %s.tokacct_written_xid IS %L', rel,
			'tokacct: transaction that last inserted or updated the row (tokacct.rollup_source_track(); tokacct.rollup_source_untrack() drops it)');
		EXECUTE format('CREATE OR REPLACE TRIGGER tokacct_written_xid BEFORE INSERT OR UPDATE ON %s '
			'FOR EACH ROW EXECUTE FUNCTION @extschema@.rollup_source_stamp()', rel);
		EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER tokacct_written_xid', rel);
		-- an index on the stamp alone, unless the table has one (named by
		-- PostgreSQL: a name of ours, cut to fit, could be another table's)
		IF NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute c ON c.attrelid = i.indrelid
						WHERE i.indrelid = rel AND c.attname = 'tokacct_written_xid' AND NOT c.attisdropped
						  AND i.indnatts = 1 AND i.indkey[0] = c.attnum
						  AND i.indexprs IS NULL AND i.indpred IS NULL) THEN
			EXECUTE format('CREATE INDEX ON %s (tokacct_written_xid)', rel);
		END IF;
		-- (the planner then knows the stamps there are NULL, and finds the
		-- newest by the index)
		EXECUTE format('ANALYZE %s (tokacct_written_xid)', rel);
	END LOOP;
	-- The tables are locked: every transaction that wrote a row without a
	-- stamp (or with a stale one, while a trigger was disabled or the column
	-- gone) has ended, with an id below this.  Tracking again moves it on.
	UPDATE @extschema@.rollup_source p
	   SET tracked_xmax = pg_snapshot_xmax(pg_current_snapshot())
	 WHERE p.source = rollup_source_track.source;
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_track(pg_catalog.text) IS
	'asked for: add to each table of a rolled-up source a column tokacct_written_xid stamped by a trigger, and an index on it, so that a refresh reads the rows written since the last one instead of the trace key of every row';

CREATE PROCEDURE @extschema@.rollup_source_untrack(source pg_catalog.text)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	rel regclass;
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Name an attached source with a rollup (tokacct.rollup_source lists them).';
	END IF;
	-- not while a refresh of the source runs (it holds the source's row)
	PERFORM FROM @extschema@.rollup_source p WHERE p.source = rollup_source_untrack.source FOR NO KEY UPDATE;
	FOR rel IN SELECT * FROM @extschema@.rollup_source_tables(source) LOOP
		-- tokacct's only: a column or trigger of that name that a tracking
		-- did not leave is the user's
		IF EXISTS (SELECT 1 FROM pg_attribute c WHERE c.attrelid = rel AND c.attname = 'tokacct_written_xid'
					  AND NOT c.attisdropped AND c.atttypid = 'pg_catalog.xid8'::regtype)
		   AND @extschema@.rollup_source_stamped(rel) THEN
			EXECUTE format('DROP TRIGGER IF EXISTS tokacct_written_xid ON %s', rel);
			-- (the index goes with the column)
			EXECUTE format('ALTER TABLE %s DROP COLUMN tokacct_written_xid', rel);
		ELSIF EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = rel AND g.tgname = 'tokacct_written_xid'
						 AND g.tgfoid = '@extschema@.rollup_source_stamp()'::regprocedure) THEN
			EXECUTE format('DROP TRIGGER tokacct_written_xid ON %s', rel);
		END IF;
	END LOOP;
	UPDATE @extschema@.rollup_source p SET tracked_xmax = NULL WHERE p.source = rollup_source_untrack.source;
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_untrack(pg_catalog.text) IS
	'undo tokacct.rollup_source_track(): drop the trigger, the column tokacct_written_xid and its index from the source''s tables; refreshes find new rows by xmin again';
-- ---------------------------------------------------------------------------
-- Source rollups (h-rev4): a source attached again with other views is
-- counted again by its next refresh (rollup_source.definition).
-- ---------------------------------------------------------------------------
ALTER TABLE @extschema@.rollup_source ADD COLUMN definition pg_catalog.text;
COMMENT ON COLUMN @extschema@.rollup_source.definition IS 'the definition of the source''s views (tokacct.attachment.definition) the last refresh read; attached again with other views, the next refresh counts everything';
COMMENT ON COLUMN @extschema@.rollup_source.last_full IS 'the last refresh counted every trace (the first, a rebuild, the first after the source was attached again with other views, or after 2^31 transactions)';

-- Review of tracking (h-rev5): a column tokacct_written_xid is tokacct's only when a
-- tracking left it (rollup_source_stamped())
-- Whether the column tokacct_written_xid of a table is tokacct's: a
-- tracking left its trigger there, or its comment (the trigger since dropped).
CREATE FUNCTION @extschema@.rollup_source_stamped(rel pg_catalog.regclass)
	RETURNS pg_catalog.bool
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid OPERATOR(pg_catalog.=) rel
					  AND g.tgname OPERATOR(pg_catalog.=) 'tokacct_written_xid'
					  AND g.tgfoid OPERATOR(pg_catalog.=) '@extschema@.rollup_source_stamp()'::pg_catalog.regprocedure)
		OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute c
					WHERE c.attrelid OPERATOR(pg_catalog.=) rel AND c.attname OPERATOR(pg_catalog.=) 'tokacct_written_xid'
					  AND NOT c.attisdropped
					  AND pg_catalog.col_description(rel, c.attnum) OPERATOR(pg_catalog.=)
						'tokacct: transaction that last inserted or updated the row (tokacct.rollup_source_track(); tokacct.rollup_source_untrack() drops it)');
COMMENT ON FUNCTION @extschema@.rollup_source_stamped(pg_catalog.regclass) IS
	'step of rollup_source_track() and rollup_source_untrack(): whether the column tokacct_written_xid of a table is tokacct''s (its trigger or its comment there), not the user''s own';


-- ---------------------------------------------------------------------------
-- Source refresh: one expression for "written in the refresh's window"
-- (rollup_source_written), used by the row scan and the catalog checks.
-- ---------------------------------------------------------------------------
-- Whether a row (or catalog row) with an xmin of this age was written in the
-- window of a refresh: the window's newest age h and the age lw just older
-- than it (see rollup_source_keys()); when lw lies below -2^31 - 1 the
-- window wraps around the ages' 32 bits.  A SQL expression (no SET):
-- inlined, with h and lw constants, into the scan of every row.
CREATE FUNCTION @extschema@.rollup_source_written(age pg_catalog.int4, h pg_catalog.int8, lw pg_catalog.int8)
	RETURNS pg_catalog.bool
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN CASE WHEN lw OPERATOR(pg_catalog.>=) -2147483649
		THEN age OPERATOR(pg_catalog.<=) h AND age OPERATOR(pg_catalog.>) lw
		ELSE age OPERATOR(pg_catalog.<=) h OR age OPERATOR(pg_catalog.>) (lw OPERATOR(pg_catalog.+) 4294967296) END;
COMMENT ON FUNCTION @extschema@.rollup_source_written(pg_catalog.int4, pg_catalog.int8, pg_catalog.int8) IS
	'step of rollup_source_refresh(): whether an xmin of this age (age(xmin)) lies in a refresh''s window of new transactions';

-- ---------------------------------------------------------------------------
-- Retry economics in the rollups of attached sources: each trace's attempt
-- facts, each item's retry state, the day x workflow rows updated by
-- difference (retry_subtract()), a monthly view; and waste by class: each
-- run's classes, the day x workflow sums, a monthly view; and context
-- growth: each conversation's figures and traces, the day x workflow
-- sums, a monthly view.  The traces
-- view says whether a trace succeeded and the attempt number it records,
-- the spans view a span's own status (sources attached before get them,
-- and their rollups the retry and waste rows, by being attached again:
-- their next refresh then counts everything).  The same objects as
-- sql/install/73_rollup_source_retry.sql to 75_rollup_source_context.sql.
-- ---------------------------------------------------------------------------
-- Retry economics of an attached source.  An attempt's number depends on
-- every trace of its item (numbered by start, or as the source records
-- them), so the unit here is the item: a refresh keeps the attempt facts
-- of each trace with an item (rollup_source_attempt), recomputes from them
-- each item one of whose traces it recomputed (rollup_source_item: its
-- retry_economics() state, or why it is left out), and updates the day x
-- workflow rows of rollup_source_retry by difference (retry_subtract()).
CREATE TABLE @extschema@.rollup_source_attempt (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	trace_id pg_catalog.text NOT NULL,
	workflow pg_catalog.text,
	item pg_catalog.text NOT NULL,
	started_at pg_catalog.timestamptz,
	succeeded pg_catalog.bool,
	cost pg_catalog.numeric,
	recorded_attempt pg_catalog.int4
);
CREATE UNIQUE INDEX rollup_source_attempt_key ON @extschema@.rollup_source_attempt (source, trace_id);
CREATE INDEX rollup_source_attempt_item ON @extschema@.rollup_source_attempt (source, item);
COMMENT ON TABLE @extschema@.rollup_source_attempt IS
	'the attempt facts of each trace with an item of an attached source with a rollup, as its attempts view has them less the attempt number, kept so that a refresh can number an item''s attempts again without reading its traces';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.trace_id IS 'the trace: one attempt';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.workflow IS 'workflow of the trace';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.item IS 'item the trace works on';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.started_at IS 'start of the trace (an item''s attempts are numbered in this order, then by trace id)';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.succeeded IS 'whether the attempt succeeded (NULL: unknown)';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.cost IS 'exact cost of the attempt (its calls, or its agent spans'' usage when it has no call); NULL when a call is left out of the money';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.recorded_attempt IS 'the attempt number the trace records (sources attached with an attempt column)';

CREATE TABLE @extschema@.rollup_source_item (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	workflow pg_catalog.text,
	item pg_catalog.text NOT NULL,
	day pg_catalog.date,
	attempts pg_catalog.int8 NOT NULL,
	retry @extschema@.retry_state,
	problem pg_catalog.text
);
CREATE UNIQUE INDEX rollup_source_item_key ON @extschema@.rollup_source_item (source, item, workflow) NULLS NOT DISTINCT;
CREATE INDEX rollup_source_item_group ON @extschema@.rollup_source_item
	(source, @extschema@.rollup_source_group(day, workflow, NULL));
COMMENT ON TABLE @extschema@.rollup_source_item IS
	'each item of an attached source with a rollup: its retry_economics() state over its attempts, or why it is left out of tokacct.rollup_source_retry';
COMMENT ON COLUMN @extschema@.rollup_source_item.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_item.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_item.item IS 'the item';
COMMENT ON COLUMN @extschema@.rollup_source_item.day IS 'UTC day its first attempt started (NULL when its attempts have no start)';
COMMENT ON COLUMN @extschema@.rollup_source_item.attempts IS 'attempts (traces) of the item';
COMMENT ON COLUMN @extschema@.rollup_source_item.retry IS 'retry_economics() of its attempts (NULL when it is left out)';
COMMENT ON COLUMN @extschema@.rollup_source_item.problem IS 'why it is left out of the retry economics (NULL: counted)';

CREATE TABLE @extschema@.rollup_source_retry (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	day pg_catalog.date,
	workflow pg_catalog.text,
	items pg_catalog.int8 NOT NULL,
	items_left_out pg_catalog.int8 NOT NULL,
	retry @extschema@.retry_state,
	updated_at pg_catalog.timestamptz NOT NULL
);
CREATE UNIQUE INDEX rollup_source_retry_key ON @extschema@.rollup_source_retry (source, day, workflow) NULLS NOT DISTINCT;
COMMENT ON TABLE @extschema@.rollup_source_retry IS
	'retry economics of each attached source with a rollup, per UTC day an item''s first attempt started x workflow, kept by tokacct.rollup_source_refresh(): equal to retry_economics() over the attempts view''s rows of the items counted; merge rows for any longer period';
COMMENT ON COLUMN @extschema@.rollup_source_retry.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_retry.day IS 'UTC day the items'' first attempts started (NULL: attempts without a start)';
COMMENT ON COLUMN @extschema@.rollup_source_retry.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_retry.items IS 'items counted in retry';
COMMENT ON COLUMN @extschema@.rollup_source_retry.items_left_out IS 'items left out (tokacct.rollup_source_item.problem says why): an attempt''s cost or success unknown, or attempts not numbered 1, 2, 3, ... up to the first success';
COMMENT ON COLUMN @extschema@.rollup_source_retry.retry IS 'retry_economics() over the attempts of the items counted (NULL when none); tokacct.merge() merges days, tokacct.retry_report() reads it';
COMMENT ON COLUMN @extschema@.rollup_source_retry.updated_at IS 'when a refresh last rebuilt the row';

-- The retry state of a's attempt rows less b's, when a and b alone tell it
-- (src/agg_retry.c); NULL otherwise: then the day's row is merged again
-- from its items.
CREATE FUNCTION @extschema@.retry_subtract(a @extschema@.retry_state, b @extschema@.retry_state)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_subtract';
COMMENT ON FUNCTION @extschema@.retry_subtract(@extschema@.retry_state, @extschema@.retry_state) IS
	'step of rollup_source_refresh(): the retry state of a''s attempt rows less b''s (b''s rows a part of a''s), when it is known exactly (its largest attempt number told); NULL otherwise';

-- The SQL of the attempt rows of a source numbered as its attempts view
-- numbers them (the attempt number the source records, else by start then
-- trace id within the workflow's item), each with its run: the item's
-- first trace by the same order.  touched: only the items listed in
-- pg_temp.rollup_source_items; $1 is the source.  The retry part and the
-- waste part of a refresh read the attempts through it.
CREATE FUNCTION @extschema@.rollup_source_numbered(source pg_catalog.text, touched pg_catalog.bool)
	RETURNS pg_catalog.text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	RETURN pg_catalog.format('SELECT a.*, %s AS attempt, pg_catalog.first_value(a.trace_id) OVER w AS run_id '
		'FROM @extschema@.rollup_source_attempt a%s WHERE a.source = $1 '
		'WINDOW w AS (PARTITION BY a.workflow, a.item ORDER BY a.started_at, a.trace_id COLLATE "C")',
		CASE WHEN (SELECT a.options ? 'attempt' AND jsonb_typeof(a.options -> 'attempt') <> 'null'
					 FROM @extschema@.attachment a WHERE a.source = rollup_source_numbered.source)
			 THEN 'a.recorded_attempt' ELSE '(pg_catalog.row_number() OVER w)::pg_catalog.int4' END,
		CASE WHEN touched THEN ' JOIN pg_temp.rollup_source_items k ON k.item = a.item AND k.workflow IS NOT DISTINCT FROM a.workflow' ELSE '' END);
COMMENT ON FUNCTION @extschema@.rollup_source_numbered(pg_catalog.text, pg_catalog.bool) IS
	'step of rollup_source_refresh(): the SQL of a source''s attempt rows (of the touched items, or all) numbered as its attempts view numbers them, each with its run';

-- Waste by class of an attached source.  The spans view classifies an
-- item's traces together (its run, named after its first trace by start),
-- a trace without an item alone; so the unit is the run: a refresh
-- classifies again every run with a trace it recomputed (the runs of the
-- items the retry part touched, and the touched traces without an item),
-- keeps each run's classes (rollup_source_waste) and updates the day x
-- workflow sums of rollup_source_waste_daily by difference (sums
-- subtract exactly).
CREATE TABLE @extschema@.rollup_source_waste (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	run_id pg_catalog.text NOT NULL,
	workflow pg_catalog.text,
	item pg_catalog.text,
	day pg_catalog.date,
	spans pg_catalog.int8,
	total pg_catalog.numeric,
	essential pg_catalog.numeric,
	error_call pg_catalog.numeric,
	failed_attempt pg_catalog.numeric,
	abandoned_branch pg_catalog.numeric,
	stuck_loop pg_catalog.numeric,
	duplicate_tool_call pg_catalog.numeric,
	waste pg_catalog.numeric,
	problem pg_catalog.text
);
CREATE UNIQUE INDEX rollup_source_waste_key ON @extschema@.rollup_source_waste (source, run_id);
CREATE INDEX rollup_source_waste_item ON @extschema@.rollup_source_waste (source, item);
COMMENT ON TABLE @extschema@.rollup_source_waste IS
	'waste by class of each run of an attached source with a rollup (an item''s traces together, a trace without an item alone), as tokacct.waste_by_trace() over its spans view classifies it';
COMMENT ON COLUMN @extschema@.rollup_source_waste.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_waste.run_id IS 'the run: the trace id of its first trace (the spans view''s trace_id)';
COMMENT ON COLUMN @extschema@.rollup_source_waste.workflow IS 'workflow of the run';
COMMENT ON COLUMN @extschema@.rollup_source_waste.item IS 'item of the run (NULL: a trace without an item)';
COMMENT ON COLUMN @extschema@.rollup_source_waste.day IS 'UTC day its first trace started';
COMMENT ON COLUMN @extschema@.rollup_source_waste.spans IS 'spans classified';
COMMENT ON COLUMN @extschema@.rollup_source_waste.total IS 'cost of its spans, USD';
COMMENT ON COLUMN @extschema@.rollup_source_waste.essential IS 'cost on the path to its result';
COMMENT ON COLUMN @extschema@.rollup_source_waste.error_call IS 'cost of calls whose own status is a failure (a billed rate limit, timeout, error)';
COMMENT ON COLUMN @extschema@.rollup_source_waste.failed_attempt IS 'cost of what failed and was tried again (an item''s failed attempts, a failed call retried)';
COMMENT ON COLUMN @extschema@.rollup_source_waste.abandoned_branch IS 'cost of what failed and was not tried again, or was discarded';
COMMENT ON COLUMN @extschema@.rollup_source_waste.stuck_loop IS 'cost of repeats in a run of identical successful calls (the first not counted)';
COMMENT ON COLUMN @extschema@.rollup_source_waste.duplicate_tool_call IS 'cost of tool calls repeating an earlier call whose result was kept';
COMMENT ON COLUMN @extschema@.rollup_source_waste.waste IS 'total - essential';
COMMENT ON COLUMN @extschema@.rollup_source_waste.problem IS 'why the run could not be classified (a span without an id, a start time or a sane cost; a span id twice; parent ids in a cycle): its classes are NULL and it is left out of rollup_source_waste_daily (NULL: classified)';

CREATE TABLE @extschema@.rollup_source_waste_daily (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	day pg_catalog.date,
	workflow pg_catalog.text,
	runs pg_catalog.int8 NOT NULL,
	runs_left_out pg_catalog.int8 NOT NULL,
	spans pg_catalog.int8 NOT NULL,
	total pg_catalog.numeric NOT NULL,
	essential pg_catalog.numeric NOT NULL,
	error_call pg_catalog.numeric NOT NULL,
	failed_attempt pg_catalog.numeric NOT NULL,
	abandoned_branch pg_catalog.numeric NOT NULL,
	stuck_loop pg_catalog.numeric NOT NULL,
	duplicate_tool_call pg_catalog.numeric NOT NULL,
	waste pg_catalog.numeric NOT NULL,
	updated_at pg_catalog.timestamptz NOT NULL
);
CREATE UNIQUE INDEX rollup_source_waste_daily_key ON @extschema@.rollup_source_waste_daily (source, day, workflow) NULLS NOT DISTINCT;
COMMENT ON TABLE @extschema@.rollup_source_waste_daily IS
	'waste by class of each attached source with a rollup, per UTC day a run''s first trace started x workflow, kept by tokacct.rollup_source_refresh(): equal to tokacct.waste_by_trace() over its spans view summed the same way; sum rows for any longer period';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.day IS 'UTC day the runs'' first traces started (NULL: without a start)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.runs IS 'runs classified (an item''s traces together, a trace without an item alone)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.runs_left_out IS 'runs that could not be classified (tokacct.rollup_source_waste.problem says why)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.spans IS 'spans classified';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.total IS 'cost of the spans, USD';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.essential IS 'cost on the path to a result';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.error_call IS 'cost of calls whose own status is a failure (a billed rate limit, timeout, error)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.failed_attempt IS 'cost of what failed and was tried again (an item''s failed attempts, a failed call retried)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.abandoned_branch IS 'cost of what failed and was not tried again, or was discarded';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.stuck_loop IS 'cost of repeats in a run of identical successful calls (the first not counted)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.duplicate_tool_call IS 'cost of tool calls repeating an earlier call whose result was kept';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.waste IS 'total - essential';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.updated_at IS 'when a refresh last rebuilt the row';

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

CREATE FUNCTION @extschema@.rollup_source_days(source pg_catalog.text, daily pg_catalog.text,
	old_sums pg_catalog.text, new_sums pg_catalog.text, columns pg_catalog.text[], keep pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	gkey text := '@extschema@.rollup_source_group(d.day, d.workflow, NULL)';
	cols text := (SELECT string_agg(format('x.%I', c), ', ') FROM unnest(columns) c);
BEGIN
	IF old_sums IS NULL THEN
		EXECUTE format('DELETE FROM @extschema@.%I d WHERE d.source = $1', daily) USING source;
		EXECUTE format('INSERT INTO @extschema@.%I SELECT $1, x.day, x.workflow, %s, statement_timestamp() FROM (%s) x',
			daily, cols, new_sums)
		USING source;
		RETURN;
	END IF;
	IF to_regclass('pg_temp.rollup_source_day_groups') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_day_groups;
	END IF;
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_day_groups ON COMMIT DROP AS
	SELECT k.gkey, k.day, k.workflow, %5$s
	  FROM (SELECT x.gkey, x.day, x.workflow FROM (%2$s) x UNION SELECT x.gkey, x.day, x.workflow FROM (%3$s) x) k
	  LEFT JOIN (%2$s) o ON o.gkey = k.gkey
	  LEFT JOIN (%3$s) n ON n.gkey = k.gkey
	  LEFT JOIN (SELECT %4$s AS gkey, d.* FROM @extschema@.%1$I d WHERE d.source = $1) d
		ON d.gkey = k.gkey$q$,
		daily, old_sums, new_sums, gkey,
		(SELECT string_agg(format('COALESCE(d.%1$I, 0) - COALESCE(o.%1$I, 0) + COALESCE(n.%1$I, 0) AS %1$I', c), ', ')
		   FROM unnest(columns) c))
	USING source;
	EXECUTE format('DELETE FROM @extschema@.%I d USING pg_temp.rollup_source_day_groups g '
		'WHERE d.source = $1 AND %s = g.gkey', daily, gkey) USING source;
	EXECUTE format('INSERT INTO @extschema@.%I SELECT $1, x.day, x.workflow, %s, statement_timestamp() '
		'FROM pg_temp.rollup_source_day_groups x WHERE %s', daily, cols, keep)
	USING source;
	DROP TABLE pg_temp.rollup_source_day_groups;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_days(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text[], pg_catalog.text) IS
	'step of rollup_source_refresh(): update the day x workflow rows of a part whose columns are sums (waste, context growth) by the old and new rows'' sums of the groups they touch';

CREATE FUNCTION @extschema@.rollup_source_retry_apply(source pg_catalog.text, traces pg_catalog.text[],
	spans_view pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	agent_only text[];
	-- an item's group (see rollup_source_group())
	gkey text := '@extschema@.rollup_source_group(%1$s.day, %1$s.workflow, NULL)';
	-- what a set of item rows (%1$s) adds to each group
	sums text := 'SELECT %2$s AS gkey, g.day, g.workflow, count(*) FILTER (WHERE g.problem IS NULL) AS items, '
		'count(*) FILTER (WHERE g.problem IS NOT NULL) AS items_left_out, '
		'CASE WHEN count(*) FILTER (WHERE g.problem IS NULL) > 0 THEN @extschema@.merge(g.retry) END AS retry '
		'FROM %1$s g GROUP BY 1, 2, 3';
	-- the items (workflow, item) in pg_temp.rollup_source_items, or all,
	-- recomputed from their attempts: numbered as the attempts view numbers
	-- them, each item's state over its attempts when they are whole
	items_sql text := $q$
SELECT $1, x.workflow, x.item, x.day, x.attempts,
	   CASE WHEN x.problem IS NULL THEN x.retry END, x.problem
  FROM (SELECT n.workflow, n.item,
			   (pg_catalog.min(n.started_at) AT TIME ZONE 'UTC')::pg_catalog.date AS day,
			   pg_catalog.count(*) AS attempts,
			   -- (an attempt's cost is one money value of the state: at
			   -- most 9223372.036854775807 once rounded to 12 decimals)
			   @extschema@.retry_economics(n.attempt, n.succeeded, n.cost)
				   FILTER (WHERE n.attempt >= 1 AND n.cost >= 0
						   AND pg_catalog.round(n.cost, 12) <= 9223372.036854775807) AS retry,
			   CASE WHEN pg_catalog.bool_or(n.cost IS NULL) THEN 'an attempt''s calls are left out of the money'
					WHEN pg_catalog.bool_or(n.succeeded IS NULL) THEN 'an attempt''s success is unknown (no root span)'
					WHEN pg_catalog.bool_or(n.attempt IS NULL) THEN 'an attempt number is not a whole number'
					WHEN pg_catalog.bool_or(n.cost < 0) THEN 'an attempt has a negative cost'
					WHEN pg_catalog.bool_or(pg_catalog.round(n.cost, 12) > 9223372.036854775807)
					THEN 'an attempt costs more than a retry state keeps exactly (9223372.036854775807)'
					WHEN pg_catalog.min(n.attempt) <> 1 OR pg_catalog.max(n.attempt) <> pg_catalog.count(*)
						 OR pg_catalog.count(DISTINCT n.attempt) <> pg_catalog.count(*)
					THEN 'attempts not numbered 1, 2, 3, ...'
					WHEN pg_catalog.bool_or(n.succeeded AND n.attempt < n.last)
					THEN 'an attempt after the item''s success' END AS problem
		  FROM (SELECT a.workflow, a.item, a.started_at, a.succeeded, a.cost, a.attempt,
					   pg_catalog.max(a.attempt) OVER (PARTITION BY a.workflow, a.item) AS last
				  FROM (%s) a) n
		 GROUP BY n.workflow, n.item) x$q$;
BEGIN
	items_sql := format(items_sql, @extschema@.rollup_source_numbered(source, traces IS NOT NULL));
	IF to_regclass('pg_temp.rollup_source_items') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_items;
	END IF;
	IF to_regclass('pg_temp.rollup_source_items_old') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_items_old;
	END IF;
	IF to_regclass('pg_temp.rollup_source_items_new') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_items_new;
	END IF;
	IF to_regclass('pg_temp.rollup_source_retry_groups') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_retry_groups;
	END IF;
	IF to_regclass('pg_temp.rollup_source_items_k') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_items_k;
	END IF;

	-- the attempts of the traces recomputed: out with the old (their items
	-- are touched), in with the new
	CREATE TEMP TABLE rollup_source_items (workflow text, item text) ON COMMIT DROP;
	IF traces IS NULL THEN
		DELETE FROM @extschema@.rollup_source_attempt a WHERE a.source = rollup_source_retry_apply.source;
	ELSE
		WITH old AS (
			DELETE FROM @extschema@.rollup_source_attempt a
			 WHERE a.source = rollup_source_retry_apply.source AND a.trace_id = ANY (traces)
			RETURNING a.workflow, a.item)
		INSERT INTO pg_temp.rollup_source_items SELECT o.workflow, o.item FROM old o;
	END IF;
	-- A trace's attempt costs its calls (its contributions, just replaced),
	-- or where it has none its agent spans' usage (the spans view), as the
	-- attempts view says; NULL when one of them is left out of the money.
	SELECT pg_catalog.array_agg(t.trace_id) INTO agent_only
	  FROM pg_temp.rollup_source_touched t
	 WHERE t.item IS NOT NULL AND t.trace_id IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.rollup_source_trace x
						WHERE x.source = rollup_source_retry_apply.source AND x.trace_id = t.trace_id);
	EXECUTE format($q$
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_attempt
		SELECT $1, t.trace_id, t.workflow, t.item, t.started_at, t.succeeded,
			   CASE WHEN c.trace_id IS NOT NULL THEN CASE WHEN c.left_out = 0 THEN c.cost END
					WHEN s.left_out = 0 THEN COALESCE(s.cost, 0) END,
			   t.recorded_attempt
		  FROM pg_temp.rollup_source_touched t
		  LEFT JOIN (SELECT x.trace_id, pg_catalog.sum(x.calls_left_out) AS left_out, pg_catalog.sum(x.cost) AS cost
					   FROM @extschema@.rollup_source_trace x
					  WHERE x.source = $1 AND x.trace_id IN (SELECT y.trace_id FROM pg_temp.rollup_source_touched y
															  WHERE y.item IS NOT NULL)
					  GROUP BY x.trace_id) c ON c.trace_id = t.trace_id
		  LEFT JOIN (%s) s ON s.trace_id = t.trace_id
		 WHERE t.item IS NOT NULL AND t.trace_id IS NOT NULL
		RETURNING workflow, item)
	INSERT INTO pg_temp.rollup_source_items SELECT n.workflow, n.item FROM new n$q$,
		CASE WHEN agent_only IS NULL
			THEN 'SELECT NULL::pg_catalog.text AS trace_id, NULL::pg_catalog.numeric AS cost, NULL::pg_catalog.int8 AS left_out WHERE false'
			ELSE format('SELECT s.source_trace_id AS trace_id, pg_catalog.sum(s.cost) AS cost, '
				'pg_catalog.count(*) FILTER (WHERE s.cost IS NULL) AS left_out '
				'FROM %s s WHERE s.source_trace_id = ANY ($2) GROUP BY s.source_trace_id', spans_view) END)
	USING source, agent_only;

	IF traces IS NULL THEN
		-- every item and every day again
		DELETE FROM @extschema@.rollup_source_item i WHERE i.source = rollup_source_retry_apply.source;
		DELETE FROM @extschema@.rollup_source_retry r WHERE r.source = rollup_source_retry_apply.source;
		EXECUTE 'INSERT INTO @extschema@.rollup_source_item ' || items_sql USING source;
		EXECUTE format($q$
		INSERT INTO @extschema@.rollup_source_retry
		SELECT $1, x.day, x.workflow, x.items, x.items_left_out, x.retry, statement_timestamp()
		  FROM (%s) x$q$, format(sums, format('(SELECT i.* FROM @extschema@.rollup_source_item i WHERE i.source = $1)'),
								format(gkey, 'g')))
		USING source;
		RETURN;
	END IF;

	-- (the touched items once each, analyzed: the joins below and in
	-- items_sql, and the waste part's, then reach the touched items' rows
	-- by their index instead of reading every item of every source)
	CREATE TEMP TABLE rollup_source_items_k ON COMMIT DROP AS SELECT DISTINCT k.workflow, k.item FROM pg_temp.rollup_source_items k;
	DROP TABLE pg_temp.rollup_source_items;
	ALTER TABLE pg_temp.rollup_source_items_k RENAME TO rollup_source_items;
	ANALYZE pg_temp.rollup_source_items;
	-- the touched items: their rows as they were out, recomputed in
	CREATE TEMP TABLE rollup_source_items_old ON COMMIT DROP AS
	WITH old AS (
		DELETE FROM @extschema@.rollup_source_item i
		 USING pg_temp.rollup_source_items k
		 WHERE i.source = rollup_source_retry_apply.source AND i.item = k.item AND i.workflow IS NOT DISTINCT FROM k.workflow
		RETURNING i.*)
	SELECT * FROM old;
	CREATE TEMP TABLE rollup_source_items_new (LIKE @extschema@.rollup_source_item) ON COMMIT DROP;
	EXECUTE format('WITH new AS (INSERT INTO @extschema@.rollup_source_item %s RETURNING *) '
		'INSERT INTO pg_temp.rollup_source_items_new SELECT * FROM new', items_sql) USING source;

	-- Each day x workflow group touched: its row less the old items plus the
	-- new.  Counts subtract; a retry state does unless its largest attempt
	-- number goes out with the old items (retry_subtract() is NULL): those
	-- groups are merged again from their items.
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_retry_groups ON COMMIT DROP AS
	SELECT k.gkey, k.day, k.workflow,
		   o.gkey IS NULL OR (d.gkey IS NOT NULL AND (o.retry IS NULL OR kept.s IS NOT NULL)) AS exact,
		   COALESCE(d.items, 0) - COALESCE(o.items, 0) + COALESCE(n.items, 0) AS items,
		   COALESCE(d.items_left_out, 0) - COALESCE(o.items_left_out, 0) + COALESCE(n.items_left_out, 0) AS items_left_out,
		   -- (no item counted: NULL, as retry_economics() over no row)
		   CASE WHEN COALESCE(d.items, 0) - COALESCE(o.items, 0) + COALESCE(n.items, 0) > 0
				THEN (SELECT @extschema@.merge(v.s) FROM (VALUES (kept.s), (n.retry)) v(s)) END AS retry
	  FROM (SELECT x.gkey, x.day, x.workflow FROM (%1$s) x UNION SELECT x.gkey, x.day, x.workflow FROM (%2$s) x) k
	  LEFT JOIN (%1$s) o ON o.gkey = k.gkey
	  LEFT JOIN (%2$s) n ON n.gkey = k.gkey
	  LEFT JOIN (SELECT %3$s AS gkey, d.* FROM @extschema@.rollup_source_retry d WHERE d.source = $1) d ON d.gkey = k.gkey,
	LATERAL (SELECT CASE WHEN o.retry IS NULL THEN d.retry ELSE @extschema@.retry_subtract(d.retry, o.retry) END AS s) kept$q$,
		format(sums, 'pg_temp.rollup_source_items_old', format(gkey, 'g')),
		format(sums, 'pg_temp.rollup_source_items_new', format(gkey, 'g')),
		format(gkey, 'd'))
	USING source;
	EXECUTE format('DELETE FROM @extschema@.rollup_source_retry d USING pg_temp.rollup_source_retry_groups g '
		'WHERE d.source = $1 AND %s = g.gkey', format(gkey, 'd')) USING source;
	EXECUTE format($q$
	INSERT INTO @extschema@.rollup_source_retry
	SELECT $1, x.day, x.workflow, x.items, x.items_left_out, x.retry, statement_timestamp()
	  FROM pg_temp.rollup_source_retry_groups x
	 WHERE x.exact AND x.items + x.items_left_out > 0
	UNION ALL
	SELECT $1, x.day, x.workflow, x.items, x.items_left_out, x.retry, statement_timestamp()
	  FROM pg_temp.rollup_source_retry_groups r,
	LATERAL (%s) x
	 WHERE NOT r.exact$q$,
		format(sums, format('(SELECT i.* FROM @extschema@.rollup_source_item i WHERE i.source = $1 AND %s = r.gkey)',
							format(gkey, 'i')), format(gkey, 'g')))
	USING source;
	-- (rollup_source_items stays: the waste part reads it)
	DROP TABLE pg_temp.rollup_source_items_old, pg_temp.rollup_source_items_new, pg_temp.rollup_source_retry_groups;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_retry_apply(pg_catalog.text, pg_catalog.text[], pg_catalog.text) IS
	'step of rollup_source_refresh(): replace the attempts of the traces recomputed, recompute their items and update the day x workflow rows of rollup_source_retry';

CREATE FUNCTION @extschema@.rollup_source_waste_apply(source pg_catalog.text, traces pg_catalog.text[],
	spans_view pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	run_traces text[];
	runs_cond text;
	spans_from text;
	-- the summed columns of a run and of a day's row, in order
	summed text[] := ARRAY['spans', 'total', 'essential', 'error_call', 'failed_attempt', 'abandoned_branch',
						   'stuck_loop', 'duplicate_tool_call', 'waste'];
	-- a run's group (see rollup_source_group())
	gkey text := '@extschema@.rollup_source_group(%1$s.day, %1$s.workflow, NULL)';
	-- what a set of runs (%1$s) adds to each group
	sums text;
	new_runs text;
	run record;
	err text;
BEGIN
	sums := format('SELECT %%2$s AS gkey, g.day, g.workflow, count(*) FILTER (WHERE g.problem IS NULL) AS runs, '
		'count(*) FILTER (WHERE g.problem IS NOT NULL) AS runs_left_out, %s FROM %%1$s g GROUP BY 1, 2, 3',
		(SELECT string_agg(format('COALESCE(sum(g.%1$I), 0) AS %1$I', c), ', ') FROM unnest(summed) c));
	IF to_regclass('pg_temp.rollup_source_runs') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_runs;
	END IF;
	IF to_regclass('pg_temp.rollup_source_waste_old') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_waste_old;
	END IF;
	IF to_regclass('pg_temp.rollup_source_waste_new') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_waste_new;
	END IF;
	IF to_regclass('pg_temp.rollup_source_spans') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_spans;
	END IF;
	runs_cond := CASE WHEN traces IS NULL THEN 'true' ELSE 's.source_trace_id = ANY ($2)' END;

	-- the traces of the runs to classify again: every trace of the items
	-- touched (their run: the first by start, as the attempts view has it),
	-- and the touched traces without an item (each its own run)
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_runs ON COMMIT DROP AS
	SELECT a.trace_id, a.workflow, a.item, a.succeeded, a.started_at, a.attempt, a.run_id
	  FROM (%s) a
	UNION ALL
	SELECT t.trace_id, t.workflow, NULL, t.succeeded, t.started_at, NULL::pg_catalog.int4, t.trace_id
	  FROM pg_temp.rollup_source_touched t
	 WHERE t.item IS NULL AND t.trace_id IS NOT NULL$q$, @extschema@.rollup_source_numbered(source, traces IS NOT NULL))
	USING source;
	ANALYZE pg_temp.rollup_source_runs;
	IF traces IS NOT NULL THEN
		SELECT pg_catalog.array_agg(r.trace_id) INTO run_traces FROM pg_temp.rollup_source_runs r;
	END IF;

	-- the old runs out: every run of the source, or those of the items
	-- touched and of the touched traces (a trace without an item now may
	-- have been its own run, or an item's)
	-- (each by its index: the items' runs by item, the traces' own by id)
	CREATE TEMP TABLE rollup_source_waste_old (LIKE @extschema@.rollup_source_waste) ON COMMIT DROP;
	IF traces IS NULL THEN
		DELETE FROM @extschema@.rollup_source_waste w WHERE w.source = rollup_source_waste_apply.source;
	ELSE
		WITH old AS (
			DELETE FROM @extschema@.rollup_source_waste w
			 USING (SELECT DISTINCT k.workflow, k.item FROM pg_temp.rollup_source_items k) k
			 WHERE w.source = rollup_source_waste_apply.source AND w.item = k.item
			   AND w.workflow IS NOT DISTINCT FROM k.workflow
			RETURNING w.*)
		INSERT INTO pg_temp.rollup_source_waste_old SELECT * FROM old;
		WITH old AS (
			DELETE FROM @extschema@.rollup_source_waste w
			 WHERE w.source = rollup_source_waste_apply.source AND w.run_id = ANY (traces) AND w.item IS NULL
			RETURNING w.*)
		INSERT INTO pg_temp.rollup_source_waste_old SELECT * FROM old;
	END IF;
	-- the new ones in, classified as tokacct.waste_by_trace() over the spans
	-- view classifies them (the view's status, attempt and run rebuilt from
	-- the attempt facts; spans without a trace id belong to no run).  A run
	-- with a span waste_agg() refuses (no id, no finite start, a cost or
	-- input cost out of [0, 9223372.036854775807], a negative attempt or
	-- input: the rule of waste_by_trace_sql(); a span id twice) is left out
	-- and says why;
	-- should the classification still fail (parent ids in a cycle), the runs
	-- are classified one by one and the failing ones left out with the error:
	-- their spans read from the view once (kept, by trace id, in a temporary
	-- table), not once per run (a table without an index on the trace id
	-- would be read whole per run).  ({{SPANS}}: where the spans are read;
	-- {{RUNS}}: which; {{BAD}}: the spans left out, as waste_by_trace_sql()
	-- leaves them out.)
	new_runs := $q$
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_waste
		SELECT $1, q.run_id, q.workflow, q.item, q.day, s.spans, s.total, s.essential, s.error_call, s.failed_attempt,
			   s.abandoned_branch, s.stuck_loop, s.duplicate_tool_call, s.waste, q.problem
		  FROM (SELECT q.*, CASE WHEN q.bad_span THEN 'a span without an id or a finite start time, with a cost or input cost out of range, or with a negative attempt or input'
							   WHEN q.spans <> q.ids THEN 'a span id twice in the run' END AS problem
				  FROM (SELECT r.run_id, r.workflow, pg_catalog.min(r.item) AS item,
							   (pg_catalog.min(r.started_at) FILTER (WHERE r.trace_id = r.run_id) AT TIME ZONE 'UTC')::pg_catalog.date AS day,
							   pg_catalog.bool_or(x.bad) AS bad_span, pg_catalog.count(*) AS spans,
							   pg_catalog.count(DISTINCT x.span_id) AS ids,
							   @extschema@.waste_agg(x.span_id, x.parent_id, x.kind, x.name, x.args_hash, x.status,
								   x.cost, x.started_at, r.attempt, x.input_tokens, x.input_cost) FILTER (WHERE NOT x.bad) AS st
						  FROM (SELECT s.source_trace_id, s.span_id::pg_catalog.text AS span_id, s.parent_id::pg_catalog.text AS parent_id,
									   s.kind::pg_catalog.text AS kind, s.name::pg_catalog.text AS name,
									   s.args_hash::pg_catalog.text AS args_hash, s.span_status::pg_catalog.text AS span_status,
									   s.cost::pg_catalog.numeric AS cost, s.started_at::pg_catalog.timestamptz AS started_at,
									   s.input_tokens::pg_catalog.int8 AS input_tokens, s.input_cost::pg_catalog.numeric AS input_cost
								  FROM {{SPANS}} s
								 WHERE {{RUNS}}) x0
						  JOIN pg_temp.rollup_source_runs r ON r.trace_id = x0.source_trace_id,
						LATERAL (SELECT x0.*,
									 CASE WHEN x0.parent_id IS NULL AND r.succeeded IS FALSE AND x0.span_status = 'ok' THEN 'error'
										  ELSE x0.span_status END AS status,
									 {{BAD}} IS TRUE AS bad) x
						 GROUP BY r.run_id, r.workflow) q) q
		  LEFT JOIN LATERAL @extschema@.waste_summary(CASE WHEN q.problem IS NULL THEN q.st END) s ON true
		RETURNING *)
	INSERT INTO pg_temp.rollup_source_waste_new SELECT * FROM new$q$;
	new_runs := replace(new_runs, '{{BAD}}', @extschema@.waste_bad_span_sql('x0.span_id', 'x0.cost',
		'x0.started_at', 'r.attempt', 'x0.input_tokens', 'x0.input_cost'));
	CREATE TEMP TABLE rollup_source_waste_new (LIKE @extschema@.rollup_source_waste) ON COMMIT DROP;
	BEGIN
		EXECUTE replace(replace(new_runs, '{{SPANS}}', spans_view), '{{RUNS}}', runs_cond)
		USING source, run_traces;
	EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
		spans_from := spans_view;
		BEGIN
			EXECUTE format('CREATE TEMP TABLE rollup_source_spans ON COMMIT DROP AS '
				'SELECT s.source_trace_id, s.span_id, s.parent_id, s.kind, s.name, s.args_hash, s.span_status, s.cost, '
				's.started_at, s.input_tokens, s.input_cost FROM %s s WHERE %s', spans_view, runs_cond)
			USING source, run_traces;
			CREATE INDEX ON pg_temp.rollup_source_spans (source_trace_id);
			ANALYZE pg_temp.rollup_source_spans;
			spans_from := 'pg_temp.rollup_source_spans';
		EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
			NULL;	-- (the view refuses a row: each run read from it)
		END;
		FOR run IN SELECT r.run_id, pg_catalog.array_agg(r.trace_id) AS trace_ids FROM pg_temp.rollup_source_runs r GROUP BY 1 LOOP
			BEGIN
				EXECUTE replace(replace(new_runs, '{{SPANS}}', spans_from), '{{RUNS}}', 's.source_trace_id = ANY ($2)')
				USING source, run.trace_ids;
			EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
				GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
				INSERT INTO @extschema@.rollup_source_waste (source, run_id, workflow, item, day, problem)
				SELECT source, r.run_id, r.workflow, pg_catalog.min(r.item),
					   (pg_catalog.min(r.started_at) FILTER (WHERE r.trace_id = r.run_id) AT TIME ZONE 'UTC')::pg_catalog.date, err
				  FROM pg_temp.rollup_source_runs r WHERE r.run_id = run.run_id GROUP BY r.run_id, r.workflow;
				INSERT INTO pg_temp.rollup_source_waste_new SELECT * FROM @extschema@.rollup_source_waste w
				 WHERE w.source = rollup_source_waste_apply.source AND w.run_id = run.run_id;
			END;
		END LOOP;
	END;

	-- each day x workflow group touched: its row less the old runs plus the new
	PERFORM @extschema@.rollup_source_days(source, 'rollup_source_waste_daily',
		CASE WHEN traces IS NOT NULL THEN format(sums, 'pg_temp.rollup_source_waste_old', format(gkey, 'g')) END,
		format(sums, 'pg_temp.rollup_source_waste_new', format(gkey, 'g')),
		ARRAY['runs', 'runs_left_out'] || summed, 'x.runs + x.runs_left_out > 0');
	DROP TABLE pg_temp.rollup_source_runs, pg_temp.rollup_source_waste_old, pg_temp.rollup_source_waste_new;
	IF to_regclass('pg_temp.rollup_source_spans') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_spans;
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_waste_apply(pg_catalog.text, pg_catalog.text[], pg_catalog.text) IS
	'step of rollup_source_refresh(): classify again the runs with a trace recomputed and update the day x workflow rows of rollup_source_waste_daily';

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

CREATE OR REPLACE FUNCTION @extschema@.rollup_source_apply(source pg_catalog.text, traces pg_catalog.text[],
	OUT traces_done pg_catalog.int8, OUT groups_done pg_catalog.int8)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	a @extschema@.attachment%ROWTYPE;
	calls_view text;
	per_trace text;
	sums text;
	-- the summed columns of a contribution and of a day's row, in order
	summed text[] := ARRAY['calls', 'calls_left_out', 'input_tokens', 'output_tokens', 'cache_read_tokens',
						   'cache_write_tokens', 'reasoning_tokens', 'cost', 'reported_cost', 'list_cost'];
	-- the calls without a trace id, when they are among the traces
	no_trace text := 'c.trace_id IS NULL AND pg_catalog.array_position($2, NULL::pg_catalog.text) IS NOT NULL';
	-- (a full run's condition on the calls: no trace id too long for the keys)
	short_id text := '(c.trace_id IS NULL OR pg_catalog.octet_length(c.trace_id) <= 400)';
	too_long int8;
	traces_view text;
	spans_view text;
	v text;
	-- a group's key (see rollup_source_group())
	gkey text := '@extschema@.rollup_source_group(%1$s.day, %1$s.workflow, %1$s.model)';
BEGIN
	SELECT * INTO a FROM @extschema@.attachment t WHERE t.source = rollup_source_apply.source;
	calls_view := format('%I.%I', a.view_schema, a.view_prefix || 'calls');
	traces_view := format('%I.%I', a.view_schema, a.view_prefix || 'traces');
	IF to_regclass(traces_view) IS NULL OR NOT traces_view = ANY (a.views) THEN
		traces_view := NULL;
	END IF;
	-- Retry economics and waste need the traces view's attempt facts and
	-- the spans view's own status (a source attached before they had them
	-- has neither until attached again, which makes the next refresh count
	-- everything).
	spans_view := format('%I.%I', a.view_schema, a.view_prefix || 'spans');
	IF traces_view IS NULL OR NOT spans_view = ANY (a.views) OR (
			SELECT count(*) FROM pg_attribute c
			 WHERE (c.attrelid, c.attname) IN ((to_regclass(traces_view), 'recorded_attempt'), (to_regclass(spans_view), 'span_status'))
			   AND NOT c.attisdropped) < 2 THEN
		spans_view := NULL;
	END IF;
	-- The views belong to whoever attached the source, who can replace them
	-- (and tokacct.attachment, where their names come from, is written by
	-- admins): their functions run as the caller, so read them only when
	-- their owner has the caller's privileges, as source_check() does for a
	-- view.  Each is locked first, then checked: the owner of the view
	-- schema may drop a view and create another under its name, and a
	-- refresh that checked the view by its name and read it later would
	-- read the new one (waiting, when it reads, for the lock of the
	-- transaction that dropped the old).  Locked, the name keeps its view
	-- until this transaction ends.
	FOREACH v IN ARRAY array_remove(ARRAY[calls_view, traces_view, spans_view], NULL) LOOP
		IF to_regclass(v) IS NULL THEN
			RAISE EXCEPTION 'cannot refresh the rollup of source "%": its % view % is missing', source,
				CASE v WHEN calls_view THEN 'calls' WHEN traces_view THEN 'traces' ELSE 'spans' END, v
				USING ERRCODE = 'undefined_table',
					  HINT = 'Attach the source again (its attach function with the same arguments makes the views), or drop its rollup with tokacct.rollup_source_drop().';
		END IF;
		EXECUTE format('LOCK TABLE %s IN ACCESS SHARE MODE', v);
		IF NOT EXISTS (SELECT 1 FROM pg_class c
						WHERE c.oid = to_regclass(v) AND c.relkind = 'v'
						  AND pg_has_role(c.relowner, current_user, 'USAGE')) THEN
			RAISE EXCEPTION 'cannot refresh the rollup of source "%": its % view % is not one this role can read safely',
				source, CASE v WHEN calls_view THEN 'calls' WHEN traces_view THEN 'traces' ELSE 'spans' END, v
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = format('The view is missing or owned by %s, who lacks the privileges of role "%s"; reading it would run that role''s code with yours.',
							coalesce((SELECT c.relowner::regrole::text FROM pg_class c WHERE c.oid = to_regclass(v)), 'nobody'), current_user),
					  HINT = 'Refresh as the role that attached the source (or one whose privileges it has), or attach it again as this role.';
		END IF;
	END LOOP;
	-- No trace written since the last refresh (a schedule running over an
	-- idle source): the views checked, nothing to recompute.
	IF cardinality(traces) = 0 THEN
		traces_done := 0;
		groups_done := 0;
		RETURN;
	END IF;
	-- What a set of contributions adds to each group it falls in (%1$s: the
	-- rows, %2$s: their group key).
	sums := format('SELECT %%2$s AS gkey, g.day, g.workflow, g.model, count(g.trace_id) AS traces, %s, '
		'@extschema@.merge(g.cost_sketch) AS cost_sketch FROM %%1$s g GROUP BY 1, 2, 3, 4',
		(SELECT string_agg(format('sum(g.%1$I) AS %1$I', c), ', ') FROM unnest(summed) c));
	-- (left by an earlier refresh of this transaction that failed in a
	-- subtransaction)
	IF to_regclass('pg_temp.rollup_source_old') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_old;
	END IF;
	IF to_regclass('pg_temp.rollup_source_new') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_new;
	END IF;
	IF to_regclass('pg_temp.rollup_source_groups') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_groups;
	END IF;
	IF to_regclass('pg_temp.rollup_source_touched') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_touched;
	END IF;
	-- the old contributions of the traces, summed per group
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_old ON COMMIT DROP AS
	WITH old AS (
		DELETE FROM @extschema@.rollup_source_trace t
		 WHERE t.source = $1 AND %s
		RETURNING t.*
	)
	%s$q$, CASE WHEN traces IS NULL THEN 'true'
		-- (in two conditions the index on the trace id answers)
		ELSE '(t.trace_id = ANY ($2) OR (t.trace_id IS NULL AND array_position($2, NULL::text) IS NOT NULL))' END,
		format(sums, 'old', format(gkey, 'g')))
	USING source, traces;
	-- their new contributions, from the calls view, summed per group.  The
	-- touched traces are read in one pass: their calls from the calls view
	-- (read without the workflow, which the view would take from every
	-- trace of the source: PostgreSQL passes a list of trace ids down to
	-- the table, not through a join), their workflow from the traces view
	-- (a list of trace ids reaches the table through its GROUP BY), whose
	-- rows the retry part reads too.  A source attached before the traces
	-- view existed (it has none until attached again) takes the calls view
	-- whole.
	IF traces_view IS NOT NULL THEN
		EXECUTE format('CREATE TEMP TABLE rollup_source_touched ON COMMIT DROP AS '
			'SELECT t.trace_id, @extschema@.rollup_source_key(t.workflow) AS workflow%s FROM %s t%s',
			CASE WHEN spans_view IS NOT NULL
				THEN ', @extschema@.rollup_source_key(t.item) AS item, t.started_at, t.succeeded, t.recorded_attempt' END,
			traces_view, CASE WHEN traces IS NOT NULL THEN ' WHERE t.trace_id = ANY ($1)' END)
		USING traces;
		-- (a full run: the traces whose id is too long for the rollup's
		-- keys are left out; a refresh's list has none)
		DELETE FROM pg_temp.rollup_source_touched t WHERE pg_catalog.octet_length(t.trace_id) > 400;
		GET DIAGNOSTICS too_long = ROW_COUNT;
		IF too_long > 0 THEN
			RAISE NOTICE 'tokacct: % traces of source "%" left out of its rollup: a trace id longer than 400 bytes', too_long, source;
		END IF;
		ANALYZE pg_temp.rollup_source_touched;
	END IF;
	-- With the context part, the touched calls are kept for it (read once).
	IF to_regclass('pg_temp.rollup_source_calls') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_calls;
	END IF;
	IF spans_view IS NOT NULL THEN
		EXECUTE format('CREATE TEMP TABLE rollup_source_calls ON COMMIT DROP AS '
			'SELECT c.trace_id, c.span_id, @extschema@.rollup_source_key(c.conversation_id) AS conversation_id, '
			'c.started_at, t.workflow, @extschema@.rollup_source_key(c.model) AS model, c.input_tokens, '
			'c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.reasoning_tokens, c.cost, c.cost_source, c.list_cost '
			'FROM %1$s c LEFT JOIN pg_temp.rollup_source_touched t ON t.trace_id = c.trace_id WHERE %2$s',
			calls_view, CASE WHEN traces IS NULL THEN short_id ELSE 'c.trace_id = ANY ($2)' END)
		USING source, traces;
		IF traces IS NOT NULL THEN
			EXECUTE format('INSERT INTO pg_temp.rollup_source_calls '
				'SELECT c.trace_id, c.span_id, @extschema@.rollup_source_key(c.conversation_id), c.started_at, NULL, '
				'@extschema@.rollup_source_key(c.model), c.input_tokens, '
				'c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.reasoning_tokens, c.cost, c.cost_source, c.list_cost '
				'FROM %1$s c WHERE %2$s', calls_view, no_trace)
			USING source, traces;
		END IF;
	END IF;
	per_trace := $q$
		SELECT c.trace_id, (c.started_at AT TIME ZONE 'UTC')::date AS day,
			   @extschema@.rollup_source_key(%3$s) AS workflow, @extschema@.rollup_source_key(c.model) AS model,
			   count(*), count(*) FILTER (WHERE c.cost IS NULL),
			   coalesce(sum(c.input_tokens), 0), coalesce(sum(c.output_tokens), 0),
			   coalesce(sum(c.cache_read_tokens), 0), coalesce(sum(c.cache_write_tokens), 0),
			   coalesce(sum(c.reasoning_tokens), 0),
			   coalesce(sum(c.cost), 0), coalesce(sum(c.cost) FILTER (WHERE c.cost_source = 'reported'), 0),
			   coalesce(sum(c.list_cost), 0), @extschema@.cost_sketch(c.cost)
		  FROM %1$s c%4$s
		 WHERE %2$s
		 GROUP BY 1, 2, 3, 4$q$;
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_new ON COMMIT DROP AS
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_trace
		SELECT $1, x.* FROM (%1$s) x
		RETURNING *
	)
	%2$s$q$,
		CASE WHEN spans_view IS NOT NULL THEN format(per_trace, 'pg_temp.rollup_source_calls', 'true', 'c.workflow', '')
		WHEN traces_view IS NULL AND traces IS NULL THEN format(per_trace, calls_view, short_id, 'c.workflow', '')
		WHEN traces_view IS NULL THEN format(per_trace, calls_view, 'c.trace_id = ANY ($2) OR ' || no_trace, 'c.workflow', '')
		WHEN traces IS NULL THEN format(per_trace, calls_view, short_id, 't.workflow',
				' LEFT JOIN pg_temp.rollup_source_touched t ON t.trace_id = c.trace_id')
		ELSE format(per_trace, calls_view, 'c.trace_id = ANY ($2)', 't.workflow',
				' LEFT JOIN pg_temp.rollup_source_touched t ON t.trace_id = c.trace_id')
			|| ' UNION ALL ' || format(per_trace, calls_view, no_trace, 'NULL::pg_catalog.text', '') END,
		format(sums, 'new', format(gkey, 'g')))
	USING source, traces;
	-- (a full run: every trace, with calls or not, as the traces view has
	-- them; the calls' traces where the source has no traces view)
	IF traces IS NOT NULL THEN
		traces_done := coalesce(array_length(traces, 1), 0);
	ELSIF traces_view IS NOT NULL THEN
		traces_done := (SELECT count(*) FROM pg_temp.rollup_source_touched);
	ELSE
		traces_done := (SELECT count(DISTINCT t.trace_id) FROM @extschema@.rollup_source_trace t
						 WHERE t.source = rollup_source_apply.source);
	END IF;

	-- Each group touched: its row as it was, less the old contributions,
	-- plus the new ones (one row per group; in a full run every contribution
	-- is new and the rows are the new sums).  Sums subtract exactly; a cost
	-- sketch does when the costs taken out lie strictly inside the row's
	-- min and max (sketch_subtract() is NULL otherwise): those groups are
	-- rebuilt from their contributions.
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_groups ON COMMIT DROP AS
	SELECT k.gkey, k.day, k.workflow, k.model,
		   o.gkey IS NULL OR (d.gkey IS NOT NULL AND (o.cost_sketch IS NULL OR kept.s IS NOT NULL)) AS exact,
		   %2$s,
		   (SELECT @extschema@.merge(v.s) FROM (VALUES (kept.s), (n.cost_sketch)) v(s)) AS cost_sketch
	  FROM (SELECT x.gkey, x.day, x.workflow, x.model FROM pg_temp.rollup_source_old x
			UNION SELECT x.gkey, x.day, x.workflow, x.model FROM pg_temp.rollup_source_new x) k
	  LEFT JOIN pg_temp.rollup_source_old o ON o.gkey = k.gkey AND NOT $2
	  LEFT JOIN pg_temp.rollup_source_new n ON n.gkey = k.gkey
	  LEFT JOIN (SELECT %1$s AS gkey, d.* FROM @extschema@.rollup_source_daily d WHERE d.source = $1) d
		ON d.gkey = k.gkey AND NOT $2,
	-- the row's sketch less the old contributions' (NULL when not exact)
	LATERAL (SELECT CASE WHEN o.cost_sketch IS NULL THEN d.cost_sketch
						 ELSE @extschema@.sketch_subtract(d.cost_sketch, o.cost_sketch) END AS s) kept$q$,
		format(gkey, 'd'),
		(SELECT string_agg(format('coalesce(d.%1$I, 0) - coalesce(o.%1$I, 0) + coalesce(n.%1$I, 0) AS %1$I', c), ', ')
		   FROM unnest('traces'::text || summed) c))
	USING source, traces IS NULL;
	groups_done := (SELECT count(*) FROM pg_temp.rollup_source_groups);
	-- the daily rows of those groups replaced: by the sums above, or rebuilt
	-- group by group (each group's contributions found by the index)
	EXECUTE format('DELETE FROM @extschema@.rollup_source_daily d USING pg_temp.rollup_source_groups g '
		'WHERE d.source = $1 AND %s = g.gkey', format(gkey, 'd')) USING source;
	EXECUTE format($q$
	INSERT INTO @extschema@.rollup_source_daily
	SELECT $1, x.day, x.workflow, x.model, x.traces, %1$s, x.cost_sketch, statement_timestamp()
	  FROM pg_temp.rollup_source_groups x
	 WHERE x.exact AND x.calls > 0
	UNION ALL
	SELECT $1, x.day, x.workflow, x.model, x.traces, %1$s, x.cost_sketch, statement_timestamp()
	  FROM pg_temp.rollup_source_groups r,
	LATERAL (%2$s) x
	 WHERE NOT r.exact$q$,
		(SELECT string_agg(format('x.%I', c), ', ') FROM unnest(summed) c),
		format(sums, format('(SELECT t.* FROM @extschema@.rollup_source_trace t WHERE t.source = $1 AND %s = r.gkey)',
							format(gkey, 't')), format(gkey, 'g')))
	USING source;
	IF spans_view IS NOT NULL THEN
		PERFORM @extschema@.rollup_source_retry_apply(source, traces, spans_view);
		PERFORM @extschema@.rollup_source_waste_apply(source, traces, spans_view);
		PERFORM @extschema@.rollup_source_context_apply(source, traces, calls_view, traces_view);
		DROP TABLE pg_temp.rollup_source_items, pg_temp.rollup_source_calls;
	END IF;
	DROP TABLE pg_temp.rollup_source_old, pg_temp.rollup_source_new, pg_temp.rollup_source_groups;
	IF traces_view IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_touched;
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_apply(pg_catalog.text, pg_catalog.text[]) IS
	'step of rollup_source_refresh(): recompute some traces (all when NULL) of a source from its calls view, replace their contributions and rebuild the daily rows they touch';

CREATE OR REPLACE FUNCTION @extschema@.rollup_source_run(source pg_catalog.text, full_run pg_catalog.bool)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	SET random_page_cost = 1.1
	AS $fn$
DECLARE
	prev pg_snapshot;
	prev_def text;
	def text;
	cur pg_snapshot;
	dist int8;
	touched text[];
	kept text[];
	r record;
	rel regclass;
	started timestamptz := clock_timestamp();
BEGIN
	SELECT p.snapshot, p.definition INTO prev, prev_def FROM @extschema@.rollup_source p
	 WHERE p.source = rollup_source_run.source FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'source "%" has no rollup', source
			USING ERRCODE = 'undefined_object',
				  HINT = format('Define it with CALL @extschema@.rollup_source_create(%L).', source);
	END IF;
	-- A restored database has the rollup's definition (dumped) without its
	-- traces and days (derived, not dumped) and with a snapshot of another
	-- cluster, whose ids mean nothing here: with no trace stored, count
	-- everything (cheap when the source was empty at the last refresh).  A
	-- trace without calls is stored too, as an attempt or a run: a source
	-- whose usage is on agent spans only is no restored one.
	IF prev IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.rollup_source_trace t WHERE t.source = rollup_source_run.source)
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.rollup_source_attempt a WHERE a.source = rollup_source_run.source)
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.rollup_source_waste w WHERE w.source = rollup_source_run.source) THEN
		prev := NULL;
	END IF;
	-- taken once the lock is held and before the scan: every row the scan
	-- misses belongs to a transaction at least as new as cur's xmin
	cur := pg_current_snapshot();
	-- The views the refresh reads: a source attached again with other
	-- options or columns counts otherwise with no row written, so its
	-- every trace is counted again.  (Read after cur: the views read later
	-- are at least as new; a source attached again meanwhile is counted
	-- again by the next refresh.)
	def := (SELECT a.definition FROM @extschema@.attachment a WHERE a.source = rollup_source_run.source);
	IF NOT full_run AND prev IS NOT NULL AND prev_def IS NOT DISTINCT FROM def THEN
		dist := pg_snapshot_xmax(cur)::text::int8 - pg_snapshot_xmin(prev)::text::int8;
		IF dist >= 2147483648 THEN
			dist := NULL;	-- too long ago for a 32-bit xmin: count everything
		END IF;
	END IF;
	IF dist IS NULL THEN
		PERFORM @extschema@.rollup_source_keys(source, NULL);	-- the checks
		r := @extschema@.rollup_source_apply(source, NULL);
	ELSE
		EXECUTE format('SELECT pg_catalog.array_agg(x.trace_id) FROM (%s) x',
			@extschema@.rollup_source_keys(source, pg_snapshot_xmin(prev)::text::int8))
			INTO touched;
		-- a trace id too long for the rollup's keys: the trace is left out
		kept := ARRAY(SELECT x FROM unnest(touched) x WHERE x IS NULL OR pg_catalog.octet_length(x) <= 400);
		IF cardinality(kept) < cardinality(touched) THEN
			RAISE NOTICE 'tokacct: % traces of source "%" left out of its rollup: a trace id longer than 400 bytes',
				cardinality(touched) - cardinality(kept), source;
		END IF;
		r := @extschema@.rollup_source_apply(source, kept);
	END IF;
	-- A full run fills the rollup's tables at once: their statistics, as
	-- autovacuum would take them later, so that the next refresh finds its
	-- few rows by their indexes (analysed by their owner only).
	IF dist IS NULL THEN
		FOR rel IN SELECT c.oid::regclass FROM pg_class c
					WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind = 'r'
					  AND c.relname LIKE 'rollup\_source\_%' AND pg_has_role(c.relowner, 'USAGE') ORDER BY c.relname LOOP
			EXECUTE format('ANALYZE %s', rel);
		END LOOP;
	END IF;
	UPDATE @extschema@.rollup_source p
	   SET snapshot = cur, definition = def, runs = p.runs + 1, last_run_at = started, last_full = dist IS NULL,
		   last_traces = r.traces_done, last_groups = r.groups_done, last_duration = clock_timestamp() - started
	 WHERE p.source = rollup_source_run.source;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_run(pg_catalog.text, pg_catalog.bool) IS
	'step of rollup_source_refresh() and rollup_source_rebuild(): recompute the traces touched since the saved snapshot (all when full_run or never refreshed), save the new one';

CREATE OR REPLACE FUNCTION @extschema@.attach_build(source pg_catalog.text, parts pg_catalog.jsonb,
	opts pg_catalog.jsonb, dedup pg_catalog.bool) RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	src text := quote_literal(source) || '::pg_catalog.text';
	sep text := CASE WHEN opts ->> 'cache_tokens' = 'separate' THEN 'true' ELSE 'false' END;
	is_strict boolean := coalesce((opts ->> 'strict')::boolean, false);
	reported_first boolean := coalesce(opts ->> 'cost_basis', 'reported_first') = 'reported_first';
	success text := quote_literal(coalesce(
		(SELECT array_agg(lower(v)) FROM jsonb_array_elements_text(opts -> 'success_values') v),
		ARRAY['success', 'succeeded', 'solved', 'resolved', 'ok', 'pass', 'passed', 'true', '1', 'yes'])::text)
		|| '::pg_catalog.text[]';
	colnames text[] := ARRAY['trace_id', 'span_id', 'parent_id', 'name', 'started_at', 'ended_at',
		'status_raw', 'error_type', 'operation', 'kind', 'provider', 'request_model', 'response_model',
		'input_raw', 'output_raw', 'cache_read_raw', 'cache_write_raw', 'reasoning_raw',
		'reported_cost', 'reported_cost_raw', 'reported_currency', 'reported_cost_source', 'estimated_cost',
		'conversation_id', 'tool_name', 'args_hash', 'workflow', 'item', 'outcome', 'option', 'attempt_raw',
		'segment'];
	cols jsonb := parts -> 'cols';
	rel text := parts ->> 'from';
	sel text;
	dedup_sel text;
	content text;
	call_filter text;
	usage_kind text;
	base_all text;			-- every stored row
	spans_rows text;		-- every span once, usage_kind telling calls and agent usage
	calls_rows text;		-- every counted call once
	priced text;			-- template: the rows of {{ROWS}} priced
	spans_priced text;
	calls_priced text;
	traces text;
	attempts text;
	by_trace text;
	attempt_expr text;
	v_calls text;
	v_spans text;
	v_attempts text;
	v_items text;
	v_conv text;
	v_problems text;
	v_traces text;
	record text;
	c text;
BEGIN
	FOREACH c IN ARRAY colnames LOOP
		IF NOT cols ? c THEN
			RAISE EXCEPTION 'attach_build: the source gives no column %', c USING ERRCODE = 'internal_error';
		END IF;
	END LOOP;
	SELECT string_agg(format('%s AS %I', cols ->> n, n), E',\n\t   ' ORDER BY o)
	  INTO sel FROM unnest(colnames) WITH ORDINALITY u(n, o);
	SELECT 'ROW(' || string_agg('b.' || n, ', ') || ')' INTO content
	  FROM unnest(colnames) n WHERE n NOT IN ('trace_id', 'span_id');

	base_all := format('SELECT %s%sFROM %s', sel, E'\n  ', rel);

	-- The spans whose usage is priced: LLM calls ("call"), and agent spans
	-- that carry usage ("agent").  An agent span's usage counts only where
	-- its trace has no LLM-call span (else it repeats its calls' usage):
	-- attempts, items and spans apply that per trace; the calls view lists
	-- LLM calls only, so it reads each row once, with no look at others.
	call_filter := format('%s = ''llm''', cols ->> 'kind');
	usage_kind := format('CASE %s WHEN ''llm'' THEN ''call''%s END', cols ->> 'kind',
		CASE WHEN coalesce(opts ->> 'agent_usage', 'when_no_calls') = 'when_no_calls' THEN format(
			' WHEN ''agent'' THEN CASE WHEN %s IS NOT NULL OR %s IS NOT NULL THEN ''agent'' END',
			cols ->> 'input_raw', cols ->> 'output_raw')
		ELSE '' END);

	-- Repeated span ids are collapsed on the stored rows (before anything is
	-- read from them), keeping the first copy in the source's order.  The
	-- collapsing passes on the table's columns (parts' star) but the stamp
	-- of a tracking (rollup_source_track()), which untracking drops.  The
	-- trace id is read back from the collapsing's own key (bytes, as "C"
	-- compares them; a deterministic collation's equality is the same
	-- bytes) in the trace id's own collation (parts' trace_collation: the
	-- column's, whose index a condition then reaches; else the default),
	-- so that a condition on trace ids (a rollup refresh's) passes the
	-- DISTINCT ON and reaches the table and its index on the trace id.
	IF dedup THEN
		IF parts ->> 'trace' = cols ->> 'trace_id' THEN
			SELECT string_agg(format('%s AS %I', CASE WHEN n = 'trace_id'
						THEN format('(r.tokacct_trace_key COLLATE %s)', coalesce(parts ->> 'trace_collation', 'pg_catalog."default"'))
						ELSE cols ->> n END, n), E',\n\t   ' ORDER BY o)
			  INTO dedup_sel FROM unnest(colnames) WITH ORDINALITY u(n, o);
		ELSE
			dedup_sel := sel;
		END IF;
		-- A copy that is an LLM call is kept over one that is not (its usage
		-- counts), then the source's order: so the calls view, which reads
		-- only the calls' copies, keeps the copy every other view keeps.
		spans_rows := format(
			'SELECT %1$s, %7$s AS usage_kind%2$sFROM (SELECT DISTINCT ON ((%3$s) COLLATE "C", (%4$s) COLLATE "C") '
			'(%3$s) COLLATE "C" AS tokacct_trace_key, %8$s FROM %5$s '
			'ORDER BY (%3$s) COLLATE "C", (%4$s) COLLATE "C", (%9$s) DESC, %6$s) r',
			dedup_sel, E'\n  ', parts ->> 'trace', parts ->> 'span', rel, parts ->> 'order', usage_kind,
			coalesce(parts ->> 'star', 'r.*'), call_filter);
		calls_rows := format(
			'SELECT %1$s, ''call''::pg_catalog.text AS usage_kind%2$sFROM (SELECT DISTINCT ON ((%3$s) COLLATE "C", (%4$s) COLLATE "C") '
			'(%3$s) COLLATE "C" AS tokacct_trace_key, %8$s FROM %5$s '
			'WHERE %7$s ORDER BY (%3$s) COLLATE "C", (%4$s) COLLATE "C", %6$s) r',
			dedup_sel, E'\n  ', parts ->> 'trace', parts ->> 'span', rel, parts ->> 'order', call_filter,
			coalesce(parts ->> 'star', 'r.*'));
	ELSE
		spans_rows := format('SELECT %s, %s AS usage_kind%sFROM %s', sel, usage_kind, E'\n  ', rel);
		calls_rows := format('SELECT %s, ''call''::pg_catalog.text AS usage_kind%sFROM %s WHERE %s', sel, E'\n  ', rel, call_filter);
	END IF;

	-- The rows of {{ROWS}} priced: l0 reads the counts and names, l1 prices,
	-- l2 says what is wrong.  Spans without usage to price cost 0.
	--
	-- The outer layer carries a column fence (but for a strict source, see
	-- the last argument below): attach_fence() is volatile, so PostgreSQL
	-- keeps this layer a subquery instead of pulling it up into the view
	-- (src/attach.c), and each column of a priced span (cost, list_cost,
	-- problem, the counts, the status) is computed once, where the view
	-- reads it; pulled up, every reference re-ran its whole expression (the
	-- attempts view summed the cost of a span in two aggregates and tested
	-- it in two more: a pricing each).  Quals on the other columns still go
	-- down to the scan of the user's table (only the fence column itself is
	-- unsafe to push down), unread columns are still dropped, and parallel
	-- plans stay possible (the fence is PARALLEL SAFE).  A fence in every
	-- layer (l0, l1, l2 and the rows) was measured slower than this one: a
	-- fenced layer computes eagerly all it passes up, where the flattened
	-- expressions short-circuit (the status is read only for a call
	-- without usage, ...), and adds a node per row.  One C function
	-- returning every derived value as a composite was the other way; it
	-- would move the pricing rules out of SQL for little more.
	-- PERFORMANCE.md has the figures.
	priced := format($q$
SELECT l2.*,
	   CASE WHEN NOT l2.priced THEN 0::pg_catalog.numeric ELSE %1$s END AS cost,
	   CASE WHEN NOT l2.priced THEN NULL
			WHEN %2$s AND l2.reported_usd IS NOT NULL THEN 'reported'
			WHEN l2.list_cost IS NOT NULL THEN 'catalog' END AS cost_source%4$s
  FROM (SELECT l1.*,
			   COALESCE(
				 CASE WHEN NOT l1.priced THEN NULL
					  WHEN l1.started_at IS NULL OR NOT pg_catalog.isfinite(l1.started_at)
					  THEN 'no usable start time' END,
				 CASE WHEN l1.priced THEN @extschema@.attach_usage_problem(l1.input_raw, l1.output_raw,
					 l1.cache_read_raw, l1.cache_write_raw, l1.reasoning_raw, %3$s) END,
				 CASE WHEN l1.priced THEN l1.reported_problem END,
				 CASE WHEN l1.priced AND NOT l1.has_usage AND l1.status = 'ok' AND l1.reported_usd IS NULL
					  THEN 'no token usage on a successful call' END,
				 CASE WHEN l1.priced AND l1.has_usage AND l1.list_cost IS NULL
					  THEN pg_catalog.format('no catalog price for provider %%s, model %%s',
							pg_catalog.quote_nullable(l1.price_provider), pg_catalog.quote_nullable(l1.price_model)) END,
				 CASE WHEN l1.status_unknown
					  THEN pg_catalog.format('unknown status %%s (taken as ok)', pg_catalog.quote_literal(l1.status_raw)) END
			   ) AS problem
		  FROM (SELECT l0.*,
					   CASE WHEN l0.priced THEN
						 COALESCE(@extschema@.attach_list_cost(l0.provider, l0.model, l0.input_raw,
								l0.output_raw, l0.cache_read_raw, l0.cache_write_raw, l0.reasoning_raw,
								l0.started_at, %3$s),
							CASE WHEN NOT l0.has_usage AND l0.status <> 'ok' THEN 0::pg_catalog.numeric END) END AS list_cost
				  FROM (SELECT c.*, c.usage_kind IS NOT NULL AS priced,
							   COALESCE(@extschema@.attach_status(c.status_raw, c.error_type), 'ok') AS status,
							   @extschema@.attach_status(c.status_raw, c.error_type) IS NULL AS status_unknown,
							   COALESCE(c.response_model, c.request_model) AS model,
							   -- the counts of a call that reports usage; an absent one is 0,
							   -- an unusable one NULL
							   CASE WHEN c.usage_kind IS NOT NULL AND (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) THEN
								   COALESCE(@extschema@.attach_input_tokens(c.input_raw, c.cache_read_raw, c.cache_write_raw, %3$s),
									   CASE WHEN pg_catalog.btrim(COALESCE(c.input_raw, '')) = '' THEN 0::pg_catalog.int8 END) END AS input_tokens,
							   {{COUNT:output_raw}} AS output_tokens,
							   {{COUNT:cache_read_raw}} AS cache_read_tokens,
							   {{COUNT:cache_write_raw}} AS cache_write_tokens,
							   {{COUNT:reasoning_raw}} AS reasoning_tokens,
							   (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) AS has_usage,
							   CASE WHEN c.reported_cost IS NULL AND c.reported_cost_raw IS NOT NULL
									 AND c.reported_cost_raw !~ '^\s*$'
									THEN pg_catalog.format('reported cost not a number: %%s',
										pg_catalog.quote_literal(pg_catalog.left(c.reported_cost_raw, 40)))
									WHEN c.reported_cost IS NULL THEN NULL
									WHEN c.reported_cost = 'NaN'::pg_catalog.numeric
									  OR c.reported_cost = 'Infinity'::pg_catalog.numeric
									  OR c.reported_cost = '-Infinity'::pg_catalog.numeric
									THEN 'reported cost not finite'
									WHEN c.reported_cost < 0 THEN 'reported cost negative'
									WHEN c.reported_cost > 1000000 THEN 'reported cost above 1000000'
							   END AS reported_problem,
							   CASE WHEN c.reported_cost IS NOT NULL
									 AND c.reported_cost <> 'NaN'::pg_catalog.numeric
									 AND c.reported_cost >= 0 AND c.reported_cost <= 1000000
									 AND pg_catalog.upper(COALESCE(c.reported_currency, 'USD')) = 'USD'
									THEN pg_catalog.round(c.reported_cost, 12) END AS reported_usd,
							   COALESCE({{ALIAS}} OPERATOR(pg_catalog.->>) 2,
								   {{PROVIDER_MAP}} OPERATOR(pg_catalog.->>) @extschema@.fold_name(c.provider),
								   c.provider) AS price_provider,
							   COALESCE({{ALIAS}} OPERATOR(pg_catalog.->>) 3, c.response_model, c.request_model) AS price_model
						  FROM ({{ROWS}}) c) l0) l1) l2$q$,
		CASE
			WHEN is_strict THEN 'CASE WHEN l2.problem IS NOT NULL THEN @extschema@.attach_refuse('
				|| src || ', l2.trace_id, l2.span_id, l2.problem) '
				|| CASE WHEN reported_first THEN 'ELSE COALESCE(l2.reported_usd, l2.list_cost) END'
						ELSE 'ELSE l2.list_cost END' END
			WHEN reported_first THEN 'COALESCE(l2.reported_usd, l2.list_cost)'
			ELSE 'l2.list_cost'
		END,
		CASE WHEN reported_first THEN 'true' ELSE 'false' END,
		sep,
		-- a strict source's cost raises on a row with a problem: fenced, it
		-- would be computed for rows a qual on the view (WHERE item = ...)
		-- leaves out, and raise for them; a strict source is not fenced
		CASE WHEN is_strict THEN '' ELSE E',\n\t   @extschema@.attach_fence() AS fence' END);
	-- Aliases: each table is read once per query into a jsonb map (an
	-- InitPlan), so a call costs a key lookup rather than a join (the
	-- planner cannot estimate how many calls a join would see) and the
	-- pricing runs in parallel workers.  A model alias is looked for under
	-- "provider US model", both folded by fold_name() as cost() folds them
	-- (ASCII capitals only, whatever the locale); its period (unix seconds,
	-- the open ends as +-1e15) is chosen by the call's time with a jsonpath
	-- filter.
	priced := replace(replace(replace(priced,
		'{{ALIAS}}', $q$(CASE WHEN {{MODEL_MAP}} IS NOT NULL AND pg_catalog.isfinite(c.started_at)
					AND {{MODEL_MAP}} OPERATOR(pg_catalog.?) {{MODEL_KEY}}
			THEN pg_catalog.jsonb_path_query_first({{MODEL_MAP}} OPERATOR(pg_catalog.->) {{MODEL_KEY}},
				'strict $[*] ? (@[0] <= $t && $t < @[1])',
				pg_catalog.jsonb_build_object('t', EXTRACT(epoch FROM c.started_at))) END)$q$),
		'{{MODEL_KEY}}', $q$(@extschema@.fold_name(COALESCE(c.provider, '')) OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) @extschema@.fold_name(COALESCE(c.response_model, c.request_model)))$q$),
		'{{MODEL_MAP}}', $q$(SELECT pg_catalog.jsonb_object_agg(m.k, m.periods)
			FROM (SELECT ma.provider OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) ma.model AS k,
						 pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(
							 CASE WHEN pg_catalog.isfinite(ma.valid_from) THEN EXTRACT(epoch FROM ma.valid_from) ELSE -1e15 END,
							 CASE WHEN pg_catalog.isfinite(ma.valid_until) THEN EXTRACT(epoch FROM ma.valid_until) ELSE 1e15 END,
							 ma.catalog_provider, ma.catalog_model) ORDER BY ma.valid_from) AS periods
					FROM @extschema@.model_alias_rows() ma GROUP BY 1) m)$q$);
	FOREACH c IN ARRAY ARRAY['output_raw', 'cache_read_raw', 'cache_write_raw', 'reasoning_raw'] LOOP
		priced := replace(priced, '{{COUNT:' || c || '}}', format(
			'CASE WHEN c.usage_kind IS NOT NULL AND (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) THEN '
			'COALESCE(@extschema@.attach_int8(c.%1$s), CASE WHEN pg_catalog.btrim(COALESCE(c.%1$s, '''')) = '''' '
			'THEN 0::pg_catalog.int8 END) END', c));
	END LOOP;
	priced := replace(priced, '{{PROVIDER_MAP}}',
		'(SELECT pg_catalog.jsonb_object_agg(pa.provider, pa.catalog_provider) FROM @extschema@.provider_alias_rows() pa)');
	spans_priced := replace(priced, '{{ROWS}}', spans_rows);
	calls_priced := replace(priced, '{{ROWS}}', calls_rows);

	-- Traces: their time, root status and structure values (a root span's
	-- value first, else the smallest any span of the trace carries).  Every
	-- stored row is read (a hash aggregate, where collapsing the copies
	-- first would sort every span): copies of a span that differ in start
	-- or status give the trace the earliest start and a failed root if any
	-- copy failed, where the attempts view takes the kept copy's.
	traces := format($q$
SELECT b.trace_id,
	   pg_catalog.min(b.started_at) AS started_at,
	   pg_catalog.max(COALESCE(b.ended_at, b.started_at)) AS ended_at,
	   pg_catalog.count(DISTINCT b.span_id) FILTER (WHERE b.parent_id IS NULL) AS roots,
	   pg_catalog.bool_or(COALESCE(@extschema@.attach_status(b.status_raw, b.error_type), 'ok') NOT IN ('ok', 'discarded'))
		   FILTER (WHERE b.parent_id IS NULL) AS root_failed,
	   COALESCE(pg_catalog.min(b.workflow) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.workflow)) AS workflow,
	   COALESCE(pg_catalog.min(b.item) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.item)) AS item,
	   COALESCE(pg_catalog.min(b.outcome) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.outcome)) AS outcome,
	   COALESCE(pg_catalog.min(b.option) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.option)) AS option,
	   COALESCE(pg_catalog.min(b.attempt_raw) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.attempt_raw)) AS attempt_raw
  FROM (%1$s) b
 GROUP BY b.trace_id$q$, base_all);

	-- Attempts: one per trace, numbered per (workflow, item) in time order
	-- (or by the attempt number the source records); the run is the trace
	-- of the item's first attempt (waste sees an item's attempts together).
	IF opts ? 'attempt' AND jsonb_typeof(opts -> 'attempt') <> 'null' THEN
		attempt_expr := 'CASE WHEN t.item IS NOT NULL THEN @extschema@.attach_int8(t.attempt_raw)::pg_catalog.int4 END';
	ELSE
		attempt_expr := 'CASE WHEN t.item IS NOT NULL THEN (pg_catalog.row_number() OVER w)::pg_catalog.int4 END';
	END IF;
	attempts := format($q$
SELECT t.*,
	   %1$s AS attempt,
	   CASE WHEN t.item IS NOT NULL THEN pg_catalog.first_value(t.trace_id) OVER w ELSE t.trace_id END AS run_id,
	   CASE WHEN t.outcome IS NOT NULL THEN pg_catalog.lower(pg_catalog.btrim(t.outcome)) = ANY (%2$s)
			WHEN t.roots = 0 THEN NULL
			ELSE NOT t.root_failed END AS succeeded
  FROM (%3$s) t
WINDOW w AS (PARTITION BY t.workflow, t.item ORDER BY t.started_at, t.trace_id COLLATE "C")$q$,
		attempt_expr, success, '{{TRACES}}');

	-- One row per trace (a GROUP BY, so a join to it that reads nothing is
	-- removed); joined by hash to calls, spans and conversations.
	by_trace := format(
		'SELECT a.trace_id, pg_catalog.min(a.workflow) AS workflow, pg_catalog.min(a.item) AS item, '
		'pg_catalog.min(a.attempt) AS attempt, pg_catalog.min(a.run_id) AS run_id, '
		'pg_catalog.bool_and(a.succeeded) AS succeeded FROM (%s) a GROUP BY a.trace_id',
		replace(attempts, '{{TRACES}}', traces));

	-- traces: one row per trace, the values the other views take from it
	-- (a GROUP BY on the trace id: a condition on trace ids, even a list
	-- of them, reaches the source's table) -----------------------------------
	v_traces := format($q$
SELECT %1$s AS source, t.trace_id, t.workflow, t.item, t.option, t.outcome, t.started_at, t.ended_at,
	   t.roots AS root_spans,
	   CASE WHEN t.outcome IS NOT NULL THEN pg_catalog.lower(pg_catalog.btrim(t.outcome)) = ANY (%3$s)
			ELSE NOT t.root_failed END AS succeeded,
	   %4$s AS recorded_attempt
  FROM (%2$s) t$q$,
		src, traces, success,
		CASE WHEN opts ? 'attempt' AND jsonb_typeof(opts -> 'attempt') <> 'null'
			THEN '@extschema@.attach_int8(t.attempt_raw)::pg_catalog.int4' ELSE 'NULL::pg_catalog.int4' END);

	-- calls --------------------------------------------------------------
	-- The workflow and item come from the traces (one row per trace, no
	-- window), the attempt number from the attempts: a query that reads no
	-- attempt number drops that join, and a condition on one trace id (a
	-- rollup refresh's) then reaches the source's table through the traces
	-- instead of numbering every attempt of the source.
	v_calls := format($q$
SELECT %1$s AS source, p.trace_id, p.span_id, p.parent_id, p.name, p.operation, p.started_at, p.ended_at, p.status,
	   t.workflow, t.item, a.attempt, COALESCE(p.conversation_id, p.trace_id) AS conversation_id,
	   p.provider, p.model, p.request_model, p.response_model, p.price_provider, p.price_model,
	   p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cache_write_tokens, p.reasoning_tokens,
	   p.list_cost, p.reported_usd AS reported_cost, p.reported_currency, p.reported_cost_source,
	   p.estimated_cost, p.cost, p.cost_source, p.problem
  FROM (%2$s) p
  LEFT JOIN (SELECT w.trace_id, w.workflow, w.item FROM (%3$s) w) t ON t.trace_id = p.trace_id
  LEFT JOIN (%4$s) a ON a.trace_id = p.trace_id$q$,
		src, calls_priced, traces, by_trace);

	-- attempts: the structure and the cost of each trace in one pass over
	-- its priced spans (no join whose size the planner would guess) --------
	v_attempts := format($q$
SELECT %1$s AS source, a.workflow, a.item, COALESCE(a.option, a.models) AS option, a.attempt,
	   a.trace_id, a.started_at, a.ended_at, a.succeeded, a.outcome,
	   CASE WHEN a.left_out = 0 THEN COALESCE(a.cost, 0) END AS cost,
	   COALESCE(a.cost, 0) AS cost_known,
	   a.calls, a.left_out AS calls_left_out,
	   COALESCE(a.input_tokens, 0)::pg_catalog.int8 AS input_tokens,
	   COALESCE(a.output_tokens, 0)::pg_catalog.int8 AS output_tokens,
	   CASE WHEN a.item IS NULL THEN 'no item key'
			WHEN a.attempt IS NULL THEN 'attempt number not a whole number'
			WHEN a.succeeded IS NULL THEN 'success unknown: the trace has no root span'
			WHEN a.left_out > 0 THEN pg_catalog.format('%%s of %%s calls left out of the cost', a.left_out, a.calls)
	   END AS problem,
	   a.segment
  FROM (%2$s) a$q$,
		src, replace(attempts, '{{TRACES}}', format($q$
SELECT b.trace_id,
	   pg_catalog.min(b.started_at) AS started_at,
	   pg_catalog.max(COALESCE(b.ended_at, b.started_at)) AS ended_at,
	   pg_catalog.count(*) FILTER (WHERE b.parent_id IS NULL) AS roots,
	   pg_catalog.bool_or(b.status NOT IN ('ok', 'discarded')) FILTER (WHERE b.parent_id IS NULL) AS root_failed,
	   COALESCE(pg_catalog.min(b.workflow) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.workflow)) AS workflow,
	   COALESCE(pg_catalog.min(b.item) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.item)) AS item,
	   COALESCE(pg_catalog.min(b.outcome) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.outcome)) AS outcome,
	   COALESCE(pg_catalog.min(b.option) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.option)) AS option,
	   COALESCE(pg_catalog.min(b.attempt_raw) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.attempt_raw)) AS attempt_raw,
	   COALESCE(pg_catalog.min(b.segment) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.segment)) AS segment,
	   -- the calls' cost, or where the trace has no LLM call its agent spans' usage
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.cost) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.cost) FILTER (WHERE b.usage_kind = 'agent') END AS cost,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'agent') END AS calls,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call' AND b.cost IS NULL)
			ELSE pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'agent' AND b.cost IS NULL) END AS left_out,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.input_tokens) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.input_tokens) FILTER (WHERE b.usage_kind = 'agent') END AS input_tokens,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.output_tokens) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.output_tokens) FILTER (WHERE b.usage_kind = 'agent') END AS output_tokens,
	   COALESCE(pg_catalog.string_agg(DISTINCT b.price_model, '+' ORDER BY b.price_model) FILTER (WHERE b.usage_kind = 'call'),
				pg_catalog.string_agg(DISTINCT b.price_model, '+' ORDER BY b.price_model) FILTER (WHERE b.usage_kind = 'agent')) AS models
  FROM (%1$s) b
 GROUP BY b.trace_id$q$, spans_priced)));

	-- items ------------------------------------------------------------------
	record := @extschema@.attach_record(opts, success);
	v_items := format($q$
SELECT i.source, i.workflow, i.item, i.option, i.attempts, i.solved, i.started_at, i.ended_at,
	   i.ai_cost, i.ai_cost_known, i.calls, i.calls_left_out,
	   CASE WHEN i.solved THEN 0::pg_catalog.numeric
			WHEN NOT i.solved THEN pg_catalog.round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12)
	   END AS human_fix_cost,
	   b.bpo_unit_price,
	   CASE WHEN i.solved THEN b.bpo_unit_price
			WHEN NOT i.solved THEN b.bpo_unit_price - pg_catalog.round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12)
	   END AS value,
	   i.problem, i.segment, i.first_try_succeeded, i.failed_attempt_cost
  FROM (%3$s) i
  LEFT JOIN LATERAL (SELECT bl.bpo_unit_price, bl.human_cost_per_hour, bl.human_minutes_per_item
					   FROM @extschema@.baseline_rows() bl
					  WHERE bl.workflow = i.workflow AND bl.valid_from <= i.started_at
						AND pg_catalog.upper(bl.currency) = 'USD'
					  ORDER BY bl.valid_from DESC LIMIT 1) b ON true$q$,
		src, v_attempts, CASE WHEN record IS NULL THEN '{{ITEMS}}' ELSE format(
			'SELECT i0.source, i0.workflow, i0.item, i0.option, i0.attempts, '
			'COALESCE(rec.solved, i0.solved) AS solved, i0.started_at, i0.ended_at, i0.ai_cost, i0.ai_cost_known, '
			'i0.calls, i0.calls_left_out, COALESCE(i0.problem, CASE WHEN rec.key IS NULL '
			'THEN ''no row for the item in the system of record'' END) AS problem, '
			'i0.segment, i0.first_try_succeeded, i0.failed_attempt_cost '
			'FROM ({{ITEMS}}) i0 LEFT JOIN (%s) rec ON rec.key = i0.item', record) END);
	v_items := replace(v_items, '{{ITEMS}}', format($q$SELECT %1$s AS source, a.workflow, a.item,
			   pg_catalog.string_agg(DISTINCT a.option, '+' ORDER BY a.option) AS option,
			   pg_catalog.count(*) AS attempts,
			   pg_catalog.bool_or(a.succeeded) AS solved,
			   pg_catalog.min(a.started_at) AS started_at, pg_catalog.max(a.ended_at) AS ended_at,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) = 0 THEN pg_catalog.sum(a.cost) END AS ai_cost,
			   pg_catalog.sum(a.cost_known) AS ai_cost_known,
			   pg_catalog.sum(a.calls)::pg_catalog.int8 AS calls,
			   pg_catalog.sum(a.calls_left_out)::pg_catalog.int8 AS calls_left_out,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) > 0
					THEN pg_catalog.format('%%s of %%s calls left out of the cost', pg_catalog.sum(a.calls_left_out), pg_catalog.sum(a.calls))
					WHEN pg_catalog.bool_or(a.succeeded) IS NULL THEN 'success unknown'
			   END AS problem,
			   pg_catalog.min(a.segment) AS segment,
			   pg_catalog.bool_or(a.succeeded) FILTER (WHERE a.attempt = 1) AS first_try_succeeded,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) = 0
					THEN COALESCE(pg_catalog.sum(a.cost) FILTER (WHERE NOT a.succeeded), 0) END AS failed_attempt_cost
		  FROM (%2$s) a
		 WHERE a.item IS NOT NULL
		 GROUP BY a.workflow, a.item$q$,
		src, v_attempts));

	-- conversations ------------------------------------------------------------
	v_conv := format($q$
SELECT %1$s AS source, a.workflow, a.item, a.attempt,
	   COALESCE(p.conversation_id, p.trace_id) AS conversation_id, p.trace_id, p.span_id,
	   -- (calls of two traces may share a start and a span id: the trace
	   -- id breaks the tie, so that every reading numbers them alike)
	   (pg_catalog.row_number() OVER (PARTITION BY COALESCE(p.conversation_id, p.trace_id)
			ORDER BY p.started_at, p.span_id COLLATE "C", p.trace_id COLLATE "C"))::pg_catalog.int4 AS seq,
	   p.started_at, p.model, p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cost, p.problem
  FROM (%2$s) p
  LEFT JOIN (%3$s) a ON a.trace_id = p.trace_id$q$,
		src, calls_priced, by_trace);

	-- spans ------------------------------------------------------------------
	-- an agent span's usage counts where its trace has no LLM call
	v_spans := format($q$
SELECT s.source, COALESCE(a.run_id, s.trace_id) AS trace_id, s.trace_id AS source_trace_id,
	   s.span_id, s.parent_id, s.kind, COALESCE(s.tool_name, s.name) AS name, s.operation, s.args_hash,
	   CASE WHEN s.parent_id IS NULL AND a.succeeded IS FALSE AND s.status = 'ok' THEN 'error' ELSE s.status END AS status,
	   CASE WHEN s.counted THEN s.cost ELSE 0::pg_catalog.numeric END AS cost,
	   s.started_at, s.ended_at, a.workflow, a.item, a.attempt, s.model,
	   CASE WHEN s.counted THEN s.input_tokens END AS input_tokens,
	   CASE WHEN s.counted THEN s.output_tokens END AS output_tokens,
	   s.call_seq,
	   CASE WHEN s.counted AND s.input_tokens > 0 AND s.list_cost IS NOT NULL
			THEN pg_catalog.round(@extschema@.cost(s.provider, s.model, s.input_tokens, 0, 0, 0, 0, s.started_at)
				 / s.input_tokens, 12) END AS input_price,
	   CASE WHEN s.counted AND s.input_tokens > 0 AND s.list_cost IS NOT NULL
			THEN @extschema@.cost(s.price_provider, s.price_model, s.input_tokens, 0, s.cache_read_tokens,
				 s.cache_write_tokens, 0, s.started_at) END AS input_cost,
	   CASE WHEN s.counted OR s.usage_kind IS NULL THEN s.problem END AS problem,
	   s.status AS span_status
  FROM (SELECT %1$s AS source, p.*,
			   (p.usage_kind = 'call' OR (p.usage_kind = 'agent' AND NOT pg_catalog.bool_or(p.usage_kind = 'call') OVER t))
				   IS TRUE AS counted,
			   CASE WHEN p.usage_kind = 'call'
					THEN (pg_catalog.count(*) FILTER (WHERE p.usage_kind = 'call') OVER t_upto)::pg_catalog.int4 END AS call_seq
		  FROM (%2$s) p
		WINDOW t AS (PARTITION BY p.trace_id ORDER BY p.started_at, p.span_id COLLATE "C"
					 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
			   t_upto AS (PARTITION BY p.trace_id ORDER BY p.started_at, p.span_id COLLATE "C"
						  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) s
  LEFT JOIN (%3$s) a ON a.trace_id = s.trace_id$q$,
		src, spans_priced, by_trace);

	-- problems ---------------------------------------------------------------
	v_problems := format($q$
SELECT %1$s AS source, CASE WHEN p.usage_kind = 'call' THEN 'call' ELSE 'span' END AS level, p.trace_id, p.span_id,
	   p.problem AS reason
  FROM (%2$s) p
 WHERE p.problem IS NOT NULL
   AND (p.usage_kind IS DISTINCT FROM 'agent' OR p.trace_id IS NULL
		OR p.trace_id NOT IN (SELECT c.trace_id FROM (%6$s) c WHERE c.trace_id IS NOT NULL))
UNION ALL
SELECT %1$s, 'span', b.trace_id, b.span_id,
	   pg_catalog.format('%%s copies of the span id with different content: one kept', pg_catalog.count(*))
  FROM (%3$s) b
 WHERE (b.trace_id, b.span_id) IN (SELECT d.trace_id, d.span_id FROM (%3$s) d
								   GROUP BY d.trace_id, d.span_id HAVING pg_catalog.count(*) > 1)
 GROUP BY b.trace_id, b.span_id
HAVING pg_catalog.count(DISTINCT %4$s) > 1
UNION ALL
SELECT %1$s, 'trace', a.trace_id, NULL,
	   CASE WHEN a.item IS NULL THEN 'no item key: the trace is in no attempt or item'
			WHEN a.attempt IS NULL THEN pg_catalog.format('attempt number not a whole number: %%s', pg_catalog.quote_literal(a.attempt_raw))
			ELSE 'no root span: the attempt''s success is unknown' END
  FROM (%5$s) a
 WHERE a.item IS NULL OR a.attempt IS NULL OR a.succeeded IS NULL$q$,
		src, spans_priced, base_all, content, replace(attempts, '{{TRACES}}', traces),
		-- the traces that have an LLM call: an agent span's usage is a
		-- problem only in a trace without one (else it is not counted)
		format('SELECT %s AS trace_id FROM %s WHERE %s', cols ->> 'trace_id', rel, call_filter));

	RETURN jsonb_build_object('calls', v_calls, 'spans', v_spans, 'attempts', v_attempts,
		'items', v_items, 'conversations', v_conv, 'problems', v_problems, 'traces', v_traces);
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_build(pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.bool) IS
	'the SQL of the seven views of an attached source, from the parts its attach function compiled (the relation, the span keys, the order of repeated copies, the SQL of each column)';

CREATE OR REPLACE FUNCTION @extschema@.attach_comments() RETURNS pg_catalog.jsonb
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
SELECT $j${
 "calls": {
  "": "one row per LLM call (spans repeated by at-least-once delivery counted once), priced at the list prices in force when it ran, with the cost it reported",
  "source": "name of the attached source",
  "trace_id": "trace of the call",
  "span_id": "span id of the call",
  "parent_id": "parent span id (NULL for a root)",
  "name": "span or observation name",
  "operation": "gen_ai.operation.name (chat, generate_content, text_completion, embeddings; invoke_agent for an agent span whose usage is counted)",
  "started_at": "start of the call",
  "ended_at": "end of the call",
  "status": "ok, error, rate_limited, timeout, server_error or discarded",
  "workflow": "workflow of the call's trace",
  "item": "item (ticket, claim, ...) of the call's trace",
  "attempt": "attempt number of the call's trace within its item (1, 2, ... in time order)",
  "conversation_id": "conversation the call belongs to (gen_ai.conversation.id, else its trace)",
  "provider": "provider as the trace names it",
  "model": "model as the trace names it: the response model, else the request model",
  "request_model": "model asked for",
  "response_model": "model that answered",
  "price_provider": "provider the call is priced as (after tokacct.model_alias and tokacct.provider_alias)",
  "price_model": "model the call is priced as (after tokacct.model_alias)",
  "input_tokens": "all input tokens, cache reads and writes included",
  "output_tokens": "all output tokens, reasoning included",
  "cache_read_tokens": "input tokens read from the cache",
  "cache_write_tokens": "input tokens written to the cache",
  "reasoning_tokens": "output tokens spent on reasoning",
  "list_cost": "catalog list price of the call at its time (USD); NULL when it cannot be priced (see problem)",
  "reported_cost": "cost the trace reported, USD, rounded half away from zero to 12 decimals; NULL when none, not USD or unusable",
  "reported_currency": "currency of the reported cost as the trace gives it",
  "reported_cost_source": "who computed the reported cost (gen_ai.usage.cost.source: provider, local; langfuse)",
  "estimated_cost": "a cost the trace store computed itself (Langfuse's calculated_total_cost), for comparison; not used in any figure",
  "cost": "the call's cost in every figure: the reported cost when there is one (cost_basis reported_first), else the list cost; NULL: left out (see problem)",
  "cost_source": "reported or catalog; NULL when the call is left out",
  "problem": "why the call is left out of a figure or is odd; NULL when it is fine"
 },
 "spans": {
  "": "one row per span (repeated span ids collapsed), in the columns tokacct.waste_by_trace() and waste_by_workflow() read",
  "source": "name of the attached source",
  "trace_id": "the tree waste classifies: the trace of the item's first attempt, so the attempts of an item in traces of their own are seen together (else the span's own trace)",
  "source_trace_id": "the span's own trace",
  "span_id": "span id",
  "parent_id": "parent span id (NULL for a root)",
  "kind": "llm, tool, agent or other (from gen_ai.operation.name, or the observation type)",
  "name": "span name (the tool name for a tool call)",
  "operation": "gen_ai.operation.name as recorded",
  "args_hash": "md5 of a tool call's arguments in canonical JSON form (NULL when not recorded)",
  "status": "ok, error, rate_limited, timeout, server_error or discarded; the root of a failed attempt is error",
  "cost": "the span's own cost (its call's cost; 0 for spans that are not counted calls); NULL when left out",
  "started_at": "start of the span",
  "ended_at": "end of the span",
  "workflow": "workflow of the span's trace",
  "item": "item of the span's trace",
  "attempt": "attempt number of the span's trace",
  "model": "model of an LLM span",
  "input_tokens": "input tokens of a counted call (cache included)",
  "output_tokens": "output tokens of a counted call",
  "call_seq": "order of the call among the counted calls of its trace (1, 2, ... by start time); NULL for other spans",
  "input_price": "list price of one uncached input token of the call at its context tier (USD)",
  "input_cost": "list price of the call's input tokens, cache reads and writes at their prices (USD); with input_tokens, what waste's induced cost takes from the call (tokacct.waste_by_trace() reads both)",
  "problem": "why the span is left out of a figure or is odd; NULL when it is fine",
  "span_status": "status as the span itself reports it (status also counts a failed attempt's root span as error)"
 },
 "attempts": {
  "": "one row per attempt: a trace, numbered within its item in time order; its cost is the cost of its whole trace, each call counted once",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item key (NULL when the trace has none: see problem)",
  "option": "the option run: as named by the source, else the models its calls are priced as ('+' between several)",
  "attempt": "attempt number within the item, from 1 in time order (or as the source records it)",
  "trace_id": "trace of the attempt",
  "started_at": "start of the attempt's first span",
  "ended_at": "end of its last span",
  "succeeded": "the outcome says success, or (no outcome) the root span did not fail; NULL when unknown",
  "outcome": "outcome as the source records it",
  "cost": "cost of the attempt's calls; NULL when any of them is left out",
  "cost_known": "cost of the calls that could be counted",
  "calls": "calls in the attempt",
  "calls_left_out": "calls left out of the cost (see the problems view)",
  "input_tokens": "input tokens of its counted calls",
  "output_tokens": "output tokens of its counted calls",
  "problem": "why the attempt is incomplete; NULL when it is fine",
  "segment": "segment of the item (option segment: an attribute the source keeps, e.g. claim type); NULL when not set"
 },
 "items": {
  "": "one row per item (workflow, item key): its attempts, whether it was solved, what the AI cost and what the human fix and the BPO would cost (tokacct.baseline)",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item key",
  "option": "option(s) its attempts ran ('+' between several)",
  "attempts": "number of attempts",
  "solved": "an attempt succeeded; NULL when unknown",
  "started_at": "start of the first attempt",
  "ended_at": "end of the last attempt",
  "ai_cost": "cost of every call of every attempt; NULL when any call is left out",
  "ai_cost_known": "cost of the calls that could be counted",
  "calls": "calls",
  "calls_left_out": "calls left out of ai_cost (see the problems view)",
  "human_fix_cost": "0 when solved; else human_cost_per_hour x human_minutes_per_item / 60 of the baseline in force when it started; NULL without a baseline",
  "bpo_unit_price": "BPO price per item of the baseline in force when it started",
  "value": "value of the outcome: the BPO price when solved, less the human fix cost when not",
  "problem": "why the item is incomplete; NULL when it is fine",
  "segment": "segment of the item (option segment: an attribute the source keeps, e.g. claim type); NULL when not set",
  "first_try_succeeded": "its first attempt succeeded; NULL when it has no attempt numbered 1 or that attempt's success is unknown",
  "failed_attempt_cost": "cost of its attempts that failed (the retry tail's spend); NULL when any call is left out"
 },
 "conversations": {
  "": "the counted calls of each conversation in order, for tokacct.context_growth(seq, input_tokens, output_tokens)",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item",
  "attempt": "attempt number",
  "conversation_id": "conversation (gen_ai.conversation.id, else the trace)",
  "trace_id": "trace of the call",
  "span_id": "span of the call",
  "seq": "order of the call in its conversation (1, 2, ... by start time)",
  "started_at": "start of the call",
  "model": "model",
  "input_tokens": "input tokens (cache included)",
  "output_tokens": "output tokens",
  "cache_read_tokens": "input tokens read from the cache",
  "cost": "cost of the call; NULL when left out",
  "problem": "why the call is left out; NULL when it is fine"
 },
 "problems": {
  "": "every row left out of a figure or odd, with its key and the reason: unusable token counts, unknown models, unusable reported costs, unknown statuses, span ids repeated with different content, traces without an item key or a root",
  "source": "name of the attached source",
  "level": "call, span or trace",
  "trace_id": "trace",
  "span_id": "span (NULL for a trace)",
  "reason": "what is wrong, in words"
 },
 "traces": {
  "": "one row per trace with the structure the other views take from it (a root span's value, else the smallest any span carries); a condition on trace ids reaches the source's table",
  "source": "name of the attached source",
  "trace_id": "trace",
  "workflow": "workflow of the trace",
  "item": "item (ticket, claim, ...) the trace works on; NULL when none",
  "option": "option (model or configuration) the trace records; NULL when none",
  "outcome": "outcome the trace records, as written; NULL when none",
  "started_at": "start of its first span",
  "ended_at": "end of its last span",
  "root_spans": "spans without a parent (0: success unknown, 2 or more: several roots)",
  "succeeded": "whether the trace succeeded, as the attempts view says (its recorded outcome, else its root span's status); NULL when unknown",
  "recorded_attempt": "the attempt number the trace records, for a source attached with an attempt column (NULL otherwise, or when not a whole number); else the attempts view numbers an item's traces by their start"
 }
}$j$::pg_catalog.jsonb
$fn$;
COMMENT ON FUNCTION @extschema@.attach_comments() IS 'the comments given to the attached views and their columns';

CREATE VIEW @extschema@.rollup_source_retry_monthly WITH (security_invoker = true) AS
	SELECT m.source, m.month, m.workflow, m.items_left_out, r.items, r.attempts, r.solved, r.p1,
		   r.attempts_per_item, r.total_cost, r.failed_cost, r.failed_share, r.cost_per_solved,
		   r.naive_cost_per_solved, r.tail_factor, r.max_attempt, m.retry
	  FROM (SELECT d.source, pg_catalog.date_trunc('month', d.day::pg_catalog.timestamp)::pg_catalog.date AS month,
				   d.workflow, pg_catalog.sum(d.items_left_out)::pg_catalog.int8 AS items_left_out,
				   @extschema@.merge(d.retry) AS retry
			  FROM @extschema@.rollup_source_retry d
			 GROUP BY d.source, 2, d.workflow) m
	  LEFT JOIN LATERAL @extschema@.retry_report(m.retry) r ON true;
COMMENT ON VIEW @extschema@.rollup_source_retry_monthly IS 'the retry economics of attached sources merged per calendar month (UTC) an item''s first attempt started x workflow: the items counted, first-try success, attempts per item, spend on failed attempts, cost per solved item and the tail factor (tokacct.retry_report() of the merged state)';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.month IS 'first day of the month (NULL for items whose attempts have no start)';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.items_left_out IS 'items left out (tokacct.rollup_source_item.problem says why)';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.items IS 'items counted (NULL when none)';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.attempts IS 'their attempts';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.solved IS 'items solved';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.p1 IS 'first-try success rate';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.attempts_per_item IS 'attempts per item';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.total_cost IS 'exact cost of all attempts, USD';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.failed_cost IS 'exact cost of the attempts that failed';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.failed_share IS 'failed_cost / total_cost';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.cost_per_solved IS 'all spend / items solved';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.naive_cost_per_solved IS 'mean attempt cost / p1: what p1 alone predicts';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.tail_factor IS 'cost_per_solved / naive_cost_per_solved: above 1 when hard items retry more than p1 predicts';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.max_attempt IS 'largest attempt number';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.retry IS 'the merged retry_state (tokacct.retry_projection() replays it with a retry cap)';
CREATE VIEW @extschema@.rollup_source_waste_monthly WITH (security_invoker = true) AS
	SELECT d.source, pg_catalog.date_trunc('month', d.day::pg_catalog.timestamp)::pg_catalog.date AS month, d.workflow,
		   pg_catalog.sum(d.runs)::pg_catalog.int8 AS runs, pg_catalog.sum(d.runs_left_out)::pg_catalog.int8 AS runs_left_out,
		   pg_catalog.sum(d.spans)::pg_catalog.int8 AS spans,
		   pg_catalog.sum(d.total) AS total, pg_catalog.sum(d.essential) AS essential,
		   pg_catalog.sum(d.error_call) AS error_call, pg_catalog.sum(d.failed_attempt) AS failed_attempt,
		   pg_catalog.sum(d.abandoned_branch) AS abandoned_branch, pg_catalog.sum(d.stuck_loop) AS stuck_loop,
		   pg_catalog.sum(d.duplicate_tool_call) AS duplicate_tool_call, pg_catalog.sum(d.waste) AS waste,
		   (pg_catalog.sum(d.waste) / NULLIF(pg_catalog.sum(d.total), 0))::pg_catalog.float8 AS waste_share
	  FROM @extschema@.rollup_source_waste_daily d
	 GROUP BY d.source, 2, d.workflow;
COMMENT ON VIEW @extschema@.rollup_source_waste_monthly IS 'the waste by class of attached sources summed per calendar month (UTC) a run''s first trace started x workflow: every dollar of the runs in one class, exactly';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.month IS 'first day of the month (NULL for runs without a start)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.runs IS 'runs classified (an item''s traces together, a trace without an item alone)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.runs_left_out IS 'runs that could not be classified (tokacct.rollup_source_waste.problem says why)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.spans IS 'spans classified';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.total IS 'cost of the spans, USD';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.essential IS 'cost on the path to a result';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.error_call IS 'cost of calls whose own status is a failure';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.failed_attempt IS 'cost of what failed and was tried again';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.abandoned_branch IS 'cost of what failed and was not tried again, or was discarded';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.stuck_loop IS 'cost of repeats in a run of identical successful calls';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.duplicate_tool_call IS 'cost of tool calls repeating an earlier call whose result was kept';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.waste IS 'total - essential';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.waste_share IS 'waste / total';
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
ALTER VIEW @extschema@.rollup_source_retry_monthly SET (security_invoker = false);
ALTER VIEW @extschema@.rollup_source_waste_monthly SET (security_invoker = false);
ALTER VIEW @extschema@.rollup_source_context_monthly SET (security_invoker = false);
COMMENT ON PROCEDURE @extschema@.rollup_source_drop(pg_catalog.text) IS
	'drop the rollup of a source (its rows in rollup_source_daily, rollup_source_trace and the retry tables)';

-- ---------------------------------------------------------------------------
-- A refresh holds the source's tables while it reads them: no index, child
-- table or partition added between the check of their code and the reads.
-- ---------------------------------------------------------------------------
-- A workflow, item, model or conversation id as the rollup keeps it: as it
-- is up to 400 bytes, else its first 60 characters, its length and its md5
-- (at most about 300 bytes, so applied twice it changes nothing).  Every
-- index of the rollup holds such names beside a trace id; a btree key may
-- not pass about 2,700 bytes, and a source's text may be any length.  A
-- trace id longer than 400 bytes cannot be shortened (the refresh finds
-- traces by it): such a trace is left out of the rollup, and said so.
-- (Not STRICT, NULL giving NULL all the same: a strict function's CASE is
-- not inlined, and a call per row cost the demo's first refresh 15%.)
CREATE FUNCTION @extschema@.rollup_source_key(v pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN CASE WHEN pg_catalog.octet_length(v) OPERATOR(pg_catalog.<=) 400 THEN v
		ELSE pg_catalog.left(v, 60) OPERATOR(pg_catalog.||) ' ... (' OPERATOR(pg_catalog.||)
			pg_catalog.octet_length(v)::pg_catalog.text OPERATOR(pg_catalog.||) ' bytes, md5 '
			OPERATOR(pg_catalog.||) pg_catalog.md5(v) OPERATOR(pg_catalog.||) ')' END;
COMMENT ON FUNCTION @extschema@.rollup_source_key(pg_catalog.text) IS
	'a workflow, item, model, team, tag or conversation id as a rollup (of the ledger or of an attached source) keeps it: itself up to 400 bytes, else its first 60 characters, its length and its md5';

-- Hold a source table's definition (and its partitions' and children's)
-- until the transaction ends: no index, statistics, child table or
-- partition may be added between the check of its code and the reads
-- (src/source_guard.c says why, and which lock).
CREATE FUNCTION @extschema@.rollup_source_hold(source pg_catalog.regclass) RETURNS void
	LANGUAGE c STRICT
	AS 'MODULE_PATHNAME', 'rollup_source_hold';
COMMENT ON FUNCTION @extschema@.rollup_source_hold(pg_catalog.regclass) IS
	'step of rollup_source_refresh(): lock a source table and every table under it in SHARE UPDATE EXCLUSIVE mode until the end of the transaction (writes go on; DDL that could add code waits)';


-- Statistics for the catalog tables a loader has just written.  Without
-- them the planner takes a freshly loaded catalog for nearly empty until
-- autovacuum comes by: catalog_comparison() over the two public catalogs
-- took 15 s instead of 0.15 s right after their first load.  ANALYZE is for
-- the tables' owner (or a member of its role), so a loader run by an admin
-- of grant_admin() leaves the statistics to autovacuum.
CREATE FUNCTION @extschema@.price_catalog_analyze() RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	rel regclass;
BEGIN
	FOR rel IN
		SELECT c.oid::regclass
		  FROM pg_class c
		 WHERE c.oid = ANY (ARRAY['@extschema@.price_provider', '@extschema@.price_model',
								  '@extschema@.price', '@extschema@.price_tier']::regclass[])
		   AND pg_has_role(c.relowner, 'USAGE')
		 ORDER BY c.oid
	LOOP
		EXECUTE format('ANALYZE %s', rel);
	END LOOP;
END
$fn$;
COMMENT ON FUNCTION @extschema@.price_catalog_analyze() IS
	'step of the price loaders: ANALYZE the catalog tables they write (those the caller owns), so that queries over a freshly loaded catalog are planned for its size';

-- attach_records(): a time at infinity is no time, minutes and charges that
-- are not finite numbers are left out (helper-42 F3).
CREATE OR REPLACE FUNCTION @extschema@.attach_records(source pg_catalog.text, records pg_catalog.regclass,
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

-- The waste of each trace as one query (helper-42 F1, F5): waste_by_trace()
-- runs it through the guard, the BI views of a source read it as its other
-- views read the source; a trace with an odd span is left out, not an error.
CREATE FUNCTION @extschema@.waste_summary_or_null(state @extschema@.waste_state,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3,
		OUT cost_rule pg_catalog.text, OUT spans pg_catalog.int8, OUT roots pg_catalog.int8,
		OUT orphans pg_catalog.int8, OUT null_costs pg_catalog.int8,
		OUT total pg_catalog.numeric, OUT essential pg_catalog.numeric,
		OUT error_call pg_catalog.numeric, OUT failed_attempt pg_catalog.numeric,
		OUT abandoned_branch pg_catalog.numeric, OUT stuck_loop pg_catalog.numeric,
		OUT duplicate_tool_call pg_catalog.numeric, OUT waste pg_catalog.numeric,
		OUT error_call_spans pg_catalog.int8, OUT failed_attempt_spans pg_catalog.int8,
		OUT abandoned_branch_spans pg_catalog.int8, OUT stuck_loop_spans pg_catalog.int8,
		OUT duplicate_tool_call_spans pg_catalog.int8)
	RETURNS record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_summary_or_null';
COMMENT ON FUNCTION @extschema@.waste_summary_or_null(@extschema@.waste_state, pg_catalog.text, pg_catalog.int4) IS
	'step of waste_by_trace() and of the BI views: waste_summary(), or NULL for a trace the classifier refuses for its shape (a span id twice, parent ids in a cycle), so that a report over many traces leaves it out; other errors are raised';

-- The test for a span waste_agg() refuses, as SQL over the given column
-- expressions (each already of its type: text, numeric, timestamptz, int,
-- bigint, numeric; attempt and input cost or tokens NULL when the spans do
-- not have them): no id, a cost or input cost out of [0,
-- 9223372.036854775807] (negative, NaN, infinite or past the picodollars an
-- int8 holds), no finite start, a negative attempt or input.  TRUE for
-- such a span, else FALSE or NULL: test it with IS TRUE.  One text for
-- every query that leaves such spans out (waste_by_trace_sql(), the waste
-- rollup of a source).
CREATE FUNCTION @extschema@.waste_bad_span_sql(span_id pg_catalog.text, cost pg_catalog.text,
		started_at pg_catalog.text, attempt pg_catalog.text, input_tokens pg_catalog.text,
		input_cost pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	RETURN '(' OPERATOR(pg_catalog.||) pg_catalog.concat_ws(' OR ',
		span_id OPERATOR(pg_catalog.||) ' IS NULL',
		span_id OPERATOR(pg_catalog.||) ' = ''''',
		cost OPERATOR(pg_catalog.||) ' NOT BETWEEN 0 AND 9223372.036854775807',
		started_at OPERATOR(pg_catalog.||) ' IS NULL',
		'NOT pg_catalog.isfinite(' OPERATOR(pg_catalog.||) started_at OPERATOR(pg_catalog.||) ')',
		attempt OPERATOR(pg_catalog.||) ' < 0',
		input_tokens OPERATOR(pg_catalog.||) ' < 0',
		input_cost OPERATOR(pg_catalog.||) ' NOT BETWEEN 0 AND 9223372.036854775807') OPERATOR(pg_catalog.||) ')';
COMMENT ON FUNCTION @extschema@.waste_bad_span_sql(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
	'step of waste_by_trace_sql() and of a source''s waste rollup: the SQL test, over the given column expressions, for a span waste_agg() refuses (no id, a cost or input cost out of range, no finite start, a negative attempt or input)';

CREATE FUNCTION @extschema@.waste_by_trace_sql(rel pg_catalog.text, attempt pg_catalog.bool,
		input pg_catalog.bool, rule pg_catalog.text, loop_min pg_catalog.int4)
	RETURNS pg_catalog.text
	LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	bad pg_catalog.text := @extschema@.waste_bad_span_sql('t.span_id::pg_catalog.text',
		't.cost::pg_catalog.numeric', 't.started_at', CASE WHEN attempt THEN 't.attempt' END,
		CASE WHEN input THEN 't.input_tokens' END, CASE WHEN input THEN 't.input_cost::pg_catalog.numeric' END);
	more pg_catalog.text := '';
BEGIN
	IF attempt THEN
		more := ', t.attempt::pg_catalog.int4';
	END IF;
	IF input THEN
		more := CASE WHEN attempt THEN more ELSE ', NULL::pg_catalog.int4' END
			|| ', t.input_tokens::pg_catalog.int8, t.input_cost::pg_catalog.numeric';
	END IF;
	RETURN pg_catalog.format(
		'SELECT q.workflow, q.trace_id, q.ok AND s.cost_rule IS NOT NULL AS ok, s.cost_rule, s.spans, s.total, s.essential,
				s.error_call, s.failed_attempt, s.abandoned_branch, s.stuck_loop,
				s.duplicate_tool_call, s.waste
		   FROM (SELECT q.workflow, q.trace_id, q.st, NOT q.bad AS ok
				   FROM (SELECT t.workflow::pg_catalog.text AS workflow,
								t.trace_id::pg_catalog.text AS trace_id,
								pg_catalog.bool_or((%1$s) IS TRUE) AS bad,
								@extschema@.waste_agg(t.span_id::pg_catalog.text, t.parent_id::pg_catalog.text,
									t.kind::pg_catalog.text, t.name::pg_catalog.text,
									t.args_hash::pg_catalog.text, t.status::pg_catalog.text,
									t.cost::pg_catalog.numeric, t.started_at::pg_catalog.timestamptz%2$s)
									FILTER (WHERE (%1$s) IS NOT TRUE) AS st
						   FROM %3$s t
						  GROUP BY 1, 2) q) q
		  LEFT JOIN LATERAL @extschema@.waste_summary_or_null(CASE WHEN q.ok THEN q.st END, %4$L, %5$L) s ON true',
		bad, more, rel, rule, loop_min);
END
$fn$;
COMMENT ON FUNCTION @extschema@.waste_by_trace_sql(pg_catalog.text, pg_catalog.bool, pg_catalog.bool, pg_catalog.text, pg_catalog.int4) IS
	'step of waste_by_trace() and of the BI views of attached sources: the query classifying the waste of each trace of a relation, with ok false (classes NULL) for a trace with a span waste_agg() refuses, a span id twice or parent ids in a cycle';

CREATE OR REPLACE FUNCTION @extschema@.attach_bi_sql(p_source pg_catalog.text, sch pg_catalog.name, prefix pg_catalog.text)
	RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	v_calls text := format('%I.%I', sch, prefix || 'calls');
	v_spans text := format('%I.%I', sch, prefix || 'spans');
	-- the waste of each trace, classified as waste_by_trace() classifies it
	-- (a trace with an odd span not ok), read from the spans view as every
	-- view of the source reads the source: not through waste_by_trace(),
	-- whose guard refuses a source it cannot vouch for (row-level security
	-- of another owner, say) that the other views read all the same
	v_waste text := @extschema@.waste_by_trace_sql(v_spans, true, true, 'leaf', 3);
	v_attempts text := format('%I.%I', sch, prefix || 'attempts');
	v_items text := format('%I.%I', sch, prefix || 'items');
	v_conv text := format('%I.%I', sch, prefix || 'conversations');
	v_problems text := format('%I.%I', sch, prefix || 'problems');
	econ text;
	res jsonb := '{}';
	g text;
BEGIN
	-- Economics per workflow and period: one pass over the items view.
	-- An item counts in the period its first attempt started (UTC); an item
	-- whose AI cost or success is unknown is left out and counted.
	econ := $q$
SELECT e.source, e.workflow, e.period_start,
	   r.items, r.solved, r.solve_rate,
	   (e.first_ok::pg_catalog.float8 / NULLIF(r.items, 0)) AS p1,
	   (e.attempts::pg_catalog.float8 / NULLIF(r.items, 0)) AS attempts_per_item,
	   e.attempts,
	   COALESCE(r.ai_cost, 0) AS ai_cost, COALESCE(r.human_fix_cost, 0) AS human_fix_cost,
	   r.cost_per_solved AS ai_cost_per_solved,
	   r.total_cost_per_solved AS cost_per_solved,
	   pg_catalog.round(r.total_cost / NULLIF(r.items, 0), 12) AS cost_per_item,
	   e.bpo_unit_price,
	   pg_catalog.round(e.bpo_unit_price - r.total_cost / NULLIF(r.items, 0), 12) AS saving_per_unit,
	   CASE WHEN e.bpo_unit_price > 0 AND e.attempts > 0
			THEN @extschema@.break_even_p(pg_catalog.round(r.ai_cost / e.attempts, 12), e.bpo_unit_price) END AS break_even_p1,
	   (e.failed_cost / NULLIF(r.ai_cost, 0))::pg_catalog.float8 AS retry_share,
	   @extschema@.tail_ratio(e.sketch) AS tail_ratio,
	   w.waste_share,
	   e.items_left_out,
	   (e.items_left_out::pg_catalog.float8 / NULLIF(e.all_items, 0)) AS items_left_out_share,
	   e.calls_left_out,
	   (e.calls_left_out::pg_catalog.float8 / NULLIF(e.calls, 0)) AS calls_left_out_share
  FROM (SELECT i.source, i.workflow,
			   pg_catalog.date_trunc('{{GRAIN}}', pg_catalog.timezone('UTC', i.started_at))::pg_catalog.date AS period_start,
			   @extschema@.cost_per_outcome(i.ai_cost, i.solved, i.human_fix_cost) FILTER (WHERE i.ok) AS outcome,
			   @extschema@.cost_sketch(i.ai_cost) FILTER (WHERE i.ok) AS sketch,
			   pg_catalog.count(*) FILTER (WHERE i.ok AND i.first_try_succeeded) AS first_ok,
			   COALESCE(pg_catalog.sum(i.attempts) FILTER (WHERE i.ok), 0)::pg_catalog.int8 AS attempts,
			   pg_catalog.sum(i.failed_attempt_cost) FILTER (WHERE i.ok) AS failed_cost,
			   pg_catalog.round(pg_catalog.avg(i.bpo_unit_price) FILTER (WHERE i.ok), 12) AS bpo_unit_price,
			   pg_catalog.count(*) AS all_items,
			   pg_catalog.count(*) FILTER (WHERE NOT i.ok) AS items_left_out,
			   COALESCE(pg_catalog.sum(i.calls), 0)::pg_catalog.int8 AS calls,
			   COALESCE(pg_catalog.sum(i.calls_left_out), 0)::pg_catalog.int8 AS calls_left_out
		  FROM (SELECT x.*, (x.ai_cost IS NOT NULL AND x.solved IS NOT NULL) AS ok
				  FROM {{ITEMS}} x WHERE x.started_at IS NOT NULL AND pg_catalog.isfinite(x.started_at)) i
		 GROUP BY 1, 2, 3) e
  LEFT JOIN LATERAL @extschema@.outcome_report(e.outcome) r ON true
  LEFT JOIN (SELECT COALESCE(a.workflow, '') AS workflow_key,
					pg_catalog.date_trunc('{{GRAIN}}', pg_catalog.timezone('UTC', a.started_at))::pg_catalog.date AS period_start,
					(pg_catalog.sum(wt.waste) / NULLIF(pg_catalog.sum(wt.total), 0))::pg_catalog.float8 AS waste_share
			   FROM ({{WASTE}}) wt
			   JOIN {{ATTEMPTS}} a ON a.trace_id = wt.trace_id
			  WHERE wt.ok
			  GROUP BY 1, 2) w
	ON w.workflow_key = COALESCE(e.workflow, '') AND w.period_start = e.period_start$q$;
	econ := replace(replace(replace(econ, '{{ITEMS}}', v_items), '{{ATTEMPTS}}', v_attempts), '{{WASTE}}', v_waste);
	FOREACH g IN ARRAY ARRAY['day', 'week', 'month'] LOOP
		res := res || jsonb_build_object(CASE g WHEN 'day' THEN 'economics_daily' WHEN 'week' THEN 'economics_weekly'
			ELSE 'economics_monthly' END, replace(econ, '{{GRAIN}}', g));
	END LOOP;

	-- Where the economics break: per workflow and segment of items, the
	-- all-in cost per item (AI attempts, retries included, plus the human
	-- fix of the items the AI did not solve) against the BPO price.
	res := res || jsonb_build_object('segments', format($q$
SELECT s.source, s.workflow, s.segment, s.items, s.solved, s.p1, s.attempts_per_item,
	   s.ai_cost, s.human_fix_cost, s.ai_cost_per_solved, s.cost_per_item, s.bpo_unit_price,
	   s.saving_per_unit, s.retry_share, s.money_at_stake, s.agent_loses,
	   CASE WHEN s.agent_loses THEN pg_catalog.rank() OVER (PARTITION BY s.source, s.agent_loses
			ORDER BY s.money_at_stake DESC, s.workflow COLLATE "C", s.segment COLLATE "C") END AS loss_rank,
	   s.items_left_out,
	   CASE WHEN s.bpo_unit_price IS NULL OR s.items = 0 THEN NULL ELSE
	   pg_catalog.format('%%s, %%s: $%%s per item with the agent (retries and human fixes included) against $%%s at the BPO; first-try success %%s%%%%, %%s attempts per item: %%s',
		   COALESCE(s.workflow, '(no workflow)'), COALESCE(s.segment, 'items without a segment'),
		   pg_catalog.round(s.cost_per_item, 2), pg_catalog.round(s.bpo_unit_price, 2),
		   pg_catalog.round((s.p1 * 100)::pg_catalog.numeric, 0), pg_catalog.round(s.attempts_per_item::pg_catalog.numeric, 2),
		   CASE WHEN NOT s.agent_loses
				THEN pg_catalog.format('the agent saves $%%s per item, $%%s on these %%s items', pg_catalog.round(s.saving_per_unit, 2),
					 pg_catalog.round(-s.money_at_stake, 2), s.items)
				WHEN s.retry_share >= 0.5
				THEN pg_catalog.format('the retry tail destroys the economics (%%s%%%% of the AI spend goes on failed attempts); $%%s at stake on these %%s items',
					 pg_catalog.round((s.retry_share * 100)::pg_catalog.numeric, 0), pg_catalog.round(s.money_at_stake, 2), s.items)
				WHEN s.human_fix_cost > s.ai_cost
				THEN pg_catalog.format('the human fixes of the items the agent fails destroy the economics; $%%s at stake on these %%s items',
					 pg_catalog.round(s.money_at_stake, 2), s.items)
				ELSE pg_catalog.format('the agent''s attempts cost more than the BPO price; $%%s at stake on these %%s items',
					 pg_catalog.round(s.money_at_stake, 2), s.items) END) END AS sentence
  FROM (SELECT t.source, t.workflow, t.segment, r.items, r.solved,
			   (t.first_ok::pg_catalog.float8 / NULLIF(r.items, 0)) AS p1,
			   (t.attempts::pg_catalog.float8 / NULLIF(r.items, 0)) AS attempts_per_item,
			   COALESCE(r.ai_cost, 0) AS ai_cost, COALESCE(r.human_fix_cost, 0) AS human_fix_cost,
			   r.cost_per_solved AS ai_cost_per_solved,
			   pg_catalog.round(r.total_cost / NULLIF(r.items, 0), 12) AS cost_per_item,
			   t.bpo_unit_price,
			   pg_catalog.round(t.bpo_unit_price - r.total_cost / NULLIF(r.items, 0), 12) AS saving_per_unit,
			   (t.failed_cost / NULLIF(r.ai_cost, 0))::pg_catalog.float8 AS retry_share,
			   pg_catalog.round(r.total_cost - t.bpo_total, 12) AS money_at_stake,
			   (r.total_cost > t.bpo_total) AS agent_loses,
			   t.items_left_out
		  FROM (SELECT i.source, i.workflow, i.segment,
					   @extschema@.cost_per_outcome(i.ai_cost, i.solved, i.human_fix_cost) FILTER (WHERE i.ok) AS outcome,
					   pg_catalog.count(*) FILTER (WHERE i.ok AND i.first_try_succeeded) AS first_ok,
					   COALESCE(pg_catalog.sum(i.attempts) FILTER (WHERE i.ok), 0)::pg_catalog.int8 AS attempts,
					   pg_catalog.sum(i.failed_attempt_cost) FILTER (WHERE i.ok) AS failed_cost,
					   pg_catalog.round(pg_catalog.avg(i.bpo_unit_price) FILTER (WHERE i.ok), 12) AS bpo_unit_price,
					   pg_catalog.sum(i.bpo_unit_price) FILTER (WHERE i.ok) AS bpo_total,
					   pg_catalog.count(*) FILTER (WHERE NOT i.ok) AS items_left_out
				  FROM (SELECT x.*, (x.ai_cost IS NOT NULL AND x.solved IS NOT NULL) AS ok FROM %1$s x) i
				 GROUP BY 1, 2, 3) t
		  LEFT JOIN LATERAL @extschema@.outcome_report(t.outcome) r ON true) s$q$, v_items));

	-- Model routing per workflow and option, over attempts.  Documented
	-- rule: a sample is enough from 30 attempts; an option is good enough
	-- when its 95% Wilson interval reaches the best success rate of the
	-- options with enough samples; the recommendation is the good-enough
	-- option with the lowest cost per success, none without enough samples.
	res := res || jsonb_build_object('routing', format($q$
SELECT o.source, o.workflow, o.option, o.attempts, o.successes, o.success_rate,
	   o.success_low, o.success_high, 0.95::pg_catalog.float8 AS confidence, 30::pg_catalog.int8 AS min_sample,
	   o.cost, o.cost_per_attempt, o.cost_per_success, o.sample_ok, o.good_enough,
	   o.rec_option AS recommended_option,
	   CASE WHEN o.rec_option IS NOT NULL AND o.option IS DISTINCT FROM o.rec_option AND o.cost_per_success > o.rec_cps
			THEN pg_catalog.round(o.successes * (o.cost_per_success - o.rec_cps), 12)
			WHEN o.rec_option IS NOT NULL THEN 0::pg_catalog.numeric END AS projected_saving,
	   CASE WHEN NOT o.sample_ok THEN pg_catalog.format('too few samples (%%s attempts, 30 needed): no recommendation from this option', o.attempts)
			WHEN o.rec_option IS NULL THEN 'no option has a good-enough success rate with 30 attempts or more'
			WHEN o.option = o.rec_option THEN 'recommended: the cheapest good-enough option per success'
			WHEN NOT o.good_enough THEN pg_catalog.format('success rate %%s below the best; switch to %%s', pg_catalog.round(o.success_rate::pg_catalog.numeric, 3), o.rec_option)
			ELSE pg_catalog.format('good enough but dearer per success than %%s', o.rec_option) END AS note,
	   o.attempts_left_out
  FROM (SELECT g.*,
			   CASE WHEN pg_catalog.first_value(g.candidate) OVER w THEN pg_catalog.first_value(g.option) OVER w END AS rec_option,
			   CASE WHEN pg_catalog.first_value(g.candidate) OVER w THEN pg_catalog.first_value(g.cost_per_success) OVER w END AS rec_cps
		  FROM (SELECT c.*, (c.good_enough AND c.cost_per_success IS NOT NULL) AS candidate
				  FROM (SELECT b.*,
							   (b.sample_ok AND b.success_high >= pg_catalog.max(b.success_rate) FILTER (WHERE b.sample_ok)
									OVER (PARTITION BY b.source, b.workflow) - 1e-12) IS TRUE AS good_enough
						  FROM (SELECT a.source, a.workflow, a.option,
									   pg_catalog.count(*) FILTER (WHERE a.ok) AS attempts,
									   pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded) AS successes,
									   (pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded))::pg_catalog.float8
										   / NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok), 0) AS success_rate,
									   (@extschema@.wilson_interval(pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded),
										   NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok), 0), 0.95)).low AS success_low,
									   (@extschema@.wilson_interval(pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded),
										   NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok), 0), 0.95)).high AS success_high,
									   COALESCE(pg_catalog.sum(a.cost) FILTER (WHERE a.ok), 0) AS cost,
									   pg_catalog.round(pg_catalog.sum(a.cost) FILTER (WHERE a.ok) / NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok), 0), 12) AS cost_per_attempt,
									   pg_catalog.round(pg_catalog.sum(a.cost) FILTER (WHERE a.ok)
										   / NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded), 0), 12) AS cost_per_success,
									   pg_catalog.count(*) FILTER (WHERE a.ok) >= 30 AS sample_ok,
									   pg_catalog.count(*) FILTER (WHERE NOT a.ok) AS attempts_left_out
								  FROM (SELECT x.*, (x.cost IS NOT NULL AND x.succeeded IS NOT NULL) AS ok FROM %1$s x) a
								 GROUP BY 1, 2, 3) b) c) g
		WINDOW w AS (PARTITION BY g.source, g.workflow ORDER BY g.candidate DESC, g.cost_per_success, g.option COLLATE "C"
					 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) o$q$, v_attempts));

	-- Waste by class, long format, from tokacct.waste_by_workflow().
	res := res || jsonb_build_object('waste', format($q$
SELECT %2$L::pg_catalog.text AS source, w.workflow, c.class, c.precedence::pg_catalog.int8 AS precedence,
	   c.cost, (c.cost / NULLIF(w.total, 0))::pg_catalog.float8 AS share, w.total, w.traces, w.cost_rule
  FROM (SELECT b.workflow, pg_catalog.min(b.cost_rule) AS cost_rule, pg_catalog.count(*) AS traces,
			   pg_catalog.sum(b.total) AS total, pg_catalog.sum(b.essential) AS essential,
			   pg_catalog.sum(b.error_call) AS error_call, pg_catalog.sum(b.failed_attempt) AS failed_attempt,
			   pg_catalog.sum(b.abandoned_branch) AS abandoned_branch, pg_catalog.sum(b.stuck_loop) AS stuck_loop,
			   pg_catalog.sum(b.duplicate_tool_call) AS duplicate_tool_call
		  FROM (%1$s) b WHERE b.ok GROUP BY b.workflow) w
 CROSS JOIN LATERAL (VALUES ('essential', 0, w.essential), ('error_call', 1, w.error_call),
		('failed_attempt', 2, w.failed_attempt), ('abandoned_branch', 3, w.abandoned_branch),
		('stuck_loop', 4, w.stuck_loop), ('duplicate_tool_call', 5, w.duplicate_tool_call)) c(class, precedence, cost)$q$,
		v_waste, p_source));

	-- Context growth per workflow: context_growth() per conversation,
	-- summed.  Savings if the history carried into a call were capped at
	-- 32768 tokens.
	res := res || jsonb_build_object('context_growth', format($q$
SELECT g.source, g.workflow, pg_catalog.count(*) AS conversations,
	   pg_catalog.sum(r.calls)::pg_catalog.int8 AS calls,
	   pg_catalog.sum(r.total_input)::pg_catalog.int8 AS total_input,
	   pg_catalog.sum(r.fresh_input)::pg_catalog.int8 AS fresh_input,
	   pg_catalog.sum(r.carried_input)::pg_catalog.int8 AS carried_input,
	   (pg_catalog.sum(r.carried_input)::pg_catalog.float8 / NULLIF(pg_catalog.sum(r.total_input), 0)) AS carried_share,
	   pg_catalog.avg(r.growth_exponent) AS mean_growth_exponent,
	   pg_catalog.max(r.calls)::pg_catalog.int8 AS longest_conversation,
	   32768::pg_catalog.int8 AS history_cap,
	   pg_catalog.sum(s.saved_input)::pg_catalog.int8 AS saved_input_at_cap,
	   (pg_catalog.sum(s.saved_input)::pg_catalog.float8 / NULLIF(pg_catalog.sum(r.total_input), 0)) AS saved_share_at_cap,
	   pg_catalog.sum(g.calls_left_out)::pg_catalog.int8 AS calls_left_out
  FROM (SELECT c.source, pg_catalog.min(c.workflow) AS workflow, c.conversation_id,
			   @extschema@.context_growth(c.seq, c.input_tokens, c.output_tokens)
				   FILTER (WHERE c.input_tokens IS NOT NULL AND c.output_tokens IS NOT NULL) AS st,
			   pg_catalog.count(*) FILTER (WHERE c.input_tokens IS NULL OR c.output_tokens IS NULL) AS calls_left_out
		  FROM %1$s c GROUP BY c.source, c.conversation_id) g
  LEFT JOIN LATERAL @extschema@.context_report(g.st) r ON true
  LEFT JOIN LATERAL @extschema@.context_savings(g.st, 32768) s ON true
 GROUP BY g.source, g.workflow$q$, v_conv));

	-- Cost quantiles per workflow and option, long format.
	res := res || jsonb_build_object('cost_quantiles', format($q$
SELECT q.source, q.workflow, q.option, v.quantile, @extschema@.cost_quantile(q.sketch, v.quantile) AS cost, q.items
  FROM (SELECT i.source, i.workflow, i.option, @extschema@.cost_sketch(i.ai_cost) AS sketch, pg_catalog.count(*) AS items
		  FROM %1$s i WHERE i.ai_cost IS NOT NULL
		 GROUP BY 1, 2, 3) q
 CROSS JOIN (VALUES (0.5::pg_catalog.float8), (0.9), (0.95), (0.99)) v(quantile)$q$, v_items));

	-- Utility frontier per workflow over the items (cost: AI plus human fix).
	res := res || jsonb_build_object('frontier', format($q$
SELECT f.source, f.workflow, o.option, o.items, o.mean_cost, o.mean_value, o.on_frontier,
	   o.frontier_rank::pg_catalog.int8 AS frontier_rank, o.marginal_utility,
	   pg_catalog.array_to_string(o.dominated_by, ', ') AS dominated_by
  FROM (SELECT i.source, i.workflow,
			   @extschema@.utility_frontier(COALESCE(i.option, '(none)'), i.ai_cost + COALESCE(i.human_fix_cost, 0), i.value) AS st
		  FROM %1$s i WHERE i.ai_cost IS NOT NULL AND i.value IS NOT NULL AND i.workflow IS NOT NULL
		 GROUP BY 1, 2) f
 CROSS JOIN LATERAL @extschema@.frontier_options(f.st) o$q$, v_items));

	-- The allocation of the budget kept in tokacct.allocation_budget.
	res := res || jsonb_build_object('allocation', format($q$
SELECT b.source, b.budget, p.workflow, p.option, p.items, p.share, p.spend, p.value,
	   s.shadow_price, s.feasible, d.decision
  FROM @extschema@.allocation_budget_rows() b
 CROSS JOIN LATERAL (SELECT pg_catalog.array_agg(ROW(f.workflow, f.option, f.mean_cost, f.mean_value, t.items,
						f.option = t.current_option)::@extschema@.allocation_option ORDER BY f.workflow, f.option) AS opts
					   FROM (SELECT i.workflow, 'leave undone' AS option, 0::pg_catalog.numeric AS mean_cost, 0::pg_catalog.numeric AS mean_value
							   FROM %1$s i WHERE i.ai_cost IS NOT NULL AND i.value IS NOT NULL AND i.workflow IS NOT NULL
							  GROUP BY 1
							  UNION ALL
							 SELECT i.workflow, COALESCE(i.option, '(none)') AS option,
									pg_catalog.round(pg_catalog.avg(i.ai_cost + COALESCE(i.human_fix_cost, 0)), 12) AS mean_cost,
									pg_catalog.round(pg_catalog.avg(i.value), 12) AS mean_value
							   FROM %1$s i WHERE i.ai_cost IS NOT NULL AND i.value IS NOT NULL AND i.workflow IS NOT NULL
							  GROUP BY 1, 2) f
					   JOIN (SELECT i.workflow, pg_catalog.count(*) AS items,
									pg_catalog.mode() WITHIN GROUP (ORDER BY COALESCE(i.option, '(none)')) AS current_option
							   FROM %1$s i WHERE i.ai_cost IS NOT NULL AND i.value IS NOT NULL AND i.workflow IS NOT NULL
							  GROUP BY 1) t ON t.workflow = f.workflow) o
 CROSS JOIN LATERAL @extschema@.allocation_summary(b.budget, o.opts) s
 CROSS JOIN LATERAL @extschema@.allocate(b.budget, o.opts) p
  LEFT JOIN LATERAL (SELECT pg_catalog.string_agg(x.decision, '; ') AS decision
					   FROM @extschema@.allocation_decisions(b.budget, o.opts) x WHERE x.workflow = p.workflow) d ON true
 WHERE b.source = %2$L AND o.opts IS NOT NULL$q$, v_items, p_source));

	-- Calls no catalog can price.
	res := res || jsonb_build_object('unpriced_models', format($q$
SELECT c.source, c.price_provider AS provider, c.price_model AS model, pg_catalog.count(*) AS calls,
	   pg_catalog.min(c.started_at) AS first_call, pg_catalog.max(c.started_at) AS last_call,
	   pg_catalog.sum(c.input_tokens)::pg_catalog.int8 AS input_tokens, pg_catalog.sum(c.output_tokens)::pg_catalog.int8 AS output_tokens,
	   pg_catalog.count(*) FILTER (WHERE c.cost IS NOT NULL) AS calls_with_reported_cost
  FROM %1$s c
 WHERE c.list_cost IS NULL AND c.problem LIKE 'no catalog price%%'
 GROUP BY 1, 2, 3$q$, v_calls));

	-- Problems, counted by level and reason.
	res := res || jsonb_build_object('problem_summary', format($q$
SELECT p.source, p.level, p.reason, pg_catalog.count(*) AS rows,
	   pg_catalog.count(DISTINCT p.trace_id) AS traces, pg_catalog.min(p.trace_id) AS example_trace_id
  FROM %1$s p GROUP BY 1, 2, 3$q$, v_problems));

	-- FOCUS 1.2 cost export: one row per priced call (data/focus/).
	res := res || jsonb_build_object('focus', format($q$
SELECT c.cost AS "BilledCost",
	   c.source AS "BillingAccountId",
	   c.source AS "BillingAccountName",
	   'USD'::pg_catalog.text AS "BillingCurrency",
	   pg_catalog.timezone('UTC', pg_catalog.date_trunc('month', pg_catalog.timezone('UTC', c.started_at))) AS "BillingPeriodStart",
	   -- (the month after the last that timestamptz holds, 294276-12, has no start)
	   CASE WHEN pg_catalog.timezone('UTC', c.started_at) < '294276-12-01'::pg_catalog.timestamp
			THEN pg_catalog.timezone('UTC', pg_catalog.date_trunc('month', pg_catalog.timezone('UTC', c.started_at)) + '1 month'::pg_catalog.interval)
			ELSE 'infinity'::pg_catalog.timestamptz END AS "BillingPeriodEnd",
	   'Usage'::pg_catalog.text AS "ChargeCategory",
	   NULL::pg_catalog.text AS "ChargeClass",
	   pg_catalog.format('%%s tokens of %%s (%%s in, %%s out)', c.input_tokens + c.output_tokens, c.price_model, c.input_tokens, c.output_tokens) AS "ChargeDescription",
	   'Usage-Based'::pg_catalog.text AS "ChargeFrequency",
	   c.started_at AS "ChargePeriodStart",
	   GREATEST(COALESCE(c.ended_at, c.started_at), c.started_at) AS "ChargePeriodEnd",
	   (c.input_tokens + c.output_tokens)::pg_catalog.numeric AS "ConsumedQuantity",
	   'Tokens'::pg_catalog.text AS "ConsumedUnit",
	   c.cost AS "ContractedCost",
	   c.cost AS "EffectiveCost",
	   c.price_provider AS "InvoiceIssuerName",
	   COALESCE(c.list_cost, c.cost) AS "ListCost",
	   'Standard'::pg_catalog.text AS "PricingCategory",
	   (c.input_tokens + c.output_tokens)::pg_catalog.numeric AS "PricingQuantity",
	   'Tokens'::pg_catalog.text AS "PricingUnit",
	   c.price_provider AS "ProviderName",
	   c.price_provider AS "PublisherName",
	   c.trace_id AS "ResourceId",
	   c.workflow AS "ResourceName",
	   'Agent trace'::pg_catalog.text AS "ResourceType",
	   'AI and Machine Learning'::pg_catalog.text AS "ServiceCategory",
	   c.price_provider AS "ServiceName",
	   'Generative AI'::pg_catalog.text AS "ServiceSubcategory",
	   c.price_model AS "SkuId",
	   c.workflow AS "SubAccountId",
	   c.workflow AS "SubAccountName",
	   pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('tokacct:workflow', c.workflow, 'tokacct:item', c.item,
		   'tokacct:attempt', c.attempt, 'tokacct:model', c.model, 'tokacct:cost_source', c.cost_source,
		   'tokacct:span_id', c.span_id))::pg_catalog.text AS "Tags"
  FROM %1$s c
 WHERE c.cost IS NOT NULL AND c.input_tokens IS NOT NULL AND c.output_tokens IS NOT NULL$q$, v_calls));
	RETURN res;
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_bi_sql(pg_catalog.text, pg_catalog.name, pg_catalog.text) IS
	'the SQL of the BI views of an attached source (economics, segments, routing, waste, context growth, cost quantiles, frontier, allocation, unpriced models, problem summary, FOCUS), over its base views';

-- BI views (h-bi): support functions out of a BI tool's way (sql/install/99_internal.sql);
-- keep this block last: it moves every support function created before it.
-- ---------------------------------------------------------------------------
-- Support functions out of a BI tool's way.  The input, output, send and
-- receive functions of tokacct's types and the transition, combine, final,
-- serial and deserial functions of its aggregates move to schema
-- tokacct_internal, so that a tool listing schema tokacct (Metabase's sync,
-- \df) sees the user-facing functions only.  The types and aggregates stay
-- in tokacct and reach them by their oid; nothing calls them by name.
-- Last piece of the install script: every support function created before
-- it moves (the upgrade script ends with the same block).
-- ---------------------------------------------------------------------------

CREATE SCHEMA tokacct_internal;
COMMENT ON SCHEMA tokacct_internal IS
	'support functions of tokacct''s types and aggregates (input/output, transition, combine, final): not meant to be called directly';

DO $do$
DECLARE
	f record;
BEGIN
	FOR f IN
		SELECT p.oid, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args
		  FROM pg_catalog.pg_proc p
		  JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
			   AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
		  JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
			   AND e.extname OPERATOR(pg_catalog.=) 'tokacct'
		 WHERE p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
		   AND p.oid OPERATOR(pg_catalog.=) ANY (ARRAY(
				SELECT pg_catalog.unnest(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend]::pg_catalog.oid[])
				  FROM pg_catalog.pg_type t
				 WHERE t.typnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
				UNION
				SELECT pg_catalog.unnest(ARRAY[a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
						a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn]::pg_catalog.oid[])
				  FROM pg_catalog.pg_aggregate a
				  JOIN pg_catalog.pg_proc ap ON ap.oid OPERATOR(pg_catalog.=) a.aggfnoid
				 WHERE ap.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace))
		 ORDER BY p.proname, 3
	LOOP
		EXECUTE pg_catalog.format('ALTER FUNCTION %I.%I(%s) SET SCHEMA tokacct_internal', '@extschema@', f.proname, f.args);
	END LOOP;
END
$do$;
