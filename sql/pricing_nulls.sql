-- JSON nulls and wrong JSON types in the catalogs the loaders read.  A key
-- left out of an entry means what its format says (a price not published
-- falls back, or costs nothing); a key given as null is not the same: it is
-- refused, with an error naming the key, wherever it holds a price, a tier,
-- a condition or a match rule.  Before, the genai-prices loader dropped
-- every null of a price entry (jsonb_strip_nulls), so "input_mtok": null
-- priced input at 0 and a null start_date made a conditional price apply
-- always; the LiteLLM loader skipped null prices (input priced at 0), and
-- ignored a request fee or a cache-hit price of the wrong type.  Only
-- descriptive keys (a display name, a context window) accept null, as "not
-- given".
SET timezone = 'UTC';

-- Load a document and roll it back; say what happened: the error message,
-- or the cost of 1,000,000 input and 1,000,000 output tokens of model m at
-- 2026-06-01 12:00 UTC as loaded.
CREATE FUNCTION pg_temp.try_load(loader text, doc jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	c numeric;
BEGIN
	IF loader = 'genai' THEN
		PERFORM tokacct.load_prices_genai(doc, '2026-01-01');
		c := tokacct.cost('p', 'm', 1000000, 1000000, at => '2026-06-01 12:00+00');
	ELSE
		PERFORM tokacct.load_prices_litellm(doc, '2026-01-01');
		c := tokacct.cost('lp', 'm', 1000000, 1000000, at => '2026-06-01 12:00+00');
	END IF;
	RAISE EXCEPTION 'loaded, cost %', coalesce(c::text, 'NULL') USING ERRCODE = 'T0001';
EXCEPTION
	WHEN SQLSTATE 'T0001' THEN
		RETURN SQLERRM;
	WHEN OTHERS THEN
		RETURN 'ERROR: ' || SQLERRM;
END
$$;

-- The wrong values tried at each key.
CREATE TEMP TABLE bad_value (kind text, value jsonb);
INSERT INTO bad_value VALUES ('null', 'null'), ('string', '"1.0"'), ('array', '[1]'), ('object', '{"a": 1}'), ('bool', 'true');

-- genai-prices.  The document as given prices model m at 2 (input above
-- the 10-token tier) + 3 (output) + 0.001 (requests_kcount 1: one request
-- at 1/1000) = 5.001; its variant 1 (from 2030-01-01, 7 + 7 = 14) and
-- variant 2 (22:00-23:00 UTC, 8 + 8 = 16) do not apply at noon on
-- 2026-06-01.
CREATE TEMP TABLE genai_doc AS SELECT '[{"id": "p", "name": "P", "provider_match": {"equals": "pp"},
  "model_match": {"starts_with": "m"}, "fallback_model_providers": ["q"],
  "models": [{"id": "m", "name": "M", "match": {"equals": "m"}, "context_window": 1000,
    "prices": [
      {"prices": {"input_mtok": {"base": 1, "tiers": [{"start": 10, "price": 2}]}, "output_mtok": 3,
                  "cache_read_mtok": 0.5, "requests_kcount": 1}},
      {"constraint": {"start_date": "2030-01-01"}, "prices": {"input_mtok": 7, "output_mtok": 7}},
      {"constraint": {"start_time": "22:00:00Z", "end_time": "23:00:00Z"}, "prices": {"input_mtok": 8, "output_mtok": 8}}]}]}]'::jsonb AS doc;
SELECT pg_temp.try_load('genai', doc) AS as_given FROM genai_doc;
-- Every key, every wrong value: an error naming the key, except the
-- descriptive keys name and context_window, where null loads as "not
-- given" (and the price is unchanged: 5.001), and the ids, where "1.0" is
-- an id like any other (provider "1.0" then prices m by its model_match).
SELECT array_to_string(k.path, '.') AS key, b.kind, pg_temp.try_load('genai', jsonb_set(g.doc, k.path, b.value)) AS result
  FROM genai_doc g,
       (VALUES (1, '{0,id}'::text[]), (2, '{0,name}'), (3, '{0,provider_match}'), (4, '{0,model_match}'),
               (5, '{0,fallback_model_providers}'), (6, '{0,models}'), (7, '{0,models,0,id}'), (8, '{0,models,0,name}'),
               (9, '{0,models,0,match}'), (10, '{0,models,0,context_window}'), (11, '{0,models,0,prices}'),
               (12, '{0,models,0,prices,0}'), (13, '{0,models,0,prices,0,prices}'),
               (14, '{0,models,0,prices,0,prices,input_mtok}'), (15, '{0,models,0,prices,0,prices,input_mtok,base}'),
               (16, '{0,models,0,prices,0,prices,input_mtok,tiers}'), (17, '{0,models,0,prices,0,prices,input_mtok,tiers,0}'),
               (18, '{0,models,0,prices,0,prices,input_mtok,tiers,0,start}'),
               (19, '{0,models,0,prices,0,prices,input_mtok,tiers,0,price}'),
               (20, '{0,models,0,prices,0,prices,output_mtok}'), (21, '{0,models,0,prices,0,prices,cache_read_mtok}'),
               (22, '{0,models,0,prices,0,prices,requests_kcount}'), (23, '{0,models,0,prices,1,constraint}'),
               (24, '{0,models,0,prices,1,constraint,start_date}'), (25, '{0,models,0,prices,2,constraint,start_time}'),
               (26, '{0,models,0,prices,2,constraint,end_time}')) k(n, path),
       bad_value b
 ORDER BY k.n, b.kind;
-- what the user reads for a null price or start date (before: the first
-- loaded with input at 0 and cost 3.001, the second loaded a price set that
-- applies always and cost 14)
\set SHOW_CONTEXT never
SELECT * FROM tokacct.load_prices_genai(jsonb_set((SELECT doc FROM genai_doc), '{0,models,0,prices,0,prices,input_mtok}', 'null'));
SELECT * FROM tokacct.load_prices_genai(jsonb_set((SELECT doc FROM genai_doc), '{0,models,0,prices,1,constraint,start_date}', 'null'));
\set SHOW_CONTEXT errors
DELETE FROM tokacct.price_provider WHERE catalog = 'genai-prices';
-- a constraint with no condition is refused too (it would apply always)
SELECT pg_temp.try_load('genai', jsonb_set(doc, '{0,models,0,prices,1,constraint}', '{}')) AS empty_constraint FROM genai_doc;
-- a key left out is not an error: no cache read price falls back to the
-- input price; no start_date... is no constraint at all when the whole
-- constraint is left out (then variant 1 applies: 14)
SELECT pg_temp.try_load('genai', doc #- '{0,models,0,prices,0,prices,cache_read_mtok}') AS no_cache_read_price,
       pg_temp.try_load('genai', doc #- '{0,models,0,prices,1,constraint}') AS no_constraint
  FROM genai_doc;

-- LiteLLM.  As given, model lp/m (also matched as m) costs, for 1e6 input
-- and output tokens: input above 200k tokens at 3 per million = 3; output
-- above the tiered_pricing step at 100 tokens at 4 = 4; a request at
-- 0.001: 7.001.  (cache_read_input_token_cost wins over the DeepSeek-style
-- cache-hit price.)
CREATE TEMP TABLE litellm_doc AS SELECT '{"lp/m": {"litellm_provider": "lp",
  "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "cache_read_input_token_cost": 1e-07,
  "input_cost_per_token_above_200k_tokens": 3e-06, "input_cost_per_request": 0.001,
  "input_cost_per_token_cache_hit": 2e-07,
  "tiered_pricing": [{"range": [0, 100], "output_cost_per_token": 2e-06},
                     {"range": [100, 1000], "output_cost_per_token": 4e-06}]}}'::jsonb AS doc;
SELECT pg_temp.try_load('litellm', doc) AS as_given FROM litellm_doc;
-- Every key the loader reads, every wrong value: an error naming the key.
-- Four rows load: "1.0" is a provider name like any other (then provider
-- lp has no model m: NULL); a range of [1] is a step from 1 token, which
-- 1e6 tokens are above, as they were above 100; max_tokens is not read
-- (whatever its value); and a tiered_pricing step that is
-- an object with neither "range" nor a token price is a tier over
-- something else (LiteLLM has them for search results), so it is left
-- out, and output above 100 tokens is back at 2 per million (5.001).
SELECT array_to_string(k.path, '.') AS key, b.kind, pg_temp.try_load('litellm', jsonb_set(l.doc, k.path, b.value)) AS result
  FROM litellm_doc l,
       (VALUES (1, '{lp/m}'::text[]), (2, '{lp/m,litellm_provider}'), (3, '{lp/m,input_cost_per_token}'),
               (4, '{lp/m,output_cost_per_token}'), (5, '{lp/m,cache_read_input_token_cost}'),
               (6, '{lp/m,input_cost_per_token_above_200k_tokens}'), (7, '{lp/m,input_cost_per_request}'),
               (8, '{lp/m,input_cost_per_token_cache_hit}'), (9, '{lp/m,tiered_pricing}'), (10, '{lp/m,tiered_pricing,1}'),
               (11, '{lp/m,tiered_pricing,1,range}'), (12, '{lp/m,tiered_pricing,1,range,0}'),
               (13, '{lp/m,tiered_pricing,1,output_cost_per_token}'), (14, '{lp/m,max_tokens}')) k(n, path),
       bad_value b
 ORDER BY k.n, b.kind;
\set SHOW_CONTEXT never
SELECT * FROM tokacct.load_prices_litellm(jsonb_set((SELECT doc FROM litellm_doc), '{lp/m,input_cost_per_token}', 'null'));
\set SHOW_CONTEXT errors
DELETE FROM tokacct.price_provider WHERE catalog = 'litellm';
-- negative prices are refused at every price key as well
SELECT array_to_string(k.path, '.') AS key, pg_temp.try_load('litellm', jsonb_set(l.doc, k.path, '-1e-06')) AS result
  FROM litellm_doc l,
       (VALUES (1, '{lp/m,input_cost_per_request}'::text[]), (2, '{lp/m,input_cost_per_token_cache_hit}'),
               (3, '{lp/m,input_cost_per_token_above_200k_tokens}')) k(n, path)
 ORDER BY k.n;

-- nothing was left behind
SELECT count(*) AS rows_left FROM tokacct.price_model WHERE catalog IN ('genai-prices', 'litellm');
