/*-------------------------------------------------------------------------
 *
 * waste_index.h
 *	  The decoded span of the waste classifier, and the indexes over span
 *	  ids and tool keys (src/waste_index.c).
 *
 * The per-span operations on the id table (adding a span, looking up a
 * parent id) are inline here: they run once per span inside the
 * classifier's passes.  The rest (the probe budget, the sorted index that
 * takes over from a table past its budget, the tool-key index and the
 * hash key) is in waste_index.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_WASTE_INDEX_H
#define TOKACCT_WASTE_INDEX_H

#include "waste.h"

/* one span, decoded from the state */
typedef struct WSpan
{
	const char *s[WASTE_NSTR];	/* strings, pointing into the state */
	uint16		len[WASTE_NSTR];
	int64		cost;			/* reported cost */
	int64		start;
	int32		attempt;
	uint8		status;
	uint8		flags;
	uint8		cls;			/* WASTE_C_* */
	bool		tool;			/* a tool call with a known argument hash */
	int32		parent;			/* index of the parent, -1 for a root */
	int32		nkids;
	int32		kid0;			/* first child in WTrace.kids */
	int64		own;			/* own cost under the rule */
	int32		cause;			/* span that gave the class (-1: essential) */
	uint32		hid;			/* hash of the span id */
} WSpan;

/* comparisons made by the sorts, to check for interrupts every 4096 */
extern uint32 waste_cmp_ticks;

#define WASTE_CMP_TICK() \
	do { \
		if ((++waste_cmp_ticks & 4095) == 0) \
			CHECK_FOR_INTERRUPTS(); \
	} while (0)

/* a lookup in the id table that went over the table's probe budget */
#define WASTE_OVER_BUDGET	(-2)

extern void waste_hash_init(void);
extern int64 waste_probe_budget(int64 ops);
extern void waste_duplicate_error(const WSpan *s) pg_attribute_noreturn();

/*
 * Set just before the classifier refuses a trace for its shape (a span id
 * twice, parent ids in a cycle), so that waste_summary_or_null can tell
 * that refusal from the other data errors, which it raises again.
 */
extern bool waste_shape_refused;
extern void waste_sort_ids(const WSpan *sp, int32 n, int32 *byid);
extern int32 waste_find_sorted(const WSpan *sp, const int32 *byid, int32 n,
							   const char *id, int len);
extern bool waste_index_keys(const WSpan *sp, int32 n, int32 ntool, int32 *rep,
							 int32 *best, int32 *slot, bool *nested, uint32 *hv,
							 int32 *bykey, int32 *nslots);

static inline bool
waste_streq(const WSpan *a, const WSpan *b, int slot)
{
	return a->len[slot] == b->len[slot] &&
		waste_memeq(a->s[slot], b->s[slot], a->len[slot]);
}

static inline char *
waste_id(const WSpan *s)
{
	return pnstrdup(s->s[WASTE_S_ID], s->len[WASTE_S_ID]);
}

/*
 * Add span k (its hid set) to the id table of hsize slots (span index + 1,
 * 0 for empty), spending *budget on probe steps past the home slot.  A
 * repeated id is an error.  Returns false, leaving the span out, when the
 * budget is overspent: the table is then abandoned for the sorted index.
 */
static inline bool
waste_id_add(const WSpan *sp, int32 *htab, int32 hsize, int32 k, int64 *budget)
{
	const WSpan *s = &sp[k];
	uint32		h;

	for (h = s->hid & (hsize - 1); htab[h] != 0; h = (h + 1) & (hsize - 1))
	{
		if (sp[htab[h] - 1].hid == s->hid &&
			waste_streq(&sp[htab[h] - 1], s, WASTE_S_ID))
			waste_duplicate_error(s);
		if (--*budget < 0)
			return false;
	}
	htab[h] = k + 1;
	return true;
}

/*
 * The span with id (id, len) in the id table, or -1; WASTE_OVER_BUDGET
 * when the lookup overspends *budget (the sorted index must answer).
 */
static inline int32
waste_id_find(const WSpan *sp, const int32 *htab, int32 hsize, const char *id, int len,
			  int64 *budget)
{
	uint32		hp = waste_hash(id, len);
	uint32		h = hp & (hsize - 1);

	while (htab[h] != 0)
	{
		const WSpan *c = &sp[htab[h] - 1];

		if (c->hid == hp && c->len[WASTE_S_ID] == len &&
			waste_memeq(c->s[WASTE_S_ID], id, c->len[WASTE_S_ID]))
			return htab[h] - 1;
		h = (h + 1) & (hsize - 1);
		if (--*budget < 0)
			return WASTE_OVER_BUDGET;
	}
	return -1;
}

#endif							/* TOKACCT_WASTE_INDEX_H */
