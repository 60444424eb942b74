/*-------------------------------------------------------------------------
 *
 * agg_sketch_diff.c
 *	  Taking the costs of one cost sketch out of another.
 *
 * A rollup refresh replaces the contribution of each trace it recomputes.
 * Sums come out of a rollup row by subtraction; a sketch holds bucket
 * counts, which subtract as well, and the exact min and max, which do not
 * in general: when the costs taken out hold the row's min, the new min is
 * somewhere in the rest, which the row does not keep.  So the difference
 * is known exactly only when the costs taken out lie strictly inside the
 * row's [min, max]: then the row's min and max are values that stay.
 *
 * sketch_subtract(a, b) is that difference when it is known exactly (b's
 * buckets within a's, b's min above a's and b's max below a's), and NULL
 * when it is not, in which case the caller merges the remaining parts
 * again.  The result is trimmed to its occupied buckets, so it is the very
 * state a sketch of the remaining costs would be.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "agg_sketch.h"

PG_FUNCTION_INFO_V1(sketch_subtract);

/*
 * Take the bins of b (n_b of them, keys from lo_b) out of the n_a bins of a
 * (keys from lo_a), in place; false when some bin of b is not within a.
 */
static bool
sketch_take_bins(uint64 *a, int32 lo_a, int32 n_a, const uint64 *b, int32 lo_b, int32 n_b)
{
	for (int32 i = 0; i < n_b; i++)
	{
		int32		j = lo_b + i - lo_a;

		if (b[i] == 0)
			continue;
		if (j < 0 || j >= n_a || a[j] < b[i])
			return false;
		a[j] -= b[i];
	}
	return true;
}

/* First occupied bin and the number from it to the last; 0 when none. */
static int32
sketch_span(const uint64 *bins, int32 n, int32 *first)
{
	int32		i,
				j;

	for (i = 0; i < n && bins[i] == 0; i++)
		;
	if (i == n)
	{
		*first = 0;
		return 0;
	}
	for (j = n - 1; bins[j] == 0; j--)
		;
	*first = i;
	return j - i + 1;
}

Datum
sketch_subtract(PG_FUNCTION_ARGS)
{
	SketchState *a = (SketchState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	SketchState *b = (SketchState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	SketchState *d;
	SketchState *r;
	int32		pf,
				pn,
				nf,
				nn;
	Size		sz;

	if (b->count == 0)
		PG_RETURN_POINTER(a);
	/* the min and the max of a must be values that stay */
	if (b->count >= a->count || !(b->min > a->min) || !(b->max < a->max) ||
		b->zero > a->zero)
		PG_RETURN_NULL();

	d = (SketchState *) palloc(VARSIZE(a));
	memcpy(d, a, VARSIZE(a));
	if (!sketch_take_bins(d->bins, d->pos_lo, d->pos_n, b->bins, b->pos_lo, b->pos_n) ||
		!sketch_take_bins(d->bins + d->pos_n, d->neg_lo, d->neg_n,
						  b->bins + b->pos_n, b->neg_lo, b->neg_n))
		PG_RETURN_NULL();

	/* trimmed to the occupied bins, as a sketch of the rest would be */
	pn = sketch_span(d->bins, d->pos_n, &pf);
	nn = sketch_span(d->bins + d->pos_n, d->neg_n, &nf);
	sz = SKETCH_SIZE(pn, nn);
	r = (SketchState *) palloc(sz);
	SET_VARSIZE(r, sz);
	r->version = a->version;
	r->pos_lo = pn > 0 ? d->pos_lo + pf : 0;
	r->pos_n = pn;
	r->neg_lo = nn > 0 ? d->neg_lo + nf : 0;
	r->neg_n = nn;
	r->count = a->count - b->count;
	r->zero = a->zero - b->zero;
	r->min = a->min;
	r->max = a->max;
	memcpy(r->bins, d->bins + pf, sizeof(uint64) * pn);
	memcpy(r->bins + pn, d->bins + d->pos_n + nf, sizeof(uint64) * nn);
	pfree(d);
	PG_RETURN_POINTER(r);
}
