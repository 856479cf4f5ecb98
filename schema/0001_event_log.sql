-- tradelog: the event log.
--
-- One table of events, partitioned so that market data can be dropped by age while
-- domain events (signals, orders, executions, positions, balances, ...) are kept forever:
--
--   events                  PARTITION BY LIST (retention)
--   ├── events_domain       'domain'  kept forever
--   └── events_market       'market'  PARTITION BY RANGE (recorded_at)
--       └── events_market_YYYYMMDD   one per UTC day, made ahead of time (or by the first append
--                                    of the day), detached and dropped whole by retention
--
-- global_position is gap-free and commit-ordered: appends take the row lock on log_head
-- and hold it until commit, so positions are handed out in commit order and a rollback
-- gives its positions back. Uniqueness of global_position, event_id and
-- (stream, stream_version) is enforced per leaf partition and, across partitions, by
-- that same serialization (the append checks event ids under the lock).

CREATE TABLE log_head (
    id       smallint PRIMARY KEY CHECK (id = 1),
    position bigint   NOT NULL
);
INSERT INTO log_head (id, position) VALUES (1, 0);

CREATE TABLE streams (
    stream         text        PRIMARY KEY,
    category       text        NOT NULL,
    version        bigint      NOT NULL,
    first_position bigint      NOT NULL,
    last_position  bigint      NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX streams_category_idx ON streams (category);

CREATE TABLE events (
    global_position bigint      NOT NULL,
    event_id        uuid        NOT NULL,
    stream          text        NOT NULL,
    category        text        NOT NULL,
    stream_version  bigint      NOT NULL,
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    data            jsonb       NOT NULL,
    correlation_id  text,
    causation_id    text,
    trace_id        text,
    source          text,
    exchange_time   timestamptz,
    receive_time    timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    retention       text        NOT NULL,
    CONSTRAINT events_retention_matches_category
        CHECK ((retention = 'market') = (category LIKE 'market.%'))
) PARTITION BY LIST (retention);

-- Keys and indexes of one leaf partition (also used for the benchmark's scratch table,
-- so that the raw COPY it compares against pays for the same indexes).
CREATE FUNCTION tl_index_events_leaf(p_table text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (global_position)', p_table);
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I (event_id)', p_table || '_event_id_key', p_table);
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I (stream, stream_version)', p_table || '_stream_key', p_table);
    EXECUTE format('CREATE INDEX %I ON %I (category, global_position)', p_table || '_category_idx', p_table);
    EXECUTE format('CREATE INDEX %I ON %I (correlation_id) WHERE correlation_id IS NOT NULL',
                   p_table || '_correlation_idx', p_table);
END
$$;

CREATE TABLE events_domain PARTITION OF events FOR VALUES IN ('domain');
SELECT tl_index_events_leaf('events_domain');

CREATE TABLE events_market PARTITION OF events FOR VALUES IN ('market')
    PARTITION BY RANGE (recorded_at);

-- Creates the market partition for one UTC day if it does not exist yet.
CREATE FUNCTION tl_ensure_market_partition(p_day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_name text := 'events_market_' || to_char(p_day, 'YYYYMMDD');
BEGIN
    IF to_regclass(v_name) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF events_market FOR VALUES FROM (%L) TO (%L)',
            v_name, (p_day::timestamp AT TIME ZONE 'UTC'), ((p_day + 1)::timestamp AT TIME ZONE 'UTC'));
        PERFORM tl_index_events_leaf(v_name);
    END IF;
    RETURN v_name;
END
$$;

-- The market partitions whose whole day lies before p_before (UTC), oldest first, with
-- whether each is still attached (a detached one is left over from an interrupted drop).
-- Retention detaches them CONCURRENTLY (no strong lock on events_market) and drops them.
CREATE FUNCTION tl_market_partitions_before(p_before date)
RETURNS TABLE (name text, attached boolean)
LANGUAGE sql STABLE AS $$
    SELECT c.relname::text, EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)
    FROM pg_class c
    WHERE c.relkind = 'r'
      AND c.relnamespace = 'public'::regnamespace
      AND c.relname ~ '^events_market_[0-9]{8}$'
      AND to_date(substring(c.relname from 15), 'YYYYMMDD') < p_before
    ORDER BY c.relname
$$;

-- First half of an append, inside the caller's transaction: takes the log lock (held until
-- commit), makes sure today's market partition exists when market events are coming, and
-- returns rows of (kind, key, value): ('h', NULL, head), one ('d', event_id, position) per
-- given event id that is stored already, one ('s', stream, version) per given stream that
-- exists, and ('p', leaf partition, NULL) when every event goes to one leaf partition, so
-- that the client can COPY into it directly and skip tuple routing.
--
-- With p_probe_leaf false and a single target leaf, the ids are looked up everywhere but in
-- that leaf: its unique index on event_id rejects a duplicate there, and the client then
-- rolls back to a savepoint and asks again with p_probe_leaf true. Duplicates are rare, and
-- the probes of a large batch are the most expensive part of an append.
CREATE FUNCTION tl_append_begin(
    p_event_ids uuid[], p_streams text[], p_has_market boolean, p_has_domain boolean, p_probe_leaf boolean)
RETURNS TABLE (kind "char", key text, value bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_head  bigint;
    v_leaf  text;
    v_today date := (now() AT TIME ZONE 'UTC')::date;
BEGIN
    SELECT l.position INTO v_head FROM log_head l WHERE l.id = 1 FOR UPDATE;
    IF p_has_market THEN
        v_leaf := tl_ensure_market_partition(v_today);
    END IF;
    RETURN QUERY SELECT 'h'::"char", NULL::text, v_head;
    IF p_probe_leaf OR p_has_market = p_has_domain THEN
        RETURN QUERY SELECT 'd'::"char", e.event_id::text, e.global_position
            FROM events e WHERE e.event_id = ANY (p_event_ids);
    ELSIF p_has_domain THEN
        RETURN QUERY SELECT 'd'::"char", e.event_id::text, e.global_position
            FROM events_market e WHERE e.event_id = ANY (p_event_ids);
    ELSE
        RETURN QUERY SELECT 'd'::"char", e.event_id::text, e.global_position
            FROM events_domain e WHERE e.event_id = ANY (p_event_ids);
        -- every market partition but the target one (earlier days, and a later day that a
        -- transaction begun after midnight may already have written to)
        RETURN QUERY SELECT 'd'::"char", e.event_id::text, e.global_position
            FROM events_market e
            WHERE (e.recorded_at < (v_today::timestamp AT TIME ZONE 'UTC')
                   OR e.recorded_at >= ((v_today + 1)::timestamp AT TIME ZONE 'UTC'))
              AND e.event_id = ANY (p_event_ids);
    END IF;
    RETURN QUERY SELECT 's'::"char", s.stream, s.version
        FROM streams s WHERE s.stream = ANY (p_streams);
    IF p_has_market <> p_has_domain THEN
        RETURN QUERY SELECT 'p'::"char", CASE WHEN p_has_market THEN v_leaf ELSE 'events_domain' END, NULL::bigint;
    END IF;
END
$$;

-- Second half of an append: moves the head, records stream versions, and wakes subscribers
-- (NOTIFY is delivered at commit).
CREATE FUNCTION tl_append_end(
    p_head bigint, p_streams text[], p_categories text[], p_versions bigint[],
    p_first_positions bigint[], p_last_positions bigint[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE log_head SET position = p_head WHERE id = 1;
    -- Streams that had events before: update by key (cheaper than an upsert); the rest are new.
    UPDATE streams AS s SET version = u.version, last_position = u.last_position, updated_at = now()
    FROM unnest(p_streams, p_versions, p_last_positions) AS u(stream, version, last_position)
    WHERE s.stream = u.stream;
    INSERT INTO streams (stream, category, version, first_position, last_position)
    SELECT u.* FROM unnest(p_streams, p_categories, p_versions, p_first_positions, p_last_positions)
        AS u(stream, category, version, first_position, last_position)
    WHERE NOT EXISTS (SELECT 1 FROM streams s WHERE s.stream = u.stream);
    PERFORM pg_notify('tradelog_events', p_head::text);
END
$$;

-- A whole small append in one statement, so that a single event costs one round trip and
-- one commit. The same rules as the client's plan for large batches (AppendPlan.swift):
-- an event id already stored, or earlier in the batch, is reported as a duplicate and not
-- stored; a stream's expected version is checked only when the stream gets a new event.
-- The client sends each stream in one group only, so the versions checked are those
-- before the batch.
--   p_expected, per event (its stream's expectation): -1 any, -2 stream exists, n >= 0 exactly n.
-- Returns one row per event (ord, 'a' appended | 'd' duplicate, position, version), or one
-- row (0, 'c', NULL, actual version, stream, expected) on a conflict, having written nothing.
CREATE FUNCTION tl_append_small(
    p_ids uuid[], p_streams text[], p_categories text[], p_retention text[], p_expected bigint[],
    p_types text[], p_schema_versions integer[], p_data jsonb[],
    p_correlation text[], p_causation text[], p_trace text[], p_source text[],
    p_exchange_us bigint[], p_receive_us bigint[])
RETURNS TABLE (ord integer, outcome "char", out_position bigint, out_version bigint,
               conflict_stream text, conflict_expected bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n          integer := cardinality(p_ids);
    v_head     bigint;
    v_pos      bigint[]  := array_fill(NULL::bigint, ARRAY[n]);
    v_ver      bigint[]  := array_fill(NULL::bigint, ARRAY[n]);
    v_dup      boolean[] := array_fill(false, ARRAY[n]);
    v_streams  text[]    := '{}';
    v_cats     text[]    := '{}';
    v_cur      bigint[]  := '{}';
    v_fresh    boolean[] := '{}';
    v_first    bigint[]  := '{}';
    v_last     bigint[]  := '{}';
    v_up_streams text[]   := '{}';
    v_up_cats    text[]   := '{}';
    v_up_vers    bigint[] := '{}';
    v_up_first   bigint[] := '{}';
    v_up_last    bigint[] := '{}';
    v_existing bigint;
    v_version  bigint;
    i integer;
    j integer;
    k integer;
BEGIN
    IF n = 1 THEN
        -- One event (the common case for commands): the same rules in fewer statements.
        -- The lock comes first, in a statement of its own: a statement that waited for it
        -- still sees the database as it was when that statement began (READ COMMITTED), so
        -- the lookups must be a later statement to see what the previous holder committed.
        SELECT l.position INTO v_head FROM log_head l WHERE l.id = 1 FOR UPDATE;
        SELECT (SELECT e.global_position FROM events e WHERE e.event_id = p_ids[1]),
               COALESCE((SELECT s.version FROM streams s WHERE s.stream = p_streams[1]), 0::bigint)
          INTO v_existing, v_version;
        IF v_existing IS NOT NULL THEN
            RETURN QUERY SELECT 1, 'd'::"char", v_existing, NULL::bigint, NULL::text, NULL::bigint;
            RETURN;
        END IF;
        IF NOT (p_expected[1] = -1 OR (p_expected[1] = -2 AND v_version > 0) OR p_expected[1] = v_version) THEN
            RETURN QUERY SELECT 0, 'c'::"char", NULL::bigint, v_version, p_streams[1], p_expected[1];
            RETURN;
        END IF;
        IF p_retention[1] = 'market' THEN
            PERFORM tl_ensure_market_partition((now() AT TIME ZONE 'UTC')::date);
        END IF;
        WITH head AS (
            UPDATE log_head SET position = v_head + 1 WHERE id = 1
        ), known AS (
            UPDATE streams SET version = v_version + 1, last_position = v_head + 1, updated_at = now()
            WHERE stream = p_streams[1] AND v_version > 0
        ), fresh AS (
            INSERT INTO streams (stream, category, version, first_position, last_position)
            SELECT p_streams[1], p_categories[1], 1, v_head + 1, v_head + 1 WHERE v_version = 0
        )
        INSERT INTO events (global_position, event_id, stream, category, stream_version, type, schema_version,
                            data, correlation_id, causation_id, trace_id, source, exchange_time, receive_time,
                            retention)
        VALUES (v_head + 1, p_ids[1], p_streams[1], p_categories[1], v_version + 1, p_types[1], p_schema_versions[1],
                p_data[1], p_correlation[1], p_causation[1], p_trace[1], p_source[1],
                timestamptz 'epoch' + p_exchange_us[1] * interval '1 microsecond',
                timestamptz 'epoch' + p_receive_us[1] * interval '1 microsecond',
                p_retention[1]);
        PERFORM pg_notify('tradelog_events', (v_head + 1)::text);
        RETURN QUERY SELECT 1, 'a'::"char", v_head + 1, v_version + 1, NULL::text, NULL::bigint;
        RETURN;
    END IF;

    SELECT l.position INTO v_head FROM log_head l WHERE l.id = 1 FOR UPDATE;
    IF 'market' = ANY (p_retention) THEN
        PERFORM tl_ensure_market_partition((now() AT TIME ZONE 'UTC')::date);
    END IF;

    -- Duplicates, and the streams with their versions before the batch.
    FOR i IN 1..n LOOP
        SELECT e.global_position INTO v_existing FROM events e WHERE e.event_id = p_ids[i];
        IF FOUND THEN
            v_dup[i] := true;
            v_pos[i] := v_existing;
        ELSE
            FOR j IN 1..i - 1 LOOP
                IF p_ids[j] = p_ids[i] THEN
                    v_dup[i] := true;
                    EXIT;
                END IF;
            END LOOP;
        END IF;
        k := array_position(v_streams, p_streams[i]);
        IF k IS NULL THEN
            v_streams := v_streams || p_streams[i];
            v_cats    := v_cats || p_categories[i];
            v_cur     := v_cur || COALESCE((SELECT s.version FROM streams s WHERE s.stream = p_streams[i]), 0::bigint);
            v_fresh   := v_fresh || false;
            v_first   := v_first || NULL::bigint;
            v_last    := v_last || NULL::bigint;
            k := cardinality(v_streams);
        END IF;
        IF NOT v_dup[i] THEN
            v_fresh[k] := true;
        END IF;
    END LOOP;

    -- Expected versions, before anything is written.
    FOR i IN 1..n LOOP
        k := array_position(v_streams, p_streams[i]);
        IF v_fresh[k] AND NOT (p_expected[i] = -1
                               OR (p_expected[i] = -2 AND v_cur[k] > 0)
                               OR p_expected[i] = v_cur[k]) THEN
            RETURN QUERY SELECT 0, 'c'::"char", NULL::bigint, v_cur[k], p_streams[i], p_expected[i];
            RETURN;
        END IF;
    END LOOP;

    -- Positions and versions, in input order.
    FOR i IN 1..n LOOP
        IF v_dup[i] THEN
            IF v_pos[i] IS NULL THEN
                FOR j IN 1..i - 1 LOOP
                    IF p_ids[j] = p_ids[i] THEN
                        v_pos[i] := v_pos[j];
                        EXIT;
                    END IF;
                END LOOP;
            END IF;
        ELSE
            k := array_position(v_streams, p_streams[i]);
            v_head := v_head + 1;
            v_cur[k] := v_cur[k] + 1;
            v_pos[i] := v_head;
            v_ver[i] := v_cur[k];
            v_first[k] := COALESCE(v_first[k], v_head);
            v_last[k] := v_head;
        END IF;
    END LOOP;

    IF false = ANY (v_dup) THEN
        INSERT INTO events (global_position, event_id, stream, category, stream_version, type, schema_version,
                            data, correlation_id, causation_id, trace_id, source, exchange_time, receive_time,
                            retention)
        SELECT v_pos[g], p_ids[g], p_streams[g], p_categories[g], v_ver[g], p_types[g], p_schema_versions[g],
               p_data[g], p_correlation[g], p_causation[g], p_trace[g], p_source[g],
               timestamptz 'epoch' + p_exchange_us[g] * interval '1 microsecond',
               timestamptz 'epoch' + p_receive_us[g] * interval '1 microsecond',
               p_retention[g]
        FROM generate_series(1, n) AS g
        WHERE NOT v_dup[g];
        -- Head, stream versions and NOTIFY: the same bookkeeping as a large append.
        FOR k IN 1..cardinality(v_streams) LOOP
            IF v_fresh[k] THEN
                v_up_streams := v_up_streams || v_streams[k];
                v_up_cats    := v_up_cats || v_cats[k];
                v_up_vers    := v_up_vers || v_cur[k];
                v_up_first   := v_up_first || v_first[k];
                v_up_last    := v_up_last || v_last[k];
            END IF;
        END LOOP;
        PERFORM tl_append_end(v_head, v_up_streams, v_up_cats, v_up_vers, v_up_first, v_up_last);
    END IF;

    RETURN QUERY SELECT g, CASE WHEN v_dup[g] THEN 'd' ELSE 'a' END::"char", v_pos[g], v_ver[g], NULL::text, NULL::bigint
        FROM generate_series(1, n) AS g ORDER BY g;
END
$$;

-- Subscription and projection checkpoints: the last global_position each has fully handled.
CREATE TABLE checkpoints (
    name       text        PRIMARY KEY,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
