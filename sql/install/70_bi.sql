-- ---------------------------------------------------------------------------
-- Views for people and BI tools.  Attaching a source
-- creates, beside its six base views, the views a BI tool starts from, in
-- the same schema and with the same prefix: economics per day, week and
-- month; economics per segment of items (where the economics break);
-- model routing; waste by class; context growth; cost quantiles; the
-- utility frontier; the allocation of a budget (tokacct.allocation_budget);
-- unpriced models; a summary of the problems; a FOCUS 1.2 cost export.
--
-- They read the base views only, through tokacct's aggregates and
-- functions, so they are security_invoker like them (row-level security on
-- the source tables applies to whoever reads), with plain column types
-- (text, bigint, numeric, double precision, boolean, timestamptz, date) and
-- a comment on every column.  Periods and dates are in UTC.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.allocation_budget (
	source pg_catalog.text PRIMARY KEY
		CHECK (source OPERATOR(pg_catalog.~) '^[a-z_][a-z0-9_]{0,47}$'),
	budget pg_catalog.numeric NOT NULL CHECK (budget OPERATOR(pg_catalog.>=) 0),
	note pg_catalog.text
);
COMMENT ON TABLE @extschema@.allocation_budget IS
	'the budget (USD) to allocate over the workflows of an attached source, for the volume of items the source holds: its allocation view plans it';
COMMENT ON COLUMN @extschema@.allocation_budget.source IS 'attached source (tokacct.attachment.source)';
COMMENT ON COLUMN @extschema@.allocation_budget.budget IS 'budget in USD for the items of the source (AI cost and human fixes)';
COMMENT ON COLUMN @extschema@.allocation_budget.note IS 'free text (the period, who set it)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.allocation_budget', '');

-- The SQL of the BI views of one attached source: a jsonb object mapping
-- each view name (without the prefix) to its SELECT, over the base views
-- schema.prefix||calls etc.  The routing thresholds are the documented
-- ones: 95% Wilson intervals, at least 30 attempts.
CREATE FUNCTION @extschema@.attach_bi_sql(p_source pg_catalog.text, sch pg_catalog.name, prefix pg_catalog.text)
	RETURNS pg_catalog.jsonb
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	v_calls text := format('%I.%I', sch, prefix || 'calls');
	v_spans text := format('%I.%I', sch, prefix || 'spans');
	-- the waste of each trace, classified as waste_by_trace() classifies it
	-- (a trace with an odd span not ok), read from the spans view as every
	-- view of the source reads the source: not through waste_by_trace(),
	-- whose guard refuses a source it cannot vouch for (row-level security
	-- of another owner, say) that the other views read all the same
	v_waste text := @extschema@.waste_by_trace_sql(v_spans, true, true, 'leaf', 3);
	v_attempts text := format('%I.%I', sch, prefix || 'attempts');
	v_items text := format('%I.%I', sch, prefix || 'items');
	v_conv text := format('%I.%I', sch, prefix || 'conversations');
	v_problems text := format('%I.%I', sch, prefix || 'problems');
	econ text;
	res jsonb := '{}';
	g text;
BEGIN
	-- Economics per workflow and period: one pass over the items view.
	-- An item counts in the period its first attempt started (UTC); an item
	-- whose AI cost or success is unknown is left out and counted.
	econ := $q$
SELECT e.source, e.workflow, e.period_start,
	   r.items, r.solved, r.solve_rate,
	   (e.first_ok::pg_catalog.float8 / NULLIF(r.items, 0)) AS p1,
	   (e.attempts::pg_catalog.float8 / NULLIF(r.items, 0)) AS attempts_per_item,
	   e.attempts,
	   COALESCE(r.ai_cost, 0) AS ai_cost, COALESCE(r.human_fix_cost, 0) AS human_fix_cost,
	   r.cost_per_solved AS ai_cost_per_solved,
	   r.total_cost_per_solved AS cost_per_solved,
	   pg_catalog.round(r.total_cost / NULLIF(r.items, 0), 12) AS cost_per_item,
	   e.bpo_unit_price,
	   pg_catalog.round(e.bpo_unit_price - r.total_cost / NULLIF(r.items, 0), 12) AS saving_per_unit,
	   CASE WHEN e.bpo_unit_price > 0 AND e.attempts > 0
			THEN @extschema@.break_even_p(pg_catalog.round(r.ai_cost / e.attempts, 12), e.bpo_unit_price) END AS break_even_p1,
	   (e.failed_cost / NULLIF(r.ai_cost, 0))::pg_catalog.float8 AS retry_share,
	   @extschema@.tail_ratio(e.sketch) AS tail_ratio,
	   w.waste_share,
	   e.items_left_out,
	   (e.items_left_out::pg_catalog.float8 / NULLIF(e.all_items, 0)) AS items_left_out_share,
	   e.calls_left_out,
	   (e.calls_left_out::pg_catalog.float8 / NULLIF(e.calls, 0)) AS calls_left_out_share
  FROM (SELECT i.source, i.workflow,
			   pg_catalog.date_trunc('{{GRAIN}}', pg_catalog.timezone('UTC', i.started_at))::pg_catalog.date AS period_start,
			   @extschema@.cost_per_outcome(i.ai_cost, i.solved, i.human_fix_cost) FILTER (WHERE i.ok) AS outcome,
			   @extschema@.cost_sketch(i.ai_cost) FILTER (WHERE i.ok) AS sketch,
			   pg_catalog.count(*) FILTER (WHERE i.ok AND i.first_try_succeeded) AS first_ok,
			   COALESCE(pg_catalog.sum(i.attempts) FILTER (WHERE i.ok), 0)::pg_catalog.int8 AS attempts,
			   pg_catalog.sum(i.failed_attempt_cost) FILTER (WHERE i.ok) AS failed_cost,
			   pg_catalog.round(pg_catalog.avg(i.bpo_unit_price) FILTER (WHERE i.ok), 12) AS bpo_unit_price,
			   pg_catalog.count(*) AS all_items,
			   pg_catalog.count(*) FILTER (WHERE NOT i.ok) AS items_left_out,
			   COALESCE(pg_catalog.sum(i.calls), 0)::pg_catalog.int8 AS calls,
			   COALESCE(pg_catalog.sum(i.calls_left_out), 0)::pg_catalog.int8 AS calls_left_out
		  FROM (SELECT x.*, (x.ai_cost IS NOT NULL AND x.solved IS NOT NULL) AS ok
				  FROM {{ITEMS}} x WHERE x.started_at IS NOT NULL AND pg_catalog.isfinite(x.started_at)) i
		 GROUP BY 1, 2, 3) e
  LEFT JOIN LATERAL @extschema@.outcome_report(e.outcome) r ON true
  LEFT JOIN (SELECT COALESCE(a.workflow, '') AS workflow_key,
					pg_catalog.date_trunc('{{GRAIN}}', pg_catalog.timezone('UTC', a.started_at))::pg_catalog.date AS period_start,
					(pg_catalog.sum(wt.waste) / NULLIF(pg_catalog.sum(wt.total), 0))::pg_catalog.float8 AS waste_share
			   FROM ({{WASTE}}) wt
			   JOIN {{ATTEMPTS}} a ON a.trace_id = wt.trace_id
			  WHERE wt.ok
			  GROUP BY 1, 2) w
	ON w.workflow_key = COALESCE(e.workflow, '') AND w.period_start = e.period_start$q$;
	econ := replace(replace(replace(econ, '{{ITEMS}}', v_items), '{{ATTEMPTS}}', v_attempts), '{{WASTE}}', v_waste);
	FOREACH g IN ARRAY ARRAY['day', 'week', 'month'] LOOP
		res := res || jsonb_build_object(CASE g WHEN 'day' THEN 'economics_daily' WHEN 'week' THEN 'economics_weekly'
			ELSE 'economics_monthly' END, replace(econ, '{{GRAIN}}', g));
	END LOOP;

	-- Where the economics break: per workflow and segment of items, the
	-- all-in cost per item (AI attempts, retries included, plus the human
	-- fix of the items the AI did not solve) against the BPO price.
	res := res || jsonb_build_object('segments', format($q$
SELECT s.source, s.workflow, s.segment, s.items, s.solved, s.p1, s.attempts_per_item,
	   s.ai_cost, s.human_fix_cost, s.ai_cost_per_solved, s.cost_per_item, s.bpo_unit_price,
	   s.saving_per_unit, s.retry_share, s.money_at_stake, s.agent_loses,
	   CASE WHEN s.agent_loses THEN pg_catalog.rank() OVER (PARTITION BY s.source, s.agent_loses
			ORDER BY s.money_at_stake DESC, s.workflow COLLATE "C", s.segment COLLATE "C") END AS loss_rank,
	   s.items_left_out,
	   CASE WHEN s.bpo_unit_price IS NULL OR s.items = 0 THEN NULL ELSE
	   pg_catalog.format('%%s, %%s: $%%s per item with the agent (retries and human fixes included) against $%%s at the BPO; first-try success %%s%%%%, %%s attempts per item: %%s',
		   COALESCE(s.workflow, '(no workflow)'), COALESCE(s.segment, 'items without a segment'),
		   pg_catalog.round(s.cost_per_item, 2), pg_catalog.round(s.bpo_unit_price, 2),
		   pg_catalog.round((s.p1 * 100)::pg_catalog.numeric, 0), pg_catalog.round(s.attempts_per_item::pg_catalog.numeric, 2),
		   CASE WHEN NOT s.agent_loses
				THEN pg_catalog.format('the agent saves $%%s per item, $%%s on these %%s items', pg_catalog.round(s.saving_per_unit, 2),
					 pg_catalog.round(-s.money_at_stake, 2), s.items)
				WHEN s.retry_share >= 0.5
				THEN pg_catalog.format('the retry tail destroys the economics (%%s%%%% of the AI spend goes on failed attempts); $%%s at stake on these %%s items',
					 pg_catalog.round((s.retry_share * 100)::pg_catalog.numeric, 0), pg_catalog.round(s.money_at_stake, 2), s.items)
				WHEN s.human_fix_cost > s.ai_cost
				THEN pg_catalog.format('the human fixes of the items the agent fails destroy the economics; $%%s at stake on these %%s items',
					 pg_catalog.round(s.money_at_stake, 2), s.items)
				ELSE pg_catalog.format('the agent''s attempts cost more than the BPO price; $%%s at stake on these %%s items',
					 pg_catalog.round(s.money_at_stake, 2), s.items) END) END AS sentence
  FROM (SELECT t.source, t.workflow, t.segment, r.items, r.solved,
			   (t.first_ok::pg_catalog.float8 / NULLIF(r.items, 0)) AS p1,
			   (t.attempts::pg_catalog.float8 / NULLIF(r.items, 0)) AS attempts_per_item,
			   COALESCE(r.ai_cost, 0) AS ai_cost, COALESCE(r.human_fix_cost, 0) AS human_fix_cost,
			   r.cost_per_solved AS ai_cost_per_solved,
			   pg_catalog.round(r.total_cost / NULLIF(r.items, 0), 12) AS cost_per_item,
			   t.bpo_unit_price,
			   pg_catalog.round(t.bpo_unit_price - r.total_cost / NULLIF(r.items, 0), 12) AS saving_per_unit,
			   (t.failed_cost / NULLIF(r.ai_cost, 0))::pg_catalog.float8 AS retry_share,
			   pg_catalog.round(r.total_cost - t.bpo_total, 12) AS money_at_stake,
			   (r.total_cost > t.bpo_total) AS agent_loses,
			   t.items_left_out
		  FROM (SELECT i.source, i.workflow, i.segment,
					   @extschema@.cost_per_outcome(i.ai_cost, i.solved, i.human_fix_cost) FILTER (WHERE i.ok) AS outcome,
					   pg_catalog.count(*) FILTER (WHERE i.ok AND i.first_try_succeeded) AS first_ok,
					   COALESCE(pg_catalog.sum(i.attempts) FILTER (WHERE i.ok), 0)::pg_catalog.int8 AS attempts,
					   pg_catalog.sum(i.failed_attempt_cost) FILTER (WHERE i.ok) AS failed_cost,
					   pg_catalog.round(pg_catalog.avg(i.bpo_unit_price) FILTER (WHERE i.ok), 12) AS bpo_unit_price,
					   pg_catalog.sum(i.bpo_unit_price) FILTER (WHERE i.ok) AS bpo_total,
					   pg_catalog.count(*) FILTER (WHERE NOT i.ok) AS items_left_out
				  FROM (SELECT x.*, (x.ai_cost IS NOT NULL AND x.solved IS NOT NULL) AS ok FROM %1$s x) i
				 GROUP BY 1, 2, 3) t
		  LEFT JOIN LATERAL @extschema@.outcome_report(t.outcome) r ON true) s$q$, v_items));

	-- Model routing per workflow and option, over attempts.  Documented
	-- rule: a sample is enough from 30 attempts; an option is good enough
	-- when its 95% Wilson interval reaches the best success rate of the
	-- options with enough samples; the recommendation is the good-enough
	-- option with the lowest cost per success, none without enough samples.
	res := res || jsonb_build_object('routing', format($q$
SELECT o.source, o.workflow, o.option, o.attempts, o.successes, o.success_rate,
	   o.success_low, o.success_high, 0.95::pg_catalog.float8 AS confidence, 30::pg_catalog.int8 AS min_sample,
	   o.cost, o.cost_per_attempt, o.cost_per_success, o.sample_ok, o.good_enough,
	   o.rec_option AS recommended_option,
	   CASE WHEN o.rec_option IS NOT NULL AND o.option IS DISTINCT FROM o.rec_option AND o.cost_per_success > o.rec_cps
			THEN pg_catalog.round(o.successes * (o.cost_per_success - o.rec_cps), 12)
			WHEN o.rec_option IS NOT NULL THEN 0::pg_catalog.numeric END AS projected_saving,
	   CASE WHEN NOT o.sample_ok THEN pg_catalog.format('too few samples (%%s attempts, 30 needed): no recommendation from this option', o.attempts)
			WHEN o.rec_option IS NULL THEN 'no option has a good-enough success rate with 30 attempts or more'
			WHEN o.option = o.rec_option THEN 'recommended: the cheapest good-enough option per success'
			WHEN NOT o.good_enough THEN pg_catalog.format('success rate %%s below the best; switch to %%s', pg_catalog.round(o.success_rate::pg_catalog.numeric, 3), o.rec_option)
			ELSE pg_catalog.format('good enough but dearer per success than %%s', o.rec_option) END AS note,
	   o.attempts_left_out
  FROM (SELECT g.*,
			   CASE WHEN pg_catalog.first_value(g.candidate) OVER w THEN pg_catalog.first_value(g.option) OVER w END AS rec_option,
			   CASE WHEN pg_catalog.first_value(g.candidate) OVER w THEN pg_catalog.first_value(g.cost_per_success) OVER w END AS rec_cps
		  FROM (SELECT c.*, (c.good_enough AND c.cost_per_success IS NOT NULL) AS candidate
				  FROM (SELECT b.*,
							   (b.sample_ok AND b.success_high >= pg_catalog.max(b.success_rate) FILTER (WHERE b.sample_ok)
									OVER (PARTITION BY b.source, b.workflow) - 1e-12) IS TRUE AS good_enough
						  FROM (SELECT a.source, a.workflow, a.option,
									   pg_catalog.count(*) FILTER (WHERE a.ok) AS attempts,
									   pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded) AS successes,
									   (pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded))::pg_catalog.float8
										   / NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok), 0) AS success_rate,
									   (@extschema@.wilson_interval(pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded),
										   NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok), 0), 0.95)).low AS success_low,
									   (@extschema@.wilson_interval(pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded),
										   NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok), 0), 0.95)).high AS success_high,
									   COALESCE(pg_catalog.sum(a.cost) FILTER (WHERE a.ok), 0) AS cost,
									   pg_catalog.round(pg_catalog.sum(a.cost) FILTER (WHERE a.ok) / NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok), 0), 12) AS cost_per_attempt,
									   pg_catalog.round(pg_catalog.sum(a.cost) FILTER (WHERE a.ok)
										   / NULLIF(pg_catalog.count(*) FILTER (WHERE a.ok AND a.succeeded), 0), 12) AS cost_per_success,
									   pg_catalog.count(*) FILTER (WHERE a.ok) >= 30 AS sample_ok,
									   pg_catalog.count(*) FILTER (WHERE NOT a.ok) AS attempts_left_out
								  FROM (SELECT x.*, (x.cost IS NOT NULL AND x.succeeded IS NOT NULL) AS ok FROM %1$s x) a
								 GROUP BY 1, 2, 3) b) c) g
		WINDOW w AS (PARTITION BY g.source, g.workflow ORDER BY g.candidate DESC, g.cost_per_success, g.option COLLATE "C"
					 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) o$q$, v_attempts));

	-- Waste by class, long format, from tokacct.waste_by_workflow().
	res := res || jsonb_build_object('waste', format($q$
SELECT %2$L::pg_catalog.text AS source, w.workflow, c.class, c.precedence::pg_catalog.int8 AS precedence,
	   c.cost, (c.cost / NULLIF(w.total, 0))::pg_catalog.float8 AS share, w.total, w.traces, w.cost_rule
  FROM (SELECT b.workflow, pg_catalog.min(b.cost_rule) AS cost_rule, pg_catalog.count(*) AS traces,
			   pg_catalog.sum(b.total) AS total, pg_catalog.sum(b.essential) AS essential,
			   pg_catalog.sum(b.error_call) AS error_call, pg_catalog.sum(b.failed_attempt) AS failed_attempt,
			   pg_catalog.sum(b.abandoned_branch) AS abandoned_branch, pg_catalog.sum(b.stuck_loop) AS stuck_loop,
			   pg_catalog.sum(b.duplicate_tool_call) AS duplicate_tool_call
		  FROM (%1$s) b WHERE b.ok GROUP BY b.workflow) w
 CROSS JOIN LATERAL (VALUES ('essential', 0, w.essential), ('error_call', 1, w.error_call),
		('failed_attempt', 2, w.failed_attempt), ('abandoned_branch', 3, w.abandoned_branch),
		('stuck_loop', 4, w.stuck_loop), ('duplicate_tool_call', 5, w.duplicate_tool_call)) c(class, precedence, cost)$q$,
		v_waste, p_source));

	-- Context growth per workflow: context_growth() per conversation,
	-- summed.  Savings if the history carried into a call were capped at
	-- 32768 tokens.
	res := res || jsonb_build_object('context_growth', format($q$
SELECT g.source, g.workflow, pg_catalog.count(*) AS conversations,
	   pg_catalog.sum(r.calls)::pg_catalog.int8 AS calls,
	   pg_catalog.sum(r.total_input)::pg_catalog.int8 AS total_input,
	   pg_catalog.sum(r.fresh_input)::pg_catalog.int8 AS fresh_input,
	   pg_catalog.sum(r.carried_input)::pg_catalog.int8 AS carried_input,
	   (pg_catalog.sum(r.carried_input)::pg_catalog.float8 / NULLIF(pg_catalog.sum(r.total_input), 0)) AS carried_share,
	   pg_catalog.avg(r.growth_exponent) AS mean_growth_exponent,
	   pg_catalog.max(r.calls)::pg_catalog.int8 AS longest_conversation,
	   32768::pg_catalog.int8 AS history_cap,
	   pg_catalog.sum(s.saved_input)::pg_catalog.int8 AS saved_input_at_cap,
	   (pg_catalog.sum(s.saved_input)::pg_catalog.float8 / NULLIF(pg_catalog.sum(r.total_input), 0)) AS saved_share_at_cap,
	   pg_catalog.sum(g.calls_left_out)::pg_catalog.int8 AS calls_left_out
  FROM (SELECT c.source, pg_catalog.min(c.workflow) AS workflow, c.conversation_id,
			   @extschema@.context_growth(c.seq, c.input_tokens, c.output_tokens)
				   FILTER (WHERE c.input_tokens IS NOT NULL AND c.output_tokens IS NOT NULL) AS st,
			   pg_catalog.count(*) FILTER (WHERE c.input_tokens IS NULL OR c.output_tokens IS NULL) AS calls_left_out
		  FROM %1$s c GROUP BY c.source, c.conversation_id) g
  LEFT JOIN LATERAL @extschema@.context_report(g.st) r ON true
  LEFT JOIN LATERAL @extschema@.context_savings(g.st, 32768) s ON true
 GROUP BY g.source, g.workflow$q$, v_conv));

	-- Cost quantiles per workflow and option, long format.
	res := res || jsonb_build_object('cost_quantiles', format($q$
SELECT q.source, q.workflow, q.option, v.quantile, @extschema@.cost_quantile(q.sketch, v.quantile) AS cost, q.items
  FROM (SELECT i.source, i.workflow, i.option, @extschema@.cost_sketch(i.ai_cost) AS sketch, pg_catalog.count(*) AS items
		  FROM %1$s i WHERE i.ai_cost IS NOT NULL
		 GROUP BY 1, 2, 3) q
 CROSS JOIN (VALUES (0.5::pg_catalog.float8), (0.9), (0.95), (0.99)) v(quantile)$q$, v_items));

	-- Utility frontier per workflow over the items (cost: AI plus human fix).
	res := res || jsonb_build_object('frontier', format($q$
SELECT f.source, f.workflow, o.option, o.items, o.mean_cost, o.mean_value, o.on_frontier,
	   o.frontier_rank::pg_catalog.int8 AS frontier_rank, o.marginal_utility,
	   pg_catalog.array_to_string(o.dominated_by, ', ') AS dominated_by
  FROM (SELECT i.source, i.workflow,
			   @extschema@.utility_frontier(COALESCE(i.option, '(none)'), i.ai_cost + COALESCE(i.human_fix_cost, 0), i.value) AS st
		  FROM %1$s i WHERE i.ai_cost IS NOT NULL AND i.value IS NOT NULL AND i.workflow IS NOT NULL
		 GROUP BY 1, 2) f
 CROSS JOIN LATERAL @extschema@.frontier_options(f.st) o$q$, v_items));

	-- The allocation of the budget kept in tokacct.allocation_budget.
	res := res || jsonb_build_object('allocation', format($q$
SELECT b.source, b.budget, p.workflow, p.option, p.items, p.share, p.spend, p.value,
	   s.shadow_price, s.feasible, d.decision
  FROM @extschema@.allocation_budget_rows() b
 CROSS JOIN LATERAL (SELECT pg_catalog.array_agg(ROW(f.workflow, f.option, f.mean_cost, f.mean_value, t.items,
						f.option = t.current_option)::@extschema@.allocation_option ORDER BY f.workflow, f.option) AS opts
					   FROM (SELECT i.workflow, 'leave undone' AS option, 0::pg_catalog.numeric AS mean_cost, 0::pg_catalog.numeric AS mean_value
							   FROM %1$s i WHERE i.ai_cost IS NOT NULL AND i.value IS NOT NULL AND i.workflow IS NOT NULL
							  GROUP BY 1
							  UNION ALL
							 SELECT i.workflow, COALESCE(i.option, '(none)') AS option,
									pg_catalog.round(pg_catalog.avg(i.ai_cost + COALESCE(i.human_fix_cost, 0)), 12) AS mean_cost,
									pg_catalog.round(pg_catalog.avg(i.value), 12) AS mean_value
							   FROM %1$s i WHERE i.ai_cost IS NOT NULL AND i.value IS NOT NULL AND i.workflow IS NOT NULL
							  GROUP BY 1, 2) f
					   JOIN (SELECT i.workflow, pg_catalog.count(*) AS items,
									pg_catalog.mode() WITHIN GROUP (ORDER BY COALESCE(i.option, '(none)')) AS current_option
							   FROM %1$s i WHERE i.ai_cost IS NOT NULL AND i.value IS NOT NULL AND i.workflow IS NOT NULL
							  GROUP BY 1) t ON t.workflow = f.workflow) o
 CROSS JOIN LATERAL @extschema@.allocation_summary(b.budget, o.opts) s
 CROSS JOIN LATERAL @extschema@.allocate(b.budget, o.opts) p
  LEFT JOIN LATERAL (SELECT pg_catalog.string_agg(x.decision, '; ') AS decision
					   FROM @extschema@.allocation_decisions(b.budget, o.opts) x WHERE x.workflow = p.workflow) d ON true
 WHERE b.source = %2$L AND o.opts IS NOT NULL$q$, v_items, p_source));

	-- Calls no catalog can price.
	res := res || jsonb_build_object('unpriced_models', format($q$
SELECT c.source, c.price_provider AS provider, c.price_model AS model, pg_catalog.count(*) AS calls,
	   pg_catalog.min(c.started_at) AS first_call, pg_catalog.max(c.started_at) AS last_call,
	   pg_catalog.sum(c.input_tokens)::pg_catalog.int8 AS input_tokens, pg_catalog.sum(c.output_tokens)::pg_catalog.int8 AS output_tokens,
	   pg_catalog.count(*) FILTER (WHERE c.cost IS NOT NULL) AS calls_with_reported_cost
  FROM %1$s c
 WHERE c.list_cost IS NULL AND c.problem LIKE 'no catalog price%%'
 GROUP BY 1, 2, 3$q$, v_calls));

	-- Problems, counted by level and reason.
	res := res || jsonb_build_object('problem_summary', format($q$
SELECT p.source, p.level, p.reason, pg_catalog.count(*) AS rows,
	   pg_catalog.count(DISTINCT p.trace_id) AS traces, pg_catalog.min(p.trace_id) AS example_trace_id
  FROM %1$s p GROUP BY 1, 2, 3$q$, v_problems));

	-- FOCUS 1.2 cost export: one row per priced call (data/focus/).
	res := res || jsonb_build_object('focus', format($q$
SELECT c.cost AS "BilledCost",
	   c.source AS "BillingAccountId",
	   c.source AS "BillingAccountName",
	   'USD'::pg_catalog.text AS "BillingCurrency",
	   pg_catalog.timezone('UTC', pg_catalog.date_trunc('month', pg_catalog.timezone('UTC', c.started_at))) AS "BillingPeriodStart",
	   -- (the month after the last that timestamptz holds, 294276-12, has no start)
	   CASE WHEN pg_catalog.timezone('UTC', c.started_at) < '294276-12-01'::pg_catalog.timestamp
			THEN pg_catalog.timezone('UTC', pg_catalog.date_trunc('month', pg_catalog.timezone('UTC', c.started_at)) + '1 month'::pg_catalog.interval)
			ELSE 'infinity'::pg_catalog.timestamptz END AS "BillingPeriodEnd",
	   'Usage'::pg_catalog.text AS "ChargeCategory",
	   NULL::pg_catalog.text AS "ChargeClass",
	   pg_catalog.format('%%s tokens of %%s (%%s in, %%s out)', c.input_tokens + c.output_tokens, c.price_model, c.input_tokens, c.output_tokens) AS "ChargeDescription",
	   'Usage-Based'::pg_catalog.text AS "ChargeFrequency",
	   c.started_at AS "ChargePeriodStart",
	   GREATEST(COALESCE(c.ended_at, c.started_at), c.started_at) AS "ChargePeriodEnd",
	   (c.input_tokens + c.output_tokens)::pg_catalog.numeric AS "ConsumedQuantity",
	   'Tokens'::pg_catalog.text AS "ConsumedUnit",
	   c.cost AS "ContractedCost",
	   c.cost AS "EffectiveCost",
	   c.price_provider AS "InvoiceIssuerName",
	   COALESCE(c.list_cost, c.cost) AS "ListCost",
	   'Standard'::pg_catalog.text AS "PricingCategory",
	   (c.input_tokens + c.output_tokens)::pg_catalog.numeric AS "PricingQuantity",
	   'Tokens'::pg_catalog.text AS "PricingUnit",
	   c.price_provider AS "ProviderName",
	   c.price_provider AS "PublisherName",
	   c.trace_id AS "ResourceId",
	   c.workflow AS "ResourceName",
	   'Agent trace'::pg_catalog.text AS "ResourceType",
	   'AI and Machine Learning'::pg_catalog.text AS "ServiceCategory",
	   c.price_provider AS "ServiceName",
	   'Generative AI'::pg_catalog.text AS "ServiceSubcategory",
	   c.price_model AS "SkuId",
	   c.workflow AS "SubAccountId",
	   c.workflow AS "SubAccountName",
	   pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('tokacct:workflow', c.workflow, 'tokacct:item', c.item,
		   'tokacct:attempt', c.attempt, 'tokacct:model', c.model, 'tokacct:cost_source', c.cost_source,
		   'tokacct:span_id', c.span_id))::pg_catalog.text AS "Tags"
  FROM %1$s c
 WHERE c.cost IS NOT NULL AND c.input_tokens IS NOT NULL AND c.output_tokens IS NOT NULL$q$, v_calls));
	RETURN res;
END
$fn$;
COMMENT ON FUNCTION @extschema@.attach_bi_sql(pg_catalog.text, pg_catalog.name, pg_catalog.text) IS
	'the SQL of the BI views of an attached source (economics, segments, routing, waste, context growth, cost quantiles, frontier, allocation, unpriced models, problem summary, FOCUS), over its base views';

-- The comments of the BI views and their columns (Metabase shows them).
CREATE FUNCTION @extschema@.attach_bi_comments() RETURNS pg_catalog.jsonb
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
SELECT $j${
 "economics": {
  "source": "name of the attached source",
  "workflow": "workflow",
  "period_start": "first day of the period (UTC); an item counts in the period its first attempt started",
  "items": "items counted (AI cost and success known)",
  "solved": "items the AI solved",
  "solve_rate": "solved / items",
  "p1": "first-try success: share of the items whose first attempt succeeded",
  "attempts_per_item": "attempts / items",
  "attempts": "attempts of the items counted",
  "ai_cost": "AI cost of every attempt of the items, retries included (USD)",
  "human_fix_cost": "cost of the human fixes of the items the AI did not solve (tokacct.baseline; USD)",
  "ai_cost_per_solved": "AI cost / solved items, retries included (USD)",
  "cost_per_solved": "(AI cost + human fix cost) / solved items (USD)",
  "cost_per_item": "all-in cost per item: (AI cost + human fix cost) / items, what the agent costs against the BPO price (USD)",
  "bpo_unit_price": "BPO price per item of the baseline in force (mean over the items; USD)",
  "saving_per_unit": "bpo_unit_price - cost_per_item: what each item saves with the agent (negative: the agent is dearer)",
  "break_even_p1": "first-try success at which the mean attempt cost / p equals the BPO price (tokacct.break_even_p); NULL when no rate gets there",
  "retry_share": "share of the AI cost spent on attempts that failed",
  "tail_ratio": "p95 / p50 of the AI cost per item (tokacct.tail_ratio)",
  "waste_share": "share of the traces' cost classified as waste (as tokacct.waste_by_trace classifies it; a trace with an odd span left out), traces by the start of their item",
  "items_left_out": "items left out: AI cost or success unknown (see the problems view)",
  "items_left_out_share": "items left out / all items of the period",
  "calls_left_out": "calls left out of the cost",
  "calls_left_out_share": "calls left out / all calls of the period's items"
 },
 "segments": {
  "": "where the economics break: per workflow and segment of items (option segment of the attach call), the all-in cost per item with the agent against the BPO price; the segments where the agent loses ranked by money at stake, each with a sentence",
  "source": "name of the attached source",
  "workflow": "workflow",
  "segment": "segment of the items (NULL: items without one)",
  "items": "items counted (AI cost and success known)",
  "solved": "items the AI solved",
  "p1": "first-try success rate",
  "attempts_per_item": "attempts / items",
  "ai_cost": "AI cost, retries included (USD)",
  "human_fix_cost": "human fixes of the items the AI did not solve (USD)",
  "ai_cost_per_solved": "AI cost / solved items (USD)",
  "cost_per_item": "(AI cost + human fix cost) / items (USD)",
  "bpo_unit_price": "BPO price per item (mean over the items; USD)",
  "saving_per_unit": "bpo_unit_price - cost_per_item (negative: the agent is dearer)",
  "retry_share": "share of the AI cost spent on failed attempts",
  "money_at_stake": "(AI cost + human fixes) - what the BPO would charge for the same items (USD); positive where the agent loses",
  "agent_loses": "the agent costs more than the BPO on these items",
  "loss_rank": "1 for the losing segment with the most money at stake, 2, ...; NULL where the agent wins",
  "items_left_out": "items left out: AI cost or success unknown",
  "sentence": "the finding in business words; NULL without a baseline"
 },
 "routing": {
  "": "model routing per workflow and option (models): success rate with its 95% Wilson interval, cost per success, and the cheapest good-enough option: at least 30 attempts and a Wilson upper bound reaching the best success rate among options with 30 attempts or more; no recommendation from fewer",
  "source": "name of the attached source",
  "workflow": "workflow",
  "option": "option (as the source names it, else the models of the attempt)",
  "attempts": "attempts counted (cost and success known): the sample size",
  "successes": "attempts that succeeded",
  "success_rate": "successes / attempts",
  "success_low": "lower bound of the Wilson interval of the success rate",
  "success_high": "upper bound of the Wilson interval",
  "confidence": "confidence of the interval (0.95)",
  "min_sample": "attempts an option needs before it can be recommended (30)",
  "cost": "cost of the attempts (USD)",
  "cost_per_attempt": "cost / attempts (USD)",
  "cost_per_success": "cost / successes (USD); NULL without a success",
  "sample_ok": "at least min_sample attempts",
  "good_enough": "sample_ok and success_high reaches the best success rate of the workflow's options with enough samples",
  "recommended_option": "the good-enough option with the lowest cost per success in the workflow; NULL when none",
  "projected_saving": "successes x (cost_per_success - the recommended option's), had these successes come from the recommended option (USD)",
  "note": "the decision in words",
  "attempts_left_out": "attempts left out: cost or success unknown"
 },
 "waste": {
  "": "trace waste by class per workflow (as tokacct.waste_by_workflow over the spans view; a trace with an odd span left out), one row per class",
  "source": "name of the attached source",
  "workflow": "workflow",
  "class": "essential, error_call, failed_attempt, abandoned_branch, stuck_loop or duplicate_tool_call",
  "precedence": "order in which a span is tested against the classes (0 essential)",
  "cost": "cost attributed to the class (USD); the classes sum to total",
  "share": "cost / total",
  "total": "cost of the workflow's traces (USD)",
  "traces": "traces",
  "cost_rule": "how a span's cost is counted (leaf: a parent's rolled-up cost is not added again)"
 },
 "context_growth": {
  "": "context growth per workflow: input re-sent from earlier turns, the growth exponent, and the input saved if the history carried into a call were capped at 32768 tokens (tokacct.context_growth per conversation)",
  "source": "name of the attached source",
  "workflow": "workflow",
  "conversations": "conversations",
  "calls": "calls counted",
  "total_input": "input tokens",
  "fresh_input": "input tokens that were new",
  "carried_input": "input tokens re-sent from earlier turns",
  "carried_share": "carried_input / total_input",
  "mean_growth_exponent": "mean over conversations of the growth exponent (1 linear, 2 quadratic)",
  "longest_conversation": "most calls in a conversation",
  "history_cap": "history cap of the savings figures (tokens)",
  "saved_input_at_cap": "input tokens saved with the history capped at history_cap",
  "saved_share_at_cap": "saved_input_at_cap / total_input",
  "calls_left_out": "calls left out: token counts unusable"
 },
 "cost_quantiles": {
  "": "quantiles of the AI cost per item per workflow and option, long format (tokacct.cost_sketch: within 1% relative error)",
  "source": "name of the attached source",
  "workflow": "workflow",
  "option": "option(s) of the items",
  "quantile": "0.5, 0.9, 0.95 or 0.99",
  "cost": "AI cost per item at the quantile (USD)",
  "items": "items with a known AI cost"
 },
 "frontier": {
  "": "utility frontier per workflow over the items: mean cost (AI + human fix) and mean value per option, which options are on the frontier, the marginal utility (value per extra dollar) and what dominates the others",
  "source": "name of the attached source",
  "workflow": "workflow",
  "option": "option",
  "items": "items",
  "mean_cost": "mean cost per item, AI and human fix (USD)",
  "mean_value": "mean value per item (tokacct.baseline: the BPO price, less the human fix when unsolved; USD)",
  "on_frontier": "on the efficient frontier",
  "frontier_rank": "place on the frontier from the cheapest (1); NULL when dominated",
  "marginal_utility": "value per extra dollar moving to this option from the previous one on the frontier",
  "dominated_by": "options that dominate this one (comma-separated)"
 },
 "allocation": {
  "": "the allocation of the budget in tokacct.allocation_budget over the workflows (tokacct.allocate over each workflow''s options at its volume of items, plus \"leave undone\" at no cost and no value; the current option is the most used)",
  "source": "name of the attached source",
  "budget": "budget (USD)",
  "workflow": "workflow",
  "option": "option chosen",
  "items": "items given to the option",
  "share": "share of the workflow's items",
  "spend": "spend on them (USD)",
  "value": "their value (USD)",
  "shadow_price": "value of one more dollar of budget",
  "feasible": "the budget covers the cheapest plan",
  "decision": "the decision for the workflow in words"
 },
 "unpriced_models": {
  "": "models of the calls that no catalog can price, per provider and model",
  "source": "name of the attached source",
  "provider": "provider as priced (after the aliases)",
  "model": "model as priced (after the aliases)",
  "calls": "calls",
  "first_call": "first call",
  "last_call": "last call",
  "input_tokens": "input tokens",
  "output_tokens": "output tokens",
  "calls_with_reported_cost": "calls counted at the cost they reported anyway"
 },
 "problem_summary": {
  "": "the problems view counted per level and reason",
  "source": "name of the attached source",
  "level": "call, span or trace",
  "reason": "reason",
  "rows": "rows with this reason",
  "traces": "traces concerned",
  "example_trace_id": "one of them"
 },
 "focus": {
  "": "FOCUS 1.2 cost export: one row per priced call, in the columns of the FinOps Open Cost and Usage Specification (data/focus/)",
  "BilledCost": "the call's cost (reported cost when there is one, else the list price; USD)",
  "BillingAccountId": "the attached source",
  "BillingAccountName": "the attached source",
  "BillingCurrency": "USD",
  "BillingPeriodStart": "first instant of the call's month (UTC)",
  "BillingPeriodEnd": "first instant of the next month (UTC, exclusive)",
  "ChargeCategory": "Usage",
  "ChargeClass": "NULL (no correction)",
  "ChargeDescription": "the tokens and the model",
  "ChargeFrequency": "Usage-Based",
  "ChargePeriodStart": "start of the call",
  "ChargePeriodEnd": "end of the call",
  "ConsumedQuantity": "input + output tokens",
  "ConsumedUnit": "Tokens",
  "ContractedCost": "the call's cost (USD)",
  "EffectiveCost": "the call's cost (USD)",
  "InvoiceIssuerName": "provider as priced",
  "ListCost": "catalog list price (the cost when no list price applies; USD)",
  "PricingCategory": "Standard",
  "PricingQuantity": "input + output tokens",
  "PricingUnit": "Tokens",
  "ProviderName": "provider as priced",
  "PublisherName": "provider as priced",
  "ResourceId": "trace of the call",
  "ResourceName": "workflow of the call",
  "ResourceType": "Agent trace",
  "ServiceCategory": "AI and Machine Learning",
  "ServiceName": "provider as priced",
  "ServiceSubcategory": "Generative AI",
  "SkuId": "model as priced",
  "SubAccountId": "workflow",
  "SubAccountName": "workflow",
  "Tags": "JSON object: tokacct:workflow, tokacct:item, tokacct:attempt, tokacct:model, tokacct:cost_source, tokacct:span_id"
 }
}$j$::pg_catalog.jsonb
   || pg_catalog.jsonb_build_object(
	'economics_daily', $j${"": "workflow economics per day (UTC): items, solved, first-try success, attempts per item, AI and human fix cost, cost per solved item and per item against the BPO price, break-even first-try success, retry share, tail ratio, waste share, rows left out"}$j$::pg_catalog.jsonb,
	'economics_weekly', $j${"": "workflow economics per week (UTC, from Monday): the columns of economics_daily"}$j$::pg_catalog.jsonb,
	'economics_monthly', $j${"": "workflow economics per month (UTC): the columns of economics_daily"}$j$::pg_catalog.jsonb)
$fn$;
COMMENT ON FUNCTION @extschema@.attach_bi_comments() IS 'the comments given to the BI views of an attached source and their columns';
