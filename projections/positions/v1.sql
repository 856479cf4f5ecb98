-- Read model: the current positions (seed 004 `positions`), one row per (category, symbol,
-- position index), folded from PositionUpdated. Money is in the position's quote coin.
-- Version tables are named NAME_vN: {{table}} is replaced by that name (see ProjectionFiles).
CREATE TABLE IF NOT EXISTS {{table}} (
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
    closed_pnl          numeric  NOT NULL,
    fees                numeric  NOT NULL,
    funding             numeric  NOT NULL,
    total_pnl           numeric  NOT NULL,
    notional            numeric  NOT NULL,
    quote_coin          text     NOT NULL,
    leverage            numeric,
    liquidation_price   numeric,
    exchange_size       numeric,
    exchange_entry_price numeric,
    discrepancy         boolean  NOT NULL,
    fills               integer  NOT NULL,
    strategies          jsonb    NOT NULL,
    last_reason         text     NOT NULL,
    version             integer  NOT NULL,
    updated_at          timestamptz NOT NULL,
    updated_position    bigint   NOT NULL,
    PRIMARY KEY (category, symbol, position_idx)
);
CREATE INDEX IF NOT EXISTS {{table}}_symbol_idx ON {{table}} (symbol);
