/*-------------------------------------------------------------------------
 *
 * agg_outcome.h
 *	  The state of tokacct.cost_per_outcome: counts and exact money totals
 *	  over item rows (cost, solved, human fix cost).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_AGG_OUTCOME_H
#define TOKACCT_AGG_OUTCOME_H

#define OUTCOME_TYPE_NAME "tokacct.outcome_state"
/* first byte of the binary form */
#define OUTCOME_BINARY_VERSION 1

/*
 * A varlena of fixed size.  Money in units of 1e-12 (int128 is aligned to
 * MAXALIGN by c.h, so the struct has no hidden padding on 64-bit builds).
 */
typedef struct OutcomeState
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int32		pad;			/* always zero */
	int64		items;			/* rows aggregated */
	int64		solved;			/* rows with solved = true */
	int64		fixed;			/* rows with a human fix cost above zero */
	int128		cost;			/* sum of cost */
	int128		fix_cost;		/* sum of human fix cost */
} OutcomeState;

#endif							/* TOKACCT_AGG_OUTCOME_H */
