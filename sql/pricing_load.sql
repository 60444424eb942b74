-- The loaders: all or nothing, idempotent, history kept on change, every
-- malformed entry named; and the real files load.
\getenv shared SHARED_DATA

-- a small genai-prices document
SELECT clock_timestamp() AS before_load \gset
SELECT * FROM tokacct.load_prices_genai('[
  {"id": "tp", "name": "Test Provider", "api_pattern": "x", "model_match": {"starts_with": "tp-"},
   "models": [
     {"id": "tp-a", "match": {"equals": "tp-a"}, "prices": {"input_mtok": 1, "output_mtok": 4, "requests_kcount": 2}},
     {"id": "tp-b", "match": {"starts_with": "tp-b"},
      "prices": [{"prices": {"input_mtok": {"base": 1, "tiers": [{"start": 1000, "price": 2}]}, "output_mtok": 3}},
                 {"constraint": {"start_time": "22:00:00Z", "end_time": "06:00:00Z"}, "prices": {"input_mtok": 0.5, "output_mtok": 1.5}}]}
   ]}]', '2026-01-01 00:00+00');
-- tp-a: 1e6 in at 1 + 1e6 out at 4 + one request at 2 / 1000 = 5.002
SELECT tokacct.cost('tp', 'tp-a', 1000000, 1000000, at => '2026-03-01') = 5.002 AS tp_a;
-- tp-b at noon: tier above 1000 input: 1001 * 2 = 2002, 10 * 3 = 30 -> 0.002032
-- at 23:00 UTC (window wraps midnight): 1001 * 0.5 + 10 * 1.5 = 515.5 -> 0.0005155
SELECT tokacct.cost('tp', 'tp-b-1', 1001, 10, at => '2026-03-01 12:00+00') = 0.002032 AS tp_b_day,
       tokacct.cost('tp', 'tp-b-1', 1001, 10, at => '2026-03-01 23:00+00') = 0.0005155 AS tp_b_night,
       tokacct.cost('tp', 'tp-b-1', 1001, 10, at => '2026-03-02 05:59:59+00') = 0.0005155 AS tp_b_early;

-- the loader leaves statistics for the tables it wrote (a catalog without
-- them is planned as nearly empty until autovacuum comes by: see
-- price_catalog_analyze); last_analyze is set by ANALYZE, not by autovacuum
SELECT relname, last_analyze >= :'before_load' AS analyzed
  FROM pg_stat_user_tables
 WHERE schemaname = 'tokacct' AND relname IN ('price_provider', 'price_model', 'price', 'price_tier')
 ORDER BY relname;

-- loading the same document again changes nothing
CREATE TEMP TABLE before_rows AS SELECT * FROM tokacct.price;
SELECT price_sets_added FROM tokacct.load_prices_genai('[
  {"id": "tp", "name": "Test Provider", "api_pattern": "x", "model_match": {"starts_with": "tp-"},
   "models": [
     {"id": "tp-a", "match": {"equals": "tp-a"}, "prices": {"input_mtok": 1, "output_mtok": 4, "requests_kcount": 2}},
     {"id": "tp-b", "match": {"starts_with": "tp-b"},
      "prices": [{"prices": {"input_mtok": {"base": 1, "tiers": [{"start": 1000, "price": 2}]}, "output_mtok": 3}},
                 {"constraint": {"start_time": "22:00:00Z", "end_time": "06:00:00Z"}, "prices": {"input_mtok": 0.5, "output_mtok": 1.5}}]}
   ]}]', '2026-02-01 00:00+00');
SELECT (SELECT count(*) FROM tokacct.price) AS rows_now,
       (SELECT count(*) FROM before_rows) AS rows_before,
       NOT EXISTS (SELECT * FROM tokacct.price EXCEPT SELECT * FROM before_rows) AS unchanged;

-- a newer document changes tp-a's input price to 1.5 from 2026-06-01: a new
-- dated set, the old one kept; history is repriced at the old price
SELECT price_sets_added FROM tokacct.load_prices_genai('[
  {"id": "tp", "name": "Test Provider", "api_pattern": "x", "model_match": {"starts_with": "tp-"},
   "models": [
     {"id": "tp-a", "match": {"equals": "tp-a"}, "prices": {"input_mtok": 1.5, "output_mtok": 4, "requests_kcount": 2}},
     {"id": "tp-b", "match": {"starts_with": "tp-b"},
      "prices": [{"prices": {"input_mtok": {"base": 1, "tiers": [{"start": 1000, "price": 2}]}, "output_mtok": 3}},
                 {"constraint": {"start_time": "22:00:00Z", "end_time": "06:00:00Z"}, "prices": {"input_mtok": 0.5, "output_mtok": 1.5}}]}
   ]}]', '2026-06-01 00:00+00');
SELECT in_force_from, input_mtok, output_mtok FROM tokacct.price WHERE model = 'tp-a' ORDER BY in_force_from;
-- before: 1 + 4 + 0.002 = 5.002; from 2026-06-01: 1.5 + 4 + 0.002 = 5.502
SELECT tokacct.cost('tp', 'tp-a', 1000000, 1000000, at => '2026-05-31 23:59:59+00') = 5.002 AS old_price,
       tokacct.cost('tp', 'tp-a', 1000000, 1000000, at => '2026-06-01 00:00:00+00') = 5.502 AS new_price;
-- a change cannot be back-dated before the current set
SELECT * FROM tokacct.load_prices_genai('[{"id": "tp", "models": [{"id": "tp-a", "match": {"equals": "tp-a"}, "prices": {"input_mtok": 9}}]}]', '2026-03-01');

-- all or nothing: a bad entry late in the document leaves no trace
SELECT count(*) AS rows_before_bad_load FROM tokacct.price;
\set VERBOSITY default
SELECT * FROM tokacct.load_prices_genai('[
  {"id": "good", "models": [{"id": "g1", "match": {"equals": "g1"}, "prices": {"input_mtok": 1}}]},
  {"id": "bad", "models": [{"id": "b1", "match": {"equals": "b1"}, "prices": {"input_mtok": -1}}]}]');
\set VERBOSITY terse
SELECT count(*) AS rows_after_bad_load, count(*) FILTER (WHERE provider = 'good') AS good_rows FROM tokacct.price;

-- every malformed entry is named
\set VERBOSITY default
SELECT * FROM tokacct.load_prices_genai('{"id": "x"}');
SELECT * FROM tokacct.load_prices_genai('[42]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "Upper", "models": []}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p"}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "provider_match": {"near": "x"}, "models": []}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "fallback_model_providers": "openai", "models": []}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "models": [{"match": {"equals": "m"}, "prices": {}}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "models": [{"id": "m", "match": {"regex": "[a-"}, "prices": {"input_mtok": 1}}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "models": [{"id": "m", "match": {"or": []}, "prices": {"input_mtok": 1}}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "models": [{"id": "m", "match": {"equals": "m"}, "prices": 3}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "models": [{"id": "m", "match": {"equals": "m"}, "prices": {"input_mtok": "1"}}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "models": [{"id": "m", "match": {"equals": "m"}, "prices": {"image_mtok": 1}}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "models": [{"id": "m", "match": {"equals": "m"}, "prices": {"input_mtok": {"base": 1, "tiers": [{"start": 10, "price": 2}, {"start": 5, "price": 3}]}}}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "models": [{"id": "m", "match": {"equals": "m"}, "prices": {"input_mtok": {"base": 1, "tiers": [{"start": 1.5, "price": 2}]}}}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "models": [{"id": "m", "match": {"equals": "m"}, "prices": [{"constraint": {"start_date": "2026-13-01"}, "prices": {"input_mtok": 1}}]}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "models": [{"id": "m", "match": {"equals": "m"}, "prices": [{"constraint": {"start_time": "10:00:00+02:00", "end_time": "11:00:00Z"}, "prices": {"input_mtok": 1}}]}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "models": [{"id": "m", "match": {"equals": "m"}, "prices": [{"constraint": {"weekday": 1}, "prices": {"input_mtok": 1}}]}]}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "models": [{"id": "m", "match": {"equals": "m"}, "prices": {"input_mtok": 1e30}}]}]');

-- LiteLLM: a small document
SELECT * FROM tokacct.load_prices_litellm('{
  "sample_spec": {"litellm_provider": "one of ...", "input_cost_per_token": 0.0},
  "last_updated": "2026-07-24",
  "lp/big": {"litellm_provider": "lp", "input_cost_per_token": 1e-06, "output_cost_per_token": 4e-06,
             "cache_read_input_token_cost": 1e-07, "cache_creation_input_token_cost": 1.25e-06,
             "output_cost_per_reasoning_token": 8e-06, "input_cost_per_audio_token": 1e-05,
             "input_cost_per_token_above_200k_tokens": 2e-06, "output_cost_per_token_above_200k_tokens": 6e-06,
             "input_cost_per_token_above_200k_tokens_priority": 9e-06, "input_cost_per_token_priority": 9e-06},
  "lp/ranged": {"litellm_provider": "lp", "tiered_pricing": [
             {"range": [0, 32000.0], "input_cost_per_token": 3e-07, "output_cost_per_token": 1.5e-06},
             {"range": [32000.0, 128000.0], "input_cost_per_token": 5e-07, "output_cost_per_token": 2.5e-06}]},
  "lp/noisy": {"litellm_provider": "lp", "input_cost_per_token": 2.9999900000000002e-06, "output_cost_per_token": 0.0},
  "lp/image-only": {"litellm_provider": "lp", "output_cost_per_image": 0.04}
}', '2026-01-01');
-- lp/big, 1000 in (100 cached read, 100 written) and 500 out (200 reasoning):
-- 800 * 1 + 100 * 0.1 + 100 * 1.25 = 935; 300 * 4 + 200 * 8 = 2800
SELECT input_cost = 0.000935 AS big_in, output_cost = 0.0028 AS big_out
  FROM tokacct.cost_breakdown('lp', 'big', 1000, 500, 100, 100, 200, '2026-03-01');
-- above 200k: 200001 * 2 = 400002 -> 0.400002; 10 out at 6 -> 0.00006
SELECT tokacct.cost('lp', 'lp/big', 200001, 10, at => '2026-03-01') = 0.400062 AS big_tier,
       tokacct.cost('lp', 'big', 200000, 10, at => '2026-03-01') = 0.20004 AS big_at_threshold;
-- audio input at 10 per million: 1000 audio of 1000 input -> 0.01
SELECT tokacct.cost('lp', 'big', '{"input_tokens": 1000, "input_audio_tokens": 1000}'::jsonb, '2026-03-01') = 0.01 AS big_audio;
-- ranged: 32000 in at 0.3 = 0.0096; 32001 in at 0.5 = 0.0160005; out 100 at 1.5 / 2.5
SELECT tokacct.cost('lp', 'ranged', 32000, 100, at => '2026-03-01') = 0.0096 + 0.00015 AS ranged_base,
       tokacct.cost('lp', 'ranged', 32001, 100, at => '2026-03-01') = 0.0160005 + 0.00025 AS ranged_tier;
-- float noise rounded to the picodollar per token: 2.99999 per million
SELECT input_mtok, output_mtok FROM tokacct.price WHERE model = 'lp/noisy';
SELECT tokacct.cost('lp', 'lp/image-only', 1, 1) IS NULL AS image_only_unpriced;
-- idempotent
SELECT price_sets_added FROM tokacct.load_prices_litellm('{
  "lp/noisy": {"litellm_provider": "lp", "input_cost_per_token": 2.9999900000000002e-06, "output_cost_per_token": 0.0}}', '2026-02-01');
-- malformed entries are named, and nothing is loaded
SELECT tokacct.load_prices_litellm('[1]');
SELECT tokacct.load_prices_litellm('{"lp/x": 5}');
SELECT tokacct.load_prices_litellm('{"lp/x": {"input_cost_per_token": 1e-06}}');
SELECT tokacct.load_prices_litellm('{"lp/ok": {"litellm_provider": "lp", "input_cost_per_token": 1e-06},
	"lp/x": {"litellm_provider": "lp", "input_cost_per_token": "cheap"}}');
SELECT tokacct.load_prices_litellm('{"lp/x": {"litellm_provider": "lp", "output_cost_per_token": -1e-06}}');
SELECT tokacct.load_prices_litellm('{"lp/x": {"litellm_provider": "lp", "input_cost_per_token_above_128k_tokens": {"a": 1}}}');
SELECT tokacct.load_prices_litellm('{"lp/x": {"litellm_provider": "lp", "tiered_pricing": [{"range": [-5, 10], "input_cost_per_token": 1e-06}]}}');
SELECT tokacct.load_prices_litellm('{"lp/x": {"litellm_provider": "lp", "tiered_pricing": {"range": [0, 10]}}}');
\set VERBOSITY terse
SELECT count(*) AS lp_ok_absent FROM tokacct.price_model WHERE model = 'lp/ok';

DELETE FROM tokacct.price_provider WHERE catalog IN ('genai-prices', 'litellm');

-- the real files load, twice without change
SELECT * FROM tokacct.load_prices_genai(pg_read_file(:'shared' || '/genai-prices/data.json')::jsonb, '2026-08-21');
SELECT * FROM tokacct.load_prices_litellm(pg_read_file(:'shared' || '/litellm/model_prices_and_context_window.json')::jsonb, '2026-07-24');
SELECT price_sets_added FROM tokacct.load_prices_litellm(pg_read_file(:'shared' || '/litellm/model_prices_and_context_window.json')::jsonb, '2026-08-01');
-- LiteLLM dashscope/qwen3-coder-flash (file tiered_pricing: from 32000
-- input 5e-07, cache read 1.2e-07, output 2.5e-06): 40000 in, 5000 read,
-- 1000 out: 35000 * 0.5 + 5000 * 0.12 = 18100; 1000 * 2.5 = 2500
SELECT input_cost = 0.0181 AS qwen_in, output_cost = 0.0025 AS qwen_out, catalog, model
  FROM tokacct.cost_breakdown('dashscope', 'qwen3-coder-flash', 40000, 1000, 5000, 0, 0, '2026-08-01');
-- LiteLLM gemini/gemini-2.5-pro, named as LiteLLM names it (file: input
-- 1.25e-06, above 200k 2.5e-06; cache read 2.5e-07 above 200k; output
-- 1.5e-05 above 200k): 200001 in, 100000 read, 1000 out:
-- 100001 * 2.5 + 100000 * 0.25 = 275002.5; 1000 * 15 = 15000.  The prefix
-- "gemini/" names a provider, so genai-prices, tried first, prices the
-- call as gemini-2.5-pro (the same prices); LiteLLM's entry is priced when
-- an admin chooses LiteLLM for the provider (gemini is an alias of google)
SELECT input_cost = 0.2750025 AS gemini_in, output_cost = 0.015 AS gemini_out, catalog
  FROM tokacct.cost_breakdown('gemini', 'gemini/gemini-2.5-pro', 200001, 1000, 100000, 0, 0, '2026-08-01');
INSERT INTO tokacct.price_catalog_choice (provider, catalog) VALUES ('google', 'litellm');
SELECT input_cost = 0.2750025 AS gemini_in, output_cost = 0.015 AS gemini_out, catalog, provider, model
  FROM tokacct.cost_breakdown('gemini', 'gemini/gemini-2.5-pro', 200001, 1000, 100000, 0, 0, '2026-08-01');
DELETE FROM tokacct.price_catalog_choice;
-- genai-prices comes first: openai gpt-4o (2.5 in, 10 out per million)
SELECT catalog, total_cost = 0.0125 AS gpt4o FROM tokacct.cost_breakdown('openai', 'gpt-4o', 1000, 1000, at => '2026-08-01');
DELETE FROM tokacct.price_provider WHERE catalog IN ('genai-prices', 'litellm');

-- A request fee with more than 12 decimals is money: rounded half away from
-- zero to the picodollar (as in money.sql), not refused.
-- requests_kcount 0.0000000005 per thousand requests: a fee of 0.0000000000005
-- per request, rounded to 0.000000000001; 0.0000000004999 -> 0.0000000000004999 -> 0
SELECT providers, models, price_sets_added FROM tokacct.load_prices_genai('[
  {"id": "money-tp", "models": [
     {"id": "money-a", "match": {"equals": "money-a"}, "prices": {"input_mtok": 1, "requests_kcount": 0.0000000005}},
     {"id": "money-b", "match": {"equals": "money-b"}, "prices": {"input_mtok": 1, "requests_kcount": 0.0000000004999}}]}]',
  '2026-01-01 00:00+00');
SELECT model, request_fee FROM tokacct.price WHERE provider = 'money-tp' ORDER BY model;
SELECT tokacct.cost('money-tp', 'money-a', 0, 0, at => '2026-03-01') AS fee_a,
       tokacct.cost('money-tp', 'money-b', 0, 0, at => '2026-03-01') AS fee_b;
-- a negative fee is still refused
SELECT * FROM tokacct.load_prices_genai('[
  {"id": "money-tp", "models": [{"id": "money-c", "match": {"equals": "money-c"}, "prices": {"input_mtok": 1, "requests_kcount": -1}}]}]',
  '2026-02-01 00:00+00');
DELETE FROM tokacct.price WHERE provider = 'money-tp';
DELETE FROM tokacct.price_model WHERE provider = 'money-tp';
DELETE FROM tokacct.price_provider WHERE provider = 'money-tp';
SELECT tokacct.cost('money-tp', 'money-a', 0, 0, at => '2026-03-01') IS NULL AS gone;
