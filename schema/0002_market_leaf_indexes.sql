-- Market-data leaves drop the (category, global_position) index.
--
-- The gateway appends tens of thousands of market events per second, and every index is
-- paid on each of them. Measured with the gateway against the simulator on the 2-core
-- development machine, this index (a long text key per row) cost about a third of the
-- sustainable append rate. Market data is read forward by position (relay, replay,
-- projections) or by stream, both still indexed; a category read over market data falls
-- back to the primary key with a filter, which is fine for the dense market categories.
-- Domain events keep every index.

-- The keys of any leaf, minus the category index.
CREATE FUNCTION tl_index_market_leaf(p_table text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tl_index_events_leaf(p_table);
    EXECUTE format('DROP INDEX %I', p_table || '_category_idx');
END
$$;

CREATE OR REPLACE FUNCTION tl_ensure_market_partition(p_day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_name text := 'events_market_' || to_char(p_day, 'YYYYMMDD');
BEGIN
    IF to_regclass(v_name) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF events_market FOR VALUES FROM (%L) TO (%L)',
            v_name, (p_day::timestamp AT TIME ZONE 'UTC'), ((p_day + 1)::timestamp AT TIME ZONE 'UTC'));
        PERFORM tl_index_market_leaf(v_name);
    END IF;
    RETURN v_name;
END
$$;

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'events_market'::regclass
    LOOP
        EXECUTE format('DROP INDEX IF EXISTS %I', r.relname || '_category_idx');
    END LOOP;
END
$$;
