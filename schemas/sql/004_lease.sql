-- The engine lease: until instances share the work (scale-out), exactly
-- one patuhd evaluates.  Another one started with the same database
-- stands by until the lease expires, then takes over with a higher epoch.
-- Every batch renews the lease inside its own PostgreSQL transaction, so
-- an instance that lost it (frozen past the expiry, then woken) fails its
-- next write instead of publishing decisions from stale state; Redis
-- refuses its state writes the same way (patuh:epoch).

CREATE TABLE IF NOT EXISTS engine_lease (
    id         integer PRIMARY KEY CHECK (id = 1),
    holder     text        NOT NULL,
    epoch      bigint      NOT NULL,
    expires_at timestamptz NOT NULL
);

-- The lease for holder, or NULL while another holds it unexpired.
-- Taking it over (or taking it again after a restart) raises the epoch.
CREATE OR REPLACE FUNCTION patuh_lease_acquire(me text, ttl_ms integer)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    e bigint;
BEGIN
    INSERT INTO engine_lease (id, holder, epoch, expires_at)
    VALUES (1, me, 1, clock_timestamp() + ttl_ms * interval '1 millisecond')
    ON CONFLICT (id) DO UPDATE SET
        holder = EXCLUDED.holder, epoch = engine_lease.epoch + 1,
        expires_at = EXCLUDED.expires_at
    WHERE engine_lease.expires_at < clock_timestamp()
       OR engine_lease.holder = me
    RETURNING epoch INTO e;
    RETURN e;
END;
$$;

-- Extends the lease of (holder, epoch), or fails the transaction it runs
-- in: a batch written by an instance that lost the lease is rolled back.
CREATE OR REPLACE FUNCTION patuh_lease_renew(me text, ep bigint, ttl_ms integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE engine_lease
    SET expires_at = clock_timestamp() + ttl_ms * interval '1 millisecond'
    WHERE id = 1 AND holder = me AND epoch = ep;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'patuh: engine lease lost (epoch %)', ep
            USING ERRCODE = 'P0001', HINT = 'patuh_lease_lost';
    END IF;
END;
$$;

-- Who holds the lease, for the standby's log line.
CREATE OR REPLACE FUNCTION patuh_lease_holder()
RETURNS TABLE (holder text, epoch bigint, expires_in_ms bigint)
LANGUAGE sql AS $$
    SELECT holder, epoch,
        greatest(0, (extract(epoch FROM expires_at - clock_timestamp()) * 1000)::bigint)
    FROM engine_lease WHERE id = 1;
$$;

-- A clean stop hands the lease back at once: a successor need not wait
-- for it to expire.
CREATE OR REPLACE FUNCTION patuh_lease_release(me text, ep bigint)
RETURNS void LANGUAGE sql AS $$
    UPDATE engine_lease SET expires_at = clock_timestamp()
    WHERE id = 1 AND holder = me AND epoch = ep;
$$;
