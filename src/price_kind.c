/*-------------------------------------------------------------------------
 *
 * price_kind.c
 *	  The names of the price kinds, from their one definition (PRICE_KINDS
 *	  in price.h), and tokacct.price_kinds(), which gives them to SQL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "price.h"

#define PRICE_KIND_NAME(id, name) name,
const char *const price_kind_names[PK_NKINDS] = {
	PRICE_KINDS(PRICE_KIND_NAME)
};

PG_FUNCTION_INFO_V1(price_kinds);

/* tokacct.price_kinds(): the price kinds, in the order of PriceKind. */
Datum
price_kinds(PG_FUNCTION_ARGS)
{
	Datum		names[PK_NKINDS];

	for (int k = 0; k < PK_NKINDS; k++)
		names[k] = CStringGetTextDatum(price_kind_names[k]);
	PG_RETURN_ARRAYTYPE_P(construct_array(names, PK_NKINDS, TEXTOID, -1, false, TYPALIGN_INT));
}
