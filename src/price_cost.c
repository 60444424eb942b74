/*-------------------------------------------------------------------------
 *
 * price_cost.c
 *	  cost() and its variants: price one call from the cached catalog.
 *
 * Tokens are split into disjoint classes (uncached text input, cache reads,
 * cache writes, each modality, reasoning, ...).  Each class is charged at
 * its own price kind when the row has it, else at its parent's (a cache
 * read at the input price, reasoning at the output price, cached audio at
 * the cache read price, then the audio price, then the input price), as
 * genai-prices does with its price units (one-hour cache writes at the
 * cache write price, cached images at the image cache read price, then the
 * cache read price...).  A class whose whole chain is
 * missing costs nothing, as in genai-prices; an explicit price of 0 is a
 * price.  A context tier applies to the whole request: the price of a kind
 * is that of its highest tier whose threshold the request's input tokens
 * exceed, else its base price; each kind picks its tier on its own.
 *
 * All amounts are int128 picodollars; the result is built as a numeric
 * directly by money_to_numeric() (no text round trip), so pricing a row
 * costs no allocation beyond the result.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "money.h"
#include "price.h"
#include "tokens.h"

PG_FUNCTION_INFO_V1(price_cost);
PG_FUNCTION_INFO_V1(price_cost_usage);
PG_FUNCTION_INFO_V1(price_cost_breakdown);
PG_FUNCTION_INFO_V1(price_cost_breakdown_usage);
PG_FUNCTION_INFO_V1(price_customer_cost);
PG_FUNCTION_INFO_V1(price_sourced_cost);
PG_FUNCTION_INFO_V1(price_model_for);
PG_FUNCTION_INFO_V1(price_model_in);
PG_FUNCTION_INFO_V1(price_ledger_cost);
PG_FUNCTION_INFO_V1(price_fold_name);

static bool
price_constraint_holds(const PriceRow *r, TimestampTz at)
{
	if (r->has_start && at < r->start_at)
		return false;
	if (r->has_tod)
	{
		int64		tod = at % USECS_PER_DAY;

		if (tod < 0)
			tod += USECS_PER_DAY;
		if (r->tod_start < r->tod_end)
			return tod >= r->tod_start && tod < r->tod_end;
		return tod >= r->tod_start || tod < r->tod_end;
	}
	return true;
}

/*
 * The price row in force at "at": the rows with the latest in_force_from at
 * or before "at", and among them the highest variant whose constraint holds,
 * else the lowest variant.  NULL when no set is in force yet.
 */
static const PriceRow *
price_select_row(const PriceSet *set, TimestampTz at)
{
	int			gs = -1;
	int			ge;
	int			i;

	for (i = 0; i < set->nrows; i++)
	{
		if (set->rows[i].in_force_from > at)
			break;
		if (gs < 0 || set->rows[i].in_force_from != set->rows[gs].in_force_from)
			gs = i;
	}
	if (gs < 0)
		return NULL;
	ge = gs;
	while (ge < set->nrows && set->rows[ge].in_force_from == set->rows[gs].in_force_from)
		ge++;
	for (i = ge - 1; i >= gs; i--)
		if (price_constraint_holds(&set->rows[i], at))
			return &set->rows[i];
	return &set->rows[gs];
}

/* The per-token price of a kind for a request of "input" tokens, if any. */
static inline bool
price_unit(const PriceRow *row, int kind, int64 input, int64 *pico)
{
	int			i;

	for (i = row->ntiers[kind] - 1; i >= 0; i--)
		if (input > row->tiers[kind][i].threshold)
		{
			*pico = row->tiers[kind][i].pico;
			return true;
		}
	if (row->has[kind])
	{
		*pico = row->pico[kind];
		return true;
	}
	return false;
}

/* the detail of the error when the cost of a call overflows */
#define PRICE_OVERFLOW "The cost of this call exceeds what tokacct computes exactly."

/* Checked int128 sum of money amounts. */
static inline int128
price_add(int128 a, int128 b)
{
	return money_add(a, b, PRICE_OVERFLOW);
}

/* Charge "count" tokens at the first price of the chain that the row has. */
static inline int128
price_charge(const PriceRow *row, int64 count, int64 input, const int8 *chain)
{
	int64		pico;

	if (count == 0)
		return 0;
	for (; *chain >= 0; chain++)
		if (price_unit(row, *chain, input, &pico))
			return (int128) count * pico;
	return 0;
}

static const int8 ch_text[] = {PK_INPUT, -1};
static const int8 ch_read[] = {PK_CACHE_READ, PK_INPUT, -1};
static const int8 ch_write[] = {PK_CACHE_WRITE, PK_INPUT, -1};
static const int8 ch_write_1h[] = {PK_CACHE_WRITE_1H, PK_CACHE_WRITE, PK_INPUT, -1};
static const int8 ch_audio[] = {PK_INPUT_AUDIO, PK_INPUT, -1};
static const int8 ch_audio_read[] = {PK_CACHE_AUDIO_READ, PK_CACHE_READ, PK_INPUT_AUDIO, PK_INPUT, -1};
static const int8 ch_image[] = {PK_INPUT_IMAGE, PK_INPUT, -1};
static const int8 ch_image_read[] = {PK_CACHE_IMAGE_READ, PK_CACHE_READ, PK_INPUT_IMAGE, PK_INPUT, -1};
static const int8 ch_video[] = {PK_INPUT_VIDEO, PK_INPUT, -1};
static const int8 ch_video_read[] = {PK_CACHE_READ, PK_INPUT_VIDEO, PK_INPUT, -1};
static const int8 ch_out[] = {PK_OUTPUT, -1};
static const int8 ch_reasoning[] = {PK_REASONING, PK_OUTPUT, -1};
static const int8 ch_out_audio[] = {PK_OUTPUT_AUDIO, PK_OUTPUT, -1};
static const int8 ch_out_image[] = {PK_OUTPUT_IMAGE, PK_OUTPUT, -1};
static const int8 ch_out_video[] = {PK_OUTPUT_VIDEO, PK_OUTPUT, -1};
static const int8 ch_out_citation[] = {PK_OUTPUT_CITATION, PK_OUTPUT, -1};

static void
price_bad_split(const char *msg, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", msg),
			 errdetail("%s", detail),
			 errhint("input_tokens counts all input, cache reads and writes included; output_tokens counts all output, reasoning included.")));
}

/*
 * Price a usage with a row.  The usage's counts must be non-negative; an
 * inconsistent split (cache tokens above input tokens...) raises an error.
 */
static void
price_compute(const PriceRow *row, const PriceUsage *u, PriceResult *res)
{
	int128		text_read = (int128) u->cache_read - u->cache_audio_read - u->cache_image_read - u->cache_video_read;
	int128		audio = (int128) u->input_audio - u->cache_audio_read;
	int128		image = (int128) u->input_image - u->cache_image_read;
	int128		video = (int128) u->input_video - u->cache_video_read;
	int128		text = (int128) u->input - u->cache_read - u->cache_write - audio - image - video;
	int128		out_text = (int128) u->output - u->reasoning - u->output_audio - u->output_image - u->output_video - u->output_citation;
	int64		in = u->input;

	if ((int128) u->cache_read + u->cache_write > u->input)
		price_bad_split("cache tokens exceed input tokens",
						psprintf("cache_read_tokens (" INT64_FORMAT ") + cache_write_tokens (" INT64_FORMAT ") > input_tokens (" INT64_FORMAT ").",
								 u->cache_read, u->cache_write, u->input));
	if (u->cache_write_1h > u->cache_write)
		price_bad_split("one-hour cache writes exceed cache_write_tokens",
						psprintf("cache_write_1h_tokens (" INT64_FORMAT ") > cache_write_tokens (" INT64_FORMAT "); cache_write_tokens counts every cache write, one-hour ones included.",
								 u->cache_write_1h, u->cache_write));
	if (text_read < 0)
		price_bad_split("cache reads by modality exceed cache_read_tokens",
						"cache_audio_read_tokens + cache_image_read_tokens + cache_video_read_tokens must not exceed cache_read_tokens.");
	if (audio < 0 || image < 0 || video < 0)
		price_bad_split("cached tokens of a modality exceed its input tokens",
						"cache_audio_read_tokens, cache_image_read_tokens and cache_video_read_tokens must not exceed input_audio_tokens, input_image_tokens and input_video_tokens.");
	if (text < 0)
		price_bad_split("input tokens by kind exceed input_tokens",
						"Cache reads, cache writes and uncached audio, image and video input must add up to at most input_tokens.");
	if (out_text < 0)
		price_bad_split(u->reasoning > u->output ? "reasoning tokens exceed output tokens" :
						"output tokens by kind exceed output_tokens",
						psprintf("reasoning, audio, image, video and citation output (" INT64_FORMAT " + " INT64_FORMAT " + " INT64_FORMAT " + " INT64_FORMAT " + " INT64_FORMAT ") must add up to at most output_tokens (" INT64_FORMAT ").",
								 u->reasoning, u->output_audio, u->output_image, u->output_video, u->output_citation, u->output));

	res->input = 0;
	res->input = price_add(res->input, price_charge(row, (int64) text, in, ch_text));
	res->input = price_add(res->input, price_charge(row, (int64) text_read, in, ch_read));
	res->input = price_add(res->input, price_charge(row, u->cache_write - u->cache_write_1h, in, ch_write));
	res->input = price_add(res->input, price_charge(row, u->cache_write_1h, in, ch_write_1h));
	res->input = price_add(res->input, price_charge(row, (int64) audio, in, ch_audio));
	res->input = price_add(res->input, price_charge(row, u->cache_audio_read, in, ch_audio_read));
	res->input = price_add(res->input, price_charge(row, (int64) image, in, ch_image));
	res->input = price_add(res->input, price_charge(row, u->cache_image_read, in, ch_image_read));
	res->input = price_add(res->input, price_charge(row, (int64) video, in, ch_video));
	res->input = price_add(res->input, price_charge(row, u->cache_video_read, in, ch_video_read));
	res->output = 0;
	res->output = price_add(res->output, price_charge(row, (int64) out_text, in, ch_out));
	res->output = price_add(res->output, price_charge(row, u->reasoning, in, ch_reasoning));
	res->output = price_add(res->output, price_charge(row, u->output_audio, in, ch_out_audio));
	res->output = price_add(res->output, price_charge(row, u->output_image, in, ch_out_image));
	res->output = price_add(res->output, price_charge(row, u->output_video, in, ch_out_video));
	res->output = price_add(res->output, price_charge(row, u->output_citation, in, ch_out_citation));
	res->fee = row->has_fee ? (int128) row->fee * u->requests : 0;
	if (row->has_search_fee && u->web_searches > 0)
		res->fee = price_add(res->fee, (int128) row->search_fee * u->web_searches);
	/* every part is below 2^126 (int64 * int64); their total is checked */
	(void) price_add(price_add(res->input, res->output), res->fee);
	res->row = row;
}

static TimestampTz
price_check_at(TimestampTz at)
{
	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the time of a call must be finite"),
				 errdetail("Prices are chosen by the time of the call; infinity has none.")));
	return at;
}

/*
 * Read the arguments (provider, model, input, output, cache_read,
 * cache_write, reasoning, at[, cache_write_1h]) starting at argument "off";
 * cache_write_1h is read when the function has it (cost() has).  Returns
 * false when the call cannot be priced because an argument is NULL.
 */
static bool
price_args_tokens(FunctionCallInfo fcinfo, int off, PriceUsage *u, TimestampTz *at)
{
	memset(u, 0, sizeof(*u));
	if (PG_ARGISNULL(off + 1) || PG_ARGISNULL(off + 2) || PG_ARGISNULL(off + 3) || PG_ARGISNULL(off + 7))
		return false;
	u->input = PG_GETARG_INT64(off + 2);
	u->output = PG_GETARG_INT64(off + 3);
	u->cache_read = PG_ARGISNULL(off + 4) ? 0 : PG_GETARG_INT64(off + 4);
	u->cache_write = PG_ARGISNULL(off + 5) ? 0 : PG_GETARG_INT64(off + 5);
	u->reasoning = PG_ARGISNULL(off + 6) ? 0 : PG_GETARG_INT64(off + 6);
	if (PG_NARGS() > off + 8 && !PG_ARGISNULL(off + 8))
		u->cache_write_1h = PG_GETARG_INT64(off + 8);
	u->requests = 1;
	tokens_check_count(u->input, "input_tokens");
	tokens_check_count(u->output, "output_tokens");
	tokens_check_count(u->cache_read, "cache_read_tokens");
	tokens_check_count(u->cache_write, "cache_write_tokens");
	tokens_check_count(u->reasoning, "reasoning_tokens");
	tokens_check_count(u->cache_write_1h, "cache_write_1h_tokens");
	*at = price_check_at(PG_GETARG_TIMESTAMPTZ(off + 7));
	return true;
}

typedef struct PriceUsageKey
{
	const char *name;
	int			offset;			/* in PriceUsage, or -1: accepted, not priced apart */
} PriceUsageKey;

static const PriceUsageKey price_usage_keys[] = {
	{"input_tokens", offsetof(PriceUsage, input)},
	{"cache_read_tokens", offsetof(PriceUsage, cache_read)},
	{"cache_write_tokens", offsetof(PriceUsage, cache_write)},
	{"cache_write_1h_tokens", offsetof(PriceUsage, cache_write_1h)},
	{"output_tokens", offsetof(PriceUsage, output)},
	{"output_reasoning_tokens", offsetof(PriceUsage, reasoning)},
	{"reasoning_tokens", offsetof(PriceUsage, reasoning)},
	{"input_audio_tokens", offsetof(PriceUsage, input_audio)},
	{"cache_audio_read_tokens", offsetof(PriceUsage, cache_audio_read)},
	{"output_audio_tokens", offsetof(PriceUsage, output_audio)},
	{"input_image_tokens", offsetof(PriceUsage, input_image)},
	{"cache_image_read_tokens", offsetof(PriceUsage, cache_image_read)},
	{"output_image_tokens", offsetof(PriceUsage, output_image)},
	{"input_video_tokens", offsetof(PriceUsage, input_video)},
	{"cache_video_read_tokens", offsetof(PriceUsage, cache_video_read)},
	{"output_video_tokens", offsetof(PriceUsage, output_video)},
	{"output_citation_tokens", offsetof(PriceUsage, output_citation)},
	{"requests", offsetof(PriceUsage, requests)},
	{"web_searches", offsetof(PriceUsage, web_searches)},
	/* parts of the counts above that have no price of their own */
	{"input_text_tokens", -1},
	{"output_text_tokens", -1},
	{"cache_text_read_tokens", -1},
	{"cache_write_5m_tokens", -1},
	{"input_tool_tokens", -1},
	{"input_text_tool_tokens", -1},
};

/* Parse a genai-prices usage object. */
static void
price_parse_usage(Jsonb *usage, PriceUsage *u)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		has_requests = false;

	memset(u, 0, sizeof(*u));
	if (!JB_ROOT_IS_OBJECT(usage) || JB_ROOT_IS_SCALAR(usage))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("usage must be a JSON object of token counts"),
				 errdetail("For example {\"input_tokens\": 1000, \"output_tokens\": 200}.")));
	it = JsonbIteratorInit(&usage->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *name;
		int			i;
		int64		n;

		if (tok != WJB_KEY)
			continue;
		name = pnstrdup(k.val.string.val, k.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		for (i = 0; i < lengthof(price_usage_keys); i++)
			if (strcmp(price_usage_keys[i].name, name) == 0)
				break;
		if (i == lengthof(price_usage_keys))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown usage key \"%s\"", name),
					 errhint("Known keys: input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, output_reasoning_tokens, input_audio_tokens, cache_audio_read_tokens, output_audio_tokens, input_image_tokens, cache_image_read_tokens, output_image_tokens, input_video_tokens, cache_video_read_tokens, output_video_tokens, output_citation_tokens, requests, web_searches.")));
		if (v.type == jbvNull)
			continue;
		if (v.type != jbvNumeric)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("usage key \"%s\" must be a whole number of tokens", name),
					 errhint("Give token counts as JSON numbers without a fraction, such as {\"input_tokens\": 1200}.")));
		{
			char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
			char	   *end;

			errno = 0;
			n = strtoi64(s, &end, 10);
			if (errno != 0 || *end != '\0' || end == s)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("usage key \"%s\" must be a whole number of tokens", name),
						 errdetail("Got %s.", s)));
		}
		tokens_check_count(n, name);
		if (price_usage_keys[i].offset >= 0)
		{
			int64	   *f = (int64 *) ((char *) u + price_usage_keys[i].offset);

			/* two keys may name one count (reasoning_tokens) */
			if (pg_add_s64_overflow(*f, n, f))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("usage key \"%s\" is out of range", name),
						 errdetail("A token count, or the sum of two keys naming one count, must fit in a bigint.")));
			if (price_usage_keys[i].offset == offsetof(PriceUsage, requests))
				has_requests = true;
		}
		pfree(name);
	}
	if (!has_requests)
		u->requests = 1;
}

static inline bool
price_is_usd(const PriceRow *row)
{
	return strcmp(row->currency, "USD") == 0;
}

static void
price_require_usd(const PriceRow *row)
{
	if (!price_is_usd(row))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("price row %lld is in %s, not USD", (long long) row->price_id, row->currency),
				 errdetail("cost() returns USD so that sums of costs never mix currencies."),
				 errhint("Use cost_breakdown(), which returns each amount with its currency, and sum per currency.")));
}

/* Resolve and price; false when unpriced. */
static bool
price_call(FunctionCallInfo fcinfo, Datum provider, bool provnull, Datum model,
		   const PriceUsage *u, TimestampTz at, const char *customer, PriceResult *res,
		   bool *contract)
{
	text	   *mt = DatumGetTextPP(model);
	text	   *pt = provnull ? NULL : DatumGetTextPP(provider);
	const PriceModel *m;
	const PriceRow *row = NULL;
	int			i;

	m = price_resolve(fcinfo->flinfo->fn_oid,
					  pt ? VARDATA_ANY(pt) : NULL, pt ? VARSIZE_ANY_EXHDR(pt) : 0,
					  VARDATA_ANY(mt), VARSIZE_ANY_EXHDR(mt), at);
	if (contract)
		*contract = false;
	if (m == NULL)
		return false;
	if (customer)
	{
		for (i = 0; i < m->nsets; i++)
			if (m->sets[i].customer && strcmp(m->sets[i].customer, customer) == 0)
			{
				row = price_select_row(&m->sets[i], at);
				if (row)
					*contract = true;
				break;
			}
	}
	if (row == NULL && m->nsets > 0 && m->sets[0].customer == NULL)
		row = price_select_row(&m->sets[0], at);
	if (row == NULL)
		return false;
	price_compute(row, u, res);
	res->model = m;
	return true;
}

/*
 * The list price of one call, from the arguments of cost() and
 * cost_breakdown(): (provider, model, token counts..., at), or with a
 * usage object, (provider, model, usage, at).  False when it cannot be
 * priced: an argument it needs is NULL, or no price applies.
 */
static bool
price_list(FunctionCallInfo fcinfo, bool usage, PriceResult *res)
{
	PriceUsage	u;
	TimestampTz at;

	if (usage)
	{
		if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
			return false;
		price_parse_usage(PG_GETARG_JSONB_P(2), &u);
		at = price_check_at(PG_GETARG_TIMESTAMPTZ(3));
	}
	else if (!price_args_tokens(fcinfo, 0, &u, &at))
		return false;
	return price_call(fcinfo, PG_GETARG_DATUM(0), PG_ARGISNULL(0), PG_GETARG_DATUM(1), &u, at,
					  NULL, res, NULL);
}

/* List price of one call from token counts. */
Datum
price_cost(PG_FUNCTION_ARGS)
{
	PriceResult res;

	if (!price_list(fcinfo, false, &res))
		PG_RETURN_NULL();
	price_require_usd(res.row);
	PG_RETURN_NUMERIC(money_to_numeric(res.input + res.output + res.fee));
}

/* List price of one call from a genai-prices usage object. */
Datum
price_cost_usage(PG_FUNCTION_ARGS)
{
	PriceResult res;

	if (!price_list(fcinfo, true, &res))
		PG_RETURN_NULL();
	price_require_usd(res.row);
	PG_RETURN_NUMERIC(money_to_numeric(res.input + res.output + res.fee));
}

static Datum
price_breakdown_tuple(FunctionCallInfo fcinfo, const PriceResult *res)
{
	TupleDesc	td;
	Datum		values[9];
	bool		nulls[9] = {false};

	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "cost_breakdown must return a composite type");
	td = BlessTupleDesc(td);
	values[0] = NumericGetDatum(money_to_numeric(res->input));
	values[1] = NumericGetDatum(money_to_numeric(res->output));
	values[2] = NumericGetDatum(money_to_numeric(res->fee));
	values[3] = NumericGetDatum(money_to_numeric(res->input + res->output + res->fee));
	values[4] = CStringGetTextDatum(res->row->currency);
	values[5] = CStringGetTextDatum(res->model->provider->catalog);
	values[6] = CStringGetTextDatum(res->model->provider->provider);
	values[7] = CStringGetTextDatum(res->model->model);
	values[8] = Int64GetDatum(res->row->price_id);
	return HeapTupleGetDatum(heap_form_tuple(td, values, nulls));
}

/* cost() split into input, output and request parts, with the price row used. */
Datum
price_cost_breakdown(PG_FUNCTION_ARGS)
{
	PriceResult res;

	if (!price_list(fcinfo, false, &res))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(price_breakdown_tuple(fcinfo, &res));
}

/* Cost breakdown of a call from a genai-prices usage object. */
Datum
price_cost_breakdown_usage(PG_FUNCTION_ARGS)
{
	PriceResult res;

	if (!price_list(fcinfo, true, &res))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(price_breakdown_tuple(fcinfo, &res));
}

/*
 * Why a priced row's cost cannot be given in USD, or NULL.  The message
 * names the price row.
 */
static const char *
price_currency_problem(const PriceRow *row)
{
	if (price_is_usd(row))
		return NULL;
	return psprintf("price row %lld is in %s, not USD", (long long) row->price_id, row->currency);
}

#define PRICE_OVERFLOW_PROBLEM "the cost exceeds what tokacct computes exactly"

/*
 * The contract cost of a call for a customer (arguments start at 1); sets
 * *source to "contract" or "catalog".  False when unpriced.  With problem
 * NULL, a cost that cannot be given (a price in another currency, an
 * overflow) raises an error; otherwise it returns false with the reason in
 * *problem (the caller has checked the arguments).
 */
static bool
price_customer(FunctionCallInfo fcinfo, int off, int128 *total, const char **source,
			   const char **problem)
{
	PriceUsage	u;
	TimestampTz at;
	PriceResult res;
	char	   *customer = NULL;
	bool		contract = false;
	const PriceDiscount *d = NULL;

	if (!price_args_tokens(fcinfo, off, &u, &at))
		return false;
	if (!PG_ARGISNULL(off - 1))
		customer = TextDatumGetCString(PG_GETARG_DATUM(off - 1));
	if (!price_call(fcinfo, PG_GETARG_DATUM(off), PG_ARGISNULL(off), PG_GETARG_DATUM(off + 1), &u, at,
					customer, &res, &contract))
		return false;
	if (problem && (*problem = price_currency_problem(res.row)) != NULL)
		return false;
	price_require_usd(res.row);
	*total = res.input + res.output + res.fee;
	if (customer)
		d = price_find_discount(customer, res.model, at);
	/* the multiplier is in millionths; the product is rounded to the picodollar */
	if (d && !money_muldiv_round_ok(*total, d->micro, 1000000, total))
	{
		if (problem)
		{
			*problem = PRICE_OVERFLOW_PROBLEM;
			return false;
		}
		money_overflow(PRICE_OVERFLOW);
	}
	*source = (contract || d) ? "contract" : "catalog";
	return true;
}

/* Cost of a call for a customer: its own prices or discount, else the list price. */
Datum
price_customer_cost(PG_FUNCTION_ARGS)
{
	int128		total;
	const char *source;

	if (!price_customer(fcinfo, 1, &total, &source, NULL))
		PG_RETURN_NULL();
	PG_RETURN_NUMERIC(money_to_numeric(total));
}

/* What is wrong with a reported cost (price_reported_cost()). */
typedef enum PriceReported
{
	PR_OK = 0,
	PR_NOT_FINITE,
	PR_NEGATIVE,
	PR_TOO_LARGE
} PriceReported;

static const char *const price_reported_problems[] = {
	NULL,
	"reported_cost is not a finite number",
	"reported_cost is negative",
	"reported_cost exceeds 9223372.036854775807, the largest amount tokacct keeps exactly"
};

/*
 * A reported cost as money: finite, non-negative and at most the largest
 * amount kept exactly in one value; more than 12 decimals (a cost computed
 * in floating point, or kept at 30 decimals) are rounded half away from
 * zero to the picodollar, never refused, and the sign and range are judged
 * after rounding.  Sets *cost (as tokacct prints money: no trailing zeros)
 * and returns PR_OK, or returns what is wrong.
 */
static PriceReported
price_reported_cost(Datum rep, Datum *cost)
{
	Numeric		n = DatumGetNumeric(rep);
	Datum		rounded;

	if (numeric_is_nan(n) || numeric_is_inf(n))
		return PR_NOT_FINITE;
	/* judged after rounding, as every amount of money on the way in */
	rounded = NumericGetDatum(money_round_numeric(n));
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, rounded,
										  NumericGetDatum(int64_to_numeric(0)))) < 0)
		return PR_NEGATIVE;
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, rounded,
										  NumericGetDatum(int64_div_fast_to_numeric(PG_INT64_MAX, MONEY_SCALE)))) > 0)
		return PR_TOO_LARGE;
	*cost = NumericGetDatum(money_to_numeric(money_from_datum(rounded, "reported cost")));
	return PR_OK;
}

/* The cost of a call and its source: reported, contract or catalog. */
Datum
price_sourced_cost(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int128		total;
	const char *source;

	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "sourced_cost must return a composite type");
	td = BlessTupleDesc(td);
	if (!PG_ARGISNULL(0))
	{
		PriceReported pr = price_reported_cost(PG_GETARG_DATUM(0), &values[0]);

		if (pr != PR_OK)
			ereport(ERROR,
					(errcode(pr == PR_TOO_LARGE ?
							 ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE : ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s", price_reported_problems[pr]),
					 errhint("A reported cost is money spent: a finite amount, zero or more.  Pass NULL to price the call from the catalog.")));
		values[1] = CStringGetTextDatum("reported");
	}
	else if (price_customer(fcinfo, 2, &total, &source, NULL))
	{
		values[0] = NumericGetDatum(money_to_numeric(total));
		values[1] = CStringGetTextDatum(source);
	}
	else
	{
		nulls[0] = true;
		nulls[1] = true;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(td, values, nulls)));
}

/*
 * The catalog entry (catalog/provider/model) a call resolves to, or NULL:
 * with the model aliases in force at "at" (third argument), or at the
 * transaction's start.
 */
Datum
price_model_for(PG_FUNCTION_ARGS)
{
	text	   *mt;
	text	   *pt;
	const PriceModel *m;
	TimestampTz at = GetCurrentTransactionStartTimestamp();

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (PG_NARGS() > 2)
	{
		if (PG_ARGISNULL(2))
			PG_RETURN_NULL();
		at = price_check_at(PG_GETARG_TIMESTAMPTZ(2));
	}
	mt = PG_GETARG_TEXT_PP(1);
	pt = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	m = price_resolve(fcinfo->flinfo->fn_oid,
					  pt ? VARDATA_ANY(pt) : NULL, pt ? VARSIZE_ANY_EXHDR(pt) : 0,
					  VARDATA_ANY(mt), VARSIZE_ANY_EXHDR(mt), at);
	if (m == NULL || m->nsets == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s/%s/%s", m->provider->catalog,
											  m->provider->provider, m->model)));
}

/* The model (provider/model) a provider and model name resolve to within one catalog, or NULL. */
Datum
price_model_in(PG_FUNCTION_ARGS)
{
	text	   *mt;
	text	   *pt;
	const PriceModel *m;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	mt = PG_GETARG_TEXT_PP(2);
	pt = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	m = price_resolve_in(fcinfo->flinfo->fn_oid, text_to_cstring(PG_GETARG_TEXT_PP(0)),
						 pt ? VARDATA_ANY(pt) : NULL, pt ? VARSIZE_ANY_EXHDR(pt) : 0,
						 VARDATA_ANY(mt), VARSIZE_ANY_EXHDR(mt));
	if (m == NULL || m->nsets == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s/%s", m->provider->provider, m->model)));
}

/*
 * Why a ledger row's token counts or time cannot be priced, or NULL: the
 * checks cost() makes of its arguments, as a text instead of an error.
 */
static const char *
price_ledger_problem(const PriceUsage *u, TimestampTz at)
{
	if (TIMESTAMP_NOT_FINITE(at))
		return "at is not finite: no price is in force at infinity";
	if (u->input < 0)
		return "input_tokens is negative";
	if (u->output < 0)
		return "output_tokens is negative";
	if (u->cache_read < 0)
		return "cache_read_tokens is negative";
	if (u->cache_write < 0)
		return "cache_write_tokens is negative";
	if (u->reasoning < 0)
		return "reasoning_tokens is negative";
	if ((int128) u->cache_read + u->cache_write > u->input)
		return "cache_read_tokens + cache_write_tokens exceed input_tokens";
	if (u->reasoning > u->output)
		return "reasoning_tokens exceed output_tokens";
	return NULL;
}

/*
 * The costs of one ledger row, from the arguments of sourced_cost(), with
 * no error for what the row holds: cost and cost_source as sourced_cost()
 * gives them, list_cost as cost() does, and problem, why a cost is NULL
 * although the row could be priced (a reported cost that is not money, a
 * time at infinity, inconsistent token counts, a price in another
 * currency, a cost too large to compute).  A broken row then shows in the
 * view with its reason instead of stopping the view for every reader.
 * When several things are wrong, problem names the first found.
 */
Datum
price_ledger_cost(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Datum		values[4];
	bool		nulls[4] = {true, true, true, true};
	const char *problem = NULL;
	bool		reported = !PG_ARGISNULL(0);

	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "ledger_cost must return a composite type");
	td = BlessTupleDesc(td);

	if (reported)
	{
		PriceReported pr = price_reported_cost(PG_GETARG_DATUM(0), &values[0]);

		if (pr == PR_OK)
		{
			nulls[0] = false;
			values[1] = CStringGetTextDatum("reported");
			nulls[1] = false;
		}
		else
			problem = price_reported_problems[pr];
	}

	/* unpriced, as by sourced_cost(), when model, input, output or at is NULL */
	if (!PG_ARGISNULL(3) && !PG_ARGISNULL(4) && !PG_ARGISNULL(5) && !PG_ARGISNULL(9))
	{
		PriceUsage	u;
		TimestampTz at = PG_GETARG_TIMESTAMPTZ(9);
		const char *p;

		memset(&u, 0, sizeof(u));
		u.input = PG_GETARG_INT64(4);
		u.output = PG_GETARG_INT64(5);
		u.cache_read = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT64(6);
		u.cache_write = PG_ARGISNULL(7) ? 0 : PG_GETARG_INT64(7);
		u.reasoning = PG_ARGISNULL(8) ? 0 : PG_GETARG_INT64(8);
		u.requests = 1;
		p = price_ledger_problem(&u, at);
		if (p == NULL)
		{
			PriceResult res;
			int128		total;
			const char *source;
			const char *cp = NULL;

			/*
			 * The list price.  It cannot overflow: the tokens charged add up
			 * to input + output, each below 2^63, at prices below 2^63
			 * picodollars, plus one request fee.
			 */
			if (price_call(fcinfo, PG_GETARG_DATUM(2), PG_ARGISNULL(2), PG_GETARG_DATUM(3), &u, at,
						   NULL, &res, NULL))
			{
				p = price_currency_problem(res.row);
				if (p == NULL)
				{
					values[2] = NumericGetDatum(money_to_numeric(res.input + res.output + res.fee));
					nulls[2] = false;
				}
			}
			/* the cost, when no cost is reported: contract or list price */
			if (!reported)
			{
				if (price_customer(fcinfo, 2, &total, &source, &cp))
				{
					values[0] = NumericGetDatum(money_to_numeric(total));
					nulls[0] = false;
					values[1] = CStringGetTextDatum(source);
					nulls[1] = false;
				}
				else if (p == NULL)
					p = cp;
			}
		}
		if (problem == NULL)
			problem = p;
	}
	if (problem)
	{
		values[3] = CStringGetTextDatum(problem);
		nulls[3] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(td, values, nulls)));
}

/* tokacct.fold_name(): a name folded by the matcher's rule (price_lower()). */
Datum
price_fold_name(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	int			len = VARSIZE_ANY_EXHDR(t);
	text	   *r = palloc(VARHDRSZ + len + 1);

	price_lower(VARDATA(r), VARDATA_ANY(t), len);
	SET_VARSIZE(r, VARHDRSZ + len);
	PG_RETURN_TEXT_P(r);
}
