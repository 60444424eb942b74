/*-------------------------------------------------------------------------
 *
 * price_names.c
 *	  The resolution of a call's (provider, model) to a model of the cached
 *	  price catalog (price_resolve_names), and the memo entries that keep a
 *	  name's resolution and model alias (price_entry_init,
 *	  price_entry_result).  The memo itself, and the cache, are
 *	  price_catalog.c's.
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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "price.h"
#include "price_cache.h"

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
const PriceModel *
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
void
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
void
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
const PriceModel *
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
