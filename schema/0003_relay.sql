-- tradelog: the relay's per-queue progress and counters.
--
-- One row per (relay, queue). `position` is the queue's checkpoint: every event routed to
-- the queue up to it has been confirmed by the broker. The relay's overall checkpoint (all
-- queues done, where reading resumes) is the `checkpoints` row named after the relay.
-- Rows and the overall checkpoint are written in one transaction.
CREATE TABLE relay_queues (
    relay      text        NOT NULL,
    queue      text        NOT NULL,
    position   bigint      NOT NULL,
    published  bigint      NOT NULL DEFAULT 0,
    confirmed  bigint      NOT NULL DEFAULT 0,
    nacked     bigint      NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (relay, queue)
);
