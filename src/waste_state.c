/*-------------------------------------------------------------------------
 *
 * waste_state.c
 *	  The waste_state type: span lists of one trace, collected by the
 *	  aggregate tokacct.waste_agg and merged by waste_combine.
 *
 * The transition function appends one span record per row to a state
 * allocated in the aggregate context, growing it by doubling, so rows do
 * not allocate.  The combine function appends the records of one partial
 * state to another: classification is deferred to the accessors (see
 * waste_accessors.c), so partial states of the same trace merge exactly.
 *
 * While aggregating, the state is an expanded object (PostgreSQL's
 * expandeddatum.h), as context_growth's is (agg_context.c): a header in a
 * memory context shared by the states of one aggregate context (a child of
 * it, "tokacct waste states"), pointing to a flat waste_state with spare
 * room after its records.  waste_accum and waste_combine append in place
 * and hand back the same read-write pointer, so nodeAgg never copies the
 * state (ExecAggTransReparent copies only a value whose pointer changed,
 * and keeps a new read-write expanded object whose context is a child of
 * the aggregate context); when the room is full the flat value is
 * reallocated to twice its size.  A large chunk is its own malloc block,
 * which the C library grows in place or by remapping pages, not copying
 * them, and the spare room is never written, so it takes no memory until
 * records fill it: a trace's peak memory while aggregating is about its
 * records.  Wherever the state leaves the aggregate (a partial state sent
 * to the leader of a parallel plan, a final value stored or sorted) it is
 * flattened to its records only (a parallel worker adds the totals of
 * their classification, see "Parallel waste" below), so its text and
 * binary forms are as before and a parallel worker sends no spare room.
 * The final value itself is the state, read-only, not a copy, read in
 * place by the accessors (see waste_trim); and the leader's combine reads
 * a trace that came whole in one partial state where it arrived (see
 * waste_ex_borrow).
 *
 * The binary format (send/recv) is, in network byte order:
 *	 int32 version, int32 nspans, int32 ncostnull, int64 total_hi,
 *	 int64 total_lo, then per span: int64 cost, int64 start, int32 attempt,
 *	 byte status, byte flags, five int16 string lengths, in version 2 and
 *	 only when flags has WASTE_F_INPUT int64 input tokens and int64 input
 *	 cost, and the strings.  A state without input tokens is written as
 *	 version 1 (no span then has the flag); both versions are read.
 * The text format is that binary format in hexadecimal.  Both inputs check
 * every field and recompute the counts and the total.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "aggio.h"
#include "money.h"
#include "waste.h"

PG_FUNCTION_INFO_V1(waste_state_in);
PG_FUNCTION_INFO_V1(waste_state_out);
PG_FUNCTION_INFO_V1(waste_state_recv);
PG_FUNCTION_INFO_V1(waste_state_send);
PG_FUNCTION_INFO_V1(waste_accum);
PG_FUNCTION_INFO_V1(waste_combine);
PG_FUNCTION_INFO_V1(waste_trim);

const char *const waste_status_names[] = {
	"ok", "error", "rate_limited", "timeout", "server_error", "discarded"
};

#define WASTE_TYPE_NAME "tokacct.waste_state"

/* first state allocation, in bytes of records */
#define WASTE_INITIAL_CAP	8192

/* Allocate an empty state with room for cap bytes of records. */
static WasteState *
waste_new(MemoryContext ctx, int64 cap)
{
	WasteState *s;

	if (cap > (int64) MaxAllocSize - (int64) WASTE_HDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("trace too large for one waste_state"),
				 errdetail("The spans of one trace must fit in 1 GB.")));
	s = (WasteState *) MemoryContextAllocZero(ctx, WASTE_HDRSZ + cap);
	SET_VARSIZE(s, WASTE_HDRSZ + cap);
	s->cap = cap;
	return s;
}

/* The capacity for want bytes of records: twice cap, capped at 1 GB. */
static int64
waste_grown_cap(int64 cap, int64 want)
{
	int64		newcap;

	newcap = Max(cap * 2, want);
	if (newcap > (int64) MaxAllocSize - (int64) WASTE_HDRSZ)
		newcap = (int64) MaxAllocSize - (int64) WASTE_HDRSZ;
	newcap = Max(newcap, want);
	if (newcap > (int64) MaxAllocSize - (int64) WASTE_HDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("trace too large for one waste_state"),
				 errdetail("The spans of one trace must fit in 1 GB.")));
	return newcap;
}

/* ---- the expanded state used while aggregating ---- */

/*
 * flat is a waste_state whose VARSIZE covers its header and cap bytes of
 * room; only its used bytes of records are written (the room after them is
 * never read: flattening copies the records only).
 */
typedef struct WasteExpanded
{
	ExpandedObjectHeader hdr;
	WasteState *flat;
	bool		has_totals;		/* totals holds the classes of flat's spans */
	bool		tried;			/* totals were computed for these spans (or failed) */
	WasteTotals totals;
} WasteExpanded;

/* name of the memory context shared by the expanded states of one aggregate */
static const char waste_arena_name[] = "tokacct waste states";

/*
 * Parallel waste.  A state leaves the aggregate flattened; in a parallel
 * plan that is the partial state a worker sends to the leader, which
 * combines the partial states of each trace and classifies it alone.  So
 * that the leader need not classify the traces that one worker saw whole
 * (all of them but those whose rows fell on both sides of a boundary
 * between the blocks or index pages given to different workers), a
 * parallel worker classifies each partial state as it flattens it, under
 * the accessors' defaults (cost rule leaf, loop_min 3), and sends the
 * totals after the records (WASTE_H_TOTALS).  The leader's combine keeps
 * them when the trace's state is one partial state, and drops them as
 * soon as another partial state's spans are appended (a trace split
 * between workers is classified whole by the accessor, as in a serial
 * plan); the final function passes them on, and waste_summary and
 * waste_classes with the default rule and loop_min answer from them.  The
 * totals are those the same classification of the same spans gives, so
 * serial and parallel answers are the same.  A trace the classifier
 * refuses (a repeated span id, a cycle of parent ids) gets no totals: the
 * accessor then raises the error, as in a serial plan, and a query that
 * only collects states does not fail.
 */
static void
waste_ex_try_totals(WasteExpanded *e)
{
	if (e->tried || !IsParallelWorker())
		return;
	e->tried = true;
	e->has_totals = waste_compute_totals(e->flat, &e->totals);
}

/* Appending spans to e: its totals are no longer those of its spans. */
static inline void
waste_ex_changed(WasteExpanded *e)
{
	e->has_totals = false;
	e->tried = false;
}

static Size
waste_ex_flat_size(ExpandedObjectHeader *eohptr)
{
	WasteExpanded *e = (WasteExpanded *) eohptr;

	waste_ex_try_totals(e);
	return WASTE_HDRSZ + e->flat->used + (e->has_totals ? sizeof(WasteTotals) : 0);
}

/*
 * Write the flat form of s (with totals when not NULL) into r, which has
 * room for it: the header and the records, no spare room.
 */
static void
waste_write_flat(WasteState *r, const WasteState *s, const WasteTotals *totals)
{
	memcpy(r, s, WASTE_HDRSZ + s->used);
	r->pad = 0;
	r->cap = s->used;
	if (totals != NULL)
	{
		memcpy(r->data + s->used, totals, sizeof(WasteTotals));
		r->pad = WASTE_H_TOTALS;
		r->cap += sizeof(WasteTotals);
	}
	SET_VARSIZE(r, WASTE_HDRSZ + r->cap);
}

/*
 * The flat form of our expanded state d (one waste_expanded_flat accepts),
 * with the totals it carries, in the current memory context: the bytes
 * flattening it writes (but that this never classifies).
 */
WasteState *
waste_expanded_copy(Datum d)
{
	WasteExpanded *e = (WasteExpanded *) DatumGetEOHP(d);
	WasteState *r;

	Assert(e->hdr.eoh_methods == &waste_ex_methods);
	r = (WasteState *) palloc(WASTE_HDRSZ + e->flat->used +
							  (e->has_totals ? sizeof(WasteTotals) : 0));
	waste_write_flat(r, e->flat, e->has_totals ? &e->totals : NULL);
	return r;
}

/*
 * Is v (a plain varlena in memory) byte for byte what waste_expanded_copy
 * would make of our expanded state d?  Compared in place, without a copy.
 */
bool
waste_expanded_equal(const struct varlena *v, Datum d)
{
	WasteExpanded *e = (WasteExpanded *) DatumGetEOHP(d);
	const WasteState *s = e->flat;
	const WasteState *c = (const WasteState *) v;
	Size		len = WASTE_HDRSZ + s->used + (e->has_totals ? sizeof(WasteTotals) : 0);

	Assert(e->hdr.eoh_methods == &waste_ex_methods);
	if (!VARATT_IS_4B_U(v) || VARSIZE(v) != len)
		return false;
	/* the header as waste_write_flat writes it, field by field */
	if (c->nspans != s->nspans || c->ncostnull != s->ncostnull ||
		c->pad != (e->has_totals ? WASTE_H_TOTALS : 0) ||
		c->used != s->used || c->cap != (int64) (len - WASTE_HDRSZ) ||
		c->total_hi != s->total_hi || c->total_lo != s->total_lo)
		return false;
	if (memcmp(c->data, s->data, s->used) != 0)
		return false;
	return !e->has_totals ||
		memcmp(c->data + s->used, &e->totals, sizeof(WasteTotals)) == 0;
}

/* The flat form: the header and the records (and the totals), no spare room. */
static void
waste_ex_flatten(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	WasteExpanded *e = (WasteExpanded *) eohptr;

	Assert(allocated_size == WASTE_HDRSZ + e->flat->used +
		   (e->has_totals ? sizeof(WasteTotals) : 0));
	waste_write_flat((WasteState *) result, e->flat, e->has_totals ? &e->totals : NULL);
}

static const ExpandedObjectMethods waste_ex_methods = {
	waste_ex_flat_size,
	waste_ex_flatten
};

/*
 * The child of aggcontext that holds the expanded states, made if needed:
 * one for all the groups of an aggregate context (a memory context per
 * trace would cost a kilobyte per trace).  nodeAgg deletes an expanded
 * state's context only when a transition function returns a pointer other
 * than the read-write one it was given, which these functions never do;
 * the shared context goes away with the aggregate context.
 */
static MemoryContext
waste_arena(MemoryContext aggcontext)
{
	MemoryContext c;

	for (c = aggcontext->firstchild; c != NULL; c = c->nextchild)
		if (c->name == waste_arena_name)
			return c;
	/* the name is a constant: the Internal form takes it without the macro's check */
	return AllocSetContextCreateInternal(aggcontext, waste_arena_name,
										 ALLOCSET_DEFAULT_SIZES);
}

/*
 * A new expanded state in aggcontext's arena holding the records of src (a
 * flat state, or NULL for none), with room for at least need more bytes.
 */
static WasteExpanded *
waste_ex_new(MemoryContext aggcontext, const WasteState *src, int64 need)
{
	MemoryContext arena = waste_arena(aggcontext);
	WasteExpanded *e;
	int64		used = src ? src->used : 0;
	int64		cap = Max((int64) WASTE_INITIAL_CAP, used + need);

	if (cap > (int64) MaxAllocSize - (int64) WASTE_HDRSZ)
		cap = waste_grown_cap(0, used + need);
	e = (WasteExpanded *) MemoryContextAlloc(arena, sizeof(WasteExpanded));
	EOH_init_header(&e->hdr, &waste_ex_methods, arena);
	/* a partial state's totals stay valid while no span is added */
	e->has_totals = src != NULL && waste_get_totals(src, &e->totals);
	e->tried = e->has_totals;
	e->flat = (WasteState *) MemoryContextAlloc(arena, WASTE_HDRSZ + cap);
	if (src)
		memcpy(e->flat, src, WASTE_HDRSZ + used);
	else
		memset(e->flat, 0, WASTE_HDRSZ);
	e->flat->pad = 0;
	e->flat->cap = cap;
	SET_VARSIZE(e->flat, WASTE_HDRSZ + cap);
	return e;
}

/*
 * Make room in e for need more bytes of records, doubling the room: the
 * flat value is reallocated in place (see the file header), not copied by
 * us nor by nodeAgg.
 */
static pg_noinline void
waste_ex_grow(WasteExpanded *e, int64 need)
{
	int64		newcap = waste_grown_cap(e->flat->cap, e->flat->used + need);

	e->flat = (WasteState *) repalloc(e->flat, WASTE_HDRSZ + newcap);
	e->flat->cap = newcap;
	SET_VARSIZE(e->flat, WASTE_HDRSZ + newcap);
}

static inline void
waste_ex_reserve(WasteExpanded *e, int64 need)
{
	if (unlikely(e->flat->used + need > e->flat->cap))
		waste_ex_grow(e, need);
}

/*
 * Argument 0 when it is one of our read-write expanded states, else NULL.
 * Such a pointer exists only as the transition value of the aggregate that
 * made it (nodeAgg hands the final function and everything else a
 * read-only one), so it is the state to update in place.
 */
static inline WasteExpanded *
waste_ex_own(FunctionCallInfo fcinfo)
{
	Datum		d;

	if (PG_ARGISNULL(0))
		return NULL;
	d = PG_GETARG_DATUM(0);
	if (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)) &&
		DatumGetEOHP(d)->eoh_methods == &waste_ex_methods)
		return (WasteExpanded *) DatumGetEOHP(d);
	return NULL;
}

/*
 * The state in argument 0 of a transition or combine function as our
 * read-write expanded state: itself when it is one, else a new one in
 * aggcontext holding its records (a flat value, or any other form read as
 * a flat value), with room for need more bytes.  NULL when the argument is.
 */
static WasteExpanded *
waste_ex_arg(FunctionCallInfo fcinfo, MemoryContext aggcontext, int64 need)
{
	WasteExpanded *e = waste_ex_own(fcinfo);

	if (e != NULL)
		return e;
	if (PG_ARGISNULL(0))
		return NULL;
	return waste_ex_new(aggcontext, PG_GETARG_WASTE(0), need);
}

/* The aggregate context of a support function, or an error outside one. */
static MemoryContext
waste_aggcontext(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext aggcontext = NULL;

	if (AggCheckCallContext(fcinfo, &aggcontext) == 0)
		aggio_check_agg(fcinfo, fn);	/* raises the error */
	return aggcontext;
}

/*
 * The flat value of a state argument: the records of our expanded state
 * read in place (a read-only pointer, as a final function is given), else
 * the argument detoasted.
 */
static inline const WasteState *
waste_arg_flat(FunctionCallInfo fcinfo, int n)
{
	Datum		d = PG_GETARG_DATUM(n);

	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)) &&
		DatumGetEOHP(d)->eoh_methods == &waste_ex_methods)
		return ((WasteExpanded *) DatumGetEOHP(d))->flat;
	return PG_GETARG_WASTE(n);
}

/*
 * The flat records of d when it is one of our expanded states (the final
 * value of waste_agg or merge, or a transition value), read in place and
 * never to be written; its totals in *totals when it carries them (else
 * NULL there).  NULL when d is not one of our expanded states.  Only the
 * flat value's counts (nspans, ncostnull), used, total and its used bytes
 * of records are meaningful: its VARSIZE, cap and pad are those of its
 * room, or of the input it is read from (waste_ex_borrow), and the
 * totals are returned apart.
 */
const WasteState *
waste_expanded_flat(Datum d, const WasteTotals **totals)
{
	WasteExpanded *e;

	if (!VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)) ||
		DatumGetEOHP(d)->eoh_methods != &waste_ex_methods)
		return NULL;
	e = (WasteExpanded *) DatumGetEOHP(d);
	if (totals != NULL)
		*totals = e->has_totals ? &e->totals : NULL;
	return e->flat;
}

/* A span id, to quote in an error (see aggio_quote). */
static char *
waste_quote_id(const text *id)
{
	return aggio_quote(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id));
}

/*
 * Parse a status text.  Accepted (case-insensitive): NULL, ok, unset,
 * success; error, failed, failure; rate_limited, rate_limit; timeout,
 * timed_out; server_error; discarded, cancelled, canceled; and HTTP codes:
 * 2xx ok, 429 rate_limited, 408 and 504 timeout, other 5xx server_error,
 * other 4xx error.
 */
static uint8
waste_parse_status(const char *s, int len, text *span)
{
	char		buf[16];
	int			i;

	/* the common case first: "ok" in any case */
	if (len == 2 && (s[0] | 0x20) == 'o' && (s[1] | 0x20) == 'k')
		return WASTE_ST_OK;
	if (len >= 1 && len < (int) sizeof(buf))
	{
		for (i = 0; i < len; i++)
			buf[i] = pg_ascii_tolower((unsigned char) s[i]);
		buf[len] = '\0';

		if (len == 3 && isdigit((unsigned char) buf[0]) &&
			isdigit((unsigned char) buf[1]) && isdigit((unsigned char) buf[2]))
		{
			int			code = atoi(buf);

			if (code >= 200 && code < 300)
				return WASTE_ST_OK;
			if (code == 429)
				return WASTE_ST_RATE_LIMIT;
			if (code == 408 || code == 504)
				return WASTE_ST_TIMEOUT;
			if (code >= 500 && code < 600)
				return WASTE_ST_SERVER;
			if (code >= 400 && code < 500)
				return WASTE_ST_ERROR;
		}
		else if (strcmp(buf, "ok") == 0 || strcmp(buf, "unset") == 0 ||
				 strcmp(buf, "success") == 0)
			return WASTE_ST_OK;
		else if (strcmp(buf, "error") == 0 || strcmp(buf, "failed") == 0 ||
				 strcmp(buf, "failure") == 0)
			return WASTE_ST_ERROR;
		else if (strcmp(buf, "rate_limited") == 0 || strcmp(buf, "rate_limit") == 0)
			return WASTE_ST_RATE_LIMIT;
		else if (strcmp(buf, "timeout") == 0 || strcmp(buf, "timed_out") == 0)
			return WASTE_ST_TIMEOUT;
		else if (strcmp(buf, "server_error") == 0)
			return WASTE_ST_SERVER;
		else if (strcmp(buf, "discarded") == 0 || strcmp(buf, "cancelled") == 0 ||
				 strcmp(buf, "canceled") == 0)
			return WASTE_ST_DISCARDED;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown status \"%s\" for span \"%s\"",
					aggio_quote(s, len), waste_quote_id(span)),
			 errhint("Use ok, error, rate_limited, timeout, server_error or discarded (or NULL for ok), "
					 "or an HTTP status code.")));
	return WASTE_ST_ERROR;		/* keep compiler quiet */
}

/*
 * A text argument: its bytes and length, with the header looked at once.
 * The value is unpacked only if it is compressed or stored out of line (a
 * short-header value is used in place, as PG_GETARG_TEXT_PP does, without a
 * function call per argument).  *t is set to the (unpacked) text.
 */
static inline const char *
waste_arg_str(FunctionCallInfo fcinfo, int n, Size *len, text **t)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(PG_GETARG_DATUM(n));

	if (VARATT_IS_1B(v) && !VARATT_IS_1B_E(v))
	{
		*t = (text *) v;
		*len = VARSIZE_1B(v) - VARHDRSZ_SHORT;
		return VARDATA_1B(v);
	}
	if (VARATT_IS_4B_U(v))
	{
		*t = (text *) v;
		*len = VARSIZE_4B(v) - VARHDRSZ;
		return VARDATA_4B(v);
	}
	v = pg_detoast_datum_packed(v);
	*t = (text *) v;
	*len = VARSIZE_ANY_EXHDR(v);
	return VARDATA_ANY(v);
}

/* Check the length of a text argument: at most WASTE_MAX_STR bytes. */
static inline uint16
waste_str_len(Size len, const char *what)
{
	if (unlikely(len > WASTE_MAX_STR))
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s is too long for a waste_state", what),
				 errdetail("The %s has %zu bytes; at most %d are kept.",
						   what, len, WASTE_MAX_STR)));
	return (uint16) len;
}

/*
 * waste_accum(state, span_id, parent_id, kind, name, args_hash, status,
 * cost, started_at [, attempt [, input_tokens, input_cost]]): append one
 * span to the trace's state.  A span with input tokens (not NULL) is an
 * LLM call for the induced cost (see waste_rules.c); a NULL input cost
 * is 0, and input cost without input tokens is not kept.
 */
Datum
waste_accum(PG_FUNCTION_ARGS)
{
	WasteExpanded *e;
	WasteState *st;
	WasteSpanFixed f;
	WasteSpanInput in;
	text	   *str[WASTE_NSTR];
	const char *data[WASTE_NSTR];
	int64		need;
	char	   *p;
	int			i;
	static const char *const what[WASTE_NSTR] = {
		"span id", "parent id", "kind", "name", "argument hash"
	};

	/* the state is modified in place, so only an aggregate may call this */
	if (unlikely(!aggio_in_aggregate(fcinfo)))
		aggio_check_agg(fcinfo, "waste_accum");

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("span id must not be NULL"),
				 errhint("Every span of a trace needs an id.")));

	memset(&f, 0, sizeof(f));
	for (i = 0; i < WASTE_NSTR; i++)
	{
		if (PG_ARGISNULL(1 + i))
		{
			str[i] = NULL;
			data[i] = NULL;
			f.len[i] = 0;
			if (i == WASTE_S_PARENT)
				f.flags |= WASTE_F_PARENT_NULL;
			else if (i == WASTE_S_ARGS)
				f.flags |= WASTE_F_ARGS_NULL;
		}
		else
		{
			Size		len;

			data[i] = waste_arg_str(fcinfo, 1 + i, &len, &str[i]);
			f.len[i] = waste_str_len(len, what[i]);
		}
	}
	if (f.len[WASTE_S_ID] == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("span id must not be empty"),
				 errhint("Every span of a trace needs an id of its own.")));

	/* status, cost, start time and attempt */
	if (PG_ARGISNULL(6))
		f.status = WASTE_ST_OK;
	else
	{
		text	   *t;
		Size		len;
		const char *s = waste_arg_str(fcinfo, 6, &len, &t);

		f.status = waste_parse_status(s, len, str[WASTE_S_ID]);
	}
	if (PG_ARGISNULL(7))
	{
		f.cost = 0;
		f.flags |= WASTE_F_COST_NULL;
	}
	else
	{
		f.cost = money_from_datum(PG_GETARG_DATUM(7), "cost");
		if (f.cost < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cost of span \"%s\" is negative",
							waste_quote_id(str[WASTE_S_ID])),
					 errdetail("A span's cost is money spent: zero or more.")));
	}
	if (PG_ARGISNULL(8))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("start time of span \"%s\" must not be NULL",
						waste_quote_id(str[WASTE_S_ID])),
				 errhint("Spans are ordered by start time to find retries, loops and duplicates.")));
	f.start = PG_GETARG_TIMESTAMPTZ(8);
	/* the state's input refuses infinite times too: keep out what cannot be reloaded */
	if (TIMESTAMP_NOT_FINITE(f.start))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start time of span \"%s\" must be finite",
						waste_quote_id(str[WASTE_S_ID])),
				 errhint("Spans are ordered by start time to find retries, loops and duplicates.")));
	if (PG_NARGS() > 9 && !PG_ARGISNULL(9))
	{
		f.attempt = PG_GETARG_INT32(9);
		if (f.attempt < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("attempt number of span \"%s\" is negative",
							waste_quote_id(str[WASTE_S_ID])),
					 errhint("Attempt numbers count the tries of a step: 1, 2, ... (NULL when unknown).")));
	}
	else
		f.flags |= WASTE_F_ATTEMPT_NULL;
	if (PG_NARGS() > 11 && !PG_ARGISNULL(10))
	{
		in.tokens = PG_GETARG_INT64(10);
		if (in.tokens < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("input tokens of span \"%s\" are negative",
							waste_quote_id(str[WASTE_S_ID])),
					 errhint("Give the input tokens of an LLM call (0 or more), NULL for other spans.")));
		in.cost = 0;
		if (!PG_ARGISNULL(11))
		{
			in.cost = money_from_datum(PG_GETARG_DATUM(11), "input cost");
			if (in.cost < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("input cost of span \"%s\" is negative",
								waste_quote_id(str[WASTE_S_ID])),
						 errdetail("An LLM call's input cost is money spent: zero or more.")));
		}
		f.flags |= WASTE_F_INPUT;
	}

	need = sizeof(WasteSpanFixed);
	if (f.flags & WASTE_F_INPUT)
		need += sizeof(WasteSpanInput);
	for (i = 0; i < WASTE_NSTR; i++)
		need += f.len[i];

	/* our expanded state, grown in place (see the file header) */
	e = waste_ex_own(fcinfo);
	if (unlikely(e == NULL))
	{
		MemoryContext aggcontext = waste_aggcontext(fcinfo, "waste_accum");

		e = waste_ex_arg(fcinfo, aggcontext, need);
		if (e == NULL)
			e = waste_ex_new(aggcontext, NULL, need);
	}
	if (e->flat->nspans == PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many spans in one trace"),
				 errdetail("A trace holds at most 2147483647 spans.")));
	waste_ex_reserve(e, need);
	waste_ex_changed(e);
	st = e->flat;

	p = st->data + st->used;
	memcpy(p, &f, sizeof(f));
	p += sizeof(f);
	if (f.flags & WASTE_F_INPUT)
	{
		memcpy(p, &in, sizeof(in));
		p += sizeof(in);
	}
	for (i = 0; i < WASTE_NSTR; i++)
	{
		if (f.len[i] > 0)
		{
			waste_copy_bytes(p, data[i], f.len[i]);
			p += f.len[i];
		}
	}
	st->used += need;
	st->nspans++;
	if (f.flags & WASTE_F_COST_NULL)
		st->ncostnull++;
	else
		waste_set_total(st, waste_total(st) + f.cost);

	PG_RETURN_DATUM(EOHPGetRWDatum(&e->hdr));
}

/* Append the records of b to a, which has room for them. */
static void
waste_append(WasteState *a, const WasteState *b)
{
	Assert(a->used + b->used <= a->cap);
	memcpy(a->data + a->used, b->data, b->used);
	a->used += b->used;
	a->nspans += b->nspans;
	a->ncostnull += b->ncostnull;
	waste_set_total(a, waste_total(a) + waste_total(b));
}

/* Refuse a merge of more spans than a state holds. */
static void
waste_check_merge(const WasteState *a, const WasteState *b)
{
	if ((int64) a->nspans + b->nspans > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many spans in one trace"),
				 errdetail("A trace holds at most 2147483647 spans.")));
}

/*
 * Copy a state into ctx, with no spare capacity.  Every byte of the copy is
 * written (header and records), so it is not zeroed first.
 */
static WasteState *
waste_copy(MemoryContext ctx, const WasteState *b)
{
	WasteState *a = (WasteState *) MemoryContextAlloc(ctx, WASTE_HDRSZ + b->used);

	memcpy(a, b, WASTE_HDRSZ + b->used);
	a->pad = 0;
	a->cap = b->used;
	SET_VARSIZE(a, WASTE_HDRSZ + b->used);
	return a;
}

/*
 * waste_combine(a, b): the spans of both partial states of one trace.  In an
 * aggregate (combine function of waste_agg, transition function of merge)
 * the first state is our expanded state, extended in place; called
 * directly, neither input is modified and the result is a flat value.
 */
Datum
waste_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	WasteExpanded *e;
	const WasteState *b;

	if (!aggio_in_aggregate(fcinfo))
	{
		Datum		result;
		const WasteState *a0;
		WasteState *a;

		if (aggio_combine_nulls(fcinfo, &result))
			return result;
		a0 = PG_GETARG_WASTE(0);
		b = PG_GETARG_WASTE(1);
		waste_check_merge(a0, b);
		a = waste_new(CurrentMemoryContext, a0->used + b->used);
		memcpy(a, a0, WASTE_HDRSZ + a0->used);
		a->pad = 0;
		a->cap = a0->used + b->used;
		SET_VARSIZE(a, WASTE_HDRSZ + a->cap);
		waste_append(a, b);
		PG_RETURN_POINTER(a);
	}

	aggcontext = waste_aggcontext(fcinfo, "waste_combine");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(EOHPGetRWDatum(&waste_ex_arg(fcinfo, aggcontext, 0)->hdr));
	}
	b = waste_arg_flat(fcinfo, 1);
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(EOHPGetRWDatum(&waste_ex_new(aggcontext, b, 0)->hdr));
	e = waste_ex_arg(fcinfo, aggcontext, b->used);
	waste_check_merge(e->flat, b);
	waste_ex_reserve(e, b->used);
	waste_append(e->flat, b);
	waste_ex_changed(e);
	PG_RETURN_DATUM(EOHPGetRWDatum(&e->hdr));
}

/*
 * waste_trim(state): the final state, without spare capacity, with the
 * totals of a trace that came whole from one parallel worker.
 *
 * As the final function of an aggregate, given our expanded state, it
 * returns the state itself, read-only, without copying it: a read-only
 * expanded pointer (the ten bytes of eoh_ro_ptr) in a chunk of its own,
 * allocated in the current memory context, which is the one the result
 * must live in.  PostgreSQL 15 copies a by-reference final value unless
 * MemoryContextContains(CurrentMemoryContext, value) holds (nodeAgg's
 * finalize_aggregate, nodeWindowAgg's finalize_windowaggregate); the
 * object header's own eoh_ro_ptr is not a chunk of that context (nor even
 * MAXALIGNed), so returning it would make nodeAgg flatten the state into a
 * copy, which is what returning a trimmed copy cost before.  The records
 * stay in the aggregate's memory, which lives at least as long as the
 * result: nodeAgg and nodeWindowAgg reset the aggregate context (or the
 * hash table's) and the output context only when asked for their next row,
 * after the row holding this result has been used (a node that keeps rows
 * materialises them, which flattens the state: EOH_flatten_into writes the
 * same bytes as the trimmed copy, totals included).  A state small enough
 * for a 1-byte header (a span or two) is still returned as a trimmed copy:
 * a table stores a plain value with a 1-byte header but an expanded one as
 * flattened, with 4, and the stored bytes stay as they were.  The state is not
 * changed by anyone while the result is in use: a final function is
 * called READ_ONLY (the aggregates' default), so in a window the next
 * row's transition runs only after this row has been projected, and the
 * transition functions modify only a read-write pointer, never this one.
 * The accessors and the output functions read such a value in place (see
 * waste_expanded_flat); anything else reads it flattened.  Called
 * directly (not as a final function), it returns a trimmed copy.
 */
Datum
waste_trim(PG_FUNCTION_ARGS)
{
	Datum		d = PG_GETARG_DATUM(0);

	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)) &&
		DatumGetEOHP(d)->eoh_methods == &waste_ex_methods)
	{
		WasteExpanded *e = (WasteExpanded *) DatumGetEOHP(d);
		WasteState *r;

		if (AggCheckCallContext(fcinfo, NULL) != 0 &&
			WASTE_HDRSZ + e->flat->used + (e->has_totals ? sizeof(WasteTotals) : 0) >
			VARATT_SHORT_MAX + VARHDRSZ - VARHDRSZ_SHORT)
		{
			char	   *ro = (char *) palloc(EXPANDED_POINTER_SIZE);

			memcpy(ro, e->hdr.eoh_ro_ptr, EXPANDED_POINTER_SIZE);
			PG_RETURN_POINTER(ro);
		}
		if (!e->has_totals)
			PG_RETURN_POINTER(waste_copy(CurrentMemoryContext, e->flat));
		r = (WasteState *) palloc(WASTE_HDRSZ + e->flat->used + sizeof(WasteTotals));
		waste_write_flat(r, e->flat, &e->totals);
		PG_RETURN_POINTER(r);
	}
	PG_RETURN_POINTER(waste_copy(CurrentMemoryContext, PG_GETARG_WASTE(0)));
}

/* Serialise a state to the portable binary format. */
static void
waste_serialise(StringInfo buf, const WasteState *s)
{
	const char *p = s->data;
	const char *end = s->data + s->used;
	uint32		k = 0;
	int			i;
	int			version = WASTE_FORMAT_NO_INPUT;

	/* version 1 unless a span carries input tokens (one pass, no copy) */
	while (p < end)
	{
		WasteSpanFixed f;

		WASTE_CFI(++k);
		memcpy(&f, p, sizeof(f));
		if (f.flags & WASTE_F_INPUT)
		{
			version = WASTE_FORMAT_VERSION;
			break;
		}
		p += sizeof(f) + f.len[0] + f.len[1] + f.len[2] + f.len[3] + f.len[4];
	}
	p = s->data;
	pq_sendint32(buf, version);
	pq_sendint32(buf, s->nspans);
	pq_sendint32(buf, s->ncostnull);
	pq_sendint64(buf, (int64) s->total_hi);
	pq_sendint64(buf, (int64) s->total_lo);
	while (p < end)
	{
		WasteSpanFixed f;
		int			slen = 0;

		WASTE_CFI(++k);
		memcpy(&f, p, sizeof(f));
		p += sizeof(f);
		pq_sendint64(buf, f.cost);
		pq_sendint64(buf, f.start);
		pq_sendint32(buf, f.attempt);
		pq_sendbyte(buf, f.status);
		pq_sendbyte(buf, f.flags);
		for (i = 0; i < WASTE_NSTR; i++)
		{
			pq_sendint16(buf, f.len[i]);
			slen += f.len[i];
		}
		if (f.flags & WASTE_F_INPUT)
		{
			WasteSpanInput in;

			memcpy(&in, p, sizeof(in));
			p += sizeof(in);
			pq_sendint64(buf, in.tokens);
			pq_sendint64(buf, in.cost);
		}
		pq_sendbytes(buf, p, slen);
		p += slen;
	}
}

/*
 * Read and check the binary format from in->msg (the binary input, or the
 * bytes of the hexadecimal text input); the result is a fresh state.
 */
static WasteState *
waste_deserialise(AggioInput *in)
{
	StringInfo	msg = in->msg;
	WasteState *s;
	int32		nspans;
	int32		ncostnull;
	uint64		hi,
				lo;
	int128		total = 0;
	int32		nulls = 0;
	int32		k;
	int			i;
	int32		version;

	aggio_need_bytes(in, 4 + 4 + 4 + 8 + 8);
	version = pq_getmsgint(msg, 4);
	if (version != WASTE_FORMAT_NO_INPUT && version != WASTE_FORMAT_VERSION)
		aggio_bad(in, "Unknown format version %d; this version of tokacct reads versions %d and %d.",
				  version, WASTE_FORMAT_NO_INPUT, WASTE_FORMAT_VERSION);
	nspans = pq_getmsgint(msg, 4);
	ncostnull = pq_getmsgint(msg, 4);
	if (nspans < 0 || ncostnull < 0 || ncostnull > nspans)
		aggio_bad(in, "Negative or inconsistent span counts.");
	hi = (uint64) pq_getmsgint64(msg);
	lo = (uint64) pq_getmsgint64(msg);

	/* records are never larger in memory than on the wire */
	StaticAssertStmt(sizeof(WasteSpanFixed) == 8 + 8 + 4 + 1 + 1 + 2 * WASTE_NSTR,
					 "a span's fixed part takes as many bytes in memory as on the wire");
	StaticAssertStmt(sizeof(WasteSpanInput) == 8 + 8,
					 "a span's input takes as many bytes in memory as on the wire");
	s = waste_new(CurrentMemoryContext, msg->len - msg->cursor);
	for (k = 0; k < nspans; k++)
	{
		WasteSpanFixed f;
		WasteSpanInput inp;
		int			slen = 0;
		const char *sp;
		int			off;

		WASTE_CFI(k);
		memset(&f, 0, sizeof(f));
		aggio_need_bytes(in, 8 + 8 + 4 + 1 + 1 + 2 * WASTE_NSTR);
		f.cost = pq_getmsgint64(msg);
		f.start = pq_getmsgint64(msg);
		f.attempt = pq_getmsgint(msg, 4);
		f.status = pq_getmsgbyte(msg);
		f.flags = pq_getmsgbyte(msg);
		for (i = 0; i < WASTE_NSTR; i++)
		{
			f.len[i] = pq_getmsgint(msg, 2);
			slen += f.len[i];
		}
		if (f.status > WASTE_ST_MAX)
			aggio_bad(in, "Span %d has an unknown status (%d).", k + 1, f.status);
		if ((f.flags & ~WASTE_F_ALL) ||
			(version == WASTE_FORMAT_NO_INPUT && (f.flags & WASTE_F_INPUT)))
			aggio_bad(in, "Span %d has unknown flags.", k + 1);
		if (f.flags & WASTE_F_INPUT)
		{
			aggio_need_bytes(in, 8 + 8);
			inp.tokens = pq_getmsgint64(msg);
			inp.cost = pq_getmsgint64(msg);
			if (inp.tokens < 0 || inp.cost < 0)
				aggio_bad(in, "Span %d has negative input tokens or input cost.", k + 1);
		}
		if (f.cost < 0)
			aggio_bad(in, "Span %d has a negative cost.", k + 1);
		if ((f.flags & WASTE_F_COST_NULL) && f.cost != 0)
			aggio_bad(in, "Span %d has a NULL cost with an amount.", k + 1);
		if (f.attempt < 0 || ((f.flags & WASTE_F_ATTEMPT_NULL) && f.attempt != 0))
			aggio_bad(in, "Span %d has an invalid attempt number.", k + 1);
		if (((f.flags & WASTE_F_PARENT_NULL) && f.len[WASTE_S_PARENT] != 0) ||
			((f.flags & WASTE_F_ARGS_NULL) && f.len[WASTE_S_ARGS] != 0))
			aggio_bad(in, "Span %d has a NULL string with a length.", k + 1);
		if (f.len[WASTE_S_ID] == 0)
			aggio_bad(in, "Span %d has an empty span id.", k + 1);
		if (TIMESTAMP_NOT_FINITE(f.start) || !IS_VALID_TIMESTAMP(f.start))
			aggio_bad(in, "Span %d has an invalid start time.", k + 1);
		aggio_need_bytes(in, slen);
		sp = pq_getmsgbytes(msg, slen);
		for (i = 0, off = 0; i < WASTE_NSTR; i++)
		{
			if (!pg_verifymbstr(sp + off, f.len[i], true))
				aggio_bad(in, "Span %d has a string that is not valid in the database's encoding.",
						  k + 1);
			off += f.len[i];
		}

		memcpy(s->data + s->used, &f, sizeof(f));
		s->used += sizeof(f);
		if (f.flags & WASTE_F_INPUT)
		{
			memcpy(s->data + s->used, &inp, sizeof(inp));
			s->used += sizeof(inp);
		}
		memcpy(s->data + s->used, sp, slen);
		s->used += slen;
		if (f.flags & WASTE_F_COST_NULL)
			nulls++;
		else
			total += f.cost;
	}
	aggio_getmsg_end(in);
	s->nspans = nspans;
	s->ncostnull = nulls;
	if (nulls != ncostnull)
		aggio_bad(in, "The count of NULL costs does not match the spans.");
	waste_set_total(s, total);
	s->cap = s->used;
	SET_VARSIZE(s, WASTE_HDRSZ + s->used);
	if (s->total_hi != hi || s->total_lo != lo)
		aggio_bad(in, "The total cost does not match the spans.");
	return s;
}

/* waste_state_in(cstring): parse the hexadecimal text format. */
Datum
waste_state_in(PG_FUNCTION_ARGS)
{
	AggioInput	in;
	const char *str = PG_GETARG_CSTRING(0);
	Size		n = strlen(str);
	StringInfoData bytes;

	aggio_text_input(&in, WASTE_TYPE_NAME, str, false);
	if (n % 2 != 0)
		aggio_bad(&in, "The text form is an even number of hexadecimal digits.");
	initStringInfo(&bytes);
	enlargeStringInfo(&bytes, n / 2);
	for (in.p = str; *in.p != '\0'; in.p++)
	{
		char		c = *in.p;
		int			d;

		WASTE_CFI(in.p - str);
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			aggio_expected(&in, "a hexadecimal digit");
		if ((in.p - str) % 2 == 0)
			bytes.data[bytes.len] = (char) (d << 4);
		else
			bytes.data[bytes.len++] |= (char) d;
	}
	in.msg = &bytes;
	PG_RETURN_POINTER(waste_deserialise(&in));
}

/* waste_state_out(state): the binary format in hexadecimal. */
Datum
waste_state_out(PG_FUNCTION_ARGS)
{
	const WasteState *s = waste_expanded_flat(PG_GETARG_DATUM(0), NULL);
	StringInfoData buf;
	char	   *out;
	int			i;
	static const char hex[] = "0123456789abcdef";

	/* our expanded state is read in place, anything else detoasted */
	if (s == NULL)
		s = PG_GETARG_WASTE(0);
	initStringInfo(&buf);
	waste_serialise(&buf, s);
	out = palloc((Size) buf.len * 2 + 1);
	for (i = 0; i < buf.len; i++)
	{
		WASTE_CFI(i);
		out[2 * i] = hex[((unsigned char) buf.data[i]) >> 4];
		out[2 * i + 1] = hex[((unsigned char) buf.data[i]) & 15];
	}
	out[2 * buf.len] = '\0';
	PG_RETURN_CSTRING(out);
}

/* waste_state_recv(internal): parse the binary format. */
Datum
waste_state_recv(PG_FUNCTION_ARGS)
{
	AggioInput	in;

	aggio_binary_input(&in, WASTE_TYPE_NAME, (StringInfo) PG_GETARG_POINTER(0));
	PG_RETURN_POINTER(waste_deserialise(&in));
}

/* waste_state_send(state): the binary format. */
Datum
waste_state_send(PG_FUNCTION_ARGS)
{
	const WasteState *s = waste_expanded_flat(PG_GETARG_DATUM(0), NULL);
	StringInfoData buf;

	/* our expanded state is read in place, anything else detoasted */
	if (s == NULL)
		s = PG_GETARG_WASTE(0);
	pq_begintypsend(&buf);
	waste_serialise(&buf, s);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}
