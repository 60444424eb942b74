/*-------------------------------------------------------------------------
 *
 * agg_types.c
 *	  The aggregates over the column types real tables use: bigint attempt
 *	  numbers and call orders (row_number() is bigint), float8 costs and
 *	  values.
 *
 * Each adapter is the transition function of the overloads of one
 * aggregate.  It reads the argument types of the call (the aggregate's
 * input types), converts the arguments in place to the types the
 * aggregate's own transition function takes, and calls that function with
 * the same call frame, so the state, its checks and its errors are the
 * aggregate's own:
 *	- a float8 amount becomes numeric rounded half away from zero to 12
 *	  decimals (the picodollar) from its shortest decimal form (15
 *	  significant digits); NaN and infinities reach the aggregate, which
 *	  refuses them;
 *	- a bigint where the aggregate takes an integer must fit, or is an
 *	  error naming the argument.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

PG_FUNCTION_INFO_V1(aggtypes_retry_accum);
PG_FUNCTION_INFO_V1(aggtypes_outcome_accum);
PG_FUNCTION_INFO_V1(aggtypes_frontier_trans);
PG_FUNCTION_INFO_V1(aggtypes_frontier_trans_weighted);
PG_FUNCTION_INFO_V1(aggtypes_context_add);

/* the transition functions served (agg_retry.c, agg_outcome.c, frontier.c, agg_context.c) */
extern Datum retry_accum(PG_FUNCTION_ARGS);
extern Datum outcome_accum(PG_FUNCTION_ARGS);
extern Datum frontier_trans(PG_FUNCTION_ARGS);
extern Datum frontier_trans_weighted(PG_FUNCTION_ARGS);
extern Datum context_add(PG_FUNCTION_ARGS);

/* which arguments to convert: bit i for argument i */
typedef struct AggTypesPlan
{
	uint32		float8_args;
	uint32		int8_args;
} AggTypesPlan;

/*
 * The plan of this call site: float8 arguments, and bigint arguments among
 * the positions int4_positions where the aggregate takes an integer.
 */
static const AggTypesPlan *
aggtypes_plan(FunctionCallInfo fcinfo, uint32 int4_positions, const char *fn)
{
	AggTypesPlan *plan = (AggTypesPlan *) fcinfo->flinfo->fn_extra;
	int			i;

	if (plan != NULL)
		return plan;
	plan = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(AggTypesPlan));
	for (i = 1; i < fcinfo->nargs && i < 32; i++)
	{
		Oid			t = get_fn_expr_argtype(fcinfo->flinfo, i);

		if (!OidIsValid(t))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s cannot tell the types of its arguments", fn),
					 errhint("Call the aggregate, not its transition function.")));
		if (t == FLOAT8OID)
			plan->float8_args |= (uint32) 1 << i;
		else if (t == INT8OID && (int4_positions & ((uint32) 1 << i)))
			plan->int8_args |= (uint32) 1 << i;
	}
	fcinfo->flinfo->fn_extra = plan;
	return plan;
}

/* A float8 amount as numeric, rounded half away from zero to 12 decimals. */
static Datum
aggtypes_money(Datum d)
{
	Datum		n = DirectFunctionCall1(float8_numeric, d);

	return DirectFunctionCall2(numeric_round, n, Int32GetDatum(12));
}

/* A bigint argument where an integer is taken. */
static Datum
aggtypes_int4(Datum d, const char *what, const char *fn)
{
	int64		v = DatumGetInt64(d);

	if (v < PG_INT32_MIN || v > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s out of range", what),
				 errdetail("%s got " INT64_FORMAT ", beyond the integer range.", fn, v)));
	return Int32GetDatum((int32) v);
}

/* Convert the arguments of this call in place. */
static void
aggtypes_convert(FunctionCallInfo fcinfo, const AggTypesPlan *plan, const char *const *names, const char *fn)
{
	int			i;

	for (i = 1; i < fcinfo->nargs && i < 32; i++)
	{
		if (fcinfo->args[i].isnull)
			continue;
		if (plan->float8_args & ((uint32) 1 << i))
			fcinfo->args[i].value = aggtypes_money(fcinfo->args[i].value);
		else if (plan->int8_args & ((uint32) 1 << i))
			fcinfo->args[i].value = aggtypes_int4(fcinfo->args[i].value, names[i], fn);
	}
}

/* retry_economics(attempt int4|int8, succeeded, cost numeric|float8) */
Datum
aggtypes_retry_accum(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"", "attempt", "succeeded", "cost"};

	aggtypes_convert(fcinfo, aggtypes_plan(fcinfo, 1 << 1, "retry_economics"), names, "retry_economics");
	return retry_accum(fcinfo);
}

/* cost_per_outcome(cost numeric|float8, solved [, human_fix_cost numeric|float8]) */
Datum
aggtypes_outcome_accum(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"", "cost", "solved", "human fix cost"};

	aggtypes_convert(fcinfo, aggtypes_plan(fcinfo, 0, "cost_per_outcome"), names, "cost_per_outcome");
	return outcome_accum(fcinfo);
}

/* utility_frontier(option, cost numeric|float8, value numeric|float8) */
Datum
aggtypes_frontier_trans(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"", "option", "cost", "value"};

	aggtypes_convert(fcinfo, aggtypes_plan(fcinfo, 0, "utility_frontier"), names, "utility_frontier");
	return frontier_trans(fcinfo);
}

/* utility_frontier(option, cost numeric|float8, value numeric|float8, items) */
Datum
aggtypes_frontier_trans_weighted(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"", "option", "cost", "value", "items"};

	aggtypes_convert(fcinfo, aggtypes_plan(fcinfo, 0, "utility_frontier"), names, "utility_frontier");
	return frontier_trans_weighted(fcinfo);
}

/* context_growth(seq int4|int8, input_tokens, output_tokens) */
Datum
aggtypes_context_add(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"", "seq", "input tokens", "output tokens"};

	aggtypes_convert(fcinfo, aggtypes_plan(fcinfo, 1 << 1, "context_growth"), names, "context_growth");
	return context_add(fcinfo);
}
