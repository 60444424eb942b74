/*-------------------------------------------------------------------------
 *
 * price_catalog.c
 *	  The per-backend cache of the price catalog: its invalidation and
 *	  snapshots, who may read it, and the entry points that price from it
 *	  (price_resolve, price_resolve_in, price_find_discount), with the memo
 *	  of resolutions.  The cache is read from the catalog tables in
 *	  price_load.c (price_cache_build); a call's (provider, model) is
 *	  resolved to a catalog model in price_names.c; match rules, their
 *	  patterns and the matcher are in price_match.c.
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
 * The catalog is read with the rights of the extension's owner, by fixed
 * queries under a pinned search_path (price_cache_build_as_owner()); a role
 * may price with EXECUTE on the pricing function and USAGE on the schema.
 * Row-level security that applies to that role or to the owner on a
 * catalog table is refused (one cache serves every role of the session, and
 * a policy may depend on anything), see price_check_privileges().
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
#include "commands/trigger.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "storage/procarray.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "price.h"
#include "price_cache.h"

const char *const price_tables[PRICE_NTABLES] = {
	"price_catalog", "price_provider", "price_model", "price", "price_tier", "price_discount",
	"provider_alias", "model_alias", "price_catalog_choice"
};

#define PRICE_MEMO_MAX 10000

/*
 * Two caches: the latest catalog, and another snapshot's (a cursor's, or a
 * statement's while a function it calls runs newer ones), so that calls
 * alternating between two snapshots do not read the catalog at each turn.
 * price_cache is the one serving the current call.
 */
#define PRICE_NSLOTS 2
static PriceCache *price_slots[PRICE_NSLOTS];
PriceCache *price_cache = NULL;
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
void
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

/* Give the new cache its memo, record its snapshot and whether it is shared; mark it fresh. */
void
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
