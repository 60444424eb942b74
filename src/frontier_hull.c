/*-------------------------------------------------------------------------
 *
 * frontier_hull.c
 *	  The efficient frontier of a set of options, and exact integer helpers.
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

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "frontier_hull.h"
#include "money.h"

static void
frontier_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("numeric value out of range"),
			 errdetail("An allocation or frontier total exceeds what tokacct keeps exactly.")));
}

int128
frontier_add128(int128 a, int128 b)
{
	int128		r;

	if (__builtin_add_overflow(a, b, &r))
		frontier_out_of_range();
	return r;
}

int128
frontier_mul128(int128 a, int128 b)
{
	int128		r;

	if (__builtin_mul_overflow(a, b, &r))
		frontier_out_of_range();
	return r;
}

/* 128 x 128 -> 256 bit unsigned product, as (hi, lo). */
static void
frontier_mul256(uint128 a, uint128 b, uint128 *hi, uint128 *lo)
{
	uint64		a0 = (uint64) a,
				a1 = (uint64) (a >> 64),
				b0 = (uint64) b,
				b1 = (uint64) (b >> 64);
	uint128		p00 = (uint128) a0 * b0,
				p01 = (uint128) a0 * b1,
				p10 = (uint128) a1 * b0,
				p11 = (uint128) a1 * b1;
	uint128		mid = (p00 >> 64) + (uint64) p01 + (uint64) p10;

	*lo = (mid << 64) | (uint64) p00;
	*hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
}

int
frontier_cmp_products(uint128 a, uint128 b, uint128 c, uint128 d)
{
	uint128		h1,
				l1,
				h2,
				l2;

	frontier_mul256(a, b, &h1, &l1);
	frontier_mul256(c, d, &h2, &l2);
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

int128
frontier_div_round(int128 num, int64 den)
{
	int128		q = num / den;
	int128		r = num % den;

	if (r < 0)
		r = -r;
	if (2 * r >= den)
		q += (num < 0) ? -1 : 1;
	return q;
}

double
frontier_slope(int128 dv, int128 dc)
{
	return (double) dv / (double) dc;
}

/*
 * Parse [+-]digits[.digits] into int128 units of 10^-scale.  Decimals past
 * "scale" must be zeros.  Returns false on bad syntax, too many decimals or
 * overflow.
 */
static bool
frontier_parse_scaled(const char *s, int len, int scale, int128 *out)
{
	const char *end = s + len;
	bool		neg = false;
	uint128		acc = 0;
	uint128		limit = ((uint128) 1) << 127;
	int			ndig = 0;
	int			dec = -1;		/* decimals read, -1 before the point */

	if (s < end && (*s == '-' || *s == '+'))
		neg = (*s++ == '-');
	for (; s < end; s++)
	{
		if (*s == '.' && dec < 0)
		{
			dec = 0;
			continue;
		}
		if (*s < '0' || *s > '9')
			return false;
		ndig++;
		if (dec >= 0)
		{
			if (dec >= scale)
			{
				if (*s != '0')
					return false;
				continue;
			}
			dec++;
		}
		if (acc > (limit - (*s - '0')) / 10)
			return false;
		acc = acc * 10 + (*s - '0');
	}
	if (ndig == 0)
		return false;
	for (dec = Max(dec, 0); dec < scale; dec++)
	{
		if (acc > limit / 10)
			return false;
		acc *= 10;
	}
	if (!neg && acc == limit)
		return false;
	*out = neg ? (int128) (-acc) : (int128) acc;
	return true;
}

bool
frontier_parse_units(const char *s, int len, int128 *out)
{
	return frontier_parse_scaled(s, len, 12, out);
}

int128
frontier_muldiv_round(int128 a, int128 b, int128 c)
{
	Datum		prod,
				cn,
				q,
				r2;
	char	   *s;
	int128		v;

	Assert(c > 0);
	cn = NumericGetDatum(money_int128_numeric(c));
	prod = DirectFunctionCall2(numeric_mul, NumericGetDatum(money_int128_numeric(a)),
							   NumericGetDatum(money_int128_numeric(b)));
	q = DirectFunctionCall2(numeric_div_trunc, prod, cn);
	r2 = DirectFunctionCall1(numeric_abs,
							 DirectFunctionCall2(numeric_mod, prod, cn));
	r2 = DirectFunctionCall2(numeric_add, r2, r2);
	s = DatumGetCString(DirectFunctionCall1(numeric_out, q));
	if (!frontier_parse_scaled(s, strlen(s), 0, &v))
		frontier_out_of_range();
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, r2, cn)) >= 0)
		v = frontier_add128(v, ((a < 0) != (b < 0)) ? -1 : 1);
	return v;
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
