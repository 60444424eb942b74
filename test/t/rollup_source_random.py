#!/usr/bin/env python3
"""Operation generator for test/t/rollup_source_random.sh.

    rollup_source_random.py SEED ROUNDS OUTDIR

Writes, from a seeded random generator, the SQL of a randomized workload
against one OpenTelemetry span table (rs_spans, no unique key: the attached
views collapse repeated span ids):

    OUTDIR/init.sql          the table and its first traces
    OUTDIR/rN.main.sql       round N's batch (several transactions, some with
                             a savepoint rolled back, some rolled back whole)
    OUTDIR/rN.open.sql       statements of a transaction left open across
                             round N's refresh (may be empty)
    OUTDIR/rN.openend.sql    its end, sent after the comparison (COMMIT or
                             ROLLBACK)
    OUTDIR/rN.meta           "key=value" lines: action (refresh or rebuild),
                             track (1: track the source before the refresh),
                             compare (1: the documented conditions hold, the
                             rollups must equal the direct aggregates), ops
                             (the operations, by name)

It keeps a model of the table (which span keys have rows, and which traces
had rows deleted with no row of them written since) so that it knows when a
refresh must be exact: deleted rows leave no row to see, so a trace with a
delete is seen again only once a row of it is written or after a rebuild
(sql/install/72_rollup_source.sql).  It never reads the database.
"""
import json
import os
import random
import sys

SEED = int(sys.argv[1])
ROUNDS = int(sys.argv[2])
OUT = sys.argv[3]
rng = random.Random(SEED)

COLS = '"Timestamp", "TraceId", "SpanId", "ParentSpanId", "SpanName", "SpanAttributes", "StatusCode"'
MODELS = [('openai', 'gpt-4o'), ('openai', 'gpt-4o-mini'), ('anthropic', 'claude-sonnet-4')] * 4 + \
    [('openai', 'mystery-1')]  # the last is not priced
WORKFLOWS = ['triage', 'refund', 'search', 'summarize']
TOOLS = ['lookup', 'fetch_page', 'send_mail']
BASE_DAY = 1  # 2026-03-01


def q(v):
    if v is None:
        return 'NULL'
    return "'" + str(v).replace("'", "''") + "'"


def ts(sec):
    """A timestamp sec seconds after 2026-03-01 00:00 UTC, or a special one."""
    if isinstance(sec, str):
        return sec
    d, s = divmod(int(sec), 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return "'2026-03-%02d %02d:%02d:%02d+00'" % (BASE_DAY + d, h, m, s)


class Model:
    """What the table holds, as far as the rollup's exactness needs."""

    def __init__(self):
        self.rows = {}        # (trace, span) -> copies
        self.traces = {}      # trace -> dict(item, wf, start, root span id or None, conv)
        self.items = {}       # item -> [traces]
        self.pending = set()  # traces with a delete and no row written since
        self.tools = {}       # trace -> [(tool, args)]
        self.next_trace = 0
        self.next_span = 0
        self.next_item = 0
        self.late_roots = []  # (trace, sql of its root, model effect) not inserted yet

    def fresh_span(self):
        self.next_span += 1
        return 's%05d' % self.next_span

    def spans_of(self, t):
        return sorted(k[1] for k, n in self.rows.items() if k[0] == t and n > 0)

    def live_traces(self):
        return sorted({k[0] for k, n in self.rows.items() if n > 0 and k[0] is not None})


M = Model()


class Txn:
    """The effects on the model of one transaction's statements, applied at
    its commit: rows written (inserted or updated) and deleted, by key."""

    def __init__(self):
        self.ops = []  # (name, sql, effects)

    def add(self, name, sql, effects):
        self.ops.append((name, sql, effects))


def apply_effects(effects):
    """Apply one committed transaction's effects in order; then traces with
    a delete become pending, and traces with a row this transaction wrote
    (still there) are seen again."""
    written = set()
    deleted = set()
    last = {}
    for eff in effects:
        kind = eff[0]
        if kind == 'insert':
            _, t, s = eff
            M.rows[(t, s)] = M.rows.get((t, s), 0) + 1
            last[(t, s)] = True
        elif kind == 'update':  # every copy of (t, s), if any
            _, t, s = eff
            if M.rows.get((t, s), 0) > 0:
                last[(t, s)] = True
        elif kind == 'move':  # every copy of (t, s) to trace t2
            _, t, s, t2 = eff
            n = M.rows.get((t, s), 0)
            if n > 0:
                M.rows[(t, s)] = 0
                M.rows[(t2, s)] = M.rows.get((t2, s), 0) + n
                last[(t2, s)] = True
                deleted.add(t)
        elif kind == 'delete':
            _, t, s = eff
            if M.rows.get((t, s), 0) > 0:
                M.rows[(t, s)] = 0
                deleted.add(t)
        elif kind == 'meta':
            eff[1]()
    for (t, s) in last:
        if M.rows.get((t, s), 0) > 0:
            written.add(t)
    for t in deleted:
        M.pending.add(t)
    for t in written:
        M.pending.discard(t)


# ---------------------------------------------------------------------------
# span rows
# ---------------------------------------------------------------------------
def call_attrs(conv, model=None, error=False):
    prov, mod = model or rng.choice(MODELS)
    a = {'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': prov, 'gen_ai.request.model': mod,
         'gen_ai.usage.input_tokens': str(rng.randint(100, 40000)),
         'gen_ai.usage.output_tokens': str(rng.randint(1, 3000))}
    if rng.random() < 0.25:
        a['gen_ai.usage.cache_read.input_tokens'] = str(rng.randint(0, 5000))
    if rng.random() < 0.1:
        a['gen_ai.usage.cost.amount'] = '%d.%06d' % (rng.randint(0, 1), rng.randint(0, 999999))
    if rng.random() < 0.01:
        a['gen_ai.usage.output_tokens'] = 'lots'  # unreadable: left out of the money
    if conv is not None:
        a['gen_ai.conversation.id'] = conv
    return a


def tool_attrs(tool, args):
    return {'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool,
            'gen_ai.tool.call.arguments': json.dumps(args, sort_keys=True)}


def row_sql(at, t, s, parent, name, attrs, status):
    return '(%s, %s, %s, %s, %s, %s, %s)' % (ts(at), q(t), q(s), q(parent), q(name),
                                             q(json.dumps(attrs, sort_keys=True)), q(status))


def insert_sql(rows):
    return 'INSERT INTO rs_spans (%s) VALUES\n  %s;' % (COLS, ',\n  '.join(rows))


def new_trace_rows(item=None, root_late=False):
    """A trace: a root (workflow, item, Ok or Error) and 1-5 children (calls,
    tool calls, now and then an error call).  Returns (trace, rows sql,
    effects, root row sql, root effect)."""
    M.next_trace += 1
    t = 'tr%04d' % M.next_trace
    if item is None:
        M.next_item += 1
        item = 'it%04d' % M.next_item
        wf = rng.choice(WORKFLOWS)
        start = rng.randint(0, 20 * 86400)
    else:
        first = M.traces[M.items[item][0]]
        wf = first['wf'] if rng.random() < 0.9 else rng.choice(WORKFLOWS)
        start = first['start'] + rng.randint(60, 7200) * len(M.items[item])
    conv = None
    r = rng.random()
    if r < 0.3:
        conv = 'conv-' + item  # the item's traces in one conversation
    elif r < 0.4:
        conv = 'conv-x%d' % rng.randint(1, 15)  # shared by unrelated traces
    M.items.setdefault(item, []).append(t)
    M.traces[t] = {'item': item, 'wf': wf, 'start': start, 'conv': conv}
    root = M.fresh_span()
    M.traces[t]['root'] = root
    root_attrs = {'gen_ai.operation.name': 'invoke_agent', 'gen_ai.workflow.name': wf, 'app.item_id': item}
    root_status = 'Ok' if rng.random() < 0.6 else 'Error'
    M.traces[t]['ok'] = root_status == 'Ok'
    root_row = row_sql(start, t, root, '', 'invoke_agent', root_attrs, root_status)
    rows, effects = [], []
    for k in range(rng.randint(1, 5)):
        s = M.fresh_span()
        r = rng.random()
        if r < 0.65:
            rows.append(row_sql(start + k + 1, t, s, root, 'chat', call_attrs(conv),
                                'Error' if rng.random() < 0.08 else 'Unset'))
        else:
            tool = rng.choice(TOOLS)
            args = {'q': rng.randint(1, 4)}
            M.tools.setdefault(t, []).append((tool, args))
            rows.append(row_sql(start + k + 1, t, s, root, tool, tool_attrs(tool, args),
                                'Error' if rng.random() < 0.1 else 'Unset'))
        effects.append(('insert', t, s))
    if not root_late:
        rows.insert(0, root_row)
        effects.insert(0, ('insert', t, root))
    return t, rows, effects, root_row, ('insert', t, root)


# ---------------------------------------------------------------------------
# operations: each returns (name, sql, effects) or None when it cannot apply
# ---------------------------------------------------------------------------
def pick_trace(exclude):
    live = [t for t in M.live_traces() if t not in exclude]
    return rng.choice(live) if live else None


def pick_span(exclude, child=False):
    t = pick_trace(exclude)
    if t is None:
        return None, None
    spans = M.spans_of(t)
    if child:
        spans = [x for x in spans if x != root_of(t)] or spans
    return t, rng.choice(spans)


def root_of(t):
    return M.traces.get(t, {}).get('root')


def pick_item():
    """An item to try again (1 to 3 traces an item): mostly one whose last
    attempt failed; now and then one that had succeeded (its item is then
    left out of the retry economics: an attempt after a success)."""
    if not M.items or rng.random() >= 0.35:
        return None
    cands = [i for i in sorted(M.items) if len(M.items[i]) < 3
             and (rng.random() < 0.05 or not M.traces[M.items[i][-1]].get('ok'))]
    return rng.choice(cands) if cands else None


def op_new_trace(ex):
    t, rows, eff, _, _ = new_trace_rows(pick_item())
    return 'new_trace', insert_sql(rows), eff


def op_root_after_children(ex):
    t, rows, eff, root_row, root_eff = new_trace_rows(None, root_late=True)
    M.late_roots.append((t, insert_sql([root_row]), [root_eff]))
    return 'children_before_root', insert_sql(rows), eff


def op_late_root(ex):
    for i, (t, sql, eff) in enumerate(M.late_roots):
        if t not in ex:
            del M.late_roots[i]
            return 'late_root', sql, eff
    return None


def op_late_call(ex):
    t = pick_trace(ex)
    if t is None or t not in M.traces:
        return None
    info = M.traces[t]
    s = M.fresh_span()
    # late: now and then before the trace's start (its day moves)
    at = info['start'] + rng.choice([rng.randint(30, 600), -rng.randint(3600, 3 * 86400)])
    at = max(at, 0)
    return 'late_call', insert_sql([row_sql(at, t, s, root_of(t) or '', 'chat', call_attrs(info['conv']),
                                            'Error' if rng.random() < 0.2 else 'Unset')]), [('insert', t, s)]


def op_late_dup_tool(ex):
    """A tool call repeating an earlier one of the trace's item (same name and
    arguments): a duplicate tool call for waste."""
    cands = [t for t in M.live_traces() if t not in ex and M.tools.get(t)]
    if not cands:
        return None
    t = rng.choice(cands)
    tool, args = rng.choice(M.tools[t])
    item = M.traces[t]['item']
    target = rng.choice([x for x in M.items[item] if x in M.live_traces() and x not in ex] or [t])
    s = M.fresh_span()
    M.tools.setdefault(target, []).append((tool, args))
    at = M.traces[target]['start'] + rng.randint(10, 900)
    return 'late_duplicate_tool', insert_sql([row_sql(at, target, s, root_of(target) or '', tool, tool_attrs(tool, args), 'Unset')]), \
        [('insert', target, s)]


def op_late_error(ex):
    t = pick_trace(ex)
    if t is None or t not in M.traces:
        return None
    s = M.fresh_span()
    info = M.traces[t]
    return 'late_error_call', insert_sql([row_sql(info['start'] + rng.randint(1, 300), t, s, root_of(t) or '', 'chat',
                                                  call_attrs(info['conv']), 'Error')]), [('insert', t, s)]


def upd(t, s, set_sql):
    return 'UPDATE rs_spans SET %s WHERE "TraceId" = %s AND "SpanId" = %s;' % (set_sql, q(t), q(s)) if t is not None \
        else 'UPDATE rs_spans SET %s WHERE "TraceId" IS NULL AND "SpanId" = %s;' % (set_sql, q(s))


def op_update_model(ex):
    t, s = pick_span(ex, child=True)
    if t is None:
        return None
    prov, mod = rng.choice(MODELS)
    return 'update_model', upd(t, s, '"SpanAttributes" = "SpanAttributes" || %s' % q(json.dumps(
        {'gen_ai.provider.name': prov, 'gen_ai.request.model': mod}))), [('update', t, s)]


def op_update_tokens(ex):
    t, s = pick_span(ex, child=True)
    if t is None:
        return None
    return 'update_tokens', upd(t, s, '"SpanAttributes" = "SpanAttributes" || %s' % q(json.dumps(
        {'gen_ai.usage.input_tokens': str(rng.randint(0, 50000)),
         'gen_ai.usage.output_tokens': str(rng.randint(0, 4000))}))), [('update', t, s)]


def op_update_status(ex):
    t, s = pick_span(ex)
    if t is None:
        return None
    return 'update_status', upd(t, s, '"StatusCode" = %s' % q(rng.choice(['Ok', 'Error', 'Unset']))), \
        [('update', t, s)]


def op_update_time(ex):
    t, s = pick_span(ex)
    if t is None:
        return None
    return 'update_time', upd(t, s, '"Timestamp" = "Timestamp" + %s' % q('%d seconds' % rng.randint(-2 * 86400, 2 * 86400))), \
        [('update', t, s)]


def op_update_workflow(ex):
    t = pick_trace(ex)
    if t is None or not root_of(t) or M.rows.get((t, root_of(t)), 0) == 0:
        return None
    return 'update_workflow', upd(t, root_of(t), '"SpanAttributes" = jsonb_set("SpanAttributes", \'{gen_ai.workflow.name}\', %s)'
                                  % q(json.dumps(rng.choice(WORKFLOWS + ['other'])))), [('update', t, root_of(t))]


def op_update_item(ex):
    """The root's item id changed: the trace moves to another item (new or
    existing), taking attempts away from one and giving to another."""
    t = pick_trace(ex)
    if t is None or not root_of(t) or M.rows.get((t, root_of(t)), 0) == 0:
        return None
    item = rng.choice(sorted(M.items)) if rng.random() < 0.6 else 'it-moved-%d' % rng.randint(1, 20)
    return 'update_item', upd(t, root_of(t), '"SpanAttributes" = jsonb_set("SpanAttributes", \'{app.item_id}\', %s)'
                              % q(json.dumps(item))), [('update', t, root_of(t))]


def op_update_conversation(ex):
    t, s = pick_span(ex, child=True)
    if t is None:
        return None
    conv = 'conv-x%d' % rng.randint(1, 15)
    return 'update_conversation', upd(t, s, '"SpanAttributes" = "SpanAttributes" || %s' % q(json.dumps(
        {'gen_ai.conversation.id': conv}))), [('update', t, s)]


def op_update_noop(ex):
    t, s = pick_span(ex)
    if t is None:
        return None
    return 'update_rewrite_same', upd(t, s, '"StatusCode" = "StatusCode"'), [('update', t, s)]


def op_delete_span(ex):
    t, s = pick_span(ex)
    if t is None:
        return None
    w = ('"TraceId" = %s' % q(t)) if t is not None else '"TraceId" IS NULL'
    return 'delete_span', 'DELETE FROM rs_spans WHERE %s AND "SpanId" = %s;' % (w, q(s)), [('delete', t, s)]


def op_delete_trace(ex):
    t = pick_trace(ex)
    if t is None:
        return None
    return 'delete_trace', 'DELETE FROM rs_spans WHERE "TraceId" = %s;' % q(t), \
        [('delete', t, s) for s in M.spans_of(t)]


def op_move_span(ex):
    """A span's trace id updated: the new trace is seen, the old one not
    (as a delete)."""
    t, s = pick_span(ex, child=True)
    t2 = pick_trace(ex | {t})
    if t is None or t2 is None or M.rows.get((t2, s), 0) > 0:
        return None
    return 'move_span', upd(t, s, '"TraceId" = %s' % q(t2)), [('move', t, s, t2)]


def op_no_trace_id(ex):
    if None in ex:
        return None
    s = M.fresh_span()
    return 'span_without_trace_id', insert_sql([row_sql(rng.randint(0, 20 * 86400), None, s, '', 'chat',
                                                        call_attrs(None), 'Unset')]), [('insert', None, s)]


def op_odd_time(ex):
    t = pick_trace(ex)
    if t is None or t not in M.traces:
        return None
    s = M.fresh_span()
    at = rng.choice(["'infinity'", "'-infinity'", 'NULL'])
    return 'late_call_odd_time', insert_sql([row_sql(at, t, s, root_of(t) or '', 'chat', call_attrs(M.traces[t]['conv']), 'Unset')]), \
        [('insert', t, s)]


def op_dup_copy(ex):
    """A second copy of a span, the root too: the same content (collapsed),
    or other content (the problems view lists it; one copy kept, the same
    in every view)."""
    t, s = pick_span(ex, child=rng.random() < 0.6)
    if t is None or t not in M.traces:
        return None
    same = rng.random() < 0.5
    # Copies with other content are on unless RS_DUP_OTHER=0: every view
    # keeps the same copy of a span id, so the rollups (which follow the
    # calls and spans views) equal the attempts view with them too.
    if not same and os.environ.get('RS_DUP_OTHER') == '0':
        same = True
    if same:
        sql = ('INSERT INTO rs_spans (%s) SELECT %s FROM rs_spans WHERE "TraceId" = %s AND "SpanId" = %s LIMIT 1;'
               % (COLS, COLS, q(t), q(s)))
    else:
        # other tokens, model and cost (a chat call's: a tool or agent
        # span's copy becomes a call, which every view keeps); the same
        # start time and status: copies that differ in those give the
        # traces view (every copy) and the attempts view (the kept copy)
        # another start or root status, as documented (README)
        a = call_attrs(M.traces[t]['conv'])
        sql = ('INSERT INTO rs_spans (%s) SELECT "Timestamp", "TraceId", "SpanId", "ParentSpanId", "SpanName", '
               '"SpanAttributes" || %s, "StatusCode" FROM rs_spans WHERE "TraceId" = %s AND "SpanId" = %s LIMIT 1;'
               % (COLS, q(json.dumps(a, sort_keys=True)), q(t), q(s)))
    return 'duplicate_span_' + ('same' if same else 'other'), sql, [('insert', t, s)]


def op_cross_trace_span_id(ex):
    """A span of one trace of an item given a span id another trace of the
    item has: the item's run holds the span id twice (waste leaves it out)."""
    cands = [i for i in sorted(M.items) if len([t for t in M.items[i] if t in M.live_traces() and t not in ex]) >= 2]
    if not cands:
        return None
    ts_ = [t for t in M.items[rng.choice(cands)] if t in M.live_traces() and t not in ex]
    a, b = rng.sample(ts_, 2)
    s = rng.choice(M.spans_of(a))
    if M.rows.get((b, s), 0) > 0:
        return None
    return 'span_id_twice_in_run', insert_sql([row_sql(M.traces[b]['start'] + 7, b, s, root_of(b) or '', 'chat',
                                                       call_attrs(M.traces[b]['conv']), 'Unset')]), [('insert', b, s)]


def op_move_to_no_trace(ex):
    """A span's trace id set to NULL: it leaves its trace (as a delete) for
    the calls without a trace id."""
    if None in ex:
        return None
    t, s = pick_span(ex, child=True)
    if t is None or M.rows.get((None, s), 0) > 0:
        return None
    return 'move_span_to_no_trace', upd(t, s, '"TraceId" = NULL'), [('move', t, s, None)]


def op_parent_cycle(ex):
    """A root made its child's child: parent ids in a cycle (waste leaves
    the run out); or a child made a root of its own."""
    t = pick_trace(ex)
    if t is None or not root_of(t) or M.rows.get((t, root_of(t)), 0) == 0:
        return None
    kids = [x for x in M.spans_of(t) if x != root_of(t)]
    if not kids:
        return None
    if rng.random() < 0.5:
        return 'parent_cycle', upd(t, root_of(t), '"ParentSpanId" = %s' % q(rng.choice(kids))), [('update', t, root_of(t))]
    k = rng.choice(kids)
    return 'child_made_root', upd(t, k, '"ParentSpanId" = \'\''), [('update', t, k)]


OPS = [(op_new_trace, 14), (op_root_after_children, 3), (op_late_root, 4), (op_late_call, 10),
       (op_late_dup_tool, 5), (op_late_error, 4), (op_update_model, 5), (op_update_tokens, 6),
       (op_update_status, 5), (op_update_time, 3), (op_update_workflow, 4), (op_update_item, 4),
       (op_update_conversation, 3), (op_update_noop, 2), (op_delete_span, 3), (op_delete_trace, 2),
       (op_move_span, 2), (op_no_trace_id, 2), (op_odd_time, 1), (op_dup_copy, 2),
       (op_cross_trace_span_id, 1), (op_move_to_no_trace, 1), (op_parent_cycle, 1)]
INSERT_ONLY = {op_new_trace, op_root_after_children, op_late_call, op_late_error, op_no_trace_id}


def random_op(ex, only=None):
    pool = [(f, w) for f, w in OPS if only is None or f in only]
    for _ in range(20):
        f = rng.choices([f for f, _ in pool], [w for _, w in pool])[0]
        r = f(ex)
        if r is not None:
            return r
    return op_new_trace(ex)


# ---------------------------------------------------------------------------
# the workload
# ---------------------------------------------------------------------------
def write(name, text):
    with open('%s/%s' % (OUT, name), 'w') as f:
        f.write(text)


init = ['CREATE TABLE rs_spans ("Timestamp" timestamptz, "TraceId" text, "SpanId" text, "ParentSpanId" text, '
        '"SpanName" text, "SpanAttributes" jsonb, "StatusCode" text);',
        'CREATE INDEX ON rs_spans ("TraceId");']
effects = []
for _ in range(300):
    t, rows, eff, _, _ = new_trace_rows(pick_item())
    init.append(insert_sql(rows))
    effects += eff
apply_effects(effects)

write('init.sql', '\n'.join(init) + '\n')

track_round = max(2, ROUNDS // 3)
for rnd in range(1, ROUNDS + 1):
    names = []
    main = []
    # a transaction left open across the refresh: not in the round the
    # source is tracked (tracking alters the table, and would wait for it)
    open_sql, open_end, open_txn = [], '', None
    reserved = set()
    if rnd != track_round and rng.random() < 0.3:
        open_txn = Txn()
        reserved = set(rng.sample(M.live_traces(), min(4, len(M.live_traces()))))
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.5:
                name, sql, eff = random_op(set(), only=INSERT_ONLY)
            else:
                # updates and deletes only of the reserved traces
                name, sql, eff = random_op(set(M.live_traces()) - reserved | {None})
            open_txn.add(name, sql, eff)
        open_sql = ['SET application_name = \'rs_open\';', 'BEGIN;'] + [o[1] for o in open_txn.ops] + \
                   ["SELECT 'rs-open-ready';"]
        commit = rng.random() < 0.8
        open_end = 'COMMIT;\n' if commit else 'ROLLBACK;\n'
        names += ['open:' + o[0] for o in open_txn.ops] + ['open:' + ('commit' if commit else 'rollback')]
    ex = reserved | {None} if open_txn else set()
    for _ in range(rng.randint(1, 4)):
        txn = Txn()
        for _ in range(rng.randint(1, 4)):
            name, sql, eff = random_op(ex)
            if rng.random() < 0.1:
                # in a savepoint rolled back: counts for nothing
                txn.add('rolled_back:' + name, 'SAVEPOINT sp;\n%s\nROLLBACK TO SAVEPOINT sp;' % sql, [])
            else:
                txn.add(name, sql, eff)
        end = 'ROLLBACK;' if rng.random() < 0.07 else 'COMMIT;'
        main.append('BEGIN;')
        main += [o[1] for o in txn.ops]
        main.append(end)
        if end == 'COMMIT;':
            apply_effects([e for o in txn.ops for e in o[2]])
            names += [o[0] for o in txn.ops]
        else:
            names += ['txn_rolled_back:' + o[0] for o in txn.ops]
    # pending deletes: a row of each such trace written again (a trace
    # left with no row gets a late call), or a rebuild
    resolve = M.pending and rng.random() < 0.75
    rebuild = bool(M.pending) and not resolve and rng.random() < 0.5
    if resolve:
        t_ops = Txn()
        for t in sorted(M.pending, key=lambda x: (x is None, x)):
            if t in reserved:
                continue
            spans = M.spans_of(t)
            if spans:
                t_ops.add('rewrite_after_delete', upd(t, spans[0], '"StatusCode" = "StatusCode"'), [('update', t, spans[0])])
            elif t is not None and t in M.traces:
                s = M.fresh_span()
                t_ops.add('call_after_delete', insert_sql([row_sql(M.traces[t]['start'] + 9, t, s, root_of(t) or '', 'chat',
                                                                   call_attrs(None), 'Unset')]), [('insert', t, s)])
        main.append('BEGIN;')
        main += [o[1] for o in t_ops.ops]
        main.append('COMMIT;')
        apply_effects([e for o in t_ops.ops for e in o[2]])
        names += [o[0] for o in t_ops.ops]
    if rebuild or rng.random() < 0.05:
        rebuild = True
        M.pending.clear()
    # the documented condition: no trace with a delete not seen yet
    compare = not M.pending
    write('r%d.main.sql' % rnd, '\n'.join(main) + '\n')
    write('r%d.open.sql' % rnd, '\n'.join(open_sql) + ('\n' if open_sql else ''))
    write('r%d.openend.sql' % rnd, open_end)
    write('r%d.meta' % rnd, 'action=%s\ntrack=%d\ncompare=%d\nops=%s\n' % (
        'rebuild' if rebuild else 'refresh', rnd == track_round, compare, ' '.join(names)))
    # the open transaction ends after the comparison
    if open_txn and open_end.startswith('COMMIT'):
        apply_effects([e for o in open_txn.ops for e in o[2]])
