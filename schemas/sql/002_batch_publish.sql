-- Publication: patuhd sends each batch's revisions, TPP events and dead
-- letters as three JSON arrays, one set-based statement each.  Replaying a
-- batch changes nothing (ON CONFLICT), and the current row of a violation
-- only moves to a higher revision.

CREATE OR REPLACE FUNCTION patuh_publish_revisions(docs jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO violation_revisions (violation_id, revision, doc)
    SELECT d->>'violation_id', (d->>'revision')::int, d
    FROM jsonb_array_elements(docs) AS d
    ON CONFLICT DO NOTHING;
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

-- items: [{"r": revision, "d": tpp event}, ...]
CREATE OR REPLACE FUNCTION patuh_publish_tpps(items jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO tpp_deductions (violation_id, revision, employee_id, period,
        percent, amount, status)
    SELECT i->'d'->>'violation_id', (i->>'r')::int, i->'d'->>'employee_id',
        i->'d'->>'period', (i->'d'->>'percent')::numeric,
        (i->'d'->>'amount')::bigint, i->'d'->>'status'
    FROM jsonb_array_elements(items) AS i
    ON CONFLICT DO NOTHING;
$$;

CREATE OR REPLACE FUNCTION patuh_dead_letters(docs jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO dead_letters (source_topic, source_partition, source_offset,
        reason, detail, event_id, doc)
    SELECT coalesce(d->>'topic', ''), (d->>'partition')::int,
        (d->>'offset')::bigint, d->>'reason', d->>'detail', d->>'event_id', d
    FROM jsonb_array_elements(docs) AS d
    ON CONFLICT DO NOTHING;
$$;
