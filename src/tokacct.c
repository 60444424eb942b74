/*-------------------------------------------------------------------------
 *
 * tokacct.c
 *	  Module magic and the extension's version function.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(tokacct_version);

/* The version of the loaded shared library. */
Datum
tokacct_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text("0.1.0"));
}
