-- test/report_data.sql: the figures of the HTML report as one JSON document.
--
--   psql -At -v source=acme_ai -v records=acme.work_items -v workflows=acme.workflows \
--        -v budget=3000 -v month=2026-10-01 -f test/report_data.sql > report.json
--
-- Reads the views of an attached source (:source), the system of record
-- (:records: item_key, segment, outcome, human_minutes) and the workflows'
-- prices (:workflows: workflow, bpo_unit_price, human_cost_per_hour).  Each
-- view is read once, into a temporary table.  Items whose cost is not fully
-- known (see the problems view) are left out of every figure and counted
-- under "Rows left out".  A caller that already holds copies of the views
-- (test/demo.sql) names them in :items_rel, :attempts_rel, :problems_rel and
-- :waste_rel (the rows of waste_by_workflow over the source's spans).
\set ON_ERROR_STOP 1
\if :{?items_rel}
\else
\set items_rel :source.items
\set attempts_rel :source.attempts
\set problems_rel :source.problems
\endif
\set QUIET 1
SET work_mem = '256MB';
SET jit = off;
CREATE TEMP TABLE r_items AS
SELECT i.workflow, i.item, i.option, i.solved, i.ai_cost, i.problem, w.bpo_unit_price,
	   CASE WHEN i.solved THEN 0 ELSE round(rec.human_minutes / 60 * w.human_cost_per_hour, 12) END AS fix_cost,
	   rec.segment
  FROM :items_rel i
  JOIN :records rec ON rec.item_key = i.item
  JOIN :workflows w ON w.workflow = i.workflow;
CREATE TEMP TABLE r_attempts AS
SELECT * FROM :attempts_rel WHERE item IN (SELECT item FROM r_items WHERE problem IS NULL);
\if :{?waste_rel}
CREATE TEMP TABLE r_waste AS SELECT * FROM :waste_rel;
\else
CREATE TEMP TABLE r_waste AS SELECT * FROM tokacct.waste_by_workflow(:'source' || '.spans');
\endif
CREATE TEMP TABLE r_daily AS
SELECT started_at::date AS day, sum(cost) AS spent FROM :source.calls
 WHERE started_at >= :'month'::date AND started_at < :'month'::date + interval '1 month' AND cost IS NOT NULL
 GROUP BY 1;
CREATE TEMP TABLE r_frontier AS
SELECT w.workflow, f.option, f.mean_cost, f.mean_value, f.on_frontier
  FROM (SELECT workflow, tokacct.utility_frontier(option, cost, value) AS s
		  FROM (SELECT workflow, option, ai_cost + fix_cost AS cost,
					   CASE WHEN solved THEN bpo_unit_price ELSE bpo_unit_price - fix_cost END AS value
				  FROM r_items WHERE problem IS NULL
				UNION ALL
				SELECT workflow, 'BPO', bpo_unit_price, bpo_unit_price FROM r_items WHERE problem IS NULL) o
		 GROUP BY workflow) w,
	   tokacct.frontier_options(w.s) f;

SELECT jsonb_pretty(jsonb_build_object(
  'title', 'tokacct: what the agents cost, and what they bought',
  'subtitle', format('%s items, %s solved by the agent; source %s', (SELECT count(*) FROM r_items),
					 (SELECT count(*) FROM r_items WHERE solved), :'source'),
  'economics', (SELECT jsonb_agg(jsonb_build_object('workflow', workflow, 'items', items, 'solved', solved, 'p1', p1,
				   'per_solved', per_solved, 'bpo_price', bpo, 'saving', bpo - per_solved) ORDER BY workflow)
				  FROM (SELECT i.workflow, count(*) AS items, count(*) FILTER (WHERE solved) AS solved,
							   (SELECT (tokacct.retry_report(tokacct.retry_economics(attempt, succeeded, cost))).p1
								  FROM r_attempts a WHERE a.workflow = i.workflow) AS p1,
							   round((sum(ai_cost) + sum(fix_cost)) / nullif(count(*) FILTER (WHERE solved), 0), 4) AS per_solved,
							   max(bpo_unit_price) AS bpo
						  FROM r_items i WHERE problem IS NULL GROUP BY i.workflow) e),
  'segments', (SELECT jsonb_agg(jsonb_build_object('workflow', workflow, 'segment', segment,
				   'agent_per_solved', per_solved, 'bpo_price', bpo) ORDER BY workflow, segment)
				 FROM (SELECT workflow, segment,
							  round((sum(ai_cost) + sum(fix_cost)) / nullif(count(*) FILTER (WHERE solved), 0), 4) AS per_solved,
							  max(bpo_unit_price) AS bpo
						 FROM r_items WHERE problem IS NULL GROUP BY 1, 2) s WHERE per_solved IS NOT NULL),
  'frontier', (SELECT jsonb_object_agg(workflow, opts) FROM
				 (SELECT workflow, jsonb_agg(jsonb_build_object('option', option, 'mean_cost', mean_cost,
						   'mean_value', mean_value, 'on_frontier', on_frontier) ORDER BY mean_cost) AS opts
					FROM r_frontier GROUP BY workflow) f),
  'waste', (SELECT jsonb_agg(jsonb_build_object('workflow', workflow, 'class', c.class, 'cost', c.cost))
			  FROM r_waste w, LATERAL (VALUES ('essential', w.essential), ('failed_attempt', w.failed_attempt),
				  ('error_call', w.error_call), ('abandoned_branch', w.abandoned_branch), ('stuck_loop', w.stuck_loop),
				  ('duplicate_tool_call', w.duplicate_tool_call)) c(class, cost)),
  'quantiles', (SELECT jsonb_agg(jsonb_build_object('workflow', workflow, 'q', q, 'cost', v))
				  FROM (SELECT workflow, tokacct.cost_sketch(ai_cost) AS s FROM r_items WHERE problem IS NULL GROUP BY 1) k,
					   LATERAL unnest('{0.05,0.25,0.5,0.75,0.95,0.99}'::float8[],
									  tokacct.cost_quantiles(k.s, '{0.05,0.25,0.5,0.75,0.95,0.99}')) u(q, v)),
  'burn', jsonb_build_object('month', to_char(:'month'::date, 'FMMonth YYYY'), 'budget', :budget,
			  'days_in_month', extract(day FROM :'month'::date + interval '1 month' - interval '1 day'),
			  'days', (SELECT jsonb_agg(jsonb_build_object('day', day, 'spent', spent) ORDER BY day)
						 FROM (SELECT d.day, sum(coalesce(r.spent, 0)) OVER (ORDER BY d.day) AS spent
								 FROM generate_series(:'month'::date, (SELECT max(day) FROM r_daily), interval '1 day') d(day)
								 LEFT JOIN r_daily r ON r.day = d.day) c)),
  'left_out', (SELECT jsonb_agg(jsonb_build_object('reason', reason, 'rows', n) ORDER BY n DESC)
				 FROM (SELECT regexp_replace(reason, ' \(.*$| ''.*$|: ".*$', '') AS reason, count(*) AS n
						 FROM :problems_rel GROUP BY 1) p)
));
