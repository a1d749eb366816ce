-- sinkgate.config.options — every option of every component, once.
-- Each entry: { name, type, required=, default=, enum=, fields=, seed=, doc= }.
-- `seed` names the clause of Materialize's CREATE SINK / CREATE CONNECTION
-- page the option reproduces. This table drives validation
-- (config/validate.lua), `sinkgate check`, and docs/configuration.md
-- (tools/gen-options-doc.lua), so the three cannot drift apart.
--
-- Types: string, integer, number, boolean, duration ("100ms", "2s", "1m"),
-- function, secret, "string|secret", scalar (string, number or boolean,
-- kept as text), list<T>, map<T> (string keys),
-- record (with `fields`), and the object kinds kafka_connection,
-- registry_connection, source, format.
-- `check` names a value rule of config/validate.lua (M.CHECKS): topic,
-- nonempty, positive, nonnegative, count (≥ 1, or -1 = broker default).
local M = {}

local COMPAT = { "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL",
  "FULL_TRANSITIVE", "NONE" }

M.kafka_connection = {
  doc = "A Kafka cluster, shared by sinks (CREATE CONNECTION … TO KAFKA).",
  fields = {
    { "name", "string", default = "kafka", seed = "connection_name", doc = "Name shown in plans and logs." },
    { "brokers", "string", required = true, seed = "BROKER",
      doc = "Bootstrap servers, comma-separated host:port." },
    { "progress_topic", "string", default = "_sinkgate-progress", seed = "PROGRESS TOPIC", check = "topic",
      doc = "Topic holding each sink's progress records; must have exactly one partition." },
    { "progress_topic_replication_factor", "integer", seed = "PROGRESS TOPIC REPLICATION FACTOR", check = "count",
      doc = "Replication factor when the progress topic is created (-1: the broker's default). Default: broker's default." },
    { "security_protocol", "string", enum = { "plaintext", "ssl", "sasl_plaintext", "sasl_ssl" },
      seed = "SECURITY PROTOCOL", doc = "librdkafka security.protocol." },
    { "sasl_mechanisms", "string", enum = { "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512" },
      seed = "SASL MECHANISMS", doc = "SASL mechanism." },
    { "sasl_username", "string|secret", seed = "SASL USERNAME", doc = "SASL user name." },
    { "sasl_password", "secret", seed = "SASL PASSWORD", doc = "SASL password (a secret)." },
    { "ssl_key", "secret", seed = "SSL KEY", doc = "Client private key, PEM (a secret)." },
    { "ssl_certificate", "string|secret", seed = "SSL CERTIFICATE", doc = "Client certificate, PEM." },
    { "ssl_certificate_authority", "string|secret", seed = "SSL CERTIFICATE AUTHORITY",
      doc = "CA certificate(s), PEM." },
    { "admin_timeout", "duration", default = "5s", check = "nonnegative",
      doc = "How long topic creation through the Admin API may take before sinkgate falls back to auto-creation." },
    { "options", "map<scalar>",
      doc = "Extra librdkafka properties, passed through (numbers and booleans as text). Properties that would " ..
        "break exactly-once (`transactional.id`, `isolation.level`; `enable.idempotence = false` or `acks` " ..
        "other than all under exactly_once) are refused." },
  },
}

M.registry_connection = {
  doc = "A Confluent Schema Registry (CREATE CONNECTION … TO CONFLUENT SCHEMA REGISTRY).",
  fields = {
    { "name", "string", default = "registry", seed = "connection_name", doc = "Name shown in plans and logs." },
    { "url", "string", required = true, seed = "URL", doc = "Base URL, e.g. http://127.0.0.1:8081." },
    { "username", "string|secret", seed = "USERNAME", doc = "Basic-auth user name." },
    { "password", "secret", seed = "PASSWORD", doc = "Basic-auth password (a secret)." },
    { "ssl_key", "secret", seed = "SSL KEY", doc = "Client private key, PEM (a secret)." },
    { "ssl_certificate", "string|secret", seed = "SSL CERTIFICATE", doc = "Client certificate, PEM." },
    { "ssl_certificate_authority", "string|secret", seed = "SSL CERTIFICATE AUTHORITY",
      doc = "CA certificate(s), PEM." },
    { "timeout", "duration", default = "10s", check = "positive", doc = "Per-request timeout." },
    { "retries", "integer", default = 5, check = "nonnegative", doc = "Retries with exponential backoff on transport errors and 5xx." },
  },
}

M.load_generator = {
  doc = "A deterministic generated relation (CREATE SOURCE … FROM LOAD GENERATOR).",
  fields = {
    { "name", "string", doc = "Relation name. Default: the relation (auction) or `counter`." },
    { "kind", "string", required = true, enum = { "counter", "auction", "bench" },
      doc = "Generator: `counter` (one bigint column), `auction` (keyed relations) or `bench` (6 columns, ~10% deletes)." },
    { "relation", "string",
      doc = "Which relation of the generator: counter → `counter`; auction → organizations, users, accounts, auctions, bids." },
    { "tick", "duration", default = "1s", seed = "TICK INTERVAL", check = "positive",
      doc = "Logical time between ticks." },
    { "rows_per_tick", "integer", default = 1, check = "nonnegative", doc = "Rows emitted per tick." },
    { "seed", "integer", default = 0, doc = "Seed of the generator's pseudo-random choices." },
    { "start", "integer", doc = "First logical timestamp (epoch ms). Default: the time of the first run." },
    { "max_cardinality", "integer", seed = "MAX CARDINALITY", check = "positive",
      doc = "counter: keep at most this many rows, deleting the oldest." },
    { "realtime", "boolean", default = true,
      doc = "Ticks happen at their wall-clock time; false: as fast as the sink takes them (benchmarks, backfills)." },
    { "ticks", "integer", check = "nonnegative", doc = "Stop after this many ticks; a sink whose input is exhausted and committed is done." },
  },
}

M.column = {
  doc = "A column: { name, type, not_null = bool, comment = text }.",
  fields = {
    { 1, "string", required = true, check = "nonempty", doc = "Column name." },
    { 2, "sqltype", required = true,
      doc = "SQL type, e.g. bigint, numeric(10,2), timestamptz(3), text[], text list, map[text=>bigint], " ..
        "or a record { record = { {name, type}, … }, name = \"my_app.point\" }." },
    { "not_null", "boolean", default = false, doc = "Column is NOT NULL." },
    { "comment", "string", doc = "Comment (used by Avro DOC ON precedence)." },
  },
}

M.table = {
  doc = "A relation fed from Lua: t:insert(row), t:delete(row), t:update(old, new) every tick; or a list of " ..
    "updates at explicit logical times.",
  fields = {
    { "name", "string", doc = "Relation name (used by DOC ON TYPE). Default: the sink's source key." },
    { "columns", "list<column>", required = true, check = "nonempty_list", doc = "Columns, in order (at least one)." },
    { "keys", "list<list<string>>", default = {}, doc = "Known unique keys." },
    { "comment", "string", doc = "Comment on the relation (used by Avro DOC ON precedence)." },
    { "rows", "list<row>", doc = "Rows present from the start (tick 0), as tables keyed by column name." },
    { "tick", "duration", default = "1s", check = "positive", doc = "Logical time between calls of feed." },
    { "feed", "function",
      doc = "function(t, tick, time) called every tick; t:insert(row), t:delete(row), t:update(old, new)." },
    { "start", "integer", doc = "Time of tick 0 (epoch ms). Default: the time of the first run." },
    { "updates", "list<update>",
      doc = "Updates at explicit logical times, `{ row, time, diff }` (diff defaults to 1; -1 deletes): a " ..
        "recorded change log, or times 1, 2, 3. Times are integers from 0 to 2^53 (numbers or int64 cdata), " ..
        "in any order; they are data, not a clock. A new sink's snapshot is the contents consolidated at the " ..
        "first time; each later time is its own timestamp; once all are sent the sink is done, its frontier " ..
        "one past the last time. Not with rows, feed, tick or start." },
  },
}

-- ==== views (issue 12: lua/sinkgate/view/, docs/views.md) ====
M.view = {
  doc = "A relation computed from another (a source, table or view) by Lua, maintained incrementally: " ..
    "stateless (filter, then map or flat_map), distinct_on + order_by, or group_by + aggregates — one kind " ..
    "per view; chain views for more. Usable wherever `from` is.",
  fields = {
    { "from", "source", required = true, doc = "The input relation: a source, a table or another view." },
    { "name", "string", doc = "Relation name. Default: the view's key in sources, or `view<N>`." },
    { "filter", "function", doc = "function(row) → truthy to keep the row (applied before map/flat_map)." },
    { "map", "function", doc = "function(row) → a row (a table of column = value) or nil to drop it." },
    { "flat_map", "function", doc = "function(row) → a list of rows (empty: none)." },
    { "columns", "list<column>",
      doc = "Output columns of a map or flat_map view (required with them; types checked when the config loads). " ..
        "A filter-only, distinct_on or group_by view has its columns derived." },
    { "keys", "list<list<string>>",
      doc = "Known unique keys of the output. Default: a filter keeps its input's keys; a map inherits the " ..
        "input keys whose columns it outputs with the same types (checked on every row: a map that changes " ..
        "such a column is an error); flat_map has none. `check` shows which." },
    { "distinct_on", "list<string>",
      doc = "Keep one row per distinct value of these columns (DISTINCT ON): the first by order_by. Its output " ..
        "has these columns as a unique key." },
    { "order_by", "list<list<string>>", default = {},
      doc = "With distinct_on: { {column, \"asc\"|\"desc\"}, … }; NULL sorts last ascending, first descending; " ..
        "ties go to the row whose encoding is smallest." },
    { "group_by", "list<string>", doc = "Group columns; the output has one row per group, keyed by them." },
    { "aggregates", "map<aggregate>",
      doc = "With group_by: output column → \"count\" | {\"count\", col} | {\"sum\", col} | {\"min\", col} | " ..
        "{\"max\", col}; maintained under insertions and retractions (min/max keep every value per group)." },
  },
}
-- ==== end of views ====

M.doc_on = {
  doc = "One DOC ON clause: { type = name | column = name, doc = text, scope = key|value }.",
  fields = {
    { "type", "string", doc = "DOC ON TYPE: a relation or type name." },
    { "column", "string", doc = "DOC ON COLUMN: relation.column." },
    { "doc", "string", required = true, doc = "The documentation string." },
    { "scope", "string", enum = { "key", "value" }, doc = "KEY or VALUE; absent = both." },
  },
}

M.avro = {
  doc = "FORMAT AVRO USING CONFLUENT SCHEMA REGISTRY CONNECTION …",
  fields = {
    { "registry", "registry_connection", required = true, seed = "CONFLUENT SCHEMA REGISTRY CONNECTION",
      doc = "Schema registry connection." },
    { "key_fullname", "string", seed = "AVRO KEY FULLNAME", doc = "Fullname of the key record. Default: row." },
    { "value_fullname", "string", seed = "AVRO VALUE FULLNAME",
      doc = "Fullname of the value record. Default: envelope." },
    { "null_defaults", "boolean", default = false, seed = "NULL DEFAULTS",
      doc = "Give nullable fields `\"default\": null`." },
    { "doc_on", "list<doc_on>", default = {}, seed = "DOC ON", doc = "Documentation comments." },
    { "keep_renamed_column_docs", "boolean", default = false,
      doc = "Look column docs (doc_on, comments) up by the column's own name, so a column whose Avro field " ..
        "name differs (e.g. `c3_map[text=>text]` → `c3_map_text__text_`) keeps its doc. Default: as the " ..
        "reference, by the sanitized field name, which drops them (see docs/formats.md)." },
    { "key_compatibility_level", "string", enum = COMPAT, seed = "KEY COMPATIBILITY LEVEL",
      doc = "Compatibility level set on <topic>-key when none is set." },
    { "value_compatibility_level", "string", enum = COMPAT, seed = "VALUE COMPATIBILITY LEVEL",
      doc = "Compatibility level set on <topic>-value when none is set." },
  },
}

M.into = {
  doc = "INTO KAFKA CONNECTION … ( TOPIC … , options )",
  fields = {
    { "connection", "kafka_connection", required = true, seed = "KAFKA CONNECTION", doc = "Kafka connection." },
    { "topic", "string", required = true, seed = "TOPIC", check = "topic",
      doc = "Topic to write to: 1–249 of letters, digits, `.`, `_`, `-` (Kafka's rule), not `.` or `..`." },
    { "compression", "string", default = "none", enum = { "none", "gzip", "snappy", "lz4", "zstd" },
      seed = "COMPRESSION TYPE", doc = "Compression codec." },
    { "transactional_id_prefix", "string", check = "nonempty", seed = "TRANSACTIONAL ID PREFIX",
      doc = "Prefix of the transactional.id. Default: sinkgate-<sink name>." },
    { "partition_by", "function", seed = "PARTITION BY",
      doc = "function(row) returning a u64 hash (number or uint64 cdata) or nil; partition = hash % count." },
    { "progress_group_id_prefix", "string", seed = "PROGRESS GROUP ID PREFIX",
      doc = "Prefix of the consumer group id reading the progress topic." },
    { "topic_replication_factor", "integer", seed = "TOPIC REPLICATION FACTOR", check = "count",
      doc = "Replication factor if the topic is created (-1: the broker's default). Default: broker's default." },
    { "topic_partition_count", "integer", seed = "TOPIC PARTITION COUNT", check = "count",
      doc = "Partition count if the topic is created (-1: the broker's default). Default: broker's default." },
    { "topic_config", "map<scalar>", default = {}, seed = "TOPIC CONFIG",
      doc = "Topic configs if the topic is created (numbers and booleans as text)." },
  },
}

-- Runtime error policies of a sink (bad Lua-fed rows; partition_by and
-- headers errors), kept together: see docs/sinks.md "When rows or routing fail".
-- h14: the operations endpoint (docs/operations.md).
M.http = {
  doc = "The operations HTTP endpoint of `sinkgate run`: /metrics, /health, /ready, /status " ..
    "(sg.http { … }, or `http:` in YAML; `run --http ADDR` overrides listen).",
  fields = {
    { "listen", "string", default = "127.0.0.1:9644", check = "nonempty",
      doc = "HOST:PORT to listen on (numeric address; [::1]:PORT for IPv6; port 0 picks a free one). " ..
        "Loopback by default: exposing it beyond the host is a choice." },
    { "basic_auth", "record:http_basic_auth", doc = "Require HTTP basic authentication on every path." },
  },
}

M.http_basic_auth = {
  doc = "Basic authentication of the operations endpoint: { username = \"…\", password = sg.secret \"…\" }.",
  fields = {
    { "username", "string", required = true, check = "nonempty", doc = "User name." },
    { "password", "secret", required = true, doc = "Password (a secret)." },
  },
}

M.dead_letter = {
  doc = "Where on_bad_row = \"dead_letter\" sends refused rows: { topic = \"…\" }.",
  fields = {
    { "topic", "string", required = true,
      doc = "Topic receiving each refused row as JSON text, with the error in its headers (sinkgate-error, " ..
        "sinkgate-error-kind, sinkgate-sink, sinkgate-topic), in the sink's own transaction." },
  },
}

local ERROR_POLICY_FIELDS = {
  { "on_bad_row", "string", default = "fail", enum = { "fail", "skip", "dead_letter" },
    doc = "A Lua-fed row that does not fit its columns, or a feed function that raises: `fail` the sink " ..
      "(other sinks go on; exit status 1), `skip` it (counted as bad_rows/feed_errors and logged, rate-limited), " ..
      "or `dead_letter` it (as skip, and sent to dead_letter.topic)." },
  { "dead_letter", "record:dead_letter", doc = "The dead-letter topic, for on_bad_row = \"dead_letter\"." },
  { "on_error", "string", default = "count", enum = { "count", "fail" },
    doc = "A partition_by or headers error (it raised, or returned something that is not a hash / not text): " ..
      "`count` it, report it and send the message to partition 0 / without that header; or `fail` the sink." },
}

M.sink = {
  doc = "CREATE SINK name FROM relation INTO KAFKA …",
  fields = {
    { "from", "source", required = true, seed = "FROM", doc = "The relation to publish." },
    { "into", "record:into", required = true, seed = "INTO KAFKA CONNECTION", doc = "Where to write." },
    { "key", "list<string>", seed = "KEY ( … )", doc = "Key columns, in order." },
    { "not_enforced", "boolean", default = false, seed = "NOT ENFORCED",
      doc = "Skip the check that the key is unique." },
    { "headers", "function", seed = "HEADERS",
      doc = "function(row) returning a map of header name → text/bytes." },
    { "format", "format", seed = "FORMAT",
      doc = "Format of key and value: \"json\", \"text\", \"bytes\" or sg.avro{…}. Default: json for both." },
    { "key_format", "format", seed = "KEY FORMAT", doc = "Format of the key (with value_format)." },
    { "value_format", "format", seed = "VALUE FORMAT", doc = "Format of the value (with key_format)." },
    { "envelope", "string", required = true, enum = { "upsert", "debezium" }, seed = "ENVELOPE",
      doc = "UPSERT or DEBEZIUM." },
    { "snapshot", "boolean", default = true, seed = "WITH (SNAPSHOT)",
      doc = "Emit the relation's current contents first." },
    { "timestamp_header", "string", default = "sinkgate-timestamp", check = "nonempty",
      doc = "Name of the logical-timestamp header (`materialize-timestamp` for consumers of the reference)." },
    { "mode", "string", default = "exactly_once", enum = { "exactly_once", "at_least_once" },
      doc = "exactly_once (transactions + progress topic) or at_least_once (no transactions)." },
    { "commit_interval", "duration", default = "100ms", check = "positive",
      doc = "A transaction spans at least this much time (fine-grained timestamps are coalesced)." },
    { "max_transaction_rows", "integer", default = 100000, check = "positive",
      doc = "Commit early once a transaction holds this many rows; snapshots are split into transactions of this size." },
    { "version", "integer", default = 1, check = "positive",
      doc = "Progress version: bump it when the sink is re-pointed at a new input; older instances stop (fenced)." },
  },
}
for _, f in ipairs(ERROR_POLICY_FIELDS) do table.insert(M.sink.fields, f) end
-- ==== views: where a sink keeps the state of its views ====
table.insert(M.sink.fields, { "state_dir", "string", check = "nonempty",
  doc = "Directory for the state of the sink's distinct_on and group_by views beyond state_memory (LMDB, in " ..
    "<state_dir>/<sink>/<view>-<n>.<pid>.state; those of processes that are gone are removed; rebuilt from the " ..
    "input at every start) and of its UPSERT Kafka source (all on disk, in <state_dir>/<sink>/source-<source>.kept: " ..
    "kept across restarts and used again when its checkpoint fits the committed offsets, else rebuilt from the " ..
    "topic). Default: state stays in memory." })
table.insert(M.sink.fields, { "state_memory", "integer", default = 64 * 1024 * 1024, check = "positive",
  doc = "Bytes of state kept in memory per view before it goes to state_dir." })
-- ==== end of views ====


-- plugins (docs/plugins.md): a transform plugin in front of the sink's
-- encoders, until views (sg.view) take transforms.
table.insert(M.sink.fields, { "transform", "transform",
  doc = "A transform plugin's instance (sg.plugin \"redact\" { … }): each row is rewritten by it before it is " ..
    "encoded, partitioned and given headers; key columns pass through unchanged." })

-- ---- Kafka sources (issue 11): sg.source.kafka and its formats -----------
M.csv = {
  doc = "FORMAT CSV WITH n COLUMNS | WITH HEADER [(names)] [DELIMITED BY c], for Kafka sources.",
  fields = {
    { "columns", "integer", check = "positive", seed = "WITH n COLUMNS", doc = "Columns column1…columnN (text)." },
    { "header", "boolean|list<string>", seed = "WITH HEADER",
      doc = "A list of column names, or true: the topic's first record names the columns and is not ingested." },
    { "delimiter", "string", default = ",", seed = "DELIMITED BY", doc = "Field delimiter, one character." },
  },
}

M.protobuf = {
  doc = "FORMAT PROTOBUF USING CONFLUENT SCHEMA REGISTRY CONNECTION … | MESSAGE 'pkg.Msg' USING SCHEMA …",
  fields = {
    { "registry", "registry_connection", seed = "CONFLUENT SCHEMA REGISTRY CONNECTION",
      doc = "Read the schema (.proto text, one message) from the registry: latest <topic>-value / -key." },
    { "message", "string", seed = "MESSAGE", doc = "Full message name, with descriptor_set." },
    { "descriptor_set", "string", seed = "USING SCHEMA",
      doc = "Path of a FileDescriptorSet (`protoc --include_imports --descriptor_set_out`), with message." },
  },
}

M.kafka_header = {
  doc = "INCLUDE HEADER 'name' AS column [BYTES]: { \"name\", as = \"column\", bytes = false }.",
  fields = {
    { 1, "string", required = true, check = "nonempty", doc = "Header name." },
    { "as", "string", required = true, check = "nonempty", doc = "Column name." },
    { "bytes", "boolean", default = false, doc = "bytea instead of text (text must be UTF-8)." },
  },
}

M.kafka_include = {
  doc = "INCLUDE … metadata columns: true for the default name, or a column name.",
  fields = {
    { "key", "scalar", seed = "INCLUDE KEY",
      doc = "The key's columns (a single-column key format: named `key`); a name on a record key: one record column of its fields." },
    { "partition", "scalar", seed = "INCLUDE PARTITION", doc = "Column `partition integer`." },
    { "offset", "scalar", seed = "INCLUDE OFFSET", doc = "Column `offset uint8`." },
    { "timestamp", "scalar", seed = "INCLUDE TIMESTAMP", doc = "Column `timestamp timestamp(3)` (the message timestamp)." },
    { "headers", "scalar", seed = "INCLUDE HEADERS", doc = "Column `headers`, a list of record(key text, value bytea)." },
    { "header", "list<kafka_header>", seed = "INCLUDE HEADER", doc = "Single headers as columns." },
  },
}

M.kafka_dead_letter = {
  doc = "Where on_decode_error = \"dead_letter\" sends undecodable messages.",
  fields = {
    { "topic", "string", required = true, check = "topic",
      doc = "Topic receiving the raw key, value and headers, with the error in headers (sinkgate-error, " ..
        "sinkgate-source-topic, -partition, -offset), in the sink's transaction." },
  },
}

M.kafka = {
  doc = "CREATE SOURCE … FROM KAFKA CONNECTION … (TOPIC …): one topic read as a relation.",
  fields = {
    { "name", "string", doc = "Relation name. Default: the topic." },
    { "connection", "kafka_connection", required = true, seed = "KAFKA CONNECTION", doc = "Kafka connection." },
    { "topic", "string", required = true, check = "topic", seed = "TOPIC", doc = "Topic to read." },
    { "format", "format", seed = "FORMAT",
      doc = "Format of key and value: \"json\", \"text\", \"bytes\", sg.avro{…}, sg.protobuf{…}, sg.csv{…}." },
    { "key_format", "format", seed = "KEY FORMAT", doc = "Format of the key (with value_format)." },
    { "value_format", "format", seed = "VALUE FORMAT", doc = "Format of the value (with key_format)." },
    { "envelope", "string", default = "none", enum = { "none", "upsert", "debezium" }, seed = "ENVELOPE",
      doc = "NONE (append-only), UPSERT (keyed state) or DEBEZIUM (before/after)." },
    { "include", "record:kafka_include", seed = "INCLUDE", doc = "Metadata columns." },
    { "start_offset", "list<integer>", seed = "START OFFSET",
      doc = "First offset per partition (unlisted partitions from 0), fixed when a sink first reads the source." },
    { "start_timestamp", "integer", seed = "START TIMESTAMP",
      doc = "Start each partition at its first offset with a timestamp ≥ this (epoch ms; negative: relative to now)." },
    { "value_decoding_errors", "string", enum = { "inline" }, seed = "VALUE DECODING ERRORS = INLINE",
      doc = "UPSERT: an undecodable value fills a nullable `error record(description text)` column instead." },
    { "group_id_prefix", "string", seed = "GROUP ID PREFIX",
      doc = "Commit offsets to group <prefix><sink name> after each transaction, for lag monitoring only." },
    { "timestamp_interval", "duration", default = "1s", check = "positive", seed = "TIMESTAMP INTERVAL",
      doc = "At most one new logical time per interval." },
    { "columns", "list<column>", doc = "DEBEZIUM JSON without the schema wrapper: the columns." },
    { "keys", "list<list<string>>", doc = "DEBEZIUM JSON: known unique keys (the primary key)." },
    { "on_decode_error", "string", default = "stall", enum = { "stall", "skip", "dead_letter" },
      doc = "An undecodable message: `stall` the source (the reference), `skip` it, or `dead_letter` it. " ..
        "Always counted and reported with topic/partition/offset." },
    { "dead_letter", "record:kafka_dead_letter", doc = "The dead-letter topic, for on_decode_error = \"dead_letter\"." },
    { "upsert_state_limit", "integer", default = 1073741824, check = "positive",
      doc = "UPSERT/DEBEZIUM: bytes of keyed state held in memory without the sink's state_dir; past it the " ..
        "source stalls. With state_dir, UPSERT state beyond state_memory goes to disk." },
    { "stop_at_end", "boolean", default = false,
      doc = "Bounded reading (benchmarks, backfills): read up to the high watermarks seen when the sink starts " ..
        "reading after its snapshot or state rebuild, then end; the sink is done once that is committed and " ..
        "`sinkgate run` exits when every sink is done." },
  },
}
-- ---- end of Kafka sources ---------------------------------------------------

return M
