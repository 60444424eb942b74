-- allocate(): the LP-optimal plan for a budget, worked by hand.
\pset null '(null)'

-- Three workflows (cost per item, value per item):
--   claims_triage, 1000 items: model-b (0.50, 9), model-a (2.00, 10) current,
--     human (12, 11).  Frontier b -> a slope 1/1.5 = 0.667, a -> human 1/10.
--   contract_review, 200 items: model-a (8, 25), BPO (30, 40) current.
--     Frontier model-a -> BPO slope 15/22 = 0.682.
--   ticket_resolution, 5000 items: model-b (0.2, 3), model-a (1.0, 4) current.
--     Frontier b -> a slope 1/0.8 = 1.25.
-- Cheapest plan: 1000*0.5 + 200*8 + 5000*0.2 = 3100, value 9000+5000+15000 = 29000.
-- Segments, steepest first (cost of the whole segment, value gained):
--   ticket b->a 1.25 (4000, +5000)  -> spend  7100, value 34000
--   contract a->BPO 0.682 (4400, +3000) ->   11500,       37000
--   claims b->a 0.667 (1500, +1000)  ->      13000,       38000
--   claims a->human 0.1 (10000, +1000) ->    23000,       39000 (full)
CREATE TABLE al_options (workflow text, option text, cost_per_item numeric,
						 value_per_item numeric, items bigint, is_current bool);
INSERT INTO al_options VALUES
	('claims_triage', 'model-a', 2.00, 10, 1000, true),
	('claims_triage', 'model-b', 0.50, 9, 1000, false),
	('claims_triage', 'human', 12, 11, 1000, false),
	('contract_review', 'BPO', 30, 40, 200, true),
	('contract_review', 'model-a', 8, 25, 200, false),
	('ticket_resolution', 'model-b', 0.2, 3, 5000, NULL),
	('ticket_resolution', 'model-a', 1.0, 4, 5000, true);
CREATE FUNCTION al_opts() RETURNS tokacct.allocation_option[] LANGUAGE sql AS $$
	SELECT array_agg(ROW(workflow, option, cost_per_item, value_per_item, items, is_current)::tokacct.allocation_option)
	  FROM al_options $$;

-- Budget 5000: 1900 over the cheapest plan buys 1900/0.8 = 2375 tickets on
-- model-a (+2375 value): value 31375, shadow price 1.25.
SELECT * FROM tokacct.allocation_summary(5000, al_opts());
SELECT * FROM tokacct.allocate(5000, al_opts());

-- Budget 10000: tickets all on model-a (7100), then 2900 moves 2900/22 =
-- 131.818181818182 contracts to the BPO for 2900*15/22 = 1977.272727272727:
-- value 35977.272727272727, shadow price 15/22.
SELECT feasible, spend, value = 34000 + round(2900 * 15 / 22::numeric, 12) AS value_ok,
	   shadow_price = 15 / 22::float8 AS shadow_ok, split_workflow
  FROM tokacct.allocation_summary(10000, al_opts());
-- Rows: BPO gets 2900/22 = 131.818181818182 items, spend 30*2900/22 =
-- 3954.545454545455, value 40*2900/22 = 5272.727272727273; model-a keeps the
-- rest of the workflow (spend 4500, value 6977.272727272727).
SELECT workflow, option, items, round(share::numeric, 9) AS share, spend, value
  FROM tokacct.allocate(10000, al_opts());
SELECT sum(spend) = 10000 AS spend_ok, sum(value) = 35977.272727272727 AS value_ok,
	   sum(items) FILTER (WHERE workflow = 'contract_review') = 200 AS items_ok,
	   sum(share) FILTER (WHERE workflow = 'contract_review') = 1 AS shares_ok
  FROM tokacct.allocate(10000, al_opts());
-- Against today (model-a, BPO, model-a):
--   claims: 500 - 2000 = -1500 spend, 9000 - 10000 = -1000 value;
--   contracts: 1600 + 2900 - 6000 = -1500, 5000 + 1977.27 - 8000 = -1022.73;
--     68.18 of 200 contracts (34.1%) leave the BPO;
--   tickets: as today.
SELECT * FROM tokacct.allocation_decisions(10000, al_opts());

-- The budget ends exactly at a frontier option (7100): no split, and the next
-- dollar buys the next segment, 15/22.
SELECT feasible, spend, value, shadow_price = 15 / 22::float8 AS shadow_ok, split_workflow
  FROM tokacct.allocation_summary(7100, al_opts());
-- The cheapest plan exactly: shadow price of the steepest segment.
SELECT * FROM tokacct.allocation_summary(3100, al_opts());
-- Enough for everything (23000) or far more (50 million, beyond one int64 of
-- picodollars): the full plan, and the next dollar buys nothing.
SELECT * FROM tokacct.allocation_summary(23000, al_opts());
SELECT * FROM tokacct.allocation_summary(50000000, al_opts());
SELECT * FROM tokacct.allocation_decisions(50000000, al_opts());
-- Below the cheapest plan: the summary says so, the plan is an error.
SELECT * FROM tokacct.allocation_summary(3099.99, al_opts());
SELECT * FROM tokacct.allocate(3099.99, al_opts());
SELECT * FROM tokacct.allocation_decisions(-1, al_opts());

-- Collinear options: a (1,1), m (2,2), b (3,3), 10 items, budget 20.  Both
-- segments have slope 1; 10 over the cheapest plan moves every item to m,
-- so the plan runs m alone instead of a 50/50 mix of a and b.
SELECT * FROM tokacct.allocate(20, ARRAY[
	ROW('w', 'a', 1, 1, 10, false), ROW('w', 'm', 2, 2, 10, false),
	ROW('w', 'b', 3, 3, 10, false)]::tokacct.allocation_option[]);

-- Equal slopes in two workflows: the tie goes to the workflow whose name
-- sorts first.  alpha and beta: cheap (1,1) -> good (2,3), slope 2, 10 items;
-- budget 25 = 20 + 5 moves 5 alpha items.
SELECT * FROM tokacct.allocate(25, ARRAY[
	ROW('beta', 'cheap', 1, 1, 10, true), ROW('beta', 'good', 2, 3, 10, false),
	ROW('alpha', 'cheap', 1, 1, 10, true), ROW('alpha', 'good', 2, 3, 10, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocation_decisions(25, ARRAY[
	ROW('beta', 'cheap', 1, 1, 10, true), ROW('beta', 'good', 2, 3, 10, false),
	ROW('alpha', 'cheap', 1, 1, 10, false), ROW('alpha', 'good', 2, 3, 10, false)]::tokacct.allocation_option[]);

-- A single option; a cheapest option of negative value (leaving an item
-- undone costs a penalty of 2); a current option that is dominated.
--   cheapest plan: solo 3*1 + neg 100*0 + legacy on new 1*1 = 4 (old (3,2)
--   is dominated by new (1,3)); budget 54 leaves 50 for neg: drop (0,-2) ->
--   model (1,3), slope 5, moves 50 of 100 items: -200 + 50*5 = 50.
--   Value: solo 21 + neg 50 + legacy 3 = 74; shadow price 5.
SELECT * FROM tokacct.allocation_summary(54, ARRAY[
	ROW('solo', 'only', 1, 7, 3, true),
	ROW('neg', 'drop', 0, -2, 100, false), ROW('neg', 'model', 1, 3, 100, false),
	ROW('legacy', 'old', 3, 2, 1, true), ROW('legacy', 'new', 1, 3, 1, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocation_decisions(54, ARRAY[
	ROW('solo', 'only', 1, 7, 3, true),
	ROW('neg', 'drop', 0, -2, 100, false), ROW('neg', 'model', 1, 3, 100, false),
	ROW('legacy', 'old', 3, 2, 1, true), ROW('legacy', 'new', 1, 3, 1, false)]::tokacct.allocation_option[]);

-- Bad input.
SELECT * FROM tokacct.allocate(10, ARRAY[]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(10, ARRAY[NULL]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(10, ARRAY[ROW(NULL, 'a', 1, 1, 1, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(10, ARRAY[ROW('w', NULL, 1, 1, 1, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(10, ARRAY[ROW('w', '', 1, 1, 1, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(10, ARRAY[ROW('w', 'a', NULL, 1, 1, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(10, ARRAY[ROW('w', 'a', 1, NULL, 1, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(10, ARRAY[ROW('w', 'a', 1, 1, NULL, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(10, ARRAY[ROW('w', 'a', -1, 1, 1, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(10, ARRAY[ROW('w', 'a', 1, 1, 0, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(10, ARRAY[ROW('w', 'a', 'NaN', 1, 1, false)]::tokacct.allocation_option[]);
-- more than 12 decimals are rounded half away from zero: 1.0000000000001 -> 1
SELECT * FROM tokacct.allocate(10, ARRAY[ROW('w', 'a', 1, 1.0000000000001, 1, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(10, ARRAY[ROW('w', 'a', 1, 1, 1, false), ROW('w', 'a', 2, 2, 1, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(10, ARRAY[ROW('w', 'a', 1, 1, 1, false), ROW('w', 'b', 2, 2, 2, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(10, ARRAY[ROW('w', 'a', 1, 1, 1, true), ROW('w', 'b', 2, 2, 1, true)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate('NaN', ARRAY[ROW('w', 'a', 1, 1, 1, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate('Infinity', ARRAY[ROW('w', 'a', 1, 1, 1, false)]::tokacct.allocation_option[]);
-- a budget too: 1.0000000000001 -> 1
SELECT * FROM tokacct.allocate(1.0000000000001, ARRAY[ROW('w', 'a', 1, 1, 1, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(1e40, ARRAY[ROW('w', 'a', 1, 1, 1, false)]::tokacct.allocation_option[]);
SELECT * FROM tokacct.allocate(NULL, ARRAY[ROW('w', 'a', 1, 1, 1, false)]::tokacct.allocation_option[]);
