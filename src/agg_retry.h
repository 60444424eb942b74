/*-------------------------------------------------------------------------
 *
 * agg_retry.h
 *	  The state of tokacct.retry_economics: per attempt number, the count of
 *	  attempts and successes and the exact cost of all and of failed attempts.
 *
 * Attempt numbers 1..RETRY_BUCKETS-1 have a bucket each; the last bucket
 * holds attempt RETRY_BUCKETS "and beyond".  The largest attempt number seen
 * is kept, so a projection can tell whether the last bucket is exact.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_AGG_RETRY_H
#define TOKACCT_AGG_RETRY_H

#define RETRY_TYPE_NAME "tokacct.retry_state"
#define RETRY_BUCKETS 32
/* bytes of a working state when it first grows (room for one bucket) */
#define RETRY_GROW_FIRST_BYTES 64
/* first byte of the binary form */
#define RETRY_BINARY_VERSION 1

typedef struct RetryBucket
{
	int64		attempts;		/* attempt rows with this attempt number */
	int64		successes;		/* of which succeeded */
	int128		cost;			/* cost of all of them, money units */
	int128		failed_cost;	/* cost of those that failed */
} RetryBucket;

/*
 * A varlena holding nbuckets buckets, bucket i for attempt number i + 1:
 * the dense form, which printed and sent states always have (text and
 * binary output), and stored states mostly.  The working state inside an
 * aggregate grows on demand (1, 2, 5, 10, 21, 32 buckets: what fills 64,
 * 128, 256, ... bytes), so a group whose items take one attempt needs 64
 * bytes; stored states hold buckets up to the last non-empty one.
 *
 * A state whose attempt numbers have gaps, such as an item with rows
 * numbered 2 and 12, would need a bucket for every number up to the
 * highest (592 bytes for 12); it takes the sparse form instead, with
 * nsparse > 0: nbuckets entries of room, the first nsparse of them used,
 * each naming its attempt number (see retry_bucket_for in agg_retry.c).
 * Working states (transition and combine states, also as they cross to the
 * leader) take it when a group meets a number it has no room for and it is
 * the smaller; retry_economics and merge hand out whichever form is smaller
 * (ties to dense), the sparse one trimmed (nbuckets = nsparse) and sorted
 * by number, so stored states may have it too.  Every reader
 * goes through retry_arg, which turns a sparse state into the dense one,
 * and the output functions write the dense form, so the text and binary
 * forms do not depend on which one a value has.
 */
typedef struct RetryState
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int32		nbuckets;		/* buckets (or sparse entries) of room, 0..RETRY_BUCKETS */
	int32		max_attempt;	/* largest attempt number seen, 0 if none */
	int32		nsparse;		/* 0: dense; else sparse entries used */
	RetryBucket b[FLEXIBLE_ARRAY_MEMBER];
} RetryState;

#define RETRY_STATE_SIZE(n) (offsetof(RetryState, b) + (n) * sizeof(RetryBucket))

/* one entry of a sparse working state: a bucket and its attempt number */
typedef struct RetryEntry
{
	int32		attempt;		/* 1..RETRY_BUCKETS, as the dense index + 1 */
	RetryBucket b;
} RetryEntry;

#define RETRY_ENTRIES(st) ((RetryEntry *) (st)->b)
#define RETRY_SPARSE_SIZE(n) (offsetof(RetryState, b) + (n) * sizeof(RetryEntry))

#endif							/* TOKACCT_AGG_RETRY_H */
