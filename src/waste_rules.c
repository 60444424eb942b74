/*-------------------------------------------------------------------------
 *
 * waste_rules.c
 *	  The rules of the waste classes that look beyond one span, as the
 *	  classifier's passes (waste_classify.c) run them: per sibling list,
 *	  the failed attempts and the repeats of stuck loops
 *	  (waste_mark_siblings); the duplicate tool calls
 *	  (waste_mark_duplicates), the last marks of step 5; and the induced
 *	  cost (waste_induce, step 7).  See the steps in waste_classify.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "waste_classify.h"

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
void
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
 * Step 5, the marks set per sibling list (the roots, then each span's
 * children): sort it by time, mark the failed attempts if it holds a
 * failure, and mark the repeats of stuck loops, runs of >= loop_min
 * identical consecutive siblings.
 */
void
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
void
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
