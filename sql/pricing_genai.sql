-- The genai-prices acceptance suite: every priced (provider, model, usage)
-- of genai-prices' own dataset (usages.json, computed by genai-prices from
-- data.json's commit) must equal tokacct's input and output price exactly,
-- pricing as of the dataset's date, 2026-08-21 (12:00 UTC: outside
-- deepseek's off-peak window, which ends at 16:30).
-- This is the frozen format v1 file; the live v2 feed, which genai-prices
-- computed the dataset from, reproduces all 3,474 pairs (pricing_v2).
\getenv shared SHARED_DATA
SELECT providers, models, price_sets_added, prices_rounded
  FROM tokacct.load_prices_genai(pg_read_file(:'shared' || '/genai-prices/data.json')::jsonb);

CREATE TEMP TABLE genai_case AS
SELECT e.ord AS body, ex.value ->> 'provider_id' AS provider, ex.value ->> 'api_flavor' AS flavor,
       e.value ->> 'model' AS model, x.value -> 'usage' AS usage,
       (ex.value ->> 'input_price')::numeric AS input_price,
       (ex.value ->> 'output_price')::numeric AS output_price
  FROM jsonb_array_elements(pg_read_file(:'shared' || '/genai-prices/usages.json')::jsonb) WITH ORDINALITY e(value, ord),
       jsonb_array_elements(e.value -> 'extracted') x,
       jsonb_array_elements(x.value -> 'extractors') ex
 WHERE ex.value ? 'input_price' OR ex.value ? 'output_price';

-- 3,474 priced pairs (data/README.md), from 1,298 of the 1,577 bodies (the others
-- have no price in any provider)
SELECT count(DISTINCT body) AS bodies, count(*) AS priced_pairs FROM genai_case;

CREATE TEMP TABLE genai_result AS
SELECT c.*, b.input_cost, b.output_cost, b.provider AS catalog_provider, b.model AS catalog_model
  FROM genai_case c
  LEFT JOIN LATERAL tokacct.cost_breakdown(c.provider, c.model, c.usage, '2026-08-21 12:00:00+00') b ON true;

SELECT count(*) FILTER (WHERE input_cost = input_price AND output_cost = output_price)
       || ' of ' || count(*) AS matched_exactly
  FROM genai_result;

-- The pairs that do not match.  Each needs a price that data.json (the
-- catalog genai-prices published at that commit) does not hold, so no
-- reading of data.json reproduces them:
--  * provider "zai" (5.2 at 1.4/4.4 per MTok) is not a provider of data.json;
--    the call resolves by model_match to zhipuai's GLM-5.2 (1.103/3.862);
--  * aws "openai.gpt-5.6-luna" (1.1/6.6 per MTok) is not an aws model of
--    data.json (aws has no fallback providers), so it is unpriced;
--  * gemini-2.5-flash-image and gemini-3-pro-image-preview priced text
--    output at 2.5 and 12 per MTok and image output at 30 and 120;
--    data.json has one output price (30, 120) for both.
SELECT provider, model, usage, input_price, output_price, input_cost, output_cost,
       catalog_provider || '/' || catalog_model AS priced_as
  FROM genai_result
 WHERE input_cost IS DISTINCT FROM input_price OR output_cost IS DISTINCT FROM output_price
 ORDER BY provider, model, input_price, output_price;

DELETE FROM tokacct.price_provider WHERE catalog = 'genai-prices';
