-- ---------------------------------------------------------------------------
-- Reading a table or view the caller names.
--
-- What a relation's owner attaches to it (casts and operators of its column
-- types, a view's functions, row-level security policies, a foreign table's
-- server, expressions of its indexes, constraints, statistics and partition
-- key) can run with the privileges of the role that reads it.  Every tokacct
-- function that reads a caller-named relation goes through source_query()
-- (or source_check() when it only needs the checks and the lock): each
-- column read exists, is readable and has one of the built-in types of its
-- kind; views, foreign tables and tables whose row-level security applies
-- are read only if their owner has the caller's privileges; relations of
-- other owners carry only built-in expressions; and the query run, once
-- parsed and rewritten, calls nothing but built-in functions, tokacct's own
-- and those of roles with the caller's privileges.  Column kinds: string
-- (text, varchar, char, name), id (those, uuid, integers, bytea), integer,
-- money (numeric, float, integers), time (timestamptz, timestamp), bool,
-- jsonb (jsonb, json).
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.source_check(source pg_catalog.regclass, columns pg_catalog.text[],
	kinds pg_catalog.text[])
	RETURNS pg_catalog.void
	LANGUAGE c STABLE PARALLEL RESTRICTED
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'source_check';
COMMENT ON FUNCTION @extschema@.source_check(pg_catalog.regclass, pg_catalog.text[], pg_catalog.text[]) IS
	'lock a table or view and check that reading these columns (kinds string, id, integer, money, time, bool, jsonb) runs no code of a role without your privileges; an error names the column or object otherwise';

CREATE FUNCTION @extschema@.source_query(source pg_catalog.regclass, columns pg_catalog.text[],
	kinds pg_catalog.text[], query pg_catalog.text)
	RETURNS SETOF pg_catalog.record
	LANGUAGE c STABLE PARALLEL RESTRICTED
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'source_query';
COMMENT ON FUNCTION @extschema@.source_query(pg_catalog.regclass, pg_catalog.text[], pg_catalog.text[], pg_catalog.text) IS
	'source_check, then run one SELECT that reads the relation, once its rewritten form is checked to call only built-in, tokacct or your own trusted code; returns its rows (give a column definition list)';
