-- Scale-out (docs/scale-out.md): instances share the work partitions of
-- <prefix>work through a Kafka consumer group; the group decides who owns
-- which partition.  This table only fences: an instance that takes a work
-- partition raises its epoch here first, and every batch checks, inside
-- its own transaction, that the partitions it writes for are still its
-- own at the epoch it took them with.  A former owner that has not
-- noticed the rebalance yet fails that statement and its batch with it
-- (its decisions are made again by the new owner from the same records).

CREATE TABLE IF NOT EXISTS work_owners (
    w       integer PRIMARY KEY,
    holder  text        NOT NULL,
    epoch   bigint      NOT NULL,
    taken   timestamptz NOT NULL DEFAULT now()
);

-- (an earlier draft of this file had no floors)
DROP FUNCTION IF EXISTS patuh_work_acquire(text, integer[]);

-- Takes work partitions ws for holder: each one's epoch is raised above
-- what this table and floors (the epochs Redis holds for them, in the
-- order of ws) say, so that a database restored from a backup cannot hand
-- out an epoch Redis would refuse.  The row lock waits for a former
-- owner's batch in flight to end.  Returns the epochs in the order of ws.
CREATE OR REPLACE FUNCTION patuh_work_acquire(me text, ws integer[],
                                              floors bigint[])
RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
    e bigint;
    out bigint[] := '{}';
    i integer;
BEGIN
    FOR i IN 1 .. coalesce(array_length(ws, 1), 0) LOOP
        INSERT INTO work_owners (w, holder, epoch)
        VALUES (ws[i], me, coalesce(floors[i], 0) + 1)
        ON CONFLICT (w) DO UPDATE SET
            holder = EXCLUDED.holder,
            epoch = greatest(work_owners.epoch, coalesce(floors[i], 0)) + 1,
            taken = now()
        RETURNING epoch INTO e;
        out := out || e;
    END LOOP;
    RETURN out;
END;
$$;

-- Fails the transaction it runs in unless holder still owns every one
-- of ws at the epochs given (the same hint as the engine lease's).
CREATE OR REPLACE FUNCTION patuh_work_check(me text, ws integer[], eps bigint[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    -- held until the batch commits: a new owner's acquire waits for it
    PERFORM 1 FROM work_owners WHERE w = ANY (ws) FOR SHARE;
    SELECT count(*) INTO n FROM work_owners o
    JOIN unnest(ws, eps) AS t(w, ep) ON o.w = t.w
    WHERE o.holder = me AND o.epoch = t.ep;
    IF n <> coalesce(array_length(ws, 1), 0) THEN
        RAISE EXCEPTION 'patuh: work partitions taken over (%)', ws
            USING ERRCODE = 'P0001', HINT = 'patuh_lease_lost';
    END IF;
END;
$$;
