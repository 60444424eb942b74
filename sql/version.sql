-- The library and the installed script agree on the version.
SELECT tokacct.version() = extversion AS same_version
  FROM pg_catalog.pg_extension WHERE extname = 'tokacct';
