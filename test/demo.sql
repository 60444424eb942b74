-- The tokacct demo: the economics of one workflow, claims_triage.
\pset footer off
\echo
\echo '== claims_triage: one attempt costs $0.42 in tokens; a BPO charges $4.50 a claim =='
\echo
\echo '-- The retry tail: first-try success falls from 90% to 70%.'
SELECT p AS first_try_success,
       tokacct.effective_cost(0.42, p) AS cost_per_solved_claim
  FROM (VALUES (0.9), (0.7)) AS v(p);
SELECT round(100 * (tokacct.effective_cost(0.42, 0.7)
                    / tokacct.effective_cost(0.42, 0.9) - 1), 1) AS cost_rise_pct;
\echo '-- 20 points less success, 28.6% more cost per solved claim.'
\echo
\echo '-- Capped retries: at most k attempts, then a human fixes it for $18.00.'
SELECT k AS max_attempts, r.cost_per_item, round(r.yield::numeric, 4) AS ai_yield,
       round(r.expected_attempts::numeric, 4) AS attempts
  FROM generate_series(1, 4) AS k,
       LATERAL tokacct.expected_item_cost(0.42, 0.7, k, 18.00) AS r;
\echo
\echo '-- Against the BPO price: the first-try success AI needs to be cheaper.'
SELECT round(tokacct.break_even_p(0.42, 4.50, 3, 18.00)::numeric, 4) AS break_even_p1,
       tokacct.break_even_attempt_cost(0.7, 4.50, 3, 18.00) AS max_attempt_cost_at_p70;
\echo
\echo '-- How sure are we of 70%? 84 successes in 120 claims:'
SELECT round(low::numeric, 3) AS low, round(high::numeric, 3) AS high
  FROM tokacct.wilson_interval(84, 120);
