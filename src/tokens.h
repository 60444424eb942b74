/*-------------------------------------------------------------------------
 *
 * tokens.h
 *	  Token counts, the quantity tokacct prices: the check every function
 *	  taking a count applies (pricing, and economics' context and loop
 *	  sizes).  Include it after postgres.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_TOKENS_H
#define TOKACCT_TOKENS_H

/* A token count must not be negative (inline: pricing checks five a row). */
static inline void
tokens_check_count(int64 n, const char *what)
{
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", what),
				 errdetail("Got " INT64_FORMAT ".", n)));
}

#endif							/* TOKACCT_TOKENS_H */
