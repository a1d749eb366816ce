/* kafka.h — librdkafka helpers shared by the producer and consumers. */
#ifndef SG_KAFKA_H
#define SG_KAFKA_H
#include <librdkafka/rdkafka.h>
rd_kafka_conf_t *sg_kafka_conf(const char **keys, const char **vals, int n, char *err, size_t errlen);
/* Routes the client's log lines and error events to the log ring (log.c). */
void sg_kafka_log_attach(rd_kafka_conf_t *conf);
int sg_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *err, size_t errlen);
struct sg_consumer;
/* The client of a source consumer, for code that consumes in bulk
 * (core/state/upsert.c); the message the consumer held is released. */
rd_kafka_t *sg_consumer_handle(struct sg_consumer *c);
#endif
