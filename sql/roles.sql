-- Access: the schema is usable by everyone, tables are private until
-- granted; grant_reader() reads, grant_admin() also writes.
CREATE ROLE tokacct_test_reader;
CREATE ROLE tokacct_test_admin;
CREATE ROLE tokacct_test_nobody;

-- A custom price, set up as the owner: 3 and 12 dollars per million tokens.
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'acme', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match)
VALUES ('custom', 'acme', 'acme-1', 0, '{"equals": "acme-1"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok)
VALUES ('custom', 'acme', 'acme-1', 3, 12);

CALL tokacct.grant_reader('tokacct_test_reader');
CALL tokacct.grant_admin('tokacct_test_admin');

-- The owner prices a call, so the session's catalog cache is built: a role
-- without the grant must still be refused from the cache.
SELECT tokacct.cost('acme', 'acme-1', 1000, 100) = 0.0042 AS owner_prices;

-- Anyone may call the scalar functions.
SET ROLE tokacct_test_nobody;
SELECT tokacct.effective_cost(0.42, 0.7) AS anyone;
-- ...but not read the catalog: cost() reads it as the caller.
SELECT tokacct.cost('acme', 'acme-1', 1000, 100);
SELECT count(*) FROM tokacct.price_discount;
RESET ROLE;

-- A reader prices calls (1000 * 3 + 100 * 12) / 1e6 = 0.0042, reads the
-- catalog, and cannot change it.
SET ROLE tokacct_test_reader;
SELECT tokacct.cost('acme', 'acme-1', 1000, 100) = 0.0042 AS reader_prices;
SELECT count(*) AS models FROM tokacct.price_model WHERE catalog = 'custom';
UPDATE tokacct.price SET input_mtok = 0 WHERE model = 'acme-1';
INSERT INTO tokacct.price_discount (customer, provider, multiplier) VALUES ('x', 'acme', 0.5);
RESET ROLE;

-- An admin changes the catalog: a new model priced at 1 and 2.
-- (1000 * 1 + 100 * 2) / 1e6 = 0.0012.
SET ROLE tokacct_test_admin;
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match)
VALUES ('custom', 'acme', 'acme-2', 1, '{"equals": "acme-2"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok)
VALUES ('custom', 'acme', 'acme-2', 1, 2);
SELECT tokacct.cost('acme', 'acme-2', 1000, 100) = 0.0012 AS admin_changed_catalog;
-- granting is not the admin's to do
CALL tokacct.grant_reader('tokacct_test_nobody');
RESET ROLE;

-- Bad input.
CALL tokacct.grant_reader('no_such_role');
CALL tokacct.grant_reader(NULL);

DELETE FROM tokacct.price WHERE catalog = 'custom';
DELETE FROM tokacct.price_model WHERE catalog = 'custom';
DELETE FROM tokacct.price_provider WHERE catalog = 'custom';
REVOKE ALL ON ALL TABLES IN SCHEMA tokacct FROM tokacct_test_reader, tokacct_test_admin;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA tokacct FROM tokacct_test_admin;
REVOKE ALL ON SCHEMA tokacct FROM tokacct_test_reader, tokacct_test_admin;
DROP ROLE tokacct_test_reader, tokacct_test_admin, tokacct_test_nobody;
