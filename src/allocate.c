/*-------------------------------------------------------------------------
 *
 * allocate.c
 *	  Budget allocation across workflows: the LP-optimal plan, its summary
 *	  and the decisions in business words.
 *
 * Input: an array of tokacct.allocation_option rows (workflow, option,
 * cost_per_item, value_per_item, items, is_current), where items is the
 * workflow's volume (the same on each of its rows) and is_current marks the
 * option the workflow runs today.  Every item must be handled by one of its
 * workflow's options: there is no implicit "do nothing" option; add one
 * (cost 0, value 0 or a penalty) where leaving items undone is allowed.
 *
 * The linear program: choose x[w,o] >= 0 items per workflow and option,
 * sum_o x[w,o] = items[w], sum cost[w,o] x[w,o] <= budget, maximising
 * sum value[w,o] x[w,o].  Its optimum is found exactly by the greedy walk:
 * start every workflow at its cheapest frontier option, then buy frontier
 * segments (moving a workflow's items to its next frontier option) in order
 * of slope, steepest first (ties: workflow name, then along the frontier),
 * while the budget lasts.  The segment that no longer fits is bought in part,
 * so at most one workflow is split, between two neighbouring frontier
 * options.  Segments have positive slope, so no dollar is spent for nothing.
 *
 * Money: every spend and value is exact in money units except within the
 * split workflow, where items moved = remaining budget / cost step is a
 * fraction: its spend is exact (the whole budget is used), its value and
 * the items on each of its options are rounded half away from zero to 12
 * decimals.  Shares are float8.  The shadow price is the value bought by
 * the next dollar (the slope of the segment being bought, or of the next one
 * when the budget ends exactly at a frontier option; 0 when every workflow
 * already runs its highest-value option).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "frontier_hull.h"
#include "money.h"

PG_FUNCTION_INFO_V1(allocate_plan);
PG_FUNCTION_INFO_V1(allocate_summary);
PG_FUNCTION_INFO_V1(allocate_decisions);

/* the detail of the error when a total of the plan overflows */
#define ALLOC_OVERFLOW "An allocation or frontier total exceeds what tokacct keeps exactly."

/* One workflow of the problem and where the plan puts it. */
typedef struct AllocWorkflow
{
	char	   *name;
	int64		volume;
	FrontierPoint *pts;			/* its options, sorted by frontier_hull */
	int			npts;
	int		   *verts;			/* indices of the frontier options, cheapest first */
	int			nverts;
	int			current;		/* index in pts of the option run today, or -1 */
	int			at;				/* index in verts the whole volume sits on */
	bool		split;			/* part of the volume moved to verts[at + 1] */
	int128		moved_units;	/* items moved, in 1e-12 items */
	int128		split_spend;	/* spend of the moved items' cost step */
	double		share_next;		/* share of items on verts[at + 1] */
	int128		spend;
	int128		value;
} AllocWorkflow;

typedef struct AllocPlan
{
	AllocWorkflow *wf;
	int			nwf;
	int128		budget;
	int128		min_budget;		/* every workflow on its cheapest option */
	int128		full_budget;	/* every workflow on its highest-value option */
	int128		spend;
	int128		value;
	bool		feasible;
	double		shadow;
	int			split_wf;		/* workflow split, or -1 */
} AllocPlan;

/* A frontier segment: move a workflow from verts[j - 1] to verts[j]. */
typedef struct AllocSegment
{
	int			w;
	int			j;
	int128		dc;				/* cost step per item (> 0) */
	int128		dv;				/* value step per item (> 0) */
} AllocSegment;

/* One input row, before grouping. */
typedef struct AllocRow
{
	char	   *workflow;
	char	   *option;
	int64		cost;
	int64		value;
	int64		items;
	bool		current;
} AllocRow;

static void
alloc_bad_row(int n, const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("allocation option %d %s", n, msg),
			 hint ? errhint("%s", hint) : 0));
}

static int
alloc_row_cmp(const void *x, const void *y)
{
	const AllocRow *a = x;
	const AllocRow *b = y;
	int			r = strcmp(a->workflow, b->workflow);

	return r != 0 ? r : strcmp(a->option, b->option);
}

/* Read the composite array into rows, checked. */
static AllocRow *
alloc_read_rows(ArrayType *arr, int *nrows)
{
	Oid			elemtype = ARR_ELEMTYPE(arr);
	int16		elmlen;
	bool		elmbyval;
	char		elmalign;
	Datum	   *elems;
	bool	   *enulls;
	int			n,
				i;
	AllocRow   *rows;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6];

	get_typlenbyvalalign(elemtype, &elmlen, &elmbyval, &elmalign);
	deconstruct_array(arr, elemtype, elmlen, elmbyval, elmalign, &elems, &enulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no allocation options given"),
				 errhint("Pass one tokacct.allocation_option row per workflow and option.")));
	/* the row type, looked up once for every element */
	tupdesc = lookup_rowtype_tupdesc(elemtype, -1);
	if (tupdesc->natts != 6)
		elog(ERROR, "tokacct.allocation_option has %d columns, expected 6", tupdesc->natts);
	rows = palloc(sizeof(AllocRow) * n);
	for (i = 0; i < n; i++)
	{
		HeapTupleHeader t;
		HeapTupleData tuple;
		AllocRow   *r = &rows[i];

		if (enulls[i])
			alloc_bad_row(i + 1, "is NULL", NULL);
		t = DatumGetHeapTupleHeader(elems[i]);
		tuple.t_len = HeapTupleHeaderGetDatumLength(t);
		ItemPointerSetInvalid(&tuple.t_self);
		tuple.t_tableOid = InvalidOid;
		tuple.t_data = t;
		heap_deform_tuple(&tuple, tupdesc, values, nulls);

		if (nulls[0])
			alloc_bad_row(i + 1, "has no workflow", NULL);
		r->workflow = TextDatumGetCString(values[0]);
		if (nulls[1])
			alloc_bad_row(i + 1, "has no option", NULL);
		r->option = TextDatumGetCString(values[1]);
		if (r->workflow[0] == '\0' || r->option[0] == '\0')
			alloc_bad_row(i + 1, "has an empty workflow or option name", NULL);
		if (strlen(r->workflow) > FRONTIER_MAX_NAME || strlen(r->option) > FRONTIER_MAX_NAME)
			alloc_bad_row(i + 1, "has a workflow or option name longer than 1000 bytes", NULL);

		if (nulls[2])
			alloc_bad_row(i + 1, "has no cost_per_item",
						  "Price every option; an unpriced model cannot be planned.");
		r->cost = money_from_datum(values[2], "cost_per_item");
		if (r->cost < 0)
			alloc_bad_row(i + 1, "has a negative cost_per_item", NULL);
		if (nulls[3])
			alloc_bad_row(i + 1, "has no value_per_item", NULL);
		r->value = money_from_datum(values[3], "value_per_item");
		if (nulls[4])
			alloc_bad_row(i + 1, "has no items", NULL);
		r->items = DatumGetInt64(values[4]);
		if (r->items <= 0)
			alloc_bad_row(i + 1, "has items <= 0",
						  "items is the workflow's volume; leave out workflows with no items.");
		r->current = !nulls[5] && DatumGetBool(values[5]);
	}
	ReleaseTupleDesc(tupdesc);
	*nrows = n;
	return rows;
}

/*
 * qsort_arg: segments by slope descending, then workflow name, then
 * position.  Workflows are numbered in the order of their names (the rows
 * are sorted by name before they are grouped), so comparing the numbers is
 * comparing the names, without a string compare.
 */
static int
alloc_segment_cmp(const void *x, const void *y, void *arg)
{
	const AllocSegment *a = x;
	const AllocSegment *b = y;
	int			r;

	/* a steeper: dv_a/dc_a > dv_b/dc_b  <=>  dv_a*dc_b > dv_b*dc_a */
	r = frontier_cmp_products((uint128) b->dv, (uint128) a->dc,
							  (uint128) a->dv, (uint128) b->dc);
	if (r != 0)
		return r;
	if (a->w != b->w)
		return a->w < b->w ? -1 : 1;
	return a->j - b->j;
}

/* Build the problem and solve it for a budget. */
static AllocPlan *
alloc_solve(Datum budget_datum, ArrayType *arr)
{
	AllocPlan  *plan = palloc0(sizeof(AllocPlan));
	AllocRow   *rows;
	AllocSegment *segs;
	int			nrows,
				nsegs = 0,
				i,
				w;
	int128		left;

	plan->budget = money_from_datum_wide(budget_datum, "budget");
	plan->split_wf = -1;
	rows = alloc_read_rows(arr, &nrows);
	qsort(rows, nrows, sizeof(AllocRow), alloc_row_cmp);

	/* group rows into workflows */
	plan->wf = palloc0(sizeof(AllocWorkflow) * nrows);
	for (i = 0; i < nrows; i++)
	{
		AllocWorkflow *cur;
		FrontierPoint *p;

		if (i == 0 || strcmp(rows[i].workflow, rows[i - 1].workflow) != 0)
		{
			int			k = i + 1;

			while (k < nrows && strcmp(rows[k].workflow, rows[i].workflow) == 0)
				k++;
			cur = &plan->wf[plan->nwf++];
			cur->name = rows[i].workflow;
			cur->volume = rows[i].items;
			cur->pts = palloc0(sizeof(FrontierPoint) * (k - i));
			cur->current = -1;
		}
		else
		{
			cur = &plan->wf[plan->nwf - 1];
			if (strcmp(rows[i].option, rows[i - 1].option) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" of workflow \"%s\" is given twice",
								rows[i].option, cur->name),
						 errhint("Give each option of a workflow once, with its mean cost and value per item.")));
			if (rows[i].items != cur->volume)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("workflow \"%s\" has two volumes: %lld and %lld items",
								cur->name, (long long) cur->volume, (long long) rows[i].items),
						 errhint("items is the workflow's volume: give the same number on each of its options.")));
			if (cur->npts >= FRONTIER_MAX_OPTIONS)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("workflow \"%s\" has more than %d options",
								cur->name, FRONTIER_MAX_OPTIONS),
						 errhint("Drop the options that are dominated (frontier_options shows them) before allocating.")));
		}
		p = &cur->pts[cur->npts];
		p->name = rows[i].option;
		p->namelen = strlen(rows[i].option);
		p->items = rows[i].items;
		p->cost = rows[i].cost;
		p->value = rows[i].value;
		p->tag = rows[i].current ? 1 : 0;
		cur->npts++;
	}

	/* frontier of each workflow; the cheapest plan and the full plan */
	segs = palloc(sizeof(AllocSegment) * nrows);
	for (w = 0; w < plan->nwf; w++)
	{
		AllocWorkflow *wf = &plan->wf[w];
		FrontierPoint *first,
				   *last;

		frontier_hull(wf->pts, wf->npts);
		wf->verts = palloc(sizeof(int) * wf->npts);
		for (i = 0; i < wf->npts; i++)
		{
			if (wf->pts[i].on_frontier)
				wf->verts[wf->nverts++] = i;
			if (wf->pts[i].tag)
			{
				if (wf->current >= 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("workflow \"%s\" has two current options: \"%s\" and \"%s\"",
									wf->name, wf->pts[wf->current].name, wf->pts[i].name),
							 errhint("Mark at most one option per workflow with is_current.")));
				wf->current = i;
			}
		}
		for (i = 1; i < wf->nverts; i++)
		{
			AllocSegment *s = &segs[nsegs++];

			s->w = w;
			s->j = i;
			s->dc = (int128) wf->pts[wf->verts[i]].cost - wf->pts[wf->verts[i - 1]].cost;
			s->dv = (int128) wf->pts[wf->verts[i]].value - wf->pts[wf->verts[i - 1]].value;
			Assert(s->dc > 0 && s->dv > 0);
		}
		first = &wf->pts[wf->verts[0]];
		last = &wf->pts[wf->verts[wf->nverts - 1]];
		plan->min_budget = money_add(plan->min_budget,
									 (int128) wf->volume * first->cost, ALLOC_OVERFLOW);
		plan->full_budget = money_add(plan->full_budget,
									  (int128) wf->volume * last->cost, ALLOC_OVERFLOW);
	}

	left = money_add(plan->budget, -plan->min_budget, ALLOC_OVERFLOW);
	if (left < 0)
		return plan;			/* infeasible */
	plan->feasible = true;

	/* the greedy walk along segments, steepest first */
	qsort_arg(segs, nsegs, sizeof(AllocSegment), alloc_segment_cmp, plan->wf);
	plan->shadow = 0;
	for (i = 0; i < nsegs; i++)
	{
		AllocSegment *s = &segs[i];
		AllocWorkflow *wf = &plan->wf[s->w];
		int128		segcost = money_mul(wf->volume, s->dc, ALLOC_OVERFLOW);

		Assert(wf->at == s->j - 1);
		if (left >= segcost)
		{
			wf->at = s->j;
			left -= segcost;
			continue;
		}
		plan->shadow = frontier_slope(s->dv, s->dc);
		if (left > 0)
		{
			wf->split = true;
			wf->split_spend = left;
			wf->moved_units = money_muldiv_round(left, MONEY_ONE, s->dc, ALLOC_OVERFLOW);
			wf->share_next = (double) left / (double) segcost;
			plan->split_wf = s->w;
		}
		break;
	}

	/* spend and value per workflow and in total */
	for (w = 0; w < plan->nwf; w++)
	{
		AllocWorkflow *wf = &plan->wf[w];
		FrontierPoint *a = &wf->pts[wf->verts[wf->at]];

		wf->spend = (int128) wf->volume * a->cost;
		wf->value = (int128) wf->volume * a->value;
		if (wf->split)
		{
			FrontierPoint *b = &wf->pts[wf->verts[wf->at + 1]];

			wf->spend += wf->split_spend;
			wf->value += money_muldiv_round(wf->split_spend,
											(int128) b->value - a->value,
											(int128) b->cost - a->cost, ALLOC_OVERFLOW);
		}
		plan->spend = money_add(plan->spend, wf->spend, ALLOC_OVERFLOW);
		plan->value = money_add(plan->value, wf->value, ALLOC_OVERFLOW);
	}
	return plan;
}

static void
alloc_require_feasible(AllocPlan *plan)
{
	if (!plan->feasible)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("budget %s is below the cheapest plan, %s",
						money_to_cstring(plan->budget), money_to_cstring(plan->min_budget)),
				 errdetail("Every item must be handled: running each workflow on its cheapest option for all its items costs %s.",
						   money_to_cstring(plan->min_budget)),
				 errhint("Raise the budget, or add an option such as (workflow, 'leave undone', 0, 0, items, false) where work may be left undone.")));
}

static Datum
alloc_text(const char *s)
{
	return PointerGetDatum(cstring_to_text(s));
}

static Datum
alloc_money(int128 units)
{
	return NumericGetDatum(money_to_numeric(units));
}

/* The plan: one row per workflow and option used. */
Datum
allocate_plan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AllocPlan  *plan = alloc_solve(PG_GETARG_DATUM(0), PG_GETARG_ARRAYTYPE_P(1));
	int			w;

	alloc_require_feasible(plan);
	InitMaterializedSRF(fcinfo, 0);
	for (w = 0; w < plan->nwf; w++)
	{
		AllocWorkflow *wf = &plan->wf[w];
		FrontierPoint *a = &wf->pts[wf->verts[wf->at]];
		Datum		values[6];
		bool		nulls[6] = {0};
		int128		all = (int128) wf->volume * MONEY_ONE;

		values[0] = alloc_text(wf->name);
		values[1] = alloc_text(a->name);
		if (!wf->split)
		{
			values[2] = alloc_money(all);
			values[3] = Float8GetDatum(1.0);
			values[4] = alloc_money(wf->spend);
			values[5] = alloc_money(wf->value);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		else
		{
			FrontierPoint *b = &wf->pts[wf->verts[wf->at + 1]];
			int128		dc = (int128) b->cost - a->cost;

			/*
			 * The moved items, left / dc, at b's cost and value, each rounded
			 * once; a keeps the rest, so the rows add up to the workflow.
			 */
			int128		spend_b = money_muldiv_round(wf->split_spend, b->cost, dc, ALLOC_OVERFLOW);
			int128		value_b = money_muldiv_round(wf->split_spend, b->value, dc, ALLOC_OVERFLOW);

			values[2] = alloc_money(all - wf->moved_units);
			values[3] = Float8GetDatum(1.0 - wf->share_next);
			values[4] = alloc_money(wf->spend - spend_b);
			values[5] = alloc_money(wf->value - value_b);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			values[1] = alloc_text(b->name);
			values[2] = alloc_money(wf->moved_units);
			values[3] = Float8GetDatum(wf->share_next);
			values[4] = alloc_money(spend_b);
			values[5] = alloc_money(value_b);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

/* The plan in one row: spend, value, shadow price, budget bounds. */
Datum
allocate_summary(PG_FUNCTION_ARGS)
{
	AllocPlan  *plan = alloc_solve(PG_GETARG_DATUM(0), PG_GETARG_ARRAYTYPE_P(1));
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = BoolGetDatum(plan->feasible);
	values[1] = alloc_money(plan->spend);
	values[2] = alloc_money(plan->value);
	values[3] = Float8GetDatum(plan->shadow);
	values[4] = alloc_money(plan->min_budget);
	values[5] = alloc_money(plan->full_budget);
	if (plan->split_wf >= 0)
		values[6] = alloc_text(plan->wf[plan->split_wf].name);
	else
		nulls[6] = true;
	if (!plan->feasible)
		nulls[1] = nulls[2] = nulls[3] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ---------- decisions in business words ---------- */

/* "the BPO", "humans" or the option's own name. */
static const char *
alloc_option_words(const char *name)
{
	if (pg_strcasecmp(name, "bpo") == 0)
		return "the BPO";
	if (pg_strcasecmp(name, "human") == 0 || pg_strcasecmp(name, "humans") == 0)
		return "humans";
	return name;
}

/* "with" for the BPO and humans, "on" for models. */
static const char *
alloc_option_prep(const char *name)
{
	return strcmp(alloc_option_words(name), name) == 0 ? "on" : "with";
}

/* Money rounded to cents with thousands separators, signed when asked. */
static void
alloc_append_money(StringInfo buf, int128 units, bool sign)
{
	int128		cents = money_div_round(units, MONEY_ONE / 100);
	uint128		u = cents < 0 ? -(uint128) cents : (uint128) cents;
	uint128		whole = u / 100;
	char		digits[48];
	int			n = 0,
				i;

	do
	{
		digits[n++] = '0' + (int) (whole % 10);
		whole /= 10;
	} while (whole != 0);
	if (cents < 0)
		appendStringInfoChar(buf, '-');
	else if (sign && cents > 0)
		appendStringInfoChar(buf, '+');
	appendStringInfoChar(buf, '$');
	for (i = n - 1; i >= 0; i--)
	{
		appendStringInfoChar(buf, digits[i]);
		if (i > 0 && i % 3 == 0)
			appendStringInfoChar(buf, ',');
	}
	appendStringInfo(buf, ".%02d", (int) (u % 100));
}

static void
alloc_append_changes(StringInfo buf, int128 dspend, int128 dvalue)
{
	appendStringInfoString(buf, ": ");
	alloc_append_money(buf, dspend, true);
	appendStringInfoString(buf, " spend, ");
	alloc_append_money(buf, dvalue, true);
	appendStringInfoString(buf, " value");
}

/* One row per workflow: what to do, and the change in spend and value. */
Datum
allocate_decisions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AllocPlan  *plan = alloc_solve(PG_GETARG_DATUM(0), PG_GETARG_ARRAYTYPE_P(1));
	int			w;

	alloc_require_feasible(plan);
	InitMaterializedSRF(fcinfo, 0);
	for (w = 0; w < plan->nwf; w++)
	{
		AllocWorkflow *wf = &plan->wf[w];
		const char *a = wf->pts[wf->verts[wf->at]].name;
		const char *b = wf->split ? wf->pts[wf->verts[wf->at + 1]].name : NULL;
		const char *c = wf->current >= 0 ? wf->pts[wf->current].name : NULL;
		int128		dspend = 0,
					dvalue = 0;
		StringInfoData buf;
		Datum		values[4];
		bool		nulls[4] = {0};

		initStringInfo(&buf);
		if (c)
		{
			dspend = wf->spend - (int128) wf->volume * wf->pts[wf->current].cost;
			dvalue = wf->value - (int128) wf->volume * wf->pts[wf->current].value;
		}
		if (!wf->split)
		{
			if (c == NULL)
				appendStringInfo(&buf, "run %s %s %s", wf->name,
								 alloc_option_prep(a), alloc_option_words(a));
			else if (strcmp(a, c) == 0)
				appendStringInfo(&buf, "keep %s %s %s", wf->name,
								 alloc_option_prep(a), alloc_option_words(a));
			else
				appendStringInfo(&buf, "switch %s from %s to %s", wf->name,
								 alloc_option_words(c), alloc_option_words(a));
		}
		else
		{
			double		pb = 100.0 * wf->share_next;
			double		pa = 100.0 - pb;

			if (c != NULL && strcmp(c, a) == 0)
				appendStringInfo(&buf, "move %.1f%% of %s from %s to %s", pb, wf->name,
								 alloc_option_words(a), alloc_option_words(b));
			else if (c != NULL && strcmp(c, b) == 0)
				appendStringInfo(&buf, "move %.1f%% of %s from %s to %s", pa, wf->name,
								 alloc_option_words(b), alloc_option_words(a));
			else
			{
				appendStringInfo(&buf, "split %s: %.1f%% %s %s, %.1f%% %s %s", wf->name,
								 pa, alloc_option_prep(a), alloc_option_words(a),
								 pb, alloc_option_prep(b), alloc_option_words(b));
				if (c)
					appendStringInfo(&buf, " (instead of %s)", alloc_option_words(c));
			}
		}
		if (c && (dspend != 0 || dvalue != 0))
			alloc_append_changes(&buf, dspend, dvalue);

		values[0] = alloc_text(wf->name);
		values[1] = alloc_text(buf.data);
		if (c)
		{
			values[2] = alloc_money(dspend);
			values[3] = alloc_money(dvalue);
		}
		else
			nulls[2] = nulls[3] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
