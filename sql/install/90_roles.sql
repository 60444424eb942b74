
-- ---------------------------------------------------------------------------
-- Access and roles
--
-- Everyone may use tokacct's types and functions: the schema is usable by
-- PUBLIC.  Its tables (price catalog, contract discounts, call ledger) stay
-- private to their owner until granted: grant_reader() lets a role read
-- them and the views (what cost() and the reports need), grant_admin() also
-- lets it change the catalogs (loaders, custom prices, discounts).  Roles
-- are cluster-wide, so the extension creates none; create them yourself.
-- No function here is SECURITY DEFINER: the caller must hold the grant
-- options (the extension's owner or a superuser does).  They are procedures:
-- CALL tokacct.grant_reader('analyst').
-- ---------------------------------------------------------------------------

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

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
	EXECUTE pg_catalog.format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %s', '@extschema@', role);
	-- the views of the sources attached so far (call again after attaching)
	FOR v IN SELECT DISTINCT a.view_schema FROM @extschema@.attachment a LOOP
		EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO %s', v, role);
	END LOOP;
	FOR v IN SELECT pg_catalog.unnest(a.views) FROM @extschema@.attachment a LOOP
		EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s', v, role);
	END LOOP;
END
$fn$;
COMMENT ON PROCEDURE @extschema@.grant_reader(pg_catalog.regrole) IS
	'let a role read tokacct''s catalogs, ledger and views, and the views of every attached source (for analysts and BI tools; call again after attaching a source)';

CREATE PROCEDURE @extschema@.grant_admin(role pg_catalog.regrole)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	CALL @extschema@.grant_reader(role);
	EXECUTE pg_catalog.format('GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %s',
							  '@extschema@', role);
	EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %s',
							  '@extschema@', role);
END
$fn$;
COMMENT ON PROCEDURE @extschema@.grant_admin(pg_catalog.regrole) IS
	'let a role read and change tokacct''s catalogs, discounts and ledger (load prices, set contract rates)';
