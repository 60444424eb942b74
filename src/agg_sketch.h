/*-------------------------------------------------------------------------
 *
 * agg_sketch.h
 *	  The cost quantile sketch: a mergeable, DDSketch-style summary of a
 *	  distribution of costs with a relative-error guarantee.
 *
 * A value x with |x| >= SKETCH_MIN_MAGNITUDE falls in the bucket of key
 * k = ceil(35 log2|x|), which covers (gamma^(k-1), gamma^k] with
 * gamma = 2^(1/35) = 1.0200016; the bucket is represented by
 * 2 gamma^k / (gamma + 1), within relative alpha = (gamma - 1)/(gamma + 1)
 * = 0.0099018 of every value in it (the documented bound is 1%).  With a
 * whole number of buckets per power of two, the key is read from the
 * double's exponent and a 1024-entry table over the top mantissa bits plus
 * one comparison with a bucket edge: no log() per row, and the same key on
 * every machine (the edges are constants, not computed by the C library).
 * Positive and negative values have their own buckets (keyed by |x|);
 * values with |x| < SKETCH_MIN_MAGNITUDE (below one picodollar, so only 0
 * for money input) are zero: counted in the zero bucket, and 0 for the min
 * and the max (so a state holds no -0 and no subnormal).
 *
 * The state is a flat varlena with two dense arrays of bucket counts (one
 * per sign) over contiguous key ranges.  Both ranges are bounded by the
 * value range [SKETCH_MIN_MAGNITUDE, SKETCH_MAX_MAGNITUDE], so a state never
 * exceeds about 50 kB whatever the data.  Counts are integers, so merging
 * states is exact and independent of order.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_AGG_SKETCH_H
#define TOKACCT_AGG_SKETCH_H

/* buckets per power of two: gamma = 2^(1/SKETCH_PER_OCTAVE) */
#define SKETCH_PER_OCTAVE		35
/* gamma, and the relative accuracy (gamma - 1) / (gamma + 1) */
#define SKETCH_GAMMA			1.0200016094211992
#define SKETCH_ALPHA			0.009901778953003098
/* the bound documented to users (alpha rounded up) */
#define SKETCH_BOUND			0.01
/* magnitudes below this count as zero; above the max are rejected */
#define SKETCH_MIN_MAGNITUDE	1e-12
#define SKETCH_MAX_MAGNITUDE	1e15
/* bounds on keys: key(1e-12) = -1395, key(1e15) = 1745, with a margin */
#define SKETCH_KEY_MIN			(-1410)
#define SKETCH_KEY_MAX			1760
#define SKETCH_KEY_SPAN			(SKETCH_KEY_MAX - SKETCH_KEY_MIN + 1)
/* version tag of the text and binary forms */
#define SKETCH_VERSION			1

typedef struct SketchState
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int32		version;		/* SKETCH_VERSION */
	int32		pos_lo;			/* key of bins[0] */
	int32		pos_n;			/* number of positive bins */
	int32		neg_lo;			/* key of bins[pos_n] */
	int32		neg_n;			/* number of negative bins */
	int64		count;			/* all values, zero bucket included */
	int64		zero;			/* values with |x| < SKETCH_MIN_MAGNITUDE */
	float8		min;			/* exact smallest value (0 if count = 0) */
	float8		max;			/* exact largest value (0 if count = 0) */
	uint64		bins[FLEXIBLE_ARRAY_MEMBER];	/* positive bins, then negative */
} SketchState;

#define SKETCH_HDRSZ		offsetof(SketchState, bins)
#define SKETCH_SIZE(npos, nneg)	(SKETCH_HDRSZ + sizeof(uint64) * ((npos) + (nneg)))

#endif							/* TOKACCT_AGG_SKETCH_H */
