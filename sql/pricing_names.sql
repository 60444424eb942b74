-- Provider and model names are compared by one rule, in the loaders, the
-- catalog's checks and the matcher alike: tokacct.fold_name(), which folds
-- ASCII A-Z to a-z and keeps every other character as it is, whatever the
-- database's locale.  Before, the loaders lower-cased with SQL lower()
-- (locale-dependent, É -> é) and the matcher folded ASCII only, so a
-- provider named with an accented capital matched in one spelling and cost
-- NULL in another.
SET timezone = 'UTC';

-- the rule: ASCII letters only; É, Ä, Ö, the Turkish İ (U+0130) and ı
-- (U+0131) are kept
SELECT tokacct.fold_name('GPT-4o') AS ascii, tokacct.fold_name('ÉX') AS e_acute,
       tokacct.fold_name('ÄÖÜ-Ab') AS umlauts, tokacct.fold_name('İI') AS dotted_capital_i,
       tokacct.fold_name('ıi') AS dotless_i, tokacct.fold_name('') AS empty, tokacct.fold_name(NULL) AS null_name;
-- it does not depend on the collation, where lower() does (in Turkish,
-- lower('I') is the dotless ı)
SELECT lower('TITAN' COLLATE "tr-TR-x-icu") AS lower_turkish, lower('TITAN' COLLATE "C") AS lower_c,
       tokacct.fold_name('TITAN' COLLATE "tr-TR-x-icu") AS fold_turkish, tokacct.fold_name('TITAN' COLLATE "C") AS fold_c;

-- LiteLLM names its provider Éx: stored as fold_name('Éx') = 'Éx' (before:
-- 'éx', which the matcher never produces from 'Éx'); "Éx/Mödel-A" is also
-- matched as "Mödel-A"
SELECT providers, models FROM tokacct.load_prices_litellm('{
  "Éx/Mödel-A": {"litellm_provider": "Éx", "input_cost_per_token": 1e-06},
  "ÉX/Mödel-B": {"litellm_provider": "Éx", "input_cost_per_token": 2e-06},
  "éx/Mödel-C": {"litellm_provider": "Éx", "input_cost_per_token": 3e-06}}', '2026-01-01');
SELECT provider, model, match FROM tokacct.price_model WHERE catalog = 'litellm' ORDER BY model;
-- Every spelling the rule calls equal gets the same answer, 1 per million
-- input tokens for Mödel-A; the others (é for É, ö for Ö) are other names
-- and get NULL.  Before: 'Éx' gave NULL and 'éx' gave 1.  "equal" is the
-- rule worked by hand (a provider name is also trimmed of spaces).
CREATE TEMP TABLE spelling_a (p text, m text, equal bool);
INSERT INTO spelling_a VALUES
	('Éx', 'Mödel-A', true), ('ÉX', 'MöDEL-a', true), (' Éx ', 'mödel-a', true), ('Éx', 'Éx/Mödel-A', true),
	('ÉX', 'ÉX/MÖDEL-A', false), ('éx', 'Mödel-A', false), ('ÉX', 'MÖDEL-A', false), ('éX', 'mödel-a', false);
SELECT p AS provider, m AS model, equal, tokacct.cost(p, m, 1000000, 0, at => '2026-06-01') AS cost FROM spelling_a;
SELECT bool_and((tokacct.cost(p, m, 1000000, 0, at => '2026-06-01') IS NOT DISTINCT FROM 1) = equal) AS same_answer_iff_equal,
       bool_and((tokacct.fold_name(btrim(p)) = 'Éx' AND tokacct.fold_name(m) IN ('mödel-a', 'Éx/mödel-a')) = equal) AS fold_name_agrees
  FROM spelling_a;
-- the provider prefix of an entry's key is compared by the same rule:
-- "ÉX/Mödel-B" is also "Mödel-B"; "éx/Mödel-C" is not under Éx, so it
-- keeps its full name only
SELECT tokacct.cost('Éx', 'Mödel-B', 1000000, 0, at => '2026-06-01') AS b_short,
       tokacct.cost('Éx', 'Mödel-C', 1000000, 0, at => '2026-06-01') AS c_short,
       tokacct.cost('Éx', 'éx/Mödel-C', 1000000, 0, at => '2026-06-01') AS c_full;
-- and literally: a "_" in the provider is not a wildcard (before, LIKE
-- took "aXb/m1" as being under provider "a_b")
SELECT providers, models FROM tokacct.load_prices_litellm('{
  "aXb/m1": {"litellm_provider": "a_b", "input_cost_per_token": 1e-06}}', '2026-01-01');
SELECT tokacct.cost('a_b', 'm1', 1, 0) IS NULL AS not_an_alias, tokacct.cost('a_b', 'aXb/m1', 1000000, 0, at => '2026-06-01') AS full_name;

-- genai-prices: a provider id with a non-ASCII capital is an id like any
-- other (before: refused as "not lower case"), one with an ASCII capital
-- is refused; match rules compare folded names both ways
SELECT providers, models FROM tokacct.load_prices_genai('[
  {"id": "ärzte", "name": "Ärzte", "provider_match": {"equals": "Ärzte-Cloud"},
   "models": [{"id": "İnce", "match": {"starts_with": "İnce-Model"}, "prices": {"input_mtok": 4}}]},
  {"id": "Ärzte", "models": [{"id": "İnce", "match": {"equals": "İNCE"}, "prices": {"input_mtok": 5}}]}]', '2026-01-01');
-- ärzte's model İnce costs 4 per million, Ärzte's 5: "cost" is worked by
-- hand from the rule (NULL: not the same name)
CREATE TEMP TABLE spelling_b (p text, m text, cost numeric);
INSERT INTO spelling_b VALUES
	('ärzte', 'İnce-Model-2', 4), ('ärzte', 'İNCE-MODEL-2', 4), ('ÄRZTE-CLOUD', 'İnce-model', 4), ('Ärzte-Cloud', 'İnce-Model', 4),
	('Ärzte', 'İNCE', 5), ('Ärzte', 'İnce', 5),
	('ärzte', 'ince-model', NULL), ('ärzte', 'ınce-model', NULL), ('ärzte-cloud', 'İnce-Model', NULL), ('ÄRZTE', 'ince', NULL);
SELECT p AS provider, m AS model, cost AS by_rule, tokacct.cost(p, m, 1000000, 0, at => '2026-06-01') AS cost FROM spelling_b;
SELECT bool_and(tokacct.cost(p, m, 1000000, 0, at => '2026-06-01') IS NOT DISTINCT FROM cost) AS same_answer_iff_equal FROM spelling_b;
\set VERBOSITY terse
SELECT * FROM tokacct.load_prices_genai('[{"id": "ÄRZTe", "models": []}]');
SELECT * FROM tokacct.load_prices_genai('[{"id": "x", "fallback_model_providers": ["Ärzte", "OpenAI"], "models": []}]');
-- the catalog tables hold the same rule: a provider id (or a discount's
-- provider) with an ASCII capital is refused, one with É is not
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'Éclair', 0), ('custom', 'éclair', 1);
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'ÉClair', 2);
INSERT INTO tokacct.price_discount (customer, provider, multiplier) VALUES ('c', 'Éclair', 0.5), ('c', NULL, 0.9);
INSERT INTO tokacct.price_discount (customer, provider, multiplier) VALUES ('c', 'OpenAI', 0.5);
\set VERBOSITY default
SELECT provider FROM tokacct.price_provider WHERE catalog = 'custom' ORDER BY ordinal;
SELECT provider FROM tokacct.price_discount ORDER BY provider NULLS LAST;

DELETE FROM tokacct.price_discount;
DELETE FROM tokacct.price_provider WHERE catalog IN ('custom', 'genai-prices', 'litellm');

-- The price kinds have one definition, in C: tokacct.price_kinds() lists
-- them, the price table has one <kind>_mtok column per kind in that order
-- (made from the list at install), price_tier takes exactly those kinds and
-- the loader stores each in its column.  Before, the twelve kinds were also
-- spelled in price_tier's check, in the loader and in the table.
SELECT tokacct.price_kinds();
SELECT array_agg(attname::text ORDER BY attnum) FILTER (WHERE attname LIKE '%\_mtok')
		= (SELECT array_agg(k || '_mtok' ORDER BY n) FROM unnest(tokacct.price_kinds()) WITH ORDINALITY u(k, n))
	   AS one_column_per_kind
  FROM pg_attribute WHERE attrelid = 'tokacct.price'::regclass AND attnum > 0 AND NOT attisdropped;
-- the loader: kind number n priced at n per million tokens lands in its
-- column (input_mtok 1, cache_read_mtok 2, ..., output_video_mtok 12), and
-- a tier of each kind is accepted by price_tier; another kind is not
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'kinds', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES ('custom', 'kinds', 'k', 0, '{"equals": "k"}');
SELECT tokacct.price_put_model_prices('custom', 'kinds', 'k', jsonb_build_array(jsonb_build_object('prices',
		(SELECT jsonb_object_agg(k, jsonb_build_object('base', n, 'tiers', jsonb_build_array(jsonb_build_object('start', 1000, 'price', n + 100))))
		   FROM unnest(tokacct.price_kinds()) WITH ORDINALITY u(k, n)))), NULL, 'the kinds test') AS loaded;
SELECT input_mtok, cache_read_mtok, cache_write_mtok, output_mtok, reasoning_mtok, input_audio_mtok,
	   cache_audio_read_mtok, output_audio_mtok, input_image_mtok, output_image_mtok, input_video_mtok, output_video_mtok
  FROM tokacct.price WHERE provider = 'kinds';
SELECT string_agg(t.kind || ' ' || t.mtok, ', ' ORDER BY t.mtok) AS tiers
  FROM tokacct.price_tier t JOIN tokacct.price p USING (price_id) WHERE p.provider = 'kinds';
\set VERBOSITY terse
INSERT INTO tokacct.price_tier (price_id, kind, threshold, mtok)
SELECT price_id, 'input_text', 0, 1 FROM tokacct.price WHERE provider = 'kinds';
SELECT tokacct.price_put_model_prices('custom', 'kinds', 'k', '[{"prices": {"input_text": 1}}]', '2027-01-01', 'the kinds test');
\set VERBOSITY default
DELETE FROM tokacct.price_provider WHERE provider = 'kinds';
