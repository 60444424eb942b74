-- tokacct install script, built from the pieces in sql/install/ (name order).
-- Every reference is schema-qualified: pg_catalog for the built-ins and
-- @extschema@ (tokacct) for our own, so the script is safe whatever the
-- search_path of the role that runs CREATE EXTENSION.

\echo Use "CREATE EXTENSION tokacct" to load this file. \quit

-- Roles are cluster-wide, so the extension grants to them but does not own
-- them; create them beforehand if you want them (see README, "Roles").
