-- patuh ledger, version 1: the tables.
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

-- The functions that write these tables are in 002_batch_publish.sql.
