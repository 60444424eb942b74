/*-------------------------------------------------------------------------
 *
 * frontier_hull.h
 *	  The efficient frontier of a set of options (cost, value), computed in
 *	  frontier_hull.c, and the exact comparisons the allocation shares
 *	  with it; the limits on options that frontier states and allocations
 *	  both accept.
 *
 * A frontier is computed over points (mean cost per item, mean value per
 * item), both exact integer money units (see money.h).  The frontier is the
 * upper concave hull from the cheapest option up to the cheapest option of
 * highest value; every other option is dominated, by one frontier option or
 * by a mix of two neighbouring ones.  All comparisons are exact: slopes are
 * compared by cross multiplication in 256-bit integers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_FRONTIER_HULL_H
#define TOKACCT_FRONTIER_HULL_H

/* limits on what a frontier state or an allocation accepts */
#define FRONTIER_MAX_OPTIONS	1000
#define FRONTIER_MAX_NAME		1000

/* One option as a point, with the frontier's verdict on it. */
typedef struct FrontierPoint
{
	const char *name;			/* not NUL-terminated */
	int			namelen;
	int64		items;			/* items observed (frontier) or volume */
	int64		cost;			/* mean cost per item, money units */
	int64		value;			/* mean value per item, money units */
	int			tag;			/* caller's index, carried through sorting */
	/* filled by frontier_hull */
	bool		on_frontier;
	int			rank;			/* 1.. along the frontier, 0 when off it */
	int			prev;			/* previous frontier point, or -1 */
	int			dom1;			/* dominating option, or -1 */
	int			dom2;			/* second of a dominating pair, or -1 */
} FrontierPoint;

/*
 * Sort points by (cost ascending, value descending, name) and mark the
 * frontier.  Indices in prev/dom1/dom2 refer to the sorted array.
 */
extern void frontier_hull(FrontierPoint *pts, int n);

/* Compare option names bytewise (shorter first on a common prefix). */
extern int	frontier_name_cmp(const char *a, int alen, const char *b, int blen);

/* Sign of a*b - c*d for non-negative a, b, c, d (exact). */
extern int	frontier_cmp_products(uint128 a, uint128 b, uint128 c, uint128 d);

/* Slope dv/dc as float8. */
extern double frontier_slope(int128 dv, int128 dc);

#endif							/* TOKACCT_FRONTIER_HULL_H */
