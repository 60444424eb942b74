/*-------------------------------------------------------------------------
 *
 * agg_context.h
 *	  The context growth state of one trace: its calls (call order, input
 *	  tokens, output tokens), kept whole so that the result does not depend
 *	  on the order rows arrive in and states merge by concatenation.
 *
 * Definitions (turns are the calls sorted by call order, k = 1..n):
 *	  carried_1 = 0,
 *	  carried_k = min(input_k, input_{k-1} + output_{k-1})	for k >= 2,
 *	  fresh_k = input_k - carried_k.
 * An agent loop re-sends its previous prompt and the reply it got, so at
 * most input_{k-1} + output_{k-1} tokens of turn k's input are history; the
 * rest (tool results, a new user message) is fresh.  When history was cut
 * or summarised, input_k is smaller and the whole of it counts as carried.
 *
 * Growth exponent: the least-squares slope of ln C_k against ln k, where
 * C_k = input_1 + ... + input_k is the cumulative input after k turns,
 * over the turns with C_k > 0 (at least two of them, else NULL).  It is 1
 * when every turn sends the same input, and tends to 2 when the input grows
 * by a constant amount per turn (the quadratic bill of a growing context).
 *
 * Savings at window W: if the history carried into each turn were capped
 * at W tokens, turn k would send fresh_k + min(carried_k, W); the saving is
 * the sum of max(0, carried_k - W).
 *
 * The state stores 12 bytes per call (the whole sequence is needed for the
 * savings at any window); it is meant per trace.  While aggregating, a
 * small state is kept packed, in 3 to 12 bytes a call (see agg_context.c);
 * every value that leaves context_growth or merge is in the form below
 * (an aggregate a superuser defines over the transition function without
 * the final one stores the packed form, which every function reads).
 * Token counts of one call are at most CONTEXT_MAX_TOKENS; larger ones are
 * rejected as bad input.  The aggregate's result is sorted by call order
 * and duplicate call orders are rejected.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_AGG_CONTEXT_H
#define TOKACCT_AGG_CONTEXT_H

/* version tag of the binary form */
#define CONTEXT_VERSION		1
/* largest number of calls in one state (keeps it under 1 GB) */
#define CONTEXT_MAX_CALLS	40000000

/* room of a new state, in calls */
#define CONTEXT_INITIAL_CALLS	16

/* state flags */
#define CONTEXT_SORTED		0x1		/* calls sorted by seq, no duplicates */
#define CONTEXT_PACKED		0x2		/* a packed working state (agg_context.c) */

/* largest token count of one call (no model takes a 4-billion-token prompt) */
#define CONTEXT_MAX_TOKENS	((int64) PG_UINT32_MAX)

typedef struct ContextCall
{
	int32		seq;			/* call order within the trace */
	uint32		input;			/* input tokens */
	uint32		output;			/* output tokens */
} ContextCall;

typedef struct ContextState
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int32		flags;			/* CONTEXT_SORTED (a packed working state:
								 * also CONTEXT_PACKED, see agg_context.c) */
	int32		n;				/* calls held */
	int32		cap;			/* calls room for (n <= cap) */
	ContextCall calls[FLEXIBLE_ARRAY_MEMBER];
} ContextState;

#define CONTEXT_HDRSZ		offsetof(ContextState, calls)
#define CONTEXT_SIZE(cap)	(CONTEXT_HDRSZ + sizeof(ContextCall) * (Size) (cap))

#endif							/* TOKACCT_AGG_CONTEXT_H */
