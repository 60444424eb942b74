/*-------------------------------------------------------------------------
 *
 * price_cache.h
 *	  The per-backend cache of the price catalog, shared by the files that
 *	  keep it (price_catalog.c), read it from the catalog tables
 *	  (price_load.c) and resolve a call's names in it (price_names.c).
 *	  Internal to those files: the rest of tokacct uses price.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_PRICE_CACHE_H
#define TOKACCT_PRICE_CACHE_H

#include "utils/hsearch.h"
#include "utils/snapshot.h"

#include "price.h"

#define PRICE_NTABLES 9
extern const char *const price_tables[PRICE_NTABLES];
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

/* the cache serving the current call (price_catalog.c) */
extern PriceCache *price_cache;

/* price_catalog.c: set up an empty cache in a slot; finish a cache read */
extern void price_build_start(int slot, Oid nsp);
extern void price_build_finish(Snapshot snap, Oid nsp, const char *nspname);

/* price_load.c: read the catalog tables into a fresh cache */
extern void price_cache_build(int slot, Oid fn_oid, Snapshot snap);
extern int	price_alias_cmp(const void *a, const void *b);

/* price_names.c: resolve a call's names in the cache */
extern const PriceModel *price_resolve_names(const char *given, int givenlen, const char *prov,
											 const char *model, int modellen, const char *only);
extern void price_fold_call(const char *provider, int provlen, const char *model, int modellen,
							char **fprov, int *fprovlen, char **fmodel);
extern void price_entry_init(PriceMemoEntry *e, const char *provider, int provlen,
							 const char *model, int modellen);
extern const PriceModel *price_entry_result(PriceMemoEntry *e, const char *provider, int provlen,
											const char *model, int modellen, TimestampTz at);

#endif							/* TOKACCT_PRICE_CACHE_H */
