-- 007: less work per write: fewer index entries per violation revision,
-- and the roster in one parse per record.
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

-- The roster, at start and at each reload (the loop waits for it then),
-- in one parse per record.  patuh_publish_roster (003) read each field
-- with d->>'key': on json (text, kept for the SPEC's key order) every ->>
-- parses the record again, nine times a record.  json_to_record parses
-- each record once; the rows written are the same (same columns, same doc
-- text), and so is the condition under which a row changes.  bench/live,
-- 20,000 employees: the publish 0.84 -> 0.53 s into an empty table, 0.78
-- -> 0.40 s with the same roster again.  These replace the functions of
-- 003 and 006 with the same signatures and results.
CREATE OR REPLACE FUNCTION patuh_publish_roster(roster json) RETURNS void
LANGUAGE sql AS $$
    WITH r AS (
        SELECT d, x.*
        FROM json_array_elements(roster) AS d,
            json_to_record(d) AS x(employee_id text, name text,
                unit_id text, unit_name text, position_class text,
                supervisor_id text, head_id text, tpp_monthly bigint,
                active boolean)
    ), up AS (
        INSERT INTO employees AS e (employee_id, name, unit_id, unit_name,
            position_class, supervisor_id, head_id, tpp_monthly, active,
            in_roster, doc)
        SELECT employee_id, name, unit_id, unit_name, position_class,
            supervisor_id, head_id, tpp_monthly, active, true, d
        FROM r
        ON CONFLICT (employee_id) DO UPDATE SET
            name = EXCLUDED.name, unit_id = EXCLUDED.unit_id,
            unit_name = EXCLUDED.unit_name,
            position_class = EXCLUDED.position_class,
            supervisor_id = EXCLUDED.supervisor_id,
            head_id = EXCLUDED.head_id, tpp_monthly = EXCLUDED.tpp_monthly,
            active = EXCLUDED.active, in_roster = true, doc = EXCLUDED.doc,
            updated_at = now()
        WHERE e.doc::jsonb IS DISTINCT FROM EXCLUDED.doc::jsonb
           OR NOT e.in_roster
        RETURNING 1
    )
    UPDATE employees SET in_roster = false, updated_at = now()
    WHERE in_roster
      AND employee_id NOT IN (SELECT employee_id FROM r);
$$;

CREATE OR REPLACE FUNCTION patuh_publish_roster_joined(roster json, joined date)
RETURNS TABLE (emp_id text, emp_from date)
LANGUAGE plpgsql AS $$
DECLARE
    first boolean;
    fresh text[];
BEGIN
    SELECT NOT EXISTS (SELECT 1 FROM employees e WHERE e.in_roster)
      INTO first;
    SELECT coalesce(array_agg(d.employee_id), '{}')
      INTO fresh
      FROM json_to_recordset(roster) AS d(employee_id text)
     WHERE NOT EXISTS (SELECT 1 FROM employees e
                        WHERE e.employee_id = d.employee_id);
    PERFORM patuh_publish_roster(roster);
    IF NOT first THEN
        UPDATE employees e SET expected_from = joined
         WHERE e.employee_id = ANY (fresh);
    END IF;
    RETURN QUERY
        SELECT e.employee_id, e.expected_from FROM employees e
         WHERE e.in_roster AND e.expected_from IS NOT NULL;
END
$$;
