#!/usr/bin/env bash
# The price cache under replication and restores: changes applied by a
# logical replication apply worker (which runs in replica mode and fires
# row triggers only), and a data-only pg_restore --disable-triggers, reach
# a session that already holds the catalog in its cache.
source "$(dirname "$0")/../lib.sh"
build_and_stage
cluster_start "wal_level = logical"

fail=0
conn_of() { echo "host=$PGHOST port=$PGPORT dbname=$1 user=postgres"; }

psql_run -c 'CREATE DATABASE pub' -c 'CREATE DATABASE sub' -c 'CREATE DATABASE dst'
psql_run -d pub <<'SQL'
CREATE EXTENSION tokacct;
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'acme', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES ('custom', 'acme', 'm1', 0, '{"equals": "m1"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok) VALUES ('custom', 'acme', 'm1', 3, 0);
CREATE PUBLICATION prices FOR TABLE tokacct.price_provider, tokacct.price_model, tokacct.price,
	tokacct.price_tier, tokacct.price_discount;
SELECT pg_create_logical_replication_slot('prices', 'pgoutput');
SQL
psql_run -d sub -c 'CREATE EXTENSION tokacct' -c 'CREATE EXTENSION dblink'
psql_run -d dst -c 'CREATE EXTENSION tokacct'

# Session A on the subscriber (through dblink, so that it stays open) holds
# the empty catalog in its cache; then the subscription copies the tables
# and applies the publisher's changes.  wait_for waits until the
# subscriber's tables show a condition.
out=$(psql_run -d sub -At -v pub="$(conn_of pub)" -v sub="$(conn_of sub)" -v dst="$(conn_of dst)" 2>&1 <<'SQL'
CREATE FUNCTION pg_temp.wait_for(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE ok bool;
BEGIN
	FOR i IN 1..600 LOOP
		EXECUTE q INTO ok;
		IF ok THEN RETURN 'yes'; END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
	RETURN 'timed out';
END $$;
-- What session A prices a call at, asked again (up to 5 s) until it gives
-- want: a commit becomes visible to other sessions a moment before its
-- invalidation is sent, so the statement right after may still use the
-- cache (README: "the next statement sees it"); a cache that is never
-- invalidated still fails.
CREATE FUNCTION pg_temp.cost_on_a(q text, want text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE got text;
BEGIN
	FOR i IN 1..100 LOOP
		SELECT coalesce(x::text, 'null') INTO got FROM dblink('a', q) AS t(x numeric);
		IF got = want THEN RETURN got; END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
	RETURN got;
END $$;
SELECT dblink_connect('a', :'sub');
SELECT 'sub_before=' || coalesce(x::text, 'null') FROM dblink('a', $$SELECT tokacct.cost('acme', 'm1', 1000000, 0)$$) AS t(x numeric);
CREATE SUBSCRIPTION prices CONNECTION :'pub' PUBLICATION prices WITH (create_slot = false, slot_name = 'prices');
SELECT 'synced=' || pg_temp.wait_for($$SELECT count(*) = 5 FROM pg_subscription_rel WHERE srsubstate = 'r'$$);
SELECT 'sub_after_copy=' || pg_temp.cost_on_a($$SELECT tokacct.cost('acme', 'm1', 1000000, 0)$$, '3');
SELECT dblink_connect('p', :'pub');
SELECT dblink_exec('p', $$UPDATE tokacct.price SET input_mtok = 4 WHERE model = 'm1'$$);
SELECT 'applied=' || pg_temp.wait_for($$SELECT input_mtok = 4 FROM tokacct.price WHERE model = 'm1'$$);
SELECT 'sub_after_update=' || pg_temp.cost_on_a($$SELECT tokacct.cost('acme', 'm1', 1000000, 0)$$, '4');
SELECT dblink_exec('p', $$INSERT INTO tokacct.price_discount (customer, multiplier) VALUES ('half', 0.5)$$);
SELECT 'applied=' || pg_temp.wait_for($$SELECT count(*) = 1 FROM tokacct.price_discount$$);
SELECT 'sub_after_insert=' || pg_temp.cost_on_a($$SELECT tokacct.customer_cost('half', 'acme', 'm1', 1000000, 0)$$, '2');
-- a context tier at 1 above 0 input tokens, then deleted
SELECT dblink_exec('p', $$INSERT INTO tokacct.price_tier (price_id, kind, threshold, mtok) SELECT price_id, 'input', 0, 1 FROM tokacct.price WHERE model = 'm1'$$);
SELECT 'applied=' || pg_temp.wait_for($$SELECT count(*) = 1 FROM tokacct.price_tier$$);
SELECT 'sub_after_tier=' || pg_temp.cost_on_a($$SELECT tokacct.cost('acme', 'm1', 1000000, 0)$$, '1');
SELECT dblink_exec('p', $$DELETE FROM tokacct.price_tier$$);
SELECT 'applied=' || pg_temp.wait_for($$SELECT count(*) = 0 FROM tokacct.price_tier$$);
SELECT 'sub_after_delete=' || pg_temp.cost_on_a($$SELECT tokacct.cost('acme', 'm1', 1000000, 0)$$, '4');
SELECT dblink_exec('p', $$TRUNCATE tokacct.price CASCADE$$);
SELECT 'applied=' || pg_temp.wait_for($$SELECT count(*) = 0 FROM tokacct.price$$);
SELECT 'sub_after_truncate=' || pg_temp.cost_on_a($$SELECT tokacct.cost('acme', 'm1', 1000000, 0)$$, 'null');
SELECT dblink_disconnect('p');
ALTER SUBSCRIPTION prices DISABLE;
ALTER SUBSCRIPTION prices SET (slot_name = NONE);
DROP SUBSCRIPTION prices;
SELECT dblink_disconnect('a');
SQL
) || { echo "$out"; echo "not ok the subscriber script stopped"; exit 1; }
echo "$out"
expect_line 'sub_before=null' 'subscriber: unknown model before the subscription'
expect_line 'synced=yes' 'subscriber: tables copied'
expect_line 'sub_after_copy=3' 'subscriber: the initial copy invalidates'
expect_line 'sub_after_update=4' 'subscriber: an applied UPDATE invalidates'
expect_line 'sub_after_insert=2' 'subscriber: an applied INSERT invalidates'
expect_line 'sub_after_tier=1' 'subscriber: an applied INSERT of a tier invalidates'
expect_line 'sub_after_delete=4' 'subscriber: an applied DELETE invalidates'
expect_line 'sub_after_truncate=null' 'subscriber: an applied TRUNCATE invalidates'
psql_run -d pub -c "SELECT pg_drop_replication_slot('prices')" >/dev/null

# A data-only dump of the publisher (m1 at 5 now), restored with
# --disable-triggers into dst (as pg_restore does it: DISABLE TRIGGER ALL,
# COPY, ENABLE TRIGGER ALL) while session D holds dst's empty catalog.
psql_run -d pub -c "INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok) VALUES ('custom', 'acme', 'm1', 5, 0)" >/dev/null
dump=$(scratch_dir dump)/catalog.dump
as_owner "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres -Fc --data-only -f "$dump" pub
out=$(psql_run -d sub -At 2>&1 <<SQL
SELECT dblink_connect('d', '$(conn_of dst)');
SELECT 'dst_cached=' || coalesce(x::text, 'null') FROM dblink('d', 'SELECT tokacct.cost(''acme'', ''m1'', 1000000, 0)') AS t(x numeric);
\! "$PGBIN/pg_restore" -h "$PGHOST" -p "$PGPORT" -U postgres --data-only --disable-triggers -d dst "$dump"
SELECT 'dst_after_restore=' || coalesce(x::text, 'null') FROM dblink('d', 'SELECT tokacct.cost(''acme'', ''m1'', 1000000, 0)') AS t(x numeric);
SELECT 'dst_next=' || coalesce(x::text, 'null') FROM dblink('d', 'SELECT tokacct.cost(''acme'', ''m1'', 1000000, 0)') AS t(x numeric);
SELECT 'dst_triggers=' || x FROM dblink('d', 'SELECT string_agg(DISTINCT tgenabled::text, '','') FROM pg_trigger WHERE tgname LIKE ''price_catalog_changed%''') AS t(x text);
-- the triggers now fire on origin only: a change in replica mode reaches D all the same
SELECT dblink_connect('e', '$(conn_of dst)');
SELECT dblink_exec('e', 'SET session_replication_role = replica');
SELECT dblink_exec('e', 'UPDATE tokacct.price SET input_mtok = 6');
SELECT 'dst_replica_update=' || coalesce(x::text, 'null') FROM dblink('d', 'SELECT tokacct.cost(''acme'', ''m1'', 1000000, 0)') AS t(x numeric);
SQL
) || { echo "$out"; echo "not ok the restore script stopped"; exit 1; }
echo "$out"
expect_line 'dst_cached=null' 'restore target: the session holds the empty catalog'
expect_line 'dst_after_restore=5' 'restore target: pg_restore --disable-triggers reaches the session'
expect_line 'dst_next=5' 'restore target: and stays'
expect_line 'dst_triggers=O' 'restore target: ENABLE TRIGGER ALL left the triggers firing on origin only'
expect_line 'dst_replica_update=6' 'restore target: a change in replica mode still reaches the session'
exit $fail
