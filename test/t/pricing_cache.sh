#!/usr/bin/env bash
# The per-backend price cache: a catalog change committed in one session is
# used by the next cost() call of every other session, and an uncommitted
# change is not.  Session A is psql; session B is a second backend held open
# through dblink.
source "$(dirname "$0")/../lib.sh"
build_and_stage
cluster_start

out=$(psql_run -At -v conn="host=$PGHOST port=$PGPORT dbname=postgres user=postgres" <<'SQL'
CREATE EXTENSION tokacct;
CREATE EXTENSION dblink;
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'acme', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES ('custom', 'acme', 'm1', 0, '{"equals": "m1"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok) VALUES ('custom', 'acme', 'm1', 3, 15);
SELECT dblink_connect('b', :'conn');
-- 1e6 input tokens cost the input price per million
SELECT 'a_initial=' || tokacct.cost('acme', 'm1', 1000000, 0);
SELECT 'b_initial=' || x FROM dblink('b', $$SELECT tokacct.cost('acme', 'm1', 1000000, 0)$$) AS t(x numeric);
BEGIN;
UPDATE tokacct.price SET input_mtok = 4 WHERE model = 'm1';
SELECT 'a_uncommitted=' || tokacct.cost('acme', 'm1', 1000000, 0);
SELECT 'b_while_uncommitted=' || x FROM dblink('b', $$SELECT tokacct.cost('acme', 'm1', 1000000, 0)$$) AS t(x numeric);
COMMIT;
SELECT 'b_after_commit=' || x FROM dblink('b', $$SELECT tokacct.cost('acme', 'm1', 1000000, 0)$$) AS t(x numeric);
-- B changes the catalog (a new model): A sees it on its next call
SELECT 'a_before_b=' || coalesce(tokacct.cost('acme', 'm2', 1000000, 0)::text, 'null');
SELECT dblink_exec('b', $$INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES ('custom', 'acme', 'm2', 1, '{"equals": "m2"}')$$);
SELECT dblink_exec('b', $$INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok) VALUES ('custom', 'acme', 'm2', 7, 7)$$);
SELECT 'a_after_b=' || tokacct.cost('acme', 'm2', 1000000, 0);
-- B rolls back a change: A keeps the committed price
SELECT dblink_exec('b', 'BEGIN');
SELECT dblink_exec('b', $$UPDATE tokacct.price SET input_mtok = 9 WHERE model = 'm2'$$);
SELECT 'b_own_uncommitted=' || x FROM dblink('b', $$SELECT tokacct.cost('acme', 'm2', 1000000, 0)$$) AS t(x numeric);
SELECT dblink_exec('b', 'ROLLBACK');
SELECT 'a_after_b_rollback=' || tokacct.cost('acme', 'm2', 1000000, 0);
SELECT 'b_after_rollback=' || x FROM dblink('b', $$SELECT tokacct.cost('acme', 'm2', 1000000, 0)$$) AS t(x numeric);
-- TRUNCATE (no row triggers) also invalidates
SELECT dblink_exec('b', 'TRUNCATE tokacct.price_provider CASCADE');
SELECT 'a_after_truncate=' || coalesce(tokacct.cost('acme', 'm1', 1000000, 0)::text, 'null');
SQL
)
echo "$out"
fail=0
check() {
	if grep -qx "$1" <<<"$out"; then echo "ok $2"; else echo "not ok $2 (want $1)"; fail=1; fi
}
check 'a_initial=3' 'session A prices from the catalog'
check 'b_initial=3' 'session B builds its own cache'
check 'a_uncommitted=4' 'session A sees its own uncommitted change'
check 'b_while_uncommitted=3' 'session B does not see an uncommitted change'
check 'b_after_commit=4' 'session B uses the change once committed'
check 'a_before_b=null' 'unknown model is NULL before B adds it'
check 'a_after_b=7' 'session A uses the model B committed'
check 'b_own_uncommitted=9' 'session B sees its own uncommitted change'
check 'a_after_b_rollback=7' 'session A unaffected by B rolled back change'
check 'b_after_rollback=7' 'session B drops its rolled back change'
check 'a_after_truncate=null' 'TRUNCATE in B invalidates A'
exit $fail
