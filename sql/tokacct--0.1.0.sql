-- tokacct 0.1.0, the first release, as it installed (built from sql/install/
-- at commit bcbc7a7, less three section comments that named a document kept
-- outside this repository).  Kept so that 0.1.0 can still be installed and
-- upgraded from; never edit it: later versions come by tokacct--A--B.sql.
-- tokacct install script, built from the pieces in sql/install/ (name order).
-- Every reference is schema-qualified: pg_catalog for the built-ins and
-- @extschema@ (tokacct) for our own, so the script is safe whatever the
-- search_path of the role that runs CREATE EXTENSION.

\echo Use "CREATE EXTENSION tokacct" to load this file. \quit

-- Roles are cluster-wide, so the extension grants to them but does not own
-- them; create them beforehand if you want them (see README, "Roles").

CREATE FUNCTION @extschema@.version() RETURNS pg_catalog.text
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'tokacct_version';
COMMENT ON FUNCTION @extschema@.version() IS 'version of the loaded tokacct library';

-- ---------------------------------------------------------------------------
-- Economics: scalar functions
-- ---------------------------------------------------------------------------

CREATE TYPE @extschema@.item_cost AS (
	cost_per_item pg_catalog.numeric,
	yield pg_catalog.float8,
	expected_attempts pg_catalog.float8,
	ai_cost_per_ai_solved pg_catalog.numeric
);
COMMENT ON TYPE @extschema@.item_cost IS
	'expected economics of one item under capped retries with a fallback';
COMMENT ON COLUMN @extschema@.item_cost.cost_per_item IS
	'expected cost per item: attempt cost x expected attempts + fallback cost x (1-p)^k';
COMMENT ON COLUMN @extschema@.item_cost.yield IS
	'share of items solved by AI within k attempts: 1 - (1-p)^k';
COMMENT ON COLUMN @extschema@.item_cost.expected_attempts IS
	'expected AI attempts per item: (1 - (1-p)^k) / p';
COMMENT ON COLUMN @extschema@.item_cost.ai_cost_per_ai_solved IS
	'AI spend per item solved by AI: attempt cost x expected attempts / yield';

CREATE TYPE @extschema@.rate_interval AS (
	low pg_catalog.float8,
	high pg_catalog.float8
);
COMMENT ON TYPE @extschema@.rate_interval IS 'a confidence interval for a rate';
COMMENT ON COLUMN @extschema@.rate_interval.low IS 'lower bound';
COMMENT ON COLUMN @extschema@.rate_interval.high IS 'upper bound';

CREATE FUNCTION @extschema@.effective_cost(attempt_cost pg_catalog.numeric, p pg_catalog.float8)
	RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_effective_cost';
COMMENT ON FUNCTION @extschema@.effective_cost(pg_catalog.numeric, pg_catalog.float8) IS
	'expected cost per solved item when each attempt costs attempt_cost and succeeds with probability p: T/p (rounded to 1e-12)';

CREATE FUNCTION @extschema@.effective_cost(success_cost pg_catalog.numeric,
		failure_cost pg_catalog.numeric, p pg_catalog.float8)
	RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_effective_cost_split';
COMMENT ON FUNCTION @extschema@.effective_cost(pg_catalog.numeric, pg_catalog.numeric, pg_catalog.float8) IS
	'expected cost per solved item when a success costs success_cost and a failed attempt failure_cost: T_s + T_f(1-p)/p';

CREATE FUNCTION @extschema@.expected_item_cost(attempt_cost pg_catalog.numeric,
		p pg_catalog.float8, max_attempts pg_catalog.int4, fallback_cost pg_catalog.numeric)
	RETURNS @extschema@.item_cost
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_expected_item_cost';
COMMENT ON FUNCTION @extschema@.expected_item_cost(pg_catalog.numeric, pg_catalog.float8, pg_catalog.int4, pg_catalog.numeric) IS
	'retries capped at max_attempts, then a fallback (human or BPO) at fallback_cost: expected cost per item, yield, expected attempts, AI cost per AI-solved item';

CREATE FUNCTION @extschema@.break_even_p(attempt_cost pg_catalog.numeric, unit_price pg_catalog.numeric)
	RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_break_even_p';
COMMENT ON FUNCTION @extschema@.break_even_p(pg_catalog.numeric, pg_catalog.numeric) IS
	'first-try success rate at which T/p equals the unit price: T/U; NULL when no rate reaches it (T > U)';

CREATE FUNCTION @extschema@.break_even_p(attempt_cost pg_catalog.numeric, unit_price pg_catalog.numeric,
		max_attempts pg_catalog.int4, fallback_cost pg_catalog.numeric)
	RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_break_even_p_capped';
COMMENT ON FUNCTION @extschema@.break_even_p(pg_catalog.numeric, pg_catalog.numeric, pg_catalog.int4, pg_catalog.numeric) IS
	'first-try success rate at which capped retries plus fallback cost the unit price per item; NULL when never (U < T), 0 when always (U >= T*k + H)';

CREATE FUNCTION @extschema@.break_even_attempt_cost(p pg_catalog.float8, unit_price pg_catalog.numeric)
	RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_break_even_attempt_cost';
COMMENT ON FUNCTION @extschema@.break_even_attempt_cost(pg_catalog.float8, pg_catalog.numeric) IS
	'largest attempt cost whose T/p still does not exceed the unit price: U*p';

CREATE FUNCTION @extschema@.break_even_attempt_cost(p pg_catalog.float8, unit_price pg_catalog.numeric,
		max_attempts pg_catalog.int4, fallback_cost pg_catalog.numeric)
	RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_break_even_attempt_cost_capped';
COMMENT ON FUNCTION @extschema@.break_even_attempt_cost(pg_catalog.float8, pg_catalog.numeric, pg_catalog.int4, pg_catalog.numeric) IS
	'largest attempt cost (rounded down to 1e-12) at which capped retries plus fallback still do not exceed the unit price; NULL when the fallback alone exceeds it';

CREATE FUNCTION @extschema@.pass_at_k(n pg_catalog.int4, c pg_catalog.int4, k pg_catalog.int4)
	RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_pass_at_k';
COMMENT ON FUNCTION @extschema@.pass_at_k(pg_catalog.int4, pg_catalog.int4, pg_catalog.int4) IS
	'unbiased pass@k from n trials with c successes: 1 - C(n-c,k)/C(n,k), the chance that k tries include a success';

CREATE FUNCTION @extschema@.pass_hat_k(n pg_catalog.int4, c pg_catalog.int4, k pg_catalog.int4)
	RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_pass_hat_k';
COMMENT ON FUNCTION @extschema@.pass_hat_k(pg_catalog.int4, pg_catalog.int4, pg_catalog.int4) IS
	'unbiased pass^k from n trials with c successes: C(c,k)/C(n,k), the chance that k tries all succeed';

CREATE FUNCTION @extschema@.context_cost(n pg_catalog.int8, linear pg_catalog.numeric, quadratic pg_catalog.numeric)
	RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_context_cost';
COMMENT ON FUNCTION @extschema@.context_cost(pg_catalog.int8, pg_catalog.numeric, pg_catalog.numeric) IS
	'compute cost of a context of n tokens: linear*n + quadratic*n^2 (exact)';

CREATE FUNCTION @extschema@.agent_loop_input_tokens(turns pg_catalog.int4, base pg_catalog.int8, per_turn pg_catalog.int8)
	RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_agent_loop_input_tokens';
COMMENT ON FUNCTION @extschema@.agent_loop_input_tokens(pg_catalog.int4, pg_catalog.int8, pg_catalog.int8) IS
	'input tokens of a loop that re-sends its growing history: turn t sends base + (t-1)*per_turn, total turns*base + per_turn*turns*(turns-1)/2';

CREATE FUNCTION @extschema@.wilson_interval(successes pg_catalog.int8, trials pg_catalog.int8,
		confidence pg_catalog.float8 DEFAULT 0.95)
	RETURNS @extschema@.rate_interval
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_wilson_interval';
COMMENT ON FUNCTION @extschema@.wilson_interval(pg_catalog.int8, pg_catalog.int8, pg_catalog.float8) IS
	'Wilson score interval for a success rate of successes/trials at the given confidence';
-- ---------------------------------------------------------------------------
-- Pricing: an effective-dated price catalog, its loaders and cost().
--
-- The catalog is a set of plain tables.  cost() (C, src/price_cost.c) reads
-- them once per backend into a cache (src/price_catalog.c) and prices every
-- later row from memory; a statement-level trigger on each catalog table
-- invalidates that cache in every session when a change commits.
-- ---------------------------------------------------------------------------

-- A price per million tokens: non-negative, at most 6 decimals, so that the
-- price of one token is a whole number of picodollars (1e-12 USD).
CREATE DOMAIN @extschema@.price_mtok AS pg_catalog.numeric
	CHECK (VALUE OPERATOR(pg_catalog.>=) 0::pg_catalog.numeric
		   AND VALUE OPERATOR(pg_catalog.<) 9223372000000::pg_catalog.numeric
		   AND VALUE OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric OPERATOR(pg_catalog.=) pg_catalog.trunc(VALUE OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric));
COMMENT ON DOMAIN @extschema@.price_mtok IS
	'price per million tokens: non-negative, at most 6 decimals (a whole number of picodollars per token)';

-- An amount of money kept exactly: at most 12 decimals.
CREATE DOMAIN @extschema@.price_amount AS pg_catalog.numeric
	CHECK (VALUE OPERATOR(pg_catalog.>=) 0::pg_catalog.numeric
		   AND VALUE OPERATOR(pg_catalog.<) 9223372::pg_catalog.numeric
		   AND VALUE OPERATOR(pg_catalog.*) 1000000000000::pg_catalog.numeric OPERATOR(pg_catalog.=) pg_catalog.trunc(VALUE OPERATOR(pg_catalog.*) 1000000000000::pg_catalog.numeric));
COMMENT ON DOMAIN @extschema@.price_amount IS
	'non-negative amount of money with at most 12 decimals (whole picodollars)';

-- Check a match rule; raise an error naming "what" when it is malformed.
CREATE FUNCTION @extschema@.price_check_match(rule pg_catalog.jsonb, what pg_catalog.text)
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
				PERFORM '' ~ (arg #>> '{}');
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
COMMENT ON FUNCTION @extschema@.price_check_match(pg_catalog.jsonb, pg_catalog.text) IS
	'true for a well-formed match rule; otherwise an error naming "what"';

CREATE TABLE @extschema@.price_catalog (
	catalog pg_catalog.text PRIMARY KEY,
	precedence pg_catalog.int4 NOT NULL UNIQUE,
	description pg_catalog.text
);
COMMENT ON TABLE @extschema@.price_catalog IS
	'price sources (catalogs); a call is priced from the first catalog, in precedence order, that knows its model';
COMMENT ON COLUMN @extschema@.price_catalog.catalog IS 'catalog name: custom, genai-prices, litellm, or your own';
COMMENT ON COLUMN @extschema@.price_catalog.precedence IS 'lower is tried first when pricing a call';
COMMENT ON COLUMN @extschema@.price_catalog.description IS 'where the prices come from';
INSERT INTO @extschema@.price_catalog VALUES
	('custom', 0, 'prices you enter yourself; tried first'),
	('genai-prices', 10, 'pydantic/genai-prices data.json, loaded by load_prices_genai()'),
	('litellm', 20, 'LiteLLM model_prices_and_context_window.json, loaded by load_prices_litellm()');

CREATE TABLE @extschema@.price_provider (
	catalog pg_catalog.text NOT NULL REFERENCES @extschema@.price_catalog ON UPDATE CASCADE ON DELETE CASCADE,
	provider pg_catalog.text NOT NULL CHECK (provider OPERATOR(pg_catalog.=) pg_catalog.lower(provider)),
	ordinal pg_catalog.int4 NOT NULL,
	name pg_catalog.text,
	provider_match pg_catalog.jsonb,
	model_match pg_catalog.jsonb,
	fallback_providers pg_catalog.text[] NOT NULL DEFAULT '{}',
	CHECK (provider_match IS NULL OR @extschema@.price_check_match(provider_match, 'provider_match of provider ' OPERATOR(pg_catalog.||) provider)),
	CHECK (model_match IS NULL OR @extschema@.price_check_match(model_match, 'model_match of provider ' OPERATOR(pg_catalog.||) provider)),
	PRIMARY KEY (catalog, provider)
);
COMMENT ON TABLE @extschema@.price_provider IS 'providers of a catalog, with the rules that recognise them';
COMMENT ON COLUMN @extschema@.price_provider.catalog IS 'catalog this provider belongs to';
COMMENT ON COLUMN @extschema@.price_provider.provider IS 'provider id, lower case (openai, anthropic, aws...)';
COMMENT ON COLUMN @extschema@.price_provider.ordinal IS 'position in the catalog: with a NULL or unknown provider, providers are tried in this order';
COMMENT ON COLUMN @extschema@.price_provider.name IS 'display name';
COMMENT ON COLUMN @extschema@.price_provider.provider_match IS 'match rule on the provider name a call gives, tried when no provider id equals it';
COMMENT ON COLUMN @extschema@.price_provider.model_match IS 'match rule on the model name: picks this provider when the call names no known provider';
COMMENT ON COLUMN @extschema@.price_provider.fallback_providers IS 'providers (same catalog) whose models this one resells, searched in order when none of its own models matches';

CREATE TABLE @extschema@.price_model (
	catalog pg_catalog.text NOT NULL,
	provider pg_catalog.text NOT NULL,
	model pg_catalog.text NOT NULL,
	ordinal pg_catalog.int4 NOT NULL,
	name pg_catalog.text,
	match pg_catalog.jsonb NOT NULL,
	context_window pg_catalog.int8,
	CHECK (@extschema@.price_check_match(match, 'match of model ' OPERATOR(pg_catalog.||) model)),
	PRIMARY KEY (catalog, provider, model),
	FOREIGN KEY (catalog, provider) REFERENCES @extschema@.price_provider ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE @extschema@.price_model IS 'models of a provider, each with the rule that matches the model names calls report';
COMMENT ON COLUMN @extschema@.price_model.catalog IS 'catalog';
COMMENT ON COLUMN @extschema@.price_model.provider IS 'provider id';
COMMENT ON COLUMN @extschema@.price_model.model IS 'catalog model id';
COMMENT ON COLUMN @extschema@.price_model.ordinal IS 'position within the provider: the first model whose rule matches wins';
COMMENT ON COLUMN @extschema@.price_model.name IS 'display name';
COMMENT ON COLUMN @extschema@.price_model.match IS 'match rule: {"equals"|"starts_with"|"ends_with"|"contains": text} (case-insensitive), {"regex": text} (on the lower-cased name), {"or"|"and": [rules]}';
COMMENT ON COLUMN @extschema@.price_model.context_window IS 'largest input in tokens, where published';

CREATE TABLE @extschema@.price (
	price_id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	catalog pg_catalog.text NOT NULL,
	provider pg_catalog.text NOT NULL,
	model pg_catalog.text NOT NULL,
	customer pg_catalog.text,
	in_force_from pg_catalog.timestamptz NOT NULL DEFAULT '-infinity',
	variant pg_catalog.int4 NOT NULL DEFAULT 0 CHECK (variant >= 0),
	start_date pg_catalog.date,
	tod_start pg_catalog.time,
	tod_end pg_catalog.time,
	currency pg_catalog.text NOT NULL DEFAULT 'USD' CHECK (currency OPERATOR(pg_catalog.~) '^[A-Z]{3}$'),
	input_mtok @extschema@.price_mtok,
	cache_read_mtok @extschema@.price_mtok,
	cache_write_mtok @extschema@.price_mtok,
	output_mtok @extschema@.price_mtok,
	reasoning_mtok @extschema@.price_mtok,
	input_audio_mtok @extschema@.price_mtok,
	cache_audio_read_mtok @extschema@.price_mtok,
	output_audio_mtok @extschema@.price_mtok,
	input_image_mtok @extschema@.price_mtok,
	output_image_mtok @extschema@.price_mtok,
	input_video_mtok @extschema@.price_mtok,
	output_video_mtok @extschema@.price_mtok,
	request_fee @extschema@.price_amount,
	source pg_catalog.jsonb,
	CHECK ((tod_start IS NULL) = (tod_end IS NULL)),
	CHECK (tod_start <> tod_end),
	UNIQUE NULLS NOT DISTINCT (catalog, provider, model, customer, in_force_from, variant),
	FOREIGN KEY (catalog, provider, model) REFERENCES @extschema@.price_model ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE @extschema@.price IS
	'effective-dated prices of a model: the set with the latest in_force_from at or before the call applies; within it the highest variant whose constraint holds (else variant 0)';
COMMENT ON COLUMN @extschema@.price.price_id IS 'row id';
COMMENT ON COLUMN @extschema@.price.catalog IS 'catalog';
COMMENT ON COLUMN @extschema@.price.provider IS 'provider id';
COMMENT ON COLUMN @extschema@.price.model IS 'catalog model id';
COMMENT ON COLUMN @extschema@.price.customer IS 'NULL for the list price; a customer or contract name for a negotiated price that customer_cost() uses instead';
COMMENT ON COLUMN @extschema@.price.in_force_from IS 'history: this price set applies to calls at or after this time, until a later set (-infinity: since always)';
COMMENT ON COLUMN @extschema@.price.variant IS 'position in the model''s list of conditional prices; the highest variant whose constraint holds wins';
COMMENT ON COLUMN @extschema@.price.start_date IS 'constraint: applies to calls on or after this date (UTC); NULL: no date constraint';
COMMENT ON COLUMN @extschema@.price.tod_start IS 'constraint: daily window start, UTC time of day, inclusive (off-peak prices); NULL: all day';
COMMENT ON COLUMN @extschema@.price.tod_end IS 'constraint: daily window end, UTC time of day, exclusive; a window may wrap midnight';
COMMENT ON COLUMN @extschema@.price.currency IS 'ISO 4217 currency of every price in the row';
COMMENT ON COLUMN @extschema@.price.input_mtok IS 'per million uncached input tokens (the parent price of every input kind without its own)';
COMMENT ON COLUMN @extschema@.price.cache_read_mtok IS 'per million input tokens read from the cache; missing: input price';
COMMENT ON COLUMN @extschema@.price.cache_write_mtok IS 'per million input tokens written to the cache; missing: input price';
COMMENT ON COLUMN @extschema@.price.output_mtok IS 'per million output tokens (the parent price of every output kind without its own)';
COMMENT ON COLUMN @extschema@.price.reasoning_mtok IS 'per million reasoning tokens; missing: output price';
COMMENT ON COLUMN @extschema@.price.input_audio_mtok IS 'per million uncached audio input tokens; missing: input price';
COMMENT ON COLUMN @extschema@.price.cache_audio_read_mtok IS 'per million audio tokens read from the cache; missing: cache read, then audio input, then input price';
COMMENT ON COLUMN @extschema@.price.output_audio_mtok IS 'per million audio output tokens; missing: output price';
COMMENT ON COLUMN @extschema@.price.input_image_mtok IS 'per million image input tokens; missing: input price (cached image tokens: cache read price first)';
COMMENT ON COLUMN @extschema@.price.output_image_mtok IS 'per million image output tokens; missing: output price';
COMMENT ON COLUMN @extschema@.price.input_video_mtok IS 'per million video input tokens; missing: input price (cached video tokens: cache read price first)';
COMMENT ON COLUMN @extschema@.price.output_video_mtok IS 'per million video output tokens; missing: output price';
COMMENT ON COLUMN @extschema@.price.request_fee IS 'fee per request, in currency units';
COMMENT ON COLUMN @extschema@.price.source IS 'the catalog entry this row was loaded from (a reload compares it to add history only on change)';

CREATE TABLE @extschema@.price_tier (
	price_id pg_catalog.int8 NOT NULL REFERENCES @extschema@.price ON DELETE CASCADE,
	kind pg_catalog.text NOT NULL CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['input', 'cache_read', 'cache_write', 'output',
		'reasoning', 'input_audio', 'cache_audio_read', 'output_audio', 'input_image', 'output_image',
		'input_video', 'output_video']::pg_catalog.text[])),
	threshold pg_catalog.int8 NOT NULL CHECK (threshold >= 0),
	mtok @extschema@.price_mtok NOT NULL,
	PRIMARY KEY (price_id, kind, threshold)
);
COMMENT ON TABLE @extschema@.price_tier IS
	'context tiers: when a request''s input tokens exceed threshold, the tier price replaces the row''s price of that kind for the whole request';
COMMENT ON COLUMN @extschema@.price_tier.price_id IS 'price row';
COMMENT ON COLUMN @extschema@.price_tier.kind IS 'price kind (column of price without _mtok)';
COMMENT ON COLUMN @extschema@.price_tier.threshold IS 'applies when input_tokens > threshold; the highest such tier wins';
COMMENT ON COLUMN @extschema@.price_tier.mtok IS 'price per million tokens of this kind in the tier';

CREATE TABLE @extschema@.price_discount (
	customer pg_catalog.text NOT NULL,
	provider pg_catalog.text,
	model pg_catalog.text,
	valid_from pg_catalog.timestamptz NOT NULL DEFAULT '-infinity',
	valid_until pg_catalog.timestamptz NOT NULL DEFAULT 'infinity',
	multiplier pg_catalog.numeric NOT NULL CHECK (multiplier OPERATOR(pg_catalog.>=) 0::pg_catalog.numeric AND multiplier OPERATOR(pg_catalog.<=) 1000::pg_catalog.numeric
		AND multiplier OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric OPERATOR(pg_catalog.=) pg_catalog.trunc(multiplier OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)),
	CHECK (valid_from < valid_until),
	CHECK (model IS NULL OR provider IS NOT NULL),
	UNIQUE NULLS NOT DISTINCT (customer, provider, model, valid_from)
);
COMMENT ON TABLE @extschema@.price_discount IS
	'negotiated multipliers on catalog cost for a customer or contract; the most specific (model, then provider, then all) in force wins';
COMMENT ON COLUMN @extschema@.price_discount.customer IS 'customer or contract name, as passed to customer_cost()';
COMMENT ON COLUMN @extschema@.price_discount.provider IS 'provider id it applies to; NULL: every provider';
COMMENT ON COLUMN @extschema@.price_discount.model IS 'catalog model id it applies to; NULL: every model of the provider';
COMMENT ON COLUMN @extschema@.price_discount.valid_from IS 'applies to calls at or after';
COMMENT ON COLUMN @extschema@.price_discount.valid_until IS 'applies to calls before';
COMMENT ON COLUMN @extschema@.price_discount.multiplier IS 'cost factor, at most 6 decimals: 0.8 is a 20% discount; the product is rounded half away from zero to the picodollar';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_catalog', 'WHERE catalog NOT IN (''custom'', ''genai-prices'', ''litellm'')');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_provider', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_model', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_tier', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_discount', '');

-- Cache invalidation: any change to a catalog table resets the per-backend
-- cache of every session once the change commits (and this session's at
-- once).
CREATE FUNCTION @extschema@.price_catalog_changed() RETURNS trigger
	LANGUAGE c AS 'MODULE_PATHNAME', 'price_catalog_changed';
COMMENT ON FUNCTION @extschema@.price_catalog_changed() IS
	'trigger: invalidate the per-backend price cache of every session when the catalog changes';

CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price_catalog
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();
CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price_provider
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();
CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price_model
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();
CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();
CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price_tier
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();
CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price_discount
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();

-- ---------------------------------------------------------------------------
-- Pricing functions (C)
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.cost(provider pg_catalog.text, model pg_catalog.text,
	input_tokens pg_catalog.int8, output_tokens pg_catalog.int8,
	cache_read_tokens pg_catalog.int8 DEFAULT 0, cache_write_tokens pg_catalog.int8 DEFAULT 0,
	reasoning_tokens pg_catalog.int8 DEFAULT 0, at pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS pg_catalog.numeric
	LANGUAGE c STABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_cost';
COMMENT ON FUNCTION @extschema@.cost(pg_catalog.text, pg_catalog.text, pg_catalog.int8, pg_catalog.int8,
	pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.timestamptz) IS
	'list price of one call at the prices in force at "at"; input_tokens includes cache reads and writes, output_tokens includes reasoning; NULL when the model is unknown (or model, input, output or at is NULL)';

CREATE FUNCTION @extschema@.cost(provider pg_catalog.text, model pg_catalog.text, usage pg_catalog.jsonb,
	at pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS pg_catalog.numeric
	LANGUAGE c STABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_cost_usage';
COMMENT ON FUNCTION @extschema@.cost(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz) IS
	'list price of one call from a genai-prices usage object (input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, input_audio_tokens, cache_audio_read_tokens, output_audio_tokens, input_image_tokens, ..., output_reasoning_tokens, requests)';

CREATE TYPE @extschema@.cost_breakdown AS (
	input_cost pg_catalog.numeric,
	output_cost pg_catalog.numeric,
	request_cost pg_catalog.numeric,
	total_cost pg_catalog.numeric,
	currency pg_catalog.text,
	catalog pg_catalog.text,
	provider pg_catalog.text,
	model pg_catalog.text,
	price_id pg_catalog.int8
);
COMMENT ON TYPE @extschema@.cost_breakdown IS 'a call''s cost split into input, output and per-request parts, with the price row used';
COMMENT ON COLUMN @extschema@.cost_breakdown.input_cost IS 'cost of all input tokens (uncached, cache reads, cache writes, every modality)';
COMMENT ON COLUMN @extschema@.cost_breakdown.output_cost IS 'cost of all output tokens (text, reasoning, every modality)';
COMMENT ON COLUMN @extschema@.cost_breakdown.request_cost IS 'per-request fees';
COMMENT ON COLUMN @extschema@.cost_breakdown.total_cost IS 'input_cost + output_cost + request_cost';
COMMENT ON COLUMN @extschema@.cost_breakdown.currency IS 'currency of every amount in the row';
COMMENT ON COLUMN @extschema@.cost_breakdown.catalog IS 'catalog the price came from';
COMMENT ON COLUMN @extschema@.cost_breakdown.provider IS 'catalog provider matched';
COMMENT ON COLUMN @extschema@.cost_breakdown.model IS 'catalog model matched';
COMMENT ON COLUMN @extschema@.cost_breakdown.price_id IS 'price row used (see tokacct.price)';

CREATE FUNCTION @extschema@.cost_breakdown(provider pg_catalog.text, model pg_catalog.text,
	input_tokens pg_catalog.int8, output_tokens pg_catalog.int8,
	cache_read_tokens pg_catalog.int8 DEFAULT 0, cache_write_tokens pg_catalog.int8 DEFAULT 0,
	reasoning_tokens pg_catalog.int8 DEFAULT 0, at pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS @extschema@.cost_breakdown
	LANGUAGE c STABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_cost_breakdown';
COMMENT ON FUNCTION @extschema@.cost_breakdown(pg_catalog.text, pg_catalog.text, pg_catalog.int8, pg_catalog.int8,
	pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.timestamptz) IS
	'cost() split into input, output and request parts, with the catalog entry and price row used; NULL when unpriced';

CREATE FUNCTION @extschema@.cost_breakdown(provider pg_catalog.text, model pg_catalog.text, usage pg_catalog.jsonb,
	at pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS @extschema@.cost_breakdown
	LANGUAGE c STABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_cost_breakdown_usage';
COMMENT ON FUNCTION @extschema@.cost_breakdown(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz) IS
	'cost breakdown of a call from a genai-prices usage object';

CREATE FUNCTION @extschema@.customer_cost(customer pg_catalog.text, provider pg_catalog.text, model pg_catalog.text,
	input_tokens pg_catalog.int8, output_tokens pg_catalog.int8,
	cache_read_tokens pg_catalog.int8 DEFAULT 0, cache_write_tokens pg_catalog.int8 DEFAULT 0,
	reasoning_tokens pg_catalog.int8 DEFAULT 0, at pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS pg_catalog.numeric
	LANGUAGE c STABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_customer_cost';
COMMENT ON FUNCTION @extschema@.customer_cost(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.int8,
	pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.timestamptz) IS
	'cost of a call for a customer or contract: its own price rows when it has some for the model, else the list price, times its discount multiplier in force';

CREATE FUNCTION @extschema@.price_model_for(provider pg_catalog.text, model pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE c STABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_model_for';
COMMENT ON FUNCTION @extschema@.price_model_for(pg_catalog.text, pg_catalog.text) IS
	'the catalog entry (catalog/provider/model) a call''s provider and model resolve to; NULL when unknown';

-- ---------------------------------------------------------------------------
-- Reported costs, the call ledger and unpriced models
-- ---------------------------------------------------------------------------

CREATE TYPE @extschema@.sourced_cost AS (
	cost pg_catalog.numeric,
	source pg_catalog.text
);
COMMENT ON TYPE @extschema@.sourced_cost IS 'a cost and where it came from: reported, contract, catalog (NULL cost: unpriced)';
COMMENT ON COLUMN @extschema@.sourced_cost.cost IS 'the cost, NULL when neither reported nor priceable';
COMMENT ON COLUMN @extschema@.sourced_cost.source IS 'reported (the provider''s own figure wins), contract (customer price or discount), catalog (list price), NULL (unpriced)';

CREATE FUNCTION @extschema@.sourced_cost(reported_cost pg_catalog.numeric, customer pg_catalog.text,
	provider pg_catalog.text, model pg_catalog.text,
	input_tokens pg_catalog.int8, output_tokens pg_catalog.int8,
	cache_read_tokens pg_catalog.int8 DEFAULT 0, cache_write_tokens pg_catalog.int8 DEFAULT 0,
	reasoning_tokens pg_catalog.int8 DEFAULT 0, at pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS @extschema@.sourced_cost
	LANGUAGE c STABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_sourced_cost';
COMMENT ON FUNCTION @extschema@.sourced_cost(pg_catalog.numeric, pg_catalog.text, pg_catalog.text, pg_catalog.text,
	pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8, pg_catalog.timestamptz) IS
	'the cost of a call with its source: a reported cost wins (reported); else the customer''s contract price (contract) or the list price (catalog)';

CREATE TABLE @extschema@.price_call (
	call_id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at pg_catalog.timestamptz NOT NULL,
	provider pg_catalog.text,
	model pg_catalog.text NOT NULL,
	input_tokens pg_catalog.int8 NOT NULL CHECK (input_tokens >= 0),
	output_tokens pg_catalog.int8 NOT NULL CHECK (output_tokens >= 0),
	cache_read_tokens pg_catalog.int8 NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0),
	cache_write_tokens pg_catalog.int8 NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
	reasoning_tokens pg_catalog.int8 NOT NULL DEFAULT 0 CHECK (reasoning_tokens >= 0),
	reported_cost pg_catalog.numeric,
	customer pg_catalog.text,
	CHECK (cache_read_tokens + cache_write_tokens <= input_tokens),
	CHECK (reasoning_tokens <= output_tokens)
);
COMMENT ON TABLE @extschema@.price_call IS 'a ledger of calls to price: insert your calls (or a sample) here; price_call_cost prices them, unpriced_models counts the ones no catalog knows';
COMMENT ON COLUMN @extschema@.price_call.call_id IS 'row id';
COMMENT ON COLUMN @extschema@.price_call.at IS 'when the call ran (prices in force then apply)';
COMMENT ON COLUMN @extschema@.price_call.provider IS 'provider as the call reported it (NULL: match by model)';
COMMENT ON COLUMN @extschema@.price_call.model IS 'model as the call reported it';
COMMENT ON COLUMN @extschema@.price_call.input_tokens IS 'all input tokens, cache reads and writes included';
COMMENT ON COLUMN @extschema@.price_call.output_tokens IS 'all output tokens, reasoning included';
COMMENT ON COLUMN @extschema@.price_call.cache_read_tokens IS 'input tokens read from the cache';
COMMENT ON COLUMN @extschema@.price_call.cache_write_tokens IS 'input tokens written to the cache';
COMMENT ON COLUMN @extschema@.price_call.reasoning_tokens IS 'output tokens spent on reasoning';
COMMENT ON COLUMN @extschema@.price_call.reported_cost IS 'cost the provider reported, when it did; wins over the recomputed one';
COMMENT ON COLUMN @extschema@.price_call.customer IS 'customer or contract whose prices and discounts apply';

CREATE VIEW @extschema@.price_call_cost WITH (security_invoker = true) AS
	SELECT c.call_id, c.at, c.provider, c.model, c.customer,
		   (s).cost AS cost, (s).source AS cost_source,
		   @extschema@.cost(c.provider, c.model, c.input_tokens, c.output_tokens, c.cache_read_tokens,
							c.cache_write_tokens, c.reasoning_tokens, c.at) AS list_cost,
		   c.reported_cost
	FROM @extschema@.price_call c,
		 LATERAL (SELECT @extschema@.sourced_cost(c.reported_cost, c.customer, c.provider, c.model, c.input_tokens,
					c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.reasoning_tokens, c.at) AS s) x;
COMMENT ON VIEW @extschema@.price_call_cost IS 'every ledger call with its cost and the source of that cost';
COMMENT ON COLUMN @extschema@.price_call_cost.call_id IS 'ledger row id';
COMMENT ON COLUMN @extschema@.price_call_cost.at IS 'when the call ran';
COMMENT ON COLUMN @extschema@.price_call_cost.provider IS 'provider as reported';
COMMENT ON COLUMN @extschema@.price_call_cost.model IS 'model as reported';
COMMENT ON COLUMN @extschema@.price_call_cost.customer IS 'customer or contract';
COMMENT ON COLUMN @extschema@.price_call_cost.cost IS 'the cost: reported, else contract, else list price; NULL when unpriced';
COMMENT ON COLUMN @extschema@.price_call_cost.cost_source IS 'reported, contract, catalog, or NULL when unpriced';
COMMENT ON COLUMN @extschema@.price_call_cost.list_cost IS 'catalog list price at the time of the call';
COMMENT ON COLUMN @extschema@.price_call_cost.reported_cost IS 'cost the provider reported';

CREATE VIEW @extschema@.unpriced_models WITH (security_invoker = true) AS
	SELECT c.provider, c.model, pg_catalog.count(*) AS calls,
		   pg_catalog.min(c.at) AS first_call, pg_catalog.max(c.at) AS last_call,
		   pg_catalog.sum(c.input_tokens)::pg_catalog.int8 AS input_tokens,
		   pg_catalog.sum(c.output_tokens)::pg_catalog.int8 AS output_tokens
	FROM @extschema@.price_call c
	WHERE c.reported_cost IS NULL
	  AND @extschema@.price_model_for(c.provider, c.model) IS NULL
	GROUP BY c.provider, c.model;
COMMENT ON VIEW @extschema@.unpriced_models IS 'ledger calls (tokacct.price_call) that no catalog can price and that carry no reported cost, counted per provider and model';
COMMENT ON COLUMN @extschema@.unpriced_models.provider IS 'provider as reported';
COMMENT ON COLUMN @extschema@.unpriced_models.model IS 'model as reported';
COMMENT ON COLUMN @extschema@.unpriced_models.calls IS 'number of unpriced calls';
COMMENT ON COLUMN @extschema@.unpriced_models.first_call IS 'earliest such call';
COMMENT ON COLUMN @extschema@.unpriced_models.last_call IS 'latest such call';
COMMENT ON COLUMN @extschema@.unpriced_models.input_tokens IS 'input tokens left unpriced';
COMMENT ON COLUMN @extschema@.unpriced_models.output_tokens IS 'output tokens left unpriced';

CREATE FUNCTION @extschema@.unpriced_models(calls_table pg_catalog.regclass,
	provider_column pg_catalog.name DEFAULT 'provider', model_column pg_catalog.name DEFAULT 'model')
	RETURNS TABLE (provider pg_catalog.text, model pg_catalog.text, calls pg_catalog.int8)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	RETURN QUERY EXECUTE pg_catalog.format(
		'SELECT t.%1$I::pg_catalog.text, t.%2$I::pg_catalog.text, pg_catalog.count(*)
		   FROM %3$s t
		  WHERE @extschema@.price_model_for(t.%1$I::pg_catalog.text, t.%2$I::pg_catalog.text) IS NULL
		  GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2',
		provider_column, model_column, calls_table);
END
$fn$;
COMMENT ON FUNCTION @extschema@.unpriced_models(pg_catalog.regclass, pg_catalog.name, pg_catalog.name) IS
	'count the rows of any calls table whose provider and model no catalog can price';

-- ---------------------------------------------------------------------------
-- Loaders.  Both are all or nothing (any bad entry raises an error naming
-- its key, and the whole load rolls back), idempotent (an unchanged entry
-- writes nothing) and keep history (a changed entry adds a price set in
-- force from in_force_from; the old one still prices earlier calls).
-- ---------------------------------------------------------------------------

-- A price per million tokens from a JSON number; error naming "what" otherwise.
CREATE FUNCTION @extschema@.price_check_mtok(v pg_catalog.jsonb, what pg_catalog.text)
	RETURNS pg_catalog.numeric
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	n numeric;
BEGIN
	IF v IS NULL OR jsonb_typeof(v) <> 'number' THEN
		RAISE EXCEPTION 'malformed price in %', what
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('A price is a JSON number, got %s.', coalesce(v::text, 'nothing'));
	END IF;
	n := (v #>> '{}')::numeric;
	IF n < 0 OR n >= 9223372000000 THEN
		RAISE EXCEPTION 'price out of range in %', what
			USING ERRCODE = 'numeric_value_out_of_range',
				  DETAIL = format('Got %s per million tokens; a price must be non-negative and below 9223372000000.', n);
	END IF;
	-- binary floating point noise (0.18000000000000002) is rounded to the
	-- picodollar per token; the loaders count such prices
	RETURN trim_scale(round(n, 6));
END
$fn$;
COMMENT ON FUNCTION @extschema@.price_check_mtok(pg_catalog.jsonb, pg_catalog.text) IS
	'the price per million tokens a JSON number holds, rounded to 6 decimals (whole picodollars per token), or an error naming "what"';

-- How many prices (JSON numbers under "prices") of a normalised entry have
-- more than 6 decimals and are rounded on load.
CREATE FUNCTION @extschema@.price_count_rounded(variants pg_catalog.jsonb)
	RETURNS pg_catalog.int4
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	RETURN (SELECT pg_catalog.count(*)::pg_catalog.int4
			  FROM pg_catalog.jsonb_path_query(variants, 'lax $[*].prices.*.**') AS q(x)
			 WHERE pg_catalog.jsonb_typeof(q.x) OPERATOR(pg_catalog.=) 'number'
			   AND (q.x OPERATOR(pg_catalog.#>>) '{}')::pg_catalog.numeric
				   OPERATOR(pg_catalog.<>) pg_catalog.round((q.x OPERATOR(pg_catalog.#>>) '{}')::pg_catalog.numeric, 6));
COMMENT ON FUNCTION @extschema@.price_count_rounded(pg_catalog.jsonb) IS
	'loader helper: the number of prices in a normalised entry that have more than 6 decimals';

-- Replace a model's price set when it changed.  variants is an array of
-- {"constraint": {...} | null, "prices": {kind: number | {"base": n, "tiers":
-- [{"start": n, "price": n}]}}, "request_fee": number | null}.  Returns true
-- when a new set was added.
CREATE FUNCTION @extschema@.price_put_model_prices(p_catalog pg_catalog.text, p_provider pg_catalog.text,
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
COMMENT ON FUNCTION @extschema@.price_put_model_prices(pg_catalog.text, pg_catalog.text, pg_catalog.text,
	pg_catalog.jsonb, pg_catalog.timestamptz, pg_catalog.text) IS
	'loader helper: add a model''s normalised price set when it differs from the latest one (history is kept)';

CREATE FUNCTION @extschema@.load_prices_genai(data pg_catalog.jsonb,
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
		IF pid <> lower(pid) THEN
			RAISE EXCEPTION 'malformed provider id in %', pwhat USING ERRCODE = 'invalid_parameter_value',
				DETAIL = 'Provider ids are lower case.';
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
			   OR EXISTS (SELECT FROM jsonb_array_elements(p -> 'fallback_model_providers') e WHERE jsonb_typeof(e) <> 'string') THEN
				RAISE EXCEPTION 'malformed fallback_model_providers in %', pwhat USING ERRCODE = 'invalid_parameter_value',
					DETAIL = 'Expected an array of provider ids.';
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
			IF m ? 'context_window' AND jsonb_typeof(m -> 'context_window') <> 'null'
			   AND (jsonb_typeof(m -> 'context_window') <> 'number' OR (m ->> 'context_window')::numeric < 0
					OR (m ->> 'context_window')::numeric <> trunc((m ->> 'context_window')::numeric)
					OR (m ->> 'context_window')::numeric > 9223372036854775807) THEN
				RAISE EXCEPTION 'malformed context_window in %', mwhat USING ERRCODE = 'invalid_parameter_value';
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
			FOR v IN SELECT value FROM jsonb_array_elements(variants) LOOP
				IF jsonb_typeof(v) <> 'object' OR jsonb_typeof(v -> 'prices') IS DISTINCT FROM 'object'
				   OR EXISTS (SELECT FROM jsonb_object_keys(v) x WHERE x NOT IN ('constraint', 'prices')) THEN
					RAISE EXCEPTION 'malformed conditional price in %', mwhat USING ERRCODE = 'invalid_parameter_value',
						DETAIL = format('Expected {"constraint": {...}, "prices": {...}}, got %s.', v::text);
				END IF;
				pv := '{}';
				fee := NULL;
				FOR k IN SELECT jsonb_object_keys(v -> 'prices') LOOP
					IF k = 'requests_kcount' THEN
						IF jsonb_typeof(v -> 'prices' -> k) <> 'number' THEN
							RAISE EXCEPTION 'malformed price in % requests_kcount', mwhat USING ERRCODE = 'invalid_parameter_value',
								DETAIL = format('A price is a JSON number, got %s.', (v -> 'prices' -> k)::text);
						END IF;
						fee := to_jsonb((v -> 'prices' ->> k)::numeric / 1000);
					ELSIF keymap ? k THEN
						pv := pv || jsonb_build_object(keymap ->> k, v -> 'prices' -> k);
					ELSE
						RAISE EXCEPTION 'unknown price key "%" in %', k, mwhat USING ERRCODE = 'invalid_parameter_value',
							HINT = 'Known keys: input_mtok, cache_read_mtok, cache_write_mtok, output_mtok, input_audio_mtok, cache_audio_read_mtok, output_audio_mtok, requests_kcount.';
					END IF;
				END LOOP;
				norm := norm || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
					'constraint', v -> 'constraint', 'prices', pv, 'request_fee', fee)));
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
COMMENT ON FUNCTION @extschema@.load_prices_genai(pg_catalog.jsonb, pg_catalog.timestamptz) IS
	'load pydantic/genai-prices data.json into catalog genai-prices: all or nothing; unchanged entries write nothing; a changed entry adds a price set in force from in_force_from; prices_rounded counts prices with more than 6 decimals (float noise), rounded to the picodollar per token';

CREATE FUNCTION @extschema@.load_prices_litellm(data pg_catalog.jsonb,
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
		prov := lower(v ->> 'litellm_provider');

		-- base prices: per token in the file, per million tokens here
		base := '{}';
		FOR f, kind IN SELECT x.key, x.value #>> '{}' FROM jsonb_each(fields) x LOOP
			fv := v -> f;
			IF fv IS NULL OR jsonb_typeof(fv) = 'null' THEN
				CONTINUE;
			END IF;
			IF jsonb_typeof(fv) <> 'number' OR (fv #>> '{}')::numeric < 0 THEN
				RAISE EXCEPTION 'malformed price in % %', what, f USING ERRCODE = 'invalid_parameter_value',
					DETAIL = format('A price is a non-negative JSON number, got %s.', fv::text);
			END IF;
			base := base || jsonb_build_object(kind, (fv #>> '{}')::numeric * 1000000);
		END LOOP;
		-- DeepSeek-style cache hits are cache reads
		IF NOT base ? 'cache_read' AND jsonb_typeof(v -> 'input_cost_per_token_cache_hit') = 'number' THEN
			IF (v ->> 'input_cost_per_token_cache_hit')::numeric < 0 THEN
				RAISE EXCEPTION 'malformed price in % input_cost_per_token_cache_hit', what USING ERRCODE = 'invalid_parameter_value';
			END IF;
			base := base || jsonb_build_object('cache_read', (v ->> 'input_cost_per_token_cache_hit')::numeric * 1000000);
		END IF;

		-- context tiers: <field>_above_<N>k_tokens, and tiered_pricing ranges
		tiers := '{}';
		FOR f, fv IN SELECT x.key, x.value FROM jsonb_each(v) x WHERE x.key ~ '_above_\d+k_tokens$' LOOP
			m := regexp_match(f, '^(.*)_above_(\d+)k_tokens$');
			IF NOT fields ? m[1] OR jsonb_typeof(fv) = 'null' THEN
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
		IF v ? 'tiered_pricing' AND jsonb_typeof(v -> 'tiered_pricing') <> 'null' THEN
			IF jsonb_typeof(v -> 'tiered_pricing') <> 'array' THEN
				RAISE EXCEPTION 'malformed tiered_pricing in %', what USING ERRCODE = 'invalid_parameter_value',
					DETAIL = 'Expected an array of {"range": [from, to], "<field>": price, ...}.';
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
		IF jsonb_typeof(v -> 'input_cost_per_request') = 'number' THEN
			fee := to_jsonb(round((v ->> 'input_cost_per_request')::numeric, 12));
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
		stripped := CASE WHEN lower(k) LIKE prov || '/%' THEN substr(k, length(prov) + 2) END;
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
COMMENT ON FUNCTION @extschema@.load_prices_litellm(pg_catalog.jsonb, pg_catalog.timestamptz) IS
	'load LiteLLM model_prices_and_context_window.json into catalog litellm (token and request prices, *_above_Nk_tokens and tiered_pricing context tiers): all or nothing; unchanged entries write nothing; a changed entry adds a price set in force from in_force_from';

-- ---------------------------------------------------------------------------
-- Aggregates: cost per outcome and retry economics (src/agg_outcome.c,
-- src/agg_retry.c).  Each has a concrete state type (storable in rollups,
-- pushed down by Citus), a combine function, and a merge aggregate
-- tokacct.merge(state) over stored states.
-- ---------------------------------------------------------------------------

-- outcome_state ------------------------------------------------------------

CREATE TYPE @extschema@.outcome_state;

CREATE FUNCTION @extschema@.outcome_state_in(pg_catalog.cstring) RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_state_in';
CREATE FUNCTION @extschema@.outcome_state_out(@extschema@.outcome_state) RETURNS pg_catalog.cstring
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_state_out';
CREATE FUNCTION @extschema@.outcome_state_recv(pg_catalog.internal) RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_state_recv';
CREATE FUNCTION @extschema@.outcome_state_send(@extschema@.outcome_state) RETURNS pg_catalog.bytea
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_state_send';

CREATE TYPE @extschema@.outcome_state (
	INPUT = @extschema@.outcome_state_in,
	OUTPUT = @extschema@.outcome_state_out,
	RECEIVE = @extschema@.outcome_state_recv,
	SEND = @extschema@.outcome_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = plain
);
COMMENT ON TYPE @extschema@.outcome_state IS
	'state of tokacct.cost_per_outcome: items, solved, fixed (rows with a human fix cost above 0), exact cost and fix_cost; text form ''items=10 solved=7 fixed=1 cost=12.5 fix_cost=3''';
COMMENT ON FUNCTION @extschema@.outcome_state_in(pg_catalog.cstring) IS 'text input of tokacct.outcome_state (checked field by field)';
COMMENT ON FUNCTION @extschema@.outcome_state_out(@extschema@.outcome_state) IS 'text output of tokacct.outcome_state';
COMMENT ON FUNCTION @extschema@.outcome_state_recv(pg_catalog.internal) IS 'binary input of tokacct.outcome_state (checked field by field)';
COMMENT ON FUNCTION @extschema@.outcome_state_send(@extschema@.outcome_state) IS 'binary output of tokacct.outcome_state';

CREATE FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.numeric, pg_catalog.bool)
	RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_accum';
CREATE FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.numeric, pg_catalog.bool, pg_catalog.numeric)
	RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_accum';
CREATE FUNCTION @extschema@.outcome_combine(@extschema@.outcome_state, @extschema@.outcome_state)
	RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_combine';
COMMENT ON FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.numeric, pg_catalog.bool) IS
	'transition function of tokacct.cost_per_outcome(cost, solved)';
COMMENT ON FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.numeric, pg_catalog.bool, pg_catalog.numeric) IS
	'transition function of tokacct.cost_per_outcome(cost, solved, human_fix_cost)';
COMMENT ON FUNCTION @extschema@.outcome_combine(@extschema@.outcome_state, @extschema@.outcome_state) IS
	'the sum of two tokacct.outcome_state values (combine function of cost_per_outcome and merge)';

CREATE AGGREGATE @extschema@.cost_per_outcome(cost pg_catalog.numeric, solved pg_catalog.bool) (
	SFUNC = @extschema@.outcome_accum,
	STYPE = @extschema@.outcome_state,
	COMBINEFUNC = @extschema@.outcome_combine,
	INITCOND = 'items=0 solved=0 fixed=0 cost=0 fix_cost=0',
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.cost_per_outcome(cost pg_catalog.numeric, solved pg_catalog.bool, human_fix_cost pg_catalog.numeric) (
	SFUNC = @extschema@.outcome_accum,
	STYPE = @extschema@.outcome_state,
	COMBINEFUNC = @extschema@.outcome_combine,
	INITCOND = 'items=0 solved=0 fixed=0 cost=0 fix_cost=0',
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.merge(@extschema@.outcome_state) (
	SFUNC = @extschema@.outcome_combine,
	STYPE = @extschema@.outcome_state,
	COMBINEFUNC = @extschema@.outcome_combine,
	INITCOND = 'items=0 solved=0 fixed=0 cost=0 fix_cost=0',
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.cost_per_outcome(pg_catalog.numeric, pg_catalog.bool) IS
	'cost per outcome over item rows (cost of the item''s attempts, solved); returns a tokacct.outcome_state, read with tokacct.outcome_report(); rows with a NULL are skipped';
COMMENT ON AGGREGATE @extschema@.cost_per_outcome(pg_catalog.numeric, pg_catalog.bool, pg_catalog.numeric) IS
	'cost per outcome over item rows (cost, solved, human fix cost; a NULL fix cost means no fix); returns a tokacct.outcome_state';
COMMENT ON AGGREGATE @extschema@.merge(@extschema@.outcome_state) IS
	'merge stored tokacct.outcome_state values (rollups): the state of all their rows';

CREATE FUNCTION @extschema@.outcome_report(state @extschema@.outcome_state,
	OUT items pg_catalog.int8, OUT solved pg_catalog.int8, OUT solve_rate pg_catalog.float8,
	OUT ai_cost pg_catalog.numeric, OUT cost_per_item pg_catalog.numeric,
	OUT cost_per_solved pg_catalog.numeric, OUT fixed_items pg_catalog.int8,
	OUT human_fix_cost pg_catalog.numeric, OUT total_cost pg_catalog.numeric,
	OUT total_cost_per_solved pg_catalog.numeric)
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_report';
COMMENT ON FUNCTION @extschema@.outcome_report(@extschema@.outcome_state) IS
	'read a cost_per_outcome state: items, solved, solve_rate, ai_cost, cost_per_item = ai_cost/items, cost_per_solved = ai_cost/solved, fixed_items, human_fix_cost, total_cost = ai_cost + human_fix_cost, total_cost_per_solved; quotients are numeric rounded half up to 12 decimals, NULL when dividing by 0';

CREATE FUNCTION @extschema@.cost_per_solved(state @extschema@.outcome_state) RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_cost_per_solved';
COMMENT ON FUNCTION @extschema@.cost_per_solved(@extschema@.outcome_state) IS
	'AI cost per solved item of a cost_per_outcome state (numeric, 12 decimals; NULL when nothing was solved)';

-- retry_state ----------------------------------------------------------------

CREATE TYPE @extschema@.retry_state;

CREATE FUNCTION @extschema@.retry_state_in(pg_catalog.cstring) RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_state_in';
CREATE FUNCTION @extschema@.retry_state_out(@extschema@.retry_state) RETURNS pg_catalog.cstring
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_state_out';
CREATE FUNCTION @extschema@.retry_state_recv(pg_catalog.internal) RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_state_recv';
CREATE FUNCTION @extschema@.retry_state_send(@extschema@.retry_state) RETURNS pg_catalog.bytea
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_state_send';

CREATE TYPE @extschema@.retry_state (
	INPUT = @extschema@.retry_state_in,
	OUTPUT = @extschema@.retry_state_out,
	RECEIVE = @extschema@.retry_state_recv,
	SEND = @extschema@.retry_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = plain
);
COMMENT ON TYPE @extschema@.retry_state IS
	'state of tokacct.retry_economics: per attempt number k (k = 32 holds 32 and beyond) the attempts, successes, exact cost and failed cost; text form ''max_attempt=2 1:10,7,12.5,3.2 2:3,2,4.1,1''';
COMMENT ON FUNCTION @extschema@.retry_state_in(pg_catalog.cstring) IS 'text input of tokacct.retry_state (checked field by field)';
COMMENT ON FUNCTION @extschema@.retry_state_out(@extschema@.retry_state) IS 'text output of tokacct.retry_state';
COMMENT ON FUNCTION @extschema@.retry_state_recv(pg_catalog.internal) IS 'binary input of tokacct.retry_state (checked field by field)';
COMMENT ON FUNCTION @extschema@.retry_state_send(@extschema@.retry_state) IS 'binary output of tokacct.retry_state';

CREATE FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int4, pg_catalog.bool, pg_catalog.numeric)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_accum';
CREATE FUNCTION @extschema@.retry_combine(@extschema@.retry_state, @extschema@.retry_state)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_combine';
CREATE FUNCTION @extschema@.retry_final(@extschema@.retry_state)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_final';
COMMENT ON FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int4, pg_catalog.bool, pg_catalog.numeric) IS
	'transition function of tokacct.retry_economics(attempt, succeeded, cost)';
COMMENT ON FUNCTION @extschema@.retry_combine(@extschema@.retry_state, @extschema@.retry_state) IS
	'the sum of two tokacct.retry_state values (combine function of retry_economics and merge)';
COMMENT ON FUNCTION @extschema@.retry_final(@extschema@.retry_state) IS
	'final function of retry_economics and merge: the state trimmed to its last used attempt number';

CREATE AGGREGATE @extschema@.retry_economics(attempt pg_catalog.int4, succeeded pg_catalog.bool, cost pg_catalog.numeric) (
	SFUNC = @extschema@.retry_accum,
	STYPE = @extschema@.retry_state,
	FINALFUNC = @extschema@.retry_final,
	COMBINEFUNC = @extschema@.retry_combine,
	INITCOND = 'max_attempt=0',
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.merge(@extschema@.retry_state) (
	SFUNC = @extschema@.retry_combine,
	STYPE = @extschema@.retry_state,
	FINALFUNC = @extschema@.retry_final,
	COMBINEFUNC = @extschema@.retry_combine,
	INITCOND = 'max_attempt=0',
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.retry_economics(pg_catalog.int4, pg_catalog.bool, pg_catalog.numeric) IS
	'retry economics over attempt rows (attempt number from 1, succeeded, cost of the attempt); returns a tokacct.retry_state, read with retry_report(), retry_attempts(), retry_projection(); rows with a NULL are skipped';
COMMENT ON AGGREGATE @extschema@.merge(@extschema@.retry_state) IS
	'merge stored tokacct.retry_state values (rollups): the state of all their rows';

CREATE FUNCTION @extschema@.retry_report(state @extschema@.retry_state,
	OUT items pg_catalog.int8, OUT attempts pg_catalog.int8, OUT solved pg_catalog.int8,
	OUT p1 pg_catalog.float8, OUT success_by_attempt pg_catalog.float8[],
	OUT attempts_per_item pg_catalog.float8, OUT solve_rate pg_catalog.float8,
	OUT total_cost pg_catalog.numeric, OUT failed_cost pg_catalog.numeric,
	OUT failed_share pg_catalog.float8, OUT mean_attempt_cost pg_catalog.numeric,
	OUT cost_per_solved pg_catalog.numeric, OUT naive_cost_per_solved pg_catalog.numeric,
	OUT tail_factor pg_catalog.float8, OUT max_attempt pg_catalog.int4)
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_report';
COMMENT ON FUNCTION @extschema@.retry_report(@extschema@.retry_state) IS
	'read a retry_economics state: items (rows with attempt 1), attempts, solved, p1, success_by_attempt[k] = successes/attempts at attempt k, attempts_per_item, solve_rate, total_cost, failed_cost, failed_share, mean_attempt_cost T, cost_per_solved (observed), naive_cost_per_solved = T/p1, tail_factor = observed/naive, max_attempt';

CREATE FUNCTION @extschema@.retry_attempts(state @extschema@.retry_state,
	OUT attempt pg_catalog.int4, OUT and_beyond pg_catalog.bool,
	OUT attempts pg_catalog.int8, OUT successes pg_catalog.int8,
	OUT success_rate pg_catalog.float8, OUT reach pg_catalog.float8,
	OUT cost pg_catalog.numeric, OUT mean_cost pg_catalog.numeric)
	RETURNS SETOF record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 8
	AS 'MODULE_PATHNAME', 'retry_attempts';
COMMENT ON FUNCTION @extschema@.retry_attempts(@extschema@.retry_state) IS
	'one row per attempt number of a retry_economics state: attempts, successes, success_rate (conditional on reaching it), reach = attempts/items, cost, mean_cost; and_beyond marks attempt 32 when it also holds later attempts';

CREATE FUNCTION @extschema@.retry_projection(state @extschema@.retry_state,
	max_attempts pg_catalog.int4, fallback_cost pg_catalog.numeric,
	OUT cost_per_item pg_catalog.numeric, OUT yield pg_catalog.float8,
	OUT cost_per_solved pg_catalog.numeric, OUT fallback_items pg_catalog.int8)
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_projection';
COMMENT ON FUNCTION @extschema@.retry_projection(@extschema@.retry_state, pg_catalog.int4, pg_catalog.numeric) IS
	'the observed attempts with retries capped at max_attempts: cost_per_item = (cost of attempts 1..k + fallback_cost x unsolved) / items, yield = solved within k / items, cost_per_solved = cost of attempts 1..k / solved within k, fallback_items = unsolved';

CREATE FUNCTION @extschema@.cost_per_solved(state @extschema@.retry_state) RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_cost_per_solved';
COMMENT ON FUNCTION @extschema@.cost_per_solved(@extschema@.retry_state) IS
	'observed cost per solved item of a retry_economics state: all attempt spend / solved items (numeric, 12 decimals; NULL when nothing was solved)';

-- ---------------------------------------------------------------------------
-- Context growth per trace and the cost quantile sketch (src/agg_context.c,
-- src/agg_sketch.c).  Both have a concrete state type, a combine function
-- and a merge aggregate over stored states.
-- ---------------------------------------------------------------------------

-- context_state: the calls of one trace (call order, input, output tokens).
CREATE TYPE @extschema@.context_state;

CREATE FUNCTION @extschema@.context_state_in(pg_catalog.cstring) RETURNS @extschema@.context_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_in';
COMMENT ON FUNCTION @extschema@.context_state_in(pg_catalog.cstring) IS
	'text input of context_state: {(seq,input_tokens,output_tokens),...}';

CREATE FUNCTION @extschema@.context_state_out(@extschema@.context_state) RETURNS pg_catalog.cstring
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_out';
COMMENT ON FUNCTION @extschema@.context_state_out(@extschema@.context_state) IS
	'text output of context_state, calls sorted by call order';

CREATE FUNCTION @extschema@.context_state_recv(pg_catalog.internal) RETURNS @extschema@.context_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_recv';
COMMENT ON FUNCTION @extschema@.context_state_recv(pg_catalog.internal) IS
	'binary input of context_state';

CREATE FUNCTION @extschema@.context_state_send(@extschema@.context_state) RETURNS pg_catalog.bytea
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_send';
COMMENT ON FUNCTION @extschema@.context_state_send(@extschema@.context_state) IS
	'binary output of context_state';

CREATE TYPE @extschema@.context_state (
	INPUT = @extschema@.context_state_in,
	OUTPUT = @extschema@.context_state_out,
	RECEIVE = @extschema@.context_state_recv,
	SEND = @extschema@.context_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE @extschema@.context_state IS
	'state of context_growth: the calls of one trace (12 bytes a call); store it, merge it with tokacct.merge';

CREATE FUNCTION @extschema@.context_add(@extschema@.context_state, pg_catalog.int4, pg_catalog.int8, pg_catalog.int8)
	RETURNS @extschema@.context_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_add';
COMMENT ON FUNCTION @extschema@.context_add(@extschema@.context_state, pg_catalog.int4, pg_catalog.int8, pg_catalog.int8) IS
	'transition function of context_growth (aggregate use only)';

CREATE FUNCTION @extschema@.context_combine(@extschema@.context_state, @extschema@.context_state)
	RETURNS @extschema@.context_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_combine';
COMMENT ON FUNCTION @extschema@.context_combine(@extschema@.context_state, @extschema@.context_state) IS
	'combine function of context_growth and merge(context_state) (aggregate use only)';

CREATE FUNCTION @extschema@.context_final(@extschema@.context_state)
	RETURNS @extschema@.context_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_final';
COMMENT ON FUNCTION @extschema@.context_final(@extschema@.context_state) IS
	'final function of context_growth: sorts the calls by call order in place, rejects duplicates (aggregate use only)';

CREATE AGGREGATE @extschema@.context_growth(seq pg_catalog.int4, input_tokens pg_catalog.int8, output_tokens pg_catalog.int8) (
	SFUNC = @extschema@.context_add,
	STYPE = @extschema@.context_state,
	COMBINEFUNC = @extschema@.context_combine,
	FINALFUNC = @extschema@.context_final,
	FINALFUNC_MODIFY = SHAREABLE,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.context_growth(pg_catalog.int4, pg_catalog.int8, pg_catalog.int8) IS
	'context growth of one trace (group by trace): its calls, in any row order; read it with context_report and context_savings';

CREATE AGGREGATE @extschema@.merge(@extschema@.context_state) (
	SFUNC = @extschema@.context_combine,
	STYPE = @extschema@.context_state,
	COMBINEFUNC = @extschema@.context_combine,
	FINALFUNC = @extschema@.context_final,
	FINALFUNC_MODIFY = SHAREABLE,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.merge(@extschema@.context_state) IS
	'merge stored context_growth states of the same trace (each call must appear once)';

CREATE FUNCTION @extschema@.context_report(state @extschema@.context_state,
	OUT calls pg_catalog.int8, OUT total_input pg_catalog.int8, OUT fresh_input pg_catalog.int8,
	OUT carried_input pg_catalog.int8, OUT carried_share pg_catalog.float8,
	OUT growth_exponent pg_catalog.float8)
	RETURNS pg_catalog.record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_report';
COMMENT ON FUNCTION @extschema@.context_report(@extschema@.context_state) IS
	'calls, total input, fresh input, carried history, share carried and growth exponent of a trace';

CREATE FUNCTION @extschema@.context_savings(state @extschema@.context_state, "window" pg_catalog.int8,
	OUT saved_input pg_catalog.int8, OUT saved_share pg_catalog.float8)
	RETURNS pg_catalog.record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_savings';
COMMENT ON FUNCTION @extschema@.context_savings(@extschema@.context_state, pg_catalog.int8) IS
	'input tokens (and share of the input) saved if the history carried into each turn were capped at window tokens';

CREATE FUNCTION @extschema@.context_calls(@extschema@.context_state) RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_calls';
COMMENT ON FUNCTION @extschema@.context_calls(@extschema@.context_state) IS
	'number of calls in a context_growth state';

CREATE FUNCTION @extschema@.context_total_input(@extschema@.context_state) RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_total_input';
COMMENT ON FUNCTION @extschema@.context_total_input(@extschema@.context_state) IS
	'total input tokens of a trace';

CREATE FUNCTION @extschema@.context_fresh_input(@extschema@.context_state) RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_fresh_input';
COMMENT ON FUNCTION @extschema@.context_fresh_input(@extschema@.context_state) IS
	'input tokens of a trace that were new (not re-sent history)';

CREATE FUNCTION @extschema@.context_carried_input(@extschema@.context_state) RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_carried_input';
COMMENT ON FUNCTION @extschema@.context_carried_input(@extschema@.context_state) IS
	'input tokens of a trace re-sent from earlier turns: sum over turns k >= 2 of min(input_k, input_{k-1} + output_{k-1})';

CREATE FUNCTION @extschema@.context_carried_share(@extschema@.context_state) RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_carried_share';
COMMENT ON FUNCTION @extschema@.context_carried_share(@extschema@.context_state) IS
	'carried history / total input (NULL when the trace has no input)';

CREATE FUNCTION @extschema@.context_growth_exponent(@extschema@.context_state) RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_growth_exponent';
COMMENT ON FUNCTION @extschema@.context_growth_exponent(@extschema@.context_state) IS
	'least-squares slope of ln(cumulative input) on ln(turn): 1 linear, 2 quadratic (NULL under two turns with input)';

-- sketch_state: the cost quantile sketch (relative error <= 1%).
CREATE TYPE @extschema@.sketch_state;

CREATE FUNCTION @extschema@.sketch_state_in(pg_catalog.cstring) RETURNS @extschema@.sketch_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_in';
COMMENT ON FUNCTION @extschema@.sketch_state_in(pg_catalog.cstring) IS
	'text input of sketch_state: v=1 count=N zero=Z min=X max=Y pos={key:count,...} neg={key:count,...}';

CREATE FUNCTION @extschema@.sketch_state_out(@extschema@.sketch_state) RETURNS pg_catalog.cstring
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_out';
COMMENT ON FUNCTION @extschema@.sketch_state_out(@extschema@.sketch_state) IS
	'text output of sketch_state';

CREATE FUNCTION @extschema@.sketch_state_recv(pg_catalog.internal) RETURNS @extschema@.sketch_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_recv';
COMMENT ON FUNCTION @extschema@.sketch_state_recv(pg_catalog.internal) IS
	'binary input of sketch_state';

CREATE FUNCTION @extschema@.sketch_state_send(@extschema@.sketch_state) RETURNS pg_catalog.bytea
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_send';
COMMENT ON FUNCTION @extschema@.sketch_state_send(@extschema@.sketch_state) IS
	'binary output of sketch_state';

CREATE TYPE @extschema@.sketch_state (
	INPUT = @extschema@.sketch_state_in,
	OUTPUT = @extschema@.sketch_state_out,
	RECEIVE = @extschema@.sketch_state_recv,
	SEND = @extschema@.sketch_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE @extschema@.sketch_state IS
	'state of cost_sketch: logarithmic buckets (DDSketch-style, 35 buckets per power of two, relative error <= 0.0099); store it, merge it with tokacct.merge';

CREATE FUNCTION @extschema@.sketch_add(@extschema@.sketch_state, pg_catalog.numeric)
	RETURNS @extschema@.sketch_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_add_numeric';
COMMENT ON FUNCTION @extschema@.sketch_add(@extschema@.sketch_state, pg_catalog.numeric) IS
	'transition function of cost_sketch(numeric) (aggregate use only)';

CREATE FUNCTION @extschema@.sketch_add(@extschema@.sketch_state, pg_catalog.float8)
	RETURNS @extschema@.sketch_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_add_float8';
COMMENT ON FUNCTION @extschema@.sketch_add(@extschema@.sketch_state, pg_catalog.float8) IS
	'transition function of cost_sketch(float8) (aggregate use only)';

CREATE FUNCTION @extschema@.sketch_combine(@extschema@.sketch_state, @extschema@.sketch_state)
	RETURNS @extschema@.sketch_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_combine';
COMMENT ON FUNCTION @extschema@.sketch_combine(@extschema@.sketch_state, @extschema@.sketch_state) IS
	'combine function of cost_sketch and merge(sketch_state) (aggregate use only)';

CREATE FUNCTION @extschema@.sketch_final(@extschema@.sketch_state)
	RETURNS @extschema@.sketch_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_final';
COMMENT ON FUNCTION @extschema@.sketch_final(@extschema@.sketch_state) IS
	'final function of cost_sketch: the sketch with unused buckets trimmed';

CREATE AGGREGATE @extschema@.cost_sketch(cost pg_catalog.numeric) (
	SFUNC = @extschema@.sketch_add,
	STYPE = @extschema@.sketch_state,
	COMBINEFUNC = @extschema@.sketch_combine,
	FINALFUNC = @extschema@.sketch_final,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.cost_sketch(pg_catalog.numeric) IS
	'quantile sketch of costs (relative error <= 1%); read it with cost_quantile, cost_quantiles, tail_ratio';

CREATE AGGREGATE @extschema@.cost_sketch(cost pg_catalog.float8) (
	SFUNC = @extschema@.sketch_add,
	STYPE = @extschema@.sketch_state,
	COMBINEFUNC = @extschema@.sketch_combine,
	FINALFUNC = @extschema@.sketch_final,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.cost_sketch(pg_catalog.float8) IS
	'quantile sketch of float8 costs (relative error <= 1%; magnitudes under 1e-12 count as 0, over 1e15 are rejected)';

CREATE AGGREGATE @extschema@.merge(@extschema@.sketch_state) (
	SFUNC = @extschema@.sketch_combine,
	STYPE = @extschema@.sketch_state,
	COMBINEFUNC = @extschema@.sketch_combine,
	FINALFUNC = @extschema@.sketch_final,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.merge(@extschema@.sketch_state) IS
	'merge stored cost sketches into one (exact: bucket counts add)';

CREATE FUNCTION @extschema@.cost_quantile(state @extschema@.sketch_state, q pg_catalog.float8)
	RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_quantile';
COMMENT ON FUNCTION @extschema@.cost_quantile(@extschema@.sketch_state, pg_catalog.float8) IS
	'quantile q (0..1) of the sketched costs, as percentile_cont interpolates, within 1% relative';

CREATE FUNCTION @extschema@.cost_quantiles(state @extschema@.sketch_state, qs pg_catalog.float8[])
	RETURNS pg_catalog.float8[]
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_quantiles';
COMMENT ON FUNCTION @extschema@.cost_quantiles(@extschema@.sketch_state, pg_catalog.float8[]) IS
	'several quantiles of the sketched costs at once, in the order asked';

CREATE FUNCTION @extschema@.tail_ratio(state @extschema@.sketch_state)
	RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_tail_ratio';
COMMENT ON FUNCTION @extschema@.tail_ratio(@extschema@.sketch_state) IS
	'p95 / p50 of the sketched costs (NULL when p50 is 0); within about 2% relative';

CREATE FUNCTION @extschema@.sketch_count(state @extschema@.sketch_state)
	RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_count';
COMMENT ON FUNCTION @extschema@.sketch_count(@extschema@.sketch_state) IS
	'number of costs summarised in a sketch';

-- ---------------------------------------------------------------------------
-- Waste in execution traces
-- ---------------------------------------------------------------------------

CREATE TYPE @extschema@.waste_state;

CREATE FUNCTION @extschema@.waste_state_in(pg_catalog.cstring) RETURNS @extschema@.waste_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_state_in';
CREATE FUNCTION @extschema@.waste_state_out(@extschema@.waste_state) RETURNS pg_catalog.cstring
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_state_out';
CREATE FUNCTION @extschema@.waste_state_recv(pg_catalog.internal) RETURNS @extschema@.waste_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_state_recv';
CREATE FUNCTION @extschema@.waste_state_send(@extschema@.waste_state) RETURNS pg_catalog.bytea
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_state_send';

CREATE TYPE @extschema@.waste_state (
	INPUT = @extschema@.waste_state_in,
	OUTPUT = @extschema@.waste_state_out,
	RECEIVE = @extschema@.waste_state_recv,
	SEND = @extschema@.waste_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE @extschema@.waste_state IS
	'spans of one trace collected by tokacct.waste_agg; classify with waste_summary, waste_classes, waste_spans, waste_span_classes; text form is its binary form in hexadecimal';
COMMENT ON FUNCTION @extschema@.waste_state_in(pg_catalog.cstring) IS 'text input of waste_state (hexadecimal), every field checked';
COMMENT ON FUNCTION @extschema@.waste_state_out(@extschema@.waste_state) IS 'text output of waste_state (hexadecimal)';
COMMENT ON FUNCTION @extschema@.waste_state_recv(pg_catalog.internal) IS 'binary input of waste_state, every field checked';
COMMENT ON FUNCTION @extschema@.waste_state_send(@extschema@.waste_state) IS 'binary output of waste_state';

CREATE FUNCTION @extschema@.waste_accum(@extschema@.waste_state, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz, pg_catalog.int4)
	RETURNS @extschema@.waste_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_accum';
COMMENT ON FUNCTION @extschema@.waste_accum(@extschema@.waste_state, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz, pg_catalog.int4) IS
	'transition function of waste_agg (with attempt numbers)';
CREATE FUNCTION @extschema@.waste_accum(@extschema@.waste_state, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz)
	RETURNS @extschema@.waste_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_accum';
COMMENT ON FUNCTION @extschema@.waste_accum(@extschema@.waste_state, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz) IS
	'transition function of waste_agg (without attempt numbers)';

-- Combining copies whole span lists and leaves the leader to classify every
-- trace alone, so a parallel plan is slower than a serial one (measured at
-- 10M spans, test/results/waste.txt).  The cost tells the planner so: with it
-- the planner keeps waste queries serial unless parallelism is forced.
CREATE FUNCTION @extschema@.waste_combine(@extschema@.waste_state, @extschema@.waste_state)
	RETURNS @extschema@.waste_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE COST 1000
	AS 'MODULE_PATHNAME', 'waste_combine';
COMMENT ON FUNCTION @extschema@.waste_combine(@extschema@.waste_state, @extschema@.waste_state) IS
	'the spans of two partial states of one trace (combine function of waste_agg, transition function of merge)';

CREATE FUNCTION @extschema@.waste_trim(@extschema@.waste_state)
	RETURNS @extschema@.waste_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_trim';
COMMENT ON FUNCTION @extschema@.waste_trim(@extschema@.waste_state) IS
	'final function of waste_agg and merge: the state without spare capacity';

CREATE AGGREGATE @extschema@.waste_agg(span_id pg_catalog.text, parent_id pg_catalog.text,
		kind pg_catalog.text, name pg_catalog.text, args_hash pg_catalog.text,
		status pg_catalog.text, cost pg_catalog.numeric, started_at pg_catalog.timestamptz,
		attempt pg_catalog.int4) (
	SFUNC = @extschema@.waste_accum,
	STYPE = @extschema@.waste_state,
	SSPACE = 16384,
	COMBINEFUNC = @extschema@.waste_combine,
	FINALFUNC = @extschema@.waste_trim,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.waste_agg(pg_catalog.text, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz, pg_catalog.int4) IS
	'the spans of one trace (group by trace): span id, parent id (NULL for a root), kind, name, argument hash, status, cost (NULL counts as 0), start time, attempt number';

CREATE AGGREGATE @extschema@.waste_agg(span_id pg_catalog.text, parent_id pg_catalog.text,
		kind pg_catalog.text, name pg_catalog.text, args_hash pg_catalog.text,
		status pg_catalog.text, cost pg_catalog.numeric, started_at pg_catalog.timestamptz) (
	SFUNC = @extschema@.waste_accum,
	STYPE = @extschema@.waste_state,
	SSPACE = 16384,
	COMBINEFUNC = @extschema@.waste_combine,
	FINALFUNC = @extschema@.waste_trim,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.waste_agg(pg_catalog.text, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz) IS
	'the spans of one trace (group by trace), without attempt numbers: retries are then ordered by start time';

CREATE AGGREGATE @extschema@.merge(@extschema@.waste_state) (
	SFUNC = @extschema@.waste_combine,
	STYPE = @extschema@.waste_state,
	SSPACE = 16384,
	COMBINEFUNC = @extschema@.waste_combine,
	FINALFUNC = @extschema@.waste_trim,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.merge(@extschema@.waste_state) IS
	'merge stored waste_state values of the same trace (partial span lists) into one';

CREATE FUNCTION @extschema@.waste_summary(state @extschema@.waste_state,
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
	AS 'MODULE_PATHNAME', 'waste_summary';
COMMENT ON FUNCTION @extschema@.waste_summary(@extschema@.waste_state, pg_catalog.text, pg_catalog.int4) IS
	'a trace''s cost split into essential and the five waste classes (they add up to total exactly), under cost_rule leaf|self|rollup and stuck loops of loop_min identical steps';

CREATE FUNCTION @extschema@.waste_classes(state @extschema@.waste_state,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3)
	RETURNS TABLE (class pg_catalog.text, precedence pg_catalog.int4,
		spans pg_catalog.int8, cost pg_catalog.numeric)
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 6
	AS 'MODULE_PATHNAME', 'waste_classes';
COMMENT ON FUNCTION @extschema@.waste_classes(@extschema@.waste_state, pg_catalog.text, pg_catalog.int4) IS
	'one row per class in precedence order (a span takes the first class that applies): spans and cost';

CREATE FUNCTION @extschema@.waste_spans(state @extschema@.waste_state,
		lim pg_catalog.int4 DEFAULT 10,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3)
	RETURNS TABLE (span_id pg_catalog.text, parent_id pg_catalog.text, kind pg_catalog.text,
		name pg_catalog.text, status pg_catalog.text, class pg_catalog.text,
		cause_span pg_catalog.text, reported_cost pg_catalog.numeric,
		cost pg_catalog.numeric, started_at pg_catalog.timestamptz)
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 10
	AS 'MODULE_PATHNAME', 'waste_spans';
COMMENT ON FUNCTION @extschema@.waste_spans(@extschema@.waste_state, pg_catalog.int4, pg_catalog.text, pg_catalog.int4) IS
	'the lim most expensive wasteful spans of a trace (own cost descending), with their class and the span that caused it';

CREATE FUNCTION @extschema@.waste_span_classes(state @extschema@.waste_state,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3)
	RETURNS TABLE (span_id pg_catalog.text, parent_id pg_catalog.text, kind pg_catalog.text,
		name pg_catalog.text, status pg_catalog.text, class pg_catalog.text,
		cause_span pg_catalog.text, reported_cost pg_catalog.numeric,
		cost pg_catalog.numeric, started_at pg_catalog.timestamptz)
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 100
	AS 'MODULE_PATHNAME', 'waste_span_classes';
COMMENT ON FUNCTION @extschema@.waste_span_classes(@extschema@.waste_state, pg_catalog.text, pg_catalog.int4) IS
	'every span of a trace by start time, with its status, class, the span that caused the class, its reported and its own cost';

CREATE FUNCTION @extschema@.waste_by_trace(source pg_catalog.regclass,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3)
	RETURNS TABLE (workflow pg_catalog.text, trace_id pg_catalog.text, cost_rule pg_catalog.text,
		spans pg_catalog.int8, total pg_catalog.numeric, essential pg_catalog.numeric,
		error_call pg_catalog.numeric, failed_attempt pg_catalog.numeric,
		abandoned_branch pg_catalog.numeric, stuck_loop pg_catalog.numeric,
		duplicate_tool_call pg_catalog.numeric, waste pg_catalog.numeric)
	LANGUAGE plpgsql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	attempt_col pg_catalog.text := '';
BEGIN
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
				WHERE a.attrelid = source AND a.attname = 'attempt'
				  AND a.attnum > 0 AND NOT a.attisdropped) THEN
		attempt_col := ', t.attempt::pg_catalog.int4';
	END IF;
	RETURN QUERY EXECUTE pg_catalog.format(
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
		  CROSS JOIN LATERAL @extschema@.waste_summary(q.st, $1, $2) s
		  ORDER BY 1, 2', attempt_col, source)
	USING rule, loop_min;
END
$fn$;
COMMENT ON FUNCTION @extschema@.waste_by_trace(pg_catalog.regclass, pg_catalog.text, pg_catalog.int4) IS
	'waste per trace of a span table or view with columns workflow, trace_id, span_id, parent_id, kind, name, args_hash, status, cost, started_at and optionally attempt';

CREATE FUNCTION @extschema@.waste_by_workflow(source pg_catalog.regclass,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3)
	RETURNS TABLE (workflow pg_catalog.text, cost_rule pg_catalog.text, traces pg_catalog.int8,
		spans pg_catalog.numeric, total pg_catalog.numeric, essential pg_catalog.numeric,
		error_call pg_catalog.numeric, failed_attempt pg_catalog.numeric,
		abandoned_branch pg_catalog.numeric, stuck_loop pg_catalog.numeric,
		duplicate_tool_call pg_catalog.numeric, waste pg_catalog.numeric,
		waste_share pg_catalog.numeric)
	LANGUAGE sql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
AS $fn$
	SELECT b.workflow, pg_catalog.min(b.cost_rule), pg_catalog.count(*),
		   pg_catalog.sum(b.spans), pg_catalog.sum(b.total), pg_catalog.sum(b.essential),
		   pg_catalog.sum(b.error_call), pg_catalog.sum(b.failed_attempt),
		   pg_catalog.sum(b.abandoned_branch), pg_catalog.sum(b.stuck_loop),
		   pg_catalog.sum(b.duplicate_tool_call), pg_catalog.sum(b.waste),
		   pg_catalog.round(pg_catalog.sum(b.waste) / NULLIF(pg_catalog.sum(b.total), 0), 4)
	  FROM @extschema@.waste_by_trace(source, rule, loop_min) b
	 GROUP BY b.workflow
	 ORDER BY b.workflow
$fn$;
COMMENT ON FUNCTION @extschema@.waste_by_workflow(pg_catalog.regclass, pg_catalog.text, pg_catalog.int4) IS
	'waste per workflow: the per-trace results of waste_by_trace summed exactly, with the waste share of the total (4 decimals)';

-- ---------------------------------------------------------------------------
-- Marginal token utility (src/frontier*.c) and budget allocation
-- (src/allocate.c).
-- ---------------------------------------------------------------------------

-- frontier_state -------------------------------------------------------------

CREATE TYPE @extschema@.frontier_state;

CREATE FUNCTION @extschema@.frontier_state_in(pg_catalog.cstring) RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_in';
CREATE FUNCTION @extschema@.frontier_state_out(@extschema@.frontier_state) RETURNS pg_catalog.cstring
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_out';
CREATE FUNCTION @extschema@.frontier_state_recv(pg_catalog.internal) RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_recv';
CREATE FUNCTION @extschema@.frontier_state_send(@extschema@.frontier_state) RETURNS pg_catalog.bytea
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_send';

CREATE TYPE @extschema@.frontier_state (
	INPUT = @extschema@.frontier_state_in,
	OUTPUT = @extschema@.frontier_state_out,
	RECEIVE = @extschema@.frontier_state_recv,
	SEND = @extschema@.frontier_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE @extschema@.frontier_state IS
	'state of tokacct.utility_frontier: per option the items and the exact sums of their cost and value; text form {("option",items,cost_sum,value_sum),...} sorted by option';
COMMENT ON FUNCTION @extschema@.frontier_state_in(pg_catalog.cstring) IS 'text input of tokacct.frontier_state (checked option by option)';
COMMENT ON FUNCTION @extschema@.frontier_state_out(@extschema@.frontier_state) IS 'text output of tokacct.frontier_state';
COMMENT ON FUNCTION @extschema@.frontier_state_recv(pg_catalog.internal) IS 'binary input of tokacct.frontier_state (checked option by option)';
COMMENT ON FUNCTION @extschema@.frontier_state_send(@extschema@.frontier_state) IS 'binary output of tokacct.frontier_state';

CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.numeric)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_trans';
CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.numeric, pg_catalog.int8)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_trans_weighted';
CREATE FUNCTION @extschema@.frontier_combine(@extschema@.frontier_state, @extschema@.frontier_state)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_combine';
CREATE FUNCTION @extschema@.frontier_final(@extschema@.frontier_state)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_final';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.numeric) IS
	'transition function of tokacct.utility_frontier(option, cost, value)';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.numeric, pg_catalog.int8) IS
	'transition function of tokacct.utility_frontier(option, cost, value, items)';
COMMENT ON FUNCTION @extschema@.frontier_combine(@extschema@.frontier_state, @extschema@.frontier_state) IS
	'the union of two tokacct.frontier_state values, summing options present in both (combine function of utility_frontier and merge)';
COMMENT ON FUNCTION @extschema@.frontier_final(@extschema@.frontier_state) IS
	'compact copy of a tokacct.frontier_state, options sorted by name (final function of utility_frontier and merge)';

CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.numeric, value pg_catalog.numeric) (
	SFUNC = @extschema@.frontier_accum,
	STYPE = @extschema@.frontier_state,
	FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.numeric, value pg_catalog.numeric, items pg_catalog.int8) (
	SFUNC = @extschema@.frontier_accum,
	STYPE = @extschema@.frontier_state,
	FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.merge(@extschema@.frontier_state) (
	SFUNC = @extschema@.frontier_combine,
	STYPE = @extschema@.frontier_state,
	FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.numeric, pg_catalog.numeric) IS
	'utility frontier over item rows (option, cost of the item, value of the item, cost >= 0); returns a tokacct.frontier_state, read with tokacct.frontier_options(); rows with a NULL are skipped, no rows give NULL';
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.numeric, pg_catalog.numeric, pg_catalog.int8) IS
	'utility frontier over option rows (option, mean cost per item, mean value per item, items > 0): each row counts as that many items; returns a tokacct.frontier_state';
COMMENT ON AGGREGATE @extschema@.merge(@extschema@.frontier_state) IS
	'merge stored tokacct.frontier_state values (rollups): the state of all their rows';

CREATE FUNCTION @extschema@.frontier_options(state @extschema@.frontier_state,
	OUT option pg_catalog.text, OUT items pg_catalog.int8,
	OUT mean_cost pg_catalog.numeric, OUT mean_value pg_catalog.numeric,
	OUT on_frontier pg_catalog.bool, OUT frontier_rank pg_catalog.int4,
	OUT marginal_utility pg_catalog.float8, OUT dominated_by pg_catalog.text[])
	RETURNS SETOF pg_catalog.record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_options';
COMMENT ON FUNCTION @extschema@.frontier_options(@extschema@.frontier_state) IS
	'one row per option, cheapest first: items, mean_cost and mean_value per item (numeric rounded half away from zero to 12 decimals; the frontier is computed exactly on these), on_frontier (upper concave hull from the cheapest option up to the cheapest of highest value; collinear points are on it), frontier_rank (1 = cheapest), marginal_utility = (value - previous frontier value) / (cost - previous frontier cost), dominated_by = the option, or the pair of neighbouring frontier options, that beats an option off the frontier; of identical options the first by name is on the frontier';

-- allocation -----------------------------------------------------------------

CREATE TYPE @extschema@.allocation_option AS (
	workflow pg_catalog.text,
	option pg_catalog.text,
	cost_per_item pg_catalog.numeric,
	value_per_item pg_catalog.numeric,
	items pg_catalog.int8,
	is_current pg_catalog.bool
);
COMMENT ON TYPE @extschema@.allocation_option IS
	'one option of one workflow for tokacct.allocate(): its mean cost and value per item, the workflow''s volume of items (the same on each of its options) and whether the workflow runs this option today';
COMMENT ON COLUMN @extschema@.allocation_option.workflow IS 'the kind of work, e.g. claims_triage';
COMMENT ON COLUMN @extschema@.allocation_option.option IS 'a way to run it: a model, a model with settings, ''human'' or ''BPO''';
COMMENT ON COLUMN @extschema@.allocation_option.cost_per_item IS 'mean cost per item (>= 0, at most 12 decimals), retries and human fallback included';
COMMENT ON COLUMN @extschema@.allocation_option.value_per_item IS 'mean value per item (may be negative): value of solved items minus human fix cost';
COMMENT ON COLUMN @extschema@.allocation_option.items IS 'the workflow''s volume of items in the budget period (> 0)';
COMMENT ON COLUMN @extschema@.allocation_option.is_current IS 'true for the option the workflow runs today (at most one per workflow; NULL means false)';

CREATE FUNCTION @extschema@.allocate(budget pg_catalog.numeric, options @extschema@.allocation_option[],
	OUT workflow pg_catalog.text, OUT option pg_catalog.text, OUT items pg_catalog.numeric,
	OUT share pg_catalog.float8, OUT spend pg_catalog.numeric, OUT value pg_catalog.numeric)
	RETURNS SETOF pg_catalog.record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'allocate_plan';
COMMENT ON FUNCTION @extschema@.allocate(pg_catalog.numeric, @extschema@.allocation_option[]) IS
	'the plan that maximises total value with total spend <= budget (the LP optimum): one row per workflow and option used, with items, share, spend and value; at most one workflow is split between two neighbouring frontier options, its items and value rounded to 12 decimals; errors when the budget is below the cheapest plan';

CREATE FUNCTION @extschema@.allocation_summary(budget pg_catalog.numeric, options @extschema@.allocation_option[],
	OUT feasible pg_catalog.bool, OUT spend pg_catalog.numeric,
	OUT value pg_catalog.numeric, OUT shadow_price pg_catalog.float8,
	OUT min_budget pg_catalog.numeric, OUT full_budget pg_catalog.numeric,
	OUT split_workflow pg_catalog.text)
	RETURNS pg_catalog.record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'allocate_summary';
COMMENT ON FUNCTION @extschema@.allocation_summary(pg_catalog.numeric, @extschema@.allocation_option[]) IS
	'the optimal plan in one row: feasible (budget >= min_budget), spend, value, shadow_price (value bought by the next dollar; 0 once every workflow runs its highest-value option), min_budget (every workflow on its cheapest option), full_budget (every workflow on its highest-value option: more buys nothing), split_workflow; spend, value and shadow_price are NULL when infeasible';

CREATE FUNCTION @extschema@.allocation_decisions(budget pg_catalog.numeric, options @extschema@.allocation_option[],
	OUT workflow pg_catalog.text, OUT decision pg_catalog.text,
	OUT spend_change pg_catalog.numeric, OUT value_change pg_catalog.numeric)
	RETURNS SETOF pg_catalog.record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'allocate_decisions';
COMMENT ON FUNCTION @extschema@.allocation_decisions(pg_catalog.numeric, @extschema@.allocation_option[]) IS
	'the optimal plan as one decision per workflow in business words (keep, switch, move a share, split), with the change in spend and value against the current option (NULL when the workflow has no current option); money in the words is rounded to cents';

-- ---------------------------------------------------------------------------
-- Access
--
-- Everyone may use tokacct's types and functions: the schema is usable by
-- PUBLIC.  Its tables (price catalog, contract discounts, call ledger) stay
-- private to their owner until granted: grant_reader() lets a role read
-- them and the views (what cost() and the reports need), grant_admin() also
-- lets it change the catalogs (loaders, custom prices, discounts).  Roles
-- are cluster-wide, so the extension creates none; create them yourself.
-- No function here is SECURITY DEFINER: the caller must hold the grant
-- options (the extension's owner or a superuser does).  They are procedures:
-- CALL tokacct.grant_reader('analyst').
-- ---------------------------------------------------------------------------

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

CREATE PROCEDURE @extschema@.grant_reader(role pg_catalog.regrole)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
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
END
$fn$;
COMMENT ON PROCEDURE @extschema@.grant_reader(pg_catalog.regrole) IS
	'let a role read tokacct''s catalogs, ledger and views (for analysts and BI tools)';

CREATE PROCEDURE @extschema@.grant_admin(role pg_catalog.regrole)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	CALL @extschema@.grant_reader(role);
	EXECUTE pg_catalog.format('GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %s',
							  '@extschema@', role);
	EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %s',
							  '@extschema@', role);
END
$fn$;
COMMENT ON PROCEDURE @extschema@.grant_admin(pg_catalog.regrole) IS
	'let a role read and change tokacct''s catalogs, discounts and ledger (load prices, set contract rates)';
