-- Access and roles.  A reader (grant_reader()) reads the views of tokacct
-- and of every attached source and prices calls, and reads no table of
-- tokacct: the pricing functions read the catalog with the extension
-- owner's rights, the attached views read tokacct's small tables through
-- the *_rows() functions.  An admin (grant_admin()) also manages the
-- tables.  Someone without either may not price.
-- In a database of its own: the suites after it find tokacct's catalog
-- and sequences as they left them.
\set regress_db :DBNAME
CREATE DATABASE tokacct_roles;
\c tokacct_roles
SET client_min_messages = warning;
CREATE EXTENSION tokacct;
RESET client_min_messages;
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';
\getenv shared SHARED_DATA
-- the bi suite's workload: prices of 1.00 per million input tokens for
-- models small, large and tiny of provider acme, the claims baseline, and
-- the span table bi_src.spans (see sql/bi.sql)
\set ECHO none
\o /dev/null
\set workload :shared '/../test/sql/bi_workload.sql'
\i :workload
SELECT count(*) FROM tokacct.attach('bi', 'bi_src.spans', '{"trace_id": "tid", "span_id": "sid",
	"start_time": "started_at", "kind": "kind", "provider": "provider", "model": "model", "input_tokens": "input",
	"output_tokens": "output", "outcome": "outcome", "workflow": "wf", "item": "item", "segment": "seg"}');
CREATE TABLE bi_src.sor AS
SELECT item AS item_key, min(wf) AS workflow, min(started_at) AS opened, max(started_at) + interval '2 hours' AS resolved,
	   'AI agent'::text AS handler, 3.0 AS minutes, 0.00 AS charge
  FROM bi_src.spans GROUP BY item
UNION ALL
SELECT 'old-' || g, 'claims', '2026-01-05'::timestamptz + g * interval '1 day', '2026-01-08'::timestamptz + g * interval '1 day',
	   'Outsourced', 0, 4.50 FROM generate_series(1, 40) g;
SELECT count(*) FROM tokacct.attach_records('ops', 'bi_src.sor', '{"item": "item_key", "workflow": "workflow",
	"opened_at": "opened", "resolved_at": "resolved", "handler": "handler", "human_minutes": "minutes", "bpo_charge": "charge"}');
INSERT INTO tokacct.allocation_budget VALUES ('bi', 1000);
INSERT INTO tokacct.cutover (workflow, cutover_on) VALUES ('claims', '2026-03-01');
INSERT INTO tokacct.model_alias (provider, model, catalog_model) VALUES ('acme', 'mystery', 'small');
INSERT INTO tokacct.provider_alias (provider, catalog_provider) VALUES ('acme-eu', 'acme');
\o
\set ECHO all

CREATE ROLE tokacct_test_reader;
CREATE ROLE tokacct_test_admin;
CREATE ROLE tokacct_test_nobody;
GRANT USAGE ON SCHEMA bi_src TO tokacct_test_reader;
GRANT SELECT ON bi_src.spans, bi_src.sor TO tokacct_test_reader;
CALL tokacct.grant_reader('tokacct_test_reader');
CALL tokacct.grant_admin('tokacct_test_admin');

-- The reader holds no privilege on any table or sequence of tokacct
-- (every one the extension has, listed from the system catalog)...
SELECT c.oid::regclass AS granted
  FROM pg_class c
 WHERE c.relnamespace = 'tokacct'::regnamespace AND c.relkind IN ('r', 'p', 'S', 'f', 'm')
   AND (has_table_privilege('tokacct_test_reader', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
		OR (c.relkind = 'S' AND has_sequence_privilege('tokacct_test_reader', c.oid, 'USAGE')));
-- ...and the admin every privilege it manages them with.
SELECT c.oid::regclass AS not_granted
  FROM pg_class c
 WHERE c.relnamespace = 'tokacct'::regnamespace AND c.relkind IN ('r', 'p')
   AND NOT has_table_privilege('tokacct_test_admin', c.oid, 'SELECT, INSERT, UPDATE, DELETE');

-- As the reader, reading, inserting, changing and deleting every table of
-- tokacct is refused with 42501 (a statement that were not refused is
-- rolled back and named).
SET ROLE tokacct_test_reader;
SELECT * FROM tokacct.price;
DO $$
DECLARE
	t regclass;
	col name;
	stmt text;
	tables int := 0;
	refused int := 0;
BEGIN
	FOR t IN SELECT c.oid FROM pg_class c
			  WHERE c.relnamespace = 'tokacct'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname LOOP
		tables := tables + 1;
		SELECT a.attname INTO col FROM pg_attribute a WHERE a.attrelid = t AND a.attnum > 0 AND NOT a.attisdropped
		 ORDER BY a.attnum LIMIT 1;
		FOREACH stmt IN ARRAY ARRAY['SELECT * FROM %s LIMIT 1', 'INSERT INTO %s DEFAULT VALUES',
									'UPDATE %1$s SET %2$I = DEFAULT', 'DELETE FROM %s', 'TRUNCATE %s'] LOOP
			BEGIN
				EXECUTE format(stmt, t, col);
				RAISE EXCEPTION USING ERRCODE = 'T0001', MESSAGE = format(stmt, t, col);
			EXCEPTION
				WHEN insufficient_privilege THEN refused := refused + 1;
				WHEN SQLSTATE 'T0001' THEN RAISE NOTICE 'not refused: %', SQLERRM;
				WHEN OTHERS THEN RAISE NOTICE 'not refused for lack of privilege (%): %', SQLSTATE, format(stmt, t, col);
			END;
		END LOOP;
	END LOOP;
	RAISE NOTICE 'every statement on each of more than 15 tables refused with 42501: %', tables > 15 AND refused = tables * 5;
END
$$;
RESET ROLE;

-- Every view reads as the reader, with the rows the owner sees: tokacct's
-- own views and every view of the attached sources (attachment.views).
-- The owner's counts first.
CREATE TEMP TABLE view_rows AS
SELECT v.v, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', v.v), false, true, '')))[1]::text::bigint AS n
  FROM (SELECT c.oid::regclass AS v FROM pg_class c WHERE c.relnamespace = 'tokacct'::regnamespace AND c.relkind = 'v'
		UNION ALL
		SELECT unnest(a.views)::regclass FROM tokacct.attachment a) v;
GRANT SELECT ON view_rows TO tokacct_test_reader;
SELECT count(*) > 25 AS many_views, count(*) FILTER (WHERE n > 0) > 15 AS many_with_rows,
	   count(*) FILTER (WHERE v::text LIKE 'ops.%') > 0 AS records_views
  FROM view_rows;
SET ROLE tokacct_test_reader;
SELECT v AS differs
  FROM view_rows
 WHERE n IS DISTINCT FROM (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', v), false, true, '')))[1]::text::bigint;
-- the views map names through tokacct.model_alias and provider_alias for
-- the reader: the 13th letter's model "mystery" is priced as small, so the
-- letters workflow has no unpriced call left (1,000 tokens at 1.00 a
-- million: 13 calls, 0.013)
SELECT workflow, count(*) AS calls, sum(cost) AS cost FROM bi.calls WHERE workflow = 'letters' GROUP BY 1;
SELECT count(*) AS unpriced FROM bi.unpriced_models;
-- and cost() itself: mystery of acme is small, small of acme-eu is acme's
SELECT tokacct.cost('acme', 'mystery', 1000, 0) AS model_aliased,
	   tokacct.cost('acme-eu', 'small', 1000, 0) AS provider_aliased;
RESET ROLE;

-- The reader prices: 1,000,000 input tokens of small at 1.00.
SET ROLE tokacct_test_reader;
SELECT tokacct.cost('acme', 'small', 1000000, 0) AS reader_cost;
RESET ROLE;
-- The admin changes the catalog; the reader's next cost() sees the new
-- price (the session's cache is invalidated): 2.00.
SET ROLE tokacct_test_admin;
UPDATE tokacct.price SET input_mtok = 2.00 WHERE model = 'small';
INSERT INTO tokacct.baseline (workflow, bpo_unit_price) VALUES ('letters', 0.50);
DELETE FROM tokacct.baseline WHERE workflow = 'letters';
RESET ROLE;
SET ROLE tokacct_test_reader;
SELECT tokacct.cost('acme', 'small', 1000000, 0) AS reader_cost_after;
RESET ROLE;

-- An error inside the catalog load, read with the owner's rights: the
-- reader comes back as itself and still reads no table.  (The owner hides
-- a catalog table for the time of a transaction: the load's query on it
-- fails.)
UPDATE tokacct.price SET input_mtok = 1.00 WHERE model = 'small';
BEGIN;
ALTER TABLE tokacct.price_tier RENAME TO price_tier_hidden;
SELECT set_config('roles.session_user', session_user, true) IS NOT NULL AS noted;
SET LOCAL ROLE tokacct_test_reader;
DO $$
BEGIN
	BEGIN
		PERFORM tokacct.cost('acme', 'small', 1000000, 0);
		RAISE NOTICE 'the load did not fail';
	EXCEPTION WHEN OTHERS THEN
		RAISE NOTICE 'load failed: %', SQLERRM;
	END;
	RAISE NOTICE 'current_user %, session_user unchanged: %, search_path still pinned: %',
		current_user, session_user = current_setting('roles.session_user'),
		current_setting('search_path') = 'pg_catalog, pg_temp';
	BEGIN
		PERFORM count(*) FROM tokacct.price;
		RAISE NOTICE 'the reader read tokacct.price';
	EXCEPTION WHEN insufficient_privilege THEN
		RAISE NOTICE 'still refused: %', SQLERRM;
	END;
	-- a temporary table is refused in a security-restricted operation:
	-- the reader is out of it
	CREATE TEMP TABLE after_error (x int);
	DROP TABLE after_error;
END
$$;
ROLLBACK;
SET ROLE tokacct_test_reader;
SELECT current_user, tokacct.cost('acme', 'small', 1000000, 0) AS reader_cost_again;
RESET ROLE;

-- A trap: the reader plants functions and an operator named like those the
-- load could resolve (lower, btrim, text =) in a schema of its own, first
-- on its search_path; each logs who ran it.  The load (made to happen by a
-- change to the catalog) runs none of them, while the reader's own
-- unqualified calls do.
CREATE SCHEMA trap AUTHORIZATION tokacct_test_reader;
SET ROLE tokacct_test_reader;
CREATE TABLE trap.ran (who name, what text);
CREATE FUNCTION trap.lower(text) RETURNS text LANGUAGE plpgsql AS
	$$ BEGIN INSERT INTO trap.ran VALUES (current_user, 'lower'); RETURN pg_catalog.lower($1); END $$;
CREATE FUNCTION trap.btrim(text) RETURNS text LANGUAGE plpgsql AS
	$$ BEGIN INSERT INTO trap.ran VALUES (current_user, 'btrim'); RETURN pg_catalog.btrim($1); END $$;
CREATE FUNCTION trap.texteq(text, text) RETURNS bool LANGUAGE plpgsql AS
	$$ BEGIN INSERT INTO trap.ran VALUES (current_user, '='); RETURN pg_catalog.texteq($1, $2); END $$;
CREATE OPERATOR trap.= (LEFTARG = text, RIGHTARG = text, FUNCTION = trap.texteq);
GRANT INSERT ON trap.ran TO PUBLIC;
RESET ROLE;
UPDATE tokacct.price SET input_mtok = 3.00 WHERE model = 'small';
SET ROLE tokacct_test_reader;
SET search_path = trap, pg_catalog;
SELECT tokacct.cost('acme', 'small', 1000000, 0) AS reader_cost_trapped;
SELECT count(*) AS trap_ran FROM trap.ran;
-- the trap is armed: the reader's own unqualified calls run it
SELECT lower('X') = 'x' AS armed;
SELECT who, what FROM trap.ran;
RESET search_path;
RESET ROLE;
DROP SCHEMA trap CASCADE;

-- Without the grant: no pricing, directly or through attach_list_cost()
-- (which calls cost() itself), no table, no *_rows() function; the
-- scalar functions stay open to everyone.
SET ROLE tokacct_test_nobody;
SELECT tokacct.effective_cost(0.42, 0.7) AS anyone;
SELECT tokacct.cost('acme', 'small', 1000000, 0);
SELECT tokacct.attach_list_cost('acme', 'small', '1000000', '0', NULL, NULL, NULL, now(), false);
SELECT * FROM tokacct.model_alias_rows();
SELECT count(*) FROM tokacct.price_discount;
RESET ROLE;
-- the reader may call attach_list_cost(): 1,000,000 at 3.00
SET ROLE tokacct_test_reader;
SELECT tokacct.attach_list_cost('acme', 'small', '1000000', '0', NULL, NULL, NULL, now(), false) AS reader_list_cost;
RESET ROLE;

-- Row-level security forced on a catalog table applies to the owner who
-- reads it: refused for every role, the reader included.
ALTER TABLE tokacct.price_tier ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
SET ROLE tokacct_test_reader;
SELECT tokacct.cost('acme', 'small', 1000000, 0);
RESET ROLE;
ALTER TABLE tokacct.price_tier DISABLE ROW LEVEL SECURITY, NO FORCE ROW LEVEL SECURITY;

-- Granting is not the admin's to do; bad input.
SET ROLE tokacct_test_admin;
CALL tokacct.grant_reader('tokacct_test_nobody');
RESET ROLE;
CALL tokacct.grant_reader('no_such_role');
CALL tokacct.grant_reader(NULL);

\c :regress_db
DROP DATABASE tokacct_roles;
DROP ROLE tokacct_test_reader, tokacct_test_admin, tokacct_test_nobody;
