/*-------------------------------------------------------------------------
 *
 * waste_classify.h
 *	  The classifier's decoded and classified trace (WTrace) and its working
 *	  area (WasteWork), shared by its passes (waste_classify.c), the rules
 *	  of the waste classes (waste_rules.c) and the SQL accessors
 *	  (waste_accessors.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_WASTE_CLASSIFY_H
#define TOKACCT_WASTE_CLASSIFY_H

#include "waste_index.h"

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

/* waste_classify.c: the passes */
extern int	waste_cmp_time(const void *pa, const void *pb, void *arg);
extern void waste_analyse(const WasteState *st, int rule, int loop_min, WTrace *t, WasteWork *w);

/* waste_rules.c: the marks of step 5 and the induced cost (step 7) */
extern void waste_mark_duplicates(const WTrace *t, const int32 *fa, const int32 *ab, int32 *dp,
								  WasteWork *w);
extern void waste_mark_siblings(WTrace *t, WasteWork *w);
extern void waste_induce(WTrace *t, WasteWork *w);

#endif							/* TOKACCT_WASTE_CLASSIFY_H */
