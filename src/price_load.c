/*-------------------------------------------------------------------------
 *
 * price_load.c
 *	  The build of the price cache from the catalog tables
 *	  (price_cache_build): providers, models, price rows, tiers, discounts,
 *	  aliases and catalog choices, read with SPI into a fresh cache, each
 *	  compiling its match rules as it is read.  When a cache is read, and
 *	  by which role, is price_catalog.c's.
 *
 * Citus.  With the citus extension in the database, each catalog table is
 * read from where this node holds its rows (price_build_relations): a
 * reference table (citus_distribute_catalog()) from its copy on this node,
 * whose copied triggers invalidate the cache as the table's own do; a
 * plain table on the coordinator as it is; anything else, a worker's own
 * local table included, is an error with a hint, never a NULL cost.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "price.h"
#include "price_cache.h"

static regex_t *
price_compile_regex(const char *pattern, int len, const char *what)
{
	regex_t    *re = NULL;
	const char *why = price_regex_compile(pattern, len, &re);

	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("invalid regular expression in the match rule of %s", what),
				 errdetail("%s.", why),
				 errhint("Fix the row in the catalog tables; price_check_regex() tells whether a pattern is allowed.")));
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

/*
 * The rows of the last SPI result deformed once (every column's datum and
 * null flag, row after row), so that the loaders read columns by index
 * instead of walking each tuple again per column (SPI_getbinval) or
 * calling a type's output function (SPI_getvalue).
 */
typedef struct PriceSpiRows
{
	uint64		nrows;
	int			ncols;
	Datum	   *values;			/* nrows * ncols */
	bool	   *nulls;
} PriceSpiRows;

static void
price_spi_rows(PriceSpiRows *rs)
{
	SPITupleTable *tt = SPI_tuptable;
	uint64		r;

	rs->nrows = SPI_processed;
	rs->ncols = tt->tupdesc->natts;
	rs->values = palloc(sizeof(Datum) * rs->ncols * (rs->nrows + 1));
	rs->nulls = palloc(sizeof(bool) * rs->ncols * (rs->nrows + 1));
	for (r = 0; r < rs->nrows; r++)
		heap_deform_tuple(tt->vals[r], tt->tupdesc, rs->values + r * rs->ncols, rs->nulls + r * rs->ncols);
}

/* Column col (1-based, as SPI numbers them) of row r: its datum, or NULL. */
#define PRICE_COL_NULL(rs, r, col) ((rs)->nulls[(r) * (rs)->ncols + (col) - 1])
#define PRICE_COL(rs, r, col) ((rs)->values[(r) * (rs)->ncols + (col) - 1])

/* A text column as a C string in the current memory context (not NULL). */
static char *
price_col_cstring(const PriceSpiRows *rs, uint64 r, int col)
{
	return TextDatumGetCString(PRICE_COL(rs, r, col));
}

/* A text column copied into the cache, or NULL. */
static char *
price_col_str(const PriceSpiRows *rs, uint64 r, int col)
{
	char	   *s;

	if (PRICE_COL_NULL(rs, r, col))
		return NULL;
	s = TextDatumGetCString(PRICE_COL(rs, r, col));
	return MemoryContextStrdup(price_cache->cxt, s);
}

/* An int8 column, 0 when NULL (*isnull says which). */
static int64
price_col_int8(const PriceSpiRows *rs, uint64 r, int col, bool *isnull)
{
	*isnull = PRICE_COL_NULL(rs, r, col);
	return *isnull ? 0 : DatumGetInt64(PRICE_COL(rs, r, col));
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

/* Resolve each provider's fallback_providers (text[] or null) within its catalog. */
static void
price_build_fallbacks(const Datum *fbs, const bool *fbnull)
{
	int			i;

	for (i = 0; i < price_cache->nproviders; i++)
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
		p->fallback = MemoryContextAllocZero(price_cache->cxt, sizeof(PriceProvider *) * (n + 1));
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

/*
 * On Citus, the relation on this node that holds a catalog table's rows,
 * or an error.  A catalog table must be a reference table, read from its
 * copy on this node (its shard): the table itself, on a node that did not
 * create the rows, is empty or holds rows of its own, and reading it
 * through Citus's planner from inside a query on a shard is a nested
 * distributed query, which Citus refuses.  A plain table is read as it is
 * on the coordinator (or a node not in a cluster), whose catalog it is, and
 * refused on a worker.  The price_catalog_changed triggers are copied onto
 * each copy, so a change reaching a node invalidates its sessions' caches.
 */
static Oid
price_citus_relation(Oid rel, const char *nspname, int t)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	bool		isnull;
	bool		reference;
	bool		citus_table;
	int32		group;
	Datum		shard;
	bool		noshard;

	args[0] = ObjectIdGetDatum(rel);
	if (SPI_execute_with_args("SELECT p.logicalrelid IS NOT NULL, "
							  "p.partmethod OPERATOR(pg_catalog.=) 'n' AND p.repmodel OPERATOR(pg_catalog.=) 't', g.groupid, "
							  "(SELECT pg_catalog.to_regclass(pg_catalog.shard_name(s.logicalrelid, s.shardid, false))::pg_catalog.oid "
							  "   FROM pg_catalog.pg_dist_shard s JOIN pg_catalog.pg_dist_placement pl ON pl.shardid OPERATOR(pg_catalog.=) s.shardid "
							  "  WHERE s.logicalrelid OPERATOR(pg_catalog.=) p.logicalrelid AND pl.groupid OPERATOR(pg_catalog.=) g.groupid "
							  "  ORDER BY s.shardid LIMIT 1) "
							  "FROM pg_catalog.pg_dist_local_group g "
							  "LEFT JOIN pg_catalog.pg_dist_partition p ON p.logicalrelid::pg_catalog.oid OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "price catalog: reading the Citus metadata of %s.%s failed", nspname, price_tables[t]);
	citus_table = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	reference = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)) && !isnull;
	group = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	shard = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &noshard);

	if (!citus_table)
	{
		if (group == 0)
			return rel;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the tokacct price catalog is not distributed to this Citus worker"),
				 errdetail("Table %s.%s is a local table on this node (Citus group %d): it does not hold the coordinator's prices, so a cost computed from it would be NULL or wrong.",
						   nspname, price_tables[t], group),
				 errhint("On the coordinator, as the owner of the extension, run SELECT %s.citus_distribute_catalog(); it makes the catalog tables reference tables, copied to every node.",
						 quote_identifier(nspname))));
	}
	if (!reference)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the tokacct price catalog table %s.%s is distributed but not a reference table",
						nspname, price_tables[t]),
				 errdetail("Every node prices with the whole catalog, so each catalog table must be a Citus reference table, with a full copy on every node."),
				 errhint("Citus cannot undistribute a table of an extension: save the catalog's rows, recreate the extension on the coordinator (DROP EXTENSION, CREATE EXTENSION tokacct), run SELECT %s.citus_distribute_catalog(), then load the rows again.",
						 quote_identifier(nspname))));
	if (noshard || !OidIsValid(DatumGetObjectId(shard)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the tokacct price catalog has no copy on this Citus node"),
				 errdetail("Table %s.%s is a reference table without a placement in this node's group %d.",
						   nspname, price_tables[t], group),
				 errhint("On the coordinator, run SELECT replicate_reference_tables('block_writes'); a coordinator holds copies once it is in the metadata: first run SELECT citus_set_coordinator_host('<its host name>', <its port>) if it is not.")));
	return DatumGetObjectId(shard);
}

/*
 * Set the relations the catalog is read from (under SPI): the tables of the
 * extension's schema, or on Citus their copies on this node.  Until now
 * table_oids were invalid, so an invalidation that arrived meanwhile made
 * the cache stale.
 */
static void
price_build_relations(const char *nspname)
{
	Oid			read[PRICE_NTABLES];
	bool		citus = OidIsValid(get_extension_oid("citus", true));
	int			j;

	for (j = 0; j < PRICE_NTABLES; j++)
	{
		Oid			rel = price_cache->shell_oids[j];
		char	   *relname = NULL;

		read[j] = rel;
		if (citus && OidIsValid(rel))
			read[j] = price_citus_relation(rel, nspname, j);
		if (OidIsValid(read[j]))
			relname = get_rel_name(read[j]);
		/* a missing table: the query names it, and fails */
		price_cache->relnames[j] = MemoryContextStrdup(price_cache->cxt,
													   quote_qualified_identifier(nspname, relname ? relname : price_tables[j]));
	}
	memcpy(price_cache->table_oids, read, sizeof(read));
}

/* Read the providers in precedence order, with their match rules. */
static void
price_build_providers(void)
{
	StringInfoData q;
	SPITupleTable *tt;
	Datum	   *fbs;
	bool	   *fbnull;
	uint64		i;

	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT p.catalog, p.provider, p.provider_match, p.model_match, "
					 "p.fallback_providers::pg_catalog.text[] "
					 "FROM %s p JOIN %s c ON c.catalog OPERATOR(pg_catalog.=) p.catalog "
					 "ORDER BY c.precedence, p.ordinal, p.provider",
					 price_cache->relnames[PT_PROVIDER], price_cache->relnames[PT_CATALOG]);
	price_spi_select(q.data);
	price_cache->nproviders = (int) SPI_processed;
	price_cache->providers = MemoryContextAllocZero(price_cache->cxt, sizeof(PriceProvider) * (SPI_processed + 1));
	tt = SPI_tuptable;
	fbs = palloc0(sizeof(Datum) * (SPI_processed + 1));
	fbnull = palloc0(sizeof(bool) * (SPI_processed + 1));

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
	price_build_fallbacks(fbs, fbnull);
}

/* Read the models, in provider order, into *models_out; point each provider at its run. */
static int
price_build_models(PriceModel **models_out)
{
	StringInfoData q;
	PriceSpiRows rs;
	PriceModel *models;
	int			nmodels;
	int			pi = 0;
	uint64		i;
	int			j;

	/* the sort keys first, where the sort finds them at a fixed offset */
	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT c.precedence, p.ordinal, m.ordinal, m.provider, m.model, m.catalog, m.match "
					 "FROM %s m "
					 "JOIN %s p ON p.catalog OPERATOR(pg_catalog.=) m.catalog AND p.provider OPERATOR(pg_catalog.=) m.provider "
					 "JOIN %s c ON c.catalog OPERATOR(pg_catalog.=) p.catalog "
					 "ORDER BY c.precedence, p.ordinal, p.provider, m.ordinal, m.model",
					 price_cache->relnames[PT_MODEL], price_cache->relnames[PT_PROVIDER],
					 price_cache->relnames[PT_CATALOG]);
	price_spi_select(q.data);
	price_spi_rows(&rs);
	nmodels = (int) rs.nrows;
	models = MemoryContextAllocZero(price_cache->cxt, sizeof(PriceModel) * (nmodels + 1));

	for (i = 0; i < rs.nrows; i++)
	{
		PriceModel *m = &models[i];
		char	   *cat = price_col_cstring(&rs, i, 6);
		char	   *prov = price_col_cstring(&rs, i, 4);

		while (pi < price_cache->nproviders &&
			   (strcmp(price_cache->providers[pi].catalog, cat) != 0 ||
				strcmp(price_cache->providers[pi].provider, prov) != 0))
			pi++;
		if (pi >= price_cache->nproviders)
			elog(ERROR, "price catalog: model of unknown provider \"%s\"", prov);
		m->provider = &price_cache->providers[pi];
		m->model = price_col_str(&rs, i, 5);
		if (PRICE_COL_NULL(&rs, i, 7))
			price_match_malformed(m->model, "A match rule is an object with exactly one key, got null.");
		m->match = price_match_build(&DatumGetJsonbP(PRICE_COL(&rs, i, 7))->root,
									 psprintf("model \"%s\" of provider \"%s\"", m->model, prov));
		pfree(cat);
		pfree(prov);
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
			p->models = MemoryContextAlloc(price_cache->cxt, sizeof(PriceModel *) * p->nmodels);
			for (k = 0; k < p->nmodels; k++)
				p->models[k] = &models[j + k];
		}
	}
	*models_out = models;
	return nmodels;
}

/* The model (catalog, provider, model) in byname, sorted by price_model_cmp; an error if none. */
static PriceModel *
price_build_find_model(PriceModel **byname, int nmodels, char *cat, char *prov, char *mod)
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
	return *found;
}

/* Decode a price row's columns from price_id on (column 5) into row. */
static void
price_build_row(PriceRow *row, const PriceSpiRows *rs, uint64 r)
{
	bool		isnull;
	int64		v;
	int			kind;
	char	   *currency;

	row->price_id = price_col_int8(rs, r, 5, &isnull);
	row->in_force_from = DatumGetTimestampTz(PRICE_COL(rs, r, 6));
	row->variant = DatumGetInt32(PRICE_COL(rs, r, 7));
	isnull = PRICE_COL_NULL(rs, r, 8);
	v = isnull ? 0 : DatumGetTimestampTz(PRICE_COL(rs, r, 8));
	row->has_start = !isnull;
	row->start_at = v;
	row->tod_start = price_col_int8(rs, r, 9, &isnull);
	row->has_tod = !isnull;
	row->tod_end = price_col_int8(rs, r, 10, &isnull);
	currency = price_col_cstring(rs, r, 11);
	strlcpy(row->currency, currency, sizeof(row->currency));
	pfree(currency);
	for (kind = 0; kind < PK_NKINDS; kind++)
	{
		row->pico[kind] = price_col_int8(rs, r, 12 + kind, &isnull);
		row->has[kind] = !isnull;
	}
	row->fee = price_col_int8(rs, r, 12 + PK_NKINDS, &isnull);
	row->has_fee = !isnull;
	row->search_fee = price_col_int8(rs, r, 13 + PK_NKINDS, &isnull);
	row->has_search_fee = !isnull;
}

/* A price row's place in the cache: its names and times, and its row in the query's result. */
typedef struct PricePriceKey
{
	char	   *catalog;
	char	   *provider;
	char	   *model;
	char	   *customer;		/* NULL: the list price */
	TimestampTz in_force_from;
	int32		variant;
	uint64		src;
} PricePriceKey;

static int
price_price_key_cmp(const void *a, const void *b)
{
	const PricePriceKey *x = (const PricePriceKey *) a;
	const PricePriceKey *y = (const PricePriceKey *) b;
	int			c = strcmp(x->catalog, y->catalog);

	if (c == 0)
		c = strcmp(x->provider, y->provider);
	if (c == 0)
		c = strcmp(x->model, y->model);
	if (c == 0 && (x->customer == NULL) != (y->customer == NULL))
		c = x->customer == NULL ? -1 : 1;
	if (c == 0 && x->customer != NULL)
		c = strcmp(x->customer, y->customer);
	if (c == 0 && x->in_force_from != y->in_force_from)
		c = x->in_force_from < y->in_force_from ? -1 : 1;
	if (c == 0 && x->variant != y->variant)
		c = x->variant < y->variant ? -1 : 1;
	return c;
}

/*
 * Read the price rows, grouped by model into its per-customer sets; returns
 * a hash of the rows by price_id, for the tiers.
 */
static HTAB *
price_build_prices(PriceModel *models, int nmodels)
{
	StringInfoData q;
	HASHCTL		hctl;
	HTAB	   *ids;
	PriceModel **byname;
	PriceSpiRows rs;
	PricePriceKey *keys;
	PriceRow   *rows;
	uint64		r = 0;
	uint64		k;
	int			j;

	/* models by (catalog, provider, model), to attach price rows */
	byname = palloc(sizeof(PriceModel *) * (nmodels + 1));
	for (j = 0; j < nmodels; j++)
		byname[j] = &models[j];
	qsort(byname, nmodels, sizeof(PriceModel *), price_model_cmp);

	/* price rows, grouped by model: a <kind>_mtok column per kind, in order */
	initStringInfo(&q);
	appendStringInfoString(&q,
						   "SELECT r.catalog, r.provider, r.model, r.customer, r.price_id, r.in_force_from, r.variant, "
						   "pg_catalog.timezone('UTC', r.start_date::pg_catalog.timestamp), "
						   "(pg_catalog.extract('epoch', r.tod_start) OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, "
						   "(pg_catalog.extract('epoch', r.tod_end) OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, r.currency, ");
	for (j = 0; j < PK_NKINDS; j++)
		appendStringInfo(&q, "(r.%s OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8, ",
						 quote_identifier(psprintf("%s_mtok", price_kind_names[j])));
	appendStringInfo(&q,
					 "(r.request_fee OPERATOR(pg_catalog.*) 1000000000000::pg_catalog.numeric)::pg_catalog.int8, "
					 "(r.web_search_fee OPERATOR(pg_catalog.*) 1000000000000::pg_catalog.numeric)::pg_catalog.int8 "
					 "FROM %s r", price_cache->relnames[PT_PRICE]);
	price_spi_select(q.data);
	price_spi_rows(&rs);
	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = sizeof(int64);
	hctl.entrysize = sizeof(PriceIdEntry);
	hctl.hcxt = CurrentMemoryContext;
	ids = hash_create("tokacct price ids", Max(rs.nrows, 16), &hctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	rows = MemoryContextAllocZero(price_cache->cxt, sizeof(PriceRow) * (rs.nrows + 1));

	/*
	 * Order the rows by (catalog, provider, model, customer NULLS FIRST,
	 * in_force_from, variant), here rather than in the query (sorting the
	 * wide rows there cost more than reading them): the names bytewise,
	 * which groups them as equality does; customers' order among
	 * themselves does not matter (a set is found by name, the list price
	 * first).
	 */
	keys = palloc(sizeof(PricePriceKey) * (rs.nrows + 1));
	for (k = 0; k < rs.nrows; k++)
	{
		keys[k].catalog = price_col_cstring(&rs, k, 1);
		keys[k].provider = price_col_cstring(&rs, k, 2);
		keys[k].model = price_col_cstring(&rs, k, 3);
		keys[k].customer = PRICE_COL_NULL(&rs, k, 4) ? NULL : price_col_cstring(&rs, k, 4);
		keys[k].in_force_from = DatumGetTimestampTz(PRICE_COL(&rs, k, 6));
		keys[k].variant = DatumGetInt32(PRICE_COL(&rs, k, 7));
		keys[k].src = k;
	}
	qsort(keys, rs.nrows, sizeof(PricePriceKey), price_price_key_cmp);

	while (r < rs.nrows)
	{
		char	   *cat = keys[r].catalog;
		char	   *prov = keys[r].provider;
		char	   *mod = keys[r].model;
		PriceModel *m = price_build_find_model(byname, nmodels, cat, prov, mod);
		uint64		end;
		int			nsets = 0;

		/* the run of rows of this model */
		for (end = r; end < rs.nrows; end++)
		{
			if (strcmp(keys[end].model, mod) != 0 ||
				strcmp(keys[end].provider, prov) != 0 ||
				strcmp(keys[end].catalog, cat) != 0)
				break;
		}
		m->sets = MemoryContextAllocZero(price_cache->cxt, sizeof(PriceSet) * (end - r));
		for (k = r; k < end; k++)
		{
			PriceRow   *row = &rows[k];
			char	   *cust = price_col_str(&rs, keys[k].src, 4);
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

			price_build_row(row, &rs, keys[k].src);
			e = hash_search(ids, &row->price_id, HASH_ENTER, &found);
			e->row = row;
		}
		m->nsets = nsets;
		r = end;
	}
	return ids;
}

/* Read the tiers, attaching each (price_id, kind) run to its row in ids. */
static void
price_build_tiers(HTAB *ids)
{
	StringInfoData q;
	PriceSpiRows rs;
	char	  **kinds;
	uint64		r = 0;

	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT t.price_id, t.kind, t.threshold, (t.mtok OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8 "
					 "FROM %s t ORDER BY t.price_id, t.kind, t.threshold", price_cache->relnames[PT_TIER]);
	price_spi_select(q.data);
	price_spi_rows(&rs);
	kinds = palloc(sizeof(char *) * (rs.nrows + 1));
	for (r = 0; r < rs.nrows; r++)
		kinds[r] = price_col_cstring(&rs, r, 2);
	r = 0;

	while (r < rs.nrows)
	{
		bool		isnull;
		int64		id = price_col_int8(&rs, r, 1, &isnull);
		char	   *kind = kinds[r];
		uint64		end;
		int			k;
		PriceIdEntry *e;

		for (end = r; end < rs.nrows; end++)
		{
			if (price_col_int8(&rs, end, 1, &isnull) != id ||
				strcmp(kinds[end], kind) != 0)
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
			row->tiers[k] = MemoryContextAlloc(price_cache->cxt, sizeof(PriceTier) * (end - r));
			for (x = r; x < end; x++)
			{
				row->tiers[k][x - r].threshold = price_col_int8(&rs, x, 3, &isnull);
				row->tiers[k][x - r].pico = price_col_int8(&rs, x, 4, &isnull);
			}
		}
		r = end;
	}
}

/* Read the customer discounts. */
static void
price_build_discounts(void)
{
	StringInfoData q;
	uint64		i;

	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT d.customer, d.provider, d.model, d.valid_from, d.valid_until, "
					 "(d.multiplier OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8 FROM %s d", price_cache->relnames[PT_DISCOUNT]);
	price_spi_select(q.data);
	price_cache->ndiscounts = (int) SPI_processed;
	price_cache->discounts = MemoryContextAllocZero(price_cache->cxt, sizeof(PriceDiscount) * (SPI_processed + 1));
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
}

/* Order aliases by (provider, model), bytewise. */
int
price_alias_cmp(const void *a, const void *b)
{
	const PriceAlias *x = (const PriceAlias *) a;
	const PriceAlias *y = (const PriceAlias *) b;
	int			c = strcmp(x->provider, y->provider);

	return c != 0 ? c : strcmp(x->model, y->model);
}

/* A folded copy of column col in the cache's context, or NULL. */
static char *
price_getfolded(HeapTuple tup, TupleDesc td, int col)
{
	char	   *v = price_getstr(tup, td, col);

	if (v != NULL)
		price_lower(v, v, strlen(v));
	return v;
}

/*
 * Read the names as traces carry them: provider aliases, model aliases
 * (grouped by name, their periods by valid_from) and catalog choices (the
 * ones naming models first, then by id).  Names are folded as calls' names
 * are.
 */
static void
price_build_names(void)
{
	StringInfoData q;
	SPITupleTable *tt;
	char	  **fprov;
	char	  **fmodel;
	uint64		i;
	int			n = 0;

	initStringInfo(&q);
	appendStringInfo(&q, "SELECT a.provider, a.catalog_provider FROM %s a", price_cache->relnames[PT_PROVIDER_ALIAS]);
	price_spi_select(q.data);
	price_cache->nprovider_aliases = (int) SPI_processed;
	price_cache->provider_aliases = MemoryContextAllocZero(price_cache->cxt,
														   sizeof(PriceProviderAlias) * (SPI_processed + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		price_cache->provider_aliases[i].provider = price_getfolded(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		price_cache->provider_aliases[i].catalog_provider = price_getfolded(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
	}

	resetStringInfo(&q);
	appendStringInfo(&q, "SELECT a.provider, a.model, a.valid_from, a.valid_until, a.catalog_provider, a.catalog_model "
					 "FROM %s a ORDER BY a.provider COLLATE \"C\", a.model COLLATE \"C\", a.valid_from", price_cache->relnames[PT_MODEL_ALIAS]);
	price_spi_select(q.data);
	tt = SPI_tuptable;
	price_cache->aliases = MemoryContextAllocZero(price_cache->cxt, sizeof(PriceAlias) * (SPI_processed + 1));

	/*
	 * Each row's names folded once, in SPI's memory (gone at SPI_finish):
	 * rows are grouped by them, and an alias keeps a copy of its first row's.
	 */
	fprov = palloc(sizeof(char *) * (SPI_processed + 1));
	fmodel = palloc(sizeof(char *) * (SPI_processed + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		fprov[i] = SPI_getvalue(tt->vals[i], tt->tupdesc, 1);
		fmodel[i] = SPI_getvalue(tt->vals[i], tt->tupdesc, 2);
		price_lower(fprov[i], fprov[i], strlen(fprov[i]));
		price_lower(fmodel[i], fmodel[i], strlen(fmodel[i]));
	}
	for (i = 0; i < SPI_processed;)
	{
		PriceAlias *a = &price_cache->aliases[n++];
		uint64		end;
		uint64		k;
		bool		isnull;

		a->provider = MemoryContextStrdup(price_cache->cxt, fprov[i]);
		a->model = MemoryContextStrdup(price_cache->cxt, fmodel[i]);
		for (end = i + 1; end < SPI_processed; end++)
			if (strcmp(fprov[end], a->provider) != 0 || strcmp(fmodel[end], a->model) != 0)
				break;
		a->nperiods = (int) (end - i);
		a->periods = MemoryContextAllocZero(price_cache->cxt, sizeof(PriceAliasPeriod) * a->nperiods);
		for (k = i; k < end; k++)
		{
			PriceAliasPeriod *pp = &a->periods[k - i];

			pp->valid_from = DatumGetTimestampTz(SPI_getbinval(tt->vals[k], tt->tupdesc, 3, &isnull));
			pp->valid_until = DatumGetTimestampTz(SPI_getbinval(tt->vals[k], tt->tupdesc, 4, &isnull));
			pp->provider = price_getfolded(tt->vals[k], tt->tupdesc, 5);
			pp->model = price_getfolded(tt->vals[k], tt->tupdesc, 6);
		}
		i = end;
	}
	/* the table's names are lower case; folded, two could meet: keep them sorted */
	price_cache->naliases = n;
	qsort(price_cache->aliases, n, sizeof(PriceAlias), price_alias_cmp);

	resetStringInfo(&q);
	appendStringInfo(&q, "SELECT c.provider, c.model_match, c.catalog FROM %s c "
					 "ORDER BY c.model_match IS NULL, c.choice_id", price_cache->relnames[PT_CHOICE]);
	price_spi_select(q.data);
	price_cache->nchoices = (int) SPI_processed;
	price_cache->choices = MemoryContextAllocZero(price_cache->cxt, sizeof(PriceChoice) * (SPI_processed + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		PriceChoice *c = &price_cache->choices[i];
		bool		isnull;
		Datum		d;

		c->provider = price_getfolded(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		c->catalog = price_getstr(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
		if (!isnull)
			c->model_match = price_match_build(&DatumGetJsonbP(d)->root,
											   psprintf("the catalog choice for provider \"%s\"", c->provider));
	}
}

/*
 * Read the catalog tables, as "snap" sees them, into a fresh cache in a
 * slot: providers, models, price rows, tiers and discounts, each compiling
 * its match rules as it reads them.
 */
void
price_cache_build(int slot, Oid fn_oid, Snapshot snap)
{
	Oid			nsp = get_func_namespace(fn_oid);
	char	   *nspname = get_namespace_name(nsp);
	PriceModel *models;
	int			nmodels;
	HTAB	   *ids;

	if (nspname == NULL)
		elog(ERROR, "schema of function %u not found", fn_oid);

	price_build_start(slot, nsp);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	price_build_relations(nspname);
	price_build_providers();
	nmodels = price_build_models(&models);
	ids = price_build_prices(models, nmodels);
	price_build_tiers(ids);
	price_build_discounts();
	price_build_names();
	hash_destroy(ids);
	SPI_finish();
	price_build_finish(snap, nsp, nspname);
}
