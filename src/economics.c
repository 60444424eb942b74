/*-------------------------------------------------------------------------
 *
 * economics.c
 *	  Scalar economics: effective cost under retries, capped retries with a
 *	  fallback, break-even against a unit price, pass@k and pass^k, context
 *	  cost of a growing history, Wilson intervals.
 *
 * Money arithmetic is done in numeric with the success probability taken at
 * its decimal value (float8 -> numeric keeps 15 significant digits, so 0.7
 * is 0.7), so results are exact until the final rounding to a picodollar.
 * Powers (1-p)^k are computed by squaring with intermediates rounded to
 * ECON_POWER_SCALE decimals past p's leading zeros, far below the
 * picodollar (and below p itself, however small).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/numeric.h"

#include "money.h"
#include "tokens.h"

/* decimals kept in intermediate probabilities and quotients */
#define ECON_POWER_SCALE	40

/* ---- argument checks ---- */

static void
econ_check_probability(float8 p, const char *what)
{
	if (isnan(p))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a number, not NaN", what),
				 errhint("A success probability is a number in (0, 1].")));
	if (p <= 0.0 || p > 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be greater than 0 and at most 1", what),
				 errdetail("Got %g.", p),
				 errhint("A workflow that never succeeds has no cost per solved item; give p in (0, 1].")));
}

static void
econ_check_amount(Numeric n, const char *what)
{
	if (numeric_is_nan(n) || numeric_is_inf(n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite amount", what),
				 errdetail("NaN and infinity are not money.")));
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(n),
										  NumericGetDatum(int64_to_numeric(0)))) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", what),
				 errdetail("Got %s.",
						   DatumGetCString(DirectFunctionCall1(numeric_out,
															   NumericGetDatum(n))))));
}

static void
econ_check_attempts(int32 k, const char *what)
{
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be at least 1", what),
				 errdetail("Got %d.", k)));
}

/* ---- numeric helpers ---- */

static Numeric
n_int(int64 v)
{
	return int64_to_numeric(v);
}

static Numeric
n_float(float8 v)
{
	return DatumGetNumeric(DirectFunctionCall1(float8_numeric, Float8GetDatum(v)));
}

static float8
n_to_float(Numeric n)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											  NumericGetDatum(n)));
}

static Numeric
n_round(Numeric n, int scale)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_round, NumericGetDatum(n),
											   Int32GetDatum(scale)));
}

static Numeric
n_add(Numeric a, Numeric b)
{
	return numeric_add_opt_error(a, b, NULL);
}

static Numeric
n_sub(Numeric a, Numeric b)
{
	return numeric_sub_opt_error(a, b, NULL);
}

static Numeric
n_mul(Numeric a, Numeric b)
{
	return numeric_mul_opt_error(a, b, NULL);
}

/* a / b with at least ECON_POWER_SCALE decimals */
static Numeric
n_div(Numeric a, Numeric b)
{
	return numeric_div_opt_error(n_round(a, ECON_POWER_SCALE), b, NULL);
}

static int
n_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a),
											 NumericGetDatum(b)));
}

/* n without trailing zero decimals */
static Numeric
n_trim(Numeric n)
{
	return DatumGetNumeric(DirectFunctionCall1(numeric_trim_scale, NumericGetDatum(n)));
}

/* x^k for k >= 0 by squaring, intermediates rounded to scale decimals */
static Numeric
n_pow(Numeric x, int32 k, int scale)
{
	Numeric		result = n_int(1);

	while (k > 0)
	{
		if (k & 1)
			result = n_round(n_mul(result, x), scale);
		k >>= 1;
		if (k > 0)
			x = n_round(n_mul(x, x), scale);
	}
	return result;
}

/*
 * Capped retries: with first-try success p (q = 1 - p) and at most k
 * attempts, the chance an item is still unsolved is q^k and the expected
 * number of attempts is 1 + q + ... + q^(k-1) = (1 - q^k) / p.
 */
typedef struct EconCapped
{
	Numeric		p;
	Numeric		unsolved;		/* q^k */
	Numeric		attempts;		/* (1 - q^k) / p */
} EconCapped;

static EconCapped
econ_capped(float8 p, int32 k)
{
	EconCapped	c;
	Numeric		one = n_int(1);

	/*
	 * q^k keeps ECON_POWER_SCALE decimals past p's leading zeros: rounded to
	 * a fixed scale, (1 - 1e-50)^k would be 1, and 1 - q^k (the yield, and
	 * p times the expected attempts) would be lost entirely.
	 */
	int			scale = ECON_POWER_SCALE + (int) floor(-log10(p));

	c.p = n_float(p);
	c.unsolved = n_pow(n_sub(one, c.p), k, scale);
	/* 1 - q^k has at most scale decimals: divide it unrounded */
	c.attempts = numeric_div_opt_error(n_sub(one, c.unsolved), c.p, NULL);
	return c;
}

/* expected cost per item: T * attempts + H * q^k */
static Numeric
econ_capped_cost(EconCapped *c, Numeric attempt_cost, Numeric fallback_cost)
{
	return n_add(n_mul(attempt_cost, c->attempts),
				 n_mul(fallback_cost, c->unsolved));
}

/* ---- effective cost ---- */

PG_FUNCTION_INFO_V1(econ_effective_cost);

/* T / p: expected cost per solved item when every attempt costs T. */
Datum
econ_effective_cost(PG_FUNCTION_ARGS)
{
	Numeric		t = PG_GETARG_NUMERIC(0);
	float8		p = PG_GETARG_FLOAT8(1);

	econ_check_amount(t, "attempt cost");
	econ_check_probability(p, "success probability");
	PG_RETURN_NUMERIC(money_round_numeric(n_div(t, n_float(p))));
}

PG_FUNCTION_INFO_V1(econ_effective_cost_split);

/* T_s + T_f (1 - p) / p: a success costs T_s, each failed attempt T_f. */
Datum
econ_effective_cost_split(PG_FUNCTION_ARGS)
{
	Numeric		ts = PG_GETARG_NUMERIC(0);
	Numeric		tf = PG_GETARG_NUMERIC(1);
	float8		p = PG_GETARG_FLOAT8(2);
	Numeric		np;

	econ_check_amount(ts, "success cost");
	econ_check_amount(tf, "failure cost");
	econ_check_probability(p, "success probability");
	np = n_float(p);
	PG_RETURN_NUMERIC(money_round_numeric(n_add(ts, n_div(n_mul(tf, n_sub(n_int(1), np)), np))));
}

PG_FUNCTION_INFO_V1(econ_expected_item_cost);

/*
 * Capped retries with a fallback: expected cost per item, yield, expected
 * attempts and the AI cost per item solved by AI.
 */
Datum
econ_expected_item_cost(PG_FUNCTION_ARGS)
{
	Numeric		t = PG_GETARG_NUMERIC(0);
	float8		p = PG_GETARG_FLOAT8(1);
	int32		k = PG_GETARG_INT32(2);
	Numeric		h = PG_GETARG_NUMERIC(3);
	TupleDesc	tupdesc;
	EconCapped	c;
	Numeric		solved;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	econ_check_amount(t, "attempt cost");
	econ_check_probability(p, "success probability");
	econ_check_attempts(k, "max_attempts");
	econ_check_amount(h, "fallback cost");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	c = econ_capped(p, k);
	solved = n_sub(n_int(1), c.unsolved);
	values[0] = NumericGetDatum(money_round_numeric(econ_capped_cost(&c, t, h)));
	values[1] = Float8GetDatum(n_to_float(solved));
	values[2] = Float8GetDatum(n_to_float(c.attempts));
	values[3] = NumericGetDatum(money_round_numeric(n_div(n_mul(t, c.attempts), solved)));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}

/* ---- break-even ---- */

PG_FUNCTION_INFO_V1(econ_break_even_p);

/*
 * The first-try success rate at which T / p equals a unit price: T / U.
 * NULL when T > U (no success rate makes AI cheaper than the unit price).
 */
Datum
econ_break_even_p(PG_FUNCTION_ARGS)
{
	Numeric		t = PG_GETARG_NUMERIC(0);
	Numeric		u = PG_GETARG_NUMERIC(1);

	econ_check_amount(t, "attempt cost");
	econ_check_amount(u, "unit price");
	if (n_cmp(t, u) > 0)
		PG_RETURN_NULL();
	if (n_cmp(t, n_int(0)) == 0)
		PG_RETURN_FLOAT8(0.0);
	PG_RETURN_FLOAT8(n_to_float(n_div(t, u)));
}

PG_FUNCTION_INFO_V1(econ_break_even_p_capped);

/*
 * The first-try success rate p at which capped retries with a fallback cost
 * exactly the unit price U per item.  The expected cost per item falls from
 * T*k + H (p -> 0) to T (p = 1), so: NULL when U < T (never cheaper), 0 when
 * U >= T*k + H (always cheaper), else the root, found by bisection to the
 * last bit of a float8.
 */
Datum
econ_break_even_p_capped(PG_FUNCTION_ARGS)
{
	Numeric		t = PG_GETARG_NUMERIC(0);
	Numeric		u = PG_GETARG_NUMERIC(1);
	int32		k = PG_GETARG_INT32(2);
	Numeric		h = PG_GETARG_NUMERIC(3);
	float8		lo = 0.0,
				hi = 1.0;

	econ_check_amount(t, "attempt cost");
	econ_check_amount(u, "unit price");
	econ_check_attempts(k, "max_attempts");
	econ_check_amount(h, "fallback cost");

	if (n_cmp(u, t) < 0)
		PG_RETURN_NULL();
	if (n_cmp(u, n_add(n_mul(t, n_int(k)), h)) >= 0)
		PG_RETURN_FLOAT8(0.0);

	/* invariant: cost(lo) > U >= cost(hi) */
	for (int i = 0; i < 200; i++)
	{
		float8		mid = lo + (hi - lo) / 2;
		EconCapped	c;

		if (mid <= lo || mid >= hi)
			break;
		c = econ_capped(mid, k);
		if (n_cmp(econ_capped_cost(&c, t, h), u) > 0)
			lo = mid;
		else
			hi = mid;
	}
	PG_RETURN_FLOAT8(hi);
}

PG_FUNCTION_INFO_V1(econ_break_even_attempt_cost);

/* The largest attempt cost T with T / p <= U: U * p. */
Datum
econ_break_even_attempt_cost(PG_FUNCTION_ARGS)
{
	float8		p = PG_GETARG_FLOAT8(0);
	Numeric		u = PG_GETARG_NUMERIC(1);

	econ_check_probability(p, "success probability");
	econ_check_amount(u, "unit price");
	PG_RETURN_NUMERIC(money_round_numeric(n_mul(u, n_float(p))));
}

PG_FUNCTION_INFO_V1(econ_break_even_attempt_cost_capped);

/*
 * The largest attempt cost T with T * attempts + H * q^k <= U, or NULL when
 * the fallback alone already costs more than U.
 */
Datum
econ_break_even_attempt_cost_capped(PG_FUNCTION_ARGS)
{
	float8		p = PG_GETARG_FLOAT8(0);
	Numeric		u = PG_GETARG_NUMERIC(1);
	int32		k = PG_GETARG_INT32(2);
	Numeric		h = PG_GETARG_NUMERIC(3);
	EconCapped	c;
	Numeric		left;

	econ_check_probability(p, "success probability");
	econ_check_amount(u, "unit price");
	econ_check_attempts(k, "max_attempts");
	econ_check_amount(h, "fallback cost");
	c = econ_capped(p, k);
	left = n_sub(u, n_mul(h, c.unsolved));
	if (n_cmp(left, n_int(0)) < 0)
		PG_RETURN_NULL();
	/* round down: the result must still beat the price */
	PG_RETURN_NUMERIC(n_trim(DatumGetNumeric(DirectFunctionCall2(numeric_trunc,
																 NumericGetDatum(n_div(left, c.attempts)),
																 Int32GetDatum(MONEY_SCALE)))));
}

/* ---- pass@k and pass^k ---- */

static void
econ_check_nck(int32 n, int32 c, int32 k)
{
	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("number of trials n must be at least 1"),
				 errdetail("Got n = %d.", n)));
	if (c < 0 || c > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("number of successes c must be between 0 and n"),
				 errdetail("Got c = %d with n = %d.", c, n)));
	if (k < 1 || k > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and the number of trials n"),
				 errdetail("Got k = %d with n = %d.", k, n),
				 errhint("The unbiased estimator needs at least k trials per item.")));
}

/*
 * C(m, k) / C(n, k) for 0 <= m <= n, as a product of ratios (no overflow).
 * It equals C(n - k, d) / C(n, d) with d = n - m, so it takes
 * min(k, d) factors: (m - i) / (n - i) for i < k, or (n - k - i) / (n - i)
 * for i < d.
 */
static float8
econ_binom_ratio(int32 m, int32 n, int32 k)
{
	int32		d = n - m;
	int32		top;
	int32		steps;
	float8		r = 1.0;

	if (m < k)
		return 0.0;
	if (d == 0)
		return 1.0;
	/* the loop may still be long: stop once the product underflows, and stay cancellable */
	top = (d < k) ? n - k : m;
	steps = Min(k, d);
	for (int32 i = 0; i < steps && r > 0.0; i++)
	{
		r *= (float8) (top - i) / (float8) (n - i);
		if ((i & 0xFFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return r;
}

PG_FUNCTION_INFO_V1(econ_pass_at_k);

/* pass@k = 1 - C(n-c, k) / C(n, k): the chance that k tries include a success. */
Datum
econ_pass_at_k(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	int32		c = PG_GETARG_INT32(1);
	int32		k = PG_GETARG_INT32(2);

	econ_check_nck(n, c, k);
	PG_RETURN_FLOAT8(1.0 - econ_binom_ratio(n - c, n, k));
}

PG_FUNCTION_INFO_V1(econ_pass_hat_k);

/* pass^k = C(c, k) / C(n, k): the chance that k tries all succeed. */
Datum
econ_pass_hat_k(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	int32		c = PG_GETARG_INT32(1);
	int32		k = PG_GETARG_INT32(2);

	econ_check_nck(n, c, k);
	PG_RETURN_FLOAT8(econ_binom_ratio(c, n, k));
}

/* ---- context ---- */

PG_FUNCTION_INFO_V1(econ_context_cost);

/* a*n + b*n^2: compute cost of a context of n tokens. */
Datum
econ_context_cost(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);
	Numeric		a = PG_GETARG_NUMERIC(1);
	Numeric		b = PG_GETARG_NUMERIC(2);
	Numeric		nn;

	tokens_check_count(n, "context length");
	econ_check_amount(a, "linear coefficient");
	econ_check_amount(b, "quadratic coefficient");
	nn = n_int(n);
	PG_RETURN_NUMERIC(n_trim(n_add(n_mul(a, nn), n_mul(b, n_mul(nn, nn)))));
}

PG_FUNCTION_INFO_V1(econ_agent_loop_input_tokens);

/*
 * Input tokens of a loop of k turns whose first turn sends base tokens and
 * each later turn m more (its growing history): k*base + m*k*(k-1)/2.
 */
Datum
econ_agent_loop_input_tokens(PG_FUNCTION_ARGS)
{
	int32		k = PG_GETARG_INT32(0);
	int64		base = PG_GETARG_INT64(1);
	int64		m = PG_GETARG_INT64(2);
	int128		total;

	if (k < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("number of turns must not be negative"),
				 errdetail("Got %d.", k)));
	tokens_check_count(base, "base input tokens");
	tokens_check_count(m, "tokens added per turn");

	total = (int128) k * base + (int128) m * ((int128) k * (k - 1) / 2);
	if (total > PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("bigint out of range"),
				 errdetail("The loop sends more than 9223372036854775807 input tokens.")));
	PG_RETURN_INT64((int64) total);
}

/* ---- Wilson interval ---- */

/*
 * z with P(|Z| <= z) = confidence for a standard normal Z: the root of
 * erfc(z / sqrt 2) = 1 - confidence, by bisection to the last bit.
 */
static float8
econ_normal_quantile(float8 confidence)
{
	float8		alpha = 1.0 - confidence;
	float8		lo = 0.0,
				hi = 40.0;

	for (int i = 0; i < 200; i++)
	{
		float8		mid = lo + (hi - lo) / 2;

		if (mid <= lo || mid >= hi)
			break;
		if (erfc(mid / M_SQRT2) > alpha)
			lo = mid;
		else
			hi = mid;
	}
	return lo + (hi - lo) / 2;
}

static void
econ_wilson(float8 s, float8 n, float8 z, float8 *low, float8 *high)
{
	float8		phat = s / n;
	float8		z2 = z * z;
	float8		denom = 1.0 + z2 / n;
	float8		center = (phat + z2 / (2.0 * n)) / denom;
	float8		half = z / denom * sqrt(phat * (1.0 - phat) / n + z2 / (4.0 * n * n));

	*low = Max(0.0, center - half);
	*high = Min(1.0, center + half);
}

PG_FUNCTION_INFO_V1(econ_wilson_interval);

/* Wilson score interval for a success rate. */
Datum
econ_wilson_interval(PG_FUNCTION_ARGS)
{
	int64		s = PG_GETARG_INT64(0);
	int64		n = PG_GETARG_INT64(1);
	float8		conf = PG_GETARG_FLOAT8(2);
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	float8		low,
				high;

	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trials must be at least 1"),
				 errdetail("Got " INT64_FORMAT ".", n),
				 errhint("A success rate over no trials has no interval.")));
	if (s < 0 || s > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("successes must be between 0 and the number of trials"),
				 errdetail("Got " INT64_FORMAT " successes in " INT64_FORMAT " trials.", s, n)));
	if (isnan(conf) || conf <= 0.0 || conf >= 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("confidence must be greater than 0 and less than 1"),
				 errdetail("Got %g.", conf),
				 errhint("For a 95%% interval, pass 0.95.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	econ_wilson((float8) s, (float8) n, econ_normal_quantile(conf), &low, &high);
	values[0] = Float8GetDatum(low);
	values[1] = Float8GetDatum(high);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}

/* ---- before and after: differences with confidence intervals ---- */

static void
econ_check_confidence(float8 conf)
{
	if (isnan(conf) || conf <= 0.0 || conf >= 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("confidence must be greater than 0 and less than 1"),
				 errdetail("Got %g.", conf),
				 errhint("For a 95%% interval, pass 0.95.")));
}

static void
econ_check_counts(int64 s, int64 n, const char *which)
{
	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trials of the %s sample must be at least 1", which),
				 errdetail("Got " INT64_FORMAT ".", n),
				 errhint("A rate over no trials has no interval.")));
	if (s < 0 || s > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("successes of the %s sample must be between 0 and its trials", which),
				 errdetail("Got " INT64_FORMAT " successes in " INT64_FORMAT " trials.", s, n)));
}

PG_FUNCTION_INFO_V1(econ_proportion_diff_ci);

/*
 * Difference of two independent proportions p1 - p2 with Newcombe's hybrid
 * score interval (his method 10, 1998): the Wilson intervals (l1, u1) and
 * (l2, u2) of each rate combined as
 *   low  = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)
 *   high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2).
 * Unlike the Wald interval it stays inside [-1, 1] and keeps its coverage
 * near 0 and 1 and on small samples.
 */
Datum
econ_proportion_diff_ci(PG_FUNCTION_ARGS)
{
	int64		s1 = PG_GETARG_INT64(0);
	int64		n1 = PG_GETARG_INT64(1);
	int64		s2 = PG_GETARG_INT64(2);
	int64		n2 = PG_GETARG_INT64(3);
	float8		conf = PG_GETARG_FLOAT8(4);
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	float8		p1,
				p2,
				l1,
				u1,
				l2,
				u2,
				z,
				d;

	econ_check_counts(s1, n1, "first");
	econ_check_counts(s2, n2, "second");
	econ_check_confidence(conf);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	z = econ_normal_quantile(conf);
	p1 = (float8) s1 / (float8) n1;
	p2 = (float8) s2 / (float8) n2;
	econ_wilson((float8) s1, (float8) n1, z, &l1, &u1);
	econ_wilson((float8) s2, (float8) n2, z, &l2, &u2);
	d = p1 - p2;
	values[0] = Float8GetDatum(d);
	values[1] = Float8GetDatum(d - sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2)));
	values[2] = Float8GetDatum(d + sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2)));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}

static int
econ_cmp_float8(const void *a, const void *b)
{
	float8		x = *(const float8 *) a;
	float8		y = *(const float8 *) b;

	return (x > y) - (x < y);
}

/*
 * The sorted finite values of a float8[] (NULL elements skipped; NaN and
 * infinities refused).  *n gets their number.
 */
static float8 *
econ_sorted_sample(ArrayType *arr, const char *which, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	float8	   *v;
	int			k = 0;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the %s sample must be a one-dimensional array", which)));
	deconstruct_array(arr, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &nelems);
	v = palloc(sizeof(float8) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
	{
		float8		x;

		if (nulls[i])
			continue;
		x = DatumGetFloat8(elems[i]);
		if (isnan(x) || isinf(x))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the %s sample holds a value that is not finite", which),
					 errdetail("Element %d is %g.", i + 1, x),
					 errhint("Leave such values out (or make them NULL, which is skipped).")));
		v[k++] = x;
	}
	qsort(v, k, sizeof(float8), econ_cmp_float8);
	*n = k;
	return v;
}

/*
 * The rank l (1-based) of the order statistic that bounds a distribution-free
 * confidence interval [x_(l), x_(n+1-l)] for a median at confidence c: the
 * largest l >= 1 with P(B <= l - 1) <= (1 - c) / 2 for B ~ Binomial(n, 1/2),
 * so the interval covers the median with probability at least c whatever the
 * distribution.  0 when even [x_(1), x_(n)] is not enough (n too small).
 */
static int
econ_median_rank(int n, float8 c)
{
	float8		tail = (1.0 - c) / 2.0;
	float8		lognf = lgamma((float8) n + 1.0);
	float8		cdf = 0.0;

	for (int k = 0; k <= n / 2; k++)
	{
		cdf += exp(lognf - lgamma((float8) k + 1.0) - lgamma((float8) (n - k) + 1.0)
				   - (float8) n * M_LN2);
		if (cdf > tail)
			return k;			/* P(B <= k - 1) <= tail < P(B <= k): l = k */
		if ((k & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return n / 2;
}

static float8
econ_median_sorted(const float8 *v, int n)
{
	return (n % 2) ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

PG_FUNCTION_INFO_V1(econ_median_diff_ci);

/*
 * Difference of the medians of two independent samples, median1 - median2,
 * with an exact distribution-free interval: each median gets its
 * order-statistic interval at confidence sqrt(c) (econ_median_rank), and the
 * difference lies within [low1 - high2, high1 - low2] whenever both cover,
 * which happens with probability at least sqrt(c)^2 = c.  No assumption on
 * the shape of either distribution, no resampling, the same answer every
 * time; conservative (coverage at least c, often above).  Low and high are
 * NULL when a sample is too small for such an interval (under 7 values at
 * 0.95).
 */
Datum
econ_median_diff_ci(PG_FUNCTION_ARGS)
{
	ArrayType  *a1 = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *a2 = PG_GETARG_ARRAYTYPE_P(1);
	float8		conf = PG_GETARG_FLOAT8(2);
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	float8	   *v1,
			   *v2;
	int			n1,
				n2,
				l1,
				l2;
	float8		c;

	econ_check_confidence(conf);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	v1 = econ_sorted_sample(a1, "first", &n1);
	v2 = econ_sorted_sample(a2, "second", &n2);
	values[5] = Int64GetDatum((int64) n1);
	values[6] = Int64GetDatum((int64) n2);
	if (n1 == 0 || n2 == 0)
	{
		for (int i = 0; i < 5; i++)
			nulls[i] = true;
		if (n1 > 0)
		{
			nulls[0] = false;
			values[0] = Float8GetDatum(econ_median_sorted(v1, n1));
		}
		if (n2 > 0)
		{
			nulls[1] = false;
			values[1] = Float8GetDatum(econ_median_sorted(v2, n2));
		}
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
														  values, nulls)));
	}
	values[0] = Float8GetDatum(econ_median_sorted(v1, n1));
	values[1] = Float8GetDatum(econ_median_sorted(v2, n2));
	values[2] = Float8GetDatum(DatumGetFloat8(values[0]) - DatumGetFloat8(values[1]));
	c = sqrt(conf);
	l1 = econ_median_rank(n1, c);
	l2 = econ_median_rank(n2, c);
	if (l1 < 1 || l2 < 1)
	{
		nulls[3] = nulls[4] = true;
	}
	else
	{
		/* x_(l) is v[l - 1]; x_(n + 1 - l) is v[n - l] */
		values[3] = Float8GetDatum(v1[l1 - 1] - v2[n2 - l2]);
		values[4] = Float8GetDatum(v1[n1 - l1] - v2[l2 - 1]);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
