-- tokacct 0.1.0 -> 0.2.0 (ALTER EXTENSION tokacct UPDATE).
-- Every reference is schema-qualified, as in the install script.

\echo Use "ALTER EXTENSION tokacct UPDATE TO '0.2.0'" to load this file. \quit

-- The rounding rule is half away from zero everywhere; the comments say so.
COMMENT ON FUNCTION @extschema@.outcome_report(@extschema@.outcome_state) IS
	'read a cost_per_outcome state: items, solved, solve_rate, ai_cost, cost_per_item = ai_cost/items, cost_per_solved = ai_cost/solved, fixed_items, human_fix_cost, total_cost = ai_cost + human_fix_cost, total_cost_per_solved; quotients are numeric rounded half away from zero to 12 decimals, NULL when dividing by 0';
