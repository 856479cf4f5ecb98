-- category_stats v1: how many events each stream category has had, and where.
-- Folded from the log by the CategoryStats projection; drop it and it is rebuilt.
-- Version tables are named NAME_vN: {{table}} is replaced by that name (see ProjectionFiles).
CREATE TABLE IF NOT EXISTS {{table}} (
    category        text   PRIMARY KEY,
    events          bigint NOT NULL,
    streams_touched bigint NOT NULL,
    first_position  bigint NOT NULL,
    last_position   bigint NOT NULL,
    last_type       text   NOT NULL
);
