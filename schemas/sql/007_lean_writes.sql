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

-- A batch's first write, without ON CONFLICT's check before each insert
-- where a duplicate is an error anyway.  ON CONFLICT looks a row's key
-- up in the unique index before inserting it, and the insert looks it up
-- again: for violation_revisions and tpp_deductions (inserts only) that
-- check was ~40 % of the statement.  A batch is written for the first
-- time far more often than again (a restart after a crash between the
-- PostgreSQL commit and the offsets is the exception), so pgsink writes
-- it first with these *_fresh functions; a row already stored then fails
-- the transaction with unique_violation, which rolls all of it back, and
-- pgsink writes the same batch again at once with patuh_publish_revisions
-- and patuh_publish_tpps (002), which skip what is there.  Either way a
-- batch is written once, in one transaction; the violations upsert is the
-- same statement in both (patuh_upsert_violations).

CREATE OR REPLACE FUNCTION patuh_upsert_violations(docs jsonb) RETURNS void
LANGUAGE sql AS $$
    -- a batch may hold several revisions of one violation: keep the last
    INSERT INTO violations AS v (violation_id, kind, employee_id, unit_id,
        supervisor_id, date, subject, band, minutes, severity, clause,
        tpp_percent, tpp_amount, evidence, status, reason, revision,
        decided_at, policy, doc)
    SELECT DISTINCT ON (d->>'violation_id')
        d->>'violation_id', d->>'kind', d->>'employee_id', d->>'unit_id',
        d->>'supervisor_id', (d->>'date')::date, d->>'subject', d->>'band',
        (d->>'minutes')::int, d->>'severity', d->>'clause',
        (d->>'tpp_percent')::numeric, (d->>'tpp_amount')::bigint,
        d->'evidence', d->>'status', d->>'reason', (d->>'revision')::int,
        (d->>'decided_at')::timestamptz, d->>'policy', d
    FROM jsonb_array_elements(docs) AS d
    ORDER BY d->>'violation_id', (d->>'revision')::int DESC
    ON CONFLICT (violation_id) DO UPDATE SET
        band = EXCLUDED.band, minutes = EXCLUDED.minutes,
        severity = EXCLUDED.severity, clause = EXCLUDED.clause,
        tpp_percent = EXCLUDED.tpp_percent, tpp_amount = EXCLUDED.tpp_amount,
        evidence = EXCLUDED.evidence, status = EXCLUDED.status,
        reason = EXCLUDED.reason, revision = EXCLUDED.revision,
        decided_at = EXCLUDED.decided_at, policy = EXCLUDED.policy,
        doc = EXCLUDED.doc
    WHERE v.revision < EXCLUDED.revision;
$$;

CREATE OR REPLACE FUNCTION patuh_publish_revisions(docs jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO violation_revisions (violation_id, revision, doc)
    SELECT d->>'violation_id', (d->>'revision')::int, d
    FROM jsonb_array_elements(docs) AS d
    ON CONFLICT DO NOTHING;
    SELECT patuh_upsert_violations(docs);
$$;

CREATE OR REPLACE FUNCTION patuh_publish_revisions_fresh(docs jsonb)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO violation_revisions (violation_id, revision, doc)
    SELECT d->>'violation_id', (d->>'revision')::int, d
    FROM jsonb_array_elements(docs) AS d;
    SELECT patuh_upsert_violations(docs);
$$;

CREATE OR REPLACE FUNCTION patuh_publish_tpps_fresh(items jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO tpp_deductions (violation_id, revision, employee_id, period,
        percent, amount, status)
    SELECT i->'d'->>'violation_id', (i->>'r')::int, i->'d'->>'employee_id',
        i->'d'->>'period', (i->'d'->>'percent')::numeric,
        (i->'d'->>'amount')::bigint, i->'d'->>'status'
    FROM jsonb_array_elements(items) AS i;
$$;
