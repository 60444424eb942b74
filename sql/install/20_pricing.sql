-- ---------------------------------------------------------------------------
-- Pricing: an effective-dated price catalog, its loaders and cost().
--
-- The catalog is a set of plain tables.  cost() (C, src/price_cost.c) reads
-- them once per backend into a cache (src/price_catalog.c) and prices every
-- later row from memory; triggers on each catalog table invalidate that
-- cache in every session when a change commits.  cost() prices with the
-- catalog its statement's snapshot sees, as a query on these tables would.
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

-- Whether a pattern may be a match rule's regex: it compiles, has no
-- back-references or lookaround constraints and is small enough that
-- matching a name stays one short pass (see src/price_match.c).
CREATE FUNCTION @extschema@.price_check_regex(pattern pg_catalog.text)
	RETURNS pg_catalog.bool
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_check_regex';
COMMENT ON FUNCTION @extschema@.price_check_regex(pg_catalog.text) IS
	'true when a pattern is allowed as a match rule''s regex (it compiles, at most 1000 characters and 1000 automaton states, no back-references or lookahead/lookbehind); otherwise an error saying why';

-- Check a match rule; raise an error naming "what" when it is malformed.
-- The grammar is the matcher's own (src/price_match.c): a rule the catalog
-- tables and the loaders accept is a rule cost() compiles.
CREATE FUNCTION @extschema@.price_check_match(rule pg_catalog.jsonb, what pg_catalog.text)
	RETURNS pg_catalog.bool
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_check_match';
COMMENT ON FUNCTION @extschema@.price_check_match(pg_catalog.jsonb, pg_catalog.text) IS
	'true for a well-formed match rule; otherwise an error naming "what"';

-- The one case-folding rule for provider and model names, shared with the
-- matcher in C: ASCII A-Z become a-z, every other character is kept (so
-- non-ASCII letters compare exactly), whatever the database's locale.
CREATE FUNCTION @extschema@.fold_name(name pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_fold_name';
COMMENT ON FUNCTION @extschema@.fold_name(pg_catalog.text) IS
	'a provider or model name as the price catalog compares it: ASCII letters A-Z lower-cased, every other character kept as is (É, Ä, the Turkish İ and ı compare exactly); independent of the locale';

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
	provider pg_catalog.text NOT NULL CHECK (provider OPERATOR(pg_catalog.=) @extschema@.fold_name(provider)),
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
COMMENT ON COLUMN @extschema@.price_provider.provider IS 'provider id, without ASCII capitals (openai, anthropic, aws...): a call''s provider name is folded by fold_name() and compared exactly';
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
COMMENT ON COLUMN @extschema@.price_model.match IS 'match rule: {"equals"|"starts_with"|"ends_with"|"contains": text} (both sides folded by fold_name(): ASCII case-insensitive), {"regex": text} (on the folded name), {"or"|"and": [rules]}';
COMMENT ON COLUMN @extschema@.price_model.context_window IS 'largest input in tokens, where published';

-- The price kinds, the per-token prices a price row can hold, have one
-- definition, in C (PRICE_KINDS in src/price.h): price_kinds() gives them
-- in order, and the price table has one <kind>_mtok column per kind, made
-- from that list.
CREATE FUNCTION @extschema@.price_kinds()
	RETURNS pg_catalog.text[]
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_kinds';
COMMENT ON FUNCTION @extschema@.price_kinds() IS
	'the price kinds (input, cache_read, ...), in the order of the price table''s <kind>_mtok columns: the kinds price_tier and the loaders accept';

DO $do$
BEGIN
	EXECUTE pg_catalog.format($table$CREATE TABLE @extschema@.price (
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
%s,
	request_fee @extschema@.price_amount,
	web_search_fee @extschema@.price_amount,
	source pg_catalog.jsonb,
	CHECK ((tod_start IS NULL) = (tod_end IS NULL)),
	CHECK (tod_start <> tod_end),
	UNIQUE NULLS NOT DISTINCT (catalog, provider, model, customer, in_force_from, variant),
	FOREIGN KEY (catalog, provider, model) REFERENCES @extschema@.price_model ON UPDATE CASCADE ON DELETE CASCADE
);$table$,
		(SELECT pg_catalog.string_agg(pg_catalog.format('	%I @extschema@.price_mtok', k OPERATOR(pg_catalog.||) '_mtok'),
									  E',\n' ORDER BY n)
		   FROM pg_catalog.unnest(@extschema@.price_kinds()) WITH ORDINALITY AS u(k, n)));
END
$do$;
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
COMMENT ON COLUMN @extschema@.price.cache_write_mtok IS 'per million input tokens written to the cache (Anthropic''s five-minute cache writes; one-hour writes too when cache_write_1h_mtok is missing); missing: input price';
COMMENT ON COLUMN @extschema@.price.output_mtok IS 'per million output tokens (the parent price of every output kind without its own)';
COMMENT ON COLUMN @extschema@.price.reasoning_mtok IS 'per million reasoning tokens; missing: output price';
COMMENT ON COLUMN @extschema@.price.input_audio_mtok IS 'per million uncached audio input tokens; missing: input price';
COMMENT ON COLUMN @extschema@.price.cache_audio_read_mtok IS 'per million audio tokens read from the cache; missing: cache read, then audio input, then input price';
COMMENT ON COLUMN @extschema@.price.output_audio_mtok IS 'per million audio output tokens; missing: output price';
COMMENT ON COLUMN @extschema@.price.input_image_mtok IS 'per million image input tokens; missing: input price (cached image tokens: cache read price first)';
COMMENT ON COLUMN @extschema@.price.output_image_mtok IS 'per million image output tokens; missing: output price';
COMMENT ON COLUMN @extschema@.price.input_video_mtok IS 'per million video input tokens; missing: input price (cached video tokens: cache read price first)';
COMMENT ON COLUMN @extschema@.price.output_video_mtok IS 'per million video output tokens; missing: output price';
COMMENT ON COLUMN @extschema@.price.cache_write_1h_mtok IS 'per million input tokens written to the cache for one hour (Anthropic: 2x input, against 1.25x for five minutes); missing: cache write price, then input price';
COMMENT ON COLUMN @extschema@.price.cache_image_read_mtok IS 'per million image tokens read from the cache; missing: cache read, then image input, then input price';
COMMENT ON COLUMN @extschema@.price.output_citation_mtok IS 'per million citation output tokens; missing: output price';
COMMENT ON COLUMN @extschema@.price.request_fee IS 'fee per request, in currency units';
COMMENT ON COLUMN @extschema@.price.web_search_fee IS 'fee per web search the call made (usage key web_searches), in currency units; counted with the request fees';
COMMENT ON COLUMN @extschema@.price.source IS 'the catalog entry this row was loaded from (a reload compares it to add history only on change)';

CREATE TABLE @extschema@.price_tier (
	price_id pg_catalog.int8 NOT NULL REFERENCES @extschema@.price ON DELETE CASCADE,
	kind pg_catalog.text NOT NULL CHECK (kind OPERATOR(pg_catalog.=) ANY (@extschema@.price_kinds())),
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
	CONSTRAINT price_discount_provider_folded CHECK (provider OPERATOR(pg_catalog.=) @extschema@.fold_name(provider)),
	UNIQUE NULLS NOT DISTINCT (customer, provider, model, valid_from)
);
COMMENT ON TABLE @extschema@.price_discount IS
	'negotiated multipliers on catalog cost for a customer or contract; the most specific (model, then provider, then all) in force wins';
COMMENT ON COLUMN @extschema@.price_discount.customer IS 'customer or contract name, as passed to customer_cost()';
COMMENT ON COLUMN @extschema@.price_discount.provider IS 'provider id it applies to, as in price_provider (no ASCII capitals); NULL: every provider';
COMMENT ON COLUMN @extschema@.price_discount.model IS 'catalog model id it applies to; NULL: every model of the provider';
COMMENT ON COLUMN @extschema@.price_discount.valid_from IS 'applies to calls at or after';
COMMENT ON COLUMN @extschema@.price_discount.valid_until IS 'applies to calls before';
COMMENT ON COLUMN @extschema@.price_discount.multiplier IS 'cost factor, at most 6 decimals: 0.8 is a 20% discount; the product is rounded half away from zero to the picodollar';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_catalog', 'WHERE catalog NOT IN (''custom'', ''genai-prices'', ''litellm'')');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_provider', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_model', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price', '');
-- An identity column's sequence is dumped with its table, so that rows added
-- after a restore do not reuse the restored rows' ids.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_price_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_tier', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_discount', '');

-- Cache invalidation: any change to a catalog table resets the per-backend
-- cache of every session once the change commits (and this session's at
-- once).  The statement triggers fire ALWAYS, so that changes made with
-- session_replication_role = replica invalidate too; a logical replication
-- apply worker fires row triggers only, so each table also has a row
-- trigger that fires in replica mode.  cost() checks these states when it
-- reads the catalog, and reads it per statement (with a warning) when a
-- trigger is disabled or fires on origin only.
CREATE FUNCTION @extschema@.price_catalog_changed() RETURNS trigger
	LANGUAGE c AS 'MODULE_PATHNAME', 'price_catalog_changed';
COMMENT ON FUNCTION @extschema@.price_catalog_changed() IS
	'trigger: invalidate the per-backend price cache of every session when the catalog changes';

CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price_catalog
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();
CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.price_catalog
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.price_catalog ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;
CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price_provider
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();
CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.price_provider
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.price_provider ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;
CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price_model
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();
CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.price_model
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.price_model ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;
CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();
CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.price
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.price ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;
CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price_tier
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();
CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.price_tier
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.price_tier ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;
CREATE TRIGGER price_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price_discount
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.price_catalog_changed();
CREATE TRIGGER price_catalog_changed_row AFTER INSERT OR UPDATE OR DELETE ON @extschema@.price_discount
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_catalog_changed();
ALTER TABLE @extschema@.price_discount ENABLE ALWAYS TRIGGER price_catalog_changed,
	ENABLE REPLICA TRIGGER price_catalog_changed_row;

-- ---------------------------------------------------------------------------
-- Pricing functions (C)
-- ---------------------------------------------------------------------------

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

CREATE FUNCTION @extschema@.cost(provider pg_catalog.text, model pg_catalog.text, usage pg_catalog.jsonb,
	at pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS pg_catalog.numeric
	LANGUAGE c STABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'price_cost_usage';
COMMENT ON FUNCTION @extschema@.cost(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz) IS
	'list price of one call from a genai-prices usage object (input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, input_audio_tokens, cache_audio_read_tokens, output_audio_tokens, input_image_tokens, ..., output_reasoning_tokens, output_citation_tokens, requests, web_searches)';

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
COMMENT ON COLUMN @extschema@.cost_breakdown.request_cost IS 'per-request fees and per-search fees (web searches)';
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
	'the cost of a call with its source: a reported cost wins (reported; rounded half away from zero to the picodollar); else the customer''s contract price (contract) or the list price (catalog)';

-- Each row must be priceable: its constraints are the checks cost() and
-- sourced_cost() make of their arguments, so that one row cannot stop
-- price_call_cost for every reader (rows older than a constraint, which
-- were added NOT VALID on upgrade, are priced by ledger_cost() with the
-- reason in its problem column instead).  A reported cost with more than
-- 12 decimals is accepted: it is rounded to the picodollar when read.
CREATE TABLE @extschema@.price_call (
	call_id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at pg_catalog.timestamptz NOT NULL,
	provider pg_catalog.text,
	model pg_catalog.text NOT NULL,
	input_tokens pg_catalog.int8 NOT NULL,
	output_tokens pg_catalog.int8 NOT NULL,
	cache_read_tokens pg_catalog.int8 NOT NULL DEFAULT 0,
	cache_write_tokens pg_catalog.int8 NOT NULL DEFAULT 0,
	reasoning_tokens pg_catalog.int8 NOT NULL DEFAULT 0,
	reported_cost pg_catalog.numeric,
	customer pg_catalog.text,
	CONSTRAINT price_call_at_finite CHECK (pg_catalog.isfinite(at)),
	CONSTRAINT price_call_input_tokens_nonnegative CHECK (input_tokens OPERATOR(pg_catalog.>=) 0),
	CONSTRAINT price_call_output_tokens_nonnegative CHECK (output_tokens OPERATOR(pg_catalog.>=) 0),
	CONSTRAINT price_call_cache_read_tokens_nonnegative CHECK (cache_read_tokens OPERATOR(pg_catalog.>=) 0),
	CONSTRAINT price_call_cache_write_tokens_nonnegative CHECK (cache_write_tokens OPERATOR(pg_catalog.>=) 0),
	CONSTRAINT price_call_reasoning_tokens_nonnegative CHECK (reasoning_tokens OPERATOR(pg_catalog.>=) 0),
	CONSTRAINT price_call_uncached_input_nonnegative CHECK (cache_read_tokens::pg_catalog.numeric
		OPERATOR(pg_catalog.+) cache_write_tokens::pg_catalog.numeric OPERATOR(pg_catalog.<=) input_tokens::pg_catalog.numeric),
	CONSTRAINT price_call_reasoning_within_output CHECK (reasoning_tokens OPERATOR(pg_catalog.<=) output_tokens),
	CONSTRAINT price_call_reported_cost_in_range CHECK (reported_cost OPERATOR(pg_catalog.>=) 0::pg_catalog.numeric
		AND reported_cost OPERATOR(pg_catalog.<=) 9223372.036854775807::pg_catalog.numeric)
);
COMMENT ON TABLE @extschema@.price_call IS 'a ledger of calls to price: insert your calls (or a sample) here; price_call_cost prices them, unpriced_models counts the ones no catalog knows';
-- The ledger is the user's data: pg_dump dumps its rows and its id sequence.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_call', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_call_call_id_seq', '');
COMMENT ON COLUMN @extschema@.price_call.call_id IS 'row id';
COMMENT ON COLUMN @extschema@.price_call.at IS 'when the call ran (prices in force then apply); finite';
COMMENT ON COLUMN @extschema@.price_call.provider IS 'provider as the call reported it (NULL: match by model)';
COMMENT ON COLUMN @extschema@.price_call.model IS 'model as the call reported it';
COMMENT ON COLUMN @extschema@.price_call.input_tokens IS 'all input tokens, cache reads and writes included';
COMMENT ON COLUMN @extschema@.price_call.output_tokens IS 'all output tokens, reasoning included';
COMMENT ON COLUMN @extschema@.price_call.cache_read_tokens IS 'input tokens read from the cache';
COMMENT ON COLUMN @extschema@.price_call.cache_write_tokens IS 'input tokens written to the cache';
COMMENT ON COLUMN @extschema@.price_call.reasoning_tokens IS 'output tokens spent on reasoning';
COMMENT ON COLUMN @extschema@.price_call.reported_cost IS 'cost the provider reported, when it did; wins over the recomputed one; from 0 to 9223372.036854775807, rounded half away from zero to 12 decimals when read';
COMMENT ON COLUMN @extschema@.price_call.customer IS 'customer or contract whose prices and discounts apply';

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

CREATE VIEW @extschema@.price_call_cost WITH (security_invoker = true) AS
	SELECT c.call_id, c.at, c.provider, c.model, c.customer,
		   l.cost, l.cost_source, l.list_cost, c.reported_cost, l.problem
	FROM @extschema@.price_call c
		 CROSS JOIN LATERAL @extschema@.ledger_cost(c.reported_cost, c.customer, c.provider, c.model, c.input_tokens,
			c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.reasoning_tokens, c.at) l;
COMMENT ON VIEW @extschema@.price_call_cost IS 'every ledger call with its cost and the source of that cost; a row that cannot be priced is listed with NULL costs and the reason in problem, never an error';
COMMENT ON COLUMN @extschema@.price_call_cost.call_id IS 'ledger row id';
COMMENT ON COLUMN @extschema@.price_call_cost.at IS 'when the call ran';
COMMENT ON COLUMN @extschema@.price_call_cost.provider IS 'provider as reported';
COMMENT ON COLUMN @extschema@.price_call_cost.model IS 'model as reported';
COMMENT ON COLUMN @extschema@.price_call_cost.customer IS 'customer or contract';
COMMENT ON COLUMN @extschema@.price_call_cost.cost IS 'the cost: reported (rounded to the picodollar), else contract, else list price; NULL when unpriced or when problem says why';
COMMENT ON COLUMN @extschema@.price_call_cost.cost_source IS 'reported, contract, catalog, or NULL when unpriced';
COMMENT ON COLUMN @extschema@.price_call_cost.list_cost IS 'catalog list price at the time of the call';
COMMENT ON COLUMN @extschema@.price_call_cost.reported_cost IS 'cost the provider reported, as stored';
COMMENT ON COLUMN @extschema@.price_call_cost.problem IS 'NULL, or why cost or list_cost is missing (see ledger_cost()); list the rows to fix with WHERE problem IS NOT NULL';

CREATE VIEW @extschema@.unpriced_models WITH (security_invoker = true) AS
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
COMMENT ON VIEW @extschema@.unpriced_models IS 'ledger calls (tokacct.price_call) that no catalog can price and that carry no reported cost, counted per provider and model';
COMMENT ON COLUMN @extschema@.unpriced_models.provider IS 'provider as reported';
COMMENT ON COLUMN @extschema@.unpriced_models.model IS 'model as reported';
COMMENT ON COLUMN @extschema@.unpriced_models.calls IS 'number of unpriced calls';
COMMENT ON COLUMN @extschema@.unpriced_models.first_call IS 'earliest such call';
COMMENT ON COLUMN @extschema@.unpriced_models.last_call IS 'latest such call';
COMMENT ON COLUMN @extschema@.unpriced_models.input_tokens IS 'input tokens left unpriced; NULL when the total exceeds the bigint range';
COMMENT ON COLUMN @extschema@.unpriced_models.output_tokens IS 'output tokens left unpriced; NULL when the total exceeds the bigint range';

CREATE FUNCTION @extschema@.unpriced_models(calls_table pg_catalog.regclass,
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
-- [{"start": n, "price": n}]}}, "request_fee": number | null,
-- "web_search_fee": number | null}.  Returns true when a new set was added.
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
COMMENT ON FUNCTION @extschema@.price_put_model_prices(pg_catalog.text, pg_catalog.text, pg_catalog.text,
	pg_catalog.jsonb, pg_catalog.timestamptz, pg_catalog.text) IS
	'loader helper: add a model''s normalised price set when it differs from the latest one (history is kept)';

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
COMMENT ON FUNCTION @extschema@.load_prices_genai(pg_catalog.jsonb, pg_catalog.timestamptz) IS
	'load pydantic/genai-prices data.json (format v1, or the live feed of format v2 with its one-hour cache write, image, video, citation, web search and request prices; a price key it does not know is an error naming it) into catalog genai-prices: all or nothing; unchanged entries write nothing; a changed entry adds a price set in force from in_force_from; prices_rounded counts prices with more than 6 decimals (float noise), rounded to the picodollar per token';

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
COMMENT ON FUNCTION @extschema@.load_prices_litellm(pg_catalog.jsonb, pg_catalog.timestamptz) IS
	'load LiteLLM model_prices_and_context_window.json into catalog litellm (token and request prices, *_above_Nk_tokens and tiered_pricing context tiers): all or nothing; unchanged entries write nothing; a changed entry adds a price set in force from in_force_from';
