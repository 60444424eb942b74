/*-------------------------------------------------------------------------
 *
 * aggio.h
 *	  Helpers shared by the aggregate state types: strict text parsing,
 *	  int128 binary I/O and errors for bad states.
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
#include "fmgr.h"
#include "lib/stringinfo.h"

/*
 * Raise "invalid <type> value" with the given errcode (text or binary
 * representation) and a detail.
 */
extern void aggio_bad_state(int sqlstate, const char *type, const char *fmt,...)
			pg_attribute_printf(3, 4) pg_attribute_noreturn();

/*
 * A copy of at most maxbytes bytes of the len-byte string s, cut at a
 * character boundary, for quoting bad input in an error.
 */
extern char *aggio_excerpt(const char *s, int len, int maxbytes);

/* The start of the rest of a text representation at p, for an error: at most 20 bytes. */
extern char *aggio_rest(const char *p);

/* the most bytes of an input an error quotes */
#define AGGIO_QUOTE_BYTES 64

/*
 * The len-byte input s, to quote in an error: whole when it has at most
 * AGGIO_QUOTE_BYTES bytes, else its start cut at a character boundary
 * followed by "...".
 */
extern char *aggio_quote(const char *s, int len);

/*
 * Raise PostgreSQL's error for bad text input, `invalid input syntax for
 * type <type>: "<input>"' (the input quoted by aggio_quote), with the given
 * errcode and a detail.
 */
extern void aggio_syntax_error(int sqlstate, const char *type, const char *input,
							   const char *fmt,...)
			pg_attribute_printf(4, 5) pg_attribute_noreturn();

/*
 * The same error for a parser that stopped at "at" in input: the detail
 * says what was expected there, at which character, and what was found.
 */
extern void aggio_syntax_at(const char *type, const char *input, const char *at,
							const char *expected) pg_attribute_noreturn();

/* Raise an error unless fn is called as part of an aggregate. */
extern void aggio_check_agg(FunctionCallInfo fcinfo, const char *fn);

/*
 * The cases of a combine function over a by-reference state where a side is
 * NULL.  Returns true when they decide the result, which is then in *result
 * (with fcinfo->isnull set when it is NULL): the first state when the second
 * is NULL, else the second state, detoasted, when the first is NULL (nodeAgg
 * copies a new pointer into the aggregate context, so one copy is made, not
 * two).
 */
extern bool aggio_combine_nulls(FunctionCallInfo fcinfo, Datum *result);

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

/*
 * pq_getmsgstring, with a binary representation error (not a protocol
 * violation) when no string ends within the message.
 */
extern const char *aggio_getmsg_string(StringInfo msg, const char *type);

/* Raise a binary representation error unless msg has been read to its end. */
extern void aggio_getmsg_end(StringInfo msg, const char *type);

/* Checked additions for combine functions (numeric_value_out_of_range). */
extern int64 aggio_add_count(int64 a, int64 b);
extern int128 aggio_add_money(int128 a, int128 b);

#endif							/* TOKACCT_AGGIO_H */
