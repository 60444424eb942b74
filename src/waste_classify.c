/*-------------------------------------------------------------------------
 *
 * waste_classify.c
 *	  Attribute every unit of a trace's cost to essential work or one waste
 *	  class: the passes over a trace's spans (waste_analyse) and the steps
 *	  that index, link, walk, cost and classify them.  The marks that start
 *	  the classes found among siblings and tool calls, and the induced cost,
 *	  are in waste_rules.c; the SQL accessors over a waste_state, and the
 *	  working area they share, in waste_accessors.c.
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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include "money.h"
#include "waste_classify.h"

/* order by start time, then span id (a total order: ids are unique) */
int
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

	waste_shape_refused = true;
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("cycle in parent ids at span \"%s\"", waste_id(&t->sp[best])),
			 errdetail("Following parent ids from span \"%s\" leads back to it: %s.",
					   waste_id(&t->sp[best]), path.data),
			 errhint("A trace is a tree; fix the parent ids of the spans on the cycle.")));
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
 * Index, link, walk, cost and classify the spans of a state, in the passes
 * the header comment describes.
 */
void
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
