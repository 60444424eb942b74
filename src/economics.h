/*-------------------------------------------------------------------------
 *
 * economics.h
 *	  Scalar economics of retries, break-even, pass@k and context growth.
 *
 * Probabilities and rates are float8 (statistics); money is numeric.  Money
 * results that are a quotient are rounded to the picodollar by money's rule,
 * half away from zero (see money.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_ECONOMICS_H
#define TOKACCT_ECONOMICS_H

#include "utils/numeric.h"

/* Argument checks shared with the aggregates; each raises a clear error. */
extern void econ_check_probability(float8 p, const char *what);
extern void econ_check_amount(Numeric n, const char *what);
extern void econ_check_attempts(int32 k, const char *what);

/* The two-sided standard normal quantile for a confidence level in (0, 1). */
extern float8 econ_normal_quantile(float8 confidence);

/* Wilson score interval for successes out of trials. */
extern void econ_wilson(float8 successes, float8 trials, float8 z,
						float8 *low, float8 *high);

#endif							/* TOKACCT_ECONOMICS_H */
