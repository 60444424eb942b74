/*-------------------------------------------------------------------------
 *
 * agg_context.c
 *	  Context growth per trace (tokacct.context_state): aggregate, combine,
 *	  merge, text and binary I/O, and the accessors (totals, carried
 *	  history, growth exponent, savings under a history window).
 *
 * See agg_context.h for the definitions.  While aggregating, a small state
 * is a packed flat value with room after its calls (see "Packed working
 * states"); a large one, and every state of a window aggregate, is an
 * expanded object (PostgreSQL's expandeddatum.h): a header in the
 * aggregate's memory that points to the calls, a flat context_state value
 * with spare room after it.  The transition and combine functions append
 * to an expanded state in place and hand back the same read-write pointer,
 * so nodeAgg never copies it (ExecAggTransReparent only copies a state
 * whose pointer changed, and keeps a new read-write expanded object whose
 * memory context is a child of the aggregate context as it is); when the
 * room is full the calls are reallocated to twice the bytes, so a trace
 * of n calls costs O(log n) reallocations and no copy by nodeAgg.
 * Wherever an expanded state leaves the aggregate (a large partial state
 * sent to the leader, a value stored by an aggregate without a final
 * function) PostgreSQL flattens it into the ordinary varlena form, its
 * calls only.
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

/* the packed working state (see "Packed working states") */
typedef struct ContextPacked ContextPacked;
static ContextState *context_unpack(const ContextPacked *p);
static ContextState *context_detoast(Datum d);

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

/* A copy of the plain state s with room for cap (>= s->n) calls. */
static ContextState *
context_copy(const ContextState *s, int32 cap)
{
	ContextState *r = context_alloc(cap);

	r->flags = s->flags;
	r->n = s->n;
	memcpy(r->calls, s->calls, sizeof(ContextCall) * (Size) s->n);
	return r;
}

/* A copy of s with room for at least need calls (grown by doubling). */
static ContextState *
context_grow(const ContextState *s, int64 need)
{
	int64		cap = Max((int64) s->cap, 8);

	if (need > CONTEXT_MAX_CALLS)
		context_too_many();
	while (cap < need)
		cap *= 2;
	cap = Min(cap, CONTEXT_MAX_CALLS);
	return context_copy(s, (int32) cap);
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

	if (s->flags & CONTEXT_PACKED)
		s = context_unpack((ContextPacked *) s);	/* a new value of our own */
	else if (!(s->flags & CONTEXT_SORTED))
		s = (ContextState *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(argno));
	context_sort(s, NULL);
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
	flat = context_detoast(d);
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
 * Packed working states.  In an aggregate (serial, partial or finalizing;
 * not a window aggregate) a state of up to CONTEXT_FLAT_MAX_BYTES is a
 * packed flat value: one allocation a trace and no expanded header, which
 * a query over many small traces pays for in memory and in a cache miss a
 * group.  Each call is a record of three fields of 1, 2 or 4 bytes (its
 * call order as an offset from the first call's, then its input and
 * output tokens), as wide as the state's largest values need: a trace of
 * 20 calls of some thousand input tokens takes 5 bytes a call, 128 bytes
 * in all, where the plain form takes 12 a call.  A call that needs wider
 * fields, or no room left, makes a new value (a power of two of at least
 * 128 bytes that holds one call more, so twice the bytes when it was full;
 * the room zeroed), which nodeAgg copies into the aggregate context (a few
 * copies of at most 8 kB); past CONTEXT_FLAT_MAX_BYTES the state becomes
 * an expanded one, which grows in place.  A window aggregate keeps
 * expanded states.
 *
 * A partial aggregate hands its packed states, room included (zeroed), to
 * the finalizing one: through a parallel query's tuple queues that is no
 * more bytes than the plain form for a trace of 10 calls or more whose
 * fields take at most 6 bytes a call (a state is at least 128 bytes, and
 * its room less than its header and calls take; a plain one call takes
 * 28), and the finalizing combine takes a packed state as it is for a
 * group it has no state for yet (the common case: a trace's rows lie
 * together, so one worker sees them all).  A partial aggregate's result
 * that leaves the query's processes (a Citus worker's, a partial aggregate
 * a user defines) is written by the output functions, which write the
 * plain form.  The final function hands out the plain form, so no packed
 * value leaves context_growth or merge.  (An aggregate a superuser defines
 * over context_add or context_combine without context_final returns the
 * packed state as it is: every function reads it through context_detoast,
 * which unpacks it.)
 */
#define CONTEXT_FLAT_MAX_BYTES	8192
#define CONTEXT_PACKED_MIN_BYTES 128

struct ContextPacked
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int32		flags;			/* CONTEXT_SORTED | CONTEXT_PACKED, and the
								 * field widths (CONTEXT_PACKED_WIDTHS) */
	int32		n;				/* calls held */
	int32		cap;			/* calls the value has room for at its widths */
	int32		base;			/* call order of the first call */
	uint8		data[FLEXIBLE_ARRAY_MEMBER];	/* n records, then zeroes */
};

#define CONTEXT_PACKED_HDRSZ	offsetof(ContextPacked, data)

/* n, cap and flags lie where a plain state has them */
StaticAssertDecl(offsetof(ContextPacked, n) == offsetof(ContextState, n) &&
				 offsetof(ContextPacked, cap) == offsetof(ContextState, cap) &&
				 offsetof(ContextPacked, flags) == offsetof(ContextState, flags),
				 "a packed state's header must match the plain one's");

/* The widths of the three fields (1, 2 or 4 bytes), kept in flags. */
typedef struct ContextWidths
{
	int			seq;
	int			input;
	int			output;
} ContextWidths;

#define CONTEXT_PACKED_WIDTHS(ws, wi, wo)	(((ws) << 8) | ((wi) << 12) | ((wo) << 16))

static inline ContextWidths
context_packed_widths(const ContextPacked *p)
{
	ContextWidths w;

	w.seq = (p->flags >> 8) & 0xF;
	w.input = (p->flags >> 12) & 0xF;
	w.output = (p->flags >> 16) & 0xF;
	return w;
}

/* Bytes that hold an unsigned value of up to CONTEXT_MAX_TOKENS. */
static inline int
context_width_unsigned(int64 v)
{
	return v <= PG_UINT8_MAX ? 1 : v <= PG_UINT16_MAX ? 2 : 4;
}

/*
 * Bytes that hold seq as an offset from base.  The offset is taken modulo
 * 2^32, as a signed 32-bit number, and seq is read back as base plus it,
 * modulo 2^32: exact at any width that holds that number (2147483647 is
 * -1 from -2147483648), and four bytes hold any.
 */
static inline int
context_width_seq(int32 seq, int32 base)
{
	int32		off = (int32) ((uint32) seq - (uint32) base);

	return (off >= PG_INT8_MIN && off <= PG_INT8_MAX) ? 1 :
		(off >= PG_INT16_MIN && off <= PG_INT16_MAX) ? 2 : 4;
}

/* Widen w to hold one call (seq, input, output) of a state based at base. */
static inline void
context_widen(ContextWidths *w, int32 base, int32 seq, int64 input, int64 output)
{
	w->seq = Max(w->seq, context_width_seq(seq, base));
	w->input = Max(w->input, context_width_unsigned(input));
	w->output = Max(w->output, context_width_unsigned(output));
}

static inline void
context_put(uint8 *p, int width, uint32 v)
{
	if (width == 1)
		*p = (uint8) v;
	else if (width == 2)
	{
		uint16		x = (uint16) v;

		memcpy(p, &x, 2);
	}
	else
		memcpy(p, &v, 4);
}

/* A field read back, sign-extended from its width when is_signed. */
static inline uint32
context_get(const uint8 *p, int width, bool is_signed)
{
	if (width == 1)
		return is_signed ? (uint32) (int32) (int8) *p : *p;
	if (width == 2)
	{
		uint16		x;

		memcpy(&x, p, 2);
		return is_signed ? (uint32) (int32) (int16) x : x;
	}
	{
		uint32		x;

		memcpy(&x, p, 4);
		return x;
	}
}

/* Write call k of p at widths w. */
static inline void
context_packed_set(ContextPacked *p, ContextWidths w, int32 k,
				   int32 seq, int64 input, int64 output)
{
	uint8	   *r = p->data + (Size) (w.seq + w.input + w.output) * k;

	context_put(r, w.seq, (uint32) seq - (uint32) p->base);
	context_put(r + w.seq, w.input, (uint32) input);
	context_put(r + w.seq + w.input, w.output, (uint32) output);
}

/* The call order of call k of p. */
static inline int32
context_packed_seq(const ContextPacked *p, ContextWidths w, int32 k)
{
	const uint8 *r = p->data + (Size) (w.seq + w.input + w.output) * k;

	return (int32) ((uint32) p->base + context_get(r, w.seq, true));
}

/* Read call k of p at widths w. */
static inline void
context_packed_get(const ContextPacked *p, ContextWidths w, int32 k, ContextCall *c)
{
	const uint8 *r = p->data + (Size) (w.seq + w.input + w.output) * k;

	c->seq = context_packed_seq(p, w, k);
	c->input = context_get(r + w.seq, w.input, false);
	c->output = context_get(r + w.seq + w.input, w.output, false);
}

/* Call k of a packed or plain state. */
static inline void
context_call_at(const ContextState *s, int32 k, ContextCall *c)
{
	if (s->flags & CONTEXT_PACKED)
		context_packed_get((const ContextPacked *) s,
						   context_packed_widths((const ContextPacked *) s), k, c);
	else
		*c = s->calls[k];
}

/* The plain form of a packed state, a new value (sorted flag kept). */
static ContextState *
context_unpack(const ContextPacked *p)
{
	ContextWidths w = context_packed_widths(p);
	ContextState *s = context_alloc(p->n);
	int32		k;

	s->flags = p->flags & CONTEXT_SORTED;
	s->n = p->n;
	for (k = 0; k < p->n; k++)
		context_packed_get(p, w, k, &s->calls[k]);
	return s;
}

/* A state value detoasted, in the plain form (unpacked into a copy if packed). */
static ContextState *
context_detoast(Datum d)
{
	ContextState *s = (ContextState *) PG_DETOAST_DATUM(d);

	if (s->flags & CONTEXT_PACKED)
		return context_unpack((ContextPacked *) s);
	return s;
}

/* Whether this call may keep a packed working state (see above). */
static inline bool
context_packed_mode(FunctionCallInfo fcinfo)
{
	return fcinfo->context != NULL && IsA(fcinfo->context, AggState);
}

/*
 * The widths and base that the calls of s (packed or plain, or NULL) need;
 * the base of an empty state is first_seq, the call order of the first
 * call to come.
 */
static ContextWidths
context_widths_of(const ContextState *s, int32 first_seq, int32 *base)
{
	ContextWidths w = {1, 1, 1};
	int32		k;

	if (s != NULL && (s->flags & CONTEXT_PACKED))
	{
		*base = ((const ContextPacked *) s)->base;
		return context_packed_widths((const ContextPacked *) s);
	}
	*base = (s != NULL && s->n > 0) ? s->calls[0].seq : first_seq;
	for (k = 0; s != NULL && k < s->n; k++)
		context_widen(&w, *base, s->calls[k].seq, s->calls[k].input, s->calls[k].output);
	return w;
}

/*
 * A new packed state holding the calls of s (packed or plain, or NULL),
 * based at base, with widths w (enough for s's calls) and room for at
 * least need calls, in a power of two of at least CONTEXT_PACKED_MIN_BYTES
 * bytes, in the current memory context; NULL when that passes
 * CONTEXT_FLAT_MAX_BYTES.
 */
static ContextPacked *
context_packed_copy(const ContextState *s, int32 base, ContextWidths w, int64 need)
{
	int			rec = w.seq + w.input + w.output;
	Size		want = CONTEXT_PACKED_HDRSZ + (Size) rec * need;
	Size		room = CONTEXT_PACKED_MIN_BYTES;
	ContextPacked *p;
	int32		n = s ? s->n : 0,
				k;

	while (room < want)
		room *= 2;
	if (room > CONTEXT_FLAT_MAX_BYTES)
		return NULL;
	p = (ContextPacked *) palloc(room);
	SET_VARSIZE(p, room);
	p->flags = (s ? (s->flags & CONTEXT_SORTED) : CONTEXT_SORTED) |
		CONTEXT_PACKED | CONTEXT_PACKED_WIDTHS(w.seq, w.input, w.output);
	p->n = n;
	p->cap = (int32) ((room - CONTEXT_PACKED_HDRSZ) / rec);
	p->base = base;
	for (k = 0; k < n; k++)
	{
		ContextCall c;

		context_call_at(s, k, &c);
		context_packed_set(p, w, k, c.seq, c.input, c.output);
	}
	/* the room is part of the value: no leftover bytes of other memory */
	memset(p->data + (Size) rec * n, 0, room - CONTEXT_PACKED_HDRSZ - (Size) rec * n);
	return p;
}

/*
 * Whether the packed state p can take one more call (seq, input, output)
 * as it is: room left, and fields wide enough.
 */
static inline bool
context_packed_fits(const ContextPacked *p, int32 seq, int64 input, int64 output)
{
	ContextWidths w = context_packed_widths(p);

	return p->n < p->cap &&
		context_width_seq(seq, p->base) <= w.seq &&
		context_width_unsigned(input) <= w.input &&
		context_width_unsigned(output) <= w.output;
}

/* Append one call to the packed state p, which fits it. */
static inline void
context_packed_push(ContextPacked *p, int32 seq, int64 input, int64 output)
{
	ContextWidths w = context_packed_widths(p);

	/* rows that arrive in call order keep the state sorted */
	if (p->n > 0 && seq <= context_packed_seq(p, w, p->n - 1))
		p->flags &= ~CONTEXT_SORTED;
	context_packed_set(p, w, p->n, seq, input, output);
	p->n++;
}

/*
 * A new packed value holding the working state s (packed or plain, or
 * NULL), with the room and widths for one more call (seq, input, output)
 * that s as it is lacks; NULL when that would pass CONTEXT_FLAT_MAX_BYTES.
 */
static ContextPacked *
context_packed_grown(const ContextState *s, int32 seq, int64 input, int64 output)
{
	int32		base;
	ContextWidths w = context_widths_of(s, seq, &base);

	context_widen(&w, base, seq, input, output);
	return context_packed_copy(s, base, w, (int64) (s ? s->n : 0) + 1);
}

/*
 * The working state a (packed or plain, or NULL) with the calls of b (a
 * plain state) appended: a itself when it is packed and has the room and
 * widths, else a new packed value; NULL when that would pass
 * CONTEXT_FLAT_MAX_BYTES.  The sorted flag stays true when b's calls all
 * follow a's.
 */
static ContextPacked *
context_packed_append(ContextState *a, const ContextState *b)
{
	int32		base,
				k;
	ContextWidths w,
				had;
	ContextPacked *p;
	bool		sorted;

	w = context_widths_of(a, b->n > 0 ? b->calls[0].seq : 0, &base);
	had = w;
	for (k = 0; k < b->n; k++)
		context_widen(&w, base, b->calls[k].seq, b->calls[k].input, b->calls[k].output);
	if (a != NULL && (a->flags & CONTEXT_PACKED) &&
		(int64) a->n + b->n <= a->cap &&
		w.seq == had.seq && w.input == had.input && w.output == had.output)
		p = (ContextPacked *) a;
	else
	{
		p = context_packed_copy(a, base, w, (int64) (a ? a->n : 0) + b->n);
		if (p == NULL)
			return NULL;
	}
	if (b->n == 0)
		return p;
	sorted = (p->flags & CONTEXT_SORTED) && (b->flags & CONTEXT_SORTED) &&
		(p->n == 0 || context_packed_seq(p, w, p->n - 1) < b->calls[0].seq);
	if (!sorted)
		p->flags &= ~CONTEXT_SORTED;
	for (k = 0; k < b->n; k++)
		context_packed_set(p, w, p->n + k, b->calls[k].seq, b->calls[k].input, b->calls[k].output);
	p->n += b->n;
	return p;
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

	/* a packed working state (see context_packed_mode): the per-row fast path */
	if (context_packed_mode(fcinfo) &&
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
		seq = PG_GETARG_INT32(1);
		if (unlikely(s == NULL || !(s->flags & CONTEXT_PACKED) ||
					 !context_packed_fits((ContextPacked *) s, seq, input, output)))
			s = (ContextState *) context_packed_grown(s, seq, input, output);
		if (likely(s != NULL))
		{
			context_packed_push((ContextPacked *) s, seq, input, output);
			PG_RETURN_POINTER(s);
		}
		/* too large for a packed state: an expanded one from here on */
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
	bool		flat = context_ex_own(fcinfo) == NULL && context_packed_mode(fcinfo);
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
	/* a partial aggregate's packed state for a new group: kept as it is */
	if (flat && PG_ARGISNULL(0) && (b->flags & CONTEXT_PACKED))
		PG_RETURN_POINTER(b);
	if (b->flags & CONTEXT_PACKED)
		b = context_unpack((ContextPacked *) b);
	if (flat)
	{
		a = (ContextState *) context_packed_append(PG_ARGISNULL(0) ? NULL : (ContextState *) PG_GETARG_POINTER(0), b);
		if (a != NULL)
			PG_RETURN_POINTER(a);
		/* too large for a packed state: an expanded one from here on */
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
 * aggregate is FINALFUNC_MODIFY = SHAREABLE.  A packed working state is
 * unpacked into a new plain value, and that sorted.
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
		ContextState *f = (ContextState *) PG_DETOAST_DATUM(d);

		if (f->flags & CONTEXT_PACKED)
			s = context_unpack((ContextPacked *) f);	/* a new plain value */
		else
		{
			/*
			 * a plain value (an initial value no row changed, or one stored
			 * with room by an aggregate without this final function): its
			 * calls copied into a value of exactly their size, to sort
			 */
			s = context_copy(f, f->n);
		}
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
