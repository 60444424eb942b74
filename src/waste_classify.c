/*-------------------------------------------------------------------------
 *
 * waste_classify.c
 *	  Attribute every unit of a trace's cost to essential work or one waste
 *	  class, and the SQL accessors over a waste_state.
 *
 * Steps (all iterative, O(n log n) for n spans, whatever the ids):
 *	 1. index the spans by id in an open-addressing hash table (a repeated
 *		id is an error); the hash is keyed per backend, and a table whose
 *		probing goes over a budget linear in its size gives way to a sorted
 *		index (see "Bounded tables" in waste_index.c, which holds the
 *		indexes);
 *	 2. link each span to its parent; a span whose parent id is NULL is a
 *		root, one whose parent id is not in the trace is an orphan and is
 *		treated as a root;
 *	 3. walk the tree breadth first from the roots; spans never reached lie
 *		on or under a cycle of parent ids, which is an error naming a span
 *		of the cycle;
 *	 4. compute each span's own cost under the cost rule (leaf, self,
 *		rollup);
 *	 5. mark the spans that start a class and let every span inherit the
 *		marks of its ancestors: first failed attempts (a failed span with a
 *		later sibling of the same kind and name) and abandoned branches (a
 *		failed or discarded span), then the repeats of stuck loops (runs of
 *		identical successful siblings) and duplicate tool calls (after an
 *		earlier call of the same key whose result was kept, which needs the
 *		first two marks; a call nested in a call of its own key is that
 *		call seen twice, not a duplicate);
 *	 6. give each span the first class that applies, in this precedence:
 *		error_call, failed_attempt, abandoned_branch, stuck_loop,
 *		duplicate_tool_call, essential;
 *	 7. when spans carry input tokens, move the induced cost: from each LLM
 *		call, the price of the input tokens tool calls added before it, to
 *		those tool calls (waste_induce).
 * Each span gets exactly one class, so the class costs add up to the
 * trace's total exactly (int128 sums of int64 money units); the induced
 * cost moves whole money units from span to span, so it keeps the sum.
 *
 * The code runs these steps in few passes over the spans, as it runs once
 * per trace: ids are indexed while the records are decoded; the first
 * marks (failed attempts, abandoned branches, stuck loops) are set per
 * sibling list before the walk, which passes them down; the own cost under
 * the leaf and self rules is computed in the last pass.  waste_analyse
 * runs the passes in order: waste_decode (step 1), waste_link_parents
 * (2), waste_group_children and waste_mark_siblings (the first marks of
 * 5), waste_walk (3, passing those marks down), waste_rollup (4 under the
 * rollup rule), waste_mark_duplicates (the last marks of 5),
 * waste_assign (4 under the other rules, and 6) and, when spans carry
 * input tokens, waste_induce (7).
 *
 * Every loop whose length grows with the trace checks for interrupts (every
 * 4096 turns, and every 4096 comparisons of a sort), so statement_timeout
 * and pg_cancel_backend stop a classification within milliseconds.
 *
 * Memory: the working arrays are shared by every call site of every
 * accessor in the backend and freed at the end of the transaction, so a
 * query holds the arrays of one trace whatever its shape; the last large
 * trace classified is kept with its classes, so that the 18 calls of
 * (waste_summary(s)).* classify it once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "money.h"
#include "waste_index.h"

PG_FUNCTION_INFO_V1(waste_summary);
PG_FUNCTION_INFO_V1(waste_classes);
PG_FUNCTION_INFO_V1(waste_spans);
PG_FUNCTION_INFO_V1(waste_span_classes);
PG_FUNCTION_INFO_V1(waste_induced);

const char *const waste_class_names[] = {
	"error_call", "failed_attempt", "abandoned_branch", "stuck_loop",
	"duplicate_tool_call", "essential"
};

const char *const waste_rule_names[] = {"leaf", "self", "rollup"};

/* a decoded and classified trace */
typedef struct WTrace
{
	int32		n;
	WSpan	   *sp;
	int32	   *kids;			/* children, grouped by parent, by time */
	int32	   *roots;			/* roots, by time */
	int32		nroots;
	int32		orphans;
	int32		ncostnull;
	int			rule;
	int			loop_min;
	int64		count[WASTE_NCLASS];
	int128		cost[WASTE_NCLASS];
	int128		total;
	/* induced cost, only when a span carries input tokens (else NULL) */
	int32		ninput;			/* spans with input tokens */
	int64	   *itok;			/* per span: input tokens (spans with WASTE_F_INPUT) */
	int64	   *iprice;			/* ... input cost, then price per token of an LLM call */
	int64	   *added;			/* per span: tokens a tool added; tokens a call re-read */
	int128	   *ind;			/* per span: induced money, + to a tool, - from a call */
	uint8	   *role;			/* per span: WASTE_R_* */
} WTrace;

/* roles in the induced cost */
#define WASTE_R_NONE	0
#define WASTE_R_CALL	1		/* an LLM call: input tokens > 0 */
#define WASTE_R_TOOL	2		/* a tool call: kind tool, tool_call or execute_tool */

/*
 * The working area of the analysis: one per backend, shared by every call
 * site of every accessor (a query holds the arrays of one trace, not a set
 * per call site), in a context under TopTransactionContext, so that it is
 * freed at the end of the transaction.  The arrays are grown as needed, so
 * that classifying trace after trace allocates nothing per trace.  The
 * last trace of at least WASTE_KEEP_MIN bytes classified is kept with its
 * classes (the cache): a call with the same state (compared byte for byte)
 * and the same rule and loop_min uses them without classifying again.
 */
typedef struct WasteWork
{
	MemoryContext mcxt;			/* the area's own context */
	MemoryContext arrays;		/* the arrays below, emptied when they grow */
	MemoryContext scratch;		/* per-call allocations, reset each call */
	MemoryContext keep;			/* the cached trace's state */
	/* the cache: valid only while cached is true */
	bool		cached;
	int			crule;			/* rule and loop_min of the cached trace */
	int			cloop_min;
	struct varlena *ckey;		/* its stored form (compressed or plain) */
	WasteState *cst;			/* its state (ckey itself if plain) */
	WTrace		ct;				/* its classes, in the arrays below */
	const void *lastraw;		/* the last large plain state classified in place */
	Size		lastlen;		/* ... and its size (compared, never read) */
	/* the arrays */
	int32		cap;			/* spans the arrays hold */
	int32		hcap;			/* slots of the hash tables */
	WSpan	   *sp;
	int32	   *kids;
	int32	   *roots;
	int32	   *order;
	int32	   *fa;
	int32	   *ab;
	int32	   *lp;
	int32	   *dp;
	int32	   *idx;
	int32	   *byid;			/* sorted index: spans by id, or tool calls by key */
	int32	   *htab;			/* ids; also the duplicate keys' table */
	int32	   *best;
	int32	   *open;			/* per key: calls of it open above (hcap) */
	int32	   *slot;			/* per tool call: its key's slot */
	int32	   *stack;			/* depth-first walk: spans ... */
	int32	   *next;			/* ... and the next child of each */
	bool	   *nested;
	uint32	   *hv;
	bool	   *hasfail;		/* cap + 1 entries */
	int128	   *tot;
	int128	   *kidsum;
	int64	   *itok;			/* the induced cost's arrays (see WTrace) */
	int64	   *iprice;
	int64	   *added;
	int128	   *ind;
	uint8	   *role;
} WasteWork;

/* the working area of this backend's transaction, or NULL */
static WasteWork *waste_shared = NULL;

/* traces whose state has at least this many bytes are kept after classifying */
#define WASTE_KEEP_MIN	(1024 * 1024)

/* per call site of waste_summary: its result row, made once per query */
typedef struct WasteSummaryDesc
{
	TupleDesc	tupdesc;
	Datum		zero;			/* numeric 0, made once: most class costs are 0 */
} WasteSummaryDesc;

/* order by start time, then span id (a total order: ids are unique) */
static int
waste_cmp_time(const void *pa, const void *pb, void *arg)
{
	const WSpan *sp = (const WSpan *) arg;
	const WSpan *a = &sp[*(const int32 *) pa];
	const WSpan *b = &sp[*(const int32 *) pb];

	WASTE_CMP_TICK();
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return waste_bcmp(a->s[WASTE_S_ID], a->len[WASTE_S_ID],
					  b->s[WASTE_S_ID], b->len[WASTE_S_ID]);
}

/* order for retries: parent, kind, name, then attempt, start, id */
static int
waste_cmp_retry(const void *pa, const void *pb, void *arg)
{
	const WSpan *sp = (const WSpan *) arg;
	const WSpan *a = &sp[*(const int32 *) pa];
	const WSpan *b = &sp[*(const int32 *) pb];
	int			c;

	WASTE_CMP_TICK();
	if (a->parent != b->parent)
		return a->parent < b->parent ? -1 : 1;
	c = waste_bcmp(a->s[WASTE_S_KIND], a->len[WASTE_S_KIND],
				   b->s[WASTE_S_KIND], b->len[WASTE_S_KIND]);
	if (c == 0)
		c = waste_bcmp(a->s[WASTE_S_NAME], a->len[WASTE_S_NAME],
					   b->s[WASTE_S_NAME], b->len[WASTE_S_NAME]);
	if (c == 0 && a->attempt != b->attempt)
		c = a->attempt < b->attempt ? -1 : 1;
	if (c == 0)
		c = waste_cmp_time(pa, pb, arg);
	return c;
}

/* a span's cost in its class: its own cost and the cost it induced (+) or gave up (-) */
static inline int128
waste_charged(const WTrace *t, int32 i)
{
	return t->ind == NULL ? (int128) t->sp[i].own : t->sp[i].own + t->ind[i];
}

/* order for output: cost in the class descending, then start, id */
static int
waste_cmp_cost(const void *pa, const void *pb, void *arg)
{
	const WTrace *t = (const WTrace *) arg;
	int128		a = waste_charged(t, *(const int32 *) pa);
	int128		b = waste_charged(t, *(const int32 *) pb);

	WASTE_CMP_TICK();
	if (a != b)
		return a > b ? -1 : 1;
	return waste_cmp_time(pa, pb, t->sp);
}

/* Is this span a tool call? kind 'tool', 'tool_call' or 'execute_tool', any case. */
static inline bool
waste_is_tool(const WSpan *s)
{
	const char *k = s->s[WASTE_S_KIND];
	int			l = s->len[WASTE_S_KIND];

	return waste_kind_is(k, l, "tool", "    ", 4) ||
		waste_kind_is(k, l, "tool_call", "    \0    ", 9) ||
		waste_kind_is(k, l, "execute_tool", "       \0    ", 12);
}

/*
 * Are two sibling steps identical (same kind, name and known argument hash,
 * both succeeded)?  A failed step breaks a run: repeating it is a retry.
 * The argument hashes are compared first: they tell different steps apart
 * soonest.
 */
static inline bool
waste_same_step(const WSpan *a, const WSpan *b)
{
	return a->status == WASTE_ST_OK && b->status == WASTE_ST_OK &&
		!(a->flags & WASTE_F_ARGS_NULL) && !(b->flags & WASTE_F_ARGS_NULL) &&
		waste_streq(a, b, WASTE_S_ARGS) && waste_streq(a, b, WASTE_S_NAME) &&
		waste_streq(a, b, WASTE_S_KIND);
}

/* Parse the cost rule argument (compared in place: no copy per trace). */
static int
waste_parse_rule(text *t)
{
	const char *r = VARDATA_ANY(t);
	Size		len = VARSIZE_ANY_EXHDR(t);
	int			i;

	for (i = 0; i <= WASTE_RULE_ROLLUP; i++)
		if (len == strlen(waste_rule_names[i]) && memcmp(r, waste_rule_names[i], len) == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown cost rule \"%s\"", text_to_cstring(t)),
			 errhint("Use 'leaf' (only leaf spans carry cost), 'self' (each span reports its own cost) "
					 "or 'rollup' (each span reports its own cost plus its children's).")));
	return 0;
}

static int
waste_check_loop_min(int32 m)
{
	if (m < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("loop_min must be at least 2, not %d", m),
				 errdetail("A stuck loop is a run of at least loop_min identical consecutive steps.")));
	return m;
}

/* The working area is going with its context (end of transaction). */
static void
waste_work_gone(void *arg)
{
	waste_shared = NULL;
}

/* The backend's working area, made on first use in a transaction. */
static WasteWork *
waste_work(void)
{
	MemoryContext cxt;
	MemoryContextCallback *cb;
	WasteWork  *w;

	if (waste_shared != NULL)
		return waste_shared;
	waste_hash_init();
	cxt = AllocSetContextCreate(TopTransactionContext, "waste working area",
								ALLOCSET_SMALL_SIZES);
	w = (WasteWork *) MemoryContextAllocZero(cxt, sizeof(WasteWork));
	w->mcxt = cxt;
	w->arrays = AllocSetContextCreate(cxt, "waste working arrays",
									  ALLOCSET_DEFAULT_SIZES);
	w->scratch = AllocSetContextCreate(cxt, "waste analysis",
									   ALLOCSET_DEFAULT_SIZES);
	w->keep = AllocSetContextCreate(cxt, "waste kept trace",
									ALLOCSET_DEFAULT_SIZES);
	cb = (MemoryContextCallback *) MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	cb->func = waste_work_gone;
	cb->arg = NULL;
	MemoryContextRegisterResetCallback(cxt, cb);
	waste_shared = w;
	return w;
}

/*
 * Drop the cached trace (its classes are in the arrays, about to change)
 * and empty its context (also of what a failed call left there; emptying
 * an empty context costs next to nothing).
 */
static void
waste_forget(WasteWork *w)
{
	w->cached = false;
	w->ckey = NULL;
	w->cst = NULL;
	MemoryContextReset(w->keep);
}

/* Drop the cached trace, freeing only its state (other chunks of keep stay). */
static void
waste_drop(WasteWork *w)
{
	w->cached = false;
	if (w->cst != NULL && w->cst != (WasteState *) w->ckey)
		pfree(w->cst);
	if (w->ckey != NULL)
		pfree(w->ckey);
	w->ckey = NULL;
	w->cst = NULL;
}

/* Make the working arrays hold n spans. */
static void
waste_work_reserve(WasteWork *w, int32 n)
{
	int32		cap;
	int32		hcap = 16;

	if (n <= w->cap)
		return;
	cap = Max(n, 256);
	if (w->cap > 0 && (int64) w->cap * 2 > cap && (int64) w->cap * 2 < PG_INT32_MAX / 2)
		cap = w->cap * 2;
	while (hcap < 2 * (int64) cap)
		hcap *= 2;
	/*
	 * Empty the arrays' context and only then count the new arrays in: an
	 * allocation that fails half way leaves cap 0, so the next call starts
	 * over from an empty context rather than freeing anything twice.
	 */
	MemoryContextReset(w->arrays);
	w->cap = w->hcap = 0;
#define WASTE_ARR(type, count) \
	((type *) MemoryContextAllocHuge(w->arrays, sizeof(type) * (Size) (count)))
	w->sp = WASTE_ARR(WSpan, cap);
	w->kids = WASTE_ARR(int32, cap);
	w->roots = WASTE_ARR(int32, cap);
	w->order = WASTE_ARR(int32, cap);
	w->fa = WASTE_ARR(int32, cap);
	w->ab = WASTE_ARR(int32, cap);
	w->lp = WASTE_ARR(int32, cap);
	w->dp = WASTE_ARR(int32, cap);
	w->idx = WASTE_ARR(int32, cap);
	w->byid = WASTE_ARR(int32, cap);
	w->htab = WASTE_ARR(int32, hcap);
	w->best = WASTE_ARR(int32, hcap);
	w->open = WASTE_ARR(int32, hcap);
	w->slot = WASTE_ARR(int32, cap);
	w->stack = WASTE_ARR(int32, cap);
	w->next = WASTE_ARR(int32, cap);
	w->nested = WASTE_ARR(bool, cap);
	w->hv = WASTE_ARR(uint32, cap);
	w->hasfail = WASTE_ARR(bool, (int64) cap + 1);
	w->tot = WASTE_ARR(int128, cap);
	w->kidsum = WASTE_ARR(int128, cap);
	w->itok = WASTE_ARR(int64, cap);
	w->iprice = WASTE_ARR(int64, cap);
	w->added = WASTE_ARR(int64, cap);
	w->ind = WASTE_ARR(int128, cap);
	w->role = WASTE_ARR(uint8, cap);
#undef WASTE_ARR
	w->cap = cap;
	w->hcap = hcap;
}

/*
 * Decode the records of a state into the working arrays, and index the
 * spans by id in the same pass (step 1): an open-addressing table of
 * hsize slots holding span index + 1, 0 for empty, within a budget of
 * probe steps past the home slots (what is left is returned in *budgetp,
 * for the parent lookups); over budget, or with a negative budget, the
 * sorted index (*sorted is then true, and w->byid holds it).  A repeated
 * id is an error.
 */
static void
waste_decode(const WasteState *st, WTrace *t, WasteWork *w, int32 *hsizep,
			 int64 *budgetp, bool *sorted)
{
	const char *p = st->data;
	const char *end = st->data + st->used;
	int32		hsize = 16;
	int32	   *htab;
	int32		k;
	int64		budget;
	bool		table;

	t->n = st->nspans;
	t->ncostnull = st->ncostnull;
	waste_work_reserve(w, Max(t->n, 1));
	t->sp = w->sp;
	while (hsize < 2 * (int64) t->n)
		hsize *= 2;
	htab = w->htab;
	budget = waste_probe_budget(2 * (int64) t->n);
	table = budget >= 0;
	if (table)
		memset(htab, 0, sizeof(int32) * hsize);
	for (k = 0; k < t->n; k++)
	{
		WasteSpanFixed f;
		WSpan	   *s = &t->sp[k];
		Size		slen;

		WASTE_CFI(k);
		if (end - p < (long) sizeof(f))
			elog(ERROR, "corrupt waste_state");
		memcpy(&f, p, sizeof(f));
		p += sizeof(f);
		if (f.flags & WASTE_F_INPUT)
		{
			WasteSpanInput in;

			if (end - p < (long) sizeof(in))
				elog(ERROR, "corrupt waste_state");
			memcpy(&in, p, sizeof(in));
			p += sizeof(in);
			w->itok[k] = in.tokens;
			w->iprice[k] = in.cost;
			t->ninput++;
		}
		slen = (Size) f.len[0] + f.len[1] + f.len[2] + f.len[3] + f.len[4];
		if ((Size) (end - p) < slen)
			elog(ERROR, "corrupt waste_state");
		StaticAssertStmt(WASTE_NSTR == 5, "a record has five strings");
		memcpy(s->len, f.len, sizeof(s->len));
		s->s[0] = p;
		s->s[1] = s->s[0] + f.len[0];
		s->s[2] = s->s[1] + f.len[1];
		s->s[3] = s->s[2] + f.len[2];
		s->s[4] = s->s[3] + f.len[3];
		p += slen;
		s->cost = f.cost;
		s->start = f.start;
		s->attempt = f.attempt;
		s->status = f.status;
		s->flags = f.flags;
		s->cls = 0;
		s->tool = !(f.flags & WASTE_F_ARGS_NULL) && waste_is_tool(s);
		s->parent = -1;
		s->nkids = 0;
		s->kid0 = 0;
		s->own = 0;
		s->cause = -1;
		if (!table)
			continue;
		s->hid = waste_hash(s->s[WASTE_S_ID], s->len[WASTE_S_ID]);
		table = waste_id_add(t->sp, htab, hsize, k, &budget);
	}
	if (p != end)
		elog(ERROR, "corrupt waste_state");
	*hsizep = hsize;
	*budgetp = budget;
	*sorted = !table;
	if (!table)
		waste_sort_ids(t->sp, t->n, w->byid);
}

/* Report the cycle that span u lies on or under. */
static void
waste_cycle_error(WTrace *t, int32 u)
{
	int32	   *mark = (int32 *) palloc0(sizeof(int32) * t->n);
	int32		v = u;
	int32		best,
				w;
	int			step = 1;
	int			shown = 0;
	StringInfoData path;

	/* walk up until a span repeats: that span is on the cycle */
	while (mark[v] == 0)
	{
		WASTE_CFI(step);
		mark[v] = step++;
		v = t->sp[v].parent;
	}
	/* name the cycle by its smallest id, so the message does not depend on row order */
	best = v;
	step = 0;
	for (w = t->sp[v].parent; w != v; w = t->sp[w].parent)
	{
		WASTE_CFI(++step);
		if (waste_bcmp(t->sp[w].s[WASTE_S_ID], t->sp[w].len[WASTE_S_ID],
					   t->sp[best].s[WASTE_S_ID], t->sp[best].len[WASTE_S_ID]) < 0)
			best = w;
	}
	initStringInfo(&path);
	appendStringInfoString(&path, waste_id(&t->sp[best]));
	w = best;
	do
	{
		w = t->sp[w].parent;
		if (++shown > 10)
		{
			appendStringInfoString(&path, " -> ...");
			break;
		}
		appendStringInfo(&path, " -> %s", waste_id(&t->sp[w]));
	} while (w != best);

	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("cycle in parent ids at span \"%s\"", waste_id(&t->sp[best])),
			 errdetail("Following parent ids from span \"%s\" leads back to it: %s.",
					   waste_id(&t->sp[best]), path.data),
			 errhint("A trace is a tree; fix the parent ids of the spans on the cycle.")));
}

/*
 * Is span a before span b in time order (start, then id)?  Inline: the
 * order of waste_cmp_time without a call per comparison.
 */
static inline bool
waste_before(const WSpan *sp, int32 a, int32 b)
{
	if (sp[a].start != sp[b].start)
		return sp[a].start < sp[b].start;
	return waste_bcmp(sp[a].s[WASTE_S_ID], sp[a].len[WASTE_S_ID],
					  sp[b].s[WASTE_S_ID], sp[b].len[WASTE_S_ID]) < 0;
}

/*
 * Sort a list of span indices by time; short lists by insertion.  Siblings
 * usually arrive in time order, so a long list is first checked in one
 * pass and sorted only if it is out of order.
 */
static void
waste_sort_time(int32 *list, int32 len, WSpan *sp)
{
	int32		i,
				j;

	if (len > 16)
	{
		for (i = 1; i < len; i++)
		{
			WASTE_CFI(i);
			if (waste_before(sp, list[i], list[i - 1]))
				break;
		}
		if (i < len)
			qsort_arg(list, len, sizeof(int32), waste_cmp_time, sp);
		return;
	}
	for (i = 1; i < len; i++)
	{
		int32		v = list[i];

		for (j = i; j > 0 && waste_before(sp, v, list[j - 1]); j--)
			list[j] = list[j - 1];
		list[j] = v;
	}
}

/*
 * Mark the tool calls nested inside a call of the same key (name and
 * arguments): one call recorded by two layers of instrumentation, or a
 * wrapper and the call it makes.  A depth-first walk keeps, per key, how
 * many calls of it are open above the current span.
 */
static void
waste_mark_nested(const WTrace *t, const int32 *slot, WasteWork *w, int32 hsize)
{
	const WSpan *sp = t->sp;
	int32	   *open = w->open;
	int32	   *stack = w->stack;
	int32	   *next = w->next;
	bool	   *nested = w->nested;
	uint32		turns = 0;
	int32		r;

	memset(open, 0, sizeof(int32) * hsize);
	for (r = 0; r < t->nroots; r++)
	{
		int32		depth = 0;
		int32		v = t->roots[r];

		stack[0] = v;
		next[0] = 0;
		if (sp[v].tool)
			nested[v] = open[slot[v]]++ > 0;
		while (depth >= 0)
		{
			WASTE_CFI(++turns);
			v = stack[depth];
			if (next[depth] < sp[v].nkids)
			{
				int32		c = t->kids[sp[v].kid0 + next[depth]++];

				stack[++depth] = c;
				next[depth] = 0;
				if (sp[c].tool)
					nested[c] = open[slot[c]]++ > 0;
			}
			else
			{
				if (sp[v].tool)
					open[slot[v]]--;
				depth--;
			}
		}
	}
}

/*
 * Mark duplicate tool calls: a tool call (with a known argument hash) is a
 * duplicate when an earlier call with the same name and arguments was kept
 * (it succeeded and lies in no failed attempt and no abandoned branch).
 * That earlier call may be taken to be the earliest kept one of its key.
 * A call nested inside a call of its own key is that call seen twice: it
 * is neither a duplicate nor the call others duplicate (it shares the
 * class of the outer call through its subtree).  So: one pass gives each
 * tool call its key's slot in a hash table on name and arguments (or,
 * over the table's probe budget, its key's rank in the calls sorted by
 * key: slots only tell keys apart); when a key repeats, a walk marks the
 * nested calls, a pass finds the earliest kept call per key and a last
 * pass marks the calls after it.
 */
static void
waste_mark_duplicates(const WTrace *t, const int32 *fa, const int32 *ab, int32 *dp,
					  WasteWork *w)
{
	const WSpan *sp = t->sp;
	int32		n = t->n;
	int32		ntool = 0;
	int32		hsize;
	int32	   *best = w->best; /* earliest kept span of the key, or -1 */
	int32	   *slot = w->slot;
	bool	   *nested = w->nested;
	int32		i;

	for (i = 0; i < n; i++)
	{
		WASTE_CFI(i);
		if (sp[i].tool)
			ntool++;
	}
	if (ntool < 2)
		return;
	if (!waste_index_keys(sp, n, ntool, w->htab, best, slot, nested, w->hv, w->byid,
						  &hsize))
		return;
	waste_mark_nested(t, slot, w, hsize);

	for (i = 0; i < n; i++)
	{
		int32		h;

		WASTE_CFI(i);
		if (!sp[i].tool || nested[i])
			continue;
		h = slot[i];
		if (sp[i].status == WASTE_ST_OK && fa[i] < 0 && ab[i] < 0 &&
			(best[h] < 0 || waste_before(sp, i, best[h])))
			best[h] = i;
	}
	for (i = 0; i < n; i++)
	{
		int32		h;

		WASTE_CFI(i);
		if (!sp[i].tool || nested[i])
			continue;
		h = slot[i];
		if (best[h] >= 0 && waste_before(sp, best[h], i))
			dp[i] = best[h];
	}
}

/*
 * Mark the failed attempts of one sibling list, in time order: a failed
 * span is a failed attempt when a sibling of the same kind and name comes
 * after it in retry order (attempt number, then time), that is, when it
 * is not the last attempt of its step.  A short list is checked pairwise,
 * without sorting; a long one is sorted into steps (waste_cmp_retry), so
 * that many failures among many siblings stay O(n log n).
 */
static void
waste_mark_retries(WSpan *sp, const int32 *list, int32 len, int32 *fa, int32 *idx)
{
	int32		i,
				j,
				k;

	if (len <= 32)
	{
		for (i = 0; i < len; i++)
		{
			const WSpan *a = &sp[list[i]];

			if (!WASTE_ST_FAILED(a->status))
				continue;
			for (j = 0; j < len; j++)
			{
				const WSpan *b = &sp[list[j]];

				/* b is a later attempt: a higher number, or the same and later in time */
				if (j != i &&
					(b->attempt > a->attempt || (b->attempt == a->attempt && j > i)) &&
					waste_streq(a, b, WASTE_S_KIND) && waste_streq(a, b, WASTE_S_NAME))
				{
					fa[list[i]] = list[i];
					break;
				}
			}
		}
		return;
	}

	memcpy(idx, list, sizeof(int32) * len);
	qsort_arg(idx, len, sizeof(int32), waste_cmp_retry, sp);
	for (i = 0; i < len; i = j)
	{
		WSpan	   *a = &sp[idx[i]];

		for (j = i + 1; j < len; j++)
		{
			WSpan	   *b = &sp[idx[j]];

			WASTE_CFI(j);
			if (!waste_streq(a, b, WASTE_S_KIND) || !waste_streq(a, b, WASTE_S_NAME))
				break;
		}
		/* idx[i..j-1] are the attempts of one step; all but the last were retried */
		for (k = i; k < j - 1; k++)
			if (WASTE_ST_FAILED(sp[idx[k]].status))
				fa[idx[k]] = idx[k];
	}
}

/*
 * Step 2: link each span to its parent (missing parent: orphan, treated as
 * a root).  Siblings are often consecutive, so a span whose parent id is
 * the previous span's takes its parent without a lookup.  The id table's
 * lookups spend what is left of its probe budget; over it, the sorted
 * index takes over.
 */
static void
waste_link_parents(WTrace *t, WasteWork *w, int32 hsize, int64 budget, bool sorted)
{
	WSpan	   *sp = t->sp;
	int32		n = t->n;
	int32		i;

	for (i = 0; i < n; i++)
	{
		WASTE_CFI(i);
		sp[i].parent = -1;
		if (sp[i].flags & WASTE_F_PARENT_NULL)
			continue;
		if (i > 0 && !(sp[i - 1].flags & WASTE_F_PARENT_NULL) &&
			waste_streq(&sp[i - 1], &sp[i], WASTE_S_PARENT))
			sp[i].parent = sp[i - 1].parent;
		else
		{
			if (!sorted)
			{
				int32		p = waste_id_find(sp, w->htab, hsize, sp[i].s[WASTE_S_PARENT],
											  sp[i].len[WASTE_S_PARENT], &budget);

				if (p == WASTE_OVER_BUDGET)
				{
					sorted = true;
					waste_sort_ids(sp, n, w->byid);
				}
				else
					sp[i].parent = p;
			}
			if (sorted)
				sp[i].parent = waste_find_sorted(sp, w->byid, n, sp[i].s[WASTE_S_PARENT],
												 sp[i].len[WASTE_S_PARENT]);
		}
		if (sp[i].parent < 0)
			t->orphans++;
		else
			sp[sp[i].parent].nkids++;
	}
}

/*
 * Group the children of each span (and the roots) into lists, and set the
 * first marks in the same pass: each mark array holds the span that starts
 * the class, or -1; a failed or discarded span abandons its own subtree;
 * and hasfail[parent + 1] notes the sibling groups that hold a failure.
 */
static void
waste_group_children(WTrace *t, WasteWork *w)
{
	WSpan	   *sp = t->sp;
	int32		n = t->n;
	int32		i,
				k;

	t->kids = w->kids;
	t->roots = w->roots;
	memset(w->hasfail, 0, sizeof(bool) * (n + 1));
	for (i = 0, k = 0; i < n; i++)
	{
		WASTE_CFI(i);
		sp[i].kid0 = k;
		k += sp[i].nkids;
		sp[i].nkids = 0;
	}
	for (i = 0; i < n; i++)
	{
		WSpan	   *s = &sp[i];

		WASTE_CFI(i);
		if (s->parent < 0)
			t->roots[t->nroots++] = i;
		else
		{
			WSpan	   *p = &sp[s->parent];

			t->kids[p->kid0 + p->nkids++] = i;
		}
		w->fa[i] = w->lp[i] = w->dp[i] = -1;
		w->ab[i] = (WASTE_ST_FAILED(s->status) || s->status == WASTE_ST_DISCARDED) ? i : -1;
		if (WASTE_ST_FAILED(s->status))
			w->hasfail[s->parent + 1] = true;
	}
}

/*
 * Step 5, the marks set per sibling list (the roots, then each span's
 * children): sort it by time, mark the failed attempts if it holds a
 * failure, and mark the repeats of stuck loops, runs of >= loop_min
 * identical consecutive siblings.
 */
static void
waste_mark_siblings(WTrace *t, WasteWork *w)
{
	WSpan	   *sp = t->sp;
	int32	   *lp = w->lp;
	int32		i,
				k;

	for (i = -1; i < t->n; i++)
	{
		int32	   *list = (i < 0) ? t->roots : t->kids + sp[i].kid0;
		int32		len = (i < 0) ? t->nroots : sp[i].nkids;
		int32		a,
					b;

		WASTE_CFI(i);
		if (len < 2)
			continue;
		waste_sort_time(list, len, sp);
		if (w->hasfail[i + 1])
			waste_mark_retries(sp, list, len, w->fa, w->idx);
		for (a = 0; a < len; a = b)
		{
			for (b = a + 1; b < len && waste_same_step(&sp[list[a]], &sp[list[b]]); b++)
				WASTE_CFI(b);
			if (b - a >= t->loop_min)
				for (k = a + 1; k < b; k++)
					lp[list[k]] = list[a];
		}
	}
}

/*
 * Step 3: breadth-first order from the roots into w->order; unreached spans
 * mean a cycle.  Failed attempts, abandoned branches and stuck loops cover
 * the subtree: a span takes its parent's marks as it is queued (the
 * parent's are final by then).
 */
static void
waste_walk(WTrace *t, WasteWork *w)
{
	WSpan	   *sp = t->sp;
	int32		n = t->n;
	int32	   *order = w->order;
	int32	   *fa = w->fa,
			   *ab = w->ab,
			   *lp = w->lp;
	int32		nord = 0,
				i,
				j;

	for (i = 0; i < t->nroots; i++)
		order[nord++] = t->roots[i];
	for (i = 0; i < nord; i++)
	{
		int32		p = order[i];
		const int32 *kids = t->kids + sp[p].kid0;

		for (j = 0; j < sp[p].nkids; j++)
		{
			int32		v = kids[j];

			WASTE_CFI(nord);
			order[nord++] = v;
			if (fa[v] < 0)
				fa[v] = fa[p];
			if (ab[v] < 0)
				ab[v] = ab[p];
			if (lp[v] < 0)
				lp[v] = lp[p];
		}
	}
	if (nord < n)
	{
		bool	   *seen = (bool *) palloc0(sizeof(bool) * n);
		int32		u = -1;

		for (i = 0; i < nord; i++)
		{
			WASTE_CFI(i);
			seen[order[i]] = true;
		}
		for (i = 0; i < n; i++)
			if (!seen[i])
			{
				u = i;
				break;
			}
		waste_cycle_error(t, u);
	}
}

/*
 * Step 4 under the rollup rule: each span's own cost, its reported cost
 * less its children's, bottom up (the other rules' in waste_assign).
 */
static void
waste_rollup(WTrace *t, WasteWork *w)
{
	WSpan	   *sp = t->sp;
	int32		n = t->n;
	int128	   *tot = w->tot;
	int128	   *kidsum = w->kidsum;
	int32		i;

	memset(tot, 0, sizeof(int128) * n);
	memset(kidsum, 0, sizeof(int128) * n);

	for (i = n - 1; i >= 0; i--)
	{
		int32		v = w->order[i];
		WSpan	   *s = &sp[v];

		WASTE_CFI(i);
		if (s->flags & WASTE_F_COST_NULL)
		{
			/* not reported: its total is its children's, its own cost 0 */
			tot[v] = kidsum[v];
			s->own = 0;
		}
		else
		{
			if ((int128) s->cost < kidsum[v])
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("span \"%s\" reports a rolled-up cost of %s, less than the %s its children report",
								waste_id(s), money_to_cstring(s->cost),
								money_to_cstring(kidsum[v])),
						 errhint("With cost_rule 'rollup' each span reports its own cost plus its children's; "
								 "use 'self' if each span reports only its own.")));
			tot[v] = s->cost;
			s->own = (int64) (s->cost - kidsum[v]);
		}
		if (s->parent >= 0)
			kidsum[s->parent] += tot[v];
	}
}

/*
 * Step 6, with the end of steps 4 and 5: in breadth-first order, pass the
 * duplicate marks down (so that duplicates cover the subtree in the same
 * pass), compute the own cost under the leaf and self rules, and give each
 * span the first class that applies, adding it to the trace's totals.
 */
static void
waste_assign(WTrace *t, WasteWork *w)
{
	WSpan	   *sp = t->sp;
	int32	   *fa = w->fa,
			   *ab = w->ab,
			   *lp = w->lp,
			   *dp = w->dp;
	int			rule = t->rule;
	int32		k;

	for (k = 0; k < t->n; k++)
	{
		int32		v = w->order[k];
		WSpan	   *s = &sp[v];

		WASTE_CFI(k);
		if (dp[v] < 0 && s->parent >= 0)
			dp[v] = dp[s->parent];
		if (rule != WASTE_RULE_ROLLUP)
			s->own = (rule == WASTE_RULE_SELF || s->nkids == 0) ? s->cost : 0;

		if (WASTE_ST_FAILED(s->status) && s->own > 0)
		{
			s->cls = WASTE_C_ERROR_CALL;
			s->cause = v;
		}
		else if (fa[v] >= 0)
		{
			s->cls = WASTE_C_FAILED_ATTEMPT;
			s->cause = fa[v];
		}
		else if (ab[v] >= 0)
		{
			s->cls = WASTE_C_ABANDONED;
			s->cause = ab[v];
		}
		else if (lp[v] >= 0)
		{
			s->cls = WASTE_C_STUCK_LOOP;
			s->cause = lp[v];
		}
		else if (dp[v] >= 0)
		{
			s->cls = WASTE_C_DUPLICATE;
			s->cause = dp[v];
		}
		else
		{
			s->cls = WASTE_C_ESSENTIAL;
			s->cause = -1;
		}
		t->count[s->cls]++;
		t->cost[s->cls] += s->own;
		t->total += s->own;
	}
}

/*
 * Step 7, the induced cost (README, "Induced cost"), when spans carry
 * input tokens.  An LLM call is a span with more than 0 input tokens; its
 * input cost, at most its own cost, gives its price per token, rounded
 * down to a whole money unit (what the rounding leaves stays with the
 * call).  A tool call is a span of a tool kind that is not an LLM call.  A
 * conversation is a sibling list (the children of one span, or the roots)
 * in time order (start, then span id); the lists were sorted by
 * waste_mark_siblings.  In it, the tools between two consecutive LLM calls
 * share the growth of input from the first call to the second (0 when it
 * shrinks), each its integer part and the first ones in time order one
 * token more for the remainder; a call whose input is smaller than the
 * previous call's ends what the earlier tools added (the conversation was
 * truncated).  So a call re-reads the tokens every tool since the last
 * shrink added, and gives up their price: the tool gets its tokens times
 * the prices of the calls after it up to the next shrink, the call loses
 * its re-read tokens times its price; the two are the same sum of
 * products, so the classes still add up to the total exactly.  Two passes
 * per list: forward for the tokens, backward for the sums of prices.
 */
static void
waste_induce(WTrace *t, WasteWork *w)
{
	WSpan	   *sp = t->sp;
	int32		n = t->n;
	int64	   *itok = w->itok;
	int64	   *price = w->iprice;
	int64	   *added = w->added;
	int128	   *ind = w->ind;
	uint8	   *role = w->role;
	int32		i,
				j,
				m;

	t->itok = itok;
	t->iprice = price;
	t->added = added;
	t->ind = ind;
	t->role = role;
	for (i = 0; i < n; i++)
	{
		WSpan	   *s = &sp[i];

		WASTE_CFI(i);
		added[i] = 0;
		ind[i] = 0;
		if ((s->flags & WASTE_F_INPUT) && itok[i] > 0)
		{
			role[i] = WASTE_R_CALL;
			price[i] = Min(price[i], s->own) / itok[i];
		}
		else
			role[i] = waste_is_tool(s) ? WASTE_R_TOOL : WASTE_R_NONE;
	}

	for (i = -1; i < n; i++)
	{
		int32	   *list = (i < 0) ? t->roots : t->kids + sp[i].kid0;
		int32		len = (i < 0) ? t->nroots : sp[i].nkids;
		int32		prev = -1,
					next = -1,
					gap0 = 0,
					ntools = 0;
		int64		carried = 0;
		int128		later = 0;

		WASTE_CFI(i);
		if (len < 3)
			continue;
		/* forward: each tool's share of the growth, each call's re-read tokens */
		for (j = 0; j < len; j++)
		{
			int32		v = list[j];

			WASTE_CFI(j);
			if (role[v] == WASTE_R_TOOL)
				ntools++;
			if (role[v] != WASTE_R_CALL)
				continue;
			if (prev < 0 || itok[v] < itok[prev])
				carried = 0;
			else if (ntools > 0)
			{
				int64		g = itok[v] - itok[prev];
				int64		each = g / ntools;
				int64		extra = g % ntools;

				for (m = gap0; m < j; m++)
					if (role[list[m]] == WASTE_R_TOOL)
						added[list[m]] = each + (extra-- > 0 ? 1 : 0);
				carried += g;
			}
			added[v] = carried;
			ind[v] = -((int128) carried * price[v]);
			prev = v;
			gap0 = j + 1;
			ntools = 0;
		}
		/* backward: each tool gets its tokens times the later calls' prices */
		for (j = len - 1; j >= 0; j--)
		{
			int32		v = list[j];

			WASTE_CFI(j);
			if (role[v] == WASTE_R_CALL)
			{
				if (next >= 0 && itok[next] < itok[v])
					later = 0;
				later += price[v];
				next = v;
			}
			else if (role[v] == WASTE_R_TOOL && added[v] > 0)
				ind[v] = (int128) added[v] * later;
		}
	}

	for (i = 0; i < n; i++)
	{
		WASTE_CFI(i);
		t->cost[sp[i].cls] += ind[i];
	}
}

/*
 * Index, link, walk, cost and classify the spans of a state, in the passes
 * the header comment describes.
 */
static void
waste_analyse(const WasteState *st, int rule, int loop_min, WTrace *t, WasteWork *w)
{
	int32		hsize;
	int64		budget;
	bool		sorted;

	memset(t, 0, sizeof(*t));
	t->rule = rule;
	t->loop_min = loop_min;
	waste_decode(st, t, w, &hsize, &budget, &sorted);
	waste_link_parents(t, w, hsize, budget, sorted);
	waste_group_children(t, w);
	waste_mark_siblings(t, w);
	waste_walk(t, w);
	if (rule == WASTE_RULE_ROLLUP)
		waste_rollup(t, w);
	waste_mark_duplicates(t, w->fa, w->ab, w->dp, w);
	waste_assign(t, w);
	/* step 7 */
	if (t->ninput > 0)
		waste_induce(t, w);
}

/*
 * Read the common arguments and analyse, or take the kept classes of the
 * same state.  Returns with the call's scratch context current (emptied
 * first): the caller switches back to *old.
 *
 * A state of at least WASTE_KEEP_MIN bytes is kept in the working area
 * with its classes.  The key of the cache is the state's stored form (its
 * compressed bytes when it is compressed, fetched but not decompressed
 * when it is stored out of line), compared byte for byte with a copy:
 * equal stored forms are equal states, so a hit can never be a different
 * state, whatever memory the caller reuses.  A state that is compressed
 * differently is only a miss.
 *
 * Keeping costs no copy for a state stored out of line (it is fetched and
 * decompressed into the kept trace's context rather than the call's) and
 * little for a compressed one.  A plain state in the caller's memory (made
 * in the same query) would need a copy of the whole state, which a single
 * call does not repay: it is classified in place, and copied and kept only
 * when the same datum (same address and size) comes again, as it does in
 * the calls of (waste_summary(s)).*.  That address is only a hint of when
 * to keep: a hit is always decided by comparing the bytes.
 */
static WasteWork *
waste_analyse_args(FunctionCallInfo fcinfo, int rule_arg, WTrace *t, MemoryContext *old)
{
	WasteWork  *w = waste_work();
	struct varlena *raw = (struct varlena *) PG_GETARG_POINTER(0);
	struct varlena *key;
	const WasteState *st;
	const WasteTotals *extot;
	const WasteState *ex;
	int			rule;
	int			loop_min;
	Size		keylen;

	MemoryContextReset(w->scratch);
	*old = MemoryContextSwitchTo(w->scratch);
	rule = waste_parse_rule(PG_GETARG_TEXT_PP(rule_arg));
	loop_min = waste_check_loop_min(PG_GETARG_INT32(rule_arg + 1));

	/*
	 * waste_agg's final value (our expanded state in the aggregate's memory)
	 * is read in place, as a plain state in the caller's memory is; its
	 * stored form, the key of the cache, is its flat form.
	 */
	ex = waste_expanded_flat(PointerGetDatum(raw), &extot);
	if (ex != NULL)
		keylen = WASTE_HDRSZ + ex->used + (extot != NULL ? sizeof(WasteTotals) : 0);
	else
		keylen = toast_raw_datum_size(PointerGetDatum(raw));
	if (keylen < WASTE_KEEP_MIN)
	{
		/* a small trace: classified again at each call (the arrays change) */
		waste_forget(w);
		st = ex != NULL ? ex : DatumGetWasteState(PointerGetDatum(raw));
		waste_analyse(st, rule, loop_min, t, w);
		return w;
	}

	/*
	 * The stored form: fetched (into the kept trace's context) if out of
	 * line, still compressed if it was.  A call that failed may have left
	 * chunks there: empty it first unless it holds a valid cache.
	 */
	if (!w->cached)
		waste_forget(w);
	if (ex != NULL)
		key = NULL;				/* compared in place, copied if kept */
	else
	{
		MemoryContextSwitchTo(w->keep);
		key = VARATT_IS_EXTERNAL(raw) ? detoast_external_attr(raw) : raw;
		MemoryContextSwitchTo(w->scratch);
		keylen = VARSIZE_ANY(key);
	}
	if (w->cached && w->crule == rule && w->cloop_min == loop_min &&
		VARSIZE_ANY(w->ckey) == keylen &&
		(ex != NULL ? waste_expanded_equal(w->ckey, PointerGetDatum(raw)) :
		 memcmp(w->ckey, key, keylen) == 0))
	{
		if (key != NULL && key != raw)
			pfree(key);
		*t = w->ct;
		return w;
	}

	/*
	 * A miss.  Drop the kept trace before anything else, so that a
	 * classification that fails half way leaves no cache.
	 */
	waste_drop(w);
	if ((ex != NULL || (key == raw && !VARATT_IS_COMPRESSED(raw))) &&
		!(w->lastraw == (const void *) raw && w->lastlen == keylen))
	{
		/* plain or ours, in the caller's memory, not seen just before: in place */
		w->lastraw = raw;
		w->lastlen = keylen;
		waste_analyse(ex != NULL ? ex : (const WasteState *) raw, rule, loop_min, t, w);
		return w;
	}
	w->lastraw = NULL;
	MemoryContextSwitchTo(w->keep);
	if (ex != NULL)
		key = (struct varlena *) waste_expanded_copy(PointerGetDatum(raw));
	else if (key == raw)
	{
		/* in the caller's memory (compressed, or plain and seen again): copy it */
		key = (struct varlena *) palloc(keylen);
		memcpy(key, raw, keylen);
	}
	w->ckey = key;
	if (VARATT_IS_COMPRESSED(key))
		w->cst = (WasteState *) detoast_attr(key);
	else
	{
		Assert(VARATT_IS_4B_U(key));
		w->cst = (WasteState *) key;
	}
	MemoryContextSwitchTo(w->scratch);

	waste_analyse(w->cst, rule, loop_min, t, w);
	w->ct = *t;
	w->crule = rule;
	w->cloop_min = loop_min;
	w->cached = true;
	return w;
}

/*
 * waste_compute_totals(state, totals): classify a state's spans under the
 * accessors' defaults (WASTE_TOTALS_RULE, WASTE_TOTALS_LOOP_MIN) and keep
 * the totals; a parallel worker calls it on each partial state it sends
 * (see waste_state.c).  A trace the classifier refuses with a data error
 * (a repeated span id, a cycle of parent ids) gets no totals (false): the
 * error is raised by the accessor that classifies the trace, as in a
 * serial plan, not by a query that only collects states.  The error is
 * caught without a subtransaction: the classification only computes in
 * this module's working area, whose arrays and kept trace are reset here
 * (it takes no lock, pin or other resource); any other error (a cancel,
 * out of memory) is raised again.
 */
bool
waste_compute_totals(const WasteState *s, WasteTotals *out)
{
	WasteWork  *w = waste_work();
	MemoryContext old = CurrentMemoryContext;
	WTrace		t;
	volatile bool ok = true;
	int			c;

	/* the arrays are about to hold another trace: no kept classes */
	waste_forget(w);
	MemoryContextReset(w->scratch);
	MemoryContextSwitchTo(w->scratch);
	PG_TRY();
	{
		waste_analyse(s, WASTE_TOTALS_RULE, WASTE_TOTALS_LOOP_MIN, &t, w);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(old);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_DATA_EXCEPTION)
			PG_RE_THROW();
		FlushErrorState();
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	if (ok)
	{
		memset(out, 0, sizeof(*out));
		out->n = t.n;
		out->nroots = t.nroots;
		out->orphans = t.orphans;
		out->ncostnull = t.ncostnull;
		for (c = 0; c < WASTE_NCLASS; c++)
		{
			out->count[c] = t.count[c];
			out->cost_hi[c] = (uint64) ((uint128) t.cost[c] >> 64);
			out->cost_lo[c] = (uint64) (uint128) t.cost[c];
		}
		out->total_hi = (uint64) ((uint128) t.total >> 64);
		out->total_lo = (uint64) (uint128) t.total;
	}
	waste_forget(w);
	MemoryContextReset(w->scratch);
	return ok;
}

/*
 * The classes of a state that carries totals (a trace that came whole from
 * one parallel worker), when the call asks for the rule and loop_min they
 * were computed under: into t (totals only, no spans), true.  Else false,
 * and the caller classifies.
 */
static bool
waste_totals_args(FunctionCallInfo fcinfo, int rule_arg, WTrace *t)
{
	struct varlena *raw = (struct varlena *) PG_GETARG_POINTER(0);
	text	   *rule = PG_GETARG_TEXT_PP(rule_arg);
	const char *name = waste_rule_names[WASTE_TOTALS_RULE];
	WasteTotals tot;
	int			c;

	const WasteTotals *extot;
	const WasteState *ex = waste_expanded_flat(PointerGetDatum(raw), &extot);

	/*
	 * only a plain value in memory or our expanded state (waste_agg's final
	 * value): a stored one is classified as ever
	 */
	if ((ex == NULL && VARATT_IS_EXTENDED(raw)) ||
		PG_GETARG_INT32(rule_arg + 1) != WASTE_TOTALS_LOOP_MIN ||
		VARSIZE_ANY_EXHDR(rule) != strlen(name) ||
		memcmp(VARDATA_ANY(rule), name, strlen(name)) != 0)
		return false;
	if (ex != NULL)
	{
		if (extot == NULL || extot->n != ex->nspans || extot->ncostnull != ex->ncostnull)
			return false;
		tot = *extot;
	}
	else if (!waste_get_totals((const WasteState *) raw, &tot))
		return false;
	memset(t, 0, sizeof(*t));
	t->rule = WASTE_TOTALS_RULE;
	t->loop_min = WASTE_TOTALS_LOOP_MIN;
	t->n = tot.n;
	t->nroots = tot.nroots;
	t->orphans = tot.orphans;
	t->ncostnull = tot.ncostnull;
	for (c = 0; c < WASTE_NCLASS; c++)
	{
		t->count[c] = tot.count[c];
		t->cost[c] = (int128) (((uint128) tot.cost_hi[c] << 64) | (uint128) tot.cost_lo[c]);
	}
	t->total = (int128) (((uint128) tot.total_hi << 64) | (uint128) tot.total_lo);
	return true;
}

/* waste_summary(state, cost_rule, loop_min): totals, cost and spans per class. */
Datum
waste_summary(PG_FUNCTION_ARGS)
{
	WasteSummaryDesc *d;
	MemoryContext old;
	WTrace		t;
	Datum		values[19];
	bool		nulls[19];
	int			c,
				v;
	int128		waste;
	/* class order of the output columns: essential first, then precedence */
	static const int ord[WASTE_NCLASS] = {
		WASTE_C_ESSENTIAL, WASTE_C_ERROR_CALL, WASTE_C_FAILED_ATTEMPT,
		WASTE_C_ABANDONED, WASTE_C_STUCK_LOOP, WASTE_C_DUPLICATE
	};

	/* the blessed result descriptor is built once per call site and query */
	d = (WasteSummaryDesc *) fcinfo->flinfo->fn_extra;
	if (d == NULL)
	{
		MemoryContext fold = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		TupleDesc	tupdesc;

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "waste_summary must return a composite type");
		d = (WasteSummaryDesc *) palloc(sizeof(WasteSummaryDesc));
		d->tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		d->zero = NumericGetDatum(money_to_numeric(0));
		fcinfo->flinfo->fn_extra = d;
		MemoryContextSwitchTo(fold);
	}

	if (!waste_totals_args(fcinfo, 1, &t))
	{
		waste_analyse_args(fcinfo, 1, &t, &old);
		MemoryContextSwitchTo(old);
	}

	/* heap_form_tuple copies the values, so the shared zero may be used */
#define WASTE_MONEY(m) ((m) == 0 ? d->zero : NumericGetDatum(money_to_numeric(m)))
	memset(nulls, 0, sizeof(nulls));
	v = 0;
	values[v++] = CStringGetTextDatum(waste_rule_names[t.rule]);
	values[v++] = Int64GetDatum(t.n);
	values[v++] = Int64GetDatum(t.nroots);
	values[v++] = Int64GetDatum(t.orphans);
	values[v++] = Int64GetDatum(t.ncostnull);
	values[v++] = WASTE_MONEY(t.total);
	for (c = 0; c < WASTE_NCLASS; c++)
		values[v++] = WASTE_MONEY(t.cost[ord[c]]);
	waste = t.total - t.cost[WASTE_C_ESSENTIAL];
	values[v++] = WASTE_MONEY(waste);
#undef WASTE_MONEY
	for (c = 1; c < WASTE_NCLASS; c++)
		values[v++] = Int64GetDatum(t.count[ord[c]]);
	Assert(v == 19);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(d->tupdesc, values, nulls)));
}

/* waste_classes(state, cost_rule, loop_min): one row per class, in precedence order. */
Datum
waste_classes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	WTrace		t;
	int			c;

	InitMaterializedSRF(fcinfo, 0);
	old = CurrentMemoryContext;
	if (!waste_totals_args(fcinfo, 1, &t))
		waste_analyse_args(fcinfo, 1, &t, &old);
	for (c = 0; c < WASTE_NCLASS; c++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = CStringGetTextDatum(waste_class_names[c]);
		values[1] = Int32GetDatum(c + 1);
		values[2] = Int64GetDatum(t.count[c]);
		values[3] = NumericGetDatum(money_to_numeric(t.cost[c]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(waste_work()->scratch);
	return (Datum) 0;
}

/*
 * Emit span rows: the spans listed in idx[0..m-1].  Each row's values are
 * made in a context emptied per row (the tuplestore copies them), so that
 * listing a trace's spans does not hold a copy of every value.
 */
static void
waste_emit_spans(ReturnSetInfo *rsinfo, WTrace *t, int32 *idx, int32 m)
{
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "waste row",
												 ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(rowcxt);
	int32		i;

	for (i = 0; i < m; i++)
	{
		WSpan	   *s = &t->sp[idx[i]];
		Datum		values[10];
		bool		nulls[10];

		WASTE_CFI(i);
		MemoryContextReset(rowcxt);
		memset(nulls, 0, sizeof(nulls));
		values[0] = PointerGetDatum(cstring_to_text_with_len(s->s[WASTE_S_ID], s->len[WASTE_S_ID]));
		if (s->flags & WASTE_F_PARENT_NULL)
			nulls[1] = true;
		else
			values[1] = PointerGetDatum(cstring_to_text_with_len(s->s[WASTE_S_PARENT], s->len[WASTE_S_PARENT]));
		values[2] = PointerGetDatum(cstring_to_text_with_len(s->s[WASTE_S_KIND], s->len[WASTE_S_KIND]));
		values[3] = PointerGetDatum(cstring_to_text_with_len(s->s[WASTE_S_NAME], s->len[WASTE_S_NAME]));
		values[4] = CStringGetTextDatum(waste_status_names[s->status]);
		values[5] = CStringGetTextDatum(waste_class_names[s->cls]);
		if (s->cause < 0)
			nulls[6] = true;
		else
			values[6] = PointerGetDatum(cstring_to_text_with_len(t->sp[s->cause].s[WASTE_S_ID],
																 t->sp[s->cause].len[WASTE_S_ID]));
		if (s->flags & WASTE_F_COST_NULL)
			nulls[7] = true;
		else
			values[7] = NumericGetDatum(money_to_numeric(s->cost));
		values[8] = NumericGetDatum(money_to_numeric(waste_charged(t, idx[i])));
		values[9] = TimestampTzGetDatum(s->start);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(rowcxt);
}

/* waste_spans(state, lim, cost_rule, loop_min): the most expensive wasteful spans. */
Datum
waste_spans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		lim = PG_GETARG_INT32(1);
	MemoryContext old;
	WTrace		t;
	int32	   *idx;
	int32		i,
				m;

	if (lim < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("limit must not be negative"),
				 errhint("Give the number of spans to list, 0 or more.")));
	InitMaterializedSRF(fcinfo, 0);
	waste_analyse_args(fcinfo, 2, &t, &old);
	idx = (int32 *) palloc(sizeof(int32) * Max(t.n, 1));
	for (i = 0, m = 0; i < t.n; i++)
	{
		WASTE_CFI(i);
		if (t.sp[i].cls != WASTE_C_ESSENTIAL)
			idx[m++] = i;
	}
	qsort_arg(idx, m, sizeof(int32), waste_cmp_cost, &t);
	waste_emit_spans(rsinfo, &t, idx, Min(m, lim));
	MemoryContextSwitchTo(old);
	MemoryContextReset(waste_work()->scratch);
	return (Datum) 0;
}

/* waste_span_classes(state, cost_rule, loop_min): every span with its class, by time. */
Datum
waste_span_classes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	WTrace		t;
	int32	   *idx;
	int32		i;

	InitMaterializedSRF(fcinfo, 0);
	waste_analyse_args(fcinfo, 1, &t, &old);
	idx = (int32 *) palloc(sizeof(int32) * Max(t.n, 1));
	for (i = 0; i < t.n; i++)
	{
		WASTE_CFI(i);
		idx[i] = i;
	}
	qsort_arg(idx, t.n, sizeof(int32), waste_cmp_time, t.sp);
	waste_emit_spans(rsinfo, &t, idx, t.n);
	MemoryContextSwitchTo(old);
	MemoryContextReset(waste_work()->scratch);
	return (Datum) 0;
}

/*
 * waste_induced(state, cost_rule, loop_min): the LLM calls and tool calls
 * of a trace by time, with the tokens each tool added and each call
 * re-read, the price per token of each call, and the money the induced
 * cost moved (+ to a tool, - from a call).  No rows when no span carries
 * input tokens.
 */
Datum
waste_induced(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	MemoryContext rowcxt;
	WTrace		t;
	int32	   *idx;
	int32		i,
				m;

	InitMaterializedSRF(fcinfo, 0);
	waste_analyse_args(fcinfo, 1, &t, &old);
	idx = (int32 *) palloc(sizeof(int32) * Max(t.n, 1));
	m = 0;
	if (t.ind != NULL)
		for (i = 0; i < t.n; i++)
		{
			WASTE_CFI(i);
			if (t.role[i] != WASTE_R_NONE)
				idx[m++] = i;
		}
	qsort_arg(idx, m, sizeof(int32), waste_cmp_time, t.sp);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "waste row", ALLOCSET_SMALL_SIZES);
	MemoryContextSwitchTo(rowcxt);
	for (i = 0; i < m; i++)
	{
		int32		v = idx[i];
		WSpan	   *s = &t.sp[v];
		bool		call = t.role[v] == WASTE_R_CALL;
		Datum		values[12];
		bool		nulls[12];

		WASTE_CFI(i);
		MemoryContextReset(rowcxt);
		memset(nulls, 0, sizeof(nulls));
		values[0] = PointerGetDatum(cstring_to_text_with_len(s->s[WASTE_S_ID], s->len[WASTE_S_ID]));
		if (s->flags & WASTE_F_PARENT_NULL)
			nulls[1] = true;
		else
			values[1] = PointerGetDatum(cstring_to_text_with_len(s->s[WASTE_S_PARENT], s->len[WASTE_S_PARENT]));
		values[2] = PointerGetDatum(cstring_to_text_with_len(s->s[WASTE_S_KIND], s->len[WASTE_S_KIND]));
		values[3] = PointerGetDatum(cstring_to_text_with_len(s->s[WASTE_S_NAME], s->len[WASTE_S_NAME]));
		values[4] = CStringGetTextDatum(waste_class_names[s->cls]);
		values[5] = CStringGetTextDatum(call ? "call" : "tool");
		if (call)
		{
			values[6] = Int64GetDatum(t.itok[v]);
			values[8] = NumericGetDatum(money_to_numeric(t.iprice[v]));
		}
		else
			nulls[6] = nulls[8] = true;
		values[7] = Int64GetDatum(t.added[v]);
		values[9] = NumericGetDatum(money_to_numeric(s->own));
		values[10] = NumericGetDatum(money_to_numeric(t.ind[v]));
		values[11] = NumericGetDatum(money_to_numeric(waste_charged(&t, v)));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(rowcxt);
	MemoryContextReset(waste_work()->scratch);
	return (Datum) 0;
}
