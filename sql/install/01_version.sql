
CREATE FUNCTION @extschema@.version() RETURNS pg_catalog.text
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'tokacct_version';
COMMENT ON FUNCTION @extschema@.version() IS 'version of the loaded tokacct library';
