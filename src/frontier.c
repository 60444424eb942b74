/*-------------------------------------------------------------------------
 *
 * frontier.c
 *	  The utility_frontier aggregate: its state type tokacct.frontier, the
 *	  transition, combine and final functions, text and binary I/O, and the
 *	  set-returning accessor frontier_options().
 *
 * The state keeps, per option, the number of items and the exact sums of
 * their cost and value (int128 money units).  It is a plain varlena:
 *
 *		header | entries[cap] | option names (names_cap bytes)
 *
 * During aggregation the state lives in the aggregate context with room to
 * spare and is updated in place; only a new option that does not fit makes
 * a bigger copy.  The final function returns a compact copy with the
 * options sorted by name, which is what a table stores.
 *
 * Text form, options sorted by name:
 *		{("model-a",3,1.5,2.4),("human",2,90,100)}
 * each entry being (option, items, cost sum, value sum); in the name, " and
 * \ are escaped with a backslash.  Binary form: int8 version (1), int32
 * number of options, then per option: string name, int64 items, cost sum
 * and value sum as two int64 halves each.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "aggio.h"
#include "frontier_hull.h"
#include "money.h"

typedef struct FrontierEntry
{
	int128		cost_sum;
	int128		value_sum;
	int64		count;
	uint32		name_off;
	uint32		name_len;
	uint32		name_hash;		/* frontier_hash_name() of the name */
} FrontierEntry;

typedef struct FrontierState
{
	int32		vl_len_;
	int32		nopts;
	int32		cap;			/* entries room */
	int32		names_used;
	int32		names_cap;		/* name bytes room */
	int32		last;			/* entry hit by the previous row */
	FrontierEntry entries[FLEXIBLE_ARRAY_MEMBER];
} FrontierState;

#define FRONTIER_HDRSZ			offsetof(FrontierState, entries)
#define FRONTIER_NAMES(st)		((char *) &(st)->entries[(st)->cap])
#define FRONTIER_SIZE(cap, ncap) \
	(FRONTIER_HDRSZ + (Size) (cap) * sizeof(FrontierEntry) + (Size) (ncap))
#define FRONTIER_BIN_VERSION	1
#define FRONTIER_TYPE_NAME		"tokacct.frontier_state"

PG_FUNCTION_INFO_V1(frontier_in);
PG_FUNCTION_INFO_V1(frontier_out);
PG_FUNCTION_INFO_V1(frontier_recv);
PG_FUNCTION_INFO_V1(frontier_send);
PG_FUNCTION_INFO_V1(frontier_trans);
PG_FUNCTION_INFO_V1(frontier_trans_weighted);
PG_FUNCTION_INFO_V1(frontier_combine);
PG_FUNCTION_INFO_V1(frontier_final);
PG_FUNCTION_INFO_V1(frontier_options);

/* A new state with room for cap options and ncap name bytes. */
static FrontierState *
frontier_alloc(int cap, int ncap)
{
	FrontierState *st = palloc0(FRONTIER_SIZE(cap, ncap));

	SET_VARSIZE(st, FRONTIER_SIZE(cap, ncap));
	st->cap = cap;
	st->names_cap = ncap;
	return st;
}

/* A copy of st with room for cap options and ncap name bytes. */
static FrontierState *
frontier_resize(const FrontierState *st, int cap, int ncap)
{
	FrontierState *n = frontier_alloc(cap, ncap);

	n->nopts = st->nopts;
	n->names_used = st->names_used;
	memcpy(n->entries, st->entries, sizeof(FrontierEntry) * st->nopts);
	memcpy(FRONTIER_NAMES(n), FRONTIER_NAMES(st), st->names_used);
	return n;
}

static void
frontier_check_name(const char *name, int len)
{
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option must not be empty"),
				 errhint("Name each option, for example the model or \"human\".")));
	if (len > FRONTIER_MAX_NAME)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("option name is too long"),
				 errdetail("An option name has at most %d bytes; this one has %d.",
						   FRONTIER_MAX_NAME, len)));
}

/*
 * A cheap fingerprint of an option name (length, first and last four
 * bytes), a filter before memcmp: rows rotate among a few options, and a
 * full hash of every name would cost more than the comparisons it saves.
 */
static inline uint32
frontier_hash_name(const char *name, int len)
{
	uint32		a,
				b;

	if (len < 4)
	{
		a = 0;
		memcpy(&a, name, len);
		return a ^ ((uint32) len * 0x9E3779B1u);
	}
	memcpy(&a, name, 4);
	memcpy(&b, name + len - 4, 4);
	return a ^ ((b << 16) | (b >> 16)) ^ ((uint32) len * 0x9E3779B1u);
}

/* Are two option names of length len equal?  Short names without a call. */
static inline bool
frontier_name_eq(const char *a, const char *b, int len)
{
	uint32		x,
				y;
	int			i;

	if (len < 4)
	{
		for (i = 0; i < len; i++)
			if (a[i] != b[i])
				return false;
		return true;
	}
	memcpy(&x, a, 4);
	memcpy(&y, b, 4);
	if (x != y)
		return false;
	memcpy(&x, a + len - 4, 4);
	memcpy(&y, b + len - 4, 4);
	if (x != y)
		return false;
	return len <= 8 || memcmp(a + 4, b + 4, len - 8) == 0;
}

/*
 * Find the entry of an option, appending it if new.  May return a bigger
 * copy of the state (in the current memory context) through *stp.
 */
static FrontierEntry *
frontier_entry(FrontierState **stp, const char *name, int len)
{
	FrontierState *st = *stp;
	FrontierEntry *e;
	uint32		h;
	int			i;

	h = frontier_hash_name(name, len);
	if (st->last < st->nopts)
	{
		e = &st->entries[st->last];
		if (e->name_hash == h && e->name_len == len &&
			frontier_name_eq(FRONTIER_NAMES(st) + e->name_off, name, len))
			return e;
	}
	for (i = 0; i < st->nopts; i++)
	{
		e = &st->entries[i];
		if (e->name_hash == h && e->name_len == len &&
			frontier_name_eq(FRONTIER_NAMES(st) + e->name_off, name, len))
		{
			st->last = i;
			return e;
		}
	}

	frontier_check_name(name, len);
	if (st->nopts >= FRONTIER_MAX_OPTIONS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many options in one frontier"),
				 errdetail("A frontier holds at most %d options.", FRONTIER_MAX_OPTIONS),
				 errhint("Group the rows by workflow, one frontier per workflow.")));
	if (st->nopts == st->cap || st->names_used + len > st->names_cap)
	{
		int			cap = Max(8, st->cap);
		int			ncap = Max(256, st->names_cap);

		if (st->nopts == st->cap)
			cap *= 2;
		while (st->names_used + len > ncap)
			ncap *= 2;
		st = frontier_resize(st, cap, ncap);
		*stp = st;
	}
	e = &st->entries[st->nopts];
	e->count = 0;
	e->cost_sum = 0;
	e->value_sum = 0;
	e->name_off = st->names_used;
	e->name_len = len;
	e->name_hash = h;
	memcpy(FRONTIER_NAMES(st) + st->names_used, name, len);
	st->names_used += len;
	st->last = st->nopts++;
	return e;
}

/* An option's name, cut for an error message. */
static char *
frontier_quote_name(const FrontierState *st, const FrontierEntry *e)
{
	return aggio_quote(FRONTIER_NAMES(st) + e->name_off, e->name_len);
}

/*
 * Add items to the count of an entry of st, or raise an error when the
 * count would pass the largest bigint.  The sums a count bounds
 * (count x the largest money amount of one item) then fit an int128.
 */
static void
frontier_add_items(const FrontierState *st, FrontierEntry *e, int64 items)
{
	int64		count;

	if (pg_add_s64_overflow(e->count, items, &count))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("bigint out of range"),
				 errdetail("Option \"%s\" would count more than " INT64_FORMAT " items.",
						   frontier_quote_name(st, e), PG_INT64_MAX)));
	e->count = count;
}

/* Add items with a given cost and value per item to an entry of st. */
static void
frontier_add(const FrontierState *st, FrontierEntry *e, int64 items, int64 cost, int64 value)
{
	frontier_add_items(st, e, items);
	e->cost_sum += (int128) cost * items;
	e->value_sum += (int128) value * items;
}

/* The state argument, ready to be updated in place or replaced. */
static FrontierState *
frontier_trans_state(FunctionCallInfo fcinfo, const char *fname)
{
	aggio_check_agg(fcinfo, fname);
	if (PG_ARGISNULL(0))
		return frontier_alloc(8, 256);
	return (FrontierState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
}

static void
frontier_trans_row(FunctionCallInfo fcinfo, FrontierState **stp, int64 items)
{
	text	   *opt = PG_GETARG_TEXT_PP(1);
	int64		cost = money_from_datum(PG_GETARG_DATUM(2), "cost");
	int64		value = money_from_datum(PG_GETARG_DATUM(3), "value");
	FrontierEntry *e;

	if (cost < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cost must not be negative"),
				 errdetail("Option \"%s\" has cost %s.",
						   aggio_quote(VARDATA_ANY(opt), VARSIZE_ANY_EXHDR(opt)),
						   money_to_cstring(cost))));
	e = frontier_entry(stp, VARDATA_ANY(opt), VARSIZE_ANY_EXHDR(opt));
	frontier_add(*stp, e, items, cost, value);
}

/* Transition: one item of an option, with its cost and value. */
Datum
frontier_trans(PG_FUNCTION_ARGS)
{
	FrontierState *st;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	st = frontier_trans_state(fcinfo, "frontier_accum");
	frontier_trans_row(fcinfo, &st, 1);
	PG_RETURN_POINTER(st);
}

/* Transition: an option's mean cost and value per item over n items. */
Datum
frontier_trans_weighted(PG_FUNCTION_ARGS)
{
	FrontierState *st;
	int64		items;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	items = PG_GETARG_INT64(4);
	if (items <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("items must be positive"),
				 errdetail("Got %lld items.", (long long) items),
				 errhint("Leave out options with no items.")));
	st = frontier_trans_state(fcinfo, "frontier_accum");
	frontier_trans_row(fcinfo, &st, items);
	PG_RETURN_POINTER(st);
}

/* Combine: add the options of the second state into the first. */
Datum
frontier_combine(PG_FUNCTION_ARGS)
{
	FrontierState *st;
	FrontierState *other;
	int			i;
	Datum		result;

	aggio_check_agg(fcinfo, "frontier_combine");
	if (aggio_combine_nulls(fcinfo, &result))
		return result;
	st = (FrontierState *) PG_GETARG_POINTER(0);
	other = (FrontierState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	for (i = 0; i < other->nopts; i++)
	{
		FrontierEntry *o = &other->entries[i];
		FrontierEntry *e = frontier_entry(&st, FRONTIER_NAMES(other) + o->name_off,
										  o->name_len);

		frontier_add_items(st, e, o->count);
		e->cost_sum += o->cost_sum;
		e->value_sum += o->value_sum;
	}
	PG_RETURN_POINTER(st);
}

/* qsort_arg: entries by name */
static int
frontier_entry_cmp(const void *x, const void *y, void *arg)
{
	const FrontierEntry *a = x;
	const FrontierEntry *b = y;
	const char *names = arg;

	return frontier_name_cmp(names + a->name_off, a->name_len,
							 names + b->name_off, b->name_len);
}

/* A compact copy of a state, options sorted by name. */
static FrontierState *
frontier_compact(const FrontierState *st)
{
	FrontierEntry *sorted = palloc(sizeof(FrontierEntry) * Max(st->nopts, 1));
	FrontierState *n = frontier_alloc(st->nopts, st->names_used);
	int			off = 0;
	int			i;

	memcpy(sorted, st->entries, sizeof(FrontierEntry) * st->nopts);
	qsort_arg(sorted, st->nopts, sizeof(FrontierEntry), frontier_entry_cmp,
			  (void *) FRONTIER_NAMES(st));
	for (i = 0; i < st->nopts; i++)
	{
		n->entries[i] = sorted[i];
		n->entries[i].name_off = off;
		memcpy(FRONTIER_NAMES(n) + off, FRONTIER_NAMES(st) + sorted[i].name_off,
			   sorted[i].name_len);
		off += sorted[i].name_len;
	}
	n->nopts = st->nopts;
	n->names_used = off;
	pfree(sorted);
	return n;
}

/* Final: the state, compacted, with options sorted by name. */
Datum
frontier_final(PG_FUNCTION_ARGS)
{
	FrontierState *st = (FrontierState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));

	PG_RETURN_POINTER(frontier_compact(st));
}

/* ---------- input validation shared by text and binary input ---------- */

/*
 * Check one option of a state read from in: positive count, sums a set of
 * "count" costs and values could have, and a new name.
 */
static void
frontier_check_entry(FrontierState *st, const char *name, int len,
					 int64 count, int128 cost_sum, int128 value_sum, const AggioInput *in)
{
	int			i;

	if (len == 0)
		aggio_bad(in, "An option name is empty.");
	if (len > FRONTIER_MAX_NAME)
		aggio_bad(in, "An option name is longer than %d bytes.", FRONTIER_MAX_NAME);
	if (count <= 0)
		aggio_bad(in, "Option \"%s\" has " INT64_FORMAT " items; the count must be positive.",
				  aggio_quote(name, len), count);
	if (cost_sum < 0)
		aggio_bad(in, "Option \"%s\" has a negative cost sum.", aggio_quote(name, len));
	if (cost_sum > (int128) count * PG_INT64_MAX ||
		value_sum > (int128) count * PG_INT64_MAX ||
		value_sum < (int128) count * PG_INT64_MIN)
		aggio_bad(in, "Option \"%s\" has a sum out of range for its count of " INT64_FORMAT ".",
				  aggio_quote(name, len), count);
	for (i = 0; i < st->nopts; i++)
		if (st->entries[i].name_len == len &&
			memcmp(FRONTIER_NAMES(st) + st->entries[i].name_off, name, len) == 0)
			aggio_bad(in, "Option \"%s\" appears twice.", aggio_quote(name, len));
}

static FrontierState *
frontier_append_checked(FrontierState *st, const char *name, int len,
						int64 count, int128 cost_sum, int128 value_sum, const AggioInput *in)
{
	FrontierEntry *e;

	frontier_check_entry(st, name, len, count, cost_sum, value_sum, in);
	if (st->nopts >= FRONTIER_MAX_OPTIONS)
		aggio_bad(in, "A frontier holds at most %d options.", FRONTIER_MAX_OPTIONS);
	e = frontier_entry(&st, name, len);
	e->count = count;
	e->cost_sum = cost_sum;
	e->value_sum = value_sum;
	return st;
}

/* ---------- text I/O ---------- */

/* Read an option name in double quotes, " and \ escaped by a backslash, into name. */
static void
frontier_read_name(AggioInput *in, StringInfo name)
{
	aggio_expect(in, "\"");
	resetStringInfo(name);
	while (*in->p != '"')
	{
		if (*in->p == '\0')
			aggio_expected(in, "a closing double quote after the option name");
		if (*in->p == '\\')
		{
			in->p++;
			if (*in->p == '\0')
				aggio_expected(in, "a character after the backslash");
		}
		appendStringInfoChar(name, *in->p++);
		if (name->len > FRONTIER_MAX_NAME)
			aggio_bad(in, "An option name is longer than %d bytes.", FRONTIER_MAX_NAME);
	}
	in->p++;
	if (!pg_verifymbstr(name->data, name->len, true))
		aggio_bad(in, "An option name is not valid in the database's encoding.");
}

/* Is the text from p to end a plain decimal number: [-]digits[.digits]? */
static bool
frontier_is_decimal(const char *p, const char *end)
{
	p += (*p == '-');
	if (*p < '0' || *p > '9')
		return false;
	p += strspn(p, "0123456789");
	if (*p == '.')
		p += 1 + strspn(p + 1, "0123456789");
	return p == end;
}

/* Read an amount with at most 12 decimals (a cost or value sum) into money units. */
static int128
frontier_read_amount(AggioInput *in, const char *what)
{
	const char *end;
	const char *q;
	int128		v;

	aggio_skip_space(in);
	end = in->p;
	while (*end && *end != ',' && *end != ')' && *end != ' ')
		end++;
	/* parse from a copy: the errors point at the amount's start */
	q = in->p;
	switch (money_parse(&q, true, &v))
	{
		case MONEY_PARSE_OK:
			if (q == end)
				break;
			/* FALLTHROUGH */
		case MONEY_PARSE_NO_DIGITS:
		case MONEY_PARSE_NO_DECIMALS:
		case MONEY_PARSE_TOO_MANY_DECIMALS:
			aggio_expected(in, psprintf("the %s (an amount with at most 12 decimals)", what));
		case MONEY_PARSE_OUT_OF_RANGE:
			/* a number too large, or text that is no number at all */
			if (frontier_is_decimal(in->p, end))
				aggio_out_of_range(in, end, "");
			aggio_expected(in, psprintf("the %s (an amount with at most 12 decimals)", what));
	}
	in->p = end;
	return v;
}

/* Text input of a frontier state. */
Datum
frontier_in(PG_FUNCTION_ARGS)
{
	AggioInput	in;
	FrontierState *st = frontier_alloc(8, 256);
	StringInfoData name;

	aggio_text_input(&in, FRONTIER_TYPE_NAME, PG_GETARG_CSTRING(0), true);
	initStringInfo(&name);
	aggio_expect(&in, "{");
	if (!aggio_accept(&in, "}"))
	{
		do
		{
			int64		count;
			int128		cost,
						value;

			aggio_expect(&in, "(");
			frontier_read_name(&in, &name);
			aggio_expect(&in, ",");
			count = aggio_parse_int(&in, "the item count", PG_INT64_MIN, PG_INT64_MAX);
			aggio_expect(&in, ",");
			cost = frontier_read_amount(&in, "cost sum");
			aggio_expect(&in, ",");
			value = frontier_read_amount(&in, "value sum");
			aggio_expect(&in, ")");
			st = frontier_append_checked(st, name.data, name.len, count, cost, value, &in);
		} while (aggio_list_next(&in, "}"));
	}
	aggio_expect_end(&in);
	PG_RETURN_POINTER(frontier_compact(st));
}

/* A copy of the state with options in name order, for output. */
static FrontierState *
frontier_sorted(FrontierState *st)
{
	return frontier_compact(st);
}

/* Text output of a frontier state. */
Datum
frontier_out(PG_FUNCTION_ARGS)
{
	FrontierState *st = frontier_sorted((FrontierState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0)));
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < st->nopts; i++)
	{
		FrontierEntry *e = &st->entries[i];
		const char *n = FRONTIER_NAMES(st) + e->name_off;
		uint32		j;

		if (i > 0)
			appendStringInfoChar(&buf, ',');
		appendStringInfoString(&buf, "(\"");
		for (j = 0; j < e->name_len; j++)
		{
			if (n[j] == '"' || n[j] == '\\')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, n[j]);
		}
		appendStringInfo(&buf, "\",%lld,%s,%s)", (long long) e->count,
						 money_to_cstring(e->cost_sum), money_to_cstring(e->value_sum));
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_CSTRING(buf.data);
}

/* ---------- binary I/O ---------- */

/* Binary input of a frontier state. */
Datum
frontier_recv(PG_FUNCTION_ARGS)
{
	AggioInput	in;
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	FrontierState *st;
	int32		n;
	int			i;

	aggio_binary_input(&in, FRONTIER_TYPE_NAME, buf);
	aggio_need_bytes(&in, 1 + 4);
	aggio_check_version(&in, pq_getmsgbyte(buf), FRONTIER_BIN_VERSION);
	n = pq_getmsgint(buf, 4);
	if (n < 0 || n > FRONTIER_MAX_OPTIONS)
		aggio_bad(&in, "The state claims %d options; a frontier holds 0 to %d.",
				  n, FRONTIER_MAX_OPTIONS);
	st = frontier_alloc(Max(n, 1), 256);
	for (i = 0; i < n; i++)
	{
		const char *name = aggio_getmsg_string(&in);
		int64		count;
		int128		cost,
					value;

		aggio_need_bytes(&in, 8 + 2 * 16);
		count = pq_getmsgint64(buf);
		cost = aggio_getmsg_int128(buf);
		value = aggio_getmsg_int128(buf);
		st = frontier_append_checked(st, name, strlen(name), count, cost, value, &in);
	}
	aggio_getmsg_end(&in);
	PG_RETURN_POINTER(frontier_compact(st));
}

/* Binary output of a frontier state. */
Datum
frontier_send(PG_FUNCTION_ARGS)
{
	FrontierState *st = frontier_sorted((FrontierState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0)));
	StringInfoData buf;
	int			i;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, FRONTIER_BIN_VERSION);
	pq_sendint32(&buf, st->nopts);
	for (i = 0; i < st->nopts; i++)
	{
		FrontierEntry *e = &st->entries[i];
		char	   *name = pnstrdup(FRONTIER_NAMES(st) + e->name_off, e->name_len);

		pq_sendstring(&buf, name);
		pq_sendint64(&buf, e->count);
		aggio_send_int128(&buf, e->cost_sum);
		aggio_send_int128(&buf, e->value_sum);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ---------- the accessor ---------- */

/* One row per option: means, frontier membership, marginal utility, dominance. */
Datum
frontier_options(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	FrontierState *st = (FrontierState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	FrontierPoint *pts;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (st->nopts == 0)
		return (Datum) 0;
	pts = palloc(sizeof(FrontierPoint) * st->nopts);
	for (i = 0; i < st->nopts; i++)
	{
		FrontierEntry *e = &st->entries[i];

		pts[i].name = FRONTIER_NAMES(st) + e->name_off;
		pts[i].namelen = e->name_len;
		pts[i].items = e->count;
		pts[i].cost = (int64) money_div_round(e->cost_sum, e->count);
		pts[i].value = (int64) money_div_round(e->value_sum, e->count);
		pts[i].tag = i;
	}
	frontier_hull(pts, st->nopts);

	for (i = 0; i < st->nopts; i++)
	{
		FrontierPoint *p = &pts[i];
		Datum		values[8];
		bool		nulls[8] = {0};

		values[0] = PointerGetDatum(cstring_to_text_with_len(p->name, p->namelen));
		values[1] = Int64GetDatum(p->items);
		values[2] = NumericGetDatum(money_to_numeric(p->cost));
		values[3] = NumericGetDatum(money_to_numeric(p->value));
		values[4] = BoolGetDatum(p->on_frontier);
		if (p->on_frontier)
			values[5] = Int32GetDatum(p->rank);
		else
			nulls[5] = true;
		if (p->on_frontier && p->prev >= 0)
			values[6] = Float8GetDatum(frontier_slope((int128) p->value - pts[p->prev].value,
													  (int128) p->cost - pts[p->prev].cost));
		else
			nulls[6] = true;
		if (p->dom1 >= 0)
		{
			Datum		names[2];
			int			nn = 0;

			names[nn++] = PointerGetDatum(cstring_to_text_with_len(pts[p->dom1].name,
																	pts[p->dom1].namelen));
			if (p->dom2 >= 0)
				names[nn++] = PointerGetDatum(cstring_to_text_with_len(pts[p->dom2].name,
																		pts[p->dom2].namelen));
			values[7] = PointerGetDatum(construct_array(names, nn, TEXTOID, -1, false,
														TYPALIGN_INT));
		}
		else
			nulls[7] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
