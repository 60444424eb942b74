-- The price cache within one session: regular expressions in match rules
-- (bounded, and a cancelled match is never an answer), and row-level
-- security on the catalog (refused for the roles it applies to).  Several
-- sessions: test/t/pricing_cache.sh and test/t/pricing_replication.sh.

-- A match rule's regex is checked when stored.  genai-prices' own patterns
-- pass; back-references and lookarounds (matching time exponential, or
-- polynomial of a high degree, in the length of the name), patterns over
-- 1000 characters and automata over 1000 states do not.
SELECT tokacct.price_check_regex('^gpt-5\.6-sol-\d{4}-\d{2}-\d{2}$') AS genai_pattern,
       tokacct.price_check_regex('(?:mi|code|dev|magi|mini)stral') AS genai_alternatives,
       tokacct.price_check_regex('^(a{1,250})b') AS long_repetition,
       tokacct.price_check_regex(repeat('[ab]', 250)) AS thousand_characters;
SELECT tokacct.price_check_regex('^(.*)(.*)(.*)\3\2\1$');
SELECT tokacct.price_check_regex('^gpt-4(?!o)');
SELECT tokacct.price_check_regex('(?<=x)y');
SELECT tokacct.price_check_regex(repeat('a', 1001));
SELECT tokacct.price_check_regex('^((a{1,30}){1,30})b');
SELECT tokacct.price_check_regex('[a-');
SELECT tokacct.price_check_regex(NULL) IS NULL AS null_is_null;
-- ...through the catalog's CHECK constraints and the loaders, naming the rule
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'slow', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match)
VALUES ('custom', 'slow', 'backref', 0, '{"or": [{"equals": "x"}, {"regex": "^(a+)\\1$"}]}');
SELECT * FROM tokacct.load_prices_genai('[{"id": "p", "models": [{"id": "m", "match": {"regex": "^m(?=1)"}, "prices": {"input_mtok": 1}}]}]');
-- ...and by price_check_match() itself, which they call: every bound, and a
-- syntax error, as price_check_regex() reports it, naming the rule
SELECT tokacct.price_check_match('{"regex": "^((a{1,30}){1,30})b"}', 'rule r');
SELECT tokacct.price_check_match(jsonb_build_object('and', jsonb_build_array(
	'{"equals": "x"}'::jsonb, jsonb_build_object('regex', repeat('a', 1001)))), 'rule r');
SELECT tokacct.price_check_match('{"regex": "(?<=x)y"}', 'rule r');
SELECT tokacct.price_check_match('{"regex": "[a-"}', 'rule r');
SELECT tokacct.price_check_match(jsonb_build_object('regex', repeat('[ab]', 250)), 'rule r') AS thousand_characters;
-- A rule stored before the check (a catalog from an older version) is
-- refused when the cache compiles it, naming the model; nothing is priced
-- from a catalog the cache cannot hold whole.
BEGIN;
ALTER TABLE tokacct.price_model DROP CONSTRAINT price_model_check;
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match)
VALUES ('custom', 'slow', 'backref', 0, '{"regex": "^(a+)\\1$"}');
SELECT tokacct.cost('slow', 'aa', 1000000, 0);
ROLLBACK;

-- A cancelled match cancels the statement and is not remembered.  400
-- rules that do not match the name, each taking a while on it (a repetition
-- of up to 250 scanned over 241 characters), come before the rule
-- that matches (10 per million input tokens) and a cheaper catch-all (1).
-- A statement timeout during the scan cancels the call; without it the
-- same call finds the matching rule, not the catch-all.
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match)
SELECT 'custom', 'slow', 'r' || g, g, '{"regex": "^(a{1,250})b"}' FROM generate_series(1, 400) g;
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES
	('custom', 'slow', 'target', 1000, '{"regex": "^a+z$"}'),
	('custom', 'slow', 'cheap', 1001, '{"starts_with": "aaa"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok) VALUES
	('custom', 'slow', 'target', 10, 0), ('custom', 'slow', 'cheap', 1, 0);
SELECT tokacct.cost('slow', 'warm-up', 1, 1) AS cache_built;
SET statement_timeout = '20ms';
SELECT tokacct.cost('slow', repeat('a', 240) || 'z', 1000000, 0);
RESET statement_timeout;
SELECT tokacct.cost('slow', repeat('a', 240) || 'z', 1000000, 0) AS after_cancel;
-- and the match is remembered once found
SELECT tokacct.cost('slow', repeat('a', 240) || 'z', 1000000, 0) AS remembered;
DELETE FROM tokacct.price_provider WHERE provider = 'slow';

-- Row-level security on the catalog.  Each tenant role has a contract
-- price (a: 1, b: 2 per million input tokens; list price 3), and a policy
-- would show each role the list price and its own contract only.
CREATE ROLE cache_tenant_a;
CREATE ROLE cache_tenant_b;
CREATE ROLE cache_auditor BYPASSRLS;
CALL tokacct.grant_reader('cache_tenant_a');
CALL tokacct.grant_reader('cache_tenant_b');
CALL tokacct.grant_reader('cache_auditor');
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'acme', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES ('custom', 'acme', 'm', 0, '{"equals": "m"}');
INSERT INTO tokacct.price (catalog, provider, model, customer, input_mtok, output_mtok) VALUES
	('custom', 'acme', 'm', NULL, 3, 0),
	('custom', 'acme', 'm', 'cache_tenant_a', 1, 0),
	('custom', 'acme', 'm', 'cache_tenant_b', 2, 0);
-- (a reader reads no table of tokacct: the tenants are given the price table to show the policy)
GRANT SELECT ON tokacct.price TO cache_tenant_a, cache_tenant_b;
CREATE POLICY own_contract ON tokacct.price USING (customer IS NULL OR customer = current_user);
ALTER TABLE tokacct.price ENABLE ROW LEVEL SECURITY;
-- the owner (a superuser here) bypasses the policy: the cache holds every row
SELECT tokacct.customer_cost('cache_tenant_a', 'acme', 'm', 1000000, 0) AS owner_a,
       tokacct.customer_cost('cache_tenant_b', 'acme', 'm', 1000000, 0) AS owner_b,
       tokacct.cost('acme', 'm', 1000000, 0) AS owner_list;
-- tenant a reads its rows only; cost() refuses to price from a cache that
-- holds b's contract
SET ROLE cache_tenant_a;
SELECT customer, input_mtok FROM tokacct.price WHERE model = 'm' ORDER BY customer;
SELECT tokacct.customer_cost('cache_tenant_b', 'acme', 'm', 1000000, 0);
RESET ROLE;
-- the policy changes (the cache is invalidated) and tenant a prices first:
-- refused, rather than read a cache that lacks b's contract for b
ALTER POLICY own_contract ON tokacct.price USING (customer IS NULL OR customer = current_user);
SET ROLE cache_tenant_a;
SELECT tokacct.cost('acme', 'm', 1000000, 0);
RESET ROLE;
SET SESSION AUTHORIZATION cache_tenant_b;
SELECT tokacct.customer_cost('cache_tenant_b', 'acme', 'm', 1000000, 0);
RESET SESSION AUTHORIZATION;
-- a SECURITY DEFINER function runs as its owner: refused too
CREATE FUNCTION pg_temp.tenant_a_cost() RETURNS numeric LANGUAGE sql SECURITY DEFINER
	AS $$ SELECT tokacct.customer_cost('cache_tenant_b', 'acme', 'm', 1000000, 0) $$;
ALTER FUNCTION pg_temp.tenant_a_cost() OWNER TO cache_tenant_a;
SELECT pg_temp.tenant_a_cost();
-- roles that bypass the policy read the whole catalog and price: the owner
-- and a BYPASSRLS role, each contract at its price
SELECT tokacct.customer_cost('cache_tenant_b', 'acme', 'm', 1000000, 0) AS owner_b_again;
SET ROLE cache_auditor;
SELECT tokacct.customer_cost('cache_tenant_a', 'acme', 'm', 1000000, 0) AS auditor_a,
       tokacct.customer_cost('cache_tenant_b', 'acme', 'm', 1000000, 0) AS auditor_b;
RESET ROLE;
-- without row-level security every reader sees (and prices) every row
ALTER TABLE tokacct.price DISABLE ROW LEVEL SECURITY;
SET ROLE cache_tenant_a;
SELECT tokacct.customer_cost('cache_tenant_a', 'acme', 'm', 1000000, 0) AS tenant_a_after,
       tokacct.customer_cost('cache_tenant_b', 'acme', 'm', 1000000, 0) AS tenant_b_after;
RESET ROLE;
DROP FUNCTION pg_temp.tenant_a_cost();
DROP POLICY own_contract ON tokacct.price;
DELETE FROM tokacct.price_provider WHERE provider = 'acme';
REVOKE ALL ON ALL TABLES IN SCHEMA tokacct FROM cache_tenant_a, cache_tenant_b, cache_auditor;
REVOKE ALL ON SCHEMA tokacct FROM cache_tenant_a, cache_tenant_b, cache_auditor;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tokacct FROM cache_tenant_a, cache_tenant_b, cache_auditor;
DROP ROLE cache_tenant_a, cache_tenant_b, cache_auditor;
