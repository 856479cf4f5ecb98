-- Read model: the positions' history (seed 004 `position_snapshots`), one row per position per
-- snapshot, folded from PositionSnapshotCreated (every interval of event time and on request).
-- Version tables are named NAME_vN: {{table}} is replaced by that name (see ProjectionFiles).
CREATE TABLE IF NOT EXISTS {{table}} (
    snapshot_id         text     NOT NULL,
    taken_at            timestamptz NOT NULL,
    trigger             text     NOT NULL,
    category            text     NOT NULL,
    symbol              text     NOT NULL,
    position_idx        integer  NOT NULL,
    side                text     NOT NULL,
    size                numeric  NOT NULL,
    signed_size         numeric  NOT NULL,
    average_entry_price numeric,
    mark_price          numeric,
    unrealized_pnl      numeric  NOT NULL,
    realized_pnl        numeric  NOT NULL,
    fees                numeric  NOT NULL,
    funding             numeric  NOT NULL,
    total_pnl           numeric  NOT NULL,
    notional            numeric  NOT NULL,
    quote_coin          text     NOT NULL,
    strategies          jsonb    NOT NULL,
    global_position     bigint   NOT NULL,
    PRIMARY KEY (snapshot_id, category, symbol, position_idx)
);
CREATE INDEX IF NOT EXISTS {{table}}_symbol_idx ON {{table}} (symbol, taken_at);
