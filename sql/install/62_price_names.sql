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
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_catalog_choice_choice_id_seq', '');
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
