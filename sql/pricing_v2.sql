-- The live genai-prices feed (format v2) and one-hour cache writes.
--
-- 1. Every price key of the v2 feed loads into a price kind or fee; a key
--    tokacct does not know is an error naming it, never ignored.
-- 2. genai-prices' own acceptance dataset (usages.json: 3,474 input and
--    output prices that genai-prices computed from this feed, every request
--    dated 2025-11-06 12:00 UTC) is reproduced exactly.
-- 3. One-hour cache writes are priced at their own price (Anthropic: 2x the
--    input price, against 1.25x for five-minute writes), from genai-prices
--    (cache_write_1h_mtok) and from LiteLLM
--    (cache_creation_input_token_cost_above_1hr and its above-200k tier).
\getenv shared SHARED_DATA
CREATE TEMP TABLE v2_feed AS SELECT pg_read_file(:'shared' || '/genai-prices/v2/data.json')::jsonb AS feed;

-- The price keys the feed holds, counted from the file itself (a survey
-- independent of the loader): 17 keys, each with the number of price sets
-- that give it.
SELECT k AS price_key, count(*) AS price_sets
  FROM v2_feed f, jsonb_array_elements(f.feed) p,
       jsonb_array_elements(p -> 'models') m,
       jsonb_array_elements(CASE jsonb_typeof(m -> 'prices') WHEN 'array' THEN m -> 'prices'
                                 ELSE jsonb_build_array(jsonb_build_object('prices', m -> 'prices')) END) v,
       jsonb_object_keys(v -> 'prices') k
 GROUP BY k ORDER BY k;

SELECT providers, models, price_sets_added, prices_rounded
  FROM v2_feed, tokacct.load_prices_genai(feed);

-- Each key landed in its column: the rows that hold a price of each v2-only
-- kind or fee, as many as the survey above counts (cache_write_1h 22,
-- cache_image_read 7, output_citation 1, reasoning 2, input_image 9,
-- output_image 5, input_video 2, output_video 1, web searches 20, requests 4).
SELECT count(cache_write_1h_mtok) AS cache_write_1h, count(cache_image_read_mtok) AS cache_image_read,
       count(output_citation_mtok) AS output_citation, count(reasoning_mtok) AS reasoning,
       count(input_image_mtok) AS input_image, count(output_image_mtok) AS output_image,
       count(input_video_mtok) AS input_video, count(output_video_mtok) AS output_video,
       count(web_search_fee) AS web_search_fee, count(request_fee) AS request_fee
  FROM tokacct.price WHERE catalog = 'genai-prices';
-- a tiered one-hour price: Claude Sonnet 4.5, 6 per MTok, 12 above 200k input tokens
SELECT p.cache_write_1h_mtok, t.threshold, t.mtok
  FROM tokacct.price p JOIN tokacct.price_tier t USING (price_id)
 WHERE p.catalog = 'genai-prices' AND p.provider = 'anthropic' AND p.model = 'claude-sonnet-4-5'
   AND t.kind = 'cache_write_1h';
-- per thousand in the feed, per one here: $10 per thousand web searches
SELECT provider, model, web_search_fee FROM tokacct.price
 WHERE catalog = 'genai-prices' AND model IN ('claude-sonnet-4-6', 'sonar-deep-research') ORDER BY 1, 2;

-- The acceptance dataset: every extractor's (input_price, output_price).
CREATE TEMP TABLE v2_case AS
SELECT e.ord AS body, ex.value ->> 'provider_id' AS provider, e.value ->> 'model' AS model,
       x.value -> 'usage' AS usage,
       (ex.value ->> 'input_price')::numeric AS input_price,
       (ex.value ->> 'output_price')::numeric AS output_price
  FROM jsonb_array_elements(pg_read_file(:'shared' || '/genai-prices/usages.json')::jsonb) WITH ORDINALITY e(value, ord),
       jsonb_array_elements(e.value -> 'extracted') x,
       jsonb_array_elements(x.value -> 'extractors') ex
 WHERE ex.value ? 'input_price' OR ex.value ? 'output_price';
SELECT count(DISTINCT body) AS bodies, count(*) AS priced_pairs FROM v2_case;

CREATE TEMP TABLE v2_result AS
SELECT c.*, b.input_cost, b.output_cost, b.request_cost
  FROM v2_case c
  LEFT JOIN LATERAL tokacct.cost_breakdown(c.provider, c.model, c.usage, '2025-11-06 12:00:00+00') b ON true;

-- all 3,474 reproduced exactly (decimal equality of both prices)
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE input_cost IS DISTINCT FROM input_price
                           OR output_cost IS DISTINCT FROM output_price) AS mismatches
  FROM v2_result;
SELECT provider, model, usage, input_price, output_price, input_cost, output_cost
  FROM v2_result
 WHERE input_cost IS DISTINCT FROM input_price OR output_cost IS DISTINCT FROM output_price
 ORDER BY 1, 2 LIMIT 20;

-- A few of them, each priced by a kind the v1 catalog did not have:
--  * gemini-2.5-flash-image: text output at 2.5, image output at 30 per MTok:
--    5 * 2.5 + 1290 * 30 = 38712.5 microdollars (v1 priced all 1295 at 30);
--  * gemini-3-pro-image-preview: 660 text and 529 reasoning tokens at 12,
--    1120 image tokens at 120 per MTok: 1189 * 12 + 1120 * 120 = 148668;
--  * gemini-2.5-flash with cached image tokens (cache_image_read_tokens);
--  * claude with web searches: the searches are in neither price (genai-prices
--    counts them in the total only); here they are request_cost, at $0.01.
SELECT provider, model, usage, input_price, input_cost, output_price, output_cost, request_cost
  FROM v2_result
 WHERE (model = 'gemini-2.5-flash-image' AND usage ? 'output_text_tokens')
    OR (model = 'gemini-3-pro-image-preview')
    OR (model = 'gemini-2.5-flash' AND usage @> '{"cache_image_read_tokens": 172, "output_tokens": 51}')
    OR (usage ? 'web_searches' AND usage @> '{"web_searches": 10}')
 ORDER BY model, body;

-- ---------------------------------------------------------------------------
-- One-hour cache writes, by hand.  Claude Sonnet 4.5 (genai-prices): input 3,
-- cache write (five minutes) 3.75, one-hour cache write 6, output 15 per MTok.
-- A call of 100,000 input tokens, 80,000 of them written to the cache, and
-- 1,000 output tokens:
--   five-minute writes: 20,000 * 3 + 80,000 * 3.75 + 1,000 * 15 = 375,000 microdollars
--   one-hour writes:    20,000 * 3 + 80,000 * 6    + 1,000 * 15 = 555,000 microdollars
-- The writes cost 300,000 against 480,000: priced as five-minute ones,
-- one-hour writes come out 37.5% under (1 - 3.75 / 6).
SELECT tokacct.cost('anthropic', 'claude-sonnet-4-5-20250929', 100000, 1000, 0, 80000, 0,
                    '2025-11-06 12:00+00') AS five_minute,
       tokacct.cost('anthropic', 'claude-sonnet-4-5-20250929', 100000, 1000, 0, 80000, 0,
                    '2025-11-06 12:00+00', 80000) AS one_hour,
       tokacct.cost('anthropic', 'claude-sonnet-4-5-20250929', 100000, 1000, cache_write_tokens => 80000,
                    cache_write_1h_tokens => 80000, at => '2025-11-06 12:00+00') AS one_hour_named;
SELECT 1 - (tokacct.cost('anthropic', 'claude-sonnet-4-5-20250929', 80000, 0, 0, 80000, 0, '2025-11-06 12:00+00')
            / tokacct.cost('anthropic', 'claude-sonnet-4-5-20250929', 80000, 0, 0, 80000, 0, '2025-11-06 12:00+00', 80000))
       AS five_minute_under;
-- half of the writes for an hour: 20,000 * 3 + 40,000 * 3.75 + 40,000 * 6 + 15,000 = 465,000
SELECT tokacct.cost('anthropic', 'claude-sonnet-4-5-20250929', 100000, 1000, 0, 80000, 0,
                    '2025-11-06 12:00+00', 40000) AS half_one_hour;
-- the same as a genai-prices usage object (Anthropic's extractor: cache_write_tokens
-- counts every write, cache_write_1h_tokens the one-hour ones)
SELECT input_cost, output_cost, total_cost
  FROM tokacct.cost_breakdown('anthropic', 'claude-sonnet-4-5-20250929',
       '{"input_tokens": 100000, "cache_write_tokens": 80000, "cache_write_1h_tokens": 80000,
         "cache_write_5m_tokens": 0, "output_tokens": 1000}'::jsonb, '2025-11-06 12:00+00');
-- above 200,000 input tokens the tier prices the whole request: 250,000 input,
-- 200,000 one-hour writes, 1,000 output: 50,000 * 6 + 200,000 * 12 + 1,000 * 22.5
-- = 2,722,500 microdollars
SELECT tokacct.cost('anthropic', 'claude-sonnet-4-5-20250929', 250000, 1000, 0, 200000, 0,
                    '2025-11-06 12:00+00', 200000) AS one_hour_above_200k;
-- web searches: 10 at $10 per thousand, in request_cost and in cost()
SELECT request_cost, total_cost
  FROM tokacct.cost_breakdown('anthropic', 'claude-sonnet-4-5-20250929',
       '{"input_tokens": 1000, "output_tokens": 0, "web_searches": 10}'::jsonb, '2025-11-06 12:00+00');
SELECT tokacct.cost('anthropic', 'claude-sonnet-4-5-20250929',
       '{"input_tokens": 1000, "output_tokens": 0, "web_searches": 10}'::jsonb, '2025-11-06 12:00+00');
-- citation tokens (sonar-deep-research: output 8, citations 2, reasoning 3 per MTok):
-- 1,000 output of which 300 citations and 200 reasoning: 500 * 8 + 300 * 2 + 200 * 3 = 5,200
SELECT output_cost
  FROM tokacct.cost_breakdown('perplexity', 'sonar-deep-research',
       '{"input_tokens": 0, "output_tokens": 1000, "output_citation_tokens": 300, "output_reasoning_tokens": 200}'::jsonb,
       '2025-11-06 12:00+00');

-- Where a row has no one-hour price, one-hour writes fall back to the cache
-- write price, then to the input price.
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'v2test', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES
	('custom', 'v2test', 'with-write', 0, '{"equals": "with-write"}'),
	('custom', 'v2test', 'input-only', 1, '{"equals": "input-only"}'),
	('custom', 'v2test', 'all-three', 2, '{"equals": "all-three"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, cache_write_mtok, cache_write_1h_mtok) VALUES
	('custom', 'v2test', 'with-write', 2, 5, NULL),
	('custom', 'v2test', 'input-only', 2, NULL, NULL),
	('custom', 'v2test', 'all-three', 2, 5, 0);
-- 10 input tokens, 4 written for an hour: with-write 6 * 2 + 4 * 5 = 32;
-- input-only 10 * 2 = 20; all-three 6 * 2 + 4 * 0 = 12 (an explicit 0 is a price)
SELECT model, tokacct.cost('v2test', model, 10, 0, 0, 4, 0, now(), 4) * 1000000 AS microdollars
  FROM (VALUES ('with-write'), ('input-only'), ('all-three')) m(model) ORDER BY 1;

-- Bad input: each is an error saying what is wrong.
SELECT tokacct.cost('v2test', 'with-write', 10, 0, 0, 4, 0, now(), 5);
SELECT tokacct.cost('v2test', 'with-write', 10, 0, 0, 4, 0, now(), -1);
SELECT tokacct.cost('v2test', 'with-write', '{"input_tokens": 10, "cache_write_1h_tokens": 1}');
SELECT tokacct.cost('v2test', 'with-write', '{"input_tokens": 10, "output_tokens": 2, "output_citation_tokens": 3}');
SELECT tokacct.cost('v2test', 'with-write', '{"input_tokens": 10, "web_searches": -1}');
-- NULL one-hour count: as 0, like the other cache counts
SELECT tokacct.cost('v2test', 'with-write', 10, 0, 0, 4, 0, now(), NULL) * 1000000 AS null_one_hour;

-- A price key the loader does not know is an error naming the key and the
-- model, never skipped: cache_write_5m_mtok is in the v2 schema, not in the
-- feed, and tokacct has no five-minute kind apart from cache_write.
\set VERBOSITY default
SELECT * FROM tokacct.load_prices_genai('[{"id": "v2bad", "models": [{"id": "m1", "match": {"equals": "m1"},
  "prices": {"input_mtok": 1, "cache_write_5m_mtok": 1.25}}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "v2bad", "models": [{"id": "m1", "match": {"equals": "m1"},
  "prices": [{"prices": {"input_mtok": 1}}, {"constraint": {"start_date": "2026-01-01"}, "prices": {"input_mtok": 1, "social_searches_kcount": 5}}]}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "v2bad", "models": [{"id": "m1", "match": {"equals": "m1"},
  "prices": {"input_mtok": 1, "web_searches_kcount": "10"}}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "v2bad", "models": [{"id": "m1", "match": {"equals": "m1"},
  "prices": {"input_mtok": 1, "web_searches_kcount": -10}}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "v2bad", "models": [{"id": "m1", "match": {"equals": "m1"},
  "prices": {"input_mtok": 1, "cache_write_1h_mtok": null}}]}]');
\set VERBOSITY terse
SELECT count(*) AS nothing_loaded FROM tokacct.price_provider WHERE provider = 'v2bad';

-- Reloading the same feed writes nothing.
SELECT providers, models, price_sets_added FROM v2_feed, tokacct.load_prices_genai(feed);

-- ---------------------------------------------------------------------------
-- LiteLLM: cache_creation_input_token_cost_above_1hr is the one-hour price,
-- cache_creation_input_token_cost_above_1hr_above_200k_tokens its tier.
DELETE FROM tokacct.price_provider WHERE catalog = 'genai-prices' OR (catalog = 'custom' AND provider = 'v2test');
SELECT providers, models, price_sets_added
  FROM tokacct.load_prices_litellm(pg_read_file(:'shared' || '/litellm/model_prices_and_context_window.json')::jsonb);
SELECT p.cache_write_mtok, p.cache_write_1h_mtok,
       (SELECT string_agg(t.kind || ' > ' || t.threshold || ': ' || t.mtok, ', ' ORDER BY t.kind)
          FROM tokacct.price_tier t WHERE t.price_id = p.price_id AND t.kind LIKE 'cache_write%') AS tiers
  FROM tokacct.price p WHERE p.catalog = 'litellm' AND p.model = 'claude-sonnet-4-5-20250929';
SELECT count(*) AS litellm_one_hour_prices FROM tokacct.price WHERE catalog = 'litellm' AND cache_write_1h_mtok IS NOT NULL;
-- the same calls as above, priced by LiteLLM: 375,000 / 555,000 / 2,722,500 microdollars
SELECT tokacct.price_model_for('anthropic', 'claude-sonnet-4-5-20250929') AS priced_as,
       tokacct.cost('anthropic', 'claude-sonnet-4-5-20250929', 100000, 1000, 0, 80000, 0, now()) AS five_minute,
       tokacct.cost('anthropic', 'claude-sonnet-4-5-20250929', 100000, 1000, 0, 80000, 0, now(), 80000) AS one_hour,
       tokacct.cost('anthropic', 'claude-sonnet-4-5-20250929', 250000, 1000, 0, 200000, 0, now(), 200000) AS one_hour_above_200k;
DELETE FROM tokacct.price_provider WHERE catalog = 'litellm';
