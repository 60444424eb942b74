-- ---------------------------------------------------------------------------
-- Rollups of an attached source: tracking, asked for (the source's tables
-- stamp the rows written).
--
-- A refresh finds the new rows by xmin, which no index holds: it reads the
-- trace key of every row.  tokacct.rollup_source_track(source) adds to each
-- table of the source a column tokacct_written_xid (xid8: the transaction
-- that last inserted or updated the row, set by a trigger that fires always,
-- on replicas too), and an index on it, so that a refresh reads the new
-- rows only.  Rows written before have no stamp: a refresh still looks at
-- their xmin until its previous snapshot is newer than every transaction
-- that could have written one (tracked_xmax).  rollup_source_untrack()
-- takes it all away again.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.rollup_source_stamp() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	NEW.tokacct_written_xid := pg_catalog.pg_current_xact_id();
	RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_stamp() IS
	'trigger of a tracked source table (tokacct.rollup_source_track()): stamp the row with the transaction that inserts or updates it';

-- The tables a tracking changes, each checked: the caller must be able to
-- alter them (their owner's privileges), a column or trigger of that name
-- must not be the user's own.
CREATE FUNCTION @extschema@.rollup_source_tables(source pg_catalog.text)
	RETURNS SETOF pg_catalog.regclass
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	rel regclass;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM @extschema@.rollup_source p WHERE p.source = rollup_source_tables.source) THEN
		RAISE EXCEPTION 'source "%" has no rollup', source
			USING ERRCODE = 'undefined_object',
				  HINT = format('Define it with CALL @extschema@.rollup_source_create(%L).', source);
	END IF;
	PERFORM @extschema@.rollup_source_keys(source, NULL);	-- attached, tables, trace keys readable
	FOR rel IN SELECT r FROM @extschema@.attachment a, unnest(a.relations) r WHERE a.source = rollup_source_tables.source LOOP
		IF NOT pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = rel), 'USAGE') THEN
			RAISE EXCEPTION 'permission denied to track the writes of table %', rel
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = format('Tracking adds a column, a trigger and an index to each table of source "%s"; role "%s" does not own %s.', source, current_user, rel),
					  HINT = 'Call it as the tables'' owner (or a member of that role).';
		END IF;
		RETURN NEXT rel;
	END LOOP;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_tables(pg_catalog.text) IS
	'step of rollup_source_track() and rollup_source_untrack(): the tables of a rolled-up source, each one the caller may alter';

-- Whether the column tokacct_written_xid of a table is tokacct's: a
-- tracking left its trigger there, or its comment (the trigger since dropped).
CREATE FUNCTION @extschema@.rollup_source_stamped(rel pg_catalog.regclass)
	RETURNS pg_catalog.bool
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid OPERATOR(pg_catalog.=) rel
					  AND g.tgname OPERATOR(pg_catalog.=) 'tokacct_written_xid'
					  AND g.tgfoid OPERATOR(pg_catalog.=) '@extschema@.rollup_source_stamp()'::pg_catalog.regprocedure)
		OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute c
					WHERE c.attrelid OPERATOR(pg_catalog.=) rel AND c.attname OPERATOR(pg_catalog.=) 'tokacct_written_xid'
					  AND NOT c.attisdropped
					  AND pg_catalog.col_description(rel, c.attnum) OPERATOR(pg_catalog.=)
						'tokacct: transaction that last inserted or updated the row (tokacct.rollup_source_track(); tokacct.rollup_source_untrack() drops it)');
COMMENT ON FUNCTION @extschema@.rollup_source_stamped(pg_catalog.regclass) IS
	'step of rollup_source_track() and rollup_source_untrack(): whether the column tokacct_written_xid of a table is tokacct''s (its trigger or its comment there), not the user''s own';

CREATE PROCEDURE @extschema@.rollup_source_track(source pg_catalog.text)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	rel regclass;
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Name an attached source with a rollup (tokacct.rollup_source lists them).';
	END IF;
	-- not while a refresh of the source runs (it holds the source's row)
	PERFORM FROM @extschema@.rollup_source p WHERE p.source = rollup_source_track.source FOR NO KEY UPDATE;
	FOR rel IN SELECT * FROM @extschema@.rollup_source_tables(source) LOOP
		-- A column of that name is tokacct's when a tracking left it (its
		-- trigger or its comment there), never the user's own, whatever
		-- its type: untracking drops it.
		IF EXISTS (SELECT 1 FROM pg_attribute c WHERE c.attrelid = rel AND c.attname = 'tokacct_written_xid'
					  AND NOT c.attisdropped AND (c.atttypid <> 'pg_catalog.xid8'::regtype
						OR NOT @extschema@.rollup_source_stamped(rel)))
		   OR EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = rel AND g.tgname = 'tokacct_written_xid'
						 AND g.tgfoid <> '@extschema@.rollup_source_stamp()'::regprocedure) THEN
			RAISE EXCEPTION 'table % already has a column or trigger named tokacct_written_xid that is not tokacct''s', rel
				USING ERRCODE = 'duplicate_object',
					  HINT = 'Rename it, then track the source.';
		END IF;
		-- (no default for the rows there: no rewrite of the table)
		EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS tokacct_written_xid pg_catalog.xid8', rel);
		EXECUTE format('ALTER TABLE %s ALTER COLUMN tokacct_written_xid SET DEFAULT pg_catalog.pg_current_xact_id()', rel);
		EXECUTE format('COMMENT ON COLUMN %s.tokacct_written_xid IS %L', rel,
			'tokacct: transaction that last inserted or updated the row (tokacct.rollup_source_track(); tokacct.rollup_source_untrack() drops it)');
		EXECUTE format('CREATE OR REPLACE TRIGGER tokacct_written_xid BEFORE INSERT OR UPDATE ON %s '
			'FOR EACH ROW EXECUTE FUNCTION @extschema@.rollup_source_stamp()', rel);
		EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER tokacct_written_xid', rel);
		-- an index on the stamp alone, unless the table has one (named by
		-- PostgreSQL: a name of ours, cut to fit, could be another table's)
		IF NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute c ON c.attrelid = i.indrelid
						WHERE i.indrelid = rel AND c.attname = 'tokacct_written_xid' AND NOT c.attisdropped
						  AND i.indnatts = 1 AND i.indkey[0] = c.attnum
						  AND i.indexprs IS NULL AND i.indpred IS NULL) THEN
			EXECUTE format('CREATE INDEX ON %s (tokacct_written_xid)', rel);
		END IF;
		-- (the planner then knows the stamps there are NULL, and finds the
		-- newest by the index)
		EXECUTE format('ANALYZE %s (tokacct_written_xid)', rel);
	END LOOP;
	-- The tables are locked: every transaction that wrote a row without a
	-- stamp (or with a stale one, while a trigger was disabled or the column
	-- gone) has ended, with an id below this.  Tracking again moves it on.
	UPDATE @extschema@.rollup_source p
	   SET tracked_xmax = pg_snapshot_xmax(pg_current_snapshot())
	 WHERE p.source = rollup_source_track.source;
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_track(pg_catalog.text) IS
	'asked for: add to each table of a rolled-up source a column tokacct_written_xid stamped by a trigger, and an index on it, so that a refresh reads the rows written since the last one instead of the trace key of every row';

CREATE PROCEDURE @extschema@.rollup_source_untrack(source pg_catalog.text)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	rel regclass;
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Name an attached source with a rollup (tokacct.rollup_source lists them).';
	END IF;
	-- not while a refresh of the source runs (it holds the source's row)
	PERFORM FROM @extschema@.rollup_source p WHERE p.source = rollup_source_untrack.source FOR NO KEY UPDATE;
	FOR rel IN SELECT * FROM @extschema@.rollup_source_tables(source) LOOP
		-- tokacct's only: a column or trigger of that name that a tracking
		-- did not leave is the user's
		IF EXISTS (SELECT 1 FROM pg_attribute c WHERE c.attrelid = rel AND c.attname = 'tokacct_written_xid'
					  AND NOT c.attisdropped AND c.atttypid = 'pg_catalog.xid8'::regtype)
		   AND @extschema@.rollup_source_stamped(rel) THEN
			EXECUTE format('DROP TRIGGER IF EXISTS tokacct_written_xid ON %s', rel);
			-- (the index goes with the column)
			EXECUTE format('ALTER TABLE %s DROP COLUMN tokacct_written_xid', rel);
		ELSIF EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = rel AND g.tgname = 'tokacct_written_xid'
						 AND g.tgfoid = '@extschema@.rollup_source_stamp()'::regprocedure) THEN
			EXECUTE format('DROP TRIGGER tokacct_written_xid ON %s', rel);
		END IF;
	END LOOP;
	UPDATE @extschema@.rollup_source p SET tracked_xmax = NULL WHERE p.source = rollup_source_untrack.source;
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_untrack(pg_catalog.text) IS
	'undo tokacct.rollup_source_track(): drop the trigger, the column tokacct_written_xid and its index from the source''s tables; refreshes find new rows by xmin again';
