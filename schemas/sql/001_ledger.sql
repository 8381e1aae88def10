-- patuh ledger, version 1.
-- Every publication is idempotent: a replayed batch writes the same rows
-- again and changes nothing (outputs before state before offsets).

CREATE TABLE IF NOT EXISTS violations (
    violation_id  text PRIMARY KEY,          -- deterministic (SPEC 4.1)
    kind          text        NOT NULL,
    employee_id   text        NOT NULL,
    unit_id       text        NOT NULL,
    supervisor_id text,
    date          date        NOT NULL,
    subject       text        NOT NULL,
    band          text,
    minutes       integer,
    severity      text        NOT NULL,
    clause        text        NOT NULL,
    tpp_percent   numeric     NOT NULL,
    tpp_amount    bigint      NOT NULL,
    evidence      jsonb       NOT NULL,
    status        text        NOT NULL CHECK (status IN ('active', 'retracted')),
    reason        text,
    revision      integer     NOT NULL,
    decided_at    timestamptz NOT NULL,
    policy        text        NOT NULL,
    doc           jsonb       NOT NULL       -- the published record as is
);
CREATE INDEX IF NOT EXISTS violations_unit_date ON violations (unit_id, date);
CREATE INDEX IF NOT EXISTS violations_employee_date ON violations (employee_id, date);

CREATE TABLE IF NOT EXISTS violation_revisions (
    violation_id text    NOT NULL,
    revision     integer NOT NULL,
    doc          jsonb   NOT NULL,
    PRIMARY KEY (violation_id, revision)
);

CREATE TABLE IF NOT EXISTS tpp_deductions (
    violation_id text    NOT NULL,
    revision     integer NOT NULL,
    employee_id  text    NOT NULL,
    period       text    NOT NULL,           -- YYYY-MM
    percent      numeric NOT NULL,
    amount       bigint  NOT NULL,
    status       text    NOT NULL,
    PRIMARY KEY (violation_id, revision)
);
CREATE INDEX IF NOT EXISTS tpp_deductions_period ON tpp_deductions (period, employee_id);

CREATE TABLE IF NOT EXISTS dead_letters (
    source_topic     text    NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint  NOT NULL,
    reason           text    NOT NULL,
    detail           text    NOT NULL,
    event_id         text,
    doc              jsonb   NOT NULL,       -- includes the original bytes
    received_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_topic, source_partition, source_offset)
);

-- One revision: keep it, and move the current row forward (never back:
-- a replayed older revision does not overwrite a newer one).
CREATE OR REPLACE FUNCTION patuh_publish_revision(d jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO violation_revisions (violation_id, revision, doc)
    VALUES (d->>'violation_id', (d->>'revision')::int, d)
    ON CONFLICT DO NOTHING;
    INSERT INTO violations AS v (violation_id, kind, employee_id, unit_id,
        supervisor_id, date, subject, band, minutes, severity, clause,
        tpp_percent, tpp_amount, evidence, status, reason, revision,
        decided_at, policy, doc)
    VALUES (d->>'violation_id', d->>'kind', d->>'employee_id', d->>'unit_id',
        d->>'supervisor_id', (d->>'date')::date, d->>'subject', d->>'band',
        (d->>'minutes')::int, d->>'severity', d->>'clause',
        (d->>'tpp_percent')::numeric, (d->>'tpp_amount')::bigint,
        d->'evidence', d->>'status', d->>'reason', (d->>'revision')::int,
        (d->>'decided_at')::timestamptz, d->>'policy', d)
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

CREATE OR REPLACE FUNCTION patuh_publish_tpp(d jsonb, revision int) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO tpp_deductions (violation_id, revision, employee_id, period,
        percent, amount, status)
    VALUES (d->>'violation_id', revision, d->>'employee_id', d->>'period',
        (d->>'percent')::numeric, (d->>'amount')::bigint, d->>'status')
    ON CONFLICT DO NOTHING;
$$;

CREATE OR REPLACE FUNCTION patuh_dead_letter(d jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO dead_letters (source_topic, source_partition, source_offset,
        reason, detail, event_id, doc)
    VALUES (coalesce(d->>'topic', ''), (d->>'partition')::int,
        (d->>'offset')::bigint, d->>'reason', d->>'detail', d->>'event_id', d)
    ON CONFLICT DO NOTHING;
$$;
