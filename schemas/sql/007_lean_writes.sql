-- 007: less work per write: fewer index entries per violation revision.
--
-- Every revision patuhd publishes is a row of violation_revisions, an
-- upsert of violations and (mostly) a row of tpp_deductions: the
-- revisions statement is most of a day-close batch's PostgreSQL time
-- (bench/live: ~4,000 revisions at once, ~130 ms with its jsonb parse).
-- Three b-tree indexes had no reader: violations (unit_id, date) and
-- (employee_id, date), and tpp_deductions (period, employee_id).  What
-- reads these tables asks by violation_id (explain: the primary keys) or
-- for the active violations of a date range across all units (reports),
-- which neither index could serve.  Measured on a captured batch of
-- 1,000 revisions against a month's tables (median of 7, PostgreSQL 15):
-- the violations upsert 24 -> 16 ms, the TPP insert 19 -> 12 ms.  A BRIN
-- index on date costs nothing measurable per row and can serve the
-- reports' date ranges (decisions are published in roughly date order,
-- so a block range holds a few days).
--
-- Re-runnable: every statement is IF [NOT] EXISTS.  On a large existing
-- database the BRIN index is built once, in this migration's transaction.

DROP INDEX IF EXISTS violations_unit_date;
DROP INDEX IF EXISTS violations_employee_date;
DROP INDEX IF EXISTS tpp_deductions_period;
CREATE INDEX IF NOT EXISTS violations_date_brin ON violations USING brin (date);

