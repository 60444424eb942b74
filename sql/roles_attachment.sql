-- An admin writes tokacct.attachment (it attaches sources) and owns the
-- views it attaches; neither may become SQL or code that runs with the
-- rights of the owner or a superuser calling grant_reader(), detach() or
-- rollup_source_refresh().  In a database of its own.
\set regress_db :DBNAME
CREATE DATABASE tokacct_roles_att;
\c tokacct_roles_att
SET client_min_messages = warning;
CREATE EXTENSION tokacct;
RESET client_min_messages;
\set VERBOSITY terse
CREATE ROLE tokacct_att_admin;
CREATE ROLE tokacct_att_reader;
CALL tokacct.grant_admin('tokacct_att_admin');
\set ECHO none
SELECT format('GRANT CREATE ON DATABASE %I TO tokacct_att_admin', current_database()) \gexec
\set ECHO all

-- names in tokacct.attachment.views are names, never SQL: grant_reader()
-- grants only the attached views it finds, detach() drops only views
SET ROLE tokacct_att_admin;
INSERT INTO tokacct.attachment (source, kind, relations, view_schema, view_prefix, options, views, definition, created_schema)
VALUES ('planted', 'otel', ARRAY['pg_catalog.pg_class'::regclass], 'pg_catalog', '', '{}',
		ARRAY['pg_catalog.pg_class TO public; ALTER ROLE tokacct_att_admin SUPERUSER; --',
			  'pg_catalog.pg_class;ALTER/**/ROLE/**/tokacct_att_admin/**/SUPERUSER;--', 'pg_catalog.pg_shadow'], 'x', false);
RESET ROLE;
CALL tokacct.grant_reader('tokacct_att_reader');
CALL tokacct.grant_admin('tokacct_att_admin');
SELECT rolname, rolsuper, has_table_privilege(rolname, 'pg_catalog.pg_shadow', 'SELECT') AS reads_pg_shadow
  FROM pg_roles WHERE rolname IN ('tokacct_att_admin', 'tokacct_att_reader') ORDER BY 1;
SET ROLE tokacct_att_admin;
UPDATE tokacct.attachment SET views = ARRAY['public.x;ALTER/**/ROLE/**/tokacct_att_admin/**/SUPERUSER;--'],
	   view_schema = 'public' WHERE source = 'planted';
RESET ROLE;
SELECT * FROM tokacct.detach('planted');
SELECT rolname, rolsuper FROM pg_roles WHERE rolname = 'tokacct_att_admin';

-- a source the admin attached: it reads and refreshes it, the reader reads it
SET ROLE tokacct_att_admin;
CREATE SCHEMA att;
CREATE TABLE att.spans ("Timestamp" timestamptz, "TraceId" text, "SpanId" text,
	"ParentSpanId" text, "SpanAttributes" jsonb, PRIMARY KEY ("TraceId", "SpanId"));
INSERT INTO att.spans VALUES ('2026-01-01 12:00+00', 'T', 's1', '', '{"gen_ai.operation.name": "chat",
	"gen_ai.request.model": "m", "gen_ai.usage.cost.amount": "1", "gen_ai.usage.cost.currency": "USD"}');
SELECT count(*) FROM tokacct.attach_otel('att', 'att.spans', into_schema => 'att', prefix => 'v_');
CALL tokacct.rollup_source_create('att');
CALL tokacct.rollup_source_refresh('att');
RESET ROLE;
CALL tokacct.grant_reader('tokacct_att_reader');
SELECT has_schema_privilege('tokacct_att_reader', 'att', 'USAGE') AS schema_usage,
	   has_table_privilege('tokacct_att_reader', 'att.v_calls', 'SELECT') AS reads_calls,
	   has_table_privilege('tokacct_att_reader', 'att.spans', 'SELECT') AS reads_spans;

-- the admin then swaps its calls view for one calling its own function: a
-- refresh by a more privileged role refuses to read it
SET ROLE tokacct_att_admin;
CREATE FUNCTION att.planted() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
		ALTER ROLE tokacct_att_admin SUPERUSER;
	END IF;
	RETURN 'T';
END $$;
CREATE TABLE att.calls_copy AS SELECT * FROM att.v_calls;
\set ECHO none
SELECT format('CREATE OR REPLACE VIEW att.v_calls WITH (security_invoker = true) AS SELECT %s FROM att.calls_copy',
			  string_agg(CASE WHEN attname = 'trace_id' THEN 'att.planted() AS trace_id' ELSE quote_ident(attname) END,
						 ', ' ORDER BY attnum))
  FROM pg_attribute WHERE attrelid = 'att.v_calls'::regclass AND attnum > 0 \gexec
\set ECHO all
INSERT INTO att.spans VALUES ('2026-01-01 13:00+00', 'T', 's2', '', '{}');
RESET ROLE;
CALL tokacct.rollup_source_refresh('att');
CALL tokacct.rollup_source_rebuild('att');
SELECT rolname, rolsuper FROM pg_roles WHERE rolname = 'tokacct_att_admin';
-- the admin itself may still refresh it (its own code, its own rights)
SET ROLE tokacct_att_admin;
CALL tokacct.rollup_source_refresh('att');
RESET ROLE;

-- tracking adds a column, a trigger and an index to the source's tables:
-- another admin, who does not own them, may not; their owner may
CREATE ROLE tokacct_att_admin2;
CALL tokacct.grant_admin('tokacct_att_admin2');
SET ROLE tokacct_att_admin2;
CALL tokacct.rollup_source_track('att');
RESET ROLE;
GRANT SELECT ON att.spans TO tokacct_att_admin2;
SET ROLE tokacct_att_admin2;
CALL tokacct.rollup_source_track('att');
CALL tokacct.rollup_source_untrack('att');
RESET ROLE;
SET ROLE tokacct_att_admin;
CALL tokacct.rollup_source_track('att');
SELECT count(*) AS stamp_columns FROM pg_attribute WHERE attrelid = 'att.spans'::regclass AND attname = 'tokacct_written_xid';
CALL tokacct.rollup_source_untrack('att');
SELECT count(*) AS stamp_columns FROM pg_attribute WHERE attrelid = 'att.spans'::regclass AND attname = 'tokacct_written_xid' AND NOT attisdropped;
RESET ROLE;

\c :regress_db
DROP DATABASE tokacct_roles_att;
DROP ROLE tokacct_att_admin, tokacct_att_admin2, tokacct_att_reader;
