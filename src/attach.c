/*-------------------------------------------------------------------------
 *
 * attach.c
 *	  Helpers of the views that tokacct.attach_*() create over trace tables
 *	  it does not own: lenient readers of the values real traces carry.
 *
 * The views must answer whatever the rows hold, so nothing here raises an
 * error on a bad value: a token count that is not a whole number, a cost
 * that is not a number, arguments that are not JSON, an attribute list of
 * the wrong shape each give NULL (or the reason a row is left out), and the
 * views list the row in their "problems" view.
 *
 *	- attach_int8(text): a whole number, or NULL;
 *	- attach_numeric(text): a finite decimal number, or NULL;
 *	- attach_usage_problem(...): why a call's token counts cannot be priced;
 *	- attach_input_tokens(...): the input count in tokacct's convention;
 *	- attach_list_cost(...): cost() of counts given as text, NULL when they
 *	  cannot be priced (one call, so a view reads each count once);
 *	- attach_args_hash(jsonb | text): md5 of a tool call's arguments in
 *	  canonical JSON form;
 *	- attach_otlp_attributes(jsonb): OTLP/JSON key/value attributes as an
 *	  object of text values, like the Collector's ClickHouse exporter keeps;
 *	- attach_unix_nanos(jsonb): an OTLP time (unix nanoseconds) as a
 *	  timestamptz;
 *	- attach_status(text, text): a span status in tokacct's words;
 *	- attach_fence(): true, a volatile no-op that keeps a view's per-span
 *	  pricing a subquery of its own (see below).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "common/jsonapi.h"
#include "common/md5.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "catalog/pg_collation.h"

PG_FUNCTION_INFO_V1(attach_int8);
PG_FUNCTION_INFO_V1(attach_numeric);
PG_FUNCTION_INFO_V1(attach_usage_problem);
PG_FUNCTION_INFO_V1(attach_usage_problem_int8);
PG_FUNCTION_INFO_V1(attach_input_tokens);
PG_FUNCTION_INFO_V1(attach_list_cost);
PG_FUNCTION_INFO_V1(attach_args_hash);
PG_FUNCTION_INFO_V1(attach_args_hash_text);
PG_FUNCTION_INFO_V1(attach_otlp_attributes);
PG_FUNCTION_INFO_V1(attach_unix_nanos);
PG_FUNCTION_INFO_V1(attach_fence);
PG_FUNCTION_INFO_V1(attach_status);

/*
 * The largest token count a view accepts for one kind of one call.  Above
 * it the row is left out: a billion tokens is far beyond any model's
 * context, and keeping counts below it means that no price in a catalog
 * (up to about $9,000 per million tokens) can overflow cost() and abort a
 * view.
 */
#define ATTACH_TOKENS_MAX	INT64CONST(1000000000)

/* Parse status of a token count text. */
typedef enum
{
	ATTACH_ABSENT,				/* NULL or empty */
	ATTACH_OK,
	ATTACH_NOT_WHOLE,			/* not a whole number */
	ATTACH_NEGATIVE,
	ATTACH_TOO_LARGE
} AttachCount;

/*
 * Parse a whole number: optional white space, an optional sign, digits,
 * optional white space.  Sets *v on success (negative values included, for
 * the caller to refuse); counts beyond 18 digits are ATTACH_TOO_LARGE.
 */
static AttachCount
attach_parse_count(const char *s, int len, int64 *v)
{
	int			i = 0;
	bool		neg = false;
	int			ndigits = 0;	/* digits seen */
	int			sig = 0;		/* digits from the first non-zero one */
	int64		acc = 0;

	while (i < len && isspace((unsigned char) s[i]))
		i++;
	if (i == len)
		return ATTACH_ABSENT;
	if (s[i] == '+' || s[i] == '-')
	{
		neg = (s[i] == '-');
		i++;
	}
	while (i < len && isdigit((unsigned char) s[i]))
	{
		if (sig > 0 || s[i] != '0')
			sig++;
		if (sig > 0 && sig <= 18)
			acc = acc * 10 + (s[i] - '0');
		ndigits++;
		i++;
	}
	/* "12." and "12.000" are whole too (a JSON number 12.0) */
	if (ndigits > 0 && i < len && s[i] == '.')
	{
		i++;
		while (i < len && s[i] == '0')
			i++;
	}
	while (i < len && isspace((unsigned char) s[i]))
		i++;
	if (ndigits == 0 || i < len)
		return ATTACH_NOT_WHOLE;
	if (neg && sig > 0)
		return ATTACH_NEGATIVE;
	if (sig > 18)
		return ATTACH_TOO_LARGE;
	*v = acc;
	if (acc > ATTACH_TOKENS_MAX)
		return ATTACH_TOO_LARGE;
	return ATTACH_OK;
}

static AttachCount
attach_count_arg(FunctionCallInfo fcinfo, int n, int64 *v)
{
	text	   *t;

	*v = 0;
	if (PG_ARGISNULL(n))
		return ATTACH_ABSENT;
	t = PG_GETARG_TEXT_PP(n);
	return attach_parse_count(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), v);
}

/*
 * attach_int8(text): the whole number the text holds, or NULL when it holds
 * none, or a negative one, or one above a billion (the views list such rows
 * as problems instead).
 */
Datum
attach_int8(PG_FUNCTION_ARGS)
{
	int64		v;

	if (attach_count_arg(fcinfo, 0, &v) != ATTACH_OK)
		PG_RETURN_NULL();
	PG_RETURN_INT64(v);
}

/*
 * attach_numeric(text): the finite decimal number the text holds (digits
 * with an optional sign, point and exponent of at most 3 digits), or NULL.
 * NaN, infinities and anything else give NULL; numeric_in never sees a
 * string it could refuse.
 */
Datum
attach_numeric(PG_FUNCTION_ARGS)
{
	text	   *t;
	const char *s;
	int			len;
	int			i = 0;
	int			mant = 0;
	int			expdigits = 0;
	char	   *buf;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	t = PG_GETARG_TEXT_PP(0);
	s = VARDATA_ANY(t);
	len = VARSIZE_ANY_EXHDR(t);
	if (len > 200)
		PG_RETURN_NULL();

	while (i < len && isspace((unsigned char) s[i]))
		i++;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	while (i < len && isdigit((unsigned char) s[i]))
		i++, mant++;
	if (i < len && s[i] == '.')
	{
		i++;
		while (i < len && isdigit((unsigned char) s[i]))
			i++, mant++;
	}
	if (mant == 0)
		PG_RETURN_NULL();
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < len && isdigit((unsigned char) s[i]))
			i++, expdigits++;
		if (expdigits == 0 || expdigits > 3)
			PG_RETURN_NULL();
	}
	while (i < len && isspace((unsigned char) s[i]))
		i++;
	if (i < len)
		PG_RETURN_NULL();

	buf = text_to_cstring(t);
	PG_RETURN_DATUM(DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
										ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

/* The name of token count argument n, for messages. */
static const char *const attach_count_names[] = {
	"input tokens", "output tokens", "cache read tokens", "cache write tokens", "reasoning tokens"
};

/*
 * Why a call's token counts cannot be priced, or NULL when they can.  The
 * five counts are input, output, cache read, cache write, reasoning; with
 * cache_separate the input count excludes the cache tokens (they are added
 * to it), otherwise it includes them.
 */
static text *
attach_usage_check(AttachCount st[5], int64 v[5], const char *raw[5], bool cache_separate)
{
	int			i;
	int64		input;

	for (i = 0; i < 5; i++)
	{
		switch (st[i])
		{
			case ATTACH_NOT_WHOLE:
				return cstring_to_text(psprintf("%s not a whole number: \"%s\"",
												attach_count_names[i], raw[i]));
			case ATTACH_NEGATIVE:
				return cstring_to_text(psprintf("%s negative: %s",
												attach_count_names[i], raw[i]));
			case ATTACH_TOO_LARGE:
				return cstring_to_text(psprintf("%s above 1000000000: %s",
												attach_count_names[i], raw[i]));
			default:
				break;
		}
	}
	input = v[0] + (cache_separate ? v[2] + v[3] : 0);
	if (!cache_separate && v[2] + v[3] > input)
		return cstring_to_text(psprintf("cache tokens (" INT64_FORMAT " read, " INT64_FORMAT
										" written) above input tokens (" INT64_FORMAT ")",
										v[2], v[3], input));
	if (v[4] > v[1])
		return cstring_to_text(psprintf("reasoning tokens (" INT64_FORMAT ") above output tokens ("
										INT64_FORMAT ")", v[4], v[1]));
	return NULL;
}

/* A raw text argument, cut to 40 bytes, for messages. */
static const char *
attach_raw(FunctionCallInfo fcinfo, int n)
{
	text	   *t;
	int			len;

	if (PG_ARGISNULL(n))
		return "";
	t = PG_GETARG_TEXT_PP(n);
	len = VARSIZE_ANY_EXHDR(t);
	if (len > 40)
		len = pg_mbcliplen(VARDATA_ANY(t), len, 40);
	return pnstrdup(VARDATA_ANY(t), len);
}

/*
 * attach_usage_problem(input, output, cache_read, cache_write, reasoning
 * text, cache_separate bool): the reason the counts cannot be priced, or
 * NULL.  Absent (NULL or empty) counts are 0.
 */
Datum
attach_usage_problem(PG_FUNCTION_ARGS)
{
	AttachCount st[5];
	int64		v[5];
	const char *raw[5];
	bool		sep = !PG_ARGISNULL(5) && PG_GETARG_BOOL(5);
	int			i;
	text	   *r;

	for (i = 0; i < 5; i++)
	{
		st[i] = attach_count_arg(fcinfo, i, &v[i]);
		raw[i] = (st[i] == ATTACH_OK || st[i] == ATTACH_ABSENT) ? NULL : attach_raw(fcinfo, i);
		if (st[i] == ATTACH_ABSENT)
			v[i] = 0;
	}
	r = attach_usage_check(st, v, raw, sep);
	if (r == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(r);
}

/* The same over integer counts (tables that store numbers). */
Datum
attach_usage_problem_int8(PG_FUNCTION_ARGS)
{
	AttachCount st[5];
	int64		v[5];
	const char *raw[5];
	bool		sep = !PG_ARGISNULL(5) && PG_GETARG_BOOL(5);
	int			i;
	text	   *r;

	for (i = 0; i < 5; i++)
	{
		v[i] = PG_ARGISNULL(i) ? 0 : PG_GETARG_INT64(i);
		st[i] = v[i] < 0 ? ATTACH_NEGATIVE : v[i] > ATTACH_TOKENS_MAX ? ATTACH_TOO_LARGE : ATTACH_OK;
		raw[i] = psprintf(INT64_FORMAT, v[i]);
	}
	r = attach_usage_check(st, v, raw, sep);
	if (r == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(r);
}

/*
 * attach_input_tokens(input, cache_read, cache_write text, cache_separate):
 * all input tokens, cache included: the input count, plus the cache counts
 * when the source reports them apart.  NULL when the input count is absent
 * or unusable (a cache count that is unusable counts as 0 here; the row is
 * a problem anyway).
 */
Datum
attach_input_tokens(PG_FUNCTION_ARGS)
{
	int64		in,
				cr,
				cw;
	bool		sep = !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);

	if (attach_count_arg(fcinfo, 0, &in) != ATTACH_OK)
		PG_RETURN_NULL();
	if (!sep)
		PG_RETURN_INT64(in);
	if (attach_count_arg(fcinfo, 1, &cr) != ATTACH_OK)
		cr = 0;
	if (attach_count_arg(fcinfo, 2, &cw) != ATTACH_OK)
		cw = 0;
	/* each is at most a billion: no overflow */
	PG_RETURN_INT64(in + cr + cw);
}

/*
 * attach_list_cost(provider, model, input, output, cache_read, cache_write,
 * reasoning text, at timestamptz, cache_separate bool): the list price of a
 * call whose token counts are text, as tokacct.cost() gives it; NULL when
 * a count is unusable (attach_usage_problem() says why), when the counts
 * contradict each other, when there is neither an input nor an output
 * count, or when "at" is NULL or infinite.  Other absent counts are 0.  cost() of this schema is called through fmgr, so its per-backend
 * catalog cache and its memo of names serve every row.
 */
Datum
attach_list_cost(PG_FUNCTION_ARGS)
{
	FmgrInfo   *cost_fn = (FmgrInfo *) fcinfo->flinfo->fn_extra;
	AttachCount st[5];
	int64		v[5];
	bool		sep = !PG_ARGISNULL(8) && PG_GETARG_BOOL(8);
	TimestampTz at;
	int			i;
	Datum		result;

	LOCAL_FCINFO(cfc, 9);

	for (i = 0; i < 5; i++)
	{
		st[i] = attach_count_arg(fcinfo, i + 2, &v[i]);
		if (st[i] == ATTACH_ABSENT)
			v[i] = 0;
		else if (st[i] != ATTACH_OK)
			PG_RETURN_NULL();
	}
	/* no input and no output count: no usage to price */
	if (st[0] == ATTACH_ABSENT && st[1] == ATTACH_ABSENT)
		PG_RETURN_NULL();
	if (sep)
		v[0] += v[2] + v[3];
	else if (v[2] + v[3] > v[0])
		PG_RETURN_NULL();
	if (v[4] > v[1])
		PG_RETURN_NULL();
	if (PG_ARGISNULL(7))
		PG_RETURN_NULL();
	at = PG_GETARG_TIMESTAMPTZ(7);
	if (TIMESTAMP_NOT_FINITE(at))
		PG_RETURN_NULL();

	if (cost_fn == NULL)
	{
		Oid			nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
		Oid			argtypes[9] = {TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID};
		Oid			fn;

		fn = LookupFuncName(list_make2(makeString(get_namespace_name(nsp)), makeString("cost")),
							9, argtypes, false);
		cost_fn = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FmgrInfo));
		fmgr_info_cxt(fn, cost_fn, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = cost_fn;
	}

	InitFunctionCallInfoData(*cfc, cost_fn, 9, fcinfo->fncollation, NULL, NULL);
	for (i = 0; i < 2; i++)
	{
		cfc->args[i].value = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		cfc->args[i].isnull = PG_ARGISNULL(i);
	}
	for (i = 0; i < 5; i++)
	{
		cfc->args[i + 2].value = Int64GetDatum(v[i]);
		cfc->args[i + 2].isnull = false;
	}
	cfc->args[7].value = TimestampTzGetDatum(at);
	cfc->args[7].isnull = false;
	/* a trace's cache writes are not split by lifetime: none is one-hour */
	cfc->args[8].value = Int64GetDatum(0);
	cfc->args[8].isnull = false;
	result = FunctionCallInvoke(cfc);
	if (cfc->isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/*
 * Is s[0..len) JSON that jsonb_in reads without an error?  The lexer's own
 * check (with escapes decoded, so \u0000 is refused) comes after a scan
 * that bounds what could still raise inside jsonb_in: nesting deeper than
 * 200 (the stack check), number tokens longer than 100 bytes and exponents
 * of more than 3 digits (numeric overflow).
 */
static bool
attach_json_safe(char *s, int len)
{
	int			depth = 0;
	int			run = 0;
	bool		instr = false;
	bool		esc = false;
	int			i;
	JsonLexContext *lex;

	for (i = 0; i < len; i++)
	{
		char		c = s[i];

		if (instr)
		{
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				instr = false;
			continue;
		}
		if (c == '"')
			instr = true;
		else if (c == '{' || c == '[')
		{
			if (++depth > 200)
				return false;
		}
		else if (c == '}' || c == ']')
			depth--;
		if (isdigit((unsigned char) c) || c == 'e' || c == 'E' || c == '+' || c == '-' || c == '.')
		{
			if (++run > 100)
				return false;
		}
		else
			run = 0;
		/* an exponent of more than 3 digits could overflow numeric */
		if (c == 'e' || c == 'E')
		{
			int			j = i + 1;
			int			digits = 0;

			if (j < len && (s[j] == '+' || s[j] == '-'))
				j++;
			while (j < len && isdigit((unsigned char) s[j]))
				j++, digits++;
			if (digits > 3)
				return false;
		}
	}
	lex = makeJsonLexContextCstringLen(s, len, GetDatabaseEncoding(), true);
	return pg_parse_json(lex, &nullSemAction) == JSON_SUCCESS;
}

/* md5 of len bytes, as text. */
static text *
attach_md5(const char *s, size_t len)
{
	char		hex[2 * MD5_DIGEST_LENGTH + 1];
	const char *errstr = NULL;

	if (!pg_md5_hash(s, len, hex, &errstr))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute an MD5 hash: %s", errstr),
				 errhint("This happens only when the server is out of memory.")));
	return cstring_to_text(hex);
}

/* md5 of the canonical form of a JSON text, or of the text itself. */
static text *
attach_hash_text(char *s, int len)
{
	if (attach_json_safe(s, len))
	{
		char	   *cstr = pnstrdup(s, len);
		Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(cstr)));
		char	   *canon = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

		return attach_md5(canon, strlen(canon));
	}
	return attach_md5(s, len);
}

/*
 * attach_args_hash(jsonb): md5 of a tool call's arguments in canonical JSON
 * text (jsonb's: keys sorted, one space after ':' and ','), so the same
 * arguments give the same hash however they were spaced or ordered.  A JSON
 * string holding JSON (OpenTelemetry attributes carry arguments as a JSON
 * string) is read first; a string that is not JSON is hashed as it is.
 */
Datum
attach_args_hash(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	JsonbValue	v;

	if (JB_ROOT_IS_SCALAR(jb) && JsonbExtractScalar(&jb->root, &v) && v.type == jbvString)
		PG_RETURN_TEXT_P(attach_hash_text(v.val.string.val, v.val.string.len));
	else
	{
		char	   *canon = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

		PG_RETURN_TEXT_P(attach_md5(canon, strlen(canon)));
	}
}

/* attach_args_hash(text): the same for arguments stored as text. */
Datum
attach_args_hash_text(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_TEXT_P(attach_hash_text(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
}

/* The text of an OTLP AnyValue object, or false when it has none. */
static bool
attach_anyvalue_text(JsonbContainer *obj, StringInfo out)
{
	static const char *const keys[] = {
		"stringValue", "intValue", "doubleValue", "boolValue", "bytesValue",
		"arrayValue", "kvlistValue"
	};
	int			i;

	if (!JsonContainerIsObject(obj))
		return false;
	for (i = 0; i < lengthof(keys); i++)
	{
		JsonbValue *v = getKeyJsonValueFromContainer(obj, keys[i], strlen(keys[i]), NULL);

		if (v == NULL)
			continue;
		resetStringInfo(out);
		switch (v->type)
		{
			case jbvNull:
				return false;
			case jbvString:
				appendBinaryStringInfo(out, v->val.string.val, v->val.string.len);
				return true;
			case jbvNumeric:
				appendStringInfoString(out, DatumGetCString(DirectFunctionCall1(numeric_out,
																				NumericGetDatum(v->val.numeric))));
				return true;
			case jbvBool:
				appendStringInfoString(out, v->val.boolean ? "true" : "false");
				return true;
			case jbvBinary:
				/* an array or key/value list: its JSON text */
				(void) JsonbToCString(out, v->val.binary.data, v->val.binary.len);
				return true;
			default:
				return false;
		}
	}
	return false;
}

/*
 * attach_otlp_attributes(jsonb): an OTLP/JSON attribute list
 * ([{"key": k, "value": {"stringValue": ...}}, ...]) as an object of text
 * values ({"k": "..."}), the shape the Collector's ClickHouse exporter
 * stores: integers (strings in OTLP/JSON), doubles and booleans as their
 * text, arrays and key/value lists as JSON text.  Elements without a key or
 * a value are skipped; a later duplicate key wins.  Anything but an array
 * gives an empty object.
 */
Datum
attach_otlp_attributes(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	JsonbParseState *st = NULL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	StringInfoData buf;

	initStringInfo(&buf);
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	if (JB_ROOT_IS_ARRAY(jb) && !JB_ROOT_IS_SCALAR(jb))
	{
		it = JsonbIteratorInit(&jb->root);
		tok = JsonbIteratorNext(&it, &v, true);	/* WJB_BEGIN_ARRAY */
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			JsonbValue *key;
			JsonbValue *val;
			JsonbValue	k;
			JsonbValue	s;

			if (tok != WJB_ELEM || v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
				continue;
			key = getKeyJsonValueFromContainer(v.val.binary.data, "key", 3, NULL);
			val = getKeyJsonValueFromContainer(v.val.binary.data, "value", 5, NULL);
			if (key == NULL || key->type != jbvString || val == NULL || val->type != jbvBinary)
				continue;
			if (!attach_anyvalue_text(val->val.binary.data, &buf))
				continue;
			k = *key;
			s.type = jbvString;
			s.val.string.val = pnstrdup(buf.data, buf.len);
			s.val.string.len = buf.len;
			pushJsonbValue(&st, WJB_KEY, &k);
			pushJsonbValue(&st, WJB_VALUE, &s);
		}
	}
	PG_RETURN_JSONB_P(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL)));
}

/*
 * attach_unix_nanos(jsonb): an OTLP time, unix nanoseconds as a JSON string
 * or number, as a timestamptz (truncated to the microsecond); NULL when it
 * is anything else or out of timestamptz's range.
 */
Datum
attach_unix_nanos(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	JsonbValue	v;
	char	   *s;
	int			len;
	int64		nanos = 0;
	int			i;
	TimestampTz ts;

	if (!JB_ROOT_IS_SCALAR(jb) || !JsonbExtractScalar(&jb->root, &v))
		PG_RETURN_NULL();
	if (v.type == jbvString)
	{
		s = v.val.string.val;
		len = v.val.string.len;
	}
	else if (v.type == jbvNumeric)
	{
		s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
		len = strlen(s);
	}
	else
		PG_RETURN_NULL();
	/* at most 19 digits: below 10^19 > INT64_MAX, so check as we go */
	if (len < 1 || len > 19)
		PG_RETURN_NULL();
	for (i = 0; i < len; i++)
	{
		if (!isdigit((unsigned char) s[i]))
			PG_RETURN_NULL();
		if (nanos > (PG_INT64_MAX - (s[i] - '0')) / 10)
			PG_RETURN_NULL();
		nanos = nanos * 10 + (s[i] - '0');
	}
	/* unix epoch to PostgreSQL epoch, in microseconds */
	ts = nanos / 1000 - (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	if (!IS_VALID_TIMESTAMP(ts))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(ts);
}

/*
 * attach_fence(): true.  Declared VOLATILE (and PARALLEL SAFE), it does
 * nothing but be volatile: the views put it in the target list of the
 * layer that prices each span (attach_build).  PostgreSQL does not pull up
 * a subquery whose target list has a volatile function
 * (is_simple_subquery), so the layer stays a subquery whose outputs are
 * computed once per row, instead of being copied, expression and all, into
 * every place the view reads them (a pricing for each reference to a
 * span's cost).  A qual on any other column of the layer is still pushed
 * down into it (only the fence's own column is unsafe to push down,
 * check_output_expressions), so WHERE trace_id = ... still reaches the
 * scan of the user's table, and its unread columns are still dropped
 * (remove_unused_subquery_outputs keeps only the fence).  A C function, not
 * SQL: an SQL function would be inlined to its constant and the fence
 * would vanish.
 */
Datum
attach_fence(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(true);
}

/*
 * attach_status(status, error_type): a span status in tokacct's words (ok,
 * error, rate_limited, timeout, server_error, discarded), or NULL when the
 * spelling is unknown.  The rules are regular expressions (the table
 * below); every span of every view reads its status, and running them as
 * regular expressions was a fifth of a view's time, so ASCII text (all
 * real statuses) is matched by hand, with the same result; text with any
 * other character goes through the regular expressions themselves (their
 * \s and case folding then follow the collation, as they would in SQL).
 */
typedef bool (*AttachMatchFn) (const char *s, int len);

typedef struct AttachRule
{
	const char *regex;			/* the rule as a regular expression */
	bool		icase;			/* ~* rather than ~ */
	AttachMatchFn ascii;		/* the same rule over ASCII text */
} AttachRule;

static bool
attach_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Trim white space (\s) from both ends. */
static void
attach_trim(const char **s, int *len)
{
	while (*len > 0 && attach_isspace(**s))
	{
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && attach_isspace((*s)[*len - 1]))
		(*len)--;
}

/* Is s (len bytes) one of the words, ignoring ASCII case? */
static bool
attach_word(const char *s, int len, const char *const *words)
{
	for (; *words; words++)
		if ((int) strlen(*words) == len && pg_strncasecmp(s, *words, len) == 0)
			return true;
	return false;
}

/* Does s hold word at position i (ignoring case)? */
static bool
attach_at(const char *s, int len, int i, const char *word)
{
	int			n = strlen(word);

	return i >= 0 && i + n <= len && pg_strncasecmp(s + i, word, n) == 0;
}

/* Does s hold a .? b (ignoring case), any one character or none between? */
static bool
attach_has2(const char *s, int len, const char *a, const char *b)
{
	int			na = strlen(a);

	for (int i = 0; i + na <= len; i++)
		if (attach_at(s, len, i, a) &&
			(attach_at(s, len, i + na, b) || attach_at(s, len, i + na + 1, b)))
			return true;
	return false;
}

/* Does s hold a .? b .? c (ignoring case)? */
static bool
attach_has3(const char *s, int len, const char *a, const char *b, const char *c)
{
	int			na = strlen(a);
	int			nb = strlen(b);

	for (int i = 0; i + na <= len; i++)
	{
		if (!attach_at(s, len, i, a))
			continue;
		for (int j = i + na; j <= i + na + 1; j++)
			if (attach_at(s, len, j, b) &&
				(attach_at(s, len, j + nb, c) || attach_at(s, len, j + nb + 1, c)))
				return true;
	}
	return false;
}

/*
 * Does s hold a three-character code (first fixed or '?' for a digit, then
 * two more, each fixed or '?') with no digit on either side: (^|\D)CODE(\D|$)?
 */
static bool
attach_code(const char *s, int len, const char *code)
{
	for (int i = 0; i + 3 <= len; i++)
	{
		bool		ok = true;

		for (int k = 0; k < 3 && ok; k++)
			ok = code[k] == '?' ? isdigit((unsigned char) s[i + k]) : s[i + k] == code[k];
		if (ok && (i == 0 || !isdigit((unsigned char) s[i - 1])) &&
			(i + 3 == len || !isdigit((unsigned char) s[i + 3])))
			return true;
	}
	return false;
}

/* The whole text, trimmed, is a three-digit code (first digit fixed or '?'). */
static bool
attach_only_code(const char *s, int len, char first, const char *alts)
{
	attach_trim(&s, &len);
	if (len != 3 || !isdigit((unsigned char) s[0]) || !isdigit((unsigned char) s[1]) ||
		!isdigit((unsigned char) s[2]))
		return false;
	if (alts)
	{
		for (; *alts; alts += 3)
			if (strncmp(s, alts, 3) == 0)
				return true;
		return false;
	}
	return s[0] == first;
}

static bool
attach_m_ok(const char *s, int len)
{
	static const char *const w[] = {"ok", "1", "status_code_ok", "status_code_1", "debug", "default",
	"warning", "info", "success", NULL};

	attach_trim(&s, &len);
	return attach_word(s, len, w);
}

static bool
attach_m_unset(const char *s, int len)
{
	static const char *const w[] = {"", "unset", "0", "status_code_unset", "status_code_0", NULL};

	attach_trim(&s, &len);
	return attach_word(s, len, w);
}

static bool
attach_m_blank(const char *s, int len)
{
	attach_trim(&s, &len);
	return len == 0;
}

static bool
attach_m_failure(const char *s, int len)
{
	static const char *const w[] = {"", "unset", "0", "error", "2", "status_code_unset", "status_code_0",
	"status_code_error", "status_code_2", "failed", "failure", "fatal", NULL};

	attach_trim(&s, &len);
	return attach_word(s, len, w);
}

static bool
attach_m_e_rate(const char *s, int len)
{
	return attach_code(s, len, "429") || attach_has2(s, len, "rate", "limit") ||
		attach_has3(s, len, "too", "many", "requests") || attach_has2(s, len, "quota", "");
}

static bool
attach_m_e_timeout(const char *s, int len)
{
	return attach_code(s, len, "408") || attach_code(s, len, "504") ||
		attach_has2(s, len, "time", "out") || attach_has2(s, len, "timed", "out") ||
		attach_has2(s, len, "deadline", "");
}

static bool
attach_m_e_server(const char *s, int len)
{
	return attach_code(s, len, "5??") || attach_has2(s, len, "server", "error") ||
		attach_has2(s, len, "overloaded", "") || attach_has2(s, len, "unavailable", "");
}

static bool
attach_m_e_cancel(const char *s, int len)
{
	return attach_has2(s, len, "cancel", "");
}

#define ATTACH_WORDS_FN(name, ...) \
static bool \
name(const char *s, int len) \
{ \
	static const char *const w[] = {__VA_ARGS__, NULL}; \
	attach_trim(&s, &len); \
	return attach_word(s, len, w); \
}
ATTACH_WORDS_FN(attach_m_w_rate, "rate_limited", "rate_limit")
ATTACH_WORDS_FN(attach_m_w_timeout, "timeout", "timed_out")
ATTACH_WORDS_FN(attach_m_w_server, "server_error")
ATTACH_WORDS_FN(attach_m_w_discarded, "discarded", "cancelled", "canceled")

static bool
attach_m_h2(const char *s, int len)
{
	return attach_only_code(s, len, '2', NULL);
}

static bool
attach_m_h429(const char *s, int len)
{
	return attach_only_code(s, len, 0, "429");
}

static bool
attach_m_h_timeout(const char *s, int len)
{
	return attach_only_code(s, len, 0, "408504");
}

static bool
attach_m_h5(const char *s, int len)
{
	return attach_only_code(s, len, '5', NULL);
}

static bool
attach_m_h4(const char *s, int len)
{
	return attach_only_code(s, len, '4', NULL);
}

enum
{
	AR_OK, AR_UNSET, AR_BLANK, AR_FAILURE, AR_E_RATE, AR_E_TIMEOUT, AR_E_SERVER, AR_E_CANCEL,
	AR_W_RATE, AR_W_TIMEOUT, AR_W_SERVER, AR_W_DISCARDED, AR_H2, AR_H429, AR_H_TIMEOUT, AR_H5, AR_H4
};

static const AttachRule attach_rules[] = {
	[AR_OK] = {"^\\s*((status_code_)?(ok|1)|debug|default|warning|info|success)\\s*$", true, attach_m_ok},
	[AR_UNSET] = {"^\\s*((status_code_)?(unset|0))?\\s*$", true, attach_m_unset},
	[AR_BLANK] = {"^\\s*$", false, attach_m_blank},
	[AR_FAILURE] = {"^\\s*((status_code_)?(unset|0|error|2)|failed|failure|fatal)?\\s*$", true, attach_m_failure},
	[AR_E_RATE] = {"(^|\\D)429(\\D|$)|rate.?limit|too.?many.?requests|quota", true, attach_m_e_rate},
	[AR_E_TIMEOUT] = {"(^|\\D)(408|504)(\\D|$)|time.?out|timed.?out|deadline", true, attach_m_e_timeout},
	[AR_E_SERVER] = {"(^|\\D)5\\d\\d(\\D|$)|server.?error|overloaded|unavailable", true, attach_m_e_server},
	[AR_E_CANCEL] = {"cancel", true, attach_m_e_cancel},
	[AR_W_RATE] = {"^\\s*(rate_limited|rate_limit)\\s*$", true, attach_m_w_rate},
	[AR_W_TIMEOUT] = {"^\\s*(timeout|timed_out)\\s*$", true, attach_m_w_timeout},
	[AR_W_SERVER] = {"^\\s*server_error\\s*$", true, attach_m_w_server},
	[AR_W_DISCARDED] = {"^\\s*(discarded|cancelled|canceled)\\s*$", true, attach_m_w_discarded},
	[AR_H2] = {"^\\s*2\\d\\d\\s*$", false, attach_m_h2},
	[AR_H429] = {"^\\s*429\\s*$", false, attach_m_h429},
	[AR_H_TIMEOUT] = {"^\\s*(408|504)\\s*$", false, attach_m_h_timeout},
	[AR_H5] = {"^\\s*5\\d\\d\\s*$", false, attach_m_h5},
	[AR_H4] = {"^\\s*4\\d\\d\\s*$", false, attach_m_h4},
};

/* One text argument, read once. */
typedef struct AttachText
{
	text	   *t;				/* NULL for SQL NULL */
	const char *s;
	int			len;
	bool		ascii;
} AttachText;

static void
attach_text_init(AttachText *a, FunctionCallInfo fcinfo, int arg)
{
	a->t = NULL;
	if (PG_ARGISNULL(arg))
		return;
	a->t = PG_GETARG_TEXT_PP(arg);
	a->s = VARDATA_ANY(a->t);
	a->len = VARSIZE_ANY_EXHDR(a->t);
	a->ascii = true;
	for (int i = 0; i < a->len; i++)
		if ((unsigned char) a->s[i] >= 0x80)
		{
			a->ascii = false;
			break;
		}
}

/* Does the (non-NULL) text match the rule? */
static bool
attach_match(const AttachText *a, int rule, Oid collid)
{
	const AttachRule *r = &attach_rules[rule];

	if (a->ascii)
		return r->ascii(a->s, a->len);
	return DatumGetBool(DirectFunctionCall2Coll(r->icase ? texticregexeq : textregexeq, collid,
												PointerGetDatum(a->t),
												CStringGetTextDatum(r->regex)));
}

Datum
attach_status(PG_FUNCTION_ARGS)
{
	Oid			collid = OidIsValid(PG_GET_COLLATION()) ? PG_GET_COLLATION() : DEFAULT_COLLATION_OID;
	AttachText	st;
	AttachText	et;
	const char *res;

	attach_text_init(&st, fcinfo, 0);
	attach_text_init(&et, fcinfo, 1);

	/* a success; an unset status is one unless an error type says otherwise */
	if ((st.t && attach_match(&st, AR_OK, collid)) ||
		((!st.t || attach_match(&st, AR_UNSET, collid)) &&
		 (!et.t || attach_match(&et, AR_BLANK, collid))))
		res = "ok";
	/* a failure (or an unset status with an error type), refined by the error type */
	else if (!st.t || attach_match(&st, AR_FAILURE, collid))
	{
		if (et.t && attach_match(&et, AR_E_RATE, collid))
			res = "rate_limited";
		else if (et.t && attach_match(&et, AR_E_TIMEOUT, collid))
			res = "timeout";
		else if (et.t && attach_match(&et, AR_E_SERVER, collid))
			res = "server_error";
		else if (et.t && attach_match(&et, AR_E_CANCEL, collid))
			res = "discarded";
		else
			res = "error";
	}
	else if (attach_match(&st, AR_W_RATE, collid))
		res = "rate_limited";
	else if (attach_match(&st, AR_W_TIMEOUT, collid))
		res = "timeout";
	else if (attach_match(&st, AR_W_SERVER, collid))
		res = "server_error";
	else if (attach_match(&st, AR_W_DISCARDED, collid))
		res = "discarded";
	/* HTTP status codes */
	else if (attach_match(&st, AR_H2, collid))
		res = "ok";
	else if (attach_match(&st, AR_H429, collid))
		res = "rate_limited";
	else if (attach_match(&st, AR_H_TIMEOUT, collid))
		res = "timeout";
	else if (attach_match(&st, AR_H5, collid))
		res = "server_error";
	else if (attach_match(&st, AR_H4, collid))
		res = "error";
	else
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(res));
}
