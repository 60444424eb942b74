-- Scalar economics.  Every expected value is worked
-- out by hand in the comment beside it; each query shows the value and
-- whether it equals the hand value exactly.

-- The retry tail.  T/p with T = 100: p = 0.9 gives 100/0.9 = 111.111...,
-- p = 0.7 gives 100/0.7 = 142.857142857142857...; money is rounded to 12
-- decimals.  The cost per solved item rises by 0.9/0.7 - 1 = 2/7 = 28.57%,
-- not the 20 points the success rate fell.
SELECT tokacct.effective_cost(100, 0.9) AS at_p90,
       tokacct.effective_cost(100, 0.9) = 111.111111111111 AS ok90,
       tokacct.effective_cost(100, 0.7) AS at_p70,
       tokacct.effective_cost(100, 0.7) = 142.857142857143 AS ok70,
       round(tokacct.effective_cost(100, 0.7) / tokacct.effective_cost(100, 0.9) - 1, 4) AS rise,
       round(tokacct.effective_cost(100, 0.7) / tokacct.effective_cost(100, 0.9) - 1, 4) = 0.2857 AS ok_rise;

-- p = 1: every attempt succeeds, T/1 = T.
SELECT tokacct.effective_cost(0.0375, 1) = 0.0375 AS ok;

-- Success and failure priced apart: T_s = 0.05, T_f = 0.02, p = 0.8:
-- 0.05 + 0.02 * 0.2 / 0.8 = 0.05 + 0.005 = 0.055.
SELECT tokacct.effective_cost(0.05, 0.02, 0.8) AS cost,
       tokacct.effective_cost(0.05, 0.02, 0.8) = 0.055 AS ok;

-- Capped retries with a fallback.  q = 1 - p, E = (1 - q^k)/p attempts,
-- cost = T*E + H*q^k, yield = 1 - q^k, AI cost per AI-solved = T*E/yield.
-- (a) T = 0.40, p = 0.9, k = 3, H = 12: q^3 = 0.001, E = 0.999/0.9 = 1.11,
--     cost = 0.444 + 0.012 = 0.456, yield 0.999, AI/solved = 0.444/0.999 = 4/9.
-- (b) T = 0.40, p = 0.7, k = 2, H = 12: q^2 = 0.09, E = 0.91/0.7 = 1.3,
--     cost = 0.52 + 1.08 = 1.6, yield 0.91, AI/solved = 0.52/0.91 = 4/7.
-- (c) T = 1, p = 0.5, k = 1, H = 20: E = 1, cost = 1 + 10 = 11, yield 0.5,
--     AI/solved = 2.
-- (d) T = 2, p = 0.6, k = 4, H = 30: q^4 = 0.0256, E = 0.9744/0.6 = 1.624,
--     cost = 3.248 + 0.768 = 4.016, yield 0.9744, AI/solved = 10/3.
-- (e) T = 0.25, p = 1, k = 5, H = 100: nothing falls back: 0.25, 1, 1, 0.25.
SELECT c.name, r.*,
       r.cost_per_item = c.cost AND r.ai_cost_per_ai_solved = c.ai
       AND abs(r.yield - c.yield) < 1e-15 AND abs(r.expected_attempts - c.attempts) < 1e-15 AS ok
  FROM (VALUES ('a', 0.40, 0.9, 3, 12, 0.456, 0.444444444444, 0.999, 1.11),
               ('b', 0.40, 0.7, 2, 12, 1.6, 0.571428571429, 0.91, 1.3),
               ('c', 1, 0.5, 1, 20, 11, 2, 0.5, 1),
               ('d', 2, 0.6, 4, 30, 4.016, 3.333333333333, 0.9744, 1.624),
               ('e', 0.25, 1, 5, 100, 0.25, 0.25, 1, 1))
       AS c(name, t, p, k, h, cost, ai, yield, attempts),
       LATERAL tokacct.expected_item_cost(c.t, c.p, c.k, c.h) AS r
 ORDER BY c.name;

-- Break-even against a BPO unit price.
-- T = 0.40, U = 1.00: T/p = U at p = 0.4.  T = 2 > U = 1: never (NULL).
-- T = 0: any rate breaks even (0).
SELECT tokacct.break_even_p(0.40, 1.00) AS p,
       tokacct.break_even_p(2, 1) IS NULL AS never,
       tokacct.break_even_p(0, 5) AS free;

-- Capped, k = 1: cost = T + H(1-p) = U gives p = 1 - (U-T)/H;
-- T = 0.5, H = 10, U = 3: p = 1 - 2.5/10 = 0.75.
-- Capped, k = 2, T = 1, H = 10, U = 2: 1 + q + 10 q^2 = 2, so
-- 10 q^2 + q - 1 = 0, q = (sqrt(41) - 1)/20, p = 0.729843788128358 (15 digits).
-- U >= T*k + H = 12: always cheaper (0); U < T: never (NULL).
SELECT round(tokacct.break_even_p(0.5, 3, 1, 10)::numeric, 12) AS k1,
       round(tokacct.break_even_p(1, 2, 2, 10)::numeric, 12) AS k2,
       round(tokacct.break_even_p(1, 2, 2, 10)::numeric, 12) = 0.729843788128 AS ok_k2,
       tokacct.break_even_p(1, 12, 2, 10) AS always,
       tokacct.break_even_p(1, 0.5, 2, 10) IS NULL AS never;

-- The largest attempt cost that beats a unit price: U*p = 50 * 0.8 = 40;
-- capped (a) above backwards: (0.456 - 12*0.001)/1.11 = 0.4;
-- fallback alone too dear: p = 0.5, k = 1, H = 100: H*q = 50 > U = 10, NULL.
SELECT tokacct.break_even_attempt_cost(0.8, 50) AS plain,
       tokacct.break_even_attempt_cost(0.9, 0.456, 3, 12) AS capped,
       tokacct.break_even_attempt_cost(0.5, 10, 1, 100) IS NULL AS none;

-- pass@k and pass^k on a hand-made population of four items, n = 5 trials
-- each, with c = 1, 3, 5 and 0 successes.  C(5,2) = 10, C(5,3) = 10.
--   pass@1 = c/n:               0.2, 0.6, 1, 0          mean 0.45
--   pass@2 = 1 - C(5-c,2)/10:   1-6/10, 1-1/10, 1, 0    mean (0.4+0.9+1)/4 = 0.575
--   pass^2 = C(c,2)/10:         0, 3/10, 1, 0           mean 1.3/4 = 0.325
--   pass@3 = 1 - C(5-c,3)/10:   1-4/10, 1, 1, 0         mean 2.6/4 = 0.65
--   pass^3 = C(c,3)/10:         0, 1/10, 1, 0           mean 1.1/4 = 0.275
-- One global p = 9/20 would claim pass@2 = 1 - 0.55^2 = 0.6975: the
-- heterogeneous population retries worse than one p says.
SELECT k,
       round(avg(tokacct.pass_at_k(5, c, k))::numeric, 12) AS pass_at_k,
       round(avg(tokacct.pass_hat_k(5, c, k))::numeric, 12) AS pass_hat_k
  FROM (VALUES (1), (3), (5), (0)) AS items(c), generate_series(1, 3) AS k
 GROUP BY k ORDER BY k;

-- Large n without overflow: C(n-1,k)/C(n,k) = (n-k)/n, so pass@k = k/n:
-- n = 1,000,000, k = 1000: 0.001.  pass^2 with c = n-1: (n-2)/n, n = 2e9:
-- 1 - 1e-9.  All successes: pass@k = pass^k = 1; none: 0.
SELECT round(tokacct.pass_at_k(1000000, 1, 1000)::numeric, 12) AS k_over_n,
       round(tokacct.pass_hat_k(2000000000, 1999999999, 2)::numeric, 12) AS near_one,
       tokacct.pass_at_k(7, 7, 7) AS all_at, tokacct.pass_hat_k(7, 7, 7) AS all_hat,
       tokacct.pass_at_k(7, 0, 3) AS none_at;

-- The largest population, answered at once (no 2^31-step loop): no success
-- gives pass@k = 0, all successes pass^k = 1; a single failure among 2^31-1
-- trials gives pass^k = 0 for k = n (C(n-1, n) = 0) and pass@k = 1.
SELECT tokacct.pass_at_k(2147483647, 0, 2147483647) AS none_at,
       tokacct.pass_hat_k(2147483647, 2147483647, 2147483647) AS all_hat,
       tokacct.pass_hat_k(2147483647, 2147483646, 2147483647) AS one_fail_hat,
       tokacct.pass_at_k(2147483647, 2147483646, 2147483647) AS one_fail_at;

-- One failure among 2^31-1 trials and k = n-1: C(n-1, n-1) / C(n, n-1) = 1/n,
-- so pass^k = 1/2147483647 (4.656612875245797e-10 as Python's 1/2147483647
-- prints it) and pass@k = 1 - C(1, n-1)/C(n, n-1) = 1.  Taken as one factor
-- (n-k)/n, not 2^31-2 of them (6 s before): the timeout fails a slow one.
-- 10 trials, 9 successes, k = 8: C(9,8)/C(10,8) = 9/45 = 0.2.
SET statement_timeout = '2s';
SELECT tokacct.pass_hat_k(2147483647, 2147483646, 2147483646) AS one_fail_hat,
       tokacct.pass_hat_k(2147483647, 2147483646, 2147483646) = 1.0 / 2147483647 AS same,
       tokacct.pass_at_k(2147483647, 2147483646, 2147483646) AS one_fail_at,
       tokacct.pass_hat_k(10, 9, 8) AS nine_of_ten;
RESET statement_timeout;

-- Context: 0.001 * 1000 + 0.000001 * 1000^2 = 1 + 1 = 2.
-- A loop of 10 turns, 2,000 tokens first, 500 more each turn:
-- 10*2000 + 500*(10*9/2) = 20,000 + 22,500 = 42,500.  One turn: base.
SELECT tokacct.context_cost(1000, 0.001, 0.000001) AS cost,
       tokacct.agent_loop_input_tokens(10, 2000, 500) AS loop_tokens,
       tokacct.agent_loop_input_tokens(1, 2000, 500) AS one_turn,
       tokacct.agent_loop_input_tokens(0, 2000, 500) AS no_turn;

-- Wilson intervals, checked against an independent computation (Python's
-- statistics.NormalDist().inv_cdf for z and the closed form):
--   8/12 at 95%:  0.3906220889 .. 0.8618799089
--   0/10 at 95%:  0            .. 0.2775327999
--   10/10 at 95%: 0.7224672001 .. 1
--   45/50 at 99%: 0.7402692104 .. 0.9660091162
SELECT s, n, conf, round(w.low::numeric, 10) AS low, round(w.high::numeric, 10) AS high
  FROM (VALUES (8, 12, 0.95), (0, 10, 0.95), (10, 10, 0.95), (45, 50, 0.99)) AS v(s, n, conf),
       LATERAL tokacct.wilson_interval(s, n, conf) AS w;
SELECT round(low::numeric, 10) = 0.3906220889 AS default_95 FROM tokacct.wilson_interval(8, 12);

-- Bad input: an error each, never a number.
SELECT tokacct.effective_cost(100, 0);
SELECT tokacct.effective_cost(100, -0.1);
SELECT tokacct.effective_cost(100, 1.5);
SELECT tokacct.effective_cost(100, 'NaN');
SELECT tokacct.effective_cost(-1, 0.5);
SELECT tokacct.effective_cost('NaN'::numeric, 0.5);
SELECT tokacct.effective_cost(0.05, -0.02, 0.8);
SELECT tokacct.expected_item_cost(1, 0.5, 0, 10);
SELECT tokacct.expected_item_cost(1, 0.5, 3, -10);
SELECT tokacct.break_even_p(1, -2);
SELECT tokacct.break_even_p(1, 2, 0, 10);
SELECT tokacct.break_even_attempt_cost(0, 50);
SELECT tokacct.pass_at_k(0, 0, 1);
SELECT tokacct.pass_at_k(5, 6, 1);
SELECT tokacct.pass_at_k(5, -1, 1);
SELECT tokacct.pass_at_k(5, 2, 0);
SELECT tokacct.pass_hat_k(5, 2, 6);
SELECT tokacct.context_cost(-1, 0.001, 0);
SELECT tokacct.context_cost(10, -0.001, 0);
SELECT tokacct.agent_loop_input_tokens(-1, 10, 10);
SELECT tokacct.agent_loop_input_tokens(10, -10, 10);
SELECT tokacct.agent_loop_input_tokens(2147483647, 9223372036854775807, 0);
SELECT tokacct.wilson_interval(1, 0);
SELECT tokacct.wilson_interval(11, 10);
SELECT tokacct.wilson_interval(5, 10, 1);
SELECT tokacct.wilson_interval(5, 10, 'NaN');
