-- 009: the roster published through COPY instead of one JSON document.
--
-- patuhd publishes the roster at every start, before it consumes anything
-- (the employees it learns are new are expected from the next day on,
-- and restore must know that).  patuh_publish_roster_joined(json) (006,
-- 007) took the roster as one JSON array: 20,000 employees, ~6 MB, cost
-- ~630 ms of the start into an empty table, ~500 ms of it the JSON
-- (json_array_elements, json_to_record) and the doc::jsonb comparisons.
-- patuhd now COPYs the rows, columns already split, into a temporary
-- table of its session (engine/refdata.c) and calls this function in the
-- same transaction: ~50 ms for the COPY and ~240 ms for the upsert.
--
-- The rows written are those of patuh_publish_roster_joined: the same
-- columns and doc text, the same in_roster and expected_from marks, and
-- the same result.  One difference: a row is rewritten when its doc text
-- differs, where 007 compared the docs as jsonb; the text is what
-- refdata writes, so the same roster gives the same text (an engine that
-- wrote the same record in another key order rewrites it once).
--
-- pg_temp.patuh_roster_in (created by the caller, ON COMMIT DROP):
--   employee_id text, name text, unit_id text, unit_name text,
--   position_class text, supervisor_id text, head_id text,
--   tpp_monthly bigint, active boolean, doc text (the SPEC §1.4 record)
CREATE OR REPLACE FUNCTION patuh_publish_roster_staged(joined date)
RETURNS TABLE (emp_id text, emp_from date)
LANGUAGE plpgsql AS $$
DECLARE
    first boolean;
    fresh text[] := '{}';
    inserted boolean := false;
BEGIN
    SELECT NOT EXISTS (SELECT 1 FROM employees e WHERE e.in_roster)
      INTO first;
    -- who is new, before the rows go in: nobody at the first publication
    -- (a few a day: an array is enough)
    IF NOT first THEN
        SELECT coalesce(array_agg(r.employee_id), '{}') INTO fresh
          FROM pg_temp.patuh_roster_in r
         WHERE NOT EXISTS (SELECT 1 FROM employees e
                            WHERE e.employee_id = r.employee_id);
    END IF;
    -- Into an empty table (a new database) the rows go without ON
    -- CONFLICT, whose look-up before each insert cost ~40 % of it (~100 of
    -- ~240 ms for 20,000 employees); another instance publishing at the
    -- same moment makes that fail, and the upsert below does it then.
    IF NOT EXISTS (SELECT 1 FROM employees) THEN
        BEGIN
            INSERT INTO employees (employee_id, name, unit_id, unit_name,
                position_class, supervisor_id, head_id, tpp_monthly, active,
                in_roster, doc)
            SELECT r.employee_id, r.name, r.unit_id, r.unit_name,
                r.position_class, r.supervisor_id, r.head_id, r.tpp_monthly,
                r.active, true, r.doc::json
            FROM pg_temp.patuh_roster_in r;
            inserted := true;
        EXCEPTION WHEN unique_violation THEN
            inserted := false;
        END;
    END IF;
    IF NOT inserted THEN
        INSERT INTO employees AS e (employee_id, name, unit_id, unit_name,
            position_class, supervisor_id, head_id, tpp_monthly, active,
            in_roster, doc)
        SELECT r.employee_id, r.name, r.unit_id, r.unit_name, r.position_class,
            r.supervisor_id, r.head_id, r.tpp_monthly, r.active, true,
            r.doc::json
        FROM pg_temp.patuh_roster_in r
        ON CONFLICT (employee_id) DO UPDATE SET
            name = EXCLUDED.name, unit_id = EXCLUDED.unit_id,
            unit_name = EXCLUDED.unit_name,
            position_class = EXCLUDED.position_class,
            supervisor_id = EXCLUDED.supervisor_id,
            head_id = EXCLUDED.head_id, tpp_monthly = EXCLUDED.tpp_monthly,
            active = EXCLUDED.active, in_roster = true, doc = EXCLUDED.doc,
            updated_at = now()
        WHERE e.doc::text IS DISTINCT FROM EXCLUDED.doc::text
           OR NOT e.in_roster;
        -- who left the roster
        UPDATE employees e SET in_roster = false, updated_at = now()
         WHERE e.in_roster
           AND NOT EXISTS (SELECT 1 FROM pg_temp.patuh_roster_in r
                            WHERE r.employee_id = e.employee_id);
    END IF;
    UPDATE employees e SET expected_from = joined
     WHERE e.employee_id = ANY (fresh);
    RETURN QUERY
        SELECT e.employee_id, e.expected_from FROM employees e
         WHERE e.in_roster AND e.expected_from IS NOT NULL;
END
$$;
