-- The library and the installed script agree on the version.
SELECT tokacct.version() = extversion AS same_version
  FROM pg_catalog.pg_extension WHERE extname = 'tokacct';

-- Every object a user sees carries a comment (psql's \df+ and \d+, and BI
-- tools such as Metabase, show them): each function, aggregate, type (array
-- types aside), table and view of the extension, and each of their columns.
-- The objects are found through the extension's membership in pg_depend.
CREATE TEMP VIEW tokacct_objects AS
WITH ext AS (
  SELECT d.classid, d.objid FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
   WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
     AND e.extname = 'tokacct')
SELECT 'function' AS kind, p.oid::regprocedure::text AS name,
       obj_description(p.oid, 'pg_proc') AS comment
  FROM ext JOIN pg_catalog.pg_proc p ON ext.classid = 'pg_catalog.pg_proc'::regclass AND p.oid = ext.objid
UNION ALL
SELECT 'type', t.oid::regtype::text, obj_description(t.oid, 'pg_type')
  FROM ext JOIN pg_catalog.pg_type t ON ext.classid = 'pg_catalog.pg_type'::regclass AND t.oid = ext.objid
 WHERE t.typelem = 0 OR t.typlen <> -1
UNION ALL
SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END, c.oid::regclass::text,
       obj_description(c.oid, 'pg_class')
  FROM ext JOIN pg_catalog.pg_class c ON ext.classid = 'pg_catalog.pg_class'::regclass AND c.oid = ext.objid
 WHERE c.relkind IN ('r', 'v', 'm', 'p')
UNION ALL
SELECT 'column', c.oid::regclass::text || '.' || a.attname, col_description(c.oid, a.attnum)
  FROM ext JOIN pg_catalog.pg_class c ON ext.classid = 'pg_catalog.pg_class'::regclass AND c.oid = ext.objid
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relkind IN ('r', 'v', 'm', 'p');
SELECT kind, name FROM tokacct_objects WHERE comment IS NULL OR comment = '' ORDER BY 1, 2;
-- not an empty check: the extension has objects of every kind
SELECT kind, count(*) >= 2 AS several FROM tokacct_objects GROUP BY kind ORDER BY kind;
