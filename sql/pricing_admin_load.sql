-- Loading a catalog without superuser (issue 13, item 5).  The loaders take
-- the catalog's JSON as a value; pg_read_file() reads a file on the server
-- and needs superuser or pg_read_server_files.  An admin role (granted by
-- grant_admin(), nothing more) has psql read the file on the client and
-- passes its text: \set name `cat file`, then :'name' as the argument.
SET timezone = 'UTC';
CREATE ROLE tokacct_test_loader;
CREATE ROLE tokacct_test_viewer;
CALL tokacct.grant_admin('tokacct_test_loader');
CALL tokacct.grant_reader('tokacct_test_viewer');
SET ROLE tokacct_test_loader;
SELECT current_user, r.rolsuper, pg_has_role(current_user, 'pg_read_server_files', 'MEMBER') AS reads_server_files
  FROM pg_roles r WHERE r.rolname = current_user;
-- the server-side way is refused to this role
SELECT length(pg_read_file(current_setting('data_directory') || '/PG_VERSION'));
-- the client-side way: psql reads the files (the environment variable
-- SHARED_DATA names the data folder in the tests; give your own path)
\set genai_prices `cat "$SHARED_DATA/genai-prices/data.json"`
\set litellm_prices `cat "$SHARED_DATA/litellm/model_prices_and_context_window.json"`
SELECT * FROM tokacct.load_prices_genai(:'genai_prices', '2026-08-21');
SELECT * FROM tokacct.load_prices_litellm(:'litellm_prices', '2026-07-24');
-- loading the same file again writes nothing
SELECT price_sets_added FROM tokacct.load_prices_genai(:'genai_prices', '2026-08-21');
-- the admin prices with what it loaded: gpt-4o, 2.5 in and 10 out per
-- million, 1,000 of each: 0.0125
SELECT tokacct.cost('openai', 'gpt-4o', 1000, 1000, at => '2026-09-01') AS gpt_4o;
-- a file that is not JSON is refused, and nothing is loaded
\set not_json `echo '{"providers": [ oops'`
SELECT * FROM tokacct.load_prices_genai(:'not_json');
-- a role that may only read the catalog cannot load one
RESET ROLE;
SET ROLE tokacct_test_viewer;
SELECT * FROM tokacct.load_prices_genai(:'genai_prices', '2026-08-22');
SELECT tokacct.cost('openai', 'gpt-4o', 1000, 1000, at => '2026-09-01') AS reader_prices;
RESET ROLE;
SELECT count(*) AS genai_models FROM tokacct.price_model WHERE catalog = 'genai-prices';
-- leave the catalog and the roles as the other suites expect them
DELETE FROM tokacct.price_provider WHERE catalog IN ('genai-prices', 'litellm');
SELECT count(*) AS models_left FROM tokacct.price_model;
REVOKE ALL ON ALL TABLES IN SCHEMA tokacct FROM tokacct_test_loader, tokacct_test_viewer;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA tokacct FROM tokacct_test_loader;
REVOKE ALL ON SCHEMA tokacct FROM tokacct_test_loader, tokacct_test_viewer;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tokacct FROM tokacct_test_loader, tokacct_test_viewer;
DROP ROLE tokacct_test_loader;
DROP ROLE tokacct_test_viewer;
