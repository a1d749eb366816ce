/* mock.c — the dev broker: librdkafka's mock cluster, owned by a host
 * rd_kafka_t. Only the owning process can steer it, which is why
 * `sinkgate dev` exposes these calls over its control channel. */
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include "../util/util.h"
#include "../kafka/kafka.h"

struct sg_dev_cluster {
  rd_kafka_t *host;
  rd_kafka_mock_cluster_t *mc;
};

sg_dev_cluster *sg_dev_cluster_new(int brokers, char *err, size_t errlen) {
  if (brokers < 1 || brokers > 16) return sg_fail(err, errlen, "--brokers must be 1..16"), NULL;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
  sg_kafka_log_attach(conf);
  sg_dev_cluster *c = calloc(1, sizeof *c);
  c->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
  if (!c->host) {
    rd_kafka_conf_destroy(conf);
    free(c);
    return NULL;
  }
  c->mc = rd_kafka_mock_cluster_new(c->host, brokers);
  if (!c->mc) {
    sg_fail(err, errlen, "could not start the mock cluster");
    rd_kafka_destroy(c->host);
    free(c);
    return NULL;
  }
  return c;
}

const char *sg_dev_cluster_bootstraps(sg_dev_cluster *c) {
  return rd_kafka_mock_cluster_bootstraps(c->mc);
}

int sg_dev_push_request_errors(sg_dev_cluster *c, int16_t api_key, int cnt, const int *errs) {
  if (cnt <= 0) return -1;
  rd_kafka_resp_err_t *e = malloc((size_t)cnt * sizeof *e);
  for (int i = 0; i < cnt; i++) e[i] = (rd_kafka_resp_err_t)errs[i];
  rd_kafka_mock_push_request_errors_array(c->mc, api_key, (size_t)cnt, e);
  free(e);
  return 0;
}

int sg_dev_broker_set_up(sg_dev_cluster *c, int32_t broker_id, int up) {
  rd_kafka_resp_err_t e = up ? rd_kafka_mock_broker_set_up(c->mc, broker_id)
                             : rd_kafka_mock_broker_set_down(c->mc, broker_id);
  return e ? -1 : 0;
}

int sg_dev_broker_set_rtt(sg_dev_cluster *c, int32_t broker_id, int rtt_ms) {
  return rd_kafka_mock_broker_set_rtt(c->mc, broker_id, rtt_ms) ? -1 : 0;
}

int sg_dev_topic_create(sg_dev_cluster *c, const char *topic, int partitions, int replication,
                        char *err, size_t errlen) {
  rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(c->mc, topic, partitions, replication);
  if (e) return sg_fail(err, errlen, "create topic %s: %s", topic, rd_kafka_err2str(e));
  return 0;
}

void sg_dev_cluster_free(sg_dev_cluster *c) {
  if (!c) return;
  rd_kafka_mock_cluster_destroy(c->mc);
  rd_kafka_destroy(c->host);
  free(c);
}

int sg_kafka_err_code(const char *name) {
  const struct rd_kafka_err_desc *d;
  size_t n;
  rd_kafka_get_err_descs(&d, &n);
  for (size_t i = 0; i < n; i++)
    if (d[i].name && strcmp(d[i].name, name) == 0) return d[i].code;
  return -9999;
}

const char *sg_kafka_err_name(int code) { return rd_kafka_err2name((rd_kafka_resp_err_t)code); }
