-- The PostgreSQL peer's ledger: what a team would build instead of shiplog with a database it
-- already runs. An append-only table whose rows are chained by SHA-256 in a trigger, so a changed
-- or removed row breaks every hash after it. Made afresh for each timed run.

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS peer CASCADE;
CREATE SCHEMA peer;
SET search_path = peer;

-- The chain's head: one row, locked by every append so the chain is a single order.
CREATE TABLE ledger_head (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  seq bigint NOT NULL,
  hash bytea NOT NULL
);
INSERT INTO ledger_head VALUES (true, 0, sha256(convert_to('shiplog peer genesis', 'UTF8')));

CREATE TABLE ledger (
  seq bigint PRIMARY KEY,          -- given by the trigger under the head's lock: gapless, chain order
  id text NOT NULL UNIQUE,
  deployment text NOT NULL,
  kind text NOT NULL,
  body jsonb NOT NULL,             -- the signed event as it arrived
  prev_hash bytea NOT NULL,
  hash bytea NOT NULL              -- sha256(prev_hash || body)
);
CREATE INDEX ledger_deployment ON ledger (deployment, seq);

CREATE FUNCTION chain_append() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head peer.ledger_head%ROWTYPE;
BEGIN
  SELECT * INTO head FROM peer.ledger_head WHERE one FOR UPDATE;
  NEW.seq := head.seq + 1;
  NEW.prev_hash := head.hash;
  NEW.hash := sha256(head.hash || convert_to(NEW.body::text, 'UTF8'));
  UPDATE peer.ledger_head SET seq = NEW.seq, hash = NEW.hash WHERE one;
  RETURN NEW;
END $$;
CREATE TRIGGER ledger_chain BEFORE INSERT ON ledger
  FOR EACH ROW EXECUTE FUNCTION chain_append();

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the ledger is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
