-- shiplog's ledger in PostgreSQL, schema version 1 (ledger/pg_store.cc applies it).
--
-- The same three keyspaces as the RocksDB store (ledger/store.h): records by sequence number,
-- index entries and meta settings, plus the log head, whose row lock is the append lock every
-- shiplog server takes before it reads what others committed and decides the next batch. Values
-- are the bytes the ledger wrote (records are schemas/record.capnp messages); nothing here is
-- meant to be written by hand. A ledger's database holds one ledger.

CREATE TABLE shiplog_schema (
  version    integer PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);

-- One row: how many records the log holds. Every commit locks it (SELECT ... FOR UPDATE),
-- checks the count is the sequence number its batch starts at, and moves it in the same
-- transaction, so two servers' batches are serialised and never interleave.
CREATE TABLE shiplog_head (
  one          boolean PRIMARY KEY DEFAULT true CHECK (one),
  record_count bigint NOT NULL CHECK (record_count >= 0)
);
INSERT INTO shiplog_head (record_count) VALUES (0);

CREATE TABLE shiplog_records (
  seq   bigint PRIMARY KEY CHECK (seq >= 0),
  value bytea NOT NULL
);

-- Ordered by key bytes (bytea compares as memcmp, as RocksDB's keys do): prefix scans are range
-- scans of the primary key. "c/" keys hold the signed checkpoints, "t/" keys the Merkle tree.
CREATE TABLE shiplog_index (
  key   bytea PRIMARY KEY,
  value bytea NOT NULL
);

CREATE TABLE shiplog_meta (
  key   bytea PRIMARY KEY,
  value bytea NOT NULL
);

-- The signed checkpoints (C2SP signed notes), readable with SQL: an index key "c/" followed by
-- the tree size as 8 big-endian bytes.
CREATE VIEW shiplog_checkpoints AS
  SELECT ('x' || encode(substring(key FROM 3 FOR 8), 'hex'))::bit(64)::bigint AS tree_size,
         convert_from(value, 'UTF8') AS note
  FROM shiplog_index
  WHERE key >= '\x632f'::bytea AND key < '\x6330'::bytea AND length(key) = 10;

INSERT INTO shiplog_schema (version) VALUES (1);
