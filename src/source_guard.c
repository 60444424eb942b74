/*-------------------------------------------------------------------------
 *
 * source_guard.c
 *	  Reading a relation the caller names without running its owner's code.
 *
 * Functions such as unpriced_models(regclass, ...) and waste_by_trace(regclass,
 * ...) read a table or view the caller names.  Much of what a relation's
 * owner attaches to it runs with the privileges of the role that READS it:
 * casts and operators of the owner's column types, a view's functions,
 * row-level security policies, a foreign table's server, and the index,
 * CHECK constraint, statistics and partition-key expressions that the
 * planner folds to constants (an IMMUTABLE function with constant arguments
 * is called while the query is planned).  If a superuser called such a
 * function on a table an ordinary role owns, that role's code ran as a
 * superuser.
 *
 * The guard here is the one way tokacct reads a caller-named relation:
 *
 *	source_check(source, columns, kinds)
 *		locks the relation (AccessShareLock, until the end of the
 *		transaction, so its definition cannot change under the caller) and
 *		checks it and every relation it reads;
 *	source_query(source, columns, kinds, query)
 *		does the same, then parses and rewrites the query, checks the
 *		rewritten tree (it reads `source`, every relation in it passes the
 *		rules below, every function and type in it is trusted), and only
 *		then plans and runs it, returning its rows.
 *
 * The rules.  A role is TRUSTED when it has the caller's privileges
 * (has_privs_of_role(role, caller): the caller itself, a superuser, a role
 * that inherits the caller): running its code as the caller gives it
 * nothing it does not have.  Note the direction: that the caller has the
 * owner's privileges is no reason to run the owner's code (a superuser has
 * everyone's).
 *
 *	- Each column read must exist, be readable by the caller, and have one
 *	  of the built-in types of its kind (below).  Built-in types (OID below
 *	  FirstNormalObjectId) are owned by the bootstrap superuser, so only a
 *	  superuser can add a cast or a default operator class between them;
 *	  domains are refused even over built-in types (their CHECK constraints
 *	  may call any function).
 *	- A view or a foreign table is read only if its owner is trusted.
 *	- A relation whose row-level security applies to the reader (see
 *	  check_enable_rls) is read only if its owner is trusted.
 *	- A relation whose owner is not trusted, and each partition or child
 *	  table read with it, may carry index, CHECK, statistics and
 *	  partition-key expressions only of built-in functions and types (or
 *	  tokacct's own, or trusted roles' ones); an untrusted foreign
 *	  partition is refused.
 *	- In the query tokacct runs, every function (casts, operators, sort and
 *	  group operators included) and every type is built-in, tokacct's own
 *	  or a trusted role's, except inside a trusted view (its owner's code).
 *	  Run with search_path = pg_catalog, pg_temp: operators and functions
 *	  are never looked up in pg_temp, and pg_catalog is a superuser's.
 *
 * The guard itself runs no user code: it reads catalogs (relcache entries,
 * syscache rows, the stored text of expressions, which it parses with
 * stringToNode but never evaluates) and formats names with the built-in
 * output of regclass-like names.  It never calls RelationGetIndexExpressions
 * and friends, which constant-fold.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/transam.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_partitioned_table.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tstoreReceiver.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "rewrite/rewriteHandler.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/rls.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(source_check);
PG_FUNCTION_INFO_V1(source_query);
PG_FUNCTION_INFO_V1(rollup_source_hold);

/* Views nest at most this deep (a cycle would otherwise recurse forever). */
#define SOURCE_MAX_VIEW_DEPTH 64

/*
 * A kind of column and the built-in types accepted for it.  The reading
 * query casts the column to one type of the kind (text, numeric...); every
 * such cast between built-in types is built-in.
 */
typedef struct SourceKind
{
	const char *name;			/* as passed in kinds[] */
	const char *what;			/* for messages */
	const char *types;			/* the accepted types, for messages */
	Oid			oids[10];		/* accepted type OIDs, InvalidOid-ended */
} SourceKind;

static const SourceKind source_kinds[] = {
	{"string", "a string", "text, character varying, character, name",
	{TEXTOID, VARCHAROID, BPCHAROID, NAMEOID, InvalidOid}},
	{"id", "an identifier",
		"text, character varying, character, name, uuid, smallint, integer, bigint, bytea",
	{TEXTOID, VARCHAROID, BPCHAROID, NAMEOID, UUIDOID, INT2OID, INT4OID, INT8OID, BYTEAOID, InvalidOid}},
	{"integer", "an integer", "smallint, integer, bigint",
	{INT2OID, INT4OID, INT8OID, InvalidOid}},
	{"money", "an amount", "numeric, real, double precision, smallint, integer, bigint",
	{NUMERICOID, FLOAT4OID, FLOAT8OID, INT2OID, INT4OID, INT8OID, InvalidOid}},
	{"time", "a time", "timestamp with time zone, timestamp without time zone",
	{TIMESTAMPTZOID, TIMESTAMPOID, InvalidOid}},
	{"bool", "a boolean", "boolean",
	{BOOLOID, InvalidOid}},
	{"jsonb", "a JSON document", "jsonb, json",
	{JSONBOID, JSONOID, InvalidOid}},
};

#define SOURCE_NKINDS ((int) lengthof(source_kinds))
#define SOURCE_KIND_NAMES "string, id, integer, money, time, bool, jsonb"

static bool
source_kind_accepts(const SourceKind *kind, Oid typid)
{
	int			i;

	for (i = 0; i < (int) lengthof(kind->oids) && OidIsValid(kind->oids[i]); i++)
		if (kind->oids[i] == typid)
			return true;
	return false;
}

/*
 * Where an expression attached to a relation comes from, for messages: the
 * relation read, the partition or child table it was found on (or the
 * relation itself) and the part of it ("index x", ...).
 */
typedef struct SourceWhere
{
	Oid			relid;
	Oid			part;
	const char *what;
} SourceWhere;

/* What one check is about: the reader, tokacct, the source. */
typedef struct SourceGuard
{
	Oid			userid;			/* the reader, whose privileges are at stake */
	Oid			extoid;			/* tokacct's extension (its objects are trusted) */
	Oid			source;			/* the relation the caller named */
	bool		source_seen;	/* the query reads it */
	bool		expand_views;	/* look into views' stored queries */
	Oid			expanding;		/* the view whose stored query is walked */
	int			view_depth;		/* views entered */
	bool		in_view;		/* walking a trusted view's own query */
	const char *via;			/* that view's name, for messages */
	SourceWhere *where;			/* the attached expression walked, if any */
} SourceGuard;

static void source_check_relation(SourceGuard *g, Oid relid, Oid checkasuser,
								  bool inh);
static bool source_walker(Node *node, SourceGuard *g);
static void source_refuse_object(SourceGuard *g, const char *objkind,
								 const char *objname, Oid owner) pg_attribute_noreturn();
static void source_refuse_owner(SourceGuard *g, Oid relid, const char *relkind,
								const char *why_detail) pg_attribute_noreturn();

/* A relation's name, schema-qualified and quoted as needed. */
static char *
source_relname(Oid relid)
{
	char	   *rel = get_rel_name(relid);
	char	   *nsp;

	if (rel == NULL)
		return psprintf("relation %u", relid);
	nsp = get_namespace_name(get_rel_namespace(relid));
	return quote_qualified_identifier(nsp, rel);
}

static char *
source_rolename(Oid roleid)
{
	return pstrdup(quote_identifier(GetUserNameFromId(roleid, false)));
}

static Oid
source_rel_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* Has this role the reader's privileges (so its code may run as the reader)? */
static bool
source_role_trusted(SourceGuard *g, Oid roleid)
{
	return has_privs_of_role(roleid, g->userid);
}

/*
 * Is an object of a catalog trusted: built in (created by initdb), part of
 * tokacct, or owned by a trusted role?  Sets *owner when it is not.
 */
static bool
source_object_trusted(SourceGuard *g, Oid classid, Oid objid, Oid *owner)
{
	HeapTuple	tup;

	*owner = InvalidOid;
	if (objid < FirstNormalObjectId)
		return true;
	if (OidIsValid(g->extoid) && getExtensionOfObject(classid, objid) == g->extoid)
		return true;
	if (classid == ProcedureRelationId)
	{
		tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(objid));
		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for function %u", objid);
		*owner = ((Form_pg_proc) GETSTRUCT(tup))->proowner;
	}
	else
	{
		Assert(classid == TypeRelationId);
		tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(objid));
		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for type %u", objid);
		*owner = ((Form_pg_type) GETSTRUCT(tup))->typowner;
	}
	ReleaseSysCache(tup);
	return source_role_trusted(g, *owner);
}

static void
source_refuse_object(SourceGuard *g, const char *objkind, const char *objname,
					 Oid owner)
{
	char	   *ownername = source_rolename(owner);
	char	   *username = source_rolename(g->userid);

	if (g->where == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("tokacct will not read %s: the query would call %s %s of role %s",
						source_relname(g->source), objkind, objname, ownername),
				 errdetail("Code of role %s would run with the privileges of role %s, who reads it.",
						   ownername, username),
				 errhint("On what tokacct reads, only functions and types that are built in, tokacct's own or owned by a role with the reader's privileges may run.")));
	else
	{
		SourceWhere *w = g->where;
		char	   *part = (w->part == w->relid) ? pstrdup("") :
			psprintf(" of %s, read with it,", source_relname(w->part));

		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("tokacct will not read %s: %s%s uses %s %s of role %s",
						source_relname(w->relid), w->what, part, objkind, objname,
						ownername),
				 errdetail("PostgreSQL's planner evaluates index, CHECK constraint, statistics and partition-key expressions "
						   "with the privileges of the role that reads the table, "
						   "so reading it would run code of role %s as role %s.",
						   ownername, username),
				 errhint("Read it as its owner (SET ROLE %s), or have its owner use only built-in functions and types there.",
						 source_rolename(source_rel_owner(w->part)))));
	}
}

/* check_functions_in_node callback: true (stop) at a function not trusted. */
static bool
source_func_untrusted(Oid funcid, void *context)
{
	SourceGuard *g = (SourceGuard *) context;
	Oid			owner;

	if (source_object_trusted(g, ProcedureRelationId, funcid, &owner))
		return false;
	source_refuse_object(g, "function", format_procedure(funcid), owner);
}

static void
source_check_type(SourceGuard *g, Oid typid)
{
	Oid			owner;

	if (!OidIsValid(typid) || source_object_trusted(g, TypeRelationId, typid, &owner))
		return;
	source_refuse_object(g, "type", format_type_be(typid), owner);
}

static void
source_check_operator(SourceGuard *g, Oid opno)
{
	if (OidIsValid(opno))
		(void) source_func_untrusted(get_opcode(opno), g);
}

/*
 * The one walker, over expressions and queries.  Relations met in range
 * tables go through source_check_relation; functions, operators and types
 * are checked unless we are inside a trusted view's own query.  Errors are
 * raised where found; the return value only follows the walker protocol.
 */
static bool
source_walker(Node *node, SourceGuard *g)
{
	if (node == NULL)
		return false;
	check_stack_depth();

	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;

		if (!g->in_view && q->rowMarks != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("tokacct reads %s, it does not lock its rows",
							source_relname(g->source)),
					 errhint("Remove FOR UPDATE or FOR SHARE from the query.")));
		return query_tree_walker(q, source_walker, (void *) g,
								 QTW_EXAMINE_RTES_BEFORE | QTW_IGNORE_RT_SUBQUERIES |
								 QTW_EXAMINE_SORTGROUP);
	}

	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION)
		{
			/* a stored view query's OLD and NEW entries: the view itself */
			if (g->expand_views && rte->relid == g->expanding)
				return false;
			if (rte->relid == g->source)
				g->source_seen = true;
			source_check_relation(g, rte->relid, rte->checkAsUser, rte->inh);
		}
		else if (rte->rtekind == RTE_SUBQUERY && rte->subquery != NULL)
		{
			Query	   *sub = rte->subquery;
			RangeTblEntry *first = (sub->rtable != NIL) ?
				(RangeTblEntry *) linitial(sub->rtable) : NULL;
			bool		save_in_view = g->in_view;
			const char *save_via = g->via;

			/*
			 * The rewriter replaces a view by a subquery whose first range
			 * table entry is the view itself (its permission checks are made
			 * there).  A trusted view's expressions are its owner's; the
			 * relations it reads are still checked.  An untrusted view is
			 * refused when that entry is checked.
			 */
			if (first != NULL && first->rtekind == RTE_RELATION &&
				first->relkind == RELKIND_VIEW)
			{
				source_check_relation(g, first->relid, first->checkAsUser, false);
				if (first->relid == g->source)
					g->source_seen = true;
				g->in_view = true;
				g->via = source_relname(first->relid);
			}
			(void) source_walker((Node *) sub, g);
			g->in_view = save_in_view;
			g->via = save_via;
		}
		return false;
	}

	if (IsA(node, SortGroupClause))
	{
		if (!g->in_view)
		{
			source_check_operator(g, ((SortGroupClause *) node)->eqop);
			source_check_operator(g, ((SortGroupClause *) node)->sortop);
		}
		return false;
	}

	if (!g->in_view)
	{
		(void) check_functions_in_node(node, source_func_untrusted, (void *) g);

		switch (nodeTag(node))
		{
			case T_SetOperationStmt:
				/* the operators of UNION, INTERSECT, EXCEPT */
				(void) source_walker((Node *) ((SetOperationStmt *) node)->groupClauses, g);
				break;
			case T_RangeTblFunction:
				{
					ListCell   *lc;

					foreach(lc, ((RangeTblFunction *) node)->funccoltypes)
						source_check_type(g, lfirst_oid(lc));
				}
				break;
			case T_Var:
			case T_Const:
			case T_Param:
			case T_RelabelType:
			case T_CoerceViaIO:
			case T_ArrayCoerceExpr:
			case T_ConvertRowtypeExpr:
			case T_CoerceToDomain:
			case T_RowExpr:
			case T_CaseExpr:
			case T_CoalesceExpr:
			case T_MinMaxExpr:
			case T_ArrayExpr:
			case T_FieldSelect:
			case T_FieldStore:
			case T_SubscriptingRef:
				source_check_type(g, exprType(node));
				break;
			default:
				break;
		}
	}
	return expression_tree_walker(node, source_walker, (void *) g);
}

/* Walk one stored expression attached to a relation (nodeToString text). */
static void
source_check_stored_expr(SourceGuard *g, Oid relid, Oid part, const char *what,
						 Datum stored)
{
	SourceWhere where;
	SourceWhere *save_where = g->where;
	bool		save_in_view = g->in_view;

	where.relid = relid;
	where.part = part;
	where.what = what;
	g->where = &where;
	g->in_view = false;
	(void) source_walker(stringToNode(TextDatumGetCString(stored)), g);
	g->where = save_where;
	g->in_view = save_in_view;
}

/*
 * The expressions the planner may evaluate when it reads one relation
 * (`part`, the relation `relid` itself or one of its partitions or child
 * tables): those of its indexes, CHECK constraints, statistics objects and
 * partition key.  Skipped when the owner is trusted.
 */
static void
source_check_attached(SourceGuard *g, Oid relid, Relation part)
{
	Oid			partid = RelationGetRelid(part);
	Oid			owner = part->rd_rel->relowner;
	TupleConstr *constr = RelationGetDescr(part)->constr;
	List	   *oids;
	ListCell   *lc;

	if (source_role_trusted(g, owner))
		return;

	if (part->rd_rel->relkind == RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("tokacct will not read %s: its partition or child %s is a foreign table of role %s",
						source_relname(relid), source_relname(partid), source_rolename(owner)),
				 errdetail("A foreign table is read through its server with the reader's user mapping, "
						   "from wherever its owner pointed it."),
				 errhint("Read it as its owner (SET ROLE %s).", source_rolename(owner))));

	oids = RelationGetIndexList(part);
	foreach(lc, oids)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		char	   *what = psprintf("index %s", source_relname(indexoid));
		Datum		d;
		bool		isnull;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for index %u", indexoid);
		d = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indexprs, &isnull);
		if (!isnull)
			source_check_stored_expr(g, relid, partid, what, d);
		d = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indpred, &isnull);
		if (!isnull)
			source_check_stored_expr(g, relid, partid, what, d);
		ReleaseSysCache(tup);
	}
	list_free(oids);

	if (constr != NULL)
	{
		int			i;

		for (i = 0; i < constr->num_check; i++)
			source_check_stored_expr(g, relid, partid,
									 psprintf("check constraint %s",
											  quote_identifier(constr->check[i].ccname)),
									 CStringGetTextDatum(constr->check[i].ccbin));
	}

	oids = RelationGetStatExtList(part);
	foreach(lc, oids)
	{
		Oid			statoid = lfirst_oid(lc);
		HeapTuple	tup = SearchSysCache1(STATEXTOID, ObjectIdGetDatum(statoid));
		Datum		d;
		bool		isnull;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for statistics object %u", statoid);
		d = SysCacheGetAttr(STATEXTOID, tup, Anum_pg_statistic_ext_stxexprs, &isnull);
		if (!isnull)
		{
			Form_pg_statistic_ext st = (Form_pg_statistic_ext) GETSTRUCT(tup);

			source_check_stored_expr(g, relid, partid,
									 psprintf("statistics object %s",
											  quote_qualified_identifier(get_namespace_name(st->stxnamespace),
																		 NameStr(st->stxname))),
									 d);
		}
		ReleaseSysCache(tup);
	}
	list_free(oids);

	if (part->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
	{
		HeapTuple	tup = SearchSysCache1(PARTRELID, ObjectIdGetDatum(partid));
		Datum		d;
		bool		isnull;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for partition key of relation %u", partid);
		d = SysCacheGetAttr(PARTRELID, tup, Anum_pg_partitioned_table_partexprs, &isnull);
		if (!isnull)
			source_check_stored_expr(g, relid, partid, "the partition key", d);
		ReleaseSysCache(tup);
	}
}

static void
source_refuse_owner(SourceGuard *g, Oid relid, const char *relkind,
					const char *why_detail)
{
	char	   *owner = source_rolename(source_rel_owner(relid));

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("tokacct will not read %s %s: its owner %s does not have the privileges of role %s",
					relkind, source_relname(relid), owner, source_rolename(g->userid)),
			 g->via ? errdetail("%s It is read through view %s.", why_detail, g->via) :
			 errdetail("%s", why_detail),
			 errhint("Read it as its owner (SET ROLE %s), or through a view of your own over the tables it reads.",
					 owner)));
}

/*
 * Check one relation the query reads (already locked by the caller or by
 * parse analysis; locked here anyway): its kind, its owner for views,
 * foreign tables and row-level security, and what the planner would
 * evaluate on it and on its partitions and children when inh is set.
 */
static void
source_check_relation(SourceGuard *g, Oid relid, Oid checkasuser, bool inh)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	char		relkind = rel->rd_rel->relkind;
	Oid			owner = rel->rd_rel->relowner;
	bool		trusted = source_role_trusted(g, owner);

	check_stack_depth();

	if (relkind == RELKIND_VIEW && !trusted)
		source_refuse_owner(g, relid, "view",
							"The functions and operators of a view run with the privileges of the role that reads it.");
	if (relkind == RELKIND_FOREIGN_TABLE && !trusted)
		source_refuse_owner(g, relid, "foreign table",
							"A foreign table is read through its server with the reader's user mapping, from wherever its owner pointed it.");
	if (!trusted && check_enable_rls(relid, checkasuser, true) == RLS_ENABLED)
	{
		char	   *ownername = source_rolename(owner);

		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("tokacct will not read %s: its row-level security policies would run as role %s",
						source_relname(relid), source_rolename(g->userid)),
				 errdetail("Its policies are code of its owner %s, who does not have the privileges of role %s; "
						   "a policy's expressions run with the privileges of the role that reads the table.",
						   ownername, source_rolename(g->userid)),
				 errhint("Read it as its owner (SET ROLE %s) or as a role that bypasses row-level security.",
						 ownername)));
	}

	if (relkind == RELKIND_VIEW)
	{
		/*
		 * A trusted view: when asked to (source_check, which sees no
		 * rewritten query), look at the relations its own query reads.
		 */
		if (g->expand_views)
		{
			bool		save_in_view = g->in_view;
			const char *save_via = g->via;
			Oid			save_expanding = g->expanding;

			if (++g->view_depth > SOURCE_MAX_VIEW_DEPTH)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("views nest more than %d deep under %s",
								SOURCE_MAX_VIEW_DEPTH, source_relname(g->source)),
						 errhint("Read a view that nests fewer views.")));
			g->in_view = true;
			g->via = source_relname(relid);
			g->expanding = relid;
			(void) source_walker((Node *) get_view_query(rel), g);
			g->in_view = save_in_view;
			g->via = save_via;
			g->expanding = save_expanding;
			g->view_depth--;
		}
	}
	else if (inh && (relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE))
	{
		List	   *parts = find_all_inheritors(relid, AccessShareLock, NULL);
		ListCell   *lc;

		foreach(lc, parts)
		{
			Oid			partid = lfirst_oid(lc);
			Relation	part = (partid == relid) ? rel : try_relation_open(partid, NoLock);

			if (part == NULL)
				continue;		/* dropped while we waited for its lock */
			source_check_attached(g, relid, part);
			if (part != rel)
				relation_close(part, NoLock);
		}
		list_free(parts);
	}
	else
		source_check_attached(g, relid, rel);

	relation_close(rel, NoLock);
}

/* Deconstruct a text[] argument into C strings; no NULLs allowed. */
static int
source_text_array(ArrayType *arr, const char *argname, char ***out)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", argname),
				 errhint("Pass ARRAY['a', 'b'].")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	*out = palloc(sizeof(char *) * (n + 1));
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", argname),
					 errdetail("Element %d is NULL.", i + 1)));
		(*out)[i] = TextDatumGetCString(elems[i]);
	}
	return n;
}

/*
 * The columns read: each exists, is readable by the reader and has a type
 * of its kind.
 */
static void
source_check_columns(SourceGuard *g, Relation rel, ArrayType *columns_arr,
					 ArrayType *kinds_arr)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			relid = RelationGetRelid(rel);
	char	  **columns;
	char	  **kinds;
	int			ncolumns = source_text_array(columns_arr, "columns", &columns);
	int			nkinds = source_text_array(kinds_arr, "kinds", &kinds);
	bool		all_readable = pg_class_aclcheck(relid, g->userid, ACL_SELECT) == ACLCHECK_OK;
	int			c;

	if (ncolumns != nkinds)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("columns and kinds differ in length: %d and %d", ncolumns, nkinds),
				 errhint("Give one kind per column.")));

	for (c = 0; c < ncolumns; c++)
	{
		const SourceKind *kind = NULL;
		Form_pg_attribute att = NULL;
		Oid			typid;
		int			k;

		for (k = 0; k < SOURCE_NKINDS; k++)
			if (strcmp(kinds[c], source_kinds[k].name) == 0)
				kind = &source_kinds[k];
		if (kind == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown column kind \"%s\" for column \"%s\"", kinds[c], columns[c]),
					 errhint("Kinds are: %s.", SOURCE_KIND_NAMES)));

		for (k = 0; k < desc->natts; k++)
		{
			Form_pg_attribute a = TupleDescAttr(desc, k);

			if (!a->attisdropped && strcmp(NameStr(a->attname), columns[c]) == 0)
				att = a;
		}
		if (att == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation %s does not exist",
							columns[c], source_relname(relid)),
					 errdetail("tokacct reads %s (%s) from a column of this name.",
							   kind->what, kind->types),
					 errhint("Name the column that holds it, or read a view that gives it this name.")));

		if (!all_readable &&
			pg_attribute_aclcheck(relid, att->attnum, g->userid, ACL_SELECT) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for column \"%s\" of relation %s",
							columns[c], source_relname(relid)),
					 errhint("Its owner can grant it: GRANT SELECT ON %s TO %s.",
							 source_relname(relid), source_rolename(g->userid))));

		typid = att->atttypid;
		if (source_kind_accepts(kind, typid))
			continue;
		if (get_typtype(typid) == TYPTYPE_DOMAIN)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of relation %s has type %s, a domain, not %s",
							columns[c], source_relname(relid), format_type_be(typid), kind->what),
					 errdetail("Accepted types: %s. A domain's CHECK constraints may call functions, "
							   "which would run with the reader's privileges: domains are refused, even over these types.",
							   kind->types),
					 errhint("Cast it to its base type (%s) in a view you own, and read the view.",
							 format_type_be(getBaseType(typid)))));
		if (typid >= FirstNormalObjectId)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of relation %s has type %s, not %s",
							columns[c], source_relname(relid), format_type_be(typid), kind->what),
					 errdetail("Accepted types: %s. A type that is not built into PostgreSQL may bring casts and operators "
							   "whose functions would run with the reader's privileges.",
							   kind->types),
					 errhint("Convert it in a view you own, with pg_catalog.format('%%s', %s) rather than a cast, and read the view.",
							 quote_identifier(columns[c]))));
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation %s has type %s, not %s",
						columns[c], source_relname(relid), format_type_be(typid), kind->what),
				 errdetail("Accepted types: %s.", kind->types),
				 errhint("Cast it in a view you own, and read the view.")));
	}
}

/*
 * Common part of source_check and source_query: arguments, the lock, the
 * relation's kind and its columns; with check_relation, the relation and
 * what it reads (views' stored queries looked into).  source_query leaves
 * that to its walk of the rewritten query, which sees the same relations.
 */
static void
source_guard_start(FunctionCallInfo fcinfo, SourceGuard *g, bool check_relation)
{
	Oid			relid;
	Relation	rel;
	char		relkind;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the relation to read must not be NULL"),
				 errhint("Name a table or a view, e.g. 'my_schema.my_table'.")));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("columns and kinds must not be NULL"),
				 errhint("Pass the columns read and their kinds, e.g. ARRAY['model'] and ARRAY['string'].")));
	relid = PG_GETARG_OID(0);

	memset(g, 0, sizeof(*g));
	g->userid = GetUserId();
	g->extoid = getExtensionOfObject(ProcedureRelationId, fcinfo->flinfo->fn_oid);
	g->source = relid;
	g->expand_views = check_relation;

	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid),
				 errhint("Name an existing table or view.")));
	relkind = rel->rd_rel->relkind;
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_VIEW && relkind != RELKIND_MATVIEW &&
		relkind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s is not a table, view or materialized view", source_relname(relid)),
				 errhint("Name a table, a partitioned table, a view, a materialized view or a foreign table.")));

	source_check_columns(g, rel, PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_ARRAYTYPE_P(2));
	relation_close(rel, NoLock);	/* the lock stays until the end of the
									 * transaction */
	if (check_relation)
		source_check_relation(g, relid, InvalidOid, true);
}

/*
 * source_check(source regclass, columns text[], kinds text[]) returns void
 *
 * Lock `source` and check that reading these columns of it, and everything
 * it reads, runs no code of a role that does not have the caller's
 * privileges.  Raises an error naming the column, the object and its owner
 * otherwise.
 */
Datum
source_check(PG_FUNCTION_ARGS)
{
	SourceGuard g;

	source_guard_start(fcinfo, &g, true);
	PG_RETURN_VOID();
}

/*
 * source_query(source regclass, columns text[], kinds text[], query text)
 * returns setof record
 *
 * source_check, then run `query`, which reads `source`, once its rewritten
 * tree passed the same checks: the relation it reads is `source` (not
 * another that took its name since), every relation in it passes the
 * rules, every function, operator and type in it is trusted.  The query is
 * planned only after that (planning may evaluate expressions).  One SELECT;
 * its rows are returned as they are (the caller's column definition list
 * must match its types).
 */
Datum
source_query(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SourceGuard g;
	char	   *sql;
	SPIPlanPtr	plan;
	SPIPrepareOptions popts;
	SPIExecuteOptions xopts;
	List	   *sources;
	CachedPlanSource *ps;
	Query	   *query;
	DestReceiver *dest;
	int			rc;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the query must not be NULL"),
				 errhint("Pass the SELECT that reads the relation.")));
	source_guard_start(fcinfo, &g, false);
	sql = text_to_cstring(PG_GETARG_TEXT_PP(3));

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	memset(&popts, 0, sizeof(popts));
	popts.cursorOptions = CURSOR_OPT_PARALLEL_OK;
	plan = SPI_prepare_extended(sql, &popts);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));

	sources = SPI_plan_get_plan_sources(plan);
	if (list_length(sources) != 1 ||
		list_length((ps = (CachedPlanSource *) linitial(sources))->query_list) != 1 ||
		(query = linitial_node(Query, ps->query_list))->commandType != CMD_SELECT ||
		query->utilityStmt != NULL || query->hasModifyingCTE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the query reading %s must be one SELECT", source_relname(g.source)),
				 errhint("Pass a single SELECT statement without data-modifying WITH clauses.")));

	(void) source_walker((Node *) query, &g);
	if (!g.source_seen)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the query does not read %s", source_relname(g.source)),
				 errdetail("The checks were made on %s; the query reads other relations (was one renamed or replaced meanwhile?).",
						   source_relname(g.source)),
				 errhint("Try again; the query must name the relation checked.")));

	/*
	 * Nothing between the walk and the planner may process invalidations (all
	 * the locks are held and clear), so the plan is made from the tree just
	 * checked; refuse to go on if it was invalidated already.
	 */
	if (!SPI_plan_is_valid(plan))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the definition of %s changed while it was checked", source_relname(g.source)),
				 errhint("Try again.")));

	dest = CreateDestReceiver(DestTuplestore);
	SetTuplestoreDestReceiverParams(dest, rsinfo->setResult,
									rsinfo->econtext->ecxt_per_query_memory,
									true, rsinfo->setDesc,
									gettext_noop("the query's result does not match the column definition list"));
	memset(&xopts, 0, sizeof(xopts));
	xopts.read_only = true;
	xopts.dest = dest;
	rc = SPI_execute_plan_extended(plan, &xopts);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan_extended failed: %s", SPI_result_code_string(rc));
	dest->rDestroy(dest);
	SPI_finish();

	return (Datum) 0;
}

/*
 * rollup_source_hold(source regclass) returns void
 *
 * Hold the definition of a table a rollup refresh reads, and of every
 * partition or child table under it, until the end of the transaction.
 *
 * source_check() locks a relation in ACCESS SHARE mode, which keeps it from
 * being altered or dropped but not from gaining code: CREATE INDEX (SHARE),
 * CREATE STATISTICS, ATTACH PARTITION and ALTER TABLE ... INHERIT (SHARE
 * UPDATE EXCLUSIVE) all go ahead beside it.  A refresh checks the source's
 * tables once and then reads them through its views in statement after
 * statement for seconds: an index expression or a child table its owner
 * added in between would be planned, and its IMMUTABLE functions called,
 * with the refreshing role's rights.  SHARE UPDATE EXCLUSIVE conflicts
 * with all of those (and with the stronger locks of ALTER TABLE, CREATE
 * TRIGGER and CREATE POLICY) but not with the writers' ROW EXCLUSIVE, so
 * the source keeps taking rows while the refresh runs; VACUUM, ANALYZE and
 * DDL on it wait for the refresh.  Taken before the check, so that what is
 * checked is what is read.
 *
 * LOCK TABLE in this mode needs UPDATE, DELETE or TRUNCATE privilege; a
 * refresh needs only to read the source, so the lock is taken here for a
 * caller that may read some column of the table (the check that follows
 * requires the columns it reads, and refuses a caller who may read none).
 */
Datum
rollup_source_hold(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			userid = GetUserId();

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid),
				 errhint("Attach the source again, or drop its rollup with tokacct.rollup_source_drop().")));
	/* a caller who may read nothing of it is refused by the check */
	if (pg_class_aclcheck(relid, userid, ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(relid, userid, ACL_SELECT, ACLMASK_ANY) != ACLCHECK_OK)
		PG_RETURN_VOID();

	LockRelationOid(relid, ShareUpdateExclusiveLock);
	/* dropped while we waited? */
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid),
				 errhint("Attach the source again, or drop its rollup with tokacct.rollup_source_drop().")));
	/* every partition and child table under it, recursively */
	list_free(find_all_inheritors(relid, ShareUpdateExclusiveLock, NULL));
	PG_RETURN_VOID();
}
