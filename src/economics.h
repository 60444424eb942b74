/*-------------------------------------------------------------------------
 *
 * economics.h
 *	  Scalar economics of retries, break-even, pass@k and context growth.
 *
 * Probabilities and rates are float8 (statistics); money is numeric.  Money
 * results that are a quotient are rounded half away from zero to
 * ECON_MONEY_SCALE decimals (a picodollar), the scale at which tokacct keeps
 * money (see money.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_ECONOMICS_H
#define TOKACCT_ECONOMICS_H

#include "postgres.h"
#include "utils/numeric.h"

#define ECON_MONEY_SCALE	12

/* Argument checks shared with the aggregates; each raises a clear error. */
extern void econ_check_probability(float8 p, const char *what);
extern void econ_check_amount(Numeric n, const char *what);
extern void econ_check_attempts(int32 k, const char *what);

/* A token count must not be negative (inline: pricing checks five a row). */
static inline void
econ_check_tokens(int64 n, const char *what)
{
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", what),
				 errdetail("Got " INT64_FORMAT ".", n)));
}

/* The two-sided standard normal quantile for a confidence level in (0, 1). */
extern float8 econ_normal_quantile(float8 confidence);

/* Wilson score interval for successes out of trials. */
extern void econ_wilson(float8 successes, float8 trials, float8 z,
						float8 *low, float8 *high);

#endif							/* TOKACCT_ECONOMICS_H */
