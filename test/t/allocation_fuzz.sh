#!/usr/bin/env bash
# Hostile input for tokacct.frontier_state: mutated text literals and
# mutated binary states (fixed seeds).  Each must parse or fail with a
# data-exception error; what parses must round-trip through text and binary
# and be readable by frontier_options(); the server must stay up.
source "$(dirname "$0")/../lib.sh"
suite_start
WORK=$(scratch_dir fuzz)
fail=0

# 3000 text mutations of valid literals, escaped for COPY text format
as_owner /usr/bin/python3 - "$WORK/text.copy" <<'PY'
import random, sys
rng = random.Random(6)
seeds = ['{("model-a",3,1.5,2.4),("human",2,90,100)}',
         '{("a\\"b\\\\c",2,3.5,-1),("z",1,0,0)}',
         '{}',
         '{("x",9223372036854775807,85070591730234615847396907.784232501249,-85070591730234615856620279.821087277056)}',
         '{("one",1,0.000000000001,-9223372.036854775808)}']
alphabet = '{}()",\\-+.0123456789eE xNaN'
out = []
for _ in range(3000):
    s = list(rng.choice(seeds))
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        pos = rng.randrange(len(s) + 1)
        if op < 0.3 and s:
            del s[min(pos, len(s) - 1)]
        elif op < 0.6:
            s.insert(pos, rng.choice(alphabet))
        elif op < 0.8 and s:
            s[min(pos, len(s) - 1)] = rng.choice(alphabet)
        else:
            s = s[:pos]
    lit = ''.join(s)
    out.append(lit.replace('\\', '\\\\').replace('\t', '\\t').replace('\n', '\\n'))
open(sys.argv[1], 'w').write('\n'.join(out) + '\n')
PY

psql_run -At <<SQL > "$WORK/text.out" 2>&1 || fail=1
CREATE TABLE fz_text (lit text);
COPY fz_text FROM '$WORK/text.copy';
CREATE TABLE fz_result (kind text, outcome text);
DO \$\$
DECLARE
	r record;
	s tokacct.frontier_state;
	n int;
BEGIN
	FOR r IN SELECT lit FROM fz_text LOOP
		BEGIN
			s := r.lit::tokacct.frontier_state;
			IF s::text::tokacct.frontier_state::text <> s::text THEN
				INSERT INTO fz_result VALUES ('text', 'round trip differs: ' || r.lit);
			ELSE
				SELECT count(*) INTO n FROM tokacct.frontier_options(s);
				INSERT INTO fz_result VALUES ('text', 'parsed');
			END IF;
		EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
			INSERT INTO fz_result VALUES ('text', 'rejected');
		END;
	END LOOP;
END \$\$;

-- 1500 binary mutations of the send() output of valid states
CREATE TABLE fz_bin (f tokacct.frontier_state);
CREATE TABLE fz_bytes (b bytea);
DO \$\$
DECLARE
	seeds bytea[] := ARRAY[
		tokacct_internal.frontier_state_send('{("model-a",3,1.5,2.4),("human",2,90,100)}'),
		tokacct_internal.frontier_state_send('{("x",9223372036854775807,85070591730234615847396907.784232501249,-1)}'),
		tokacct_internal.frontier_state_send('{}')];
	b bytea;
	k int;
	p int;
	got text;
BEGIN
	PERFORM setseed(0.6);
	FOR i IN 1..1500 LOOP
		b := seeds[1 + (i % 3)];
		FOR k IN 1..1 + floor(random() * 3)::int LOOP
			p := floor(random() * length(b))::int;
			IF length(b) = 0 THEN
				b := '\\x01'::bytea;
			ELSIF random() < 0.7 THEN
				b := set_byte(b, p, floor(random() * 256)::int);
			ELSIF random() < 0.5 THEN
				b := substr(b, 1, p);
			ELSE
				b := b || decode(lpad(to_hex(floor(random() * 256)::int), 2, '0'), 'hex');
			END IF;
		END LOOP;
		TRUNCATE fz_bytes, fz_bin;
		INSERT INTO fz_bytes VALUES (b);
		BEGIN
			COPY fz_bytes TO '$WORK/one.bin' (FORMAT binary);
			COPY fz_bin FROM '$WORK/one.bin' (FORMAT binary);
			SELECT f::text INTO got FROM fz_bin;
			IF got::tokacct.frontier_state::text <> got
			   OR tokacct_internal.frontier_state_send(got::tokacct.frontier_state)
				  <> (SELECT tokacct_internal.frontier_state_send(f) FROM fz_bin) THEN
				INSERT INTO fz_result VALUES ('binary', 'round trip differs: ' || b::text);
			ELSE
				PERFORM count(*) FROM fz_bin, tokacct.frontier_options(f);
				INSERT INTO fz_result VALUES ('binary', 'parsed');
			END IF;
		EXCEPTION WHEN data_exception OR program_limit_exceeded
				  OR protocol_violation OR character_not_in_repertoire THEN
			INSERT INTO fz_result VALUES ('binary', 'rejected');
		END;
	END LOOP;
END \$\$;
SELECT kind || ' ' || outcome || ' ' || count(*) FROM fz_result GROUP BY kind, outcome ORDER BY 1;
SELECT 'alive ' || (SELECT count(*) FROM fz_result);
SQL
cat "$WORK/text.out"
check() {	# $1 = name, $2 = condition (0 = ok)
	if [ "$2" -eq 0 ]; then echo "ok $1"; else echo "not ok $1"; fail=1; fi
}
check "fuzz script ran" "$fail"
check "no text mutation round-trips differently" "$(grep -c '^text round trip' "$WORK/text.out" || true)"
check "no binary mutation round-trips differently" "$(grep -c '^binary round trip' "$WORK/text.out" || true)"
check "every text mutation parsed or was rejected cleanly" \
	"$([ "$(grep -E '^text (parsed|rejected)' "$WORK/text.out" | awk '{s += $3} END {print s}')" = 3000 ]; echo $?)"
check "every binary mutation parsed or was rejected cleanly" \
	"$([ "$(grep -E '^binary (parsed|rejected)' "$WORK/text.out" | awk '{s += $3} END {print s}')" = 1500 ]; echo $?)"
check "server alive after 4500 hostile states" "$(grep -q '^alive 4500$' "$WORK/text.out"; echo $?)"
exit $fail
