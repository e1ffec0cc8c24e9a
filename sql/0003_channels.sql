-- Marketplace channels (M10): each with its own settings, categories, admins and moderation texts.

CREATE TABLE channels (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id          bigint UNIQUE,                      -- Telegram's id (-100…), once known
    username         text UNIQUE CHECK (username ~ '^[A-Za-z][A-Za-z0-9_]{3,31}$'),
    title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 128),
    language         text NOT NULL DEFAULT 'uz' CHECK (language IN ('uz', 'ru', 'en')),
    timezone         text NOT NULL DEFAULT 'Asia/Tashkent',
    repost_every     interval NOT NULL DEFAULT '30 minutes' CHECK (repost_every >= '1 minute'),
    quiet_from       time,                               -- local time: no re-posts from..to
    quiet_to         time,
    keep_old_posts   boolean NOT NULL DEFAULT false,     -- re-posts leave the previous copy
    checkin_every    interval NOT NULL DEFAULT '3 days' CHECK (checkin_every >= '1 hour'),
    checkin_max_asks integer NOT NULL DEFAULT 3 CHECK (checkin_max_asks BETWEEN 1 AND 20),
    ads_per_day      integer NOT NULL DEFAULT 5 CHECK (ads_per_day BETWEEN 1 AND 1000),
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (chat_id IS NOT NULL OR username IS NOT NULL),
    CHECK ((quiet_from IS NULL) = (quiet_to IS NULL))
);

CREATE TABLE categories (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id bigint NOT NULL REFERENCES channels ON DELETE CASCADE,
    hashtag    text NOT NULL CHECK (hashtag ~ '^[[:alnum:]_]{1,32}$'),
    name_uz    text NOT NULL,
    name_ru    text NOT NULL,
    name_en    text NOT NULL,
    position   integer NOT NULL DEFAULT 0,
    UNIQUE (channel_id, hashtag)
);

-- Telegram users who moderate a channel; they may not have written to the bot yet.
CREATE TABLE channel_admins (
    channel_id bigint NOT NULL REFERENCES channels ON DELETE CASCADE,
    user_id    bigint NOT NULL,
    source     text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'telegram')),
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX channel_admins_user_idx ON channel_admins (user_id);

CREATE TABLE banned_words (
    channel_id bigint NOT NULL REFERENCES channels ON DELETE CASCADE,
    word       text NOT NULL CHECK (word = lower(word) AND length(word) BETWEEN 1 AND 64),
    PRIMARY KEY (channel_id, word)
);

-- Canned rejection reasons an admin picks from (plus "other", typed by hand).
CREATE TABLE reject_reasons (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id bigint NOT NULL REFERENCES channels ON DELETE CASCADE,
    text_uz    text NOT NULL,
    text_ru    text NOT NULL,
    text_en    text NOT NULL,
    position   integer NOT NULL DEFAULT 0
);
CREATE INDEX reject_reasons_channel_idx ON reject_reasons (channel_id, position);
