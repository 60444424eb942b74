/*-------------------------------------------------------------------------
 *
 * price.h
 *	  The price catalog as cost() sees it: a per-backend, in-memory copy of
 *	  the catalog tables, the match rules that map a call's provider and
 *	  model to a catalog model, and the price kinds.
 *
 * Prices are kept as int64 picodollars per token (a price per million
 * tokens times 1e6; the catalog's price_mtok domain guarantees it is a whole
 * number), so the cost of a call is an exact integer sum.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TOKACCT_PRICE_H
#define TOKACCT_PRICE_H

#include "regex/regex.h"
#include "utils/timestamp.h"

/*
 * Price kinds: the per-token prices a price row can hold.  This list is
 * their one definition, in the order of the price table's <kind>_mtok
 * columns: it makes PriceKind and price_kind_names (price_kind.c), and SQL
 * reads it through tokacct.price_kinds(), from which the install script
 * makes those columns, price_tier's check of its kinds and the loaders'
 * list of kinds.  A new kind goes at the end: an upgraded install adds its
 * column after the others, so the order stays the same in both.
 */
#define PRICE_KINDS(X) \
	X(PK_INPUT, "input") \
	X(PK_CACHE_READ, "cache_read") \
	X(PK_CACHE_WRITE, "cache_write") \
	X(PK_OUTPUT, "output") \
	X(PK_REASONING, "reasoning") \
	X(PK_INPUT_AUDIO, "input_audio") \
	X(PK_CACHE_AUDIO_READ, "cache_audio_read") \
	X(PK_OUTPUT_AUDIO, "output_audio") \
	X(PK_INPUT_IMAGE, "input_image") \
	X(PK_OUTPUT_IMAGE, "output_image") \
	X(PK_INPUT_VIDEO, "input_video") \
	X(PK_OUTPUT_VIDEO, "output_video") \
	X(PK_CACHE_WRITE_1H, "cache_write_1h") \
	X(PK_CACHE_IMAGE_READ, "cache_image_read") \
	X(PK_OUTPUT_CITATION, "output_citation")

#define PRICE_KIND_ENUM(id, name) id,
typedef enum PriceKind
{
	PRICE_KINDS(PRICE_KIND_ENUM)
	PK_NKINDS
} PriceKind;

/* Names of the kinds, as in price_tier.kind (index = PriceKind). */
extern const char *const price_kind_names[PK_NKINDS];

/* A context tier: above "threshold" input tokens, this price applies. */
typedef struct PriceTier
{
	int64		threshold;
	int64		pico;			/* picodollars per token */
} PriceTier;

/* One row of tokacct.price. */
typedef struct PriceRow
{
	int64		price_id;
	TimestampTz in_force_from;
	int32		variant;
	bool		has_start;		/* start_date constraint */
	TimestampTz start_at;		/* start_date at 00:00 UTC */
	bool		has_tod;		/* time-of-day constraint */
	int64		tod_start;		/* microseconds since midnight UTC */
	int64		tod_end;
	char		currency[4];
	bool		has[PK_NKINDS];
	int64		pico[PK_NKINDS];	/* picodollars per token */
	int			ntiers[PK_NKINDS];
	PriceTier  *tiers[PK_NKINDS];	/* ascending threshold */
	bool		has_fee;
	int64		fee;			/* picodollars per request */
	bool		has_search_fee;
	int64		search_fee;		/* picodollars per web search */
} PriceRow;

/* A node of a match rule. */
typedef enum PriceMatchOp
{
	PM_EQUALS,
	PM_STARTS_WITH,
	PM_ENDS_WITH,
	PM_CONTAINS,
	PM_REGEX,
	PM_OR,
	PM_AND
} PriceMatchOp;

typedef struct PriceMatch
{
	PriceMatchOp op;
	char	   *arg;			/* lower-cased, for the string operators */
	int			arglen;
	regex_t    *re;				/* PM_REGEX */
	int			nchildren;
	struct PriceMatch **children;	/* PM_OR, PM_AND */
} PriceMatch;

/* price_match.c: the grammar of match rules */
struct JsonbValue;
typedef regex_t *(*PriceRegexCompile) (const char *pattern, int len, const char *what);

/*
 * Read the match rule rule (a jbvBinary object, or any JSON value, which is
 * then malformed), raising an error naming "what" when it is malformed.  In
 * cxt, build and return its PriceMatch tree, its patterns compiled by
 * compile; with cxt NULL, only check it (compile must then check a pattern
 * and return NULL).
 */
extern PriceMatch *price_match_walk(struct JsonbValue *rule, const char *what,
									MemoryContext cxt, PriceRegexCompile compile);

/* Raise the error for a malformed match rule of "what", with a detail. */
extern void price_match_malformed(const char *what, const char *fmt,...)
			pg_attribute_printf(2, 3) pg_attribute_noreturn();

/* A name being matched: lower-cased bytes, and wide chars for regexes. */
typedef struct PriceName
{
	const char *s;				/* lower-cased */
	int			len;
	pg_wchar   *w;				/* built on first regex */
	int			wlen;
} PriceName;

/* Whether match rule m accepts name n (n->w is built on the first regex). */
extern bool price_match(const PriceMatch *m, PriceName *n);
extern void price_lower(char *dst, const char *src, int len);
extern const char *price_regex_compile(const char *pattern, int len, regex_t **out);

/* Price rows of one model for one customer (NULL: the list price). */
typedef struct PriceSet
{
	char	   *customer;
	int			nrows;
	PriceRow   *rows;			/* by (in_force_from, variant) */
} PriceSet;

typedef struct PriceProvider PriceProvider;

typedef struct PriceModel
{
	PriceProvider *provider;
	char	   *model;
	PriceMatch *match;
	int			nsets;
	PriceSet   *sets;			/* sets[0] is the list price if it exists */
} PriceModel;

struct PriceProvider
{
	const char *catalog;
	char	   *provider;
	PriceMatch *provider_match;
	PriceMatch *model_match;
	int			nfallback;
	PriceProvider **fallback;
	int			nmodels;
	PriceModel **models;
};

/* A discount multiplier (price_discount row). */
typedef struct PriceDiscount
{
	char	   *customer;
	char	   *provider;		/* NULL: any */
	char	   *model;			/* NULL: any */
	TimestampTz valid_from;
	TimestampTz valid_until;
	int64		micro;			/* multiplier times 1e6 */
} PriceDiscount;

/* Token counts of one call, by kind of token (all non-negative). */
typedef struct PriceUsage
{
	int64		input;			/* all input, cache reads and writes included */
	int64		cache_read;		/* all cache reads, every modality */
	int64		cache_write;	/* all cache writes, one-hour ones included */
	int64		cache_write_1h; /* cache writes kept for an hour */
	int64		output;			/* all output, reasoning included */
	int64		reasoning;
	int64		input_audio;	/* audio input, cached audio included */
	int64		cache_audio_read;
	int64		output_audio;
	int64		input_image;
	int64		cache_image_read;
	int64		output_image;
	int64		input_video;
	int64		cache_video_read;
	int64		output_video;
	int64		output_citation;
	int64		requests;
	int64		web_searches;
} PriceUsage;

/* The result of pricing one call. */
typedef struct PriceResult
{
	int128		input;			/* picodollars */
	int128		output;
	int128		fee;			/* per-request and per-search fees */
	const PriceModel *model;
	const PriceRow *row;
} PriceResult;

/* price_catalog.c */
extern const PriceModel *price_resolve(Oid fn_oid, const char *provider, int provlen,
									   const char *model, int modellen, TimestampTz at);
extern const PriceModel *price_resolve_in(Oid fn_oid, const char *catalog, const char *provider,
										  int provlen, const char *model, int modellen);
extern const PriceDiscount *price_find_discount(const char *customer, const PriceModel *model,
												TimestampTz at);

#endif							/* TOKACCT_PRICE_H */
