/*-------------------------------------------------------------------------
 *
 * money.h
 *	  Exact money for tokacct: signed amounts in integer picodollars.
 *
 * A money amount is an int64 count of 1e-12 currency units (a picodollar
 * for USD).  Every published per-million-token price is a whole number of
 * picodollars per token, so the cost of a call is an exact integer; sums
 * are kept in int128 and surfaced to SQL as numeric.  Nothing here uses
 * floating point.
 *
 * Conversions from numeric refuse values with more than MONEY_SCALE
 * decimals that are not zero (they are not money we can keep exactly) and
 * values beyond the int64 range; both raise an error rather than round or
 * wrap.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_MONEY_H
#define TOKACCT_MONEY_H

#include "postgres.h"
#include "utils/numeric.h"

/* decimals kept: amounts are counts of 10^-MONEY_SCALE */
#define MONEY_SCALE 12
/* one currency unit, in money units */
#define MONEY_ONE	INT64CONST(1000000000000)

/*
 * Convert a numeric to money units.  "what" names the argument in the error
 * message (e.g. "cost").  Errors on NaN, infinity, more than MONEY_SCALE
 * decimals, or a value beyond int64 units.
 */
extern int64 money_from_numeric(Numeric num, const char *what);

/* Same, reading the datum without detoasting copies (fast path for rows). */
extern int64 money_from_datum(Datum d, const char *what);

/*
 * Same for totals such as budgets: an int128 count of money units, up to
 * MONEY_WIDE_LIMIT (about 8.5e25 currency units).
 */
#define MONEY_WIDE_LIMIT	(((int128) 1) << 126)
extern int128 money_from_datum_wide(Datum d, const char *what);

/* Convert an int128 count of money units to numeric (trailing zeros trimmed). */
extern Numeric money_to_numeric(int128 units);

/* Format an int128 count of money units as a plain decimal string. */
extern char *money_to_cstring(int128 units);

/* Checked int64 arithmetic on money units; errors with numeric_value_out_of_range. */
extern int64 money_add(int64 a, int64 b);
extern int64 money_mul(int64 a, int64 b);
/* Narrow an int128 sum to int64, or raise numeric_value_out_of_range. */
extern int64 money_narrow(int128 v);

#endif							/* TOKACCT_MONEY_H */
