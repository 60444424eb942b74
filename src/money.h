/*-------------------------------------------------------------------------
 *
 * money.h
 *	  Exact money for tokacct: signed amounts in integer picodollars.
 *
 * A money amount is a count of 1e-12 currency units (a picodollar for USD):
 * an int64 for one amount (a cost, a value, a fee), an int128 for totals.
 * Every published per-million-token price is a whole number of picodollars
 * per token, so the cost of a call is an exact integer; sums are kept in
 * int128 and surfaced to SQL as numeric.  Nothing here uses floating point.
 *
 * One rounding rule, half away from zero, used everywhere money is rounded:
 * money coming in as numeric (a cost with 30 decimals, a float8 cast to
 * numeric) is rounded to the picodollar by it, and so is every quotient.
 * NaN, infinity and amounts beyond the limits below are refused.
 *
 * This file and money.c own the money plumbing: numeric's on-disk layout,
 * the scale and the limits, checked and exactly rounded int128 arithmetic,
 * and the decimal text form of an amount.  Include it after postgres.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_MONEY_H
#define TOKACCT_MONEY_H

#include "utils/numeric.h"

/* decimals kept: amounts are counts of 10^-MONEY_SCALE */
#define MONEY_SCALE 12
/* one currency unit, in money units */
#define MONEY_ONE	INT64CONST(1000000000000)

/* the largest magnitude of one amount, in money units (int64) */
#define MONEY_LIMIT			((int128) PG_INT64_MAX)
/* the largest magnitude of a total such as a budget or a state's sum (about 8.5e25 currency units) */
#define MONEY_WIDE_LIMIT	(((int128) 1) << 126)

/*
 * numeric's on-disk header (see PostgreSQL's numeric.c; the format is stable
 * across major versions because it is stored in tables): a uint16 of sign
 * and flags, in the short format also the display scale and the weight of
 * the first base-10000 digit, then the digits.
 */
#define MONEY_NUM_SIGN_MASK			0xC000
#define MONEY_NUM_NEG				0x4000
#define MONEY_NUM_SHORT				0x8000
#define MONEY_NUM_SPECIAL			0xC000
#define MONEY_NUM_SHORT_SIGN_MASK	0x2000
#define MONEY_NUM_SHORT_DSCALE_SHIFT 7
#define MONEY_NUM_SHORT_WEIGHT_SIGN 0x0040
#define MONEY_NUM_SHORT_WEIGHT_MASK 0x003F
#define MONEY_NUM_NBASE				10000
/* money units are NBASE^-MONEY_NUM_UNIT_WEIGHT */
#define MONEY_NUM_UNIT_WEIGHT		3

/*
 * Money units of a numeric, rounded to the picodollar half away from zero.
 * "what" names the argument in errors (e.g. "cost").  Errors on NaN,
 * infinity or a magnitude beyond MONEY_LIMIT.  This is the full decoder,
 * which handles every form of numeric.
 */
extern int64 money_decode_datum(Datum d, const char *what);

/* Same for totals such as budgets: magnitude up to MONEY_WIDE_LIMIT. */
extern int128 money_from_datum_wide(Datum d, const char *what);

/*
 * Money units of a numeric argument: the per-row path of aggregates and
 * pricing.
 *
 * The common case, an uncompressed numeric in the short format whose value
 * is below 10000 and has no digit below 1e-12, is decoded here inline with
 * int64 arithmetic (at most 4 base-10000 digits of weight -3..0, so below
 * 1e16 units: no overflow is possible).  Everything else, including every
 * value that is rounded or is an error (NaN, infinity, out of range), goes to
 * money_decode_datum(), which is the reference; the regression tests compare
 * the two paths over the same values.
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
	/* short format, weight sign bit clear or set */
	if ((hdr & MONEY_NUM_SIGN_MASK) != MONEY_NUM_SHORT)
		return money_decode_datum(d, what);
	weight = (hdr & MONEY_NUM_SHORT_WEIGHT_SIGN) ?
		(int) (~MONEY_NUM_SHORT_WEIGHT_MASK | (hdr & MONEY_NUM_SHORT_WEIGHT_MASK)) :
		(int) (hdr & MONEY_NUM_SHORT_WEIGHT_MASK);
	if (weight > 0 || weight < -MONEY_NUM_UNIT_WEIGHT ||
		ndigits > weight + 1 + MONEY_NUM_UNIT_WEIGHT)
		return money_decode_datum(d, what);
	for (int i = 0; i < ndigits; i++)
	{
		int16		digit;

		memcpy(&digit, p + sizeof(uint16) + i * sizeof(int16), sizeof(int16));
		acc = acc * MONEY_NUM_NBASE + digit;
	}
	for (int i = weight + 1 + MONEY_NUM_UNIT_WEIGHT - ndigits; i > 0; i--)
		acc *= MONEY_NUM_NBASE;
	return (hdr & MONEY_NUM_SHORT_SIGN_MASK) ? -acc : acc;
}

/* An int128 count of money units as numeric, without trailing zero decimals. */
extern Numeric money_to_numeric(int128 units);

/* An int128 count of money units as a plain decimal string (no trailing zeros). */
extern char *money_to_cstring(int128 units);

/* A numeric rounded to the picodollar (half away from zero), trailing zeros trimmed. */
extern Numeric money_round_numeric(Numeric n);

/*
 * Read the text form of an amount at *p: [-]digits[.digits] with at most
 * MONEY_SCALE decimals (what money_to_cstring prints), the minus sign only
 * when negative_ok, magnitude up to MONEY_WIDE_LIMIT units.  On success
 * *units holds the amount and *p points past it; otherwise the result says
 * what is wrong and *p is unchanged.
 */
typedef enum MoneyParseResult
{
	MONEY_PARSE_OK,
	MONEY_PARSE_NO_DIGITS,		/* no digit where the amount starts */
	MONEY_PARSE_NO_DECIMALS,	/* a decimal point without digits after it */
	MONEY_PARSE_TOO_MANY_DECIMALS,	/* more than MONEY_SCALE decimals */
	MONEY_PARSE_OUT_OF_RANGE	/* beyond MONEY_WIDE_LIMIT */
} MoneyParseResult;

extern MoneyParseResult money_parse(const char **p, bool negative_ok, int128 *units);

/*
 * Checked int128 arithmetic on money: on overflow, the error
 * numeric_value_out_of_range with "detail" as its detail (which names what
 * overflowed, e.g. "The cost of this call exceeds what tokacct computes
 * exactly.").
 */
extern void money_overflow(const char *detail) pg_attribute_noreturn();

static inline int128
money_add(int128 a, int128 b, const char *detail)
{
	int128		r;

	if (unlikely(__builtin_add_overflow(a, b, &r)))
		money_overflow(detail);
	return r;
}

/* num / den (den > 0), rounded half away from zero; never overflows. */
extern int128 money_div_round(int128 num, int128 den);

/*
 * a * b / c (c > 0), rounded half away from zero, computed exactly (the
 * product in 256 bits); money_overflow(detail) when the result leaves int128.
 */
extern int128 money_muldiv_round(int128 a, int128 b, int128 c, const char *detail);

/* The same, returning false instead of raising when the result leaves int128. */
extern bool money_muldiv_round_ok(int128 a, int128 b, int128 c, int128 *result);

/* a * b, checked: the product divided by 1 */
static inline int128
money_mul(int128 a, int128 b, const char *detail)
{
	return money_muldiv_round(a, b, 1, detail);
}

/* The exact 256-bit product of a and b, as (hi, lo). */
extern void money_mul256(uint128 a, uint128 b, uint128 *hi, uint128 *lo);

#endif							/* TOKACCT_MONEY_H */
