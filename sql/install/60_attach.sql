-- ---------------------------------------------------------------------------
-- Attaching trace tables that already exist (src/attach.c for the lenient
-- readers).  One call per source creates seven views over the user's own
-- tables, in a schema the user chooses: calls, spans, attempts, items,
-- conversations, problems and traces.  No trace row is copied.  The views read the
-- rows as they are: whatever a row holds, a view answers; a row that cannot
-- be priced or contradicts itself is left out of the figures it would
-- falsify, counted beside them, and listed in `problems` with its key and
-- the reason.
--
-- Security: the views are security_invoker (the source tables' row-level
-- security applies to whoever reads them) and are built with search_path =
-- pg_catalog, pg_temp, so every operator and function in them is a
-- built-in or tokacct's own.  Every column read must be of a built-in type
-- (or a domain over one), checked when attaching by attach_column(): a
-- cast or operator on a type the table's owner created would run the
-- owner's code with the reader's rights.  Enum columns (Langfuse's) are read
-- through their output function only (format('%s', col)), never a cast.
-- ---------------------------------------------------------------------------

-- The registry of attached sources ------------------------------------------

CREATE TABLE @extschema@.attachment (
	source pg_catalog.text PRIMARY KEY
		CHECK (source OPERATOR(pg_catalog.~) '^[a-z_][a-z0-9_]{0,47}$'),
	kind pg_catalog.text NOT NULL
		CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['otel', 'otlp_json', 'langfuse', 'mapping'])),
	relations pg_catalog.regclass[] NOT NULL,
	view_schema pg_catalog.name NOT NULL,
	view_prefix pg_catalog.text NOT NULL,
	options pg_catalog.jsonb NOT NULL,
	views pg_catalog.text[] NOT NULL,
	definition pg_catalog.text NOT NULL,
	created_schema pg_catalog.bool NOT NULL,
	attached_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	attached_by pg_catalog.name NOT NULL DEFAULT CURRENT_USER
);
COMMENT ON TABLE @extschema@.attachment IS
	'trace sources attached with tokacct.attach_otel(), attach_otlp_json(), attach_langfuse() or attach(): the views each created (tokacct.detach() drops them)';
COMMENT ON COLUMN @extschema@.attachment.source IS 'source name given when attaching (lower-case letters, digits, _); every row of its views carries it';
COMMENT ON COLUMN @extschema@.attachment.kind IS 'otel (span table), otlp_json (OTLP/JSON documents), langfuse (Langfuse v2 tables), mapping (any layout, by a mapping)';
COMMENT ON COLUMN @extschema@.attachment.relations IS 'the tables or views read';
COMMENT ON COLUMN @extschema@.attachment.view_schema IS 'schema holding the views';
COMMENT ON COLUMN @extschema@.attachment.view_prefix IS 'prefix of the view names (calls, spans, ... after it)';
COMMENT ON COLUMN @extschema@.attachment.options IS 'options given when attaching';
COMMENT ON COLUMN @extschema@.attachment.views IS 'the views created, schema-qualified';
COMMENT ON COLUMN @extschema@.attachment.definition IS 'md5 of the views'' SQL: attaching again with the same definition changes nothing';
COMMENT ON COLUMN @extschema@.attachment.created_schema IS 'true when attaching created the schema (detach drops it when empty)';
COMMENT ON COLUMN @extschema@.attachment.attached_at IS 'when the views were last (re)created';
COMMENT ON COLUMN @extschema@.attachment.attached_by IS 'role that attached the source';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.attachment', '');

-- Model and provider aliases --------------------------------------------------

CREATE TABLE @extschema@.provider_alias (
	provider pg_catalog.text PRIMARY KEY
		CHECK (provider OPERATOR(pg_catalog.=) @extschema@.fold_name(provider)),
	catalog_provider pg_catalog.text NOT NULL,
	shipped pg_catalog.bool NOT NULL DEFAULT false,
	note pg_catalog.text
);
COMMENT ON TABLE @extschema@.provider_alias IS
	'provider names as traces carry them (OpenTelemetry''s gen_ai.provider.name, gateways) and the catalog provider they price as; the attached views apply it before cost()';
COMMENT ON COLUMN @extschema@.provider_alias.provider IS 'provider name as it appears in traces, without ASCII capitals (a call''s provider is folded by fold_name() and compared exactly)';
COMMENT ON COLUMN @extschema@.provider_alias.catalog_provider IS 'provider id of the price catalog (aws, google, azure, mistral, x-ai, ...)';
COMMENT ON COLUMN @extschema@.provider_alias.shipped IS 'true for the rows tokacct ships (OpenTelemetry names); yours are false';
COMMENT ON COLUMN @extschema@.provider_alias.note IS 'where the name comes from';
INSERT INTO @extschema@.provider_alias (provider, catalog_provider, shipped, note) VALUES
	('aws.bedrock', 'aws', true, 'OpenTelemetry gen_ai.provider.name'),
	('azure.ai.openai', 'azure', true, 'OpenTelemetry gen_ai.provider.name'),
	('azure.ai.inference', 'azure', true, 'OpenTelemetry gen_ai.provider.name'),
	('az.ai.inference', 'azure', true, 'OpenTelemetry gen_ai.system (deprecated)'),
	('az.ai.openai', 'azure', true, 'OpenTelemetry gen_ai.system (deprecated)'),
	('gcp.gen_ai', 'google', true, 'OpenTelemetry gen_ai.provider.name'),
	('gcp.vertex_ai', 'google', true, 'OpenTelemetry gen_ai.provider.name'),
	('gcp.gemini', 'google', true, 'OpenTelemetry gen_ai.provider.name'),
	('vertex_ai', 'google', true, 'OpenTelemetry gen_ai.system (deprecated)'),
	('gemini', 'google', true, 'OpenTelemetry gen_ai.system (deprecated)'),
	('mistral_ai', 'mistral', true, 'OpenTelemetry gen_ai.provider.name'),
	('x_ai', 'x-ai', true, 'OpenTelemetry gen_ai.provider.name'),
	('xai', 'x-ai', true, 'OpenTelemetry gen_ai.system (deprecated)'),
	('ibm.watsonx.ai', 'watsonx', true, 'OpenTelemetry gen_ai.provider.name (LiteLLM''s provider id)');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.provider_alias', 'WHERE NOT shipped');

CREATE TABLE @extschema@.model_alias (
	provider pg_catalog.text NOT NULL DEFAULT ''
		CHECK (provider OPERATOR(pg_catalog.=) @extschema@.fold_name(provider)),
	model pg_catalog.text NOT NULL
		CHECK (model OPERATOR(pg_catalog.=) @extschema@.fold_name(model)),
	valid_from pg_catalog.timestamptz NOT NULL DEFAULT '-infinity',
	valid_until pg_catalog.timestamptz NOT NULL DEFAULT 'infinity',
	catalog_provider pg_catalog.text,
	catalog_model pg_catalog.text NOT NULL,
	note pg_catalog.text,
	PRIMARY KEY (provider, model, valid_from),
	CHECK (valid_from OPERATOR(pg_catalog.<) valid_until)
);
COMMENT ON TABLE @extschema@.model_alias IS
	'a model name as traces carry it (an Azure deployment, a gateway alias) and the catalog model it is priced as, for a period: the call follows that model''s price history';
COMMENT ON COLUMN @extschema@.model_alias.provider IS 'provider name as it appears in traces, without ASCII capitals ('''' for calls that name none; folded by fold_name())';
COMMENT ON COLUMN @extschema@.model_alias.model IS 'model name as it appears in traces (the response model, else the request model), without ASCII capitals (folded by fold_name())';
COMMENT ON COLUMN @extschema@.model_alias.valid_from IS 'applies to calls at or after this time';
COMMENT ON COLUMN @extschema@.model_alias.valid_until IS 'applies to calls before this time (a deployment repointed to another model gets a new row from then)';
COMMENT ON COLUMN @extschema@.model_alias.catalog_provider IS 'catalog provider to price with; NULL: the call''s provider (after provider_alias)';
COMMENT ON COLUMN @extschema@.model_alias.catalog_model IS 'catalog model to price with (matched by the catalog''s rules, as cost() does)';
COMMENT ON COLUMN @extschema@.model_alias.note IS 'free text';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_alias', '');

-- A row per alias that writers of its periods lock in turn (see
-- model_alias_check); made on demand, so it is not dumped.
CREATE TABLE @extschema@.model_alias_lock (
	provider pg_catalog.text NOT NULL,
	model pg_catalog.text NOT NULL,
	PRIMARY KEY (provider, model)
);
COMMENT ON TABLE @extschema@.model_alias_lock IS
	'a row per alias of tokacct.model_alias, locked by each transaction that writes a period of it, so that two writers cannot both miss the other''s overlapping period';
COMMENT ON COLUMN @extschema@.model_alias_lock.provider IS 'provider of the alias (as in tokacct.model_alias)';
COMMENT ON COLUMN @extschema@.model_alias_lock.model IS 'model name of the alias (as in tokacct.model_alias)';

-- Two periods of one alias may not overlap (a call would match both).
-- Writers of one alias take turns on its row of model_alias_lock before
-- looking for an overlap: under READ COMMITTED the second then sees the
-- first's committed period; under REPEATABLE READ or SERIALIZABLE, whose
-- snapshot cannot see it, taking the row the first wrote fails with a
-- serialization error, and the transaction is retried.
CREATE FUNCTION @extschema@.model_alias_check() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	clash record;
BEGIN
	INSERT INTO @extschema@.model_alias_lock AS l (provider, model) VALUES (NEW.provider, NEW.model)
		ON CONFLICT (provider, model) DO UPDATE SET provider = l.provider;
	SELECT a.valid_from, a.valid_until INTO clash
	  FROM @extschema@.model_alias a
	 WHERE a.provider = NEW.provider AND a.model = NEW.model
	   AND a.valid_from <> NEW.valid_from
	   AND a.valid_from < NEW.valid_until AND NEW.valid_from < a.valid_until
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'model alias "%" of provider "%" overlaps an existing period', NEW.model, NEW.provider
			USING ERRCODE = 'exclusion_violation',
				  DETAIL = pg_catalog.format('The new period [%s, %s) overlaps [%s, %s).',
					NEW.valid_from, NEW.valid_until, clash.valid_from, clash.valid_until),
				  HINT = 'End the earlier period (valid_until) where the new one starts.';
	END IF;
	RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION @extschema@.model_alias_check() IS 'trigger of tokacct.model_alias: refuses overlapping periods of the same alias';
CREATE CONSTRAINT TRIGGER model_alias_no_overlap AFTER INSERT OR UPDATE ON @extschema@.model_alias
	DEFERRABLE INITIALLY IMMEDIATE FOR EACH ROW EXECUTE FUNCTION @extschema@.model_alias_check();

-- Baselines: what the work costs without AI ------------------------------------

CREATE TABLE @extschema@.baseline (
	workflow pg_catalog.text NOT NULL,
	valid_from pg_catalog.timestamptz NOT NULL DEFAULT '-infinity',
	bpo_unit_price pg_catalog.numeric CHECK (bpo_unit_price OPERATOR(pg_catalog.>=) 0),
	human_cost_per_hour pg_catalog.numeric CHECK (human_cost_per_hour OPERATOR(pg_catalog.>=) 0),
	human_minutes_per_item pg_catalog.numeric CHECK (human_minutes_per_item OPERATOR(pg_catalog.>=) 0),
	currency pg_catalog.text NOT NULL DEFAULT 'USD',
	note pg_catalog.text,
	PRIMARY KEY (workflow, valid_from)
);
COMMENT ON TABLE @extschema@.baseline IS
	'per workflow and from a date: what a BPO charges per item and what a human costs (loaded cost per hour, minutes to finish an item the AI did not solve); the items views price human fixes and the value of solved items with the row in force when the item started';
COMMENT ON COLUMN @extschema@.baseline.workflow IS 'workflow name, as the attached views show it';
COMMENT ON COLUMN @extschema@.baseline.valid_from IS 'in force for items started at or after this time, until a later row';
COMMENT ON COLUMN @extschema@.baseline.bpo_unit_price IS 'price per item charged by a BPO (or any outside vendor): the value of an item the AI solves';
COMMENT ON COLUMN @extschema@.baseline.human_cost_per_hour IS 'loaded cost of an hour of the people who finish items the AI did not';
COMMENT ON COLUMN @extschema@.baseline.human_minutes_per_item IS 'minutes a person needs to finish an item the AI did not solve';
COMMENT ON COLUMN @extschema@.baseline.currency IS 'currency of the amounts (the views use USD rows only)';
COMMENT ON COLUMN @extschema@.baseline.note IS 'free text (the contract, the time study)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.baseline', '');

-- Lenient readers (C) ----------------------------------------------------------

CREATE FUNCTION @extschema@.attach_int8(pg_catalog.text) RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_int8';
COMMENT ON FUNCTION @extschema@.attach_int8(pg_catalog.text) IS
	'a token count from text ("1234", " 1234 ", "1234.0"), or NULL when the text is not a whole number from 0 to 1,000,000,000 (never an error)';

CREATE FUNCTION @extschema@.attach_numeric(pg_catalog.text) RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_numeric';
COMMENT ON FUNCTION @extschema@.attach_numeric(pg_catalog.text) IS
	'a finite decimal number from text (sign, digits, point, exponent of up to 3 digits), or NULL (never an error)';

CREATE FUNCTION @extschema@.attach_usage_problem(input pg_catalog.text, output pg_catalog.text,
	cache_read pg_catalog.text, cache_write pg_catalog.text, reasoning pg_catalog.text,
	cache_separate pg_catalog.bool) RETURNS pg_catalog.text
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_usage_problem';
COMMENT ON FUNCTION @extschema@.attach_usage_problem(pg_catalog.text, pg_catalog.text, pg_catalog.text,
	pg_catalog.text, pg_catalog.text, pg_catalog.bool) IS
	'why token counts given as text cannot be priced (not a whole number, negative, above a billion, cache above input, reasoning above output), or NULL; absent counts are 0; cache_separate: the input count excludes the cache tokens';

CREATE FUNCTION @extschema@.attach_usage_problem(input pg_catalog.int8, output pg_catalog.int8,
	cache_read pg_catalog.int8, cache_write pg_catalog.int8, reasoning pg_catalog.int8,
	cache_separate pg_catalog.bool) RETURNS pg_catalog.text
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_usage_problem_int8';
COMMENT ON FUNCTION @extschema@.attach_usage_problem(pg_catalog.int8, pg_catalog.int8, pg_catalog.int8,
	pg_catalog.int8, pg_catalog.int8, pg_catalog.bool) IS
	'why integer token counts cannot be priced (negative, above a billion, cache above input, reasoning above output), or NULL';

CREATE FUNCTION @extschema@.attach_input_tokens(input pg_catalog.text, cache_read pg_catalog.text,
	cache_write pg_catalog.text, cache_separate pg_catalog.bool) RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_input_tokens';
COMMENT ON FUNCTION @extschema@.attach_input_tokens(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.bool) IS
	'all input tokens, cache included, from text counts: the input count, plus the cache counts when cache_separate; NULL when the input count is absent or unusable';

CREATE FUNCTION @extschema@.attach_list_cost(provider pg_catalog.text, model pg_catalog.text,
	input pg_catalog.text, output pg_catalog.text, cache_read pg_catalog.text, cache_write pg_catalog.text,
	reasoning pg_catalog.text, at pg_catalog.timestamptz, cache_separate pg_catalog.bool)
	RETURNS pg_catalog.numeric
	LANGUAGE c STABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_list_cost';
COMMENT ON FUNCTION @extschema@.attach_list_cost(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text,
	pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.timestamptz, pg_catalog.bool) IS
	'tokacct.cost() of a call whose token counts are text (absent counts are 0); NULL when a count is unusable or the counts contradict each other (attach_usage_problem says why), when neither input nor output is given, or when at is NULL or infinite';

CREATE FUNCTION @extschema@.attach_args_hash(pg_catalog.jsonb) RETURNS pg_catalog.text
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_args_hash';
COMMENT ON FUNCTION @extschema@.attach_args_hash(pg_catalog.jsonb) IS
	'md5 of tool call arguments in canonical JSON text (keys sorted, spacing fixed); a JSON string holding JSON is read first, any other string hashed as it is';

CREATE FUNCTION @extschema@.attach_args_hash(pg_catalog.text) RETURNS pg_catalog.text
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_args_hash_text';
COMMENT ON FUNCTION @extschema@.attach_args_hash(pg_catalog.text) IS
	'md5 of tool call arguments given as text: of their canonical JSON form when the text is JSON, else of the text';

CREATE FUNCTION @extschema@.attach_otlp_attributes(pg_catalog.jsonb) RETURNS pg_catalog.jsonb
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_otlp_attributes';
COMMENT ON FUNCTION @extschema@.attach_otlp_attributes(pg_catalog.jsonb) IS
	'an OTLP/JSON attribute list [{"key": k, "value": {"intValue": "12"}}] as an object of text values {"k": "12"} (the Collector''s ClickHouse layout); malformed elements are skipped, never an error';

CREATE FUNCTION @extschema@.attach_unix_nanos(pg_catalog.jsonb) RETURNS pg_catalog.timestamptz
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_unix_nanos';
COMMENT ON FUNCTION @extschema@.attach_unix_nanos(pg_catalog.jsonb) IS
	'an OTLP time (unix nanoseconds, a JSON string or number) as timestamptz, truncated to the microsecond; NULL when it is not one';

-- The fence of the layer that prices each span in the views (attach_build;
-- src/attach.c says why it must be a volatile C function).  In schema
-- tokacct with the other helpers the views call: the role attaching a
-- source names it when creating the views (tokacct_internal grants no
-- USAGE), and readers run it with the rights they have on those helpers.
CREATE FUNCTION @extschema@.attach_fence() RETURNS pg_catalog.bool
	LANGUAGE c VOLATILE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_fence';
COMMENT ON FUNCTION @extschema@.attach_fence() IS
	'true; volatile on purpose: the attached views put it in the layer that prices each span so that PostgreSQL keeps the layer a subquery and computes each derived value once per span (not meant to be called directly)';

-- A span status in tokacct's words (the waste statuses): ok, error,
-- rate_limited, timeout, server_error, discarded; NULL when the spelling is
-- unknown (the views then take it as ok and list the span as a problem).
-- The status may be OpenTelemetry's (Unset, Ok, Error in any case, with or
-- without the STATUS_CODE_ prefix, or 0, 1, 2), Langfuse's level (DEBUG,
-- DEFAULT, WARNING, ERROR) or tokacct's own; a failure is refined by the
-- error type (error.type, or Langfuse's status message): 429 or a rate
-- limit, 408/504 or a timeout, other 5xx or an overload, a cancellation.
-- The rules are regular expressions, listed in src/attach.c, which matches
-- ASCII text by hand (the views read every span's status) and runs the
-- expressions themselves on any other text.
CREATE FUNCTION @extschema@.attach_status(status pg_catalog.text, error_type pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'attach_status';
COMMENT ON FUNCTION @extschema@.attach_status(pg_catalog.text, pg_catalog.text) IS
	'a span status (OpenTelemetry Unset/Ok/Error, STATUS_CODE_*, 0/1/2; Langfuse levels; tokacct''s own) as ok, error, rate_limited, timeout, server_error or discarded, a failure refined by its error type; NULL when unknown';

-- Strict sources: a row that would be left out raises this instead.
CREATE FUNCTION @extschema@.attach_refuse(source pg_catalog.text, trace_id pg_catalog.text,
	span_id pg_catalog.text, reason pg_catalog.text) RETURNS pg_catalog.numeric
	LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	RAISE EXCEPTION 'source "%": span % of trace % cannot be counted: %', source, span_id, trace_id, reason
		USING ERRCODE = 'data_exception',
			  HINT = 'The source was attached with "strict": true. Attach it without it to have such rows left out of the figures and listed in its problems view.';
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_refuse(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
	'raises the error of a strict attached source for a row it cannot count (used inside the attached views)';

-- ---------------------------------------------------------------------------
-- Reading the user's columns.  attach_column() is the one place that decides
-- whether a column may be read and how: it must exist (else 42703, naming
-- it), and be of a built-in type of the expected kind, or a domain over one
-- (else 42804).  A type created in the database could carry casts and
-- operators written by its owner, which would run with the rights of
-- whoever reads the views.  Enums are the exception tokacct needs (Langfuse
-- stores its observation types and levels in enums): they are read only
-- through their output function, enum_out, which their owner cannot
-- replace, never through a cast.
--
-- Returns the SQL expression reading column col of alias as the wanted
-- kind: text, jsonb, timestamptz (a timestamp without time zone is UTC),
-- int8, numeric (money), count (a token count, as text for
-- attach_usage_problem), enum (an enum or a text column, as text).
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.attach_column(rel pg_catalog.regclass, col pg_catalog.text,
	want pg_catalog.text, what pg_catalog.text, alias pg_catalog.text DEFAULT 'r')
	RETURNS pg_catalog.text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	typ oid;
	base oid;
	t record;
	ref text;
	ok boolean;
	-- built-in types accepted for each kind
	textish oid[] := ARRAY['text'::regtype, 'varchar'::regtype, 'bpchar'::regtype, 'name'::regtype]::oid[];
	ints oid[] := ARRAY['int2'::regtype, 'int4'::regtype, 'int8'::regtype]::oid[];
BEGIN
	IF col IS NULL OR col = '' THEN
		RAISE EXCEPTION 'no column given for the %', what
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name the column in the mapping, or map the key to null when the table has none.';
	END IF;
	SELECT a.atttypid INTO typ FROM pg_attribute a
	 WHERE a.attrelid = rel AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'column "%" of relation % does not exist', col, rel
			USING ERRCODE = 'undefined_column',
				  DETAIL = format('The %s is read from column "%s". The relation has: %s.', what, col,
					(SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
					  WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped)),
				  HINT = 'Map the key to the column that holds it (option "columns"), or to null when there is none.';
	END IF;
	-- a domain has no casts or operators of its own: read it as its base type
	base := typ;
	LOOP
		SELECT ty.oid, ty.typtype, ty.typbasetype, ty.typoutput, ty.typnamespace INTO t
		  FROM pg_type ty WHERE ty.oid = base;
		EXIT WHEN t.typtype <> 'd';
		base := t.typbasetype;
	END LOOP;
	ref := alias || '.' || quote_ident(col);
	-- Text in a nondeterministic collation (case-insensitive, ...) is read
	-- as its bytes: the views and the rollups tell values apart by their
	-- bytes (a trace id, a workflow), and a column that compared "abc"
	-- equal to "ABC" would merge two traces in one view and not in another.
	IF EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_collation co ON co.oid = a.attcollation
				WHERE a.attrelid = rel AND a.attname = col AND NOT co.collisdeterministic) THEN
		ref := format('(%s COLLATE pg_catalog."default")', ref);
	END IF;

	IF want = 'enum' AND t.typtype = 'e' THEN
		IF t.typoutput <> 'pg_catalog.enum_out'::regproc THEN
			RAISE EXCEPTION 'column "%" of relation % has an enum type with an unusual output function', col, rel
				USING ERRCODE = 'datatype_mismatch',
					  DETAIL = format('Type %s prints with %s.', typ::regtype, t.typoutput);
		END IF;
		-- the enum's own output function: no cast, nothing its owner wrote
		RETURN format('pg_catalog.format(''%%s'', %s)', ref);
	END IF;

	IF base >= 16384 THEN
		RAISE EXCEPTION 'column "%" of relation % has type %, which was created in this database', col, rel, typ::regtype
			USING ERRCODE = 'datatype_mismatch',
				  DETAIL = format('The %s must be of a built-in type (or a domain over one). A cast or operator of a type created in the database runs its owner''s code with the rights of whoever reads the views, so tokacct does not read such columns.', what),
				  HINT = 'Attach a table or view whose column has a built-in type (text, a number type, jsonb, timestamptz).';
	END IF;

	ok := CASE want
		WHEN 'text' THEN base = ANY (textish) OR base = ANY (ints) OR base = 'uuid'::regtype
		WHEN 'enum' THEN base = ANY (textish)
		WHEN 'jsonb' THEN base = 'jsonb'::regtype
		WHEN 'timestamptz' THEN base IN ('timestamptz'::regtype, 'timestamp'::regtype)
		WHEN 'int8' THEN base = ANY (ints)
		WHEN 'count' THEN base = ANY (textish) OR base = ANY (ints) OR base = 'numeric'::regtype
		WHEN 'numeric' THEN base = ANY (textish) OR base = ANY (ints)
			OR base IN ('numeric'::regtype, 'float4'::regtype, 'float8'::regtype)
		WHEN 'bool' THEN base = 'bool'::regtype
		ELSE false
	END;
	IF NOT ok THEN
		RAISE EXCEPTION 'column "%" of relation % has type %, not a type that holds the %', col, rel, typ::regtype, what
			USING ERRCODE = 'datatype_mismatch',
				  HINT = format('The %s is read as %s.', what, CASE want
					WHEN 'text' THEN 'text (text, varchar, char, name, uuid or an integer type)'
					WHEN 'enum' THEN 'an enum or text'
					WHEN 'jsonb' THEN 'jsonb'
					WHEN 'timestamptz' THEN 'timestamptz (or timestamp, read as UTC)'
					WHEN 'int8' THEN 'an integer type'
					WHEN 'count' THEN 'a whole number (an integer type, numeric, or text)'
					WHEN 'numeric' THEN 'a number (numeric, float, an integer type, or text)'
					WHEN 'bool' THEN 'boolean'
					ELSE want END);
	END IF;

	RETURN CASE
		WHEN want IN ('text', 'enum', 'count') AND base = 'text'::regtype THEN ref
		WHEN want IN ('text', 'enum', 'count') THEN ref || '::pg_catalog.text'
		WHEN want = 'timestamptz' AND base = 'timestamp'::regtype THEN format('pg_catalog.timezone(''UTC'', %s)', ref)
		WHEN want = 'int8' AND base <> 'int8'::regtype THEN ref || '::pg_catalog.int8'
		WHEN want = 'numeric' AND base = ANY (textish) THEN format('@extschema@.attach_numeric(%s::pg_catalog.text)', ref)
		WHEN want = 'numeric' AND base <> 'numeric'::regtype THEN ref || '::pg_catalog.numeric'
		ELSE ref
	END;
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_column(pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
	'the SQL reading a column of an attached relation as text, jsonb, timestamptz, int8, numeric, count, enum or bool; refuses a missing column (42703) and a type that is not built-in or not of that kind (42804)';

-- A relation that can be attached: a table, view, materialized view,
-- partitioned or foreign table.
CREATE FUNCTION @extschema@.attach_relation(rel pg_catalog.regclass, what pg_catalog.text)
	RETURNS pg_catalog.regclass
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	k "char";
BEGIN
	IF rel IS NULL THEN
		RAISE EXCEPTION 'no relation given for the %', what
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT c.relkind INTO k FROM pg_class c WHERE c.oid = rel;
	IF k IS NULL OR k NOT IN ('r', 'p', 'v', 'm', 'f') THEN
		RAISE EXCEPTION '% is not a table or view', rel
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = format('The %s must be a table, view, materialized view, partitioned or foreign table.', what);
	END IF;
	RETURN rel;
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_relation(pg_catalog.regclass, pg_catalog.text) IS
	'checks that a relation to attach is a table, view, materialized view, partitioned or foreign table';

-- Does rel have a unique index (or primary key) on exactly the columns
-- cols, or a subset of them, with no predicate?  Then no two rows share
-- those values and the views need not collapse duplicates.
CREATE FUNCTION @extschema@.attach_unique(rel pg_catalog.regclass, cols pg_catalog.text[])
	RETURNS pg_catalog.bool
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
	SELECT EXISTS (
		SELECT 1 FROM pg_index i
		 WHERE i.indrelid = rel AND i.indisunique AND i.indisvalid AND i.indpred IS NULL
		   AND i.indexprs IS NULL AND i.indnkeyatts > 0
		   AND (SELECT bool_and(a.attname = ANY (cols))
				  FROM unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) k(attnum)
				  JOIN pg_attribute a ON a.attrelid = rel AND a.attnum = k.attnum))
$fn$;
COMMENT ON FUNCTION @extschema@.attach_unique(pg_catalog.regclass, pg_catalog.text[]) IS
	'true when a unique index of the relation covers only the given columns (span ids are then unique and the views skip collapsing duplicates)';

-- Options: refuse unknown keys and check the common ones; returns the
-- options with the defaults filled in.
CREATE FUNCTION @extschema@.attach_options(opts pg_catalog.jsonb, allowed pg_catalog.text[],
	defaults pg_catalog.jsonb) RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	k text;
	o jsonb := coalesce(opts, '{}');
BEGIN
	IF jsonb_typeof(o) <> 'object' THEN
		RAISE EXCEPTION 'options must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Got %s.', left(o::text, 100));
	END IF;
	FOR k IN SELECT jsonb_object_keys(o) LOOP
		IF NOT k = ANY (allowed) THEN
			RAISE EXCEPTION 'unknown option "%"', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Options here: %s.', array_to_string(allowed, ', '));
		END IF;
	END LOOP;
	o := defaults || o;
	IF o ? 'strict' AND jsonb_typeof(o -> 'strict') <> 'boolean' THEN
		RAISE EXCEPTION 'option "strict" must be true or false' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF o ? 'cache_tokens' AND NOT (o ->> 'cache_tokens') = ANY (ARRAY['included', 'separate']) THEN
		RAISE EXCEPTION 'option "cache_tokens" must be "included" or "separate"'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = '"included": the input count includes cache reads and writes (OpenTelemetry''s convention, OpenAI); "separate": the instrumentation reports them apart (Anthropic''s API), so they are added.';
	END IF;
	IF o ? 'cost_basis' AND NOT (o ->> 'cost_basis') = ANY (ARRAY['reported_first', 'list']) THEN
		RAISE EXCEPTION 'option "cost_basis" must be "reported_first" or "list"'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = '"reported_first": a reported cost in USD wins over the list price; "list": the list price always.';
	END IF;
	IF o ? 'dedup' AND NOT (o ->> 'dedup') = ANY (ARRAY['auto', 'always', 'never']) THEN
		RAISE EXCEPTION 'option "dedup" must be "auto", "always" or "never"'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = '"auto": collapse repeated span ids unless a unique index rules them out.';
	END IF;
	IF o ? 'agent_usage' AND NOT (o ->> 'agent_usage') = ANY (ARRAY['when_no_calls', 'never']) THEN
		RAISE EXCEPTION 'option "agent_usage" must be "when_no_calls" or "never"'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF o ? 'success_values' AND (jsonb_typeof(o -> 'success_values') <> 'array'
			OR EXISTS (SELECT 1 FROM jsonb_array_elements(o -> 'success_values') e WHERE jsonb_typeof(e) <> 'string')) THEN
		RAISE EXCEPTION 'option "success_values" must be an array of strings'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN o;
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_options(pg_catalog.jsonb, pg_catalog.text[], pg_catalog.jsonb) IS
	'checks the options of an attach call (unknown keys and bad values are errors) and fills in the defaults';

-- A structure value (workflow, item, outcome, option, conversation, attempt)
-- from where the source keeps it.  spec is a string or an array of strings,
-- the first non-empty value wins:
--   attr:KEY       an attribute of the span (OpenTelemetry attributes)
--   resource:KEY   a resource attribute
--   metadata:A/B   a key (path, / between levels) of Langfuse metadata
--   score:NAME     a Langfuse score of the trace (latest)
--   column:NAME    a column of the span table, read as text
--   const:VALUE    a constant
--   a plain word   a field the source names (name, service, trace_id,
--                  trace_name, session, external_id, user_id, ...)
-- vocab maps the plain words to SQL, and the prefixes (with their colon)
-- to format() templates over the quoted key (%1$s) and the quoted path
-- (%2$s, a text[] literal).
CREATE FUNCTION @extschema@.attach_spec(spec pg_catalog.jsonb, what pg_catalog.text,
	vocab pg_catalog.jsonb, rel pg_catalog.regclass) RETURNS pg_catalog.text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	items text[];
	it text;
	pre text;
	arg text;
	parts text[] := '{}';
	e text;
BEGIN
	IF spec IS NULL OR jsonb_typeof(spec) = 'null' THEN
		RETURN 'NULL::pg_catalog.text';
	ELSIF jsonb_typeof(spec) = 'string' THEN
		items := ARRAY[spec #>> '{}'];
	ELSIF jsonb_typeof(spec) = 'array' AND jsonb_array_length(spec) > 0
		  AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(spec) x WHERE jsonb_typeof(x) <> 'string') THEN
		items := ARRAY(SELECT jsonb_array_elements_text(spec));
	ELSE
		RAISE EXCEPTION 'option "%" must be a string or an array of strings', what
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Got %s.', left(spec::text, 100));
	END IF;
	FOREACH it IN ARRAY items LOOP
		IF it ~ '^[a-z_]+:' THEN
			pre := substring(it FROM '^[a-z_]+:');
			arg := substr(it, length(pre) + 1);
		ELSE
			pre := it;
			arg := NULL;
		END IF;
		IF pre = 'const:' THEN
			e := quote_literal(arg) || '::pg_catalog.text';
		ELSIF pre = 'column:' THEN
			e := @extschema@.attach_column(rel, arg, 'text', what);
		ELSIF vocab ? pre AND arg IS NOT NULL AND arg <> '' THEN
			e := format(vocab ->> pre, quote_literal(arg), quote_literal(string_to_array(arg, '/')::text));
		ELSIF vocab ? pre AND arg IS NULL THEN
			e := vocab ->> pre;
		ELSE
			RAISE EXCEPTION 'option "%": unknown source "%"', what, it
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Use %s, column:NAME or const:VALUE.',
						(SELECT string_agg(CASE WHEN k LIKE '%:' THEN k || 'KEY' ELSE k END, ', ' ORDER BY k)
						   FROM jsonb_object_keys(vocab) k));
		END IF;
		parts := parts || format('NULLIF(%s, '''')', e);
	END LOOP;
	IF cardinality(parts) = 1 THEN
		RETURN parts[1];
	END IF;
	RETURN 'COALESCE(' || array_to_string(parts, ', ') || ')';
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_spec(pg_catalog.jsonb, pg_catalog.text, pg_catalog.jsonb, pg_catalog.regclass) IS
	'compiles where a source keeps a structure value (attr:KEY, resource:KEY, metadata:PATH, score:NAME, column:NAME, const:VALUE or a field name; an array tries each in turn) into SQL';

-- A system of record (tickets, claims) joined to the items by the item key:
-- option "record" = {"table": "schema.table", "key": column, and "solved":
-- a boolean column, or "outcome": a column whose text is judged by
-- success_values}.  Returns the SQL of a relation "rec" with one row per key
-- (key, solved, outcome), or NULL without the option.
CREATE FUNCTION @extschema@.attach_record(opts pg_catalog.jsonb, success pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	r jsonb := opts -> 'record';
	rel regclass;
	k text;
	solved text;
	outcome text;
BEGIN
	IF r IS NULL OR jsonb_typeof(r) = 'null' THEN
		RETURN NULL;
	END IF;
	IF jsonb_typeof(r) <> 'object' OR coalesce(jsonb_typeof(r -> 'table'), '') <> 'string'
	   OR coalesce(jsonb_typeof(r -> 'key'), '') <> 'string'
	   OR (coalesce(jsonb_typeof(r -> 'solved'), '') <> 'string' AND coalesce(jsonb_typeof(r -> 'outcome'), '') <> 'string')
	   OR EXISTS (SELECT 1 FROM jsonb_object_keys(r) x WHERE x NOT IN ('table', 'key', 'solved', 'outcome')) THEN
		RAISE EXCEPTION 'option "record" must be {"table": ..., "key": ..., "solved": ... or "outcome": ...}'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = '"table" is the schema-qualified table of the system of record, "key" its column holding the item key, "solved" a boolean column or "outcome" a column whose values success_values judges.';
	END IF;
	rel := to_regclass(r ->> 'table');
	IF rel IS NULL THEN
		RAISE EXCEPTION 'option "record": relation "%" does not exist', r ->> 'table'
			USING ERRCODE = 'undefined_table',
				  HINT = 'Give the table with its schema (schema.table).';
	END IF;
	PERFORM @extschema@.attach_relation(rel, 'system of record');
	k := @extschema@.attach_column(rel, r ->> 'key', 'text', 'item key of the system of record', 'x');
	outcome := CASE WHEN r ? 'outcome' THEN @extschema@.attach_column(rel, r ->> 'outcome', 'enum', 'outcome of the system of record', 'x') END;
	solved := CASE WHEN r ? 'solved' THEN @extschema@.attach_column(rel, r ->> 'solved', 'bool', 'solved flag of the system of record', 'x')
				   ELSE format('pg_catalog.lower(pg_catalog.btrim(%s)) = ANY (%s)', outcome, success) END;
	-- one row per key: a key recorded twice counts as solved when any row says so
	RETURN format('SELECT %1$s AS key, pg_catalog.bool_or(%2$s) AS solved, pg_catalog.min(%3$s) AS outcome '
				  'FROM %4$s x WHERE %1$s IS NOT NULL GROUP BY 1',
				  k, solved, coalesce(outcome, 'NULL::pg_catalog.text'), rel);
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_record(pg_catalog.jsonb, pg_catalog.text) IS
	'the SQL reading the system of record named in option "record" (item key, solved, outcome), one row per key';

-- ---------------------------------------------------------------------------
-- The views.  Every source compiles to "parts" (jsonb):
--   from   a relation aliased r with one row per stored span (a table, or a
--          subquery that expands documents or joins tables);
--   trace, span   the SQL over r of the trace and span ids (text);
--   order  SQL over r ordering the stored copies of one span id (the first
--          is kept): every column read, so the choice is deterministic;
--   cols   the SQL over r of each column of "the base", all text unless
--          said:
--     trace_id, span_id, parent_id (NULL for a root), name,
--     started_at, ended_at (timestamptz), status_raw, error_type,
--     operation, kind (llm, tool, agent or other),
--     provider, request_model, response_model,
--     input_raw, output_raw, cache_read_raw, cache_write_raw, reasoning_raw
--       (token counts as text, as the source has them),
--     reported_cost (numeric, NULL when none or not a number),
--     reported_cost_raw (its text when the source stores text),
--     reported_currency, reported_cost_source, estimated_cost (numeric),
--     conversation_id, tool_name, args_hash,
--     workflow, item, outcome, option, attempt_raw (the structure values
--       the span carries).
-- attach_build() turns the parts into the SQL of the seven views.  Repeated
-- span ids (at-least-once delivery) are collapsed on the stored rows,
-- before anything is read from them, and only when dedup is true (a unique
-- index on the ids makes it needless).
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.attach_build(source pg_catalog.text, parts pg_catalog.jsonb,
	opts pg_catalog.jsonb, dedup pg_catalog.bool) RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	src text := quote_literal(source) || '::pg_catalog.text';
	sep text := CASE WHEN opts ->> 'cache_tokens' = 'separate' THEN 'true' ELSE 'false' END;
	is_strict boolean := coalesce((opts ->> 'strict')::boolean, false);
	reported_first boolean := coalesce(opts ->> 'cost_basis', 'reported_first') = 'reported_first';
	success text := quote_literal(coalesce(
		(SELECT array_agg(lower(v)) FROM jsonb_array_elements_text(opts -> 'success_values') v),
		ARRAY['success', 'succeeded', 'solved', 'resolved', 'ok', 'pass', 'passed', 'true', '1', 'yes'])::text)
		|| '::pg_catalog.text[]';
	colnames text[] := ARRAY['trace_id', 'span_id', 'parent_id', 'name', 'started_at', 'ended_at',
		'status_raw', 'error_type', 'operation', 'kind', 'provider', 'request_model', 'response_model',
		'input_raw', 'output_raw', 'cache_read_raw', 'cache_write_raw', 'reasoning_raw',
		'reported_cost', 'reported_cost_raw', 'reported_currency', 'reported_cost_source', 'estimated_cost',
		'conversation_id', 'tool_name', 'args_hash', 'workflow', 'item', 'outcome', 'option', 'attempt_raw',
		'segment'];
	cols jsonb := parts -> 'cols';
	rel text := parts ->> 'from';
	sel text;
	dedup_sel text;
	content text;
	call_filter text;
	usage_kind text;
	base_all text;			-- every stored row
	spans_rows text;		-- every span once, usage_kind telling calls and agent usage
	calls_rows text;		-- every counted call once
	priced text;			-- template: the rows of {{ROWS}} priced
	spans_priced text;
	calls_priced text;
	traces text;
	attempts text;
	by_trace text;
	attempt_expr text;
	v_calls text;
	v_spans text;
	v_attempts text;
	v_items text;
	v_conv text;
	v_problems text;
	v_traces text;
	record text;
	c text;
BEGIN
	FOREACH c IN ARRAY colnames LOOP
		IF NOT cols ? c THEN
			RAISE EXCEPTION 'attach_build: the source gives no column %', c USING ERRCODE = 'internal_error';
		END IF;
	END LOOP;
	SELECT string_agg(format('%s AS %I', cols ->> n, n), E',\n\t   ' ORDER BY o)
	  INTO sel FROM unnest(colnames) WITH ORDINALITY u(n, o);
	SELECT 'ROW(' || string_agg('b.' || n, ', ') || ')' INTO content
	  FROM unnest(colnames) n WHERE n NOT IN ('trace_id', 'span_id');

	base_all := format('SELECT %s%sFROM %s', sel, E'\n  ', rel);

	-- The spans whose usage is priced: LLM calls ("call"), and agent spans
	-- that carry usage ("agent").  An agent span's usage counts only where
	-- its trace has no LLM-call span (else it repeats its calls' usage):
	-- attempts, items and spans apply that per trace; the calls view lists
	-- LLM calls only, so it reads each row once, with no look at others.
	call_filter := format('%s = ''llm''', cols ->> 'kind');
	usage_kind := format('CASE %s WHEN ''llm'' THEN ''call''%s END', cols ->> 'kind',
		CASE WHEN coalesce(opts ->> 'agent_usage', 'when_no_calls') = 'when_no_calls' THEN format(
			' WHEN ''agent'' THEN CASE WHEN %s IS NOT NULL OR %s IS NOT NULL THEN ''agent'' END',
			cols ->> 'input_raw', cols ->> 'output_raw')
		ELSE '' END);

	-- Repeated span ids are collapsed on the stored rows (before anything is
	-- read from them), keeping the first copy in the source's order.  The
	-- collapsing passes on the table's columns (parts' star) but the stamp
	-- of a tracking (rollup_source_track()), which untracking drops.  The
	-- trace id is read back from the collapsing's own key (bytes, as "C"
	-- compares them; a deterministic collation's equality is the same
	-- bytes) in the trace id's own collation (parts' trace_collation: the
	-- column's, whose index a condition then reaches; else the default),
	-- so that a condition on trace ids (a rollup refresh's) passes the
	-- DISTINCT ON and reaches the table and its index on the trace id.
	IF dedup THEN
		IF parts ->> 'trace' = cols ->> 'trace_id' THEN
			SELECT string_agg(format('%s AS %I', CASE WHEN n = 'trace_id'
						THEN format('(r.tokacct_trace_key COLLATE %s)', coalesce(parts ->> 'trace_collation', 'pg_catalog."default"'))
						ELSE cols ->> n END, n), E',\n\t   ' ORDER BY o)
			  INTO dedup_sel FROM unnest(colnames) WITH ORDINALITY u(n, o);
		ELSE
			dedup_sel := sel;
		END IF;
		-- A copy that is an LLM call is kept over one that is not (its usage
		-- counts), then the source's order: so the calls view, which reads
		-- only the calls' copies, keeps the copy every other view keeps.
		spans_rows := format(
			'SELECT %1$s, %7$s AS usage_kind%2$sFROM (SELECT DISTINCT ON ((%3$s) COLLATE "C", (%4$s) COLLATE "C") '
			'(%3$s) COLLATE "C" AS tokacct_trace_key, %8$s FROM %5$s '
			'ORDER BY (%3$s) COLLATE "C", (%4$s) COLLATE "C", (%9$s) DESC, %6$s) r',
			dedup_sel, E'\n  ', parts ->> 'trace', parts ->> 'span', rel, parts ->> 'order', usage_kind,
			coalesce(parts ->> 'star', 'r.*'), call_filter);
		calls_rows := format(
			'SELECT %1$s, ''call''::pg_catalog.text AS usage_kind%2$sFROM (SELECT DISTINCT ON ((%3$s) COLLATE "C", (%4$s) COLLATE "C") '
			'(%3$s) COLLATE "C" AS tokacct_trace_key, %8$s FROM %5$s '
			'WHERE %7$s ORDER BY (%3$s) COLLATE "C", (%4$s) COLLATE "C", %6$s) r',
			dedup_sel, E'\n  ', parts ->> 'trace', parts ->> 'span', rel, parts ->> 'order', call_filter,
			coalesce(parts ->> 'star', 'r.*'));
	ELSE
		spans_rows := format('SELECT %s, %s AS usage_kind%sFROM %s', sel, usage_kind, E'\n  ', rel);
		calls_rows := format('SELECT %s, ''call''::pg_catalog.text AS usage_kind%sFROM %s WHERE %s', sel, E'\n  ', rel, call_filter);
	END IF;

	-- The rows of {{ROWS}} priced: l0 reads the counts and names, l1 prices,
	-- l2 says what is wrong.  Spans without usage to price cost 0.
	--
	-- The outer layer carries a column fence (but for a strict source, see
	-- the last argument below): attach_fence() is volatile, so PostgreSQL
	-- keeps this layer a subquery instead of pulling it up into the view
	-- (src/attach.c), and each column of a priced span (cost, list_cost,
	-- problem, the counts, the status) is computed once, where the view
	-- reads it; pulled up, every reference re-ran its whole expression (the
	-- attempts view summed the cost of a span in two aggregates and tested
	-- it in two more: a pricing each).  Quals on the other columns still go
	-- down to the scan of the user's table (only the fence column itself is
	-- unsafe to push down), unread columns are still dropped, and parallel
	-- plans stay possible (the fence is PARALLEL SAFE).  A fence in every
	-- layer (l0, l1, l2 and the rows) was measured slower than this one: a
	-- fenced layer computes eagerly all it passes up, where the flattened
	-- expressions short-circuit (the status is read only for a call
	-- without usage, ...), and adds a node per row.  One C function
	-- returning every derived value as a composite was the other way; it
	-- would move the pricing rules out of SQL for little more.
	-- PERFORMANCE.md has the figures.
	priced := format($q$
SELECT l2.*,
	   CASE WHEN NOT l2.priced THEN 0::pg_catalog.numeric ELSE %1$s END AS cost,
	   CASE WHEN NOT l2.priced THEN NULL
			WHEN %2$s AND l2.reported_usd IS NOT NULL THEN 'reported'
			WHEN l2.list_cost IS NOT NULL THEN 'catalog' END AS cost_source%4$s
  FROM (SELECT l1.*,
			   COALESCE(
				 CASE WHEN NOT l1.priced THEN NULL
					  WHEN l1.started_at IS NULL OR NOT pg_catalog.isfinite(l1.started_at)
					  THEN 'no usable start time' END,
				 CASE WHEN l1.priced THEN @extschema@.attach_usage_problem(l1.input_raw, l1.output_raw,
					 l1.cache_read_raw, l1.cache_write_raw, l1.reasoning_raw, %3$s) END,
				 CASE WHEN l1.priced THEN l1.reported_problem END,
				 CASE WHEN l1.priced AND NOT l1.has_usage AND l1.status = 'ok' AND l1.reported_usd IS NULL
					  THEN 'no token usage on a successful call' END,
				 CASE WHEN l1.priced AND l1.has_usage AND l1.list_cost IS NULL
					  THEN pg_catalog.format('no catalog price for provider %%s, model %%s',
							pg_catalog.quote_nullable(l1.price_provider), pg_catalog.quote_nullable(l1.price_model)) END,
				 CASE WHEN l1.status_unknown
					  THEN pg_catalog.format('unknown status %%s (taken as ok)', pg_catalog.quote_literal(l1.status_raw)) END
			   ) AS problem
		  FROM (SELECT l0.*,
					   CASE WHEN l0.priced THEN
						 COALESCE(@extschema@.attach_list_cost(l0.provider, l0.model, l0.input_raw,
								l0.output_raw, l0.cache_read_raw, l0.cache_write_raw, l0.reasoning_raw,
								l0.started_at, %3$s),
							CASE WHEN NOT l0.has_usage AND l0.status <> 'ok' THEN 0::pg_catalog.numeric END) END AS list_cost
				  FROM (SELECT c.*, c.usage_kind IS NOT NULL AS priced,
							   COALESCE(@extschema@.attach_status(c.status_raw, c.error_type), 'ok') AS status,
							   @extschema@.attach_status(c.status_raw, c.error_type) IS NULL AS status_unknown,
							   COALESCE(c.response_model, c.request_model) AS model,
							   -- the counts of a call that reports usage; an absent one is 0,
							   -- an unusable one NULL
							   CASE WHEN c.usage_kind IS NOT NULL AND (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) THEN
								   COALESCE(@extschema@.attach_input_tokens(c.input_raw, c.cache_read_raw, c.cache_write_raw, %3$s),
									   CASE WHEN pg_catalog.btrim(COALESCE(c.input_raw, '')) = '' THEN 0::pg_catalog.int8 END) END AS input_tokens,
							   {{COUNT:output_raw}} AS output_tokens,
							   {{COUNT:cache_read_raw}} AS cache_read_tokens,
							   {{COUNT:cache_write_raw}} AS cache_write_tokens,
							   {{COUNT:reasoning_raw}} AS reasoning_tokens,
							   (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) AS has_usage,
							   CASE WHEN c.reported_cost IS NULL AND c.reported_cost_raw IS NOT NULL
									 AND c.reported_cost_raw !~ '^\s*$'
									THEN pg_catalog.format('reported cost not a number: %%s',
										pg_catalog.quote_literal(pg_catalog.left(c.reported_cost_raw, 40)))
									WHEN c.reported_cost IS NULL THEN NULL
									WHEN c.reported_cost = 'NaN'::pg_catalog.numeric
									  OR c.reported_cost = 'Infinity'::pg_catalog.numeric
									  OR c.reported_cost = '-Infinity'::pg_catalog.numeric
									THEN 'reported cost not finite'
									WHEN c.reported_cost < 0 THEN 'reported cost negative'
									WHEN c.reported_cost > 1000000 THEN 'reported cost above 1000000'
							   END AS reported_problem,
							   CASE WHEN c.reported_cost IS NOT NULL
									 AND c.reported_cost <> 'NaN'::pg_catalog.numeric
									 AND c.reported_cost >= 0 AND c.reported_cost <= 1000000
									 AND pg_catalog.upper(COALESCE(c.reported_currency, 'USD')) = 'USD'
									THEN pg_catalog.round(c.reported_cost, 12) END AS reported_usd,
							   COALESCE({{ALIAS}} OPERATOR(pg_catalog.->>) 2,
								   {{PROVIDER_MAP}} OPERATOR(pg_catalog.->>) @extschema@.fold_name(c.provider),
								   c.provider) AS price_provider,
							   COALESCE({{ALIAS}} OPERATOR(pg_catalog.->>) 3, c.response_model, c.request_model) AS price_model
						  FROM ({{ROWS}}) c) l0) l1) l2$q$,
		CASE
			WHEN is_strict THEN 'CASE WHEN l2.problem IS NOT NULL THEN @extschema@.attach_refuse('
				|| src || ', l2.trace_id, l2.span_id, l2.problem) '
				|| CASE WHEN reported_first THEN 'ELSE COALESCE(l2.reported_usd, l2.list_cost) END'
						ELSE 'ELSE l2.list_cost END' END
			WHEN reported_first THEN 'COALESCE(l2.reported_usd, l2.list_cost)'
			ELSE 'l2.list_cost'
		END,
		CASE WHEN reported_first THEN 'true' ELSE 'false' END,
		sep,
		-- a strict source's cost raises on a row with a problem: fenced, it
		-- would be computed for rows a qual on the view (WHERE item = ...)
		-- leaves out, and raise for them; a strict source is not fenced
		CASE WHEN is_strict THEN '' ELSE E',\n\t   @extschema@.attach_fence() AS fence' END);
	-- Aliases: each table is read once per query into a jsonb map (an
	-- InitPlan), so a call costs a key lookup rather than a join (the
	-- planner cannot estimate how many calls a join would see) and the
	-- pricing runs in parallel workers.  A model alias is looked for under
	-- "provider US model", both folded by fold_name() as cost() folds them
	-- (ASCII capitals only, whatever the locale); its period (unix seconds,
	-- the open ends as +-1e15) is chosen by the call's time with a jsonpath
	-- filter.
	priced := replace(replace(replace(priced,
		'{{ALIAS}}', $q$(CASE WHEN {{MODEL_MAP}} IS NOT NULL AND pg_catalog.isfinite(c.started_at)
					AND {{MODEL_MAP}} OPERATOR(pg_catalog.?) {{MODEL_KEY}}
			THEN pg_catalog.jsonb_path_query_first({{MODEL_MAP}} OPERATOR(pg_catalog.->) {{MODEL_KEY}},
				'strict $[*] ? (@[0] <= $t && $t < @[1])',
				pg_catalog.jsonb_build_object('t', EXTRACT(epoch FROM c.started_at))) END)$q$),
		'{{MODEL_KEY}}', $q$(@extschema@.fold_name(COALESCE(c.provider, '')) OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) @extschema@.fold_name(COALESCE(c.response_model, c.request_model)))$q$),
		'{{MODEL_MAP}}', $q$(SELECT pg_catalog.jsonb_object_agg(m.k, m.periods)
			FROM (SELECT ma.provider OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) ma.model AS k,
						 pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(
							 CASE WHEN pg_catalog.isfinite(ma.valid_from) THEN EXTRACT(epoch FROM ma.valid_from) ELSE -1e15 END,
							 CASE WHEN pg_catalog.isfinite(ma.valid_until) THEN EXTRACT(epoch FROM ma.valid_until) ELSE 1e15 END,
							 ma.catalog_provider, ma.catalog_model) ORDER BY ma.valid_from) AS periods
					FROM @extschema@.model_alias_rows() ma GROUP BY 1) m)$q$);
	FOREACH c IN ARRAY ARRAY['output_raw', 'cache_read_raw', 'cache_write_raw', 'reasoning_raw'] LOOP
		priced := replace(priced, '{{COUNT:' || c || '}}', format(
			'CASE WHEN c.usage_kind IS NOT NULL AND (c.input_raw IS NOT NULL OR c.output_raw IS NOT NULL) THEN '
			'COALESCE(@extschema@.attach_int8(c.%1$s), CASE WHEN pg_catalog.btrim(COALESCE(c.%1$s, '''')) = '''' '
			'THEN 0::pg_catalog.int8 END) END', c));
	END LOOP;
	priced := replace(priced, '{{PROVIDER_MAP}}',
		'(SELECT pg_catalog.jsonb_object_agg(pa.provider, pa.catalog_provider) FROM @extschema@.provider_alias_rows() pa)');
	spans_priced := replace(priced, '{{ROWS}}', spans_rows);
	calls_priced := replace(priced, '{{ROWS}}', calls_rows);

	-- Traces: their time, root status and structure values (a root span's
	-- value first, else the smallest any span of the trace carries).  Every
	-- stored row is read (a hash aggregate, where collapsing the copies
	-- first would sort every span): copies of a span that differ in start
	-- or status give the trace the earliest start and a failed root if any
	-- copy failed, where the attempts view takes the kept copy's.
	traces := format($q$
SELECT b.trace_id,
	   pg_catalog.min(b.started_at) AS started_at,
	   pg_catalog.max(COALESCE(b.ended_at, b.started_at)) AS ended_at,
	   pg_catalog.count(DISTINCT b.span_id) FILTER (WHERE b.parent_id IS NULL) AS roots,
	   pg_catalog.bool_or(COALESCE(@extschema@.attach_status(b.status_raw, b.error_type), 'ok') NOT IN ('ok', 'discarded'))
		   FILTER (WHERE b.parent_id IS NULL) AS root_failed,
	   COALESCE(pg_catalog.min(b.workflow) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.workflow)) AS workflow,
	   COALESCE(pg_catalog.min(b.item) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.item)) AS item,
	   COALESCE(pg_catalog.min(b.outcome) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.outcome)) AS outcome,
	   COALESCE(pg_catalog.min(b.option) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.option)) AS option,
	   COALESCE(pg_catalog.min(b.attempt_raw) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.attempt_raw)) AS attempt_raw
  FROM (%1$s) b
 GROUP BY b.trace_id$q$, base_all);

	-- Attempts: one per trace, numbered per (workflow, item) in time order
	-- (or by the attempt number the source records); the run is the trace
	-- of the item's first attempt (waste sees an item's attempts together).
	IF opts ? 'attempt' AND jsonb_typeof(opts -> 'attempt') <> 'null' THEN
		attempt_expr := 'CASE WHEN t.item IS NOT NULL THEN @extschema@.attach_int8(t.attempt_raw)::pg_catalog.int4 END';
	ELSE
		attempt_expr := 'CASE WHEN t.item IS NOT NULL THEN (pg_catalog.row_number() OVER w)::pg_catalog.int4 END';
	END IF;
	attempts := format($q$
SELECT t.*,
	   %1$s AS attempt,
	   CASE WHEN t.item IS NOT NULL THEN pg_catalog.first_value(t.trace_id) OVER w ELSE t.trace_id END AS run_id,
	   CASE WHEN t.outcome IS NOT NULL THEN pg_catalog.lower(pg_catalog.btrim(t.outcome)) = ANY (%2$s)
			WHEN t.roots = 0 THEN NULL
			ELSE NOT t.root_failed END AS succeeded
  FROM (%3$s) t
WINDOW w AS (PARTITION BY t.workflow, t.item ORDER BY t.started_at, t.trace_id COLLATE "C")$q$,
		attempt_expr, success, '{{TRACES}}');

	-- One row per trace (a GROUP BY, so a join to it that reads nothing is
	-- removed); joined by hash to calls, spans and conversations.
	by_trace := format(
		'SELECT a.trace_id, pg_catalog.min(a.workflow) AS workflow, pg_catalog.min(a.item) AS item, '
		'pg_catalog.min(a.attempt) AS attempt, pg_catalog.min(a.run_id) AS run_id, '
		'pg_catalog.bool_and(a.succeeded) AS succeeded FROM (%s) a GROUP BY a.trace_id',
		replace(attempts, '{{TRACES}}', traces));

	-- traces: one row per trace, the values the other views take from it
	-- (a GROUP BY on the trace id: a condition on trace ids, even a list
	-- of them, reaches the source's table) -----------------------------------
	v_traces := format($q$
SELECT %1$s AS source, t.trace_id, t.workflow, t.item, t.option, t.outcome, t.started_at, t.ended_at,
	   t.roots AS root_spans,
	   CASE WHEN t.outcome IS NOT NULL THEN pg_catalog.lower(pg_catalog.btrim(t.outcome)) = ANY (%3$s)
			ELSE NOT t.root_failed END AS succeeded,
	   %4$s AS recorded_attempt
  FROM (%2$s) t$q$,
		src, traces, success,
		CASE WHEN opts ? 'attempt' AND jsonb_typeof(opts -> 'attempt') <> 'null'
			THEN '@extschema@.attach_int8(t.attempt_raw)::pg_catalog.int4' ELSE 'NULL::pg_catalog.int4' END);

	-- calls --------------------------------------------------------------
	-- The workflow and item come from the traces (one row per trace, no
	-- window), the attempt number from the attempts: a query that reads no
	-- attempt number drops that join, and a condition on one trace id (a
	-- rollup refresh's) then reaches the source's table through the traces
	-- instead of numbering every attempt of the source.
	v_calls := format($q$
SELECT %1$s AS source, p.trace_id, p.span_id, p.parent_id, p.name, p.operation, p.started_at, p.ended_at, p.status,
	   t.workflow, t.item, a.attempt, COALESCE(p.conversation_id, p.trace_id) AS conversation_id,
	   p.provider, p.model, p.request_model, p.response_model, p.price_provider, p.price_model,
	   p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cache_write_tokens, p.reasoning_tokens,
	   p.list_cost, p.reported_usd AS reported_cost, p.reported_currency, p.reported_cost_source,
	   p.estimated_cost, p.cost, p.cost_source, p.problem
  FROM (%2$s) p
  LEFT JOIN (SELECT w.trace_id, w.workflow, w.item FROM (%3$s) w) t ON t.trace_id = p.trace_id
  LEFT JOIN (%4$s) a ON a.trace_id = p.trace_id$q$,
		src, calls_priced, traces, by_trace);

	-- attempts: the structure and the cost of each trace in one pass over
	-- its priced spans (no join whose size the planner would guess) --------
	v_attempts := format($q$
SELECT %1$s AS source, a.workflow, a.item, COALESCE(a.option, a.models) AS option, a.attempt,
	   a.trace_id, a.started_at, a.ended_at, a.succeeded, a.outcome,
	   CASE WHEN a.left_out = 0 THEN COALESCE(a.cost, 0) END AS cost,
	   COALESCE(a.cost, 0) AS cost_known,
	   a.calls, a.left_out AS calls_left_out,
	   COALESCE(a.input_tokens, 0)::pg_catalog.int8 AS input_tokens,
	   COALESCE(a.output_tokens, 0)::pg_catalog.int8 AS output_tokens,
	   CASE WHEN a.item IS NULL THEN 'no item key'
			WHEN a.attempt IS NULL THEN 'attempt number not a whole number'
			WHEN a.succeeded IS NULL THEN 'success unknown: the trace has no root span'
			WHEN a.left_out > 0 THEN pg_catalog.format('%%s of %%s calls left out of the cost', a.left_out, a.calls)
	   END AS problem,
	   a.segment
  FROM (%2$s) a$q$,
		src, replace(attempts, '{{TRACES}}', format($q$
SELECT b.trace_id,
	   pg_catalog.min(b.started_at) AS started_at,
	   pg_catalog.max(COALESCE(b.ended_at, b.started_at)) AS ended_at,
	   pg_catalog.count(*) FILTER (WHERE b.parent_id IS NULL) AS roots,
	   pg_catalog.bool_or(b.status NOT IN ('ok', 'discarded')) FILTER (WHERE b.parent_id IS NULL) AS root_failed,
	   COALESCE(pg_catalog.min(b.workflow) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.workflow)) AS workflow,
	   COALESCE(pg_catalog.min(b.item) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.item)) AS item,
	   COALESCE(pg_catalog.min(b.outcome) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.outcome)) AS outcome,
	   COALESCE(pg_catalog.min(b.option) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.option)) AS option,
	   COALESCE(pg_catalog.min(b.attempt_raw) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.attempt_raw)) AS attempt_raw,
	   COALESCE(pg_catalog.min(b.segment) FILTER (WHERE b.parent_id IS NULL), pg_catalog.min(b.segment)) AS segment,
	   -- the calls' cost, or where the trace has no LLM call its agent spans' usage
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.cost) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.cost) FILTER (WHERE b.usage_kind = 'agent') END AS cost,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'agent') END AS calls,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call' AND b.cost IS NULL)
			ELSE pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'agent' AND b.cost IS NULL) END AS left_out,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.input_tokens) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.input_tokens) FILTER (WHERE b.usage_kind = 'agent') END AS input_tokens,
	   CASE WHEN pg_catalog.count(*) FILTER (WHERE b.usage_kind = 'call') > 0
			THEN pg_catalog.sum(b.output_tokens) FILTER (WHERE b.usage_kind = 'call')
			ELSE pg_catalog.sum(b.output_tokens) FILTER (WHERE b.usage_kind = 'agent') END AS output_tokens,
	   COALESCE(pg_catalog.string_agg(DISTINCT b.price_model, '+' ORDER BY b.price_model) FILTER (WHERE b.usage_kind = 'call'),
				pg_catalog.string_agg(DISTINCT b.price_model, '+' ORDER BY b.price_model) FILTER (WHERE b.usage_kind = 'agent')) AS models
  FROM (%1$s) b
 GROUP BY b.trace_id$q$, spans_priced)));

	-- items ------------------------------------------------------------------
	record := @extschema@.attach_record(opts, success);
	v_items := format($q$
SELECT i.source, i.workflow, i.item, i.option, i.attempts, i.solved, i.started_at, i.ended_at,
	   i.ai_cost, i.ai_cost_known, i.calls, i.calls_left_out,
	   CASE WHEN i.solved THEN 0::pg_catalog.numeric
			WHEN NOT i.solved THEN pg_catalog.round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12)
	   END AS human_fix_cost,
	   b.bpo_unit_price,
	   CASE WHEN i.solved THEN b.bpo_unit_price
			WHEN NOT i.solved THEN b.bpo_unit_price - pg_catalog.round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12)
	   END AS value,
	   i.problem, i.segment, i.first_try_succeeded, i.failed_attempt_cost
  FROM (%3$s) i
  LEFT JOIN LATERAL (SELECT bl.bpo_unit_price, bl.human_cost_per_hour, bl.human_minutes_per_item
					   FROM @extschema@.baseline_rows() bl
					  WHERE bl.workflow = i.workflow AND bl.valid_from <= i.started_at
						AND pg_catalog.upper(bl.currency) = 'USD'
					  ORDER BY bl.valid_from DESC LIMIT 1) b ON true$q$,
		src, v_attempts, CASE WHEN record IS NULL THEN '{{ITEMS}}' ELSE format(
			'SELECT i0.source, i0.workflow, i0.item, i0.option, i0.attempts, '
			'COALESCE(rec.solved, i0.solved) AS solved, i0.started_at, i0.ended_at, i0.ai_cost, i0.ai_cost_known, '
			'i0.calls, i0.calls_left_out, COALESCE(i0.problem, CASE WHEN rec.key IS NULL '
			'THEN ''no row for the item in the system of record'' END) AS problem, '
			'i0.segment, i0.first_try_succeeded, i0.failed_attempt_cost '
			'FROM ({{ITEMS}}) i0 LEFT JOIN (%s) rec ON rec.key = i0.item', record) END);
	v_items := replace(v_items, '{{ITEMS}}', format($q$SELECT %1$s AS source, a.workflow, a.item,
			   pg_catalog.string_agg(DISTINCT a.option, '+' ORDER BY a.option) AS option,
			   pg_catalog.count(*) AS attempts,
			   pg_catalog.bool_or(a.succeeded) AS solved,
			   pg_catalog.min(a.started_at) AS started_at, pg_catalog.max(a.ended_at) AS ended_at,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) = 0 THEN pg_catalog.sum(a.cost) END AS ai_cost,
			   pg_catalog.sum(a.cost_known) AS ai_cost_known,
			   pg_catalog.sum(a.calls)::pg_catalog.int8 AS calls,
			   pg_catalog.sum(a.calls_left_out)::pg_catalog.int8 AS calls_left_out,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) > 0
					THEN pg_catalog.format('%%s of %%s calls left out of the cost', pg_catalog.sum(a.calls_left_out), pg_catalog.sum(a.calls))
					WHEN pg_catalog.bool_or(a.succeeded) IS NULL THEN 'success unknown'
			   END AS problem,
			   pg_catalog.min(a.segment) AS segment,
			   pg_catalog.bool_or(a.succeeded) FILTER (WHERE a.attempt = 1) AS first_try_succeeded,
			   CASE WHEN pg_catalog.sum(a.calls_left_out) = 0
					THEN COALESCE(pg_catalog.sum(a.cost) FILTER (WHERE NOT a.succeeded), 0) END AS failed_attempt_cost
		  FROM (%2$s) a
		 WHERE a.item IS NOT NULL
		 GROUP BY a.workflow, a.item$q$,
		src, v_attempts));

	-- conversations ------------------------------------------------------------
	v_conv := format($q$
SELECT %1$s AS source, a.workflow, a.item, a.attempt,
	   COALESCE(p.conversation_id, p.trace_id) AS conversation_id, p.trace_id, p.span_id,
	   -- (calls of two traces may share a start and a span id: the trace
	   -- id breaks the tie, so that every reading numbers them alike)
	   (pg_catalog.row_number() OVER (PARTITION BY COALESCE(p.conversation_id, p.trace_id)
			ORDER BY p.started_at, p.span_id COLLATE "C", p.trace_id COLLATE "C"))::pg_catalog.int4 AS seq,
	   p.started_at, p.model, p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cost, p.problem
  FROM (%2$s) p
  LEFT JOIN (%3$s) a ON a.trace_id = p.trace_id$q$,
		src, calls_priced, by_trace);

	-- spans ------------------------------------------------------------------
	-- an agent span's usage counts where its trace has no LLM call
	v_spans := format($q$
SELECT s.source, COALESCE(a.run_id, s.trace_id) AS trace_id, s.trace_id AS source_trace_id,
	   s.span_id, s.parent_id, s.kind, COALESCE(s.tool_name, s.name) AS name, s.operation, s.args_hash,
	   CASE WHEN s.parent_id IS NULL AND a.succeeded IS FALSE AND s.status = 'ok' THEN 'error' ELSE s.status END AS status,
	   CASE WHEN s.counted THEN s.cost ELSE 0::pg_catalog.numeric END AS cost,
	   s.started_at, s.ended_at, a.workflow, a.item, a.attempt, s.model,
	   CASE WHEN s.counted THEN s.input_tokens END AS input_tokens,
	   CASE WHEN s.counted THEN s.output_tokens END AS output_tokens,
	   s.call_seq,
	   CASE WHEN s.counted AND s.input_tokens > 0 AND s.list_cost IS NOT NULL
			THEN pg_catalog.round(@extschema@.cost(s.provider, s.model, s.input_tokens, 0, 0, 0, 0, s.started_at)
				 / s.input_tokens, 12) END AS input_price,
	   CASE WHEN s.counted AND s.input_tokens > 0 AND s.list_cost IS NOT NULL
			THEN @extschema@.cost(s.price_provider, s.price_model, s.input_tokens, 0, s.cache_read_tokens,
				 s.cache_write_tokens, 0, s.started_at) END AS input_cost,
	   CASE WHEN s.counted OR s.usage_kind IS NULL THEN s.problem END AS problem,
	   s.status AS span_status
  FROM (SELECT %1$s AS source, p.*,
			   (p.usage_kind = 'call' OR (p.usage_kind = 'agent' AND NOT pg_catalog.bool_or(p.usage_kind = 'call') OVER t))
				   IS TRUE AS counted,
			   CASE WHEN p.usage_kind = 'call'
					THEN (pg_catalog.count(*) FILTER (WHERE p.usage_kind = 'call') OVER t_upto)::pg_catalog.int4 END AS call_seq
		  FROM (%2$s) p
		WINDOW t AS (PARTITION BY p.trace_id ORDER BY p.started_at, p.span_id COLLATE "C"
					 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
			   t_upto AS (PARTITION BY p.trace_id ORDER BY p.started_at, p.span_id COLLATE "C"
						  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) s
  LEFT JOIN (%3$s) a ON a.trace_id = s.trace_id$q$,
		src, spans_priced, by_trace);

	-- problems ---------------------------------------------------------------
	v_problems := format($q$
SELECT %1$s AS source, CASE WHEN p.usage_kind = 'call' THEN 'call' ELSE 'span' END AS level, p.trace_id, p.span_id,
	   p.problem AS reason
  FROM (%2$s) p
 WHERE p.problem IS NOT NULL
   AND (p.usage_kind IS DISTINCT FROM 'agent' OR p.trace_id IS NULL
		OR p.trace_id NOT IN (SELECT c.trace_id FROM (%6$s) c WHERE c.trace_id IS NOT NULL))
UNION ALL
SELECT %1$s, 'span', b.trace_id, b.span_id,
	   pg_catalog.format('%%s copies of the span id with different content: one kept', pg_catalog.count(*))
  FROM (%3$s) b
 WHERE (b.trace_id, b.span_id) IN (SELECT d.trace_id, d.span_id FROM (%3$s) d
								   GROUP BY d.trace_id, d.span_id HAVING pg_catalog.count(*) > 1)
 GROUP BY b.trace_id, b.span_id
HAVING pg_catalog.count(DISTINCT %4$s) > 1
UNION ALL
SELECT %1$s, 'trace', a.trace_id, NULL,
	   CASE WHEN a.item IS NULL THEN 'no item key: the trace is in no attempt or item'
			WHEN a.attempt IS NULL THEN pg_catalog.format('attempt number not a whole number: %%s', pg_catalog.quote_literal(a.attempt_raw))
			ELSE 'no root span: the attempt''s success is unknown' END
  FROM (%5$s) a
 WHERE a.item IS NULL OR a.attempt IS NULL OR a.succeeded IS NULL$q$,
		src, spans_priced, base_all, content, replace(attempts, '{{TRACES}}', traces),
		-- the traces that have an LLM call: an agent span's usage is a
		-- problem only in a trace without one (else it is not counted)
		format('SELECT %s AS trace_id FROM %s WHERE %s', cols ->> 'trace_id', rel, call_filter));

	RETURN jsonb_build_object('calls', v_calls, 'spans', v_spans, 'attempts', v_attempts,
		'items', v_items, 'conversations', v_conv, 'problems', v_problems, 'traces', v_traces);
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_build(pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.bool) IS
	'the SQL of the seven views of an attached source, from the parts its attach function compiled (the relation, the span keys, the order of repeated copies, the SQL of each column)';

-- The comments of the views and their columns (the same for every source).
CREATE FUNCTION @extschema@.attach_comments() RETURNS pg_catalog.jsonb
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
SELECT $j${
 "calls": {
  "": "one row per LLM call (spans repeated by at-least-once delivery counted once), priced at the list prices in force when it ran, with the cost it reported",
  "source": "name of the attached source",
  "trace_id": "trace of the call",
  "span_id": "span id of the call",
  "parent_id": "parent span id (NULL for a root)",
  "name": "span or observation name",
  "operation": "gen_ai.operation.name (chat, generate_content, text_completion, embeddings; invoke_agent for an agent span whose usage is counted)",
  "started_at": "start of the call",
  "ended_at": "end of the call",
  "status": "ok, error, rate_limited, timeout, server_error or discarded",
  "workflow": "workflow of the call's trace",
  "item": "item (ticket, claim, ...) of the call's trace",
  "attempt": "attempt number of the call's trace within its item (1, 2, ... in time order)",
  "conversation_id": "conversation the call belongs to (gen_ai.conversation.id, else its trace)",
  "provider": "provider as the trace names it",
  "model": "model as the trace names it: the response model, else the request model",
  "request_model": "model asked for",
  "response_model": "model that answered",
  "price_provider": "provider the call is priced as (after tokacct.model_alias and tokacct.provider_alias)",
  "price_model": "model the call is priced as (after tokacct.model_alias)",
  "input_tokens": "all input tokens, cache reads and writes included",
  "output_tokens": "all output tokens, reasoning included",
  "cache_read_tokens": "input tokens read from the cache",
  "cache_write_tokens": "input tokens written to the cache",
  "reasoning_tokens": "output tokens spent on reasoning",
  "list_cost": "catalog list price of the call at its time (USD); NULL when it cannot be priced (see problem)",
  "reported_cost": "cost the trace reported, USD, rounded half away from zero to 12 decimals; NULL when none, not USD or unusable",
  "reported_currency": "currency of the reported cost as the trace gives it",
  "reported_cost_source": "who computed the reported cost (gen_ai.usage.cost.source: provider, local; langfuse)",
  "estimated_cost": "a cost the trace store computed itself (Langfuse's calculated_total_cost), for comparison; not used in any figure",
  "cost": "the call's cost in every figure: the reported cost when there is one (cost_basis reported_first), else the list cost; NULL: left out (see problem)",
  "cost_source": "reported or catalog; NULL when the call is left out",
  "problem": "why the call is left out of a figure or is odd; NULL when it is fine"
 },
 "spans": {
  "": "one row per span (repeated span ids collapsed), in the columns tokacct.waste_by_trace() and waste_by_workflow() read",
  "source": "name of the attached source",
  "trace_id": "the tree waste classifies: the trace of the item's first attempt, so the attempts of an item in traces of their own are seen together (else the span's own trace)",
  "source_trace_id": "the span's own trace",
  "span_id": "span id",
  "parent_id": "parent span id (NULL for a root)",
  "kind": "llm, tool, agent or other (from gen_ai.operation.name, or the observation type)",
  "name": "span name (the tool name for a tool call)",
  "operation": "gen_ai.operation.name as recorded",
  "args_hash": "md5 of a tool call's arguments in canonical JSON form (NULL when not recorded)",
  "status": "ok, error, rate_limited, timeout, server_error or discarded; the root of a failed attempt is error",
  "cost": "the span's own cost (its call's cost; 0 for spans that are not counted calls); NULL when left out",
  "started_at": "start of the span",
  "ended_at": "end of the span",
  "workflow": "workflow of the span's trace",
  "item": "item of the span's trace",
  "attempt": "attempt number of the span's trace",
  "model": "model of an LLM span",
  "input_tokens": "input tokens of a counted call (cache included)",
  "output_tokens": "output tokens of a counted call",
  "call_seq": "order of the call among the counted calls of its trace (1, 2, ... by start time); NULL for other spans",
  "input_price": "list price of one uncached input token of the call at its context tier (USD)",
  "input_cost": "list price of the call's input tokens, cache reads and writes at their prices (USD); with input_tokens, what waste's induced cost takes from the call (tokacct.waste_by_trace() reads both)",
  "problem": "why the span is left out of a figure or is odd; NULL when it is fine",
  "span_status": "status as the span itself reports it (status also counts a failed attempt's root span as error)"
 },
 "attempts": {
  "": "one row per attempt: a trace, numbered within its item in time order; its cost is the cost of its whole trace, each call counted once",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item key (NULL when the trace has none: see problem)",
  "option": "the option run: as named by the source, else the models its calls are priced as ('+' between several)",
  "attempt": "attempt number within the item, from 1 in time order (or as the source records it)",
  "trace_id": "trace of the attempt",
  "started_at": "start of the attempt's first span",
  "ended_at": "end of its last span",
  "succeeded": "the outcome says success, or (no outcome) the root span did not fail; NULL when unknown",
  "outcome": "outcome as the source records it",
  "cost": "cost of the attempt's calls; NULL when any of them is left out",
  "cost_known": "cost of the calls that could be counted",
  "calls": "calls in the attempt",
  "calls_left_out": "calls left out of the cost (see the problems view)",
  "input_tokens": "input tokens of its counted calls",
  "output_tokens": "output tokens of its counted calls",
  "problem": "why the attempt is incomplete; NULL when it is fine",
  "segment": "segment of the item (option segment: an attribute the source keeps, e.g. claim type); NULL when not set"
 },
 "items": {
  "": "one row per item (workflow, item key): its attempts, whether it was solved, what the AI cost and what the human fix and the BPO would cost (tokacct.baseline)",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item key",
  "option": "option(s) its attempts ran ('+' between several)",
  "attempts": "number of attempts",
  "solved": "an attempt succeeded; NULL when unknown",
  "started_at": "start of the first attempt",
  "ended_at": "end of the last attempt",
  "ai_cost": "cost of every call of every attempt; NULL when any call is left out",
  "ai_cost_known": "cost of the calls that could be counted",
  "calls": "calls",
  "calls_left_out": "calls left out of ai_cost (see the problems view)",
  "human_fix_cost": "0 when solved; else human_cost_per_hour x human_minutes_per_item / 60 of the baseline in force when it started; NULL without a baseline",
  "bpo_unit_price": "BPO price per item of the baseline in force when it started",
  "value": "value of the outcome: the BPO price when solved, less the human fix cost when not",
  "problem": "why the item is incomplete; NULL when it is fine",
  "segment": "segment of the item (option segment: an attribute the source keeps, e.g. claim type); NULL when not set",
  "first_try_succeeded": "its first attempt succeeded; NULL when it has no attempt numbered 1 or that attempt's success is unknown",
  "failed_attempt_cost": "cost of its attempts that failed (the retry tail's spend); NULL when any call is left out"
 },
 "conversations": {
  "": "the counted calls of each conversation in order, for tokacct.context_growth(seq, input_tokens, output_tokens)",
  "source": "name of the attached source",
  "workflow": "workflow",
  "item": "item",
  "attempt": "attempt number",
  "conversation_id": "conversation (gen_ai.conversation.id, else the trace)",
  "trace_id": "trace of the call",
  "span_id": "span of the call",
  "seq": "order of the call in its conversation (1, 2, ... by start time)",
  "started_at": "start of the call",
  "model": "model",
  "input_tokens": "input tokens (cache included)",
  "output_tokens": "output tokens",
  "cache_read_tokens": "input tokens read from the cache",
  "cost": "cost of the call; NULL when left out",
  "problem": "why the call is left out; NULL when it is fine"
 },
 "problems": {
  "": "every row left out of a figure or odd, with its key and the reason: unusable token counts, unknown models, unusable reported costs, unknown statuses, span ids repeated with different content, traces without an item key or a root",
  "source": "name of the attached source",
  "level": "call, span or trace",
  "trace_id": "trace",
  "span_id": "span (NULL for a trace)",
  "reason": "what is wrong, in words"
 },
 "traces": {
  "": "one row per trace with the structure the other views take from it (a root span's value, else the smallest any span carries); a condition on trace ids reaches the source's table",
  "source": "name of the attached source",
  "trace_id": "trace",
  "workflow": "workflow of the trace",
  "item": "item (ticket, claim, ...) the trace works on; NULL when none",
  "option": "option (model or configuration) the trace records; NULL when none",
  "outcome": "outcome the trace records, as written; NULL when none",
  "started_at": "start of its first span",
  "ended_at": "end of its last span",
  "root_spans": "spans without a parent (0: success unknown, 2 or more: several roots)",
  "succeeded": "whether the trace succeeded, as the attempts view says (its recorded outcome, else its root span's status); NULL when unknown",
  "recorded_attempt": "the attempt number the trace records, for a source attached with an attempt column (NULL otherwise, or when not a whole number); else the attempts view numbers an item's traces by their start"
 }
}$j$::pg_catalog.jsonb
$fn$;
COMMENT ON FUNCTION @extschema@.attach_comments() IS 'the comments given to the attached views and their columns';

-- Drop one view of an attached source; views of the user's built on it stop
-- the drop, with a hint.
CREATE FUNCTION @extschema@.attach_drop_view(source pg_catalog.text, qname pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	rel regclass;
BEGIN
	-- qname comes from tokacct.attachment, which admins write: drop the
	-- view it names, by oid, and run nothing else
	rel := to_regclass(qname);
	IF rel IS NULL OR (SELECT c.relkind FROM pg_class c WHERE c.oid = rel) <> 'v' THEN
		RETURN;
	END IF;
	EXECUTE format('DROP VIEW IF EXISTS %s', rel);
EXCEPTION WHEN dependent_objects_still_exist THEN
	RAISE EXCEPTION 'cannot drop view % of source "%": other objects depend on it', qname, source
		USING ERRCODE = 'dependent_objects_still_exist',
			  DETAIL = (SELECT 'Depending: ' || string_agg(DISTINCT d.refobj, ', ') || '.'
						  FROM (SELECT pg_describe_object(dep.classid, dep.objid, dep.objsubid) AS refobj
								  FROM pg_depend dep JOIN pg_rewrite rw ON dep.classid = 'pg_rewrite'::regclass AND rw.oid = dep.objid
								 WHERE dep.refobjid = qname::regclass AND rw.ev_class <> qname::regclass) d),
			  HINT = 'Drop the views built on it first, then detach or attach again.';
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_drop_view(pg_catalog.text, pg_catalog.text) IS
	'drops one view of an attached source; an error with a hint when views of the user depend on it';

-- Create (or replace, or leave) the views of an attached source and record
-- them.  views maps each view name to its SQL.
CREATE FUNCTION @extschema@.attach_install(p_source pg_catalog.text, p_kind pg_catalog.text,
	p_relations pg_catalog.regclass[], p_schema pg_catalog.name, p_prefix pg_catalog.text,
	p_options pg_catalog.jsonb, p_views pg_catalog.jsonb,
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	old @extschema@.attachment%ROWTYPE;
	had_row boolean;
	target_schema name := coalesce(p_schema, p_source::name);
	prefix text := coalesce(p_prefix, '');
	created boolean := false;
	def text;
	names text[] := ARRAY['calls', 'spans', 'attempts', 'items', 'conversations', 'problems', 'traces',
		'economics_daily', 'economics_weekly', 'economics_monthly', 'segments', 'routing', 'waste',
		'context_growth', 'cost_quantiles', 'frontier', 'allocation', 'unpriced_models', 'problem_summary', 'focus'];
	bi jsonb;
	bi_comments jsonb := @extschema@.attach_bi_comments();
	n text;
	qname text;
	made text[] := '{}';
	comments jsonb := @extschema@.attach_comments();
	c record;
	existing oid;
	all_there boolean;
BEGIN
	IF p_source IS NULL OR p_source !~ '^[a-z_][a-z0-9_]{0,47}$' THEN
		RAISE EXCEPTION 'invalid source name "%"', p_source
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name a source with up to 48 lower-case letters, digits and _, starting with a letter or _ (it is also the default schema of its views).';
	END IF;
	IF NOT has_table_privilege('@extschema@.attachment', 'INSERT, UPDATE, DELETE') THEN
		RAISE EXCEPTION 'permission denied to attach a source'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Role "%s" cannot record sources in @extschema@.attachment.', current_user),
				  HINT = format('The extension''s owner can grant it: CALL @extschema@.grant_admin(%L);', current_user);
	END IF;
	IF target_schema IN ('@extschema@', 'pg_catalog', 'information_schema', 'pg_toast')
	   OR target_schema LIKE 'pg\_temp%' OR target_schema LIKE 'pg\_toast%' THEN
		RAISE EXCEPTION 'cannot create the views of source "%" in schema "%"', p_source, target_schema
			USING ERRCODE = 'invalid_schema_name',
				  HINT = 'Choose a schema of your own (by default the views go to a schema named after the source).';
	END IF;
	IF prefix !~ '^[a-z0-9_]{0,20}$' THEN
		RAISE EXCEPTION 'invalid view name prefix "%"', prefix
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use up to 20 lower-case letters, digits and _ (the views are named prefix || ''calls'', ...).';
	END IF;
	-- the BI views over the six (70_bi.sql)
	bi := @extschema@.attach_bi_sql(p_source, target_schema, prefix);
	def := md5(concat_ws(E'\x1f', p_kind, p_relations::text, target_schema, prefix, p_views::text, bi::text));

	SELECT * INTO old FROM @extschema@.attachment a WHERE a.source = p_source FOR UPDATE;
	had_row := FOUND;

	IF had_row AND old.definition = def THEN
		SELECT bool_and(to_regclass(v) IS NOT NULL) INTO all_there FROM unnest(old.views) v;
		IF all_there THEN
			FOR view_name IN SELECT unnest(old.views) LOOP
				action := 'unchanged';
				RETURN NEXT;
			END LOOP;
			RETURN;
		END IF;
	END IF;

	-- the old views go when the source moves to another schema or prefix
	IF had_row AND (old.view_schema <> target_schema OR old.view_prefix <> prefix) THEN
		-- in reverse: the BI views depend on the six
		FOREACH qname IN ARRAY ARRAY(SELECT v FROM unnest(old.views) WITH ORDINALITY u(v, o) ORDER BY o DESC) LOOP
			PERFORM @extschema@.attach_drop_view(p_source, qname);
			view_name := qname;
			action := 'dropped';
			RETURN NEXT;
		END LOOP;
		IF old.created_schema AND NOT EXISTS (
				SELECT 1 FROM pg_depend d JOIN pg_namespace s ON s.oid = d.refobjid
				 WHERE d.refclassid = 'pg_namespace'::regclass AND s.nspname = old.view_schema) THEN
			EXECUTE format('DROP SCHEMA IF EXISTS %I', old.view_schema);
		END IF;
	END IF;

	IF NOT EXISTS (SELECT 1 FROM pg_namespace s WHERE s.nspname = target_schema) THEN
		EXECUTE format('CREATE SCHEMA %I', target_schema);
		created := true;
	ELSIF had_row AND old.view_schema = target_schema THEN
		created := old.created_schema;
	END IF;

	FOREACH n IN ARRAY names LOOP
		qname := format('%I.%I', target_schema, prefix || n);
		SELECT cl.oid INTO existing FROM pg_class cl JOIN pg_namespace s ON s.oid = cl.relnamespace
		 WHERE s.nspname = target_schema AND cl.relname = prefix || n;
		IF existing IS NOT NULL AND NOT (had_row AND qname = ANY (old.views)) THEN
			RAISE EXCEPTION 'relation % already exists', qname
				USING ERRCODE = 'duplicate_table',
					  DETAIL = format('Attaching source "%s" would create view %s.', p_source, qname),
					  HINT = 'Attach into another schema, or give a prefix for the view names.';
		END IF;
		BEGIN
			EXECUTE format('CREATE OR REPLACE VIEW %s WITH (security_invoker = true) AS %s', qname, coalesce(p_views ->> n, bi ->> n));
		EXCEPTION WHEN invalid_table_definition THEN
			-- the columns changed (a newer tokacct): views over it must go too
			PERFORM @extschema@.attach_drop_view(p_source, qname);
			EXECUTE format('CREATE VIEW %s WITH (security_invoker = true) AS %s', qname, coalesce(p_views ->> n, bi ->> n));
		END;
		EXECUTE format('COMMENT ON VIEW %s IS %L', qname,
			format('tokacct, source %s: %s', p_source, coalesce(comments -> n ->> '', bi_comments -> n ->> '')));
		FOR c IN SELECT a.attname FROM pg_attribute a
				  WHERE a.attrelid = qname::regclass AND a.attnum > 0 AND NOT a.attisdropped LOOP
			EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', qname, c.attname, coalesce(comments -> n ->> c.attname,
				bi_comments -> n ->> c.attname, CASE WHEN n LIKE 'economics\_%' THEN bi_comments -> 'economics' ->> c.attname END));
		END LOOP;
		made := made || qname;
		view_name := qname;
		action := CASE WHEN had_row AND qname = ANY (old.views) THEN 'replaced' ELSE 'created' END;
		RETURN NEXT;
	END LOOP;

	INSERT INTO @extschema@.attachment AS a (source, kind, relations, view_schema, view_prefix, options,
		views, definition, created_schema)
	VALUES (p_source, p_kind, p_relations, target_schema, prefix, p_options, made, def, created)
	ON CONFLICT (source) DO UPDATE
	   SET kind = excluded.kind, relations = excluded.relations, view_schema = excluded.view_schema,
		   view_prefix = excluded.view_prefix, options = excluded.options, views = excluded.views,
		   definition = excluded.definition, created_schema = excluded.created_schema,
		   attached_at = now(), attached_by = CURRENT_USER;
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_install(pg_catalog.text, pg_catalog.text, pg_catalog.regclass[],
	pg_catalog.name, pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb) IS
	'creates, replaces or keeps the seven views of an attached source and records them in tokacct.attachment (the work of every attach function)';

CREATE FUNCTION @extschema@.detach(source pg_catalog.text,
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	old @extschema@.attachment%ROWTYPE;
	qname text;
	remaining text[];
BEGIN
	IF NOT has_table_privilege('@extschema@.attachment', 'DELETE') THEN
		RAISE EXCEPTION 'permission denied to detach a source'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Role "%s" cannot change @extschema@.attachment.', current_user),
				  HINT = format('The extension''s owner can grant it: CALL @extschema@.grant_admin(%L);', current_user);
	END IF;
	SELECT * INTO old FROM @extschema@.attachment a WHERE a.source = detach.source FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no attached source "%"', source
			USING ERRCODE = 'undefined_object',
				  HINT = coalesce('Attached: ' || (SELECT string_agg(a.source, ', ' ORDER BY a.source)
													 FROM @extschema@.attachment a) || '.', 'No source is attached.');
	END IF;
	-- each view after the views of the source built on it (the BI views on
	-- the six, a records source's views on its records view), the latest
	-- first among those free to go
	remaining := old.views;
	WHILE coalesce(pg_catalog.cardinality(remaining), 0) > 0 LOOP
		SELECT u.v INTO qname FROM unnest(remaining) WITH ORDINALITY u(v, o)
		 WHERE NOT EXISTS (
			SELECT 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
			 WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
			   AND d.refobjid = pg_catalog.to_regclass(u.v) AND r.ev_class <> d.refobjid
			   AND r.ev_class = ANY (ARRAY(SELECT pg_catalog.to_regclass(w) FROM unnest(remaining) w)))
		 ORDER BY u.o DESC LIMIT 1;
		IF qname IS NULL THEN
			-- a cycle cannot happen; let attach_drop_view name what depends
			qname := remaining[pg_catalog.cardinality(remaining)];
		END IF;
		PERFORM @extschema@.attach_drop_view(source, qname);
		view_name := qname;
		action := 'dropped';
		RETURN NEXT;
		remaining := pg_catalog.array_remove(remaining, qname);
	END LOOP;
	IF old.created_schema AND NOT EXISTS (
			SELECT 1 FROM pg_depend d JOIN pg_namespace s ON s.oid = d.refobjid
			 WHERE d.refclassid = 'pg_namespace'::regclass AND s.nspname = old.view_schema) THEN
		EXECUTE format('DROP SCHEMA IF EXISTS %I', old.view_schema);
		view_name := quote_ident(old.view_schema);
		action := 'dropped';
		RETURN NEXT;
	END IF;
	DELETE FROM @extschema@.attachment a WHERE a.source = old.source;
END
$fn$;
COMMENT ON FUNCTION @extschema@.detach(pg_catalog.text) IS
	'drops the views of an attached source (and the schema attaching created, when it is empty) and forgets the source; the traces are untouched';

-- ---------------------------------------------------------------------------
-- OpenTelemetry spans in a table: by default the columns of the Collector's
-- ClickHouse exporter in PostgreSQL types ("Timestamp" timestamptz,
-- "TraceId", "SpanId", "ParentSpanId" text with '' for a root,
-- "SpanName", "ServiceName", "StatusCode" (Unset/Ok/Error),
-- "StatusMessage" text, "ResourceAttributes", "SpanAttributes" jsonb
-- objects of string values, "Duration" bigint nanoseconds).
-- ---------------------------------------------------------------------------

-- The columns of the base over OpenTelemetry-shaped spans (shared by
-- attach_otel, attach_otlp_json and attach): cols maps the vocabulary to SQL
-- over alias r: trace_id, span_id, parent_id, start_time, duration
-- (nanoseconds) or end_time, name, service, status, status_message, attributes (jsonb
-- object of the span's attributes), resource_attributes (jsonb); keys maps
-- the attribute names.  Returns the "cols" of the parts (see attach_build).
CREATE FUNCTION @extschema@.attach_span_cols(cols pg_catalog.jsonb, keys pg_catalog.jsonb,
	opts pg_catalog.jsonb, vocab pg_catalog.jsonb, rel pg_catalog.regclass)
	RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	a text := coalesce(cols ->> 'attributes', 'NULL::pg_catalog.jsonb');
	ops jsonb := coalesce(opts -> 'operations', '{}');
	llm text[] := ARRAY(SELECT jsonb_array_elements_text(ops -> 'llm'));
	tool text[] := ARRAY(SELECT jsonb_array_elements_text(ops -> 'tool'));
	agent text[] := ARRAY(SELECT jsonb_array_elements_text(ops -> 'agent'));
	op text;
	kind_case text;
	k text;
	status text := coalesce(cols ->> 'status', 'NULL::pg_catalog.text');
	dur text := coalesce(cols ->> 'duration', 'NULL::pg_catalog.int8');
	name text := coalesce(cols ->> 'name', 'NULL::pg_catalog.text');
BEGIN
	IF cardinality(llm) = 0 THEN llm := ARRAY['chat', 'generate_content', 'text_completion', 'embeddings']; END IF;
	IF cardinality(tool) = 0 THEN tool := ARRAY['execute_tool']; END IF;
	IF cardinality(agent) = 0 THEN agent := ARRAY['invoke_agent', 'create_agent']; END IF;
	op := format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'operation');
	-- a simple CASE reads the operation once
	kind_case := 'CASE ' || op;
	FOREACH k IN ARRAY llm LOOP kind_case := kind_case || format(' WHEN %L THEN ''llm''', k); END LOOP;
	FOREACH k IN ARRAY tool LOOP kind_case := kind_case || format(' WHEN %L THEN ''tool''', k); END LOOP;
	FOREACH k IN ARRAY agent LOOP kind_case := kind_case || format(' WHEN %L THEN ''agent''', k); END LOOP;
	kind_case := kind_case || ' ELSE ''other'' END';

	RETURN jsonb_build_object(
		'trace_id', cols ->> 'trace_id',
		'span_id', cols ->> 'span_id',
		'parent_id', format('NULLIF(%s, '''')', coalesce(cols ->> 'parent_id', 'NULL::pg_catalog.text')),
		'name', name,
		'started_at', cols ->> 'start_time',
		-- the end time, or the start plus a duration (beyond about 3 years
		-- not one; nor a start past the year 100000, which would overflow)
		'ended_at', coalesce(cols ->> 'end_time', format('CASE WHEN %2$s BETWEEN 0 AND 100000000000000000 '
			'AND %1$s < ''100000-01-01 00:00+00''::pg_catalog.timestamptz '
			'THEN %1$s + (%2$s / 1000)::pg_catalog.float8 * ''1 microsecond''::pg_catalog.interval END',
			cols ->> 'start_time', dur)),
		'status_raw', status,
		-- error.type, else the status message of a span with a status
		'error_type', format('COALESCE(%s, CASE WHEN %s IS NOT NULL THEN NULLIF(%s, '''') END)',
			format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'error_type'), status,
			coalesce(cols ->> 'status_message', 'NULL::pg_catalog.text')),
		'operation', op,
		'kind', kind_case,
		'provider', format('COALESCE((%1$s OPERATOR(pg_catalog.->>) %2$L), (%1$s OPERATOR(pg_catalog.->>) %3$L))',
			a, keys ->> 'provider', keys ->> 'provider_deprecated'),
		'request_model', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'request_model'),
		'response_model', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'response_model'),
		'input_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'input_tokens'),
		'output_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'output_tokens'),
		'cache_read_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cache_read_tokens'),
		'cache_write_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cache_write_tokens'),
		'reasoning_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'reasoning_tokens'),
		'reported_cost', format('@extschema@.attach_numeric(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cost'),
		'reported_cost_raw', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cost'),
		'reported_currency', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cost_currency'),
		'reported_cost_source', format('(%s OPERATOR(pg_catalog.->>) %L)', a, keys ->> 'cost_source'),
		'estimated_cost', 'NULL::pg_catalog.numeric',
		'conversation_id', @extschema@.attach_spec(opts -> 'conversation', 'conversation', vocab, rel),
		'tool_name', format('CASE WHEN %s = ANY (%L::pg_catalog.text[]) THEN COALESCE((%s OPERATOR(pg_catalog.->>) %L), %s) END',
			op, tool, a, keys ->> 'tool_name', name),
		'args_hash', format('CASE WHEN %s = ANY (%L::pg_catalog.text[]) THEN @extschema@.attach_args_hash(%s OPERATOR(pg_catalog.->) %L) END',
			op, tool, a, keys ->> 'tool_arguments'),
		'workflow', @extschema@.attach_spec(opts -> 'workflow', 'workflow', vocab, rel),
		'item', @extschema@.attach_spec(opts -> 'item', 'item', vocab, rel),
		'outcome', @extschema@.attach_spec(opts -> 'outcome', 'outcome', vocab, rel),
		'option', @extschema@.attach_spec(opts -> 'option', 'option', vocab, rel),
		'attempt_raw', @extschema@.attach_spec(opts -> 'attempt', 'attempt', vocab, rel),
		'segment', @extschema@.attach_spec(opts -> 'segment', 'segment', vocab, rel));
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_span_cols(pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb,
	pg_catalog.jsonb, pg_catalog.regclass) IS
	'the SQL of the columns the attached views are built on, for OpenTelemetry-shaped spans (a row per span, GenAI attributes in a jsonb object)';

-- The GenAI attribute names of the OpenTelemetry semantic conventions.
CREATE FUNCTION @extschema@.attach_genai_keys() RETURNS pg_catalog.jsonb
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
SELECT '{"operation": "gen_ai.operation.name", "provider": "gen_ai.provider.name",
  "provider_deprecated": "gen_ai.system", "request_model": "gen_ai.request.model",
  "response_model": "gen_ai.response.model", "input_tokens": "gen_ai.usage.input_tokens",
  "output_tokens": "gen_ai.usage.output_tokens", "cache_read_tokens": "gen_ai.usage.cache_read.input_tokens",
  "cache_write_tokens": "gen_ai.usage.cache_creation.input_tokens",
  "reasoning_tokens": "gen_ai.usage.reasoning.output_tokens", "cost": "gen_ai.usage.cost.amount",
  "cost_currency": "gen_ai.usage.cost.currency", "cost_source": "gen_ai.usage.cost.source",
  "conversation": "gen_ai.conversation.id", "tool_name": "gen_ai.tool.name",
  "tool_arguments": "gen_ai.tool.call.arguments", "error_type": "error.type"}'::pg_catalog.jsonb
$fn$;
COMMENT ON FUNCTION @extschema@.attach_genai_keys() IS
	'the OpenTelemetry GenAI attribute names the attached views read (option "keys" renames them)';

-- Attribute name overrides: known keys only, strings only.
CREATE FUNCTION @extschema@.attach_keys(opts pg_catalog.jsonb) RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	known jsonb := @extschema@.attach_genai_keys();
	k text;
BEGIN
	IF NOT opts ? 'keys' THEN
		RETURN known;
	END IF;
	IF jsonb_typeof(opts -> 'keys') <> 'object' THEN
		RAISE EXCEPTION 'option "keys" must be an object mapping names to attribute keys'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR k IN SELECT jsonb_object_keys(opts -> 'keys') LOOP
		IF NOT known ? k OR jsonb_typeof(opts -> 'keys' -> k) <> 'string' THEN
			RAISE EXCEPTION 'option "keys": "%" is not a known name with a string value', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Names: %s.', (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_object_keys(known) x));
		END IF;
	END LOOP;
	RETURN known || (opts -> 'keys');
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_keys(pg_catalog.jsonb) IS
	'the attribute names of an attached source: the GenAI names, with the option "keys" overriding some';

CREATE FUNCTION @extschema@.attach_otel(source pg_catalog.text, spans pg_catalog.regclass,
	into_schema pg_catalog.name DEFAULT NULL, prefix pg_catalog.text DEFAULT '',
	options pg_catalog.jsonb DEFAULT '{}',
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	opts jsonb;
	given jsonb;
	colmap jsonb := '{"start_time": "Timestamp", "trace_id": "TraceId", "span_id": "SpanId",
		"parent_id": "ParentSpanId", "name": "SpanName", "service": "ServiceName",
		"resource_attributes": "ResourceAttributes", "attributes": "SpanAttributes",
		"duration": "Duration", "status": "StatusCode", "status_message": "StatusMessage"}';
	kinds jsonb := '{"start_time": "timestamptz", "trace_id": "text", "span_id": "text", "parent_id": "text",
		"name": "text", "service": "text", "resource_attributes": "jsonb", "attributes": "jsonb",
		"duration": "int8", "status": "text", "status_message": "text"}';
	required text[] := ARRAY['start_time', 'trace_id', 'span_id', 'parent_id', 'attributes'];
	cols jsonb := '{}';
	k text;
	c text;
	vocab jsonb;
	parts jsonb;
	dedup boolean;
BEGIN
	PERFORM @extschema@.attach_relation(spans, 'span table');
	opts := @extschema@.attach_options(options,
		ARRAY['columns', 'keys', 'operations', 'workflow', 'item', 'outcome', 'option', 'attempt', 'segment',
			  'conversation', 'success_values', 'cache_tokens', 'cost_basis', 'strict', 'dedup', 'agent_usage', 'record'],
		jsonb_build_object('workflow', '["attr:gen_ai.workflow.name", "resource:gen_ai.workflow.name", "service"]'::jsonb,
			'item', 'trace_id', 'conversation', 'attr:gen_ai.conversation.id'));
	given := coalesce(opts -> 'columns', '{}');
	IF jsonb_typeof(given) <> 'object' THEN
		RAISE EXCEPTION 'option "columns" must be an object mapping names to column names'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR k IN SELECT jsonb_object_keys(given) LOOP
		IF NOT colmap ? k THEN
			RAISE EXCEPTION 'option "columns": unknown name "%"', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Names: %s.', (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_object_keys(colmap) x));
		END IF;
	END LOOP;
	FOR k IN SELECT jsonb_object_keys(colmap) LOOP
		IF given ? k THEN
			c := given ->> k;			-- NULL: the table has none
		ELSE
			c := colmap ->> k;
			-- an optional column the table lacks is simply absent
			IF NOT k = ANY (required) AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = spans
					AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped) THEN
				c := NULL;
			END IF;
		END IF;
		IF c IS NULL AND k = ANY (required) THEN
			RAISE EXCEPTION 'the % column is required', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Name it in option "columns": {"%s": "your_column"}.', k);
		END IF;
		IF c IS NOT NULL THEN
			cols := cols || jsonb_build_object(k, @extschema@.attach_column(spans, c, kinds ->> k, k || ' (' || quote_ident(c) || ')'));
		END IF;
	END LOOP;

	vocab := jsonb_build_object(
		'attr:', format('(%s OPERATOR(pg_catalog.->>) %%1$s)', replace(cols ->> 'attributes', '%', '%%')),
		'resource:', format('(%s OPERATOR(pg_catalog.->>) %%1$s)',
			replace(coalesce(cols ->> 'resource_attributes', 'NULL::pg_catalog.jsonb'), '%', '%%')),
		'name', coalesce(cols ->> 'name', 'NULL::pg_catalog.text'),
		'service', coalesce(cols ->> 'service',
			format('(%s OPERATOR(pg_catalog.->>) ''service.name'')', coalesce(cols ->> 'resource_attributes', 'NULL::pg_catalog.jsonb'))),
		'trace_id', cols ->> 'trace_id');
	parts := jsonb_build_object(
		'from', spans::text || ' r',
		'star', (SELECT string_agg('r.' || quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
				  WHERE a.attrelid = spans AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'tokacct_written_xid'),
		-- the trace id's collation, when it is a column read as it is
		'trace_collation', (SELECT format('%I.%I', n.nspname, co.collname)
				  FROM pg_attribute a JOIN pg_collation co ON co.oid = a.attcollation JOIN pg_namespace n ON n.oid = co.collnamespace
				  WHERE a.attrelid = spans AND NOT a.attisdropped AND 'r.' || quote_ident(a.attname) = cols ->> 'trace_id'),
		'trace', cols ->> 'trace_id',
		'span', cols ->> 'span_id',
		-- the copies of a span id: the latest end first, then every column read
		'order', (SELECT string_agg(e.cv || CASE WHEN e.ck IN ('duration', 'start_time') THEN ' DESC NULLS LAST'
												 WHEN kinds ->> e.ck = 'text' THEN ' COLLATE "C"' ELSE '' END,
					', ' ORDER BY CASE e.ck WHEN 'duration' THEN 0 WHEN 'start_time' THEN 1 ELSE 2 END, e.ck)
				   FROM jsonb_each_text(cols) e(ck, cv) WHERE e.ck NOT IN ('trace_id', 'span_id')),
		'cols', @extschema@.attach_span_cols(cols, @extschema@.attach_keys(opts), opts, vocab, spans));

	dedup := CASE opts ->> 'dedup'
		WHEN 'always' THEN true
		WHEN 'never' THEN false
		ELSE NOT @extschema@.attach_unique(spans, ARRAY[coalesce(given ->> 'trace_id', 'TraceId'), coalesce(given ->> 'span_id', 'SpanId')])
	END;
	RETURN QUERY SELECT * FROM @extschema@.attach_install(source, 'otel', ARRAY[spans], into_schema, prefix, options,
		@extschema@.attach_build(source, parts, opts, dedup));
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_otel(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.text, pg_catalog.jsonb) IS
	'attach a table of OpenTelemetry spans (the Collector''s ClickHouse exporter columns, or others named in options.columns): creates the views calls, spans, attempts, items, conversations, problems and traces in into_schema (default: a schema named after the source), names prefixed with prefix; attaching again with the same arguments changes nothing';

-- ---------------------------------------------------------------------------
-- Langfuse v2, its tables exactly as its migrations create them: traces,
-- observations (GENERATION, SPAN, EVENT; levels DEBUG, DEFAULT, WARNING,
-- ERROR), scores (NUMERIC, BOOLEAN, CATEGORICAL).  Times are timestamp(3)
-- without time zone, in UTC; costs numeric(65,30).  Each trace becomes a
-- root span (its observations without a parent hang under it), failed when
-- one of its top-level observations is at level ERROR.  Generations are the
-- LLM calls; a SPAN under another observation is a tool call (option
-- "tool_name_pattern" narrows that to names matching a regex); a top-level
-- SPAN is an agent step.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.attach_langfuse(source pg_catalog.text,
	langfuse_schema pg_catalog.name DEFAULT 'public',
	into_schema pg_catalog.name DEFAULT NULL, prefix pg_catalog.text DEFAULT '',
	options pg_catalog.jsonb DEFAULT '{}',
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	opts jsonb;
	obs regclass;
	trc regclass;
	sco regclass;
	uses_scores boolean;
	o jsonb := '{}';			-- observation columns, over alias o
	t jsonb := '{}';			-- trace columns, over alias t
	s jsonb := '{}';			-- score columns, over alias s
	k text;
	project text := '';
	tproject text := '';
	tool_test text;
	threshold numeric;
	vocab jsonb;
	rel text;
	cols jsonb;
	parts jsonb;
	dedup boolean;
BEGIN
	opts := @extschema@.attach_options(options,
		ARRAY['project_id', 'provider', 'workflow', 'item', 'outcome', 'option', 'attempt', 'segment', 'conversation',
			  'cache_read', 'cache_write', 'reasoning', 'tool_name_pattern', 'score_threshold',
			  'success_values', 'cache_tokens', 'cost_basis', 'strict', 'dedup', 'agent_usage', 'record'],
		'{"workflow": "trace_name", "item": ["session", "trace_id"]}');
	IF langfuse_schema IS NULL OR NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = langfuse_schema) THEN
		RAISE EXCEPTION 'schema "%" does not exist', langfuse_schema
			USING ERRCODE = 'invalid_schema_name',
				  HINT = 'Name the schema that holds Langfuse''s tables traces, observations and scores.';
	END IF;
	obs := to_regclass(format('%I.observations', langfuse_schema));
	trc := to_regclass(format('%I.traces', langfuse_schema));
	sco := to_regclass(format('%I.scores', langfuse_schema));
	IF obs IS NULL OR trc IS NULL THEN
		RAISE EXCEPTION 'schema "%" has no Langfuse tables', langfuse_schema
			USING ERRCODE = 'undefined_table',
				  DETAIL = format('Missing: %s.', concat_ws(', ', CASE WHEN obs IS NULL THEN 'observations' END,
					CASE WHEN trc IS NULL THEN 'traces' END));
	END IF;
	PERFORM @extschema@.attach_relation(obs, 'observations table');
	PERFORM @extschema@.attach_relation(trc, 'traces table');

	-- every column read, checked (built-in types; the Langfuse enums read
	-- through their output function only)
	o := jsonb_build_object(
		'id', @extschema@.attach_column(obs, 'id', 'text', 'observation id', 'o'),
		'trace_id', @extschema@.attach_column(obs, 'trace_id', 'text', 'trace id', 'o'),
		'parent', @extschema@.attach_column(obs, 'parent_observation_id', 'text', 'parent observation id', 'o'),
		'name', @extschema@.attach_column(obs, 'name', 'text', 'observation name', 'o'),
		'start', @extschema@.attach_column(obs, 'start_time', 'timestamptz', 'start time', 'o'),
		'end', @extschema@.attach_column(obs, 'end_time', 'timestamptz', 'end time', 'o'),
		'type', @extschema@.attach_column(obs, 'type', 'enum', 'observation type', 'o'),
		'level', @extschema@.attach_column(obs, 'level', 'enum', 'level', 'o'),
		'message', @extschema@.attach_column(obs, 'status_message', 'text', 'status message', 'o'),
		'model', @extschema@.attach_column(obs, 'model', 'text', 'model', 'o'),
		'prompt', @extschema@.attach_column(obs, 'prompt_tokens', 'count', 'prompt tokens', 'o'),
		'completion', @extschema@.attach_column(obs, 'completion_tokens', 'count', 'completion tokens', 'o'),
		'metadata', @extschema@.attach_column(obs, 'metadata', 'jsonb', 'observation metadata', 'o'),
		'input', @extschema@.attach_column(obs, 'input', 'jsonb', 'observation input', 'o'),
		'cost', @extschema@.attach_column(obs, 'total_cost', 'numeric', 'total cost', 'o'),
		'calculated', @extschema@.attach_column(obs, 'calculated_total_cost', 'numeric', 'calculated total cost', 'o'),
		'project', @extschema@.attach_column(obs, 'project_id', 'text', 'project id', 'o'));
	t := jsonb_build_object(
		'id', @extschema@.attach_column(trc, 'id', 'text', 'trace id', 't'),
		'timestamp', @extschema@.attach_column(trc, 'timestamp', 'timestamptz', 'trace timestamp', 't'),
		'name', @extschema@.attach_column(trc, 'name', 'text', 'trace name', 't'),
		'session', @extschema@.attach_column(trc, 'session_id', 'text', 'session id', 't'),
		'external_id', @extschema@.attach_column(trc, 'external_id', 'text', 'external id', 't'),
		'user_id', @extschema@.attach_column(trc, 'user_id', 'text', 'user id', 't'),
		'metadata', @extschema@.attach_column(trc, 'metadata', 'jsonb', 'trace metadata', 't'),
		'project', @extschema@.attach_column(trc, 'project_id', 'text', 'project id', 't'));

	uses_scores := EXISTS (SELECT 1 FROM jsonb_each(opts) e
							WHERE e.key IN ('workflow', 'item', 'outcome', 'option', 'attempt', 'segment')
							  AND e.value::text LIKE '%score:%');
	IF uses_scores THEN
		IF sco IS NULL THEN
			RAISE EXCEPTION 'schema "%" has no scores table', langfuse_schema
				USING ERRCODE = 'undefined_table',
					  DETAIL = 'An option reads a score (score:NAME).';
		END IF;
		PERFORM @extschema@.attach_relation(sco, 'scores table');
		s := jsonb_build_object(
			'trace_id', @extschema@.attach_column(sco, 'trace_id', 'text', 'score trace id', 's'),
			'observation_id', @extschema@.attach_column(sco, 'observation_id', 'text', 'score observation id', 's'),
			'name', @extschema@.attach_column(sco, 'name', 'text', 'score name', 's'),
			'value', @extschema@.attach_column(sco, 'value', 'numeric', 'score value', 's'),
			'string_value', @extschema@.attach_column(sco, 'string_value', 'text', 'score string value', 's'),
			'data_type', @extschema@.attach_column(sco, 'data_type', 'enum', 'score data type', 's'),
			'timestamp', @extschema@.attach_column(sco, 'timestamp', 'timestamptz', 'score timestamp', 's'),
			'id', @extschema@.attach_column(sco, 'id', 'text', 'score id', 's'));
	END IF;

	IF opts ? 'project_id' THEN
		IF jsonb_typeof(opts -> 'project_id') <> 'string' THEN
			RAISE EXCEPTION 'option "project_id" must be a string' USING ERRCODE = 'invalid_parameter_value';
		END IF;
		project := format(' AND %s = %L', o ->> 'project', opts ->> 'project_id');
		tproject := format(' WHERE %s = %L', t ->> 'project', opts ->> 'project_id');
	END IF;
	IF opts ? 'score_threshold' THEN
		IF jsonb_typeof(opts -> 'score_threshold') <> 'number' THEN
			RAISE EXCEPTION 'option "score_threshold" must be a number' USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END IF;
	threshold := coalesce((opts ->> 'score_threshold')::numeric, 1);
	IF opts ? 'tool_name_pattern' THEN
		IF jsonb_typeof(opts -> 'tool_name_pattern') <> 'string' THEN
			RAISE EXCEPTION 'option "tool_name_pattern" must be a string (a regular expression)'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		PERFORM '' ~ (opts ->> 'tool_name_pattern');	-- a bad pattern fails here, not in the views
		tool_test := format('COALESCE(r.name, '''') ~ %L', opts ->> 'tool_name_pattern');
	ELSE
		tool_test := 'true';
	END IF;

	-- One row per observation, and one per trace (its root).  The trace's
	-- fields ride on every row, so a structure value is read from any.
	rel := format($q$(SELECT %1$s AS span_id, %2$s AS trace_id,
		   COALESCE(%3$s, %2$s) AS parent_id, %3$s AS parent_observation_id, %4$s AS name,
		   %5$s AS started_at, %6$s AS ended_at, %7$s AS type, %8$s AS level, %9$s AS status_message,
		   %10$s AS model, %11$s AS prompt_tokens, %12$s AS completion_tokens, %13$s AS metadata,
		   %14$s AS input, %15$s AS total_cost, %16$s AS calculated_total_cost,
		   %17$s AS trace_name, %18$s AS session_id, %19$s AS external_id, %20$s AS user_id,
		   %21$s AS trace_metadata
	  FROM %22$s o LEFT JOIN %23$s t ON %24$s = %2$s
	 WHERE %2$s IS NOT NULL%25$s
	UNION ALL
	SELECT %24$s, %24$s, NULL, NULL, %17$s, %26$s,
		   (SELECT pg_catalog.max(COALESCE(%6$s, %5$s)) FROM %22$s o WHERE %2$s = %24$s%25$s),
		   'TRACE',
		   CASE WHEN EXISTS (SELECT 1 FROM %22$s o WHERE %2$s = %24$s AND %3$s IS NULL AND %8$s = 'ERROR'%25$s)
				THEN 'ERROR' ELSE 'DEFAULT' END,
		   (SELECT pg_catalog.min(%9$s) FROM %22$s o WHERE %2$s = %24$s AND %3$s IS NULL AND %8$s = 'ERROR'%25$s),
		   NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		   %17$s, %18$s, %19$s, %20$s, %21$s
	  FROM %23$s t%27$s) r$q$,
		o ->> 'id', o ->> 'trace_id', o ->> 'parent', o ->> 'name', o ->> 'start', o ->> 'end',
		o ->> 'type', o ->> 'level', o ->> 'message', o ->> 'model', o ->> 'prompt', o ->> 'completion',
		o ->> 'metadata', o ->> 'input', o ->> 'cost', o ->> 'calculated',
		t ->> 'name', t ->> 'session', t ->> 'external_id', t ->> 'user_id', t ->> 'metadata',
		obs, trc, t ->> 'id', project, t ->> 'timestamp', tproject);

	vocab := jsonb_build_object(
		'trace_name', 'r.trace_name', 'session', 'r.session_id', 'external_id', 'r.external_id',
		'user_id', 'r.user_id', 'trace_id', 'r.trace_id', 'name', 'r.name',
		'trace_metadata:', '(r.trace_metadata OPERATOR(pg_catalog.#>>) %2$s::pg_catalog.text[])',
		'metadata:', '(r.metadata OPERATOR(pg_catalog.#>>) %2$s::pg_catalog.text[])');
	IF uses_scores THEN
		-- (the column SQL may hold a %: escaped, as attach_spec formats the template)
		vocab := vocab || jsonb_build_object('score:', replace(replace(format($q$(CASE WHEN r.type = 'TRACE' THEN
			(SELECT CASE %1$s WHEN 'BOOLEAN' THEN CASE WHEN %2$s = 1 THEN 'true' ELSE 'false' END
							   WHEN 'NUMERIC' THEN CASE WHEN %2$s >= %3$s THEN 'true' ELSE 'false' END
							   ELSE %4$s END
			   FROM %5$s s
			  WHERE %6$s = r.trace_id AND %7$s = ?1 AND %8$s IS NULL
			  ORDER BY %9$s DESC, %10$s COLLATE "C" DESC LIMIT 1) END)$q$,
			s ->> 'data_type', s ->> 'value', threshold, s ->> 'string_value', sco, s ->> 'trace_id',
			s ->> 'name', s ->> 'observation_id', s ->> 'timestamp', s ->> 'id'), '%', '%%'), '?1', '%1$s'));
	END IF;

	cols := jsonb_build_object(
		'trace_id', 'r.trace_id', 'span_id', 'r.span_id', 'parent_id', 'r.parent_id', 'name', 'r.name',
		'started_at', 'r.started_at', 'ended_at', 'r.ended_at',
		'status_raw', 'r.level', 'error_type', 'CASE WHEN r.level = ''ERROR'' THEN r.status_message END',
		'operation', 'pg_catalog.lower(r.type)',
		'kind', format('CASE r.type WHEN ''GENERATION'' THEN ''llm'' WHEN ''TRACE'' THEN ''agent'' '
			'WHEN ''SPAN'' THEN CASE WHEN r.parent_observation_id IS NULL THEN ''agent'' '
			'WHEN %s THEN ''tool'' ELSE ''other'' END ELSE ''other'' END', tool_test),
		'provider', @extschema@.attach_spec(opts -> 'provider', 'provider', vocab, obs),
		'request_model', 'r.model', 'response_model', 'NULL::pg_catalog.text',
		-- a generation with neither count (Langfuse stores 0 then) reports no usage
		'input_raw', 'CASE WHEN r.prompt_tokens <> ''0'' OR r.completion_tokens <> ''0'' THEN r.prompt_tokens END',
		'output_raw', 'CASE WHEN r.prompt_tokens <> ''0'' OR r.completion_tokens <> ''0'' THEN r.completion_tokens END',
		'cache_read_raw', @extschema@.attach_spec(opts -> 'cache_read', 'cache_read', vocab, obs),
		'cache_write_raw', @extschema@.attach_spec(opts -> 'cache_write', 'cache_write', vocab, obs),
		'reasoning_raw', @extschema@.attach_spec(opts -> 'reasoning', 'reasoning', vocab, obs),
		'reported_cost', 'r.total_cost', 'reported_cost_raw', 'NULL::pg_catalog.text',
		'reported_currency', 'CASE WHEN r.total_cost IS NOT NULL THEN ''USD'' END',
		'reported_cost_source', 'CASE WHEN r.total_cost IS NOT NULL THEN ''langfuse'' END',
		'estimated_cost', 'pg_catalog.round(r.calculated_total_cost, 12)',
		'conversation_id', @extschema@.attach_spec(opts -> 'conversation', 'conversation', vocab, obs),
		'tool_name', 'NULL::pg_catalog.text',
		'args_hash', format('CASE WHEN r.type = ''SPAN'' AND r.parent_observation_id IS NOT NULL AND %s '
			'AND r.input IS NOT NULL THEN @extschema@.attach_args_hash(r.input) END', tool_test),
		'workflow', @extschema@.attach_spec(opts -> 'workflow', 'workflow', vocab, obs),
		'item', @extschema@.attach_spec(opts -> 'item', 'item', vocab, obs),
		'outcome', @extschema@.attach_spec(opts -> 'outcome', 'outcome', vocab, obs),
		'option', @extschema@.attach_spec(opts -> 'option', 'option', vocab, obs),
		'attempt_raw', @extschema@.attach_spec(opts -> 'attempt', 'attempt', vocab, obs),
		'segment', @extschema@.attach_spec(opts -> 'segment', 'segment', vocab, obs));

	parts := jsonb_build_object('from', rel, 'trace', 'r.trace_id', 'span', 'r.span_id',
		'order', 'r.ended_at DESC NULLS LAST, r.started_at DESC NULLS LAST, r.level COLLATE "C", '
			'r.name COLLATE "C", r.parent_id COLLATE "C", r.model COLLATE "C", r.prompt_tokens COLLATE "C", '
			'r.completion_tokens COLLATE "C", r.total_cost, r.metadata, r.input',
		'cols', cols);
	-- observation ids are unique (primary key) and trace ids too, unless
	-- the tables say otherwise
	dedup := CASE opts ->> 'dedup'
		WHEN 'always' THEN true
		WHEN 'never' THEN false
		ELSE NOT (@extschema@.attach_unique(obs, ARRAY['id']) AND @extschema@.attach_unique(trc, ARRAY['id']))
	END;
	RETURN QUERY SELECT * FROM @extschema@.attach_install(source, 'langfuse',
		CASE WHEN uses_scores THEN ARRAY[obs, trc, sco] ELSE ARRAY[obs, trc] END,
		into_schema, prefix, options, @extschema@.attach_build(source, parts, opts, dedup));
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_langfuse(pg_catalog.text, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.jsonb) IS
	'attach Langfuse v2''s tables (traces, observations, scores in langfuse_schema): creates the views calls, spans, attempts, items, conversations, problems and traces in into_schema (default: a schema named after the source); workflow = trace name, item = session (else trace), by default';

-- ---------------------------------------------------------------------------
-- OTLP/JSON documents (what the Collector's file exporter writes) in a jsonb
-- column: resourceSpans[].scopeSpans[].spans[] (instrumentationLibrarySpans
-- in older documents), attributes as key/value lists whose integers are
-- strings, times in unix nanoseconds, status codes STATUS_CODE_* or 0/1/2.
-- Ids are hex as OTLP/JSON says; base64 ids (some exporters) are read too.
-- Parts of a document that are not of the expected shape are skipped.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.attach_otlp_json(source pg_catalog.text, documents pg_catalog.regclass,
	document_column pg_catalog.name DEFAULT 'doc',
	into_schema pg_catalog.name DEFAULT NULL, prefix pg_catalog.text DEFAULT '',
	options pg_catalog.jsonb DEFAULT '{}',
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	opts jsonb;
	doc text;
	rel text;
	cols jsonb;
	vocab jsonb;
	parts jsonb;
	-- a hex id as it is (lower case); a base64 one of 8 or 16 bytes in hex
	id_sql text := 'CASE WHEN %1$s OPERATOR(pg_catalog.~) ''^[A-Za-z0-9+/]{22}==$'' '
		'OR %1$s OPERATOR(pg_catalog.~) ''^[A-Za-z0-9+/]{11}=$'' '
		'THEN pg_catalog.encode(pg_catalog.decode(%1$s, ''base64''), ''hex'') ELSE pg_catalog.lower(%1$s) END';
	arr text := 'CASE WHEN pg_catalog.jsonb_typeof(%1$s) = ''array'' THEN %1$s ELSE ''[]''::pg_catalog.jsonb END';
BEGIN
	PERFORM @extschema@.attach_relation(documents, 'documents table');
	opts := @extschema@.attach_options(options,
		ARRAY['keys', 'operations', 'workflow', 'item', 'outcome', 'option', 'attempt', 'segment',
			  'conversation', 'success_values', 'cache_tokens', 'cost_basis', 'strict', 'dedup', 'agent_usage', 'record'],
		jsonb_build_object('workflow', '["attr:gen_ai.workflow.name", "resource:gen_ai.workflow.name", "service"]'::jsonb,
			'item', 'trace_id', 'conversation', 'attr:gen_ai.conversation.id'));
	doc := @extschema@.attach_column(documents, document_column, 'jsonb', 'OTLP/JSON document', 'd');

	rel := format($q$(SELECT sp.value AS span,
			@extschema@.attach_otlp_attributes(COALESCE(sp.value OPERATOR(pg_catalog.->) 'attributes', '[]'::pg_catalog.jsonb)) AS attrs,
			@extschema@.attach_otlp_attributes(COALESCE(rs.value OPERATOR(pg_catalog.->) 'resource' OPERATOR(pg_catalog.->) 'attributes', '[]'::pg_catalog.jsonb)) AS res
	   FROM %1$s d
	  CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(%2$s) rs
	  CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(COALESCE(%3$s, %4$s)) ss
	  CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(%5$s) sp
	 WHERE pg_catalog.jsonb_typeof(sp.value) = 'object') r$q$,
		documents,
		format(arr, format('(%s OPERATOR(pg_catalog.->) ''resourceSpans'')', doc)),
		format('CASE WHEN pg_catalog.jsonb_typeof(rs.value OPERATOR(pg_catalog.->) ''scopeSpans'') = ''array'' '
			'THEN rs.value OPERATOR(pg_catalog.->) ''scopeSpans'' END'),
		format(arr, '(rs.value OPERATOR(pg_catalog.->) ''instrumentationLibrarySpans'')'),
		format(arr, '(ss.value OPERATOR(pg_catalog.->) ''spans'')'));

	cols := jsonb_build_object(
		'trace_id', format(id_sql, '(r.span OPERATOR(pg_catalog.->>) ''traceId'')'),
		'span_id', format(id_sql, '(r.span OPERATOR(pg_catalog.->>) ''spanId'')'),
		'parent_id', format(id_sql, '(r.span OPERATOR(pg_catalog.->>) ''parentSpanId'')'),
		'start_time', '@extschema@.attach_unix_nanos(r.span OPERATOR(pg_catalog.->) ''startTimeUnixNano'')',
		'end_time', '@extschema@.attach_unix_nanos(r.span OPERATOR(pg_catalog.->) ''endTimeUnixNano'')',
		'name', '(r.span OPERATOR(pg_catalog.->>) ''name'')',
		'status', '(r.span OPERATOR(pg_catalog.->) ''status'' OPERATOR(pg_catalog.->>) ''code'')',
		'status_message', '(r.span OPERATOR(pg_catalog.->) ''status'' OPERATOR(pg_catalog.->>) ''message'')',
		'attributes', 'r.attrs',
		'resource_attributes', 'r.res');
	vocab := jsonb_build_object(
		'attr:', '(r.attrs OPERATOR(pg_catalog.->>) %1$s)',
		'resource:', '(r.res OPERATOR(pg_catalog.->>) %1$s)',
		'name', cols ->> 'name',
		'service', '(r.res OPERATOR(pg_catalog.->>) ''service.name'')',
		'trace_id', cols ->> 'trace_id');
	parts := jsonb_build_object(
		'from', rel,
		'trace', cols ->> 'trace_id',
		'span', cols ->> 'span_id',
		'order', format('%s DESC NULLS LAST, r.span, r.res', cols ->> 'end_time'),
		'cols', @extschema@.attach_span_cols(cols, @extschema@.attach_keys(opts), opts, vocab, documents));
	RETURN QUERY SELECT * FROM @extschema@.attach_install(source, 'otlp_json', ARRAY[documents], into_schema,
		prefix, options, @extschema@.attach_build(source, parts, opts, coalesce(opts ->> 'dedup', 'auto') <> 'never'));
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_otlp_json(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.jsonb) IS
	'attach OTLP/JSON trace documents stored in a jsonb column (resourceSpans[].scopeSpans[].spans[]): creates the views calls, spans, attempts, items, conversations, problems and traces in into_schema (default: a schema named after the source)';

-- ---------------------------------------------------------------------------
-- Any other layout: a table or view with a row per span, and a mapping of
-- the vocabulary to its columns.  Each mapped value is a column name, or
-- {"column": c, "path": "a/b"} for a value inside a jsonb column (path
-- levels separated by /), or {"const": v}.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.attach_mapped(rel pg_catalog.regclass, mapping pg_catalog.jsonb,
	k pg_catalog.text, want pg_catalog.text) RETURNS pg_catalog.text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	m jsonb := mapping -> k;
	col text;
	path text[];
	e text;
BEGIN
	IF m IS NULL OR jsonb_typeof(m) = 'null' THEN
		RETURN NULL;
	ELSIF jsonb_typeof(m) = 'string' THEN
		RETURN @extschema@.attach_column(rel, m #>> '{}', want, k);
	ELSIF jsonb_typeof(m) = 'object' AND m ? 'const' AND jsonb_typeof(m -> 'const') IN ('string', 'number') THEN
		IF want NOT IN ('text', 'count', 'numeric', 'enum') THEN
			RAISE EXCEPTION 'mapping "%": a constant cannot give a %', k, want USING ERRCODE = 'invalid_parameter_value';
		END IF;
		e := quote_literal(m ->> 'const') || '::pg_catalog.text';
		RETURN CASE want WHEN 'numeric' THEN format('@extschema@.attach_numeric(%s)', e) ELSE e END;
	ELSIF jsonb_typeof(m) = 'object' AND jsonb_typeof(m -> 'column') = 'string' AND jsonb_typeof(m -> 'path') = 'string' THEN
		IF want NOT IN ('text', 'count', 'numeric', 'enum', 'jsonb') THEN
			RAISE EXCEPTION 'mapping "%": a jsonb path cannot give a %', k, want
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Map it to a column of that type.';
		END IF;
		col := @extschema@.attach_column(rel, m ->> 'column', 'jsonb', k || ' (the jsonb column of its path)');
		path := string_to_array(m ->> 'path', '/');
		IF want = 'jsonb' THEN
			RETURN format('(%s OPERATOR(pg_catalog.#>) %L::pg_catalog.text[])', col, path);
		END IF;
		e := format('(%s OPERATOR(pg_catalog.#>>) %L::pg_catalog.text[])', col, path);
		RETURN CASE want WHEN 'numeric' THEN format('@extschema@.attach_numeric(%s)', e) ELSE e END;
	END IF;
	RAISE EXCEPTION 'mapping "%" must be a column name, {"column": ..., "path": ...} or {"const": ...}', k
		USING ERRCODE = 'invalid_parameter_value',
			  DETAIL = format('Got %s.', left(m::text, 100));
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_mapped(pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text) IS
	'the SQL reading one mapped value of a relation attached with tokacct.attach(): a column, a path in a jsonb column, or a constant';

CREATE FUNCTION @extschema@.attach(source pg_catalog.text, spans pg_catalog.regclass, mapping pg_catalog.jsonb,
	into_schema pg_catalog.name DEFAULT NULL, prefix pg_catalog.text DEFAULT '',
	options pg_catalog.jsonb DEFAULT '{}',
	OUT view_name pg_catalog.text, OUT action pg_catalog.text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	opts jsonb;
	-- the vocabulary and how each value is read
	wants jsonb := '{"trace_id": "text", "span_id": "text", "parent_id": "text", "start_time": "timestamptz",
		"end_time": "timestamptz", "duration_ms": "numeric", "name": "text", "kind": "text", "status": "text",
		"error_type": "text", "provider": "text", "model": "text", "response_model": "text",
		"input_tokens": "count", "output_tokens": "count", "cache_read_tokens": "count",
		"cache_write_tokens": "count", "reasoning_tokens": "count", "cost": "numeric", "cost_currency": "text",
		"cost_source": "text", "conversation_id": "text", "tool_name": "text", "tool_arguments": "jsonb",
		"args_hash": "text", "workflow": "text", "item": "text", "outcome": "text", "option": "text",
		"attempt": "count", "segment": "text"}';
	m jsonb := '{}';
	k text;
	e text;
	kinds jsonb;
	kind_case text := '';
	w text;
	ends text;
	args text;
	cols jsonb;
	parts jsonb;
	dedup boolean;
BEGIN
	PERFORM @extschema@.attach_relation(spans, 'span table');
	opts := @extschema@.attach_options(options,
		ARRAY['kinds', 'success_values', 'cache_tokens', 'cost_basis', 'strict', 'dedup', 'agent_usage', 'record'], '{}');
	IF mapping IS NULL OR jsonb_typeof(mapping) <> 'object' THEN
		RAISE EXCEPTION 'the mapping must be a JSON object of names and columns'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Names: %s.', (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_object_keys(wants) x));
	END IF;
	FOR k IN SELECT jsonb_object_keys(mapping) LOOP
		IF NOT wants ? k THEN
			RAISE EXCEPTION 'mapping: unknown name "%"', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Names: %s.', (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_object_keys(wants) x));
		END IF;
	END LOOP;
	FOREACH k IN ARRAY ARRAY['trace_id', 'span_id', 'start_time'] LOOP
		IF NOT mapping ? k OR jsonb_typeof(mapping -> k) = 'null' THEN
			RAISE EXCEPTION 'the mapping must name the % column', k
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END LOOP;
	-- tool arguments may be jsonb or text
	IF jsonb_typeof(mapping -> 'tool_arguments') = 'string' AND coalesce((SELECT a.atttypid <> 'jsonb'::regtype
			FROM pg_attribute a WHERE a.attrelid = spans AND a.attname = mapping ->> 'tool_arguments'
			  AND a.attnum > 0 AND NOT a.attisdropped), false) THEN
		wants := wants || '{"tool_arguments": "text"}';
	END IF;
	FOR k IN SELECT jsonb_object_keys(wants) LOOP
		e := @extschema@.attach_mapped(spans, mapping, k, wants ->> k);
		IF e IS NOT NULL THEN
			m := m || jsonb_build_object(k, e);
		END IF;
	END LOOP;

	-- kind words: the source's kind column (or operation name) to llm, tool, agent
	kinds := '{"llm": ["llm", "chat", "generate_content", "text_completion", "embeddings", "generation", "completion"],
		"tool": ["tool", "tool_call", "execute_tool", "function"],
		"agent": ["agent", "invoke_agent", "create_agent", "chain", "workflow", "attempt"]}'::jsonb
		|| coalesce(opts -> 'kinds', '{}');
	IF EXISTS (SELECT 1 FROM jsonb_each(kinds) x WHERE x.key NOT IN ('llm', 'tool', 'agent') OR jsonb_typeof(x.value) <> 'array') THEN
		RAISE EXCEPTION 'option "kinds" must map llm, tool and agent to arrays of the words the kind column uses'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOREACH w IN ARRAY ARRAY['llm', 'tool', 'agent'] LOOP
		FOR k IN SELECT lower(jsonb_array_elements_text(kinds -> w)) LOOP
			kind_case := kind_case || format(' WHEN %L THEN %L', k, w);
		END LOOP;
	END LOOP;
	kind_case := CASE WHEN m ? 'kind' THEN format('CASE pg_catalog.lower(%s)%s ELSE ''other'' END', m ->> 'kind', kind_case)
					  ELSE '''llm''' END;

	ends := coalesce(m ->> 'end_time', CASE WHEN m ? 'duration_ms' THEN format(
		'CASE WHEN %2$s BETWEEN 0 AND 100000000000 AND %1$s < ''100000-01-01 00:00+00''::pg_catalog.timestamptz '
		'THEN %1$s + %2$s::pg_catalog.float8 * ''1 millisecond''::pg_catalog.interval END',
		m ->> 'start_time', m ->> 'duration_ms') END, 'NULL::pg_catalog.timestamptz');
	args := CASE
		WHEN m ? 'args_hash' THEN m ->> 'args_hash'
		WHEN m ? 'tool_arguments' THEN format('@extschema@.attach_args_hash(%s)', m ->> 'tool_arguments')
		ELSE 'NULL::pg_catalog.text' END;

	cols := jsonb_build_object(
		'trace_id', m ->> 'trace_id', 'span_id', m ->> 'span_id',
		'parent_id', format('NULLIF(%s, '''')', coalesce(m ->> 'parent_id', 'NULL::pg_catalog.text')),
		'name', coalesce(m ->> 'name', 'NULL::pg_catalog.text'),
		'started_at', m ->> 'start_time', 'ended_at', ends,
		'status_raw', coalesce(m ->> 'status', 'NULL::pg_catalog.text'),
		'error_type', coalesce(m ->> 'error_type', 'NULL::pg_catalog.text'),
		'operation', coalesce(m ->> 'kind', 'NULL::pg_catalog.text'),
		'kind', kind_case,
		'provider', coalesce(m ->> 'provider', 'NULL::pg_catalog.text'),
		'request_model', coalesce(m ->> 'model', 'NULL::pg_catalog.text'),
		'response_model', coalesce(m ->> 'response_model', 'NULL::pg_catalog.text'),
		'input_raw', coalesce(m ->> 'input_tokens', 'NULL::pg_catalog.text'),
		'output_raw', coalesce(m ->> 'output_tokens', 'NULL::pg_catalog.text'),
		'cache_read_raw', coalesce(m ->> 'cache_read_tokens', 'NULL::pg_catalog.text'),
		'cache_write_raw', coalesce(m ->> 'cache_write_tokens', 'NULL::pg_catalog.text'),
		'reasoning_raw', coalesce(m ->> 'reasoning_tokens', 'NULL::pg_catalog.text'),
		'reported_cost', coalesce(m ->> 'cost', 'NULL::pg_catalog.numeric'),
		'reported_cost_raw', 'NULL::pg_catalog.text',
		'reported_currency', coalesce(m ->> 'cost_currency', 'NULL::pg_catalog.text'),
		'reported_cost_source', coalesce(m ->> 'cost_source', 'NULL::pg_catalog.text'),
		'estimated_cost', 'NULL::pg_catalog.numeric',
		'conversation_id', coalesce(m ->> 'conversation_id', 'NULL::pg_catalog.text'),
		'tool_name', CASE WHEN m ? 'tool_name' THEN format('CASE WHEN %s = ''tool'' THEN %s END', kind_case, m ->> 'tool_name')
						  ELSE 'NULL::pg_catalog.text' END,
		'args_hash', format('CASE WHEN %s = ''tool'' THEN %s END', kind_case, args),
		'workflow', coalesce(m ->> 'workflow', 'NULL::pg_catalog.text'),
		'item', coalesce(m ->> 'item', m ->> 'trace_id'),
		'outcome', coalesce(m ->> 'outcome', 'NULL::pg_catalog.text'),
		'option', coalesce(m ->> 'option', 'NULL::pg_catalog.text'),
		'attempt_raw', coalesce(m ->> 'attempt', 'NULL::pg_catalog.text'),
		'segment', coalesce(m ->> 'segment', 'NULL::pg_catalog.text'));
	parts := jsonb_build_object('from', spans::text || ' r', 'trace', m ->> 'trace_id', 'span', m ->> 'span_id',
		'star', (SELECT string_agg('r.' || quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
				  WHERE a.attrelid = spans AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'tokacct_written_xid'),
		-- the trace id's collation, when it is a column read as it is
		'trace_collation', (SELECT format('%I.%I', n.nspname, co.collname)
				  FROM pg_attribute a JOIN pg_collation co ON co.oid = a.attcollation JOIN pg_namespace n ON n.oid = co.collnamespace
				  WHERE a.attrelid = spans AND NOT a.attisdropped AND 'r.' || quote_ident(a.attname) = m ->> 'trace_id'),
		'order', (SELECT string_agg(format('%s %s', e.v, CASE WHEN e.k IN ('end_time', 'duration_ms') THEN 'DESC NULLS LAST'
								WHEN wants ->> e.k IN ('text', 'count') THEN 'COLLATE "C"' ELSE '' END), ', '
								ORDER BY CASE WHEN e.k IN ('end_time', 'duration_ms') THEN 0 ELSE 1 END, e.k)
				   FROM jsonb_each_text(m) e(k, v) WHERE e.k NOT IN ('trace_id', 'span_id')),
		'cols', cols);
	-- the attempt number, when mapped, is the source's own
	IF m ? 'attempt' THEN
		opts := opts || '{"attempt": "mapped"}';
	END IF;
	dedup := CASE opts ->> 'dedup'
		WHEN 'always' THEN true
		WHEN 'never' THEN false
		ELSE NOT (jsonb_typeof(mapping -> 'span_id') = 'string'
				  AND (@extschema@.attach_unique(spans, ARRAY[mapping ->> 'span_id'])
					   OR (jsonb_typeof(mapping -> 'trace_id') = 'string'
						   AND @extschema@.attach_unique(spans, ARRAY[mapping ->> 'trace_id', mapping ->> 'span_id']))))
	END;
	RETURN QUERY SELECT * FROM @extschema@.attach_install(source, 'mapping', ARRAY[spans], into_schema, prefix,
		jsonb_build_object('mapping', mapping, 'options', options), @extschema@.attach_build(source, parts, opts, dedup));
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach(pg_catalog.text, pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.name, pg_catalog.text, pg_catalog.jsonb) IS
	'attach any table or view with a row per span, by a mapping of names (trace_id, span_id, start_time required; parent_id, end_time or duration_ms, name, kind, status, error_type, provider, model, response_model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost, cost_currency, cost_source, conversation_id, tool_name, tool_arguments or args_hash, workflow, item, outcome, option, attempt) to columns, jsonb paths ({"column": c, "path": "a/b"}) or constants ({"const": v}); creates the seven views';
