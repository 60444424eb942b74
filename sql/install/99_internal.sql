
-- ---------------------------------------------------------------------------
-- Support functions out of a BI tool's way.  The input, output, send and
-- receive functions of tokacct's types and the transition, combine, final,
-- serial and deserial functions of its aggregates move to schema
-- tokacct_internal, so that a tool listing schema tokacct (Metabase's sync,
-- \df) sees the user-facing functions only.  The types and aggregates stay
-- in tokacct and reach them by their oid; nothing calls them by name.
-- Last piece of the install script: every support function created before
-- it moves (the upgrade script ends with the same block).
-- ---------------------------------------------------------------------------

CREATE SCHEMA tokacct_internal;
COMMENT ON SCHEMA tokacct_internal IS
	'support functions of tokacct''s types and aggregates (input/output, transition, combine, final): not meant to be called directly';

DO $do$
DECLARE
	f record;
BEGIN
	FOR f IN
		SELECT p.oid, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args
		  FROM pg_catalog.pg_proc p
		  JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
			   AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
		  JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
			   AND e.extname OPERATOR(pg_catalog.=) 'tokacct'
		 WHERE p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
		   AND p.oid OPERATOR(pg_catalog.=) ANY (ARRAY(
				SELECT pg_catalog.unnest(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend]::pg_catalog.oid[])
				  FROM pg_catalog.pg_type t
				 WHERE t.typnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
				UNION
				SELECT pg_catalog.unnest(ARRAY[a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
						a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn]::pg_catalog.oid[])
				  FROM pg_catalog.pg_aggregate a
				  JOIN pg_catalog.pg_proc ap ON ap.oid OPERATOR(pg_catalog.=) a.aggfnoid
				 WHERE ap.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace))
		 ORDER BY p.proname, 3
	LOOP
		EXECUTE pg_catalog.format('ALTER FUNCTION %I.%I(%s) SET SCHEMA tokacct_internal', '@extschema@', f.proname, f.args);
	END LOOP;
END
$do$;
