/*-------------------------------------------------------------------------
 *
 * agg_sketch.c
 *	  The cost quantile sketch (tokacct.sketch_state): aggregate, combine,
 *	  merge, text and binary I/O, and the quantile accessors.
 *
 * See agg_sketch.h for the bucket scheme and its error bound.  The
 * aggregate's transition function updates the state in place; the state is
 * reallocated only when a value falls outside the key range it covers, and
 * then the range grows by at least half of itself, so reallocations are
 * O(log range) per group, not per row.  A grown state is built in the
 * per-tuple memory context and returned: nodeAgg copies it into the
 * aggregate context and frees the old one.
 *
 * Quantiles follow percentile_cont: with n values and h = q (n - 1), the
 * result interpolates between the order statistics of ranks floor(h) and
 * floor(h) + 1 (0-based).  Each order statistic is estimated within relative
 * SKETCH_ALPHA (rank 0 and n - 1 are the exact min and max), so the
 * interpolated estimate is within SKETCH_ALPHA of percentile_cont whenever
 * the two order statistics have the same sign.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "agg_sketch.h"
#include "aggio.h"
#include "money.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(sketch_in);
PG_FUNCTION_INFO_V1(sketch_out);
PG_FUNCTION_INFO_V1(sketch_recv);
PG_FUNCTION_INFO_V1(sketch_send);
PG_FUNCTION_INFO_V1(sketch_add_numeric);
PG_FUNCTION_INFO_V1(sketch_add_float8);
PG_FUNCTION_INFO_V1(sketch_combine);
PG_FUNCTION_INFO_V1(sketch_final);
PG_FUNCTION_INFO_V1(sketch_subtract);
PG_FUNCTION_INFO_V1(sketch_quantile);
PG_FUNCTION_INFO_V1(sketch_quantiles);
PG_FUNCTION_INFO_V1(sketch_tail_ratio);
PG_FUNCTION_INFO_V1(sketch_count);

#define SKETCH_TYPE_NAME	"tokacct.sketch_state"

#define SKETCH_POS(s)	((s)->bins)
#define SKETCH_NEG(s)	((s)->bins + (s)->pos_n)

/* bucket edges 2^(j/35), j = 0..35, correctly rounded */
static const double sketch_edge[SKETCH_PER_OCTAVE + 1] = {
	0x1.0000000000000p+0, 0x1.051ed35254d7bp+0, 0x1.0a57de9c16bc7p+0,
	0x1.0faba81d4e5dfp+0, 0x1.151ab8c56eea2p+0, 0x1.1aa59c4115e7dp+0,
	0x1.204ce10811781p+0, 0x1.2611186bae675p+0, 0x1.2bf2d6a54f7dap+0,
	0x1.31f2b2e54f85dp+0, 0x1.381147622f886p+0, 0x1.3e4f316812c30p+0,
	0x1.44ad116889e7bp+0, 0x1.4b2b8b0aaf3c7p+0, 0x1.51cb453b9536cp+0,
	0x1.588cea3f093bep+0, 0x1.5f7127c0ac32ap+0, 0x1.6678aee5629f8p+0,
	0x1.6da4345d1e0adp+0, 0x1.74f47075017a0p+0, 0x1.7c6a1f29e2ce6p+0,
	0x1.8406003b2ae5cp+0, 0x1.8bc8d73e16610p+0, 0x1.93b36bb158fffp+0,
	0x1.9bc68911258c0p+0, 0x1.a402feeb9c533p+0, 0x1.ac69a0f5a241cp+0,
	0x1.b4fb472022b1ap+0, 0x1.bdb8cdadbe120p+0, 0x1.c6a31548e794dp+0,
	0x1.cfbb031a741a5p+0, 0x1.d90180e09c9e4p+0, 0x1.e2777d0676770p+0,
	0x1.ec1deabbe3c14p+0, 0x1.f5f5c20dfe5f2p+0, 0x1.0000000000000p+1,
};

/*
 * sketch_cell[t]: the smallest j with edge[j] >= 1 + t/1024, for the
 * mantissas of the cell [1 + t/1024, 1 + (t+1)/1024).  A cell is narrower
 * than a bucket, so a mantissa m in it has key offset cell[t], or
 * cell[t] + 1 when m > edge[cell[t]].  Filled once per backend from the
 * constant edges, with exact comparisons only.
 */
static uint8 sketch_cell[1024];
static bool sketch_cell_ready = false;

static void
sketch_cell_init(void)
{
	int			t,
				j = 0;

	for (t = 0; t < 1024; t++)
	{
		double		lo = 1.0 + (double) t / 1024.0;

		while (sketch_edge[j] < lo)
			j++;
		sketch_cell[t] = (uint8) j;
	}
	sketch_cell_ready = true;
}

/*
 * Key of a magnitude in [SKETCH_MIN_MAGNITUDE, SKETCH_MAX_MAGNITUDE]:
 * ceil(35 log2 mag), from the exponent and mantissa bits (mag is normal).
 */
static inline int32
sketch_key(double mag)
{
	uint64		bits;
	int32		e;
	int32		j;
	double		m;

	if (unlikely(!sketch_cell_ready))
		sketch_cell_init();
	memcpy(&bits, &mag, sizeof(bits));
	e = (int32) ((bits >> 52) & 0x7ff) - 1023;
	j = sketch_cell[(bits >> 42) & 0x3ff];
	/* the mantissa as a double in [1, 2) */
	bits = (bits & UINT64CONST(0x000fffffffffffff)) | UINT64CONST(0x3ff0000000000000);
	memcpy(&m, &bits, sizeof(m));
	if (m > sketch_edge[j])
		j++;
	return e * SKETCH_PER_OCTAVE + j;
}

/* Representative magnitude of the bucket of key k: 2 gamma^k / (gamma + 1). */
static inline double
sketch_bucket_value(int32 key)
{
	int32		e = key >= 0 ? key / SKETCH_PER_OCTAVE :
		-((-key + SKETCH_PER_OCTAVE - 1) / SKETCH_PER_OCTAVE);
	int32		j = key - e * SKETCH_PER_OCTAVE;

	return ldexp(sketch_edge[j], e) * (2.0 / (SKETCH_GAMMA + 1.0));
}

/* A zeroed state covering the given key ranges, in CurrentMemoryContext. */
static SketchState *
sketch_alloc(int32 pos_lo, int32 pos_n, int32 neg_lo, int32 neg_n)
{
	Size		sz = SKETCH_SIZE(pos_n, neg_n);
	SketchState *s = (SketchState *) palloc0(sz);

	SET_VARSIZE(s, sz);
	s->version = SKETCH_VERSION;
	s->pos_lo = pos_lo;
	s->pos_n = pos_n;
	s->neg_lo = neg_lo;
	s->neg_n = neg_n;
	return s;
}

/*
 * A copy of s over new key ranges, which must include every occupied bin
 * of s (callers guarantee it).
 */
static SketchState *
sketch_reshape(const SketchState *s, int32 pos_lo, int32 pos_n,
			   int32 neg_lo, int32 neg_n)
{
	SketchState *r = sketch_alloc(pos_lo, pos_n, neg_lo, neg_n);
	int			i;

	r->count = s->count;
	r->zero = s->zero;
	r->min = s->min;
	r->max = s->max;
	for (i = 0; i < s->pos_n; i++)
		if (SKETCH_POS(s)[i] != 0)
			SKETCH_POS(r)[s->pos_lo + i - pos_lo] = SKETCH_POS(s)[i];
	for (i = 0; i < s->neg_n; i++)
		if (SKETCH_NEG(s)[i] != 0)
			SKETCH_NEG(r)[s->neg_lo + i - neg_lo] = SKETCH_NEG(s)[i];
	return r;
}

/*
 * Widen the range [*lo, *lo + *n) to include key, with slack of at least
 * half the current span (16 bins minimum) on the side that grows.
 */
static void
sketch_widen(int32 *lo, int32 *n, int32 key)
{
	int32		newlo,
				newhi;
	int32		slack;

	if (*n == 0)
	{
		newlo = key - 32;
		newhi = key + 31;
	}
	else
	{
		slack = Max(16, *n / 2);
		newlo = *lo;
		newhi = *lo + *n - 1;
		if (key < newlo)
			newlo = key - slack;
		if (key > newhi)
			newhi = key + slack;
	}
	newlo = Max(newlo, SKETCH_KEY_MIN);
	newhi = Min(newhi, SKETCH_KEY_MAX);
	*lo = newlo;
	*n = newhi - newlo + 1;
}

/* Raise the error for a value outside the sketch's range. */
static void
sketch_out_of_range(double x)
{
	if (isnan(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cost sketch cannot take NaN"),
				 errhint("Leave NaN costs out, or make them NULL, which aggregates skip.")));
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("cost %g is out of the cost sketch's range", x),
			 errdetail("The sketch accepts magnitudes up to %g.", SKETCH_MAX_MAGNITUDE)));
}

/*
 * Add one value to the state (which may be NULL); returns the state, a new
 * one only when its key ranges had to grow.
 */
static inline SketchState *
sketch_add(SketchState *s, double x)
{
	double		mag = fabs(x);
	int32		key;

	if (!(mag <= SKETCH_MAX_MAGNITUDE))
		sketch_out_of_range(x);

	/*
	 * A magnitude below a picodollar (the smallest amount of money) is zero
	 * for the sketch: it is counted in the zero bucket and taken as 0 for
	 * the min and the max too, so no state holds a -0, a subnormal or a
	 * min that no quantile can tell from 0.
	 */
	if (mag < SKETCH_MIN_MAGNITUDE)
		x = 0.0;
	if (s == NULL)
	{
		s = sketch_alloc(0, 0, 0, 0);
		s->min = s->max = x;
	}
	else if (s->count == 0)
		s->min = s->max = x;
	else if (x < s->min)
		s->min = x;
	else if (x > s->max)
		s->max = x;
	if (unlikely(s->count == PG_INT64_MAX))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("cost sketch count out of range"),
				 errdetail("A sketch counts at most 9223372036854775807 costs.")));
	s->count++;

	if (mag < SKETCH_MIN_MAGNITUDE)
	{
		s->zero++;
		return s;
	}
	key = sketch_key(mag);
	if (x > 0)
	{
		if (unlikely(key < s->pos_lo || key >= s->pos_lo + s->pos_n))
		{
			int32		lo = s->pos_lo,
						n = s->pos_n;

			sketch_widen(&lo, &n, key);
			s = sketch_reshape(s, lo, n, s->neg_lo, s->neg_n);
		}
		SKETCH_POS(s)[key - s->pos_lo]++;
	}
	else
	{
		if (unlikely(key < s->neg_lo || key >= s->neg_lo + s->neg_n))
		{
			int32		lo = s->neg_lo,
						n = s->neg_n;

			sketch_widen(&lo, &n, key);
			s = sketch_reshape(s, s->pos_lo, s->pos_n, lo, n);
		}
		SKETCH_NEG(s)[key - s->neg_lo]++;
	}
	return s;
}

/* First and last occupied bin of one sign; false when none. */
static bool
sketch_occupied(const uint64 *bins, int32 n, int32 *first, int32 *last)
{
	int32		i,
				j;

	for (i = 0; i < n && bins[i] == 0; i++)
		;
	if (i == n)
		return false;
	for (j = n - 1; bins[j] == 0; j--)
		;
	*first = i;
	*last = j;
	return true;
}

/* The same state with its key ranges trimmed to the occupied bins. */
static SketchState *
sketch_trim(SketchState *s)
{
	int32		pf = 0,
				pl = -1,
				nf = 0,
				nl = -1;
	bool		hp = sketch_occupied(SKETCH_POS(s), s->pos_n, &pf, &pl);
	bool		hn = sketch_occupied(SKETCH_NEG(s), s->neg_n, &nf, &nl);

	if ((hp ? (pf == 0 && pl == s->pos_n - 1) : s->pos_n == 0) &&
		(hn ? (nf == 0 && nl == s->neg_n - 1) : s->neg_n == 0))
		return s;
	return sketch_reshape(s,
						  hp ? s->pos_lo + pf : 0, hp ? pl - pf + 1 : 0,
						  hn ? s->neg_lo + nf : 0, hn ? nl - nf + 1 : 0);
}

/*
 * Check every invariant of a state read from in (built from outside
 * bytes).
 */
static void
sketch_validate(const SketchState *s, const AggioInput *in)
{
	int64		total = s->zero;
	int32		first = 0,
				last = 0;
	bool		min_ok,
				max_ok;
	int			i;

	if (s->count < 0 || s->zero < 0)
		aggio_bad(in, "count and zero must not be negative.");
	if (!isfinite(s->min) || !isfinite(s->max))
		aggio_bad(in, "min and max must be finite.");
	for (i = 0; i < s->pos_n + s->neg_n; i++)
	{
		if (s->bins[i] > (uint64) PG_INT64_MAX ||
			pg_add_s64_overflow(total, (int64) s->bins[i], &total))
			aggio_bad(in, "The bucket counts add up to more than " INT64_FORMAT ".", PG_INT64_MAX);
	}
	if (total != s->count)
		aggio_bad(in, "count is " INT64_FORMAT " but the buckets hold " INT64_FORMAT ".",
				  s->count, total);
	if (s->count == 0)
	{
		if (s->min != 0 || s->max != 0)
			aggio_bad(in, "An empty sketch has min = max = 0.");
		return;
	}
	if (s->min > s->max || fabs(s->min) > SKETCH_MAX_MAGNITUDE ||
		fabs(s->max) > SKETCH_MAX_MAGNITUDE)
		aggio_bad(in, "min and max are out of order, or their magnitude passes %g.",
				  SKETCH_MAX_MAGNITUDE);

	/*
	 * The min must fall in the lowest occupied bucket and the max in the
	 * highest (keys are computed the same way on every machine).
	 */
	if (sketch_occupied(SKETCH_NEG(s), s->neg_n, &first, &last))
		min_ok = s->min <= -SKETCH_MIN_MAGNITUDE && sketch_key(-s->min) == s->neg_lo + last;
	else if (s->zero > 0)
		min_ok = s->min > -SKETCH_MIN_MAGNITUDE && s->min < SKETCH_MIN_MAGNITUDE;
	else
		min_ok = sketch_occupied(SKETCH_POS(s), s->pos_n, &first, &last) &&
			s->min >= SKETCH_MIN_MAGNITUDE && sketch_key(s->min) == s->pos_lo + first;
	if (!min_ok)
		aggio_bad(in, "min does not fall in the lowest occupied bucket.");

	if (sketch_occupied(SKETCH_POS(s), s->pos_n, &first, &last))
		max_ok = s->max >= SKETCH_MIN_MAGNITUDE && sketch_key(s->max) == s->pos_lo + last;
	else if (s->zero > 0)
		max_ok = s->max > -SKETCH_MIN_MAGNITUDE && s->max < SKETCH_MIN_MAGNITUDE;
	else
		max_ok = sketch_occupied(SKETCH_NEG(s), s->neg_n, &first, &last) &&
			s->max <= -SKETCH_MIN_MAGNITUDE && sketch_key(-s->max) == s->neg_lo + first;
	if (!max_ok)
		aggio_bad(in, "max does not fall in the highest occupied bucket.");
}

/* One sparse bucket read from text or binary input. */
typedef struct SketchBin
{
	int32		key;
	int64		count;
} SketchBin;

/*
 * Build a dense state from sparse, validated-in-order bucket lists.  Keys
 * must be strictly ascending, within bounds, and counts positive.
 */
static SketchState *
sketch_build(int64 count, int64 zero, double min, double max,
			 SketchBin *pos, int npos, SketchBin *neg, int nneg, const AggioInput *in)
{
	SketchState *s;
	int			i;

	for (i = 0; i < npos + nneg; i++)
	{
		SketchBin  *b = i < npos ? &pos[i] : &neg[i - npos];
		bool		first = (i == 0 || i == npos);

		if (b->key < SKETCH_KEY_MIN || b->key > SKETCH_KEY_MAX)
			aggio_bad(in, "Bucket key %d is out of range: keys lie between %d and %d.",
					  b->key, SKETCH_KEY_MIN, SKETCH_KEY_MAX);
		if (b->count <= 0)
			aggio_bad(in, "Bucket %d has a count of " INT64_FORMAT "; listed buckets hold a positive count.",
					  b->key, b->count);
		if (!first && b->key <= (b - 1)->key)
			aggio_bad(in, "Bucket keys must be strictly ascending: %d follows %d.",
					  b->key, (b - 1)->key);
	}
	s = sketch_alloc(npos ? pos[0].key : 0, npos ? pos[npos - 1].key - pos[0].key + 1 : 0,
					 nneg ? neg[0].key : 0, nneg ? neg[nneg - 1].key - neg[0].key + 1 : 0);
	s->count = count;
	s->zero = zero;
	s->min = min;
	s->max = max;
	for (i = 0; i < npos; i++)
		SKETCH_POS(s)[pos[i].key - s->pos_lo] = (uint64) pos[i].count;
	for (i = 0; i < nneg; i++)
		SKETCH_NEG(s)[neg[i].key - s->neg_lo] = (uint64) neg[i].count;
	sketch_validate(s, in);
	return s;
}

/* ---- text input ---- */

/* Parse a finite double at in->p. */
static double
sketch_parse_float(AggioInput *in)
{
	char	   *end;
	double		v;

	aggio_skip_space(in);
	if (!(*in->p == '-' || *in->p == '.' || (*in->p >= '0' && *in->p <= '9')))
		aggio_expected(in, "a finite number");
	errno = 0;
	v = strtod(in->p, &end);
	if (end == in->p)
		aggio_expected(in, "a finite number");

	/*
	 * As float8in: strtod reports ERANGE for a subnormal result too, which
	 * is a valid double (the text form of one reads back to it); only an
	 * underflow to zero or an overflow is out of range.
	 */
	if (errno == ERANGE && (v == 0.0 || v >= HUGE_VAL || v <= -HUGE_VAL))
		aggio_out_of_range(in, end, " for type double precision");
	if ((errno != 0 && errno != ERANGE) || !isfinite(v))
		aggio_expected(in, "a finite number");
	in->p = end;
	return v;
}

/* Parse "{k:c,k:c}" into a palloc'd array. */
static SketchBin *
sketch_parse_bins(AggioInput *in, int *nbins)
{
	int			cap = 16,
				n = 0;
	SketchBin  *bins = palloc(sizeof(SketchBin) * cap);

	aggio_expect(in, "{");
	if (aggio_accept(in, "}"))
	{
		*nbins = 0;
		return bins;
	}
	do
	{
		if (n >= SKETCH_KEY_SPAN)
			aggio_bad(in, "More than %d buckets of one sign: their keys span at most %d values.",
					  SKETCH_KEY_SPAN, SKETCH_KEY_SPAN);
		if (n == cap)
		{
			cap *= 2;
			bins = repalloc(bins, sizeof(SketchBin) * cap);
		}
		bins[n].key = (int32) aggio_parse_int(in, "a bucket key", PG_INT32_MIN, PG_INT32_MAX);
		aggio_expect(in, ":");
		bins[n].count = aggio_parse_int(in, "a bucket count", PG_INT64_MIN, PG_INT64_MAX);
		n++;
	} while (aggio_list_next(in, "}"));
	*nbins = n;
	return bins;
}

/*
 * Text input: "v=1 count=N zero=Z min=X max=Y pos={k:c,...}
 * neg={k:c,...}", buckets listed sparsely by key.
 */
Datum
sketch_in(PG_FUNCTION_ARGS)
{
	AggioInput	in;
	double		min,
				max;
	int64		count,
				zero;
	SketchBin  *pos,
			   *neg;
	int			npos,
				nneg;

	aggio_text_input(&in, SKETCH_TYPE_NAME, PG_GETARG_CSTRING(0), true);
	aggio_expect(&in, "v=");
	aggio_check_version(&in, aggio_parse_int(&in, "the version", PG_INT32_MIN, PG_INT32_MAX),
						SKETCH_VERSION);
	aggio_expect(&in, "count=");
	count = aggio_parse_int(&in, "count", PG_INT64_MIN, PG_INT64_MAX);
	aggio_expect(&in, "zero=");
	zero = aggio_parse_int(&in, "zero", PG_INT64_MIN, PG_INT64_MAX);
	aggio_expect(&in, "min=");
	min = sketch_parse_float(&in);
	aggio_expect(&in, "max=");
	max = sketch_parse_float(&in);
	aggio_expect(&in, "pos=");
	pos = sketch_parse_bins(&in, &npos);
	aggio_expect(&in, "neg=");
	neg = sketch_parse_bins(&in, &nneg);
	aggio_expect_end(&in);
	PG_RETURN_POINTER(sketch_build(count, zero, min, max, pos, npos, neg, nneg, &in));
}

static void
sketch_append_bins(StringInfo buf, const uint64 *bins, int32 lo, int32 n)
{
	bool		first = true;
	int32		i;

	appendStringInfoChar(buf, '{');
	for (i = 0; i < n; i++)
	{
		if (bins[i] == 0)
			continue;
		appendStringInfo(buf, "%s%d:" UINT64_FORMAT, first ? "" : ",", lo + i, bins[i]);
		first = false;
	}
	appendStringInfoChar(buf, '}');
}

/* Text output (see sketch_in); floats with 17 digits, so they round-trip. */
Datum
sketch_out(PG_FUNCTION_ARGS)
{
	SketchState *s = (SketchState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "v=%d count=" INT64_FORMAT " zero=" INT64_FORMAT
					 " min=%.17g max=%.17g pos=",
					 SKETCH_VERSION, s->count, s->zero, s->min, s->max);
	sketch_append_bins(&buf, SKETCH_POS(s), s->pos_lo, s->pos_n);
	appendStringInfoString(&buf, " neg=");
	sketch_append_bins(&buf, SKETCH_NEG(s), s->neg_lo, s->neg_n);
	PG_RETURN_CSTRING(buf.data);
}

/* ---- binary I/O ---- */

static void
sketch_send_bins(StringInfo buf, const uint64 *bins, int32 lo, int32 n)
{
	int32		nnz = 0,
				i;

	for (i = 0; i < n; i++)
		nnz += (bins[i] != 0);
	pq_sendint32(buf, nnz);
	for (i = 0; i < n; i++)
		if (bins[i] != 0)
		{
			pq_sendint32(buf, lo + i);
			pq_sendint64(buf, (int64) bins[i]);
		}
}

/*
 * Binary output: int32 version, int64 count, int64 zero, float8 min,
 * float8 max, then per sign (positive, negative) int32 n and n pairs of
 * (int32 key, int64 count).
 */
Datum
sketch_send(PG_FUNCTION_ARGS)
{
	SketchState *s = (SketchState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, SKETCH_VERSION);
	pq_sendint64(&buf, s->count);
	pq_sendint64(&buf, s->zero);
	pq_sendfloat8(&buf, s->min);
	pq_sendfloat8(&buf, s->max);
	sketch_send_bins(&buf, SKETCH_POS(s), s->pos_lo, s->pos_n);
	sketch_send_bins(&buf, SKETCH_NEG(s), s->neg_lo, s->neg_n);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

static SketchBin *
sketch_recv_bins(AggioInput *in, int *nbins)
{
	int32		n;
	SketchBin  *bins;
	int			i;

	aggio_need_bytes(in, 4);
	n = pq_getmsgint(in->msg, 4);
	if (n < 0 || n > SKETCH_KEY_SPAN)
		aggio_bad(in, "The state claims %d buckets of one sign; a sketch holds 0 to %d.",
				  n, SKETCH_KEY_SPAN);
	aggio_need_bytes(in, (int64) n * 12);
	bins = palloc(sizeof(SketchBin) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		bins[i].key = pq_getmsgint(in->msg, 4);
		bins[i].count = pq_getmsgint64(in->msg);
	}
	*nbins = n;
	return bins;
}

/* Binary input (see sketch_send); every field is checked. */
Datum
sketch_recv(PG_FUNCTION_ARGS)
{
	AggioInput	in;
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int64		count,
				zero;
	double		min,
				max;
	SketchBin  *pos,
			   *neg;
	int			npos,
				nneg;

	aggio_binary_input(&in, SKETCH_TYPE_NAME, buf);
	aggio_need_bytes(&in, 4 + 8 + 8 + 8 + 8);
	aggio_check_version(&in, pq_getmsgint(buf, 4), SKETCH_VERSION);
	count = pq_getmsgint64(buf);
	zero = pq_getmsgint64(buf);
	min = pq_getmsgfloat8(buf);
	max = pq_getmsgfloat8(buf);
	pos = sketch_recv_bins(&in, &npos);
	neg = sketch_recv_bins(&in, &nneg);
	aggio_getmsg_end(&in);
	PG_RETURN_POINTER(sketch_build(count, zero, min, max, pos, npos, neg, nneg, &in));
}

/* ---- aggregate support ---- */

/*
 * A transition function of cost_sketch: add the cost in argument 1 (numeric
 * money, or float8), unless it is NULL.
 */
static Datum
sketch_trans(FunctionCallInfo fcinfo, const char *fn, bool numeric)
{
	SketchState *s;
	double		x;

	aggio_check_agg(fcinfo, fn);
	s = PG_ARGISNULL(0) ? NULL : (SketchState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1))
	{
		if (s == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s);
	}
	if (numeric)
		x = (double) money_from_datum(PG_GETARG_DATUM(1), "cost") / (double) MONEY_ONE;
	else
		x = PG_GETARG_FLOAT8(1);
	PG_RETURN_POINTER(sketch_add(s, x));
}

/* Transition function of cost_sketch(numeric): add one cost. */
Datum
sketch_add_numeric(PG_FUNCTION_ARGS)
{
	return sketch_trans(fcinfo, "sketch_add_numeric", true);
}

/* Transition function of cost_sketch(float8): add one cost. */
Datum
sketch_add_float8(PG_FUNCTION_ARGS)
{
	return sketch_trans(fcinfo, "sketch_add_float8", false);
}

/*
 * Widen the key range [*lo, *lo + *n) to cover the occupied bins of the n
 * bins from key bins_lo.
 */
static void
sketch_cover(int32 *lo, int32 *n, const uint64 *bins, int32 bins_lo, int32 bins_n)
{
	int32		f,
				l,
				hi;

	if (!sketch_occupied(bins, bins_n, &f, &l))
		return;
	if (*n == 0)
	{
		*lo = bins_lo + f;
		*n = l - f + 1;
		return;
	}
	hi = Max(*lo + *n - 1, bins_lo + l);
	*lo = Min(*lo, bins_lo + f);
	*n = hi - *lo + 1;
}

/*
 * Add the occupied bins of src (keys from src_lo) into dst (keys from
 * dst_lo), which covers them; its empty edges may lie outside dst's range.
 */
static void
sketch_add_bins(uint64 *dst, int32 dst_lo, const uint64 *src, int32 src_lo, int32 src_n)
{
	int32		f,
				l;

	if (sketch_occupied(src, src_n, &f, &l))
		for (int32 i = f; i <= l; i++)
			dst[src_lo + i - dst_lo] += src[i];
}

/*
 * Combine two states (also the transition function of merge(sketch_state)):
 * adds the second into the first, in place unless a key range must grow.
 */
Datum
sketch_combine(PG_FUNCTION_ARGS)
{
	SketchState *a,
			   *b;
	int32		plo,
				pn,
				nlo,
				nn;
	Datum		result;

	aggio_check_agg(fcinfo, "sketch_combine");
	if (aggio_combine_nulls(fcinfo, &result))
		return result;
	a = (SketchState *) PG_GETARG_POINTER(0);
	b = (SketchState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	if (b->count == 0)
		PG_RETURN_POINTER(a);

	/* make a's ranges cover b's occupied bins */
	plo = a->pos_lo;
	pn = a->pos_n;
	nlo = a->neg_lo;
	nn = a->neg_n;
	sketch_cover(&plo, &pn, SKETCH_POS(b), b->pos_lo, b->pos_n);
	sketch_cover(&nlo, &nn, SKETCH_NEG(b), b->neg_lo, b->neg_n);
	if (plo != a->pos_lo || pn != a->pos_n || nlo != a->neg_lo || nn != a->neg_n)
		a = sketch_reshape(a, plo, pn, nlo, nn);

	if (pg_add_s64_overflow(a->count, b->count, &a->count))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("cost sketch count out of range"),
				 errdetail("A sketch counts at most 9223372036854775807 costs.")));
	if (a->count == b->count)
	{
		/* a was empty */
		a->min = b->min;
		a->max = b->max;
	}
	else
	{
		a->min = Min(a->min, b->min);
		a->max = Max(a->max, b->max);
	}
	a->zero += b->zero;
	sketch_add_bins(SKETCH_POS(a), a->pos_lo, SKETCH_POS(b), b->pos_lo, b->pos_n);
	sketch_add_bins(SKETCH_NEG(a), a->neg_lo, SKETCH_NEG(b), b->neg_lo, b->neg_n);
	PG_RETURN_POINTER(a);
}

/* Final function: the state with its bucket ranges trimmed to the data. */
Datum
sketch_final(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_POINTER(sketch_trim((SketchState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0))));
}

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

/*
 * sketch_subtract(a, b): the sketch of a's costs once b's are taken out,
 * when a and b alone tell it exactly; NULL otherwise.
 *
 * A rollup refresh replaces the contribution of each trace it recomputes.
 * Sums come out of a rollup row by subtraction; a sketch's bucket counts
 * subtract as well, but its exact min and max do not in general: when the
 * costs taken out hold the row's min, the new min is somewhere in the
 * rest, which the row does not keep.  So the difference is known exactly
 * only when b's buckets lie within a's and b's costs strictly inside a's
 * min and max (then a's min and max are values that stay).  The result is
 * trimmed to its occupied buckets, so it is the very state a sketch of the
 * remaining costs would be.
 */
Datum
sketch_subtract(PG_FUNCTION_ARGS)
{
	SketchState *a = (SketchState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	SketchState *b = (SketchState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	SketchState *d;

	if (b->count == 0)
		PG_RETURN_POINTER(a);
	/* the min and the max of a must be values that stay */
	if (b->count >= a->count || !(b->min > a->min) || !(b->max < a->max) ||
		b->zero > a->zero)
		PG_RETURN_NULL();

	d = (SketchState *) palloc(VARSIZE(a));
	memcpy(d, a, VARSIZE(a));
	if (!sketch_take_bins(SKETCH_POS(d), d->pos_lo, d->pos_n, SKETCH_POS(b), b->pos_lo, b->pos_n) ||
		!sketch_take_bins(SKETCH_NEG(d), d->neg_lo, d->neg_n, SKETCH_NEG(b), b->neg_lo, b->neg_n))
		PG_RETURN_NULL();
	d->count -= b->count;
	d->zero -= b->zero;
	PG_RETURN_POINTER(sketch_trim(d));
}

/* ---- accessors ---- */

/* Estimate of the order statistic of 0-based rank r (0 <= r < count). */
static double
sketch_value_at_rank(const SketchState *s, int64 r)
{
	int64		seen = 0;
	double		v = 0;
	int32		i;

	if (r <= 0)
		return s->min;
	if (r >= s->count - 1)
		return s->max;
	for (i = s->neg_n - 1; i >= 0; i--)
	{
		seen += (int64) SKETCH_NEG(s)[i];
		if (seen > r)
		{
			v = -sketch_bucket_value(s->neg_lo + i);
			goto found;
		}
	}
	seen += s->zero;
	if (seen > r)
		return 0.0;
	for (i = 0; i < s->pos_n; i++)
	{
		seen += (int64) SKETCH_POS(s)[i];
		if (seen > r)
		{
			v = sketch_bucket_value(s->pos_lo + i);
			goto found;
		}
	}
	elog(ERROR, "cost sketch rank " INT64_FORMAT " beyond count " INT64_FORMAT, r, s->count);
found:
	/* clamping to the exact range only brings the estimate closer */
	if (v < s->min)
		v = s->min;
	if (v > s->max)
		v = s->max;
	return v;
}

/*
 * The rank floor(h) and the fraction f = h - floor(h) of h = q (n - 1), for
 * 0 <= q <= 1 and n >= 1.
 *
 * While n - 1 is below 2^53 it is exact in a double, and h is computed as
 * percentile_cont computes it, in double arithmetic.  Above, n - 1 is not
 * exact in a double, and q (n - 1) in doubles may pass the last rank (or
 * even 2^63, out of the range of an int64): h is then computed exactly in
 * integers from q = m 2^-e, with m an integer below 2^53, as
 * m (n - 1) 2^-e, a product below 2^116.
 */
static int64
sketch_rank(double q, int64 n, double *f)
{
	uint128		prod;
	uint64		m;
	int			e;
	double		h;

	Assert(q >= 0 && q <= 1 && n >= 1);
	if (n - 1 < (INT64CONST(1) << 53))
	{
		h = q * (double) (n - 1);
		*f = h - floor(h);
		/* h <= n - 1 < 2^53: the conversion is exact */
		return (int64) floor(h);
	}
	if (q == 0)
	{
		*f = 0;
		return 0;
	}
	/* q = frac 2^e with frac in [0.5, 1): m = frac 2^53, q = m 2^-(53 - e) */
	m = (uint64) ldexp(frexp(q, &e), 53);
	e = 53 - e;					/* 52 for q = 1, up to 1126 for the least q */
	prod = (uint128) m * (uint128) (n - 1);
	if (e >= 116)
	{
		/* h < 2^116 2^-116 = 1 */
		*f = ldexp((double) prod, -e);
		return 0;
	}
	*f = ldexp((double) (prod & (((uint128) 1 << e) - 1)), -e);
	/* h = prod 2^-e <= n - 1 (q <= 1): its integer part is a rank */
	return (int64) (prod >> e);
}

/* The percentile_cont-style estimate of quantile q. */
static double
sketch_quantile_of(const SketchState *s, double q)
{
	int64		lo;
	double		f,
				vlo,
				vhi;

	if (isnan(q) || q < 0 || q > 1)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("quantile %g is not between 0 and 1", q),
				 errhint("Ask for quantiles as fractions: 0.95 for the 95th percentile.")));
	lo = sketch_rank(q, s->count, &f);
	vlo = sketch_value_at_rank(s, lo);
	/* f > 0 means h > lo, so lo < n - 1 and rank lo + 1 exists */
	if (f == 0 || lo >= s->count - 1)
		return vlo;
	vhi = sketch_value_at_rank(s, lo + 1);
	return vlo + f * (vhi - vlo);
}

/* cost_quantile(state, q): estimated quantile q (NULL for an empty sketch). */
Datum
sketch_quantile(PG_FUNCTION_ARGS)
{
	SketchState *s = (SketchState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	double		q = PG_GETARG_FLOAT8(1);

	if (s->count == 0)
	{
		/* still reject a bad q */
		if (isnan(q) || q < 0 || q > 1)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("quantile %g is not between 0 and 1", q),
					 errhint("Ask for quantiles as fractions: 0.95 for the 95th percentile.")));
		PG_RETURN_NULL();
	}
	PG_RETURN_FLOAT8(sketch_quantile_of(s, q));
}

/* cost_quantiles(state, qs[]): the estimated quantiles, in the order asked. */
Datum
sketch_quantiles(PG_FUNCTION_ARGS)
{
	SketchState *s = (SketchState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	ArrayType  *qa = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *qs;
	bool	   *nulls;
	int			n,
				i;
	Datum	   *out;
	bool	   *onulls;
	int			dims[1];
	int			lbs[1] = {1};

	if (ARR_NDIM(qa) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("quantiles must be a one-dimensional array"),
				 errhint("Pass a flat array, such as ARRAY[0.5, 0.95, 0.99].")));
	deconstruct_array(qa, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &qs, &nulls, &n);
	out = palloc(sizeof(Datum) * Max(n, 1));
	onulls = palloc(sizeof(bool) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
		{
			onulls[i] = true;
			out[i] = (Datum) 0;
			continue;
		}
		if (s->count == 0)
		{
			double		q = DatumGetFloat8(qs[i]);

			if (isnan(q) || q < 0 || q > 1)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("quantile %g is not between 0 and 1", q),
						 errhint("Ask for quantiles as fractions: 0.95 for the 95th percentile.")));
			onulls[i] = true;
			out[i] = (Datum) 0;
			continue;
		}
		onulls[i] = false;
		out[i] = Float8GetDatum(sketch_quantile_of(s, DatumGetFloat8(qs[i])));
	}
	dims[0] = n;
	if (n == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(FLOAT8OID));
	PG_RETURN_ARRAYTYPE_P(construct_md_array(out, onulls, 1, dims, lbs, FLOAT8OID,
											 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* tail_ratio(state): p95 / p50; NULL when empty or p50 is 0. */
Datum
sketch_tail_ratio(PG_FUNCTION_ARGS)
{
	SketchState *s = (SketchState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	double		p50;

	if (s->count == 0)
		PG_RETURN_NULL();
	p50 = sketch_quantile_of(s, 0.5);
	if (p50 == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(sketch_quantile_of(s, 0.95) / p50);
}

/* sketch_count(state): number of values summarised. */
Datum
sketch_count(PG_FUNCTION_ARGS)
{
	SketchState *s = (SketchState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));

	PG_RETURN_INT64(s->count);
}
