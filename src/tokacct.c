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

/* The version is set once, in tokacct.control; the Makefile passes it in. */
#ifndef TOKACCT_VERSION
#error "TOKACCT_VERSION is not defined: build tokacct with its Makefile"
#endif

PG_FUNCTION_INFO_V1(tokacct_version);

/* The version of the loaded shared library. */
Datum
tokacct_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(TOKACCT_VERSION));
}
