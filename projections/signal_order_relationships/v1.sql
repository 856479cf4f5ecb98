-- Read model: what each signal did to which order, and why (seed 004 `signal_order_relationships`).
-- relation: created | amended | cancelled | denied (denied rows have no order).
-- Version tables are named NAME_vN: {{table}} is replaced by that name (see ProjectionFiles).
CREATE TABLE IF NOT EXISTS {{table}} (
    signal_id      text NOT NULL,
    step           int NOT NULL,
    order_link_id  text,
    relation       text NOT NULL,
    reason         text NOT NULL,
    strategy_id    text,
    asset          text,
    position       bigint NOT NULL,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (signal_id, position, step)
);
CREATE INDEX IF NOT EXISTS {{table}}_order_idx ON {{table}} (order_link_id);
