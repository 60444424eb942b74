
-- ---------------------------------------------------------------------------
-- Citus: the price catalog on every node
--
-- On a Citus cluster CREATE EXTENSION tokacct on the coordinator creates the
-- extension, with its own empty catalog tables, on every worker; cost() in
-- a query pushed to a worker reads the worker's tables.  This function makes
-- the catalog tables (the extension's tables that carry the
-- price_catalog_changed trigger) Citus reference tables: every node then
-- holds a copy of the coordinator's catalog, changes made on the coordinator
-- (the loaders included) reach every copy in the same transaction, and the
-- triggers, copied onto each copy, invalidate the price cache of every
-- session on every node.  cost() reads this node's copy, and refuses to
-- price on a worker whose catalog is still a local table
-- (src/price_load.c, price_citus_relation).
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.citus_distribute_catalog()
	RETURNS pg_catalog.int4
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	SET client_min_messages = warning
	AS $fn$
DECLARE
	tables pg_catalog.oid[];
	done pg_catalog.oid[] := '{}';
	made pg_catalog.oid[] := '{}';
	t pg_catalog.oid;
	ready pg_catalog.oid[];
	unsafe pg_catalog.text;
	acl record;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'citus') THEN
		RAISE EXCEPTION 'Citus is not installed in this database'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'citus_distribute_catalog() makes the price catalog tables Citus reference tables, copied to every node of a cluster.',
				  HINT = 'Without Citus, cost() reads the catalog tables where they are: there is nothing to distribute.';
	END IF;
	IF NOT pg_catalog.citus_is_coordinator() THEN
		RAISE EXCEPTION 'citus_distribute_catalog() must run on the Citus coordinator'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Connect to the coordinator, which holds the catalog the workers are to price with.';
	END IF;
	IF NOT pg_catalog.pg_has_role(CURRENT_USER,
			(SELECT nspowner FROM pg_catalog.pg_namespace
			  WHERE nspname OPERATOR(pg_catalog.=) '@extschema@'), 'MEMBER') THEN
		RAISE EXCEPTION 'only the owner of schema @extschema@ can distribute its catalog'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Run this as the role that created the extension, or a superuser.';
	END IF;

	-- the extension's tables with the cache trigger: the catalog cost() reads
	SELECT pg_catalog.array_agg(c.oid ORDER BY c.relname) INTO tables
	  FROM pg_catalog.pg_class c
	 WHERE c.relnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
	   AND c.relkind OPERATOR(pg_catalog.=) 'r'
	   AND EXISTS (SELECT FROM pg_catalog.pg_depend d
				   WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
					 AND d.objid OPERATOR(pg_catalog.=) c.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
					 AND d.refobjid OPERATOR(pg_catalog.=) (SELECT e.oid FROM pg_catalog.pg_extension e
															  WHERE e.extname OPERATOR(pg_catalog.=) 'tokacct'))
	   AND EXISTS (SELECT FROM pg_catalog.pg_trigger g
				   WHERE g.tgrelid OPERATOR(pg_catalog.=) c.oid
					 AND g.tgfoid OPERATOR(pg_catalog.=) '@extschema@.price_catalog_changed()'::pg_catalog.regprocedure);

	FOREACH t IN ARRAY tables LOOP
		IF EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
				   WHERE p.logicalrelid OPERATOR(pg_catalog.=) t::pg_catalog.regclass
					 AND p.partmethod OPERATOR(pg_catalog.=) 'n' AND p.repmodel OPERATOR(pg_catalog.=) 't') THEN
			done := done OPERATOR(pg_catalog.||) t;
		ELSIF EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
					  WHERE p.logicalrelid OPERATOR(pg_catalog.=) t::pg_catalog.regclass) THEN
			RAISE EXCEPTION 'catalog table % is already a Citus table, but not a reference table', t::pg_catalog.regclass
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  DETAIL = 'Every node prices with the whole catalog, so each catalog table must be a reference table.',
					  HINT = 'Citus cannot undistribute a table of an extension: save the catalog''s rows, recreate the extension (DROP EXTENSION, CREATE EXTENSION tokacct), run this function, then load the rows again.';
		END IF;
	END LOOP;

	-- the tables carry triggers (the cache's invalidation), which Citus copies
	-- onto each copy only when told they are wanted
	unsafe := pg_catalog.current_setting('citus.enable_unsafe_triggers');
	PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
	-- referenced tables first: a reference table may only reference reference tables
	LOOP
		SELECT pg_catalog.array_agg(x ORDER BY x::pg_catalog.regclass::pg_catalog.text) INTO ready
		  FROM pg_catalog.unnest(tables) AS x
		 WHERE x OPERATOR(pg_catalog.<>) ALL (done)
		   AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k
						   WHERE k.conrelid OPERATOR(pg_catalog.=) x AND k.contype OPERATOR(pg_catalog.=) 'f'
							 AND k.confrelid OPERATOR(pg_catalog.<>) x
							 AND k.confrelid OPERATOR(pg_catalog.<>) ALL (done));
		EXIT WHEN ready IS NULL;
		FOREACH t IN ARRAY ready LOOP
			PERFORM pg_catalog.create_reference_table(t::pg_catalog.regclass);
			done := done OPERATOR(pg_catalog.||) t;
			made := made OPERATOR(pg_catalog.||) t;
		END LOOP;
	END LOOP;
	PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', unsafe, true);
	IF pg_catalog.cardinality(done) OPERATOR(pg_catalog.<>) pg_catalog.cardinality(tables) THEN
		RAISE EXCEPTION 'a catalog table references a table that is not a reference table'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = pg_catalog.format('Distributed: %s; left: %s.', done::pg_catalog.regclass[], tables::pg_catalog.regclass[]);
	END IF;
	-- the coordinator's own rows were copied into its copy: drop the hidden original
	FOREACH t IN ARRAY made LOOP
		PERFORM pg_catalog.truncate_local_data_after_distributing_table(t::pg_catalog.regclass);
	END LOOP;
	-- privileges granted on the coordinator (grant_reader(), grant_admin())
	-- before the tables were reference tables are on its tables only: the
	-- workers' tables are their own extension's.  Granted again, Citus
	-- propagates them to every node (cost() checks them where it runs).
	FOR acl IN SELECT a.grantee, a.privilege_type, a.is_grantable, k.t
			   FROM pg_catalog.unnest(tables) AS k(t)
			   JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) k.t,
					pg_catalog.aclexplode(c.relacl) AS a
			  WHERE a.grantee OPERATOR(pg_catalog.<>) c.relowner
			  ORDER BY 4, 1, 2 LOOP
		EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %s%s', acl.privilege_type, acl.t::pg_catalog.regclass,
								  CASE WHEN acl.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
									   ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(acl.grantee)) END,
								  CASE WHEN acl.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
	END LOOP;
	-- grants on the pricing functions stay on the node they were given on:
	-- given again on every worker (where cost() runs), for every role that
	-- holds one here
	FOR acl IN SELECT DISTINCT a.grantee
			   FROM @extschema@.reader_functions() f
			   JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) f,
					pg_catalog.aclexplode(p.proacl) AS a
			  WHERE a.grantee OPERATOR(pg_catalog.<>) p.proowner AND a.grantee OPERATOR(pg_catalog.<>) 0
			  ORDER BY 1 LOOP
		PERFORM @extschema@.citus_grant_functions(acl.grantee::pg_catalog.regrole);
	END LOOP;
	RETURN pg_catalog.cardinality(made);
END
$fn$;
COMMENT ON FUNCTION @extschema@.citus_distribute_catalog() IS
	'on a Citus coordinator: make the price catalog tables reference tables, so that cost() prices with the coordinator''s catalog on every node; returns how many tables it distributed (0 when done before); for the extension''s owner';
