#!/usr/bin/env bash
# Fuzz the receive and input functions of context_state and sketch_state:
# thousands of mutated binary and text values (flipped bytes, cut short,
# extended).  Each must either load as a valid state, which then answers
# every accessor and merges, or fail with a data error (SQLSTATE class 22 or
# 23), never an internal error or a crash.
source "$(dirname "$0")/../lib.sh"
suite_start

fail=0
check() { # name, sql printing "ok" when the check passes
	local out
	if out=$(psql_run -t -A -c "$2" 2>&1) && [ "$(echo "$out" | tail -1)" = ok ]; then
		echo "ok $1"
	else
		echo "not ok $1"
		echo "$out" | tail -5 | sed 's/^/    /'
		fail=1
	fi
}

psql_run -o /dev/null <<'SQL'
SELECT setseed(0.25);
CREATE TABLE fz_bytes (b bytea);
CREATE TABLE fz_ctx (s tokacct.context_state);
CREATE TABLE fz_sk (s tokacct.sketch_state);
CREATE TABLE fz_log (kind text, outcome text);

-- one mutation of bytes: flip 1-3 bytes, cut, or extend
CREATE FUNCTION fz_mutate(b bytea) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE r float8 := random(); n int; i int;
BEGIN
	IF r < 0.6 THEN
		FOR i IN 1 .. 1 + (random() * 2)::int LOOP
			n := (random() * (length(b) - 1))::int;
			b := set_byte(b, n, (random() * 255)::int);
		END LOOP;
	ELSIF r < 0.8 THEN
		b := substr(b, 1, (random() * length(b))::int);
	ELSE
		b := b || decode(md5(random()::text), 'hex');
	END IF;
	RETURN b;
END $$;

-- receive mutated bytes into a state column via COPY (FORMAT binary)
CREATE FUNCTION fz_recv(kind text, b bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE fz_bytes, fz_ctx, fz_sk;
	INSERT INTO fz_bytes VALUES (b);
	COPY fz_bytes TO '/tmp/tokacct_fuzz.bin' (FORMAT binary);
	IF kind = 'ctx' THEN
		COPY fz_ctx FROM '/tmp/tokacct_fuzz.bin' (FORMAT binary);
		PERFORM tokacct.context_report(s), tokacct.context_savings(s, 100), s::text FROM fz_ctx;
		PERFORM tokacct.merge(x) FROM (SELECT s FROM fz_ctx UNION ALL SELECT '{(-5,1,1)}') y(x)
			WHERE NOT EXISTS (SELECT FROM fz_ctx WHERE s::text LIKE '%(-5,%');
	ELSE
		COPY fz_sk FROM '/tmp/tokacct_fuzz.bin' (FORMAT binary);
		PERFORM tokacct.cost_quantiles(s, '{0,0.1,0.5,0.9,1}'), tokacct.tail_ratio(s), s::text FROM fz_sk;
		PERFORM tokacct.merge(x) FROM (SELECT s FROM fz_sk UNION ALL SELECT tokacct.cost_sketch(3.5)) y(x);
	END IF;
	RETURN 'accepted';
EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
	RETURN 'rejected';
WHEN OTHERS THEN
	RETURN 'BAD ' || SQLSTATE || ' ' || SQLERRM;
END $$;

-- the same for text: mutate characters of a valid text form
CREATE FUNCTION fz_text(kind text, t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE n int := (random() * (length(t) - 1))::int + 1; r float8 := random();
BEGIN
	IF r < 0.5 THEN
		t := overlay(t PLACING substr('0123456789-,:{}()=. xe', 1 + (random() * 21)::int, 1) FROM n FOR 1);
	ELSIF r < 0.75 THEN
		t := substr(t, 1, n);
	ELSE
		t := overlay(t PLACING (random() * 1e19)::numeric::text FROM n FOR 0);
	END IF;
	IF kind = 'ctx' THEN
		PERFORM tokacct.context_report(t::tokacct.context_state);
	ELSE
		PERFORM tokacct.cost_quantiles(t::tokacct.sketch_state, '{0,0.5,1}');
	END IF;
	RETURN 'accepted';
EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
	RETURN 'rejected';
WHEN OTHERS THEN
	RETURN 'BAD ' || SQLSTATE || ' ' || SQLERRM;
END $$;

CREATE TABLE fz_seed_ctx AS SELECT tokacct.context_growth(k, 100 * k, k % 7) AS s FROM generate_series(1, 12) k;
CREATE TABLE fz_seed_sk AS SELECT tokacct.cost_sketch(x) AS s
	FROM (VALUES (-1.5), (0), (0.002), (0.75), (3), (3.1), (1500)) v(x);
SQL

for kind in ctx sk; do
	seed="fz_seed_$kind"
	send=$([ $kind = ctx ] && echo tokacct.context_state_send || echo tokacct.sketch_state_send)
	psql_run -c "INSERT INTO fz_log SELECT 'bin_$kind', fz_recv('$kind', fz_mutate($send(s))) FROM $seed, generate_series(1, 600)" 
	psql_run -c "INSERT INTO fz_log SELECT 'text_$kind', fz_text('$kind', s::text) FROM $seed, generate_series(1, 600)"
done

for kind in bin_ctx text_ctx bin_sk text_sk; do
	check "fuzz $kind: 600 mutations, each accepted or a data error" \
		"SELECT CASE WHEN count(*) = 600 AND count(*) FILTER (WHERE outcome LIKE 'BAD%') = 0
		             AND count(*) FILTER (WHERE outcome = 'rejected') > 0 THEN 'ok'
		        ELSE string_agg(DISTINCT outcome, ' | ') END FROM fz_log WHERE kind = '$kind'"
	psql_run -t -A -c "SELECT '    $kind: ' || count(*) FILTER (WHERE outcome = 'accepted') || ' accepted, '
		|| count(*) FILTER (WHERE outcome = 'rejected') || ' rejected' FROM fz_log WHERE kind = '$kind'"
done
check "server still up" "SELECT 'ok'"
exit $fail
