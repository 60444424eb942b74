/*-------------------------------------------------------------------------
 *
 * agg_context.c
 *	  Context growth per trace (tokacct.context_state): aggregate, combine,
 *	  merge, text and binary I/O, and the accessors (totals, carried
 *	  history, growth exponent, savings under a history window).
 *
 * See agg_context.h for the definitions.  While aggregating, a small state
 * is a flat value with room after its calls, in an aggregate that runs its
 * final function (see context_flat_mode); a large one, and every state of
 * a partial or window aggregate, is an expanded object (PostgreSQL's
 * expandeddatum.h): a header in the aggregate's memory that points to the
 * calls, a flat context_state value with spare room after it.  The
 * transition and combine functions append to an expanded state in place
 * and hand back the same read-write pointer, so nodeAgg never copies it (ExecAggTransReparent only copies a state whose pointer
 * changed, and keeps a new read-write expanded object whose memory context
 * is a child of the aggregate context as it is); when the room is full the
 * calls are reallocated to twice the bytes, so a trace of n calls costs
 * O(log n) reallocations and no copy by nodeAgg.  Wherever the state leaves
 * the aggregate (a partial aggregate's result sent to the leader, a value
 * stored in a table) PostgreSQL flattens it into the ordinary varlena form,
 * its calls only, so the state's text and binary forms are unchanged.
 *
 * All the expanded states of one aggregate context share one child memory
 * context ("tokacct context_growth states"), found among the aggregate
 * context's children when a group starts: a memory context per group
 * would cost a kilobyte per trace.  nodeAgg deletes an expanded state's
 * context only when a transition function returns a pointer other than the
 * read-write one it was given, which these functions never do once a state
 * is expanded; the shared context goes away with the aggregate context
 * (reset per group or batch).
 *
 * The state remembers whether its calls arrived in call order; the final
 * function sorts them when they did not and rejects duplicates;
 * every result is computed from that canonical sequence, in a fixed order,
 * so serial, parallel and merged runs give identical numbers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "agg_context.h"
#include "aggio.h"

#include "access/htup_details.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "nodes/execnodes.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(context_in);
PG_FUNCTION_INFO_V1(context_out);
PG_FUNCTION_INFO_V1(context_recv);
PG_FUNCTION_INFO_V1(context_send);
PG_FUNCTION_INFO_V1(context_add);
PG_FUNCTION_INFO_V1(context_combine);
PG_FUNCTION_INFO_V1(context_final);
PG_FUNCTION_INFO_V1(context_report);
PG_FUNCTION_INFO_V1(context_savings);
PG_FUNCTION_INFO_V1(context_calls);
PG_FUNCTION_INFO_V1(context_total_input);
PG_FUNCTION_INFO_V1(context_fresh_input);
PG_FUNCTION_INFO_V1(context_carried_input);
PG_FUNCTION_INFO_V1(context_carried_share);
PG_FUNCTION_INFO_V1(context_growth_exponent);

#define CONTEXT_TYPE_NAME	"tokacct.context_state"

/* Results computed from a sorted state. */
typedef struct ContextMetrics
{
	int64		total;			/* sum of input */
	int64		carried;		/* sum of carried_k */
	double		exponent;		/* growth exponent */
	bool		exponent_null;	/* fewer than two turns with input */
} ContextMetrics;

/* A state with room for cap calls, in CurrentMemoryContext. */
static ContextState *
context_alloc(int32 cap)
{
	ContextState *s = (ContextState *) palloc(CONTEXT_SIZE(cap));

	SET_VARSIZE(s, CONTEXT_SIZE(cap));
	s->flags = 0;
	s->n = 0;
	s->cap = cap;
	return s;
}

static void
context_too_many(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("a context_growth state holds at most %d calls", CONTEXT_MAX_CALLS),
			 errhint("context_growth is computed per trace: GROUP BY the trace id.")));
}

/* A copy of s with room for at least need calls (grown by doubling). */
static ContextState *
context_grow(const ContextState *s, int64 need)
{
	int64		cap = Max((int64) s->cap, 8);
	ContextState *r;

	if (need > CONTEXT_MAX_CALLS)
		context_too_many();
	while (cap < need)
		cap *= 2;
	cap = Min(cap, CONTEXT_MAX_CALLS);
	r = context_alloc((int32) cap);
	r->flags = s->flags;
	r->n = s->n;
	memcpy(r->calls, s->calls, sizeof(ContextCall) * (Size) s->n);
	return r;
}

static int
context_cmp(const void *a, const void *b)
{
	const ContextCall *x = (const ContextCall *) a;
	const ContextCall *y = (const ContextCall *) b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

/*
 * Sort s's calls in place by call order and reject duplicates; marks s
 * sorted.  s must be writable memory of our own.  in is the input s was
 * read from, or NULL for the aggregate's state.
 */
static void
context_sort(ContextState *s, const AggioInput *in)
{
	int32		i;

	if (s->flags & CONTEXT_SORTED)
		return;
	qsort(s->calls, s->n, sizeof(ContextCall), context_cmp);
	for (i = 1; i < s->n; i++)
		if (s->calls[i].seq == s->calls[i - 1].seq)
		{
			if (in != NULL)
				aggio_bad(in, "Call order %d appears more than once.", s->calls[i].seq);
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("call order %d appears more than once in one trace",
							s->calls[i].seq),
					 errdetail("context_growth needs a distinct call order per call of a trace."),
					 errhint("Group context_growth by trace, and merge each stored state once.")));
		}
	s->flags |= CONTEXT_SORTED;
}

/* The state of argument argno, detoasted and sorted (a copy if needed). */
static ContextState *
context_arg_sorted(FunctionCallInfo fcinfo, int argno)
{
	ContextState *s = (ContextState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(argno));

	if (!(s->flags & CONTEXT_SORTED))
	{
		s = (ContextState *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(argno));
		context_sort(s, NULL);
	}
	return s;
}

static int64
context_narrow(int128 v)
{
	if (v > PG_INT64_MAX || v < PG_INT64_MIN)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("token total out of range for type bigint"),
				 errdetail("A total of input or output tokens passed 9223372036854775807.")));
	return (int64) v;
}

/* carried_k of the k-th call (0-based) of a sorted state. */
static inline int64
context_carried_at(const ContextState *s, int32 k)
{
	int64		prev;

	if (k == 0)
		return 0;
	prev = (int64) s->calls[k - 1].input + s->calls[k - 1].output;
	return prev < s->calls[k].input ? prev : (int64) s->calls[k].input;
}

/* Totals of a sorted state; the growth exponent too when with_exponent. */
static void
context_compute(const ContextState *s, ContextMetrics *m, bool with_exponent)
{
	int128		total = 0,
				carried = 0;
	double		sx = 0,
				sy = 0,
				mx,
				my,
				sxx = 0,
				sxy = 0;
	int32		k,
				npts = 0;

	for (k = 0; k < s->n; k++)
	{
		total += s->calls[k].input;
		carried += context_carried_at(s, k);
	}
	m->total = context_narrow(total);
	m->carried = context_narrow(carried);
	m->exponent_null = true;
	m->exponent = 0;
	if (!with_exponent)
		return;
	total = 0;
	for (k = 0; k < s->n; k++)
	{
		total += s->calls[k].input;
		if (total > 0)
		{
			sx += log((double) (k + 1));
			sy += log((double) total);
			npts++;
		}
	}
	m->exponent_null = (npts < 2);
	if (m->exponent_null)
		return;
	/* second pass about the means, for accuracy */
	mx = sx / npts;
	my = sy / npts;
	total = 0;
	for (k = 0; k < s->n; k++)
	{
		total += s->calls[k].input;
		if (total > 0)
		{
			double		dx = log((double) (k + 1)) - mx;
			double		dy = log((double) total) - my;

			sxx += dx * dx;
			sxy += dx * dy;
		}
	}
	m->exponent = sxy / sxx;
}

/* Check the token counts of one call given to the aggregate. */
static void
context_check_tokens(int64 input, int64 output)
{
	if (input < 0 || output < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("token counts must not be negative"),
				 errdetail("input_tokens = " INT64_FORMAT ", output_tokens = " INT64_FORMAT ".",
						   input, output)));
	if (input > CONTEXT_MAX_TOKENS || output > CONTEXT_MAX_TOKENS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("token counts of one call must not exceed " INT64_FORMAT,
						CONTEXT_MAX_TOKENS),
				 errdetail("input_tokens = " INT64_FORMAT ", output_tokens = " INT64_FORMAT ".",
						   input, output)));
}

/* ---- the expanded state used while aggregating ---- */

/*
 * The expanded form: flat is an ordinary context_state value (VARSIZE and
 * cap always equal to its n calls) in a chunk of room bytes, so that the
 * calls can grow in place and the value can be handed out as it is.
 */
typedef struct ContextExpanded
{
	ExpandedObjectHeader hdr;
	ContextState *flat;			/* the calls, a valid flat value */
	Size		room;			/* bytes allocated for flat */
} ContextExpanded;

/* name of the memory context shared by the expanded states of one aggregate */
static const char context_arena_name[] = "tokacct context_growth states";

static Size
context_ex_flat_size(ExpandedObjectHeader *eohptr)
{
	ContextExpanded *e = (ContextExpanded *) eohptr;

	return VARSIZE(e->flat);
}

static void
context_ex_flatten(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	ContextExpanded *e = (ContextExpanded *) eohptr;

	Assert(allocated_size == VARSIZE(e->flat));
	memcpy(result, e->flat, allocated_size);
}

static const ExpandedObjectMethods context_ex_methods = {
	context_ex_flat_size,
	context_ex_flatten
};

/* The child of aggcontext that holds the expanded states, made if needed. */
static MemoryContext
context_arena(MemoryContext aggcontext)
{
	MemoryContext c;

	for (c = aggcontext->firstchild; c != NULL; c = c->nextchild)
		if (c->name == context_arena_name)
			return c;
	/* the name is a constant: the Internal form takes it without the macro's check */
	return AllocSetContextCreateInternal(aggcontext, context_arena_name,
										 ALLOCSET_DEFAULT_SIZES);
}

/*
 * Bytes to allocate for at least need calls: the size of a flat value of
 * need calls rounded up to a power of two (what the allocator hands out
 * anyway), at least 256.
 */
static Size
context_ex_room_for(int64 need)
{
	Size		want = CONTEXT_SIZE(need);
	Size		room = 256;

	while (room < want)
		room *= 2;
	return room;
}

/* Calls that fit in room bytes, capped at CONTEXT_MAX_CALLS. */
static int64
context_ex_capacity(Size room)
{
	return Min((int64) ((room - CONTEXT_HDRSZ) / sizeof(ContextCall)), (int64) CONTEXT_MAX_CALLS);
}

/*
 * A new expanded state in aggcontext's arena holding the calls of src (a
 * flat state, or NULL for none), with room for at least need calls.
 */
static ContextExpanded *
context_ex_new(MemoryContext aggcontext, const ContextState *src, int64 need)
{
	MemoryContext arena = context_arena(aggcontext);
	ContextExpanded *e;
	int32		n = src ? src->n : 0;

	if (need > CONTEXT_MAX_CALLS)
		context_too_many();
	e = (ContextExpanded *) MemoryContextAlloc(arena, sizeof(ContextExpanded));
	EOH_init_header(&e->hdr, &context_ex_methods, arena);
	e->room = context_ex_room_for(Max(need, (int64) n));
	e->flat = (ContextState *) MemoryContextAlloc(arena, e->room);
	e->flat->flags = src ? src->flags : CONTEXT_SORTED;
	e->flat->n = n;
	e->flat->cap = n;
	if (n > 0)
		memcpy(e->flat->calls, src->calls, sizeof(ContextCall) * (Size) n);
	SET_VARSIZE(e->flat, CONTEXT_SIZE(n));
	return e;
}

/* Make room in e for at least need calls (twice the bytes at each step). */
static void
context_ex_reserve(ContextExpanded *e, int64 need)
{
	Size		room;

	if (need <= context_ex_capacity(e->room))
		return;
	if (need > CONTEXT_MAX_CALLS)
		context_too_many();
	room = context_ex_room_for(need);
	e->flat = (ContextState *) repalloc(e->flat, room);
	e->room = room;
}

/*
 * The state in argument 0 of a transition or combine function as our
 * read-write expanded state: itself when it is one (the pointer to return,
 * so nodeAgg keeps it without a copy), else a new one holding its calls
 * (a flat value, or an expanded state of another owner, read as a flat
 * copy), with room for extra more calls.  NULL when the argument is.
 */
static ContextExpanded *
context_ex_arg(FunctionCallInfo fcinfo, MemoryContext aggcontext, int64 extra)
{
	Datum		d;
	ContextState *flat;

	if (PG_ARGISNULL(0))
		return NULL;
	d = PG_GETARG_DATUM(0);
	if (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)))
	{
		ExpandedObjectHeader *eoh = DatumGetEOHP(d);

		if (eoh->eoh_methods == &context_ex_methods &&
			eoh->eoh_context->parent == aggcontext)
			return (ContextExpanded *) eoh;
	}
	flat = (ContextState *) PG_DETOAST_DATUM(d);
	return context_ex_new(aggcontext, flat, (int64) flat->n + extra);
}

/*
 * The per-row shortcut: argument 0 when it is one of our read-write
 * expanded states, else NULL.  Such a pointer exists only as the
 * transition value of the aggregate that made it (nodeAgg hands the final
 * function and everything else a read-only one), so it is the state to
 * update in place.
 */
static inline ContextExpanded *
context_ex_own(FunctionCallInfo fcinfo)
{
	Datum		d;

	if (PG_ARGISNULL(0))
		return NULL;
	d = PG_GETARG_DATUM(0);
	if (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)) &&
		DatumGetEOHP(d)->eoh_methods == &context_ex_methods)
		return (ContextExpanded *) DatumGetEOHP(d);
	return NULL;
}

/* The aggregate context of a support function, or an error outside one. */
static MemoryContext
context_aggcontext(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext aggcontext = NULL;

	if (AggCheckCallContext(fcinfo, &aggcontext) == 0)
		aggio_check_agg(fcinfo, fn);	/* raises the error */
	return aggcontext;
}

/*
 * Flat working states.  In an aggregate that runs its final function (a
 * serial or per-partition aggregate, and the leader's combine of partial
 * states) a state of up to CONTEXT_FLAT_MAX_BYTES is a plain flat value
 * with room after its calls (n <= cap, the varlena size counting the room,
 * in a chunk of a power of two bytes): one allocation a trace and no
 * expanded header, which a query over many small traces pays for in memory
 * and in a cache miss a group.  It grows by doubling into a new value that
 * nodeAgg copies into the aggregate context (a few copies of at most 8 kB),
 * and past CONTEXT_FLAT_MAX_BYTES becomes an expanded state, which grows in
 * place.  A partial aggregate keeps expanded states, which leave it
 * flattened to their calls only; a window aggregate too.  The final
 * function hands out an exact copy, so no value with room leaves
 * context_growth or merge.  (An aggregate a superuser defines over
 * context_add or context_combine without context_final returns the
 * working state as it is: it reads correctly, and carries its room,
 * zeroed.)
 */
#define CONTEXT_FLAT_MAX_BYTES	8192

/* Whether this call may keep a flat working state (see above). */
static inline bool
context_flat_mode(FunctionCallInfo fcinfo)
{
	return fcinfo->context != NULL && IsA(fcinfo->context, AggState) &&
		!DO_AGGSPLIT_SKIPFINAL(((AggState *) fcinfo->context)->aggsplit);
}

/*
 * The flat working state s (NULL for none) with room for extra more calls:
 * s itself when it has the room, else a copy with twice the bytes (at
 * least 256) in the current memory context; NULL when that copy would pass
 * CONTEXT_FLAT_MAX_BYTES.
 */
static ContextState *
context_flat_room(ContextState *s, int64 extra)
{
	int64		n = s ? s->n : 0;
	Size		room;
	ContextState *r;

	if (s != NULL && n + extra <= s->cap)
		return s;
	room = context_ex_room_for(n + extra);
	if (room > CONTEXT_FLAT_MAX_BYTES)
		return NULL;
	r = (ContextState *) palloc(room);
	r->flags = s ? s->flags : CONTEXT_SORTED;
	r->n = (int32) n;
	r->cap = (int32) context_ex_capacity(room);
	if (n > 0)
		memcpy(r->calls, s->calls, sizeof(ContextCall) * (Size) n);
	/* the room is part of the value: no leftover bytes of other memory */
	memset(r->calls + n, 0, sizeof(ContextCall) * (Size) (r->cap - n));
	SET_VARSIZE(r, CONTEXT_SIZE(r->cap));
	return r;
}

/* Append one call to s, which has the room for it. */
static inline void
context_push(ContextState *s, int32 seq, int64 input, int64 output)
{
	ContextCall *c;

	/* rows that arrive in call order keep the state sorted */
	if (s->n > 0 && seq <= s->calls[s->n - 1].seq)
		s->flags &= ~CONTEXT_SORTED;
	c = &s->calls[s->n++];
	c->seq = seq;
	c->input = (uint32) input;
	c->output = (uint32) output;
}

/* Append b's calls to a, which has the room, keeping the sorted flag true. */
static void
context_append(ContextState *a, const ContextState *b)
{
	if (b->n == 0)
		return;
	/* still sorted when b's calls all follow a's */
	if (!((a->flags & CONTEXT_SORTED) && (b->flags & CONTEXT_SORTED) &&
		  (a->n == 0 || a->calls[a->n - 1].seq < b->calls[0].seq)))
		a->flags &= ~CONTEXT_SORTED;
	memcpy(a->calls + a->n, b->calls, sizeof(ContextCall) * (Size) b->n);
	a->n += b->n;
}

/* ---- text I/O ---- */

/* Text input: "{(seq,input,output),...}", in any order; "{}" is empty. */
Datum
context_in(PG_FUNCTION_ARGS)
{
	AggioInput	in;
	ContextState *s = context_alloc(8);

	aggio_text_input(&in, CONTEXT_TYPE_NAME, PG_GETARG_CSTRING(0), true);
	aggio_expect(&in, "{");
	if (!aggio_accept(&in, "}"))
	{
		do
		{
			ContextCall c;

			aggio_expect(&in, "(");
			c.seq = (int32) aggio_parse_int(&in, "the call order", PG_INT32_MIN, PG_INT32_MAX);
			aggio_expect(&in, ",");
			c.input = (uint32) aggio_parse_int(&in, "the input tokens", 0, CONTEXT_MAX_TOKENS);
			aggio_expect(&in, ",");
			c.output = (uint32) aggio_parse_int(&in, "the output tokens", 0, CONTEXT_MAX_TOKENS);
			aggio_expect(&in, ")");
			if (s->n == CONTEXT_MAX_CALLS)
				aggio_bad(&in, "A state holds at most %d calls.", CONTEXT_MAX_CALLS);
			if (s->n == s->cap)
				s = context_grow(s, (int64) s->n + 1);
			s->calls[s->n++] = c;
		} while (aggio_list_next(&in, "}"));
	}
	aggio_expect_end(&in);
	context_sort(s, &in);
	s->cap = s->n;
	SET_VARSIZE(s, CONTEXT_SIZE(s->n));
	PG_RETURN_POINTER(s);
}

/* Text output: the calls as "{(seq,input,output),...}", by call order. */
Datum
context_out(PG_FUNCTION_ARGS)
{
	ContextState *s = context_arg_sorted(fcinfo, 0);
	StringInfoData buf;
	int32		i;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < s->n; i++)
		appendStringInfo(&buf, "%s(%d,%u,%u)",
						 i ? "," : "", s->calls[i].seq, s->calls[i].input,
						 s->calls[i].output);
	appendStringInfoChar(&buf, '}');
	PG_RETURN_CSTRING(buf.data);
}

/*
 * Binary output: int32 version, int32 n, then n times (int32 seq,
 * int64 input, int64 output), by call order.
 */
Datum
context_send(PG_FUNCTION_ARGS)
{
	ContextState *s = context_arg_sorted(fcinfo, 0);
	StringInfoData buf;
	int32		i;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, CONTEXT_VERSION);
	pq_sendint32(&buf, s->n);
	for (i = 0; i < s->n; i++)
	{
		pq_sendint32(&buf, s->calls[i].seq);
		pq_sendint64(&buf, s->calls[i].input);
		pq_sendint64(&buf, s->calls[i].output);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Binary input (see context_send); every field is checked. */
Datum
context_recv(PG_FUNCTION_ARGS)
{
	AggioInput	in;
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		n,
				i;
	ContextState *s;

	aggio_binary_input(&in, CONTEXT_TYPE_NAME, buf);
	aggio_need_bytes(&in, 8);
	aggio_check_version(&in, pq_getmsgint(buf, 4), CONTEXT_VERSION);
	n = pq_getmsgint(buf, 4);
	if (n < 0 || n > CONTEXT_MAX_CALLS)
		aggio_bad(&in, "The state claims %d calls; a state holds 0 to %d.", n, CONTEXT_MAX_CALLS);
	/* each call: its call order and its input and output tokens */
	aggio_need_bytes(&in, (int64) n * 20);
	s = context_alloc(n);
	for (i = 0; i < n; i++)
	{
		ContextCall *c = &s->calls[i];
		int64		input,
					output;

		c->seq = pq_getmsgint(buf, 4);
		input = pq_getmsgint64(buf);
		output = pq_getmsgint64(buf);
		if (input < 0 || output < 0 || input > CONTEXT_MAX_TOKENS || output > CONTEXT_MAX_TOKENS)
			aggio_bad(&in, "Call %d has input_tokens = " INT64_FORMAT " and output_tokens = " INT64_FORMAT "; the token counts of one call lie between 0 and " INT64_FORMAT ".",
					  c->seq, input, output, CONTEXT_MAX_TOKENS);
		c->input = (uint32) input;
		c->output = (uint32) output;
	}
	aggio_getmsg_end(&in);
	s->n = n;
	context_sort(s, &in);
	PG_RETURN_POINTER(s);
}

/* ---- aggregate support ---- */

/*
 * Transition function of context_growth(seq, input_tokens, output_tokens):
 * append one call; rows with a NULL argument are skipped.
 */
Datum
context_add(PG_FUNCTION_ARGS)
{
	ContextExpanded *e;
	ContextState *s;
	int64		input,
				output;
	int32		seq;

	/* a flat working state (see context_flat_mode): the per-row fast path */
	if (context_flat_mode(fcinfo) &&
		(PG_ARGISNULL(0) || !VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(PG_GETARG_DATUM(0)))))
	{
		s = PG_ARGISNULL(0) ? NULL : (ContextState *) PG_GETARG_POINTER(0);
		if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		{
			if (s == NULL)
				PG_RETURN_NULL();
			PG_RETURN_POINTER(s);
		}
		input = PG_GETARG_INT64(2);
		output = PG_GETARG_INT64(3);
		context_check_tokens(input, output);
		if (unlikely(s == NULL || s->n >= s->cap))
			s = context_flat_room(s, 1);
		if (likely(s != NULL))
		{
			context_push(s, PG_GETARG_INT32(1), input, output);
			PG_RETURN_POINTER(s);
		}
		/* too large for a flat state: an expanded one from here on */
	}

	aggio_check_agg(fcinfo, "context_add");
	e = context_ex_own(fcinfo);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		if (e == NULL)
			e = context_ex_arg(fcinfo, context_aggcontext(fcinfo, "context_add"), 0);
		PG_RETURN_DATUM(EOHPGetRWDatum(&e->hdr));
	}
	input = PG_GETARG_INT64(2);
	output = PG_GETARG_INT64(3);
	context_check_tokens(input, output);
	seq = PG_GETARG_INT32(1);
	if (e == NULL)
	{
		MemoryContext aggcontext = context_aggcontext(fcinfo, "context_add");

		e = context_ex_arg(fcinfo, aggcontext, 1);
		if (e == NULL)
			e = context_ex_new(aggcontext, NULL, 1);
	}
	s = e->flat;
	if (unlikely(s->n >= context_ex_capacity(e->room)))
	{
		context_ex_reserve(e, (int64) s->n + 1);
		s = e->flat;
	}
	context_push(s, seq, input, output);
	s->cap = s->n;
	SET_VARSIZE(s, CONTEXT_SIZE(s->n));
	PG_RETURN_DATUM(EOHPGetRWDatum(&e->hdr));
}

/*
 * Combine two states (also the transition function of
 * merge(context_state)): append the second's calls to the first.
 */
Datum
context_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = context_aggcontext(fcinfo, "context_combine");
	bool		flat = context_ex_own(fcinfo) == NULL && context_flat_mode(fcinfo);
	ContextExpanded *e;
	ContextState *a,
			   *b;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		if (flat)
			PG_RETURN_DATUM(PG_GETARG_DATUM(0));
		PG_RETURN_DATUM(EOHPGetRWDatum(&context_ex_arg(fcinfo, aggcontext, 0)->hdr));
	}
	b = (ContextState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	if (flat)
	{
		a = context_flat_room(PG_ARGISNULL(0) ? NULL : (ContextState *) PG_GETARG_POINTER(0), b->n);
		if (a != NULL)
		{
			context_append(a, b);
			PG_RETURN_POINTER(a);
		}
		/* too large for a flat state: an expanded one from here on */
	}
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(EOHPGetRWDatum(&context_ex_new(aggcontext, b, b->n)->hdr));
	e = context_ex_arg(fcinfo, aggcontext, b->n);
	if (b->n > 0)
	{
		context_ex_reserve(e, (int64) e->flat->n + b->n);
		a = e->flat;
		context_append(a, b);
		a->cap = a->n;
		SET_VARSIZE(a, CONTEXT_SIZE(a->n));
	}
	PG_RETURN_DATUM(EOHPGetRWDatum(&e->hdr));
}

/*
 * Final function: sorts the calls by call order and rejects duplicates.
 * An expanded state is sorted in place and its flat value is the result
 * (nodeAgg copies it into the output); sorting again is a no-op, so the
 * aggregate is FINALFUNC_MODIFY = SHAREABLE.  A flat working state is
 * copied without its room, and the copy sorted.
 */
Datum
context_final(PG_FUNCTION_ARGS)
{
	Datum		d;
	ContextState *s;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	aggio_check_agg(fcinfo, "context_final");
	d = PG_GETARG_DATUM(0);
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)) &&
		DatumGetEOHP(d)->eoh_methods == &context_ex_methods)
		s = ((ContextExpanded *) DatumGetEOHP(d))->flat;
	else
	{
		/* a flat state: a copy of its calls without the room after them */
		ContextState *f = (ContextState *) PG_DETOAST_DATUM(d);

		s = (ContextState *) palloc(CONTEXT_SIZE(f->n));
		memcpy(s, f, CONTEXT_SIZE(f->n));
		s->cap = s->n;
		SET_VARSIZE(s, CONTEXT_SIZE(s->n));
	}
	context_sort(s, NULL);
	PG_RETURN_POINTER(s);
}

/* ---- accessors ---- */

/*
 * context_report(state): calls, total input, fresh input, carried input,
 * carried share and growth exponent, as one record.
 */
Datum
context_report(PG_FUNCTION_ARGS)
{
	ContextState *s = context_arg_sorted(fcinfo, 0);
	ContextMetrics m;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "context_report must return a record");
	context_compute(s, &m, true);
	values[0] = Int64GetDatum(s->n);
	values[1] = Int64GetDatum(m.total);
	values[2] = Int64GetDatum(m.total - m.carried);
	values[3] = Int64GetDatum(m.carried);
	if (m.total > 0)
		values[4] = Float8GetDatum((double) m.carried / (double) m.total);
	else
		nulls[4] = true;
	values[5] = Float8GetDatum(m.exponent);
	nulls[5] = m.exponent_null;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * context_savings(state, window): input tokens saved, and their share of
 * the total input, if the history carried into each turn were capped at
 * window tokens.
 */
Datum
context_savings(PG_FUNCTION_ARGS)
{
	ContextState *s = context_arg_sorted(fcinfo, 0);
	int64		window = PG_GETARG_INT64(1);
	int128		saved = 0,
				total = 0;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int32		k;

	if (window < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("history window must not be negative"),
				 errdetail("window = " INT64_FORMAT ".", window)));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "context_savings must return a record");
	for (k = 0; k < s->n; k++)
	{
		int64		carried = context_carried_at(s, k);

		total += s->calls[k].input;
		if (carried > window)
			saved += carried - window;
	}
	values[0] = Int64GetDatum(context_narrow(saved));
	if (total > 0)
		values[1] = Float8GetDatum((double) context_narrow(saved) /
								   (double) context_narrow(total));
	else
		nulls[1] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/* context_calls(state): number of calls. */
Datum
context_calls(PG_FUNCTION_ARGS)
{
	ContextState *s = (ContextState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));

	PG_RETURN_INT64(s->n);
}

/* context_total_input(state): sum of input tokens. */
Datum
context_total_input(PG_FUNCTION_ARGS)
{
	ContextState *s = context_arg_sorted(fcinfo, 0);
	ContextMetrics m;

	context_compute(s, &m, false);
	PG_RETURN_INT64(m.total);
}

/* context_fresh_input(state): input tokens that were not carried history. */
Datum
context_fresh_input(PG_FUNCTION_ARGS)
{
	ContextState *s = context_arg_sorted(fcinfo, 0);
	ContextMetrics m;

	context_compute(s, &m, false);
	PG_RETURN_INT64(m.total - m.carried);
}

/* context_carried_input(state): input tokens re-sent from earlier turns. */
Datum
context_carried_input(PG_FUNCTION_ARGS)
{
	ContextState *s = context_arg_sorted(fcinfo, 0);
	ContextMetrics m;

	context_compute(s, &m, false);
	PG_RETURN_INT64(m.carried);
}

/* context_carried_share(state): carried / total input (NULL if no input). */
Datum
context_carried_share(PG_FUNCTION_ARGS)
{
	ContextState *s = context_arg_sorted(fcinfo, 0);
	ContextMetrics m;

	context_compute(s, &m, false);
	if (m.total == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8((double) m.carried / (double) m.total);
}

/* context_growth_exponent(state): slope of ln(cumulative input) on ln(turn). */
Datum
context_growth_exponent(PG_FUNCTION_ARGS)
{
	ContextState *s = context_arg_sorted(fcinfo, 0);
	ContextMetrics m;

	context_compute(s, &m, true);
	if (m.exponent_null)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(m.exponent);
}
