-- Every object of the tokacct extension, one line each, with everything
-- that defines it: signatures and properties of functions and aggregates,
-- types, the columns, constraints, indexes, triggers and policies of tables,
-- view definitions, comments and privileges, and the rows the install
-- script puts in the extension's own tables.  The upgrade test prints this
-- for a fresh install and for an upgraded one and requires the two equal.
\pset format unaligned
\pset tuples_only on
SET search_path = pg_catalog;
WITH member AS (
	SELECT d.classid, d.objid FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
	 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'tokacct'),
fn AS (
	SELECT 'function ' || p.oid::regprocedure || ' -> ' || pg_get_function_result(p.oid)
		|| ' args(' || pg_get_function_arguments(p.oid) || ')'
		|| ' kind=' || p.prokind::text || ' vol=' || p.provolatile::text || ' strict=' || p.proisstrict
		|| ' par=' || p.proparallel::text || ' secdef=' || p.prosecdef || ' leak=' || p.proleakproof
		|| ' cost=' || p.procost || ' rows=' || p.prorows || ' lang=' || l.lanname
		|| ' config=' || coalesce(p.proconfig::text, '-') || ' acl=' || coalesce(p.proacl::text, '-')
		|| ' bin=' || coalesce(p.probin, '-') || ' src=' || md5(p.prosrc)
		|| coalesce(' agg=' || a.aggtransfn::regproc || '/' || a.aggfinalfn::regproc || '/'
			|| a.aggcombinefn::regproc || '/' || a.aggserialfn::regproc || '/'
			|| a.aggdeserialfn::regproc || '/' || a.aggtranstype::regtype || '/'
			|| a.aggfinalextra || '/' || a.aggfinalmodify::text || '/' || coalesce(a.agginitval, '-')
			|| '/' || a.aggtransspace, '')
		|| ' comment=' || coalesce(obj_description(p.oid, 'pg_proc'), '-') AS line
	  FROM member m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
	  JOIN pg_language l ON l.oid = p.prolang
	  LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid),
ty AS (
	SELECT 'type ' || t.oid::regtype || ' len=' || t.typlen || ' byval=' || t.typbyval
		|| ' type=' || t.typtype::text || ' cat=' || t.typcategory::text || ' align=' || t.typalign::text
		|| ' storage=' || t.typstorage::text || ' io=' || t.typinput::regproc || '/' || t.typoutput::regproc
		|| '/' || t.typreceive::regproc || '/' || t.typsend::regproc
		|| ' acl=' || coalesce(t.typacl::text, '-')
		|| ' comment=' || coalesce(obj_description(t.oid, 'pg_type'), '-')
		|| coalesce(' fields=' || (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
			FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '') AS line
	  FROM member m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid),
rel AS (
	SELECT 'relation ' || c.oid::regclass || ' kind=' || c.relkind::text
		|| ' options=' || coalesce(c.reloptions::text, '-') || ' rls=' || c.relrowsecurity
		|| ' acl=' || coalesce(c.relacl::text, '-')
		|| ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '-')
		|| CASE WHEN c.relkind::text = 'v' THEN ' view=' || pg_get_viewdef(c.oid) ELSE '' END AS line
	  FROM member m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid),
col AS (
	SELECT 'column ' || c.oid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
		|| ' notnull=' || a.attnotnull || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-')
		|| ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
		|| ' acl=' || coalesce(a.attacl::text, '-')
		|| ' comment=' || coalesce(col_description(c.oid, a.attnum), '-') AS line
	  FROM member m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
	  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
	 WHERE c.relkind::text IN ('r', 'v', 'm', 'p', 'f')),
con AS (
	SELECT 'constraint ' || c.conrelid::regclass || '.' || c.conname || ' ' || pg_get_constraintdef(c.oid)
		|| ' valid=' || c.convalidated AS line
	  FROM member m JOIN pg_constraint c ON m.classid = 'pg_class'::regclass AND c.conrelid = m.objid),
idx AS (
	SELECT 'index ' || pg_get_indexdef(i.indexrelid) AS line
	  FROM member m JOIN pg_index i ON m.classid = 'pg_class'::regclass AND i.indrelid = m.objid),
trg AS (
	SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text AS line
	  FROM member m JOIN pg_trigger t ON m.classid = 'pg_class'::regclass AND t.tgrelid = m.objid
	 WHERE NOT t.tgisinternal),
pol AS (
	SELECT 'policy ' || p.polrelid::regclass || '.' || p.polname || ' ' || p.polcmd::text
		|| ' ' || coalesce(pg_get_expr(p.polqual, p.polrelid), '-') AS line
	  FROM member m JOIN pg_policy p ON m.classid = 'pg_class'::regclass AND p.polrelid = m.objid),
other AS (
	SELECT 'member ' || pg_describe_object(m.classid, m.objid, 0) AS line
	  FROM member m
	 WHERE m.classid NOT IN ('pg_proc'::regclass, 'pg_type'::regclass, 'pg_class'::regclass)),
schema AS (
	SELECT 'schema ' || n.nspname || ' acl=' || coalesce(n.nspacl::text, '-')
		|| ' comment=' || coalesce(obj_description(n.oid, 'pg_namespace'), '-') AS line
	  FROM pg_namespace n WHERE n.nspname = 'tokacct'),
config AS (
	SELECT 'config ' || c::regclass::text || ' condition=' || coalesce(pg_catalog.quote_literal(w), '-') AS line
	  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(c, w) WHERE e.extname = 'tokacct')
SELECT line FROM fn UNION ALL SELECT line FROM ty UNION ALL SELECT line FROM rel
UNION ALL SELECT line FROM col UNION ALL SELECT line FROM con UNION ALL SELECT line FROM idx
UNION ALL SELECT line FROM trg UNION ALL SELECT line FROM pol UNION ALL SELECT line FROM other
UNION ALL SELECT line FROM schema UNION ALL SELECT line FROM config
ORDER BY 1;

-- The rows the install script writes into the extension's tables.
DO $$
DECLARE
	r record;
	digest text;
BEGIN
	FOR r IN SELECT c.oid::regclass AS rel FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
	           JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
	          WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
	            AND e.extname = 'tokacct' AND c.relkind::text IN ('r', 'p')
	          ORDER BY c.relname
	LOOP
		EXECUTE format('SELECT count(*) || '' rows, md5 '' || coalesce(md5(string_agg(t::text, E''\n'' ORDER BY t::text)), ''-'') FROM %s t', r.rel)
			INTO digest;
		RAISE NOTICE 'rows of %: %', r.rel, digest;
	END LOOP;
END
$$;
