/*-------------------------------------------------------------------------
 *
 * agg_retry.c
 *	  tokacct.retry_economics: the aggregate over attempt rows (attempt
 *	  number, succeeded, cost), its concrete state type tokacct.retry_state,
 *	  and the functions that read it: retry_report, retry_attempts and
 *	  retry_projection.
 *
 * The state keeps, per attempt number, the attempts, the successes, and the
 * exact cost of all attempts and of the failed ones (see agg_retry.h).  A
 * row only increments fields of the state in place; the state grows when a
 * group meets an attempt number it has no bucket for yet (dense, or sparse
 * when its numbers have gaps: see retry_bucket_for), and the final
 * function trims it to the last used bucket, which is also what the output
 * functions write.  The text form is
 *
 *		max_attempt=3 1:10,7,12.5,3.2 2:3,2,4.1,1 3:1,1,2,0
 *
 * one "k:attempts,successes,cost,failed_cost" group per attempt number k
 * from 1 up to the last used one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "aggio.h"
#include "agg_retry.h"
#include "money.h"

PG_FUNCTION_INFO_V1(retry_state_in);
PG_FUNCTION_INFO_V1(retry_state_out);
PG_FUNCTION_INFO_V1(retry_state_recv);
PG_FUNCTION_INFO_V1(retry_state_send);
PG_FUNCTION_INFO_V1(retry_accum);
PG_FUNCTION_INFO_V1(retry_combine);
PG_FUNCTION_INFO_V1(retry_subtract);
PG_FUNCTION_INFO_V1(retry_final);
PG_FUNCTION_INFO_V1(retry_report);
PG_FUNCTION_INFO_V1(retry_attempts);
PG_FUNCTION_INFO_V1(retry_projection);
PG_FUNCTION_INFO_V1(retry_cost_per_solved);

/* A zeroed state with n buckets in cxt. */
static RetryState *
retry_new(MemoryContext cxt, int n)
{
	RetryState *st = MemoryContextAllocZero(cxt, RETRY_STATE_SIZE(n));

	SET_VARSIZE(st, RETRY_STATE_SIZE(n));
	st->nbuckets = n;
	return st;
}

/*
 * The bytes of a working state with room for need buckets (dense) or need
 * entries (sparse): the powers of two the allocator hands out, from 64
 * bytes.  Dense rooms hold 1, 2, 5, 10, 21, then RETRY_BUCKETS buckets, so
 * a group whose items take one attempt keeps a state of 64 bytes, not the
 * 256 bytes room for four buckets takes; sparse rooms hold 2, 4, 8, 18
 * entries.
 */
static Size
retry_room_bytes(int need, bool sparse)
{
	Size		each = sparse ? sizeof(RetryEntry) : sizeof(RetryBucket);
	Size		bytes = RETRY_GROW_FIRST_BYTES;

	if (!sparse)
		need = Min(need, RETRY_BUCKETS);
	while ((bytes - offsetof(RetryState, b)) / each < (Size) need)
		bytes *= 2;
	return bytes;
}

/* How many buckets or entries a room of bytes holds. */
static int
retry_room_fits(Size bytes, bool sparse)
{
	Size		each = sparse ? sizeof(RetryEntry) : sizeof(RetryBucket);
	int			n = (int) ((bytes - offsetof(RetryState, b)) / each);

	return sparse ? n : Min(n, RETRY_BUCKETS);
}

/*
 * A dense state of n buckets holding the rows of src (of either form, with
 * no attempt number above n), in the current memory context.
 */
static RetryState *
retry_dense_copy(const RetryState *src, int n)
{
	RetryState *st = retry_new(CurrentMemoryContext, n);

	st->max_attempt = src->max_attempt;
	if (src->nsparse == 0)
		memcpy(st->b, src->b, src->nbuckets * sizeof(RetryBucket));
	else
		for (int i = 0; i < src->nsparse; i++)
			st->b[RETRY_ENTRIES(src)[i].attempt - 1] = RETRY_ENTRIES(src)[i].b;
	return st;
}

/*
 * A dense copy of src (of either form) with room for at least need
 * buckets, in the current memory context.  Inside an aggregate, returning
 * it makes nodeAgg copy it into the aggregate context and free the old
 * state; this happens only when a group meets a higher attempt number than
 * it has room for, at most a few times.
 */
static RetryState *
retry_to_dense(const RetryState *src, int need)
{
	if (src->nsparse == 0)
		need = Max(need, src->nbuckets);
	else
		for (int i = 0; i < src->nsparse; i++)
			need = Max(need, RETRY_ENTRIES(src)[i].attempt);
	return retry_dense_copy(src, retry_room_fits(retry_room_bytes(need, false), false));
}

/*
 * A sparse state with room for room entries holding the rows of src (of
 * either form, with at most room numbers that have rows), in the current
 * memory context: from a dense src, an entry per bucket with rows, in
 * ascending order.  Zeroed, so the padding after each number is too.
 */
static RetryState *
retry_sparse_copy(const RetryState *src, int room)
{
	RetryState *st = MemoryContextAllocZero(CurrentMemoryContext, RETRY_SPARSE_SIZE(room));
	RetryEntry *e = RETRY_ENTRIES(st);
	int			n = 0;

	SET_VARSIZE(st, RETRY_SPARSE_SIZE(room));
	st->nbuckets = room;
	st->max_attempt = src->max_attempt;
	if (src->nsparse == 0)
	{
		for (int i = 0; i < src->nbuckets; i++)
			if (src->b[i].attempts > 0)
			{
				Assert(n < room);
				e[n].attempt = i + 1;
				e[n++].b = src->b[i];
			}
	}
	else
	{
		Assert(src->nsparse <= room);
		memcpy(e, RETRY_ENTRIES(src), src->nsparse * sizeof(RetryEntry));
		n = src->nsparse;
	}
	st->nsparse = n;
	return st;
}

/*
 * A sparse copy of the working state src with room for need entries, more
 * than src has, in the current memory context (see retry_to_dense on
 * nodeAgg).  The caller adds an entry at once: a sparse state with none
 * would read as dense.
 */
static RetryState *
retry_to_sparse(const RetryState *src, int need)
{
	RetryState *st = retry_sparse_copy(src, retry_room_fits(retry_room_bytes(need, true), true));

	Assert(st->nsparse < st->nbuckets);
	return st;
}

/*
 * The bucket of attempt number k (1..RETRY_BUCKETS) in the working state
 * *pst, made if it has none.  When the state has no room for it, *pst is
 * replaced by a copy in the smaller of the two forms that holds it: dense
 * with a bucket for every number up to the highest, or sparse with an
 * entry for each number that has rows (ties go to dense, which readers
 * take as it is).  Attempts numbered 1, 2, 3, ... stay dense; an item with
 * rows 2 and 12 takes 128 bytes instead of the 1 kB of twelve buckets.
 */
static RetryBucket *
retry_bucket_for(RetryState **pst, int k)
{
	RetryState *st = *pst;
	int			used = 0;		/* numbers with rows */
	int			top = k;		/* the highest number, k included */

	if (st->nsparse == 0)
	{
		if (k <= st->nbuckets)
			return &st->b[k - 1];
		for (int i = 0; i < st->nbuckets; i++)
			if (st->b[i].attempts > 0)
				used++;
	}
	else
	{
		RetryEntry *e = RETRY_ENTRIES(st);

		for (int i = 0; i < st->nsparse; i++)
		{
			if (e[i].attempt == k)
				return &e[i].b;
			top = Max(top, e[i].attempt);
		}
		if (st->nsparse < st->nbuckets)
		{
			e[st->nsparse].attempt = k;
			return &e[st->nsparse++].b;
		}
		used = st->nsparse;
	}
	if (retry_room_bytes(top, false) <= retry_room_bytes(used + 1, true))
	{
		*pst = retry_to_dense(st, top);
		return &(*pst)->b[k - 1];
	}
	/* sparse, k's entry added here: a sparse state never has none */
	st = *pst = retry_to_sparse(st, used + 1);
	RETRY_ENTRIES(st)[st->nsparse].attempt = k;
	return &RETRY_ENTRIES(st)[st->nsparse++].b;
}

/* Number of buckets up to the last one with attempts. */
static int
retry_used(const RetryState *st)
{
	int			n = st->nbuckets;

	while (n > 0 && st->b[n - 1].attempts == 0)
		n--;
	return n;
}

/*
 * A sparse working state (see agg_retry.h) as the dense state of the same
 * rows, after checking it is whole: its entries within its room, each
 * numbered 1..RETRY_BUCKETS, no number twice.
 */
static RetryState *
retry_densify(const RetryState *st)
{
	int			top = 0;
	uint64		seen = 0;

	if (st->nbuckets < 1 || st->nbuckets > 2 * RETRY_BUCKETS ||
		st->nsparse < 1 || st->nsparse > st->nbuckets ||
		VARSIZE(st) != RETRY_SPARSE_SIZE(st->nbuckets))
		elog(ERROR, "sparse retry state of unexpected size %u", (unsigned) VARSIZE(st));
	for (int i = 0; i < st->nsparse; i++)
	{
		int			k = RETRY_ENTRIES(st)[i].attempt;

		if (k < 1 || k > RETRY_BUCKETS || (seen & (UINT64CONST(1) << k)))
			elog(ERROR, "sparse retry state with attempt number %d out of range or twice", k);
		seen |= UINT64CONST(1) << k;
		top = Max(top, k);
	}
	return retry_dense_copy(st, top);
}

/*
 * Detoast a state argument and check its size matches its bucket count;
 * a sparse working state comes back dense.
 */
static RetryState *
retry_arg(Datum d)
{
	RetryState *st = (RetryState *) PG_DETOAST_DATUM(d);

	if (st->nsparse != 0)
		return retry_densify(st);
	if (st->nbuckets < 0 || st->nbuckets > RETRY_BUCKETS ||
		VARSIZE(st) != RETRY_STATE_SIZE(st->nbuckets))
		elog(ERROR, "retry state of unexpected size %u", (unsigned) VARSIZE(st));
	return st;
}

/* Reject a state read from in that no set of attempt rows can produce. */
static void
retry_check(const RetryState *st, const AggioInput *in)
{
	int			used = retry_used(st);

	for (int i = 0; i < st->nbuckets; i++)
	{
		const RetryBucket *b = &st->b[i];

		if (b->attempts < 0 || b->successes < 0)
			aggio_bad(in, "Attempt %d has a negative count.", i + 1);
		if (b->successes > b->attempts)
			aggio_bad(in, "Attempt %d has more successes than attempts.", i + 1);
		if (b->cost < 0 || b->failed_cost < 0)
			aggio_bad(in, "Attempt %d has a negative cost.", i + 1);
		if (b->failed_cost > b->cost)
			aggio_bad(in, "Attempt %d has a failed cost above its cost.", i + 1);
		if (b->failed_cost > (b->attempts - b->successes) * MONEY_LIMIT ||
			b->cost - b->failed_cost > b->successes * MONEY_LIMIT)
			aggio_bad(in, "Attempt %d has a cost its rows cannot hold.", i + 1);
	}
	if (st->max_attempt < 0)
		aggio_bad(in, "max_attempt must not be negative.");
	if (used < RETRY_BUCKETS ? st->max_attempt != used : st->max_attempt < RETRY_BUCKETS)
		aggio_bad(in, "max_attempt %d does not match the last attempt with rows (%d).",
				  st->max_attempt, used);
}

/*
 * Raise an error unless the counts of st can come from items whose attempts
 * are numbered 1, 2, 3, ... and stop at the first success.  An item's
 * attempt k + 1 follows its failed attempt k, so below the last bucket
 * there are at most as many attempts k + 1 as failed attempts k; the last
 * bucket (32 and beyond) holds the attempts of items that failed attempt
 * 31, each of which succeeds at most once.  With these, every item count
 * a reader derives is at most the items (rows with attempt 1), and every
 * rate lies in [0, 1].
 *
 * The state keeps no item ids, so it cannot tell which rows break the rule
 * and leave them out: the readers that count items refuse the state instead
 * of reporting impossible rates.  A state that counts part of an item's
 * attempts (a time window that cuts them apart) is refused too, while the
 * merge of the states holding all of them reads fine.
 */
static void
retry_check_consistent(const RetryState *st)
{
	int			used = retry_used(st);

	for (int i = 1; i < used; i++)
	{
		const RetryBucket *prev = &st->b[i - 1];
		const RetryBucket *b = &st->b[i];
		int64		failed = prev->attempts - prev->successes;

		if (i < RETRY_BUCKETS - 1 && b->attempts > failed)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the attempt rows are inconsistent"),
					 errdetail("Rows with attempt number %d: " INT64_FORMAT "; failed rows with attempt number %d: " INT64_FORMAT ". "
							   "Each attempt after the first follows a failed attempt of the same item.",
							   i + 1, b->attempts, i, failed),
					 errhint("Give each item one row per attempt, numbered 1, 2, 3, ..., and none after its first success; "
							 "rows counted twice, or an item's rows split between states that are not merged, give such counts.")));
		if (i == RETRY_BUCKETS - 1 &&
			(b->successes > failed || (b->attempts > 0 && failed == 0)))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the attempt rows are inconsistent"),
					 errdetail("Rows with attempt numbers from %d on: " INT64_FORMAT ", of which " INT64_FORMAT " succeeded; failed rows with attempt number %d: " INT64_FORMAT ". "
							   "Each item that reaches attempt %d failed attempt %d, and succeeds at most once.",
							   i + 1, b->attempts, b->successes, i, failed, i + 1, i),
					 errhint("Give each item one row per attempt, numbered 1, 2, 3, ..., and none after its first success; "
							 "rows counted twice, or an item's rows split between states that are not merged, give such counts.")));
	}
}

/* Text input of a retry state. */
Datum
retry_state_in(PG_FUNCTION_ARGS)
{
	AggioInput	in;
	RetryState *st = retry_new(CurrentMemoryContext, RETRY_BUCKETS);
	int			n = 0;

	aggio_text_input(&in, RETRY_TYPE_NAME, PG_GETARG_CSTRING(0), false);
	aggio_expect(&in, "max_attempt=");
	st->max_attempt = (int32) aggio_parse_int(&in, "max_attempt", 0, PG_INT32_MAX);
	while (aggio_accept(&in, " "))
	{
		RetryBucket *b;

		if (n == RETRY_BUCKETS)
			aggio_bad(&in, "More than %d attempt groups.", RETRY_BUCKETS);
		if (aggio_parse_count(&in, "attempt") != n + 1)
			aggio_bad(&in, "Attempt groups must be numbered 1, 2, ... in order; expected %d.", n + 1);
		b = &st->b[n++];
		aggio_expect(&in, ":");
		b->attempts = aggio_parse_count(&in, "attempts");
		aggio_expect(&in, ",");
		b->successes = aggio_parse_count(&in, "successes");
		aggio_expect(&in, ",");
		b->cost = aggio_parse_money(&in, "cost");
		aggio_expect(&in, ",");
		b->failed_cost = aggio_parse_money(&in, "failed_cost");
	}
	aggio_expect_end(&in);
	st->nbuckets = n;
	SET_VARSIZE(st, RETRY_STATE_SIZE(n));
	retry_check(st, &in);
	PG_RETURN_POINTER(st);
}

/* Text output of a retry state. */
Datum
retry_state_out(PG_FUNCTION_ARGS)
{
	RetryState *st = retry_arg(PG_GETARG_DATUM(0));
	int			used = retry_used(st);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "max_attempt=%d", st->max_attempt);
	for (int i = 0; i < used; i++)
	{
		appendStringInfo(&buf, " %d:" INT64_FORMAT "," INT64_FORMAT ",",
						 i + 1, st->b[i].attempts, st->b[i].successes);
		aggio_append_money(&buf, st->b[i].cost);
		appendStringInfoChar(&buf, ',');
		aggio_append_money(&buf, st->b[i].failed_cost);
	}
	PG_RETURN_CSTRING(buf.data);
}

/* Binary input of a retry state. */
Datum
retry_state_recv(PG_FUNCTION_ARGS)
{
	AggioInput	in;
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	RetryState *st;
	int			n;

	aggio_binary_input(&in, RETRY_TYPE_NAME, msg);
	aggio_need_bytes(&in, 1 + 4 + 4);
	aggio_check_version(&in, pq_getmsgbyte(msg), RETRY_BINARY_VERSION);
	n = pq_getmsgint(msg, 4);
	if (n < 0 || n > RETRY_BUCKETS)
		aggio_bad(&in, "Bucket count %d is outside 0..%d.", n, RETRY_BUCKETS);
	st = retry_new(CurrentMemoryContext, n);
	st->max_attempt = pq_getmsgint(msg, 4);
	aggio_need_bytes(&in, n * (2 * 8 + 2 * 16));
	for (int i = 0; i < n; i++)
	{
		st->b[i].attempts = pq_getmsgint64(msg);
		st->b[i].successes = pq_getmsgint64(msg);
		st->b[i].cost = aggio_getmsg_int128(msg);
		st->b[i].failed_cost = aggio_getmsg_int128(msg);
	}
	aggio_getmsg_end(&in);
	retry_check(st, &in);
	PG_RETURN_POINTER(st);
}

/* Binary output of a retry state (buckets up to the last used one). */
Datum
retry_state_send(PG_FUNCTION_ARGS)
{
	RetryState *st = retry_arg(PG_GETARG_DATUM(0));
	int			used = retry_used(st);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, RETRY_BINARY_VERSION);
	pq_sendint32(&buf, used);
	pq_sendint32(&buf, st->max_attempt);
	for (int i = 0; i < used; i++)
	{
		pq_sendint64(&buf, st->b[i].attempts);
		pq_sendint64(&buf, st->b[i].successes);
		aggio_send_int128(&buf, st->b[i].cost);
		aggio_send_int128(&buf, st->b[i].failed_cost);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * Transition: add one attempt row (attempt, succeeded, cost).  STRICT, so
 * rows with a NULL are skipped.  The state is updated in place; it is
 * replaced by a wider copy only when an attempt number has no bucket yet
 * (see retry_bucket_for).
 */
Datum
retry_accum(PG_FUNCTION_ARGS)
{
	RetryState *st = (RetryState *) PG_GETARG_POINTER(0);
	int32		attempt = PG_GETARG_INT32(1);
	bool		succeeded = PG_GETARG_BOOL(2);
	int64		cost = money_from_datum(PG_GETARG_DATUM(3), "cost");
	int			k = attempt < RETRY_BUCKETS ? attempt : RETRY_BUCKETS;
	RetryBucket *b;

	if (attempt < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("attempt must be at least 1"),
				 errdetail("retry_economics got attempt number %d.", attempt),
				 errhint("Number the attempts of an item 1, 2, 3, ... in order.")));
	if (cost < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cost must not be negative"),
				 errdetail("retry_economics got a cost of %s.", money_to_cstring(cost))));

	if (!aggio_in_aggregate(fcinfo))
		st = retry_to_dense(retry_arg(PG_GETARG_DATUM(0)), k);
	b = retry_bucket_for(&st, k);
	/* a state passed in directly may already count INT64_MAX attempts */
	if (b->attempts == PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("bigint out of range"),
				 errdetail("The state already counts " INT64_FORMAT " attempts numbered %d.",
						   b->attempts, k)));
	b->attempts++;
	b->cost += cost;
	if (succeeded)
		b->successes++;
	else
		b->failed_cost += cost;
	if (attempt > st->max_attempt)
		st->max_attempt = attempt;
	PG_RETURN_POINTER(st);
}

/*
 * Combine: add the second state into the first, in place inside an
 * aggregate (growing it if the second has attempt numbers it has no
 * bucket for).  Not
 * strict: a NULL first state becomes the second (which nodeAgg copies into
 * the aggregate context).
 */
Datum
retry_combine(PG_FUNCTION_ARGS)
{
	RetryState *a;
	RetryState *b;
	int			used;
	Datum		result;

	if (aggio_combine_nulls(fcinfo, &result))
		return result;
	b = retry_arg(PG_GETARG_DATUM(1));
	used = retry_used(b);
	a = (RetryState *) PG_GETARG_POINTER(0);
	if (!aggio_in_aggregate(fcinfo))
		a = retry_to_dense(retry_arg(PG_GETARG_DATUM(0)), used);

	for (int i = 0; i < used; i++)
	{
		RetryBucket *x;

		/* a dense state with room takes every bucket; else only those with rows */
		if (a->nsparse == 0 && i < a->nbuckets)
			x = &a->b[i];
		else if (b->b[i].attempts == 0)
			continue;
		else
			x = retry_bucket_for(&a, i + 1);
		x->attempts = aggio_add_count(x->attempts, b->b[i].attempts);
		x->successes = aggio_add_count(x->successes, b->b[i].successes);
		x->cost = aggio_add_money(x->cost, b->b[i].cost);
		x->failed_cost = aggio_add_money(x->failed_cost, b->b[i].failed_cost);
	}
	if (b->max_attempt > a->max_attempt)
		a->max_attempt = b->max_attempt;
	PG_RETURN_POINTER(a);
}

/*
 * retry_subtract(a, b): the state of a's attempt rows once b's are taken
 * out, when a and b alone tell it exactly; NULL otherwise.
 *
 * A rollup refresh replaces the items it recomputes: a day's state less
 * the old states of those items, plus their new ones.  The buckets are
 * sums and subtract; max_attempt does too while the result's last used
 * bucket is below the last one (it is then that bucket's number).  When
 * attempts stay in the last bucket ("32 and beyond") their largest number
 * is a's unless b held it: then the rest does not tell, and the answer is
 * NULL, as it is when b's rows are not a part of a's (a count, a cost or a
 * bucket of b's above a's).  The result is trimmed to its last used
 * bucket, so it is the very state retry_economics() of the remaining rows
 * would be.
 */
Datum
retry_subtract(PG_FUNCTION_ARGS)
{
	RetryState *a = retry_arg(PG_GETARG_DATUM(0));
	RetryState *b = retry_arg(PG_GETARG_DATUM(1));
	int			bused = retry_used(b);
	RetryState *d;
	int			used;

	if (bused > a->nbuckets)
		PG_RETURN_NULL();
	d = retry_new(CurrentMemoryContext, a->nbuckets);
	memcpy(d->b, a->b, a->nbuckets * sizeof(RetryBucket));
	for (int i = 0; i < bused; i++)
	{
		RetryBucket *x = &d->b[i];
		const RetryBucket *y = &b->b[i];

		x->attempts -= y->attempts;
		x->successes -= y->successes;
		x->cost -= y->cost;
		x->failed_cost -= y->failed_cost;
		if (x->attempts < 0 || x->successes < 0 || x->successes > x->attempts ||
			x->cost < 0 || x->failed_cost < 0 || x->failed_cost > x->cost)
			PG_RETURN_NULL();
	}
	used = retry_used(d);
	if (used < RETRY_BUCKETS)
		d->max_attempt = used;
	else if (b->max_attempt < a->max_attempt)
		d->max_attempt = a->max_attempt;
	else
		PG_RETURN_NULL();
	SET_VARSIZE(d, RETRY_STATE_SIZE(used));
	d->nbuckets = used;
	PG_RETURN_POINTER(d);
}

/*
 * Final function: the state in the smaller of its two forms (ties to
 * dense): dense, trimmed to its last used bucket, or, for a group whose
 * attempt numbers have gaps, sparse, an entry per number with rows in
 * ascending order (an item numbered 2 and 12: 128 bytes instead of the 592
 * of twelve buckets).  The same rows give the same bytes in any order, and
 * readers take either form (retry_arg); text and binary output are dense.
 */
Datum
retry_final(PG_FUNCTION_ARGS)
{
	RetryState *st = retry_arg(PG_GETARG_DATUM(0));
	int			used = retry_used(st);
	int			m = 0;
	RetryState *r;

	for (int i = 0; i < used; i++)
		if (st->b[i].attempts > 0)
			m++;
	if (m > 0 && RETRY_SPARSE_SIZE(m) < RETRY_STATE_SIZE(used))
		PG_RETURN_POINTER(retry_sparse_copy(st, m));
	/* a sparse state came back from retry_arg new, and trimmed already */
	if (PointerGetDatum(st) != PG_GETARG_DATUM(0) && st->nbuckets == used)
		PG_RETURN_POINTER(st);
	r = retry_new(CurrentMemoryContext, used);
	r->max_attempt = st->max_attempt;
	memcpy(r->b, st->b, used * sizeof(RetryBucket));
	PG_RETURN_POINTER(r);
}

/* Totals over the buckets of a state. */
typedef struct RetryTotals
{
	int64		items;			/* attempts numbered 1 */
	int64		first_successes;
	int64		attempts;
	int64		successes;
	int128		cost;
	int128		failed_cost;
} RetryTotals;

/* a + b, or an error naming the attempt count that passed the largest bigint */
static int64
retry_sum_attempts(int64 a, int64 b)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("bigint out of range"),
				 errdetail("The attempts of this state add up to more than " INT64_FORMAT ".",
						   PG_INT64_MAX)));
	return r;
}

/*
 * Totals over the first nb buckets of a state that passed
 * retry_check_consistent: the successes are then at most the items, and the
 * money totals at most the attempts times the largest amount of one row, so
 * only the attempts can overflow.
 */
static RetryTotals
retry_totals(const RetryState *st, int nb)
{
	RetryTotals t = {0};

	if (st->nbuckets > 0)
	{
		t.items = st->b[0].attempts;
		t.first_successes = st->b[0].successes;
	}
	for (int i = 0; i < nb && i < st->nbuckets; i++)
	{
		t.attempts = retry_sum_attempts(t.attempts, st->b[i].attempts);
		t.successes += st->b[i].successes;
		t.cost += st->b[i].cost;
		t.failed_cost += st->b[i].failed_cost;
	}
	Assert(t.successes <= t.items);
	return t;
}

/* numerator * mul / den as money, or NULL when den is zero */
static Datum
retry_money_per(int128 num, int64 mul, int128 den, bool *isnull)
{
	int128		q;

	*isnull = (den == 0);
	if (den == 0)
		return (Datum) 0;
	q = money_muldiv_round(num, mul, den, "A cost per item exceeds what tokacct keeps exactly.");
	return NumericGetDatum(money_to_numeric(q));
}

/* a / b as float8, or NULL when b is zero */
static Datum
retry_ratio(double a, double b, bool *isnull)
{
	*isnull = (b == 0);
	return *isnull ? (Datum) 0 : Float8GetDatum(a / b);
}

/* The report of a retry state: items, p1, retry tail and the cost of failure. */
Datum
retry_report(PG_FUNCTION_ARGS)
{
	RetryState *st = retry_arg(PG_GETARG_DATUM(0));
	int			used = retry_used(st);
	RetryTotals t;
	TupleDesc	tupdesc;
	Datum		v[15];
	bool		n[15] = {0};
	Datum	   *rates = palloc(Max(used, 1) * sizeof(Datum));
	bool	   *rnulls = palloc(Max(used, 1) * sizeof(bool));
	int			dims[1] = {used};
	int			lbs[1] = {1};

	tupdesc = aggio_result_tupdesc(fcinfo, "retry_report");
	retry_check_consistent(st);
	t = retry_totals(st, RETRY_BUCKETS);

	for (int i = 0; i < used; i++)
		rates[i] = retry_ratio((double) st->b[i].successes, (double) st->b[i].attempts, &rnulls[i]);

	v[0] = Int64GetDatum(t.items);
	v[1] = Int64GetDatum(t.attempts);
	v[2] = Int64GetDatum(t.successes);
	v[3] = retry_ratio((double) t.first_successes, (double) t.items, &n[3]);
	v[4] = PointerGetDatum(used == 0 ? construct_empty_array(FLOAT8OID) :
						   construct_md_array(rates, rnulls, 1, dims, lbs,
											  FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
											  TYPALIGN_DOUBLE));
	v[5] = retry_ratio((double) t.attempts, (double) t.items, &n[5]);
	v[6] = retry_ratio((double) t.successes, (double) t.items, &n[6]);
	v[7] = NumericGetDatum(money_to_numeric(t.cost));
	v[8] = NumericGetDatum(money_to_numeric(t.failed_cost));
	v[9] = retry_ratio((double) t.failed_cost, (double) t.cost, &n[9]);
	/* T: mean cost of one attempt, over all attempts */
	v[10] = retry_money_per(t.cost, 1, t.attempts, &n[10]);
	/* observed: all spend over solved items */
	v[11] = retry_money_per(t.cost, 1, t.successes, &n[11]);
	/* naive T / p1 = (C / A) / (s1 / N1) = C * N1 / (A * s1), rounded once */
	v[12] = retry_money_per(t.cost, t.items, (int128) t.attempts * t.first_successes, &n[12]);
	/* observed / naive = (C / S) / (C * N1 / (A * s1)) = A * s1 / (S * N1) */
	v[13] = retry_ratio((double) t.attempts * (double) t.first_successes,
						(double) t.successes * (double) t.items, &n[13]);
	v[14] = Int32GetDatum(st->max_attempt);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, v, n)));
}

/* One row per attempt number: counts, success rate, reach and cost. */
Datum
retry_attempts(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RetryState *st = retry_arg(PG_GETARG_DATUM(0));
	int			used = retry_used(st);
	int64		items = st->nbuckets > 0 ? st->b[0].attempts : 0;

	retry_check_consistent(st);
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < used; i++)
	{
		const RetryBucket *b = &st->b[i];
		Datum		v[8];
		bool		n[8] = {0};

		v[0] = Int32GetDatum(i + 1);
		v[1] = BoolGetDatum(i + 1 == RETRY_BUCKETS && st->max_attempt > RETRY_BUCKETS);
		v[2] = Int64GetDatum(b->attempts);
		v[3] = Int64GetDatum(b->successes);
		v[4] = retry_ratio((double) b->successes, (double) b->attempts, &n[4]);
		v[5] = retry_ratio((double) b->attempts, (double) items, &n[5]);
		v[6] = NumericGetDatum(money_to_numeric(b->cost));
		v[7] = retry_money_per(b->cost, 1, b->attempts, &n[7]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	return (Datum) 0;
}

/*
 * What the observed attempts would have cost with retries capped at k and a
 * fallback of the given cost for every item still unsolved after k.
 */
Datum
retry_projection(PG_FUNCTION_ARGS)
{
	RetryState *st = retry_arg(PG_GETARG_DATUM(0));
	int32		k = PG_GETARG_INT32(1);
	int64		fallback = money_from_datum(PG_GETARG_DATUM(2), "fallback cost");
	RetryTotals t;
	TupleDesc	tupdesc;
	Datum		v[4];
	bool		n[4] = {0};
	int64		unsolved;

	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_attempts must be at least 1"),
				 errdetail("retry_projection got max_attempts = %d.", k)));
	if (fallback < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fallback cost must not be negative"),
				 errhint("The fallback cost is what a person or a BPO charges for an item the capped retries leave unsolved: zero or more.")));
	if (k >= RETRY_BUCKETS && k < st->max_attempt)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot project a cap of %d attempts", k),
				 errdetail("Attempts from %d on are kept together, and this state has attempts up to %d.",
						   RETRY_BUCKETS, st->max_attempt),
				 errhint("Use a cap below %d, or at least %d.", RETRY_BUCKETS, st->max_attempt)));
	tupdesc = aggio_result_tupdesc(fcinfo, "retry_projection");
	retry_check_consistent(st);

	t = retry_totals(st, k);
	if (t.items == 0)
	{
		n[0] = n[1] = n[2] = n[3] = true;
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, v, n)));
	}
	unsolved = t.items - t.successes;
	/* cost per item: the spend on attempts 1..k plus the fallback for the unsolved */
	v[0] = retry_money_per(aggio_add_money(t.cost, (int128) fallback * unsolved), 1,
						   t.items, &n[0]);
	v[1] = Float8GetDatum((double) t.successes / (double) t.items);
	/* cost per solved item: the spend on attempts 1..k over the items they solved */
	v[2] = retry_money_per(t.cost, 1, t.successes, &n[2]);
	v[3] = Int64GetDatum(unsolved);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, v, n)));
}

/* Observed cost per solved item of a retry state (NULL when nothing solved). */
Datum
retry_cost_per_solved(PG_FUNCTION_ARGS)
{
	RetryState *st = retry_arg(PG_GETARG_DATUM(0));
	RetryTotals t;
	bool		isnull;
	Datum		d;

	retry_check_consistent(st);
	t = retry_totals(st, RETRY_BUCKETS);
	d = retry_money_per(t.cost, 1, t.successes, &isnull);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(d);
}
