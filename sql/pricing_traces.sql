-- Names as traces carry them: provider and route
-- prefixes in the model name, models/ and publishers/.../models/ forms,
-- OpenTelemetry provider names, and the user's aliases; then where the two
-- catalogs disagree, and an admin's choice of the catalog that wins.
-- Before this work, every prefixed name below cost NULL (issue 13).
SET timezone = 'UTC';
\getenv shared SHARED_DATA
SELECT providers, models FROM tokacct.load_prices_genai(pg_read_file(:'shared' || '/genai-prices/data.json')::jsonb, '2026-08-21');
SELECT providers, models FROM tokacct.load_prices_litellm(pg_read_file(:'shared' || '/litellm/model_prices_and_context_window.json')::jsonb, '2026-07-24');

-- Each form with the catalog entry it must resolve to, and the price of
-- 1,000 input and 1,000 output tokens worked by hand from that entry's
-- prices per million (input + output, divided by 1,000): gpt-4o 2.5 + 10;
-- gpt-5.5 5 + 30; Claude Sonnet 4 on Bedrock, and on Vertex, 3 + 15;
-- gemini-2.5-flash 0.3 + 2.5; gemini-2.5-pro 1.25 + 10; watsonx
-- granite-13b-chat-v2 0.6 + 0.6; Together's Llama 3.3 70B 0.88 + 0.88.
-- "catalog_price" reads the same from the price table, apart from cost().
CREATE TEMP TABLE form (provider text, model text, entry text, hand numeric, why text);
INSERT INTO form VALUES
	('openai', 'openai/gpt-4o', 'genai-prices/openai/gpt-4o', 0.0125, 'provider prefix'),
	(' OpenAI ', 'OPENAI/GPT-4O', 'genai-prices/openai/gpt-4o', 0.0125, 'folded like any name'),
	(NULL, 'openai/gpt-4o', 'genai-prices/openai/gpt-4o', 0.0125, 'the prefix names the provider'),
	('openai', 'openai/openai/gpt-5.5', 'genai-prices/openai/gpt-5.5', 0.035, 'route and provider prefixes'),
	('openai', 'models/gpt-4o', 'genai-prices/openai/gpt-4o', 0.0125, 'models/ form'),
	('aws', 'bedrock/anthropic.claude-sonnet-4-20250514-v1:0', 'genai-prices/aws/regional.anthropic.claude-sonnet-4-20250514-v1:0', 0.018, 'route prefix'),
	(NULL, 'bedrock/anthropic.claude-sonnet-4-20250514-v1:0', 'genai-prices/aws/regional.anthropic.claude-sonnet-4-20250514-v1:0', 0.018, 'the route names the provider'),
	('aws.bedrock', 'anthropic.claude-sonnet-4-20250514-v1:0', 'genai-prices/aws/regional.anthropic.claude-sonnet-4-20250514-v1:0', 0.018, 'OpenTelemetry name'),
	('azure', 'azure/gpt-4o', 'genai-prices/openai/gpt-4o', 0.0125, 'Azure prices as OpenAI (genai-prices fallback)'),
	('azure.ai.openai', 'gpt-4o', 'genai-prices/openai/gpt-4o', 0.0125, 'OpenTelemetry name'),
	('google', 'models/gemini-2.5-flash', 'genai-prices/google/gemini-2.5-flash', 0.0028, 'models/ form'),
	('gcp.vertex_ai', 'publishers/google/models/gemini-2.5-flash', 'genai-prices/google/gemini-2.5-flash', 0.0028, 'publishers/ form'),
	(NULL, 'publishers/google/models/gemini-2.5-flash', 'genai-prices/google/gemini-2.5-flash', 0.0028, 'the publisher names the provider'),
	('gcp.gemini', 'models/gemini-2.5-pro', 'genai-prices/google/gemini-2.5-pro', 0.01125, 'OpenTelemetry name'),
	('vertex_ai', 'vertex_ai/gemini-2.5-pro', 'genai-prices/google/gemini-2.5-pro', 0.01125, 'deprecated OpenTelemetry name and route'),
	('gemini', 'gemini/gemini-2.5-pro', 'genai-prices/google/gemini-2.5-pro', 0.01125, 'LiteLLM''s spelling'),
	('google', 'vertex_ai/claude-sonnet-4@20250514', 'genai-prices/google/claude-4-sonnet', 0.018, 'Claude on Vertex'),
	('ibm.watsonx.ai', 'ibm/granite-13b-chat-v2', 'litellm/watsonx/watsonx/ibm/granite-13b-chat-v2', 0.0012, 'OpenTelemetry name; only LiteLLM prices it'),
	-- not stripped: the prefix is no provider, or the provider prices the full name
	('together', 'meta-llama/Llama-3.3-70B-Instruct-Turbo', 'genai-prices/together/meta-llama/Llama-3.3-70B-Instruct-Turbo', 0.00176, 'meta-llama is no provider: the name is kept whole'),
	(NULL, 'meta-llama/Llama-3.3-70B-Instruct-Turbo', 'genai-prices/together/meta-llama/Llama-3.3-70B-Instruct-Turbo', 0.00176, 'kept whole without a provider too'),
	('openrouter', 'openai/gpt-4o', 'genai-prices/openrouter/openai/gpt-4o', NULL, 'OpenRouter prices the full name itself'),
	('openai', 'acme/gpt-4o', NULL, NULL, 'acme is no provider: not stripped, unknown'),
	('openai', 'gpt-4o/openai', NULL, NULL, 'only a leading prefix is taken off'),
	('openai', 'openai/', NULL, NULL, 'a prefix with nothing after it'),
	('google', 'publishers/google/gemini-2.5-flash', NULL, NULL, 'publishers/ without models/ is not the form');
SELECT f.provider, f.model, f.why,
	   tokacct.price_model_for(f.provider, f.model) IS NOT DISTINCT FROM f.entry AS entry_ok,
	   tokacct.cost(f.provider, f.model, 1000, 1000, at => '2026-09-01') AS cost,
	   tokacct.cost(f.provider, f.model, 1000, 1000, at => '2026-09-01') IS NOT DISTINCT FROM f.hand AS hand_ok
  FROM form f WHERE f.hand IS NOT NULL OR f.entry IS NULL ORDER BY f.why, f.model;
-- the same from the price table, apart from cost()
SELECT bool_and(tokacct.cost(f.provider, f.model, 1000, 1000, at => '2026-09-01') =
				(SELECT (p.input_mtok + p.output_mtok) * 1000 / 1000000 FROM tokacct.price p
				  WHERE p.catalog || '/' || p.provider || '/' || p.model = f.entry AND p.customer IS NULL
					AND p.in_force_from <= '2026-09-01' ORDER BY p.in_force_from DESC LIMIT 1)) AS catalog_price
  FROM form f WHERE f.entry IS NOT NULL;
-- OpenRouter's own price of openai/gpt-4o, as its row says
SELECT tokacct.cost('openrouter', 'openai/gpt-4o', 1000, 1000, at => '2026-09-01') =
	   (SELECT (input_mtok + output_mtok) / 1000 FROM tokacct.price
		 WHERE catalog = 'genai-prices' AND provider = 'openrouter' AND model = 'openai/gpt-4o') AS openrouter_own_price;
-- the names within one catalog, without aliases or choices (the comparison
-- below pairs the catalogs' entries with it)
SELECT tokacct.price_model_in('genai-prices', 'anthropic', 'anthropic/claude-sonnet-4-20250514') AS genai,
	   tokacct.price_model_in('litellm', 'anthropic', 'anthropic/claude-sonnet-4-20250514') AS litellm,
	   tokacct.price_model_in('custom', 'anthropic', 'claude-sonnet-4-20250514') AS custom_empty,
	   tokacct.price_model_in('nonesuch', 'anthropic', 'claude-sonnet-4-20250514') AS no_catalog;

-- The user's aliases.  A provider alias: a gateway's name for OpenAI, as
-- the call's provider and as a prefix of the model name.  chatgpt-4o-latest
-- (5 in, 15 out per million: 0.02) is a name only OpenAI's provider entry
-- knows (gpt-4o would be found by OpenAI's model rule under any provider).
-- The price cache sees the change at once (the alias tables invalidate it
-- as the catalog's tables do).
SELECT tokacct.cost('my-gateway', 'chatgpt-4o-latest', 1000, 1000, at => '2026-09-01') AS before_alias,
	   tokacct.cost(NULL, 'my-gateway/gpt-4o', 1000, 1000, at => '2026-09-01') AS prefix_before;
INSERT INTO tokacct.provider_alias (provider, catalog_provider, note) VALUES ('my-gateway', 'openai', 'our gateway');
SELECT tokacct.cost('my-gateway', 'chatgpt-4o-latest', 1000, 1000, at => '2026-09-01') AS with_alias,
	   tokacct.cost(NULL, 'my-gateway/gpt-4o', 1000, 1000, at => '2026-09-01') AS prefix_with_alias,
	   tokacct.cost('openai', 'my-gateway-x/gpt-4o', 1000, 1000, at => '2026-09-01') AS other_prefix;
DELETE FROM tokacct.provider_alias WHERE provider = 'my-gateway';
SELECT tokacct.cost('my-gateway', 'chatgpt-4o-latest', 1000, 1000, at => '2026-09-01') AS alias_removed;
-- A model alias follows its model's price history, period by period: an
-- Azure deployment pointed at gpt-4o until June, then at gpt-4o-mini
-- (0.15 + 0.6 per million: 0.00075), under the call's provider (azure,
-- which prices as OpenAI); before its first period the name is unknown.
-- One statement prices the three times (one memoised name).
INSERT INTO tokacct.model_alias (provider, model, valid_from, valid_until, catalog_provider, catalog_model) VALUES
	('azure', 'prod-chat', '2026-01-01', '2026-06-01', 'openai', 'gpt-4o'),
	('azure', 'prod-chat', '2026-06-01', 'infinity', NULL, 'gpt-4o-mini'),
	('', 'team-default', '-infinity', 'infinity', 'anthropic', 'claude-sonnet-4-20250514');
SELECT t AS at, tokacct.cost('azure', 'prod-chat', 1000, 1000, at => t) AS cost,
	   tokacct.price_model_for('azure', 'Prod-Chat', t) AS entry
  FROM unnest(ARRAY['2025-12-31', '2026-03-01', '2026-07-01', '2026-03-02']::timestamptz[]) WITH ORDINALITY u(t, o) ORDER BY o;
-- an alias declared for calls that name no provider ('') serves those only
SELECT tokacct.cost(NULL, 'team-default', 1000, 1000, at => '2026-09-01') AS no_provider,
	   tokacct.cost('anthropic', 'team-default', 1000, 1000, at => '2026-09-01') AS with_provider;
-- aliases do not chain: an alias's model is resolved by the catalog's rules
INSERT INTO tokacct.model_alias (provider, model, catalog_model) VALUES ('openai', 'team-default', 'team-default');
SELECT tokacct.cost('openai', 'team-default', 1000, 1000, at => '2026-09-01') AS no_chain;
DELETE FROM tokacct.model_alias;

-- Where the catalogs disagree.  genai-prices prices Claude Sonnet 4 at 3
-- in and 15 out per million at every size; LiteLLM's entry has a tier
-- above 200,000 input tokens at 6 and 22.5.
SELECT model, litellm_model, kind, above_tokens, genai_mtok, litellm_mtok, disagreement
  FROM tokacct.catalog_disagreements(0, '2026-09-01')
 WHERE provider = 'anthropic' AND litellm_provider = 'anthropic' AND litellm_model = 'claude-sonnet-4-20250514'
 ORDER BY kind, above_tokens;
-- both prices by kind, base and tier, for that pair
SELECT kind, above_tokens, genai_mtok, litellm_mtok, genai_has, litellm_has
  FROM tokacct.catalog_comparison('2026-09-01')
 WHERE litellm_provider = 'anthropic' AND litellm_model = 'claude-sonnet-4-20250514' ORDER BY kind, above_tokens;
-- The genai-first order prices a request of 250,000 input and 40,000
-- output tokens at 250000 * 3 + 40000 * 15 = 1,350,000 micro-dollars
-- ($1.35); LiteLLM's tier gives 250000 * 6 + 40000 * 22.5 = 2,400,000
-- ($2.40): 1 - 1.35 / 2.40 = 0.4375 under, 44% rounded.
WITH tier AS (
	SELECT max(litellm_mtok) FILTER (WHERE kind = 'input') AS input_mtok,
		   max(litellm_mtok) FILTER (WHERE kind = 'output') AS output_mtok
	  FROM tokacct.catalog_comparison('2026-09-01')
	 WHERE litellm_provider = 'anthropic' AND litellm_model = 'claude-sonnet-4-20250514' AND above_tokens = 200000
), p AS (
	SELECT g.total_cost AS genai_first, g.catalog,
		   (t.input_mtok * 250000 + t.output_mtok * 40000) / 1000000 AS litellm
	  FROM tokacct.cost_breakdown('anthropic', 'claude-sonnet-4-20250514', 250000, 40000, at => '2026-09-01') g, tier t
)
SELECT genai_first, catalog, litellm, 1 - genai_first / litellm AS under,
	   round(100 * (1 - genai_first / litellm)) AS under_pct
  FROM p;
-- the threshold is a fraction of the larger price: at 0 every difference
-- is listed, at 0.5 none of those within half of the larger price; Sonnet
-- 4's missing tier is listed at any threshold
SELECT count(*) FILTER (WHERE disagreement = 'prices differ') > 0 AS some_differ_at_0,
	   count(*) FILTER (WHERE disagreement = 'prices differ'
						AND abs(genai_mtok - litellm_mtok) <= 0.5 * greatest(genai_mtok, litellm_mtok)) AS within_half_at_0
  FROM tokacct.catalog_disagreements(0, '2026-09-01');
SELECT count(*) AS within_half_listed_at_half
  FROM tokacct.catalog_disagreements(0.5, '2026-09-01')
 WHERE disagreement = 'prices differ' AND abs(genai_mtok - litellm_mtok) <= 0.5 * greatest(genai_mtok, litellm_mtok);
SELECT count(*) AS sonnet4_tier_rows_at_half FROM tokacct.catalog_disagreements(0.5, '2026-09-01')
 WHERE litellm_provider = 'anthropic' AND litellm_model = 'claude-sonnet-4-20250514';
-- the view: the same rows as the function at threshold 0 and today's
-- prices (the catalogs' entries here were loaded in force from the past)
SELECT (SELECT count(*) FROM tokacct.catalog_differences) = (SELECT count(*) FROM tokacct.catalog_disagreements(0, now())) AS same_count,
	   (SELECT count(*) FROM tokacct.catalog_differences) > 1000 AS over_a_thousand,
	   NOT EXISTS (SELECT * FROM tokacct.catalog_differences EXCEPT SELECT * FROM tokacct.catalog_disagreements(0, now())) AS same_rows;
SELECT kind, above_tokens, genai_mtok, litellm_mtok, disagreement FROM tokacct.catalog_differences
 WHERE litellm_model = 'claude-sonnet-4-20250514' AND above_tokens = 200000 ORDER BY kind;
SELECT * FROM tokacct.catalog_disagreements(-0.1);
SELECT * FROM tokacct.catalog_disagreements(NULL);

-- An admin chooses the catalog that wins: LiteLLM for Claude Sonnet 4's
-- dated names.  The 250k request then costs LiteLLM's $2.40; other
-- Anthropic models keep genai-prices; a choice naming no model covers the
-- whole provider.
INSERT INTO tokacct.price_catalog_choice (provider, model_match, catalog, note)
	VALUES ('anthropic', '{"starts_with": "claude-sonnet-4-2025"}', 'litellm', 'LiteLLM has the long-context tier');
SELECT tokacct.cost('anthropic', 'claude-sonnet-4-20250514', 250000, 40000, at => '2026-09-01') AS chosen_litellm,
	   tokacct.price_model_for('anthropic', 'claude-sonnet-4-20250514') AS entry,
	   tokacct.price_model_for('anthropic', 'anthropic/claude-sonnet-4-20250514') AS prefixed_entry,
	   tokacct.price_model_for('anthropic', 'claude-opus-4-20250514') AS other_model;
INSERT INTO tokacct.price_catalog_choice (provider, catalog) VALUES ('anthropic', 'litellm');
SELECT tokacct.price_model_for('anthropic', 'claude-opus-4-20250514') AS whole_provider;
-- the chosen catalog is tried first, then the others: a model only
-- genai-prices knows is still priced
SELECT tokacct.price_model_for('anthropic', 'claude-4-sonnet') AS fallback_to_genai;
DELETE FROM tokacct.price_catalog_choice;
SELECT tokacct.price_model_for('anthropic', 'claude-sonnet-4-20250514') AS choice_removed;
-- bad choices
INSERT INTO tokacct.price_catalog_choice (provider, catalog) VALUES ('anthropic', 'nonesuch');
-- (terse: the failing row shows an identity that depends on the suites run before)
\set VERBOSITY terse
INSERT INTO tokacct.price_catalog_choice (provider, catalog) VALUES ('Anthropic', 'litellm');
\set VERBOSITY default
INSERT INTO tokacct.price_catalog_choice (provider, model_match, catalog) VALUES ('anthropic', '{"like": "x"}', 'litellm');
INSERT INTO tokacct.price_catalog_choice (provider, catalog) VALUES ('anthropic', 'litellm'), ('anthropic', 'genai-prices');

-- leave the catalog as the other suites expect it
DELETE FROM tokacct.price_provider WHERE catalog IN ('genai-prices', 'litellm');
SELECT count(*) AS models_left FROM tokacct.price_model;
