-- Reading tables and views that other roles own: unpriced_models(regclass),
-- waste_by_trace(regclass) and waste_by_workflow(regclass).  An ordinary
-- role plants trojans in what it owns; a superuser (and, for row-level
-- security, an ordinary role with a privilege the planter lacks) reads it
-- through tokacct.  A trojan that runs as anyone but its owner writes who
-- ran it into trojan_log (which its owner may not write) and tries to make
-- its owner superuser.  Before the guard, each attack below ran its trojan
-- (the reader's role was logged, the planter became superuser); now each
-- read is refused before the query is planned, and trojan_log stays empty.
SET timezone = 'UTC';
\set SHOW_CONTEXT never
CREATE ROLE tokacct_test_planter;
CREATE ROLE tokacct_test_reader;
-- The helper has the reader's privileges (it is a member of the reader):
-- its code is safe to run as the reader.  The ally has the planter's
-- privileges: that does not make the planter's code safe to run as the ally.
CREATE ROLE tokacct_test_helper IN ROLE tokacct_test_reader;
CREATE ROLE tokacct_test_ally IN ROLE tokacct_test_planter;
CREATE TABLE trojan_log (who text, what text);
GRANT INSERT ON trojan_log TO tokacct_test_reader, tokacct_test_ally;
-- What the trojans did, then a clean slate (so that each block stands alone
-- when run before the guard): no rows is the answer wanted.
CREATE VIEW trojans AS
	SELECT who, what, count(*) AS times FROM trojan_log GROUP BY who, what
	UNION ALL
	SELECT 'tokacct_test_planter became superuser', NULL, NULL
	  FROM pg_roles WHERE rolname = 'tokacct_test_planter' AND rolsuper;
\set trojans 'SELECT * FROM trojans ORDER BY 1, 2; TRUNCATE trojan_log; ALTER ROLE tokacct_test_planter NOSUPERUSER;'
CREATE SCHEMA hostile AUTHORIZATION tokacct_test_planter;
CREATE SCHEMA mine AUTHORIZATION tokacct_test_reader;
GRANT USAGE, CREATE ON SCHEMA mine TO tokacct_test_helper;
GRANT USAGE ON SCHEMA tokacct TO tokacct_test_reader, tokacct_test_ally;
GRANT SELECT ON ALL TABLES IN SCHEMA tokacct TO tokacct_test_reader, tokacct_test_ally;
CALL tokacct.grant_reader('tokacct_test_reader');
CALL tokacct.grant_reader('tokacct_test_ally');

-- The planter's code.  trojan() is the payload; trojan_text/trojan_num
-- return their argument; trojan_fold is IMMUTABLE, for the expressions the
-- planner folds to constants.
SET ROLE tokacct_test_planter;
CREATE FUNCTION hostile.trojan(what text) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		INSERT INTO public.trojan_log VALUES (current_user, what);
	EXCEPTION WHEN insufficient_privilege THEN NULL;
	END;
	BEGIN
		EXECUTE 'ALTER ROLE tokacct_test_planter SUPERUSER';
	EXCEPTION WHEN insufficient_privilege THEN NULL;
	END;
	RETURN 1;
END $$;
CREATE FUNCTION hostile.trojan_fold(what text) RETURNS int LANGUAGE plpgsql IMMUTABLE
	AS $$ BEGIN RETURN hostile.trojan(what); END $$;
CREATE FUNCTION hostile.trojan_text(v text, what text) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.trojan(what); RETURN v; END $$;
GRANT USAGE ON SCHEMA hostile TO tokacct_test_reader;

-- 1. The reported attack: a column of the planter's own type, with a cast
--    to text whose function is the trojan.  The functions cast the column
--    to text.
CREATE TYPE hostile.word AS ENUM ('acme', 'acme-x', 'wf', 't1', 'r', 'a', 'agent', 'llm', 'ok');
CREATE FUNCTION hostile.word_text(w hostile.word) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.trojan('cast'); RETURN w::name::text; END $$;
CREATE CAST (hostile.word AS text) WITH FUNCTION hostile.word_text(hostile.word);
CREATE TABLE hostile.calls (provider hostile.word, model hostile.word);
INSERT INTO hostile.calls VALUES ('acme', 'acme-x');
CREATE TABLE hostile.spans (workflow hostile.word, trace_id hostile.word, span_id text, parent_id text,
	kind text, name text, args_hash text, status text, cost numeric, started_at timestamptz);
INSERT INTO hostile.spans VALUES ('wf', 't1', 'r', NULL, 'agent', 'x', NULL, 'ok', NULL, '2026-01-01'),
	('wf', 't1', 'a', 'r', 'llm', 'x', NULL, 'ok', 0.25, '2026-01-01 00:00:01');
-- 2. An implicit cast: money of the planter's type, cast implicitly to
--    numeric by the trojan.
CREATE TYPE hostile.amount AS (v numeric);
CREATE FUNCTION hostile.amount_numeric(a hostile.amount) RETURNS numeric LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.trojan('implicit cast'); RETURN a.v; END $$;
CREATE CAST (hostile.amount AS numeric) WITH FUNCTION hostile.amount_numeric(hostile.amount) AS IMPLICIT;
CREATE TABLE hostile.costly (workflow text, trace_id text, span_id text, parent_id text, kind text,
	name text, args_hash text, status text, cost hostile.amount, started_at timestamptz);
INSERT INTO hostile.costly VALUES ('wf', 't1', 'r', NULL, 'llm', 'x', NULL, 'ok', ROW(0.5), '2026-01-01');
-- 3. A domain over text whose CHECK calls the trojan, and one over a
--    built-in type only (refused too: a domain is not the built-in type).
CREATE DOMAIN hostile.checked AS text CHECK (hostile.trojan('domain') = 1);
CREATE DOMAIN hostile.plain_text AS text;
CREATE TABLE hostile.domained (provider hostile.checked, model hostile.plain_text);
INSERT INTO hostile.domained VALUES ('acme', 'acme-x');	-- runs the check as its owner: not logged
CREATE TABLE hostile.domained2 (provider text, model hostile.plain_text);
INSERT INTO hostile.domained2 VALUES ('acme', 'acme-x');
RESET ROLE;
-- (creating all that ran the trojans as their owner only: nothing logged)
:trojans

SELECT * FROM tokacct.unpriced_models('hostile.calls');
SELECT * FROM tokacct.waste_by_trace('hostile.spans');
SELECT * FROM tokacct.waste_by_workflow('hostile.spans');
SELECT * FROM tokacct.waste_by_trace('hostile.costly');
SELECT * FROM tokacct.unpriced_models('hostile.domained');
SELECT * FROM tokacct.unpriced_models('hostile.domained2');
:trojans

-- A view of the superuser's own that reads the planter's type through its
-- output function (format('%s', x): no cast) is read: 1 unpriced call.
CREATE VIEW mine_calls AS
	SELECT pg_catalog.format('%s', provider) AS provider, pg_catalog.format('%s', model) AS model
	  FROM hostile.calls;
SELECT * FROM tokacct.unpriced_models('mine_calls');
-- and the trace: one llm call of 0.25 under a root, all essential.
CREATE VIEW mine_spans AS
	SELECT pg_catalog.format('%s', workflow) AS workflow, pg_catalog.format('%s', trace_id) AS trace_id,
		   span_id, parent_id, kind, name, args_hash, status, cost, started_at
	  FROM hostile.spans;
SELECT workflow, trace_id, spans, total, essential, waste FROM tokacct.waste_by_trace('mine_spans');
SELECT workflow, traces, total, waste FROM tokacct.waste_by_workflow('mine_spans');
:trojans

-- 4. A view of the planter's that calls the trojan: its functions would run
--    with the reader's privileges.  Refused for the superuser, and for the
--    ally: that it has the planter's privileges does not make the planter's
--    code safe to run with the ally's.
SET ROLE tokacct_test_planter;
CREATE TABLE hostile.plain (provider text, model text);
INSERT INTO hostile.plain VALUES ('acme', 'acme-x'), ('acme', 'acme-x'), ('acme', 'acme-y');
GRANT SELECT ON hostile.plain TO tokacct_test_reader, tokacct_test_ally;
CREATE VIEW hostile.view_calls AS SELECT provider, hostile.trojan_text(model, 'view') AS model FROM hostile.plain;
CREATE VIEW hostile.view_spans AS
	SELECT 'wf'::text AS workflow, 't1'::text AS trace_id, 'r'::text AS span_id, NULL::text AS parent_id,
		   'llm'::text AS kind, hostile.trojan_text('x', 'view') AS name, NULL::text AS args_hash,
		   'ok'::text AS status, 0.5::numeric AS cost, '2026-01-01'::timestamptz AS started_at;
RESET ROLE;
SELECT * FROM tokacct.unpriced_models('hostile.view_calls');
SELECT * FROM tokacct.waste_by_trace('hostile.view_spans');
SELECT * FROM tokacct.waste_by_workflow('hostile.view_spans');
SET ROLE tokacct_test_ally;
SELECT * FROM tokacct.unpriced_models('hostile.view_calls');
RESET ROLE;
-- a view of the superuser's own over a table of the planter's: read
-- (2 acme-x and 1 acme-y calls, none priced)
CREATE VIEW mine_plain AS SELECT provider, model FROM hostile.plain;
SELECT * FROM tokacct.unpriced_models('mine_plain');
-- but a view of the superuser's own over the planter's view is refused
CREATE VIEW mine_over_view AS SELECT provider, model FROM hostile.view_calls;
SELECT * FROM tokacct.unpriced_models('mine_over_view');
SELECT tokacct.source_check('mine_over_view', ARRAY['model'], ARRAY['string']);
-- a view of the helper's (who has the reader's privileges) is read by the
-- reader; a view the reader owns too
SET ROLE tokacct_test_helper;
CREATE VIEW mine.helper_calls AS SELECT provider, upper(model) AS model FROM hostile.plain;
GRANT SELECT ON mine.helper_calls TO tokacct_test_reader;
SET ROLE tokacct_test_reader;
SELECT * FROM tokacct.unpriced_models('mine.helper_calls');
CREATE VIEW mine.own_calls AS SELECT provider, model FROM hostile.plain WHERE model = 'acme-y';
SELECT * FROM tokacct.unpriced_models('mine.own_calls');
-- but the superuser does not read the helper's view: the helper does not
-- have the superuser's privileges
RESET ROLE;
SELECT * FROM tokacct.unpriced_models('mine.helper_calls');
:trojans

-- 5. Row-level security: a policy's expression runs with the privileges of
--    the role that reads the table (superusers bypass policies).  The
--    reader may write trojan_log; the planter may not.
SET ROLE tokacct_test_planter;
CREATE TABLE hostile.guarded (provider text, model text);
INSERT INTO hostile.guarded VALUES ('acme', 'acme-x');
CREATE TABLE hostile.guarded_spans (workflow text, trace_id text, span_id text, parent_id text,
	kind text, name text, args_hash text, status text, cost numeric, started_at timestamptz);
INSERT INTO hostile.guarded_spans VALUES ('wf', 't1', 'r', NULL, 'llm', 'x', NULL, 'ok', 0.5, '2026-01-01');
ALTER TABLE hostile.guarded ENABLE ROW LEVEL SECURITY;
ALTER TABLE hostile.guarded_spans ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON hostile.guarded USING (hostile.trojan('policy') = 1);
CREATE POLICY p ON hostile.guarded_spans USING (hostile.trojan('policy') = 1);
GRANT SELECT ON hostile.guarded, hostile.guarded_spans TO tokacct_test_reader;
SET ROLE tokacct_test_reader;
SELECT * FROM tokacct.unpriced_models('hostile.guarded');
SELECT * FROM tokacct.waste_by_trace('hostile.guarded_spans');
SELECT * FROM tokacct.waste_by_workflow('hostile.guarded_spans');
-- through a view of the reader's own, the policy still applies: refused
CREATE VIEW mine.guarded AS SELECT provider, model FROM hostile.guarded;
SELECT * FROM tokacct.unpriced_models('mine.guarded');
RESET ROLE;
:trojans
-- the superuser bypasses row-level security, so no policy runs: read (one
-- unpriced call; one trace of one call of 0.5)
SELECT * FROM tokacct.unpriced_models('hostile.guarded');
SELECT workflow, traces, total, waste FROM tokacct.waste_by_workflow('hostile.guarded_spans');
-- a table of the reader's own with a policy: read, with the policy applied
-- (it hides acme-y: 2 calls)
SET ROLE tokacct_test_reader;
CREATE TABLE mine.own_guarded (provider text, model text);
INSERT INTO mine.own_guarded VALUES ('acme', 'acme-x'), ('acme', 'acme-x'), ('acme', 'acme-y');
ALTER TABLE mine.own_guarded ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON mine.own_guarded USING (model <> 'acme-y');
SELECT * FROM tokacct.unpriced_models('mine.own_guarded');
RESET ROLE;

-- 6. Expressions the planner evaluates when it reads a table: an
--    IMMUTABLE function with constant arguments in an index, a partial
--    index's predicate, a statistics object, a CHECK constraint of a child
--    table, a partition key, a CHECK constraint of a partition.  Each is
--    called while the query is planned, as the reader (a child's CHECK
--    constraint when the query has a WHERE clause, as unpriced_models').
SET ROLE tokacct_test_planter;
CREATE TABLE hostile.indexed (LIKE hostile.plain);
INSERT INTO hostile.indexed VALUES ('acme', 'acme-x');
CREATE INDEX indexed_trojan ON hostile.indexed ((length(model) + hostile.trojan_fold('index')));
CREATE TABLE hostile.partial (LIKE hostile.plain);
INSERT INTO hostile.partial VALUES ('acme', 'acme-x');
CREATE INDEX partial_trojan ON hostile.partial (model) WHERE length(model) > hostile.trojan_fold('predicate');
CREATE TABLE hostile.stats (LIKE hostile.guarded_spans);
INSERT INTO hostile.stats SELECT * FROM hostile.guarded_spans;
CREATE STATISTICS hostile.stats_trojan ON (length(name) + hostile.trojan_fold('statistics')), kind FROM hostile.stats;
CREATE TABLE hostile.parent (LIKE hostile.plain);
CREATE TABLE hostile.child (CHECK (length(model) > hostile.trojan_fold('child check') - 9)) INHERITS (hostile.parent);
INSERT INTO hostile.child VALUES ('acme', 'acme-x');
CREATE TABLE hostile.keyed (LIKE hostile.guarded_spans)
	PARTITION BY RANGE ((length(span_id) + hostile.trojan_fold('partition key')));
CREATE TABLE hostile.keyed_1 PARTITION OF hostile.keyed FOR VALUES FROM (0) TO (100);
INSERT INTO hostile.keyed SELECT * FROM hostile.guarded_spans;
CREATE TABLE hostile.listed (provider text, model text) PARTITION BY LIST (provider);
CREATE TABLE hostile.listed_acme PARTITION OF hostile.listed
	(CHECK (length(model) > hostile.trojan_fold('partition check') - 9)) FOR VALUES IN ('acme');
INSERT INTO hostile.listed VALUES ('acme', 'acme-x');
-- built-in expressions only: read
CREATE TABLE hostile.fine (provider text, model varchar(20) CHECK (length(model) > 0));
CREATE INDEX ON hostile.fine (lower(model)) WHERE provider <> '';
CREATE STATISTICS hostile.fine_stats ON (lower(model)), provider FROM hostile.fine;
INSERT INTO hostile.fine VALUES ('acme', 'acme-x'), ('acme', 'acme-y'), ('acme', 'acme-y');
RESET ROLE;
:trojans
\c
SET timezone = 'UTC';
\set SHOW_CONTEXT never
SELECT * FROM tokacct.unpriced_models('hostile.indexed');
SELECT * FROM tokacct.unpriced_models('hostile.partial');
SELECT * FROM tokacct.waste_by_trace('hostile.stats');
SELECT * FROM tokacct.unpriced_models('hostile.parent');
SELECT * FROM tokacct.waste_by_workflow('hostile.keyed');
SELECT * FROM tokacct.waste_by_trace('hostile.keyed');
SELECT * FROM tokacct.unpriced_models('hostile.listed');
-- the child table alone is refused the same way
SELECT * FROM tokacct.unpriced_models('hostile.child');
-- through a view of the superuser's own: refused the same way
CREATE VIEW mine_indexed AS SELECT provider, model FROM hostile.indexed;
SELECT * FROM tokacct.unpriced_models('mine_indexed');
-- 2 acme-y and 1 acme-x calls (most calls first)
SELECT * FROM tokacct.unpriced_models('hostile.fine');
:trojans

-- 7. A foreign table reads through its server with the reader's user
--    mapping: only its owner's trusted.  The wrapper (no handler) is the
--    superuser's; the server and the tables are the planter's.
CREATE FOREIGN DATA WRAPPER tokacct_test_fdw;
GRANT USAGE ON FOREIGN DATA WRAPPER tokacct_test_fdw TO tokacct_test_planter;
SET ROLE tokacct_test_planter;
CREATE SERVER tokacct_test_server FOREIGN DATA WRAPPER tokacct_test_fdw;
CREATE FOREIGN TABLE hostile.remote (provider text, model text) SERVER tokacct_test_server;
CREATE TABLE hostile.mixed (provider text, model text) PARTITION BY LIST (provider);
CREATE FOREIGN TABLE hostile.mixed_remote PARTITION OF hostile.mixed FOR VALUES IN ('acme')
	SERVER tokacct_test_server;
RESET ROLE;
SELECT * FROM tokacct.unpriced_models('hostile.remote');
SELECT * FROM tokacct.unpriced_models('hostile.mixed');

-- 8. The guard's own errors: every column must exist, be readable and have
--    a built-in type of its kind; the relation must be one to read.
SELECT * FROM tokacct.unpriced_models('hostile.plain', 'vendor');
SELECT * FROM tokacct.unpriced_models(NULL);
CREATE TABLE numbered (provider int, model text);
SELECT * FROM tokacct.unpriced_models('numbered');
CREATE TABLE spans_bad_time (LIKE hostile.guarded_spans);
ALTER TABLE spans_bad_time ALTER started_at TYPE date;
SELECT * FROM tokacct.waste_by_trace('spans_bad_time');
CREATE TABLE spans_bad_attempt (LIKE hostile.guarded_spans);
ALTER TABLE spans_bad_attempt ADD attempt numeric;
SELECT * FROM tokacct.waste_by_trace('spans_bad_attempt');
CREATE SEQUENCE not_a_table;
SELECT * FROM tokacct.unpriced_models('not_a_table');
SELECT * FROM tokacct.unpriced_models(1::regclass);
-- column privileges: the reader may read provider only
SET ROLE tokacct_test_planter;
CREATE TABLE hostile.half (provider text, model text);
GRANT SELECT (provider) ON hostile.half TO tokacct_test_reader;
SET ROLE tokacct_test_reader;
SELECT * FROM tokacct.unpriced_models('hostile.half');
RESET ROLE;
-- identifiers of other built-in types: uuid, integer and bytea ids, money in
-- double precision, a timestamp without time zone, a smallint attempt
-- (under an agent, attempt 1 failed after a call of 0.25 and attempt 2
-- succeeded with a call of 0.125: 0.25 failed_attempt + 0.125 essential)
CREATE TABLE spans_typed (workflow varchar(10), trace_id uuid, span_id int8, parent_id int8,
	kind name, name char(5), args_hash bytea, status text, cost float8, started_at timestamp,
	attempt int2);
INSERT INTO spans_typed VALUES
	('wf', '6f1c0e1e-0000-4000-8000-000000000001', 0, NULL, 'agent', 'agent', NULL, 'ok', NULL, '2026-01-01 00:00:00', NULL),
	('wf', '6f1c0e1e-0000-4000-8000-000000000001', 1, 0, 'attempt', 'draft', NULL, 'error', NULL, '2026-01-01 00:00:00', 1),
	('wf', '6f1c0e1e-0000-4000-8000-000000000001', 2, 1, 'llm', 'draft', '\x01', 'ok', 0.25, '2026-01-01 00:00:01', NULL),
	('wf', '6f1c0e1e-0000-4000-8000-000000000001', 3, 0, 'attempt', 'draft', NULL, 'ok', NULL, '2026-01-01 00:00:02', 2),
	('wf', '6f1c0e1e-0000-4000-8000-000000000001', 4, 3, 'llm', 'draft', '\x02', 'ok', 0.125, '2026-01-01 00:00:03', NULL);
SELECT workflow, trace_id, spans, total, essential, failed_attempt, waste FROM tokacct.waste_by_trace('spans_typed');

-- 9. The guard itself, as later functions will call it.
SELECT tokacct.source_check('hostile.plain', ARRAY['provider', 'model'], ARRAY['string', 'string']);
SELECT tokacct.source_check('hostile.view_calls', ARRAY['model'], ARRAY['string']);
SELECT tokacct.source_check('mine_indexed', ARRAY['model'], ARRAY['string']);
SELECT tokacct.source_check('hostile.plain', ARRAY['model'], ARRAY['strings']);
SELECT tokacct.source_check('hostile.plain', ARRAY['model', 'provider'], ARRAY['string']);
SELECT tokacct.source_check('hostile.plain', ARRAY['model', NULL], ARRAY['string', 'string']);
SELECT tokacct.source_check('hostile.plain', NULL, ARRAY['string']);
-- every kind and what it accepts
CREATE TABLE kinds (s text, i uuid, n int8, m numeric, t timestamptz, b bool, j json);
SELECT tokacct.source_check('kinds', ARRAY['s', 'i', 'n', 'm', 't', 'b', 'j'],
	ARRAY['string', 'id', 'integer', 'money', 'time', 'bool', 'jsonb']);
SELECT tokacct.source_check('kinds', ARRAY['i'], ARRAY['string']);
SELECT tokacct.source_check('kinds', ARRAY['m'], ARRAY['integer']);
SELECT tokacct.source_check('kinds', ARRAY['n'], ARRAY['time']);
SELECT tokacct.source_check('kinds', ARRAY['j'], ARRAY['bool']);
SELECT tokacct.source_check('kinds', ARRAY['b'], ARRAY['jsonb']);
-- source_query runs one SELECT that reads the relation checked, and
-- nothing of a role without the caller's privileges
SELECT * FROM tokacct.source_query('hostile.plain', ARRAY['model'], ARRAY['string'],
	'SELECT count(*) FROM hostile.plain t') AS q(n int8);
-- a query reading another relation (as when a name was taken by another
-- relation between the check and the query)
SELECT * FROM tokacct.source_query('hostile.plain', ARRAY['model'], ARRAY['string'],
	'SELECT count(*) FROM hostile.fine t') AS q(n int8);
-- an operator of the planter's in the query
SET ROLE tokacct_test_planter;
CREATE FUNCTION hostile.same(a text, b text) RETURNS bool LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.trojan('operator'); RETURN a = b; END $$;
CREATE OPERATOR hostile.=== (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.same);
RESET ROLE;
SELECT * FROM tokacct.source_query('hostile.plain', ARRAY['model'], ARRAY['string'],
	'SELECT count(*) FROM hostile.plain t WHERE t.model OPERATOR(hostile.===) ''acme-x''') AS q(n int8);
SELECT * FROM tokacct.source_query('hostile.plain', ARRAY['model'], ARRAY['string'],
	'SELECT hostile.trojan(t.model) FROM hostile.plain t') AS q(n int4);
SELECT * FROM tokacct.source_query('hostile.plain', ARRAY['model'], ARRAY['string'],
	'SELECT t.model FROM hostile.plain t FOR UPDATE') AS q(m text);
SELECT * FROM tokacct.source_query('hostile.plain', ARRAY['model'], ARRAY['string'],
	'DELETE FROM hostile.plain') AS q(m text);
SELECT * FROM tokacct.source_query('hostile.plain', ARRAY['model'], ARRAY['string'],
	'SELECT t.model FROM hostile.plain t') AS q(m int4);
SELECT * FROM tokacct.source_query('hostile.plain', ARRAY['model'], ARRAY['string'], NULL) AS q(m text);
:trojans

SET client_min_messages = warning;
DROP VIEW trojans, mine_calls, mine_spans, mine_plain, mine_over_view, mine_indexed;
DROP TABLE trojan_log, numbered, spans_bad_time, spans_bad_attempt, spans_typed, kinds;
DROP SEQUENCE not_a_table;
DROP SCHEMA hostile, mine CASCADE;
DROP SERVER tokacct_test_server;
DROP FOREIGN DATA WRAPPER tokacct_test_fdw;
REVOKE ALL ON ALL TABLES IN SCHEMA tokacct FROM tokacct_test_reader;
REVOKE ALL ON SCHEMA tokacct FROM tokacct_test_reader;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tokacct FROM tokacct_test_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA tokacct FROM tokacct_test_ally;
REVOKE ALL ON SCHEMA tokacct FROM tokacct_test_ally;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tokacct FROM tokacct_test_ally;
DROP ROLE tokacct_test_helper, tokacct_test_ally, tokacct_test_reader, tokacct_test_planter;
