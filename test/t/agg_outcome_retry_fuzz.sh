#!/usr/bin/env bash
# Mutated outcome_state and retry_state values, text and binary: each one is
# either accepted, reads back to exactly itself and can be reported on, or is
# rejected with the state kit's one error for its form: text
# invalid_text_representation (or numeric_value_out_of_range for a number
# its field cannot hold), "invalid input syntax for type tokacct.X: "..."";
# binary invalid_binary_representation, "invalid external representation
# for type tokacct.X".  Never a crash, never another error.  An accepted retry_state whose counts
# no set of items can give (rows of attempt k + 1 above the failed rows of
# attempt k, checked here in SQL from its text) is refused by every reader
# with data_exception; any other is reported on, with every rate in [0, 1].
source "$(dirname "$0")/../lib.sh"
suite_start

fail=0
check() {
	local name=$1 sql=$2 got
	if got=$(psql_run -At -c "$sql" 2>&1) && [ "$got" = t ]; then
		echo "ok $name"
	else
		echo "not ok $name: $got"
		fail=1
	fi
}

psql_run <<'SQL'
CREATE TABLE fuzz_bytes (b bytea);
-- one mutation: 'accepted', 'rejected' or 'WRONG: ...'
CREATE TABLE fuzz_recv_outcome (s tokacct.outcome_state);
CREATE TABLE fuzz_recv_retry (s tokacct.retry_state);
-- one mutation: 'accepted', 'rejected' or 'WRONG: ...'
-- can the counts of a retry_state's text come from items numbered 1, 2, 3,
-- ... up to their first success?  (an independent check, in numeric)
CREATE FUNCTION fuzz_retry_consistent(v text) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE
	a numeric[] := '{}';
	s numeric[] := '{}';
	g text[];
	k int;
BEGIN
	FOR g IN SELECT regexp_matches(v, ' (\d+):(\d+),(\d+),', 'g') LOOP
		a := a || g[2]::numeric;
		s := s || g[3]::numeric;
	END LOOP;
	FOR k IN 2 .. coalesce(array_length(a, 1), 0) LOOP
		IF k < 32 AND a[k] > a[k - 1] - s[k - 1] THEN
			RETURN false;
		END IF;
		IF k = 32 AND (s[k] > a[k - 1] - s[k - 1] OR (a[k] > 0 AND a[k - 1] - s[k - 1] = 0)) THEN
			RETURN false;
		END IF;
	END LOOP;
	RETURN true;
END $$;

-- the readers of an accepted retry_state: 'ok', 'refused' or 'WRONG: ...'
CREATE FUNCTION fuzz_retry_readers(v text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st tokacct.retry_state := v::tokacct.retry_state;
	consistent bool := fuzz_retry_consistent(v);
	r record;
	n int := 0;
	q text;
BEGIN
	FOR q IN SELECT x FROM unnest(ARRAY[
		'SELECT tokacct.retry_report($1)', 'SELECT count(*) FROM tokacct.retry_attempts($1)',
		'SELECT tokacct.retry_projection($1, 2, 1)', 'SELECT tokacct.cost_per_solved($1)']) x LOOP
		BEGIN
			EXECUTE q USING st;
			IF NOT consistent THEN
				RETURN 'WRONG: inconsistent counts answered by ' || q || ' for ' || v;
			END IF;
		EXCEPTION WHEN data_exception THEN
			IF consistent OR SQLSTATE <> '22000' THEN
				RETURN 'WRONG: ' || SQLSTATE || ' ' || SQLERRM || ' from ' || q || ' for ' || v;
			END IF;
			n := n + 1;
		END;
	END LOOP;
	IF NOT consistent THEN
		RETURN CASE WHEN n = 4 THEN 'refused' ELSE 'WRONG: refused by ' || n || ' of 4' END;
	END IF;
	-- consistent: every rate lies in [0, 1]
	SELECT * INTO r FROM tokacct.retry_report(st);
	IF r.p1 NOT BETWEEN 0 AND 1 OR r.solve_rate NOT BETWEEN 0 AND 1 OR r.failed_share NOT BETWEEN 0 AND 1
		OR EXISTS (SELECT FROM unnest(r.success_by_attempt) x WHERE x NOT BETWEEN 0 AND 1)
		OR EXISTS (SELECT FROM tokacct.retry_attempts(st) a
				   WHERE a.success_rate NOT BETWEEN 0 AND 1 OR (a.attempt < 32 AND a.reach NOT BETWEEN 0 AND 1))
		OR EXISTS (SELECT FROM generate_series(1, 31) k, tokacct.retry_projection(st, k, 1) p
				   WHERE p.yield NOT BETWEEN 0 AND 1) THEN
		RETURN 'WRONG: a rate outside [0, 1] for ' || v;
	END IF;
	RETURN 'ok';
END $$;

CREATE FUNCTION fuzz_text(typ text, v text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	back text;
	ok bool;
	readers text;
BEGIN
	BEGIN
		EXECUTE format('SELECT %L::%s::text', v, typ) INTO back;
	EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
		IF starts_with(SQLERRM, 'invalid input syntax for type ' || typ || ': "') THEN
			RETURN 'rejected';
		END IF;
		RETURN 'WRONG: ' || SQLSTATE || ' ' || SQLERRM || ' for ' || v;
	WHEN OTHERS THEN
		RETURN 'WRONG: ' || SQLSTATE || ' ' || SQLERRM || ' for ' || v;
	END;
	BEGIN
		-- its output reads back to itself, and the reports accept it
		EXECUTE format('SELECT %L::%s::text = %L', back, typ, back) INTO ok;
		IF NOT ok THEN
			RETURN 'WRONG: output does not read back: ' || back;
		END IF;
		IF typ = 'tokacct.outcome_state' THEN
			PERFORM tokacct.outcome_report(v::tokacct.outcome_state);
		ELSE
			readers := fuzz_retry_readers(back);
			IF readers LIKE 'WRONG%' THEN
				RETURN readers;
			ELSIF readers = 'refused' THEN
				RETURN 'accepted, inconsistent';
			END IF;
		END IF;
	EXCEPTION WHEN OTHERS THEN
		RETURN 'WRONG: accepted but ' || SQLSTATE || ' ' || SQLERRM || ' for ' || v;
	END;
	RETURN 'accepted';
END $$;

CREATE FUNCTION fuzz_binary(typ text, b bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	tab text := CASE typ WHEN 'tokacct.outcome_state' THEN 'fuzz_recv_outcome' ELSE 'fuzz_recv_retry' END;
	same bool;
BEGIN
	TRUNCATE fuzz_bytes;
	INSERT INTO fuzz_bytes VALUES (b);
	EXECUTE 'TRUNCATE ' || tab;
	EXECUTE format('COPY fuzz_bytes TO %L (FORMAT binary)', current_setting('data_directory') || '/tokacct_fuzz_state.bin');
	BEGIN
		EXECUTE format('COPY %s FROM %L (FORMAT binary)', tab, current_setting('data_directory') || '/tokacct_fuzz_state.bin');
	EXCEPTION WHEN invalid_binary_representation THEN
		IF SQLERRM = 'invalid external representation for type ' || typ THEN
			RETURN 'rejected';
		END IF;
		RETURN 'WRONG: ' || SQLSTATE || ' ' || SQLERRM || ' for ' || b::text;
	WHEN OTHERS THEN
		RETURN 'WRONG: ' || SQLSTATE || ' ' || SQLERRM || ' for ' || b::text;
	END;
	-- accepted: its text form reads back to the same bytes
	EXECUTE format('SELECT tokacct_internal.%s_send(s::text::%s) = %L FROM %s', pg_catalog.split_part(typ, '.', 2), typ, b, tab) INTO same;
	IF NOT same THEN
		RETURN 'WRONG: accepted bytes do not round-trip: ' || b::text;
	END IF;
	RETURN 'accepted';
END $$;

-- a mutation of s: delete, insert, replace or duplicate a piece, or cut it
CREATE FUNCTION fuzz_mutate(s text) RETURNS text LANGUAGE sql AS $$
	SELECT CASE (random() * 5)::int
		WHEN 0 THEN overlay(s PLACING '' FROM p FOR 1 + (random() * 3)::int)
		WHEN 1 THEN overlay(s PLACING c FROM p FOR 0)
		WHEN 2 THEN overlay(s PLACING c FROM p FOR 1)
		WHEN 3 THEN overlay(s PLACING substr(s, p, 4) FROM p FOR 0)
		ELSE left(s, p)
	END
	FROM (SELECT 1 + (random() * greatest(length(s) - 1, 0))::int AS p,
				 substr('0123456789.,:= -eNa9x', 1 + (random() * 20)::int, 1) AS c) r
$$;
CREATE FUNCTION fuzz_mutate_bytes(b bytea) RETURNS bytea LANGUAGE sql AS $$
	SELECT CASE (random() * 3)::int
		WHEN 0 THEN set_byte(b, p, (random() * 255)::int)
		WHEN 1 THEN substr(b, 1, p)
		WHEN 2 THEN set_byte(b, p, get_byte(b, p) # (1 << (random() * 7)::int))
		ELSE b || decode(lpad(to_hex((random() * 255)::int), 2, '0'), 'hex')
	END
	FROM (SELECT (random() * (length(b) - 1))::int AS p) r
$$;
CREATE TABLE fuzz_results (kind text, result text);
SQL

psql_run <<'SQL'
SELECT setseed(0.42) \g /dev/null
INSERT INTO fuzz_results
SELECT 'outcome text', fuzz_text('tokacct.outcome_state', fuzz_mutate(v))
FROM (VALUES ('items=3 solved=2 fixed=1 cost=1.5 fix_cost=2'),
			 ('items=120 solved=99 fixed=7 cost=1234.000000000001 fix_cost=88.25'),
			 ('items=0 solved=0 fixed=0 cost=0 fix_cost=0')) v(v),
	 generate_series(1, 700);
INSERT INTO fuzz_results
SELECT 'retry text', fuzz_text('tokacct.retry_state', fuzz_mutate(v))
FROM (VALUES ('max_attempt=3 1:10,7,12.5,3.2 2:3,2,4.1,1 3:1,1,2,0'),
			 ('max_attempt=1 1:2,1,3,1'),
			 ('max_attempt=0'),
			 -- inconsistent: one item succeeding at attempts 1, 2 and 3
			 ('max_attempt=3 1:1,1,1,0 2:1,1,1,0 3:1,1,1,0'),
			 -- attempts 32 and beyond: 3 items fail 1 to 31, 2 succeed later
			 ((SELECT 'max_attempt=40' || string_agg(' ' || k || ':3,0,0.03,0.03', '' ORDER BY k)
					  || ' 32:12,2,0.12,0.1' FROM generate_series(1, 31) k))) v(v),
	 generate_series(1, 700);
INSERT INTO fuzz_results
SELECT 'outcome binary', fuzz_binary('tokacct.outcome_state', fuzz_mutate_bytes(b))
FROM (SELECT tokacct_internal.outcome_state_send('items=120 solved=99 fixed=7 cost=1234.000000000001 fix_cost=88.25') b) v,
	 generate_series(1, 700);
INSERT INTO fuzz_results
SELECT 'retry binary', fuzz_binary('tokacct.retry_state', fuzz_mutate_bytes(b))
FROM (SELECT tokacct_internal.retry_state_send('max_attempt=3 1:10,7,12.5,3.2 2:3,2,4.1,1 3:1,1,2,0') b) v,
	 generate_series(1, 700);
SQL

for kind in 'outcome text' 'retry text' 'outcome binary' 'retry binary'; do
	psql_run -At -c "SELECT '# $kind: ' || string_agg(result || ' ' || n, ', ' ORDER BY result)
		FROM (SELECT result, count(*) n FROM fuzz_results WHERE kind = '$kind' AND result NOT LIKE 'WRONG%' GROUP BY 1) x"
	check "fuzz $kind: only accepted or rejected" \
		"SELECT count(*) FILTER (WHERE result LIKE 'WRONG%') = 0
			AND count(*) = CASE '$kind' WHEN 'outcome text' THEN 2100 WHEN 'retry text' THEN 3500 ELSE 700 END
		 FROM fuzz_results WHERE kind = '$kind'"
	check "fuzz $kind: every outcome occurs" \
		"SELECT count(DISTINCT result) = CASE '$kind' WHEN 'retry text' THEN 3 ELSE 2 END
		 FROM fuzz_results WHERE kind = '$kind'"
done
psql_run -At -c "SELECT result FROM fuzz_results WHERE result LIKE 'WRONG%' LIMIT 5"
check "server still up" "SELECT true"
exit $fail
