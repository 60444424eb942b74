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

/*
 * Same, reading the datum without a detoasted copy: the full decoder, which
 * handles every form and raises every error.
 */
extern int64 money_decode_datum(Datum d, const char *what);

/*
 * Same for totals such as budgets: an int128 count of money units, up to
 * MONEY_WIDE_LIMIT (about 8.5e25 currency units).
 */
#define MONEY_WIDE_LIMIT	(((int128) 1) << 126)
extern int128 money_from_datum_wide(Datum d, const char *what);

/* Convert an int128 count of money units to numeric (trailing zeros trimmed). */
extern Numeric money_to_numeric(int128 units);

/* An int128 integer (not money units) as a numeric of scale 0. */
extern Numeric money_int128_numeric(int128 v);

/* Format an int128 count of money units as a plain decimal string. */
extern char *money_to_cstring(int128 units);

/* Checked int64 arithmetic on money units; errors with numeric_value_out_of_range. */
extern int64 money_add(int64 a, int64 b);
extern int64 money_mul(int64 a, int64 b);
/* Narrow an int128 sum to int64, or raise numeric_value_out_of_range. */
extern int64 money_narrow(int128 v);

/*
 * Money units of a numeric argument: the per-row path of aggregates and
 * pricing.
 *
 * The common case, an uncompressed numeric in the short format whose value
 * is below 10000 and has no digit below 1e-12, is decoded here inline with
 * int64 arithmetic (at most 4 base-10000 digits of weight -3..0, so below
 * 1e16 units: no overflow is possible).  Everything else, including every
 * value that is an error (NaN, infinity, too many decimals, out of range),
 * goes to money_decode_datum(), which is the reference; the regression tests
 * compare the two paths over the same values.
 */
static inline int64
money_from_datum(Datum d, const char *what)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);
	const uint8 *p;
	uint16		hdr;
	int			ndigits;
	int			weight;
	int64		acc = 0;

	/* a toast pointer also has a 1-byte header: test for it first */
	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		return money_decode_datum(d, what);
	if (VARATT_IS_SHORT(v))
	{
		if (VARSIZE_SHORT(v) < VARHDRSZ_SHORT + sizeof(uint16))
			return money_decode_datum(d, what);
		p = (const uint8 *) VARDATA_SHORT(v);
		ndigits = (int) ((VARSIZE_SHORT(v) - VARHDRSZ_SHORT - sizeof(uint16)) / sizeof(int16));
	}
	else
	{
		if (VARSIZE(v) < VARHDRSZ + sizeof(uint16))
			return money_decode_datum(d, what);
		p = (const uint8 *) VARDATA(v);
		ndigits = (int) ((VARSIZE(v) - VARHDRSZ - sizeof(uint16)) / sizeof(int16));
	}

	memcpy(&hdr, p, sizeof(uint16));
	/* short format (0x8000 in the top two bits), weight sign bit clear or set */
	if ((hdr & 0xC000) != 0x8000)
		return money_decode_datum(d, what);
	weight = (hdr & 0x0040) ? (int) (~0x003F | (hdr & 0x003F)) : (int) (hdr & 0x003F);
	if (weight > 0 || weight < -3 || ndigits > weight + 4)
		return money_decode_datum(d, what);
	for (int i = 0; i < ndigits; i++)
	{
		int16		digit;

		memcpy(&digit, p + sizeof(uint16) + i * sizeof(int16), sizeof(int16));
		acc = acc * 10000 + digit;
	}
	for (int i = weight + 4 - ndigits; i > 0; i--)
		acc *= 10000;
	return (hdr & 0x2000) ? -acc : acc;
}

#endif							/* TOKACCT_MONEY_H */
