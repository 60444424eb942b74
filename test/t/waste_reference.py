"""Differential test of tokacct's waste classification against a reference.

usage: waste_reference.py gen DIR             write spans.tsv, traces.tsv and
                                               statuses.tsv
       waste_reference.py check DIR           compare tokacct's answers in DIR
       waste_reference.py selftest-broken DIR  (the check, with a deliberately
                                               broken reference: must fail)
       waste_reference.py selftest-broken-induced DIR  (the same, with a
                                               truncation that ends nothing)

The reference below is written from README.md, section "Waste in execution
traces", in the plainest way (quadratic scans, recursion): it shares no code
and no data structure with src/waste_*.c.  Traces come from a fixed
seed, so every run checks the same ~2,000 traces, each under the cost rules
'leaf' and 'self' (and 'rollup' where the reported costs are consistent),
with loop_min 2, 3 and 5.  Money is int picodollars (1e-12), never float.

Points the README leaves open, settled by reading the C code (the README
should say them; the reference follows tokacct on each):
  P1. "attempt numbers order the tries when given": when only some siblings
      of a step carry an attempt number, a missing one counts as attempt 0
      (before every numbered try); equal attempt numbers fall back to start
      time; start-time ties are broken by span id (bytewise).
  P2. Siblings: every root, including orphans whose (missing) parent ids
      differ, is a sibling of every other root, for retries and for loops.
  P3. "consecutive" siblings (stuck loops) are consecutive in start-time
      order (then span id), not in attempt order.
  P4. The cause of an inherited class is the NEAREST span (the span itself,
      else its closest ancestor) that starts that class.
  P5. The cause of a stuck_loop span is the FIRST span of its run (not the
      sibling just before it).
  P6. The cause of a duplicate_tool_call is the EARLIEST kept call (start
      time, then span id) with the same name and argument hash; "earlier"
      is in start time, then span id, across the whole trace; the kinds of
      the two calls may differ (tool vs tool_call), and the duplicate's own
      status is not looked at (a failed or discarded one is caught earlier
      in the precedence anyway).
  P7. Kinds are compared exactly for "same kind", but the tool kinds are
      recognised in any case ('Tool_Call' is a tool call).
  P8. "roots" in waste_summary counts orphans too (roots = spans whose parent
      is NULL or missing).
  P9. Failure statuses are error, rate_limited, timeout and server_error (and
      the codes mapping to them); 'discarded' is not a failure: it never makes
      an error_call or a failed attempt.  "Successful" (stuck loops, kept
      results) means status ok (NULL, ok, unset, success, 2xx).
  P10. Under 'rollup' a span reporting NULL has own cost 0 and counts as its
      children's total in its parent's sum; when several parents report less
      than their children the error names one of them (the test accepts any).
  P11. A trace's total (waste_summary.total) is the sum of own costs under
      the rule, not the sum of reported costs.
  P12. A NULL kind or name is the empty string: NULL names match each other
      (and ''), unlike NULL argument hashes (waste_span_classes shows '').

The induced cost (README, "Induced cost") is checked on half the traces,
which carry input tokens and input costs (through the 11-argument
waste_agg); the reference computes it pair by pair, for each tool call and
each later LLM call that re-reads what it added (no running sums, no
suffix sums as in the C code), and every span's cost in its class is then
its own cost plus what it induced (minus what it gave up, for a call).
Every row of waste_induced() (tokens, price per token, money moved) is
compared too.  Points settled by reading the C code:
  P13. A span with input tokens above 0 is an LLM call, whatever its kind;
      any other span of a tool kind (those of P7, with or without
      arguments, input tokens NULL or 0) is a tool call.
  P14. "Before" and "after" are in the sibling list's time order (start,
      then span id), as for loops (P3); the roots and orphans are one list
      (P2).

Known disagreements between tokacct and the documented rules, each a named
expected-failure set below; a listed case that starts agreeing is reported
as "not ok" too, so the lists stay true:
  EXPECTED_FAILURES (classification): none.
(The README did not list the status spellings rate_limit and canceled, which
tokacct accepts; it lists them now.)

A literal reading both once followed: a kept tool call C whose parent T is
the same call (same name and arguments) but starts later was a
duplicate_tool_call caused by itself (T duplicated C and C inherited T's
class), and a call recorded twice by nested instrumentation (the inner span
a moment after the outer) made the inner one, which carries the cost under
the leaf rule, a duplicate.  The README now says that a call nested in a call
of the same name and arguments is that call seen twice, never a duplicate.
"""
import os
import random
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal

SEED = 20261129
NTRACES = 2000
LOOP_MINS = (2, 3, 5)
PICO = 10 ** 12
BASE = datetime(2026, 3, 1, 9, 0, 0, tzinfo=timezone.utc)

CLASSES = ("error_call", "failed_attempt", "abandoned_branch", "stuck_loop",
           "duplicate_tool_call", "essential")

# Known disagreements, by name: {(trace, rule, loop_min, span_id): why}.
EXPECTED_FAILURES = {}

# Known disagreement on statuses: README's list of statuses ends "Anything
# else is an error naming the span", but tokacct also accepts these spellings
# (src/waste_state.c lists them in its comment).  Either README should list
# them or tokacct should refuse them; until then: {status text: tokacct's reading}.
# ---------------------------------------------------------------------------
# The reference, from the README
# ---------------------------------------------------------------------------

OK, ERROR, RATE, TIMEOUT, SERVER, DISCARDED = (
    "ok", "error", "rate_limited", "timeout", "server_error", "discarded")


def status_of(raw):
    """README: statuses (any case) and HTTP codes."""
    if raw is None:
        return OK
    s = raw.lower()
    if s in ("ok", "unset", "success"):
        return OK
    if s in ("error", "failed", "failure"):
        return ERROR
    if s in ("rate_limited", "rate_limit"):
        return RATE
    if s in ("timeout", "timed_out"):
        return TIMEOUT
    if s in ("server_error",):
        return SERVER
    if s in ("discarded", "cancelled", "canceled"):
        return DISCARDED
    if len(s) == 3 and s.isdigit():
        code = int(s)
        if 200 <= code <= 299:
            return OK
        if code == 429:
            return RATE
        if code in (408, 504):
            return TIMEOUT
        if 500 <= code <= 599:
            return SERVER
        if 400 <= code <= 499:
            return ERROR
    raise ValueError("unknown status %r" % raw)


def failed(sp):
    return status_of(sp["status"]) in (ERROR, RATE, TIMEOUT, SERVER)


def succeeded(sp):
    return status_of(sp["status"]) == OK


def kind(sp):
    return sp["kind"] or ""                                     # P12


def name(sp):
    return sp["name"] or ""                                     # P12


def is_tool(sp):
    return kind(sp).lower() in ("tool", "tool_call", "execute_tool")       # P7


def time_key(sp):
    return (sp["start"], sp["id"].encode())


def memo(f):
    """Cache a method's answer per trace and span (the answers never change;
    this only keeps the quadratic definitions below fast enough)."""
    def g(self, sp, *args):
        key = (f.__name__, sp["id"]) + args
        if key not in self.cache:
            self.cache[key] = f(self, sp, *args)
        return self.cache[key]
    return g


class Trace:
    """One trace: spans as dicts with id, parent, kind, name, args, status,
    cost (picodollars or None), start (microseconds), attempt (or None),
    and, when induced, itok (input tokens or None) and icost (picodollars
    or None)."""

    def __init__(self, spans, induced=False):
        self.spans = spans
        self.byid = {s["id"]: s for s in spans}
        self.cache = {}
        self.induced = induced
        assert len(self.byid) == len(spans)

    def parent(self, sp):
        """The parent span, or None for a root or an orphan."""
        return self.byid.get(sp["parent"]) if sp["parent"] is not None else None

    def is_orphan(self, sp):
        return sp["parent"] is not None and sp["parent"] not in self.byid

    @memo
    def children(self, sp):
        return [c for c in self.spans if self.parent(c) is sp]

    @memo
    def siblings(self, sp):
        """Every span with the same parent (P2: all roots are siblings), sp included."""
        p = self.parent(sp)
        return [c for c in self.spans if self.parent(c) is p]

    def up(self, sp):
        """sp, then its parent, grandparent, ... (nearest first)."""
        while sp is not None:
            yield sp
            sp = self.parent(sp)

    # -- costs --------------------------------------------------------------
    @memo
    def reported(self, sp):
        """'rollup': a span's report; NULL means its children's total."""
        if sp["cost"] is not None:
            return sp["cost"]
        return sum(self.reported(c) for c in self.children(sp))

    def own(self, sp, rule):
        cost = sp["cost"] or 0                      # NULL cost counts as 0
        if rule == "self":
            return cost
        if rule == "leaf":
            return cost if not self.children(sp) else 0
        if sp["cost"] is None:                      # rollup
            return 0
        return sp["cost"] - sum(self.reported(c) for c in self.children(sp))

    def rollup_violations(self):
        """Parents whose report is below their children's (an error)."""
        return {s["id"] for s in self.spans if s["cost"] is not None
                and s["cost"] < sum(self.reported(c) for c in self.children(s))}

    # -- what starts a class ------------------------------------------------
    @memo
    def retried(self, sp):
        """A later sibling of the same kind and name exists (P1 for "later")."""
        def key(s):
            return (s["attempt"] if s["attempt"] is not None else 0,) + time_key(s)
        return any(o is not sp and kind(o) == kind(sp) and name(o) == name(sp)
                   and key(o) > key(sp) for o in self.siblings(sp))

    @memo
    def starts_failed_attempt(self, sp):
        return failed(sp) and self.retried(sp)

    @memo
    def starts_abandoned(self, sp):
        return (failed(sp) and not self.retried(sp)) or status_of(sp["status"]) == DISCARDED

    @memo
    def loop_first(self, sp, loop_min):
        """If sp repeats the sibling before it inside a run of >= loop_min
        identical successful siblings, the first span of the run (P3, P5)."""
        def same(a, b):
            return (succeeded(a) and succeeded(b) and a["args"] is not None
                    and b["args"] is not None and kind(a) == kind(b)
                    and name(a) == name(b) and a["args"] == b["args"])
        sib = sorted(self.siblings(sp), key=time_key)
        i = sib.index(sp)
        if i == 0 or not same(sib[i - 1], sp):
            return None
        lo = i
        while lo > 0 and same(sib[lo - 1], sib[lo]):
            lo -= 1
        hi = i
        while hi + 1 < len(sib) and same(sib[hi], sib[hi + 1]):
            hi += 1
        return sib[lo] if hi - lo + 1 >= loop_min else None

    @memo
    def kept(self, sp):
        """A result kept: succeeded, in no failed attempt or abandoned branch."""
        return succeeded(sp) and not any(
            self.starts_failed_attempt(a) or self.starts_abandoned(a) for a in self.up(sp))

    @memo
    def nested(self, sp):
        """A tool call inside a tool call of the same name and args (README):
        one call recorded by two layers, never a duplicate of the other."""
        return any(is_tool(a) and name(a) == name(sp) and a["args"] == sp["args"]
                   for a in list(self.up(sp))[1:])

    @memo
    def duplicate_of(self, sp):
        """The earliest kept earlier tool call with the same name and args (P6),
        among the calls not nested in one of their own kind."""
        if not is_tool(sp) or sp["args"] is None or self.nested(sp):
            return None
        earlier = [c for c in self.spans if c is not sp and is_tool(c)
                   and name(c) == name(sp) and c["args"] == sp["args"]
                   and not self.nested(c)
                   and time_key(c) < time_key(sp) and self.kept(c)]
        return min(earlier, key=time_key) if earlier else None

    # -- the induced cost (README, "Induced cost") ----------------------------
    def is_call(self, sp):
        return self.induced and sp.get("itok") is not None and sp["itok"] > 0    # P13

    def is_induced_tool(self, sp):
        return self.induced and is_tool(sp) and not self.is_call(sp)            # P13

    def price(self, sp, rule):
        """A call's price per input token: its input cost (NULL: 0), at most
        its own cost, over its input tokens, rounded down to a picodollar."""
        return min(sp["icost"] or 0, self.own(sp, rule)) // sp["itok"]

    def carriers(self, conv, i):
        """The calls of the conversation conv (a time-ordered list) that
        re-read what the tool at position i added: the first call after it
        and each next one, up to (not including) a call whose input is
        smaller than the call before it."""
        calls = [sp for sp in conv[i + 1:] if self.is_call(sp)]
        out = []
        for j, c in enumerate(calls):
            if j > 0 and c["itok"] < calls[j - 1]["itok"]:
                break
            out.append(c)
        return out

    def induced_cost(self, rule, broken=False):
        """{span id: (tokens, induced picodollars)}: for a tool, the tokens it
        added and what it induced; for a call, the tokens it re-read and minus
        what it gave up.  Pair by pair: each tool and each call that carries
        its tokens."""
        out = {sp["id"]: [0, 0] for sp in self.spans
               if self.is_call(sp) or self.is_induced_tool(sp)}
        groups = {}
        for sp in self.spans:
            p = self.parent(sp)
            groups.setdefault(p["id"] if p is not None else None, []).append(sp)
        for conv in groups.values():
            conv = sorted(conv, key=time_key)                                   # P14
            for i, t in enumerate(conv):
                if not self.is_induced_tool(t):
                    continue
                before = [c for c in conv[:i] if self.is_call(c)]
                after = [c for c in conv[i + 1:] if self.is_call(c)]
                if not before or not after:
                    continue
                prev, nxt = before[-1], after[0]
                growth = max(0, nxt["itok"] - prev["itok"])
                lo, hi = conv.index(prev), conv.index(nxt)
                gap = [x for x in conv[lo + 1:hi] if self.is_induced_tool(x)]
                k = gap.index(t)
                added = growth // len(gap) + (1 if k < growth % len(gap) else 0)
                out[t["id"]][0] = added
                carriers = self.carriers(conv, i) if not broken else after
                for c in carriers:
                    money = added * self.price(c, rule)
                    out[t["id"]][1] += money
                    out[c["id"]][0] += added
                    out[c["id"]][1] -= money
        return {k: tuple(v) for k, v in out.items()}

    # -- the class of each span ----------------------------------------------
    def classify(self, rule, loop_min, broken=False):
        """{span id: (class, cause id or None, cost in the class: own cost,
        plus what it induced when the trace carries input tokens)}"""
        out = {}
        ind = self.induced_cost(rule, broken) if self.induced else {}
        for sp in self.spans:
            own = self.own(sp, rule)
            chain = list(self.up(sp))                               # P4: nearest first
            fa = next((a for a in chain if self.starts_failed_attempt(a)), None)
            ab = next((a for a in chain if self.starts_abandoned(a)), None)
            lp = next((f for f in (self.loop_first(a, loop_min) for a in chain) if f), None)
            dp = next((d for d in (self.duplicate_of(a) for a in chain) if d), None)
            if failed(sp) and own > 0:
                cls, cause = "error_call", sp
            elif fa is not None:
                cls, cause = "failed_attempt", fa
            elif ab is not None:
                cls, cause = "abandoned_branch", ab
            elif lp is not None:
                cls, cause = "stuck_loop", lp
            elif dp is not None:
                cls, cause = "duplicate_tool_call", dp
            else:
                cls, cause = "essential", None
            # the class is decided on the own cost; the induced cost moves money after
            out[sp["id"]] = (cls, cause["id"] if cause else None, own + ind.get(sp["id"], (0, 0))[1])
        return out

    def summary(self, rule, loop_min, classes=None):
        classes = classes or self.classify(rule, loop_min)
        cost = {c: 0 for c in CLASSES}
        count = {c: 0 for c in CLASSES}
        for cls, _, own in classes.values():
            cost[cls] += own
            count[cls] += 1
        total = sum(self.own(s, rule) for s in self.spans)
        return {
            "cost_rule": rule,
            "spans": len(self.spans),
            "roots": sum(1 for s in self.spans if self.parent(s) is None),  # P8
            "orphans": sum(1 for s in self.spans if self.is_orphan(s)),
            "null_costs": sum(1 for s in self.spans if s["cost"] is None),
            "total": total,
            "essential": cost["essential"],
            "error_call": cost["error_call"],
            "failed_attempt": cost["failed_attempt"],
            "abandoned_branch": cost["abandoned_branch"],
            "stuck_loop": cost["stuck_loop"],
            "duplicate_tool_call": cost["duplicate_tool_call"],
            "waste": total - cost["essential"],
            "error_call_spans": count["error_call"],
            "failed_attempt_spans": count["failed_attempt"],
            "abandoned_branch_spans": count["abandoned_branch"],
            "stuck_loop_spans": count["stuck_loop"],
            "duplicate_tool_call_spans": count["duplicate_tool_call"],
        }


SUMMARY_FIELDS = ("cost_rule", "spans", "roots", "orphans", "null_costs", "total",
                  "essential", "error_call", "failed_attempt", "abandoned_branch",
                  "stuck_loop", "duplicate_tool_call", "waste", "error_call_spans",
                  "failed_attempt_spans", "abandoned_branch_spans", "stuck_loop_spans",
                  "duplicate_tool_call_spans")
MONEY_FIELDS = {"total", "essential", "error_call", "failed_attempt", "abandoned_branch",
                "stuck_loop", "duplicate_tool_call", "waste"}


class BrokenInduced(Trace):
    """The reference with a truncation that does not end what tools added
    earlier (every later call re-reads them): the check must report it."""

    def classify(self, rule, loop_min, broken=False):
        return Trace.classify(self, rule, loop_min, True)

    def induced_cost(self, rule, broken=False):
        return Trace.induced_cost(self, rule, True)


class BrokenTrace(Trace):
    """The reference with abandoned_branch and failed_attempt swapped in
    precedence: the check must report it (see the .sh, selftest)."""

    def classify(self, rule, loop_min):
        out = Trace.classify(self, rule, loop_min)
        for sp in self.spans:
            cls, cause, own = out[sp["id"]]
            if cls == "failed_attempt":
                ab = next((a for a in self.up(sp) if self.starts_abandoned(a)), None)
                if ab is not None:
                    out[sp["id"]] = ("abandoned_branch", ab["id"], own)
        return out


# ---------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------

KINDS = ("llm", "tool", "tool_call", "execute_tool", "agent", "attempt")
NAMES = ("search", "lookup", "plan", "write")
ARGS = ("h1", "h2", "h3", None)
STATUSES = ([None] * 8 + ["ok"] * 14 + ["error", "429", "timeout", "500", "discarded",
            "200", "204", "OK", "Timeout", "cancelled", "408", "504", "404", "503",
            "rate_limited", "server_error", "failed", "success", "unset", "failure",
            "timed_out", "ERROR", "299"])


def gen_cost(rng):
    r = rng.random()
    if r < 0.12:
        return None
    if r < 0.22:
        return 0
    d = rng.randint(0, 12)                      # decimals
    return rng.randint(1, 5 * 10 ** d) * 10 ** (12 - d) // rng.choice((1, 10, 100))


def gen_trace(rng, tno):
    shape = rng.choice(("chain", "fan", "random", "random", "small"))
    n = {"chain": rng.randint(5, 60), "fan": rng.randint(5, 60),
         "random": rng.randint(1, 60), "small": rng.randint(1, 6)}[shape]
    attempts = rng.choice(("none", "none", "some", "all", "reversed"))
    spans = []
    last_kid = {}                               # parent id -> last child made
    ids = rng.sample(range(1000), n)
    for i in range(n):
        # ids not in creation order, nor in any collation's order but bytes'
        sid = rng.choice(("s", "s", "S", "a-", "\u00e9", "Z")) + str(ids[i])
        r = rng.random()
        if i == 0 or r < 0.04:
            parent = None
        elif r < 0.08:
            parent = "gone%d" % rng.randint(0, 2)           # an orphan
        elif shape == "chain":
            parent = spans[-1]["id"] if rng.random() < 0.8 else rng.choice(spans)["id"]
        elif shape == "fan":
            parent = rng.choice(spans[:2])["id"]
        else:
            parent = rng.choice(spans)["id"]
        prev = last_kid.get(parent)
        pstart = next((s["start"] for s in spans if s["id"] == parent), 0)
        if prev is not None and rng.random() < 0.45:
            # the same step again: a loop, a retry or a duplicate
            k, nm, args = prev["kind"], prev["name"], prev["args"]
            if rng.random() < 0.15:
                args = rng.choice(ARGS)
            if nm in (None, "") and rng.random() < 0.5:
                nm = "" if nm is None else None         # P12: NULL is ''
        else:
            k = rng.choice(KINDS)
            if rng.random() < 0.03:
                k = rng.choice(("Tool", "TOOL_CALL", "Execute_Tool"))
            elif rng.random() < 0.02:
                k = rng.choice((None, ""))
            nm, args = rng.choice(NAMES), rng.choice(ARGS)
            if rng.random() < 0.04:
                nm = rng.choice((None, ""))
        if prev is not None:
            start = prev["start"] + rng.choice((0, 0, 1000, 1000, 2000, 500000, -1000, 1))
        else:
            start = pstart + rng.choice((0, 1000, 5000))
        start = max(start, 0)
        attempt = None
        if attempts != "none" and (attempts == "all" or rng.random() < 0.5):
            base = prev["attempt"] if prev is not None and prev["attempt"] is not None else 0
            attempt = base + 1 if attempts != "reversed" else max(0, 5 - base - rng.randint(0, 2))
            if rng.random() < 0.1:
                attempt = rng.randint(0, 3)
        sp = {"id": sid, "parent": parent, "kind": k, "name": nm, "args": args,
              "status": rng.choice(STATUSES), "cost": gen_cost(rng), "start": start,
              "attempt": attempt}
        spans.append(sp)
        last_kid[parent] = sp
    consistent = rng.random() < 0.5
    if consistent:
        # each parent reports at least its children's sum (some report NULL)
        t = Trace(spans)

        def fix(sp):
            """set the reports of sp's subtree; sp's report"""
            kids = t.children(sp)
            kid_reports = sum(fix(c) for c in kids)
            if kids:
                r = rng.random()
                if r < 0.25:
                    sp["cost"] = None
                elif r < 0.45:
                    sp["cost"] = kid_reports
                else:
                    sp["cost"] = kid_reports + (gen_cost(rng) or 0)
            return sp["cost"] if sp["cost"] is not None else kid_reports
        for sp in spans:
            if t.parent(sp) is None:
                fix(sp)
    rng.shuffle(spans)                          # rows in any order
    return {"trace": tno, "consistent": consistent, "attempts": attempts != "none",
            "spans": spans}


def gen_inputs(tr):
    """Input tokens and input costs for half the traces (a random stream of
    their own, so the spans above are those of the traces without them):
    per sibling list in time order, LLM calls whose input grows, stays,
    shrinks (truncation) or is 0; input costs at prices of 0 to 12
    decimals, some above the call's own cost, some NULL."""
    rng = random.Random(SEED * 31 + tr["trace"])
    tr["induced"] = rng.random() < 0.5
    if not tr["induced"]:
        return
    t = Trace(tr["spans"])
    lists = {}
    for sp in tr["spans"]:
        p = t.parent(sp)
        lists.setdefault(p["id"] if p is not None else None, []).append(sp)
    for conv in lists.values():
        n = rng.randint(0, 5000)
        for sp in sorted(conv, key=time_key):
            sp["itok"] = sp["icost"] = None
            r = rng.random()
            if (sp["kind"] or "").lower() == "llm" and r < 0.9 or r < 0.15:
                step = rng.random()
                if step < 0.12:
                    n = rng.randint(0, n)                   # truncated
                elif step < 0.2:
                    pass                                    # the same input
                else:
                    n += rng.choice((1, 2, 3, 7, 100, 1001, rng.randint(1, 50000)))
                sp["itok"] = 0 if rng.random() < 0.04 else n
                c = rng.random()
                if c < 0.08:
                    sp["icost"] = None
                elif c < 0.2 and sp["cost"]:
                    sp["icost"] = sp["cost"] + rng.randint(0, 10 ** 6)   # above its cost
                else:
                    d = rng.randint(0, 12)
                    per = rng.randint(1, 3 * 10 ** d) * 10 ** (12 - d) // 10 ** 6
                    sp["icost"] = per * sp["itok"] + rng.choice((0, 0, 1, rng.randint(0, 10 ** 6)))


def traces():
    rng = random.Random(SEED)
    out = [gen_trace(rng, t) for t in range(NTRACES)]
    for tr in out:
        gen_inputs(tr)
    return out


def money_text(v):
    """picodollars as plain decimal text (no exponent), or None"""
    if v is None:
        return None
    sign, v = ("-" if v < 0 else ""), abs(v)
    return "%s%d.%012d" % (sign, v // PICO, v % PICO)


def tsv(v):
    return "\\N" if v is None else str(v)


# Status texts for the status check: README's words in several cases, every
# three-digit code from 100 to 599, and near misses.
STATUS_CASES = (
    [w for word in ("ok", "unset", "success", "error", "failed", "failure", "rate_limited",
                    "rate_limit", "timeout", "timed_out", "server_error", "discarded",
                    "cancelled", "canceled")
     for w in (word, word.upper(), word.capitalize())]
    + ["%03d" % c for c in range(100, 600)]
    + ["", " ok", "ok ", "okay", "2xx", "0200", "20", "2000", "-200", "+200", "rate limited",
       "rate-limited", "time_out", "servererror", "cancel", "discard", "err", "fail",
       "null", "NULL", "none", "200.0", "4O4"])


def gen(outdir):
    with open(os.path.join(outdir, "statuses.tsv"), "w") as f:
        for i, st in enumerate(STATUS_CASES):
            f.write("%d\t%s\n" % (i, st))
    with open(os.path.join(outdir, "spans.tsv"), "w", encoding="utf-8") as f:
        for tr in traces():
            for s in tr["spans"]:
                ts = (BASE + timedelta(microseconds=s["start"])).isoformat()
                f.write("\t".join(tsv(v) for v in (
                    tr["trace"], s["id"], s["parent"], s["kind"], s["name"], s["args"],
                    s["status"], money_text(s["cost"]), ts, s["attempt"],
                    s.get("itok"), money_text(s.get("icost")))) + "\n")
    with open(os.path.join(outdir, "traces.tsv"), "w") as f:
        for tr in traces():
            f.write("%d\t%s\t%s\t%s\n" % (tr["trace"], "t" if tr["consistent"] else "f",
                                          "t" if tr["attempts"] else "f",
                                          "t" if tr["induced"] else "f"))


# ---------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------

NULL = "~"


def pico(text):
    """tokacct's numeric text to picodollars, exactly."""
    d = Decimal(text) * PICO
    if d != d.to_integral_value():
        raise ValueError("more than 12 decimals: %s" % text)
    return int(d)


def read_rows(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("|") for line in f if line.strip()]


def check(outdir, cls=Trace):
    trs = {tr["trace"]: tr for tr in traces()}
    refs = {t: cls(tr["spans"], tr["induced"]) for t, tr in trs.items()}
    results = []                                # (ok, name, detail lines)

    # tokacct's rows: trace|rule|loop_min|ord|span_id|class|cause|own
    got_spans = {}
    for t, rule, lm, o, sid, c, cause, own in read_rows(os.path.join(outdir, "spans.out")):
        got_spans.setdefault((int(t), rule, int(lm)), []).append(
            (int(o), sid, c, None if cause == NULL else cause, pico(own)))
    got_sum = {}
    for row in read_rows(os.path.join(outdir, "summary.out")):
        t, lm, vals = int(row[0]), int(row[1]), row[2:]
        d = dict(zip(SUMMARY_FIELDS, vals))
        for k in SUMMARY_FIELDS:
            if k in MONEY_FIELDS:
                d[k] = pico(d[k])
            elif k != "cost_rule":
                d[k] = int(d[k])
        got_sum[(t, d["cost_rule"], lm)] = d

    runs = [(t, rule, lm) for t, tr in trs.items()
            for rule in (("leaf", "self", "rollup") if tr["consistent"] else ("leaf", "self"))
            for lm in LOOP_MINS]

    span_bad, order_bad, sum_bad, part_bad, xpass = [], [], [], [], []
    nspans = 0
    seen_class = {}                             # (rule, class) -> spans with own > 0
    seen_cause = set()
    for run in runs:
        t, rule, lm = run
        ref = refs[t]
        want = ref.classify(rule, lm)
        got = got_spans.get(run, [])
        # every span once, in start-time order (then id)
        want_order = [s["id"] for s in sorted(ref.spans, key=time_key)]
        if [g[1] for g in sorted(got)] != want_order:
            order_bad.append("trace %d %s %d: spans %s, want %s" % (
                t, rule, lm, [g[1] for g in sorted(got)], want_order))
        for _, sid, c, cause, own in got:
            w = want.get(sid)
            nspans += 1
            key = (t, rule, lm, sid)
            agree = w == (c, cause, own)
            if key in EXPECTED_FAILURES:
                if agree:
                    xpass.append("%s now agrees (%s): remove it from EXPECTED_FAILURES"
                                 % (key, EXPECTED_FAILURES[key]))
                continue
            if not agree:
                span_bad.append("trace %d rule %s loop_min %d span %s: tokacct %s, reference %s"
                                % (t, rule, lm, sid, (c, cause, money_text(own)),
                                   w and (w[0], w[1], money_text(w[2]))))
        for sid, (c, cause, own) in want.items():
            if own > 0:
                seen_class[(rule, c)] = seen_class.get((rule, c), 0) + 1
            if cause is not None and cause != sid:
                seen_cause.add(c)
        # the summary
        g = got_sum.get(run)
        want_sum = ref.summary(rule, lm, want)
        expected_bad = any(k[:3] == run for k in EXPECTED_FAILURES)
        if g is None:
            sum_bad.append("trace %d %s %d: no summary row" % run)
        elif g != want_sum and not expected_bad:
            diff = {k: (g[k], want_sum[k]) for k in SUMMARY_FIELDS if g[k] != want_sum[k]}
            sum_bad.append("trace %d rule %s loop_min %d: (tokacct, reference) %s" % (t, rule, lm, diff))
        # tokacct's own figures add up: classes to the total, spans to the total
        # (with the induced cost too: it moves money, it makes none)
        if g is not None:
            classes = sum(g[c] for c in CLASSES)
            if classes != g["total"] or g["waste"] != g["total"] - g["essential"] \
                    or sum(x[4] for x in got) != g["total"]:
                part_bad.append("trace %d rule %s loop_min %d: classes %d, spans %d, total %d, waste %d"
                                % (t, rule, lm, classes, sum(x[4] for x in got), g["total"], g["waste"]))

    # waste_induced(): every LLM call and tool call of the traces with input
    # tokens: tokens, price per token (calls) and money moved
    ib = []
    nind = 0
    got_ind = {}
    for t, rule, lm, sid, role, tokens, price, moved in read_rows(os.path.join(outdir, "induced.out")):
        got_ind.setdefault((int(t), rule, int(lm)), {})[sid] = (
            role, int(tokens), None if price == NULL else pico(price), pico(moved))
    seen_ind = {"tools charged": 0, "calls giving": 0, "truncations": 0, "gaps of several tools": 0,
                "prices rounded": 0, "input cost above own cost": 0, "wasteful tools charged": 0}
    for run in runs:
        t, rule, lm = run
        ref = refs[t]
        got = got_ind.get(run, {})
        if not ref.induced:
            if got:
                ib.append("trace %d %s %d: %d rows, want none" % (t, rule, lm, len(got)))
            continue
        want = {}
        # no rows when no span of the trace carries input tokens
        if all(sp.get("itok") is None for sp in ref.spans):
            if got:
                ib.append("trace %d %s %d: %d rows, want none (no input tokens)" % (t, rule, lm, len(got)))
            continue
        for sid, (tokens, moved) in ref.induced_cost(rule).items():
            sp = ref.byid[sid]
            call = ref.is_call(sp)
            want[sid] = ("call" if call else "tool", tokens,
                         ref.price(sp, rule) if call else None, moved)
        nind += len(want)
        if got != want:
            bad = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            ib.append("trace %d rule %s loop_min %d: %s" % (
                t, rule, lm, "; ".join("%s tokacct %s, reference %s" % (k, got.get(k), want.get(k))
                                       for k in bad[:3])))
        if rule == "leaf" and lm == 3:
            cls_of = ref.classify(rule, lm)
            for sid, (role, tokens, price, moved) in want.items():
                sp = ref.byid[sid]
                if role == "tool" and moved > 0:
                    seen_ind["tools charged"] += 1
                    if cls_of[sid][0] != "essential":
                        seen_ind["wasteful tools charged"] += 1
                if role == "call" and moved < 0:
                    seen_ind["calls giving"] += 1
                    if (min(sp["icost"] or 0, ref.own(sp, rule)) % sp["itok"]) != 0:
                        seen_ind["prices rounded"] += 1
                    if (sp["icost"] or 0) > ref.own(sp, rule):
                        seen_ind["input cost above own cost"] += 1
            groups = {}
            for sp in ref.spans:
                p = ref.parent(sp)
                groups.setdefault(p["id"] if p is not None else None, []).append(sp)
            for conv in groups.values():
                conv = sorted(conv, key=time_key)
                calls = [c for c in conv if ref.is_call(c)]
                seen_ind["truncations"] += sum(1 for a, b in zip(calls, calls[1:]) if b["itok"] < a["itok"])
                idx = [i for i, c in enumerate(conv) if ref.is_call(c)]
                seen_ind["gaps of several tools"] += sum(
                    1 for a, b in zip(idx, idx[1:])
                    if sum(1 for x in conv[a + 1:b] if ref.is_induced_tool(x)) > 1)
    extra = set(got_ind) - set(runs)
    if extra:
        ib.append("unexpected runs %s" % sorted(extra)[:5])
    results.append((not ib, "waste_induced, every LLM call and tool call (tokens, price, money moved): "
                    "%d rows in the runs of %d traces with input tokens"
                    % (nind, sum(1 for tr in trs.values() if tr["induced"])), ib))
    thin_ind = ["%s: only %d" % (k, v) for k, v in seen_ind.items() if v < 20]
    results.append((not thin_ind, "the traces with input tokens cover the induced cost's cases: %s"
                    % seen_ind, thin_ind))

    extra = set(got_spans) - set(runs)
    if extra:
        order_bad.append("unexpected runs %s" % sorted(extra)[:5])

    results.append((not span_bad, "span class, cause and cost in the class (own + induced): %d spans in %d runs of %d traces"
                    % (nspans, len(runs), len(trs)), span_bad))
    results.append((not order_bad, "every span listed once, by start time then id", order_bad))
    results.append((not sum_bad, "waste_summary, every field: %d runs" % len(runs), sum_bad))
    results.append((not part_bad, "class costs add up to the total, and span costs too: %d runs"
                    % len(runs), part_bad))
    results.append((not xpass, "expected failures still fail: %d listed" % len(EXPECTED_FAILURES),
                    xpass))

    # rollup on inconsistent traces: an error naming a parent that reports
    # less than its children, or no error when there is none
    rb = []
    nroll = 0
    for t, msg in read_rows(os.path.join(outdir, "rollup.out")):
        nroll += 1
        bad = refs[int(t)].rollup_violations()
        if not bad:
            if msg != NULL:
                rb.append("trace %s: error %r, but no parent reports less than its children" % (t, msg))
        elif msg == NULL or not any('span "%s" reports a rolled-up cost' % b in msg for b in bad):
            rb.append("trace %s: %r, want an error naming one of %s" % (t, msg, sorted(bad)))
    results.append((not rb and nroll == sum(1 for tr in trs.values() if not tr["consistent"]),
                    "rule rollup on %d inconsistent traces: error iff a parent reports less" % nroll,
                    rb))

    # states merged from partial span lists classify as the whole
    (nm, dm), = read_rows(os.path.join(outdir, "merged.out"))
    results.append((int(nm) == len(runs) and int(dm) == 0,
                    "states merged from three partial states each: same summary and spans in "
                    "%s of %d runs (%s differ)" % (nm, len(runs), dm), []))

    # states made by a parallel plan (workers send their totals) classify as serial ones
    (np_, dp, wt), = read_rows(os.path.join(outdir, "parallel.out"))
    results.append((int(np_) == len(runs) and int(dp) == 0 and int(wt) > 0,
                    "states from a parallel plan (%s carrying the workers' totals): same summary "
                    "and classes in %s of %d runs (%s differ)" % (wt, np_, len(runs), dp), []))

    # statuses: README's words (any case) and HTTP codes are read as the
    # README says, anything else is an error naming the span
    sb = []
    got_st = {int(i): msg for i, msg in read_rows(os.path.join(outdir, "statuses.out"))}
    for i, st in enumerate(STATUS_CASES):
        try:
            want = "ok:" + status_of(st)
        except ValueError:
            want = 'error:unknown status "%s" for span "x"' % st
        got = got_st.get(i)
        if got != want:
            sb.append("status %r: tokacct %r, reference %r" % (st, got, want))
    results.append((not sb, "statuses: %d texts read as README says, or refused naming the span"
                    % len(STATUS_CASES), sb))

    # the traces exercise what they should (else the checks above prove little)
    need = [(r, c) for r in ("leaf", "self", "rollup") for c in CLASSES]
    thin = ["%s/%s: %d spans" % (r, c, seen_class.get((r, c), 0))
            for r, c in need if seen_class.get((r, c), 0) < 30]
    thin += ["no %s caused by another span" % c for c in CLASSES[1:5] if c not in seen_cause]
    allsp = [s for tr in trs.values() for s in tr["spans"]]
    feats = {
        "orphans": sum(r.summary("self", 3)["orphans"] > 0 for r in refs.values()),
        "several roots": sum(r.summary("self", 3)["roots"] > 1 for r in refs.values()),
        "NULL costs": sum(s["cost"] is None for s in allsp),
        "NULL args": sum(s["args"] is None for s in allsp),
        "attempt numbers": sum(s["attempt"] is not None for s in allsp),
        "inconsistent rollups": sum(bool(refs[t].rollup_violations())
                                    for t, tr in trs.items() if not tr["consistent"]),
        "consistent-looking rollups": sum(not refs[t].rollup_violations()
                                          for t, tr in trs.items() if not tr["consistent"]),
        "start-time ties": sum(len(tr["spans"]) - len({s["start"] for s in tr["spans"]})
                               for tr in trs.values()),
        "calls nested in the same call": sum(
            r.nested(s) for r in refs.values() for s in r.spans
            if is_tool(s) and s["args"] is not None),
    }
    thin += ["%s: only %d" % (k, v) for k, v in feats.items() if v < 20]
    results.append((not thin, "the traces cover every class under every rule (>= 30 costed spans "
                    "each), every kind of cause, orphans, ties, NULLs: %s" % feats, thin))

    failures = 0
    for ok, name, detail in results:
        print("%s %s" % ("ok" if ok else "not ok", name))
        if not ok:
            failures += 1
            print("#   %d mismatches; the first ones:" % len(detail))
            for line in detail[:5]:
                print("#   " + line)
    return failures


def main():
    mode, outdir = sys.argv[1], sys.argv[2]
    if mode == "gen":
        gen(outdir)
    elif mode == "check":
        sys.exit(1 if check(outdir) else 0)
    elif mode == "selftest-broken":
        sys.exit(1 if check(outdir, BrokenTrace) else 0)
    elif mode == "selftest-broken-induced":
        sys.exit(1 if check(outdir, BrokenInduced) else 0)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
