/*-------------------------------------------------------------------------
 *
 * waste.h
 *	  Waste in execution traces: the span-list state and its classifier.
 *
 * The aggregate tokacct.waste_agg collects the spans of one trace into a
 * waste_state: a varlena holding a header and a byte stream of span
 * records.  Classification needs the whole tree, so it runs after the
 * aggregate, in the accessor functions (waste_summary, waste_classes,
 * waste_spans, waste_span_classes), which take the cost rule and the loop
 * threshold as arguments.  Merging two partial states of the same trace
 * appends one record stream to the other, so the aggregate is parallel
 * safe and states stored in a table can be merged later.
 *
 * A record is a fixed part (WasteSpanFixed) followed by its five strings
 * (span id, parent id, kind, name, argument hash), without terminators.
 * Fixed parts are copied out with memcpy, so records need no alignment.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_WASTE_H
#define TOKACCT_WASTE_H

#include "postgres.h"

/* span statuses, as stored */
#define WASTE_ST_OK			0
#define WASTE_ST_ERROR		1
#define WASTE_ST_RATE_LIMIT 2
#define WASTE_ST_TIMEOUT	3
#define WASTE_ST_SERVER		4
#define WASTE_ST_DISCARDED	5
#define WASTE_ST_MAX		5

#define WASTE_ST_FAILED(s)	((s) >= WASTE_ST_ERROR && (s) <= WASTE_ST_SERVER)

/* record flags */
#define WASTE_F_COST_NULL		0x01
#define WASTE_F_PARENT_NULL		0x02
#define WASTE_F_ARGS_NULL		0x04
#define WASTE_F_ATTEMPT_NULL	0x08
#define WASTE_F_ALL				0x0F

/* string slots of a record */
#define WASTE_S_ID		0
#define WASTE_S_PARENT	1
#define WASTE_S_KIND	2
#define WASTE_S_NAME	3
#define WASTE_S_ARGS	4
#define WASTE_NSTR		5

/* longest string kept per field */
#define WASTE_MAX_STR	65535

/* waste classes, in precedence order (a span takes the first that applies) */
#define WASTE_C_ERROR_CALL		0
#define WASTE_C_FAILED_ATTEMPT	1
#define WASTE_C_ABANDONED		2
#define WASTE_C_STUCK_LOOP		3
#define WASTE_C_DUPLICATE		4
#define WASTE_C_ESSENTIAL		5
#define WASTE_NCLASS			6

/* cost rules */
#define WASTE_RULE_LEAF		0
#define WASTE_RULE_SELF		1
#define WASTE_RULE_ROLLUP	2

/* binary format version */
#define WASTE_FORMAT_VERSION 1

/* fixed part of a span record */
typedef struct WasteSpanFixed
{
	int64		cost;			/* reported cost, money units (0 if NULL) */
	int64		start;			/* start time, TimestampTz */
	int32		attempt;		/* attempt number (0 if NULL) */
	uint16		len[WASTE_NSTR];	/* string lengths */
	uint8		status;			/* WASTE_ST_* */
	uint8		flags;			/* WASTE_F_* */
} WasteSpanFixed;

/*
 * In-memory state.  VARSIZE covers the whole allocation (header + cap
 * bytes), so a copy of the datum keeps its capacity; only "used" bytes of
 * records are meaningful and only they are written by out/send.
 */
typedef struct WasteState
{
	int32		vl_len_;
	int32		nspans;			/* records in data */
	int32		ncostnull;		/* spans whose cost was NULL */
	int32		pad;
	int64		used;			/* bytes of records in data */
	int64		cap;			/* bytes allocated for data */
	uint64		total_hi;		/* int128 sum of reported costs, high half */
	uint64		total_lo;		/* ... low half */
	char		data[FLEXIBLE_ARRAY_MEMBER];
} WasteState;

#define WASTE_HDRSZ		offsetof(WasteState, data)

#define DatumGetWasteState(d)	((WasteState *) PG_DETOAST_DATUM(d))
#define PG_GETARG_WASTE(n)		DatumGetWasteState(PG_GETARG_DATUM(n))

/* int128 total of a state */
static inline int128
waste_total(const WasteState *s)
{
	return (int128) (((uint128) s->total_hi << 64) | (uint128) s->total_lo);
}

static inline void
waste_set_total(WasteState *s, int128 t)
{
	s->total_hi = (uint64) ((uint128) t >> 64);
	s->total_lo = (uint64) (uint128) t;
}

/* names of statuses, classes and rules, for output */
extern const char *const waste_status_names[];
extern const char *const waste_class_names[];
extern const char *const waste_rule_names[];

#endif							/* TOKACCT_WASTE_H */
