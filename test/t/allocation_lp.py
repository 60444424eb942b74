"""Independent check of tokacct's allocation against scipy's LP solver.

usage: allocation_lp.py gen SQLFILE         write the instances as SQL
       allocation_lp.py check SUMMARY PLANS  compare tokacct's answers

Instances are generated from a fixed seed, so every run checks the same
problems.  For each instance the same linear program is solved by
scipy.optimize.linprog (HiGHS): x[w,o] >= 0 items per workflow and option,
sum_o x[w,o] = items[w], sum cost*x <= budget, maximise sum value*x.
tokacct must report the same optimum value (within 1e-9 relative), the same
feasibility, the same shadow price where the budget ends inside a frontier
segment, and a plan that spends no more than the budget, puts every item
somewhere and splits at most one workflow.
"""
import random
import sys
from decimal import Decimal

import numpy as np
from scipy.optimize import linprog

SEED = 20261129
N = 240


def instances():
    rng = random.Random(SEED)
    out = []
    for i in range(N):
        wfs = []
        for w in range(rng.randint(1, 6)):
            vol = rng.choice([1, 7, 100, 1000, 25000, 100000, rng.randint(1, 100000)])
            opts = []
            for o in range(rng.randint(1, 6)):
                cost = Decimal(rng.randint(0, 200000)) / 10000
                value = Decimal(rng.randint(-50000, 500000)) / 10000
                r = rng.random()
                if opts and r < 0.15:          # same cost as another option
                    cost = rng.choice(opts)[1]
                elif opts and r < 0.25:        # identical point
                    cost, value = rng.choice(opts)[1:3]
                elif len(opts) >= 2 and r < 0.35:  # collinear with two others
                    (_, c1, v1, _), (_, c2, v2, _) = rng.sample(opts, 2)
                    if c1 != c2:
                        t = Decimal(rng.choice([1, 2, 3])) / 4
                        cost, value = c1 + t * (c2 - c1), v1 + t * (v2 - v1)
                opts.append(("o%d" % o, cost, value, rng.random() < 0.3))
            cur = [k for k, op in enumerate(opts) if op[3]]
            opts = [(n, c, v, k == (cur[0] if cur else -1)) for k, (n, c, v, _) in enumerate(opts)]
            wfs.append(("w%d" % w, vol, opts))
        lo = sum(vol * min(c for _, c, _, _ in opts) for _, vol, opts in wfs)
        hi = sum(vol * max(c for _, c, _, _ in opts) for _, vol, opts in wfs)
        if i % 10 == 9 and lo > 0:
            budget = (lo * Decimal("0.9")).quantize(Decimal("0.0001"))
        elif i % 10 == 8:
            budget = lo
        else:
            budget = (lo + (hi * Decimal("1.05") - lo) * Decimal(rng.random() ** 3)).quantize(Decimal("0.0001"))
        out.append((i, budget, wfs))
    return out


def array_sql(wfs):
    rows = []
    for w, vol, opts in wfs:
        for o, c, v, cur in opts:
            rows.append("ROW('%s','%s',%s,%s,%d,%s)::tokacct.allocation_option"
                        % (w, o, c, v, vol, "true" if cur else "false"))
    return "ARRAY[" + ",".join(rows) + "]"


def gen(path):
    with open(path, "w") as f:
        for i, budget, wfs in instances():
            arr = array_sql(wfs)
            f.write("SELECT %d, s.feasible, s.value, s.shadow_price, s.spend, "
                    "coalesce(s.split_workflow, '') FROM tokacct.allocation_summary(%s, %s) s;\n"
                    % (i, budget, arr))
            # plan checks, only when the budget covers the cheapest plan
            f.write("SELECT %d, sum(p.spend) <= %s, count(DISTINCT p.workflow) FILTER (WHERE p.share < 1), "
                    "bool_and(t.n = t.total), sum(p.value) FROM tokacct.allocate(%s, %s) p "
                    "JOIN (SELECT workflow, sum(items) AS n, max(v.vol) AS total FROM tokacct.allocate(%s, %s) "
                    "JOIN (VALUES %s) v(wf, vol) ON v.wf = workflow GROUP BY workflow) t USING (workflow) "
                    "WHERE (SELECT feasible FROM tokacct.allocation_summary(%s, %s));\n"
                    % (i, budget, budget, arr, budget, arr,
                       ",".join("('%s',%d)" % (w, vol) for w, vol, _ in wfs), budget, arr))


def solve(budget, wfs):
    c, a_eq, b_eq, a_ub = [], [], [], []
    nvar = sum(len(opts) for _, _, opts in wfs)
    k = 0
    for w, vol, opts in wfs:
        row = [0.0] * nvar
        for _, cost, value, _ in opts:
            # variables are shares of the workflow's items
            c.append(-float(value) * vol)
            a_ub.append(float(cost) * vol)
            row[k] = 1.0
            k += 1
        a_eq.append(row)
        b_eq.append(1.0)
    res = linprog(np.array(c), A_ub=np.array([a_ub]), b_ub=np.array([float(budget)]),
                  A_eq=np.array(a_eq), b_eq=np.array(b_eq), bounds=(0, None), method="highs",
                  options={"primal_feasibility_tolerance": 1e-10,
                           "dual_feasibility_tolerance": 1e-10})
    return res


def check(summary_path, plans_path):
    summ = {}
    for line in open(summary_path):
        f = line.rstrip("\n").split("|")
        summ[int(f[0])] = f[1:]
    plans = {}
    for line in open(plans_path):
        f = line.rstrip("\n").split("|")
        plans[int(f[0])] = f[1:]
    fails = opt = infeas = binding = 0
    feasible_n = infeasible_n = 0
    for i, budget, wfs in instances():
        res = solve(budget, wfs)
        feasible, value, shadow, spend, split = summ[i]
        if res.status == 2:
            infeasible_n += 1
            good = feasible == "f"
            infeas += good
            print("%s instance %d infeasible budget rejected" % ("ok" if good else "not ok", i))
            fails += not good
            continue
        assert res.status == 0, res.message
        feasible_n += 1
        theirs = -res.fun
        ours = float(Decimal(value)) if feasible == "t" else float("nan")
        rel = abs(ours - theirs) / max(1.0, abs(theirs))
        good = feasible == "t" and rel <= 1e-9
        why = "value %s, linprog %.12g, rel %.2g" % (value, theirs, rel)
        if split:
            binding += 1
        if good and split:
            dual = -res.ineqlin.marginals[0]
            srel = abs(float(shadow) - dual) / max(1.0, abs(dual))
            if srel > 1e-9:
                good = False
                why += "; shadow %s, linprog %.12g" % (shadow, dual)
        p = plans.get(i)
        if good and (p is None or p[0] != "t" or int(p[1]) > 1 or p[2] != "t"
                     or Decimal(p[3]) != Decimal(value)):
            good = False
            why += "; plan checks %s" % (p,)
        opt += good
        fails += not good
        print("%s instance %d optimal (%s)" % ("ok" if good else "not ok", i, why))
    print("%d of %d instances optimal (%d with a workflow split at the margin), "
          "%d of %d infeasible budgets rejected"
          % (opt, feasible_n, binding, infeas, infeasible_n))
    return 1 if fails or feasible_n < 200 else 0


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2], sys.argv[3]))
