/*-------------------------------------------------------------------------
 *
 * price_catalog.c
 *	  The per-backend cache of the price catalog (its invalidation and
 *	  snapshots, and its build from the catalog tables: price_cache_build),
 *	  and the resolution of a call's (provider, model) to a catalog model.
 *	  Match rules, their patterns and the matcher are in price_match.c.
 *
 * The first cost() call of a backend reads the catalog tables with SPI into
 * memory under CacheMemoryContext; every later call prices from memory.  A
 * trigger on each catalog table (price_catalog_changed) sends a relcache
 * invalidation for that table; it reaches this backend at once and every
 * other backend when the change commits, and a relcache callback registered
 * on first use marks the cache stale, so the next cost() call rebuilds it.
 * The statement trigger fires ALWAYS, so that a change made with
 * session_replication_role = replica also invalidates, and a row trigger
 * fires in replica mode only, because a logical replication apply worker
 * fires row triggers but no statement trigger.
 *
 * Snapshots.  cost() prices with the catalog its statement's snapshot sees,
 * as a query on the catalog tables would: a REPEATABLE READ transaction
 * keeps the prices of its snapshot, a cursor those of its own snapshot, and
 * a transaction sees its own uncommitted changes.  The cache is read with the
 * active snapshot and records which one (PriceSnapId).  It is "shared" when
 * that snapshot saw every catalog change this backend has been told of and
 * all of the transaction's own changes: then it serves every later snapshot
 * until the next invalidation.  Otherwise (an old snapshot, or triggers that
 * may not fire) it serves only snapshots that see exactly what that one
 * saw, and the next other snapshot reads the catalog again; so a cache read
 * from an old snapshot never outlives it.  Two caches are kept, so that
 * calls alternating between an old snapshot and newer ones (a cursor, or a
 * statement calling a function whose statements price too) are each served
 * without reading the catalog at every turn.  Each new snapshot first
 * takes the pending invalidations (a statement that locks nothing, in a
 * transaction block, would not otherwise see a change committed since the
 * last one).
 * Whether a snapshot saw a change is told by transaction ids: a change's
 * commit is visible before its invalidation is sent, so a snapshot taken
 * after the invalidation arrived (the "probe") sees it, and so does any
 * snapshot that sees every transaction the probe sees (its horizon is no
 * earlier, and each transaction it finds running below the probe's horizon
 * was running for the probe too).
 *
 * When a catalog table's trigger is disabled or does not fire in every
 * mode (ALTER TABLE ... DISABLE TRIGGER, or ENABLE TRIGGER ALL after a
 * pg_restore --disable-triggers, which makes every trigger fire on origin
 * only), changes may come without invalidation: the cache then serves one
 * command of one transaction only (a rebuild per statement), and the session
 * is warned once.
 *
 * Limit: a statement whose snapshot is taken in the few microseconds between
 * another session's commit becoming visible and its invalidation being sent
 * may price with the catalog before that commit; the next statement sees it.
 *
 * Citus.  With the citus extension in the database, each catalog table is
 * read from where this node holds its rows (price_build_relations): a
 * reference table (citus_distribute_catalog()) from its copy on this node,
 * whose copied triggers invalidate the cache as the table's own do; a
 * plain table on the coordinator as it is; anything else, a worker's own
 * local table included, is an error with a hint, never a NULL cost.
 *
 * The catalog is read with the rights of the extension's owner, by fixed
 * queries under a pinned search_path (price_cache_build_as_owner()); a role
 * may price with EXECUTE on the pricing function and USAGE on the schema.
 * Row-level security that applies to that role or to the owner on a
 * catalog table is refused (one cache serves every role of the session, and
 * a policy may depend on anything), see price_check_privileges().
 *
 * Resolution, one order for cost() and everything that prices (the attached
 * views call cost() with the call's own names):
 *	1. the model alias (tokacct.model_alias) of the folded (provider or '',
 *	   model) whose period holds the call's time gives the model, and the
 *	   provider when it names one; aliases do not chain;
 *	2. else the provider goes through tokacct.provider_alias;
 *	3. the names: the model name, then each name left by taking a leading
 *	   "models/", "publishers/NAME/models/" or "NAME/" off, NAME being a
 *	   provider word (the call's provider, a provider alias, a catalog's
 *	   provider id); a call without a provider takes it from its first
 *	   such prefix (price_resolve_names);
 *	4. catalogs in precedence order (custom, genai-prices, litellm), a
 *	   catalog chosen in tokacct.price_catalog_choice for the provider (and
 *	   a name) first.  Within a catalog, as genai-prices does: the provider
 *	   whose id equals the (aliased, else the call's own) provider name,
 *	   else the first whose provider_match accepts it, else the first whose
 *	   model_match accepts a name; then, name by name, most specific first,
 *	   the first model (by ordinal) whose match rule accepts it, failing
 *	   that each fallback provider in turn (one level).  With no provider,
 *	   name by name: the providers whose model_match accepts it, then every
 *	   provider (without fallbacks).
 *
 * Resolutions are memoised per backend (the last one, and a hash of up to
 * PRICE_MEMO_MAX names), so a scan of many calls matches each distinct
 * model name once; a name with a model alias keeps its periods, each
 * resolved once, and picks the period by the call's time.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "commands/extension.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "storage/procarray.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "price.h"

#define PRICE_NTABLES 9
static const char *const price_tables[PRICE_NTABLES] = {
	"price_catalog", "price_provider", "price_model", "price", "price_tier", "price_discount",
	"provider_alias", "model_alias", "price_catalog_choice"
};
/* indexes into price_tables */
#define PT_CATALOG 0
#define PT_PROVIDER 1
#define PT_MODEL 2
#define PT_PRICE 3
#define PT_TIER 4
#define PT_DISCOUNT 5
#define PT_PROVIDER_ALIAS 6
#define PT_MODEL_ALIAS 7
#define PT_CHOICE 8

/* memo of resolutions: key is provider \x1f model (or \x1e model when NULL) */
#define PRICE_MEMO_KEYLEN 256
#define PRICE_MEMO_MAX 10000

/* One period of a model alias (tokacct.model_alias), names folded. */
typedef struct PriceAliasPeriod
{
	TimestampTz valid_from;
	TimestampTz valid_until;
	char	   *provider;		/* catalog_provider; NULL: the call's, after provider_alias */
	char	   *model;			/* catalog_model */
	bool		resolved;		/* result is known */
	const PriceModel *result;
} PriceAliasPeriod;

/* The periods of one alias: (provider or '', model), by valid_from. */
typedef struct PriceAlias
{
	char	   *provider;
	char	   *model;
	int			nperiods;
	PriceAliasPeriod *periods;
} PriceAlias;

/* A provider alias (tokacct.provider_alias). */
typedef struct PriceProviderAlias
{
	char	   *provider;
	char	   *catalog_provider;
} PriceProviderAlias;

/* A catalog choice (tokacct.price_catalog_choice), in the order tried. */
typedef struct PriceChoice
{
	char	   *provider;
	PriceMatch *model_match;	/* NULL: every model of the provider */
	char	   *catalog;
} PriceChoice;

/*
 * A memoised name: the model alias it has (then the catalog model depends
 * on the call's time), and the catalog model outside the alias's periods
 * (found on first need).
 */
typedef struct PriceMemoEntry
{
	char		key[PRICE_MEMO_KEYLEN];
	const PriceAlias *alias;
	bool		resolved;
	const PriceModel *model;
} PriceMemoEntry;

/*
 * What a snapshot sees of committed transactions: its horizon (xmax) and
 * the transactions it found running below it ("run", sorted; -1 when
 * unknown, for a hot standby snapshot whose subtransaction cache
 * overflowed); and of its own transaction's, the commands before curcid.
 */
typedef struct PriceSnapId
{
	TransactionId xmax;
	int			nrun;
	TransactionId *run;
	CommandId	curcid;
	LocalTransactionId lxid;
} PriceSnapId;

typedef struct PriceCache
{
	MemoryContext cxt;
	Oid			table_oids[PRICE_NTABLES];	/* the relations read (see price_build_relations) */
	Oid			shell_oids[PRICE_NTABLES];	/* the tables of the extension's schema */
	char	   *relnames[PRICE_NTABLES];	/* table_oids' names, quoted and qualified */
	PriceSnapId snap;			/* the snapshot it was read with */
	bool		guarded;		/* every change to the tables invalidates it */
	bool		shared;			/* valid for later snapshots too */
	bool		stale;			/* invalidated, or being read */
	uint64		used;			/* when it last served a snapshot */
	int			nproviders;
	PriceProvider *providers;	/* by catalog precedence, then ordinal */
	int			ndiscounts;
	PriceDiscount *discounts;
	int			nprovider_aliases;
	PriceProviderAlias *provider_aliases;
	int			naliases;
	PriceAlias *aliases;		/* by (provider, model), bytewise */
	int			nchoices;
	PriceChoice *choices;
	int			nregex;
	int			maxregex;
	regex_t   **regexes;		/* compiled with malloc: freed by pg_regfree */
	HTAB	   *memo;
	long		nmemo;
} PriceCache;

/*
 * Two caches: the latest catalog, and another snapshot's (a cursor's, or a
 * statement's while a function it calls runs newer ones), so that calls
 * alternating between two snapshots do not read the catalog at each turn.
 * price_cache is the one serving the current call.
 */
#define PRICE_NSLOTS 2
static PriceCache *price_slots[PRICE_NSLOTS];
static PriceCache *price_cache = NULL;
static uint64 price_use_clock = 0;
static bool price_callback_registered = false;

/*
 * The probe: a snapshot taken after the last invalidation of the catalog
 * arrived (invalid until retaken; invalidations before the callback was
 * registered count as just arrived).  A snapshot that sees everything it
 * sees saw every change this backend has been told of.
 */
static SnapshotData price_probe_data;	/* arrays malloc'd by GetSnapshotData */
static PriceSnapId price_probe;
static bool price_probe_valid = false;

/* this backend's own latest catalog change: transaction and command */
static LocalTransactionId price_own_lxid = InvalidLocalTransactionId;
static CommandId price_own_cid = InvalidCommandId;

/*
 * The last snapshot price_ensure_cache() checked the cache against.  Two
 * snapshots of one transaction with the same horizon and as many running
 * transactions saw the same ones (a transaction running below the horizon
 * of the later one was running for the earlier one).
 */
static TransactionId price_seen_xmin = InvalidTransactionId;
static TransactionId price_seen_xmax = InvalidTransactionId;
static uint32 price_seen_xcnt = 0;
static int32 price_seen_subxcnt = 0;
static CommandId price_seen_curcid = InvalidCommandId;
static LocalTransactionId price_seen_lxid = InvalidLocalTransactionId;

/* the warning that the catalog's triggers do not guard the cache was given */
static bool price_unguarded_warned = false;

/* the last resolution, for scans that price one model row after row */
static bool last_valid = false;
static bool last_prov_null;
static int	last_provlen;
static int	last_modellen;
static char last_prov[PRICE_MEMO_KEYLEN];
static char last_model[PRICE_MEMO_KEYLEN];
static PriceMemoEntry *last_entry;

PG_FUNCTION_INFO_V1(price_catalog_changed);

static Oid	price_checked_user = InvalidOid;

/*
 * Relcache callback: a catalog table changed (or everything was reset).
 * The change's commit, if another backend's, became visible before its
 * invalidation was sent: a probe taken from now on sees it.
 */
static void
price_relcache_callback(Datum arg, Oid relid)
{
	bool		hit = (relid == InvalidOid);
	bool		any = false;
	int			k;
	int			i;

	/* while a cache is being set up, its tables are not known yet: any counts */
	for (k = 0; k < PRICE_NSLOTS; k++)
	{
		if (price_slots[k] == NULL)
			continue;
		any = true;
		for (i = 0; i < PRICE_NTABLES; i++)
			if (price_slots[k]->table_oids[i] == relid || price_slots[k]->shell_oids[i] == relid ||
				!OidIsValid(price_slots[k]->table_oids[i]))
				hit = true;
	}
	if (!hit && any)
		return;
	for (k = 0; k < PRICE_NSLOTS; k++)
		if (price_slots[k] != NULL)
			price_slots[k]->stale = true;
	price_probe_valid = false;
}

/* Syscache callback: a role, a membership, a schema or a function changed; check privileges again. */
static void
price_role_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	price_checked_user = InvalidOid;
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
	/* snapshots of this transaction taken before this command do not see it */
	price_own_lxid = MyProc->lxid;
	price_own_cid = GetCurrentCommandId(false);
	PG_RETURN_POINTER(NULL);
}

static void
price_cache_free(int slot)
{
	PriceCache *c = price_slots[slot];
	int			i;

	if (c == NULL)
		return;
	price_slots[slot] = NULL;
	if (c == price_cache)
		price_cache = NULL;
	last_valid = false;
	for (i = 0; i < c->nregex; i++)
	{
		pg_regfree(c->regexes[i]);
		free(c->regexes[i]);
	}
	if (c->regexes)
		free(c->regexes);
	MemoryContextDelete(c->cxt);
}

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

static int
price_xid_cmp(const void *a, const void *b)
{
	TransactionId x = *(const TransactionId *) a;
	TransactionId y = *(const TransactionId *) b;

	return x < y ? -1 : x > y;
}

/* The transactions a snapshot found running (top-level ones; all on a standby). */
static int
price_snap_running(Snapshot snap, const TransactionId **run)
{
	if (!snap->takenDuringRecovery)
	{
		*run = snap->xip;
		return (int) snap->xcnt;
	}
	*run = snap->subxip;
	return snap->suboverflowed ? -1 : (int) snap->subxcnt;
}

/* Record what a snapshot sees, the running transactions allocated in cxt. */
static void
price_snap_record(PriceSnapId *id, Snapshot snap, MemoryContext cxt)
{
	const TransactionId *run;

	id->xmax = snap->xmax;
	id->nrun = price_snap_running(snap, &run);
	id->run = NULL;
	if (id->nrun > 0)
	{
		id->run = MemoryContextAlloc(cxt, sizeof(TransactionId) * id->nrun);
		memcpy(id->run, run, sizeof(TransactionId) * id->nrun);
		qsort(id->run, id->nrun, sizeof(TransactionId), price_xid_cmp);
	}
	id->curcid = snap->curcid;
	id->lxid = MyProc->lxid;
}

/*
 * Whether a snapshot with horizon xmax, finding "run" running, sees every
 * committed transaction "p" sees: a later horizon, and each transaction
 * running below p's horizon was running for p too.  (A transaction that
 * ended before p, and so is not in p's list, ended before the snapshot too
 * when the snapshot is the later one.)
 */
static bool
price_snap_covers(TransactionId xmax, const TransactionId *run, int nrun, const PriceSnapId *p)
{
	int			i;

	if (nrun < 0 || p->nrun < 0 || TransactionIdPrecedes(xmax, p->xmax))
		return false;
	for (i = 0; i < nrun; i++)
		if (TransactionIdPrecedes(run[i], p->xmax) &&
			(p->nrun == 0 ||
			 bsearch(&run[i], p->run, p->nrun, sizeof(TransactionId), price_xid_cmp) == NULL))
			return false;
	return true;
}

/* Take a probe: a snapshot of now, after the invalidations taken so far. */
static void
price_take_probe(void)
{
	Snapshot	snap = GetSnapshotData(&price_probe_data);

	if (price_probe.run)
		pfree(price_probe.run);
	price_snap_record(&price_probe, snap, TopMemoryContext);
	price_probe_valid = true;
}

/*
 * Whether the cache shows what "snap" sees of the catalog.  A shared cache
 * serves any snapshot that sees all it saw (a catalog change it missed
 * would have invalidated it); any other, snapshots that see just what it
 * saw.  Of the transaction's own changes, a snapshot sees those of commands
 * before its curcid: they must be the same ones too.
 */
static bool
price_cache_fits(const PriceCache *c, Snapshot snap)
{
	const PriceSnapId *b = &c->snap;
	const TransactionId *run;
	int			nrun = price_snap_running(snap, &run);
	bool		same_xact = b->lxid == MyProc->lxid;

	if (!price_snap_covers(snap->xmax, run, nrun, b))
		return false;
	if (!c->shared && !(snap->xmax == b->xmax && nrun == b->nrun))
		return false;
	/* changes made without invalidation: this command's view only */
	if (!c->guarded)
		return same_xact && b->curcid == snap->curcid;
	/* read by a transaction that changed the catalog after it: in it only */
	if (!c->shared && !same_xact && price_own_lxid == b->lxid)
		return false;
	if (price_own_lxid == MyProc->lxid &&
		(!same_xact || b->curcid <= price_own_cid || snap->curcid <= price_own_cid))
		return same_xact && b->curcid == snap->curcid;
	return true;
}

/*
 * Whether every catalog table has both invalidation triggers, firing in
 * every mode a change can be made in: the statement trigger always, the
 * row trigger at least in replica mode (for logical replication apply
 * workers).  Warns once when not, naming the tables.
 */
static bool
price_cache_guarded(Oid nsp, const char *nspname)
{
	Oid			noargs[1] = {InvalidOid};
	Oid			fn = LookupFuncName(list_make2(makeString(pstrdup(nspname)),
											   makeString("price_catalog_changed")),
									0, noargs, true);
	StringInfoData bad;
	int			i;

	initStringInfo(&bad);
	for (i = 0; i < PRICE_NTABLES; i++)
	{
		Relation	rel;
		bool		stmt = false;
		bool		row = false;
		int			k;

		if (!OidIsValid(price_cache->table_oids[i]))
			continue;
		rel = table_open(price_cache->table_oids[i], AccessShareLock);
		for (k = 0; rel->trigdesc && k < rel->trigdesc->numtriggers; k++)
		{
			const Trigger *t = &rel->trigdesc->triggers[k];
			int16		ev = TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE | TRIGGER_TYPE_DELETE;

			if (t->tgfoid != fn || t->tgqual != NULL || (t->tgtype & ev) != ev)
				continue;
			if (TRIGGER_FOR_ROW(t->tgtype))
				row |= (t->tgenabled == TRIGGER_FIRES_ALWAYS || t->tgenabled == TRIGGER_FIRES_ON_REPLICA);
			else
				stmt |= (t->tgenabled == TRIGGER_FIRES_ALWAYS && TRIGGER_FOR_TRUNCATE(t->tgtype));
		}
		table_close(rel, AccessShareLock);
		if (!stmt || !row)
			appendStringInfo(&bad, "%s%s.%s", bad.len ? ", " : "", nspname, price_tables[i]);
	}
	if (bad.len == 0)
	{
		price_unguarded_warned = false;
		return true;
	}
	if (!price_unguarded_warned && !IsParallelWorker())
	{
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("changes to the price catalog may not reach the price cache"),
				 errdetail("Trigger price_catalog_changed must fire always, and price_catalog_changed_row at least in replica mode, on %s; until they do, the pricing functions read the catalog again for every statement.",
						   bad.data),
				 errhint("On each table named, run ALTER TABLE ... ENABLE ALWAYS TRIGGER price_catalog_changed, ENABLE REPLICA TRIGGER price_catalog_changed_row (ALTER TABLE ... ENABLE TRIGGER ALL, as after pg_restore --disable-triggers, makes them fire on origin only).")));
		price_unguarded_warned = true;
	}
	return false;
}

/* Free the slot's old cache and any stale one, and set up an empty cache in the slot. */
static void
price_build_start(int slot, Oid nsp)
{
	MemoryContext cxt;
	int			j;

	/* the slot's old cache, and any other one invalidated since */
	for (j = 0; j < PRICE_NSLOTS; j++)
		if (j == slot || (price_slots[j] != NULL && price_slots[j]->stale))
			price_cache_free(j);
	if (!price_callback_registered)
	{
		CacheRegisterRelcacheCallback(price_relcache_callback, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, price_role_callback, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, price_role_callback, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, price_role_callback, (Datum) 0);
		CacheRegisterSyscacheCallback(PROCOID, price_role_callback, (Datum) 0);
		price_callback_registered = true;
		/* invalidations taken before now are unknown: as if they just came */
		price_probe_valid = false;
	}

	cxt = AllocSetContextCreate(CacheMemoryContext, "tokacct price cache", ALLOCSET_DEFAULT_SIZES);
	price_cache = MemoryContextAllocZero(cxt, sizeof(PriceCache));
	price_cache->cxt = cxt;
	/* stale until fully built: an error part way leaves it to be rebuilt */
	price_cache->stale = true;
	price_slots[slot] = price_cache;

	/* table_oids stay invalid (any invalidation counts) until price_build_relations */
	for (j = 0; j < PRICE_NTABLES; j++)
		price_cache->shell_oids[j] = get_relname_relid(price_tables[j], nsp);
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
static int
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
	for (i = 0; i < SPI_processed;)
	{
		PriceAlias *a = &price_cache->aliases[n++];
		uint64		end;
		uint64		k;
		bool		isnull;

		a->provider = price_getfolded(tt->vals[i], tt->tupdesc, 1);
		a->model = price_getfolded(tt->vals[i], tt->tupdesc, 2);
		for (end = i + 1; end < SPI_processed; end++)
		{
			char	   *p2 = SPI_getvalue(tt->vals[end], tt->tupdesc, 1);
			char	   *m2 = SPI_getvalue(tt->vals[end], tt->tupdesc, 2);

			price_lower(p2, p2, strlen(p2));
			price_lower(m2, m2, strlen(m2));
			if (strcmp(p2, a->provider) != 0 || strcmp(m2, a->model) != 0)
				break;
		}
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

/* Give the new cache its memo, record its snapshot and whether it is shared; mark it fresh. */
static void
price_build_finish(Snapshot snap, Oid nsp, const char *nspname)
{
	HASHCTL		hctl;

	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = PRICE_MEMO_KEYLEN;
	hctl.entrysize = sizeof(PriceMemoEntry);
	hctl.hcxt = price_cache->cxt;
	price_cache->memo = hash_create("tokacct price memo", 256, &hctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	last_valid = false;

	/*
	 * Shared when the snapshot saw every change this backend was told of
	 * (invalidations that arrived while reading included) and the
	 * transaction's own; else it serves this snapshot's view only.
	 */
	price_snap_record(&price_cache->snap, snap, price_cache->cxt);
	price_cache->guarded = price_cache_guarded(nsp, nspname);
	price_cache->shared = false;
	if (price_cache->guarded && !IsInParallelMode() &&
		!(price_own_lxid == MyProc->lxid && snap->curcid <= price_own_cid))
	{
		if (!price_probe_valid)
			price_take_probe();
		price_cache->shared = price_snap_covers(price_cache->snap.xmax, price_cache->snap.run,
												price_cache->snap.nrun, &price_probe);
	}
	price_cache->stale = false;
}

/*
 * Read the catalog tables, as "snap" sees them, into a fresh cache in a
 * slot: providers, models, price rows, tiers and discounts, each compiling
 * its match rules as it reads them.
 */
static void
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

/*
 * The role that owns the extension of function fn_oid (pg_extension.extowner).
 */
static Oid
price_extension_owner(Oid fn_oid)
{
	Oid			ext = getExtensionOfObject(ProcedureRelationId, fn_oid);
	Oid			owner = InvalidOid;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	if (OidIsValid(ext))
	{
		rel = table_open(ExtensionRelationId, AccessShareLock);
		ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(ext));
		scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
		tup = systable_getnext(scan);
		if (HeapTupleIsValid(tup))
			owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
	}
	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("function %u does not belong to the tokacct extension", fn_oid),
				 errdetail("The price catalog is read with the rights of the extension's owner, found from the extension of the pricing function.")));
	return owner;
}

/*
 * price_cache_build with the rights of the extension's owner: the catalog
 * tables are tokacct's own, so a role allowed to price (EXECUTE on the
 * pricing function, USAGE on the schema: price_check_privileges) needs no
 * SELECT on them.  Only the loader's fixed queries on schema-qualified
 * tables run as the owner, with search_path pinned to pg_catalog, pg_temp
 * and as a security-restricted operation (as in a SECURITY DEFINER
 * function and a maintenance command): no user table, function, operator
 * or setting of the caller is used.  The caller's user id and security
 * context come back afterwards, on error too (the search_path setting is
 * undone by the error's (sub)transaction abort, as for SET clauses).
 */
static void
price_cache_build_as_owner(int slot, Oid fn_oid, Snapshot snap)
{
	Oid			owner = price_extension_owner(fn_oid);
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		price_cache_build(slot, fn_oid, snap);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	AtEOXact_GUC(true, save_nestlevel);
}

static const PriceModel *
price_find_model(const PriceProvider *p, PriceName *n, bool fallback)
{
	int			i;

	for (i = 0; i < p->nmodels; i++)
	{
		/* a long name against many rules: stay cancellable (nothing is memoised) */
		CHECK_FOR_INTERRUPTS();
		if (price_match(p->models[i]->match, n))
			return p->models[i];
	}
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

/* The most names a model name gives (itself and its prefixes taken off). */
#define PRICE_MAX_NAMES 8

/* The catalog provider a folded provider name is an alias of, else NULL. */
static const char *
price_provider_alias(const char *name, int len)
{
	int			i;

	for (i = 0; i < price_cache->nprovider_aliases; i++)
	{
		const PriceProviderAlias *a = &price_cache->provider_aliases[i];

		if ((int) strlen(a->provider) == len && memcmp(a->provider, name, len) == 0)
			return a->catalog_provider;
	}
	return NULL;
}

/* A folded provider name after its alias, as a string. */
static const char *
price_provider_resolved(const char *name, int len)
{
	const char *a = price_provider_alias(name, len);

	return a ? a : pnstrdup(name, len);
}

/*
 * Whether the len bytes at s (folded) name a provider, and so may be taken
 * off the front of a model name: the call's provider (as given, or after
 * its alias), a provider alias, or the id of a provider of some catalog.
 */
static bool
price_is_provider_word(const char *s, int len, const char *given, int givenlen, const char *prov)
{
	int			i;

	if ((given && givenlen == len && memcmp(given, s, len) == 0) ||
		(prov && (int) strlen(prov) == len && memcmp(prov, s, len) == 0) ||
		price_provider_alias(s, len) != NULL)
		return true;
	for (i = 0; i < price_cache->nproviders; i++)
		if ((int) strlen(price_cache->providers[i].provider) == len &&
			memcmp(price_cache->providers[i].provider, s, len) == 0)
			return true;
	return false;
}

/* A folded name as PriceName. */
static void
price_name_init(PriceName *n, const char *s, int len)
{
	n->s = s;
	n->len = len;
	n->w = NULL;
	n->wlen = 0;
}

/*
 * Look for the names (most specific first) in one catalog (the providers
 * [first, last)), under provider prov (folded, after its alias), failing
 * that under the call's own provider name "given" (a catalog may use the
 * name an alias replaces as its own id), or, when prov is NULL, under any
 * provider.
 */
static const PriceModel *
price_resolve_in_catalog(int first, int last, const char *prov, const char *given, int givenlen,
						 PriceName *names, int nnames)
{
	const PriceModel *found = NULL;
	int			i;
	int			k;
	int			j;

	if (prov != NULL)
	{
		PriceName	pn[2];
		int			npn = 1;
		const PriceProvider *p = NULL;

		price_name_init(&pn[0], prov, strlen(prov));
		if (given != NULL && !(givenlen == pn[0].len && memcmp(given, prov, givenlen) == 0))
			price_name_init(&pn[npn++], given, givenlen);
		for (j = 0; j < npn && p == NULL; j++)
			for (i = first; i < last && p == NULL; i++)
				if ((int) strlen(price_cache->providers[i].provider) == pn[j].len &&
					memcmp(price_cache->providers[i].provider, pn[j].s, pn[j].len) == 0)
					p = &price_cache->providers[i];
		for (j = 0; j < npn && p == NULL; j++)
			for (i = first; i < last && p == NULL; i++)
				if (price_cache->providers[i].provider_match &&
					price_match(price_cache->providers[i].provider_match, &pn[j]))
					p = &price_cache->providers[i];
		for (k = 0; k < nnames && p == NULL; k++)
			for (i = first; i < last && p == NULL; i++)
				if (price_cache->providers[i].model_match &&
					price_match(price_cache->providers[i].model_match, &names[k]))
					p = &price_cache->providers[i];
		for (k = 0; p != NULL && k < nnames && found == NULL; k++)
			found = price_find_model(p, &names[k], true);
		return found;
	}
	for (k = 0; k < nnames && found == NULL; k++)
	{
		for (i = first; i < last && found == NULL; i++)
			if (price_cache->providers[i].model_match &&
				price_match(price_cache->providers[i].model_match, &names[k]))
				found = price_find_model(&price_cache->providers[i], &names[k], true);
		for (i = first; i < last && found == NULL; i++)
			found = price_find_model(&price_cache->providers[i], &names[k], false);
	}
	return found;
}

/*
 * Resolve a folded model name under a folded provider (after its alias;
 * NULL when the call names none), "given" being the call's own provider
 * name, folded: the steps after the aliases (see the file's header).
 */
static const PriceModel *
price_resolve_names(const char *given, int givenlen, const char *prov,
					const char *model, int modellen, const char *only)
{
	PriceName	names[PRICE_MAX_NAMES];
	int			nnames = 0;
	int			off = 0;
	const char *chosen = NULL;
	const PriceModel *found = NULL;
	int			first;
	int			i;
	int			k;

	/* the name, then each prefix that names a provider or a route taken off */
	price_name_init(&names[nnames++], model, modellen);
	while (nnames < PRICE_MAX_NAMES)
	{
		const char *s = model + off;
		const char *slash = memchr(s, '/', modellen - off);
		int			seglen;

		if (slash == NULL)
			break;
		seglen = slash - s;
		if (seglen == 6 && memcmp(s, "models", 6) == 0)
			off += 7;
		else if (seglen == 10 && memcmp(s, "publishers", 10) == 0)
		{
			const char *pub = slash + 1;
			const char *end = model + modellen;
			const char *slash2 = memchr(pub, '/', end - pub);

			if (slash2 == NULL || slash2 == pub || end - slash2 < 8 || memcmp(slash2 + 1, "models/", 7) != 0)
				break;
			if (prov == NULL)
			{
				given = pub;
				givenlen = slash2 - pub;
				prov = price_provider_resolved(given, givenlen);
			}
			off = slash2 + 8 - model;
		}
		else if (seglen > 0 && price_is_provider_word(s, seglen, given, givenlen, prov))
		{
			if (prov == NULL)
			{
				given = s;
				givenlen = seglen;
				prov = price_provider_resolved(given, givenlen);
			}
			off += seglen + 1;
		}
		else
			break;
		if (off >= modellen)
			break;
		price_name_init(&names[nnames++], model + off, modellen - off);
	}

	/* a catalog chosen for the provider (and model) is tried first */
	chosen = only;
	for (i = 0; only == NULL && prov != NULL && i < price_cache->nchoices && chosen == NULL; i++)
	{
		const PriceChoice *c = &price_cache->choices[i];

		if (strcmp(c->provider, prov) != 0)
			continue;
		if (c->model_match == NULL)
			chosen = c->catalog;
		for (k = 0; k < nnames && chosen == NULL; k++)
			if (price_match(c->model_match, &names[k]))
				chosen = c->catalog;
	}

	/* then every catalog in precedence order */
	for (k = chosen ? 0 : 1; k < (only ? 1 : 2) && found == NULL; k++)
	{
		for (first = 0; first < price_cache->nproviders && found == NULL;)
		{
			const char *cat = price_cache->providers[first].catalog;
			int			last = first;
			bool		is_chosen = chosen != NULL && strcmp(cat, chosen) == 0;

			while (last < price_cache->nproviders && strcmp(price_cache->providers[last].catalog, cat) == 0)
				last++;
			if ((k == 0) == is_chosen)
				found = price_resolve_in_catalog(first, last, prov, given, givenlen, names, nnames);
			first = last;
		}
	}
	return found;
}

/* The model alias (provider or '', model), folded, or NULL. */
static const PriceAlias *
price_find_alias(const char *prov, const char *model)
{
	PriceAlias	key;

	if (price_cache->naliases == 0)
		return NULL;
	key.provider = (char *) prov;
	key.model = (char *) model;
	return bsearch(&key, price_cache->aliases, price_cache->naliases, sizeof(PriceAlias), price_alias_cmp);
}

/* A call's names folded (the provider trimmed of ASCII white space; NULL stays NULL). */
static void
price_fold_call(const char *provider, int provlen, const char *model, int modellen,
				char **fprov, int *fprovlen, char **fmodel)
{
	*fmodel = palloc(modellen + 1);
	price_lower(*fmodel, model, modellen);
	*fprov = NULL;
	*fprovlen = 0;
	if (provider != NULL)
	{
		int			b = 0;
		int			e = provlen;

		while (b < e && isspace((unsigned char) provider[b]))
			b++;
		while (e > b && isspace((unsigned char) provider[e - 1]))
			e--;
		*fprov = palloc(e - b + 1);
		price_lower(*fprov, provider + b, e - b);
		*fprovlen = e - b;
	}
}

/* Fill a memo entry for a name: its model alias, its resolution still unknown. */
static void
price_entry_init(PriceMemoEntry *e, const char *provider, int provlen, const char *model, int modellen)
{
	char	   *fprov;
	char	   *fmodel;
	int			fprovlen;

	price_fold_call(provider, provlen, model, modellen, &fprov, &fprovlen, &fmodel);
	e->alias = price_find_alias(fprov ? fprov : "", fmodel);
	e->resolved = false;
	e->model = NULL;
}

/*
 * The catalog model of a memoised name at time "at": the model alias's
 * period in force, else the name's own resolution (each found once).
 */
static const PriceModel *
price_entry_result(PriceMemoEntry *e, const char *provider, int provlen,
				   const char *model, int modellen, TimestampTz at)
{
	char	   *fprov;
	char	   *fmodel;
	int			fprovlen;
	int			i;

	if (e->alias != NULL)
	{
		for (i = 0; i < e->alias->nperiods; i++)
		{
			PriceAliasPeriod *pp = &e->alias->periods[i];

			if (pp->valid_from <= at && at < pp->valid_until)
			{
				if (!pp->resolved)
				{
					const char *given = e->alias->provider[0] ? e->alias->provider : NULL;
					int			glen = given ? strlen(given) : 0;
					const char *prov = pp->provider ? pp->provider :
						given ? price_provider_resolved(given, glen) : NULL;

					pp->result = price_resolve_names(given, glen, prov, pp->model, strlen(pp->model), NULL);
					pp->resolved = true;
				}
				return pp->result;
			}
		}
	}
	if (!e->resolved)
	{
		price_fold_call(provider, provlen, model, modellen, &fprov, &fprovlen, &fmodel);
		e->model = price_resolve_names(fprov, fprovlen,
									   fprov ? price_provider_resolved(fprov, fprovlen) : NULL,
									   fmodel, modellen, NULL);
		e->resolved = true;
	}
	return e->model;
}

/*
 * The catalog is read with the rights of the extension's owner
 * (price_cache_build_as_owner), so a user needs no SELECT on its tables:
 * whoever may execute a pricing function (PUBLIC may not: grant_reader()
 * grants it) and holds USAGE on the extension's schema may price.  The
 * schema check is made once per user and cache (a change to a role, a
 * membership or the schema resets it, so it is made again); EXECUTE is
 * checked by the executor at every call.
 *
 * Row-level security that applies to the user, or to the owner who reads
 * the catalog (FORCE ROW LEVEL SECURITY), on a catalog table is refused:
 * the cache holds the whole catalog and serves every role of the session
 * (SET ROLE, SET SESSION AUTHORIZATION, SECURITY DEFINER functions), while
 * a policy may depend on the role, a setting or another table, so no cache
 * could show each role its rows.  Roles that bypass it (the owner unless
 * FORCE ROW LEVEL SECURITY, superusers, BYPASSRLS) may price.  Per-customer
 * prices belong in price rows with a customer (customer_cost()), not in
 * policies.
 */
static void
price_check_privileges(Oid fn_oid)
{
	Oid			nsp = get_func_namespace(fn_oid);
	Oid			user = GetUserId();
	Oid			owner = price_extension_owner(fn_oid);
	int			i;

	if (pg_namespace_aclcheck(nsp, user, ACL_USAGE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read the tokacct price catalog"),
				 errdetail("Role \"%s\" has no USAGE privilege on schema %s.",
						   GetUserNameFromId(user, false), get_namespace_name(nsp)),
				 errhint("The extension's owner can grant it: CALL tokacct.grant_reader('%s');",
						 GetUserNameFromId(user, false))));
	/* the executor checks a direct call; attach_list_cost() calls cost() itself */
	if (pg_proc_aclcheck(fn_oid, user, ACL_EXECUTE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read the tokacct price catalog"),
				 errdetail("Role \"%s\" has no EXECUTE privilege on function %s.",
						   GetUserNameFromId(user, false), format_procedure(fn_oid)),
				 errhint("The extension's owner can grant it: CALL tokacct.grant_reader('%s');",
						 GetUserNameFromId(user, false))));
	for (i = 0; i < PRICE_NTABLES; i++)
	{
		Oid			rel = get_relname_relid(price_tables[i], nsp);
		Oid			who = user;

		if (!OidIsValid(rel))
			continue;
		if (check_enable_rls(rel, user, true) != RLS_ENABLED)
			who = owner;
		if (check_enable_rls(rel, who, true) == RLS_ENABLED)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("row-level security on the price catalog is not supported"),
					 errdetail("Row-level security on table %s.%s applies to role \"%s\"; the pricing functions price from one cache of the whole catalog, shared by every role of the session, so they cannot apply a policy.",
							   get_namespace_name(nsp), price_tables[i], GetUserNameFromId(who, false)),
					 errhint("Disable it (ALTER TABLE %s.%s DISABLE ROW LEVEL SECURITY) and give customers their own prices with price rows for the customer and customer_cost(); keep row-level security on the tables of calls.",
							 get_namespace_name(nsp), price_tables[i])));
	}
	price_checked_user = user;
}

/*
 * Make the cache show the catalog as the active snapshot sees it, and
 * check the current user may read it.  The common case (the snapshot of
 * the last call, a current cache, the same user) is a few comparisons.
 */
static void
price_ensure_cache_slow(Oid fn_oid)
{
	Snapshot	snap;
	bool		pushed = false;
	PriceCache *use = price_cache;
	int			k;

	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	snap = GetActiveSnapshot();
	if (snap->xmax != price_seen_xmax || snap->xcnt != price_seen_xcnt ||
		snap->subxcnt != price_seen_subxcnt || snap->curcid != price_seen_curcid ||
		snap->xmin != price_seen_xmin || MyProc->lxid != price_seen_lxid ||
		(snap->takenDuringRecovery && snap->suboverflowed))
	{
		/* a new statement, or a cursor resuming: take what changed since */
		AcceptInvalidationMessages();
		use = NULL;
		for (k = 0; k < PRICE_NSLOTS && use == NULL; k++)
			if (price_slots[k] != NULL && !price_slots[k]->stale &&
				price_cache_fits(price_slots[k], snap))
				use = price_slots[k];
		if (use != NULL)
			use->used = ++price_use_clock;
		price_seen_xmin = snap->xmin;
		price_seen_xmax = snap->xmax;
		price_seen_xcnt = snap->xcnt;
		price_seen_subxcnt = snap->subxcnt;
		price_seen_curcid = snap->curcid;
		price_seen_lxid = MyProc->lxid;
	}
	if (use == NULL || use->stale)
	{
		int			slot = 0;

		/* an empty or invalidated slot, else the one unused the longest */
		for (k = 0; k < PRICE_NSLOTS; k++)
			if (price_slots[k] == NULL || price_slots[k]->stale)
			{
				slot = k;
				break;
			}
			else if (price_slots[k]->used < price_slots[slot]->used)
				slot = k;
		price_checked_user = InvalidOid;
		price_check_privileges(fn_oid);
		price_cache_build_as_owner(slot, fn_oid, snap);
		use = price_slots[slot];
		use->used = ++price_use_clock;
	}
	else if (GetUserId() != price_checked_user)
		price_check_privileges(fn_oid);
	if (use != price_cache)
	{
		price_cache = use;
		last_valid = false;
	}
	if (pushed)
		PopActiveSnapshot();
}

/* The common case inline: the snapshot of the last call, a current cache, the same user. */
static inline void
price_ensure_cache(Oid fn_oid)
{
	Snapshot	snap;

	if (likely(price_cache != NULL && !price_cache->stale && ActiveSnapshotSet()))
	{
		snap = GetActiveSnapshot();
		/* xmax and xcnt tell snapshots apart (see price_seen_xmax), off a standby */
		if (likely(snap->xmax == price_seen_xmax && snap->xcnt == price_seen_xcnt &&
				   snap->curcid == price_seen_curcid && MyProc->lxid == price_seen_lxid &&
				   !snap->takenDuringRecovery && GetUserId() == price_checked_user))
			return;
	}
	price_ensure_cache_slow(fn_oid);
}

/*
 * The catalog model a call's provider (NULL allowed) and model name resolve
 * to at time "at", or NULL.  fn_oid is the calling SQL function (its schema
 * holds the catalog).
 */
const PriceModel *
price_resolve(Oid fn_oid, const char *provider, int provlen, const char *model, int modellen,
			  TimestampTz at)
{
	char		key[PRICE_MEMO_KEYLEN];
	PriceMemoEntry *e;
	bool		found;

	price_ensure_cache(fn_oid);

	if (last_valid && last_modellen == modellen &&
		(provider == NULL ? last_prov_null :
		 (!last_prov_null && last_provlen == provlen && memcmp(last_prov, provider, provlen) == 0)) &&
		memcmp(last_model, model, modellen) == 0)
		return price_entry_result(last_entry, provider, provlen, model, modellen, at);

	/* long names, and names holding the key's separators, skip the memo */
	if (provlen + modellen + 2 >= PRICE_MEMO_KEYLEN ||
		memchr(model, '\0', modellen) || memchr(model, '\x1f', modellen) ||
		(provider && (memchr(provider, '\0', provlen) || memchr(provider, '\x1f', provlen))))
	{
		PriceMemoEntry one;

		price_entry_init(&one, provider, provlen, model, modellen);
		return price_entry_result(&one, provider, provlen, model, modellen, at);
	}

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
	if (e == NULL)
	{
		PriceMemoEntry one;

		price_entry_init(&one, provider, provlen, model, modellen);
		if (price_cache->nmemo >= PRICE_MEMO_MAX)
		{
			HASH_SEQ_STATUS st;
			PriceMemoEntry *x;

			hash_seq_init(&st, price_cache->memo);
			while ((x = hash_seq_search(&st)) != NULL)
				hash_search(price_cache->memo, x->key, HASH_REMOVE, NULL);
			price_cache->nmemo = 0;
			last_valid = false;
		}
		e = hash_search(price_cache->memo, key, HASH_ENTER, &found);
		e->alias = one.alias;
		e->resolved = false;
		e->model = NULL;
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
	last_entry = e;
	return price_entry_result(e, provider, provlen, model, modellen, at);
}

/*
 * The model id (provider/model) a call's names resolve to within one
 * catalog, without aliases or catalog choices, or NULL (not memoised: for
 * comparing catalogs).
 */
const PriceModel *
price_resolve_in(Oid fn_oid, const char *catalog, const char *provider, int provlen,
				 const char *model, int modellen)
{
	char	   *fprov;
	char	   *fmodel;
	int			fprovlen;

	price_ensure_cache(fn_oid);
	price_fold_call(provider, provlen, model, modellen, &fprov, &fprovlen, &fmodel);
	return price_resolve_names(fprov, fprovlen, fprov, fmodel, modellen, catalog);
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
