-- patuh reports (SPEC 4.4): what the people who use the decisions read.
-- patuhd writes employees and reference_docs at start, daily_digests and
-- input_records with every batch (idempotently, like the ledger); the
-- payroll tables are written only by `patuh payroll --close`.

-- The roster patuhd loaded, so that reports show names and units.  An
-- employee who left the roster keeps a row (in_roster = false): old
-- violations still name them.
CREATE TABLE IF NOT EXISTS employees (
    employee_id    text PRIMARY KEY,
    name           text,
    unit_id        text    NOT NULL,
    unit_name      text,
    position_class text    NOT NULL,
    supervisor_id  text,
    head_id        text,
    tpp_monthly    bigint  NOT NULL,
    active         boolean NOT NULL,
    in_roster      boolean NOT NULL,
    doc            json    NOT NULL,   -- the roster record (SPEC 1.4)
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS employees_unit ON employees (unit_id);

-- The policy and calendar documents patuhd ran with, by content: the
-- reports and `patuh explain` read the rules in force from here.
CREATE TABLE IF NOT EXISTS reference_docs (
    kind      text NOT NULL CHECK (kind IN ('policy', 'calendar')),
    label     text NOT NULL,            -- policy "id/version"; calendar sha256
    doc       text NOT NULL,            -- the file as loaded
    loaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, label)
);

-- Daily digest rows (SPEC 4.4), one per unit and date; a row moves to a
-- new revision only when its content changes.  doc keeps the published
-- text (json, not jsonb: the SPEC's key order).
CREATE TABLE IF NOT EXISTS daily_digests (
    date            date    NOT NULL,
    unit_id         text    NOT NULL,
    revision        integer NOT NULL,
    expected        integer NOT NULL,  -- 0: the unit has nobody expected now
    compliance_rate numeric NOT NULL,
    doc             json    NOT NULL,
    published_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (date, unit_id)
);
CREATE TABLE IF NOT EXISTS daily_digest_revisions (
    date         date    NOT NULL,
    unit_id      text    NOT NULL,
    revision     integer NOT NULL,
    doc          json    NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (date, unit_id, revision)
);

-- Every accepted input record with where it came from: the evidence of
-- the violations, kept after Redis has forgotten it (explain, audits).
-- record_id is what evidence lists: event_id, or call_id for calls.
CREATE TABLE IF NOT EXISTS input_records (
    topic       text    NOT NULL,
    record_id   text    NOT NULL,
    employee_id text    NOT NULL,      -- callee for calls
    partition   integer NOT NULL,
    "offset"    bigint  NOT NULL,
    arrival     timestamptz,           -- Kafka timestamp (null: none)
    value       jsonb   NOT NULL,
    PRIMARY KEY (topic, record_id)
);
CREATE INDEX IF NOT EXISTS input_records_employee ON input_records (employee_id);

-- A closed payroll month: its rows as they were paid.
CREATE TABLE IF NOT EXISTS payroll_closures (
    period    text PRIMARY KEY,        -- YYYY-MM
    policy    text NOT NULL,
    closed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS payroll_snapshots (
    period      text   NOT NULL REFERENCES payroll_closures (period),
    employee_id text   NOT NULL,
    unit_id     text   NOT NULL,
    deduction   bigint NOT NULL,
    doc         json   NOT NULL,       -- the payroll row (SPEC 4.4)
    PRIMARY KEY (period, employee_id)
);

-- docs: a JSON array of digest rows in publication order.  The last row
-- of a (date, unit) in the batch wins; an unchanged row changes nothing,
-- so a replayed batch or a restart's republication keeps the revision.
CREATE OR REPLACE FUNCTION patuh_publish_digests(docs json) RETURNS void
LANGUAGE sql AS $$
    WITH rows AS (
        SELECT DISTINCT ON (d->>'date', d->>'unit_id')
            (d->>'date')::date AS date, d->>'unit_id' AS unit_id,
            (d->>'expected')::int AS expected,
            (d->>'compliance_rate')::numeric AS rate, d AS doc
        FROM json_array_elements(docs) WITH ORDINALITY AS e(d, i)
        ORDER BY d->>'date', d->>'unit_id', i DESC
    ), up AS (
        INSERT INTO daily_digests AS g (date, unit_id, revision, expected,
            compliance_rate, doc)
        SELECT date, unit_id, 1, expected, rate, doc FROM rows
        ON CONFLICT (date, unit_id) DO UPDATE SET
            revision = g.revision + 1, expected = EXCLUDED.expected,
            compliance_rate = EXCLUDED.compliance_rate, doc = EXCLUDED.doc,
            published_at = now()
        WHERE g.doc::jsonb IS DISTINCT FROM EXCLUDED.doc::jsonb
        RETURNING g.date, g.unit_id, g.revision, g.doc
    )
    INSERT INTO daily_digest_revisions (date, unit_id, revision, doc)
    SELECT date, unit_id, revision, doc FROM up
    ON CONFLICT DO NOTHING;
$$;

-- recs: a JSON array of stored records {"topic","ts","p","o","value"}
-- (engine/store.h).  A record already kept stays as it was.
CREATE OR REPLACE FUNCTION patuh_input_records(recs jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO input_records (topic, record_id, employee_id, partition,
        "offset", arrival, value)
    SELECT r->>'topic',
        CASE r->>'topic' WHEN 'calls' THEN r->'value'->>'call_id'
                         ELSE r->'value'->>'event_id' END,
        CASE r->>'topic' WHEN 'calls' THEN r->'value'->>'callee_id'
                         ELSE r->'value'->>'employee_id' END,
        (r->>'p')::int, (r->>'o')::bigint, (r->>'ts')::timestamptz,
        r->'value'
    FROM jsonb_array_elements(recs) AS r
    ON CONFLICT DO NOTHING;
$$;

-- roster: a JSON array of roster records; every employee not in it is
-- marked as having left.
CREATE OR REPLACE FUNCTION patuh_publish_roster(roster json) RETURNS void
LANGUAGE sql AS $$
    WITH r AS (
        SELECT d FROM json_array_elements(roster) AS d
    ), up AS (
        INSERT INTO employees AS e (employee_id, name, unit_id, unit_name,
            position_class, supervisor_id, head_id, tpp_monthly, active,
            in_roster, doc)
        SELECT d->>'employee_id', d->>'name', d->>'unit_id', d->>'unit_name',
            d->>'position_class', d->>'supervisor_id', d->>'head_id',
            (d->>'tpp_monthly')::bigint, (d->>'active')::boolean, true, d
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
      AND employee_id NOT IN (SELECT d->>'employee_id' FROM r);
$$;
