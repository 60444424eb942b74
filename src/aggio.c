/*-------------------------------------------------------------------------
 *
 * aggio.c
 *	  Text and binary I/O helpers for the aggregate state types.
 *
 * The parsers accept exactly what the output functions print: plain
 * non-negative decimals, no signs, no exponents, no spaces inside a number.
 * Anything else is an error naming the field, so a state read from a file
 * or a client is either exactly what was written or rejected.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "aggio.h"
#include "money.h"

void
aggio_bad_state(int sqlstate, const char *type, const char *fmt,...)
{
	char		detail[256];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("invalid %s value", type),
			 errdetail("%s", detail)));
}

void
aggio_check_agg(FunctionCallInfo fcinfo, const char *fn)
{
	if (!AggCheckCallContext(fcinfo, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s can only be called as part of an aggregate", fn),
				 errhint("It is a support function of a tokacct aggregate; call the aggregate instead.")));
}

bool
aggio_combine_nulls(FunctionCallInfo fcinfo, Datum *result)
{
	if (PG_ARGISNULL(1))
	{
		fcinfo->isnull = PG_ARGISNULL(0);
		*result = fcinfo->isnull ? (Datum) 0 : PG_GETARG_DATUM(0);
		return true;
	}
	if (PG_ARGISNULL(0))
	{
		*result = PointerGetDatum(PG_DETOAST_DATUM(PG_GETARG_DATUM(1)));
		return true;
	}
	return false;
}

char *
aggio_excerpt(const char *s, int len, int maxbytes)
{
	if (len > maxbytes)
		len = pg_mbcliplen(s, len, maxbytes);
	return pnstrdup(s, len);
}

char *
aggio_rest(const char *p)
{
	return aggio_excerpt(p, strnlen(p, 64), 20);
}

char *
aggio_quote(const char *s, int len)
{
	char	   *q;

	if (len <= AGGIO_QUOTE_BYTES)
		return pnstrdup(s, len);
	q = aggio_excerpt(s, len, AGGIO_QUOTE_BYTES);
	return psprintf("%s...", q);
}

void
aggio_syntax_error(int sqlstate, const char *type, const char *input, const char *fmt,...)
{
	StringInfoData detail;

	/* the detail whole (a fixed buffer could cut a character) */
	initStringInfo(&detail);
	for (;;)
	{
		va_list		ap;
		int			needed;

		va_start(ap, fmt);
		needed = appendStringInfoVA(&detail, fmt, ap);
		va_end(ap);
		if (needed == 0)
			break;
		enlargeStringInfo(&detail, needed);
	}
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("invalid input syntax for type %s: \"%s\"",
					type, aggio_quote(input, strlen(input))),
			 errdetail("%s", detail.data)));
}

void
aggio_syntax_at(const char *type, const char *input, const char *at, const char *expected)
{
	/* the position in characters, as PostgreSQL counts them */
	int			pos = pg_mbstrlen_with_len(input, at - input) + 1;

	if (*at == '\0')
		aggio_syntax_error(ERRCODE_INVALID_TEXT_REPRESENTATION, type, input,
						   "Expected %s at character %d, found the end of the input.",
						   expected, pos);
	aggio_syntax_error(ERRCODE_INVALID_TEXT_REPRESENTATION, type, input,
					   "Expected %s at character %d, found \"%s\".",
					   expected, pos, aggio_rest(at));
}

void
aggio_expect(const char **p, const char *lit, const char *type)
{
	size_t		n = strlen(lit);

	if (strncmp(*p, lit, n) != 0)
		aggio_bad_state(ERRCODE_INVALID_TEXT_REPRESENTATION, type,
						"Expected \"%s\" at \"%s\".", lit, aggio_rest(*p));
	*p += n;
}

int64
aggio_parse_count(const char **p, const char *field, const char *type)
{
	const char *s = *p;
	int64		v = 0;

	if (*s < '0' || *s > '9')
		aggio_bad_state(ERRCODE_INVALID_TEXT_REPRESENTATION, type,
						"Field %s must be a non-negative integer, found \"%s\".",
						field, aggio_rest(s));
	for (; *s >= '0' && *s <= '9'; s++)
	{
		if (pg_mul_s64_overflow(v, 10, &v) || pg_add_s64_overflow(v, *s - '0', &v))
			aggio_bad_state(ERRCODE_INVALID_TEXT_REPRESENTATION, type,
							"Field %s is out of range.", field);
	}
	*p = s;
	return v;
}

int128
aggio_parse_money(const char **p, const char *field, const char *type)
{
	int128		v = 0;

	/* up to MONEY_WIDE_LIMIT: far above any valid state (rows * int64 units) */
	switch (money_parse(p, false, &v))
	{
		case MONEY_PARSE_OK:
			break;
		case MONEY_PARSE_NO_DIGITS:
			aggio_bad_state(ERRCODE_INVALID_TEXT_REPRESENTATION, type,
							"Field %s must be a non-negative decimal amount, found \"%s\".",
							field, aggio_rest(*p));
		case MONEY_PARSE_NO_DECIMALS:
			aggio_bad_state(ERRCODE_INVALID_TEXT_REPRESENTATION, type,
							"Field %s has no digits after the decimal point.", field);
		case MONEY_PARSE_TOO_MANY_DECIMALS:
			aggio_bad_state(ERRCODE_INVALID_TEXT_REPRESENTATION, type,
							"Field %s has more than %d decimal places.",
							field, MONEY_SCALE);
		case MONEY_PARSE_OUT_OF_RANGE:
			aggio_bad_state(ERRCODE_INVALID_TEXT_REPRESENTATION, type,
							"Field %s is out of range.", field);
	}
	return v;
}

void
aggio_append_money(StringInfo buf, int128 units)
{
	char	   *s = money_to_cstring(units);

	appendStringInfoString(buf, s);
	pfree(s);
}

void
aggio_send_int128(StringInfo buf, int128 v)
{
	pq_sendint64(buf, (int64) (v >> 64));
	pq_sendint64(buf, (int64) (uint64) v);
}

int128
aggio_getmsg_int128(StringInfo msg)
{
	int64		hi = pq_getmsgint64(msg);
	uint64		lo = (uint64) pq_getmsgint64(msg);

	return (int128) (((uint128) hi << 64) | lo);
}

void
aggio_need_bytes(StringInfo msg, int n, const char *type)
{
	if (n < 0 || msg->len - msg->cursor < n)
		aggio_bad_state(ERRCODE_INVALID_BINARY_REPRESENTATION, type,
						"The binary state is truncated: %d bytes left, %d needed.",
						msg->len - msg->cursor, n);
}

const char *
aggio_getmsg_string(StringInfo msg, const char *type)
{
	if (memchr(msg->data + msg->cursor, '\0', msg->len - msg->cursor) == NULL)
		aggio_bad_state(ERRCODE_INVALID_BINARY_REPRESENTATION, type,
						"The binary state is truncated: a string has no end.");
	return pq_getmsgstring(msg);
}

void
aggio_getmsg_end(StringInfo msg, const char *type)
{
	if (msg->cursor != msg->len)
		aggio_bad_state(ERRCODE_INVALID_BINARY_REPRESENTATION, type,
						"%d unexpected bytes after the state.", msg->len - msg->cursor);
}

int64
aggio_add_count(int64 a, int64 b)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("bigint out of range"),
				 errdetail("Merging the states overflows a row count.")));
	return r;
}

int128
aggio_add_money(int128 a, int128 b)
{
	return money_add(a, b, "Merging the states overflows a money total.");
}
