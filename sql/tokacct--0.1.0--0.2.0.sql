-- tokacct 0.1.0 -> 0.2.0 (ALTER EXTENSION tokacct UPDATE).
-- Every reference is schema-qualified, as in the install script.

\echo Use "ALTER EXTENSION tokacct UPDATE TO '0.2.0'" to load this file. \quit

-- Money on the way in is rounded half away from zero to the picodollar, not
-- refused: a request fee with more than 12 decimals is rounded on load.
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
		IF c IS NOT NULL AND jsonb_typeof(c) <> 'null' THEN
			IF jsonb_typeof(c) <> 'object' THEN
				RAISE EXCEPTION 'malformed constraint in %', vwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('Got %s.', c::text);
			END IF;
			FOR k IN SELECT jsonb_object_keys(c) LOOP
				IF k NOT IN ('start_date', 'start_time', 'end_time') THEN
					RAISE EXCEPTION 'malformed constraint in %', vwhat USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('Unknown constraint "%s"; expected start_date, or start_time and end_time.', k);
				END IF;
			END LOOP;
			BEGIN
				IF c ? 'start_date' THEN
					IF jsonb_typeof(c -> 'start_date') <> 'string' OR (c ->> 'start_date') !~ '^\d{4}-\d{2}-\d{2}$' THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
					sd := (c ->> 'start_date')::date;
				END IF;
				IF c ? 'start_time' OR c ? 'end_time' THEN
					IF jsonb_typeof(c -> 'start_time') IS DISTINCT FROM 'string' OR jsonb_typeof(c -> 'end_time') IS DISTINCT FROM 'string'
					   OR (c ->> 'start_time') !~ '^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00(:?00)?)?$'
					   OR (c ->> 'end_time') !~ '^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00(:?00)?)?$' THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
					ts := regexp_replace(c ->> 'start_time', '(Z|\+00(:?00)?)$', '')::time;
					te := regexp_replace(c ->> 'end_time', '(Z|\+00(:?00)?)$', '')::time;
					IF ts = te THEN
						RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
					END IF;
				END IF;
			EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
				RAISE EXCEPTION 'malformed constraint in %', vwhat USING ERRCODE = 'invalid_parameter_value',
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
				IF pv ? 'base' AND jsonb_typeof(pv -> 'base') <> 'null' THEN
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

-- The rounding rule is half away from zero everywhere; the comments say so.
COMMENT ON FUNCTION @extschema@.outcome_report(@extschema@.outcome_state) IS
	'read a cost_per_outcome state: items, solved, solve_rate, ai_cost, cost_per_item = ai_cost/items, cost_per_solved = ai_cost/solved, fixed_items, human_fix_cost, total_cost = ai_cost + human_fix_cost, total_cost_per_solved; quotients are numeric rounded half away from zero to 12 decimals, NULL when dividing by 0';
COMMENT ON COLUMN @extschema@.allocation_option.cost_per_item IS 'mean cost per item (>= 0, rounded half away from zero to 12 decimals), retries and human fallback included';
