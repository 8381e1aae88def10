-- When an employee joined the roster of a running engine (issue
-- "Operations", reload on SIGHUP).  The roster file has no start date, so
-- an employee added to it would otherwise be marked absent for every
-- earlier day still within the amend horizon.  patuhd records, per
-- employee, the first day they are expected: NULL for everyone in the
-- roster the first time it is published (a first start or a backfill
-- expects everyone from the start), the day after publication for anyone
-- who appears later and was never in it before.  An employee back after
-- leaving the roster keeps their mark: their earlier days were expected
-- days, and the ones they were away were not in the roster to be judged.
ALTER TABLE employees ADD COLUMN IF NOT EXISTS expected_from date;

-- Publishes the roster as patuh_publish_roster does, marks who is new
-- with `joined`, and returns every employee in the roster who has a first
-- expected day (the others are expected from the start).  One statement:
-- the marks and the roster change together.
CREATE OR REPLACE FUNCTION patuh_publish_roster_joined(roster json, joined date)
RETURNS TABLE (emp_id text, emp_from date)
LANGUAGE plpgsql AS $$
DECLARE
    first boolean;
    fresh text[];
BEGIN
    SELECT NOT EXISTS (SELECT 1 FROM employees e WHERE e.in_roster)
      INTO first;
    SELECT coalesce(array_agg(d->>'employee_id'), '{}')
      INTO fresh
      FROM json_array_elements(roster) AS d
     WHERE NOT EXISTS (SELECT 1 FROM employees e
                        WHERE e.employee_id = d->>'employee_id');
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
