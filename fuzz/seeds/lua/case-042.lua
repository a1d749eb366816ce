local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:9092"  }
local gen = sg.source.load_generator { kind = "counter", tick = "100ms"  }
sg.sink "s" { from = gen, into = { connection = kafka, topic = "t"  },
  key = { "counter" }, format = "json", envelope = "upsert" , commit_interval = "0ms" }
