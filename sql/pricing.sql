-- Pricing: cost() against a small hand-made catalog whose every expected
-- value is worked out in the comment beside it (price per million tokens
-- times tokens / 1e6).  Uses catalog "custom" and removes it at the end.

INSERT INTO tokacct.price_provider (catalog, provider, ordinal, provider_match, model_match)
VALUES ('custom', 'acme', 0, '{"contains": "acme"}', '{"starts_with": "acme-"}');
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES
	('custom', 'acme', 'acme-flat', 0, '{"or": [{"equals": "acme-flat"}, {"starts_with": "acme-flat-20"}]}'),
	('custom', 'acme', 'acme-tier', 1, '{"equals": "acme-tier"}'),
	('custom', 'acme', 'acme-dated', 2, '{"equals": "acme-dated"}'),
	('custom', 'acme', 'acme-offpeak', 3, '{"equals": "acme-offpeak"}'),
	('custom', 'acme', 'acme-zero', 4, '{"equals": "acme-zero"}'),
	('custom', 'acme', 'acme-nocache', 5, '{"regex": "^acme-no(cache|store)$"}'),
	('custom', 'acme', 'acme-reason', 6, '{"and": [{"contains": "reason"}, {"ends_with": "-r"}]}'),
	('custom', 'acme', 'acme-fee', 7, '{"equals": "acme-fee"}'),
	('custom', 'acme', 'acme-eur', 8, '{"equals": "acme-eur"}'),
	('custom', 'acme', 'acme-pico', 9, '{"equals": "acme-pico"}'),
	('custom', 'acme', 'acme-later', 10, '{"equals": "acme-later"}'),
	('custom', 'acme', 'acme-audio', 11, '{"equals": "acme-audio"}');
INSERT INTO tokacct.price (catalog, provider, model, variant, start_date, tod_start, tod_end, currency,
	input_mtok, cache_read_mtok, cache_write_mtok, output_mtok, reasoning_mtok, request_fee, in_force_from) VALUES
	('custom', 'acme', 'acme-flat', 0, NULL, NULL, NULL, 'USD', 3, 0.3, 3.75, 15, NULL, NULL, '-infinity'),
	('custom', 'acme', 'acme-tier', 0, NULL, NULL, NULL, 'USD', 1, 0.1, 1.25, 6, NULL, NULL, '-infinity'),
	('custom', 'acme', 'acme-dated', 0, NULL, NULL, NULL, 'USD', 2, NULL, NULL, 10, NULL, NULL, '-infinity'),
	('custom', 'acme', 'acme-dated', 1, '2026-09-01', NULL, NULL, 'USD', 3, NULL, NULL, 15, NULL, NULL, '-infinity'),
	('custom', 'acme', 'acme-offpeak', 0, NULL, NULL, NULL, 'USD', 0.135, NULL, NULL, 0.55, NULL, NULL, '-infinity'),
	('custom', 'acme', 'acme-offpeak', 1, NULL, '00:30', '16:30', 'USD', 0.27, NULL, NULL, 1.1, NULL, NULL, '-infinity'),
	('custom', 'acme', 'acme-zero', 0, NULL, NULL, NULL, 'USD', 0, NULL, NULL, 5, NULL, NULL, '-infinity'),
	('custom', 'acme', 'acme-nocache', 0, NULL, NULL, NULL, 'USD', 2, NULL, NULL, 8, NULL, NULL, '-infinity'),
	('custom', 'acme', 'acme-reason', 0, NULL, NULL, NULL, 'USD', 1, NULL, NULL, 10, 20, NULL, '-infinity'),
	('custom', 'acme', 'acme-fee', 0, NULL, NULL, NULL, 'USD', 1, NULL, NULL, 1, NULL, 0.01, '-infinity'),
	('custom', 'acme', 'acme-eur', 0, NULL, NULL, NULL, 'EUR', 1, NULL, NULL, 1, NULL, NULL, '-infinity'),
	('custom', 'acme', 'acme-pico', 0, NULL, NULL, NULL, 'USD', 0.000001, NULL, NULL, 0.000001, NULL, NULL, '-infinity'),
	('custom', 'acme', 'acme-later', 0, NULL, NULL, NULL, 'USD', 1, NULL, NULL, 1, NULL, NULL, '2026-01-01 00:00+00');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, cache_read_mtok, output_mtok,
	input_audio_mtok, cache_audio_read_mtok, output_audio_mtok)
VALUES ('custom', 'acme', 'acme-audio', 1, 0.5, 4, 10, NULL, 40);
-- context tiers: above 272,000 input tokens input 2, cache read 0.2, output 9
-- (cache write has no tier and stays at 1.25)
INSERT INTO tokacct.price_tier (price_id, kind, threshold, mtok)
SELECT price_id, k, 272000, p FROM tokacct.price, (VALUES ('input', 2), ('cache_read', 0.2), ('output', 9)) v(k, p)
 WHERE model = 'acme-tier';

-- flat: 1000 * 3 / 1e6 + 200 * 15 / 1e6 = 0.003 + 0.003
SELECT tokacct.cost('acme', 'acme-flat', 1000, 200) = 0.006 AS flat;
-- the result is numeric with the decimals it needs
SELECT tokacct.cost('acme', 'acme-flat', 1000, 200)::text AS flat_text;
-- the numeric cost() builds is an ordinary numeric: it hashes, groups and
-- prints like the same value typed in (0.006, 0.0075, 0, 12.5, 1e-12)
SET enable_sort = off;
SELECT x::text, count(*) FROM (VALUES
	(tokacct.cost('acme', 'acme-flat', 1000, 200)), (0.006), (0.0060),
	(tokacct.cost('acme', 'acme-flat', 0, 500)), (0.0075),
	(tokacct.cost('acme', 'acme-flat', 0, 0)), (0),
	(tokacct.cost('acme', 'acme-flat', 0, 833333) + 0.0000050), (12.5),
	(tokacct.cost('acme', 'acme-pico', 1, 0)), (0.000000000001)) v(x)
 GROUP BY x ORDER BY x;
RESET enable_sort;
-- and it equals, digit for digit, numeric arithmetic's result for 20,000
-- token counts of every magnitude at one picodollar per token (0 wrong)
SELECT count(*) AS checked,
       count(*) FILTER (WHERE c IS DISTINCT FROM n * 0.000000000001
                           OR c::text IS DISTINCT FROM trim_scale(n * 0.000000000001)::text) AS wrong
  FROM (SELECT n, tokacct.cost('acme', 'acme-pico', n, 0) AS c
          FROM (SELECT (hashint8extended(g, 0) & 9223372036854775807) >> (g % 63)::int AS n
                  FROM generate_series(1, 20000) g) x) y;
-- caches: uncached 10000 - 4000 - 1000 = 5000 at 3 = 15000; reads 4000 at 0.3
-- = 1200; writes 1000 at 3.75 = 3750; input 19950 / 1e6 = 0.01995;
-- output 500 at 15 = 0.0075 (reasoning 100 is part of it, priced as output)
SELECT * FROM tokacct.cost_breakdown('acme', 'acme-flat', 10000, 500, 4000, 1000, 100);
SELECT tokacct.cost('acme', 'acme-flat', 10000, 500, 4000, 1000, 100) = 0.01995 + 0.0075 AS with_caches;
-- matching: case-insensitive, provider by provider_match, model by rule
SELECT tokacct.cost(' ACME ', 'ACME-Flat', 1000, 200) = 0.006 AS case_insensitive,
       tokacct.cost('acme-cloud', 'acme-flat-2026-01-01', 1000, 200) = 0.006 AS provider_match_and_starts_with,
       tokacct.cost('acme', 'acme-nostore', 1000000, 0) = 2 AS regex,
       tokacct.cost('acme', 'xreason-r', 0, 1000000) = 10 AS and_rule,
       tokacct.cost('nobody', 'acme-flat', 1000, 200) = 0.006 AS unknown_provider_by_model_match,
       tokacct.cost(NULL, 'acme-flat', 1000, 200) = 0.006 AS null_provider;

-- context tiers, at the threshold and one token above; each kind on its own
-- 272000 in: 272000 * 1 / 1e6 = 0.272; output 1000 * 6 / 1e6 = 0.006
SELECT tokacct.cost('acme', 'acme-tier', 272000, 1000) = 0.278 AS at_threshold;
-- 272001 in: 272001 * 2 / 1e6 = 0.544002; output 1000 * 9 / 1e6 = 0.009
SELECT tokacct.cost('acme', 'acme-tier', 272001, 1000) = 0.553002 AS one_above;
-- 272001 in with 100000 read, 1000 written: uncached 171001 * 2 = 342002,
-- read 100000 * 0.2 = 20000, written 1000 * 1.25 (no tier) = 1250 -> 0.363252
SELECT input_cost = 0.363252 AS tier_per_kind FROM tokacct.cost_breakdown('acme', 'acme-tier', 272001, 0, 100000, 1000);

-- start dates: 1000 in, 1000 out: before 2026-09-01 (UTC) 0.002 + 0.01,
-- from it 0.003 + 0.015
SELECT tokacct.cost('acme', 'acme-dated', 1000, 1000, at => '2026-08-31 23:59:59.999999+00') = 0.012 AS day_before,
       tokacct.cost('acme', 'acme-dated', 1000, 1000, at => '2026-09-01 00:00:00+00') = 0.018 AS first_day,
       tokacct.cost('acme', 'acme-dated', 1000, 1000, at => '2026-09-01 01:00:00+02') = 0.012 AS utc_date_counts;
-- history: a price set in force from 2026-01-01 prices nothing before
SELECT tokacct.cost('acme', 'acme-later', 1, 1, at => '2025-12-31 23:59:59.999999+00') IS NULL AS before_history,
       tokacct.cost('acme', 'acme-later', 1000000, 0, at => '2026-01-01 00:00:00+00') = 1 AS from_history;

-- off-peak: 1e6 in, 1e6 out: peak (00:30 <= UTC time < 16:30) 0.27 + 1.1,
-- off-peak 0.135 + 0.55
SELECT tokacct.cost('acme', 'acme-offpeak', 1000000, 1000000, at => '2026-08-21 00:29:59.999999+00') = 0.685 AS before_window,
       tokacct.cost('acme', 'acme-offpeak', 1000000, 1000000, at => '2026-08-21 00:30:00+00') = 1.37 AS window_start,
       tokacct.cost('acme', 'acme-offpeak', 1000000, 1000000, at => '2026-08-21 16:29:59.999999+00') = 1.37 AS window_end,
       tokacct.cost('acme', 'acme-offpeak', 1000000, 1000000, at => '2026-08-21 16:30:00+00') = 0.685 AS after_window,
       tokacct.cost('acme', 'acme-offpeak', 1000000, 1000000, at => '2026-08-21 18:30:00+02') = 0.685 AS window_in_utc;

-- an explicit price of 0 is a price: input is free, the call is not unpriced
SELECT tokacct.cost('acme', 'acme-zero', 1000, 0) AS zero_input,
       tokacct.cost('acme', 'acme-zero', 1000, 1000, 500) = 0.005 AS cache_read_falls_back_to_zero_input;
-- missing prices fall back to the parent: cache reads and writes at input 2,
-- 10000 * 2 / 1e6 = 0.02; reasoning at output (8): 1000 * 8 / 1e6 = 0.008
SELECT tokacct.cost('acme', 'acme-nocache', 10000, 1000, 4000, 1000, 400) = 0.028 AS fallback;
-- a reasoning price of its own: 600 * 10 + 400 * 20 = 14000 -> 0.014
SELECT tokacct.cost('acme', 'x-reason-r', 0, 1000, reasoning_tokens => 400) = 0.014 AS reasoning_price;
-- per-request fee: 0.001 + 0.001 + 0.01
SELECT request_cost, total_cost = 0.012 AS fee_total FROM tokacct.cost_breakdown('acme', 'acme-fee', 1000, 1000);
-- one picodollar per token: 3 tokens = 0.000000000003
SELECT tokacct.cost('acme', 'acme-pico', 3, 0)::text AS three_picodollars;

-- usage objects (genai-prices keys): audio at 10, cached audio (no price of
-- its own) at the cache read price 0.5, text at 1, output audio at 40:
-- input 1000 = 600 text (of which 100 cached) + 400 audio (of which 50 cached)
-- text uncached 1000 - 150 - 350 = 500 * 1 = 500; text read 100 * 0.5 = 50;
-- audio uncached 350 * 10 = 3500; audio read 50 * 0.5 = 25 -> 4075 / 1e6
-- output 300 = 100 audio * 40 + 200 * 4 = 4800 / 1e6
SELECT input_cost = 0.004075 AS audio_in, output_cost = 0.0048 AS audio_out
  FROM tokacct.cost_breakdown('acme', 'acme-audio',
	'{"input_tokens": 1000, "cache_read_tokens": 150, "input_audio_tokens": 400,
	  "cache_audio_read_tokens": 50, "output_tokens": 300, "output_audio_tokens": 100}', now());
SELECT tokacct.cost('acme', 'acme-fee', '{"input_tokens": 1000, "output_tokens": 1000, "requests": 2}') = 0.022 AS two_requests,
       tokacct.cost('acme', 'acme-flat', '{"input_tokens": 10000, "cache_read_tokens": 4000, "cache_write_tokens": 1000,
	  "output_tokens": 500, "output_reasoning_tokens": 100, "input_text_tokens": 10000, "cache_read_tokens": 4000}')
	  = 0.02745 AS same_as_columns;

-- unknown models give NULL, never 0
SELECT tokacct.cost('acme', 'acme-unknown', 1000, 1000) IS NULL AS unknown_model,
       tokacct.cost_breakdown('acme', 'acme-unknown', 1000, 1000) IS NULL AS unknown_breakdown,
       tokacct.price_model_for('acme', 'acme-unknown') IS NULL AS unknown_entry,
       tokacct.price_model_for(NULL, 'ACME-flat') AS entry;
-- NULL arguments: NULL cost; NULL cache or reasoning counts are 0
SELECT tokacct.cost('acme', NULL, 1, 1) IS NULL AS null_model,
       tokacct.cost('acme', 'acme-flat', NULL, 1) IS NULL AS null_input,
       tokacct.cost('acme', 'acme-flat', 1000, 200, NULL, NULL, NULL) = 0.006 AS null_caches;

-- the ledger, sources and the unpriced models view
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, reported_cost, customer) VALUES
	('2026-08-21 10:00+00', 'acme', 'acme-flat', 1000, 200, NULL, NULL),
	('2026-08-21 10:01+00', 'acme', 'acme-flat', 1000, 200, 0.5, NULL),
	('2026-08-21 10:02+00', 'acme', 'acme-mystery', 10, 1, NULL, NULL),
	('2026-08-21 10:03+00', 'acme', 'acme-mystery', 20, 2, NULL, NULL),
	('2026-08-21 10:04+00', NULL, 'gizmo-1', 30, 3, NULL, NULL),
	('2026-08-21 10:05+00', NULL, 'gizmo-1', 30, 3, 0.25, NULL);
SELECT call_id, cost, cost_source, list_cost FROM tokacct.price_call_cost ORDER BY call_id;
SELECT * FROM tokacct.unpriced_models ORDER BY calls DESC, model;
SELECT * FROM tokacct.unpriced_models('tokacct.price_call');

-- overrides: a contract price row for bigco (input 2, output 10), a 20%
-- discount for smallco on every acme model, 50% on acme-pico
INSERT INTO tokacct.price (catalog, provider, model, customer, input_mtok, output_mtok)
VALUES ('custom', 'acme', 'acme-flat', 'bigco', 2, 10);
INSERT INTO tokacct.price_discount (customer, provider, model, multiplier, valid_from) VALUES
	('smallco', 'acme', NULL, 0.8, '2026-01-01 00:00+00'),
	('smallco', 'acme', 'acme-pico', 0.5, '-infinity');
-- bigco: 1000 * 2 + 200 * 10 = 4000 -> 0.004; list price unchanged (0.006)
SELECT tokacct.customer_cost('bigco', 'acme', 'acme-flat', 1000, 200) = 0.004 AS contract_price,
       tokacct.cost('acme', 'acme-flat', 1000, 200) = 0.006 AS list_price_unchanged,
       tokacct.customer_cost('bigco', 'acme', 'acme-dated', 1000, 1000, at => '2026-01-01') = 0.012 AS no_contract_row_list_price;
-- smallco: 0.006 * 0.8 = 0.0048 from 2026-01-01; list price before
SELECT tokacct.customer_cost('smallco', 'acme', 'acme-flat', 1000, 200, at => '2026-01-01 00:00+00') = 0.0048 AS discounted,
       tokacct.customer_cost('smallco', 'acme', 'acme-flat', 1000, 200, at => '2025-12-31 23:59+00') = 0.006 AS before_discount;
-- the most specific discount wins and rounds half away from zero to the
-- picodollar: 3 picodollars * 0.5 = 1.5 -> 2
SELECT tokacct.customer_cost('smallco', 'acme', 'acme-pico', 3, 0, at => '2026-06-01')::text AS rounded_half_up;
-- the source of each cost
SELECT (tokacct.sourced_cost(0.5, 'bigco', 'acme', 'acme-flat', 1000, 200)).*;
SELECT (tokacct.sourced_cost(NULL, 'bigco', 'acme', 'acme-flat', 1000, 200)).*;
SELECT (tokacct.sourced_cost(NULL, NULL, 'acme', 'acme-flat', 1000, 200)).*;
SELECT (tokacct.sourced_cost(NULL, NULL, 'acme', 'acme-mystery', 1000, 200)).*;
UPDATE tokacct.price_call SET customer = 'smallco' WHERE call_id = 1;
SELECT call_id, cost, cost_source, list_cost FROM tokacct.price_call_cost WHERE call_id = 1;

-- a catalog change is seen by the next call of this session (other
-- sessions: test/t/pricing_cache.sh)
SELECT tokacct.cost('acme', 'acme-flat', 1000000, 0) AS before_update;
UPDATE tokacct.price SET input_mtok = 4 WHERE model = 'acme-flat' AND customer IS NULL;
SELECT tokacct.cost('acme', 'acme-flat', 1000000, 0) AS after_update;
BEGIN;
UPDATE tokacct.price SET input_mtok = 5 WHERE model = 'acme-flat' AND customer IS NULL;
SELECT tokacct.cost('acme', 'acme-flat', 1000000, 0) AS inside_transaction;
ROLLBACK;
SELECT tokacct.cost('acme', 'acme-flat', 1000000, 0) AS after_rollback;

-- no query per row: once the cache is built, pricing 10,000 rows scans no
-- catalog table (counters of this transaction)
BEGIN;
SELECT tokacct.cost('acme', 'acme-flat', 1, 1) IS NOT NULL AS cache_built;
CREATE TEMP TABLE scans0 AS
SELECT relname, seq_scan + coalesce(idx_scan, 0) AS scans FROM pg_stat_xact_user_tables WHERE schemaname = 'tokacct';
SELECT sum(tokacct.cost('acme', CASE WHEN g % 2 = 0 THEN 'acme-flat' ELSE 'acme-tier' END, g, g)) > 0 AS priced
  FROM generate_series(1, 10000) g;
SELECT s.relname, s.seq_scan + coalesce(s.idx_scan, 0) - s0.scans AS scans_during_pricing
  FROM pg_stat_xact_user_tables s JOIN scans0 s0 USING (relname)
 WHERE s.schemaname = 'tokacct' AND s.relname LIKE 'price%' ORDER BY 1;
-- whereas a catalog change (even one touching no row: the statement trigger
-- fires) makes the next call read the catalog again
UPDATE tokacct.price_catalog SET description = description WHERE false;
SELECT tokacct.cost('acme', 'acme-flat', 1, 1) IS NOT NULL AS rebuilt;
SELECT s.seq_scan + coalesce(s.idx_scan, 0) - s0.scans > 0 AS price_read_again
  FROM pg_stat_xact_user_tables s JOIN scans0 s0 USING (relname)
 WHERE s.schemaname = 'tokacct' AND s.relname = 'price';
COMMIT;

-- parallel workers price the same as the leader (each builds its own cache)
CREATE TABLE pricing_par AS
SELECT g AS id, (g % 3000)::int8 AS input_tokens, (g % 500)::int8 AS output_tokens,
       (g % 3000 / 3)::int8 AS cache_read_tokens FROM generate_series(1, 60000) g;
ALTER TABLE pricing_par SET (parallel_workers = 2);
ANALYZE pricing_par;
-- independent: the same sum by numeric arithmetic with acme-flat's prices
-- (input 4 after the update above, cache read 0.3, output 15 per million)
SELECT sum((input_tokens - cache_read_tokens) * 4 + cache_read_tokens * 0.3 + output_tokens * 15) / 1000000 AS expected
  FROM pricing_par \gset
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT sum(tokacct.cost('acme', 'acme-flat', input_tokens, output_tokens, cache_read_tokens)) FROM pricing_par;
SELECT sum(tokacct.cost('acme', 'acme-flat', input_tokens, output_tokens, cache_read_tokens)) = :expected AS parallel_equals
  FROM pricing_par;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT sum(tokacct.cost('acme', 'acme-flat', input_tokens, output_tokens, cache_read_tokens)) = :expected AS serial_equals
  FROM pricing_par;
DROP TABLE pricing_par;

-- extremes stay exact: the largest token count at the largest price the
-- catalog accepts (just under 9223372000000 per million tokens); the oracle
-- multiplies by 0.000001 (numeric division would round)
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES ('custom', 'acme', 'acme-huge', 12, '{"equals": "acme-huge"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok) VALUES ('custom', 'acme', 'acme-huge', 9223371999999.999999, 9223371999999.999999);
SELECT tokacct.cost('acme', 'acme-flat', 9223372036854775807, 0) = 9223372036854775807 * 0.000004 AS max_tokens,
       tokacct.cost('acme', 'acme-huge', 9223372036854775807, 0) = 9223372036854775807 * 9223371999999.999999 * 0.000001 AS max_tokens_max_price;
-- ... and what cannot be kept exactly is refused, not wrapped
INSERT INTO tokacct.price_discount (customer, provider, multiplier) VALUES ('bigspender', 'acme', 2);
\set VERBOSITY default
SELECT tokacct.customer_cost('bigspender', 'acme', 'acme-huge', 9223372036854775807, 9223372036854775807);
\set VERBOSITY terse
-- ... while a result that fits is exact even when the product before the
-- division does not: half of that call (multiplier 0.5 = 500000 millionths
-- times a total near 2^127 picodollars needs 146 bits) is the cost of its
-- input alone
INSERT INTO tokacct.price_discount (customer, provider, multiplier) VALUES ('halfspender', 'acme', 0.5);
SELECT tokacct.customer_cost('halfspender', 'acme', 'acme-huge', 9223372036854775807, 9223372036854775807)
       = 9223372036854775807 * 9223371999999.999999 * 0.000001 AS half_of_the_largest_call;

-- a trojan operator in public (numeric * integer, an exact match that would
-- beat pg_catalog's numeric * numeric) is never used by the catalog reader
CREATE FUNCTION public.pricing_trojan(numeric, integer) RETURNS numeric
	LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'trojan ran'; END$$;
CREATE OPERATOR public.* (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = public.pricing_trojan);
SET search_path = public;
UPDATE tokacct.price_catalog SET description = description WHERE false;
SELECT tokacct.cost('acme', 'acme-flat', 1000000, 0) AS no_trojan;
RESET search_path;
DROP OPERATOR public.* (numeric, integer);
DROP FUNCTION public.pricing_trojan(numeric, integer);

-- bad input: every one an error with a clear message
\set VERBOSITY default
SELECT tokacct.cost('acme', 'acme-flat', -1, 0);
SELECT tokacct.cost('acme', 'acme-flat', 0, -1);
SELECT tokacct.cost('acme', 'acme-flat', 10, 0, -1);
SELECT tokacct.cost('acme', 'acme-flat', 10, 0, 0, -1);
SELECT tokacct.cost('acme', 'acme-flat', 10, 10, 0, 0, -1);
SELECT tokacct.cost('acme', 'acme-flat', 10, 0, 6, 5);
SELECT tokacct.cost('acme', 'acme-flat', 10, 5, 0, 0, 6);
SELECT tokacct.cost('acme', 'acme-flat', 10, 5, at => 'infinity');
-- a price in another currency never enters a USD cost (or a sum of them)
SELECT tokacct.cost('acme', 'acme-eur', 10, 5);
SELECT sum(tokacct.cost('acme', m, 10, 5)) FROM (VALUES ('acme-flat'), ('acme-eur')) v(m);
SELECT currency, total_cost FROM tokacct.cost_breakdown('acme', 'acme-eur', 1000000, 0);
-- usage objects
SELECT tokacct.cost('acme', 'acme-flat', '[1, 2]');
SELECT tokacct.cost('acme', 'acme-flat', '{"input_tokens": 10, "output_tokens": 1.5}');
SELECT tokacct.cost('acme', 'acme-flat', '{"input_tokens": -10}');
SELECT tokacct.cost('acme', 'acme-flat', '{"input_tokens": "10"}');
SELECT tokacct.cost('acme', 'acme-flat', '{"input_tokens": 10, "bogus_tokens": 1}');
SELECT tokacct.cost('acme', 'acme-flat', '{"input_tokens": 10, "input_audio_tokens": 5, "cache_audio_read_tokens": 6, "cache_read_tokens": 6}');
SELECT tokacct.cost('acme', 'acme-flat', '{"input_tokens": 99999999999999999999}');
-- catalog rows
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, in_force_from) VALUES ('custom', 'acme', 'acme-flat', 0.0000001, '2026-01-02 00:00+00');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, in_force_from) VALUES ('custom', 'acme', 'acme-flat', -1, '2026-01-02 00:00+00');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, currency, in_force_from) VALUES ('custom', 'acme', 'acme-flat', 1, 'usd', '2026-01-02 00:00+00');
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES ('custom', 'acme', 'bad', 99, '{"like": "x"}');
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES ('custom', 'acme', 'bad', 99, '{"or": [{"equals": "a"}, {"regex": "("}]}');
INSERT INTO tokacct.price_discount (customer, multiplier) VALUES ('x', 0.1234567);
-- (terse: the failing row holds the inserting transaction's id)
\set VERBOSITY terse
INSERT INTO tokacct.price_call (at, model, input_tokens, output_tokens, cache_read_tokens) VALUES ('2026-01-02 00:00+00', 'm', 1, 1, 2);

DELETE FROM tokacct.price_call;
DELETE FROM tokacct.price_discount;
DELETE FROM tokacct.price_provider WHERE catalog = 'custom';
SELECT tokacct.cost('acme', 'acme-flat', 1, 1) IS NULL AS catalog_removed;
