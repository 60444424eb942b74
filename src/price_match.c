/*-------------------------------------------------------------------------
 *
 * price_match.c
 *	  The grammar of the price catalog's match rules, defined once: one
 *	  walker reads a rule, for the cache (price_catalog.c), which builds the
 *	  PriceMatch tree the matcher runs, and for tokacct.price_check_match(),
 *	  which the catalog tables' checks and the loaders call.  A rule the
 *	  tables accept is a rule the matcher compiles, and the other way round.
 *
 * A rule is a JSON object with exactly one key:
 *	{"equals" | "starts_with" | "ends_with" | "contains": string}
 *		the folded name (fold_name) against the folded string;
 *	{"regex": string}
 *		an advanced regular expression, in the C collation, on the folded
 *		name;
 *	{"or" | "and": [rule, ...]}
 *		a non-empty array of rules.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "price.h"

PG_FUNCTION_INFO_V1(price_check_match);

/* The text of a rule or part of one, for an error. */
static char *
price_match_text(JsonbValue *v)
{
	Jsonb	   *j;

	if (v->type == jbvBinary)
		return JsonbToCString(NULL, v->val.binary.data, -1);
	j = JsonbValueToJsonb(v);
	return JsonbToCString(NULL, &j->root, VARSIZE(j));
}

void
price_match_malformed(const char *what, const char *fmt,...)
{
	char		detail[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("malformed match rule in %s", what),
			 errdetail("%s", detail)));
}

/* Is the len-byte key s the operator op? */
static bool
price_match_is(const char *s, int len, const char *op)
{
	return strlen(op) == len && memcmp(s, op, len) == 0;
}

PriceMatch *
price_match_walk(JsonbValue *rule, const char *what, MemoryContext cxt,
				 PriceRegexCompile compile)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	PriceMatch *m;
	const char *key;
	int			keylen;

	if (rule->type != jbvBinary || !JsonContainerIsObject(rule->val.binary.data) ||
		JsonContainerSize(rule->val.binary.data) != 1)
		price_match_malformed(what, "A match rule is an object with exactly one key, got %s.",
							  price_match_text(rule));
	it = JsonbIteratorInit(rule->val.binary.data);
	(void) JsonbIteratorNext(&it, &k, true);	/* the object */
	if (JsonbIteratorNext(&it, &k, true) != WJB_KEY ||
		JsonbIteratorNext(&it, &v, true) != WJB_VALUE)
		elog(ERROR, "match rule object without its key and value");
	key = k.val.string.val;
	keylen = k.val.string.len;
	m = cxt == NULL ? NULL : MemoryContextAllocZero(cxt, sizeof(PriceMatch));

	if (price_match_is(key, keylen, "or") || price_match_is(key, keylen, "and"))
	{
		JsonbIterator *ait;
		JsonbIteratorToken tok;
		JsonbValue	e;
		int			n;
		int			i = 0;

		if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data) ||
			JsonContainerSize(v.val.binary.data) == 0)
			price_match_malformed(what, "\"%.*s\" takes a non-empty array of rules, got %s.",
								  keylen, key, price_match_text(&v));
		n = JsonContainerSize(v.val.binary.data);
		if (m != NULL)
		{
			m->op = key[0] == 'o' ? PM_OR : PM_AND;
			m->nchildren = n;
			m->children = MemoryContextAllocZero(cxt, n * sizeof(PriceMatch *));
		}
		ait = JsonbIteratorInit(v.val.binary.data);
		while ((tok = JsonbIteratorNext(&ait, &e, true)) != WJB_DONE)
		{
			PriceMatch *child;

			if (tok != WJB_ELEM)
				continue;		/* the array's begin and end */
			Assert(i < n);
			child = price_match_walk(&e, psprintf("%s.%.*s[%d]", what, keylen, key, i),
									 cxt, compile);
			if (m != NULL)
				m->children[i] = child;
			i++;
		}
		return m;
	}

	if (!(price_match_is(key, keylen, "equals") || price_match_is(key, keylen, "starts_with") ||
		  price_match_is(key, keylen, "ends_with") || price_match_is(key, keylen, "contains") ||
		  price_match_is(key, keylen, "regex")))
		price_match_malformed(what, "Unknown operator \"%.*s\"; expected equals, starts_with, ends_with, contains, regex, or, and.",
							  keylen, key);
	if (v.type != jbvString)
		price_match_malformed(what, "\"%.*s\" takes a string, got %s.",
							  keylen, key, price_match_text(&v));
	if (price_match_is(key, keylen, "regex"))
	{
		char	   *pattern = pnstrdup(v.val.string.val, v.val.string.len);
		regex_t    *re = compile(pattern, v.val.string.len, what);

		if (m != NULL)
		{
			m->op = PM_REGEX;
			m->arglen = v.val.string.len;
			m->arg = MemoryContextStrdup(cxt, pattern);
			m->re = re;
		}
		return m;
	}
	if (m != NULL)
	{
		m->op = price_match_is(key, keylen, "equals") ? PM_EQUALS :
			price_match_is(key, keylen, "starts_with") ? PM_STARTS_WITH :
			price_match_is(key, keylen, "ends_with") ? PM_ENDS_WITH : PM_CONTAINS;
		m->arglen = v.val.string.len;
		m->arg = MemoryContextAlloc(cxt, m->arglen + 1);
		price_lower(m->arg, v.val.string.val, m->arglen);
	}
	return m;
}

/*
 * Check a rule's pattern: it must compile as the cache compiles it, within
 * the cache's bounds (price_regex_compile: advanced syntax, C collation, no
 * back-references or lookaround, bounded length and automaton size).
 * Nothing is kept.
 */
static regex_t *
price_match_check_regex(const char *pattern, int len, const char *what)
{
	regex_t    *re = NULL;
	const char *why = price_regex_compile(pattern, len, &re);

	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("invalid regular expression in %s", what),
				 errdetail("invalid regular expression: %s", why)));
	pg_regfree(re);
	free(re);
	return NULL;
}

/*
 * tokacct.price_check_match(rule, what): true for a well-formed match rule,
 * otherwise an error naming "what" (and, in a rule inside "or" or "and",
 * the path to it: "what.or[1]").  Not strict: a NULL rule is malformed.
 */
Datum
price_check_match(PG_FUNCTION_ARGS)
{
	const char *what = PG_ARGISNULL(1) ? "a match rule" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	Jsonb	   *rule;
	JsonbValue	v;

	if (PG_ARGISNULL(0))
		price_match_malformed(what, "A match rule is an object with exactly one key, got null.");
	rule = PG_GETARG_JSONB_P(0);
	v.type = jbvBinary;
	v.val.binary.data = &rule->root;
	v.val.binary.len = VARSIZE(rule) - VARHDRSZ;
	(void) price_match_walk(&v, what, NULL, price_match_check_regex);
	PG_RETURN_BOOL(true);
}
