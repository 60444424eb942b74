#!/usr/bin/env bash
# The README's Reference lists every user-facing object of the extension,
# and nothing else, so it cannot fall behind the code.
#
# The objects come from the extension itself (its members in pg_depend):
# functions, aggregates and procedures with their arguments as
# pg_get_function_arguments prints them (names, defaults) and their result;
# types (composite ones with their fields); tables and views with their
# columns.  Names are printed without the schema (search_path = tokacct).
# Left out as internal support, not for direct use:
#   - the input, output, send and receive functions of the types;
#   - the transition, combine, serial and final functions of the aggregates;
#   - trigger functions;
#   - the helpers named in INTERNAL below (loader helpers and the match-rule
#     check of the catalog tables' CHECK constraints); each must exist, so
#     the list cannot rot either.
#
# In README.md, between the heading "## Reference" and the next "## "
# heading, each object is one line:
#   - `KEY`: what it is, in one line (may wrap onto indented lines)
# where KEY is
#   NAME(ARGUMENTS) → RESULT                a function
#   aggregate NAME(ARGUMENTS) → RESULT      an aggregate
#   procedure NAME(ARGUMENTS)               a procedure
#   type NAME  /  type NAME (FIELD TYPE, ...)     a base type or domain / a composite type
#   table NAME (COLUMN TYPE, ...)  /  view NAME (COLUMN TYPE, ...)
# A missing object is reported with the line to add (its COMMENT as a start).
source "$(dirname "$0")/../lib.sh"
suite_start

INTERNAL=(price_check_match price_check_mtok price_count_rounded price_put_model_prices price_catalog_analyze waste_by_trace_sql waste_bad_span_sql waste_summary_or_null
	attach_args_hash attach_bi_comments attach_bi_sql attach_build attach_column attach_comments attach_drop_view attach_fence attach_genai_keys attach_input_tokens attach_install attach_int8 attach_keys attach_list_cost attach_mapped attach_numeric attach_options attach_otlp_attributes attach_record attach_refuse attach_relation attach_span_cols attach_spec attach_status attach_unique attach_unix_nanos attach_usage_problem
	records_comments records_fold records_handler_words records_median_words records_money_words records_share_words records_signed
	rollup_apply rollup_run rollup_check budget_update rollup_source_keys rollup_source_apply rollup_source_run rollup_source_group rollup_source_written rollup_source_tables rollup_source_stamped sketch_subtract retry_subtract rollup_source_retry_apply rollup_source_waste_apply rollup_source_context_apply rollup_source_days rollup_source_numbered rollup_source_hold rollup_source_key
	model_alias_rows provider_alias_rows baseline_rows cutover_rows allocation_budget_rows reader_functions citus_grant_functions)

work=$(mktemp -d)
trap 'rm -rf "$work"; cluster_stop' EXIT
fail=0

internal_list=$(printf "'%s'," "${INTERNAL[@]}")
internal_list=${internal_list%,}

# kind <TAB> head <TAB> result <TAB> comment, one line per user-facing object
psql_run -At -F $'\t' > "$work/objects.tsv" <<SQL
SET search_path = tokacct, pg_catalog;
CREATE TEMP VIEW ext AS
SELECT d.classid, d.objid
  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'tokacct';
CREATE TEMP VIEW support AS
SELECT unnest(ARRAY[typinput, typoutput, typreceive, typsend, typmodin, typmodout, typanalyze]::oid[]) AS oid
  FROM pg_type
UNION
SELECT unnest(ARRAY[aggtransfn, aggfinalfn, aggcombinefn, aggserialfn, aggdeserialfn,
                    aggmtransfn, aggminvtransfn, aggmfinalfn]::oid[])
  FROM pg_aggregate;
SELECT CASE p.prokind WHEN 'a' THEN 'aggregate ' WHEN 'p' THEN 'procedure ' ELSE '' END
       || p.proname || '(' || pg_get_function_arguments(p.oid) || ')',
       coalesce(CASE WHEN p.prokind <> 'p' THEN pg_get_function_result(p.oid) END, ''),
       coalesce(replace(obj_description(p.oid, 'pg_proc'), E'\n', ' '), '')
  FROM ext JOIN pg_proc p ON ext.classid = 'pg_proc'::regclass AND p.oid = ext.objid
 WHERE p.oid NOT IN (SELECT oid FROM support)
   AND p.prorettype <> 'trigger'::regtype
   AND p.proname NOT IN ($internal_list)
UNION ALL
SELECT 'type ' || t.typname
       || coalesce(' (' || (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                              FROM pg_attribute a
                             WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) || ')', ''),
       '', coalesce(replace(obj_description(t.oid, 'pg_type'), E'\n', ' '), '')
  FROM ext JOIN pg_type t ON ext.classid = 'pg_type'::regclass AND t.oid = ext.objid
 WHERE t.typelem = 0 OR t.typlen <> -1
UNION ALL
SELECT CASE WHEN c.relkind IN ('v', 'm') THEN 'view ' ELSE 'table ' END || c.relname || ' ('
       || (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
             FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) || ')',
       '', coalesce(replace(obj_description(c.oid, 'pg_class'), E'\n', ' '), '')
  FROM ext JOIN pg_class c ON ext.classid = 'pg_class'::regclass AND c.oid = ext.objid
 WHERE c.relkind IN ('r', 'p', 'v', 'm')
 ORDER BY 1;
SQL

# The internal helpers still exist (else the list above is stale).
for name in "${INTERNAL[@]}"; do
	n=$(psql_run -At -c "SELECT count(*) FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass
		AND d.objid = p.oid AND d.deptype = 'e' AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'tokacct')
		WHERE p.proname = '$name'")
	if [ "$n" -gt 0 ]; then
		echo "ok internal helper $name is a member of the extension"
	else
		echo "not ok internal helper $name is no longer in the extension: remove it from INTERNAL"
		fail=1
	fi
done

awk -F'\t' '{ print ($2 == "" ? $1 : $1 " → " $2) }' "$work/objects.tsv" | LC_ALL=C sort > "$work/expected"
awk -F'\t' '{ k = ($2 == "" ? $1 : $1 " → " $2); print k "\t" $3 }' "$work/objects.tsv" > "$work/comments"

# The Reference section of the README and its entries.
awk '/^## / { inref = ($0 == "## Reference") } inref' "$TOP/README.md" > "$work/section"
if [ ! -s "$work/section" ]; then
	echo "not ok README.md has no section \"## Reference\""
	exit 1
fi
grep '^- `' "$work/section" > "$work/entries" || true
# Every entry is "- `KEY`: text".
while IFS= read -r line; do
	if ! printf '%s\n' "$line" | grep -q '^- `[^`]*`: [^ ]'; then
		echo "not ok Reference entry is not \"- \`KEY\`: one line\": $line"
		fail=1
	fi
done < "$work/entries"
sed 's/^- `\([^`]*\)`.*/\1/' "$work/entries" | LC_ALL=C sort > "$work/listed"
dups=$(uniq -d "$work/listed")
if [ -n "$dups" ]; then
	printf 'not ok Reference lists twice: %s\n' "$dups"
	fail=1
fi

while IFS= read -r key; do
	if grep -qxF -- "$key" "$work/listed"; then
		echo "ok Reference lists $key"
	else
		echo "not ok Reference does not list $key"
		comment=$(awk -F'\t' -v k="$key" '$1 == k { print $2 }' "$work/comments")
		printf '#   add: - `%s`: %s\n' "$key" "$comment"
		fail=1
	fi
done < "$work/expected"

LC_ALL=C comm -13 "$work/expected" <(LC_ALL=C sort -u "$work/listed") > "$work/extra"
while IFS= read -r key; do
	echo "not ok Reference lists $key, which is not a user-facing object of the extension (gone, renamed, or its signature changed)"
	fail=1
done < "$work/extra"

n=$(wc -l < "$work/expected")
if [ "$n" -lt 50 ]; then
	echo "not ok only $n user-facing objects found: the catalog query is broken"
	fail=1
fi
exit $fail
