-- What the bot did on its own for the desk's statistics (S6), counted per local day of the desk:
-- questions auto-answered from the knowledge base, "Did you mean…?" offered and a suggestion
-- picked, answers marked 👍 / 👎. The bot counts in memory and adds its counts here every
-- half minute (and at stop): no write on the path of a reply.
CREATE TABLE support_daily (
    day   date NOT NULL,
    kind  text NOT NULL CHECK (kind IN ('auto', 'offered', 'picked', 'helpful', 'unhelpful')),
    count bigint NOT NULL CHECK (count >= 0),
    PRIMARY KEY (day, kind)
);
