/*-------------------------------------------------------------------------
 *
 * frontier_hull.c
 *	  The efficient frontier of a set of options, and its exact comparisons.
 *
 * frontier_hull() sorts options by cost and marks the upper concave hull,
 * from the cheapest option up to the cheapest option of highest value:
 *
 *	- equal cost, different values: the higher value wins, the lower is
 *	  dominated by it;
 *	- identical points: the option whose name sorts first (bytewise) is on
 *	  the frontier and stands for the others, which are listed as dominated
 *	  by it;
 *	- a point exactly on the segment between two frontier points is ON the
 *	  frontier (a weakly concave chain), so a plan can use it alone instead
 *	  of a mix of its neighbours; the marginal utility is then equal on both
 *	  of its sides;
 *	- options more expensive than the highest-value option are dominated by
 *	  it (another dollar there buys nothing);
 *	- values may be negative; the frontier still starts at the cheapest
 *	  option (there is no implicit "do nothing" option).
 *
 * A dominated option names the last frontier option costing no more than it
 * when that option gives at least its value; otherwise it lies under the
 * segment between that option and the next one, and names the pair (a mix
 * of the two gives more value for the same cost).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "frontier_hull.h"
#include "money.h"

int
frontier_cmp_products(uint128 a, uint128 b, uint128 c, uint128 d)
{
	uint128		h1,
				l1,
				h2,
				l2;

	money_mul256(a, b, &h1, &l1);
	money_mul256(c, d, &h2, &l2);
	if (h1 != h2)
		return h1 < h2 ? -1 : 1;
	if (l1 != l2)
		return l1 < l2 ? -1 : 1;
	return 0;
}

int
frontier_name_cmp(const char *a, int alen, const char *b, int blen)
{
	int			r = memcmp(a, b, Min(alen, blen));

	if (r != 0)
		return r;
	return (alen > blen) - (alen < blen);
}

double
frontier_slope(int128 dv, int128 dc)
{
	return (double) dv / (double) dc;
}

/* qsort order: cost ascending, value descending, name. */
static int
frontier_point_cmp(const void *x, const void *y)
{
	const FrontierPoint *a = x;
	const FrontierPoint *b = y;

	if (a->cost != b->cost)
		return a->cost < b->cost ? -1 : 1;
	if (a->value != b->value)
		return a->value > b->value ? -1 : 1;
	return frontier_name_cmp(a->name, a->namelen, b->name, b->namelen);
}

/*
 * Is b strictly below the line from a to c (a, b, c in increasing cost and
 * value)?  Then b leaves the hull.  Collinear points stay.
 */
static bool
frontier_below(const FrontierPoint *a, const FrontierPoint *b,
			   const FrontierPoint *c)
{
	/* slope(a,b) < slope(a,c)  <=>  (vb-va)(cc-ca) < (vc-va)(cb-ca) */
	uint128		dvb = (uint128) ((int128) b->value - a->value);
	uint128		dcb = (uint128) ((int128) b->cost - a->cost);
	uint128		dvc = (uint128) ((int128) c->value - a->value);
	uint128		dcc = (uint128) ((int128) c->cost - a->cost);

	return frontier_cmp_products(dvb, dcc, dvc, dcb) < 0;
}

void
frontier_hull(FrontierPoint *pts, int n)
{
	int		   *stack;
	int			top = 0;
	int			i,
				k;

	if (n == 0)
		return;
	qsort(pts, n, sizeof(FrontierPoint), frontier_point_cmp);
	stack = palloc(sizeof(int) * n);

	/*
	 * Candidates beat every earlier point on value: they rise strictly in
	 * cost and value.  The others are dominated by an earlier point.
	 */
	for (i = 0; i < n; i++)
	{
		pts[i].on_frontier = false;
		pts[i].rank = 0;
		pts[i].prev = -1;
		pts[i].dom1 = -1;
		pts[i].dom2 = -1;
		if (top > 0 && pts[i].value <= pts[stack[top - 1]].value)
			continue;
		while (top >= 2 && frontier_below(&pts[stack[top - 2]],
										  &pts[stack[top - 1]], &pts[i]))
			top--;
		stack[top++] = i;
	}
	for (k = 0; k < top; k++)
	{
		pts[stack[k]].on_frontier = true;
		pts[stack[k]].rank = k + 1;
		pts[stack[k]].prev = k > 0 ? stack[k - 1] : -1;
	}

	/* name what dominates each option off the frontier */
	k = 0;						/* last frontier point seen, in stack order */
	for (i = 0; i < n; i++)
	{
		int			left;

		while (k + 1 < top && stack[k + 1] <= i)
			k++;
		if (pts[i].on_frontier)
			continue;
		left = stack[k];		/* last frontier point costing no more */
		Assert(pts[left].cost <= pts[i].cost);
		if (pts[left].value >= pts[i].value)
			pts[i].dom1 = left;
		else
		{
			Assert(k + 1 < top);
			pts[i].dom1 = left;
			pts[i].dom2 = stack[k + 1];
		}
	}
	pfree(stack);
}
