/*-------------------------------------------------------------------------
 *
 * money.c
 *	  Exact money: numeric <-> int64 picodollars, checked arithmetic.
 *
 * money_from_datum() reads numeric's packed representation directly (base
 * 10000 digits with a weight), so aggregates can take a numeric cost per row
 * without a detoasted copy and without calling numeric arithmetic.  The
 * layout it reads is numeric's on-disk format, which PostgreSQL keeps stable
 * across major versions because it is stored in tables.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "money.h"

/* numeric's on-disk header bits (see numeric.c) */
#define NUM_SIGN_MASK			0xC000
#define NUM_NEG					0x4000
#define NUM_SHORT				0x8000
#define NUM_SPECIAL				0xC000
#define NUM_SHORT_SIGN_MASK		0x2000
#define NUM_SHORT_WEIGHT_SIGN	0x0040
#define NUM_SHORT_WEIGHT_MASK	0x003F
#define NUM_NBASE				10000
/* money units are 10^-12 = NBASE^-3 */
#define NUM_UNIT_WEIGHT			3

static void
money_raise_out_of_range(const char *what, int128 limit)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("numeric value out of range"),
			 errdetail("The %s exceeds the largest amount tokacct keeps exactly in one value (%s).",
					   what, money_to_cstring(limit))));
}

/*
 * Decode a numeric's bytes (without varlena header) into money units whose
 * magnitude is at most limit.
 */
static int128
money_from_bytes(const char *p, Size len, const char *what, int128 limit)
{
	uint16		hdr;
	bool		neg;
	int			weight;
	Size		hdrsize;
	int			ndigits;
	int128		acc = 0;
	int			i;

	if (len < sizeof(uint16))
		return 0;
	memcpy(&hdr, p, sizeof(uint16));

	if ((hdr & NUM_SIGN_MASK) == NUM_SPECIAL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite amount", what),
				 errdetail("NaN and infinity are not money.")));

	if ((hdr & NUM_SIGN_MASK) == NUM_SHORT)
	{
		neg = (hdr & NUM_SHORT_SIGN_MASK) != 0;
		weight = (hdr & NUM_SHORT_WEIGHT_SIGN) ?
			(int) (~NUM_SHORT_WEIGHT_MASK | (hdr & NUM_SHORT_WEIGHT_MASK)) :
			(int) (hdr & NUM_SHORT_WEIGHT_MASK);
		hdrsize = sizeof(uint16);
	}
	else
	{
		int16		w;

		if (len < sizeof(uint16) + sizeof(int16))
			return 0;
		neg = (hdr & NUM_SIGN_MASK) == NUM_NEG;
		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		weight = w;
		hdrsize = sizeof(uint16) + sizeof(int16);
	}

	ndigits = (int) ((len - hdrsize) / sizeof(int16));
	for (i = 0; i < ndigits; i++)
	{
		int16		d;
		int			e = weight - i + NUM_UNIT_WEIGHT;	/* power of NBASE in units */

		memcpy(&d, p + hdrsize + i * sizeof(int16), sizeof(int16));
		if (e < 0)
		{
			if (d != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s has more than %d decimal places", what, MONEY_SCALE),
						 errdetail("tokacct keeps money exactly, in units of 1e-%d.", MONEY_SCALE),
						 errhint("Round the value first, for example round(x, %d).", MONEY_SCALE)));
			continue;
		}
		if (acc > (limit - d) / NUM_NBASE)
			money_raise_out_of_range(what, limit);
		acc = acc * NUM_NBASE + d;
	}
	/* scale up when the last digit sits above the unit position */
	for (i = weight - ndigits + 1 + NUM_UNIT_WEIGHT; i > 0 && acc != 0; i--)
	{
		if (acc > limit / NUM_NBASE)
			money_raise_out_of_range(what, limit);
		acc *= NUM_NBASE;
	}
	return neg ? -acc : acc;
}

int64
money_decode_datum(Datum d, const char *what)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(d);

	/* the limit is the int64 magnitude; -2^63 itself is not accepted */
	return (int64) money_from_bytes(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), what,
									(int128) PG_INT64_MAX);
}

int128
money_from_datum_wide(Datum d, const char *what)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(d);

	return money_from_bytes(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), what,
							MONEY_WIDE_LIMIT);
}

int64
money_from_numeric(Numeric num, const char *what)
{
	return money_decode_datum(NumericGetDatum(num), what);
}

char *
money_to_cstring(int128 units)
{
	char		digits[64];
	char	   *out = palloc(72);
	char	   *o = out;
	int			n = 0;
	bool		neg = units < 0;
	uint128		u = neg ? -(uint128) units : (uint128) units;
	int			last;

	/* least significant first; at least MONEY_SCALE + 1 digits */
	do
	{
		digits[n++] = '0' + (int) (u % 10);
		u /= 10;
	} while (u != 0 || n <= MONEY_SCALE);

	/* drop trailing zero decimals */
	for (last = 0; last < MONEY_SCALE && digits[last] == '0'; last++)
		;

	if (neg)
		*o++ = '-';
	for (int i = n - 1; i >= MONEY_SCALE; i--)
		*o++ = digits[i];
	if (last < MONEY_SCALE)
	{
		*o++ = '.';
		for (int i = MONEY_SCALE - 1; i >= last; i--)
			*o++ = digits[i];
	}
	*o = '\0';
	return out;
}

Numeric
money_to_numeric(int128 units)
{
	/* common case: fits in int64, build the numeric directly */
	if (units >= PG_INT64_MIN && units <= PG_INT64_MAX)
	{
		int64		u = (int64) units;
		int			scale = MONEY_SCALE;

		while (scale > 0 && u % 10 == 0)
		{
			u /= 10;
			scale--;
		}
		return int64_div_fast_to_numeric(u, scale);
	}
	return DatumGetNumeric(DirectFunctionCall3(numeric_in,
											   CStringGetDatum(money_to_cstring(units)),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

Numeric
money_int128_numeric(int128 v)
{
	char		buf[48];
	char	   *p = buf + sizeof(buf) - 1;
	bool		neg = v < 0;
	uint128		u = neg ? -(uint128) v : (uint128) v;

	*p = '\0';
	do
	{
		*--p = '0' + (int) (u % 10);
		u /= 10;
	} while (u != 0);
	if (neg)
		*--p = '-';
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(p),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

int64
money_add(int64 a, int64 b)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r))
		money_raise_out_of_range("sum", PG_INT64_MAX);
	return r;
}

int64
money_mul(int64 a, int64 b)
{
	int64		r;

	if (pg_mul_s64_overflow(a, b, &r))
		money_raise_out_of_range("product", PG_INT64_MAX);
	return r;
}

int64
money_narrow(int128 v)
{
	if (v > PG_INT64_MAX || v < PG_INT64_MIN)
		money_raise_out_of_range("amount", PG_INT64_MAX);
	return (int64) v;
}
