/*-------------------------------------------------------------------------
 *
 * waste_accessors.c
 *	  The SQL accessors over a waste_state (waste_summary, waste_classes,
 *	  waste_spans, waste_span_classes, waste_induced) and
 *	  waste_compute_totals, which classify a trace with waste_analyse
 *	  (waste_classify.c), and the working area they share, with its kept
 *	  trace.
 *
 * Memory: the working arrays are shared by every call site of every
 * accessor in the backend and freed at the end of the transaction, so a
 * query holds the arrays of one trace whatever its shape; the last large
 * trace classified is kept with its classes, so that the 18 calls of
 * (waste_summary(s)).* classify it once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "money.h"
#include "waste_classify.h"

PG_FUNCTION_INFO_V1(waste_summary);
PG_FUNCTION_INFO_V1(waste_summary_or_null);
PG_FUNCTION_INFO_V1(waste_classes);
PG_FUNCTION_INFO_V1(waste_spans);
PG_FUNCTION_INFO_V1(waste_span_classes);
PG_FUNCTION_INFO_V1(waste_induced);

const char *const waste_class_names[] = {
	"error_call", "failed_attempt", "abandoned_branch", "stuck_loop",
	"duplicate_tool_call", "essential"
};

const char *const waste_rule_names[] = {"leaf", "self", "rollup"};

/* the working area of this backend's transaction, or NULL */
static WasteWork *waste_shared = NULL;

/* traces whose state has at least this many bytes are kept after classifying */
#define WASTE_KEEP_MIN	(1024 * 1024)

/* per call site of waste_summary: its result row, made once per query */
typedef struct WasteSummaryDesc
{
	TupleDesc	tupdesc;
	Datum		zero;			/* numeric 0, made once: most class costs are 0 */
} WasteSummaryDesc;

/* a span's cost in its class: its own cost and the cost it induced (+) or gave up (-) */
static inline int128
waste_charged(const WTrace *t, int32 i)
{
	return t->ind == NULL ? (int128) t->sp[i].own : t->sp[i].own + t->ind[i];
}

/* order for output: cost in the class descending, then start, id */
static int
waste_cmp_cost(const void *pa, const void *pb, void *arg)
{
	const WTrace *t = (const WTrace *) arg;
	int128		a = waste_charged(t, *(const int32 *) pa);
	int128		b = waste_charged(t, *(const int32 *) pb);

	WASTE_CMP_TICK();
	if (a != b)
		return a > b ? -1 : 1;
	return waste_cmp_time(pa, pb, t->sp);
}

/* Parse the cost rule argument (compared in place: no copy per trace). */
static int
waste_parse_rule(text *t)
{
	const char *r = VARDATA_ANY(t);
	Size		len = VARSIZE_ANY_EXHDR(t);
	int			i;

	for (i = 0; i <= WASTE_RULE_ROLLUP; i++)
		if (len == strlen(waste_rule_names[i]) && memcmp(r, waste_rule_names[i], len) == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown cost rule \"%s\"", text_to_cstring(t)),
			 errhint("Use 'leaf' (only leaf spans carry cost), 'self' (each span reports its own cost) "
					 "or 'rollup' (each span reports its own cost plus its children's).")));
	return 0;
}

static int
waste_check_loop_min(int32 m)
{
	if (m < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("loop_min must be at least 2, not %d", m),
				 errdetail("A stuck loop is a run of at least loop_min identical consecutive steps.")));
	return m;
}

/* The working area is going with its context (end of transaction). */
static void
waste_work_gone(void *arg)
{
	waste_shared = NULL;
}

/* The backend's working area, made on first use in a transaction. */
static WasteWork *
waste_work(void)
{
	MemoryContext cxt;
	MemoryContextCallback *cb;
	WasteWork  *w;

	if (waste_shared != NULL)
		return waste_shared;
	waste_hash_init();
	cxt = AllocSetContextCreate(TopTransactionContext, "waste working area",
								ALLOCSET_SMALL_SIZES);
	w = (WasteWork *) MemoryContextAllocZero(cxt, sizeof(WasteWork));
	w->mcxt = cxt;
	w->arrays = AllocSetContextCreate(cxt, "waste working arrays",
									  ALLOCSET_DEFAULT_SIZES);
	w->scratch = AllocSetContextCreate(cxt, "waste analysis",
									   ALLOCSET_DEFAULT_SIZES);
	w->keep = AllocSetContextCreate(cxt, "waste kept trace",
									ALLOCSET_DEFAULT_SIZES);
	cb = (MemoryContextCallback *) MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	cb->func = waste_work_gone;
	cb->arg = NULL;
	MemoryContextRegisterResetCallback(cxt, cb);
	waste_shared = w;
	return w;
}

/*
 * Drop the cached trace (its classes are in the arrays, about to change)
 * and empty its context (also of what a failed call left there; emptying
 * an empty context costs next to nothing).
 */
static void
waste_forget(WasteWork *w)
{
	w->cached = false;
	w->ckey = NULL;
	w->cst = NULL;
	MemoryContextReset(w->keep);
}

/* Drop the cached trace, freeing only its state (other chunks of keep stay). */
static void
waste_drop(WasteWork *w)
{
	w->cached = false;
	if (w->cst != NULL && w->cst != (WasteState *) w->ckey)
		pfree(w->cst);
	if (w->ckey != NULL)
		pfree(w->ckey);
	w->ckey = NULL;
	w->cst = NULL;
}

/*
 * Read the common arguments and analyse, or take the kept classes of the
 * same state.  Returns with the call's scratch context current (emptied
 * first): the caller switches back to *old.
 *
 * A state of at least WASTE_KEEP_MIN bytes is kept in the working area
 * with its classes.  The key of the cache is the state's stored form (its
 * compressed bytes when it is compressed, fetched but not decompressed
 * when it is stored out of line), compared byte for byte with a copy:
 * equal stored forms are equal states, so a hit can never be a different
 * state, whatever memory the caller reuses.  A state that is compressed
 * differently is only a miss.
 *
 * Keeping costs no copy for a state stored out of line (it is fetched and
 * decompressed into the kept trace's context rather than the call's) and
 * little for a compressed one.  A plain state in the caller's memory (made
 * in the same query) would need a copy of the whole state, which a single
 * call does not repay: it is classified in place, and copied and kept only
 * when the same datum (same address and size) comes again, as it does in
 * the calls of (waste_summary(s)).*.  That address is only a hint of when
 * to keep: a hit is always decided by comparing the bytes.
 */
static WasteWork *
waste_analyse_args(FunctionCallInfo fcinfo, int rule_arg, WTrace *t, MemoryContext *old)
{
	WasteWork  *w = waste_work();
	struct varlena *raw = (struct varlena *) PG_GETARG_POINTER(0);
	struct varlena *key;
	const WasteState *st;
	const WasteTotals *extot;
	const WasteState *ex;
	int			rule;
	int			loop_min;
	Size		keylen;

	MemoryContextReset(w->scratch);
	*old = MemoryContextSwitchTo(w->scratch);
	rule = waste_parse_rule(PG_GETARG_TEXT_PP(rule_arg));
	loop_min = waste_check_loop_min(PG_GETARG_INT32(rule_arg + 1));

	/*
	 * waste_agg's final value (our expanded state in the aggregate's memory)
	 * is read in place, as a plain state in the caller's memory is; its
	 * stored form, the key of the cache, is its flat form.
	 */
	ex = waste_expanded_flat(PointerGetDatum(raw), &extot);
	if (ex != NULL)
		keylen = WASTE_HDRSZ + ex->used + (extot != NULL ? sizeof(WasteTotals) : 0);
	else
		keylen = toast_raw_datum_size(PointerGetDatum(raw));
	if (keylen < WASTE_KEEP_MIN)
	{
		/* a small trace: classified again at each call (the arrays change) */
		waste_forget(w);
		st = ex != NULL ? ex : DatumGetWasteState(PointerGetDatum(raw));
		waste_analyse(st, rule, loop_min, t, w);
		return w;
	}

	/*
	 * The stored form: fetched (into the kept trace's context) if out of
	 * line, still compressed if it was.  A call that failed may have left
	 * chunks there: empty it first unless it holds a valid cache.
	 */
	if (!w->cached)
		waste_forget(w);
	if (ex != NULL)
		key = NULL;				/* compared in place, copied if kept */
	else
	{
		MemoryContextSwitchTo(w->keep);
		key = VARATT_IS_EXTERNAL(raw) ? detoast_external_attr(raw) : raw;
		MemoryContextSwitchTo(w->scratch);
		keylen = VARSIZE_ANY(key);
	}
	if (w->cached && w->crule == rule && w->cloop_min == loop_min &&
		VARSIZE_ANY(w->ckey) == keylen &&
		(ex != NULL ? waste_expanded_equal(w->ckey, PointerGetDatum(raw)) :
		 memcmp(w->ckey, key, keylen) == 0))
	{
		if (key != NULL && key != raw)
			pfree(key);
		*t = w->ct;
		return w;
	}

	/*
	 * A miss.  Drop the kept trace before anything else, so that a
	 * classification that fails half way leaves no cache.
	 */
	waste_drop(w);
	if ((ex != NULL || (key == raw && !VARATT_IS_COMPRESSED(raw))) &&
		!(w->lastraw == (const void *) raw && w->lastlen == keylen))
	{
		/* plain or ours, in the caller's memory, not seen just before: in place */
		w->lastraw = raw;
		w->lastlen = keylen;
		waste_analyse(ex != NULL ? ex : (const WasteState *) raw, rule, loop_min, t, w);
		return w;
	}
	w->lastraw = NULL;
	MemoryContextSwitchTo(w->keep);
	if (ex != NULL)
		key = (struct varlena *) waste_expanded_copy(PointerGetDatum(raw));
	else if (key == raw)
	{
		/* in the caller's memory (compressed, or plain and seen again): copy it */
		key = (struct varlena *) palloc(keylen);
		memcpy(key, raw, keylen);
	}
	w->ckey = key;
	if (VARATT_IS_COMPRESSED(key))
		w->cst = (WasteState *) detoast_attr(key);
	else
	{
		Assert(VARATT_IS_4B_U(key));
		w->cst = (WasteState *) key;
	}
	MemoryContextSwitchTo(w->scratch);

	waste_analyse(w->cst, rule, loop_min, t, w);
	w->ct = *t;
	w->crule = rule;
	w->cloop_min = loop_min;
	w->cached = true;
	return w;
}

/*
 * In the PG_CATCH block of a classification: swallow a data error (with
 * shape_only, only the classifier's refusal of a trace's shape, as
 * waste_shape_refused marks it), flushing the error state, with old current
 * again; raise any other error again.  No subtransaction: see
 * waste_compute_totals.  The caller resets the working area.
 */
static void
waste_swallow_data_error(MemoryContext old, bool shape_only)
{
	ErrorData  *edata;
	bool		swallow;

	MemoryContextSwitchTo(old);
	edata = CopyErrorData();
	swallow = edata->sqlerrcode == ERRCODE_DATA_EXCEPTION && (!shape_only || waste_shape_refused);
	waste_shape_refused = false;
	if (!swallow)
		PG_RE_THROW();
	FlushErrorState();
	FreeErrorData(edata);
}

/*
 * waste_compute_totals(state, totals): classify a state's spans under the
 * accessors' defaults (WASTE_TOTALS_RULE, WASTE_TOTALS_LOOP_MIN) and keep
 * the totals; a parallel worker calls it on each partial state it sends
 * (see waste_state.c).  A trace the classifier refuses with a data error
 * (a repeated span id, a cycle of parent ids) gets no totals (false): the
 * error is raised by the accessor that classifies the trace, as in a
 * serial plan, not by a query that only collects states.  The error is
 * caught without a subtransaction: the classification only computes in
 * this module's working area, whose arrays and kept trace are reset here
 * (it takes no lock, pin or other resource); any other error (a cancel,
 * out of memory) is raised again.
 */
bool
waste_compute_totals(const WasteState *s, WasteTotals *out)
{
	WasteWork  *w = waste_work();
	MemoryContext old = CurrentMemoryContext;
	WTrace		t;
	volatile bool ok = true;
	int			c;

	/* the arrays are about to hold another trace: no kept classes */
	waste_forget(w);
	MemoryContextReset(w->scratch);
	MemoryContextSwitchTo(w->scratch);
	PG_TRY();
	{
		waste_analyse(s, WASTE_TOTALS_RULE, WASTE_TOTALS_LOOP_MIN, &t, w);
	}
	PG_CATCH();
	{
		waste_swallow_data_error(old, false);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	if (ok)
	{
		memset(out, 0, sizeof(*out));
		out->n = t.n;
		out->nroots = t.nroots;
		out->orphans = t.orphans;
		out->ncostnull = t.ncostnull;
		for (c = 0; c < WASTE_NCLASS; c++)
		{
			out->count[c] = t.count[c];
			out->cost_hi[c] = (uint64) ((uint128) t.cost[c] >> 64);
			out->cost_lo[c] = (uint64) (uint128) t.cost[c];
		}
		out->total_hi = (uint64) ((uint128) t.total >> 64);
		out->total_lo = (uint64) (uint128) t.total;
	}
	waste_forget(w);
	MemoryContextReset(w->scratch);
	return ok;
}

/*
 * The classes of a state that carries totals (a trace that came whole from
 * one parallel worker), when the call asks for the rule and loop_min they
 * were computed under: into t (totals only, no spans), true.  Else false,
 * and the caller classifies.
 */
static bool
waste_totals_args(FunctionCallInfo fcinfo, int rule_arg, WTrace *t)
{
	struct varlena *raw = (struct varlena *) PG_GETARG_POINTER(0);
	text	   *rule = PG_GETARG_TEXT_PP(rule_arg);
	const char *name = waste_rule_names[WASTE_TOTALS_RULE];
	WasteTotals tot;
	int			c;

	const WasteTotals *extot;
	const WasteState *ex = waste_expanded_flat(PointerGetDatum(raw), &extot);

	/*
	 * only a plain value in memory or our expanded state (waste_agg's final
	 * value): a stored one is classified as ever
	 */
	if ((ex == NULL && VARATT_IS_EXTENDED(raw)) ||
		PG_GETARG_INT32(rule_arg + 1) != WASTE_TOTALS_LOOP_MIN ||
		VARSIZE_ANY_EXHDR(rule) != strlen(name) ||
		memcmp(VARDATA_ANY(rule), name, strlen(name)) != 0)
		return false;
	if (ex != NULL)
	{
		if (extot == NULL || extot->n != ex->nspans || extot->ncostnull != ex->ncostnull)
			return false;
		tot = *extot;
	}
	else if (!waste_get_totals((const WasteState *) raw, &tot))
		return false;
	memset(t, 0, sizeof(*t));
	t->rule = WASTE_TOTALS_RULE;
	t->loop_min = WASTE_TOTALS_LOOP_MIN;
	t->n = tot.n;
	t->nroots = tot.nroots;
	t->orphans = tot.orphans;
	t->ncostnull = tot.ncostnull;
	for (c = 0; c < WASTE_NCLASS; c++)
	{
		t->count[c] = tot.count[c];
		t->cost[c] = (int128) (((uint128) tot.cost_hi[c] << 64) | (uint128) tot.cost_lo[c]);
	}
	t->total = (int128) (((uint128) tot.total_hi << 64) | (uint128) tot.total_lo);
	return true;
}

/* waste_summary(state, cost_rule, loop_min): totals, cost and spans per class. */
Datum
waste_summary(PG_FUNCTION_ARGS)
{
	WasteSummaryDesc *d;
	MemoryContext old;
	WTrace		t;
	Datum		values[19];
	bool		nulls[19];
	int			c,
				v;
	int128		waste;
	/* class order of the output columns: essential first, then precedence */
	static const int ord[WASTE_NCLASS] = {
		WASTE_C_ESSENTIAL, WASTE_C_ERROR_CALL, WASTE_C_FAILED_ATTEMPT,
		WASTE_C_ABANDONED, WASTE_C_STUCK_LOOP, WASTE_C_DUPLICATE
	};

	/* the blessed result descriptor is built once per call site and query */
	d = (WasteSummaryDesc *) fcinfo->flinfo->fn_extra;
	if (d == NULL)
	{
		MemoryContext fold = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		TupleDesc	tupdesc;

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "waste_summary must return a composite type");
		d = (WasteSummaryDesc *) palloc(sizeof(WasteSummaryDesc));
		d->tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		d->zero = NumericGetDatum(money_to_numeric(0));
		fcinfo->flinfo->fn_extra = d;
		MemoryContextSwitchTo(fold);
	}

	if (!waste_totals_args(fcinfo, 1, &t))
	{
		WasteWork  *w = waste_analyse_args(fcinfo, 1, &t, &old);

		/* the row needs only t's counts and sums: empty the scratch now */
		MemoryContextSwitchTo(old);
		MemoryContextReset(w->scratch);
	}

	/* heap_form_tuple copies the values, so the shared zero may be used */
#define WASTE_MONEY(m) ((m) == 0 ? d->zero : NumericGetDatum(money_to_numeric(m)))
	memset(nulls, 0, sizeof(nulls));
	v = 0;
	values[v++] = CStringGetTextDatum(waste_rule_names[t.rule]);
	values[v++] = Int64GetDatum(t.n);
	values[v++] = Int64GetDatum(t.nroots);
	values[v++] = Int64GetDatum(t.orphans);
	values[v++] = Int64GetDatum(t.ncostnull);
	values[v++] = WASTE_MONEY(t.total);
	for (c = 0; c < WASTE_NCLASS; c++)
		values[v++] = WASTE_MONEY(t.cost[ord[c]]);
	waste = t.total - t.cost[WASTE_C_ESSENTIAL];
	values[v++] = WASTE_MONEY(waste);
#undef WASTE_MONEY
	for (c = 1; c < WASTE_NCLASS; c++)
		values[v++] = Int64GetDatum(t.count[ord[c]]);
	Assert(v == 19);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(d->tupdesc, values, nulls)));
}

/*
 * waste_summary_or_null(state, cost_rule, loop_min): waste_summary's row, or
 * NULL for a trace the classifier refuses for its shape (a span id twice,
 * parent ids in a cycle: waste_shape_refused), so that a report over many
 * traces leaves that one out (waste_by_trace and the BI views of an
 * attached source).  Caught without a subtransaction, as in
 * waste_compute_totals and for its reasons: the classification computes in
 * this module's working area only, reset here; any other error (a cost
 * rule the trace's costs contradict, a bad argument, a cancel, out of
 * memory) is raised again.
 */
Datum
waste_summary_or_null(PG_FUNCTION_ARGS)
{
	MemoryContext old = CurrentMemoryContext;
	volatile Datum result = (Datum) 0;
	volatile bool refused = false;

	waste_shape_refused = false;
	PG_TRY();
	{
		result = waste_summary(fcinfo);
	}
	PG_CATCH();
	{
		WasteWork  *w = waste_work();

		waste_swallow_data_error(old, true);
		waste_forget(w);
		MemoryContextReset(w->scratch);
		refused = true;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	if (refused)
		PG_RETURN_NULL();
	return result;
}

/* waste_classes(state, cost_rule, loop_min): one row per class, in precedence order. */
Datum
waste_classes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	WTrace		t;
	int			c;

	InitMaterializedSRF(fcinfo, 0);
	old = CurrentMemoryContext;
	if (!waste_totals_args(fcinfo, 1, &t))
		waste_analyse_args(fcinfo, 1, &t, &old);
	for (c = 0; c < WASTE_NCLASS; c++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = CStringGetTextDatum(waste_class_names[c]);
		values[1] = Int32GetDatum(c + 1);
		values[2] = Int64GetDatum(t.count[c]);
		values[3] = NumericGetDatum(money_to_numeric(t.cost[c]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(waste_work()->scratch);
	return (Datum) 0;
}

/*
 * The first four columns of every span listing: the span's id, its
 * parent's (NULL for a root), its kind and name, as text.  The caller has
 * cleared nulls.
 */
static void
waste_span_names(const WSpan *s, Datum *values, bool *nulls)
{
	values[0] = PointerGetDatum(cstring_to_text_with_len(s->s[WASTE_S_ID], s->len[WASTE_S_ID]));
	if (s->flags & WASTE_F_PARENT_NULL)
		nulls[1] = true;
	else
		values[1] = PointerGetDatum(cstring_to_text_with_len(s->s[WASTE_S_PARENT], s->len[WASTE_S_PARENT]));
	values[2] = PointerGetDatum(cstring_to_text_with_len(s->s[WASTE_S_KIND], s->len[WASTE_S_KIND]));
	values[3] = PointerGetDatum(cstring_to_text_with_len(s->s[WASTE_S_NAME], s->len[WASTE_S_NAME]));
}

/*
 * Emit span rows: the spans listed in idx[0..m-1].  Each row's values are
 * made in a context emptied per row (the tuplestore copies them), so that
 * listing a trace's spans does not hold a copy of every value.
 */
static void
waste_emit_spans(ReturnSetInfo *rsinfo, WTrace *t, int32 *idx, int32 m)
{
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "waste row",
												 ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(rowcxt);
	int32		i;

	for (i = 0; i < m; i++)
	{
		WSpan	   *s = &t->sp[idx[i]];
		Datum		values[10];
		bool		nulls[10];

		WASTE_CFI(i);
		MemoryContextReset(rowcxt);
		memset(nulls, 0, sizeof(nulls));
		waste_span_names(s, values, nulls);
		values[4] = CStringGetTextDatum(waste_status_names[s->status]);
		values[5] = CStringGetTextDatum(waste_class_names[s->cls]);
		if (s->cause < 0)
			nulls[6] = true;
		else
			values[6] = PointerGetDatum(cstring_to_text_with_len(t->sp[s->cause].s[WASTE_S_ID],
																 t->sp[s->cause].len[WASTE_S_ID]));
		if (s->flags & WASTE_F_COST_NULL)
			nulls[7] = true;
		else
			values[7] = NumericGetDatum(money_to_numeric(s->cost));
		values[8] = NumericGetDatum(money_to_numeric(waste_charged(t, idx[i])));
		values[9] = TimestampTzGetDatum(s->start);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(rowcxt);
}

/* waste_spans(state, lim, cost_rule, loop_min): the most expensive wasteful spans. */
Datum
waste_spans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		lim = PG_GETARG_INT32(1);
	MemoryContext old;
	WTrace		t;
	int32	   *idx;
	int32		i,
				m;

	if (lim < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("limit must not be negative"),
				 errhint("Give the number of spans to list, 0 or more.")));
	InitMaterializedSRF(fcinfo, 0);
	waste_analyse_args(fcinfo, 2, &t, &old);
	idx = (int32 *) palloc(sizeof(int32) * Max(t.n, 1));
	for (i = 0, m = 0; i < t.n; i++)
	{
		WASTE_CFI(i);
		if (t.sp[i].cls != WASTE_C_ESSENTIAL)
			idx[m++] = i;
	}
	qsort_arg(idx, m, sizeof(int32), waste_cmp_cost, &t);
	waste_emit_spans(rsinfo, &t, idx, Min(m, lim));
	MemoryContextSwitchTo(old);
	MemoryContextReset(waste_work()->scratch);
	return (Datum) 0;
}

/* waste_span_classes(state, cost_rule, loop_min): every span with its class, by time. */
Datum
waste_span_classes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	WTrace		t;
	int32	   *idx;
	int32		i;

	InitMaterializedSRF(fcinfo, 0);
	waste_analyse_args(fcinfo, 1, &t, &old);
	idx = (int32 *) palloc(sizeof(int32) * Max(t.n, 1));
	for (i = 0; i < t.n; i++)
	{
		WASTE_CFI(i);
		idx[i] = i;
	}
	qsort_arg(idx, t.n, sizeof(int32), waste_cmp_time, t.sp);
	waste_emit_spans(rsinfo, &t, idx, t.n);
	MemoryContextSwitchTo(old);
	MemoryContextReset(waste_work()->scratch);
	return (Datum) 0;
}

/*
 * waste_induced(state, cost_rule, loop_min): the LLM calls and tool calls
 * of a trace by time, with the tokens each tool added and each call
 * re-read, the price per token of each call, and the money the induced
 * cost moved (+ to a tool, - from a call).  No rows when no span carries
 * input tokens.
 */
Datum
waste_induced(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	MemoryContext rowcxt;
	WTrace		t;
	int32	   *idx;
	int32		i,
				m;

	InitMaterializedSRF(fcinfo, 0);
	waste_analyse_args(fcinfo, 1, &t, &old);
	idx = (int32 *) palloc(sizeof(int32) * Max(t.n, 1));
	m = 0;
	if (t.ind != NULL)
		for (i = 0; i < t.n; i++)
		{
			WASTE_CFI(i);
			if (t.role[i] != WASTE_R_NONE)
				idx[m++] = i;
		}
	qsort_arg(idx, m, sizeof(int32), waste_cmp_time, t.sp);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "waste row", ALLOCSET_SMALL_SIZES);
	MemoryContextSwitchTo(rowcxt);
	for (i = 0; i < m; i++)
	{
		int32		v = idx[i];
		WSpan	   *s = &t.sp[v];
		bool		call = t.role[v] == WASTE_R_CALL;
		Datum		values[12];
		bool		nulls[12];

		WASTE_CFI(i);
		MemoryContextReset(rowcxt);
		memset(nulls, 0, sizeof(nulls));
		waste_span_names(s, values, nulls);
		values[4] = CStringGetTextDatum(waste_class_names[s->cls]);
		values[5] = CStringGetTextDatum(call ? "call" : "tool");
		if (call)
		{
			values[6] = Int64GetDatum(t.itok[v]);
			values[8] = NumericGetDatum(money_to_numeric(t.iprice[v]));
		}
		else
			nulls[6] = nulls[8] = true;
		values[7] = Int64GetDatum(t.added[v]);
		values[9] = NumericGetDatum(money_to_numeric(s->own));
		values[10] = NumericGetDatum(money_to_numeric(t.ind[v]));
		values[11] = NumericGetDatum(money_to_numeric(waste_charged(&t, v)));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(rowcxt);
	MemoryContextReset(waste_work()->scratch);
	return (Datum) 0;
}
