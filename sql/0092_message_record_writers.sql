-- Who writes the record (the comment in 0090 named the journal's statement; that changed before
-- release): the bot's Recorder (app/bot/record.py) writes what it heard and said in batches, off
-- the reply's path; the outbox sender records a delivery in the statement that marks it sent.
COMMENT ON TABLE message_record IS
    'Every message to and from the bot and every button press (S5). Written in batches by '
    'app/bot/record.py (what the bot heard and said) and by the outbox sender (deliveries).';
