/*-------------------------------------------------------------------------
 *
 * agg_outcome.c
 *	  tokacct.cost_per_outcome: the aggregate over item rows (cost, solved
 *	  [, human fix cost]) and its concrete state type tokacct.outcome_state.
 *
 * The state holds three counts and two exact money totals.  The transition
 * function updates it in place in the aggregate context, so no row
 * allocates; the combine function adds two states with overflow checks and
 * serves both parallel workers and tokacct.merge() over stored states.  The
 * text form is
 *
 *		items=10 solved=7 fixed=1 cost=12.5 fix_cost=3
 *
 * and the binary form is a version byte followed by the same fields; both
 * are checked field by field (see outcome_check).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "aggio.h"
#include "agg_outcome.h"
#include "money.h"

PG_FUNCTION_INFO_V1(outcome_state_in);
PG_FUNCTION_INFO_V1(outcome_state_out);
PG_FUNCTION_INFO_V1(outcome_state_recv);
PG_FUNCTION_INFO_V1(outcome_state_send);
PG_FUNCTION_INFO_V1(outcome_accum);
PG_FUNCTION_INFO_V1(outcome_combine);
PG_FUNCTION_INFO_V1(outcome_report);
PG_FUNCTION_INFO_V1(outcome_cost_per_solved);

static OutcomeState *
outcome_new(MemoryContext cxt)
{
	OutcomeState *st = MemoryContextAllocZero(cxt, sizeof(OutcomeState));

	SET_VARSIZE(st, sizeof(OutcomeState));
	return st;
}

/* Reject a state read from in whose fields cannot come from any set of rows. */
static void
outcome_check(const OutcomeState *st, const AggioInput *in)
{
	if (st->items < 0 || st->solved < 0 || st->fixed < 0)
		aggio_bad(in, "Counts must not be negative.");
	if (st->solved > st->items)
		aggio_bad(in, "solved (" INT64_FORMAT ") exceeds items (" INT64_FORMAT ").",
				  st->solved, st->items);
	if (st->fixed > st->items)
		aggio_bad(in, "fixed (" INT64_FORMAT ") exceeds items (" INT64_FORMAT ").",
				  st->fixed, st->items);
	if (st->cost < 0 || st->fix_cost < 0)
		aggio_bad(in, "Money totals must not be negative.");
	if (st->cost > st->items * MONEY_LIMIT)
		aggio_bad(in, "cost exceeds what %s rows can hold.",
				  st->items == 0 ? "zero" : "its");
	if (st->fix_cost > st->fixed * MONEY_LIMIT)
		aggio_bad(in, "fix_cost exceeds what %s fixed rows can hold.",
				  st->fixed == 0 ? "zero" : "its");
	if (st->fix_cost < st->fixed)
		aggio_bad(in, "fix_cost is below one unit per fixed row.");
}

/* Text input of an outcome state. */
Datum
outcome_state_in(PG_FUNCTION_ARGS)
{
	AggioInput	in;
	OutcomeState *st = outcome_new(CurrentMemoryContext);

	aggio_text_input(&in, OUTCOME_TYPE_NAME, PG_GETARG_CSTRING(0), false);
	aggio_expect(&in, "items=");
	st->items = aggio_parse_count(&in, "items");
	aggio_expect(&in, " solved=");
	st->solved = aggio_parse_count(&in, "solved");
	aggio_expect(&in, " fixed=");
	st->fixed = aggio_parse_count(&in, "fixed");
	aggio_expect(&in, " cost=");
	st->cost = aggio_parse_money(&in, "cost");
	aggio_expect(&in, " fix_cost=");
	st->fix_cost = aggio_parse_money(&in, "fix_cost");
	aggio_expect_end(&in);
	outcome_check(st, &in);
	PG_RETURN_POINTER(st);
}

/* Text output of an outcome state. */
Datum
outcome_state_out(PG_FUNCTION_ARGS)
{
	OutcomeState *st = (OutcomeState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "items=" INT64_FORMAT " solved=" INT64_FORMAT " fixed=" INT64_FORMAT " cost=",
					 st->items, st->solved, st->fixed);
	aggio_append_money(&buf, st->cost);
	appendStringInfoString(&buf, " fix_cost=");
	aggio_append_money(&buf, st->fix_cost);
	PG_RETURN_CSTRING(buf.data);
}

/* Binary input of an outcome state. */
Datum
outcome_state_recv(PG_FUNCTION_ARGS)
{
	AggioInput	in;
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	OutcomeState *st = outcome_new(CurrentMemoryContext);

	aggio_binary_input(&in, OUTCOME_TYPE_NAME, msg);
	aggio_need_bytes(&in, 1 + 3 * 8 + 2 * 16);
	aggio_check_version(&in, pq_getmsgbyte(msg), OUTCOME_BINARY_VERSION);
	st->items = pq_getmsgint64(msg);
	st->solved = pq_getmsgint64(msg);
	st->fixed = pq_getmsgint64(msg);
	st->cost = aggio_getmsg_int128(msg);
	st->fix_cost = aggio_getmsg_int128(msg);
	aggio_getmsg_end(&in);
	outcome_check(st, &in);
	PG_RETURN_POINTER(st);
}

/* Binary output of an outcome state. */
Datum
outcome_state_send(PG_FUNCTION_ARGS)
{
	OutcomeState *st = (OutcomeState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, OUTCOME_BINARY_VERSION);
	pq_sendint64(&buf, st->items);
	pq_sendint64(&buf, st->solved);
	pq_sendint64(&buf, st->fixed);
	aggio_send_int128(&buf, st->cost);
	aggio_send_int128(&buf, st->fix_cost);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * Transition: add one item row (cost, solved [, human_fix_cost]).
 *
 * Rows with a NULL cost or solved are skipped, as sum() skips NULLs; a NULL
 * human fix cost means no fix.  In an aggregate the state is the one the
 * aggregate owns (INITCOND copied into the aggregate context, or a previous
 * return of this function) and is updated in place; called directly, it
 * works on a copy.
 */
Datum
outcome_accum(PG_FUNCTION_ARGS)
{
	OutcomeState *st;
	int64		cost;

	/* a new state is copied into the aggregate context by nodeAgg */
	if (PG_ARGISNULL(0))
		st = outcome_new(CurrentMemoryContext);
	else
		st = (OutcomeState *) aggio_state_to_update(fcinfo, 0);

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);

	cost = money_from_datum(PG_GETARG_DATUM(1), "cost");
	if (cost < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cost must not be negative"),
				 errdetail("cost_per_outcome got a cost of %s.", money_to_cstring(cost))));
	/* a state passed in directly may already count INT64_MAX rows */
	if (st->items == PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("bigint out of range"),
				 errdetail("The state already counts " INT64_FORMAT " items.", st->items)));
	st->items++;
	st->solved += PG_GETARG_BOOL(2);
	st->cost += cost;

	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
	{
		int64		fix = money_from_datum(PG_GETARG_DATUM(3), "human fix cost");

		if (fix < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("human fix cost must not be negative"),
					 errdetail("cost_per_outcome got a human fix cost of %s.",
							   money_to_cstring(fix))));
		if (fix > 0)
		{
			st->fixed++;
			st->fix_cost += fix;
		}
	}
	PG_RETURN_POINTER(st);
}

/*
 * Combine: add the second state into the first, in place inside an
 * aggregate.  Not strict: a NULL first state becomes the second (which
 * nodeAgg copies into the aggregate context).
 */
Datum
outcome_combine(PG_FUNCTION_ARGS)
{
	OutcomeState *a;
	OutcomeState *b;
	Datum		result;

	if (aggio_combine_nulls(fcinfo, &result))
		return result;
	b = (OutcomeState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	a = (OutcomeState *) aggio_state_to_update(fcinfo, 0);

	a->items = aggio_add_count(a->items, b->items);
	a->solved = aggio_add_count(a->solved, b->solved);
	a->fixed = aggio_add_count(a->fixed, b->fixed);
	a->cost = aggio_add_money(a->cost, b->cost);
	a->fix_cost = aggio_add_money(a->fix_cost, b->fix_cost);
	PG_RETURN_POINTER(a);
}

/* money / count as numeric money, or NULL when the count is zero */
static Datum
outcome_per(int128 money, int64 count, bool *isnull)
{
	*isnull = (count == 0);
	if (count == 0)
		return (Datum) 0;
	return NumericGetDatum(money_to_numeric(money_div_round(money, count)));
}

/* The report of an outcome state: counts, money and costs per item. */
Datum
outcome_report(PG_FUNCTION_ARGS)
{
	OutcomeState *st = (OutcomeState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	TupleDesc	tupdesc;
	Datum		v[10];
	bool		n[10] = {0};
	int128		total = aggio_add_money(st->cost, st->fix_cost);

	tupdesc = aggio_result_tupdesc(fcinfo, "outcome_report");

	v[0] = Int64GetDatum(st->items);
	v[1] = Int64GetDatum(st->solved);
	n[2] = st->items == 0;
	v[2] = n[2] ? (Datum) 0 : Float8GetDatum((double) st->solved / (double) st->items);
	v[3] = NumericGetDatum(money_to_numeric(st->cost));
	v[4] = outcome_per(st->cost, st->items, &n[4]);
	v[5] = outcome_per(st->cost, st->solved, &n[5]);
	v[6] = Int64GetDatum(st->fixed);
	v[7] = NumericGetDatum(money_to_numeric(st->fix_cost));
	v[8] = NumericGetDatum(money_to_numeric(total));
	v[9] = outcome_per(total, st->solved, &n[9]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, v, n)));
}

/* AI cost per solved item of an outcome state (NULL when nothing solved). */
Datum
outcome_cost_per_solved(PG_FUNCTION_ARGS)
{
	OutcomeState *st = (OutcomeState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	bool		isnull;
	Datum		d = outcome_per(st->cost, st->solved, &isnull);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(d);
}
