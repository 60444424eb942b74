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

#define ECON_MONEY_SCALE	12

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

#endif							/* TOKACCT_ECONOMICS_H */
