-- Calls made by test/t/security.sh with public first on the search_path;
-- each capability adds a few representative calls here.
SET search_path = public, pg_catalog;
SELECT tokacct.effective_cost(0.42, 0.7);
SELECT tokacct.expected_item_cost(0.42, 0.7, 3, 18);
SELECT tokacct.break_even_p(0.42, 4.5, 3, 18);
SELECT tokacct.pass_at_k(5, 2, 2), tokacct.pass_hat_k(5, 2, 2);
SELECT tokacct.wilson_interval(8, 12);
SELECT tokacct.agent_loop_input_tokens(10, 2000, 500), tokacct.context_cost(10, 1, 1);
