/*-------------------------------------------------------------------------
 *
 * aggio.c
 *	  The state kit of the aggregate state types (see aggio.h): the text
 *	  parser and binary readers, the one set of errors for a bad state and
 *	  the aggregate checks.
 *
 * The parsers accept plain decimals (integers with a sign only where the
 * field takes negative numbers, amounts with no sign), no exponents, no
 * spaces inside a number.  Anything else is an error saying where, so a
 * state read from a file or a client is either exactly what was written or
 * rejected.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "aggio.h"
#include "money.h"

void
aggio_text_input(AggioInput *in, const char *type, const char *text, bool spaces)
{
	in->type = type;
	in->text = text;
	in->p = text;
	in->spaces = spaces;
	in->msg = NULL;
}

void
aggio_binary_input(AggioInput *in, const char *type, StringInfo msg)
{
	in->type = type;
	in->text = NULL;
	in->p = NULL;
	in->spaces = false;
	in->msg = msg;
}

/* ---- errors ---- */

/* A copy of at most maxbytes bytes of the len-byte string s, cut at a character boundary. */
static char *
aggio_excerpt(const char *s, int len, int maxbytes)
{
	if (len > maxbytes)
		len = pg_mbcliplen(s, len, maxbytes);
	return pnstrdup(s, len);
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

/* raise the error of aggio_bad with the given errcode and detail */
static void pg_attribute_noreturn()
aggio_raise(const AggioInput *in, int sqlstate, const char *detail)
{
	if (in->text != NULL)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid input syntax for type %s: \"%s\"",
						in->type, aggio_quote(in->text, strlen(in->text))),
				 errdetail("%s", detail)));
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("invalid external representation for type %s", in->type),
			 errdetail("%s", detail)));
}

/* fmt and its arguments, formatted whole (a fixed buffer could cut a character) */
static char *pg_attribute_printf(1, 0)
aggio_format(const char *fmt, va_list args)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		ap;
		int			needed;

		va_copy(ap, args);
		needed = appendStringInfoVA(&buf, fmt, ap);
		va_end(ap);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	return buf.data;
}

void
aggio_bad(const AggioInput *in, const char *fmt,...)
{
	va_list		ap;
	char	   *detail;

	va_start(ap, fmt);
	detail = aggio_format(fmt, ap);
	va_end(ap);
	aggio_raise(in, in->text != NULL ? ERRCODE_INVALID_TEXT_REPRESENTATION :
				ERRCODE_INVALID_BINARY_REPRESENTATION, detail);
}

/* the position of p in the text, in characters from 1, as PostgreSQL counts them */
static int
aggio_position(const AggioInput *in, const char *p)
{
	return pg_mbstrlen_with_len(in->text, p - in->text) + 1;
}

void
aggio_expected(const AggioInput *in, const char *expected)
{
	const char *at = in->p;

	Assert(in->text != NULL);
	if (*at == '\0')
		aggio_bad(in, "Expected %s at character %d, found the end of the input.",
				  expected, aggio_position(in, at));
	/* what was found: at most 20 bytes of it */
	aggio_bad(in, "Expected %s at character %d, found \"%s\".",
			  expected, aggio_position(in, at), aggio_excerpt(at, strnlen(at, 64), 20));
}

void
aggio_out_of_range(const AggioInput *in, const char *end, const char *range)
{
	Assert(in->text != NULL);
	aggio_raise(in, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
				psprintf("The number \"%s\" at character %d is out of range%s.",
						 aggio_quote(in->p, end - in->p), aggio_position(in, in->p), range));
}

/* ---- text input ---- */

void
aggio_skip_space(AggioInput *in)
{
	if (in->spaces)
		while (*in->p == ' ' || *in->p == '\t' || *in->p == '\n' || *in->p == '\r')
			in->p++;
}

bool
aggio_accept(AggioInput *in, const char *lit)
{
	size_t		n = strlen(lit);

	aggio_skip_space(in);
	if (strncmp(in->p, lit, n) != 0)
		return false;
	in->p += n;
	return true;
}

void
aggio_expect(AggioInput *in, const char *lit)
{
	if (!aggio_accept(in, lit))
		aggio_expected(in, psprintf("\"%s\"", lit));
}

bool
aggio_list_next(AggioInput *in, const char *close)
{
	if (aggio_accept(in, ","))
		return true;
	if (aggio_accept(in, close))
		return false;
	aggio_expected(in, psprintf("\",\" or \"%s\"", close));
}

void
aggio_expect_end(AggioInput *in)
{
	aggio_skip_space(in);
	if (*in->p != '\0')
		aggio_expected(in, "the end of the input");
}

int64
aggio_parse_int(AggioInput *in, const char *field, int64 min, int64 max)
{
	const char *s;
	bool		neg;
	bool		overflow = false;
	int64		v = 0;

	aggio_skip_space(in);
	s = in->p;
	neg = (min < 0 && *s == '-');
	if (neg)
		s++;
	if (*s < '0' || *s > '9')
		aggio_expected(in, psprintf("%s (%s)", field,
									min < 0 ? "an integer" : "a non-negative integer"));
	/* accumulate negatively: -v reaches PG_INT64_MIN */
	for (; *s >= '0' && *s <= '9'; s++)
	{
		if (!overflow &&
			(pg_mul_s64_overflow(v, 10, &v) || pg_sub_s64_overflow(v, *s - '0', &v)))
			overflow = true;
	}
	if (!neg && !overflow)
	{
		if (v == PG_INT64_MIN)
			overflow = true;
		else
			v = -v;
	}
	if (overflow || v < min || v > max)
		aggio_out_of_range(in, s, psprintf(" (from " INT64_FORMAT " to " INT64_FORMAT ")",
										   min, max));
	in->p = s;
	return v;
}

int64
aggio_parse_count(AggioInput *in, const char *field)
{
	return aggio_parse_int(in, field, 0, PG_INT64_MAX);
}

/* the end of the amount at p: its digits and decimal point */
static const char *
aggio_amount_end(const char *p)
{
	return p + strspn(p, "0123456789.");
}

int128
aggio_parse_money(AggioInput *in, const char *field)
{
	const char *s;
	int128		v = 0;

	aggio_skip_space(in);
	/* parse from a copy: the errors point at the amount's start */
	s = in->p;
	/* up to MONEY_WIDE_LIMIT: far above any valid state (rows * int64 units) */
	switch (money_parse(&s, false, &v))
	{
		case MONEY_PARSE_OK:
			break;
		case MONEY_PARSE_NO_DIGITS:
			aggio_expected(in, psprintf("%s (a non-negative decimal amount)", field));
		case MONEY_PARSE_NO_DECIMALS:
			aggio_bad(in, "The amount at character %d has no digits after its decimal point.",
					  aggio_position(in, in->p));
		case MONEY_PARSE_TOO_MANY_DECIMALS:
			aggio_bad(in, "The amount \"%s\" at character %d has more than %d decimal places.",
					  aggio_quote(in->p, aggio_amount_end(in->p) - in->p),
					  aggio_position(in, in->p), MONEY_SCALE);
		case MONEY_PARSE_OUT_OF_RANGE:
			aggio_out_of_range(in, aggio_amount_end(in->p), "");
	}
	in->p = s;
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
aggio_need_bytes(const AggioInput *in, int64 n)
{
	StringInfo	msg = in->msg;

	if (n < 0 || msg->len - msg->cursor < n)
		aggio_bad(in, "The state is truncated: %d bytes left, " INT64_FORMAT " needed.",
				  msg->len - msg->cursor, n);
}

const char *
aggio_getmsg_string(AggioInput *in)
{
	StringInfo	msg = in->msg;

	const char *s = msg->data + msg->cursor;
	const char *end = memchr(s, '\0', msg->len - msg->cursor);

	if (end == NULL)
		aggio_bad(in, "The state is truncated: a string has no end.");
	/* pq_getmsgstring converts it from the client's encoding, which it must be in */
	if (!pg_verify_mbstr(pg_get_client_encoding(), s, end - s, true))
		aggio_bad(in, "A string is not valid in the client's encoding.");
	return pq_getmsgstring(msg);
}

void
aggio_getmsg_end(const AggioInput *in)
{
	if (in->msg->cursor != in->msg->len)
		aggio_bad(in, "%d unexpected bytes after the state.", in->msg->len - in->msg->cursor);
}

void
aggio_check_version(const AggioInput *in, int64 version, int expected)
{
	if (version != expected)
		aggio_bad(in, "Unknown format version " INT64_FORMAT "; this version of tokacct reads version %d.",
				  version, expected);
}

/* ---- aggregate support ---- */

void
aggio_check_agg(FunctionCallInfo fcinfo, const char *fn)
{
	if (!aggio_in_aggregate(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s can only be called as part of an aggregate", fn),
				 errhint("It is a support function of a tokacct aggregate; call the aggregate instead.")));
}

struct varlena *
aggio_state_to_update(FunctionCallInfo fcinfo, int argno)
{
	if (aggio_in_aggregate(fcinfo))
		return (struct varlena *) PG_GETARG_POINTER(argno);
	return PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(argno));
}

TupleDesc
aggio_result_tupdesc(FunctionCallInfo fcinfo, const char *fname)
{
	TupleDesc	tupdesc;
	MemoryContext old;

	if (fcinfo->flinfo->fn_extra != NULL)
		return (TupleDesc) fcinfo->flinfo->fn_extra;
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "%s must return a record", fname);
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
	MemoryContextSwitchTo(old);
	fcinfo->flinfo->fn_extra = tupdesc;
	return tupdesc;
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

/* ---- checked merges and quotients ---- */

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
