-- The workload of the bi suite (sql/bi.sql, where its figures are worked by
-- hand), for the script suites that read the BI views (test/t/jdbc.sh):
-- prices, the claims baseline and a flat span table bi_src.spans with a
-- team column (b: the exception claims, a: the rest).
CREATE SCHEMA bi_src;
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'acme', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES
	('custom', 'acme', 'small', 0, '{"equals": "small"}'),
	('custom', 'acme', 'large', 1, '{"equals": "large"}'),
	('custom', 'acme', 'tiny', 2, '{"equals": "tiny"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok) VALUES
	('custom', 'acme', 'small', 1.00, 0), ('custom', 'acme', 'large', 1.00, 0), ('custom', 'acme', 'tiny', 1.00, 0);
INSERT INTO tokacct.baseline (workflow, bpo_unit_price, human_cost_per_hour, human_minutes_per_item)
VALUES ('claims', 4.50, 60, 3);

-- attempts: (workflow, segment, item number, attempt, succeeded, model, tokens, day)
CREATE TABLE bi_src.plan AS
SELECT 'claims' AS wf, 'standard' AS seg, 's' || i AS item, 1 AS attempt, true AS ok, 'small' AS model,
	   1000000 AS tokens, '2026-03-02'::date AS day
  FROM generate_series(1, 80) i
UNION ALL
SELECT 'claims', 'exception document', 'e' || i, a,
	   (i <= 8 AND a = 1) OR (i BETWEEN 9 AND 12 AND a = 2) OR (i BETWEEN 13 AND 16 AND a = 3),
	   'large', 2500000, '2026-03-03'
  FROM generate_series(1, 20) i, generate_series(1, 3) a
 WHERE a = 1 OR (a = 2 AND i > 8) OR (a = 3 AND i > 12)
UNION ALL
SELECT 'claims', 'foreign', 'f' || i, a,
	   (i <= 2 AND a = 1) OR (i BETWEEN 3 AND 4 AND a = 2) OR (i BETWEEN 5 AND 6 AND a = 3),
	   'tiny', 1500000, '2026-03-09'
  FROM generate_series(1, 10) i, generate_series(1, 3) a
 WHERE a = 1 OR (a = 2 AND i > 2) OR (a = 3 AND i > 4)
UNION ALL
SELECT 'letters', NULL, 'l' || i, 1, true, CASE WHEN i = 13 THEN 'mystery' ELSE 'small' END, 1000, '2026-03-04'
  FROM generate_series(1, 13) i;
-- one span per attempt, in a flat table of the user's own
CREATE TABLE bi_src.spans AS
SELECT wf || '-' || item || '-' || attempt AS tid, 'sp-' || item || '-' || attempt AS sid,
	   (day + time '08:00' + attempt * interval '1 minute') AT TIME ZONE 'UTC' AS started_at,
	   'llm'::text AS kind, 'acme'::text AS provider, model, tokens AS input, 0 AS output,
	   CASE WHEN ok THEN 'success' ELSE 'failure' END AS outcome, wf, item, seg, 'team-' || (CASE WHEN item LIKE 'e%' THEN 'b' ELSE 'a' END) AS team
  FROM bi_src.plan;
ALTER TABLE bi_src.spans ADD PRIMARY KEY (sid);
