#!/usr/bin/env bash
# search_path safety: the install script qualifies every name it uses, and
# every SQL and PL/pgSQL function pins its search_path.  Plant trojan
# functions, operators and an implicit cast in schema public, put public
# first on the search_path, then create the extension and call its
# functions.  Every trojan writes to a log table when it runs; the log must
# stay empty.
source "$(dirname "$0")/../lib.sh"
build_and_stage
cluster_start

psql_run -c 'CREATE DATABASE trojan'
psql_run -d trojan <<'SQL'
CREATE TABLE public.trojan_log (what text);
CREATE FUNCTION public.trojan_note(what text) RETURNS void LANGUAGE sql
	AS $$ INSERT INTO public.trojan_log VALUES (what) $$;

-- Functions that shadow built-ins the extension might call unqualified,
-- with argument types that would win overload resolution.
CREATE FUNCTION public.round(numeric, integer) RETURNS numeric LANGUAGE plpgsql
	AS $$ BEGIN PERFORM public.trojan_note('round'); RETURN 0; END $$;
CREATE FUNCTION public.abs(numeric) RETURNS numeric LANGUAGE plpgsql
	AS $$ BEGIN PERFORM public.trojan_note('abs'); RETURN 0; END $$;
CREATE FUNCTION public.lower(varchar) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN PERFORM public.trojan_note('lower'); RETURN ''; END $$;
CREATE FUNCTION public.coalesce_trojan() RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE FUNCTION public.jsonb_typeof(json) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN PERFORM public.trojan_note('jsonb_typeof'); RETURN ''; END $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql
	AS $$ BEGIN PERFORM public.trojan_note('now'); RETURN 'epoch'; END $$;
CREATE FUNCTION public.length(varchar) RETURNS integer LANGUAGE plpgsql
	AS $$ BEGIN PERFORM public.trojan_note('length'); RETURN 0; END $$;

-- format() with text arguments: an exact match beats the built-in's
-- variadic "any" (upgrade scripts and PL/pgSQL build messages with it).
CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN PERFORM public.trojan_note('format'); RETURN ''; END $$;
CREATE FUNCTION public.format(text, text, text) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN PERFORM public.trojan_note('format'); RETURN ''; END $$;

-- An operator on (integer, numeric) beats the built-in's implicit casts.
CREATE FUNCTION public.trojan_eq(integer, numeric) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM public.trojan_note('='); RETURN false; END $$;
CREATE OPERATOR public.= (leftarg = integer, rightarg = numeric, procedure = public.trojan_eq);
CREATE FUNCTION public.trojan_lt(text, varchar) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM public.trojan_note('<'); RETURN false; END $$;
CREATE OPERATOR public.< (leftarg = text, rightarg = varchar, procedure = public.trojan_lt);

-- An implicit cast from a domain the attacker owns.
CREATE DOMAIN public.tinytext AS text;
CREATE FUNCTION public.trojan_cast(public.tinytext) RETURNS integer LANGUAGE plpgsql
	AS $$ BEGIN PERFORM public.trojan_note('cast'); RETURN 0; END $$;

SET search_path = public, pg_catalog;
CREATE EXTENSION tokacct;
SQL
[ $? -eq 0 ] && echo "ok CREATE EXTENSION with trojans planted"

# Call the extension's functions with public first on the search_path.
psql_run -d trojan -f "$TOP/test/security_calls.sql" >/dev/null && echo "ok extension functions run"

# A column of the planted domain is refused by the guard of the functions
# that read a caller-named table (a domain's CHECK could call anything).
out=$(psql_run -d trojan -c "CREATE TABLE public.trojan_domained (provider public.tinytext, model text)" \
	-c "SELECT * FROM tokacct.unpriced_models('public.trojan_domained')" 2>&1 || true)
if printf '%s' "$out" | grep -q 'has type public.tinytext, a domain, not a string'; then
	echo "ok domain column refused"
else
	echo "not ok domain column not refused: $out"
	exit 1
fi

n=$(psql_run -d trojan -At -c 'SELECT count(*) FROM public.trojan_log')
if [ "$n" = "0" ]; then
	echo "ok no trojan ran"
else
	echo "not ok trojans ran: $(psql_run -d trojan -At -c "SELECT string_agg(DISTINCT what, ',') FROM public.trojan_log")"
	exit 1
fi

# The upgrade path is as safe: the first release, then ALTER EXTENSION
# UPDATE through every upgrade script, with the trojans still planted and
# public first on the search_path.
psql_run -d trojan <<'SQL'
DROP EXTENSION tokacct;
SET search_path = public, pg_catalog;
CREATE EXTENSION tokacct VERSION '0.1.0';
ALTER EXTENSION tokacct UPDATE;
SQL
n=$(psql_run -d trojan -At -c 'SELECT count(*) FROM public.trojan_log')
v=$(psql_run -d trojan -At -c "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'tokacct'")
if [ "$n" = "0" ] && [ "$v" = "$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$TOP/tokacct.control")" ]; then
	echo "ok ALTER EXTENSION tokacct UPDATE to $v with trojans planted: none ran"
else
	echo "not ok upgrade with trojans: version $v, trojans: $(psql_run -d trojan -At -c "SELECT string_agg(DISTINCT what, ',') FROM public.trojan_log")"
	exit 1
fi

# No SECURITY DEFINER function without a fixed search_path.
bad=$(psql_run -d trojan -At -c "
	SELECT count(*) FROM pg_catalog.pg_proc p
	  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
	  JOIN pg_catalog.pg_extension e ON d.refobjid = e.oid AND e.extname = 'tokacct'
	 WHERE p.prosecdef AND NOT coalesce(p.proconfig::text LIKE '%search_path=%', false)")
if [ "$bad" = "0" ]; then echo "ok no SECURITY DEFINER without search_path"; else echo "not ok $bad SECURITY DEFINER functions lack a search_path"; exit 1; fi

# Every SQL-language or PL/pgSQL function of the extension whose body is
# parsed at call time pins its search_path.
bad=$(psql_run -d trojan -At -c "
	SELECT coalesce(string_agg(p.oid::regprocedure::text, ', '), '') FROM pg_catalog.pg_proc p
	  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
	  JOIN pg_catalog.pg_extension e ON d.refobjid = e.oid AND e.extname = 'tokacct'
	  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
	 WHERE l.lanname IN ('sql', 'plpgsql')
	   AND p.prosqlbody IS NULL  -- a SQL-standard body is bound when created
	   AND NOT coalesce(p.proconfig::text LIKE '%search_path=%', false)")
if [ -z "$bad" ]; then echo "ok SQL and PL/pgSQL functions pin search_path"; else echo "not ok functions without a pinned search_path: $bad"; exit 1; fi
