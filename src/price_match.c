/*-------------------------------------------------------------------------
 *
 * price_match.c
 *	  The grammar of the price catalog's match rules, defined once: one
 *	  walker reads a rule, for the cache (price_load.c), which builds the
 *	  PriceMatch tree the matcher runs, and for tokacct.price_check_match(),
 *	  which the catalog tables' checks and the loaders call.  A rule the
 *	  tables accept is a rule the matcher compiles, and the other way round.
 *	  It also holds what rules are made of and run with: the one
 *	  case-folding rule for names (price_lower), the compilation of a
 *	  rule's pattern within its bounds (price_regex_compile, and
 *	  tokacct.price_check_regex()), and the matcher (price_match), which
 *	  runs a PriceMatch tree on a folded name.
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

#include "catalog/pg_collation.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "regex/regexport.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "price.h"

PG_FUNCTION_INFO_V1(price_check_match);
PG_FUNCTION_INFO_V1(price_check_regex);

/*
 * Bounds on a match rule's regular expression, checked when a rule is
 * stored (price_check_match, price_check_regex) and when the cache compiles it.  Without
 * back-references and lookaround constraints, a name is matched by one pass
 * of an automaton, at a cost per character bounded by the automaton's size;
 * the size bound keeps that pass short (genai-prices' largest has 35
 * states).  Back-references and lookarounds can take time exponential, or
 * polynomial of a high degree, in the length of the name.
 */
#define PRICE_REGEX_MAX_CHARS 1000
#define PRICE_REGEX_MAX_STATES 1000

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

/*
 * The one case-folding rule for provider and model names: ASCII A-Z become
 * a-z and every other byte is kept, so non-ASCII letters (É, Ä, the Turkish
 * dotted and dotless i) compare exactly.  It does not depend on the
 * locale, and it is safe in every server encoding (their multibyte
 * characters use bytes >= 0x80 only).  dst holds len + 1 bytes.  The
 * loaders and the catalog's checks use it too, as tokacct.fold_name().
 */
void
price_lower(char *dst, const char *src, int len)
{
	int			i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) src[i];

		dst[i] = (c >= 'A' && c <= 'Z') ? (char) (c + ('a' - 'A')) : (char) c;
	}
	dst[len] = '\0';
}

/* A regular expression engine call was cancelled: cancel the statement. */
static void
price_regex_cancelled(void)
{
	CHECK_FOR_INTERRUPTS();
	/* interrupts held off: still never take a cancelled match for an answer */
	ereport(ERROR,
			(errcode(ERRCODE_QUERY_CANCELED),
			 errmsg("canceling statement while matching a model name"),
			 errdetail("The regular expression of a match rule was interrupted.")));
}

/*
 * Compile a match rule's pattern as the cache matches it (advanced syntax,
 * C collation), into *out (malloc'd: release with pg_regfree and free).
 * Returns NULL, or why the pattern is refused (then *out is not set).
 * price_check_regex() and price_check_match() check a pattern with it.
 */
const char *
price_regex_compile(const char *pattern, int len, regex_t **out)
{
	int			nchars = pg_mbstrlen_with_len(pattern, len);
	pg_wchar   *wpat;
	int			wlen;
	regex_t    *re;
	int			rc;
	int			nstates;

	if (nchars > PRICE_REGEX_MAX_CHARS)
		return psprintf("the pattern has %d characters, more than the %d allowed",
						nchars, PRICE_REGEX_MAX_CHARS);
	re = malloc(sizeof(regex_t));
	if (re == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
						errdetail("Failed while compiling a model pattern of the price catalog.")));
	wpat = palloc((len + 1) * sizeof(pg_wchar));
	wlen = pg_mb2wchar_with_len(pattern, wpat, len);
	rc = pg_regcomp(re, wpat, wlen, REG_ADVANCED | REG_NOSUB, C_COLLATION_OID);
	pfree(wpat);
	if (rc != REG_OKAY)
	{
		char		msg[128];

		free(re);
		if (rc == REG_CANCEL)
			price_regex_cancelled();
		pg_regerror(rc, NULL, msg, sizeof(msg));
		return pstrdup(msg);
	}
	if (re->re_info & (REG_UBACKREF | REG_ULOOKAROUND))
	{
		bool		backref = (re->re_info & REG_UBACKREF) != 0;

		pg_regfree(re);
		free(re);
		return backref ?
			"back-references are not allowed in a match rule (their matching time can grow exponentially with the name's length)" :
			"lookahead and lookbehind constraints are not allowed in a match rule (their matching time grows steeply with the name's length)";
	}
	nstates = pg_reg_getnumstates(re);
	if (nstates > PRICE_REGEX_MAX_STATES)
	{
		pg_regfree(re);
		free(re);
		return psprintf("the pattern compiles to %d states, more than the %d allowed (use smaller bounded repetitions {m,n})",
						nstates, PRICE_REGEX_MAX_STATES);
	}
	*out = re;
	return NULL;
}

/*
 * SQL: true when a pattern is allowed in a match rule, else an error
 * saying why (the catalog tables' CHECK constraints apply the same check
 * through price_check_match, so a load refuses the rule naming its key).
 */
Datum
price_check_regex(PG_FUNCTION_ARGS)
{
	text	   *pat = PG_GETARG_TEXT_PP(0);
	regex_t    *re = NULL;
	const char *why = price_regex_compile(VARDATA_ANY(pat), VARSIZE_ANY_EXHDR(pat), &re);

	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("invalid regular expression: %s", why)));
	pg_regfree(re);
	free(re);
	PG_RETURN_BOOL(true);
}

bool
price_match(const PriceMatch *m, PriceName *n)
{
	int			i;

	switch (m->op)
	{
		case PM_EQUALS:
			return n->len == m->arglen && memcmp(n->s, m->arg, n->len) == 0;
		case PM_STARTS_WITH:
			return n->len >= m->arglen && memcmp(n->s, m->arg, m->arglen) == 0;
		case PM_ENDS_WITH:
			return n->len >= m->arglen &&
				memcmp(n->s + n->len - m->arglen, m->arg, m->arglen) == 0;
		case PM_CONTAINS:
			if (m->arglen > n->len)
				return false;
			for (i = 0; i + m->arglen <= n->len; i++)
				if (memcmp(n->s + i, m->arg, m->arglen) == 0)
					return true;
			return false;
		case PM_REGEX:
			if (n->w == NULL)
			{
				n->w = palloc((n->len + 1) * sizeof(pg_wchar));
				n->wlen = pg_mb2wchar_with_len(n->s, n->w, n->len);
			}
			{
				int			rc = pg_regexec(m->re, n->w, n->wlen, 0, NULL, 0, NULL, 0);
				char		msg[128];

				if (rc == REG_OKAY)
					return true;
				if (rc == REG_NOMATCH)
					return false;
				/* never an answer: a cancel or a failure must not be memoised */
				if (rc == REG_CANCEL)
					price_regex_cancelled();
				pg_regerror(rc, m->re, msg, sizeof(msg));
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
						 errmsg("regular expression failed while matching a model name: %s", msg),
						 errdetail("Pattern: %s", m->arg)));
			}
			break;
		case PM_OR:
			for (i = 0; i < m->nchildren; i++)
				if (price_match(m->children[i], n))
					return true;
			return false;
		case PM_AND:
			for (i = 0; i < m->nchildren; i++)
				if (!price_match(m->children[i], n))
					return false;
			return true;
	}
	return false;
}
