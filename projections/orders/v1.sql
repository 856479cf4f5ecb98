-- Read model: one row per order of ours (seed 004 `orders`), folded from OrderLifecycleChanged.
-- Version tables are named NAME_vN: {{table}} is replaced by that name (see ProjectionFiles).
CREATE TABLE IF NOT EXISTS {{table}} (
    order_link_id      text PRIMARY KEY,
    order_id           text,
    signal_id          text,
    strategy_id        text,
    trace_id           text,
    category           text NOT NULL,
    symbol             text NOT NULL,
    side               text NOT NULL,
    order_type         text NOT NULL,
    status             text NOT NULL,
    requested_amount   numeric,
    qty                numeric NOT NULL,
    price              numeric,
    executed_qty       numeric NOT NULL DEFAULT 0,
    average_price      numeric,
    fees               numeric NOT NULL DEFAULT 0,
    fee_currency       text,
    slippage_bps       numeric,
    latency_to_ack_ms  bigint,
    latency_to_fill_ms bigint,
    reason             text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    created_position   bigint NOT NULL,
    updated_position   bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS {{table}}_signal_idx ON {{table}} (signal_id);
CREATE INDEX IF NOT EXISTS {{table}}_status_idx ON {{table}} (status, created_position);
CREATE INDEX IF NOT EXISTS {{table}}_symbol_idx ON {{table}} (symbol, created_position);
