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
 * A record is a fixed part (WasteSpanFixed), then, when the span carries
 * input tokens (flag WASTE_F_INPUT), its WasteSpanInput, then its five
 * strings (span id, parent id, kind, name, argument hash), without
 * terminators.  Fixed parts are copied out with memcpy, so records need no
 * alignment.  Spans without input tokens take no room for them, so states
 * made by the aggregates without input tokens are as they were.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_WASTE_H
#define TOKACCT_WASTE_H

/* WASTE_CFI below checks for interrupts */
#include "miscadmin.h"

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
#define WASTE_F_INPUT			0x10	/* a WasteSpanInput follows the fixed part */
#define WASTE_F_ALL				0x1F

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

/*
 * Binary format versions: 1 has no input tokens; 2 adds them to the spans
 * that carry them (flag WASTE_F_INPUT).  A state none of whose spans
 * carries input tokens is written as version 1, byte for byte as before;
 * both versions are read.
 */
#define WASTE_FORMAT_VERSION	2
#define WASTE_FORMAT_NO_INPUT	1

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

/* the input of an LLM call, after the fixed part of its record (WASTE_F_INPUT) */
typedef struct WasteSpanInput
{
	int64		tokens;			/* input tokens, cache included (>= 0) */
	int64		cost;			/* what they cost, money units (>= 0; 0 if NULL) */
} WasteSpanInput;

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
	int32		pad;			/* WASTE_H_* flags: 0 but for a worker's totals */
	int64		used;			/* bytes of records in data */
	int64		cap;			/* bytes allocated for data */
	uint64		total_hi;		/* int128 sum of reported costs, high half */
	uint64		total_lo;		/* ... low half */
	char		data[FLEXIBLE_ARRAY_MEMBER];
} WasteState;

#define WASTE_HDRSZ		offsetof(WasteState, data)

/*
 * Flag in WasteState.pad: a WasteTotals follows the records (cap counts
 * it).  Only a partial state made by a parallel worker carries one (see
 * waste_state.c): the classes of its spans under the accessors' defaults,
 * so that the leader need not classify a trace that one worker saw whole.
 * The text and binary forms never carry it; merging spans into a state
 * drops it.
 */
#define WASTE_H_TOTALS			0x01
#define WASTE_TOTALS_RULE		WASTE_RULE_LEAF
#define WASTE_TOTALS_LOOP_MIN	3

/* what waste_summary and waste_classes return, for one rule and loop_min */
typedef struct WasteTotals
{
	int32		n;				/* spans */
	int32		nroots;
	int32		orphans;
	int32		ncostnull;
	int64		count[WASTE_NCLASS];	/* spans per class */
	uint64		cost_hi[WASTE_NCLASS];	/* int128 cost per class, high halves */
	uint64		cost_lo[WASTE_NCLASS];	/* ... low halves */
	uint64		total_hi;
	uint64		total_lo;
} WasteTotals;

/*
 * The totals a state carries (copied out: they follow the records
 * unaligned), or false when it carries none, or totals that do not match
 * its counts of spans and NULL costs (never made so; checked anyway).
 */
static inline bool
waste_get_totals(const WasteState *s, WasteTotals *out)
{
	if (!(s->pad & WASTE_H_TOTALS) || s->cap < s->used + (int64) sizeof(WasteTotals))
		return false;
	memcpy(out, s->data + s->used, sizeof(WasteTotals));
	return out->n == s->nspans && out->ncostnull == s->ncostnull;
}

/* waste_state.c: the records of our expanded state, read in place, or NULL */
extern const WasteState *waste_expanded_flat(Datum d, const WasteTotals **totals);
extern WasteState *waste_expanded_copy(Datum d);
extern bool waste_expanded_equal(const struct varlena *v, Datum d);

/* waste_accessors.c: classify under the defaults; false on a data error */
extern bool waste_compute_totals(const WasteState *s, WasteTotals *out);

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

/*
 * Check for interrupts (statement_timeout, pg_cancel_backend,
 * pg_terminate_backend) on every 4096th turn of a loop whose length grows
 * with the input: often enough that a cancel waits for a few milliseconds
 * of work at most, rarely enough to cost nothing measurable per span.
 */
#define WASTE_CFI(i) \
	do { \
		if (((i) & 4095) == 0) \
			CHECK_FOR_INTERRUPTS(); \
	} while (0)

/* names of statuses, classes and rules, for output */
extern const char *const waste_status_names[];
extern const char *const waste_class_names[];
extern const char *const waste_rule_names[];

/*
 * Short byte strings (ids, kinds, names, argument hashes), inline: they are
 * copied, compared and hashed once or more per span, and a library call
 * per string costs more than the work.
 */

/*
 * Copy len bytes.  Strings of up to 32 bytes (ids, kinds, names, hashes)
 * are copied inline as two overlapping fixed-size moves, which costs less
 * than a library call per string; longer ones with memcpy.  Exactly len
 * bytes are read and written.
 */
static inline void
waste_copy_bytes(char *dst, const char *src, int len)
{
	if (len >= 16 && len <= 32)
	{
		char		head[16],
					tail[16];

		memcpy(head, src, 16);
		memcpy(tail, src + len - 16, 16);
		memcpy(dst, head, 16);
		memcpy(dst + len - 16, tail, 16);
	}
	else if (len >= 8 && len < 16)
	{
		uint64		head,
					tail;

		memcpy(&head, src, 8);
		memcpy(&tail, src + len - 8, 8);
		memcpy(dst, &head, 8);
		memcpy(dst + len - 8, &tail, 8);
	}
	else if (len >= 4 && len < 8)
	{
		uint32		head,
					tail;

		memcpy(&head, src, 4);
		memcpy(&tail, src + len - 4, 4);
		memcpy(dst, &head, 4);
		memcpy(dst + len - 4, &tail, 4);
	}
	else if (len < 4)
	{
		while (len-- > 0)
			*dst++ = *src++;
	}
	else
		memcpy(dst, src, len);
}

/* compare two byte strings */
static inline int
waste_bcmp(const char *a, int la, const char *b, int lb)
{
	int			c = memcmp(a, b, Min(la, lb));

	if (c != 0)
		return c;
	return (la > lb) - (la < lb);
}

/*
 * Are len bytes at a and b equal?  Inline, 8 bytes at a time: the strings
 * compared here (ids, kinds, names, argument hashes) are short, and a
 * library call per comparison costs more than the comparison.
 */
static inline bool
waste_memeq(const char *a, const char *b, int len)
{
	uint64		x,
				y;

	while (len >= 8)
	{
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return false;
		a += 8;
		b += 8;
		len -= 8;
	}
	/* the last 0-7 bytes: 4, 2 and 1 at a time */
	if (len & 4)
	{
		uint32		x4,
					y4;

		memcpy(&x4, a, 4);
		memcpy(&y4, b, 4);
		if (x4 != y4)
			return false;
		a += 4;
		b += 4;
	}
	if (len & 2)
	{
		uint16		x2,
					y2;

		memcpy(&x2, a, 2);
		memcpy(&y2, b, 2);
		if (x2 != y2)
			return false;
		a += 2;
		b += 2;
	}
	return !(len & 1) || *a == *b;
}

/*
 * Hash of a short byte string, keyed with a secret drawn once per backend
 * (waste_hash_key, set by waste_hash_init): span ids, parent ids, tool
 * names and argument hashes come from outside, and an unkeyed hash can be
 * inverted to give thousands of ids one value.  The mixing is that of
 * wyhash: the 128-bit product of two words, each XORed with key material,
 * folded to 64 bits, so that how a change of the input moves the output
 * cannot be known without the key.  Strings of up to 16 bytes (most ids,
 * kinds and names) take two products, longer ones one more per 16 bytes.
 * Each length has its own encoding of the bytes into the words (reads
 * overlap; the length is mixed in), so distinct strings give distinct
 * inputs to the mixing.
 *
 * The hash only places entries in tables: no result depends on its value,
 * and the tables that use it bound their probing (see waste_index.c),
 * so that even colliding keys cost O(n log n).
 */
extern uint64 waste_hash_key[3];

/* the two halves of a 128-bit product, folded */
static inline uint64
waste_mum(uint64 a, uint64 b)
{
	uint128		p = (uint128) a * b;

	return (uint64) p ^ (uint64) (p >> 64);
}

static inline uint64
waste_load64(const char *p)
{
	uint64		v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint32
waste_hash(const char *p, int len)
{
	uint64		seed = waste_hash_key[0];
	uint64		a,
				b;
	uint128		m;

	if (len <= 16)
	{
		if (len >= 8)
		{
			a = waste_load64(p);
			b = waste_load64(p + len - 8);
		}
		else if (len >= 4)
		{
			uint32		x4,
						y4;

			memcpy(&x4, p, 4);
			memcpy(&y4, p + len - 4, 4);
			a = x4;
			b = y4;
		}
		else if (len > 0)
		{
			a = ((uint64) (uint8) p[0] << 16) | ((uint64) (uint8) p[len >> 1] << 8) |
				(uint64) (uint8) p[len - 1];
			b = 0;
		}
		else
			a = b = 0;
	}
	else
	{
		int			rest = len;

		while (rest > 16)
		{
			seed = waste_mum(waste_load64(p) ^ waste_hash_key[1],
							 waste_load64(p + 8) ^ seed);
			p += 16;
			rest -= 16;
		}
		/* the last 16 bytes, overlapping the previous block if need be */
		a = waste_load64(p + rest - 16);
		b = waste_load64(p + rest - 8);
	}
	m = (uint128) (a ^ waste_hash_key[1]) * (b ^ seed);
	return (uint32) waste_mum((uint64) m ^ waste_hash_key[2] ^ (uint64) len,
							  (uint64) (m >> 64) ^ waste_hash_key[1]);
}

/*
 * Does the kind of len bytes at k equal word (lower-case ASCII letters and
 * '_'), ignoring case as pg_strncasecmp does?  Inline and 4 bytes at a
 * time: this runs once per span, and a library call for a four-letter word
 * costs more than the comparison.  fold has 0x20 where word has a letter
 * and 0 where it has '_': OR-ing it in lower-cases exactly the ASCII
 * letters among the bytes that can match.  A kind with a byte of the high
 * bit set is left to pg_strncasecmp, whose folding of such bytes depends
 * on the locale.
 */
static inline bool
waste_kind_is(const char *k, int len, const char *word, const char *fold, int wlen)
{
	uint32		x,
				w,
				f;
	bool		high = false;
	int			i;

	if (len != wlen)
		return false;
	for (i = 0; i + 4 <= len; i += 4)
	{
		memcpy(&x, k + i, 4);
		memcpy(&w, word + i, 4);
		memcpy(&f, fold + i, 4);
		if ((x | f) != w)
		{
			high = (x & 0x80808080) != 0;
			goto differ;
		}
	}
	for (; i < len; i++)
	{
		unsigned char c = (unsigned char) k[i];

		if ((c | (unsigned char) fold[i]) != (unsigned char) word[i])
		{
			high = (c & 0x80) != 0;
			goto differ;
		}
	}
	return true;

differ:
	/* only a byte with the high bit set can still match, after the locale's folding */
	if (!high)
		for (i = 0; i < len; i++)
			if (k[i] & 0x80)
				high = true;
	return high && pg_strncasecmp(k, word, len) == 0;
}

#endif							/* TOKACCT_WASTE_H */
