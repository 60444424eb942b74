/*-------------------------------------------------------------------------
 *
 * aggio.h
 *	  The state kit: what the six aggregate state types (outcome, retry,
 *	  context, sketch, frontier and waste) share to read their text and
 *	  binary forms, report a bad state, check that they run inside an
 *	  aggregate and combine NULL states.  (Their money, its parsing and
 *	  its arithmetic: money.h.)
 *
 * Every state type reads its text and binary forms as hostile input, with
 * one reader (AggioInput) and one set of errors:
 *
 *	- bad text: invalid_text_representation (22P02),
 *		invalid input syntax for type tokacct.retry_state: "<input>"
 *	  with the input quoted by aggio_quote (at most AGGIO_QUOTE_BYTES bytes)
 *	  and a detail saying what is wrong and where;
 *	- a number of the text that its field cannot hold: the same message,
 *	  with numeric_value_out_of_range (22003);
 *	- bad binary: invalid_binary_representation (22P03),
 *		invalid external representation for type tokacct.retry_state
 *	  with a detail.
 *
 * A state's field checks take the AggioInput it was read from, so the same
 * check reports in the words of the form it read.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_AGGIO_H
#define TOKACCT_AGGIO_H

#include "access/tupdesc.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/nodes.h"

/* the most bytes of an input an error quotes */
#define AGGIO_QUOTE_BYTES 64

/*
 * A state being read: its type and its text or binary form.  The text
 * parser moves p along text; the binary readers read msg.  (waste_state's
 * text is the hexadecimal of its binary form: it sets both, and its errors
 * quote the text.)
 */
typedef struct AggioInput
{
	const char *type;			/* the type's SQL name: "tokacct.retry_state" */
	const char *text;			/* the whole text input, or NULL for binary */
	const char *p;				/* where the text parser is */
	bool		spaces;			/* the text form allows whitespace between
								 * tokens */
	StringInfo	msg;			/* the binary message */
} AggioInput;

/*
 * Start reading the text form text of type; with spaces, whitespace may
 * stand before every token and at the end.
 */
extern void aggio_text_input(AggioInput *in, const char *type, const char *text,
							 bool spaces);

/* Start reading the binary form of type in msg. */
extern void aggio_binary_input(AggioInput *in, const char *type, StringInfo msg);

/* ---- errors ---- */

/*
 * The len-byte input s, to quote in an error: whole when it has at most
 * AGGIO_QUOTE_BYTES bytes, else its start cut at a character boundary
 * followed by "...".
 */
extern char *aggio_quote(const char *s, int len);

/*
 * Raise the error for a bad state, in the words of the form in read (see
 * above), with the detail fmt.
 */
extern void aggio_bad(const AggioInput *in, const char *fmt,...)
			pg_attribute_printf(2, 3) pg_attribute_noreturn();

/*
 * Raise the error for text that is not what the form has at in->p: the
 * detail says what was expected there, at which character, and what was
 * found.
 */
extern void aggio_expected(const AggioInput *in, const char *expected) pg_attribute_noreturn();

/*
 * Raise the error for the number of the text from in->p to end that its
 * field cannot hold (numeric_value_out_of_range); range ends the detail's
 * sentence, e.g. " (from 0 to 10)" or " for type double precision".
 */
extern void aggio_out_of_range(const AggioInput *in, const char *end,
							   const char *range) pg_attribute_noreturn();

/* ---- text input ---- */

/* Skip whitespace at in->p, if the form allows it. */
extern void aggio_skip_space(AggioInput *in);

/* Skip the literal lit at in->p (after whitespace) or raise an error. */
extern void aggio_expect(AggioInput *in, const char *lit);

/* Skip the literal lit at in->p (after whitespace) if it is there. */
extern bool aggio_accept(AggioInput *in, const char *lit);

/*
 * Between the items of a list ending with close: true after a ",", false
 * after close, else an error.
 */
extern bool aggio_list_next(AggioInput *in, const char *close);

/* Raise an error unless in->p is at the end of the text (after whitespace). */
extern void aggio_expect_end(AggioInput *in);

/*
 * Parse a decimal integer at in->p, in [min, max]; a minus sign is allowed
 * when min < 0.  field names it in an error.
 */
extern int64 aggio_parse_int(AggioInput *in, const char *field, int64 min, int64 max);

/* Parse a non-negative integer count at in->p (int64 range). */
extern int64 aggio_parse_count(AggioInput *in, const char *field);

/* Parse a non-negative decimal amount at in->p into money units (int128). */
extern int128 aggio_parse_money(AggioInput *in, const char *field);

/* Append an int128 count of money units as a plain decimal (no trailing zeros). */
extern void aggio_append_money(StringInfo buf, int128 units);

/* ---- binary input and output ---- */

/* Binary I/O of an int128 as two 64-bit halves, network byte order. */
extern void aggio_send_int128(StringInfo buf, int128 v);
extern int128 aggio_getmsg_int128(StringInfo msg);

/* Raise an error unless the message has at least n more bytes. */
extern void aggio_need_bytes(const AggioInput *in, int64 n);

/*
 * pq_getmsgstring, with a bad-state error (not a protocol violation) when
 * no string ends within the message.
 */
extern const char *aggio_getmsg_string(AggioInput *in);

/* Raise an error unless the message has been read to its end. */
extern void aggio_getmsg_end(const AggioInput *in);

/* Raise an error unless a state's format version is the one this code reads. */
extern void aggio_check_version(const AggioInput *in, int64 version, int expected);

/* ---- aggregate support ---- */

/*
 * Is fcinfo a call of an aggregate's (or window aggregate's) support
 * function?  What AggCheckCallContext tells, inline: transition functions
 * ask once per row.
 */
static inline bool
aggio_in_aggregate(FunctionCallInfo fcinfo)
{
	return fcinfo->context != NULL &&
		(IsA(fcinfo->context, AggState) || IsA(fcinfo->context, WindowAggState));
}

/*
 * Raise an error unless fn, a support function that updates its state in
 * place, is called as part of an aggregate.
 */
extern void aggio_check_agg(FunctionCallInfo fcinfo, const char *fn);

/*
 * The state of argument argno (not NULL), to update: the aggregate's own,
 * updated in place, in an aggregate; a copy when called directly (the
 * argument is not the caller's to change).
 */
extern struct varlena *aggio_state_to_update(FunctionCallInfo fcinfo, int argno);

/*
 * The cases of a combine function over a by-reference state where a side is
 * NULL.  Returns true when they decide the result, which is then in *result
 * (with fcinfo->isnull set when it is NULL): the first state when the second
 * is NULL, else the second state, detoasted, when the first is NULL (nodeAgg
 * copies a new pointer into the aggregate context, so one copy is made, not
 * two).
 */
extern bool aggio_combine_nulls(FunctionCallInfo fcinfo, Datum *result);

/*
 * The blessed descriptor of the record a report function returns (its OUT
 * parameters), built on the first call of a call site and kept in its
 * fn_extra: a grouped query calls a report once per group, and building the
 * descriptor from the catalog each time cost more than the report.  The
 * caller must not use fn_extra for anything else.
 */
extern TupleDesc aggio_result_tupdesc(FunctionCallInfo fcinfo, const char *fname);

/* Checked additions for combine functions (numeric_value_out_of_range). */
extern int64 aggio_add_count(int64 a, int64 b);
extern int128 aggio_add_money(int128 a, int128 b);

#endif							/* TOKACCT_AGGIO_H */
