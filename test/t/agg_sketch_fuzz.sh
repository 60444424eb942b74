#!/usr/bin/env bash
# Fuzz the receive and input functions of context_state, sketch_state and
# frontier_state: thousands of mutated binary and text values (flipped
# bytes, cut short, extended; for sketches, extreme doubles put in for the
# min and max: subnormals, -0, underflows, overflows, hexadecimal).  Each
# must either load as a valid state, which then answers every accessor,
# merges and reads back from its own text form to the same binary form, or
# be refused by the type's input with the one error of the state kit: bad
# binary invalid_binary_representation (22P03), "invalid external
# representation for type tokacct.X"; bad text invalid_text_representation
# (22P02) or, for a number its field cannot hold, numeric_value_out_of_range
# (22003), "invalid input syntax for type tokacct.X: "...""; never another
# error (a protocol violation, 08P01, included) or a crash.
#
# Then sketches of random doubles over the whole range a sketch takes
# (subnormals, -0 and tiny values included) must read back exactly from
# their text and binary forms and through COPY, count every magnitude below
# 1e-12 as zero and keep min and max exactly (0 for those zeros).
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
CREATE TABLE fz_fr (s tokacct.frontier_state);
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

-- an error of the type's input: 'rejected' when it is the state kit's one
-- error for its form, else 'BAD ...'
CREATE FUNCTION fz_refused(typ text, binary_form bool, code text, msg text) RETURNS text
LANGUAGE sql AS $$
	SELECT CASE WHEN CASE WHEN binary_form
					 THEN code = '22P03' AND msg = 'invalid external representation for type ' || typ
					 ELSE code IN ('22P02', '22003') AND starts_with(msg, 'invalid input syntax for type ' || typ || ': "') END
			THEN 'rejected' ELSE 'BAD ' || code || ' ' || msg END
$$;

-- receive mutated bytes into a state column via COPY (FORMAT binary)
CREATE FUNCTION fz_recv(kind text, b bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	tab text := CASE kind WHEN 'ctx' THEN 'fz_ctx' WHEN 'sk' THEN 'fz_sk' ELSE 'fz_fr' END;
	typ text := CASE kind WHEN 'ctx' THEN 'tokacct.context_state' WHEN 'sk' THEN 'tokacct.sketch_state'
		ELSE 'tokacct.frontier_state' END;
BEGIN
	TRUNCATE fz_bytes, fz_ctx, fz_sk, fz_fr;
	INSERT INTO fz_bytes VALUES (b);
	EXECUTE format('COPY fz_bytes TO %L (FORMAT binary)', current_setting('data_directory') || '/tokacct_fuzz.bin');
	BEGIN
		EXECUTE format('COPY %s FROM %L (FORMAT binary)', tab, current_setting('data_directory') || '/tokacct_fuzz.bin');
	EXCEPTION WHEN OTHERS THEN
		RETURN fz_refused(typ, true, SQLSTATE, SQLERRM);
	END;
	IF kind = 'ctx' THEN
		PERFORM tokacct.context_report(s), tokacct.context_savings(s, 100), s::text FROM fz_ctx;
		PERFORM tokacct.merge(x) FROM (SELECT s FROM fz_ctx UNION ALL SELECT '{(-5,1,1)}') y(x)
			WHERE NOT EXISTS (SELECT FROM fz_ctx WHERE s::text LIKE '%(-5,%');
		IF EXISTS (SELECT FROM fz_ctx WHERE tokacct_internal.context_state_send(s::text::tokacct.context_state)
											<> tokacct_internal.context_state_send(s)) THEN
			RETURN 'BAD text form does not read back: ' || (SELECT s::text FROM fz_ctx);
		END IF;
	ELSIF kind = 'sk' THEN
		PERFORM tokacct.cost_quantiles(s, '{0,0.1,0.5,0.9,1}'), tokacct.tail_ratio(s), s::text FROM fz_sk;
		PERFORM tokacct.merge(x) FROM (SELECT s FROM fz_sk UNION ALL SELECT tokacct.cost_sketch(3.5)) y(x);
		IF EXISTS (SELECT FROM fz_sk WHERE tokacct_internal.sketch_state_send(s::text::tokacct.sketch_state)
										   <> tokacct_internal.sketch_state_send(s)) THEN
			RETURN 'BAD text form does not read back: ' || (SELECT s::text FROM fz_sk);
		END IF;
	ELSE
		PERFORM tokacct.frontier_options(s), s::text FROM fz_fr;
		PERFORM tokacct.merge(x) FROM (SELECT s FROM fz_fr UNION ALL SELECT tokacct.utility_frontier('x', 1, 2)) y(x);
		IF EXISTS (SELECT FROM fz_fr WHERE tokacct_internal.frontier_state_send(s::text::tokacct.frontier_state)
										   <> tokacct_internal.frontier_state_send(s)) THEN
			RETURN 'BAD text form does not read back: ' || (SELECT s::text FROM fz_fr);
		END IF;
	END IF;
	RETURN 'accepted';
EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
	-- an accepted state a merge cannot take (a count at its limit)
	RETURN 'accepted, refused by a merge: ' || SQLSTATE;
WHEN OTHERS THEN
	RETURN 'BAD ' || SQLSTATE || ' ' || SQLERRM;
END $$;

-- extreme doubles, in the forms a text state may hold them
CREATE TABLE fz_doubles (d text);
INSERT INTO fz_doubles VALUES ('4.9406564584124654e-324'), ('-4.9406564584124654e-324'),
	('9.9999999999999694e-311'), ('-2.2250738585072009e-308'), ('2.2250738585072014e-308'),
	('-0'), ('0'), ('-0.0'), ('1e-400'), ('-1e-400'), ('1e309'), ('-1e309'), ('1e-12'),
	('9.9999999999999998e-13'), ('-1e15'), ('1000000000000000'), ('1.0000000000000002e15'),
	('0x1p-1074'), ('0x1.fffffffffffffp1023'), ('-inf'), ('nan'), ('1e'), ('.'), ('-'), ('1e+');

-- the same for text: mutate characters of a valid text form, or (for a
-- sketch) put an extreme double in for its min or max
CREATE FUNCTION fz_text(kind text, t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	n int := (random() * (length(t) - 1))::int + 1;
	r float8 := random();
	typ text := CASE kind WHEN 'ctx' THEN 'tokacct.context_state' WHEN 'sk' THEN 'tokacct.sketch_state'
		ELSE 'tokacct.frontier_state' END;
BEGIN
	IF kind = 'sk' AND r < 0.3 THEN
		t := regexp_replace(t, CASE WHEN random() < 0.5 THEN 'min=[^ ]*' ELSE 'max=[^ ]*' END,
			(CASE WHEN random() < 0.5 THEN 'min=' ELSE 'max=' END)
			|| (SELECT d FROM fz_doubles ORDER BY random() LIMIT 1));
	ELSIF r < 0.55 THEN
		t := overlay(t PLACING substr('0123456789-,:{}()=. xe"', 1 + (random() * 22)::int, 1) FROM n FOR 1);
	ELSIF r < 0.75 THEN
		t := substr(t, 1, n);
	ELSE
		t := overlay(t PLACING (random() * 1e19)::numeric::text FROM n FOR 0);
	END IF;
	BEGIN
		EXECUTE format('SELECT %L::%s', t, typ);
	EXCEPTION WHEN OTHERS THEN
		RETURN fz_refused(typ, false, SQLSTATE, SQLERRM);
	END;
	IF kind = 'ctx' THEN
		PERFORM tokacct.context_report(t::tokacct.context_state);
		IF tokacct_internal.context_state_send(t::tokacct.context_state::text::tokacct.context_state)
			<> tokacct_internal.context_state_send(t::tokacct.context_state) THEN
			RETURN 'BAD text form does not read back: ' || t;
		END IF;
	ELSIF kind = 'sk' THEN
		PERFORM tokacct.cost_quantiles(t::tokacct.sketch_state, '{0,0.5,1}');
		IF tokacct_internal.sketch_state_send(t::tokacct.sketch_state::text::tokacct.sketch_state)
			<> tokacct_internal.sketch_state_send(t::tokacct.sketch_state) THEN
			RETURN 'BAD text form does not read back: ' || t;
		END IF;
		IF t::tokacct.sketch_state::text ~ '(min|max)=-?[0-9.]+e-3[0-9][0-9] ' THEN
			RETURN 'accepted, subnormal';
		END IF;
	ELSE
		PERFORM tokacct.frontier_options(t::tokacct.frontier_state);
		IF tokacct_internal.frontier_state_send(t::tokacct.frontier_state::text::tokacct.frontier_state)
			<> tokacct_internal.frontier_state_send(t::tokacct.frontier_state) THEN
			RETURN 'BAD text form does not read back: ' || t;
		END IF;
	END IF;
	RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
	RETURN 'BAD ' || SQLSTATE || ' ' || SQLERRM;
END $$;

CREATE TABLE fz_seed_ctx AS SELECT tokacct.context_growth(k, 100 * k, k % 7) AS s FROM generate_series(1, 12) k;
CREATE TABLE fz_seed_sk AS SELECT tokacct.cost_sketch(x) AS s
	FROM (VALUES (-1.5), (0), (0.002), (0.75), (3), (3.1), (1500)) v(x);
-- a state stored before costs below a picodollar became 0: subnormal min and max
INSERT INTO fz_seed_sk VALUES
	('v=1 count=3 zero=3 min=-4.9406564584124654e-324 max=9.9999999999999694e-311 pos={} neg={}');
CREATE TABLE fz_seed_fr AS SELECT tokacct.utility_frontier(o, c, v) AS s
	FROM (VALUES ('a', 1, 2), ('a', 2, 2), (E'q"\\', 0.5, -1), ('big', 9223372.036854775807, 0.000000000001),
				 ('h', 0, 0)) v(o, c, v);
SQL

for kind in ctx sk fr; do
	seed="fz_seed_$kind"
	send=tokacct_internal.$(case $kind in ctx) echo context;; sk) echo sketch;; fr) echo frontier;; esac)_state_send
	psql_run -c "INSERT INTO fz_log SELECT 'bin_$kind', fz_recv('$kind', fz_mutate($send(s))) FROM $seed, generate_series(1, 600 / (SELECT count(*) FROM $seed))"
	psql_run -c "INSERT INTO fz_log SELECT 'text_$kind', fz_text('$kind', s::text) FROM $seed, generate_series(1, 600 / (SELECT count(*) FROM $seed))"
done

for kind in bin_ctx text_ctx bin_sk text_sk bin_fr text_fr; do
	check "fuzz $kind: 600 mutations, each accepted or refused with the state kit's error" \
		"SELECT CASE WHEN count(*) = 600 AND count(*) FILTER (WHERE outcome LIKE 'BAD%') = 0
		             AND count(*) FILTER (WHERE outcome = 'rejected') > 0 THEN 'ok'
		        ELSE string_agg(DISTINCT outcome, ' | ') END FROM fz_log WHERE kind = '$kind'"
	psql_run -t -A -c "SELECT '    $kind: ' || count(*) FILTER (WHERE outcome LIKE 'accepted%') || ' accepted, '
		|| count(*) FILTER (WHERE outcome = 'rejected') || ' rejected' FROM fz_log WHERE kind = '$kind'"
done
check "fuzz text_sk: some accepted states hold a subnormal min or max" \
	"SELECT CASE WHEN count(*) > 0 THEN 'ok' END FROM fz_log WHERE kind = 'text_sk' AND outcome = 'accepted, subnormal'"
# sketches of random doubles: 300 groups of 1 to 40 values, each a random
# mantissa in [1, 10) times 10^e, e in [-323, 14] (subnormals from -308 on),
# of either sign, or an exact zero or -0
psql_run -o /dev/null <<'SQL'
SELECT setseed(0.5);
CREATE TABLE fz_vals AS
SELECT g, CASE WHEN random() < 0.05 THEN (CASE WHEN random() < 0.5 THEN '-0' ELSE '0' END)::float8
			   ELSE ((CASE WHEN random() < 0.5 THEN '-' ELSE '' END) || (1 + 9 * random())::text
					 || 'e' || (floor(random() * 338) - 323)::int)::float8 END AS x
FROM generate_series(1, 300) g, LATERAL generate_series(1, 1 + (g * 7919) % 40) i;
CREATE TABLE fz_rand AS SELECT g, tokacct.cost_sketch(x) AS s FROM fz_vals GROUP BY g;
SELECT current_setting('data_directory') || '/tokacct_fuzz_rand.txt' AS rand_txt,
	current_setting('data_directory') || '/tokacct_fuzz_rand.bin' AS rand_bin \gset
COPY fz_rand TO :'rand_txt';
COPY fz_rand TO :'rand_bin' (FORMAT binary);
CREATE TABLE fz_rand_txt (LIKE fz_rand);
CREATE TABLE fz_rand_bin (LIKE fz_rand);
COPY fz_rand_txt FROM :'rand_txt';
COPY fz_rand_bin FROM :'rand_bin' (FORMAT binary);
SQL
check "random doubles: 300 sketches, some with subnormal costs" \
	"SELECT CASE WHEN count(DISTINCT g) = 300 AND count(*) FILTER (WHERE x <> 0 AND abs(x) < 2.2250738585072014e-308) > 0
		THEN 'ok' END FROM fz_vals"
check "random doubles: each sketch reads back from its text form" \
	"SELECT CASE WHEN bool_and(tokacct_internal.sketch_state_send(s::text::tokacct.sketch_state) = tokacct_internal.sketch_state_send(s))
		THEN 'ok' END FROM fz_rand"
check "random doubles: each sketch comes back from COPY, text and binary" \
	"SELECT CASE WHEN count(*) = 300 AND bool_and(tokacct_internal.sketch_state_send(a.s) = tokacct_internal.sketch_state_send(t.s)
		AND tokacct_internal.sketch_state_send(a.s) = tokacct_internal.sketch_state_send(b.s)) THEN 'ok' END
	 FROM fz_rand a JOIN fz_rand_txt t USING (g) JOIN fz_rand_bin b USING (g)"
# by SQL: a magnitude below 1e-12 is a zero; min and max are the exact
# extremes of the values with those zeros taken as 0 (never -0)
check "random doubles: zeros, min and max as worked out in SQL" \
	"SELECT CASE WHEN bool_and(s::text LIKE 'v=1 count=' || n || ' zero=' || z || ' min=%'
			AND tokacct.cost_quantile(s, 0) = lo AND tokacct.cost_quantile(s, 1) = hi
			AND tokacct.cost_quantile(s, 0)::text <> '-0' AND tokacct.cost_quantile(s, 1)::text <> '-0'
			AND s::text !~ 'e-3[0-9][0-9] ') THEN 'ok' END
	 FROM fz_rand JOIN (SELECT g, count(*) AS n, count(*) FILTER (WHERE abs(x) < 1e-12) AS z,
			min(CASE WHEN abs(x) < 1e-12 THEN 0 ELSE x END) AS lo,
			max(CASE WHEN abs(x) < 1e-12 THEN 0 ELSE x END) AS hi
		FROM fz_vals GROUP BY g) w USING (g)"
check "server still up" "SELECT 'ok'"
exit $fail
