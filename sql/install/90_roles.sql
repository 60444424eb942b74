
-- ---------------------------------------------------------------------------
-- Access and roles
--
-- Everyone may use tokacct's types and most of its functions: the schema is
-- usable by PUBLIC.  Its tables stay private to their owner.  A reader
-- (grant_reader()) reads the views only and prices calls; an admin
-- (grant_admin()) also changes the catalogs, baselines, aliases, budgets
-- and rollups.  Roles are cluster-wide, so the extension creates none;
-- create them yourself.  The procedures are not SECURITY DEFINER: the
-- caller must hold the grant options (the extension's owner or a superuser
-- does).  CALL tokacct.grant_reader('analyst').
--
-- A reader holds no SELECT on any table of tokacct, yet cost() and the
-- views read some:
--   - the pricing functions read the price catalog (and its aliases and
--     catalog choices) with the extension owner's rights, by the loader's
--     fixed queries under a pinned search_path (src/price_catalog.c); who
--     may price is who may EXECUTE them: PUBLIC may not, grant_reader()
--     grants it (reader_functions());
--   - catalog_comparison() and budget_report(), whose views
--     (catalog_differences, budget_status) a reader reads, and
--     budget_remaining() read tokacct's tables with the owner's rights too
--     (SECURITY DEFINER, arguments used as values only, fixed queries,
--     pinned search_path);
--   - tokacct's own views (price_call_cost, rollup_monthly, ...) read only
--     tokacct's tables, so they read them with their owner's rights
--     (security_invoker off, set below); the functions they call still run
--     as the reader;
--   - the views of an attached source stay security_invoker (row-level
--     security on your source tables applies to whoever reads) and read
--     tokacct's own small tables (aliases, baselines, cutovers, budgets)
--     through the *_rows() functions below: SECURITY DEFINER, no argument,
--     one fixed query on one schema-qualified table, pinned search_path;
--     EXECUTE revoked from PUBLIC and granted by grant_reader().
-- No user-supplied SQL, user table or user function runs with the owner's
-- rights.
-- ---------------------------------------------------------------------------

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

CREATE FUNCTION @extschema@.model_alias_rows()
	RETURNS SETOF @extschema@.model_alias
	LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $fn$ SELECT * FROM @extschema@.model_alias $fn$;
COMMENT ON FUNCTION @extschema@.model_alias_rows() IS
	'the rows of tokacct.model_alias, read with the owner''s rights: the attached views map model names through it for readers without SELECT on the table';

CREATE FUNCTION @extschema@.provider_alias_rows()
	RETURNS SETOF @extschema@.provider_alias
	LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $fn$ SELECT * FROM @extschema@.provider_alias $fn$;
COMMENT ON FUNCTION @extschema@.provider_alias_rows() IS
	'the rows of tokacct.provider_alias, read with the owner''s rights: the attached views map provider names through it for readers without SELECT on the table';

CREATE FUNCTION @extschema@.baseline_rows()
	RETURNS SETOF @extschema@.baseline
	LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $fn$ SELECT * FROM @extschema@.baseline $fn$;
COMMENT ON FUNCTION @extschema@.baseline_rows() IS
	'the rows of tokacct.baseline, read with the owner''s rights: the attached views take the BPO price and human cost from it for readers without SELECT on the table';

CREATE FUNCTION @extschema@.cutover_rows()
	RETURNS SETOF @extschema@.cutover
	LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $fn$ SELECT * FROM @extschema@.cutover $fn$;
COMMENT ON FUNCTION @extschema@.cutover_rows() IS
	'the rows of tokacct.cutover, read with the owner''s rights: the views of a system of record compare before and after through it for readers without SELECT on the table';

CREATE FUNCTION @extschema@.allocation_budget_rows()
	RETURNS SETOF @extschema@.allocation_budget
	LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $fn$ SELECT * FROM @extschema@.allocation_budget $fn$;
COMMENT ON FUNCTION @extschema@.allocation_budget_rows() IS
	'the rows of tokacct.allocation_budget, read with the owner''s rights: the allocation views plan the budget through it for readers without SELECT on the table';

-- The functions a reader needs EXECUTE on, which PUBLIC has not: those that
-- read the price catalog (C functions calling the catalog loader) and the
-- *_rows() functions.
CREATE FUNCTION @extschema@.reader_functions()
	RETURNS SETOF pg_catalog.regprocedure
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
SELECT p.oid::pg_catalog.regprocedure
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
  JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
	   AND e.extname OPERATOR(pg_catalog.=) 'tokacct'
 WHERE p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
   AND ((p.prolang OPERATOR(pg_catalog.=) (SELECT l.oid FROM pg_catalog.pg_language l
											WHERE l.lanname OPERATOR(pg_catalog.=) 'c')
		 AND p.prosrc OPERATOR(pg_catalog.=) ANY (ARRAY['price_cost', 'price_cost_usage', 'price_cost_breakdown',
			'price_cost_breakdown_usage', 'price_customer_cost', 'price_sourced_cost', 'price_model_for',
			'price_model_in', 'price_ledger_cost']))
		OR p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['model_alias_rows', 'provider_alias_rows', 'baseline_rows',
			'cutover_rows', 'allocation_budget_rows', 'catalog_comparison', 'budget_report', 'budget_remaining']::pg_catalog.name[]))
 ORDER BY 1::pg_catalog.text
$fn$;
COMMENT ON FUNCTION @extschema@.reader_functions() IS
	'the functions PUBLIC may not execute and grant_reader() grants: those that read the price catalog, catalog_comparison(), budget_report(), budget_remaining() and the *_rows() readers of tokacct''s tables';

-- On a Citus coordinator, the EXECUTE grants of reader_functions() that a
-- role holds here are given on every worker too: Citus carries grants on
-- tables to the workers, not grants on an extension's functions, and cost()
-- runs on the workers in pushed-down queries.  Nothing without Citus or on
-- a worker.  Returns the workers granted to.
CREATE FUNCTION @extschema@.citus_grant_functions(role pg_catalog.regrole)
	RETURNS pg_catalog.int4
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	coordinator pg_catalog.bool;
	fns pg_catalog.text;
	failed pg_catalog.text;
	workers pg_catalog.int4;
BEGIN
	IF pg_catalog.to_regprocedure('pg_catalog.run_command_on_workers(pg_catalog.text, pg_catalog.bool)') IS NULL
	   OR pg_catalog.to_regprocedure('pg_catalog.citus_is_coordinator()') IS NULL THEN
		RETURN 0;
	END IF;
	EXECUTE 'SELECT pg_catalog.citus_is_coordinator()' INTO coordinator;
	IF NOT coordinator THEN
		RETURN 0;
	END IF;
	SELECT pg_catalog.string_agg(f::pg_catalog.text, ', ' ORDER BY f::pg_catalog.text) INTO fns
	  FROM @extschema@.reader_functions() f
	 WHERE pg_catalog.has_function_privilege(role, f, 'EXECUTE');
	IF fns IS NULL THEN
		RETURN 0;
	END IF;
	EXECUTE 'SELECT pg_catalog.string_agg(w.nodename OPERATOR(pg_catalog.||) '':'' OPERATOR(pg_catalog.||) w.nodeport '
			'OPERATOR(pg_catalog.||) '': '' OPERATOR(pg_catalog.||) w.result, ''; '') FILTER (WHERE NOT w.success), '
			'pg_catalog.count(*) FROM pg_catalog.run_command_on_workers($1, true) w'
	   INTO failed, workers
	  USING pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', fns, role);
	IF failed IS NOT NULL THEN
		RAISE EXCEPTION 'could not grant %''s pricing functions on every Citus worker', role
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = failed,
				  HINT = 'Check that the role and the extension exist on each worker, then call the grant again.';
	END IF;
	RETURN workers;
END
$fn$;
COMMENT ON FUNCTION @extschema@.citus_grant_functions(pg_catalog.regrole) IS
	'on a Citus coordinator: give a role, on every worker, the EXECUTE grants of reader_functions() it holds on the coordinator (Citus does not carry grants on an extension''s functions); nothing elsewhere; returns the workers granted to';
REVOKE EXECUTE ON FUNCTION @extschema@.citus_grant_functions(pg_catalog.regrole) FROM PUBLIC;

-- catalog_comparison() reads the two catalogs' rows, budget_report() and
-- budget_remaining() the budgets: with the owner's rights (arguments used as
-- values only; fixed queries, pinned search_path), so that the views
-- catalog_differences and budget_status, and budget_remaining(), serve a
-- reader.
ALTER FUNCTION @extschema@.catalog_comparison(pg_catalog.timestamptz) SECURITY DEFINER;
ALTER FUNCTION @extschema@.budget_report(pg_catalog.timestamptz) SECURITY DEFINER;
ALTER FUNCTION @extschema@.budget_remaining(pg_catalog.text, pg_catalog.text, pg_catalog.timestamptz) SECURITY DEFINER;

DO $do$
DECLARE
	f pg_catalog.regprocedure;
BEGIN
	FOR f IN SELECT * FROM @extschema@.reader_functions() LOOP
		EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$do$;

-- tokacct's own views read tokacct's tables only: with their owner's rights
DO $do$
DECLARE
	v pg_catalog.regclass;
BEGIN
	FOR v IN
		SELECT c.oid
		  FROM pg_catalog.pg_class c
		  JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
			   AND d.objid OPERATOR(pg_catalog.=) c.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
		  JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
			   AND e.extname OPERATOR(pg_catalog.=) 'tokacct'
		 WHERE c.relnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
		   AND c.relkind OPERATOR(pg_catalog.=) 'v'
		 ORDER BY c.relname
	LOOP
		EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_invoker = false)', v);
	END LOOP;
END
$do$;

CREATE PROCEDURE @extschema@.grant_reader(role pg_catalog.regrole)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	v pg_catalog.text;
BEGIN
	IF role IS NULL THEN
		RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT pg_catalog.pg_has_role(CURRENT_USER,
			(SELECT nspowner FROM pg_catalog.pg_namespace
			  WHERE nspname OPERATOR(pg_catalog.=) '@extschema@'), 'MEMBER') THEN
		RAISE EXCEPTION 'only the owner of schema @extschema@ can grant access to it'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Run this as the role that created the extension, or a superuser.';
	END IF;
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO %s', '@extschema@', role);
	-- tokacct's views, not its tables
	FOR v IN SELECT c.oid::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_class c
			  WHERE c.relnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
				AND c.relkind OPERATOR(pg_catalog.=) 'v' ORDER BY c.relname LOOP
		EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s', v, role);
	END LOOP;
	-- the functions PUBLIC may not execute: pricing, and tokacct's tables read for the views
	FOR v IN SELECT f::pg_catalog.text FROM @extschema@.reader_functions() f LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', v, role);
	END LOOP;
	-- the views of the sources attached so far (call again after attaching).
	-- tokacct.attachment is written by admins (they attach sources), so the
	-- names it holds are not SQL to run: grant, by oid, only the views named
	-- there that are in the source's view schema, are not built in and carry
	-- the comment attaching gave them ("tokacct, source s: ", "tokacct,
	-- system of record s: "; only a view's owner can comment it),
	-- and USAGE on the schemas holding them.
	FOR v IN
		WITH attached AS (
			SELECT s.nspname, c.oid
			  FROM @extschema@.attachment a
			  JOIN pg_catalog.pg_namespace s ON s.nspname OPERATOR(pg_catalog.=) a.view_schema
			  JOIN pg_catalog.pg_class c ON c.relnamespace OPERATOR(pg_catalog.=) s.oid
				   AND c.relkind OPERATOR(pg_catalog.=) 'v' AND c.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid
			 WHERE pg_catalog.format('%I.%I', s.nspname, c.relname) OPERATOR(pg_catalog.=) ANY (a.views)
			   AND (pg_catalog.starts_with(pg_catalog.obj_description(c.oid, 'pg_class'),
										   'tokacct, source ' OPERATOR(pg_catalog.||) a.source OPERATOR(pg_catalog.||) ': ')
					OR pg_catalog.starts_with(pg_catalog.obj_description(c.oid, 'pg_class'),
										   'tokacct, system of record ' OPERATOR(pg_catalog.||) a.source OPERATOR(pg_catalog.||) ': ')))
		SELECT pg_catalog.format('USAGE ON SCHEMA %I', t.nspname) FROM attached t GROUP BY t.nspname
		UNION ALL
		SELECT pg_catalog.format('SELECT ON %s', t.oid::pg_catalog.regclass) FROM attached t
	LOOP
		EXECUTE pg_catalog.format('GRANT %s TO %s', v, role);
	END LOOP;
	-- on a Citus coordinator, the function grants on every worker too
	PERFORM @extschema@.citus_grant_functions(role);
END
$fn$;
COMMENT ON PROCEDURE @extschema@.grant_reader(pg_catalog.regrole) IS
	'let a role read tokacct''s views and the views of every attached source, and price calls, without reading any table of tokacct (for analysts and BI tools; call again after attaching a source)';

CREATE PROCEDURE @extschema@.grant_admin(role pg_catalog.regrole)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	CALL @extschema@.grant_reader(role);
	EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %s',
							  '@extschema@', role);
	EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %s',
							  '@extschema@', role);
END
$fn$;
COMMENT ON PROCEDURE @extschema@.grant_admin(pg_catalog.regrole) IS
	'let a role also read and change tokacct''s tables: catalogs, discounts, ledger, baselines, aliases, budgets and rollups (load prices, set contract rates)';
