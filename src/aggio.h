/*-------------------------------------------------------------------------
 *
 * aggio.h
 *	  Helpers shared by the aggregate state types: strict text parsing,
 *	  int128 binary I/O, errors for bad states and exact money quotients.
 *
 * Every state type reads its text and binary forms as hostile input: the
 * parsers here accept only non-negative plain decimals, check every
 * overflow and report the offending field.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_AGGIO_H
#define TOKACCT_AGGIO_H

#include "postgres.h"
#include "lib/stringinfo.h"
#include "utils/numeric.h"

#include "money.h"

/* the largest money amount one row may carry, in money units */
#define AGGIO_ROW_MONEY_MAX ((int128) PG_INT64_MAX)

/*
 * Raise "invalid <type> value" with the given errcode (text or binary
 * representation) and a detail.
 */
extern void aggio_bad_state(int sqlstate, const char *type, const char *fmt,...)
			pg_attribute_printf(3, 4) pg_attribute_noreturn();

/* Skip the literal lit at *p or raise a text representation error. */
extern void aggio_expect(const char **p, const char *lit, const char *type);

/* Parse a non-negative integer count at *p (int64 range). */
extern int64 aggio_parse_count(const char **p, const char *field, const char *type);

/* Parse a non-negative decimal amount at *p into money units (int128). */
extern int128 aggio_parse_money(const char **p, const char *field, const char *type);

/* Append an int128 count of money units as a plain decimal (no trailing zeros). */
extern void aggio_append_money(StringInfo buf, int128 units);

/* Binary I/O of an int128 as two 64-bit halves, network byte order. */
extern void aggio_send_int128(StringInfo buf, int128 v);
extern int128 aggio_getmsg_int128(StringInfo msg);

/* Raise a binary representation error unless msg has at least n more bytes. */
extern void aggio_need_bytes(StringInfo msg, int n, const char *type);

/* Checked additions for combine functions (numeric_value_out_of_range). */
extern int64 aggio_add_count(int64 a, int64 b);
extern int128 aggio_add_money(int128 a, int128 b);

/* num * mul / den (den > 0, num >= 0, mul >= 0) as money, half up to 12 decimals. */
extern Numeric aggio_money_quotient(int128 num, int64 mul, int128 den);

/*
 * Money units of a numeric argument, for the per-row path of aggregates.
 *
 * The common case, an uncompressed numeric in the short format whose value
 * is below 10000 and has no digit below 1e-12, is decoded here inline with
 * int64 arithmetic (at most 4 base-10000 digits of weight -3..0, so below
 * 1e16 units: no overflow is possible).  Everything else, including every
 * value that is an error (NaN, infinity, too many decimals, out of range),
 * goes to money_from_datum(), which is the reference; the regression tests
 * compare the two paths over the same values.
 */
static inline int64
aggio_money_arg(Datum d, const char *what)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);
	const uint8 *p;
	uint16		hdr;
	int			ndigits;
	int			weight;
	int64		acc = 0;

	/* a toast pointer also has a 1-byte header: test for it first */
	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		return money_from_datum(d, what);
	if (VARATT_IS_SHORT(v))
	{
		if (VARSIZE_SHORT(v) < VARHDRSZ_SHORT + sizeof(uint16))
			return money_from_datum(d, what);
		p = (const uint8 *) VARDATA_SHORT(v);
		ndigits = (int) ((VARSIZE_SHORT(v) - VARHDRSZ_SHORT - sizeof(uint16)) / sizeof(int16));
	}
	else
	{
		if (VARSIZE(v) < VARHDRSZ + sizeof(uint16))
			return money_from_datum(d, what);
		p = (const uint8 *) VARDATA(v);
		ndigits = (int) ((VARSIZE(v) - VARHDRSZ - sizeof(uint16)) / sizeof(int16));
	}

	memcpy(&hdr, p, sizeof(uint16));
	/* short format (0x8000 in the top two bits), weight sign bit clear or set */
	if ((hdr & 0xC000) != 0x8000)
		return money_from_datum(d, what);
	weight = (hdr & 0x0040) ? (int) (~0x003F | (hdr & 0x003F)) : (int) (hdr & 0x003F);
	if (weight > 0 || weight < -3 || ndigits > weight + 4)
		return money_from_datum(d, what);
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

#endif							/* TOKACCT_AGGIO_H */
