/*-------------------------------------------------------------------------
 *
 * price_catalog.c
 *	  The per-backend cache of the price catalog, the match rules, and the
 *	  resolution of a call's (provider, model) to a catalog model.
 *
 * The first cost() call of a backend reads the catalog tables with SPI into
 * memory under CacheMemoryContext; every later call prices from memory.  A
 * statement trigger on each catalog table (price_catalog_changed) sends a
 * relcache invalidation for that table; it reaches this backend at once and
 * every other backend when the change commits, and a relcache callback
 * registered on first use marks the cache stale, so the next cost() call
 * rebuilds it.
 *
 * Resolution follows genai-prices:
 *	- the provider name is folded (price_lower(): ASCII A-Z only) and
 *	  trimmed; a provider whose id equals it is used, else the first
 *	  provider whose provider_match accepts it, else the first provider
 *	  whose model_match accepts the model;
 *	- within the provider, the first model (by ordinal) whose match rule
 *	  accepts the folded model name; failing that, each of the
 *	  provider's fallback providers in turn (one level, no cascade);
 *	- catalogs are tried in precedence order (custom, genai-prices, litellm).
 * With a NULL provider, the providers whose model_match accepts the model are
 * tried in catalog order, then every provider in catalog order (without
 * fallbacks); the first model found wins.
 *
 * Resolutions are memoised per backend (the last one, and a hash of up to
 * PRICE_MEMO_MAX names), so a scan of many calls matches each distinct
 * model name once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "price.h"

#define PRICE_NTABLES 6
static const char *const price_tables[PRICE_NTABLES] = {
	"price_catalog", "price_provider", "price_model", "price", "price_tier", "price_discount"
};

/* memo of resolutions: key is provider \x1f model (or \x1e model when NULL) */
#define PRICE_MEMO_KEYLEN 256
#define PRICE_MEMO_MAX 10000

typedef struct PriceMemoEntry
{
	char		key[PRICE_MEMO_KEYLEN];
	const PriceModel *model;
} PriceMemoEntry;

typedef struct PriceCache
{
	MemoryContext cxt;
	Oid			table_oids[PRICE_NTABLES];
	int			nproviders;
	PriceProvider *providers;	/* by catalog precedence, then ordinal */
	int			ndiscounts;
	PriceDiscount *discounts;
	int			nregex;
	int			maxregex;
	regex_t   **regexes;		/* compiled with malloc: freed by pg_regfree */
	HTAB	   *memo;
	long		nmemo;
} PriceCache;

static PriceCache *price_cache = NULL;
static bool price_cache_stale = true;
/* bumped by every relevant invalidation, to notice one arriving mid-build */
static uint64 price_inval_gen = 0;
static bool price_callback_registered = false;

/* the last resolution, for scans that price one model row after row */
static bool last_valid = false;
static bool last_prov_null;
static int	last_provlen;
static int	last_modellen;
static char last_prov[PRICE_MEMO_KEYLEN];
static char last_model[PRICE_MEMO_KEYLEN];
static const PriceModel *last_result;

PG_FUNCTION_INFO_V1(price_catalog_changed);

/* Relcache callback: a catalog table changed (or everything was reset). */
static void
price_relcache_callback(Datum arg, Oid relid)
{
	int			i;

	if (price_cache == NULL)
		return;
	if (relid == InvalidOid)
	{
		price_cache_stale = true;
		price_inval_gen++;
		return;
	}
	for (i = 0; i < PRICE_NTABLES; i++)
		if (price_cache->table_oids[i] == relid)
		{
			price_cache_stale = true;
			price_inval_gen++;
		}
}

/* Trigger: invalidate the price cache of every session when the catalog changes. */
Datum
price_catalog_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("price_catalog_changed() must be called as a trigger"),
				 errhint("It is installed as a trigger on tokacct's catalog tables; it is not called directly.")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	PG_RETURN_POINTER(NULL);
}

static void
price_cache_free(void)
{
	int			i;

	if (price_cache == NULL)
		return;
	for (i = 0; i < price_cache->nregex; i++)
	{
		pg_regfree(price_cache->regexes[i]);
		free(price_cache->regexes[i]);
	}
	if (price_cache->regexes)
		free(price_cache->regexes);
	MemoryContextDelete(price_cache->cxt);
	price_cache = NULL;
	last_valid = false;
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

static regex_t *
price_compile_regex(const char *pattern, int len, const char *what)
{
	pg_wchar   *wpat = palloc((len + 1) * sizeof(pg_wchar));
	int			wlen = pg_mb2wchar_with_len(pattern, wpat, len);
	regex_t    *re = malloc(sizeof(regex_t));
	int			rc;

	if (re == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
						errdetail("Failed while caching the price catalog's model patterns.")));
	rc = pg_regcomp(re, wpat, wlen, REG_ADVANCED, C_COLLATION_OID);
	pfree(wpat);
	if (rc != REG_OKAY)
	{
		char		msg[128];

		pg_regerror(rc, re, msg, sizeof(msg));
		free(re);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("invalid regular expression in the match rule of %s", what),
				 errdetail("%s", msg)));
	}
	if (price_cache->nregex == price_cache->maxregex)
	{
		int			n = price_cache->maxregex ? price_cache->maxregex * 2 : 16;
		regex_t   **a = realloc(price_cache->regexes, n * sizeof(regex_t *));

		if (a == NULL)
		{
			pg_regfree(re);
			free(re);
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
							errdetail("Failed while caching the price catalog's model patterns.")));
		}
		price_cache->regexes = a;
		price_cache->maxregex = n;
	}
	price_cache->regexes[price_cache->nregex++] = re;
	return re;
}

/* Build a match rule into the cache (the grammar: price_match.c). */
static PriceMatch *
price_match_build(JsonbContainer *jc, const char *what)
{
	JsonbValue	rule;

	rule.type = jbvBinary;
	rule.val.binary.data = jc;
	rule.val.binary.len = 0;	/* unknown, and not needed */
	return price_match_walk(&rule, what, price_cache->cxt, price_compile_regex);
}

/* A name being matched: lower-cased bytes, and wide chars for regexes. */
typedef struct PriceName
{
	const char *s;				/* lower-cased */
	int			len;
	pg_wchar   *w;				/* built on first regex */
	int			wlen;
} PriceName;

static bool
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
			return pg_regexec(m->re, n->w, n->wlen, 0, NULL, 0, NULL, 0) == REG_OKAY;
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

static char *
price_getstr(HeapTuple tup, TupleDesc td, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, td, col, &isnull);

	if (isnull)
		return NULL;
	return MemoryContextStrdup(price_cache->cxt, TextDatumGetCString(d));
}

static int64
price_getint8(HeapTuple tup, TupleDesc td, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(tup, td, col, isnull);

	return *isnull ? 0 : DatumGetInt64(d);
}

static void
price_spi_select(const char *sql)
{
	int			rc = SPI_execute(sql, true, 0);

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "price catalog query failed: %s", SPI_result_code_string(rc));
}

typedef struct PriceIdEntry
{
	int64		price_id;
	PriceRow   *row;
} PriceIdEntry;

/* Order models by (catalog, provider, model), bytewise. */
static int
price_model_cmp(const void *a, const void *b)
{
	const PriceModel *x = *(PriceModel *const *) a;
	const PriceModel *y = *(PriceModel *const *) b;
	int			c = strcmp(x->provider->catalog, y->provider->catalog);

	if (c == 0)
		c = strcmp(x->provider->provider, y->provider->provider);
	if (c == 0)
		c = strcmp(x->model, y->model);
	return c;
}

/* Read the catalog tables into a fresh cache. */
static void
price_cache_build(Oid fn_oid)
{
	Oid			nsp = get_func_namespace(fn_oid);
	char	   *nspname = get_namespace_name(nsp);
	const char *s;
	MemoryContext cxt;
	StringInfoData q;
	uint64		i;
	int			j;
	int			nmodels;
	PriceModel *models;
	HASHCTL		hctl;
	HTAB	   *ids;
	PriceModel **byname;
	uint64		gen0 = price_inval_gen;

	if (nspname == NULL)
		elog(ERROR, "schema of function %u not found", fn_oid);
	s = quote_identifier(nspname);

	price_cache_free();
	if (!price_callback_registered)
	{
		CacheRegisterRelcacheCallback(price_relcache_callback, (Datum) 0);
		price_callback_registered = true;
	}

	cxt = AllocSetContextCreate(CacheMemoryContext, "tokacct price cache", ALLOCSET_DEFAULT_SIZES);
	price_cache = MemoryContextAllocZero(cxt, sizeof(PriceCache));
	price_cache->cxt = cxt;
	/* stale until fully built: an error part way leaves it to be rebuilt */
	price_cache_stale = true;

	for (j = 0; j < PRICE_NTABLES; j++)
		price_cache->table_oids[j] = get_relname_relid(price_tables[j], nsp);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	initStringInfo(&q);

	/* providers */
	appendStringInfo(&q,
					 "SELECT p.catalog, p.provider, p.provider_match, p.model_match, "
					 "p.fallback_providers::pg_catalog.text[] "
					 "FROM %s.price_provider p JOIN %s.price_catalog c ON c.catalog OPERATOR(pg_catalog.=) p.catalog "
					 "ORDER BY c.precedence, p.ordinal, p.provider", s, s);
	price_spi_select(q.data);
	price_cache->nproviders = (int) SPI_processed;
	price_cache->providers = MemoryContextAllocZero(cxt, sizeof(PriceProvider) * (SPI_processed + 1));
	{
		SPITupleTable *tt = SPI_tuptable;
		Datum	   *fbs = palloc0(sizeof(Datum) * (SPI_processed + 1));
		bool	   *fbnull = palloc0(sizeof(bool) * (SPI_processed + 1));

		for (i = 0; i < SPI_processed; i++)
		{
			PriceProvider *p = &price_cache->providers[i];
			HeapTuple	tup = tt->vals[i];
			bool		isnull;
			Datum		d;
			char	   *what;

			p->catalog = price_getstr(tup, tt->tupdesc, 1);
			p->provider = price_getstr(tup, tt->tupdesc, 2);
			what = psprintf("provider \"%s\" of catalog \"%s\"", p->provider, p->catalog);
			d = SPI_getbinval(tup, tt->tupdesc, 3, &isnull);
			if (!isnull)
				p->provider_match = price_match_build(&DatumGetJsonbP(d)->root, what);
			d = SPI_getbinval(tup, tt->tupdesc, 4, &isnull);
			if (!isnull)
				p->model_match = price_match_build(&DatumGetJsonbP(d)->root, what);
			fbs[i] = SPI_getbinval(tup, tt->tupdesc, 5, &fbnull[i]);
		}
		/* fallback providers, resolved within the catalog */
		for (i = 0; i < SPI_processed; i++)
		{
			PriceProvider *p = &price_cache->providers[i];
			Datum	   *elems;
			bool	   *nulls;
			int			n;
			int			k;

			if (fbnull[i])
				continue;
			deconstruct_array(DatumGetArrayTypeP(fbs[i]), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &nulls, &n);
			p->fallback = MemoryContextAllocZero(cxt, sizeof(PriceProvider *) * (n + 1));
			for (k = 0; k < n; k++)
			{
				char	   *name;
				int			x;

				if (nulls[k])
					continue;
				name = TextDatumGetCString(elems[k]);
				for (x = 0; x < price_cache->nproviders; x++)
				{
					PriceProvider *f = &price_cache->providers[x];

					if (f != p && strcmp(f->catalog, p->catalog) == 0 && strcmp(f->provider, name) == 0)
					{
						p->fallback[p->nfallback++] = f;
						break;
					}
				}
			}
		}
	}

	/* models, in the same provider order */
	resetStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT m.catalog, m.provider, m.model, m.match "
					 "FROM %s.price_model m "
					 "JOIN %s.price_provider p ON p.catalog OPERATOR(pg_catalog.=) m.catalog AND p.provider OPERATOR(pg_catalog.=) m.provider "
					 "JOIN %s.price_catalog c ON c.catalog OPERATOR(pg_catalog.=) p.catalog "
					 "ORDER BY c.precedence, p.ordinal, p.provider, m.ordinal, m.model", s, s, s);
	price_spi_select(q.data);
	nmodels = (int) SPI_processed;
	models = MemoryContextAllocZero(cxt, sizeof(PriceModel) * (nmodels + 1));
	{
		SPITupleTable *tt = SPI_tuptable;
		int			pi = 0;

		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = tt->vals[i];
			PriceModel *m = &models[i];
			char	   *cat = SPI_getvalue(tup, tt->tupdesc, 1);
			char	   *prov = SPI_getvalue(tup, tt->tupdesc, 2);
			bool		isnull;
			Datum		d;

			while (pi < price_cache->nproviders &&
				   (strcmp(price_cache->providers[pi].catalog, cat) != 0 ||
					strcmp(price_cache->providers[pi].provider, prov) != 0))
				pi++;
			if (pi >= price_cache->nproviders)
				elog(ERROR, "price catalog: model of unknown provider \"%s\"", prov);
			m->provider = &price_cache->providers[pi];
			m->model = price_getstr(tup, tt->tupdesc, 3);
			d = SPI_getbinval(tup, tt->tupdesc, 4, &isnull);
			if (isnull)
				price_match_malformed(m->model, "A match rule is an object with exactly one key, got null.");
			m->match = price_match_build(&DatumGetJsonbP(d)->root,
										 psprintf("model \"%s\" of provider \"%s\"", m->model, prov));
		}
		/* point each provider at its run of models */
		for (j = 0; j < nmodels; j++)
		{
			PriceProvider *p = models[j].provider;

			if (p->models == NULL)
			{
				int			k = j;

				while (k < nmodels && models[k].provider == p)
					k++;
				p->nmodels = k - j;
				p->models = MemoryContextAlloc(cxt, sizeof(PriceModel *) * p->nmodels);
				for (k = 0; k < p->nmodels; k++)
					p->models[k] = &models[j + k];
			}
		}
	}

	/* models by (catalog, provider, model), to attach price rows */
	byname = palloc(sizeof(PriceModel *) * (nmodels + 1));
	for (j = 0; j < nmodels; j++)
		byname[j] = &models[j];
	qsort(byname, nmodels, sizeof(PriceModel *), price_model_cmp);

	/* price rows, grouped by model */
	resetStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT r.catalog, r.provider, r.model, r.customer, r.price_id, r.in_force_from, r.variant, "
					 "pg_catalog.timezone('UTC', r.start_date::pg_catalog.timestamp), "
					 "(pg_catalog.extract('epoch', r.tod_start) OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, "
					 "(pg_catalog.extract('epoch', r.tod_end) OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, r.currency, "
					 "(r.input_mtok OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, (r.cache_read_mtok OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, "
					 "(r.cache_write_mtok OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, (r.output_mtok OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, "
					 "(r.reasoning_mtok OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, (r.input_audio_mtok OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, "
					 "(r.cache_audio_read_mtok OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, (r.output_audio_mtok OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, "
					 "(r.input_image_mtok OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, (r.output_image_mtok OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, "
					 "(r.input_video_mtok OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, (r.output_video_mtok OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, "
					 "(r.request_fee OPERATOR(pg_catalog.*) 1000000000000::pg_catalog.numeric)::pg_catalog.int8 "
					 "FROM %s.price r "
					 "ORDER BY r.catalog, r.provider, r.model, r.customer NULLS FIRST, "
					 "r.in_force_from, r.variant", s);
	price_spi_select(q.data);
	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = sizeof(int64);
	hctl.entrysize = sizeof(PriceIdEntry);
	hctl.hcxt = CurrentMemoryContext;
	ids = hash_create("tokacct price ids", Max(SPI_processed, 16), &hctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	{
		SPITupleTable *tt = SPI_tuptable;
		PriceRow   *rows = MemoryContextAllocZero(cxt, sizeof(PriceRow) * (SPI_processed + 1));
		uint64		r = 0;

		while (r < SPI_processed)
		{
			HeapTuple	tup = tt->vals[r];
			char	   *cat = SPI_getvalue(tup, tt->tupdesc, 1);
			char	   *prov = SPI_getvalue(tup, tt->tupdesc, 2);
			char	   *mod = SPI_getvalue(tup, tt->tupdesc, 3);
			PriceModel *m;
			uint64		end;
			uint64		k;
			int			nsets = 0;

			{
				PriceProvider keyp;
				PriceModel	keym;
				PriceModel *keyptr = &keym;
				PriceModel **found;

				keyp.catalog = cat;
				keyp.provider = prov;
				keym.provider = &keyp;
				keym.model = mod;
				found = bsearch(&keyptr, byname, nmodels, sizeof(PriceModel *), price_model_cmp);
				if (found == NULL)
					elog(ERROR, "price catalog: price of unknown model \"%s\"", mod);
				m = *found;
			}
			/* the run of rows of this model */
			for (end = r; end < SPI_processed; end++)
			{
				HeapTuple	t2 = tt->vals[end];

				if (strcmp(SPI_getvalue(t2, tt->tupdesc, 3), mod) != 0 ||
					strcmp(SPI_getvalue(t2, tt->tupdesc, 2), prov) != 0 ||
					strcmp(SPI_getvalue(t2, tt->tupdesc, 1), cat) != 0)
					break;
			}
			m->sets = MemoryContextAllocZero(cxt, sizeof(PriceSet) * (end - r));
			for (k = r; k < end; k++)
			{
				HeapTuple	t2 = tt->vals[k];
				PriceRow   *row = &rows[k];
				char	   *cust = price_getstr(t2, tt->tupdesc, 4);
				bool		isnull;
				int64		v;
				int			kind;
				PriceIdEntry *e;
				bool		found;

				if (nsets == 0 ||
					!((cust == NULL && m->sets[nsets - 1].customer == NULL) ||
					  (cust != NULL && m->sets[nsets - 1].customer != NULL &&
					   strcmp(cust, m->sets[nsets - 1].customer) == 0)))
				{
					m->sets[nsets].customer = cust;
					m->sets[nsets].rows = row;
					nsets++;
				}
				m->sets[nsets - 1].nrows++;

				row->price_id = price_getint8(t2, tt->tupdesc, 5, &isnull);
				row->in_force_from = DatumGetTimestampTz(SPI_getbinval(t2, tt->tupdesc, 6, &isnull));
				row->variant = DatumGetInt32(SPI_getbinval(t2, tt->tupdesc, 7, &isnull));
				v = DatumGetTimestampTz(SPI_getbinval(t2, tt->tupdesc, 8, &isnull));
				row->has_start = !isnull;
				row->start_at = isnull ? 0 : v;
				row->tod_start = price_getint8(t2, tt->tupdesc, 9, &isnull);
				row->has_tod = !isnull;
				row->tod_end = price_getint8(t2, tt->tupdesc, 10, &isnull);
				strlcpy(row->currency, SPI_getvalue(t2, tt->tupdesc, 11), sizeof(row->currency));
				for (kind = 0; kind < PK_NKINDS; kind++)
				{
					row->pico[kind] = price_getint8(t2, tt->tupdesc, 12 + kind, &isnull);
					row->has[kind] = !isnull;
				}
				row->fee = price_getint8(t2, tt->tupdesc, 12 + PK_NKINDS, &isnull);
				row->has_fee = !isnull;

				e = hash_search(ids, &row->price_id, HASH_ENTER, &found);
				e->row = row;
			}
			m->nsets = nsets;
			r = end;
		}
	}

	/* tiers */
	resetStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT t.price_id, t.kind, t.threshold, (t.mtok OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8 "
					 "FROM %s.price_tier t ORDER BY t.price_id, t.kind, t.threshold", s);
	price_spi_select(q.data);
	{
		SPITupleTable *tt = SPI_tuptable;
		uint64		r = 0;

		while (r < SPI_processed)
		{
			bool		isnull;
			int64		id = price_getint8(tt->vals[r], tt->tupdesc, 1, &isnull);
			char	   *kind = SPI_getvalue(tt->vals[r], tt->tupdesc, 2);
			uint64		end;
			int			k;
			PriceIdEntry *e;

			for (end = r; end < SPI_processed; end++)
			{
				if (price_getint8(tt->vals[end], tt->tupdesc, 1, &isnull) != id ||
					strcmp(SPI_getvalue(tt->vals[end], tt->tupdesc, 2), kind) != 0)
					break;
			}
			e = hash_search(ids, &id, HASH_FIND, NULL);
			for (k = 0; k < PK_NKINDS; k++)
				if (strcmp(price_kind_names[k], kind) == 0)
					break;
			if (e != NULL && k < PK_NKINDS)
			{
				PriceRow   *row = e->row;
				uint64		x;

				row->ntiers[k] = (int) (end - r);
				row->tiers[k] = MemoryContextAlloc(cxt, sizeof(PriceTier) * (end - r));
				for (x = r; x < end; x++)
				{
					row->tiers[k][x - r].threshold = price_getint8(tt->vals[x], tt->tupdesc, 3, &isnull);
					row->tiers[k][x - r].pico = price_getint8(tt->vals[x], tt->tupdesc, 4, &isnull);
				}
			}
			r = end;
		}
	}

	/* discounts */
	resetStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT d.customer, d.provider, d.model, d.valid_from, d.valid_until, "
					 "(d.multiplier OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8 FROM %s.price_discount d", s);
	price_spi_select(q.data);
	price_cache->ndiscounts = (int) SPI_processed;
	price_cache->discounts = MemoryContextAllocZero(cxt, sizeof(PriceDiscount) * (SPI_processed + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		PriceDiscount *d = &price_cache->discounts[i];
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;

		d->customer = price_getstr(tup, td, 1);
		d->provider = price_getstr(tup, td, 2);
		d->model = price_getstr(tup, td, 3);
		d->valid_from = DatumGetTimestampTz(SPI_getbinval(tup, td, 4, &isnull));
		d->valid_until = DatumGetTimestampTz(SPI_getbinval(tup, td, 5, &isnull));
		d->micro = price_getint8(tup, td, 6, &isnull);
	}

	hash_destroy(ids);
	SPI_finish();

	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = PRICE_MEMO_KEYLEN;
	hctl.entrysize = sizeof(PriceMemoEntry);
	hctl.hcxt = cxt;
	price_cache->memo = hash_create("tokacct price memo", 256, &hctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	last_valid = false;
	/* an invalidation that arrived while reading: rebuild on the next call */
	price_cache_stale = (price_inval_gen != gen0);
}

static const PriceModel *
price_find_model(const PriceProvider *p, PriceName *n, bool fallback)
{
	int			i;

	for (i = 0; i < p->nmodels; i++)
		if (price_match(p->models[i]->match, n))
			return p->models[i];
	if (fallback)
	{
		for (i = 0; i < p->nfallback; i++)
		{
			const PriceModel *m = price_find_model(p->fallback[i], n, false);

			if (m)
				return m;
		}
	}
	return NULL;
}

/* Resolve without the memo. */
static const PriceModel *
price_resolve_uncached(const char *provider, int provlen, const char *model, int modellen)
{
	char	   *lmodel = palloc(modellen + 1);
	PriceName	mn;
	int			i;
	int			first;
	const PriceModel *found = NULL;

	price_lower(lmodel, model, modellen);
	mn.s = lmodel;
	mn.len = modellen;
	mn.w = NULL;
	mn.wlen = 0;

	if (provider != NULL)
	{
		char	   *lprov = palloc(provlen + 1);
		PriceName	pn;
		int			b = 0;
		int			e = provlen;

		/* trim ASCII white space */
		while (b < e && isspace((unsigned char) provider[b]))
			b++;
		while (e > b && isspace((unsigned char) provider[e - 1]))
			e--;
		price_lower(lprov, provider + b, e - b);
		pn.s = lprov;
		pn.len = e - b;
		pn.w = NULL;
		pn.wlen = 0;

		/* per catalog, in precedence order */
		for (first = 0; first < price_cache->nproviders && found == NULL;)
		{
			const char *cat = price_cache->providers[first].catalog;
			int			last = first;
			const PriceProvider *p = NULL;

			while (last < price_cache->nproviders && strcmp(price_cache->providers[last].catalog, cat) == 0)
				last++;
			for (i = first; i < last && p == NULL; i++)
				if ((int) strlen(price_cache->providers[i].provider) == pn.len &&
					memcmp(price_cache->providers[i].provider, pn.s, pn.len) == 0)
					p = &price_cache->providers[i];
			for (i = first; i < last && p == NULL; i++)
				if (price_cache->providers[i].provider_match &&
					price_match(price_cache->providers[i].provider_match, &pn))
					p = &price_cache->providers[i];
			for (i = first; i < last && p == NULL; i++)
				if (price_cache->providers[i].model_match &&
					price_match(price_cache->providers[i].model_match, &mn))
					p = &price_cache->providers[i];
			if (p)
				found = price_find_model(p, &mn, true);
			first = last;
		}
	}
	else
	{
		for (first = 0; first < price_cache->nproviders && found == NULL;)
		{
			const char *cat = price_cache->providers[first].catalog;
			int			last = first;

			while (last < price_cache->nproviders && strcmp(price_cache->providers[last].catalog, cat) == 0)
				last++;
			for (i = first; i < last && found == NULL; i++)
				if (price_cache->providers[i].model_match &&
					price_match(price_cache->providers[i].model_match, &mn))
					found = price_find_model(&price_cache->providers[i], &mn, true);
			for (i = first; i < last && found == NULL; i++)
				found = price_find_model(&price_cache->providers[i], &mn, false);
			first = last;
		}
	}
	return found;
}

/*
 * The catalog is read as the calling user, so each user must hold SELECT on
 * its tables, checked once per user and cache (a GRANT or REVOKE on them
 * invalidates the cache, so the check is made again).
 */
static Oid	price_checked_user = InvalidOid;

static void
price_check_privileges(Oid fn_oid)
{
	Oid			nsp = get_func_namespace(fn_oid);
	Oid			user = GetUserId();
	int			i;

	for (i = 0; i < PRICE_NTABLES; i++)
	{
		Oid			rel = get_relname_relid(price_tables[i], nsp);

		if (OidIsValid(rel) && pg_class_aclcheck(rel, user, ACL_SELECT) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to read the tokacct price catalog"),
					 errdetail("Role \"%s\" has no SELECT privilege on table %s.%s.",
							   GetUserNameFromId(user, false),
							   get_namespace_name(nsp), price_tables[i]),
					 errhint("The extension's owner can grant it: CALL tokacct.grant_reader('%s');",
							 GetUserNameFromId(user, false))));
	}
	price_checked_user = user;
}

static void
price_ensure_cache(Oid fn_oid)
{
	if (price_cache == NULL || price_cache_stale)
	{
		price_checked_user = InvalidOid;
		price_check_privileges(fn_oid);
		price_cache_build(fn_oid);
	}
	else if (GetUserId() != price_checked_user)
		price_check_privileges(fn_oid);
}

/*
 * The catalog model a call's provider (NULL allowed) and model name resolve
 * to, or NULL.  fn_oid is the calling SQL function (its schema holds the
 * catalog).
 */
const PriceModel *
price_resolve(Oid fn_oid, const char *provider, int provlen, const char *model, int modellen)
{
	char		key[PRICE_MEMO_KEYLEN];
	PriceMemoEntry *e;
	bool		found;
	const PriceModel *result;

	price_ensure_cache(fn_oid);

	if (last_valid && last_modellen == modellen &&
		(provider == NULL ? last_prov_null :
		 (!last_prov_null && last_provlen == provlen && memcmp(last_prov, provider, provlen) == 0)) &&
		memcmp(last_model, model, modellen) == 0)
		return last_result;

	/* long names, and names holding the key's separators, skip the memo */
	if (provlen + modellen + 2 >= PRICE_MEMO_KEYLEN ||
		memchr(model, '\0', modellen) || memchr(model, '\x1f', modellen) ||
		(provider && (memchr(provider, '\0', provlen) || memchr(provider, '\x1f', provlen))))
		return price_resolve_uncached(provider, provlen, model, modellen);

	if (provider)
	{
		memcpy(key, provider, provlen);
		key[provlen] = '\x1f';
		memcpy(key + provlen + 1, model, modellen);
		key[provlen + 1 + modellen] = '\0';
	}
	else
	{
		key[0] = '\x1e';
		memcpy(key + 1, model, modellen);
		key[1 + modellen] = '\0';
	}
	e = hash_search(price_cache->memo, key, HASH_FIND, NULL);
	if (e)
		result = e->model;
	else
	{
		result = price_resolve_uncached(provider, provlen, model, modellen);
		if (price_cache->nmemo >= PRICE_MEMO_MAX)
		{
			HASH_SEQ_STATUS st;
			PriceMemoEntry *x;

			hash_seq_init(&st, price_cache->memo);
			while ((x = hash_seq_search(&st)) != NULL)
				hash_search(price_cache->memo, x->key, HASH_REMOVE, NULL);
			price_cache->nmemo = 0;
		}
		e = hash_search(price_cache->memo, key, HASH_ENTER, &found);
		e->model = result;
		price_cache->nmemo++;
	}

	last_valid = true;
	last_prov_null = provider == NULL;
	if (provider)
	{
		memcpy(last_prov, provider, provlen);
		last_provlen = provlen;
	}
	memcpy(last_model, model, modellen);
	last_modellen = modellen;
	last_result = result;
	return result;
}

/*
 * The discount of a customer in force at "at" for a model: the one naming
 * the model, else the provider, else every provider; NULL when none.
 */
const PriceDiscount *
price_find_discount(const char *customer, const PriceModel *model, TimestampTz at)
{
	const PriceDiscount *best = NULL;
	int			bestrank = -1;
	int			i;

	for (i = 0; i < price_cache->ndiscounts; i++)
	{
		const PriceDiscount *d = &price_cache->discounts[i];
		int			rank;

		if (strcmp(d->customer, customer) != 0 || at < d->valid_from || at >= d->valid_until)
			continue;
		if (d->provider == NULL)
			rank = 0;
		else if (strcmp(d->provider, model->provider->provider) != 0)
			continue;
		else if (d->model == NULL)
			rank = 1;
		else if (strcmp(d->model, model->model) != 0)
			continue;
		else
			rank = 2;
		if (rank > bestrank || (rank == bestrank && d->valid_from > best->valid_from))
		{
			best = d;
			bestrank = rank;
		}
	}
	return best;
}
