#!/usr/bin/env bash
# The per-backend price cache: a catalog change committed in one session is
# used by the next cost() call of every other session, and an uncommitted
# change is not.  Session A is psql; session B is a second backend held open
# through dblink.  Then: a cache read from an old snapshot (REPEATABLE READ,
# a cursor) serves that snapshot only; changes made in replica mode or with
# the triggers disabled still reach other sessions; a change to a role or a
# membership makes the privilege check run again.
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
expect_line 'a_initial=3' 'session A prices from the catalog'
expect_line 'b_initial=3' 'session B builds its own cache'
expect_line 'a_uncommitted=4' 'session A sees its own uncommitted change'
expect_line 'b_while_uncommitted=3' 'session B does not see an uncommitted change'
expect_line 'b_after_commit=4' 'session B uses the change once committed'
expect_line 'a_before_b=null' 'unknown model is NULL before B adds it'
expect_line 'a_after_b=7' 'session A uses the model B committed'
expect_line 'b_own_uncommitted=9' 'session B sees its own uncommitted change'
expect_line 'a_after_b_rollback=7' 'session A unaffected by B rolled back change'
expect_line 'b_after_rollback=7' 'session B drops its rolled back change'
expect_line 'a_after_truncate=null' 'TRUNCATE in B invalidates A'

# Snapshots.  Each price below is set by a committed UPDATE in B; A's
# statements price 1e6 input tokens, so the cost is the input price.
out=$(psql_run -At -v conn="host=$PGHOST port=$PGPORT dbname=postgres user=postgres" 2>&1 <<'SQL'
SELECT dblink_connect('b', :'conn');
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'acme', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES ('custom', 'acme', 'm1', 0, '{"equals": "m1"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok) VALUES ('custom', 'acme', 'm1', 10, 0);
SELECT 'rr_before=' || tokacct.cost('acme', 'm1', 1000000, 0);
-- REPEATABLE READ: B commits 11 after A's snapshot; reading a catalog table
-- takes the invalidation, so A reads the catalog again, from its snapshot
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT 'rr_snapshot=' || tokacct.cost('acme', 'm1', 1000000, 0);
SELECT dblink_exec('b', $$UPDATE tokacct.price SET input_mtok = 11 WHERE model = 'm1'$$);
SELECT 'rr_rows=' || count(*) FROM tokacct.price;
SELECT 'rr_inside=' || tokacct.cost('acme', 'm1', 1000000, 0);
SELECT 'rr_inside_table=' || input_mtok FROM tokacct.price WHERE model = 'm1';
COMMIT;
SELECT 'rr_after_commit=' || tokacct.cost('acme', 'm1', 1000000, 0);
-- READ COMMITTED with a cursor: the cursor keeps its snapshot's price, a
-- new statement (and the next transaction) the latest
BEGIN;
DECLARE c CURSOR FOR SELECT 'cursor' || g || '=' || tokacct.cost('acme', 'm1', 1000000, 0) FROM generate_series(1, 2) g;
FETCH 1 FROM c;
SELECT dblink_exec('b', $$UPDATE tokacct.price SET input_mtok = 12 WHERE model = 'm1'$$);
SELECT 'rc_rows=' || count(*) FROM tokacct.price;
FETCH 1 FROM c;
SELECT 'rc_statement=' || tokacct.cost('acme', 'm1', 1000000, 0);
COMMIT;
SELECT 'rc_after_commit=' || tokacct.cost('acme', 'm1', 1000000, 0);
-- a transaction block whose statements lock nothing still sees a commit
BEGIN;
SELECT 'block_before=' || tokacct.cost('acme', 'm1', 1000000, 0);
SELECT dblink_exec('b', $$UPDATE tokacct.price SET input_mtok = 13 WHERE model = 'm1'$$);
SELECT 'block_after=' || tokacct.cost('acme', 'm1', 1000000, 0);
COMMIT;
-- A's own change: a cursor opened before it does not see it, a statement
-- after it does, and a ROLLBACK drops it
BEGIN;
DECLARE c2 CURSOR FOR SELECT 'own_cursor' || g || '=' || tokacct.cost('acme', 'm1', 1000000, 0) FROM generate_series(1, 2) g;
FETCH 1 FROM c2;
UPDATE tokacct.price SET input_mtok = 14 WHERE model = 'm1';
FETCH 1 FROM c2;
SELECT 'own_statement=' || tokacct.cost('acme', 'm1', 1000000, 0);
SELECT 'own_b=' || x FROM dblink('b', $$SELECT tokacct.cost('acme', 'm1', 1000000, 0)$$) AS t(x numeric);
ROLLBACK;
SELECT 'own_after_rollback=' || tokacct.cost('acme', 'm1', 1000000, 0);
BEGIN;
SAVEPOINT s;
UPDATE tokacct.price SET input_mtok = 15 WHERE model = 'm1';
SELECT 'savepoint_inside=' || tokacct.cost('acme', 'm1', 1000000, 0);
ROLLBACK TO SAVEPOINT s;
SELECT 'savepoint_rolled_back=' || tokacct.cost('acme', 'm1', 1000000, 0);
COMMIT;
BEGIN ISOLATION LEVEL REPEATABLE READ;
UPDATE tokacct.price SET input_mtok = 16 WHERE model = 'm1';
SELECT 'rr_own=' || tokacct.cost('acme', 'm1', 1000000, 0);
ROLLBACK;
SELECT 'rr_own_after_rollback=' || tokacct.cost('acme', 'm1', 1000000, 0);
-- REPEATABLE READ that changes the catalog itself (a discount) after B
-- committed 17: A reads from its snapshot (13), then the latest after COMMIT
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT 'rr2_snapshot=' || tokacct.cost('acme', 'm1', 1000000, 0);
SELECT dblink_exec('b', $$UPDATE tokacct.price SET input_mtok = 17 WHERE model = 'm1'$$);
INSERT INTO tokacct.price_discount (customer, multiplier) VALUES ('half', 0.5);
SELECT 'rr2_own=' || tokacct.cost('acme', 'm1', 1000000, 0) || '/' || tokacct.customer_cost('half', 'acme', 'm1', 1000000, 0);
COMMIT;
SELECT 'rr2_after_commit=' || tokacct.cost('acme', 'm1', 1000000, 0) || '/' || tokacct.customer_cost('half', 'acme', 'm1', 1000000, 0);

-- Replica mode (logical replication subscribers, pg_restore): B changes the
-- catalog with session_replication_role = replica
SELECT dblink_exec('b', 'SET session_replication_role = replica');
SELECT dblink_exec('b', $$UPDATE tokacct.price SET input_mtok = 18 WHERE model = 'm1'$$);
SELECT 'replica_update=' || tokacct.cost('acme', 'm1', 1000000, 0);
SELECT 'replica_discount=' || tokacct.customer_cost('half', 'acme', 'm1', 1000000, 0);
SELECT dblink_exec('b', 'TRUNCATE tokacct.price_discount');
SELECT 'replica_truncate=' || tokacct.customer_cost('half', 'acme', 'm1', 1000000, 0);
SELECT dblink_exec('b', 'RESET session_replication_role');
-- Triggers disabled: nothing fires, so A reads the catalog per statement
-- (and is warned once); ENABLE TRIGGER ALL leaves them firing on origin
-- only, which still does not cover replica mode
SELECT dblink_exec('b', 'ALTER TABLE tokacct.price DISABLE TRIGGER ALL');
SELECT 'disabled_first=' || tokacct.cost('acme', 'm1', 1000000, 0);
SELECT dblink_exec('b', $$UPDATE tokacct.price SET input_mtok = 19 WHERE model = 'm1'$$);
SELECT 'disabled_update=' || tokacct.cost('acme', 'm1', 1000000, 0);
BEGIN;
SELECT 'disabled_block_before=' || tokacct.cost('acme', 'm1', 1000000, 0);
SELECT dblink_exec('b', $$UPDATE tokacct.price SET input_mtok = 20 WHERE model = 'm1'$$);
SELECT 'disabled_block_after=' || tokacct.cost('acme', 'm1', 1000000, 0);
COMMIT;
SELECT dblink_exec('b', 'ALTER TABLE tokacct.price ENABLE TRIGGER ALL');
SELECT dblink_exec('b', 'SET session_replication_role = replica');
SELECT dblink_exec('b', $$UPDATE tokacct.price SET input_mtok = 21 WHERE model = 'm1'$$);
SELECT dblink_exec('b', 'RESET session_replication_role');
SELECT 'origin_only_replica_update=' || tokacct.cost('acme', 'm1', 1000000, 0);
SELECT 'triggers_after_enable_all=' || string_agg(tgname || ':' || tgenabled::text, ',' ORDER BY tgname)
  FROM pg_trigger WHERE tgrelid = 'tokacct.price'::regclass AND NOT tgisinternal;
SELECT dblink_exec('b', 'ALTER TABLE tokacct.price ENABLE ALWAYS TRIGGER price_catalog_changed, ENABLE REPLICA TRIGGER price_catalog_changed_row', false);
SELECT 'repaired=' || tokacct.cost('acme', 'm1', 1000000, 0);
SELECT dblink_exec('b', 'SET session_replication_role = replica');
SELECT dblink_exec('b', $$UPDATE tokacct.price SET input_mtok = 22 WHERE model = 'm1'$$);
SELECT dblink_exec('b', 'RESET session_replication_role');
SELECT 'repaired_replica_update=' || tokacct.cost('acme', 'm1', 1000000, 0);

-- Privileges are checked again when a role or a membership changes: B,
-- as cache_user (a member of cache_readers, which may read the catalog),
-- prices; A revokes the membership; B is refused.  Likewise BYPASSRLS.
CREATE ROLE cache_readers;
CREATE ROLE cache_user;
GRANT cache_readers TO cache_user;
CALL tokacct.grant_reader('cache_readers');
SELECT dblink_exec('b', 'SET ROLE cache_user');
SELECT 'member_prices=' || x FROM dblink('b', $$SELECT tokacct.cost('acme', 'm1', 1000000, 0)$$) AS t(x numeric);
-- an admin's change in A reaches the reader's next statement in B (which
-- reads no catalog table itself): 23, then back to 22
CREATE ROLE cache_admin;
CALL tokacct.grant_admin('cache_admin');
SET ROLE cache_admin;
UPDATE tokacct.price SET input_mtok = 23 WHERE model = 'm1';
RESET ROLE;
SELECT 'reader_sees_admin_change=' || x FROM dblink('b', $$SELECT tokacct.cost('acme', 'm1', 1000000, 0)$$) AS t(x numeric);
SELECT 'reader_reads_no_table=' || dblink_exec('b', $$DO 'BEGIN PERFORM count(*) FROM tokacct.price; END'$$, false);
SET ROLE cache_admin;
UPDATE tokacct.price SET input_mtok = 22 WHERE model = 'm1';
RESET ROLE;
REVOKE cache_readers FROM cache_user;
SELECT 'revoked=' || dblink_exec('b', $$DO 'BEGIN PERFORM tokacct.cost(''acme'', ''m1'', 1000000, 0); END'$$, false);
SELECT 'revoked_error=' || dblink_error_message('b');
SELECT dblink_exec('b', 'RESET ROLE');
-- USAGE on the schema too: a view calls cost() for a reader that loses it
CREATE ROLE cache_reader2;
CALL tokacct.grant_reader('cache_reader2');
CREATE VIEW public.cache_view AS SELECT tokacct.cost('acme', 'm1', 1000000, 0) AS c;
GRANT SELECT ON public.cache_view TO cache_reader2;
SELECT dblink_exec('b', 'SET ROLE cache_reader2');
SELECT 'view_prices=' || x FROM dblink('b', $$SELECT c FROM public.cache_view$$) AS t(x numeric);
REVOKE USAGE ON SCHEMA tokacct FROM PUBLIC, cache_reader2;
SELECT 'no_usage=' || dblink_exec('b', $$DO 'BEGIN PERFORM c FROM public.cache_view; END'$$, false);
SELECT 'no_usage_error=' || dblink_error_message('b');
GRANT USAGE ON SCHEMA tokacct TO PUBLIC;
SELECT dblink_exec('b', 'RESET ROLE');
CREATE POLICY list_prices ON tokacct.price USING (customer IS NULL);
ALTER TABLE tokacct.price ENABLE ROW LEVEL SECURITY;
CREATE ROLE cache_bypass BYPASSRLS;
CALL tokacct.grant_reader('cache_bypass');
SELECT dblink_exec('b', 'SET ROLE cache_bypass');
SELECT 'bypass_prices=' || x FROM dblink('b', $$SELECT tokacct.cost('acme', 'm1', 1000000, 0)$$) AS t(x numeric);
ALTER ROLE cache_bypass NOBYPASSRLS;
SELECT 'nobypass=' || dblink_exec('b', $$DO 'BEGIN PERFORM tokacct.cost(''acme'', ''m1'', 1000000, 0); END'$$, false);
SELECT 'nobypass_error=' || dblink_error_message('b');
SELECT dblink_exec('b', 'RESET ROLE');

-- Calls alternating between two snapshots: a statement's, and the newer
-- ones of a function it calls per row (each of whose statements sees B's
-- latest commit).  B changes the price mid-statement (22 -> 30): the
-- statement keeps 22, the function's statements see 30 from then on, and
-- the catalog is read once for each side, not at each turn.
CREATE TABLE public.cache_tick (i int);
CREATE FUNCTION public.cache_inner(g int) RETURNS numeric LANGUAGE plpgsql AS $f$
DECLARE r numeric;
BEGIN
	IF g = 2 THEN
		PERFORM dblink_exec('b', $$UPDATE tokacct.price SET input_mtok = 30 WHERE model = 'm1'$$);
	ELSE
		PERFORM dblink_exec('b', 'INSERT INTO public.cache_tick VALUES (1)');
	END IF;
	SELECT tokacct.cost('acme', 'm1', 1000000, 0) INTO r;
	RETURN r;
END $f$;
BEGIN;
CREATE TEMP TABLE reads0 AS SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = 'tokacct.price'::regclass;
SELECT 'alternating=' || string_agg(DISTINCT g || ':' || outer_c || '/' || inner_c, ',')
  FROM (SELECT least(g, 3) AS g, tokacct.cost('acme', 'm1', 1000000, 0) AS outer_c, public.cache_inner(g) AS inner_c
          FROM generate_series(1, 40) g) x;
SELECT 'alternating_reads=' || (s.seq_scan - r.seq_scan) || E'\nalternating_reads_at_most_4=' || (s.seq_scan - r.seq_scan <= 4)
  FROM pg_stat_xact_user_tables s, reads0 r WHERE s.relid = 'tokacct.price'::regclass;
COMMIT;
SQL
) || { echo "$out"; echo "not ok the session script stopped"; exit 1; }
echo "$out"
expect_line 'rr_before=10' 'REPEATABLE READ: the price before'
expect_line 'rr_snapshot=10' 'REPEATABLE READ: the snapshot price'
expect_line 'rr_inside=10' 'REPEATABLE READ: a cache read again inside prices at the snapshot'
expect_line 'rr_inside_table=10' 'REPEATABLE READ: as the catalog table reads inside'
expect_line 'rr_after_commit=11' 'REPEATABLE READ: after COMMIT the latest price, not the snapshot cache'
expect_line 'cursor1=11' 'cursor: first row'
expect_line 'cursor2=11' 'cursor: a cache read again from the cursor snapshot'
expect_line 'rc_statement=12' 'cursor: the next statement prices at the latest'
expect_line 'rc_after_commit=12' 'cursor: after COMMIT the latest'
expect_line 'block_before=12' 'transaction block: price before'
expect_line 'block_after=13' 'transaction block: a statement locking nothing sees the commit'
expect_line 'own_cursor1=13' 'own change: cursor before it'
expect_line 'own_cursor2=13' 'own change: the cursor does not see the later change'
expect_line 'own_statement=14' 'own change: a statement after it sees it'
expect_line 'own_b=13' 'own change: B does not see it'
expect_line 'own_after_rollback=13' 'own change: ROLLBACK drops it'
expect_line 'savepoint_inside=15' 'savepoint: own change seen'
expect_line 'savepoint_rolled_back=13' 'savepoint: ROLLBACK TO drops it'
expect_line 'rr_own=16' 'REPEATABLE READ: own change seen'
expect_line 'rr_own_after_rollback=13' 'REPEATABLE READ: own change dropped at ROLLBACK'
expect_line 'rr2_snapshot=13' 'REPEATABLE READ with own change: snapshot price'
expect_line 'rr2_own=13/6.5' 'REPEATABLE READ with own change: snapshot price and own discount'
expect_line 'rr2_after_commit=17/8.5' 'REPEATABLE READ with own change: after COMMIT the latest'
expect_line 'replica_update=18' 'replica mode: an UPDATE invalidates'
expect_line 'replica_discount=9' 'replica mode: discount before TRUNCATE'
expect_line 'replica_truncate=18' 'replica mode: a TRUNCATE invalidates'
expect_line 'disabled_first=18' 'triggers disabled: price'
expect_line 'disabled_update=19' 'triggers disabled: a change is seen by the next statement'
expect_line 'disabled_block_before=19' 'triggers disabled: transaction block, before'
expect_line 'disabled_block_after=20' 'triggers disabled: transaction block, after'
expect_line 'origin_only_replica_update=21' 'triggers on origin only: a replica-mode change is seen'
expect_line 'triggers_after_enable_all=price_catalog_changed:O,price_catalog_changed_row:O' 'ENABLE TRIGGER ALL makes them fire on origin only'
expect_line 'repaired=21' 'triggers repaired: price'
expect_line 'repaired_replica_update=22' 'triggers repaired: a replica-mode change invalidates'
expect_line 'member_prices=22' 'a member of a reader role prices'
expect_line 'reader_sees_admin_change=23' "an admin's catalog change reaches a reader's next statement in another session"
expect_line 'reader_reads_no_table=ERROR' 'that reader reads no catalog table'
expect_line 'revoked=ERROR' 'a revoked membership is refused'
n=$(grep -c 'revoked_error=ERROR:  permission denied for function cost' <<<"$out" || true)
if [ "$n" = 1 ]; then echo "ok the refusal says why"; else echo "not ok the refusal says why"; fail=1; fi
expect_line 'view_prices=22' 'a reader prices through a view'
expect_line 'no_usage=ERROR' 'without USAGE on the schema, refused from the cache'
n=$(grep -c 'no_usage_error=ERROR:  permission denied to read the tokacct price catalog' <<<"$out" || true)
if [ "$n" = 1 ]; then echo "ok the schema refusal says why"; else echo "not ok the schema refusal says why"; fail=1; fi
expect_line 'bypass_prices=22' 'a BYPASSRLS role prices with row-level security on the catalog'
expect_line 'nobypass=ERROR' 'once NOBYPASSRLS, the role is refused'
n=$(grep -c 'nobypass_error=ERROR:  row-level security on the price catalog is not supported' <<<"$out" || true)
if [ "$n" = 1 ]; then echo "ok the row-level security refusal says why"; else echo "not ok the row-level security refusal says why"; fail=1; fi
expect_line 'alternating=1:22/22,2:22/30,3:22/30' 'two snapshots: each call prices with its own'
expect_line 'alternating_reads_at_most_4=true' 'two snapshots: the catalog is not read again at each turn'
# one warning for the whole time the triggers did not guard the cache
n=$(grep -c "WARNING:  changes to the price catalog may not reach the price cache" <<<"$out" || true)
if [ "$n" = 1 ]; then echo "ok warned once while the triggers were off"; else echo "not ok warned once while the triggers were off ($n)"; fail=1; fi
exit $fail
