/*-------------------------------------------------------------------------
 *
 * money.c
 *	  Exact money: numeric <-> picodollars, the text form of an amount,
 *	  checked and exactly rounded int128 arithmetic.
 *
 * The decoder reads numeric's packed representation directly (base 10000
 * digits with a weight), so aggregates can take a numeric cost per row
 * without a detoasted copy and without calling numeric arithmetic, and the
 * encoder builds a numeric the same way, so pricing a row costs no
 * allocation beyond its result.
 *
 * Rounding is half away from zero everywhere: a digit below the picodollar
 * rounds the amount's magnitude up when the part cut off is at least half a
 * picodollar, as numeric's round(x, 12) does; quotients likewise.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "money.h"

#define MONEY_INT128_MAX	((((uint128) 1) << 127) - 1)

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
 * magnitude is at most limit, rounding half away from zero at the
 * picodollar.
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
	bool		round_up = false;
	int			i;

	if (len < sizeof(uint16))
		return 0;
	memcpy(&hdr, p, sizeof(uint16));

	if ((hdr & MONEY_NUM_SIGN_MASK) == MONEY_NUM_SPECIAL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite amount", what),
				 errdetail("NaN and infinity are not money.")));

	if ((hdr & MONEY_NUM_SIGN_MASK) == MONEY_NUM_SHORT)
	{
		neg = (hdr & MONEY_NUM_SHORT_SIGN_MASK) != 0;
		weight = (hdr & MONEY_NUM_SHORT_WEIGHT_SIGN) ?
			(int) (~MONEY_NUM_SHORT_WEIGHT_MASK | (hdr & MONEY_NUM_SHORT_WEIGHT_MASK)) :
			(int) (hdr & MONEY_NUM_SHORT_WEIGHT_MASK);
		hdrsize = sizeof(uint16);
	}
	else
	{
		int16		w;

		if (len < sizeof(uint16) + sizeof(int16))
			return 0;
		neg = (hdr & MONEY_NUM_SIGN_MASK) == MONEY_NUM_NEG;
		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		weight = w;
		hdrsize = sizeof(uint16) + sizeof(int16);
	}

	ndigits = (int) ((len - hdrsize) / sizeof(int16));
	for (i = 0; i < ndigits; i++)
	{
		int16		d;
		int			e = weight - i + MONEY_NUM_UNIT_WEIGHT; /* power of NBASE in units */

		memcpy(&d, p + hdrsize + i * sizeof(int16), sizeof(int16));
		if (e < 0)
		{
			/*
			 * The first digit below the unit decides: the rest of the cut
			 * off part is below 1/NBASE of a unit, so the part is at least
			 * half a unit exactly when this digit is at least NBASE / 2.
			 */
			if (e == -1)
				round_up = d >= MONEY_NUM_NBASE / 2;
			break;
		}
		if (acc > (limit - d) / MONEY_NUM_NBASE)
			money_raise_out_of_range(what, limit);
		acc = acc * MONEY_NUM_NBASE + d;
	}
	/* scale up when the last digit sits above the unit position */
	for (i = weight - ndigits + 1 + MONEY_NUM_UNIT_WEIGHT; i > 0 && acc != 0; i--)
	{
		if (acc > limit / MONEY_NUM_NBASE)
			money_raise_out_of_range(what, limit);
		acc *= MONEY_NUM_NBASE;
	}
	if (round_up)
	{
		if (acc >= limit)
			money_raise_out_of_range(what, limit);
		acc++;
	}
	return neg ? -acc : acc;
}

int64
money_decode_datum(Datum d, const char *what)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(d);

	/* the limit is the int64 magnitude; -2^63 itself is not accepted */
	return (int64) money_from_bytes(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), what,
									MONEY_LIMIT);
}

int128
money_from_datum_wide(Datum d, const char *what)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(d);

	return money_from_bytes(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), what,
							MONEY_WIDE_LIMIT);
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

	/*
	 * least significant first; at least MONEY_SCALE + 1 digits (in 64 bits
	 * once the rest fits: a 128-bit division is a library call)
	 */
	while (u > PG_UINT64_MAX)
	{
		digits[n++] = '0' + (int) (u % 10);
		u /= 10;
	}
	{
		uint64		u64 = (uint64) u;

		do
		{
			digits[n++] = '0' + (int) (u64 % 10);
			u64 /= 10;
		} while (u64 != 0 || n <= MONEY_SCALE);
	}

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

/*
 * Built directly in numeric's short format, with trailing zero decimals
 * trimmed (the display scale is the number of decimals shown).
 */
Numeric
money_to_numeric(int128 units)
{
	bool		neg = units < 0;
	uint128		u = neg ? -(uint128) units : (uint128) units;
	/* a 128-bit division is a library call: 64 bits when the amount fits */
	uint128		ip = u <= PG_UINT64_MAX ? (uint128) ((uint64) u / (uint64) MONEY_ONE) : u / (uint128) MONEY_ONE;
	uint64		frac = u <= PG_UINT64_MAX ? (uint64) u % (uint64) MONEY_ONE : (uint64) (u % (uint128) MONEY_ONE);
	int16		tmp[16];
	int16		d[16];
	int			nint = 0;
	int			n = 0;
	int			first = 0;
	int			weight;
	int			dscale = MONEY_SCALE;
	int			i;
	Size		len;
	char	   *res;
	uint16		hdr;

	while (ip > PG_UINT64_MAX)
	{
		tmp[nint++] = (int16) (ip % MONEY_NUM_NBASE);
		ip /= MONEY_NUM_NBASE;
	}
	{
		uint64		ip64 = (uint64) ip;

		while (ip64 > 0)
		{
			tmp[nint++] = (int16) (ip64 % MONEY_NUM_NBASE);
			ip64 /= MONEY_NUM_NBASE;
		}
	}
	for (i = nint - 1; i >= 0; i--)
		d[n++] = tmp[i];
	d[n++] = (int16) (frac / 100000000);
	d[n++] = (int16) ((frac / 10000) % 10000);
	d[n++] = (int16) (frac % 10000);
	weight = nint - 1;

	/* decimals shown: 12 minus the trailing zero decimals */
	if (frac == 0)
		dscale = 0;
	else
		while (frac % 10 == 0)
		{
			frac /= 10;
			dscale--;
		}
	/* strip leading and trailing zero digits */
	while (first < n && d[first] == 0)
	{
		first++;
		weight--;
	}
	while (n > first && d[n - 1] == 0)
		n--;
	if (n == first)
	{
		weight = 0;
		neg = false;
	}

	len = VARHDRSZ + sizeof(uint16) + (n - first) * sizeof(int16);
	res = palloc(len);
	SET_VARSIZE(res, len);
	hdr = MONEY_NUM_SHORT | (neg ? MONEY_NUM_SHORT_SIGN_MASK : 0) |
		(uint16) (dscale << MONEY_NUM_SHORT_DSCALE_SHIFT) |
		(weight < 0 ? MONEY_NUM_SHORT_WEIGHT_SIGN : 0) |
		(uint16) (weight & MONEY_NUM_SHORT_WEIGHT_MASK);
	memcpy(res + VARHDRSZ, &hdr, sizeof(uint16));
	if (n > first)
		memcpy(res + VARHDRSZ + sizeof(uint16), d + first, (n - first) * sizeof(int16));
	return (Numeric) res;
}

Numeric
money_round_numeric(Numeric n)
{
	/* numeric's round() breaks ties away from zero, the rule here */
	Datum		r = DirectFunctionCall2(numeric_round, NumericGetDatum(n),
										Int32GetDatum(MONEY_SCALE));

	return DatumGetNumeric(DirectFunctionCall1(numeric_trim_scale, r));
}

/* v * 10 + digit, or false when that passes MONEY_WIDE_LIMIT */
static inline bool
money_parse_step(int128 *v, int digit)
{
	if (*v > (MONEY_WIDE_LIMIT - digit) / 10)
		return false;
	*v = *v * 10 + digit;
	return true;
}

MoneyParseResult
money_parse(const char **p, bool negative_ok, int128 *units)
{
	const char *s = *p;
	bool		neg = false;
	int128		v = 0;
	int			decimals = 0;

	if (negative_ok && *s == '-')
	{
		neg = true;
		s++;
	}
	if (*s < '0' || *s > '9')
		return MONEY_PARSE_NO_DIGITS;
	for (; *s >= '0' && *s <= '9'; s++)
		if (!money_parse_step(&v, *s - '0'))
			return MONEY_PARSE_OUT_OF_RANGE;
	if (*s == '.')
	{
		s++;
		if (*s < '0' || *s > '9')
			return MONEY_PARSE_NO_DECIMALS;
		for (; *s >= '0' && *s <= '9'; s++)
		{
			if (++decimals > MONEY_SCALE)
				return MONEY_PARSE_TOO_MANY_DECIMALS;
			if (!money_parse_step(&v, *s - '0'))
				return MONEY_PARSE_OUT_OF_RANGE;
		}
	}
	for (; decimals < MONEY_SCALE; decimals++)
		if (!money_parse_step(&v, 0))
			return MONEY_PARSE_OUT_OF_RANGE;
	*units = neg ? -v : v;
	*p = s;
	return MONEY_PARSE_OK;
}

void
money_overflow(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("numeric value out of range"),
			 errdetail("%s", detail)));
}

int128
money_div_round(int128 num, int128 den)
{
	uint128		u = num < 0 ? -(uint128) num : (uint128) num;
	uint128		q;
	uint128		r;

	Assert(den > 0);
	q = u / (uint128) den;
	r = u % (uint128) den;
	/* r < den < 2^127: the remainder is at least half when r >= den - r */
	if (r >= (uint128) den - r)
		q++;
	/* |q| <= |num|, so the result fits */
	return num < 0 ? (int128) (0 - q) : (int128) q;
}

void
money_mul256(uint128 a, uint128 b, uint128 *hi, uint128 *lo)
{
	uint64		a0 = (uint64) a,
				a1 = (uint64) (a >> 64),
				b0 = (uint64) b,
				b1 = (uint64) (b >> 64);
	uint128		p00 = (uint128) a0 * b0,
				p01 = (uint128) a0 * b1,
				p10 = (uint128) a1 * b0,
				p11 = (uint128) a1 * b1;
	uint128		mid = (p00 >> 64) + (uint64) p01 + (uint64) p10;

	*lo = (mid << 64) | (uint64) p00;
	*hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
}

bool
money_muldiv_round_ok(int128 a, int128 b, int128 c, int128 *result)
{
	bool		neg = (a < 0) != (b < 0);
	uint128		ua = a < 0 ? -(uint128) a : (uint128) a;
	uint128		ub = b < 0 ? -(uint128) b : (uint128) b;
	uint128		uc = (uint128) c;
	uint128		hi;
	uint128		lo;
	uint128		q;
	uint128		r;

	Assert(c > 0);
	money_mul256(ua, ub, &hi, &lo);
	if (hi == 0)
	{
		q = lo / uc;
		r = lo % uc;
	}
	else
	{
		/* the quotient has 128 bits or fewer only when hi < c */
		if (hi >= uc)
			return false;
		/*
		 * Long division of (hi, lo) by c, a bit at a time: the remainder
		 * stays below c < 2^127, so doubling it cannot overflow.
		 */
		r = hi;
		q = 0;
		for (int i = 127; i >= 0; i--)
		{
			r = (r << 1) | ((lo >> i) & 1);
			q <<= 1;
			if (r >= uc)
			{
				r -= uc;
				q |= 1;
			}
		}
	}
	/* checked before rounding up, so that q + 1 cannot wrap */
	if (q > MONEY_INT128_MAX)
		return false;
	/* r < c < 2^127: the remainder is at least half when r >= c - r */
	if (r >= uc - r)
		q++;
	if (q > MONEY_INT128_MAX)
		return false;
	*result = neg ? -(int128) q : (int128) q;
	return true;
}

int128
money_muldiv_round(int128 a, int128 b, int128 c, const char *detail)
{
	int128		result;

	if (!money_muldiv_round_ok(a, b, c, &result))
		money_overflow(detail);
	return result;
}
