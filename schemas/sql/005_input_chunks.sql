-- 005: the evidence of presence and calls kept in chunks, one row per
-- unit-day and batch instead of one per record.
--
-- patuhd wrote every accepted record to input_records (003), 10,000 rows
-- with two indexes and a jsonb parse per batch: the most expensive part
-- of a batch's transaction.  Explain only ever asks for the records of
-- one employee-day (the violation's unit and date), so presence and call
-- records now travel as one text row per (unit, work date) and batch.
-- Excuses, which span days and are few, stay in input_records.  Rows
-- written by earlier versions stay where they are and are read too.

-- records: the stored envelopes {"topic","ts","p","o","value"}
-- (engine/store.h, store_envelope), one per line, in arrival order.
-- chunk: topic:record_id of its first record (event_id, call_id for a
-- call: unique in its topic), so that a batch written again writes the
-- same rows (ON CONFLICT DO NOTHING).
CREATE TABLE IF NOT EXISTS input_chunks (
    unit_id   text    NOT NULL,
    work_date date    NOT NULL,
    chunk     text    NOT NULL,
    n         integer NOT NULL,        -- records in it
    records   text    NOT NULL,
    PRIMARY KEY (unit_id, work_date, chunk)
);

-- A chunk is ~9 KB of JSON: past the TOAST threshold, so it is
-- compressed.  pglz cost four times what the insert itself did (bench/live:
-- 130 us a chunk); lz4 compresses as well here at a quarter of the cost.
-- PostgreSQL built without lz4 keeps pglz (slower, still correct).
DO $$
BEGIN
    ALTER TABLE input_chunks ALTER COLUMN records SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'input_chunks: no lz4 in this PostgreSQL, pglz kept';
END
$$;
