/*-------------------------------------------------------------------------
 *
 * waste_index.c
 *	  The indexes of the waste classifier: span ids and tool keys (name and
 *	  argument hash), each in a keyed open-addressing hash table with a
 *	  probe budget, and the sorted index that takes over from a table that
 *	  overspends it.  Also the hash key, drawn once per backend.
 *
 * The per-span operations on the id table are inline in waste_index.h;
 * the classifier's steps that use these indexes are in waste_classify.c
 * (the span ids) and waste_rules.c (the tool keys).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"

#include "waste_index.h"

/* the key of waste_hash, drawn once per backend */
uint64		waste_hash_key[3];
static bool waste_hash_keyed = false;

/*
 * Probe budget of the hash tables, in probe steps past the home slots over
 * all operations of a table; -2 until read.  See waste_probe_budget.
 */
static int64 waste_test_budget = -2;
static bool waste_test_budget_set = false;

/* comparisons made by the sorts, to check for interrupts every 4096 */
uint32		waste_cmp_ticks = 0;

/* Draw the key of waste_hash, once per backend. */
void
waste_hash_init(void)
{
	if (waste_hash_keyed)
		return;
	if (!pg_strong_random(waste_hash_key, sizeof(waste_hash_key)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random key for waste classification"),
				 errdetail("The system's source of random numbers failed.")));
	waste_hash_keyed = true;
}

/*
 * Bounded tables.  The hash tables over ids and over tool keys (name and
 * argument hash) are open-addressing tables with linear probing, at most
 * half full, with a keyed hash: honest keys take about 1.3 probes an
 * operation.  Keys made to collide (the key is secret, but a budget does
 * not rely on it) would make them quadratic, so each table has a budget of
 * probe steps past the home slots, 8 per operation plus 1024; a table that
 * overspends it is abandoned for a sorted index (O(n log n) comparisons,
 * the same answers), so that no input costs more than O(n log n).  Keys
 * that are equal by right (a tool called again with the same arguments,
 * the children of one parent) share one slot: looking one up again costs
 * that slot's distance from its home, a probe or two, not a run of them.
 * Nothing is ever read in the tables' order, so no answer depends on the
 * key or on which index was used.
 *
 * The environment variable TOKACCT_WASTE_PROBE_BUDGET, read once per
 * backend, replaces the budget with a fixed number, for tests of the
 * sorted index: a negative number uses it from the start, 0 at the first
 * collision.
 */
int64
waste_probe_budget(int64 ops)
{
	if (waste_test_budget == -2)
	{
		const char *e = getenv("TOKACCT_WASTE_PROBE_BUDGET");

		waste_test_budget = -1;
		waste_test_budget_set = (e != NULL && *e != '\0');
		if (waste_test_budget_set)
			waste_test_budget = strtol(e, NULL, 10);
	}
	if (waste_test_budget_set)
		return waste_test_budget;
	return 8 * ops + 1024;
}

bool		waste_shape_refused = false;

/* Report a repeated span id. */
void
waste_duplicate_error(const WSpan *s)
{
	waste_shape_refused = true;
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("duplicate span id \"%s\" in trace", waste_id(s)),
			 errdetail("Each span of a trace needs its own id; spans exported twice, "
					   "or a state merged with itself, repeat ids."),
			 errhint("Keep one row per span, for example with DISTINCT ON (trace_id, span_id).")));
}

/* order span indices by id (bytewise), then index */
static int
waste_cmp_id(const void *pa, const void *pb, void *arg)
{
	const WSpan *sp = (const WSpan *) arg;
	int32		a = *(const int32 *) pa;
	int32		b = *(const int32 *) pb;
	int			c;

	WASTE_CMP_TICK();
	c = waste_bcmp(sp[a].s[WASTE_S_ID], sp[a].len[WASTE_S_ID],
				   sp[b].s[WASTE_S_ID], sp[b].len[WASTE_S_ID]);
	if (c == 0)
		c = (a > b) - (a < b);
	return c;
}

/*
 * The id index without a hash table: byid[0..n-1], the spans sorted by id.
 * A repeated id is reported as the table reports it: at the first span,
 * in record order, whose id an earlier span has.
 */
void
waste_sort_ids(const WSpan *sp, int32 n, int32 *byid)
{
	int32		first = n;
	int32		i;

	for (i = 0; i < n; i++)
		byid[i] = i;
	qsort_arg(byid, n, sizeof(int32), waste_cmp_id, (void *) sp);
	for (i = 1; i < n; i++)
	{
		WASTE_CFI(i);
		/* equal ids are in index order: the second of a run repeats the first */
		if (byid[i] < first && waste_streq(&sp[byid[i - 1]], &sp[byid[i]], WASTE_S_ID))
			first = byid[i];
	}
	if (first < n)
		waste_duplicate_error(&sp[first]);
}

/* The span with id (id, len) in the sorted index, or -1. */
int32
waste_find_sorted(const WSpan *sp, const int32 *byid, int32 n, const char *id, int len)
{
	int32		lo = 0,
				hi = n;

	/* the first span whose id is not below the one sought */
	while (lo < hi)
	{
		int32		mid = lo + (hi - lo) / 2;
		const WSpan *m = &sp[byid[mid]];

		if (waste_bcmp(m->s[WASTE_S_ID], m->len[WASTE_S_ID], id, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && sp[byid[lo]].len[WASTE_S_ID] == len &&
		waste_memeq(sp[byid[lo]].s[WASTE_S_ID], id, len))
		return byid[lo];
	return -1;
}

/* order tool calls by key (name, then argument hash), then index */
static int
waste_cmp_key(const void *pa, const void *pb, void *arg)
{
	const WSpan *sp = (const WSpan *) arg;
	int32		a = *(const int32 *) pa;
	int32		b = *(const int32 *) pb;
	int			c;

	WASTE_CMP_TICK();
	c = waste_bcmp(sp[a].s[WASTE_S_NAME], sp[a].len[WASTE_S_NAME],
				   sp[b].s[WASTE_S_NAME], sp[b].len[WASTE_S_NAME]);
	if (c == 0)
		c = waste_bcmp(sp[a].s[WASTE_S_ARGS], sp[a].len[WASTE_S_ARGS],
					   sp[b].s[WASTE_S_ARGS], sp[b].len[WASTE_S_ARGS]);
	if (c == 0)
		c = (a > b) - (a < b);
	return c;
}


/*
 * Index the n spans' ntool tool calls by key (name and argument hash): give
 * each call its key's slot (slot[]), with best[slot] = -1 and nested[] =
 * false, in the hash table rep of hsize slots (a span of the slot's key,
 * + 1; 0: empty), hv holding the calls' hashes; or, over the table's probe
 * budget, its key's rank among the calls sorted by key (bykey), as slots
 * only tell keys apart.  Sets *nslots to the number of slots, and returns
 * whether a key repeats.
 */
bool
waste_index_keys(const WSpan *sp, int32 n, int32 ntool, int32 *rep, int32 *best,
				 int32 *slot, bool *nested, uint32 *hv, int32 *bykey, int32 *nslots)
{
	int32		hsize = 16;
	bool		repeat = false;
	int64		budget;
	int32		i;

	while (hsize < 2 * (int64) ntool)
		hsize *= 2;
	budget = waste_probe_budget(ntool);

	if (budget >= 0)
	{
		memset(rep, 0, sizeof(int32) * hsize);
		for (i = 0; i < n && budget >= 0; i++)
		{
			const WSpan *s = &sp[i];
			uint32		h;

			WASTE_CFI(i);
			if (!s->tool)
				continue;
			hv[i] = hash_combine(waste_hash(s->s[WASTE_S_NAME], s->len[WASTE_S_NAME]),
								 waste_hash(s->s[WASTE_S_ARGS], s->len[WASTE_S_ARGS]));
			h = hv[i] & (hsize - 1);
			while (rep[h] != 0 &&
				   !(hv[rep[h] - 1] == hv[i] &&
					 waste_streq(&sp[rep[h] - 1], s, WASTE_S_NAME) &&
					 waste_streq(&sp[rep[h] - 1], s, WASTE_S_ARGS)))
			{
				h = (h + 1) & (hsize - 1);
				if (--budget < 0)
					break;
			}
			if (budget < 0)
				break;
			if (rep[h] == 0)
			{
				rep[h] = i + 1;
				best[h] = -1;
			}
			else
				repeat = true;
			slot[i] = h;
			nested[i] = false;
		}
	}
	if (budget < 0)
	{
		/* the sorted index: slot = rank of the key among the keys */
		int32		m = 0,
					g = -1,
					j;

		for (i = 0; i < n; i++)
		{
			WASTE_CFI(i);
			if (sp[i].tool)
				bykey[m++] = i;
		}
		qsort_arg(bykey, m, sizeof(int32), waste_cmp_key, (void *) sp);
		repeat = false;
		for (j = 0; j < m; j++)
		{
			const WSpan *s = &sp[bykey[j]];

			WASTE_CFI(j);
			if (j > 0 && waste_streq(&sp[bykey[j - 1]], s, WASTE_S_NAME) &&
				waste_streq(&sp[bykey[j - 1]], s, WASTE_S_ARGS))
				repeat = true;
			else
				best[++g] = -1;
			slot[bykey[j]] = g;
			nested[bykey[j]] = false;
		}
		hsize = g + 1;
	}
	*nslots = hsize;
	return repeat;
}
