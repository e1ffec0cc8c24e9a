-- Paid promotion (E5): a seller pays in Telegram Stars (or, where the channel allows, points)
-- to pin a published ad for 24 hours or to have it re-posted N extra times. Idempotent on the
-- payment's charge id; refunded once when the promotion cannot run.

-- What each channel sells, at what price.
CREATE TABLE promotion_options (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id   bigint NOT NULL REFERENCES channels (id),
    kind         text   NOT NULL CHECK (kind IN ('pin', 'reposts')),
    reposts      integer CHECK (reposts BETWEEN 1 AND 20),      -- for 'reposts': how many extra
    price_stars  integer NOT NULL CHECK (price_stars BETWEEN 1 AND 100000),
    price_points bigint CHECK (price_points BETWEEN 1 AND 100000000),  -- NULL: not for points
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'reposts') = (reposts IS NOT NULL))
);
CREATE UNIQUE INDEX promotion_options_one_idx ON promotion_options (channel_id, kind, coalesce(reposts, 0));

-- Per channel: whether promotion may also be paid with points (built, off by default).
CREATE TABLE promotion_channel_settings (
    channel_id    bigint PRIMARY KEY REFERENCES channels (id),
    accept_points boolean NOT NULL DEFAULT false,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE promotions (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ad_id          bigint NOT NULL REFERENCES ads (id),
    option_id      bigint NOT NULL REFERENCES promotion_options (id),
    seller_id      bigint NOT NULL REFERENCES users (id),
    kind           text   NOT NULL CHECK (kind IN ('pin', 'reposts')),
    reposts        integer,
    currency       text   NOT NULL CHECK (currency IN ('XTR', 'points')),
    price          bigint NOT NULL CHECK (price > 0),
    status         text   NOT NULL DEFAULT 'invoiced'
                       CHECK (status IN ('invoiced', 'running', 'done', 'refunded', 'cancelled')),
    charge_id      text UNIQUE,                   -- telegram_payment_charge_id: one payment, once
    created_at     timestamptz NOT NULL DEFAULT now(),
    paid_at        timestamptz,
    pinned_until   timestamptz,                   -- a pin: when it comes down
    pin_chat_id    bigint,
    pin_outbox_id  bigint,                        -- the pinned post's outbox row (its message id)
    reposts_left   integer CHECK (reposts_left >= 0),
    reposts_done   integer NOT NULL DEFAULT 0,
    next_run_at    timestamptz,                   -- the job's due date (unpin, next re-post)
    refunded_at    timestamptz,
    refund_reason  text,
    CHECK (status = 'invoiced' OR paid_at IS NOT NULL OR status = 'cancelled'),
    CHECK (status <> 'refunded' OR refunded_at IS NOT NULL)
);
CREATE INDEX promotions_due_idx ON promotions (next_run_at) WHERE status = 'running';
CREATE INDEX promotions_ad_idx ON promotions (ad_id);
